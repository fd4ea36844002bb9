//! Leader election on a small cluster built by hand on labrpc's sim runtime (virtual time, one
//! seed per run). Each test is named after the rule of Raft it checks, and runs several seeds.
//!
//! Set `RUST_LOG=raft=debug` to see a run's log, `RAFT_TEST_SEEDS=200` to run more seeds, and
//! `RAFT_TEST_SEED=N` to replay one.

mod common;

use std::time::Duration;

use common::{server_name, Cluster, ELECTION_DEADLINE};
use labrpc::runtime::{self, RunConfig};
use raft::timing::ELECTION_TIMEOUT_MAX;

/// Runs `test` on a fresh cluster of `n` for each seed.
fn for_each_seed<T, F>(name: &str, n: usize, test: T)
where
    T: Fn(Cluster) -> F + Clone + Send + 'static,
    F: std::future::Future<Output = (Cluster, Result<(), String>)> + 'static,
{
    common::for_each_seed("election", name, n, false, test);
}

#[test]
fn initial_election_elects_one_leader_and_keeps_its_term() {
    for_each_seed("initial_election", 3, |c| async move {
        let start = runtime::now();
        check!(c, c.check_one_leader().await);
        let elected_after = start.elapsed();
        runtime::sleep(Duration::from_millis(50)).await;
        let term1 = check!(c, c.check_terms());
        if term1 < 1 {
            return (c, Err(format!("term is {term1}, but should be at least 1")));
        }
        runtime::sleep(3 * ELECTION_TIMEOUT_MAX).await;
        let term2 = check!(c, c.check_terms());
        if term2 != term1 {
            return (
                c,
                Err(format!(
                    "term changed from {term1} to {term2} with no failures"
                )),
            );
        }
        check!(c, c.check_one_leader().await);
        if elected_after > ELECTION_DEADLINE {
            return (c, Err(format!("the first leader took {elected_after:?}")));
        }
        (c, Ok(()))
    });
}

#[test]
fn leader_bcast_beat_stays_under_ten_rpcs_per_second_per_follower() {
    for_each_seed("heartbeat_rate", 3, |c| async move {
        let leader = check!(c, c.check_one_leader().await);
        // Let the last RequestVote of the election arrive, as the Go test does.
        runtime::sleep(Duration::from_millis(50)).await;
        let term = check!(c, c.check_terms());
        let before: Vec<u64> = (0..3).map(|i| c.net.count(&server_name(i))).collect();
        let window = Duration::from_secs(10);
        runtime::sleep(window).await;
        for (i, count_before) in before.iter().enumerate().filter(|(i, _)| *i != leader) {
            let rate = (c.net.count(&server_name(i)) - count_before) as f64 / window.as_secs_f64();
            if rate > 10.0 {
                return (
                    c,
                    Err(format!("follower {i} got {rate:.1} RPCs per second")),
                );
            }
            if rate < 1.0 {
                return (
                    c,
                    Err(format!("follower {i} got only {rate:.1} RPCs per second")),
                );
            }
        }
        if check!(c, c.check_terms()) != term || c.state(leader) != Some((term, true)) {
            return (c, Err("the leader changed with no failures".to_string()));
        }
        (c, Ok(()))
    });
}

#[test]
fn a_new_leader_is_elected_when_the_leader_is_cut_off_and_the_old_one_steps_down() {
    for_each_seed("reelection", 3, |mut c| async move {
        let leader1 = check!(c, c.check_one_leader().await);
        check!(c, c.disconnect(leader1));
        let leader2 = check!(c, c.check_one_leader().await);
        if leader2 == leader1 {
            return (c, Err("the cut-off leader is still counted".to_string()));
        }
        // The old leader still believes it leads; once back it must hear of the newer term.
        check!(c, c.connect(leader1));
        runtime::sleep(Duration::from_secs(2)).await;
        let states = c.connected_states();
        let leaders = states.iter().filter(|s| s.2).count();
        if leaders != 1 {
            return (
                c,
                Err(format!(
                    "2 s after reconnecting, {leaders} peers lead: {states:?}"
                )),
            );
        }
        check!(c, c.check_terms());
        (c, Ok(()))
    });
}

#[test]
fn a_lone_peer_never_becomes_leader() {
    for_each_seed("no_quorum", 3, |mut c| async move {
        let leader = check!(c, c.check_one_leader().await);
        check!(c, c.disconnect(leader));
        check!(c, c.disconnect((leader + 1) % 3));
        runtime::sleep(2 * Duration::from_secs(1)).await;
        check!(c, c.check_no_leader());
        // A majority again: a leader within the deadline.
        check!(c, c.connect((leader + 1) % 3));
        check!(c, c.check_one_leader().await);
        check!(c, c.connect(leader));
        check!(c, c.check_one_leader().await);
        (c, Ok(()))
    });
}

#[test]
fn elections_succeed_on_an_unreliable_network_with_long_delays() {
    for_each_seed("unreliable_election", 5, |mut c| async move {
        c.net.set_reliable(false);
        c.net.set_long_delays(true);
        check!(c, c.check_one_leader().await);
        for round in 0..3 {
            let leader = check!(c, c.check_one_leader().await);
            check!(c, c.disconnect(leader));
            if let Err(e) = c.check_one_leader().await {
                return (c, Err(format!("round {round}: {e}")));
            }
            check!(c, c.connect(leader));
        }
        check!(c, c.check_one_leader().await);
        (c, Ok(()))
    });
}

#[test]
fn a_restarted_peer_remembers_its_term_and_vote() {
    for_each_seed("restart", 3, |mut c| async move {
        let leader = check!(c, c.check_one_leader().await);
        let (term, _) = c.state(leader).unwrap_or_default();
        let saved = check!(c, c.crash(leader));
        check!(c, c.start(leader, saved));
        let (restored, is_leader) = c.state(leader).unwrap_or_default();
        if restored < term || is_leader {
            return (
                c,
                Err(format!(
                    "restarted at term {restored} (leader: {is_leader}), had term {term}"
                )),
            );
        }
        check!(c, c.connect(leader));
        check!(c, c.check_one_leader().await);
        runtime::sleep(Duration::from_secs(1)).await;
        check!(c, c.check_terms());
        (c, Ok(()))
    });
}

#[test]
fn killed_peers_stop_sending() {
    for_each_seed("kill", 3, |c| async move {
        check!(c, c.check_one_leader().await);
        for raft in (0..c.n()).filter_map(|i| c.raft(i)) {
            raft.kill();
            raft.kill(); // idempotent
        }
        // Calls already in flight may still finish; after that, silence.
        runtime::sleep(Duration::from_secs(1)).await;
        let sent = c.net.total_count();
        runtime::sleep(Duration::from_secs(5)).await;
        let more = c.net.total_count() - sent;
        if more != 0 {
            return (c, Err(format!("killed peers sent {more} more RPCs")));
        }
        (c, Ok(()))
    });
}

#[test]
fn the_same_seed_replays_the_same_election() {
    let outcome = runtime::check_determinism(RunConfig::sim(11).named("replay"), || async {
        let mut c = match Cluster::new(3) {
            Ok(c) => c,
            Err(e) => return Err(e),
        };
        let leader = c.check_one_leader().await;
        runtime::sleep(Duration::from_secs(2)).await;
        c.shutdown();
        leader
    });
    match outcome {
        Ok(run) => assert!(run.value.is_ok(), "no leader: {:?}", run.value),
        Err(e) => panic!("{e}"),
    }
}
