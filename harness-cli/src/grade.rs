//! `harness grade SUBMISSION`: grading a student's `raft` crate, safely.
//!
//! 1. **Build** the submission against the kit's `labrpc` and `harness` in a scratch workspace
//!    ([`workspace`]): never inside the submission, with manifests of our own ([`manifest`]:
//!    the submission's `Cargo.toml` gives its `[dependencies]` and nothing else). A submission
//!    that does not compile gets a report with score 0 and the compiler's first errors.
//! 2. **Lint** it: `cargo clippy` with the project's `disallowed-methods` lists its direct uses
//!    of the real clock, threads and global random generators, each with the runtime call to
//!    use instead (in sim mode these are the usual cause of a confusing failure).
//! 3. **Run** the graders in child processes of the built binary ([`child`]), in batches of
//!    seeds, under a wall-clock and a memory limit. A trial that ends the process
//!    (`std::process::exit`, an abort, a stack overflow, memory, a spin past the limit) fails
//!    alone, with a message saying which, and grading goes on.
//! 4. **Report**: Gradescope's `results.json`, JUnit and failure bundles, as `harness run`
//!    writes them, with what the build and the lint found on top. With `--shard K/N` the
//!    report is a shard's, for `harness merge`.

pub mod child;
pub mod manifest;
pub mod workspace;

use std::ffi::OsString;
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
use child::{Batch, Limits, Outcome, Runner};
use harness::graders::Grader;
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

The graders run in child processes under `timeout` and `prlimit` (--trial-limit, --memory), in
batches of --batch seeds; a batch whose process dies is run again one seed per process, so the
death fails only the trial that caused it. Reports go to --out (default
grade-results/NAME-TIME): results.json, junit.xml and bundles/ (--json and --junit move the
reports). The run flags (seeds, --real, thresholds, points, --shard) are those of `harness run`.

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
    /// Skip the lint for direct uses of the clock, threads and random generators.
    #[arg(long)]
    pub no_lint: bool,
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
}

/// A direct use of the real clock, threads or a global random generator in a submission (the
/// `disallowed-methods` of the project's `clippy.toml`), with what to call instead.
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
}

/// What `harness grade` adds to a run's report (its `extra_data.grade`): which submission, and
/// what was found in it besides the graders' verdicts. The same submission gives the same
/// value on every machine (but for its folder name), so shards' reports can be checked to be
/// of one submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradeExtras {
    /// The submission's folder name.
    pub submission: String,
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
}

impl GradeExtras {
    /// Whether the submission failed to compile.
    pub fn build_failed(&self) -> bool {
        self.compile_errors.is_some()
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
            if self.api_mismatch {
                out.push_str(
                    "Some errors are in the harness: the submission's API differs from the one \
                     the graders use. Keep Raft::new, get_state, kill, service and start, the \
                     Persister, the apply channel and the RPC message types with their names \
                     and fields.\n",
                );
            }
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
        } else if !self.disallowed.is_empty() {
            let _ = writeln!(
                out,
                "Your code calls the real clock, threads or a global random generator directly \
                 ({} place{}). These escape the lab runtime: in sim mode a run no longer \
                 replays from its seed, and sleeps and time-outs misbehave. Use the runtime \
                 instead:",
                self.disallowed.len(),
                if self.disallowed.len() == 1 { "" } else { "s" }
            );
            for d in &self.disallowed {
                let _ = writeln!(
                    out,
                    "  raft/{}:{}:{}: {} -> use {}",
                    d.file, d.line, d.column, d.call, d.instead
                );
            }
        }
        out
    }
}

/// What a grader's test says when the submission did not compile.
const NOT_RUN: &str = "not run: the submission did not compile (see the errors at the top)\n";

/// Adds what `harness grade` found (a [`GradeExtras`] as JSON) to a run's Gradescope report:
/// its text goes before the report's `output` (and, when the submission did not compile, each
/// test says it was not run), and the value itself into `extra_data.grade`, where
/// `harness merge` finds it again.
pub fn decorate_report(report: &mut Value, grade: &Value) {
    if let Ok(extras) = serde_json::from_value::<GradeExtras>(grade.clone()) {
        let text = extras.text();
        if !text.is_empty() {
            let output = report
                .get("output")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            report["output"] = Value::String(format!("{text}\n{output}"));
        }
        if extras.build_failed() {
            for t in report
                .get_mut("tests")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                t["output"] = Value::String(NOT_RUN.to_string());
            }
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
    let Some(extras) = extras.filter(GradeExtras::build_failed) else {
        return report::junit_xml(summary, policy);
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
        "  <testsuite name=\"raft graders: the submission did not compile\" tests=\"{n}\" failures=\"0\" errors=\"{n}\" skipped=\"0\" time=\"{:.3}\">",
        summary.wall.as_secs_f64()
    );
    for g in &summary.graders {
        let _ = writeln!(
            x,
            "    <testcase name=\"{}\" classname=\"harness.part{}\" time=\"0.000\">\n      <error message=\"the submission did not compile\" type=\"BuildFailed\">{text}</error>\n    </testcase>",
            xml_escape(g.grader.name),
            xml_escape(g.grader.part)
        );
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// The run flags every child gets, from `run`'s flags: what changes how a trial runs and what
/// it keeps. Seeds, jobs and reports are the batch's; thresholds, points, visibility and shards
/// are applied by the grading process itself.
fn child_flags(args: &RunArgs, bundles: Option<&Path>) -> Vec<OsString> {
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
        max_bundles,
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
        // Refused by `grade` (see `plan`): a tool of `run`.
        save_trace_hashes: _,
        compare_trace_hashes: _,
    } = args;
    let mut flags: Vec<OsString> = Vec::new();
    if *real {
        flags.push("--real".into());
    }
    flags.push("--stuck-after".into());
    flags.push(stuck_after.to_string().into());
    if *check_determinism {
        flags.push("--check-determinism".into());
    }
    if *no_monitor {
        flags.push("--no-monitor".into());
    }
    match bundles {
        Some(dir) => {
            flags.push("--out".into());
            flags.push(dir.as_os_str().to_owned());
            flags.push("--bundle-log".into());
            flags.push(bundle_log.into());
            flags.push("--max-bundles".into());
            flags.push(max_bundles.to_string().into());
            if *keep_all {
                flags.push("--keep-all".into());
            }
            if *no_html {
                flags.push("--no-html".into());
            }
        }
        None => flags.push("--no-bundles".into()),
    }
    flags
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
    if r.save_trace_hashes.is_some() || r.compare_trace_hashes.is_some() {
        return Err(CliError::Usage(
            "--save-trace-hashes and --compare-trace-hashes are for `harness run` (checking \
             that a change to the harness keeps every run the same), not for grading"
                .into(),
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

/// Runs `harness grade`.
pub fn grade_command(args: &GradeArgs) -> Result<i32, CliError> {
    let started = Instant::now();
    let crate_dir = workspace::find_crate(&args.submission).map_err(GradeError::from)?;
    let name = absolute(&args.submission)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "submission".to_string());
    let plan = plan(args, &name)?;
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
            .prepare(&crate_dir, messages.as_deref())
            .map_err(GradeError::from)?;
        let build = ws.build(args.offline).map_err(GradeError::from)?;
        let _ = std::fs::write(plan.out.join("build.log"), &build.log);
        let lint = if !build.ok {
            Err("the submission did not compile".to_string())
        } else if args.no_lint {
            Err("--no-lint".to_string())
        } else {
            ws.lint(args.offline, &prepared.disallowed)
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
    let extras = GradeExtras {
        submission: name,
        fingerprint: prepared.fingerprint,
        dropped: prepared.dropped,
        compile_errors: (!build.ok).then(|| build.errors.clone()),
        error_count: build.error_count,
        api_mismatch: build.api_mismatch,
        disallowed,
        lint_skipped,
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
    if build.ok {
        let trial_limit = args.trial_limit.unwrap_or(match plan.executor {
            Executor::Sim => DEFAULT_SIM_TRIAL_LIMIT,
            Executor::Real => DEFAULT_REAL_TRIAL_LIMIT,
        });
        let runner = Runner::new(
            binary.clone(),
            work.clone(),
            Limits {
                memory_mib: args.memory,
                trial: Duration::from_secs_f64(trial_limit),
            },
            child_flags(&args.run, plan.bundles.as_deref().map(absolute).as_deref()),
        );
        if !runner.tools.timeout || !runner.tools.prlimit {
            eprintln!(
                "harness grade: warning: {} not found: grading runs without {}",
                match (runner.tools.timeout, runner.tools.prlimit) {
                    (false, false) => "timeout (coreutils) and prlimit (util-linux) were",
                    (false, true) => "timeout (coreutils) was",
                    _ => "prlimit (util-linux) was",
                },
                match (runner.tools.timeout, runner.tools.prlimit) {
                    (false, false) => "a wall-clock or memory limit",
                    (false, true) => "a wall-clock limit",
                    _ => "a memory limit",
                }
            );
        }
        let batch_size = args.batch.unwrap_or(match plan.executor {
            Executor::Sim => DEFAULT_SIM_BATCH,
            Executor::Real => 2 * plan.jobs as u64,
        });
        run_batches(&runner, &plan, args, batch_size, &mut summary)?;
    }
    let _ = std::fs::remove_dir_all(&work);
    // The trials' time: the build is reported on its own (and is cached between grades).
    summary.wall = trials_started.elapsed();

    // Reports.
    let grade_value = serde_json::to_value(&extras).unwrap_or(Value::Null);
    let mut value =
        report::gradescope_report(&summary, &plan.policy, &args.run.visibility, &plan.json);
    decorate_report(&mut value, &grade_value);
    let text =
        serde_json::to_string_pretty(&value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    report::write_report(&plan.json, &text)?;
    report::write_report(
        &plan.junit,
        &junit_report(
            &report::for_report(&summary, &plan.junit),
            &plan.policy,
            Some(&grade_value),
        ),
    )?;

    let extra_text = extras.text();
    if !extra_text.is_empty() {
        println!("{extra_text}");
    }
    if build.ok {
        print!("{}", super::failures_text(&summary));
        print!("{}", stats::format_table(&summary, false));
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
    for batch in &batches {
        let last = batch.seed_start + batch.runs - 1;
        match runner
            .run_batch(batch, plan.jobs)
            .map_err(GradeError::Child)?
        {
            Outcome::Ran(figures) => {
                eprintln!(
                    "harness grade: {} seeds {}..={last}: {} passed, {} failed",
                    batch.grader.name, batch.seed_start, figures.passed, figures.failed
                );
                add(&mut summary.graders[batch.index], &figures);
            }
            Outcome::Died(death) if batch.runs == 1 => {
                died(summary, plan, batch, batch.seed_start, &death);
            }
            Outcome::Died(death) => {
                eprintln!(
                    "harness grade: {} seeds {}..={last}: {}; running them one per process to \
                     find which",
                    batch.grader.name, batch.seed_start, death.message
                );
                for (seed, outcome) in runner.run_one_by_one(batch, plan.jobs) {
                    match outcome.map_err(GradeError::Child)? {
                        Outcome::Ran(figures) => add(&mut summary.graders[batch.index], &figures),
                        Outcome::Died(death) => died(summary, plan, batch, seed, &death),
                    }
                }
            }
        }
    }
    // Each batch kept its own first bundles: keep the grader's.
    summary.bundles = run::keep_lowest_bundles(&mut summary.graders, args.run.max_bundles);
    Ok(())
}

fn add(total: &mut GraderSummary, part: &GraderSummary) {
    total.passed += part.passed;
    total.failed += part.failed;
    total.run_time.merge(&part.run_time);
    total.wall_total += part.wall_total;
    total.failures.extend(part.failures.iter().cloned());
    total.warned += part.warned;
    total.keep_warnings(part.warnings.iter().cloned());
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
    fn children_get_the_flags_that_change_a_trial() {
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
        ])
        .expect("valid");
        let super::super::Command::Grade(args) = cli.command else {
            panic!("not grade");
        };
        let flags: Vec<String> = child_flags(&args.run, Some(Path::new("/b")))
            .into_iter()
            .map(|f| f.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            flags,
            [
                "--real",
                "--stuck-after",
                "3",
                "--check-determinism",
                "--out",
                "/b",
                "--bundle-log",
                "debug",
                "--max-bundles",
                "5",
                "--keep-all",
                "--no-html"
            ]
        );
        let none: Vec<OsString> = child_flags(&args.run, None);
        assert!(none.contains(&OsString::from("--no-bundles")));
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
            }],
            lint_skipped: None,
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
}
