//! Builds a [`Timeline`] from a trial's structured records and its outcome.
//!
//! - Lanes and crashes come from the tester's [facts](super::probe) (cluster, start, crash,
//!   connect, disconnect, cleanup), so they are exact whatever the peer logs.
//! - Roles and terms come from the peers' own events when their log names roles (the `term`
//!   field of every event, and a message saying it became candidate or leader or stepped
//!   down); otherwise from the tester's `get_state` samples at its checks. See [`role_hint`].
//! - The failure is the trial's error at its time, with the peers and terms its message names
//!   (see [`names_in`]) and the spans and log lines about them marked.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tracing::Level;

use super::model::*;
use super::probe::{self, Fact};
use super::record::{FieldValue, Record};
use crate::trial::{TrialError, TrialReport};

/// How a safety monitor's violation starts (see [`crate::monitor::Violation::headline`]).
const MONITOR_HEADLINE: &str = "safety violation";

/// How far back from the failure the marked spans and log lines may start (or from the
/// monitor's oldest evidence, if older).
pub const FAILURE_WINDOW: Duration = Duration::from_secs(5);

/// The most log lines marked as named by the failure.
const MAX_MARKED_EVENTS: usize = 40;

/// The most RPCs marked for one line of the monitor's evidence.
const MAX_RPCS_PER_EVIDENCE: usize = 4;

/// The most disagreements between the log and `get_state` the page lists.
const MAX_DISAGREEMENTS: usize = 5;

/// The role a peer's log message says it took, if it says one: it became (or steps down to)
/// a follower, became a candidate (or started an election), or became leader.
///
/// Matching is on words a Raft log line uses for these changes, case-insensitively, so a
/// student's peer with its own wording is understood as long as it says what happened.
///
/// ```
/// use harness::timeline::extract::role_hint;
/// use harness::timeline::model::Role;
///
/// assert_eq!(role_hint("became candidate for term 3"), Some(Role::Candidate));
/// assert_eq!(role_hint("became leader of term 3 with 2 of 3 votes"), Some(Role::Leader));
/// assert_eq!(role_hint("S1 has term 4, newer than our 3: leader steps down to follower"), Some(Role::Follower));
/// assert_eq!(role_hint("lost leadership of term 3: now follower in term 4"), Some(Role::Follower));
/// assert_eq!(role_hint("granted vote to S1 for term 3"), None);
/// ```
pub fn role_hint(message: &str) -> Option<Role> {
    let m = message.to_ascii_lowercase();
    if ["step down", "steps down", "stepping down", "stepped down"]
        .iter()
        .any(|w| m.contains(w))
    {
        return Some(Role::Follower);
    }
    // Follower first: "lost leadership ...: now follower", "candidate becomes follower".
    [Role::Follower, Role::Leader, Role::Candidate]
        .into_iter()
        .find(|role| says_became(&m, *role))
}

/// Words before a role that say a peer took it: "became leader", "converting to candidate",
/// "now a follower". (Not "to leader" alone: "sent a reply to leader S1" takes no role.)
const BECAME: &[&str] = &[
    "became",
    "becomes",
    "become",
    "becoming",
    "now",
    "back to",
    "convert to",
    "converts to",
    "converted to",
    "converting to",
    "transition to",
    "transitions to",
    "transitioned to",
    "transitioning to",
    "switch to",
    "switches to",
    "switched to",
    "switching to",
    "change to",
    "changes to",
    "changed to",
    "changing to",
    "turn to",
    "turns to",
    "turned to",
    "turning to",
    "revert to",
    "reverts to",
    "reverted to",
    "reverting to",
    "falls back to",
    "fell back to",
    "elected",
    "elected as",
];

/// Whether the (lower-case) message says the peer took `role`.
fn says_became(m: &str, role: Role) -> bool {
    let name = role.as_str();
    let said = BECAME.iter().any(|b| {
        ["", "a ", "the "]
            .iter()
            .any(|article| m.contains(&format!("{b} {article}{name}")))
    });
    let extra: &[&str] = match role {
        Role::Follower => &[
            "start as follower",
            "starts as follower",
            "started as follower",
            "starting as follower",
            "restarted as follower",
        ],
        Role::Leader => &[
            "won the election",
            "won election",
            "wins the election",
            "wins election",
        ],
        Role::Candidate => &[
            "start election",
            "starts election",
            "started election",
            "starting election",
            "start an election",
            "starts an election",
            "started an election",
            "starting an election",
            "calling election",
            "calls election",
            "new election",
        ],
    };
    said || extra.iter().any(|w| m.contains(w))
}

/// The peers and terms a failure message names: `server 1`, `server=1`, `S1`, `follower 2`,
/// `2 claims`, `0 (term 1)`, `leader changed from 0`; `term 3`, `term changed from 1 to 2`.
///
/// ```
/// use harness::timeline::extract::names_in;
///
/// let (peers, terms) = names_in("term changed from 1 to 2 (at server 0) 3.2s into a period");
/// assert_eq!(peers.into_iter().collect::<Vec<_>>(), [0]);
/// assert_eq!(terms.into_iter().collect::<Vec<_>>(), [1, 2]);
/// let (peers, terms) = names_in("term 3 has 2 (>1) leaders");
/// assert!(peers.is_empty());
/// assert_eq!(terms.into_iter().collect::<Vec<_>>(), [3]);
/// ```
pub fn names_in(message: &str) -> (BTreeSet<usize>, BTreeSet<u64>) {
    let words: Vec<String> = message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let num = |i: usize| words.get(i).and_then(|w| w.parse::<u64>().ok());
    let mut peers = BTreeSet::new();
    let mut terms = BTreeSet::new();
    for (i, w) in words.iter().enumerate() {
        if let Some(p) = w
            .strip_prefix('s')
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        {
            if let Ok(p) = p.parse() {
                peers.insert(p);
            }
        }
        match w.as_str() {
            // Not "leader N": "stale leader: 2 connected servers" counts servers.
            "server" | "peer" | "follower" | "node" => {
                if let Some(p) = num(i + 1) {
                    peers.insert(p as usize);
                }
            }
            "term" | "terms" => {
                if let Some(t) = num(i + 1) {
                    terms.insert(t);
                }
            }
            "changed" if words.get(i + 1).map(String::as_str) == Some("from") => {
                let before = words.get(i.wrapping_sub(1)).map(String::as_str);
                let (Some(a), b) = (num(i + 2), num(i + 4)) else {
                    continue;
                };
                match before {
                    Some("term") => {
                        terms.insert(a);
                        terms.extend(b);
                    }
                    Some("leader") => {
                        peers.insert(a as usize);
                        peers.extend(b.map(|b| b as usize));
                    }
                    _ => {}
                }
            }
            "claims" => {
                if let Some(p) = num(i.wrapping_sub(1)) {
                    peers.insert(p as usize);
                }
            }
            _ => {
                // `0 (term 1)`: a peer followed by its term.
                if let (Some(p), Some("term"), Some(t)) =
                    (num(i), words.get(i + 1).map(String::as_str), num(i + 2))
                {
                    if i == 0 || words[i - 1] != "term" {
                        peers.insert(p as usize);
                        terms.insert(t);
                    }
                }
            }
        }
    }
    (peers, terms)
}

/// The kind of a tester line, from the tester's own wording.
fn tester_kind(message: &str) -> EventKind {
    let m = message.trim_start();
    if m.starts_with("begin") {
        EventKind::Begin
    } else if m.starts_with("connect(") {
        EventKind::Connect
    } else if m.starts_with("disconnect(") {
        EventKind::Disconnect
    } else if m.starts_with("crash(") {
        EventKind::Crash
    } else if m.starts_with("start(") {
        EventKind::Start
    } else if m.starts_with("check") || m.starts_with("stability") {
        EventKind::Check
    } else if m.starts_with("warning") {
        EventKind::Warning
    } else {
        EventKind::Info
    }
}

/// One peer's state while the records are read.
#[derive(Debug, Clone)]
struct Track {
    state: PeerState,
    since: u64,
    /// Whether the current state's term is a guess.
    guessed: bool,
    /// Whether the peer has ever run (a crash before that is no crash).
    ever_up: bool,
    /// The last term known (kept across a crash: Raft persists it).
    term: u64,
    connected: bool,
    cut_since: u64,
}

impl Track {
    fn new() -> Self {
        Track {
            state: PeerState::Down,
            since: 0,
            guessed: false,
            ever_up: false,
            term: 0,
            connected: false,
            cut_since: 0,
        }
    }
}

/// Two sends of `RequestVote` this close together belong to one election.
const ONE_ELECTION_US: u64 = 1_000;

/// What a peer's RPCs and `get_state` say about its role (the [`RoleSource::Inferred`] way).
#[derive(Debug, Clone, Copy)]
enum Clue {
    /// `get_state` said `(term, leader)`.
    Told { term: u64, leader: bool },
    /// It sent `RequestVote`, of this term if the message could be read.
    AskedVote(Option<u64>),
    /// It sent `AppendEntries`, of this term if the message could be read.
    Appended(Option<u64>),
    /// A reply showed it (or it showed the peer) this term.
    SawTerm(u64),
}

struct Builder {
    tracks: Vec<Track>,
    spans: Vec<Span>,
    cuts: Vec<Cut>,
}

impl Builder {
    fn track(&mut self, peer: usize) -> &mut Track {
        if peer >= self.tracks.len() {
            self.tracks.resize(peer + 1, Track::new());
        }
        &mut self.tracks[peer]
    }

    /// From `at`, `peer` is in `state`; `guessed` when its term is a guess.
    fn set(&mut self, peer: usize, at: u64, state: PeerState, guessed: bool) {
        let t = self.track(peer);
        if t.state == state {
            // Told what was guessed: the guess was right all along.
            t.guessed &= guessed;
            return;
        }
        let (from, old, old_guessed, ever_up) = (t.since, t.state, t.guessed, t.ever_up);
        t.state = state;
        t.since = at;
        t.guessed = guessed;
        if let PeerState::Up { term, .. } = state {
            t.term = term;
            t.ever_up = true;
        }
        // A crash and restart at one instant (Go's start1 on a running peer) is kept as a
        // down span that lasts no time, so the restart shows.
        if at > from || (old == PeerState::Down && ever_up) {
            self.spans.push(Span {
                peer,
                from,
                to: at,
                state: old,
                guessed: old_guessed,
            });
        }
    }

    /// Moves `peer` on by what `clue` says, if it is up.
    fn infer(&mut self, peer: usize, at: u64, clue: Clue) {
        let t = self.track(peer).clone();
        let PeerState::Up { term, role } = t.state else {
            return;
        };
        let up = |term, role| PeerState::Up { term, role };
        let next = match clue {
            Clue::Told { term: told, leader } => {
                if leader {
                    Some((up(told, Role::Leader), false))
                } else if role == Role::Candidate && told == term {
                    Some((t.state, false))
                } else {
                    Some((up(told, Role::Follower), false))
                }
            }
            Clue::AskedVote(Some(asked)) if asked >= term => {
                Some((up(asked, Role::Candidate), false))
            }
            Clue::AskedVote(None) => {
                if role == Role::Candidate && at.saturating_sub(t.since) <= ONE_ELECTION_US {
                    None
                } else {
                    Some((up(term + 1, Role::Candidate), true))
                }
            }
            Clue::Appended(Some(led)) if led >= term => Some((up(led, Role::Leader), false)),
            Clue::Appended(None) if role != Role::Leader => {
                Some((up(term, Role::Leader), t.guessed))
            }
            Clue::SawTerm(seen) if seen > term => Some((up(seen, Role::Follower), false)),
            _ => None,
        };
        if let Some((state, guessed)) = next {
            self.set(peer, at, state, guessed);
        }
    }

    fn connect(&mut self, peer: usize, at: u64, on: bool) {
        let t = self.track(peer);
        if t.connected == on {
            return;
        }
        t.connected = on;
        if on {
            let from = t.cut_since;
            if at > from {
                self.cuts.push(Cut { peer, from, to: at });
            }
        } else {
            t.cut_since = at;
        }
    }

    /// Every peer down, and every cut closed, at `at` (a cluster ends).
    fn all_down(&mut self, at: u64) {
        for peer in 0..self.tracks.len() {
            self.set(peer, at, PeerState::Down, false);
            self.connect(peer, at, true);
        }
    }
}

/// One RPC while its facts are read.
#[derive(Default)]
struct Call {
    end: u64,
    method: String,
    sent: u64,
    handled: Option<u64>,
    done: Option<u64>,
    outcome: Option<RpcOutcome>,
    request: String,
    reply: String,
    reply_term: Option<u64>,
    error: String,
}

/// The RPCs of a run, from the [`Fact::Rpc`] and [`Fact::End`] facts. Ids of ends and calls
/// count from 0 on each network, so they are kept per cluster.
#[derive(Default)]
struct Calls {
    ends: BTreeMap<(usize, u64), (usize, usize)>,
    calls: BTreeMap<(usize, u64), Call>,
}

impl Calls {
    /// Reads one fact; returns what it says about a peer's role, if anything.
    fn fact(&mut self, cluster: usize, r: &Record) -> Option<(usize, Clue)> {
        let at = r.micros;
        let end = r.u64("end")?;
        if r.str("fact") == Some(Fact::End.as_str()) {
            if let (Some(from), Some(to)) = (r.u64("from"), r.u64("to")) {
                self.ends
                    .insert((cluster, end), (from as usize, to as usize));
            }
            return None;
        }
        let id = r.u64("call")?;
        let peers = self.ends.get(&(cluster, end)).copied();
        let term = r.term();
        let detail = r.str("detail").unwrap_or("").to_string();
        let call = self.calls.entry((cluster, id)).or_insert_with(|| Call {
            end,
            sent: at,
            ..Call::default()
        });
        match r.str("stage").unwrap_or("") {
            "sent" => {
                call.method = r.str("method").unwrap_or("").to_string();
                call.sent = at;
                call.request = detail;
                let (from, _) = peers?;
                match call.method.rsplit('.').next() {
                    Some("RequestVote") => return Some((from, Clue::AskedVote(term))),
                    // Only a leader sends a snapshot, as it sends entries.
                    Some("AppendEntries" | "InstallSnapshot") => {
                        return Some((from, Clue::Appended(term)))
                    }
                    _ => {}
                }
            }
            "handled" => {
                call.handled = Some(at);
                call.reply = detail;
                call.reply_term = term;
                // The callee's term after handling the call.
                return Some((peers?.1, Clue::SawTerm(term?)));
            }
            "delivered" => {
                call.done = Some(at);
                call.outcome = Some(RpcOutcome::Replied);
                // The caller learns the callee's term.
                return Some((peers?.0, Clue::SawTerm(call.reply_term?)));
            }
            "failed" => {
                call.done = Some(at);
                let outcome = r.str("outcome").unwrap_or("");
                call.outcome = Some(
                    [
                        RpcOutcome::RequestDropped,
                        RpcOutcome::ReplyDropped,
                        RpcOutcome::Unreachable,
                        RpcOutcome::ServerDied,
                    ]
                    .into_iter()
                    .find(|o| o.as_str() == outcome)
                    .unwrap_or(RpcOutcome::Error),
                );
                call.error = detail;
            }
            _ => {}
        }
        None
    }

    /// The RPCs whose ends the tester named, by send time.
    fn records(self) -> Vec<RpcRecord> {
        let mut out: Vec<RpcRecord> = self
            .calls
            .into_iter()
            .filter_map(|((cluster, _), c)| {
                let &(from, to) = self.ends.get(&(cluster, c.end))?;
                let mut detail = Vec::new();
                if !c.request.is_empty() {
                    detail.push(format!("request: {}", c.request));
                }
                if !c.reply.is_empty() {
                    detail.push(format!("reply: {}", c.reply));
                }
                if !c.error.is_empty() {
                    detail.push(c.error);
                }
                Some(RpcRecord {
                    from,
                    to,
                    method: c.method,
                    sent: c.sent,
                    delivered: c.handled,
                    done: c.done.or(c.handled).unwrap_or(c.sent),
                    outcome: c.outcome.unwrap_or(RpcOutcome::Pending),
                    detail: detail.join("\n"),
                })
            })
            .collect();
        out.sort_by_key(|r| r.sent);
        out
    }
}

/// The records a text log holds, for a trial that kept no structured records: what
/// [`records_from_log`] returns.
#[derive(Debug, Clone, Default)]
pub struct LogRecords {
    /// One record per log line, and the tester's facts its lines state (a new cluster, start,
    /// crash, connect, disconnect), in the log's order.
    pub records: Vec<Record>,
    /// How many of the earliest lines the capture left out (its size bound), if it did.
    pub left_out: Option<u64>,
}

/// The target given to a text log's lines that are not the tester's (the text keeps no target).
pub const TEXT_LOG_TARGET: &str = "log";

/// Reads a trial's text log (the [`crate::logs`] format) back into records: each line's time,
/// topic, peer, term and message, and, for the tester's own lines that change the cluster
/// (`new cluster: 3 peers`, `start(1)`, `crash(1)`, `connect(1)`, `disconnect(1)`), the fact
/// the tester would have recorded with it. What a text log does not hold (the RPCs, the
/// applies, the tester's `get_state` samples) is missing. Lines that are not log lines (a
/// panic's message) are skipped.
///
/// ```
/// use harness::timeline::extract::records_from_log;
///
/// let log = "  0.000000 TEST   -   -    new cluster: 3 peers\n\
///            0.000000 TEST   -   -    start(0)\n\
///            0.512000 LEADER S0  T1   became leader of term 1 with 2 of 3 votes\n";
/// let read = records_from_log(log);
/// // Three lines, and the two facts they state.
/// assert_eq!(read.records.len(), 5);
/// assert_eq!(read.left_out, None);
/// assert_eq!(read.records[4].term(), Some(1));
/// ```
pub fn records_from_log(log: &str) -> LogRecords {
    let mut out = LogRecords::default();
    for text in log.lines() {
        if let Some(n) = text
            .strip_prefix("[the ")
            .and_then(|rest| rest.split_once(' '))
            .filter(|(_, rest)| rest.starts_with("earliest log lines were left out"))
            .and_then(|(n, _)| n.parse().ok())
        {
            out.left_out = Some(n);
            continue;
        }
        let Some(line) = crate::logs::LogLine::parse(text) else {
            continue;
        };
        let tester = line.topic == "TEST";
        if tester {
            if let Some(fact) = tester_fact(line.micros, &line.message) {
                out.records.push(fact);
            }
        }
        let mut fields = vec![("topic", FieldValue::Str(line.topic.to_ascii_lowercase()))];
        if let Some(p) = line.peer {
            fields.push(("peer", FieldValue::U64(p)));
        }
        if let Some(t) = line.term {
            fields.push(("term", FieldValue::U64(t)));
        }
        out.records.push(Record {
            micros: line.micros,
            target: if tester { "tester" } else { TEXT_LOG_TARGET },
            level: match line.topic.as_str() {
                "ERROR" => Level::ERROR,
                "WARN" => Level::WARN,
                _ => Level::DEBUG,
            },
            message: line.message,
            fields,
        });
    }
    out
}

/// The fact a tester's log line states, if it states one.
fn tester_fact(micros: u64, message: &str) -> Option<Record> {
    let fact = |fields: Vec<(&'static str, FieldValue)>| Record {
        micros,
        target: probe::TARGET,
        level: Level::DEBUG,
        message: String::new(),
        fields,
    };
    let m = message.trim();
    if let Some(rest) = m.strip_prefix(crate::tester::CLUSTER_LINE) {
        let n: u64 = rest.strip_suffix(" peers")?.parse().ok()?;
        return Some(fact(vec![
            ("fact", FieldValue::Str(Fact::Cluster.as_str().to_string())),
            ("peers", FieldValue::U64(n)),
        ]));
    }
    let (name, rest) = m.split_once('(')?;
    let peer: u64 = rest.strip_suffix(')')?.parse().ok()?;
    let kind = match name {
        "start" => Fact::Start,
        "crash" => Fact::Crash,
        "connect" => Fact::Connect,
        "disconnect" => Fact::Disconnect,
        _ => return None,
    };
    Some(fact(vec![
        ("fact", FieldValue::Str(kind.as_str().to_string())),
        ("peer", FieldValue::U64(peer)),
    ]))
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Whether a record is one of a peer's own events (not the tester's, not a fact).
fn is_peer_event(r: &Record) -> bool {
    r.target != probe::TARGET && r.target != "tester" && r.peer().is_some()
}

/// The timeline of a finished trial. With no records (a trial run without
/// [`TrialSettings::with_timeline`](crate::trial::TrialSettings::with_timeline)) it has only
/// the failure, and a note saying so.
pub fn from_report(report: &TrialReport) -> Timeline {
    // A trial without records is drawn from its text log, if it kept one.
    let from_text = match (&report.records, &report.log) {
        (None, Some(log)) => Some(records_from_log(log)),
        _ => None,
    };
    let records = match (&report.records, &from_text) {
        (Some(records), _) => records.as_slice(),
        (None, Some(read)) => read.records.as_slice(),
        (None, None) => &[],
    };
    // Real mode appends from several threads: put the records in time order (stable, so
    // events of one instant keep their order).
    let mut order: Vec<&Record> = records.iter().collect();
    order.sort_by_key(|r| r.micros);

    let is_fact =
        |r: &Record, fact: Fact| r.target == probe::TARGET && r.str("fact") == Some(fact.as_str());
    let roles = if order
        .iter()
        .any(|r| is_peer_event(r) && role_hint(&r.message) == Some(Role::Leader))
    {
        RoleSource::Log
    } else if order.iter().any(|r| is_fact(r, Fact::Rpc)) {
        RoleSource::Inferred
    } else {
        RoleSource::Sampled
    };

    let mut b = Builder {
        tracks: Vec::new(),
        spans: Vec::new(),
        cuts: Vec::new(),
    };
    let mut clusters = Vec::new();
    let mut samples = Vec::new();
    let mut applies = Vec::new();
    let mut events = Vec::new();
    let mut lanes = 0usize;
    let mut calls = Calls::default();
    let mut cleaned: Option<u64> = None;
    let mut history: Option<&str> = None;

    for r in &order {
        let at = r.micros;
        if r.target == probe::TARGET {
            let Some(fact) = r.str("fact").and_then(Fact::parse) else {
                continue;
            };
            let peer = r.peer().map(|p| p as usize);
            match (fact, peer) {
                (Fact::End | Fact::Rpc, _) => {
                    if let Some((p, clue)) = calls.fact(clusters.len(), r) {
                        if roles != RoleSource::Log {
                            b.infer(p, at, clue);
                        }
                    }
                }
                (Fact::Cluster, _) => {
                    b.all_down(cleaned.take().unwrap_or(at));
                    let n = r.u64("peers").unwrap_or(0) as usize;
                    for p in 0..n {
                        // A fresh cluster: term 0, and not connected until the tester says.
                        let t = b.track(p);
                        t.term = 0;
                        t.connected = false;
                        t.cut_since = at;
                    }
                    lanes = lanes.max(n);
                    clusters.push(ClusterStart { at, peers: n });
                }
                // The peers go down at the cleanup only if the run goes on: a trial ends with
                // the cleanup, and its lanes end in the states of its last moment.
                (Fact::Cleanup, _) => cleaned = cleaned.or(Some(at)),
                (Fact::History, _) => history = r.str("history").or(history),
                (Fact::Start, Some(p)) => {
                    let term = b.track(p).term;
                    let state = PeerState::Up {
                        term,
                        role: Role::Follower,
                    };
                    b.set(p, at, state, false);
                }
                (Fact::Crash, Some(p)) => b.set(p, at, PeerState::Down, false),
                (Fact::Connect, Some(p)) => b.connect(p, at, true),
                (Fact::Disconnect, Some(p)) => b.connect(p, at, false),
                (Fact::State, Some(p)) => {
                    let term = r.term().unwrap_or(0);
                    let leader = r.field("leader").and_then(|v| v.as_bool()) == Some(true);
                    samples.push(Sample {
                        at,
                        peer: p,
                        term,
                        leader,
                    });
                    if roles != RoleSource::Log {
                        b.infer(p, at, Clue::Told { term, leader });
                    }
                }
                (Fact::Applied, Some(p)) => applies.push(Apply {
                    at,
                    peer: p,
                    index: r.u64("index").unwrap_or(0),
                }),
                _ => {}
            }
            if let Some(p) = peer {
                lanes = lanes.max(p + 1);
            }
            continue;
        }

        let line = r.line();
        if is_peer_event(r) {
            let p = r.peer().unwrap_or(0) as usize;
            lanes = lanes.max(p + 1);
            if roles == RoleSource::Log {
                let t = b.track(p).clone();
                if let (PeerState::Up { term, .. }, Some(new_term)) = (t.state, r.term()) {
                    let next = match role_hint(&r.message) {
                        Some(hint) if new_term >= term => Some((new_term, hint)),
                        None if new_term > term => Some((new_term, Role::Follower)),
                        _ => None,
                    };
                    if let Some((term, role)) = next {
                        b.set(p, at, PeerState::Up { term, role }, false);
                    }
                }
            }
            events.push(LogEvent {
                at,
                peer: Some(p),
                topic: r.topic(),
                kind: EventKind::Peer,
                line,
            });
        } else {
            let kind = if r.target == "tester" {
                tester_kind(&r.message)
            } else if r.level <= Level::WARN {
                EventKind::Warning
            } else {
                EventKind::Info
            };
            events.push(LogEvent {
                at,
                peer: None,
                topic: r.topic(),
                kind,
                line,
            });
        }
    }

    let failure_at = match &report.outcome {
        Err(TrialError::Check(f)) => Some(micros(f.at)),
        _ => None,
    };
    let last_record = order.last().map_or(0, |r| r.micros);
    let end = micros(report.elapsed)
        .max(last_record)
        .max(failure_at.unwrap_or(0));
    // Close what is still open at the end of the run.
    for p in 0..b.tracks.len() {
        let t = b.tracks[p].clone();
        // A state taken at the very end (a failing check's last look) is kept, though it
        // lasted no time: the page draws the states the run ended in a little past its end.
        if end > t.since || t.state != PeerState::Down {
            b.spans.push(Span {
                peer: p,
                from: t.since,
                to: end,
                state: t.state,
                guessed: t.guessed,
            });
        }
        if !t.connected && end > t.cut_since {
            b.cuts.push(Cut {
                peer: p,
                from: t.cut_since,
                to: end,
            });
        }
    }
    let mut spans = b.spans;
    spans.sort_by_key(|s| (s.peer, s.from));
    let mut cuts = b.cuts;
    cuts.sort_by_key(|c| (c.peer, c.from));

    let mut notes = Vec::new();
    if records.len() >= super::record::MAX_RECORDS {
        notes.push(format!(
            "the run logged more than {} events; only the first ones are drawn",
            super::record::MAX_RECORDS
        ));
    }
    let replay_html = format!(
        "harness replay {} --seed {}{} --html FILE",
        report.grader,
        report.seed,
        if report.executor == labrpc::runtime::Executor::Real {
            " --real"
        } else {
            ""
        }
    );
    match (&report.records, &from_text) {
        (Some(_), _) => {}
        (None, Some(read)) => {
            let why = if report.outcome.as_ref().is_err_and(TrialError::ran_away) {
                "it was stopped by a watchdog or its time limit, and such a trial is not run \
                 a second time to record more"
            } else {
                "it was run without structured records"
            };
            let mut note = format!(
                "drawn from the trial's text log, as it ran ({why}): lanes, terms, roles, \
                 crashes, restarts and disconnections come from its log lines; its RPCs, \
                 applies and the tester's get_state() samples are not shown ({replay_html} \
                 draws them, by running the trial again)"
            );
            if let Some(n) = read.left_out {
                note.push_str(&format!(
                    "; the log's {n} earliest lines were left out by its size bound, so the \
                     lanes start where it does"
                ));
            }
            notes.push(note);
        }
        (None, None) => notes.push(format!(
            "this trial was run without a log or structured records, so only its failure is \
             shown; {replay_html} draws everything"
        )),
    }
    if roles == RoleSource::Sampled && !samples.is_empty() {
        notes.push(
            "the peers' log names no roles (no line says a peer became leader), so roles and \
             terms are the tester's get_state() answers at its checks: a change shows from the \
             first check that saw it, and candidates do not show"
                .to_string(),
        );
    }
    if roles == RoleSource::Inferred {
        let mut note = "the peers' log names no roles (no line says a peer became leader), so \
                        roles come from their RPCs (sending RequestVote makes a candidate, \
                        sending AppendEntries or InstallSnapshot a leader) and from get_state() at the tester's \
                        checks"
            .to_string();
        if spans.iter().any(|s| s.guessed) {
            note.push_str(
                "; their messages are not the lab's, so a term marked ? is counted from the \
                 elections seen, until a check tells it",
            );
        }
        notes.push(note);
    }
    if roles == RoleSource::Log {
        notes.extend(disagreements(&spans, &samples));
    }

    let mut timeline = Timeline {
        grader: report.grader.to_string(),
        title: crate::graders::by_name(report.grader)
            .map_or_else(|| report.grader.to_string(), |g| g.title.to_string()),
        seed: report.seed,
        executor: report.executor.to_string(),
        replay: crate::testing::cli_replay_command(report.grader, report.seed, report.executor),
        end,
        peers: lanes,
        clusters,
        roles,
        spans,
        cuts,
        samples,
        applies,
        events,
        rpcs: calls.records(),
        failure: None,
        notes,
        history: None,
    };
    if let Some(json) = history {
        match serde_json::from_str(json) {
            Ok(h) => timeline.history = Some(h),
            Err(e) => timeline
                .notes
                .push(format!("the checked history could not be read back ({e})")),
        }
    }
    timeline.failure = failure_of(report, &timeline);
    bound_for_page(&mut timeline);
    timeline
}

/// The most RPCs a page draws: those nearest the failure (or the end of a passing run), and
/// every one the failure names; the others are counted per pair of peers and window of time in
/// the page's notes. A `reliable_churn` trial sends about 18,000, which drawn one by one made a
/// 4.3 MB page.
pub const MAX_DRAWN_RPCS: usize = 2_000;

/// The most peer log lines a page shows: those nearest the failure, and every one the failure
/// names (the tester's lines are all kept); the others are counted in a note.
pub const MAX_DRAWN_EVENTS: usize = 2_000;

/// Far from the failure, a peer's applies are thinned to its last one in each stretch of
/// this long: the apply index keeps its shape at a fraction of the points.
const APPLY_STEP_US: u64 = 100_000;

/// Windows of time the RPCs that are not drawn are counted in: about this many over the run.
const SUMMARY_WINDOWS: u64 = 12;

/// The positions `[from, to)` of the `k` times nearest `focus` in `times` (ascending): a
/// contiguous run, grown from the focus towards the nearer side.
fn nearest(times: &[u64], focus: u64, k: usize) -> (usize, usize) {
    let at = times.partition_point(|&t| t < focus);
    let (mut from, mut to) = (at, at);
    while to - from < k.min(times.len()) {
        let left = from.checked_sub(1).map(|i| focus.saturating_sub(times[i]));
        let right = times.get(to).map(|&t| t.saturating_sub(focus));
        match (left, right) {
            (Some(l), Some(r)) if l <= r => from -= 1,
            (Some(_), None) => from -= 1,
            (_, Some(_)) => to += 1,
            (None, None) => break,
        }
    }
    (from, to)
}

/// A window length of about `span / SUMMARY_WINDOWS`, rounded up to 1, 2 or 5 times a power of
/// ten of microseconds (at least a second).
fn window_length(span: u64) -> u64 {
    let want = (span / SUMMARY_WINDOWS).max(1_000_000);
    let mut unit = 1_000_000u64;
    loop {
        for m in [1, 2, 5] {
            if unit.saturating_mul(m) >= want {
                return unit.saturating_mul(m);
            }
        }
        unit = unit.saturating_mul(10);
    }
}

/// Seconds for the page's notes: `12.3s`.
fn secs(us: u64) -> String {
    format!("{:.1}s", us as f64 / 1e6)
}

/// Keeps `keep` of `items` and returns where each old position went (`None`: dropped).
fn retain_marked<T>(items: &mut Vec<T>, keep: &[bool]) -> Vec<Option<usize>> {
    let mut moved = Vec::with_capacity(keep.len());
    let mut next = 0;
    for &k in keep {
        moved.push(k.then_some(next));
        next += usize::from(k);
    }
    let mut flags = keep.iter();
    items.retain(|_| flags.next().copied().unwrap_or(false));
    moved
}

/// Bounds what a page draws (see [`MAX_DRAWN_RPCS`], [`MAX_DRAWN_EVENTS`]): near the failure
/// everything, far from it counts, so a long churn trial's page stays well under a megabyte.
/// What is left out is said in the notes, with where the replay has it all.
pub fn bound_for_page(t: &mut Timeline) {
    let focus = t.failure.as_ref().map_or(t.end, |f| f.at);
    let mut drawn: Option<(u64, u64)> = None;

    if t.rpcs.len() > MAX_DRAWN_RPCS {
        let times: Vec<u64> = t.rpcs.iter().map(|r| r.sent).collect();
        let (from, to) = nearest(&times, focus, MAX_DRAWN_RPCS);
        let named: BTreeSet<usize> = t.failure.iter().flat_map(|f| f.rpcs.clone()).collect();
        let keep: Vec<bool> = (0..t.rpcs.len())
            .map(|i| (from..to).contains(&i) || named.contains(&i))
            .collect();
        let (lo, hi) = (times[from], times[to - 1]);
        drawn = Some((lo, hi));
        let window = window_length(t.end);
        // (window, from, to) -> count, for the RPCs not drawn.
        let mut counts: BTreeMap<u64, BTreeMap<(usize, usize), u64>> = BTreeMap::new();
        for (r, _) in t.rpcs.iter().zip(&keep).filter(|(_, k)| !**k) {
            *counts
                .entry(r.sent / window)
                .or_default()
                .entry((r.from, r.to))
                .or_default() += 1;
        }
        let left_out: u64 = counts.values().flat_map(|c| c.values()).sum();
        let moved = retain_marked(&mut t.rpcs, &keep);
        if let Some(f) = &mut t.failure {
            f.rpcs = f.rpcs.iter().filter_map(|&i| moved[i]).collect();
        }
        t.notes.push(format!(
            "RPCs are drawn from {} to {} of run time, the {} nearest the failure{}; the other \
             {left_out} are counted below, per pair of peers and {} of run time (`harness \
             replay` with --log shows every one)",
            secs(lo),
            secs(hi),
            to - from,
            if named.is_empty() {
                String::new()
            } else {
                " and those its evidence names".to_string()
            },
            secs(window)
        ));
        for (w, pairs) in &counts {
            let total: u64 = pairs.values().sum();
            let each: Vec<String> = pairs
                .iter()
                .map(|((a, b), n)| format!("S{a}→S{b} {n}"))
                .collect();
            t.notes.push(format!(
                "RPCs not drawn, {} to {}: {total} ({})",
                secs(w * window),
                secs((w + 1) * window),
                each.join(", ")
            ));
        }
    }

    let peer_events = t.events.iter().filter(|e| e.peer.is_some()).count();
    if peer_events > MAX_DRAWN_EVENTS {
        let positions: Vec<usize> = (0..t.events.len())
            .filter(|&i| t.events[i].peer.is_some())
            .collect();
        let times: Vec<u64> = positions.iter().map(|&i| t.events[i].at).collect();
        let (from, to) = nearest(&times, focus, MAX_DRAWN_EVENTS);
        let mut keep: Vec<bool> = t.events.iter().map(|e| e.peer.is_none()).collect();
        for &i in &positions[from..to] {
            keep[i] = true;
        }
        if let Some(f) = &t.failure {
            for &i in &f.events {
                keep[i] = true;
            }
        }
        let left_out = keep.iter().filter(|k| !**k).count();
        let moved = retain_marked(&mut t.events, &keep);
        if let Some(f) = &mut t.failure {
            f.events = f.events.iter().filter_map(|&i| moved[i]).collect();
        }
        t.notes.push(format!(
            "the peers' log lines are shown from {} to {}, the {} nearest the failure; {left_out} \
             others are not (the tester's lines are all shown; `harness replay` shows every \
             line)",
            secs(times[from]),
            secs(times[to - 1]),
            to - from
        ));
        drawn = Some(drawn.map_or((times[from], times[to - 1]), |(lo, hi)| {
            (lo.min(times[from]), hi.max(times[to - 1]))
        }));
    }

    // Applies: all of them where RPCs and lines are drawn, a peer's last in each step elsewhere.
    if let Some((lo, hi)) = drawn {
        let before = t.applies.len();
        let near = |at: u64| (lo..=hi).contains(&at);
        let keep: Vec<bool> = t
            .applies
            .iter()
            .enumerate()
            .map(|(i, a)| {
                // Far from the failure, a later apply of the same peer in the same step
                // replaces it.
                let step = a.at / APPLY_STEP_US;
                near(a.at)
                    || !t.applies[i + 1..]
                        .iter()
                        .take_while(|b| b.at / APPLY_STEP_US == step)
                        .any(|b| b.peer == a.peer && !near(b.at))
            })
            .collect();
        retain_marked(&mut t.applies, &keep);
        if t.applies.len() < before {
            t.notes.push(format!(
                "outside {} to {}, each peer's applies are shown once per {}ms (its last): {} \
                 of {before} drawn",
                secs(lo),
                secs(hi),
                APPLY_STEP_US / 1_000,
                t.applies.len()
            ));
        }
    }
}

/// Samples where `get_state` said something the log-derived lanes do not show.
fn disagreements(spans: &[Span], samples: &[Sample]) -> Vec<String> {
    let mut out = Vec::new();
    for s in samples {
        let state = spans
            .iter()
            .find(|x| x.peer == s.peer && x.from <= s.at && s.at < x.to)
            .map(|x| x.state);
        let agrees = match state {
            Some(PeerState::Up { term, role }) => {
                term == s.term && (role == Role::Leader) == s.leader
            }
            _ => true,
        };
        if !agrees && out.len() < MAX_DISAGREEMENTS {
            out.push(format!(
                "at {:.6}s S{} told the tester term {}{}, but its log says otherwise (a role \
                 or term change the log does not mention?)",
                s.at as f64 / 1e6,
                s.peer,
                s.term,
                if s.leader { ", leader" } else { "" }
            ));
        }
    }
    out
}

/// The failure of `report`, with what it names marked in `timeline`.
fn failure_of(report: &TrialReport, timeline: &Timeline) -> Option<Failure> {
    let (at, message, source) = match &report.outcome {
        Ok(_) => return None,
        Err(TrialError::Check(f)) if f.message.starts_with(MONITOR_HEADLINE) => {
            (micros(f.at), f.message.clone(), FailureSource::Monitor)
        }
        Err(TrialError::Check(f)) => (micros(f.at), f.message.clone(), FailureSource::Check),
        Err(TrialError::TimeLimit) => {
            (timeline.end, report_error(report), FailureSource::TimeLimit)
        }
        Err(
            TrialError::Runtime(_)
            | TrialError::Setup(_)
            | TrialError::SnapshotDeadlock { .. }
            | TrialError::SnapshotStuck { .. }
            | TrialError::ApplyBlocked { .. }
            | TrialError::ApplyLoop { .. }
            | TrialError::HeldThread { .. },
        ) => (timeline.end, report_error(report), FailureSource::Runtime),
    };
    let evidence = evidence_in(&message);
    // The monitor's rule statement is the paper's sentence, not names: read the headline and
    // the evidence only.
    // The monitor's headline names the peers and terms the rule is about; its evidence names
    // others too (whom a message went to).
    let named: String = if source == FailureSource::Monitor {
        message.lines().next().unwrap_or("").to_string()
    } else {
        message.clone()
    };
    let (peers, terms) = names_in(&named);
    let from = evidence
        .iter()
        .map(|e| e.at)
        .chain([at.saturating_sub(micros(FAILURE_WINDOW))])
        .min()
        .unwrap_or(0);
    let mut spans: Vec<usize> = if peers.is_empty() && terms.is_empty() {
        Vec::new()
    } else {
        timeline
            .spans
            .iter()
            .enumerate()
            .filter(|(_, s)| s.to >= from && s.from <= at)
            // Naming peers but no terms, a message is about their state when it failed.
            .filter(|(_, s)| !terms.is_empty() || s.to >= at)
            .filter(|(_, s)| peers.is_empty() || peers.contains(&s.peer))
            .filter(|(_, s)| match s.state {
                PeerState::Up { term, .. } => terms.is_empty() || terms.contains(&term),
                PeerState::Down => false,
            })
            .map(|(i, _)| i)
            .collect()
    };
    // A message about leaders ("term 3 has 2 (>1) leaders", "stale leader: ...") is about the
    // leader spans among those, when there are any.
    let is_leader = |i: &usize| {
        matches!(
            timeline.spans[*i].state,
            PeerState::Up {
                role: Role::Leader,
                ..
            }
        )
    };
    if message.contains("leader") && spans.iter().any(is_leader) {
        spans.retain(is_leader);
    }
    let mut events: Vec<usize> = Vec::new();
    if !(peers.is_empty() && terms.is_empty()) {
        for (i, e) in timeline.events.iter().enumerate().rev() {
            if e.at > at {
                continue;
            }
            if e.at < from || events.len() >= MAX_MARKED_EVENTS {
                break;
            }
            let Some(p) = e.peer else { continue };
            let about_role = matches!(e.topic.as_str(), "leader" | "term" | "vote" | "timer");
            let term = crate::logs::LogLine::parse(&e.line).and_then(|l| l.term);
            if about_role
                && (peers.is_empty() || peers.contains(&p))
                && (terms.is_empty() || term.is_some_and(|t| terms.contains(&t)))
            {
                events.push(i);
            }
        }
    }
    // The tester's last word before the failure says what it was checking.
    if let Some(i) = timeline
        .events
        .iter()
        .rposition(|e| e.peer.is_none() && e.at <= at)
    {
        events.push(i);
    }
    events.sort_unstable();
    events.dedup();
    let mut rpcs: Vec<usize> = evidence
        .iter()
        .flat_map(|e| rpcs_named(timeline, e))
        .collect();
    rpcs.sort_unstable();
    rpcs.dedup();
    Some(Failure {
        at,
        message,
        source,
        peers,
        terms,
        spans,
        events,
        evidence,
        rpcs,
    })
}

/// The evidence lines of a safety monitor's violation: `  - 1.200s: S1 sent ...` (or
/// `1.234567s` for a time between milliseconds).
///
/// ```
/// use harness::timeline::extract::evidence_in;
///
/// let message = "safety violation (Election Safety): S1 and S2 both led term 4\n  \
///                rule: at most one leader\n  - 1.200s: S1 sent AppendEntries of term 4\n  \
///                - 2.500s: S2 sent AppendEntries of term 4";
/// let evidence = evidence_in(message);
/// assert_eq!(evidence.len(), 2);
/// assert_eq!(evidence[1].at, 2_500_000);
/// assert_eq!(evidence[1].peers, [2]);
/// ```
pub fn evidence_in(message: &str) -> Vec<Evidence> {
    message
        .lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix("- ")?;
            let (time, text) = rest.split_once("s: ")?;
            // Milliseconds (`1.200s`) or microseconds (`1.234567s`).
            let (secs, frac) = time.split_once('.')?;
            let scale = match frac.len() {
                3 => 1_000,
                6 => 1,
                _ => return None,
            };
            let at = secs.parse::<u64>().ok()? * 1_000_000 + frac.parse::<u64>().ok()? * scale;
            let mut peers: Vec<usize> = Vec::new();
            for word in text.split(|c: char| !c.is_ascii_alphanumeric()) {
                let peer = word
                    .strip_prefix('S')
                    .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|d| d.parse().ok());
                if let Some(p) = peer.filter(|p| !peers.contains(p)) {
                    peers.push(p);
                }
            }
            Some(Evidence {
                at,
                peers,
                text: rest.to_string(),
            })
        })
        .collect()
}

/// The RPCs an evidence line is about: sent, handled or ended at its time, between the peers
/// it names (`S6 sent AppendEntries to S1`: from S6 to S1), of the method it names if any.
fn rpcs_named(timeline: &Timeline, e: &Evidence) -> Vec<usize> {
    if e.peers.is_empty() {
        return Vec::new();
    }
    let (first, second) = (e.peers[0], e.peers.get(1).copied());
    timeline
        .rpcs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.sent == e.at || r.delivered == Some(e.at) || r.done == e.at)
        .filter(|(_, r)| {
            let method = r.method.rsplit('.').next().unwrap_or(&r.method);
            (!e.text.contains("RequestVote") && !e.text.contains("AppendEntries"))
                || e.text.contains(method)
        })
        .filter(|(_, r)| match second {
            Some(to) => (r.from, r.to) == (first, to) || (r.from, r.to) == (to, first),
            None => r.from == first || r.to == first,
        })
        .map(|(i, _)| i)
        .take(MAX_RPCS_PER_EVIDENCE)
        .collect()
}

fn report_error(report: &TrialReport) -> String {
    match &report.outcome {
        Err(e) => e.to_string(),
        Ok(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run of `n` RPCs (one every 10 ms, round the three peers), `n` peer log lines at the
    /// same times, and 3 applies every 10 ms, failing at `fail_at` µs and naming the first RPC
    /// and the one at 60% of the run, and the first and last lines.
    fn busy(n: usize, fail_at: u64) -> Timeline {
        let rpc = |i: usize| RpcRecord {
            from: i % 3,
            to: (i + 1) % 3,
            method: "Raft.AppendEntries".into(),
            sent: i as u64 * 10_000,
            delivered: Some(i as u64 * 10_000 + 1_000),
            done: i as u64 * 10_000 + 2_000,
            outcome: RpcOutcome::Replied,
            detail: String::new(),
        };
        let event = |i: usize| LogEvent {
            at: i as u64 * 10_000,
            peer: Some(i % 3),
            topic: "append".into(),
            kind: EventKind::Peer,
            line: format!("line {i}"),
        };
        let tester = LogEvent {
            at: 5,
            peer: None,
            topic: "test".into(),
            kind: EventKind::Begin,
            line: "begin".into(),
        };
        Timeline {
            grader: "reliable_churn".into(),
            title: "churn".into(),
            seed: 1,
            executor: "sim".into(),
            replay: String::new(),
            end: n as u64 * 10_000,
            peers: 3,
            clusters: vec![],
            roles: RoleSource::Log,
            spans: vec![],
            cuts: vec![],
            samples: vec![],
            applies: (0..3 * n)
                .map(|i| Apply {
                    at: (i / 3) as u64 * 10_000,
                    peer: i % 3,
                    index: (i / 3) as u64,
                })
                .collect(),
            events: std::iter::once(tester).chain((0..n).map(event)).collect(),
            rpcs: (0..n).map(rpc).collect(),
            failure: Some(Failure {
                at: fail_at,
                message: "boom".into(),
                source: FailureSource::Check,
                peers: BTreeSet::new(),
                terms: BTreeSet::new(),
                spans: vec![],
                events: vec![1, n],
                evidence: vec![],
                rpcs: vec![0, n * 6 / 10],
            }),
            notes: vec![],
            history: None,
        }
    }

    #[test]
    fn a_page_draws_the_rpcs_near_the_failure_and_counts_the_others() {
        let n = 10_000; // 100 s of run time
        let mut t = busy(n, 60_000_000);
        bound_for_page(&mut t);
        // The 2,000 nearest 60 s (40 s to 60 s, 60 s to 80 s), and the named first one.
        assert_eq!(t.rpcs.len(), MAX_DRAWN_RPCS + 1);
        assert_eq!(t.rpcs[0].sent, 0);
        assert_eq!(t.rpcs[1].sent, 50_000_000);
        assert_eq!(t.rpcs[MAX_DRAWN_RPCS].sent, 69_990_000);
        let f = t.failure.as_ref().expect("the failure");
        assert_eq!(f.rpcs, [0, 1 + 1_000]);
        assert_eq!(t.rpcs[f.rpcs[1]].sent, 60_000_000);
        // The tester's line, the peers' nearest lines, and the two far ones the failure marks.
        assert_eq!(t.events.len(), 1 + MAX_DRAWN_EVENTS + 2);
        assert_eq!(t.events[0].line, "begin");
        assert_eq!(t.events[f.events[0]].line, "line 0");
        assert_eq!(t.events[f.events[1]].line, "line 9999");
        assert_eq!(
            t.notes[0],
            "RPCs are drawn from 50.0s to 70.0s of run time, the 2000 nearest the failure and \
             those its evidence names; the other 7999 are counted below, per pair of peers and \
             10.0s of run time (`harness replay` with --log shows every one)"
        );
        assert_eq!(
            t.notes[1],
            "RPCs not drawn, 0.0s to 10.0s: 999 (S0→S1 333, S1→S2 333, S2→S0 333)"
        );
        assert!(t
            .notes
            .iter()
            .any(|n| n.starts_with("RPCs not drawn, 90.0s to 100.0s: 1000 (")));
        assert!(!t
            .notes
            .iter()
            .any(|n| n.starts_with("RPCs not drawn, 50.0s")));
        assert!(t.notes.iter().any(|n| n.starts_with(
            "the peers' log lines are shown from 50.0s to 70.0s, the 2000 nearest the failure; \
             7998 others are not"
        )));
        // Applies: all 6,000 of the drawn 20 s, one per peer per 100 ms elsewhere (80 s).
        assert_eq!(t.applies.len(), 3 * 2_000 + 3 * 800);
    }

    #[test]
    fn a_small_run_is_drawn_whole() {
        let mut t = busy(500, 2_000_000);
        let before = t.clone();
        bound_for_page(&mut t);
        assert_eq!(t, before);
    }

    #[test]
    fn names_in_the_testers_messages() {
        let case = |m: &str| {
            let (p, t) = names_in(m);
            (
                p.into_iter().collect::<Vec<_>>(),
                t.into_iter().collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            case("expected no leader among connected servers, but 2 claims to be leader"),
            (vec![2], vec![])
        );
        assert_eq!(
            case("stale leader: 2 connected servers still claim to be leader 2s after the network healed: 0 (term 1), 2 (term 3)"),
            (vec![0, 2], vec![1, 3])
        );
        assert_eq!(
            case("leader changed from 0 in term 4 with no failures (server 2 now says is_leader=true)"),
            (vec![0, 2], vec![4])
        );
        assert_eq!(
            case("follower 1 received 300 RPCs in 10.0s (30.0 per second) from a stable leader"),
            (vec![1], vec![])
        );
        assert_eq!(
            case("commit index=5 server=1 [1] != server=2 [2]"),
            (vec![1, 2], vec![])
        );
        assert_eq!(case("expected one leader, got none"), (vec![], vec![]));
        assert_eq!(case("S3 voted twice in term 7"), (vec![3], vec![7]));
    }

    #[test]
    fn role_hints_for_this_crates_raft_and_other_wordings() {
        assert_eq!(
            role_hint("started as follower of 3 peers; election timeout 600ms"),
            Some(Role::Follower)
        );
        assert_eq!(
            role_hint("S0 leads term 4: candidate becomes follower"),
            Some(Role::Follower)
        );
        assert_eq!(
            role_hint(
                "S2 claims to lead term 3 too; two leaders in one term is a bug (stepping down)"
            ),
            Some(Role::Follower)
        );
        assert_eq!(
            role_hint("Converting to Candidate, calling election T:4"),
            Some(Role::Candidate)
        );
        assert_eq!(
            role_hint("Achieved Majority for T4 (2), converting to Leader"),
            Some(Role::Leader)
        );
        assert_eq!(
            role_hint("election timeout of 512ms passed as follower"),
            None
        );
        assert_eq!(role_hint("S1 accepted the heartbeat"), None);
        assert_eq!(role_hint("sent a reply to leader S1"), None);
        assert_eq!(role_hint("sending AppendEntries to follower S2"), None);
    }

    #[test]
    fn tester_lines_get_their_kind() {
        assert_eq!(tester_kind("begin: Test (3A): x"), EventKind::Begin);
        assert_eq!(tester_kind("disconnect(2)"), EventKind::Disconnect);
        assert_eq!(tester_kind("connect(2)"), EventKind::Connect);
        assert_eq!(tester_kind("crash(1)"), EventKind::Crash);
        assert_eq!(tester_kind("start(1)"), EventKind::Start);
        assert_eq!(
            tester_kind("check_one_leader: S1 leads term 2"),
            EventKind::Check
        );
        assert_eq!(tester_kind("warning: term changed"), EventKind::Warning);
    }
}

#[cfg(test)]
mod inference_tests {
    use super::*;
    use labrpc::runtime::Executor;

    fn fact(micros: u64, fields: &[(&'static str, FieldValue)]) -> Record {
        Record {
            micros,
            target: probe::TARGET,
            level: Level::DEBUG,
            message: String::new(),
            fields: fields.to_vec(),
        }
    }
    fn s(v: &str) -> FieldValue {
        FieldValue::Str(v.to_string())
    }
    fn u(v: u64) -> FieldValue {
        FieldValue::U64(v)
    }

    fn timeline_of(records: Vec<Record>) -> Timeline {
        from_report(&TrialReport {
            grader: "synthetic",
            seed: 0,
            executor: Executor::Sim,
            outcome: Err(TrialError::Setup("synthetic".into())),
            elapsed: Duration::from_secs(10),
            wall: Duration::ZERO,
            log: None,
            records: Some(records),
            trace: Default::default(),
        })
    }

    /// Two peers; peer 0 runs two elections (its messages unreadable), a check tells its term.
    fn two_elections(sampled_term: u64) -> Vec<Record> {
        let mut r = vec![fact(0, &[("fact", s("cluster")), ("peers", u(2))])];
        for p in 0..2 {
            r.push(fact(0, &[("fact", s("start")), ("peer", u(p))]));
            r.push(fact(
                0,
                &[
                    ("fact", s("end")),
                    ("end", u(p)),
                    ("from", u(p)),
                    ("to", u(1 - p)),
                ],
            ));
        }
        let mut call = 0;
        let mut send = |r: &mut Vec<Record>, at: u64, method: &str| {
            r.push(fact(
                at,
                &[
                    ("fact", s("rpc")),
                    ("call", u(call)),
                    ("end", u(0)),
                    ("method", s(method)),
                    ("stage", s("sent")),
                ],
            ));
            call += 1;
        };
        // Election one at 1 s (two RequestVotes in one burst), election two at 2 s, which it
        // wins at 2.5 s.
        send(&mut r, 1_000_000, "Raft.RequestVote");
        send(&mut r, 1_000_100, "Raft.RequestVote");
        send(&mut r, 2_000_000, "Raft.RequestVote");
        send(&mut r, 2_500_000, "Raft.AppendEntries");
        r.push(fact(
            3_000_000,
            &[
                ("fact", s("state")),
                ("peer", u(0)),
                ("term", u(sampled_term)),
                ("leader", FieldValue::Bool(true)),
            ],
        ));
        r
    }

    #[test]
    fn roles_come_from_rpcs_with_counted_terms_until_a_check_tells_them() {
        let t = timeline_of(two_elections(2));
        assert_eq!(t.roles, RoleSource::Inferred);
        let states: Vec<(u64, PeerState, bool)> = t
            .spans_of(0)
            .map(|s| (s.from, s.state, s.guessed))
            .collect();
        let up = |term, role| PeerState::Up { term, role };
        assert_eq!(
            states,
            [
                (0, up(0, Role::Follower), false),
                (1_000_000, up(1, Role::Candidate), true),
                (2_000_000, up(2, Role::Candidate), true),
                // The check at 3 s said term 2, leader: the counted term was right.
                (2_500_000, up(2, Role::Leader), false),
            ]
        );
    }

    #[test]
    fn a_check_corrects_a_counted_term() {
        let t = timeline_of(two_elections(5));
        let last = t.spans_of(0).last().copied().expect("spans");
        assert_eq!(
            (last.from, last.state, last.guessed),
            (
                3_000_000,
                PeerState::Up {
                    term: 5,
                    role: Role::Leader
                },
                false
            )
        );
    }

    #[test]
    fn without_rpcs_or_log_roles_the_checks_draw_the_lanes() {
        let records: Vec<Record> = two_elections(2)
            .into_iter()
            .filter(|r| r.str("fact") != Some("rpc"))
            .collect();
        let t = timeline_of(records);
        assert_eq!(t.roles, RoleSource::Sampled);
        let states: Vec<(u64, PeerState)> = t.spans_of(0).map(|s| (s.from, s.state)).collect();
        assert_eq!(
            states,
            [
                (
                    0,
                    PeerState::Up {
                        term: 0,
                        role: Role::Follower
                    }
                ),
                (
                    3_000_000,
                    PeerState::Up {
                        term: 2,
                        role: Role::Leader
                    }
                ),
            ]
        );
    }
}
