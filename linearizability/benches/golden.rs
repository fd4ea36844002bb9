//! The checker's speed on the golden histories (`../shared/reference/linearizability-data`),
//! one thread, per file: the median time of one check (parsing excluded).
//!
//! Run with `cargo bench -p linearizability --bench golden`. Environment:
//!
//! - `LIN_BENCH_DATA`: the data folder (default: `shared/reference/linearizability-data` in
//!   the first folder above the crate that has it, i.e. `../shared/...` beside the repository);
//! - `LIN_BENCH_SECS`: how long to time each file at least (default 0.3 s; at least 3 runs);
//! - `LIN_BENCH_FILTER`: only files whose name contains this;
//! - `LIN_BENCH_WHOLE=0`: skip the key/value checks without partitioning;
//! - `PORCUPINE_BENCH`: a command that times the Go porcupine on the same files (called as
//!   `$PORCUPINE_BENCH [--no-partition] [--time-limit D] FILE`, printing
//!   `NAME<TAB>VERDICT<TAB>RUNS<TAB>MEDIAN_US`, run with `GOMAXPROCS=1`); when set, each
//!   file is timed by both, one after the other, and the table gets porcupine's time and
//!   the ratio. The driver is not part of this repository.
//!
//! The checks without partitioning (`--no-partition` in the table) run the key/value files
//! as one object; the 50-client ones run once with a 1 s time limit, to show that the check
//! answers (or gives up) promptly.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use linearizability::jepsen;
use linearizability::models::{CasRegisterModel, KvModel};
use linearizability::{Checker, Model, Operation, Verdict};

/// The wall clock: what a benchmark measures.
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

struct Timing {
    verdict: Verdict,
    steps: u64,
    runs: usize,
    median: Duration,
}

fn time_check<M>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    partition: bool,
    limit: Option<Duration>,
    min_time: Duration,
) -> Timing
where
    M: Model + Sync,
    M::Input: Sync,
    M::Output: Sync,
    M::State: Send,
{
    let mut checker = Checker::new(model).threads(1).partition(partition);
    if let Some(limit) = limit {
        checker = checker.time_limit(limit);
    }
    let mut times = Vec::new();
    let mut total = Duration::ZERO;
    let mut verdict = Verdict::Unknown;
    let mut steps = 0;
    let single = limit.is_some();
    while times.len() < 3 || total < min_time {
        let started = now();
        match checker.check(history) {
            Ok(result) => {
                verdict = result.verdict();
                steps = result.steps();
            }
            Err(e) => panic!("the golden history does not check: {e}"),
        }
        let took = started.elapsed();
        times.push(took);
        total += took;
        if single || took > Duration::from_secs(5) {
            break;
        }
    }
    times.sort();
    Timing {
        verdict,
        steps,
        runs: times.len(),
        median: times[times.len() / 2],
    }
}

/// Porcupine's median time (µs) and verdict on `file`, from the external driver.
fn porcupine(
    driver: &str,
    file: &Path,
    partition: bool,
    limit: Option<Duration>,
) -> Option<(String, f64)> {
    let mut command = Command::new(driver);
    command.env("GOMAXPROCS", "1");
    if !partition {
        command.arg("--no-partition");
    }
    if let Some(limit) = limit {
        command.arg(format!("--time-limit={}ms", limit.as_millis()));
    }
    let output = command.arg(file).output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = text.trim().split('\t').collect();
    Some((fields.get(1)?.to_string(), fields.get(3)?.parse().ok()?))
}

fn main() {
    // The data sits in shared/ beside the repository (or beside a folder above it).
    let data = std::env::var("LIN_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .ancestors()
                .map(|dir| dir.join("shared/reference/linearizability-data"))
                .find(|dir| dir.is_dir())
                .unwrap_or_else(|| PathBuf::from("../shared/reference/linearizability-data"))
        });
    let min_time = Duration::from_secs_f64(
        std::env::var("LIN_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0.3),
    );
    let filter = std::env::var("LIN_BENCH_FILTER").unwrap_or_default();
    let driver = std::env::var("PORCUPINE_BENCH").ok();
    let whole = std::env::var("LIN_BENCH_WHOLE").map_or(true, |v| v != "0");

    let mut files: Vec<PathBuf> = ["kv", "etcd"]
        .iter()
        .flat_map(|dir| {
            std::fs::read_dir(data.join(dir))
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "txt" || x == "log"))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .filter(|p| p.to_string_lossy().contains(&filter))
        .collect();
    files.sort();
    if files.is_empty() {
        eprintln!(
            "no golden files under {} (set LIN_BENCH_DATA to the linearizability-data folder)",
            data.display()
        );
        return;
    }

    println!(
        "{:<28} {:>16} {:>10} {:>6} {:>12} {:>12} {:>8}",
        "file", "verdict", "steps", "runs", "ours µs", "porcupine µs", "ratio"
    );
    let mut sum_ours = 0.0;
    let mut sum_go = 0.0;
    let mut etcd = (0.0, 0.0);
    let mut worst: f64 = 0.0;
    let mut row = |name: String, t: Timing, go: Option<(String, f64)>| {
        let ours = t.median.as_secs_f64() * 1e6;
        let (go_text, ratio_text) = match &go {
            Some((verdict, us)) => {
                let ratio = ours / us;
                worst = worst.max(ratio);
                sum_ours += ours;
                sum_go += us;
                if name.starts_with("etcd") {
                    etcd.0 += ours;
                    etcd.1 += us;
                }
                (
                    format!("{us:.1} {}", &verdict[..verdict.len().min(3)]),
                    format!("{ratio:.3}"),
                )
            }
            None => ("-".into(), "-".into()),
        };
        println!(
            "{:<28} {:>16} {:>10} {:>6} {:>12.1} {:>12} {:>8}",
            name,
            t.verdict.to_string(),
            t.steps,
            t.runs,
            ours,
            go_text,
            ratio_text
        );
    };

    for file in &files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(text) = std::fs::read_to_string(file) else {
            eprintln!("cannot read {}", file.display());
            continue;
        };
        let go = |partition, limit| {
            driver
                .as_deref()
                .and_then(|d| porcupine(d, file, partition, limit))
        };
        if name.ends_with(".log") {
            let history = match jepsen::register_history(&text, true) {
                Ok(h) => h,
                Err(e) => panic!("{name}: {e}"),
            };
            let t = time_check(&CasRegisterModel, &history, true, None, min_time);
            row(name, t, go(true, None));
        } else {
            let history = match jepsen::kv_history(&text) {
                Ok(h) => h,
                Err(e) => panic!("{name}: {e}"),
            };
            let t = time_check(&KvModel, &history, true, None, min_time);
            row(name.clone(), t, go(true, None));
            if !whole {
                continue;
            }
            // Without partitioning: the 50-client files get a 1 s limit and one run.
            let limit = name.contains("c50").then_some(Duration::from_secs(1));
            let t = time_check(&KvModel, &history, false, limit, min_time);
            row(format!("{name} --no-partition"), t, go(false, limit));
        }
    }
    if driver.is_some() {
        println!(
            "\nsums: all rows {:.1} ms ours, {:.1} ms porcupine ({:.3}); etcd {:.1} ms ours, {:.1} ms porcupine ({:.3}); worst row ratio {:.3}",
            sum_ours / 1e3,
            sum_go / 1e3,
            sum_ours / sum_go,
            etcd.0 / 1e3,
            etcd.1 / 1e3,
            etcd.0 / etcd.1,
            worst
        );
    }
}
