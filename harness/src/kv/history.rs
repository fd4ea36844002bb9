//! Every client call of a key/value test, recorded for the linearizability checker.

use std::time::Duration;

use kvapi::{Got, KvError, Version};
use labrpc::runtime::{self, Executor};
use linearizability::models::{KvErr, VersionedKvInput, VersionedKvModel, VersionedKvOutput};
use linearizability::{Checker, Operation, Report, Verdict};
use parking_lot::Mutex;

use crate::tester::TestFailure;

/// One recorded call: client, input, output, and call and return times (nanoseconds of run
/// time, virtual in sim mode), in the checker's own types, so that a history can be handed to
/// the checker, its report and the timeline as it is.
pub type KvOperation = Operation<VersionedKvInput, VersionedKvOutput>;

/// The client id of the tester's own calls (Go records them as client -1).
pub const TESTER_CLIENT: usize = usize::MAX;

/// Steps of the checker's search that stand for one second of the original's wall-clock limit
/// in sim mode. A step budget makes "unknown" a function of the history, so a verdict replays
/// from the seed; a core takes tens of millions of steps a second on the key/value model, so
/// this is about the original's second on a slow machine.
pub const STEPS_PER_SECOND: u64 = 10_000_000;

/// The original's limit of one check (`linearizabilityCheckTimeout`).
pub const CHECK_TIME: Duration = Duration::from_secs(1);

/// The line the original prints when a check ran out of time, and passes.
pub const UNKNOWN_LINE: &str = "info: linearizability check timed out, assuming history is ok";

/// The history of a test: every recorded client call, in the order they returned.
#[derive(Debug, Default)]
pub struct History {
    ops: Mutex<Vec<KvOperation>>,
}

/// Nanoseconds of run time now.
fn now_nanos() -> u64 {
    u64::try_from(runtime::now().since_start().as_nanos()).unwrap_or(u64::MAX)
}

/// The model's error for a clerk's answer.
fn model_err(err: Option<KvError>) -> KvErr {
    match err {
        None => KvErr::Ok,
        Some(KvError::ErrNoKey) => KvErr::ErrNoKey,
        Some(KvError::ErrVersion) => KvErr::ErrVersion,
        Some(KvError::ErrMaybe) => KvErr::ErrMaybe,
        // Not an answer Lab 2's model knows: a clerk must retry another server instead of
        // returning it. Recorded as ErrNoKey, which the model never accepts for a put.
        Some(KvError::ErrWrongLeader) => KvErr::ErrNoKey,
    }
}

/// How a check came out, when it did not fail the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// The history is linearizable.
    Linearizable,
    /// The checker ran out of its budget (or time): the original passes such a history and
    /// says so ([`UNKNOWN_LINE`]).
    Unknown,
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        History::default()
    }

    /// The time a call starts, to pass to a `record_*` once it returns.
    pub fn call_time() -> u64 {
        now_nanos()
    }

    /// Records a get by `client` called at `call` that just returned `reply`.
    pub fn record_get(&self, client: usize, key: &str, call: u64, reply: &Result<Got, KvError>) {
        let output = match reply {
            Ok(got) => VersionedKvOutput::got(got.value.clone(), got.version, KvErr::Ok),
            Err(e) => VersionedKvOutput::got("", 0, model_err(Some(*e))),
        };
        self.push(Operation::new(
            client,
            VersionedKvInput::get(key),
            call,
            output,
            now_nanos(),
        ));
    }

    /// Records a put by `client` called at `call` that just returned `reply`.
    pub fn record_put(
        &self,
        client: usize,
        key: &str,
        value: &str,
        version: Version,
        call: u64,
        reply: &Result<(), KvError>,
    ) {
        let output = VersionedKvOutput::put(model_err(reply.err()));
        self.push(Operation::new(
            client,
            VersionedKvInput::put(key, value, version),
            call,
            output,
            now_nanos(),
        ));
    }

    fn push(&self, op: KvOperation) {
        tracing::debug!(
            target: "tester",
            topic = "kvop",
            client = op.client as i64,
            call = op.call,
            ret = op.ret(),
            "{}",
            linearizability::Model::describe_operation(&VersionedKvModel, &op.input, op.output())
        );
        self.ops.lock().push(op);
    }

    /// A copy of the operations recorded so far.
    pub fn operations(&self) -> Vec<KvOperation> {
        self.ops.lock().clone()
    }

    /// How many operations were recorded.
    pub fn len(&self) -> usize {
        self.ops.lock().len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks the history so far with the original's limit `limit` (Go
    /// `CheckPorcupineT(limit)`): in sim mode as a step budget ([`STEPS_PER_SECOND`] per
    /// second of `limit`), so the verdict replays from the seed; in real mode as the original's
    /// wall-clock limit.
    ///
    /// # Errors
    /// `history is not linearizable`, followed by the checker's report: per key the longest
    /// linearizable prefix and the operation that could not be placed after it.
    pub fn check(&self, limit: Duration) -> Result<Checked, TestFailure> {
        let ops = self.operations();
        let checker = Checker::new(&VersionedKvModel);
        let checker = match runtime::executor() {
            Executor::Sim => {
                let steps = (limit.as_secs_f64() * STEPS_PER_SECOND as f64) as u64;
                checker.step_budget(steps.max(1)).threads(1)
            }
            Executor::Real => checker.time_limit(limit),
        };
        // The search may take seconds of wall time in one poll (its budget is in steps, not
        // time): the watchdog is for the code under test, not for the check.
        let result = runtime::unwatched(|| checker.check(&ops))
            .map_err(|e| TestFailure::new(format!("the recorded history is malformed: {e}")))?;
        // The failing seed's timeline page draws the last history checked (nothing is built
        // when the trial keeps no records).
        crate::timeline::probe::history(&result);
        match result.verdict() {
            Verdict::Linearizable => Ok(Checked::Linearizable),
            Verdict::Unknown => Ok(Checked::Unknown),
            Verdict::NotLinearizable => Err(not_linearizable(&result.report())),
        }
    }
}

/// The failure of a history that is not linearizable: the original's words, then the report.
fn not_linearizable(report: &Report) -> TestFailure {
    TestFailure::new(format!("history is not linearizable\n{report}"))
}
