//! The state of one peer (everything behind its lock), its role, and term alignment: the rule
//! every message, request or reply, goes through first.
//!
//! The methods here and in the `impl State` blocks of `election`, `replication`, `commit` and
//! `applier` are pure: they take no lock, read no clock (a rule that needs the time takes it as
//! an argument), draw no random number and send nothing. What the caller must do afterwards
//! (save the state, reset the election timer, wake the applier or the replication ticker)
//! comes back as [`Effects`], so the rules can be tested without a runtime.

use std::collections::BTreeSet;

use labrpc::runtime::Instant;

use crate::durable::Restored;
use crate::log::Log;
use crate::logging::raft_event;
use crate::timing::ElectionTimer;
use raftapi::{PeerId, Term};

/// What a peer is in its current term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Answers leaders and candidates; starts an election when its timer runs out.
    Follower,
    /// Asks for votes; `votes` holds the peers that granted one (itself included).
    Candidate { votes: BTreeSet<PeerId> },
    /// Sends entries and heartbeats to every other peer, and commits.
    Leader(LeaderState),
}

impl Role {
    /// The role's name, for log lines.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::Candidate { .. } => "candidate",
            Role::Leader(_) => "leader",
        }
    }
}

/// What a leader keeps about each follower (Figure 2's volatile state on leaders, plus what
/// keeps the leader at one `AppendEntries` with entries in flight per follower).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Progress {
    /// The index of the next entry to send the follower.
    pub(crate) next_index: u64,
    /// The highest index known to be replicated on the follower.
    pub(crate) match_index: u64,
    /// The `AppendEntries` with entries sent and not yet answered, if any.
    pub(crate) in_flight: Option<InFlight>,
    /// The highest commit index sent to the follower (in this term).
    pub(crate) sent_commit: u64,
    /// The number of the next request sent to the follower, to tell replies apart.
    pub(crate) next_seq: u64,
}

/// An `AppendEntries` with entries that is on its way to a follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InFlight {
    /// The request's number (see [`Progress::next_seq`]).
    pub(crate) seq: u64,
    /// When it was sent.
    pub(crate) sent_at: Instant,
}

/// What a leader keeps about every peer, indexed by peer id (its own entry unused).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LeaderState {
    /// One per peer, indexed by peer id.
    pub(crate) progress: Vec<Progress>,
}

impl LeaderState {
    /// A new leader's view: every follower is assumed to hold the whole log (`next_index` just
    /// after it) until a reply says otherwise, and nothing is known to be replicated.
    pub(crate) fn new(peers: usize, last_index: u64) -> LeaderState {
        let progress = Progress {
            next_index: last_index + 1,
            match_index: 0,
            in_flight: None,
            sent_commit: 0,
            next_seq: 0,
        };
        LeaderState {
            progress: vec![progress; peers],
        }
    }
}

/// What the caller must do after a state change, once the pure rule has run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use = "effects must be carried out (save the state, reset the timer, wake the tasks)"]
pub(crate) struct Effects {
    /// The persistent state (term, vote, log) changed: save it before answering anyone.
    pub(crate) persist: bool,
    /// The snapshot changed: save it together with the state (implies `persist`).
    pub(crate) snapshot: bool,
    /// Restart the election timer with a fresh random timeout.
    pub(crate) reset_timer: bool,
    /// `commit_index` moved: wake the applier (and, on a leader, send the new commit index).
    pub(crate) committed: bool,
    /// A leader has something new to send (entries, or a commit index): wake its replication
    /// ticker for a round now rather than at the next heartbeat.
    pub(crate) replicate: bool,
}

/// How a message's term compares with ours (see [`State::align_term`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TermCheck {
    /// The message's term is older than ours: it comes from the past and is rejected.
    Stale,
    /// The same term as ours.
    Current,
    /// The message's term was newer: we moved to it and became a follower.
    Newer,
}

/// Everything behind a peer's lock.
#[derive(Clone, Debug)]
pub(crate) struct State {
    /// This peer.
    pub(crate) me: PeerId,
    /// How many peers the cluster has, this one included.
    pub(crate) peers: usize,
    /// The latest term this peer has seen (persistent).
    pub(crate) term: Term,
    /// The candidate this peer voted for in `term`, if any (persistent).
    pub(crate) voted_for: Option<PeerId>,
    /// The log (persistent).
    pub(crate) log: Log,
    /// The role in `term`.
    pub(crate) role: Role,
    /// The service's latest snapshot, which covers the log through its base (persistent,
    /// saved beside the state; empty before any snapshot).
    pub(crate) snapshot: Vec<u8>,
    /// The highest index known to be committed (volatile: the snapshot's index after a
    /// restart, until a leader says more).
    pub(crate) commit_index: u64,
    /// The highest index the service has (volatile: after a restart, the snapshot's index,
    /// since the service restores the snapshot itself; the peer then applies its committed
    /// entries again from the one after it). Below the log's base while a snapshot installed
    /// from a leader waits to be handed to the service.
    pub(crate) last_applied: u64,
    /// The election timer.
    pub(crate) timer: ElectionTimer,
}

impl State {
    /// A follower with the restored persistent state and `snapshot` (the one the persister
    /// kept): everything the snapshot covers is committed and already with the service.
    pub(crate) fn new(
        me: PeerId,
        peers: usize,
        restored: Restored,
        snapshot: Vec<u8>,
        timer: ElectionTimer,
    ) -> State {
        let base = restored.log.base_index();
        State {
            me,
            peers,
            term: restored.term,
            voted_for: restored.voted_for,
            log: restored.log,
            role: Role::Follower,
            snapshot,
            commit_index: base,
            last_applied: base,
            timer,
        }
    }

    /// Whether this peer is a leader (of its current term).
    pub(crate) fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    /// The context check of the replication path: still the leader of `term`?
    pub(crate) fn is_leader_of(&self, term: Term) -> bool {
        self.term == term && self.is_leader()
    }

    /// The context check of the election path: still a candidate in `term`?
    pub(crate) fn is_candidate_of(&self, term: Term) -> bool {
        self.term == term && matches!(self.role, Role::Candidate { .. })
    }

    /// How many votes (or acknowledgements) make a majority of the cluster.
    pub(crate) fn majority(&self) -> usize {
        self.peers / 2 + 1
    }

    /// The other peers, in id order.
    pub(crate) fn others(&self) -> impl Iterator<Item = PeerId> {
        let me = self.me;
        (0..self.peers).map(PeerId).filter(move |&p| p != me)
    }

    /// Term alignment, the first thing done with every request and every reply: a message
    /// from a newer term moves us to that term as a follower with no vote (Figure 2, "Rules
    /// for Servers"). `from` is the sender, for the log line.
    pub(crate) fn align_term(
        &mut self,
        term: Term,
        from: PeerId,
        effects: &mut Effects,
    ) -> TermCheck {
        if term < self.term {
            return TermCheck::Stale;
        }
        if term == self.term {
            return TermCheck::Current;
        }
        let (old_term, was_follower) = (self.term, self.role == Role::Follower);
        let old_role = self.role.name();
        self.term = term;
        self.voted_for = None;
        self.role = Role::Follower;
        effects.persist = true;
        if was_follower {
            raft_event!(
                info,
                self.me,
                self.term,
                Term,
                "{from} has term {term}, newer than our {old_term}: moved to it"
            );
        } else {
            raft_event!(
                info,
                self.me,
                self.term,
                Term,
                "{from} has term {term}, newer than our {old_term}: {old_role} steps down to \
                 follower"
            );
        }
        TermCheck::Newer
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use super::*;

    /// A fresh follower `me` of a cluster of `peers`, at `term` with no vote.
    pub(crate) fn follower(me: usize, peers: usize, term: u64) -> State {
        let restored = Restored {
            term: Term(term),
            ..Restored::default()
        };
        let timer = ElectionTimer::new(Instant::START, Duration::from_millis(500));
        State::new(PeerId(me), peers, restored, Vec::new(), timer)
    }

    #[test]
    fn a_newer_term_makes_any_role_a_follower_without_a_vote() {
        for role in [
            Role::Follower,
            Role::Candidate {
                votes: BTreeSet::from([PeerId(0)]),
            },
            Role::Leader(LeaderState::new(3, 0)),
        ] {
            let mut st = follower(0, 3, 4);
            st.role = role;
            st.voted_for = Some(PeerId(0));
            let mut effects = Effects::default();
            assert_eq!(
                st.align_term(Term(6), PeerId(2), &mut effects),
                TermCheck::Newer
            );
            assert_eq!(
                (st.term, st.voted_for, &st.role),
                (Term(6), None, &Role::Follower)
            );
            assert!(
                effects.persist,
                "the new term and cleared vote must be saved"
            );
            assert!(
                !effects.reset_timer,
                "seeing a newer term alone does not reset the timer"
            );
        }
    }

    #[test]
    fn same_and_older_terms_change_nothing() {
        let mut st = follower(1, 3, 4);
        st.voted_for = Some(PeerId(2));
        let before = st.clone();
        let mut effects = Effects::default();
        assert_eq!(
            st.align_term(Term(4), PeerId(0), &mut effects),
            TermCheck::Current
        );
        assert_eq!(
            st.align_term(Term(3), PeerId(0), &mut effects),
            TermCheck::Stale
        );
        assert_eq!(effects, Effects::default());
        assert_eq!((st.term, st.voted_for), (before.term, before.voted_for));
    }

    #[test]
    fn majorities_and_others() {
        assert_eq!(follower(0, 1, 0).majority(), 1);
        assert_eq!(follower(0, 3, 0).majority(), 2);
        assert_eq!(follower(0, 4, 0).majority(), 3);
        assert_eq!(follower(0, 7, 0).majority(), 4);
        let others: Vec<_> = follower(1, 3, 0).others().collect();
        assert_eq!(others, vec![PeerId(0), PeerId(2)]);
    }

    #[test]
    fn context_checks_need_both_role_and_term() {
        let mut st = follower(0, 3, 2);
        assert!(!st.is_leader_of(Term(2)) && !st.is_candidate_of(Term(2)));
        st.role = Role::Candidate {
            votes: BTreeSet::new(),
        };
        assert!(st.is_candidate_of(Term(2)) && !st.is_candidate_of(Term(1)));
        st.role = Role::Leader(LeaderState::new(3, 0));
        assert!(st.is_leader_of(Term(2)) && !st.is_leader_of(Term(3)));
    }
}
