//! Lab 2's tester (Go `kvsrv1/test.go` on `tester1`): one key/value server on the network,
//! clients made on demand, the stats line, and the linearizability checks.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kvapi::{Clnt, Kvsrv};
use labrpc::runtime::{self, Instant, NodeId};
use labrpc::{Network, Server};
use parking_lot::Mutex;

use super::clerk::{ClerkMaker, TestClerk};
use super::history::{Checked, History, UNKNOWN_LINE};
use crate::tester::{Passed, Stats, TestFailure};

/// The name of Lab 2's one server (Go `tester.ServerName(GRP0, 0)`).
pub const SERVER: &str = "server-0-0";

/// Virtual time each client call takes in sim mode before it is sent ([`Clnt::with_call_time`]):
/// on the sim executor a call on a reliable network takes no time, and clients that race for a
/// second would never see it end. One millisecond gives about as many calls as the 2026
/// handout's staff run shows (11 021 RPCs in TestPutConcurrentReliable).
pub const SIM_CALL_TIME: Duration = Duration::from_millis(1);

/// Lab 2's tester for the service `K`: the server, its clients, the counters since
/// [`begin`](Self::begin), and the history of recorded calls.
pub struct KvsrvTester<K: Kvsrv> {
    net: Network,
    server_node: NodeId,
    reliable: bool,
    history: Arc<History>,
    ops: Arc<AtomicU64>,
    next_client: AtomicU64,
    warnings: Mutex<Vec<String>>,
    title: String,
    t0: Instant,
    rpcs0: u64,
    bytes0: u64,
    ops0: u64,
    _service: PhantomData<K>,
}

impl<K: Kvsrv> KvsrvTester<K> {
    /// A network, reliable or not, with one server started on a node of its own (Go
    /// `MakeConfig(t, 1, reliable, StartKVServer)`).
    pub fn new(reliable: bool) -> Self {
        let net = Network::new();
        net.set_reliable(reliable);
        let node = runtime::new_node_named(SERVER);
        let server = Server::on_node(node);
        // The service's code runs on its node: a task it spawns dies with the server.
        let services = runtime::enter_node(node, K::start_server);
        for service in services {
            let name = service.name().to_string();
            if let Err(e) = server.add_service(service) {
                tracing::error!(target: "tester", topic = "test", "service {name}: {e}");
            }
        }
        net.add_server(SERVER, server);
        KvsrvTester {
            net,
            server_node: node,
            reliable,
            history: Arc::new(History::new()),
            ops: Arc::new(AtomicU64::new(0)),
            next_client: AtomicU64::new(0),
            warnings: Mutex::new(Vec::new()),
            title: String::new(),
            t0: runtime::now(),
            rpcs0: 0,
            bytes0: 0,
            ops0: 0,
            _service: PhantomData,
        }
    }

    /// Starts a test (Go `Begin`): logs `"<title> (<reliable|unreliable> network)..."` and
    /// takes the counters.
    pub fn begin(&mut self, title: &str) {
        self.title = title.to_string();
        let network = if self.reliable {
            "reliable"
        } else {
            "unreliable"
        };
        tracing::info!(target: "tester", topic = "test", "begin: {title} ({network} network)");
        self.t0 = runtime::now();
        self.rpcs0 = self.net.total_count();
        self.bytes0 = self.net.total_bytes();
        self.ops0 = self.ops.load(Ordering::Relaxed);
    }

    /// Whether the network is reliable (Go `IsReliable`).
    pub fn is_reliable(&self) -> bool {
        self.reliable
    }

    /// The network.
    pub fn net(&self) -> &Network {
        &self.net
    }

    /// The server's node (whose allocations are the server's).
    pub fn server_node(&self) -> NodeId {
        self.server_node
    }

    /// The history of recorded calls.
    pub fn history(&self) -> &Arc<History> {
        &self.history
    }

    /// Checks the history with the original's limit (Go `CheckPorcupineT`); an unknown answer
    /// passes, as in the original, with its `info:` line kept as a warning of the test.
    ///
    /// # Errors
    /// `history is not linearizable` with the checker's report.
    pub fn check_porcupine(&self, limit: Duration) -> Result<(), TestFailure> {
        match self.history.check(limit)? {
            Checked::Linearizable => {}
            Checked::Unknown => {
                tracing::info!(target: "tester", topic = "test", "{UNKNOWN_LINE}");
                self.warnings.lock().push(UNKNOWN_LINE.to_string());
            }
        }
        Ok(())
    }

    /// The figures since [`begin`](Self::begin): `#peers` is 1 (the size of group 0, as the
    /// original prints it), `#Ops` the recorded calls.
    pub fn stats(&self) -> Stats {
        Stats {
            elapsed: self.t0.elapsed(),
            peers: 1,
            rpcs: self.net.total_count() - self.rpcs0,
            bytes: self.net.total_bytes() - self.bytes0,
            commands: self.ops.load(Ordering::Relaxed) - self.ops0,
        }
    }

    /// Ends the test (Go `End`): its stats line and the warnings it gathered.
    pub fn end(&self) -> Passed {
        let stats = self.stats();
        tracing::info!(target: "tester", topic = "test", "end: {}{stats}", self.title);
        Passed {
            clusters: vec![stats],
            warnings: self.warnings.lock().clone(),
        }
    }
}

impl<K: Kvsrv> ClerkMaker for KvsrvTester<K> {
    type Clerk = K::Clerk;

    fn make_clerk(&self) -> TestClerk<K::Clerk> {
        let id = self.next_client.fetch_add(1, Ordering::Relaxed);
        let clnt = Clnt::with_call_time(&self.net, format!("clnt-{id}"), SIM_CALL_TIME);
        let ck = K::make_clerk(clnt.clone(), SERVER);
        TestClerk::new(ck, clnt, self.history.clone(), self.ops.clone())
    }
}

impl<K: Kvsrv> Drop for KvsrvTester<K> {
    fn drop(&mut self) {
        self.net.cleanup();
    }
}
