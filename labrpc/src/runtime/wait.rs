//! Recorded waits: what tasks are waiting on, so that a failure message can say it.
//!
//! A task that awaits a [`Notify`](super::Notify), or holds a [`Waiting`] guard, is listed in
//! the run's table of waits until the wait ends. Nothing reads the table while a run goes well:
//! the watchdog reads it when it reports a run stuck or deadlocked ([`RunError`]), to say which
//! peer waits on what, and whether a stuck poll is itself blocked in one of these waits (a task
//! that blocks its thread with `futures::executor::block_on` on an await of its own).
//!
//! Recording costs one uncontended lock per wait (not per poll), and changes nothing the
//! scheduler does: a sim run replays the same with or without it.
//!
//! [`RunError`]: super::RunError

use std::sync::Arc;

use super::context::try_with_context;
use super::monitor::Monitor;
use super::{NodeId, NodeName};

/// What a recorded wait is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WaitOn {
    /// A [`Notify`](super::Notify), by its name.
    Notify(&'static str),
    /// Something else, in the words given to [`waiting`].
    Other(&'static str),
}

impl std::fmt::Display for WaitOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WaitOn::Notify(name) => write!(f, "Notify {name:?}"),
            WaitOn::Other(what) => f.write_str(what),
        }
    }
}

/// A wait that was still pending when a run failed, as failure messages name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wait {
    /// The node of the waiting task.
    pub node: NodeName,
    /// What it waits for.
    pub on: WaitOn,
    /// Whether the waiting task blocks its thread in this wait: it began the wait inside the
    /// poll that has not returned, as `futures::executor::block_on` does inside a task, so no
    /// other task can run on that thread to end it.
    pub blocking: bool,
    /// How many tasks of that node wait on it the same way.
    pub tasks: usize,
}

impl std::fmt::Display for Wait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {}", self.node, self.on)?;
        match (self.blocking, self.tasks) {
            (true, _) => f.write_str(" (blocking its thread)"),
            (false, 1) => Ok(()),
            (false, n) => write!(f, " ({n} tasks)"),
        }
    }
}

/// One entry of the table.
#[derive(Clone, Copy)]
struct Entry {
    node: NodeId,
    on: WaitOn,
    /// The polling thread's slot and its poll counter when the wait began (see `monitor`).
    poll: Option<(usize, u64)>,
}

/// The run's table of pending waits: a slab, so recording and ending a wait are O(1).
#[derive(Default)]
pub(crate) struct WaitTable {
    entries: Vec<Option<Entry>>,
    free: Vec<usize>,
}

impl WaitTable {
    fn insert(&mut self, entry: Entry) -> usize {
        match self.free.pop() {
            Some(i) => {
                self.entries[i] = Some(entry);
                i
            }
            None => {
                self.entries.push(Some(entry));
                self.entries.len() - 1
            }
        }
    }

    fn remove(&mut self, i: usize) {
        if let Some(slot) = self.entries.get_mut(i) {
            if slot.take().is_some() {
                self.free.push(i);
            }
        }
    }

    /// Whether a wait began in poll `seq` of slot `slot` is pending.
    pub(crate) fn begun_in(&self, slot: usize, seq: u64) -> bool {
        self.entries
            .iter()
            .flatten()
            .any(|e| e.poll == Some((slot, seq)))
    }

    /// The pending waits, grouped per node and kind; `in_poll(slot, seq)` says whether that
    /// poll is still running.
    pub(crate) fn pending(
        &self,
        monitor: &Monitor,
        in_poll: impl Fn(usize, u64) -> bool,
    ) -> Vec<Wait> {
        let mut grouped: std::collections::BTreeMap<(NodeId, WaitOn, bool), usize> =
            std::collections::BTreeMap::new();
        for e in self.entries.iter().flatten() {
            let blocking = e.poll.is_some_and(|(slot, seq)| in_poll(slot, seq));
            *grouped.entry((e.node, e.on, !blocking)).or_insert(0) += 1;
        }
        // Blocking waits first (they are the ones that explain a stuck poll), then by node.
        let mut waits: Vec<Wait> = grouped
            .into_iter()
            .map(|((node, on, not_blocking), tasks)| Wait {
                node: monitor.name_of(node),
                on,
                blocking: !not_blocking,
                tasks,
            })
            .collect();
        waits.sort_by_key(|w| (!w.blocking, w.node.id, w.on));
        waits
    }
}

/// Records, until dropped, that the calling task waits on `on` (see [`waiting`]).
#[must_use = "the wait is recorded only while the guard lives"]
pub struct Waiting {
    recorded: Option<(Arc<Monitor>, usize)>,
}

impl std::fmt::Debug for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiting")
            .field("recorded", &self.recorded.is_some())
            .finish()
    }
}

impl Waiting {
    /// Records a wait of the current task on `on`; records nothing outside a runtime.
    pub(crate) fn on(on: WaitOn) -> Waiting {
        let recorded = try_with_context(|cx| {
            let monitor = cx.handle.monitor_arc();
            let poll = cx.slot.map(|slot| (slot, monitor.slot(slot).seq()));
            let i = monitor.waits().insert(Entry {
                node: cx.node,
                on,
                poll,
            });
            (monitor, i)
        });
        Waiting { recorded }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some((monitor, i)) = self.recorded.take() {
            monitor.waits().remove(i);
        }
    }
}

/// Records, until the returned guard drops, that the calling task waits on `what` (in words a
/// failure message can use, such as `"the service to take an ApplyMsg"`), for waits that are not
/// a [`Notify`](super::Notify) (those record themselves).
///
/// When a run is reported stuck or deadlocked, the error lists the waits still pending
/// ([`RunError::Stuck`](super::RunError::Stuck), [`RunError::Deadlock`](super::RunError::Deadlock)),
/// and says which of them a stuck poll is blocked in: a wait begun inside the poll that never
/// returned is one its thread is blocked on (`futures::executor::block_on` inside a task).
/// Outside a runtime the guard records nothing, so code that records its waits still runs
/// under any executor.
///
/// ```
/// use labrpc::runtime::{self, RunConfig};
///
/// let outcome = runtime::run(RunConfig::sim(1), || async {
///     let (tx, rx) = futures::channel::oneshot::channel::<u64>();
///     runtime::spawn(async move {
///         runtime::yield_now().await;
///         let _ = tx.send(7);
///     });
///     let _waiting = runtime::waiting("the answer from the other task");
///     rx.await.expect("the task answers")
/// })
/// .expect("the run finishes");
/// assert_eq!(outcome.value, 7);
/// ```
pub fn waiting(what: &'static str) -> Waiting {
    Waiting::on(WaitOn::Other(what))
}
