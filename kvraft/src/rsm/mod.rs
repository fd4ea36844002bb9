//! The replicated state machine layer (part 4A, Go `kvraft1/rsm`): [`RsmServer`] runs a
//! service's [`StateMachine`] on a Raft peer.
//!
//! - **Submit** ([`Rsm::submit`]): wrap the request in an [`Op`] with an id no other submit
//!   shares, `start()` it on Raft, wait at the index `start()` returned until the entry there is
//!   applied, and return the state machine's result, or `ErrWrongLeader` ([`SubmitError`]) as
//!   soon as the rsm knows the entry may never be applied there.
//! - **Apply**: one task per peer reads the apply channel and hands every committed entry to
//!   the state machine in log order, on every peer; on the leader it also releases the submit
//!   waiting at that index. Snapshots Raft delivers replace the state machine's state.
//! - **Snapshots** (4C): after each applied entry, if the persisted Raft state nears
//!   `maxraftstate`, the apply task gives Raft the state machine's snapshot at that index; a
//!   restarted rsm restores the saved snapshot before Raft starts applying after it.
//!
//! The rules for releasing waiters are pure functions (the `waiters` module); this module is the thin
//! shell that locks, wakes and waits. A submit is woken by the apply task's [`Notify`] when an
//! entry lands, and otherwise looks at Raft's state every [`STATE_CHECK_INTERVAL`]: the peer
//! API has no event for a term change, and a leader cut off in a minority applies nothing, so
//! without that look its submits would wait until it rejoined.

mod compaction;
mod op;
mod waiters;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::runtime::{self, Notify};
use labrpc::ClientEnd;
use parking_lot::Mutex;
use raftapi::rsm::{Rsm, StateMachine, SubmitError};
use raftapi::{ApplyMsg, ApplyReceiver, Peer, Persister};

pub use compaction::should_snapshot;
pub use op::{Op, OpId};
pub use waiters::Waiters;

/// How often a waiting submit looks at Raft's term and role. Well under the 1 s the tests give
/// a healed leader's submits to return, and a small cost: one `get_state()` per waiting submit.
pub const STATE_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// What the submits and the apply task share.
struct Shared<P> {
    me: usize,
    raft: P,
    /// Drawn at start: see [`OpId`].
    life: u64,
    next_seq: AtomicU64,
    waiters: Mutex<Waiters>,
    /// Notified when an entry or a snapshot is applied, or the rsm shuts down.
    changed: Notify,
}

/// The reference rsm: a [`StateMachine`] replicated by a Raft peer of type `P`.
pub struct RsmServer<P: Peer> {
    shared: Arc<Shared<P>>,
}

impl<P: Peer> Shared<P> {
    fn close(&self) {
        self.waiters.lock().close();
        self.changed.notify();
    }
}

/// Closes the rsm when the apply task ends, however it ends (the apply channel closed, or the
/// server's node killed under it): no submit waits for an apply that will not come.
struct CloseOnDrop<P>(Arc<Shared<P>>);

impl<P> Drop for CloseOnDrop<P> {
    fn drop(&mut self) {
        self.0.waiters.lock().close();
        self.0.changed.notify();
    }
}

/// Removes a submit's waiter if the submit is dropped before it is released (its RPC handler
/// was killed with its server).
struct ForgetOnDrop<'a> {
    waiters: &'a Mutex<Waiters>,
    index: u64,
    id: OpId,
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.waiters.lock().take(self.index, self.id);
    }
}

impl<P: Peer> Rsm for RsmServer<P> {
    type Raft = P;

    fn make(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        max_raft_state: Option<usize>,
        mut sm: Box<dyn StateMachine>,
    ) -> Self {
        let snapshot = persister.read_snapshot();
        if !snapshot.is_empty() {
            sm.restore(&snapshot);
        }
        let (tx, rx) = raftapi::apply_channel();
        let raft = P::make(peers, me, persister.clone(), tx);
        let shared = Arc::new(Shared {
            me,
            raft,
            life: runtime::random_u64(),
            next_seq: AtomicU64::new(1),
            waiters: Mutex::new(Waiters::new()),
            changed: Notify::named("an entry applied at a submit's index"),
        });
        let _detached = runtime::spawn(apply_loop(
            shared.clone(),
            rx,
            sm,
            persister,
            max_raft_state,
        ));
        RsmServer { shared }
    }

    async fn submit(&self, request: Vec<u8>) -> Result<Vec<u8>, SubmitError> {
        let s = &self.shared;
        let id = OpId {
            server: s.me,
            life: s.life,
            seq: s.next_seq.fetch_add(1, Ordering::Relaxed),
        };
        let entry = Op { id, request }.encode();
        // start() and the waiter's record under one lock, which the apply task takes to
        // release waiters: the entry cannot be applied before its waiter is recorded.
        let (index, term) = {
            let mut waiters = s.waiters.lock();
            if waiters.is_closed() {
                return Err(SubmitError::Shutdown);
            }
            let (index, term) = s.raft.start(entry).ok_or(SubmitError::NotLeader)?;
            waiters.wait(index, term, id);
            (index, term)
        };
        tracing::debug!(target: "rsm", peer = s.me as u64, term, topic = "rsm", "submit {}.{} waits at index {index}", id.seq, id.life % 1000);
        let _forget = ForgetOnDrop {
            waiters: &s.waiters,
            index,
            id,
        };
        loop {
            let changed = s.changed.notified();
            if let Some(outcome) = s.waiters.lock().take(index, id) {
                return outcome;
            }
            if runtime::timeout(STATE_CHECK_INTERVAL, changed)
                .await
                .is_err()
            {
                let (term, is_leader) = s.raft.get_state();
                s.waiters.lock().state_seen(term, is_leader);
            }
        }
    }

    fn raft(&self) -> &P {
        &self.shared.raft
    }

    fn kill(&self) {
        self.shared.raft.kill();
        self.shared.close();
    }
}

/// The apply task: every committed entry to the state machine in order, results to the
/// waiting submits, snapshots when the Raft state nears its limit.
async fn apply_loop<P: Peer>(
    shared: Arc<Shared<P>>,
    mut rx: ApplyReceiver,
    mut sm: Box<dyn StateMachine>,
    persister: Persister,
    max_raft_state: Option<usize>,
) {
    let _close = CloseOnDrop(shared.clone());
    let me = shared.me as u64;
    let mut last_applied = 0;
    // What the last snapshot left of the Raft state, and the entries applied since.
    let (mut left_by_last, mut applied_since_last) = (0, 0);
    while let Some(msg) = rx.recv().await {
        match msg {
            ApplyMsg::Command { index, command, .. } => {
                if index <= last_applied {
                    continue;
                }
                let op = Op::decode(&command);
                let result = match &op {
                    Some(op) => sm.do_op(&op.request),
                    None => {
                        tracing::warn!(target: "rsm", peer = me, topic = "error", "index {index}: not an rsm entry ({} bytes); skipped", command.len());
                        Vec::new()
                    }
                };
                last_applied = index;
                shared
                    .waiters
                    .lock()
                    .applied(index, op.map(|op| op.id), &result);
                shared.changed.notify();
                applied_since_last += 1;
                let size = persister.raft_state_size();
                if should_snapshot(size, max_raft_state, left_by_last, applied_since_last) {
                    let data = sm.snapshot();
                    tracing::debug!(target: "rsm", peer = me, topic = "snap", "snapshot through index {index}, {} bytes", data.len());
                    shared.raft.snapshot(index, data);
                    left_by_last = persister.raft_state_size();
                    applied_since_last = 0;
                }
            }
            ApplyMsg::Snapshot { index, data, .. } => {
                if index <= last_applied {
                    continue;
                }
                sm.restore(&data);
                last_applied = index;
                shared.waiters.lock().snapshot_installed(index);
                shared.changed.notify();
            }
        }
    }
}
