//! The RPC messages of the key/value labs (Go `kvsrv1/rpc/rpc.go`), shared by Lab 2 and Lab 4.

use serde::{Deserialize, Serialize};

/// A key's version: the number of puts it has had (Go `rpc.Tversion`). A missing key has
/// version 0, and a put at version 0 creates it.
pub type Version = u64;

/// Why a get or put did not do what was asked (Go `rpc.Err`, whose `OK` is `Ok(..)` here).
/// `Display` prints the Go name, which students search for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
pub enum KvError {
    /// The key does not exist (a get), or a put named a version other than 0 for a key that
    /// does not exist.
    #[error("ErrNoKey")]
    ErrNoKey,
    /// The put named a version that is not the key's.
    #[error("ErrVersion")]
    ErrVersion,
    /// Clerk only: a *resent* put got [`KvError::ErrVersion`], so it may have been executed
    /// the first time (its reply was lost) or not at all (another clerk's put came first).
    #[error("ErrMaybe")]
    ErrMaybe,
    /// Lab 4: the server is not its group's leader; try another.
    #[error("ErrWrongLeader")]
    ErrWrongLeader,
}

/// `Get(key)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetArgs {
    /// The key.
    pub key: String,
}

/// What a get found: the value and its version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Got {
    /// The value.
    pub value: String,
    /// The key's version (the number of puts it has had).
    pub version: Version,
}

/// The reply to [`GetArgs`]: the value and version, or [`KvError::ErrNoKey`].
pub type GetReply = Result<Got, KvError>;

/// `Put(key, value, version)`: install `value` if the key's version is `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutArgs {
    /// The key.
    pub key: String,
    /// The new value.
    pub value: String,
    /// The version the client read (0 to create the key).
    pub version: Version,
}

/// The reply to [`PutArgs`]: done, or [`KvError::ErrVersion`] / [`KvError::ErrNoKey`].
pub type PutReply = Result<(), KvError>;
