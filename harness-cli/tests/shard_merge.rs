//! Grading at scale: a run split into shards (`--shard K/N`) and merged again (`harness merge`)
//! gives the report one machine gives for the same seeds, field for field but for the wall
//! times, job counts and bundle paths ([`MACHINE_DEPENDENT`]); and shards that do not make up
//! one run are refused with a message that says why.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use harness::{graders, Peer};
use harness_cli::merge::{
    junit_without_machine_fields, merge_files, merge_reports, merged_json, without_machine_fields,
    MergeError, ShardReport, MACHINE_DEPENDENT,
};
use harness_cli::policy::{GraderPolicy, Policy};
use harness_cli::report::{gradescope_json, junit_xml};
use harness_cli::run::{run_trials, Control, RunOptions, RunSummary};
use harness_cli::shard::Shard;
use labrpc::runtime;
use labrpc::{ClientEnd, Service};
use raft::{ApplySender, Persister};
use serde_json::Value;

/// Peer 0 claims to lead term 1 on about half the seeds (drawn from the run's generator), so
/// the graders pass on some seeds and fail on others, with their usual messages.
struct CoinFlip {
    leader: bool,
}

impl Peer for CoinFlip {
    fn make(_peers: Vec<ClientEnd>, me: usize, _p: Persister, _tx: ApplySender) -> Self {
        let leader = me == 0 && runtime::random_range(0..2) == 0;
        CoinFlip { leader }
    }
    fn get_state(&self) -> (u64, bool) {
        (1, self.leader)
    }
    fn kill(&self) {}
    fn service(&self) -> Service {
        let mut service = Service::new("Raft").expect("a valid name");
        service
            .handle("RequestVote", |_: ()| ())
            .expect("a new method");
        service
            .handle("AppendEntries", |_: ()| ())
            .expect("a new method");
        service
    }
    fn start(&self, _command: Vec<u8>) -> Option<(u64, u64)> {
        None
    }
    fn snapshot(&self, _index: u64, _snapshot: Vec<u8>) {
        // This toy never runs part D.
    }
}

const RUNS: u64 = 24;

fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("shard-merge-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

fn options(shard: Shard, jobs: usize) -> RunOptions {
    let mut options = RunOptions::new(graders::select("A").expect("part A"), RUNS);
    options.seed_start = 40;
    options.jobs = jobs;
    options.shard = shard;
    options
}

fn run(options: &RunOptions) -> RunSummary {
    run_trials::<CoinFlip>(options, &Arc::new(Control::default()), |_| {})
}

/// Thresholds and points that differ per grader, so the merge must carry them over.
fn policy() -> Policy {
    let mut policy = Policy::with_threshold(0.4).expect("a valid threshold");
    policy.graders.insert(
        "initial_election".into(),
        GraderPolicy {
            threshold: Some(0.25),
            max_score: Some(5.0),
        },
    );
    policy
}

/// Runs every shard of `count` and writes its report; returns the files.
fn shard_reports(dir: &Path, count: u64, policy: &Policy) -> Vec<PathBuf> {
    (1..=count)
        .map(|k| {
            let shard = Shard::new(k, count).expect("a valid shard");
            // Fewer workers than the whole run: the machines need not match.
            let summary = run(&options(shard, 1 + k as usize % 2));
            let path = dir.join(format!("shard-{k}-of-{count}.json"));
            let text = serde_json::to_string_pretty(&gradescope_json(&summary, policy, "hidden"))
                .expect("serializes");
            std::fs::write(&path, text).expect("written");
            path
        })
        .collect()
}

#[test]
fn merged_shards_give_the_report_of_one_machine() {
    let policy = policy();
    let whole = run(&options(Shard::WHOLE, 3));
    let failures: usize = whole.graders.iter().map(|g| g.failures.len()).sum();
    let passes: u64 = whole.graders.iter().map(|g| g.passed).sum();
    assert!(
        failures > 0 && passes > 0,
        "the test needs both passing and failing trials ({passes} passed, {failures} failed)"
    );
    let expected = without_machine_fields(&gradescope_json(&whole, &policy, "hidden"));
    let expected_text = serde_json::to_string_pretty(&expected).expect("serializes");
    let expected_junit = junit_without_machine_fields(&junit_xml(&whole, &policy));

    for count in [1, 3, 7] {
        let dir = temp_dir(&format!("whole-{count}"));
        let mut files = shard_reports(&dir, count, &policy);
        files.reverse(); // any order
        let merged = merge_files(&files).expect("the shards merge");
        let got = without_machine_fields(&merged_json(&merged, &dir.join("merged.json")));
        // Byte for byte, once the machine-dependent fields are gone.
        assert_eq!(
            serde_json::to_string_pretty(&got).expect("serializes"),
            expected_text,
            "{count} shards"
        );
        assert_eq!(
            junit_without_machine_fields(&junit_xml(&merged.summary, &merged.policy)),
            expected_junit,
            "{count} shards, JUnit"
        );
    }
    eprintln!(
        "merge evidence: {} graders × {RUNS} seeds ({passes} passed, {failures} failed) as 1, 3 \
         and 7 shards: results.json identical byte for byte without {MACHINE_DEPENDENT:?}; \
         JUnit identical without its times and jobs",
        whole.graders.len()
    );
}

/// The JSON of a report file, edited.
fn edited(from: &Path, to: &Path, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut value: Value =
        serde_json::from_str(&std::fs::read_to_string(from).expect("readable")).expect("JSON");
    edit(&mut value);
    std::fs::write(to, value.to_string()).expect("written");
    to.to_path_buf()
}

fn merge_error(files: &[PathBuf]) -> String {
    match merge_files(files) {
        Ok(_) => panic!("{files:?} should not merge"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn shards_that_are_not_one_run_are_refused() {
    let dir = temp_dir("refused");
    let policy = policy();
    let three = shard_reports(&dir, 3, &policy);

    let e = merge_error(&three[..2]);
    assert!(
        e.contains("shard 3/3 is missing") && e.contains("needs all of them"),
        "{e}"
    );
    let e = merge_error(&[
        three[0].clone(),
        three[1].clone(),
        three[1].clone(),
        three[2].clone(),
    ]);
    assert!(e.contains("shard 2/3 is given twice"), "{e}");

    // Another number of shards.
    let four = dir.join("four");
    std::fs::create_dir_all(&four).expect("a dir");
    let four = shard_reports(&four, 4, &policy);
    let e = merge_error(&[three[0].clone(), four[1].clone()]);
    assert!(e.contains("the number of shards differs (3 vs 4)"), "{e}");

    // Other seeds, another threshold, other graders: run again with one setting changed.
    let mut other = options(Shard::new(2, 3).expect("valid"), 2);
    other.runs = RUNS + 1;
    let path = dir.join("other-runs.json");
    std::fs::write(
        &path,
        gradescope_json(&run(&other), &policy, "hidden").to_string(),
    )
    .expect("written");
    let e = merge_error(&[three[0].clone(), path, three[2].clone()]);
    assert!(e.contains("--runs differs (24 vs 25)"), "{e}");
    assert!(e.contains("same command but for --shard"), "{e}");

    let summary = run(&options(Shard::new(2, 3).expect("valid"), 2));
    let path = dir.join("other-policy.json");
    let stricter = Policy::with_threshold(0.9).expect("valid");
    std::fs::write(
        &path,
        gradescope_json(&summary, &stricter, "hidden").to_string(),
    )
    .expect("written");
    let e = merge_error(&[three[0].clone(), path, three[2].clone()]);
    assert!(
        e.contains("the threshold of initial_election differs"),
        "{e}"
    );

    let mut fewer = options(Shard::new(2, 3).expect("valid"), 2);
    fewer.graders.truncate(2);
    let path = dir.join("other-graders.json");
    std::fs::write(
        &path,
        gradescope_json(&run(&fewer), &policy, "hidden").to_string(),
    )
    .expect("written");
    let e = merge_error(&[three[0].clone(), path, three[2].clone()]);
    assert!(e.contains("the graders differs"), "{e}");

    // Reports that do not add up, or did not finish.
    let e = merge_error(&[
        three[0].clone(),
        edited(&three[1], &dir.join("interrupted.json"), |v| {
            v["extra_data"]["interrupted"] = Value::Bool(true);
        }),
        three[2].clone(),
    ]);
    assert!(
        e.contains("was interrupted") && e.contains("run that shard again"),
        "{e}"
    );
    let e = merge_error(&[
        three[0].clone(),
        edited(&three[1], &dir.join("planned.json"), |v| {
            v["tests"][0]["extra_data"]["planned"] = Value::from(99);
        }),
        three[2].clone(),
    ]);
    assert!(e.contains("does not add up as shard 2/3"), "{e}");
    let e = merge_error(&[
        edited(&three[0], &dir.join("foreign-seed.json"), |v| {
            let tests = v["tests"].as_array_mut().expect("tests");
            let t = tests
                .iter_mut()
                .find(|t| t["extra_data"]["failed"].as_u64() > Some(0))
                .expect("a failing grader");
            t["extra_data"]["failing_seeds"][0]["seed"] = Value::from(1000);
        }),
        three[1].clone(),
        three[2].clone(),
    ]);
    assert!(e.contains("which is not one of the shard's"), "{e}");

    // Not reports at all.
    let junk = dir.join("junk.json");
    std::fs::write(&junk, "{\"score\": 3}").expect("written");
    assert!(merge_error(&[junk]).contains("not a shard report"));
    let broken = dir.join("broken.json");
    std::fs::write(&broken, "{\"score\": ").expect("written");
    assert!(merge_error(&[broken]).contains("not valid JSON"));
    assert!(matches!(merge_reports(&[]), Err(MergeError::Empty)));
    assert!(merge_error(&[dir.join("nope.json")]).contains("cannot read the report"));
    assert!(
        ShardReport::read(&three[0]).is_ok_and(|r| r.shard() == Shard::new(1, 3).expect("valid"))
    );
}

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .output()
        .expect("the harness binary runs")
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("readable")).expect("JSON")
}

#[test]
fn the_cli_splits_a_run_and_merges_it_back() {
    let dir = temp_dir("cli");
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let common = [
        "run",
        "initial_election",
        "re_election",
        "--runs",
        "6",
        "--no-bundles",
    ];
    let whole = harness(&[&common[..], &["--json", &path("whole.json")]].concat());
    assert_eq!(
        whole.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&whole.stderr)
    );
    for k in 1..=2 {
        let shard = format!("{k}/2");
        let out = harness(
            &[
                &common[..],
                &["--shard", &shard, "--jobs", "1"],
                &["--json", &path(&format!("s{k}.json"))],
            ]
            .concat(),
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains(&format!("shard {shard}: 6 of the 12 trials")),
            "{said}"
        );
    }
    let merged = harness(&[
        "merge",
        &path("s2.json"),
        &path("s1.json"),
        "-o",
        &path("merged.json"),
        "--junit",
        &path("merged.xml"),
    ]);
    let stdout = String::from_utf8_lossy(&merged.stdout);
    assert_eq!(
        merged.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    assert!(
        stdout.contains("2 shard reports merged") && stdout.contains("initial_election"),
        "{stdout}"
    );
    assert_eq!(
        without_machine_fields(&json(&dir.join("merged.json"))),
        without_machine_fields(&json(&dir.join("whole.json")))
    );
    assert!(std::fs::read_to_string(dir.join("merged.xml")).is_ok_and(|x| x.contains("<testsuite")));

    let missing = harness(&["merge", &path("s1.json"), "-o", &path("m.json")]);
    assert_eq!(missing.status.code(), Some(2));
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(said.contains("shard 2/2 is missing"), "{said}");
    let bad = harness(&["run", "initial_election", "--shard", "3/2"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("K is not between 1 and N"));
    let random = harness(&[
        "run",
        "initial_election",
        "--shard",
        "1/2",
        "--random-seeds",
    ]);
    assert_eq!(random.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&random.stderr).contains("same --seed-start"));
}
