//! A check explained as plain data ([`Report`]), for messages, JSON and pictures.
//!
//! A report holds no model types: operations and states are described by the model's
//! `describe_operation` and `describe_state`, times are those of the history (the key/value
//! graders record nanoseconds of virtual time). Everything a timeline picture of the check
//! needs is here:
//!
//! - per partition (key), every operation as a bar: its client (a row), its call and return
//!   times, its description ([`OperationReport`]);
//! - the linearization, or the longest linearizable prefix when there is none, in the order
//!   the operations took effect, each with a linearization point inside its interval and the
//!   states before and after it ([`LinearizedOperation`]);
//! - for a partition that is not linearizable, the operation that could not be placed after
//!   that prefix, the state it met, and every operation that could have come next instead,
//!   all of which the model rejects in that state ([`Stuck`]).
//!
//! [`Report`]'s `Display` is the short explanation printed by the `linearizability` command.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::checker::{Limit, PartitionResult, Verdict};
use crate::history::Operation;
use crate::model::Model;
use crate::stepper::{Describe, PartStepper, WholeStepper};

/// A whole check, explained.
///
/// ```
/// use linearizability::models::{KvInput, KvModel, KvOutput};
/// use linearizability::{Checker, Operation, Verdict};
///
/// // The put finished before the get started, yet the get saw nothing.
/// let history = vec![
///     Operation::new(0, KvInput::put("k", "a"), 0, KvOutput::default(), 10),
///     Operation::new(1, KvInput::get("k"), 20, KvOutput::value(""), 30),
/// ];
/// let result = Checker::new(&KvModel).check(&history)?;
/// let report = result.report();
/// assert_eq!(report.verdict, Verdict::NotLinearizable);
/// let partition = &report.partitions[0];
/// assert_eq!(partition.key, "k");
/// // The put could take effect (point at t = 0, state "" -> "a") ...
/// assert_eq!(partition.linearization[0].index, 0);
/// assert_eq!(partition.linearization[0].state_after, "'a'");
/// // ... but then the get could not.
/// let stuck = partition.stuck.as_ref().expect("a violation has a stuck operation");
/// assert_eq!((stuck.index, stuck.state.as_str()), (1, "'a'"));
/// assert!(report.to_string().contains("get('k') -> ''"));
/// # Ok::<(), linearizability::HistoryError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The answer for the whole history.
    pub verdict: Verdict,
    /// Which limit ran out, when the answer is unknown.
    pub limit: Option<Limit>,
    /// Whether each key was checked on its own (`false`: the whole history against the
    /// product of the keys' states).
    pub partitioned: bool,
    /// Search steps taken in all.
    pub steps: u64,
    /// Every partition checked, sorted by key (after a partition that is not linearizable,
    /// later ones are left out unless the checker checked all partitions).
    pub partitions: Vec<PartitionReport>,
}

/// One partition (key), explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionReport {
    /// The key (`""` for a model with one partition, or when partitioning was off).
    pub key: String,
    /// This partition's answer.
    pub verdict: Verdict,
    /// Which limit ran out, when the answer is unknown.
    pub limit: Option<Limit>,
    /// Search steps taken.
    pub steps: u64,
    /// The partition's operations, in history order.
    pub operations: Vec<OperationReport>,
    /// When linearizable, the linearization; otherwise the longest linearizable prefix found,
    /// in the order the operations took effect. Operations whose outcome is unknown and that
    /// never took effect are not in it.
    pub linearization: Vec<LinearizedOperation>,
    /// When not linearizable: what could not be placed after the prefix.
    pub stuck: Option<Stuck>,
}

/// One operation of a partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationReport {
    /// Its index in the checked history.
    pub index: usize,
    /// Its client.
    pub client: usize,
    /// When it was called.
    pub call: u64,
    /// When it returned (`None`: its outcome is unknown).
    pub ret: Option<u64>,
    /// The model's description of it, e.g. `get('k') -> 'a'`.
    pub description: String,
}

/// One operation of a linearization (or of a linearizable prefix).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinearizedOperation {
    /// Its index in the checked history.
    pub index: usize,
    /// A linearization point: a time between its call and return at which it may have taken
    /// effect, no earlier than the previous operation's. (The earliest such time: the latest
    /// call so far in the order.)
    pub at: u64,
    /// The model's state before it took effect, described.
    pub state_before: String,
    /// The state after it, described.
    pub state_after: String,
}

/// The operation that could not be placed after the longest linearizable prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stuck {
    /// Its index in the checked history: of the operations not in the prefix, the first to
    /// return, so it must take effect before anything called after its return.
    pub index: usize,
    /// When it returned: it had to take effect by then.
    pub deadline: u64,
    /// The state after the prefix, described: the model rejects the operation in it.
    pub state: String,
    /// Every operation that could have taken effect right after the prefix (called before
    /// `deadline`, not in the prefix, and not a read-only one of unknown outcome, which may
    /// as well never happen), this one included, in history order: the model rejects each of
    /// them in `state`, so no order explains the outputs.
    pub candidates: Vec<usize>,
}

pub(crate) fn build<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    verdict: Verdict,
    limit: Option<Limit>,
    partitions: &[PartitionResult],
    whole: bool,
) -> Report {
    let partitions = partitions
        .iter()
        .map(|p| {
            if whole {
                let stepper = WholeStepper::new(model, history, &p.operations);
                explain(&stepper, model, history, p)
            } else {
                let stepper = PartStepper {
                    model,
                    history,
                    ops: &p.operations,
                };
                explain(&stepper, model, history, p)
            }
        })
        .collect::<Vec<_>>();
    Report {
        verdict,
        limit,
        partitioned: !whole,
        steps: partitions.iter().map(|p| p.steps).sum(),
        partitions,
    }
}

/// Replays a partition's linearization to describe its states, and finds where it stuck.
fn explain<M: Model, T: Describe>(
    stepper: &T,
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    p: &PartitionResult,
) -> PartitionReport {
    let operations = p
        .operations
        .iter()
        .map(|&index| {
            let op = &history[index];
            OperationReport {
                index,
                client: op.client,
                call: op.call,
                ret: op.ret(),
                description: model.describe_operation(&op.input, op.output()),
            }
        })
        .collect();

    // History index -> partition-local number, for the stepper.
    let local = |index: usize| -> u32 {
        p.operations
            .binary_search(&index)
            .map_or(u32::MAX, |i| i as u32)
    };

    let mut state = stepper.init();
    let mut linearization = Vec::with_capacity(p.linearization.len());
    let mut point = 0u64;
    for &index in &p.linearization {
        let before = stepper.describe_state(&state);
        // The search accepted this order, so every step succeeds; stop describing if not.
        let Some(next) = stepper.step(&state, local(index)) else {
            break;
        };
        state = next;
        point = point.max(history[index].call);
        linearization.push(LinearizedOperation {
            index,
            at: point,
            state_before: before,
            state_after: stepper.describe_state(&state),
        });
    }

    let stuck = if p.verdict == Verdict::NotLinearizable {
        stuck_after(stepper, model, history, p, &state, local)
    } else {
        None
    };

    PartitionReport {
        key: p.key.clone(),
        verdict: p.verdict,
        limit: p.limit,
        steps: p.steps,
        operations,
        linearization,
        stuck,
    }
}

/// After the prefix: the first operation to return among those not in it, and every
/// operation that could have gone before it.
fn stuck_after<M: Model, T: Describe>(
    stepper: &T,
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    p: &PartitionResult,
    state: &T::State,
    local: impl Fn(usize) -> u32,
) -> Option<Stuck> {
    let placed: std::collections::HashSet<usize> = p.linearization.iter().copied().collect();
    let rest: Vec<usize> = p
        .operations
        .iter()
        .copied()
        .filter(|i| !placed.contains(i))
        .collect();
    // Entry order: by time, calls before returns, then by position.
    let index = rest
        .iter()
        .copied()
        .filter_map(|i| history[i].ret().map(|ret| (ret, local(i), i)))
        .min()?
        .2;
    let deadline = history[index].ret()?;
    // Calls sort before returns at equal times, so "before the deadline" includes it. At a
    // longest prefix of a partition that is not linearizable the model rejects every one of
    // them (one it accepted would make a longer prefix); keep only those, all the same.
    // Operations of unknown outcome that are read-only are not candidates: they could only
    // ever be left out.
    let candidates = rest
        .iter()
        .copied()
        .filter(|&i| history[i].call <= deadline)
        .filter(|&i| history[i].ret().is_some() || !model.is_read_only(&history[i].input, None))
        .filter(|&i| stepper.step(state, local(i)).is_none())
        .collect();
    Some(Stuck {
        index,
        deadline,
        state: stepper.describe_state(state),
        candidates,
    })
}

impl Report {
    /// The operation report of history index `index`, if some partition holds it.
    pub fn operation(&self, index: usize) -> Option<&OperationReport> {
        self.partitions
            .iter()
            .find_map(|p| p.operations.iter().find(|op| op.index == index))
    }

    /// The first partition (in key order) that is not linearizable.
    pub fn violation(&self) -> Option<&PartitionReport> {
        self.partitions
            .iter()
            .find(|p| p.verdict == Verdict::NotLinearizable)
    }
}

fn key_name(key: &str) -> String {
    if key.is_empty() {
        "the whole history".to_string()
    } else {
        format!("partition {key:?}")
    }
}

fn times(op: &OperationReport) -> String {
    match op.ret {
        Some(ret) => format!(
            "client {}, called at {}, returned at {}",
            op.client, op.call, ret
        ),
        None => format!(
            "client {}, called at {}, outcome unknown",
            op.client, op.call
        ),
    }
}

impl fmt::Display for Report {
    /// The verdict and a short explanation: for a violation, the partition, the state after
    /// the longest linearizable prefix, and the operation that could not be placed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let operations: usize = self.partitions.iter().map(|p| p.operations.len()).sum();
        match self.verdict {
            Verdict::Linearizable => write!(
                f,
                "linearizable: {} operations in {} partition{}, {} search steps",
                operations,
                self.partitions.len(),
                if self.partitions.len() == 1 { "" } else { "s" },
                self.steps
            ),
            Verdict::Unknown => {
                let limit = self.limit.unwrap_or(Limit::Time);
                write!(
                    f,
                    "unknown: {limit} ran out after {} search steps",
                    self.steps
                )?;
                for p in self
                    .partitions
                    .iter()
                    .filter(|p| p.verdict == Verdict::Unknown)
                {
                    write!(
                        f,
                        "\n  {}: {} of {} operations placed so far",
                        key_name(&p.key),
                        p.linearization.len(),
                        p.operations.len()
                    )?;
                }
                Ok(())
            }
            Verdict::NotLinearizable => {
                write!(f, "not linearizable")?;
                let Some(p) = self.violation() else {
                    return Ok(());
                };
                write!(
                    f,
                    ": {} ({} operations)\n  the longest linearizable prefix has {} operations",
                    key_name(&p.key),
                    p.operations.len(),
                    p.linearization.len()
                )?;
                let Some(stuck) = &p.stuck else {
                    return Ok(());
                };
                let describe = |index: usize| {
                    p.operations
                        .iter()
                        .find(|op| op.index == index)
                        .map(|op| format!("{} ({})", op.description, times(op)))
                        .unwrap_or_else(|| format!("operation {index}"))
                };
                if let Some(last) = p.linearization.last() {
                    write!(f, "; the last is {}", describe(last.index))?;
                }
                write!(
                    f,
                    "\n  after it the state is {}, and this operation cannot take effect \
                     there before it returns:\n    {}",
                    stuck.state,
                    describe(stuck.index)
                )?;
                let others: Vec<usize> = stuck
                    .candidates
                    .iter()
                    .copied()
                    .filter(|&i| i != stuck.index)
                    .collect();
                if others.is_empty() {
                    write!(f, "\n  and no other operation could take effect before it")?;
                } else {
                    write!(f, "\n  nor can any other operation that could go first:")?;
                    for i in others {
                        write!(f, "\n    {}", describe(i))?;
                    }
                }
                Ok(())
            }
        }
    }
}
