//! What Raft persists (Figure 2's "persistent state on all servers") and how it is encoded.
//!
//! The state is saved, with `labrpc::codec`, on every change to any of its fields, before the
//! peer answers anyone: a vote, once granted, survives a crash, so no peer votes twice in a term.

use serde::{Deserialize, Serialize};

use crate::ids::{PeerId, Term};
use crate::log::Log;
use crate::messages::LogEntry;

/// Why saved bytes cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RestoreError {
    /// The bytes are not an encoded [`Durable`].
    #[error("the saved Raft state does not decode: {0}")]
    Decode(#[from] labrpc::codec::CodecError),
    /// The log does not start with the dummy entry of term 0.
    #[error("the saved log does not start with the dummy entry of term 0")]
    NoDummyEntry,
}

/// The persistent state: current term, vote in that term, and the log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Durable {
    pub(crate) term: Term,
    pub(crate) voted_for: Option<PeerId>,
    pub(crate) log: Vec<LogEntry>,
}

/// The restored state: term, vote and a log that is known to be well formed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Restored {
    pub(crate) term: Term,
    pub(crate) voted_for: Option<PeerId>,
    pub(crate) log: Log,
}

impl Default for Restored {
    /// The state of a peer that has never run: term 0, no vote, only the dummy entry.
    fn default() -> Self {
        Restored {
            term: Term::ZERO,
            voted_for: None,
            log: Log::new(),
        }
    }
}

impl Durable {
    /// Encodes the state for [`Persister::save`](crate::Persister::save).
    pub(crate) fn encode(&self) -> Result<Vec<u8>, labrpc::codec::CodecError> {
        labrpc::codec::encode(self)
    }
}

/// Restores the state saved in `bytes`; empty bytes mean a peer that has never saved.
pub(crate) fn restore(bytes: &[u8]) -> Result<Restored, RestoreError> {
    if bytes.is_empty() {
        return Ok(Restored::default());
    }
    let durable: Durable = labrpc::codec::decode(bytes)?;
    let log = Log::from_entries(durable.log).ok_or(RestoreError::NoDummyEntry)?;
    Ok(Restored {
        term: durable.term,
        voted_for: durable.voted_for,
        log,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_bytes_restore_a_fresh_peer() {
        assert_eq!(restore(&[]), Ok(Restored::default()));
    }

    #[test]
    fn saved_state_round_trips() {
        let mut log = Log::new();
        log.append(LogEntry {
            term: Term(2),
            command: b"put".to_vec(),
        });
        let durable = Durable {
            term: Term(5),
            voted_for: Some(PeerId(1)),
            log: log.entries().to_vec(),
        };
        let bytes = durable.encode().expect("encodes");
        assert_eq!(
            restore(&bytes),
            Ok(Restored {
                term: Term(5),
                voted_for: Some(PeerId(1)),
                log
            })
        );
    }

    #[test]
    fn garbage_and_logs_without_the_dummy_are_refused() {
        assert!(matches!(restore(&[0xff; 3]), Err(RestoreError::Decode(_))));
        let no_dummy = Durable {
            term: Term(1),
            voted_for: None,
            log: Vec::new(),
        };
        let bytes = no_dummy.encode().expect("encodes");
        assert_eq!(restore(&bytes), Err(RestoreError::NoDummyEntry));
    }
}
