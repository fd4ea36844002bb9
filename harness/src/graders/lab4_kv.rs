//! Parts 4B and 4C: the key/value service on Raft and its snapshots (Go
//! `kvraft1/kvraft_test.go`, 2025–2026, with the reliability flags as fixed on 2025-04-15).
//!
//! The generic test runs 3 iterations of clients racing conditional puts for 1 s (on one key, or
//! on 100 random keys), with the partitioner, crashes of every server, the size checks and a
//! linearizability check of the whole history so far after each iteration.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::join;
use kvapi::{KvError, Kvraft};
use labrpc::runtime;

use super::{Body, Grader, GraderFuture, Lab4Inner, Lab4Test, Origin};
use crate::fail;
use crate::kv::kvtest::{
    check_get, check_put_concurrent, make_keys, one_client_put, put_at_least_once,
    spawn_clients_and_wait, ClntRes, ELECTION_TIMEOUT,
};
use crate::kv::{ClerkMaker, TESTER_CLIENT};
use crate::kv_tester::KvTester;
use crate::tester::{Passed, TestFailure};

/// The 4B and 4C tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Test {
    Generic(Generic),
    Speed(Option<usize>),
    OnePartition,
    SnapshotRpc,
    SnapshotSize,
}

/// The parameters of a generic test (Go `MakeTest`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Generic {
    nclients: usize,
    nservers: usize,
    reliable: bool,
    crash: bool,
    partitions: bool,
    max_raft_state: Option<usize>,
    random_keys: bool,
}

/// Iterations of a generic test (Go `NITER`).
const NITER: usize = 3;
/// How long the clients run in each iteration (Go `NSEC`).
const NSEC: Duration = Duration::from_secs(1);
/// Keys of the random-keys tests (Go `NKEYS`).
const NKEYS: usize = 100;
/// `maxraftstate` of the snapshot tests.
const MAXRAFTSTATE: usize = 1000;
/// Puts of the speed tests.
const SPEED_OPS: u64 = 1000;
/// The speed tests' budget per op: three ops per 100-ms heartbeat (Go `timePerOp`).
const TIME_PER_OP: Duration = Duration::from_nanos(33_333_333);

const fn g(
    nclients: usize,
    nservers: usize,
    reliable: bool,
    crash: bool,
    partitions: bool,
    max_raft_state: Option<usize>,
    random_keys: bool,
) -> Body {
    Body::Lab4(Lab4Test(Lab4Inner::Kv(Test::Generic(Generic {
        nclients,
        nservers,
        reliable,
        crash,
        partitions,
        max_raft_state,
        random_keys,
    }))))
}

const fn special(test: Test) -> Body {
    Body::Lab4(Lab4Test(Lab4Inner::Kv(test)))
}

const SNAP: Option<usize> = Some(MAXRAFTSTATE);

macro_rules! grader {
    ($name:literal, $part:literal, $title:literal, $desc:literal, $body:expr) => {
        Grader {
            name: $name,
            part: $part,
            title: $title,
            description: $desc,
            origin: Origin::Original,
            body: $body,
        }
    };
}

/// The 4B graders, then the 4C ones, in the order the lab runs them.
pub(crate) const GRADERS: &[Grader] = &[
    grader!("kv_basic", "4B", "Test (4B): one client (basic)", "one client's conditional puts, checked for linearizability", g(1, 5, true, false, false, None, false)),
    grader!("kv_speed", "4B", "Test (4B): ops complete fast enough (speed)", "1000 sequential puts in at most 33.3 ms each", special(Test::Speed(None))),
    grader!("kv_concurrent", "4B", "Test (4B): many clients", "5 clients racing for one key on a reliable network", g(5, 5, true, false, false, None, false)),
    grader!("kv_unreliable", "4B", "Test (4B): many clients, unreliable net", "5 clients racing for one key on an unreliable network", g(5, 5, false, false, false, None, false)),
    grader!("kv_one_partition", "4B", "Test (4B): progress in majority", "a majority makes progress while the leader's minority makes none, and the minority's ops complete after healing", special(Test::OnePartition)),
    grader!("kv_many_partitions_one_client", "4B", "Test (4B): partitions, one client", "one client while the servers are partitioned at random", g(1, 5, true, false, true, None, false)),
    grader!("kv_many_partitions_many_clients", "4B", "Test (4B): partitions, many clients", "5 clients while the servers are partitioned at random", g(5, 5, true, false, true, None, false)),
    grader!("kv_persist_one_client", "4B", "Test (4B): restarts, one client", "one client with every server restarted after each iteration", g(1, 5, true, true, false, None, false)),
    grader!("kv_persist_concurrent", "4B", "Test (4B): restarts, many clients", "5 clients with every server restarted after each iteration", g(5, 5, true, true, false, None, false)),
    grader!("kv_persist_concurrent_unreliable", "4B", "Test (4B): restarts, many clients, unreliable net", "5 clients, restarts, unreliable network", g(5, 5, false, true, false, None, false)),
    grader!("kv_persist_partition", "4B", "Test (4B): restarts, partitions, many clients", "5 clients, restarts, random partitions", g(5, 5, true, true, true, None, false)),
    grader!("kv_persist_partition_unreliable", "4B", "Test (4B): restarts, partitions, many clients, unreliable net", "5 clients, restarts, random partitions, unreliable network", g(5, 5, false, true, true, None, false)),
    grader!("kv_persist_partition_unreliable_linearizable", "4B", "Test (4B): restarts, partitions, random keys, many clients", "15 clients on 100 random keys, 7 servers, restarts, partitions, unreliable network", g(15, 7, false, true, true, None, true)),
    grader!("kv_snapshot_rpc", "4C", "Test (4C): InstallSnapshot RPC", "a server cut off while the majority snapshots catches up from a snapshot", special(Test::SnapshotRpc)),
    grader!("kv_snapshot_size", "4C", "Test (4C): snapshot size is reasonable", "800 sequential ops keep the Raft state under 8000 bytes and the snapshot under 500", special(Test::SnapshotSize)),
    grader!("kv_speed_snapshots", "4C", "Test (4C): ops complete fast enough, snapshots (speed)", "1000 sequential puts in at most 33.3 ms each, with snapshots", special(Test::Speed(SNAP))),
    grader!("kv_snapshot_recover", "4C", "Test (4C): restarts, snapshots, one client", "one client, restarts, snapshots", g(1, 5, true, true, false, SNAP, false)),
    grader!("kv_snapshot_recover_many_clients", "4C", "Test (4C): restarts, snapshots, many clients", "20 clients, restarts, snapshots", g(20, 5, true, true, false, SNAP, false)),
    grader!("kv_snapshot_unreliable", "4C", "Test (4C): unreliable net, snapshots, many clients", "5 clients, unreliable network, snapshots", g(5, 5, false, false, false, SNAP, false)),
    grader!("kv_snapshot_unreliable_recover", "4C", "Test (4C): unreliable net, restarts, snapshots, many clients", "5 clients, unreliable network, restarts, snapshots", g(5, 5, false, true, false, SNAP, false)),
    grader!("kv_snapshot_unreliable_recover_partition", "4C", "Test (4C): unreliable net, restarts, partitions, snapshots, many clients", "5 clients, unreliable network, restarts, partitions, snapshots", g(5, 5, false, true, true, SNAP, false)),
    grader!("kv_snapshot_unreliable_recover_partition_linearizable", "4C", "Test (4C): unreliable net, restarts, partitions, snapshots, random keys, many clients", "15 clients on 100 random keys, 7 servers, restarts, partitions, unreliable network, snapshots", g(15, 7, false, true, true, SNAP, true)),
];

/// The body of `test` over the submission's service `K`.
pub(crate) fn body_of<K: Kvraft>(test: Test, title: &'static str) -> GraderFuture {
    Box::pin(async move {
        match test {
            Test::Generic(p) => generic::<K>(p, title).await,
            Test::Speed(max) => speed::<K>(max, title).await,
            Test::OnePartition => one_partition::<K>(title).await,
            Test::SnapshotRpc => snapshot_rpc::<K>(title).await,
            Test::SnapshotSize => snapshot_size::<K>(title).await,
        }
    })
}

/// Go `GenericTest` (2025+; see the module docs).
async fn generic<K: Kvraft>(p: Generic, title: &'static str) -> Result<Passed, TestFailure> {
    let mut ts = KvTester::<K>::new(p.nservers, p.reliable, p.max_raft_state);
    ts.begin(title);
    let ck = ts.make_clerk();
    let keys = if p.random_keys {
        make_keys(NKEYS)
    } else {
        vec!["k".to_string()]
    };
    let keys = Arc::new(keys);
    // Every iteration's counts: the key's version counts the puts of all of them (Go's `res`).
    let mut all_rs: Vec<ClntRes> = Vec::new();
    for _ in 0..NITER {
        let clients = {
            let keys = keys.clone();
            spawn_clients_and_wait(&ts, p.nclients, NSEC, move |me, ck, done| {
                let keys = keys.clone();
                async move { one_client_put(me, &ck, &keys, p.random_keys, &done).await }
            })
        };
        let partitioner = async {
            if p.partitions {
                runtime::sleep(ELECTION_TIMEOUT).await;
                Some(ts.start_partitioner())
            } else {
                None
            }
        };
        let (rs, partitioner) = join(clients, partitioner).await;
        all_rs.extend(rs?);
        ts.check_porcupine()?;
        if let Some(partitioner) = partitioner {
            ts.stop_partitioner(partitioner).await;
            ts.connect_all();
            runtime::sleep(ELECTION_TIMEOUT).await;
        }
        if p.crash {
            ts.crash_and_restart().await;
        }
        if !p.random_keys {
            let reliable = p.reliable && !p.crash && !p.partitions;
            check_put_concurrent(&ck, &keys[0], &all_rs, reliable).await?;
        }
        ts.check_sizes()?;
    }
    Ok(ts.end())
}

/// Go `GenericTestSpeed` (4B without snapshots, 4C with): 1000 sequential puts, each at most
/// [`TIME_PER_OP`] on average.
async fn speed<K: Kvraft>(max: Option<usize>, title: &'static str) -> Result<Passed, TestFailure> {
    let mut ts = KvTester::<K>::new(3, true, max);
    ts.begin(title);
    let ck = ts.make_clerk();
    // Waits for a leader.
    let _ = ck.get(TESTER_CLIENT, "x").await;
    let start = runtime::now();
    for i in 0..SPEED_OPS {
        if let Err(e) = ck.put(TESTER_CLIENT, "k", &i.to_string(), i).await {
            fail!("Put err {e}");
        }
    }
    let dur = start.elapsed();
    match ck.get(TESTER_CLIENT, "k").await {
        Err(e) => fail!("Get err {e}"),
        Ok(got) if got.version != SPEED_OPS => fail!("Get too few ops {}", got.version),
        Ok(_) => {}
    }
    let per_op = dur / SPEED_OPS as u32;
    if per_op > TIME_PER_OP {
        fail!("Operations completed too slowly {per_op:?}/op > {TIME_PER_OP:?}/op");
    }
    Ok(ts.end())
}

/// Go `TestOnePartition4B` (unreliable network): progress in the majority, none in the
/// leader's minority, and the minority's put installed after healing.
async fn one_partition<K: Kvraft>(title: &'static str) -> Result<Passed, TestFailure> {
    let mut ts = KvTester::<K>::new(5, false, None);
    let ck = ts.make_clerk();
    let ver0 = put_at_least_once(&ck, "1", "13", 0, TESTER_CLIENT).await?;
    ts.begin(title);
    let leader = match ts.leader() {
        Some(l) => l,
        None => fail!("no leader after a put completed"),
    };
    let (p1, p2) = ts.make_partition(leader);
    ts.partition(&p1, &p2);
    let ckp1 = ts.make_clerk_to(&p1);
    let ckp2a = Arc::new(ts.make_clerk_to(&p2));
    let ckp2b = Arc::new(ts.make_clerk_to(&p2));
    let ver1 = put_at_least_once(&ckp1, "1", "14", ver0, TESTER_CLIENT).await?;
    check_get(&ckp1, "1", "14", ver1).await?;

    log_section("Test: no progress in minority (4B)");
    let (put_done, get_done) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let put = {
        let (ck, done) = (ckp2a.clone(), put_done.clone());
        runtime::spawn(async move {
            let reply = ck.put(TESTER_CLIENT, "1", "15", ver1).await;
            done.store(true, Ordering::Relaxed);
            reply
        })
    };
    let get = {
        let (ck, done) = (ckp2b.clone(), get_done.clone());
        runtime::spawn(async move {
            let reply = ck.get(TESTER_CLIENT, "1").await;
            done.store(true, Ordering::Relaxed);
            reply
        })
    };
    runtime::sleep(Duration::from_secs(1)).await;
    if put_done.load(Ordering::Relaxed) {
        fail!("Put in minority completed with version = {ver1}");
    }
    if get_done.load(Ordering::Relaxed) {
        fail!("Get in minority completed with version = {ver1}");
    }
    check_get(&ckp1, "1", "14", ver1).await?;
    let ver2 = put_at_least_once(&ckp1, "1", "16", ver1, TESTER_CLIENT).await?;
    check_get(&ckp1, "1", "16", ver2).await?;

    log_section("Test: completion after heal (4B)");
    ts.connect_all();
    ckp2a.clnt().connect_all();
    ckp2b.clnt().connect_all();
    runtime::sleep(ELECTION_TIMEOUT).await;
    // The original waits up to 3 s for the put, and checks the get without waiting (a `select`
    // with a `default`); here both get the 3 s it meant.
    let waited = runtime::timeout(Duration::from_secs(3), put).await;
    let put_reply = match waited {
        Ok(Ok(reply)) => reply,
        Ok(Err(e)) => fail!("the minority's Put task ended: {e}"),
        Err(_) => fail!("Put did not complete"),
    };
    match runtime::timeout(Duration::from_secs(3), get).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => fail!("the minority's Get task ended: {e}"),
        Err(_) => fail!("Get did not complete"),
    }
    // The minority's put was issued at version ver1, which "16" has since taken: it answers
    // ErrVersion or ErrMaybe, and is retried as the original's PutAtLeastOnce does.
    let ver3 = match put_reply {
        Ok(()) => ver1 + 1,
        Err(KvError::ErrVersion | KvError::ErrMaybe) => {
            put_at_least_once(&ckp2a, "1", "15", ver2, TESTER_CLIENT).await?
        }
        Err(e) => fail!("Put 1 ver {ver1} err {e}"),
    };
    check_get(&ck, "1", "15", ver3).await?;
    Ok(ts.end())
}

/// Logs a section title of a test that has several (Go prints each with `Begin`).
fn log_section(title: &str) {
    tracing::info!(target: "tester", topic = "test", "{title}");
}

/// Go `TestSnapshotRPC4C`: a server cut off while the majority snapshots catches up,
/// normally through InstallSnapshot.
async fn snapshot_rpc<K: Kvraft>(title: &'static str) -> Result<Passed, TestFailure> {
    let mut ts = KvTester::<K>::new(3, true, Some(MAXRAFTSTATE));
    ts.begin(title);
    let ck = ts.make_clerk();
    let me = TESTER_CLIENT;
    let va = put_at_least_once(&ck, "a", "A", 0, me).await?;
    check_get(&ck, "a", "A", va).await?;

    ts.partition(&[0, 1], &[2]);
    let ck1 = ts.make_clerk_to(&[0, 1]);
    for i in 0..50 {
        let key = i.to_string();
        put_at_least_once(&ck1, &key, &key, 0, me).await?;
    }
    runtime::sleep(ELECTION_TIMEOUT).await;
    let vb = put_at_least_once(&ck1, "b", "B", 0, me).await?;
    let size = ts.log_size();
    if size > 8 * MAXRAFTSTATE {
        fail!("logs were not trimmed ({size} > 8*{MAXRAFTSTATE})");
    }

    // Server 2 must catch up from the majority's snapshot.
    ts.partition(&[0, 2], &[1]);
    let ck2 = ts.make_clerk_to(&[0, 2]);
    let vc = put_at_least_once(&ck2, "c", "C", 0, me).await?;
    let vd = put_at_least_once(&ck2, "d", "D", 0, me).await?;
    check_get(&ck2, "a", "A", va).await?;
    check_get(&ck2, "b", "B", vb).await?;
    check_get(&ck2, "1", "1", 1).await?;
    check_get(&ck2, "49", "49", 1).await?;

    ts.partition(&[0, 1, 2], &[]);
    let ve = put_at_least_once(&ck, "e", "E", 0, me).await?;
    check_get(&ck, "c", "C", vc).await?;
    check_get(&ck, "e", "E", ve).await?;
    check_get(&ck, "1", "1", 1).await?;
    let _ = vd;
    Ok(ts.end())
}

/// Go `TestSnapshotSize4C`: 800 sequential ops keep the persisted Raft state within 8 ×
/// `maxraftstate` and the snapshot within 500 bytes.
async fn snapshot_size<K: Kvraft>(title: &'static str) -> Result<Passed, TestFailure> {
    const MAX_SNAPSHOT_STATE: usize = 500;
    let mut ts = KvTester::<K>::new(3, true, Some(MAXRAFTSTATE));
    ts.begin(title);
    let ck = ts.make_clerk();
    let mut ver = 0;
    for _ in 0..200 {
        ver = put_at_least_once(&ck, "x", "0", ver, TESTER_CLIENT).await?;
        check_get(&ck, "x", "0", ver).await?;
        ver = put_at_least_once(&ck, "x", "1", ver, TESTER_CLIENT).await?;
        check_get(&ck, "x", "1", ver).await?;
    }
    let size = ts.log_size();
    if size > 8 * MAXRAFTSTATE {
        fail!("logs were not trimmed ({size} > 8*{MAXRAFTSTATE})");
    }
    let snap = ts.snapshot_size();
    if snap > MAX_SNAPSHOT_STATE {
        fail!("snapshot too large ({snap} > {MAX_SNAPSHOT_STATE})");
    }
    Ok(ts.end())
}
