//! Running trials in child processes, with limits, so that a submission that ends, aborts or
//! exhausts its process fails only its own trial.
//!
//! The trials of each grader are cut into batches of consecutive seeds; each batch runs in one
//! child (the built binary's `harness run GRADER --seed-start S --runs N --json FILE`) under
//! `timeout` (coreutils: a wall-clock limit) and `prlimit` (util-linux: address space, file
//! size, no core dumps). A child that writes its report ran every trial of its batch, whatever
//! they did. A child that died (no report) is run again one seed per child, so that each death
//! lands on the trial that caused it, with a message that says how it died: an exit, an abort,
//! a stack overflow, memory, the time limit.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::merge::ShardReport;
use crate::run::GraderSummary;
use harness::graders::Grader;

/// Lines of a dead child's output kept for its trial's bundle.
const TAIL_LINES: usize = 40;

/// Extra wall time a child gets to start and write its report.
const STARTUP: Duration = Duration::from_secs(10);

/// How long `timeout` waits after its polite stop before it kills.
const KILL_AFTER_SECS: u64 = 5;

/// The largest file a child may write (its report, a bundle, its captured output), in bytes.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// The limits of every child.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Address space of a child, in MiB.
    pub memory_mib: u64,
    /// Wall time one trial may take (a batch of `n` trials on `j` workers gets
    /// `ceil(n / j)` times this).
    pub trial: Duration,
}

/// Which of the limiting tools the machine has.
#[derive(Debug, Clone, Copy)]
pub struct Tools {
    /// `prlimit` (util-linux).
    pub prlimit: bool,
    /// `timeout` (coreutils).
    pub timeout: bool,
}

impl Tools {
    /// Looks for the tools.
    pub fn find() -> Tools {
        let works = |tool: &str| {
            Command::new(tool)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        Tools {
            prlimit: works("prlimit"),
            timeout: works("timeout"),
        }
    }
}

/// One batch: consecutive seeds of one grader.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The grader's index in the run.
    pub index: usize,
    /// The grader.
    pub grader: Grader,
    /// The first seed.
    pub seed_start: u64,
    /// How many seeds.
    pub runs: u64,
}

/// How a child died.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Death {
    /// What the student reads: how the process ended, and the likely cause.
    pub message: String,
    /// The child's last lines of output.
    pub tail: String,
}

/// What a batch gave.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The child ran every trial and wrote its report.
    Ran(GraderSummary),
    /// The child died before writing its report.
    Died(Death),
}

/// Runs batches in children of the built grader binary.
#[derive(Debug)]
pub struct Runner {
    /// The grader binary.
    pub binary: PathBuf,
    /// Where the children's reports and output go.
    pub work: PathBuf,
    /// The limits.
    pub limits: Limits,
    /// The limiting tools found.
    pub tools: Tools,
    /// Flags every child gets (executor, watchdog, bundles, ...), after `run GRADER`.
    pub flags: Vec<OsString>,
    next: AtomicUsize,
}

impl Runner {
    /// A runner of `binary` writing into `work`.
    pub fn new(binary: PathBuf, work: PathBuf, limits: Limits, flags: Vec<OsString>) -> Runner {
        Runner {
            binary,
            work,
            limits,
            tools: Tools::find(),
            flags,
            next: AtomicUsize::new(0),
        }
    }

    /// The command that runs `batch` on `jobs` workers, writing its report to `json`, with its
    /// wall-clock limit.
    fn command(&self, batch: &Batch, jobs: usize, json: &Path) -> (Command, Duration) {
        let rounds = batch.runs.div_ceil(jobs.max(1) as u64).max(1);
        let limit = self
            .limits
            .trial
            .saturating_mul(rounds.min(u32::MAX as u64) as u32)
            + STARTUP;
        let mut argv: Vec<OsString> = Vec::new();
        if self.tools.timeout {
            argv.extend(
                [
                    "timeout".to_string(),
                    "-k".to_string(),
                    KILL_AFTER_SECS.to_string(),
                    format!("{}s", limit.as_secs().max(1)),
                ]
                .map(OsString::from),
            );
        }
        if self.tools.prlimit {
            argv.extend(
                [
                    "prlimit".to_string(),
                    format!("--as={}", self.limits.memory_mib.saturating_mul(1 << 20)),
                    format!("--fsize={MAX_FILE_BYTES}"),
                    "--core=0".to_string(),
                    "--".to_string(),
                ]
                .map(OsString::from),
            );
        }
        argv.push(self.binary.clone().into_os_string());
        argv.extend(
            [
                "run",
                batch.grader.name,
                "--seed-start",
                &batch.seed_start.to_string(),
                "--runs",
                &batch.runs.to_string(),
                "--jobs",
                &jobs.to_string(),
            ]
            .map(OsString::from),
        );
        argv.push("--json".into());
        argv.push(json.as_os_str().to_owned());
        argv.extend(self.flags.iter().cloned());
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            // Each malloc arena reserves 64 MiB of address space; a handful is plenty.
            .env("MALLOC_ARENA_MAX", "2")
            .env("NO_COLOR", "1")
            .env_remove("LAB_LOG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        (cmd, limit)
    }

    /// Runs one batch in one child on `jobs` workers.
    pub fn run_batch(&self, batch: &Batch, jobs: usize) -> Result<Outcome, String> {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let json = self.work.join(format!("batch-{n}.json"));
        let err_path = self.work.join(format!("batch-{n}.stderr"));
        let (mut cmd, limit) = self.command(batch, jobs, &json);
        let stderr = File::create(&err_path)
            .map_err(|e| format!("cannot create {}: {e}", err_path.display()))?;
        let status = cmd
            .stdout(Stdio::null())
            .stderr(stderr)
            .status()
            .map_err(|e| {
                format!(
                    "cannot start the grader binary {}: {e}",
                    self.binary.display()
                )
            })?;
        let tail = tail_of(&err_path);
        let report = std::fs::read_to_string(&json).ok();
        let _ = std::fs::remove_file(&json);
        let _ = std::fs::remove_file(&err_path);
        // `run` makes an empty report file when it starts (to check it can write one) and
        // fills it when it ends: an empty or cut-off file is a death like a missing one.
        let value = report.and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
        if let Some(value) = value {
            let report = ShardReport::from_json(&json, &value).map_err(|e| e.to_string())?;
            let summary = report
                .grader_summaries()
                .into_iter()
                .next()
                .ok_or_else(|| format!("the child's report {} has no grader", json.display()))?;
            if summary.finished() == summary.planned {
                return Ok(Outcome::Ran(summary));
            }
        }
        if status.code() == Some(super::super::EXIT_USAGE) && tail.contains("harness: ") {
            // Our own mistake, not the submission's: say it rather than blame a trial.
            return Err(format!(
                "the grader binary refused its command line: {tail}"
            ));
        }
        Ok(Outcome::Died(Death {
            message: death_message(status, &tail, limit, &self.limits, self.tools),
            tail,
        }))
    }

    /// Runs each seed of `batch` in its own child, `jobs` children at once; returns each seed
    /// with its outcome, in seed order.
    pub fn run_one_by_one(
        &self,
        batch: &Batch,
        jobs: usize,
    ) -> Vec<(u64, Result<Outcome, String>)> {
        let seeds: Vec<u64> = (batch.seed_start..batch.seed_start + batch.runs).collect();
        let next = AtomicUsize::new(0);
        let results = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..jobs.clamp(1, seeds.len().max(1)) {
                scope.spawn(|| loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&seed) = seeds.get(k) else { break };
                    let one = Batch {
                        seed_start: seed,
                        runs: 1,
                        ..batch.clone()
                    };
                    let outcome = self.run_batch(&one, 1);
                    results.lock().push((seed, outcome));
                });
            }
        });
        let mut results = results.into_inner();
        results.sort_by_key(|(seed, _)| *seed);
        results
    }
}

/// The last lines of a file.
fn tail_of(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let mut bytes = Vec::new();
        let _ = f.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

/// Says how a child that wrote no report ended, from its exit status and its last output.
pub fn death_message(
    status: ExitStatus,
    tail: &str,
    limit: Duration,
    limits: &Limits,
    tools: Tools,
) -> String {
    let during = "the grading process died during this trial";
    // `timeout` exits 124 when its polite stop ended the child, and kills itself with the
    // child's signal otherwise.
    if tools.timeout && status.code() == Some(124) {
        return format!(
            "{during}: it ran past the wall-clock limit of {}s (a loop that never awaits, or a \
             wait that never ends, that the lab runtime's watchdog could not stop)",
            limit.as_secs()
        );
    }
    if let Some(code) = status.code() {
        if code == 101 && tail.contains("panicked at") {
            let panic = tail
                .lines()
                .skip_while(|l| !l.contains("panicked at"))
                .take(3)
                .collect::<Vec<_>>()
                .join(" ");
            return format!("{during}: a panic outside the lab runtime ended it: {panic}");
        }
        return format!(
            "{during}: the process exited with status {code} before the grader finished, as \
             std::process::exit({code}) does; a Raft peer must never end the process (return, \
             or log the problem, instead)"
        );
    }
    let signal = status.signal().unwrap_or(0);
    if tail.contains("has overflowed its stack") {
        return format!(
            "{during}: a thread overflowed its stack (unbounded recursion?), which aborts the \
             process"
        );
    }
    if tail.contains("memory allocation of") && tail.contains("failed") {
        return format!(
            "{during}: it ran out of memory (an allocation failed under the limit of {} MiB: \
             memory allocated without bound?)",
            limits.memory_mib
        );
    }
    match signal {
        6 => format!(
            "{during}: the process aborted (std::process::abort, or a panic while panicking or \
             inside a function that cannot unwind)"
        ),
        9 => format!(
            "{during}: it was killed (signal 9): it ran past the wall-clock limit of {}s, or the \
             machine ran out of memory",
            limit.as_secs()
        ),
        11 => format!("{during}: it crashed with a segmentation fault (signal 11)"),
        25 => format!(
            "{during}: it wrote more than {} MiB to one file (printing without bound?)",
            MAX_FILE_BYTES >> 20
        ),
        s => format!("{during}: it was killed by signal {s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            memory_mib: 512,
            trial: Duration::from_secs(60),
        }
    }

    const TOOLS: Tools = Tools {
        prlimit: true,
        timeout: true,
    };

    fn said(status: ExitStatus, tail: &str) -> String {
        death_message(status, tail, Duration::from_secs(70), &limits(), TOOLS)
    }

    #[test]
    fn each_way_of_dying_is_named() {
        let exit = |code: i32| ExitStatus::from_raw(code << 8);
        let signal = ExitStatus::from_raw;
        assert!(said(exit(3), "").contains("std::process::exit(3)"));
        assert!(said(exit(124), "").contains("wall-clock limit of 70s"));
        assert!(said(
            exit(101),
            "thread 'main' panicked at src/main.rs:3:5:\nboom\n"
        )
        .contains("boom"));
        assert!(said(
            signal(6),
            "\nthread 'lab' has overflowed its stack\nfatal runtime error: stack overflow"
        )
        .contains("overflowed its stack"));
        assert!(
            said(signal(6), "memory allocation of 1048576 bytes failed\n")
                .contains("limit of 512 MiB")
        );
        assert!(said(signal(6), "").contains("aborted"));
        assert!(said(signal(9), "").contains("killed"));
        assert!(said(signal(11), "").contains("segmentation fault"));
        assert!(said(signal(25), "").contains("1024 MiB"));
    }
}
