//! What the watchdog sees of a run, and the watchdog itself.
//!
//! A run executes on threads that a bad task can take over for good (a loop that never awaits,
//! `std::thread::sleep`, a lock taken twice). The watchdog runs on the caller's thread, which no
//! task can block, and reads what the run's threads publish here:
//!
//! - one [`PollSlot`] per thread that polls tasks (the sim thread; in real mode the run's thread
//!   for the test body and one per worker): which node's task is being polled, and a counter
//!   that moves at every poll, so a poll that does not return is seen within a tick;
//! - in sim mode, the virtual clock, so a run whose clock stands still while its tasks keep
//!   being polled (a task that waits on the real clock) is seen too;
//! - the nodes' labels, so every message names a peer as the logs do (`S2`, not `node 3`).
//!
//! The run's threads only store to atomics here (no lock, no clock read per poll). The watchdog
//! asks a run to stop through [`Monitor::abort`], which the executors check between polls.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::runner::RunError;
use super::{NodeId, NodeName, RunConfig};

/// What one polling thread is doing. Written only by its own thread.
pub(crate) struct PollSlot {
    /// Odd while a poll runs; moves by one when a poll starts and when it ends.
    seq: AtomicU64,
    /// The node of the task being polled (meaningful while `seq` is odd).
    node: AtomicU64,
}

impl PollSlot {
    fn new() -> Self {
        PollSlot {
            seq: AtomicU64::new(0),
            node: AtomicU64::new(0),
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

/// The state a run shares with its watchdog.
pub(crate) struct Monitor {
    /// Slot 0: the run's own thread (in sim mode every poll; in real mode the test body).
    /// Slots 1..: the real executor's workers.
    slots: Box<[PollSlot]>,
    /// The sim clock in nanoseconds, stored whenever it moves.
    virtual_ns: AtomicU64,
    labels: Mutex<BTreeMap<NodeId, String>>,
    aborting: AtomicBool,
    abort: Mutex<Option<RunError>>,
}

impl Monitor {
    /// A monitor with one slot for the run's thread and one per real worker.
    pub(crate) fn new(config: &RunConfig) -> Self {
        let slots = match config.executor {
            super::Executor::Sim => 1,
            super::Executor::Real => 1 + config.workers,
        };
        Monitor {
            slots: (0..slots).map(|_| PollSlot::new()).collect(),
            virtual_ns: AtomicU64::new(0),
            labels: Mutex::new(BTreeMap::new()),
            aborting: AtomicBool::new(false),
            abort: Mutex::new(None),
        }
    }

    /// The slot of polling thread `i` (0: the run's thread; `1 + w`: real worker `w`).
    pub(crate) fn slot(&self, i: usize) -> &PollSlot {
        &self.slots[i]
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
    sim: bool,
    stuck_after: Duration,
    stalled_after: Duration,
    /// Per slot: the counter last seen, and when it was first seen.
    seen: Vec<(u64, Duration)>,
    /// The sim clock last seen, and when it was first seen.
    clock: (Duration, Duration),
    /// Samples of which node's task was being polled while the sim clock stood still.
    samples: BTreeMap<NodeId, u64>,
    last_tick: Duration,
}

/// Ticks longer than this (beyond the planned tick) mean the watchdog itself was not running
/// (the process was stopped, or the machine badly overloaded): what it saw before says nothing
/// about the time in between, so it starts watching afresh.
const PAUSED: Duration = Duration::from_millis(500);

impl Watch {
    /// A watchdog for a run of `config`; `now` is the wall time since the watchdog's start.
    pub(crate) fn new(config: &RunConfig, monitor: &Monitor, now: Duration) -> Self {
        Watch {
            name: config.name.clone(),
            seed: config.seed,
            sim: config.executor == super::Executor::Sim,
            stuck_after: config.stuck_after,
            stalled_after: config.stalled_after,
            seen: monitor.slots.iter().map(|s| (s.read().0, now)).collect(),
            clock: (monitor.virtual_time(), now),
            samples: BTreeMap::new(),
            last_tick: now,
        }
    }

    /// How often to look: often enough that a problem is reported soon after its window, and
    /// rarely enough to cost nothing.
    pub(crate) fn tick(config: &RunConfig) -> Duration {
        (config.stuck_after.min(config.stalled_after) / 5)
            .clamp(Duration::from_millis(10), Duration::from_millis(250))
    }

    /// Looks at the run once; `now` is the wall time since the watchdog's start.
    pub(crate) fn check(&mut self, monitor: &Monitor, now: Duration, tick: Duration) -> Verdict {
        if now.saturating_sub(self.last_tick) > tick + PAUSED {
            for (i, slot) in monitor.slots.iter().enumerate() {
                self.seen[i] = (slot.read().0, now);
            }
            self.clock = (monitor.virtual_time(), now);
            self.samples.clear();
            self.last_tick = now;
            return Verdict::Fine;
        }
        self.last_tick = now;

        // A poll that has not returned for the whole window.
        let mut moved_main = false;
        for (i, slot) in monitor.slots.iter().enumerate() {
            let (seq, node) = slot.read();
            let (last, since) = &mut self.seen[i];
            if seq != *last {
                *last = seq;
                *since = now;
                moved_main |= i == 0;
                continue;
            }
            // In sim mode the run's thread is never idle for long (time jumps), so a counter
            // that stands still is stuck even between polls; a real worker or a real test
            // body may wait for as long as it likes between polls.
            let stuck = node.is_some() || (self.sim && i == 0);
            if stuck && now.saturating_sub(*since) >= self.stuck_after {
                let node = node.map(|n| monitor.name_of(n));
                let error = RunError::Stuck {
                    name: self.name.clone(),
                    seed: self.seed,
                    wall: self.stuck_after,
                    node,
                };
                // A stuck real worker leaves the run's thread free to see the abort.
                let wait = !self.sim && i != 0;
                monitor.abort(error.clone());
                return Verdict::Fail { error, wait };
            }
        }

        // The sim clock standing still while polls go on: a task waits on the real clock.
        if self.sim {
            let clock = monitor.virtual_time();
            if clock != self.clock.0 {
                self.clock = (clock, now);
                self.samples.clear();
            } else {
                if let (_, Some(node)) = monitor.slots[0].read() {
                    *self.samples.entry(node).or_insert(0) += 1;
                }
                if moved_main && now.saturating_sub(self.clock.1) >= self.stalled_after {
                    // The node sampled most often; the smallest id among equals.
                    let busiest = self
                        .samples
                        .iter()
                        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                        .map(|(node, _)| monitor.name_of(*node));
                    let error = RunError::TimeStalled {
                        name: self.name.clone(),
                        seed: self.seed,
                        at: clock,
                        wall: self.stalled_after,
                        busiest,
                    };
                    monitor.abort(error.clone());
                    return Verdict::Fail { error, wait: true };
                }
            }
        }
        Verdict::Fine
    }
}
