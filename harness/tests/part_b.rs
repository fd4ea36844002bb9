//! The part-B graders (log replication) against the `raft` crate.
//!
//! Each test runs its grader over several seeds in sim mode (`LAB_SEEDS`, `LAB_SEED_START`),
//! one seed with `LAB_SEED=N`, or in real time with `LAB_RUNTIME=real`. A failure prints the
//! command that replays it.

use harness::testing::grade;

const BINARY: &str = "part_b";

#[test]
fn basic_agree() {
    grade::<raft::Raft>(BINARY, "basic_agree");
}

#[test]
fn rpc_bytes() {
    grade::<raft::Raft>(BINARY, "rpc_bytes");
}

#[test]
fn follower_failure() {
    grade::<raft::Raft>(BINARY, "follower_failure");
}

#[test]
fn leader_failure() {
    grade::<raft::Raft>(BINARY, "leader_failure");
}

#[test]
fn fail_agree() {
    grade::<raft::Raft>(BINARY, "fail_agree");
}

#[test]
fn fail_no_agree() {
    grade::<raft::Raft>(BINARY, "fail_no_agree");
}

#[test]
fn concurrent_starts() {
    grade::<raft::Raft>(BINARY, "concurrent_starts");
}

#[test]
fn rejoin() {
    grade::<raft::Raft>(BINARY, "rejoin");
}

#[test]
fn backup() {
    grade::<raft::Raft>(BINARY, "backup");
}

#[test]
fn count() {
    grade::<raft::Raft>(BINARY, "count");
}

#[test]
fn old_term_commit() {
    grade::<raft::Raft>(BINARY, "old_term_commit");
}
