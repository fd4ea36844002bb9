//! The part-B and part-C graders must fail the mistakes they exist to catch. Each test runs a
//! grader against the log toy peer with one defect switched on and checks the failure and its
//! message; a control test shows the same peer without defects passes every B and C grader.
//! The safety monitor is off here: these tests measure the graders alone (the monitor catches
//! several of these defects first; see `monitor.rs`).

mod support;

use harness::graders;
use harness::trial::{run_trial, TrialError, TrialSettings};
use harness::Peer;
use labrpc::runtime::{RunError, DEADLOCK_AFTER};
use support::log_peer::{
    AppliesOutOfOrder, AppliesUnderLock, BacksUpSlowly, CommitsOldTerms, ForgetsLog, LogPeer, Sound,
};
use support::{ChattyHeartbeats, Correct, ToyPeer};

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
fn log_toy_without_defects_passes_every_part_b_and_c_grader() {
    let mut graders = graders::select("B").expect("part B exists");
    graders.extend(graders::select("C").expect("part C exists"));
    // The conformance graders speak the raft crate's message types, not the toy's.
    for g in graders.into_iter().filter(|g| !g.is_conformance()) {
        for seed in 1..3 {
            assert_eq!(
                outcome::<LogPeer<Sound>>(g.name, seed),
                None,
                "{} failed the correct log toy on seed {seed}",
                g.name
            );
        }
    }
}

#[test]
fn basic_agree_rejects_a_peer_without_a_log() {
    // The part-A toy elects leaders but accepts no command.
    assert_fails_with::<ToyPeer<Correct>>(
        "basic_agree",
        1..3,
        "one(100) failed to reach agreement",
    );
}

#[test]
fn count_rejects_heartbeats_far_too_often() {
    assert_fails_with::<ToyPeer<ChattyHeartbeats>>("count", 1..3, "to elect initial leader");
}

#[test]
fn persistence_graders_reject_a_peer_that_forgets_its_log() {
    // After every peer restarts with an empty log, the next command lands at index 1, where
    // the first one was committed before.
    assert_fails_with::<LogPeer<ForgetsLog>>("persist1", 1..4, "apply error: commit index=1");
}

#[test]
fn concurrent_starts_rejects_applies_out_of_order() {
    assert_fails_with::<LogPeer<AppliesOutOfOrder>>(
        "concurrent_starts",
        1..4,
        "apply out of order",
    );
}

#[test]
fn backup_rejects_a_leader_that_backs_up_one_entry_per_heartbeat() {
    assert_fails_with::<LogPeer<BacksUpSlowly>>("backup", 1..4, "backs up too slowly");
}

#[test]
fn old_term_commit_rejects_committing_an_earlier_term_by_counting_replicas() {
    assert_fails_with::<LogPeer<CommitsOldTerms>>(
        "old_term_commit",
        1..4,
        "a leader may count replicas only for entries of its current term",
    );
}

#[test]
fn a_peer_that_blocks_its_thread_on_an_apply_send_is_named_at_the_deadlock_window() {
    // The blocked send (block_on under the lock) holds the only sim thread, so the tester's
    // applier can never take the message. The runtime sees the peer's poll blocked in its own
    // send on the apply channel, and the trial says so after the deadlock window, not the 10 s
    // outer bound.
    let g = graders::by_name("basic_agree").expect("a known grader");
    let report = run_trial::<LogPeer<AppliesUnderLock>>(g, &TrialSettings::sim(1));
    let err = report.outcome.expect_err("the peer deadlocks");
    let TrialError::ApplyBlocked { peer, error } = &err else {
        panic!("expected the blocked apply send, got {err:?}");
    };
    assert!(matches!(error, RunError::Stuck { wall, .. } if *wall == DEADLOCK_AFTER));
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "S{peer} blocks its thread while it sends on the apply channel \
             (futures::executor::block_on(apply_tx.send(..))"
        )),
        "unexpected message: {msg}"
    );
    assert!(msg.contains("(blocking its thread)"), "{msg}");
}
