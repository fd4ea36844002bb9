//! A trial shaped like a key/value test's: three Raft peers, a partition of one of them, and a
//! history of client calls recorded on the run's clock, checked, and kept for the timeline. The
//! history is made up (no key/value service runs): key `x` has a stale read that no order
//! explains, key `y` is fine.

use std::time::Duration;

use harness::logs::Capture;
use harness::tester::{TestFailure, Tester};
use harness::timeline::probe;
use harness::trial::{TrialError, TrialReport};
use labrpc::runtime::{self, Executor, RunConfig, TraceSummary};
use linearizability::models::{KvInput, KvModel, KvOutput};
use linearizability::{Checker, Operation, Verdict};

const MS: u64 = 1_000_000;

/// The made-up history, times in nanoseconds of run time.
pub fn history() -> Vec<Operation<KvInput, KvOutput>> {
    let none = KvOutput::default;
    vec![
        Operation::new(0, KvInput::put("x", "a"), 1000 * MS, none(), 1100 * MS),
        Operation::new(
            1,
            KvInput::get("x"),
            1050 * MS,
            KvOutput::value("a"),
            1200 * MS,
        ),
        Operation::new(2, KvInput::put("y", "1"), 1000 * MS, none(), 1200 * MS),
        Operation::new(2, KvInput::append("x", "b"), 1300 * MS, none(), 1600 * MS),
        Operation::new(
            0,
            KvInput::get("x"),
            1700 * MS,
            KvOutput::value("ab"),
            1800 * MS,
        ),
        // Stale: "ab" was read before this get was called.
        Operation::new(
            1,
            KvInput::get("x"),
            1900 * MS,
            KvOutput::value("a"),
            2000 * MS,
        ),
        Operation::new(
            2,
            KvInput::get("y"),
            2100 * MS,
            KvOutput::value("1"),
            2200 * MS,
        ),
        // Timed out: it may or may not have happened.
        Operation::unknown(0, KvInput::append("x", "c"), 2600 * MS),
    ]
}

/// The history's position of the stale get (the operation that cannot be placed).
pub const STALE_GET: usize = 5;

/// The trial: peer 0 is cut off from 1.5 s to 2.5 s while the clients run; at 3 s the history
/// is checked, recorded for the timeline, and fails the trial.
pub fn kv_trial(seed: u64) -> TrialReport {
    let capture = Capture::with_records("debug", false).expect("a valid filter");
    let config = RunConfig::sim(seed).dispatch(capture.dispatch());
    let out = runtime::run(config, || async {
        let mut t = Tester::<raft::Raft>::new(3, true);
        t.begin("kv-like: a stale read while a peer is cut off");
        runtime::sleep(Duration::from_millis(1500)).await;
        t.disconnect(0);
        runtime::sleep(Duration::from_millis(1000)).await;
        t.connect(0);
        runtime::sleep(Duration::from_millis(500)).await;
        let ops = history();
        let result = Checker::new(&KvModel)
            .threads(1)
            .all_partitions(true)
            .check(&ops)
            .expect("a well-formed history");
        assert_eq!(result.verdict(), Verdict::NotLinearizable);
        probe::history(&result);
        t.cleanup();
        TestFailure::new("history is not linearizable")
    })
    .expect("the run ends");
    TrialReport {
        grader: "kv-like",
        seed,
        executor: Executor::Sim,
        outcome: Err(TrialError::Check(out.value)),
        elapsed: out.elapsed,
        wall: Duration::ZERO,
        log: Some(capture.take()),
        records: Some(capture.take_records()),
        trace: TraceSummary::default(),
    }
}
