//! The 4A tester (Go `kvraft1/rsm/test.go`): the tester itself plays the service above a
//! submission's [`Rsm`], with a counter state machine, on a group of three servers.
//!
//! Requests ([`CounterRequest`]): `Inc` adds one and returns the new count, `Null` does nothing,
//! and `Dec` must never be executed (the tests submit it only to a leader cut off in a minority,
//! whose entries are overwritten): a `Dec` that reaches the state machine fails the test with the
//! original's `DoOp should execute only Inc and not Dec` (Go `log.Fatalf`s the whole process).

use std::sync::Arc;
use std::time::Duration;

use labrpc::runtime::{self, Instant};
use labrpc::{Network, Service};
use parking_lot::Mutex;
use raftapi::rsm::{Rsm, StateMachine, SubmitError};
use raftapi::Peer;
use serde::{Deserialize, Serialize};

use crate::fail;
use crate::group::{log_event, Group, GroupServer};
use crate::tester::{Stats, TestFailure};

/// Servers in every 4A test (Go `NSRV`).
pub const NSRV: usize = 3;
/// How long [`RsmTester::one_partition`] keeps trying (Go `NSEC`).
pub const ONE_PARTITION_TIMEOUT: Duration = Duration::from_secs(10);
/// Its pause between sweeps of the servers.
const SWEEP_PAUSE: Duration = Duration::from_millis(50);
/// [`RsmTester::check_counter`]'s polls, and its first pause (doubled while under a second).
const CHECK_COUNTER_POLLS: usize = 30;
const CHECK_COUNTER_FIRST_SLEEP: Duration = Duration::from_millis(10);
const CHECK_COUNTER_MAX_SLEEP: Duration = Duration::from_secs(1);

/// A request of the tester's counter service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CounterRequest {
    /// Add one; the reply is the new count.
    Inc,
    /// Do nothing.
    Null,
    /// Must never be executed.
    Dec,
}

/// A reply of the counter service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CounterReply {
    /// The count after an `Inc` (Go `IncRep{N}`).
    Inc(u64),
    /// The reply to `Null`.
    Null,
}

/// The counter of one server's state machine, and the errors its state machine found (Go
/// `Fatalf`s them; here they fail the test at its next check).
#[derive(Debug, Default)]
struct Counter {
    n: u64,
    errors: Vec<String>,
}

/// The tester's state machine: a counter it can read from outside (Go `rsmSrv`).
struct CounterSm {
    me: usize,
    counter: Arc<Mutex<Counter>>,
}

impl StateMachine for CounterSm {
    fn do_op(&mut self, request: &[u8]) -> Vec<u8> {
        let mut c = self.counter.lock();
        let reply = match labrpc::codec::decode::<CounterRequest>(request) {
            Ok(CounterRequest::Inc) => {
                c.n += 1;
                CounterReply::Inc(c.n)
            }
            Ok(CounterRequest::Null) => CounterReply::Null,
            Ok(CounterRequest::Dec) => {
                c.errors.push(format!(
                    "server {}: DoOp should execute only Inc and not Dec (a request submitted \
                     only to a leader in a minority was executed)",
                    self.me
                ));
                CounterReply::Null
            }
            Err(e) => {
                c.errors.push(format!(
                    "server {}: DoOp got a request that does not decode: {e}",
                    self.me
                ));
                CounterReply::Null
            }
        };
        labrpc::codec::encode(&reply).expect("a counter reply encodes")
    }

    fn snapshot(&mut self) -> Vec<u8> {
        labrpc::codec::encode(&self.counter.lock().n).expect("a count encodes")
    }

    fn restore(&mut self, snapshot: &[u8]) {
        let mut c = self.counter.lock();
        match labrpc::codec::decode::<u64>(snapshot) {
            Ok(n) => c.n = n,
            Err(e) => c.errors.push(format!(
                "server {}: Restore got a snapshot that does not decode: {e}",
                self.me
            )),
        }
    }
}

/// One server of the 4A tests: the submission's rsm and the tester's counter under it.
pub struct RsmSrv<R: Rsm> {
    rsm: R,
    counter: Arc<Mutex<Counter>>,
}

impl<R: Rsm> GroupServer for RsmSrv<R> {
    fn services(&self) -> Vec<Service> {
        vec![self.rsm.raft().service()]
    }
    fn raft_state(&self) -> (u64, bool) {
        self.rsm.raft().get_state()
    }
    fn kill(&self) {
        self.rsm.kill();
    }
}

/// The 4A tester: a group of [`NSRV`] rsm servers, the last leader that answered, and the stats.
pub struct RsmTester<R: Rsm> {
    group: Arc<Group<RsmSrv<R>>>,
    leader: Arc<Mutex<usize>>,
    title: String,
    t0: Instant,
    rpcs0: u64,
    ops: Arc<Mutex<u64>>,
}

/// What the tasks spawned with a [`RsmTester::handle`] share: enough to submit and read.
pub struct RsmHandle<R: Rsm> {
    group: Arc<Group<RsmSrv<R>>>,
    leader: Arc<Mutex<usize>>,
    ops: Arc<Mutex<u64>>,
}

impl<R: Rsm> Clone for RsmHandle<R> {
    fn clone(&self) -> Self {
        RsmHandle {
            group: self.group.clone(),
            leader: self.leader.clone(),
            ops: self.ops.clone(),
        }
    }
}

impl<R: Rsm> RsmTester<R> {
    /// [`NSRV`] servers on a reliable network, each an rsm with `max_raft_state` (Go
    /// `makeTest(t, maxraftstate)`), and begins the test `title`.
    pub fn new(title: &str, max_raft_state: Option<usize>) -> RsmTester<R> {
        let net = Network::new();
        net.set_reliable(true);
        let make = Box::new(move |ends, me, persister| {
            let counter = Arc::new(Mutex::new(Counter::default()));
            let sm = CounterSm {
                me,
                counter: counter.clone(),
            };
            let rsm = R::make(ends, me, persister, max_raft_state, Box::new(sm));
            RsmSrv { rsm, counter }
        });
        let group = Arc::new(Group::new(net, NSRV, make));
        log_event(format_args!("begin: {title} (reliable network)"));
        let rpcs0 = group.net().total_count();
        RsmTester {
            group,
            leader: Arc::new(Mutex::new(0)),
            title: title.to_string(),
            t0: runtime::now(),
            rpcs0,
            ops: Arc::new(Mutex::new(0)),
        }
    }

    /// The group of servers.
    pub fn group(&self) -> &Group<RsmSrv<R>> {
        &self.group
    }

    /// A handle for spawned tasks.
    pub fn handle(&self) -> RsmHandle<R> {
        RsmHandle {
            group: self.group.clone(),
            leader: self.leader.clone(),
            ops: self.ops.clone(),
        }
    }

    /// The server that last answered a submit (Go `ts.leader`).
    pub fn leader(&self) -> usize {
        *self.leader.lock()
    }

    /// Ends the test (Go `Cleanup`/`End`): fails on what a state machine found, else the stats.
    pub fn end(&self) -> Result<Stats, TestFailure> {
        self.check_errors()?;
        let stats = Stats {
            elapsed: self.t0.elapsed(),
            peers: NSRV,
            rpcs: self.group.net().total_count() - self.rpcs0,
            bytes: 0,
            commands: *self.ops.lock(),
        };
        log_event(format_args!("end: {}{stats}", self.title));
        Ok(stats)
    }

    /// Fails with the first error any server's state machine found.
    pub fn check_errors(&self) -> Result<(), TestFailure> {
        for i in 0..NSRV {
            if let Some(s) = self.group.server(i) {
                if let Some(e) = s.counter.lock().errors.first() {
                    fail!("{e}");
                }
            }
        }
        Ok(())
    }

    /// Waits until `nsrv` servers that are up have counter `v` (Go `checkCounter`): 30 looks,
    /// 10 ms apart at first, doubling up to a second.
    pub async fn check_counter(&self, v: u64, nsrv: usize) -> Result<(), TestFailure> {
        let mut pause = CHECK_COUNTER_FIRST_SLEEP;
        let mut have = 0;
        for _ in 0..CHECK_COUNTER_POLLS {
            self.check_errors()?;
            have = (0..NSRV)
                .filter_map(|i| self.group.server(i))
                .filter(|s| s.counter.lock().n == v)
                .count();
            if have >= nsrv {
                return Ok(());
            }
            runtime::sleep(pause).await;
            if pause < CHECK_COUNTER_MAX_SLEEP {
                pause *= 2;
            }
        }
        fail!("checkCounter: only {have} srvs have {v} instead of {nsrv}")
    }
}

impl<R: Rsm> std::ops::Deref for RsmTester<R> {
    type Target = Group<RsmSrv<R>>;
    fn deref(&self) -> &Group<RsmSrv<R>> {
        &self.group
    }
}

impl<R: Rsm> RsmHandle<R> {
    /// Submits `req` until a server applies it (Go `onePartition`): sweeps the servers from the
    /// last leader, skipping those shut down, disconnected, or outside `p` when given, pausing
    /// 50 ms between sweeps, for up to 10 s. `None` when none applied it in that time.
    pub async fn one_partition(
        &self,
        p: Option<&[usize]>,
        req: CounterRequest,
    ) -> Option<CounterReply> {
        let bytes = labrpc::codec::encode(&req).expect("a counter request encodes");
        let deadline = runtime::now() + ONE_PARTITION_TIMEOUT;
        while runtime::now() < deadline {
            let first = *self.leader.lock();
            for k in 0..NSRV {
                let i = (first + k) % NSRV;
                if p.is_some_and(|p| !p.contains(&i)) || !self.group.is_connected(i) {
                    continue;
                }
                let Some(server) = self.group.server(i) else {
                    continue;
                };
                if let Ok(reply) = server.rsm.submit(bytes.clone()).await {
                    *self.leader.lock() = i;
                    *self.ops.lock() += 1;
                    return labrpc::codec::decode(&reply).ok();
                }
            }
            runtime::sleep(SWEEP_PAUSE).await;
        }
        None
    }

    /// One `Inc` through [`one_partition`](Self::one_partition): the new count. The original
    /// returns a nil (2025) or zero (2026) reply when no server applied it in 10 s, which the
    /// tests then dereference or compare; this fails with what happened instead.
    pub async fn one_inc(&self) -> Result<u64, TestFailure> {
        match self.one_partition(None, CounterRequest::Inc).await {
            Some(CounterReply::Inc(n)) => Ok(n),
            Some(other) => fail!("Inc returned {other:?}, not a count"),
            None => fail!(
                "no server applied Inc within {ONE_PARTITION_TIMEOUT:?} (every Submit returned \
                 ErrWrongLeader, or the servers are down)"
            ),
        }
    }

    /// Submits `req` straight to server `i`'s rsm (the tests' `ts.srvs[i].rsm.Submit`).
    pub async fn submit_to(&self, i: usize, req: CounterRequest) -> Result<CounterReply, String> {
        let server = self
            .group
            .server(i)
            .ok_or_else(|| format!("server {i} is shut down"))?;
        let bytes = labrpc::codec::encode(&req).expect("a counter request encodes");
        let reply = server
            .rsm
            .submit(bytes)
            .await
            .map_err(|e: SubmitError| e.to_string())?;
        labrpc::codec::decode(&reply).map_err(|e| e.to_string())
    }
}

impl<R: Rsm> std::ops::Deref for RsmHandle<R> {
    type Target = Group<RsmSrv<R>>;
    fn deref(&self) -> &Group<RsmSrv<R>> {
        &self.group
    }
}

impl<R: Rsm> RsmTester<R> {
    /// See [`RsmHandle::one_partition`].
    pub async fn one_partition(
        &self,
        p: Option<&[usize]>,
        req: CounterRequest,
    ) -> Option<CounterReply> {
        self.handle().one_partition(p, req).await
    }

    /// See [`RsmHandle::one_inc`].
    pub async fn one_inc(&self) -> Result<u64, TestFailure> {
        self.handle().one_inc().await
    }
}
