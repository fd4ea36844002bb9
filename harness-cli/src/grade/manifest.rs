//! The submission's `Cargo.toml`, read for its `[dependencies]` only, and the manifests of the
//! scratch workspace, written by us.
//!
//! A submission's manifest could run code at build time (`build = "..."`, a `build.rs`), swap our
//! crates for its own (`[patch]`, a path to a copy of the harness), or change how everything
//! is compiled (`[profile]`). None of that reaches the scratch workspace: its `raft/Cargo.toml`
//! is written here from the submission's `[dependencies]` (and `[features]`, which only name
//! dependencies), and every other table is dropped with a note saying so.

use std::path::Path;

use toml::{Table, Value};

use super::rules::Rules;

/// The submission's manifest cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// It is not valid TOML.
    #[error("raft/Cargo.toml is not valid TOML: {0}")]
    Toml(String),
    /// Its package is not called `raft`.
    #[error(
        "raft/Cargo.toml names the package {0:?}; the graders need the crate to be called \"raft\""
    )]
    Name(String),
    /// A dependency points at a folder outside the crate.
    #[error("raft/Cargo.toml: the dependency {name:?} has path {path:?}, outside the raft crate; only crates.io dependencies (or paths inside raft/) can be graded")]
    PathOutside {
        /// The dependency.
        name: String,
        /// Its path.
        path: String,
    },
    /// A `workspace = true` dependency that the grading workspace does not define.
    #[error("raft/Cargo.toml: {name}.workspace = true, but the grading workspace has no dependency {name:?}; give it a version instead (e.g. {name} = \"1\")")]
    NotInWorkspace {
        /// The dependency.
        name: String,
    },
    /// A dependency entry of a shape Cargo does not accept either.
    #[error(
        "raft/Cargo.toml: the dependency {name:?} is {what}; expected a version string or a table"
    )]
    BadDependency {
        /// The dependency.
        name: String,
        /// What it is.
        what: String,
    },
}

/// The submission's `raft/Cargo.toml` as the scratch workspace will use it.
#[derive(Debug, Clone, PartialEq)]
pub struct RaftManifest {
    /// The manifest to write to the scratch workspace's `raft/Cargo.toml`.
    pub text: String,
    /// What was left out, one note each (e.g. "[build-dependencies] is not used").
    pub dropped: Vec<String>,
    /// Dependencies that the grading rules do not allow (each `name` or `name (package
    /// real)`): the submission is refused. They are left out of [`text`](Self::text).
    pub unlisted: Vec<String>,
}

/// Editions Cargo knows; anything else falls back to the workspace's.
const EDITIONS: &[&str] = &["2015", "2018", "2021", "2024"];

/// Keys of a dependency table that only choose what is fetched and how it is configured.
const DEPENDENCY_KEYS: &[&str] = &[
    "version",
    "features",
    "default-features",
    "default_features",
    "optional",
    "package",
    "workspace",
    "path",
    "git",
    "branch",
    "tag",
    "rev",
    "registry",
];

/// Reads the submission's manifest `text` (of the crate in `crate_dir`) and writes the one the
/// scratch workspace uses: package `raft`, the submission's edition, a library at
/// `src/lib.rs`, no build script, no targets but the library, and the submission's
/// `[dependencies]` and `[features]`, of the crates `rules` allows, and `unsafe_code`
/// forbidden. `workspace_deps` are the names the grading workspace's `[workspace.dependencies]`
/// defines, and `workspace_edition` its edition.
pub fn raft_manifest(
    text: &str,
    crate_dir: &Path,
    workspace_deps: &[String],
    workspace_edition: &str,
    rules: &Rules,
) -> Result<RaftManifest, ManifestError> {
    let table: Table = text
        .parse()
        .map_err(|e: toml::de::Error| ManifestError::Toml(e.message().to_string()))?;
    let mut dropped = Vec::new();
    let package = table.get("package").and_then(Value::as_table);
    let name = package
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if name != "raft" {
        return Err(ManifestError::Name(name.to_string()));
    }
    let edition = match package.and_then(|p| p.get("edition")) {
        Some(Value::String(e)) if EDITIONS.contains(&e.as_str()) => e.clone(),
        _ => workspace_edition.to_string(),
    };
    if let Some(p) = package {
        for key in ["build", "links", "workspace"] {
            if p.contains_key(key) {
                dropped.push(format!("[package] {key} is not used"));
            }
        }
    }
    for (key, value) in &table {
        match key.as_str() {
            // Kept, or of no consequence for a library that is only built.
            "package" | "dependencies" | "features" | "dev-dependencies" | "badges" | "lints" => {}
            "lib" | "bin" | "test" | "bench" | "example" => {
                dropped.push(format!(
                    "[{key}] is not used: only the library src/lib.rs is built"
                ));
            }
            "target" => {
                let what = if value.as_table().is_some_and(|t| !t.is_empty()) {
                    "platform-specific dependencies are not used"
                } else {
                    "not used"
                };
                dropped.push(format!("[target] is {what}"));
            }
            other => dropped.push(format!("[{other}] is not used")),
        }
    }

    let mut deps = Table::new();
    let mut unlisted = Vec::new();
    if let Some(given) = table.get("dependencies") {
        let Some(given) = given.as_table() else {
            return Err(ManifestError::BadDependency {
                name: "[dependencies]".into(),
                what: "not a table".into(),
            });
        };
        for (name, spec) in given {
            let checked = dependency(name, spec, crate_dir, workspace_deps, &mut dropped)?;
            let package = spec.get("package").and_then(Value::as_str).unwrap_or(name);
            if !rules.allows_dependency(package) {
                unlisted.push(if package == name {
                    name.clone()
                } else {
                    format!("{name} (package {package})")
                });
                continue;
            }
            deps.insert(name.clone(), checked);
        }
    }

    let mut package_out = Table::new();
    package_out.insert("name".into(), Value::String("raft".into()));
    package_out.insert("version".into(), Value::String("0.1.0".into()));
    package_out.insert("edition".into(), Value::String(edition));
    package_out.insert("publish".into(), Value::Boolean(false));
    package_out.insert("build".into(), Value::Boolean(false));
    for auto in ["autobins", "autoexamples", "autotests", "autobenches"] {
        package_out.insert(auto.into(), Value::Boolean(false));
    }
    let mut lib = Table::new();
    lib.insert("path".into(), Value::String("src/lib.rs".into()));
    lib.insert("doctest".into(), Value::Boolean(false));
    let mut out = Table::new();
    out.insert("package".into(), Value::Table(package_out));
    out.insert("lib".into(), Value::Table(lib));
    out.insert("dependencies".into(), Value::Table(deps));
    if let Some(features) = table.get("features").and_then(Value::as_table) {
        out.insert("features".into(), Value::Table(features.clone()));
    }
    // `unsafe` could reach past everything the graders check: forbidden on the command line
    // of this crate alone, where no attribute in the sources can allow it again.
    let mut rust_lints = Table::new();
    rust_lints.insert("unsafe_code".into(), Value::String("forbid".into()));
    let mut lints = Table::new();
    lints.insert("rust".into(), Value::Table(rust_lints));
    out.insert("lints".into(), Value::Table(lints));
    let body = toml::to_string(&out).map_err(|e| ManifestError::Toml(e.to_string()))?;
    Ok(RaftManifest {
        text: format!(
            "# Written by `harness grade` from the submission's raft/Cargo.toml: only its\n\
             # [dependencies] (those the grading rules allow) and [features] are kept.\n{body}"
        ),
        dropped,
        unlisted,
    })
}

/// One dependency, checked: a version string, or a table of the keys that choose what is
/// fetched, with a path only inside the crate.
fn dependency(
    name: &str,
    spec: &Value,
    crate_dir: &Path,
    workspace_deps: &[String],
    dropped: &mut Vec<String>,
) -> Result<Value, ManifestError> {
    let table = match spec {
        Value::String(_) => return Ok(spec.clone()),
        Value::Table(t) => t,
        other => {
            return Err(ManifestError::BadDependency {
                name: name.to_string(),
                what: format!("a {}", other.type_str()),
            })
        }
    };
    let mut kept = Table::new();
    for (key, value) in table {
        if DEPENDENCY_KEYS.contains(&key.as_str()) {
            kept.insert(key.clone(), value.clone());
        } else {
            dropped.push(format!("{name}: the key {key:?} is not used"));
        }
    }
    if kept.get("workspace").and_then(Value::as_bool) == Some(true) {
        let real = kept
            .get("package")
            .and_then(Value::as_str)
            .unwrap_or(name)
            .to_string();
        if !workspace_deps.contains(&real) && !workspace_deps.iter().any(|d| d == name) {
            return Err(ManifestError::NotInWorkspace {
                name: name.to_string(),
            });
        }
    }
    if let Some(path) = kept.get("path") {
        let path = path.as_str().unwrap_or("").to_string();
        if !inside(crate_dir, &path) {
            return Err(ManifestError::PathOutside {
                name: name.to_string(),
                path,
            });
        }
    }
    Ok(Value::Table(kept))
}

/// Whether `path` (relative to `crate_dir`, as Cargo reads it) stays inside `crate_dir`:
/// relative, and never climbing above its start with `..`.
fn inside(crate_dir: &Path, path: &str) -> bool {
    let p = Path::new(path);
    if p.is_absolute() {
        return match (crate_dir.canonicalize(), p.canonicalize()) {
            (Ok(root), Ok(target)) => target.starts_with(root),
            _ => false,
        };
    }
    let mut depth: i64 = 0;
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => depth -= 1,
            std::path::Component::Normal(_) => depth += 1,
            std::path::Component::CurDir => {}
            _ => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

/// The grading workspace's root manifest, from the kit's: its `[workspace.package]`,
/// `[workspace.dependencies]` and profiles, with the kit's crates and the submission's raft as its members.
pub fn workspace_manifest(kit_manifest: &str) -> Result<String, ManifestError> {
    let mut table: Table = kit_manifest.parse().map_err(|e: toml::de::Error| {
        ManifestError::Toml(format!("the kit's Cargo.toml: {}", e.message()))
    })?;
    let mut ws = table
        .remove("workspace")
        .and_then(|w| w.as_table().cloned())
        .unwrap_or_default();
    ws.insert(
        "members".into(),
        Value::Array(
            [
                "labrpc",
                "raftapi",
                "raft",
                "kvapi",
                "kvsrv",
                "kvraft",
                "linearizability",
                "harness",
                "harness-cli",
            ]
            .iter()
            .map(|m| Value::String((*m).to_string()))
            .collect(),
        ),
    );
    ws.remove("exclude");
    ws.remove("default-members");
    let mut out = Table::new();
    out.insert("workspace".into(), Value::Table(ws));
    if let Some(profile) = table.remove("profile") {
        out.insert("profile".into(), profile);
    }
    let body = toml::to_string(&out).map_err(|e| ManifestError::Toml(e.to_string()))?;
    Ok(format!(
        "# The grading workspace, written by `harness grade`: the kit's crates (labrpc, raftapi,\n\
         # the key/value labs' crates, linearizability, harness, harness-cli) with the submission's\n\
         # raft.\n{body}"
    ))
}

/// The names in `[workspace.dependencies]` and the edition in `[workspace.package]` of the
/// kit's root manifest.
pub fn workspace_facts(kit_manifest: &str) -> (Vec<String>, String) {
    let table: Table = kit_manifest.parse().unwrap_or_default();
    let ws = table.get("workspace").and_then(Value::as_table);
    let deps = ws
        .and_then(|w| w.get("dependencies"))
        .and_then(Value::as_table)
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default();
    let edition = ws
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("edition"))
        .and_then(Value::as_str)
        .unwrap_or("2021")
        .to_string();
    (deps, edition)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(text: &str) -> Result<RaftManifest, ManifestError> {
        raft_manifest(
            text,
            Path::new("/nonexistent/raft"),
            &["labrpc".to_string(), "serde".to_string()],
            "2021",
            &Rules::parse("dependencies = [\"labrpc\", \"serde\", \"itoa\", \"helper\"]")
                .expect("valid rules"),
        )
    }

    #[test]
    fn only_dependencies_and_features_survive() {
        let m = manifest(
            r#"
[package]
name = "raft"
version = "9.9.9"
edition = "2018"
build = "build.rs"

[dependencies]
labrpc.workspace = true
serde = { workspace = true, features = ["derive"] }
itoa = "1"
helper = { path = "vendor/helper" }

[features]
fast = ["itoa"]

[patch.crates-io]
labrpc = { path = "../my-labrpc" }

[profile.release]
opt-level = 0

[build-dependencies]
cc = "1"
"#,
        )
        .expect("a usable manifest");
        let out: Table = m.text.parse().expect("valid TOML");
        assert_eq!(out["package"]["name"].as_str(), Some("raft"));
        assert_eq!(out["package"]["edition"].as_str(), Some("2018"));
        assert_eq!(out["package"]["build"].as_bool(), Some(false));
        assert_eq!(out["lib"]["path"].as_str(), Some("src/lib.rs"));
        let deps = out["dependencies"].as_table().expect("a table");
        let names: Vec<&String> = deps.keys().collect();
        assert_eq!(names, ["helper", "itoa", "labrpc", "serde"]);
        assert_eq!(out["features"]["fast"][0].as_str(), Some("itoa"));
        for gone in ["patch", "profile", "build-dependencies"] {
            assert!(!out.contains_key(gone), "{gone} must be dropped");
            assert!(
                m.dropped.iter().any(|d| d.contains(gone)),
                "{:?}",
                m.dropped
            );
        }
        assert!(m.dropped.iter().any(|d| d.contains("build")));
        assert_eq!(out["lints"]["rust"]["unsafe_code"].as_str(), Some("forbid"));
        assert!(m.unlisted.is_empty());
    }

    #[test]
    fn dependencies_the_rules_do_not_list_are_named_and_left_out() {
        let m = manifest(
            "[package]\nname = \"raft\"\n[dependencies]\nlibc = \"0.2\"\nmine = { package = \"nix\", version = \"0.29\" }\nserde = \"1\"\n",
        )
        .expect("a usable manifest");
        assert_eq!(m.unlisted, ["libc", "mine (package nix)"]);
        let out: Table = m.text.parse().expect("valid TOML");
        let names: Vec<&String> = out["dependencies"]
            .as_table()
            .expect("a table")
            .keys()
            .collect();
        assert_eq!(names, ["serde"]);
    }

    #[test]
    fn paths_outside_the_crate_are_refused() {
        for path in ["../harness", "src/../../labrpc", "/etc"] {
            let e = manifest(&format!(
                "[package]\nname = \"raft\"\n[dependencies]\nx = {{ path = \"{path}\" }}\n"
            ))
            .expect_err(path);
            assert!(matches!(e, ManifestError::PathOutside { .. }), "{e}");
            assert!(e.to_string().contains("outside the raft crate"), "{e}");
        }
    }

    #[test]
    fn mistakes_are_named() {
        let e = manifest("[package]\nname = \"myraft\"\n").expect_err("wrong name");
        assert!(e.to_string().contains("\"myraft\""), "{e}");
        let e = manifest("[package]\nname = \"raft\"\n[dependencies]\nrand.workspace = true\n")
            .expect_err("not in the workspace");
        assert!(e.to_string().contains("rand = \"1\""), "{e}");
        let e = manifest("[package\nname = ").expect_err("not TOML");
        assert!(matches!(e, ManifestError::Toml(_)), "{e}");
    }

    #[test]
    fn the_workspace_keeps_its_dependencies_and_has_the_kits_crates_and_raft() {
        let kit = r#"
[workspace]
resolver = "2"
members = ["labrpc", "raft", "harness", "xtask"]
[workspace.package]
edition = "2021"
[workspace.dependencies]
serde = "1"
[profile.release]
debug = 1
"#;
        let out: Table = workspace_manifest(kit)
            .expect("valid")
            .parse()
            .expect("valid TOML");
        assert_eq!(
            out["workspace"]["members"].as_array().map(Vec::len),
            Some(9)
        );
        assert_eq!(
            out["workspace"]["dependencies"]["serde"].as_str(),
            Some("1")
        );
        assert_eq!(out["profile"]["release"]["debug"].as_integer(), Some(1));
        assert_eq!(
            workspace_facts(kit),
            (vec!["serde".to_string()], "2021".to_string())
        );
    }
}
