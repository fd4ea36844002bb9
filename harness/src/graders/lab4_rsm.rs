//! Part 4A: the replicated state machine layer (Go `kvraft1/rsm/rsm_test.go`, 2025–2026), and
//! its snapshot test, which the original labels 4C. The tester plays the service
//! ([`crate::rsm_tester`]): `Inc`, `Null`, and a `Dec` that must never execute.

use std::time::Duration;

use futures::channel::mpsc;
use futures::StreamExt;
use labrpc::runtime;
use raftapi::rsm::Rsm;

use super::{Body, Grader, GraderFuture, Lab4Inner, Lab4Test, Origin};
use crate::fail;
use crate::rsm_tester::{CounterRequest, RsmTester, NSRV};
use crate::tester::{Stats, TestFailure};

/// The 4A tests and the rsm's 4C test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Test {
    Basic,
    Concurrent,
    LeaderFailure,
    LeaderPartition,
    RestartReplay,
    Shutdown,
    RestartSubmit,
    ShutdownWaiting,
    Snapshot,
}

const fn body(test: Test) -> Body {
    Body::Lab4(Lab4Test(Lab4Inner::Rsm(test)))
}

/// Incs of the basic test (Go `NINC` there).
const NINC_BASIC: u64 = 10;
/// Concurrent Incs of the concurrent test.
const NINC_CONCURRENT: u64 = 50;
/// Incs of the restart tests and the snapshot test.
const NINC: u64 = 100;
/// Concurrent submits of the partition and shutdown tests (Go `NSUBMIT`).
const NSUBMIT: usize = 100;
/// Go `ElectionTimeout`.
const ELECTION_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the shutdown tests give every submit to return after the shutdown (Go
/// `11 * time.Second`: the 10 s of `onePartition`, and one to spare).
const SHUTDOWN_RETURN: Duration = Duration::from_secs(11);
/// `maxraftstate` of the snapshot test.
const SNAPSHOT_MAX_RAFT_STATE: usize = 1000;

/// The 4A graders and the rsm's 4C grader, in the order the lab runs them.
pub(crate) const GRADERS: &[Grader] = &[
    Grader {
        name: "rsm_basic",
        part: "4A",
        title: "Test (4A): RSM basic",
        description: "10 Incs through the rsm, each returning the next count, applied by all 3",
        origin: Origin::Original,
        body: body(Test::Basic),
    },
    Grader {
        name: "rsm_concurrent",
        part: "4A",
        title: "Test (4A): concurrent submit",
        description: "50 Incs submitted at once all apply, on all 3 servers",
        origin: Origin::Original,
        body: body(Test::Concurrent),
    },
    Grader {
        name: "rsm_leader_failure",
        part: "4A",
        title: "Test (4A): Leader Failure",
        description: "an Inc commits without the disconnected leader, which catches up on return",
        origin: Origin::Original,
        body: body(Test::LeaderFailure),
    },
    Grader {
        name: "rsm_leader_partition",
        part: "4A",
        title: "Test (4A): Leader Partition",
        description: "submits to a leader in a minority neither complete nor execute, and return \
                      within a second of the partition healing",
        origin: Origin::Original,
        body: body(Test::LeaderPartition),
    },
    Grader {
        name: "rsm_restart_replay",
        part: "4A",
        title: "Test (4A): Restart",
        description: "after 100 Incs and a restart of every server the log replays: the next Inc \
                      returns 101",
        origin: Origin::Original,
        body: body(Test::RestartReplay),
    },
    Grader {
        name: "rsm_shutdown",
        part: "4A",
        title: "Test (4A): Shutdown",
        description: "100 waiting submits all return once every server is shut down",
        origin: Origin::Original,
        body: body(Test::Shutdown),
    },
    Grader {
        name: "rsm_restart_submit",
        part: "4A",
        title: "Test (4A): Restart and submit",
        description: "restart replay, then 100 submits cut short by a shutdown all return, and \
                      the restarted servers go on counting",
        origin: Origin::Original,
        body: body(Test::RestartSubmit),
    },
    Grader {
        name: "rsm_shutdown_waiting",
        part: "4A",
        title: "Beyond (4A): submits waiting at a shutdown",
        description: "100 submits accepted by a leader cut off from its followers all return \
                      within a second of every server's shutdown",
        origin: Origin::Beyond,
        body: body(Test::ShutdownWaiting),
    },
    Grader {
        name: "rsm_snapshot",
        part: "4C",
        title: "Test (4C): creating and restoring snapshot",
        description: "with maxraftstate 1000 the rsm snapshots (log under 2000 bytes) and a \
                      restart restores the count from the snapshot",
        origin: Origin::Original,
        body: body(Test::Snapshot),
    },
];

/// The body of `test` over the submission's rsm `R`.
pub(crate) fn body_of<R: Rsm>(test: Test, title: &'static str) -> GraderFuture {
    super::one_cluster(async move {
        match test {
            Test::Basic => basic::<R>(title).await,
            Test::Concurrent => concurrent::<R>(title).await,
            Test::LeaderFailure => leader_failure::<R>(title).await,
            Test::LeaderPartition => leader_partition::<R>(title).await,
            Test::RestartReplay => restart_replay::<R>(title).await,
            Test::Shutdown => shutdown::<R>(title).await,
            Test::RestartSubmit => restart_submit::<R>(title).await,
            Test::ShutdownWaiting => shutdown_waiting::<R>(title).await,
            Test::Snapshot => snapshot::<R>(title).await,
        }
    })
}

/// `NINC_BASIC` Incs one by one, each returning the next count, applied on all servers (Go
/// `TestBasic4A`).
async fn basic<R: Rsm>(title: &'static str) -> Result<Stats, TestFailure> {
    let t = RsmTester::<R>::new(title, None);
    for i in 0..NINC_BASIC {
        let n = t.one_inc().await?;
        if n != i + 1 {
            fail!("expected {} instead of {}", i + 1, n);
        }
        t.check_counter(n, NSRV).await?;
    }
    t.end()
}

/// `NINC_CONCURRENT` Incs submitted at once (Go `TestConcurrent4A`).
async fn concurrent<R: Rsm>(title: &'static str) -> Result<Stats, TestFailure> {
    let t = RsmTester::<R>::new(title, None);
    let (tx, mut rx) = mpsc::unbounded();
    for _ in 0..NINC_CONCURRENT {
        let (h, tx) = (t.handle(), tx.clone());
        let _detached = runtime::spawn(async move {
            let _ = tx.unbounded_send(h.one_inc().await);
        });
    }
    for _ in 0..NINC_CONCURRENT {
        match rx.next().await {
            Some(result) => {
                result?;
            }
            None => fail!("an Inc's task ended without an answer"),
        }
    }
    t.check_counter(NINC_CONCURRENT, NSRV).await?;
    t.end()
}

/// An Inc commits while the leader is disconnected, and the old leader catches up when it
/// returns (Go `TestLeaderFailure4A`).
async fn leader_failure<R: Rsm>(title: &'static str) -> Result<Stats, TestFailure> {
    let t = RsmTester::<R>::new(title, None);
    let n = t.one_inc().await?;
    t.check_counter(n, NSRV).await?;
    let l = t.leader();
    t.disconnect(l);
    let n = t.one_inc().await?;
    t.check_counter(n, NSRV - 1).await?;
    t.connect(l);
    t.check_counter(n, NSRV).await?;
    t.end()
}

/// Submits to a leader partitioned into the minority neither complete nor execute while it is
/// cut off, and all return within a second each once the partition heals (Go
/// `TestLeaderPartition4A`). An rsm that keeps its waiters after losing leadership fails here,
/// with `Submit after healing didn't return`.
async fn leader_partition<R: Rsm>(title: &'static str) -> Result<Stats, TestFailure> {
    let t = RsmTester::<R>::new(title, None);
    let n = t.one_inc().await?;
    t.check_counter(n, NSRV).await?;
    let l = t.leader();
    let (p1, p2) = t.make_partition(l);
    t.partition(&p1, &p2);
    let (tx, mut rx) = mpsc::unbounded();
    for i in 0..NSUBMIT {
        let (h, tx) = (t.handle(), tx.clone());
        let _detached = runtime::spawn(async move {
            let _ = tx.unbounded_send((i, h.submit_to(l, CounterRequest::Dec).await));
        });
    }
    runtime::sleep(Duration::from_millis(10)).await;
    let n = match t.one_partition(Some(&p1), CounterRequest::Inc).await {
        Some(crate::rsm_tester::CounterReply::Inc(n)) => n,
        other => fail!("Inc in the majority {p1:?} was not applied within 10s: {other:?}"),
    };
    // The old leader's Decs must not complete while it is cut off.
    if let Ok(Some((i, result))) = runtime::timeout(Duration::from_secs(1), rx.next()).await {
        match result {
            Ok(reply) => fail!("Submit {i} in minority completed {reply:?}"),
            Err(e) => fail!("Dec's in minority completed; Submit returns {e}"),
        }
    }
    t.connect_all();
    for done in 0..NSUBMIT {
        match runtime::timeout(Duration::from_secs(1), rx.next()).await {
            Ok(Some((i, Ok(reply)))) => fail!("Submit {i} in minority completed {reply:?}"),
            Ok(Some((_, Err(_)))) => {}
            Ok(None) => fail!("a submit's task ended without an answer"),
            Err(_) => fail!(
                "Submit after healing didn't return: {} of {NSUBMIT} submits to the old leader \
                 {l} still wait 1s after the partition healed (a submit must return \
                 ErrWrongLeader once its leader's term moves on)",
                NSUBMIT - done
            ),
        }
    }
    t.check_counter(n, NSRV).await?;
    t.end()
}

/// `NINC` Incs checked one by one, a restart of every server, and the next Inc continues the
/// count (Go `TestRestartReplay4A`, `TestRestartSubmit4A`'s first half).
async fn incs_then_restart<R: Rsm>(t: &RsmTester<R>, capital: bool) -> Result<(), TestFailure> {
    for i in 0..NINC {
        let n = t.one_inc().await?;
        if n != i + 1 {
            fail!("expected {} got {}", i + 1, n);
        }
        t.check_counter(n, NSRV).await?;
    }
    t.shutdown();
    runtime::sleep(ELECTION_TIMEOUT).await;
    t.start_all();
    let n = t.one_inc().await?;
    if n != NINC + 1 {
        if capital {
            fail!("Expected {} got {}", NINC + 1, n);
        }
        fail!("expected {} got {}", NINC + 1, n);
    }
    Ok(())
}

/// Go `TestRestartReplay4A`.
async fn restart_replay<R: Rsm>(title: &'static str) -> Result<Stats, TestFailure> {
    let t = RsmTester::<R>::new(title, None);
    incs_then_restart(&t, false).await?;
    runtime::sleep(ELECTION_TIMEOUT).await;
    t.check_counter(NINC + 1, NSRV).await?;
    t.end()
}

/// `NSUBMIT` Nulls through `onePartition`, every server shut down 20 ms later: every one must
/// return within 11 s (a submit waiting inside a killed rsm never does).
async fn nulls_cut_by_shutdown<R: Rsm>(t: &RsmTester<R>) -> Result<(), TestFailure> {
    let (tx, mut rx) = mpsc::unbounded();
    for _ in 0..NSUBMIT {
        let (h, tx) = (t.handle(), tx.clone());
        let _detached = runtime::spawn(async move {
            let _ = h.one_partition(None, CounterRequest::Null).await;
            let _ = tx.unbounded_send(());
        });
    }
    runtime::sleep(Duration::from_millis(20)).await;
    t.shutdown();
    let deadline = runtime::now() + SHUTDOWN_RETURN;
    for done in 0..NSUBMIT {
        let left = deadline.duration_since(runtime::now());
        match runtime::timeout(left, rx.next()).await {
            Ok(Some(())) => {}
            Ok(None) => fail!("a submit's task ended without an answer"),
            Err(_) => fail!(
                "Submit didn't stop after shutdown: {} of {NSUBMIT} submits still wait \
                 {SHUTDOWN_RETURN:?} after every server was shut down (a submit must return \
                 ErrWrongLeader when its rsm is killed)",
                NSUBMIT - done
            ),
        }
    }
    Ok(())
}

/// Go `TestShutdown4A`: takes the 10 s of `onePartition` even when correct, as in the original.
async fn shutdown<R: Rsm>(title: &'static str) -> Result<Stats, TestFailure> {
    let t = RsmTester::<R>::new(title, None);
    nulls_cut_by_shutdown(&t).await?;
    t.end()
}

/// Go `TestRestartSubmit4A`.
async fn restart_submit<R: Rsm>(title: &'static str) -> Result<Stats, TestFailure> {
    let t = RsmTester::<R>::new(title, None);
    incs_then_restart(&t, true).await?;
    runtime::sleep(ELECTION_TIMEOUT).await;
    nulls_cut_by_shutdown(&t).await?;
    t.start_all();
    let n = t.one_inc().await?;
    t.check_counter(n, NSRV).await?;
    t.end()
}

/// How long [`shutdown_waiting`] gives the waiting submits to return after the shutdown.
const SHUTDOWN_WAITING_RETURN: Duration = Duration::from_secs(1);

/// Beyond the original: submits that wait inside an rsm when it is shut down must return.
///
/// The original's shutdown tests mean to check this, but cut their submits short 20 ms in: in
/// `TestShutdown4A` no leader is elected by then (every submit is refused, and the test checks
/// only that `onePartition` gives up after 10 s), and in `TestRestartSubmit4A` a fast leader has
/// applied them all by then (always so in sim mode). Here the leader is cut off from its
/// followers first, so its 100 submits are accepted and wait; then every server is shut down,
/// and each submit must return within a second.
async fn shutdown_waiting<R: Rsm>(title: &'static str) -> Result<Stats, TestFailure> {
    let t = RsmTester::<R>::new(title, None);
    let n = t.one_inc().await?;
    t.check_counter(n, NSRV).await?;
    let l = t.leader();
    let (followers, _) = t.make_partition(l);
    t.partition(&followers, &[l]);
    let (tx, mut rx) = mpsc::unbounded();
    for i in 0..NSUBMIT {
        let (h, tx) = (t.handle(), tx.clone());
        let _detached = runtime::spawn(async move {
            let _ = tx.unbounded_send((i, h.submit_to(l, CounterRequest::Null).await));
        });
    }
    // Long enough for each submit to reach start(), too short for an election among the
    // followers to matter: the old leader's term does not move while it is cut off.
    runtime::sleep(Duration::from_millis(100)).await;
    t.shutdown();
    let deadline = runtime::now() + SHUTDOWN_WAITING_RETURN;
    for done in 0..NSUBMIT {
        let left = deadline.duration_since(runtime::now());
        match runtime::timeout(left, rx.next()).await {
            Ok(Some((i, Ok(reply)))) => {
                fail!("Submit {i} to the leader {l} cut off from its followers completed {reply:?}")
            }
            Ok(Some((_, Err(_)))) => {}
            Ok(None) => fail!("a submit's task ended without an answer"),
            Err(_) => fail!(
                "Submit didn't stop after shutdown: {} of {NSUBMIT} submits accepted by the \
                 leader {l} still wait {SHUTDOWN_WAITING_RETURN:?} after every server was shut \
                 down (a submit must return ErrWrongLeader when its rsm is killed)",
                NSUBMIT - done
            ),
        }
    }
    t.end()
}

/// Go `TestSnapshot4C`: `NINC` Incs with `maxraftstate` 1000; the persisted Raft state must be
/// trimmed to at most twice that; after a restart of every server the count is restored.
async fn snapshot<R: Rsm>(title: &'static str) -> Result<Stats, TestFailure> {
    let t = RsmTester::<R>::new(title, Some(SNAPSHOT_MAX_RAFT_STATE));
    for _ in 0..NINC {
        t.one_inc().await?;
    }
    t.check_counter(NINC, NSRV).await?;
    let size = t.log_size();
    if size > 2 * SNAPSHOT_MAX_RAFT_STATE {
        fail!("logs were not trimmed ({size} > 2 * {SNAPSHOT_MAX_RAFT_STATE})");
    }
    t.shutdown();
    t.start_all();
    t.one_inc().await?;
    t.check_counter(NINC + 1, NSRV).await?;
    t.end()
}
