//! The grader CLI: exit codes, failure bundles that replay, reports that parse, the
//! determinism check, Ctrl-C, and the per-peer log view.
//!
//! Failures need peers that fail, so this file has three tiny ones: one that never elects a
//! leader, one whose peer 0 leads on about half the seeds, and one that is not deterministic.
//! They run through the same library loop as the binary (`run_trials`, `main_from`).

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use harness::logview::{render, ViewOptions};
use harness::testing::{failures, TestPlan};
use harness::trial::TrialError;
use harness::{graders, Peer};
use harness_cli::bundle::{log_part, read_header, BUNDLE_MAGIC};
use harness_cli::policy::Policy;
use harness_cli::replay::replay_trial;
use harness_cli::report::{gradescope_json, junit_xml};
use harness_cli::run::{run_trials, Control, RunOptions, RunSummary};
use labrpc::runtime::{self, Executor, RunError};
use labrpc::{ClientEnd, Service};
use raft::{ApplySender, Persister};

#[path = "../../harness/tests/support/mod.rs"]
mod support;

use support::{
    ChattyHeartbeats, Correct, Counted, LoneLeader, NeverStepDown, NoTimerReset, ToyPeer,
    LIVE_COUNTED,
};

// ---------------------------------------------------------------------------------------------
// Peers that fail on purpose.

/// A `"Raft"` service whose handlers do nothing (nobody calls them).
fn idle_service() -> Service {
    let mut service = Service::new("Raft").expect("a valid name");
    service
        .handle("RequestVote", |_: ()| ())
        .expect("a new method");
    service
        .handle("AppendEntries", |_: ()| ())
        .expect("a new method");
    service
}

/// Never starts an election: `get_state` is always `(0, false)`.
struct NeverElects;

impl Peer for NeverElects {
    fn make(_peers: Vec<ClientEnd>, me: usize, _p: Persister, _tx: ApplySender) -> Self {
        tracing::debug!(
            target: "raft",
            peer = me as u64,
            term = 0u64,
            topic = "timer",
            "broken peer up: it never starts an election"
        );
        NeverElects
    }
    fn get_state(&self) -> (u64, bool) {
        (0, false)
    }
    fn kill(&self) {}
    fn service(&self) -> Service {
        idle_service()
    }

    fn start(&self, _command: Vec<u8>) -> Option<(u64, u64)> {
        None
    }

    fn snapshot(&self, _index: u64, _snapshot: Vec<u8>) {
        // This toy never runs part D.
    }
}

/// Peer 0 claims to lead term 1 on about half the seeds (drawn from the run's generator);
/// everyone else follows in term 1. Passes `initial_election` exactly when peer 0 leads.
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
        idle_service()
    }

    fn start(&self, _command: Vec<u8>) -> Option<(u64, u64)> {
        None
    }

    fn snapshot(&self, _index: u64, _snapshot: Vec<u8>) {
        // This toy never runs part D.
    }
}

/// Not deterministic: peer 0 sleeps a different time in every run of the process.
struct Wobbly;

static WOBBLE: AtomicU64 = AtomicU64::new(1);

impl Peer for Wobbly {
    fn make(_peers: Vec<ClientEnd>, me: usize, _p: Persister, _tx: ApplySender) -> Self {
        if me == 0 {
            let ms = WOBBLE.fetch_add(7, Ordering::SeqCst);
            // Dropping the handle leaves the task running.
            drop(runtime::spawn(async move {
                runtime::sleep(Duration::from_millis(ms)).await;
            }));
        }
        Wobbly
    }
    fn get_state(&self) -> (u64, bool) {
        (0, false)
    }
    fn kill(&self) {}
    fn service(&self) -> Service {
        idle_service()
    }

    fn start(&self, _command: Vec<u8>) -> Option<(u64, u64)> {
        None
    }

    fn snapshot(&self, _index: u64, _snapshot: Vec<u8>) {
        // This toy never runs part D.
    }
}

/// Blocks its run's only thread (a blocking call in a task, the classic sim-mode mistake), so
/// the watchdog must report the trial as stuck. The thread waits rather than spins, so the
/// abandoned thread costs no CPU while the tests go on. `K` tells the tests that use it apart:
/// each counts its own runs in `BLOCKS_RUNS[K]`.
struct Blocks<const K: usize>;

/// Runs of `Blocks<K>` started (peer 0 made), per `K`.
static BLOCKS_RUNS: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

impl<const K: usize> Peer for Blocks<K> {
    fn make(_peers: Vec<ClientEnd>, me: usize, _p: Persister, _tx: ApplySender) -> Self {
        if me == 0 {
            BLOCKS_RUNS[K].fetch_add(1, Ordering::SeqCst);
            drop(runtime::spawn(async {
                tracing::debug!(target: "raft", peer = 0u64, term = 0u64, topic = "timer", "about to block");
                // Waits on a channel nobody sends on: blocks the run's thread without spinning.
                let (tx, rx) = std::sync::mpsc::channel::<()>();
                let _ = rx.recv_timeout(Duration::from_secs(30));
                drop(tx);
            }));
        }
        Blocks
    }
    fn get_state(&self) -> (u64, bool) {
        (0, false)
    }
    fn kill(&self) {}
    fn service(&self) -> Service {
        idle_service()
    }

    fn start(&self, _command: Vec<u8>) -> Option<(u64, u64)> {
        None
    }

    fn snapshot(&self, _index: u64, _snapshot: Vec<u8>) {
        // This toy never runs part D.
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("harness-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .env_remove("COLUMNS")
        .output()
        .expect("the harness binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn options(grader: &str, runs: u64, out: Option<&Path>) -> RunOptions {
    let graders = graders::select(grader).expect("a grader");
    let mut options = RunOptions::new(graders, runs);
    options.out_dir = out.map(Path::to_path_buf);
    options.jobs = 2;
    // The toy peers speak their own message types; these tests are about the CLI, not the
    // safety monitor (tests/monitor.rs).
    options.monitor = false;
    options
}

fn run<P: Peer>(options: &RunOptions) -> RunSummary {
    run_trials::<P>(options, &Arc::new(Control::default()), |_| {})
}

/// Checks that `xml` is well formed: every tag closed in order, attributes quoted, no raw `<`
/// or `&` in text. Returns the element names in document order.
fn xml_elements(xml: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        check_text(&rest[..open]);
        let close = rest[open..].find('>').expect("a tag ends") + open;
        let tag = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if tag.starts_with('?') {
            assert!(tag.ends_with('?'), "processing instruction: {tag}");
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name.trim()), "closing tag");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let name = body
            .split_whitespace()
            .next()
            .expect("a tag name")
            .to_string();
        // Attributes: name="value" pairs with no raw '<' or '"' inside.
        let attrs = body[name.len()..].trim();
        let mut a = attrs;
        while !a.is_empty() {
            let eq = a.find("=\"").expect("attribute is name=\"value\"");
            let end = a[eq + 2..].find('"').expect("attribute value closes") + eq + 2;
            check_text(&a[eq + 2..end]);
            a = a[end + 1..].trim_start();
        }
        names.push(name.clone());
        if !self_closing {
            stack.push(name);
        }
    }
    check_text(rest);
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    names
}

fn check_text(t: &str) {
    assert!(!t.contains('<'), "raw < in {t:?}");
    let mut s = t;
    while let Some(i) = s.find('&') {
        let semi = s[i..].find(';').expect("an entity ends with ;") + i;
        let entity = &s[i + 1..semi];
        assert!(
            ["amp", "lt", "gt", "quot", "apos"].contains(&entity),
            "unknown entity &{entity};"
        );
        s = &s[semi + 1..];
    }
    assert!(
        !t.chars()
            .any(|c| (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t')),
        "control character in XML text"
    );
}

// ---------------------------------------------------------------------------------------------
// The binary: exit codes and output.

#[test]
fn a_small_passing_run_exits_0_with_a_table() {
    let out = harness(&["run", "initial_election", "--runs", "3", "--no-bundles"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let row = stdout
        .lines()
        .find(|l| l.starts_with("initial_election"))
        .expect("a row for the grader");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        &cells[1..4],
        ["3", "0", "3"],
        "passed, failed, total: {row}"
    );
    assert!(stdout.contains("trials/s"), "{stdout}");
    // stderr is a pipe here: no progress bars, no escape codes.
    assert!(!text(&out.stderr).contains('\x1b'), "{}", text(&out.stderr));
}

#[test]
fn an_unknown_grader_exits_2_listing_the_graders() {
    let out = harness(&["run", "initial_elektion"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    for g in graders::all() {
        assert!(stderr.contains(g.name), "{stderr}");
    }
    let out = harness(&["replay", "nope", "--seed", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("initial_election"));
}

#[test]
fn bad_flags_and_files_exit_2_with_a_message() {
    for (args, says) in [
        (&["run", "A", "--runs", "many"][..], "many"),
        (&["run", "A", "--threshold", "1.5"][..], "between 0 and 1"),
        (&["run", "A", "--runs", "0"][..], "at least 1"),
        (&["run", "A", "--stuck-after", "0"][..], "stuck-after"),
        (
            &["run", "A", "--thresholds", "/no/such/file"][..],
            "/no/such/file",
        ),
        (&["run", "A", "--bundle-log", "[["][..], "bundle-log"),
        (&["view", "/no/such/log"][..], "/no/such/log"),
        (&["replay", "initial_election"][..], "--seed"),
        (&["frobnicate"][..], "frobnicate"),
    ] {
        let out = harness(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(says),
            "{args:?} should mention {says:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn list_names_every_grader_with_its_part() {
    let out = harness(&["list"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    for g in graders::all() {
        assert!(stdout.contains(g.name) && stdout.contains(g.description));
        // Each grader's line says whether the original lab has it.
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{} ", g.name)))
            .unwrap_or_else(|| panic!("no line for {}:\n{stdout}", g.name));
        let origin = match g.origin {
            graders::Origin::Original => " original ",
            graders::Origin::Beyond => " beyond ",
        };
        assert!(line.contains(origin), "{line}");
    }
    let beyond = stdout
        .lines()
        .find(|l| l.starts_with("old_term_commit "))
        .expect("old_term_commit is listed");
    assert!(
        beyond.contains(" beyond ") && beyond.contains("Beyond (3B): "),
        "{beyond}"
    );
}

#[test]
fn replay_shows_one_column_per_peer_and_the_outcome() {
    let out = harness(&[
        "replay",
        "initial_election",
        "--seed",
        "4",
        "--width",
        "120",
        "--hide",
        "APPEND",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let titles = stdout.lines().next().expect("a title row");
    assert!(titles.contains("S0") && titles.contains("S1") && titles.contains("S2"));
    assert!(!stdout.contains('\x1b'), "stdout is a pipe: no colours");
    assert!(
        stdout.contains("== begin: Test (3A): initial election"),
        "{stdout}"
    );
    assert!(
        stdout.contains("initial_election seed 4 (sim): PASSED"),
        "{stdout}"
    );
    assert!(stdout.lines().all(|l| l.chars().count() <= 120), "{stdout}");
    assert!(!stdout.contains("APPEND "), "APPEND lines are hidden");
}

#[test]
fn check_determinism_passes_the_real_peer() {
    let out = harness(&[
        "run",
        "initial_election",
        "--runs",
        "2",
        "--check-determinism",
        "--no-bundles",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn saved_trace_hashes_match_a_later_run_and_a_changed_one_fails_its_seed() {
    let dir = temp_dir("trace-hashes");
    let file = dir.join("hashes.txt");
    let file_arg = file.to_str().expect("a UTF-8 temp path");
    let run = |flag: &str, runs: &str| {
        harness(&[
            "run",
            "initial_election",
            "re_election",
            "--runs",
            runs,
            "--no-bundles",
            flag,
            file_arg,
        ])
    };
    let saved = run("--save-trace-hashes", "2");
    assert_eq!(saved.status.code(), Some(0), "{}", text(&saved.stderr));
    let written = std::fs::read_to_string(&file).expect("the hashes were written");
    let lines: Vec<&str> = written.lines().skip(1).collect();
    assert_eq!(lines.len(), 4, "{written}");
    assert!(lines[0].starts_with("initial_election 1 "), "{written}");
    assert!(lines[3].starts_with("re_election 2 ") && lines[3].ends_with(" passed"));

    // The same seeds again, and one more that was not saved.
    let same = run("--compare-trace-hashes", "3");
    let stderr = text(&same.stderr);
    assert_eq!(same.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("(4 saved): 0 differ, 2 trials not in the file"),
        "{stderr}"
    );

    // Another hash for re_election seed 2: that seed fails, saying what changed.
    let mut fields: Vec<String> = lines[3].split(' ').map(str::to_string).collect();
    fields[3] = format!("{:016x}", u64::from_str_radix(&fields[3], 16).unwrap() ^ 1);
    let tampered = written.replace(lines[3], &fields.join(" "));
    std::fs::write(&file, tampered).expect("the file can be written");
    let changed = run("--compare-trace-hashes", "2");
    let (stdout, stderr) = (text(&changed.stdout), text(&changed.stderr));
    assert_eq!(changed.status.code(), Some(1), "{stdout}");
    assert!(stderr.contains("(4 saved): 1 differ"), "{stderr}");
    assert!(
        stdout.contains("seed 2: not the saved run: seed 2 now has")
            && stdout.contains(&format!(
                "the saved trace has {} events, hash {}",
                fields[2], fields[3]
            )),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn ctrl_c_prints_the_table_of_what_finished() {
    let dir = temp_dir("ctrl-c");
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["run", "A", "--runs", "100000", "--out"])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the harness starts");
    // The plan line says that Ctrl-C prints what finished, and the harness prints it only once
    // its handler is installed: from then on an interrupt, however early or late (before the
    // first trial, or in the middle of the run), must end with the table. No guessed sleep.
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr is piped"));
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = stderr.read_line(&mut line).expect("stderr reads");
        assert!(
            n > 0,
            "the harness ended without announcing its plan: {seen}"
        );
        seen.push_str(&line);
        if line.contains(harness_cli::CTRL_C_NOTE) {
            break;
        }
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let mut rest = String::new();
    stderr
        .read_to_string(&mut rest)
        .expect("stderr reads to the end");
    let out = child.wait_with_output().expect("the harness ends");
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "ended by the signal instead of printing the table?\n{stdout}\n{seen}{rest}"
    );
    assert!(stdout.contains("interrupted"), "{stdout}");
    assert!(stdout.contains("initial_election"), "{stdout}");
    assert!(rest.contains("stopping"), "{seen}{rest}");
}

// ---------------------------------------------------------------------------------------------
// Failures: bundles, replays and reports (library level, with the broken peers).

#[test]
fn a_failing_grader_writes_bundles_that_replay_the_same_failure() {
    let dir = temp_dir("bundles");
    let options = options("initial_election", 2, Some(&dir));
    let summary = run::<NeverElects>(&options);
    let g = &summary.graders[0];
    assert_eq!((g.passed, g.failed), (0, 2));
    assert!(!summary.all_passed());
    assert_eq!(summary.bundles, 2);

    for failure in &g.failures {
        assert_eq!(failure.error, "expected one leader, got none");
        let path = failure.bundle.as_ref().expect("a bundle");
        assert!(path.starts_with(&dir));
        assert_eq!(
            path.file_name().and_then(|n| n.to_str()),
            Some(format!("failed-initial_election-seed{}.log", failure.seed).as_str())
        );
        let bundle = std::fs::read_to_string(path).expect("the bundle reads");
        assert!(bundle.starts_with(BUNDLE_MAGIC));
        let header = read_header(&bundle);
        let get = |key: &str| {
            header
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .unwrap_or_else(|| panic!("no {key} in {header:?}"))
        };
        assert_eq!(get("grader"), "initial_election");
        assert_eq!(get("seed"), failure.seed.to_string());
        assert_eq!(get("executor"), "sim");
        assert_eq!(get("result"), "failed");
        assert_eq!(get("error"), "expected one leader, got none");
        assert_eq!(get("log-filter"), "debug");
        let replay = get("replay");
        assert_eq!(
            replay,
            format!(
                "cargo run --release -p harness-cli -- replay initial_election --seed {}",
                failure.seed
            )
        );

        assert_eq!(
            get("view"),
            format!(
                "cargo run --release -p harness-cli -- view {}",
                path.display()
            )
        );

        // The full debug log: the tester's events and the peers' own lines.
        let log = log_part(&bundle);
        assert!(log.contains("TEST") && log.contains("begin: Test (3A): initial election"));
        assert!(log.contains("broken peer up"), "{log}");

        // What the replay command does: the same seed again, with a debug log.
        let grader = graders::by_name("initial_election").expect("a grader");
        let again = replay_trial::<NeverElects>(
            grader,
            failure.seed,
            Executor::Sim,
            "debug",
            Duration::from_secs(10),
        );
        let error = again.outcome.expect_err("the replay fails too").to_string();
        assert_eq!(error, get("error"));
        assert_eq!(
            again.log.as_deref(),
            Some(log.as_str()),
            "the very same run"
        );

        // The view of a bundle shows its header, then the columns.
        let view = render(&bundle, &ViewOptions::default());
        assert!(view.starts_with(BUNDLE_MAGIC));
        assert!(view.contains("S0") && view.contains("S2"));
    }
}

#[test]
fn keep_all_keeps_passing_trials_and_no_bundles_writes_none() {
    let dir = temp_dir("keep-all");
    let mut opts = options("initial_election", 4, Some(&dir));
    opts.keep_all = true;
    let summary = run::<CoinFlip>(&opts);
    let g = &summary.graders[0];
    assert_eq!(g.finished(), 4);
    assert_eq!(summary.bundles, 4);
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("the folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        // Each bundle (`.log`) has its timeline page (`.html`) next to it.
        .filter(|n| n.ends_with(".log"))
        .collect();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("passed-")).count() as u64,
        g.passed
    );
    assert_eq!(
        names.iter().filter(|n| n.starts_with("failed-")).count() as u64,
        g.failed
    );

    let opts = options("initial_election", 2, None);
    let summary = run::<NeverElects>(&opts);
    assert_eq!(summary.bundles, 0);
    assert!(summary.graders[0]
        .failures
        .iter()
        .all(|f| f.bundle.is_none()));
}

#[test]
fn reports_parse_and_apply_thresholds() {
    let summary = run::<CoinFlip>(&options("initial_election", 12, None));
    let g = &summary.graders[0];
    assert!(
        g.passed > 0 && g.failed > 0,
        "the coin-flip peer should both pass and fail over 12 seeds: {} / {}",
        g.passed,
        g.failed
    );
    let rate = g.passed as f64 / 12.0;

    // Threshold 1.0: failed, score 0; the output names every failing seed with its replay.
    let strict = Policy::default();
    let json = gradescope_json(&summary, &strict, "visible");
    let json: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&json).expect("serializes")).expect("parses");
    assert_eq!(json["score"], 0.0);
    assert!(json["execution_time"].is_u64());
    let test = &json["tests"][0];
    assert_eq!(test["status"], "failed");
    assert_eq!(test["score"], 0.0);
    assert_eq!(test["max_score"], 1.0);
    assert_eq!(test["visibility"], "visible");
    assert!(test["name"]
        .as_str()
        .expect("a name")
        .contains("initial_election"));
    let output = test["output"].as_str().expect("an output");
    assert!(
        output.contains(&format!("passed {} of 12 trials", g.passed)),
        "{output}"
    );
    assert!(output.contains("pass rate"), "{output}");
    // The first failing seed with its error, the next two with a pointer to it (one error,
    // printed once), and the others on one line.
    let seeds: Vec<u64> = g.failures.iter().map(|f| f.seed).collect();
    assert!(
        seeds.len() > 3,
        "the coin-flip peer fails more than 3 of 12 seeds"
    );
    assert!(
        output.contains(&format!(
            "  seed {}: expected one leader, got none\n    replay: cargo run --release -p harness-cli -- replay initial_election --seed {}\n",
            seeds[0], seeds[0]
        )),
        "{output}"
    );
    assert_eq!(
        output.matches("expected one leader, got none").count(),
        1,
        "{output}"
    );
    for &seed in &seeds[1..3] {
        assert!(
            output.contains(&format!(
                "  seed {seed}: the same error as seed {}\n    replay: cargo run --release -p harness-cli -- replay initial_election --seed {seed}\n",
                seeds[0]
            )),
            "{output}"
        );
    }
    let rest = &seeds[3..];
    let line = format!(
        "  {} more failing seed{}: {}",
        rest.len(),
        if rest.len() == 1 { "" } else { "s" },
        harness_cli::failures::seed_list(rest, 40)
    );
    assert!(output.lines().any(|l| l == line), "{line:?} in:\n{output}");
    // The report's data: the error once, with its seeds; each failing seed pointing at it.
    let extra = &test["extra_data"];
    assert_eq!(
        extra["errors"],
        serde_json::json!([{"error": "expected one leader, got none", "seeds": seeds}])
    );
    assert_eq!(
        extra["failing_seeds"].as_array().map(Vec::len),
        Some(g.failures.len())
    );
    assert!(extra["failing_seeds"]
        .as_array()
        .expect("a list")
        .iter()
        .all(|f| f["error"] == 0));
    assert_eq!(
        extra["replay"],
        "cargo run --release -p harness-cli -- replay initial_election --seed SEED"
    );

    // A threshold at the pass rate passes, with max_score from a thresholds file.
    let dir = temp_dir("policy");
    let file = dir.join("thresholds.txt");
    std::fs::write(
        &file,
        format!("# per grader\ninitial_election = {rate}\ninitial_election.max_score = 5\n"),
    )
    .expect("write");
    let lenient = Policy::default().load(&file).expect("a valid file");
    let json = gradescope_json(&summary, &lenient, "after_due_date");
    assert_eq!(json["score"], 5.0);
    assert_eq!(json["tests"][0]["status"], "passed");
    assert_eq!(json["tests"][0]["max_score"], 5.0);
    assert_eq!(json["tests"][0]["visibility"], "after_due_date");

    // JUnit: well formed; a failure element naming the seeds only below the threshold.
    let xml = junit_xml(&summary, &strict);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let elements = xml_elements(&xml);
    assert_eq!(elements.iter().filter(|e| *e == "testsuite").count(), 1);
    assert_eq!(elements.iter().filter(|e| *e == "testcase").count(), 1);
    assert_eq!(elements.iter().filter(|e| *e == "failure").count(), 1);
    assert!(xml.contains("<testcase name=\"initial_election\""));
    let first = g.failures[0].seed;
    assert!(xml.contains(&format!("failing seeds: {first}")), "{xml}");
    let xml = junit_xml(&summary, &lenient);
    assert_eq!(
        xml_elements(&xml)
            .iter()
            .filter(|e| *e == "failure")
            .count(),
        0
    );
}

#[test]
fn the_cli_exits_1_on_failures_and_writes_its_reports() {
    let dir = temp_dir("cli-reports");
    let json = dir.join("out/results.json");
    let junit = dir.join("out/junit.xml");
    let code = harness_cli::main_from::<NeverElects, _, _>([
        "harness",
        "run",
        "initial_election",
        "--runs",
        "2",
        "--out",
        dir.join("bundles").to_str().expect("utf-8"),
        "--json",
        json.to_str().expect("utf-8"),
        "--junit",
        junit.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 1);
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("results.json")).expect("JSON");
    assert_eq!(value["tests"][0]["status"], "failed");
    assert_eq!(value["tests"].as_array().map(Vec::len), Some(1));
    let xml = std::fs::read_to_string(&junit).expect("junit.xml");
    let elements = xml_elements(&xml);
    assert_eq!(elements.iter().filter(|e| *e == "failure").count(), 1);
    assert!(xml.contains("failing seeds: 1, 2") || xml.contains("failing seeds: 2, 1"));
    // Two bundles, each with its timeline page.
    assert_eq!(
        std::fs::read_dir(dir.join("bundles"))
            .expect("bundles")
            .filter(|e| e
                .as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "log")))
            .count(),
        2
    );

    // A threshold of 0 passes the same failures: exit 0.
    let code = harness_cli::main_from::<NeverElects, _, _>([
        "harness",
        "run",
        "initial_election",
        "--runs",
        "1",
        "--no-bundles",
        "--threshold",
        "0",
    ]);
    assert_eq!(code, 0);
}

#[test]
fn a_stuck_trial_fails_with_a_clear_message_and_the_run_goes_on() {
    let dir = temp_dir("stuck");
    let mut opts = options("initial_election", 2, Some(&dir));
    opts.stuck_after = Duration::from_millis(200);
    assert!(opts.html, "timeline pages are on by default");
    let summary = run::<Blocks<0>>(&opts);
    let g = &summary.graders[0];
    assert_eq!((g.passed, g.failed), (0, 2), "both seeds ran and failed");
    // Each stuck seed ran once: its log was taken as it ran, not by running it again (which
    // would cost a second stuck window and leave a second thread behind), and its timeline
    // page was drawn from that log, not from a replay.
    assert_eq!(
        BLOCKS_RUNS[0].load(Ordering::SeqCst),
        2,
        "one run per stuck seed"
    );
    for f in &g.failures {
        let page = std::fs::read_to_string(f.page.as_ref().expect("a page")).expect("reads");
        assert!(
            page.contains(
                "drawn from the trial&apos;s text log, as it ran (it was stopped by a watchdog"
            ),
            "{page}"
        );
    }
    for f in &g.failures {
        // The runtime's message, whole: what happened, the run and seed, what to look for.
        assert!(
            f.error
                .starts_with(&format!("initial_election (seed {}): ", f.seed)),
            "{}",
            f.error
        );
        assert!(f.error.contains("stuck"), "{}", f.error);
        assert!(f.error.contains("a blocking call"), "{}", f.error);
        // The bundle keeps the log up to the point where the run stopped moving.
        let bundle = std::fs::read_to_string(f.bundle.as_ref().expect("a bundle")).expect("reads");
        assert!(bundle.contains("about to block"), "{bundle}");
        assert!(
            bundle.contains("begin: Test (3A): initial election"),
            "{bundle}"
        );
        let header = read_header(&bundle);
        assert!(
            header.iter().any(|(k, v)| k == "error" && *v == f.error),
            "{header:?}"
        );
        // The text after the table shows the whole message, every line of it.
        let text = harness_cli::failures_text(&summary);
        for line in f.error.lines() {
            assert!(text.contains(line), "{text}");
        }
    }
}

// The one-run rule holds with every option that could run a trial again: a timeline page, the
// determinism check, and a page for passing seeds too.
#[test]
fn a_stuck_seed_runs_once_with_pages_and_the_determinism_check_on() {
    let dir = temp_dir("stuck-determinism");
    let mut opts = options("initial_election", 1, Some(&dir));
    opts.stuck_after = Duration::from_millis(200);
    opts.check_determinism = true;
    opts.keep_all = true;
    opts.html = true;
    let summary = run::<Blocks<2>>(&opts);
    let g = &summary.graders[0];
    assert_eq!(g.failed, 1);
    assert_eq!(BLOCKS_RUNS[2].load(Ordering::SeqCst), 1, "no second run");
    let f = &g.failures[0];
    assert!(f.error.contains("stuck"), "{}", f.error);
    assert!(f.page.as_ref().is_some_and(|p| p.is_file()), "{f:?}");
    let bundle = std::fs::read_to_string(f.bundle.as_ref().expect("a bundle")).expect("reads");
    assert!(
        bundle.contains("not run a second time for --check-determinism"),
        "{bundle}"
    );
}

#[test]
fn a_stuck_seed_under_cargo_test_runs_once_and_shows_its_log() {
    let plan = TestPlan {
        executor: Executor::Sim,
        seeds: vec![4],
        log: None,
        html: None,
        stuck_after: Duration::from_millis(200),
    };
    let failed = failures::<Blocks<1>>("initial_election", &plan);
    assert_eq!(failed.len(), 1);
    assert_eq!(BLOCKS_RUNS[1].load(Ordering::SeqCst), 1, "no second run");
    let report = &failed[0];
    assert!(
        matches!(
            report.outcome,
            Err(TrialError::Runtime(RunError::Stuck { seed: 4, .. }))
        ),
        "{:?}",
        report.outcome
    );
    let log = report.log.as_deref().expect("the tail of the run's log");
    assert!(log.contains("about to block"), "{log}");
}

#[test]
fn a_capture_gets_events_whose_call_site_another_thread_met_first() {
    // The pattern behind bundles without the tester's lines: a capture is alive (a failing
    // seed's replay) while a trial without a log meets a call site for the first time.
    harness_cli::run::keep_log_captures_complete();
    let capture = harness::logs::Capture::new("debug").expect("a valid filter");
    fn fresh(n: u32) {
        tracing::info!(target: "tester", topic = "test", "call site met first elsewhere {n}");
    }
    std::thread::scope(|scope| {
        scope.spawn(|| fresh(1));
    });
    tracing::dispatcher::with_default(&capture.dispatch(), || fresh(2));
    let log = capture.take();
    assert!(log.contains("call site met first elsewhere 2"), "{log:?}");
}

#[test]
fn check_determinism_names_the_first_differing_event() {
    let mut opts = options("initial_election", 1, None);
    opts.check_determinism = true;
    let summary = run::<Wobbly>(&opts);
    let failure = &summary.graders[0].failures[0];
    assert!(
        failure.error.contains("not deterministic") && failure.error.contains("at event #"),
        "{}",
        failure.error
    );
    assert!(
        failure.error.contains("first run event #"),
        "{}",
        failure.error
    );
}

// ---------------------------------------------------------------------------------------------
// The part-A broken peers through the CLI's run path, and memory.

/// Runs `runs` seeds of `grader` with peer `P` through the run loop, writing bundles to a fresh
/// folder named after `label`; checks that every seed failed with `needle`, in the table, the
/// text after it, the bundles and Gradescope's results.
fn assert_run_fails_with<P: Peer>(label: &str, grader: &str, runs: u64, needle: &str) {
    let dir = temp_dir(&format!("broken-{label}"));
    let summary = run::<P>(&options(grader, runs, Some(&dir)));
    let g = &summary.graders[0];
    assert_eq!(
        (g.passed, g.failed),
        (0, runs),
        "{grader}: every seed fails"
    );
    assert_eq!(summary.bundles, runs);

    // The table's row: passed, failed, total, pass rate.
    let table = harness_cli::stats::format_table(&summary, false);
    let row: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with(grader))
        .unwrap_or_else(|| panic!("no row for {grader}:\n{table}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        &row[1..5],
        ["0", &runs.to_string(), &runs.to_string(), "0.0%"],
        "{table}"
    );

    let text = harness_cli::failures_text(&summary);
    assert!(
        text.contains(&format!("{grader}: {runs} of {runs} seeds failed")),
        "{text}"
    );
    assert_each_error_once(&text, &g.failures);
    for f in &g.failures {
        assert!(f.error.contains(needle), "seed {}: {}", f.seed, f.error);
        assert!(
            text.contains(&format!("replay {grader} --seed {}", f.seed)),
            "{text}"
        );
        // The bundle: the error in its header, and the run's own log, with the tester's events
        // up to the failed check.
        let bundle = std::fs::read_to_string(f.bundle.as_ref().expect("a bundle")).expect("reads");
        let header = read_header(&bundle);
        assert!(
            header.iter().any(|(k, v)| k == "error" && *v == f.error),
            "{header:?}"
        );
        let log = log_part(&bundle);
        let title = graders::by_name(grader).expect("a grader").title;
        assert!(log.contains(&format!("begin: {title}")), "{log}");
        assert!(log.contains("check_one_leader"), "{log}");
    }

    // Gradescope: failed, with each seed's message.
    let json = gradescope_json(&summary, &Policy::default(), "visible");
    assert_eq!(json["tests"][0]["status"], "failed");
    let output = json["tests"][0]["output"].as_str().expect("an output");
    assert_each_error_once(output, &g.failures);
}

/// Each failing seed (all of them detailed: at most three) is named with its error, or with the
/// earlier seed that failed the same way; each distinct error is printed once.
fn assert_each_error_once(text: &str, failures: &[harness_cli::run::FailedSeed]) {
    for (i, f) in failures.iter().enumerate() {
        let first_line = f.error.lines().next().unwrap_or("");
        match failures[..i].iter().find(|e| e.error == f.error) {
            Some(earlier) => assert!(
                text.contains(&format!(
                    "  seed {}: the same error as seed {}",
                    f.seed, earlier.seed
                )),
                "{text}"
            ),
            None => assert!(
                text.contains(&format!("  seed {}: {first_line}", f.seed)),
                "{text}"
            ),
        }
        assert_eq!(
            text.matches(first_line).count(),
            1,
            "the error of seed {} is printed once:\n{text}",
            f.seed
        );
    }
}

#[test]
fn the_run_path_fails_a_leader_that_never_steps_down() {
    assert_run_fails_with::<ToyPeer<NeverStepDown>>(
        "never-step-down",
        "re_election",
        3,
        "stale leader",
    );
}

#[test]
fn the_run_path_fails_a_lone_peer_that_leads_without_a_majority() {
    assert_run_fails_with::<ToyPeer<LoneLeader>>(
        "lone-leader",
        "re_election",
        3,
        "expected no leader among connected servers, but",
    );
}

#[test]
fn the_run_path_fails_followers_that_ignore_heartbeats_and_chatty_leaders() {
    assert_run_fails_with::<ToyPeer<NoTimerReset>>(
        "no-timer-reset",
        "heartbeat_stability",
        2,
        "term changed",
    );
    assert_run_fails_with::<ToyPeer<ChattyHeartbeats>>(
        "chatty",
        "heartbeat_stability",
        2,
        "per second",
    );
}

#[test]
fn the_cli_reports_a_broken_peer_with_exit_1_bundles_and_results_json() {
    let dir = temp_dir("cli-broken-peer");
    let json = dir.join("results.json");
    let code = harness_cli::main_from::<ToyPeer<NeverStepDown>, _, _>([
        "harness",
        "run",
        "re_election",
        "--runs",
        "2",
        "--out",
        dir.join("bundles").to_str().expect("utf-8"),
        "--no-monitor",
        "--json",
        json.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 1);
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("results.json")).expect("JSON");
    assert_eq!(value["tests"][0]["status"], "failed");
    assert_eq!(value["score"], 0.0);
    let output = value["tests"][0]["output"].as_str().expect("an output");
    assert!(output.contains("stale leader"), "{output}");
    let bundles: Vec<String> = std::fs::read_dir(dir.join("bundles"))
        .expect("bundles")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut bundles = bundles;
    bundles.sort();
    // Each bundle with its timeline page.
    assert_eq!(
        bundles,
        [
            "failed-re_election-seed1.html",
            "failed-re_election-seed1.log",
            "failed-re_election-seed2.html",
            "failed-re_election-seed2.log"
        ]
    );
}

#[test]
fn passing_seeds_that_warn_are_counted_and_listed_after_the_table() {
    let summary = run::<ToyPeer<NoTimerReset>>(&options("initial_election", 3, None));
    let g = &summary.graders[0];
    assert_eq!(
        (g.passed, g.warned),
        (3, 3),
        "each seed passes with a warning"
    );
    let text = harness_cli::failures_text(&summary);
    assert!(
        text.contains("initial_election: 3 passing seeds with a warning"),
        "{text}"
    );
    for seed in 1..=3 {
        assert!(
            text.contains(&format!(
                "  seed {seed}: warning: term changed even though there were no failures"
            )),
            "{text}"
        );
    }
    // Gradescope's output for the grader lists them too.
    let json = gradescope_json(&summary, &Policy::default(), "visible");
    let output = json["tests"][0]["output"].as_str().expect("an output");
    assert!(
        output.contains("passing seeds with a warning (3):")
            && output
                .contains("  seed 2: warning: term changed even though there were no failures"),
        "{output}"
    );
    // The correct peer has nothing to warn about.
    let summary = run::<ToyPeer<Correct>>(&options("initial_election", 3, None));
    assert_eq!(summary.graders[0].warned, 0);
    assert_eq!(harness_cli::failures_text(&summary), "");
}

#[test]
fn finished_trials_leave_no_peer_behind() {
    // A trial's network holds its servers, whose handlers hold the peers, which hold ends of the
    // network: unless the tester breaks that cycle, every trial stays in memory (about 10 KiB
    // each, 200 MB for 20,000 trials). Counted peers are used by this test only.
    for (runs, jobs) in [(1, 1), (30, 2)] {
        let mut opts = options("initial_election", runs, None);
        opts.jobs = jobs;
        let summary = run::<ToyPeer<Counted>>(&opts);
        assert!(summary.all_passed());
        assert_eq!(
            LIVE_COUNTED.load(Ordering::SeqCst),
            0,
            "peers of {runs} finished trials are still alive"
        );
    }
}

#[test]
fn the_schedule_is_computed_not_listed() {
    let graders = [
        "initial_election",
        "re_election",
        "many_elections",
        "heartbeat_stability",
    ]
    .map(|name| graders::by_name(name).expect("a part-A grader"))
    .to_vec();
    let mut opts = RunOptions::new(graders, 1_000_000_000);
    opts.seed_start = 7;
    assert_eq!(opts.trials(), 4_000_000_000);
    assert_eq!(opts.nth(0), Some((0, 7)));
    assert_eq!(opts.nth(5), Some((1, 8)));
    assert_eq!(opts.nth(3_999_999_999), Some((3, 7 + 999_999_999)));
    assert_eq!(opts.nth(4_000_000_000), None);
    opts.sequential = true;
    assert_eq!(opts.nth(1_000_000_001), Some((1, 8)));
}

// ---------------------------------------------------------------------------------------------
// The log view (pure function, synthetic log).

const LOG: &str = "\
  0.000000 TEST   -   -    begin: Test (3A): initial election (reliable network)
  0.512000 TIMER  S1  T0   election timeout after 512ms
  0.512000 VOTE   S1  T1   asking for votes
  0.513000 VOTE   S0  T1   granted vote to S1 for term 1
  0.513500 VOTE   S2  T1   granted vote to S1 for term 1
  0.514000 LEADER S1  T1   won the election with 3 of 3 votes
  0.600000 APPEND S0  T1   heartbeat from S1
thread 'lab-run' panicked at raft/src/peer.rs:10:5:
oops
  0.700000 TEST   -   -    check_one_leader: S1 leads term 1
";

fn view(options: ViewOptions) -> String {
    render(LOG, &options)
}

fn column_of(view: &str, needle: &str) -> usize {
    let line = view
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in\n{view}"));
    line.find(needle).expect("found")
}

#[test]
fn each_peer_gets_its_own_column() {
    let v = view(ViewOptions {
        width: 130,
        ..ViewOptions::default()
    });
    // A gutter of 10 for the time, then three columns of 40.
    let granted: Vec<usize> = v
        .lines()
        .filter_map(|l| l.find("VOTE T1 granted vote to S1 for term 1"))
        .collect();
    assert_eq!(granted, vec![10, 90], "S0 and S2 granted:\n{v}");
    assert_eq!(column_of(&v, "VOTE T1 asking for votes"), 50);
    assert!(v.lines().all(|l| l.chars().count() <= 130), "{v}");
    // Times sit in the gutter.
    assert!(
        v.contains("   0.512") && v.contains("TIMER T0 election timeout"),
        "{v}"
    );
    let titles = v.lines().next().expect("titles");
    assert_eq!(titles.find("S1"), Some(50), "{titles}");
}

#[test]
fn tester_lines_span_the_width_and_wrap() {
    let v = view(ViewOptions {
        width: 50,
        ..ViewOptions::default()
    });
    assert!(v.contains("== begin: Test (3A): initial"), "{v}");
    // Every drawn line fits; only the unparsed panic line is printed as it is.
    assert!(
        v.lines()
            .filter(|l| !l.contains("panicked"))
            .all(|l| l.chars().count() <= 50),
        "{v}"
    );
    // A peer line longer than its column wraps onto more rows in the same column.
    let rows: Vec<&str> = v
        .lines()
        .filter(|l| l.contains("won") || l.contains("election with"))
        .collect();
    assert!(!rows.is_empty(), "{v}");
}

#[test]
fn unparsed_lines_stand_out_between_rules() {
    let v = view(ViewOptions::default());
    let lines: Vec<&str> = v.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("thread 'lab-run' panicked"))
        .expect("the panic line, as it is");
    assert!(lines[at - 1].chars().all(|c| c == '-'), "{v}");
    assert_eq!(lines[at + 1], "oops");
    assert!(lines[at + 2].chars().all(|c| c == '-'), "{v}");
}

#[test]
fn only_and_hide_filter_topics_but_keep_the_tester() {
    let v = view(ViewOptions {
        only: vec!["LEAD".into()],
        ..ViewOptions::default()
    });
    assert!(v.contains("won the election"));
    assert!(!v.contains("granted vote"));
    assert!(
        v.contains("check_one_leader"),
        "TEST lines stay with --only"
    );

    let v = view(ViewOptions {
        hide: vec!["VOTE".into(), "TIMR".into(), "TEST".into()],
        ..ViewOptions::default()
    });
    assert!(!v.contains("granted vote") && !v.contains("election timeout"));
    assert!(!v.contains("check_one_leader"), "--hide TEST hides them");
    assert!(v.contains("heartbeat from S1"));

    let v = view(ViewOptions {
        only: vec!["VOET".into()],
        ..ViewOptions::default()
    });
    assert!(
        v.contains("note: no line of this log has topic VOET"),
        "{v}"
    );
}

#[test]
fn fewer_columns_than_peers_spans_the_rest() {
    let v = view(ViewOptions {
        columns: Some(2),
        width: 90,
        ..ViewOptions::default()
    });
    let title = v.lines().next().expect("titles");
    assert!(title.contains("S1") && !title.contains("S2"), "{title}");
    assert_eq!(column_of(&v, "S2 VOTE T1 granted"), 10, "{v}");
}

#[test]
fn colours_only_when_asked() {
    let plain = view(ViewOptions::default());
    assert!(!plain.contains('\x1b'));
    let coloured = view(ViewOptions {
        color: true,
        ..ViewOptions::default()
    });
    assert!(
        coloured.contains("\x1b[38;5;44mVOTE T1 asking for votes\x1b[0m"),
        "{coloured}"
    );
    assert!(coloured.contains("\x1b[1;38;5;15m== begin"), "{coloured}");
}

#[test]
fn view_reads_stdin_and_files() {
    let dir = temp_dir("view");
    let file = dir.join("run.log");
    std::fs::write(&file, LOG).expect("write");
    let out = harness(&[
        "view",
        file.to_str().expect("utf-8"),
        "--no-time",
        "--only",
        "LEADER",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("LEADER T1 won the election"), "{stdout}");
    assert!(!stdout.contains("granted vote"), "{stdout}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["replay", "--file", "-", "--raw", "--hide", "VOTE"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(LOG.as_bytes()).expect("write");
    }
    let out = child.wait_with_output().expect("ends");
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("  0.514000 LEADER S1  T1   won the election"),
        "{stdout}"
    );
    assert!(!stdout.contains("asking for votes"), "{stdout}");
    assert!(stdout.contains("oops"), "unparsed lines pass through --raw");
}

/// The conformance graders are beyond the original lab: `--only-original` leaves them out.
#[test]
fn only_original_leaves_the_conformance_graders_out() {
    use harness_cli::{main_from, EXIT_PASSED, EXIT_USAGE};
    let code =
        main_from::<raft::Raft, _, _>(["harness", "run", "fig2_older_term", "--only-original"]);
    assert_eq!(code, EXIT_USAGE, "nothing is left to run");

    let report = std::env::temp_dir().join(format!(
        "conformance-only-original-{}.json",
        std::process::id()
    ));
    let path = report.to_str().expect("a UTF-8 temp path");
    let code = main_from::<raft::Raft, _, _>([
        "harness",
        "run",
        "fig2_older_term",
        "initial_election",
        "--only-original",
        "--runs",
        "1",
        "--no-bundles",
        "--json",
        path,
    ]);
    let json = std::fs::read_to_string(&report).expect("the report was written");
    let _ = std::fs::remove_file(&report);
    assert_eq!(code, EXIT_PASSED);
    assert!(json.contains("initial_election"), "{json}");
    assert!(!json.contains("fig2_"), "{json}");
}

/// A fresh folder under the test's scratch space, for the timeline pages the CLI writes.
fn timeline_scratch(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("timeline-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

#[test]
fn harness_run_writes_a_page_next_to_each_failure_bundle_unless_told_not_to() {
    use harness_cli::run::{run_trials, Control, RunOptions};
    use std::sync::Arc;

    let out = timeline_scratch("run");
    let mut options = RunOptions::new(graders::select("heartbeat_stability").expect("a grader"), 2);
    options.out_dir = Some(out.clone());
    options.jobs = 1;
    let summary =
        run_trials::<ToyPeer<NoTimerReset>>(&options, &Arc::new(Control::default()), |_| {});
    let failures = &summary.graders[0].failures;
    assert_eq!(failures.len(), 2);
    for f in failures {
        let bundle = f.bundle.as_ref().expect("a bundle");
        let page = f.page.as_ref().expect("a page");
        assert_eq!(page, &bundle.with_extension("html"));
        let html = std::fs::read_to_string(page).expect("the page was written");
        assert!(html.contains("FAILED") && html.contains("heartbeat-only stability"));
        let text = std::fs::read_to_string(bundle).expect("the bundle was written");
        assert!(
            text.contains(&format!("# timeline: {}", page.display())),
            "the bundle names its page"
        );
    }
    let listed = harness_cli::failures_text(&summary);
    assert!(listed.contains("timeline: "), "{listed}");

    let quiet = timeline_scratch("run-no-html");
    options.out_dir = Some(quiet.clone());
    options.html = false;
    let summary =
        run_trials::<ToyPeer<NoTimerReset>>(&options, &Arc::new(Control::default()), |_| {});
    assert!(summary.graders[0].failures.iter().all(|f| f.page.is_none()));
    let pages = std::fs::read_dir(&quiet)
        .expect("bundles were written")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "html"))
        })
        .count();
    assert_eq!(pages, 0, "--no-html wrote pages");
}

#[test]
fn harness_replay_html_writes_the_page_of_that_seed() {
    let dir = timeline_scratch("replay");
    let page = dir.join("sub").join("seed1.html");
    let code = harness_cli::main_from::<ToyPeer<NoTimerReset>, _, _>([
        "harness",
        "replay",
        "heartbeat_stability",
        "--seed",
        "1",
        "--raw",
        "--html",
        page.to_str().expect("a UTF-8 path"),
    ]);
    assert_eq!(code, harness_cli::EXIT_FAILED, "the seed fails");
    let html = std::fs::read_to_string(&page).expect("the page was written");
    let grader = graders::by_name("heartbeat_stability").expect("a grader");
    let report = harness::trial::run_trial::<ToyPeer<NoTimerReset>>(
        grader,
        &harness::trial::TrialSettings::sim(1).with_timeline(),
    );
    assert_eq!(
        html,
        harness::timeline::page(&report),
        "the replay's page is the page of that very run"
    );
}

/// `harness history` checks a history file and writes its page: exit 1 and the violation on a
/// stale read, exit 0 on a good history, exit 2 on a file it cannot read.
#[test]
fn harness_history_writes_the_page_of_a_history_file() {
    use harness_cli::{main_from, EXIT_FAILED, EXIT_PASSED, EXIT_USAGE};

    let dir = timeline_scratch("history");
    // Client 1 reads "" after client 0's put of "a" returned.
    let stale = "\
{:process 0, :type :invoke, :f :put, :key \"x\", :value \"a\"}
{:process 0, :type :ok, :f :put, :key \"x\", :value \"a\"}
{:process 1, :type :invoke, :f :get, :key \"x\", :value nil}
{:process 1, :type :ok, :f :get, :key \"x\", :value \"\"}
";
    let file = dir.join("stale.edn");
    std::fs::write(&file, stale).expect("the history can be written");
    let page = dir.join("stale.html");
    let arg = |p: &Path| p.to_str().expect("a UTF-8 path").to_string();
    let code = main_from::<raft::Raft, _, _>([
        "harness".to_string(),
        "history".into(),
        "--model".into(),
        "kv".into(),
        arg(&file),
        "-o".into(),
        arg(&page),
    ]);
    assert_eq!(code, EXIT_FAILED, "a stale read is not linearizable");
    let html = std::fs::read_to_string(&page).expect("the page was written");
    assert!(html.contains("history of client calls: NOT LINEARIZABLE"));
    assert!(
        html.contains(r#""axis":"order""#),
        "event order on the axis"
    );
    assert!(
        html.contains("get(&apos;x&apos;) -&gt; &apos;&apos;"),
        "the stale read is in the page's explanation"
    );
    assert!(
        html.contains(r#""stuck":{"op":1"#),
        "and marked in its data"
    );

    // Without the read, the default page name is the file's with .html.
    let good = dir.join("good.edn");
    std::fs::write(&good, stale.lines().take(2).collect::<Vec<_>>().join("\n"))
        .expect("the history can be written");
    let code = main_from::<raft::Raft, _, _>(["harness", "history", "--model", "kv", &arg(&good)]);
    assert_eq!(code, EXIT_PASSED);
    let html = std::fs::read_to_string(dir.join("good.html")).expect("the page was written");
    assert!(html.contains("history of client calls: LINEARIZABLE"));

    let code = main_from::<raft::Raft, _, _>([
        "harness",
        "history",
        "--model",
        "kv",
        &arg(&dir.join("missing.edn")),
    ]);
    assert_eq!(code, EXIT_USAGE, "a file that cannot be read");
}

// ---------------------------------------------------------------------------------------------
// Many failing seeds: readable output and bounded bundles (issue 18 item 6, issue 19 item 6).

/// Twelve seeds that all fail the same way, four at once: the text shows three of them (the
/// error once), the other nine on one line, and the table last; only the five lowest seeds
/// keep a bundle and a page, whatever order the trials finished in; the report names each
/// bundle from its own folder and the error once.
#[test]
fn many_failing_seeds_print_three_keep_five_bundles_and_end_with_the_table() {
    let dir = temp_dir("many-failures");
    let out = dir.join("bundles");
    let mut opts = options("initial_election", 12, Some(&out));
    opts.jobs = 4;
    let summary = run::<NeverElects>(&opts);
    let g = &summary.graders[0];
    assert_eq!((g.passed, g.failed), (0, 12));

    // Five bundles and five pages, those of seeds 1 to 5, and nothing else on disk.
    assert_eq!(summary.bundles, 5);
    let mut on_disk: Vec<String> = std::fs::read_dir(&out)
        .expect("the bundles folder")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    on_disk.sort();
    let mut wanted: Vec<String> = (1..=5)
        .flat_map(|s| ["log", "html"].map(|ext| format!("failed-initial_election-seed{s}.{ext}")))
        .collect();
    wanted.sort();
    assert_eq!(on_disk, wanted);
    let bundled: Vec<u64> = g
        .failures
        .iter()
        .filter(|f| f.bundle.is_some())
        .map(|f| f.seed)
        .collect();
    assert_eq!(bundled, [1, 2, 3, 4, 5]);

    let table = harness_cli::stats::format_table(&summary, false);
    let text = harness_cli::failures::after_run(&summary, true, &[], false);
    let expected_failures = format!(
        "initial_election: 12 of 12 seeds failed
  seed 1: expected one leader, got none
    replay: cargo run --release -p harness-cli -- replay initial_election --seed 1
    bundle: {b}/failed-initial_election-seed1.log
    timeline: {b}/failed-initial_election-seed1.html
  seed 2: the same error as seed 1
    replay: cargo run --release -p harness-cli -- replay initial_election --seed 2
    bundle: {b}/failed-initial_election-seed2.log
    timeline: {b}/failed-initial_election-seed2.html
  seed 3: the same error as seed 1
    replay: cargo run --release -p harness-cli -- replay initial_election --seed 3
    bundle: {b}/failed-initial_election-seed3.log
    timeline: {b}/failed-initial_election-seed3.html
  9 more failing seeds: 4..=12 (bundles of seeds 4, 5 in {b})

5 bundles in {b} (show one with: cargo run --release -p harness-cli -- view FILE; open its .html timeline in a browser)

",
        b = out.display()
    );
    assert_eq!(text, format!("{expected_failures}{table}"));
    assert!(text.ends_with(&table), "the table comes last");

    // results.json next to the bundles' folder names them from there; one error, twelve seeds.
    let json = harness_cli::report::gradescope_report(
        &summary,
        &Policy::default(),
        "visible",
        &dir.join("results.json"),
    );
    let extra = &json["tests"][0]["extra_data"];
    assert_eq!(
        extra["errors"],
        serde_json::json!([{"error": "expected one leader, got none", "seeds": (1..=12).collect::<Vec<u64>>()}])
    );
    let failing = extra["failing_seeds"].as_array().expect("a list");
    assert_eq!(
        failing[0],
        serde_json::json!({"seed": 1, "error": 0, "bundle": "bundles/failed-initial_election-seed1.log"})
    );
    assert_eq!(failing[11], serde_json::json!({"seed": 12, "error": 0}));
    let output = json["tests"][0]["output"].as_str().expect("an output");
    assert!(
        output.contains("    bundle: bundles/failed-initial_election-seed1.log\n")
            && output.contains("  9 more failing seeds: 4..=12\n"),
        "{output}"
    );
    assert!(!output.contains(dir.to_str().expect("utf-8")), "{output}");

    // --max-bundles 0: no bundle at all, every seed still listed.
    opts.max_bundles = 0;
    opts.out_dir = Some(dir.join("none"));
    let summary = run::<NeverElects>(&opts);
    assert_eq!(summary.bundles, 0);
    assert!(summary.graders[0]
        .failures
        .iter()
        .all(|f| f.bundle.is_none()));
    assert!(harness_cli::failures_text(&summary).contains("  9 more failing seeds: 4..=12\n"));
}

/// Under `cargo test`, forty failing seeds give a message of the first seed's error, its log's
/// tail and its replay, with the seeds as ranges on one line, not forty errors.
#[test]
fn a_test_failing_on_many_seeds_says_so_in_a_few_lines() {
    let plan = TestPlan {
        executor: Executor::Sim,
        seeds: (1..=40).collect(),
        log: None,
        html: None,
        stuck_after: Duration::from_secs(10),
    };
    let failed = failures::<NeverElects>("initial_election", &plan);
    assert_eq!(failed.len(), 40);
    let grader = graders::by_name("initial_election").expect("a grader");
    let message = harness::testing::failure_message(&grader, 40, &failed, "");
    assert!(
        message.starts_with(
            "initial_election failed on 40 of 40 seeds (1..=40): expected one leader, got none\n--- last "
        ),
        "{message}"
    );
    assert_eq!(
        message.matches("expected one leader, got none").count(),
        1,
        "{message}"
    );
    assert!(
        message.ends_with(
            "\nreplay: LAB_SEED=1 cargo test -p harness --test graders -- --exact raft_3A::initial_election"
        ),
        "{message}"
    );
    // The log's tail (at most 60 lines), the header, the replay, nothing per seed.
    assert!(message.lines().count() <= 65, "{message}");
}
