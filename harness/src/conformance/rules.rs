//! The rules of the Raft paper that the conformance graders check, in the paper's words, and
//! the failure a broken rule produces: which peer broke which rule, how, and the exchange that
//! shows it.

use std::fmt;

use super::journal::Journal;
use crate::tester::TestFailure;

/// One rule of the paper (mostly of Figure 2), quoted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Where the paper states it, e.g. `Figure 2, RequestVote RPC, receiver implementation 1`.
    pub place: &'static str,
    /// The paper's sentence.
    pub text: &'static str,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\" ({})", self.text, self.place)
    }
}

/// RequestVote receiver, 1.
pub const VOTE_OLDER_TERM: Rule = Rule {
    place: "Figure 2, RequestVote RPC, receiver implementation 1",
    text: "Reply false if term < currentTerm (§5.1)",
};

/// AppendEntries receiver, 1.
pub const APPEND_OLDER_TERM: Rule = Rule {
    place: "Figure 2, AppendEntries RPC, receiver implementation 1",
    text: "Reply false if term < currentTerm (§5.1)",
};

/// AppendEntries receiver, 2.
pub const APPEND_CONSISTENCY: Rule = Rule {
    place: "Figure 2, AppendEntries RPC, receiver implementation 2",
    text: "Reply false if log doesn't contain an entry at prevLogIndex whose term matches \
           prevLogTerm (§5.3)",
};

/// AppendEntries receiver, 4.
pub const APPEND_NEW_ENTRIES: Rule = Rule {
    place: "Figure 2, AppendEntries RPC, receiver implementation 4",
    text: "Append any new entries not already in the log",
};

/// A new leader's first heartbeat.
pub const LEADER_HEARTBEAT: Rule = Rule {
    place: "Figure 2, Rules for Servers, leaders",
    text: "Upon election: send initial empty AppendEntries RPCs (heartbeat) to each server; \
           repeat during idle periods to prevent election timeouts (§5.2)",
};

/// RequestVote receiver, 2.
pub const VOTE_GRANT: Rule = Rule {
    place: "Figure 2, RequestVote RPC, receiver implementation 2",
    text: "If votedFor is null or candidateId, and candidate's log is at least as up-to-date as \
           receiver's log, grant vote (§5.2, §5.4)",
};

/// What "at least as up-to-date" means.
pub const UP_TO_DATE: Rule = Rule {
    place: "§5.4.1, the election restriction",
    text: "If the logs have last entries with different terms, then the log with the later term \
           is more up-to-date. If the logs end with the same term, then whichever log is longer \
           is more up-to-date.",
};

/// The term in a RequestVote reply.
pub const VOTE_REPLY_TERM: Rule = Rule {
    place: "Figure 2, RequestVote RPC, results",
    text: "term: currentTerm, for candidate to update itself",
};

/// The term in an AppendEntries reply.
pub const APPEND_REPLY_TERM: Rule = Rule {
    place: "Figure 2, AppendEntries RPC, results",
    text: "term: currentTerm, for leader to update itself",
};

/// Persistent state.
pub const PERSISTENT_STATE: Rule = Rule {
    place: "Figure 2, State: persistent state on all servers",
    text: "(Updated on stable storage before responding to RPCs) currentTerm, votedFor, log[]",
};

/// Terms in requests and replies.
pub const HIGHER_TERM: Rule = Rule {
    place: "Figure 2, Rules for Servers, all servers",
    text: "If RPC request or response contains term T > currentTerm: set currentTerm = T, \
           convert to follower (§5.1)",
};

/// A candidate that hears from the leader of its term.
pub const CANDIDATE_HEARS_LEADER: Rule = Rule {
    place: "Figure 2, Rules for Servers, candidates",
    text: "If AppendEntries RPC received from new leader: convert to follower",
};

/// Starting an election.
pub const START_ELECTION: Rule = Rule {
    place: "Figure 2, Rules for Servers, candidates",
    text: "On conversion to candidate, start election: Increment currentTerm, Vote for self, \
           Reset election timer, Send RequestVote RPCs to all other servers",
};

/// A candidate whose election went nowhere.
pub const CANDIDATE_TIMEOUT: Rule = Rule {
    place: "Figure 2, Rules for Servers, candidates",
    text: "If election timeout elapses: start new election",
};

/// The follower's election timer.
pub const FOLLOWER_TIMEOUT: Rule = Rule {
    place: "Figure 2, Rules for Servers, followers",
    text: "If election timeout elapses without receiving AppendEntries RPC from current leader \
           or granting vote to candidate: convert to candidate",
};

/// AppendEntries receiver, 3.
pub const APPEND_CONFLICT: Rule = Rule {
    place: "Figure 2, AppendEntries RPC, receiver implementation 3",
    text: "If an existing entry conflicts with a new one (same index but different terms), \
           delete the existing entry and all that follow it (§5.3)",
};

/// AppendEntries receiver, 5.
pub const APPEND_COMMIT: Rule = Rule {
    place: "Figure 2, AppendEntries RPC, receiver implementation 5",
    text: "If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new \
           entry)",
};

/// Applying committed entries.
pub const APPLY: Rule = Rule {
    place: "Figure 2, Rules for Servers, all servers",
    text: "If commitIndex > lastApplied: increment lastApplied, apply log[lastApplied] to state \
           machine (§5.3)",
};

/// Figure 8: no commit of an older term's entry by counting replicas.
pub const OLD_TERM_COMMIT: Rule = Rule {
    place: "§5.4.2, committing entries from previous terms (Figure 8)",
    text: "Raft never commits log entries from previous terms by counting replicas. Only log \
           entries from the leader's current term are committed by counting replicas",
};

/// The leader's commit rule.
pub const LEADER_COMMIT: Rule = Rule {
    place: "Figure 2, Rules for Servers, leaders",
    text: "If there exists an N such that N > commitIndex, a majority of matchIndex[i] ≥ N, and \
           log[N].term == currentTerm: set commitIndex = N (§5.3, §5.4)",
};

/// The leader's volatile state belongs to one term.
pub const LEADER_STATE_OF_TERM: Rule = Rule {
    place: "Figure 2, State: volatile state on leaders (Reinitialized after election)",
    text: "matchIndex[]: for each server, index of the highest log entry known to be replicated \
           on server",
};

/// Fast back-up with the conflict hints.
pub const FAST_BACKUP: Rule = Rule {
    place: "§5.3, the optimization of rejected AppendEntries (the lab's fast back-up)",
    text: "the leader can decrement nextIndex to bypass all of the conflicting entries in that \
           term; one AppendEntries RPC will be required for each term with conflicting \
           entries, rather than one RPC per entry",
};

/// The leader's side of snapshots.
pub const SNAPSHOT_SEND: Rule = Rule {
    place: "§7, log compaction, and Figure 13, InstallSnapshot RPC (the whole snapshot in one \
            call, as the lab sends it)",
    text: "the leader must occasionally send snapshots to followers that lag behind. This \
           happens when the leader has already discarded the next log entry that it needs to \
           send to a follower",
};

/// A snapshot that arrives late: §7's own words for what Figure 13's receiver does with it.
pub const SNAPSHOT_PREFIX: Rule = Rule {
    place: "§7, log compaction: a snapshot of a prefix of the follower's log",
    text: "If instead the follower receives a snapshot that describes a prefix of its log (due to \
           retransmission or by mistake), then log entries covered by the snapshot are deleted \
           but entries following the snapshot are still valid and must be retained",
};

/// InstallSnapshot receiver, 6.
pub const SNAPSHOT_RETAIN: Rule = Rule {
    place: "Figure 13, InstallSnapshot RPC, receiver implementation 6",
    text: "If existing log entry has same index and term as snapshot's last included entry, \
           retain log entries following it and reply",
};

/// InstallSnapshot receiver, 7.
pub const SNAPSHOT_DISCARD: Rule = Rule {
    place: "Figure 13, InstallSnapshot RPC, receiver implementation 7",
    text: "Discard the entire log",
};

/// InstallSnapshot receiver, 8.
pub const SNAPSHOT_RESET: Rule = Rule {
    place: "Figure 13, InstallSnapshot RPC, receiver implementation 8",
    text: "Reset state machine using snapshot contents",
};

impl Rule {
    /// The failure of peer `peer` breaking this rule: the first line names the peer, the rule
    /// and `what` it did; then the exchange from `journal`.
    pub fn broken(&self, peer: usize, what: impl fmt::Display, journal: &Journal) -> TestFailure {
        TestFailure::new(format!(
            "S{peer} broke {self}: {what}\n\
             the exchange (run time; S{peer} is the peer under test, the others are played by \
             the tester):\n{}",
            journal.transcript()
        ))
    }
}
