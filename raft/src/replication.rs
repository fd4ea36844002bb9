//! Replication (in part A: heartbeats), in three layers (ticker, round, per-peer sender), and
//! the `AppendEntries` receiver.
//!
//! 1. [`Peer::replication_ticker`] lives for **one term**: it is started when the peer becomes
//!    leader of `term` and runs a round every [`HEARTBEAT_INTERVAL`] until a round reports that
//!    the peer no longer leads that term.
//! 2. [`Peer::start_replication`] is one round: under the lock it checks the context (still
//!    leader of `term`), builds `AppendEntries` for every other peer and spawns a sender each.
//! 3. [`Peer::replicate_to`] sends one `AppendEntries`; on the reply it first aligns terms, then
//!    checks the context again before using the reply.
//!
//! Part A's `AppendEntries` carry no entries; part B fills them from `next_index` and moves
//! `next_index` with the replies' conflict hints.

use std::sync::Arc;

use labrpc::runtime;

use crate::ids::{PeerId, Term};
use crate::logging::raft_event;
use crate::messages::{AppendEntriesArgs, AppendEntriesReply};
use crate::peer::{spawn_detached, Peer};
use crate::rpc;
use crate::state::{Effects, Role, State, TermCheck};
use crate::timing::HEARTBEAT_INTERVAL;

// The pure rules of replication.
impl State {
    /// The `AppendEntries` a leader sends `to` now, or `None` if this peer is not a leader.
    /// Part A sends no entries: a heartbeat that only asserts leadership.
    pub(crate) fn append_entries_args(&self, to: PeerId) -> Option<AppendEntriesArgs> {
        let Role::Leader(leader) = &self.role else {
            return None;
        };
        let next = leader
            .next_index
            .get(to.index())
            .copied()
            .unwrap_or(self.log.last_index() + 1)
            .max(1);
        let prev_log_index = next - 1;
        Some(AppendEntriesArgs {
            term: self.term,
            leader_id: self.me,
            prev_log_index,
            prev_log_term: self.log.term_at(prev_log_index).unwrap_or(Term::ZERO),
            entries: Vec::new(),
            leader_commit: self.commit_index,
        })
    }

    /// The `AppendEntries` receiver: rejects older terms; otherwise accepts the sender as the
    /// leader of our term, becomes (or stays) follower and resets the election timer, then
    /// checks that our log holds `prev_log_term` at `prev_log_index` and stores the entries.
    pub(crate) fn handle_append_entries(
        &mut self,
        args: &AppendEntriesArgs,
    ) -> (AppendEntriesReply, Effects) {
        let mut effects = Effects::default();
        let leader = args.leader_id;
        if self.align_term(args.term, leader, &mut effects) == TermCheck::Stale {
            raft_event!(
                info,
                self.me,
                self.term,
                Append,
                "rejected AppendEntries from {leader}: its term {} is older than our {}",
                args.term,
                self.term
            );
            return (self.append_reply(false, None, 0), effects);
        }
        // The sender leads our term: two majorities always intersect, so there is one leader
        // per term, and anyone else in this term follows it.
        match self.role {
            Role::Follower => {}
            Role::Candidate { .. } => {
                raft_event!(
                    info,
                    self.me,
                    self.term,
                    Term,
                    "{leader} leads term {}: candidate becomes follower",
                    self.term
                );
                self.role = Role::Follower;
            }
            Role::Leader(_) => {
                raft_event!(
                    error,
                    self.me,
                    self.term,
                    Error,
                    "{leader} claims to lead term {} too; two leaders in one term is a bug \
                     (stepping down)",
                    self.term
                );
                self.role = Role::Follower;
            }
        }
        // The most important line: a live leader keeps followers from starting elections.
        effects.reset_timer = true;

        if let Err(conflict) = self.log.check_prev(args.prev_log_index, args.prev_log_term) {
            raft_event!(
                debug,
                self.me,
                self.term,
                Append,
                "log of {leader} does not match at index {} (term {}): conflict term {:?}, \
                 retry from {}",
                args.prev_log_index,
                args.prev_log_term,
                conflict.term.map(|t| t.0),
                conflict.index
            );
            return (
                self.append_reply(false, conflict.term, conflict.index),
                effects,
            );
        }
        if self.log.merge(args.prev_log_index, &args.entries) {
            effects.persist = true;
        }
        // Part B: advance commit_index to min(leader_commit, index of the last new entry).
        raft_event!(
            trace,
            self.me,
            self.term,
            Append,
            "accepted AppendEntries from {leader} ({} entries after index {})",
            args.entries.len(),
            args.prev_log_index
        );
        (self.append_reply(true, None, 0), effects)
    }

    fn append_reply(
        &self,
        success: bool,
        conflict_term: Option<Term>,
        conflict_index: u64,
    ) -> AppendEntriesReply {
        AppendEntriesReply {
            term: self.term,
            success,
            conflict_term,
            conflict_index,
        }
    }
}

// The three layers, and the receiver's locking shell.
impl Peer {
    /// Starts the replication ticker of `term` (call right after becoming its leader).
    pub(crate) fn start_replication_ticker(self: &Arc<Self>, term: Term) {
        spawn_detached(self.clone().replication_ticker(term));
    }

    /// Layer 1: the replication ticker of one term. The first round runs at once, so a new
    /// leader announces itself before anyone else times out.
    async fn replication_ticker(self: Arc<Self>, term: Term) {
        while self.start_replication(term) {
            runtime::sleep(HEARTBEAT_INTERVAL).await;
        }
    }

    /// Layer 2: one round. Returns false, ending the ticker, when the peer no longer leads
    /// `term` (or was killed).
    fn start_replication(self: &Arc<Self>, term: Term) -> bool {
        let st = self.state.lock();
        if self.killed() {
            return false;
        }
        if !st.is_leader_of(term) {
            raft_event!(
                info,
                self.me,
                st.term,
                Leader,
                "lost leadership of term {term}: now {} in term {}; replication stops",
                st.role.name(),
                st.term
            );
            return false;
        }
        for to in st.others() {
            if let Some(args) = st.append_entries_args(to) {
                spawn_detached(self.clone().replicate_to(to, args));
            }
        }
        raft_event!(trace, self.me, term, Append, "sent heartbeats");
        true
    }

    /// Layer 3: sends one `AppendEntries` and acts on the reply.
    async fn replicate_to(self: Arc<Self>, to: PeerId, args: AppendEntriesArgs) {
        let Some((st, reply)) = self
            .call_and_align::<_, AppendEntriesReply>(to, rpc::APPEND_ENTRIES, &args)
            .await
        else {
            return;
        };
        // Then the context: a reply to a round of an older leadership must not move this one.
        if !st.is_leader_of(args.term) {
            raft_event!(
                trace,
                self.me,
                st.term,
                Append,
                "ignored {to}'s reply to a heartbeat of term {}: now {}",
                args.term,
                st.role.name()
            );
            return;
        }
        if reply.success {
            // Part B: match_index[to] = prev_log_index + entries; next_index[to] after it.
            raft_event!(
                trace,
                self.me,
                st.term,
                Append,
                "{to} accepted the heartbeat"
            );
        } else {
            // Part B: back next_index[to] up with the conflict hints and retry.
            raft_event!(
                debug,
                self.me,
                st.term,
                Append,
                "{to} did not match at index {}: conflict term {:?}, retry from {}",
                args.prev_log_index,
                reply.conflict_term.map(|t| t.0),
                reply.conflict_index
            );
        }
    }

    /// The `AppendEntries` receiver (the handler of `"Raft.AppendEntries"`).
    pub(crate) fn append_entries(&self, args: AppendEntriesArgs) -> AppendEntriesReply {
        let mut st = self.state.lock();
        let (reply, effects) = st.handle_append_entries(&args);
        self.carry_out(&mut st, effects);
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::LogEntry;
    use crate::state::tests::follower;

    fn heartbeat(leader: usize, term: u64) -> AppendEntriesArgs {
        AppendEntriesArgs {
            term: Term(term),
            leader_id: PeerId(leader),
            prev_log_index: 0,
            prev_log_term: Term::ZERO,
            entries: Vec::new(),
            leader_commit: 0,
        }
    }

    fn leader_of(term: u64) -> State {
        let mut st = follower(0, 3, term - 1);
        let _ = st.become_candidate();
        st.become_leader();
        st
    }

    #[test]
    fn leader_bcast_beat_carries_term_and_id_and_no_entries() {
        let st = leader_of(3);
        let args = st.append_entries_args(PeerId(2)).expect("a leader");
        assert_eq!(args, heartbeat(0, 3));
        assert!(follower(1, 3, 3).append_entries_args(PeerId(0)).is_none());
    }

    #[test]
    fn follower_resets_its_timer_on_a_valid_heartbeat() {
        let mut st = follower(1, 3, 2);
        let (reply, effects) = st.handle_append_entries(&heartbeat(0, 2));
        assert!(reply.success);
        assert_eq!(reply.term, Term(2));
        assert!(effects.reset_timer);
        assert!(
            !effects.persist,
            "a heartbeat of the same term changes nothing durable"
        );
    }

    #[test]
    fn a_heartbeat_of_an_older_term_is_rejected_without_resetting_the_timer() {
        let mut st = follower(1, 3, 5);
        let (reply, effects) = st.handle_append_entries(&heartbeat(0, 4));
        assert!(!reply.success);
        assert_eq!(
            reply.term,
            Term(5),
            "the stale leader learns the newer term"
        );
        assert_eq!(effects, Effects::default());
    }

    #[test]
    fn candidate_and_stale_leader_step_down_on_a_heartbeat() {
        let mut candidate = follower(1, 3, 2);
        let _ = candidate.become_candidate(); // term 3
        let (reply, effects) = candidate.handle_append_entries(&heartbeat(2, 3));
        assert!(reply.success && effects.reset_timer);
        assert_eq!(candidate.role, Role::Follower);
        assert_eq!(
            candidate.voted_for,
            Some(PeerId(1)),
            "the vote of the term stays"
        );

        let mut old_leader = leader_of(3);
        let (reply, effects) = old_leader.handle_append_entries(&heartbeat(2, 5));
        assert!(reply.success && effects.persist && effects.reset_timer);
        assert_eq!(
            (old_leader.term, &old_leader.role),
            (Term(5), &Role::Follower)
        );
    }

    #[test]
    fn a_follower_with_a_short_log_sends_conflict_hints() {
        let mut st = follower(1, 3, 2);
        let mut args = heartbeat(0, 2);
        args.prev_log_index = 4;
        args.prev_log_term = Term(2);
        let (reply, effects) = st.handle_append_entries(&args);
        assert!(!reply.success);
        assert_eq!((reply.conflict_term, reply.conflict_index), (None, 1));
        assert!(
            effects.reset_timer,
            "a leader of our term resets the timer even so"
        );
    }

    #[test]
    fn entries_after_a_matching_prev_are_stored_and_saved() {
        let mut st = follower(1, 3, 2);
        let mut args = heartbeat(0, 2);
        args.entries = vec![LogEntry {
            term: Term(2),
            command: b"x".to_vec(),
        }];
        let (reply, effects) = st.handle_append_entries(&args);
        assert!(reply.success && effects.persist);
        assert_eq!((st.log.last_index(), st.log.last_term()), (1, Term(2)));
    }
}
