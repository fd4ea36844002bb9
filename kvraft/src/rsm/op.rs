//! What the rsm puts in the Raft log: the service's request with an id that no other submit,
//! on any server in any life, shares.

use serde::{Deserialize, Serialize};

/// The identity of one submit: the server that made it, a random number drawn when that server
/// (re)started, and a counter. The random part keeps ids of a server's past lives, which may
/// still sit in other peers' logs, from matching the ids of its present one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpId {
    /// The server that submitted it.
    pub server: usize,
    /// Drawn at the server's start.
    pub life: u64,
    /// The submit's number in that life.
    pub seq: u64,
}

/// One log entry of the rsm (Go's suggested `Op{Me, Id, Req}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    /// Who submitted it.
    pub id: OpId,
    /// The service's request, opaque to the rsm.
    pub request: Vec<u8>,
}

impl Op {
    /// The entry's bytes, as passed to Raft's `start`.
    pub fn encode(&self) -> Vec<u8> {
        labrpc::codec::encode(self).expect("an Op always encodes (bytes and integers)")
    }

    /// The entry an applied command holds, or `None` if it is not an rsm entry.
    pub fn decode(bytes: &[u8]) -> Option<Op> {
        labrpc::codec::decode(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_op_survives_the_log() {
        let op = Op {
            id: OpId {
                server: 2,
                life: 77,
                seq: 5,
            },
            request: b"inc".to_vec(),
        };
        assert_eq!(Op::decode(&op.encode()), Some(op));
        assert_eq!(Op::decode(&[0xff; 3]), None);
    }
}
