//! The graders must fail the mistakes they exist to catch. Each test runs a grader against a
//! deliberately broken peer and checks the failure and its message; a control test shows the
//! same peer without defects passes. The safety monitor is off here: these tests measure the
//! graders alone (the monitor's own broken peers are in `monitor.rs`).

mod support;

use harness::graders;
use harness::trial::{run_trial, TrialError, TrialSettings};
use harness::Peer;
use support::{
    ChattyHeartbeats, Correct, DoubleVote, LoneLeader, NeverStepDown, NoTimerReset, SpinningTicker,
    ToyPeer,
};

const SEEDS: std::ops::Range<u64> = 1..4;

/// Runs `grader` over [`SEEDS`] and returns each seed's error text (`None` for a pass).
fn outcomes<P: Peer>(grader: &str) -> Vec<Option<String>> {
    let g = graders::by_name(grader).expect("a known grader");
    SEEDS
        .map(
            |seed| match run_trial::<P>(g, &TrialSettings::sim(seed).without_monitor()).outcome {
                Ok(_) => None,
                Err(e) => Some(e.to_string()),
            },
        )
        .collect()
}

fn assert_all_fail_with<P: Peer>(grader: &str, needle: &str) {
    for (seed, outcome) in SEEDS.zip(outcomes::<P>(grader)) {
        match outcome {
            None => panic!("{grader} passed a broken peer on seed {seed}"),
            Some(msg) => assert!(
                msg.contains(needle),
                "{grader} failed seed {seed} for another reason: {msg}"
            ),
        }
    }
}

#[test]
fn toy_peer_without_defects_passes_every_part_a_grader() {
    // The conformance graders speak the raft crate's messages, which this toy peer does not;
    // tests/conformance.rs runs them against a toy peer that does.
    for g in graders::select("A").expect("part A exists") {
        if g.is_conformance() {
            continue;
        }
        for (seed, outcome) in SEEDS.zip(outcomes::<ToyPeer<Correct>>(g.name)) {
            assert_eq!(
                outcome, None,
                "{} failed the correct toy peer on seed {seed}",
                g.name
            );
        }
    }
}

#[test]
fn heartbeat_stability_rejects_a_follower_that_ignores_heartbeats() {
    assert_all_fail_with::<ToyPeer<NoTimerReset>>("heartbeat_stability", "term changed");
}

#[test]
fn heartbeat_stability_rejects_heartbeats_far_too_often() {
    assert_all_fail_with::<ToyPeer<ChattyHeartbeats>>("heartbeat_stability", "per second");
}

#[test]
fn many_elections_rejects_two_votes_in_one_term() {
    // Two votes in one term elect two leaders only when candidates collide in a term, which the
    // toy peer's narrow timeouts make likely but not certain: most seeds must fail, and every
    // failure must name the two leaders.
    let g = graders::by_name("many_elections").expect("a known grader");
    let mut failed = 0;
    for seed in 1..=20 {
        if let Err(e) =
            run_trial::<ToyPeer<DoubleVote>>(g, &TrialSettings::sim(seed).without_monitor()).outcome
        {
            let msg = e.to_string();
            assert!(
                msg.contains("(>1) leaders"),
                "seed {seed} failed for another reason: {msg}"
            );
            failed += 1;
        }
    }
    eprintln!("double votes caught on {failed} of 20 seeds");
    assert!(
        failed >= 10,
        "double votes were caught on only {failed} of 20 seeds"
    );
}

#[test]
fn re_election_rejects_a_leader_that_never_steps_down() {
    assert_all_fail_with::<ToyPeer<NeverStepDown>>("re_election", "stale leader");
}

#[test]
fn a_failing_seed_replays_with_the_same_error() {
    let g = graders::by_name("re_election").expect("a known grader");
    let first = run_trial::<ToyPeer<NeverStepDown>>(g, &TrialSettings::sim(7).without_monitor());
    let again = run_trial::<ToyPeer<NeverStepDown>>(
        g,
        &TrialSettings::sim(7).without_monitor().with_log("debug"),
    );
    let (Err(TrialError::Check(a)), Err(TrialError::Check(b))) = (&first.outcome, &again.outcome)
    else {
        panic!(
            "expected check failures, got {:?} and {:?}",
            first.outcome, again.outcome
        );
    };
    assert_eq!(a, b, "the replay must fail the same way at the same time");
    let log = again.log.expect("the replay captured a log");
    assert!(log.contains("TEST"), "the log has the tester's events");
}

#[test]
fn re_election_rejects_a_lone_peer_that_leads_without_a_majority() {
    // Cut off alone, the peer hears no vote reply and declares itself leader anyway: the
    // original's check_no_leader catches it, in its words.
    assert_all_fail_with::<ToyPeer<LoneLeader>>(
        "re_election",
        "expected no leader among connected servers, but",
    );
}

#[test]
fn initial_election_passes_a_moving_term_with_the_originals_warning() {
    // Followers that ignore heartbeats keep starting elections, so the term moves during the
    // quiet two seconds; the original passes the test with a warning, shown with the stats.
    let g = graders::by_name("initial_election").expect("a known grader");
    for seed in SEEDS {
        let passed =
            run_trial::<ToyPeer<NoTimerReset>>(g, &TrialSettings::sim(seed).without_monitor())
                .outcome
                .unwrap_or_else(|e| panic!("seed {seed} should pass with a warning: {e}"));
        assert_eq!(
            passed.warnings,
            ["warning: term changed even though there were no failures"],
            "seed {seed}"
        );
        let shown = passed.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 2, "{shown}");
        assert_eq!(lines[0], passed.warnings[0]);
        assert!(lines[1].starts_with("  ... Passed --  time "), "{shown}");
    }
    // A correct peer keeps its term: no warning.
    for seed in SEEDS {
        let passed = run_trial::<ToyPeer<Correct>>(g, &TrialSettings::sim(seed).without_monitor())
            .outcome
            .expect("the correct peer passes");
        assert!(passed.warnings.is_empty(), "seed {seed}: {passed}");
    }
}

/// Runs `grader` once on a peer whose ticker spins (never awaits), on `executor`, and returns
/// the failure.
fn spinning_ticker(grader: &str, executor: labrpc::runtime::Executor) -> TrialError {
    let g = graders::by_name(grader).expect("a known grader");
    // Enough workers that the other tasks still run beside three spinning tickers, so the test
    // gets to its end either way.
    let settings = TrialSettings {
        workers: Some(6),
        ..TrialSettings::new(executor, 1).without_monitor()
    };
    match run_trial::<ToyPeer<SpinningTicker>>(g, &settings).outcome {
        Ok(passed) => panic!("{grader} passed a peer whose ticker spins: {passed:?}"),
        Err(e) => e,
    }
}

/// Whether `message` names one of a three-peer cluster's peers as the task that held a thread.
fn names_a_peer(message: &str, lead: &str) -> bool {
    (0..3).any(|i| message.contains(&format!("{lead}S{i} ")))
}

#[test]
fn a_ticker_that_spins_fails_in_real_mode_though_the_test_ends_first() {
    // Before, real mode passed it: the test ended before the 10 s watchdog, and the spinning
    // threads were left burning cores. Now a task that held its worker (or still holds it when
    // the test ends) fails the trial as a spin, naming the peer.
    for grader in ["initial_election", "re_election"] {
        let err = spinning_ticker(grader, labrpc::runtime::Executor::Real);
        let message = err.to_string();
        assert!(
            matches!(err, TrialError::HeldThread { .. }),
            "{grader}: expected a held thread, got {message}"
        );
        assert!(
            names_a_peer(&message, "a task of ")
                && message.contains("held its thread in one poll")
                && message.contains("a loop that never awaits (a spin"),
            "{grader}: {message}"
        );
    }
}

#[test]
fn a_ticker_that_spins_is_a_deadlock_or_a_spin_in_sim_mode_named_at_the_deadlock_window() {
    let err = spinning_ticker("initial_election", labrpc::runtime::Executor::Sim);
    let TrialError::Runtime(labrpc::runtime::RunError::Stuck { wall, .. }) = &err else {
        panic!("expected stuck, got {err}");
    };
    // Reported at the deadlock window, not the 10 s outer bound.
    assert_eq!(*wall, labrpc::runtime::DEADLOCK_AFTER);
    let message = err.to_string();
    assert!(
        names_a_peer(&message, "a task of ")
            && message.contains("a deadlock or a spin")
            && message.contains("a loop that never awaits"),
        "{message}"
    );
}
