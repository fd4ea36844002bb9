//! Saved trace hashes: what each (grader, seed) of a sim run did, kept in a file, so that a
//! later run (after an optimisation, on another machine, with another build) can be checked
//! event for event against it (`harness run --save-trace-hashes FILE`, then
//! `--compare-trace-hashes FILE`).
//!
//! A sim trial's [event trace](labrpc::runtime::TraceSummary) hashes every poll, timer,
//! spawn, kill and network event with its virtual time, so equal hashes (and event counts)
//! mean the same run. The file holds one line per trial, sorted by grader and seed:
//!
//! ```text
//! # harness trace hashes: grader seed events hash outcome
//! initial_election 1 4711 9a3c0f1e22b4d6a8 passed
//! ```
//!
//! ```
//! use harness_cli::traces::{SavedTrace, TraceHashes};
//!
//! let mut saved = TraceHashes::default();
//! let trace = SavedTrace { events: 4711, hash: 0x9a3c, passed: true };
//! saved.insert("initial_election", 1, trace);
//! let again = TraceHashes::parse(&saved.to_text()).unwrap();
//! assert_eq!(again.get("initial_election", 1), Some(&trace));
//! assert_eq!(again.get("initial_election", 2), None);
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// How the error of a trial whose trace is not the saved one begins.
pub const DIFFERENCE_PREFIX: &str = "not the saved run:";

/// The first line of a trace-hash file.
const HEADER: &str = "# harness trace hashes: grader seed events hash outcome";

/// What one trial's run was, in short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SavedTrace {
    /// How many events the run traced.
    pub events: u64,
    /// The hash of the whole sequence of events.
    pub hash: u64,
    /// Whether the trial passed.
    pub passed: bool,
}

impl fmt::Display for SavedTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} events, hash {:016x}, {}",
            self.events,
            self.hash,
            if self.passed { "passed" } else { "failed" }
        )
    }
}

/// A trace-hash file cannot be read, parsed or written.
#[derive(Debug, thiserror::Error)]
pub enum TraceFileError {
    /// The file cannot be read or written.
    #[error("trace-hash file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not `grader seed events hash outcome`.
    #[error(
        "trace-hash file, line {line}: {problem} (each line is `GRADER SEED EVENTS HASH \
         passed|failed`, as written by --save-trace-hashes)"
    )]
    Parse {
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
}

/// The saved traces of a run, by grader and seed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceHashes {
    traces: BTreeMap<(String, u64), SavedTrace>,
}

impl TraceHashes {
    /// Records `trace` as what `grader` did with `seed` (replacing an earlier one).
    pub fn insert(&mut self, grader: &str, seed: u64, trace: SavedTrace) {
        self.traces.insert((grader.to_string(), seed), trace);
    }

    /// What `grader` did with `seed`, if saved.
    pub fn get(&self, grader: &str, seed: u64) -> Option<&SavedTrace> {
        self.traces.get(&(grader.to_string(), seed))
    }

    /// How many trials are saved.
    pub fn len(&self) -> usize {
        self.traces.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.traces.is_empty()
    }

    /// The file's text: the header, then one line per trial in grader and seed order.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(HEADER.len() + 48 * self.traces.len());
        out.push_str(HEADER);
        out.push('\n');
        for ((grader, seed), t) in &self.traces {
            out.push_str(&format!(
                "{grader} {seed} {} {:016x} {}\n",
                t.events,
                t.hash,
                if t.passed { "passed" } else { "failed" }
            ));
        }
        out
    }

    /// Reads the text written by [`to_text`](Self::to_text); blank lines and `#` comments are
    /// skipped.
    pub fn parse(text: &str) -> Result<Self, TraceFileError> {
        let mut saved = TraceHashes::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let problem = |problem: String| TraceFileError::Parse {
                line: i + 1,
                problem,
            };
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [grader, seed, events, hash, outcome] = fields[..] else {
                return Err(problem(format!(
                    "{} fields where 5 were expected",
                    fields.len()
                )));
            };
            let seed = seed
                .parse()
                .map_err(|e| problem(format!("seed {seed:?}: {e}")))?;
            let events = events
                .parse()
                .map_err(|e| problem(format!("event count {events:?}: {e}")))?;
            let hash = u64::from_str_radix(hash, 16)
                .map_err(|e| problem(format!("hash {hash:?} is not hexadecimal: {e}")))?;
            let passed = match outcome {
                "passed" => true,
                "failed" => false,
                other => {
                    return Err(problem(format!(
                        "outcome {other:?} is neither `passed` nor `failed`"
                    )))
                }
            };
            saved.insert(
                grader,
                seed,
                SavedTrace {
                    events,
                    hash,
                    passed,
                },
            );
        }
        Ok(saved)
    }

    /// Reads a file written by [`save`](Self::save).
    pub fn load(path: &Path) -> Result<Self, TraceFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| TraceFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Writes the file.
    pub fn save(&self, path: &Path) -> Result<(), TraceFileError> {
        std::fs::write(path, self.to_text()).map_err(|source| TraceFileError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Why `now`, the trace of `grader`'s run of `seed`, is not the saved one; `None` when it
    /// is, or when nothing was saved for it.
    pub fn difference(&self, grader: &str, seed: u64, now: &SavedTrace) -> Option<String> {
        let saved = self.get(grader, seed)?;
        (saved != now).then(|| {
            format!("{DIFFERENCE_PREFIX} seed {seed} now has {now}; the saved trace has {saved}")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(events: u64, hash: u64, passed: bool) -> SavedTrace {
        SavedTrace {
            events,
            hash,
            passed,
        }
    }

    #[test]
    fn a_saved_file_reads_back_the_same_in_grader_and_seed_order() {
        let mut saved = TraceHashes::default();
        saved.insert("re_election", 2, trace(10, 0xffff_0000_ffff_0000, false));
        saved.insert("initial_election", 3, trace(7, 1, true));
        saved.insert("initial_election", 1, trace(9, u64::MAX, true));
        let text = saved.to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                HEADER,
                "initial_election 1 9 ffffffffffffffff passed",
                "initial_election 3 7 0000000000000001 passed",
                "re_election 2 10 ffff0000ffff0000 failed",
            ]
        );
        assert_eq!(TraceHashes::parse(&text).unwrap(), saved);
    }

    #[test]
    fn a_changed_hash_count_or_outcome_is_a_difference_and_an_unsaved_seed_is_not() {
        let mut saved = TraceHashes::default();
        saved.insert("g", 1, trace(5, 0xab, true));
        assert_eq!(saved.difference("g", 1, &trace(5, 0xab, true)), None);
        assert_eq!(saved.difference("g", 2, &trace(6, 0xac, false)), None);
        let changed = saved.difference("g", 1, &trace(5, 0xac, true)).unwrap();
        assert!(changed.contains("hash 00000000000000ac"), "{changed}");
        assert!(changed.contains("the saved trace has 5 events, hash 00000000000000ab"));
        assert!(saved.difference("g", 1, &trace(6, 0xab, true)).is_some());
        assert!(saved.difference("g", 1, &trace(5, 0xab, false)).is_some());
    }

    #[test]
    fn a_bad_line_is_named_with_its_number_and_what_is_wrong() {
        let bad = format!("{HEADER}\ng 1 5 00ab passed\ng 2 5 zz passed\n");
        let e = TraceHashes::parse(&bad).unwrap_err().to_string();
        assert!(
            e.contains("line 3") && e.contains("\"zz\" is not hexadecimal"),
            "{e}"
        );
        let e = TraceHashes::parse("g 1 5 00ab\n").unwrap_err().to_string();
        assert!(e.contains("line 1: 4 fields where 5 were expected"), "{e}");
        let e = TraceHashes::parse("g 1 5 00ab maybe\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"maybe\" is neither"), "{e}");
    }
}
