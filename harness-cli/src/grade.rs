//! `harness grade SUBMISSION`: grading a student's `raft` crate, safely.
//!
//! 1. **Build** the submission against the kit's `labrpc` and `harness` in a scratch workspace
//!    ([`workspace`]): never inside the submission, with manifests of our own ([`manifest`]:
//!    the submission's `Cargo.toml` gives its `[dependencies]` and nothing else). A submission
//!    that does not compile gets a report with score 0 and the compiler's first errors.
//!    Its `[dependencies]` come only from the staff's allow-list ([`rules`]), and it is
//!    compiled with `unsafe_code` forbidden.
//! 2. **Lint** it ([`lint`]): `cargo clippy` with the `disallowed-methods` and
//!    `disallowed-types` of the kit's `raft/clippy.toml`. Direct uses of files, processes,
//!    the network and the OS refuse the submission (score 0, each use named); direct uses of
//!    the real clock, threads, global random generators and the environment are reported,
//!    each with what to use instead.
//! 3. **Run** the graders in child processes of the built binary ([`child`], [`serve`]), in
//!    batches of seeds, under a wall-clock and a memory limit, with file writes confined to
//!    the scratch folders where the kernel has Landlock. A child reports each trial as a frame
//!    authenticated with a key only it and the parent know ([`protocol`]): the submission runs
//!    in that process but cannot write a result. A trial that ends the process
//!    (`std::process::exit`, an abort, a stack overflow, memory, a spin past the limit) fails
//!    alone, with a message saying which, and grading goes on; after `--max-runaway` stuck,
//!    deadlocked or timed-out seeds, a grader's other seeds are not run.
//! 4. **Report**: the parent alone writes Gradescope's `results.json`, JUnit and failure
//!    bundles, as `harness run` writes them, with what the build and the lint found on top.
//!    With `--shard K/N` the report is a shard's, for `harness merge`.

pub mod child;
pub mod lint;
pub mod manifest;
pub mod protocol;
pub mod rules;
pub mod serve;
pub mod workspace;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use labrpc::runtime::Executor;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::bundle::{self, Bundle};
use super::policy::Policy;
use super::report::{self, xml_escape};
use super::run::{self, FailedSeed, GraderSummary, RunSummary};
use super::{stats, CliError, RunArgs, EXIT_FAILED, EXIT_PASSED};
use child::{Limits, Runaways, Runner, Settled};
use harness::graders::Grader;
use parking_lot::Mutex;
use protocol::{TrialFrame, TrialPlan};
use rules::{Rules, RulesError};
use workspace::{Workspace, WorkspaceError};

/// The environment variable naming the grading target folder (as `--target-dir`).
pub const TARGET_DIR_ENV: &str = "HARNESS_GRADE_TARGET_DIR";

/// The default memory limit of a child, in MiB of address space.
pub const DEFAULT_MEMORY_MIB: u64 = 4096;

/// The default wall-clock limit of one sim trial: sim trials take milliseconds, and a stuck one
/// is stopped by the runtime's watchdog (`--stuck-after`) long before this.
pub const DEFAULT_SIM_TRIAL_LIMIT: f64 = 60.0;

/// The default wall-clock limit of one real trial: the 120-second test limit and some.
pub const DEFAULT_REAL_TRIAL_LIMIT: f64 = 240.0;

/// Trials per child in sim mode by default: about a tenth of a second of work, so the cost of
/// starting a process is small, and a batch that died costs little to run again seed by seed.
pub const DEFAULT_SIM_BATCH: u64 = 100;

/// The end of `harness grade --help`.
pub const GRADE_HELP: &str = "\
Examples:
  harness grade ~/submissions/alice all --runs 1000
  harness grade /autograder/submission all --runs 200 --json /autograder/results/results.json
  harness grade alice/raft A --runs 1000 --shard 2/4 --json shard-2.json   (then harness merge)

SUBMISSION is a student repository (with raft/Cargo.toml) or a raft crate. It is copied into
a scratch workspace (TARGET/workspace, where TARGET is --target-dir, $HARNESS_GRADE_TARGET_DIR,
or KIT/target/grade) and built there with the kit's labrpc and harness; of its Cargo.toml only
[dependencies] and [features] are used. Keep TARGET between grades: dependencies are built
once, and each grade rebuilds only the submission and the harness.

The submission's [dependencies] must be on the staff's list (KIT/grading.toml), and it is
compiled with unsafe_code forbidden. The lint (KIT/raft/clippy.toml, as the student's own
cargo clippy sees it) refuses direct uses of files, processes, the network and the OS (score
0) and reports those of the clock, threads, random generators and the environment.

The graders run in child processes under `prlimit` and a wall-clock limit (--trial-limit,
--memory), in batches of --batch seeds. A child gets its plan on standard input and reports
each trial as a frame authenticated with a key of that run: only the grading process writes
the reports. A batch whose process dies is run again one seed per process, so the death fails
only the trial that caused it; after --max-runaway stuck, deadlocked or timed-out seeds of a
grader its other seeds are not run (they fail). Reports go to --out (default
grade-results/NAME-TIME): results.json, junit.xml and bundles/ (--json and --junit move the
reports). The run flags (seeds, --real, thresholds, points, --shard) are those of `harness run`.

  harness grade ~/submissions/alice re_election --replay 17
builds the submission the same way and replays seed 17 of re_election with its log, one
column per peer (the replay command a graded report gives).

Exit codes: 0 every grader passed, 1 a grader failed or the submission does not compile,
2 a usage error or a grading failure that is not the submission's.";

/// `harness grade`.
#[derive(Debug, Args)]
pub struct GradeArgs {
    /// The submission: a student repository (with `raft/`) or its `raft` crate.
    #[arg(value_name = "SUBMISSION")]
    pub submission: PathBuf,
    /// What to run and how, exactly as `harness run` takes it.
    #[command(flatten)]
    pub run: RunArgs,
    /// The lab repository whose labrpc and harness grade the submission [default: the one this
    /// harness was built from].
    #[arg(long, value_name = "DIR")]
    pub kit: Option<PathBuf>,
    /// Where to build (shared by grades; $HARNESS_GRADE_TARGET_DIR) [default: KIT/target/grade].
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Memory limit of each grading process, in MiB of address space.
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_MEMORY_MIB)]
    pub memory: u64,
    /// Wall-clock limit per trial, in seconds [default: 60 in sim mode, 240 in real mode].
    #[arg(long, value_name = "SECS")]
    pub trial_limit: Option<f64>,
    /// Trials per grading process [default: 100 in sim mode, twice --jobs in real mode].
    #[arg(long, value_name = "N")]
    pub batch: Option<u64>,
    /// Build with what the local Cargo cache holds (no network).
    #[arg(long)]
    pub offline: bool,
    /// Skip the lint (and so its refusals too: for staff testing the harness).
    #[arg(long)]
    pub no_lint: bool,
    /// After this many stuck, deadlocked or timed-out seeds of one grader, do not run its
    /// other seeds (they fail); 0 runs them all.
    #[arg(long, value_name = "K", default_value_t = child::DEFAULT_MAX_RUNAWAY)]
    pub max_runaway: u64,
    /// Build the submission and replay this seed of the one grader named, with its log,
    /// instead of grading.
    #[arg(long, value_name = "SEED")]
    pub replay: Option<u64>,
}

/// Grading could not be done (not the submission's fault: see the messages).
#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    /// The workspace could not be made, or a tool could not run.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// The built binary could not be copied or run as expected.
    #[error("{0}")]
    Child(String),
    /// The kit's grading rules cannot be used.
    #[error(transparent)]
    Rules(#[from] RulesError),
}

/// A direct use in a submission of something its lint lists (the `disallowed-methods` and
/// `disallowed-types` of the kit's `raft/clippy.toml`), with what to use instead.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DisallowedUse {
    /// The file, relative to the submission's crate (e.g. `src/peer.rs`).
    pub file: String,
    /// The line (1-based).
    pub line: u64,
    /// The column (1-based).
    pub column: u64,
    /// The method called, e.g. `std::thread::sleep`.
    pub call: String,
    /// What to call instead, e.g. `labrpc::runtime::sleep(duration).await`.
    pub instead: String,
    /// Whether it refuses the submission (files, processes, the network, the OS), rather than
    /// being reported.
    #[serde(default)]
    pub refused: bool,
}

/// What `harness grade` adds to a run's report (its `extra_data.grade`): which submission, and
/// what was found in it besides the graders' verdicts. The same submission gives the same
/// value on every machine (but for its folder name), so shards' reports can be checked to be
/// of one submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradeExtras {
    /// The submission's folder name.
    pub submission: String,
    /// The submission as the grading command named it (for the replay commands).
    #[serde(default)]
    pub path: String,
    /// A fingerprint of the submission's crate as built (its files and manifest).
    pub fingerprint: String,
    /// What was not used from the submission (its build script, `[patch]`, ...).
    pub dropped: Vec<String>,
    /// The compiler's first errors, when the submission did not compile.
    pub compile_errors: Option<Vec<String>>,
    /// How many errors there were in all.
    pub error_count: usize,
    /// Whether some error was in the harness: the submission's API is not the graders'.
    pub api_mismatch: bool,
    /// Direct uses of the real clock, threads or global random generators.
    pub disallowed: Vec<DisallowedUse>,
    /// Why the check for them did not run, when it did not.
    pub lint_skipped: Option<String>,
    /// Dependencies the grading rules do not allow: the submission was refused unbuilt.
    #[serde(default)]
    pub unlisted: Vec<String>,
    /// Lines on the grading channel that looked like results but did not authenticate:
    /// written by the submission, and ignored.
    #[serde(default)]
    pub forged: u64,
    /// Whether the children's file writes were confined (Landlock), in their words.
    #[serde(default)]
    pub confinement: Option<String>,
}

impl GradeExtras {
    /// Whether the submission failed to compile.
    pub fn build_failed(&self) -> bool {
        self.compile_errors.is_some()
    }

    /// Whether the submission was refused: a dependency not on the list, or a direct use of
    /// files, processes, the network or the OS.
    pub fn refused(&self) -> bool {
        !self.unlisted.is_empty() || self.disallowed.iter().any(|d| d.refused)
    }

    /// Whether no grader ran: the submission did not compile or was refused.
    pub fn not_graded(&self) -> bool {
        self.build_failed() || self.refused()
    }

    /// The lint's findings as one test of the report (score 0 of 0): failed when it refused
    /// the submission or found something, passed when it found nothing, absent when it did
    /// not run.
    pub fn lint_test(&self, visibility: &str) -> Option<Value> {
        if self.lint_skipped.is_some() || self.build_failed() {
            return None;
        }
        let text = self.lint_text();
        Some(serde_json::json!({
            "name": "lint (direct uses of files, processes, the network, the OS, the clock, threads, random generators and the environment)",
            "score": 0.0,
            "max_score": 0.0,
            "status": if self.disallowed.is_empty() { "passed" } else { "failed" },
            "output": if text.is_empty() { "nothing found\n".to_string() } else { text },
            "tags": ["lint"],
            "visibility": visibility,
            "extra_data": { "lint": true, "findings": self.disallowed.len() },
        }))
    }

    /// What the lint found, in words (empty when nothing).
    fn lint_text(&self) -> String {
        let mut out = String::new();
        let (refused, reported): (Vec<&DisallowedUse>, Vec<&DisallowedUse>) =
            self.disallowed.iter().partition(|d| d.refused);
        if !refused.is_empty() {
            let _ = writeln!(
                out,
                "Refused: your code uses files, processes, the network or the OS directly ({} \
                 place{}). A Raft peer needs none of them (its state goes through the \
                 Persister), and the graders cannot allow them:",
                refused.len(),
                if refused.len() == 1 { "" } else { "s" }
            );
            for d in &refused {
                let _ = writeln!(
                    out,
                    "  raft/{}:{}:{}: {} -> {}",
                    d.file, d.line, d.column, d.call, d.instead
                );
            }
        }
        if !reported.is_empty() {
            let _ = writeln!(
                out,
                "Your code calls the real clock, threads, a global random generator or the \
                 environment directly ({} place{}). These escape the lab runtime: in sim mode a \
                 run no longer replays from its seed, and sleeps and time-outs misbehave. Use \
                 the runtime instead:",
                reported.len(),
                if reported.len() == 1 { "" } else { "s" }
            );
            for d in &reported {
                let _ = writeln!(
                    out,
                    "  raft/{}:{}:{}: {} -> use {}",
                    d.file, d.line, d.column, d.call, d.instead
                );
            }
        }
        out
    }

    /// The text shown to the student above the graders' verdicts.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if let Some(errors) = &self.compile_errors {
            let _ = writeln!(
                out,
                "The submission did not compile, so no grader ran (score 0). The first {} of {} \
                 error{}:\n",
                errors.len(),
                self.error_count,
                if self.error_count == 1 { "" } else { "s" }
            );
            for e in errors {
                let _ = writeln!(out, "{e}\n");
            }
            if errors
                .iter()
                .any(|e| e.contains("unsafe_code") || e.contains("unsafe` block"))
            {
                out.push_str(
                    "A submission may not use `unsafe`: the graders compile raft with \
                     unsafe_code forbidden.\n",
                );
            }
            if self.api_mismatch {
                out.push_str(
                    "Some errors are in the harness: the submission's API differs from the one \
                     the graders use. Keep Raft::new, get_state, kill, service and start, the \
                     Persister, the apply channel and the RPC message types with their names \
                     and fields.\n",
                );
            }
        }
        if !self.unlisted.is_empty() {
            let _ = writeln!(
                out,
                "The submission was refused, so no grader ran (score 0): raft/Cargo.toml \
                 depends on {}, which the graders do not allow (allowed: the crates the lab \
                 uses; ask the course staff to add a crate).",
                self.unlisted.join(", ")
            );
        }
        if self.disallowed.iter().any(|d| d.refused) {
            out.push_str("The submission was refused, so no grader ran (score 0): see below.\n");
        }
        if self.forged > 0 {
            let _ =
                writeln!(
                out,
                "{} line{} of the grading process's output looked like trial results but did not \
                 carry the grader's key: something in the submission wrote {}, and {} ignored. \
                 Only results the grader made count.",
                self.forged,
                if self.forged == 1 { "" } else { "s" },
                if self.forged == 1 { "it" } else { "them" },
                if self.forged == 1 { "it was" } else { "they were" },
            );
        }
        if let Some(said) = self
            .confinement
            .as_deref()
            .filter(|s| s.contains(serve::LANDLOCK_OFF))
        {
            let _ = writeln!(
                out,
                "Note for the course staff: the grading processes ran without Landlock ({said}); \
                 the lint's refusals stood in for it."
            );
        }
        if !self.dropped.is_empty() {
            let _ = writeln!(
                out,
                "Not used from the submission: {}.",
                self.dropped.join("; ")
            );
        }
        if let Some(why) = &self.lint_skipped {
            let _ = writeln!(
                out,
                "The check for direct uses of the clock, threads and random generators did not \
                 run: {why}"
            );
        } else {
            out.push_str(&self.lint_text());
        }
        out
    }
}

/// What a grader's test says when the submission did not compile.
const NOT_RUN: &str = "not run: the submission did not compile (see the errors at the top)\n";

/// What a grader's test says when the submission was refused.
const NOT_RUN_REFUSED: &str = "not run: the submission was refused (see why at the top)\n";

/// The command that rebuilds `submission` and replays `seed` of `grader` (what a graded
/// report gives, instead of `harness replay`, which would replay the kit's own raft).
pub fn grade_replay_command(submission: &str, grader: &str, seed: u64, real: bool) -> String {
    format!(
        "harness grade {submission} {grader} --replay {seed}{}",
        if real { " --real" } else { "" }
    )
}

/// Makes every replay command of `report` (in its tests' `output` and failing seeds) rebuild
/// and replay the submission: [`grade_replay_command`] with `submission`.
fn replay_the_submission(report: &mut Value, submission: &str) {
    let executor = if report["extra_data"]["executor"] == "real" {
        Executor::Real
    } else {
        Executor::Sim
    };
    for t in report
        .get_mut("tests")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let Some(grader) = t["extra_data"]["grader"].as_str().map(str::to_string) else {
            continue;
        };
        let mut pairs = Vec::new();
        for f in t["extra_data"]["failing_seeds"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            let Some(seed) = f["seed"].as_u64() else {
                continue;
            };
            let theirs = run::replay_command(&grader, seed, executor);
            let ours = grade_replay_command(submission, &grader, seed, executor == Executor::Real);
            if f["replay"] == theirs {
                f["replay"] = Value::String(ours.clone());
            }
            pairs.push((theirs, ours));
        }
        if let Some(output) = t["output"].as_str() {
            let mut output = output.to_string();
            for (theirs, ours) in &pairs {
                output =
                    output.replace(&format!("replay: {theirs}\n"), &format!("replay: {ours}\n"));
            }
            t["output"] = Value::String(output);
        }
    }
}

/// Adds what `harness grade` found (a [`GradeExtras`] as JSON) to a run's Gradescope report:
/// its text goes before the report's `output` (and, when the submission did not compile or
/// was refused, each test says it was not run), the lint's findings become a test of their
/// own, replay commands rebuild the submission, and the value itself goes into
/// `extra_data.grade`, where `harness merge` finds it again.
pub fn decorate_report(report: &mut Value, grade: &Value) {
    if let Ok(extras) = serde_json::from_value::<GradeExtras>(grade.clone()) {
        let named = if extras.path.is_empty() {
            &extras.submission
        } else {
            &extras.path
        };
        replay_the_submission(report, named);
        let text = extras.text();
        if !text.is_empty() {
            let output = report
                .get("output")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            report["output"] = Value::String(format!("{text}\n{output}"));
        }
        if extras.not_graded() {
            let why = if extras.build_failed() {
                NOT_RUN
            } else {
                NOT_RUN_REFUSED
            };
            for t in report
                .get_mut("tests")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                t["output"] = Value::String(why.to_string());
            }
        }
        let visibility = report["visibility"]
            .as_str()
            .unwrap_or("visible")
            .to_string();
        if let (Some(test), Some(tests)) = (
            extras.lint_test(&visibility),
            report.get_mut("tests").and_then(Value::as_array_mut),
        ) {
            tests.push(test);
        }
    }
    if let Some(extra) = report.get_mut("extra_data").and_then(Value::as_object_mut) {
        extra.insert("grade".to_string(), grade.clone());
    }
}

/// The JUnit report of a graded run: the run's, or, when the submission did not compile, one
/// `<error>` per grader with the compiler's first errors.
pub fn junit_report(summary: &RunSummary, policy: &Policy, grade: Option<&Value>) -> String {
    let extras = grade.and_then(|g| serde_json::from_value::<GradeExtras>(g.clone()).ok());
    let Some(extras) = extras.filter(GradeExtras::not_graded) else {
        return report::junit_xml(summary, policy);
    };
    let (title, kind) = if extras.build_failed() {
        ("the submission did not compile", "BuildFailed")
    } else {
        ("the submission was refused", "Refused")
    };
    let n = summary.graders.len();
    let text = xml_escape(&extras.text());
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"harness\" tests=\"{n}\" failures=\"0\" errors=\"{n}\" time=\"{:.3}\">",
        summary.wall.as_secs_f64()
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"raft graders: {title}\" tests=\"{n}\" failures=\"0\" errors=\"{n}\" skipped=\"0\" time=\"{:.3}\">",
        summary.wall.as_secs_f64()
    );
    for g in &summary.graders {
        let _ = writeln!(
            x,
            "    <testcase name=\"{}\" classname=\"harness.part{}\" time=\"0.000\">\n      <error message=\"{title}\" type=\"{kind}\">{text}</error>\n    </testcase>",
            xml_escape(g.grader.name),
            xml_escape(g.grader.part)
        );
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// The plan every child gets (but for its grader, seeds and jobs), from `run`'s flags: what
/// changes how a trial runs and what it keeps. Thresholds, points, visibility and shards are
/// applied by the grading process itself; `writable` are the folders a child may write to.
fn child_template(args: &RunArgs, bundles: Option<&Path>, writable: Vec<PathBuf>) -> TrialPlan {
    // Every field named, so that a new flag of `run` cannot be forgotten here.
    let RunArgs {
        selectors: _,
        runs: _,
        seed_start: _,
        random_seeds: _,
        jobs: _,
        real,
        stuck_after,
        check_determinism,
        out: _,
        keep_all,
        no_bundles: _,
        bundle_log,
        sequential: _,
        json: _,
        junit: _,
        threshold: _,
        thresholds: _,
        visibility: _,
        shard: _,
        only_original: _,
        no_monitor,
        no_html,
    } = args;
    TrialPlan {
        grader: String::new(),
        seeds: Vec::new(),
        jobs: 1,
        real: *real,
        stuck_after: *stuck_after,
        monitor: !*no_monitor && harness::monitor::enabled_by_env(),
        check_determinism: *check_determinism,
        keep_all: *keep_all,
        bundles: bundles.map(Path::to_path_buf),
        bundle_log: bundle_log.clone(),
        html: !*no_html,
        writable,
    }
}

/// The kit this harness was built from: the workspace around this crate.
pub fn default_kit() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

/// Everything `grade` decided before building.
struct Plan {
    graders: Vec<Grader>,
    policy: Policy,
    executor: Executor,
    runs: u64,
    seed_start: u64,
    jobs: usize,
    json: PathBuf,
    junit: PathBuf,
    out: PathBuf,
    bundles: Option<PathBuf>,
    stuck_after: Duration,
}

fn plan(args: &GradeArgs, name: &str) -> Result<Plan, CliError> {
    let r = &args.run;
    let mut graders = super::select_graders(&r.selectors)?;
    if r.only_original {
        graders.retain(|g| g.origin == harness::graders::Origin::Original);
        if graders.is_empty() {
            return Err(CliError::Usage(format!(
                "--only-original leaves none of {} (all go beyond the original lab)",
                r.selectors.join(" ")
            )));
        }
    }
    let executor = if r.real {
        Executor::Real
    } else {
        Executor::Sim
    };
    let mut policy = Policy::with_threshold(r.threshold)?;
    if let Some(path) = &r.thresholds {
        policy = policy.load(path)?;
    }
    let runs = r.runs.unwrap_or(match executor {
        Executor::Sim => super::DEFAULT_SIM_RUNS,
        Executor::Real => super::DEFAULT_REAL_RUNS,
    });
    let jobs = r.jobs.unwrap_or(match executor {
        Executor::Sim => run::default_sim_jobs(),
        Executor::Real => run::DEFAULT_REAL_JOBS,
    });
    if runs == 0 || jobs == 0 {
        return Err(CliError::Usage(
            "--runs and --jobs must be at least 1".into(),
        ));
    }
    if r.random_seeds && !r.shard.is_whole() {
        return Err(CliError::Usage(
            "--random-seeds draws another start on every machine, so the shards would not fit \
             together: give every shard the same --seed-start"
                .into(),
        ));
    }
    let seed_start = if r.random_seeds {
        super::clock_seed()
    } else {
        r.seed_start
    };
    if seed_start.checked_add(runs).is_none() {
        return Err(CliError::Usage(format!(
            "seeds {seed_start} + {runs} runs go past the largest seed"
        )));
    }
    let stuck_after = super::seconds("--stuck-after", r.stuck_after)?;
    if let Some(limit) = args.trial_limit {
        super::seconds("--trial-limit", limit)?;
    }
    if args.memory < 64 {
        return Err(CliError::Usage(format!(
            "--memory {} MiB is too little for the grader itself; give at least 64",
            args.memory
        )));
    }
    if args.batch == Some(0) {
        return Err(CliError::Usage("--batch must be at least 1".into()));
    }
    let out = r.out.clone().unwrap_or_else(|| {
        PathBuf::from("grade-results").join(format!(
            "{name}-{}",
            bundle::timestamp(std::time::SystemTime::now())
        ))
    });
    let json = r.json.clone().unwrap_or_else(|| out.join("results.json"));
    let junit = r.junit.clone().unwrap_or_else(|| out.join("junit.xml"));
    for path in [&json, &junit] {
        super::check_writable(path)?;
    }
    let bundles = (!r.no_bundles).then(|| out.join("bundles"));
    Ok(Plan {
        graders,
        policy,
        executor,
        runs,
        seed_start,
        jobs,
        json,
        junit,
        out,
        bundles,
        stuck_after,
    })
}

/// An absolute form of `path` (children run elsewhere), without touching the file system.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `harness grade SUBMISSION GRADER --replay SEED`: builds the submission as a grade does and
/// replays one seed of one grader with the built binary, its log shown one column per peer.
/// The replay runs in a child process too (with the memory limit), though without the
/// grade's protocol: it only shows, it decides nothing.
fn replay_submission(
    args: &GradeArgs,
    ws: &Workspace,
    crate_dir: &Path,
    rules: &Rules,
    seed: u64,
) -> Result<i32, CliError> {
    let graders = super::select_graders(&args.run.selectors)?;
    let [grader] = graders.as_slice() else {
        return Err(CliError::Usage(format!(
            "--replay replays one grader's seed: name one grader, not {}",
            args.run.selectors.join(" ")
        )));
    };
    eprintln!(
        "harness grade: building {} in {} to replay {} seed {seed}",
        crate_dir.display(),
        ws.dir().display(),
        grader.name
    );
    let binary = {
        let _lock = ws.lock().map_err(GradeError::from)?;
        let prepared = ws
            .prepare(
                crate_dir,
                workspace::find_messages(&args.submission).as_deref(),
                rules,
            )
            .map_err(GradeError::from)?;
        if !prepared.unlisted.is_empty() {
            eprintln!(
                "harness grade: the submission depends on {}, which the graders do not allow",
                prepared.unlisted.join(", ")
            );
            return Ok(EXIT_FAILED);
        }
        let build = ws.build(args.offline).map_err(GradeError::from)?;
        if !build.ok {
            eprintln!("harness grade: the submission does not compile:");
            for e in &build.errors {
                eprintln!("{e}\n");
            }
            return Ok(EXIT_FAILED);
        }
        // A private copy: the workspace may be rebuilt by another grade once the lock is gone.
        let copy = std::env::temp_dir().join(format!("harness-replay-{}", std::process::id()));
        std::fs::copy(ws.binary(), &copy).map_err(|e| {
            GradeError::Child(format!(
                "cannot copy the grader binary {}: {e}",
                ws.binary().display()
            ))
        })?;
        copy
    };
    let mut cmd = if child::Tools::find().prlimit {
        let mut c = std::process::Command::new("prlimit");
        c.arg(format!("--as={}", args.memory.saturating_mul(1 << 20)))
            .arg("--core=0")
            .arg("--")
            .arg(&binary);
        c
    } else {
        std::process::Command::new(&binary)
    };
    cmd.args(["replay", grader.name, "--seed", &seed.to_string()])
        .arg("--stuck-after")
        .arg(args.run.stuck_after.to_string());
    if args.run.real {
        cmd.arg("--real");
    }
    let status = cmd.status().map_err(|e| {
        GradeError::Child(format!(
            "cannot run the grader binary {}: {e}",
            binary.display()
        ))
    });
    let _ = std::fs::remove_file(&binary);
    Ok(status?.code().unwrap_or(EXIT_FAILED))
}

/// Runs `harness grade`.
pub fn grade_command(args: &GradeArgs) -> Result<i32, CliError> {
    let started = Instant::now();
    let crate_dir = workspace::find_crate(&args.submission).map_err(GradeError::from)?;
    let name = absolute(&args.submission)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "submission".to_string());
    let kit = args.kit.clone().unwrap_or_else(default_kit);
    let target = args
        .target_dir
        .clone()
        .or_else(|| std::env::var_os(TARGET_DIR_ENV).map(PathBuf::from))
        .unwrap_or_else(|| kit.join("target").join("grade"));
    let ws = Workspace {
        target: absolute(&target),
        kit: absolute(&kit),
    };
    let rules = Rules::of_kit(&ws.kit).map_err(GradeError::from)?;
    if let Some(seed) = args.replay {
        return replay_submission(args, &ws, &crate_dir, &rules, seed);
    }
    let plan = plan(args, &name)?;
    let work = absolute(&plan.out).join(".grader");
    std::fs::create_dir_all(&work).map_err(|e| {
        GradeError::Child(format!("cannot create the folder {}: {e}", work.display()))
    })?;

    eprintln!(
        "harness grade: {} × {} trials, {} mode, seeds {}..={}{}",
        plan.graders.len(),
        plan.runs,
        plan.executor,
        plan.seed_start,
        plan.seed_start + plan.runs - 1,
        if args.run.shard.is_whole() {
            String::new()
        } else {
            format!(", shard {}", args.run.shard)
        }
    );
    // Build (and lint) under the workspace's lock, then copy the binary out of it.
    eprintln!(
        "harness grade: building {} in {}",
        crate_dir.display(),
        ws.dir().display()
    );
    let binary = work.join("harness");
    let (prepared, build, lint) = {
        let _lock = ws.lock().map_err(GradeError::from)?;
        let messages = workspace::find_messages(&args.submission);
        let prepared = ws
            .prepare(&crate_dir, messages.as_deref(), &rules)
            .map_err(GradeError::from)?;
        let build = if prepared.unlisted.is_empty() {
            ws.build(args.offline).map_err(GradeError::from)?
        } else {
            // Refused before building: nothing of it is fetched or compiled.
            workspace::BuildOutcome::refused()
        };
        let _ = std::fs::write(plan.out.join("build.log"), &build.log);
        let lint = if !prepared.unlisted.is_empty() {
            Err("the submission was refused".to_string())
        } else if !build.ok {
            Err("the submission did not compile".to_string())
        } else if args.no_lint {
            Err("--no-lint".to_string())
        } else {
            lint::lint(&ws, args.offline, &prepared.disallowed, &rules)
        };
        if build.ok {
            std::fs::copy(ws.binary(), &binary).map_err(|e| {
                GradeError::Child(format!(
                    "cannot copy the grader binary {}: {e}",
                    ws.binary().display()
                ))
            })?;
        }
        (prepared, build, lint)
    };
    eprintln!(
        "harness grade: {} in {:.1}s",
        if build.ok {
            "built"
        } else {
            "the submission does not compile"
        },
        started.elapsed().as_secs_f64()
    );
    let (disallowed, lint_skipped) = match lint {
        Ok(found) => (found, None),
        Err(why) => (Vec::new(), (build.ok).then_some(why)),
    };
    let mut extras = GradeExtras {
        path: args.submission.display().to_string(),
        submission: name,
        fingerprint: prepared.fingerprint,
        dropped: prepared.dropped,
        compile_errors: (!build.ok && prepared.unlisted.is_empty()).then(|| build.errors.clone()),
        error_count: build.error_count,
        api_mismatch: build.api_mismatch,
        disallowed,
        lint_skipped,
        unlisted: prepared.unlisted,
        forged: 0,
        confinement: None,
    };

    let mut summary = RunSummary {
        graders: plan
            .graders
            .iter()
            .zip(
                args.run
                    .shard
                    .planned(plan.graders.len(), plan.seed_start, plan.runs),
            )
            .map(|(&grader, planned)| GraderSummary::new(grader, planned))
            .collect(),
        executor: plan.executor,
        seed_start: plan.seed_start,
        runs: plan.runs,
        jobs: plan.jobs,
        wall: Duration::ZERO,
        interrupted: false,
        out_dir: plan.bundles.clone(),
        bundles: 0,
        shard: args.run.shard,
        check_determinism: args.run.check_determinism && plan.executor == Executor::Sim,
        monitor: !args.run.no_monitor && harness::monitor::enabled_by_env(),
    };
    let trials_started = Instant::now();
    if build.ok && !extras.refused() {
        let trial_limit = args.trial_limit.unwrap_or(match plan.executor {
            Executor::Sim => DEFAULT_SIM_TRIAL_LIMIT,
            Executor::Real => DEFAULT_REAL_TRIAL_LIMIT,
        });
        let bundles = plan.bundles.as_deref().map(absolute);
        if let Some(dir) = &bundles {
            std::fs::create_dir_all(dir).map_err(|e| {
                GradeError::Child(format!("cannot create the folder {}: {e}", dir.display()))
            })?;
        }
        let writable: Vec<PathBuf> = [Some(work.clone()), bundles.clone()]
            .into_iter()
            .flatten()
            .collect();
        let runner = Runner::new(
            binary.clone(),
            work.clone(),
            Limits {
                memory_mib: args.memory,
                trial: Duration::from_secs_f64(trial_limit),
            },
            child_template(&args.run, bundles.as_deref(), writable),
        );
        if !runner.tools.prlimit {
            eprintln!(
                "harness grade: warning: prlimit (util-linux) was not found: grading runs \
                 without a memory limit"
            );
        }
        let batch_size = args.batch.unwrap_or(match plan.executor {
            Executor::Sim => DEFAULT_SIM_BATCH,
            Executor::Real => 2 * plan.jobs as u64,
        });
        run_batches(&runner, &plan, args, batch_size, &mut summary)?;
        extras.forged = runner.forged.load(std::sync::atomic::Ordering::SeqCst) as u64;
        extras.confinement = runner.confinement.lock().clone();
        if let Some(said) = &extras.confinement {
            eprintln!("harness grade: {said}");
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    // The trials' time: the build is reported on its own (and is cached between grades).
    summary.wall = trials_started.elapsed();

    // Reports.
    let grade_value = serde_json::to_value(&extras).unwrap_or(Value::Null);
    let mut value = report::gradescope_json(&summary, &plan.policy, &args.run.visibility);
    decorate_report(&mut value, &grade_value);
    let text =
        serde_json::to_string_pretty(&value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    report::write_report(&plan.json, &text)?;
    report::write_report(
        &plan.junit,
        &junit_report(&summary, &plan.policy, Some(&grade_value)),
    )?;

    let extra_text = extras.text();
    if !extra_text.is_empty() {
        println!("{extra_text}");
    }
    if build.ok && !extras.refused() {
        print!("{}", stats::format_table(&summary, false));
        print!("{}", super::failures_text(&summary));
    }
    let score: f64 = summary
        .graders
        .iter()
        .map(|g| report::grade(g, &plan.policy).score)
        .sum();
    let max: f64 = summary
        .graders
        .iter()
        .map(|g| report::grade(g, &plan.policy).max_score)
        .sum();
    println!(
        "graded in {:.1}s (build and lint {:.1}s, trials {:.1}s)",
        started.elapsed().as_secs_f64(),
        (started.elapsed() - summary.wall).as_secs_f64(),
        summary.wall.as_secs_f64()
    );
    println!(
        "score {score} of {max}{}; results.json written to {}, JUnit to {}",
        if summary.shard.is_whole() {
            String::new()
        } else {
            format!(
                " (shard {}: merge the shards' reports for the grade)",
                summary.shard
            )
        },
        plan.json.display(),
        plan.junit.display()
    );
    let all_ok = build.ok
        && !extras.refused()
        && extras.forged == 0
        && summary
            .graders
            .iter()
            .all(|g| report::grade(g, &plan.policy).ok);
    Ok(if all_ok { EXIT_PASSED } else { EXIT_FAILED })
}

/// The shard's seeds of grader `index`, as one range (they are consecutive: see
/// [`Shard`](super::shard::Shard)).
fn seeds_of(plan: &Plan, args: &GradeArgs, index: usize) -> Option<(u64, u64)> {
    let trials = args
        .run
        .shard
        .trials(plan.graders.len(), plan.seed_start, plan.runs);
    let seeds: Vec<u64> = trials
        .iter()
        .filter(|(g, _)| *g == index)
        .map(|&(_, s)| s)
        .collect();
    let (&first, &last) = (seeds.first()?, seeds.last()?);
    Some((first, last - first + 1))
}

/// Consecutive seeds of one grader, run by one child (or more, when one dies or runs away).
struct Batch {
    index: usize,
    grader: Grader,
    seed_start: u64,
    runs: u64,
}

/// Runs every batch of the plan and adds its figures to `summary`.
fn run_batches(
    runner: &Runner,
    plan: &Plan,
    args: &GradeArgs,
    batch_size: u64,
    summary: &mut RunSummary,
) -> Result<(), GradeError> {
    let mut batches = Vec::new();
    for (index, &grader) in plan.graders.iter().enumerate() {
        let Some((start, count)) = seeds_of(plan, args, index) else {
            continue;
        };
        let mut seed = start;
        while seed < start + count {
            let runs = batch_size.min(start + count - seed);
            batches.push(Batch {
                index,
                grader,
                seed_start: seed,
                runs,
            });
            seed += runs;
        }
    }
    // Graders take turns, so an early look at the output covers every grader.
    batches.sort_by_key(|b| ((b.seed_start - plan.seed_start) / batch_size, b.index));
    let runaways: Vec<Mutex<Runaways>> = plan
        .graders
        .iter()
        .map(|_| Mutex::new(Runaways::new(args.max_runaway)))
        .collect();
    for batch in &batches {
        let seeds: Vec<u64> = (batch.seed_start..batch.seed_start + batch.runs).collect();
        let settled = runner
            .run_seeds(batch.grader, &seeds, plan.jobs, &runaways[batch.index])
            .map_err(GradeError::Child)?;
        let (mut passed, mut failed, mut not_run) = (0, 0, 0);
        for (seed, outcome) in settled {
            match outcome {
                Settled::Reported(frame) => {
                    if frame.error.is_none() {
                        passed += 1;
                    } else {
                        failed += 1;
                    }
                    add(&mut summary.graders[batch.index], frame);
                }
                Settled::Died(death) => {
                    failed += 1;
                    died(summary, plan, batch, seed, &death);
                }
                Settled::NotRun(why) => {
                    not_run += 1;
                    let g = &mut summary.graders[batch.index];
                    g.failed += 1;
                    g.failures.push(FailedSeed {
                        seed,
                        error: why,
                        bundle: None,
                        page: None,
                    });
                }
            }
        }
        eprintln!(
            "harness grade: {} seeds {}..={}: {passed} passed, {failed} failed{}",
            batch.grader.name,
            batch.seed_start,
            batch.seed_start + batch.runs - 1,
            if not_run > 0 {
                format!(", {not_run} not run (too many runaway seeds)")
            } else {
                String::new()
            }
        );
    }
    summary.bundles = summary
        .graders
        .iter()
        .flat_map(|g| &g.failures)
        .filter(|f| f.bundle.is_some())
        .count() as u64;
    for g in &mut summary.graders {
        g.failures.sort_by_key(|f| f.seed);
    }
    Ok(())
}

/// Counts one reported trial.
fn add(total: &mut GraderSummary, frame: TrialFrame) {
    total.run_time.push(Duration::from_nanos(frame.run_time_ns));
    total.wall_total += Duration::from_nanos(frame.wall_ns);
    match frame.error {
        None => {
            total.passed += 1;
            if !frame.warnings.is_empty() {
                total.warned += 1;
            }
            let seed = frame.seed;
            total.keep_warnings(
                frame
                    .warnings
                    .into_iter()
                    .map(|warning| run::WarnedSeed { seed, warning }),
            );
        }
        Some(error) => {
            total.failed += 1;
            total.failures.push(FailedSeed {
                seed: frame.seed,
                error,
                bundle: frame.bundle,
                page: frame.page,
            });
        }
    }
}

/// Counts a trial whose process died, with a bundle holding the process's last output.
fn died(summary: &mut RunSummary, plan: &Plan, batch: &Batch, seed: u64, death: &child::Death) {
    eprintln!(
        "harness grade: {} seed {seed}: {}",
        batch.grader.name, death.message
    );
    let bundle = plan.bundles.as_ref().and_then(|dir| {
        let log = format!(
            "the grading process's last output (stderr):\n{}\n",
            death.tail
        );
        Bundle {
            grader: batch.grader,
            seed,
            executor: plan.executor,
            error: Some(death.message.clone()),
            failed_at: None,
            run_time: Duration::ZERO,
            stuck_after: plan.stuck_after,
            check_determinism: false,
            replay: run::replay_command(batch.grader.name, seed, plan.executor),
            log_filter: "none: the process died, so there is no log; replay the seed".into(),
            notes: vec!["the process running this trial died; the log is its last output".into()],
            log: &log,
            timeline: None,
        }
        .write(dir)
        .ok()
    });
    let g = &mut summary.graders[batch.index];
    g.failed += 1;
    g.run_time.push(Duration::ZERO);
    g.failures.push(FailedSeed {
        seed,
        error: death.message.clone(),
        bundle,
        page: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[test]
    fn children_get_the_settings_that_change_a_trial_and_nothing_else() {
        let cli = super::super::Cli::try_parse_from([
            "harness",
            "grade",
            "sub",
            "A",
            "--runs",
            "7",
            "--real",
            "--stuck-after",
            "3",
            "--check-determinism",
            "--keep-all",
            "--threshold",
            "0.5",
            "--shard",
            "2/3",
            "--no-html",
            "--json",
            "/r/results.json",
        ])
        .expect("valid");
        let super::super::Command::Grade(args) = cli.command else {
            panic!("not grade");
        };
        let plan = child_template(&args.run, Some(Path::new("/b")), vec!["/w".into()]);
        assert!(plan.real && plan.check_determinism && plan.keep_all && !plan.html);
        assert_eq!(plan.stuck_after, 3.0);
        assert_eq!(plan.bundles.as_deref(), Some(Path::new("/b")));
        assert_eq!(plan.writable, [PathBuf::from("/w")]);
        // The report's path reaches no child.
        let text = serde_json::to_string(&plan).expect("serializes");
        assert!(!text.contains("results.json"), "{text}");
    }

    #[test]
    fn the_report_says_what_the_build_and_the_lint_found() {
        let extras = GradeExtras {
            submission: "alice".into(),
            fingerprint: "0".into(),
            dropped: vec!["build.rs is not run".into()],
            compile_errors: Some(vec!["error[E0425]: cannot find value `x`".into()]),
            error_count: 3,
            api_mismatch: true,
            disallowed: vec![DisallowedUse {
                file: "src/peer.rs".into(),
                line: 12,
                column: 9,
                call: "std::thread::sleep".into(),
                instead: "labrpc::runtime::sleep(duration).await".into(),
                refused: false,
            }],
            lint_skipped: None,
            unlisted: Vec::new(),
            forged: 0,
            confinement: None,
            path: "alice".into(),
        };
        let text = extras.text();
        for want in [
            "did not compile",
            "first 1 of 3 errors",
            "E0425",
            "API differs",
            "build.rs is not run",
            "raft/src/peer.rs:12:9: std::thread::sleep -> use labrpc::runtime::sleep(duration).await",
        ] {
            assert!(text.contains(want), "{want:?} missing from:\n{text}");
        }
        let mut report = serde_json::json!({
            "output": "0 of 1 graders passed",
            "tests": [{"output": "passed 0 of 0"}],
            "extra_data": {}
        });
        let value = serde_json::to_value(&extras).expect("serializes");
        decorate_report(&mut report, &value);
        assert!(report["output"]
            .as_str()
            .is_some_and(|o| o.starts_with("The submission did not compile")
                && o.ends_with("0 of 1 graders passed")));
        assert_eq!(report["tests"][0]["output"], NOT_RUN);
        assert_eq!(report["extra_data"]["grade"], value);
    }

    #[test]
    fn a_refused_submission_is_told_why_and_its_replays_rebuild_it() {
        let extras = GradeExtras {
            submission: "alice".into(),
            path: "subs/alice".into(),
            fingerprint: "0".into(),
            dropped: Vec::new(),
            compile_errors: None,
            error_count: 0,
            api_mismatch: false,
            disallowed: vec![
                DisallowedUse {
                    file: "src/peer.rs".into(),
                    line: 3,
                    column: 5,
                    call: "std::fs::write".into(),
                    instead: "`persister.save(..)`".into(),
                    refused: true,
                },
                DisallowedUse {
                    file: "src/peer.rs".into(),
                    line: 9,
                    column: 1,
                    call: "std::env::var".into(),
                    instead: "a constant".into(),
                    refused: false,
                },
            ],
            lint_skipped: None,
            unlisted: vec!["libc".into()],
            forged: 2,
            confinement: Some(format!("{}: no such syscall", serve::LANDLOCK_OFF)),
        };
        assert!(extras.refused() && extras.not_graded() && !extras.build_failed());
        let text = extras.text();
        for want in [
            "depends on libc, which the graders do not allow",
            "Refused: your code uses files",
            "raft/src/peer.rs:3:5: std::fs::write",
            "raft/src/peer.rs:9:1: std::env::var -> use a constant",
            "2 lines of the grading process's output",
            "ran without Landlock",
        ] {
            assert!(text.contains(want), "{want:?} missing from:\n{text}");
        }
        let theirs = run::replay_command("re_election", 4, Executor::Sim);
        let mut report = serde_json::json!({
            "output": "0 of 1 graders passed",
            "visibility": "hidden",
            "tests": [{
                "output": format!("failing seeds (1):\n  seed 4: no leader\n    replay: {theirs}\n"),
                "extra_data": {"grader": "re_election",
                               "failing_seeds": [{"seed": 4, "replay": theirs}]}
            }],
            "extra_data": {"executor": "sim"}
        });
        let value = serde_json::to_value(&extras).expect("serializes");
        decorate_report(&mut report, &value);
        let ours = "harness grade subs/alice re_election --replay 4";
        assert_eq!(
            report["tests"][0]["extra_data"]["failing_seeds"][0]["replay"],
            ours
        );
        assert_eq!(report["tests"][0]["output"], NOT_RUN_REFUSED);
        let lint = &report["tests"][1];
        assert_eq!(lint["status"], "failed");
        assert_eq!(lint["visibility"], "hidden");
        assert_eq!(lint["max_score"], 0.0);
        assert!(lint["output"]
            .as_str()
            .is_some_and(|o| o.contains("std::fs::write")));
        assert!(report["output"]
            .as_str()
            .is_some_and(|o| o.contains("std::fs::write") && o.ends_with("graders passed")));
    }
}
