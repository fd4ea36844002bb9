//! `kvraft`: Lab 4's services on Raft, reaching their peer only through [`raftapi`]'s
//! [`raftapi::Peer`] trait, as the tester does.
//!
//! - [`rsm`] (part 4A): the replicated state machine layer, [`rsm::RsmServer`], which
//!   implements [`raftapi::rsm::Rsm`] for any peer type.
//! - [`store`], [`server`], [`clerk`] (part 4B): the key/value state machine (every get goes
//!   through the log; a put's version check makes resends safe with no state per client), the
//!   server that submits each RPC to the rsm, and the clerk that remembers the leader.
//! - Snapshots (part 4C) are the rsm's: it snapshots the store when the persisted Raft state
//!   nears `maxraftstate`, and restores it at start.
//! - [`Lab4`]: the services as the tester starts them ([`kvapi::Kvraft`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod clerk;
pub mod rsm;
pub mod server;
pub mod store;

use std::marker::PhantomData;

use kvapi::Clnt;
use labrpc::ClientEnd;
use raftapi::{Peer, Persister};

/// Lab 4's services on the Raft peer `P`, as the tester starts them.
pub struct Lab4<P>(PhantomData<P>);

impl<P: Peer> kvapi::Kvraft for Lab4<P> {
    type Raft = P;
    type Server = server::KvServer<P>;
    type Clerk = clerk::Clerk;

    fn start_server(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        max_raft_state: Option<usize>,
    ) -> Self::Server {
        server::KvServer::start(peers, me, persister, max_raft_state)
    }

    fn make_clerk(clnt: Clnt, servers: &[String]) -> Self::Clerk {
        clerk::Clerk::new(clnt, servers)
    }
}
