//! Replaying one seed with a debug log, and reading saved logs, for the per-peer view.

use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

use labrpc::runtime::Executor;

use harness::graders::Grader;
use harness::trial::{run_trial, TrialError, TrialReport, TrialSettings};
use harness::Peer;

/// A log could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the log {path}: {source}")]
pub struct ReadError {
    /// The file (`-` for stdin).
    pub path: String,
    /// Why.
    pub source: std::io::Error,
}

/// Runs `seed` of `grader` once more with peer type `P`, capturing the log with `filter`.
///
/// In sim mode this is the very run that failed (or passed) before: same seed, same events,
/// same error, now with its log.
pub fn replay_trial<P: Peer>(
    grader: Grader,
    seed: u64,
    executor: Executor,
    filter: &str,
    stuck_after: Duration,
) -> TrialReport {
    replay_trial_with(run_trial::<P>, grader, seed, executor, filter, stuck_after)
}

/// [`replay_trial`] with the trial run by `run`.
pub fn replay_trial_with(
    run: crate::run::TrialFn,
    grader: Grader,
    seed: u64,
    executor: Executor,
    filter: &str,
    stuck_after: Duration,
) -> TrialReport {
    super::run::keep_log_captures_complete();
    let mut settings = TrialSettings::new(executor, seed).with_log(filter);
    settings.stuck_after = stuck_after;
    // A replay is read by a person: all of its log.
    settings.log_limit = None;
    run(grader, &settings)
}

/// Like [`replay_trial`], and also keeps the structured records that the
/// [timeline page](harness::timeline) is drawn from.
pub fn replay_trial_for_timeline<P: Peer>(
    grader: Grader,
    seed: u64,
    executor: Executor,
    filter: &str,
    stuck_after: Duration,
) -> TrialReport {
    replay_trial_for_timeline_with(run_trial::<P>, grader, seed, executor, filter, stuck_after)
}

/// [`replay_trial_for_timeline`] with the trial run by `run`.
pub fn replay_trial_for_timeline_with(
    run: crate::run::TrialFn,
    grader: Grader,
    seed: u64,
    executor: Executor,
    filter: &str,
    stuck_after: Duration,
) -> TrialReport {
    super::run::keep_log_captures_complete();
    let mut settings = TrialSettings::new(executor, seed)
        .with_log(filter)
        .with_timeline();
    settings.stuck_after = stuck_after;
    run(grader, &settings)
}

/// One line saying how a trial ended: `initial_election seed 17 (sim): FAILED at 5.1s: ...` or
/// the Go tester's `... Passed --` figures.
pub fn outcome_line(report: &TrialReport) -> String {
    let who = format!(
        "{} seed {} ({})",
        report.grader, report.seed, report.executor
    );
    match &report.outcome {
        Ok(stats) => format!("{who}: PASSED\n{stats}"),
        Err(TrialError::Check(f)) => format!(
            "{who}: FAILED at {:.3}s of run time: {}",
            f.at.as_secs_f64(),
            f.message
        ),
        Err(e) => format!("{who}: FAILED: {e}"),
    }
}

/// Reads a saved log or bundle; `-` reads standard input.
pub fn read_log(path: &str) -> Result<String, ReadError> {
    let fail = |source| ReadError {
        path: path.to_string(),
        source,
    };
    if path == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(fail)?;
        Ok(text)
    } else {
        let bytes = std::fs::read(Path::new(path)).map_err(fail)?;
        // A log with a stray invalid byte (a crashed writer) is still worth reading.
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}
