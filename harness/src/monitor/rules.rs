//! The six rules together, fed one event at a time: pure, with no runtime, so unit tests can
//! feed them synthetic events.

use std::time::Duration;

use raftapi::{
    AppendEntriesReply, InstallSnapshotArgs, InstallSnapshotReply, RequestVoteArgs,
    RequestVoteReply,
};

use super::applies::StateMachineSafety;
use super::election::{ElectionSafety, Evidence};
use super::log::LogRules;
use super::snapshots::SnapshotContents;
use super::terms::{Source, TermsMoveForward};
use super::violation::Violation;
use super::votes::OneVotePerTerm;
use super::wire::AppendEntries;

/// The short names of the two methods, as failures print them.
const REQUEST_VOTE: &str = "RequestVote";
const APPEND_ENTRIES: &str = "AppendEntries";
const INSTALL_SNAPSHOT: &str = "InstallSnapshot";

/// A Raft request, decoded.
#[derive(Debug, Clone, Copy)]
pub enum Request<'a> {
    /// `Raft.RequestVote`.
    Vote(&'a RequestVoteArgs),
    /// `Raft.AppendEntries`, as the monitor reads it.
    Append(&'a AppendEntries<'a>),
    /// `Raft.InstallSnapshot`.
    Snapshot(&'a InstallSnapshotArgs),
}

impl Request<'_> {
    /// The term the request carries.
    pub fn term(&self) -> u64 {
        match self {
            Request::Vote(a) => a.term.into(),
            Request::Append(a) => a.term.into(),
            Request::Snapshot(a) => a.term.into(),
        }
    }
}

/// A Raft reply, decoded.
#[derive(Debug, Clone, Copy)]
pub enum Response<'a> {
    /// The reply of `Raft.RequestVote`.
    Vote(&'a RequestVoteReply),
    /// The reply of `Raft.AppendEntries`.
    Append(&'a AppendEntriesReply),
    /// The reply of `Raft.InstallSnapshot`.
    Snapshot(&'a InstallSnapshotReply),
}

impl Response<'_> {
    /// The replier's term.
    pub fn term(&self) -> u64 {
        match self {
            Response::Vote(r) => r.term.into(),
            Response::Append(r) => r.term.into(),
            Response::Snapshot(r) => r.term.into(),
        }
    }

    fn method(&self) -> &'static str {
        match self {
            Response::Vote(_) => REQUEST_VOTE,
            Response::Append(_) => APPEND_ENTRIES,
            Response::Snapshot(_) => INSTALL_SNAPSHOT,
        }
    }
}

/// Every rule's memory of the run so far. Peers are numbered `0..n`; a peer's *life* is one run
/// of it between a start and a crash, numbered by the caller.
#[derive(Debug)]
pub struct Rules {
    election: ElectionSafety,
    votes: OneVotePerTerm,
    terms: TermsMoveForward,
    log: LogRules,
    applies: StateMachineSafety,
    snapshots: SnapshotContents,
    /// Per peer: whether it has started once, and the times of its restarts.
    restarts: Vec<(bool, Vec<Duration>)>,
}

impl Rules {
    /// The rules for `n` peers, allowing `term_window` for a message built just before the
    /// term moved (rule 3).
    pub fn new(n: usize, term_window: Duration) -> Rules {
        Rules {
            election: ElectionSafety::default(),
            votes: OneVotePerTerm::default(),
            terms: TermsMoveForward::new(n, term_window),
            log: LogRules::default(),
            applies: StateMachineSafety::default(),
            snapshots: SnapshotContents::default(),
            restarts: vec![(false, Vec::new()); n],
        }
    }

    /// The longest any peer went on sending a lower term within the window (to measure it).
    pub fn worst_term_lag(&self) -> Duration {
        self.terms.worst_lag()
    }

    /// Life `life` of `peer` started at `at`, with everything through `applied_through` already
    /// applied (0, or the index of a snapshot it restored).
    pub fn started(&mut self, at: Duration, peer: usize, life: u64, applied_through: u64) {
        let (started, restarts) = &mut self.restarts[peer];
        let restart = *started;
        if restart {
            restarts.push(at);
            self.terms.restarted(at, peer);
        }
        *started = true;
        self.applies.started(peer, life, applied_through, restart);
    }

    /// `from` sent `request` to `to` at `at`. `repeat` says the same end sent these very bytes
    /// before (a retransmission), so what they carry was already recorded.
    pub fn request_sent(
        &mut self,
        at: Duration,
        from: usize,
        to: usize,
        request: Request<'_>,
        repeat: bool,
    ) -> Result<(), Violation> {
        let term = request.term();
        match request {
            Request::Vote(_) => {
                self.votes
                    .vote(at, from, term, from, &self.restarts[from].1)?;
                let how = Source::Sent {
                    method: REQUEST_VOTE,
                    peer: to,
                };
                self.terms.sent(at, from, term, how, None)
            }
            Request::Append(args) => {
                let how = Evidence::Sent {
                    method: APPEND_ENTRIES,
                    to,
                };
                self.election.leads(at, from, term, how)?;
                let how = Source::Sent {
                    method: APPEND_ENTRIES,
                    peer: to,
                };
                self.terms.sent(at, from, term, how, None)?;
                self.log
                    .append_sent(at, from, to, args, &self.applies, repeat)
            }
            Request::Snapshot(args) => {
                let how = Evidence::Sent {
                    method: INSTALL_SNAPSHOT,
                    to,
                };
                self.election.leads(at, from, term, how)?;
                let how = Source::Sent {
                    method: INSTALL_SNAPSHOT,
                    peer: to,
                };
                self.terms.sent(at, from, term, how, None)?;
                self.snapshots.sent(at, from, to, args)
            }
        }
    }

    /// `by` handled `caller`'s request (of `request_term`, when known) at `at` and produced
    /// `response`, whether or not it reaches the caller.
    pub fn request_handled(
        &mut self,
        at: Duration,
        by: usize,
        caller: usize,
        request_term: Option<u64>,
        response: Response<'_>,
    ) -> Result<(), Violation> {
        let method = response.method();
        if let Some(term) = request_term {
            let how = Source::Received {
                method,
                peer: caller,
            };
            self.terms.received(at, by, term, how);
        }
        if let Response::Vote(reply) = response {
            let term = request_term.unwrap_or(response.term());
            if reply.vote_granted {
                self.votes
                    .vote(at, by, term, caller, &self.restarts[by].1)?;
            } else {
                self.votes.denied(by, term, caller);
            }
        }
        let how = Source::Replied {
            method,
            peer: caller,
        };
        self.terms.sent(at, by, response.term(), how, request_term)
    }

    /// `replier`'s `response` reached `caller` at `at`.
    pub fn reply_delivered(
        &mut self,
        at: Duration,
        caller: usize,
        replier: usize,
        response: Response<'_>,
    ) {
        let how = Source::GotReply {
            method: response.method(),
            peer: replier,
        };
        self.terms.received(at, caller, response.term(), how);
    }

    /// The tester's `get_state()` said at `at` that `peer` leads `term`.
    pub fn leader_seen(&mut self, at: Duration, peer: usize, term: u64) -> Result<(), Violation> {
        self.election.leads(at, peer, term, Evidence::Sample)
    }

    /// Life `life` of `peer` applied `command` at `index`.
    pub fn applied(
        &mut self,
        at: Duration,
        peer: usize,
        life: u64,
        index: u64,
        command: &[u8],
    ) -> Result<(), Violation> {
        self.applies
            .command(at, peer, life, index, command, self.log.max_term())
    }

    /// A service made (or restored) snapshot `data` through `index` at `at`: what an
    /// `InstallSnapshot` through `index` must carry.
    pub fn snapshot_made(&mut self, at: Duration, index: u64, data: &[u8]) {
        self.snapshots.made(at, index, data);
    }

    /// Life `life` of `peer` installed a snapshot through `index`.
    pub fn snapshot_applied(&mut self, at: Duration, peer: usize, life: u64, index: u64) {
        self.applies.snapshot(at, peer, life, index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::Rule;
    use raftapi::{AppendEntriesArgs, LogEntry, PeerId, Term};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn vote(term: u64, candidate: usize) -> RequestVoteArgs {
        RequestVoteArgs {
            term: Term(term),
            candidate_id: PeerId(candidate),
            last_log_index: 0,
            last_log_term: Term(0),
            ..Default::default()
        }
    }

    fn granted(term: u64, yes: bool) -> RequestVoteReply {
        RequestVoteReply {
            term: Term(term),
            vote_granted: yes,
            ..Default::default()
        }
    }

    fn heartbeat(term: u64, leader: usize) -> AppendEntriesArgs {
        AppendEntriesArgs {
            term: Term(term),
            leader_id: PeerId(leader),
            prev_log_index: 0,
            prev_log_term: Term(0),
            entries: Vec::new(),
            leader_commit: 0,
            ..Default::default()
        }
    }

    fn three() -> Rules {
        let mut r = Rules::new(3, ms(10));
        for p in 0..3 {
            r.started(ms(0), p, p as u64, 0);
        }
        r
    }

    /// A correct election and heartbeats: nothing to report.
    #[test]
    fn a_clean_election_passes_every_rule() {
        let mut r = three();
        let ask = vote(1, 0);
        for to in [1, 2] {
            r.request_sent(ms(500), 0, to, Request::Vote(&ask), false)
                .expect("a candidate asks");
            r.request_handled(ms(500), to, 0, Some(1), Response::Vote(&granted(1, true)))
                .expect("a first vote");
            r.reply_delivered(ms(500), 0, to, Response::Vote(&granted(1, true)));
        }
        let hb = heartbeat(1, 0);
        for to in [1, 2] {
            r.request_sent(
                ms(501),
                0,
                to,
                Request::Append(&AppendEntries::from(&hb)),
                false,
            )
            .expect("the leader's heartbeat");
        }
        r.leader_seen(ms(900), 0, 1).expect("the tester agrees");
    }

    #[test]
    fn a_candidate_granting_a_rival_of_its_own_term_votes_twice() {
        let mut r = three();
        r.request_sent(ms(500), 0, 1, Request::Vote(&vote(4, 0)), false)
            .expect("S0 stands");
        let v = r
            .request_handled(ms(501), 0, 1, Some(4), Response::Vote(&granted(4, true)))
            .expect_err("S0 grants S1 in its own term");
        assert_eq!(v.rule, Rule::OneVotePerTerm);
        assert_eq!(v.summary, "S0 voted twice in term 4: for itself and for S1");
    }

    #[test]
    fn a_vote_lost_in_a_restart_fails_after_the_restart() {
        let mut r = three();
        r.request_handled(ms(100), 2, 0, Some(3), Response::Vote(&granted(3, true)))
            .expect("S2 votes for S0");
        r.started(ms(200), 2, 9, 0);
        let v = r
            .request_handled(ms(300), 2, 1, Some(3), Response::Vote(&granted(3, true)))
            .expect_err("S2 forgot and votes for S1");
        assert!(v.evidence.iter().any(|e| e.contains("restarted")));
    }

    #[test]
    fn a_granted_vote_counts_in_the_requests_term_even_if_the_reply_says_otherwise() {
        let mut r = three();
        r.request_handled(ms(100), 2, 0, Some(5), Response::Vote(&granted(5, true)))
            .expect("S2 votes for S0 in 5");
        let v = r
            .request_handled(ms(200), 2, 1, Some(5), Response::Vote(&granted(4, true)))
            .expect_err("a vote for S1 in term 5, with an old term in the reply");
        assert_eq!(v.rule, Rule::OneVotePerTerm);
    }

    #[test]
    fn a_stale_leader_may_not_go_on_heartbeating() {
        let mut r = three();
        r.request_sent(
            ms(100),
            0,
            1,
            Request::Append(&AppendEntries::from(&heartbeat(1, 0))),
            false,
        )
        .expect("leader of 1");
        r.reply_delivered(ms(150), 0, 1, Response::Append(&append_reply(2)));
        let v = r
            .request_sent(
                ms(250),
                0,
                1,
                Request::Append(&AppendEntries::from(&heartbeat(1, 0))),
                false,
            )
            .expect_err("100 ms after learning term 2");
        assert_eq!(v.rule, Rule::TermsMoveForward);
    }

    fn append_reply(term: u64) -> AppendEntriesReply {
        AppendEntriesReply {
            term: Term(term),
            success: false,
            conflict_term: None,
            conflict_index: 0,
            ..Default::default()
        }
    }

    #[test]
    fn two_leaders_of_one_term_fail_from_the_wire_or_from_a_sample() {
        let mut r = three();
        r.request_sent(
            ms(100),
            0,
            1,
            Request::Append(&AppendEntries::from(&heartbeat(3, 0))),
            false,
        )
        .expect("leader of 3");
        let v = r
            .leader_seen(ms(200), 2, 3)
            .expect_err("S2 claims 3 as well");
        assert_eq!(v.rule, Rule::ElectionSafety);
    }

    #[test]
    fn install_snapshot_counts_as_leading_and_as_sending_its_term() {
        let snapshot = |term: u64, leader: usize| InstallSnapshotArgs {
            term: Term(term),
            leader_id: PeerId(leader),
            last_included_index: 5,
            last_included_term: Term(term),
            data: vec![1, 2, 3],
            ..Default::default()
        };
        let mut r = three();
        r.request_sent(
            ms(100),
            0,
            1,
            Request::Append(&AppendEntries::from(&heartbeat(3, 0))),
            false,
        )
        .expect("leader of 3");
        let v = r
            .request_sent(ms(200), 2, 1, Request::Snapshot(&snapshot(3, 2)), false)
            .expect_err("S2 sends a snapshot as leader of term 3 too");
        assert_eq!(v.rule, Rule::ElectionSafety);
        assert!(v.evidence[1].contains("S2 sent InstallSnapshot to S1 as leader"));

        let mut r = three();
        r.reply_delivered(
            ms(100),
            0,
            1,
            Response::Snapshot(&InstallSnapshotReply {
                term: Term(4),
                ..Default::default()
            }),
        );
        let v = r
            .request_sent(ms(500), 0, 2, Request::Snapshot(&snapshot(3, 0)), false)
            .expect_err("term 4 was seen 400 ms before");
        assert_eq!(v.rule, Rule::TermsMoveForward);
        assert!(v.evidence[0].contains("S0 got S1's reply to its InstallSnapshot, with term 4"));
    }

    #[test]
    fn applies_feed_leader_completeness() {
        let mut r = three();
        let entry = |t: u64, c: &[u8]| LogEntry {
            term: Term(t),
            command: c.to_vec(),
            ..Default::default()
        };
        let mut ae = heartbeat(1, 0);
        ae.entries = vec![entry(1, b"x")];
        r.request_sent(
            ms(10),
            0,
            1,
            Request::Append(&AppendEntries::from(&ae)),
            false,
        )
        .expect("replicate x");
        r.applied(ms(20), 1, 1, 1, b"x").expect("S1 applies x");
        let mut bad = heartbeat(2, 2);
        bad.entries = vec![entry(2, b"y")];
        let v = r
            .request_sent(
                ms(30),
                2,
                1,
                Request::Append(&AppendEntries::from(&bad)),
                false,
            )
            .expect_err("a leader of term 2 without x");
        assert_eq!(v.rule, Rule::LeaderCompleteness);
    }
}
