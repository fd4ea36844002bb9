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
use super::record::Record;
use crate::trial::{TrialError, TrialReport};

/// How far back from the failure the marked spans and log lines may start.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(5);

/// The most log lines marked as named by the failure.
const MAX_MARKED_EVENTS: usize = 40;

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

/// The peers and terms a failure message names: `server 1`, `S1`, `follower 2`, `2 claims`,
/// `0 (term 1)`, `leader changed from 0`; `term 3`, `term changed from 1 to 2`.
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
            "server" | "peer" | "follower" | "candidate" | "leader" | "node" => {
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
            term: 0,
            connected: false,
            cut_since: 0,
        }
    }
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

    fn set(&mut self, peer: usize, at: u64, state: PeerState) {
        let t = self.track(peer);
        if t.state == state {
            return;
        }
        let (from, old) = (t.since, t.state);
        t.state = state;
        t.since = at;
        if let PeerState::Up { term, .. } = state {
            t.term = term;
        }
        if at > from && old != PeerState::Down {
            self.spans.push(Span {
                peer,
                from,
                to: at,
                state: old,
            });
        } else if at > from {
            self.spans.push(Span {
                peer,
                from,
                to: at,
                state: PeerState::Down,
            });
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

    /// Every peer down and connected (so no cut stays open), at `at`.
    fn all_down(&mut self, at: u64) {
        for peer in 0..self.tracks.len() {
            self.set(peer, at, PeerState::Down);
            if !self.tracks[peer].connected {
                let from = self.tracks[peer].cut_since;
                // A peer disconnected before its cluster ended stays cut until then.
                if at > from && self.tracks[peer].state == PeerState::Down {
                    self.cuts.push(Cut { peer, from, to: at });
                }
                self.tracks[peer].connected = true;
            }
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
    fn fact(&mut self, cluster: usize, r: &Record) {
        let at = r.micros;
        let Some(end) = r.u64("end") else { return };
        if r.str("fact") == Some(Fact::End.as_str()) {
            if let (Some(from), Some(to)) = (r.u64("from"), r.u64("to")) {
                self.ends
                    .insert((cluster, end), (from as usize, to as usize));
            }
            return;
        }
        let Some(id) = r.u64("call") else { return };
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
            }
            "handled" => {
                call.handled = Some(at);
                call.reply = detail;
            }
            "delivered" => {
                call.done = Some(at);
                call.outcome = Some(RpcOutcome::Replied);
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
    let records = report.records.as_deref().unwrap_or(&[]);
    // Real mode appends from several threads: put the records in time order (stable, so
    // events of one instant keep their order).
    let mut order: Vec<&Record> = records.iter().collect();
    order.sort_by_key(|r| r.micros);

    let roles = if order
        .iter()
        .any(|r| is_peer_event(r) && role_hint(&r.message) == Some(Role::Leader))
    {
        RoleSource::Log
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

    for r in &order {
        let at = r.micros;
        if r.target == probe::TARGET {
            let Some(fact) = r.str("fact").and_then(Fact::parse) else {
                continue;
            };
            let peer = r.peer().map(|p| p as usize);
            match (fact, peer) {
                (Fact::End | Fact::Rpc, _) => calls.fact(clusters.len(), r),
                (Fact::Cluster, _) => {
                    b.all_down(at);
                    let n = r.u64("peers").unwrap_or(0) as usize;
                    for p in 0..n {
                        b.track(p).term = 0;
                    }
                    lanes = lanes.max(n);
                    clusters.push(ClusterStart { at, peers: n });
                }
                (Fact::Cleanup, _) => b.all_down(at),
                (Fact::Start, Some(p)) => {
                    let term = b.track(p).term;
                    b.set(
                        p,
                        at,
                        PeerState::Up {
                            term,
                            role: Role::Follower,
                        },
                    );
                }
                (Fact::Crash, Some(p)) => b.set(p, at, PeerState::Down),
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
                    if roles == RoleSource::Sampled && b.track(p).state != PeerState::Down {
                        let role = if leader { Role::Leader } else { Role::Follower };
                        b.set(p, at, PeerState::Up { term, role });
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
                        b.set(p, at, PeerState::Up { term, role });
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
        if end > t.since {
            b.spans.push(Span {
                peer: p,
                from: t.since,
                to: end,
                state: t.state,
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
    if report.records.is_none() {
        notes.push(
            "this trial was run without structured records, so only its failure is shown; \
             replay it with --html to see everything"
                .to_string(),
        );
    }
    if roles == RoleSource::Sampled && !samples.is_empty() {
        notes.push(
            "the peers' log names no roles (no line says a peer became leader), so roles and \
             terms are the tester's get_state() answers at its checks: a change shows from the \
             first check that saw it, and candidates do not show"
                .to_string(),
        );
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
        replay: crate::cli::run::replay_command(report.grader, report.seed, report.executor),
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
    };
    timeline.failure = failure_of(report, &timeline);
    timeline
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
        Err(TrialError::Check(f)) => (micros(f.at), f.message.clone(), FailureSource::Check),
        Err(TrialError::TimeLimit) => {
            (timeline.end, report_error(report), FailureSource::TimeLimit)
        }
        Err(TrialError::Runtime(_) | TrialError::Setup(_)) => {
            (timeline.end, report_error(report), FailureSource::Runtime)
        }
    };
    let (peers, terms) = names_in(&message);
    let from = at.saturating_sub(micros(FAILURE_WINDOW));
    let leaders_only = peers.is_empty() && message.contains("leader");
    let spans = if peers.is_empty() && terms.is_empty() {
        Vec::new()
    } else {
        timeline
            .spans
            .iter()
            .enumerate()
            .filter(|(_, s)| s.to > from && s.from <= at)
            .filter(|(_, s)| peers.is_empty() || peers.contains(&s.peer))
            .filter(|(_, s)| match s.state {
                PeerState::Up { term, role } => {
                    (terms.is_empty() || terms.contains(&term))
                        && (!leaders_only || role == Role::Leader)
                }
                PeerState::Down => false,
            })
            .map(|(i, _)| i)
            .collect()
    };
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
    Some(Failure {
        at,
        message,
        source,
        peers,
        terms,
        spans,
        events,
    })
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
