//! Part D: snapshots and log compaction (Go `TestSnapshotBasic3D` … `TestSnapshotInit3D`),
//! step for step, with the original's counts and failure messages.
//!
//! Every test runs the service of the snapshot tests ([`Tester::with_snapshots`], Go
//! `applierSnap`): each peer's applier snapshots every [`SNAPSHOT_INTERVAL`] commands by
//! calling the peer's `snapshot` before it takes the next message, takes the snapshots its peer
//! sends, and checks that every command is the one after the service's last index. A restarted
//! peer's service restores the saved snapshot first (Go `start1`).
//!
//! Where the years differ, these follow the stricter:
//! - `snapcommon` sends 5–14 commands to the sender per iteration and waits for all three
//!   peers in the basic test (2023 onward; 2022 sent 11 and waited for two).
//! - `snapshot_all_crash` and `snapshot_init` run on an **unreliable** network, as the 2025
//!   and 2026 testers do (their flag means `reliable`, and they pass `false`); the 2024
//!   tester's flag meant `unreliable`, so the same `false` gave a reliable network.
//! - A restart reconnects only the restarted peer (2024, 2026), not every peer (2025).

use labrpc::runtime;

use super::{one_cluster, Body, Grader, GraderFuture, Origin};
use crate::fail;
use crate::tester::{Command, Stats, TestFailure, Tester, MAX_LOG_SIZE, SNAPSHOT_INTERVAL};
use raftapi::Peer;

/// The part-D tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Test {
    Basic,
    Install,
    InstallUnreliable,
    InstallCrash,
    InstallUncrash,
    AllCrash,
    Init,
}

/// The part-D graders, in the order the lab runs them.
pub(crate) const GRADERS: &[Grader] = &[
    Grader {
        name: "snapshot_basic",
        part: "D",
        title: "Test (3D): snapshots basic",
        description: "30 rounds of 5-14 commands with every peer connected: peers snapshot every \
                      10 commands and their saved state stays under 2000 bytes",
        origin: Origin::Original,
        body: Body::D(Test::Basic),
    },
    Grader {
        name: "snapshot_install",
        part: "D",
        title: "Test (3D): install snapshots (disconnect)",
        description: "a peer disconnected while the others commit and snapshot catches up \
                      through InstallSnapshot",
        origin: Origin::Original,
        body: Body::D(Test::Install),
    },
    Grader {
        name: "snapshot_install_unreliable",
        part: "D",
        title: "Test (3D): install snapshots (disconnect+unreliable)",
        description: "snapshot_install on a lossy, reordering network",
        origin: Origin::Original,
        body: Body::D(Test::InstallUnreliable),
    },
    Grader {
        name: "snapshot_install_crash",
        part: "D",
        title: "Test (3D): install snapshots (crash)",
        description: "a peer crashed while the others commit and snapshot restarts from its \
                      snapshot and catches up",
        origin: Origin::Original,
        body: Body::D(Test::InstallCrash),
    },
    Grader {
        name: "snapshot_install_uncrash",
        part: "D",
        title: "Test (3D): install snapshots (unreliable+crash)",
        description: "snapshot_install_crash on a lossy, reordering network",
        origin: Origin::Original,
        body: Body::D(Test::InstallUncrash),
    },
    Grader {
        name: "snapshot_all_crash",
        part: "D",
        title: "Test (3D): crash and restart all servers",
        description: "5 rounds of crashing and restarting every peer after it snapshotted: the \
                      next command goes after the last one",
        origin: Origin::Original,
        body: Body::D(Test::AllCrash),
    },
    Grader {
        name: "snapshot_init",
        part: "D",
        title: "Test (3D): snapshot initialization after crash",
        description: "a peer restarted from a snapshot keeps it when it saves again, so a second \
                      restart still has it",
        origin: Origin::Original,
        body: Body::D(Test::Init),
    },
];

/// The body of part-D test `test` for peer type `P`.
pub(crate) fn body<P: Peer>(test: Test, title: &'static str) -> GraderFuture {
    match test {
        Test::Basic => one_cluster(snapcommon::<P>(title, false, true, false)),
        Test::Install => one_cluster(snapcommon::<P>(title, true, true, false)),
        Test::InstallUnreliable => one_cluster(snapcommon::<P>(title, true, false, false)),
        Test::InstallCrash => one_cluster(snapcommon::<P>(title, false, true, true)),
        Test::InstallUncrash => one_cluster(snapcommon::<P>(title, false, false, true)),
        Test::AllCrash => one_cluster(snapshot_all_crash::<P>(title)),
        Test::Init => one_cluster(snapshot_init::<P>(title)),
    }
}

/// How many commands a round sends to be sure of crossing a snapshot (Go
/// `SnapShotInterval/2 + rand % SnapShotInterval`): 5 to 14.
fn commands_per_round() -> u64 {
    SNAPSHOT_INTERVAL / 2 + runtime::random_range(0..SNAPSHOT_INTERVAL)
}

/// Fails if any peer saved more Raft state than [`MAX_LOG_SIZE`] allows.
fn check_log_size<P: Peer>(t: &Tester<P>) -> Result<(), TestFailure> {
    let size = t.log_size();
    if size >= MAX_LOG_SIZE {
        fail!(
            "Log size too large ({size} bytes of saved Raft state, the limit is {MAX_LOG_SIZE}: \
             snapshot() must trim the log and save the shorter state)"
        );
    }
    Ok(())
}

/// Crashes all peers, then restarts and reconnects each.
fn crash_and_restart_all<P: Peer>(t: &mut Tester<P>) {
    let servers = t.n();
    for i in 0..servers {
        t.crash1(i);
    }
    for i in 0..servers {
        t.start1(i);
        t.connect(i);
    }
}

/// Go `snapcommon`: 30 iterations on 3 peers. Each cuts off a victim (the leader's successor,
/// or every third time the leader itself) by disconnecting or crashing it, when asked, has
/// the others agree, sends 5–14 commands to a sender without waiting, agrees on one more (with
/// all three when no one was cut off, so no `InstallSnapshot` is needed), checks that no peer
/// saved 2000 bytes or more of Raft state, and brings the victim back (a crashed one restarts
/// from its snapshot), which must then agree with the others.
async fn snapcommon<P: Peer>(
    title: &'static str,
    disconnect: bool,
    reliable: bool,
    crash: bool,
) -> Result<Stats, TestFailure> {
    let iters = 30;
    let servers = 3;
    let mut t = Tester::<P>::with_snapshots(servers, reliable);
    t.begin(title);

    t.one(Command::random(), servers, true).await?;
    let mut leader1 = t.check_one_leader().await?;

    for i in 0..iters {
        let (mut victim, mut sender) = ((leader1 + 1) % servers, leader1);
        if i % 3 == 1 {
            sender = (leader1 + 1) % servers;
            victim = leader1;
        }

        if disconnect {
            t.disconnect(victim);
            t.one(Command::random(), servers - 1, true).await?;
        }
        if crash {
            t.crash1(victim);
            t.one(Command::random(), servers - 1, true).await?;
        }

        // Perhaps send enough to get a snapshot.
        for _ in 0..commands_per_round() {
            let _ = t.start(sender, &Command::random());
        }

        // Let the appliers catch up with the Start()s.
        if !disconnect && !crash {
            // Make sure all followers have caught up, so that an InstallSnapshot RPC isn't
            // required for the basic test.
            t.one(Command::random(), servers, true).await?;
        } else {
            t.one(Command::random(), servers - 1, true).await?;
        }

        check_log_size(&t)?;
        if disconnect {
            // Reconnect a follower, which may be behind and need a snapshot to catch up.
            t.connect(victim);
            t.one(Command::random(), servers, true).await?;
            leader1 = t.check_one_leader().await?;
        }
        if crash {
            t.start1(victim);
            t.connect(victim);
            t.one(Command::random(), servers, true).await?;
            leader1 = t.check_one_leader().await?;
        }
    }
    t.end()
}

/// Go `TestSnapshotAllCrash3D`: five rounds of agreeing on 5–14 commands, then one more at
/// `index1`, crashing and restarting every peer, and agreeing on another, which must land
/// after `index1` (`index decreased from %v to %v`).
async fn snapshot_all_crash<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 3;
    let iters = 5;
    let mut t = Tester::<P>::with_snapshots(servers, false);
    t.begin(title);

    t.one(Command::random(), servers, true).await?;

    for _ in 0..iters {
        // Perhaps enough to get a snapshot.
        for _ in 0..commands_per_round() {
            t.one(Command::random(), servers, true).await?;
        }
        let index1 = t.one(Command::random(), servers, true).await?;

        crash_and_restart_all(&mut t);

        let index2 = t.one(Command::random(), servers, true).await?;
        if index2 < index1 + 1 {
            fail!("index decreased from {index1} to {index2}");
        }
    }
    t.end()
}

/// Go `TestSnapshotInit3D`: 12 commands (so every peer snapshots), crash and restart all,
/// one command (so each peer saves again), crash and restart all, one more command. A peer
/// that forgets the snapshot it restarted with, when it saves again, comes back the second
/// time with a trimmed log and no snapshot.
async fn snapshot_init<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 3;
    let mut t = Tester::<P>::with_snapshots(servers, false);
    t.begin(title);

    t.one(Command::random(), servers, true).await?;
    // Enough ops to make a snapshot.
    for _ in 0..=SNAPSHOT_INTERVAL {
        t.one(Command::random(), servers, true).await?;
    }

    crash_and_restart_all(&mut t);
    // A single op, to get something written back to persistent storage.
    t.one(Command::random(), servers, true).await?;

    crash_and_restart_all(&mut t);
    // Another op, to trigger the potential bug.
    t.one(Command::random(), servers, true).await?;
    t.end()
}
