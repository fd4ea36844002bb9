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

use labrpc::runtime::{self, RunConfig, RunError};

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
