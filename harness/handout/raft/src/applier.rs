//! The applier (part B): the one task that hands committed commands to the service.

use std::sync::Arc;

use labrpc::runtime;

use raftapi::ApplyMsg;
use crate::logging::raft_event;
use crate::peer::Peer;

impl Peer {
    /// The applier: a long-running task, spawned by `Raft::new`, that sends every committed
    /// entry to the service, once, in index order from index 1, as
    /// [`ApplyMsg::Command`] on `self.apply_tx`.
    ///
    /// Loop while not killed: under the lock, take the entries between `last_applied` and
    /// `commit_index`; **release the lock**; send each with `self.apply_tx.send(msg).await`
    /// (it waits until the service takes the message, like Go's unbuffered channel, so holding
    /// the lock across it would deadlock with a service that calls back into Raft); then move
    /// `last_applied` on. With nothing to apply, wait: sleep a little (`runtime::sleep`), or
    /// better, until a commit wakes you. A send that fails means the service is gone: stop.
    pub(crate) async fn applier(self: Arc<Self>) {
        // Your code here (B).
    }
}
