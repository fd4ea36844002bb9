//! What the monitor reads of an `AppendEntries` request, decoded straight from the bytes on the
//! wire: each entry's command is borrowed from them, not copied.
//!
//! The monitor sees every `AppendEntries` sent, and decoding each one as a
//! `raftapi::AppendEntriesArgs` allocated every entry's command, only for it to be compared and
//! dropped: in the part-C graders that was most of what the monitor cost. [`AppendEntries`]
//! holds the fields the rules read, and [`AppendEntries::decode`] accepts exactly the bytes that
//! decode as an `AppendEntriesArgs` (every field in order, nothing left over), so a message the
//! monitor cannot read is refused as before.

use labrpc::codec::{self, CodecError};
use raftapi::{AppendEntriesArgs, PeerId, Term};
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
/// let read = AppendEntries::decode(&bytes).expect("an AppendEntriesArgs");
/// assert_eq!(read, AppendEntries::from(&args));
/// assert_eq!(read.entries[0].command, b"x");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendEntries<'a> {
    /// The leader's term.
    pub term: Term,
    /// The index of the entry just before `entries`.
    pub prev_log_index: u64,
    /// The entries, from index `prev_log_index + 1` on.
    pub entries: Vec<Entry<'a>>,
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

/// `raftapi::AppendEntriesArgs` field by field, in its order, as the codec writes it.
#[derive(Deserialize)]
struct Wire<'a> {
    term: Term,
    #[serde(rename = "leader_id")]
    _leader_id: PeerId,
    prev_log_index: u64,
    #[serde(rename = "prev_log_term")]
    _prev_log_term: Term,
    #[serde(borrow)]
    entries: Vec<Entry<'a>>,
    #[serde(rename = "leader_commit")]
    _leader_commit: u64,
}

impl<'a> AppendEntries<'a> {
    /// Reads `bytes` written as an `AppendEntriesArgs`; the error names that type.
    pub fn decode(bytes: &'a [u8]) -> Result<AppendEntries<'a>, CodecError> {
        match codec::decode_borrowed::<Wire<'a>>(bytes) {
            Ok(w) => Ok(AppendEntries {
                term: w.term,
                prev_log_index: w.prev_log_index,
                entries: w.entries,
            }),
            Err(CodecError::Decode { len, detail, .. }) => Err(CodecError::Decode {
                type_name: std::any::type_name::<AppendEntriesArgs>(),
                len,
                detail,
            }),
            Err(e) => Err(e),
        }
    }
}

impl<'a> From<&'a AppendEntriesArgs> for AppendEntries<'a> {
    fn from(args: &'a AppendEntriesArgs) -> AppendEntries<'a> {
        AppendEntries {
            term: args.term,
            prev_log_index: args.prev_log_index,
            entries: args
                .entries
                .iter()
                .map(|e| Entry {
                    term: e.term,
                    command: &e.command,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raftapi::LogEntry;

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

    #[test]
    fn reads_what_the_codec_wrote() {
        for a in [
            args(&[]),
            args(&[(6, b""), (7, b"put x 1"), (7, &[0; 300])]),
        ] {
            let bytes = codec::encode(&a).expect("encodes");
            let read = AppendEntries::decode(&bytes).expect("decodes");
            assert_eq!(read, AppendEntries::from(&a));
        }
    }

    #[test]
    fn refuses_what_an_append_entries_args_refuses() {
        let bytes = codec::encode(&args(&[(7, b"put x 1")])).expect("encodes");
        let mut longer = bytes.clone();
        longer.push(0);
        for bad in [&bytes[..bytes.len() - 1], &longer[..], &[][..]] {
            let ours = AppendEntries::decode(bad).expect_err("not an AppendEntriesArgs");
            let theirs =
                codec::decode::<AppendEntriesArgs>(bad).expect_err("not an AppendEntriesArgs");
            assert_eq!(ours, theirs);
        }
    }
}
