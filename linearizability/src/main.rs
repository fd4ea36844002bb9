//! `linearizability`: checks a recorded history file against a model and says whether it is
//! linearizable. Exit status: 0 linearizable, 1 not linearizable, 2 unknown (a limit ran
//! out), 3 the check could not be made (bad arguments, unreadable file).

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use linearizability::models::{CasRegisterModel, KvModel, RegisterModel};
use linearizability::{jepsen, Checker, Model, Operation, Report, Verdict};

const USAGE: &str = "\
usage: linearizability --model kv|register|cas-register [options] FILE

Checks the history in FILE (EDN lines such as
  {:process 0, :type :invoke, :f :append, :key \"0\", :value \"x 0 0 y\"}
or Jepsen log lines such as
  INFO  jepsen.util - 3\t:invoke\t:cas\t[3 0])
against the model, and explains a violation.

models:
  kv              the 6.824 key/value store: :get, :put, :append, per :key
  register        a register: :read, :write
  cas-register    a register with compare-and-set: :read, :write, :cas [from to]

options:
  --no-partition      check the whole history at once, not key by key
  --time-limit S      give up (unknown) after S seconds; 0 = never (default 10)
  --step-budget N     give up (unknown) after N search steps in a partition
  --memory-limit MIB  give up (unknown) when a partition's search keeps more (default 1024)
  --threads N         check at most N partitions at once (default: one per core)
  --all-partitions    go on checking the other keys after a violation
  --json              print the report as JSON
  -h, --help          this text

exit status: 0 linearizable, 1 not linearizable, 2 unknown, 3 could not check";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ModelName {
    Kv,
    Register,
    CasRegister,
}

#[derive(Debug)]
struct Args {
    model: ModelName,
    partition: bool,
    time_limit: Option<Duration>,
    step_budget: Option<u64>,
    memory_limit: Option<usize>,
    threads: Option<usize>,
    all_partitions: bool,
    json: bool,
    file: String,
}

enum Parsed {
    Run(Args),
    Help,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Parsed, String> {
    let mut model = None;
    let mut partition = true;
    let mut time_limit = Some(Duration::from_secs(10));
    let mut step_budget = None;
    let mut memory_limit = None;
    let mut threads = None;
    let mut all_partitions = false;
    let mut json = false;
    let mut file = None;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--model" => {
                model = Some(match value("--model")?.as_str() {
                    "kv" => ModelName::Kv,
                    "register" => ModelName::Register,
                    "cas-register" => ModelName::CasRegister,
                    other => {
                        return Err(format!(
                            "unknown model {other:?}: choose kv, register or cas-register"
                        ))
                    }
                })
            }
            "--no-partition" => partition = false,
            "--time-limit" => {
                let text = value("--time-limit")?;
                let seconds: f64 = text
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .ok_or_else(|| {
                        format!("--time-limit takes seconds (like 1 or 0.5), not {text:?}")
                    })?;
                time_limit = (seconds > 0.0).then(|| Duration::from_secs_f64(seconds));
            }
            "--step-budget" => {
                let text = value("--step-budget")?;
                step_budget = Some(text.parse().map_err(|_| {
                    format!("--step-budget takes a whole number of steps, not {text:?}")
                })?);
            }
            "--memory-limit" => {
                let text = value("--memory-limit")?;
                let mib: usize = text.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                    format!("--memory-limit takes a number of MiB above 0, not {text:?}")
                })?;
                memory_limit = Some(mib.saturating_mul(1 << 20));
            }
            "--threads" => {
                let text = value("--threads")?;
                threads = Some(
                    text.parse::<usize>()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| format!("--threads takes a number above 0, not {text:?}"))?,
                );
            }
            "--all-partitions" => all_partitions = true,
            "--json" => json = true,
            flag if flag.starts_with('-') && flag.len() > 1 => {
                return Err(format!("unknown option {flag:?}"))
            }
            _ => {
                if let Some(first) = &file {
                    return Err(format!("one FILE at a time: {first:?} and {arg:?}"));
                }
                file = Some(arg);
            }
        }
    }
    let model = model.ok_or("--model is missing: kv, register or cas-register")?;
    let file = file.ok_or("FILE is missing")?;
    Ok(Parsed::Run(Args {
        model,
        partition,
        time_limit,
        step_budget,
        memory_limit,
        threads,
        all_partitions,
        json,
        file,
    }))
}

/// The wall clock, to say how long the check took.
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

fn check<M>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    args: &Args,
) -> Result<(Report, Duration), String>
where
    M: Model + Sync,
    M::Input: Sync,
    M::Output: Sync,
    M::State: Send,
{
    let mut checker = Checker::new(model)
        .partition(args.partition)
        .all_partitions(args.all_partitions);
    if let Some(limit) = args.time_limit {
        checker = checker.time_limit(limit);
    }
    if let Some(steps) = args.step_budget {
        checker = checker.step_budget(steps);
    }
    if let Some(bytes) = args.memory_limit {
        checker = checker.memory_limit(bytes);
    }
    if let Some(threads) = args.threads {
        checker = checker.threads(threads);
    }
    let started = now();
    let result = checker.check(history).map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    Ok((result.report(), elapsed))
}

fn run(args: &Args) -> Result<Verdict, String> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file))?;
    let bad = |e: jepsen::ParseError| format!("{}: {e}", args.file);
    let (report, elapsed, count) = match args.model {
        ModelName::Kv => {
            let history = jepsen::kv_history(&text).map_err(bad)?;
            let (r, t) = check(&KvModel, &history, args)?;
            (r, t, history.len())
        }
        ModelName::Register => {
            let history = jepsen::register_history(&text, false).map_err(bad)?;
            let (r, t) = check(&RegisterModel, &history, args)?;
            (r, t, history.len())
        }
        ModelName::CasRegister => {
            let history = jepsen::register_history(&text, true).map_err(bad)?;
            let (r, t) = check(&CasRegisterModel, &history, args)?;
            (r, t, history.len())
        }
    };
    let text = if args.json {
        serde_json::to_string_pretty(&report)
            .map_err(|e| format!("cannot write the report as JSON: {e}"))?
    } else {
        let plural = if report.partitions.len() == 1 {
            ""
        } else {
            "s"
        };
        let mut text = format!(
            "{}: {} ({count} operations, {} partition{plural} checked, {} steps, {:.3} ms)",
            args.file,
            report.verdict,
            report.partitions.len(),
            report.steps,
            elapsed.as_secs_f64() * 1e3,
        );
        if report.verdict != Verdict::Linearizable {
            text.push('\n');
            text.push_str(&report.to_string());
        }
        text
    };
    // A reader that went away (`| head`) does not change the verdict or the exit status.
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    Ok(report.verdict)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("linearizability: {message}\n\n{USAGE}");
            return ExitCode::from(3);
        }
    };
    match run(&args) {
        Ok(Verdict::Linearizable) => ExitCode::SUCCESS,
        Ok(Verdict::NotLinearizable) => ExitCode::from(1),
        Ok(Verdict::Unknown) => ExitCode::from(2),
        Err(message) => {
            eprintln!("linearizability: {message}");
            ExitCode::from(3)
        }
    }
}
