//! Running figures (mean and standard deviation without keeping every sample) and the final
//! table of a run.

use std::fmt::Write as _;
use std::time::Duration;

use super::run::RunSummary;

/// Mean and standard deviation of a stream of samples (Welford's method: one pass, stable).
///
/// ```
/// use harness_cli::stats::Running;
///
/// let mut r = Running::default();
/// for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
///     r.push(x);
/// }
/// assert_eq!(r.mean(), 5.0);
/// assert!((r.sd() - 2.138).abs() < 0.001); // the sample standard deviation
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Running {
    count: u64,
    mean: f64,
    m2: f64,
}

impl Running {
    /// Adds a sample.
    pub fn push(&mut self, x: f64) {
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// How many samples.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The mean (0 with no samples).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The sample standard deviation (0 with fewer than two samples).
    pub fn sd(&self) -> f64 {
        if self.count < 2 {
            0.0
        } else {
            (self.m2 / (self.count - 1) as f64).sqrt()
        }
    }
}

/// A duration for the table: `0.42ms`, `850ms`, `12.3s`, `2m05s`.
pub fn short_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 0.01 {
        format!("{:.2}ms", secs * 1000.0)
    } else if secs < 1.0 {
        format!("{:.0}ms", secs * 1000.0)
    } else if secs < 120.0 {
        format!("{secs:.1}s")
    } else {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// The final table of a run: one row per grader, then a line of totals with the rate.
///
/// Columns: grader, passed, failed, total (finished of planned, when the run was cut short),
/// pass rate, run time per trial (mean ± sd, virtual in sim mode), and wall time per trial.
/// With `color`, a grader's row is green when all its trials passed and red when one failed.
pub fn format_table(summary: &RunSummary, color: bool) -> String {
    let name_width = summary
        .graders
        .iter()
        .map(|g| g.grader.name.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let time_label = match summary.executor {
        labrpc::runtime::Executor::Sim => "sim time/trial",
        labrpc::runtime::Executor::Real => "run time/trial",
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<name_width$}  {:>6}  {:>6}  {:>11}  {:>9}  {:>17}  {:>10}",
        "grader", "passed", "failed", "total", "pass rate", time_label, "wall/trial"
    );
    let rule_len = name_width + 2 + 6 + 2 + 6 + 2 + 11 + 2 + 9 + 2 + 17 + 2 + 10;
    let _ = writeln!(out, "{}", "-".repeat(rule_len));
    for g in &summary.graders {
        let finished = g.finished();
        let total = if finished == g.planned {
            finished.to_string()
        } else {
            format!("{finished} of {}", g.planned)
        };
        let rate = if finished == 0 {
            "-".to_string()
        } else {
            format!("{:.1}%", 100.0 * g.pass_rate())
        };
        let time = if finished == 0 {
            "-".to_string()
        } else {
            format!("{:.2}s ± {:.2}s", g.run_time.mean(), g.run_time.sd())
        };
        let wall = if finished == 0 {
            "-".to_string()
        } else {
            short_duration(g.wall_total / finished as u32)
        };
        let row = format!(
            "{:<name_width$}  {:>6}  {:>6}  {:>11}  {:>9}  {:>17}  {:>10}",
            g.grader.name, g.passed, g.failed, total, rate, time, wall
        );
        let _ = match (color, g.failed, finished) {
            (false, _, _) | (true, 0, 0) => writeln!(out, "{row}"),
            (true, 0, _) => writeln!(out, "\x1b[32m{row}\x1b[0m"),
            (true, _, _) => writeln!(out, "\x1b[31m{row}\x1b[0m"),
        };
    }
    let _ = writeln!(out, "{}", "-".repeat(rule_len));
    let finished: u64 = summary.graders.iter().map(|g| g.finished()).sum();
    let failed: u64 = summary.graders.iter().map(|g| g.failed).sum();
    let secs = summary.wall.as_secs_f64();
    let rate = if secs > 0.0 {
        finished as f64 / secs
    } else {
        0.0
    };
    let rate = if rate >= 10.0 {
        format!("{rate:.0}")
    } else {
        format!("{rate:.2}")
    };
    let _ = writeln!(
        out,
        "{finished} trials ({failed} failed) in {} wall with {} job{} ({rate} trials/s), {} mode, seeds {}..={}",
        short_duration(summary.wall),
        summary.jobs,
        if summary.jobs == 1 { "" } else { "s" },
        summary.executor,
        summary.seed_start,
        summary.seed_start + summary.runs.saturating_sub(1),
    );
    if summary.interrupted {
        let _ = writeln!(
            out,
            "interrupted: the table shows the trials that finished before Ctrl-C"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_matches_the_two_pass_formula() {
        let xs = [1.5, 2.5, 10.0, 3.25];
        let mut r = Running::default();
        xs.iter().for_each(|&x| r.push(x));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
        assert!((r.mean() - mean).abs() < 1e-12);
        assert!((r.sd() - var.sqrt()).abs() < 1e-12);
        assert_eq!(Running::default().sd(), 0.0);
    }

    fn summary() -> RunSummary {
        use super::super::run::{FailedSeed, GraderSummary};
        let graders = harness::graders::all();
        let mut ok = GraderSummary {
            grader: graders[0],
            planned: 3,
            passed: 3,
            failed: 0,
            run_time: Default::default(),
            wall_total: Duration::from_millis(3),
            failures: vec![],
            warned: 0,
            warnings: vec![],
        };
        [3.0, 3.5, 4.0]
            .iter()
            .for_each(|&x| ok.run_time.push(Duration::from_secs_f64(x)));
        let mut bad = GraderSummary {
            grader: graders[1],
            planned: 3,
            passed: 1,
            failed: 1,
            run_time: Default::default(),
            wall_total: Duration::from_millis(4),
            failures: vec![FailedSeed {
                seed: 2,
                error: "boom".into(),
                bundle: None,
                page: None,
            }],
            warned: 0,
            warnings: vec![],
        };
        [5.0, 7.0]
            .iter()
            .for_each(|&x| bad.run_time.push(Duration::from_secs_f64(x)));
        RunSummary {
            graders: vec![ok, bad],
            executor: labrpc::runtime::Executor::Sim,
            seed_start: 1,
            runs: 3,
            jobs: 2,
            wall: Duration::from_millis(500),
            interrupted: true,
            out_dir: None,
            bundles: 0,
            shard: Default::default(),
            check_determinism: false,
            monitor: true,
        }
    }

    #[test]
    fn the_table_has_a_row_per_grader_and_a_total() {
        let table = format_table(&summary(), false);
        let rows: Vec<&str> = table.lines().collect();
        assert!(rows[0].starts_with("grader") && rows[0].contains("pass rate"));
        let ok: Vec<&str> = rows[2].split_whitespace().collect();
        assert_eq!(
            ok,
            [
                "initial_election",
                "3",
                "0",
                "3",
                "100.0%",
                "3.50s",
                "±",
                "0.50s",
                "1.00ms"
            ]
        );
        assert!(
            rows[3].contains("2 of 3") && rows[3].contains("50.0%"),
            "{table}"
        );
        assert!(
            table.contains("5 trials (1 failed) in 500ms wall with 2 jobs (10 trials/s)"),
            "{table}"
        );
        assert!(table.contains("interrupted"), "{table}");
        assert!(!table.contains('\x1b'));
        let coloured = format_table(&summary(), true);
        assert!(
            coloured.contains("\x1b[32minitial_election")
                && coloured.contains("\x1b[31mre_election")
        );
    }

    #[test]
    fn short_durations_read_well() {
        assert_eq!(short_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(short_duration(Duration::from_micros(420)), "0.42ms");
        assert_eq!(short_duration(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(short_duration(Duration::from_secs(125)), "2m05s");
    }
}
