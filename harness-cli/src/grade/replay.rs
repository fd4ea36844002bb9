//! `harness grade SUBMISSION GRADER --replay SEED`: the replay command of a graded report.

use std::path::Path;

use super::rules::Rules;
use super::workspace::{self, Workspace};
use super::{child, GradeArgs, GradeError};
use crate::{CliError, EXIT_FAILED};

/// `harness grade SUBMISSION GRADER --replay SEED`: builds the submission as a grade does and
/// replays one seed of one grader with the built binary, its log shown one column per peer.
/// The replay runs in a child process too (with the memory limit), though without the
/// grade's protocol: it only shows, it decides nothing.
pub(super) fn replay_submission(
    args: &GradeArgs,
    ws: &Workspace,
    crate_dir: &Path,
    rules: &Rules,
    seed: u64,
) -> Result<i32, CliError> {
    let graders = crate::select_graders(&args.run.selectors)?;
    let [grader] = graders.as_slice() else {
        return Err(CliError::Usage(format!(
            "--replay replays one grader's seed: name one grader, not {}",
            args.run.selectors.join(" ")
        )));
    };
    eprintln!(
        "harness grade: building {} in {} to replay {} seed {seed}",
        crate_dir.display(),
        ws.dir().display(),
        grader.name
    );
    let binary = {
        let _lock = ws.lock().map_err(GradeError::from)?;
        let prepared = ws
            .prepare(
                crate_dir,
                workspace::find_messages(&args.submission).as_deref(),
                rules,
            )
            .map_err(GradeError::from)?;
        if !prepared.unlisted.is_empty() {
            eprintln!(
                "harness grade: the submission depends on {}, which the graders do not allow",
                prepared.unlisted.join(", ")
            );
            return Ok(EXIT_FAILED);
        }
        let build = ws.build(args.offline).map_err(GradeError::from)?;
        if !build.ok {
            eprintln!("harness grade: the submission does not compile:");
            for e in &build.errors {
                eprintln!("{e}\n");
            }
            return Ok(EXIT_FAILED);
        }
        // A private copy: the workspace may be rebuilt by another grade once the lock is gone.
        let copy = std::env::temp_dir().join(format!("harness-replay-{}", std::process::id()));
        std::fs::copy(ws.binary(), &copy).map_err(|e| {
            GradeError::Child(format!(
                "cannot copy the grader binary {}: {e}",
                ws.binary().display()
            ))
        })?;
        copy
    };
    let mut cmd = if child::Tools::find().prlimit {
        let mut c = std::process::Command::new("prlimit");
        c.arg(format!("--as={}", args.memory.saturating_mul(1 << 20)))
            .arg("--core=0")
            .arg("--")
            .arg(&binary);
        c
    } else {
        std::process::Command::new(&binary)
    };
    cmd.args(["replay", grader.name, "--seed", &seed.to_string()])
        .arg("--stuck-after")
        .arg(args.run.stuck_after.to_string());
    if args.run.real {
        cmd.arg("--real");
    }
    let status = cmd.status().map_err(|e| {
        GradeError::Child(format!(
            "cannot run the grader binary {}: {e}",
            binary.display()
        ))
    });
    let _ = std::fs::remove_file(&binary);
    Ok(status?.code().unwrap_or(EXIT_FAILED))
}
