//! The conformance graders: Figure 2 of the Raft paper, rule by rule. In each, the tester plays
//! every peer but one of yours, and a failure names the rule your peer broke. They go beyond
//! the original lab's tests, and are quick: a good first check after a change.
//!
//! Each test runs its grader over several seeds in sim mode (`LAB_SEEDS`, `LAB_SEED_START`),
//! one seed with `LAB_SEED=N`, or in real time with `LAB_RUNTIME=real`. A failure prints the
//! command that replays it.

use harness::testing::grade;

const BINARY: &str = "conformance";
// @part A

#[test]
fn fig2_older_term() {
    grade::<raft::Raft>(BINARY, "fig2_older_term");
}

#[test]
fn fig2_vote_once_per_term() {
    grade::<raft::Raft>(BINARY, "fig2_vote_once_per_term");
}

#[test]
fn fig2_vote_persisted() {
    grade::<raft::Raft>(BINARY, "fig2_vote_persisted");
}

#[test]
fn fig2_term_from_request() {
    grade::<raft::Raft>(BINARY, "fig2_term_from_request");
}

#[test]
fn fig2_term_from_reply() {
    grade::<raft::Raft>(BINARY, "fig2_term_from_reply");
}

#[test]
fn fig2_timer_heartbeats() {
    grade::<raft::Raft>(BINARY, "fig2_timer_heartbeats");
}

#[test]
fn fig2_timer_expiry() {
    grade::<raft::Raft>(BINARY, "fig2_timer_expiry");
}

#[test]
fn fig2_timer_votes() {
    grade::<raft::Raft>(BINARY, "fig2_timer_votes");
}
// @end
// @part B

#[test]
fn fig2_vote_up_to_date() {
    grade::<raft::Raft>(BINARY, "fig2_vote_up_to_date");
}

#[test]
fn fig2_append_conflict() {
    grade::<raft::Raft>(BINARY, "fig2_append_conflict");
}

#[test]
fn fig2_append_commit() {
    grade::<raft::Raft>(BINARY, "fig2_append_commit");
}

#[test]
fn fig2_old_term_commit() {
    grade::<raft::Raft>(BINARY, "fig2_old_term_commit");
}

#[test]
fn fig2_stale_reply() {
    grade::<raft::Raft>(BINARY, "fig2_stale_reply");
}

#[test]
fn fig2_fast_backup() {
    grade::<raft::Raft>(BINARY, "fig2_fast_backup");
}
// @end
// @part C

#[test]
fn fig2_log_persisted() {
    grade::<raft::Raft>(BINARY, "fig2_log_persisted");
}
// @end
// @part D

#[test]
fn fig2_install_snapshot() {
    grade::<raft::Raft>(BINARY, "fig2_install_snapshot");
}
// @end
