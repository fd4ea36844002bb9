//! The live display of a run: one bar per grader and one for the whole run, on stderr.
//!
//! Bars are drawn only when stderr is a terminal; otherwise (CI, a grader's script, a pipe) the
//! display prints nothing but a line per failure as it happens, for the first few failures of
//! each grader ([`streamed_failure`]): the errors themselves are printed once, after the run
//! ([`failures_text`](super::failures::failures_text)).

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::failures::streamed_failure;
use super::run::TrialRecord;
use harness::graders::Grader;

const GRADER_TEMPLATE_OK: &str = "{prefix:>24.bold} [{bar:32.green/white}] {pos:>6}/{len:<6} {msg}";
const GRADER_TEMPLATE_FAILING: &str =
    "{prefix:>24.bold.red} [{bar:32.red/white}] {pos:>6}/{len:<6} {msg}";
const TOTAL_TEMPLATE: &str =
    "{spinner} {prefix:>22.bold} [{bar:32.cyan/white}] {pos:>6}/{len:<6} {elapsed_precise} ({per_sec}, eta {eta})";

fn style(template: &str) -> ProgressStyle {
    // The templates are constants of this file: a broken one is a bug caught by the tests.
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// The live display.
pub struct Progress {
    multi: MultiProgress,
    bars: Vec<ProgressBar>,
    failed: Vec<u64>,
    total: ProgressBar,
    visible: bool,
}

impl Progress {
    /// A display for `graders`, `runs` trials each; drawn only when `visible`.
    pub fn new(graders: &[Grader], runs: u64, visible: bool) -> Self {
        Progress::planned(graders, &vec![runs; graders.len()], visible)
    }

    /// Bars for `graders` with `planned[i]` trials of grader `i` (a shard's share).
    pub fn planned(graders: &[Grader], planned: &[u64], visible: bool) -> Self {
        let target = if visible {
            ProgressDrawTarget::stderr_with_hz(10)
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let bars = graders
            .iter()
            .zip(planned)
            .map(|(g, &runs)| {
                let bar = multi.add(ProgressBar::new(runs));
                bar.set_style(style(GRADER_TEMPLATE_OK));
                bar.set_prefix(g.name);
                bar
            })
            .collect();
        let total = multi.add(ProgressBar::new(planned.iter().sum()));
        total.set_style(style(TOTAL_TEMPLATE));
        total.set_prefix("all");
        if visible {
            total.enable_steady_tick(Duration::from_millis(200));
        }
        Progress {
            multi,
            bars,
            failed: vec![0; graders.len()],
            total,
            visible,
        }
    }

    /// Prints a line above the bars (or plainly, when they are hidden).
    pub fn println(&self, line: &str) {
        if self.visible {
            // Drawing can only fail when the terminal went away; then stderr is gone anyway.
            let _ = self.multi.println(line);
        } else {
            eprintln!("{line}");
        }
    }

    /// Records a finished trial, printing it if it failed or warned.
    pub fn trial(&mut self, record: &TrialRecord) {
        let i = record.index;
        if let Some(bar) = self.bars.get(i) {
            bar.inc(1);
            if let Ok(passed) = &record.outcome {
                for warning in &passed.warnings {
                    self.println(&format!(
                        "WARN {} seed {}: {warning}",
                        record.grader.name, record.seed
                    ));
                }
            }
            if record.outcome.is_err() {
                self.failed[i] += 1;
                if self.failed[i] == 1 {
                    bar.set_style(style(GRADER_TEMPLATE_FAILING));
                }
                bar.set_message(format!("{} failed", self.failed[i]));
                // One line, no error: the details come once, after the run.
                if let Some(line) =
                    streamed_failure(record.grader.name, record.seed, self.failed[i])
                {
                    self.println(&line);
                }
            }
        }
        for note in &record.notes {
            self.println(&format!(
                "note {} seed {}: {note}",
                record.grader.name, record.seed
            ));
        }
        self.total.inc(1);
    }

    /// Removes the bars.
    pub fn finish(&self) {
        for bar in &self.bars {
            bar.finish_and_clear();
        }
        self.total.finish_and_clear();
        let _ = self.multi.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_valid() {
        for t in [GRADER_TEMPLATE_OK, GRADER_TEMPLATE_FAILING, TOTAL_TEMPLATE] {
            assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
        }
    }
}
