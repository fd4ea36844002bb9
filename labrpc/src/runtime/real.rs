//! The real executor: worker threads and the wall clock. How the workers pick tasks and fire
//! timers is [`sched`]'s business.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::JoinHandle as ThreadHandle;
use std::time::Duration;

use futures::future::BoxFuture;
use parking_lot::{Mutex, RwLock};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::context::{self, Handle};
use super::monitor::Monitor;
use super::runner::{panic_message, poll_main, RunError};
use super::sched::{self, RealTask, Shared};
use super::trace::TraceSummary;
use super::{NodeId, RunConfig};

/// The shared state of one real-time run.
pub(crate) struct RealCore {
    start: std::time::Instant,
    sched: Arc<Shared>,
    tasks: Mutex<HashMap<u64, Weak<RealTask>>>,
    next_task: AtomicU64,
    next_node: AtomicU64,
    dead: RwLock<HashSet<NodeId>>,
    rng: Mutex<StdRng>,
    failure: Mutex<Option<RunError>>,
    shutting_down: AtomicBool,
    events: AtomicU64,
    threads: Mutex<Vec<ThreadHandle<()>>>,
    name: String,
    seed: u64,
    /// What the wall-clock watchdog on the caller's thread sees: each worker's poll in
    /// progress. Also keeps the nodes' labels.
    pub(crate) monitor: Arc<Monitor>,
}

impl RealCore {
    // The real executor is where the wall clock and threads legitimately live: it is what the
    // runtime API stands in front of.
    #[allow(clippy::disallowed_methods)]
    pub(crate) fn new(config: &RunConfig, monitor: Arc<Monitor>) -> Arc<Self> {
        let start = std::time::Instant::now();
        let shared = Shared::new(start, config.workers);
        let core = Arc::new(RealCore {
            start,
            sched: shared.clone(),
            tasks: Mutex::new(HashMap::new()),
            next_task: AtomicU64::new(1),
            next_node: AtomicU64::new(NodeId::ROOT.0 + 1),
            dead: RwLock::new(HashSet::new()),
            rng: Mutex::new(StdRng::seed_from_u64(config.seed)),
            failure: Mutex::new(None),
            shutting_down: AtomicBool::new(false),
            events: AtomicU64::new(0),
            threads: Mutex::new(Vec::new()),
            name: config.name.clone(),
            seed: config.seed,
            monitor,
        });
        let mut threads = Vec::new();
        for i in 0..config.workers {
            let core = Arc::downgrade(&core);
            let shared = shared.clone();
            let dispatch = config.dispatch.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("lab-worker-{i}"))
                    .spawn(move || {
                        let _log = dispatch.as_ref().map(tracing::dispatcher::set_default);
                        sched::work(shared, i, |task| run_task(&core, task, 1 + i))
                    })
                    .expect("the operating system refused to start a worker thread"),
            );
        }
        *core.threads.lock() = threads;
        core
    }

    pub(crate) fn spawn(&self, node: NodeId, fut: BoxFuture<'static, ()>) {
        if self.shutting_down.load(Ordering::Acquire) || self.is_killed(node) {
            return;
        }
        let id = self.next_task.fetch_add(1, Ordering::Relaxed);
        let task = RealTask::new(id, node, fut, &self.sched);
        self.tasks.lock().insert(id, Arc::downgrade(&task));
        self.events.fetch_add(1, Ordering::Relaxed);
        self.sched.schedule(task);
    }

    pub(crate) fn new_node(&self) -> NodeId {
        NodeId(self.next_node.fetch_add(1, Ordering::Relaxed))
    }

    pub(crate) fn kill_node(&self, node: NodeId) {
        if !self.dead.write().insert(node) {
            return;
        }
        let victims: Vec<Arc<RealTask>> = self
            .tasks
            .lock()
            .values()
            .filter_map(Weak::upgrade)
            .filter(|t| t.node == node)
            .collect();
        for task in victims {
            // A task being polled right now is dropped by a worker: its own when the poll
            // returns, or, if the kill landed just after that worker looked, the one that
            // picks up this extra wake.
            match task.fut.try_lock() {
                Some(mut slot) => {
                    let fut = slot.take();
                    drop(slot);
                    self.tasks.lock().remove(&task.id);
                    drop(fut);
                }
                None => Wake::wake_by_ref(&task),
            }
        }
    }

    pub(crate) fn is_killed(&self, node: NodeId) -> bool {
        node != NodeId::ROOT && self.dead.read().contains(&node)
    }

    pub(crate) fn random_range(&self, range: Range<u64>) -> u64 {
        self.rng.lock().random_range(range)
    }

    pub(crate) fn random_u64(&self) -> u64 {
        self.rng.lock().random()
    }

    pub(crate) fn now(&self) -> Duration {
        self.start.elapsed()
    }

    pub(crate) fn trace(&self, _kind: &'static str, _a: u64, _b: u64) {
        // Real runs are not reproducible, so only the count is kept.
        self.events.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn register_timer(&self, deadline: Duration, waker: Waker) -> u64 {
        self.sched.register_timer(deadline, waker)
    }

    pub(crate) fn update_timer(&self, id: u64, waker: &Waker) {
        self.sched.update_timer(id, waker);
    }

    pub(crate) fn cancel_timer(&self, id: u64) {
        self.sched.cancel_timer(id);
    }

    fn fail(&self, error: RunError) {
        let mut slot = self.failure.lock();
        if slot.is_none() {
            *slot = Some(error);
        }
        self.sched.wake_main();
    }

    /// Drives `main` on the calling thread until it finishes, a task panics or time runs out.
    pub(crate) fn block_on<F: Future>(
        self: &Arc<Self>,
        config: &RunConfig,
        main: F,
    ) -> Result<F::Output, RunError> {
        /// Wakes the test body: marks it ready and wakes the run's thread.
        struct MainWaker(Arc<Shared>);
        impl Wake for MainWaker {
            fn wake(self: Arc<Self>) {
                self.0.wake_main();
            }
            fn wake_by_ref(self: &Arc<Self>) {
                self.0.wake_main();
            }
        }
        let mut main = std::pin::pin!(main);
        let waker = Waker::from(Arc::new(MainWaker(self.sched.clone())));
        let _cx = context::enter(Handle::Real(self.clone()), NodeId::ROOT, Some(0));
        let slot = self.monitor.slot(0);
        loop {
            if let Some(err) = self.failure.lock().take() {
                return Err(err);
            }
            if let Some(err) = self.monitor.aborted() {
                return Err(err);
            }
            if let Some(limit) = config.time_limit {
                if self.now() > limit {
                    return Err(RunError::TimeLimit {
                        name: config.name.clone(),
                        seed: config.seed,
                        limit,
                    });
                }
            }
            if self.sched.take_main_ready() {
                let _poll = slot.enter(NodeId::ROOT);
                if let Some(done) = poll_main(main.as_mut(), &waker, config) {
                    return done;
                }
            }
            // Fires the body's timers or waits; at least every MAIN_TICK it looks at the
            // failure, the watchdog and the time limit again.
            self.sched.main_idle(MAIN_TICK);
        }
    }

    /// Stops the threads and drops every remaining task, except one that a worker is polling
    /// (that worker drops it when the poll returns, if it ever does).
    pub(crate) fn shutdown(&self) -> TraceSummary {
        self.shutting_down.store(true, Ordering::SeqCst);
        let (queued, wakers) = self.sched.stop();
        drop(wakers);
        drop(queued);
        let tasks: Vec<Arc<RealTask>> = self
            .tasks
            .lock()
            .drain()
            .filter_map(|(_, t)| t.upgrade())
            .collect();
        for task in &tasks {
            // A task being polled holds its lock; a task that never returns holds it forever,
            // and waiting for it would hold up the test's verdict.
            let fut = task.fut.try_lock().and_then(|mut slot| slot.take());
            drop(fut);
        }
        drop(tasks);
        TraceSummary {
            hash: 0,
            events: self.events.load(Ordering::Relaxed),
            log: None,
        }
    }

    /// Joins the worker threads (after `shutdown` and after the last handle is gone).
    pub(crate) fn take_threads(&self) -> Vec<ThreadHandle<()>> {
        std::mem::take(&mut *self.threads.lock())
    }
}

/// Joins the worker threads of a finished run, giving up on (and leaving behind) any
/// that has not ended within [`JOIN_WITHIN`]: a worker held by a task whose poll never returns
/// cannot be stopped, and must not hold up the next run.
pub(crate) fn join_or_abandon(threads: Vec<ThreadHandle<()>>) {
    // Waiting here is the executor's own business, on a thread of its own, in wall time.
    #[allow(clippy::disallowed_methods)]
    let deadline = std::time::Instant::now() + JOIN_WITHIN;
    for thread in threads {
        #[allow(clippy::disallowed_methods)]
        while !thread.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        if thread.is_finished() {
            let _ = thread.join();
        }
    }
}

/// The longest the run's thread waits before it looks at a failure, the watchdog's abort and the
/// time limit again.
const MAIN_TICK: Duration = Duration::from_millis(250);

/// How long a finished run waits for its threads to end (shutdown wakes them, so they end at once
/// unless a poll holds one).
const JOIN_WITHIN: Duration = Duration::from_secs(2);

/// Polls `task` once on worker `slot_index` (its watchdog slot); false once the run is over.
fn run_task(core: &Weak<RealCore>, task: Arc<RealTask>, slot_index: usize) -> bool {
    let Some(core) = core.upgrade() else {
        return false;
    };
    if core.shutting_down.load(Ordering::Acquire) {
        return false;
    }
    task.scheduled.store(false, Ordering::Release);
    let mut slot = task.fut.lock();
    let Some(fut) = slot.as_mut() else {
        return true;
    };
    if core.is_killed(task.node) {
        let fut = slot.take();
        drop(slot);
        drop(fut);
        core.tasks.lock().remove(&task.id);
        return true;
    }
    let waker = Waker::from(task.clone());
    let polled = {
        let _cx = context::enter(Handle::Real(core.clone()), task.node, Some(slot_index));
        let _poll = core.monitor.slot(slot_index).enter(task.node);
        let mut cx = Context::from_waker(&waker);
        std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)))
    };
    let over = core.shutting_down.load(Ordering::SeqCst);
    match polled {
        Ok(Poll::Pending) if !over && !core.is_killed(task.node) => {}
        Ok(_) => {
            let fut = slot.take();
            drop(slot);
            drop(fut);
            core.tasks.lock().remove(&task.id);
        }
        Err(payload) => {
            let fut = slot.take();
            drop(slot);
            drop(fut);
            core.tasks.lock().remove(&task.id);
            core.fail(RunError::Panicked {
                name: core.name.clone(),
                seed: core.seed,
                node: core.monitor.name_of(task.node),
                message: panic_message(&*payload),
            });
        }
    }
    true
}
