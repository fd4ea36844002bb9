//! `harness history`: checks a recorded history file with the `linearizability` checker and
//! writes its picture, the timeline page's history view drawn on its own: one row per client
//! and key, each operation a bar from its call to its return, the longest linearizable prefix
//! as points joined in order, the operation that could not be placed marked, and the states
//! before and after each operation on hover.
//!
//! (The `linearizability` command checks the same files and explains a violation in words; the
//! page lives with the timeline in `harness`, which the checker's crate does not depend on.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::timeline::history::{Clock, History};
use harness::timeline::{self};
use linearizability::models::{CasRegisterModel, KvModel, RegisterModel};
use linearizability::{jepsen, Checker, Model, Operation, Verdict};

use super::{report, CliError, EXIT_FAILED, EXIT_PASSED};

/// The end of `harness history --help`.
pub const HISTORY_HELP: &str = "\
Examples:
  harness history --model kv c10-bad.txt                 writes c10-bad.html beside it
  harness history --model cas-register etcd_002.log -o etcd.html

The file holds EDN lines such as
  {:process 0, :type :invoke, :f :append, :key \"0\", :value \"x 0 0 y\"}
or Jepsen log lines such as
  INFO  jepsen.util - 3\t:invoke\t:cas\t[3 0]
Only the order of the lines matters: the page's axis counts events. Every key is checked, so
every key can be looked at; the page opens on the operation that could not be placed.

Exit codes: 0 linearizable, 1 not linearizable or unknown (a limit ran out), 2 usage error.";

/// Which model a history is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryModel {
    /// The labs' key/value store: `:get`, `:put`, `:append`, per `:key`.
    Kv,
    /// A register: `:read`, `:write`.
    Register,
    /// A register with compare-and-set: `:read`, `:write`, `:cas [from to]`.
    CasRegister,
}

/// `harness history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The model to check against.
    #[arg(long, value_enum)]
    pub model: HistoryModel,
    /// The history file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Write the page here (default: FILE with the extension .html).
    #[arg(long, short = 'o', value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Check the whole history at once, not key by key.
    #[arg(long)]
    pub no_partition: bool,
    /// Give up (unknown) after this many seconds of search.
    #[arg(long, value_name = "S", default_value_t = 10.0)]
    pub time_limit: f64,
}

/// Runs `harness history`.
pub fn history_command(args: &HistoryArgs) -> Result<i32, CliError> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", args.file.display())))?;
    let bad = |e: jepsen::ParseError| CliError::Usage(format!("{}: {e}", args.file.display()));
    let history = match args.model {
        HistoryModel::Kv => check(&KvModel, &jepsen::kv_history(&text).map_err(bad)?, args)?,
        HistoryModel::Register => check(
            &RegisterModel,
            &jepsen::register_history(&text, false).map_err(bad)?,
            args,
        )?,
        HistoryModel::CasRegister => check(
            &CasRegisterModel,
            &jepsen::register_history(&text, true).map_err(bad)?,
            args,
        )?,
    };
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.file.with_extension("html"));
    let title = args.file.file_name().map_or_else(
        || args.file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let verdict = history.verdict;
    let explanation = history.explanation.clone();
    report::write_report(&output, &timeline::history_page(&title, history))?;
    println!("{}: {explanation}", args.file.display());
    println!("page written to {}", page_url(&output));
    Ok(if verdict == Verdict::Linearizable {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    })
}

/// A link a terminal can open.
fn page_url(path: &Path) -> String {
    match std::path::absolute(path) {
        Ok(abs) => format!("file://{}", abs.display()),
        Err(_) => path.display().to_string(),
    }
}

fn check<M>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    args: &HistoryArgs,
) -> Result<History, CliError>
where
    M: Model + Sync,
    M::Input: Sync,
    M::Output: Sync,
    M::State: Send,
{
    if !(args.time_limit.is_finite() && args.time_limit > 0.0) {
        return Err(CliError::Usage(format!(
            "--time-limit takes seconds above 0 (like 10 or 0.5), not {}",
            args.time_limit
        )));
    }
    let result = Checker::new(model)
        .partition(!args.no_partition)
        .all_partitions(true)
        .time_limit(Duration::from_secs_f64(args.time_limit))
        .check(ops)
        .map_err(|e| CliError::Usage(format!("{}: {e}", args.file.display())))?;
    Ok(History::from_check(&result, Clock::Order))
}
