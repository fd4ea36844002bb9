//! Timing: the heartbeat interval and the election timeout. The numbers are yours to choose
//! within what the tester checks:
//!
//! - a leader may send each follower **at most ten** RPCs per second on average, so heartbeats
//!   come at most ten times a second;
//! - heartbeats must keep followers from starting elections while the network is healthy, so
//!   the interval is well below the election timeout's lower bound;
//! - a new leader must be elected **within five seconds** of the old one failing, even after a
//!   few split votes, so the timeout cannot be much more than a second. Larger than the paper's
//!   150–300 ms, because heartbeats are slower here.
//!
//! All durations are run time: virtual under the sim executor. Draw the timeout with
//! `labrpc::runtime::random_duration(ELECTION_TIMEOUT_MIN..ELECTION_TIMEOUT_MAX)`, never with
//! `rand`, so a seed replays it.

use std::time::Duration;

/// How often a leader sends `AppendEntries` to each follower (the lecture picks 200 ms).
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(200);

/// The lower bound of the randomized election timeout. Your choice: see the module docs.
pub const ELECTION_TIMEOUT_MIN: Duration = Duration::from_millis(600);

/// The upper bound (exclusive) of the randomized election timeout. Your choice.
pub const ELECTION_TIMEOUT_MAX: Duration = Duration::from_millis(1200);
