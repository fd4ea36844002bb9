//! Commitment: when an entry is committed, on the leader (by counting replicas) and on a
//! follower (by the leader's word).
//!
//! - A leader commits index `N` once a majority (itself included) holds the log through `N`
//!   **and** the entry at `N` is of the leader's own term. Entries of older terms are never
//!   committed by counting replicas: Figure 8 of the paper shows such an entry, though on a
//!   majority, being overwritten by a later leader. They are committed indirectly, with the
//!   first entry of the leader's term after them.
//! - A follower commits `min(leader_commit, index of the last new entry)`: the last entry of
//!   the `AppendEntries` that just matched, not the end of its log, whose tail past the request
//!   may not be the leader's.
//!
//! The commit index only moves forward, and only here.

use crate::logging::raft_event;
use crate::state::{Role, State};

/// The highest index held by a majority, given each peer's highest replicated index (the
/// leader's own last index included): the `majority`-th largest.
pub(crate) fn majority_match(mut matched: Vec<u64>, majority: usize) -> u64 {
    matched.sort_unstable_by(|a, b| b.cmp(a));
    majority
        .checked_sub(1)
        .and_then(|i| matched.get(i))
        .copied()
        .unwrap_or(0)
}

impl State {
    /// A leader moves its commit index to the highest index that a majority holds, if that
    /// entry is of its own term (Figure 8). Returns whether the commit index moved.
    pub(crate) fn advance_leader_commit(&mut self) -> bool {
        let Role::Leader(leader) = &self.role else {
            return false;
        };
        let me = self.me.index();
        let matched: Vec<u64> = leader
            .progress
            .iter()
            .enumerate()
            .map(|(peer, p)| {
                if peer == me {
                    self.log.last_index()
                } else {
                    p.match_index
                }
            })
            .collect();
        let n = majority_match(matched, self.majority());
        if n <= self.commit_index {
            return false;
        }
        let term_at_n = self.log.term_at(n);
        if term_at_n != Some(self.term) {
            raft_event!(
                debug,
                self.me,
                self.term,
                Apply,
                "a majority holds index {n}, but its term {:?} is not ours: not committed by \
                 counting (Figure 8)",
                term_at_n.map(|t| t.0)
            );
            return false;
        }
        raft_event!(
            debug,
            self.me,
            self.term,
            Apply,
            "leader commits through index {n} (was {})",
            self.commit_index
        );
        self.commit_index = n;
        true
    }

    /// A follower that accepted an `AppendEntries` whose last entry has index `last_new` moves
    /// its commit index to `min(leader_commit, last_new)`, never backwards. Returns whether it
    /// moved.
    pub(crate) fn advance_follower_commit(&mut self, leader_commit: u64, last_new: u64) -> bool {
        let commit = leader_commit.min(last_new);
        if commit <= self.commit_index {
            return false;
        }
        raft_event!(
            debug,
            self.me,
            self.term,
            Apply,
            "follower commits through index {commit} (was {}; leader's {leader_commit})",
            self.commit_index
        );
        self.commit_index = commit;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tests::follower;
    use raftapi::LogEntry;
    use raftapi::{PeerId, Term};

    fn entry(term: u64) -> LogEntry {
        LogEntry {
            term: Term(term),
            command: vec![term as u8],
        }
    }

    /// Peer 0 of `peers`, leader of `term`, with a log of `terms` and each follower's
    /// `match_index` from `matched` (peer 0's own entry ignored).
    fn leader(peers: usize, term: u64, terms: &[u64], matched: &[u64]) -> State {
        let mut st = follower(0, peers, term - 1);
        for &t in terms {
            st.log.append(entry(t));
        }
        let _ = st.become_candidate();
        assert_eq!(st.term, Term(term));
        st.become_leader();
        if let Role::Leader(l) = &mut st.role {
            for (p, &m) in l.progress.iter_mut().zip(matched) {
                p.match_index = m;
            }
        }
        st
    }

    #[test]
    fn majority_match_is_the_majority_th_largest() {
        assert_eq!(majority_match(vec![5, 3, 9], 2), 5);
        assert_eq!(majority_match(vec![5, 3, 9, 0, 0], 3), 3);
        assert_eq!(majority_match(vec![7], 1), 7);
        assert_eq!(majority_match(vec![4, 4, 1, 1], 3), 1);
        assert_eq!(majority_match(vec![], 1), 0);
    }

    #[test]
    fn leader_commits_an_entry_of_its_term_once_a_majority_holds_it() {
        let mut st = leader(3, 2, &[2, 2, 2], &[0, 0, 0]);
        assert!(!st.advance_leader_commit(), "only the leader holds it");
        if let Role::Leader(l) = &mut st.role {
            l.progress[2].match_index = 2;
        }
        assert!(st.advance_leader_commit());
        assert_eq!(st.commit_index, 2);
        assert!(!st.advance_leader_commit(), "nothing new: no move");
    }

    #[test]
    fn figure_8_an_older_term_on_a_majority_is_not_committed_by_counting() {
        // Leader of term 4 with entries of term 2 (index 1, 2) and none of its own yet; both
        // followers hold them.
        let mut st = leader(3, 4, &[2, 2], &[0, 2, 2]);
        assert!(!st.advance_leader_commit());
        assert_eq!(st.commit_index, 0);
        // Once an entry of term 4 is on a majority, everything before it commits with it.
        st.log.append(entry(4));
        if let Role::Leader(l) = &mut st.role {
            l.progress[1].match_index = 3;
        }
        assert!(st.advance_leader_commit());
        assert_eq!(st.commit_index, 3);
    }

    #[test]
    fn the_commit_index_never_moves_back_on_a_leader() {
        let mut st = leader(5, 3, &[3, 3, 3, 3], &[0, 4, 4, 1, 1]);
        assert!(st.advance_leader_commit());
        assert_eq!(st.commit_index, 4);
        if let Role::Leader(l) = &mut st.role {
            l.progress[1].match_index = 0;
            l.progress[2].match_index = 0;
        }
        assert!(!st.advance_leader_commit());
        assert_eq!(st.commit_index, 4);
    }

    #[test]
    fn a_cluster_of_one_commits_its_own_entries() {
        let mut st = leader(1, 1, &[1], &[]);
        assert!(st.advance_leader_commit());
        assert_eq!(st.commit_index, 1);
    }

    #[test]
    fn only_a_leader_commits_by_counting() {
        let mut st = follower(1, 3, 2);
        st.log.append(entry(2));
        assert!(!st.advance_leader_commit());
        assert_eq!(st.me, PeerId(1));
    }

    #[test]
    fn follower_commits_up_to_the_last_new_entry_not_its_log_end() {
        let mut st = follower(1, 3, 2);
        for t in [1, 1, 2, 2, 2] {
            st.log.append(entry(t));
        }
        // The leader has committed 5, but this request only vouched for entries through 3:
        // our entries 4 and 5 may not be the leader's.
        assert!(st.advance_follower_commit(5, 3));
        assert_eq!(st.commit_index, 3);
        // A leader commit behind ours, or a stale request, never moves it back.
        assert!(!st.advance_follower_commit(2, 5));
        assert!(!st.advance_follower_commit(9, 1));
        assert_eq!(st.commit_index, 3);
        assert!(st.advance_follower_commit(4, 5));
        assert_eq!(st.commit_index, 4);
    }
}
