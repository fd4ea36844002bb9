//! How a run is configured.

use std::time::Duration;

/// Which executor drives a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Executor {
    /// One thread, a virtual clock, a seeded generator: every run replays from its seed.
    Sim,
    /// Worker threads and the wall clock.
    Real,
}

impl std::fmt::Display for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Executor::Sim => "sim",
            Executor::Real => "real",
        })
    }
}

impl std::str::FromStr for Executor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sim" | "simulated" => Ok(Executor::Sim),
            "real" => Ok(Executor::Real),
            other => Err(format!(
                "unknown executor {other:?}: expected \"sim\" or \"real\""
            )),
        }
    }
}

/// The settings of one run (see [`run`](super::run)).
///
/// ```
/// use std::time::Duration;
/// use labrpc::runtime::RunConfig;
///
/// let config = RunConfig::sim(42)
///     .named("initial_election")
///     .time_limit(Duration::from_secs(120));
/// assert_eq!(config.seed, 42);
/// ```
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The executor.
    pub executor: Executor,
    /// Seeds the runtime's generator: the scheduling order, timers drawn at random and every
    /// network fault decision. In sim mode the seed determines the whole run.
    pub seed: u64,
    /// A name for messages (usually the test's name).
    pub name: String,
    /// Fails the run once this much run time (virtual in sim mode) has passed.
    pub time_limit: Option<Duration>,
    /// Wall-clock watchdog, the outer bound: the run fails when one poll of a task does not
    /// return for this long (a loop that never awaits, a blocking call, or a lock taken twice),
    /// in real mode on any worker. Polls that must be prompt are reported sooner, after
    /// [`RunConfig::deadlock_after`]. In real mode the run also fails when it has not finished
    /// this long after its time limit.
    pub stuck_after: Duration,
    /// Wall-clock watchdog of the polls that must be prompt (default [`DEADLOCK_AFTER`]; never
    /// more than [`RunConfig::stuck_after`]): in sim mode every task's poll, since virtual
    /// time cannot move until it returns; in both modes a poll inside a synchronous call into
    /// another node's code ([`call_into`](super::call_into)) or blocked in a wait it began
    /// itself ([`waiting`](super::waiting)). Such a poll that has not returned is a deadlock
    /// or a spin, and is reported then.
    pub deadlock_after: Duration,
    /// Wall-clock watchdog of the virtual clock (sim mode): the run fails when virtual time has
    /// not moved for this long while tasks keep being polled: a task that waits on the real
    /// clock (`std::thread::sleep`) or on a blocking lock or channel, and then yields, keeps
    /// the clock from ever moving. A correct run moves the clock many times a second of wall
    /// time, so the default of [`DEFAULT_STALLED_AFTER`] is far from any honest run.
    pub stalled_after: Duration,
    /// Keeps every traced event (not only the hash), so a divergence can be named.
    pub record_trace: bool,
    /// Worker threads of the real executor.
    pub workers: usize,
    /// A tracing dispatcher installed on the threads of the run (logs of this run only).
    pub dispatch: Option<tracing::Dispatch>,
    /// In sim mode, how many polls may happen without the clock moving before the run is
    /// declared a busy loop.
    pub max_polls_per_instant: u64,
}

/// The default of [`RunConfig::deadlock_after`]: 2 s of wall time. A poll that must be prompt
/// (see there) and has not returned in that long is a deadlock or a spin, not a slow machine: an
/// honest poll takes microseconds, a few milliseconds on a badly loaded one. The test body's own
/// polls (in sim mode) and real-mode tasks outside such a call keep the outer bound,
/// [`RunConfig::stuck_after`] (10 s by default; `--stuck-after` and `LAB_STUCK_AFTER` in the
/// harness), which also caps this one.
pub const DEADLOCK_AFTER: Duration = Duration::from_secs(2);

/// The default of [`RunConfig::stalled_after`]: 5 s of wall time without the virtual clock
/// moving. An honest sim run does a virtual instant's work in microseconds to milliseconds,
/// even on a loaded machine.
pub const DEFAULT_STALLED_AFTER: Duration = Duration::from_secs(5);

/// The real executor's default worker count: the machine's cores, at least two. Asked of the
/// operating system once per process (it reads cgroup files, which costs more than a short
/// simulated run).
fn default_workers() -> usize {
    static WORKERS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *WORKERS.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .max(2)
    })
}

impl RunConfig {
    /// A simulated run with `seed`.
    pub fn sim(seed: u64) -> Self {
        RunConfig {
            executor: Executor::Sim,
            seed,
            name: "run".to_string(),
            time_limit: None,
            stuck_after: Duration::from_secs(10),
            deadlock_after: DEADLOCK_AFTER,
            stalled_after: DEFAULT_STALLED_AFTER,
            record_trace: false,
            workers: default_workers(),
            dispatch: None,
            max_polls_per_instant: 5_000_000,
        }
    }

    /// A real-time run with `seed` for its generator.
    pub fn real(seed: u64) -> Self {
        RunConfig {
            executor: Executor::Real,
            ..RunConfig::sim(seed)
        }
    }

    /// A run on `executor` with `seed`.
    pub fn new(executor: Executor, seed: u64) -> Self {
        RunConfig {
            executor,
            ..RunConfig::sim(seed)
        }
    }

    /// Sets the name used in messages.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the run-time limit.
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = Some(limit);
        self
    }

    /// Sets the wall-clock watchdog.
    pub fn stuck_after(mut self, wall: Duration) -> Self {
        self.stuck_after = wall;
        self
    }

    /// Sets the watchdog of the polls that must be prompt (see [`RunConfig::deadlock_after`]).
    pub fn deadlock_after(mut self, wall: Duration) -> Self {
        self.deadlock_after = wall;
        self
    }

    /// The deadlock window in effect: [`RunConfig::deadlock_after`], capped by
    /// [`RunConfig::stuck_after`].
    pub fn deadlock_window(&self) -> Duration {
        self.deadlock_after.min(self.stuck_after)
    }

    /// Sets the watchdog of the virtual clock (see [`RunConfig::stalled_after`]).
    pub fn stalled_after(mut self, wall: Duration) -> Self {
        self.stalled_after = wall;
        self
    }

    /// Keeps the full event trace.
    pub fn record_trace(mut self, on: bool) -> Self {
        self.record_trace = on;
        self
    }

    /// Installs a tracing dispatcher for this run's threads.
    pub fn dispatch(mut self, dispatch: tracing::Dispatch) -> Self {
        self.dispatch = Some(dispatch);
        self
    }

    /// Sets the real executor's worker threads.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }
}
