//! Replication: heartbeats in part A, the log from part B, in three layers, and the
//! `AppendEntries` receiver.
//!
//! 1. [`Peer::replication_ticker`] lives for **one term**: started when the peer becomes leader
//!    of `term`, it runs a round every [`HEARTBEAT_INTERVAL`] until a round reports that the
//!    peer no longer leads that term.
//! 2. [`Peer::start_replication`] is one round: under the lock, check that the peer still leads
//!    `term`, and send every other peer an `AppendEntries`, each from its own task.
//! 3. [`Peer::replicate_to`] sends one `AppendEntries` and acts on the reply.

use std::sync::Arc;

use labrpc::runtime;

use raftapi::{PeerId, Term};
use crate::logging::raft_event;
use raftapi::{AppendEntriesArgs, AppendEntriesReply};
use crate::peer::{spawn_detached, Peer, Role, State};
use crate::rpc::APPEND_ENTRIES;
use crate::timing::HEARTBEAT_INTERVAL;

impl Peer {
    /// Starts the replication ticker of `term`. Call it right after becoming leader of `term`
    /// (with the lock held, so no other round can come first).
    pub(crate) fn start_replication_ticker(self: &Arc<Self>, term: Term) {
        spawn_detached(self.clone().replication_ticker(term));
    }

    /// Layer 1: the replication ticker of `term`.
    ///
    /// Loop: run a round with [`start_replication`](Peer::start_replication)`(term)`; when it
    /// returns false (the peer was killed, or no longer leads `term`), return: this ticker's
    /// term is over, and a later term gets a ticker of its own. Otherwise sleep
    /// [`HEARTBEAT_INTERVAL`] (`runtime::sleep(HEARTBEAT_INTERVAL).await`) and go again.
    pub(crate) async fn replication_ticker(self: Arc<Self>, term: Term) {
        // Your code here (A).
    }

    /// Layer 2: one replication round of `term`. Returns whether the context still holds.
    ///
    /// Under the lock, check the context first: if the peer was killed, or is no longer leader
    /// of `term`, log from which term leadership was lost and return false. Otherwise, for
    /// every other peer build its [`AppendEntriesArgs`] (term and leader id; from part B also
    /// `prev_log_index`/`prev_log_term` from that peer's `next_index`, the entries after it,
    /// and `leader_commit`), spawn [`replicate_to`](Peer::replicate_to) for it with
    /// [`spawn_detached`], and return true.
    pub(crate) fn start_replication(self: &Arc<Self>, term: Term) -> bool {
        // Your code here (A).
        false
    }

    /// Layer 3: the per-peer sender. Sends `args` to peer `to` and acts on the reply.
    ///
    /// Send with `self.peers[to.index()].call::<AppendEntriesArgs, AppendEntriesReply>(
    /// APPEND_ENTRIES, &args).await` (the name must match the receiver's, or the call cannot be
    /// routed); a call that fails ends here. On a reply, lock and first **align terms**: a
    /// higher term in the reply makes this peer a follower at once. Part A needs nothing more.
    /// From part B, **check the context again** (still leader of `args.term`) before using the
    /// reply: on success move `match_index`/`next_index` forward (never back), and commit what
    /// a majority holds; on a refusal, back `next_index` up using the reply's conflict hints.
    pub(crate) async fn replicate_to(self: Arc<Self>, to: PeerId, args: AppendEntriesArgs) {
        // Your code here (A, B).
    }

    /// The `AppendEntries` receiver: the handler of `"Raft.AppendEntries"`.
    ///
    /// Lock. Reject a leader whose term is older than ours (log who was rejected, with both
    /// terms), replying with our term so it steps down. Otherwise accept it as the leader of its
    /// term: adopt a newer term, become (or stay) a follower (two leaders in one term are
    /// impossible: two majorities always intersect), and **reset the election timer**, the
    /// line that keeps a healthy cluster from electing again. From part B, check that our log
    /// holds `prev_log_term` at `prev_log_index` (if not, refuse, with the conflict hints that
    /// [`AppendEntriesReply`] describes), then store the entries (dropping a conflicting
    /// suffix, never entries the leader did not send) and advance the commit index to
    /// `min(leader_commit, index of the last new entry)`.
    pub(crate) fn append_entries(&self, args: AppendEntriesArgs) -> AppendEntriesReply {
        // Your code here (A, B).
        AppendEntriesReply {
            term: Term::ZERO,
            success: false,
            conflict_term: None,
            conflict_index: 0,
        }
    }
    // @part B

    /// Part B's commit rule, for a leader: the highest index `n` above the commit index that a
    /// majority of `match_index` (its own log included) holds, **and whose entry is of the
    /// current term** (Figure 8: an entry of an older term is committed only indirectly),
    /// becomes the commit index; then wake the applier.
    pub(crate) fn advance_commit_index(&self, st: &mut State) {
        // Your code here (B).
    }
    // @end
}
