//! The replicated log, 0-indexed with a dummy entry of term 0 at index 0, so the first real
//! entry has index 1 and "the entry before the first" always exists.

use crate::ids::Term;
use crate::messages::LogEntry;

/// Why a follower's log cannot take entries after `prev_log_index`; becomes the conflict hints
/// of an `AppendEntries` reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Conflict {
    /// The follower's term at `prev_log_index`, or `None` if its log is too short.
    pub(crate) term: Option<Term>,
    /// The follower's log length (too short), or the first index holding `term`.
    pub(crate) index: u64,
}

/// The log of one peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Log {
    /// `entries[0]` is the dummy entry; `entries[i]` has index `i`.
    entries: Vec<LogEntry>,
}

impl Default for Log {
    fn default() -> Self {
        Log::new()
    }
}

impl Log {
    /// A log holding only the dummy entry.
    pub(crate) fn new() -> Log {
        Log {
            entries: vec![LogEntry {
                term: Term::ZERO,
                command: Vec::new(),
            }],
        }
    }

    /// A log from persisted entries; `None` unless they start with the dummy entry.
    pub(crate) fn from_entries(entries: Vec<LogEntry>) -> Option<Log> {
        match entries.first() {
            Some(first) if first.term == Term::ZERO => Some(Log { entries }),
            _ => None,
        }
    }

    /// All entries, the dummy first (for persisting).
    pub(crate) fn entries(&self) -> &[LogEntry] {
        &self.entries
    }

    /// The index of the last entry (0 when only the dummy is there).
    pub(crate) fn last_index(&self) -> u64 {
        self.entries.len() as u64 - 1
    }

    /// The term of the last entry.
    pub(crate) fn last_term(&self) -> Term {
        self.entries.last().map_or(Term::ZERO, |e| e.term)
    }

    /// The term of the entry at `index`, if the log holds it.
    pub(crate) fn term_at(&self, index: u64) -> Option<Term> {
        let i = usize::try_from(index).ok()?;
        self.entries.get(i).map(|e| e.term)
    }

    /// Appends an entry and returns its index.
    pub(crate) fn append(&mut self, entry: LogEntry) -> u64 {
        self.entries.push(entry);
        self.last_index()
    }

    /// The election restriction (§5.4.1): whether a log ending at (`last_term`, `last_index`)
    /// is at least as up-to-date as this one. A later last term wins; with equal last terms the
    /// longer log wins.
    pub(crate) fn candidate_is_up_to_date(&self, last_term: Term, last_index: u64) -> bool {
        (last_term, last_index) >= (self.last_term(), self.last_index())
    }

    /// Whether this log holds `prev_term` at `prev_index`; if not, the hints for the leader.
    pub(crate) fn check_prev(&self, prev_index: u64, prev_term: Term) -> Result<(), Conflict> {
        match self.term_at(prev_index) {
            None => Err(Conflict {
                term: None,
                index: self.last_index() + 1,
            }),
            Some(term) if term != prev_term => Err(Conflict {
                term: Some(term),
                index: self.first_index_of_term(term, prev_index),
            }),
            Some(_) => Ok(()),
        }
    }

    /// The first index of the run of `term` entries that ends at or after `at`.
    fn first_index_of_term(&self, term: Term, at: u64) -> u64 {
        let mut first = at;
        while first > 1 && self.term_at(first - 1) == Some(term) {
            first -= 1;
        }
        first
    }

    /// Stores `entries` after `prev_index` (which [`check_prev`](Log::check_prev) has
    /// accepted): an existing entry that conflicts with a new one (same index, other term) is
    /// deleted with all that follow it, and new entries not yet in the log are appended.
    /// Entries that already match are kept, so a stale, reordered `AppendEntries` never
    /// shortens the log. Returns whether the log changed.
    pub(crate) fn merge(&mut self, prev_index: u64, entries: &[LogEntry]) -> bool {
        let mut changed = false;
        for (offset, entry) in entries.iter().enumerate() {
            let index = prev_index + 1 + offset as u64;
            match self.term_at(index) {
                Some(term) if term == entry.term => continue,
                Some(_) => {
                    // Index fits in usize: term_at found an entry there.
                    self.entries.truncate(index as usize);
                }
                None => {}
            }
            self.entries.extend(entries[offset..].iter().cloned());
            changed = true;
            break;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(term: u64) -> LogEntry {
        LogEntry {
            term: Term(term),
            command: vec![term as u8],
        }
    }

    fn log_of_terms(terms: &[u64]) -> Log {
        let mut log = Log::new();
        for &t in terms {
            log.append(entry(t));
        }
        log
    }

    #[test]
    fn a_new_log_holds_only_the_dummy_entry() {
        let log = Log::new();
        assert_eq!(log.last_index(), 0);
        assert_eq!(log.last_term(), Term::ZERO);
        assert_eq!(log.term_at(0), Some(Term::ZERO));
        assert_eq!(log.term_at(1), None);
    }

    #[test]
    fn persisted_entries_must_start_with_the_dummy() {
        assert!(Log::from_entries(vec![]).is_none());
        assert!(Log::from_entries(vec![entry(2)]).is_none());
        let log = log_of_terms(&[1, 1, 2]);
        assert_eq!(Log::from_entries(log.entries().to_vec()), Some(log));
    }

    #[test]
    fn election_restriction_prefers_later_last_term_then_longer_log() {
        let ours = log_of_terms(&[1, 2, 2]); // last (term 2, index 3)
        assert!(
            ours.candidate_is_up_to_date(Term(3), 1),
            "later last term wins"
        );
        assert!(
            ours.candidate_is_up_to_date(Term(2), 3),
            "equal logs are up to date"
        );
        assert!(
            ours.candidate_is_up_to_date(Term(2), 4),
            "same term, longer log"
        );
        assert!(
            !ours.candidate_is_up_to_date(Term(2), 2),
            "same term, shorter log"
        );
        assert!(
            !ours.candidate_is_up_to_date(Term(1), 9),
            "earlier last term loses"
        );
        assert!(Log::new().candidate_is_up_to_date(Term::ZERO, 0));
    }

    #[test]
    fn check_prev_gives_hints_for_a_short_log() {
        let log = log_of_terms(&[1, 1]);
        assert_eq!(log.check_prev(2, Term(1)), Ok(()));
        assert_eq!(
            log.check_prev(5, Term(3)),
            Err(Conflict {
                term: None,
                index: 3
            })
        );
    }

    #[test]
    fn check_prev_gives_the_first_index_of_the_conflicting_term() {
        let log = log_of_terms(&[1, 2, 2, 2, 3]);
        assert_eq!(
            log.check_prev(4, Term(3)),
            Err(Conflict {
                term: Some(Term(2)),
                index: 2
            })
        );
        assert_eq!(log.check_prev(0, Term::ZERO), Ok(()));
    }

    #[test]
    fn merge_truncates_conflicts_and_keeps_matching_entries() {
        let mut log = log_of_terms(&[1, 1, 2]);
        assert!(
            !log.merge(1, &[entry(1)]),
            "a matching entry changes nothing"
        );
        assert_eq!(
            log.last_index(),
            3,
            "a stale message never shortens the log"
        );
        assert!(log.merge(2, &[entry(3), entry(3)]));
        assert_eq!(log, log_of_terms(&[1, 1, 3, 3]));
        assert!(log.merge(4, &[entry(3)]));
        assert_eq!(log, log_of_terms(&[1, 1, 3, 3, 3]));
        assert!(!log.merge(5, &[]));
    }
}
