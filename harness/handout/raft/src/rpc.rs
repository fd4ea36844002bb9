//! The RPC plumbing: the names on the wire, and the `"Raft"` service that routes them to the
//! receivers (what Go's labrpc finds by reflection). Given: you should not need to change it,
//! except to add a method in a later part.

use std::sync::Arc;

use labrpc::Service;

use raftapi::{AppendEntriesArgs, InstallSnapshotArgs, RequestVoteArgs};
use crate::peer::Peer;

/// The name a candidate calls: `peers[i].call::<RequestVoteArgs, RequestVoteReply>(REQUEST_VOTE,
/// &args)`. A misspelt name cannot be routed: the call fails with an error that lists the
/// methods the server knows.
pub(crate) const REQUEST_VOTE: &str = "Raft.RequestVote";

/// The name a leader calls for heartbeats and (part B) log entries.
pub(crate) const APPEND_ENTRIES: &str = "Raft.AppendEntries";
// @part D

/// The name a leader calls to send its snapshot (part D).
pub(crate) const INSTALL_SNAPSHOT: &str = "Raft.InstallSnapshot";
// @end

/// The `"Raft"` service of `peer`: each method decodes its arguments, runs the receiver, and
/// sends back what it returns.
pub(crate) fn service(peer: &Arc<Peer>) -> Service {
    let mut raft = Service::new("Raft").expect("\"Raft\" is a well-formed service name");
    let voter = Arc::clone(peer);
    raft.handle("RequestVote", move |args: RequestVoteArgs| voter.request_vote(args))
        .expect("the service has no RequestVote method yet");
    let follower = Arc::clone(peer);
    raft.handle("AppendEntries", move |args: AppendEntriesArgs| {
        follower.append_entries(args)
    })
    .expect("the service has no AppendEntries method yet");
    // @part D
    let installer = Arc::clone(peer);
    raft.handle("InstallSnapshot", move |args: InstallSnapshotArgs| {
        installer.install_snapshot(args)
    })
    .expect("the service has no InstallSnapshot method yet");
    // @end
    raft
}
