//! `raft`: one peer of the Raft consensus protocol, for the labs.
//!
//! This is **part A**: leader election and heartbeats. The log, the persistent state and the
//! message types are already the ones parts B–D extend; entries are not yet replicated.
//!
//! # The three-layer shape
//!
//! Election and replication are each written as three layers:
//!
//! | layer | election | replication |
//! |---|---|---|
//! | **ticker**: a long-running loop | lives as long as the peer; sleeps until its election timer could run out | lives for **one term**; a round every [`HEARTBEAT_INTERVAL`](timing::HEARTBEAT_INTERVAL) |
//! | **round**: under the lock, check the context, build one request per peer | `start_election()`: candidate, term + 1, vote for itself | `start_replication(term) -> bool`: false once no longer leader of `term`, which ends the ticker |
//! | **per-peer sender**: one RPC | `"Raft.RequestVote"`: align terms, check the context, count the vote | `"Raft.AppendEntries"`: align terms, check the context, use the reply |
//!
//! The receivers lock, reject older terms (logging who and why), step down on newer ones,
//! grant at most one vote per term, and a valid `AppendEntries` resets the election timer.
//!
//! All waiting, spawning and randomness goes through [`labrpc::runtime`], so under its sim
//! executor a whole cluster runs on virtual time and replays from a seed.
//!
//! # Example: three peers elect a leader
//!
//! ```
//! use std::time::Duration;
//! use labrpc::runtime::{self, RunConfig};
//! use labrpc::{Network, Server};
//! use raft::{apply_channel, Persister, Raft};
//!
//! let outcome = runtime::run(RunConfig::sim(1), || async {
//!     let net = Network::new();
//!     let n = 3;
//!     let mut rafts = Vec::new();
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
//!         let (tx, _rx) = apply_channel();
//!         let raft = runtime::enter_node(node, || Raft::new(ends, i, Persister::new(), tx));
//!         let server = Server::on_node(node);
//!         server.add_service(raft.service()).expect("a new service");
//!         net.add_server(format!("server-{i}"), server);
//!         rafts.push(raft);
//!     }
//!     runtime::sleep(Duration::from_secs(3)).await;
//!     rafts.iter().map(Raft::get_state).collect::<Vec<_>>()
//! })
//! .expect("the run finishes");
//! let states = outcome.value;
//! assert_eq!(states.iter().filter(|(_, leader)| *leader).count(), 1);
//! assert!(states.iter().all(|(term, _)| *term == states[0].0 && *term >= 1));
//! ```
//!
//! # Logs
//!
//! Every `tracing` event goes to target `"raft"` with the fields `peer`, `term` and `topic`
//! (`timer`, `vote`, `leader`, `term`, `append`, `apply`, `persist`, `error`). Filter them with
//! `RUST_LOG=raft=debug`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod applier;
mod apply;
mod commit;
mod durable;
mod election;
mod ids;
mod log;
mod logging;
mod messages;
mod peer;
mod persister;
mod replication;
mod rpc;
mod signal;
mod state;
pub mod timing;

pub use apply::{apply_channel, ApplyMsg, ApplyReceiver, ApplySender};
pub use ids::{PeerId, Term};
pub use messages::{
    AppendEntriesArgs, AppendEntriesReply, LogEntry, RequestVoteArgs, RequestVoteReply,
};
pub use peer::Raft;
pub use persister::Persister;
