//! A correct follower's log, kept by the tester for a scripted peer: it answers the
//! `AppendEntries` of the peer under test as Figure 2's receiver does, with the conflict hints
//! the `raft` crate's reply type documents, and remembers every probe it answered (for the
//! fast back-up grader).

use std::sync::Arc;

use parking_lot::Mutex;
use raftapi::{
    AppendEntriesArgs, AppendEntriesReply, InstallSnapshotArgs, InstallSnapshotReply, Term,
};

use super::script::{Answer, AppendScript, SnapshotScript};

/// One `AppendEntries` a model follower answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The request's term.
    pub term: u64,
    /// Its `prev_log_index`.
    pub prev_log_index: u64,
    /// How many entries it carried.
    pub entries: u64,
    /// Whether the model accepted it.
    pub success: bool,
}

/// A follower's term and log (the terms of its entries; index 0 is the dummy entry of term 0).
#[derive(Clone, Debug)]
pub struct ModelFollower {
    term: u64,
    log: Vec<u64>,
    /// The last index its snapshot covers (0 without one): the terms before it are unknown.
    base: u64,
    probes: Vec<Probe>,
}

impl ModelFollower {
    /// A follower in term 0 whose log holds entries of `terms` at indices 1, 2, ...
    pub fn new(terms: &[u64]) -> ModelFollower {
        let mut log = vec![0];
        log.extend_from_slice(terms);
        ModelFollower {
            term: 0,
            log,
            base: 0,
            probes: Vec::new(),
        }
    }

    /// Whether its log holds the leader's log whose entries have `terms` (index 1 first): the
    /// same term at every index from its snapshot's last on (what the snapshot covers matches,
    /// being committed).
    pub fn holds(&self, terms: &[u64]) -> bool {
        let base = self.base as usize;
        self.log.len() > terms.len()
            && (base.max(1)..=terms.len()).all(|i| self.log[i] == terms[i - 1])
    }

    /// The last index its snapshot covers (0 without one).
    pub fn snapshot_base(&self) -> u64 {
        self.base
    }

    /// Answers `args` as Figure 13's receiver: an older term is refused; a snapshot older than
    /// what it holds changes nothing; otherwise it keeps the entries after the snapshot's last
    /// entry when it holds that entry, and discards its log when not.
    pub fn install(&mut self, args: &InstallSnapshotArgs) -> InstallSnapshotReply {
        if args.term.0 >= self.term {
            self.term = args.term.0;
            let index = args.last_included_index;
            let last_term = args.last_included_term.0;
            if index > self.base {
                let holds = self.log.get(index as usize) == Some(&last_term);
                if !holds {
                    // What the snapshot covers is unknown here: term 0 stands for it.
                    self.log = vec![0; index as usize];
                    self.log.push(last_term);
                }
                self.base = index;
            }
        }
        InstallSnapshotReply {
            term: Term(self.term),
            ..Default::default()
        }
    }

    /// The terms of its entries, from index 1 on.
    pub fn terms(&self) -> &[u64] {
        &self.log[1..]
    }

    /// The index of its last entry.
    pub fn last_index(&self) -> u64 {
        self.log.len() as u64 - 1
    }

    /// Every `AppendEntries` it answered, in order.
    pub fn probes(&self) -> &[Probe] {
        &self.probes
    }

    /// Answers `args` as Figure 2's receiver: an older term is refused; otherwise the term is
    /// adopted, the consistency check decides, entries are stored (truncating only at a real
    /// conflict); a refusal carries the hints of [`raftapi::AppendEntriesReply`].
    pub fn answer(&mut self, args: &AppendEntriesArgs) -> AppendEntriesReply {
        let refuse =
            |term: u64, conflict_term: Option<u64>, conflict_index: u64| AppendEntriesReply {
                term: Term(term),
                success: false,
                conflict_term: conflict_term.map(Term),
                conflict_index,
                ..Default::default()
            };
        if args.term.0 < self.term {
            return refuse(self.term, None, 0);
        }
        self.term = args.term.0;
        let prev = args.prev_log_index;
        let mut probe = Probe {
            term: args.term.0,
            prev_log_index: prev,
            entries: args.entries.len() as u64,
            success: false,
        };
        let reply = if prev > self.last_index() {
            refuse(self.term, None, self.log.len() as u64)
        } else if self.log[prev as usize] != args.prev_log_term.0 {
            let here = self.log[prev as usize];
            let first = self.log.iter().position(|&t| t == here).unwrap_or(0) as u64;
            refuse(self.term, Some(here), first.max(1))
        } else {
            for (k, e) in args.entries.iter().enumerate() {
                let i = prev as usize + 1 + k;
                match self.log.get(i) {
                    Some(&t) if t == e.term.0 => {}
                    Some(_) => {
                        self.log.truncate(i);
                        self.log.push(e.term.0);
                    }
                    None => self.log.push(e.term.0),
                }
            }
            probe.success = true;
            AppendEntriesReply {
                term: Term(self.term),
                success: true,
                conflict_term: None,
                conflict_index: 0,
                ..Default::default()
            }
        };
        self.probes.push(probe);
        reply
    }
}

/// A script that answers every `AppendEntries` at once as `model` does.
pub fn model_appends(model: &Arc<Mutex<ModelFollower>>) -> AppendScript {
    let model = model.clone();
    Arc::new(move |args| Answer::Now(model.lock().answer(args)))
}

/// A script that answers every `InstallSnapshot` at once as `model` does.
pub fn model_snapshots(model: &Arc<Mutex<ModelFollower>>) -> SnapshotScript {
    let model = model.clone();
    Arc::new(move |args| Answer::Now(model.lock().install(args)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use raftapi::{LogEntry, PeerId};

    fn append(term: u64, prev: u64, prev_term: u64, terms: &[u64]) -> AppendEntriesArgs {
        AppendEntriesArgs {
            term: Term(term),
            leader_id: PeerId(0),
            prev_log_index: prev,
            prev_log_term: Term(prev_term),
            entries: terms
                .iter()
                .map(|&t| LogEntry {
                    term: Term(t),
                    command: Vec::new(),
                    ..Default::default()
                })
                .collect(),
            leader_commit: 0,
            ..Default::default()
        }
    }

    #[test]
    fn refusals_carry_the_hints_and_a_match_stores_the_entries() {
        let mut f = ModelFollower::new(&[1, 2, 2, 2]);
        let short = f.answer(&append(5, 9, 4, &[]));
        assert_eq!(
            (short.success, short.conflict_term, short.conflict_index),
            (false, None, 5)
        );
        let mismatch = f.answer(&append(5, 4, 4, &[]));
        assert_eq!(
            (
                mismatch.success,
                mismatch.conflict_term,
                mismatch.conflict_index
            ),
            (false, Some(Term(2)), 2)
        );
        assert!(f.answer(&append(5, 1, 1, &[4, 4])).success);
        assert_eq!(f.terms(), &[1, 4, 4]);
        // An older request with entries it holds truncates nothing.
        assert!(f.answer(&append(5, 1, 1, &[4])).success);
        assert_eq!(f.terms(), &[1, 4, 4]);
        assert!(!f.answer(&append(3, 0, 0, &[])).success);
        assert_eq!(
            f.probes().len(),
            4,
            "a request of an older term is not counted"
        );
    }

    fn snapshot(term: u64, index: u64, last_term: u64) -> InstallSnapshotArgs {
        InstallSnapshotArgs {
            term: Term(term),
            leader_id: PeerId(0),
            last_included_index: index,
            last_included_term: Term(last_term),
            data: b"state".to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn a_snapshot_keeps_what_follows_a_matching_entry_and_replaces_anything_else() {
        let leader = [1, 1, 2, 2, 3];
        let mut f = ModelFollower::new(&[1]);
        assert!(!f.holds(&leader));
        f.install(&snapshot(4, 3, 2));
        assert_eq!(f.snapshot_base(), 3);
        assert!(f.answer(&append(4, 3, 2, &[2, 3])).success);
        assert!(
            f.holds(&leader),
            "covered by the snapshot, then the same terms"
        );
        // An older snapshot changes nothing; one whose entry it holds keeps what follows.
        f.install(&snapshot(4, 2, 1));
        assert_eq!(f.snapshot_base(), 3);
        f.install(&snapshot(4, 4, 2));
        assert_eq!((f.snapshot_base(), f.last_index()), (4, 5));
        assert!(f.holds(&leader));
        assert!(!f.holds(&[1, 1, 2, 2, 4]), "a different last entry");
    }
}
