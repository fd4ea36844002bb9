//! Running trials in child processes, with limits, so that a submission that ends, aborts,
//! exhausts or wedges its process fails only its own trials, and never writes its own grade.
//!
//! A child is the built binary's hidden `grade-trials` command, run under `prlimit`
//! (util-linux: address space, file size, no core dumps), with its plan and a fresh key on
//! standard input ([`super::protocol`]); it reports each trial as an authenticated
//! frame on standard output, and the parent counts only those. The parent keeps the wall-clock
//! limit itself and kills the child past it.
//!
//! A child that ends before reporting every seed it was given died: when it held one seed, that
//! seed failed with a message saying how it died (an exit, an abort, a stack overflow, memory,
//! the time limit); when it held more, they are run again one seed per child, so that the death
//! lands on the trial that caused it. A trial that ran away (stuck, deadlocked, looping, past
//! its time) leaves a thread behind in its process, so its child is killed at once and the
//! seeds it had not reported go to a fresh child; after [`Runaways::cap`] of them, a grader's
//! remaining seeds are not run at all.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::protocol::{self, Hello, Key, Line, TrialFrame, TrialPlan};
use harness::graders::Grader;

/// Lines of a dead child's output kept for its trial's bundle.
const TAIL_LINES: usize = 40;

/// Extra wall time a child gets to start and report.
const STARTUP: Duration = Duration::from_secs(10);

/// The largest file a child may write (a bundle, its captured output), in bytes.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// How long a child whose trial ran away may go on before it is killed: long enough for the
/// frames of trials that ran away at the same moment (seeds of one deadlocking grader started
/// together) to arrive and count, so that one child usually shows whether the cap is reached.
const RUNAWAY_GRACE: Duration = Duration::from_millis(300);

/// How long the parent reads what a killed child had written before it died.
const DRAIN: Duration = Duration::from_secs(2);

/// Runaway seeds of one grader after which its other seeds are not run, by default.
pub const DEFAULT_MAX_RUNAWAY: u64 = 3;

/// The limits of every child.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Address space of a child, in MiB.
    pub memory_mib: u64,
    /// Wall time one trial may take (a child of `n` trials on `j` workers gets
    /// `ceil(n / j)` times this).
    pub trial: Duration,
}

/// Which of the limiting tools the machine has.
#[derive(Debug, Clone, Copy)]
pub struct Tools {
    /// `prlimit` (util-linux).
    pub prlimit: bool,
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
        }
    }
}

/// How a child died.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Death {
    /// What the student reads: how the process ended, and the likely cause.
    pub message: String,
    /// The child's last lines of output.
    pub tail: String,
    /// Whether it was killed at the wall-clock limit (a runaway).
    pub timed_out: bool,
}

/// What became of one seed.
#[derive(Debug, Clone)]
pub enum Settled {
    /// The child reported it.
    Reported(TrialFrame),
    /// The child died while running it.
    Died(Death),
    /// It was not run: its grader ran away too often (the reason).
    NotRun(String),
}

/// The runaway seeds of one grader so far, by kind.
#[derive(Debug, Clone, Default)]
pub struct Runaways {
    /// After this many, the grader's other seeds are not run (0: no cap).
    pub cap: u64,
    kinds: Vec<String>,
}

impl Runaways {
    /// None yet, with a cap.
    pub fn new(cap: u64) -> Runaways {
        Runaways {
            cap,
            kinds: Vec::new(),
        }
    }

    /// Counts one.
    pub fn add(&mut self, kind: &str) {
        self.kinds.push(kind.to_string());
    }

    /// Whether the grader's other seeds are not to be run.
    pub fn capped(&self) -> bool {
        self.cap > 0 && self.kinds.len() as u64 >= self.cap
    }

    /// Why a seed was not run: `not run: 3 seeds of this grader deadlocked`.
    pub fn reason(&self) -> String {
        let n = self.kinds.len();
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for k in &self.kinds {
            match counts.iter_mut().find(|(kind, _)| kind == k) {
                Some((_, c)) => *c += 1,
                None => counts.push((k, 1)),
            }
        }
        let what = match counts.as_slice() {
            [(kind, _)] => (*kind).to_string(),
            _ => format!(
                "ran away ({})",
                counts
                    .iter()
                    .map(|(k, c)| format!("{c} {k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        format!(
            "not run: {n} seed{} of this grader {what}, so its other seeds were not run (each \
             would cost the watchdog's wait); the grader fails",
            if n == 1 { "" } else { "s" }
        )
    }
}

/// How one child ended.
struct ChildEnd {
    frames: Vec<TrialFrame>,
    forged: u64,
    /// Whether the child was killed because a trial ran away.
    killed_for_runaway: bool,
    timed_out: bool,
    status: Option<ExitStatus>,
    tail: String,
    limit: Duration,
}

/// Runs trials in children of the built grader binary.
#[derive(Debug)]
pub struct Runner {
    /// The grader binary.
    pub binary: PathBuf,
    /// Where the children's captured output goes (and where they may write).
    pub work: PathBuf,
    /// The limits.
    pub limits: Limits,
    /// The limiting tools found.
    pub tools: Tools,
    /// The plan every child gets, but for its grader and seeds.
    pub template: TrialPlan,
    /// Frames that did not authenticate (written by the submission), over every child.
    pub forged: AtomicUsize,
    /// What the first child said about confining its writes.
    pub confinement: Mutex<Option<String>>,
    next: AtomicUsize,
}

impl Runner {
    /// A runner of `binary` writing into `work`; `template` holds the settings of every child.
    pub fn new(binary: PathBuf, work: PathBuf, limits: Limits, template: TrialPlan) -> Runner {
        Runner {
            binary,
            work,
            limits,
            tools: Tools::find(),
            template,
            forged: AtomicUsize::new(0),
            confinement: Mutex::new(None),
            next: AtomicUsize::new(0),
        }
    }

    /// Runs `seeds` of `grader`, `jobs` at once, in as many children as it takes; `runaways`
    /// counts the grader's runaway seeds (and may stop it). Returns each seed with what became
    /// of it, in seed order. `Err` is a grading failure that is not the submission's.
    pub fn run_seeds(
        &self,
        grader: Grader,
        seeds: &[u64],
        jobs: usize,
        runaways: &Mutex<Runaways>,
    ) -> Result<Vec<(u64, Settled)>, String> {
        let mut pending: Vec<u64> = seeds.to_vec();
        let mut out = Vec::new();
        while !pending.is_empty() {
            if runaways.lock().capped() {
                let why = runaways.lock().reason();
                out.extend(pending.drain(..).map(|s| (s, Settled::NotRun(why.clone()))));
                break;
            }
            let end = self.run_child(grader, &pending, jobs)?;
            for f in end.frames {
                if let Some(at) = pending.iter().position(|&s| s == f.seed) {
                    pending.remove(at);
                    if let Some(kind) = &f.runaway {
                        runaways.lock().add(kind);
                    }
                    out.push((f.seed, Settled::Reported(f)));
                }
            }
            if end.killed_for_runaway || pending.is_empty() {
                continue;
            }
            // The child ended (or ran out of time) before reporting every seed.
            if end
                .status
                .is_some_and(|s| s.code() == Some(super::super::EXIT_USAGE))
                && end.tail.contains("harness")
                && end.tail.contains("grade-trials")
            {
                return Err(format!("the grader binary refused its plan: {}", end.tail));
            }
            let death = Death {
                message: death_message(
                    end.status,
                    end.timed_out,
                    &end.tail,
                    end.limit,
                    &self.limits,
                ),
                tail: end.tail,
                timed_out: end.timed_out,
            };
            if pending.len() == 1 {
                if death.timed_out {
                    runaways.lock().add("timed out");
                }
                out.push((pending[0], Settled::Died(death)));
                pending.clear();
            } else {
                eprintln!(
                    "harness grade: {} seeds {:?}..: {}; running them one per process to find which",
                    grader.name,
                    pending.first(),
                    death.message
                );
                out.extend(self.run_one_by_one(grader, &pending, jobs, runaways)?);
                pending.clear();
            }
        }
        out.sort_by_key(|(seed, _)| *seed);
        Ok(out)
    }

    /// Runs each of `seeds` in its own child, `jobs` children at once.
    fn run_one_by_one(
        &self,
        grader: Grader,
        seeds: &[u64],
        jobs: usize,
        runaways: &Mutex<Runaways>,
    ) -> Result<Vec<(u64, Settled)>, String> {
        let next = AtomicUsize::new(0);
        let results = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..jobs.clamp(1, seeds.len().max(1)) {
                scope.spawn(|| loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&seed) = seeds.get(k) else { break };
                    let settled = self.run_seeds(grader, &[seed], 1, runaways);
                    results.lock().push(settled);
                });
            }
        });
        let mut out = Vec::new();
        for r in results.into_inner() {
            out.extend(r?);
        }
        Ok(out)
    }

    /// The command of one child (under `prlimit` when the machine has it).
    fn command(&self) -> Command {
        let mut argv: Vec<OsString> = Vec::new();
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
        // `prlimit` execs the binary: the child's process is the grader's, and killing it
        // leaves nothing behind.
        argv.push(self.binary.clone().into_os_string());
        argv.push("grade-trials".into());
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(&self.work)
            // Each malloc arena reserves 64 MiB of address space; a handful is plenty.
            .env("MALLOC_ARENA_MAX", "2")
            .env("NO_COLOR", "1")
            .env_remove("LAB_LOG")
            .env_remove("RUST_LOG");
        cmd
    }

    /// Runs one child on `seeds`; kills it when a trial runs away or past its time limit.
    fn run_child(&self, grader: Grader, seeds: &[u64], jobs: usize) -> Result<ChildEnd, String> {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let err_path = self.work.join(format!("child-{n}.stderr"));
        let stderr = File::create(&err_path)
            .map_err(|e| format!("cannot create {}: {e}", err_path.display()))?;
        let key = Key::random().map_err(|e| e.to_string())?;
        let plan = TrialPlan {
            grader: grader.name.to_string(),
            seeds: seeds.to_vec(),
            jobs,
            ..self.template.clone()
        };
        let rounds = (seeds.len() as u64).div_ceil(jobs.max(1) as u64).max(1);
        let limit = self
            .limits
            .trial
            .saturating_mul(rounds.min(u32::MAX as u64) as u32)
            + STARTUP;
        let mut child = self
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start the grader binary {}: {e}",
                    self.binary.display()
                )
            })?;
        let hello = Hello {
            key: key.to_hex(),
            plan,
        };
        if let Some(mut stdin) = child.stdin.take() {
            let line = serde_json::to_string(&hello).map_err(|e| e.to_string())?;
            // A child that died at once shows as a death below, not here.
            let _ = stdin.write_all(format!("{line}\n").as_bytes());
        }
        let (tx, rx) = crossbeam_channel::unbounded::<Vec<u8>>();
        let reader = child.stdout.take().map(|out| {
            std::thread::spawn(move || {
                let mut out = BufReader::new(out);
                while let Some(line) = read_line(&mut out) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
        });
        let deadline = Instant::now() + limit;
        let mut kill_at: Option<Instant> = None;
        let mut end = ChildEnd {
            frames: Vec::new(),
            forged: 0,
            killed_for_runaway: false,
            timed_out: false,
            status: None,
            tail: String::new(),
            limit,
        };
        let take = |line: &[u8], end: &mut ChildEnd| match protocol::decode_line(&key, line) {
            Line::Frame(f) => {
                let runaway = f.runaway.is_some();
                end.frames.push(f);
                runaway
            }
            Line::Forged => {
                end.forged += 1;
                false
            }
            Line::Other => false,
        };
        loop {
            let until = kill_at.map_or(deadline, |k| k.min(deadline));
            let left = until.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if take(&line, &mut end) && kill_at.is_none() {
                        // The runaway trial's thread is still in the process: end it (after
                        // the grace, for the frames already on their way), and keep what the
                        // trials reported.
                        kill_at = Some(Instant::now() + RUNAWAY_GRACE);
                    }
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    if kill_at.is_some() {
                        end.killed_for_runaway = true;
                    } else {
                        end.timed_out = true;
                    }
                    let _ = child.kill();
                    break;
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
            }
        }
        // A child that ended by itself during the grace still held a runaway trial's thread
        // until then: its unreported seeds are not deaths of theirs.
        if kill_at.is_some() {
            end.killed_for_runaway = true;
        }
        // Whatever whole frames were written before it ended still count. A process the child
        // started could keep the pipe open after the child's end: the reader is then left
        // behind rather than waited for.
        let drain_until = Instant::now() + DRAIN;
        while let Ok(line) = rx.recv_timeout(drain_until.saturating_duration_since(Instant::now()))
        {
            take(&line, &mut end);
        }
        if let Some(reader) = reader.filter(|r| r.is_finished()) {
            let _ = reader.join();
        }
        end.status = child.wait().ok();
        end.tail = tail_of(&err_path);
        self.forged.fetch_add(end.forged as usize, Ordering::SeqCst);
        {
            let mut said = self.confinement.lock();
            if said.is_none() {
                *said = confinement_of(&end.tail);
            }
        }
        let _ = std::fs::remove_file(&err_path);
        Ok(end)
    }
}

/// Reads one line of at most [`protocol::MAX_LINE`] bytes (a longer one is skipped to its end,
/// and given as empty); `None` at the end.
fn read_line(input: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buf = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        if buf.is_empty() {
            return (!line.is_empty() || too_long).then_some(line);
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(at) => (&buf[..=at], true),
            None => (buf, false),
        };
        let used = chunk.len();
        if !too_long {
            if line.len() + used > protocol::MAX_LINE {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        input.consume(used);
        if done {
            return Some(line);
        }
    }
}

/// What a child said about confining its writes, from its output.
fn confinement_of(tail: &str) -> Option<String> {
    tail.lines()
        .find_map(|l| l.strip_prefix("harness grade-trials: "))
        .map(str::to_string)
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

/// Says how a child that did not report every trial ended, from its exit status (`None` when
/// it could not be had), whether it was killed at its wall-clock limit, and its last output.
pub fn death_message(
    status: Option<ExitStatus>,
    timed_out: bool,
    tail: &str,
    limit: Duration,
    limits: &Limits,
) -> String {
    let during = "the grading process died during this trial";
    if timed_out {
        return format!(
            "{during}: it ran past the wall-clock limit of {}s (a loop that never awaits, or a \
             wait that never ends, that the lab runtime's watchdog could not stop)",
            limit.as_secs()
        );
    }
    let Some(status) = status else {
        return format!("{during}: it ended, and its exit status could not be read");
    };
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

    fn said(status: ExitStatus, tail: &str) -> String {
        death_message(
            Some(status),
            false,
            tail,
            Duration::from_secs(70),
            &limits(),
        )
    }

    #[test]
    fn each_way_of_dying_is_named() {
        let exit = |code: i32| ExitStatus::from_raw(code << 8);
        let signal = ExitStatus::from_raw;
        assert!(said(exit(3), "").contains("std::process::exit(3)"));
        assert!(
            death_message(None, true, "", Duration::from_secs(70), &limits())
                .contains("wall-clock limit of 70s")
        );
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

    #[test]
    fn a_capped_grader_says_how_its_seeds_ran_away() {
        let mut r = Runaways::new(3);
        r.add("deadlocked");
        r.add("deadlocked");
        assert!(!r.capped());
        r.add("deadlocked");
        assert!(r.capped());
        assert!(r
            .reason()
            .starts_with("not run: 3 seeds of this grader deadlocked"));
        r.add("timed out");
        assert!(r.reason().contains("ran away (3 deadlocked, 1 timed out)"));
        assert!(!Runaways::new(0).capped());
    }

    #[test]
    fn long_lines_are_skipped_and_short_ones_kept() {
        let mut text = vec![b'x'; protocol::MAX_LINE + 10];
        text.extend_from_slice(b"\nshort\nlast");
        let mut input = std::io::Cursor::new(text);
        assert_eq!(read_line(&mut input), Some(Vec::new()));
        assert_eq!(read_line(&mut input), Some(b"short\n".to_vec()));
        assert_eq!(read_line(&mut input), Some(b"last".to_vec()));
        assert_eq!(read_line(&mut input), None);
    }
}
