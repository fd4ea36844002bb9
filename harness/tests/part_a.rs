//! The part-A graders (leader election and heartbeats) against the `raft` crate.
//!
//! Each test runs its grader over several seeds in sim mode (`LAB_SEEDS`, `LAB_SEED_START`),
//! one seed with `LAB_SEED=N`, or in real time with `LAB_RUNTIME=real`. A failure prints the
//! command that replays it.

use harness::testing::grade;
use harness::trial::{run_trial, TrialSettings};

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

#[test]
fn heartbeat_stability_reports_a_stats_line_per_cluster() {
    let grader = harness::graders::by_name("heartbeat_stability").expect("a grader");
    let passed = run_trial::<raft::Raft>(grader, &TrialSettings::sim(1))
        .outcome
        .expect("the reference peer passes");
    let peers: Vec<usize> = passed.clusters.iter().map(|s| s.peers).collect();
    assert_eq!(peers, [3, 5], "one figure per cluster, in order");
    let shown = passed.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 2, "{shown}");
    for (line, n) in lines.iter().zip([3, 5]) {
        assert!(
            line.starts_with("  ... Passed --  time ") && line.contains(&format!("#peers {n} ")),
            "{shown}"
        );
    }
}
