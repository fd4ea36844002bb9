//! One trial: one grader, one seed, one executor, with its outcome, figures and log.

use std::time::Duration;

use labrpc::runtime::{self, Executor, RunConfig, RunError, TraceSummary};

use crate::graders::Grader;
use crate::logs::Capture;
use crate::peer::Peer;
use crate::tester::{Stats, TestFailure, TEST_TIME_LIMIT};
use crate::timeline::record::Record;

/// How to run a trial.
#[derive(Debug, Clone)]
pub struct TrialSettings {
    /// Sim (the default: reproducible from the seed) or real time.
    pub executor: Executor,
    /// The seed.
    pub seed: u64,
    /// Capture the log with this filter (`RUST_LOG` syntax), e.g. `"debug"`.
    pub log: Option<String>,
    /// Also print the log to stderr as it happens.
    pub echo_log: bool,
    /// Keep every event of the log as a structured [`Record`] too, for the
    /// [timeline](crate::timeline) (only with a log).
    pub records: bool,
    /// Keep the whole event trace (for naming the first divergence).
    pub record_trace: bool,
    /// The wall-clock watchdog for a stuck submission.
    pub stuck_after: Duration,
    /// Run the safety monitor (on unless `LAB_MONITOR=0`; see [`crate::monitor`]).
    pub monitor: bool,
}

impl TrialSettings {
    /// A sim trial of `seed`, without a log.
    pub fn sim(seed: u64) -> Self {
        TrialSettings {
            executor: Executor::Sim,
            seed,
            log: None,
            echo_log: false,
            records: false,
            record_trace: false,
            stuck_after: Duration::from_secs(10),
            monitor: crate::monitor::enabled_by_env(),
        }
    }

    /// A trial of `seed` on `executor`, without a log.
    pub fn new(executor: Executor, seed: u64) -> Self {
        TrialSettings {
            executor,
            ..TrialSettings::sim(seed)
        }
    }

    /// Turns the safety monitor off (to measure its cost, or to show what the graders alone
    /// catch).
    pub fn without_monitor(mut self) -> Self {
        self.monitor = false;
        self
    }

    /// Captures the log with `filter`.
    pub fn with_log(mut self, filter: impl Into<String>) -> Self {
        self.log = Some(filter.into());
        self
    }

    /// Keeps the structured records the [timeline](crate::timeline) is drawn from, with a
    /// `debug` log unless a log filter was already set.
    pub fn with_timeline(mut self) -> Self {
        self.log.get_or_insert_with(|| "debug".to_string());
        self.records = true;
        self
    }
}

/// Why a trial failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrialError {
    /// A tester check failed (the Go tester's message).
    #[error("{0}")]
    Check(TestFailure),
    /// The test ran past the 120-second limit.
    #[error("test took longer than 120 seconds")]
    TimeLimit,
    /// The run itself failed: a deadlock, a stuck or panicking task, a busy loop.
    #[error("{0}")]
    Runtime(RunError),
    /// The log filter was not valid.
    #[error("{0}")]
    Setup(String),
}

/// The result of one trial.
#[derive(Debug, Clone)]
pub struct TrialReport {
    /// The grader's name.
    pub grader: &'static str,
    /// The seed.
    pub seed: u64,
    /// The executor.
    pub executor: Executor,
    /// The figures of a pass, or why it failed.
    pub outcome: Result<Stats, TrialError>,
    /// Run time at the end (virtual in sim mode).
    pub elapsed: Duration,
    /// Wall time the trial took.
    pub wall: Duration,
    /// The captured log, if one was asked for.
    pub log: Option<String>,
    /// The log's events as structured records, if [`TrialSettings::records`] asked for them.
    pub records: Option<Vec<Record>>,
    /// The event trace.
    pub trace: TraceSummary,
}

impl TrialReport {
    /// Whether the trial passed.
    pub fn passed(&self) -> bool {
        self.outcome.is_ok()
    }
}

/// Runs `grader` once with peer type `P`.
pub fn run_trial<P: Peer>(grader: Grader, settings: &TrialSettings) -> TrialReport {
    let wall_start = std::time::Instant::now();
    let capture = match settings.log.as_deref().map(|f| {
        if settings.records {
            Capture::with_records(f, settings.echo_log)
        } else if settings.echo_log {
            Capture::echoing(f)
        } else {
            Capture::new(f)
        }
    }) {
        Some(Err(e)) => {
            return TrialReport {
                grader: grader.name,
                seed: settings.seed,
                executor: settings.executor,
                outcome: Err(TrialError::Setup(e)),
                elapsed: Duration::ZERO,
                wall: Duration::ZERO,
                log: None,
                records: None,
                trace: TraceSummary::default(),
            }
        }
        Some(Ok(c)) => Some(c),
        None => None,
    };
    let mut config = RunConfig::new(settings.executor, settings.seed)
        .named(grader.name)
        .time_limit(TEST_TIME_LIMIT)
        .stuck_after(settings.stuck_after)
        .record_trace(settings.record_trace);
    if let Some(c) = &capture {
        config = config.dispatch(c.dispatch());
    }
    let monitor = settings.monitor;
    let result = runtime::run(config, move || {
        crate::monitor::monitored(grader.body::<P>(), monitor)
    });
    let log = capture.as_ref().map(|c| c.take());
    let records = capture
        .filter(|_| settings.records)
        .map(|c| c.take_records());
    let (outcome, elapsed, trace) = match result {
        Ok(out) => (out.value.map_err(TrialError::Check), out.elapsed, out.trace),
        Err(RunError::TimeLimit { limit, .. }) => {
            (Err(TrialError::TimeLimit), limit, TraceSummary::default())
        }
        Err(e) => (
            Err(TrialError::Runtime(e)),
            Duration::ZERO,
            TraceSummary::default(),
        ),
    };
    TrialReport {
        grader: grader.name,
        seed: settings.seed,
        executor: settings.executor,
        outcome,
        elapsed,
        wall: wall_start.elapsed(),
        log,
        records,
        trace,
    }
}
