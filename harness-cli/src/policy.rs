//! The grading policy: the pass threshold and the points of each grader.
//!
//! A grader scores its `max_score` (default 1) when its pass rate over the run's trials is at
//! least its threshold (default `--threshold`, itself 1.0 by default), and 0 otherwise.
//!
//! Per-grader values come from a small file (`--thresholds FILE`), in either of two forms.
//!
//! Lines of `name = value` (`#` starts a comment):
//!
//! ```text
//! # a bare number is the threshold
//! initial_election = 0.95
//! # or name the field
//! many_elections.threshold = 0.9
//! many_elections.max_score = 5
//! ```
//!
//! Or JSON, an object whose values are a threshold or an object with `threshold` and/or
//! `max_score`:
//!
//! ```json
//! { "initial_election": 0.95, "many_elections": { "threshold": 0.9, "max_score": 5 } }
//! ```
//!
//! Names must be graders' names (`harness list`): a misspelt name is an error, not a silently
//! ignored line. Thresholds lie in `0..=1`; scores are finite and not negative.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use harness::graders;

/// A policy file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read the thresholds file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line or entry is wrong.
    #[error("{path}:{line}: {message}")]
    Bad {
        /// The file.
        path: PathBuf,
        /// The line (1-based; 0 for a JSON file as a whole).
        line: usize,
        /// What is wrong and what would be right.
        message: String,
    },
    /// A threshold given on the command line is out of range.
    #[error("threshold {0} is not between 0 and 1")]
    Threshold(f64),
}

/// One grader's settings from the file.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GraderPolicy {
    /// Its pass threshold, if set.
    pub threshold: Option<f64>,
    /// Its points, if set.
    pub max_score: Option<f64>,
}

/// Thresholds and points for every grader.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The threshold of graders the file does not name.
    pub default_threshold: f64,
    /// The points of graders the file does not name.
    pub default_max_score: f64,
    /// Per-grader settings.
    pub graders: BTreeMap<String, GraderPolicy>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            default_threshold: 1.0,
            default_max_score: 1.0,
            graders: BTreeMap::new(),
        }
    }
}

impl Policy {
    /// A policy with `threshold` for every grader.
    pub fn with_threshold(threshold: f64) -> Result<Self, PolicyError> {
        if !(0.0..=1.0).contains(&threshold) {
            return Err(PolicyError::Threshold(threshold));
        }
        Ok(Policy {
            default_threshold: threshold,
            ..Policy::default()
        })
    }

    /// The threshold of `grader`.
    pub fn threshold(&self, grader: &str) -> f64 {
        self.graders
            .get(grader)
            .and_then(|g| g.threshold)
            .unwrap_or(self.default_threshold)
    }

    /// The points of `grader`.
    pub fn max_score(&self, grader: &str) -> f64 {
        self.graders
            .get(grader)
            .and_then(|g| g.max_score)
            .unwrap_or(self.default_max_score)
    }

    /// Reads per-grader settings from `path` (see the module docs) on top of this policy.
    pub fn load(mut self, path: &Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |line: usize, message: String| PolicyError::Bad {
            path: path.to_path_buf(),
            line,
            message,
        };
        let entries = if text.trim_start().starts_with('{') {
            parse_json(&text).map_err(|m| bad(0, m))?
        } else {
            parse_lines(&text).map_err(|(line, m)| bad(line, m))?
        };
        for (line, name, field, value) in entries {
            if graders::by_name(&name).is_none() {
                let names: Vec<&str> = graders::all().iter().map(|g| g.name).collect();
                return Err(bad(
                    line,
                    format!(
                        "no grader is called {name:?}; graders: {}",
                        names.join(", ")
                    ),
                ));
            }
            let entry = self.graders.entry(name).or_default();
            match field {
                Field::Threshold => {
                    if !(0.0..=1.0).contains(&value) {
                        return Err(bad(
                            line,
                            format!("threshold {value} is not between 0 and 1"),
                        ));
                    }
                    entry.threshold = Some(value);
                }
                Field::MaxScore => {
                    if !value.is_finite() || value < 0.0 {
                        return Err(bad(
                            line,
                            format!("max_score {value} must be a number of 0 or more"),
                        ));
                    }
                    entry.max_score = Some(value);
                }
            }
        }
        Ok(self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Threshold,
    MaxScore,
}

fn field(name: &str) -> Option<Field> {
    match name {
        "threshold" => Some(Field::Threshold),
        "max_score" => Some(Field::MaxScore),
        _ => None,
    }
}

type Entry = (usize, String, Field, f64);

fn parse_lines(text: &str) -> Result<Vec<Entry>, (usize, String)> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let Some((key, value)) = content.split_once('=') else {
            return Err((
                line,
                format!(
                    "expected `grader = threshold` or `grader.max_score = points`, got {content:?}"
                ),
            ));
        };
        let key = key.trim().trim_matches('"');
        let (name, f) = match key.split_once('.') {
            Some((name, f)) => match field(f.trim()) {
                Some(f) => (name.trim(), f),
                None => {
                    return Err((
                        line,
                        format!("unknown field {f:?}: expected `threshold` or `max_score`"),
                    ))
                }
            },
            None => (key, Field::Threshold),
        };
        let value: f64 = value
            .trim()
            .parse()
            .map_err(|_| (line, format!("{:?} is not a number", value.trim())))?;
        out.push((line, name.to_string(), f, value));
    }
    Ok(out)
}

fn parse_json(text: &str) -> Result<Vec<Entry>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let serde_json::Value::Object(map) = value else {
        return Err("expected a JSON object of grader names".to_string());
    };
    let mut out = Vec::new();
    for (name, v) in map {
        match v {
            serde_json::Value::Number(n) => {
                let x = n
                    .as_f64()
                    .ok_or_else(|| format!("{name}: {n} is not a number"))?;
                out.push((0, name, Field::Threshold, x));
            }
            serde_json::Value::Object(fields) => {
                for (f, v) in fields {
                    let Some(f2) = field(&f) else {
                        return Err(format!(
                            "{name}: unknown field {f:?}: expected \"threshold\" or \"max_score\""
                        ));
                    };
                    let x = v
                        .as_f64()
                        .ok_or_else(|| format!("{name}.{f}: {v} is not a number"))?;
                    out.push((0, name.clone(), f2, x));
                }
            }
            other => {
                return Err(format!(
                "{name}: expected a threshold or an object with threshold/max_score, got {other}"
            ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, ext: &str) -> Result<Policy, PolicyError> {
        let dir = std::env::temp_dir().join(format!(
            "harness-policy-{}-{ext}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(format!("t.{ext}"));
        std::fs::write(&path, text).expect("write");
        Policy::default().load(&path)
    }

    #[test]
    fn lines_and_json_give_the_same_policy() {
        let a = load(
            "# comment\ninitial_election = 0.95\nmany_elections.threshold = 0.9 # why\nmany_elections.max_score = 5\n",
            "txt",
        )
        .expect("valid");
        let b = load(
            r#"{"initial_election": 0.95, "many_elections": {"threshold": 0.9, "max_score": 5}}"#,
            "json",
        )
        .expect("valid");
        assert_eq!(a, b);
        assert_eq!(a.threshold("initial_election"), 0.95);
        assert_eq!(a.threshold("re_election"), 1.0);
        assert_eq!(a.max_score("many_elections"), 5.0);
    }

    #[test]
    fn mistakes_are_named() {
        let e = load("initial_elektion = 0.9\n", "txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":1:") && e.contains("initial_election"), "{e}");
        let e = load("\ninitial_election = 1.5\n", "txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":2:") && e.contains("between 0 and 1"), "{e}");
        let e = load("initial_election 0.9\n", "txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected"), "{e}");
    }
}
