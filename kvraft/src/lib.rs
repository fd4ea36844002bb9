//! `kvraft`: Lab 4's services on Raft, reaching their peer only through [`raftapi`]'s
//! [`Peer`](raftapi::Peer) trait, as the tester does.
//!
//! - [`rsm`] (part 4A): the replicated state machine layer, [`rsm::RsmServer`], which
//!   implements [`raftapi::rsm::Rsm`] for any peer type.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod rsm;
