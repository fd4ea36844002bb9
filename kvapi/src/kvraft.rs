//! Lab 4's key/value service on Raft as the tester starts and uses it (Go `StartKVServer` and
//! `MakeClerk` of `kvraft1`).

use labrpc::{ClientEnd, Service};
use raftapi::{Peer, Persister};

use crate::{Clerk, Clnt};

/// One key/value server of a group: a Raft peer with the service on it.
pub trait KvServer: Send + Sync + 'static {
    /// The Raft peer under the service.
    type Raft: Peer;

    /// The RPC services to register on the server: the `"KVServer"` service (`"Get"`, `"Put"`)
    /// and its Raft peer's `"Raft"` service.
    fn services(&self) -> Vec<Service>;

    /// The Raft peer (the tester reads its state to find the leader).
    fn raft(&self) -> &Self::Raft;

    /// Shuts the server down with its peer (the tester's crash).
    fn kill(&self);
}

/// Lab 4's service (Go `kvraft1`): how the tester starts a server and makes a clerk. A
/// submission implements it on a type of its own, e.g. `kvraft::Lab4`.
pub trait Kvraft: 'static {
    /// The Raft peer.
    type Raft: Peer;
    /// A server.
    type Server: KvServer<Raft = Self::Raft>;
    /// The clerk.
    type Clerk: Clerk;

    /// Starts server `me` of a group whose servers `peers` reach (Go `StartKVServer`): its Raft
    /// peer, its rsm and its state machine, restored from `persister`'s snapshot. When the
    /// persisted Raft state nears `max_raft_state` bytes the server snapshots; `None` (Go −1)
    /// never. Called on the server's node: it returns at once, spawning its tasks there.
    fn start_server(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        max_raft_state: Option<usize>,
    ) -> Self::Server;

    /// A clerk of the group whose servers are called `servers`, calling through `clnt` (Go
    /// `MakeClerk(clnt, servers)`).
    fn make_clerk(clnt: Clnt, servers: &[String]) -> Self::Clerk;
}
