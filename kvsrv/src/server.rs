//! The server: the map under one lock, and its RPC handlers.

use std::collections::BTreeMap;
use std::sync::Arc;

use kvapi::{GetArgs, GetReply, PutArgs, PutReply};
use labrpc::Service;
use parking_lot::Mutex;

use crate::rules::{self, Entry};

/// The service name the clerk calls (`"KVServer.Get"`, `"KVServer.Put"`).
pub const SERVICE: &str = "KVServer";

/// The key/value server: key → (value, version). No state per client: a put's version makes
/// resending it safe, so the server need not remember what it answered.
#[derive(Debug, Clone, Default)]
pub struct KvServer {
    map: Arc<Mutex<BTreeMap<String, Entry>>>,
}

impl KvServer {
    /// An empty server.
    pub fn new() -> Self {
        KvServer::default()
    }

    /// `Get`: the key's value and version, or `ErrNoKey`.
    pub fn get(&self, args: GetArgs) -> GetReply {
        let reply = rules::get(self.map.lock().get(&args.key));
        tracing::debug!(topic = "kv", key = %args.key, ?reply, "Get");
        reply
    }

    /// `Put`: installs the value if the version is the key's (see [`rules::put`]).
    pub fn put(&self, args: PutArgs) -> PutReply {
        let mut map = self.map.lock();
        let decision = rules::put(map.get(&args.key), args.version);
        if let Ok(version) = decision {
            map.insert(
                args.key.clone(),
                Entry {
                    value: args.value,
                    version,
                },
            );
        }
        drop(map);
        tracing::debug!(topic = "kv", key = %args.key, version = args.version, ?decision, "Put");
        rules::put_reply(decision)
    }

    /// The server's RPC service, `"KVServer"` with `"Get"` and `"Put"`.
    pub fn service(&self) -> Service {
        let mut service = Service::new(SERVICE).expect("\"KVServer\" is a valid service name");
        let s = self.clone();
        service
            .handle("Get", move |args: GetArgs| s.get(args))
            .expect("Get is registered once");
        let s = self.clone();
        service
            .handle("Put", move |args: PutArgs| s.put(args))
            .expect("Put is registered once");
        service
    }
}
