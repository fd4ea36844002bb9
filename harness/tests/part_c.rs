//! The part-C graders (persistence) against the `raft` crate.
//!
//! Each test runs its grader over several seeds in sim mode (`LAB_SEEDS`, `LAB_SEED_START`),
//! one seed with `LAB_SEED=N`, or in real time with `LAB_RUNTIME=real`. A failure prints the
//! command that replays it.
//!
//! The longest graders run fewer seeds by default, to keep `cargo test` quick (about 1.6 s of
//! CPU per seed of `reliable_churn` in a debug build); `LAB_SEEDS` overrides every count, and
//! `harness run C --runs 1000` is the many-seed check.

use harness::testing::{grade, grade_seeds};

const BINARY: &str = "part_c";

#[test]
fn persist1() {
    grade::<raft::Raft>(BINARY, "persist1");
}

#[test]
fn persist2() {
    grade::<raft::Raft>(BINARY, "persist2");
}

#[test]
fn persist3() {
    grade::<raft::Raft>(BINARY, "persist3");
}

#[test]
fn figure8() {
    grade::<raft::Raft>(BINARY, "figure8");
}

#[test]
fn unreliable_agree() {
    grade::<raft::Raft>(BINARY, "unreliable_agree");
}

#[test]
fn figure8_unreliable() {
    grade_seeds::<raft::Raft>(BINARY, "figure8_unreliable", 4);
}

#[test]
fn reliable_churn() {
    grade_seeds::<raft::Raft>(BINARY, "reliable_churn", 2);
}

#[test]
fn unreliable_churn() {
    grade_seeds::<raft::Raft>(BINARY, "unreliable_churn", 4);
}
