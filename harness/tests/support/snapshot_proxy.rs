//! A part-D defect at the RPC boundary: a wrapper that puts its own `"Raft"` service in front
//! of a peer's (forwarding each call to it over a private, reliable network) and hands the
//! service every snapshot an `InstallSnapshot` brings, whether or not it is newer than what
//! was applied: the student's "send the ApplyMsg for the snapshot as soon as it arrives". It
//! uses only the API every peer gives the tester, so it wraps any submission's `raft`; the
//! tests wrap `raft::Raft`.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use harness::Peer;
use labrpc::runtime;
use labrpc::{ClientEnd, Network, Server, Service};
use raft::{
    AppendEntriesArgs, AppendEntriesReply, ApplyMsg, ApplySender, InstallSnapshotArgs,
    InstallSnapshotReply, Persister, RequestVoteArgs, RequestVoteReply,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// `P`, applying every snapshot it receives.
pub struct AppliesEverySnapshot<P: Peer> {
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

impl<P: Peer> Peer for AppliesEverySnapshot<P> {
    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: ApplySender) -> Self {
        let (inner_tx, mut inner_rx) = raft::apply_channel();
        let inner = P::make(peers, me, persister, inner_tx);
        // On the peer's node (the tester calls make inside it): it dies with the peer.
        let to_service = apply_tx.clone();
        let applied = Arc::new(AtomicU64::new(0));
        let seen = applied.clone();
        drop(runtime::spawn(async move {
            while let Some(msg) = inner_rx.recv().await {
                seen.fetch_max(msg.index(), Ordering::SeqCst);
                if to_service.send(msg).await.is_err() {
                    return;
                }
            }
        }));

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
        let e = end.clone();
        service
            .handle_async("AppendEntries", move |a: AppendEntriesArgs| {
                forward::<_, AppendEntriesReply>(e.clone(), "Raft.AppendEntries", a)
            })
            .expect("a new method");
        service
            .handle_async("InstallSnapshot", move |a: InstallSnapshotArgs| {
                let (end, to_service, applied) = (end.clone(), apply_tx.clone(), applied.clone());
                async move {
                    let msg = ApplyMsg::Snapshot {
                        index: a.last_included_index,
                        term: a.last_included_term.0,
                        data: a.data.clone(),
                    };
                    let before = applied.load(Ordering::SeqCst);
                    let reply: InstallSnapshotReply = forward(end, "Raft.InstallSnapshot", a).await;
                    // The bug: a snapshot the peer ignored (it had applied that far when the
                    // snapshot came) goes to the service anyway. (One it installed, the peer
                    // applies itself.)
                    if msg.index() <= before {
                        let _ = to_service.send(msg).await;
                    }
                    reply
                }
            })
            .expect("a new method");
        AppliesEverySnapshot {
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

    fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        self.inner.snapshot(index, snapshot)
    }
}
