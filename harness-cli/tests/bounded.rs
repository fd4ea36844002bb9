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

/// One failing churn seed: its page draws the RPCs near the failure and counts the others (it
/// was 3.4 MB, all 18,000 RPCs drawn), its bundle keeps the end of the log and says so (it was
/// 1 MB), and results.json names the bundle from its own folder.
#[test]
fn a_churn_failure_writes_a_bounded_page_and_bundle() {
    let dir = temp_dir("one");
    let out = dir.join("bundles");
    let json = dir.join("results.json");
    assert_eq!(run_churn("1", &out, &json, &[]), 1);

    let pages = files(&out, "html");
    let logs = files(&out, "log");
    assert_eq!((pages.len(), logs.len()), (1, 1), "one page and one bundle");
    let (page, page_len) = &pages[0];
    assert!(*page_len < 800_000, "the page is {page_len} bytes");
    let html = std::fs::read_to_string(page).expect("the page reads");
    assert!(
        html.contains("RPCs are drawn from "),
        "the page says which RPCs it draws"
    );
    // And counts the others, per window and pair of peers: `RPCs not drawn, 0.0s to 2.0s:
    // 2408 (S1→S0 553, S1→S2 622, ...)`, the counts adding up.
    let note = html
        .split("RPCs not drawn, 0.0s to ")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("a count of the RPCs not drawn");
    let (total, pairs) = note
        .split_once(": ")
        .and_then(|(_, counts)| counts.split_once(" ("))
        .expect("a total and the pairs");
    let total: u64 = total.parse().expect("a total");
    let mut sum = 0;
    for pair in pairs.trim_end_matches(')').split(", ") {
        let (peers, n) = pair.split_once(' ').expect("a pair and its count");
        assert!(peers.starts_with('S') && peers.contains("→S"), "{note}");
        sum += n.parse::<u64>().expect("a count");
    }
    assert_eq!(sum, total, "{note}");

    let (bundle, bundle_len) = &logs[0];
    let limit = harness_cli::bundle::BUNDLE_LOG_BYTES as u64;
    assert!(
        *bundle_len < limit + 16_384,
        "the bundle is {bundle_len} bytes"
    );
    let text = std::fs::read_to_string(bundle).expect("the bundle reads");
    let header = harness_cli::bundle::read_header(&text);
    let cut = header
        .iter()
        .find(|(k, _)| k == "log-cut")
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("the header says what was cut: {header:?}"));
    assert!(
        cut.starts_with("the log's first ")
            && cut.ends_with("the replay command shows the whole log"),
        "{cut}"
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("results.json")).expect("JSON");
    assert_eq!(
        report["tests"][0]["extra_data"]["failing_seeds"][0]["bundle"],
        "bundles/failed-reliable_churn-seed1.log"
    );
}
