//! Persistence (part C): what a peer saves before it answers, and restores when it restarts.

use crate::peer::{Peer, State};

impl Peer {
    /// Saves the persistent state of Figure 2 (`term`, `voted_for` and the log) with
    /// `self.persister.save(bytes, None)`. Encode it with `labrpc::codec::encode` (a `serde`
    /// struct of your own). Call it, with the lock held, after every change to that state and
    /// before anything that depends on the change leaves the peer (a reply, a request).
    pub(crate) fn persist(&self, st: &State) {
        // Your code here (C).
    }

    /// Restores the state saved by [`persist`](Peer::persist) into `st`, from
    /// `self.persister.read_raft_state()` (empty for a peer that never ran), with
    /// `labrpc::codec::decode`. Called by `Raft::new`. State that does not decode must not crash
    /// the peer: log the error and start fresh.
    pub(crate) fn restore(&self, st: &mut State) {
        // Your code here (C).
    }
}
