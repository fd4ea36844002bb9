//! When the rsm hands Raft a snapshot (part 4C).

/// The share of `maxraftstate` at which the rsm snapshots: "nears" the limit, so that the
/// persisted state stays under it between snapshots (an entry or two arrive between the check
/// and the save).
const NEAR_NUMERATOR: usize = 9;
/// See [`NEAR_NUMERATOR`].
const NEAR_DENOMINATOR: usize = 10;

/// Whether persisted Raft state of `raft_state_size` bytes is near enough to `max_raft_state`
/// (`None`: never snapshot, Go's −1) to snapshot now.
pub fn should_snapshot(raft_state_size: usize, max_raft_state: Option<usize>) -> bool {
    match max_raft_state {
        None => false,
        Some(max) => raft_state_size.saturating_mul(NEAR_DENOMINATOR) >= max * NEAR_NUMERATOR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_near_the_limit_and_never_without_one() {
        assert!(!should_snapshot(10_000, None));
        assert!(!should_snapshot(899, Some(1000)));
        assert!(should_snapshot(900, Some(1000)));
        assert!(should_snapshot(5000, Some(1000)));
        assert!(should_snapshot(0, Some(0)));
    }
}
