//! The peer: [`Raft`], the handle the tester holds, and [`Peer`], the core that every task and
//! RPC handler of one peer shares.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use labrpc::{runtime, ClientEnd};
use parking_lot::Mutex;

use raftapi::ApplySender;
use raftapi::{PeerId, Term};
use crate::logging::raft_event;
use raftapi::Persister;

/// What a peer is in its current term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Follows the leader of its term; every peer starts as one.
    Follower,
    /// Asks the others for their votes in its term.
    Candidate,
    /// Won its term's election: sends heartbeats and (part B) replicates the log.
    Leader,
}

/// Everything about a peer that changes, behind one lock. Figure 2 of the Raft paper lists what
/// a peer keeps; add it here as you need it.
#[derive(Debug)]
pub(crate) struct State {
    /// The latest term this peer has seen. Persistent (part C saves it).
    pub(crate) term: Term,
    /// The candidate this peer voted for in `term`, if any. Persistent.
    pub(crate) voted_for: Option<PeerId>,
    /// Follower, candidate or leader.
    pub(crate) role: Role,
    // Your fields here (A): the election timer (when it was last reset, from
    // `runtime::now()`, and its randomized timeout, from `runtime::random_range`), and the
    // votes a candidate has collected.
    // @part B
    // Your fields here (B): the log (a `Vec<LogEntry>`; a dummy entry at index 0 keeps the
    // index arithmetic simple), `commit_index`, `last_applied`, and for a leader `next_index`
    // and `match_index` per peer.
    // @end
}

/// The core of one peer, shared through an `Arc` by the handle, the tickers, the senders and the
/// RPC handlers.
pub(crate) struct Peer {
    /// This peer's id: its index in `peers`.
    pub(crate) me: PeerId,
    /// One end per peer, this one's own included, indexed by peer id. Call a peer with
    /// `self.peers[to.index()].call::<Args, Reply>("Raft.RequestVote", &args).await`.
    pub(crate) peers: Vec<ClientEnd>,
    /// Where the persistent state is saved (part C).
    pub(crate) persister: Persister,
    /// Where committed commands go, in index order (part B).
    pub(crate) apply_tx: ApplySender,
    /// Everything that changes. Never hold the guard across an `.await`.
    pub(crate) state: Mutex<State>,
    /// Set by [`Raft::kill`].
    dead: AtomicBool,
}

impl Peer {
    /// Whether [`Raft::kill`] was called. Every long-running loop checks it and ends.
    pub(crate) fn killed(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }
}

/// Spawns `task` on the current node without waiting for it. Called from [`Raft::new`] (which
/// the tester calls inside the peer's node) or from one of the peer's tasks, the task belongs to
/// the peer's node: it ends on its own, or when the tester crashes the peer.
pub(crate) fn spawn_detached(task: impl Future<Output = ()> + Send + 'static) {
    drop(runtime::spawn(task));
}

/// One Raft peer, as the tester sees it. A cheap handle: clones share the same peer.
#[derive(Clone)]
pub struct Raft {
    peer: Arc<Peer>,
}

impl Raft {
    /// Creates peer `me` of a cluster that reaches its peers through `peers` (one end per peer,
    /// indexed by peer id; `peers[me]` is this peer's own). Starts as a follower in term 0,
    /// restores what `persister` holds (part C), and **returns at once**: long-running work
    /// (the election ticker; part B's applier) runs in tasks spawned with
    /// [`labrpc::runtime::spawn`], which belong to the peer's node and die when the tester
    /// crashes it.
    ///
    /// Committed commands go to the service through `apply_tx`, in index order (part B).
    pub fn new(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        apply_tx: ApplySender,
    ) -> Raft {
        let peer = Arc::new(Peer {
            me: PeerId(me),
            dead: AtomicBool::new(false),
            state: Mutex::new(State {
                term: Term::ZERO,
                voted_for: None,
                role: Role::Follower,
            }),
            apply_tx,
            persister,
            peers,
        });
        // @part C
        peer.restore(&mut peer.state.lock());
        // @end
        spawn_detached(peer.clone().election_ticker());
        // @part B
        spawn_detached(peer.clone().applier());
        // @end
        Raft { peer }
    }

    /// The current term, and whether this peer believes it is the leader.
    pub fn get_state(&self) -> (u64, bool) {
        let st = self.peer.state.lock();
        (st.term.0, st.role == Role::Leader)
    }

    /// Tells the peer it is being shut down. The tester calls it when it crashes a peer;
    /// afterwards the peer's tickers must end and it must send nothing more.
    pub fn kill(&self) {
        self.peer.dead.store(true, Ordering::Release);
        raft_event!(
            info,
            self.peer.me,
            self.peer.state.lock().term,
            Timer,
            "killed by the tester"
        );
    }

    /// The peer's RPC service: `"Raft"`, whose methods `"RequestVote"` and `"AppendEntries"` run
    /// the receivers. The tester adds it to the peer's server.
    pub fn service(&self) -> labrpc::Service {
        crate::rpc::service(&self.peer)
    }

    /// Asks the peer to agree on `command` [Start]. Returns `None` unless this peer is the
    /// leader (or when it was killed); otherwise appends the command to its log and returns the
    /// index it will have if it is ever committed, and the current term, **at once**, without
    /// waiting for agreement: replication happens in the background, and the command reaches
    /// the service through the apply channel once committed.
    pub fn start(&self, command: Vec<u8>) -> Option<(u64, u64)> {
        // Your code here (B).
        None
    }

    /// The service has a snapshot of its state through `index` [Snapshot] (part D): discard
    /// the log through `index`, and save the state and `snapshot` together
    /// (`persister.save(state, Some(snapshot))`). Called on every peer, leader or not, by the
    /// service, possibly while the peer's applier waits for the service to take a message from
    /// the apply channel: take the lock only (never wait on the apply channel here) and return
    /// at once. Ignore an index at or below the last snapshot's.
    pub fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        // Your code here (D).
    }
}
