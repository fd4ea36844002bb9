//! `harness grade SUBMISSION`: the reference gets full marks; a submission that does not
//! compile, has a planted bug, or kills its process gets the report it deserves, and grading
//! goes on; the handout's skeleton gets 0; sharded grades merge.
//!
//! Building a submission is a Cargo build of the scratch workspace (release), so these tests
//! share one grading target folder (`$HARNESS_GRADE_TARGET_DIR`, or `target/tmp/grade-target`):
//! dependencies are built once, and each submission rebuilds only `raft` and the harness. The
//! tests that build are ignored by `cargo test --workspace` (a first build takes minutes) and
//! run by `.ci/run`: `cargo test -p harness-cli --test grade -- --include-ignored`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use harness_cli::merge::without_machine_fields;
use serde_json::Value;

/// One grade at a time: they share the scratch workspace (its lock would serialize the builds
/// anyway) and the machine's cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn kit() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness is inside the kit")
        .to_path_buf()
}

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("grade-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

fn target_dir() -> PathBuf {
    std::env::var_os("HARNESS_GRADE_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("grade-target"))
}

/// Copies `from` (a crate folder) to `to`, leaving out build output.
fn copy_crate(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("readable") {
        let entry = entry.expect("an entry");
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if src.is_dir() {
            std::fs::create_dir_all(&dst).expect("a dir");
            copy_crate(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copied");
        }
    }
}

/// A student repository at `target/tmp/grade-tests/NAME/repo` holding a copy of the reference
/// raft, changed by `edit` (given the crate's folder).
fn submission(name: &str, edit: impl FnOnce(&Path)) -> PathBuf {
    let repo = tmp(name).join("repo");
    let krate = repo.join("raft");
    std::fs::create_dir_all(&krate).expect("a dir");
    copy_crate(&kit().join("raft"), &krate);
    edit(&krate);
    repo
}

/// Replaces `old` (which must be there) by `new` in `file`.
fn patch(file: &Path, old: &str, new: &str) {
    let text = std::fs::read_to_string(file).expect("readable");
    assert!(
        text.contains(old),
        "the test's planted change no longer fits the reference: {} has no {old:?}; update the test",
        file.display()
    );
    std::fs::write(file, text.replacen(old, new, 1)).expect("written");
}

struct Graded {
    output: Output,
    results: Value,
    junit: String,
    out: PathBuf,
}

impl Graded {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    fn said(&self) -> String {
        format!(
            "{}\n--- stderr ---\n{}",
            self.stdout(),
            String::from_utf8_lossy(&self.output.stderr)
        )
    }
    fn test(&self, grader: &str) -> &Value {
        self.results["tests"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["extra_data"]["grader"] == grader))
            .unwrap_or_else(|| panic!("no test for {grader} in {}", self.results))
    }
    /// Each failing seed with its error (a seed names its error by its position in the
    /// grader's `errors`, where each distinct error is written once).
    fn failing(&self, grader: &str) -> Vec<(u64, String)> {
        let extra = &self.test(grader)["extra_data"];
        extra["failing_seeds"]
            .as_array()
            .map(|seeds| {
                seeds
                    .iter()
                    .map(|s| {
                        let error = s["error"]
                            .as_u64()
                            .and_then(|i| extra["errors"][i as usize]["error"].as_str())
                            .unwrap_or("");
                        (s["seed"].as_u64().unwrap_or(0), error.to_string())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The tests of a report that are graders' (not the lint's, which is worth nothing).
fn grader_tests(results: &Value) -> Vec<&Value> {
    results["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .filter(|t| t["extra_data"]["lint"] != true)
        .collect()
}

/// Runs `harness grade SUBMISSION ARGS...` into a fresh output folder, with `env`.
fn grade(submission: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> Graded {
    let out = tmp(name).join("out");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_harness"));
    cmd.arg("grade")
        .arg(submission)
        .args(args)
        .arg("--out")
        .arg(&out)
        .arg("--target-dir")
        .arg(target_dir())
        .env_remove("PLANTED");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().expect("the harness binary runs");
    let results = std::fs::read_to_string(out.join("results.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap_or_default();
    Graded {
        output,
        results,
        junit,
        out,
    }
}

#[test]
fn a_folder_without_a_raft_crate_is_a_usage_error() {
    let empty = tmp("empty");
    let g = grade(&empty, "empty-out", &["A", "--runs", "1"], &[]);
    assert_eq!(g.output.status.code(), Some(2), "{}", g.said());
    assert!(g.said().contains("holds no raft crate"), "{}", g.said());
}

#[test]
fn path_dependencies_outside_the_crate_are_refused_before_building() {
    let _one = ONE_AT_A_TIME.lock();
    let repo = submission("path-dep", |krate| {
        patch(
            &krate.join("Cargo.toml"),
            "[dependencies]\n",
            "[dependencies]\nmy-harness = { path = \"../../harness\" }\n",
        );
    });
    let g = grade(&repo, "path-dep-out", &["A", "--runs", "1"], &[]);
    assert_eq!(g.output.status.code(), Some(2), "{}", g.said());
    assert!(g.said().contains("outside the raft crate"), "{}", g.said());
}

#[test]
#[ignore = "builds the scratch workspace (minutes the first time); .ci/run runs it"]
fn the_reference_gets_full_marks_and_sharded_grades_merge() {
    let _one = ONE_AT_A_TIME.lock();
    let repo = submission("reference", |_| {});
    let whole = grade(&repo, "reference-out", &["all", "--runs", "4"], &[]);
    assert_eq!(whole.output.status.code(), Some(0), "{}", whole.said());
    let r = &whole.results;
    assert!(r["score"].as_f64().is_some_and(|s| s > 0.0), "{r}");
    let max: f64 = r["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .map(|t| t["max_score"].as_f64().unwrap_or(0.0))
        .sum();
    assert_eq!(r["score"].as_f64(), Some(max), "{}", whole.said());
    assert!(r["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .all(|t| t["status"] == "passed"));
    assert_eq!(r["extra_data"]["grade"]["disallowed"], Value::Array(vec![]));
    assert!(!whole.junit.contains("<failure"), "{}", whole.junit);
    assert!(
        whole.stdout().contains(&format!("score {max} of {max}")),
        "{}",
        whole.said()
    );

    // Two shards of the same grade, merged, are the whole grade's report.
    let mut shards = Vec::new();
    for k in 1..=2 {
        let shard = format!("{k}/2");
        let g = grade(
            &repo,
            &format!("reference-shard-{k}"),
            &["all", "--runs", "4", "--shard", &shard],
            &[],
        );
        assert_eq!(g.output.status.code(), Some(0), "{}", g.said());
        shards.push(g.out.join("results.json"));
    }
    let merged = tmp("reference-merged").join("merged.json");
    let m = Command::new(env!("CARGO_BIN_EXE_harness"))
        .arg("merge")
        .args(&shards)
        .arg("-o")
        .arg(&merged)
        .output()
        .expect("merge runs");
    assert_eq!(
        m.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&m.stderr)
    );
    let merged: Value =
        serde_json::from_str(&std::fs::read_to_string(&merged).expect("written")).expect("JSON");
    assert_eq!(without_machine_fields(&merged), without_machine_fields(r));
}

#[test]
#[ignore = "builds the scratch workspace (minutes the first time); .ci/run runs it"]
fn a_submission_that_does_not_compile_scores_0_with_the_compilers_errors() {
    let _one = ONE_AT_A_TIME.lock();
    let repo = submission("no-compile", |krate| {
        let lib = krate.join("src/lib.rs");
        let mut text = std::fs::read_to_string(&lib).expect("readable");
        text.push_str("\nfn broken() -> u64 {\n    \"not a number\"\n}\n");
        std::fs::write(&lib, text).expect("written");
    });
    let g = grade(&repo, "no-compile-out", &["A", "--runs", "2"], &[]);
    assert_eq!(g.output.status.code(), Some(1), "{}", g.said());
    let r = &g.results;
    assert_eq!(r["score"].as_f64(), Some(0.0), "{r}");
    let output = r["output"].as_str().unwrap_or("");
    assert!(output.contains("did not compile"), "{output}");
    assert!(
        output.contains("E0308") && output.contains("raft/src/lib.rs"),
        "{output}"
    );
    assert!(r["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .all(|t| t["status"] == "failed"
            && t["output"].as_str().is_some_and(|o| o.contains("not run"))));
    assert!(g.junit.contains("type=\"BuildFailed\""), "{}", g.junit);
    assert!(g.out.join("build.log").is_file());
}

/// Behaviours planted in a copy of the reference, chosen at run time by `$PLANTED`, so that one
/// build serves every way of dying. Each strikes once a peer's term reaches 3: on the seeds of
/// `re_election` and `many_elections` (which elect again and again), rarely in
/// `initial_election`.
const PLANTED: &str = r#"
//! Planted behaviours for the grading tests (chosen by $PLANTED).

/// What to do in `get_state` once the term has reached 3.
pub(crate) fn in_get_state(term: u64) {
    if term < 3 {
        return;
    }
    match std::env::var("PLANTED").as_deref() {
        Ok("exit") => std::process::exit(3),
        Ok("abort") => std::process::abort(),
        Ok("overflow") => {
            std::hint::black_box(deeper(std::hint::black_box(1)));
        }
        Ok("alloc") => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![7; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        _ => {}
    }
}

/// What to do in `get_state` at any term: the attacks on the grade itself.
pub(crate) fn in_any_get_state() {
    match std::env::var("PLANTED").as_deref() {
        // The forged grade of issue 19: a report written to the `--json` path of the command
        // line, if there is one, and a passing result for every seed printed on standard
        // output in the grading channel's format (with a made-up tag), then a clean exit.
        Ok("forge") => {
            let args: Vec<String> = std::env::args().collect();
            if let Some(at) = args.iter().position(|a| a == "--json") {
                if let Some(path) = args.get(at + 1) {
                    let _ = std::fs::write(path, "{\"score\": 1.0, \"tests\": []}");
                }
            }
            for seed in 1..=10u64 {
                println!(
                    "\u{1e}harness-trial {} {{\"seed\":{seed},\"error\":null,\"runaway\":null,\"warnings\":[],\"run_time_ns\":1,\"wall_ns\":1,\"bundle\":null,\"page\":null}}",
                    "ab".repeat(32)
                );
            }
            std::process::exit(0);
        }
        // A file written outside the scratch folders.
        Ok("write") => {
            if let Ok(path) = std::env::var("PLANTED_FILE") {
                let _ = std::fs::write(path, "written by a submission");
            }
        }
        _ => {}
    }
}

/// What to do in the `RequestVote` handler.
pub(crate) fn in_handler() {
    if std::env::var("PLANTED").as_deref() == Ok("spin") {
        loop {
            std::hint::spin_loop();
        }
    }
}

fn deeper(n: u64) -> u64 {
    let pad = std::hint::black_box([n; 64]);
    pad[3] + deeper(n + 1)
}

/// Never called: here for the lint to find.
pub(crate) fn nap() {
    std::thread::sleep(std::time::Duration::from_millis(1));
    futures::executor::block_on(async {});
}
"#;

fn planted_submission() -> PathBuf {
    submission("planted", |krate| {
        std::fs::write(krate.join("src/planted.rs"), PLANTED).expect("written");
        patch(
            &krate.join("src/lib.rs"),
            "mod peer;\n",
            "mod peer;\nmod planted;\n",
        );
        patch(
            &krate.join("src/peer.rs"),
            "    pub fn get_state(&self) -> (u64, bool) {\n",
            "    pub fn get_state(&self) -> (u64, bool) {\n        crate::planted::in_any_get_state();\n        let state = self.get_state_unplanted();\n        crate::planted::in_get_state(state.0);\n        state\n    }\n\n    fn get_state_unplanted(&self) -> (u64, bool) {\n",
        );
        patch(
            &krate.join("src/election.rs"),
            "    pub(crate) fn request_vote(&self, args: RequestVoteArgs) -> RequestVoteReply {\n",
            "    pub(crate) fn request_vote(&self, args: RequestVoteArgs) -> RequestVoteReply {\n        crate::planted::in_handler();\n",
        );
    })
}

#[test]
#[ignore = "builds the scratch workspace (minutes the first time); .ci/run runs it"]
fn a_trial_that_kills_its_process_fails_alone_and_says_how() {
    let _one = ONE_AT_A_TIME.lock();
    let repo = planted_submission();
    // The lint refuses the copy: it exits, aborts and writes files (each use named), and it
    // reads the environment and sleeps on the real clock (reported, with what to use instead).
    let g = grade(
        &repo,
        "planted-lint",
        &["initial_election", "--runs", "1"],
        &[],
    );
    assert_eq!(g.output.status.code(), Some(1), "{}", g.said());
    assert_eq!(g.results["score"].as_f64(), Some(0.0), "{}", g.said());
    let found = g.results["extra_data"]["grade"]["disallowed"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let calls = |refused: bool| -> Vec<String> {
        found
            .iter()
            .filter(|d| d["refused"] == refused && d["file"] == "src/planted.rs")
            .filter_map(|d| d["call"].as_str().map(str::to_string))
            .collect()
    };
    for call in [
        "std::process::exit",
        "std::process::abort",
        "std::fs::write",
    ] {
        assert!(
            calls(true).iter().any(|c| c == call),
            "{call} not refused: {found:?}"
        );
    }
    for call in [
        "std::thread::sleep",
        "std::env::var",
        "std::env::args",
        "futures::executor::block_on",
    ] {
        assert!(
            calls(false).iter().any(|c| c == call),
            "{call} not reported: {found:?}"
        );
    }
    let output = g.results["output"].as_str().unwrap_or("");
    for want in [
        "refused, so no grader ran (score 0)",
        "raft/src/planted.rs:",
        "std::fs::write -> ",
        "labrpc::runtime::sleep",
    ] {
        assert!(output.contains(want), "{want:?} missing from:\n{output}");
    }
    // The lint is a test of its own (worth nothing), and no grader ran.
    let lint = g.results["tests"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["extra_data"]["lint"] == true))
        .unwrap_or_else(|| panic!("no lint test in {}", g.results));
    assert_eq!(lint["status"], "failed");
    assert!(lint["output"]
        .as_str()
        .is_some_and(|o| o.contains("std::process::exit")));
    assert!(g.test("initial_election")["output"]
        .as_str()
        .is_some_and(|o| o.contains("not run: the submission was refused")));

    // From here on the lint is skipped (--no-lint), to see what each behaviour would do.
    let common = [
        "initial_election",
        "re_election",
        "--runs",
        "3",
        "--memory",
        "512",
        "--no-lint",
    ];

    // Nothing planted: the copy passes.
    let g = grade(&repo, "planted-none", &common, &[]);
    assert_eq!(g.output.status.code(), Some(0), "{}", g.said());

    for (mode, says) in [
        ("exit", "std::process::exit(3)"),
        ("abort", "the process aborted"),
        ("overflow", "overflowed its stack"),
        ("alloc", "ran out of memory"),
    ] {
        let g = grade(
            &repo,
            &format!("planted-{mode}"),
            &common,
            &[("PLANTED", mode)],
        );
        assert_eq!(g.output.status.code(), Some(1), "{mode}: {}", g.said());
        let died = g.failing("re_election");
        assert!(
            !died.is_empty(),
            "{mode}: re_election should die: {}",
            g.said()
        );
        for (seed, error) in &died {
            assert!(error.contains(says), "{mode}, seed {seed}: {error}");
            assert!(error.contains("died during this trial"), "{error}");
        }
        // Grading went on: every trial of both graders was counted, each in its own place.
        for grader in ["initial_election", "re_election"] {
            assert_eq!(
                g.test(grader)["extra_data"]["finished"],
                3,
                "{mode}: {}",
                g.said()
            );
        }
        // Its replay command rebuilds and replays the submission, not the kit's raft: the
        // test's template, and the command of the seed in the test's output.
        let test = g.test("re_election");
        let replay = &test["extra_data"]["replay"];
        assert_eq!(
            replay.as_str(),
            Some(format!("harness grade {} re_election --replay SEED", repo.display()).as_str()),
            "{mode}"
        );
        let output = test["output"].as_str().unwrap_or("");
        assert!(
            output.contains(&format!(
                "replay: harness grade {} re_election --replay {}\n",
                repo.display(),
                died[0].0
            )),
            "{mode}: {output}"
        );
        // A bundle for each death, with the process's last output.
        let bundles: Vec<_> = std::fs::read_dir(g.out.join("bundles"))
            .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        for (seed, _) in &died {
            let name = format!("failed-re_election-seed{seed}.log");
            assert!(
                bundles.iter().any(|b| *b == *name),
                "{mode}: no {name} in {bundles:?}"
            );
        }
    }

    // A handler that spins forever: the runtime's watchdog fails the trial, and the next ones run.
    let g = grade(
        &repo,
        "planted-spin",
        &[
            "initial_election",
            "--runs",
            "2",
            "--stuck-after",
            "1",
            "--no-lint",
        ],
        &[("PLANTED", "spin")],
    );
    assert_eq!(g.output.status.code(), Some(1), "{}", g.said());
    let stuck = g.failing("initial_election");
    assert_eq!(stuck.len(), 2, "{}", g.said());
    assert!(
        stuck
            .iter()
            .all(|(_, e)| e.contains("stuck") && e.contains("a loop that never awaits")),
        "{stuck:?}"
    );
    // Each stuck trial was its own: both were counted.
    assert_eq!(g.test("initial_election")["extra_data"]["finished"], 2);

    // Runaway seeds capped (issue 19 item 2): after 2 stuck seeds the grader's other seeds are
    // not run, and fail saying why.
    let g = grade(
        &repo,
        "planted-runaway",
        &[
            "initial_election",
            "--runs",
            "6",
            "--jobs",
            "1",
            "--stuck-after",
            "1",
            "--max-runaway",
            "2",
            "--no-lint",
        ],
        &[("PLANTED", "spin")],
    );
    assert_eq!(g.output.status.code(), Some(1), "{}", g.said());
    let failing = g.failing("initial_election");
    assert_eq!(failing.len(), 6, "{}", g.said());
    let (stuck, not_run): (Vec<_>, Vec<_>) =
        failing.iter().partition(|(_, e)| !e.starts_with("not run"));
    assert_eq!(stuck.len(), 2, "{failing:?}");
    assert!(
        not_run
            .iter()
            .all(|(_, e)| e.starts_with("not run: 2 seeds of this grader ")),
        "{not_run:?}"
    );

    // The forged grade of issue 19: the submission prints passing results in the channel's
    // format and exits 0. No result it printed counts: every trial fails, and the report says
    // that unauthenticated results were seen.
    let g = grade(
        &repo,
        "planted-forge",
        &["initial_election", "--runs", "2", "--no-lint"],
        &[("PLANTED", "forge")],
    );
    assert_eq!(g.output.status.code(), Some(1), "{}", g.said());
    assert_eq!(g.results["score"].as_f64(), Some(0.0), "{}", g.said());
    assert_eq!(g.test("initial_election")["extra_data"]["passed"], 0);
    let forged = g.results["extra_data"]["grade"]["forged"]
        .as_u64()
        .unwrap_or(0);
    assert!(forged >= 10, "{}", g.said());
    assert!(
        g.results["output"]
            .as_str()
            .is_some_and(|o| o.contains("did not carry the grader's key")),
        "{}",
        g.results["output"]
    );
    for (_, e) in g.failing("initial_election") {
        assert!(e.contains("exited with status 0"), "{e}");
    }

    // A file written outside the scratch folders: refused by the lint (above); with the lint
    // skipped, Landlock stops the write where the kernel has it.
    let outside = tmp("planted-write-target").join("written.txt");
    let g = grade(
        &repo,
        "planted-write",
        &["initial_election", "--runs", "1", "--no-lint"],
        &[
            ("PLANTED", "write"),
            ("PLANTED_FILE", outside.to_str().expect("a UTF-8 path")),
        ],
    );
    let confinement = g.results["extra_data"]["grade"]["confinement"]
        .as_str()
        .unwrap_or("")
        .to_string();
    if confinement.contains("(Landlock)") {
        assert!(!outside.exists(), "{confinement}: {}", g.said());
    } else {
        eprintln!("Landlock is not available here: {confinement}");
    }

    // `grade SUBMISSION GRADER --replay SEED` rebuilds the submission and replays the seed.
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .arg("grade")
        .arg(&repo)
        .args(["re_election", "--replay", "1", "--target-dir"])
        .arg(target_dir())
        .env_remove("PLANTED")
        .output()
        .expect("the harness binary runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("re_election seed 1 (sim): PASSED"), "{said}");
}

#[test]
#[ignore = "builds the scratch workspace (minutes the first time); .ci/run runs it"]
fn a_planted_bug_fails_its_graders_with_the_testers_message() {
    let _one = ONE_AT_A_TIME.lock();
    let repo = submission("misspelt", |krate| {
        // A misspelt RPC name: no vote is ever delivered, so no leader is ever elected.
        patch(
            &krate.join("src/rpc.rs"),
            "\"Raft.RequestVote\"",
            "\"Raft.RequestVotes\"",
        );
    });
    // The original lab's graders: the conformance graders of part A play the other peers
    // themselves and call the peer's handlers by their right names, so some of them pass.
    let g = grade(
        &repo,
        "misspelt-out",
        &["A", "--runs", "2", "--only-original"],
        &[],
    );
    assert_eq!(g.output.status.code(), Some(1), "{}", g.said());
    assert_eq!(g.results["score"].as_f64(), Some(0.0));
    let graded: Vec<&str> = g.results["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .filter_map(|t| t["extra_data"]["grader"].as_str())
        .collect();
    assert_eq!(
        graded,
        ["initial_election", "re_election", "many_elections"],
        "--only-original reaches the grading processes"
    );
    for grader in graded {
        let failing = g.failing(grader);
        assert_eq!(failing.len(), 2, "{grader}: {}", g.said());
        assert!(
            failing
                .iter()
                .all(|(_, e)| e.contains("expected one leader, got none")),
            "{grader}: {failing:?}"
        );
    }
    assert!(g.junit.contains("<failure"), "{}", g.junit);
    assert!(g.out.join("bundles").is_dir());
}

#[test]
#[ignore = "builds the handout's skeleton (minutes the first time); .ci/run runs it"]
fn the_handout_skeleton_scores_0_with_every_grader_failing() {
    let _one = ONE_AT_A_TIME.lock();
    let repo = tmp("skeleton").join("repo");
    let made = Command::new(env!("CARGO_BIN_EXE_harness"))
        .arg("handout")
        .arg("--out")
        .arg(&repo)
        .output()
        .expect("handout runs");
    assert_eq!(
        made.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let g = grade(&repo, "skeleton-out", &["all", "--runs", "2"], &[]);
    assert_eq!(g.output.status.code(), Some(1), "{}", g.said());
    assert_eq!(g.results["score"].as_f64(), Some(0.0), "{}", g.said());
    let tests = grader_tests(&g.results);
    assert!(!tests.is_empty());
    for t in tests {
        assert_eq!(t["status"], "failed", "{t}");
        assert_eq!(t["extra_data"]["passed"], 0, "{t}");
    }
    for (_, e) in g.failing("initial_election") {
        assert!(e.contains("expected one leader, got none"), "{e}");
    }
}

/// A submission may add fields to the messages (its copy of `raftapi/src/messages.rs`): the
/// tester builds what it sends with the fields it knows and the rest from `Default`, so every
/// grader passes as it does for the reference.
#[test]
#[ignore = "builds the scratch workspace (minutes the first time); .ci/run runs it"]
fn a_submission_that_adds_a_field_to_every_message_gets_full_marks() {
    let _one = ONE_AT_A_TIME.lock();
    let repo = submission("extended-messages", |_| {});
    let given = std::fs::read_to_string(kit().join("raftapi/src/messages.rs")).expect("readable");
    let mut extended = String::new();
    let mut added = 0;
    for line in given.lines() {
        extended.push_str(line);
        extended.push('\n');
        if line.starts_with("pub struct ") && line.ends_with('{') {
            extended
                .push_str("    /// A field of the submission's own.\n    pub extra_note: u32,\n");
            added += 1;
        }
    }
    assert_eq!(added, 7, "a field added to each of the seven message types");
    let messages = repo.join("raftapi/src/messages.rs");
    std::fs::create_dir_all(messages.parent().expect("a folder")).expect("a dir");
    std::fs::write(&messages, extended).expect("written");

    let g = grade(&repo, "extended-messages-out", &["all", "--runs", "1"], &[]);
    assert_eq!(g.output.status.code(), Some(0), "{}", g.said());
    let tests = grader_tests(&g.results);
    assert!(
        tests.iter().all(|t| t["status"] == "passed"),
        "{}",
        g.said()
    );
    let max: f64 = tests
        .iter()
        .map(|t| t["max_score"].as_f64().unwrap_or(0.0))
        .sum();
    assert_eq!(g.results["score"].as_f64(), Some(max), "{}", g.said());
}

/// Leaves part D out of a copy of the reference: the service's snapshots are dropped (the log
/// is kept whole) and the service has no `InstallSnapshot` method.
fn without_part_d(krate: &Path) {
    patch(
        &krate.join("src/lib.rs"),
        "        Raft::snapshot(self, index, snapshot)\n",
        "        let _ = (index, snapshot);\n",
    );
    patch(
        &krate.join("src/rpc.rs"),
        ".handle(INSTALL_SNAPSHOT_METHOD, move |args: InstallSnapshotArgs| {",
        ".handle(\"InstallSnapshotNotWritten\", move |args: InstallSnapshotArgs| {",
    );
}

/// Leaves part C out too: nothing is saved, so a restarted peer starts from nothing.
fn without_parts_c_and_d(krate: &Path) {
    without_part_d(krate);
    patch(
        &krate.join("src/peer.rs"),
        "                self.persister.save(bytes, snapshot);\n",
        "                let _ = (bytes, snapshot);\n",
    );
}

/// Leaves part B out too: `start` takes no command (every command the tester sends has bytes).
fn without_parts_b_to_d(krate: &Path) {
    without_parts_c_and_d(krate);
    patch(
        &krate.join("src/peer.rs"),
        "    pub fn start(&self, command: Vec<u8>) -> Option<(u64, u64)> {\n        if self.peer.killed() {",
        "    pub fn start(&self, command: Vec<u8>) -> Option<(u64, u64)> {\n        if self.peer.killed() || !command.is_empty() {",
    );
}

/// A copy of the reference with some parts left out: its name, the edit, the parts it keeps.
type Variant = (&'static str, fn(&Path), &'static [&'static str]);

/// Each part is graded on its own (issue 18): the reference with its later parts left out,
/// graded with `all`, gets full marks on exactly the parts it implements: every grader of
/// those parts passes, and every later part has a failing grader.
#[test]
#[ignore = "builds three submissions in the scratch workspace (minutes); .ci/run runs it"]
fn a_submission_of_the_first_parts_gets_full_marks_on_exactly_those_parts() {
    let _one = ONE_AT_A_TIME.lock();
    let variants: [Variant; 3] = [
        ("parts-a-to-c", without_part_d, &["A", "B", "C"]),
        ("parts-a-b", without_parts_c_and_d, &["A", "B"]),
        ("part-a", without_parts_b_to_d, &["A"]),
    ];
    for (name, leave_out, implemented) in variants {
        let repo = submission(name, leave_out);
        let g = grade(&repo, &format!("{name}-out"), &["all", "--runs", "2"], &[]);
        assert_eq!(g.output.status.code(), Some(1), "{name}: {}", g.said());
        let tests = grader_tests(&g.results);
        let mut full: std::collections::BTreeMap<&str, bool> = std::collections::BTreeMap::new();
        for t in tests {
            let grader = t["extra_data"]["grader"].as_str().expect("a grader");
            let part = harness::graders::by_name(grader)
                .unwrap_or_else(|| panic!("{name}: unknown grader {grader}"))
                .part;
            let passed = t["status"] == "passed";
            *full.entry(part).or_insert(true) &= passed;
            if implemented.contains(&part) {
                assert!(
                    passed,
                    "{name} implements part {part}, yet {grader} failed: {:?}",
                    g.failing(grader)
                );
            }
        }
        assert_eq!(
            full.keys().copied().collect::<Vec<_>>(),
            ["A", "B", "C", "D"],
            "{name}: every part was graded"
        );
        for (part, all_passed) in full {
            assert_eq!(
                all_passed,
                implemented.contains(&part),
                "{name}: full marks on part {part} should be {}",
                implemented.contains(&part)
            );
        }
    }
}

/// A submission with `unsafe` is not built: the graders compile raft with unsafe_code
/// forbidden, whatever the submission's own attributes say.
#[test]
#[ignore = "builds the scratch workspace (minutes the first time); .ci/run runs it"]
fn a_submission_with_unsafe_does_not_compile_and_is_told_why() {
    let _one = ONE_AT_A_TIME.lock();
    let repo = submission("unsafe", |krate| {
        let lib = krate.join("src/lib.rs");
        let mut text = std::fs::read_to_string(&lib).expect("readable");
        text.push_str(
            "\n#[allow(unsafe_code)]\npub fn peek(x: &u64) -> u64 {\n    unsafe { *(x as *const u64) }\n}\n",
        );
        std::fs::write(&lib, text).expect("written");
    });
    let g = grade(
        &repo,
        "unsafe-out",
        &["initial_election", "--runs", "1"],
        &[],
    );
    assert_eq!(g.output.status.code(), Some(1), "{}", g.said());
    assert_eq!(g.results["score"].as_f64(), Some(0.0), "{}", g.said());
    let output = g.results["output"].as_str().unwrap_or("");
    assert!(output.contains("did not compile"), "{output}");
    assert!(output.contains("may not use `unsafe`"), "{output}");
}

/// A dependency the staff's list does not name refuses the submission before anything is
/// fetched or built.
#[test]
fn a_submission_with_an_unlisted_dependency_is_refused_unbuilt() {
    let _one = ONE_AT_A_TIME.lock();
    let repo = submission("unlisted-dep", |krate| {
        patch(
            &krate.join("Cargo.toml"),
            "[dependencies]\n",
            "[dependencies]\nlibc = \"0.2\"\n",
        );
    });
    let g = grade(&repo, "unlisted-dep-out", &["A", "--runs", "1"], &[]);
    assert_eq!(g.output.status.code(), Some(1), "{}", g.said());
    assert_eq!(g.results["score"].as_f64(), Some(0.0), "{}", g.said());
    assert_eq!(
        g.results["extra_data"]["grade"]["unlisted"],
        serde_json::json!(["libc"])
    );
    let output = g.results["output"].as_str().unwrap_or("");
    assert!(
        output.contains("depends on libc, which the graders do not allow"),
        "{output}"
    );
    assert!(g.junit.contains("type=\"Refused\""), "{}", g.junit);
    let log = std::fs::read_to_string(g.out.join("build.log")).unwrap_or_default();
    assert!(log.contains("not built"), "{log}");
}
