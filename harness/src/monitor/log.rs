//! Rule 4, Log Matching at the wire, and rule 6, Leader Completeness, both read from the entries
//! that `AppendEntries` carry.
//!
//! - Log Matching: no two `AppendEntries`, from any leader at any time, carry different entries
//!   for the same (index, term).
//! - Leader Completeness: a leader never sends an entry that would replace one already applied
//!   anywhere. An entry committed by the leader of term T must be in the log of every leader of a
//!   term above T; the monitor does not see commits, so it takes for T the highest term of any
//!   `AppendEntries` sent before the entry was first applied (the committing leader had sent
//!   some by then), and checks only leaders of later terms. A deposed leader that does not yet
//!   know it is deposed may still send its old entries in its old term; that is no violation.

use std::time::Duration;

use super::applies::{show, StateMachineSafety};
use super::index_map::IndexMap;
use super::violation::{Rule, Violation};
use super::wire::AppendEntries;

/// The first `AppendEntries` seen carrying an (index, term).
#[derive(Debug, Clone)]
struct Carried {
    term: u64,
    command: Vec<u8>,
    from: usize,
    to: usize,
    at: Duration,
}

/// Every (index, term) seen on the wire.
#[derive(Debug, Default)]
pub(crate) struct LogRules {
    /// Per index, the first entry seen of each term.
    entries: IndexMap<Vec<Carried>>,
    max_term: u64,
}

impl LogRules {
    /// The highest term of any `AppendEntries` sent so far.
    pub(crate) fn max_term(&self) -> u64 {
        self.max_term
    }

    /// `from` sent `args` to `to` at `at`; `applied` is what has been applied so far.
    /// `repeat` says the same end sent these very bytes before, so their entries were already
    /// matched and recorded: only leader completeness, which depends on what was applied since,
    /// is checked again.
    pub(crate) fn append_sent(
        &mut self,
        at: Duration,
        from: usize,
        to: usize,
        args: &AppendEntries<'_>,
        applied: &StateMachineSafety,
        repeat: bool,
    ) -> Result<(), Violation> {
        let term = u64::from(args.term);
        for (k, entry) in args.entries.iter().enumerate() {
            let index = args.prev_log_index + 1 + k as u64;
            let entry_term = u64::from(entry.term);
            let sent = || {
                format!(
                    "S{from} sent AppendEntries of term {term} to S{to} with {} at index {index} \
                     (entry term {entry_term})",
                    show(entry.command)
                )
            };
            let seen = if repeat {
                None
            } else {
                Some(self.entries.get_or_insert_with(index, Vec::new))
            };
            let first = seen
                .as_ref()
                .and_then(|s| s.iter().find(|c| c.term == entry_term));
            match first {
                Some(first) if first.command != entry.command => {
                    return Err(Violation::new(
                        Rule::LogMatching,
                        at,
                        format!(
                            "two different entries at index {index} with term {entry_term} (from \
                             S{} and S{from})",
                            first.from
                        ),
                    )
                    .event(
                        first.at,
                        format_args!(
                            "S{} sent AppendEntries to S{} with {} at index {index} (entry \
                             term {entry_term})",
                            first.from,
                            first.to,
                            show(&first.command)
                        ),
                    )
                    .event(at, sent())
                    .note(
                        "only the leader of a term creates entries of that term, once per \
                         index, and never changes them",
                    ));
                }
                Some(_) => {}
                None => {
                    if let Some(seen) = seen {
                        seen.push(Carried {
                            term: entry_term,
                            command: entry.command.to_vec(),
                            from,
                            to,
                            at,
                        });
                    }
                }
            }
            if let Some(done) = applied.at(index) {
                if done.committed_by < term && done.command != entry.command {
                    return Err(Violation::new(
                        Rule::LeaderCompleteness,
                        at,
                        format!(
                            "S{from}, leader of term {term}, sent an entry at index {index} that \
                             would replace the one S{} applied",
                            done.peer
                        ),
                    )
                    .event(
                        done.at,
                        format_args!(
                            "S{} applied {} at index {index}; no AppendEntries of a term above \
                             {} had been sent yet, so a leader of term {} or older committed it",
                            done.peer,
                            show(&done.command),
                            done.committed_by,
                            done.committed_by
                        ),
                    )
                    .event(at, sent())
                    .note(format!(
                        "S{from} was elected in term {term} without the committed entry: check \
                         the election restriction (grant a vote only to a candidate whose log \
                         is at least as up-to-date, §5.4.1) and that a leader never overwrites \
                         its own log"
                    )));
                }
            }
        }
        self.max_term = self.max_term.max(term);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::wire::{Entries, Entry};
    use super::*;
    use raftapi::Term;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// An `AppendEntries` of `term` from `leader` with entries `(term, command)` after `prev`.
    fn append(
        _leader: usize,
        term: u64,
        prev: u64,
        entries: &[(u64, &'static [u8])],
    ) -> AppendEntries<'static> {
        AppendEntries {
            term: Term(term),
            prev_log_index: prev,
            // Leaked: a test's few bytes, borrowed for its whole run.
            entries: Entries::from(&*Box::leak(
                entries
                    .iter()
                    .map(|&(t, command)| Entry {
                        term: Term(t),
                        command,
                    })
                    .collect::<Box<[Entry<'static>]>>(),
            )),
        }
    }

    #[test]
    fn resending_and_overwriting_uncommitted_entries_is_fine() {
        let mut log = LogRules::default();
        let none = StateMachineSafety::default();
        let a = append(0, 2, 0, &[(1, b"a"), (2, b"b")]);
        log.append_sent(ms(1), 0, 1, &a, &none, false)
            .expect("first");
        log.append_sent(ms(2), 0, 2, &a, &none, false)
            .expect("the same again");
        // A new leader of term 3 replaces the uncommitted entry at index 2 (term 2) with its own.
        let b = append(1, 3, 1, &[(3, b"c")]);
        log.append_sent(ms(3), 1, 2, &b, &none, false)
            .expect("another term");
        assert_eq!(log.max_term(), 3);
    }

    #[test]
    fn two_entries_with_one_index_and_term_fail() {
        let mut log = LogRules::default();
        let none = StateMachineSafety::default();
        log.append_sent(ms(1), 0, 1, &append(0, 2, 0, &[(2, b"a")]), &none, false)
            .expect("first");
        let v = log
            .append_sent(ms(5), 0, 2, &append(0, 2, 0, &[(2, b"z")]), &none, false)
            .expect_err("index 1 term 2 changed");
        assert_eq!(v.rule, Rule::LogMatching);
        assert_eq!(
            v.summary,
            "two different entries at index 1 with term 2 (from S0 and S0)"
        );
        assert!(
            v.evidence[1].contains("[122] at index 1"),
            "{:?}",
            v.evidence
        );
    }

    #[test]
    fn a_later_leader_replacing_an_applied_entry_fails() {
        let mut log = LogRules::default();
        let mut applied = StateMachineSafety::default();
        log.append_sent(ms(1), 0, 1, &append(0, 2, 0, &[(2, b"a")]), &applied, false)
            .expect("leader of term 2");
        applied.started(1, 1, 0, false);
        applied
            .command(ms(2), 1, 1, 1, b"a", log.max_term())
            .expect("S1 applies it");
        // A deposed leader of term 2 may still send its old entries...
        log.append_sent(ms(3), 0, 2, &append(0, 2, 0, &[(2, b"a")]), &applied, false)
            .expect("the same entry");
        // ...but a leader of term 3 must have the applied entry.
        let v = log
            .append_sent(ms(4), 2, 1, &append(2, 3, 0, &[(3, b"q")]), &applied, false)
            .expect_err("replaces the applied entry");
        assert_eq!(v.rule, Rule::LeaderCompleteness);
        assert_eq!(
            v.summary,
            "S2, leader of term 3, sent an entry at index 1 that would replace the one S1 applied"
        );
    }

    #[test]
    fn an_entry_sent_in_the_committing_term_or_older_is_not_judged() {
        let mut log = LogRules::default();
        let mut applied = StateMachineSafety::default();
        log.append_sent(ms(1), 0, 1, &append(0, 4, 0, &[(4, b"a")]), &applied, false)
            .expect("leader of term 4");
        applied.started(1, 1, 0, false);
        applied
            .command(ms(2), 1, 1, 1, b"a", log.max_term())
            .expect("applied while term 4 was the highest");
        // A stale leader of term 3 that never heard of term 4 still sends its own entry.
        log.append_sent(
            ms(3),
            3,
            2,
            &append(3, 3, 0, &[(3, b"old")]),
            &applied,
            false,
        )
        .expect("a deposed leader's old entry");
    }
}
