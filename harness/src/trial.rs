//! One trial: one grader, one seed, one executor, with its outcome, figures and log.

use std::time::Duration;

use labrpc::runtime::{self, Executor, NodeName, RunConfig, RunError, TraceSummary, WaitOn};

use crate::graders::Grader;
use crate::logs::Capture;
use crate::tester::{applier_peer, Passed, TestFailure, SNAPSHOT_CALL, TEST_TIME_LIMIT};
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
    /// The wall-clock watchdog for a stuck submission: the outer bound. A deadlock (a peer's
    /// poll that holds the sim thread, or a `snapshot()` call that does not return) is reported
    /// after [`runtime::DEADLOCK_AFTER`], or this if it is shorter.
    pub stuck_after: Duration,
    /// Worker threads of the real executor (`None`: the machine's cores, at least two).
    pub workers: Option<usize>,
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
            workers: None,
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
    /// A peer's `snapshot()`, called by the tester's applier, never returned while a send of
    /// that peer on the apply channel waited for the service: the part-D deadlock between a
    /// peer that holds its lock while it sends on the apply channel and the service's snapshot
    /// call.
    #[error(
        "S{peer} never returned from snapshot() while its own send on the apply channel waited \
         for the service: a peer that holds its lock while it sends on the apply channel \
         deadlocks with the service's snapshot call (the tester's applier calls snapshot() \
         after it takes a command and before it takes the next message, so the peer's send \
         cannot complete while snapshot() waits for the lock; under the lock take what to send, \
         release the lock, then send). {error}"
    )]
    SnapshotDeadlock {
        /// The peer whose `snapshot()` did not return.
        peer: usize,
        /// What the runtime saw (the stuck task and the seed).
        error: RunError,
    },
    /// A peer's `snapshot()`, called by the tester's applier, never returned, and no send of
    /// that peer on the apply channel was waiting: `snapshot()` blocks on its own.
    #[error(
        "S{peer} never returned from snapshot(), and no send of S{peer} on the apply channel was \
         waiting for the service: snapshot() blocks by itself (a lock it already holds, as when \
         it calls a helper that locks again; a lock held by another task that is itself stuck; \
         or a loop that never ends); snapshot() should take the lock, trim the log, save, and \
         return. {error}"
    )]
    SnapshotStuck {
        /// The peer whose `snapshot()` did not return.
        peer: usize,
        /// What the runtime saw (the stuck task and the seed).
        error: RunError,
    },
    /// A peer's task blocks its thread in a send on the apply channel (`block_on` of the send
    /// inside a task), which only the service, a task too, can complete.
    #[error(
        "S{peer} blocks its thread while it sends on the apply channel \
         (futures::executor::block_on(apply_tx.send(..)) inside a task, usually with its lock \
         held): the send completes only when the service takes the message, and the service is \
         a task too, which cannot run on that thread (in sim mode every task shares it, so the \
         first send deadlocks; in real mode a peer that holds its lock while it sends deadlocks \
         with the service's snapshot() call); send with apply_tx.send(msg).await in an async \
         task, with the lock released. {error}"
    )]
    ApplyBlocked {
        /// The peer whose task blocks.
        peer: usize,
        /// What the runtime saw (the stuck task and the seed).
        error: RunError,
    },
    /// The tester's applier of a peer was polled most in a loop without time moving: the peer
    /// keeps handing its service messages, each taken at once (the same one again and again).
    #[error(
        "S{peer} keeps handing its service messages while virtual time stands still (the \
         tester's applier of S{peer} took one after another): an applier that sends the same \
         ApplyMsg again and again, such as a snapshot it never records as delivered (move \
         last_applied to the snapshot's index once it is sent), or one that sends without \
         waiting for anything new to apply. {error}"
    )]
    ApplyLoop {
        /// The peer whose applier loops.
        peer: usize,
        /// What the runtime saw (the busy loop and the seed).
        error: RunError,
    },
    /// Real mode: a peer's task held a worker thread in one poll (a spin or a blocking call),
    /// though the test itself ended; `test` is the test's own failure, if it failed.
    #[error("{error}{}", test.as_ref().map_or_else(String::new, |f| format!("; the test itself failed: {f}")))]
    HeldThread {
        /// What the runtime saw ([`RunError::HeldThread`]).
        error: RunError,
        /// The test's own verdict, when it failed.
        test: Option<TestFailure>,
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
            TrialError::TimeLimit
            | TrialError::SnapshotDeadlock { .. }
            | TrialError::SnapshotStuck { .. }
            | TrialError::ApplyBlocked { .. }
            | TrialError::ApplyLoop { .. }
            | TrialError::HeldThread { .. } => true,
            TrialError::Runtime(e) => match e {
                RunError::TimeLimit { .. }
                | RunError::Deadlock { .. }
                | RunError::Stuck { .. }
                | RunError::BusyLoop { .. }
                | RunError::TimeStalled { .. }
                | RunError::HeldThread { .. } => true,
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

/// The peer a node is, by the tester's label (`S2`).
fn peer_of(node: &NodeName) -> Option<usize> {
    node.label.as_deref()?.strip_prefix('S')?.parse().ok()
}

/// What a run's failure means in terms of the lab: the part-D deadlocks around the apply
/// channel, told from the rest by what the runtime saw (the call the stuck poll was inside,
/// and the sends on the apply channel still waiting).
fn diagnose(error: RunError) -> TrialError {
    if let RunError::BusyLoop {
        node: Some(node), ..
    } = &error
    {
        // Only a peer's apply channel wakes the tester's applier.
        if let Some(peer) = node.label.as_deref().and_then(applier_peer) {
            return TrialError::ApplyLoop { peer, error };
        }
    }
    let RunError::Stuck { polls, waits, .. } = &error else {
        return TrialError::Runtime(error);
    };
    let apply_send = WaitOn::Other(raftapi::APPLY_SEND_WAIT);
    // The service's snapshot() call into a peer, stuck (the tester makes no other call; a
    // poll seen at one tick only, held zero, may be an honest call that is about to return).
    let snapshot = polls
        .iter()
        .filter(|p| p.held > Duration::ZERO)
        .filter_map(|p| p.call.as_ref())
        .find(|call| call.what == SNAPSHOT_CALL);
    if let Some(call) = snapshot {
        if let Some(peer) = peer_of(&call.callee) {
            let sending = waits
                .iter()
                .any(|w| w.on == apply_send && w.node.id == call.callee.id);
            return if sending {
                TrialError::SnapshotDeadlock { peer, error }
            } else {
                TrialError::SnapshotStuck { peer, error }
            };
        }
    }
    // A peer's poll blocked in its own send on the apply channel.
    let blocked = waits
        .iter()
        .find(|w| w.blocking && w.on == apply_send)
        .and_then(|w| peer_of(&w.node));
    match blocked {
        Some(peer) => TrialError::ApplyBlocked { peer, error },
        None => TrialError::Runtime(error),
    }
}

/// Runs `grader` once with peer type `P`.
pub fn run_trial<P: Peer>(grader: Grader, settings: &TrialSettings) -> TrialReport {
    run_test(grader.name, settings, move || grader.body::<P>())
}

/// Runs `grader` once with the peer and services of submission `S` (every grader, the
/// key/value labs' too; see [`crate::submission`]).
pub fn run_submission_trial<S: crate::Submission>(
    grader: Grader,
    settings: &TrialSettings,
) -> TrialReport {
    run_test(grader.name, settings, move || grader.submission_body::<S>())
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
    if let Some(workers) = settings.workers {
        config = config.workers(workers);
    }
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
        // A task that held a real worker past its poll's due fails the trial, pass or not.
        Ok(out) => match out.held_thread {
            Some(error) => {
                let test = out.value.err();
                (
                    Err(TrialError::HeldThread { error, test }),
                    out.elapsed,
                    out.trace,
                )
            }
            None => (out.value.map_err(TrialError::Check), out.elapsed, out.trace),
        },
        Err(RunError::TimeLimit { limit, .. }) => {
            (Err(TrialError::TimeLimit), limit, TraceSummary::default())
        }
        Err(e) => {
            // The run time the failure happened at, where the error knows it.
            let at = match &e {
                RunError::Deadlock { at, .. }
                | RunError::BusyLoop { at, .. }
                | RunError::TimeStalled { at, .. } => *at,
                RunError::TimeLimit { .. }
                | RunError::Stuck { .. }
                | RunError::HeldThread { .. }
                | RunError::Panicked { .. } => Duration::ZERO,
            };
            (Err(diagnose(e)), at, TraceSummary::default())
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
        let stuck = || RunError::Stuck {
            name: name.clone(),
            seed,
            wall: at,
            node: node.clone(),
            executor: Executor::Sim,
            polls: Box::default(),
            waits: Box::default(),
        };
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
                waits: Vec::new(),
            }),
            TrialError::Runtime(stuck()),
            TrialError::SnapshotDeadlock {
                peer: 1,
                error: stuck(),
            },
            TrialError::SnapshotStuck {
                peer: 1,
                error: stuck(),
            },
            TrialError::ApplyBlocked {
                peer: 1,
                error: stuck(),
            },
            TrialError::ApplyLoop {
                peer: 1,
                error: RunError::BusyLoop {
                    name: name.clone(),
                    seed,
                    at,
                    polls: 5,
                    node: node.clone(),
                },
            },
            TrialError::HeldThread {
                error: RunError::HeldThread {
                    name: name.clone(),
                    seed,
                    node: labrpc::runtime::NodeName::root(),
                    held: at,
                    at_end: true,
                },
                test: None,
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
