//! The sim executor: one thread, a virtual clock, a seeded generator.
//!
//! Ready tasks are polled in an order drawn from the seed; when none is ready, the clock jumps
//! to the next timer. Nothing here reads the wall clock or depends on hash-map order, so one
//! seed gives one run, event for event.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures::future::BoxFuture;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::context::{self, Handle};
use super::monitor::Monitor;
use super::runner::{panic_message, poll_main, RunError};
use super::trace::{Trace, TraceSummary};
use super::{NodeId, RunConfig};

struct TaskSlot {
    /// `None` while the task is being polled.
    fut: Option<BoxFuture<'static, ()>>,
    node: NodeId,
    queued: bool,
    /// Made once per task, cloned for each poll.
    waker: Waker,
}

/// A hasher for the executor's own sequential ids: no random state (so iteration order is a
/// function of the run) and one multiply per key.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;
type IdSet<K> = HashSet<K, BuildHasherDefault<IdHasher>>;

struct SimState {
    now: Duration,
    rng: StdRng,
    next_task: u64,
    next_node: u64,
    next_timer: u64,
    tasks: IdMap<TaskSlot>,
    ready: Vec<u64>,
    main_queued: bool,
    timers: BinaryHeap<Reverse<(Duration, u64)>>,
    timer_wakers: IdMap<Waker>,
    dead: IdSet<NodeId>,
    trace: Trace,
}

/// The shared state of one simulated run.
pub(crate) struct SimCore {
    state: Mutex<SimState>,
    /// What the wall-clock watchdog on the caller's thread sees: the poll in progress and the
    /// virtual clock. Also keeps the nodes' labels.
    pub(crate) monitor: Arc<Monitor>,
}

/// The task id the top-level future uses in wakers and traces.
const MAIN_TASK: u64 = 0;

struct SimWaker {
    task: u64,
    core: Weak<SimCore>,
}

impl Wake for SimWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(core) = self.core.upgrade() {
            core.wake_task(self.task);
        }
    }
}

impl SimCore {
    pub(crate) fn new(config: &RunConfig, monitor: Arc<Monitor>) -> Arc<Self> {
        Arc::new(SimCore {
            state: Mutex::new(SimState {
                now: Duration::ZERO,
                rng: StdRng::seed_from_u64(config.seed),
                next_task: MAIN_TASK + 1,
                next_node: NodeId::ROOT.0 + 1,
                next_timer: 0,
                tasks: IdMap::default(),
                ready: Vec::new(),
                main_queued: true,
                timers: BinaryHeap::new(),
                timer_wakers: IdMap::default(),
                dead: IdSet::default(),
                trace: Trace::new(config.record_trace),
            }),
            monitor,
        })
    }

    fn wake_task(&self, task: u64) {
        let mut st = self.state.lock();
        if task == MAIN_TASK {
            st.main_queued = true;
            return;
        }
        if let Some(slot) = st.tasks.get_mut(&task) {
            if !slot.queued {
                slot.queued = true;
                st.ready.push(task);
            }
        }
    }

    pub(crate) fn spawn(self: &Arc<Self>, node: NodeId, fut: BoxFuture<'static, ()>) {
        let mut st = self.state.lock();
        if st.dead.contains(&node) {
            drop(st);
            drop(fut);
            return;
        }
        let id = st.next_task;
        st.next_task += 1;
        let waker = Waker::from(Arc::new(SimWaker {
            task: id,
            core: Arc::downgrade(self),
        }));
        st.tasks.insert(
            id,
            TaskSlot {
                fut: Some(fut),
                node,
                queued: true,
                waker,
            },
        );
        st.ready.push(id);
        let now = st.now;
        st.trace.record(now, "spawn", id, node.0);
    }

    pub(crate) fn new_node(&self) -> NodeId {
        let mut st = self.state.lock();
        let id = st.next_node;
        st.next_node += 1;
        NodeId(id)
    }

    pub(crate) fn kill_node(&self, node: NodeId) {
        let mut dropped = Vec::new();
        {
            let mut st = self.state.lock();
            if !st.dead.insert(node) {
                return;
            }
            let now = st.now;
            st.trace.record(now, "kill", node.0, 0);
            let mut ids: Vec<u64> = st
                .tasks
                .iter()
                .filter(|(_, slot)| slot.node == node && slot.fut.is_some())
                .map(|(id, _)| *id)
                .collect();
            // Drop in spawn order, whatever the map's layout.
            ids.sort_unstable();
            for id in ids {
                if let Some(slot) = st.tasks.remove(&id) {
                    dropped.push(slot.fut);
                }
            }
            let SimState { ready, tasks, .. } = &mut *st;
            ready.retain(|id| tasks.contains_key(id));
        }
        // Dropping futures may wake other tasks, which takes the lock again.
        drop(dropped);
    }

    pub(crate) fn is_killed(&self, node: NodeId) -> bool {
        self.state.lock().dead.contains(&node)
    }

    pub(crate) fn random_range(&self, range: Range<u64>) -> u64 {
        self.state.lock().rng.random_range(range)
    }

    pub(crate) fn random_u64(&self) -> u64 {
        self.state.lock().rng.random()
    }

    pub(crate) fn now(&self) -> Duration {
        self.state.lock().now
    }

    pub(crate) fn trace(&self, kind: &'static str, a: u64, b: u64) {
        let mut st = self.state.lock();
        let now = st.now;
        st.trace.record(now, kind, a, b);
    }

    pub(crate) fn register_timer(&self, deadline: Duration, waker: Waker) -> u64 {
        let mut st = self.state.lock();
        let id = st.next_timer;
        st.next_timer += 1;
        st.timers.push(Reverse((deadline, id)));
        st.timer_wakers.insert(id, waker);
        id
    }

    pub(crate) fn update_timer(&self, id: u64, waker: &Waker) {
        let mut st = self.state.lock();
        if let Some(w) = st.timer_wakers.get_mut(&id) {
            if !w.will_wake(waker) {
                *w = waker.clone();
            }
        }
    }

    pub(crate) fn cancel_timer(&self, id: u64) {
        self.state.lock().timer_wakers.remove(&id);
    }

    /// Drives `main` to completion, or fails with a deadlock, time limit or busy loop.
    pub(crate) fn block_on<F: Future>(
        self: &Arc<Self>,
        config: &RunConfig,
        main: F,
    ) -> Result<F::Output, RunError> {
        let mut main = std::pin::pin!(main);
        let main_waker = Waker::from(Arc::new(SimWaker {
            task: MAIN_TASK,
            core: Arc::downgrade(self),
        }));
        let handle = Handle::Sim(self.clone());
        let slot = self.monitor.slot(0);
        let mut polls_this_instant: u64 = 0;
        // Polls of each node (indexed by node id) in the current instant, to name the node of
        // a busy loop: (instant number, polls).
        let mut instant: u64 = 1;
        let mut node_polls: Vec<(u64, u64)> = Vec::new();
        loop {
            if let Some(error) = self.monitor.aborted() {
                return Err(error);
            }
            // Pick the next thing to poll: the main future or a ready task, in a seeded order.
            let pick = {
                let mut st = self.state.lock();
                let choices = st.ready.len() + usize::from(st.main_queued);
                if choices == 0 {
                    Pick::Idle
                } else {
                    let i = st.rng.random_range(0..choices);
                    let now = st.now;
                    if i == st.ready.len() {
                        st.main_queued = false;
                        st.trace.record(now, "poll", MAIN_TASK, NodeId::ROOT.0);
                        Pick::Main
                    } else {
                        let id = st.ready.swap_remove(i);
                        let slot = st.tasks.get_mut(&id).map(|slot| {
                            slot.queued = false;
                            (slot.fut.take(), slot.node, slot.waker.clone())
                        });
                        match slot {
                            Some((Some(fut), node, waker)) => {
                                st.trace.record(now, "poll", id, node.0);
                                Pick::Task(id, fut, node, waker)
                            }
                            _ => Pick::Skip,
                        }
                    }
                }
            };
            match pick {
                Pick::Skip => {}
                Pick::Main => {
                    polls_this_instant += 1;
                    count_poll(&mut node_polls, NodeId::ROOT, instant);
                    let _cx = context::enter(handle.clone(), NodeId::ROOT, Some(0));
                    let _poll = slot.enter(NodeId::ROOT);
                    if let Some(done) = poll_main(main.as_mut(), &main_waker, config) {
                        return done;
                    }
                }
                Pick::Task(id, mut fut, node, waker) => {
                    polls_this_instant += 1;
                    count_poll(&mut node_polls, node, instant);
                    let polled = {
                        let _cx = context::enter(handle.clone(), node, Some(0));
                        let _poll = slot.enter(node);
                        let mut cx = Context::from_waker(&waker);
                        std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)))
                    };
                    match polled {
                        Ok(Poll::Ready(())) => {
                            self.state.lock().tasks.remove(&id);
                            drop(fut);
                        }
                        Ok(Poll::Pending) => {
                            let mut st = self.state.lock();
                            let alive = !st.dead.contains(&node);
                            match st.tasks.get_mut(&id) {
                                Some(slot) if alive => slot.fut = Some(fut),
                                _ => {
                                    st.tasks.remove(&id);
                                    drop(st);
                                    drop(fut);
                                }
                            }
                        }
                        Err(payload) => {
                            return Err(RunError::Panicked {
                                name: config.name.clone(),
                                seed: config.seed,
                                node: self.monitor.name_of(node),
                                message: panic_message(&*payload),
                            })
                        }
                    }
                }
                Pick::Idle => {
                    // Nothing can run: move the clock to the next live timer.
                    polls_this_instant = 0;
                    instant += 1;
                    let fired = {
                        let mut st = self.state.lock();
                        let next = loop {
                            match st.timers.peek() {
                                None => break None,
                                Some(Reverse((_, id))) if !st.timer_wakers.contains_key(id) => {
                                    st.timers.pop();
                                }
                                Some(Reverse((deadline, _))) => break Some(*deadline),
                            }
                        };
                        next.map(|deadline| {
                            if let Some(limit) = config.time_limit {
                                if deadline > limit {
                                    return Err(limit);
                                }
                            }
                            st.now = st.now.max(deadline);
                            self.monitor.set_virtual_time(st.now);
                            let mut wakers = Vec::new();
                            while let Some(Reverse((d, id))) = st.timers.peek().copied() {
                                if d > st.now {
                                    break;
                                }
                                st.timers.pop();
                                if let Some(w) = st.timer_wakers.remove(&id) {
                                    let now = st.now;
                                    st.trace.record(now, "timer", id, 0);
                                    wakers.push(w);
                                }
                            }
                            Ok(wakers)
                        })
                    };
                    match fired {
                        None => {
                            let st = self.state.lock();
                            let nodes: std::collections::BTreeSet<NodeId> =
                                st.tasks.values().map(|slot| slot.node).collect();
                            return Err(RunError::Deadlock {
                                name: config.name.clone(),
                                seed: config.seed,
                                at: st.now,
                                tasks: st.tasks.len(),
                                nodes: nodes
                                    .into_iter()
                                    .map(|node| self.monitor.name_of(node))
                                    .collect(),
                                waits: self.monitor.pending_waits(),
                            });
                        }
                        Some(Err(limit)) => {
                            return Err(RunError::TimeLimit {
                                name: config.name.clone(),
                                seed: config.seed,
                                limit,
                            })
                        }
                        Some(Ok(wakers)) => {
                            for w in wakers {
                                w.wake();
                            }
                        }
                    }
                }
            }
            if polls_this_instant > config.max_polls_per_instant {
                let at = self.now();
                // The node polled most in this instant; the smallest id among equals.
                let busiest = node_polls
                    .iter()
                    .enumerate()
                    .filter(|(_, (at_instant, _))| *at_instant == instant)
                    .max_by(|a, b| (a.1).1.cmp(&(b.1).1).then(b.0.cmp(&a.0)))
                    .map(|(i, _)| self.monitor.name_of(NodeId(i as u64)));
                return Err(RunError::BusyLoop {
                    name: config.name.clone(),
                    seed: config.seed,
                    at,
                    polls: polls_this_instant,
                    node: busiest,
                });
            }
        }
    }

    /// Drops every remaining task (the run is over) and returns the trace.
    pub(crate) fn shutdown(&self) -> TraceSummary {
        let (tasks, summary) = {
            let mut st = self.state.lock();
            let tasks = std::mem::take(&mut st.tasks);
            st.ready.clear();
            st.timer_wakers.clear();
            st.timers.clear();
            let summary = st.trace.summary();
            (tasks, summary)
        };
        drop(tasks);
        summary
    }
}

/// Counts a poll of `node` in `instant` (see the busy-loop check).
fn count_poll(node_polls: &mut Vec<(u64, u64)>, node: NodeId, instant: u64) {
    let Ok(i) = usize::try_from(node.0) else {
        return;
    };
    if i >= node_polls.len() && i < MAX_COUNTED_NODES {
        node_polls.resize(i + 1, (0, 0));
    }
    if let Some(entry) = node_polls.get_mut(i) {
        if entry.0 != instant {
            *entry = (instant, 0);
        }
        entry.1 += 1;
    }
}

/// Nodes beyond this many are not counted for naming a busy loop (a run makes a few hundred).
const MAX_COUNTED_NODES: usize = 1 << 16;

/// What the scheduler polls next.
enum Pick {
    /// The top-level future.
    Main,
    /// A spawned task, taken out of its slot while it is polled.
    Task(u64, BoxFuture<'static, ()>, NodeId, Waker),
    /// A queued task that is gone (killed); nothing to poll.
    Skip,
    /// Nothing is ready: time must move.
    Idle,
}
