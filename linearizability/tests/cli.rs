//! The `linearizability` command: verdicts as exit statuses, explanations, bad input.

use std::path::PathBuf;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_linearizability"))
        .args(args)
        .output()
        .expect("the command runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A history file in a fresh temporary folder.
fn file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linearizability-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("a temporary file");
    path
}

const KV_OK: &str = "\
{:process 0, :type :invoke, :f :put, :key \"k\", :value \"a\"}
{:process 1, :type :invoke, :f :get, :key \"k\", :value nil}
{:process 0, :type :ok, :f :put, :key \"k\", :value \"a\"}
{:process 1, :type :ok, :f :get, :key \"k\", :value \"a\"}
";

const KV_BAD: &str = "\
{:process 0, :type :invoke, :f :put, :key \"k\", :value \"a\"}
{:process 0, :type :ok, :f :put, :key \"k\", :value \"a\"}
{:process 1, :type :invoke, :f :get, :key \"k\", :value nil}
{:process 1, :type :ok, :f :get, :key \"k\", :value \"\"}
";

const ETCD: &str = "\
INFO  jepsen.util - 0\t:invoke\t:write\t1
INFO  jepsen.util - 0\t:ok\t:write\t1
INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]
INFO  jepsen.util - 1\t:ok\t:cas\t[1 2]
INFO  jepsen.util - 2\t:invoke\t:read\tnil
INFO  jepsen.util - 2\t:ok\t:read\t2
";

#[test]
fn a_linearizable_history_exits_0() {
    let path = file("ok.txt", KV_OK);
    let out = run(&["--model", "kv", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains(": linearizable (2 operations"));
}

#[test]
fn a_violation_exits_1_and_names_the_operation_that_could_not_be_placed() {
    let path = file("bad.txt", KV_BAD);
    let out = run(&["--model", "kv", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("not linearizable: partition \"k\""), "{text}");
    assert!(
        text.contains("get('k') -> '' (client 1, called at 2, returned at 3)"),
        "{text}"
    );
}

#[test]
fn a_limit_that_runs_out_exits_2() {
    // Eight appends overlapping everything, then a get no order explains.
    let mut text = String::new();
    for p in 0..8 {
        text +=
            &format!("{{:process {p}, :type :invoke, :f :append, :key \"k\", :value \"<{p}>\"}}\n");
    }
    for p in 0..8 {
        text += &format!("{{:process {p}, :type :ok, :f :append, :key \"k\", :value \"<{p}>\"}}\n");
    }
    text += "{:process 9, :type :invoke, :f :get, :key \"k\", :value nil}\n";
    text += "{:process 9, :type :ok, :f :get, :key \"k\", :value \"none\"}\n";
    let path = file("hard.txt", &text);
    let out = run(&[
        "--model",
        "kv",
        "--step-budget",
        "100",
        path.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stdout(&out).contains("unknown: the step budget ran out"));
    // Given the steps, the same history is not linearizable.
    let out = run(&["--model", "kv", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

#[test]
fn jepsen_logs_check_against_the_cas_register_and_json_is_plain_data() {
    let path = file("etcd.log", ETCD);
    let out = run(&[
        "--model",
        "cas-register",
        "--json",
        path.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let report: linearizability::Report =
        serde_json::from_str(&stdout(&out)).expect("the report as JSON");
    assert_eq!(report.verdict, linearizability::Verdict::Linearizable);
    assert_eq!(report.partitions[0].linearization.len(), 3);
    // The plain register has no cas, and says which model to use.
    let out = run(&["--model", "register", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cas-register"));
}

#[test]
fn bad_arguments_and_files_exit_3_with_a_reason() {
    let cases: [(&[&str], &str); 5] = [
        (&["--model", "kv"], "FILE is missing"),
        (&["/nonexistent"], "--model is missing"),
        (&["--model", "queue", "x"], "unknown model \"queue\""),
        (
            &["--model", "kv", "--time-limit", "soon", "x"],
            "--time-limit takes seconds",
        ),
        (
            &["--model", "kv", "/nonexistent/history.txt"],
            "cannot read /nonexistent/history.txt",
        ),
    ];
    for (args, message) in cases {
        let out = run(args);
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{args:?}: {err}");
    }
    let path = file("garbage.txt", "hello\n");
    let out = run(&["--model", "kv", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither EDN lines"));
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("exit status: 0 linearizable"));
}
