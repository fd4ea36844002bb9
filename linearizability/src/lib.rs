//! `linearizability`: checks that a concurrent history of calls is linearizable, that is,
//! that each operation can be given one instant between its call and its return at which it
//! took effect, so that the outputs are those of the object run one operation at a time.
//!
//! ```
//! use std::time::Duration;
//! use linearizability::models::{KvInput, KvModel, KvOutput};
//! use linearizability::{Checker, Operation, Verdict};
//!
//! // (client, input, call time, output, return time), times in nanoseconds.
//! let history = vec![
//!     Operation::new(0, KvInput::put("x", "1"), 0, KvOutput::default(), 100),
//!     Operation::new(1, KvInput::get("x"), 50, KvOutput::value("1"), 150),
//!     // Returned after the get that saw "1" had returned, and yet sees "".
//!     Operation::new(2, KvInput::get("x"), 160, KvOutput::value(""), 200),
//! ];
//! let result = Checker::new(&KvModel)
//!     .step_budget(10_000_000) // deterministic "unknown": a function of the history alone
//!     .time_limit(Duration::from_secs(1))
//!     .check(&history)?;
//! assert_eq!(result.verdict(), Verdict::NotLinearizable);
//!
//! // Why, as plain data (serde) and in words.
//! let report = result.report();
//! let stuck = report.partitions[0].stuck.as_ref().expect("the operation that could not be placed");
//! assert_eq!(stuck.index, 2);
//! println!("{report}");
//! # Ok::<(), linearizability::HistoryError>(())
//! ```
//!
//! # What it does
//!
//! The search is Wing and Gong's, with Lowe's memoisation and Horn and Kroening's
//! P-compositionality, as in the Go checker porcupine that the MIT 6.824 / 6.5840 labs use:
//!
//! - a [`Model`] is the object's sequential specification: an initial state and a `step`
//!   that says which state an operation leads to given its output (or that it could not
//!   have returned that output). A [`NondeterministicModel`] may lead to several states,
//!   and is checked through [`PowerSet`];
//! - operations on different keys ([`Model::partition_key`]) never constrain each other, so
//!   each key is checked on its own, several at once on several threads;
//! - the search tries the operations that may take effect next, backtracks when an
//!   operation's return passes with the operation not yet placed, and remembers every
//!   (set of operations placed, state) pair it reached so that it never explores one twice;
//! - an operation whose outcome is unknown ([`Operation::unknown`]: a call that timed out,
//!   Jepsen's `:info`) may take effect at any time after its call, or never;
//! - beyond porcupine, two sound prunings: a read-only operation ([`Model::is_read_only`])
//!   that is possible now is placed now and never tried later, and with unknown outcomes two
//!   walks take turns (candidates in call order, and unknown outcomes last), the first to
//!   finish answering; and partitions take turns too, so one hopeless key does not hide a
//!   violation in another.
//!
//! The answer has three values ([`Verdict`]): linearizable, not linearizable, or unknown
//! when a limit ran out. Three limits are offered: a wall-clock [`Checker::time_limit`],
//! which stops every partition's search within a thousand steps of it, and a
//! [`Checker::step_budget`] and a [`Checker::memory_limit`], whose answers depend only on
//! the history, so that a check run inside a seeded simulation gives the same answer on
//! every machine.
//!
//! A check that fails explains itself: [`CheckResult::report`] gives a [`Report`] (plain,
//! serializable data) with, per partition, every operation, the longest linearizable prefix
//! with a linearization point and the states before and after each operation, and the
//! operation that could not be placed after it.
//!
//! # Models shipped
//!
//! [`models`]: the labs' key/value stores of every year ([`models::KvModel`] for 2020–2024,
//! [`models::VersionedKvModel`] from 2025 on), a register and a compare-and-set register.
//! [`jepsen`] reads histories recorded as EDN lines or Jepsen logs. The crate's binary,
//! `linearizability --model kv|register|cas-register [--no-partition] [--time-limit S] FILE`,
//! checks such a file.

#![deny(missing_docs)]

mod checker;
mod hash;
mod history;
pub mod jepsen;
mod model;
pub mod models;
mod report;
mod search;
mod stepper;

pub use checker::{CheckResult, Checker, Limit, PartitionResult, Verdict, DEFAULT_MEMORY_LIMIT};
pub use history::{
    operations_from_events, Event, HistoryError, Operation, Outcome, MAX_OPERATIONS,
};
pub use model::{Model, NondeterministicModel, PowerSet, StateSet};
pub use report::{LinearizedOperation, OperationReport, PartitionReport, Report, Stuck};
