//! Many trials of many graders on worker threads: the heart of `harness run`.
//!
//! [`run_trials`] is generic over the [`Peer`] type, so the binary runs `raft::Raft` and the
//! harness's own tests can run deliberately broken peers through the very same loop.
//!
//! Each worker takes the next (grader, seed) pair and calls [`run_trial`] once. When bundles
//! are written, every trial captures its log as it runs (bounded, see
//! [`DEFAULT_LOG_LIMIT`](harness::trial::DEFAULT_LOG_LIMIT)), so a failing trial's
//! [bundle](super::bundle) holds the log of the very run that failed, never a replay's: a
//! stuck trial costs the watchdog's wait and one abandoned thread, not a second of each. The log costs about 14% more work per trial (`valgrind --tool=callgrind` of
//! `run A --runs 50 --jobs 1`: 714 M instructions with `--no-bundles`, 815 M with bundles and
//! the default `debug` log); `--no-bundles` is the fast path when no bundle is wanted.
//!
//! A failing sim trial's [timeline page](harness::timeline) is drawn from one replay of it with
//! structured records, since keeping them in every trial costs about a third more work
//! (`valgrind --tool=callgrind`, release build, bundles on: `run A --runs 50 --jobs 1` 1.81 G
//! instructions without them and 2.52 G with them, `run B --runs 10` 0.89 G and 1.11 G), and
//! only failing trials get a page. A trial that failed a check or panicked ended by itself, so
//! its replay costs at most what it did. A trial that [ran away](TrialError::ran_away) (stuck,
//! deadlocked, looping, stalled, or past its time limit) is never run again: its page is drawn
//! from the text log it kept, and `--check-determinism` does not run it twice either.
//!
//! Memory stays flat in the number of trials: a finished trial leaves nothing behind but its
//! grader's counters, and the record of a failure or warning (the first few of each).
//!
//! ```
//! use std::sync::Arc;
//! use harness_cli::run::{run_trials, Control, RunOptions};
//!
//! let graders = harness::graders::select("initial_election").unwrap();
//! let options = RunOptions::new(graders, 2);
//! let summary = run_trials::<raft::Raft>(&options, &Arc::new(Control::default()), |_| {});
//! assert_eq!(summary.graders[0].finished(), 2);
//! assert!(summary.all_passed());
//! ```

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use labrpc::runtime::{Executor, TraceSummary};

use super::bundle::Bundle;
use super::merge::ExactTimes;
use super::shard::Shard;
use super::traces::{SavedTrace, TraceHashes};
use harness::graders::Grader;
use harness::tester::Passed;
use harness::trial::{run_trial, TrialError, TrialReport, TrialSettings};
use harness::Peer;

/// The log filter of failure bundles unless told otherwise.
pub const DEFAULT_BUNDLE_LOG: &str = "debug";

/// What to run, and how.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The graders, in order.
    pub graders: Vec<Grader>,
    /// Trials per grader.
    pub runs: u64,
    /// The first seed; the seeds are `seed_start .. seed_start + runs`.
    pub seed_start: u64,
    /// Worker threads (trials at once).
    pub jobs: usize,
    /// Sim (reproducible) or real time.
    pub executor: Executor,
    /// The wall-clock watchdog of each trial.
    pub stuck_after: Duration,
    /// Run the safety monitor in every trial (on unless `LAB_MONITOR=0`).
    pub monitor: bool,
    /// Run every sim trial twice and fail it when the two event traces differ.
    pub check_determinism: bool,
    /// Also write bundles for passing trials.
    pub keep_all: bool,
    /// Where bundles go; `None` writes none.
    pub out_dir: Option<PathBuf>,
    /// The log filter of bundles (a level such as `debug`, or `info,raft=trace`).
    pub bundle_log: String,
    /// All trials of one grader before the next, instead of taking turns.
    pub sequential: bool,
    /// The part of the (grader × seed) space to run (see [`Shard`]); [`Shard::WHOLE`] runs it
    /// all.
    pub shard: Shard,
    /// Write each bundle's [timeline page](harness::timeline) next to it (`.html`).
    pub html: bool,
    /// Saved traces to check every sim trial against (`--compare-trace-hashes`): a trial
    /// whose trace or outcome is not the saved one fails.
    pub saved_traces: Option<Arc<TraceHashes>>,
    /// The most failing seeds of one grader that get a bundle and a page: those of the lowest
    /// seeds (see [`BundleSlots`]); the others are listed by seed.
    pub max_bundles: usize,
}

/// Failing seeds per grader that get a bundle and a page unless told otherwise: enough to see
/// whether a grader fails one way or several, few enough that a thousand failing seeds of a
/// churn grader do not fill a disk.
pub const DEFAULT_MAX_BUNDLES: usize = 5;

impl RunOptions {
    /// `runs` sim trials of each of `graders` from seed 1, on as many workers as there are
    /// cores, writing no bundles.
    pub fn new(graders: Vec<Grader>, runs: u64) -> Self {
        RunOptions {
            graders,
            runs,
            seed_start: 1,
            jobs: default_sim_jobs(),
            executor: Executor::Sim,
            stuck_after: Duration::from_secs(10),
            monitor: harness::monitor::enabled_by_env(),
            check_determinism: false,
            keep_all: false,
            out_dir: None,
            bundle_log: DEFAULT_BUNDLE_LOG.to_string(),
            sequential: false,
            shard: Shard::WHOLE,
            html: true,
            saved_traces: None,
            max_bundles: DEFAULT_MAX_BUNDLES,
        }
    }

    /// How many trials the run has: `runs` per grader, or the shard's part of them.
    pub fn trials(&self) -> u64 {
        let total = self.runs.saturating_mul(self.graders.len() as u64);
        let positions = self.shard.positions(total);
        positions.end - positions.start
    }

    /// Trials planned for each grader (all `runs` of them unless the run is a shard).
    pub fn planned(&self) -> Vec<u64> {
        self.shard
            .planned(self.graders.len(), self.seed_start, self.runs)
    }

    /// The `k`-th (grader index, seed) pair of the shard handed out (`None` past the last):
    /// taking turns between graders (so every grader's figures grow together and Ctrl-C leaves
    /// a fair sample), or one grader after another with `sequential`. Computed, not listed, so
    /// a run of a million seeds costs no memory for its plan.
    pub fn nth(&self, k: u64) -> Option<(usize, u64)> {
        let g = self.graders.len() as u64;
        if k >= self.trials() {
            return None;
        }
        if self.sequential {
            let mut k = k;
            for index in 0..self.graders.len() {
                let seeds = self
                    .shard
                    .seeds(self.graders.len(), self.seed_start, self.runs, index);
                let len = seeds.end - seeds.start;
                if k < len {
                    return Some((index, seeds.start + k));
                }
                k -= len;
            }
            return None;
        }
        let total = self.runs.saturating_mul(g);
        let position = self.shard.positions(total).start + k;
        Some((
            (position % g) as usize,
            self.seed_start.checked_add(position / g)?,
        ))
    }

    /// Every (grader index, seed) pair in the order they are handed out (see [`nth`](Self::nth)).
    pub fn schedule(&self) -> Vec<(usize, u64)> {
        (0..self.trials()).map_while(|k| self.nth(k)).collect()
    }
}

/// The sim mode's default number of workers: two per core.
///
/// A sim trial keeps one core busy while it simulates, but every trial also starts a thread of
/// its own (the lab runtime's), and while that thread is being created the worker waits.
/// A second worker per core fills those gaps: on the 2-core reference machine, 1000 seeds of
/// the four part-A graders took about 1.69 s with 2 workers, 1.55 s with 3 and 1.53 s with 4
/// (three runs each), and no better with more.
pub fn default_sim_jobs() -> usize {
    2 * std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The real mode's default number of trials at once.
///
/// Real trials mostly sleep. Measured on the 2-core reference machine with the part-A graders
/// (every trial passed in every row, and the run time per trial did not move):
///
/// | at once | trials | wall | CPU (user + sys) |
/// |---|---|---|---|
/// | 4 | 32 | 89 s | 2.2 s |
/// | 8 | 64 | 91 s | 4.8 s |
/// | 16 | 128 | 91 s | 4.4 s |
/// | 32 | 256 | 92 s | 8.1 s |
/// | 64 | 256 | 53 s | 8.6 s |
/// | 16, both cores busy with sim runs | 64 | 53 s | 2.0 s |
///
/// 16 is half the highest level that stayed clean, leaving room for heavier later parts;
/// measure again (`run all --real --runs 32 --jobs N`) when they arrive.
pub const DEFAULT_REAL_JOBS: usize = 16;

/// Stops a run from another thread (the Ctrl-C handler).
#[derive(Debug, Default)]
pub struct Control {
    stop: AtomicBool,
    abandon: AtomicBool,
}

impl Control {
    /// Workers take no new trials; trials already running finish.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Stops waiting for running trials too: the run returns what has finished.
    pub fn abandon(&self) {
        self.stop();
        self.abandon.store(true, Ordering::SeqCst);
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Whether [`abandon`](Self::abandon) was called.
    pub fn abandoned(&self) -> bool {
        self.abandon.load(Ordering::SeqCst)
    }
}

/// One finished trial.
#[derive(Debug, Clone)]
pub struct TrialRecord {
    /// The grader's position in [`RunOptions::graders`].
    pub index: usize,
    /// The grader.
    pub grader: Grader,
    /// The seed.
    pub seed: u64,
    /// The figures and warnings of a pass, or why it failed.
    pub outcome: Result<Passed, String>,
    /// Run time at the end (virtual in sim mode).
    pub run_time: Duration,
    /// Wall time of the trial (the first run, without the determinism check's second run).
    pub wall: Duration,
    /// The bundle written for it, if any.
    pub bundle: Option<PathBuf>,
    /// The timeline page written next to the bundle, if any.
    pub page: Option<PathBuf>,
    /// Anything that went wrong around the trial, e.g. its bundle could not be written.
    pub notes: Vec<String>,
    /// Its event trace in short, for a sim trial that ended by itself (not for a real-time
    /// one, nor one a watchdog stopped: their traces depend on the wall clock).
    pub trace: Option<SavedTrace>,
    /// How the trial [ran away](TrialError::ran_away), when it was stopped from outside (see
    /// [`runaway_kind`]).
    pub runaway: Option<&'static str>,
}

impl TrialRecord {
    /// Whether the trial passed.
    pub fn passed(&self) -> bool {
        self.outcome.is_ok()
    }
}

/// A failing seed of a grader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedSeed {
    /// The seed.
    pub seed: u64,
    /// Why it failed.
    pub error: String,
    /// Its bundle, if one was written.
    pub bundle: Option<PathBuf>,
    /// Its timeline page, if one was written.
    pub page: Option<PathBuf>,
}

/// A passing seed of a grader that warned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarnedSeed {
    /// The seed.
    pub seed: u64,
    /// The warning, in the tester's words.
    pub warning: String,
}

/// The warnings kept per grader, with their seeds; beyond these only a count, so a submission
/// that warns on every seed costs no memory per trial.
pub const KEPT_WARNINGS: usize = 10;

/// The figures of one grader over a run.
#[derive(Debug, Clone)]
pub struct GraderSummary {
    /// The grader.
    pub grader: Grader,
    /// Trials planned.
    pub planned: u64,
    /// Trials that passed.
    pub passed: u64,
    /// Trials that failed.
    pub failed: u64,
    /// Run time per trial (virtual in sim mode), kept exactly, so that the figures do not
    /// depend on the order trials finish in and shards' figures merge exactly.
    pub run_time: ExactTimes,
    /// Wall time of all its trials together.
    pub wall_total: Duration,
    /// The failing seeds, in seed order once the run has ended.
    pub failures: Vec<FailedSeed>,
    /// Passing trials that warned (e.g. `warning: term changed even though there were no
    /// failures`).
    pub warned: u64,
    /// The [`KEPT_WARNINGS`] warnings of the lowest seeds.
    pub warnings: Vec<WarnedSeed>,
}

impl GraderSummary {
    /// A grader with `planned` trials and nothing counted yet.
    pub(crate) fn new(grader: Grader, planned: u64) -> Self {
        GraderSummary {
            grader,
            planned,
            passed: 0,
            failed: 0,
            run_time: ExactTimes::default(),
            wall_total: Duration::ZERO,
            failures: Vec::new(),
            warned: 0,
            warnings: Vec::new(),
        }
    }

    /// Trials that finished.
    pub fn finished(&self) -> u64 {
        self.passed + self.failed
    }

    /// Adds `more` warnings, keeping the [`KEPT_WARNINGS`] of the lowest seeds (a seed's own
    /// in the order it gave them): what is kept does not depend on the order trials finish
    /// in, so shards merge into the same list.
    pub fn keep_warnings(&mut self, more: impl IntoIterator<Item = WarnedSeed>) {
        self.warnings.extend(more);
        self.warnings.sort_by_key(|w| w.seed);
        self.warnings.truncate(KEPT_WARNINGS);
    }

    /// Passed over finished (0 when none finished).
    pub fn pass_rate(&self) -> f64 {
        match self.finished() {
            0 => 0.0,
            n => self.passed as f64 / n as f64,
        }
    }

    fn add(&mut self, record: &TrialRecord) {
        self.run_time.push(record.run_time);
        self.wall_total += record.wall;
        match &record.outcome {
            Ok(passed) => {
                self.passed += 1;
                if !passed.warnings.is_empty() {
                    self.warned += 1;
                }
                self.keep_warnings(passed.warnings.iter().map(|warning| WarnedSeed {
                    seed: record.seed,
                    warning: warning.clone(),
                }));
            }
            Err(error) => {
                self.failed += 1;
                self.failures.push(FailedSeed {
                    seed: record.seed,
                    error: error.clone(),
                    bundle: record.bundle.clone(),
                    page: record.page.clone(),
                });
            }
        }
    }
}

/// What a run found.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// One entry per grader, in the order of [`RunOptions::graders`].
    pub graders: Vec<GraderSummary>,
    /// The executor.
    pub executor: Executor,
    /// The first seed.
    pub seed_start: u64,
    /// Trials planned per grader.
    pub runs: u64,
    /// Workers.
    pub jobs: usize,
    /// Wall time of the whole run.
    pub wall: Duration,
    /// Whether the run was stopped before every trial finished.
    pub interrupted: bool,
    /// Where bundles went (the folder exists only if a bundle was written).
    pub out_dir: Option<PathBuf>,
    /// Bundles written.
    pub bundles: u64,
    /// The part of the (grader × seed) space this run covered.
    pub shard: Shard,
    /// Whether every sim trial was run twice to check determinism.
    pub check_determinism: bool,
    /// Whether the safety monitor watched every trial.
    pub monitor: bool,
}

impl RunSummary {
    /// Whether every planned trial finished and passed.
    pub fn all_passed(&self) -> bool {
        !self.interrupted
            && self
                .graders
                .iter()
                .all(|g| g.failed == 0 && g.passed == g.planned)
    }

    /// Trials that finished.
    pub fn finished(&self) -> u64 {
        self.graders.iter().map(|g| g.finished()).sum()
    }
}

/// Makes log captures reliable while other threads run trials without a log.
///
/// `tracing` caches, per call site, whether anyone wants its events. While exactly one
/// dispatcher is registered, a call site met for the first time is judged by the dispatcher
/// of the thread that meets it; when that is a trial running without a log, the call site is
/// cached as unwanted and a capture alive at that moment misses its events (a bundle without
/// the tester's lines). A second dispatcher that lives as long as the process, and wants
/// nothing, makes `tracing` ask every registered dispatcher instead. Call it before the first
/// capture; later calls do nothing.
pub fn keep_log_captures_complete() {
    harness::logs::keep_captures_complete();
}

pub use harness::testing::cli_replay_command as replay_command;

/// Compares two runs of one seed; `Some(message)` naming the first differing event when they
/// differ.
pub fn compare_runs(first: &TrialReport, second: &TrialReport) -> Option<String> {
    let outcome = |r: &TrialReport| match &r.outcome {
        Ok(_) => "passed".to_string(),
        Err(e) => format!("failed: {e}"),
    };
    let (a, b) = (&first.trace, &second.trace);
    if a.hash == b.hash && a.events == b.events {
        if outcome(first) == outcome(second) {
            return None;
        }
        return Some(format!(
            "not deterministic: two runs of seed {} had the same event trace but different \
             outcomes: first run {}, second run {}",
            first.seed,
            outcome(first),
            outcome(second)
        ));
    }
    Some(format!(
        "not deterministic: two runs of seed {} differ {}",
        first.seed,
        first_difference(a, b)
    ))
}

/// Where two traces part ways, in words.
fn first_difference(a: &TraceSummary, b: &TraceSummary) -> String {
    let (Some(la), Some(lb)) = (&a.log, &b.log) else {
        return format!(
            "({} events, hash {:016x} vs {} events, hash {:016x}; no recorded events to compare)",
            a.events, a.hash, b.events, b.hash
        );
    };
    let index = la
        .iter()
        .zip(lb)
        .position(|(x, y)| x != y)
        .unwrap_or(la.len().min(lb.len()));
    let show = |e: Option<&labrpc::runtime::TraceEvent>| {
        e.map_or_else(
            || "no event (the run had ended)".to_string(),
            |e| e.to_string(),
        )
    };
    format!(
        "at event #{index}: first run {}, second run {}",
        show(la.get(index)),
        show(lb.get(index))
    )
}

/// Which failing seeds of each grader get a bundle and a page: the `max` lowest, whatever the
/// order trials finish in.
///
/// Workers ask as each failing trial ends ([`claim`](Self::claim)); a seed gets a slot while
/// fewer than `max` are taken or when it is lower than the highest seed holding one, which
/// then loses it. Seeds are handed out in increasing order, so that is rare (trials running
/// at once finishing out of order), and [`keep_lowest_bundles`] removes the loser's files
/// once the run ends. The disk holds at most `max` bundles per grader, plus one per worker.
///
/// ```
/// use harness_cli::run::BundleSlots;
///
/// let slots = BundleSlots::new(1, 2);
/// assert!(slots.claim(0, 7));
/// assert!(slots.claim(0, 9));
/// assert!(!slots.claim(0, 12)); // two lower seeds hold the slots
/// assert!(slots.claim(0, 3)); // lower: it takes seed 9's
/// assert_eq!(slots.seeds(0), vec![3, 7]);
/// ```
#[derive(Debug)]
pub struct BundleSlots {
    max: usize,
    taken: parking_lot::Mutex<Vec<std::collections::BTreeSet<u64>>>,
}

impl BundleSlots {
    /// Slots for `graders` graders, `max` each.
    pub fn new(graders: usize, max: usize) -> Self {
        BundleSlots {
            max,
            taken: parking_lot::Mutex::new(vec![Default::default(); graders]),
        }
    }

    /// Whether failing `seed` of grader `index` gets a bundle; see the type's docs.
    pub fn claim(&self, index: usize, seed: u64) -> bool {
        let mut taken = self.taken.lock();
        let Some(set) = taken.get_mut(index) else {
            return false;
        };
        if set.len() < self.max {
            set.insert(seed);
            return true;
        }
        match set.last().copied() {
            Some(highest) if seed < highest => {
                set.remove(&highest);
                set.insert(seed);
                true
            }
            _ => false,
        }
    }

    /// The seeds of grader `index` holding a slot, in order.
    pub fn seeds(&self, index: usize) -> Vec<u64> {
        self.taken
            .lock()
            .get(index)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }
}

/// Keeps the bundles and pages of the `max` lowest failing seeds of each grader that have one,
/// deletes the files of the others and forgets their paths (they stay listed by seed, with
/// their errors); returns how many bundles are left. A run calls it at its end; `harness
/// grade`, whose batches each keep `max`, after its last batch.
pub fn keep_lowest_bundles(graders: &mut [GraderSummary], max: usize) -> u64 {
    let mut left = 0;
    for g in graders {
        g.failures.sort_by_key(|f| f.seed);
        let mut kept = 0;
        for f in &mut g.failures {
            if f.bundle.is_none() && f.page.is_none() {
                continue;
            }
            if kept < max {
                kept += 1;
                left += u64::from(f.bundle.is_some());
                continue;
            }
            // A file already gone is what was wanted.
            for path in [f.bundle.take(), f.page.take()].into_iter().flatten() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
    left
}

/// How a trial is run: [`run_trial::<P>`](run_trial) for a Raft peer `P`, or
/// [`run_submission_trial::<S>`](harness::trial::run_submission_trial) for a submission with
/// key/value services too.
pub type TrialFn = fn(Grader, &TrialSettings) -> TrialReport;

/// Runs one trial as `options` say: the run (with its log when bundles are written), the
/// determinism check, and the bundle.
///
/// A failing trial gets a bundle (and a page) only when `slots` gives it one: at most
/// [`RunOptions::max_bundles`] per grader. A passing trial gets one with `keep_all`.
pub fn run_one<P: Peer>(
    options: &RunOptions,
    slots: &BundleSlots,
    index: usize,
    grader: Grader,
    seed: u64,
) -> TrialRecord {
    run_one_with(run_trial::<P>, options, slots, index, grader, seed)
}

/// [`run_one`] with the trials run by `run`.
pub fn run_one_with(
    run: TrialFn,
    options: &RunOptions,
    slots: &BundleSlots,
    index: usize,
    grader: Grader,
    seed: u64,
) -> TrialRecord {
    keep_log_captures_complete();
    let mut settings = TrialSettings::new(options.executor, seed);
    settings.stuck_after = options.stuck_after;
    settings.monitor = options.monitor;
    // The log is taken as the trial runs, never by running it again: a replay would double the
    // cost of a stuck trial (and leave a second thread behind), and a real-time trial cannot be
    // replayed at all.
    if options.out_dir.is_some() {
        settings.log = Some(options.bundle_log.clone());
        // The structured records of a timeline page cost about a third more work per trial,
        // so a sim trial keeps them only when it will surely get a page (`--keep-all`); a
        // failing one is replayed with them (see `timeline_run`). A real-time trial cannot be
        // replayed: it keeps them as it runs.
        settings.records = options.html && (options.keep_all || options.executor == Executor::Real);
    }
    let determinism = options.check_determinism && options.executor == Executor::Sim;
    settings.record_trace = determinism;

    let first = run(grader, &settings);
    let runaway = first.outcome.as_ref().err().and_then(runaway_kind);
    let mut outcome: Result<Passed, String> = first.outcome.clone().map_err(|e| e.to_string());
    let mut notes = Vec::new();
    let ran_away = first.outcome.as_ref().is_err_and(TrialError::ran_away);
    if determinism && ran_away {
        // Its trace depends on when the watchdog stopped it, and a second run would cost the
        // wait again.
        notes.push(
            "not run a second time for --check-determinism: the trial was stopped by a \
             watchdog or its time limit, and runs only once"
                .to_string(),
        );
    } else if determinism {
        let mut again = settings.clone();
        again.log = None;
        let second = run(grader, &again);
        if let Some(divergence) = compare_runs(&first, &second) {
            outcome = Err(divergence);
        }
    }

    let trace = (options.executor == Executor::Sim && !ran_away).then(|| SavedTrace {
        events: first.trace.events,
        hash: first.trace.hash,
        passed: first.outcome.is_ok(),
    });
    if let (Some(saved), Some(now)) = (&options.saved_traces, &trace) {
        if let Some(difference) = saved.difference(grader.name, seed, now) {
            outcome = Err(match outcome {
                Ok(_) => difference,
                Err(e) => format!("{difference}\n{e}"),
            });
        }
    }

    let mut bundle = None;
    let mut page = None;
    let want_bundle = match &outcome {
        Ok(_) => options.keep_all,
        Err(_) => options.out_dir.is_some() && slots.claim(index, seed),
    };
    if let (true, Some(dir)) = (want_bundle, &options.out_dir) {
        let failed_at = match &first.outcome {
            Err(TrialError::Check(f)) => Some(f.at),
            _ => None,
        };
        let page_path = dir.join(page_file_name(grader, seed, outcome.is_err()));
        if options.html {
            let error = outcome.as_ref().err().map(String::as_str);
            let drawn = timeline_run(run, grader, &settings, &first);
            match harness::timeline::write_trial_page(&drawn, error, &page_path) {
                Ok(()) => page = Some(page_path),
                Err(e) => notes.push(e.to_string()),
            }
        }
        let b = Bundle {
            grader,
            seed,
            executor: options.executor,
            error: outcome.as_ref().err().cloned(),
            failed_at,
            run_time: first.elapsed,
            stuck_after: options.stuck_after,
            check_determinism: determinism,
            replay: replay_command(grader.name, seed, options.executor),
            log_filter: options.bundle_log.clone(),
            notes: notes.clone(),
            timeline: page.clone(),
            log: first.log.as_deref().unwrap_or(""),
        };
        match b.write(dir) {
            Ok(path) => bundle = Some(path),
            Err(e) => notes.push(e.to_string()),
        }
    }

    TrialRecord {
        index,
        grader,
        seed,
        outcome,
        run_time: first.elapsed,
        wall: first.wall,
        bundle,
        page,
        notes,
        trace,
        runaway,
    }
}

/// How a trial that [ran away](TrialError::ran_away) ran away, as a past-tense verb phrase
/// ("3 seeds of this grader deadlocked"); `None` for a trial that ended by itself.
pub fn runaway_kind(error: &TrialError) -> Option<&'static str> {
    use labrpc::runtime::RunError;
    if !error.ran_away() {
        return None;
    }
    Some(match error {
        TrialError::SnapshotDeadlock { .. }
        | TrialError::ApplyBlocked { .. }
        | TrialError::Runtime(RunError::Deadlock { .. }) => "deadlocked",
        TrialError::ApplyLoop { .. } | TrialError::Runtime(RunError::BusyLoop { .. }) => {
            "looped without end"
        }
        TrialError::Runtime(RunError::TimeStalled { .. }) => "stalled",
        TrialError::TimeLimit | TrialError::Runtime(RunError::TimeLimit { .. }) => "timed out",
        _ => "got stuck",
    })
}

/// The run a trial's timeline page is drawn from: the trial itself when it kept its records (a
/// real-time trial, or any with `--keep-all`), else its replay with records (a sim trial
/// replays exactly; a failure at a check or a panic ends the replay there, so it costs no more
/// than the trial did). A trial that [ran away](TrialError::ran_away) is never run again: its
/// page is drawn from the text log it kept as it ran.
fn timeline_run<'a>(
    run: TrialFn,
    grader: Grader,
    settings: &TrialSettings,
    first: &'a TrialReport,
) -> Cow<'a, TrialReport> {
    let ran_away = first.outcome.as_ref().is_err_and(TrialError::ran_away);
    if first.records.is_some() || ran_away || settings.executor != Executor::Sim {
        return Cow::Borrowed(first);
    }
    let mut again = settings.clone().with_timeline();
    again.record_trace = false;
    Cow::Owned(run(grader, &again))
}

/// The file name of a trial's timeline page: its bundle's name with `.html`.
fn page_file_name(grader: Grader, seed: u64, failed: bool) -> String {
    let status = if failed { "failed" } else { "passed" };
    format!("{status}-{}-seed{seed}.html", grader.name)
}

/// Runs every (grader, seed) of `options` on `options.jobs` worker threads and returns the
/// figures. `observe` sees each trial as it finishes, on the calling thread (for progress
/// bars and printing failures).
///
/// [`Control::stop`] makes the workers take no new trial; [`Control::abandon`] returns at once
/// with what has finished. Worker threads are plain threads: a stuck trial's thread cannot be
/// killed, so a program that saw one should end with `std::process::exit`.
pub fn run_trials<P: Peer>(
    options: &RunOptions,
    control: &Arc<Control>,
    observe: impl FnMut(&TrialRecord),
) -> RunSummary {
    run_trials_with(run_trial::<P>, options, control, observe)
}

/// [`run_trials`] with the trials run by `run` (for a submission with key/value services:
/// [`run_submission_trial`](harness::trial::run_submission_trial)).
pub fn run_trials_with(
    run: TrialFn,
    options: &RunOptions,
    control: &Arc<Control>,
    mut observe: impl FnMut(&TrialRecord),
) -> RunSummary {
    keep_log_captures_complete();
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let (tx, rx) = crossbeam_channel::unbounded::<TrialRecord>();
    let shared = Arc::new(options.clone());
    let slots = Arc::new(BundleSlots::new(options.graders.len(), options.max_bundles));
    let trials = options.trials();
    let jobs = options
        .jobs
        .max(1)
        .min(usize::try_from(trials.max(1)).unwrap_or(usize::MAX));
    for worker in 0..jobs {
        let (next, tx, control, options, slots) = (
            next.clone(),
            tx.clone(),
            control.clone(),
            shared.clone(),
            slots.clone(),
        );
        let spawned = std::thread::Builder::new()
            .name(format!("harness-worker-{worker}"))
            .spawn(move || loop {
                if control.stopped() {
                    break;
                }
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some((index, seed)) = options.nth(k) else {
                    break;
                };
                let grader = options.graders[index];
                let record = run_one_with(run, &options, &slots, index, grader, seed);
                if tx.send(record).is_err() {
                    break;
                }
            });
        if let Err(e) = spawned {
            // Fewer workers than asked for still finish the run; say so once.
            eprintln!("harness: could not start worker thread {worker}: {e}");
        }
    }
    drop(tx);

    let mut graders: Vec<GraderSummary> = options
        .graders
        .iter()
        .zip(options.planned())
        .map(|(&g, planned)| GraderSummary::new(g, planned))
        .collect();
    let mut passing_bundles = 0;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(record) => {
                if record.passed() && record.bundle.is_some() {
                    passing_bundles += 1;
                }
                graders[record.index].add(&record);
                observe(&record);
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                if control.abandoned() {
                    break;
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
    }
    // Seed order, not finishing order: the same seeds give the same report and keep the same
    // bundles.
    let bundles = passing_bundles + keep_lowest_bundles(&mut graders, options.max_bundles);
    let finished: u64 = graders.iter().map(|g| g.finished()).sum();
    RunSummary {
        graders,
        executor: options.executor,
        seed_start: options.seed_start,
        runs: options.runs,
        jobs,
        wall: started.elapsed(),
        interrupted: finished < trials,
        out_dir: options.out_dir.clone(),
        bundles,
        shard: options.shard,
        check_determinism: options.check_determinism && options.executor == Executor::Sim,
        monitor: options.monitor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_take_turns_or_go_in_order() {
        let graders = harness::graders::select("A").expect("part A exists");
        let mut options = RunOptions::new(graders[..2].to_vec(), 2);
        options.seed_start = 5;
        assert_eq!(options.schedule(), vec![(0, 5), (1, 5), (0, 6), (1, 6)]);
        options.sequential = true;
        assert_eq!(options.schedule(), vec![(0, 5), (0, 6), (1, 5), (1, 6)]);
    }
}
