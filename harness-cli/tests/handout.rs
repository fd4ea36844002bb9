//! `harness handout`: the student repository holds the kit, the graders of every part and a
//! skeleton that keeps what students are given, lays out the lecture's shape, and holds no
//! solution; built, its graders fail fast with the tester's own messages.
//!
//! The test that builds the handout (a whole new workspace) is ignored by `cargo test
//! --workspace` and run by `.ci/run`: `cargo test -p harness-cli --test handout --
//! --include-ignored`.

use std::path::{Path, PathBuf};
use std::process::Command;

use harness::graders::{self, Origin};
use harness_cli::handout::overlap::{function_bodies, overlaps, tokens, WINDOW};
use harness_cli::handout::{build, known_parts, write, Handout, HandoutError, HANDOUT_DIR};

fn kit() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness is inside the kit")
        .to_path_buf()
}

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("handout-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

fn text(h: &Handout, path: &str) -> String {
    String::from_utf8_lossy(
        h.file(path)
            .unwrap_or_else(|| panic!("the handout has no {path}")),
    )
    .into_owned()
}

fn paths(h: &Handout) -> Vec<String> {
    h.files
        .iter()
        .map(|(p, _)| p.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_handout_has_the_kit_the_graders_and_the_given_files() {
    let h = build(&kit(), &[]).expect("the handout builds");
    assert_eq!(h.parts, known_parts());
    let all = paths(&h);
    for want in [
        "Cargo.toml",
        "Cargo.lock",
        ".gitignore",
        "README.md",
        "labrpc/Cargo.toml",
        "labrpc/src/lib.rs",
        "raftapi/Cargo.toml",
        "raftapi/src/messages.rs",
        "harness/Cargo.toml",
        "harness/src/lib.rs",
        "harness/graders/Cargo.toml",
        "harness/graders/tests/graders.rs",
        "harness-cli/Cargo.toml",
        "harness-cli/src/main.rs",
        "raft/Cargo.toml",
        "raft/src/lib.rs",
        "raft/src/peer.rs",
        "raft/src/election.rs",
        "raft/src/replication.rs",
    ] {
        assert!(all.iter().any(|p| p == want), "no {want} in {all:?}");
    }
    // Every part's graders, in one test binary, and none of the harness's own tests.
    let tests: Vec<&String> = all
        .iter()
        .filter(|p| p.starts_with("harness/tests/") || p.starts_with("harness/graders/tests/"))
        .collect();
    assert_eq!(
        tests,
        ["harness/graders/tests/graders.rs"],
        "the only test file"
    );
    let graders_rs = text(&h, "harness/graders/tests/graders.rs");
    for part in known_parts() {
        assert!(
            graders_rs.contains(&format!("mod raft_3{part} {{")),
            "no module of part {part}"
        );
    }
    for own in [
        "conformance.rs",
        "cli.rs",
        "broken_peers.rs",
        "broken_log_peers.rs",
        "broken_snapshot_peers.rs",
        "monitor.rs",
        "tester.rs",
        "grade.rs",
        "handout.rs",
        "shard_merge.rs",
    ] {
        assert!(
            !all.iter().any(|p| p.ends_with(&format!("tests/{own}"))),
            "{own} tests the harness itself: not for students"
        );
    }
    assert!(
        !all.iter().any(|p| p.starts_with("harness/tests/support")),
        "the toy peers of the harness's own tests stay in the kit"
    );
    // Every test the handout runs is a grader of the student's raft (one `#[test]`, made by
    // the `graders!` macro, that calls `grade`): nothing that needs the reference to pass.
    let tests = graders_rs.lines().filter(|l| l.trim() == "#[test]").count();
    assert_eq!(tests, 1, "{graders_rs}");
    assert!(graders_rs.contains("harness::testing::grade::<raft::Raft>(module_path!()"));
    assert!(!graders_rs.contains("support"), "no toy peers");
    // The key/value labs have no skeleton yet: their graders stay in the kit.
    assert!(!graders_rs.contains("mod kvsrv"), "{graders_rs}");
    for g in graders::all().iter().filter(|g| g.is_raft()) {
        assert!(
            graders_rs.contains(&format!("        {},\n", g.name)),
            "{} is not run",
            g.name
        );
    }
    assert!(
        !all.iter().any(|p| p.starts_with(HANDOUT_DIR)),
        "the templates stay in the kit"
    );
    assert!(!all.iter().any(|p| p.contains("/target/")));
    // What students are given is the kit's own file: raftapi whole, and raft's log macro.
    for given in [
        "raftapi/src/lib.rs",
        "raftapi/src/apply.rs",
        "raftapi/src/ids.rs",
        "raftapi/src/messages.rs",
        "raftapi/src/peer.rs",
        "raftapi/src/persister.rs",
        "raft/src/logging.rs",
    ] {
        let ours = std::fs::read(kit().join(given)).expect("the kit's file");
        assert_eq!(h.file(given), Some(ours.as_slice()), "{given}");
    }
    // No template syntax survives, and the doctests (which need the reference) are off.
    for (path, bytes) in &h.files {
        let t = String::from_utf8_lossy(bytes);
        if path.starts_with("raft")
            || path.starts_with("harness/graders")
            || path.ends_with("README.md")
        {
            assert!(
                !t.contains("@part") && !t.contains("@end") && !t.contains("{{"),
                "{path:?}"
            );
        }
    }
    // `cargo test -p harness` (and `cargo test`) builds the graders only: the package
    // `harness` has no library, and the library (package harness-lib), whose own tests drive
    // the reference Raft, is not the default member.
    let graders_manifest = text(&h, "harness/graders/Cargo.toml");
    assert!(
        graders_manifest.contains("name = \"harness\"")
            && graders_manifest.contains("autolib = false")
    );
    assert!(text(&h, "Cargo.toml").contains("default-members = [\"harness/graders\"]"));
}

#[test]
fn the_skeleton_lays_out_the_lectures_shape_with_empty_bodies() {
    let h = build(&kit(), &[]).expect("the handout builds");
    let functions = |path: &str| function_bodies(&tokens(&text(&h, path)));
    // The lecture's shape, part by part: the tickers, rounds, per-peer senders and receivers,
    // part B's commit rule and applier, part C's persistence, part D's snapshot sender and
    // receiver, and the API the tester calls.
    let shape: &[(&str, &[&str])] = &[
        (
            "raft/src/election.rs",
            &[
                "election_ticker",
                "start_election",
                "ask_for_vote",
                "request_vote",
            ],
        ),
        (
            "raft/src/replication.rs",
            &[
                "replication_ticker",
                "start_replication",
                "replicate_to",
                "append_entries",
                "advance_commit_index",
            ],
        ),
        ("raft/src/applier.rs", &["applier"]),
        ("raft/src/persist.rs", &["persist", "restore"]),
        (
            "raft/src/snapshot.rs",
            &["send_snapshot", "install_snapshot"],
        ),
        (
            "raft/src/peer.rs",
            &["new", "get_state", "kill", "service", "start", "snapshot"],
        ),
    ];
    // The lecture's functions hold no logic: at most a default reply, or a spawn.
    const LOGIC: &[&str] = &[
        "let", "if", "match", "for", "while", "loop", "await", "lock", "return",
    ];
    // The API functions of peer.rs that are given whole (the constructor wires the given
    // plumbing; get_state and kill read and set what the tester needs).
    const GIVEN: &[&str] = &["new", "get_state", "kill", "service", "killed"];
    for (file, names) in shape {
        let fns = functions(file);
        for name in *names {
            assert!(
                fns.iter().any(|(n, _)| n == name),
                "{file} has no fn {name}"
            );
        }
        for (name, body) in fns.iter().filter(|(n, _)| !GIVEN.contains(&n.as_str())) {
            let logic: Vec<&String> = body
                .iter()
                .filter(|t| LOGIC.contains(&t.as_str()))
                .collect();
            assert!(
                logic.is_empty(),
                "{file}: {name} holds logic ({logic:?}): the skeleton must leave it to the student"
            );
        }
        // Every function says what it must do.
        let source = text(&h, file);
        let lines: Vec<&str> = source.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            let is_fn = ["fn ", "pub fn ", "pub(crate) fn ", "pub(crate) async fn "]
                .iter()
                .any(|p| t.starts_with(p));
            if is_fn {
                let doc = lines[..i]
                    .iter()
                    .rev()
                    .map(|l| l.trim_start())
                    .find(|l| !l.starts_with("#["));
                assert!(
                    doc.is_some_and(|l| l.starts_with("///")),
                    "{file}:{}: `{t}` has no doc comment",
                    i + 1
                );
            }
        }
    }
    // What the graders read is there: the messages of every part (InstallSnapshot's too), the
    // persister, the apply channel and the snapshot API.
    let lib = text(&h, "raft/src/lib.rs");
    for item in [
        "RequestVoteArgs",
        "AppendEntriesArgs",
        "InstallSnapshotArgs",
        "InstallSnapshotReply",
        "Persister",
        "apply_channel",
        "ApplyMsg",
        "mod snapshot;",
        "mod persist;",
        "mod applier;",
        "impl raftapi::Peer for Raft",
    ] {
        assert!(lib.contains(item), "raft/src/lib.rs lacks {item}");
    }
    let messages = text(&h, "raftapi/src/messages.rs");
    assert!(messages.contains("pub struct InstallSnapshotArgs"));
    assert!(messages.contains("This file is yours to extend"));
    assert!(text(&h, "raftapi/src/apply.rs").contains("Snapshot"));
    assert!(text(&h, "raft/src/peer.rs")
        .contains("pub fn snapshot(&self, index: u64, snapshot: Vec<u8>)"));
    assert!(text(&h, "raft/src/rpc.rs").contains("\"InstallSnapshot\""));
    let replication_text = text(&h, "raft/src/replication.rs");
    assert!(replication_text
        .contains("pub(crate) fn start_replication(self: &Arc<Self>, term: Term) -> bool"));
    for doc in [
        "align terms",
        "check the context",
        "reset the election timer",
    ] {
        assert!(
            (text(&h, "raft/src/election.rs") + &replication_text).contains(doc),
            "the doc comments should say to {doc}"
        );
    }
    let readme = text(&h, "README.md");
    // The README names every grader of the parts handed out (its table of graders per part).
    for g in graders::all().iter().filter(|g| g.is_raft()) {
        assert!(
            readme.contains(&format!("`{}`", g.name)),
            "the README does not name {}",
            g.name
        );
    }
    for command in [
        "cargo test -p harness",
        "cargo run --release -p harness-cli -- run A --runs 1000",
        "replay re_election --seed 7",
        "LAB_SEED=7 cargo test -p harness --test graders -- --exact raft_3A::re_election",
        "cargo test -p harness 3A",
        "harness-cli -- grade . all",
        // The timeline: a page per failing seed, and for any seed.
        "replay re_election --seed 7 --html",
        "LAB_HTML=1",
    ] {
        assert!(
            readme.contains(command),
            "the README should show `{command}`"
        );
    }
}

#[test]
fn parts_choose_the_graders_and_the_skeletons_blocks() {
    let first = known_parts()[0].clone();
    let only_first = build(&kit(), std::slice::from_ref(&first)).expect("builds");
    assert_eq!(only_first.parts, vec![first.clone()]);
    // The graders of later parts (the conformance ones too) are left out with them.
    let graders_rs = text(&only_first, "harness/graders/tests/graders.rs");
    for g in graders::all().iter().filter(|g| g.is_raft()) {
        assert_eq!(
            graders_rs.contains(&format!("        {},\n", g.name)),
            g.part == first,
            "{}",
            g.name
        );
    }
    // "3A" names part A, as `harness run` reads it.
    assert!(build(&kit(), &[format!("3{first}")]).is_ok());
    match build(&kit(), &["Z".to_string()]) {
        Err(e @ HandoutError::UnknownPart { .. }) => {
            assert!(e.to_string().contains("no part \"Z\""), "{e}")
        }
        other => panic!("part Z should not exist: {other:?}"),
    }
    if known_parts().iter().any(|p| p == "B") {
        let all = build(&kit(), &[]).expect("builds");
        assert_ne!(
            text(&only_first, "raft/src/lib.rs"),
            text(&all, "raft/src/lib.rs"),
            "part B adds modules"
        );
        assert!(text(&all, "raft/src/replication.rs").contains("fn advance_commit_index"));
        assert!(!text(&only_first, "raft/src/replication.rs").contains("fn advance_commit_index"));
        // Each later part's files and modules come with it.
        for (file, module) in [
            ("raft/src/applier.rs", "mod applier;"),
            ("raft/src/persist.rs", "mod persist;"),
            ("raft/src/snapshot.rs", "mod snapshot;"),
        ] {
            assert!(only_first.file(file).is_none(), "{file} is not part A's");
            assert!(!text(&only_first, "raft/src/lib.rs").contains(module));
            assert!(all.file(file).is_some(), "{file}");
        }
        assert!(!text(&only_first, "raft/src/rpc.rs").contains("\"InstallSnapshot\""));
    }
}

#[test]
fn the_written_raft_crate_holds_no_solution() {
    // What students get, file by file, against every file of the reference raft that is not
    // given: no run of a reference function body, and no file equal to the reference's.
    let h = build(&kit(), &[]).expect("the handout builds");
    const GIVEN: &[&str] = &["logging.rs"];
    let mut reference = Vec::new();
    for entry in std::fs::read_dir(kit().join("raft/src")).expect("the reference") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".rs") && !GIVEN.contains(&name.as_str()) {
            let source = std::fs::read_to_string(&path).expect("readable");
            reference.push((format!("raft/src/{name}"), source));
        }
    }
    assert!(reference.len() >= 4, "the reference has its code files");
    let skeleton: Vec<(String, String)> = paths(&h)
        .into_iter()
        .filter(|p| {
            p.starts_with("raft/src/") && !GIVEN.iter().any(|g| p.ends_with(&format!("/{g}")))
        })
        .map(|p| {
            let t = text(&h, &p);
            (p, t)
        })
        .collect();
    assert!(skeleton.len() >= 8, "{skeleton:?}");
    for (path, source) in &skeleton {
        if let Some((_, same)) = reference.iter().find(|(r, _)| r == path) {
            assert_ne!(same, source, "{path} is the reference's file");
        }
    }
    let found = overlaps(&reference, &skeleton);
    assert!(found.is_empty(), "solution code in the handout: {found:?}");
}

/// A copy of the kit's files the handout reads, to change one of them.
fn kit_copy(name: &str) -> PathBuf {
    let copy = tmp(name);
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(kit().join(&rel)).expect("readable") {
            let entry = entry.expect("an entry");
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name == "target" || name.starts_with('.') && rel.as_os_str().is_empty() {
                continue;
            }
            let path = rel.join(&*name);
            if entry.path().is_dir() {
                std::fs::create_dir_all(copy.join(&path)).expect("a dir");
                stack.push(path);
            } else {
                std::fs::copy(entry.path(), copy.join(&path)).expect("copied");
            }
        }
    }
    copy
}

#[test]
fn solution_code_in_a_template_is_refused() {
    let kit = kit_copy("pasted");
    // Paste the longest function body of the reference into a skeleton template.
    let mut longest = (String::new(), Vec::new());
    for file in ["election.rs", "replication.rs", "peer.rs"] {
        let source = std::fs::read_to_string(kit.join("raft/src").join(file)).expect("readable");
        for (name, body) in function_bodies(&tokens(&source)) {
            if body.len() > longest.1.len() {
                longest = (name, body);
            }
        }
    }
    assert!(
        longest.1.len() > WINDOW,
        "the reference has a body worth stealing"
    );
    let template = kit.join(HANDOUT_DIR).join("raft/src/election.rs");
    let mut text = std::fs::read_to_string(&template).expect("readable");
    text.push_str(&format!(
        "\n// stolen\nfn stolen() {{\n{}\n}}\n",
        longest.1.join(" ")
    ));
    std::fs::write(&template, text).expect("written");
    match build(&kit, &[]) {
        Err(HandoutError::Solution(found)) => {
            assert!(
                found
                    .iter()
                    .any(|o| o.reference.ends_with(&format!(": {}", longest.0))),
                "{found:?}"
            );
            let e = HandoutError::Solution(found).to_string();
            assert!(
                e.contains("would contain solution code, so nothing was written"),
                "{e}"
            );
        }
        other => panic!("a pasted body must be refused: {other:?}"),
    }
}

#[test]
fn every_grader_of_a_part_must_run_in_the_handout() {
    let kit = kit_copy("grader-not-run");
    let template = kit.join("harness/graders/tests/graders.rs");
    let text = std::fs::read_to_string(&template).expect("readable");
    let without = text.replace("        fig2_older_term,\n", "");
    assert_ne!(without, text, "the kit's graders.rs runs fig2_older_term");
    std::fs::write(&template, without).expect("written");
    match build(&kit, &[]) {
        Err(e @ HandoutError::GraderNotRun { .. }) => {
            assert!(
                e.to_string()
                    .contains("fig2_older_term (part A) is run by none"),
                "{e}"
            )
        }
        other => panic!("a grader left out must be refused: {other:?}"),
    }
}

#[test]
fn harness_handout_makes_a_git_repository_with_one_commit_unless_told_not_to() {
    let has_git = Command::new("git").arg("--version").output().is_ok();
    if !has_git {
        eprintln!("git is not installed: nothing to check");
        return;
    }
    let out = tmp("git").join("repo");
    let made = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["handout", "--parts", "A", "--out"])
        .arg(&out)
        .output()
        .expect("the harness runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let log = Command::new("git")
        .args(["log", "--oneline"])
        .current_dir(&out)
        .output()
        .expect("git runs");
    let log = String::from_utf8_lossy(&log.stdout);
    assert_eq!(log.lines().count(), 1, "one commit: {log}");
    let status = Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(&out)
        .output()
        .expect("git runs");
    assert!(
        status.stdout.is_empty(),
        "every file is committed: {}",
        String::from_utf8_lossy(&status.stdout)
    );

    let plain = tmp("no-git").join("repo");
    let made = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["handout", "--parts", "A", "--no-git", "--out"])
        .arg(&plain)
        .output()
        .expect("the harness runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert!(plain.join("raft/src/lib.rs").is_file() && !plain.join(".git").exists());
}

#[test]
fn the_handout_is_written_only_into_an_empty_folder() {
    let out = tmp("written");
    let h = build(&kit(), &[]).expect("builds");
    write(&h, &out, false).expect("an empty folder");
    assert!(out.join("raft/src/lib.rs").is_file());
    match write(&h, &out, false) {
        Err(e @ HandoutError::NotEmpty(_)) => assert!(e.to_string().contains("--force"), "{e}"),
        other => panic!("a full folder must be refused: {other:?}"),
    }
    write(&h, &out, true).expect("--force writes over it");
}

/// The graders' tests of the parts, by name.
fn grader_names() -> Vec<&'static str> {
    graders::all()
        .iter()
        .filter(|g| g.is_raft())
        .map(|g| g.name)
        .collect()
}

#[test]
#[ignore = "builds the handout as a new workspace (minutes the first time); .ci/run runs it"]
fn the_built_handout_fails_every_grader_fast_with_the_testers_message() {
    let repo = tmp("built").join("repo");
    let h = build(&kit(), &[]).expect("builds");
    write(&h, &repo, false).expect("written");
    // A target folder of its own (the handout's crates share names with ours), kept between
    // runs so dependencies are built once.
    let target = std::env::var_os("HANDOUT_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("handout-target"));
    let run = |limit: &str, args: &[&str]| {
        // `timeout` turns a hang into a failure of this test instead of a stuck CI.
        Command::new("timeout")
            .arg(limit)
            .arg(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(args)
            .current_dir(&repo)
            .env("CARGO_TARGET_DIR", &target)
            .env("LAB_SEEDS", "1")
            .env_remove("LAB_SEED")
            .env_remove("LAB_LOG")
            .env_remove("RUSTFLAGS")
            .output()
            .expect("cargo runs")
    };
    // Building a new workspace takes minutes on a busy machine; the graders must not.
    let built = run("3600", &["build", "--workspace", "--all-targets"]);
    assert!(
        built.status.success(),
        "the handout must build ({}): {}",
        built.status,
        String::from_utf8_lossy(&built.stderr)
    );
    let tested = run("600", &["test", "-p", "harness", "--no-fail-fast"]);
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&tested.stdout),
        String::from_utf8_lossy(&tested.stderr)
    );
    assert_ne!(tested.status.code(), Some(124), "cargo test hung:\n{out}");
    assert!(
        !tested.status.success(),
        "the skeleton must fail the graders:\n{out}"
    );
    for name in grader_names() {
        let g = graders::by_name(name).expect("a grader");
        let test = harness::testing::test_path(&g);
        assert!(
            out.contains(&format!("test {test} ... FAILED")),
            "{test} should fail:\n{out}"
        );
        // The grader's own report: the seed, the tester's message, the replay command.
        let report = format!("{name} failed on 1 of 1 seeds (1): ");
        let at = out
            .find(&report)
            .unwrap_or_else(|| panic!("no failure report of {name}:\n{out}"));
        let message = out[at + report.len()..].lines().next().unwrap_or("");
        assert!(
            !message.is_empty()
                && !["panicked", "stuck", "deadlock", "took longer than"]
                    .iter()
                    .any(|w| message.contains(w)),
            "{name} should fail with a tester check, got: {message}"
        );
        if graders::by_name(name).is_some_and(|g| g.part == "A" && g.origin == Origin::Original) {
            assert_eq!(message, "expected one leader, got none", "{name}");
        }
    }
    // Every panic is a grader's report (in harness/src/testing.rs), none from inside the harness.
    for line in out.lines().filter(|l| l.contains("panicked at")) {
        assert!(
            line.contains("harness/src/testing.rs"),
            "a panic inside the harness: {line}\n{out}"
        );
    }
    // One test binary, the graders': nothing else is built or run.
    let binaries = out.matches("Running ").count();
    assert_eq!(binaries, 1, "only tests/graders.rs runs:\n{out}");
    let timing: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("test result:"))
        .collect();
    eprintln!("handout test runs: {timing:?}");
}
