//! Running a plan's seeds batch by batch, and counting what each seed became.

use std::time::Duration;

use parking_lot::Mutex;

use super::child::{self, Runaways, Runner, Settled};
use super::protocol::TrialFrame;
use super::{GradeArgs, GradeError, Plan};
use crate::bundle::Bundle;
use crate::run::{self, FailedSeed, GraderSummary, RunSummary};
use harness::graders::Grader;

/// The shard's seeds of grader `index`, as one range (they are consecutive: see
/// [`Shard`](super::shard::Shard)).
fn seeds_of(plan: &Plan, args: &GradeArgs, index: usize) -> Option<(u64, u64)> {
    let trials = args
        .run
        .shard
        .trials(plan.graders.len(), plan.seed_start, plan.runs);
    let seeds: Vec<u64> = trials
        .iter()
        .filter(|(g, _)| *g == index)
        .map(|&(_, s)| s)
        .collect();
    let (&first, &last) = (seeds.first()?, seeds.last()?);
    Some((first, last - first + 1))
}

/// Consecutive seeds of one grader, run by one child (or more, when one dies or runs away).
struct Batch {
    index: usize,
    grader: Grader,
    seed_start: u64,
    runs: u64,
}

/// Runs every batch of the plan and adds its figures to `summary`.
pub(super) fn run_batches(
    runner: &Runner,
    plan: &Plan,
    args: &GradeArgs,
    batch_size: u64,
    summary: &mut RunSummary,
) -> Result<(), GradeError> {
    let mut batches = Vec::new();
    for (index, &grader) in plan.graders.iter().enumerate() {
        let Some((start, count)) = seeds_of(plan, args, index) else {
            continue;
        };
        let mut seed = start;
        while seed < start + count {
            let runs = batch_size.min(start + count - seed);
            batches.push(Batch {
                index,
                grader,
                seed_start: seed,
                runs,
            });
            seed += runs;
        }
    }
    // Graders take turns, so an early look at the output covers every grader.
    batches.sort_by_key(|b| ((b.seed_start - plan.seed_start) / batch_size, b.index));
    let runaways: Vec<Mutex<Runaways>> = plan
        .graders
        .iter()
        .map(|_| Mutex::new(Runaways::new(args.max_runaway)))
        .collect();
    for batch in &batches {
        let seeds: Vec<u64> = (batch.seed_start..batch.seed_start + batch.runs).collect();
        let settled = runner
            .run_seeds(batch.grader, &seeds, plan.jobs, &runaways[batch.index])
            .map_err(GradeError::Child)?;
        let (mut passed, mut failed, mut not_run) = (0, 0, 0);
        for (seed, outcome) in settled {
            match outcome {
                Settled::Reported(frame) => {
                    if frame.error.is_none() {
                        passed += 1;
                    } else {
                        failed += 1;
                    }
                    add(&mut summary.graders[batch.index], frame);
                }
                Settled::Died(death) => {
                    failed += 1;
                    died(summary, plan, batch, seed, &death);
                }
                Settled::NotRun(why) => {
                    not_run += 1;
                    let g = &mut summary.graders[batch.index];
                    g.failed += 1;
                    g.failures.push(FailedSeed {
                        seed,
                        error: why,
                        bundle: None,
                        page: None,
                    });
                }
            }
        }
        eprintln!(
            "harness grade: {} seeds {}..={}: {passed} passed, {failed} failed{}",
            batch.grader.name,
            batch.seed_start,
            batch.seed_start + batch.runs - 1,
            if not_run > 0 {
                format!(", {not_run} not run (too many runaway seeds)")
            } else {
                String::new()
            }
        );
    }
    // Each child kept its own first bundles: keep the grader's.
    summary.bundles = crate::run::keep_lowest_bundles(&mut summary.graders, args.run.max_bundles);
    Ok(())
}

/// Counts one reported trial.
fn add(total: &mut GraderSummary, frame: TrialFrame) {
    total.run_time.push(Duration::from_nanos(frame.run_time_ns));
    total.wall_total += Duration::from_nanos(frame.wall_ns);
    match frame.error {
        None => {
            total.passed += 1;
            if !frame.warnings.is_empty() {
                total.warned += 1;
            }
            let seed = frame.seed;
            total.keep_warnings(
                frame
                    .warnings
                    .into_iter()
                    .map(|warning| run::WarnedSeed { seed, warning }),
            );
        }
        Some(error) => {
            total.failed += 1;
            total.failures.push(FailedSeed {
                seed: frame.seed,
                error,
                bundle: frame.bundle,
                page: frame.page,
            });
        }
    }
}

/// Counts a trial whose process died, with a bundle holding the process's last output.
fn died(summary: &mut RunSummary, plan: &Plan, batch: &Batch, seed: u64, death: &child::Death) {
    eprintln!(
        "harness grade: {} seed {seed}: {}",
        batch.grader.name, death.message
    );
    let bundle = plan.bundles.as_ref().and_then(|dir| {
        let log = format!(
            "the grading process's last output (stderr):\n{}\n",
            death.tail
        );
        Bundle {
            grader: batch.grader,
            seed,
            executor: plan.executor,
            error: Some(death.message.clone()),
            failed_at: None,
            run_time: Duration::ZERO,
            stuck_after: plan.stuck_after,
            check_determinism: false,
            replay: run::replay_command(batch.grader.name, seed, plan.executor),
            log_filter: "none: the process died, so there is no log; replay the seed".into(),
            notes: vec!["the process running this trial died; the log is its last output".into()],
            log: &log,
            timeline: None,
        }
        .write(dir)
        .ok()
    });
    let g = &mut summary.graders[batch.index];
    g.failed += 1;
    g.run_time.push(Duration::ZERO);
    g.failures.push(FailedSeed {
        seed,
        error: death.message.clone(),
        bundle,
        page: None,
    });
}
