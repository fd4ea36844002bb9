//! Replication, in three layers (ticker, round, per-peer sender), and the `AppendEntries`
//! receiver.
//!
//! 1. [`Peer::replication_ticker`] lives for **one term**: it is started when the peer becomes
//!    leader of `term` and runs a round every [`HEARTBEAT_INTERVAL`] until a round reports that
//!    the peer no longer leads that term. Between heartbeats it sleeps on the peer's
//!    `replicate` signal, so a new command ([`Raft::start`](crate::Raft::start)) or a new commit
//!    index is sent at once, in a round of its own, not at the next heartbeat.
//! 2. [`Peer::start_replication`] is one round: under the lock it checks the context (still
//!    leader of `term`), asks [`State::next_append`] what each follower needs, and spawns a
//!    sender for each request.
//! 3. [`Peer::replicate_to`] sends one `AppendEntries`; on the reply it first aligns terms, then
//!    checks the context again (still leader of the term the request was sent in), then moves
//!    the follower's `match_index` / `next_index` ([`State::handle_append_reply`]) and, when that
//!    made progress, sends the follower's next request at once.
//!
//! # One request with entries in flight per follower
//!
//! A leader sends a follower entries only when no earlier request with entries is still on its
//! way ([`InFlight`](crate::state::InFlight)); the entries that arrive meanwhile go together in
//! the next request, sent as soon as the reply comes. A heartbeat due meanwhile carries no
//! entries. So each entry crosses the network about once per follower (TestRPCBytes), and a
//! burst of commands costs a few requests, not one per command (TestCount). A request that gets
//! no reply within [`APPEND_RESEND_AFTER`] is taken as lost: the next heartbeat carries the
//! entries again.
//!
//! # Backing up quickly
//!
//! A follower whose log does not match at `prev_log_index` answers with the conflict hints of
//! [`AppendEntriesReply`], and [`backed_up_next_index`] skips a whole term per round trip
//! instead of one entry (TestBackup).

use std::sync::Arc;

use labrpc::runtime::{self, Instant};

use crate::log::Log;
use crate::logging::raft_event;
use crate::peer::Peer;
use crate::rpc;
use crate::snapshot::Request;
use crate::state::{Effects, InFlight, Role, State, TermCheck};
use crate::timing::{APPEND_RESEND_AFTER, HEARTBEAT_INTERVAL};
use raftapi::{AppendEntriesArgs, AppendEntriesReply, LogEntry};
use raftapi::{PeerId, Term};

/// Why a round of `AppendEntries` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Round {
    /// The heartbeat interval passed: every follower gets a request, with entries if it needs
    /// them and none is in flight, else empty.
    Heartbeat,
    /// Something new to send (entries, or a commit index): only the followers that need it and
    /// have no request with entries in flight get one.
    Triggered,
}

/// One `AppendEntries` to send, and the number that tells its reply apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Outgoing {
    /// The follower.
    pub(crate) to: PeerId,
    /// The request's number among those sent to `to` in this term.
    pub(crate) seq: u64,
    /// The request.
    pub(crate) args: AppendEntriesArgs,
}

/// The conflict-hint arithmetic of fast back-up: where a leader with `log` resumes sending to a
/// follower that refused a request with `prev_log_index`, given the reply's hints.
///
/// - Log too short (`conflict_term` is `None`): resume at the follower's log length.
/// - The follower has `conflict_term` at `prev_log_index`, and so do we: resume just after our
///   last entry of that term (entries of one term at one index are the same on every peer, so
///   the follower holds ours up to there if its run of that term reaches it).
/// - We have no entry of `conflict_term`: skip the follower's whole run of it, resuming at the
///   run's first index.
///
/// The result is always below `prev_log_index + 1` (the refused position), so every refusal
/// makes progress, and at least 1; the caller keeps it above the follower's `match_index`. It
/// may fall at or below the log's base: the follower then needs the snapshot.
pub(crate) fn backed_up_next_index(
    log: &Log,
    prev_log_index: u64,
    reply: &AppendEntriesReply,
) -> u64 {
    let hinted = match reply.conflict_term {
        None => reply.conflict_index,
        Some(term) => match log.last_index_of_term(term) {
            Some(last) => last + 1,
            None => reply.conflict_index,
        },
    };
    hinted.min(prev_log_index).max(1)
}

// The pure rules of replication.
impl State {
    /// A leader appends `command` to its log (Go's `Start`). Returns the entry's index and the
    /// effects: save the log before anything is sent, wake the replication ticker, and, in a
    /// cluster of one, the entry is committed at once. `None` unless this peer leads.
    pub(crate) fn leader_append(&mut self, command: Vec<u8>) -> Option<(u64, Effects)> {
        if !self.is_leader() {
            return None;
        }
        let index = self.log.append(LogEntry {
            term: self.term,
            command,
            ..Default::default()
        });
        let mut effects = Effects {
            persist: true,
            replicate: true,
            ..Effects::default()
        };
        effects.committed = self.advance_leader_commit();
        raft_event!(
            debug,
            self.me,
            self.term,
            Apply,
            "leader appended a command at index {index}"
        );
        Some((index, effects))
    }

    /// What a leader sends follower `to` in a round of kind `round` at time `now`, if anything;
    /// records what was sent (the request in flight, the commit index sent). `None` when this
    /// peer is not a leader, or, in a [`Round::Triggered`], when `to` needs nothing or already
    /// has a request with entries in flight.
    pub(crate) fn next_append(
        &mut self,
        to: PeerId,
        round: Round,
        now: Instant,
    ) -> Option<Outgoing> {
        let (term, me, commit) = (self.term, self.me, self.commit_index);
        let Role::Leader(leader) = &mut self.role else {
            return None;
        };
        let progress = leader.progress.get_mut(to.index())?;
        let in_flight = progress
            .in_flight
            .is_some_and(|f| now.duration_since(f.sent_at) < APPEND_RESEND_AFTER);
        let next = progress
            .next_index
            .clamp(self.log.base_index() + 1, self.log.last_index() + 1);
        let send_entries = next <= self.log.last_index() && !in_flight;
        let send_commit = progress.sent_commit < commit && !in_flight;
        if round == Round::Triggered && !send_entries && !send_commit {
            return None;
        }
        let prev_log_index = next - 1;
        let entries = if send_entries {
            self.log.entries_from(next).to_vec()
        } else {
            Vec::new()
        };
        let seq = progress.next_seq;
        progress.next_seq += 1;
        if !entries.is_empty() {
            progress.in_flight = Some(InFlight { seq, sent_at: now });
        }
        progress.sent_commit = progress.sent_commit.max(commit);
        let args = AppendEntriesArgs {
            term,
            leader_id: me,
            prev_log_index,
            // The log holds prev_log_index: next is clamped to just above its base.
            prev_log_term: self.log.term_at(prev_log_index).unwrap_or(Term::ZERO),
            entries,
            leader_commit: commit,
            ..Default::default()
        };
        Some(Outgoing { to, seq, args })
    }

    /// A leader forgets that request `seq` to `to` is in flight (it got no reply), so the next
    /// heartbeat sends its entries again.
    pub(crate) fn forget_request(&mut self, to: PeerId, seq: u64) {
        if let Role::Leader(leader) = &mut self.role {
            if let Some(progress) = leader.progress.get_mut(to.index()) {
                if progress.in_flight.is_some_and(|f| f.seq == seq) {
                    progress.in_flight = None;
                }
            }
        }
    }

    /// A leader acts on `to`'s reply to request `seq` (`args`); call only after aligning
    /// terms and checking that this peer still leads `args.term`.
    ///
    /// - Success: `match_index` becomes `prev_log_index + entries` (never smaller than it was,
    ///   so a reordered, older success cannot move it back), `next_index` just after it, and
    ///   the commit index moves if a majority now holds an entry of this term.
    /// - Refusal: `next_index` backs up with the conflict hints ([`backed_up_next_index`]),
    ///   never below `match_index + 1`; a refusal of a position the follower has since matched
    ///   is stale and ignored.
    ///
    /// Returns the effects and whether the reply made progress (moved `match_index` or
    /// `next_index`), in which case the follower's next request should go at once.
    pub(crate) fn handle_append_reply(
        &mut self,
        to: PeerId,
        seq: u64,
        args: &AppendEntriesArgs,
        reply: &AppendEntriesReply,
    ) -> (Effects, bool) {
        let mut effects = Effects::default();
        let (me, term) = (self.me, self.term);
        let Role::Leader(leader) = &mut self.role else {
            return (effects, false);
        };
        let Some(progress) = leader.progress.get_mut(to.index()) else {
            return (effects, false);
        };
        if progress.in_flight.is_some_and(|f| f.seq == seq) {
            progress.in_flight = None;
        }
        if reply.success {
            let matched = args.prev_log_index + args.entries.len() as u64;
            if matched <= progress.match_index {
                return (effects, false);
            }
            progress.match_index = matched;
            progress.next_index = progress.next_index.max(matched + 1);
            raft_event!(
                trace,
                me,
                term,
                Append,
                "{to} holds our log through index {matched}"
            );
            effects.committed = self.advance_leader_commit();
            effects.replicate = effects.committed;
            return (effects, true);
        }
        if args.prev_log_index <= progress.match_index {
            // The follower has since matched past this position: an old, reordered refusal.
            return (effects, false);
        }
        let backed_up = backed_up_next_index(&self.log, args.prev_log_index, reply)
            .max(progress.match_index + 1);
        if backed_up >= progress.next_index {
            return (effects, false);
        }
        progress.next_index = backed_up;
        raft_event!(
            debug,
            me,
            term,
            Append,
            "{to} did not match at index {} (its term there {:?}, hint {}): retrying from \
             {backed_up}",
            args.prev_log_index,
            reply.conflict_term.map(|t| t.0),
            reply.conflict_index
        );
        (effects, true)
    }

    /// The `AppendEntries` receiver: rejects older terms; otherwise accepts the sender as the
    /// leader of our term, becomes (or stays) follower and resets the election timer, then
    /// checks that our log holds `prev_log_term` at `prev_log_index` (else refuses, with the
    /// conflict hints), stores the entries (truncating only at a real conflict), and moves the
    /// commit index to `min(leader_commit, index of the last new entry)`.
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
        let last_new = args.prev_log_index + args.entries.len() as u64;
        effects.committed = self.advance_follower_commit(args.leader_commit, last_new);
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
            ..Default::default()
        }
    }
}

// The three layers, and the receiver's locking shell.
impl Peer {
    /// Starts the replication ticker of `term` (call right after becoming its leader).
    pub(crate) fn start_replication_ticker(self: &Arc<Self>, term: Term) {
        self.spawn_task(self.clone().replication_ticker(term));
    }

    /// Layer 1: the replication ticker of one term. The first round, a heartbeat, runs at once,
    /// so a new leader announces itself before anyone else times out. Between heartbeats it
    /// waits on the `replicate` signal; a notification runs a [`Round::Triggered`] at once.
    async fn replication_ticker(self: Arc<Self>, term: Term) {
        let mut round = Round::Heartbeat;
        let mut next_beat = runtime::now();
        loop {
            // Read before the round looks at the state: a notification from now on is seen.
            let seen = self.replicate.generation();
            if !self.start_replication(term, round) {
                return;
            }
            let now = runtime::now();
            if round == Round::Heartbeat {
                next_beat = now + HEARTBEAT_INTERVAL;
            }
            let woken = runtime::timeout(next_beat - now, self.replicate.changed_since(seen)).await;
            round = if woken.is_ok() && runtime::now() < next_beat {
                Round::Triggered
            } else {
                Round::Heartbeat
            };
        }
    }

    /// Layer 2: one round. Returns false, ending the ticker, when the peer no longer leads
    /// `term` (or was killed).
    fn start_replication(self: &Arc<Self>, term: Term, round: Round) -> bool {
        let mut st = self.state.lock();
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
        let now = runtime::now();
        let others: Vec<PeerId> = st.others().collect();
        let mut sent = 0;
        for to in others {
            if let Some(request) = st.next_request(to, round, now) {
                sent += 1;
                self.spawn_task(self.clone().replicate_to(request));
            }
        }
        raft_event!(
            trace,
            self.me,
            term,
            Append,
            "{} round: {sent} requests sent",
            match round {
                Round::Heartbeat => "heartbeat",
                Round::Triggered => "triggered",
            }
        );
        true
    }

    /// Layer 3: sends one `AppendEntries` (or, to a follower that needs discarded entries, one
    /// `InstallSnapshot`) and acts on the reply. When the reply made progress and the follower
    /// needs more (a retry after a refusal, entries that came meanwhile, the new commit index),
    /// the same sender sends that next request at once.
    async fn replicate_to(self: Arc<Self>, first: Request) {
        let mut next = Some(first);
        while let Some(request) = next.take() {
            next = match request {
                Request::Append(out) => self.send_append(out).await,
                Request::Install(out) => self.send_install(out).await,
            };
        }
    }

    /// Sends `out` and acts on the reply; returns the follower's next request, if it should go
    /// at once.
    async fn send_append(self: &Arc<Self>, out: Outgoing) -> Option<Request> {
        let Outgoing { to, seq, args } = out;
        let Some((mut st, reply)) = self
            .call_and_align::<_, AppendEntriesReply>(to, rpc::APPEND_ENTRIES, &args)
            .await
        else {
            // No reply (or we were killed, or the reply's term was newer): if this request held
            // the follower's slot, free it, so the next heartbeat sends the entries again.
            self.state.lock().forget_request(to, seq);
            return None;
        };
        // Then the context: a reply to a request of an older leadership must not move this one.
        if !st.is_leader_of(args.term) {
            raft_event!(
                trace,
                self.me,
                st.term,
                Append,
                "ignored {to}'s reply to AppendEntries of term {}: now {} in term {}",
                args.term,
                st.role.name(),
                st.term
            );
            return None;
        }
        let (effects, progressed) = st.handle_append_reply(to, seq, &args, &reply);
        self.carry_out(&mut st, effects);
        if !progressed {
            return None;
        }
        st.next_request(to, Round::Triggered, runtime::now())
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
    use std::time::Duration;

    use super::*;
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

    fn entry(term: u64) -> LogEntry {
        LogEntry {
            term: Term(term),
            command: vec![term as u8],
        }
    }

    fn entries(terms: &[u64]) -> Vec<LogEntry> {
        terms.iter().map(|&t| entry(t)).collect()
    }

    /// Peer `me` of `peers` with a log of `terms`, at `term`.
    fn peer_with_log(me: usize, peers: usize, term: u64, terms: &[u64]) -> State {
        let mut st = follower(me, peers, term);
        for &t in terms {
            st.log.append(entry(t));
        }
        st
    }

    /// Peer 0 of 3, the new leader of `term`, with a log of `terms`.
    fn leader_with_log(term: u64, terms: &[u64]) -> State {
        let mut st = peer_with_log(0, 3, term - 1, terms);
        let _ = st.become_candidate();
        st.become_leader();
        st
    }

    fn leader_of(term: u64) -> State {
        leader_with_log(term, &[])
    }

    fn at(ms: u64) -> Instant {
        Instant::START + Duration::from_millis(ms)
    }

    fn progress(st: &State, to: usize) -> crate::state::Progress {
        match &st.role {
            Role::Leader(l) => l.progress[to].clone(),
            _ => panic!("not a leader"),
        }
    }

    fn reply_to(args: &AppendEntriesArgs, follower: &mut State) -> AppendEntriesReply {
        follower.handle_append_entries(args).0
    }

    #[test]
    fn leader_bcast_beat_carries_term_and_id_and_no_entries() {
        let mut st = leader_of(3);
        let out = st
            .next_append(PeerId(2), Round::Heartbeat, at(0))
            .expect("a leader always sends a heartbeat");
        assert_eq!(out.args, heartbeat(0, 3));
        assert!(follower(1, 3, 3)
            .next_append(PeerId(0), Round::Heartbeat, at(0))
            .is_none());
    }

    #[test]
    fn a_triggered_round_sends_only_to_followers_that_need_something() {
        let mut st = leader_of(2);
        assert_eq!(st.next_append(PeerId(1), Round::Triggered, at(0)), None);
        let (index, effects) = st.leader_append(b"x".to_vec()).expect("a leader");
        assert_eq!(index, 1);
        assert!(effects.persist && effects.replicate && !effects.committed);
        let out = st
            .next_append(PeerId(1), Round::Triggered, at(0))
            .expect("a new entry to send");
        assert_eq!(out.args.prev_log_index, 0);
        assert_eq!(
            out.args.entries,
            vec![LogEntry {
                term: Term(2),
                command: b"x".to_vec()
            }]
        );
    }

    #[test]
    fn start_is_refused_by_non_leaders_and_commits_at_once_alone() {
        assert!(follower(0, 3, 1).leader_append(vec![1]).is_none());
        let mut alone = follower(0, 1, 0);
        let _ = alone.become_candidate();
        alone.become_leader();
        let (index, effects) = alone.leader_append(vec![1]).expect("a leader");
        assert_eq!((index, alone.commit_index), (1, 1));
        assert!(effects.committed);
    }

    #[test]
    fn one_request_with_entries_in_flight_per_follower_and_batching_meanwhile() {
        let mut st = leader_of(2);
        let _ = st.leader_append(vec![1]);
        let first = st
            .next_append(PeerId(1), Round::Triggered, at(0))
            .expect("sends entry 1");
        assert_eq!(first.args.entries.len(), 1);
        // More commands while entry 1 is on its way: nothing more goes to S1 until the reply.
        let _ = st.leader_append(vec![2]);
        let _ = st.leader_append(vec![3]);
        assert_eq!(st.next_append(PeerId(1), Round::Triggered, at(10)), None);
        // A heartbeat meanwhile carries no entries.
        let beat = st
            .next_append(PeerId(1), Round::Heartbeat, at(20))
            .expect("heartbeats always go");
        assert!(beat.args.entries.is_empty());
        assert_eq!(beat.args.prev_log_index, 0);
        // The reply frees the slot, and the next request carries both new entries together.
        let reply = AppendEntriesReply {
            term: Term(2),
            success: true,
            conflict_term: None,
            conflict_index: 0,
        };
        let (_, progressed) = st.handle_append_reply(PeerId(1), first.seq, &first.args, &reply);
        assert!(progressed);
        let batch = st
            .next_append(PeerId(1), Round::Triggered, at(30))
            .expect("entries 2 and 3");
        assert_eq!(batch.args.prev_log_index, 1);
        assert_eq!(batch.args.entries.len(), 2);
        // S2 never got anything yet: it gets all three at once.
        let s2 = st
            .next_append(PeerId(2), Round::Triggered, at(30))
            .expect("entries 1 to 3");
        assert_eq!(s2.args.entries.len(), 3);
    }

    #[test]
    fn a_request_with_no_reply_is_resent_by_a_later_heartbeat() {
        let mut st = leader_of(2);
        let _ = st.leader_append(vec![1]);
        let first = st
            .next_append(PeerId(1), Round::Triggered, at(0))
            .expect("sends entry 1");
        let early = APPEND_RESEND_AFTER.as_millis() as u64 - 1;
        let beat = st.next_append(PeerId(1), Round::Heartbeat, at(early));
        assert!(beat.expect("a heartbeat").args.entries.is_empty());
        let late = APPEND_RESEND_AFTER.as_millis() as u64;
        let again = st
            .next_append(PeerId(1), Round::Heartbeat, at(late))
            .expect("a heartbeat");
        assert_eq!(again.args.entries.len(), 1, "taken as lost: sent again");
        assert_ne!(again.seq, first.seq);
        // An error reply to the first (an older request) does not free the newer one's slot.
        st.forget_request(PeerId(1), first.seq);
        assert!(progress(&st, 1).in_flight.is_some());
        st.forget_request(PeerId(1), again.seq);
        assert!(progress(&st, 1).in_flight.is_none());
    }

    #[test]
    fn a_success_moves_match_and_next_from_the_request_never_backwards() {
        let mut st = leader_with_log(3, &[1, 1, 3, 3]);
        let ok = AppendEntriesReply {
            term: Term(3),
            success: true,
            conflict_term: None,
            conflict_index: 0,
        };
        let mut newer = heartbeat(0, 3);
        newer.prev_log_index = 2;
        newer.prev_log_term = Term(1);
        newer.entries = entries(&[3, 3]);
        let (effects, progressed) = st.handle_append_reply(PeerId(1), 7, &newer, &ok);
        assert!(progressed);
        assert!(effects.committed, "index 4, of our term, is on 2 of 3");
        assert_eq!(st.commit_index, 4);
        let p = progress(&st, 1);
        assert_eq!((p.match_index, p.next_index), (4, 5));
        // An older success, delivered late, moves nothing back.
        let mut older = heartbeat(0, 3);
        older.prev_log_index = 1;
        older.entries = entries(&[1]);
        let (effects, progressed) = st.handle_append_reply(PeerId(1), 3, &older, &ok);
        assert!(!progressed && effects == Effects::default());
        let p = progress(&st, 1);
        assert_eq!((p.match_index, p.next_index), (4, 5));
    }

    #[test]
    fn backed_up_next_index_uses_the_hints() {
        let leader_log = leader_with_log(6, &[1, 1, 4, 4, 4, 5]).log;
        let refusal = |term: Option<u64>, index: u64| AppendEntriesReply {
            term: Term(6),
            success: false,
            conflict_term: term.map(Term),
            conflict_index: index,
        };
        // The follower's log is too short: resume at its length.
        assert_eq!(backed_up_next_index(&leader_log, 6, &refusal(None, 3)), 3);
        // The follower has term 4 where we have term 5, and we have term 4 too: resume just
        // after our last entry of term 4.
        assert_eq!(
            backed_up_next_index(&leader_log, 6, &refusal(Some(4), 3)),
            6
        );
        // The follower has term 2 (from index 2 on); we have no term 2: skip its whole run.
        assert_eq!(
            backed_up_next_index(&leader_log, 5, &refusal(Some(2), 2)),
            2
        );
        // Never at or above the refused position, never below the first entry.
        assert_eq!(backed_up_next_index(&leader_log, 4, &refusal(None, 9)), 4);
        assert_eq!(
            backed_up_next_index(&leader_log, 4, &refusal(Some(4), 1)),
            4
        );
        assert_eq!(
            backed_up_next_index(&leader_log, 3, &refusal(Some(2), 0)),
            1
        );
        // With a snapshot through 4, a follower whose log ends at 2 is sent back below the
        // base: it needs the snapshot.
        let mut compacted = leader_log.clone();
        assert!(compacted.compact(4));
        assert_eq!(backed_up_next_index(&compacted, 6, &refusal(None, 3)), 3);
    }

    #[test]
    fn a_refusal_backs_up_but_a_stale_one_is_ignored() {
        let mut st = leader_with_log(3, &[1, 1, 1, 1, 1]);
        assert_eq!(progress(&st, 1).next_index, 6);
        let mut args = heartbeat(0, 3);
        args.prev_log_index = 5;
        args.prev_log_term = Term(1);
        let too_short = AppendEntriesReply {
            term: Term(3),
            success: false,
            conflict_term: None,
            conflict_index: 3,
        };
        let (_, progressed) = st.handle_append_reply(PeerId(1), 0, &args, &too_short);
        assert!(progressed);
        assert_eq!(progress(&st, 1).next_index, 3);
        // The same refusal again (the heartbeat that went with it) makes no more progress.
        let (_, progressed) = st.handle_append_reply(PeerId(1), 1, &args, &too_short);
        assert!(!progressed);
        // Then the follower matches through 5; the old refusal, delivered late, is stale.
        let ok = AppendEntriesReply {
            success: true,
            ..too_short.clone()
        };
        let mut catch_up = heartbeat(0, 3);
        catch_up.prev_log_index = 2;
        catch_up.prev_log_term = Term(1);
        catch_up.entries = entries(&[1, 1, 1]);
        let _ = st.handle_append_reply(PeerId(1), 2, &catch_up, &ok);
        let (_, progressed) = st.handle_append_reply(PeerId(1), 0, &args, &too_short);
        assert!(!progressed);
        let p = progress(&st, 1);
        assert_eq!((p.match_index, p.next_index), (5, 6));
    }

    /// Runs the leader's requests to `to` against `follower` (reliable, in order) until the
    /// follower's log matches the leader's; returns how many requests were refused.
    fn refusals_until_caught_up(leader: &mut State, to: PeerId, follower: &mut State) -> usize {
        let mut refusals = 0;
        let mut out = leader.next_append(to, Round::Heartbeat, at(0));
        while let Some(o) = out {
            let reply = reply_to(&o.args, follower);
            if !reply.success {
                refusals += 1;
                assert!(refusals < 100, "no progress");
            }
            let (_, progressed) = leader.handle_append_reply(to, o.seq, &o.args, &reply);
            out = if progressed {
                leader.next_append(to, Round::Triggered, at(0))
            } else {
                None
            };
        }
        refusals
    }

    #[test]
    fn leader_backs_up_over_a_divergent_log_in_one_round_trip_per_conflicting_term() {
        // The follower holds 30 entries of terms 2, 3 and 4 that the leader (term 6) does not.
        let common = [1u64, 1];
        let theirs: Vec<u64> = common
            .iter()
            .copied()
            .chain([2; 10])
            .chain([3; 10])
            .chain([4; 10])
            .collect();
        let ours: Vec<u64> = common.iter().copied().chain([5; 40]).collect();
        let mut leader = leader_with_log(6, &ours);
        let mut f = peer_with_log(1, 3, 5, &theirs);
        let refusals = refusals_until_caught_up(&mut leader, PeerId(1), &mut f);
        assert_eq!(f.log, leader.log, "the follower's log is the leader's");
        // One refusal for the optimistic first heartbeat past its end, then one per term:
        // the follower's term-4 run is skipped at once, and then terms 3 and 2.
        assert!(
            refusals <= 4,
            "{refusals} refusals; one per entry would be 30"
        );
        let p = progress(&leader, 1);
        assert_eq!(p.match_index, 42);
    }

    #[test]
    fn leader_catches_up_a_short_log_in_one_round_trip() {
        let ours: Vec<u64> = [1u64; 50].to_vec();
        let mut leader = leader_with_log(2, &ours);
        let mut f = peer_with_log(1, 3, 1, &[1, 1, 1]);
        assert_eq!(refusals_until_caught_up(&mut leader, PeerId(1), &mut f), 1);
        assert_eq!(f.log, leader.log);
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
        assert!(!effects.committed, "a refused request commits nothing");
    }

    #[test]
    fn entries_after_a_matching_prev_are_stored_and_saved() {
        let mut st = follower(1, 3, 2);
        let mut args = heartbeat(0, 2);
        args.entries = entries(&[2]);
        let (reply, effects) = st.handle_append_entries(&args);
        assert!(reply.success && effects.persist);
        assert_eq!((st.log.last_index(), st.log.last_term()), (1, Term(2)));
    }

    #[test]
    fn follower_commits_min_of_leader_commit_and_its_last_new_entry() {
        let mut st = peer_with_log(1, 3, 3, &[1, 1, 1, 1]);
        let mut args = heartbeat(0, 3);
        args.prev_log_index = 1;
        args.prev_log_term = Term(1);
        args.entries = entries(&[1]);
        args.leader_commit = 4;
        let (reply, effects) = st.handle_append_entries(&args);
        assert!(reply.success && effects.committed);
        assert_eq!(
            st.commit_index, 2,
            "entries 3 and 4 were not vouched for by this request"
        );
        assert!(
            !effects.persist,
            "the matching entry changed nothing durable"
        );
    }

    #[test]
    fn a_stale_shorter_request_never_truncates_the_log() {
        let mut st = peer_with_log(1, 3, 3, &[1, 3, 3, 3]);
        let mut args = heartbeat(0, 3);
        args.prev_log_index = 1;
        args.prev_log_term = Term(1);
        args.entries = entries(&[3]);
        let (reply, effects) = st.handle_append_entries(&args);
        assert!(reply.success && !effects.persist);
        assert_eq!(st.log.last_index(), 4);
        // A real conflict does truncate, from the conflicting entry on.
        args.term = Term(4);
        args.entries = entries(&[4]);
        let (reply, effects) = st.handle_append_entries(&args);
        assert!(reply.success && effects.persist);
        assert_eq!((st.log.last_index(), st.log.last_term()), (2, Term(4)));
    }
}
