//! Timing: the heartbeat interval, the randomized election timeout, the ticker's polling step,
//! and the election timer built from them.
//!
//! The numbers follow from what the tester checks:
//!
//! - a leader may send each follower **at most ten** RPCs per second on average, so the
//!   heartbeat interval is well above 100 ms;
//! - heartbeats must suppress elections while the network is healthy, so the interval is well
//!   below the election timeout's lower bound (several heartbeats may be dropped in a row on an
//!   unreliable network before a follower gives up on its leader);
//! - a new leader must be elected **within five seconds** of the old one failing, even after a
//!   few split votes, so the timeout's upper bound stays near one second (the tester's
//!   `RaftElectionTimeout`).
//!
//! All durations are run time: virtual under the sim executor.

use std::time::Duration;

use labrpc::runtime::{self, Instant};

/// How often a leader sends `AppendEntries` to each follower: about 6.7 per second, leaving
/// margin under the tester's limit of ten per second per follower.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(150);

/// The lower bound of the randomized election timeout. Larger than the paper's 150–300 ms
/// because heartbeats are limited to ten per second: at least three heartbeat intervals fit in
/// it.
pub const ELECTION_TIMEOUT_MIN: Duration = Duration::from_millis(500);

/// The upper bound (exclusive) of the randomized election timeout. The spread of 500 ms
/// between the bounds makes split votes rare; the bound itself keeps an election, even one
/// that needs a few rounds, well within the tester's five seconds.
pub const ELECTION_TIMEOUT_MAX: Duration = Duration::from_millis(1000);

/// The longest the election ticker sleeps at once. A follower or candidate sleeps until its
/// timer's deadline (looking again if a heartbeat moved it meanwhile), so it wakes about once per
/// timeout instead of polling; a leader, whose timer never runs out, looks this often to keep
/// its timer fresh.
pub const ELECTION_TICK: Duration = Duration::from_millis(250);

/// How long a leader waits for the reply to an `AppendEntries` that carries entries before it
/// takes the request as lost and lets the next heartbeat carry the entries again. Until then, at
/// most one request with entries is in flight per follower, and heartbeats go without entries,
/// so no entry crosses the network twice on a healthy network. One heartbeat interval: far
/// above a round trip on a reliable network, short enough that a dropped request costs at most
/// two heartbeat intervals.
pub const APPEND_RESEND_AFTER: Duration = HEARTBEAT_INTERVAL;

// The relations the tester relies on, checked when the crate compiles.
const _: () = assert!(HEARTBEAT_INTERVAL.as_millis() >= 100);
const _: () = assert!(3 * HEARTBEAT_INTERVAL.as_millis() <= ELECTION_TIMEOUT_MIN.as_millis());
const _: () = assert!(ELECTION_TIMEOUT_MIN.as_millis() < ELECTION_TIMEOUT_MAX.as_millis());
const _: () = assert!(ELECTION_TIMEOUT_MAX.as_millis() <= 1000);
const _: () = assert!(ELECTION_TICK.as_millis() < ELECTION_TIMEOUT_MIN.as_millis());

/// A fresh election timeout drawn uniformly from `ELECTION_TIMEOUT_MIN..ELECTION_TIMEOUT_MAX`
/// by the lab runtime's generator (so the sim executor replays it from the seed).
///
/// # Panics
/// Panics when called outside a lab runtime.
pub(crate) fn random_election_timeout() -> Duration {
    let min = ELECTION_TIMEOUT_MIN.as_millis() as u64;
    let max = ELECTION_TIMEOUT_MAX.as_millis() as u64;
    Duration::from_millis(runtime::random_range(min..max))
}

/// The election timer: when it was last reset and how long it runs. It expires when that much
/// time has passed with no reset: no valid `AppendEntries`, no vote granted, no election started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ElectionTimer {
    reset_at: Instant,
    timeout: Duration,
}

impl ElectionTimer {
    /// A timer started at `now` that runs for `timeout`.
    pub(crate) fn new(now: Instant, timeout: Duration) -> ElectionTimer {
        ElectionTimer {
            reset_at: now,
            timeout,
        }
    }

    /// Starts the timer again at `now`, with a new `timeout`.
    pub(crate) fn reset(&mut self, now: Instant, timeout: Duration) {
        *self = ElectionTimer::new(now, timeout);
    }

    /// Whether the timeout has passed since the last reset.
    pub(crate) fn expired(&self, now: Instant) -> bool {
        now.duration_since(self.reset_at) >= self.timeout
    }

    /// How long until the timer runs out (zero once it has).
    pub(crate) fn remaining(&self, now: Instant) -> Duration {
        self.timeout
            .saturating_sub(now.duration_since(self.reset_at))
    }

    /// The timeout the timer runs for.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeats_stay_under_ten_per_second() {
        assert!(Duration::from_secs(1).as_millis() / HEARTBEAT_INTERVAL.as_millis() < 10);
    }

    #[test]
    fn heartbeat_interval_is_below_the_election_timeout() {
        assert!(HEARTBEAT_INTERVAL < ELECTION_TIMEOUT_MIN);
        assert!(ELECTION_TIMEOUT_MIN < ELECTION_TIMEOUT_MAX);
        assert!(ELECTION_TIMEOUT_MAX <= Duration::from_secs(1));
        assert!(ELECTION_TICK < ELECTION_TIMEOUT_MIN);
    }

    #[test]
    fn random_timeouts_stay_within_bounds() {
        let outcome = runtime::run(runtime::RunConfig::sim(5), || async {
            (0..1000)
                .map(|_| random_election_timeout())
                .collect::<Vec<_>>()
        })
        .expect("the run finishes");
        let timeouts = outcome.value;
        assert!(timeouts
            .iter()
            .all(|t| (ELECTION_TIMEOUT_MIN..ELECTION_TIMEOUT_MAX).contains(t)));
        // Randomized: not all peers time out together.
        assert!(timeouts.iter().any(|t| *t != timeouts[0]));
    }

    #[test]
    fn the_timer_expires_only_after_its_timeout() {
        let start = Instant::START + Duration::from_secs(3);
        let mut timer = ElectionTimer::new(start, Duration::from_millis(600));
        assert!(!timer.expired(start + Duration::from_millis(599)));
        assert!(timer.expired(start + Duration::from_millis(600)));
        timer.reset(
            start + Duration::from_millis(500),
            Duration::from_millis(700),
        );
        assert!(!timer.expired(start + Duration::from_millis(1100)));
        assert!(timer.expired(start + Duration::from_millis(1200)));
        assert_eq!(timer.timeout(), Duration::from_millis(700));
        assert_eq!(
            timer.remaining(start + Duration::from_millis(1000)),
            Duration::from_millis(200)
        );
        assert_eq!(
            timer.remaining(start + Duration::from_millis(5000)),
            Duration::ZERO
        );
    }
}
