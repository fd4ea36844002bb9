//! Peers that implement only the first parts of the lab, to show that each part is graded on
//! its own: a peer that does exactly parts A..=X passes every grader of part X, and a peer that
//! stops before part X fails every conformance grader of part X.
//!
//! - [`Skeleton`]: nothing at all, as the handout's skeleton (handlers that answer with the
//!   default reply, no tasks): before part A.
//! - `FigPeer<ElectionOnly>` (in `conformance_peers.rs`): part A.
//! - [`Amnesiac`]: any peer whose persister saves nothing (the reference's, here): parts A and
//!   B of a peer that does them all.
//! - [`WithoutSnapshots`]: any peer whose `snapshot` does nothing and whose service has no
//!   `InstallSnapshot`: parts A to C.
//!
//! The wrappers use only the API every peer gives the tester, so they wrap any `raft`.

use std::marker::PhantomData;

use harness::Peer;
use labrpc::{ClientEnd, Network, Server, Service};
use raft::{
    AppendEntriesArgs, AppendEntriesReply, ApplySender, Persister, RequestVoteArgs,
    RequestVoteReply,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A peer that does nothing: its handlers answer with the default reply (term 0, no vote, no
/// success), as the handout's skeleton does before part A is written.
pub struct Skeleton;

impl Peer for Skeleton {
    fn make(_: Vec<ClientEnd>, _: usize, _: Persister, _: ApplySender) -> Self {
        Skeleton
    }

    fn get_state(&self) -> (u64, bool) {
        (0, false)
    }

    fn kill(&self) {}

    fn service(&self) -> Service {
        let mut svc = Service::new("Raft").expect("\"Raft\" is a valid service name");
        svc.handle("RequestVote", |_: RequestVoteArgs| {
            RequestVoteReply::default()
        })
        .expect("a new method");
        svc.handle("AppendEntries", |_: AppendEntriesArgs| {
            AppendEntriesReply::default()
        })
        .expect("a new method");
        svc
    }

    fn start(&self, _: Vec<u8>) -> Option<(u64, u64)> {
        None
    }

    fn snapshot(&self, _: u64, _: Vec<u8>) {}
}

/// `P` with a persister that saves nothing: `P` gets a persister of its own, empty at every
/// start, which the tester never sees (so a restarted `P` starts from nothing, and the tester's
/// persister stays empty). A peer without part C.
pub struct Amnesiac<P: Peer> {
    inner: P,
}

impl<P: Peer> Peer for Amnesiac<P> {
    fn make(peers: Vec<ClientEnd>, me: usize, _saved: Persister, apply_tx: ApplySender) -> Self {
        Amnesiac {
            inner: P::make(peers, me, Persister::new(), apply_tx),
        }
    }

    fn get_state(&self) -> (u64, bool) {
        self.inner.get_state()
    }

    fn kill(&self) {
        self.inner.kill()
    }

    fn service(&self) -> Service {
        self.inner.service()
    }

    fn start(&self, command: Vec<u8>) -> Option<(u64, u64)> {
        self.inner.start(command)
    }

    fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        self.inner.snapshot(index, snapshot)
    }
}

/// `P` without part D: `snapshot` does nothing (so its log is never trimmed and it never needs
/// to send a snapshot), and its service has only `RequestVote` and `AppendEntries`, forwarded
/// to `P`'s own over a private, reliable network (as a handout without part D has no
/// `InstallSnapshot` method).
pub struct WithoutSnapshots<P: Peer> {
    inner: P,
    service: Service,
    _peer: PhantomData<P>,
}

/// Forwards `args` to the wrapped peer's `method`; a call that fails gets no reply, as the
/// network would give none.
async fn forward<A: Serialize, R: DeserializeOwned + Send + 'static>(
    end: ClientEnd,
    method: &str,
    args: A,
) -> R {
    match end.call::<A, R>(method, &args).await {
        Ok(reply) => reply,
        Err(_) => std::future::pending().await,
    }
}

impl<P: Peer> Peer for WithoutSnapshots<P> {
    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: ApplySender) -> Self {
        let inner = P::make(peers, me, persister, apply_tx);
        // On the peer's node (the tester calls make inside it): the handlers die with the peer.
        let net = Network::new();
        net.set_reliable(true);
        net.set_long_delays(false);
        let server = Server::new();
        server
            .add_service(inner.service())
            .expect("the wrapped peer's service is new on this server");
        net.add_server("wrapped", server);
        let end = net.make_end("proxy").expect("a new end");
        net.connect("proxy", "wrapped").expect("the end exists");
        net.enable("proxy", true).expect("the end exists");

        let mut service = Service::new("Raft").expect("\"Raft\" is a valid service name");
        let e = end.clone();
        service
            .handle_async("RequestVote", move |a: RequestVoteArgs| {
                forward::<_, RequestVoteReply>(e.clone(), "Raft.RequestVote", a)
            })
            .expect("a new method");
        service
            .handle_async("AppendEntries", move |a: AppendEntriesArgs| {
                forward::<_, AppendEntriesReply>(end.clone(), "Raft.AppendEntries", a)
            })
            .expect("a new method");
        WithoutSnapshots {
            inner,
            service,
            _peer: PhantomData,
        }
    }

    fn get_state(&self) -> (u64, bool) {
        self.inner.get_state()
    }

    fn kill(&self) {
        self.inner.kill()
    }

    fn service(&self) -> Service {
        self.service.clone()
    }

    fn start(&self, command: Vec<u8>) -> Option<(u64, u64)> {
        self.inner.start(command)
    }

    /// Part D is not done: the service's snapshot is dropped, and the log kept whole.
    fn snapshot(&self, _index: u64, _snapshot: Vec<u8>) {}
}
