//! The tester's own machinery, which the part-A graders do not reach: crash and restart, the
//! 120-second limit, and the checks' edge cases.

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use harness::tester::{Passed, TestFailure, Tester, TEST_TIME_LIMIT};
use harness::trial::{run_test, TrialError, TrialSettings};
use labrpc::runtime::{self, RunConfig};
use support::{Counted, ToyPeer, LIVE_COUNTED};

fn run_sim<F>(seed: u64, body: impl FnOnce() -> F + Send + 'static)
where
    F: std::future::Future<Output = Result<(), TestFailure>> + 'static,
{
    let outcome = runtime::run(RunConfig::sim(seed).named("tester"), body)
        .unwrap_or_else(|e| panic!("the run failed: {e}"));
    if let Err(failure) = outcome.value {
        panic!("seed {seed}: {failure}");
    }
}

#[test]
fn crashed_peers_send_nothing_more() {
    for seed in 1..4 {
        run_sim(seed, || async {
            let mut t = Tester::<raft::Raft>::new(3, true);
            t.check_one_leader().await?;
            for i in 0..3 {
                t.crash1(i);
                assert_eq!(t.state_of(i), None, "a crashed peer has no state");
            }
            // Calls already in flight may still finish; after that nothing may be sent.
            runtime::sleep(Duration::from_secs(8)).await;
            let sent = t.net().total_count();
            runtime::sleep(Duration::from_secs(5)).await;
            assert_eq!(
                t.net().total_count(),
                sent,
                "a crashed peer's tasks kept sending RPCs"
            );
            Ok(())
        });
    }
}

#[test]
fn a_restarted_peer_keeps_its_term_and_rejoins() {
    for seed in 1..4 {
        run_sim(seed, || async {
            let mut t = Tester::<raft::Raft>::new(3, true);
            let leader = t.check_one_leader().await?;
            let (term, _) = t.state_of(leader).expect("the leader is up");

            t.crash1(leader);
            let next = t.check_one_leader().await?;
            assert_ne!(next, leader, "a crashed peer cannot lead");

            t.start1(leader);
            let (restored, is_leader) = t.state_of(leader).expect("restarted");
            assert!(
                restored >= term && !is_leader,
                "the restarted peer came back with term {restored} (it had {term}) as leader={is_leader}"
            );
            t.reconnect(leader).await?;
            t.check_one_leader().await?;
            runtime::sleep(Duration::from_millis(500)).await;
            t.check_terms()?;
            Ok(())
        });
    }
}

#[test]
fn check_terms_fails_when_no_peer_is_connected() {
    run_sim(1, || async {
        let mut t = Tester::<raft::Raft>::new(3, true);
        t.check_one_leader().await?;
        for i in 0..3 {
            t.disconnect(i);
        }
        let failure = t
            .check_terms()
            .expect_err("no connected peer has a term to agree on");
        assert!(
            failure.message.contains("no connected server"),
            "{}",
            failure.message
        );
        Ok(())
    });
}

#[test]
fn a_test_past_120_seconds_fails_with_the_go_message_and_leaves_no_peer_behind() {
    // Only this test in this binary builds counted peers, so the count is this test's own.
    let report = run_test(
        "sleeps_past_the_limit",
        &TrialSettings::sim(3).without_monitor(),
        || async {
            let mut t = Tester::<ToyPeer<Counted>>::new(3, true);
            t.begin("Test: sleeps past the limit");
            t.check_one_leader().await?;
            runtime::sleep(TEST_TIME_LIMIT).await;
            Ok(Passed::from(t.stats()))
        },
    );
    let error = report.outcome.expect_err("the limit fails the test");
    assert_eq!(error, TrialError::TimeLimit);
    assert_eq!(error.to_string(), "test took longer than 120 seconds");
    assert_eq!(
        report.elapsed, TEST_TIME_LIMIT,
        "the run stopped at the limit"
    );
    // The test's future was dropped after its run stopped, outside the runtime: the peers, their
    // servers and the network must still be freed.
    assert_eq!(
        LIVE_COUNTED.load(Ordering::SeqCst),
        0,
        "peers of a trial that hit the time limit are still alive"
    );
}

#[test]
fn heartbeat_stability_reports_a_stats_line_per_cluster() {
    let grader = harness::graders::by_name("heartbeat_stability").expect("a grader");
    let passed =
        harness::trial::run_trial::<raft::Raft>(grader, &harness::trial::TrialSettings::sim(1))
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
