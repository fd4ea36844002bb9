//! What the timeline page shows, as plain data: one [`Timeline`] per trial. Times are run
//! times in microseconds (virtual in sim mode), as in the text log.

use std::collections::BTreeSet;

use super::history::History;

/// A peer's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Follows (or waits for) a leader.
    Follower,
    /// Asks for votes.
    Candidate,
    /// Leads its term.
    Leader,
}

impl Role {
    /// The role's name as the page shows it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// What a peer was during a [`Span`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerState {
    /// Running, with this term and role.
    Up {
        /// The peer's current term.
        term: u64,
        /// The peer's role.
        role: Role,
    },
    /// Crashed (or not started): no tasks, no RPCs.
    Down,
}

/// One stretch of time during which a peer's state did not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The peer.
    pub peer: usize,
    /// Start (µs).
    pub from: u64,
    /// End (µs).
    pub to: u64,
    /// The state throughout.
    pub state: PeerState,
    /// Whether the term is a guess: the roles came from the peer's RPCs, whose messages could
    /// not be read, and no `get_state` has confirmed the term yet.
    pub guessed: bool,
}

/// Where the roles and terms of the peers' lanes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleSource {
    /// From the peers' own log events (became candidate, became leader, stepped down, terms):
    /// every change at the moment it happened.
    Log,
    /// From the peers' RPCs (a peer sending `RequestVote` is a candidate, one sending
    /// `AppendEntries` a leader; the terms in the lab's messages) and the tester's `get_state`
    /// calls: the peer's log names no roles.
    Inferred,
    /// From the tester's `get_state` calls at its checks only (no log roles and no RPCs): a
    /// change shows from the first check that saw it, and candidates do not show.
    Sampled,
}

/// A stretch of time during which the tester had a peer disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// The peer.
    pub peer: usize,
    /// Disconnected at (µs).
    pub from: u64,
    /// Connected again (or the cluster ended) at (µs).
    pub to: u64,
}

/// A peer's answer to the tester's `get_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// When (µs).
    pub at: u64,
    /// The peer.
    pub peer: usize,
    /// Its term.
    pub term: u64,
    /// Whether it said it leads.
    pub leader: bool,
}

/// A peer applied a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Apply {
    /// When (µs).
    pub at: u64,
    /// The peer.
    pub peer: usize,
    /// The command's log index.
    pub index: u64,
}

/// What kind of event a log line is, for its mark on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A peer's own event (its topic gives the colour).
    Peer,
    /// The tester began a test.
    Begin,
    /// The tester connected a peer.
    Connect,
    /// The tester disconnected a peer.
    Disconnect,
    /// The tester crashed a peer.
    Crash,
    /// The tester started a peer.
    Start,
    /// A tester check and what it found.
    Check,
    /// A tester warning.
    Warning,
    /// Anything else the tester said.
    Info,
}

impl EventKind {
    /// The kind's name on the page.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Peer => "peer",
            EventKind::Begin => "begin",
            EventKind::Connect => "connect",
            EventKind::Disconnect => "disconnect",
            EventKind::Crash => "crash",
            EventKind::Start => "start",
            EventKind::Check => "check",
            EventKind::Warning => "warning",
            EventKind::Info => "info",
        }
    }
}

/// One line of the run's log, placed on a lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// When (µs).
    pub at: u64,
    /// The peer's lane, or `None` for the tester's lane.
    pub peer: Option<usize>,
    /// The topic (`vote`, `test`, ...).
    pub topic: String,
    /// What kind of mark it gets.
    pub kind: EventKind,
    /// The full log line, as the text log has it.
    pub line: String,
}

/// How an RPC ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RpcOutcome {
    /// The caller got the reply.
    Replied,
    /// The network dropped the request.
    RequestDropped,
    /// The network dropped the reply.
    ReplyDropped,
    /// The caller's end was disabled or the server missing: it failed after a delay.
    Unreachable,
    /// The server crashed (or was deleted) while the request was with it.
    ServerDied,
    /// Another error (an unknown method, arguments that do not decode, a handler panic).
    Error,
    /// No end was seen: the caller crashed while waiting, or the run ended first.
    Pending,
}

impl RpcOutcome {
    /// The outcome's name on the page.
    pub const fn as_str(self) -> &'static str {
        match self {
            RpcOutcome::Replied => "replied",
            RpcOutcome::RequestDropped => "request dropped",
            RpcOutcome::ReplyDropped => "reply dropped",
            RpcOutcome::Unreachable => "unreachable",
            RpcOutcome::ServerDied => "server died",
            RpcOutcome::Error => "error",
            RpcOutcome::Pending => "no end seen (the caller crashed, or the run ended)",
        }
    }

    /// Whether the RPC was lost on the way (its arrow ends in a cross).
    pub const fn is_lost(self) -> bool {
        !matches!(self, RpcOutcome::Replied | RpcOutcome::Pending)
    }
}

/// One RPC's life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcRecord {
    /// The caller.
    pub from: usize,
    /// The callee.
    pub to: usize,
    /// `"Raft.AppendEntries"`, ...
    pub method: String,
    /// The caller sent it (µs).
    pub sent: u64,
    /// The callee's handler produced its reply (µs), if it got that far.
    pub delivered: Option<u64>,
    /// The caller learned how it ended (µs): the reply arrived, or the call failed.
    pub done: u64,
    /// How it ended.
    pub outcome: RpcOutcome,
    /// A summary of the request and reply (term, entries, ...), when known.
    pub detail: String,
}

/// Who found the failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureSource {
    /// A tester check (the Go tester's message).
    Check,
    /// The safety monitor: a rule of Raft broke.
    Monitor,
    /// The test ran out of time.
    TimeLimit,
    /// The run itself failed (deadlock, panic, stuck task).
    Runtime,
}

impl FailureSource {
    /// The source's name on the page.
    pub const fn as_str(self) -> &'static str {
        match self {
            FailureSource::Check => "tester check",
            FailureSource::Monitor => "safety monitor",
            FailureSource::TimeLimit => "time limit",
            FailureSource::Runtime => "runtime",
        }
    }
}

/// One event the safety monitor gives as evidence of a broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// When (µs).
    pub at: u64,
    /// The peers the line names (`S1`, ...), in the order it names them: the first is the one
    /// that acted (`S6 sent AppendEntries to S1`).
    pub peers: Vec<usize>,
    /// The monitor's line.
    pub text: String,
}

/// Why and when the trial failed, and what the failure names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// When (µs).
    pub at: u64,
    /// The message, as the student sees it.
    pub message: String,
    /// Who found it.
    pub source: FailureSource,
    /// The peers the message names.
    pub peers: BTreeSet<usize>,
    /// The terms the message names.
    pub terms: BTreeSet<u64>,
    /// Positions in [`Timeline::spans`] of the spans the failure is about.
    pub spans: Vec<usize>,
    /// Positions in [`Timeline::events`] of the log lines the failure is about.
    pub events: Vec<usize>,
    /// The monitor's evidence, oldest first (empty for a tester check).
    pub evidence: Vec<Evidence>,
    /// Positions in [`Timeline::rpcs`] of the RPCs the evidence names.
    pub rpcs: Vec<usize>,
}

/// A new cluster (a grader may build several in turn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterStart {
    /// When (µs).
    pub at: u64,
    /// Its peers.
    pub peers: usize,
}

/// One trial on a time axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    /// The grader's name.
    pub grader: String,
    /// The grader's title.
    pub title: String,
    /// The seed.
    pub seed: u64,
    /// `sim` or `real`.
    pub executor: String,
    /// The command that replays the trial.
    pub replay: String,
    /// The end of the run (µs).
    pub end: u64,
    /// Lanes: the most peers any cluster had.
    pub peers: usize,
    /// The clusters, in order.
    pub clusters: Vec<ClusterStart>,
    /// Where the roles come from.
    pub roles: RoleSource,
    /// Each peer's states over time, in time order per peer.
    pub spans: Vec<Span>,
    /// Disconnections.
    pub cuts: Vec<Cut>,
    /// The tester's `get_state` samples.
    pub samples: Vec<Sample>,
    /// What each peer applied.
    pub applies: Vec<Apply>,
    /// The log, one event per line, in time order.
    pub events: Vec<LogEvent>,
    /// The RPCs, by send time.
    pub rpcs: Vec<RpcRecord>,
    /// The failure, for a failed trial.
    pub failure: Option<Failure>,
    /// What the page should say about missing data.
    pub notes: Vec<String>,
    /// The checked history of client calls (key/value tests), drawn under the peers' lanes.
    pub history: Option<History>,
}

impl Timeline {
    /// A timeline with nothing but a checked history (no trial: a history file, a test of a
    /// service without Raft lanes), titled `title`.
    pub fn of_history(title: &str, history: History) -> Timeline {
        Timeline {
            grader: String::new(),
            title: title.to_string(),
            seed: 0,
            executor: String::new(),
            replay: String::new(),
            end: history.page_micros(history.last_time()).ceil() as u64,
            peers: 0,
            clusters: Vec::new(),
            roles: RoleSource::Log,
            spans: Vec::new(),
            cuts: Vec::new(),
            samples: Vec::new(),
            applies: Vec::new(),
            events: Vec::new(),
            rpcs: Vec::new(),
            failure: None,
            notes: Vec::new(),
            history: Some(history),
        }
    }

    /// Whether this timeline is a history alone, with no trial around it (no grader, no
    /// peers: [`Timeline::of_history`]).
    pub fn is_history_only(&self) -> bool {
        self.history.is_some()
            && self.grader.is_empty()
            && self.peers == 0
            && self.clusters.is_empty()
    }

    /// The spans of `peer`, in time order.
    pub fn spans_of(&self, peer: usize) -> impl Iterator<Item = &Span> {
        self.spans.iter().filter(move |s| s.peer == peer)
    }

    /// `peer`'s state at `at`, if a span covers it.
    pub fn state_at(&self, peer: usize, at: u64) -> Option<PeerState> {
        self.spans_of(peer)
            .find(|s| s.from <= at && at < s.to)
            .map(|s| s.state)
    }
}
