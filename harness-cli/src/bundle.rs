//! Failure bundles: one text file per failing trial, with everything needed to understand and
//! replay it — the error, the seed, the settings, the exact replay command — and the run's
//! debug log, its last [`BUNDLE_LOG_BYTES`] when it is longer.
//!
//! A bundle starts with a header of `# key: value` lines and continues with the log in the
//! format of [`harness::logs`]. The log view ([`harness::logview::render`], `harness view FILE`)
//! prints the header first and then the log as one column per peer.
//!
//! ```text
//! # harness trial bundle
//! # grader: initial_election
//! # title: Test (3A): initial election
//! # seed: 17
//! # executor: sim
//! # result: failed
//! # error: expected one leader, got none
//! # replay: cargo run --release -p harness-cli -- replay initial_election --seed 17
//! # view: cargo run --release -p harness-cli -- view lab-results/.../failed-initial_election-seed17.log
//! # ...
//! #
//!   0.000000 TEST   -   -    begin: Test (3A): initial election (reliable network)
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use labrpc::runtime::Executor;

use harness::graders::Grader;

/// The first line of every bundle.
pub const BUNDLE_MAGIC: &str = "# harness trial bundle";

/// The most bytes of log a bundle keeps: its end, where the failure is (a `reliable_churn`
/// failure logs over a megabyte at `debug`). What is cut is said in the header (`log-cut`)
/// and on the log's first line; the bundle's replay command shows the whole log.
pub const BUNDLE_LOG_BYTES: usize = 256 << 10;

/// The end of `log` in at most `max` bytes, from the start of a line, and how many lines and
/// bytes were left out before it (`None` when nothing was).
///
/// ```
/// use harness_cli::bundle::log_end;
///
/// assert_eq!(log_end("a\nbb\nccc\n", 100), ("a\nbb\nccc\n", None));
/// assert_eq!(log_end("a\nbb\nccc\n", 5), ("ccc\n", Some((2, 5))));
/// ```
pub fn log_end(log: &str, max: usize) -> (&str, Option<(usize, usize)>) {
    if log.len() <= max {
        return (log, None);
    }
    let mut from = log.len() - max;
    while !log.is_char_boundary(from) {
        from += 1;
    }
    // Start at the next whole line (a line longer than `max` is left out whole).
    let from = if from > 0 && log.as_bytes()[from - 1] == b'\n' {
        from
    } else {
        log[from..].find('\n').map_or(log.len(), |i| from + i + 1)
    };
    let lines = log[..from].matches('\n').count();
    (&log[from..], Some((lines, from)))
}

/// The folder under which runs keep their bundles by default.
pub const RESULTS_ROOT: &str = "lab-results";

/// A bundle could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the trial bundle {path}: {source}")]
pub struct BundleError {
    /// The file (or folder) that could not be written.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// Everything a bundle holds.
#[derive(Debug, Clone)]
pub struct Bundle<'a> {
    /// The grader.
    pub grader: Grader,
    /// The seed.
    pub seed: u64,
    /// The executor of the trial.
    pub executor: Executor,
    /// Why the trial failed; `None` for a passing trial kept with `--keep-all`.
    pub error: Option<String>,
    /// Run time of the failed check, when the tester said.
    pub failed_at: Option<Duration>,
    /// Run time at the end of the trial (virtual in sim mode).
    pub run_time: Duration,
    /// The wall-clock watchdog of the trial.
    pub stuck_after: Duration,
    /// Whether the trial was run twice to check determinism.
    pub check_determinism: bool,
    /// The command that replays the trial.
    pub replay: String,
    /// The log filter the log was captured with.
    pub log_filter: String,
    /// Anything else worth knowing about the trial.
    pub notes: Vec<String>,
    /// The trial's timeline page, if one was written.
    pub timeline: Option<PathBuf>,
    /// The run's log.
    pub log: &'a str,
}

impl Bundle<'_> {
    /// The file name: `failed-<grader>-seed<seed>.log` (or `passed-...`), so failures sort
    /// together.
    pub fn file_name(&self) -> String {
        let status = if self.error.is_some() {
            "failed"
        } else {
            "passed"
        };
        format!("{status}-{}-seed{}.log", self.grader.name, self.seed)
    }

    /// The bundle's text; `path`, where it will be saved, gives the command that views it.
    pub fn render(&self, path: Option<&Path>) -> String {
        let mut header: Vec<(&str, String)> = vec![
            ("grader", self.grader.name.to_string()),
            ("title", self.grader.title.to_string()),
            ("part", self.grader.part.to_string()),
            ("seed", self.seed.to_string()),
            ("executor", self.executor.to_string()),
            (
                "result",
                if self.error.is_some() {
                    "failed"
                } else {
                    "passed"
                }
                .to_string(),
            ),
        ];
        if let Some(e) = &self.error {
            header.push(("error", e.clone()));
        }
        if let Some(at) = self.failed_at {
            header.push(("failed-at", format!("{:.6}s", at.as_secs_f64())));
        }
        header.push(("run-time", format!("{:.6}s", self.run_time.as_secs_f64())));
        header.push(("stuck-after", format!("{:?}", self.stuck_after)));
        header.push((
            "determinism-check",
            if self.check_determinism { "on" } else { "off" }.to_string(),
        ));
        header.push(("log-filter", self.log_filter.clone()));
        header.push(("replay", self.replay.clone()));
        if let Some(path) = path {
            header.push((
                "view",
                format!(
                    "cargo run --release -p harness-cli -- view {}",
                    path.display()
                ),
            ));
        }
        if let Some(page) = &self.timeline {
            header.push(("timeline", page.display().to_string()));
        }
        if self.executor == Executor::Real {
            header.push((
                "note",
                "a real-time trial depends on thread timing: the replay runs the same seed, \
                 but may not fail the same way"
                    .to_string(),
            ));
        }
        for note in &self.notes {
            header.push(("note", note.clone()));
        }
        let (log, cut) = log_end(self.log, BUNDLE_LOG_BYTES);
        let cut_line = cut.map(|(lines, bytes)| {
            let said = format!(
                "the log's first {lines} lines ({} KiB) were left out: a bundle keeps the last \
                 {} KiB of it; the replay command shows the whole log",
                bytes.div_ceil(1024),
                BUNDLE_LOG_BYTES / 1024
            );
            header.push(("log-cut", said.clone()));
            said
        });
        header.push(("harness", env!("CARGO_PKG_VERSION").to_string()));

        let mut text = String::with_capacity(log.len() + 1024);
        text.push_str(BUNDLE_MAGIC);
        text.push('\n');
        for (key, value) in header {
            // A value of several lines continues on indented `#` lines.
            let mut lines = value.lines();
            text.push_str(&format!("# {key}: {}\n", lines.next().unwrap_or("")));
            for more in lines {
                text.push_str(&format!("#   {more}\n"));
            }
        }
        text.push_str("#\n");
        if let Some(said) = cut_line {
            // The log's own words too, as the capture says when it lets lines go.
            text.push_str(&format!("[{said}]\n"));
        }
        text.push_str(log);
        if !log.is_empty() && !log.ends_with('\n') {
            text.push('\n');
        }
        text
    }

    /// Writes the bundle into `dir` (created if needed) and returns its path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, BundleError> {
        std::fs::create_dir_all(dir).map_err(|source| BundleError {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(self.file_name());
        std::fs::write(&path, self.render(Some(&path))).map_err(|source| BundleError {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}

/// The `# key: value` lines of a bundle's header, in order (continuation lines are joined to
/// their value with newlines).
///
/// ```
/// use harness_cli::bundle::read_header;
///
/// let text = "# harness trial bundle\n# seed: 17\n# error: two\n#   lines\n#\n  0.000000 TEST - - x\n";
/// let header = read_header(text);
/// assert_eq!(header[0], ("seed".to_string(), "17".to_string()));
/// assert_eq!(header[1], ("error".to_string(), "two\nlines".to_string()));
/// ```
pub fn read_header(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        if let Some(more) = line.strip_prefix("#   ") {
            if let Some((_, value)) = out.last_mut() {
                value.push('\n');
                value.push_str(more);
            }
        } else if let Some((key, value)) = line
            .strip_prefix("# ")
            .and_then(|rest| rest.split_once(": "))
        {
            out.push((key.to_string(), value.to_string()));
        }
    }
    out
}

/// The log part of a bundle (everything after the header).
pub fn log_part(text: &str) -> String {
    text.lines()
        .skip_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `YYYYmmdd-HHMMSS` (UTC) for `time`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use harness_cli::bundle::timestamp;
///
/// assert_eq!(timestamp(UNIX_EPOCH), "19700101-000000");
/// assert_eq!(timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_723)), "20000229-010203");
/// ```
pub fn timestamp(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_date(days);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The calendar date (proleptic Gregorian) of a day count since 1970-01-01.
fn civil_date(days: u64) -> (u64, u64, u64) {
    // Count from 0000-03-01 so that the leap day ends each 4/100/400-year cycle.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// The default output folder of a run started now: `lab-results/<YYYYmmdd-HHMMSS>`.
pub fn default_out_dir() -> PathBuf {
    Path::new(RESULTS_ROOT).join(timestamp(SystemTime::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_across_leap_years() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(59), (1970, 3, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(20_819), (2027, 1, 1));
        assert_eq!(civil_date(47_540), (2100, 2, 28));
        assert_eq!(civil_date(47_541), (2100, 3, 1));
    }

    #[test]
    fn header_round_trips() {
        let grader = harness::graders::all()[0];
        let bundle = Bundle {
            grader,
            seed: 9,
            executor: Executor::Sim,
            error: Some("line one\nline two".into()),
            failed_at: Some(Duration::from_millis(1500)),
            run_time: Duration::from_secs(2),
            stuck_after: Duration::from_secs(10),
            check_determinism: false,
            replay: "replay me".into(),
            log_filter: "debug".into(),
            notes: vec![],
            timeline: None,
            log: "  0.000000 TEST   -   -    hello\n",
        };
        let text = bundle.render(Some(Path::new("out/b.log")));
        assert!(text.starts_with(BUNDLE_MAGIC));
        let header = read_header(&text);
        let get = |k: &str| {
            header
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("seed").as_deref(), Some("9"));
        assert_eq!(get("error").as_deref(), Some("line one\nline two"));
        assert_eq!(get("failed-at").as_deref(), Some("1.500000s"));
        assert_eq!(
            get("view").as_deref(),
            Some("cargo run --release -p harness-cli -- view out/b.log")
        );
        assert_eq!(log_part(&text), "  0.000000 TEST   -   -    hello\n");
        assert!(get("log-cut").is_none());
    }

    #[test]
    fn a_long_log_keeps_its_end_and_says_what_was_cut() {
        let log: String = (0..20_000)
            .map(|i| format!("{:>3}.{:06} TEST   -   -    line {i}\n", i / 1000, i % 1000))
            .collect();
        assert!(log.len() > 2 * BUNDLE_LOG_BYTES);
        let bundle = Bundle {
            grader: harness::graders::all()[0],
            seed: 3,
            executor: Executor::Sim,
            error: Some("boom".into()),
            failed_at: None,
            run_time: Duration::from_secs(20),
            stuck_after: Duration::from_secs(10),
            check_determinism: false,
            replay: "replay me".into(),
            log_filter: "debug".into(),
            notes: vec![],
            timeline: None,
            log: &log,
        };
        let text = bundle.render(None);
        assert!(text.len() < BUNDLE_LOG_BYTES + 2048, "{}", text.len());
        let header = read_header(&text);
        let cut = header
            .iter()
            .find(|(k, _)| k == "log-cut")
            .map(|(_, v)| v.clone())
            .expect("the header says what was cut");
        let kept = log_part(&text);
        let first_kept: usize = kept
            .lines()
            .nth(1)
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("a numbered line");
        assert_eq!(
            cut,
            format!(
                "the log's first {first_kept} lines ({} KiB) were left out: a bundle keeps the \
                 last 256 KiB of it; the replay command shows the whole log",
                log.len()
                    .saturating_sub(kept.len() - kept.lines().next().map_or(0, |l| l.len() + 1))
                    .div_ceil(1024)
            )
        );
        assert_eq!(kept.lines().next(), Some(format!("[{cut}]").as_str()));
        assert!(kept.ends_with("line 19999\n"));
    }
}
