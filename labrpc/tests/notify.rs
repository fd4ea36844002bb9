//! The runtime's wake-up primitive ([`Notify`]) under both executors, its recorded waits in a
//! deadlock's report, and the random draws of durations.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use labrpc::runtime::{self, Executor, Notify, RunConfig, RunError, WaitOn};
use parking_lot::Mutex;

/// A producer and the consumer it wakes: what a peer's commit path and applier are.
struct Shared {
    produced: Mutex<Vec<u64>>,
    more: Notify,
    done: Notify,
}

/// The consumer takes every item the producer makes, waking only on notifications, and returns
/// them in order with how many times it had to wait.
async fn consume(shared: Arc<Shared>, want: usize) -> (Vec<u64>, u64) {
    let mut taken = 0;
    let mut got = Vec::new();
    let mut waits = 0;
    while got.len() < want {
        let more = shared.more.notified();
        let fresh: Vec<u64> = shared.produced.lock()[taken..].to_vec();
        if fresh.is_empty() {
            waits += 1;
            more.await;
            continue;
        }
        taken += fresh.len();
        got.extend(fresh);
    }
    shared.done.notify();
    (got, waits)
}

#[test]
fn a_notify_wakes_its_waiter_under_both_executors_and_loses_no_wake_up() {
    on_both("notify_wakes", 901, || async {
        let shared = Arc::new(Shared {
            produced: Mutex::new(Vec::new()),
            more: Notify::named("more items"),
            done: Notify::named("consumer done"),
        });
        let done = shared.done.notified();
        let consumer = runtime::spawn(consume(shared.clone(), 20));
        for i in 0..20 {
            if i % 3 == 0 {
                runtime::sleep(Duration::from_millis(2)).await;
            }
            shared.produced.lock().push(i);
            shared.more.notify();
        }
        let (got, waits) = consumer.await.expect("the consumer finishes");
        assert_eq!(got, (0..20).collect::<Vec<_>>());
        assert!(
            waits >= 1,
            "the consumer waited for the producer at least once"
        );
        // The consumer notified `done` after this future was taken: it is complete at once.
        done.await;
    });
}

#[test]
fn a_notify_replays_the_same_under_one_seed() {
    let make = || async {
        let notify = Arc::new(Notify::named("tick"));
        let order = Arc::new(Mutex::new(Vec::new()));
        for id in 0..5u64 {
            let (notify, order) = (notify.clone(), order.clone());
            drop(runtime::spawn(async move {
                for _ in 0..3 {
                    let woken = notify.notified();
                    runtime::sleep(Duration::from_millis(runtime::random_range(1..5))).await;
                    woken.await;
                    order.lock().push(id);
                }
            }));
        }
        for _ in 0..6 {
            runtime::sleep(Duration::from_millis(3)).await;
            notify.notify();
        }
        runtime::sleep(Duration::from_millis(50)).await;
        let order = order.lock().clone();
        order
    };
    let outcome =
        runtime::check_determinism(RunConfig::sim(902), make).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcome.value.len(), 15, "every waiter woke three times");
}

#[test]
fn a_deadlock_names_the_notify_each_blocked_task_waits_on() {
    let err = runtime::run(RunConfig::sim(903).named("never_notified"), || async {
        let commit = Arc::new(Notify::named("commit index moved"));
        let s2 = runtime::new_node_named("S2");
        let applier = {
            let commit = commit.clone();
            runtime::spawn_on(s2, async move { commit.notified().await })
        };
        // The test waits for the applier, which waits for a commit that never comes.
        let _ = applier.await;
    })
    .expect_err("nothing ever notifies the applier");
    let RunError::Deadlock { waits, .. } = &err else {
        panic!("expected a deadlock, got {err}");
    };
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert_eq!(waits[0].node.label.as_deref(), Some("S2"));
    assert_eq!(waits[0].on, WaitOn::Notify("commit index moved"));
    assert!(!waits[0].blocking, "an await does not block the thread");
    let message = err.to_string();
    assert!(
        message.contains("nothing is left to end these waits: S2 on Notify \"commit index moved\""),
        "{message}"
    );
}

#[test]
fn an_ended_wait_is_no_longer_listed() {
    let err = runtime::run(RunConfig::sim(904).named("ended_waits"), || async {
        let notify = Arc::new(Notify::named("once"));
        let s1 = runtime::new_node_named("S1");
        let woken = {
            let notify = notify.clone();
            runtime::spawn_on(s1, async move { notify.notified().await })
        };
        runtime::sleep(Duration::from_millis(1)).await;
        notify.notify();
        woken.await.expect("woken once");
        // A wait of its own that nothing ends: the only one left.
        let _waiting = runtime::waiting("a reply that never comes");
        futures::future::pending::<()>().await;
    })
    .expect_err("the test waits forever");
    let RunError::Deadlock { waits, .. } = &err else {
        panic!("expected a deadlock, got {err}");
    };
    let listed: Vec<String> = waits.iter().map(ToString::to_string).collect();
    assert_eq!(listed, ["the test on a reply that never comes"]);
}

#[test]
fn random_durations_fall_in_their_range_and_replay_from_the_seed() {
    const MIN: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_millis(1000);
    let draw = || async {
        let drawn: Vec<Duration> = (0..200)
            .map(|_| runtime::random_duration(MIN..MAX))
            .collect();
        drawn
    };
    let a = on_sim("durations", 905, draw).value;
    let b = on_sim("durations", 905, draw).value;
    assert_eq!(a, b, "one seed, one sequence");
    assert!(a.iter().all(|d| (MIN..MAX).contains(d)), "{a:?}");
    assert!(
        a.iter().any(|d| d.subsec_nanos() % 1_000_000 != 0),
        "drawn at nanosecond resolution, not whole milliseconds"
    );
    let tiny = on_sim("tiny", 906, || async {
        runtime::random_duration(Duration::from_nanos(5)..Duration::from_nanos(6))
    });
    assert_eq!(tiny.value, Duration::from_nanos(5));
}

#[test]
fn a_notify_works_in_a_real_run_across_workers() {
    let outcome = runtime::run(
        config(Executor::Real, "notify_real", 908).workers(4),
        || async {
            let shared = Arc::new(Shared {
                produced: Mutex::new(Vec::new()),
                more: Notify::named("more items"),
                done: Notify::named("consumer done"),
            });
            let consumers: Vec<_> = (0..3)
                .map(|_| runtime::spawn(consume(shared.clone(), 100)))
                .collect();
            for i in 0..100 {
                shared.produced.lock().push(i);
                shared.more.notify();
                if i % 10 == 0 {
                    runtime::yield_now().await;
                }
            }
            let mut all = Vec::new();
            for c in consumers {
                all.push(c.await.expect("a consumer finishes").0);
            }
            all
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for got in outcome.value {
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    }
    assert!(outcome.held_thread.is_none(), "{:?}", outcome.held_thread);
}
