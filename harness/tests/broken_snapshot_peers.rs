//! The part-D graders must fail the mistakes they exist to catch. Each test runs a grader
//! against a peer with one part-D defect (the wrapper of `support/snap_peer.rs` around the
//! `raft` crate, or the log toy, which never trims) and checks the failure and its message; a
//! control test shows the wrapper without a defect passes.

mod support;

use std::time::Duration;

use harness::graders;
use harness::trial::{run_trial, TrialError, TrialSettings};
use harness::Peer;
use support::log_peer::{LogPeer, Sound};
use support::snap_peer::{
    AppliesUnderLock, Faithful, ForgetsSnapshotOnRestart, ReappliesCoveredCommand, SnapPeer,
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
