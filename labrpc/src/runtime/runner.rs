//! Running a test on a runtime: a thread per run, a wall-clock watchdog (see `monitor`), and the
//! errors a run can end with.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::monitor::{Monitor, Verdict, Watch};
use super::real::RealCore;
use super::sim::SimCore;
use super::trace::{TraceEvent, TraceSummary};
use super::wait::Wait;
use super::{Executor, NodeId, NodeName, RunConfig};

/// A synchronous call into another node's code that a poll was inside (see
/// [`call_into`](super::call_into)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The node whose code was called.
    pub callee: NodeName,
    /// What was called, such as `"snapshot()"`.
    pub what: &'static str,
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}'s {}", self.callee, self.what)
    }
}

/// A poll that had not returned when a run was reported stuck.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldPoll {
    /// The node of the task being polled.
    pub node: NodeName,
    /// How long the poll had been running, at least (wall time).
    pub held: Duration,
    /// The synchronous call it was inside, if any.
    pub call: Option<Call>,
}

/// How a run failed, in words that say what to fix. Every variant names the run and its seed,
/// and, where one node's tasks are to blame, that node as the logs name it (the tester labels
/// each peer's node `S0`, `S1`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// The run took longer than its time limit (virtual time in sim mode).
    #[error("{name} (seed {seed}): passed its time limit of {limit:?} without finishing")]
    TimeLimit {
        /// The run's name.
        name: String,
        /// The run's seed.
        seed: u64,
        /// The limit that passed.
        limit: Duration,
    },
    /// The test waits for something, but no task can run and no timer is armed: nothing will
    /// ever happen again.
    #[error(
        "{name} (seed {seed}): deadlock at {at:?}: the test is waiting, but no task is ready and \
         no timer is armed ({tasks} tasks are blocked forever{of}){waiting}",
        of = nodes_part(nodes),
        waiting = waits_part(waits, "; nothing is left to end these waits: ")
    )]
    Deadlock {
        /// The run's name.
        name: String,
        /// The run's seed.
        seed: u64,
        /// Run time of the deadlock.
        at: Duration,
        /// Tasks left, all waiting.
        tasks: usize,
        /// The nodes those tasks belong to, in the order they were made.
        nodes: Vec<NodeName>,
        /// The recorded waits among them ([`Notify`](super::Notify), [`waiting`](super::waiting)).
        waits: Vec<Wait>,
    },
    /// One poll of a task did not return for the watchdog's window: a loop that never awaits,
    /// a blocking call, or a lock taken twice; in sim mode (where every task shares one thread)
    /// a task that blocks the thread on something only another task can do. Reported within a
    /// moment of the window passing ([`RunConfig::deadlock_after`] for a poll that must be
    /// prompt, else [`RunConfig::stuck_after`]); a thread held by such a task cannot be stopped
    /// and is abandoned.
    #[error(
        "{name} (seed {seed}): stuck: {what} for {wall:?} of wall time{inside}{why}{others}\
         {waiting}; the run was abandoned",
        what = stuck_what(node.as_ref()),
        inside = polls.first().filter(|_| node.is_some()).and_then(|p| p.call.as_ref())
            .map_or_else(String::new, |call| format!(", inside its call to {call}")),
        why = stuck_why(*executor, node.as_ref()),
        others = others_part(polls, node.is_some()),
        waiting = stuck_waits_part(waits, polls)
    )]
    Stuck {
        /// The run's name.
        name: String,
        /// The run's seed.
        seed: u64,
        /// How long the watchdog waited.
        wall: Duration,
        /// The node whose task did not return, when the watchdog saw it in a poll.
        node: Option<NodeName>,
        /// The executor of the run.
        executor: Executor,
        /// Every poll that was running, the stuck one first (in real mode, other workers may
        /// be held too). (Boxed slices here keep `RunError` small.)
        polls: Box<[HeldPoll]>,
        /// The recorded waits still pending ([`Notify`](super::Notify),
        /// [`waiting`](super::waiting)), those a stuck poll is blocked in first.
        waits: Box<[Wait]>,
    },
    /// Tasks kept running without the clock ever moving (sim mode): a loop that awaits
    /// something always ready, so every poll is quick, but virtual time never gets to move.
    #[error(
        "{name} (seed {seed}): busy loop at {at:?}: {polls} polls without time moving{most}: a \
         task keeps running without ever waiting for time or for a real change, in a loop that \
         awaits something always ready (yield_now, a channel or Notify that always has \
         something, or the same work done again: the same message handed over again and \
         again); a loop must sleep (labrpc::runtime::sleep) or wait for what it needs",
        most = busiest_part(node.as_ref(), "polled most")
    )]
    BusyLoop {
        /// The run's name.
        name: String,
        /// The run's seed.
        seed: u64,
        /// Run time of the loop.
        at: Duration,
        /// Polls seen without the clock moving.
        polls: u64,
        /// The node whose tasks were polled most often in that instant.
        node: Option<NodeName>,
    },
    /// The virtual clock stood still for a long stretch of wall time while tasks kept being
    /// polled, each poll taking a while (sim mode): a task blocks its thread a while in every
    /// poll (on the real clock, or on a blocking call), then yields, so it is neither stuck in
    /// one poll nor a loop of quick polls, but simulated time can never move.
    #[error(
        "{name} (seed {seed}): virtual time stood still at {at:?} for {wall:?} of wall time while \
         tasks kept running, each poll slow{most}; a task blocks its thread a while in every \
         poll instead of awaiting: std::thread::sleep (use labrpc::runtime::sleep), a blocking \
         lock or channel (a std::sync::Mutex or channel waited on across tasks; use an async \
         one), or a spin on a flag, then a yield; the run was stopped",
        most = busiest_part(busiest.as_ref(), "took the most wall time")
    )]
    TimeStalled {
        /// The run's name.
        name: String,
        /// The run's seed.
        seed: u64,
        /// The virtual time that stood still.
        at: Duration,
        /// How long it stood still (wall time) before the run was stopped.
        wall: Duration,
        /// The node whose tasks were running most of that wall time (sampled).
        busiest: Option<NodeName>,
    },
    /// Real mode: a task held a worker thread in one poll for [`RunConfig::deadlock_after`] or
    /// more, or was still inside a poll when the test ended (a loop that never awaits, or a
    /// blocking call). The run itself finished: this comes beside its value, in
    /// [`RunOutcome::held_thread`], for the caller to decide (the harness fails the trial).
    #[error(
        "{name} (seed {seed}): a task of {node} held its thread in one poll for at least \
         {held_ms:?} of wall time{end}: a loop that never awaits (a spin, such as a ticker that \
         watches the clock without sleeping) or a blocking call; in real mode tasks share a few \
         worker threads, so such a task keeps a core busy and starves the others; await inside \
         every loop (labrpc::runtime::sleep, a Notify){abandoned}",
        held_ms = to_ms(*held),
        end = if *at_end { ", and was still in it when the test ended" } else { "" },
        abandoned = if *at_end { "; its thread was abandoned" } else { "" }
    )]
    HeldThread {
        /// The run's name.
        name: String,
        /// The run's seed.
        seed: u64,
        /// The node of the task.
        node: NodeName,
        /// How long the poll ran, at least.
        held: Duration,
        /// Whether it was still running when the test ended.
        at_end: bool,
    },
    /// A task (or the test itself) panicked.
    #[error("{name} (seed {seed}): a task of {node} panicked: {message}")]
    Panicked {
        /// The run's name.
        name: String,
        /// The run's seed.
        seed: u64,
        /// The node whose task panicked ([`NodeId::ROOT`] is the test itself).
        node: NodeName,
        /// The panic message.
        message: String,
    },
}

fn stuck_what(node: Option<&NodeName>) -> String {
    match node {
        Some(node) => format!("a task of {node} has not returned from one poll"),
        None => "the run made no progress".to_string(),
    }
}

fn stuck_why(executor: Executor, node: Option<&NodeName>) -> &'static str {
    match (executor, node) {
        (Executor::Sim, Some(node)) if node.id != NodeId::ROOT => {
            ": in sim mode every task runs on this one thread and virtual time cannot move while \
             a poll holds it, so this is a deadlock or a spin: a blocking call that waits for \
             something only another task can do (a lock that task holds, or \
             futures::executor::block_on of a send or a receive), a lock taken twice, \
             std::thread::sleep, or a loop that never awaits"
        }
        _ => {
            " (a loop that never awaits, a blocking call such as std::thread::sleep, or a lock \
             taken twice)"
        }
    }
}

/// `d` in whole milliseconds, as messages show wall times.
fn to_ms(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The other polls held for a while (seen at more than one tick), as a message lists them:
/// grouped per node and call, those inside a call first.
fn others_part(polls: &[HeldPoll], first_reported: bool) -> String {
    let skip = usize::from(first_reported);
    // (not inside a call, node, call) -> (polls, the longest held)
    let mut groups: std::collections::BTreeMap<(bool, NodeId, Option<String>), (usize, Duration)> =
        std::collections::BTreeMap::new();
    let mut names = std::collections::BTreeMap::new();
    for p in polls.iter().skip(skip).filter(|p| p.held > Duration::ZERO) {
        let call = p.call.as_ref().map(ToString::to_string);
        let entry = groups
            .entry((call.is_none(), p.node.id, call))
            .or_insert((0, Duration::ZERO));
        entry.0 += 1;
        entry.1 = entry.1.max(p.held);
        names.insert(p.node.id, p.node.clone());
    }
    if groups.is_empty() {
        return String::new();
    }
    let listed: Vec<String> = groups
        .into_iter()
        .map(|((_, node, call), (count, held))| {
            let call = call.map_or_else(String::new, |call| format!(", inside its call to {call}"));
            let who = &names[&node];
            match count {
                1 => format!("a task of {who} for {:?}{call}", to_ms(held)),
                n => format!("{n} tasks of {who} for up to {:?}{call}", to_ms(held)),
            }
        })
        .collect();
    format!("; also held in one poll: {}", listed.join(", "))
}

/// The most waits a message lists (the error keeps them all).
const WAITS_SHOWN: usize = 6;

fn waits_part(waits: &[Wait], lead: &str) -> String {
    if waits.is_empty() {
        return String::new();
    }
    let mut shown: Vec<String> = waits
        .iter()
        .take(WAITS_SHOWN)
        .map(ToString::to_string)
        .collect();
    if waits.len() > WAITS_SHOWN {
        shown.push(format!("{} more", waits.len() - WAITS_SHOWN));
    }
    format!("{lead}{}", shown.join(", "))
}

/// The waits that explain a stuck run, as its message lists them: those a held poll is
/// blocked in, and those of the nodes involved (a held poll's, or the one it calls into); the
/// others are counted.
fn stuck_waits_part(waits: &[Wait], polls: &[HeldPoll]) -> String {
    let involved: Vec<NodeId> = polls
        .iter()
        .filter(|p| p.held > Duration::ZERO)
        .flat_map(|p| std::iter::once(p.node.id).chain(p.call.as_ref().map(|c| c.callee.id)))
        .collect();
    let (relevant, others): (Vec<Wait>, Vec<Wait>) = waits
        .iter()
        .cloned()
        .partition(|w| w.blocking || involved.contains(&w.node.id));
    let mut part = waits_part(&relevant, "; still waiting: ");
    match (relevant.is_empty(), others.len()) {
        (_, 0) => {}
        (true, n) => part = format!("; {n} other recorded waits"),
        (false, n) => part.push_str(&format!(" (and {n} other recorded waits)")),
    }
    part
}

fn nodes_part(nodes: &[NodeName]) -> String {
    match nodes {
        [] => String::new(),
        [only] => format!(", all of {only}"),
        [first @ .., last] => {
            let first: Vec<String> = first.iter().map(ToString::to_string).collect();
            format!(", of {} and {last}", first.join(", "))
        }
    }
}

fn busiest_part(node: Option<&NodeName>, what: &str) -> String {
    node.map_or_else(String::new, |node| format!(" (the tasks of {node} {what})"))
}

impl RunError {
    /// The seed of the failed run.
    pub fn seed(&self) -> u64 {
        match self {
            RunError::TimeLimit { seed, .. }
            | RunError::Deadlock { seed, .. }
            | RunError::Stuck { seed, .. }
            | RunError::BusyLoop { seed, .. }
            | RunError::TimeStalled { seed, .. }
            | RunError::HeldThread { seed, .. }
            | RunError::Panicked { seed, .. } => *seed,
        }
    }
}

/// What a finished run returns.
#[derive(Debug, Clone)]
pub struct RunOutcome<T> {
    /// The top-level future's output.
    pub value: T,
    /// Run time at the end (virtual in sim mode).
    pub elapsed: Duration,
    /// Wall time the run took.
    pub wall: Duration,
    /// The event trace.
    pub trace: TraceSummary,
    /// Real mode: a task that held a worker thread in one poll for
    /// [`RunConfig::deadlock_after`] or more, or was still in a poll when the test ended
    /// (always a [`RunError::HeldThread`]). The run's value stands; the caller decides what
    /// such a task means for it (the harness fails the trial). Always `None` in sim mode, where
    /// such a task is reported as [`RunError::Stuck`].
    pub held_thread: Option<RunError>,
}

/// Extracts a panic's message.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

/// Polls the test's top-level future once: `None` while it is pending, its output when it is
/// done, and a panic as [`RunError::Panicked`] of the root node.
pub(crate) fn poll_main<F: Future>(
    main: std::pin::Pin<&mut F>,
    waker: &std::task::Waker,
    config: &RunConfig,
) -> Option<Result<F::Output, RunError>> {
    let mut cx = std::task::Context::from_waker(waker);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| main.poll(&mut cx))) {
        Ok(std::task::Poll::Ready(v)) => Some(Ok(v)),
        Ok(std::task::Poll::Pending) => None,
        Err(payload) => Some(Err(RunError::Panicked {
            name: config.name.clone(),
            seed: config.seed,
            node: NodeName::root(),
            message: panic_message(&*payload),
        })),
    }
}

/// How long the watchdog waits, after asking a run to stop, for the run's own thread to end it
/// (with the test's own verdict if the test finished meanwhile) before it reports the failure
/// without it.
const ABORT_GRACE: Duration = Duration::from_secs(2);

/// Runs the future that `make` builds, on the executor `config` names, on a thread of its own
/// (taken from a pool of finished runs' threads, since starting one costs more than a short
/// simulated trial).
///
/// The caller's thread is the watchdog, which no task can block. It fails the run, within a
/// moment of the window passing, when
///
/// - one poll of a task has not returned for [`RunConfig::deadlock_after`] (2 s) when it must
///   be prompt (in sim mode any task's; in both modes one inside [`call_into`](super::call_into)
///   or blocked in a wait it began itself: a deadlock or a spin), or for
///   [`RunConfig::stuck_after`] otherwise (in real mode each worker is watched on its own):
///   [`RunError::Stuck`], naming the task's node, the call it was inside, the other polls held
///   and the recorded waits still pending;
/// - in sim mode, the virtual clock stood still for [`RunConfig::stalled_after`] of wall time
///   while tasks kept being polled: [`RunError::BusyLoop`] when the polls were quick (a loop
///   that awaits something always ready), [`RunError::TimeStalled`] when they were slow (a task
///   that blocks its thread a while in every poll), naming the node that ran most;
/// - in real mode, the run is still going [`RunConfig::stuck_after`] after its time limit.
///
/// A result the test reached first is kept: a task that never returns cannot overwrite it or
/// delay it, and a thread held by such a task is abandoned, never waited for. In real mode a
/// task that held a worker for the deadlock window, or still held one when the test ended, is
/// reported beside the result ([`RunOutcome::held_thread`]).
///
/// ```
/// use std::time::Duration;
/// use labrpc::runtime::{self, RunConfig, RunError};
///
/// // A test that waits for something that never comes is a deadlock, reported at once.
/// let result = runtime::run(RunConfig::sim(5).named("waits_forever"), || async {
///     let (_tx, rx) = futures::channel::oneshot::channel::<()>();
///     let _ = rx.await;
/// });
/// assert!(matches!(result, Err(RunError::Deadlock { seed: 5, .. })));
/// ```
pub fn run<M, F, T>(config: RunConfig, make: M) -> Result<RunOutcome<T>, RunError>
where
    M: FnOnce() -> F + Send + 'static,
    F: Future<Output = T> + 'static,
    T: Send + 'static,
{
    let monitor = Arc::new(Monitor::new(&config));
    let (tx, rx) = crossbeam_channel::bounded(1);
    let thread_config = config.clone();
    let thread_monitor = monitor.clone();
    let spawned = super::pool::execute(Box::new(move || {
        let config = thread_config;
        let _log = config
            .dispatch
            .as_ref()
            .map(tracing::dispatcher::set_default);
        run_here(&config, thread_monitor, make, move |out| {
            let _ = tx.send(out);
        });
    }));
    if let Err(e) = spawned {
        return Err(RunError::Panicked {
            name: config.name,
            seed: config.seed,
            node: NodeName::root(),
            message: format!("could not start the run's thread: {e}"),
        });
    }
    let ended = || RunError::Panicked {
        name: config.name.clone(),
        seed: config.seed,
        node: NodeName::root(),
        message: "the run's thread ended without a result".into(),
    };
    // The watchdog measures wall time by design: it is what a stuck task wastes.
    #[allow(clippy::disallowed_methods)]
    let start = std::time::Instant::now();
    let tick = Watch::tick(&config);
    let mut watch = Watch::new(&config, &monitor, Duration::ZERO);
    // The watchdog waits in wall time by design, on its own thread.
    #[allow(clippy::disallowed_methods)]
    let pause = || std::thread::sleep(Duration::from_millis(1));
    let overall = match config.executor {
        Executor::Sim => None,
        Executor::Real => {
            Some(config.time_limit.unwrap_or(Duration::from_secs(3600)) + config.stuck_after)
        }
    };
    loop {
        match rx.recv_timeout(tick) {
            Ok(Ok(mut out)) => {
                // A worker still held by a task's poll, or one held long during the run.
                out.held_thread = watch.finish(&monitor, || start.elapsed(), pause);
                return Ok(out);
            }
            Ok(Err(e)) => return Err(e),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return Err(ended()),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
        }
        let now = start.elapsed();
        if let Verdict::Fail { error, wait } = watch.check(&monitor, now, tick) {
            // The test's own verdict, if it is there or comes while the run winds down, wins.
            let grace = if wait { ABORT_GRACE } else { Duration::ZERO };
            return match rx.recv_timeout(grace) {
                Ok(out) => out,
                Err(_) => Err(error),
            };
        }
        if overall.is_some_and(|limit| now >= limit) {
            return Err(watch.overdue(&monitor, now));
        }
    }
}

/// Runs on the current thread (the run's own thread) and hands the result to `deliver` as soon
/// as it is known, before waiting for the run's other threads.
fn run_here<M, F, T>(
    config: &RunConfig,
    monitor: Arc<Monitor>,
    make: M,
    deliver: impl FnOnce(Result<RunOutcome<T>, RunError>),
) where
    M: FnOnce() -> F,
    F: Future<Output = T>,
{
    // Wall time is a figure of the outcome, not an input of the run.
    #[allow(clippy::disallowed_methods)]
    let wall_start = std::time::Instant::now();
    match config.executor {
        Executor::Sim => {
            let core = SimCore::new(config, monitor);
            let main = {
                let _cx = super::context::enter(
                    super::context::Handle::Sim(core.clone()),
                    NodeId::ROOT,
                    None,
                );
                make()
            };
            let result = core.block_on(config, main);
            let elapsed = core.now();
            let trace = {
                let _cx = super::context::enter(
                    super::context::Handle::Sim(core.clone()),
                    NodeId::ROOT,
                    None,
                );
                core.shutdown()
            };
            deliver(result.map(|value| RunOutcome {
                value,
                elapsed,
                wall: wall_start.elapsed(),
                trace,
                held_thread: None,
            }));
        }
        Executor::Real => {
            let core = RealCore::new(config, monitor);
            let main = {
                let _cx = super::context::enter(
                    super::context::Handle::Real(core.clone()),
                    NodeId::ROOT,
                    None,
                );
                make()
            };
            let result = core.block_on(config, main);
            let elapsed = core.now();
            let trace = core.shutdown();
            let threads = core.take_threads();
            drop(core);
            deliver(result.map(|value| RunOutcome {
                value,
                elapsed,
                wall: wall_start.elapsed(),
                trace,
                held_thread: None,
            }));
            super::real::join_or_abandon(threads);
        }
    }
}

/// Where two runs of one seed parted ways.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Divergence {
    /// A run failed (the check could not compare it).
    #[error("the determinism check could not finish: {0}")]
    Failed(RunError),
    /// The two runs differ at event `index`.
    #[error(
        "{name} (seed {seed}) is not deterministic: the runs differ at event #{index}: first run \
         {first}, second run {second}"
    )]
    Diverged {
        /// The run's name.
        name: String,
        /// The seed.
        seed: u64,
        /// The index of the first differing event.
        index: u64,
        /// The first run's event there (or "no event").
        first: String,
        /// The second run's event there (or "no event").
        second: String,
    },
}

/// Runs one seed twice in sim mode and compares the event traces; the error names the first
/// event where they differ. Returns the first run's outcome when the runs agree.
///
/// ```
/// use std::time::Duration;
/// use labrpc::runtime::{self, RunConfig};
///
/// let outcome = runtime::check_determinism(RunConfig::sim(9), || async {
///     for _ in 0..3 {
///         runtime::spawn(async { runtime::sleep(Duration::from_millis(runtime::random_range(1..50))).await });
///     }
///     runtime::sleep(Duration::from_secs(1)).await;
/// })
/// .expect("the same seed gives the same run");
/// assert!(outcome.trace.events > 0);
/// ```
pub fn check_determinism<M, F, T>(config: RunConfig, make: M) -> Result<RunOutcome<T>, Divergence>
where
    M: Fn() -> F + Send + Sync + 'static,
    F: Future<Output = T> + 'static,
    T: Send + 'static,
{
    let config = RunConfig {
        executor: Executor::Sim,
        record_trace: true,
        ..config
    };
    let make = Arc::new(make);
    let m1 = make.clone();
    let first = run(config.clone(), move || m1()).map_err(Divergence::Failed)?;
    let second = run(config.clone(), move || make()).map_err(Divergence::Failed)?;
    if first.trace.hash == second.trace.hash && first.trace.events == second.trace.events {
        return Ok(first);
    }
    let a = first.trace.log.as_deref().unwrap_or_default();
    let b = second.trace.log.as_deref().unwrap_or_default();
    let index = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let show = |e: Option<&TraceEvent>| e.map_or_else(|| "no event".to_string(), |e| e.to_string());
    Err(Divergence::Diverged {
        name: config.name,
        seed: config.seed,
        index: index as u64,
        first: show(a.get(index)),
        second: show(b.get(index)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(id: u64, label: Option<&str>) -> NodeName {
        NodeName {
            id: NodeId(id),
            label: label.map(str::to_string),
        }
    }

    #[test]
    fn a_deadlock_lists_the_nodes_of_its_blocked_tasks_as_the_logs_name_them() {
        let deadlock = |nodes| RunError::Deadlock {
            name: "t".into(),
            seed: 1,
            at: Duration::from_secs(2),
            tasks: 4,
            nodes,
            waits: Vec::new(),
        };
        assert!(deadlock(vec![])
            .to_string()
            .ends_with("(4 tasks are blocked forever)"));
        let three = vec![named(0, None), named(3, Some("S1")), named(7, None)];
        assert!(
            deadlock(three)
                .to_string()
                .ends_with("(4 tasks are blocked forever, of the test, S1 and node 7)"),
            "{}",
            deadlock(vec![named(0, None), named(3, Some("S1")), named(7, None)])
        );
    }
}
