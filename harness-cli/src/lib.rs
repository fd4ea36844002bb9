//! The grader CLI: many trials of many graders with live progress, failure bundles, replays
//! with a per-peer log view, and reports for Gradescope and CI.
//!
//! ```text
//! cargo run --release -p harness-cli -- list
//! cargo run --release -p harness-cli -- run A --runs 1000 --jobs 2
//! cargo run --release -p harness-cli -- run initial_election re_election --runs 200 --json results.json --junit junit.xml
//! cargo run --release -p harness-cli -- replay initial_election --seed 123 --hide TIMER,APPEND
//! cargo run --release -p harness-cli -- view lab-results/20260101-120000/failed-re_election-seed7.log
//! cargo run --release -p harness-cli -- run A --runs 1000 --shard 2/4 --json shard-2.json
//! cargo run --release -p harness-cli -- merge shard-*.json -o results.json --junit junit.xml
//! cargo run --release -p harness-cli -- history --model kv c10-bad.txt -o c10-bad.html
//! ```
//!
//! Exit codes: 0 when everything passed (every grader reached its threshold, every planned
//! trial ran), 1 when something failed or the run was interrupted, 2 for a usage error (an
//! unknown grader, a bad flag, a file that cannot be read or written).
//!
//! The CLI is generic over the peer type ([`main`] takes it as a type parameter); the binary
//! runs `raft::Raft`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// The grader CLI drives trials from outside any run: it times them on the wall clock, names
// result folders by the date and runs trials on threads of its own. The graders, the tester
// and raft stay under clippy.toml's rule.
#![allow(clippy::disallowed_methods)]

pub mod bundle;
pub mod failures;
pub mod grade;
pub mod handout;
pub mod history;
pub mod merge;
pub mod policy;
pub mod progress;
pub mod replay;
pub mod report;
pub mod run;
pub mod shard;
pub mod stats;
pub mod traces;

use std::ffi::OsString;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use labrpc::runtime::Executor;
use parking_lot::Mutex;

use harness::graders::{self, Grader};
use harness::logview::{self, ViewOptions};
use harness::Peer;
use policy::Policy;
use run::{Control, RunOptions};

/// Exit code: everything passed.
pub const EXIT_PASSED: i32 = 0;
/// Exit code: a trial or grader failed, or the run was interrupted.
pub const EXIT_FAILED: i32 = 1;
/// Exit code: the command line or a file it names is wrong.
pub const EXIT_USAGE: i32 = 2;

/// Trials per grader when `--runs` is not given, in sim mode.
pub const DEFAULT_SIM_RUNS: u64 = 100;
/// Trials per grader when `--runs` is not given, in real mode.
pub const DEFAULT_REAL_RUNS: u64 = 4;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "harness",
    version,
    about = "Run the Raft lab's graders over many seeds, replay a seed with a per-peer log, \
             and write reports for graders and CI.",
    after_help = "Exit codes: 0 everything passed, 1 a failure (or an interrupted run), 2 a usage error."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the graders with their part and what they check.
    List,
    /// Run graders over many seeds and report pass rates, failing seeds and replay commands.
    #[command(after_long_help = RUN_HELP)]
    Run(RunArgs),
    /// Run one seed of a grader again with a debug log and show it one column per peer.
    Replay(ReplayArgs),
    /// Show a saved log or failure bundle (`-` for stdin) one column per peer.
    View(ViewArgs),
    /// Merge the JSON reports of a run's shards (`run --shard K/N`) into the report of the run.
    #[command(after_long_help = merge::MERGE_HELP)]
    Merge(merge::MergeArgs),
    /// Build a submission's raft crate in a scratch workspace and grade it in child processes
    /// with limits; write results.json, JUnit and bundles.
    #[command(after_long_help = grade::GRADE_HELP)]
    Grade(grade::GradeArgs),
    /// Write the student repository: labrpc, harness with its graders, and a raft skeleton.
    Handout(handout::HandoutArgs),
    /// Check a recorded history file for linearizability and write its picture: one row per
    /// client and key, the longest linearizable prefix, the operation that could not be placed.
    #[command(after_long_help = history::HISTORY_HELP)]
    History(history::HistoryArgs),
    /// Run by `harness grade` in its grading children (the plan comes on standard input).
    #[command(hide = true)]
    GradeTrials,
}

/// The end of `harness run --help`: examples and the thresholds file.
const RUN_HELP: &str = "\
Examples:
  harness run A --runs 1000                  every part-A grader over seeds 1..=1000
  harness run re_election --seed-start 5000  another 100 seeds
  harness run all --runs 200 --threshold 0.99 --json results.json --junit junit.xml
  harness run A --real --runs 32             real time, 16 trials at once

Each trial keeps its debug log as it runs; a failing trial's log is saved as a bundle in the
output folder, with its error, settings and replay command (sim mode replays a seed exactly);
`harness view FILE` shows it one column per peer. --no-bundles keeps no log: the fastest runs.
The first --max-bundles failing seeds of each grader (default 5) get a bundle and a timeline
page; after the run, the first three of each grader are shown in detail and the others listed
by seed, then the table.
A passing seed that warns (as the Go tester does) is printed as a WARN line and listed after
the table.

Grading: a grader passes, and scores its max_score (default 1), when its pass rate is at least
its threshold. --thresholds FILE sets them per grader, as lines
    initial_election = 0.95
    many_elections.threshold = 0.9
    many_elections.max_score = 5
or as JSON: {\"initial_election\": 0.95, \"many_elections\": {\"threshold\": 0.9, \"max_score\": 5}}

Exit codes: 0 every grader passed, 1 a grader failed or the run was interrupted, 2 usage error.";

/// `harness run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// What to run: parts (`A`, `3A`, `2A`), grader names, or `all`.
    #[arg(required = true, value_name = "SELECTOR")]
    pub selectors: Vec<String>,
    /// Run only the original lab's graders: leave out those that go beyond it (stability,
    /// Figure 2 conformance), to grade exactly as the original does.
    #[arg(long)]
    pub only_original: bool,
    /// Run without the safety monitor (it is on by default; `LAB_MONITOR=0` also turns it off).
    #[arg(long)]
    pub no_monitor: bool,
    /// Write no timeline page (`.html`) next to each bundle.
    #[arg(long)]
    pub no_html: bool,
    /// Trials per grader [default: 100 in sim mode, 4 in real mode].
    #[arg(long, short = 'n', value_name = "N")]
    pub runs: Option<u64>,
    /// The first seed; trials use consecutive seeds from it, so a run is reproducible.
    #[arg(
        long,
        value_name = "SEED",
        default_value_t = 1,
        conflicts_with = "random_seeds"
    )]
    pub seed_start: u64,
    /// Start from a seed drawn from the clock (printed, so the run can be repeated).
    #[arg(long)]
    pub random_seeds: bool,
    /// Trials at once [default: two per core in sim mode, 16 in real mode].
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Run in real time (worker threads, wall clock) instead of the reproducible simulation.
    #[arg(long)]
    pub real: bool,
    /// Fail a trial when no task makes progress for this many seconds of wall time.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub stuck_after: f64,
    /// Run every seed twice and fail it when the two runs' event traces differ.
    #[arg(long)]
    pub check_determinism: bool,
    /// Write each sim trial's event-trace hash (and outcome) to FILE, one line per (grader,
    /// seed), for a later --compare-trace-hashes.
    #[arg(long, value_name = "FILE")]
    pub save_trace_hashes: Option<PathBuf>,
    /// Fail every sim trial whose event trace or outcome is not the one saved in FILE by
    /// --save-trace-hashes (seeds not in FILE are counted, not failed).
    #[arg(long, value_name = "FILE")]
    pub compare_trace_hashes: Option<PathBuf>,
    /// Folder for failure bundles [default: lab-results/YYYYmmdd-HHMMSS].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Keep a bundle (with its log) for passing trials too.
    #[arg(long, conflicts_with = "no_bundles")]
    pub keep_all: bool,
    /// Write no bundles (and capture no log while running: about 14% less work per trial).
    #[arg(long)]
    pub no_bundles: bool,
    /// The log filter of bundles (a level such as `debug`, or `info,raft=trace`).
    #[arg(long, value_name = "FILTER", default_value = run::DEFAULT_BUNDLE_LOG)]
    pub bundle_log: String,
    /// The most failing seeds of each grader that get a bundle and a timeline page (the
    /// lowest seeds); the others are listed by seed, to replay.
    #[arg(long, value_name = "N", default_value_t = run::DEFAULT_MAX_BUNDLES)]
    pub max_bundles: usize,
    /// Run all trials of one grader before the next (default: graders take turns).
    #[arg(long)]
    pub sequential: bool,
    /// Write Gradescope's results.json here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// The pass rate a grader needs to pass (and score).
    #[arg(long, value_name = "RATE", default_value_t = 1.0)]
    pub threshold: f64,
    /// Per-grader thresholds and points: `name = 0.95` / `name.max_score = 5` lines, or JSON.
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,
    /// The `visibility` of the tests in results.json.
    #[arg(long, value_name = "WHEN", default_value = "visible",
          value_parser = ["visible", "hidden", "after_due_date", "after_published"])]
    pub visibility: String,
    /// Run only the K-th of N equal slices of the (seed × grader) trials, for N machines;
    /// `harness merge` joins their --json reports.
    #[arg(long, value_name = "K/N", default_value = "1/1")]
    pub shard: shard::Shard,
}

/// How to show a log (shared by `replay` and `view`).
#[derive(Debug, Args, Clone)]
pub struct ViewFlags {
    /// Show only these topics (comma-separated, e.g. `VOTE,LEADER`); TEST lines stay.
    #[arg(long, value_name = "TOPICS")]
    pub only: Option<String>,
    /// Hide these topics (comma-separated, e.g. `TIMER,APPEND`).
    #[arg(long, value_name = "TOPICS")]
    pub hide: Option<String>,
    /// Peer columns [default: one per peer in the log].
    #[arg(long, short = 'c', value_name = "N")]
    pub columns: Option<usize>,
    /// Total width [default: $COLUMNS, else 160].
    #[arg(long, value_name = "CHARS")]
    pub width: Option<usize>,
    /// No colours (the default when stdout is not a terminal or NO_COLOR is set).
    #[arg(long, conflicts_with = "color")]
    pub no_color: bool,
    /// Colours even when stdout is not a terminal (e.g. for `less -R`).
    #[arg(long)]
    pub color: bool,
    /// Leave out the time gutter.
    #[arg(long)]
    pub no_time: bool,
    /// Print the log lines as they are, without columns (filters still apply).
    #[arg(long)]
    pub raw: bool,
}

/// `harness replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The grader to replay.
    #[arg(value_name = "GRADER", required_unless_present = "file")]
    pub grader: Option<String>,
    /// The seed to replay.
    #[arg(
        long,
        short = 's',
        value_name = "SEED",
        required_unless_present = "file"
    )]
    pub seed: Option<u64>,
    /// Show this saved log or bundle instead of running anything (`-` for stdin).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["grader", "seed", "real"])]
    pub file: Option<String>,
    /// Replay in real time (not an exact replay: thread timing differs).
    #[arg(long)]
    pub real: bool,
    /// The log filter (a level such as `debug`, or `info,raft=trace`).
    #[arg(long, value_name = "FILTER", default_value = "debug")]
    pub log: String,
    /// Fail when no task makes progress for this many seconds of wall time.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub stuck_after: f64,
    /// Also write the trial's timeline, one self-contained HTML page, to this file.
    #[arg(long, value_name = "FILE", conflicts_with = "file")]
    pub html: Option<PathBuf>,
    /// How to show the log.
    #[command(flatten)]
    pub view: ViewFlags,
}

/// `harness view`.
#[derive(Debug, Args)]
pub struct ViewArgs {
    /// The log or bundle to show; `-` reads stdin.
    #[arg(value_name = "FILE")]
    pub file: String,
    /// How to show the log.
    #[command(flatten)]
    pub view: ViewFlags,
}

/// Something the user asked for cannot be done (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A selector, grader name or flag value is wrong.
    #[error("{0}")]
    Usage(String),
    /// The thresholds file is wrong.
    #[error(transparent)]
    Policy(#[from] policy::PolicyError),
    /// A report cannot be written.
    #[error(transparent)]
    Report(#[from] report::ReportError),
    /// A log cannot be read.
    #[error(transparent)]
    Read(#[from] replay::ReadError),
    /// Shards' reports cannot be merged.
    #[error(transparent)]
    Merge(#[from] merge::MergeError),
    /// A submission cannot be graded (for a reason that is not the submission's code).
    #[error(transparent)]
    Grade(#[from] grade::GradeError),
    /// The handout cannot be written.
    #[error(transparent)]
    Handout(#[from] handout::HandoutError),
    /// A timeline page cannot be written.
    #[error(transparent)]
    Page(#[from] harness::timeline::PageError),
    /// A trace-hash file cannot be read or written.
    #[error(transparent)]
    Traces(#[from] traces::TraceFileError),
}

/// Runs the CLI with the process's arguments and peer type `P`; returns the exit code.
pub fn main<P: Peer>() -> i32 {
    main_from::<P, _, _>(std::env::args_os())
}

/// Runs the CLI with the process's arguments and submission `S` (its Raft peer and key/value
/// services, so that every grader can run); returns the exit code.
pub fn main_submission<S: harness::Submission>() -> i32 {
    main_with(
        std::env::args_os(),
        harness::trial::run_submission_trial::<S>,
    )
}

/// Runs the CLI with `args` (the first is the program name) and peer type `P`; returns the
/// exit code. Parse errors and `--help` print as clap prints them.
pub fn main_from<P, I, T>(args: I) -> i32
where
    P: Peer,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    main_with(args, harness::trial::run_trial::<P>)
}

/// Runs the CLI with `args`, running each trial with `run`; returns the exit code.
pub fn main_with<I, T>(args: I, run: run::TrialFn) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_PASSED
            };
        }
    };
    let result = match cli.command {
        Command::List => {
            print!("{}", list_text());
            Ok(EXIT_PASSED)
        }
        Command::Run(args) => run_command(run, &args),
        Command::Replay(args) => replay_command(run, &args),
        Command::View(args) => view_command(&args),
        Command::Merge(args) => merge::merge_command(&args),
        Command::Grade(args) => grade::grade_command(&args),
        Command::Handout(args) => handout::handout_command(&args),
        Command::History(args) => history::history_command(&args),
        Command::GradeTrials => grade::serve::serve(run),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("harness: {e}");
            EXIT_USAGE
        }
    }
}

/// The text of `harness list`: name, part, origin (`original`, or `beyond` the original lab)
/// and what each grader checks.
pub fn list_text() -> String {
    let width = graders::all()
        .iter()
        .map(|g| g.name.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for g in graders::all() {
        let origin = match g.origin {
            graders::Origin::Original => "original",
            graders::Origin::Beyond => "beyond",
        };
        out.push_str(&format!(
            "{:<width$}  part {:<3} {origin:<9} {}\n{:<width$}  {}\n",
            g.name, g.part, g.title, "", g.description
        ));
    }
    out.push_str(
        "\noriginal: a test of the original lab, step for step; beyond: a check the original \
         lacks (run --only-original leaves these out)\n",
    );
    out
}

/// The graders named by `selectors`, each once, in the lab's order.
pub fn select_graders(selectors: &[String]) -> Result<Vec<Grader>, CliError> {
    let mut wanted = Vec::new();
    for s in selectors {
        for g in graders::select(s).map_err(CliError::Usage)? {
            if !wanted.contains(&g) {
                wanted.push(g);
            }
        }
    }
    // Keep the lab's order whatever the order of the selectors.
    Ok(graders::all()
        .iter()
        .filter(|g| wanted.contains(g))
        .copied()
        .collect())
}

fn seconds(flag: &str, secs: f64) -> Result<Duration, CliError> {
    if secs.is_finite() && secs > 0.0 && secs < 1e9 {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err(CliError::Usage(format!(
            "{flag} must be a positive number of seconds, got {secs}"
        )))
    }
}

/// The Ctrl-C handler's view of the run in progress.
static CURRENT_RUN: Mutex<Option<Arc<Control>>> = Mutex::new(None);
/// Whether the handler is installed (`Err` with the reason when it could not be).
static HANDLER: OnceLock<Result<(), String>> = OnceLock::new();

/// What the plan line says once the Ctrl-C handler is in place. It is printed only after the
/// handler is installed, so anyone who reads it (a person, or a test sending SIGINT) knows that
/// an interrupt from then on prints the table of what finished.
pub const CTRL_C_NOTE: &str = "Ctrl-C stops after the running trials and prints what finished";

/// Makes `control` the run that Ctrl-C stops, installing the handler once per process: the
/// first Ctrl-C stops handing out trials, the second stops waiting for the running ones.
/// Returns why the handler could not be installed, if it could not.
fn watch_ctrl_c(control: &Arc<Control>) -> Result<(), String> {
    *CURRENT_RUN.lock() = Some(control.clone());
    HANDLER
        .get_or_init(|| {
            ctrlc::set_handler(|| {
                if let Some(control) = CURRENT_RUN.lock().as_ref() {
                    if control.stopped() {
                        control.abandon();
                    } else {
                        control.stop();
                        eprintln!(
                            "\nharness: stopping after the running trials (Ctrl-C again to stop now)"
                        );
                    }
                }
            })
            .map_err(|e| e.to_string())
        })
        .clone()
}

/// A seed start drawn from the clock, small enough to type.
fn clock_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // Mix the bits (splitmix64's finaliser) so close start times give distant seeds.
    let mut z = nanos ^ u64::from(std::process::id()).rotate_left(32);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) % 1_000_000_000
}

/// Makes sure a report can be written before spending a long run on it.
fn check_writable(path: &std::path::Path) -> Result<(), CliError> {
    report::write_report(path, "").map_err(CliError::from)
}

fn run_command(run: run::TrialFn, args: &RunArgs) -> Result<i32, CliError> {
    // The handler goes in before anything is announced: from the first line on, Ctrl-C prints
    // the table (until it is in place, an interrupt ends the process by the signal).
    let control = Arc::new(Control::default());
    let ctrl_c = watch_ctrl_c(&control);
    let result = run_with(run, args, &control, ctrl_c);
    *CURRENT_RUN.lock() = None;
    result
}

fn run_with(
    run: run::TrialFn,
    args: &RunArgs,
    control: &Arc<Control>,
    ctrl_c: Result<(), String>,
) -> Result<i32, CliError> {
    let mut graders = select_graders(&args.selectors)?;
    if args.only_original {
        graders.retain(|g| g.origin == graders::Origin::Original);
        if graders.is_empty() {
            return Err(CliError::Usage(format!(
                "--only-original leaves none of {} (all go beyond the original lab)",
                args.selectors.join(" ")
            )));
        }
    }
    let executor = if args.real {
        Executor::Real
    } else {
        Executor::Sim
    };
    let mut policy = Policy::with_threshold(args.threshold)?;
    if let Some(path) = &args.thresholds {
        policy = policy.load(path)?;
    }
    let runs = args.runs.unwrap_or(match executor {
        Executor::Sim => DEFAULT_SIM_RUNS,
        Executor::Real => DEFAULT_REAL_RUNS,
    });
    if runs == 0 {
        return Err(CliError::Usage("--runs must be at least 1".into()));
    }
    let jobs = args.jobs.unwrap_or(match executor {
        Executor::Sim => run::default_sim_jobs(),
        Executor::Real => run::DEFAULT_REAL_JOBS,
    });
    if jobs == 0 {
        return Err(CliError::Usage("--jobs must be at least 1".into()));
    }
    if args.random_seeds && !args.shard.is_whole() {
        return Err(CliError::Usage(
            "--random-seeds draws another start on every machine, so the shards would not fit \
             together: give every shard the same --seed-start"
                .into(),
        ));
    }
    let seed_start = if args.random_seeds {
        clock_seed()
    } else {
        args.seed_start
    };
    if seed_start.checked_add(runs).is_none() {
        return Err(CliError::Usage(format!(
            "seeds {seed_start} + {runs} runs go past the largest seed"
        )));
    }
    for path in [&args.json, &args.junit, &args.save_trace_hashes]
        .into_iter()
        .flatten()
    {
        check_writable(path)?;
    }
    if executor == Executor::Real
        && (args.save_trace_hashes.is_some() || args.compare_trace_hashes.is_some())
    {
        return Err(CliError::Usage(
            "--save-trace-hashes and --compare-trace-hashes need sim mode: a real-time run \
             has no reproducible trace"
                .into(),
        ));
    }
    let saved_traces = match &args.compare_trace_hashes {
        Some(path) => Some(Arc::new(traces::TraceHashes::load(path)?)),
        None => None,
    };
    let out_dir = if args.no_bundles {
        None
    } else {
        Some(args.out.clone().unwrap_or_else(bundle::default_out_dir))
    };
    let options = RunOptions {
        graders: graders.clone(),
        runs,
        seed_start,
        jobs,
        executor,
        stuck_after: seconds("--stuck-after", args.stuck_after)?,
        monitor: !args.no_monitor && harness::monitor::enabled_by_env(),
        html: !args.no_html,
        check_determinism: args.check_determinism,
        keep_all: args.keep_all,
        out_dir,
        bundle_log: args.bundle_log.clone(),
        sequential: args.sequential,
        shard: args.shard,
        saved_traces: saved_traces.clone(),
        max_bundles: args.max_bundles,
    };
    // A bad log filter would otherwise surface only at the first failure.
    harness::logs::Capture::new(&options.bundle_log)
        .map_err(|e| CliError::Usage(format!("--bundle-log: {e}")))?;

    let names: Vec<&str> = graders.iter().map(|g| g.name).collect();
    eprintln!(
        "harness: {} × {runs} trials ({}), {executor} mode, {jobs} at once, seeds {seed_start}..={}{}{}; {}",
        graders.len(),
        names.join(", "),
        seed_start + runs - 1,
        if args.shard.is_whole() {
            String::new()
        } else {
            format!(
                "; shard {}: {} of the {} trials",
                args.shard,
                options.trials(),
                graders.len() as u64 * runs
            )
        },
        if args.check_determinism && executor == Executor::Sim {
            ", each run twice to check determinism"
        } else {
            ""
        },
        match &ctrl_c {
            Ok(()) => CTRL_C_NOTE.to_string(),
            Err(e) => format!("Ctrl-C will not print partial results: {e}"),
        }
    );
    if args.check_determinism && executor == Executor::Real {
        eprintln!("harness: --check-determinism applies to sim mode only; ignored with --real");
    }

    let visible = std::io::stderr().is_terminal();
    let mut progress = progress::Progress::planned(&graders, &options.planned(), visible);
    let mut seen = traces::TraceHashes::default();
    let mut unsaved = 0u64;
    let summary = run::run_trials_with(run, &options, control, |record| {
        progress.trial(record);
        if let Some(trace) = record.trace {
            if let Some(saved) = &saved_traces {
                if saved.get(record.grader.name, record.seed).is_none() {
                    unsaved += 1;
                }
            }
            if args.save_trace_hashes.is_some() {
                seen.insert(record.grader.name, record.seed, trace);
            }
        }
    });
    progress.finish();
    if let Some(path) = &args.save_trace_hashes {
        seen.save(path)?;
        eprintln!(
            "harness: {} trace hashes written to {}",
            seen.len(),
            path.display()
        );
    }
    if let (Some(path), Some(saved)) = (&args.compare_trace_hashes, &saved_traces) {
        let differing: usize = summary
            .graders
            .iter()
            .flat_map(|g| &g.failures)
            .filter(|f| f.error.starts_with(traces::DIFFERENCE_PREFIX))
            .count();
        eprintln!(
            "harness: traces compared with {} ({} saved): {differing} differ{}",
            path.display(),
            saved.len(),
            if unsaved > 0 {
                format!(", {unsaved} trials not in the file")
            } else {
                String::new()
            }
        );
    }

    let mut written = Vec::new();
    if let Some(path) = &args.json {
        let value = report::gradescope_report(&summary, &policy, &args.visibility, path);
        let text = serde_json::to_string_pretty(&value)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        report::write_report(path, &text)?;
        written.push(format!("results.json written to {}", path.display()));
    }
    if let Some(path) = &args.junit {
        let named_from_there = report::for_report(&summary, path);
        report::write_report(path, &report::junit_xml(&named_from_there, &policy))?;
        written.push(format!("JUnit report written to {}", path.display()));
    }
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    print!(
        "{}",
        failures::after_run(&summary, options.html, &written, color)
    );
    let all_ok = !summary.interrupted
        && summary
            .graders
            .iter()
            .all(|g| report::grade(g, &policy).ok && g.finished() == g.planned);
    Ok(if all_ok { EXIT_PASSED } else { EXIT_FAILED })
}

pub use failures::failures_text;

/// The view options from the flags and the environment.
pub fn view_options(flags: &ViewFlags) -> ViewOptions {
    let width = flags
        .width
        .or_else(|| std::env::var("COLUMNS").ok()?.trim().parse().ok())
        .unwrap_or(logview::DEFAULT_WIDTH);
    let color = if flags.no_color {
        false
    } else if flags.color {
        true
    } else {
        std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
    };
    ViewOptions {
        columns: flags.columns,
        width,
        color,
        only: flags
            .only
            .as_deref()
            .map(logview::parse_topic_list)
            .unwrap_or_default(),
        hide: flags
            .hide
            .as_deref()
            .map(logview::parse_topic_list)
            .unwrap_or_default(),
        show_time: !flags.no_time,
    }
}

/// The log as the flags ask: the column view, or the raw lines filtered by topic.
pub fn show_log(text: &str, flags: &ViewFlags) -> String {
    let options = view_options(flags);
    if !flags.raw {
        return logview::render(text, &options);
    }
    let mut out = String::new();
    for line in text.lines() {
        let keep = match harness::logs::LogLine::parse(line) {
            Some(l) => {
                !options
                    .hide
                    .iter()
                    .any(|w| logview::topic_matches(w, &l.topic))
                    && (options.only.is_empty()
                        || l.topic == "TEST"
                        || options
                            .only
                            .iter()
                            .any(|w| logview::topic_matches(w, &l.topic)))
            }
            None => true,
        };
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn replay_command(run: run::TrialFn, args: &ReplayArgs) -> Result<i32, CliError> {
    if let Some(file) = &args.file {
        let text = replay::read_log(file)?;
        print!("{}", show_log(&text, &args.view));
        return Ok(EXIT_PASSED);
    }
    let (Some(name), Some(seed)) = (&args.grader, args.seed) else {
        return Err(CliError::Usage(
            "replay needs a grader and --seed, or --file".into(),
        ));
    };
    let grader = graders::by_name(name).ok_or_else(|| {
        let names: Vec<&str> = graders::all().iter().map(|g| g.name).collect();
        CliError::Usage(format!(
            "no grader called {name:?}; graders: {}",
            names.join(", ")
        ))
    })?;
    harness::logs::Capture::new(&args.log).map_err(|e| CliError::Usage(format!("--log: {e}")))?;
    let executor = if args.real {
        Executor::Real
    } else {
        Executor::Sim
    };
    let stuck_after = seconds("--stuck-after", args.stuck_after)?;
    let report = if args.html.is_some() {
        replay::replay_trial_for_timeline_with(run, grader, seed, executor, &args.log, stuck_after)
    } else {
        replay::replay_trial_with(run, grader, seed, executor, &args.log, stuck_after)
    };
    print!(
        "{}",
        show_log(report.log.as_deref().unwrap_or(""), &args.view)
    );
    println!("{}", replay::outcome_line(&report));
    if let Some(path) = &args.html {
        harness::timeline::write_page(&report, path)?;
        println!("timeline: {}", path.display());
    }
    Ok(if report.passed() {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    })
}

fn view_command(args: &ViewArgs) -> Result<i32, CliError> {
    let text = replay::read_log(&args.file)?;
    print!("{}", show_log(&text, &args.view));
    Ok(EXIT_PASSED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn selectors_dedupe_and_keep_the_lab_order() {
        let got = select_graders(&["many_elections".into(), "A".into()]).expect("valid");
        let names: Vec<&str> = got.iter().map(|g| g.name).collect();
        let part_a: Vec<&str> = graders::select("A")
            .expect("part A exists")
            .iter()
            .map(|g| g.name)
            .collect();
        assert_eq!(names, part_a);
        assert!(matches!(
            select_graders(&["nope".into()]),
            Err(CliError::Usage(_))
        ));
    }
}
