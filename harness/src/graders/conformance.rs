//! The conformance graders: Figure 2 (and 13) of the Raft paper rule by rule, with the tester playing
//! every peer but the one under test (see [`crate::conformance`]). None is in the original lab
//! (`Origin::Beyond`), so `harness run --only-original` leaves them out.

use super::{one_cluster as passed, Body, Grader, GraderFuture, Origin};
use crate::conformance::{follower, leader, persist, snapshots, terms, timer, votes};
use raftapi::Peer;

/// The conformance tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Test {
    OlderTerm,
    VoteOncePerTerm,
    VotePersisted,
    VoteUpToDate,
    TermFromRequest,
    TermFromReply,
    TimerHeartbeats,
    TimerExpiry,
    TimerVotes,
    AppendConflict,
    AppendCommit,
    OldTermCommit,
    StaleReply,
    FastBackup,
    LogPersisted,
    InstallSnapshot,
    SendSnapshot,
}

/// The conformance graders of part A, after the part's own graders.
pub(crate) const GRADERS_A: &[Grader] = &[
    Grader {
        name: "fig2_older_term",
        part: "A",
        title: "Conformance (3A): reply false if term < currentTerm",
        description: "Figure 2, RequestVote and AppendEntries receivers: \"Reply false if term < \
                      currentTerm (§5.1)\", replying with its own term, its state unchanged",
        origin: Origin::Beyond,
        body: Body::Conformance(Test::OlderTerm),
    },
    Grader {
        name: "fig2_vote_once_per_term",
        part: "A",
        title: "Conformance (3A): one vote per term",
        description: "Figure 2, RequestVote receiver: \"If votedFor is null or candidateId, and \
                      candidate's log is at least as up-to-date as receiver's log, grant vote\": \
                      deny a second candidate, grant the same one again; a candidate has voted \
                      for itself",
        origin: Origin::Beyond,
        body: Body::Conformance(Test::VoteOncePerTerm),
    },
    Grader {
        name: "fig2_term_from_request",
        part: "A",
        title: "Conformance (3A): a higher term in a request",
        description: "Figure 2, all servers: \"If RPC request or response contains term T > \
                      currentTerm: set currentTerm = T, convert to follower\": as follower, \
                      candidate and leader; and a candidate follows the leader of its term",
        origin: Origin::Beyond,
        body: Body::Conformance(Test::TermFromRequest),
    },
    Grader {
        name: "fig2_term_from_reply",
        part: "A",
        title: "Conformance (3A): a higher term in a reply",
        description: "Figure 2, all servers: \"If RPC request or response contains term T > \
                      currentTerm: set currentTerm = T, convert to follower\": a candidate's \
                      vote reply, a leader's AppendEntries reply",
        origin: Origin::Beyond,
        body: Body::Conformance(Test::TermFromReply),
    },
    Grader {
        name: "fig2_timer_heartbeats",
        part: "A",
        title: "Conformance (3A): heartbeats hold off elections",
        description: "Figure 2, followers: \"If election timeout elapses without receiving \
                      AppendEntries RPC from current leader ...: convert to candidate\": with a \
                      heartbeat every 150 ms, no election for 5 s",
        origin: Origin::Beyond,
        body: Body::Conformance(Test::TimerHeartbeats),
    },
    Grader {
        name: "fig2_timer_expiry",
        part: "A",
        title: "Conformance (3A): the election timer runs out",
        description: "Figure 2, followers and candidates: \"If election timeout elapses ...: \
                      convert to candidate\" / \"start new election\", within 1.5 s (three \
                      rounds fit in the original's five seconds), asking every peer",
        origin: Origin::Beyond,
        body: Body::Conformance(Test::TimerExpiry),
    },
    Grader {
        name: "fig2_timer_votes",
        part: "A",
        title: "Conformance (3A): what resets the election timer",
        description: "Figure 2, followers: \"... without receiving AppendEntries RPC from \
                      current leader or granting vote to candidate\": a granted vote resets the \
                      timer; a denied vote, or an older term's request, does not",
        origin: Origin::Beyond,
        body: Body::Conformance(Test::TimerVotes),
    },
];

/// The conformance graders of part B. The election restriction is part B in the lab's handout
/// (3A heartbeats carry no entries, so a 3A peer has no log to compare), and so is fast
/// back-up (the original's `backup` is a 3B test).
pub(crate) const GRADERS_B: &[Grader] = &[
    Grader {
        name: "fig2_vote_up_to_date",
        part: "B",
        title: "Conformance (3B): the election restriction",
        description: "§5.4.1: a vote only for a candidate whose log is at least as up-to-date: \
                      \"If the logs have last entries with different terms, then the log with \
                      the later term is more up-to-date. If the logs end with the same term, \
                      then whichever log is longer is more up-to-date.\"",
        origin: Origin::Beyond,
        body: Body::Conformance(Test::VoteUpToDate),
    },
    Grader {
        name: "fig2_append_conflict",
        part: "B",
        title: "Conformance (3B): truncate only at a real conflict",
        description: "Figure 2, AppendEntries receiver: the consistency check, and \"If an \
                      existing entry conflicts with a new one (same index but different terms), \
                      delete the existing entry and all that follow it\": a delayed, older \
                      AppendEntries whose entries the follower holds truncates nothing",
        origin: Origin::Beyond,
        body: Body::Conformance(Test::AppendConflict),
    },
    Grader {
        name: "fig2_append_commit",
        part: "B",
        title: "Conformance (3B): the follower's commit index",
        description: "Figure 2, AppendEntries receiver: \"If leaderCommit > commitIndex, set \
                      commitIndex = min(leaderCommit, index of last new entry)\", seen in what \
                      the follower applies",
        origin: Origin::Beyond,
        body: Body::Conformance(Test::AppendCommit),
    },
    Grader {
        name: "fig2_old_term_commit",
        part: "B",
        title: "Conformance (3B): no commit of an older term by counting replicas",
        description: "§5.4.2 (Figure 8): \"Raft never commits log entries from previous terms by \
                      counting replicas\": a new leader holding older entries on a majority \
                      commits them only with an entry of its own term",
        origin: Origin::Beyond,
        body: Body::Conformance(Test::OldTermCommit),
    },
    Grader {
        name: "fig2_stale_reply",
        part: "B",
        title: "Conformance (3B): replies of an earlier term are stale",
        description: "Figure 2, volatile state on leaders \"(Reinitialized after election)\": \
                      successes to AppendEntries sent in an earlier term, arriving once the \
                      peer leads again with another log, must not move its commit index",
        origin: Origin::Beyond,
        body: Body::Conformance(Test::StaleReply),
    },
    Grader {
        name: "fig2_fast_backup",
        part: "B",
        title: "Conformance (3B): fast back-up, one round trip per conflicting term",
        description: "§5.3: \"one AppendEntries RPC will be required for each term with \
                      conflicting entries, rather than one RPC per entry\": followers diverging \
                      over 15-40 entries of 1-3 terms hold the leader's log after at most their \
                      terms + 3 refusals",
        origin: Origin::Beyond,
        body: Body::Conformance(Test::FastBackup),
    },
];

/// The conformance graders of part C: what must survive a crash. The vote's grader is here,
/// not in part A, because saving the vote is part C's work (a part-A peer keeps nothing across a
/// restart, as the lab's handout has it).
pub(crate) const GRADERS_C: &[Grader] = &[
    Grader {
        name: "fig2_vote_persisted",
        part: "C",
        title: "Conformance (3C): the vote survives a crash",
        description: "Figure 2, persistent state \"(Updated on stable storage before responding \
                      to RPCs) currentTerm, votedFor\": restarted after answering, a peer still \
                      denies a second candidate in the term it voted in, also when it voted in a \
                      term it had adopted earlier",
        origin: Origin::Beyond,
        body: Body::Conformance(Test::VotePersisted),
    },
    Grader {
        name: "fig2_log_persisted",
        part: "C",
        title: "Conformance (3C): the log, term and vote survive a crash after every answer",
        description:
            "Figure 2, persistent state \"(Updated on stable storage before responding to \
                  RPCs) currentTerm, votedFor, log[]\": crashed right after each answer \
                  (entries appended, a vote, entries replaced, a term adopted), a peer still \
                  holds what it answered",
        origin: Origin::Beyond,
        body: Body::Conformance(Test::LogPersisted),
    },
];

/// The conformance graders of part D.
pub(crate) const GRADERS_D: &[Grader] = &[
    Grader {
        name: "fig2_install_snapshot",
        part: "D",
        title: "Conformance (3D): InstallSnapshot and the apply order",
        description: "Figure 13, InstallSnapshot receiver: \"If existing log entry has same index \
                  and term as snapshot's last included entry, retain log entries following \
                  it\", else \"Discard the entire log\"; an older snapshot changes nothing, and \
                  the snapshot is applied before the commands after it, none it covers",
        origin: Origin::Beyond,
        body: Body::Conformance(Test::InstallSnapshot),
    },
    Grader {
        name: "fig2_send_snapshot",
        part: "D",
        title: "Conformance (3D): the leader sends its snapshot",
        description: "§7 and Figure 13: \"the leader must occasionally send snapshots to \
                      followers that lag behind ... when the leader has already discarded the \
                      next log entry that it needs to send\": restarted after its service's \
                      snapshot, a leader sends followers that snapshot, the service's bytes, \
                      then the entries after it",
        origin: Origin::Beyond,
        body: Body::Conformance(Test::SendSnapshot),
    },
];

/// The body of conformance test `test` for peer type `P`.
pub(crate) fn body<P: Peer>(test: Test, title: &'static str) -> GraderFuture {
    match test {
        Test::OlderTerm => passed(votes::older_term::<P>(title)),
        Test::VoteOncePerTerm => passed(votes::once_per_term::<P>(title)),
        Test::VotePersisted => passed(votes::persisted::<P>(title)),
        Test::VoteUpToDate => passed(votes::up_to_date::<P>(title)),
        Test::TermFromRequest => passed(terms::from_request::<P>(title)),
        Test::TermFromReply => passed(terms::from_reply::<P>(title)),
        Test::TimerHeartbeats => passed(timer::heartbeats::<P>(title)),
        Test::TimerExpiry => passed(timer::expiry::<P>(title)),
        Test::TimerVotes => passed(timer::votes::<P>(title)),
        Test::AppendConflict => passed(follower::conflict::<P>(title)),
        Test::AppendCommit => passed(follower::commit::<P>(title)),
        Test::OldTermCommit => passed(leader::old_term_commit::<P>(title)),
        Test::StaleReply => passed(leader::stale_reply::<P>(title)),
        Test::FastBackup => passed(leader::fast_backup::<P>(title)),
        Test::LogPersisted => passed(persist::log_persisted::<P>(title)),
        Test::InstallSnapshot => passed(snapshots::install::<P>(title)),
        Test::SendSnapshot => passed(snapshots::send::<P>(title)),
    }
}
