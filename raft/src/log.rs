//! The replicated log, with a dummy entry at its base, so "the entry before the first" always
//! exists: before any snapshot the base is index 0 with term 0, and the first real entry has
//! index 1.
//!
//! All index arithmetic lives in [`Log::pos`]: the log stores entries from its base index on,
//! so when a snapshot discards a prefix ([`Log::compact`], [`Log::install`]), only the base
//! (the last index the snapshot covers, and its term, kept in the dummy entry) moves and every
//! caller keeps speaking in log indices. Discarded entries are freed: the vector is rebuilt
//! from the entries that remain, not merely hidden behind an offset.

use raftapi::LogEntry;
use raftapi::Term;

/// Why a follower's log cannot take entries after `prev_log_index`; becomes the conflict hints
/// of an `AppendEntries` reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Conflict {
    /// The follower's term at `prev_log_index`, or `None` if its log is too short.
    pub(crate) term: Option<Term>,
    /// The follower's log length (too short), or the first index holding `term`.
    pub(crate) index: u64,
}

/// Why entries read back from storage are not a log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BadLog {
    /// There is not even the dummy entry.
    #[error("the saved log has no entries, not even the dummy entry at its base")]
    Empty,
    /// A log that starts at index 0 must start with the dummy entry of term 0.
    #[error("the saved log's entry at index 0 has term {0}, but the dummy entry has term 0")]
    DummyTerm(Term),
    /// Terms never decrease along a log.
    #[error("the saved log's terms decrease at index {index}: term {term} after term {before}")]
    TermsDecrease {
        /// The index of the entry with the smaller term.
        index: u64,
        /// Its term.
        term: Term,
        /// The term of the entry before it.
        before: Term,
    },
}

/// The log of one peer.
#[derive(Clone, Debug)]
pub(crate) struct Log {
    /// The index of `entries[0]`, the dummy entry (0 until snapshots move it; the dummy's term
    /// is then the term of the last entry the snapshot covers).
    base: u64,
    /// `entries[0]` is the dummy entry; `entries[i]` has index `base + i`.
    entries: Vec<LogEntry>,
    /// The lowest position in `entries` changed (appended, replaced or removed) since
    /// [`take_changed_from`](Log::take_changed_from) last ran, so a save re-encodes only
    /// those entries. Not part of the log's value.
    changed_from: usize,
}

/// Two logs are equal when they hold the same entries from the same base.
impl PartialEq for Log {
    fn eq(&self, other: &Log) -> bool {
        self.base == other.base && self.entries == other.entries
    }
}

impl Eq for Log {}

impl Default for Log {
    fn default() -> Self {
        Log::new()
    }
}

impl Log {
    /// A log holding only the dummy entry.
    pub(crate) fn new() -> Log {
        Log {
            base: 0,
            entries: vec![LogEntry {
                term: Term::ZERO,
                command: Vec::new(),
                ..Default::default()
            }],
            changed_from: 0,
        }
    }

    /// A log from persisted parts: the base index and the entries from the base on (the dummy
    /// first). Refuses entries that cannot be a log.
    pub(crate) fn from_parts(base: u64, entries: Vec<LogEntry>) -> Result<Log, BadLog> {
        let first = entries.first().ok_or(BadLog::Empty)?;
        if base == 0 && first.term != Term::ZERO {
            return Err(BadLog::DummyTerm(first.term));
        }
        for (i, pair) in entries.windows(2).enumerate() {
            if pair[1].term < pair[0].term {
                return Err(BadLog::TermsDecrease {
                    index: base + i as u64 + 1,
                    term: pair[1].term,
                    before: pair[0].term,
                });
            }
        }
        Ok(Log {
            base,
            entries,
            changed_from: 0,
        })
    }

    /// Where the entry at `index` is in `entries`, if the log holds it. The only place that
    /// turns a log index into a position.
    fn pos(&self, index: u64) -> Option<usize> {
        let pos = usize::try_from(index.checked_sub(self.base)?).ok()?;
        (pos < self.entries.len()).then_some(pos)
    }

    /// The index of the dummy entry at the base of the log.
    pub(crate) fn base_index(&self) -> u64 {
        self.base
    }

    /// All entries from the base on, the dummy first (for persisting).
    pub(crate) fn entries(&self) -> &[LogEntry] {
        &self.entries
    }

    /// The lowest position in [`entries`](Log::entries) that changed since the last call (the
    /// first call after the log was made returns 0); entries before it are as they were then.
    pub(crate) fn take_changed_from(&mut self) -> usize {
        let from = self.changed_from.min(self.entries.len());
        self.changed_from = self.entries.len();
        from
    }

    /// The index of the last entry (the base when only the dummy is there).
    pub(crate) fn last_index(&self) -> u64 {
        self.base + self.entries.len() as u64 - 1
    }

    /// The term of the last entry.
    pub(crate) fn last_term(&self) -> Term {
        self.entries.last().map_or(Term::ZERO, |e| e.term)
    }

    /// The term of the entry at `index`, if the log holds it.
    pub(crate) fn term_at(&self, index: u64) -> Option<Term> {
        self.entry(index).map(|e| e.term)
    }

    /// The entry at `index`, if the log holds it (the dummy included).
    pub(crate) fn entry(&self, index: u64) -> Option<&LogEntry> {
        self.pos(index).map(|p| &self.entries[p])
    }

    /// The entries from `from` to the end; empty when `from` is past the end. `from` must be
    /// above the base (the dummy is never sent).
    pub(crate) fn entries_from(&self, from: u64) -> &[LogEntry] {
        match self.pos(from.max(self.base + 1)) {
            Some(p) => &self.entries[p..],
            None => &[],
        }
    }

    /// The term of the dummy entry: the term of the last entry the snapshot covers (0 before
    /// any snapshot).
    pub(crate) fn base_term(&self) -> Term {
        self.entries[0].term
    }

    /// Discards every entry through `index`, which must be in the log after the base: `index`
    /// becomes the new base, its term the dummy's. Entries after `index` are kept. Returns
    /// false (and changes nothing) when `index` is at or below the base, or past the end.
    pub(crate) fn compact(&mut self, index: u64) -> bool {
        if index <= self.base {
            return false;
        }
        let Some(p) = self.pos(index) else {
            return false;
        };
        let term = self.entries[p].term;
        self.rebase(index, term, p + 1);
        true
    }

    /// Installs a snapshot that covers the log through `index`, whose entry has `term`
    /// (Figure 13, steps 6 and 7): if this log holds that entry, the entries after it are kept;
    /// otherwise the whole log is discarded. Either way the base becomes (`index`, `term`).
    /// Returns false (and changes nothing) for a snapshot at or below the base: an older one.
    pub(crate) fn install(&mut self, index: u64, term: Term) -> bool {
        if index <= self.base {
            return false;
        }
        let keep_from = match self.pos(index) {
            Some(p) if self.entries[p].term == term => p + 1,
            _ => self.entries.len(),
        };
        self.rebase(index, term, keep_from);
        true
    }

    /// Moves the base to (`index`, `term`), keeping `entries[keep_from..]` after it, in a new
    /// vector sized for them, so the discarded entries (and the old vector's spare capacity)
    /// are freed.
    fn rebase(&mut self, index: u64, term: Term, keep_from: usize) {
        let kept = self.entries.len().saturating_sub(keep_from);
        let mut entries = Vec::with_capacity(kept + 1);
        entries.push(LogEntry {
            term,
            command: Vec::new(),
            ..Default::default()
        });
        entries.extend(self.entries.drain(keep_from.min(self.entries.len())..));
        self.entries = entries;
        self.base = index;
        // Every position moved: the next save encodes the whole (now short) log again.
        self.changed_from = 0;
    }

    /// How many entries the log's vector has room for (to show that compaction frees memory).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Appends an entry and returns its index.
    pub(crate) fn append(&mut self, entry: LogEntry) -> u64 {
        self.changed_from = self.changed_from.min(self.entries.len());
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
    ///
    /// An index below the base is inside the snapshot, so committed: every leader holds the
    /// same entry there (Leader Completeness), and it matches.
    pub(crate) fn check_prev(&self, prev_index: u64, prev_term: Term) -> Result<(), Conflict> {
        if prev_index < self.base {
            return Ok(());
        }
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

    /// The first index of the run of `term` entries that ends at or after `at` (never below
    /// the first entry after the base).
    fn first_index_of_term(&self, term: Term, at: u64) -> u64 {
        let mut first = at;
        while first > self.base + 1 && self.term_at(first - 1) == Some(term) {
            first -= 1;
        }
        first
    }

    /// The last index holding an entry of `term`, if this log has one after its base. Terms
    /// never decrease along a log, so the search stops at the first smaller term.
    pub(crate) fn last_index_of_term(&self, term: Term) -> Option<u64> {
        let mut index = self.last_index();
        while index > self.base {
            match self.term_at(index) {
                Some(t) if t == term => return Some(index),
                Some(t) if t < term => return None,
                _ => index -= 1,
            }
        }
        None
    }

    /// Stores `entries` after `prev_index` (which [`check_prev`](Log::check_prev) has
    /// accepted): an existing entry that conflicts with a new one (same index, other term) is
    /// deleted with all that follow it, and new entries not yet in the log are appended.
    /// Entries that already match are kept, so a stale, reordered `AppendEntries` never
    /// shortens the log. Returns whether the log changed.
    pub(crate) fn merge(&mut self, prev_index: u64, entries: &[LogEntry]) -> bool {
        for (offset, entry) in entries.iter().enumerate() {
            let index = prev_index + 1 + offset as u64;
            if index <= self.base {
                // Already covered by the base (part D's snapshot): nothing to store.
                continue;
            }
            match self.pos(index) {
                Some(p) if self.entries[p].term == entry.term => continue,
                Some(p) => self.entries.truncate(p),
                None => {}
            }
            self.changed_from = self.changed_from.min(self.entries.len());
            self.entries.extend(entries[offset..].iter().cloned());
            return true;
        }
        false
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
    fn persisted_parts_must_be_a_log() {
        assert_eq!(Log::from_parts(0, vec![]), Err(BadLog::Empty));
        assert_eq!(
            Log::from_parts(0, vec![entry(2)]),
            Err(BadLog::DummyTerm(Term(2)))
        );
        assert_eq!(
            Log::from_parts(0, vec![entry(0), entry(2), entry(1)]),
            Err(BadLog::TermsDecrease {
                index: 2,
                term: Term(1),
                before: Term(2)
            })
        );
        let log = log_of_terms(&[1, 1, 2]);
        assert_eq!(Log::from_parts(0, log.entries().to_vec()), Ok(log));
    }

    #[test]
    fn a_log_with_a_moved_base_keeps_speaking_in_log_indices() {
        // As after a snapshot through index 10 (term 3): the dummy carries the base's term.
        let log = Log::from_parts(10, vec![entry(3), entry(3), entry(4)]).expect("a log");
        assert_eq!((log.base_index(), log.last_index()), (10, 12));
        assert_eq!(log.term_at(10), Some(Term(3)));
        assert_eq!(log.term_at(9), None, "below the base is gone");
        assert_eq!(log.term_at(12), Some(Term(4)));
        assert_eq!(log.term_at(13), None);
        assert_eq!(log.entries_from(1), log.entries_from(11), "never the dummy");
        assert_eq!(log.entries_from(12), &[entry(4)]);
        assert!(log.entries_from(13).is_empty());
        assert_eq!(
            log.check_prev(12, Term(3)),
            Err(Conflict {
                term: Some(Term(4)),
                index: 12
            })
        );
        assert_eq!(
            log.check_prev(11, Term(2)),
            Err(Conflict {
                term: Some(Term(3)),
                index: 11
            }),
            "the run of term 3 starts after the base"
        );
        assert_eq!(log.last_index_of_term(Term(3)), Some(11));
        let mut log = log;
        assert!(
            !log.merge(8, &[entry(2), entry(3), entry(3)]),
            "entries under the base and matching ones change nothing"
        );
        assert!(log.merge(11, &[entry(5)]));
        assert_eq!(log.last_term(), Term(5));
        assert_eq!(log.last_index(), 12);
    }

    #[test]
    fn compact_trims_through_an_index_and_frees_the_entries() {
        let mut log = log_of_terms(&[1; 100]);
        log.append(entry(2));
        assert!(log.capacity() >= 102);
        assert!(log.compact(99));
        assert_eq!((log.base_index(), log.base_term()), (99, Term(1)));
        assert_eq!(log.last_index(), 101);
        assert_eq!(log.entries().len(), 3, "the dummy and entries 100, 101");
        assert!(log.capacity() < 10, "the discarded entries are freed");
        assert_eq!(log.entry(99).map(|e| e.command.len()), Some(0));
        assert_eq!(log.term_at(101), Some(Term(2)));
        assert_eq!(log.term_at(98), None);
        assert!(!log.compact(99), "at the base: nothing to do");
        assert!(!log.compact(50), "below the base: an older snapshot");
        assert!(!log.compact(102), "past the end: not in the log");
        assert!(log.compact(101));
        assert_eq!((log.base_index(), log.last_index()), (101, 101));
        assert_eq!(log.last_term(), Term(2));
    }

    #[test]
    fn install_keeps_a_matching_suffix() {
        let mut log = log_of_terms(&[1, 1, 2, 2, 3]);
        assert!(log.install(3, Term(2)));
        assert_eq!((log.base_index(), log.base_term()), (3, Term(2)));
        assert_eq!(log.entries_from(4), &[entry(2), entry(3)]);
        assert_eq!(log.last_index(), 5);
    }

    #[test]
    fn install_discards_a_conflicting_or_short_log() {
        let mut log = log_of_terms(&[1, 1, 2, 2, 3]);
        assert!(log.install(4, Term(5)), "the entry at 4 has term 2, not 5");
        assert_eq!((log.base_index(), log.last_index()), (4, 4));
        assert_eq!(log.last_term(), Term(5));
        let mut short = log_of_terms(&[1, 1]);
        assert!(short.install(10, Term(3)));
        assert_eq!((short.base_index(), short.last_index()), (10, 10));
        assert_eq!(short.entries().len(), 1);
    }

    #[test]
    fn install_ignores_an_older_snapshot() {
        let mut log = log_of_terms(&[1, 1, 2, 2, 3]);
        assert!(log.compact(4));
        let before = log.clone();
        assert!(!log.install(4, Term(2)));
        assert!(!log.install(2, Term(1)));
        assert_eq!(log, before);
    }

    #[test]
    fn index_math_after_an_install_stays_in_log_indices() {
        let mut log = log_of_terms(&[1, 1]);
        assert!(log.install(20, Term(4)));
        assert_eq!(log.check_prev(20, Term(4)), Ok(()));
        assert_eq!(
            log.check_prev(19, Term(1)),
            Ok(()),
            "inside the snapshot: committed, so it matches any leader's log"
        );
        assert!(
            !log.merge(17, &[entry(1), entry(2)]),
            "entries inside the snapshot are not stored again"
        );
        assert_eq!(log.append(entry(5)), 21);
        assert!(log.merge(20, &[entry(5), entry(5)]));
        assert_eq!(log.last_index(), 22);
        assert!(log.candidate_is_up_to_date(Term(5), 22));
        assert!(!log.candidate_is_up_to_date(Term(4), 30));
    }

    #[test]
    fn the_log_tracks_the_lowest_changed_position() {
        let mut log = Log::new();
        assert_eq!(log.take_changed_from(), 0, "a new log is all new");
        log.append(entry(1));
        log.append(entry(1));
        assert_eq!(log.take_changed_from(), 1);
        assert_eq!(log.take_changed_from(), 3, "nothing changed since");
        assert!(!log.merge(0, &[entry(1)]));
        assert_eq!(
            log.take_changed_from(),
            3,
            "a matching merge changes nothing"
        );
        log.append(entry(2));
        assert!(log.merge(1, &[entry(3)]));
        assert_eq!(log.take_changed_from(), 2, "replaced from index 2 on");
        assert_eq!(
            log,
            log_of_terms(&[1, 3]),
            "the marker is not part of the value"
        );
    }

    #[test]
    fn entries_from_never_includes_the_dummy() {
        let log = log_of_terms(&[1, 2, 2]);
        assert_eq!(log.entries_from(0), &[entry(1), entry(2), entry(2)]);
        assert_eq!(log.entries_from(3), &[entry(2)]);
        assert!(log.entries_from(4).is_empty());
        assert_eq!(log.entry(2), Some(&entry(2)));
    }

    #[test]
    fn last_index_of_term_finds_the_end_of_a_run() {
        let log = log_of_terms(&[1, 1, 3, 3, 3, 5]);
        assert_eq!(log.last_index_of_term(Term(1)), Some(2));
        assert_eq!(log.last_index_of_term(Term(3)), Some(5));
        assert_eq!(log.last_index_of_term(Term(5)), Some(6));
        assert_eq!(
            log.last_index_of_term(Term(2)),
            None,
            "a term the log skipped"
        );
        assert_eq!(log.last_index_of_term(Term(4)), None);
        assert_eq!(log.last_index_of_term(Term(9)), None);
        assert_eq!(Log::new().last_index_of_term(Term::ZERO), None);
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
