//! Leader election, in three layers (ticker, round, per-peer sender), and the `RequestVote`
//! receiver.
//!
//! 1. [`Peer::election_ticker`] lives as long as the peer. It sleeps until the election timer
//!    could run out (at most [`ELECTION_TICK`]), looks again, and, unless the peer leads, starts
//!    an election once the timer ran out.
//! 2. [`Peer::start_election`] is one round: under the lock it becomes candidate of a new term,
//!    votes for itself, resets its timer, and spawns one sender per other peer.
//! 3. [`Peer::ask_for_vote`] sends one `RequestVote`; on the reply it first aligns terms, then
//!    checks the context (still candidate in that term) before counting the vote. The vote that
//!    makes a majority makes the peer leader and starts the replication ticker of that term.

use std::collections::BTreeSet;
use std::sync::Arc;

use labrpc::runtime;

use crate::logging::raft_event;
use crate::peer::Peer;
use crate::rpc;
use crate::state::{Effects, LeaderState, Role, State, TermCheck};
use crate::timing::{random_election_timeout, ELECTION_TICK};
use raftapi::{PeerId, Term};
use raftapi::{RequestVoteArgs, RequestVoteReply};

/// The shortest sleep of the election ticker, so that it always yields to other tasks.
const MIN_TICKER_SLEEP: std::time::Duration = std::time::Duration::from_millis(1);

/// Why a vote was refused (the reason goes into the log line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum VoteDenied {
    /// The candidate's term is older than ours.
    #[error("its term {theirs} is older than our {ours}")]
    StaleTerm {
        /// The candidate's term.
        theirs: Term,
        /// Our term.
        ours: Term,
    },
    /// We already voted for another candidate (perhaps ourselves) in this term.
    #[error("we already voted for {0} in this term")]
    AlreadyVoted(PeerId),
    /// The election restriction (§5.4.1): the candidate's log is behind ours.
    #[error(
        "its log (last term {their_term}, index {their_index}) is behind ours \
         (last term {our_term}, index {our_index})"
    )]
    LogBehind {
        /// The candidate's last log term.
        their_term: Term,
        /// The candidate's last log index.
        their_index: u64,
        /// Our last log term.
        our_term: Term,
        /// Our last log index.
        our_index: u64,
    },
}

// The pure rules of election.
impl State {
    /// Starts an election: a new term, candidate, a vote for itself. Returns the `RequestVote`
    /// arguments for every other peer; the effects are always to save and to reset the timer.
    pub(crate) fn become_candidate(&mut self) -> (RequestVoteArgs, Effects) {
        self.term = self.term.next();
        self.voted_for = Some(self.me);
        self.role = Role::Candidate {
            votes: BTreeSet::from([self.me]),
        };
        raft_event!(
            info,
            self.me,
            self.term,
            Vote,
            "became candidate for term {}; asking {} peers for votes",
            self.term,
            self.peers - 1
        );
        let args = RequestVoteArgs {
            term: self.term,
            candidate_id: self.me,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
            ..Default::default()
        };
        let effects = Effects {
            persist: true,
            reset_timer: true,
            ..Effects::default()
        };
        (args, effects)
    }

    /// Counts a vote granted by `from` (call only after the context check). Returns whether the
    /// candidate now has a majority.
    pub(crate) fn count_vote(&mut self, from: PeerId) -> bool {
        if let Role::Candidate { votes } = &mut self.role {
            votes.insert(from);
        }
        self.has_majority()
    }

    /// Whether this peer is a candidate with votes from a majority.
    pub(crate) fn has_majority(&self) -> bool {
        matches!(&self.role, Role::Candidate { votes } if votes.len() >= self.majority())
    }

    /// Wins the election: becomes leader of the current term.
    pub(crate) fn become_leader(&mut self) {
        let votes = match &self.role {
            Role::Candidate { votes } => votes.len(),
            _ => 0,
        };
        self.role = Role::Leader(LeaderState::new(self.peers, self.log.last_index()));
        raft_event!(
            info,
            self.me,
            self.term,
            Leader,
            "became leader of term {} with {votes} of {} votes",
            self.term,
            self.peers
        );
    }

    /// Whether `args`'s candidate may have our vote in our current term (its term is ours).
    fn vote_decision(&self, args: &RequestVoteArgs) -> Result<(), VoteDenied> {
        if args.term < self.term {
            return Err(VoteDenied::StaleTerm {
                theirs: args.term,
                ours: self.term,
            });
        }
        if let Some(voted) = self.voted_for {
            if voted != args.candidate_id {
                return Err(VoteDenied::AlreadyVoted(voted));
            }
        }
        if !self
            .log
            .candidate_is_up_to_date(args.last_log_term, args.last_log_index)
        {
            return Err(VoteDenied::LogBehind {
                their_term: args.last_log_term,
                their_index: args.last_log_index,
                our_term: self.log.last_term(),
                our_index: self.log.last_index(),
            });
        }
        Ok(())
    }

    /// The `RequestVote` receiver: rejects older terms, steps down on newer ones, and grants
    /// at most one vote per term, to a candidate whose log is at least as up-to-date as ours.
    /// Granting a vote resets the election timer.
    pub(crate) fn handle_request_vote(
        &mut self,
        args: &RequestVoteArgs,
    ) -> (RequestVoteReply, Effects) {
        let mut effects = Effects::default();
        let candidate = args.candidate_id;
        if self.align_term(args.term, candidate, &mut effects) == TermCheck::Stale {
            raft_event!(
                info,
                self.me,
                self.term,
                Vote,
                "rejected RequestVote from {candidate}: its term {} is older than our {}",
                args.term,
                self.term
            );
            return (self.vote_reply(false), effects);
        }
        match self.vote_decision(args) {
            Ok(()) => {
                if self.voted_for != Some(candidate) {
                    self.voted_for = Some(candidate);
                    effects.persist = true;
                }
                effects.reset_timer = true;
                raft_event!(
                    info,
                    self.me,
                    self.term,
                    Vote,
                    "granted vote to {candidate} for term {}",
                    self.term
                );
                (self.vote_reply(true), effects)
            }
            Err(why) => {
                raft_event!(
                    info,
                    self.me,
                    self.term,
                    Vote,
                    "denied vote to {candidate} for term {}: {why}",
                    self.term
                );
                (self.vote_reply(false), effects)
            }
        }
    }

    fn vote_reply(&self, vote_granted: bool) -> RequestVoteReply {
        RequestVoteReply {
            term: self.term,
            vote_granted,
            ..Default::default()
        }
    }
}

// The three layers, and the receiver's locking shell.
impl Peer {
    /// Layer 1: the election ticker. Runs until the peer is killed.
    pub(crate) async fn election_ticker(self: Arc<Self>) {
        loop {
            let stop_seen = self.stop.generation();
            if self.killed() {
                return;
            }
            let due = {
                let mut st = self.state.lock();
                if st.is_leader() {
                    // A leader does not time out. Keeping its timer fresh means that, if it
                    // steps down, it first waits for the new leader's heartbeat instead of
                    // campaigning at once and disrupting it.
                    st.timer.reset(runtime::now(), random_election_timeout());
                    false
                } else {
                    st.timer.expired(runtime::now())
                }
            };
            if due {
                self.start_election();
            }
            // Sleep until the timer could run out: a heartbeat that arrives meanwhile moves the
            // deadline, and the next look sleeps again for what is left.
            let wait = {
                let st = self.state.lock();
                if st.is_leader() {
                    ELECTION_TICK
                } else {
                    st.timer.remaining(runtime::now()).min(ELECTION_TICK)
                }
            };
            // Killing the peer ends the sleep at once.
            let _ = runtime::timeout(
                wait.max(MIN_TICKER_SLEEP),
                self.stop.changed_since(stop_seen),
            )
            .await;
        }
    }

    /// Layer 2: one election round.
    fn start_election(self: &Arc<Self>) {
        let mut st = self.state.lock();
        // The context check: the lock was released since the ticker looked, and a heartbeat
        // or a vote granted in between resets the timer.
        if self.killed() || st.is_leader() || !st.timer.expired(runtime::now()) {
            return;
        }
        raft_event!(
            debug,
            self.me,
            st.term,
            Timer,
            "election timeout of {:?} passed as {}",
            st.timer.timeout(),
            st.role.name()
        );
        let (args, effects) = st.become_candidate();
        self.carry_out(&mut st, effects);
        if st.has_majority() {
            // A cluster of one elects itself.
            st.become_leader();
            self.start_replication_ticker(args.term);
            return;
        }
        for to in st.others() {
            self.spawn_task(self.clone().ask_for_vote(to, args.clone()));
        }
    }

    /// Layer 3: asks one peer for its vote and acts on the reply.
    async fn ask_for_vote(self: Arc<Self>, to: PeerId, args: RequestVoteArgs) {
        let Some((mut st, reply)) = self
            .call_and_align::<_, RequestVoteReply>(to, rpc::REQUEST_VOTE, &args)
            .await
        else {
            return;
        };
        // Then the context: a vote for an election we are no longer running counts for nothing.
        if !st.is_candidate_of(args.term) {
            raft_event!(
                debug,
                self.me,
                st.term,
                Vote,
                "ignored {to}'s vote for term {}: now {} in term {}",
                args.term,
                st.role.name(),
                st.term
            );
            return;
        }
        if !reply.vote_granted {
            raft_event!(
                debug,
                self.me,
                st.term,
                Vote,
                "{to} denied its vote for term {}",
                args.term
            );
            return;
        }
        raft_event!(
            debug,
            self.me,
            st.term,
            Vote,
            "{to} granted its vote for term {}",
            args.term
        );
        if st.count_vote(to) {
            st.become_leader();
            self.start_replication_ticker(args.term);
        }
    }

    /// The `RequestVote` receiver (the handler of `"Raft.RequestVote"`).
    pub(crate) fn request_vote(&self, args: RequestVoteArgs) -> RequestVoteReply {
        let mut st = self.state.lock();
        let (reply, effects) = st.handle_request_vote(&args);
        self.carry_out(&mut st, effects);
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tests::follower;
    use raftapi::LogEntry;

    fn ask(candidate: usize, term: u64, last_index: u64, last_term: u64) -> RequestVoteArgs {
        RequestVoteArgs {
            term: Term(term),
            candidate_id: PeerId(candidate),
            last_log_index: last_index,
            last_log_term: Term(last_term),
        }
    }

    #[test]
    fn follower_start_election_votes_for_itself_in_a_new_term() {
        let mut st = follower(1, 3, 4);
        let (args, effects) = st.become_candidate();
        assert_eq!(args, ask(1, 5, 0, 0));
        assert_eq!((st.term, st.voted_for), (Term(5), Some(PeerId(1))));
        assert!(st.is_candidate_of(Term(5)));
        assert!(effects.persist && effects.reset_timer);
        assert!(!st.has_majority(), "one vote of three is no majority");
    }

    #[test]
    fn a_majority_of_votes_wins_and_duplicates_do_not_count_twice() {
        let mut st = follower(0, 5, 0);
        let _ = st.become_candidate();
        assert!(!st.count_vote(PeerId(1)));
        assert!(
            !st.count_vote(PeerId(1)),
            "the same voter twice is one vote"
        );
        assert!(st.count_vote(PeerId(3)));
        st.become_leader();
        assert!(st.is_leader_of(Term(1)));
        assert!(!st.has_majority(), "a leader is no longer counting votes");
    }

    #[test]
    fn a_cluster_of_one_wins_with_its_own_vote() {
        let mut st = follower(0, 1, 0);
        let _ = st.become_candidate();
        assert!(st.has_majority());
    }

    #[test]
    fn voter_grants_one_vote_per_term_and_resets_its_timer() {
        let mut st = follower(0, 3, 2);
        let (reply, effects) = st.handle_request_vote(&ask(1, 2, 0, 0));
        assert!(reply.vote_granted);
        assert_eq!(st.voted_for, Some(PeerId(1)));
        assert!(effects.persist && effects.reset_timer);

        let (again, effects) = st.handle_request_vote(&ask(1, 2, 0, 0));
        assert!(again.vote_granted, "the same candidate may ask again");
        assert!(!effects.persist, "nothing new to save");

        let (other, effects) = st.handle_request_vote(&ask(2, 2, 0, 0));
        assert!(
            !other.vote_granted,
            "a second candidate in the same term is refused"
        );
        assert!(
            !effects.reset_timer,
            "refusing a vote does not reset the timer"
        );
        assert_eq!(
            st.vote_decision(&ask(2, 2, 0, 0)),
            Err(VoteDenied::AlreadyVoted(PeerId(1)))
        );
    }

    #[test]
    fn voter_rejects_a_stale_candidate_and_tells_it_the_newer_term() {
        let mut st = follower(0, 3, 7);
        let (reply, effects) = st.handle_request_vote(&ask(2, 6, 9, 6));
        assert_eq!(
            reply,
            RequestVoteReply {
                term: Term(7),
                vote_granted: false
            }
        );
        assert_eq!(effects, Effects::default());
        assert_eq!(st.voted_for, None);
    }

    #[test]
    fn a_newer_term_frees_the_vote_of_the_old_term() {
        let mut st = follower(0, 3, 3);
        let _ = st.become_candidate(); // term 4, voted for itself
        let (reply, effects) = st.handle_request_vote(&ask(2, 5, 0, 0));
        assert!(reply.vote_granted);
        assert_eq!(reply.term, Term(5));
        assert_eq!((st.voted_for, &st.role), (Some(PeerId(2)), &Role::Follower));
        assert!(effects.persist && effects.reset_timer);
    }

    #[test]
    fn voter_denies_a_candidate_whose_log_is_behind() {
        let mut st = follower(0, 3, 3);
        st.log.append(LogEntry {
            term: Term(3),
            command: vec![],
        });
        let (reply, effects) = st.handle_request_vote(&ask(1, 4, 5, 2));
        assert!(!reply.vote_granted);
        assert_eq!(reply.term, Term(4), "the newer term is still adopted");
        assert!(effects.persist && !effects.reset_timer);
        assert_eq!(
            st.voted_for, None,
            "the vote stays free for a better candidate"
        );
        let (reply, _) = st.handle_request_vote(&ask(2, 4, 1, 3));
        assert!(reply.vote_granted);
    }

    #[test]
    fn candidates_and_leaders_have_already_voted_for_themselves() {
        let mut st = follower(0, 3, 0);
        let _ = st.become_candidate();
        let (reply, _) = st.handle_request_vote(&ask(1, 1, 0, 0));
        assert!(!reply.vote_granted);
        st.become_leader();
        let (reply, _) = st.handle_request_vote(&ask(2, 1, 0, 0));
        assert!(!reply.vote_granted);
        assert!(st.is_leader_of(Term(1)));
    }
}
