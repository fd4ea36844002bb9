//! `raft`: one peer of the Raft consensus protocol. Yours to write.
//!
//! The tester (the `harness` crate) builds clusters of [`Raft`] peers on a simulated network and
//! checks what they do. It uses only this API (the Go lab's names in brackets):
//!
//! - [`Raft::new`] [Make], [`Raft::get_state`] [GetState], [`Raft::kill`] [Kill],
//!   [`Raft::start`] [Start], [`Raft::snapshot`] [Snapshot], and [`Raft::service`], the RPC
//!   handlers it registers;
//! - the [`Persister`], the apply channel ([`apply_channel`], [`ApplyMsg`]) and the RPC message
//!   types ([`RequestVoteArgs`], [`AppendEntriesArgs`], ...), which the tester reads.
//!
//! Those are given, finished, in the crate `raftapi` (the `raftapi/` folder), which the tester
//! uses too: it never depends on this crate, so an edit here rebuilds only this crate and the
//! test binary. Of `raftapi`, only `raftapi/src/messages.rs` is yours to change: you may **add
//! fields** to the messages (each with a `Default` value); keep the given ones. Also given,
//! here: `logging.rs` (the log macro) and the `impl raftapi::Peer for Raft` at the end of this
//! file. The rest is laid out in the shape the course's lecture teaches, as functions whose doc
//! comments say what each must do, and whose bodies are yours.
//!
//! # The three-layer shape
//!
//! Election and replication are each written as three layers:
//!
//! | layer | election (`election.rs`) | replication (`replication.rs`) |
//! |---|---|---|
//! | **ticker**: a long-running task | `election_ticker`: lives as long as the peer | `replication_ticker(term)`: lives for **one term** |
//! | **round**: under the lock, check the context, build one request per peer | `start_election()` | `start_replication(term) -> bool`: false once the peer no longer leads `term`, which ends the ticker |
//! | **per-peer sender**: one RPC | `ask_for_vote`: align terms, check the context, count the vote | `replicate_to`: align terms, check the context, use the reply |
//!
//! and each has a **receiver**, the RPC handler (`request_vote`, `append_entries`), which locks,
//! rejects older terms, steps down on newer ones, and (for a valid `AppendEntries`) resets the
//! election timer.
//!
//! # The lab runtime
//!
//! Everything that waits, spawns a task or draws a random number goes through
//! [`labrpc::runtime`]: `runtime::sleep(d).await`, `runtime::spawn(future)`, `runtime::now()`,
//! `runtime::random_range(a..b)`. Never `std::thread::sleep`, `std::thread::spawn`,
//! `Instant::now` or `rand`'s generators: under the sim executor a whole cluster runs on one
//! thread and a virtual clock, which is what makes a failing seed replay exactly, and those
//! calls escape it (`harness grade` lists every such call). A lock guard held across an
//! `.await` does not compile, because spawned futures must be `Send`: release the lock before
//! you send an RPC or sleep.
//!
//! # Logs
//!
//! Log with `raft_event!` (in `logging.rs`): every event carries the peer, its term and a topic,
//! so `harness replay` can show a run one column per peer.
#![forbid(unsafe_code)]
// The skeleton's empty functions leave fields and arguments unused; remove this line once
// yours use them, to hear about the ones you forgot.
#![allow(dead_code, unused_variables, unused_imports)]

mod election;
mod logging;
mod peer;
mod replication;
mod rpc;
pub mod timing;
// @part B
mod applier;
// @end
// @part C
mod persist;
// @end
// @part D
mod snapshot;
// @end

pub use peer::Raft;
// The given types, re-exported so that `raft::X` names them too.
pub use raftapi::{
    apply_channel, AppendEntriesArgs, AppendEntriesReply, ApplyClosed, ApplyMsg, ApplyReceiver,
    ApplySender, InstallSnapshotArgs, InstallSnapshotReply, LogEntry, Peer, PeerId, Persister,
    RequestVoteArgs, RequestVoteReply, Term,
};

/// Given: the tester drives the peer through [`raftapi::Peer`]; each call is the method of the
/// same name on [`Raft`] (`make` is [`Raft::new`]).
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
