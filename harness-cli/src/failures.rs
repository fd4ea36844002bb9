//! The failing seeds of a run as a person reads them, after the run and before its table.
//!
//! A grader that fails on 200 seeds usually fails the same way on all of them, so the text
//! shows the details (error, replay command, bundle, timeline) of its first
//! [`DETAILED_SEEDS`] failing seeds only, each error once (a seed that failed exactly like an
//! earlier one says so instead of repeating it), and then the other failing seeds on one line,
//! consecutive seeds as ranges, with where their bundles are.
//!
//! ```text
//! re_election: 197 of 200 seeds failed
//!   seed 1: expected one leader, got none
//!     replay: cargo run --release -p harness-cli -- replay re_election --seed 1
//!     bundle: lab-results/20260101-120000/failed-re_election-seed1.log
//!     timeline: lab-results/20260101-120000/failed-re_election-seed1.html
//!   seed 2: the same error as seed 1
//!     replay: cargo run --release -p harness-cli -- replay re_election --seed 2
//!     ...
//!   194 more failing seeds: 4..=120, 124..=200 (bundles of seeds 4, 5 in lab-results/20260101-120000)
//! ```

use std::fmt::Write as _;
use std::path::Path;

use super::run::{self, FailedSeed, GraderSummary, RunSummary};
use super::stats;

/// Failing seeds of a grader whose details are printed; the rest are counted and listed by
/// seed.
pub const DETAILED_SEEDS: usize = 3;

/// Seeds (or ranges of consecutive seeds) named on the line of the other failing seeds; more
/// are counted.
const LISTED_RANGES: usize = 40;

/// Seeds as a person reads them: the library's [`harness::testing::seed_list`], which the
/// failure messages of `cargo test` use too.
pub use harness::testing::seed_list;

/// One failing seed in detail: its error (or which earlier seed failed the same way), the
/// command that replays it, its bundle and its page. `shown` are the seeds already shown.
fn write_detail(
    out: &mut String,
    summary: &RunSummary,
    g: &GraderSummary,
    f: &FailedSeed,
    shown: &[&FailedSeed],
) {
    match shown.iter().find(|earlier| earlier.error == f.error) {
        Some(earlier) => {
            let _ = writeln!(
                out,
                "  seed {}: the same error as seed {}",
                f.seed, earlier.seed
            );
        }
        // The whole message: a runtime error may name the peer on a later line.
        None => {
            let _ = writeln!(
                out,
                "  seed {}: {}",
                f.seed,
                f.error.trim_end().replace('\n', "\n    ")
            );
        }
    }
    let _ = writeln!(
        out,
        "    replay: {}",
        run::replay_command(g.grader.name, f.seed, summary.executor)
    );
    if let Some(b) = &f.bundle {
        let _ = writeln!(out, "    bundle: {}", b.display());
    }
    if let Some(page) = &f.page {
        let _ = writeln!(out, "    timeline: {}", page.display());
    }
}

/// The line of a grader's failing seeds beyond the detailed ones.
fn write_rest(out: &mut String, rest: &[FailedSeed], where_bundles: bool) {
    if rest.is_empty() {
        return;
    }
    let seeds: Vec<u64> = rest.iter().map(|f| f.seed).collect();
    let _ = write!(
        out,
        "  {} more failing seed{}: {}",
        rest.len(),
        if rest.len() == 1 { "" } else { "s" },
        seed_list(&seeds, LISTED_RANGES)
    );
    let bundled: Vec<u64> = rest
        .iter()
        .filter(|f| f.bundle.is_some())
        .map(|f| f.seed)
        .collect();
    let folder = rest
        .iter()
        .find_map(|f| f.bundle.as_deref().and_then(Path::parent));
    match folder {
        Some(dir) if where_bundles && !bundled.is_empty() => {
            let _ = writeln!(
                out,
                " (bundle{} of seed{} {} in {})",
                if bundled.len() == 1 { "" } else { "s" },
                if bundled.len() == 1 { "" } else { "s" },
                seed_list(&bundled, LISTED_RANGES),
                dir.display()
            );
        }
        _ => out.push('\n'),
    }
}

/// The failing seeds of a run, per grader: the details of the first [`DETAILED_SEEDS`], then
/// the others by seed; then the passing seeds that warned, with their warnings. Empty when
/// every trial passed without a warning.
pub fn failures_text(summary: &RunSummary) -> String {
    let mut out = String::new();
    for g in summary.graders.iter().filter(|g| g.warned > 0) {
        let _ = writeln!(
            out,
            "{}: {} passing seed{} with a warning",
            g.grader.name,
            g.warned,
            if g.warned == 1 { "" } else { "s" }
        );
        for w in &g.warnings {
            let _ = writeln!(out, "  seed {}: {}", w.seed, w.warning);
        }
        if g.warned > g.warnings.len() as u64 {
            let _ = writeln!(out, "  and {} more", g.warned - g.warnings.len() as u64);
        }
        out.push('\n');
    }
    for g in summary.graders.iter().filter(|g| !g.failures.is_empty()) {
        let _ = writeln!(
            out,
            "{}: {} of {} seed{} failed",
            g.grader.name,
            g.failed,
            g.finished(),
            if g.finished() == 1 { "" } else { "s" }
        );
        out.push_str(&grader_failures(summary, g, true));
        out.push('\n');
    }
    out
}

/// One grader's failing seeds: the details of the first [`DETAILED_SEEDS`], each error once,
/// then the others by seed, and with `where_bundles` where the others' bundles are (the text
/// of a run's failures, and of each grader's part of a report, whose `extra_data` names every
/// bundle).
pub fn grader_failures(summary: &RunSummary, g: &GraderSummary, where_bundles: bool) -> String {
    let mut out = String::new();
    let mut shown: Vec<&FailedSeed> = Vec::new();
    for f in g.failures.iter().take(DETAILED_SEEDS) {
        write_detail(&mut out, summary, g, f, &shown);
        shown.push(f);
    }
    write_rest(
        &mut out,
        g.failures.get(DETAILED_SEEDS..).unwrap_or_default(),
        where_bundles,
    );
    out
}

/// Where a run's bundles are, and how to look at them: one line, empty when none was written.
pub fn bundles_line(summary: &RunSummary, html: bool) -> String {
    match (&summary.out_dir, summary.bundles) {
        (Some(dir), n) if n > 0 => format!(
            "{n} bundle{} in {} (show one with: cargo run --release -p harness-cli -- view FILE{})\n",
            if n == 1 { "" } else { "s" },
            dir.display(),
            if html {
                "; open its .html timeline in a browser"
            } else {
                ""
            }
        ),
        _ => String::new(),
    }
}

/// What `harness run` prints once the trials are done: the failures (each error once), where
/// the bundles are, the reports `written`, and the table last, where a person's eyes land.
pub fn after_run(summary: &RunSummary, html: bool, written: &[String], color: bool) -> String {
    let mut out = failures_text(summary);
    out.push_str(&bundles_line(summary, html));
    for line in written {
        out.push_str(line);
        out.push('\n');
    }
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
    out.push_str(&stats::format_table(summary, color));
    out
}

/// What a run's stream prints for a failing trial: one line with the grader and seed for the
/// first [`DETAILED_SEEDS`] failures of each grader (their details come after the run, once),
/// then one line saying the others are counted. `nth` counts the grader's failures so far,
/// this one included (from 1).
///
/// ```
/// use harness_cli::failures::streamed_failure;
///
/// assert_eq!(
///     streamed_failure("re_election", 7, 1).as_deref(),
///     Some("FAIL re_election seed 7 (details after the run)")
/// );
/// assert!(streamed_failure("re_election", 9, 4).is_some_and(|l| l.contains("counted")));
/// assert_eq!(streamed_failure("re_election", 11, 5), None);
/// ```
pub fn streamed_failure(grader: &str, seed: u64, nth: u64) -> Option<String> {
    let detailed = DETAILED_SEEDS as u64;
    if nth <= detailed {
        Some(format!("FAIL {grader} seed {seed} (details after the run)"))
    } else if nth == detailed + 1 {
        Some(format!(
            "FAIL {grader} seed {seed}; its further failures are counted, and listed after the run"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_lists_make_ranges_and_stop_at_the_limit() {
        assert_eq!(seed_list(&[], 5), "");
        assert_eq!(seed_list(&[5], 5), "5");
        assert_eq!(seed_list(&[9, 4, 5, 6, 8], 5), "4..=6, 8, 9");
        assert_eq!(seed_list(&[1, 2, 3, 10, 11, 12, 20], 1), "1..=3 and 4 more");
    }
}
