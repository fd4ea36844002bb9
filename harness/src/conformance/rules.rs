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
