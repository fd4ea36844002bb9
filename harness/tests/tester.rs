//! The tester's own machinery, which the part-A graders do not reach: crash and restart.

use std::time::Duration;

use harness::tester::{TestFailure, Tester};
use labrpc::runtime::{self, RunConfig};

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
