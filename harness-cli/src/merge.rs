//! `harness merge`: the reports of a run's [shards](super::shard), put together into the report
//! one machine would have written for the same seeds.
//!
//! Each shard writes its `results.json` (`harness run ... --shard K/N --json shard-K.json`).
//! [`merge_reports`] reads them back into the figures a run keeps (pass counts, failing seeds
//! with their errors, exact run-time sums), checks that they are the `N` shards of one run, and
//! adds them up; the merged report is then written by the very functions a run uses
//! ([`gradescope_json`](super::report::gradescope_json), [`junit_xml`](super::report::junit_xml)),
//! so it is the same report, field for field.
//!
//! # What may differ from a one-machine report
//!
//! A few fields say how the work was done rather than what it found, and differ between any two
//! runs, sharded or not ([`MACHINE_DEPENDENT`], removed by [`without_machine_fields`]):
//!
//! - wall-clock times: the top-level `execution_time` and `extra_data.wall_s` (the merged report
//!   adds up the shards' times: machine time spent, not time waited), and each test's
//!   `extra_data.wall_total_s` (JUnit: every `time` attribute);
//! - `extra_data.jobs`: trials at once (the merged report adds the shards' up; JUnit: the `jobs`
//!   property);
//! - bundles (a failing seed's `bundle`, and the `bundle:` and `timeline:` lines of the text):
//!   each machine keeps its own first `--max-bundles` failing seeds of each grader, in its own
//!   folder;
//! - for a grader whose seeds failed in more than
//!   [`KEPT_ERROR_TEXTS`](super::report::KEPT_ERROR_TEXTS) different ways, which of its errors
//!   a report writes out (each shard keeps its own first ones).
//!
//! Everything else, scores, pass counts, failing seeds in seed order with their errors, run
//! time mean and standard deviation, text, is identical in sim mode, where a seed gives the same
//! run on every machine. In real mode a seed does not replay, so only the structure is the same.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use labrpc::runtime::Executor;
use serde_json::{json, Value};

use super::policy::{GraderPolicy, Policy};
use super::run::{FailedSeed, GraderSummary, RunSummary, WarnedSeed};
use super::shard::Shard;
use super::{report, stats, CliError, EXIT_FAILED, EXIT_PASSED};
use harness::graders;

/// Durations kept as exact integer sums (count, sum and sum of squares, in nanoseconds), so that
/// their mean and standard deviation do not depend on the order the durations came in, and
/// sums from many machines merge without losing a bit.
///
/// ```
/// use std::time::Duration;
/// use harness_cli::merge::ExactTimes;
///
/// let mut a = ExactTimes::default();
/// let mut b = ExactTimes::default();
/// for ms in [2000, 4000, 4000, 4000] { a.push(Duration::from_millis(ms)); }
/// for ms in [5000, 5000, 7000, 9000] { b.push(Duration::from_millis(ms)); }
/// a.merge(&b);
/// assert_eq!(a.count(), 8);
/// assert_eq!(a.mean(), 5.0);
/// assert!((a.sd() - 2.138).abs() < 0.001); // the sample standard deviation, in seconds
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExactTimes {
    count: u64,
    sum_ns: u128,
    sum_sq_ns: u128,
}

impl ExactTimes {
    /// Adds a duration.
    pub fn push(&mut self, d: Duration) {
        let ns = d.as_nanos();
        self.count += 1;
        self.sum_ns = self.sum_ns.saturating_add(ns);
        self.sum_sq_ns = self.sum_sq_ns.saturating_add(ns.saturating_mul(ns));
    }

    /// Adds every duration of `other`.
    pub fn merge(&mut self, other: &ExactTimes) {
        self.count += other.count;
        self.sum_ns = self.sum_ns.saturating_add(other.sum_ns);
        self.sum_sq_ns = self.sum_sq_ns.saturating_add(other.sum_sq_ns);
    }

    /// How many durations.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The mean in seconds (0 with none).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        self.sum_ns as f64 / self.count as f64 / 1e9
    }

    /// The sample standard deviation in seconds (0 with fewer than two).
    pub fn sd(&self) -> f64 {
        let n = u128::from(self.count);
        if n < 2 {
            return 0.0;
        }
        // n·Σx² − (Σx)², exactly while it fits (a million two-minute trials do).
        let exact = n
            .checked_mul(self.sum_sq_ns)
            .zip(self.sum_ns.checked_mul(self.sum_ns))
            .map(|(a, b)| a.saturating_sub(b));
        let variance_ns2 = match exact {
            Some(num) => num as f64 / (n * (n - 1)) as f64,
            None => {
                let mean = self.sum_ns as f64 / n as f64;
                ((self.sum_sq_ns as f64 - self.sum_ns as f64 * mean) / (n - 1) as f64).max(0.0)
            }
        };
        variance_ns2.sqrt() / 1e9
    }

    /// The sums as JSON: `{"count": n, "sum_ns": "...", "sum_sq_ns": "..."}` (the sums as
    /// decimal strings, since they outgrow the integers JSON readers keep exactly).
    pub fn to_json(&self) -> Value {
        json!({
            "count": self.count,
            "sum_ns": self.sum_ns.to_string(),
            "sum_sq_ns": self.sum_sq_ns.to_string(),
        })
    }

    /// Reads [`to_json`](Self::to_json)'s form back.
    pub fn from_json(value: &Value) -> Option<ExactTimes> {
        Some(ExactTimes {
            count: value.get("count")?.as_u64()?,
            sum_ns: value.get("sum_ns")?.as_str()?.parse().ok()?,
            sum_sq_ns: value.get("sum_sq_ns")?.as_str()?.parse().ok()?,
        })
    }
}

/// The fields of a report that depend on the machines, not on the trials (see the module docs),
/// as JSON paths (`[]` for every element of an array).
pub const MACHINE_DEPENDENT: &[&str] = &[
    "execution_time",
    "extra_data.jobs",
    "extra_data.wall_s",
    "tests[].extra_data.wall_total_s",
    "tests[].extra_data.failing_seeds[].bundle",
    "tests[].output: lines starting with `bundle:` or `timeline:`",
];

/// `report` without its [`MACHINE_DEPENDENT`] fields: two reports of the same seeds, on one
/// machine or merged from shards, are equal after this.
pub fn without_machine_fields(report: &Value) -> Value {
    let mut r = report.clone();
    if let Some(o) = r.as_object_mut() {
        o.remove("execution_time");
    }
    if let Some(o) = r.get_mut("extra_data").and_then(Value::as_object_mut) {
        o.remove("jobs");
        o.remove("wall_s");
    }
    if let Some(tests) = r.get_mut("tests").and_then(Value::as_array_mut) {
        for t in tests {
            if let Some(Value::String(text)) = t.get_mut("output") {
                *text = without_bundle_lines(text);
            }
            if let Some(extra) = t.get_mut("extra_data").and_then(Value::as_object_mut) {
                extra.remove("wall_total_s");
                if let Some(seeds) = extra.get_mut("failing_seeds").and_then(Value::as_array_mut) {
                    for s in seeds.iter_mut().filter_map(Value::as_object_mut) {
                        s.remove("bundle");
                    }
                }
            }
        }
    }
    r
}

/// `text` without its `bundle: PATH` and `timeline: PATH` lines.
pub fn without_bundle_lines(text: &str) -> String {
    text.lines()
        .filter(|l| {
            let l = l.trim_start();
            !l.starts_with("bundle: ") && !l.starts_with("timeline: ")
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A JUnit report without its machine-dependent parts: `time="..."` attributes, the `jobs`
/// property and bundle lines.
pub fn junit_without_machine_fields(xml: &str) -> String {
    let mut out = String::new();
    for line in xml.lines() {
        let trimmed = line.trim_start();
        if line.contains("<property name=\"jobs\"")
            || trimmed.starts_with("bundle: ")
            || trimmed.starts_with("timeline: ")
        {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find(" time=\"") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 7..];
            rest = after.find('"').map_or("", |end| &after[end + 1..]);
        }
        out.push_str(rest);
        out.push('\n');
    }
    out
}

/// Shards' reports could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no reports to merge: give the results.json of every shard")]
    Empty,
    /// A report could not be read.
    #[error("cannot read the report {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not a report of `harness run` or `harness grade` (or of an older harness).
    #[error("{path} is not a shard report of harness run or grade: {why}")]
    NotAReport {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        why: String,
    },
    /// Two reports come from different runs.
    #[error("{first} and {second} are not shards of one run: {what} differs ({a} vs {b}); every shard must be run with the same command but for --shard")]
    Mismatch {
        /// One report.
        first: PathBuf,
        /// The other.
        second: PathBuf,
        /// The setting that differs.
        what: String,
        /// Its value in `first`.
        a: String,
        /// Its value in `second`.
        b: String,
    },
    /// The same shard was given twice.
    #[error("shard {shard} is given twice ({first} and {second}): each shard's report once")]
    Duplicate {
        /// The shard.
        shard: Shard,
        /// One report.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// Some shards are missing.
    #[error(
        "{} missing: a run split into {count} shards needs all of them (got {got})",
        plural_shards(missing)
    )]
    Missing {
        /// The number of shards.
        count: u64,
        /// The shards that are missing.
        missing: Vec<Shard>,
        /// What was given, as `K/N from FILE`.
        got: String,
    },
    /// A shard did not run all its trials.
    #[error("{path} (shard {shard}) was interrupted: only {finished} of its {planned} trials ran; run that shard again")]
    Interrupted {
        /// The report.
        path: PathBuf,
        /// Its shard.
        shard: Shard,
        /// Trials that ran.
        finished: u64,
        /// Trials planned.
        planned: u64,
    },
    /// A report's figures do not fit its shard.
    #[error("{path} does not add up as shard {shard}: {why}")]
    Inconsistent {
        /// The report.
        path: PathBuf,
        /// Its shard.
        shard: Shard,
        /// What does not fit.
        why: String,
    },
}

fn plural_shards(missing: &[Shard]) -> String {
    let names: Vec<String> = missing.iter().map(Shard::to_string).collect();
    match names.len() {
        1 => format!("shard {} is", names[0]),
        _ => format!("shards {} are", names.join(", ")),
    }
}

/// What a report says about one grader.
#[derive(Debug, Clone)]
struct GraderPart {
    summary: GraderSummary,
    threshold: f64,
    max_score: f64,
}

/// One shard's report, read back.
#[derive(Debug, Clone)]
pub struct ShardReport {
    /// Where it was read from.
    pub path: PathBuf,
    /// The executor.
    executor: Executor,
    seed_start: u64,
    runs: u64,
    shard: Shard,
    check_determinism: bool,
    monitor: bool,
    version: String,
    visibility: String,
    jobs: usize,
    wall: Duration,
    interrupted: bool,
    graders: Vec<GraderPart>,
    /// What `harness grade` adds to a report (`extra_data.grade`), if it wrote it.
    pub grade: Option<Value>,
}

fn field<'a>(v: &'a Value, key: &str, path: &Path) -> Result<&'a Value, MergeError> {
    v.get(key).ok_or_else(|| MergeError::NotAReport {
        path: path.to_path_buf(),
        why: format!("no `{key}` field"),
    })
}

fn u64_field(v: &Value, key: &str, path: &Path) -> Result<u64, MergeError> {
    field(v, key, path)?
        .as_u64()
        .ok_or_else(|| MergeError::NotAReport {
            path: path.to_path_buf(),
            why: format!("`{key}` is not a whole number"),
        })
}

fn f64_field(v: &Value, key: &str, path: &Path) -> Result<f64, MergeError> {
    field(v, key, path)?
        .as_f64()
        .ok_or_else(|| MergeError::NotAReport {
            path: path.to_path_buf(),
            why: format!("`{key}` is not a number"),
        })
}

fn str_field<'a>(v: &'a Value, key: &str, path: &Path) -> Result<&'a str, MergeError> {
    field(v, key, path)?
        .as_str()
        .ok_or_else(|| MergeError::NotAReport {
            path: path.to_path_buf(),
            why: format!("`{key}` is not text"),
        })
}

impl ShardReport {
    /// Reads a report written by `harness run --json` or `harness grade`.
    pub fn read(path: &Path) -> Result<ShardReport, MergeError> {
        let text = std::fs::read_to_string(path).map_err(|source| MergeError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|e| MergeError::NotAReport {
            path: path.to_path_buf(),
            why: format!("not valid JSON: {e}"),
        })?;
        ShardReport::from_json(path, &value)
    }

    /// Reads a report from its JSON; `path` names it in errors.
    pub fn from_json(path: &Path, value: &Value) -> Result<ShardReport, MergeError> {
        let not = |why: String| MergeError::NotAReport {
            path: path.to_path_buf(),
            why,
        };
        let extra = field(value, "extra_data", path)?;
        let executor: Executor = str_field(extra, "executor", path)?
            .parse()
            .map_err(|e: String| not(e))?;
        let shard: Shard = str_field(extra, "shard", path)?
            .parse()
            .map_err(|e: super::shard::ShardError| not(e.to_string()))?;
        let names: Vec<&str> = field(extra, "graders", path)?
            .as_array()
            .ok_or_else(|| not("`graders` is not a list".into()))?
            .iter()
            .map(|n| {
                n.as_str()
                    .ok_or_else(|| not("a grader name is not text".into()))
            })
            .collect::<Result<_, _>>()?;
        let tests = field(value, "tests", path)?
            .as_array()
            .ok_or_else(|| not("`tests` is not a list".into()))?;
        let mut by_name = BTreeMap::new();
        for t in tests {
            let te = field(t, "extra_data", path)?;
            // The lint's test of a graded report is made again from `extra_data.grade`.
            if te["lint"] == true {
                continue;
            }
            by_name.insert(str_field(te, "grader", path)?, t);
        }
        let mut graders = Vec::new();
        for name in &names {
            let grader = graders::by_name(name).ok_or_else(|| {
                not(format!(
                    "it names a grader this harness does not have: {name:?} (a report of another version?)"
                ))
            })?;
            let t = by_name
                .get(name)
                .ok_or_else(|| not(format!("no test for grader {name}")))?;
            let te = field(t, "extra_data", path)?;
            let run_time =
                ExactTimes::from_json(field(te, "run_time_ns", path)?).ok_or_else(|| {
                    not(format!(
                        "{name}: `run_time_ns` is not count/sum_ns/sum_sq_ns"
                    ))
                })?;
            // The distinct errors, each once (a report of an older harness has none, and
            // gives each seed's error whole).
            let errors: Vec<&str> = match te.get("errors") {
                None => Vec::new(),
                Some(list) => list
                    .as_array()
                    .ok_or_else(|| not(format!("{name}: `errors` is not a list")))?
                    .iter()
                    .map(|e| str_field(e, "error", path))
                    .collect::<Result<_, _>>()?,
            };
            // Bundles are named relative to the report's folder.
            let folder = path.parent().unwrap_or(Path::new(""));
            let mut failures = Vec::new();
            for f in field(te, "failing_seeds", path)?
                .as_array()
                .ok_or_else(|| not(format!("{name}: `failing_seeds` is not a list")))?
            {
                let bundle = f
                    .get("bundle")
                    .and_then(Value::as_str)
                    .map(|b| folder.join(b));
                let error = match field(f, "error", path)? {
                    Value::String(text) => text.clone(),
                    Value::Number(n) => n
                        .as_u64()
                        .and_then(|i| errors.get(usize::try_from(i).ok()?))
                        .ok_or_else(|| {
                            not(format!(
                                "{name}: a failing seed's `error` is not the position of one of \
                                 its {} errors",
                                errors.len()
                            ))
                        })?
                        .to_string(),
                    _ => {
                        return Err(not(format!(
                            "{name}: a failing seed's `error` is neither text nor a position"
                        )))
                    }
                };
                // A trial's timeline page is written next to its bundle, under the same name;
                // the report does not name it, so it is found when this machine has it.
                let page = bundle
                    .as_ref()
                    .map(|b| b.with_extension("html"))
                    .filter(|p| p.is_file());
                failures.push(FailedSeed {
                    seed: u64_field(f, "seed", path)?,
                    error,
                    bundle,
                    page,
                });
            }
            let mut warnings = Vec::new();
            for w in field(te, "warnings", path)?
                .as_array()
                .ok_or_else(|| not(format!("{name}: `warnings` is not a list")))?
            {
                warnings.push(WarnedSeed {
                    seed: u64_field(w, "seed", path)?,
                    warning: str_field(w, "warning", path)?.to_string(),
                });
            }
            let summary = GraderSummary {
                grader,
                planned: u64_field(te, "planned", path)?,
                passed: u64_field(te, "passed", path)?,
                failed: u64_field(te, "failed", path)?,
                run_time,
                wall_total: Duration::from_secs_f64(f64_field(te, "wall_total_s", path)?.max(0.0)),
                failures,
                warned: u64_field(te, "warned", path)?,
                warnings,
            };
            graders.push(GraderPart {
                summary,
                threshold: f64_field(te, "threshold", path)?,
                max_score: f64_field(t, "max_score", path)?,
            });
        }
        Ok(ShardReport {
            path: path.to_path_buf(),
            executor,
            seed_start: u64_field(extra, "seed_start", path)?,
            runs: u64_field(extra, "runs", path)?,
            shard,
            check_determinism: field(extra, "check_determinism", path)?
                .as_bool()
                .ok_or_else(|| not("`check_determinism` is not true or false".into()))?,
            monitor: field(extra, "monitor", path)?
                .as_bool()
                .ok_or_else(|| not("`monitor` is not true or false".into()))?,
            version: str_field(extra, "harness_version", path)?.to_string(),
            visibility: str_field(value, "visibility", path)?.to_string(),
            jobs: u64_field(extra, "jobs", path)? as usize,
            wall: Duration::from_secs_f64(f64_field(extra, "wall_s", path)?.max(0.0)),
            interrupted: field(extra, "interrupted", path)?
                .as_bool()
                .ok_or_else(|| not("`interrupted` is not true or false".into()))?,
            graders,
            grade: extra.get("grade").cloned(),
        })
    }

    /// The shard it covers.
    pub fn shard(&self) -> Shard {
        self.shard
    }

    /// Each grader's figures, in the run's order.
    pub fn grader_summaries(&self) -> Vec<GraderSummary> {
        self.graders.iter().map(|g| g.summary.clone()).collect()
    }

    /// The settings that must agree between the shards of one run, by name.
    fn settings(&self) -> Vec<(String, String)> {
        let mut s = vec![
            ("the harness version".to_string(), self.version.clone()),
            ("the executor".to_string(), self.executor.to_string()),
            ("--seed-start".to_string(), self.seed_start.to_string()),
            ("--runs".to_string(), self.runs.to_string()),
            (
                "the number of shards".to_string(),
                self.shard.count().to_string(),
            ),
            (
                "--check-determinism".to_string(),
                self.check_determinism.to_string(),
            ),
            (
                "the safety monitor (--no-monitor, LAB_MONITOR)".to_string(),
                self.monitor.to_string(),
            ),
            ("--visibility".to_string(), self.visibility.clone()),
            (
                "the graders".to_string(),
                self.graders
                    .iter()
                    .map(|g| g.summary.grader.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        ];
        for g in &self.graders {
            let name = g.summary.grader.name;
            s.push((format!("the threshold of {name}"), g.threshold.to_string()));
            s.push((format!("the max_score of {name}"), g.max_score.to_string()));
        }
        // The same submission, and the same findings, whatever folder each machine read it from.
        let graded = self.grade.as_ref().map_or_else(
            || "none".to_string(),
            |g| {
                let mut g = g.clone();
                if let Some(o) = g.as_object_mut() {
                    // Where it was read from, and what each machine's children did (their
                    // writes' confinement, the forged lines of their seeds), may differ.
                    for key in ["submission", "path", "forged", "confinement"] {
                        o.remove(key);
                    }
                }
                g.to_string()
            },
        );
        s.push((
            "the graded submission (extra_data.grade)".to_string(),
            graded,
        ));
        s
    }

    /// Whether this is the report of a submission that did not compile or was refused (no
    /// trial ran).
    fn build_failed(&self) -> bool {
        self.grade.as_ref().is_some_and(|g| {
            serde_json::from_value::<super::grade::GradeExtras>(g.clone())
                .is_ok_and(|e| e.not_graded())
        })
    }

    /// Checks that the figures fit the shard: the planned trials are the shard's, all of them
    /// ran, and every failing seed is one of the shard's.
    fn check(&self) -> Result<(), MergeError> {
        let inconsistent = |why: String| MergeError::Inconsistent {
            path: self.path.clone(),
            shard: self.shard,
            why,
        };
        let expected = self
            .shard
            .planned(self.graders.len(), self.seed_start, self.runs);
        let (mut finished, mut planned) = (0, 0);
        for (i, (g, want)) in self.graders.iter().zip(expected).enumerate() {
            let s = &g.summary;
            if s.planned != want {
                return Err(inconsistent(format!(
                    "{} planned {} trials, but the shard holds {want}",
                    s.grader.name, s.planned
                )));
            }
            if s.failures.len() as u64 != s.failed && !self.build_failed() {
                return Err(inconsistent(format!(
                    "{} counts {} failed trials but lists {} failing seeds",
                    s.grader.name,
                    s.failed,
                    s.failures.len()
                )));
            }
            if s.run_time.count() != s.finished() {
                return Err(inconsistent(format!(
                    "{} has run times of {} trials but {} finished",
                    s.grader.name,
                    s.run_time.count(),
                    s.finished()
                )));
            }
            if let Some(f) = s.failures.iter().find(|f| {
                !self
                    .shard
                    .contains(self.graders.len(), self.seed_start, self.runs, i, f.seed)
            }) {
                return Err(inconsistent(format!(
                    "{} failed on seed {}, which is not one of the shard's",
                    s.grader.name, f.seed
                )));
            }
            finished += s.finished();
            planned += s.planned;
        }
        if self.interrupted || (finished < planned && !self.build_failed()) {
            return Err(MergeError::Interrupted {
                path: self.path.clone(),
                shard: self.shard,
                finished,
                planned,
            });
        }
        if finished > planned {
            return Err(inconsistent(format!(
                "{finished} trials finished but only {planned} were planned"
            )));
        }
        Ok(())
    }
}

/// The merged run: the figures, and the policy and visibility the shards were graded with.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The figures of the whole run.
    pub summary: RunSummary,
    /// The thresholds and points of the graders.
    pub policy: Policy,
    /// The `visibility` of the tests.
    pub visibility: String,
    /// What `harness grade` added to the shards' reports, if they are grade reports.
    pub grade: Option<Value>,
}

/// Checks that `reports` are all the shards of one run, each once, and adds them up.
pub fn merge_reports(reports: &[ShardReport]) -> Result<Merged, MergeError> {
    let first = reports.first().ok_or(MergeError::Empty)?;
    let settings = first.settings();
    let mut seen: BTreeMap<u64, &Path> = BTreeMap::new();
    for r in reports {
        for ((what, a), (_, b)) in settings.iter().zip(r.settings()) {
            if *a != b {
                return Err(MergeError::Mismatch {
                    first: first.path.clone(),
                    second: r.path.clone(),
                    what: what.clone(),
                    a: a.clone(),
                    b,
                });
            }
        }
        if let Some(earlier) = seen.insert(r.shard.index(), &r.path) {
            return Err(MergeError::Duplicate {
                shard: r.shard,
                first: earlier.to_path_buf(),
                second: r.path.clone(),
            });
        }
        r.check()?;
    }
    let count = first.shard.count();
    let missing: Vec<Shard> = (1..=count)
        .filter(|k| !seen.contains_key(k))
        .filter_map(|k| Shard::new(k, count))
        .collect();
    if !missing.is_empty() {
        let got: Vec<String> = seen
            .iter()
            .map(|(k, p)| format!("{k}/{count} from {}", p.display()))
            .collect();
        return Err(MergeError::Missing {
            count,
            missing,
            got: got.join(", "),
        });
    }

    let mut policy = Policy::default();
    let mut graders: Vec<GraderSummary> = Vec::new();
    for g in &first.graders {
        policy.graders.insert(
            g.summary.grader.name.to_string(),
            GraderPolicy {
                threshold: Some(g.threshold),
                max_score: Some(g.max_score),
            },
        );
        graders.push(GraderSummary::new(g.summary.grader, 0));
    }
    let (mut jobs, mut wall, mut bundles) = (0, Duration::ZERO, 0);
    for r in reports {
        jobs += r.jobs;
        wall += r.wall;
        for (total, part) in graders.iter_mut().zip(&r.graders) {
            let s = &part.summary;
            total.planned += s.planned;
            total.passed += s.passed;
            total.failed += s.failed;
            total.run_time.merge(&s.run_time);
            total.wall_total += s.wall_total;
            total.failures.extend(s.failures.iter().cloned());
            total.warned += s.warned;
            total.keep_warnings(s.warnings.iter().cloned());
            bundles += s.failures.iter().filter(|f| f.bundle.is_some()).count() as u64;
        }
    }
    for g in &mut graders {
        g.failures.sort_by_key(|f| f.seed);
    }
    Ok(Merged {
        summary: RunSummary {
            graders,
            executor: first.executor,
            seed_start: first.seed_start,
            runs: first.runs,
            jobs,
            wall,
            interrupted: false,
            out_dir: None,
            bundles,
            shard: Shard::WHOLE,
            check_determinism: first.check_determinism,
            monitor: first.monitor,
        },
        policy,
        visibility: first.visibility.clone(),
        grade: first.grade.clone(),
    })
}

/// Reads the shard reports at `paths` and merges them.
pub fn merge_files(paths: &[PathBuf]) -> Result<Merged, MergeError> {
    let reports = paths
        .iter()
        .map(|p| ShardReport::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    merge_reports(&reports)
}

/// The end of `harness merge --help`: a worked example.
pub const MERGE_HELP: &str = "\
Example: 1000 seeds of every grader on four machines, then one report.
  machine K (K = 1..4):  harness run all --runs 1000 --shard K/4 --json shard-K.json
  afterwards:            harness merge shard-1.json shard-2.json shard-3.json shard-4.json \\
                             -o results.json --junit junit.xml

Every shard must be run with the same command but for --shard (same graders, seeds,
thresholds and executor); merge checks that, that each of the N shards is there exactly once,
and that none was interrupted. The merged report is the one a single machine would have
written for the same seeds, except for the wall times, job counts and bundles.

Exit codes: 0 every grader passed, 1 a grader failed, 2 the reports do not merge.";

/// `harness merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The shards' reports (`run --shard K/N --json FILE`, or `grade --shard K/N`), in any order.
    #[arg(required = true, value_name = "REPORT")]
    pub reports: Vec<PathBuf>,
    /// Write the merged results.json here.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// Also write a JUnit XML report of the merged run here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// The Gradescope report of a merged run (with what `harness grade` adds, for grade reports),
/// to be written at `path` (its bundles are named relative to that folder).
pub fn merged_json(merged: &Merged, path: &Path) -> Value {
    let mut value =
        report::gradescope_report(&merged.summary, &merged.policy, &merged.visibility, path);
    if let Some(grade) = &merged.grade {
        super::grade::decorate_report(&mut value, grade);
    }
    value
}

/// Runs `harness merge`: reads, checks and merges the reports, writes the merged ones, and
/// prints the run's table and failing seeds. Exit code 0 when every grader met its threshold.
pub fn merge_command(args: &MergeArgs) -> Result<i32, CliError> {
    let merged = merge_files(&args.reports)?;
    let summary = &merged.summary;
    print!("{}", super::failures_text(summary));
    print!("{}", stats::format_table(summary, false));
    let text = serde_json::to_string_pretty(&merged_json(&merged, &args.output))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    report::write_report(&args.output, &text)?;
    println!(
        "{} shard reports merged; results.json written to {}",
        args.reports.len(),
        args.output.display()
    );
    if let Some(path) = &args.junit {
        report::write_report(
            path,
            &super::grade::junit_report(
                &report::for_report(summary, path),
                &merged.policy,
                merged.grade.as_ref(),
            ),
        )?;
        println!("JUnit report written to {}", path.display());
    }
    let all_ok = summary
        .graders
        .iter()
        .all(|g| report::grade(g, &merged.policy).ok && g.finished() == g.planned);
    Ok(if all_ok { EXIT_PASSED } else { EXIT_FAILED })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_times_do_not_depend_on_order() {
        let ds: Vec<Duration> = [3.25, 0.5, 7.0, 1.125, 2.0]
            .iter()
            .map(|&s| Duration::from_secs_f64(s))
            .collect();
        let mut forward = ExactTimes::default();
        ds.iter().for_each(|&d| forward.push(d));
        let mut backward = ExactTimes::default();
        ds.iter().rev().for_each(|&d| backward.push(d));
        assert_eq!(forward, backward);
        assert_eq!(forward.mean().to_bits(), backward.mean().to_bits());
        let mean = ds.iter().map(Duration::as_secs_f64).sum::<f64>() / 5.0;
        let var = ds
            .iter()
            .map(|d| (d.as_secs_f64() - mean).powi(2))
            .sum::<f64>()
            / 4.0;
        assert!((forward.mean() - mean).abs() < 1e-12);
        assert!((forward.sd() - var.sqrt()).abs() < 1e-9);
        assert_eq!(ExactTimes::from_json(&forward.to_json()), Some(forward));
        assert_eq!(ExactTimes::default().sd(), 0.0);
    }

    #[test]
    fn machine_fields_are_removed_and_nothing_else() {
        let report = json!({
            "score": 1.0,
            "execution_time": 3,
            "extra_data": {"jobs": 4, "wall_s": 2.5, "runs": 10},
            "tests": [{
                "output": "seed 3: boom\n    replay: x\n    bundle: /tmp/a/failed.log\n",
                "extra_data": {"wall_total_s": 1.0, "passed": 9,
                               "failing_seeds": [{"seed": 3, "bundle": "/tmp/a"}]}
            }]
        });
        let stripped = without_machine_fields(&report);
        assert_eq!(
            stripped,
            json!({
                "score": 1.0,
                "extra_data": {"runs": 10},
                "tests": [{
                    "output": "seed 3: boom\n    replay: x\n",
                    "extra_data": {"passed": 9, "failing_seeds": [{"seed": 3}]}
                }]
            })
        );
        let xml = "<testsuite name=\"x\" time=\"1.250\" tests=\"2\">\n<property name=\"jobs\" value=\"4\"/>\n<testcase time=\"0.5\"/>\n";
        assert_eq!(
            junit_without_machine_fields(xml),
            "<testsuite name=\"x\" tests=\"2\">\n<testcase/>\n"
        );
    }
}
