//! Every claim the README makes about which grader catches which broken peer, measured: each
//! broken peer fails the grader named for it on every seed, and passes the graders the README
//! says it passes (with the safety monitor on, as graders run). The peers are the harness's own
//! (`support/`): the conformance toy with one bug switched on, or the reference behind a
//! wrapper that makes one mistake.

mod support;

use std::ops::RangeInclusive;

use harness::graders::{self, Grader};
use harness::trial::{run_trial, TrialSettings};
use harness::Peer;
use support::conformance_peers::*;
use support::snap_peer::{ForgetsSnapshotBytesOnRestart, ReappliesCoveredCommand, SnapPeer};
use support::snapshot_proxy::AppliesEverySnapshot;

/// The seeds a broken peer must fail its grader on: all of them.
const FAIL_SEEDS: RangeInclusive<u64> = 1..=4;

/// The seeds a broken peer must pass the other graders on.
const PASS_SEEDS: RangeInclusive<u64> = 1..=3;

fn grader(name: &str) -> Grader {
    graders::by_name(name).unwrap_or_else(|| panic!("no grader {name}"))
}

/// `None` for a pass, else the error.
fn outcome<P: Peer>(name: &str, seed: u64) -> Option<String> {
    run_trial::<P>(grader(name), &TrialSettings::sim(seed))
        .outcome
        .err()
        .map(|e| e.to_string())
}

/// `grader` fails `P` on every seed of [`FAIL_SEEDS`]; each failure contains `says`.
fn fails<P: Peer>(name: &str, says: &str) {
    for seed in FAIL_SEEDS {
        match outcome::<P>(name, seed) {
            None => panic!("{name} passed the broken peer on seed {seed}"),
            Some(e) => assert!(e.contains(says), "{name} seed {seed}: {e}"),
        }
    }
}

/// Every grader of `parts` but those in `except` passes `P` on every seed of [`PASS_SEEDS`].
fn passes_all_others<P: Peer>(parts: &[&str], except: &[&str]) {
    let mut failed = Vec::new();
    for g in graders::all() {
        if !parts.contains(&g.part) || except.contains(&g.name) {
            continue;
        }
        for seed in PASS_SEEDS {
            if let Some(e) = outcome::<P>(g.name, seed) {
                failed.push(format!(
                    "{} seed {seed}: {}",
                    g.name,
                    e.lines().next().unwrap_or("")
                ));
            }
        }
    }
    assert!(failed.is_empty(), "failed:\n{}", failed.join("\n"));
}

/// `P` passes each of `names` on every seed of [`PASS_SEEDS`].
fn passes<P: Peer>(names: &[&str]) {
    for name in names {
        for seed in PASS_SEEDS {
            assert_eq!(outcome::<P>(name, seed), None, "{name} seed {seed}");
        }
    }
}

#[test]
fn a_follower_that_truncates_after_every_append() {
    fails::<FigPeer<TruncatesAlways>>("fig2_append_conflict", "If an existing entry conflicts");
}

#[test]
#[ignore = "every grader of a part on a broken peer (minutes in a debug build): .ci/run runs it"]
fn a_follower_that_truncates_after_every_append_passes_the_other_graders() {
    passes_all_others::<FigPeer<TruncatesAlways>>(&["B"], &["fig2_append_conflict"]);
}

#[test]
fn a_follower_that_commits_to_the_end_of_its_log() {
    fails::<FigPeer<CommitsToLogEnd>>("fig2_append_commit", "min(leaderCommit");
}

#[test]
#[ignore = "every grader of a part on a broken peer (minutes in a debug build): .ci/run runs it"]
fn a_follower_that_commits_to_the_end_of_its_log_passes_the_other_graders() {
    passes_all_others::<FigPeer<CommitsToLogEnd>>(&["B"], &["fig2_append_commit"]);
}

#[test]
fn a_leader_that_acts_on_replies_of_an_earlier_term() {
    fails::<FigPeer<ActsOnStaleReplies>>("fig2_stale_reply", "matchIndex[]");
}

#[test]
#[ignore = "every grader of a part on a broken peer (minutes in a debug build): .ci/run runs it"]
fn a_leader_that_acts_on_replies_of_an_earlier_term_passes_the_other_graders() {
    passes_all_others::<FigPeer<ActsOnStaleReplies>>(&["B"], &["fig2_stale_reply"]);
}

#[test]
fn a_leader_that_commits_an_older_term_by_counting_replicas() {
    fails::<FigPeer<CommitsOldTerms>>("fig2_old_term_commit", "Raft never commits");
    // fig2_stale_reply checks Figure 8's rule before the stale replies, and names it.
    fails::<FigPeer<CommitsOldTerms>>("fig2_stale_reply", "Raft never commits");
    passes::<FigPeer<CommitsOldTerms>>(&["figure8", "figure8_unreliable"]);
}

#[test]
fn a_follower_that_saves_its_log_only_when_it_grows() {
    fails::<FigPeer<PersistsOnlyGrowth>>("fig2_log_persisted", "the new log was not");
}

#[test]
#[ignore = "every grader of a part on a broken peer (minutes in a debug build): .ci/run runs it"]
fn a_follower_that_saves_its_log_only_when_it_grows_passes_the_other_graders() {
    passes_all_others::<FigPeer<PersistsOnlyGrowth>>(&["C"], &["fig2_log_persisted"]);
}

#[test]
fn a_peer_that_does_not_save_its_vote() {
    fails::<FigPeer<VoteNotPersisted>>("fig2_vote_persisted", "votedFor was not");
    fails::<FigPeer<VoteNotPersisted>>("fig2_log_persisted", "votedFor was not");
}

#[test]
#[ignore = "every grader of a part on a broken peer (minutes in a debug build): .ci/run runs it"]
fn a_peer_that_does_not_save_its_vote_passes_the_other_graders() {
    passes_all_others::<FigPeer<VoteNotPersisted>>(
        &["C"],
        &["fig2_vote_persisted", "fig2_log_persisted"],
    );
}

#[test]
fn a_peer_that_saves_its_vote_only_with_a_new_term() {
    fails::<FigPeer<VoteSavedOnlyWithTerm>>("fig2_vote_persisted", "a term it had adopted earlier");
}

#[test]
#[ignore = "every grader of a part on a broken peer (minutes in a debug build): .ci/run runs it"]
fn a_peer_that_saves_its_vote_only_with_a_new_term_passes_the_other_graders() {
    passes_all_others::<FigPeer<VoteSavedOnlyWithTerm>>(&["C"], &["fig2_vote_persisted"]);
}

#[test]
fn a_follower_that_hands_the_service_every_snapshot() {
    fails::<AppliesEverySnapshot<raft::Raft>>(
        "fig2_install_snapshot",
        "lastApplied only moves forward",
    );
}

#[test]
#[ignore = "every grader of a part on a broken peer (minutes in a debug build): .ci/run runs it"]
fn a_follower_that_hands_the_service_every_snapshot_passes_the_other_graders() {
    passes_all_others::<AppliesEverySnapshot<raft::Raft>>(&["D"], &["fig2_install_snapshot"]);
}

type ForgetsBytes = SnapPeer<raft::Raft, ForgetsSnapshotBytesOnRestart>;

#[test]
fn a_restarted_leader_without_its_snapshots_bytes() {
    fails::<ForgetsBytes>("fig2_send_snapshot", "carried 0 bytes");
    fails::<ForgetsBytes>("fig2_send_snapshot", "(Snapshot Contents)");
}

#[test]
#[ignore = "every grader of a part on a broken peer (minutes in a debug build): .ci/run runs it"]
fn a_restarted_leader_without_its_snapshots_bytes_passes_the_other_graders() {
    passes_all_others::<ForgetsBytes>(&["D"], &["fig2_send_snapshot"]);
}

#[test]
fn a_log_that_is_never_saved_fails_persist1_too() {
    fails::<FigPeer<ForgetsLog>>("fig2_log_persisted", "log[] was not");
    fails::<FigPeer<ForgetsLog>>("persist1", "");
}

#[test]
fn a_leader_that_backs_up_one_entry_per_heartbeat_fails_backup_too() {
    fails::<FigPeer<BacksUpSlowly>>("fig2_fast_backup", "AppendEntries refused");
    fails::<FigPeer<BacksUpSlowly>>("backup", "backs up too slowly");
}

#[test]
fn a_leader_that_backs_up_one_entry_per_refusal_at_once_passes_backup() {
    fails::<FigPeer<BacksUpOneEntryAtOnce>>("fig2_fast_backup", "AppendEntries refused");
    passes::<FigPeer<BacksUpOneEntryAtOnce>>(&["backup"]);
}

#[test]
fn a_covered_command_applied_after_its_snapshot_fails_snapshot_install_too() {
    type Reapplies = SnapPeer<raft::Raft, ReappliesCoveredCommand>;
    fails::<Reapplies>("fig2_install_snapshot", "no command it covers");
    fails::<Reapplies>("snapshot_install", "");
}

/// The tester's deliberate difference from the original (README, the safety monitor): a
/// restarted peer applies its log again; one that goes on after what it applied before its
/// crash fails a grader that restarts a peer, told why (by the monitor, and by the tester's
/// applier with the monitor off).
#[test]
fn a_restarted_peer_that_goes_on_after_what_it_applied() {
    fails::<FigPeer<ResumesAfterRestart>>("persist1", "lastApplied is volatile");
    let g = grader("persist1");
    for seed in FAIL_SEEDS {
        let off = run_trial::<FigPeer<ResumesAfterRestart>>(
            g,
            &TrialSettings::sim(seed).without_monitor(),
        );
        let e = off
            .outcome
            .expect_err("the tester catches it too")
            .to_string();
        assert!(
            e.contains("apply out of order") && e.contains("it was restarted"),
            "{e}"
        );
    }
}

#[test]
#[ignore = "every grader of a part on a broken peer (minutes in a debug build): .ci/run runs it"]
fn a_restarted_peer_that_goes_on_after_what_it_applied_passes_parts_a_and_b() {
    passes_all_others::<FigPeer<ResumesAfterRestart>>(&["A", "B"], &[]);
}

/// The README's replay example: a follower whose consistency check looks only at its log's
/// length fails `rejoin` and `backup` on every seed.
#[test]
fn a_follower_that_checks_only_its_logs_length() {
    fails::<FigPeer<LengthOnlyConsistency>>("rejoin", "");
    fails::<FigPeer<LengthOnlyConsistency>>("backup", "");
}
