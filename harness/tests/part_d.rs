//! The part-D graders (snapshots) against the `raft` crate.
//!
//! Each test runs its grader over 3 seeds in sim mode (more with `LAB_SEEDS`, from
//! `LAB_SEED_START`; the CLI's `run D --runs 1000` is where many seeds are run),
//! one seed with `LAB_SEED=N`, or in real time with `LAB_RUNTIME=real`. A failure prints the
//! command that replays it.

use harness::testing::grade_seeds;

/// Seeds per grader in sim mode: each part-D trial is long (30 rounds of crashes or
/// disconnections), and `cargo test --workspace` must stay quick.
const SEEDS: u64 = 3;

const BINARY: &str = "part_d";

#[test]
fn snapshot_basic() {
    grade_seeds::<raft::Raft>(BINARY, "snapshot_basic", SEEDS);
}

#[test]
fn snapshot_install() {
    grade_seeds::<raft::Raft>(BINARY, "snapshot_install", SEEDS);
}

#[test]
fn snapshot_install_unreliable() {
    grade_seeds::<raft::Raft>(BINARY, "snapshot_install_unreliable", SEEDS);
}

#[test]
fn snapshot_install_crash() {
    grade_seeds::<raft::Raft>(BINARY, "snapshot_install_crash", SEEDS);
}

#[test]
fn snapshot_install_uncrash() {
    grade_seeds::<raft::Raft>(BINARY, "snapshot_install_uncrash", SEEDS);
}

#[test]
fn snapshot_all_crash() {
    grade_seeds::<raft::Raft>(BINARY, "snapshot_all_crash", SEEDS);
}

#[test]
fn snapshot_init() {
    grade_seeds::<raft::Raft>(BINARY, "snapshot_init", SEEDS);
}
