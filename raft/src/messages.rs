//! The RPC messages and the log entry, as in Figure 2 of the Raft paper.
//!
//! `AppendEntries` with no entries is a heartbeat; with entries it replicates the log, and a
//! refusal's conflict hints let the leader back up a whole term at a time. The harness (and its
//! safety monitor) decodes these types: keep their names and fields; new fields may be added.

use serde::{Deserialize, Serialize};

use crate::ids::{PeerId, Term};

/// One entry of the replicated log: a command and the term in which a leader received it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The leader's term when it appended the entry.
    pub term: Term,
    /// The service's command, opaque to Raft.
    pub command: Vec<u8>,
}

/// The arguments of `Raft.RequestVote`: a candidate asks for a vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVoteArgs {
    /// The candidate's term.
    pub term: Term,
    /// The candidate asking for the vote.
    pub candidate_id: PeerId,
    /// The index of the candidate's last log entry (for the election restriction, §5.4.1).
    pub last_log_index: u64,
    /// The term of the candidate's last log entry (for the election restriction, §5.4.1).
    pub last_log_term: Term,
}

/// The reply of `Raft.RequestVote`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVoteReply {
    /// The voter's current term, for the candidate to align with.
    pub term: Term,
    /// Whether the voter granted its vote.
    pub vote_granted: bool,
}

/// The arguments of `Raft.AppendEntries`: a leader replicates entries, or with none, sends a
/// heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEntriesArgs {
    /// The leader's term.
    pub term: Term,
    /// The leader, so followers can redirect clients.
    pub leader_id: PeerId,
    /// The index of the entry just before `entries`.
    pub prev_log_index: u64,
    /// The term of the entry at `prev_log_index`.
    pub prev_log_term: Term,
    /// The entries to store, from index `prev_log_index + 1` on; empty for a heartbeat.
    pub entries: Vec<LogEntry>,
    /// The leader's commit index.
    pub leader_commit: u64,
}

/// The reply of `Raft.AppendEntries`.
///
/// When `success` is false in the leader's own term, the follower's log did not hold
/// `prev_log_term` at `prev_log_index`, and the conflict hints let the leader skip back a whole
/// term at a time (the lab's "fast backup") instead of one entry per round trip:
///
/// - log too short: `conflict_term` is `None` and `conflict_index` is the follower's log length
///   (its last index + 1);
/// - term mismatch: `conflict_term` is the follower's term at `prev_log_index` and
///   `conflict_index` is the first index the follower holds with that term.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEntriesReply {
    /// The follower's current term, for the leader to align with.
    pub term: Term,
    /// Whether the follower's log matched at `prev_log_index` and now holds the entries.
    pub success: bool,
    /// The follower's term at `prev_log_index`, or `None` if its log is too short.
    pub conflict_term: Option<Term>,
    /// Where the leader may retry from: see the type's documentation.
    pub conflict_index: u64,
}
