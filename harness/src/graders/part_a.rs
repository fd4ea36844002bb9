//! Part A: leader election and heartbeats (Go `TestInitialElection3A`, `TestReElection3A`,
//! `TestManyElections3A`), plus heartbeat-only stability, which the original only warns about.

use std::time::Duration;

use labrpc::runtime;

use super::{Body, Grader, GraderFuture, Origin};
use crate::fail;
use crate::tester::{Passed, Stats, TestFailure, Tester, RAFT_ELECTION_TIMEOUT};
use raftapi::Peer;

/// The original's non-fatal warning when `initial_election`'s term moves with no failures.
pub(crate) const TERM_CHANGED_WARNING: &str =
    "warning: term changed even though there were no failures";

/// The part-A tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Test {
    InitialElection,
    ReElection,
    ManyElections,
    HeartbeatStability,
}

/// The part-A graders, in the order the lab runs them.
pub(crate) const GRADERS: &[Grader] = &[
    Grader {
        name: "initial_election",
        part: "A",
        title: "Test (3A): initial election",
        description: "3 peers elect one leader, agree on its term, and keep it with no failures",
        origin: Origin::Original,
        body: Body::A(Test::InitialElection),
    },
    Grader {
        name: "re_election",
        part: "A",
        title: "Test (3A): election after network failure",
        description: "a new leader after the old one is cut off; no leader without a majority; \
                      stale leaders step down when the network heals",
        origin: Origin::Original,
        body: Body::A(Test::ReElection),
    },
    Grader {
        name: "many_elections",
        part: "A",
        title: "Test (3A): multiple elections",
        description: "7 peers keep electing one leader while 3 random peers are cut off, 9 times",
        origin: Origin::Original,
        body: Body::A(Test::ManyElections),
    },
    Grader {
        name: "heartbeat_stability",
        part: "A",
        title: "Beyond (3A): heartbeat-only stability",
        description: "with no failures, term and leader hold for 10 s and each follower gets at \
                      most 10 RPCs per second (3 and 5 peers)",
        origin: Origin::Beyond,
        body: Body::A(Test::HeartbeatStability),
    },
];

/// The body of part-A test `test` for peer type `P`.
pub(crate) fn body<P: Peer>(test: Test, title: &'static str) -> GraderFuture {
    match test {
        Test::InitialElection => Box::pin(initial_election::<P>(title)),
        Test::ReElection => Box::pin(re_election::<P>(title)),
        Test::ManyElections => Box::pin(many_elections::<P>(title)),
        Test::HeartbeatStability => Box::pin(heartbeat_stability::<P>(title)),
    }
}

/// How long a stable leader must keep its term in the stability grader.
const STABLE_PERIOD: Duration = Duration::from_secs(10);
/// How often the stability grader looks at the peers' states.
const STABLE_CHECK_EVERY: Duration = Duration::from_millis(250);
/// The most RPCs per second a follower may receive from a stable leader.
const MAX_FOLLOWER_RPCS_PER_SEC: f64 = 10.0;

/// Three peers elect a leader, agree on its term, and keep it with no failures.
///
/// A term that changes during the quiet two seconds only warns, as in the original (the warning is
/// part of the pass, shown with its stats line); `heartbeat_stability` fails it.
pub(crate) async fn initial_election<P: Peer>(title: &'static str) -> Result<Passed, TestFailure> {
    let mut t = Tester::<P>::new(3, true);
    t.begin(title);

    // Is a leader elected?
    t.check_one_leader().await?;

    // Sleep a bit so followers learn the election, then check that everyone agrees on the term.
    runtime::sleep(Duration::from_millis(50)).await;
    let term1 = t.check_terms()?;
    if term1 < 1 {
        fail!("term is {term1}, but should be at least 1");
    }

    // Does the leader and term stay the same without failures?
    runtime::sleep(2 * RAFT_ELECTION_TIMEOUT).await;
    let term2 = t.check_terms()?;
    let mut warnings = Vec::new();
    if term1 != term2 {
        // The original only warns here; the heartbeat_stability grader fails it.
        t.log(TERM_CHANGED_WARNING);
        warnings.push(TERM_CHANGED_WARNING.to_string());
    }

    // There should still be a leader.
    t.check_one_leader().await?;
    t.check_apply_errors()?;
    Ok(Passed {
        clusters: vec![t.stats()],
        warnings,
    })
}

/// A new leader after the old one is cut off; no leader without a majority; stale leaders step
/// down once the network heals.
pub(crate) async fn re_election<P: Peer>(title: &'static str) -> Result<Passed, TestFailure> {
    let servers = 3;
    let mut t = Tester::<P>::new(servers, true);
    t.begin(title);

    let leader1 = t.check_one_leader().await?;

    // If the leader disconnects, a new one should be elected.
    t.disconnect(leader1);
    t.check_one_leader().await?;

    // If the old leader rejoins, that shouldn't disturb the new leader; and the old leader
    // should switch to follower.
    t.reconnect(leader1).await?;
    let leader2 = t.check_one_leader().await?;

    // If there's no quorum, no new leader should be elected.
    t.disconnect(leader2);
    t.disconnect((leader2 + 1) % servers);
    runtime::sleep(2 * RAFT_ELECTION_TIMEOUT).await;

    // Check that the one connected server does not think it is the leader.
    t.check_no_leader()?;

    // If a quorum arises, it should elect a leader.
    t.reconnect((leader2 + 1) % servers).await?;
    t.check_one_leader().await?;

    // Re-join of the last node shouldn't prevent leader from existing.
    t.reconnect(leader2).await?;
    t.check_one_leader().await?;
    t.check_apply_errors()?;
    Ok(t.stats().into())
}

/// Seven peers keep electing one leader while three random peers are cut off, nine times.
pub(crate) async fn many_elections<P: Peer>(title: &'static str) -> Result<Passed, TestFailure> {
    let servers = 7;
    let mut t = Tester::<P>::new(servers, true);
    t.begin(title);

    t.check_one_leader().await?;

    let iters = 10;
    for _ in 1..iters {
        // Disconnect three nodes (they may repeat, as in the original).
        let pick = || runtime::random_range(0..servers as u64) as usize;
        let (i1, i2, i3) = (pick(), pick(), pick());
        t.disconnect(i1);
        t.disconnect(i2);
        t.disconnect(i3);

        // Either the current leader should still be alive, or the remaining four should elect
        // a new one.
        t.check_one_leader().await?;

        t.connect(i1);
        t.connect(i2);
        t.connect(i3);
        t.check_no_stale_leader().await?;
    }

    t.check_one_leader().await?;
    t.check_apply_errors()?;
    Ok(t.stats().into())
}

/// With no failures, once a leader is elected the term and the leader hold for ten seconds, and
/// each follower receives at most ten RPCs per second (counted by the network), for 3 and for 5
/// peers. Each cluster has its own stats line, as each would in the Go tester.
pub(crate) async fn heartbeat_stability<P: Peer>(
    title: &'static str,
) -> Result<Passed, TestFailure> {
    let mut passed = Passed::default();
    for servers in [3, 5] {
        passed
            .clusters
            .push(stable_cluster::<P>(title, servers).await?);
    }
    Ok(passed)
}

async fn stable_cluster<P: Peer>(
    title: &'static str,
    servers: usize,
) -> Result<Stats, TestFailure> {
    let mut t = Tester::<P>::new(servers, true);
    t.begin(&format!("{title} ({servers} peers)"));

    let leader = t.check_one_leader().await?;
    // Let every follower hear of the election before measuring.
    runtime::sleep(Duration::from_millis(50)).await;
    let term = t.check_terms()?;
    t.log(format_args!(
        "stability: S{leader} leads term {term}; watching for {STABLE_PERIOD:?}"
    ));
    let counts0: Vec<u64> = (0..servers).map(|i| t.rpc_count(i)).collect();
    let start = runtime::now();
    while start.elapsed() < STABLE_PERIOD {
        runtime::sleep(STABLE_CHECK_EVERY).await;
        for i in 0..servers {
            let Some((term_i, is_leader)) = t.state_of(i) else {
                continue;
            };
            if term_i != term {
                fail!(
                    "term changed from {term} to {term_i} (at server {i}) {:.1}s into a period \
                     with no failures: a follower's election timer fired although the leader \
                     was sending heartbeats",
                    start.elapsed().as_secs_f64()
                );
            }
            if is_leader != (i == leader) {
                fail!(
                    "leader changed from {leader} in term {term} with no failures \
                     (server {i} now says is_leader={is_leader})"
                );
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    for i in (0..servers).filter(|&i| i != leader) {
        let got = t.rpc_count(i) - counts0[i];
        let rate = got as f64 / secs;
        if rate > MAX_FOLLOWER_RPCS_PER_SEC {
            fail!(
                "follower {i} received {got} RPCs in {secs:.1}s ({rate:.1} per second) from a \
                 stable leader; heartbeats must be at most {MAX_FOLLOWER_RPCS_PER_SEC} per second"
            );
        }
    }
    t.check_apply_errors()?;
    Ok(t.stats())
}
