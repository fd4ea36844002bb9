//! When the rsm hands Raft a snapshot (part 4C).

/// The share of `maxraftstate` at which the rsm snapshots: "nears" the limit, so that the
/// persisted state stays under it between snapshots (an entry or two arrive between the check
/// and the save).
const NEAR_NUMERATOR: usize = 9;
/// See [`NEAR_NUMERATOR`].
const NEAR_DENOMINATOR: usize = 10;

/// How many entries the rsm applies between snapshots while it lags (see [`should_snapshot`]).
pub const LAGGING_SNAPSHOT_EVERY: u64 = 16;

/// Whether `size` bytes are near `max`.
fn near(size: usize, max: usize) -> bool {
    size.saturating_mul(NEAR_DENOMINATOR) >= max.saturating_mul(NEAR_NUMERATOR)
}

/// Whether to snapshot now: the persisted Raft state of `raft_state_size` bytes is near
/// `max_raft_state` (`None`: never snapshot, Go's −1), unless the rsm lags.
///
/// The rsm lags when even right after its last snapshot the state was still near the limit
/// (`left_by_last` bytes): the entries Raft holds beyond what the rsm applied fill it. A snapshot
/// then frees only the one entry applied since, and each costs Raft a save of the whole tail, so
/// snapshotting at every entry makes applying slower and the lag longer (seen in real time, on a
/// loaded machine, as a log eight times the limit). While it lags, the rsm snapshots once every
/// `LAGGING_SNAPSHOT_EVERY` entries (`applied_since_last`), and catches up.
pub fn should_snapshot(
    raft_state_size: usize,
    max_raft_state: Option<usize>,
    left_by_last: usize,
    applied_since_last: u64,
) -> bool {
    match max_raft_state {
        None => false,
        Some(max) => {
            near(raft_state_size, max)
                && (left_by_last == 0
                    || !near(left_by_last, max)
                    || applied_since_last >= LAGGING_SNAPSHOT_EVERY)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_near_the_limit_and_never_without_one() {
        assert!(!should_snapshot(10_000, None, 0, 1));
        assert!(!should_snapshot(899, Some(1000), 0, 1));
        assert!(should_snapshot(900, Some(1000), 0, 1));
        assert!(should_snapshot(5000, Some(1000), 100, 1));
        assert!(should_snapshot(0, Some(0), 0, 1));
    }

    #[test]
    fn a_lagging_rsm_snapshots_every_few_entries() {
        // The last snapshot left 5000 bytes: the tail beyond what was applied.
        assert!(!should_snapshot(5100, Some(1000), 5000, 1));
        assert!(!should_snapshot(
            5100,
            Some(1000),
            5000,
            LAGGING_SNAPSHOT_EVERY - 1
        ));
        assert!(should_snapshot(
            5100,
            Some(1000),
            5000,
            LAGGING_SNAPSHOT_EVERY
        ));
    }
}
