//! The safety monitor: Raft's invariants checked at every message and every apply, in every
//! grader.
//!
//! The graders look at `get_state()` now and then, as the original's do, so a bug that breaks a
//! rule of the paper and is masked a moment later passes them. The monitor sees everything: the
//! network reports every RPC's life to it ([`labrpc::observe`]), the tester reports every apply,
//! crash, restart and leader sample, and the monitor fails the trial at the first event that
//! breaks one of these rules, with the evidence:
//!
//! | # | rule | what it catches | how it is observed |
//! |---|---|---|---|
//! | 1 | **Election Safety**: at most one leader per term | two leaders in one term, even for a moment no sample sees (double votes, votes miscounted, a leader that does not step down for a same-term leader) | every `AppendEntries` and `InstallSnapshot` sent (its sender leads the term it carries), and every `get_state()` the tester takes |
//! | 2 | **One Vote Per Term**: a peer votes for one candidate per term, across crashes | a second vote in a term: a vote not saved before a crash, a candidate that grants a rival its own term, a vote given without checking `voted_for` | every `RequestVote` whose handler produced `vote_granted = true` (even if the reply is then lost), and every `RequestVote` a candidate sends (its vote for itself); kept across restarts |
//! | 3 | **Terms Only Move Forward**: a peer that has seen a term never sends an older one | a stale leader that keeps sending in its old term, a reply built before the request's newer term was adopted, a term not saved before a crash | the term of every request sent and every reply produced, against the terms the peer sent, handled or got in replies (with a short window for a message built just before the term moved; see [`TERM_WINDOW_SIM`]); terms sent before a crash still count after it |
//! | 4 | **Log Matching**: one (index, term) names one entry | a leader that changes an entry it already sent, two leaders creating entries in one term | the entries of every `AppendEntries` sent |
//! | 5 | **State Machine Safety**: one command per index, applied in order | different commands at one index on any peers at any time (crashed ones too), gaps and repeats in a peer's applies | every `ApplyMsg` the tester reads, per life of each peer |
//! | 6 | **Leader Completeness**: a leader holds every committed entry | a leader elected without a committed entry (no election restriction) sending entries that would replace one already applied | the entries of every `AppendEntries` of a term above the one that committed an applied entry |
//!
//! A Raft RPC that does not decode as the `raft` crate's message types fails the trial too
//! ([`Rule::UnreadableMessage`]), naming the type and the method. The monitor decodes the
//! methods `Raft.RequestVote`, `Raft.AppendEntries` and `Raft.InstallSnapshot` with
//! `raftapi::RequestVoteArgs`, `RequestVoteReply`, `AppendEntriesArgs`, `AppendEntriesReply`,
//! `InstallSnapshotArgs` and `InstallSnapshotReply`, and reads these fields:
//! `RequestVoteArgs::term`, `RequestVoteReply::{term, vote_granted}`,
//! `AppendEntriesArgs::{term, prev_log_index, entries}` with `LogEntry::{term, command}`,
//! `AppendEntriesReply::term`, `InstallSnapshotArgs::term`, `InstallSnapshotReply::term`; of
//! each `ApplyMsg`, the `index` and the `command`. Who sent a message it learns from the
//! network, not from `candidate_id` or `leader_id`. An `AppendEntries` it reads as an
//! [`AppendEntries`], which accepts exactly the bytes of an `AppendEntriesArgs` and leaves the
//! commands in them (reading every one into a vector of its own was most of the monitor's
//! cost).
//!
//! The monitor is on in every trial unless `LAB_MONITOR=0` (or a trial's
//! [`TrialSettings::monitor`](crate::trial::TrialSettings::monitor) is false), in both
//! executors. A violation fails the trial at once, with the rule, the rule's sentence from the
//! paper, and the peers, terms and run times of the events involved; it is also logged as a
//! tester event, so the per-peer view shows it.
//!
//! ```
//! use harness::graders;
//! use harness::trial::{run_trial, TrialSettings};
//!
//! // The reference peer passes with the monitor on (the default).
//! let grader = graders::by_name("initial_election").expect("a part-A grader");
//! let report = run_trial::<raft::Raft>(grader, &TrialSettings::sim(3));
//! assert!(report.passed(), "{:?}", report.outcome);
//! ```
//!
//! The rules themselves ([`Rules`]) are pure: fed events one at a time, they need no runtime.
//!
//! ```
//! use std::time::Duration;
//! use harness::monitor::{AppendEntries, Request, Rule, Rules};
//! use raftapi::{AppendEntriesArgs, PeerId, Term};
//!
//! let heartbeat = |leader: usize| AppendEntriesArgs {
//!     term: Term(4),
//!     leader_id: PeerId(leader),
//!     prev_log_index: 0,
//!     prev_log_term: Term(0),
//!     entries: Vec::new(),
//!     leader_commit: 0,
//! };
//! let mut rules = Rules::new(3, Duration::from_millis(10));
//! let at = Duration::from_millis(1200);
//! rules
//!     .request_sent(at, 1, 0, Request::Append(&AppendEntries::from(&heartbeat(1))), false)
//!     .expect("S1 leads term 4");
//! let broken = rules
//!     .request_sent(at, 2, 0, Request::Append(&AppendEntries::from(&heartbeat(2))), false)
//!     .expect_err("so S2 cannot");
//! assert_eq!(broken.rule, Rule::ElectionSafety);
//! assert_eq!(broken.summary, "S1 and S2 both led term 4");
//! ```

mod applies;
mod election;
mod index_map;
mod log;
mod rules;
mod snapshots;
mod terms;
mod trial;
mod violation;
mod votes;
mod wire;

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::Duration;

use labrpc::observe::{Observer, RpcEvent, Stage};
use labrpc::runtime::{self, Executor, NodeId};
use labrpc::{ClientEnd, Network};
use parking_lot::Mutex;
use raftapi::{
    AppendEntriesReply, ApplyMsg, InstallSnapshotArgs, InstallSnapshotReply, RequestVoteArgs,
    RequestVoteReply, Term,
};
use serde::de::DeserializeOwned;

pub use rules::{Request, Response, Rules};
pub use trial::monitored;
pub use violation::{Rule, Violation};
pub use wire::{AppendEntries, Entries, Entry, Scratch};

use crate::tester::TestFailure;
use trial::TrialWatch;

/// Rule 3's window in sim mode: how long after a peer learned a newer term a message of its
/// older term may still leave (it was built under the lock just before the term moved).
///
/// Measured on the reference peer with the window set to zero (`LAB_TERM_WINDOW_MS=0`) over
/// 10,000 seeds of every part-A grader: no message ever left after its peer had learned a newer
/// term, since a spawned sender runs at the virtual instant it was spawned, before the clock can
/// move. 10 ms leaves room for a sender that yields once on a short timer, and still catches a
/// leader that keeps heartbeating in its old term at its next heartbeat.
pub const TERM_WINDOW_SIM: Duration = Duration::from_millis(10);

/// Rule 3's window in real mode (see [`TERM_WINDOW_SIM`]): a sender task waits for a worker
/// thread before it sends.
///
/// Measured on the reference peer on a two-core machine with a load average of 17: with the
/// window at zero, the messages that left after their peer had learned a newer term did so 13
/// to 35 µs later; with the window at 1 ms, 100 real runs of every part-A grader (16 at once)
/// raised no alarm. 100 ms is a hundred times that, for machines busier still, and a stale
/// leader heartbeating every 100–150 ms is still caught at its second heartbeat.
pub const TERM_WINDOW_REAL: Duration = Duration::from_millis(100);

/// How a monitor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitorSettings {
    /// Whether to check anything at all.
    pub enabled: bool,
    /// Rule 3's window.
    pub term_window: Duration,
}

impl MonitorSettings {
    /// The settings for a tester made now: on unless the trial or `LAB_MONITOR=0` turns it off,
    /// with the window of the running executor (or `LAB_TERM_WINDOW_MS`, for measuring).
    pub fn for_this_run() -> MonitorSettings {
        let enabled = match trial::current() {
            Some(watch) => watch.enabled(),
            None => enabled_by_env(),
        };
        let term_window = env_window().unwrap_or(match runtime::executor() {
            Executor::Sim => TERM_WINDOW_SIM,
            Executor::Real => TERM_WINDOW_REAL,
        });
        MonitorSettings {
            enabled,
            term_window,
        }
    }
}

/// Whether the environment leaves the monitor on: `LAB_MONITOR` unset, or anything but `0`,
/// `off`, `false` or `no`.
pub fn enabled_by_env() -> bool {
    match std::env::var("LAB_MONITOR") {
        Ok(v) => !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "0" | "off" | "false" | "no"
        ),
        Err(_) => true,
    }
}

/// `LAB_TERM_WINDOW_MS`, when set to a number: overrides rule 3's window (to measure it).
fn env_window() -> Option<Duration> {
    let raw = std::env::var("LAB_TERM_WINDOW_MS").ok()?;
    match raw.trim().parse() {
        Ok(ms) => Some(Duration::from_millis(ms)),
        Err(e) => panic!("LAB_TERM_WINDOW_MS={raw:?} is not a number of milliseconds: {e}"),
    }
}

impl From<Violation> for TestFailure {
    fn from(v: Violation) -> TestFailure {
        TestFailure {
            message: v.to_string(),
            at: v.at,
        }
    }
}

/// The methods the monitor reads.
const REQUEST_VOTE: &str = "Raft.RequestVote";
const APPEND_ENTRIES: &str = "Raft.AppendEntries";
const INSTALL_SNAPSHOT: &str = "Raft.InstallSnapshot";

/// The Raft methods the monitor reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Vote,
    Append,
    Snapshot,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Vote => REQUEST_VOTE,
            Method::Append => APPEND_ENTRIES,
            Method::Snapshot => INSTALL_SNAPSHOT,
        }
    }

    /// The `raft` type of the request (or of the reply).
    fn type_name(self, request: bool) -> &'static str {
        match (self, request) {
            (Method::Vote, true) => "RequestVoteArgs",
            (Method::Vote, false) => "RequestVoteReply",
            (Method::Append, true) => "AppendEntriesArgs",
            (Method::Append, false) => "AppendEntriesReply",
            (Method::Snapshot, true) => "InstallSnapshotArgs",
            (Method::Snapshot, false) => "InstallSnapshotReply",
        }
    }

    fn of(name: &str) -> Option<Method> {
        match name {
            REQUEST_VOTE => Some(Method::Vote),
            APPEND_ENTRIES => Some(Method::Append),
            INSTALL_SNAPSHOT => Some(Method::Snapshot),
            _ => None,
        }
    }
}

/// Hashes a call id (a counter) with one multiplication: the in-flight table is touched three
/// times per RPC, and SipHash cost more than everything else the monitor does with a call.
#[derive(Default)]
struct CallIdHasher(u64);

impl Hasher for CallIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// One end of one life of a peer: who calls whom.
#[derive(Debug, Clone, Copy)]
struct End {
    from: usize,
    to: usize,
    life: u64,
    /// An end of the tester playing peer `from` (the conformance graders): its requests follow
    /// a script, not Raft's rules, so only what the peer called does with them is checked.
    tester: bool,
}

struct State {
    rules: Rules,
    /// Every end the tester made, indexed by id (a network numbers its ends from 0).
    ends: Vec<Option<End>>,
    /// Per end (by id), the last `AppendEntries` it carried: a leader resends the same batch
    /// to a follower that does not answer, sends one batch to several followers, and sends the
    /// same heartbeat again and again; the entries of such a repeat were already matched and
    /// recorded, and a repeated heartbeat need not be read again.
    last_append: Vec<LastAppend>,
    /// Room for reading the entries of an `AppendEntries`.
    scratch: Scratch,
    /// Each peer's ends in its running life, by id.
    peer_ends: Vec<Vec<usize>>,
    /// Every node the tester made: (peer, life).
    nodes: BTreeMap<NodeId, (usize, u64)>,
    /// Each peer's running life, `None` while crashed.
    live: Vec<Option<u64>>,
    next_life: u64,
    /// The term and the caller of each observed request still in flight, by call.
    in_flight: HashMap<u64, (u64, usize), BuildHasherDefault<CallIdHasher>>,
    first: Option<Violation>,
}

/// The last `AppendEntries` an end carried.
#[derive(Debug, Clone, Default)]
struct LastAppend {
    /// Its bytes (empty for none; a buffer reused from one message to the next).
    bytes: Vec<u8>,
    /// For a heartbeat (no entries), its term and `prev_log_index`.
    heartbeat: Option<(Term, u64)>,
}

impl State {
    fn alive(&self, end: &End) -> bool {
        self.live[end.from] == Some(end.life)
    }

    /// If `from` last sent exactly these bytes on end `slot` or on one of its other ends, what
    /// they were.
    fn sent_before(&self, from: usize, slot: usize, args: &[u8]) -> Option<&LastAppend> {
        let same = |id: usize| self.last_append.get(id).filter(|l| l.bytes[..] == *args);
        same(slot).or_else(|| {
            self.peer_ends[from]
                .iter()
                .filter(|&&id| id != slot)
                .find_map(|&id| same(id))
        })
    }
}

/// The safety monitor of one tester (one cluster): observes its network, hears of its applies,
/// crashes and restarts, and keeps the first violation. See the [module docs](self).
pub struct Monitor {
    settings: MonitorSettings,
    state: Mutex<State>,
    trial: Option<Arc<TrialWatch>>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("settings", &self.settings)
            .field("violation", &self.state.lock().first)
            .finish()
    }
}

impl Monitor {
    /// A monitor of `n` peers.
    pub fn new(n: usize, settings: MonitorSettings) -> Arc<Monitor> {
        Monitor::reporting_to(n, settings, trial::current())
    }

    /// A monitor of `n` peers that reports its first violation to `trial`, if any.
    fn reporting_to(
        n: usize,
        settings: MonitorSettings,
        trial: Option<Arc<TrialWatch>>,
    ) -> Arc<Monitor> {
        Arc::new(Monitor {
            settings,
            state: Mutex::new(State {
                rules: Rules::new(n, settings.term_window),
                ends: Vec::new(),
                last_append: Vec::new(),
                scratch: Scratch::default(),
                peer_ends: vec![Vec::new(); n],
                nodes: BTreeMap::new(),
                live: vec![None; n],
                next_life: 0,
                in_flight: HashMap::default(),
                first: None,
            }),
            trial,
        })
    }

    /// A monitor of `n` peers with [`MonitorSettings::for_this_run`], observing `net` when
    /// enabled.
    pub fn observe(net: &Network, n: usize) -> Arc<Monitor> {
        let monitor = Monitor::new(n, MonitorSettings::for_this_run());
        if monitor.settings.enabled {
            // A fresh tester's network has no observer yet; if it had one, that one watches.
            let _ = net.set_observer(monitor.clone());
        }
        monitor
    }

    /// Like [`observe`](Self::observe), but a violation does not end the trial: the caller asks
    /// for it ([`violation`](Self::violation)) when it decides. The conformance graders use it:
    /// their own checks name the rule of Figure 2 that broke, more precisely than the monitor's
    /// safety rules, so they come first, and the monitor fails a scenario that passed them.
    pub fn observe_deferred(net: &Network, n: usize) -> Arc<Monitor> {
        let monitor = Monitor::reporting_to(n, MonitorSettings::for_this_run(), None);
        if monitor.settings.enabled {
            let _ = net.set_observer(monitor.clone());
        }
        monitor
    }

    /// `end` is the tester's, playing peer `as_peer` and calling peer `to` (the conformance
    /// graders' scripted peers): what it sends breaks no rule of the monitor's, since it
    /// follows a script; what peer `to` answers is checked as any peer's answer is.
    pub fn tester_end(&self, end: &ClientEnd, as_peer: usize, to: usize) {
        let Ok(id) = usize::try_from(end.id()) else {
            return;
        };
        let mut st = self.state.lock();
        if st.ends.len() <= id {
            st.ends.resize(id + 1, None);
        }
        st.ends[id] = Some(End {
            from: as_peer,
            to,
            life: u64::MAX,
            tester: true,
        });
    }

    /// Whether the monitor checks anything.
    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    /// The first violation found, if any.
    pub fn violation(&self) -> Option<Violation> {
        self.state.lock().first.clone()
    }

    /// The first violation as a test failure.
    pub fn check(&self) -> Result<(), TestFailure> {
        match self.violation() {
            Some(v) => Err(v.into()),
            None => Ok(()),
        }
    }

    /// The longest any peer went on sending a lower term within rule 3's window.
    pub fn worst_term_lag(&self) -> Duration {
        self.state.lock().rules.worst_term_lag()
    }

    fn now() -> Duration {
        runtime::now().since_start()
    }

    /// A new life of `peer` starts on `node`, calling peer `j` through `ends[j]`, with
    /// everything through `applied_through` already applied. Returns the life's number, for
    /// [`applied`](Self::applied).
    pub fn peer_started(
        &self,
        peer: usize,
        node: NodeId,
        ends: &[ClientEnd],
        applied_through: u64,
    ) -> u64 {
        let mut st = self.state.lock();
        let life = st.next_life;
        st.next_life += 1;
        st.peer_ends[peer].clear();
        for (to, end) in ends.iter().enumerate() {
            let Ok(id) = usize::try_from(end.id()) else {
                continue;
            };
            st.peer_ends[peer].push(id);
            if st.ends.len() <= id {
                st.ends.resize(id + 1, None);
            }
            st.ends[id] = Some(End {
                from: peer,
                to,
                life,
                tester: false,
            });
        }
        st.nodes.insert(node, (peer, life));
        st.live[peer] = Some(life);
        if self.settings.enabled {
            st.rules.started(Self::now(), peer, life, applied_through);
        }
        life
    }

    /// `peer` is being crashed: from now on nothing its current life sends or handles counts.
    /// Call it before taking the copy of its persisted state.
    pub fn peer_crashed(&self, peer: usize) {
        let mut st = self.state.lock();
        st.live[peer] = None;
        // Its calls in flight will never end for it: their callers are gone.
        st.in_flight.retain(|_, &mut (_, from)| from != peer);
    }

    /// Life `life` of `peer` applied `msg`.
    pub fn applied(&self, peer: usize, life: u64, msg: &ApplyMsg) {
        if !self.settings.enabled {
            return;
        }
        let mut st = self.state.lock();
        if st.first.is_some() {
            return;
        }
        let at = Self::now();
        let result = match msg {
            ApplyMsg::Command { index, command, .. } => {
                st.rules.applied(at, peer, life, *index, command)
            }
            ApplyMsg::Snapshot { index, .. } => {
                st.rules.snapshot_applied(at, peer, life, *index);
                Ok(())
            }
        };
        self.settle(st, result);
    }

    /// A service made snapshot `data` through `index` (the tester hands it to a peer's
    /// `snapshot`), or the tester itself sends a peer one: what every `InstallSnapshot` through
    /// `index` must carry.
    pub fn snapshot_made(&self, index: u64, data: &[u8]) {
        if !self.settings.enabled {
            return;
        }
        self.state
            .lock()
            .rules
            .snapshot_made(Self::now(), index, data);
    }

    /// The tester's `get_state()` says `peer` leads `term`.
    pub fn leader_seen(&self, peer: usize, term: u64) {
        if !self.settings.enabled {
            return;
        }
        let mut st = self.state.lock();
        if st.first.is_some() {
            return;
        }
        let result = st.rules.leader_seen(Self::now(), peer, term);
        self.settle(st, result);
    }

    /// Keeps the first violation, logs it, and tells the trial.
    fn settle(&self, mut st: parking_lot::MutexGuard<'_, State>, result: Result<(), Violation>) {
        let Err(v) = result else {
            return;
        };
        if st.first.is_some() {
            return;
        }
        st.first = Some(v.clone());
        drop(st);
        for line in v.to_string().lines() {
            tracing::error!(target: "tester", topic = "test", "{}", line.trim_start());
        }
        if let Some(trial) = &self.trial {
            trial.report(&v);
        }
    }

    /// Handles one event of a call of `method` on a known end.
    fn event(
        st: &mut State,
        method: Method,
        event: &RpcEvent<'_>,
        end: End,
    ) -> Result<(), Violation> {
        let at = event.at.since_start();
        match event.stage {
            Stage::Sent { args } if end.tester => {
                // Only the request's term is kept, for the check of the answer.
                let term = match method {
                    Method::Vote => decode::<RequestVoteArgs>(args).map(|a| a.term),
                    Method::Append => {
                        AppendEntries::decode(args, &mut Scratch::default()).map(|a| a.term)
                    }
                    Method::Snapshot => decode::<InstallSnapshotArgs>(args).map(|a| a.term),
                };
                if let Ok(term) = term {
                    st.in_flight.insert(event.call, (term.into(), end.from));
                }
                Ok(())
            }
            Stage::Sent { args } => {
                if !st.alive(&end) {
                    return Ok(());
                }
                let (from, to) = (end.from, end.to);
                let unreadable = |e| unreadable(at, method, from, to, "request", e);
                match method {
                    Method::Vote => {
                        let a: RequestVoteArgs = decode(args).map_err(unreadable)?;
                        st.in_flight.insert(event.call, (a.term.into(), from));
                        st.rules
                            .request_sent(at, from, to, Request::Vote(&a), false)
                    }
                    Method::Append => {
                        let slot = usize::try_from(event.end).unwrap_or(usize::MAX);
                        let repeat = st.sent_before(from, slot, args).map(|l| l.heartbeat);
                        let st = &mut *st;
                        let a = match repeat {
                            Some(Some((term, prev_log_index))) => AppendEntries {
                                term,
                                prev_log_index,
                                entries: Entries::from(&[] as &[Entry<'_>]),
                            },
                            _ => {
                                AppendEntries::decode(args, &mut st.scratch).map_err(unreadable)?
                            }
                        };
                        if repeat.is_none() && slot < st.ends.len() {
                            if st.last_append.len() <= slot {
                                st.last_append.resize(slot + 1, LastAppend::default());
                            }
                            let last = &mut st.last_append[slot];
                            last.bytes.clear();
                            last.bytes.extend_from_slice(args);
                            last.heartbeat =
                                a.entries.is_empty().then_some((a.term, a.prev_log_index));
                        }
                        st.in_flight.insert(event.call, (a.term.into(), from));
                        st.rules
                            .request_sent(at, from, to, Request::Append(&a), repeat.is_some())
                    }
                    Method::Snapshot => {
                        let a: InstallSnapshotArgs = decode(args).map_err(unreadable)?;
                        st.in_flight.insert(event.call, (a.term.into(), from));
                        st.rules
                            .request_sent(at, from, to, Request::Snapshot(&a), false)
                    }
                }
            }
            Stage::Handled { node, reply } => {
                let Some(&(by, life)) = st.nodes.get(&node) else {
                    return Ok(());
                };
                // A handler that finished after its peer was crashed answered no one: the
                // tester may already hold the persisted state it had before.
                if st.live[by] != Some(life) {
                    return Ok(());
                }
                let request_term = st.in_flight.get(&event.call).map(|&(term, _)| term);
                let reply = Reply::decode(method, reply)
                    .map_err(|e| unreadable(at, method, by, end.from, "reply", e))?;
                st.rules
                    .request_handled(at, by, end.from, request_term, reply.response())
            }
            Stage::Delivered { reply } => {
                st.in_flight.remove(&event.call);
                if !st.alive(&end) {
                    return Ok(());
                }
                let reply = Reply::decode(method, reply)
                    .map_err(|e| unreadable(at, method, end.to, end.from, "reply", e))?;
                st.rules
                    .reply_delivered(at, end.from, end.to, reply.response());
                Ok(())
            }
            Stage::Failed { .. } => {
                st.in_flight.remove(&event.call);
                Ok(())
            }
        }
    }
}

impl Observer for Monitor {
    fn observe(&self, event: &RpcEvent<'_>) {
        let Some(method) = Method::of(event.method) else {
            return;
        };
        let mut st = self.state.lock();
        if st.first.is_some() {
            return;
        }
        let end = usize::try_from(event.end)
            .ok()
            .and_then(|id| st.ends.get(id).copied().flatten());
        let Some(end) = end else {
            return;
        };
        let result = Monitor::event(&mut st, method, event, end);
        self.settle(st, result);
    }
}

/// A decoded reply.
enum Reply {
    Vote(RequestVoteReply),
    Append(AppendEntriesReply),
    Snapshot(InstallSnapshotReply),
}

impl Reply {
    /// Decodes the reply of `method` with the `raft` crate's type.
    fn decode(method: Method, bytes: &[u8]) -> Result<Reply, labrpc::codec::CodecError> {
        Ok(match method {
            Method::Vote => Reply::Vote(decode(bytes)?),
            Method::Append => Reply::Append(decode(bytes)?),
            Method::Snapshot => Reply::Snapshot(decode(bytes)?),
        })
    }

    fn response(&self) -> Response<'_> {
        match self {
            Reply::Vote(r) => Response::Vote(r),
            Reply::Append(r) => Response::Append(r),
            Reply::Snapshot(r) => Response::Snapshot(r),
        }
    }
}

/// Decodes a message with the `raft` crate's type.
fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, labrpc::codec::CodecError> {
    labrpc::codec::decode(bytes)
}

/// The violation for a message the monitor cannot read.
fn unreadable(
    at: Duration,
    method: Method,
    from: usize,
    to: usize,
    what: &str,
    error: labrpc::codec::CodecError,
) -> Violation {
    let name = method.name();
    let expected = method.type_name(what == "request");
    Violation::new(
        Rule::UnreadableMessage,
        at,
        format!("S{from}'s {name} {what} to S{to} does not decode as a raftapi::{expected}"),
    )
    .event(at, error)
    .note(format!(
        "the {what} of {name} must be the raft crate's {expected} (the tester decodes it to \
         check Raft's rules); keep the type's name and fields"
    ))
}
