//! A checked history of client calls, as the timeline page draws it: per key (partition), one
//! row per client with each operation as a bar from its call to its return, the linearization
//! (or the longest linearizable prefix) as points in time joined in the order the operations
//! took effect, the states before and after each, and the operation that could not be placed.
//!
//! Built from a check by the [`linearizability`] crate with [`History::from_check`]; a
//! key/value grader hands it to the trial's page with [`probe::history`](super::probe::history)
//! (drawn under the Raft lanes, on the same time axis), and a history on its own becomes a
//! page with [`page`](super::history_page).
//!
//! ```
//! use harness::timeline::history::{Clock, History};
//! use linearizability::models::{KvInput, KvModel, KvOutput};
//! use linearizability::{Checker, Operation, Verdict};
//!
//! // Times in nanoseconds of run time: the put returned before the get was called, and yet
//! // the get saw nothing.
//! let ops = vec![
//!     Operation::new(0, KvInput::put("k", "a"), 1_000, KvOutput::default(), 2_000),
//!     Operation::new(1, KvInput::get("k"), 3_000, KvOutput::value(""), 4_000),
//! ];
//! let result = Checker::new(&KvModel).check(&ops)?;
//! let history = History::from_check(&result, Clock::RunNanos);
//! assert_eq!(history.verdict, Verdict::NotLinearizable);
//! let key = &history.partitions[0];
//! assert_eq!(key.linearization.len(), 1); // the put took effect ...
//! assert_eq!(key.stuck.as_ref().map(|s| s.index), Some(1)); // ... the get could not
//! # Ok::<(), linearizability::HistoryError>(())
//! ```

use std::collections::BTreeMap;

use linearizability::{
    CheckResult, Limit, LinearizedOperation, Model, OperationReport, Stuck, Verdict,
};
use serde::{Deserialize, Serialize};

/// What the operations' times are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// Nanoseconds of run time (`labrpc::runtime::now().since_start()`, virtual in sim mode):
    /// the clock of the trial's other records, so the history lines up with the Raft lanes.
    /// What the key/value graders record.
    RunNanos,
    /// Positions in a sequence of call and return events (a history file without times, such
    /// as Jepsen's EDN lines): only the order means anything.
    Order,
}

/// The most characters of a state the page keeps for each operation (a key/value state is
/// the key's whole value, which appends make long): the head and the tail, the middle elided.
pub const STATE_CHARS: usize = 320;

/// The most characters the page keeps of the state the operation that could not be placed
/// met: the one state a reader must see whole, within reason.
pub const STUCK_STATE_CHARS: usize = 4000;

/// The most characters of an operation's description the page keeps.
pub const DESCRIPTION_CHARS: usize = 400;

/// A checked history, ready to draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// What the times are.
    pub clock: Clock,
    /// The check's answer.
    pub verdict: Verdict,
    /// Which limit ran out, when the answer is unknown.
    pub limit: Option<Limit>,
    /// The check's explanation in words (the `linearizability` command's).
    pub explanation: String,
    /// Every key of the history, sorted by key; those the check left out (after the first
    /// violation) with their operations only.
    pub partitions: Vec<HistoryPartition>,
}

/// One key (partition) of a [`History`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPartition {
    /// The key (`""`: the whole history, for a model with one partition).
    pub key: String,
    /// This key's answer; `None` when the check stopped before it (a violation elsewhere).
    pub verdict: Option<Verdict>,
    /// Which limit ran out, when the answer is unknown.
    pub limit: Option<Limit>,
    /// The key's operations, in history order (descriptions cut to [`DESCRIPTION_CHARS`]).
    pub operations: Vec<OperationReport>,
    /// The linearization, or the longest linearizable prefix, in the order the operations took
    /// effect, with a point in time for each and the states before and after it (cut to
    /// [`STATE_CHARS`]).
    pub linearization: Vec<LinearizedOperation>,
    /// For a key that is not linearizable: the operation that could not be placed after the
    /// prefix, and the state it met (cut to [`STUCK_STATE_CHARS`]).
    pub stuck: Option<Stuck>,
}

impl History {
    /// The picture of a check: every key of `result`'s history, with what the check found
    /// about it. `clock` says what the operations' times are.
    pub fn from_check<M: Model>(result: &CheckResult<'_, '_, M>, clock: Clock) -> History {
        let report = result.report();
        let mut partitions: Vec<HistoryPartition> = report
            .partitions
            .iter()
            .map(|p| HistoryPartition {
                key: p.key.clone(),
                verdict: Some(p.verdict),
                limit: p.limit,
                operations: p.operations.iter().map(shorten_operation).collect(),
                linearization: p
                    .linearization
                    .iter()
                    .map(|l| LinearizedOperation {
                        index: l.index,
                        at: l.at,
                        state_before: shorten(&l.state_before, STATE_CHARS),
                        state_after: shorten(&l.state_after, STATE_CHARS),
                    })
                    .collect(),
                stuck: p.stuck.as_ref().map(|s| Stuck {
                    index: s.index,
                    deadline: s.deadline,
                    state: shorten(&s.state, STUCK_STATE_CHARS),
                    candidates: s.candidates.clone(),
                }),
            })
            .collect();

        // The keys the check never reached: their operations, so every client call shows.
        let checked: usize = partitions.iter().map(|p| p.operations.len()).sum();
        let history = result.history();
        if checked < history.len() {
            let model = result.model();
            let mut seen = vec![false; history.len()];
            for p in &partitions {
                for op in &p.operations {
                    if let Some(s) = seen.get_mut(op.index) {
                        *s = true;
                    }
                }
            }
            let mut rest: BTreeMap<String, Vec<OperationReport>> = BTreeMap::new();
            for (index, op) in history.iter().enumerate() {
                if seen[index] {
                    continue;
                }
                let key = if report.partitioned {
                    model.partition_key(&op.input).into_owned()
                } else {
                    String::new()
                };
                rest.entry(key).or_default().push(OperationReport {
                    index,
                    client: op.client,
                    call: op.call,
                    ret: op.ret(),
                    description: shorten(
                        &model.describe_operation(&op.input, op.output()),
                        DESCRIPTION_CHARS,
                    ),
                });
            }
            partitions.extend(rest.into_iter().map(|(key, operations)| HistoryPartition {
                key,
                verdict: None,
                limit: None,
                operations,
                linearization: Vec::new(),
                stuck: None,
            }));
            partitions.sort_by(|a, b| a.key.cmp(&b.key));
        }

        History {
            clock,
            verdict: report.verdict,
            limit: report.limit,
            explanation: report.to_string(),
            partitions,
        }
    }

    /// The number of operations, in all keys.
    pub fn operations(&self) -> usize {
        self.partitions.iter().map(|p| p.operations.len()).sum()
    }

    /// The clients, in order.
    pub fn clients(&self) -> Vec<usize> {
        let mut clients: Vec<usize> = self
            .partitions
            .iter()
            .flat_map(|p| p.operations.iter().map(|op| op.client))
            .collect();
        clients.sort_unstable();
        clients.dedup();
        clients
    }

    /// The last time the history names (a call or a return), on its own clock.
    pub fn last_time(&self) -> u64 {
        self.partitions
            .iter()
            .flat_map(|p| p.operations.iter().map(|op| op.ret.unwrap_or(op.call)))
            .max()
            .unwrap_or(0)
    }

    /// The first key (in key order) that is not linearizable.
    pub fn violation(&self) -> Option<&HistoryPartition> {
        self.partitions
            .iter()
            .find(|p| p.verdict == Some(Verdict::NotLinearizable))
    }

    /// `time` of this history's clock in microseconds of the page's axis: run time for
    /// [`Clock::RunNanos`]; for [`Clock::Order`], event `k` is drawn at `k` milliseconds (the
    /// page labels the axis in events).
    pub fn page_micros(&self, time: u64) -> f64 {
        match self.clock {
            Clock::RunNanos => time as f64 / 1e3,
            Clock::Order => time as f64 * 1e3,
        }
    }
}

fn shorten_operation(op: &OperationReport) -> OperationReport {
    OperationReport {
        description: shorten(&op.description, DESCRIPTION_CHARS),
        ..op.clone()
    }
}

/// `text` cut to about `limit` characters: its head and tail, and how much was left out.
pub fn shorten(text: &str, limit: usize) -> String {
    let count = text.chars().count();
    if count <= limit {
        return text.to_string();
    }
    let keep = limit / 2;
    let head: String = text.chars().take(keep).collect();
    let tail: String = text.chars().skip(count - keep).collect();
    format!("{head}…[{} characters]…{tail}", count - 2 * keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use linearizability::models::{KvInput, KvModel, KvOutput};
    use linearizability::{Checker, Operation};

    #[test]
    fn long_states_keep_their_head_and_tail() {
        let text = "a".repeat(10) + &"b".repeat(100) + &"c".repeat(10);
        let short = shorten(&text, 20);
        assert!(short.starts_with("aaaaaaaaaa") && short.ends_with("cccccccccc"));
        assert!(short.contains("[100 characters]"), "{short}");
        assert_eq!(shorten("short", 20), "short");
    }

    #[test]
    fn keys_the_check_left_out_keep_their_operations() {
        // Key "a" is not linearizable; key "b" is checked after it, or not at all.
        let ops = vec![
            Operation::new(0, KvInput::put("a", "1"), 0, KvOutput::default(), 10),
            Operation::new(1, KvInput::get("a"), 20, KvOutput::value(""), 30),
            Operation::new(2, KvInput::put("b", "2"), 0, KvOutput::default(), 10),
            Operation::new(2, KvInput::get("b"), 20, KvOutput::value("2"), 30),
        ];
        let result = Checker::new(&KvModel)
            .threads(1)
            .check(&ops)
            .expect("a well-formed history");
        let history = History::from_check(&result, Clock::Order);
        assert_eq!(history.verdict, Verdict::NotLinearizable);
        let keys: Vec<&str> = history.partitions.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(history.operations(), 4);
        assert_eq!(history.clients(), [0, 1, 2]);
        let a = history.violation().expect("key a is not linearizable");
        assert_eq!(a.stuck.as_ref().map(|s| s.index), Some(1));
        assert_eq!(a.linearization[0].state_after, "'1'");
        assert_eq!(history.last_time(), 30);
    }
}
