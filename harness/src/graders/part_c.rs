//! Part C: persistence (Go `TestPersist13C` … `TestUnreliableChurn3C`), step for step, with
//! the original's sleeps, peer counts and failure messages.
//!
//! Crashes are the tester's [`crash1`](Tester::crash1) (the peer's tasks die, its persisted
//! state is copied) and restarts its [`start1`](Tester::start1) followed by
//! [`connect`](Tester::connect) of **that peer only**. (The 2025 tester's restart reconnects
//! every server, which quietly heals partitions the test made; the 2024 and 2026 testers
//! reconnect only the restarted one, which is stricter.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::runtime;

use super::{one_cluster, Body, Grader, GraderFuture, Origin};
use crate::fail;
use crate::tester::{Command, Stats, TestFailure, Tester, TesterHandle, RAFT_ELECTION_TIMEOUT};
use raftapi::Peer;

/// The part-C tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Test {
    Persist1,
    Persist2,
    Persist3,
    Figure8,
    UnreliableAgree,
    Figure8Unreliable,
    ReliableChurn,
    UnreliableChurn,
}

/// The part-C graders, in the order the lab runs them.
pub(crate) const GRADERS: &[Grader] = &[
    Grader {
        name: "persist1",
        part: "C",
        title: "Test (3C): basic persistence",
        description: "agreement survives crashing and restarting all peers, the leader, and a \
                      follower",
        origin: Origin::Original,
        body: Body::C(Test::Persist1),
    },
    Grader {
        name: "persist2",
        part: "C",
        title: "Test (3C): more persistence",
        description: "5 rounds of crashing 2, then 3 of 5 peers and restarting them in stages",
        origin: Origin::Original,
        body: Body::C(Test::Persist2),
    },
    Grader {
        name: "persist3",
        part: "C",
        title: "Test (3C): partitioned leader and one follower crash, leader restarts",
        description: "a crashed leader and follower restart and rejoin a partitioned peer",
        origin: Origin::Original,
        body: Body::C(Test::Persist3),
    },
    Grader {
        name: "figure8",
        part: "C",
        title: "Test (3C): Figure 8",
        description: "1000 rounds of crashing the leader right after Start(); committed entries \
                      are never lost (Figure 8 of the paper)",
        origin: Origin::Original,
        body: Body::C(Test::Figure8),
    },
    Grader {
        name: "unreliable_agree",
        part: "C",
        title: "Test (3C): unreliable agreement",
        description: "245 commands agreed concurrently over a lossy, reordering network",
        origin: Origin::Original,
        body: Body::C(Test::UnreliableAgree),
    },
    Grader {
        name: "figure8_unreliable",
        part: "C",
        title: "Test (3C): Figure 8 (unreliable)",
        description: "1000 rounds of cutting off the leader on a lossy network with long \
                      reordering; agreement at the end",
        origin: Origin::Original,
        body: Body::C(Test::Figure8Unreliable),
    },
    Grader {
        name: "reliable_churn",
        part: "C",
        title: "Test (3C): churn",
        description: "3 clients submit while peers are disconnected, crashed and restarted at \
                      random; every value they saw committed stays committed",
        origin: Origin::Original,
        body: Body::C(Test::ReliableChurn),
    },
    Grader {
        name: "unreliable_churn",
        part: "C",
        title: "Test (3C): unreliable churn",
        description: "churn on a lossy network",
        origin: Origin::Original,
        body: Body::C(Test::UnreliableChurn),
    },
];

/// The body of part-C test `test` for peer type `P`.
pub(crate) fn body<P: Peer>(test: Test, title: &'static str) -> GraderFuture {
    match test {
        Test::Persist1 => one_cluster(persist1::<P>(title)),
        Test::Persist2 => one_cluster(persist2::<P>(title)),
        Test::Persist3 => one_cluster(persist3::<P>(title)),
        Test::Figure8 => one_cluster(figure8::<P>(title)),
        Test::UnreliableAgree => one_cluster(unreliable_agree::<P>(title)),
        Test::Figure8Unreliable => one_cluster(figure8_unreliable::<P>(title)),
        Test::ReliableChurn => one_cluster(churn::<P>(title, true)),
        Test::UnreliableChurn => one_cluster(churn::<P>(title, false)),
    }
}

/// Crashes peer `i`, restarts it from its persisted state and connects it.
fn restart<P: Peer>(t: &mut Tester<P>, i: usize) {
    t.start1(i);
    t.connect(i);
}

/// Go `TestPersist13C`: agreement survives crashing and restarting every peer, then the
/// leader, then (while a command is agreed without them) the next leader and a follower.
///
/// The 2024 test only disconnects the second leader while the others agree, and crashes it at
/// its restart; the 2025 test crashes it first. This follows 2025: the peer's tasks stop at once,
/// so nothing it did while cut off can hide a lost write.
pub(crate) async fn persist1<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 3;
    let mut t = Tester::<P>::new(servers, true);
    t.begin(title);

    t.one(11, servers, true).await?;

    // Crash and re-start all.
    for i in 0..servers {
        t.crash1(i);
    }
    for i in 0..servers {
        restart(&mut t, i);
    }

    t.one(12, servers, true).await?;

    let leader1 = t.check_one_leader().await?;
    restart(&mut t, leader1);

    t.one(13, servers, true).await?;

    let leader2 = t.check_one_leader().await?;
    t.crash1(leader2);

    t.one(14, servers - 1, true).await?;

    restart(&mut t, leader2);

    // Wait for leader2 to join before killing i3.
    t.wait(4, servers, None).await?;

    let i3 = (t.check_one_leader().await? + 1) % servers;
    t.crash1(i3);

    t.one(15, servers - 1, true).await?;

    restart(&mut t, i3);

    t.one(16, servers, true).await?;
    t.end()
}

/// Go `TestPersist23C`: five rounds of crashing two followers, agreeing without them, crashing
/// the other three, and restarting the peers in stages.
///
/// The 2024 test *disconnects* the peers and restarts only three of them (the leader and the
/// last follower merely reconnect); the 2025 test crashes all five and restarts all five. This
/// follows 2025, which is stricter: every peer must come back from its persisted state.
pub(crate) async fn persist2<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 5;
    let mut t = Tester::<P>::new(servers, true);
    t.begin(title);

    let mut index = 1;
    for _ in 0..5 {
        t.one(10 + index, servers, true).await?;
        index += 1;

        let leader1 = t.check_one_leader().await?;

        t.crash1((leader1 + 1) % servers);
        t.crash1((leader1 + 2) % servers);

        t.one(10 + index, servers - 2, true).await?;
        index += 1;

        t.crash1(leader1 % servers);
        t.crash1((leader1 + 3) % servers);
        t.crash1((leader1 + 4) % servers);

        restart(&mut t, (leader1 + 1) % servers);
        restart(&mut t, (leader1 + 2) % servers);

        runtime::sleep(RAFT_ELECTION_TIMEOUT).await;

        restart(&mut t, (leader1 + 3) % servers);

        t.one(10 + index, servers - 2, true).await?;
        index += 1;

        restart(&mut t, (leader1 + 4) % servers);
        restart(&mut t, leader1 % servers);
    }

    t.one(1000, servers, true).await?;
    t.end()
}

/// Go `TestPersist33C`: the leader and one follower crash while the third peer is cut off; the
/// third and the restarted leader must agree, then all three.
pub(crate) async fn persist3<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 3;
    let mut t = Tester::<P>::new(servers, true);
    t.begin(title);

    t.one(101, 3, true).await?;

    let leader = t.check_one_leader().await?;
    t.disconnect((leader + 2) % servers);

    t.one(102, 2, true).await?;

    t.crash1(leader % servers);
    t.crash1((leader + 1) % servers);
    t.connect((leader + 2) % servers);
    restart(&mut t, leader % servers);

    t.one(103, 2, true).await?;

    restart(&mut t, (leader + 1) % servers);

    t.one(104, servers, true).await?;
    t.end()
}

/// Rounds of the Figure 8 tests (Go: 1000).
const FIGURE8_ITERS: usize = 1000;
/// In one round of ten (Go: `rand % 1000 < 100`) the Figure 8 tests sleep up to half an election
/// timeout; otherwise up to 13 ms.
const FIGURE8_LONG_SLEEP_PER_MILLE: u64 = 100;
/// The short sleep's bound in the Figure 8 tests (Go: 13 ms).
const FIGURE8_SHORT_SLEEP_MS: u64 = 13;

/// The Figure 8 tests' sleep after each round of `Start()`s.
async fn figure8_sleep() {
    let ms = if runtime::random_range(0..1000) < FIGURE8_LONG_SLEEP_PER_MILLE {
        runtime::random_range(0..RAFT_ELECTION_TIMEOUT.as_millis() as u64 / 2)
    } else {
        runtime::random_range(0..FIGURE8_SHORT_SLEEP_MS)
    };
    runtime::sleep(Duration::from_millis(ms)).await;
}

/// Go `TestFigure83C`: 1000 rounds of offering a command to every live peer and crashing
/// whoever accepted it after a short random sleep, restarting a random peer whenever fewer
/// than three are up; then everyone restarts and five agree. Peers that commit an old term's
/// entry by counting replicas (the situation of Figure 8) lose committed entries here, which
/// the tester's history of applied values catches.
pub(crate) async fn figure8<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 5;
    let mut t = Tester::<P>::new(servers, true);
    t.begin(title);

    t.one(Command::random(), 1, true).await?;

    let mut nup = servers;
    for _ in 0..FIGURE8_ITERS {
        let mut leader = None;
        for i in 0..servers {
            if t.start(i, &Command::random()).is_some() {
                leader = Some(i);
            }
        }

        figure8_sleep().await;

        if let Some(leader) = leader {
            t.crash1(leader);
            nup -= 1;
        }

        if nup < 3 {
            let s = runtime::random_range(0..servers as u64) as usize;
            if !t.is_up(s) {
                restart(&mut t, s);
                nup += 1;
            }
        }
    }

    for i in 0..servers {
        if !t.is_up(i) {
            restart(&mut t, i);
        }
    }

    t.one(Command::random(), servers, true).await?;
    t.end()
}

/// Go `TestUnreliableAgree3C`: on an unreliable network, 49 rounds of four concurrent
/// `one(…, 1)` calls (tasks) and one more from the test; then the network turns reliable, the
/// tasks finish, and five agree.
pub(crate) async fn unreliable_agree<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 5;
    let mut t = Tester::<P>::new(servers, false);
    t.begin(title);

    let mut clients = Vec::new();
    for iters in 1..50u64 {
        for j in 0..4u64 {
            let h = t.handle();
            clients.push(runtime::spawn(async move {
                h.one(100 * iters + j, 1, true).await.map(|_| ())
            }));
        }
        t.one(iters, 1, true).await?;
    }

    t.set_reliable(true);

    for client in clients {
        match client.await {
            Ok(result) => result?,
            Err(e) => fail!("a task calling one() did not finish: {e}"),
        }
    }

    t.one(100, servers, true).await?;
    t.end()
}

/// The round of [`figure8_unreliable`] that turns long reordering on (Go: 200).
const LONG_REORDERING_FROM: usize = 200;
/// Commands of [`figure8_unreliable`] are drawn below this (Go: `rand.Int() % 10000`).
const FIGURE8_UNRELIABLE_CMD_RANGE: u64 = 10_000;

/// Go `TestFigure8Unreliable3C`: on an unreliable network (with long reordering from round
/// 200), 1000 rounds of offering a command to every peer and, half the time, cutting off
/// whoever connected peer accepted it; reconnecting a random peer whenever fewer than three
/// are connected; then everyone reconnects and five agree.
pub(crate) async fn figure8_unreliable<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let servers = 5;
    let mut t = Tester::<P>::new(servers, false);
    t.begin(title);

    let cmd = || Command::Int(runtime::random_range(0..FIGURE8_UNRELIABLE_CMD_RANGE));
    t.one(cmd(), 1, true).await?;

    let mut nup = servers;
    for iters in 0..FIGURE8_ITERS {
        if iters == LONG_REORDERING_FROM {
            t.set_long_reordering(true);
        }
        let mut leader = None;
        for i in 0..servers {
            if t.start(i, &cmd()).is_some() && t.is_connected(i) {
                leader = Some(i);
            }
        }

        figure8_sleep().await;

        if let Some(leader) = leader {
            if runtime::random_range(0..1000) < RAFT_ELECTION_TIMEOUT.as_millis() as u64 / 2 {
                t.disconnect(leader);
                nup -= 1;
            }
        }

        if nup < 3 {
            let s = runtime::random_range(0..servers as u64) as usize;
            if !t.is_connected(s) {
                t.connect(s);
                nup += 1;
            }
        }
    }

    for i in 0..servers {
        if !t.is_connected(i) {
            t.connect(i);
        }
    }

    t.one(cmd(), servers, true).await?;
    t.end()
}

/// Clients of the churn tests (Go: 3).
const CHURN_CLIENTS: usize = 3;
/// Rounds of changes in the churn tests (Go: 20).
const CHURN_ITERS: usize = 20;
/// How a churn client waits for its command to commit (Go: 10, 20, 50, 100, 200 ms).
const CHURN_POLLS_MS: [u64; 5] = [10, 20, 50, 100, 200];

/// One churn client (Go `cfn`): until stopped, offers a random command to every live peer
/// and, if one accepted it, watches its index for a while; returns the values it saw
/// committed where it put them.
async fn churn_client<P: Peer>(
    h: TesterHandle<P>,
    me: u64,
    stop: Arc<AtomicBool>,
) -> Result<Vec<u64>, TestFailure> {
    let mut values = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let x = runtime::random_range(0..1 << 62);
        let cmd = Command::Int(x);
        let mut index = None;
        for i in 0..h.n() {
            // Try them all; maybe one of them is a leader.
            if let Some((index1, _)) = h.start(i, &cmd) {
                index = Some(index1);
            }
        }
        match index {
            Some(index) => {
                // Maybe the leader will commit our value, maybe not; but don't wait forever.
                for to in CHURN_POLLS_MS {
                    let (nd, committed) = h.n_committed(index)?;
                    if nd > 0 {
                        match committed.as_ref().and_then(Command::as_int) {
                            Some(xx) if xx == x => values.push(x),
                            Some(_) => {}
                            None => fail!("wrong command type"),
                        }
                        break;
                    }
                    runtime::sleep(Duration::from_millis(to)).await;
                }
            }
            None => runtime::sleep(Duration::from_millis(79 + me * 17)).await,
        }
    }
    Ok(values)
}

/// Go `internalChurn` (`TestReliableChurn3C` and `TestUnreliableChurn3C`): three clients keep
/// submitting while, 20 times 0.7 s apart, a random peer may be disconnected, restarted and
/// connected, or crashed; then everything heals, five agree on every index, and every value a
/// client saw committed is among them.
pub(crate) async fn churn<P: Peer>(
    title: &'static str,
    reliable: bool,
) -> Result<Stats, TestFailure> {
    let servers = 5;
    let mut t = Tester::<P>::new(servers, reliable);
    t.begin(title);

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CHURN_CLIENTS as u64)
        .map(|me| runtime::spawn(churn_client(t.handle(), me, stop.clone())))
        .collect();

    let pick = || runtime::random_range(0..servers as u64) as usize;
    for _ in 0..CHURN_ITERS {
        if runtime::random_range(0..1000) < 200 {
            t.disconnect(pick());
        }
        if runtime::random_range(0..1000) < 500 {
            let i = pick();
            if !t.is_up(i) {
                t.start1(i);
            }
            t.connect(i);
        }
        if runtime::random_range(0..1000) < 200 {
            let i = pick();
            if t.is_up(i) {
                t.crash1(i);
            }
        }
        // Make crash/restart infrequent enough that the peers can often keep up, but not so
        // infrequent that everything has settled down from one change to the next.
        runtime::sleep(RAFT_ELECTION_TIMEOUT * 7 / 10).await;
    }

    runtime::sleep(RAFT_ELECTION_TIMEOUT).await;
    t.set_reliable(true);
    for i in 0..servers {
        if !t.is_up(i) {
            t.start1(i);
        }
        t.connect(i);
    }

    stop.store(true, Ordering::SeqCst);

    let mut values = Vec::new();
    for client in clients {
        match client.await {
            Ok(Ok(vv)) => values.extend(vv),
            Ok(Err(failure)) => return Err(failure),
            Err(e) => fail!("client failed: {e}"),
        }
    }

    runtime::sleep(RAFT_ELECTION_TIMEOUT).await;

    let last_index = t.one(Command::random(), servers, true).await?;

    let mut really = Vec::new();
    for index in 1..=last_index {
        match t.wait(index, servers, None).await? {
            Some(Command::Int(v)) => really.push(v),
            _ => fail!("not an int"),
        }
    }

    let really: std::collections::BTreeSet<u64> = really.into_iter().collect();
    for v1 in values {
        if !really.contains(&v1) {
            fail!(
                "didn't find a value ({v1}, which a client saw committed, is not among the \
                 {last_index} entries all servers applied at the end)"
            );
        }
    }
    t.end()
}
