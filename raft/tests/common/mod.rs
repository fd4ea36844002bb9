//! A small cluster built by hand on labrpc's sim runtime (virtual time, one seed per run), wired
//! the way the lab's tester wires it, with an applier per peer that checks what is applied. Each
//! test file uses the parts it needs.
//!
//! Set `RUST_LOG=raft=debug` to see a run's log, `RAFT_TEST_SEEDS=200` to run more seeds,
//! `RAFT_TEST_SEED=N` to replay one, and `RAFT_TEST_RUNTIME=real` to run on the wall clock.

// Each test file is its own crate and uses only some of these helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::runtime::{self, NodeId, RunConfig};
use labrpc::{ClientEnd, Network, Server, Service};
use parking_lot::Mutex;
use raft::{
    apply_channel, AppendEntriesArgs, AppendEntriesReply, ApplyMsg, Persister, Raft,
    RequestVoteArgs, RequestVoteReply,
};

/// How many seeds every test runs (from seed 1), unless `RAFT_TEST_SEEDS` says otherwise.
const DEFAULT_SEEDS: u64 = 6;

/// The seeds to run: only `RAFT_TEST_SEED` if set (to replay a failure), else
/// `1..=RAFT_TEST_SEEDS`, else `1..=default`.
// The tests' settings come from the environment; raft/clippy.toml's rule against it is for the
// peer (and a submission), not for its tests.
#[allow(clippy::disallowed_methods)]
pub fn seeds(default: u64) -> std::ops::RangeInclusive<u64> {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    match var("RAFT_TEST_SEED") {
        Some(seed) => seed..=seed,
        None => 1..=var("RAFT_TEST_SEEDS").unwrap_or(default),
    }
}

/// The tester's limit for electing a leader once a majority can talk.
pub const ELECTION_DEADLINE: Duration = Duration::from_secs(5);

/// How often the checks look at the peers.
pub const POLL: Duration = Duration::from_millis(50);

/// What every peer's applier saw, checked as the Go tester's `checkLogs` does.
#[derive(Default)]
pub struct Applied {
    /// Per peer: index → command, over all incarnations.
    pub logs: Vec<BTreeMap<u64, Vec<u8>>>,
    /// Per peer: the last index its current incarnation applied.
    pub last: Vec<u64>,
    /// How many messages each peer's appliers received in all.
    pub received: Vec<u64>,
    /// Per peer: how many snapshots its appliers received.
    pub snapshots: Vec<u64>,
    /// When not 0, each applier takes a snapshot (as the lab's tester does) after every
    /// command whose index + 1 is a multiple of this, and accepts snapshots from its peer.
    pub snapshot_every: u64,
    /// The first broken rule, if any.
    pub error: Option<String>,
}

impl Applied {
    /// Records what peer `i` applied; returns the snapshot to hand back to it, if one is due.
    fn record(&mut self, i: usize, msg: ApplyMsg) -> Option<(u64, Vec<u8>)> {
        self.received[i] += 1;
        let (index, command) = match msg {
            ApplyMsg::Command { index, command, .. } => (index, command),
            ApplyMsg::Snapshot { .. } if self.snapshot_every == 0 => {
                self.fail(format!("server {i} applied a snapshot, but none was taken"));
                return None;
            }
            ApplyMsg::Snapshot { index, data, .. } => {
                self.snapshots[i] += 1;
                if snapshot_index(&data) != Some(index) {
                    self.fail(format!(
                        "server {i} snapshot doesn't match m.SnapshotIndex ({index})"
                    ));
                }
                self.last[i] = index;
                return None;
            }
        };
        if index != self.last[i] + 1 {
            self.fail(format!(
                "server {i} apply out of order: expected index {}, got {index}",
                self.last[i] + 1
            ));
        }
        let conflict = self.logs.iter().enumerate().find_map(|(j, log)| {
            log.get(&index)
                .filter(|other| **other != command)
                .map(|other| (j, other.clone()))
        });
        if let Some((j, other)) = conflict {
            self.fail(format!(
                "commit index={index} server={i} {command:?} != server={j} {other:?}"
            ));
        }
        self.logs[i].insert(index, command);
        self.last[i] = index;
        let every = self.snapshot_every;
        (every > 0 && (index + 1) % every == 0).then(|| (index, index.to_le_bytes().to_vec()))
    }

    fn fail(&mut self, why: String) {
        self.error.get_or_insert(why);
    }
}

/// The index a test snapshot covers (its bytes are just that index).
pub fn snapshot_index(data: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(data.try_into().ok()?))
}

/// One running peer.
struct Member {
    raft: Raft,
    node: NodeId,
    persister: Persister,
    ends: Vec<String>,
}

/// A cluster of `n` peers on one network.
pub struct Cluster {
    pub net: Network,
    members: Vec<Option<Member>>,
    connected: Vec<bool>,
    generation: u64,
    pub applied: Arc<Mutex<Applied>>,
    /// Whether each peer sits behind a counting proxy (see [`Cluster::new_counting`]).
    counting: bool,
    /// Per peer: `AppendEntries` it refused because its log did not match (only when counting).
    refusals: Vec<Arc<AtomicU64>>,
    /// Per crashed peer: a copy of what it had saved when it crashed.
    saved: Vec<Option<Persister>>,
}

pub fn server_name(i: usize) -> String {
    format!("server-{i}")
}

fn inner_name(i: usize) -> String {
    format!("inner-{i}")
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Cluster {
    /// Starts `n` connected peers.
    pub fn new(n: usize) -> Result<Cluster, String> {
        Cluster::build(n, false)
    }

    /// Starts `n` connected peers, each behind a proxy that forwards its RPCs and counts the
    /// `AppendEntries` it refuses for a log mismatch. Use on a reliable network only (the proxy's
    /// own hop is subject to the network's faults).
    pub fn new_counting(n: usize) -> Result<Cluster, String> {
        Cluster::build(n, true)
    }

    fn build(n: usize, counting: bool) -> Result<Cluster, String> {
        let applied = Applied {
            logs: vec![BTreeMap::new(); n],
            last: vec![0; n],
            received: vec![0; n],
            snapshots: vec![0; n],
            snapshot_every: 0,
            error: None,
        };
        let mut cluster = Cluster {
            net: Network::new(),
            members: (0..n).map(|_| None).collect(),
            connected: vec![false; n],
            generation: 0,
            applied: Arc::new(Mutex::new(applied)),
            counting,
            refusals: (0..n).map(|_| Arc::new(AtomicU64::new(0))).collect(),
            saved: vec![None; n],
        };
        for i in 0..n {
            cluster.start(i, Persister::new())?;
            cluster.connect(i)?;
        }
        Ok(cluster)
    }

    pub fn n(&self) -> usize {
        self.members.len()
    }

    /// Starts peer `i` on a fresh node with fresh ends and `persister`, and an applier for it;
    /// not yet connected.
    pub fn start(&mut self, i: usize, persister: Persister) -> Result<(), String> {
        self.generation += 1;
        let mut ends: Vec<ClientEnd> = Vec::new();
        let mut names = Vec::new();
        for j in 0..self.n() {
            let name = format!("end-{i}-{j}-gen{}", self.generation);
            let end = self.net.make_end(name.as_str()).map_err(err)?;
            self.net.connect(&name, server_name(j)).map_err(err)?;
            ends.push(end);
            names.push(name);
        }
        let node = runtime::new_node();
        let (tx, mut rx) = apply_channel();
        // The service restores the saved snapshot itself; the peer goes on after it.
        self.applied.lock().last[i] = snapshot_index(&persister.read_snapshot()).unwrap_or(0);
        let p = persister.clone();
        let raft = runtime::enter_node(node, || Raft::new(ends, i, p, tx));
        let applied = self.applied.clone();
        let peer = raft.clone();
        drop(runtime::spawn_on(node, async move {
            while let Some(msg) = rx.recv().await {
                let due = applied.lock().record(i, msg);
                // Called before the next message is taken, as the lab's tester does.
                if let Some((index, data)) = due {
                    peer.snapshot(index, data);
                }
            }
        }));
        if self.counting {
            self.add_counting_servers(i, node, &raft)?;
        } else {
            let server = Server::on_node(node);
            server.add_service(raft.service()).map_err(err)?;
            self.net.add_server(server_name(i), server);
        }
        self.members[i] = Some(Member {
            raft,
            node,
            persister,
            ends: names,
        });
        Ok(())
    }

    /// Puts `raft` on an inner server and a counting proxy under the peer's public name.
    fn add_counting_servers(&mut self, i: usize, node: NodeId, raft: &Raft) -> Result<(), String> {
        let inner = Server::on_node(node);
        inner.add_service(raft.service()).map_err(err)?;
        self.net.add_server(inner_name(i), inner);
        let name = format!("proxy-{i}-gen{}", self.generation);
        let to_inner = self.net.make_end(name.as_str()).map_err(err)?;
        self.net.connect(&name, inner_name(i)).map_err(err)?;
        self.net.enable(&name, true).map_err(err)?;

        let mut proxy = Service::new("Raft").map_err(err)?;
        let end = to_inner.clone();
        let refusals = self.refusals[i].clone();
        proxy
            .handle_async("AppendEntries", move |args: AppendEntriesArgs| {
                let (end, refusals) = (end.clone(), refusals.clone());
                async move {
                    let reply: AppendEntriesReply = end
                        .call("Raft.AppendEntries", &args)
                        .await
                        .unwrap_or_else(|e| panic!("the proxy lost its peer: {e}"));
                    if !reply.success && reply.term == args.term {
                        refusals.fetch_add(1, Ordering::Relaxed);
                    }
                    reply
                }
            })
            .map_err(err)?;
        let end = to_inner;
        proxy
            .handle_async("RequestVote", move |args: RequestVoteArgs| {
                let end = end.clone();
                async move {
                    let reply: RequestVoteReply = end
                        .call("Raft.RequestVote", &args)
                        .await
                        .unwrap_or_else(|e| panic!("the proxy lost its peer: {e}"));
                    reply
                }
            })
            .map_err(err)?;
        let public = Server::on_node(node);
        public.add_service(proxy).map_err(err)?;
        self.net.add_server(server_name(i), public);
        Ok(())
    }

    /// How many `AppendEntries` peer `i` refused for a log mismatch (counting clusters only).
    pub fn refusals(&self, i: usize) -> u64 {
        self.refusals[i].load(Ordering::Relaxed)
    }

    /// Crashes peer `i`: cut off, server deleted, killed; a copy of its saved state is kept
    /// for [`restart`](Cluster::restart) (and returned), so the dead instance's later writes
    /// cannot reach it.
    pub fn crash(&mut self, i: usize) -> Result<Persister, String> {
        self.disconnect(i)?;
        self.net.delete_server(&server_name(i));
        if self.counting {
            self.net.delete_server(&inner_name(i));
        }
        let member = self.members[i]
            .take()
            .ok_or_else(|| format!("peer {i} is not running"))?;
        let saved = member.persister.copy();
        member.raft.kill();
        runtime::kill_node(member.node);
        self.saved[i] = Some(saved.copy());
        Ok(saved)
    }

    /// Restarts peer `i` from its saved state (crashing it first if it runs), connected.
    pub fn restart(&mut self, i: usize) -> Result<(), String> {
        if self.members[i].is_some() {
            self.crash(i)?;
        }
        let saved = self.saved[i]
            .take()
            .ok_or_else(|| format!("peer {i} has no saved state to restart from"))?;
        self.start(i, saved)?;
        self.connect(i)
    }

    /// Enables (`on`) the ends between `i` and every connected peer, or disables the ends
    /// between `i` and every peer.
    fn set_ends(&self, i: usize, on: bool) -> Result<(), String> {
        for j in 0..self.n() {
            let affected = if on { self.connected[j] } else { true };
            if j != i && affected {
                if let Some(m) = &self.members[i] {
                    self.net.enable(&m.ends[j], on).map_err(err)?;
                }
                if let Some(m) = &self.members[j] {
                    self.net.enable(&m.ends[i], on).map_err(err)?;
                }
            }
        }
        Ok(())
    }

    /// Reconnects peer `i` to every connected peer.
    pub fn connect(&mut self, i: usize) -> Result<(), String> {
        self.connected[i] = true;
        self.set_ends(i, true)
    }

    /// Cuts peer `i` off from everyone.
    pub fn disconnect(&mut self, i: usize) -> Result<(), String> {
        self.connected[i] = false;
        self.set_ends(i, false)
    }

    /// Whether peer `i` runs (it was not crashed, or was restarted).
    pub fn is_running(&self, i: usize) -> bool {
        self.members[i].is_some()
    }

    /// Whether peer `i` is connected.
    pub fn is_connected(&self, i: usize) -> bool {
        self.connected[i]
    }

    /// The size of peer `i`'s saved Raft state (Go's `RaftStateSize`), if it runs.
    pub fn raft_state_size(&self, i: usize) -> Option<usize> {
        self.members[i]
            .as_ref()
            .map(|m| m.persister.raft_state_size())
    }

    /// Peer `i`'s saved snapshot, if it runs.
    pub fn saved_snapshot(&self, i: usize) -> Option<Vec<u8>> {
        self.members[i]
            .as_ref()
            .map(|m| m.persister.read_snapshot())
    }

    pub fn raft(&self, i: usize) -> Option<&Raft> {
        self.members[i].as_ref().map(|m| &m.raft)
    }

    pub fn state(&self, i: usize) -> Option<(u64, bool)> {
        self.raft(i).map(Raft::get_state)
    }

    /// The connected, running peers' states.
    pub fn connected_states(&self) -> Vec<(usize, u64, bool)> {
        (0..self.n())
            .filter(|&i| self.connected[i])
            .filter_map(|i| self.state(i).map(|(t, l)| (i, t, l)))
            .collect()
    }

    /// The leader among connected peers, if there is one; an error if a term has two.
    pub fn current_leader(&self) -> Result<Option<usize>, String> {
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
    pub async fn check_one_leader(&self) -> Result<usize, String> {
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
    pub fn check_terms(&self) -> Result<u64, String> {
        let states = self.connected_states();
        let term = states.first().map_or(0, |s| s.1);
        if states.iter().any(|s| s.1 != term) {
            return Err(format!("servers disagree on term: {states:?}"));
        }
        Ok(term)
    }

    /// No connected peer claims to lead.
    pub fn check_no_leader(&self) -> Result<(), String> {
        match self.connected_states().iter().find(|s| s.2) {
            Some((i, term, _)) => Err(format!(
                "expected no leader among connected servers, but {i} claims to lead term {term}"
            )),
            None => Ok(()),
        }
    }

    /// How many peers have applied `index`, and the command they applied (Go's `nCommitted`).
    pub fn n_committed(&self, index: u64) -> Result<(usize, Option<Vec<u8>>), String> {
        let applied = self.applied.lock();
        if let Some(e) = &applied.error {
            return Err(format!("apply error: {e}"));
        }
        let mut count = 0;
        let mut value: Option<Vec<u8>> = None;
        for log in &applied.logs {
            if let Some(cmd) = log.get(&index) {
                if let Some(v) = &value {
                    if v != cmd {
                        return Err(format!(
                            "committed values do not match: index {index}, {v:?}, {cmd:?}"
                        ));
                    }
                }
                count += 1;
                value = Some(cmd.clone());
            }
        }
        Ok((count, value))
    }

    /// Go's `one(cmd, expectedServers, retry)`: has a leader start `cmd` and waits until
    /// `expected` peers applied it; returns its index.
    pub async fn one(&self, cmd: &[u8], expected: usize, retry: bool) -> Result<u64, String> {
        let start = runtime::now();
        let mut starts = 0;
        while start.elapsed() < Duration::from_secs(10) {
            let mut index = None;
            for _ in 0..self.n() {
                starts = (starts + 1) % self.n();
                if !self.connected[starts] {
                    continue;
                }
                if let Some((i, _)) = self.raft(starts).and_then(|r| r.start(cmd.to_vec())) {
                    index = Some(i);
                    break;
                }
            }
            if let Some(index) = index {
                let t1 = runtime::now();
                while t1.elapsed() < Duration::from_secs(2) {
                    let (count, value) = self.n_committed(index)?;
                    if count > 0 && count >= expected && value.as_deref() == Some(cmd) {
                        return Ok(index);
                    }
                    runtime::sleep(Duration::from_millis(20)).await;
                }
                if !retry {
                    return Err(format!("one({cmd:?}) failed to reach agreement"));
                }
            } else {
                runtime::sleep(Duration::from_millis(50)).await;
            }
        }
        Err(format!("one({cmd:?}) failed to reach agreement"))
    }

    /// Kills every peer and closes the network.
    pub fn shutdown(&mut self) {
        for member in self.members.iter_mut().filter_map(Option::take) {
            member.raft.kill();
            runtime::kill_node(member.node);
        }
        self.net.cleanup();
    }
}

/// A run config for `name` and `seed`: the sim executor, or the real one (wall-clock time) if
/// `RAFT_TEST_RUNTIME=real`; logging to stderr if `RUST_LOG` is set.
// The tests' settings come from the environment (see `seeds`).
#[allow(clippy::disallowed_methods)]
pub fn sim_config(name: &str, seed: u64) -> RunConfig {
    let real = std::env::var("RAFT_TEST_RUNTIME").is_ok_and(|v| v == "real");
    let config = if real {
        RunConfig::real(seed)
    } else {
        RunConfig::sim(seed)
    };
    let mut config = config.named(name).time_limit(Duration::from_secs(120));
    if let Ok(filter) = std::env::var("RUST_LOG") {
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::Layer as _;
        let targets: tracing_subscriber::filter::Targets = filter
            .parse()
            .unwrap_or_else(|e| panic!("RUST_LOG={filter:?} is not a log filter: {e}"));
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_filter(targets));
        config = config.dispatch(tracing::Dispatch::new(subscriber));
    }
    config
}

/// Runs `test` on a fresh cluster of `n` peers (behind counting proxies if `counting`) for each
/// seed; fails with the seed, the reason and the command that replays it (`file` is the test
/// file's name).
pub fn for_each_seed<T, F>(file: &str, name: &str, n: usize, counting: bool, test: T)
where
    T: Fn(Cluster) -> F + Clone + Send + 'static,
    F: Future<Output = (Cluster, Result<(), String>)> + 'static,
{
    for_seeds(file, name, n, counting, DEFAULT_SEEDS, test);
}

/// [`for_each_seed`] with its own default number of seeds (for the long tests).
pub fn for_seeds<T, F>(file: &str, name: &str, n: usize, counting: bool, default: u64, test: T)
where
    T: Fn(Cluster) -> F + Clone + Send + 'static,
    F: Future<Output = (Cluster, Result<(), String>)> + 'static,
{
    for seed in seeds(default) {
        let test = test.clone();
        let outcome = runtime::run(sim_config(name, seed), move || async move {
            let cluster = match Cluster::build(n, counting) {
                Ok(c) => c,
                Err(e) => return Err(format!("could not build the cluster: {e}")),
            };
            let (mut cluster, result) = test(cluster).await;
            cluster.shutdown();
            result
        });
        let replay = |seed: u64| {
            format!(
                "replay: RAFT_TEST_SEED={seed} RUST_LOG=raft=debug cargo test -p raft --test \
                 {file}"
            )
        };
        match outcome {
            Ok(run) => {
                if let Err(why) = run.value {
                    panic!("{name} failed with seed {seed}: {why}\n  {}", replay(seed));
                }
            }
            Err(e) => panic!("{name}: the run failed: {e}\n  {}", replay(e.seed())),
        }
    }
}

/// `?` inside a test body, which must hand the cluster back.
#[macro_export]
macro_rules! check {
    ($cluster:ident, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return ($cluster, Err(e)),
        }
    };
}
