//! Helpers shared by the integration tests: running a test body under both executors, and the
//! "junk server" of the original Go labrpc tests.
//!
//! Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use labrpc::runtime::{self, Executor, RunConfig, RunOutcome};
use labrpc::{ClientEnd, Network, Server, Service};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Virtual-time limit of a sim run: generous, since virtual time is free, but it turns a hang
/// into a failure that names the seed.
pub const SIM_LIMIT: Duration = Duration::from_secs(600);

/// Run-time limit of a real run (wall clock). Every real-mode test here needs a few seconds
/// at most; the limit only turns a hang into a failure.
pub const REAL_LIMIT: Duration = Duration::from_secs(60);

/// The configuration these tests use for `executor` and `seed`.
pub fn config(executor: Executor, name: &str, seed: u64) -> RunConfig {
    let limit = match executor {
        Executor::Sim => SIM_LIMIT,
        Executor::Real => REAL_LIMIT,
    };
    RunConfig::new(executor, seed)
        .named(format!("{name}[{executor}]"))
        .time_limit(limit)
}

/// Runs the body that `make` builds once on the sim executor and once on the real one. A failed
/// assertion inside the body fails the run; the panic here names the executor and the seed.
pub fn on_both<M, F>(name: &str, seed: u64, make: M)
where
    M: Fn() -> F + Clone + Send + 'static,
    F: Future<Output = ()> + 'static,
{
    for executor in [Executor::Sim, Executor::Real] {
        let make = make.clone();
        if let Err(e) = runtime::run(config(executor, name, seed), make) {
            panic!("{name} failed on the {executor} executor: {e}");
        }
    }
}

/// Runs the body on the sim executor and returns its outcome.
pub fn on_sim<M, F, T>(name: &str, seed: u64, make: M) -> RunOutcome<T>
where
    M: FnOnce() -> F + Send + 'static,
    F: Future<Output = T> + 'static,
    T: Send + 'static,
{
    match runtime::run(config(Executor::Sim, name, seed), make) {
        Ok(outcome) => outcome,
        Err(e) => panic!("{name} failed on the sim executor: {e}"),
    }
}

/// Whether the running test is on the sim executor, where timing is exact and may be asserted.
pub fn is_sim() -> bool {
    runtime::executor() == Executor::Sim
}

/// Waits (in steps of 1 ms of run time) until `cond` holds; fails the test after 10 s. Lets a
/// real-mode test wait for a step instead of guessing how long it takes on a loaded machine.
pub async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let start = runtime::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "gave up after 10 s waiting until {what}"
        );
        runtime::sleep(Duration::from_millis(1)).await;
    }
}

/// Milliseconds of run time since `start`.
pub fn ms_since(start: runtime::Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).expect("a test run lasts less than 2^64 ms")
}

/// Struct arguments (the Go tests' "pointer args" handler takes a struct).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JunkArgs {
    pub x: i64,
}

/// Struct reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JunkReply {
    pub x: String,
}

/// What the junk server's handlers saw.
#[derive(Clone, Default)]
pub struct JunkLog {
    /// Arguments of every `Handler1` call, in arrival order.
    pub log1: Arc<Mutex<Vec<String>>>,
    /// Arguments of every `Handler2` call, in arrival order.
    pub log2: Arc<Mutex<Vec<u64>>>,
}

/// The original tests' `JunkServer` as a service:
/// - `Handler1(String) -> i64`: parses a number (-1 if it is not one);
/// - `Handler2(u64) -> String`: `"handler2-N"`, logging N;
/// - `Handler3(i64) -> i64`: sleeps 20 s of run time, then returns `-N`;
/// - `Handler4(JunkArgs) -> JunkReply`: `"struct"` (Go: pointer args);
/// - `Handler5(i64) -> JunkReply`: `"plain"` (Go: value args);
/// - `Handler6(String) -> u64`: the string's length;
/// - `Handler7(u64) -> String`: N `y`s.
pub fn junk_service() -> (Service, JunkLog) {
    let log = JunkLog::default();
    let mut svc = Service::new("JunkServer").expect("JunkServer is a good service name");
    let log1 = log.log1.clone();
    let log2 = log.log2.clone();
    svc.handle("Handler1", move |s: String| {
        log1.lock().push(s.clone());
        s.parse::<i64>().unwrap_or(-1)
    })
    .expect("a new method")
    .handle("Handler2", move |n: u64| {
        log2.lock().push(n);
        format!("handler2-{n}")
    })
    .expect("a new method")
    .handle_async("Handler3", |n: i64| async move {
        runtime::sleep(Duration::from_secs(20)).await;
        -n
    })
    .expect("a new method")
    .handle("Handler4", |_args: JunkArgs| JunkReply {
        x: "struct".to_string(),
    })
    .expect("a new method")
    .handle("Handler5", |_args: i64| JunkReply {
        x: "plain".to_string(),
    })
    .expect("a new method")
    .handle("Handler6", |s: String| s.len() as u64)
    .expect("a new method")
    .handle("Handler7", |n: u64| "y".repeat(n as usize))
    .expect("a new method");
    (svc, log)
}

/// A server with only the junk service, on the current node.
pub fn junk_server() -> (Server, JunkLog) {
    let (svc, log) = junk_service();
    let server = Server::new();
    server
        .add_service(svc)
        .expect("a fresh server has no services");
    (server, log)
}

/// Makes end `end`, connects it to `server` and enables it.
pub fn connected_end(net: &Network, end: &str, server: &str) -> ClientEnd {
    let e = net.make_end(end).expect("end names in a test are unique");
    net.connect(end, server).expect("the end was just made");
    net.enable(end, true).expect("the end was just made");
    e
}

/// A network with a junk server called `server` and an enabled end `end` connected to it.
pub fn junk_network(server: &str, end: &str) -> (Network, ClientEnd, JunkLog) {
    let net = Network::new();
    let (srv, log) = junk_server();
    net.add_server(server, srv);
    let e = connected_end(&net, end, server);
    (net, e, log)
}
