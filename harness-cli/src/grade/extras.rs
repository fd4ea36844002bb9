//! What `harness grade` adds to a run's report: what the build and the lint found, why a
//! submission was refused, the lint as a test of its own, and replay commands that rebuild the
//! submission.

use std::fmt::Write as _;

use labrpc::runtime::Executor;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::serve;
use crate::policy::Policy;
use crate::report::{self, xml_escape};
use crate::run::{self, RunSummary};

/// A direct use in a submission of something its lint lists (the `disallowed-methods` and
/// `disallowed-types` of the kit's `raft/clippy.toml`), with what to use instead.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DisallowedUse {
    /// The file, relative to the submission's crate (e.g. `src/peer.rs`).
    pub file: String,
    /// The line (1-based).
    pub line: u64,
    /// The column (1-based).
    pub column: u64,
    /// The method called, e.g. `std::thread::sleep`.
    pub call: String,
    /// What to call instead, e.g. `labrpc::runtime::sleep(duration).await`.
    pub instead: String,
    /// Whether it refuses the submission (files, processes, the network, the OS), rather than
    /// being reported.
    #[serde(default)]
    pub refused: bool,
}

/// What `harness grade` adds to a run's report (its `extra_data.grade`): which submission, and
/// what was found in it besides the graders' verdicts. The same submission gives the same
/// value on every machine (but for its folder name), so shards' reports can be checked to be
/// of one submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradeExtras {
    /// The submission's folder name.
    pub submission: String,
    /// The submission as the grading command named it (for the replay commands).
    #[serde(default)]
    pub path: String,
    /// A fingerprint of the submission's crate as built (its files and manifest).
    pub fingerprint: String,
    /// What was not used from the submission (its build script, `[patch]`, ...).
    pub dropped: Vec<String>,
    /// The compiler's first errors, when the submission did not compile.
    pub compile_errors: Option<Vec<String>>,
    /// How many errors there were in all.
    pub error_count: usize,
    /// Whether some error was in the harness: the submission's API is not the graders'.
    pub api_mismatch: bool,
    /// Direct uses of the real clock, threads or global random generators.
    pub disallowed: Vec<DisallowedUse>,
    /// Why the check for them did not run, when it did not.
    pub lint_skipped: Option<String>,
    /// Dependencies the grading rules do not allow: the submission was refused unbuilt.
    #[serde(default)]
    pub unlisted: Vec<String>,
    /// Lines on the grading channel that looked like results but did not authenticate:
    /// written by the submission, and ignored.
    #[serde(default)]
    pub forged: u64,
    /// Whether the children's file writes were confined (Landlock), in their words.
    #[serde(default)]
    pub confinement: Option<String>,
}

impl GradeExtras {
    /// Whether the submission failed to compile.
    pub fn build_failed(&self) -> bool {
        self.compile_errors.is_some()
    }

    /// Whether the submission was refused: a dependency not on the list, or a direct use of
    /// files, processes, the network or the OS.
    pub fn refused(&self) -> bool {
        !self.unlisted.is_empty() || self.disallowed.iter().any(|d| d.refused)
    }

    /// Whether no grader ran: the submission did not compile or was refused.
    pub fn not_graded(&self) -> bool {
        self.build_failed() || self.refused()
    }

    /// The lint's findings as one test of the report (score 0 of 0): failed when it refused
    /// the submission or found something, passed when it found nothing, absent when it did
    /// not run.
    pub fn lint_test(&self, visibility: &str) -> Option<Value> {
        if self.lint_skipped.is_some() || self.build_failed() {
            return None;
        }
        let text = self.lint_text();
        Some(serde_json::json!({
            "name": "lint (direct uses of files, processes, the network, the OS, the clock, threads, random generators and the environment)",
            "score": 0.0,
            "max_score": 0.0,
            "status": if self.disallowed.is_empty() { "passed" } else { "failed" },
            "output": if text.is_empty() { "nothing found\n".to_string() } else { text },
            "tags": ["lint"],
            "visibility": visibility,
            "extra_data": { "lint": true, "findings": self.disallowed.len() },
        }))
    }

    /// What the lint found, in words (empty when nothing).
    fn lint_text(&self) -> String {
        let mut out = String::new();
        let (refused, reported): (Vec<&DisallowedUse>, Vec<&DisallowedUse>) =
            self.disallowed.iter().partition(|d| d.refused);
        if !refused.is_empty() {
            let _ = writeln!(
                out,
                "Refused: your code uses files, processes, the network or the OS directly ({} \
                 place{}). A Raft peer needs none of them (its state goes through the \
                 Persister), and the graders cannot allow them:",
                refused.len(),
                if refused.len() == 1 { "" } else { "s" }
            );
            for d in &refused {
                let _ = writeln!(
                    out,
                    "  raft/{}:{}:{}: {} -> {}",
                    d.file, d.line, d.column, d.call, d.instead
                );
            }
        }
        if !reported.is_empty() {
            let _ = writeln!(
                out,
                "Your code calls the real clock, threads, a global random generator or the \
                 environment directly ({} place{}). These escape the lab runtime: in sim mode a \
                 run no longer replays from its seed, and sleeps and time-outs misbehave. Use \
                 the runtime instead:",
                reported.len(),
                if reported.len() == 1 { "" } else { "s" }
            );
            for d in &reported {
                let _ = writeln!(
                    out,
                    "  raft/{}:{}:{}: {} -> use {}",
                    d.file, d.line, d.column, d.call, d.instead
                );
            }
        }
        out
    }

    /// The text shown to the student above the graders' verdicts.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if let Some(errors) = &self.compile_errors {
            let _ = writeln!(
                out,
                "The submission did not compile, so no grader ran (score 0). The first {} of {} \
                 error{}:\n",
                errors.len(),
                self.error_count,
                if self.error_count == 1 { "" } else { "s" }
            );
            for e in errors {
                let _ = writeln!(out, "{e}\n");
            }
            if errors
                .iter()
                .any(|e| e.contains("unsafe_code") || e.contains("unsafe` block"))
            {
                out.push_str(
                    "A submission may not use `unsafe`: the graders compile raft with \
                     unsafe_code forbidden.\n",
                );
            }
            if self.api_mismatch {
                out.push_str(
                    "Some errors are in the harness: the submission's API differs from the one \
                     the graders use. Keep Raft::new, get_state, kill, service and start, the \
                     Persister, the apply channel and the RPC message types with their names \
                     and fields.\n",
                );
            }
        }
        if !self.unlisted.is_empty() {
            let _ = writeln!(
                out,
                "The submission was refused, so no grader ran (score 0): raft/Cargo.toml \
                 depends on {}, which the graders do not allow (allowed: the crates the lab \
                 uses; ask the course staff to add a crate).",
                self.unlisted.join(", ")
            );
        }
        if self.disallowed.iter().any(|d| d.refused) {
            out.push_str("The submission was refused, so no grader ran (score 0): see below.\n");
        }
        if self.forged > 0 {
            let _ =
                writeln!(
                out,
                "{} line{} of the grading process's output looked like trial results but did not \
                 carry the grader's key: something in the submission wrote {}, and {} ignored. \
                 Only results the grader made count.",
                self.forged,
                if self.forged == 1 { "" } else { "s" },
                if self.forged == 1 { "it" } else { "them" },
                if self.forged == 1 { "it was" } else { "they were" },
            );
        }
        if let Some(said) = self
            .confinement
            .as_deref()
            .filter(|s| s.contains(serve::LANDLOCK_OFF))
        {
            let _ = writeln!(
                out,
                "Note for the course staff: the grading processes ran without Landlock ({said}); \
                 the lint's refusals stood in for it."
            );
        }
        if !self.dropped.is_empty() {
            let _ = writeln!(
                out,
                "Not used from the submission: {}.",
                self.dropped.join("; ")
            );
        }
        if let Some(why) = &self.lint_skipped {
            let _ = writeln!(
                out,
                "The check for direct uses of the clock, threads and random generators did not \
                 run: {why}"
            );
        } else {
            out.push_str(&self.lint_text());
        }
        out
    }
}

/// What a grader's test says when the submission did not compile.
const NOT_RUN: &str = "not run: the submission did not compile (see the errors at the top)\n";

/// What a grader's test says when the submission was refused.
const NOT_RUN_REFUSED: &str = "not run: the submission was refused (see why at the top)\n";

/// The command that rebuilds `submission` and replays `seed` of `grader` (what a graded
/// report gives, instead of `harness replay`, which would replay the kit's own raft).
pub fn grade_replay_command(submission: &str, grader: &str, seed: u64, real: bool) -> String {
    format!(
        "harness grade {submission} {grader} --replay {seed}{}",
        if real { " --real" } else { "" }
    )
}

/// Makes every replay command of `report` (in its tests' `output` and failing seeds) rebuild
/// and replay the submission: [`grade_replay_command`] with `submission`.
fn replay_the_submission(report: &mut Value, submission: &str) {
    let executor = if report["extra_data"]["executor"] == "real" {
        Executor::Real
    } else {
        Executor::Sim
    };
    for t in report
        .get_mut("tests")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let Some(grader) = t["extra_data"]["grader"].as_str().map(str::to_string) else {
            continue;
        };
        let mut pairs = Vec::new();
        for f in t["extra_data"]["failing_seeds"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            let Some(seed) = f["seed"].as_u64() else {
                continue;
            };
            let theirs = run::replay_command(&grader, seed, executor);
            let ours = grade_replay_command(submission, &grader, seed, executor == Executor::Real);
            if f["replay"] == theirs {
                f["replay"] = Value::String(ours.clone());
            }
            pairs.push((theirs, ours));
        }
        // The test's replay template (`SEED` for the seed), as the report writes it.
        let template = |command: String| command.replace("--replay 0", "--replay SEED");
        let theirs = run::replay_command(&grader, 0, executor).replace("--seed 0", "--seed SEED");
        if t["extra_data"]["replay"] == theirs {
            t["extra_data"]["replay"] = Value::String(template(grade_replay_command(
                submission,
                &grader,
                0,
                executor == Executor::Real,
            )));
        }
        if let Some(output) = t["output"].as_str() {
            let mut output = output.to_string();
            for (theirs, ours) in &pairs {
                output =
                    output.replace(&format!("replay: {theirs}\n"), &format!("replay: {ours}\n"));
            }
            t["output"] = Value::String(output);
        }
    }
}

/// Adds what `harness grade` found (a [`GradeExtras`] as JSON) to a run's Gradescope report:
/// its text goes before the report's `output` (and, when the submission did not compile or
/// was refused, each test says it was not run), the lint's findings become a test of their
/// own, replay commands rebuild the submission, and the value itself goes into
/// `extra_data.grade`, where `harness merge` finds it again.
pub fn decorate_report(report: &mut Value, grade: &Value) {
    if let Ok(extras) = serde_json::from_value::<GradeExtras>(grade.clone()) {
        let named = if extras.path.is_empty() {
            &extras.submission
        } else {
            &extras.path
        };
        replay_the_submission(report, named);
        let text = extras.text();
        if !text.is_empty() {
            let output = report
                .get("output")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            report["output"] = Value::String(format!("{text}\n{output}"));
        }
        if extras.not_graded() {
            let why = if extras.build_failed() {
                NOT_RUN
            } else {
                NOT_RUN_REFUSED
            };
            for t in report
                .get_mut("tests")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                t["output"] = Value::String(why.to_string());
            }
        }
        let visibility = report["visibility"]
            .as_str()
            .unwrap_or("visible")
            .to_string();
        if let (Some(test), Some(tests)) = (
            extras.lint_test(&visibility),
            report.get_mut("tests").and_then(Value::as_array_mut),
        ) {
            tests.push(test);
        }
    }
    if let Some(extra) = report.get_mut("extra_data").and_then(Value::as_object_mut) {
        extra.insert("grade".to_string(), grade.clone());
    }
}

/// The JUnit report of a graded run: the run's, or, when the submission did not compile, one
/// `<error>` per grader with the compiler's first errors.
pub fn junit_report(summary: &RunSummary, policy: &Policy, grade: Option<&Value>) -> String {
    let extras = grade.and_then(|g| serde_json::from_value::<GradeExtras>(g.clone()).ok());
    let Some(extras) = extras.filter(GradeExtras::not_graded) else {
        return report::junit_xml(summary, policy);
    };
    let (title, kind) = if extras.build_failed() {
        ("the submission did not compile", "BuildFailed")
    } else {
        ("the submission was refused", "Refused")
    };
    let n = summary.graders.len();
    let text = xml_escape(&extras.text());
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"harness\" tests=\"{n}\" failures=\"0\" errors=\"{n}\" time=\"{:.3}\">",
        summary.wall.as_secs_f64()
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"raft graders: {title}\" tests=\"{n}\" failures=\"0\" errors=\"{n}\" skipped=\"0\" time=\"{:.3}\">",
        summary.wall.as_secs_f64()
    );
    for g in &summary.graders {
        let _ = writeln!(
            x,
            "    <testcase name=\"{}\" classname=\"harness.part{}\" time=\"0.000\">\n      <error message=\"{title}\" type=\"{kind}\">{text}</error>\n    </testcase>",
            xml_escape(g.grader.name),
            xml_escape(g.grader.part)
        );
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_says_what_the_build_and_the_lint_found() {
        let extras = GradeExtras {
            submission: "alice".into(),
            fingerprint: "0".into(),
            dropped: vec!["build.rs is not run".into()],
            compile_errors: Some(vec!["error[E0425]: cannot find value `x`".into()]),
            error_count: 3,
            api_mismatch: true,
            disallowed: vec![DisallowedUse {
                file: "src/peer.rs".into(),
                line: 12,
                column: 9,
                call: "std::thread::sleep".into(),
                instead: "labrpc::runtime::sleep(duration).await".into(),
                refused: false,
            }],
            lint_skipped: None,
            unlisted: Vec::new(),
            forged: 0,
            confinement: None,
            path: "alice".into(),
        };
        let text = extras.text();
        for want in [
            "did not compile",
            "first 1 of 3 errors",
            "E0425",
            "API differs",
            "build.rs is not run",
            "raft/src/peer.rs:12:9: std::thread::sleep -> use labrpc::runtime::sleep(duration).await",
        ] {
            assert!(text.contains(want), "{want:?} missing from:\n{text}");
        }
        let mut report = serde_json::json!({
            "output": "0 of 1 graders passed",
            "tests": [{"output": "passed 0 of 0"}],
            "extra_data": {}
        });
        let value = serde_json::to_value(&extras).expect("serializes");
        decorate_report(&mut report, &value);
        assert!(report["output"]
            .as_str()
            .is_some_and(|o| o.starts_with("The submission did not compile")
                && o.ends_with("0 of 1 graders passed")));
        assert_eq!(report["tests"][0]["output"], NOT_RUN);
        assert_eq!(report["extra_data"]["grade"], value);
    }

    #[test]
    fn a_refused_submission_is_told_why_and_its_replays_rebuild_it() {
        let extras = GradeExtras {
            submission: "alice".into(),
            path: "subs/alice".into(),
            fingerprint: "0".into(),
            dropped: Vec::new(),
            compile_errors: None,
            error_count: 0,
            api_mismatch: false,
            disallowed: vec![
                DisallowedUse {
                    file: "src/peer.rs".into(),
                    line: 3,
                    column: 5,
                    call: "std::fs::write".into(),
                    instead: "`persister.save(..)`".into(),
                    refused: true,
                },
                DisallowedUse {
                    file: "src/peer.rs".into(),
                    line: 9,
                    column: 1,
                    call: "std::env::var".into(),
                    instead: "a constant".into(),
                    refused: false,
                },
            ],
            lint_skipped: None,
            unlisted: vec!["libc".into()],
            forged: 2,
            confinement: Some(format!("{}: no such syscall", serve::LANDLOCK_OFF)),
        };
        assert!(extras.refused() && extras.not_graded() && !extras.build_failed());
        let text = extras.text();
        for want in [
            "depends on libc, which the graders do not allow",
            "Refused: your code uses files",
            "raft/src/peer.rs:3:5: std::fs::write",
            "raft/src/peer.rs:9:1: std::env::var -> use a constant",
            "2 lines of the grading process's output",
            "ran without Landlock",
        ] {
            assert!(text.contains(want), "{want:?} missing from:\n{text}");
        }
        let theirs = run::replay_command("re_election", 4, Executor::Sim);
        let mut report = serde_json::json!({
            "output": "0 of 1 graders passed",
            "visibility": "hidden",
            "tests": [{
                "output": format!("failing seeds (1):\n  seed 4: no leader\n    replay: {theirs}\n"),
                "extra_data": {"grader": "re_election",
                               "failing_seeds": [{"seed": 4, "replay": theirs}]}
            }],
            "extra_data": {"executor": "sim"}
        });
        let value = serde_json::to_value(&extras).expect("serializes");
        decorate_report(&mut report, &value);
        let ours = "harness grade subs/alice re_election --replay 4";
        assert_eq!(
            report["tests"][0]["extra_data"]["failing_seeds"][0]["replay"],
            ours
        );
        assert_eq!(report["tests"][0]["output"], NOT_RUN_REFUSED);
        let lint = &report["tests"][1];
        assert_eq!(lint["status"], "failed");
        assert_eq!(lint["visibility"], "hidden");
        assert_eq!(lint["max_score"], 0.0);
        assert!(lint["output"]
            .as_str()
            .is_some_and(|o| o.contains("std::fs::write")));
        assert!(report["output"]
            .as_str()
            .is_some_and(|o| o.contains("std::fs::write") && o.ends_with("graders passed")));
    }
}
