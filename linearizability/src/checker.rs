//! The check: split the history into partitions, search each (in parallel when there are
//! several), and put the answers together.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::history::{validate, HistoryError, Operation};
use crate::model::Model;
use crate::report::{self, Report};
use crate::search::{End, Found, Halt, Interval, Progress, Search, Stepper};
use crate::stepper::{PartStepper, WholeStepper};

/// The answer of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Some order of the operations, each taking effect at one instant between its call and
    /// return, explains every output.
    Linearizable,
    /// No such order exists.
    NotLinearizable,
    /// A limit (time or steps) ran out before the search had an answer.
    Unknown,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Linearizable => "linearizable",
            Verdict::NotLinearizable => "not linearizable",
            Verdict::Unknown => "unknown",
        })
    }
}

/// Which limit ran out when the verdict is [`Verdict::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// The wall-clock time limit ([`Checker::time_limit`]).
    Time,
    /// The step budget ([`Checker::step_budget`]).
    Steps,
    /// The memory limit ([`Checker::memory_limit`]).
    Memory,
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Limit::Time => "the time limit",
            Limit::Steps => "the step budget",
            Limit::Memory => "the memory limit",
        })
    }
}

/// Checks histories against a model. Built with the defaults of [`Checker::new`] and changed
/// with its setters:
///
/// ```
/// use std::time::Duration;
/// use linearizability::models::{KvInput, KvModel, KvOutput};
/// use linearizability::{Checker, Operation, Verdict};
///
/// let history = vec![
///     Operation::new(0, KvInput::put("k", "a"), 0, KvOutput::default(), 10),
///     Operation::new(1, KvInput::get("k"), 5, KvOutput::value("a"), 15),
/// ];
/// let result = Checker::new(&KvModel)
///     .time_limit(Duration::from_secs(1)) // "unknown" after one second of search
///     .step_budget(1_000_000)            // or after a million steps in one partition
///     .threads(1)                        // on this thread
///     .check(&history)?;
/// assert_eq!(result.verdict(), Verdict::Linearizable);
/// # Ok::<(), linearizability::HistoryError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Checker<'m, M> {
    model: &'m M,
    time_limit: Option<Duration>,
    step_budget: Option<u64>,
    partition: bool,
    threads: Option<usize>,
    all_partitions: bool,
    memory_limit: usize,
}

/// The default of [`Checker::memory_limit`]: 1 GiB per partition.
pub const DEFAULT_MEMORY_LIMIT: usize = 1 << 30;

impl<'m, M: Model> Checker<'m, M> {
    /// A checker for `model`: no time limit, no step budget, per-partition checking, one
    /// thread per core, stopping at the first partition (in key order) that is not
    /// linearizable.
    pub fn new(model: &'m M) -> Self {
        Checker {
            model,
            time_limit: None,
            step_budget: None,
            partition: true,
            threads: None,
            all_partitions: false,
            memory_limit: DEFAULT_MEMORY_LIMIT,
        }
    }

    /// Answer [`Verdict::Unknown`] (unless a violation was already found) once `limit` of wall
    /// time has passed since the check started. Every partition's search stops within a
    /// thousand steps of the limit. The answer then depends on the machine's speed; for an
    /// answer that replays exactly, use [`Checker::step_budget`].
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = Some(limit);
        self
    }

    /// Let each partition's search take at most `steps` steps (a step visits one call or
    /// return; a modern core takes tens of millions a second on the key/value model). A
    /// partition that needs more is [`Verdict::Unknown`]. The answer, the steps taken and the
    /// report are functions of the history alone, whatever the threads and the machine,
    /// so a check inside a seeded simulation replays exactly. A check takes at most
    /// `steps` × partitions steps.
    pub fn step_budget(mut self, steps: u64) -> Self {
        self.step_budget = Some(steps);
        self
    }

    /// Let each partition's search keep at most about `bytes` of configurations it has seen
    /// (its cache: a bit set and a state each, not counting memory the states share). A
    /// partition that needs more is [`Verdict::Unknown`]. Like the step budget, this limit
    /// gives the same answer on every machine. Default: [`DEFAULT_MEMORY_LIMIT`] (1 GiB);
    /// the search grows by some hundreds of megabytes a second on a hard history.
    pub fn memory_limit(mut self, bytes: usize) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// Check each partition (key, see [`Model::partition_key`]) on its own (`true`, the
    /// default: P-compositionality), or the whole history at once against the product of
    /// the keys' states (`false`: exponentially slower on big histories; for comparison and
    /// testing).
    pub fn partition(mut self, on: bool) -> Self {
        self.partition = on;
        self
    }

    /// Search at most `threads` partitions at once (at least 1; the default is the number
    /// of cores). With 1, the check runs on the calling thread.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads.max(1));
        self
    }

    /// Check every partition even after one is found not linearizable (for a picture of
    /// every key). By default the check stops at the first such partition in key order, and
    /// the result holds the partitions up to it.
    pub fn all_partitions(mut self, on: bool) -> Self {
        self.all_partitions = on;
        self
    }

    /// Checks `history`: whether some order of its operations, each taking effect at one
    /// instant between its call and its return (or, for an unknown outcome, at any time after
    /// its call or never), explains every output. Fails only when the history itself is
    /// malformed (a return before its call).
    pub fn check<'h>(
        &self,
        history: &'h [Operation<M::Input, M::Output>],
    ) -> Result<CheckResult<'h, 'm, M>, HistoryError>
    where
        M: Sync,
        M::Input: Sync,
        M::Output: Sync,
        M::State: Send,
    {
        validate(history)?;
        let deadline = self.time_limit.map(|limit| now() + limit);
        let budget = self.step_budget.unwrap_or(u64::MAX);

        let parts = self.partitions(history);
        let whole = !self.partition && parts.len() == 1 && {
            let first = parts[0]
                .1
                .first()
                .map(|&i| self.model.partition_key(&history[i].input));
            parts[0]
                .1
                .iter()
                .any(|&i| Some(self.model.partition_key(&history[i].input)) != first)
        };

        let intervals = |ops: &[usize]| -> Vec<Interval> {
            ops.iter()
                .map(|&i| Interval {
                    call: history[i].call,
                    ret: history[i].ret(),
                })
                .collect()
        };
        let plan = Plan {
            budget,
            deadline,
            all_partitions: self.all_partitions,
            threads: self
                .threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
                .min(parts.len())
                .max(1),
        };
        let found = if whole {
            let searches = parts
                .iter()
                .map(|(_, ops)| {
                    Search::new(
                        WholeStepper::new(self.model, history, ops),
                        intervals(ops),
                        self.memory_limit,
                    )
                })
                .collect();
            drive(searches, &plan)
        } else {
            let searches = parts
                .iter()
                .map(|(_, ops)| {
                    let stepper = PartStepper {
                        model: self.model,
                        history,
                        ops,
                    };
                    Search::new(stepper, intervals(ops), self.memory_limit)
                })
                .collect();
            drive(searches, &plan)
        };

        Ok(assemble(
            self.model,
            history,
            parts,
            found,
            whole,
            self.all_partitions,
        ))
    }

    /// The partitions: (key, history indices in history order), sorted by key.
    fn partitions(&self, history: &[Operation<M::Input, M::Output>]) -> Vec<(String, Vec<usize>)> {
        if history.is_empty() {
            return Vec::new();
        }
        if !self.partition {
            return vec![(String::new(), (0..history.len()).collect())];
        }
        let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, op) in history.iter().enumerate() {
            let key = self.model.partition_key(&op.input);
            match by_key.get_mut(key.as_ref()) {
                Some(ops) => ops.push(i),
                None => {
                    by_key.insert(key.into_owned(), vec![i]);
                }
            }
        }
        by_key.into_iter().collect()
    }
}

/// How to run the partitions' searches.
struct Plan {
    budget: u64,
    deadline: Option<Instant>,
    all_partitions: bool,
    threads: usize,
}

/// Steps a search takes before the next one in line gets its turn. Searches take turns so
/// that one hard partition cannot hold back the others (one of which may be an easy
/// violation); a slice is well under a millisecond.
const SLICE: u64 = 1 << 14;

/// What the workers share.
struct Board<T: Stepper> {
    /// Searches waiting for their next slice, in turn order, with their partition index.
    queue: Mutex<VecDeque<(usize, Search<T>)>>,
    /// Finished searches' answers, by partition index.
    found: Mutex<Vec<Option<Found>>>,
    /// The violation proved in the fewest steps so far (steps, partition index).
    best: Mutex<Option<(u64, usize)>>,
    timed_out: AtomicBool,
}

/// Runs every partition's search, taking turns of [`SLICE`] steps, on `plan.threads`
/// threads. Unless every partition is wanted, a search stops once it has taken as many steps
/// as the best violation found so far took: it can no longer be the first violation.
/// Which partitions end how is therefore a function of the history (and the budget), not of
/// the threads' timing, as long as no time limit runs out.
fn drive<T>(searches: Vec<Search<T>>, plan: &Plan) -> Vec<Option<Found>>
where
    T: Stepper + Send,
    T::State: Send,
{
    let count = searches.len();
    let board = Board {
        queue: Mutex::new(searches.into_iter().enumerate().collect()),
        found: Mutex::new((0..count).map(|_| None).collect()),
        best: Mutex::new(None),
        timed_out: AtomicBool::new(false),
    };
    if plan.threads <= 1 {
        work(&board, plan);
    } else {
        // Scoped worker threads: pure computation, joined before the check returns.
        std::thread::scope(|scope| {
            for _ in 0..plan.threads {
                scope.spawn(|| work(&board, plan));
            }
        });
    }
    board.found.into_inner().unwrap_or_else(|e| e.into_inner())
}

fn lock<X>(mutex: &Mutex<X>) -> std::sync::MutexGuard<'_, X> {
    // A panic in a model's step ends the check anyway (the scope re-raises it).
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// One worker: takes the next search in line, runs a slice of it, puts it back.
fn work<T: Stepper>(board: &Board<T>, plan: &Plan) {
    loop {
        let Some((index, mut search)) = lock(&board.queue).pop_front() else {
            return;
        };
        let best = if plan.all_partitions {
            None
        } else {
            *lock(&board.best)
        };
        let cap = best.map_or(u64::MAX, |(steps, _)| steps);
        if search.steps() >= cap {
            // Cannot be the first violation any more.
            search.halt(Halt::Cancelled);
        } else if board.timed_out.load(Ordering::Relaxed) {
            search.halt(Halt::Time);
        } else {
            let until = search
                .steps()
                .saturating_add(SLICE)
                .min(plan.budget)
                .min(cap);
            let mut poll = || {
                if board.timed_out.load(Ordering::Relaxed) {
                    return Some(Halt::Time);
                }
                if plan.deadline.is_some_and(|deadline| now() >= deadline) {
                    board.timed_out.store(true, Ordering::Relaxed);
                    return Some(Halt::Time);
                }
                None
            };
            if search.run(until, &mut poll) == Progress::Paused {
                if search.steps() >= plan.budget {
                    search.halt(Halt::Budget);
                } else if search.steps() >= cap {
                    search.halt(Halt::Cancelled);
                } else {
                    lock(&board.queue).push_back((index, search));
                    continue;
                }
            }
        }
        if search.end() == Some(End::NotLinearizable) {
            let mut best = lock(&board.best);
            let this = (search.steps(), index);
            if best.is_none_or(|b| this < b) {
                *best = Some(this);
            }
        }
        lock(&board.found)[index] = Some(search.found());
    }
}

/// The wall clock, for the time limit only: the one thing a time limit is about. (Checks
/// that must replay exactly use the step budget instead.)
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

fn assemble<'h, 'm, M: Model>(
    model: &'m M,
    history: &'h [Operation<M::Input, M::Output>],
    parts: Vec<(String, Vec<usize>)>,
    found: Vec<Option<Found>>,
    whole: bool,
    all_partitions: bool,
) -> CheckResult<'h, 'm, M> {
    // The first violation: the one proved in the fewest steps (then the lowest key). Unless
    // every partition was wanted, keep it and the partitions decided before it (in steps,
    // then key order): exactly those whose answer does not depend on timing.
    let rank = |i: usize| found[i].as_ref().map(|f| (f.steps, i));
    let first = (0..found.len())
        .filter(|&i| {
            found[i]
                .as_ref()
                .is_some_and(|f| f.end == End::NotLinearizable)
        })
        .filter_map(rank)
        .min();
    let keep = |i: usize| -> bool {
        match (all_partitions, first) {
            (false, Some(first)) => {
                let decided = found[i].as_ref().is_some_and(|f| {
                    matches!(
                        f.end,
                        End::Linearizable
                            | End::NotLinearizable
                            | End::Halted(Halt::Budget | Halt::Memory)
                    )
                });
                rank(i) == Some(first) || (decided && rank(i) < Some(first))
            }
            _ => true,
        }
    };
    let kept: Vec<bool> = (0..found.len()).map(keep).collect();
    let mut partitions = Vec::new();
    for (((key, operations), found), kept) in parts.into_iter().zip(found).zip(kept) {
        if !kept {
            continue;
        }
        let (verdict, limit, steps, longest) = match found {
            Some(found) => {
                let (verdict, limit) = match found.end {
                    End::Linearizable => (Verdict::Linearizable, None),
                    End::NotLinearizable => (Verdict::NotLinearizable, None),
                    End::Halted(Halt::Budget) => (Verdict::Unknown, Some(Limit::Steps)),
                    End::Halted(Halt::Memory) => (Verdict::Unknown, Some(Limit::Memory)),
                    // Cancelled searches are never kept (they come after the first
                    // violation); counted as the time limit all the same.
                    End::Halted(Halt::Time | Halt::Cancelled) => {
                        (Verdict::Unknown, Some(Limit::Time))
                    }
                };
                (verdict, limit, found.steps, found.longest)
            }
            // Never finished (not reachable: every search ends with an answer or a halt).
            None => (Verdict::Unknown, Some(Limit::Time), 0, Vec::new()),
        };
        let linearization = longest.iter().map(|&op| operations[op as usize]).collect();
        partitions.push(PartitionResult {
            key,
            verdict,
            limit,
            steps,
            operations,
            linearization,
        });
    }
    let verdict = if partitions
        .iter()
        .any(|p| p.verdict == Verdict::NotLinearizable)
    {
        Verdict::NotLinearizable
    } else if partitions.iter().any(|p| p.verdict == Verdict::Unknown) {
        Verdict::Unknown
    } else {
        Verdict::Linearizable
    };
    let limit = if verdict == Verdict::Unknown {
        partitions.iter().find_map(|p| p.limit)
    } else {
        None
    };
    CheckResult {
        model,
        history,
        verdict,
        limit,
        partitions,
        whole,
    }
}

/// What the check found about one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionResult {
    /// The partition's key ([`Model::partition_key`]); `""` for a model with one partition,
    /// or when partitioning is off.
    pub key: String,
    /// This partition's answer.
    pub verdict: Verdict,
    /// Which limit ran out, when the answer is unknown.
    pub limit: Option<Limit>,
    /// Search steps taken.
    pub steps: u64,
    /// The partition's operations: indices into the history, in history order.
    pub operations: Vec<usize>,
    /// Indices into the history, in the order they took effect: the whole linearization when
    /// linearizable; otherwise the longest linearizable prefix the search found (for a
    /// partition that is not linearizable, every operation that could come next after it is
    /// rejected by the model). Operations with unknown outcomes that never took effect are
    /// not in it.
    pub linearization: Vec<usize>,
}

/// The result of [`Checker::check`]: the verdict, what was found per partition, and
/// [`CheckResult::report`] to explain it.
#[derive(Debug)]
pub struct CheckResult<'h, 'm, M: Model> {
    model: &'m M,
    history: &'h [Operation<M::Input, M::Output>],
    verdict: Verdict,
    limit: Option<Limit>,
    partitions: Vec<PartitionResult>,
    whole: bool,
}

impl<M: Model> CheckResult<'_, '_, M> {
    /// The answer for the whole history: not linearizable when some partition is not;
    /// otherwise unknown when a limit ran out in some partition; otherwise linearizable.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// Whether the history is linearizable (false for unknown).
    pub fn is_linearizable(&self) -> bool {
        self.verdict == Verdict::Linearizable
    }

    /// Which limit ran out, when the verdict is unknown.
    pub fn limit(&self) -> Option<Limit> {
        self.limit
    }

    /// What was found per partition, sorted by key. After a partition that is not
    /// linearizable, the later ones are left out unless [`Checker::all_partitions`] was set.
    pub fn partitions(&self) -> &[PartitionResult] {
        &self.partitions
    }

    /// Search steps taken in all.
    pub fn steps(&self) -> u64 {
        self.partitions.iter().map(|p| p.steps).sum()
    }

    /// The history that was checked (for a picture of it: the operations of partitions left
    /// out after a violation are only here).
    pub fn history(&self) -> &[Operation<M::Input, M::Output>] {
        self.history
    }

    /// The model the history was checked against (to describe operations and states).
    pub fn model(&self) -> &M {
        self.model
    }

    /// The first partition (in key order) that is not linearizable.
    pub fn violation(&self) -> Option<&PartitionResult> {
        self.partitions
            .iter()
            .find(|p| p.verdict == Verdict::NotLinearizable)
    }

    /// The check explained as plain data (descriptions from the model, times from the
    /// history): per partition its operations, the linearization (or longest linearizable
    /// prefix) with its points and the states before and after each operation, and the
    /// operation that could not be placed. See [`Report`].
    pub fn report(&self) -> Report {
        report::build(
            self.model,
            self.history,
            self.verdict,
            self.limit,
            &self.partitions,
            self.whole,
        )
    }
}
