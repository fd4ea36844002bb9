//! The RPC layer: the names on the wire, the `"Raft"` service that routes them to the
//! receivers, and what a sender does with a call that got no reply.

use std::sync::Arc;

use labrpc::{RpcError, Service};

use crate::ids::{PeerId, Term};
use crate::logging::raft_event;
use crate::messages::{AppendEntriesArgs, RequestVoteArgs};
use crate::peer::Peer;

/// The service every peer registers.
pub(crate) const SERVICE: &str = "Raft";
/// The `RequestVote` method, as registered.
const REQUEST_VOTE_METHOD: &str = "RequestVote";
/// The `AppendEntries` method, as registered.
const APPEND_ENTRIES_METHOD: &str = "AppendEntries";
/// The full name a candidate calls; must match [`SERVICE`] and the registered method.
pub(crate) const REQUEST_VOTE: &str = "Raft.RequestVote";
/// The full name a leader calls; must match [`SERVICE`] and the registered method.
pub(crate) const APPEND_ENTRIES: &str = "Raft.AppendEntries";

/// The `"Raft"` service of `peer`, with its two receivers as synchronous handlers.
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
    }
}
