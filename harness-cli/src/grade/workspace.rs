//! The scratch workspace: the kit's `labrpc`, `raftapi`, `harness` and `harness-cli` with the
//! submission's `raft` (and its `raftapi/src/messages.rs`, the one given file a submission may
//! extend), built in a folder of our own, never inside the submission.
//!
//! The workspace sits at a fixed place in the grading target folder (`TARGET/workspace`), and
//! files are written only when their content changed, so that Cargo, which keys the kit's
//! crates by their path and files' times, builds `labrpc` once and afterwards only the
//! submission and the harness that links it. A lock (`flock` on `TARGET/grade.lock`) keeps two
//! grades from writing the same workspace at once; it is held while the workspace is written
//! and built, and released before the trials run, which use a private copy of the binary.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::manifest::{self, ManifestError};
use super::rules::Rules;

/// The largest submission crate we copy, in bytes: a `raft` crate is a few hundred kilobytes;
/// anything this size is a mistake (a build folder, a data dump).
pub const MAX_SUBMISSION_BYTES: u64 = 50 * 1024 * 1024;

/// Compiler errors shown in a report, at most.
pub const SHOWN_ERRORS: usize = 5;

/// Why the workspace could not be made or built (a submission that does not compile is not an
/// error here: see [`BuildOutcome`]).
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The submission folder holds no `raft` crate.
    #[error("{0} holds no raft crate: expected SUBMISSION/raft/Cargo.toml (a student repository) or SUBMISSION/Cargo.toml of a package called raft")]
    NoCrate(PathBuf),
    /// The crate has no `src/lib.rs`.
    #[error("the submission's raft crate {0} has no src/lib.rs")]
    NoLib(PathBuf),
    /// The submission is too big to be a raft crate.
    #[error("the submission's raft crate {path} holds more than {} MB; leave out build folders (target/) and data", MAX_SUBMISSION_BYTES / 1024 / 1024)]
    TooBig {
        /// The crate.
        path: PathBuf,
    },
    /// The kit (the repository with labrpc, raftapi, harness and harness-cli) is not where it
    /// should be.
    #[error("{0} is not the lab's repository (no labrpc/, raftapi/, harness/ and harness-cli/ beside a Cargo.toml); pass --kit DIR")]
    NoKit(PathBuf),
    /// The submission's manifest cannot be used.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A file could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A tool could not be started.
    #[error("cannot run {tool}: {source}")]
    Tool {
        /// The tool.
        tool: String,
        /// Why.
        source: std::io::Error,
    },
}

fn io<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> WorkspaceError + 'a {
    move |source| WorkspaceError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// The kit's crates copied into the scratch workspace, as they are.
pub const KIT_CRATES: &[&str] = &[
    "labrpc",
    "raftapi",
    "kvapi",
    "kvsrv",
    "kvraft",
    "linearizability",
    "harness",
    "harness-cli",
];

/// The one file of the given crate `raftapi` that a submission may change (by adding fields
/// to the messages): taken from a student repository when it has one.
pub const MESSAGES: &str = "raftapi/src/messages.rs";

/// The submission's own [`MESSAGES`] file, when it is a student repository that has one.
pub fn find_messages(submission: &Path) -> Option<PathBuf> {
    let path = submission.join(MESSAGES);
    path.is_file().then_some(path)
}

/// Finds the submission's `raft` crate: `DIR/raft` of a student repository, or `DIR` itself.
pub fn find_crate(submission: &Path) -> Result<PathBuf, WorkspaceError> {
    let nested = submission.join("raft");
    if nested.join("Cargo.toml").is_file() {
        return Ok(nested);
    }
    let manifest = submission.join("Cargo.toml");
    if manifest.is_file() {
        let text = std::fs::read_to_string(&manifest).map_err(io("cannot read", &manifest))?;
        let table: toml::Table = text.parse().unwrap_or_default();
        let name = table
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(toml::Value::as_str);
        if name == Some("raft") {
            return Ok(submission.to_path_buf());
        }
    }
    Err(WorkspaceError::NoCrate(submission.to_path_buf()))
}

/// Whether `dir` looks like the lab's repository.
pub fn is_kit(dir: &Path) -> bool {
    dir.join("Cargo.toml").is_file()
        && KIT_CRATES
            .iter()
            .all(|krate| dir.join(krate).join("Cargo.toml").is_file())
}

/// Which files of a folder to copy.
pub(crate) type Filter<'a> = &'a dyn Fn(&Path, bool) -> bool;

/// The files under `dir` that `keep(relative path, is_dir)` accepts, as sorted relative paths.
/// Symbolic links are never followed (and never copied).
pub(crate) fn list_files(dir: &Path, keep: Filter<'_>) -> Result<Vec<PathBuf>, WorkspaceError> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let here = dir.join(&rel);
        let mut entries: Vec<_> = std::fs::read_dir(&here)
            .map_err(io("cannot read the folder", &here))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let Ok(kind) = e.file_type() else { continue };
            let path = rel.join(e.file_name());
            if kind.is_dir() {
                if keep(&path, true) {
                    stack.push(path);
                }
            } else if kind.is_file() && keep(&path, false) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Writes `bytes` to `path` unless it already holds them (so Cargo sees no change), creating
/// folders as needed. Returns whether it wrote.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, WorkspaceError> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io("cannot create the folder", dir))?;
    }
    std::fs::write(path, bytes).map_err(io("cannot write", path))?;
    Ok(true)
}

/// Makes `dst` hold exactly the files of `src` that `keep` accepts (plus those named in
/// `spare`, which are left alone), writing only what changed. Returns the files copied, as
/// relative paths, and their total size.
fn mirror(
    src: &Path,
    dst: &Path,
    keep: Filter<'_>,
    spare: &[&str],
    max_bytes: Option<u64>,
) -> Result<(Vec<PathBuf>, u64), WorkspaceError> {
    let files = list_files(src, keep)?;
    let mut total = 0u64;
    for rel in &files {
        let from = src.join(rel);
        total += std::fs::metadata(&from).map(|m| m.len()).unwrap_or(0);
        if max_bytes.is_some_and(|max| total > max) {
            return Err(WorkspaceError::TooBig {
                path: src.to_path_buf(),
            });
        }
        let bytes = std::fs::read(&from).map_err(io("cannot read", &from))?;
        write_if_changed(&dst.join(rel), &bytes)?;
    }
    if dst.is_dir() {
        let wanted: BTreeSet<&PathBuf> = files.iter().collect();
        for rel in list_files(dst, &|_, _| true)? {
            let spared = spare.iter().any(|s| rel == Path::new(s));
            if !spared && !wanted.contains(&rel) {
                let stale = dst.join(&rel);
                std::fs::remove_file(&stale).map_err(io("cannot remove", &stale))?;
            }
        }
    }
    Ok((files, total))
}

/// Build folders, version control and editor folders: never part of a crate's sources.
pub(crate) fn is_noise(rel: &Path) -> bool {
    rel.components().any(|c| {
        let s = c.as_os_str().to_string_lossy();
        s == "target" || s.starts_with('.')
    })
}

/// A 64-bit FNV-1a hash, as 16 hex digits: a fingerprint that is the same on every machine.
pub fn fingerprint(parts: &[&[u8]]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.iter().chain(&[0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// The scratch workspace of a grading target folder.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The grading target folder (`--target-dir`).
    pub target: PathBuf,
    /// The kit: the repository whose `labrpc` and `harness` grade the submission.
    pub kit: PathBuf,
}

/// What writing the submission into the workspace found.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The fingerprint of the crate as built (its files and the manifest we wrote).
    pub fingerprint: String,
    /// What was left out of the submission's manifest or folder.
    pub dropped: Vec<String>,
    /// The disallowed methods and types the lint uses, with what to use instead.
    pub disallowed: Vec<(String, String)>,
    /// Dependencies the grading rules do not allow.
    pub unlisted: Vec<String>,
}

/// What building the workspace gave.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// Whether the harness binary was built.
    pub ok: bool,
    /// The first errors, as the compiler printed them (or Cargo's own error when nothing was
    /// compiled, e.g. a dependency that cannot be found).
    pub errors: Vec<String>,
    /// Errors in all.
    pub error_count: usize,
    /// Whether some error is in the harness (the submission's API differs from the one the
    /// graders use) rather than in the submission.
    pub api_mismatch: bool,
    /// Cargo's whole output, for the build log.
    pub log: String,
}

impl BuildOutcome {
    /// The outcome of a submission refused before building: nothing was built, and no
    /// compiler error is to blame.
    pub fn refused() -> BuildOutcome {
        BuildOutcome {
            ok: false,
            errors: Vec::new(),
            error_count: 0,
            api_mismatch: false,
            log: "not built: the submission was refused (see the report)\n".to_string(),
        }
    }
}

/// The methods a submission must not call directly, and what to call instead, when the kit
/// has no `clippy.toml` of its own.
pub const DEFAULT_DISALLOWED: &[(&str, &str)] = &[
    (
        "std::thread::sleep",
        "labrpc::runtime::sleep(duration).await",
    ),
    ("std::time::Instant::now", "labrpc::runtime::now()"),
    ("std::time::SystemTime::now", "labrpc::runtime::now()"),
    ("std::thread::spawn", "labrpc::runtime::spawn(future)"),
    ("rand::thread_rng", "labrpc::runtime::random_range(range)"),
    ("rand::rng", "labrpc::runtime::random_range(range)"),
    (
        "rand::random",
        "labrpc::runtime::random_range(range) or random_u64()",
    ),
];

/// The `clippy.toml` written when the kit has none: [`DEFAULT_DISALLOWED`] as
/// `disallowed-methods`.
pub fn default_clippy_toml() -> String {
    let mut out = String::from(
        "# Written by `harness grade`: direct uses of the clock, threads and random generators\n\
         # escape the lab runtime (and, in sim mode, the simulation).\ndisallowed-methods = [\n",
    );
    for (path, instead) in DEFAULT_DISALLOWED {
        out.push_str(&format!(
            "    {{ path = \"{path}\", reason = \"use {instead}\", allow-invalid = true }},\n"
        ));
    }
    out.push_str("]\n");
    out
}

/// The disallowed methods and types of a `clippy.toml`, each with its reason (or our own
/// advice).
pub fn disallowed_methods(clippy_toml: &str) -> Vec<(String, String)> {
    let table: toml::Table = clippy_toml.parse().unwrap_or_default();
    let advice = |path: &str| {
        DEFAULT_DISALLOWED
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, i)| (*i).to_string())
    };
    let mut out = Vec::new();
    for entry in ["disallowed-methods", "disallowed-types"]
        .iter()
        .filter_map(|key| table.get(*key).and_then(toml::Value::as_array))
        .flatten()
    {
        let (path, reason) = match entry {
            toml::Value::String(p) => (p.clone(), None),
            toml::Value::Table(t) => match t.get("path").and_then(toml::Value::as_str) {
                Some(p) => (
                    p.to_string(),
                    t.get("reason")
                        .and_then(toml::Value::as_str)
                        .map(str::to_string),
                ),
                None => continue,
            },
            _ => continue,
        };
        // The kit's reason says what to use (`...: use `x` or `y``); ours when it does not.
        let from_reason = reason.as_deref().and_then(|r| {
            let at = r.rfind("use ")?;
            Some(r[at + 4..].replace('`', "").trim().to_string())
        });
        let instead = from_reason
            .filter(|s| !s.is_empty())
            .or_else(|| advice(&path))
            .unwrap_or_else(|| "the lab runtime (labrpc::runtime)".to_string());
        out.push((path, instead));
    }
    out
}

impl Workspace {
    /// The workspace folder.
    pub fn dir(&self) -> PathBuf {
        self.target.join("workspace")
    }

    /// Cargo's target folder.
    pub fn cargo_target(&self) -> PathBuf {
        self.target.join("cargo")
    }

    /// The built grader binary.
    pub fn binary(&self) -> PathBuf {
        self.cargo_target().join("release").join("harness")
    }

    /// Takes the workspace's lock, waiting for another grade that holds it.
    pub fn lock(&self) -> Result<BuildLock, WorkspaceError> {
        std::fs::create_dir_all(&self.target)
            .map_err(io("cannot create the folder", &self.target))?;
        BuildLock::acquire(&self.target.join("grade.lock"))
    }

    /// Writes the kit's crates and the submission's `raft` crate (from `crate_dir`) into the
    /// workspace, with manifests of our own, and the submission's messages (`messages`, its
    /// copy of [`MESSAGES`]) over the kit's. Hold the [lock](Self::lock).
    pub fn prepare(
        &self,
        crate_dir: &Path,
        messages: Option<&Path>,
        rules: &Rules,
    ) -> Result<Prepared, WorkspaceError> {
        if !is_kit(&self.kit) {
            return Err(WorkspaceError::NoKit(self.kit.clone()));
        }
        if !crate_dir.join("src/lib.rs").is_file() {
            return Err(WorkspaceError::NoLib(crate_dir.to_path_buf()));
        }
        let ws = self.dir();
        for &krate in KIT_CRATES {
            let skip_handout = krate == "harness";
            mirror(
                &self.kit.join(krate),
                &ws.join(krate),
                &|rel, _| !(is_noise(rel) || skip_handout && rel.starts_with("handout")),
                &[],
                None,
            )?;
        }
        let kit_manifest_path = self.kit.join("Cargo.toml");
        let kit_manifest = std::fs::read_to_string(&kit_manifest_path)
            .map_err(io("cannot read", &kit_manifest_path))?;
        write_if_changed(
            &ws.join("Cargo.toml"),
            manifest::workspace_manifest(&kit_manifest)?.as_bytes(),
        )?;
        let lock = self.kit.join("Cargo.lock");
        if lock.is_file() {
            let bytes = std::fs::read(&lock).map_err(io("cannot read", &lock))?;
            write_if_changed(&ws.join("Cargo.lock"), &bytes)?;
        }
        // The submission's lint lists: the kit's raft/clippy.toml (which the student's own
        // `cargo clippy` reads), else the kit's, else ours.
        let clippy = std::fs::read_to_string(self.kit.join("raft/clippy.toml"))
            .or_else(|_| std::fs::read_to_string(self.kit.join("clippy.toml")))
            .unwrap_or_else(|_| default_clippy_toml());
        write_if_changed(&ws.join("clippy.toml"), clippy.as_bytes())?;

        // The submission: its sources, never its build script, manifest or lock file.
        let mut dropped = Vec::new();
        if crate_dir.join("build.rs").is_file() {
            dropped.push("build.rs is not run".to_string());
        }
        let (files, _) = mirror(
            crate_dir,
            &ws.join("raft"),
            &|rel, is_dir| {
                !is_noise(rel)
                    && (is_dir
                        || !(rel == Path::new("build.rs")
                            || rel == Path::new("Cargo.toml")
                            || rel == Path::new("Cargo.lock")
                            || rel.file_name().is_some_and(|n| n == "clippy.toml")))
            },
            &["Cargo.toml"],
            Some(MAX_SUBMISSION_BYTES),
        )?;
        let given_path = crate_dir.join("Cargo.toml");
        let given = std::fs::read_to_string(&given_path).map_err(io("cannot read", &given_path))?;
        let (deps, edition) = manifest::workspace_facts(&kit_manifest);
        let raft = manifest::raft_manifest(&given, crate_dir, &deps, &edition, rules)?;
        dropped.extend(raft.dropped);
        write_if_changed(&ws.join("raft/Cargo.toml"), raft.text.as_bytes())?;

        let mut parts: Vec<Vec<u8>> = vec![raft.text.into_bytes()];
        if let Some(path) = messages {
            let bytes = std::fs::read(path).map_err(io("cannot read", path))?;
            if bytes.len() as u64 > MAX_SUBMISSION_BYTES {
                return Err(WorkspaceError::TooBig {
                    path: path.to_path_buf(),
                });
            }
            write_if_changed(&ws.join(MESSAGES), &bytes)?;
            parts.push(MESSAGES.as_bytes().to_vec());
            parts.push(bytes);
        }
        for rel in &files {
            parts.push(rel.to_string_lossy().into_owned().into_bytes());
            parts.push(std::fs::read(ws.join("raft").join(rel)).unwrap_or_default());
        }
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        Ok(Prepared {
            fingerprint: fingerprint(&refs),
            dropped,
            disallowed: disallowed_methods(&clippy),
            unlisted: raft.unlisted,
        })
    }

    pub(crate) fn cargo(&self, offline: bool) -> Command {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(self.dir())
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET_DIR")
            .env("CARGO_TERM_COLOR", "never")
            .stdin(Stdio::null());
        if offline {
            cmd.env("CARGO_NET_OFFLINE", "true");
        }
        cmd
    }

    /// Builds the grader binary (release) with the submission. A submission that does not
    /// compile gives an outcome with `ok == false` and the first errors.
    pub fn build(&self, offline: bool) -> Result<BuildOutcome, WorkspaceError> {
        let out = self
            .cargo(offline)
            .args([
                "build",
                "--release",
                "-p",
                "harness-cli",
                "--bin",
                "harness",
            ])
            .arg("--target-dir")
            .arg(self.cargo_target())
            .args(["--message-format", "json"])
            .output()
            .map_err(|source| WorkspaceError::Tool {
                tool: "cargo build".into(),
                source,
            })?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let mut errors = Vec::new();
        let mut error_count = 0;
        let mut api_mismatch = false;
        let mut log = String::new();
        for line in stdout.lines() {
            let Ok(msg) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if msg["reason"] != "compiler-message" {
                continue;
            }
            let rendered = msg["message"]["rendered"].as_str().unwrap_or("");
            log.push_str(rendered);
            if msg["message"]["level"] != "error" {
                continue;
            }
            // The kit's crates compile on their own: an error there means the submission's
            // messages or its `Raft` differ from the API the graders use.
            let target = msg["target"]["name"].as_str().unwrap_or("");
            let in_harness = ["harness", "harness_cli", "raftapi"].contains(&target);
            api_mismatch |= in_harness;
            error_count += 1;
            if errors.len() < SHOWN_ERRORS && !rendered.starts_with("error: aborting") {
                errors.push(rendered.trim_end().to_string());
            }
        }
        log.push_str(&stderr);
        let ok = out.status.success();
        if !ok && errors.is_empty() {
            // Nothing was compiled: Cargo itself failed (a dependency it cannot find, ...).
            let cargo_errors: Vec<&str> = stderr
                .lines()
                .skip_while(|l| !l.starts_with("error"))
                .take(20)
                .collect();
            errors.push(if cargo_errors.is_empty() {
                format!("cargo build failed ({}) without a message", out.status)
            } else {
                cargo_errors.join("\n")
            });
            error_count = error_count.max(1);
        }
        Ok(BuildOutcome {
            ok,
            errors,
            error_count,
            api_mismatch,
            log,
        })
    }
}

/// An exclusive lock on a file, held by a `flock` child process for as long as this value
/// lives (and released by the kernel if our process dies, so it is never left stale).
#[derive(Debug)]
pub struct BuildLock {
    child: Option<Child>,
}

impl BuildLock {
    /// Takes the lock on `path`, waiting (and saying so) while another process holds it. Without
    /// `flock` (util-linux) on the machine, goes on unlocked, with a warning.
    pub fn acquire(path: &Path) -> Result<BuildLock, WorkspaceError> {
        let attempt = |wait: bool| {
            let mut cmd = Command::new("flock");
            if !wait {
                cmd.arg("--nonblock");
            }
            cmd.arg(path)
                .args(["sh", "-c", "echo locked && exec cat"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
        };
        for wait in [false, true] {
            let mut child = match attempt(wait) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!(
                        "harness: cannot run flock ({e}); building without a lock: do not run two grades on one --target-dir at once"
                    );
                    return Ok(BuildLock { child: None });
                }
            };
            let mut line = String::new();
            if let Some(out) = child.stdout.take() {
                let _ = BufReader::new(out).read_line(&mut line);
            }
            if line.trim() == "locked" {
                return Ok(BuildLock { child: Some(child) });
            }
            let _ = child.wait();
            if !wait {
                eprintln!(
                    "harness: another grade is building in {}; waiting for it",
                    path.parent().unwrap_or(path).display()
                );
            }
        }
        Err(WorkspaceError::Tool {
            tool: format!("flock {}", path.display()),
            source: std::io::Error::other("flock did not take the lock"),
        })
    }
}

impl Drop for BuildLock {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Closing its input ends `cat`, and with it the lock.
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.flush();
            }
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_tell_parts_apart() {
        assert_eq!(fingerprint(&[b"a", b"bc"]), fingerprint(&[b"a", b"bc"]));
        assert_ne!(fingerprint(&[b"a", b"bc"]), fingerprint(&[b"ab", b"c"]));
        assert_eq!(fingerprint(&[]), "cbf29ce484222325");
    }

    #[test]
    fn the_kits_reasons_or_our_advice_name_what_to_use() {
        let listed = disallowed_methods(
            r#"disallowed-methods = [
                "std::thread::sleep",
                { path = "std::time::Instant::now", reason = "reads the wall clock: use `labrpc::runtime::now()`" },
                { path = "my::own", reason = "use my::better" },
                { path = "my::other", reason = "no advice" },
            ]"#,
        );
        assert_eq!(
            listed,
            [
                (
                    "std::thread::sleep".to_string(),
                    "labrpc::runtime::sleep(duration).await".to_string()
                ),
                (
                    "std::time::Instant::now".to_string(),
                    "labrpc::runtime::now()".to_string()
                ),
                ("my::own".to_string(), "my::better".to_string()),
                (
                    "my::other".to_string(),
                    "the lab runtime (labrpc::runtime)".to_string()
                ),
            ]
        );
        let ours = disallowed_methods(&default_clippy_toml());
        assert_eq!(ours.len(), DEFAULT_DISALLOWED.len());
    }

    #[test]
    fn noise_is_build_output_and_hidden_folders() {
        assert!(is_noise(Path::new("target/debug/x")));
        assert!(is_noise(Path::new("src/.cargo/config.toml")));
        assert!(!is_noise(Path::new("src/peer.rs")));
    }
}
