//! `harness handout --out DIR [--parts A,B]`: the student repository.
//!
//! The handout is data, kept in the kit's `harness/handout/`: a manifest (`MANIFEST`) that
//! lists what goes in (the kit's `labrpc` and `harness`, each part's grader tests, the files of
//! the reference `raft` that students are given, and the skeleton's templates), and the
//! templates, whose `@part X` blocks hold each part's pieces ([`template`]). Adding a part is
//! adding lines and blocks there, not code here.
//!
//! What students get of the harness: its sources, and of its tests only the graders (one file
//! per part). The harness's own tests (the CLI's, the tester's, the deliberately broken peers',
//! grading and handout tests) check the harness against the reference Raft or against peers
//! that fail on purpose; in a student's repository they would fail, or pass, for reasons that
//! have nothing to do with the student's code, and slow `cargo test -p harness` down. The
//! harness's documentation examples are switched off for the same reason (they drive the
//! reference Raft).
//!
//! Before anything is written, the skeleton is checked against the reference `raft/src`
//! ([`overlap`]): a handout that would contain a run of solution code is refused.

pub mod overlap;
pub mod template;

use std::path::{Path, PathBuf};

use clap::Args;

use super::grade::workspace::{is_kit, is_noise, list_files};
use super::{CliError, EXIT_PASSED};
use harness::graders;
use template::{Entry, Kind, TemplateError};

/// The handout's data, inside the kit.
pub const HANDOUT_DIR: &str = "harness/handout";

/// `harness handout`.
#[derive(Debug, Args)]
pub struct HandoutArgs {
    /// The folder to write the student repository into (new, or empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The parts to hand out, e.g. `A,B` [default: every part with graders].
    #[arg(long, value_name = "PARTS", value_delimiter = ',')]
    pub parts: Vec<String>,
    /// The lab repository to take labrpc, harness and the reference raft from [default: the
    /// one this harness was built from].
    #[arg(long, value_name = "DIR")]
    pub kit: Option<PathBuf>,
    /// Write into --out even if it holds files (they are overwritten).
    #[arg(long)]
    pub force: bool,
    /// Leave the handout a plain folder: by default it is made a git repository with the
    /// handout as its first commit, so students start with `git diff` and `git log` at hand.
    #[arg(long)]
    pub no_git: bool,
}

/// The handout cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum HandoutError {
    /// The kit is not the lab's repository, or lacks its handout data.
    #[error("{0} is not the lab's repository with its handout data ({HANDOUT_DIR}/MANIFEST); run this from the lab's repository or pass --kit DIR")]
    NoKit(PathBuf),
    /// A part that has no graders was asked for.
    #[error("there is no part {part:?}; parts with graders: {known}")]
    UnknownPart {
        /// The part asked for.
        part: String,
        /// The parts that exist.
        known: String,
    },
    /// A grader of a handed-out part would not run under `cargo test -p harness`.
    #[error("the grader {grader} (part {part}) is run by none of the handout's test files: add it to one (a `grader` line of {HANDOUT_DIR}/MANIFEST, or a template under {HANDOUT_DIR}/harness/graders/tests)")]
    GraderNotRun {
        /// The grader.
        grader: String,
        /// Its part.
        part: String,
    },
    /// A file the manifest names is missing.
    #[error("{HANDOUT_DIR}/MANIFEST:{line}: the kit has no {path}")]
    Missing {
        /// The manifest line.
        line: usize,
        /// The missing file.
        path: String,
    },
    /// The manifest or a template is malformed.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The skeleton would contain solution code.
    #[error("the handout would contain solution code, so nothing was written:\n{}", .0.iter().map(|o| format!("  {o}")).collect::<Vec<_>>().join("\n"))]
    Solution(Vec<overlap::Overlap>),
    /// The output folder holds files already.
    #[error("{0} is not empty; pick a new folder, or pass --force to write over it")]
    NotEmpty(PathBuf),
    /// A file could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> HandoutError + 'a {
    move |source| HandoutError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// The handout, computed in memory: every file's path and contents.
#[derive(Debug, Clone)]
pub struct Handout {
    /// The parts handed out.
    pub parts: Vec<String>,
    /// The files, by path relative to the handout's root, in the manifest's order.
    pub files: Vec<(PathBuf, Vec<u8>)>,
}

impl Handout {
    /// The contents of `path`, if the handout has it.
    pub fn file(&self, path: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(p, _)| p == Path::new(path))
            .map(|(_, c)| c.as_slice())
    }
}

/// The parts that have graders, in the lab's order: the Raft parts (the key/value labs have no
/// skeleton yet, so they are not handed out).
pub fn known_parts() -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for g in graders::all().iter().filter(|g| g.is_raft()) {
        if !parts.iter().any(|p| p == g.part) {
            parts.push(g.part.to_string());
        }
    }
    parts
}

/// Reads `path` of the kit.
fn read(kit: &Path, path: &str) -> Result<Vec<u8>, HandoutError> {
    let full = kit.join(path);
    std::fs::read(&full).map_err(io("cannot read", &full))
}

fn text(bytes: Vec<u8>, path: &str) -> Result<String, HandoutError> {
    String::from_utf8(bytes).map_err(|_| HandoutError::Io {
        what: "not UTF-8 text:",
        path: PathBuf::from(path),
        source: std::io::Error::other("a template must be UTF-8 text"),
    })
}

/// Computes the handout of `parts` (every part with graders when empty) from `kit`, and checks
/// it against the reference Raft.
pub fn build(kit: &Path, parts: &[String]) -> Result<Handout, HandoutError> {
    let manifest_path = kit.join(HANDOUT_DIR).join("MANIFEST");
    if !is_kit(kit) || !manifest_path.is_file() {
        return Err(HandoutError::NoKit(kit.to_path_buf()));
    }
    let manifest_text = text(
        std::fs::read(&manifest_path).map_err(io("cannot read", &manifest_path))?,
        "MANIFEST",
    )?;
    let entries = template::parse_manifest(&manifest_text, &format!("{HANDOUT_DIR}/MANIFEST"))?;
    let known = known_parts();
    let mut chosen: Vec<String> = Vec::new();
    for p in parts {
        let p = p
            .trim()
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .to_ascii_uppercase();
        if !known.contains(&p) {
            return Err(HandoutError::UnknownPart {
                part: p,
                known: known.join(", "),
            });
        }
        if !chosen.contains(&p) {
            chosen.push(p);
        }
    }
    // The lab's order, whatever the order asked.
    let parts: Vec<String> = if chosen.is_empty() {
        known.clone()
    } else {
        known
            .iter()
            .filter(|p| chosen.contains(p))
            .cloned()
            .collect()
    };
    let wanted = |e: &Entry| match &e.part {
        None => true,
        Some(p) => parts.contains(p),
    };

    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut given: Vec<String> = Vec::new();
    let mut skeleton: Vec<(String, String)> = Vec::new();
    for e in entries.iter().filter(|e| wanted(e)) {
        let missing = || HandoutError::Missing {
            line: e.line,
            path: e.path.clone(),
        };
        match &e.kind {
            Kind::Copy { optional, tail } => {
                let from = kit.join(&e.path);
                if from.is_dir() {
                    for rel in list_files(&from, &|rel, _| !is_noise(rel)).map_err(|w| {
                        HandoutError::Io {
                            what: "cannot read",
                            path: from.clone(),
                            source: std::io::Error::other(w.to_string()),
                        }
                    })? {
                        let path = Path::new(&e.path).join(&rel);
                        files.push((
                            path,
                            std::fs::read(from.join(&rel)).map_err(io("cannot read", &from))?,
                        ));
                    }
                } else if from.is_file() {
                    let mut bytes = read(kit, &e.path)?;
                    if let Some(tail) = tail {
                        let t = format!("{HANDOUT_DIR}/{tail}");
                        let rendered =
                            template::render(&text(read(kit, &t)?, &t)?, &t, &parts, kit)?;
                        bytes.extend_from_slice(rendered.as_bytes());
                    }
                    files.push((PathBuf::from(&e.path), bytes));
                } else if !optional {
                    return Err(missing());
                }
            }
            Kind::Given => {
                if !kit.join(&e.path).is_file() {
                    return Err(missing());
                }
                files.push((PathBuf::from(&e.path), read(kit, &e.path)?));
                given.push(e.path.clone());
            }
            Kind::Grader => {
                // A template of the same path replaces a kit file that also tests the harness
                // itself (against the reference), which would fail in a student's repository;
                // otherwise the kit's file is the template (its `@part` blocks).
                let t = format!("{HANDOUT_DIR}/{}", e.path);
                let source = if kit.join(&t).is_file() {
                    t
                } else if kit.join(&e.path).is_file() {
                    e.path.clone()
                } else {
                    return Err(missing());
                };
                let rendered =
                    template::render(&text(read(kit, &source)?, &source)?, &source, &parts, kit)?;
                files.push((PathBuf::from(&e.path), rendered.into_bytes()));
            }
            Kind::Render => {
                let t = format!("{HANDOUT_DIR}/{}", e.path);
                let source = if kit.join(&t).is_file() {
                    t
                } else if kit.join(&e.path).is_file() {
                    e.path.clone()
                } else {
                    return Err(missing());
                };
                let rendered =
                    template::render(&text(read(kit, &source)?, &source)?, &source, &parts, kit)?;
                let path = PathBuf::from(&e.path);
                files.retain(|(p, _)| *p != path);
                files.push((path, rendered.into_bytes()));
            }
            Kind::Skeleton => {
                let t = format!("{HANDOUT_DIR}/{}", e.path);
                if !kit.join(&t).is_file() {
                    return Err(HandoutError::Missing {
                        line: e.line,
                        path: t,
                    });
                }
                let rendered = template::render(&text(read(kit, &t)?, &t)?, &t, &parts, kit)?;
                if e.path.ends_with(".rs") {
                    skeleton.push((e.path.clone(), rendered.clone()));
                }
                files.push((PathBuf::from(&e.path), rendered.into_bytes()));
            }
        }
    }

    // Every grader of a handed-out part runs under `cargo test -p harness`: its name is a word
    // of a test file (a test function of that name, or the name passed to `grade`).
    let words: std::collections::BTreeSet<String> = files
        .iter()
        .filter(|(p, _)| {
            (p.starts_with("harness/graders/tests") || p.starts_with("harness/tests"))
                && p.extension().is_some_and(|x| x == "rs")
        })
        .flat_map(|(_, bytes)| {
            String::from_utf8_lossy(bytes)
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    for g in graders::all()
        .iter()
        .filter(|g| parts.iter().any(|p| p == g.part))
    {
        if !words.contains(g.name) {
            return Err(HandoutError::GraderNotRun {
                grader: g.name.to_string(),
                part: g.part.to_string(),
            });
        }
    }

    // No solution: the reference raft's own code (all but what is given) must not show up.
    let reference_dir = kit.join("raft/src");
    let mut reference = Vec::new();
    for rel in
        list_files(&reference_dir, &|rel, _| !is_noise(rel)).map_err(|w| HandoutError::Io {
            what: "cannot read",
            path: reference_dir.clone(),
            source: std::io::Error::other(w.to_string()),
        })?
    {
        let path = format!("raft/src/{}", rel.display());
        if rel.extension().is_some_and(|x| x == "rs") && !given.contains(&path) {
            let source = text(read(kit, &path)?, &path)?;
            reference.push((path, source));
        }
    }
    let found = overlap::overlaps(&reference, &skeleton);
    if !found.is_empty() {
        return Err(HandoutError::Solution(found));
    }
    Ok(Handout { parts, files })
}

/// Writes `handout` into `out` (which must be new or empty, unless `force`).
pub fn write(handout: &Handout, out: &Path, force: bool) -> Result<(), HandoutError> {
    if !force
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
    {
        return Err(HandoutError::NotEmpty(out.to_path_buf()));
    }
    for (path, bytes) in &handout.files {
        let to = out.join(path);
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(io("cannot create the folder", dir))?;
        }
        std::fs::write(&to, bytes).map_err(io("cannot write", &to))?;
    }
    Ok(())
}

/// Makes `dir` a git repository whose first commit holds every file of it, with an author of
/// its own (students' later commits carry their own names). `Err` says why it could not.
pub fn git_init(dir: &Path) -> Result<(), String> {
    let git = |args: &[&str]| -> Result<(), String> {
        let out = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=Raft lab",
                "-c",
                "user.email=raft-lab@localhost",
            ])
            .args([
                "-c",
                "init.defaultBranch=main",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(dir)
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    git(&["init", "--quiet"])?;
    git(&["add", "--all"])?;
    git(&[
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        "The Raft lab handout",
    ])
}

/// Runs `harness handout`.
pub fn handout_command(args: &HandoutArgs) -> Result<i32, CliError> {
    let kit = args.kit.clone().unwrap_or_else(super::grade::default_kit);
    let handout = build(&kit, &args.parts)?;
    write(&handout, &args.out, args.force)?;
    if !args.no_git && !args.out.join(".git").exists() {
        match git_init(&args.out) {
            Ok(()) => println!(
                "made {} a git repository with the handout as its first commit",
                args.out.display()
            ),
            Err(e) => eprintln!(
                "note: the handout is not a git repository ({e}); run `git init` in it yourself"
            ),
        }
    }
    println!(
        "handout of part{} {} written to {} ({} files; no solution code found)",
        if handout.parts.len() == 1 { "" } else { "s" },
        template::list_parts(&handout.parts),
        args.out.display(),
        handout.files.len()
    );
    println!(
        "check it: (cd {} && cargo test -p harness) fails every grader with the tester's messages",
        args.out.display()
    );
    Ok(EXIT_PASSED)
}
