//! The lint: `cargo clippy` with the submission's `disallowed-methods` and `disallowed-types`
//! (the kit's `raft/clippy.toml`, which the student's own `cargo clippy` reads too). What it
//! finds is either refused (files, processes, the network, the OS: see [`Rules`]) or reported
//! with what to use instead (the clock, threads, random generators, the environment).

use std::collections::BTreeMap;

use serde_json::Value;

use super::rules::Rules;
use super::workspace::Workspace;
use super::DisallowedUse;

/// The clippy lints whose findings the lint keeps.
const LINTS: &[&str] = &["clippy::disallowed_methods", "clippy::disallowed_types"];

/// Runs `cargo clippy` on the submission in `ws` with only the `disallowed-methods` and
/// `disallowed-types` lints, and returns its findings in the submission, each with what to use
/// instead and whether `rules` refuse it. `Err` says why the check could not run (clippy
/// missing, ...).
pub fn lint(
    ws: &Workspace,
    offline: bool,
    disallowed: &[(String, String)],
    rules: &Rules,
) -> Result<Vec<DisallowedUse>, String> {
    let out = ws
        .cargo(offline)
        .args(["clippy", "-p", "raft", "--lib"])
        // Our clippy.toml, never one the submission brought.
        .env("CLIPPY_CONF_DIR", ws.dir())
        .arg("--target-dir")
        .arg(ws.cargo_target())
        .args(["--message-format", "json", "--"])
        // Only these lints matter here: capping keeps a submission's own `deny` attributes
        // from turning other lints into errors that would stop the check, and forcing them
        // keeps its `allow` attributes from hiding what they find.
        .args([
            "--cap-lints",
            "warn",
            "--force-warn",
            "clippy::disallowed_methods",
            "--force-warn",
            "clippy::disallowed_types",
        ])
        .output()
        .map_err(|e| format!("cannot run cargo clippy: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let why = stderr
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or("cargo clippy failed");
        return Err(why.to_string());
    }
    let mut found = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let m = &msg["message"];
        if msg["reason"] != "compiler-message" || !LINTS.iter().any(|l| m["code"]["code"] == *l) {
            continue;
        }
        let text = m["message"].as_str().unwrap_or("");
        let call = text.split('`').nth(1).unwrap_or(text).to_string();
        let Some(span) = m["spans"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["is_primary"] == true))
        else {
            continue;
        };
        let file = span["file_name"].as_str().unwrap_or("");
        let Some(file) = file.strip_prefix("raft/") else {
            continue;
        };
        let instead = disallowed
            .iter()
            .find(|(p, _)| *p == call)
            .map(|(_, i)| i.clone())
            .unwrap_or_else(|| "the lab runtime (labrpc::runtime)".to_string());
        // A type and its method at one place (`File::open`) are one finding.
        let at = (
            file.to_string(),
            span["line_start"].as_u64().unwrap_or(0),
            span["column_start"].as_u64().unwrap_or(0),
        );
        found.entry(at).or_insert((call, instead));
    }
    Ok(found
        .into_iter()
        .map(|((file, line, column), (call, instead))| DisallowedUse {
            refused: rules.refuses(&call),
            file,
            line,
            column,
            call,
            instead,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::workspace::disallowed_methods;
    use super::*;

    fn kit_file(rel: &str) -> String {
        let kit = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the kit")
            .to_path_buf();
        std::fs::read_to_string(kit.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// Clippy reads raft/clippy.toml instead of the workspace's for the raft crate, so it must
    /// hold the workspace's lists too.
    #[test]
    fn the_submissions_lint_holds_the_workspaces_lists() {
        let raft: Vec<String> = disallowed_methods(&kit_file("raft/clippy.toml"))
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        for (path, _) in disallowed_methods(&kit_file("clippy.toml")) {
            assert!(raft.contains(&path), "raft/clippy.toml lacks {path}");
        }
    }

    /// Item 5 of issue 19: what the lint must find, and which of it refuses a submission.
    #[test]
    fn the_submissions_lint_names_the_runtimes_escapes_and_refuses_the_os() {
        let listed = disallowed_methods(&kit_file("raft/clippy.toml"));
        let rules = Rules::default();
        for path in [
            "futures::executor::block_on",
            "rand::rng",
            "rand::thread_rng",
            "rand::rngs::OsRng",
            "rand::SeedableRng::from_os_rng",
            "rand::SeedableRng::from_entropy",
            "std::env::var",
            "std::env::args",
        ] {
            let (_, instead) = listed
                .iter()
                .find(|(p, _)| p == path)
                .unwrap_or_else(|| panic!("raft/clippy.toml does not list {path}"));
            assert!(!instead.is_empty(), "{path}");
            assert!(!rules.refuses(path), "{path} is reported, not refused");
        }
        for path in [
            "std::fs::write",
            "std::fs::File",
            "std::fs::File::open",
            "std::process::exit",
            "std::process::Command",
            "std::net::TcpStream",
            "std::os::unix::fs::symlink",
        ] {
            assert!(
                listed.iter().any(|(p, _)| p == path),
                "raft/clippy.toml does not list {path}"
            );
            assert!(rules.refuses(path), "{path} is refused");
        }
    }
}
