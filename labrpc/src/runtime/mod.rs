//! The lab runtime: tasks, time, randomness and nodes, behind one API with two executors.
//!
//! Everything in the labs that waits, spawns or draws a random number goes through this module,
//! never through `std::thread::sleep`, `Instant::now`, `thread::spawn` or `thread_rng`. That is
//! what lets the **sim** executor replay any run from its seed:
//!
//! - [`Executor::Sim`]: one thread, a virtual clock and a seeded generator. When no task can
//!   run, the clock jumps to the next timer, so a test that sleeps ten seconds takes
//!   milliseconds. Ready tasks are polled in an order drawn from the seed.
//! - [`Executor::Real`]: worker threads and the wall clock, as the Go lab runs.
//!
//! Tasks belong to a [`NodeId`]. Killing a node ([`kill_node`]) drops every task it owns, so a
//! crashed peer really stops. A node may carry a label ([`new_node_named`]; the tester labels
//! each peer's node `S0`, `S1`, ...), and every [`RunError`] that blames a node names it so.
//!
//! [`run`] watches every run from the caller's thread, which no task can block: a task whose
//! poll does not return ([`RunError::Stuck`]; after [`DEADLOCK_AFTER`] when it holds the sim
//! thread, a deadlock or a spin), and in sim mode a virtual clock that stands still while tasks
//! keep running (a loop of quick polls, [`RunError::BusyLoop`], or of slow ones that block the
//! thread, [`RunError::TimeStalled`]) are reported soon, naming the node and what tasks are
//! still waiting on. Tasks wake each other with a [`Notify`], whose waits are recorded for those
//! reports (as are any marked with [`waiting`]). `clippy.toml` at the workspace root makes
//! `cargo clippy` refuse the direct clock, thread and random calls with the call to use here
//! instead.
//!
//! ```
//! use std::time::Duration;
//! use labrpc::runtime::{self, RunConfig};
//!
//! let outcome = runtime::run(RunConfig::sim(7), || async {
//!     let start = runtime::now();
//!     runtime::sleep(Duration::from_secs(10)).await;
//!     runtime::now() - start
//! })
//! .expect("the run finishes");
//! assert_eq!(outcome.value, Duration::from_secs(10)); // ten virtual seconds, no real wait
//! ```

mod config;
mod context;
mod join;
mod monitor;
mod notify;
mod pool;
mod real;
mod runner;
mod sched;
mod sim;
mod time;
mod trace;
mod wait;

pub use config::{Executor, RunConfig, DEADLOCK_AFTER, DEFAULT_STALLED_AFTER};
pub use join::{JoinError, JoinHandle};
pub use notify::{Notified, Notify};
pub(crate) use runner::panic_message;
pub use runner::{check_determinism, run, Call, Divergence, HeldPoll, RunError, RunOutcome};
pub(crate) use time::timeout_unpin;
pub use time::{now, sleep, timeout, yield_now, Elapsed, Instant, Sleep, Timeout};
pub use trace::{hash_str, TraceEvent, TraceSummary};
pub use wait::{waiting, Wait, WaitOn, Waiting};

use std::future::Future;
use std::ops::Range;
use std::time::Duration;

use context::{with_context, Handle};

/// Identifies a node: the owner of a group of tasks that live and die together.
///
/// Node ids are never reused within a run, so a restarted peer gets a fresh node and nothing of
/// the old incarnation can run again. [`NodeId::ROOT`] owns the top-level future and everything
/// the test itself spawns; it cannot be killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(crate) u64);

impl NodeId {
    /// The node of the top-level future (the test itself).
    pub const ROOT: NodeId = NodeId(0);

    /// The number of this node, unique within one run.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "node {}", self.0)
    }
}

/// A node as failure messages name it: its label when it has one (the tester labels each
/// peer's node `S0`, `S1`, ..., as the logs name peers), else its number. The root node is
/// "the test".
///
/// ```
/// use labrpc::runtime::{self, NodeId, RunConfig};
///
/// let outcome = runtime::run(RunConfig::sim(1), || async {
///     let peer = runtime::new_node_named("S2");
///     let other = runtime::new_node();
///     (
///         runtime::node_name(peer).to_string(),
///         runtime::node_name(other).to_string(),
///         runtime::node_name(NodeId::ROOT).to_string(),
///     )
/// })
/// .expect("the run finishes");
/// assert_eq!(outcome.value.0, "S2");
/// assert_eq!(outcome.value.1, "node 2");
/// assert_eq!(outcome.value.2, "the test");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NodeName {
    /// The node.
    pub id: NodeId,
    /// Its label, if it was given one.
    pub label: Option<String>,
}

impl NodeName {
    /// The root node (the test itself), which has no label.
    pub fn root() -> Self {
        NodeName {
            id: NodeId::ROOT,
            label: None,
        }
    }
}

impl std::fmt::Display for NodeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.label {
            Some(label) => f.write_str(label),
            None if self.id == NodeId::ROOT => f.write_str("the test"),
            None => write!(f, "{}", self.id),
        }
    }
}

/// Spawns a task on the current node (the node of the task that calls it).
///
/// The future must be `Send + 'static`: a `parking_lot` or `std` lock guard held across an
/// `.await` makes it non-`Send`, so that classic bug does not compile.
///
/// ```
/// use labrpc::runtime::{self, RunConfig};
///
/// let outcome = runtime::run(RunConfig::sim(1), || async {
///     let handle = runtime::spawn(async { 6 * 7 });
///     handle.await.expect("the task finishes")
/// })
/// .expect("the run finishes");
/// assert_eq!(outcome.value, 42);
/// ```
///
/// Holding a lock across an `.await` is the classic way to deadlock a Raft peer, and it does not
/// compile: the guard is not `Send`, so neither is the future.
///
/// ```compile_fail
/// use std::sync::{Arc, Mutex};
/// use labrpc::runtime;
///
/// let state = Arc::new(Mutex::new(0u64));
/// let _ = runtime::spawn(async move {
///     let guard = state.lock().expect("not poisoned");
///     runtime::yield_now().await; // error: the guard lives across this await
///     drop(guard);
/// });
/// ```
///
/// Taking the lock, copying what is needed and dropping the guard before awaiting compiles:
///
/// ```no_run
/// use std::sync::{Arc, Mutex};
/// use labrpc::runtime;
///
/// let state = Arc::new(Mutex::new(0u64));
/// let _ = runtime::spawn(async move {
///     let term = *state.lock().expect("not poisoned");
///     runtime::yield_now().await;
///     term
/// });
/// ```
///
/// # Panics
/// Panics when called outside a lab runtime.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_on(current_node(), future)
}

/// Spawns a task owned by `node`. Spawning on a killed node drops the future at once, and its
/// [`JoinHandle`] reports [`JoinError::Killed`].
///
/// # Panics
/// Panics when called outside a lab runtime.
pub fn spawn_on<F>(node: NodeId, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // Boxed at once, with the sending of its output: a future of a few kilobytes is copied
    // into its box and nowhere else (an `async` wrapper would be copied whole again, and move
    // the future once more when first polled).
    let (task, handle) = join::wrap(future);
    with_context(|cx| cx.handle.spawn(node, task));
    handle
}

/// The node of the running task.
///
/// # Panics
/// Panics when called outside a lab runtime.
pub fn current_node() -> NodeId {
    with_context(|cx| cx.node)
}

/// Creates a fresh node. Tasks spawned while running as that node (see [`enter_node`]) belong to
/// it.
///
/// # Panics
/// Panics when called outside a lab runtime.
pub fn new_node() -> NodeId {
    with_context(|cx| cx.handle.new_node())
}

/// Creates a fresh node labelled `label` (such as `"S2"`): every failure message that blames
/// one of its tasks (a panic, a stuck poll, a busy loop, a stalled clock) names it by the label.
/// Labels need not be unique: a restarted peer's new node may carry its old label.
///
/// # Panics
/// Panics when called outside a lab runtime.
pub fn new_node_named(label: impl Into<String>) -> NodeId {
    let label = label.into();
    with_context(|cx| {
        let node = cx.handle.new_node();
        cx.handle.monitor().set_label(node, label);
        node
    })
}

/// How failure messages name `node`: its label (see [`new_node_named`]), else its number.
///
/// # Panics
/// Panics when called outside a lab runtime.
pub fn node_name(node: NodeId) -> NodeName {
    with_context(|cx| cx.handle.monitor().name_of(node))
}

/// Runs `f` as `node`: every task that `f` spawns with [`spawn`] belongs to `node`.
///
/// The tester uses this to build a peer, so that `Raft::new` can spawn its tickers with plain
/// [`spawn`] and they die with the peer.
///
/// # Panics
/// Panics when called outside a lab runtime.
pub fn enter_node<R>(node: NodeId, f: impl FnOnce() -> R) -> R {
    let _guard = context::enter_node(node);
    f()
}

/// Kills `node`: drops every task it owns, now and later. Killing [`NodeId::ROOT`] or an unknown
/// node does nothing.
///
/// # Panics
/// Panics when called outside a lab runtime.
pub fn kill_node(node: NodeId) {
    if node == NodeId::ROOT {
        return;
    }
    with_context(|cx| cx.handle.kill_node(node));
}

/// Whether `node` has been killed.
///
/// # Panics
/// Panics when called outside a lab runtime.
pub fn is_killed(node: NodeId) -> bool {
    with_context(|cx| cx.handle.is_killed(node))
}

/// A uniformly random number in `range` from the runtime's generator (seeded in sim mode).
///
/// # Panics
/// Panics when called outside a lab runtime, or when `range` is empty.
pub fn random_range(range: Range<u64>) -> u64 {
    assert!(
        range.start < range.end,
        "random_range: empty range {range:?}"
    );
    with_context(|cx| cx.handle.random_range(range))
}

/// A uniformly random duration in `range` from the runtime's generator (seeded in sim mode), at
/// nanosecond resolution: the lab's timing constants are [`Duration`]s, so an election timeout
/// is `random_duration(ELECTION_TIMEOUT_MIN..ELECTION_TIMEOUT_MAX)`.
///
/// It draws once from the generator, as [`random_range`] does (over the range's nanoseconds,
/// so it is not the same draw as `random_range` over its milliseconds: code that switches
/// from one to the other replays its seeds differently).
///
/// ```
/// use std::time::Duration;
/// use labrpc::runtime::{self, RunConfig};
///
/// const MIN: Duration = Duration::from_millis(500);
/// const MAX: Duration = Duration::from_millis(1000);
/// let outcome = runtime::run(RunConfig::sim(3), || async {
///     (0..100).map(|_| runtime::random_duration(MIN..MAX)).collect::<Vec<_>>()
/// })
/// .expect("the run finishes");
/// assert!(outcome.value.iter().all(|d| (MIN..MAX).contains(d)));
/// ```
///
/// # Panics
/// Panics when called outside a lab runtime, or when `range` is empty or ends past 584 years.
pub fn random_duration(range: Range<Duration>) -> Duration {
    assert!(
        range.start < range.end,
        "random_duration: empty range {range:?}"
    );
    let nanos = |d: Duration| {
        u64::try_from(d.as_nanos())
            .unwrap_or_else(|_| panic!("random_duration: {d:?} is too long (at most 584 years)"))
    };
    let (start, end) = (nanos(range.start), nanos(range.end));
    Duration::from_nanos(with_context(|cx| cx.handle.random_range(start..end)))
}

/// Runs `f`, a synchronous call from the current task into `callee`'s code (the tester calls a
/// peer's `snapshot()` this way), marked as such for the watchdog. `what` names the call, such
/// as `"snapshot()"`.
///
/// A call into another node's code must return promptly: one that has not returned after
/// [`RunConfig::deadlock_after`] ([`DEADLOCK_AFTER`], 2 s) is a deadlock or a spin, and the
/// run is reported [stuck](RunError::Stuck) then, in either executor (other polls of a
/// real-mode run have until [`RunConfig::stuck_after`]). The error says which call it was
/// inside ([`HeldPoll::call`]), and lists the recorded waits of the callee's tasks, so a caller
/// can tell, say, a peer that holds its lock while it waits for the caller.
///
/// The code runs as the current task's node; outside a poll this just runs `f`.
///
/// ```
/// use labrpc::runtime::{self, RunConfig};
///
/// let outcome = runtime::run(RunConfig::sim(1), || async {
///     let peer = runtime::new_node_named("S1");
///     runtime::call_into(peer, "snapshot()", || 6 * 7)
/// })
/// .expect("the run finishes");
/// assert_eq!(outcome.value, 42);
/// ```
pub fn call_into<R>(callee: NodeId, what: &'static str, f: impl FnOnce() -> R) -> R {
    let marked =
        context::try_with_context(|cx| cx.slot.map(|slot| (cx.handle.monitor_arc(), slot)))
            .flatten();
    match marked {
        Some((monitor, slot)) => {
            let _call = monitor.slot(slot).call(callee, what);
            f()
        }
        None => f(),
    }
}

/// Runs `f`, long work of the test itself inside a poll (a linearizability check of a
/// recorded history, which may search for seconds), outside the watchdog: while `f` runs, the
/// current poll is not [stuck](RunError::Stuck) however long it takes, and virtual time
/// standing still meanwhile is not a [stall](RunError::TimeStalled). The work must end by
/// itself (a check with a step budget or a time limit): nothing stops it.
///
/// Not for the code under test: a peer's or a service's waits must stay watched, so that a
/// deadlock is named. Outside a poll this just runs `f`.
///
/// ```
/// use labrpc::runtime::{self, RunConfig};
///
/// let outcome = runtime::run(RunConfig::sim(1), || async {
///     runtime::unwatched(|| (1..=10u64).product::<u64>())
/// })
/// .expect("the run finishes");
/// assert_eq!(outcome.value, 3_628_800);
/// ```
pub fn unwatched<R>(f: impl FnOnce() -> R) -> R {
    let marked =
        context::try_with_context(|cx| cx.slot.map(|slot| (cx.handle.monitor_arc(), slot)))
            .flatten();
    match marked {
        Some((monitor, slot)) => {
            let _unwatched = monitor.slot(slot).unwatched();
            f()
        }
        None => f(),
    }
}

/// A random 64-bit number from the runtime's generator.
///
/// # Panics
/// Panics when called outside a lab runtime.
pub fn random_u64() -> u64 {
    with_context(|cx| cx.handle.random_u64())
}

/// Which executor runs the current task.
///
/// # Panics
/// Panics when called outside a lab runtime.
pub fn executor() -> Executor {
    with_context(|cx| match cx.handle {
        Handle::Sim(_) => Executor::Sim,
        Handle::Real(_) => Executor::Real,
    })
}

/// Whether the calling thread is inside a lab runtime.
pub fn in_runtime() -> bool {
    context::try_with_context(|_| ()).is_some()
}

/// Records an event in the run's trace (part of the determinism check). The network records
/// every delivery and drop through this; tests may add their own.
///
/// Outside a runtime this does nothing.
pub fn trace_event(kind: &'static str, a: u64, b: u64) {
    context::try_with_context(|cx| cx.handle.trace(kind, a, b));
}
