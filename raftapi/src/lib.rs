//! `raftapi`: what the Raft lab gives you, and the contract between your peer and the tester.
//!
//! | item | what it is | Go |
//! |---|---|---|
//! | [`Peer`] | the calls the tester makes on a peer: `make`, `get_state`, `start`, `snapshot`, `kill`, and its RPC service | `raftapi.Raft`, `Make` |
//! | [`RequestVoteArgs`], [`AppendEntriesArgs`], ... | the RPC messages, which the tester and its safety monitor read ([`messages`]: yours to extend with fields) | the structs in `raft.go` |
//! | [`ApplyMsg`], [`apply_channel`] | how a peer hands committed commands and snapshots to the service | `ApplyMsg`, `applyCh` |
//! | [`Persister`] | stable storage that survives a crash | `tester.Persister` |
//! | [`Term`], [`PeerId`] | the two numbers Raft must never mix up | `int` |
//! | [`rsm`] | Lab 4's replicated state machine layer: the service's [`StateMachine`](rsm::StateMachine) and the [`Rsm`](rsm::Rsm) that runs it on a peer | `kvraft1/rsm` |
//!
//! Both the peer (the `raft` crate, yours) and the tester (the `harness` crate) depend on this
//! crate and on nothing of each other, so an edit in `raft` rebuilds only `raft` and the thin
//! test binary that names its type, never the tester.
//!
//! ```
//! use raftapi::{apply_channel, Persister, Term};
//!
//! let persister = Persister::new();
//! persister.save(b"state".to_vec(), None);
//! assert_eq!(persister.read_raft_state(), b"state");
//! let (_tx, _rx) = apply_channel();
//! assert!(Term(2) > Term::ZERO);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod apply;
mod ids;
pub mod messages;
mod peer;
mod persister;
pub mod rsm;

pub use apply::{
    apply_channel, ApplyClosed, ApplyMsg, ApplyReceiver, ApplySender, APPLY_SEND_WAIT,
};
pub use ids::{PeerId, Term};
pub use messages::{
    AppendEntriesArgs, AppendEntriesReply, InstallSnapshotArgs, InstallSnapshotReply, LogEntry,
    RequestVoteArgs, RequestVoteReply,
};
pub use peer::Peer;
pub use persister::Persister;
