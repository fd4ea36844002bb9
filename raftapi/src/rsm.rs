//! The replicated state machine layer of Lab 4 (part 4A, Go `kvraft1/rsm`): the contract between
//! a service, the `rsm` that runs it on Raft, and the tester.
//!
//! A service (the key/value server of 4B, or the tester itself in the 4A tests) is a
//! [`StateMachine`]. An [`Rsm`] makes a Raft peer, feeds every committed request to the state
//! machine on every peer in log order, and lets the service [`submit`](Rsm::submit) a request
//! and wait for its result. Requests and results are bytes: the service chooses their encoding
//! (Go passes `any` and registers the types with labgob).
//!
//! | Go | here |
//! |---|---|
//! | `StateMachine{DoOp, Snapshot, Restore}` | [`StateMachine`] |
//! | `MakeRSM(servers, me, persister, maxraftstate, sm)` | [`Rsm::make`] (`maxraftstate` −1 is `None`) |
//! | `rsm.Submit(req) (rpc.Err, any)` | [`Rsm::submit`] → `Ok(result)` or a [`SubmitError`] (Go's `ErrWrongLeader`) |
//! | `rsm.Raft()` | [`Rsm::raft`] |

use std::future::Future;

use labrpc::ClientEnd;

use crate::{Peer, Persister};

/// The service an [`Rsm`] replicates (Go `rsm.StateMachine`). Every peer's copy sees the same
/// requests in the same order, so each must be a deterministic function of them.
pub trait StateMachine: Send + 'static {
    /// Executes one committed request and returns its result (Go `DoOp`). Called on every peer,
    /// leader or not, once per committed entry, in log order.
    fn do_op(&mut self, request: &[u8]) -> Vec<u8>;

    /// The state machine's whole state, for Raft to keep in place of the log up to the last
    /// request executed (Go `Snapshot`): whatever the service needs after a restart, dedup state
    /// included.
    fn snapshot(&mut self) -> Vec<u8>;

    /// Replaces the state with one made by [`snapshot`](StateMachine::snapshot) (Go `Restore`):
    /// at start, from the persister, and when Raft installs a leader's snapshot.
    fn restore(&mut self, snapshot: &[u8]);
}

/// Why [`Rsm::submit`] did not return a result: in each case the request may or may not be
/// executed later, and the caller should try another server (Go `ErrWrongLeader`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The peer's Raft did not accept the request: it does not believe it is the leader.
    #[error("ErrWrongLeader: this peer's Raft is not the leader (start() returned None)")]
    NotLeader,
    /// The peer accepted the request at `index` in `term`, then lost that leadership: its term
    /// moved on or another request was applied at `index`.
    #[error(
        "ErrWrongLeader: leadership lost after start() put the request at index {index} in term {term}: {why}"
    )]
    LostLeadership {
        /// The index `start()` returned.
        index: u64,
        /// The term `start()` returned.
        term: u64,
        /// What showed the loss.
        why: String,
    },
    /// The rsm was shut down (its peer killed) before the request was applied.
    #[error("ErrWrongLeader: the server was shut down while the request waited")]
    Shutdown,
}

/// A replicated state machine on a Raft peer (Go `rsm.RSM`).
pub trait Rsm: Send + Sync + 'static {
    /// The Raft peer it runs on, which the tester registers and inspects.
    type Raft: Peer;

    /// Makes the peer's Raft (with [`Peer::make`]) and the task that applies what it commits to
    /// `sm` (Go `MakeRSM`). Restores `sm` from the persister's snapshot first, if there is one.
    /// `max_raft_state` is Go's `maxraftstate`: when the persisted Raft state nears that many
    /// bytes, the rsm hands Raft a snapshot of `sm`; `None` (Go −1) never snapshots. Called, like
    /// [`Peer::make`], inside the server's node: it returns at once, spawning its tasks there.
    fn make(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        max_raft_state: Option<usize>,
        sm: Box<dyn StateMachine>,
    ) -> Self
    where
        Self: Sized;

    /// Starts `request` on Raft and waits until it is applied, returning what
    /// [`StateMachine::do_op`] returned for it on this peer. Fails at once if this peer is not the
    /// leader, and as soon as it learns the request may never be applied (it lost leadership, or
    /// was shut down): a submit is never left waiting for good.
    fn submit(&self, request: Vec<u8>)
        -> impl Future<Output = Result<Vec<u8>, SubmitError>> + Send;

    /// The Raft peer underneath (Go `rsm.Raft()`).
    fn raft(&self) -> &Self::Raft;

    /// Shuts the rsm down with its peer: kills the Raft peer and releases every waiting submit
    /// with [`SubmitError::Shutdown`]. The tester calls it when it crashes the server.
    fn kill(&self);
}
