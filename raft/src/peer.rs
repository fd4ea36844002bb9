//! The peer: the shared core every task of a peer holds, and [`Raft`], the handle the tester
//! and the service use.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use labrpc::runtime;
use labrpc::ClientEnd;
use parking_lot::Mutex;

use crate::apply::ApplySender;
use crate::durable::{self, Restored};
use crate::ids::{PeerId, Term};
use crate::logging::raft_event;
use crate::messages::LogEntry;
use crate::persister::Persister;
use crate::rpc;
use crate::state::{Effects, State};
use crate::timing::{random_election_timeout, ElectionTimer};

/// The core of one peer, shared (through an `Arc`) by the handle, the tickers, the senders and
/// the RPC handlers. Holds no task handles, so there is no reference cycle: when the peer's
/// node is killed its tasks are dropped, and with them the last references.
pub(crate) struct Peer {
    /// This peer's id (its index in `peers`).
    pub(crate) me: PeerId,
    /// One end per peer, this one's own included, indexed by peer id.
    pub(crate) peers: Vec<ClientEnd>,
    /// Where the persistent state is saved.
    persister: Persister,
    /// Where committed commands go; part B's applier sends on it. Nothing is committed in
    /// part A, so it is only kept.
    #[allow(dead_code)]
    apply_tx: ApplySender,
    /// Everything that changes, behind one lock. Never held across an `.await`.
    pub(crate) state: Mutex<State>,
    /// Set by [`Raft::kill`]; every loop checks it.
    dead: AtomicBool,
}

impl Peer {
    /// Whether [`Raft::kill`] was called.
    pub(crate) fn killed(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    /// Does what a pure rule asked for: saves the state, resets the election timer.
    pub(crate) fn carry_out(&self, st: &mut State, effects: Effects) {
        if effects.persist {
            self.persist(st);
        }
        if effects.reset_timer {
            st.timer.reset(runtime::now(), random_election_timeout());
        }
    }

    /// Saves the persistent state (term, vote, log), keeping the snapshot. Called with the lock
    /// held, so saves happen in the order of the changes.
    pub(crate) fn persist(&self, st: &State) {
        match st.durable().encode() {
            Ok(bytes) => {
                let size = bytes.len();
                self.persister.save(bytes, None);
                raft_event!(
                    trace,
                    self.me,
                    st.term,
                    Persist,
                    "saved term {}, vote {:?}, {} log entries ({size} bytes)",
                    st.term,
                    st.voted_for.map(|p| p.to_string()),
                    st.log.last_index()
                );
            }
            Err(e) => raft_event!(
                error,
                self.me,
                st.term,
                Error,
                "could not encode the persistent state, so it was not saved: {e}"
            ),
        }
    }
}

/// Spawns `task` on the current node (the peer's, when called from a peer's task or from
/// [`Raft::new`] inside `enter_node`) without waiting for it: it ends on its own, or when the
/// node is killed.
pub(crate) fn spawn_detached(task: impl Future<Output = ()> + Send + 'static) {
    // Dropping the handle detaches the task; it keeps running.
    drop(runtime::spawn(task));
}

/// One Raft peer. A cheap handle: clones share the same peer.
///
/// Build it with [`Raft::new`] inside the peer's node (see the crate documentation), register
/// [`Raft::service`] on the peer's server, and ask it with [`Raft::get_state`].
#[derive(Clone)]
pub struct Raft {
    peer: Arc<Peer>,
}

impl std::fmt::Debug for Raft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.peer.state.lock();
        f.debug_struct("Raft")
            .field("me", &self.peer.me.index())
            .field("term", &st.term.0)
            .field("role", &st.role.name())
            .field("killed", &self.peer.killed())
            .finish()
    }
}

impl Raft {
    /// Creates peer `me` of a cluster that reaches its peers through `peers` (one end per
    /// peer, indexed by peer id; `peers[me]` is not used). Restores the state saved in
    /// `persister`, starts as a follower, and returns at once; the election ticker runs as a
    /// task spawned with [`labrpc::runtime::spawn`], so it belongs to the current node. The
    /// tester calls this inside `labrpc::runtime::enter_node(node, ...)`, so that the peer's
    /// tasks die with its node.
    ///
    /// Committed commands will be sent on `apply_tx` (from part B on).
    ///
    /// If the saved state cannot be decoded, the peer logs an error (topic `error`) and starts
    /// from a fresh state.
    ///
    /// # Panics
    /// Panics when `me` is not an index into `peers`, or when called outside a lab runtime.
    pub fn new(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        apply_tx: ApplySender,
    ) -> Raft {
        assert!(
            me < peers.len(),
            "Raft::new: me = {me} but there are only {} peers; `peers` must hold one end per \
             peer, this one included",
            peers.len()
        );
        let me = PeerId(me);
        let restored = match durable::restore(&persister.read_raft_state()) {
            Ok(restored) => restored,
            Err(e) => {
                raft_event!(
                    error,
                    me,
                    Term::ZERO,
                    Error,
                    "{e}; starting from a fresh state instead"
                );
                Restored::default()
            }
        };
        if restored != Restored::default() {
            raft_event!(
                info,
                me,
                restored.term,
                Persist,
                "restored term {}, vote {:?}, {} log entries",
                restored.term,
                restored.voted_for.map(|p| p.to_string()),
                restored.log.last_index()
            );
        }
        let timer = ElectionTimer::new(runtime::now(), random_election_timeout());
        let state = State::new(me, peers.len(), restored, timer);
        raft_event!(
            debug,
            me,
            state.term,
            Timer,
            "started as follower of {} peers; election timeout {:?}",
            state.peers,
            timer.timeout()
        );
        let peer = Arc::new(Peer {
            me,
            peers,
            persister,
            apply_tx,
            state: Mutex::new(state),
            dead: AtomicBool::new(false),
        });
        spawn_detached(peer.clone().election_ticker());
        Raft { peer }
    }

    /// The current term, and whether this peer believes it is the leader.
    pub fn get_state(&self) -> (u64, bool) {
        let st = self.peer.state.lock();
        (st.term.0, st.is_leader())
    }

    /// Stops the peer: sets a flag that every ticker and sender checks, so the loops exit and
    /// no new RPC is sent. Idempotent. The RPC handlers keep answering until the tester removes
    /// the peer's server.
    pub fn kill(&self) {
        if !self.peer.dead.swap(true, Ordering::AcqRel) {
            let term = self.peer.state.lock().term;
            raft_event!(info, self.peer.me, term, Timer, "killed; the tickers stop");
        }
    }

    /// The peer's RPC service: `"Raft"` with the methods `"RequestVote"` and
    /// `"AppendEntries"`. Add it to the peer's server (a `labrpc::Server` on the peer's node).
    pub fn service(&self) -> labrpc::Service {
        rpc::service(&self.peer)
    }

    /// Asks the peer to agree on `command`. Returns `None` unless it is the leader (or when it
    /// was killed); otherwise appends the command to its log and returns the entry's
    /// `(index, term)` at once, without waiting for agreement.
    ///
    /// **Part A:** the entry is appended and saved, but not yet sent to followers, so it is
    /// never committed: heartbeats carry no entries. Replicating it is part B's job.
    pub fn start(&self, command: Vec<u8>) -> Option<(u64, u64)> {
        if self.peer.killed() {
            return None;
        }
        let mut st = self.peer.state.lock();
        if !st.is_leader() {
            return None;
        }
        let term = st.term;
        let index = st.log.append(LogEntry { term, command });
        self.peer.persist(&st);
        raft_event!(
            debug,
            self.peer.me,
            term,
            Apply,
            "leader appended a command at index {index}"
        );
        Some((index, term.0))
    }
}
