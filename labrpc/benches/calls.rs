//! Calls per second through the simulated network, with 1, 4 and 16 concurrent callers, on a
//! reliable and an unreliable network, under both executors.
//!
//! Run with `cargo bench -p labrpc --bench calls`. Each row runs for a fixed wall-clock budget
//! (`LABRPC_BENCH_SECS`, default 1.5 s). The handler is trivial (`u64 -> u64`), so the figures
//! are the cost of the network and the runtime themselves:
//!
//! - real executor: calls per second of wall time, as the Go `labrpc` would be measured;
//! - sim executor: simulated calls per second of *wall* time (how fast a test runs), plus how
//!   much virtual time passed.
//!
//! CPU time per call comes from the process's `utime + stime` in `/proc/self/stat` (Linux).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use labrpc::runtime::{self, Executor, RunConfig};
use labrpc::{Network, RpcError, Server, Service};

/// The Go labrpc on this machine kind (2 cores), reliable network: (callers, calls/s).
const GO_REFERENCE: [(usize, f64); 3] = [(1, 14_200.0), (4, 34_300.0), (16, 38_800.0)];
/// The Go labrpc's CPU time per call on this machine kind, in µs.
const GO_CPU_US: (f64, f64) = (50.0, 80.0);

/// Kernel clock ticks per second for `/proc/*/stat` (USER_HZ, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// The process's CPU time so far (user + system), if `/proc/self/stat` can be read.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name, field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64((utime + stime) / USER_HZ))
}

/// One row of the table.
struct Row {
    executor: Executor,
    reliable: bool,
    callers: usize,
    calls: u64,
    ok: u64,
    wall: Duration,
    cpu: Option<Duration>,
    virtual_time: Duration,
}

impl Row {
    fn rate(&self) -> f64 {
        self.calls as f64 / self.wall.as_secs_f64()
    }
    fn cpu_us_per_call(&self) -> Option<f64> {
        self.cpu
            .map(|c| c.as_secs_f64() * 1e6 / self.calls.max(1) as f64)
    }
}

/// Runs `callers` callers, each on its own end, for `budget` of wall time.
fn measure(executor: Executor, reliable: bool, callers: usize, budget: Duration) -> Row {
    let config = RunConfig {
        // A reliable sim network answers every call at the same virtual instant: that is
        // the point of the benchmark, not a busy loop.
        max_polls_per_instant: u64::MAX,
        // Nor is a virtual clock that stands still for the whole wall-clock budget.
        stalled_after: budget + Duration::from_secs(60),
        ..RunConfig::new(executor, 1).named(format!("bench-{executor}-{callers}"))
    };
    let outcome = runtime::run(config, move || async move {
        let net = Network::new();
        net.set_reliable(reliable);
        let mut svc = Service::new("Bench").expect("a good name");
        svc.handle("Echo", |x: u64| x.wrapping_add(1))
            .expect("a new method");
        let server = Server::new();
        server.add_service(svc).expect("a new service");
        net.add_server("server", server);

        let calls = Arc::new(AtomicU64::new(0));
        let ok = Arc::new(AtomicU64::new(0));
        let cpu0 = cpu_time();
        let virtual0 = runtime::now();
        // A bench measures wall time by design.
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        let tasks: Vec<_> = (0..callers)
            .map(|c| {
                let name = format!("caller-{c}");
                let end = net.make_end(name.as_str()).expect("a new end");
                net.connect(&name, "server").expect("the end exists");
                net.enable(&name, true).expect("the end exists");
                let calls = calls.clone();
                let ok = ok.clone();
                runtime::spawn(async move {
                    let mut x = c as u64;
                    while start.elapsed() < budget {
                        match end.call::<_, u64>("Bench.Echo", &x).await {
                            Ok(y) => {
                                x = y;
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(
                                RpcError::RequestDropped { .. } | RpcError::ReplyDropped { .. },
                            ) => {}
                            Err(e) => panic!("benchmark call failed: {e}"),
                        }
                        calls.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("the caller finishes");
        }
        let wall = start.elapsed();
        let cpu = cpu_time().zip(cpu0).map(|(b, a)| b.saturating_sub(a));
        Row {
            executor,
            reliable,
            callers,
            calls: calls.load(Ordering::Relaxed),
            ok: ok.load(Ordering::Relaxed),
            wall,
            cpu,
            virtual_time: runtime::now() - virtual0,
        }
    });
    match outcome {
        Ok(o) => o.value,
        Err(e) => panic!("benchmark run failed: {e}"),
    }
}

fn main() {
    let budget = std::env::var("LABRPC_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .map_or(Duration::from_millis(1500), Duration::from_secs_f64);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "labrpc calls benchmark: u64 -> u64 handler, one end per caller, {:.1} s per row, \
         {cpus} CPUs",
        budget.as_secs_f64()
    );

    // Warm up (thread start-up, allocator) without recording.
    measure(Executor::Real, true, 1, budget / 5);

    let plan: &[(Executor, bool, &[usize])] = &[
        (Executor::Real, true, &[1, 4, 16]),
        (Executor::Real, false, &[1, 4, 16, 256]),
        (Executor::Sim, true, &[1, 4, 16]),
        (Executor::Sim, false, &[1, 4, 16]),
    ];
    let mut rows = Vec::new();
    for (executor, reliable, callers) in plan {
        for &n in *callers {
            rows.push(measure(*executor, *reliable, n, budget));
        }
    }
    let baseline = rows
        .iter()
        .find(|r| r.executor == Executor::Real && r.reliable && r.callers == 1)
        .map_or(1.0, Row::rate);

    println!();
    println!(
        "{:<5} {:<10} {:>7} {:>9} {:>11} {:>9} {:>7} {:>12} {:>11}  note",
        "exec",
        "network",
        "callers",
        "calls",
        "calls/s",
        "vs base",
        "ok %",
        "CPU µs/call",
        "virtual s"
    );
    for r in &rows {
        let note = match (r.executor, r.reliable) {
            (Executor::Real, false) if r.callers < 256 => {
                "latency-bound: 0-26 ms real delay per call"
            }
            (Executor::Real, false) => "enough callers to hide the delays",
            (Executor::Real, true) if r.callers == 1 => "baseline",
            (Executor::Sim, _) => "simulated calls per wall second",
            _ => "",
        };
        println!(
            "{:<5} {:<10} {:>7} {:>9} {:>11.0} {:>8.2}x {:>7.1} {:>12} {:>11}  {note}",
            r.executor.to_string(),
            if r.reliable { "reliable" } else { "unreliable" },
            r.callers,
            r.calls,
            r.rate(),
            r.rate() / baseline,
            100.0 * r.ok as f64 / r.calls.max(1) as f64,
            r.cpu_us_per_call()
                .map_or_else(|| "n/a".to_string(), |us| format!("{us:.1}")),
            match r.executor {
                Executor::Sim => format!("{:.1}", r.virtual_time.as_secs_f64()),
                Executor::Real => "-".to_string(),
            },
        );
    }

    println!();
    let go: Vec<String> = GO_REFERENCE
        .iter()
        .enumerate()
        .map(|(i, (n, rate))| match i {
            0 => format!("{rate:.0} calls/s with {n} caller"),
            _ => format!("{rate:.0} with {n}"),
        })
        .collect();
    println!(
        "Go labrpc reference (this machine kind, reliable network): {}; {:.0}-{:.0} µs CPU per call",
        go.join(", "),
        GO_CPU_US.0,
        GO_CPU_US.1
    );
    for (n, go) in GO_REFERENCE {
        for executor in [Executor::Real, Executor::Sim] {
            if let Some(r) = rows
                .iter()
                .find(|r| r.executor == executor && r.reliable && r.callers == n)
            {
                println!(
                    "  {executor:<4} reliable, {n:>2} caller{}: {:>9.0} calls/s = {:>5.2}x Go",
                    if n == 1 { " " } else { "s" },
                    r.rate(),
                    r.rate() / go
                );
            }
        }
    }
}
