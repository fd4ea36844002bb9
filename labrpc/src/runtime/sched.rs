//! The real executor's scheduler: the run queue, the timers, and where a woken task runs.
//!
//! A Raft trial in real time is mostly idle: a handful of tasks wake, run for microseconds and
//! sleep again. What such a run costs is thread wake-ups, not polls, so the scheduler is built
//! to need as few as it can:
//!
//! - **A task woken by a worker runs next on that worker**, from the worker's own queue, with no
//!   other thread woken: an RPC's handler spawned by the sender, and the sender woken by the
//!   handler's reply, run back to back on one thread. A worker keeps at most [`LOCAL_MAX`] such
//!   tasks; more go to the shared queue and wake an idle worker, so work still spreads. It runs
//!   at most [`LOCAL_STREAK`] of its own tasks in a row before it looks at the shared queue and
//!   the timers.
//! - **Idle workers fire the timers** (there is no timer thread): an idle worker waits on its
//!   own condition variable until the earliest task timer (plus [`TIMER_SLACK`]) or
//!   [`IDLE_TICK`], whichever is sooner, and a timer that expires wakes its task into that
//!   worker's queue. A new timer wakes a worker only when no worker would otherwise look at the
//!   timers by its deadline.
//! - **The test body's own timers are fired by the run's thread**, which waits for the
//!   earliest of them: a test that sleeps wakes one thread, once. The run's thread polls only
//!   the test body, so a peer's task that never yields cannot hold the test up.
//! - **No spinning**: a worker with nothing to do parks at once. Wake-ups are rare, so
//!   spinning would only burn the CPU that a busy machine's other trials need.
//!
//! Tasks left in the queue of a worker whose poll runs long are taken by another worker when
//! it next looks for work (at the latest after [`IDLE_TICK`]); a poll that never returns is the
//! watchdog's to report.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Duration;

use futures::future::BoxFuture;
use parking_lot::{Condvar, Mutex};

use super::NodeId;

/// How many tasks a worker runs from its own queue in a row before it looks at the shared queue
/// and the timers again.
pub(crate) const LOCAL_STREAK: u32 = 32;

/// How many woken tasks a worker keeps for itself; more go to the shared queue, and wake an
/// idle worker.
pub(crate) const LOCAL_MAX: usize = 8;

/// The longest an idle worker waits before it looks again (for tasks a long poll holds up in
/// another worker's queue).
pub(crate) const IDLE_TICK: Duration = Duration::from_millis(250);

/// How late an idle worker may fire a task's timer, so that timers due close together are fired
/// by one wake-up (Linux's own timer slack is 50 µs; the labs' timings are tens of
/// milliseconds).
pub(crate) const TIMER_SLACK: Duration = Duration::from_millis(2);

/// One spawned task of a real run.
pub(crate) struct RealTask {
    pub(crate) id: u64,
    pub(crate) fut: Mutex<Option<BoxFuture<'static, ()>>>,
    pub(crate) node: NodeId,
    /// Whether the task is in a queue (or about to be): a wake then adds nothing.
    pub(crate) scheduled: AtomicBool,
    shared: Arc<Shared>,
}

impl RealTask {
    /// A task that is scheduled from the start; hand it to [`Shared::schedule`].
    pub(crate) fn new(
        id: u64,
        node: NodeId,
        fut: BoxFuture<'static, ()>,
        shared: &Arc<Shared>,
    ) -> Arc<RealTask> {
        Arc::new(RealTask {
            id,
            fut: Mutex::new(Some(fut)),
            node,
            scheduled: AtomicBool::new(true),
            shared: shared.clone(),
        })
    }
}

impl Wake for RealTask {
    fn wake(self: Arc<Self>) {
        if !self.scheduled.swap(true, Ordering::AcqRel) {
            let shared = self.shared.clone();
            shared.schedule(self);
        }
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if !self.scheduled.swap(true, Ordering::AcqRel) {
            self.shared.schedule(self.clone());
        }
    }
}

/// The timers of a run: deadlines in a heap, the wakers of the live ones by id. A cancelled
/// timer leaves its heap entry behind; entries without a waker are skipped.
#[derive(Default)]
struct Timers {
    heap: BinaryHeap<Reverse<(Duration, u64)>>,
    wakers: HashMap<u64, Waker>,
    next: u64,
}

impl Timers {
    /// The earliest live deadline, dropping cancelled entries on top of the heap.
    fn earliest(&mut self) -> Option<Duration> {
        while let Some(Reverse((deadline, id))) = self.heap.peek().copied() {
            if self.wakers.contains_key(&id) {
                return Some(deadline);
            }
            self.heap.pop();
        }
        None
    }

    /// The wakers of every timer due at `now` (to be woken after the lock is released).
    fn take_due(&mut self, now: Duration) -> Vec<Waker> {
        let mut due = Vec::new();
        while let Some(Reverse((deadline, id))) = self.heap.peek().copied() {
            if deadline > now {
                break;
            }
            self.heap.pop();
            if let Some(w) = self.wakers.remove(&id) {
                due.push(w);
            }
        }
        due
    }
}

/// What the workers and the run's thread share, under one lock.
struct State {
    queue: VecDeque<Arc<RealTask>>,
    /// The timers of tasks (registered on a worker), fired by the workers.
    timers: Timers,
    /// The timers of the test body (registered on the run's thread), fired by that thread.
    main_timers: Timers,
    /// When the run's thread will wake if it waits now.
    main_waiting: Option<Duration>,
    /// The test body was woken and should be polled.
    main_ready: bool,
    /// Per worker: the run time it will wake at if it is waiting now, `None` while it works
    /// (or was told to wake).
    waiting: Vec<Option<Duration>>,
    stop: bool,
}

impl State {
    /// The timers an id belongs to (its low bit says whose it is).
    fn timers_of(&mut self, id: u64) -> &mut Timers {
        if id & 1 == 0 {
            &mut self.timers
        } else {
            &mut self.main_timers
        }
    }

    /// Tells one waiting worker to wake (the one that would wake last), if one waits.
    fn wake_one(&mut self, wakeup: &[Condvar]) {
        let latest = self
            .waiting
            .iter()
            .enumerate()
            .filter_map(|(i, w)| w.map(|at| (at, i)))
            .max();
        if let Some((_, i)) = latest {
            self.waiting[i] = None;
            wakeup[i].notify_one();
        }
    }
}

/// The scheduler of one real run, shared by its workers, its tasks and its core.
pub(crate) struct Shared {
    start: std::time::Instant,
    state: Mutex<State>,
    /// One per worker, so that the right one can be woken.
    wakeup: Vec<Condvar>,
    /// The run's thread's.
    main_wakeup: Condvar,
    /// Per worker: the tasks its polls woke, which it runs next (at most [`LOCAL_MAX`]).
    locals: Vec<Mutex<VecDeque<Arc<RealTask>>>>,
}

thread_local! {
    /// On a worker thread: its scheduler and its index.
    static CURRENT: RefCell<Option<(Arc<Shared>, usize)>> = const { RefCell::new(None) };
}

impl Shared {
    pub(crate) fn new(start: std::time::Instant, workers: usize) -> Arc<Shared> {
        Arc::new(Shared {
            start,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                timers: Timers::default(),
                main_timers: Timers::default(),
                main_waiting: None,
                main_ready: true,
                waiting: vec![None; workers],
                stop: false,
            }),
            wakeup: (0..workers).map(|_| Condvar::new()).collect(),
            main_wakeup: Condvar::new(),
            locals: (0..workers).map(|_| Mutex::new(VecDeque::new())).collect(),
        })
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Makes `task` run: next on this worker when a worker of this run wakes it, else through
    /// the shared queue.
    pub(crate) fn schedule(self: &Arc<Self>, task: Arc<RealTask>) {
        let bumped = CURRENT.with(|current| match current.borrow().as_ref() {
            Some((shared, index)) if Arc::ptr_eq(shared, self) => {
                let mut local = self.locals[*index].lock();
                if local.len() < LOCAL_MAX {
                    local.push_back(task);
                    None
                } else {
                    Some(task)
                }
            }
            _ => Some(task),
        });
        if let Some(task) = bumped {
            self.push(task);
        }
    }

    /// Puts `task` on the shared queue and wakes a waiting worker for it.
    fn push(&self, task: Arc<RealTask>) {
        let mut st = self.state.lock();
        if st.stop {
            // Nobody will run it: dropped (outside the lock, since dropping a task may cancel
            // its timers).
            drop(st);
            drop(task);
            return;
        }
        st.queue.push_back(task);
        st.wake_one(&self.wakeup);
    }

    /// Whether the calling thread is a worker of this run.
    fn on_worker(self: &Arc<Self>) -> bool {
        CURRENT.with(|current| {
            current
                .borrow()
                .as_ref()
                .is_some_and(|(shared, _)| Arc::ptr_eq(shared, self))
        })
    }

    /// Registers a timer. One registered on a worker (a task's) is fired by the workers; one
    /// registered on the run's thread (the test body's) by that thread, which so wakes only
    /// once for its own sleeps.
    pub(crate) fn register_timer(self: &Arc<Self>, deadline: Duration, waker: Waker) -> u64 {
        let on_worker = self.on_worker();
        let mut st = self.state.lock();
        let st = &mut *st;
        let timers = if on_worker {
            &mut st.timers
        } else {
            &mut st.main_timers
        };
        let id = (timers.next << 1) | u64::from(!on_worker);
        timers.next += 1;
        timers.heap.push(Reverse((deadline, id)));
        timers.wakers.insert(id, waker);
        if on_worker {
            // A working worker looks at the timers before it waits, and a waiting one that
            // wakes by the deadline fires it then: only otherwise is a worker woken early.
            let covered = st
                .waiting
                .iter()
                .any(|w| w.is_none_or(|at| at <= deadline + TIMER_SLACK));
            if !covered {
                st.wake_one(&self.wakeup);
            }
        } else if st.main_waiting.is_some_and(|at| at > deadline) {
            st.main_waiting = None;
            self.main_wakeup.notify_one();
        }
        id
    }

    // A waker may hold the last reference to a task, and dropping the task drops its
    // `Sleep`s, which take this lock: so replaced or removed wakers are dropped only after the
    // lock is released.

    pub(crate) fn update_timer(&self, id: u64, waker: &Waker) {
        let mut st = self.state.lock();
        let old = match st.timers_of(id).wakers.get_mut(&id) {
            Some(w) if !w.will_wake(waker) => Some(std::mem::replace(w, waker.clone())),
            _ => None,
        };
        drop(st);
        drop(old);
    }

    pub(crate) fn cancel_timer(&self, id: u64) {
        let removed = self.state.lock().timers_of(id).wakers.remove(&id);
        drop(removed);
    }

    /// Marks the test body as ready to be polled and wakes the run's thread if it waits.
    pub(crate) fn wake_main(&self) {
        let mut st = self.state.lock();
        st.main_ready = true;
        if st.main_waiting.take().is_some() {
            self.main_wakeup.notify_one();
        }
    }

    /// Whether the test body was woken since the last call.
    pub(crate) fn take_main_ready(&self) -> bool {
        std::mem::take(&mut self.state.lock().main_ready)
    }

    /// What the run's thread does between polls of the test body: fires the body's due timers,
    /// or waits until the next one, a wake or `most` has passed, whichever is first.
    pub(crate) fn main_idle(&self, most: Duration) {
        let mut st = self.state.lock();
        if st.stop || st.main_ready {
            return;
        }
        let now = self.now();
        let earliest = st.main_timers.earliest();
        if earliest.is_some_and(|t| t <= now) {
            let due = st.main_timers.take_due(now);
            drop(st);
            for w in due {
                w.wake();
            }
            return;
        }
        let until = earliest.map_or(now + most, |t| t.min(now + most));
        st.main_waiting = Some(until);
        self.main_wakeup.wait_until(&mut st, self.start + until);
        st.main_waiting = None;
    }

    /// Stops the workers and hands back everything they held: the queued tasks, the local
    /// tasks and the timers' wakers, for the caller to drop outside every lock.
    pub(crate) fn stop(&self) -> (Vec<Arc<RealTask>>, Vec<Waker>) {
        let (mut tasks, wakers) = {
            let mut st = self.state.lock();
            st.stop = true;
            for cv in &self.wakeup {
                cv.notify_all();
            }
            self.main_wakeup.notify_all();
            let tasks: Vec<_> = st.queue.drain(..).collect();
            let mut wakers: Vec<_> = std::mem::take(&mut st.timers.wakers)
                .into_values()
                .collect();
            wakers.extend(std::mem::take(&mut st.main_timers.wakers).into_values());
            (tasks, wakers)
        };
        for local in &self.locals {
            let left: Vec<_> = local.lock().drain(..).collect();
            tasks.extend(left);
        }
        (tasks, wakers)
    }

    /// The next task for worker `index`: a due timer's task, the shared queue's oldest, or one
    /// left in another worker's queue; waits when there is none. `None` once the run stops.
    fn find_work(&self, index: usize) -> Option<Arc<RealTask>> {
        let mut st = self.state.lock();
        loop {
            if st.stop {
                return None;
            }
            if let Some(earliest) = st.timers.earliest() {
                let now = self.now();
                if earliest <= now {
                    let due = st.timers.take_due(now);
                    drop(st);
                    // A woken task lands in this worker's own queue.
                    for w in due {
                        w.wake();
                    }
                    if let Some(task) = self.locals[index].lock().pop_front() {
                        return Some(task);
                    }
                    st = self.state.lock();
                    continue;
                }
            }
            if let Some(task) = st.queue.pop_front() {
                return Some(task);
            }
            drop(st);
            // Its own tasks first, then those another worker's long poll holds up.
            if let Some(task) = self.locals[index].lock().pop_front() {
                return Some(task);
            }
            for (i, local) in self.locals.iter().enumerate() {
                if i == index {
                    continue;
                }
                if let Some(task) = local.try_lock().and_then(|mut l| l.pop_front()) {
                    return Some(task);
                }
            }
            st = self.state.lock();
            if st.stop || !st.queue.is_empty() {
                continue;
            }
            let now = self.now();
            let earliest = st.timers.earliest();
            // One waiting worker is enough to fire the earliest timer.
            let watched = earliest.is_some_and(|t| {
                st.waiting
                    .iter()
                    .enumerate()
                    .any(|(i, w)| i != index && w.is_some_and(|at| at <= t + TIMER_SLACK))
            });
            let mut until = now + IDLE_TICK;
            if let Some(t) = earliest.filter(|_| !watched) {
                until = until.min(t + TIMER_SLACK);
            }
            if until <= now {
                continue;
            }
            st.waiting[index] = Some(until);
            self.wakeup[index].wait_until(&mut st, self.start + until);
            st.waiting[index] = None;
        }
    }
}

/// Runs a worker: the tasks its polls woke (at most [`LOCAL_STREAK`] in a row) and those
/// [`Shared::find_work`] finds, each through `run`, until the run stops or `run` says it is over.
pub(crate) fn work(shared: Arc<Shared>, index: usize, mut run: impl FnMut(Arc<RealTask>) -> bool) {
    CURRENT.with(|c| *c.borrow_mut() = Some((shared.clone(), index)));
    let mut streak = 0;
    loop {
        let local = if streak < LOCAL_STREAK {
            shared.locals[index].lock().pop_front()
        } else {
            None
        };
        let task = match local {
            Some(task) => {
                streak += 1;
                task
            }
            None => {
                streak = 0;
                match shared.find_work(index) {
                    Some(task) => task,
                    None => break,
                }
            }
        };
        if !run(task) {
            break;
        }
    }
    // What is left goes back to the queue, for another worker or for `stop`.
    let left: Vec<_> = shared.locals[index].lock().drain(..).collect();
    for task in left {
        shared.push(task);
    }
    CURRENT.with(|c| c.borrow_mut().take());
}
