//! The rules for releasing waiting submits, as pure functions of the waiters and what the rsm
//! learns: an entry applied, a snapshot installed, the term or role seen, a shutdown. The
//! locking shell ([`super::RsmServer`]) calls them and wakes the submits.
//!
//! A submit waits at the index `start()` gave it. It is released with its result when its own
//! entry is applied there, and with an error as soon as it is certain its entry will not be:
//! another entry applied at its index (a new leader overwrote it), a snapshot past its index
//! (the entry went by without this peer executing it), a term other than the one it started in,
//! or the loss of leadership, or a shutdown. So no submit waits for good (the classic lab bug:
//! a leader in a minority keeps its waiters until the clients give up).

use std::collections::BTreeMap;

use raftapi::rsm::SubmitError;

use super::op::OpId;

/// One waiting submit.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Waiter {
    id: OpId,
    term: u64,
    /// Set once the submit is released; taken by the submit.
    outcome: Option<Result<Vec<u8>, SubmitError>>,
}

/// Every waiting submit of one peer, by the index `start()` returned.
#[derive(Debug, Default)]
pub struct Waiters {
    at: BTreeMap<u64, Waiter>,
    closed: bool,
}

impl Waiters {
    /// No one waiting.
    pub fn new() -> Waiters {
        Waiters::default()
    }

    /// Records a submit that `start()` placed at `index` in `term`. A shut-down rsm releases it
    /// at once. Raft gives each index to one `start()` per term, and a later term's `start()` at
    /// the same index means the earlier entry was overwritten: its waiter is released.
    pub fn wait(&mut self, index: u64, term: u64, id: OpId) {
        let outcome = self.closed.then_some(Err(SubmitError::Shutdown));
        // A waiter already at `index` belongs to an entry this start() overwrote: its submit
        // finds its id gone and is released ([`take`](Waiters::take)).
        self.at.insert(index, Waiter { id, term, outcome });
    }

    /// The entry `id` was applied at `index` with `result`: its waiter gets the result; a waiter
    /// at `index` for another entry lost its leadership.
    pub fn applied(&mut self, index: u64, id: Option<OpId>, result: &[u8]) {
        if let Some(w) = self.at.get_mut(&index) {
            if w.outcome.is_none() {
                w.outcome = Some(if Some(w.id) == id {
                    Ok(result.to_vec())
                } else {
                    Err(SubmitError::LostLeadership {
                        index,
                        term: w.term,
                        why: "another request was applied at its index".to_string(),
                    })
                });
            }
        }
    }

    /// A snapshot through `index` replaced the state: waiters at or before it will never see
    /// their entry applied here.
    pub fn snapshot_installed(&mut self, index: u64) {
        for (&i, w) in self.at.range_mut(..=index) {
            if w.outcome.is_none() {
                w.outcome = Some(Err(SubmitError::LostLeadership {
                    index: i,
                    term: w.term,
                    why: format!("a snapshot through index {index} was installed instead"),
                }));
            }
        }
    }

    /// The peer's Raft now says `(term, is_leader)`: waiters of another term, or of any term
    /// once it is no longer leader, are released.
    pub fn state_seen(&mut self, term: u64, is_leader: bool) {
        for (&i, w) in self.at.iter_mut() {
            if w.outcome.is_none() && (w.term != term || !is_leader) {
                let why = if w.term != term {
                    format!("the term is now {term}")
                } else {
                    "the peer is no longer the leader".to_string()
                };
                w.outcome = Some(Err(SubmitError::LostLeadership {
                    index: i,
                    term: w.term,
                    why,
                }));
            }
        }
    }

    /// The rsm shut down: every waiter is released, and later ones at once.
    pub fn close(&mut self) {
        self.closed = true;
        for w in self.at.values_mut() {
            if w.outcome.is_none() {
                w.outcome = Some(Err(SubmitError::Shutdown));
            }
        }
    }

    /// Whether [`close`](Waiters::close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The outcome of the submit `id` waiting at `index`, if it is released: removes it.
    pub fn take(&mut self, index: u64, id: OpId) -> Option<Result<Vec<u8>, SubmitError>> {
        match self.at.get(&index) {
            Some(w) if w.id == id && w.outcome.is_some() => {
                self.at.remove(&index).and_then(|w| w.outcome)
            }
            Some(w) if w.id == id => None,
            // Replaced by a later term's start() at the same index: that start means this
            // entry was overwritten.
            _ => Some(Err(SubmitError::LostLeadership {
                index,
                term: 0,
                why: "a later start() was given its index".to_string(),
            })),
        }
    }

    /// How many submits wait (released or not).
    pub fn len(&self) -> usize {
        self.at.len()
    }

    /// Whether no submit waits.
    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(seq: u64) -> OpId {
        OpId {
            server: 0,
            life: 1,
            seq,
        }
    }

    #[test]
    fn a_submit_gets_the_result_of_its_own_entry() {
        let mut w = Waiters::new();
        w.wait(3, 1, id(1));
        assert_eq!(w.take(3, id(1)), None, "not applied yet");
        w.applied(3, Some(id(1)), b"r");
        assert_eq!(w.take(3, id(1)), Some(Ok(b"r".to_vec())));
        assert!(w.is_empty());
    }

    #[test]
    fn another_entry_at_its_index_releases_it_with_wrong_leader() {
        let mut w = Waiters::new();
        w.wait(3, 1, id(1));
        w.applied(3, Some(id(9)), b"r");
        assert!(matches!(
            w.take(3, id(1)),
            Some(Err(SubmitError::LostLeadership { index: 3, .. }))
        ));
    }

    #[test]
    fn a_new_term_or_a_lost_leadership_releases_it() {
        let mut w = Waiters::new();
        w.wait(3, 1, id(1));
        w.wait(4, 1, id(2));
        w.state_seen(1, true);
        assert_eq!(
            w.take(3, id(1)),
            None,
            "same term, still leader: keep waiting"
        );
        w.state_seen(2, false);
        assert!(matches!(
            w.take(3, id(1)),
            Some(Err(SubmitError::LostLeadership { .. }))
        ));
        assert!(matches!(
            w.take(4, id(2)),
            Some(Err(SubmitError::LostLeadership { .. }))
        ));
        let mut w = Waiters::new();
        w.wait(3, 1, id(1));
        w.state_seen(1, false);
        assert!(matches!(w.take(3, id(1)), Some(Err(_))));
    }

    #[test]
    fn a_snapshot_releases_waiters_it_passed_only() {
        let mut w = Waiters::new();
        w.wait(3, 1, id(1));
        w.wait(9, 1, id(2));
        w.snapshot_installed(5);
        assert!(matches!(w.take(3, id(1)), Some(Err(_))));
        assert_eq!(w.take(9, id(2)), None);
    }

    #[test]
    fn a_shutdown_releases_everyone_now_and_later() {
        let mut w = Waiters::new();
        w.wait(3, 1, id(1));
        w.close();
        assert_eq!(w.take(3, id(1)), Some(Err(SubmitError::Shutdown)));
        w.wait(4, 1, id(2));
        assert_eq!(w.take(4, id(2)), Some(Err(SubmitError::Shutdown)));
        assert!(w.is_closed());
    }

    #[test]
    fn a_later_start_at_the_same_index_releases_the_earlier_submit() {
        let mut w = Waiters::new();
        w.wait(3, 1, id(1));
        w.wait(3, 2, id(2));
        assert!(matches!(w.take(3, id(1)), Some(Err(_))));
        assert_eq!(w.take(3, id(2)), None);
    }
}
