//! Snapshots (part D) on a small cluster built by hand on labrpc's sim runtime: each peer's
//! service snapshots every ten commands, as the lab's tester does, from its applier task. A
//! follower that fell behind the leader's snapshot is caught up by `InstallSnapshot`, and a
//! peer restarted from a snapshot goes on from the entry after it. Each test runs several seeds.
//!
//! Set `RUST_LOG=raft=debug` to see a run's log, `RAFT_TEST_SEEDS=200` to run more seeds, and
//! `RAFT_TEST_SEED=N` to replay one.

mod common;

use common::{snapshot_index, Cluster};

/// Snapshot after every command whose index + 1 is a multiple of this (Go's
/// `SnapShotInterval`).
const SNAPSHOT_EVERY: u64 = 10;

/// Runs `test` on a fresh, snapshotting cluster of `n` for each seed.
fn for_each_seed<T, F>(name: &str, n: usize, test: T)
where
    T: Fn(Cluster) -> F + Clone + Send + 'static,
    F: std::future::Future<Output = (Cluster, Result<(), String>)> + 'static,
{
    common::for_each_seed("snapshots", name, n, false, move |c: Cluster| {
        c.applied.lock().snapshot_every = SNAPSHOT_EVERY;
        test(c)
    });
}

fn cmd(x: u64) -> Vec<u8> {
    x.to_le_bytes().to_vec()
}

#[test]
fn snapshots_keep_the_saved_state_small() {
    for_each_seed("small_state", 3, |c| async move {
        let mut sizes = Vec::new();
        for x in 1..=60 {
            check!(c, c.one(&cmd(x), 3, true).await);
            sizes.push(
                (0..3)
                    .filter_map(|i| c.raft_state_size(i))
                    .max()
                    .unwrap_or(0),
            );
        }
        // Without trimming, 60 entries take far more than 20 do.
        let late = sizes[40..].iter().copied().max().unwrap_or(0);
        let early = sizes[..20].iter().copied().max().unwrap_or(0);
        if late > early + 200 {
            return (
                c,
                Err(format!(
                    "the saved state grows with the log: {early} bytes by index 20, {late} by 60"
                )),
            );
        }
        for i in 0..3 {
            let saved = c.saved_snapshot(i).and_then(|s| snapshot_index(&s));
            if saved != Some(59) {
                return (c, Err(format!("S{i} saved snapshot {saved:?}, not 59")));
            }
        }
        (c, Ok(()))
    });
}

#[test]
fn a_lagging_follower_is_caught_up_by_install_snapshot() {
    for_each_seed("install_snapshot", 3, |mut c| async move {
        check!(c, c.one(&cmd(1), 3, true).await);
        let leader = check!(c, c.check_one_leader().await);
        let lagging = (leader + 1) % 3;
        check!(c, c.disconnect(lagging));
        // The other two commit and snapshot well past the lagging follower's log.
        for x in 2..=35 {
            check!(c, c.one(&cmd(x), 2, true).await);
        }
        let before = c.applied.lock().snapshots[lagging];
        check!(c, c.connect(lagging));
        let index = check!(c, c.one(&cmd(36), 3, true).await);
        let (got, last) = {
            let a = c.applied.lock();
            (a.snapshots[lagging] - before, a.last[lagging])
        };
        if got == 0 {
            return (c, Err(format!("S{lagging} caught up without a snapshot")));
        }
        if last < index {
            return (c, Err(format!("S{lagging} applied only through {last}")));
        }
        (c, Ok(()))
    });
}

#[test]
fn a_restarted_peer_goes_on_from_the_entry_after_its_snapshot() {
    for_each_seed("restart_after_snapshot", 3, |mut c| async move {
        for x in 1..=25 {
            check!(c, c.one(&cmd(x), 3, true).await);
        }
        for i in 0..3 {
            check!(c, c.restart(i));
        }
        // The appliers check that each restarted peer's first message is the entry after its
        // snapshot (or a newer snapshot), never one the snapshot already holds.
        let index = check!(c, c.one(&cmd(26), 3, true).await);
        if index != 26 {
            return (
                c,
                Err(format!("the command after a restart went to {index}")),
            );
        }
        for i in 0..3 {
            check!(c, c.restart(i));
        }
        check!(c, c.one(&cmd(27), 3, true).await);
        (c, Ok(()))
    });
}
