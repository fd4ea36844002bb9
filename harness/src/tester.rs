//! The tester: what Go's `config.go` does for the Raft tests.
//!
//! It builds `n` peers on a [`Network`], connects and disconnects them, crashes and restarts them
//! with fresh ends and a copied persister, reads what they apply, and checks leaders and terms.
//! Checks return [`TestFailure`]s whose text matches the Go tester's messages, so students can
//! search for them.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use labrpc::observe::Observer;
use labrpc::runtime::{self, Instant, NodeId};
use labrpc::{ClientEnd, Network, Server};
use parking_lot::Mutex;
use raft::{ApplyMsg, Persister};

use crate::monitor::{Monitor, MonitorSettings};
use crate::peer::Peer;
use crate::timeline::probe::{self, Fact};

/// The tester's allowance for one election (Go `RaftElectionTimeout`): one second, far more
/// than the paper's range.
pub const RAFT_ELECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// The most a whole test may take (Go's `test took longer than 120 seconds`), enforced while
/// the test runs.
pub const TEST_TIME_LIMIT: Duration = Duration::from_secs(120);

/// Rounds of [`Tester::check_one_leader`].
const LEADER_CHECK_ROUNDS: usize = 10;
/// Each round of [`Tester::check_one_leader`] first sleeps this long plus up to
/// [`LEADER_CHECK_JITTER_MS`].
const LEADER_CHECK_SLEEP_MS: u64 = 450;
/// See [`LEADER_CHECK_SLEEP_MS`].
const LEADER_CHECK_JITTER_MS: u64 = 100;
/// How often [`Tester::check_no_stale_leader`] looks while the network heals.
const HEAL_POLL: Duration = Duration::from_millis(50);

/// A failed check: the message the Go tester would print, and when it happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TestFailure {
    /// What went wrong, in the Go tester's words where it has them.
    pub message: String,
    /// Run time (virtual in sim mode) of the failure.
    pub at: Duration,
}

impl TestFailure {
    /// A failure now, with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        let at = if runtime::in_runtime() {
            runtime::now().since_start()
        } else {
            Duration::ZERO
        };
        TestFailure {
            message: message.into(),
            at,
        }
    }
}

/// Fails the test with a formatted message.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => {
        return Err($crate::tester::TestFailure::new(format!($($arg)*)))
    };
}

/// The figures of a finished test (the Go tester's `... Passed --` line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    /// Run time of the test (virtual in sim mode).
    pub elapsed: Duration,
    /// Peers in the test.
    pub peers: usize,
    /// RPCs sent, including those to disconnected peers.
    pub rpcs: u64,
    /// Bytes of requests sent and replies delivered.
    pub bytes: u64,
    /// Commands committed (the highest index any peer applied).
    pub commands: u64,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "  ... Passed --  time {:4.1}s #peers {} #RPCs {:5} #bytes {:7} #cmds {:4}",
            self.elapsed.as_secs_f64(),
            self.peers,
            self.rpcs,
            self.bytes,
            self.commands
        )
    }
}

/// What the tester has seen each peer apply.
#[derive(Default)]
struct Applied {
    /// Per peer: index → command.
    logs: Vec<BTreeMap<u64, Vec<u8>>>,
    /// The highest index any peer applied.
    max_index: u64,
    /// The first apply error seen (Go's `apply error: ...`).
    error: Option<String>,
}

/// A test's world: the network, the peers and the checks (Go `config`).
pub struct Tester<P: Peer> {
    net: Network,
    n: usize,
    peers: Vec<Option<Arc<P>>>,
    nodes: Vec<NodeId>,
    connected: Vec<bool>,
    saved: Vec<Persister>,
    /// `ends[i][j]`: the name of peer i's end to peer j.
    ends: Vec<Vec<String>>,
    generation: u64,
    applied: Arc<Mutex<Applied>>,
    title: String,
    /// The safety monitor of this cluster.
    monitor: Arc<Monitor>,
    t0: Instant,
    rpcs0: u64,
    bytes0: u64,
    max_index0: u64,
}

/// The network name of peer `i`'s server.
pub fn server_name(i: usize) -> String {
    format!("server-{i}")
}

impl<P: Peer> Tester<P> {
    /// Builds `n` peers on a network that is reliable or not, with long delays on (as the Go
    /// tester always has), starts and connects them all.
    pub fn new(n: usize, reliable: bool) -> Self {
        probe::cluster(n);
        let net = Network::new();
        net.set_reliable(reliable);
        net.set_long_delays(true);
        // A network has one observer: the safety monitor and, while the run is recorded for
        // the timeline, the timeline's probe share it.
        let monitor = Monitor::new(n, MonitorSettings::for_this_run());
        let mut observers: Vec<Arc<dyn Observer>> = Vec::new();
        if monitor.enabled() {
            observers.push(monitor.clone());
        }
        if probe::recording() {
            observers.push(Arc::new(probe::RpcProbe));
        }
        probe::install(&net, observers);
        let mut t = Tester {
            net,
            n,
            peers: (0..n).map(|_| None).collect(),
            nodes: vec![NodeId::ROOT; n],
            connected: vec![false; n],
            saved: (0..n).map(|_| Persister::new()).collect(),
            ends: vec![Vec::new(); n],
            generation: 0,
            applied: Arc::new(Mutex::new(Applied {
                logs: vec![BTreeMap::new(); n],
                ..Applied::default()
            })),
            title: String::new(),
            monitor,
            t0: runtime::now(),
            rpcs0: 0,
            bytes0: 0,
            max_index0: 0,
        };
        for i in 0..n {
            t.start1(i);
        }
        for i in 0..n {
            t.connect(i);
        }
        t
    }

    /// The number of peers.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The network (for its counters and fault switches).
    pub fn net(&self) -> &Network {
        &self.net
    }

    /// Logs a tester event (topic `test`), which the log view spans across all columns.
    pub fn log(&self, message: impl fmt::Display) {
        tracing::info!(target: "tester", topic = "test", "{message}");
    }

    /// Starts a test: prints its title and records the counters (Go `begin`).
    pub fn begin(&mut self, title: &str) {
        self.title = title.to_string();
        let network = if self.net.is_reliable() {
            "reliable"
        } else {
            "unreliable"
        };
        self.log(format_args!("begin: {title} ({network} network)"));
        self.t0 = runtime::now();
        self.rpcs0 = self.net.total_count();
        self.bytes0 = self.net.total_bytes();
        self.max_index0 = self.applied.lock().max_index;
    }

    /// The figures since [`begin`](Self::begin) (Go `end`'s numbers).
    pub fn stats(&self) -> Stats {
        Stats {
            elapsed: self.t0.elapsed(),
            peers: self.n,
            rpcs: self.net.total_count() - self.rpcs0,
            bytes: self.net.total_bytes() - self.bytes0,
            commands: self.applied.lock().max_index - self.max_index0,
        }
    }

    /// Whether peer `i` is connected.
    pub fn is_connected(&self, i: usize) -> bool {
        self.connected[i]
    }

    /// Connects peer `i`: enables its ends to every connected peer and theirs to it.
    pub fn connect(&mut self, i: usize) {
        self.log(format_args!("connect({i})"));
        probe::peer_event(Fact::Connect, i);
        self.connected[i] = true;
        for j in 0..self.n {
            if self.connected[j] {
                self.enable(i, j, true);
                self.enable(j, i, true);
            }
        }
    }

    /// Disconnects peer `i`: disables its ends and every end pointing at it.
    pub fn disconnect(&mut self, i: usize) {
        self.log(format_args!("disconnect({i})"));
        probe::peer_event(Fact::Disconnect, i);
        self.connected[i] = false;
        for j in 0..self.n {
            self.enable(i, j, false);
            self.enable(j, i, false);
        }
    }

    fn enable(&self, from: usize, to: usize, on: bool) {
        if let Some(name) = self.ends[from].get(to) {
            // The end exists: it was made by start1 and is never deleted.
            let _ = self.net.enable(name, on);
        }
    }

    /// Crashes peer `i` (Go `crash1`): disconnects it, deletes its server so calls in flight
    /// fail, keeps a copy of its persisted state, kills it and every task of its node.
    pub fn crash1(&mut self, i: usize) {
        self.log(format_args!("crash({i})"));
        probe::peer_event(Fact::Crash, i);
        self.monitor.peer_crashed(i);
        self.disconnect(i);
        self.net.delete_server(&server_name(i));
        // The old instance keeps writing to the old persister; the saved one is a copy.
        self.saved[i] = self.saved[i].copy();
        if let Some(peer) = self.peers[i].take() {
            peer.kill();
        }
        runtime::kill_node(self.nodes[i]);
    }

    /// Starts (or restarts) peer `i` (Go `start1`): fresh ends, a copy of its persisted state,
    /// a new node, an applier, and its server. It is not connected until [`connect`](Self::connect).
    pub fn start1(&mut self, i: usize) {
        if self.peers[i].is_some() {
            self.crash1(i);
        }
        self.log(format_args!("start({i})"));
        probe::peer_event(Fact::Start, i);
        self.generation += 1;
        let mut ends: Vec<ClientEnd> = Vec::with_capacity(self.n);
        let mut names = Vec::with_capacity(self.n);
        for j in 0..self.n {
            let name = format!("end-{i}-to-{j}-gen{}", self.generation);
            let end = self
                .net
                .make_end(name.clone())
                .expect("the tester makes each end name once");
            self.net
                .connect(&name, server_name(j))
                .expect("the end was just made");
            probe::end(end.id(), i, j);
            ends.push(end);
            names.push(name);
        }
        self.ends[i] = names;
        self.applied.lock().logs[i].clear();

        let persister = self.saved[i].copy();
        self.saved[i] = persister.clone();
        let node = runtime::new_node();
        self.nodes[i] = node;
        let life = self.monitor.peer_started(i, node, &ends, 0);
        let (tx, rx) = raft::apply_channel();
        let peer = runtime::enter_node(node, || P::make(ends, i, persister, tx));
        let server = Server::on_node(node);
        if let Err(e) = server.add_service(peer.service()) {
            self.applied
                .lock()
                .error
                .get_or_insert(format!("server {i}: cannot register its service: {e}"));
        }
        self.net.add_server(server_name(i), server);
        self.peers[i] = Some(Arc::new(peer));
        self.spawn_applier(i, rx, life);
    }

    /// Reads peer `i`'s apply channel and checks what it applies (Go `applier`).
    fn spawn_applier(&self, i: usize, mut rx: raft::ApplyReceiver, life: u64) {
        let applied = self.applied.clone();
        let monitor = self.monitor.clone();
        // The applier belongs to the tester (root node): it outlives the peer's crash and ends
        // when the peer's sender is dropped.
        let _detached = runtime::spawn_on(NodeId::ROOT, async move {
            while let Some(msg) = rx.recv().await {
                monitor.applied(i, life, &msg);
                let ApplyMsg::Command { index, command, .. } = msg else {
                    continue;
                };
                probe::applied(i, index);
                let mut a = applied.lock();
                if let Some(err) = check_apply(&mut a, i, index, command) {
                    a.error.get_or_insert(err);
                }
            }
        });
    }

    /// `(term, is_leader)` of each live, connected peer.
    fn connected_states(&self) -> Vec<(usize, u64, bool)> {
        (0..self.n)
            .filter(|&i| self.connected[i])
            .filter_map(|i| {
                self.peers[i].as_ref().map(|p| {
                    let (term, leader) = p.get_state();
                    probe::state(i, term, leader);
                    if leader {
                        self.monitor.leader_seen(i, term);
                    }
                    (i, term, leader)
                })
            })
            .collect()
    }

    /// Waits for a leader among the connected peers and returns it (Go `checkOneLeader`):
    /// up to 10 rounds of 450–549 ms. Two leaders in one term fail the test; leaders of older
    /// terms are tolerated, as in the original.
    pub async fn check_one_leader(&self) -> Result<usize, TestFailure> {
        for _ in 0..LEADER_CHECK_ROUNDS {
            let ms = LEADER_CHECK_SLEEP_MS + runtime::random_range(0..LEADER_CHECK_JITTER_MS);
            runtime::sleep(Duration::from_millis(ms)).await;
            self.monitor.check()?;
            let mut leaders: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
            for (i, term, leader) in self.connected_states() {
                if leader {
                    leaders.entry(term).or_default().push(i);
                }
            }
            for (term, ls) in &leaders {
                if ls.len() > 1 {
                    fail!("term {} has {} (>1) leaders", term, ls.len());
                }
            }
            if let Some((term, ls)) = leaders.iter().next_back() {
                self.log(format_args!(
                    "check_one_leader: S{} leads term {term}",
                    ls[0]
                ));
                return Ok(ls[0]);
            }
        }
        fail!("expected one leader, got none")
    }

    /// All connected peers must agree on the term (Go `checkTerms`); returns it.
    pub fn check_terms(&self) -> Result<u64, TestFailure> {
        let mut agreed: Option<u64> = None;
        for (_, term, _) in self.connected_states() {
            match agreed {
                None => agreed = Some(term),
                Some(t) if t != term => fail!("servers disagree on term"),
                Some(_) => {}
            }
        }
        Ok(agreed.unwrap_or(0))
    }

    /// No connected peer may claim leadership (Go `checkNoLeader`).
    pub fn check_no_leader(&self) -> Result<(), TestFailure> {
        for (i, _, leader) in self.connected_states() {
            if leader {
                fail!("expected no leader among connected servers, but {i} claims to be leader");
            }
        }
        Ok(())
    }

    /// After the network heals, a stale leader must step down: within two election timeouts,
    /// at most one connected peer may claim leadership. (The original tolerates a leader of an
    /// older term, so a peer that never steps down went unnoticed.) Only meaningful on a
    /// reliable network. A moment with no leader at all is left to [`check_one_leader`]'s
    /// five-second budget.
    ///
    /// [`check_one_leader`]: Self::check_one_leader
    pub async fn check_no_stale_leader(&self) -> Result<(), TestFailure> {
        let deadline = runtime::now() + 2 * RAFT_ELECTION_TIMEOUT;
        loop {
            let claimants: Vec<(usize, u64)> = self
                .connected_states()
                .into_iter()
                .filter(|&(_, _, leader)| leader)
                .map(|(i, term, _)| (i, term))
                .collect();
            if claimants.len() <= 1 {
                return Ok(());
            }
            let mut per_term: BTreeMap<u64, usize> = BTreeMap::new();
            for (_, term) in &claimants {
                *per_term.entry(*term).or_default() += 1;
            }
            if let Some((term, count)) = per_term.iter().find(|(_, c)| **c > 1) {
                fail!("term {} has {} (>1) leaders", term, count);
            }
            if runtime::now() >= deadline {
                let who: Vec<String> = claimants
                    .iter()
                    .map(|(i, term)| format!("{i} (term {term})"))
                    .collect();
                fail!(
                    "stale leader: {} connected servers still claim to be leader {:?} after the \
                     network healed: {}",
                    claimants.len(),
                    2 * RAFT_ELECTION_TIMEOUT,
                    who.join(", ")
                );
            }
            runtime::sleep(HEAL_POLL).await;
        }
    }

    /// Connects peer `i` and, on a reliable network, checks that no stale leader survives.
    pub async fn reconnect(&mut self, i: usize) -> Result<(), TestFailure> {
        self.connect(i);
        if self.net.is_reliable() {
            self.check_no_stale_leader().await?;
        }
        Ok(())
    }

    /// `(term, is_leader)` of peer `i`, or `None` if it is crashed.
    pub fn state_of(&self, i: usize) -> Option<(u64, bool)> {
        let (term, leader) = self.peers[i].as_ref()?.get_state();
        probe::state(i, term, leader);
        Some((term, leader))
    }

    /// Delivered RPCs to peer `i`'s server so far (Go `rpcCount`).
    pub fn rpc_count(&self, i: usize) -> u64 {
        self.net.count(&server_name(i))
    }

    /// The first apply error seen, as a failure (Go's `apply error: ...`).
    pub fn check_apply_errors(&self) -> Result<(), TestFailure> {
        self.monitor.check()?;
        match &self.applied.lock().error {
            Some(err) => fail!("apply error: {err}"),
            None => Ok(()),
        }
    }

    /// The safety monitor of this cluster.
    pub fn monitor(&self) -> &Arc<Monitor> {
        &self.monitor
    }

    /// Ends the test (Go `cleanup`): kills every peer and closes the network.
    pub fn cleanup(&mut self) {
        probe::cleanup();
        for i in 0..self.n {
            if let Some(peer) = self.peers[i].take() {
                peer.kill();
            }
            runtime::kill_node(self.nodes[i]);
        }
        self.net.cleanup();
    }
}

/// Records peer `i` applying `command` at `index`; returns an error message if it disagrees
/// with another peer or applies out of order (Go `checkLogs` and `applier`).
fn check_apply(a: &mut Applied, i: usize, index: u64, command: Vec<u8>) -> Option<String> {
    for (j, log) in a.logs.iter().enumerate() {
        if let Some(other) = log.get(&index) {
            if *other != command {
                return Some(format!(
                    "commit index={index} server={i} {command:?} != server={j} {other:?}"
                ));
            }
        }
    }
    let prev_ok = index <= 1 || a.logs[i].contains_key(&(index - 1));
    a.logs[i].insert(index, command);
    a.max_index = a.max_index.max(index);
    if !prev_ok {
        return Some(format!("server {i} apply out of order {index}"));
    }
    None
}

impl<P: Peer> Drop for Tester<P> {
    fn drop(&mut self) {
        // Never panics: outside a runtime (the run already ended) there is nothing to kill.
        if runtime::in_runtime() {
            self.cleanup();
        }
    }
}
