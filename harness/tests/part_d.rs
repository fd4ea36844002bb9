//! The part-D graders (snapshots) against the `raft` crate.
//!
//! Each test runs its grader over several seeds in sim mode (`LAB_SEEDS`, `LAB_SEED_START`),
//! one seed with `LAB_SEED=N`, or in real time with `LAB_RUNTIME=real`. A failure prints the
//! command that replays it.

use harness::testing::grade;

const BINARY: &str = "part_d";

#[test]
fn snapshot_basic() {
    grade::<raft::Raft>(BINARY, "snapshot_basic");
}

#[test]
fn snapshot_install() {
    grade::<raft::Raft>(BINARY, "snapshot_install");
}

#[test]
fn snapshot_install_unreliable() {
    grade::<raft::Raft>(BINARY, "snapshot_install_unreliable");
}

#[test]
fn snapshot_install_crash() {
    grade::<raft::Raft>(BINARY, "snapshot_install_crash");
}

#[test]
fn snapshot_install_uncrash() {
    grade::<raft::Raft>(BINARY, "snapshot_install_uncrash");
}

#[test]
fn snapshot_all_crash() {
    grade::<raft::Raft>(BINARY, "snapshot_all_crash");
}

#[test]
fn snapshot_init() {
    grade::<raft::Raft>(BINARY, "snapshot_init");
}
