//! Leader election on a small cluster built by hand on labrpc's sim runtime (virtual time, one
//! seed per run). Each test is named after the rule of Raft it checks, and runs several seeds.
//!
//! Set `RUST_LOG=raft=debug` to see a run's log, `RAFT_TEST_SEEDS=200` to run more seeds, and
//! `RAFT_TEST_SEED=N` to replay one.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use labrpc::runtime::{self, NodeId, RunConfig};
use labrpc::{ClientEnd, Network, Server};
use raft::timing::ELECTION_TIMEOUT_MAX;
use raft::{apply_channel, ApplyReceiver, Persister, Raft};

/// How many seeds every test runs (from seed 1), unless `RAFT_TEST_SEEDS` says otherwise.
const DEFAULT_SEEDS: u64 = 6;

/// The seeds to run: only `RAFT_TEST_SEED` if set (to replay a failure), else
/// `1..=RAFT_TEST_SEEDS`.
fn seeds() -> std::ops::RangeInclusive<u64> {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    match var("RAFT_TEST_SEED") {
        Some(seed) => seed..=seed,
        None => 1..=var("RAFT_TEST_SEEDS").unwrap_or(DEFAULT_SEEDS),
    }
}

/// The tester's limit for electing a leader once a majority can talk.
const ELECTION_DEADLINE: Duration = Duration::from_secs(5);

/// How often the checks look at the peers.
const POLL: Duration = Duration::from_millis(50);

/// One peer as the cluster keeps it.
struct Member {
    raft: Raft,
    node: NodeId,
    persister: Persister,
    ends: Vec<String>,
    _apply_rx: ApplyReceiver,
}

/// A cluster of `n` peers on one network, wired the way the lab's tester wires it.
struct Cluster {
    net: Network,
    members: Vec<Option<Member>>,
    connected: Vec<bool>,
    generation: u64,
}

fn server_name(i: usize) -> String {
    format!("server-{i}")
}

impl Cluster {
    /// Starts `n` connected peers.
    fn new(n: usize) -> Result<Cluster, String> {
        let mut cluster = Cluster {
            net: Network::new(),
            members: (0..n).map(|_| None).collect(),
            connected: vec![false; n],
            generation: 0,
        };
        for i in 0..n {
            cluster.start(i, Persister::new())?;
            cluster.connect(i)?;
        }
        Ok(cluster)
    }

    fn n(&self) -> usize {
        self.members.len()
    }

    /// Starts peer `i` on a fresh node with fresh ends and `persister`; not yet connected.
    fn start(&mut self, i: usize, persister: Persister) -> Result<(), String> {
        self.generation += 1;
        let mut ends: Vec<ClientEnd> = Vec::new();
        let mut names = Vec::new();
        for j in 0..self.n() {
            let name = format!("end-{i}-{j}-gen{}", self.generation);
            let end = self
                .net
                .make_end(name.as_str())
                .map_err(|e| e.to_string())?;
            self.net
                .connect(&name, server_name(j))
                .map_err(|e| e.to_string())?;
            ends.push(end);
            names.push(name);
        }
        let node = runtime::new_node();
        let (tx, rx) = apply_channel();
        let p = persister.clone();
        let raft = runtime::enter_node(node, || Raft::new(ends, i, p, tx));
        let server = Server::on_node(node);
        server
            .add_service(raft.service())
            .map_err(|e| e.to_string())?;
        self.net.add_server(server_name(i), server);
        self.members[i] = Some(Member {
            raft,
            node,
            persister,
            ends: names,
            _apply_rx: rx,
        });
        Ok(())
    }

    /// Crashes peer `i`: cut off, server deleted, killed; its saved state survives in a copy.
    fn crash(&mut self, i: usize) -> Result<Persister, String> {
        self.disconnect(i)?;
        self.net.delete_server(&server_name(i));
        let member = self.members[i]
            .take()
            .ok_or_else(|| format!("peer {i} is not running"))?;
        let saved = member.persister.copy();
        member.raft.kill();
        runtime::kill_node(member.node);
        Ok(saved)
    }

    /// Enables (`on`) the ends between `i` and every connected peer, or disables the ends
    /// between `i` and every peer.
    fn set_ends(&self, i: usize, on: bool) -> Result<(), String> {
        for j in 0..self.n() {
            let affected = if on { self.connected[j] } else { true };
            if j != i && affected {
                if let Some(m) = &self.members[i] {
                    self.net.enable(&m.ends[j], on).map_err(|e| e.to_string())?;
                }
                if let Some(m) = &self.members[j] {
                    self.net.enable(&m.ends[i], on).map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(())
    }

    /// Reconnects peer `i` to every connected peer.
    fn connect(&mut self, i: usize) -> Result<(), String> {
        self.connected[i] = true;
        self.set_ends(i, true)
    }

    /// Cuts peer `i` off from everyone.
    fn disconnect(&mut self, i: usize) -> Result<(), String> {
        self.connected[i] = false;
        self.set_ends(i, false)
    }

    fn state(&self, i: usize) -> Option<(u64, bool)> {
        self.members[i].as_ref().map(|m| m.raft.get_state())
    }

    /// The connected, running peers' states.
    fn connected_states(&self) -> Vec<(usize, u64, bool)> {
        (0..self.n())
            .filter(|&i| self.connected[i])
            .filter_map(|i| self.state(i).map(|(t, l)| (i, t, l)))
            .collect()
    }

    /// The leader among connected peers, if there is one; an error if a term has two.
    fn current_leader(&self) -> Result<Option<usize>, String> {
        let mut by_term: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (i, term, leader) in self.connected_states() {
            if leader {
                by_term.entry(term).or_default().push(i);
            }
        }
        if let Some((term, leaders)) = by_term.iter().find(|(_, l)| l.len() > 1) {
            return Err(format!(
                "term {term} has {} (>1) leaders: {leaders:?}",
                leaders.len()
            ));
        }
        Ok(by_term.values().next_back().map(|l| l[0]))
    }

    /// Waits until a connected peer leads, at most [`ELECTION_DEADLINE`].
    async fn check_one_leader(&self) -> Result<usize, String> {
        let start = runtime::now();
        loop {
            if let Some(leader) = self.current_leader()? {
                return Ok(leader);
            }
            if start.elapsed() > ELECTION_DEADLINE {
                return Err(format!(
                    "expected one leader, got none after {ELECTION_DEADLINE:?}: {:?}",
                    self.connected_states()
                ));
            }
            runtime::sleep(POLL).await;
        }
    }

    /// All connected peers agree on the term; returns it.
    fn check_terms(&self) -> Result<u64, String> {
        let states = self.connected_states();
        let term = states.first().map_or(0, |s| s.1);
        if states.iter().any(|s| s.1 != term) {
            return Err(format!("servers disagree on term: {states:?}"));
        }
        Ok(term)
    }

    /// No connected peer claims to lead.
    fn check_no_leader(&self) -> Result<(), String> {
        match self.connected_states().iter().find(|s| s.2) {
            Some((i, term, _)) => Err(format!(
                "expected no leader among connected servers, but {i} claims to lead term {term}"
            )),
            None => Ok(()),
        }
    }

    fn shutdown(&mut self) {
        for member in self.members.iter_mut().filter_map(Option::take) {
            member.raft.kill();
            runtime::kill_node(member.node);
        }
        self.net.cleanup();
    }
}

/// Runs `test` on a fresh cluster of `n` for each seed; fails with the seed and the reason.
fn for_each_seed<T, F>(name: &str, n: usize, test: T)
where
    T: Fn(Cluster) -> F + Clone + Send + 'static,
    F: Future<Output = (Cluster, Result<(), String>)> + 'static,
{
    for seed in seeds() {
        let test = test.clone();
        let mut config = RunConfig::sim(seed)
            .named(name)
            .time_limit(Duration::from_secs(120));
        if std::env::var_os("RUST_LOG").is_some() {
            let subscriber = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .finish();
            config = config.dispatch(tracing::Dispatch::new(subscriber));
        }
        let outcome = runtime::run(config, move || async move {
            let cluster = match Cluster::new(n) {
                Ok(c) => c,
                Err(e) => return Err(format!("could not build the cluster: {e}")),
            };
            let (mut cluster, result) = test(cluster).await;
            cluster.shutdown();
            result
        });
        match outcome {
            Ok(run) => {
                if let Err(why) = run.value {
                    panic!(
                        "{name} failed with seed {seed}: {why}\n  replay: RAFT_TEST_SEED={seed} \
                         RUST_LOG=raft=debug cargo test -p raft --test election"
                    );
                }
            }
            Err(e) => panic!(
                "{name}: the run failed: {e}\n  replay: RAFT_TEST_SEED={} RUST_LOG=raft=debug \
                 cargo test -p raft --test election",
                e.seed()
            ),
        }
    }
}

/// `?` inside a test body, which must hand the cluster back.
macro_rules! check {
    ($cluster:ident, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return ($cluster, Err(e)),
        }
    };
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
        for member in c.members.iter().flatten() {
            member.raft.kill();
            member.raft.kill(); // idempotent
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
