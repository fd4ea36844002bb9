//! The RPC layer: the names on the wire, the `"Raft"` service that routes them to the
//! receivers, and what a sender does with a call that got no reply.

use std::sync::Arc;

use futures::future::{select, Either};
use labrpc::{RpcError, Service};
use parking_lot::MutexGuard;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::logging::raft_event;
use crate::peer::Peer;
use crate::state::{Effects, State, TermCheck};
use raftapi::{
    AppendEntriesArgs, AppendEntriesReply, InstallSnapshotArgs, InstallSnapshotReply,
    RequestVoteArgs, RequestVoteReply,
};
use raftapi::{PeerId, Term};

/// A reply that carries the replier's term, for the sender to align with.
pub(crate) trait Reply: DeserializeOwned + Send + 'static {
    /// The replier's current term.
    fn term(&self) -> Term;
}

impl Reply for RequestVoteReply {
    fn term(&self) -> Term {
        self.term
    }
}

impl Reply for AppendEntriesReply {
    fn term(&self) -> Term {
        self.term
    }
}

impl Reply for InstallSnapshotReply {
    fn term(&self) -> Term {
        self.term
    }
}

impl Peer {
    /// The first half of every per-peer sender (layer 3): sends `args` to `to` as `method`,
    /// then, under the lock, gives up if the peer was killed (also while waiting for the
    /// reply) or no reply came, and aligns
    /// terms (a newer term in the reply makes us a follower, and the reply is dropped).
    ///
    /// Returns the locked state and the reply when the caller may act on it; the caller checks
    /// its own context (still candidate, or still leader, of the request's term) next.
    pub(crate) async fn call_and_align<A: Serialize, R: Reply>(
        self: &Arc<Self>,
        to: PeerId,
        method: &'static str,
        args: &A,
    ) -> Option<(MutexGuard<'_, State>, R)> {
        let stop_seen = self.stop.generation();
        if self.killed() {
            return None;
        }
        let call = std::pin::pin!(self.peers[to.index()].call::<A, R>(method, args));
        let stopped = std::pin::pin!(self.stop.changed_since(stop_seen));
        let result = match select(call, stopped).await {
            Either::Left((result, _)) => result,
            // Killed while waiting for the reply: the sender ends now.
            Either::Right(((), _)) => return None,
        };
        let mut st = self.state.lock();
        if self.killed() {
            return None;
        }
        let reply = match result {
            Ok(reply) => reply,
            Err(err) => {
                log_no_reply(self.me, st.term, to, method, &err);
                return None;
            }
        };
        let mut effects = Effects::default();
        let check = st.align_term(reply.term(), to, &mut effects);
        self.carry_out(&mut st, effects);
        (check != TermCheck::Newer).then_some((st, reply))
    }
}

/// The service every peer registers.
pub(crate) const SERVICE: &str = "Raft";
/// The `RequestVote` method, as registered.
const REQUEST_VOTE_METHOD: &str = "RequestVote";
/// The `AppendEntries` method, as registered.
const APPEND_ENTRIES_METHOD: &str = "AppendEntries";
/// The `InstallSnapshot` method, as registered.
const INSTALL_SNAPSHOT_METHOD: &str = "InstallSnapshot";
/// The full name a leader calls to send its snapshot; must match [`SERVICE`] and the
/// registered method.
pub(crate) const INSTALL_SNAPSHOT: &str = "Raft.InstallSnapshot";
/// The full name a candidate calls; must match [`SERVICE`] and the registered method.
pub(crate) const REQUEST_VOTE: &str = "Raft.RequestVote";
/// The full name a leader calls; must match [`SERVICE`] and the registered method.
pub(crate) const APPEND_ENTRIES: &str = "Raft.AppendEntries";

/// The `"Raft"` service of `peer`, with its three receivers as synchronous handlers.
pub(crate) fn service(peer: &Arc<Peer>) -> Service {
    // The names are constants checked by the tests below, so these cannot fail.
    let mut service = Service::new(SERVICE).expect("\"Raft\" is a valid service name");
    let voter = peer.clone();
    service
        .handle(REQUEST_VOTE_METHOD, move |args: RequestVoteArgs| {
            voter.request_vote(args)
        })
        .expect("RequestVote is a valid, new method name");
    let follower = peer.clone();
    service
        .handle(APPEND_ENTRIES_METHOD, move |args: AppendEntriesArgs| {
            follower.append_entries(args)
        })
        .expect("AppendEntries is a valid, new method name");
    let installer = peer.clone();
    service
        .handle(INSTALL_SNAPSHOT_METHOD, move |args: InstallSnapshotArgs| {
            installer.install_snapshot(args)
        })
        .expect("InstallSnapshot is a valid, new method name");
    service
}

/// Logs a call that got no reply. To Raft that is just a lost message: nothing to do but go
/// on. A programming error (a misspelt method, mismatched types, a panicking handler) is logged
/// at `error`, because no retry will ever fix it.
pub(crate) fn log_no_reply(me: PeerId, term: Term, to: PeerId, method: &str, err: &RpcError) {
    if err.is_programming_error() {
        raft_event!(
            error,
            me,
            term,
            Error,
            "{method} to {to} cannot work: {err}"
        );
    } else if method == REQUEST_VOTE {
        raft_event!(debug, me, term, Vote, "{method} to {to}: no reply: {err}");
    } else {
        raft_event!(trace, me, term, Append, "{method} to {to}: no reply: {err}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_names_match_the_registered_methods() {
        assert_eq!(REQUEST_VOTE, format!("{SERVICE}.{REQUEST_VOTE_METHOD}"));
        assert_eq!(APPEND_ENTRIES, format!("{SERVICE}.{APPEND_ENTRIES_METHOD}"));
        assert_eq!(
            INSTALL_SNAPSHOT,
            format!("{SERVICE}.{INSTALL_SNAPSHOT_METHOD}")
        );
    }
}
