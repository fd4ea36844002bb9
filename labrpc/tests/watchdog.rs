//! The wall-clock watchdog: a task whose poll never returns (real mode, on one worker), and a
//! sim run whose virtual clock stands still while tasks keep running. Each is reported soon,
//! naming the peer, and never overwrites or holds up a verdict the test reached itself.
//!
//! These tests block threads on purpose (that is what they detect), and measure wall time only
//! to check that a report came before a limit that a broken watchdog would pass, never as a
//! tight bound.
#![allow(clippy::disallowed_methods)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use labrpc::runtime::{self, Executor, RunConfig, RunError, WaitOn};

/// Spins on the calling thread, never awaiting, until `release` is set.
fn spin_until(release: &AtomicBool) {
    while !release.load(Ordering::Acquire) {
        std::hint::spin_loop();
    }
}

/// The run-time limit of the real-mode tests here: the watchdog must report long before it.
const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn a_real_run_keeps_the_tests_own_failure_while_a_peer_spins() {
    static RELEASE: AtomicBool = AtomicBool::new(false);
    let wall = std::time::Instant::now();
    let result = runtime::run(
        RunConfig::real(300)
            .named("verdict_kept")
            .workers(2)
            .time_limit(LIMIT)
            .stuck_after(Duration::from_secs(20)),
        || async {
            // S1 takes a worker for good; the test goes on, and fails on its own.
            let s1 = runtime::new_node_named("S1");
            drop(runtime::spawn_on(s1, async { spin_until(&RELEASE) }));
            runtime::sleep(Duration::from_millis(100)).await;
            Err::<(), _>("expected one leader, got none")
        },
    );
    let took = wall.elapsed();
    RELEASE.store(true, Ordering::Release);
    let outcome = result.unwrap_or_else(|e| panic!("the test's own verdict was replaced: {e}"));
    assert_eq!(outcome.value, Err("expected one leader, got none"));
    // Not held up by the spinning worker: the verdict came before the stuck window (20 s)
    // would even have passed, let alone the time limit.
    assert!(
        took < Duration::from_secs(20),
        "the verdict waited {took:?} for the spinning worker"
    );
}

#[test]
fn a_real_run_reports_which_peers_task_stopped_yielding() {
    static RELEASE: AtomicBool = AtomicBool::new(false);
    let wall = std::time::Instant::now();
    let result = runtime::run(
        RunConfig::real(301)
            .named("peer_stuck")
            .workers(2)
            .time_limit(LIMIT)
            .stuck_after(Duration::from_secs(1)),
        || async {
            let _s0 = runtime::new_node_named("S0");
            let s3 = runtime::new_node_named("S3");
            // The test waits for the peer's task, which never yields.
            runtime::spawn_on(s3, async {
                runtime::sleep(Duration::from_millis(10)).await;
                spin_until(&RELEASE);
            })
            .await
            .expect("the task finishes once released");
        },
    );
    let took = wall.elapsed();
    RELEASE.store(true, Ordering::Release);
    let err = result.expect_err("S3's task never returns from its poll");
    let RunError::Stuck {
        seed, wall, node, ..
    } = &err
    else {
        panic!("expected stuck, got {err}");
    };
    assert_eq!(*seed, 301);
    assert_eq!(*wall, Duration::from_secs(1));
    assert_eq!(node.as_ref().and_then(|n| n.label.as_deref()), Some("S3"));
    let message = err.to_string();
    assert!(
        message.contains("a task of S3 has not returned from one poll for 1s"),
        "{message}"
    );
    // Reported soon after the 1 s window, not after the 60 s time limit.
    assert!(took < LIMIT / 2, "reported after {took:?}");

    // The abandoned worker does not hold up the next run.
    let next = runtime::run(RunConfig::real(302).time_limit(LIMIT), || async {
        runtime::sleep(Duration::from_millis(5)).await;
        7
    })
    .unwrap_or_else(|e| panic!("the next run failed: {e}"));
    assert_eq!(next.value, 7);
}

#[test]
fn a_real_run_reports_a_test_body_that_stopped_yielding() {
    static RELEASE: AtomicBool = AtomicBool::new(false);
    let result = runtime::run(
        RunConfig::real(303)
            .named("body_stuck")
            .time_limit(LIMIT)
            .stuck_after(Duration::from_secs(1)),
        || async {
            runtime::sleep(Duration::from_millis(10)).await;
            spin_until(&RELEASE);
        },
    );
    RELEASE.store(true, Ordering::Release);
    let err = result.expect_err("the body never returns from its poll");
    assert!(
        matches!(&err, RunError::Stuck { node: Some(n), .. } if n.id == runtime::NodeId::ROOT),
        "{err:?}"
    );
    assert!(err.to_string().contains("a task of the test"), "{err}");
}

#[test]
fn a_task_that_sleeps_on_the_wall_clock_stalls_virtual_time_and_is_named() {
    let result = runtime::run(
        RunConfig::sim(304)
            .named("wall_sleeper")
            .stalled_after(Duration::from_millis(300))
            .stuck_after(Duration::from_secs(30)),
        || async {
            // From 2 s on, S0 yields all the time (as many polls as S4, each quick), and S4
            // waits on the real clock, then yields: each of its polls takes 10 ms of wall time
            // and no virtual time.
            let s0 = runtime::new_node_named("S0");
            drop(runtime::spawn_on(s0, async {
                runtime::sleep(Duration::from_secs(2)).await;
                loop {
                    runtime::yield_now().await;
                }
            }));
            let s4 = runtime::new_node_named("S4");
            drop(runtime::spawn_on(s4, async {
                runtime::sleep(Duration::from_secs(2)).await;
                loop {
                    std::thread::sleep(Duration::from_millis(10));
                    runtime::yield_now().await;
                }
            }));
            runtime::sleep(Duration::from_secs(3)).await;
        },
    );
    let err = result.expect_err("virtual time never gets past 2 s");
    let RunError::TimeStalled {
        name,
        seed,
        at,
        wall,
        busiest,
    } = &err
    else {
        panic!("expected a stalled clock, got {err}");
    };
    assert_eq!((name.as_str(), *seed), ("wall_sleeper", 304));
    assert_eq!(*at, Duration::from_secs(2));
    assert_eq!(*wall, Duration::from_millis(300));
    assert_eq!(
        busiest.as_ref().and_then(|n| n.label.as_deref()),
        Some("S4")
    );
    let message = err.to_string();
    for part in [
        "virtual time stood still at 2s",
        "the tasks of S4 took the most wall time",
        "std::thread::sleep (use labrpc::runtime::sleep)",
        "blocking lock or channel",
        "spin",
    ] {
        assert!(message.contains(part), "{part:?} missing from: {message}");
    }
}

#[test]
fn a_slow_sim_run_whose_clock_moves_is_not_stalled() {
    // Each poll takes a millisecond of wall time, but each moves the virtual clock: slow,
    // not stalled.
    let outcome = runtime::run(
        RunConfig::sim(305)
            .named("slow_but_moving")
            .stalled_after(Duration::from_millis(50)),
        || async {
            for _ in 0..200 {
                std::thread::sleep(Duration::from_millis(1));
                runtime::sleep(Duration::from_millis(1)).await;
            }
            runtime::now().since_start()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcome.value, Duration::from_millis(200));
}

// ---------------------------------------------------------------------------------------------
// Deadlocks named fast, and told apart from loops

static HELD_BY_TEST: parking_lot::Mutex<()> = parking_lot::const_mutex(());

#[test]
fn a_sim_task_blocked_in_one_poll_is_a_deadlock_reported_at_the_deadlock_window() {
    let guard = HELD_BY_TEST.lock();
    let result = runtime::run(
        RunConfig::sim(310)
            .named("blocked_peer")
            .deadlock_after(Duration::from_millis(300))
            .stuck_after(Duration::from_secs(30)),
        || async {
            let s1 = runtime::new_node_named("S1");
            runtime::spawn_on(s1, async {
                let _g = HELD_BY_TEST.lock();
            })
            .await
            .expect("the task finishes once the lock is free");
        },
    );
    drop(guard); // lets the abandoned run thread finish
    let err = result.expect_err("S1 blocks the only thread");
    let RunError::Stuck {
        wall,
        node,
        executor,
        polls,
        ..
    } = &err
    else {
        panic!("expected stuck, got {err}");
    };
    // The deadlock window, not the outer one.
    assert_eq!(*wall, Duration::from_millis(300));
    assert_eq!(*executor, Executor::Sim);
    assert_eq!(node.as_ref().and_then(|n| n.label.as_deref()), Some("S1"));
    assert_eq!(polls.len(), 1);
    assert!(polls[0].held >= Duration::from_millis(300), "{polls:?}");
    let message = err.to_string();
    for part in [
        "a task of S1 has not returned from one poll for 300ms",
        "virtual time cannot move",
        "a deadlock or a spin",
        "futures::executor::block_on",
        "a loop that never awaits",
    ] {
        assert!(message.contains(part), "{part:?} missing from: {message}");
    }
}

#[test]
fn the_test_bodys_own_long_poll_keeps_the_outer_bound() {
    // The test body may check a long history in one poll: only the outer window applies to it.
    let outcome = runtime::run(
        RunConfig::sim(311)
            .named("long_check")
            .deadlock_after(Duration::from_millis(50))
            .stuck_after(Duration::from_secs(30)),
        || async {
            runtime::sleep(Duration::from_millis(1)).await;
            std::thread::sleep(Duration::from_millis(400));
            5
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcome.value, 5);
}

#[test]
fn long_work_marked_unwatched_outlasts_every_window_and_unmarked_is_stuck() {
    // A check that takes longer than the outer window (and stands the clock still for longer
    // than the stall window): marked, the run goes on; the same work unmarked is reported.
    let config = |seed| {
        RunConfig::sim(seed)
            .named("long_check")
            .deadlock_after(Duration::from_millis(20))
            .stuck_after(Duration::from_millis(100))
            .stalled_after(Duration::from_millis(100))
    };
    let outcome = runtime::run(config(312), || async {
        runtime::sleep(Duration::from_millis(1)).await;
        let v = runtime::unwatched(|| {
            std::thread::sleep(Duration::from_millis(600));
            6
        });
        runtime::sleep(Duration::from_millis(1)).await;
        v
    })
    .unwrap_or_else(|e| panic!("unwatched work is not stuck: {e}"));
    assert_eq!(outcome.value, 6);

    let err = runtime::run(config(313), || async {
        runtime::sleep(Duration::from_millis(1)).await;
        std::thread::sleep(Duration::from_millis(600));
        runtime::sleep(Duration::from_millis(1)).await;
    })
    .expect_err("the same work, watched, outlasts the outer window");
    assert!(matches!(err, RunError::Stuck { .. }), "{err:?}");
}

/// The senders whose drop releases the threads [`blocks_on_its_own_wait`] blocks.
static UNBLOCK: parking_lot::Mutex<Vec<futures::channel::oneshot::Sender<()>>> =
    parking_lot::const_mutex(Vec::new());

/// A task of `S1` that blocks its thread (`block_on`) on a recorded wait nothing will end (until
/// the test clears [`UNBLOCK`]).
async fn blocks_on_its_own_wait() {
    let s1 = runtime::new_node_named("S1");
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    UNBLOCK.lock().push(tx);
    drop(runtime::spawn_on(s1, async move {
        runtime::sleep(Duration::from_millis(5)).await;
        let _ = futures::executor::block_on(async {
            let _waiting = runtime::waiting("the service to take a message");
            rx.await
        });
    }));
    runtime::sleep(Duration::from_secs(50)).await;
}

#[test]
fn a_poll_blocked_in_its_own_wait_is_named_blocking_in_both_executors() {
    for executor in [Executor::Sim, Executor::Real] {
        let result = runtime::run(
            RunConfig::new(executor, 312)
                .named("block_on_wait")
                .time_limit(LIMIT)
                .deadlock_after(Duration::from_millis(300))
                .stuck_after(Duration::from_secs(30)),
            blocks_on_its_own_wait,
        );
        UNBLOCK.lock().clear(); // lets the abandoned thread finish
        let err = result.expect_err("S1 blocks its thread on a wait nothing ends");
        let RunError::Stuck {
            wall, node, waits, ..
        } = &err
        else {
            panic!("{executor}: expected stuck, got {err}");
        };
        // Real mode too: a poll blocked in its own wait is a deadlock, reported at the window.
        assert_eq!(*wall, Duration::from_millis(300), "{executor}");
        assert_eq!(node.as_ref().and_then(|n| n.label.as_deref()), Some("S1"));
        assert!(
            waits.first().is_some_and(
                |w| w.blocking && w.on == WaitOn::Other("the service to take a message")
            ),
            "{executor}: {waits:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(
                "still waiting: S1 on the service to take a message (blocking its thread)"
            ),
            "{executor}: {message}"
        );
    }
}

static SNAPSHOT_LOCK: parking_lot::Mutex<()> = parking_lot::const_mutex(());

#[test]
fn a_real_call_into_a_peer_that_does_not_return_is_reported_at_the_deadlock_window() {
    let guard = SNAPSHOT_LOCK.lock();
    let result = runtime::run(
        RunConfig::real(313)
            .named("call_stuck")
            .workers(2)
            .time_limit(LIMIT)
            .deadlock_after(Duration::from_millis(300))
            .stuck_after(Duration::from_secs(30)),
        || async {
            let s1 = runtime::new_node_named("S1");
            let service = runtime::new_node_named("the service of S1");
            runtime::spawn_on(service, async move {
                runtime::call_into(s1, "snapshot()", || drop(SNAPSHOT_LOCK.lock()));
            })
            .await
            .expect("the call returns once the lock is free");
        },
    );
    drop(guard);
    let err = result.expect_err("the call never returns");
    let RunError::Stuck {
        wall, node, polls, ..
    } = &err
    else {
        panic!("expected stuck, got {err}");
    };
    assert_eq!(*wall, Duration::from_millis(300));
    assert_eq!(
        node.as_ref().and_then(|n| n.label.as_deref()),
        Some("the service of S1")
    );
    let call = polls[0].call.as_ref().expect("the poll is inside the call");
    assert_eq!(
        (call.callee.label.as_deref(), call.what),
        (Some("S1"), "snapshot()")
    );
    assert!(
        err.to_string()
            .contains("has not returned from one poll for 300ms of wall time, inside its call to S1's snapshot()"),
        "{err}"
    );
}

#[test]
fn a_sim_loop_of_quick_polls_without_time_is_a_busy_loop_not_a_blocked_thread() {
    // Each poll does a little work and yields: far too few polls per instant for the poll
    // count to trip, but virtual time never moves. The watchdog tells it from a blocked thread
    // by how quick the polls are.
    let config = RunConfig {
        max_polls_per_instant: u64::MAX,
        ..RunConfig::sim(314)
            .named("same_snapshot_again")
            .stalled_after(Duration::from_millis(300))
    };
    let err = runtime::run(config, || async {
        let s2 = runtime::new_node_named("S2");
        drop(runtime::spawn_on(s2, async {
            let mut hash = 0u64;
            loop {
                for i in 0..100u64 {
                    hash = hash.rotate_left(5) ^ i;
                }
                std::hint::black_box(hash);
                runtime::yield_now().await;
            }
        }));
        runtime::sleep(Duration::from_secs(1)).await;
    })
    .expect_err("virtual time never moves");
    let RunError::BusyLoop { polls, node, .. } = &err else {
        panic!("expected a busy loop, got {err}");
    };
    assert!(*polls > 100, "{polls}");
    assert_eq!(node.as_ref().and_then(|n| n.label.as_deref()), Some("S2"));
    let message = err.to_string();
    assert!(
        message.contains("keeps running without ever waiting")
            && message.contains("awaits something always ready"),
        "{message}"
    );
}

#[test]
fn a_real_task_still_in_a_poll_when_the_test_ends_held_its_thread() {
    static RELEASE: AtomicBool = AtomicBool::new(false);
    let outcome = runtime::run(
        RunConfig::real(315)
            .named("spins_past_the_end")
            .workers(2)
            .time_limit(LIMIT)
            .stuck_after(Duration::from_secs(30)),
        || async {
            let s0 = runtime::new_node_named("S0");
            drop(runtime::spawn_on(s0, async { spin_until(&RELEASE) }));
            runtime::sleep(Duration::from_millis(50)).await;
            7
        },
    );
    RELEASE.store(true, Ordering::Release);
    let outcome = outcome.unwrap_or_else(|e| panic!("the test's own value was replaced: {e}"));
    assert_eq!(outcome.value, 7, "the value stands");
    let held = outcome.held_thread.expect("S0 held a worker past the end");
    let RunError::HeldThread { node, at_end, .. } = &held else {
        panic!("expected a held thread, got {held}");
    };
    assert_eq!(node.label.as_deref(), Some("S0"));
    assert!(*at_end);
    let message = held.to_string();
    assert!(
        message.contains("a task of S0 held its thread in one poll")
            && message.contains("still in it when the test ended")
            && message.contains("a loop that never awaits"),
        "{message}"
    );
}

#[test]
fn a_real_task_that_held_its_thread_a_while_is_reported_at_the_end() {
    // S1 spins for a while without awaiting, then returns (as a ticker that checks the time in
    // a loop, until kill() stops it): the run finishes, but the spin is reported beside it.
    let outcome = runtime::run(
        RunConfig::real(316)
            .named("spun_a_while")
            .workers(2)
            .time_limit(LIMIT)
            .deadlock_after(Duration::from_millis(300))
            .stuck_after(Duration::from_secs(30)),
        || async {
            let s1 = runtime::new_node_named("S1");
            let spinner = runtime::spawn_on(s1, async {
                let until = std::time::Instant::now() + Duration::from_millis(900);
                while std::time::Instant::now() < until {
                    std::hint::spin_loop();
                }
            });
            spinner.await.expect("the spinner returns");
            runtime::sleep(Duration::from_millis(50)).await;
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let held = outcome.held_thread.expect("S1 held a worker for 900 ms");
    let RunError::HeldThread {
        node, held, at_end, ..
    } = &held
    else {
        panic!("expected a held thread, got {held}");
    };
    assert_eq!(node.label.as_deref(), Some("S1"));
    assert!(*held >= Duration::from_millis(300), "{held:?}");
    assert!(!*at_end);
}
