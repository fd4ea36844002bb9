//! The part-D graders must fail the mistakes they exist to catch. Each test runs a grader
//! against a peer with one part-D defect (the wrapper of `support/snap_peer.rs` around the
//! `raft` crate, or the log toy, which never trims) and checks the failure and its message; a
//! control test shows the wrapper without a defect passes.

mod support;

use std::time::Duration;

use harness::graders;
use harness::trial::{run_trial, TrialError, TrialSettings};
use harness::Peer;
use labrpc::runtime::{Executor, RunError, DEADLOCK_AFTER};
use support::log_peer::{self, AppliesBehindFlag, LogPeer, Sound};
use support::snap_peer::{
    AppliesUnderLock, Faithful, ForgetsSnapshotOnRestart, ReappliesCoveredCommand, RepeatsSnapshot,
    SnapPeer,
};

/// Runs `grader` on `seed` and returns its error text (`None` for a pass).
fn outcome<P: Peer>(grader: &str, seed: u64) -> Option<String> {
    let g = graders::by_name(grader).expect("a known grader");
    run_trial::<P>(g, &TrialSettings::sim(seed).without_monitor())
        .outcome
        .err()
        .map(|e| e.to_string())
}

fn assert_fails_with<P: Peer>(grader: &str, seeds: std::ops::Range<u64>, needle: &str) {
    for seed in seeds {
        match outcome::<P>(grader, seed) {
            None => panic!("{grader} passed a broken peer on seed {seed}"),
            Some(msg) => assert!(
                msg.contains(needle),
                "{grader} failed seed {seed} for another reason: {msg}"
            ),
        }
    }
}

#[test]
fn the_wrapper_without_a_defect_passes() {
    for grader in ["snapshot_install", "snapshot_init"] {
        assert_eq!(
            outcome::<SnapPeer<raft::Raft, Faithful>>(grader, 1),
            None,
            "{grader} failed the faithful wrapper"
        );
    }
}

#[test]
fn a_peer_that_sends_on_the_apply_channel_under_its_lock_deadlocks_with_snapshot() {
    // The service's snapshot call blocks the only sim thread on the lock that the peer holds
    // while its send waits for the service: the watchdog sees the tester's applier stuck in
    // snapshot(). A short watchdog keeps this test quick.
    let g = graders::by_name("snapshot_basic").expect("a known grader");
    let settings = TrialSettings {
        stuck_after: Duration::from_millis(500),
        ..TrialSettings::sim(1)
    };
    let report = run_trial::<SnapPeer<raft::Raft, AppliesUnderLock>>(g, &settings);
    match &report.outcome {
        Err(e @ TrialError::SnapshotDeadlock { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("never returned from snapshot()")
                    && msg.contains(
                        "a peer that holds its lock while it sends on the apply channel \
                         deadlocks with the service's snapshot call"
                    ),
                "unexpected message: {msg}"
            );
            assert!(msg.starts_with('S'), "names the peer: {msg}");
        }
        other => panic!("expected the snapshot deadlock, got {other:?}"),
    }
}

#[test]
fn install_graders_reject_a_command_applied_after_a_snapshot_that_covers_it() {
    assert_fails_with::<SnapPeer<raft::Raft, ReappliesCoveredCommand>>(
        "snapshot_install",
        1..3,
        "apply out of order, expected index",
    );
}

#[test]
fn snapshot_init_rejects_a_peer_that_forgets_its_snapshot_after_a_restart() {
    // The second restart finds a trimmed log and no snapshot: the service starts from nothing
    // and the peer's first command is the one after the lost snapshot.
    assert_fails_with::<SnapPeer<raft::Raft, ForgetsSnapshotOnRestart>>(
        "snapshot_init",
        1..3,
        "apply out of order, expected index 1, got",
    );
}

#[test]
fn snapshot_basic_rejects_a_peer_that_never_trims_its_log() {
    assert_fails_with::<LogPeer<Sound>>("snapshot_basic", 1..3, "Log size too large");
}

// ---------------------------------------------------------------------------------------------
// The part-D deadlock as students write it: named, in both executors, at the deadlock window

/// Runs `snapshot_basic` once on `executor` with a peer that makes the part-D deadlock, and
/// returns the failure. Real mode gets enough workers that the tester's applier still finds
/// one while the peer's tasks hold theirs.
fn deadlock<P: Peer>(executor: Executor) -> TrialError {
    let g = graders::by_name("snapshot_basic").expect("a known grader");
    let settings = TrialSettings {
        workers: Some(8),
        ..TrialSettings::new(executor, 1)
    };
    match run_trial::<P>(g, &settings).outcome {
        Ok(passed) => panic!("{executor}: snapshot_basic passed a deadlocking peer: {passed:?}"),
        Err(e) => e,
    }
}

/// Checks that `err` is the dedicated snapshot deadlock, found at the deadlock window (2 s),
/// not the 10 s outer bound.
fn assert_snapshot_deadlock(err: &TrialError, executor: Executor) {
    let TrialError::SnapshotDeadlock { peer, error } = err else {
        panic!("{executor}: expected the snapshot deadlock, got {err}");
    };
    let RunError::Stuck { wall, .. } = error else {
        panic!("{executor}: expected a stuck run, got {error}");
    };
    assert_eq!(*wall, DEADLOCK_AFTER, "{executor}: {err}");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "S{peer} never returned from snapshot() while its own send on the apply channel \
             waited for the service: a peer that holds its lock while it sends on the apply \
             channel deadlocks with the service's snapshot call"
        )),
        "{executor}: {msg}"
    );
    assert!(
        msg.contains(&format!("inside its call to S{peer}'s snapshot()")),
        "{executor}: names the call: {msg}"
    );
}

#[test]
fn a_lock_held_across_block_on_of_the_send_deadlocks_with_snapshot_in_real_mode() {
    // A parking_lot lock taken in a sync fn that calls futures::executor::block_on(send) while
    // it holds it, and snapshot() taking the same lock.
    let err = deadlock::<LogPeer<log_peer::AppliesUnderLock>>(Executor::Real);
    assert_snapshot_deadlock(&err, Executor::Real);
}

#[test]
fn a_lock_held_across_block_on_of_the_send_blocks_the_sim_thread_at_the_first_send() {
    // In sim mode the same peer never gets to snapshot(): its block_on holds the only thread,
    // so the service never takes the first message. Named as that.
    let err = deadlock::<LogPeer<log_peer::AppliesUnderLock>>(Executor::Sim);
    let TrialError::ApplyBlocked { error, .. } = &err else {
        panic!("expected the blocked apply send, got {err}");
    };
    assert!(
        matches!(error, RunError::Stuck { wall, .. } if *wall == DEADLOCK_AFTER),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("futures::executor::block_on(apply_tx.send(..)) inside a task"),
        "{err}"
    );
}

#[test]
fn a_hand_made_lock_held_across_the_send_deadlocks_with_snapshot_in_both_executors() {
    // A busy flag under the lock, set across the awaited sends, and snapshot() waiting on a
    // condition variable until it clears: the lock held across the send, in a form that
    // compiles.
    for executor in [Executor::Sim, Executor::Real] {
        let err = deadlock::<LogPeer<AppliesBehindFlag>>(executor);
        assert_snapshot_deadlock(&err, executor);
    }
}

#[test]
fn an_async_lock_held_across_the_send_deadlocks_with_snapshot_in_real_mode() {
    // The wrapper's form (an async mutex across the send, snapshot() blocking on it), in real
    // time, found at the deadlock window too.
    let err = deadlock::<SnapPeer<raft::Raft, AppliesUnderLock>>(Executor::Real);
    assert_snapshot_deadlock(&err, Executor::Real);
}

#[test]
fn an_applier_that_hands_the_same_snapshot_over_again_is_a_busy_loop_not_a_blocked_thread() {
    // Every send completes at once, so the peer keeps running while virtual time stands still:
    // the message says so, not that a task blocks its thread.
    let g = graders::by_name("snapshot_install").expect("a known grader");
    let report = run_trial::<SnapPeer<raft::Raft, RepeatsSnapshot>>(g, &TrialSettings::sim(1));
    let err = report.outcome.expect_err("the peer never lets time move");
    let msg = err.to_string();
    // The runtime's part: quick polls without time, not a blocked thread.
    let busy = match &err {
        TrialError::ApplyLoop { peer, error } => {
            assert!(
                msg.starts_with(&format!(
                    "S{peer} keeps handing its service messages while virtual time stands still"
                )),
                "{msg}"
            );
            error
        }
        TrialError::Runtime(error) => error,
        other => panic!("expected a busy loop, got {other}"),
    };
    assert!(matches!(busy, RunError::BusyLoop { .. }), "{busy}");
    assert!(
        msg.contains("keeps running without ever waiting")
            && msg.contains("the same message handed over again and again")
            && !msg.contains("blocks its thread"),
        "{msg}"
    );
}
