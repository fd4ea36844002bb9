//! Every golden history (`shared/reference/linearizability-data`, beside the repository) gets
//! the answer its `expected.tsv` gives, per key and whole, and a violation's report says what
//! it promises.

use std::path::{Path, PathBuf};

use linearizability::jepsen;
use linearizability::models::{CasRegisterModel, KvModel};
use linearizability::{Checker, Model, Operation, Report, Verdict};

/// The data folder, or `None` (and a note) when it is not there. Under CI it must be.
fn data() -> Option<PathBuf> {
    let found = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/reference/linearizability-data"))
        .find(|dir| dir.is_dir());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "shared/reference/linearizability-data is missing: CI lays shared/ beside the repository"
        );
        eprintln!("skipped: no shared/reference/linearizability-data above this crate");
    }
    found
}

/// (file name, linearizable?) from a folder's `expected.tsv`.
fn expected(dir: &Path) -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(dir.join("expected.tsv"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join("expected.tsv").display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (name, answer) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("expected.tsv line {line:?} is not NAME<TAB>BOOL"));
            (name.to_string(), answer.trim() == "true")
        })
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Checks what a report promises: points inside intervals and in order, states chained, and
/// for a violation the operation that could not be placed with every other candidate.
fn check_report<M: Model>(
    model: &M,
    report: &Report,
    history: &[Operation<M::Input, M::Output>],
    name: &str,
) {
    for p in &report.partitions {
        let mut last_point = 0;
        for (i, step) in p.linearization.iter().enumerate() {
            let op = &history[step.index];
            assert!(step.at >= op.call, "{name}: point before the call");
            assert!(
                op.ret().is_none_or(|r| step.at <= r),
                "{name}: point after the return"
            );
            assert!(step.at >= last_point, "{name}: points out of order");
            last_point = step.at;
            if i > 0 {
                assert_eq!(
                    step.state_before,
                    p.linearization[i - 1].state_after,
                    "{name}: states do not chain"
                );
            }
        }
        match p.verdict {
            Verdict::NotLinearizable => {
                let stuck = p
                    .stuck
                    .as_ref()
                    .unwrap_or_else(|| panic!("{name}: no stuck op"));
                let placed: Vec<usize> = p.linearization.iter().map(|l| l.index).collect();
                assert!(
                    !placed.contains(&stuck.index),
                    "{name}: stuck op was placed"
                );
                // Every operation that could have gone next is rejected in that state.
                let could: Vec<usize> = p
                    .operations
                    .iter()
                    .map(|o| o.index)
                    .filter(|i| !placed.contains(i) && history[*i].call <= stuck.deadline)
                    .filter(|i| {
                        history[*i].ret().is_some() || !model.is_read_only(&history[*i].input, None)
                    })
                    .collect();
                assert_eq!(stuck.candidates, could, "{name}: candidates");
                assert!(
                    stuck.candidates.contains(&stuck.index),
                    "{name}: stuck not a candidate"
                );
                if let Some(last) = p.linearization.last() {
                    assert_eq!(stuck.state, last.state_after, "{name}: stuck state");
                }
            }
            Verdict::Linearizable => {
                assert!(p.stuck.is_none());
                let known = p.operations.iter().filter(|o| o.ret.is_some()).count();
                let placed_known = p
                    .linearization
                    .iter()
                    .filter(|l| history[l.index].ret().is_some())
                    .count();
                assert_eq!(
                    placed_known, known,
                    "{name}: linearization misses operations"
                );
            }
            Verdict::Unknown => {}
        }
    }
    // Plain data: through JSON and back unchanged.
    let json = serde_json::to_string(report).expect("a report serializes");
    let back: Report = serde_json::from_str(&json).expect("and deserializes");
    assert_eq!(&back, report, "{name}: JSON round trip");
}

#[test]
fn every_kv_history_gets_its_expected_answer_per_key_and_whole() {
    let Some(data) = data() else { return };
    let dir = data.join("kv");
    let files = expected(&dir);
    assert_eq!(files.len(), 6, "six key/value histories");
    for (name, linearizable) in files {
        let history =
            jepsen::kv_history(&read(&dir.join(&name))).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = if linearizable {
            Verdict::Linearizable
        } else {
            Verdict::NotLinearizable
        };
        // Per key, on one thread and on two.
        for threads in [1, 2] {
            let result = Checker::new(&KvModel)
                .threads(threads)
                .check(&history)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(result.verdict(), want, "{name} per key, {threads} threads");
            check_report(&KvModel, &result.report(), &history, &name);
        }
        // Whole: the 50-client ones are too big to finish; within a step budget they must
        // not give the wrong answer (and the 1- and 10-client ones must finish).
        let big = name.contains("c50");
        let mut whole = Checker::new(&KvModel).partition(false).threads(1);
        if big {
            whole = whole.step_budget(200_000);
        }
        let result = whole
            .check(&history)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if big {
            assert!(
                result.verdict() == want || result.verdict() == Verdict::Unknown,
                "{name} whole: {}",
                result.verdict()
            );
        } else {
            assert_eq!(result.verdict(), want, "{name} whole");
            let report = result.report();
            assert!(!report.partitioned);
            assert_eq!(report.partitions.len(), 1);
            check_report(&KvModel, &report, &history, &name);
        }
    }
}

#[test]
fn every_etcd_history_gets_its_expected_answer() {
    let Some(data) = data() else { return };
    let dir = data.join("etcd");
    let files = expected(&dir);
    assert_eq!(files.len(), 52, "the even-numbered etcd logs");
    let mut wrong = Vec::new();
    for (name, linearizable) in files {
        let history = jepsen::register_history(&read(&dir.join(&name)), true)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            history.iter().any(|op| op.ret().is_none()),
            "{name}: etcd logs have operations of unknown outcome"
        );
        let want = if linearizable {
            Verdict::Linearizable
        } else {
            Verdict::NotLinearizable
        };
        // One register: per key and whole are the same check.
        for partition in [true, false] {
            let result = Checker::new(&CasRegisterModel)
                .partition(partition)
                .threads(1)
                .check(&history)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            if result.verdict() != want {
                wrong.push(format!("{name}: {} instead of {want}", result.verdict()));
            }
            check_report(&CasRegisterModel, &result.report(), &history, &name);
        }
    }
    assert!(wrong.is_empty(), "wrong answers:\n{}", wrong.join("\n"));
}

#[test]
fn a_step_budget_gives_the_same_answer_steps_and_report_on_any_threads() {
    let Some(data) = data() else { return };
    let history = jepsen::kv_history(&read(&data.join("kv/c50-ok.txt"))).expect("parses");
    let run = |threads: usize, budget: u64| {
        let result = Checker::new(&KvModel)
            .threads(threads)
            .step_budget(budget)
            .check(&history)
            .expect("a good history");
        (result.verdict(), result.steps(), result.report())
    };
    // Small enough that some keys run out, large enough that others finish.
    let (verdict, steps, report) = run(1, 30_000);
    assert_eq!(verdict, Verdict::Unknown);
    assert!(report
        .partitions
        .iter()
        .any(|p| p.verdict == Verdict::Linearizable));
    for threads in [1, 2, 4] {
        assert_eq!(
            run(threads, 30_000),
            (verdict, steps, report.clone()),
            "{threads} threads"
        );
    }
    // The violation found first is the same whatever the threads, too.
    let bad = jepsen::kv_history(&read(&data.join("kv/c50-bad.txt"))).expect("parses");
    let first = |threads: usize| {
        let result = Checker::new(&KvModel)
            .threads(threads)
            .step_budget(1_000_000)
            .check(&bad)
            .expect("a good history");
        (result.verdict(), result.report())
    };
    let (verdict, report) = first(1);
    assert_eq!(verdict, Verdict::NotLinearizable);
    for threads in [2, 3] {
        assert_eq!(
            first(threads),
            (verdict, report.clone()),
            "{threads} threads"
        );
    }
}
