//! One trial: one grader, one seed, one executor, with its outcome, figures and log.

use std::time::Duration;

use labrpc::runtime::{self, Executor, RunConfig, RunError, TraceSummary};

use crate::graders::Grader;
use crate::logs::Capture;
use crate::tester::{applier_peer, Passed, TestFailure, TEST_TIME_LIMIT};
use crate::timeline::record::Record;
use raftapi::Peer;

/// The most of a trial's log kept in memory (the newest lines; see [`Capture::bounded`]): far
/// more than any test's debug log, and a bound on what a stuck run that goes on logging can
/// take.
pub const DEFAULT_LOG_LIMIT: usize = 8 << 20;

/// How to run a trial.
#[derive(Debug, Clone)]
pub struct TrialSettings {
    /// Sim (the default: reproducible from the seed) or real time.
    pub executor: Executor,
    /// The seed.
    pub seed: u64,
    /// Capture the log with this filter (a level such as `debug`, or `info,raft=trace`), e.g. `"debug"`.
    pub log: Option<String>,
    /// Also print the log to stderr as it happens.
    pub echo_log: bool,
    /// Keep every event of the log as a structured [`Record`] too, for the
    /// [timeline](crate::timeline) (only with a log).
    pub records: bool,
    /// Keep at most about this many bytes of the log, the newest lines (`None`: all of it).
    pub log_limit: Option<usize>,
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
            log_limit: Some(DEFAULT_LOG_LIMIT),
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
    /// A peer's `snapshot()`, called by the tester's applier, never returned: the part-D
    /// deadlock between a peer that holds its lock while it sends on the apply channel and
    /// the service's snapshot call.
    #[error(
        "S{peer} never returned from snapshot(): a peer that holds its lock while it sends on \
         the apply channel deadlocks with the service's snapshot call (the tester's applier \
         calls snapshot() after it takes a command and before it takes the next message, so \
         the peer's send cannot complete while snapshot() waits for the lock; release the lock \
         before sending). {error}"
    )]
    SnapshotDeadlock {
        /// The peer whose `snapshot()` did not return.
        peer: usize,
        /// What the runtime saw (the stuck task and the seed).
        error: RunError,
    },
    /// The log filter was not valid.
    #[error("{0}")]
    Setup(String),
}

impl TrialError {
    /// Whether the trial did not end by itself but was stopped from outside: stuck (in a
    /// `snapshot()` call too), deadlocked, in a busy loop, with its clock stalled, or past its
    /// time limit. Such a trial is never run again (not for a timeline page, not for the
    /// determinism check): a second run costs the watchdog's wait again, and in the stuck
    /// cases leaves a second thread behind. A trial that failed a check or panicked ended by
    /// itself, at a cost no greater than a passing trial's.
    ///
    /// ```
    /// use harness::trial::TrialError;
    ///
    /// assert!(TrialError::TimeLimit.ran_away());
    /// assert!(!TrialError::Setup("bad log filter".into()).ran_away());
    /// ```
    pub fn ran_away(&self) -> bool {
        match self {
            TrialError::TimeLimit | TrialError::SnapshotDeadlock { .. } => true,
            TrialError::Runtime(e) => match e {
                RunError::TimeLimit { .. }
                | RunError::Deadlock { .. }
                | RunError::Stuck { .. }
                | RunError::BusyLoop { .. }
                | RunError::TimeStalled { .. } => true,
                RunError::Panicked { .. } => false,
            },
            TrialError::Check(_) | TrialError::Setup(_) => false,
        }
    }
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
    /// The figures and warnings of a pass, or why it failed.
    pub outcome: Result<Passed, TrialError>,
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

/// The peer whose tester's applier a stuck run names, if it names one.
fn stuck_applier(error: &RunError) -> Option<usize> {
    match error {
        RunError::Stuck {
            node: Some(node), ..
        } => applier_peer(node.label.as_deref()?),
        _ => None,
    }
}

/// Runs `grader` once with peer type `P`.
pub fn run_trial<P: Peer>(grader: Grader, settings: &TrialSettings) -> TrialReport {
    run_test(grader.name, settings, move || grader.body::<P>())
}

/// Runs the test that `make` builds as a trial called `name`: what [`run_trial`] does with a
/// grader, for a test body of one's own (the runtime's 120-second limit, the log, the watchdog
/// and the mapping of the run's errors are the same).
///
/// ```
/// use std::time::Duration;
/// use harness::trial::{run_test, TrialError, TrialSettings};
///
/// let report = run_test("sleeps_too_long", &TrialSettings::sim(1), || async {
///     labrpc::runtime::sleep(Duration::from_secs(121)).await;
///     Ok(harness::tester::Passed::default())
/// });
/// assert_eq!(report.outcome.unwrap_err(), TrialError::TimeLimit);
/// ```
pub fn run_test<M, F>(name: &'static str, settings: &TrialSettings, make: M) -> TrialReport
where
    M: FnOnce() -> F + Send + 'static,
    F: std::future::Future<Output = Result<Passed, TestFailure>> + 'static,
{
    // The trial's wall time is a figure for the report, not an input of the run.
    #[allow(clippy::disallowed_methods)]
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
                grader: name,
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
        Some(Ok(c)) => Some(match settings.log_limit {
            Some(limit) => c.bounded(limit),
            None => c,
        }),
        None => None,
    };
    let mut config = RunConfig::new(settings.executor, settings.seed)
        .named(name)
        .time_limit(TEST_TIME_LIMIT)
        .stuck_after(settings.stuck_after)
        .record_trace(settings.record_trace);
    if let Some(c) = &capture {
        config = config.dispatch(c.dispatch());
    }
    let monitor = settings.monitor;
    let result = runtime::run(config, move || {
        crate::monitor::monitored(Box::pin(make()), monitor)
    });
    // A stuck run's thread still holds the capture, and may go on logging: what it logged so far
    // is taken now, and the capture's bound caps whatever it adds later.
    let log = capture.as_ref().map(|c| c.take());
    let records = capture
        .filter(|_| settings.records)
        .map(|c| c.take_records());
    let (outcome, elapsed, trace) = match result {
        Ok(out) => (out.value.map_err(TrialError::Check), out.elapsed, out.trace),
        Err(RunError::TimeLimit { limit, .. }) => {
            (Err(TrialError::TimeLimit), limit, TraceSummary::default())
        }
        // Only a peer's `snapshot()` runs peer code on the tester's applier node.
        Err(error @ RunError::Stuck { .. }) if stuck_applier(&error).is_some() => {
            let peer = stuck_applier(&error).unwrap_or_default();
            (
                Err(TrialError::SnapshotDeadlock { peer, error }),
                Duration::ZERO,
                TraceSummary::default(),
            )
        }
        Err(e) => {
            // The run time the failure happened at, where the error knows it.
            let at = match &e {
                RunError::Deadlock { at, .. }
                | RunError::BusyLoop { at, .. }
                | RunError::TimeStalled { at, .. } => *at,
                RunError::TimeLimit { .. } | RunError::Stuck { .. } | RunError::Panicked { .. } => {
                    Duration::ZERO
                }
            };
            (Err(TrialError::Runtime(e)), at, TraceSummary::default())
        }
    };
    TrialReport {
        grader: name,
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

#[cfg(test)]
mod tests {
    use super::*;
    use labrpc::{ClientEnd, Service};
    use raftapi::{ApplySender, Persister};

    /// A peer that does nothing, except that peer 2's task panics at once.
    struct PanicsAsPeer2;

    impl Peer for PanicsAsPeer2 {
        fn make(_: Vec<ClientEnd>, me: usize, _: Persister, _: ApplySender) -> Self {
            drop(runtime::spawn(async move {
                assert_ne!(me, 2, "peer {me} gives up");
            }));
            PanicsAsPeer2
        }
        fn get_state(&self) -> (u64, bool) {
            (0, false)
        }
        fn kill(&self) {}
        fn service(&self) -> Service {
            Service::new("Raft").expect("a good name")
        }
        fn start(&self, _: Vec<u8>) -> Option<(u64, u64)> {
            None
        }

        fn snapshot(&self, _index: u64, _snapshot: Vec<u8>) {
            // This toy never runs part D.
        }
    }

    #[test]
    fn a_peers_panic_names_the_peer_as_the_logs_do() {
        let grader = crate::graders::by_name("initial_election").expect("a part A grader");
        let report = run_trial::<PanicsAsPeer2>(grader, &TrialSettings::sim(1));
        let Err(TrialError::Runtime(RunError::Panicked { node, .. })) = &report.outcome else {
            panic!("expected peer 2's panic, got {:?}", report.outcome);
        };
        assert_eq!(node.label.as_deref(), Some("S2"));
        let message = report.outcome.unwrap_err().to_string();
        assert!(
            message.contains("a task of S2 panicked: assertion"),
            "{message}"
        );
    }

    #[test]
    fn only_trials_stopped_from_outside_ran_away() {
        let (name, seed, at) = ("g".to_string(), 1, Duration::from_secs(3));
        let node = Some(labrpc::runtime::NodeName::root());
        let runaway = [
            TrialError::TimeLimit,
            TrialError::Runtime(RunError::TimeLimit {
                name: name.clone(),
                seed,
                limit: at,
            }),
            TrialError::Runtime(RunError::Deadlock {
                name: name.clone(),
                seed,
                at,
                tasks: 2,
                nodes: Vec::new(),
            }),
            TrialError::Runtime(RunError::Stuck {
                name: name.clone(),
                seed,
                wall: at,
                node: node.clone(),
            }),
            TrialError::SnapshotDeadlock {
                peer: 1,
                error: RunError::Stuck {
                    name: name.clone(),
                    seed,
                    wall: at,
                    node: node.clone(),
                },
            },
            TrialError::Runtime(RunError::BusyLoop {
                name: name.clone(),
                seed,
                at,
                polls: 5,
                node: node.clone(),
            }),
            TrialError::Runtime(RunError::TimeStalled {
                name: name.clone(),
                seed,
                at,
                wall: at,
                busiest: node.clone(),
            }),
        ];
        for e in &runaway {
            assert!(e.ran_away(), "{e:?}");
        }
        let ended = [
            TrialError::Check(TestFailure::new("expected one leader, got none")),
            TrialError::Runtime(RunError::Panicked {
                name,
                seed,
                node: labrpc::runtime::NodeName::root(),
                message: "oops".into(),
            }),
            TrialError::Setup("bad log filter".into()),
        ];
        for e in &ended {
            assert!(!e.ran_away(), "{e:?}");
        }
    }
}
