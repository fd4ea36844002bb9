//! Each part is graded on its own: a peer that implements exactly parts A..=X passes every
//! grader of part X (and of the parts before it), and no conformance grader of part X passes a
//! peer that stops before part X. The peers are the reference with its later parts switched off
//! (`support/parts.rs`) and the conformance toy that does part A only.

mod support;

use std::ops::RangeInclusive;

use harness::graders::{self, Grader};
use harness::trial::{run_trial, TrialSettings};
use harness::Peer;
use support::conformance_peers::{ElectionOnly, FigPeer};
use support::parts::{Amnesiac, Skeleton, WithoutSnapshots};

/// Seeds for the cluster graders (the long ones of parts B and C cost most of this file's time).
const SEEDS: RangeInclusive<u64> = 1..=2;

/// Seeds for the conformance graders: their scenarios are the same on every seed but for ids,
/// terms and lengths, so every seed must give the same verdict.
const CONFORMANCE_SEEDS: RangeInclusive<u64> = 1..=4;

/// Runs `grader` with peer `P` on `seed` (safety monitor on): `None` for a pass, else the error.
fn outcome<P: Peer>(grader: Grader, seed: u64) -> Option<String> {
    run_trial::<P>(grader, &TrialSettings::sim(seed))
        .outcome
        .err()
        .map(|e| e.to_string())
}

fn seeds_of(g: &Grader) -> RangeInclusive<u64> {
    if g.is_conformance() {
        CONFORMANCE_SEEDS
    } else {
        SEEDS
    }
}

/// The graders of `parts`, in the lab's order.
fn graders_of(parts: &[&str]) -> Vec<Grader> {
    graders::all()
        .iter()
        .filter(|g| parts.contains(&g.part))
        .copied()
        .collect()
}

/// Every grader of `parts` passes peer `P` on its seeds; `what` names the peer.
fn assert_passes_every_grader_of<P: Peer>(parts: &[&str], what: &str) {
    let mut failures = Vec::new();
    for g in graders_of(parts) {
        for seed in seeds_of(&g) {
            if let Some(e) = outcome::<P>(g, seed) {
                let first = e.lines().next().unwrap_or("").to_string();
                failures.push(format!("{} (part {}) seed {seed}: {first}", g.name, g.part));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{what} implements parts {parts:?} but failed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn a_part_a_peer_passes_every_part_a_grader() {
    assert_passes_every_grader_of::<FigPeer<ElectionOnly>>(&["A"], "a peer of part A only");
}

#[test]
fn the_reference_without_persistence_passes_every_grader_of_parts_a_and_b() {
    assert_passes_every_grader_of::<Amnesiac<raft::Raft>>(
        &["A", "B"],
        "the reference with a persister that saves nothing",
    );
}

#[test]
fn the_reference_without_snapshots_passes_every_grader_of_parts_a_to_c() {
    assert_passes_every_grader_of::<WithoutSnapshots<raft::Raft>>(
        &["A", "B", "C"],
        "the reference without snapshots",
    );
}

/// Asserts that conformance grader `g` fails peer `P`, which stops before `g`'s part, on every
/// seed.
fn assert_fails_every_seed<P: Peer>(g: Grader, what: &str) {
    for seed in CONFORMANCE_SEEDS {
        assert!(
            outcome::<P>(g, seed).is_some(),
            "{} (part {}) passed {what} on seed {seed}: it does not check what its part adds",
            g.name,
            g.part
        );
    }
}

#[test]
fn no_conformance_grader_passes_a_peer_of_the_earlier_parts_only() {
    let conformance: Vec<Grader> = graders::all()
        .iter()
        .filter(|g| g.is_conformance())
        .copied()
        .collect();
    assert!(!conformance.is_empty());
    for g in conformance {
        match g.part {
            "A" => assert_fails_every_seed::<Skeleton>(g, "the handout's empty skeleton"),
            "B" => assert_fails_every_seed::<FigPeer<ElectionOnly>>(g, "a peer of part A only"),
            "C" => assert_fails_every_seed::<Amnesiac<raft::Raft>>(
                g,
                "the reference with a persister that saves nothing (parts A and B)",
            ),
            "D" => assert_fails_every_seed::<WithoutSnapshots<raft::Raft>>(
                g,
                "the reference without snapshots (parts A to C)",
            ),
            other => panic!(
                "{} is of part {other}: give this test a peer that stops before it",
                g.name
            ),
        }
    }
}
