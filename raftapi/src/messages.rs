//! The RPC messages and the log entry, as in Figure 2 of the Raft paper.
//!
//! `AppendEntries` with no entries is a heartbeat; with entries it replicates the log, and a
//! refusal's conflict hints let the leader back up a whole term at a time.
//!
//! # This file is yours to extend
//!
//! It is the one file of `raftapi` a submission may change, and graded submissions bring their
//! own copy of it. The tester, its safety monitor and the conformance graders read and write
//! these types, so keep the given types, fields and field types as they are; you may **add
//! fields** (a pre-vote flag, a hint for faster back-up, ...). Every message derives `Default`,
//! and the tester builds each message it sends with the fields it knows and the rest from
//! `Default` (`..Default::default()`), so a field you add must have a `Default` value: the
//! tester's messages carry that value.
//!
//! ```
//! use raftapi::{PeerId, RequestVoteArgs, Term};
//!
//! // How the tester builds a message: the fields it knows, the rest from Default.
//! let args = RequestVoteArgs {
//!     term: Term(3),
//!     candidate_id: PeerId(1),
//!     ..Default::default()
//! };
//! assert_eq!(args.last_log_index, 0);
//! ```

use serde::{Deserialize, Serialize};

use crate::ids::{PeerId, Term};

/// One entry of the replicated log: a command and the term in which a leader received it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The leader's term when it appended the entry.
    pub term: Term,
    /// The service's command, opaque to Raft.
    #[serde(with = "as_bytes")]
    pub command: Vec<u8>,
}

/// Serializes a command as one byte string rather than a sequence of separate bytes. With
/// `labrpc::codec` the bytes on the wire are the same (a length, then the bytes), but encoding
/// and decoding copy the bytes at once instead of one at a time, which is most of the cost of
/// saving a long log.
mod as_bytes {
    use std::fmt;

    use serde::de::{SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_byte_buf(BytesVisitor)
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a command's bytes")
        }

        fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }

        // Self-describing formats (JSON) write bytes as a list of numbers.
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
            while let Some(b) = seq.next_element()? {
                bytes.push(b);
            }
            Ok(bytes)
        }
    }
}

/// The arguments of `Raft.RequestVote`: a candidate asks for a vote.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVoteReply {
    /// The voter's current term, for the candidate to align with.
    pub term: Term,
    /// Whether the voter granted its vote.
    pub vote_granted: bool,
}

/// The arguments of `Raft.AppendEntries`: a leader replicates entries, or with none, sends a
/// heartbeat.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// The arguments of `Raft.InstallSnapshot`: a leader sends its whole snapshot (in one RPC, not
/// in Figure 13's chunks) to a follower that needs entries the leader has discarded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSnapshotArgs {
    /// The leader's term.
    pub term: Term,
    /// The leader, so followers can redirect clients.
    pub leader_id: PeerId,
    /// The snapshot replaces all entries up through and including this index.
    pub last_included_index: u64,
    /// The term of the entry at `last_included_index`.
    pub last_included_term: Term,
    /// The service's snapshot bytes.
    pub data: Vec<u8>,
}

/// The reply of `Raft.InstallSnapshot`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSnapshotReply {
    /// The follower's current term, for the leader to align with.
    pub term: Term,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_encodes_as_it_did_as_a_plain_byte_vector() {
        let entry = LogEntry {
            term: Term(7),
            command: (0..=255).collect(),
        };
        let fast = labrpc::codec::encode(&entry).expect("encodes");
        let plain = labrpc::codec::encode(&(7u64, entry.command.clone())).expect("encodes");
        assert_eq!(fast, plain, "the bytes on the wire are unchanged");
        let back: LogEntry = labrpc::codec::decode(&fast).expect("decodes");
        assert_eq!(back, entry);
    }
}
