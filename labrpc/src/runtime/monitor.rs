//! What the watchdog sees of a run, and the watchdog itself.
//!
//! A run executes on threads that a bad task can take over for good (a loop that never awaits,
//! `std::thread::sleep`, a lock taken twice). The watchdog runs on the caller's thread, which no
//! task can block, and reads what the run's threads publish here:
//!
//! - one [`PollSlot`] per thread that polls tasks (the sim thread; in real mode the run's thread
//!   for the test body and one per worker): which node's task is being polled, a counter that
//!   moves at every poll, so a poll that does not return is seen within a tick, and the
//!   synchronous call into another node's code the poll is inside, if any
//!   ([`call_into`](super::call_into));
//! - in sim mode, the virtual clock, so a run whose clock stands still while its tasks keep
//!   being polled (a task that waits on the real clock) is seen too;
//! - the waits tasks have recorded ([`wait`](super::wait)), so a report says who waits on what;
//! - the nodes' labels, so every message names a peer as the logs do (`S2`, not `node 3`).
//!
//! The run's threads only store to atomics here on every poll (no lock, no clock read per
//! poll). The watchdog asks a run to stop through [`Monitor::abort`], which the executors check
//! between polls.
//!
//! # What the watchdog reports, and when
//!
//! - A poll that has not returned for [`DEADLOCK_AFTER`](super::DEADLOCK_AFTER) (or the run's
//!   own, shorter, [`RunConfig::deadlock_after`]) when it *must* be prompt: in sim mode any
//!   task's poll (every task shares the one thread, so virtual time cannot move until it
//!   returns: a deadlock or a spin); in either mode a poll inside a synchronous call into
//!   another node's code, or blocked in a wait it began itself. [`RunError::Stuck`] then.
//! - Any other poll that has not returned for [`RunConfig::stuck_after`] (the outer bound: the
//!   test body's own polls, which may check a history at length, and real-mode tasks).
//! - Sim mode: virtual time standing still for [`RunConfig::stalled_after`] while polls go on,
//!   told apart by how long a poll takes on average: quick polls are a task that keeps running
//!   without waiting for time ([`RunError::BusyLoop`]), slow ones a task that blocks its thread
//!   a while in every poll ([`RunError::TimeStalled`]).
//! - Real mode, at the end of a run: a worker's poll that lasted [`DEADLOCK_AFTER`] or more, or
//!   is still running when the test ends ([`RunError::HeldThread`], handed back beside the
//!   run's value in [`RunOutcome::held_thread`](super::RunOutcome::held_thread)).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};

use super::runner::{Call, HeldPoll, RunError};
use super::wait::{Wait, WaitTable};
use super::{Executor, NodeId, NodeName, RunConfig};

/// What one polling thread is doing. Written only by its own thread.
pub(crate) struct PollSlot {
    /// Odd while a poll runs; moves by one when a poll starts and when it ends.
    seq: AtomicU64,
    /// The node of the task being polled (meaningful while `seq` is odd).
    node: AtomicU64,
    /// The synchronous call into another node's code that the poll is inside (see
    /// [`call_into`](super::call_into)): rare, so a lock is cheap enough.
    call: Mutex<Option<(NodeId, &'static str)>>,
    /// How many [`unwatched`](super::unwatched) sections the running poll is inside: while
    /// any, the watchdog counts the poll as moving.
    unwatched: AtomicU64,
}

impl PollSlot {
    fn new() -> Self {
        PollSlot {
            seq: AtomicU64::new(0),
            node: AtomicU64::new(0),
            call: Mutex::new(None),
            unwatched: AtomicU64::new(0),
        }
    }

    /// Marks a poll of a task of `node` as running until the guard drops.
    pub(crate) fn enter(&self, node: NodeId) -> PollGuard<'_> {
        self.node.store(node.0, Ordering::Relaxed);
        // One writer per slot, so a load and a store make the increment.
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq + 1, Ordering::Release);
        PollGuard { slot: self }
    }

    /// The poll counter (odd while a poll runs).
    pub(crate) fn seq(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// The poll counter, and the node whose task is being polled (if one is).
    fn read(&self) -> (u64, Option<NodeId>) {
        let seq = self.seq.load(Ordering::Acquire);
        if seq & 1 == 0 {
            return (seq, None);
        }
        let node = NodeId(self.node.load(Ordering::Relaxed));
        // A poll that ended meanwhile is not stuck; report the counter it moved to.
        let again = self.seq.load(Ordering::Acquire);
        if again != seq {
            return (again, None);
        }
        (seq, Some(node))
    }

    /// Marks the rest of the running poll, until the guard drops, as a call into `callee`'s
    /// `what`.
    pub(crate) fn call(&self, callee: NodeId, what: &'static str) -> CallGuard<'_> {
        let previous = self.call.lock().replace((callee, what));
        CallGuard {
            slot: self,
            previous,
        }
    }

    /// Marks the rest of the running poll, until the guard drops, as the harness's own long
    /// work (see [`unwatched`](super::unwatched)).
    pub(crate) fn unwatched(&self) -> UnwatchedGuard<'_> {
        self.unwatched.fetch_add(1, Ordering::AcqRel);
        UnwatchedGuard { slot: self }
    }

    fn is_unwatched(&self) -> bool {
        self.unwatched.load(Ordering::Acquire) > 0
    }

    fn current_call(&self) -> Option<(NodeId, &'static str)> {
        *self.call.lock()
    }
}

/// Ends a poll in its slot when dropped (also when the poll panics).
pub(crate) struct PollGuard<'a> {
    slot: &'a PollSlot,
}

impl Drop for PollGuard<'_> {
    fn drop(&mut self) {
        let seq = self.slot.seq.load(Ordering::Relaxed);
        self.slot.seq.store(seq + 1, Ordering::Release);
    }
}

/// Ends an [`unwatched`](super::unwatched) section when dropped (also when it panics).
pub(crate) struct UnwatchedGuard<'a> {
    slot: &'a PollSlot,
}

impl Drop for UnwatchedGuard<'_> {
    fn drop(&mut self) {
        self.slot.unwatched.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Ends a call's mark in its slot when dropped (also when the call panics).
pub(crate) struct CallGuard<'a> {
    slot: &'a PollSlot,
    previous: Option<(NodeId, &'static str)>,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        *self.slot.call.lock() = self.previous.take();
    }
}

/// The state a run shares with its watchdog.
pub(crate) struct Monitor {
    /// Slot 0: the run's own thread (in sim mode every poll; in real mode the test body).
    /// Slots 1..: the real executor's workers.
    slots: Box<[PollSlot]>,
    /// The sim clock in nanoseconds, stored whenever it moves.
    virtual_ns: AtomicU64,
    labels: Mutex<BTreeMap<NodeId, String>>,
    /// The waits tasks have recorded and not ended.
    waits: Mutex<WaitTable>,
    aborting: AtomicBool,
    abort: Mutex<Option<RunError>>,
}

impl Monitor {
    /// A monitor with one slot for the run's thread and one per real worker.
    pub(crate) fn new(config: &RunConfig) -> Self {
        let slots = match config.executor {
            Executor::Sim => 1,
            Executor::Real => 1 + config.workers,
        };
        Monitor {
            slots: (0..slots).map(|_| PollSlot::new()).collect(),
            virtual_ns: AtomicU64::new(0),
            labels: Mutex::new(BTreeMap::new()),
            waits: Mutex::new(WaitTable::default()),
            aborting: AtomicBool::new(false),
            abort: Mutex::new(None),
        }
    }

    /// The slot of polling thread `i` (0: the run's thread; `1 + w`: real worker `w`).
    pub(crate) fn slot(&self, i: usize) -> &PollSlot {
        &self.slots[i]
    }

    /// The table of recorded waits.
    pub(crate) fn waits(&self) -> MutexGuard<'_, WaitTable> {
        self.waits.lock()
    }

    /// The waits pending now, with those a running poll is blocked in marked (see [`Wait`]).
    pub(crate) fn pending_waits(&self) -> Vec<Wait> {
        let table = self.waits.lock();
        table.pending(self, |slot, seq| {
            self.slots
                .get(slot)
                .is_some_and(|s| seq & 1 == 1 && s.read().0 == seq)
        })
    }

    /// Publishes the sim clock.
    pub(crate) fn set_virtual_time(&self, now: Duration) {
        let ns = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        self.virtual_ns.store(ns, Ordering::Relaxed);
    }

    fn virtual_time(&self) -> Duration {
        Duration::from_nanos(self.virtual_ns.load(Ordering::Relaxed))
    }

    /// Gives `node` a label for messages.
    pub(crate) fn set_label(&self, node: NodeId, label: String) {
        self.labels.lock().insert(node, label);
    }

    /// How messages name `node`.
    pub(crate) fn name_of(&self, node: NodeId) -> NodeName {
        NodeName {
            id: node,
            label: self.labels.lock().get(&node).cloned(),
        }
    }

    /// Asks the run to stop with `error` (the first request wins).
    fn abort(&self, error: RunError) {
        let mut slot = self.abort.lock();
        if slot.is_none() {
            *slot = Some(error);
        }
        self.aborting.store(true, Ordering::Release);
    }

    /// The error the watchdog stopped the run with, if it did. Cheap when it did not.
    pub(crate) fn aborted(&self) -> Option<RunError> {
        if !self.aborting.load(Ordering::Relaxed) {
            return None;
        }
        self.abort.lock().clone()
    }
}

/// What the watchdog concluded at a tick.
pub(crate) enum Verdict {
    /// Nothing wrong (yet).
    Fine,
    /// Fail the run with this error. `wait` says whether the run's thread can still see the
    /// abort and end the run itself (then its result, possibly the test's own verdict, is
    /// worth waiting a moment for), or is itself held by the bad task.
    Fail { error: RunError, wait: bool },
}

/// The watchdog's memory between ticks.
pub(crate) struct Watch {
    name: String,
    seed: u64,
    executor: Executor,
    stuck_after: Duration,
    deadlock_after: Duration,
    stalled_after: Duration,
    /// Per slot: the counter last seen, and when it was first seen.
    seen: Vec<(u64, Duration)>,
    /// The sim clock last seen, when it was first seen, and the sim thread's poll counter then.
    clock: (Duration, Duration, u64),
    /// Samples of which node's task was being polled while the sim clock stood still.
    samples: BTreeMap<NodeId, u64>,
    /// Real mode: the longest poll of a worker seen so far that lasted `deadlock_after` or more.
    longest: Option<(NodeId, Duration)>,
    last_tick: Duration,
}

/// A poll the watchdog reports as stuck: its slot, how long it has run, whether it is inside a
/// call into another node's code, and the window it passed.
#[derive(Clone, Copy)]
struct Reported {
    slot: usize,
    held: Duration,
    call: bool,
    window: Duration,
}

/// Ticks longer than this (beyond the planned tick) mean the watchdog itself was not running
/// (the process was stopped, or the machine badly overloaded): what it saw before says nothing
/// about the time in between, so it starts watching afresh.
const PAUSED: Duration = Duration::from_millis(500);

/// While the sim clock stands still, polls that take at least this long on average (wall
/// time) are a task that blocks its thread a while in each poll (then yields); quicker ones are
/// a task that keeps running without waiting for time. An honest poll takes microseconds; a
/// poll that sleeps on the real clock, or waits on a blocking lock, takes milliseconds.
pub(crate) const BLOCKING_POLL: Duration = Duration::from_millis(1);

/// How long, at the end of a real run, the watchdog waits for a worker's poll that is still
/// running to return before it reports the task as holding its thread. An honest poll returns
/// in microseconds; this is slack for a loaded machine.
pub(crate) const END_GRACE: Duration = Duration::from_secs(1);

impl Watch {
    /// A watchdog for a run of `config`; `now` is the wall time since the watchdog's start.
    pub(crate) fn new(config: &RunConfig, monitor: &Monitor, now: Duration) -> Self {
        Watch {
            name: config.name.clone(),
            seed: config.seed,
            executor: config.executor,
            stuck_after: config.stuck_after,
            deadlock_after: config.deadlock_window(),
            stalled_after: config.stalled_after,
            seen: monitor.slots.iter().map(|s| (s.read().0, now)).collect(),
            clock: (monitor.virtual_time(), now, monitor.slots[0].read().0),
            samples: BTreeMap::new(),
            longest: None,
            last_tick: now,
        }
    }

    fn sim(&self) -> bool {
        self.executor == Executor::Sim
    }

    /// How often to look: often enough that a problem is reported soon after its window, and
    /// rarely enough to cost nothing.
    pub(crate) fn tick(config: &RunConfig) -> Duration {
        (config
            .stuck_after
            .min(config.stalled_after)
            .min(config.deadlock_window())
            / 5)
        .clamp(Duration::from_millis(10), Duration::from_millis(250))
    }

    /// Whether the poll running in slot `i` (counter `seq`, of `node`) must return within the
    /// deadlock window rather than the outer one (see the module documentation).
    fn must_be_prompt(
        &self,
        monitor: &Monitor,
        i: usize,
        seq: u64,
        node: NodeId,
        call: bool,
    ) -> bool {
        (self.sim() && node != NodeId::ROOT) || call || monitor.waits().begun_in(i, seq)
    }

    /// Every poll running now, the one in slot `first` first, with how long each has run.
    fn held_polls(&self, monitor: &Monitor, first: usize, now: Duration) -> Vec<HeldPoll> {
        let mut polls = Vec::new();
        let order = std::iter::once(first).chain((0..monitor.slots.len()).filter(|&i| i != first));
        for i in order {
            let (seq, node) = monitor.slots[i].read();
            let Some(node) = node else { continue };
            let (last, since) = self.seen[i];
            polls.push(HeldPoll {
                node: monitor.name_of(node),
                held: if last == seq {
                    now.saturating_sub(since)
                } else {
                    Duration::ZERO
                },
                call: monitor.slots[i].current_call().map(|(callee, what)| Call {
                    callee: monitor.name_of(callee),
                    what,
                }),
            });
        }
        polls
    }

    /// Looks at the run once; `now` is the wall time since the watchdog's start.
    pub(crate) fn check(&mut self, monitor: &Monitor, now: Duration, tick: Duration) -> Verdict {
        if now.saturating_sub(self.last_tick) > tick + PAUSED {
            for (i, slot) in monitor.slots.iter().enumerate() {
                self.seen[i] = (slot.read().0, now);
            }
            self.clock = (monitor.virtual_time(), now, monitor.slots[0].read().0);
            self.samples.clear();
            self.last_tick = now;
            return Verdict::Fine;
        }
        self.last_tick = now;

        // Polls that have not returned for their window; the best one to report is the one
        // inside a call (it explains the others), else the one held longest.
        let mut moved_main = false;
        let mut report: Option<Reported> = None;
        for (i, slot) in monitor.slots.iter().enumerate() {
            let (seq, node) = slot.read();
            if slot.is_unwatched() {
                // The harness's own long work: as good as a poll that moved, and a clock that
                // stands still meanwhile is not a stall.
                self.seen[i] = (seq, now);
                if i == 0 {
                    self.clock = (monitor.virtual_time(), now, seq);
                    self.samples.clear();
                }
                continue;
            }
            let (last, since) = self.seen[i];
            if seq != last {
                self.seen[i] = (seq, now);
                moved_main |= i == 0;
                continue;
            }
            let held = now.saturating_sub(since);
            let call = node.is_some() && slot.current_call().is_some();
            // In sim mode the run's thread is never idle for long (time jumps), so a counter
            // that stands still is stuck even between polls; a real worker or a real test
            // body may wait for as long as it likes between polls.
            let window = match node {
                Some(node) if held >= self.deadlock_after => {
                    if !self.sim() && i > 0 && self.longest.is_none_or(|(_, l)| held > l) {
                        self.longest = Some((node, held));
                    }
                    if self.must_be_prompt(monitor, i, seq, node, call) {
                        self.deadlock_after
                    } else {
                        self.stuck_after
                    }
                }
                Some(_) => self.stuck_after,
                None if self.sim() && i == 0 => self.stuck_after,
                None => continue,
            };
            if held >= window && report.is_none_or(|r| (call, held) > (r.call, r.held)) {
                report = Some(Reported {
                    slot: i,
                    held,
                    call,
                    window,
                });
            }
        }
        if let Some(r) = report {
            let node = monitor.slots[r.slot].read().1.map(|n| monitor.name_of(n));
            let error = RunError::Stuck {
                name: self.name.clone(),
                seed: self.seed,
                wall: r.window,
                node,
                executor: self.executor,
                polls: self.held_polls(monitor, r.slot, now).into(),
                waits: monitor.pending_waits().into(),
            };
            // A stuck real worker leaves the run's thread free to see the abort.
            let wait = !self.sim() && r.slot != 0;
            monitor.abort(error.clone());
            return Verdict::Fail { error, wait };
        }

        // The sim clock standing still while polls go on.
        if self.sim() {
            let clock = monitor.virtual_time();
            let (seq, polling) = monitor.slots[0].read();
            if clock != self.clock.0 {
                self.clock = (clock, now, seq);
                self.samples.clear();
            } else {
                if let Some(node) = polling {
                    *self.samples.entry(node).or_insert(0) += 1;
                }
                let stood = now.saturating_sub(self.clock.1);
                if moved_main && stood >= self.stalled_after {
                    // The node sampled most often; the smallest id among equals.
                    let busiest = self
                        .samples
                        .iter()
                        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                        .map(|(node, _)| monitor.name_of(*node));
                    let polls = seq.saturating_sub(self.clock.2) / 2;
                    let quick = polls > 0
                        && stood.as_nanos() / u128::from(polls) < BLOCKING_POLL.as_nanos();
                    let error = if quick {
                        RunError::BusyLoop {
                            name: self.name.clone(),
                            seed: self.seed,
                            at: clock,
                            polls,
                            node: busiest,
                        }
                    } else {
                        RunError::TimeStalled {
                            name: self.name.clone(),
                            seed: self.seed,
                            at: clock,
                            wall: self.stalled_after,
                            busiest,
                        }
                    };
                    monitor.abort(error.clone());
                    return Verdict::Fail { error, wait: true };
                }
            }
        }
        Verdict::Fine
    }

    /// The error of a real run still going [`RunConfig::stuck_after`] after its time limit.
    pub(crate) fn overdue(&self, monitor: &Monitor, now: Duration) -> RunError {
        let first = (1..monitor.slots.len())
            .find(|&i| monitor.slots[i].read().1.is_some())
            .unwrap_or(0);
        RunError::Stuck {
            name: self.name.clone(),
            seed: self.seed,
            wall: self.stuck_after,
            node: None,
            executor: self.executor,
            polls: self.held_polls(monitor, first, now).into(),
            waits: monitor.pending_waits().into(),
        }
    }

    /// At the end of a real run: a task that held a worker thread in one poll, for the deadlock
    /// window during the run or still when the test ended (after [`END_GRACE`] for it to
    /// return). `clock` gives the wall time since the watchdog's start; `pause` waits a moment.
    pub(crate) fn finish(
        &mut self,
        monitor: &Monitor,
        clock: impl Fn() -> Duration,
        pause: impl Fn(),
    ) -> Option<RunError> {
        if self.sim() {
            return None;
        }
        let start = clock();
        let running = |monitor: &Monitor| -> Vec<(usize, u64, NodeId)> {
            (1..monitor.slots.len())
                .filter_map(|i| {
                    let (seq, node) = monitor.slots[i].read();
                    node.map(|node| (i, seq, node))
                })
                .collect()
        };
        let at_end = running(monitor);
        let mut still = at_end.clone();
        while !still.is_empty() && clock().saturating_sub(start) < END_GRACE {
            pause();
            let now = running(monitor);
            still.retain(|poll| now.contains(poll));
        }
        let now = clock();
        let held_at_end = still
            .iter()
            .map(|&(i, seq, node)| {
                let (last, since) = self.seen[i];
                let since = if last == seq { since.min(start) } else { start };
                (node, now.saturating_sub(since))
            })
            .max_by_key(|&(node, held)| (held, std::cmp::Reverse(node)));
        let (node, held, at_end) = match (held_at_end, self.longest) {
            (Some((node, held)), _) => (node, held, true),
            (None, Some((node, held))) => (node, held, false),
            (None, None) => return None,
        };
        Some(RunError::HeldThread {
            name: self.name.clone(),
            seed: self.seed,
            node: monitor.name_of(node),
            held,
            at_end,
        })
    }
}
