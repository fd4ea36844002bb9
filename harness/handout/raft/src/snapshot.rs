//! Snapshots (part D): the log through a snapshot's index is discarded, and a follower that
//! needs discarded entries gets the snapshot instead, with a third per-peer sender and its
//! receiver.

use std::sync::Arc;

use raftapi::{PeerId, Term};
use crate::logging::raft_event;
use raftapi::{InstallSnapshotArgs, InstallSnapshotReply};
use crate::peer::{Peer, State};
use crate::rpc::INSTALL_SNAPSHOT;

impl Peer {
    /// The per-peer sender of `InstallSnapshot`: in `start_replication`, a follower whose
    /// `next_index` is at or below the first index the leader still holds needs discarded
    /// entries, so it gets the whole snapshot (in one RPC, not in Figure 13's chunks) instead
    /// of an `AppendEntries`.
    ///
    /// Send with `self.peers[to.index()].call::<InstallSnapshotArgs, InstallSnapshotReply>(
    /// INSTALL_SNAPSHOT, &args).await`. On a reply, align terms first, then check the context
    /// (still leader of `args.term`) before moving the follower's `match_index` and
    /// `next_index` past `args.last_included_index`.
    pub(crate) async fn send_snapshot(self: Arc<Self>, to: PeerId, args: InstallSnapshotArgs) {
        // Your code here (D).
    }

    /// The `InstallSnapshot` receiver: the handler of `"Raft.InstallSnapshot"`.
    ///
    /// Reject an older term and follow the leader as `AppendEntries` does (with the timer
    /// reset). Ignore a snapshot that covers nothing this peer has not already committed.
    /// Otherwise keep the log entries after the snapshot if the log holds the snapshot's last
    /// entry (same index and term), and discard the whole log if not; save state and snapshot
    /// together; and have the applier hand the snapshot to the service
    /// ([`ApplyMsg::Snapshot`](crate::ApplyMsg)) before any later command.
    pub(crate) fn install_snapshot(&self, args: InstallSnapshotArgs) -> InstallSnapshotReply {
        // Your code here (D).
        InstallSnapshotReply { term: Term::ZERO }
    }
}
