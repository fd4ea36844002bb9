//! Machine-readable reports of a run: Gradescope's `results.json` and JUnit XML.
//!
//! Both come from the same [`RunSummary`] and [`Policy`]: one test (JSON) or test case (JUnit)
//! per grader, passed when its pass rate reaches its threshold, with the pass count, the pass
//! rate with a 95% confidence interval, and the failing seeds: the first three in detail (as
//! `harness run` prints them), all of them in `extra_data` with each distinct error written
//! once ([`error_groups`]). A report names bundles relative to its own folder
//! ([`gradescope_report`], [`for_report`]), so it can be moved, or read on another machine,
//! with its bundles.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::failures;
use super::policy::Policy;
use super::run::{replay_command, FailedSeed, GraderSummary, RunSummary};

/// Distinct errors of a grader whose text a report keeps (in `extra_data.errors`, in the order
/// of their lowest seed); the seeds of any other error share one entry, [`ERRORS_NOT_KEPT`],
/// and the replay of such a seed shows its message. So 200 seeds failing 200 slightly different
/// ways (terms, peers) cost ten messages, not 200.
pub const KEPT_ERROR_TEXTS: usize = 10;

/// The entry of `extra_data.errors` that stands for the errors past [`KEPT_ERROR_TEXTS`].
pub const ERRORS_NOT_KEPT: &str = "[another error: a report keeps the first 10 distinct errors of \
                                    a grader; replay the seed for its message]";

/// A report could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the report {path}: {source}")]
pub struct ReportError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// Writes `contents` to `path`, creating its folder if needed.
pub fn write_report(path: &Path, contents: &str) -> Result<(), ReportError> {
    let fail = |source| ReportError {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    std::fs::write(path, contents).map_err(fail)
}

/// One grader's grade.
#[derive(Debug, Clone, PartialEq)]
pub struct Grade {
    /// The grader's name.
    pub name: &'static str,
    /// Its part.
    pub part: &'static str,
    /// Its title.
    pub title: &'static str,
    /// Trials that passed.
    pub passed: u64,
    /// Trials that finished.
    pub finished: u64,
    /// Trials planned.
    pub planned: u64,
    /// `passed / finished`.
    pub pass_rate: f64,
    /// The 95% Wilson interval of the pass rate.
    pub interval: (f64, f64),
    /// The threshold.
    pub threshold: f64,
    /// The points at stake.
    pub max_score: f64,
    /// `max_score` if the pass rate reached the threshold, else 0.
    pub score: f64,
    /// Whether the pass rate reached the threshold (and some trial finished).
    pub ok: bool,
}

/// The 95% Wilson score interval of `passed` successes in `n` trials.
///
/// ```
/// use harness_cli::report::wilson_interval;
///
/// let (lo, hi) = wilson_interval(1000, 1000);
/// assert!(lo > 0.996 && hi == 1.0);
/// assert_eq!(wilson_interval(0, 0), (0.0, 1.0));
/// ```
pub fn wilson_interval(passed: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = 1.96_f64;
    let n = n as f64;
    let p = passed as f64 / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * ((p * (1.0 - p) + z * z / (4.0 * n)) / n).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Grades one grader's figures.
pub fn grade(g: &GraderSummary, policy: &Policy) -> Grade {
    let threshold = policy.threshold(g.grader.name);
    let max_score = policy.max_score(g.grader.name);
    let finished = g.finished();
    let pass_rate = g.pass_rate();
    let ok = finished > 0 && pass_rate >= threshold;
    Grade {
        name: g.grader.name,
        part: g.grader.part,
        title: g.grader.title,
        passed: g.passed,
        finished,
        planned: g.planned,
        pass_rate,
        interval: wilson_interval(g.passed, finished),
        threshold,
        max_score,
        score: if ok { max_score } else { 0.0 },
        ok,
    }
}

fn percent(x: f64) -> String {
    let p = 100.0 * x;
    if p == p.trunc() {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

/// The one-line verdict of a grade.
pub fn verdict(grade: &Grade) -> String {
    format!(
        "passed {} of {} trials ({}); threshold {}: {}",
        grade.passed,
        grade.finished,
        percent(grade.pass_rate),
        percent(grade.threshold),
        if grade.ok { "PASSED" } else { "FAILED" }
    )
}

/// The text a report shows for one grader: verdict, figures and failing seeds.
pub fn grader_text(summary: &RunSummary, g: &GraderSummary, grade: &Grade) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", grade.title);
    let _ = writeln!(out, "{}", verdict(grade));
    let _ = writeln!(
        out,
        "pass rate {} (95% confidence interval {} to {})",
        percent(grade.pass_rate),
        percent(grade.interval.0),
        percent(grade.interval.1)
    );
    if grade.finished < grade.planned {
        let _ = writeln!(
            out,
            "interrupted: only {} of {} planned trials ran",
            grade.finished, grade.planned
        );
    }
    if grade.finished > 0 {
        let _ = writeln!(
            out,
            "run time per trial {:.2}s ± {:.2}s ({} mode), seeds {}..={}{}",
            g.run_time.mean(),
            g.run_time.sd(),
            summary.executor,
            summary.seed_start,
            summary.seed_start + summary.runs.saturating_sub(1),
            shard_note(summary)
        );
    }
    if g.warned > 0 {
        let _ = writeln!(out, "passing seeds with a warning ({}):", g.warned);
        for w in &g.warnings {
            let _ = writeln!(out, "  seed {}: {}", w.seed, w.warning);
        }
        if g.warned > g.warnings.len() as u64 {
            let _ = writeln!(out, "  ... and {} more", g.warned - g.warnings.len() as u64);
        }
    }
    if !g.failures.is_empty() {
        let _ = writeln!(out, "failing seeds ({}):", g.failures.len());
        out.push_str(&failures::grader_failures(summary, g, false));
    }
    out
}

/// `, shard K/N` for a shard's report, nothing for a whole run.
fn shard_note(summary: &RunSummary) -> String {
    if summary.shard.is_whole() {
        String::new()
    } else {
        format!(", shard {}", summary.shard)
    }
}

/// The distinct errors of a grader's failing seeds, in the order of their lowest seed, with
/// their seeds; the position of each failing seed's error among them. Past the first
/// [`KEPT_ERROR_TEXTS`], an error not seen before joins the seeds of [`ERRORS_NOT_KEPT`].
///
/// ```
/// use harness_cli::report::error_groups;
/// use harness_cli::run::FailedSeed;
///
/// let f = |seed, error: &str| FailedSeed { seed, error: error.into(), bundle: None, page: None };
/// let (groups, of_seed) = error_groups(&[f(1, "no leader"), f(2, "two leaders"), f(3, "no leader")]);
/// assert_eq!(groups, vec![("no leader".to_string(), vec![1, 3]), ("two leaders".to_string(), vec![2])]);
/// assert_eq!(of_seed, vec![0, 1, 0]);
/// ```
pub fn error_groups(failures: &[FailedSeed]) -> (Vec<(String, Vec<u64>)>, Vec<usize>) {
    let mut groups: Vec<(String, Vec<u64>)> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut not_kept: Option<usize> = None;
    let mut of_seed = Vec::with_capacity(failures.len());
    for f in failures {
        // A shard's report read back may already say an error was not kept.
        let known = (f.error != ERRORS_NOT_KEPT)
            .then(|| index.get(f.error.as_str()))
            .flatten();
        let at = match known {
            Some(&at) => at,
            None if index.len() < KEPT_ERROR_TEXTS && f.error != ERRORS_NOT_KEPT => {
                groups.push((f.error.clone(), Vec::new()));
                index.insert(f.error.as_str(), groups.len() - 1);
                groups.len() - 1
            }
            None => *not_kept.get_or_insert_with(|| {
                groups.push((ERRORS_NOT_KEPT.to_string(), Vec::new()));
                groups.len() - 1
            }),
        };
        groups[at].1.push(f.seed);
        of_seed.push(at);
    }
    (groups, of_seed)
}

/// `path` relative to the folder `base` (both made absolute from the current folder first):
/// what a report names its bundles with, so the report and its bundles move together. A path
/// on another root stays absolute.
///
/// ```
/// use std::path::Path;
/// use harness_cli::report::relative_to;
///
/// assert_eq!(relative_to(Path::new("/r/out/bundles/a.log"), Path::new("/r/out")), Path::new("bundles/a.log"));
/// assert_eq!(relative_to(Path::new("/r/bundles/a.log"), Path::new("/r/out/json")), Path::new("../../bundles/a.log"));
/// ```
pub fn relative_to(path: &Path, base: &Path) -> PathBuf {
    let (Ok(path_abs), Ok(base_abs)) = (std::path::absolute(path), std::path::absolute(base))
    else {
        return path.to_path_buf();
    };
    let p: Vec<_> = path_abs.components().collect();
    let b: Vec<_> = base_abs.components().collect();
    if p.first() != b.first() {
        return path_abs;
    }
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c);
    }
    out
}

/// `summary` with its bundle and page paths relative to the folder of the report at `report`
/// (see [`relative_to`]).
pub fn for_report(summary: &RunSummary, report: &Path) -> RunSummary {
    let base = report
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut s = summary.clone();
    for g in &mut s.graders {
        for f in &mut g.failures {
            f.bundle = f.bundle.as_deref().map(|b| relative_to(b, base));
            f.page = f.page.as_deref().map(|p| relative_to(p, base));
        }
    }
    s
}

/// Gradescope's `results.json` for a run, to be written at `path`: [`gradescope_json`] with
/// the bundles named relative to the report's folder.
pub fn gradescope_report(
    summary: &RunSummary,
    policy: &Policy,
    visibility: &str,
    path: &Path,
) -> serde_json::Value {
    gradescope_json(&for_report(summary, path), policy, visibility)
}

/// Gradescope's `results.json` for a run: a top-level `score` and `execution_time`, and one
/// test per grader with `name`, `score`, `max_score`, `status`, `output` and `visibility`.
///
/// Each test's `extra_data` lists its distinct errors once (`errors`: the text and the seeds
/// that failed with it, see [`error_groups`]) and its failing seeds with the position of their
/// error there and their bundle, when one was kept (`failing_seeds`); `replay` is the command
/// that replays a seed, with `SEED` for it. Bundle paths are as `summary` has them:
/// [`gradescope_report`] makes them relative to the report.
pub fn gradescope_json(
    summary: &RunSummary,
    policy: &Policy,
    visibility: &str,
) -> serde_json::Value {
    let mut tests = Vec::new();
    let mut score = 0.0;
    let mut max = 0.0;
    for g in &summary.graders {
        let grade = grade(g, policy);
        score += grade.score;
        max += grade.max_score;
        let (groups, of_seed) = error_groups(&g.failures);
        let failing: Vec<serde_json::Value> = g
            .failures
            .iter()
            .zip(&of_seed)
            .map(|(f, &error)| match &f.bundle {
                Some(b) => {
                    json!({"seed": f.seed, "error": error, "bundle": b.display().to_string()})
                }
                None => json!({"seed": f.seed, "error": error}),
            })
            .collect();
        let errors: Vec<serde_json::Value> = groups
            .iter()
            .map(|(error, seeds)| json!({"error": error, "seeds": seeds}))
            .collect();
        tests.push(json!({
            "name": format!("{} ({})", grade.name, grade.title),
            "score": grade.score,
            "max_score": grade.max_score,
            "status": if grade.ok { "passed" } else { "failed" },
            "output": grader_text(summary, g, &grade),
            "tags": [format!("part {}", grade.part)],
            "visibility": visibility,
            "extra_data": {
                "grader": grade.name,
                "passed": grade.passed,
                "failed": g.failed,
                "finished": grade.finished,
                "planned": grade.planned,
                "pass_rate": grade.pass_rate,
                "pass_rate_95": [grade.interval.0, grade.interval.1],
                "threshold": grade.threshold,
                "run_time_mean_s": g.run_time.mean(),
                "run_time_sd_s": g.run_time.sd(),
                "run_time_ns": g.run_time.to_json(),
                "wall_total_s": g.wall_total.as_secs_f64(),
                "errors": errors,
                "failing_seeds": failing,
                "replay": replay_command(g.grader.name, 0, summary.executor).replace("--seed 0", "--seed SEED"),
                "warned": g.warned,
                "warnings": g.warnings.iter().map(|w| json!({"seed": w.seed, "warning": w.warning})).collect::<Vec<_>>(),
            },
        }));
    }
    let passed = tests.iter().filter(|t| t["status"] == "passed").count();
    json!({
        "score": score,
        "execution_time": summary.wall.as_secs_f64().round() as u64,
        "output": format!(
            "{passed} of {} graders passed; score {score} of {max}; {} trials in {} mode{}",
            tests.len(),
            summary.finished(),
            summary.executor,
            if summary.interrupted { " (interrupted)" } else { "" }
        ),
        "visibility": visibility,
        "tests": tests,
        "extra_data": {
            "executor": summary.executor.to_string(),
            "seed_start": summary.seed_start,
            "runs": summary.runs,
            "jobs": summary.jobs,
            "interrupted": summary.interrupted,
            "harness_version": env!("CARGO_PKG_VERSION"),
            "shard": summary.shard.to_string(),
            "check_determinism": summary.check_determinism,
            "monitor": summary.monitor,
            "graders": summary.graders.iter().map(|g| g.grader.name).collect::<Vec<_>>(),
            "wall_s": summary.wall.as_secs_f64(),
        },
    })
}

pub use harness::escape::xml_escape;

/// A JUnit XML report of a run: one `<testsuite>` with one `<testcase>` per grader, and a
/// `<failure>` naming the failing seeds when a grader's pass rate is below its threshold.
pub fn junit_xml(summary: &RunSummary, policy: &Policy) -> String {
    let grades: Vec<(Grade, &GraderSummary)> = summary
        .graders
        .iter()
        .map(|g| (grade(g, policy), g))
        .collect();
    let failures = grades.iter().filter(|(g, _)| !g.ok).count();
    let time = summary.wall.as_secs_f64();
    let suite = format!(
        "raft graders ({} mode, seeds {}..={}{})",
        summary.executor,
        summary.seed_start,
        summary.seed_start + summary.runs.saturating_sub(1),
        shard_note(summary)
    );
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"harness\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{time:.3}\">",
        grades.len()
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{time:.3}\">",
        xml_escape(&suite),
        grades.len()
    );
    x.push_str("    <properties>\n");
    for (name, value) in [
        ("executor", summary.executor.to_string()),
        ("seed_start", summary.seed_start.to_string()),
        ("runs", summary.runs.to_string()),
        ("jobs", summary.jobs.to_string()),
        ("interrupted", summary.interrupted.to_string()),
        ("shard", summary.shard.to_string()),
    ] {
        let _ = writeln!(
            x,
            "      <property name=\"{name}\" value=\"{}\"/>",
            xml_escape(&value)
        );
    }
    x.push_str("    </properties>\n");
    for (grade, g) in &grades {
        let _ = writeln!(
            x,
            "    <testcase name=\"{}\" classname=\"harness.part{}\" time=\"{:.3}\">",
            xml_escape(grade.name),
            xml_escape(grade.part),
            g.wall_total.as_secs_f64()
        );
        let text = grader_text(summary, g, grade);
        if !grade.ok {
            let seeds: Vec<String> = g.failures.iter().map(|f| f.seed.to_string()).collect();
            let message = if seeds.is_empty() {
                verdict(grade)
            } else {
                format!("{}; failing seeds: {}", verdict(grade), seeds.join(", "))
            };
            let _ = writeln!(
                x,
                "      <failure message=\"{}\" type=\"BelowThreshold\">{}</failure>",
                xml_escape(&message),
                xml_escape(&text)
            );
        }
        let _ = writeln!(x, "      <system-out>{}</system-out>", xml_escape(&text));
        x.push_str("    </testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_interval_brackets_the_rate() {
        let (lo, hi) = wilson_interval(95, 100);
        assert!(lo < 0.95 && 0.95 < hi);
        assert!((lo - 0.888).abs() < 0.001, "{lo}");
        assert_eq!(wilson_interval(0, 10).0, 0.0);
    }

    #[test]
    fn errors_past_the_first_ten_share_one_entry() {
        let f = |seed: u64, error: String| FailedSeed {
            seed,
            error,
            bundle: None,
            page: None,
        };
        // Seeds 1..=25 fail 25 different ways; seeds 26 and 27 as seeds 1 and 25 did: the
        // first ten errors are kept.
        let mut failures: Vec<FailedSeed> = (1..=25)
            .map(|s| f(s, format!("error {s}\nwith a long exchange")))
            .collect();
        failures.push(f(26, "error 1\nwith a long exchange".into()));
        failures.push(f(27, "error 25\nwith a long exchange".into()));
        let (groups, of_seed) = error_groups(&failures);
        assert_eq!(groups.len(), KEPT_ERROR_TEXTS + 1);
        assert_eq!(
            groups[0],
            ("error 1\nwith a long exchange".to_string(), vec![1, 26])
        );
        assert_eq!(groups[9].0, "error 10\nwith a long exchange");
        assert_eq!(
            groups[10],
            (ERRORS_NOT_KEPT.to_string(), (11..=25).chain([27]).collect())
        );
        assert_eq!(of_seed[25], 0);
        assert_eq!(of_seed[26], 10);
        assert!(ERRORS_NOT_KEPT.contains(&format!("the first {KEPT_ERROR_TEXTS} distinct")));
    }

    #[test]
    fn percents_drop_needless_decimals() {
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.998), "99.8%");
    }
}
