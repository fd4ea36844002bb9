//! `raft`: one peer of the Raft consensus protocol, for the labs.
//!
//! So far, the foundations the peer is built on: terms and peer ids, the RPC messages
//! and the log, the persister and the persistent state, the apply channel, and the timing
//! constants.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// The peer that uses these pieces comes next.
#![allow(dead_code)]

mod apply;
mod durable;
mod ids;
mod log;
mod messages;
mod persister;
pub mod timing;

pub use apply::{apply_channel, ApplyMsg, ApplyReceiver, ApplySender};
pub use ids::{PeerId, Term};
pub use messages::{
    AppendEntriesArgs, AppendEntriesReply, LogEntry, RequestVoteArgs, RequestVoteReply,
};
pub use persister::Persister;
