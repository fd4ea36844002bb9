//! Rule 2, One Vote Per Term: a peer votes for at most one candidate in a term, across crashes
//! and restarts.
//!
//! A vote counts once the voter's `RequestVote` handler produced a granting reply, even if the
//! network then drops the reply: the voter has given its vote (and must have saved it). A
//! candidate votes for itself, so sending a `RequestVote` of term T is its vote in T.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::violation::{Rule, Violation};

/// One vote: for whom, when, and whether it was the candidate's own.
#[derive(Debug, Clone, Copy)]
struct Ballot {
    candidate: usize,
    at: Duration,
}

/// Describes a vote of `voter` in `term`.
struct Cast {
    voter: usize,
    term: u64,
    ballot: Ballot,
}

impl fmt::Display for Cast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.voter == self.ballot.candidate {
            write!(
                f,
                "S{} sent RequestVote of term {}: as candidate it voted for itself",
                self.voter, self.term
            )
        } else {
            write!(
                f,
                "S{} granted its vote in term {} to S{} (its RequestVote handler replied \
                 vote_granted = true)",
                self.voter, self.term, self.ballot.candidate
            )
        }
    }
}

/// Every vote cast so far, by (voter, term).
#[derive(Debug, Default)]
pub(crate) struct OneVotePerTerm {
    votes: BTreeMap<(usize, u64), Ballot>,
    /// The peers seen denying a candidate in a term in which they had voted for another: they
    /// keep their vote within a life, so a second vote across a restart is a vote forgotten.
    keeps_votes: std::collections::BTreeSet<usize>,
}

impl OneVotePerTerm {
    /// `voter` denied `candidate` its vote in `term`.
    pub(crate) fn denied(&mut self, voter: usize, term: u64, candidate: usize) {
        if self
            .votes
            .get(&(voter, term))
            .is_some_and(|b| b.candidate != candidate)
        {
            self.keeps_votes.insert(voter);
        }
    }

    /// `voter` voted for `candidate` in `term` at `at`. `restarts` are the voter's restart
    /// times, to point out a vote forgotten across one.
    pub(crate) fn vote(
        &mut self,
        at: Duration,
        voter: usize,
        term: u64,
        candidate: usize,
        restarts: &[Duration],
    ) -> Result<(), Violation> {
        let ballot = Ballot { candidate, at };
        let first = *self.votes.entry((voter, term)).or_insert(ballot);
        if first.candidate == candidate {
            return Ok(());
        }
        let who = |c: usize| {
            if c == voter {
                "itself".to_string()
            } else {
                format!("S{c}")
            }
        };
        let mut v = Violation::new(
            Rule::OneVotePerTerm,
            at,
            format!(
                "S{voter} voted twice in term {term}: for {} and for {}",
                who(first.candidate),
                who(candidate)
            ),
        )
        .event(
            first.at,
            Cast {
                voter,
                term,
                ballot: first,
            },
        );
        let between: Vec<Duration> = restarts
            .iter()
            .copied()
            .filter(|&r| r > first.at && r <= at)
            .collect();
        for &r in &between {
            v = v.event(r, format_args!("S{voter} was restarted by the tester"));
        }
        v = v.event(
            at,
            Cast {
                voter,
                term,
                ballot,
            },
        );
        if !between.is_empty() {
            v = v.note(if self.keeps_votes.contains(&voter) {
                format!(
                    "S{voter} forgot its vote across the restart: save votedFor (and \
                     currentTerm) with the persister before replying"
                )
            } else {
                format!(
                    "either S{voter} forgot its vote across the restart (save votedFor, and \
                     currentTerm, with the persister before replying), or it grants a second \
                     candidate whatever votedFor says (fig2_vote_once_per_term tells which)"
                )
            });
        }
        Err(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_same_candidate_may_be_granted_again_and_each_term_is_separate() {
        let mut rule = OneVotePerTerm::default();
        rule.vote(ms(1), 0, 3, 1, &[]).expect("first vote");
        rule.vote(ms(2), 0, 3, 1, &[])
            .expect("the same candidate again");
        rule.vote(ms(3), 0, 4, 2, &[]).expect("a new term");
        rule.vote(ms(4), 2, 4, 2, &[]).expect("S2 votes for itself");
    }

    #[test]
    fn a_second_candidate_in_one_term_fails() {
        let mut rule = OneVotePerTerm::default();
        rule.vote(ms(100), 2, 5, 0, &[]).expect("first vote");
        let v = rule
            .vote(ms(130), 2, 5, 1, &[])
            .expect_err("a second candidate");
        assert_eq!(v.rule, Rule::OneVotePerTerm);
        assert_eq!(v.summary, "S2 voted twice in term 5: for S0 and for S1");
        assert_eq!(v.evidence.len(), 2);
        assert!(v.evidence[0].starts_with("0.100s: S2 granted its vote in term 5 to S0"));
    }

    #[test]
    fn a_candidate_that_grants_another_candidate_its_term_votes_twice() {
        let mut rule = OneVotePerTerm::default();
        rule.vote(ms(10), 1, 2, 1, &[])
            .expect("S1 stands in term 2");
        let v = rule
            .vote(ms(11), 1, 2, 0, &[])
            .expect_err("and grants S0 too");
        assert_eq!(v.summary, "S1 voted twice in term 2: for itself and for S0");
        assert!(v.evidence[0].contains("voted for itself"));
    }

    #[test]
    fn a_vote_forgotten_across_a_restart_names_the_restart() {
        let mut rule = OneVotePerTerm::default();
        rule.vote(ms(1000), 0, 7, 1, &[]).expect("first vote");
        // Seen keeping its vote within a life: a vote across a restart was forgotten.
        rule.denied(0, 7, 3);
        let v = rule
            .vote(ms(3000), 0, 7, 2, &[ms(500), ms(2000)])
            .expect_err("a second vote after the restart");
        assert_eq!(v.evidence.len(), 4);
        assert_eq!(v.evidence[1], "2.000s: S0 was restarted by the tester");
        assert!(v.evidence[3].starts_with("S0 forgot its vote across the restart"));
    }

    #[test]
    fn a_second_vote_across_a_restart_from_a_peer_never_seen_keeping_one_names_both_causes() {
        let mut rule = OneVotePerTerm::default();
        rule.vote(ms(1000), 0, 7, 1, &[]).expect("first vote");
        rule.denied(0, 7, 1);
        let v = rule
            .vote(ms(3000), 0, 7, 2, &[ms(2000)])
            .expect_err("a second vote after the restart");
        let note = &v.evidence[3];
        assert!(
            note.starts_with("either S0 forgot its vote") && note.contains("whatever votedFor"),
            "{note}"
        );
    }
}
