//! The applier: the one task that hands committed entries to the service, in index order, on
//! the apply channel.
//!
//! It lives as long as the peer and sleeps on the peer's `committed` signal, which is notified
//! whenever `commit_index` moves (and by `kill()`). Awake, it takes the next entry under the
//! lock ([`State::next_to_apply`]), **releases the lock**, sends it, and records it as applied
//! ([`State::applied`]). The send waits until the service takes the message (the channel has no
//! buffer, as Go's), and the service may call back into the peer meanwhile (part D's
//! `snapshot`): holding the lock across the send would deadlock.
//!
//! Being the only sender, and moving `last_applied` one index at a time (or to a snapshot's
//! index), it delivers every committed index exactly once, with no gap, from `last_applied + 1`
//! on: after a restart, from the one after the saved snapshot, which the service restores
//! itself. A snapshot installed from a leader (the log's base above `last_applied`) goes to
//! the service as [`ApplyMsg::Snapshot`] before any later command, and the command after a
//! snapshot at index `i` is `i + 1`.
//!
//! It stops when the peer is killed: it checks before every send and starts none after `kill()`
//! returns (a send already waiting for the service is abandoned, though the service may still
//! take that one message), and when the channel is closed (the service dropped its receiver).

use std::sync::Arc;

use futures::future::{select, Either};

use crate::logging::raft_event;
use crate::peer::Peer;
use crate::state::State;
use raftapi::ApplyMsg;

// The pure rules of applying.
impl State {
    /// What the service needs next, as the message to send: the snapshot at the log's base
    /// if the service's state is older than it (one installed from a leader), else the
    /// committed entry at `last_applied + 1`, if there is one.
    pub(crate) fn next_to_apply(&self) -> Option<ApplyMsg> {
        let base = self.log.base_index();
        if self.last_applied < base {
            return Some(ApplyMsg::Snapshot {
                index: base,
                term: self.log.base_term().0,
                data: self.snapshot.clone(),
            });
        }
        if self.last_applied >= self.commit_index {
            return None;
        }
        let index = self.last_applied + 1;
        // Entries above the base are in the log, and last_applied is at or above the base.
        let entry = self.log.entry(index)?;
        Some(ApplyMsg::Command {
            index,
            term: entry.term.0,
            command: entry.command.clone(),
        })
    }

    /// Records that `msg` was taken by the service. A command moves `last_applied` only if it
    /// is the next index, so a repeat or a gap is impossible; a snapshot moves it to its index,
    /// never back.
    pub(crate) fn applied(&mut self, msg: &ApplyMsg) {
        match *msg {
            ApplyMsg::Command { index, .. } if index == self.last_applied + 1 => {
                self.last_applied = index;
            }
            ApplyMsg::Command { .. } => {}
            ApplyMsg::Snapshot { index, .. } => {
                self.last_applied = self.last_applied.max(index);
            }
        }
    }
}

impl Peer {
    /// The applier task (see the module documentation).
    pub(crate) async fn applier(self: Arc<Self>) {
        loop {
            // Read before looking at the state, so a commit from now on wakes the wait below.
            let seen = self.committed.generation();
            let stop_seen = self.stop.generation();
            let next = {
                let st = self.state.lock();
                if self.killed() {
                    return;
                }
                st.next_to_apply().map(|msg| (msg, st.term))
            };
            let Some((msg, term)) = next else {
                self.committed.changed_since(seen).await;
                continue;
            };
            let index = msg.index();
            // What to record once it is taken: the kind and index, not the bytes.
            let record = match &msg {
                ApplyMsg::Command { index, term, .. } => ApplyMsg::Command {
                    index: *index,
                    term: *term,
                    command: Vec::new(),
                },
                ApplyMsg::Snapshot { index, term, .. } => ApplyMsg::Snapshot {
                    index: *index,
                    term: *term,
                    data: Vec::new(),
                },
            };
            // The lock is not held here: the send waits for the service.
            let send = std::pin::pin!(self.apply_tx.send(msg));
            let stopped = std::pin::pin!(self.stop.changed_since(stop_seen));
            match select(send, stopped).await {
                Either::Left((Ok(()), _)) => {}
                Either::Left((Err(closed), _)) => {
                    raft_event!(info, self.me, term, Apply, "{closed}; the applier stops");
                    return;
                }
                Either::Right(((), _)) => return,
            }
            let mut st = self.state.lock();
            st.applied(&record);
            raft_event!(
                trace,
                self.me,
                st.term,
                Apply,
                "applied index {index} (commit index {})",
                st.commit_index
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tests::follower;
    use raftapi::LogEntry;
    use raftapi::Term;

    fn with_log(terms: &[u64]) -> State {
        let mut st = follower(0, 3, 5);
        for (i, &t) in terms.iter().enumerate() {
            st.log.append(LogEntry {
                term: Term(t),
                command: vec![i as u8 + 1],
            });
        }
        st
    }

    #[test]
    fn nothing_is_applied_before_it_is_committed() {
        let st = with_log(&[1, 1]);
        assert_eq!(st.next_to_apply(), None);
    }

    #[test]
    fn committed_entries_are_applied_in_index_order_once_each() {
        let mut st = with_log(&[1, 1, 2]);
        st.commit_index = 2;
        let mut got = Vec::new();
        while let Some(msg) = st.next_to_apply() {
            got.push(msg.clone());
            st.applied(&msg);
            st.applied(&msg); // a repeat changes nothing
        }
        assert_eq!(
            got,
            vec![
                ApplyMsg::Command {
                    index: 1,
                    term: 1,
                    command: vec![1]
                },
                ApplyMsg::Command {
                    index: 2,
                    term: 1,
                    command: vec![2]
                },
            ]
        );
        st.commit_index = 3;
        assert_eq!(st.next_to_apply().map(|m| m.index()), Some(3));
    }

    #[test]
    fn applied_never_skips_an_index() {
        let mut st = with_log(&[1, 1, 1]);
        st.commit_index = 3;
        st.applied(&ApplyMsg::Command {
            index: 2,
            term: 1,
            command: vec![2],
        });
        assert_eq!(st.last_applied, 0, "index 1 has not been applied yet");
        assert_eq!(st.next_to_apply().map(|m| m.index()), Some(1));
    }
}
