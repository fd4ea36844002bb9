//! The failure timeline: one self-contained HTML page per trial, drawn from structured records
//! of the trial itself (kept as it ran, or by its exact sim replay), so every event is there.
//! A trial that [ran away](crate::trial::TrialError::ran_away) is not run again for its page:
//! its page is drawn from the text log it kept as it ran (lanes, terms, roles, crashes and the
//! tester's events, without RPCs), and says so.
//!
//! The page shows one lane per peer (its term and role over time as coloured bands, crashes,
//! disconnections, the apply index), the RPCs as arrows between lanes from send to delivery
//! (drops and long delays marked, filterable by method), the tester's events on a lane of
//! their own, and the failure at its time with what it names highlighted. It zooms and pans on
//! the time axis, shows an event's full log line on hover, and hides a peer on a click. It
//! needs no network: the data, the style and the script are all inside the file.
//!
//! - [`record`]: the structured capture the timeline is built from.
//! - [`probe`]: the tester's facts (clusters, crashes, connections, `get_state`, applies).
//! - [`model`]: the [`Timeline`] data.
//! - [`extract`]: from a trial's records and outcome to a [`Timeline`].
//! - [`html`]: from a [`Timeline`] to the page.
//! - [`history`]: a checked history of client calls (the key/value tests'), drawn under the
//!   peers' lanes: one row per client, each operation a bar from call to return, per key,
//!   the longest linearizable prefix as points, the operation that could not be placed
//!   marked, the states before and after each operation on hover. A grader records it with
//!   [`probe::history`]; [`history_page`] draws a history on its own.
//!
//! ```
//! use harness::graders;
//! use harness::timeline;
//! use harness::trial::{run_trial, TrialSettings};
//!
//! let grader = graders::by_name("initial_election").expect("a part-A grader");
//! let report = run_trial::<raft::Raft>(grader, &TrialSettings::sim(1).with_timeline());
//! let page = timeline::page(&report);
//! assert!(page.starts_with("<!DOCTYPE html>"));
//! assert!(!page.contains("<script src"));
//! ```

pub mod extract;
pub mod history;
pub mod html;
pub mod model;
pub mod probe;
pub mod record;

use std::path::{Path, PathBuf};

pub use model::Timeline;

use crate::trial::TrialReport;

/// A page could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the timeline page {path}: {source}")]
pub struct PageError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// The timeline of a finished trial (see [`extract::from_report`]).
pub fn timeline(report: &TrialReport) -> Timeline {
    extract::from_report(report)
}

/// The page of a checked history on its own, titled `title` (a history file; a service
/// tested without Raft lanes).
///
/// ```
/// use harness::timeline::{self, history::{Clock, History}};
/// use linearizability::models::{KvInput, KvModel, KvOutput};
/// use linearizability::{Checker, Operation};
///
/// let ops = vec![
///     Operation::new(0, KvInput::put("k", "a"), 0, KvOutput::default(), 1),
///     Operation::new(1, KvInput::get("k"), 2, KvOutput::value(""), 3),
/// ];
/// let result = Checker::new(&KvModel).check(&ops)?;
/// let page = timeline::history_page("two calls", History::from_check(&result, Clock::Order));
/// assert!(page.contains("not linearizable"));
/// # Ok::<(), linearizability::HistoryError>(())
/// ```
pub fn history_page(title: &str, history: history::History) -> String {
    html::render(&Timeline::of_history(title, history))
}

/// The HTML page of a finished trial.
pub fn page(report: &TrialReport) -> String {
    html::render(&timeline(report))
}

/// Writes the page of a finished trial to `path` (its folder is created if needed).
pub fn write_page(report: &TrialReport, path: &Path) -> Result<(), PageError> {
    let error = report.outcome.as_ref().err().map(|e| e.to_string());
    write_trial_page(report, error.as_deref(), path)
}

/// Writes the page of a trial that ended with `error` (`None`: it passed), drawn from
/// `report`: the trial itself, or its replay with records. When the replay ended otherwise (a
/// trial that is not deterministic), the page says so.
pub fn write_trial_page(
    report: &TrialReport,
    error: Option<&str>,
    path: &Path,
) -> Result<(), PageError> {
    let mut t = timeline(report);
    let replayed = report.outcome.as_ref().err().map(|e| e.to_string());
    if let Some(error) = error {
        if replayed.as_deref() != Some(error) {
            t.notes.insert(
                0,
                format!(
                    "the trial failed with: {error}; the run drawn here is its replay, which {}",
                    match &replayed {
                        Some(e) => format!("failed with: {e}"),
                        None => "passed".to_string(),
                    }
                ),
            );
        }
    }
    let fail = |source| PageError {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    std::fs::write(path, html::render(&t)).map_err(fail)
}
