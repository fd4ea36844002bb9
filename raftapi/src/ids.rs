//! The two numbers Raft must never mix up: terms and peer ids.
//!
//! Both are plain integers on the wire (`#[serde(transparent)]`), but distinct types in the
//! code, so a peer id can never be passed where a term is expected.

use serde::{Deserialize, Serialize};

/// A Raft term: a logical clock that only moves forward. Each term has at most one leader.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Term(pub u64);

impl Term {
    /// The term every peer starts in; no leader is ever elected in it.
    pub const ZERO: Term = Term(0);

    /// The term after this one (what a peer moves to when it starts an election).
    pub fn next(self) -> Term {
        Term(self.0 + 1)
    }
}

impl From<Term> for u64 {
    fn from(term: Term) -> u64 {
        term.0
    }
}

impl std::fmt::Display for Term {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A peer's index in the `peers` list every peer is given (the same order on every peer).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct PeerId(pub usize);

impl PeerId {
    /// The index into the `peers` list.
    pub fn index(self) -> usize {
        self.0
    }
}

impl From<PeerId> for u64 {
    fn from(peer: PeerId) -> u64 {
        peer.0 as u64
    }
}

/// Shown as `S3`, the way the lab's logs name servers.
impl std::fmt::Display for PeerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "S{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_only_move_forward_by_one() {
        assert_eq!(Term::ZERO.next(), Term(1));
        assert!(Term(2) > Term(1));
    }

    #[test]
    fn ids_encode_as_plain_integers() {
        let as_term = labrpc::codec::encode(&Term(7)).expect("encodes");
        let as_int = labrpc::codec::encode(&7u64).expect("encodes");
        assert_eq!(as_term, as_int);
        assert_eq!(PeerId(3).to_string(), "S3");
    }
}
