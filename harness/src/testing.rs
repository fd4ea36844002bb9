//! Running graders from `cargo test`: seeds, executors and replay commands from the
//! environment.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `LAB_RUNTIME` | `sim` or `real` | `sim` |
//! | `LAB_SEED` | run this one seed (replays a failure) | unset |
//! | `LAB_SEEDS` | how many seeds to run | 12 in sim (fewer for the longest graders), 1 in real |
//! | `LAB_SEED_START` | the first seed | 1 |
//! | `LAB_LOG` (or `RUST_LOG`) | print the log of each trial to stderr as it runs, passing or not (a level such as `debug`, or `info,raft=trace`: [`logs::parse_filter`](crate::logs::parse_filter)) | unset |
//! | `LAB_STUCK_AFTER` | seconds of wall time without progress before a trial is failed as stuck: the outer bound (a deadlock or a spin of a peer's task is named after [`DEADLOCK_AFTER`](labrpc::runtime::DEADLOCK_AFTER), 2 s) | 10 |
//! | `LAB_MONITOR` | `0` turns the safety monitor off ([`crate::monitor`]) | on |
//! | `LAB_HTML` | `1`: write the [timeline pages](crate::timeline) of the first three failing seeds under `lab-results/timeline/`; a folder: write them there | unset |
//!
//! Every trial keeps the tail of its debug log as it runs, so a failing seed's panic message
//! ends with the last lines of the very run that failed, the timeline pages written (with
//! `LAB_HTML`, whose trials also keep the structured records the pages are drawn from), and the
//! command that replays it. Nothing is run twice: a stuck seed costs the watchdog's wait once,
//! not twice.
//!
//! A failing test's message stays short however many seeds fail: the first failing seed in
//! full (its error, the tail of its log, its replay command), the others by seed (consecutive
//! seeds as ranges, the first ten items), and the first line of each other way they failed;
//! `LAB_HTML` writes the pages of the first three.
//!
//! A passing seed's stats line (one per cluster) is printed as the Go tester prints it, seen
//! with `cargo test -- --nocapture`. Its warnings (`warning: term changed even though there
//! were no failures`) are written straight to stderr, which `cargo test` does not capture, so
//! they show whatever the flags.

use std::io::Write as _;
use std::time::Duration;

use labrpc::runtime::Executor;

use std::path::PathBuf;

use crate::graders;
use crate::trial::{run_trial, TrialReport, TrialSettings};
use raftapi::Peer;

/// Seeds a grader runs in sim mode under `cargo test` unless `LAB_SEEDS` says otherwise.
pub const DEFAULT_SIM_SEEDS: u64 = 12;

/// Lines of a failing run's log shown in the panic message.
const LOG_TAIL_LINES: usize = 60;

/// The log filter of the tail shown for a failure when `LAB_LOG` is not set.
const TAIL_LOG: &str = "debug";

/// How much of each trial's log is kept for the tail: far more than [`LOG_TAIL_LINES`] lines.
const TAIL_LOG_BYTES: usize = 256 << 10;

/// Reads an environment variable, failing with a clear message when it is malformed.
fn env_parse<T: std::str::FromStr>(name: &str) -> Option<T>
where
    T::Err: std::fmt::Display,
{
    let raw = std::env::var(name).ok()?;
    match raw.trim().parse() {
        Ok(v) => Some(v),
        Err(e) => panic!("{name}={raw:?} is not valid: {e}"),
    }
}

/// The seeds and executor the environment asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPlan {
    /// The executor.
    pub executor: Executor,
    /// The seeds to run.
    pub seeds: Vec<u64>,
    /// A log filter to echo while running.
    pub log: Option<String>,
    /// Where to write the timeline pages of failing seeds (`LAB_HTML`), if anywhere.
    pub html: Option<PathBuf>,
    /// The wall-clock watchdog of each trial.
    pub stuck_after: Duration,
}

impl TestPlan {
    /// Reads `LAB_RUNTIME`, `LAB_SEED`, `LAB_SEEDS`, `LAB_SEED_START`, `LAB_LOG` (or
    /// `RUST_LOG`) and
    /// `LAB_STUCK_AFTER`.
    ///
    /// # Panics
    /// Panics with a message naming the variable when one is malformed.
    pub fn from_env() -> TestPlan {
        TestPlan::from_env_with(DEFAULT_SIM_SEEDS)
    }

    /// Like [`from_env`](Self::from_env), running `sim_seeds` seeds in sim mode when `LAB_SEEDS`
    /// is unset (the longest graders run fewer, to keep `cargo test` quick).
    ///
    /// # Panics
    /// Panics with a message naming the variable when one is malformed.
    pub fn from_env_with(sim_seeds: u64) -> TestPlan {
        let executor: Executor = env_parse("LAB_RUNTIME").unwrap_or(Executor::Sim);
        let seeds = match env_parse::<u64>("LAB_SEED") {
            Some(seed) => vec![seed],
            None => {
                let default = if executor == Executor::Sim {
                    sim_seeds
                } else {
                    1
                };
                let count: u64 = env_parse("LAB_SEEDS").unwrap_or(default);
                let start: u64 = env_parse("LAB_SEED_START").unwrap_or(1);
                (start..start + count).collect()
            }
        };
        let stuck_after = match env_parse::<f64>("LAB_STUCK_AFTER") {
            None => TrialSettings::sim(0).stuck_after,
            Some(secs) if secs.is_finite() && secs > 0.0 && secs < 1e9 => {
                Duration::from_secs_f64(secs)
            }
            Some(secs) => panic!("LAB_STUCK_AFTER={secs} is not a positive number of seconds"),
        };
        TestPlan {
            executor,
            seeds,
            // `RUST_LOG` is what Rust programmers reach for first: it means the same here.
            log: std::env::var("LAB_LOG")
                .or_else(|_| std::env::var("RUST_LOG"))
                .ok()
                .filter(|f| !f.trim().is_empty()),
            html: html_dir(std::env::var("LAB_HTML").ok().as_deref()),
            stuck_after,
        }
    }
}

/// The folder `LAB_HTML` names: `1`, `true` or `yes` for `lab-results/timeline`, another
/// value for that folder, nothing (or `0`, `false`, `no`) for none.
///
/// ```
/// use std::path::PathBuf;
/// use harness::testing::html_dir;
///
/// assert_eq!(html_dir(Some("1")), Some(PathBuf::from("lab-results/timeline")));
/// assert_eq!(html_dir(Some("/tmp/pages")), Some(PathBuf::from("/tmp/pages")));
/// assert_eq!(html_dir(Some("0")), None);
/// assert_eq!(html_dir(None), None);
/// ```
pub fn html_dir(value: Option<&str>) -> Option<PathBuf> {
    let value = value?.trim();
    match value.to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" | "off" => None,
        "1" | "true" | "yes" | "on" => Some(PathBuf::from("lab-results").join("timeline")),
        _ => Some(PathBuf::from(value)),
    }
}

/// The test binary that runs every grader under `cargo test -p harness` (`harness/graders/tests/graders.rs`).
pub const GRADERS_TEST: &str = "graders";

/// The module of [`GRADERS_TEST`] that holds the tests of a lab part: `raft_3A` for part `A`,
/// so that `cargo test -p harness 3A` selects the part as `go test -run 3A` does; a key/value
/// lab's part is its own module (`kvsrv`), and Lab 4's parts are `kvraft_4A` to `kvraft_4C`.
///
/// ```
/// assert_eq!(harness::testing::test_module("B"), "raft_3B");
/// assert_eq!(harness::testing::test_module("kvsrv"), "kvsrv");
/// assert_eq!(harness::testing::test_module("4A"), "kvraft_4A");
/// ```
pub fn test_module(part: &str) -> String {
    if part.len() == 1 {
        format!("raft_3{part}")
    } else if part.starts_with('4') {
        format!("kvraft_{part}")
    } else {
        part.to_string()
    }
}

/// The test of `grader` under `cargo test -p harness`: its module and its name, e.g.
/// `raft_3A::initial_election`.
pub fn test_path(grader: &graders::Grader) -> String {
    format!("{}::{}", test_module(grader.part), grader.name)
}

/// The command that replays `seed` of `grader` under `cargo test`.
///
/// ```
/// use labrpc::runtime::Executor;
/// let g = harness::graders::by_name("snapshot_install").expect("a grader");
/// assert_eq!(
///     harness::testing::replay_command(&g, 7, Executor::Sim),
///     "LAB_SEED=7 cargo test -p harness --test graders -- --exact raft_3D::snapshot_install"
/// );
/// ```
pub fn replay_command(grader: &graders::Grader, seed: u64, executor: Executor) -> String {
    let runtime = match executor {
        Executor::Sim => String::new(),
        Executor::Real => "LAB_RUNTIME=real ".to_string(),
    };
    format!(
        "{runtime}LAB_SEED={seed} cargo test -p harness --test {GRADERS_TEST} -- --exact {}",
        test_path(grader)
    )
}

/// Seeds `grader` runs in sim mode under `cargo test` when `LAB_SEEDS` is unset:
/// [`DEFAULT_SIM_SEEDS`], fewer for the longest graders so that `cargo test` stays quick (a
/// seed of `reliable_churn` takes about 1.6 s of CPU in a debug build; each part-D trial runs
/// 30 rounds of crashes or disconnections). `harness run PART --runs 1000` is the many-seed
/// check.
pub fn default_test_seeds(grader: &graders::Grader) -> u64 {
    match grader.name {
        "reliable_churn" => 2,
        "figure8_unreliable" | "unreliable_churn" => 4,
        // 20 000 clerks one after another: about 7 s of CPU a seed in a debug build.
        "mem_put_many_clients_reliable" => 1,
        // Ten clients racing for a second of run time, then a check of some 10 000 calls.
        "put_concurrent_reliable" => 4,
        _ if grader.part == "D" && !grader.is_conformance() => 3,
        // Lab 4's key/value graders run thousands of client calls and three linearizability
        // checks per seed (about 0.6 s of CPU for the busiest in a release build).
        _ if grader.part.starts_with('4') && grader.name.starts_with("kv_") => 2,
        _ => DEFAULT_SIM_SEEDS,
    }
}

/// The command that replays `seed` of `grader` with the grader CLI and shows its log one
/// column per peer.
pub fn cli_replay_command(grader: &str, seed: u64, executor: Executor) -> String {
    let real = match executor {
        Executor::Sim => "",
        Executor::Real => " --real",
    };
    format!("cargo run --release -p harness-cli -- replay {grader} --seed {seed}{real}")
}

/// Runs the grader `name` with peer type `P` over the seeds of `plan`, and returns the failing
/// trials, each with the tail of its log. Each seed runs once.
///
/// # Panics
/// Panics when no grader has that name.
pub fn failures<P: Peer>(name: &str, plan: &TestPlan) -> Vec<TrialReport> {
    failures_with(name, plan, run_trial::<P>)
}

/// [`failures`] for every grader, the key/value labs' too, with submission `S`.
///
/// # Panics
/// Panics when no grader has that name.
pub fn submission_failures<S: crate::Submission>(name: &str, plan: &TestPlan) -> Vec<TrialReport> {
    failures_with(name, plan, crate::trial::run_submission_trial::<S>)
}

fn failures_with(
    name: &str,
    plan: &TestPlan,
    run: impl Fn(graders::Grader, &TrialSettings) -> TrialReport,
) -> Vec<TrialReport> {
    let grader = graders::by_name(name).unwrap_or_else(|| panic!("no grader named {name:?}"));
    let mut failed = Vec::new();
    for &seed in &plan.seeds {
        let mut settings = TrialSettings::new(plan.executor, seed);
        settings.stuck_after = plan.stuck_after;
        settings.log = Some(plan.log.clone().unwrap_or_else(|| TAIL_LOG.to_string()));
        settings.echo_log = plan.log.is_some();
        settings.log_limit = Some(TAIL_LOG_BYTES);
        // The timeline pages are drawn from the very run that failed.
        settings.records = plan.html.is_some();
        let report = run(grader, &settings);
        let Ok(passed) = &report.outcome else {
            failed.push(report);
            continue;
        };
        // Shown by `cargo test -- --nocapture`, as the Go tester prints its stats lines.
        let lines: Vec<String> = passed.clusters.iter().map(|s| s.to_string()).collect();
        println!(
            "{} (seed {seed}, {}):\n{}",
            grader.title,
            plan.executor,
            lines.join("\n")
        );
        // Warnings are shown whatever the flags: written to the process's stderr directly,
        // which libtest's capture of `print!`/`eprint!` does not reach.
        for warning in &passed.warnings {
            let _ = writeln!(std::io::stderr().lock(), "{name} seed {seed}: {warning}");
        }
    }
    failed
}

/// Runs the grader `name` with peer type `P` over the seeds the environment asks for (see the
/// module docs) and panics with a readable report when a seed fails. `module` is the caller's
/// `module_path!()`: a grader run from another part's module would print a wrong replay
/// command, so that is refused.
///
/// # Panics
/// Panics when a trial fails (that is how `cargo test` learns of it, with
/// [`failure_message`]), when no grader has that name, or when `module` is not the grader's
/// part's module.
pub fn grade<P: Peer>(module: &str, name: &str) {
    grade_with(module, name, failures::<P>)
}

/// [`grade`] for every grader, the key/value labs' too, with submission `S` (see
/// [`crate::submission`]).
///
/// # Panics
/// As [`grade`].
pub fn grade_submission<S: crate::Submission>(module: &str, name: &str) {
    grade_with(module, name, submission_failures::<S>)
}

fn grade_with(module: &str, name: &str, failures: impl Fn(&str, &TestPlan) -> Vec<TrialReport>) {
    let grader = graders::by_name(name).unwrap_or_else(|| panic!("no grader named {name:?}"));
    let want = test_module(grader.part);
    let here = module.rsplit("::").next().unwrap_or(module);
    assert!(
        here == want,
        "{name} is a part-{} grader: its test belongs in module {want} of tests/{GRADERS_TEST}.rs, \
         not {here}",
        grader.part
    );
    let plan = TestPlan::from_env_with(default_test_seeds(&grader));
    let failed = failures(name, &plan);
    if failed.is_empty() {
        return;
    }
    let pages = plan
        .html
        .as_deref()
        .map(|dir| write_pages(dir, &failed[..failed.len().min(PAGED_SEEDS)]))
        .unwrap_or_default();
    panic!(
        "{}",
        failure_message(&grader, plan.seeds.len(), &failed, &pages)
    );
}

/// The message of a failing test: how many of `seeds` failed and which, the first failing
/// seed's error and the tail of its log, `pages` (lines naming the timeline pages written),
/// the command that replays the first, and the first line of any other error. (An empty
/// `failed` gives a line saying every seed passed.)
pub fn failure_message(
    grader: &graders::Grader,
    seeds: usize,
    failed: &[TrialReport],
    pages: &str,
) -> String {
    let Some(first) = failed.first() else {
        return format!("{} passed on all {seeds} seeds", grader.name);
    };
    let error = match &first.outcome {
        Err(e) => e.to_string(),
        Ok(_) => "failures() returned a passing trial".to_string(),
    };
    let tail = first
        .log
        .as_deref()
        .map(|log| {
            let lines: Vec<&str> = log.lines().collect();
            let from = lines.len().saturating_sub(LOG_TAIL_LINES);
            format!(
                "\n--- last {} log lines of seed {} ---\n{}\n---",
                lines.len() - from,
                first.seed,
                lines[from..].join("\n")
            )
        })
        .unwrap_or_default();
    let failing: Vec<u64> = failed.iter().map(|r| r.seed).collect();
    format!(
        "{} failed on {} of {seeds} seeds ({}): {error}{tail}{pages}\nreplay: {}{}",
        grader.name,
        failed.len(),
        seed_list(&failing, LISTED_SEEDS),
        replay_command(grader, first.seed, first.executor),
        other_errors(failed)
    )
}

/// Failing seeds named in a failure message; more are counted.
const LISTED_SEEDS: usize = 10;

/// Failing seeds whose timeline pages `LAB_HTML` writes.
const PAGED_SEEDS: usize = 3;

/// Seeds ascending, consecutive ones as ranges (`4..=9`), at most `max` items, then how many
/// more.
///
/// ```
/// use harness::testing::seed_list;
///
/// assert_eq!(seed_list(&[1, 2, 3, 7, 9], 10), "1..=3, 7, 9");
/// assert_eq!(seed_list(&[2, 4, 6, 8], 2), "2, 4 and 2 more");
/// ```
pub fn seed_list(seeds: &[u64], max: usize) -> String {
    let mut sorted = seeds.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for s in sorted {
        match ranges.last_mut() {
            Some((_, end)) if end.checked_add(1) == Some(s) => *end = s,
            _ => ranges.push((s, s)),
        }
    }
    let mut items: Vec<String> = Vec::new();
    let mut more = 0u64;
    for &(a, b) in &ranges {
        if items.len() == max {
            more += b - a + 1;
            continue;
        }
        items.push(match b - a {
            0 => a.to_string(),
            1 => format!("{a}, {b}"),
            _ => format!("{a}..={b}"),
        });
    }
    let mut out = items.join(", ");
    if more > 0 {
        out.push_str(&format!(" and {more} more"));
    }
    out
}

/// The other ways the seeds failed, first line of each, with the seeds that failed that way:
/// empty when every failing seed failed with the first one's message.
fn other_errors(failed: &[TrialReport]) -> String {
    let first_line = |r: &TrialReport| match &r.outcome {
        Err(e) => e.to_string().lines().next().unwrap_or("").to_string(),
        Ok(_) => String::new(),
    };
    let Some(first) = failed.first().map(first_line) else {
        return String::new();
    };
    let mut others: Vec<(String, Vec<u64>)> = Vec::new();
    for r in failed {
        let line = first_line(r);
        if line == first {
            continue;
        }
        match others.iter_mut().find(|(l, _)| *l == line) {
            Some((_, seeds)) => seeds.push(r.seed),
            None => others.push((line, vec![r.seed])),
        }
    }
    let mut out = String::new();
    for (line, seeds) in others.iter().take(LISTED_ERRORS) {
        out.push_str(&format!(
            "\nalso: seed{} {}: {line}",
            if seeds.len() == 1 { "" } else { "s" },
            seed_list(seeds, LISTED_SEEDS)
        ));
    }
    if others.len() > LISTED_ERRORS {
        out.push_str(&format!(
            "\nand {} other errors",
            others.len() - LISTED_ERRORS
        ));
    }
    out
}

/// Other errors named, by their first line, in a failure message.
const LISTED_ERRORS: usize = 3;

/// Writes the timeline page of each failing trial into `dir` (as `LAB_HTML` asks); returns
/// lines naming them (or saying why one could not be written), for the panic message.
pub fn write_pages(dir: &std::path::Path, failed: &[TrialReport]) -> String {
    let mut out = String::new();
    for report in failed {
        let path = dir.join(format!("{}-seed{}.html", report.grader, report.seed));
        let shown = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
        match crate::timeline::write_page(report, &path) {
            Ok(()) => out.push_str(&format!("\ntimeline: {}", shown.display())),
            Err(e) => out.push_str(&format!("\n{e}")),
        }
    }
    out
}
