//! Persistence (part C) and `kill()` on a small cluster built by hand on labrpc's sim runtime:
//! crashed peers restart from what they saved, and killed peers fall silent. Each test is named
//! after the rule it checks, and runs several seeds.
//!
//! Set `RUST_LOG=raft=debug` to see a run's log, `RAFT_TEST_SEEDS=200` to run more seeds, and
//! `RAFT_TEST_SEED=N` to replay one.

mod common;

use std::time::Duration;

use common::Cluster;
use labrpc::runtime;

/// Runs `test` on a fresh cluster of `n` for each seed.
fn for_each_seed<T, F>(name: &str, n: usize, test: T)
where
    T: Fn(Cluster) -> F + Clone + Send + 'static,
    F: std::future::Future<Output = (Cluster, Result<(), String>)> + 'static,
{
    common::for_each_seed("persistence", name, n, false, test);
}

fn cmd(x: u64) -> Vec<u8> {
    x.to_le_bytes().to_vec()
}

#[test]
fn a_cluster_restarted_from_its_saved_state_keeps_its_log() {
    for_each_seed("restart_all", 3, |mut c| async move {
        for x in 1..=3 {
            check!(c, c.one(&cmd(x), 3, true).await);
        }
        let terms: Vec<u64> = (0..3).filter_map(|i| c.state(i).map(|s| s.0)).collect();
        for i in 0..3 {
            check!(c, c.restart(i));
        }
        for (i, &before) in terms.iter().enumerate() {
            let restored = c.state(i).map(|s| s.0).unwrap_or_default();
            if restored < before {
                return (
                    c,
                    Err(format!("S{i} restarted at term {restored}, had {before}")),
                );
            }
        }
        // The logs survived: the next command lands after the three, and every peer applies
        // the three again, with the same values (the appliers check), before it.
        let index = check!(c, c.one(&cmd(4), 3, true).await);
        if index != 4 {
            return (
                c,
                Err(format!(
                    "after the restart the next command got index {index}, not 4"
                )),
            );
        }
        let last = c.applied.lock().last.clone();
        if last.iter().any(|&l| l < 4) {
            return (
                c,
                Err(format!("restarted peers applied only through {last:?}")),
            );
        }
        (c, Ok(()))
    });
}

#[test]
fn a_partitioned_leader_and_a_crashed_follower_restart_and_agree() {
    // The original's TestPersist33C: "partitioned leader and one follower crash, leader
    // restarts".
    for_each_seed("persist3", 3, |mut c| async move {
        check!(c, c.one(&cmd(101), 3, true).await);
        let leader = check!(c, c.check_one_leader().await);
        check!(c, c.disconnect((leader + 2) % 3));
        check!(c, c.one(&cmd(102), 2, true).await);
        check!(c, c.crash(leader));
        check!(c, c.crash((leader + 1) % 3));
        check!(c, c.connect((leader + 2) % 3));
        // Only the restarted leader holds 102 besides the crashed follower: it must remember it.
        check!(c, c.restart(leader));
        check!(c, c.one(&cmd(103), 2, true).await);
        check!(c, c.restart((leader + 1) % 3));
        check!(c, c.one(&cmd(104), 3, true).await);
        let (n, value) = check!(c, c.n_committed(2));
        if n != 3 || value != Some(cmd(102)) {
            return (
                c,
                Err(format!(
                    "index 2 holds {value:?} on {n} peers, not 102 on 3"
                )),
            );
        }
        (c, Ok(()))
    });
}

#[test]
fn killed_peers_stop_every_task_and_apply_nothing_more() {
    for_each_seed("kill", 3, |c| async move {
        for x in 1..=3 {
            check!(c, c.one(&cmd(x), 3, true).await);
        }
        let leader = check!(c, c.check_one_leader().await);
        // Something committed but maybe not yet applied everywhere when the kill comes.
        let _ = c.raft(leader).and_then(|r| r.start(cmd(4)));
        for i in 0..3 {
            if let Some(raft) = c.raft(i) {
                raft.kill();
            }
        }
        // Once every task has run again, none is left: kill() wakes every sleeping task, so
        // under sim (where tasks run as soon as they are woken) within a millisecond; the real
        // executor on a busy machine gets a generous deadline.
        let deadline = match runtime::executor() {
            runtime::Executor::Sim => Duration::from_millis(1),
            runtime::Executor::Real => Duration::from_secs(5),
        };
        let killed_at = runtime::now();
        loop {
            let running: Vec<usize> = (0..3)
                .map(|i| c.raft(i).map_or(0, |r| r.running_tasks()))
                .collect();
            if running.iter().all(|&n| n == 0) {
                break;
            }
            if killed_at.elapsed() > deadline {
                return (
                    c,
                    Err(format!(
                        "tasks still running {deadline:?} after kill(): {running:?}"
                    )),
                );
            }
            runtime::sleep(Duration::from_millis(1)).await;
        }
        for i in 0..3 {
            if c.raft(i).and_then(|r| r.start(cmd(5))).is_some() {
                return (c, Err(format!("S{i} accepted a command after kill()")));
            }
        }
        let received = c.applied.lock().received.clone();
        let sent = c.net.total_count();
        runtime::sleep(Duration::from_secs(5)).await;
        let more = c.net.total_count() - sent;
        if more != 0 {
            return (c, Err(format!("killed peers sent {more} more RPCs")));
        }
        let after = c.applied.lock().received.clone();
        if after != received {
            return (
                c,
                Err(format!(
                    "killed peers applied more: {received:?} messages before, {after:?} after"
                )),
            );
        }
        (c, Ok(()))
    });
}
