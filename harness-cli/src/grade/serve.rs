//! The grading child's side (`harness grade-trials`, a hidden command): read the key and the
//! plan from standard input, confine file writes to the scratch folders, run the trials and
//! report each one as an authenticated [frame](super::protocol::encode_frame) on standard
//! output. It writes no report: the parent alone does.

use std::io::{BufRead as _, Read as _, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use labrpc::runtime::Executor;

use super::protocol::{self, Hello, Key, TrialFrame, TrialPlan};
use crate::run::{self, RunOptions, TrialRecord};
use crate::{CliError, EXIT_PASSED};

/// The longest first line (the hello) read from standard input.
const MAX_HELLO: u64 = 1 << 20;

/// Runs `harness grade-trials`: the trials of the plan on standard input.
pub fn serve(run: run::TrialFn) -> Result<i32, CliError> {
    // Read (and so consume) the whole of standard input before any submission code runs: the
    // key is then nowhere the submission can read it from.
    let mut line = String::new();
    let mut input = std::io::stdin().lock().take(MAX_HELLO);
    input
        .read_line(&mut line)
        .map_err(|e| CliError::Usage(format!("grade-trials: cannot read the plan: {e}")))?;
    // The parent writes one line and closes its end: read to the end all the same.
    let _ = std::io::copy(&mut input, &mut std::io::sink());
    drop(input);
    let hello: Hello = serde_json::from_str(&line).map_err(|e| {
        CliError::Usage(format!(
            "grade-trials is run by `harness grade`, with the plan on standard input ({e})"
        ))
    })?;
    let key = Key::from_hex(&hello.key).map_err(|e| CliError::Usage(e.to_string()))?;
    let plan = hello.plan;
    eprintln!("harness grade-trials: {}", confine_writes(&plan.writable));
    let grader = harness::graders::by_name(&plan.grader).ok_or_else(|| {
        CliError::Usage(format!("grade-trials: no grader called {:?}", plan.grader))
    })?;
    let options = options(&plan, grader)?;
    run::keep_log_captures_complete();

    // This child's own first bundles (the lowest of its seeds); the parent keeps the grader's.
    let slots = run::BundleSlots::new(1, options.max_bundles);
    let next = AtomicUsize::new(0);
    let jobs = plan.jobs.clamp(1, plan.seeds.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(&seed) = plan.seeds.get(k) else {
                    break;
                };
                let record = run::run_one_with(run, &options, &slots, 0, grader, seed);
                let line = protocol::encode_frame(&key, &frame(&record));
                // One write of the whole line under the lock: never interleaved with the
                // submission's output, which only comes before or after it.
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(format!("\n{line}\n").as_bytes());
                let _ = out.flush();
            });
        }
    });
    Ok(EXIT_PASSED)
}

fn options(plan: &TrialPlan, grader: harness::graders::Grader) -> Result<RunOptions, CliError> {
    let mut options = RunOptions::new(vec![grader], 1);
    options.jobs = plan.jobs.max(1);
    options.executor = if plan.real {
        Executor::Real
    } else {
        Executor::Sim
    };
    options.stuck_after = crate::seconds("--stuck-after", plan.stuck_after)?;
    options.monitor = plan.monitor;
    options.check_determinism = plan.check_determinism;
    options.keep_all = plan.keep_all;
    options.out_dir = plan.bundles.clone();
    options.bundle_log = plan.bundle_log.clone();
    options.max_bundles = plan.max_bundles;
    options.html = plan.html;
    Ok(options)
}

fn frame(record: &TrialRecord) -> TrialFrame {
    let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    TrialFrame {
        seed: record.seed,
        error: record.outcome.as_ref().err().cloned(),
        runaway: record.runaway.map(str::to_string),
        warnings: record
            .outcome
            .as_ref()
            .map(|p| p.warnings.clone())
            .unwrap_or_default(),
        run_time_ns: nanos(record.run_time),
        wall_ns: nanos(record.wall),
        bundle: record.bundle.clone(),
        page: record.page.clone(),
    }
}

/// Confines this process's file writes (and those of every thread it starts afterwards) to
/// `writable`, with Landlock; returns what was done, in words, for the child's log (the parent
/// reads it there).
fn confine_writes(writable: &[std::path::PathBuf]) -> String {
    use landlock::{
        path_beneath_rules, AccessFs, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, ABI,
    };
    let abi = ABI::V3;
    let status = Ruleset::default()
        .handle_access(AccessFs::from_write(abi))
        .and_then(|r| r.create())
        .and_then(|r| r.add_rules(path_beneath_rules(writable, AccessFs::from_write(abi))))
        .and_then(|r| r.restrict_self());
    match status {
        Ok(s) => match s.ruleset {
            RulesetStatus::FullyEnforced | RulesetStatus::PartiallyEnforced => {
                format!("{LANDLOCK_ON} ({} folders)", writable.len())
            }
            RulesetStatus::NotEnforced => LANDLOCK_OFF.to_string(),
        },
        Err(e) => format!("{LANDLOCK_OFF}: {e}"),
    }
}

/// What the child says when its writes are confined.
pub const LANDLOCK_ON: &str = "file writes confined to the scratch folders (Landlock)";
/// What the child says when they cannot be.
pub const LANDLOCK_OFF: &str = "file writes not confined: the kernel has no Landlock";
