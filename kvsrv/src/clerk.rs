//! The clerk: resends every call until a reply comes.

use std::time::Duration;

use kvapi::{CallFailed, Clnt, GetArgs, GetReply, Got, KvError, PutArgs, PutReply, Version};
use labrpc::runtime;

use crate::rules;

/// How long the clerk waits before resending a call that got no reply (the handout's hint):
/// long enough not to flood a network that is dropping messages, short against the tests'
/// seconds.
pub const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// Lab 2's clerk: calls one server through the tester's [`Clnt`].
#[derive(Debug, Clone)]
pub struct Clerk {
    clnt: Clnt,
    server: String,
}

impl Clerk {
    /// A clerk of `server`.
    pub fn new(clnt: Clnt, server: &str) -> Self {
        Clerk {
            clnt,
            server: server.to_string(),
        }
    }

    /// One try of `method`: the reply, or `None` when none came. A call the server can never
    /// answer (a misspelt method, a message it cannot decode) is a bug in the clerk, not a
    /// lost message: resending would only hide it, so it panics with the network's words.
    async fn try_call<A, R>(&self, method: &str, args: &A) -> Option<R>
    where
        A: serde::Serialize + Sync,
        R: serde::de::DeserializeOwned + Send + 'static,
    {
        match self.clnt.call(&self.server, method, args).await {
            Ok(reply) => Some(reply),
            Err(CallFailed { error, .. }) if error.is_programming_error() => {
                panic!("{method} can never succeed: {error}")
            }
            Err(e) => {
                tracing::trace!(topic = "clerk", %e, "{method}: no reply, resending");
                None
            }
        }
    }
}

impl kvapi::Clerk for Clerk {
    async fn get(&self, key: &str) -> Result<Got, KvError> {
        let args = GetArgs {
            key: key.to_string(),
        };
        loop {
            if let Some(reply) = self.try_call::<_, GetReply>("KVServer.Get", &args).await {
                return reply;
            }
            runtime::sleep(RETRY_PAUSE).await;
        }
    }

    async fn put(&self, key: &str, value: &str, version: Version) -> Result<(), KvError> {
        let args = PutArgs {
            key: key.to_string(),
            value: value.to_string(),
            version,
        };
        let mut resent = false;
        loop {
            if let Some(reply) = self.try_call::<_, PutReply>("KVServer.Put", &args).await {
                return rules::clerk_put_result(reply, resent);
            }
            resent = true;
            runtime::sleep(RETRY_PAUSE).await;
        }
    }
}
