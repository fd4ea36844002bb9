//! The failure timeline's data, from real trials: lanes, roles and terms, crashes,
//! disconnections, RPCs and the failure, as the page will draw them. (The page itself, in a
//! browser, is `timeline_browser.rs`.)

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use harness::graders;
use harness::logs::Capture;
use harness::tester::Tester;
use harness::timeline::model::{FailureSource, PeerState, Role, RoleSource, RpcOutcome, Timeline};
use harness::timeline::{self, html};
use harness::trial::{run_trial, TrialError, TrialReport, TrialSettings};
use labrpc::runtime::{self, Executor, RunConfig, TraceSummary};
use support::{NoTimerReset, ToyPeer};

fn trial<P: harness::Peer>(grader: &str, seed: u64) -> TrialReport {
    let g = graders::by_name(grader).expect("a known grader");
    run_trial::<P>(g, &TrialSettings::sim(seed).with_timeline())
}

/// A trial of a toy peer, whose messages are its own: without the safety monitor (which reads
/// only the lab's messages), so the grader's own check fails it.
fn toy<P: harness::Peer>(grader: &str, seed: u64) -> TrialReport {
    let g = graders::by_name(grader).expect("a known grader");
    run_trial::<P>(
        g,
        &TrialSettings::sim(seed).without_monitor().with_timeline(),
    )
}

/// Runs `body` with a tester of `n` raft peers on a recorded sim run, as a trial would.
fn recorded<F>(seed: u64, body: F) -> TrialReport
where
    F: FnOnce(Tester<raft::Raft>) -> futures::future::LocalBoxFuture<'static, ()> + Send + 'static,
{
    let capture = Capture::with_records("debug", false).expect("a valid filter");
    let config = RunConfig::sim(seed).dispatch(capture.dispatch());
    let out = runtime::run(config, move || async move {
        let t = Tester::<raft::Raft>::new(3, true);
        body(t).await;
    })
    .expect("the run ends");
    TrialReport {
        grader: "custom",
        seed,
        executor: Executor::Sim,
        outcome: Err(TrialError::Setup("not a grader".into())),
        elapsed: out.elapsed,
        wall: Duration::ZERO,
        log: Some(capture.take()),
        records: Some(capture.take_records()),
        trace: TraceSummary::default(),
    }
}

fn leader_spans(t: &Timeline) -> Vec<(usize, u64)> {
    t.spans
        .iter()
        .filter_map(|s| match s.state {
            PeerState::Up {
                term,
                role: Role::Leader,
            } => Some((s.peer, term)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_passing_election_has_a_lane_per_peer_a_leader_and_its_rpcs() {
    let report = trial::<raft::Raft>("initial_election", 1);
    assert!(report.passed(), "{:?}", report.outcome);
    let t = timeline::timeline(&report);
    assert_eq!(t.peers, 3);
    assert_eq!(
        t.roles,
        RoleSource::Log,
        "our raft names its roles in its log"
    );
    assert!(t.failure.is_none());
    for p in 0..3 {
        assert!(t.spans_of(p).count() > 0, "S{p} has no spans");
        // Spans of a peer follow each other without gaps or overlaps.
        let spans: Vec<_> = t.spans_of(p).collect();
        for w in spans.windows(2) {
            assert_eq!(w[0].to, w[1].from, "S{p}: {:?} then {:?}", w[0], w[1]);
        }
        assert_eq!(spans.last().map(|s| s.to), Some(t.end));
    }
    let leaders = leader_spans(&t);
    assert!(!leaders.is_empty(), "no leader span: {:?}", t.spans);
    let mut per_term: BTreeMap<u64, BTreeSet<usize>> = BTreeMap::new();
    for (peer, term) in leaders {
        per_term.entry(term).or_default().insert(peer);
    }
    assert!(
        per_term.values().all(|peers| peers.len() == 1),
        "two leaders in one term: {per_term:?}"
    );
    // The tester's get_state samples agree with the log-derived lanes.
    assert!(!t.samples.is_empty());
    assert!(
        t.notes.iter().all(|n| !n.contains("says otherwise")),
        "the log and get_state disagree: {:?}",
        t.notes
    );
    for s in &t.samples {
        if let Some(PeerState::Up { term, role }) = t.state_at(s.peer, s.at) {
            assert_eq!((term, role == Role::Leader), (s.term, s.leader), "{s:?}");
        }
    }

    // RPCs: both methods, between peers of the cluster, in time order within each call.
    let methods: Vec<&str> = t.rpcs.iter().map(|r| r.method.as_str()).collect();
    assert!(methods.contains(&"Raft.RequestVote"));
    assert!(methods.contains(&"Raft.AppendEntries"));
    for r in &t.rpcs {
        assert!(r.from < 3 && r.to < 3 && r.from != r.to, "{r:?}");
        assert!(
            r.delivered.iter().all(|&d| r.sent <= d && d <= r.done),
            "{r:?}"
        );
        assert!(r.sent <= r.done, "{r:?}");
    }
    let votes = t
        .rpcs
        .iter()
        .find(|r| r.method == "Raft.RequestVote" && r.outcome == RpcOutcome::Replied)
        .expect("a vote was asked and answered");
    assert!(
        votes.detail.contains("request: term") && votes.detail.contains("reply: term"),
        "the Raft messages are summarised: {}",
        votes.detail
    );
    // The network counted every RPC since the test began (at time 0, before any RPC), and the
    // timeline has every one of them.
    let passed = report.outcome.as_ref().expect("passed");
    let counted: u64 = passed.clusters.iter().map(|s| s.rpcs).sum();
    assert_eq!(t.rpcs.len() as u64, counted);
}

/// The (peer, term, role) of every candidate and leader span.
fn elections(t: &Timeline) -> BTreeSet<(usize, u64, Role)> {
    t.spans
        .iter()
        .filter_map(|s| match s.state {
            PeerState::Up { term, role } if role != Role::Follower => Some((s.peer, term, role)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_raft_whose_log_says_nothing_is_drawn_from_its_messages_as_from_its_log() {
    for (grader, seed) in [
        ("initial_election", 1),
        ("re_election", 2),
        ("many_elections", 3),
    ] {
        let logged = timeline::timeline(&trial::<raft::Raft>(grader, seed));
        let g = graders::by_name(grader).expect("a grader");
        // Only the tester's lines: the peers' own events are filtered out.
        let silent = TrialSettings::sim(seed)
            .with_log("tester=debug")
            .with_timeline();
        let inferred = timeline::timeline(&run_trial::<raft::Raft>(g, &silent));
        assert_eq!(logged.roles, RoleSource::Log);
        assert_eq!(inferred.roles, RoleSource::Inferred);
        assert!(
            inferred.spans.iter().all(|s| !s.guessed),
            "the lab's messages carry terms"
        );
        assert_eq!(
            elections(&inferred),
            elections(&logged),
            "{grader} seed {seed}: candidates and leaders from the RPCs vs from the log"
        );
    }
}

#[test]
fn a_peer_whose_log_names_no_roles_is_drawn_from_its_rpcs_and_get_state() {
    let report = toy::<ToyPeer<NoTimerReset>>("heartbeat_stability", 1);
    let Err(TrialError::Check(failure)) = &report.outcome else {
        panic!("the broken peer must fail: {:?}", report.outcome)
    };
    let t = timeline::timeline(&report);
    assert_eq!(t.roles, RoleSource::Inferred);
    assert!(
        t.notes.iter().any(|n| n.contains("get_state")),
        "{:?}",
        t.notes
    );
    assert_eq!(
        t.peers, 3,
        "the first cluster failed; the second never started"
    );
    let seen = elections(&t);
    assert!(
        seen.iter().any(|e| e.2 == Role::Leader),
        "a leader shows: {seen:?}"
    );
    // (On a reliable network an election takes no time at all, so candidates last no time.)
    // The failure says S0 moved to term 2: its lane ends in term 2.
    assert!(
        failure.message.contains("from 1 to 2 (at server 0)"),
        "{}",
        failure.message
    );
    let last = t.spans_of(0).last().expect("S0 has spans");
    assert!(
        matches!(last.state, PeerState::Up { term: 2, .. }),
        "S0 ends in {last:?}"
    );
    // The toy's messages are its own, so terms are counted until a check tells them; a span
    // that a check saw is not a guess.
    for s in &t.samples {
        let span = t
            .spans
            .iter()
            .find(|x| x.peer == s.peer && x.from <= s.at && (s.at < x.to || s.at == t.end))
            .unwrap_or_else(|| panic!("no span at {s:?}: {:#?}", t.spans));
        assert!(!span.guessed, "{span:?} was confirmed by {s:?}");
    }
    // The failure is at the failing check, names the peer and terms of its message, and
    // marks a span of that peer in one of those terms.
    let f = t.failure.as_ref().expect("a failure");
    assert_eq!(f.at, failure.at.as_micros() as u64);
    assert_eq!(f.message, failure.message);
    assert!(!f.peers.is_empty() && !f.terms.is_empty(), "{f:?}");
    assert!(!f.spans.is_empty(), "no span marked: {f:?}");
    for &i in &f.spans {
        let s = t.spans[i];
        assert!(
            f.peers.contains(&s.peer),
            "{s:?} is not about {:?}",
            f.peers
        );
        let PeerState::Up { term, .. } = s.state else {
            panic!("a down span marked: {s:?}")
        };
        assert!(f.terms.contains(&term), "{s:?}");
    }
    // The toy peer's requests are not the lab's messages: none is summarised as one (its vote
    // reply happens to have the lab's shape), but every RPC is there.
    assert!(!t.rpcs.is_empty());
    assert!(
        t.rpcs.iter().all(|r| !r.detail.contains("request:")),
        "a toy request read as a Raft message"
    );
}

#[test]
fn crashes_disconnections_and_restarts_show_on_the_lanes() {
    let report = recorded(3, |mut t| {
        Box::pin(async move {
            t.begin("crash and restart");
            runtime::sleep(Duration::from_secs(2)).await;
            t.disconnect(2);
            runtime::sleep(Duration::from_secs(1)).await;
            t.connect(2);
            t.crash1(1);
            runtime::sleep(Duration::from_secs(1)).await;
            t.start1(1);
            t.connect(1);
            runtime::sleep(Duration::from_secs(2)).await;
            let _ = t.state_of(0);
            t.cleanup();
        })
    });
    let t = timeline::timeline(&report);
    let s = 1_000_000u64;
    // S2 was cut off from 2 s to 3 s.
    let cuts: Vec<_> = t.cuts.iter().filter(|c| c.peer == 2).collect();
    assert_eq!(cuts.len(), 1, "{:?}", t.cuts);
    assert_eq!((cuts[0].from, cuts[0].to), (2 * s, 3 * s));
    // S1 was down from 3 s to 4 s, and up again after with the term it had (Raft persists it).
    assert_eq!(t.state_at(1, 3 * s + 1), Some(PeerState::Down));
    assert_eq!(t.state_at(1, 4 * s - 1), Some(PeerState::Down));
    let Some(PeerState::Up { term: before, .. }) = t.state_at(1, 3 * s - 1) else {
        panic!("S1 up before its crash: {:?}", t.spans)
    };
    let Some(PeerState::Up { term: after, .. }) = t.state_at(1, 4 * s) else {
        panic!("S1 up after its restart: {:?}", t.spans)
    };
    assert!(
        after >= before,
        "S1's term went back from {before} to {after}"
    );
    // The crash and the restart are on the tester's lane, and no RPC reached S1 while down.
    let kinds: Vec<&str> = t
        .events
        .iter()
        .filter(|e| e.peer.is_none())
        .map(|e| e.kind.as_str())
        .collect();
    for k in ["begin", "disconnect", "connect", "crash", "start"] {
        assert!(kinds.contains(&k), "no {k} on the tester's lane: {kinds:?}");
    }
    for r in t.rpcs.iter().filter(|r| r.to == 1) {
        if let Some(d) = r.delivered {
            assert!(
                !(3 * s..4 * s).contains(&d),
                "S1 handled an RPC while down: {r:?}"
            );
        }
    }
    assert!(
        t.rpcs
            .iter()
            .any(|r| r.to == 1 && (3 * s..4 * s).contains(&r.sent) && r.outcome.is_lost()),
        "RPCs to the crashed S1 are lost"
    );
}

#[test]
fn a_page_is_one_file_that_needs_no_network() {
    let report = toy::<ToyPeer<NoTimerReset>>("heartbeat_stability", 1);
    let page = timeline::page(&report);
    assert!(page.starts_with("<!DOCTYPE html>"));
    for outside in [
        "src=",
        "<link",
        "@import",
        "url(",
        "http://",
        "https://",
        "fetch(",
        "XMLHttpRequest",
    ] {
        assert!(
            !page.contains(outside),
            "the page refers to something outside itself: {outside}"
        );
    }
    // The data is in the page, and the failure's message is readable without the script.
    let t = timeline::timeline(&report);
    let f = t.failure.as_ref().expect("a failure");
    assert!(page.contains(&html::escape(&f.message)));
    assert!(page.contains("id=\"timeline-data\""));
}

#[test]
fn a_trial_without_records_still_gets_a_page_with_its_failure() {
    let g = graders::by_name("heartbeat_stability").expect("a grader");
    let report = run_trial::<ToyPeer<NoTimerReset>>(g, &TrialSettings::sim(1).without_monitor());
    assert!(report.records.is_none() && report.log.is_none());
    let t = timeline::timeline(&report);
    assert!(t.failure.is_some());
    assert!(t
        .notes
        .iter()
        .any(|n| n.contains("without a log or structured records")
            && n.contains("harness replay heartbeat_stability --seed 1 --html FILE")));
    assert!(timeline::page(&report).contains("FAILED"));
}

/// A lane's pieces: (peer, from, to, state) of each span, (peer, from, to) of each cut.
type Lanes = (
    usize,
    Vec<(usize, u64, u64, PeerState)>,
    Vec<(usize, u64, u64)>,
);

/// What the page draws on a peer's lane, without the RPCs and samples a text log lacks.
fn lanes(t: &Timeline) -> Lanes {
    let spans = t
        .spans
        .iter()
        .map(|s| (s.peer, s.from, s.to, s.state))
        .collect();
    let cuts = t.cuts.iter().map(|c| (c.peer, c.from, c.to)).collect();
    (t.peers, spans, cuts)
}

// A trial that ran away is not run again for its page (cli.rs: a stuck seed runs once with
// pages on): its page comes from the text log it kept. For our raft, whose log names its
// roles, those lanes are the ones its structured records draw.
#[test]
fn a_trial_with_only_its_text_log_gets_the_lanes_its_records_would_draw() {
    for (grader, seed) in [("re_election", 2), ("persist2", 1), ("rejoin", 3)] {
        let g = graders::by_name(grader).expect("a grader");
        let recorded = timeline::timeline(&run_trial::<raft::Raft>(
            g,
            &TrialSettings::sim(seed).with_timeline(),
        ));
        let logged = run_trial::<raft::Raft>(g, &TrialSettings::sim(seed).with_log("debug"));
        assert!(logged.records.is_none());
        let from_text = timeline::timeline(&logged);
        assert_eq!(from_text.roles, RoleSource::Log);
        assert_eq!(
            lanes(&from_text),
            lanes(&recorded),
            "{grader} seed {seed}: the lanes from the text log vs from the records"
        );
        assert!(
            !from_text.cuts.is_empty(),
            "{grader} seed {seed} disconnects a peer"
        );
        if grader == "persist2" {
            assert!(
                from_text.spans.iter().any(|s| s.state == PeerState::Down),
                "persist2 crashes peers"
            );
        }
        // The tester's lane has the same events, and the page says what it lacks and why.
        let kinds = |t: &Timeline| -> Vec<(u64, String)> {
            t.events
                .iter()
                .filter(|e| e.peer.is_none())
                .map(|e| (e.at, e.line.clone()))
                .collect()
        };
        assert_eq!(kinds(&from_text), kinds(&recorded), "{grader} seed {seed}");
        assert!(from_text.rpcs.is_empty() && from_text.applies.is_empty());
        assert!(
            from_text.notes.iter().any(|n| {
                n.starts_with(
                "drawn from the trial's text log, as it ran (it was run without structured records)"
            )
            }),
            "{:?}",
            from_text.notes
        );
    }
}

/// A fresh folder under the test's scratch space.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("timeline-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

#[test]
fn lab_html_writes_the_pages_of_failing_seeds() {
    use harness::testing::{failures, write_pages, TestPlan};

    let dir = scratch("lab-html");
    let plan = TestPlan {
        executor: Executor::Sim,
        seeds: vec![1, 2],
        log: None,
        html: Some(dir.clone()),
        stuck_after: TrialSettings::sim(0).stuck_after,
    };
    let failed = failures::<ToyPeer<NoTimerReset>>("heartbeat_stability", &plan);
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|r| r.records.is_some()));
    let said = write_pages(&dir, &failed);
    for seed in [1, 2] {
        let path = dir.join(format!("heartbeat_stability-seed{seed}.html"));
        assert!(path.is_file(), "{} was not written", path.display());
        assert!(
            said.contains(&format!("heartbeat_stability-seed{seed}.html")),
            "{said}"
        );
    }
}

#[test]
fn a_monitor_violation_is_marked_with_its_evidence() {
    use support::monitor_peers::{CountsDenials, MonitorToy};

    // Counting denials as votes elects two leaders in one term on this seed (monitor.rs).
    let report = trial::<MonitorToy<CountsDenials>>("many_elections", 2);
    let Err(TrialError::Check(failure)) = &report.outcome else {
        panic!("the monitor must catch it: {:?}", report.outcome)
    };
    assert!(failure
        .message
        .starts_with("safety violation (Election Safety)"));
    let t = timeline::timeline(&report);
    let f = t.failure.as_ref().expect("a failure");
    assert_eq!(f.source, FailureSource::Monitor);
    assert_eq!(f.at, failure.at.as_micros() as u64);
    assert!(f.evidence.len() >= 2, "{f:?}");
    assert!(f
        .evidence
        .iter()
        .all(|e| e.at <= f.at && !e.peers.is_empty()));
    // The two leaders, from the headline ("S6 and S1 both led term 1").
    assert_eq!(f.peers.len(), 2, "{f:?}");
    // Its term is named, the rule's sentence is not read for names.
    assert_eq!(f.terms.len(), 1, "{f:?}");
    let term = *f.terms.iter().next().expect("a term");
    // Both leaders' spans in that term are marked.
    let marked: BTreeSet<usize> = f.spans.iter().map(|&i| t.spans[i].peer).collect();
    assert_eq!(marked, f.peers, "{f:?}");
    for &i in &f.spans {
        assert_eq!(
            t.spans[i].state,
            PeerState::Up {
                term,
                role: Role::Leader
            }
        );
    }
    // The AppendEntries the evidence names are marked, sent by the two leaders.
    assert!(!f.rpcs.is_empty(), "{f:?}");
    for &i in &f.rpcs {
        let r = &t.rpcs[i];
        assert_eq!(r.method, "Raft.AppendEntries", "{r:?}");
        assert!(
            f.evidence
                .iter()
                .any(|e| e.at == r.sent && e.peers[0] == r.from && e.peers.get(1) == Some(&r.to)),
            "{r:?} is not an RPC the evidence names: {:?}",
            f.evidence
        );
    }
}

#[test]
fn a_persistence_failure_shows_crashes_restarts_and_the_apply_index() {
    use support::log_peer::{ForgetsLog, LogPeer};

    // A peer that saves its term and vote but not its log (broken_log_peers.rs).
    let report = toy::<LogPeer<ForgetsLog>>("persist1", 1);
    let Err(TrialError::Check(failure)) = &report.outcome else {
        panic!(
            "persist1 must fail a peer that forgets its log: {:?}",
            report.outcome
        )
    };
    assert!(
        failure.message.starts_with("apply error: commit index=1"),
        "{}",
        failure.message
    );
    let t = timeline::timeline(&report);
    let f = t.failure.as_ref().expect("a failure");
    assert_eq!(f.at, failure.at.as_micros() as u64);
    // Every peer was crashed and restarted: each lane has a down span between up ones.
    for p in 0..t.peers {
        let states: Vec<PeerState> = t.spans_of(p).map(|s| s.state).collect();
        let down = states
            .iter()
            .position(|s| *s == PeerState::Down)
            .unwrap_or_else(|| panic!("S{p} never down: {states:?}"));
        assert!(down > 0 && down + 1 < states.len(), "S{p}: {states:?}");
    }
    // The apply index moves on every peer, and index 1 is applied twice by the peer that
    // forgot it (the failure).
    for p in 0..t.peers {
        assert!(
            t.applies.iter().any(|a| a.peer == p),
            "S{p} applied nothing"
        );
    }
    assert!(
        t.applies.iter().filter(|a| a.index == 1).count() > t.peers,
        "index 1 applied again after the restart: {:?}",
        t.applies
    );
    // The failure names the index's servers; their lanes are named.
    assert!(!f.peers.is_empty(), "{f:?}");
}

// The network has one observer slot, which the monitor and the timeline's probe share
// (probe::install). Part D's InstallSnapshot reaches both: the monitor counts its sender as the
// leader of its term, and the probe records it with its summary.
#[test]
fn the_monitor_and_the_probe_both_see_install_snapshot_through_the_shared_observer() {
    use harness::monitor::{Monitor, MonitorSettings, Rule, TERM_WINDOW_SIM};
    use harness::timeline::probe;
    use labrpc::{Network, Server, Service};
    use raft::{
        AppendEntriesArgs, AppendEntriesReply, InstallSnapshotArgs, InstallSnapshotReply, PeerId,
        Term,
    };
    use std::sync::Arc;

    let capture = Capture::with_records("debug", false).expect("a valid filter");
    let config = RunConfig::sim(1).dispatch(capture.dispatch());
    let out = runtime::run(config, || async {
        let net = Network::new();
        net.set_reliable(true);
        net.set_long_delays(false);
        let settings = MonitorSettings {
            enabled: true,
            term_window: TERM_WINDOW_SIM,
        };
        let monitor = Monitor::new(2, settings);
        probe::cluster(2);
        probe::install(&net, vec![monitor.clone(), Arc::new(probe::RpcProbe)]);
        let mut nodes = Vec::new();
        for i in 0..2 {
            let node = runtime::new_node_named(format!("S{i}"));
            let mut service = Service::new("Raft").expect("a good name");
            service
                .handle("AppendEntries", |a: AppendEntriesArgs| AppendEntriesReply {
                    term: a.term,
                    success: true,
                    conflict_term: None,
                    conflict_index: 0,
                })
                .expect("a new method")
                .handle("InstallSnapshot", |a: InstallSnapshotArgs| {
                    InstallSnapshotReply { term: a.term }
                })
                .expect("a new method");
            let server = Server::on_node(node);
            server.add_service(service).expect("one service");
            net.add_server(format!("S{i}"), server);
            nodes.push(node);
        }
        let mut ends = [Vec::new(), Vec::new()];
        for (i, node) in nodes.iter().enumerate() {
            for j in 0..2 {
                let name = format!("{i}->{j}");
                let end = net.make_end(name.clone()).expect("a new end");
                net.connect(&name, format!("S{j}")).expect("the end exists");
                net.enable(&name, true).expect("the end exists");
                probe::end(end.id(), i, j);
                ends[i].push(end);
            }
            monitor.peer_started(i, *node, &ends[i], 0);
        }
        // S0 leads term 4 ...
        let heartbeat = AppendEntriesArgs {
            term: Term(4),
            leader_id: PeerId(0),
            prev_log_index: 0,
            prev_log_term: Term(0),
            entries: Vec::new(),
            leader_commit: 0,
        };
        let reply: Result<AppendEntriesReply, _> =
            ends[0][1].call("Raft.AppendEntries", &heartbeat).await;
        assert!(reply.is_ok(), "{reply:?}");
        assert_eq!(monitor.violation(), None);
        // ... so S1, sending a snapshot in term 4, is a second leader of it.
        let snapshot = InstallSnapshotArgs {
            term: Term(4),
            leader_id: PeerId(1),
            last_included_index: 7,
            last_included_term: Term(3),
            data: vec![0; 16],
        };
        let reply: Result<InstallSnapshotReply, _> =
            ends[1][0].call("Raft.InstallSnapshot", &snapshot).await;
        assert!(reply.is_ok(), "{reply:?}");
        monitor.violation()
    })
    .expect("the run ends");
    let violation = out.value.expect("the monitor saw the snapshot's sender");
    assert_eq!(violation.rule, Rule::ElectionSafety);
    assert_eq!(violation.summary, "S0 and S1 both led term 4");

    let report = TrialReport {
        grader: "custom",
        seed: 1,
        executor: Executor::Sim,
        outcome: Err(TrialError::Setup("not a grader".into())),
        elapsed: out.elapsed,
        wall: Duration::ZERO,
        log: Some(capture.take()),
        records: Some(capture.take_records()),
        trace: TraceSummary::default(),
    };
    let t = timeline::timeline(&report);
    let snap = t
        .rpcs
        .iter()
        .find(|r| r.method == "Raft.InstallSnapshot")
        .expect("the probe recorded the snapshot");
    assert_eq!(
        (snap.from, snap.to, snap.outcome),
        (1, 0, RpcOutcome::Replied)
    );
    assert!(
        snap.detail
            .contains("request: term 4, leader S1, snapshot through 7 (T3), 16 bytes")
            && snap.detail.contains("reply: term 4"),
        "{}",
        snap.detail
    );
}

// Our raft through a part-D grader that crashes peers and brings them back from their
// snapshots, recorded for the timeline with the monitor on: the monitor knows what a restored
// snapshot applied (no false alarm), and the page shows the snapshots sent and the restarts.
#[test]
fn a_part_d_trial_with_restarts_from_snapshots_is_recorded_with_the_monitor_on() {
    let g = graders::by_name("snapshot_install_crash").expect("a part-D grader");
    let mut settings = TrialSettings::sim(1).with_timeline();
    settings.monitor = true;
    let report = run_trial::<raft::Raft>(g, &settings);
    assert!(report.passed(), "{:?}", report.outcome);
    let t = timeline::timeline(&report);
    let snapshots: Vec<_> = t
        .rpcs
        .iter()
        .filter(|r| r.method == "Raft.InstallSnapshot")
        .collect();
    assert!(!snapshots.is_empty(), "no InstallSnapshot drawn");
    assert!(
        snapshots
            .iter()
            .all(|r| r.detail.contains("snapshot through")),
        "{snapshots:?}"
    );
    let restarts = t
        .events
        .iter()
        .filter(|e| e.peer.is_none() && e.line.contains("start("))
        .count();
    assert!(restarts > t.peers, "peers were restarted: {restarts}");
}

// A key/value grader checks its history inside the trial and records it with
// `probe::history`: the trial's timeline carries it, on the clock of its other records, next to
// the peer the tester cut off.
#[test]
fn a_history_checked_in_a_trial_is_on_its_timeline() {
    use harness::timeline::history::Clock;
    use linearizability::Verdict;
    use support::kv_history::{history, kv_trial, STALE_GET};

    let report = kv_trial(1);
    let t = timeline::timeline(&report);
    let h = t.history.as_ref().expect("the trial recorded its history");
    assert_eq!(h.clock, Clock::RunNanos);
    assert_eq!(h.verdict, Verdict::NotLinearizable);
    assert_eq!(h.operations(), history().len());
    let keys: Vec<&str> = h.partitions.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["x", "y"]);
    let x = h.violation().expect("key x is not linearizable");
    let stuck = x.stuck.as_ref().expect("a stuck operation");
    assert_eq!((stuck.index, stuck.state.as_str()), (STALE_GET, "'ab'"));
    let states: Vec<(&str, &str)> = x
        .linearization
        .iter()
        .map(|l| (l.state_before.as_str(), l.state_after.as_str()))
        .collect();
    assert_eq!(
        states,
        [
            ("''", "'a'"),
            ("'a'", "'a'"),
            ("'a'", "'ab'"),
            ("'ab'", "'ab'")
        ]
    );
    assert_eq!(
        h.partitions[1].verdict,
        Some(Verdict::Linearizable),
        "key y was checked too (all partitions)"
    );
    // The same axis: the stale get was called at 1.9 s of run time, while S0 was cut off
    // (1.5 s to 2.5 s).
    let get = &x.operations[x
        .operations
        .iter()
        .position(|op| op.index == STALE_GET)
        .expect("in key x")];
    assert_eq!(h.page_micros(get.call), 1_900_000.0);
    assert!(t
        .cuts
        .iter()
        .any(|c| c.peer == 0 && c.from == 1_500_000 && c.to == 2_500_000));
    let page = html::render(&t);
    assert!(page.contains("history of client calls: NOT LINEARIZABLE"));
}
