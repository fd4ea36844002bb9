//! What Raft persists (Figure 2's "persistent state on all servers") and how it is encoded.
//!
//! # Who owns the encoding: the peer
//!
//! The tester's [`Persister`](crate::Persister) stores opaque bytes, as the Go lab's does; the
//! peer alone decides what they mean. So a student's peer may save whatever it needs (here,
//! the snapshot's base), and the harness never decodes Raft's state: it only copies the
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
//! | 14..22 | the body's checksum, little-endian `u64` (see [`body_checksum`]) |
//! | 22.. | the body: a [`Durable`] encoded with `labrpc::codec` |
//!
//! The body holds the term, the vote, the log's base index and the log from its base on, the
//! dummy entry first. The base is the snapshot's: its index is the last index the snapshot
//! covers and the dummy's term is that entry's term ((0, 0) before any snapshot); the
//! snapshot itself is saved beside this state in the same
//! [`Persister::save`](crate::Persister::save). Saving re-encodes only the entries that changed since the
//! last save ([`Encoder`]): the body's bytes are the same as encoding it whole, but a long log
//! costs a copy per save rather than an encoding of every entry. A later version bumps [`VERSION`] and adds a branch to
//! [`restore`]; bytes of a version this code does not know are refused with a message naming
//! both versions. Truncated or corrupt bytes (wrong length, a body that does not decode, a wrong
//! checksum, a log that cannot be one) are a [`RestoreError`], never a panic: the peer logs it
//! (topic `error`) and starts from a fresh state.

use serde::{Deserialize, Serialize};

use crate::log::{BadLog, Log};
use raftapi::LogEntry;
use raftapi::{PeerId, Term};

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
    /// The body decodes, but its checksum does not match: the bytes were changed after they
    /// were saved.
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

/// Folds `bytes` into `h`, 8 at a time (little-endian, the last word padded with zeros), each by
/// `h = rotl((h ^ word) * K, 29)`. Each step is a bijection of the word, so two inputs of the
/// same length that differ within one word always give different results.
fn fold_words(mut h: u64, bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = mix(h, u64::from_le_bytes(word));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(word));
    }
    h
}

/// One step of [`fold_words`].
fn mix(h: u64, word: u64) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    (h ^ word).wrapping_mul(K).rotate_left(29)
}

/// Where every hash starts.
const SEED: u64 = 0xcbf2_9ce4_8422_2325;

/// The hash of the encoded entry at position `pos` of the log (0 is the dummy).
fn entry_hash(pos: usize, encoded: &[u8]) -> u64 {
    fold_words(SEED ^ pos as u64 ^ ((encoded.len() as u64) << 32), encoded)
}

/// The body's checksum, from the encoding of its fields before the log (`head`: term, vote,
/// log base, number of entries) and the wrapping sum of the entries' hashes, each seeded with
/// its position ([`entry_hash`]). Any change within one word of the head or of one entry changes
/// it; so does moving an entry. Being a sum over entries, a save keeps it up to date in time
/// proportional to the entries that changed, not to the log. Not cryptographic.
pub(crate) fn body_checksum(head: &[u8], entries_sum: u64) -> u64 {
    mix(fold_words(SEED ^ head.len() as u64, head), entries_sum)
}

/// The encoding of the body's fields before the log.
fn encode_head(
    term: Term,
    voted_for: Option<PeerId>,
    log_base: u64,
    entries: usize,
) -> Result<Vec<u8>, labrpc::codec::CodecError> {
    labrpc::codec::encode(&(term, voted_for, log_base, entries as u64))
}

/// Encodes the persistent state for [`Persister::save`](crate::Persister::save), keeping the
/// encoded log entries (and their hashes) between saves, so that each save encodes only the
/// entries that changed and copies the rest.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    /// The log base of the cached entries.
    base: u64,
    /// The encoded entries, one after another.
    entries: Vec<u8>,
    /// Where each cached entry's encoding ends in `entries`.
    ends: Vec<usize>,
    /// Each cached entry's [`entry_hash`].
    hashes: Vec<u64>,
    /// The wrapping sum of `hashes`.
    sum: u64,
}

impl Encoder {
    /// Encodes term, vote and `log` in the current format (see the module documentation).
    /// `changed_from` is the lowest position of `log.entries()` that may differ from the last
    /// call ([`Log::take_changed_from`]); 0 re-encodes everything.
    pub(crate) fn encode(
        &mut self,
        term: Term,
        voted_for: Option<PeerId>,
        log: &Log,
        changed_from: usize,
    ) -> Result<Vec<u8>, labrpc::codec::CodecError> {
        let entries = log.entries();
        let keep = if log.base_index() == self.base {
            changed_from.min(self.ends.len()).min(entries.len())
        } else {
            0
        };
        self.base = log.base_index();
        self.ends.truncate(keep);
        self.entries
            .truncate(self.ends.last().copied().unwrap_or(0));
        for dropped in self.hashes.drain(keep..) {
            self.sum = self.sum.wrapping_sub(dropped);
        }
        for (pos, entry) in entries.iter().enumerate().skip(keep) {
            let encoded = labrpc::codec::encode(entry)?;
            let hash = entry_hash(pos, &encoded);
            self.entries.extend_from_slice(&encoded);
            self.ends.push(self.entries.len());
            self.hashes.push(hash);
            self.sum = self.sum.wrapping_add(hash);
        }
        // The body is `Durable` as the codec writes it: the fields in order, the log as its
        // length then its entries.
        let head = encode_head(term, voted_for, log.base_index(), entries.len())?;
        let body_len = head.len() + self.entries.len();
        let mut bytes = Vec::with_capacity(HEADER_LEN + body_len);
        bytes.extend_from_slice(&MAGIC);
        bytes.extend_from_slice(&VERSION.to_le_bytes());
        bytes.extend_from_slice(&(body_len as u64).to_le_bytes());
        bytes.extend_from_slice(&body_checksum(&head, self.sum).to_le_bytes());
        bytes.extend_from_slice(&head);
        bytes.extend_from_slice(&self.entries);
        Ok(bytes)
    }
}

/// The checksum of a decoded body, computed the way [`Encoder`] computes it when saving.
fn checksum_of(durable: &Durable) -> Result<u64, labrpc::codec::CodecError> {
    let head = encode_head(
        durable.term,
        durable.voted_for,
        durable.log_base,
        durable.log.len(),
    )?;
    let mut sum = 0u64;
    for (pos, entry) in durable.log.iter().enumerate() {
        sum = sum.wrapping_add(entry_hash(pos, &labrpc::codec::encode(entry)?));
    }
    Ok(body_checksum(&head, sum))
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
    let durable: Durable = labrpc::codec::decode(body)?;
    // The codec's encoding is canonical, so the checksum is recomputed from the decoded
    // values: bytes changed after the save decode to other values (or not at all).
    let expected_sum = le_u64(&header[14..22]);
    let found_sum = checksum_of(&durable)?;
    if expected_sum != found_sum {
        return Err(RestoreError::Checksum {
            expected: expected_sum,
            found: found_sum,
        });
    }
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

    /// Encodes the persistent state whole (what [`Encoder`] does with nothing cached).
    fn encode(
        term: Term,
        voted_for: Option<PeerId>,
        log: &Log,
    ) -> Result<Vec<u8>, labrpc::codec::CodecError> {
        Encoder::default().encode(term, voted_for, log, 0)
    }

    fn saved_bytes() -> Vec<u8> {
        encode(Term(5), Some(PeerId(1)), &saved_log()).expect("encodes")
    }

    /// Encodes `Durable` in one go, as the module documentation defines the body.
    fn reference(term: Term, voted_for: Option<PeerId>, log: &Log) -> Vec<u8> {
        framed(&Durable {
            term,
            voted_for,
            log_base: log.base_index(),
            log: log.entries().to_vec(),
        })
    }

    #[test]
    fn saving_only_what_changed_writes_the_same_bytes_as_saving_it_all() {
        let mut encoder = Encoder::default();
        let mut log = Log::new();
        let mut check = |log: &mut Log, term: u64, vote: Option<usize>| {
            let from = log.take_changed_from();
            let vote = vote.map(PeerId);
            let bytes = encoder
                .encode(Term(term), vote, log, from)
                .expect("encodes");
            assert_eq!(bytes, reference(Term(term), vote, log));
            assert_eq!(
                restore(&bytes, 3).map(|r| r.log),
                Ok(log.clone()),
                "and it restores"
            );
        };
        check(&mut log, 0, None);
        for t in [1, 1, 2] {
            log.append(LogEntry {
                term: Term(t),
                command: vec![t as u8; 300],
            });
            check(&mut log, 2, Some(1));
        }
        // A conflict replaces the tail.
        assert!(log.merge(
            1,
            &[LogEntry {
                term: Term(3),
                command: b"new".to_vec()
            }]
        ));
        check(&mut log, 3, Some(2));
        check(&mut log, 4, None);
        // A log with another base (part D) starts the cache over.
        let mut moved = Log::from_parts(
            5,
            vec![
                LogEntry {
                    term: Term(3),
                    command: Vec::new(),
                },
                LogEntry {
                    term: Term(4),
                    command: b"x".to_vec(),
                },
            ],
        )
        .expect("a log");
        let _ = moved.take_changed_from();
        check(&mut moved, 4, None);
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
    fn the_snapshot_base_round_trips_and_a_save_after_a_trim_starts_afresh() {
        let mut log = saved_log();
        let mut encoder = Encoder::default();
        let whole = log.take_changed_from();
        let before = encoder.encode(Term(5), None, &log, whole).expect("encodes");
        assert!(log.compact(2));
        let changed = log.take_changed_from();
        assert_eq!(changed, 0, "a trim moves every position");
        let bytes = encoder
            .encode(Term(5), None, &log, changed)
            .expect("encodes");
        assert!(
            bytes.len() < before.len(),
            "the trimmed entries are not saved"
        );
        let restored = restore(&bytes, 3).expect("restores");
        assert_eq!(restored.log, log);
        assert_eq!(
            (restored.log.base_index(), restored.log.base_term()),
            (2, Term(2))
        );
        assert_eq!(bytes, encode(Term(5), None, &log).expect("encodes"));
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
                matches!(
                    restore(&flipped, 3),
                    Err(RestoreError::Checksum { .. } | RestoreError::Decode(_))
                ),
                "a changed byte at {i} must be caught: {:?}",
                restore(&flipped, 3)
            );
        }
        let mut wrong_sum = bytes.clone();
        wrong_sum[14] ^= 1;
        assert!(matches!(
            restore(&wrong_sum, 3),
            Err(RestoreError::Checksum { .. })
        ));
        let mut padded = saved_bytes();
        padded.push(0);
        assert!(matches!(
            restore(&padded, 3),
            Err(RestoreError::WrongLength { .. })
        ));
    }

    /// Frames `durable` as version 1 with a correct length and checksum, encoding it whole.
    fn framed(durable: &Durable) -> Vec<u8> {
        let body = labrpc::codec::encode(durable).expect("encodes");
        let sum = checksum_of(durable).expect("encodes");
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&VERSION.to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&sum.to_le_bytes());
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
            bytes.extend_from_slice(&[0; 8]);
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
