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

mod batches;
pub mod child;
mod extras;
pub mod lint;
pub mod manifest;
pub mod protocol;
mod replay;
pub mod rules;
pub mod serve;
pub mod workspace;

pub use extras::{decorate_report, grade_replay_command, junit_report, DisallowedUse, GradeExtras};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use labrpc::runtime::Executor;
use serde_json::Value;

use super::bundle;
use super::policy::Policy;
use super::report;
use super::run::{self, GraderSummary, RunSummary};
use super::{stats, CliError, RunArgs, EXIT_FAILED, EXIT_PASSED};
use child::{Limits, Runner};
use harness::graders::Grader;
use protocol::TrialPlan;
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
        max_bundles: *max_bundles,
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
    // A submission is a `raft` crate: the key/value labs' graders would grade the kit's own
    // services on it, so `all` (or a part list) means the Raft lab's graders here, and naming
    // only key/value graders is refused.
    let asked_for_kv = graders.iter().any(|g| !g.is_raft());
    graders.retain(harness::graders::Grader::is_raft);
    if graders.is_empty() && asked_for_kv {
        return Err(CliError::Usage(format!(
            "{} selects only key/value graders, and harness grade grades a submission's raft \
             crate with the Raft lab's graders (A-D)",
            r.selectors.join(" ")
        )));
    }
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
        return replay::replay_submission(args, &ws, &crate_dir, &rules, seed);
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
        batches::run_batches(&runner, &plan, args, batch_size, &mut summary)?;
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
    if build.ok && !extras.refused() {
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
        && !extras.refused()
        && extras.forged == 0
        && summary
            .graders
            .iter()
            .all(|g| report::grade(g, &plan.policy).ok);
    Ok(if all_ok { EXIT_PASSED } else { EXIT_FAILED })
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
}
