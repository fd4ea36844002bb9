//! `raft`: one peer of the Raft consensus protocol, for the labs.
//!
//! It does parts **A** (leader election and heartbeats), **B** (log replication and commitment),
//! **C** (persistence across crashes) and **D** (snapshots and log compaction). The log keeps
//! its index arithmetic in one place, around a base index that snapshots move.
//!
//! # The API the tester uses
//!
//! | Go | here |
//! |---|---|
//! | `Make(peers, me, persister, applyCh)` | [`Raft::new`]: returns at once, spawns its tasks on the current node |
//! | `GetState()` | [`Raft::get_state`] → `(term, is_leader)` |
//! | `Start(cmd)` | [`Raft::start`] → `Some((index, term))` on a leader, at once; `None` otherwise |
//! | `Kill()` | [`Raft::kill`]: every task of the peer ends, nothing more is sent or applied |
//! | `Snapshot(index, snapshot)` | [`Raft::snapshot`]: trims the log, saves state and snapshot together |
//! | the `Raft` service | [`Raft::service`]: `"Raft.RequestVote"`, `"Raft.AppendEntries"`, `"Raft.InstallSnapshot"` |
//! | `ApplyMsg` on an unbuffered `applyCh` | [`ApplyMsg`] on [`apply_channel`] |
//! | `Persister` | [`Persister`]: opaque bytes the peer saves; the peer owns their encoding |
//!
//! # The three-layer shape
//!
//! Election and replication are each written as three layers:
//!
//! | layer | election | replication |
//! |---|---|---|
//! | **ticker**: a long-running loop | lives as long as the peer; sleeps until its election timer could run out | lives for **one term**; a heartbeat round every [`HEARTBEAT_INTERVAL`](timing::HEARTBEAT_INTERVAL), and a round at once when `start` or a new commit index wakes it |
//! | **round**: under the lock, check the context, build one request per peer | `start_election()`: candidate, term + 1, vote for itself | `start_replication(term) -> bool`: false once no longer leader of `term`, which ends the ticker; entries from each follower's `next_index` |
//! | **per-peer sender**: one RPC | `"Raft.RequestVote"`: align terms, check the context, count the vote | `"Raft.AppendEntries"`: align terms, check the context, move `match_index` / `next_index` (fast back-up on a refusal), commit, send the follower's next request at once |
//!
//! The receivers lock, reject older terms (logging who and why), step down on newer ones,
//! grant at most one vote per term, and a valid `AppendEntries` resets the election timer,
//! stores the entries (truncating only at a real conflict) and commits
//! `min(leader_commit, last new entry)`.
//!
//! A leader keeps at most one `AppendEntries` with entries in flight per follower; commands
//! that arrive meanwhile go together in the next request. A leader commits by counting replicas
//! only entries of its own term (Figure 8). An **applier** task, woken when the commit index
//! moves, hands committed entries to the apply channel in index order, never holding the lock
//! while it waits for the service to take one.
//!
//! **Snapshots** (part D): the service's [`Raft::snapshot`] trims the log and saves the state
//! and the snapshot together. A leader whose follower needs entries it has discarded sends its
//! whole snapshot in one `"Raft.InstallSnapshot"` (a third per-peer sender, with the same term
//! alignment and context checks); the follower keeps the entries after the snapshot when they
//! match and discards its log otherwise, and its applier hands the snapshot to the service
//! before any later command. A restarted peer reads its snapshot back and applies from the
//! entry after it.
//!
//! Term, vote and log are saved through the [`Persister`] on every change, before any reply or
//! request that depends on them leaves the peer, in a versioned format with a checksum; a
//! saved state that is truncated or corrupt is a logged error (topic `error`), and the peer
//! starts fresh. The commit index and the last applied index are not saved: a restarted peer
//! applies its log again from the entry after its snapshot (index 1 without one) as it learns
//! what is committed.
//!
//! The rules of Raft are pure methods on the peer's state that return what the locking shell
//! must do (save, reset the timer, wake the applier or the replication ticker), each tested
//! without a runtime. All waiting, spawning and randomness goes through [`labrpc::runtime`], so
//! under its sim executor a whole cluster runs on virtual time and replays from a seed.
//!
//! # Example: three peers elect a leader and agree on a command
//!
//! ```
//! use std::time::Duration;
//! use labrpc::runtime::{self, RunConfig};
//! use labrpc::{Network, Server};
//! use raft::{apply_channel, ApplyMsg, Persister, Raft};
//!
//! let outcome = runtime::run(RunConfig::sim(1), || async {
//!     let net = Network::new();
//!     let n = 3;
//!     let mut rafts = Vec::new();
//!     let mut appliers = Vec::new();
//!     for i in 0..n {
//!         // One end from peer i to each peer j, each with a unique name.
//!         let ends: Vec<_> = (0..n)
//!             .map(|j| {
//!                 let name = format!("{i}->{j}");
//!                 let end = net.make_end(name.as_str()).expect("a new end");
//!                 net.connect(&name, format!("server-{j}")).expect("the end exists");
//!                 net.enable(&name, true).expect("the end exists");
//!                 end
//!             })
//!             .collect();
//!         // The peer's tasks and RPC handlers belong to its own node.
//!         let node = runtime::new_node();
//!         let (tx, rx) = apply_channel();
//!         let raft = runtime::enter_node(node, || Raft::new(ends, i, Persister::new(), tx));
//!         let server = Server::on_node(node);
//!         server.add_service(raft.service()).expect("a new service");
//!         net.add_server(format!("server-{i}"), server);
//!         rafts.push(raft);
//!         appliers.push(rx);
//!     }
//!     runtime::sleep(Duration::from_secs(3)).await;
//!     let leader = rafts.iter().find(|r| r.get_state().1).expect("a leader");
//!     let (index, _term) = leader.start(b"x=1".to_vec()).expect("the leader takes it");
//!     // Every peer applies it, at that index.
//!     let mut applied = Vec::new();
//!     for rx in &mut appliers {
//!         applied.push(rx.recv().await.expect("the peer applies"));
//!     }
//!     (index, applied)
//! })
//! .expect("the run finishes");
//! let (index, applied) = outcome.value;
//! assert_eq!(index, 1);
//! for msg in applied {
//!     assert!(matches!(msg, ApplyMsg::Command { index: 1, ref command, .. } if command == b"x=1"));
//! }
//! ```
//!
//! # Logs
//!
//! Every `tracing` event goes to target `"raft"` with the fields `peer`, `term` and `topic`
//! (`timer`, `vote`, `leader`, `term`, `append`, `apply`, `persist`, `error`; commits are
//! `apply` events). Filter them with `RUST_LOG=raft=debug`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Messages are built with their fields and then `..Default::default()`, so that a field added to
// `raftapi`'s messages (which a submission may do) needs no change in this crate.
#![allow(clippy::needless_update)]

mod applier;
mod commit;
mod durable;
mod election;
mod log;
mod logging;
mod peer;
mod replication;
mod rpc;
mod signal;
mod snapshot;
mod state;
pub mod timing;

pub use peer::Raft;
// The given types live in `raftapi`, shared with the tester; re-exported so that `raft::X`
// names them too.
pub use raftapi::{
    apply_channel, AppendEntriesArgs, AppendEntriesReply, ApplyClosed, ApplyMsg, ApplyReceiver,
    ApplySender, InstallSnapshotArgs, InstallSnapshotReply, LogEntry, Peer, PeerId, Persister,
    RequestVoteArgs, RequestVoteReply, Term,
};

/// The tester drives the peer through [`raftapi::Peer`]; each call is the method of the same
/// name on [`Raft`] (`make` is [`Raft::new`]).
impl raftapi::Peer for Raft {
    fn make(
        peers: Vec<labrpc::ClientEnd>,
        me: usize,
        persister: Persister,
        apply_tx: ApplySender,
    ) -> Self {
        Raft::new(peers, me, persister, apply_tx)
    }

    fn get_state(&self) -> (u64, bool) {
        Raft::get_state(self)
    }

    fn kill(&self) {
        Raft::kill(self)
    }

    fn service(&self) -> labrpc::Service {
        Raft::service(self)
    }

    fn start(&self, command: Vec<u8>) -> Option<(u64, u64)> {
        Raft::start(self, command)
    }

    fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        Raft::snapshot(self, index, snapshot)
    }
}
