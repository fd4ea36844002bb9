//! The lab runtime: virtual time, nodes and their killing, determinism, and every way a run
//! can fail (each naming its seed).

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use labrpc::runtime::{
    self, Divergence, Elapsed, Executor, JoinError, NodeId, RunConfig, RunError,
};
use labrpc::{Network, RpcError, Server};

// ---------------------------------------------------------------------------------------------
// Virtual time

#[test]
fn a_ten_second_sleep_in_sim_ends_at_exactly_ten_virtual_seconds() {
    let outcome = on_sim("ten_seconds", 201, || async {
        assert_eq!(runtime::now(), runtime::Instant::START);
        runtime::sleep(Duration::from_secs(10)).await;
        runtime::now().since_start()
    });
    assert_eq!(outcome.value, Duration::from_secs(10));
    assert_eq!(outcome.elapsed, Duration::from_secs(10));
}

#[test]
fn sleeping_tasks_wake_at_their_own_deadlines_in_order() {
    let outcome = on_sim("deadlines", 202, || async {
        let woke = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let tasks: Vec<_> = [300u64, 100, 200, 100, 0]
            .into_iter()
            .map(|ms| {
                let woke = woke.clone();
                runtime::spawn(async move {
                    runtime::sleep(Duration::from_millis(ms)).await;
                    woke.lock().push((ms, ms_since(runtime::Instant::START)));
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("the task finishes");
        }
        let woke = woke.lock().clone();
        woke
    });
    let woke = outcome.value;
    assert!(
        woke.iter().all(|(asked, at)| asked == at),
        "a task woke at the wrong time: {woke:?}"
    );
    let order: Vec<u64> = woke.iter().map(|(ms, _)| *ms).collect();
    assert_eq!(order, vec![0, 100, 100, 200, 300]);
}

#[test]
fn timeout_fires_at_its_limit_and_passes_through_earlier_results() {
    let outcome = on_sim("timeout", 203, || async {
        let t0 = runtime::now();
        let late = runtime::timeout(
            Duration::from_millis(250),
            runtime::sleep(Duration::from_secs(5)),
        )
        .await;
        let at = ms_since(t0);
        let early = runtime::timeout(Duration::from_secs(5), async {
            runtime::sleep(Duration::from_millis(10)).await;
            7
        })
        .await;
        (late, at, early, ms_since(t0))
    });
    let (late, at, early, end) = outcome.value;
    assert_eq!(late, Err(Elapsed(Duration::from_millis(250))));
    assert_eq!(at, 250);
    assert_eq!(early, Ok(7));
    assert_eq!(end, 260);
}

#[test]
fn the_same_seed_draws_the_same_random_numbers() {
    let draw = |seed| {
        on_sim("random", seed, || async {
            (0..20)
                .map(|_| runtime::random_range(0..1_000_000))
                .collect::<Vec<u64>>()
        })
        .value
    };
    let a = draw(204);
    assert_eq!(a, draw(204));
    assert_ne!(a, draw(205));
    assert!(a.iter().all(|x| *x < 1_000_000));
}

// ---------------------------------------------------------------------------------------------
// Nodes

/// Spawns, on `node`, a loop that bumps `counter` every millisecond.
fn spawn_counter(node: NodeId, counter: Arc<AtomicU64>) -> runtime::JoinHandle<()> {
    runtime::spawn_on(node, async move {
        loop {
            counter.fetch_add(1, Ordering::Relaxed);
            runtime::sleep(Duration::from_millis(1)).await;
        }
    })
}

#[test]
fn a_killed_nodes_tasks_stop() {
    on_both("kill_node", 206, || async {
        let node = runtime::new_node();
        assert_ne!(node, NodeId::ROOT);
        let counter = Arc::new(AtomicU64::new(0));
        let task = spawn_counter(node, counter.clone());
        let survivor_counter = Arc::new(AtomicU64::new(0));
        let other = runtime::new_node();
        let survivor = spawn_counter(other, survivor_counter.clone());
        wait_until("the counter runs", || counter.load(Ordering::Relaxed) >= 5).await;

        assert!(!runtime::is_killed(node));
        runtime::kill_node(node);
        assert!(runtime::is_killed(node));
        assert_eq!(task.await, Err(JoinError::Killed));

        runtime::sleep(Duration::from_millis(20)).await;
        let stopped_at = counter.load(Ordering::Relaxed);
        let survivor_at = survivor_counter.load(Ordering::Relaxed);
        runtime::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            counter.load(Ordering::Relaxed),
            stopped_at,
            "a task of the killed node kept running"
        );
        wait_until("the other node's counter goes on", || {
            survivor_counter.load(Ordering::Relaxed) > survivor_at
        })
        .await;
        assert!(!runtime::is_killed(other));
        drop(survivor);
    });
}

#[test]
fn spawning_on_a_killed_node_gives_killed() {
    on_both("spawn_on_killed", 207, || async {
        let node = runtime::new_node();
        runtime::kill_node(node);
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let handle = runtime::spawn_on(node, async move { flag.store(true, Ordering::Relaxed) });
        assert_eq!(handle.await, Err(JoinError::Killed));
        runtime::sleep(Duration::from_millis(10)).await;
        assert!(!ran.load(Ordering::Relaxed), "a task of a dead node ran");
        // Killing it again, or killing the root node, does nothing.
        runtime::kill_node(node);
        runtime::kill_node(NodeId::ROOT);
        assert!(!runtime::is_killed(NodeId::ROOT));
        assert_eq!(runtime::spawn(async { 5 }).await, Ok(5));
    });
}

#[test]
fn nodes_are_never_reused() {
    on_both("fresh_nodes", 208, || async {
        let nodes: Vec<NodeId> = (0..10).map(|_| runtime::new_node()).collect();
        let distinct: std::collections::BTreeSet<u64> = nodes.iter().map(|n| n.as_u64()).collect();
        assert_eq!(distinct.len(), 10);
        assert!(!distinct.contains(&NodeId::ROOT.as_u64()));
    });
}

#[test]
fn tasks_spawned_inside_enter_node_belong_to_that_node() {
    on_both("enter_node", 209, || async {
        assert_eq!(runtime::current_node(), NodeId::ROOT);
        let node = runtime::new_node();
        let counter = Arc::new(AtomicU64::new(0));
        let (task, server, inner_node) = runtime::enter_node(node, || {
            let c = counter.clone();
            let task = runtime::spawn(async move {
                let mine = runtime::current_node();
                loop {
                    c.fetch_add(1, Ordering::Relaxed);
                    runtime::sleep(Duration::from_millis(1)).await;
                    assert_eq!(runtime::current_node(), mine);
                }
            });
            (task, Server::new(), runtime::current_node())
        });
        assert_eq!(inner_node, node);
        assert_eq!(runtime::current_node(), NodeId::ROOT, "enter_node restores");
        assert_eq!(server.node(), node, "Server::new takes the current node");
        runtime::sleep(Duration::from_millis(10)).await;
        runtime::kill_node(node);
        assert_eq!(task.await, Err(JoinError::Killed));
    });
}

#[test]
fn pending_calls_to_a_killed_server_all_fail() {
    on_both("killed_server_calls", 210, || async {
        let node = runtime::new_node();
        let (net, end, _log) = runtime::enter_node(node, || junk_network("s", "e"));
        let calls: Vec<_> = (0..5i64)
            .map(|i| runtime::spawn(end.call::<_, i64>("JunkServer.Handler3", &i)))
            .collect();
        wait_until("the 5 handlers run", || net.count("s") == 5).await;
        runtime::kill_node(node);
        for c in calls {
            let result = c.await.expect("the callers run on the root node");
            assert!(
                matches!(result, Err(RpcError::ServerKilled { .. })),
                "{result:?}"
            );
        }
    });
}

#[test]
fn a_dropped_join_handle_detaches_the_task() {
    on_both("detach", 211, || async {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        drop(runtime::spawn(async move {
            runtime::sleep(Duration::from_millis(5)).await;
            flag.store(true, Ordering::Release);
        }));
        wait_until("the detached task finishes", || {
            done.load(Ordering::Acquire)
        })
        .await;
    });
}

// ---------------------------------------------------------------------------------------------
// Determinism

/// A network workload with every fault on: unreliable, long reordering, long delays, a
/// disconnection and a killed server. Returns how many calls succeeded.
async fn chaotic_workload() -> u64 {
    let net = Network::new();
    net.set_reliable(false);
    net.set_long_reordering(true);
    net.set_long_delays(true);
    let mut nodes = Vec::new();
    for s in 0..3 {
        let node = runtime::new_node();
        runtime::enter_node(node, || {
            let (server, _log) = junk_server();
            net.add_server(format!("s{s}"), server);
        });
        nodes.push(node);
    }
    let mut clients = Vec::new();
    for c in 0..6u64 {
        let end_name = format!("c{c}");
        let end = connected_end(&net, &end_name, &format!("s{}", c % 3));
        clients.push(runtime::spawn(async move {
            let mut ok = 0;
            for i in 0..15u64 {
                if end
                    .call::<_, String>("JunkServer.Handler2", &(c * 100 + i))
                    .await
                    .is_ok()
                {
                    ok += 1;
                }
                runtime::sleep(Duration::from_millis(runtime::random_range(0..50))).await;
            }
            ok
        }));
    }
    runtime::sleep(Duration::from_millis(300)).await;
    net.enable("c1", false).expect("the end exists");
    runtime::kill_node(nodes[2]);
    let mut ok = 0;
    for c in clients {
        ok += c.await.expect("clients run on the root node");
    }
    ok
}

#[test]
fn check_determinism_passes_for_a_faulty_network_workload() {
    let outcome = runtime::check_determinism(
        config(Executor::Sim, "deterministic_workload", 212),
        chaotic_workload,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        outcome.trace.events > 500,
        "the workload is too small to mean anything ({} events)",
        outcome.trace.events
    );
    assert!(outcome.value > 0 && outcome.value < 90, "{}", outcome.value);
}

#[test]
fn different_seeds_give_different_runs() {
    let a = on_sim("seed_a", 213, chaotic_workload);
    let b = on_sim("seed_b", 214, chaotic_workload);
    let a_again = on_sim("seed_a", 213, chaotic_workload);
    assert_ne!(a.trace.hash, b.trace.hash);
    assert_eq!(a.trace, a_again.trace);
    assert_eq!(a.value, a_again.value);
    assert_eq!(a.elapsed, a_again.elapsed);
}

static OUTSIDE_STATE: AtomicU64 = AtomicU64::new(0);

#[test]
fn check_determinism_names_where_a_run_that_reads_outside_state_diverges() {
    let err = runtime::check_determinism(config(Executor::Sim, "leaky", 215), || async {
        // The second run sleeps longer than the first: not a function of the seed.
        let n = OUTSIDE_STATE.fetch_add(1, Ordering::Relaxed);
        runtime::sleep(Duration::from_millis(10)).await;
        runtime::sleep(Duration::from_millis(1 + n)).await;
    })
    .expect_err("the two runs differ");
    let Divergence::Diverged {
        seed,
        index,
        first,
        second,
        ..
    } = &err
    else {
        panic!("expected a divergence, got {err}");
    };
    assert_eq!(*seed, 215);
    assert!(*index > 0, "the runs agree until the second sleep");
    assert_ne!(first, second);
    assert!(err.to_string().contains("seed 215"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// How runs fail

#[test]
fn a_deadlock_is_reported_with_its_seed() {
    let err = runtime::run(RunConfig::sim(4242).named("waits_forever"), || async {
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        // A peer's task that holds the sender but waits on its own forever.
        let s1 = runtime::new_node_named("S1");
        drop(runtime::spawn_on(s1, async move {
            let _tx = tx;
            futures::future::pending::<()>().await;
        }));
        runtime::sleep(Duration::from_secs(3)).await;
        let _ = rx.await;
    })
    .expect_err("nothing can ever wake the test");
    let RunError::Deadlock {
        name,
        seed,
        at,
        tasks,
        nodes,
        waits,
    } = &err
    else {
        panic!("expected a deadlock, got {err}");
    };
    assert_eq!(name, "waits_forever");
    assert_eq!(*seed, 4242);
    assert_eq!(*at, Duration::from_secs(3));
    assert_eq!(*tasks, 1);
    let labels: Vec<_> = nodes.iter().map(|n| n.to_string()).collect();
    assert_eq!(labels, ["S1"]);
    assert!(
        waits.is_empty(),
        "a plain future records no wait: {waits:?}"
    );
    assert_eq!(err.seed(), 4242);
    let message = err.to_string();
    assert!(
        message.contains("seed 4242")
            && message.contains("waits_forever")
            && message.contains("1 tasks are blocked forever, all of S1"),
        "{message}"
    );
}

#[test]
fn passing_the_time_limit_is_reported_in_sim() {
    let err = runtime::run(
        RunConfig::sim(216)
            .named("endless")
            .time_limit(Duration::from_secs(5)),
        || async {
            loop {
                runtime::sleep(Duration::from_millis(300)).await;
            }
        },
    )
    .expect_err("the loop never ends");
    assert_eq!(
        err,
        RunError::TimeLimit {
            name: "endless".into(),
            seed: 216,
            limit: Duration::from_secs(5)
        }
    );
    assert!(err.to_string().contains("seed 216"), "{err}");
}

#[test]
fn passing_the_time_limit_is_reported_in_real_mode() {
    let err = runtime::run(
        RunConfig::real(217)
            .named("endless")
            .time_limit(Duration::from_millis(200)),
        || async {
            runtime::sleep(Duration::from_secs(30)).await;
        },
    )
    .expect_err("the sleep outlasts the limit");
    assert!(
        matches!(err, RunError::TimeLimit { seed: 217, limit, .. } if limit == Duration::from_millis(200)),
        "{err}"
    );
}

static SPIN_RELEASE: AtomicBool = AtomicBool::new(false);

#[test]
fn a_task_that_never_yields_is_reported_stuck_naming_its_node() {
    let result = runtime::run(
        RunConfig::sim(218)
            .named("spinner")
            .stuck_after(Duration::from_millis(300)),
        || async {
            let peer = runtime::new_node_named("S1");
            runtime::spawn_on(peer, async {
                // Never awaits: the scheduler cannot take the thread back.
                while !SPIN_RELEASE.load(Ordering::Acquire) {
                    std::hint::spin_loop();
                }
            })
            .await
            .expect("the spinner finishes once released");
        },
    );
    // The abandoned run thread still spins; let it finish.
    SPIN_RELEASE.store(true, Ordering::Release);
    let err = result.expect_err("the spinner never yields");
    let RunError::Stuck {
        name,
        seed,
        wall,
        node,
        ..
    } = &err
    else {
        panic!("expected stuck, got {err}");
    };
    assert_eq!((name.as_str(), *seed), ("spinner", 218));
    assert_eq!(*wall, Duration::from_millis(300));
    assert_eq!(node.as_ref().and_then(|n| n.label.as_deref()), Some("S1"));
    let message = err.to_string();
    assert!(
        message.contains("seed 218") && message.contains("a task of S1 has not returned"),
        "{message}"
    );
}

static HELD: parking_lot::Mutex<()> = parking_lot::const_mutex(());

#[test]
fn a_task_blocked_on_a_lock_is_reported_stuck() {
    let guard = HELD.lock();
    let result = runtime::run(
        RunConfig::sim(219)
            .named("blocked")
            .stuck_after(Duration::from_millis(300)),
        || async {
            runtime::spawn(async {
                let _g = HELD.lock();
            })
            .await
            .expect("the task finishes once the lock is free");
        },
    );
    drop(guard); // lets the abandoned run thread finish
    let err = result.expect_err("the task blocks on a held lock");
    assert!(matches!(err, RunError::Stuck { seed: 219, .. }), "{err}");
}

#[test]
fn tasks_that_wake_each_other_without_time_moving_are_a_busy_loop() {
    let config = RunConfig {
        max_polls_per_instant: 10_000,
        ..RunConfig::sim(220).named("spin_yield")
    };
    let err = runtime::run(config, || async {
        for _ in 0..2 {
            drop(runtime::spawn(async {
                loop {
                    runtime::yield_now().await;
                }
            }));
        }
        runtime::sleep(Duration::from_secs(1)).await;
    })
    .expect_err("the yielding tasks never let time move");
    let RunError::BusyLoop {
        seed,
        at,
        polls,
        node,
        ..
    } = &err
    else {
        panic!("expected a busy loop, got {err}");
    };
    assert_eq!(*seed, 220);
    assert_eq!(*at, Duration::ZERO);
    assert!(*polls > 10_000);
    // The spinning tasks belong to the test (they were spawned on the root node).
    assert_eq!(node.as_ref().map(|n| n.id), Some(NodeId::ROOT));
    assert!(err.to_string().contains("runtime::sleep"), "{err}");
}

#[test]
fn many_polls_are_fine_when_time_moves() {
    let config = RunConfig {
        max_polls_per_instant: 10_000,
        ..RunConfig::sim(221).named("sleepy")
    };
    let outcome = runtime::run(config, || async {
        for _ in 0..30_000 {
            runtime::sleep(Duration::from_millis(1)).await;
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcome.elapsed, Duration::from_secs(30));
}

#[test]
fn a_panicking_task_fails_the_run_with_its_message() {
    for executor in [Executor::Sim, Executor::Real] {
        let result = runtime::run(config(executor, "panics", 222), || async {
            let node = runtime::new_node();
            drop(runtime::spawn_on(node, async {
                runtime::sleep(Duration::from_millis(5)).await;
                panic!("boom {}", 42);
            }));
            runtime::sleep(Duration::from_secs(10)).await;
            node
        });
        let err = result.expect_err("the task panicked");
        let RunError::Panicked {
            seed,
            node,
            message,
            ..
        } = &err
        else {
            panic!("{executor}: expected a panic, got {err}");
        };
        assert_eq!(*seed, 222);
        assert_ne!(node.id, NodeId::ROOT, "{executor}");
        assert_eq!(message, "boom 42", "{executor}");
        assert!(
            err.to_string().contains(&format!(
                "a task of node {} panicked: boom 42",
                node.id.as_u64()
            )),
            "an unlabelled node is named by its number: {err}"
        );
    }
}

#[test]
fn a_panicking_task_of_a_labelled_node_is_named_by_its_label() {
    for executor in [Executor::Sim, Executor::Real] {
        let err = runtime::run(config(executor, "peer_panics", 226), || async {
            let _s0 = runtime::new_node_named("S0");
            let s1 = runtime::new_node_named("S1");
            drop(runtime::spawn_on(s1, async {
                runtime::sleep(Duration::from_millis(5)).await;
                panic!("index out of bounds");
            }));
            runtime::sleep(Duration::from_secs(10)).await;
        })
        .expect_err("the peer's task panicked");
        assert!(
            matches!(&err, RunError::Panicked { node, .. } if node.label.as_deref() == Some("S1")),
            "{executor}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("a task of S1 panicked: index out of bounds"),
            "{executor}: the message names the peer as the logs do: {message}"
        );
    }
}

#[test]
fn a_busy_loop_names_the_node_that_spins() {
    let config = RunConfig {
        max_polls_per_instant: 10_000,
        ..RunConfig::sim(227).named("peer_spins")
    };
    let err = runtime::run(config, || async {
        // S2 spins; S0 has one quiet task; the test waits.
        let s0 = runtime::new_node_named("S0");
        drop(runtime::spawn_on(s0, async {
            runtime::sleep(Duration::from_secs(5)).await;
        }));
        let s2 = runtime::new_node_named("S2");
        drop(runtime::spawn_on(s2, async {
            loop {
                runtime::yield_now().await;
            }
        }));
        runtime::sleep(Duration::from_secs(1)).await;
    })
    .expect_err("S2 never lets time move");
    assert!(
        matches!(&err, RunError::BusyLoop { node: Some(n), .. } if n.label.as_deref() == Some("S2")),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("the tasks of S2 polled most"),
        "{err}"
    );
}

#[test]
fn a_panicking_test_body_fails_the_run_on_the_root_node() {
    for executor in [Executor::Sim, Executor::Real] {
        let err = runtime::run(config(executor, "body_panics", 223), || async {
            runtime::sleep(Duration::from_millis(1)).await;
            panic!("assertion in the test body");
        })
        .expect_err("the body panicked");
        assert!(
            matches!(&err, RunError::Panicked { node, message, .. }
                if node.id == NodeId::ROOT && message == "assertion in the test body"),
            "{executor}: {err}"
        );
        assert!(
            err.to_string().contains("a task of the test panicked"),
            "{executor}: {err}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The real executor

#[test]
fn real_executor_sleeps_spawns_and_times_out() {
    let outcome = runtime::run(config(Executor::Real, "real_basics", 224), || async {
        assert_eq!(runtime::executor(), Executor::Real);
        let t0 = runtime::now();
        runtime::sleep(Duration::from_millis(20)).await;
        assert!(
            t0.elapsed() >= Duration::from_millis(20),
            "a sleep returned early"
        );

        let node = runtime::new_node();
        let value = runtime::spawn_on(node, async {
            runtime::sleep(Duration::from_millis(1)).await;
            (runtime::current_node(), 6 * 7)
        })
        .await
        .expect("the task finishes");
        assert_eq!(value, (node, 42));

        let t1 = runtime::now();
        let late = runtime::timeout(
            Duration::from_millis(10),
            runtime::sleep(Duration::from_secs(20)),
        )
        .await;
        assert_eq!(late, Err(Elapsed(Duration::from_millis(10))));
        assert!(
            t1.elapsed() < Duration::from_secs(10),
            "the timeout waited for its future"
        );
        let early = runtime::timeout(Duration::from_secs(20), async { 5 }).await;
        assert_eq!(early, Ok(5));

        let draws: Vec<u64> = (0..100).map(|_| runtime::random_range(10..20)).collect();
        assert!(draws.iter().all(|d| (10..20).contains(d)));
        runtime::now().since_start()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(outcome.elapsed >= outcome.value);
    assert!(outcome.value >= Duration::from_millis(30));
}

#[test]
fn a_real_run_ends_while_tasks_still_sleep() {
    // Tasks left sleeping when the test body returns are dropped with the run. (This once
    // deadlocked: dropping the timer's last reference to a task took the timer lock twice.)
    let config = RunConfig::real(225)
        .named("leftovers")
        .time_limit(Duration::from_secs(2))
        .stuck_after(Duration::from_secs(3));
    let outcome = runtime::run(config, || async {
        let node = runtime::new_node();
        for _ in 0..4 {
            drop(runtime::spawn_on(node, async {
                runtime::sleep(Duration::from_secs(60)).await;
            }));
            drop(runtime::spawn(async {
                runtime::sleep(Duration::from_secs(60)).await;
            }));
        }
        runtime::sleep(Duration::from_millis(20)).await;
        "done"
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcome.value, "done");
}

#[test]
fn a_real_run_fires_every_timer_of_many_sleepers_never_early() {
    // Tasks on every worker and the test body sleep at once, many times: each timer fires (a
    // lost one would hold the run to its time limit), none before its deadline.
    let config = RunConfig::real(226)
        .named("sleepers")
        .workers(2)
        .time_limit(Duration::from_secs(60));
    let outcome = runtime::run(config, || async {
        let mut handles = Vec::new();
        for _ in 0..40 {
            handles.push(runtime::spawn(async {
                let mut early = 0;
                for _ in 0..10 {
                    let wait = Duration::from_millis(runtime::random_range(0..15));
                    let deadline = runtime::now() + wait;
                    runtime::sleep(wait).await;
                    early += u32::from(runtime::now() < deadline);
                }
                early
            }));
        }
        let mut early = 0;
        for _ in 0..10 {
            let deadline = runtime::now() + Duration::from_millis(7);
            runtime::sleep(Duration::from_millis(7)).await;
            early += u32::from(runtime::now() < deadline);
        }
        for handle in handles {
            early += handle.await.expect("a sleeper finishes");
        }
        early
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        outcome.value, 0,
        "sleeps that returned before their deadline"
    );
}

#[test]
// The blocked worker measures its own way out in wall time: that is what it blocks.
#[allow(clippy::disallowed_methods)]
fn a_task_woken_by_a_poll_that_never_returns_still_runs() {
    // A task woken during a poll waits to run next on that poll's worker. If the poll does not
    // return (here: until the woken task has run), an idle worker takes the task instead.
    static RAN: AtomicBool = AtomicBool::new(false);
    let config = RunConfig::real(227)
        .named("stranded")
        .workers(2)
        .time_limit(Duration::from_secs(60))
        .stuck_after(Duration::from_secs(60));
    let outcome = runtime::run(config, || async {
        let node = runtime::new_node();
        runtime::spawn_on(node, async {
            drop(runtime::spawn(async { RAN.store(true, Ordering::Release) }));
            // Blocks this worker on purpose, with a way out so a broken scheduler fails the
            // assertion below instead of hanging the test.
            let since = std::time::Instant::now();
            while !RAN.load(Ordering::Acquire) && since.elapsed() < Duration::from_secs(30) {
                std::hint::spin_loop();
            }
            RAN.load(Ordering::Acquire)
        })
        .await
        .expect("the blocking task finishes")
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        outcome.value,
        "the woken task never ran while its worker was blocked"
    );
}

// ---------------------------------------------------------------------------------------------
// Outside a runtime

#[test]
fn outside_a_runtime_nothing_runs_but_the_message_says_why() {
    assert!(!runtime::in_runtime());
    runtime::trace_event("ignored", 1, 2); // does nothing, does not panic
    let caught = std::panic::catch_unwind(runtime::now).expect_err("now() needs a runtime");
    let message = caught
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| caught.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(
        message.contains("labrpc::runtime::run"),
        "the panic should say how to fix it: {message}"
    );
}
