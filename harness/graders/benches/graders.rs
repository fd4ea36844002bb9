//! What a simulated trial costs: the reference peer run through each part's graders in sim
//! mode, with the safety monitor on and off, as CPU time per seed and per RPC.
//!
//! ```text
//! cargo bench -p harness --bench graders                 # parts A-D, the default seeds
//! cargo bench -p harness --bench graders -- B C --seeds 40
//! ```
//!
//! Each part's row runs every grader of the part (the original's and those beyond it) over
//! the same seeds, once with the monitor and once without, one trial at a time on this thread's
//! runtime, and reads the process's CPU time (`utime + stime` of `/proc/self/stat`, Linux) around
//! each pass. "Per RPC" divides by the RPCs the tester counted (the `#RPCs` of the stats lines,
//! requests sent including those to disconnected peers). A failing trial is reported and stops
//! the bench: the figures are only meaningful for passing runs.

// The bench times whole passes from outside any run, on the wall clock.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use harness::graders::{self, Grader};
use harness::trial::{run_trial, TrialSettings};

/// Kernel clock ticks per second for `/proc/*/stat` (USER_HZ, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// Seeds per part when `--seeds` is not given: enough for about a second of CPU per row.
const DEFAULT_SEEDS: [(&str, u64); 4] = [("A", 200), ("B", 100), ("C", 8), ("D", 40)];

/// The process's CPU time so far (user + system), if `/proc/self/stat` can be read.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64((utime + stime) / USER_HZ))
}

/// One pass over a part's graders and seeds.
struct Pass {
    cpu: Duration,
    wall: Duration,
    rpcs: u64,
    trials: u64,
}

fn pass(graders: &[Grader], seeds: std::ops::RangeInclusive<u64>, monitor: bool) -> Pass {
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    let (mut rpcs, mut trials) = (0, 0);
    for g in graders {
        for seed in seeds.clone() {
            let mut settings = TrialSettings::sim(seed);
            settings.monitor = monitor;
            let report = run_trial::<raft::Raft>(*g, &settings);
            match &report.outcome {
                Ok(passed) => rpcs += passed.clusters.iter().map(|s| s.rpcs).sum::<u64>(),
                Err(e) => {
                    eprintln!("{} seed {seed} failed: {e}", g.name);
                    std::process::exit(1);
                }
            }
            trials += 1;
        }
    }
    let cpu = match (cpu0, cpu_time()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => wall0.elapsed(),
    };
    Pass {
        cpu,
        wall: wall0.elapsed(),
        rpcs,
        trials,
    }
}

fn main() {
    let mut parts: Vec<String> = Vec::new();
    let mut seeds: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seeds" => {
                seeds = args.next().and_then(|s| s.parse().ok());
                if seeds.is_none_or(|s| s == 0) {
                    eprintln!("--seeds takes a positive number");
                    std::process::exit(2);
                }
            }
            // `cargo bench` passes `--bench`; nothing else is ours.
            "--bench" => {}
            p if p.starts_with('-') => {
                eprintln!("unknown flag {p}; usage: graders [PART...] [--seeds N]");
                std::process::exit(2);
            }
            p => parts.push(p.trim_start_matches('3').to_ascii_uppercase()),
        }
    }
    if parts.is_empty() {
        parts = DEFAULT_SEEDS.iter().map(|(p, _)| p.to_string()).collect();
    }
    println!(
        "{:<5} {:>7} {:>6} {:>12} {:>12} {:>9} {:>10} {:>11} {:>11}",
        "part",
        "graders",
        "seeds",
        "cpu/seed on",
        "cpu/seed off",
        "monitor",
        "RPCs/seed",
        "µs/RPC on",
        "µs/RPC off"
    );
    for part in &parts {
        let graders: Vec<Grader> = graders::all()
            .iter()
            .filter(|g| g.part == part.as_str())
            .copied()
            .collect();
        if graders.is_empty() {
            eprintln!("no part {part:?}");
            std::process::exit(2);
        }
        let n = seeds.unwrap_or_else(|| {
            DEFAULT_SEEDS
                .iter()
                .find(|(p, _)| p == part)
                .map_or(10, |(_, n)| *n)
        });
        // Off first, then on, so that a warm-up effect would favour the monitor, not hide it.
        let off = pass(&graders, 1..=n, false);
        let on = pass(&graders, 1..=n, true);
        let per_seed = |p: &Pass| p.cpu.as_secs_f64() * 1e3 / n as f64;
        let per_rpc = |p: &Pass| p.cpu.as_secs_f64() * 1e6 / p.rpcs.max(1) as f64;
        println!(
            "{:<5} {:>7} {:>6} {:>10.1}ms {:>10.1}ms {:>8.1}% {:>10} {:>11.2} {:>11.2}",
            part,
            graders.len(),
            n,
            per_seed(&on),
            per_seed(&off),
            (on.cpu.as_secs_f64() / off.cpu.as_secs_f64().max(1e-9) - 1.0) * 100.0,
            on.rpcs / n,
            per_rpc(&on),
            per_rpc(&off),
        );
        let _ = (on.wall, on.trials, off.wall, off.trials);
    }
}
