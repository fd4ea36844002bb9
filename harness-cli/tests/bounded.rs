//! What a run of a churn bug leaves on disk stays bounded: at most `--max-bundles` bundles and
//! pages per grader, each bundle's log cut to its end, each page drawing the RPCs near the
//! failure and counting the others, and a results.json that names each error once.
//!
//! The broken peer is the reference without persistence (`Amnesiac<raft::Raft>`): it fails
//! `reliable_churn` on every seed, after tens of seconds of crashes and thousands of RPCs.

use std::path::{Path, PathBuf};

#[path = "../../harness/tests/support/mod.rs"]
mod support;

use support::parts::Amnesiac;

type Forgetful = Amnesiac<raft::Raft>;

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("harness-cli-bounded-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

fn files(dir: &Path, ext: &str) -> Vec<(PathBuf, u64)> {
    let mut out: Vec<(PathBuf, u64)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == ext))
                .map(|p| {
                    let len = std::fs::metadata(&p).map_or(0, |m| m.len());
                    (p, len)
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Runs `harness run reliable_churn` with the forgetful peer; returns the exit code.
fn run_churn(runs: &str, out: &Path, json: &Path, extra: &[&str]) -> i32 {
    let mut args = vec![
        "harness",
        "run",
        "reliable_churn",
        "--runs",
        runs,
        "--jobs",
        "2",
        "--out",
        out.to_str().expect("utf-8"),
        "--json",
        json.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    harness_cli::main_from::<Forgetful, _, _>(args)
}

/// Prints the sizes of what a run of `LAB_BOUNDED_RUNS` (default 10) failing churn seeds
/// writes: `cargo test -p harness-cli --test bounded -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement: prints sizes, run by hand"]
fn measure_a_churn_failure_on_disk() {
    let runs = std::env::var("LAB_BOUNDED_RUNS").unwrap_or_else(|_| "10".into());
    let dir = temp_dir("measure");
    let out = dir.join("bundles");
    let json = dir.join("results.json");
    let code = run_churn(&runs, &out, &json, &[]);
    assert_eq!(code, 1, "the forgetful peer fails reliable_churn");
    let pages = files(&out, "html");
    let logs = files(&out, "log");
    let total: u64 = pages.iter().chain(&logs).map(|(_, n)| n).sum();
    for (p, n) in pages.iter().chain(&logs) {
        println!("{n:>10} {}", p.display());
    }
    println!(
        "{runs} seeds: {} pages (largest {} bytes), {} bundles (largest {} bytes), {} bytes in all; results.json {} bytes",
        pages.len(),
        pages.iter().map(|(_, n)| *n).max().unwrap_or(0),
        logs.len(),
        logs.iter().map(|(_, n)| *n).max().unwrap_or(0),
        total,
        std::fs::metadata(&json).map_or(0, |m| m.len())
    );
}
