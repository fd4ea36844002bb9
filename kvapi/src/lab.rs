//! The calls the tester makes: on a clerk, on a lock, and on Lab 2's service as a whole.

use std::future::Future;

use labrpc::Service;

use crate::{Clnt, Got, KvError, Version};

/// A key/value clerk, as the tester drives it (Go `kvtest.IKVClerk`). Every call returns only
/// once it has an answer: a clerk resends until one comes.
///
/// Write the methods as `async fn`: the futures must be `Send`, so hold no lock guard across
/// an `.await`.
pub trait Clerk: Send + Sync + 'static {
    /// `Get(key)`: the value and version, or [`KvError::ErrNoKey`].
    fn get(&self, key: &str) -> impl Future<Output = Result<Got, KvError>> + Send;

    /// `Put(key, value, version)`: installs `value` if the key's version is `version`.
    /// [`KvError::ErrVersion`] when it is not (on the first try), [`KvError::ErrMaybe`] when a
    /// resent put got `ErrVersion`, [`KvError::ErrNoKey`] for a missing key and a version
    /// other than 0.
    fn put(
        &self,
        key: &str,
        value: &str,
        version: Version,
    ) -> impl Future<Output = Result<(), KvError>> + Send;
}

impl<C: Clerk> Clerk for std::sync::Arc<C> {
    fn get(&self, key: &str) -> impl Future<Output = Result<Got, KvError>> + Send {
        C::get(self, key)
    }

    fn put(
        &self,
        key: &str,
        value: &str,
        version: Version,
    ) -> impl Future<Output = Result<(), KvError>> + Send {
        C::put(self, key, value, version)
    }
}

/// A lock kept in the key/value service (Go `lock.Lock`): at most one holder at a time,
/// among every lock of the same name.
pub trait Lock: Send + Sync + 'static {
    /// Waits until this client holds the lock.
    fn acquire(&self) -> impl Future<Output = ()> + Send;
    /// Gives the lock up; the caller holds it.
    fn release(&self) -> impl Future<Output = ()> + Send;
}

/// Lab 2's service as the tester starts and uses it (Go `StartKVServer`, `MakeClerk` and
/// `MakeLock`). A submission implements it on a type of its own, e.g. `kvsrv::Lab2`.
pub trait Kvsrv: 'static {
    /// The clerk.
    type Clerk: Clerk;

    /// A new server's RPC services (a `"KVServer"` service with methods `"Get"` and `"Put"`),
    /// which the tester registers under the server's name. Called on the server's node, so any
    /// task it spawns dies with the server.
    fn start_server() -> Vec<Service>;

    /// A clerk that calls `server` through `clnt`.
    fn make_clerk(clnt: Clnt, server: &str) -> Self::Clerk;

    /// A lock called `name`, kept through the clerk `ck`. Locks of different names are
    /// independent; every lock of one name excludes every other.
    fn make_lock<C: Clerk>(ck: C, name: &str) -> impl Lock;
}
