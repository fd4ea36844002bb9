//! Snapshots (part D): the service's [`Raft::snapshot`](crate::Raft::snapshot), and the third
//! per-peer sender of the replication layer, `InstallSnapshot`, with its receiver.
//!
//! # The service snapshots
//!
//! The service calls `snapshot(index, data)` when its state through `index` is in `data`: the
//! peer discards its log through `index` ([`Log::compact`](crate::log::Log)) and saves state and
//! snapshot together. The tester calls it from its applier task, right after it takes the
//! message at `index` and before it takes the next: the peer's applier may be waiting to send
//! that next message, so `snapshot` only takes the lock (which the applier never holds while it
//! sends) and never waits for the apply channel.
//!
//! # A follower that needs discarded entries
//!
//! When a follower's `next_index` is at or below the leader's base, the entries it needs are
//! gone: [`State::next_request`] sends the whole snapshot in one `InstallSnapshot` instead of an
//! `AppendEntries`, with the same single slot in flight per follower. The sender aligns terms
//! and checks the context (still leader of the request's term) before it moves the follower's
//! `match_index` to the snapshot's index ([`State::handle_install_reply`]).
//!
//! The receiver ([`State::handle_install_snapshot`]) rejects older terms and follows the
//! leader like `AppendEntries`; it ignores a snapshot that covers nothing it has not already
//! committed, and otherwise keeps the entries after the snapshot when its log holds the
//! snapshot's last entry, and discards its log when not ([`Log::install`](crate::log::Log)).
//! The applier then hands the snapshot to the service before any later command.

use std::sync::Arc;

use labrpc::runtime::{self, Instant};

use crate::logging::raft_event;
use crate::peer::Peer;
use crate::replication::{Outgoing, Round};
use crate::rpc;
use crate::state::{Effects, InFlight, Role, State, TermCheck};
use crate::timing::APPEND_RESEND_AFTER;
use raftapi::PeerId;
use raftapi::{InstallSnapshotArgs, InstallSnapshotReply};

/// One `InstallSnapshot` to send, and the number that tells its reply apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OutgoingSnapshot {
    /// The follower.
    pub(crate) to: PeerId,
    /// The request's number among those sent to `to` in this term.
    pub(crate) seq: u64,
    /// The request.
    pub(crate) args: InstallSnapshotArgs,
}

/// What a leader sends a follower next: entries (or a heartbeat), or its snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Request {
    /// An `AppendEntries`.
    Append(Outgoing),
    /// An `InstallSnapshot`.
    Install(OutgoingSnapshot),
}

/// Why a service's snapshot was not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SnapshotRefused {
    /// The log's base is already at or past `index`: an older snapshot.
    Older {
        /// The log's base.
        base: u64,
    },
    /// `index` is not committed: the service cannot have applied it.
    NotCommitted {
        /// The commit index.
        commit: u64,
    },
}

// The pure rules of snapshots.
impl State {
    /// The service's snapshot through `index`: discards the log through `index`, keeps `data`
    /// and asks for both to be saved together. The service has everything through `index`,
    /// so `last_applied` moves there if the applier has not recorded it yet.
    pub(crate) fn take_snapshot(
        &mut self,
        index: u64,
        data: Vec<u8>,
    ) -> Result<Effects, SnapshotRefused> {
        let base = self.log.base_index();
        if index <= base {
            return Err(SnapshotRefused::Older { base });
        }
        if index > self.commit_index || !self.log.compact(index) {
            return Err(SnapshotRefused::NotCommitted {
                commit: self.commit_index,
            });
        }
        self.snapshot = data;
        self.last_applied = self.last_applied.max(index);
        raft_event!(
            debug,
            self.me,
            self.term,
            Persist,
            "the service snapshotted through index {index}: log trimmed, {} entries left",
            self.log.last_index() - index
        );
        Ok(Effects {
            persist: true,
            snapshot: true,
            ..Effects::default()
        })
    }

    /// What a leader sends follower `to` next in a round of kind `round` at time `now`: its
    /// snapshot when the follower needs entries at or below the log's base and no request
    /// with entries (or a snapshot) is in flight, else what
    /// [`next_append`](State::next_append) gives (a heartbeat while the snapshot is on its
    /// way).
    pub(crate) fn next_request(
        &mut self,
        to: PeerId,
        round: Round,
        now: Instant,
    ) -> Option<Request> {
        let (term, me, base) = (self.term, self.me, self.log.base_index());
        let Role::Leader(leader) = &mut self.role else {
            return None;
        };
        let progress = leader.progress.get_mut(to.index())?;
        let in_flight = progress
            .in_flight
            .is_some_and(|f| now.duration_since(f.sent_at) < APPEND_RESEND_AFTER);
        if progress.next_index > base || in_flight {
            return self.next_append(to, round, now).map(Request::Append);
        }
        let seq = progress.next_seq;
        progress.next_seq += 1;
        progress.in_flight = Some(InFlight { seq, sent_at: now });
        let args = InstallSnapshotArgs {
            term,
            leader_id: me,
            last_included_index: base,
            last_included_term: self.log.base_term(),
            data: self.snapshot.clone(),
            ..Default::default()
        };
        raft_event!(
            debug,
            me,
            term,
            Append,
            "{to} needs index {} but the log starts after {base}: sending the snapshot ({} bytes)",
            progress.next_index,
            args.data.len()
        );
        Some(Request::Install(OutgoingSnapshot { to, seq, args }))
    }

    /// A leader acts on `to`'s reply to its `InstallSnapshot` `seq` (`args`); call only after
    /// aligning terms and checking that this peer still leads `args.term`. The follower now
    /// holds everything through the snapshot: `match_index` moves there (never back), and
    /// `next_index` just after it. Returns the effects and whether the reply made progress.
    pub(crate) fn handle_install_reply(
        &mut self,
        to: PeerId,
        seq: u64,
        args: &InstallSnapshotArgs,
    ) -> (Effects, bool) {
        let mut effects = Effects::default();
        let Role::Leader(leader) = &mut self.role else {
            return (effects, false);
        };
        let Some(progress) = leader.progress.get_mut(to.index()) else {
            return (effects, false);
        };
        if progress.in_flight.is_some_and(|f| f.seq == seq) {
            progress.in_flight = None;
        }
        let matched = args.last_included_index;
        if matched <= progress.match_index {
            return (effects, false);
        }
        progress.match_index = matched;
        progress.next_index = progress.next_index.max(matched + 1);
        raft_event!(
            debug,
            self.me,
            self.term,
            Append,
            "{to} installed our snapshot through index {matched}"
        );
        effects.committed = self.advance_leader_commit();
        effects.replicate = effects.committed;
        (effects, true)
    }

    /// The `InstallSnapshot` receiver: rejects older terms; otherwise follows the sender as the
    /// leader of our term (and resets the election timer). A snapshot that covers nothing
    /// beyond our commit index is older than what we have and is ignored. Otherwise the log
    /// keeps its entries after the snapshot if it holds the snapshot's last entry, and is
    /// discarded if not; the snapshot is saved with the state, everything it covers is
    /// committed, and the applier will hand it to the service before any later command.
    pub(crate) fn handle_install_snapshot(
        &mut self,
        args: InstallSnapshotArgs,
    ) -> (InstallSnapshotReply, Effects) {
        let mut effects = Effects::default();
        let leader = args.leader_id;
        if self.align_term(args.term, leader, &mut effects) == TermCheck::Stale {
            raft_event!(
                info,
                self.me,
                self.term,
                Append,
                "rejected InstallSnapshot from {leader}: its term {} is older than our {}",
                args.term,
                self.term
            );
            return (
                InstallSnapshotReply {
                    term: self.term,
                    ..Default::default()
                },
                effects,
            );
        }
        if !matches!(self.role, Role::Follower) {
            raft_event!(
                info,
                self.me,
                self.term,
                Term,
                "{leader} leads term {}: {} becomes follower",
                self.term,
                self.role.name()
            );
            self.role = Role::Follower;
        }
        effects.reset_timer = true;
        let index = args.last_included_index;
        if index <= self.commit_index {
            raft_event!(
                debug,
                self.me,
                self.term,
                Append,
                "ignored {leader}'s snapshot through index {index}: already committed through {}",
                self.commit_index
            );
            return (
                InstallSnapshotReply {
                    term: self.term,
                    ..Default::default()
                },
                effects,
            );
        }
        if self.log.install(index, args.last_included_term) {
            self.snapshot = args.data;
            self.commit_index = index;
            effects.persist = true;
            effects.snapshot = true;
            effects.committed = true;
            raft_event!(
                info,
                self.me,
                self.term,
                Append,
                "installed {leader}'s snapshot through index {index} (term {}); log now ends at \
                 {}",
                args.last_included_term,
                self.log.last_index()
            );
        }
        (
            InstallSnapshotReply {
                term: self.term,
                ..Default::default()
            },
            effects,
        )
    }
}

// The sender and the receiver's locking shell.
impl Peer {
    /// Layer 3 for a snapshot: sends one `InstallSnapshot` and acts on the reply; returns the
    /// follower's next request, if it should go at once.
    pub(crate) async fn send_install(self: &Arc<Self>, out: OutgoingSnapshot) -> Option<Request> {
        let OutgoingSnapshot { to, seq, args } = out;
        let Some((mut st, _reply)) = self
            .call_and_align::<_, InstallSnapshotReply>(to, rpc::INSTALL_SNAPSHOT, &args)
            .await
        else {
            self.state.lock().forget_request(to, seq);
            return None;
        };
        if !st.is_leader_of(args.term) {
            raft_event!(
                trace,
                self.me,
                st.term,
                Append,
                "ignored {to}'s reply to InstallSnapshot of term {}: now {} in term {}",
                args.term,
                st.role.name(),
                st.term
            );
            return None;
        }
        let (effects, progressed) = st.handle_install_reply(to, seq, &args);
        self.carry_out(&mut st, effects);
        if !progressed {
            return None;
        }
        st.next_request(to, Round::Triggered, runtime::now())
    }

    /// The `InstallSnapshot` receiver (the handler of `"Raft.InstallSnapshot"`).
    pub(crate) fn install_snapshot(&self, args: InstallSnapshotArgs) -> InstallSnapshotReply {
        let mut st = self.state.lock();
        let (reply, effects) = st.handle_install_snapshot(args);
        self.carry_out(&mut st, effects);
        reply
    }

    /// The service's snapshot (see [`Raft::snapshot`](crate::Raft::snapshot)).
    pub(crate) fn snapshot(&self, index: u64, data: Vec<u8>) {
        let mut st = self.state.lock();
        match st.take_snapshot(index, data) {
            Ok(effects) => self.carry_out(&mut st, effects),
            Err(SnapshotRefused::Older { base }) => raft_event!(
                debug,
                self.me,
                st.term,
                Persist,
                "ignored the service's snapshot through index {index}: the log already starts \
                 after {base}"
            ),
            Err(SnapshotRefused::NotCommitted { commit }) => raft_event!(
                error,
                self.me,
                st.term,
                Error,
                "the service snapshotted through index {index}, but only {commit} is committed \
                 here: ignored"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::state::tests::follower;
    use raftapi::ApplyMsg;
    use raftapi::Term;
    use raftapi::{AppendEntriesReply, LogEntry};

    fn entry(term: u64, x: u8) -> LogEntry {
        LogEntry {
            term: Term(term),
            command: vec![x],
        }
    }

    fn with_log(me: usize, term: u64, terms: &[u64]) -> State {
        let mut st = follower(me, 3, term);
        for (i, &t) in terms.iter().enumerate() {
            st.log.append(entry(t, i as u8 + 1));
        }
        st
    }

    fn at(ms: u64) -> Instant {
        Instant::START + Duration::from_millis(ms)
    }

    fn install(term: u64, index: u64, last_term: u64) -> InstallSnapshotArgs {
        InstallSnapshotArgs {
            term: Term(term),
            leader_id: PeerId(0),
            last_included_index: index,
            last_included_term: Term(last_term),
            data: vec![index as u8; 4],
        }
    }

    #[test]
    fn the_service_snapshot_trims_the_log_and_saves_both() {
        let mut st = with_log(1, 2, &[1, 1, 2, 2, 2]);
        st.commit_index = 4;
        st.last_applied = 3;
        let effects = st.take_snapshot(3, b"s3".to_vec()).expect("taken");
        assert!(effects.persist && effects.snapshot);
        assert_eq!((st.log.base_index(), st.log.base_term()), (3, Term(2)));
        assert_eq!(st.snapshot, b"s3");
        assert_eq!(
            st.log.last_index(),
            5,
            "entries after the snapshot are kept"
        );
        assert_eq!(
            st.take_snapshot(2, vec![]),
            Err(SnapshotRefused::Older { base: 3 })
        );
        assert_eq!(
            st.take_snapshot(5, vec![]),
            Err(SnapshotRefused::NotCommitted { commit: 4 })
        );
    }

    #[test]
    fn a_snapshot_of_the_message_in_flight_counts_it_applied_once() {
        // The service took index 4 and snapshots before the applier recorded it.
        let mut st = with_log(1, 2, &[1, 1, 2, 2, 2]);
        st.commit_index = 5;
        st.last_applied = 3;
        let _ = st.take_snapshot(4, b"s4".to_vec()).expect("taken");
        assert_eq!(st.last_applied, 4);
        st.applied(&ApplyMsg::Command {
            index: 4,
            term: 2,
            command: vec![4],
        });
        assert_eq!(st.last_applied, 4, "recording it late changes nothing");
        assert_eq!(st.next_to_apply().map(|m| m.index()), Some(5));
    }

    #[test]
    fn install_ignores_older_terms_and_older_snapshots() {
        let mut st = with_log(1, 5, &[1, 1, 2]);
        let (reply, effects) = st.handle_install_snapshot(install(4, 3, 2));
        assert_eq!(reply.term, Term(5));
        assert_eq!(effects, Effects::default(), "an older term changes nothing");
        st.commit_index = 3;
        let before = st.log.clone();
        let (_, effects) = st.handle_install_snapshot(install(5, 2, 1));
        assert!(effects.reset_timer, "still the leader of our term");
        assert!(!effects.persist && !effects.committed);
        assert_eq!(st.log, before, "already committed: ignored");
    }

    #[test]
    fn install_keeps_matching_entries_after_the_snapshot() {
        let mut st = with_log(1, 3, &[1, 1, 2, 3, 3]);
        st.commit_index = 1;
        let (_, effects) = st.handle_install_snapshot(install(3, 3, 2));
        assert!(effects.persist && effects.snapshot && effects.committed);
        assert_eq!((st.log.base_index(), st.log.last_index()), (3, 5));
        assert_eq!(st.commit_index, 3);
        assert_eq!(st.snapshot, vec![3; 4]);
    }

    #[test]
    fn install_discards_a_conflicting_log() {
        let mut st = with_log(1, 3, &[1, 1, 1, 1]);
        let (_, effects) = st.handle_install_snapshot(install(3, 3, 2));
        assert!(effects.persist);
        assert_eq!((st.log.base_index(), st.log.last_index()), (3, 3));
        assert_eq!(st.log.last_term(), Term(2));
    }

    #[test]
    fn apply_order_across_an_installed_snapshot_has_no_gap_and_no_repeat() {
        let mut st = with_log(1, 3, &[1, 1, 1]);
        st.commit_index = 2;
        // Index 1 is on its way to the service when a snapshot through 6 arrives.
        let first = st.next_to_apply().expect("index 1");
        assert_eq!(first.index(), 1);
        let mut args = install(3, 6, 2);
        args.data = b"snap6".to_vec();
        let _ = st.handle_install_snapshot(args);
        let mut log = vec![first.clone()];
        st.applied(&first);
        st.log.append(entry(3, 7));
        st.commit_index = 7;
        while let Some(msg) = st.next_to_apply() {
            st.applied(&msg);
            log.push(msg);
        }
        assert_eq!(
            log,
            vec![
                ApplyMsg::Command {
                    index: 1,
                    term: 1,
                    command: vec![1]
                },
                ApplyMsg::Snapshot {
                    index: 6,
                    term: 2,
                    data: b"snap6".to_vec()
                },
                ApplyMsg::Command {
                    index: 7,
                    term: 3,
                    command: vec![7]
                },
            ]
        );
    }

    fn leader_with_snapshot() -> State {
        // Peer 0 of 3 leads term 3 with a snapshot through 5 and entries 6, 7.
        let mut st = with_log(0, 2, &[1, 1, 2, 2, 2, 2, 2]);
        st.commit_index = 7;
        st.last_applied = 7;
        let _ = st.take_snapshot(5, b"s5".to_vec()).expect("taken");
        let _ = st.become_candidate();
        st.become_leader();
        st
    }

    fn progress(st: &State, to: usize) -> crate::state::Progress {
        match &st.role {
            Role::Leader(l) => l.progress[to].clone(),
            _ => panic!("not a leader"),
        }
    }

    #[test]
    fn a_follower_behind_the_base_gets_the_snapshot_then_entries() {
        let mut st = leader_with_snapshot();
        // S1 refused the first heartbeat: its log ends at 2.
        if let Role::Leader(l) = &mut st.role {
            l.progress[1].next_index = 3;
        }
        let Some(Request::Install(out)) = st.next_request(PeerId(1), Round::Heartbeat, at(0))
        else {
            panic!("expected a snapshot");
        };
        assert_eq!(
            (out.args.last_included_index, out.args.last_included_term),
            (5, Term(2))
        );
        assert_eq!(out.args.data, b"s5");
        // One in flight: a heartbeat meanwhile carries no entries, a triggered round nothing.
        let Some(Request::Append(beat)) = st.next_request(PeerId(1), Round::Heartbeat, at(10))
        else {
            panic!("expected a heartbeat");
        };
        assert!(beat.args.entries.is_empty());
        assert_eq!(st.next_request(PeerId(1), Round::Triggered, at(10)), None);
        let (_, progressed) = st.handle_install_reply(PeerId(1), out.seq, &out.args);
        assert!(progressed);
        let p = progress(&st, 1);
        assert_eq!((p.match_index, p.next_index), (5, 6));
        let Some(Request::Append(next)) = st.next_request(PeerId(1), Round::Triggered, at(20))
        else {
            panic!("expected entries 6 and 7");
        };
        assert_eq!(next.args.prev_log_index, 5);
        assert_eq!(next.args.entries.len(), 2);
        // A late duplicate reply moves nothing back.
        let (_, progressed) = st.handle_install_reply(PeerId(1), out.seq, &out.args);
        assert!(!progressed);
    }

    #[test]
    fn a_refusal_may_back_up_below_the_base_to_reach_the_snapshot() {
        let mut st = leader_with_snapshot();
        let Some(Request::Append(beat)) = st.next_request(PeerId(2), Round::Heartbeat, at(0))
        else {
            panic!("a heartbeat first");
        };
        assert_eq!(beat.args.prev_log_index, 7);
        let too_short = AppendEntriesReply {
            term: Term(3),
            success: false,
            conflict_term: None,
            conflict_index: 2,
        };
        let (_, progressed) = st.handle_append_reply(PeerId(2), beat.seq, &beat.args, &too_short);
        assert!(progressed);
        assert_eq!(progress(&st, 2).next_index, 2);
        assert!(matches!(
            st.next_request(PeerId(2), Round::Triggered, at(1)),
            Some(Request::Install(_))
        ));
    }
}
