//! The timeline page in a real browser: headless Chromium loads the page of a failing seed of
//! a broken peer and the test reads, from the DOM the page's script built, that the lanes are
//! there (one per peer), the failure marker sits at the failure's time on the axis, zoom, pan,
//! hover and hiding a peer work, and no script error happened.
//!
//! Chromium is Debian's `chromium` package (`.ci/run` installs it); `LAB_CHROMIUM` names
//! another binary. Without one the tests print why they did nothing and pass, except under CI
//! (`CI` set), where a missing browser fails them.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use std::time::Duration;

use harness::graders;
use harness::logs::Capture;
use harness::tester::{TestFailure, Tester};
use harness::timeline::history::{Clock, History};
use harness::timeline::model::{RpcOutcome, RpcRecord};
use harness::timeline::{self, html};
use harness::trial::{run_trial, TrialError, TrialReport, TrialSettings};
use labrpc::runtime::{self, Executor, RunConfig, TraceSummary};
use serde_json::Value;
use support::log_peer::{AppliesOutOfOrder, ForgetsLog, LogPeer};
use support::snap_peer::{ForgetsSnapshotOnRestart, SnapPeer};
use support::{ChattyHeartbeats, DoubleVote, NoTimerReset, ToyPeer};

/// The seed of the README's screenshot (double votes elect two leaders on it, after a few
/// rounds of disconnections).
const SCREENSHOT_SEED: u64 = 13;

/// The most a browser run may take before `timeout` ends it.
const BROWSER_LIMIT_SECS: &str = "120";

/// Where the pages and the browser's profiles go.
fn scratch(name: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "timeline-{}-{}-{name}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("the test's scratch folder can be made");
    dir
}

/// Whether this is a CI run (`CI` set to anything but empty, `0` or `false`).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// The Chromium binary: `LAB_CHROMIUM`, or the first of the usual names on `PATH`.
fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("LAB_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
    .find(|candidate| candidate.is_file())
}

/// The browser, or `None` after saying why the test does nothing (outside CI only).
fn chromium_or_skip(test: &str) -> Option<PathBuf> {
    match find_chromium() {
        Some(path) => Some(path),
        None if in_ci() => panic!(
            "{test}: no Chromium found (install Debian's `chromium` package, as .ci/run does, or \
             set LAB_CHROMIUM); CI must run the browser tests"
        ),
        None => {
            eprintln!(
                "{test}: SKIPPED: no Chromium found (install Debian's `chromium` package or set \
                 LAB_CHROMIUM to run the browser tests; under CI a missing browser fails)"
            );
            None
        }
    }
}

/// Runs headless Chromium on `url` with `extra` flags and a fresh profile; returns stdout.
fn chromium(browser: &Path, url: &str, extra: &[String]) -> String {
    let profile = scratch("profile");
    let out = Command::new("timeout")
        .arg(BROWSER_LIMIT_SECS)
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} through `timeout`: {e}", browser.display()));
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.status.success(),
        "{} ended with {} (124: it ran past {BROWSER_LIMIT_SECS}s)\nstderr:\n{}",
        browser.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The page's DOM after its scripts ran (and, with `#selftest`, after the self-test).
fn dump_dom(browser: &Path, page: &Path, fragment: &str) -> String {
    let url = format!("file://{}{fragment}", page.display());
    // Virtual time lets the page's animation frames run before the DOM is dumped.
    chromium(
        browser,
        &url,
        &[
            "--window-size=1280,800".to_string(),
            "--virtual-time-budget=10000".to_string(),
            "--dump-dom".to_string(),
        ],
    )
}

/// The text of the element with `id` (which holds JSON, so has no markup).
fn element_text<'a>(dom: &'a str, tag: &str, id: &str) -> &'a str {
    let open = format!("<{tag} id=\"{id}\"");
    let start = dom
        .find(&open)
        .unwrap_or_else(|| panic!("no #{id} in the page's DOM:\n{}", head(dom)));
    let body = &dom[start..];
    let text_start = body.find('>').expect("the element's tag closes") + 1;
    let text_end = body.find(&format!("</{tag}>")).expect("the element closes");
    &body[text_start..text_end]
}

/// Undoes the HTML escaping of element text.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn json_of(dom: &str, id: &str) -> Value {
    let text = unescape(element_text(dom, "pre", id));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("#{id} is not JSON ({e}): {text}"))
}

/// The opening tag of the element with `id`.
fn tag_of<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the page's DOM"));
    let open = dom[..start].rfind('<').expect("inside a tag");
    let close = start + dom[start..].find('>').expect("the tag closes");
    &dom[open..=close]
}

/// The opening tags of the peers' lane labels, in order.
fn peer_labels(dom: &str) -> Vec<&str> {
    dom.match_indices("<div class=\"lane-label")
        .map(|(i, _)| &dom[i..=i + dom[i..].find('>').expect("the tag closes")])
        .filter(|tag| tag.contains(" data-peer=\""))
        .collect()
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

fn head(text: &str) -> &str {
    &text[..text.len().min(2000)]
}

/// Asserts the page ran its script to the end without an error.
fn assert_no_script_errors(dom: &str) {
    let errors = tag_of(dom, "errors");
    assert_eq!(
        attribute(errors, "data-count"),
        Some("0"),
        "the page reported script errors:\n{}",
        unescape(element_text(dom, "pre", "errors"))
    );
    assert!(
        dom.contains("data-ready=\"1\""),
        "the page's script did not finish drawing:\n{}",
        head(dom)
    );
}

/// A failing seed of the broken peer, with its records.
fn failing_trial() -> TrialReport {
    let grader = graders::by_name("heartbeat_stability").expect("a part-A grader");
    let report = run_trial::<ToyPeer<NoTimerReset>>(
        grader,
        &TrialSettings::sim(1).without_monitor().with_timeline(),
    );
    assert!(
        matches!(&report.outcome, Err(TrialError::Check(f)) if f.message.contains("term changed")),
        "the broken peer must fail heartbeat_stability on seed 1, got {:?}",
        report.outcome
    );
    report
}

fn write(page_html: &str, name: &str) -> PathBuf {
    let path = scratch("page").join(name);
    std::fs::write(&path, page_html).expect("the page can be written");
    path
}

#[test]
fn the_page_of_a_failing_seed_shows_its_peers_and_the_failure_at_its_time() {
    let Some(browser) = chromium_or_skip("timeline_browser") else {
        return;
    };
    // Part A: the first cluster (of three) fails; the second never starts.
    assert_failure_page(
        &browser,
        &failing_trial(),
        "heartbeat_stability-seed1.html",
        3,
    );
    // Part C: crashes, restarts and the apply index (three peers).
    let grader = graders::by_name("persist1").expect("a part-C grader");
    let report = run_trial::<LogPeer<ForgetsLog>>(
        grader,
        &TrialSettings::sim(1).without_monitor().with_timeline(),
    );
    assert!(
        report.outcome.is_err(),
        "a peer that forgets its log fails persist1"
    );
    assert_failure_page(&browser, &report, "persist1-seed1.html", 3);
    // Part B: entries applied out of order, with the apply index of every peer.
    let grader = graders::by_name("concurrent_starts").expect("a part-B grader");
    let report = run_trial::<LogPeer<AppliesOutOfOrder>>(
        grader,
        &TrialSettings::sim(1).without_monitor().with_timeline(),
    );
    assert!(
        report.outcome.is_err(),
        "applying out of order fails concurrent_starts"
    );
    assert_failure_page(&browser, &report, "concurrent_starts-seed1.html", 3);
    // Part D: a peer that forgets its snapshot when it restarts.
    let grader = graders::by_name("snapshot_init").expect("a part-D grader");
    let report = run_trial::<SnapPeer<raft::Raft, ForgetsSnapshotOnRestart>>(
        grader,
        &TrialSettings::sim(1).with_timeline(),
    );
    assert!(
        report.outcome.is_err(),
        "forgetting the snapshot fails snapshot_init"
    );
    let peers = timeline::timeline(&report).peers;
    assert_failure_page(&browser, &report, "snapshot_init-seed1.html", peers);
}

// A trial that ran away (stuck, deadlocked, ...) is not run again for its page: the page is
// drawn from the text log it kept, with no RPCs. Such a page loads as well: here, the part-C
// failure above with only its text log.
#[test]
fn a_page_drawn_from_the_text_log_alone_shows_its_peers_and_the_failure() {
    let Some(browser) = chromium_or_skip("timeline_browser") else {
        return;
    };
    let grader = graders::by_name("persist1").expect("a part-C grader");
    let report = run_trial::<LogPeer<ForgetsLog>>(
        grader,
        &TrialSettings::sim(1).without_monitor().with_log("debug"),
    );
    assert!(report.records.is_none() && report.outcome.is_err());
    let t = timeline::timeline(&report);
    assert!(t.rpcs.is_empty() && !t.spans.is_empty());
    assert_failure_page(&browser, &report, "persist1-seed1-text.html", 3);
}

/// Loads the page of the failed trial `report` and checks it: no script error, one lane per
/// peer (`peers`), the failure marker at the failure's time, the peers it names marked.
fn assert_failure_page(browser: &Path, report: &TrialReport, name: &str, peers: usize) {
    let Err(TrialError::Check(failure)) = &report.outcome else {
        panic!("a failed check, not {:?}", report.outcome)
    };
    let at_us = failure.at.as_micros() as u64;
    let page = write(&timeline::page(report), name);
    let dom = dump_dom(browser, &page, "");
    assert_no_script_errors(&dom);

    let lanes = peer_labels(&dom);
    let shown: Vec<String> = lanes
        .iter()
        .filter_map(|t| attribute(t, "data-peer"))
        .map(str::to_string)
        .collect();
    let expected: Vec<String> = (0..peers).map(|p| p.to_string()).collect();
    assert_eq!(shown, expected, "{name}: lane labels in the DOM: {lanes:?}");
    let check = json_of(&dom, "selfcheck");
    assert_eq!(check["peers"], peers, "{name}: self-check: {check}");

    assert_marker_at(&dom, &check, at_us);
    let t = timeline::timeline(report);
    let named = t.failure.as_ref().expect("a failure").peers.clone();
    assert!(
        !named.is_empty(),
        "{name}: the failure names a peer: {}",
        failure.message
    );
    for tag in lanes {
        let p: usize = attribute(tag, "data-peer")
            .and_then(|p| p.parse().ok())
            .expect("a peer number");
        let marked = attribute(tag, "class").is_some_and(|c| c.contains("named"));
        assert_eq!(
            marked,
            named.contains(&p),
            "{name}: S{p}'s label {tag} (the failure names {named:?})"
        );
    }
}

/// Asserts the failure marker is shown at `at_us`, where the page's axis puts that time.
fn assert_marker_at(dom: &str, check: &Value, at_us: u64) {
    let marker = tag_of(dom, "failure-marker");
    assert!(
        !marker.contains(" hidden"),
        "the marker is hidden: {marker}"
    );
    assert_eq!(
        attribute(marker, "data-at-us"),
        Some(at_us.to_string().as_str())
    );
    let left: f64 = attribute(marker, "style")
        .and_then(|s| s.split("left: ").nth(1))
        .and_then(|s| s.split("px").next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("the marker has no left position: {marker}"));
    let num = |k: &str| {
        check[k]
            .as_f64()
            .unwrap_or_else(|| panic!("self-check has no {k}: {check}"))
    };
    let expected = num("plotLeft")
        + (at_us as f64 - num("viewStartUs")) / (num("viewEndUs") - num("viewStartUs"))
            * num("plotWidth");
    assert!(
        (left - expected).abs() < 1.0,
        "the marker is at {left}px, the axis puts {at_us} µs at {expected}px"
    );
}

#[test]
fn the_page_of_a_safety_violation_marks_its_evidence() {
    use support::monitor_peers::{CountsDenials, MonitorToy};

    let Some(browser) = chromium_or_skip("timeline_browser") else {
        return;
    };
    let grader = graders::by_name("many_elections").expect("a part-A grader");
    let report =
        run_trial::<MonitorToy<CountsDenials>>(grader, &TrialSettings::sim(2).with_timeline());
    let Err(TrialError::Check(failure)) = &report.outcome else {
        panic!("the monitor must catch two leaders: {:?}", report.outcome)
    };
    let t = timeline::timeline(&report);
    let f = t.failure.as_ref().expect("a failure");
    let page = write(&html::render(&t), "violation.html");
    let dom = dump_dom(&browser, &page, "");
    assert_no_script_errors(&dom);
    let check = json_of(&dom, "selfcheck");
    assert_marker_at(&dom, &check, failure.at.as_micros() as u64);
    assert_eq!(check["evidence"].as_u64(), Some(f.evidence.len() as u64));
    assert_eq!(check["markedRpcs"].as_u64(), Some(f.rpcs.len() as u64));
    assert_eq!(check["markedSpans"].as_u64(), Some(f.spans.len() as u64));
    assert!(f.evidence.len() >= 2 && !f.rpcs.is_empty() && f.spans.len() >= 2);
}

#[test]
fn zoom_hover_pan_and_hiding_a_peer_work_in_the_browser() {
    let Some(browser) = chromium_or_skip("timeline_browser") else {
        return;
    };
    let report = failing_trial();
    let mut t = timeline::timeline(&report);
    // A few RPCs within the run, so the method filter has something to filter.
    let step = t.end / 50;
    t.rpcs = (0..40)
        .map(|i| RpcRecord {
            from: i % 3,
            to: (i + 1) % 3,
            method: if i % 4 == 0 {
                "Raft.RequestVote"
            } else {
                "Raft.AppendEntries"
            }
            .into(),
            sent: step * i as u64,
            delivered: Some(step * i as u64 + step / 4),
            done: step * i as u64 + step / 2,
            outcome: RpcOutcome::Replied,
            detail: String::new(),
        })
        .collect();
    let page = write(&html::render(&t), "selftest.html");
    let dom = dump_dom(&browser, &page, "#selftest");
    assert_no_script_errors(&dom);
    let s = json_of(&dom, "selftest");
    assert_eq!(s["done"], true, "the self-test did not finish: {s}");
    let ratio = s["zoomRatio"].as_f64().expect("zoomRatio");
    assert!(ratio < 0.9, "the wheel did not zoom in: {s}");
    assert!(
        s["zoomDriftPx"].as_f64().expect("zoomDriftPx") < 1.0,
        "zooming moved the point under the mouse: {s}"
    );
    assert!(
        !s["hoverText"].as_str().unwrap_or("").is_empty(),
        "hovering a tester event showed nothing: {s}"
    );
    assert!(
        s["hoverText"]
            .as_str()
            .unwrap_or("")
            .contains(s["hoverLine"].as_str().expect("hoverLine")),
        "the tooltip does not show the event's full log line: {s}"
    );
    let pan = s["panPx"].as_f64().expect("panPx");
    assert!(
        (pan - 100.0).abs() < 1.0,
        "dragging 100 px moved the view by {pan} px"
    );
    assert_eq!(s["lanesBefore"], 3, "{s}");
    assert_eq!(
        s["lanesAfterHide"], 2,
        "clicking a label did not hide its lane: {s}"
    );
    assert_eq!(s["chip"], format!("show S{}", s["hiddenPeer"]).as_str());
    assert_eq!(
        s["lanesAfterShow"], 3,
        "the chip did not show the lane again: {s}"
    );
    let all = s["rpcsDrawnAll"].as_u64().expect("rpcsDrawnAll");
    assert_eq!(all, 40, "{s}");
    assert_eq!(
        s["rpcsDrawnFiltered"].as_u64().expect("rpcsDrawnFiltered"),
        all - s["rpcsOfMethod"].as_u64().expect("rpcsOfMethod"),
        "unchecking {} did not take its arrows out: {s}",
        s["filteredMethod"]
    );
}

#[test]
fn a_screenshot_of_the_page_is_drawn() {
    let Some(browser) = chromium_or_skip("timeline_browser") else {
        return;
    };
    // Two votes in one term elect two leaders: the README's picture.
    let grader = graders::by_name("many_elections").expect("a part-A grader");
    let report = run_trial::<ToyPeer<DoubleVote>>(
        grader,
        &TrialSettings::sim(SCREENSHOT_SEED)
            .without_monitor()
            .with_timeline(),
    );
    assert!(
        matches!(&report.outcome, Err(TrialError::Check(f)) if f.message.contains("(>1) leaders")),
        "double votes must elect two leaders on seed {SCREENSHOT_SEED}, got {:?}",
        report.outcome
    );
    let page = write(&timeline::page(&report), "screenshot.html");
    // LAB_TIMELINE_SCREENSHOT=docs/timeline.png keeps the picture (the README's).
    let png = std::env::var_os("LAB_TIMELINE_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| scratch("png").join("timeline.png"));
    let url = format!("file://{}", page.display());
    chromium(
        &browser,
        &url,
        &[
            "--window-size=1280,720".to_string(),
            "--virtual-time-budget=5000".to_string(),
            format!("--screenshot={}", png.display()),
        ],
    );
    let bytes = std::fs::read(&png).expect("Chromium wrote the screenshot");
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000,
        "the screenshot is not a drawn PNG ({} bytes)",
        bytes.len()
    );
    eprintln!("screenshot: {} ({} bytes)", png.display(), bytes.len());
}

/// Seven peers heartbeating every 20 ms on an unreliable network for 70 s, with two peers cut
/// off for 5 s in every 10: tens of thousands of RPCs, to see that the page copes.
fn busy_trial() -> TrialReport {
    let capture = Capture::with_records("debug", false).expect("a valid filter");
    let config = RunConfig::sim(7).dispatch(capture.dispatch());
    let out = runtime::run(config, || async {
        let mut t = Tester::<ToyPeer<ChattyHeartbeats>>::new(7, false);
        t.begin("load: 7 chatty peers, unreliable network, 70 s");
        for _ in 0..7 {
            let a = runtime::random_range(0..7) as usize;
            let b = (a + 1 + runtime::random_range(0..6) as usize) % 7;
            t.disconnect(a);
            t.disconnect(b);
            runtime::sleep(Duration::from_secs(5)).await;
            t.connect(a);
            t.connect(b);
            runtime::sleep(Duration::from_secs(5)).await;
            let _ = t.check_terms();
        }
        TestFailure::new("the load test ends with a made-up failure, to draw its marker")
    })
    .expect("the run ends");
    TrialReport {
        grader: "load",
        seed: 7,
        executor: Executor::Sim,
        outcome: Err(TrialError::Check(out.value)),
        elapsed: out.elapsed,
        wall: Duration::ZERO,
        log: Some(capture.take()),
        records: Some(capture.take_records()),
        trace: TraceSummary::default(),
    }
}

/// A trial of tens of thousands of RPCs gives a bounded page (the RPCs nearest the failure,
/// the others counted in its notes) that loads and draws every RPC it holds.
#[test]
fn a_page_of_a_trial_with_tens_of_thousands_of_rpcs_is_bounded_and_draws_what_it_holds() {
    let Some(browser) = chromium_or_skip("timeline_browser") else {
        return;
    };
    let report = busy_trial();
    let t = timeline::timeline(&report);
    let max = harness::timeline::extract::MAX_DRAWN_RPCS;
    assert!(
        t.rpcs.len() >= max && t.rpcs.len() <= max + 100,
        "{} RPCs drawn, for at most {max} near the failure and those it names",
        t.rpcs.len()
    );
    assert!(
        t.notes.iter().any(|n| n.contains("RPCs not drawn")),
        "the others are counted: {:?}",
        t.notes
    );
    let page_html = html::render(&t);
    let page = write(&page_html, "busy.html");
    // Without virtual time, so the page's own timings are real.
    let dom = chromium(
        &browser,
        &format!("file://{}#measure", page.display()),
        &[
            "--window-size=1280,800".to_string(),
            "--dump-dom".to_string(),
        ],
    );
    assert_no_script_errors(&dom);
    let check = json_of(&dom, "selfcheck");
    assert_eq!(check["rpcs"].as_u64(), Some(t.rpcs.len() as u64));
    let m = &check["measure"];
    assert_eq!(
        m["fitRpcsDrawn"].as_u64(),
        Some(t.rpcs.len() as u64),
        "the whole run's view draws every RPC: {check}"
    );
    // Reported, not judged (timings depend on the machine): see the report for the figures.
    eprintln!(
        "busy page: {} RPCs, {} log lines, {} bytes; load {:.0} ms (parse + first draw); \
         draw: whole run {:.1} ms, a tenth {:.1} ms ({} RPCs); hover search {:.2} ms",
        t.rpcs.len(),
        t.events.len(),
        page_html.len(),
        check["loadMs"].as_f64().unwrap_or(f64::NAN),
        m["fitDrawMs"].as_f64().unwrap_or(f64::NAN),
        m["tenthDrawMs"].as_f64().unwrap_or(f64::NAN),
        m["tenthRpcsDrawn"],
        m["hoverMs"].as_f64().unwrap_or(f64::NAN),
    );
}

/// `shared/reference/linearizability-data` beside the repository (CI lays it there), or `None`
/// after saying why the test does nothing (outside CI only).
fn golden_data(test: &str) -> Option<PathBuf> {
    let found = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/reference/linearizability-data"))
        .find(|dir| dir.is_dir());
    if found.is_none() {
        assert!(
            !in_ci(),
            "{test}: shared/reference/linearizability-data is missing: CI lays shared/ beside \
             the repository"
        );
        eprintln!("{test}: SKIPPED: no shared/reference/linearizability-data above this crate");
    }
    found
}

/// The page of a golden key/value history file, checked whole (every key).
fn golden_history_page(data: &Path, file: &str) -> (History, PathBuf) {
    let text = std::fs::read_to_string(data.join("kv").join(file)).expect("a golden file");
    let ops = linearizability::jepsen::kv_history(&text).expect("a golden history parses");
    let result = linearizability::Checker::new(&linearizability::models::KvModel)
        .threads(1)
        .check(&ops)
        .expect("a well-formed history");
    let history = History::from_check(&result, Clock::Order);
    let page = write(
        &timeline::history_page(file, history.clone()),
        &format!("{file}.html"),
    );
    (history, page)
}

// A golden history that is not linearizable, drawn on its own (as `harness history` draws a
// file): the page opens on the operation that could not be placed, hovering it says so with
// the state it met, and hovering the prefix's last operation shows its states before and after.
#[test]
fn a_golden_violation_shows_the_operation_that_could_not_be_placed_and_the_states() {
    let Some(browser) = chromium_or_skip("timeline_browser") else {
        return;
    };
    let Some(data) = golden_data("timeline_browser") else {
        return;
    };
    let (history, page) = golden_history_page(&data, "c10-bad.txt");
    let bad = history.violation().expect("c10-bad is not linearizable");
    let stuck = bad
        .stuck
        .as_ref()
        .expect("a violation has a stuck operation");
    let shown = history
        .partitions
        .iter()
        .position(|p| p.key == bad.key)
        .expect("the violating key is drawn");

    // As it opens: the violating key's clients, zoomed on the stuck operation.
    let dom = dump_dom(&browser, &page, "");
    assert_no_script_errors(&dom);
    let check = json_of(&dom, "selfcheck");
    let h = &check["history"];
    assert_eq!(h["axis"], "order", "{h}");
    assert_eq!(h["keys"].as_u64(), Some(history.partitions.len() as u64));
    assert_eq!(h["shown"].as_u64(), Some(shown as u64), "{h}");
    let clients: BTreeSet<usize> = bad.operations.iter().map(|op| op.client).collect();
    let rows: Vec<(String, u64)> = h["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap_or("").to_string(),
                r[1].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = clients
        .iter()
        .map(|&c| (bad.key.clone(), c as u64))
        .collect();
    assert_eq!(rows, expected, "one row per client of key {:?}", bad.key);
    let s = &h["stuck"];
    assert_eq!(s["index"].as_u64(), Some(stuck.index as u64), "{h}");
    let (left, width) = (num(&check, "plotLeft"), num(&check, "plotWidth"));
    let (x0, x1) = (num(s, "x0"), num(s, "x1"));
    assert!(
        left <= x0 && x0 < x1 && x1 <= left + width,
        "the page opens with the stuck operation in view: {s}"
    );
    // Its bar spans its call and return on the page's axis (event k at k ms).
    let op = &history.partitions[shown].operations;
    let stuck_op = op
        .iter()
        .find(|o| o.index == stuck.index)
        .expect("in its key");
    assert_eq!(num(s, "call"), stuck_op.call as f64 * 1e3);
    assert_eq!(
        num(s, "ret"),
        stuck_op.ret.expect("it returned") as f64 * 1e3
    );
    assert!(h["opsDrawn"].as_u64().unwrap_or(0) > 0 && h["pointsDrawn"].as_u64().unwrap_or(0) > 0);

    // Hovering.
    let dom = dump_dom(&browser, &page, "#selftest");
    assert_no_script_errors(&dom);
    let t = &json_of(&dom, "selftest")["history"];
    let stuck_text = t["stuckText"].as_str().unwrap_or("");
    assert!(
        stuck_text.contains("COULD NOT BE PLACED") && stuck_text.contains(&stuck.state),
        "hovering the stuck operation: {t}"
    );
    let last = bad.linearization.last().expect("a prefix");
    assert_eq!(t["lastIndex"].as_u64(), Some(last.index as u64));
    let last_text = t["lastText"].as_str().unwrap_or("");
    assert!(
        last_text.contains(&format!("state before: {}", last.state_before))
            && last_text.contains(&format!("state after:  {}", last.state_after))
            && last_text.contains(&format!(
                "took effect {} of {}",
                bad.linearization.len(),
                bad.linearization.len()
            )),
        "hovering the prefix's last operation shows its states: {t}"
    );
    assert_eq!(
        t["rowsAllKeys"].as_u64(),
        Some(
            history
                .partitions
                .iter()
                .map(|p| p
                    .operations
                    .iter()
                    .map(|o| o.client)
                    .collect::<BTreeSet<_>>()
                    .len())
                .sum::<usize>() as u64
        ),
        "every key's rows: {t}"
    );
    assert_eq!(t["rowsShown"].as_u64(), Some(clients.len() as u64), "{t}");
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("no number {key} in {v}"))
}

// A key/value-like trial: the history is drawn under the Raft lanes, on their time axis: the
// stuck operation's bar starts where the axis puts its call, beside the failure marker and the
// peer that was cut off.
#[test]
fn a_trial_history_is_drawn_under_the_raft_lanes_on_the_same_axis() {
    let Some(browser) = chromium_or_skip("timeline_browser") else {
        return;
    };
    let report = support::kv_history::kv_trial(1);
    let t = timeline::timeline(&report);
    assert!(t.history.is_some(), "the trial recorded its history");
    let page = write(&html::render(&t), "kv-like.html");
    let dom = dump_dom(&browser, &page, "");
    assert_no_script_errors(&dom);
    let check = json_of(&dom, "selfcheck");
    assert_eq!(check["peers"], 3, "{check}");
    let Err(TrialError::Check(failure)) = &report.outcome else {
        panic!("the trial fails its check")
    };
    assert_marker_at(&dom, &check, failure.at.as_micros() as u64);
    let h = &check["history"];
    assert_eq!(h["axis"], "run");
    // Key x (not linearizable) is shown: its three clients.
    assert_eq!(h["shown"], 0, "{h}");
    assert_eq!(h["rows"].as_array().map(Vec::len), Some(3), "{h}");
    let s = &h["stuck"];
    assert_eq!(
        s["index"].as_u64(),
        Some(support::kv_history::STALE_GET as u64)
    );
    let call_us = 1_900_000.0;
    assert_eq!(num(s, "call"), call_us);
    let expected = num(&check, "plotLeft")
        + (call_us - num(&check, "viewStartUs"))
            / (num(&check, "viewEndUs") - num(&check, "viewStartUs"))
            * num(&check, "plotWidth");
    assert!(
        (num(s, "x0") - expected).abs() < 0.5,
        "the stuck operation's bar starts at {}, the axis puts its call at {expected}",
        num(s, "x0")
    );
    let dom = dump_dom(&browser, &page, "#selftest");
    assert_no_script_errors(&dom);
    let st = json_of(&dom, "selftest");
    assert_eq!(st["done"], true, "{st}");
    let text = st["history"]["stuckText"].as_str().unwrap_or("");
    assert!(
        text.contains("get('x') -> 'a'") && text.contains("state is 'ab'"),
        "{st}"
    );
    assert_eq!(
        st["history"]["rowsAllKeys"], 4,
        "key x's three clients and key y's one: {st}"
    );
}

// Screenshots of the history view, to look at: LAB_HISTORY_SCREENSHOTS=DIR keeps them.
#[test]
fn screenshots_of_the_history_view_are_drawn() {
    let Some(browser) = chromium_or_skip("timeline_browser") else {
        return;
    };
    let dir = std::env::var_os("LAB_HISTORY_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| scratch("png"));
    std::fs::create_dir_all(&dir).expect("the screenshot folder can be made");
    let mut pages = vec![(
        "kv-trial",
        write(
            &timeline::page(&support::kv_history::kv_trial(1)),
            "kv-trial.html",
        ),
    )];
    if let Some(data) = golden_data("timeline_browser") {
        pages.push(("c10-bad", golden_history_page(&data, "c10-bad.txt").1));
    }
    for (name, page) in pages {
        let png = dir.join(format!("history-{name}.png"));
        chromium(
            &browser,
            &format!("file://{}", page.display()),
            &[
                "--window-size=1280,900".to_string(),
                "--virtual-time-budget=5000".to_string(),
                format!("--screenshot={}", png.display()),
            ],
        );
        let bytes = std::fs::read(&png).expect("Chromium wrote the screenshot");
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000,
            "{name}: the screenshot is not a drawn PNG ({} bytes)",
            bytes.len()
        );
        eprintln!("screenshot: {} ({} bytes)", png.display(), bytes.len());
    }
}
