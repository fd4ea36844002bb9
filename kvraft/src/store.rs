//! The key/value state machine (part 4B): what every server executes, in log order, for each
//! committed request. Pure functions on the map, so each rule is tested in one line.

use std::collections::BTreeMap;

use kvapi::{GetArgs, GetReply, Got, KvError, PutArgs, PutReply, Version};
use raftapi::rsm::StateMachine;
use serde::{Deserialize, Serialize};

/// A request as it goes through the log: every get too, so a get sees every put committed
/// before it (a get answered from a server's own state could be stale: it may be a leader cut
/// off in a minority, which does not know it was replaced).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// `Get(key)`.
    Get(GetArgs),
    /// `Put(key, value, version)`.
    Put(PutArgs),
}

/// The state machine's answer to a [`Request`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// To a get.
    Get(GetReply),
    /// To a put.
    Put(PutReply),
}

/// A key's value and version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The value.
    pub value: String,
    /// The number of puts it has had.
    pub version: Version,
}

/// The get rule: the key's value and version, or `ErrNoKey`.
pub fn get(entry: Option<&Entry>) -> GetReply {
    entry
        .map(|e| Got {
            value: e.value.clone(),
            version: e.version,
        })
        .ok_or(KvError::ErrNoKey)
}

/// The put rule: the version the key gets, or why not. A put installs its value only at the
/// key's current version (0 creates a missing key). The version check is what makes a resent
/// put safe without any state per client: the second copy finds the version moved on.
pub fn put(entry: Option<&Entry>, version: Version) -> Result<Version, KvError> {
    match entry {
        Some(e) if e.version == version => Ok(version + 1),
        Some(_) => Err(KvError::ErrVersion),
        None if version == 0 => Ok(1),
        None => Err(KvError::ErrNoKey),
    }
}

/// Every key's entry: the whole state of a server, and of its snapshot. No state per client
/// is needed (see [`put`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Store {
    map: BTreeMap<String, Entry>,
}

impl Store {
    /// Executes one request.
    pub fn execute(&mut self, request: Request) -> Reply {
        match request {
            Request::Get(args) => Reply::Get(get(self.map.get(&args.key))),
            Request::Put(args) => {
                let decided = put(self.map.get(&args.key), args.version);
                if let Ok(version) = decided {
                    self.map.insert(
                        args.key,
                        Entry {
                            value: args.value,
                            version,
                        },
                    );
                }
                Reply::Put(decided.map(|_| ()))
            }
        }
    }
}

impl StateMachine for Store {
    fn do_op(&mut self, request: &[u8]) -> Vec<u8> {
        let reply = match labrpc::codec::decode::<Request>(request) {
            Ok(request) => self.execute(request),
            // Only this crate's server submits: an entry that does not decode is not ours.
            Err(e) => {
                tracing::error!(target: "kvraft", topic = "error", "a request that does not decode: {e}");
                Reply::Put(Err(KvError::ErrWrongLeader))
            }
        };
        labrpc::codec::encode(&reply).expect("a reply encodes")
    }

    fn snapshot(&mut self) -> Vec<u8> {
        labrpc::codec::encode(self).expect("a store encodes")
    }

    fn restore(&mut self, snapshot: &[u8]) {
        match labrpc::codec::decode::<Store>(snapshot) {
            Ok(store) => *self = store,
            Err(e) => {
                tracing::error!(target: "kvraft", topic = "error", "a snapshot that does not decode: {e}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put_args(key: &str, value: &str, version: Version) -> Request {
        Request::Put(PutArgs {
            key: key.into(),
            value: value.into(),
            version,
        })
    }

    #[test]
    fn a_put_installs_only_at_the_current_version() {
        let e = Entry {
            value: "a".into(),
            version: 3,
        };
        assert_eq!(put(Some(&e), 3), Ok(4));
        assert_eq!(put(Some(&e), 2), Err(KvError::ErrVersion));
        assert_eq!(put(None, 0), Ok(1));
        assert_eq!(put(None, 1), Err(KvError::ErrNoKey));
    }

    #[test]
    fn a_resent_put_finds_the_version_moved_on() {
        let mut s = Store::default();
        assert_eq!(s.execute(put_args("k", "v", 0)), Reply::Put(Ok(())));
        assert_eq!(
            s.execute(put_args("k", "v", 0)),
            Reply::Put(Err(KvError::ErrVersion))
        );
        let got = s.execute(Request::Get(GetArgs { key: "k".into() }));
        assert_eq!(
            got,
            Reply::Get(Ok(Got {
                value: "v".into(),
                version: 1
            }))
        );
    }

    #[test]
    fn a_snapshot_restores_every_key() {
        let mut s = Store::default();
        s.execute(put_args("a", "1", 0));
        s.execute(put_args("b", "2", 0));
        let bytes = s.snapshot();
        let mut t = Store::default();
        t.restore(&bytes);
        assert_eq!(s, t);
    }
}
