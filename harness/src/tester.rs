//! The tester: what Go's `config.go` does for the Raft tests.
//!
//! It builds `n` peers on a [`Network`], connects and disconnects them, crashes and restarts them
//! with fresh ends and a copied persister, reads what they apply, and checks leaders, terms and
//! agreement. Checks return [`TestFailure`]s whose text matches the Go tester's messages, so
//! students can search for them.
//!
//! The test body owns the [`Tester`] and is the only one that changes the world (connect,
//! crash, restart, network faults). Tasks the test spawns, as the Go tests start goroutines that
//! call `one` or `Start`, get a cloneable [`TesterHandle`]; the `Tester` dereferences to its own
//! handle, so every check is available on both.
//!
//! # What the applier checks
//!
//! Every message each peer sends on its apply channel is checked as it arrives, as Go's
//! `applier` does, and the first error fails the test (`apply error: ...`) at the next check the
//! test makes. Beyond the original, the tester keeps the history of every index ever applied,
//! across crashes and restarts: a value applied at an index where any peer, in any incarnation,
//! applied a different one is an error, as is a command no one passed to `Start()`, a command
//! that does not decode, or an index applied twice.
//!
//! **A deliberate difference**: what a peer applied belongs to one incarnation. A restart
//! clears it (its service starts over, from the saved snapshot if there is one), so a restarted
//! peer must apply its log again from index 1, or from the entry after its snapshot, in order:
//! Figure 2 makes lastApplied volatile state, "initialized to 0". The original's tester keeps a
//! peer's applied commands across its restarts (only a restored snapshot replaces them), so
//! there a restarted peer that saved lastApplied and goes on after it passes; here it fails
//! with `apply out of order`, saying why. The safety monitor checks the same, per life.
//!
//! # The snapshot service (part D)
//!
//! [`Tester::with_snapshots`] gives each peer the service of Go's `applierSnap`: a command must
//! be the one after the service's last index (`apply out of order, expected index %v, got %v`);
//! a snapshot from the peer must decode (`snapshot decode error`, `nil snapshot`) and cover the
//! index it claims (`snapshot doesn't match m.SnapshotIndex`), and becomes the service's state;
//! after every [`SNAPSHOT_INTERVAL`] commands the service calls the peer's `snapshot` from its
//! applier task, before it takes the next message, and a restarted peer's service first restores
//! the saved snapshot. The apply channel stays unbuffered, so a peer that holds its lock while it
//! sends deadlocks with that call; the trial reports it as such: the applier runs on a node of
//! its own ([`applier_label`]) and makes the call through [`runtime::call_into`] (named
//! [`SNAPSHOT_CALL`]), so the watchdog reports a call that has not returned within
//! [`runtime::DEADLOCK_AFTER`] and says which peer's sends on the apply channel were waiting
//! (the channel records them, [`raftapi::APPLY_SEND_WAIT`]). [`Tester::log_size`] is Go's `LogSize`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use labrpc::observe::Observer;
use labrpc::runtime::{self, Instant, NodeId};
use labrpc::{ClientEnd, Network, Server};
use parking_lot::Mutex;
use raftapi::{ApplyMsg, Persister};
use serde::{Deserialize, Serialize};

use crate::monitor::{Monitor, MonitorSettings};
use crate::timeline::probe::{self, Fact};
use raftapi::Peer;

/// How the tester's log line for a new cluster begins (`new cluster: 3 peers`).
pub const CLUSTER_LINE: &str = "new cluster: ";

/// The tester's allowance for one election (Go `RaftElectionTimeout`): one second, far more
/// than the paper's range.
pub const RAFT_ELECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// The most a whole test may take (Go's `test took longer than 120 seconds`), enforced while
/// the test runs.
pub const TEST_TIME_LIMIT: Duration = Duration::from_secs(120);

/// Rounds of [`TesterHandle::check_one_leader`].
const LEADER_CHECK_ROUNDS: usize = 10;
/// Each round of [`TesterHandle::check_one_leader`] first sleeps this long plus up to
/// [`LEADER_CHECK_JITTER_MS`].
const LEADER_CHECK_SLEEP_MS: u64 = 450;
/// See [`LEADER_CHECK_SLEEP_MS`].
const LEADER_CHECK_JITTER_MS: u64 = 100;
/// How often [`Tester::check_no_stale_leader`] looks while the network heals.
const HEAL_POLL: Duration = Duration::from_millis(50);

/// How long [`TesterHandle::one`] keeps trying in all (Go: 10 s).
pub const ONE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`TesterHandle::one`] waits for a command a leader accepted to commit (Go: 2 s).
const ONE_AGREEMENT_WAIT: Duration = Duration::from_secs(2);
/// How often [`TesterHandle::one`] looks for the commit (Go: 20 ms).
const ONE_POLL: Duration = Duration::from_millis(20);
/// How long [`TesterHandle::one`] sleeps when no peer accepted the command (Go: 50 ms).
const ONE_NO_LEADER_SLEEP: Duration = Duration::from_millis(50);
/// Polls of [`TesterHandle::wait`] (Go: 30).
const WAIT_POLLS: usize = 30;
/// [`TesterHandle::wait`]'s first sleep, doubled while below one second (Go: 10 ms).
const WAIT_FIRST_SLEEP: Duration = Duration::from_millis(10);

/// The tester's service snapshots after every command whose index + 1 is a multiple of this
/// (Go `SnapShotInterval`), so at indices 9, 19, 29, ...
pub const SNAPSHOT_INTERVAL: u64 = 10;

/// The most bytes of Raft state any peer may have saved in the snapshot tests (Go
/// `MAXLOGSIZE`): a peer that never trims its log goes past it.
pub const MAX_LOG_SIZE: usize = 2000;

/// How the tester's applier names its call of a peer's `snapshot` to the runtime
/// ([`runtime::call_into`]): a stuck run's report shows it in the stuck poll's
/// [`call`](labrpc::runtime::HeldPoll::call).
pub const SNAPSHOT_CALL: &str = "snapshot()";

/// The label of the node the tester's applier of peer `i` runs on: its stuck poll is a peer's
/// `snapshot` that never returned.
pub fn applier_label(i: usize) -> String {
    format!("the tester's applier of S{i}")
}

/// The peer whose tester's applier runs on a node labelled `label` (see [`applier_label`]).
pub fn applier_peer(label: &str) -> Option<usize> {
    label
        .strip_prefix("the tester's applier of S")?
        .parse()
        .ok()
}

/// What the tester's service puts in a snapshot (Go: the index and the log through it, as
/// `labgob` values): the last index it covers, and the command at every index from 0 (always
/// `None`) through it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct SnapshotData {
    last_included_index: u64,
    log: Vec<Option<Command>>,
}

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

/// The figures of one cluster's test, from [`Tester::begin`] to [`Tester::stats`] (what Go's
/// `end()` prints).
///
/// Displayed in the Go tester's 2025–2026 format, the one the current handout shows, with the
/// `... Passed --` prefix and one line per cluster:
///
/// ```text
///   ... Passed --  time  3.6s #peers 3 #RPCs    44 #Ops    0
/// ```
///
/// `time` is the run time of the test (virtual in sim mode), `#RPCs` the RPCs sent (counted at
/// send, including those to disconnected peers), and `#Ops` the commands committed (the highest
/// index any peer applied, so 0 in part A). The bytes sent, which the 2021–2024 format printed
/// as a fourth number, are kept in [`Stats::bytes`] for the reports but not printed.
///
/// ```
/// use std::time::Duration;
/// use harness::tester::Stats;
///
/// let stats = Stats { elapsed: Duration::from_millis(3589), peers: 3, rpcs: 44, bytes: 432, commands: 0 };
/// assert_eq!(stats.to_string(), "  ... Passed --  time  3.6s #peers 3 #RPCs    44 #Ops    0");
/// ```
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
            "  ... Passed --  time {:4.1}s #peers {} #RPCs {:5} #Ops {:4}",
            self.elapsed.as_secs_f64(),
            self.peers,
            self.rpcs,
            self.commands
        )
    }
}

/// What a passing test reports: a stats line per cluster it ran (a test that builds two clusters,
/// as `heartbeat_stability` does, has two), and the warnings it printed on the way.
///
/// Displayed as the Go tester prints it: each warning on a line of its own, then the stats lines.
///
/// ```
/// use std::time::Duration;
/// use harness::tester::{Passed, Stats};
///
/// let stats = Stats { elapsed: Duration::from_secs(2), peers: 3, rpcs: 20, bytes: 200, commands: 0 };
/// let mut passed = Passed::from(stats);
/// passed.warnings.push("warning: term changed even though there were no failures".into());
/// assert_eq!(
///     passed.to_string(),
///     "warning: term changed even though there were no failures\n  ... Passed --  time  2.0s #peers 3 #RPCs    20 #Ops    0"
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Passed {
    /// The figures of each cluster, in the order the test ran them.
    pub clusters: Vec<Stats>,
    /// Non-fatal findings in the Go tester's words, e.g. `warning: term changed even though
    /// there were no failures`.
    pub warnings: Vec<String>,
}

impl From<Stats> for Passed {
    fn from(stats: Stats) -> Self {
        Passed {
            clusters: vec![stats],
            warnings: Vec::new(),
        }
    }
}

impl fmt::Display for Passed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines = self.warnings.iter().map(|w| w as &dyn fmt::Display);
        let lines = lines.chain(self.clusters.iter().map(|s| s as &dyn fmt::Display));
        for (i, line) in lines.enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{line}")?;
        }
        Ok(())
    }
}

/// A command the tests ask Raft to agree on. Raft carries it as the bytes of
/// [`encode`](Command::encode) and never looks inside; the tester decodes what peers apply.
///
/// The original passes Go `interface{}` values: ints in most tests, a 5000-character string in
/// TestRPCBytes.
///
/// ```
/// use harness::tester::Command;
///
/// let cmd = Command::Int(101);
/// assert_eq!(Command::decode(&cmd.encode()), Ok(cmd));
/// assert_eq!(Command::Int(7).to_string(), "7");
/// assert!(Command::decode(&[0xff]).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Command {
    /// A number, as most of the original tests use.
    Int(u64),
    /// A string, as TestRPCBytes uses.
    Text(String),
}

/// Applied bytes that are not a [`Command`] the tester encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{len} bytes that are not a command the tester encoded ({detail})")]
pub struct CommandDecodeError {
    /// How many bytes there were.
    pub len: usize,
    /// The codec's explanation.
    pub detail: String,
}

impl Command {
    /// The bytes handed to Raft's `start`.
    pub fn encode(&self) -> Vec<u8> {
        labrpc::codec::encode(self).expect("a Command always encodes")
    }

    /// The command back from the bytes a peer applied.
    ///
    /// # Errors
    /// [`CommandDecodeError`] when the bytes are not a command's encoding (a peer that corrupts
    /// or truncates commands).
    pub fn decode(bytes: &[u8]) -> Result<Command, CommandDecodeError> {
        // The codec rejects trailing bytes too, so a command with junk appended fails here.
        labrpc::codec::decode(bytes).map_err(|e| CommandDecodeError {
            len: bytes.len(),
            detail: e.to_string(),
        })
    }

    /// The number, if this is an [`Int`](Command::Int).
    pub fn as_int(&self) -> Option<u64> {
        match self {
            Command::Int(x) => Some(*x),
            Command::Text(_) => None,
        }
    }

    /// A random number command, as the Go tests' `rand.Int()`.
    ///
    /// # Panics
    /// Panics outside a lab runtime.
    pub fn random() -> Command {
        Command::Int(runtime::random_range(0..1 << 62))
    }
}

impl From<u64> for Command {
    fn from(x: u64) -> Self {
        Command::Int(x)
    }
}

/// Text commands longer than this are shown shortened in messages.
const TEXT_SHOWN: usize = 16;

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Int(x) => write!(f, "{x}"),
            Command::Text(s) if s.chars().count() <= TEXT_SHOWN => write!(f, "{s:?}"),
            Command::Text(s) => {
                let head: String = s.chars().take(TEXT_SHOWN).collect();
                write!(f, "{head:?}... ({} chars)", s.chars().count())
            }
        }
    }
}

/// What the tester has seen the peers apply.
#[derive(Default)]
struct Applied {
    /// Per peer, for its current incarnation (cleared when it restarts): index → command.
    logs: Vec<BTreeMap<u64, Command>>,
    /// Per peer: which incarnation is alive; bumped by a crash, so a dead incarnation's
    /// late messages are not taken for the new one's.
    incarnation: Vec<u64>,
    /// Every index ever applied by any peer in any incarnation: the first value, the peer
    /// that applied it and that peer's incarnation.
    history: BTreeMap<u64, (Command, usize, u64)>,
    /// Every command passed to a peer's `start`.
    started: BTreeSet<Command>,
    /// The highest index any peer applied.
    max_index: u64,
    /// Per peer: the last index its current incarnation's service holds (Go `lastApplied`,
    /// set by commands and by snapshots).
    last_applied: Vec<u64>,
    /// The first apply error seen (Go's `apply error: ...`).
    error: Option<TestFailure>,
    /// Per peer: whether its current incarnation has applied nothing yet.
    quiet: Vec<bool>,
}

impl Applied {
    fn new(n: usize) -> Self {
        Applied {
            logs: vec![BTreeMap::new(); n],
            incarnation: vec![0; n],
            last_applied: vec![0; n],
            quiet: vec![true; n],
            ..Applied::default()
        }
    }

    /// Takes the snapshot `data` as peer `i`'s service state (Go `ingestSnap`): it must decode,
    /// and cover `index` when the peer said which (`None` at a restart). Its commands must
    /// agree with what any peer ever applied at their indices (beyond the original).
    fn ingest(&mut self, i: usize, data: &[u8], index: Option<u64>) -> Result<(), String> {
        if data.is_empty() {
            return Err("nil snapshot".into());
        }
        let snap: SnapshotData =
            labrpc::codec::decode(data).map_err(|_| "snapshot decode error".to_string())?;
        if index.is_some_and(|index| index != snap.last_included_index) {
            return Err(format!("server {i} snapshot doesn't match m.SnapshotIndex"));
        }
        let mut log = BTreeMap::new();
        for (j, command) in snap.log.into_iter().enumerate() {
            let Some(command) = command else { continue };
            let j = j as u64;
            if let Some((old, k, _)) = self.history.get(&j) {
                if *old != command {
                    return Err(format!(
                        "commit index={j} server={i} {command} != server={k} {old} (in a \
                         snapshot)"
                    ));
                }
            }
            log.insert(j, command);
        }
        self.logs[i] = log;
        self.last_applied[i] = snap.last_included_index;
        Ok(())
    }

    /// The snapshot of peer `i`'s service through `index` (Go: the index, then the log from 0
    /// through it).
    fn snapshot_of(&self, i: usize, index: u64) -> Vec<u8> {
        let log = (0..=index).map(|j| self.logs[i].get(&j).cloned()).collect();
        labrpc::codec::encode(&SnapshotData {
            last_included_index: index,
            log,
        })
        .expect("a snapshot of commands always encodes")
    }

    /// Peer `i`'s applier in the snapshot tests (Go `applierSnap`) took `msg`: a snapshot is
    /// ingested; a command must be the one after the service's last, then is checked as
    /// [`check_apply`](Applied::check_apply) does. Returns the snapshot the service takes now
    /// (after every [`SNAPSHOT_INTERVAL`] commands), if any.
    fn apply_snap(&mut self, i: usize, inc: u64, msg: &ApplyMsg) -> Option<(u64, Vec<u8>)> {
        let quiet = std::mem::replace(&mut self.quiet[i], false);
        match msg {
            ApplyMsg::Snapshot { index, data, .. } => {
                if let Err(err) = self.ingest(i, data, Some(*index)) {
                    self.record_error(err);
                }
                None
            }
            ApplyMsg::Command { index, command, .. } => {
                let expected = self.last_applied[i] + 1;
                if *index != expected {
                    let why = self.restart_note(i, quiet && *index > expected);
                    self.record_error(format!(
                        "server {i} apply out of order, expected index {expected}, got \
                         {index}{why}"
                    ));
                } else if let Some(err) = self.check_apply(i, inc, *index, command) {
                    self.record_error(err);
                }
                self.last_applied[i] = *index;
                ((index + 1) % SNAPSHOT_INTERVAL == 0)
                    .then(|| (*index, self.snapshot_of(i, *index)))
            }
        }
    }

    /// Why an apply past the next index is out of order, when it is the first apply of a
    /// restarted peer (`first_skips`; empty otherwise): the tester's service of a peer starts
    /// over at a restart, unlike the original's (see the module docs).
    fn restart_note(&self, i: usize, first_skips: bool) -> String {
        if !(first_skips && self.incarnation[i] > 0) {
            return String::new();
        }
        " (it was restarted and has applied nothing since: lastApplied is volatile state, \
         initialized to 0, and the service's state went with the crash, so a restarted peer \
         applies its log again from index 1, or from the entry after its snapshot; the \
         original lab's tester lets a restarted peer go on where it was)"
            .to_string()
    }

    fn record_error(&mut self, message: String) {
        tracing::warn!(target: "tester", topic = "test", "apply error: {message}");
        self.error
            .get_or_insert_with(|| TestFailure::new(format!("apply error: {message}")));
    }

    /// Checks peer `i`'s incarnation `inc` applying `bytes` at `index` (Go `checkLogs` and
    /// `applier`, plus the history across crashes) and records it. Returns the error, if any.
    fn check_apply(&mut self, i: usize, inc: u64, index: u64, bytes: &[u8]) -> Option<String> {
        let quiet = std::mem::replace(&mut self.quiet[i], false);
        let command = match Command::decode(bytes) {
            Ok(c) => c,
            Err(e) => {
                return Some(format!(
                    "server {i} applied a command at index {index} that the tester never \
                     sent: {e}"
                ))
            }
        };
        if !self.started.contains(&command) {
            return Some(format!(
                "server {i} applied {command} at index {index}, but no server was ever given \
                 {command} by Start()"
            ));
        }
        if let Some((old, j, old_inc)) = self.history.get(&index) {
            if *old != command {
                let crashed = if self.incarnation[*j] != *old_inc {
                    format!(" (server {j} applied it before a crash)")
                } else {
                    String::new()
                };
                return Some(format!(
                    "commit index={index} server={i} {command} != server={j} {old}{crashed}"
                ));
            }
        }
        let last = self.logs[i].keys().next_back().copied().unwrap_or(0);
        let error = if index > last + 1 {
            // Go: prevok is false.
            let why = self.restart_note(i, quiet);
            Some(format!("server {i} apply out of order {index}{why}"))
        } else if index <= last {
            Some(format!(
                "server {i} apply out of order {index} (it had already applied through index \
                 {last})"
            ))
        } else {
            None
        };
        self.history
            .entry(index)
            .or_insert((command.clone(), i, inc));
        self.logs[i].insert(index, command);
        self.max_index = self.max_index.max(index);
        error
    }
}

/// The parts of the world the test body changes and its tasks read.
struct World<P> {
    peers: Vec<Option<Arc<P>>>,
    connected: Vec<bool>,
    saved: Vec<Persister>,
    /// `ends[i][j]`: the name of peer i's end to peer j.
    ends: Vec<Vec<String>>,
    nodes: Vec<NodeId>,
    /// The node of each peer's tester's applier (see [`applier_label`]).
    appliers: Vec<NodeId>,
    generation: u64,
}

struct Shared<P> {
    net: Network,
    n: usize,
    /// Whether the service snapshots (Go `applierSnap`, part D).
    snapshots: bool,
    world: Mutex<World<P>>,
    applied: Arc<Mutex<Applied>>,
    /// The safety monitor of this cluster.
    monitor: Arc<Monitor>,
}

/// A cloneable view of a test's world for the tasks a test spawns (Go's goroutines calling
/// `one`, `Start` and `nCommitted`): every check and agreement helper, nothing that changes
/// connections or crashes peers.
pub struct TesterHandle<P: Peer> {
    shared: Arc<Shared<P>>,
}

impl<P: Peer> Clone for TesterHandle<P> {
    fn clone(&self) -> Self {
        TesterHandle {
            shared: self.shared.clone(),
        }
    }
}

/// A test's world: the network, the peers and the checks (Go `config`). Dropping it kills every
/// peer and closes the network.
pub struct Tester<P: Peer> {
    handle: TesterHandle<P>,
    title: String,
    t0: Instant,
    rpcs0: u64,
    bytes0: u64,
    max_index0: u64,
}

impl<P: Peer> Deref for Tester<P> {
    type Target = TesterHandle<P>;
    fn deref(&self) -> &TesterHandle<P> {
        &self.handle
    }
}

/// The network name of peer `i`'s server.
pub fn server_name(i: usize) -> String {
    format!("server-{i}")
}

/// Logs a tester event (topic `test`), which the log view spans across all columns.
fn log_event(message: fmt::Arguments<'_>) {
    tracing::info!(target: "tester", topic = "test", "{message}");
}

impl<P: Peer> Tester<P> {
    /// Builds `n` peers on a network that is reliable or not, with long delays on (as the Go
    /// tester always has), starts and connects them all.
    pub fn new(n: usize, reliable: bool) -> Self {
        Tester::build(n, reliable, false)
    }

    /// As [`new`](Tester::new), with the service of the snapshot tests (Go
    /// `make_config(..., snapshot = true)`): each peer's applier checks that commands come in
    /// order after the service's last index, takes snapshots it is sent, and calls the peer's
    /// `snapshot` after every [`SNAPSHOT_INTERVAL`] commands, before it takes the next message.
    pub fn with_snapshots(n: usize, reliable: bool) -> Self {
        Tester::build(n, reliable, true)
    }

    fn build(n: usize, reliable: bool, snapshots: bool) -> Self {
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
        let world = World {
            peers: (0..n).map(|_| None).collect(),
            connected: vec![false; n],
            saved: (0..n).map(|_| Persister::new()).collect(),
            ends: vec![Vec::new(); n],
            nodes: vec![NodeId::ROOT; n],
            appliers: vec![NodeId::ROOT; n],
            generation: 0,
        };
        let mut t = Tester {
            handle: TesterHandle {
                shared: Arc::new(Shared {
                    net,
                    n,
                    snapshots,
                    world: Mutex::new(world),
                    applied: Arc::new(Mutex::new(Applied::new(n))),
                    monitor,
                }),
            },
            title: String::new(),
            t0: runtime::now(),
            rpcs0: 0,
            bytes0: 0,
            max_index0: 0,
        };
        // Said in the log too, so a page drawn from the text log alone knows its clusters.
        t.log(format_args!("{CLUSTER_LINE}{n} peers"));
        for i in 0..n {
            t.start1(i);
        }
        for i in 0..n {
            t.connect(i);
        }
        t
    }

    /// A handle for tasks the test spawns.
    pub fn handle(&self) -> TesterHandle<P> {
        self.handle.clone()
    }

    /// Starts a test: logs its title and records the counters (Go `begin`).
    pub fn begin(&mut self, title: &str) {
        self.title = title.to_string();
        let network = if self.net().is_reliable() {
            "reliable"
        } else {
            "unreliable"
        };
        self.log(format_args!("begin: {title} ({network} network)"));
        self.t0 = runtime::now();
        self.rpcs0 = self.net().total_count();
        self.bytes0 = self.net().total_bytes();
        let max_index = self.shared.applied.lock().max_index;
        self.max_index0 = max_index;
    }

    /// The figures since [`begin`](Self::begin) (Go `end`'s numbers).
    pub fn stats(&self) -> Stats {
        Stats {
            elapsed: self.t0.elapsed(),
            peers: self.n(),
            rpcs: self.net().total_count() - self.rpcs0,
            bytes: self.net().total_bytes() - self.bytes0,
            commands: self.shared.applied.lock().max_index - self.max_index0,
        }
    }

    /// Ends a test (Go `end`): fails on any apply error seen, else returns the figures.
    pub fn end(&self) -> Result<Stats, TestFailure> {
        self.check_apply_errors()?;
        let stats = self.stats();
        self.log(format_args!("end: {}{stats}", self.title));
        Ok(stats)
    }

    /// Connects peer `i`: enables its ends to every connected peer and theirs to it.
    pub fn connect(&mut self, i: usize) {
        self.log(format_args!("connect({i})"));
        probe::peer_event(Fact::Connect, i);
        let mut w = self.shared.world.lock();
        w.connected[i] = true;
        for j in 0..self.n() {
            if w.connected[j] {
                self.enable(&w, i, j, true);
                self.enable(&w, j, i, true);
            }
        }
    }

    /// Disconnects peer `i`: disables its ends and every end pointing at it.
    pub fn disconnect(&mut self, i: usize) {
        self.log(format_args!("disconnect({i})"));
        probe::peer_event(Fact::Disconnect, i);
        let mut w = self.shared.world.lock();
        w.connected[i] = false;
        for j in 0..self.n() {
            self.enable(&w, i, j, false);
            self.enable(&w, j, i, false);
        }
    }

    fn enable(&self, w: &World<P>, from: usize, to: usize, on: bool) {
        if let Some(name) = w.ends[from].get(to) {
            // The end exists: it was made by start1 and is never deleted.
            let _ = self.net().enable(name, on);
        }
    }

    /// Makes the network reliable or not (Go `setunreliable` / `SetReliable`).
    pub fn set_reliable(&mut self, reliable: bool) {
        self.log(format_args!("set_reliable({reliable})"));
        self.net().set_reliable(reliable);
    }

    /// Turns long reordering of replies on or off (Go `setlongreordering`).
    pub fn set_long_reordering(&mut self, on: bool) {
        self.log(format_args!("set_long_reordering({on})"));
        self.net().set_long_reordering(on);
    }

    /// Crashes peer `i` (Go `crash1`): disconnects it, deletes its server so calls in flight
    /// fail, keeps a copy of its persisted state (so the dead instance's later writes go to an
    /// orphaned persister), kills it and every task of its node. What it applied still counts
    /// in [`n_committed`](TesterHandle::n_committed) until it restarts, as in the original;
    /// the tester's history of applied values keeps it for good.
    pub fn crash1(&mut self, i: usize) {
        self.log(format_args!("crash({i})"));
        probe::peer_event(Fact::Crash, i);
        self.shared.monitor.peer_crashed(i);
        self.disconnect(i);
        self.net().delete_server(&server_name(i));
        let (peer, node, applier) = {
            let mut w = self.shared.world.lock();
            w.saved[i] = w.saved[i].copy();
            (w.peers[i].take(), w.nodes[i], w.appliers[i])
        };
        self.shared.applied.lock().incarnation[i] += 1;
        if let Some(peer) = peer {
            peer.kill();
        }
        runtime::kill_node(node);
        // The service of the crashed instance goes with it.
        runtime::kill_node(applier);
    }

    /// Starts (or restarts) peer `i` (Go `start1`): crashes it first if it is up, then fresh
    /// ends, a copy of its persisted state, a new node, an unbuffered apply channel with an
    /// applier, and its server. It is not connected until [`connect`](Self::connect).
    pub fn start1(&mut self, i: usize) {
        if self.shared.world.lock().peers[i].is_some() {
            self.crash1(i);
        }
        self.log(format_args!("start({i})"));
        probe::peer_event(Fact::Start, i);
        let n = self.n();
        let net = self.net().clone();
        let mut w = self.shared.world.lock();
        w.generation += 1;
        let generation = w.generation;
        let mut ends: Vec<ClientEnd> = Vec::with_capacity(n);
        let mut names = Vec::with_capacity(n);
        for j in 0..n {
            let name = format!("end-{i}-to-{j}-gen{generation}");
            let end = net
                .make_end(name.clone())
                .expect("the tester makes each end name once");
            net.connect(&name, server_name(j))
                .expect("the end was just made");
            probe::end(end.id(), i, j);
            ends.push(end);
            names.push(name);
        }
        w.ends[i] = names;
        let persister = w.saved[i].copy();
        w.saved[i] = persister.clone();
        let (incarnation, restored_through) = {
            let mut a = self.shared.applied.lock();
            a.logs[i].clear();
            a.last_applied[i] = 0;
            a.quiet[i] = true;
            // Imitate a service that restores its state from the saved snapshot (Go start1).
            let snapshot = persister.read_snapshot();
            if !snapshot.is_empty() {
                if let Err(err) = a.ingest(i, &snapshot, None) {
                    a.record_error(format!("server {i} at restart: {err}"));
                }
            }
            (a.incarnation[i], a.last_applied[i])
        };

        // Labelled as the logs name the peer, so a panic or a stuck task of this peer says S{i}.
        let node = runtime::new_node_named(format!("S{i}"));
        w.nodes[i] = node;
        // The monitor knows what the restored snapshot already applied.
        let life = self
            .shared
            .monitor
            .peer_started(i, node, &ends, restored_through);
        let (tx, rx) = raftapi::apply_channel();
        let peer = runtime::enter_node(node, || P::make(ends, i, persister, tx));
        let server = Server::on_node(node);
        if let Err(e) = server.add_service(peer.service()) {
            self.shared
                .applied
                .lock()
                .record_error(format!("server {i}: cannot register its service: {e}"));
        }
        net.add_server(server_name(i), server);
        let peer = Arc::new(peer);
        w.peers[i] = Some(peer.clone());
        let applier = runtime::new_node_named(applier_label(i));
        w.appliers[i] = applier;
        drop(w);
        self.spawn_applier(i, incarnation, life, rx, (peer, node), applier);
    }

    /// Reads peer `i`'s apply channel and checks what it applies (Go `applier`, or
    /// `applierSnap` in the snapshot tests, which also calls the peer's `snapshot`).
    fn spawn_applier(
        &self,
        i: usize,
        incarnation: u64,
        life: u64,
        mut rx: raftapi::ApplyReceiver,
        (peer, peer_node): (Arc<P>, NodeId),
        node: NodeId,
    ) {
        let applied = self.shared.applied.clone();
        let snapshots = self.shared.snapshots;
        let monitor = self.shared.monitor.clone();
        // The applier is the peer's service: it keeps reading after an error, so a peer is
        // never blocked on its channel, and ends when the peer's sender is dropped or the peer
        // crashes (its node is killed with the peer's). Its node is labelled, so a `snapshot`
        // call that never returns is reported as that (see `applier_label`).
        let _detached = runtime::spawn_on(node, async move {
            while let Some(msg) = rx.recv().await {
                monitor.applied(i, life, &msg);
                let due = {
                    let mut a = applied.lock();
                    if a.incarnation[i] != incarnation {
                        // A crashed instance's last message: the service it was for is gone.
                        return;
                    }
                    match &msg {
                        ApplyMsg::Command { index, .. } | ApplyMsg::Snapshot { index, .. } => {
                            probe::applied(i, *index)
                        }
                    }
                    if snapshots {
                        a.apply_snap(i, incarnation, &msg)
                    } else {
                        if let ApplyMsg::Command { index, command, .. } = &msg {
                            if let Some(err) = a.check_apply(i, incarnation, *index, command) {
                                a.record_error(err);
                            }
                        }
                        None
                    }
                };
                // Synchronously, before the next message is taken, as Go's applierSnap does:
                // a peer that holds its lock while it sends on the apply channel deadlocks here.
                // Marked as a call into the peer, so the watchdog names it if it never returns.
                if let Some((index, data)) = due {
                    // What every InstallSnapshot through `index` must carry.
                    monitor.snapshot_made(index, &data);
                    runtime::call_into(peer_node, SNAPSHOT_CALL, || peer.snapshot(index, data));
                }
            }
        });
    }

    /// The largest Raft state any peer has saved, in bytes (Go `LogSize`).
    pub fn log_size(&self) -> usize {
        let w = self.shared.world.lock();
        w.saved
            .iter()
            .map(Persister::raft_state_size)
            .max()
            .unwrap_or(0)
    }

    /// After the network heals, a stale leader must step down: within two election timeouts,
    /// at most one connected peer may claim leadership. (The original tolerates a leader of an
    /// older term, so a peer that never steps down went unnoticed.) Only meaningful on a
    /// reliable network. A moment with no leader at all is left to
    /// [`check_one_leader`](TesterHandle::check_one_leader)'s five-second budget.
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
        if self.net().is_reliable() {
            self.check_no_stale_leader().await?;
        }
        Ok(())
    }

    /// Ends the test (Go `cleanup`): kills every peer and closes the network.
    pub fn cleanup(&mut self) {
        probe::cleanup();
        let appliers = self.shared.world.lock().appliers.clone();
        let doomed: Vec<(Option<Arc<P>>, NodeId)> = {
            let mut w = self.shared.world.lock();
            let nodes = w.nodes.clone();
            w.peers.iter_mut().map(Option::take).zip(nodes).collect()
        };
        {
            let mut a = self.shared.applied.lock();
            for inc in a.incarnation.iter_mut() {
                *inc += 1;
            }
        }
        for (peer, node) in doomed {
            if let Some(peer) = peer {
                peer.kill();
            }
            runtime::kill_node(node);
        }
        for applier in appliers {
            runtime::kill_node(applier);
        }
        self.net().cleanup();
    }
}

impl<P: Peer> TesterHandle<P> {
    /// The number of peers.
    pub fn n(&self) -> usize {
        self.shared.n
    }

    /// The network (for its counters and fault switches).
    pub fn net(&self) -> &Network {
        &self.shared.net
    }

    /// Logs a tester event (topic `test`), which the log view spans across all columns.
    pub fn log(&self, message: impl fmt::Display) {
        log_event(format_args!("{message}"));
    }

    /// The safety monitor of this cluster.
    pub fn monitor(&self) -> &Arc<Monitor> {
        &self.shared.monitor
    }

    /// Whether peer `i` is connected.
    pub fn is_connected(&self, i: usize) -> bool {
        self.shared.world.lock().connected[i]
    }

    /// Whether peer `i` is running (not crashed).
    pub fn is_up(&self, i: usize) -> bool {
        self.shared.world.lock().peers[i].is_some()
    }

    fn peer(&self, i: usize) -> Option<Arc<P>> {
        self.shared.world.lock().peers[i].clone()
    }

    /// `(term, is_leader)` of peer `i`, or `None` if it is crashed.
    pub fn state_of(&self, i: usize) -> Option<(u64, bool)> {
        let (term, leader) = self.peer(i)?.get_state();
        probe::state(i, term, leader);
        Some((term, leader))
    }

    /// `(peer, term, is_leader)` of each live, connected peer.
    fn connected_states(&self) -> Vec<(usize, u64, bool)> {
        let live: Vec<(usize, Arc<P>)> = {
            let w = self.shared.world.lock();
            (0..self.n())
                .filter(|&i| w.connected[i])
                .filter_map(|i| w.peers[i].clone().map(|p| (i, p)))
                .collect()
        };
        live.into_iter()
            .map(|(i, p)| {
                let (term, leader) = p.get_state();
                probe::state(i, term, leader);
                if leader {
                    self.shared.monitor.leader_seen(i, term);
                }
                (i, term, leader)
            })
            .collect()
    }

    /// Delivered RPCs to peer `i`'s server so far (Go `rpcCount`).
    pub fn rpc_count(&self, i: usize) -> u64 {
        self.net().count(&server_name(i))
    }

    /// Asks live peer `i` to agree on `cmd` (Go `rafts[i].Start(cmd)`): `None` if the peer is
    /// crashed or does not believe it leads, else the `(index, term)` it gave the command.
    pub fn start(&self, i: usize, cmd: &Command) -> Option<(u64, u64)> {
        let peer = self.peer(i)?;
        self.shared.applied.lock().started.insert(cmd.clone());
        peer.start(cmd.encode())
    }

    /// Waits for a leader among the connected peers and returns it (Go `checkOneLeader`):
    /// up to 10 rounds of 450–549 ms. Two leaders in one term fail the test; leaders of older
    /// terms are tolerated, as in the original.
    pub async fn check_one_leader(&self) -> Result<usize, TestFailure> {
        for _ in 0..LEADER_CHECK_ROUNDS {
            let ms = LEADER_CHECK_SLEEP_MS + runtime::random_range(0..LEADER_CHECK_JITTER_MS);
            runtime::sleep(Duration::from_millis(ms)).await;
            self.check_apply_errors()?;
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
    ///
    /// With no peer connected there is no term to return: the original returns -1 then, which
    /// its callers go on to fail on (`term is -1, but should be at least 1`); this fails at once
    /// and says why.
    pub fn check_terms(&self) -> Result<u64, TestFailure> {
        let mut agreed: Option<u64> = None;
        for (_, term, _) in self.connected_states() {
            match agreed {
                None => agreed = Some(term),
                Some(t) if t != term => fail!("servers disagree on term"),
                Some(_) => {}
            }
        }
        match agreed {
            Some(term) => Ok(term),
            None => fail!("check_terms: no connected server to ask for its term"),
        }
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

    /// The first apply error seen, as a failure (Go's `apply error: ...`), stamped with the
    /// time the peer applied the offending message.
    pub fn check_apply_errors(&self) -> Result<(), TestFailure> {
        self.shared.monitor.check()?;
        match &self.shared.applied.lock().error {
            Some(err) => Err(err.clone()),
            None => Ok(()),
        }
    }

    /// How many peers have applied `index`, and the command they applied (Go `nCommitted`).
    /// A crashed peer's applies count until it restarts, as in the original.
    ///
    /// # Errors
    /// An apply error seen so far, or peers that applied different commands at `index`.
    pub fn n_committed(&self, index: u64) -> Result<(usize, Option<Command>), TestFailure> {
        self.check_apply_errors()?;
        let a = self.shared.applied.lock();
        let mut count = 0;
        let mut cmd: Option<&Command> = None;
        for log in &a.logs {
            if let Some(c) = log.get(&index) {
                if let Some(prev) = cmd {
                    if prev != c {
                        fail!("committed values at index {index} do not match ({prev} != {c})");
                    }
                }
                count += 1;
                cmd = Some(c);
            }
        }
        Ok((count, cmd.cloned()))
    }

    /// Fails unless no peer has applied `index` (Go `checkNoAgreement`).
    pub fn check_no_agreement(&self, index: u64) -> Result<(), TestFailure> {
        let (n, _) = self.n_committed(index)?;
        if n > 0 {
            fail!("{n} committed but no majority");
        }
        Ok(())
    }

    /// The workhorse agreement check (Go `one`): offers `cmd` to the connected peers in turn
    /// until one accepts, then waits up to 2 s for at least `expected_servers` peers to apply
    /// it at that index. Without `retry`, a first failure fails the test; with it, it tries
    /// again for up to 10 s in all. Returns the index.
    pub async fn one(
        &self,
        cmd: impl Into<Command>,
        expected_servers: usize,
        retry: bool,
    ) -> Result<u64, TestFailure> {
        let cmd = cmd.into();
        let t0 = runtime::now();
        let mut starts = 0;
        let mut last_try = String::from("no connected server accepted Start()");
        while t0.elapsed() < ONE_TIMEOUT {
            // Try all the servers; maybe one is the leader.
            let mut accepted = None;
            for _ in 0..self.n() {
                starts = (starts + 1) % self.n();
                if !self.is_connected(starts) {
                    continue;
                }
                if let Some((index, term)) = self.start(starts, &cmd) {
                    accepted = Some((starts, index, term));
                    break;
                }
            }
            let Some((leader, index, term)) = accepted else {
                runtime::sleep(ONE_NO_LEADER_SLEEP).await;
                continue;
            };
            // Somebody claimed to be the leader and to have submitted our command; wait a
            // while for agreement.
            let t1 = runtime::now();
            let mut seen = (0, None);
            while t1.elapsed() < ONE_AGREEMENT_WAIT {
                seen = self.n_committed(index)?;
                if let (nd, Some(got)) = &seen {
                    if *nd > 0 && *nd >= expected_servers && *got == cmd {
                        self.log(format_args!("one({cmd}): agreed at index {index}"));
                        return Ok(index);
                    }
                }
                runtime::sleep(ONE_POLL).await;
            }
            last_try = match seen {
                (nd, Some(got)) if got != cmd => format!(
                    "S{leader} accepted it at index {index} in term {term}, but {nd} servers \
                     applied {got} there"
                ),
                (nd, _) => format!(
                    "S{leader} accepted it at index {index} in term {term}; {nd} of the \
                     {expected_servers} servers wanted applied it within {ONE_AGREEMENT_WAIT:?}"
                ),
            };
            if !retry {
                fail!("one({cmd}) failed to reach agreement ({last_try})");
            }
        }
        fail!("one({cmd}) failed to reach agreement (after {ONE_TIMEOUT:?}; last try: {last_try})")
    }

    /// Waits for at least `n` peers to apply `index` and returns what they applied (Go
    /// `wait`): 30 polls, sleeping 10 ms, doubling while below a second. With a `start_term`,
    /// returns `Ok(None)` as soon as any live peer has a later term (the caller retries, as
    /// the Go tests do on `-1`).
    ///
    /// # Errors
    /// `only N decided for index I; wanted M` when too few peers applied it in time.
    pub async fn wait(
        &self,
        index: u64,
        n: usize,
        start_term: Option<u64>,
    ) -> Result<Option<Command>, TestFailure> {
        let mut to = WAIT_FIRST_SLEEP;
        for _ in 0..WAIT_POLLS {
            let (nd, _) = self.n_committed(index)?;
            if nd >= n {
                break;
            }
            runtime::sleep(to).await;
            if to < Duration::from_secs(1) {
                to *= 2;
            }
            if let Some(start_term) = start_term {
                let moved = (0..self.n())
                    .filter_map(|i| self.state_of(i))
                    .any(|(term, _)| term > start_term);
                if moved {
                    // Someone has moved on; we can no longer expect to "win".
                    return Ok(None);
                }
            }
        }
        match self.n_committed(index)? {
            (nd, Some(cmd)) if nd >= n => Ok(Some(cmd)),
            (nd, _) => fail!("only {nd} decided for index {index}; wanted {n}"),
        }
    }
}

impl<P: Peer> Drop for Tester<P> {
    fn drop(&mut self) {
        // Never panics. Outside a runtime (a run that failed drops the test's future after it
        // stopped) there is nothing left to kill, but the network must still let go of its
        // servers: they hold the peers, which hold ends of the network, and that cycle would
        // otherwise outlive the trial.
        if runtime::in_runtime() {
            self.cleanup();
        } else {
            self.net().cleanup();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(n: usize) -> Applied {
        let mut a = Applied::new(n);
        for x in 1..=20 {
            a.started.insert(Command::Int(x));
        }
        a
    }

    fn apply(a: &mut Applied, i: usize, index: u64, x: u64) -> Option<String> {
        let inc = a.incarnation[i];
        a.check_apply(i, inc, index, &Command::Int(x).encode())
    }

    #[test]
    fn commands_round_trip_and_show_like_go_values() {
        for cmd in [
            Command::Int(0),
            Command::Int(u64::MAX),
            Command::Text("x".repeat(5000)),
        ] {
            assert_eq!(Command::decode(&cmd.encode()), Ok(cmd));
        }
        assert_eq!(Command::Text("hi".into()).to_string(), "\"hi\"");
        assert_eq!(
            Command::Text("a".repeat(5000)).to_string(),
            "\"aaaaaaaaaaaaaaaa\"... (5000 chars)"
        );
    }

    #[test]
    fn corrupt_or_extended_bytes_do_not_decode() {
        assert!(Command::decode(&[]).is_err());
        assert!(Command::decode(&[7, 1]).is_err());
        let mut bytes = Command::Int(5).encode();
        bytes.push(0);
        let err = Command::decode(&bytes).expect_err("trailing bytes");
        assert_eq!(err.len, bytes.len());
    }

    #[test]
    fn in_order_applies_that_agree_pass() {
        let mut a = applied(3);
        for i in 0..3 {
            for index in 1..=3 {
                assert_eq!(apply(&mut a, i, index, index), None);
            }
        }
        assert_eq!(a.max_index, 3);
    }

    #[test]
    fn a_different_value_at_an_index_is_named_with_both_servers() {
        let mut a = applied(3);
        assert_eq!(apply(&mut a, 0, 1, 10), None);
        assert_eq!(
            apply(&mut a, 2, 1, 11).as_deref(),
            Some("commit index=1 server=2 11 != server=0 10")
        );
    }

    #[test]
    fn history_survives_a_crash_and_restart() {
        let mut a = applied(3);
        assert_eq!(apply(&mut a, 0, 1, 10), None);
        // Server 0 crashes and restarts: its current log is cleared, its history is not.
        a.incarnation[0] += 1;
        a.logs[0].clear();
        let err = apply(&mut a, 1, 1, 12).expect("a different value at index 1");
        assert_eq!(
            err,
            "commit index=1 server=1 12 != server=0 10 (server 0 applied it before a crash)"
        );
    }

    #[test]
    fn gaps_and_repeats_are_out_of_order() {
        let mut a = applied(1);
        assert_eq!(
            apply(&mut a, 0, 2, 2).as_deref(),
            Some("server 0 apply out of order 2")
        );
        let mut a = applied(1);
        assert_eq!(apply(&mut a, 0, 1, 1), None);
        let err = apply(&mut a, 0, 1, 1).expect("index 1 twice");
        assert!(err.starts_with("server 0 apply out of order 1"), "{err}");
    }

    #[test]
    fn commands_never_started_or_undecodable_are_errors() {
        let mut a = applied(1);
        let err = apply(&mut a, 0, 1, 99).expect("99 was never started");
        assert!(err.contains("no server was ever given 99"), "{err}");
        let err = a.check_apply(0, 0, 1, &[0xff, 0xff]).expect("garbage");
        assert!(err.contains("never sent"), "{err}");
    }
}
