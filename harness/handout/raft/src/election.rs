//! Leader election (part A), in three layers, and the `RequestVote` receiver.
//!
//! 1. [`Peer::election_ticker`] lives as long as the peer and starts an election whenever the
//!    election timer runs out while the peer does not lead.
//! 2. [`Peer::start_election`] is one round: under the lock, become candidate of a new term and
//!    send every other peer a `RequestVote`, each from its own task.
//! 3. [`Peer::ask_for_vote`] sends one `RequestVote` and acts on the reply.

use std::sync::Arc;

use labrpc::runtime;

use raftapi::{PeerId, Term};
use crate::logging::raft_event;
use raftapi::{RequestVoteArgs, RequestVoteReply};
use crate::peer::{spawn_detached, Peer, Role};
use crate::rpc::REQUEST_VOTE;

impl Peer {
    /// Layer 1: the election ticker. Spawned by `Raft::new`; runs until the peer is killed.
    ///
    /// Loop while not [`killed`](Peer::killed): look (under the lock) whether the election
    /// timer has run out and the peer is not the leader; if so, call
    /// [`start_election`](Peer::start_election). Then sleep with `runtime::sleep(..).await`
    /// (never holding the lock) until the timer could next run out, or a short while (tens of
    /// milliseconds); a heartbeat that arrives meanwhile moves the deadline.
    pub(crate) async fn election_ticker(self: Arc<Self>) {
        // Your code here (A).
    }

    /// Layer 2: one election round.
    ///
    /// Under the lock, check the context first (the lock was released since the ticker looked:
    /// a heartbeat may have reset the timer, or the peer may have become leader). Then become a
    /// candidate: move to the next term, vote for yourself, reset the election timer (with a
    /// fresh random timeout), and save the state (part C). Build one [`RequestVoteArgs`] (term,
    /// candidate id, and from part B the last log index and term) and spawn
    /// [`ask_for_vote`](Peer::ask_for_vote) for every other peer with
    /// [`spawn_detached`]. Log it: `raft_event!(info, self.me, term, Vote, "...")`.
    pub(crate) fn start_election(self: &Arc<Self>) {
        // Your code here (A).
    }

    /// Layer 3: asks peer `to` for its vote in `args.term` and acts on the reply.
    ///
    /// Send with `self.peers[to.index()].call::<RequestVoteArgs, RequestVoteReply>(REQUEST_VOTE,
    /// &args).await`; a call that fails (a lost message, a dead peer) ends here. On a reply,
    /// lock and first **align terms**: a higher term in the reply makes this peer a follower of
    /// that term at once. Then **check the context**: count the vote only if the peer is still a
    /// candidate in `args.term`. With votes from a majority (itself included), become the leader
    /// of that term and start its replication ticker
    /// ([`start_replication_ticker`](Peer::start_replication_ticker)).
    pub(crate) async fn ask_for_vote(self: Arc<Self>, to: PeerId, args: RequestVoteArgs) {
        // Your code here (A).
    }

    /// The `RequestVote` receiver: the handler of `"Raft.RequestVote"`.
    ///
    /// Lock. Reject a candidate whose term is older than ours (log who was rejected, with both
    /// terms). A newer term makes this peer a follower of that term, with no vote yet. Grant
    /// the vote if we have not voted for someone else in this term (and, from part B, the
    /// candidate's log is at least as up-to-date as ours, §5.4.1); granting resets the
    /// election timer. Save the state before replying when it changed (part C). Reply with our
    /// (possibly new) term.
    pub(crate) fn request_vote(&self, args: RequestVoteArgs) -> RequestVoteReply {
        // Your code here (A).
        RequestVoteReply {
            term: Term::ZERO,
            vote_granted: false,
        }
    }
}
