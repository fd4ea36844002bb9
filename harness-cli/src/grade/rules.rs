//! What a submission may use, as course staff set it: the kit's `grading.toml`, or the
//! defaults here.
//!
//! ```toml
//! # Direct uses of these paths (as the lint's lists in raft/clippy.toml name them) refuse a
//! # submission: score 0, with each use in the report.
//! refuse = ["std::fs", "std::process", "std::net", "std::os"]
//! # The crates a submission's [dependencies] may name (by package name).
//! dependencies = ["labrpc", "raftapi", "futures", "parking_lot", "serde", "thiserror", "tracing"]
//! ```
//!
//! Which calls the lint looks for is clippy's business (`disallowed-methods` and
//! `disallowed-types` in `raft/clippy.toml`, which the student's own `cargo clippy` reads too);
//! this file only says which of the findings refuse the submission rather than being reported.

use std::path::{Path, PathBuf};

/// The file in the kit that holds the rules.
pub const RULES_FILE: &str = "grading.toml";

/// Path prefixes whose direct use refuses a submission, by default.
pub const DEFAULT_REFUSE: &[&str] = &["std::fs", "std::process", "std::net", "std::os"];

/// The crates a submission may depend on, by default: those the lab's `raft` uses.
pub const DEFAULT_DEPENDENCIES: &[&str] = &[
    "labrpc",
    "raftapi",
    "futures",
    "parking_lot",
    "serde",
    "thiserror",
    "tracing",
];

/// The rules file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// It cannot be read.
    #[error("cannot read the grading rules {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It is not what it should be.
    #[error("the grading rules {path}: {message}")]
    Bad {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// What a submission may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Path prefixes (`std::fs`) whose direct use refuses a submission.
    pub refuse: Vec<String>,
    /// The crates its `[dependencies]` may name.
    pub dependencies: Vec<String>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            refuse: DEFAULT_REFUSE.iter().map(|s| (*s).to_string()).collect(),
            dependencies: DEFAULT_DEPENDENCIES
                .iter()
                .map(|s| (*s).to_string())
                .collect(),
        }
    }
}

impl Rules {
    /// The kit's rules (`KIT/grading.toml`), or the defaults when it has none. A key the file
    /// leaves out keeps its default.
    pub fn of_kit(kit: &Path) -> Result<Rules, RulesError> {
        let path = kit.join(RULES_FILE);
        if !path.is_file() {
            return Ok(Rules::default());
        }
        let text = std::fs::read_to_string(&path).map_err(|source| RulesError::Read {
            path: path.clone(),
            source,
        })?;
        Rules::parse(&text).map_err(|message| RulesError::Bad { path, message })
    }

    /// Rules from the text of a rules file.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
        let mut rules = Rules::default();
        for (key, value) in &table {
            let list = value
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .map(|v| v.as_str().map(str::to_string))
                        .collect::<Option<Vec<String>>>()
                })
                .ok_or_else(|| format!("{key} must be a list of strings"))?;
            match key.as_str() {
                "refuse" => rules.refuse = list,
                "dependencies" => rules.dependencies = list,
                other => {
                    return Err(format!(
                        "unknown key {other:?}: expected `refuse` or `dependencies`"
                    ))
                }
            }
        }
        Ok(rules)
    }

    /// Whether a direct use of `path` (`std::fs::write`) refuses the submission.
    pub fn refuses(&self, path: &str) -> bool {
        self.refuse.iter().any(|prefix| {
            path == prefix
                || path
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.starts_with("::"))
        })
    }

    /// Whether a submission may depend on the crate `package`.
    pub fn allows_dependency(&self, package: &str) -> bool {
        // Cargo treats `-` and `_` in package names alike.
        let norm = |s: &str| s.replace('-', "_");
        self.dependencies.iter().any(|d| norm(d) == norm(package))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_refuse_whole_paths_only() {
        let rules = Rules::default();
        assert!(rules.refuses("std::fs::write"));
        assert!(rules.refuses("std::process::exit"));
        assert!(rules.refuses("std::os::unix::fs::symlink"));
        assert!(!rules.refuses("std::env::var"));
        assert!(!rules.refuses("std::fsx::write"));
        assert!(rules.allows_dependency("parking_lot"));
        assert!(rules.allows_dependency("parking-lot"));
        assert!(!rules.allows_dependency("libc"));
    }

    #[test]
    fn staff_extend_the_lists_and_mistakes_are_named() {
        let rules = Rules::parse("dependencies = [\"labrpc\", \"itoa\"]\n").expect("valid");
        assert!(rules.allows_dependency("itoa"));
        assert!(!rules.allows_dependency("serde"));
        assert_eq!(rules.refuse, Rules::default().refuse);
        let e = Rules::parse("refuse = \"std::fs\"\n").expect_err("not a list");
        assert!(e.contains("list of strings"), "{e}");
        let e = Rules::parse("refused = []\n").expect_err("misspelt");
        assert!(e.contains("unknown key"), "{e}");
    }

    #[test]
    fn the_kits_rules_file_parses() {
        let kit = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the kit");
        let rules = Rules::of_kit(kit).expect("the kit's grading.toml is valid");
        assert!(rules.refuses("std::fs::write"));
        assert!(rules.allows_dependency("labrpc"));
    }
}
