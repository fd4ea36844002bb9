//! The fault model's numbers, exactly those of the original Go `labrpc`.
//!
//! All durations are in milliseconds of run time and every draw comes from the runtime's
//! generator, so in sim mode each fault decision replays with the seed.

use std::time::Duration;

/// An unreliable network delays each request by `0..SHORT_DELAY_MS` ms (0–26 ms).
pub const SHORT_DELAY_MS: u64 = 27;

/// Per-mille chance that an unreliable network drops a request (the handler never runs).
pub const REQUEST_DROP_PER_MILLE: u64 = 100;

/// Per-mille chance that an unreliable network drops a reply (the handler did run).
pub const REPLY_DROP_PER_MILLE: u64 = 100;

/// With long reordering on, a reply is held back when a draw from `0..REORDER_OUT_OF` falls
/// below `REORDER_CHANCE` (a 2/3 chance), even on a reliable network.
pub const REORDER_CHANCE: u64 = 600;
/// See [`REORDER_CHANCE`].
pub const REORDER_OUT_OF: u64 = 900;
/// A held-back reply waits `REORDER_BASE_MS + rand(1 + rand(REORDER_SPREAD_MS))` ms:
/// 200–2199 ms, skewed toward the short end.
pub const REORDER_BASE_MS: u64 = 200;
/// See [`REORDER_BASE_MS`].
pub const REORDER_SPREAD_MS: u64 = 2000;

/// With long delays on, a call to a disabled end, an unconnected end or a missing server fails
/// after `0..LONG_DELAY_MS` ms (0–6999 ms). The Raft tester always turns long delays on, so a
/// leader that sends its RPCs one after another, waiting for each, falls behind.
pub const LONG_DELAY_MS: u64 = 7000;

/// Without long delays, such a call fails after `0..SHORT_DEAD_DELAY_MS` ms (0–99 ms).
pub const SHORT_DEAD_DELAY_MS: u64 = 100;

/// While a handler runs, the network checks this often whether its server died (deleted,
/// replaced, or its end disabled); if so the caller gets an error at once.
pub const DEAD_SERVER_POLL: Duration = Duration::from_millis(100);
