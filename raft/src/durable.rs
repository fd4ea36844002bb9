//! What Raft persists (Figure 2's "persistent state on all servers") and how it is encoded.
//!
//! # Who owns the encoding: the peer
//!
//! The tester's [`Persister`](crate::Persister) stores opaque bytes, as the Go lab's does; the
//! peer alone decides what they mean. So a student's peer may save whatever it needs (part D
//! adds the snapshot's base), and the harness never decodes Raft's state: it only copies the
//! bytes across crashes and measures their size (`LogSize()` of part D).
//!
//! # When it is saved
//!
//! On every change to the term, the vote or the log, under the peer's lock, before the change
//! can show outside the peer: before the reply of the RPC that caused it, and before any RPC
//! built from it is sent. A vote, once granted, survives a crash, so no peer votes twice in a
//! term; an entry, once acknowledged to a leader, survives a crash, so a commit never counts a
//! replica that may forget it.
//!
//! # The format (version 1)
//!
//! | bytes | what |
//! |---|---|
//! | 0..4 | [`MAGIC`], `b"RAFT"` |
//! | 4..6 | the format version, little-endian `u16` ([`VERSION`]) |
//! | 6..14 | the body's length in bytes, little-endian `u64` |
//! | 14..22 | the body's FNV-1a 64-bit checksum, little-endian `u64` |
//! | 22.. | the body: a [`Durable`] encoded with `labrpc::codec` |
//!
//! The body holds the term, the vote, the log's base index (0 until part D) and the log from
//! its base on, the dummy entry first. A later version bumps [`VERSION`] and adds a branch to
//! [`restore`]; bytes of a version this code does not know are refused with a message naming
//! both versions. Truncated or corrupt bytes (wrong length, wrong checksum, a body that does not
//! decode, a log that cannot be one) are a [`RestoreError`], never a panic: the peer logs it
//! (topic `error`) and starts from a fresh state.

use serde::{Deserialize, Serialize};

use crate::ids::{PeerId, Term};
use crate::log::{BadLog, Log};
use crate::messages::LogEntry;

/// The first bytes of every saved Raft state.
pub(crate) const MAGIC: [u8; 4] = *b"RAFT";
/// The format version this code writes (and the only one it reads).
pub(crate) const VERSION: u16 = 1;
/// The header: magic, version, body length, checksum.
const HEADER_LEN: usize = 4 + 2 + 8 + 8;

/// Why saved bytes cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RestoreError {
    /// Fewer bytes than the header needs.
    #[error(
        "the saved Raft state is truncated: {len} bytes, fewer than the {HEADER_LEN}-byte header"
    )]
    TooShort {
        /// How many bytes there were.
        len: usize,
    },
    /// The bytes do not start with [`MAGIC`]: not written by this code.
    #[error(
        "the saved Raft state does not start with {MAGIC:?} but with {found:?}: it was not \
         written by this peer's persist()"
    )]
    BadMagic {
        /// The first four bytes.
        found: [u8; 4],
    },
    /// A format version this code does not read.
    #[error(
        "the saved Raft state has format version {found}, but this peer reads only version \
         {VERSION}"
    )]
    UnsupportedVersion {
        /// The version in the header.
        found: u16,
    },
    /// The body is shorter or longer than the header says.
    #[error(
        "the saved Raft state is truncated or padded: the header promises a {expected}-byte \
         body, but {found} bytes follow it"
    )]
    WrongLength {
        /// The length in the header.
        expected: u64,
        /// The bytes after the header.
        found: u64,
    },
    /// The body's checksum does not match: the bytes were changed after they were saved.
    #[error(
        "the saved Raft state is corrupt: its checksum is {found:#018x}, but the header says \
         {expected:#018x}"
    )]
    Checksum {
        /// The checksum in the header.
        expected: u64,
        /// The checksum of the body as read.
        found: u64,
    },
    /// The body is not an encoded [`Durable`].
    #[error("the saved Raft state does not decode: {0}")]
    Decode(#[from] labrpc::codec::CodecError),
    /// The entries cannot be a log.
    #[error("{0}")]
    BadLog(#[from] BadLog),
    /// The saved vote names a peer the cluster does not have.
    #[error("the saved vote is for {voted_for}, but the cluster has only {peers} peers")]
    UnknownPeer {
        /// The saved vote.
        voted_for: PeerId,
        /// How many peers the cluster has.
        peers: usize,
    },
    /// The log holds an entry of a term later than the saved current term.
    #[error(
        "the saved log ends with an entry of term {last_term}, later than the saved current \
         term {term}"
    )]
    TermBehindLog {
        /// The saved current term.
        term: Term,
        /// The term of the last entry.
        last_term: Term,
    },
}

/// The persistent state, as encoded in the body (version 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Durable {
    /// The current term.
    pub(crate) term: Term,
    /// The vote in `term`.
    pub(crate) voted_for: Option<PeerId>,
    /// The index of `log[0]`, the dummy entry (0 until part D).
    pub(crate) log_base: u64,
    /// The log from its base on, the dummy first.
    pub(crate) log: Vec<LogEntry>,
}

/// The same as [`Durable`], borrowing the log, so a save does not copy it first.
#[derive(Serialize)]
struct DurableRef<'a> {
    term: Term,
    voted_for: Option<PeerId>,
    log_base: u64,
    log: &'a [LogEntry],
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

/// FNV-1a, 64 bits: a checksum that catches changed and swapped bytes. Not cryptographic.
fn checksum(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

/// Encodes the persistent state for [`Persister::save`](crate::Persister::save), in the
/// current format (see the module documentation).
pub(crate) fn encode(
    term: Term,
    voted_for: Option<PeerId>,
    log: &Log,
) -> Result<Vec<u8>, labrpc::codec::CodecError> {
    let body = labrpc::codec::encode(&DurableRef {
        term,
        voted_for,
        log_base: log.base_index(),
        log: log.entries(),
    })?;
    let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&checksum(&body).to_le_bytes());
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

/// Reads a little-endian number from exactly its width of bytes.
fn le_u64(bytes: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(bytes);
    u64::from_le_bytes(buf)
}

/// Restores the state saved in `bytes` by a peer of a cluster of `peers`; empty bytes mean a
/// peer that has never saved.
pub(crate) fn restore(bytes: &[u8], peers: usize) -> Result<Restored, RestoreError> {
    if bytes.is_empty() {
        return Ok(Restored::default());
    }
    if bytes.len() < HEADER_LEN {
        return Err(RestoreError::TooShort { len: bytes.len() });
    }
    let (header, body) = bytes.split_at(HEADER_LEN);
    let mut magic = [0u8; 4];
    magic.copy_from_slice(&header[0..4]);
    if magic != MAGIC {
        return Err(RestoreError::BadMagic { found: magic });
    }
    let version = u16::from_le_bytes([header[4], header[5]]);
    if version != VERSION {
        return Err(RestoreError::UnsupportedVersion { found: version });
    }
    let expected_len = le_u64(&header[6..14]);
    if expected_len != body.len() as u64 {
        return Err(RestoreError::WrongLength {
            expected: expected_len,
            found: body.len() as u64,
        });
    }
    let expected_sum = le_u64(&header[14..22]);
    let found_sum = checksum(body);
    if expected_sum != found_sum {
        return Err(RestoreError::Checksum {
            expected: expected_sum,
            found: found_sum,
        });
    }
    let durable: Durable = labrpc::codec::decode(body)?;
    if let Some(voted_for) = durable.voted_for {
        if voted_for.index() >= peers {
            return Err(RestoreError::UnknownPeer { voted_for, peers });
        }
    }
    let log = Log::from_parts(durable.log_base, durable.log)?;
    if log.last_term() > durable.term {
        return Err(RestoreError::TermBehindLog {
            term: durable.term,
            last_term: log.last_term(),
        });
    }
    Ok(Restored {
        term: durable.term,
        voted_for: durable.voted_for,
        log,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved_log() -> Log {
        let mut log = Log::new();
        for (term, command) in [(1, "x=1"), (2, "y=2"), (2, "put")] {
            log.append(LogEntry {
                term: Term(term),
                command: command.as_bytes().to_vec(),
            });
        }
        log
    }

    fn saved_bytes() -> Vec<u8> {
        encode(Term(5), Some(PeerId(1)), &saved_log()).expect("encodes")
    }

    #[test]
    fn empty_bytes_restore_a_fresh_peer() {
        assert_eq!(restore(&[], 3), Ok(Restored::default()));
    }

    #[test]
    fn saved_state_round_trips() {
        assert_eq!(
            restore(&saved_bytes(), 3),
            Ok(Restored {
                term: Term(5),
                voted_for: Some(PeerId(1)),
                log: saved_log(),
            })
        );
    }

    #[test]
    fn the_header_names_the_format_and_its_version() {
        let bytes = saved_bytes();
        assert_eq!(&bytes[0..4], b"RAFT");
        assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), VERSION);
        assert_eq!(le_u64(&bytes[6..14]), (bytes.len() - HEADER_LEN) as u64);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = saved_bytes();
        for len in 1..bytes.len() {
            let cut = &bytes[..len];
            let err = restore(cut, 3).expect_err("a truncated state must be refused");
            if len < HEADER_LEN {
                assert_eq!(err, RestoreError::TooShort { len });
            } else {
                assert!(
                    matches!(err, RestoreError::WrongLength { .. }),
                    "cut at {len}: {err}"
                );
            }
            assert!(err.to_string().contains("truncated"), "{err}");
        }
    }

    #[test]
    fn garbage_and_changed_bytes_are_refused_with_a_reason() {
        assert_eq!(
            restore(&[0xff; 3], 3),
            Err(RestoreError::TooShort { len: 3 })
        );
        assert_eq!(
            restore(&[0xab; 40], 3),
            Err(RestoreError::BadMagic { found: [0xab; 4] })
        );
        // The format before versioning had no header at all.
        let unversioned =
            labrpc::codec::encode(&(Term(3), Some(PeerId(0)), vec![0u8; 30])).expect("encodes");
        assert!(matches!(
            restore(&unversioned, 3),
            Err(RestoreError::BadMagic { .. })
        ));

        let mut newer = saved_bytes();
        newer[4..6].copy_from_slice(&2u16.to_le_bytes());
        let err = restore(&newer, 3).expect_err("an unknown version");
        assert_eq!(err, RestoreError::UnsupportedVersion { found: 2 });
        assert!(err.to_string().contains("version 2"), "{err}");

        let bytes = saved_bytes();
        for i in HEADER_LEN..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x10;
            assert!(
                matches!(restore(&flipped, 3), Err(RestoreError::Checksum { .. })),
                "a changed byte at {i} must be caught"
            );
        }
        let mut padded = saved_bytes();
        padded.push(0);
        assert!(matches!(
            restore(&padded, 3),
            Err(RestoreError::WrongLength { .. })
        ));
    }

    /// Frames `body` as version 1 with a correct length and checksum.
    fn framed(body: &Durable) -> Vec<u8> {
        let body = labrpc::codec::encode(body).expect("encodes");
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&VERSION.to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&checksum(&body).to_le_bytes());
        bytes.extend_from_slice(&body);
        bytes
    }

    #[test]
    fn well_framed_bytes_that_cannot_be_a_state_are_refused() {
        let good = Durable {
            term: Term(5),
            voted_for: Some(PeerId(1)),
            log_base: 0,
            log: saved_log().entries().to_vec(),
        };
        assert!(restore(&framed(&good), 3).is_ok());

        let garbage_body = {
            let mut bytes = MAGIC.to_vec();
            let body = [0xffu8; 16];
            bytes.extend_from_slice(&VERSION.to_le_bytes());
            bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
            bytes.extend_from_slice(&checksum(&body).to_le_bytes());
            bytes.extend_from_slice(&body);
            bytes
        };
        assert!(matches!(
            restore(&garbage_body, 3),
            Err(RestoreError::Decode(_))
        ));

        let no_dummy = Durable {
            log: Vec::new(),
            ..good.clone()
        };
        assert_eq!(
            restore(&framed(&no_dummy), 3),
            Err(RestoreError::BadLog(BadLog::Empty))
        );
        assert_eq!(
            restore(&good_with_vote(&good, 3), 3),
            Err(RestoreError::UnknownPeer {
                voted_for: PeerId(3),
                peers: 3
            })
        );
        let behind = Durable {
            term: Term(1),
            ..good
        };
        assert_eq!(
            restore(&framed(&behind), 3),
            Err(RestoreError::TermBehindLog {
                term: Term(1),
                last_term: Term(2)
            })
        );
    }

    fn good_with_vote(good: &Durable, vote: usize) -> Vec<u8> {
        framed(&Durable {
            voted_for: Some(PeerId(vote)),
            ..good.clone()
        })
    }
}
