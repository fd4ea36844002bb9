//! Part B: log replication (Go `TestBasicAgree3B` … `TestCount3B`), step for step, with the
//! original's sleeps, peer counts and failure messages.
//!
//! Where this goes beyond the original, the grader's documentation says so. Throughout, the
//! tester's applier checks every apply as it happens (see [`crate::tester`]).

use std::time::Duration;

use labrpc::runtime;

use super::{one_cluster, Body, Grader, GraderFuture, Origin};
use crate::fail;
use crate::tester::{Command, Stats, TestFailure, Tester, RAFT_ELECTION_TIMEOUT};
use raftapi::Peer;

/// The part-B tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Test {
    BasicAgree,
    RpcBytes,
    FollowerFailure,
    LeaderFailure,
    FailAgree,
    FailNoAgree,
    ConcurrentStarts,
    Rejoin,
    Backup,
    Count,
    OldTermCommit,
}

/// The part-B graders, in the order the lab runs them.
pub(crate) const GRADERS: &[Grader] = &[
    Grader {
        name: "basic_agree",
        part: "B",
        title: "Test (3B): basic agreement",
        description: "3 peers agree on 3 commands, each at the next index, none committed early",
        origin: Origin::Original,
        body: Body::B(Test::BasicAgree),
    },
    Grader {
        name: "rpc_bytes",
        part: "B",
        title: "Test (3B): RPC byte count",
        description: "10 commands of 5000 bytes cost about one copy per follower in RPC bytes",
        origin: Origin::Original,
        body: Body::B(Test::RpcBytes),
    },
    Grader {
        name: "follower_failure",
        part: "B",
        title: "Test (3B): test progressive failure of followers",
        description: "2 of 3 agree with a follower cut off; a leader alone commits nothing",
        origin: Origin::Original,
        body: Body::B(Test::FollowerFailure),
    },
    Grader {
        name: "leader_failure",
        part: "B",
        title: "Test (3B): test failure of leaders",
        description: "agreement goes on after the leader is cut off, twice; nothing commits \
                      without a majority",
        origin: Origin::Original,
        body: Body::B(Test::LeaderFailure),
    },
    Grader {
        name: "fail_agree",
        part: "B",
        title: "Test (3B): agreement after follower reconnects",
        description: "2 of 3 agree with a follower cut off, and it catches up when it returns",
        origin: Origin::Original,
        body: Body::B(Test::FailAgree),
    },
    Grader {
        name: "fail_no_agree",
        part: "B",
        title: "Test (3B): no agreement if too many followers disconnect",
        description: "a leader with 2 of 5 commits nothing; agreement resumes when they return",
        origin: Origin::Original,
        body: Body::B(Test::FailNoAgree),
    },
    Grader {
        name: "concurrent_starts",
        part: "B",
        title: "Test (3B): concurrent Start()s",
        description: "5 commands started at once all commit, at distinct indices",
        origin: Origin::Original,
        body: Body::B(Test::ConcurrentStarts),
    },
    Grader {
        name: "rejoin",
        part: "B",
        title: "Test (3B): rejoin of partitioned leader",
        description: "a partitioned leader's uncommitted entries are replaced when it rejoins",
        origin: Origin::Original,
        body: Body::B(Test::Rejoin),
    },
    Grader {
        name: "backup",
        part: "B",
        title: "Test (3B): leader backs up quickly over incorrect follower logs",
        description: "leaders repair followers with 50 wrong entries, and quickly (agreement \
                      within 5 s of each heal)",
        origin: Origin::Original,
        body: Body::B(Test::Backup),
    },
    Grader {
        name: "count",
        part: "B",
        title: "Test (3B): RPC counts aren't too high",
        description: "at most 30 RPCs to elect, 42 to commit 11 commands, 60 in an idle second",
        origin: Origin::Original,
        body: Body::B(Test::Count),
    },
    Grader {
        name: "old_term_commit",
        part: "B",
        title: "Beyond (3B): no commit of an earlier term's entry by counting replicas (Figure 8)",
        description: "a new leader does not commit an earlier term's entry stored on a majority; \
                      a peer holding a later entry at that index then replaces it",
        origin: Origin::Beyond,
        body: Body::B(Test::OldTermCommit),
    },
];

/// The body of part-B test `test` for peer type `P`.
pub(crate) fn body<P: Peer>(test: Test, title: &'static str) -> GraderFuture {
    match test {
        Test::BasicAgree => one_cluster(basic_agree::<P>(title)),
        Test::RpcBytes => one_cluster(rpc_bytes::<P>(title)),
        Test::FollowerFailure => one_cluster(follower_failure::<P>(title)),
        Test::LeaderFailure => one_cluster(leader_failure::<P>(title)),
        Test::FailAgree => one_cluster(fail_agree::<P>(title)),
        Test::FailNoAgree => one_cluster(fail_no_agree::<P>(title)),
        Test::ConcurrentStarts => one_cluster(concurrent_starts::<P>(title)),
        Test::Rejoin => one_cluster(rejoin::<P>(title)),
        Test::Backup => one_cluster(backup::<P>(title)),
        Test::Count => one_cluster(count::<P>(title)),
        Test::OldTermCommit => one_cluster(old_term_commit::<P>(title)),
    }
}

/// Tries of the tests that retry when the term changes under them (Go: 5).
const TRIES: usize = 5;
/// The sleep before each retry of those tests (Go: 3 s).
const RETRY_SLEEP: Duration = Duration::from_secs(3);

/// Go `TestBasicAgree3B`: for indices 1..=3, nothing is committed before `Start()`, and
/// `one(index × 100, 3, no retry)` lands at that index.
pub(crate) async fn basic_agree<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 3;
    let mut t = Tester::<P>::new(servers, true);
    t.begin(title);

    let iters = 3;
    for index in 1..=iters {
        let (nd, _) = t.n_committed(index)?;
        if nd > 0 {
            fail!("some have committed before Start()");
        }
        let xindex = t.one(index * 100, servers, false).await?;
        if xindex != index {
            fail!("got index {xindex} but expected {index}");
        }
    }
    t.end()
}

/// The length of each command of [`rpc_bytes`] (Go: 5000).
const RPC_BYTES_COMMAND_LEN: usize = 5000;
/// The slack over one copy per peer of [`rpc_bytes`]'s commands (Go: 50 000).
const RPC_BYTES_SLACK: u64 = 50_000;

/// A random string of `len` characters (Go `randstring`).
fn random_text(len: usize) -> Command {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let text = (0..len)
        .map(|_| ALPHABET[runtime::random_range(0..ALPHABET.len() as u64) as usize] as char)
        .collect();
    Command::Text(text)
}

/// Go `TestRPCBytes3B`: after `one(99)`, ten 5000-character commands each land at the next
/// index, and the RPC bytes they cost stay under one copy per peer plus 50 000.
pub(crate) async fn rpc_bytes<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 3;
    let mut t = Tester::<P>::new(servers, true);
    t.begin(title);

    t.one(99, servers, false).await?;
    let bytes0 = t.net().total_bytes();

    let iters = 10;
    let mut sent = 0u64;
    for index in 2..iters + 2 {
        let cmd = random_text(RPC_BYTES_COMMAND_LEN);
        let xindex = t.one(cmd, servers, false).await?;
        if xindex != index {
            fail!("got index {xindex} but expected {index}");
        }
        sent += RPC_BYTES_COMMAND_LEN as u64;
    }

    let got = t.net().total_bytes() - bytes0;
    let expected = servers as u64 * sent;
    if got > expected + RPC_BYTES_SLACK {
        fail!("too many RPC bytes; got {got}, expected {expected}");
    }
    t.end()
}

/// Go `TestFollowerFailure3B`: two of three agree with one follower cut off; with both
/// followers cut off, the leader accepts `Start(104)` at index 4 but commits nothing.
pub(crate) async fn follower_failure<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 3;
    let mut t = Tester::<P>::new(servers, true);
    t.begin(title);

    t.one(101, servers, false).await?;

    // Disconnect one follower from the network.
    let leader1 = t.check_one_leader().await?;
    t.disconnect((leader1 + 1) % servers);

    // The leader and remaining follower should be able to agree despite the disconnected
    // follower.
    t.one(102, servers - 1, false).await?;
    runtime::sleep(RAFT_ELECTION_TIMEOUT).await;
    t.one(103, servers - 1, false).await?;

    // Disconnect the remaining follower.
    let leader2 = t.check_one_leader().await?;
    t.disconnect((leader2 + 1) % servers);
    t.disconnect((leader2 + 2) % servers);

    // Submit a command.
    let Some((index, _)) = t.start(leader2, &Command::Int(104)) else {
        fail!("leader rejected Start()");
    };
    if index != 4 {
        fail!("expected index 4, got {index}");
    }

    runtime::sleep(2 * RAFT_ELECTION_TIMEOUT).await;

    // Check that the command did not commit.
    t.check_no_agreement(index)?;
    t.end()
}

/// Go `TestLeaderFailure3B`: agreement continues after the leader is cut off; with the second
/// leader cut off too, a `Start(104)` on every peer commits nothing.
pub(crate) async fn leader_failure<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 3;
    let mut t = Tester::<P>::new(servers, true);
    t.begin(title);

    t.one(101, servers, false).await?;

    // Disconnect the first leader.
    let leader1 = t.check_one_leader().await?;
    t.disconnect(leader1);

    // The remaining followers should elect a new leader.
    t.one(102, servers - 1, false).await?;
    runtime::sleep(RAFT_ELECTION_TIMEOUT).await;
    t.one(103, servers - 1, false).await?;

    // Disconnect the new leader.
    let leader2 = t.check_one_leader().await?;
    t.disconnect(leader2);

    // Submit a command to each server.
    for i in 0..servers {
        t.start(i, &Command::Int(104));
    }

    runtime::sleep(2 * RAFT_ELECTION_TIMEOUT).await;

    // Check that the command did not commit.
    t.check_no_agreement(4)?;
    t.end()
}

/// Go `TestFailAgree3B`: two of three agree on four commands with a follower cut off, and it
/// catches up once it reconnects.
pub(crate) async fn fail_agree<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 3;
    let mut t = Tester::<P>::new(servers, true);
    t.begin(title);

    t.one(101, servers, false).await?;

    // Disconnect one follower from the network.
    let leader = t.check_one_leader().await?;
    t.disconnect((leader + 1) % servers);

    // The leader and remaining follower should be able to agree despite the disconnected
    // follower.
    t.one(102, servers - 1, false).await?;
    t.one(103, servers - 1, false).await?;
    runtime::sleep(RAFT_ELECTION_TIMEOUT).await;
    t.one(104, servers - 1, false).await?;
    t.one(105, servers - 1, false).await?;

    // Re-connect.
    t.connect((leader + 1) % servers);

    // The full set of servers should preserve previous agreements, and be able to agree on
    // new commands.
    t.one(106, servers, true).await?;
    runtime::sleep(RAFT_ELECTION_TIMEOUT).await;
    t.one(107, servers, true).await?;
    t.end()
}

/// Go `TestFailNoAgree3B`: a leader cut off with one follower of five accepts `Start(20)` at
/// index 2 but commits nothing; once all reconnect, the next command lands at 2 or 3 and five
/// agree.
pub(crate) async fn fail_no_agree<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 5;
    let mut t = Tester::<P>::new(servers, true);
    t.begin(title);

    t.one(10, servers, false).await?;

    // 3 of 5 followers disconnect.
    let leader = t.check_one_leader().await?;
    t.disconnect((leader + 1) % servers);
    t.disconnect((leader + 2) % servers);
    t.disconnect((leader + 3) % servers);

    let Some((index, _)) = t.start(leader, &Command::Int(20)) else {
        fail!("leader rejected Start()");
    };
    if index != 2 {
        fail!("expected index 2, got {index}");
    }

    runtime::sleep(2 * RAFT_ELECTION_TIMEOUT).await;

    t.check_no_agreement(index)?;

    // Repair.
    t.connect((leader + 1) % servers);
    t.connect((leader + 2) % servers);
    t.connect((leader + 3) % servers);

    // The disconnected majority may have chosen a leader from among their own ranks,
    // forgetting index 2.
    let leader2 = t.check_one_leader().await?;
    let Some((index2, _)) = t.start(leader2, &Command::Int(30)) else {
        fail!("leader2 rejected Start()");
    };
    if !(2..=3).contains(&index2) {
        fail!("unexpected index {index2}");
    }

    t.one(1000, servers, true).await?;
    t.end()
}

/// Go `TestConcurrentStarts3B`: five `Start()`s issued at once on the leader (from five tasks,
/// in an order the seed draws) all commit at the indices returned. Retries up to 5 times, 3 s
/// apart, when the term changes under it.
pub(crate) async fn concurrent_starts<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 3;
    let mut t = Tester::<P>::new(servers, true);
    t.begin(title);

    let mut success = false;
    'tries: for attempt in 0..TRIES {
        if attempt > 0 {
            // Give the solution some time to settle.
            runtime::sleep(RETRY_SLEEP).await;
        }

        let leader = t.check_one_leader().await?;
        let Some((_, term)) = t.start(leader, &Command::Int(1)) else {
            // Leader moved on really quickly.
            continue;
        };

        let iters = 5u64;
        let handles: Vec<_> = (0..iters)
            .map(|i| {
                let h = t.handle();
                runtime::spawn(async move {
                    match h.start(leader, &Command::Int(100 + i)) {
                        Some((index, term1)) if term1 == term => Some(index),
                        _ => None,
                    }
                })
            })
            .collect();
        let mut indices = Vec::new();
        for handle in handles {
            match handle.await {
                Ok(Some(index)) => indices.push(index),
                Ok(None) => {}
                Err(e) => fail!("a task calling Start() did not finish: {e}"),
            }
        }

        for j in 0..servers {
            if let Some((term_j, _)) = t.state_of(j) {
                if term_j != term {
                    // Term changed: can't expect low RPC counts.
                    continue 'tries;
                }
            }
        }

        let mut cmds = Vec::new();
        for index in indices {
            match t.wait(index, servers, Some(term)).await? {
                // Peers have moved on to later terms, so we can't expect all Start()s to have
                // succeeded.
                None => continue 'tries,
                Some(cmd) => match cmd.as_int() {
                    Some(x) => cmds.push(x),
                    None => fail!("value {cmd} is not an int"),
                },
            }
        }

        for i in 0..iters {
            let x = 100 + i;
            if !cmds.contains(&x) {
                fail!("cmd {x} missing in {cmds:?}");
            }
        }
        success = true;
        break;
    }

    if !success {
        fail!("term changed too often");
    }
    t.end()
}

/// Go `TestRejoin3B`: a partitioned leader takes three commands that never commit; when it
/// rejoins, the others' log wins and everyone agrees.
pub(crate) async fn rejoin<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 3;
    let mut t = Tester::<P>::new(servers, true);
    t.begin(title);

    t.one(101, servers, true).await?;

    // Leader network failure.
    let leader1 = t.check_one_leader().await?;
    t.disconnect(leader1);

    // Make the old leader try to agree on some entries.
    for x in [102, 103, 104] {
        t.start(leader1, &Command::Int(x));
    }

    // The new leader commits, also for index=2.
    t.one(103, 2, true).await?;

    // New leader network failure.
    let leader2 = t.check_one_leader().await?;
    t.disconnect(leader2);

    // Old leader connected again.
    t.connect(leader1);

    t.one(104, 2, true).await?;

    // All together now.
    t.connect(leader2);

    t.one(105, servers, true).await?;
    t.end()
}

/// Commands [`backup`] gives each side of a partition (Go: 50).
const BACKUP_COMMANDS: usize = 50;
/// Beyond the original: how soon after the network heals the first agreement must come in
/// [`backup`]. The handout allows five seconds to elect a leader; a leader that backs up one
/// entry per heartbeat needs 50 heartbeats per repaired follower, at least 5 s at the allowed
/// ten per second, on top of the election.
pub const BACKUP_HEAL_BUDGET: Duration = Duration::from_secs(5);

/// Go `TestBackup3B`: leaders must repair followers whose logs hold 50 entries that never
/// committed, first on a fresh majority, then on the old leader's side.
///
/// Beyond the original, whose only bound is `one()`'s 10 s: after each of the two heals that
/// need a repair (the old leader's side returning, and everyone returning), the first `one()`
/// must reach agreement within [`BACKUP_HEAL_BUDGET`]; a leader that backs up one entry per
/// heartbeat cannot.
pub(crate) async fn backup<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 5;
    let mut t = Tester::<P>::new(servers, true);
    t.begin(title);

    t.one(Command::random(), servers, true).await?;

    // Put leader and one follower in a partition.
    let leader1 = t.check_one_leader().await?;
    t.disconnect((leader1 + 2) % servers);
    t.disconnect((leader1 + 3) % servers);
    t.disconnect((leader1 + 4) % servers);

    // Submit lots of commands that won't commit.
    for _ in 0..BACKUP_COMMANDS {
        t.start(leader1, &Command::random());
    }

    runtime::sleep(RAFT_ELECTION_TIMEOUT / 2).await;

    t.disconnect(leader1 % servers);
    t.disconnect((leader1 + 1) % servers);

    // Allow the other partition to recover.
    t.connect((leader1 + 2) % servers);
    t.connect((leader1 + 3) % servers);
    t.connect((leader1 + 4) % servers);

    // Lots of successful commands to the new group.
    for _ in 0..BACKUP_COMMANDS {
        t.one(Command::random(), 3, true).await?;
    }

    // Now another partitioned leader and one follower.
    let leader2 = t.check_one_leader().await?;
    let mut other = (leader1 + 2) % servers;
    if leader2 == other {
        other = (leader2 + 1) % servers;
    }
    t.disconnect(other);

    // Lots more commands that won't commit.
    for _ in 0..BACKUP_COMMANDS {
        t.start(leader2, &Command::random());
    }

    runtime::sleep(RAFT_ELECTION_TIMEOUT / 2).await;

    // Bring the original leader back to life.
    for i in 0..servers {
        t.disconnect(i);
    }
    t.connect(leader1 % servers);
    t.connect((leader1 + 1) % servers);
    t.connect(other);

    // Lots of successful commands to the new group.
    let healed = runtime::now();
    for k in 0..BACKUP_COMMANDS {
        t.one(Command::random(), 3, true).await?;
        if k == 0 {
            check_backup_speed(healed, "the old leader's side reconnected")?;
        }
    }

    // Now everyone.
    for i in 0..servers {
        t.connect(i);
    }
    let healed = runtime::now();
    t.one(Command::random(), servers, true).await?;
    check_backup_speed(healed, "every server reconnected")?;
    t.end()
}

/// [`backup`]'s check beyond the original: agreement came within [`BACKUP_HEAL_BUDGET`].
fn check_backup_speed(healed: labrpc::runtime::Instant, what: &str) -> Result<(), TestFailure> {
    let took = healed.elapsed();
    tracing::info!(
        target: "tester",
        topic = "test",
        "backup: first agreement {:.2}s after {what}",
        took.as_secs_f64()
    );
    if took > BACKUP_HEAL_BUDGET {
        fail!(
            "the first agreement after {what} took {:.1}s (at most {:?}): the leader backs up \
             too slowly over incorrect follower logs; skip a whole conflicting term per \
             AppendEntries round trip (the conflict hints), not one entry",
            took.as_secs_f64(),
            BACKUP_HEAL_BUDGET
        );
    }
    Ok(())
}

/// RPCs [`count`] allows to elect the first leader (Go: 30).
const COUNT_ELECTION_RPCS: u64 = 30;
/// Commands [`count`] waits for in each try (Go `iters`: 10).
const COUNT_ITERS: u64 = 10;
/// RPCs [`count`] allows for one idle second (Go: 3 × 20).
const COUNT_IDLE_RPCS: u64 = 3 * 20;

/// Go `TestCount3B`: at most 30 RPCs to elect the first leader, at most (10 + 1 + 3) × 3 = 42
/// to commit 11 commands started together, at most 60 in an idle second. Retries up to 5
/// times, 3 s apart, when the term changes.
pub(crate) async fn count<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 3;
    let mut t = Tester::<P>::new(servers, true);
    t.begin(title);

    let rpcs = |t: &Tester<P>| (0..servers).map(|j| t.rpc_count(j)).sum::<u64>();

    t.check_one_leader().await?;
    let total1 = rpcs(&t);
    if !(1..=COUNT_ELECTION_RPCS).contains(&total1) {
        fail!("too many or few RPCs ({total1}) to elect initial leader");
    }

    let mut total2 = 0;
    let mut success = false;
    'tries: for attempt in 0..TRIES {
        if attempt > 0 {
            // Give the solution some time to settle.
            runtime::sleep(RETRY_SLEEP).await;
        }

        let leader = t.check_one_leader().await?;
        let total1 = rpcs(&t);

        let Some((starti, term)) = t.start(leader, &Command::Int(1)) else {
            // Leader moved on really quickly.
            continue;
        };

        let mut cmds = Vec::new();
        for i in 1..COUNT_ITERS + 2 {
            let x = runtime::random_range(0..1 << 31);
            cmds.push(x);
            let Some((index1, term1)) = t.start(leader, &Command::Int(x)) else {
                // No longer the leader, so the term has changed.
                continue 'tries;
            };
            if term1 != term {
                // The term changed while starting.
                continue 'tries;
            }
            if starti + i != index1 {
                fail!("Start() failed");
            }
        }

        for i in 1..COUNT_ITERS + 1 {
            let expected = cmds[(i - 1) as usize];
            match t.wait(starti + i, servers, Some(term)).await? {
                None => continue 'tries,
                Some(cmd) if cmd.as_int() == Some(expected) => {}
                Some(cmd) => fail!(
                    "wrong value {cmd} committed for index {}; expected {cmds:?}",
                    starti + i
                ),
            }
        }

        let mut failed = false;
        total2 = 0;
        for j in 0..servers {
            if let Some((term_j, _)) = t.state_of(j) {
                if term_j != term {
                    // The term changed, so we can't expect low RPC counts.
                    failed = true;
                }
            }
            total2 += t.rpc_count(j);
        }
        if failed {
            continue 'tries;
        }

        let limit = (COUNT_ITERS + 1 + 3) * 3;
        if total2 - total1 > limit {
            fail!(
                "too many RPCs ({}) for {COUNT_ITERS} entries",
                total2 - total1
            );
        }
        success = true;
        break;
    }

    if !success {
        fail!("term changed too often");
    }

    runtime::sleep(RAFT_ELECTION_TIMEOUT).await;

    let total3 = rpcs(&t);
    if total3 - total2 > COUNT_IDLE_RPCS {
        fail!(
            "too many RPCs ({}) for 1 second of idleness",
            total3 - total2
        );
    }
    t.end()
}

/// Beyond the original: the situation of Figure 8 of the Raft paper, built step by step with
/// partitions instead of hoped for from random crashes (the original Figure 8 tests reach it only
/// by luck, and in the simulator, where replication to a connected peer takes no time, almost
/// never).
///
/// 1. Five peers agree on a first command; leader L1 and one follower A are cut off from the
///    other three, and L1 accepts `x` at index k, which only A receives.
/// 2. L1 and A are cut off; the other three elect a leader P, which is then isolated and accepts
///    `y` at index k in a later term; nobody else receives it.
/// 3. L1, A and P's two former followers reconnect (P stays away). Only L1 or A can win, and the
///    winner replicates `x` to a majority. Nothing may be committed at k: `x` is of an earlier
///    term, and the new leader has no entry of its own term (Figure 2: "a leader commits only
///    entries of its current term by counting replicas", §5.4.2).
/// 4. L1 and A go away and P returns: P's log is the most up to date, so P wins, replaces `x`
///    with `y` on the two others, and commits it with a new command. Had anyone applied `x`,
///    that would be a committed entry lost, which the tester's history also reports.
/// 5. Everyone reconnects and agrees.
pub(crate) async fn old_term_commit<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 5;
    let mut t = Tester::<P>::new(servers, true);
    t.begin(title);

    let first = t.one(Command::random(), servers, true).await?;

    // 1. The leader and one follower in a minority; the leader takes x at index k.
    let l1 = t.check_one_leader().await?;
    let a = (l1 + 1) % servers;
    let rest = [(l1 + 2) % servers, (l1 + 3) % servers, (l1 + 4) % servers];
    for i in rest {
        t.disconnect(i);
    }
    let x = Command::random();
    let Some((k, term_x)) = t.start(l1, &x) else {
        fail!("leader rejected Start()");
    };
    if k != first + 1 {
        fail!("expected index {}, got {k}", first + 1);
    }
    runtime::sleep(RAFT_ELECTION_TIMEOUT / 2).await;

    // 2. The other three elect P, which takes y at index k alone.
    t.disconnect(l1);
    t.disconnect(a);
    for i in rest {
        t.connect(i);
    }
    let p = t.check_one_leader().await?;
    let others: Vec<usize> = rest.iter().copied().filter(|&i| i != p).collect();
    for &i in &others {
        t.disconnect(i);
    }
    let y = Command::random();
    let Some((ky, term_y)) = t.start(p, &y) else {
        fail!("leader rejected Start()");
    };
    if ky != k {
        fail!("expected index {k}, got {ky}");
    }
    t.log(format_args!(
        "old_term_commit: S{l1} and S{a} hold {x} at index {k} (term {term_x}); S{p} holds {y} \
         there (term {term_y})"
    ));
    runtime::sleep(RAFT_ELECTION_TIMEOUT / 2).await;
    t.disconnect(p);

    // 3. L1, A and the two others: the winner has only x, of an earlier term, at k.
    t.connect(l1);
    t.connect(a);
    for &i in &others {
        t.connect(i);
    }
    let leader = t.check_one_leader().await?;
    runtime::sleep(2 * RAFT_ELECTION_TIMEOUT).await;
    let (n, _) = t.n_committed(k)?;
    if n > 0 {
        let (term_now, _) = t.state_of(leader).unwrap_or((0, false));
        fail!(
            "{n} committed index {k}, whose entry is from term {term_x}, while leader S{leader} \
             of term {term_now} had no entry of its own term: a leader may count replicas only \
             for entries of its current term (Figure 8 shows how such an entry can still be \
             overwritten)"
        );
    }

    // 4. P returns with the most up-to-date log and replaces x with y.
    t.disconnect(l1);
    t.disconnect(a);
    t.connect(p);
    t.one(Command::random(), 3, true).await?;
    match t.n_committed(k)? {
        (_, Some(got)) if got == y => {}
        (_, got) => fail!(
            "index {k} should hold {y}, the entry of the most up-to-date peer S{p}, but holds \
             {got:?}"
        ),
    }

    // 5. Everyone.
    t.connect(l1);
    t.connect(a);
    t.one(Command::random(), servers, true).await?;
    t.end()
}
