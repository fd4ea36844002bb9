//! The key/value server (part 4B): a thin shell that submits each RPC's request to the rsm and
//! answers with what the state machine returned, or `ErrWrongLeader`.

use std::sync::Arc;

use kvapi::{GetArgs, GetReply, KvError, PutArgs, PutReply};
use labrpc::{ClientEnd, Service};
use raftapi::rsm::Rsm;
use raftapi::{Peer, Persister};

use crate::rsm::RsmServer;
use crate::store::{Reply, Request, Store};

/// The service name the clerk calls (`"KVServer.Get"`, `"KVServer.Put"`).
pub const SERVICE: &str = "KVServer";

/// One server of a group: the key/value [`Store`] replicated by an rsm on a Raft peer `P`.
pub struct KvServer<P: Peer> {
    rsm: Arc<RsmServer<P>>,
}

impl<P: Peer> KvServer<P> {
    /// Starts server `me` (Go `StartKVServer`): its rsm and Raft peer, the store restored from
    /// the persister's snapshot.
    pub fn start(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        max_raft_state: Option<usize>,
    ) -> Self {
        let rsm = RsmServer::make(
            peers,
            me,
            persister,
            max_raft_state,
            Box::new(Store::default()),
        );
        KvServer { rsm: Arc::new(rsm) }
    }

    /// Submits `request` and returns the store's reply, or `None` when this server could not
    /// get it applied (not the leader, or it lost leadership).
    async fn submit(rsm: &RsmServer<P>, request: Request) -> Option<Reply> {
        let bytes = labrpc::codec::encode(&request).expect("a request encodes");
        let reply = rsm.submit(bytes).await.ok()?;
        labrpc::codec::decode(&reply).ok()
    }

    /// `Get`, through the log.
    async fn get(rsm: Arc<RsmServer<P>>, args: GetArgs) -> GetReply {
        match Self::submit(&rsm, Request::Get(args)).await {
            Some(Reply::Get(reply)) => reply,
            _ => Err(KvError::ErrWrongLeader),
        }
    }

    /// `Put`, through the log.
    async fn put(rsm: Arc<RsmServer<P>>, args: PutArgs) -> PutReply {
        match Self::submit(&rsm, Request::Put(args)).await {
            Some(Reply::Put(reply)) => reply,
            _ => Err(KvError::ErrWrongLeader),
        }
    }
}

impl<P: Peer> kvapi::KvServer for KvServer<P> {
    type Raft = P;

    fn services(&self) -> Vec<Service> {
        let mut kv = Service::new(SERVICE).expect("\"KVServer\" is a valid service name");
        let rsm = self.rsm.clone();
        kv.handle_async("Get", move |args: GetArgs| Self::get(rsm.clone(), args))
            .expect("Get is registered once");
        let rsm = self.rsm.clone();
        kv.handle_async("Put", move |args: PutArgs| Self::put(rsm.clone(), args))
            .expect("Put is registered once");
        vec![kv, self.rsm.raft().service()]
    }

    fn raft(&self) -> &P {
        self.rsm.raft()
    }

    fn kill(&self) {
        self.rsm.kill();
    }
}
