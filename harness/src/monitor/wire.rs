//! What the monitor reads of an `AppendEntries` request, decoded straight from the bytes on the
//! wire: each entry's command is borrowed from them, not copied.
//!
//! The monitor sees every `AppendEntries` sent, and decoding each one as a
//! `raftapi::AppendEntriesArgs` allocated every entry's command, only for it to be compared and
//! dropped: in the part-C graders that was most of what the monitor cost. [`AppendEntries`]
//! holds the fields the rules read, its entries left in the bytes and read as they are walked,
//! and [`AppendEntries::decode`] accepts exactly the bytes that decode as an `AppendEntriesArgs`
//! (every field in order, nothing left over), so a message the monitor cannot read is refused
//! as before.
//!
//! Decoding reads the codec's format (postcard's) directly: integers as LEB128 varints, a
//! byte string or a sequence as its length, then its items. Serde's machinery cost more per
//! entry than all the monitor's checks of it. The direct reader accepts only what the codec
//! accepts, with the same values (it refuses varints longer than 9 bytes, which the codec
//! would take); whatever it refuses is decoded again through serde, which accepts it or says
//! why not in the codec's own words.

use labrpc::codec::{self, CodecError};
use raftapi::{AppendEntriesArgs, LogEntry, Term};
use serde::Deserialize;

/// An `AppendEntries` request as the monitor reads it.
///
/// ```
/// use harness::monitor::AppendEntries;
/// use raftapi::{AppendEntriesArgs, LogEntry, PeerId, Term};
///
/// let args = AppendEntriesArgs {
///     term: Term(3),
///     leader_id: PeerId(1),
///     prev_log_index: 4,
///     prev_log_term: Term(2),
///     entries: vec![LogEntry { term: Term(3), command: b"x".to_vec() }],
///     leader_commit: 4,
/// };
/// let bytes = labrpc::codec::encode(&args).expect("encodes");
/// let mut scratch = harness::monitor::Scratch::default();
/// let read = AppendEntries::decode(&bytes, &mut scratch).expect("an AppendEntriesArgs");
/// assert_eq!(read, AppendEntries::from(&args));
/// assert_eq!(read.entries.iter().next().map(|e| e.command), Some(&b"x"[..]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendEntries<'a> {
    /// The leader's term.
    pub term: Term,
    /// The index of the entry just before `entries`.
    pub prev_log_index: u64,
    /// The entries, from index `prev_log_index + 1` on.
    pub entries: Entries<'a>,
}

/// One entry of an [`AppendEntries`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Entry<'a> {
    /// The term in which a leader received it.
    pub term: Term,
    /// The service's command.
    #[serde(borrow)]
    pub command: &'a [u8],
}

/// The entries of an [`AppendEntries`]: where each one's command lies in the bytes it was
/// decoded from (or, for one made [`from`](From) an `AppendEntriesArgs` or a list of
/// [`Entry`], those).
#[derive(Debug, Clone, Copy)]
pub struct Entries<'a>(Source<'a>);

#[derive(Debug, Clone, Copy)]
enum Source<'a> {
    /// Commands at `spans` in `bytes`.
    Spans {
        bytes: &'a [u8],
        spans: &'a [Span],
    },
    Listed(&'a [Entry<'a>]),
    Owned(&'a [LogEntry]),
}

/// One entry's term and where its command lies.
#[derive(Debug, Clone, Copy)]
struct Span {
    term: Term,
    start: usize,
    end: usize,
}

/// Room for the entries of the `AppendEntries` being read, reused from one message to the next
/// (and, for a message the direct reader does not know, the message decoded whole).
#[derive(Debug, Default)]
pub struct Scratch {
    spans: Vec<Span>,
    decoded: Option<AppendEntriesArgs>,
}

impl<'a> Entries<'a> {
    /// How many entries there are.
    pub fn len(&self) -> usize {
        match self.0 {
            Source::Spans { spans, .. } => spans.len(),
            Source::Listed(e) => e.len(),
            Source::Owned(e) => e.len(),
        }
    }

    /// Whether there are none (a heartbeat).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = Entry<'a>> + 'a {
        let mut source = self.0;
        std::iter::from_fn(move || match &mut source {
            Source::Spans { bytes, spans } => {
                let (first, tail) = spans.split_first()?;
                *spans = tail;
                Some(Entry {
                    term: first.term,
                    command: bytes.get(first.start..first.end)?,
                })
            }
            Source::Listed(rest) => {
                let (first, tail) = rest.split_first()?;
                *rest = tail;
                Some(*first)
            }
            Source::Owned(rest) => {
                let (first, tail) = rest.split_first()?;
                *rest = tail;
                Some(Entry {
                    term: first.term,
                    command: &first.command,
                })
            }
        })
    }
}

impl<'a> From<&'a [Entry<'a>]> for Entries<'a> {
    fn from(entries: &'a [Entry<'a>]) -> Entries<'a> {
        Entries(Source::Listed(entries))
    }
}

impl PartialEq for Entries<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Entries<'_> {}

/// Whether `AppendEntriesArgs` and `LogEntry`, as this harness was built, are the given types
/// field for field, as the codec writes them: a probe with a distinct value in each field
/// encodes to exactly those values in order. A submission's messages with an added field (the
/// harness is built with its `messages.rs` under `harness grade`) encode otherwise, and are
/// then always decoded whole.
fn given_layout() -> bool {
    static GIVEN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *GIVEN.get_or_init(|| {
        let probe = AppendEntriesArgs {
            term: Term(1),
            leader_id: raftapi::PeerId(2),
            prev_log_index: 3,
            prev_log_term: Term(4),
            entries: vec![LogEntry {
                term: Term(5),
                command: vec![6],
                ..Default::default()
            }],
            leader_commit: 7,
            ..Default::default()
        };
        codec::encode(&probe).is_ok_and(|bytes| bytes == [1, 2, 3, 4, 1, 5, 1, 6, 7])
    })
}

/// Reads the codec's format from the front of a byte slice.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    /// A LEB128 varint of at most 9 bytes (values below 2^63).
    fn varint(&mut self) -> Option<u64> {
        let rest = self.bytes.get(self.at..)?;
        // Most are one byte: terms, indexes of short logs, lengths of commands.
        let &first = rest.first()?;
        if first & 0x80 == 0 {
            self.at += 1;
            return Some(u64::from(first));
        }
        let mut value = 0u64;
        for (i, &byte) in rest.iter().take(9).enumerate() {
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                self.at += i + 1;
                return Some(value);
            }
        }
        None
    }

    /// One `LogEntry`: its term, then its command (a length, then that many bytes).
    fn entry(&mut self) -> Option<Span> {
        let term = Term(self.varint()?);
        let len = usize::try_from(self.varint()?).ok()?;
        let start = self.at;
        let end = start
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())?;
        self.at = end;
        Some(Span { term, start, end })
    }

    /// A whole `AppendEntriesArgs`, nothing left over; its entries' spans into `spans`.
    fn append_entries(mut self, spans: &mut Vec<Span>) -> Option<(Term, u64)> {
        let term = Term(self.varint()?);
        let _leader_id = usize::try_from(self.varint()?).ok()?;
        let prev_log_index = self.varint()?;
        let _prev_log_term = self.varint()?;
        let len = usize::try_from(self.varint()?).ok()?;
        for _ in 0..len {
            spans.push(self.entry()?);
        }
        let _leader_commit = self.varint()?;
        (self.at == self.bytes.len()).then_some((term, prev_log_index))
    }
}

impl<'a> AppendEntries<'a> {
    /// Reads `bytes` written as an `AppendEntriesArgs`, noting its entries in `scratch`; the
    /// error names that type.
    pub fn decode(bytes: &'a [u8], scratch: &'a mut Scratch) -> Result<Self, CodecError> {
        let Scratch { spans, decoded } = scratch;
        spans.clear();
        // Only the given layout can be read field by field: a field a submission added would
        // be read as the next one's value (and a message might still come out whole).
        let read = if given_layout() {
            (Reader { bytes, at: 0 }).append_entries(spans)
        } else {
            None
        };
        match read {
            Some((term, prev_log_index)) => Ok(AppendEntries {
                term,
                prev_log_index,
                entries: Entries(Source::Spans { bytes, spans }),
            }),
            None => {
                // The direct reader knows the given type's fields only. A submission's
                // messages may add fields (with defaults), and the harness is built with its
                // `AppendEntriesArgs`: anything else is decoded as that type, whole.
                spans.clear();
                let args = codec::decode::<AppendEntriesArgs>(bytes)?;
                Ok(AppendEntries::from(&*decoded.insert(args)))
            }
        }
    }
}

impl<'a> From<&'a AppendEntriesArgs> for AppendEntries<'a> {
    fn from(args: &'a AppendEntriesArgs) -> AppendEntries<'a> {
        AppendEntries {
            term: args.term,
            prev_log_index: args.prev_log_index,
            entries: Entries(Source::Owned(&args.entries)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raftapi::PeerId;

    fn args(entries: &[(u64, &[u8])]) -> AppendEntriesArgs {
        AppendEntriesArgs {
            term: Term(7),
            leader_id: PeerId(2),
            prev_log_index: 10,
            prev_log_term: Term(6),
            entries: entries
                .iter()
                .map(|&(t, c)| LogEntry {
                    term: Term(t),
                    command: c.to_vec(),
                })
                .collect(),
            leader_commit: 9,
        }
    }

    /// What `bytes` decode to, read by the monitor and by the codec as an `AppendEntriesArgs`.
    #[allow(clippy::type_complexity)]
    fn both(
        bytes: &[u8],
    ) -> (
        Result<(Term, u64, Vec<(Term, Vec<u8>)>), CodecError>,
        Result<(Term, u64, Vec<(Term, Vec<u8>)>), CodecError>,
    ) {
        let mut scratch = Scratch::default();
        let ours = AppendEntries::decode(bytes, &mut scratch).map(|a| {
            let entries = a.entries.iter().map(|e| (e.term, e.command.to_vec()));
            (a.term, a.prev_log_index, entries.collect())
        });
        let theirs = codec::decode::<AppendEntriesArgs>(bytes).map(|a| {
            let entries = a.entries.into_iter().map(|e| (e.term, e.command));
            (a.term, a.prev_log_index, entries.collect())
        });
        (ours, theirs)
    }

    /// The given types are read field by field (the probe matches them); a type with a field
    /// of its own would not match and is decoded whole (the grade test of a submission that
    /// adds a field to every message runs that path end to end).
    #[test]
    fn the_given_types_have_the_given_layout() {
        assert!(given_layout());
    }

    #[test]
    fn reads_what_the_codec_wrote() {
        for a in [
            args(&[]),
            args(&[(6, b""), (7, b"put x 1"), (7, &[0; 300])]),
        ] {
            let bytes = codec::encode(&a).expect("encodes");
            let mut scratch = Scratch::default();
            let read = AppendEntries::decode(&bytes, &mut scratch).expect("decodes");
            assert_eq!(read, AppendEntries::from(&a));
            assert_eq!(read.entries.len(), a.entries.len());
        }
    }

    #[test]
    fn agrees_with_the_codec_on_every_cut_and_every_changed_byte() {
        let bytes = codec::encode(&args(&[(6, b"ab"), (7, b"put x 1"), (300, &[9; 200])]))
            .expect("encodes");
        let mut variants: Vec<Vec<u8>> = (0..=bytes.len()).map(|n| bytes[..n].to_vec()).collect();
        for i in 0..bytes.len() {
            for byte in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut v = bytes.clone();
                v[i] = byte;
                variants.push(v);
            }
        }
        let mut longer = bytes.clone();
        longer.push(0);
        variants.push(longer);
        for v in &variants {
            let (ours, theirs) = both(v);
            assert_eq!(ours, theirs, "{v:?}");
        }
    }

    #[test]
    fn long_varints_are_read_through_serde() {
        // 2 as a 10-byte varint: the codec takes it; the direct reader leaves it to serde.
        let mut bytes = vec![0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
        bytes.extend_from_slice(&[1, 3, 2, 1, 2, 1, b'z', 0]);
        let (ours, theirs) = both(&bytes);
        assert_eq!(ours, theirs);
        let (term, prev, entries) = ours.expect("decodes");
        assert_eq!(
            (term, prev, entries),
            (Term(2), 3, vec![(Term(2), b"z".to_vec())])
        );
    }
}
