//! The clerk (part 4B): sends each call to the server it believes leads, and on
//! `ErrWrongLeader` or no reply tries the next, until one answers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kvapi::{CallFailed, Clnt, GetArgs, GetReply, Got, KvError, PutArgs, PutReply, Version};
use labrpc::runtime;

/// How long the clerk pauses after trying every server without an answer: during an election
/// no server leads, and trying again at once would only flood the network.
pub const SWEEP_PAUSE: Duration = Duration::from_millis(50);

/// Lab 4's clerk: remembers the last server that answered as leader.
#[derive(Debug)]
pub struct Clerk {
    clnt: Clnt,
    servers: Vec<String>,
    leader: AtomicUsize,
}

/// The clerk's rule for a put's answer: an `ErrVersion` after an earlier try that may have been
/// executed (its reply lost, or its leader lost leadership after starting it) may be the
/// earlier try's own doing, so it is `ErrMaybe`.
pub fn put_result(reply: PutReply, maybe_executed_before: bool) -> PutReply {
    match reply {
        Err(KvError::ErrVersion) if maybe_executed_before => Err(KvError::ErrMaybe),
        other => other,
    }
}

impl Clerk {
    /// A clerk of the servers `servers`, calling through `clnt`.
    pub fn new(clnt: Clnt, servers: &[String]) -> Self {
        Clerk {
            clnt,
            servers: servers.to_vec(),
            leader: AtomicUsize::new(0),
        }
    }

    /// The server this clerk believes leads (Go 2026 `Clerk.Leader()`).
    pub fn leader(&self) -> usize {
        self.leader.load(Ordering::Relaxed)
    }

    /// Calls `method` until a server answers with anything but `ErrWrongLeader`; the answer,
    /// and whether an earlier try may have been executed.
    async fn call<A, T>(&self, method: &str, args: &A) -> (Result<T, KvError>, bool)
    where
        A: serde::Serialize + Sync,
        T: serde::de::DeserializeOwned + Send + 'static,
    {
        let n = self.servers.len();
        let mut tried_before = false;
        loop {
            let first = self.leader();
            for k in 0..n {
                let i = (first + k) % n;
                let server = &self.servers[i];
                match self
                    .clnt
                    .call::<A, Result<T, KvError>>(server, method, args)
                    .await
                {
                    Ok(Err(KvError::ErrWrongLeader)) => {}
                    Ok(reply) => {
                        self.leader.store(i, Ordering::Relaxed);
                        return (reply, tried_before);
                    }
                    Err(CallFailed { error, .. }) if error.is_programming_error() => {
                        panic!("{method} can never succeed: {error}")
                    }
                    Err(_) => {}
                }
                tried_before = true;
            }
            runtime::sleep(SWEEP_PAUSE).await;
        }
    }
}

impl kvapi::Clerk for Clerk {
    async fn get(&self, key: &str) -> Result<Got, KvError> {
        let args = GetArgs {
            key: key.to_string(),
        };
        let (reply, _): (GetReply, bool) = self.call::<_, Got>("KVServer.Get", &args).await;
        reply
    }

    async fn put(&self, key: &str, value: &str, version: Version) -> Result<(), KvError> {
        let args = PutArgs {
            key: key.to_string(),
            value: value.to_string(),
            version,
        };
        let (reply, tried_before): (PutReply, bool) =
            self.call::<_, ()>("KVServer.Put", &args).await;
        put_result(reply, tried_before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn err_version_is_maybe_only_after_an_earlier_try() {
        assert_eq!(
            put_result(Err(KvError::ErrVersion), false),
            Err(KvError::ErrVersion)
        );
        assert_eq!(
            put_result(Err(KvError::ErrVersion), true),
            Err(KvError::ErrMaybe)
        );
        assert_eq!(put_result(Ok(()), true), Ok(()));
        assert_eq!(
            put_result(Err(KvError::ErrNoKey), true),
            Err(KvError::ErrNoKey)
        );
    }
}
