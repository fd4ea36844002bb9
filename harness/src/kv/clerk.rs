//! The tester's clerks: a submission's clerk, each call counted and recorded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use kvapi::{Clerk, Clnt, Got, KvError, Version};

use super::history::History;

/// A submission's clerk as the tests use it (Go `kvtest.TestClerk`): [`get`](Self::get) and
/// [`put`](Self::put) record the call in the test's history and count it as an op (Go's
/// `ts.Get` and `ts.Put`); [`clerk`](Self::clerk) is the clerk itself, whose calls are neither
/// (Go's direct `ck.Get`).
pub struct TestClerk<C> {
    ck: Arc<C>,
    clnt: Clnt,
    history: Arc<History>,
    ops: Arc<AtomicU64>,
}

impl<C> std::fmt::Debug for TestClerk<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestClerk")
            .field("clnt", &self.clnt)
            .finish()
    }
}

impl<C: Clerk> TestClerk<C> {
    /// Wraps `ck`, which calls through `clnt`, recording into `history` and counting into
    /// `ops`.
    pub fn new(ck: C, clnt: Clnt, history: Arc<History>, ops: Arc<AtomicU64>) -> Self {
        TestClerk {
            ck: Arc::new(ck),
            clnt,
            history,
            ops,
        }
    }

    /// The clerk itself: its calls are not recorded (Go's direct `ck.Get`, `ck.Put`).
    pub fn clerk(&self) -> &Arc<C> {
        &self.ck
    }

    /// The client the clerk calls through (to cut it off, or delete it).
    pub fn clnt(&self) -> &Clnt {
        &self.clnt
    }

    /// `Get(key)` by `client`, recorded (Go `ts.Get(ck, key, me)`).
    pub async fn get(&self, client: usize, key: &str) -> Result<Got, KvError> {
        let call = History::call_time();
        let reply = self.ck.get(key).await;
        self.history.record_get(client, key, call, &reply);
        self.ops.fetch_add(1, Ordering::Relaxed);
        reply
    }

    /// `Put(key, value, version)` by `client`, recorded (Go `ts.Put(ck, key, value, version,
    /// me)`).
    pub async fn put(
        &self,
        client: usize,
        key: &str,
        value: &str,
        version: Version,
    ) -> Result<(), KvError> {
        let call = History::call_time();
        let reply = self.ck.put(key, value, version).await;
        self.history
            .record_put(client, key, value, version, call, &reply);
        self.ops.fetch_add(1, Ordering::Relaxed);
        reply
    }
}

/// What makes clerks for a test (Go `kvtest.IClerkMaker`): each lab's tester.
pub trait ClerkMaker {
    /// The submission's clerk.
    type Clerk: Clerk;

    /// A new clerk on a client of its own.
    fn make_clerk(&self) -> TestClerk<Self::Clerk>;

    /// Forgets a clerk: deletes its client's ends.
    fn delete_clerk(&self, ck: &TestClerk<Self::Clerk>) {
        ck.clnt().delete();
    }
}
