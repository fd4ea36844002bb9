//! The part-A graders (leader election and heartbeats) against the `raft` crate.
//!
//! Each test runs its grader over several seeds in sim mode (`LAB_SEEDS`, `LAB_SEED_START`),
//! one seed with `LAB_SEED=N`, or in real time with `LAB_RUNTIME=real`. A failure prints the
//! command that replays it.

use harness::testing::grade;

const BINARY: &str = "part_a";

#[test]
fn initial_election() {
    grade::<raft::Raft>(BINARY, "initial_election");
}

#[test]
fn re_election() {
    grade::<raft::Raft>(BINARY, "re_election");
}

#[test]
fn many_elections() {
    grade::<raft::Raft>(BINARY, "many_elections");
}

#[test]
fn heartbeat_stability() {
    grade::<raft::Raft>(BINARY, "heartbeat_stability");
}
