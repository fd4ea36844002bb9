//! The peer: the shared core every task of a peer holds, and [`Raft`], the handle the tester
//! and the service use.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use labrpc::runtime;
use labrpc::ClientEnd;
use parking_lot::Mutex;

use crate::durable::{self, Restored};
use crate::logging::raft_event;
use crate::rpc;
use crate::signal::Signal;
use crate::state::{Effects, State};
use crate::timing::{random_election_timeout, ElectionTimer};
use raftapi::ApplySender;
use raftapi::Persister;
use raftapi::{PeerId, Term};

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
    /// Keeps the encoded log between saves. Only [`Peer::persist`] takes this lock, always
    /// while holding the state's.
    encoder: Mutex<durable::Encoder>,
    /// Where committed commands go; only the applier sends on it.
    pub(crate) apply_tx: ApplySender,
    /// Everything that changes, behind one lock. Never held across an `.await`.
    pub(crate) state: Mutex<State>,
    /// Set by [`Raft::kill`]; every task checks it.
    dead: AtomicBool,
    /// Notified when a leader has something new to send (a command, a commit index): wakes the
    /// replication ticker between heartbeats.
    pub(crate) replicate: Signal,
    /// Notified when `commit_index` moves: wakes the applier.
    pub(crate) committed: Signal,
    /// Notified by [`Raft::kill`]: ends the waits of every task (tickers, senders, applier).
    pub(crate) stop: Signal,
    /// How many of the peer's tasks are running (see [`Peer::spawn_task`]).
    tasks: AtomicUsize,
}

/// Counts one running task of a peer; the count drops when the task ends or is dropped (as
/// when its node is killed).
struct TaskGuard(Arc<Peer>);

impl TaskGuard {
    fn new(peer: Arc<Peer>) -> TaskGuard {
        peer.tasks.fetch_add(1, Ordering::AcqRel);
        TaskGuard(peer)
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.tasks.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Peer {
    /// Whether [`Raft::kill`] was called.
    pub(crate) fn killed(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    /// Does what a pure rule asked for: saves the state, resets the election timer, wakes the
    /// applier and the replication ticker. Called with the lock held, before anything that
    /// depends on the change (a reply, a request) leaves the peer.
    pub(crate) fn carry_out(&self, st: &mut State, effects: Effects) {
        if effects.persist || effects.snapshot {
            self.persist_with(st, effects.snapshot);
        }
        if effects.reset_timer {
            st.timer.reset(runtime::now(), random_election_timeout());
        }
        if effects.committed {
            self.committed.notify();
        }
        if effects.replicate || (effects.committed && st.is_leader()) {
            self.replicate.notify();
        }
    }

    /// Spawns `task` as one of the peer's tasks, on the current node (the peer's, when called
    /// from a peer's task or from [`Raft::new`] inside `enter_node`), without waiting for it:
    /// it ends on its own (every task of a peer ends soon after [`Raft::kill`]), or when the
    /// node is killed.
    pub(crate) fn spawn_task(self: &Arc<Self>, task: impl Future<Output = ()> + Send + 'static) {
        let guard = TaskGuard::new(self.clone());
        spawn_detached(async move {
            let _running = guard;
            task.await;
        });
    }

    /// How many of the peer's tasks are running: tickers, senders, the applier.
    pub(crate) fn running_tasks(&self) -> usize {
        self.tasks.load(Ordering::Acquire)
    }

    /// Saves the persistent state (term, vote, log) and, if `with_snapshot`, the state's
    /// snapshot with it, in one step (so a crash never finds a log trimmed past a snapshot
    /// that was not saved). Without it the persister keeps the snapshot it holds, which is
    /// always the state's: a restarted peer reads it back in [`Raft::new`]. Called with the
    /// lock held, so saves happen in the order of the changes.
    fn persist_with(&self, st: &mut State, with_snapshot: bool) {
        let changed_from = st.log.take_changed_from();
        let encoded = self
            .encoder
            .lock()
            .encode(st.term, st.voted_for, &st.log, changed_from);
        match encoded {
            Ok(bytes) => {
                let size = bytes.len();
                let snapshot = with_snapshot.then(|| st.snapshot.clone());
                self.persister.save(bytes, snapshot);
                raft_event!(
                    trace,
                    self.me,
                    st.term,
                    Persist,
                    "saved term {}, vote {:?}, log {}..={} ({size} bytes){}",
                    st.term,
                    st.voted_for.map(|p| p.to_string()),
                    st.log.base_index(),
                    st.log.last_index(),
                    if with_snapshot {
                        " with the snapshot"
                    } else {
                        ""
                    }
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

/// Spawns `task` on the current node without waiting for it.
fn spawn_detached(task: impl Future<Output = ()> + Send + 'static) {
    // Dropping the handle detaches the task; it keeps running.
    drop(runtime::spawn(task));
}

/// One Raft peer. A cheap handle: clones share the same peer.
///
/// Build it with [`Raft::new`] inside the peer's node (see the crate documentation), register
/// [`Raft::service`] on the peer's server, give it commands with [`Raft::start`], read the
/// committed ones from the apply channel, and ask it with [`Raft::get_state`].
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
            .field("last_index", &st.log.last_index())
            .field("commit_index", &st.commit_index)
            .field("last_applied", &st.last_applied)
            .field("killed", &self.peer.killed())
            .finish()
    }
}

impl Raft {
    /// Creates peer `me` of a cluster that reaches its peers through `peers` (one end per
    /// peer, indexed by peer id; `peers[me]` is not used). Restores the term, vote, log and
    /// snapshot saved in `persister`, starts as a follower with the snapshot's index (0
    /// without one) as commit index, and returns at once. Its
    /// long-running tasks (the election ticker and the applier) are spawned with
    /// [`labrpc::runtime::spawn`], so they belong to the current node. The tester calls this
    /// inside `labrpc::runtime::enter_node(node, ...)`, so that the peer's tasks die with its
    /// node.
    ///
    /// Committed commands are sent on `apply_tx` as [`ApplyMsg::Command`](crate::ApplyMsg), in
    /// index order, each once, from the one after the saved snapshot (index 1 without one; the
    /// service restores the saved snapshot itself, so it is not sent again); a restarted peer
    /// sends them again as it learns that they are committed. A snapshot installed from a
    /// leader is sent as [`ApplyMsg::Snapshot`](crate::ApplyMsg), and the next command is the
    /// one after it.
    ///
    /// If the saved state cannot be restored (truncated, corrupt, or of an unknown format
    /// version), the peer logs an error (topic `error`) saying why, and starts from a fresh
    /// state.
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
        let restored = match durable::restore(&persister.read_raft_state(), peers.len()) {
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
        let snapshot = persister.read_snapshot();
        if restored != Restored::default() {
            raft_event!(
                info,
                me,
                restored.term,
                Persist,
                "restored term {}, vote {:?}, log {}..={}, a snapshot of {} bytes",
                restored.term,
                restored.voted_for.map(|p| p.to_string()),
                restored.log.base_index(),
                restored.log.last_index(),
                snapshot.len()
            );
        }
        if restored.log.base_index() > 0 && snapshot.is_empty() {
            raft_event!(
                error,
                me,
                restored.term,
                Error,
                "the saved log starts after index {}, but no snapshot was saved with it: the \
                 entries through it are lost",
                restored.log.base_index()
            );
        }
        let timer = ElectionTimer::new(runtime::now(), random_election_timeout());
        let state = State::new(me, peers.len(), restored, snapshot, timer);
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
            encoder: Mutex::new(durable::Encoder::default()),
            apply_tx,
            state: Mutex::new(state),
            dead: AtomicBool::new(false),
            replicate: Signal::new(),
            committed: Signal::new(),
            stop: Signal::new(),
            tasks: AtomicUsize::new(0),
        });
        peer.spawn_task(peer.clone().election_ticker());
        peer.spawn_task(peer.clone().applier());
        Raft { peer }
    }

    /// The current term, and whether this peer believes it is the leader.
    pub fn get_state(&self) -> (u64, bool) {
        let st = self.peer.state.lock();
        (st.term.0, st.is_leader())
    }

    /// Stops the peer: sets a flag that every task checks and wakes every task that waits
    /// (the election ticker, the replication ticker, the senders waiting for replies, the
    /// applier), so all of them end without sending anything more: no new RPC, and no new
    /// message on the apply channel. Idempotent. The RPC handlers keep answering until the
    /// tester removes the peer's server.
    pub fn kill(&self) {
        if !self.peer.dead.swap(true, Ordering::AcqRel) {
            let term = self.peer.state.lock().term;
            raft_event!(
                info,
                self.peer.me,
                term,
                Timer,
                "killed; the tickers, senders and applier stop"
            );
        }
        self.peer.stop.notify();
        self.peer.replicate.notify();
        self.peer.committed.notify();
    }

    /// The peer's RPC service: `"Raft"` with the methods `"RequestVote"`, `"AppendEntries"`
    /// and `"InstallSnapshot"`. Add it to the peer's server (a `labrpc::Server` on the peer's
    /// node).
    pub fn service(&self) -> labrpc::Service {
        rpc::service(&self.peer)
    }

    /// Asks the peer to agree on `command` (Go's `Start`). Returns `None` unless it is the
    /// leader (or when it was killed); otherwise appends the command to its log, saves the
    /// log, and returns the entry's `(index, term)` at once, without waiting for agreement. The
    /// entry is sent to the followers at once, not at the next heartbeat; if it is committed,
    /// every peer's apply channel delivers it at that index.
    pub fn start(&self, command: Vec<u8>) -> Option<(u64, u64)> {
        if self.peer.killed() {
            return None;
        }
        let mut st = self.peer.state.lock();
        let (index, effects) = st.leader_append(command)?;
        let term = st.term.0;
        self.peer.carry_out(&mut st, effects);
        Some((index, term))
    }

    /// The service has a snapshot of its state through `index` (Go's `Snapshot`): the peer
    /// discards its log through `index` and saves its state and `snapshot` together. Called
    /// on every peer, leader or not, by the service, which may be in the middle of taking a
    /// message from the apply channel: it only takes the peer's lock (which the applier never
    /// holds while it sends) and returns at once. An index at or below the last snapshot's is
    /// ignored, and so (with an error logged) is one that is not committed.
    pub fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        self.peer.snapshot(index, snapshot);
    }

    /// How many of the peer's tasks are still running (the election ticker, the applier, the
    /// replication ticker of the term it leads, the senders waiting for replies). A diagnostic:
    /// after [`kill`](Raft::kill) it falls to 0 as soon as the tasks next run, without the
    /// tester having to kill the peer's node.
    pub fn running_tasks(&self) -> usize {
        self.peer.running_tasks()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use labrpc::runtime::{self, NodeId, RunConfig};
    use labrpc::Network;

    use super::*;
    use raftapi::apply_channel;
    use raftapi::{AppendEntriesArgs, LogEntry, RequestVoteArgs};

    /// Three ends that lead nowhere: the peer under test only answers RPCs called directly.
    fn dead_ends(net: &Network, generation: u32) -> Vec<ClientEnd> {
        (0..3)
            .map(|j| {
                net.make_end(format!("end-{generation}-{j}"))
                    .expect("a new end")
            })
            .collect()
    }

    /// Starts peer 0 of 3 on a fresh node with `persister`.
    fn start_peer(net: &Network, generation: u32, persister: &Persister) -> (Raft, NodeId) {
        let node = runtime::new_node();
        let (tx, _rx) = apply_channel();
        let ends = dead_ends(net, generation);
        let p = persister.clone();
        (
            runtime::enter_node(node, || Raft::new(ends, 0, p, tx)),
            node,
        )
    }

    #[test]
    fn a_restarted_peer_restores_its_term_vote_and_log_but_not_its_commit_index() {
        runtime::run(RunConfig::sim(1), || async {
            let net = Network::new();
            let persister = Persister::new();
            let (raft, node) = start_peer(&net, 1, &persister);
            let vote = raft.peer.request_vote(RequestVoteArgs {
                term: Term(4),
                candidate_id: PeerId(2),
                last_log_index: 0,
                last_log_term: Term::ZERO,
            });
            assert!(vote.vote_granted);
            let entries: Vec<LogEntry> = (1..=2)
                .map(|x| LogEntry {
                    term: Term(4),
                    command: vec![x],
                })
                .collect();
            let reply = raft.peer.append_entries(AppendEntriesArgs {
                term: Term(4),
                leader_id: PeerId(2),
                prev_log_index: 0,
                prev_log_term: Term::ZERO,
                entries: entries.clone(),
                leader_commit: 1,
            });
            assert!(reply.success);
            // Crashed right after replying: what it said must already be saved.
            let saved = persister.copy();
            raft.kill();
            runtime::kill_node(node);

            let (restarted, _) = start_peer(&net, 2, &saved);
            let st = restarted.peer.state.lock();
            assert_eq!((st.term, st.voted_for), (Term(4), Some(PeerId(2))));
            assert_eq!(&st.log.entries()[1..], &entries[..]);
            assert_eq!((st.commit_index, st.last_applied), (0, 0), "volatile");
            drop(st);
            // The vote survived: another candidate of term 4 is refused.
            let other = restarted.peer.request_vote(RequestVoteArgs {
                term: Term(4),
                candidate_id: PeerId(1),
                last_log_index: 9,
                last_log_term: Term(4),
            });
            assert!(!other.vote_granted);
            restarted.kill();
        })
        .expect("the run finishes");
    }

    /// A `tracing` writer that keeps what is written.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_truncated_saved_state_is_a_logged_error_and_a_fresh_start() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let config = RunConfig::sim(2).dispatch(tracing::Dispatch::new(subscriber));
        runtime::run(config, || async {
            let net = Network::new();
            let persister = Persister::new();
            let (raft, node) = start_peer(&net, 1, &persister);
            let _ = raft.peer.request_vote(RequestVoteArgs {
                term: Term(3),
                candidate_id: PeerId(1),
                last_log_index: 0,
                last_log_term: Term::ZERO,
            });
            raft.kill();
            runtime::kill_node(node);
            let mut bytes = persister.read_raft_state();
            bytes.truncate(bytes.len() - 1);
            let damaged = Persister::new();
            damaged.save(bytes, None);
            let (restarted, _) = start_peer(&net, 2, &damaged);
            assert_eq!(restarted.get_state(), (0, false), "a fresh state");
            restarted.kill();
        })
        .expect("the run finishes: no panic");
        let log = String::from_utf8_lossy(&captured.0.lock()).to_string();
        let line = log
            .lines()
            .find(|l| l.contains("ERROR"))
            .unwrap_or_else(|| panic!("no error was logged:\n{log}"));
        assert!(line.contains("topic=\"error\""), "{line}");
        assert!(line.contains("truncated"), "{line}");
        assert!(line.contains("starting from a fresh state"), "{line}");
    }
}
