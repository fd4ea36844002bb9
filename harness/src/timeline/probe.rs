//! The tester's facts for the timeline: structured `tracing` events on target [`TARGET`] that
//! say what the tester did to the cluster (a new cluster, connect, disconnect, crash, start),
//! what each peer told it (`get_state` at every check) and what each peer applied.
//!
//! These events never reach the text log (people read the tester's own lines there); a
//! [`Capture::with_records`](crate::logs::Capture::with_records) keeps them whatever its filter.
//! They cost one disabled `tracing` call each when nobody records.
//!
//! RPCs come from the network: while a run records ([`recording`]), the tester installs an
//! [`RpcProbe`] on its network, which reports each call's life (sent, handled, delivered or
//! failed) as [`Fact::Rpc`] events, and names each end's peers with [`Fact::End`].

use std::sync::Arc;

use labrpc::observe::{Observer, RpcEvent, Stage};
use labrpc::{Network, RpcError};

/// The target of the timeline's facts.
pub const TARGET: &str = "timeline";

/// What a fact says: the `fact` field of a [`TARGET`] event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    /// A tester with `peers` peers starts (a grader may run several clusters in turn).
    Cluster,
    /// The tester connected a peer.
    Connect,
    /// The tester disconnected a peer.
    Disconnect,
    /// The tester crashed a peer.
    Crash,
    /// The tester started (or restarted) a peer.
    Start,
    /// A peer answered `get_state` with `term` and `leader`.
    State,
    /// A peer applied the command at `index`.
    Applied,
    /// The tester shut its cluster down.
    Cleanup,
    /// The tester made end `end` from peer `from` to peer `to`.
    End,
    /// One moment of one RPC: `call`, `end`, `method`, `stage`, and for a failed call its
    /// `outcome`, with a `detail` summary of the Raft message and its `term` when it decodes.
    Rpc,
    /// A checked history of client calls: its [`History`](super::history::History) as JSON in
    /// the `history` field.
    History,
}

impl Fact {
    /// The fact's name in the `fact` field.
    pub const fn as_str(self) -> &'static str {
        match self {
            Fact::Cluster => "cluster",
            Fact::Connect => "connect",
            Fact::Disconnect => "disconnect",
            Fact::Crash => "crash",
            Fact::Start => "start",
            Fact::State => "state",
            Fact::Applied => "applied",
            Fact::Cleanup => "cleanup",
            Fact::End => "end",
            Fact::Rpc => "rpc",
            Fact::History => "history",
        }
    }

    /// The fact named `name`.
    pub fn parse(name: &str) -> Option<Fact> {
        [
            Fact::Cluster,
            Fact::Connect,
            Fact::Disconnect,
            Fact::Crash,
            Fact::Start,
            Fact::State,
            Fact::Applied,
            Fact::Cleanup,
            Fact::End,
            Fact::Rpc,
            Fact::History,
        ]
        .into_iter()
        .find(|f| f.as_str() == name)
    }
}

/// A tester of `peers` peers starts.
pub fn cluster(peers: usize) {
    tracing::debug!(target: TARGET, fact = Fact::Cluster.as_str(), peers = peers as u64);
}

/// Something the tester did to peer `peer`: [`Fact::Connect`], [`Fact::Disconnect`],
/// [`Fact::Crash`] or [`Fact::Start`].
pub fn peer_event(fact: Fact, peer: usize) {
    tracing::debug!(target: TARGET, fact = fact.as_str(), peer = peer as u64);
}

/// Peer `peer` answered `get_state` with `(term, leader)`.
pub fn state(peer: usize, term: u64, leader: bool) {
    tracing::debug!(target: TARGET, fact = Fact::State.as_str(), peer = peer as u64, term, leader);
}

/// Peer `peer` applied the command at `index`.
pub fn applied(peer: usize, index: u64) {
    tracing::debug!(target: TARGET, fact = Fact::Applied.as_str(), peer = peer as u64, index);
}

/// The tester shut its cluster down.
pub fn cleanup() {
    tracing::debug!(target: TARGET, fact = Fact::Cleanup.as_str());
}

/// A history of client calls was checked: the trial's page draws `history` under the Raft
/// lanes, on the same time axis (its clock should be
/// [`Clock::RunNanos`](super::history::Clock::RunNanos)). The last history a trial records is
/// the one drawn. Nothing is built when nobody records.
///
/// A key/value grader calls it right after its check:
///
/// ```
/// use harness::timeline::probe;
/// use linearizability::models::{KvInput, KvModel, KvOutput};
/// use linearizability::{Checker, Operation};
///
/// let ops = vec![Operation::new(0, KvInput::put("k", "a"), 1_000, KvOutput::default(), 2_000)];
/// let result = Checker::new(&KvModel).check(&ops)?;
/// probe::history(&result);
/// # Ok::<(), linearizability::HistoryError>(())
/// ```
pub fn history<M: linearizability::Model>(result: &linearizability::CheckResult<'_, '_, M>) {
    if !recording() {
        return;
    }
    let history = super::history::History::from_check(result, super::history::Clock::RunNanos);
    record_history(&history);
}

/// Records `history` as it is (see [`history`]): for a history built by hand, or on another
/// clock.
pub fn record_history(history: &super::history::History) {
    if !recording() {
        return;
    }
    match serde_json::to_string(history) {
        Ok(json) => {
            tracing::debug!(target: TARGET, fact = Fact::History.as_str(), history = json.as_str())
        }
        // Only a non-string map key fails, and a history has none.
        Err(e) => tracing::warn!("the checked history cannot be kept for the timeline: {e}"),
    }
}

/// Whether the current run keeps the timeline's facts (so the tester installs an
/// [`RpcProbe`] only when someone will read what it reports).
pub fn recording() -> bool {
    tracing::enabled!(target: TARGET, tracing::Level::DEBUG)
}

/// The tester made end `end` (its [`id`](labrpc::ClientEnd::id)) from peer `from` to `to`.
pub fn end(end: u64, from: usize, to: usize) {
    tracing::debug!(
        target: TARGET,
        fact = Fact::End.as_str(),
        end,
        from = from as u64,
        to = to as u64
    );
}

/// The name of an RPC stage in the `stage` field.
pub const fn stage_name(stage: &Stage<'_>) -> &'static str {
    match stage {
        Stage::Sent { .. } => "sent",
        Stage::Handled { .. } => "handled",
        Stage::Delivered { .. } => "delivered",
        Stage::Failed { .. } => "failed",
    }
}

/// How a failed call ended, in the words of [`RpcOutcome::as_str`](super::model::RpcOutcome).
pub fn failure_outcome(error: &RpcError) -> &'static str {
    use super::model::RpcOutcome;
    match error {
        RpcError::RequestDropped { .. } => RpcOutcome::RequestDropped.as_str(),
        RpcError::ReplyDropped { .. } => RpcOutcome::ReplyDropped.as_str(),
        RpcError::EndDisabled { .. }
        | RpcError::EndNotConnected { .. }
        | RpcError::EndDeleted { .. }
        | RpcError::NoServer { .. }
        | RpcError::NetworkClosed => RpcOutcome::Unreachable.as_str(),
        RpcError::ServerDied { .. } | RpcError::ServerKilled { .. } => {
            RpcOutcome::ServerDied.as_str()
        }
        _ => RpcOutcome::Error.as_str(),
    }
}

/// A one-line summary of a Raft message (`term 3, candidate S1, last log 5 (T2)`), or `None`
/// when `bytes` are not the lab's message of `method` (a peer with its own message types).
pub fn summary(method: &str, bytes: &[u8], reply: bool) -> Option<String> {
    read_message(method, bytes, reply).map(|(text, _)| text)
}

/// A Raft message's summary and the term it carries, when `bytes` are the lab's message of
/// `method`.
fn read_message(method: &str, bytes: &[u8], reply: bool) -> Option<(String, u64)> {
    use labrpc::codec::decode;
    use raftapi::{
        AppendEntriesArgs, AppendEntriesReply, InstallSnapshotArgs, InstallSnapshotReply,
        RequestVoteArgs, RequestVoteReply,
    };
    let method = method.rsplit('.').next().unwrap_or(method);
    Some(match (method, reply) {
        ("RequestVote", false) => {
            let a: RequestVoteArgs = decode(bytes).ok()?;
            let text = format!(
                "term {}, candidate S{}, last log {} (T{})",
                a.term.0, a.candidate_id.0, a.last_log_index, a.last_log_term.0
            );
            (text, a.term.0)
        }
        ("RequestVote", true) => {
            let r: RequestVoteReply = decode(bytes).ok()?;
            let verdict = if r.vote_granted {
                "vote granted"
            } else {
                "vote denied"
            };
            (format!("term {}, {verdict}", r.term.0), r.term.0)
        }
        ("AppendEntries", false) => {
            let a: AppendEntriesArgs = decode(bytes).ok()?;
            let text = format!(
                "term {}, leader S{}, prev {} (T{}), {} entries, commit {}",
                a.term.0,
                a.leader_id.0,
                a.prev_log_index,
                a.prev_log_term.0,
                a.entries.len(),
                a.leader_commit
            );
            (text, a.term.0)
        }
        ("AppendEntries", true) => {
            let r: AppendEntriesReply = decode(bytes).ok()?;
            let text = if r.success {
                format!("term {}, success", r.term.0)
            } else {
                let conflict = r
                    .conflict_term
                    .map_or("none".to_string(), |t| t.0.to_string());
                format!(
                    "term {}, failed: conflict term {conflict}, index {}",
                    r.term.0, r.conflict_index
                )
            };
            (text, r.term.0)
        }
        ("InstallSnapshot", false) => {
            let a: InstallSnapshotArgs = decode(bytes).ok()?;
            let text = format!(
                "term {}, leader S{}, snapshot through {} (T{}), {} bytes",
                a.term.0,
                a.leader_id.0,
                a.last_included_index,
                a.last_included_term.0,
                a.data.len()
            );
            (text, a.term.0)
        }
        ("InstallSnapshot", true) => {
            let r: InstallSnapshotReply = decode(bytes).ok()?;
            (format!("term {}", r.term.0), r.term.0)
        }
        _ => return None,
    })
}

/// A network [`Observer`] that reports every call's life as [`Fact::Rpc`] events.
#[derive(Debug, Default)]
pub struct RpcProbe;

impl Observer for RpcProbe {
    fn observe(&self, event: &RpcEvent<'_>) {
        let (outcome, message) = match &event.stage {
            Stage::Sent { args } => ("", read_message(event.method, args, false)),
            Stage::Handled { reply, .. } => ("", read_message(event.method, reply, true)),
            Stage::Delivered { .. } => ("", None),
            Stage::Failed { error } => (failure_outcome(error), None),
        };
        let detail = match &event.stage {
            Stage::Failed { error } => error.to_string(),
            _ => message.as_ref().map_or(String::new(), |m| m.0.clone()),
        };
        tracing::debug!(
            target: TARGET,
            fact = Fact::Rpc.as_str(),
            call = event.call,
            end = event.end,
            method = event.method,
            stage = stage_name(&event.stage),
            outcome,
            detail,
            term = message.as_ref().map(|m| m.1)
        );
    }
}

/// Several observers sharing a network's one observer slot, each told every event in turn.
pub struct Observers(Vec<Arc<dyn Observer>>);

impl Observer for Observers {
    fn observe(&self, event: &RpcEvent<'_>) {
        for o in &self.0 {
            o.observe(event);
        }
    }
}

/// Installs `observers` on a fresh `net` (nothing when there are none; one as it is; several
/// through [`Observers`]).
pub fn install(net: &Network, mut observers: Vec<Arc<dyn Observer>>) {
    let observer: Arc<dyn Observer> = match observers.len() {
        0 => return,
        1 => observers.remove(0),
        _ => Arc::new(Observers(observers)),
    };
    // A fresh network has no observer yet.
    let _ = net.set_observer(observer);
}
