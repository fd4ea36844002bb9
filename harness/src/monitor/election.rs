//! Rule 1, Election Safety: at most one leader per term, over the whole run.
//!
//! Observed from every `AppendEntries` and `InstallSnapshot` a peer sends (only a leader sends
//! them, so the sender leads the term the message carries) and from the tester's own
//! `get_state()` samples.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::violation::{Rule, Violation};

/// How the monitor learned that a peer led a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Evidence {
    /// The peer sent a leader's message (`AppendEntries` or `InstallSnapshot`) of the term to
    /// `to`.
    Sent {
        /// The method.
        method: &'static str,
        /// The receiver.
        to: usize,
    },
    /// The tester's `get_state()` returned `(term, true)`.
    Sample,
}

/// The first sign that `peer` led a term.
#[derive(Debug, Clone, Copy)]
struct Claim {
    peer: usize,
    at: Duration,
    how: Evidence,
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.how {
            Evidence::Sent { method, to } => {
                write!(f, "S{} sent {method} to S{to} as leader", self.peer)
            }
            Evidence::Sample => write!(
                f,
                "the tester's get_state() on S{} said it is leader",
                self.peer
            ),
        }
    }
}

/// The leader of every term seen so far.
#[derive(Debug, Default)]
pub(crate) struct ElectionSafety {
    leaders: BTreeMap<u64, Claim>,
}

impl ElectionSafety {
    /// `peer` showed at `at` that it leads `term`; fails if another peer led it before.
    pub(crate) fn leads(
        &mut self,
        at: Duration,
        peer: usize,
        term: u64,
        how: Evidence,
    ) -> Result<(), Violation> {
        let claim = Claim { peer, at, how };
        let first = *self.leaders.entry(term).or_insert(claim);
        if first.peer == peer {
            return Ok(());
        }
        Err(Violation::new(
            Rule::ElectionSafety,
            at,
            format!("S{} and S{peer} both led term {term}", first.peer),
        )
        .event(first.at, format_args!("{first} of term {term}"))
        .event(at, format_args!("{claim} of term {term}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn one_leader_may_send_many_times_and_each_term_may_have_its_own() {
        let mut rule = ElectionSafety::default();
        for i in 0..5 {
            rule.leads(
                ms(i),
                1,
                3,
                Evidence::Sent {
                    method: "AppendEntries",
                    to: 2,
                },
            )
            .expect("the same leader again");
        }
        rule.leads(ms(10), 2, 4, Evidence::Sample)
            .expect("a new term, a new leader");
        rule.leads(ms(11), 1, 3, Evidence::Sample)
            .expect("a sample agreeing with the wire");
    }

    #[test]
    fn two_senders_of_append_entries_in_one_term_fail_at_once() {
        let mut rule = ElectionSafety::default();
        rule.leads(
            ms(1200),
            1,
            4,
            Evidence::Sent {
                method: "AppendEntries",
                to: 0,
            },
        )
        .expect("the first leader");
        let v = rule
            .leads(
                ms(2500),
                2,
                4,
                Evidence::Sent {
                    method: "AppendEntries",
                    to: 0,
                },
            )
            .expect_err("a second leader of term 4");
        assert_eq!(v.rule, Rule::ElectionSafety);
        assert_eq!(v.summary, "S1 and S2 both led term 4");
        assert_eq!(v.at, ms(2500));
        assert_eq!(
            v.evidence,
            [
                "1.200s: S1 sent AppendEntries to S0 as leader of term 4",
                "2.500s: S2 sent AppendEntries to S0 as leader of term 4"
            ]
        );
    }

    #[test]
    fn the_testers_samples_count_as_claims() {
        let mut rule = ElectionSafety::default();
        rule.leads(ms(500), 0, 2, Evidence::Sample)
            .expect("the first leader");
        let v = rule
            .leads(
                ms(900),
                3,
                2,
                Evidence::Sent {
                    method: "AppendEntries",
                    to: 1,
                },
            )
            .expect_err("a second leader of term 2");
        assert!(v.evidence[0].contains("get_state() on S0 said it is leader of term 2"));
    }
}
