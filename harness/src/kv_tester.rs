//! The 4B/4C tester (Go `kvraft1/test.go` on `tester1`): a group of key/value servers, each a
//! Raft peer with the service on one node; clerks on clients of their own, whose links
//! partitions never touch; the random partitioner; crash and restart of every server; the
//! size checks; the stats line; the linearizability checks of the recorded history.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kvapi::{Clnt, KvServer, Kvraft};
use labrpc::runtime::{self, Instant, JoinHandle};
use labrpc::{Network, Service};
use parking_lot::Mutex;
use raftapi::Peer;

use crate::group::{log_event, Group, GroupServer};
use crate::kv::{Checked, ClerkMaker, History, TestClerk, SIM_CALL_TIME, UNKNOWN_LINE};
use crate::tester::{server_name, Passed, Stats, TestFailure};

/// How long the partitioner keeps a partition at least (Go `ElectionTimeout`), before up to
/// [`PARTITION_JITTER_MS`] more.
const PARTITION_PERIOD: Duration = Duration::from_secs(1);
/// See [`PARTITION_PERIOD`].
const PARTITION_JITTER_MS: u64 = 200;

/// A submission's server as a member of the group.
pub struct KvSrv<K: Kvraft>(K::Server);

impl<K: Kvraft> GroupServer for KvSrv<K> {
    fn services(&self) -> Vec<Service> {
        self.0.services()
    }
    fn raft_state(&self) -> (u64, bool) {
        self.0.raft().get_state()
    }
    fn kill(&self) {
        self.0.kill();
    }
}

/// The tester of the key/value service `K`.
pub struct KvTester<K: Kvraft> {
    group: Arc<Group<KvSrv<K>>>,
    reliable: bool,
    max_raft_state: Option<usize>,
    history: Arc<History>,
    ops: Arc<AtomicU64>,
    next_client: AtomicU64,
    warnings: Mutex<Vec<String>>,
    title: String,
    t0: Instant,
    rpcs0: u64,
    ops0: u64,
    _service: PhantomData<K>,
}

/// The random partitioner (Go `Partitioner`), stopped by [`KvTester::stop_partitioner`].
pub struct Partitioner {
    stop: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl<K: Kvraft> KvTester<K> {
    /// `n` servers on a network reliable or not, each with `max_raft_state` (Go `MakeTest`).
    pub fn new(n: usize, reliable: bool, max_raft_state: Option<usize>) -> Self {
        let net = Network::new();
        net.set_reliable(reliable);
        let make = Box::new(move |ends, me, persister| {
            KvSrv::<K>(K::start_server(ends, me, persister, max_raft_state))
        });
        let group = Arc::new(Group::new(net, n, make));
        KvTester {
            group,
            reliable,
            max_raft_state,
            history: Arc::new(History::new()),
            ops: Arc::new(AtomicU64::new(0)),
            next_client: AtomicU64::new(0),
            warnings: Mutex::new(Vec::new()),
            title: String::new(),
            t0: runtime::now(),
            rpcs0: 0,
            ops0: 0,
            _service: PhantomData,
        }
    }

    /// Starts a test (Go `Begin`): `"<title> (<reliable|unreliable> network)..."`.
    pub fn begin(&mut self, title: &str) {
        self.title = title.to_string();
        let network = if self.reliable {
            "reliable"
        } else {
            "unreliable"
        };
        log_event(format_args!("begin: {title} ({network} network)"));
        self.t0 = runtime::now();
        self.rpcs0 = self.group.net().total_count();
        self.ops0 = self.ops.load(Ordering::Relaxed);
    }

    /// The group of servers.
    pub fn group(&self) -> &Arc<Group<KvSrv<K>>> {
        &self.group
    }

    /// Whether the network is reliable.
    pub fn is_reliable(&self) -> bool {
        self.reliable
    }

    /// The servers' names, as clerks are given them.
    pub fn server_names(&self) -> Vec<String> {
        (0..self.group.n()).map(server_name).collect()
    }

    /// A clerk whose client reaches only the servers `to` (Go `MakeClerkTo`); its client's
    /// [`connect_all`](Clnt::connect_all) lifts the limit.
    pub fn make_clerk_to(&self, to: &[usize]) -> TestClerk<K::Clerk> {
        let ck = self.make_clerk();
        let names: Vec<String> = to.iter().map(|&i| server_name(i)).collect();
        ck.clnt().only(&names);
        ck
    }

    /// Checks the history so far (Go `CheckPorcupine`): an unknown answer passes, as in the
    /// original, and is kept as a warning of the test.
    ///
    /// # Errors
    /// `history is not linearizable` with the checker's report.
    pub fn check_porcupine(&self) -> Result<(), TestFailure> {
        match self.history.check(crate::kv::CHECK_TIME)? {
            Checked::Linearizable => {}
            Checked::Unknown => {
                log_event(format_args!("{UNKNOWN_LINE}"));
                self.warnings.lock().push(UNKNOWN_LINE.to_string());
            }
        }
        Ok(())
    }

    /// The size checks after each iteration of a generic test: with snapshots the persisted
    /// Raft state within 8 × `maxraftstate`; without, no snapshot at all.
    pub fn check_sizes(&self) -> Result<(), TestFailure> {
        match self.max_raft_state {
            Some(max) => {
                let size = self.group.log_size();
                if size > 8 * max {
                    crate::fail!("logs were not trimmed ({size} > 8*{max})");
                }
            }
            None => {
                let size = self.group.snapshot_size();
                if size > 0 {
                    crate::fail!(
                        "snapshot too large ({size}), should not be used when maxraftstate = -1"
                    );
                }
            }
        }
        Ok(())
    }

    /// Starts the random partitioner (Go `Partitioner`): every 1000–1199 ms, each server joins
    /// one of two sides at random (so a side may be empty), until stopped.
    pub fn start_partitioner(&self) -> Partitioner {
        let stop = Arc::new(AtomicBool::new(false));
        let (group, halt) = (self.group.clone(), stop.clone());
        let task = runtime::spawn(async move {
            while !halt.load(Ordering::Relaxed) {
                let mut sides = (Vec::new(), Vec::new());
                for i in 0..group.n() {
                    if runtime::random_range(0..2) == 0 {
                        sides.0.push(i);
                    } else {
                        sides.1.push(i);
                    }
                }
                group.partition(&sides.0, &sides.1);
                let jitter = runtime::random_range(0..PARTITION_JITTER_MS);
                runtime::sleep(PARTITION_PERIOD + Duration::from_millis(jitter)).await;
            }
        });
        Partitioner { stop, task }
    }

    /// Stops the partitioner; it notices between partitions, so this may take ~1.2 s.
    pub async fn stop_partitioner(&self, p: Partitioner) {
        p.stop.store(true, Ordering::Relaxed);
        let _ = p.task.await;
    }

    /// Shuts every server down, waits an election timeout, and starts them all again (the
    /// generic tests' crash).
    pub async fn crash_and_restart(&self) {
        self.group.shutdown();
        runtime::sleep(crate::kv::kvtest::ELECTION_TIMEOUT).await;
        self.group.start_all();
    }

    /// The figures since [`begin`](Self::begin): `#Ops` counts the recorded calls.
    pub fn stats(&self) -> Stats {
        Stats {
            elapsed: self.t0.elapsed(),
            peers: self.group.n(),
            rpcs: self.group.net().total_count() - self.rpcs0,
            bytes: 0,
            commands: self.ops.load(Ordering::Relaxed) - self.ops0,
        }
    }

    /// Ends the test (Go `End`): its stats line and warnings.
    pub fn end(&self) -> Passed {
        let stats = self.stats();
        log_event(format_args!("end: {}{stats}", self.title));
        Passed {
            clusters: vec![stats],
            warnings: self.warnings.lock().clone(),
        }
    }
}

impl<K: Kvraft> std::ops::Deref for KvTester<K> {
    type Target = Group<KvSrv<K>>;
    fn deref(&self) -> &Group<KvSrv<K>> {
        &self.group
    }
}

impl<K: Kvraft> ClerkMaker for KvTester<K> {
    type Clerk = K::Clerk;

    fn make_clerk(&self) -> TestClerk<K::Clerk> {
        let id = self.next_client.fetch_add(1, Ordering::Relaxed);
        let clnt = Clnt::with_call_time(self.group.net(), format!("clnt-{id}"), SIM_CALL_TIME);
        let ck = K::make_clerk(clnt.clone(), &self.server_names());
        TestClerk::new(ck, clnt, self.history.clone(), self.ops.clone())
    }
}
