//! Lab 2's graders against services broken on purpose: each must fail the grader that can see
//! its bug, with the original's message, and pass those that cannot. And the linearizability
//! glue: a history that is not linearizable fails with the operation that could not be
//! placed; one the checker cannot decide passes with the original's `info:` line as a warning.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use harness::graders;
use harness::kv::{History, KvsrvTester};
use harness::trial::{run_submission_trial, run_test, TrialReport, TrialSettings};
use kvapi::{Clnt, GetArgs, GetReply, Got, KvError, Kvsrv, PutArgs, PutReply, Version};
use labrpc::runtime;
use labrpc::Service;
use parking_lot::Mutex;

/// Runs `grader` once for submission `S` with `seed`.
fn trial<S: harness::Submission>(grader: &str, seed: u64) -> TrialReport {
    let g = graders::by_name(grader).unwrap_or_else(|| panic!("no grader {grader}"));
    run_submission_trial::<S>(g, &TrialSettings::sim(seed))
}

/// The failure message of a trial that must fail.
fn failure(report: &TrialReport) -> String {
    match &report.outcome {
        Ok(passed) => panic!("{} seed {} passed: {passed}", report.grader, report.seed),
        Err(e) => e.to_string(),
    }
}

fn assert_passes(report: &TrialReport) {
    assert!(
        report.passed(),
        "{} seed {}: {:?}",
        report.grader,
        report.seed,
        report.outcome
    );
}

// ---------------------------------------------------------------------------------------------
// A server that ignores versions: every put installs its value.

#[derive(Default, Clone)]
struct VersionlessServer {
    map: Arc<Mutex<BTreeMap<String, Got>>>,
}

impl VersionlessServer {
    fn service(&self) -> Service {
        let mut s = Service::new("KVServer").expect("a name");
        let me = self.clone();
        s.handle("Get", move |a: GetArgs| -> GetReply {
            me.map.lock().get(&a.key).cloned().ok_or(KvError::ErrNoKey)
        })
        .expect("new");
        let me = self.clone();
        s.handle("Put", move |a: PutArgs| -> PutReply {
            let mut map = me.map.lock();
            let e = map.entry(a.key).or_default();
            e.value = a.value;
            e.version += 1;
            Ok(())
        })
        .expect("new");
        s
    }
}

struct Versionless;
impl Kvsrv for Versionless {
    type Clerk = kvsrv::Clerk;
    fn start_server() -> Vec<Service> {
        vec![VersionlessServer::default().service()]
    }
    fn make_clerk(clnt: Clnt, server: &str) -> kvsrv::Clerk {
        kvsrv::Clerk::new(clnt, server)
    }
    fn make_lock<C: kvapi::Clerk>(ck: C, name: &str) -> impl kvapi::Lock {
        kvsrv::Lock::new(ck, name)
    }
}

struct WithVersionless;
impl harness::Submission for WithVersionless {
    type Raft = raft::Raft;
    type Kvsrv = Versionless;
    type Rsm = kvraft::rsm::RsmServer<raft::Raft>;
    type Kvraft = kvraft::Lab4<raft::Raft>;
}

#[test]
fn a_server_that_ignores_versions_fails_reliable_put() {
    let msg = failure(&trial::<WithVersionless>("reliable_put", 1));
    assert_eq!(msg, "expected Put to fail with ErrVersion; got err=OK");
}

#[test]
fn a_server_that_ignores_versions_lets_two_clients_hold_the_lock() {
    let msg = failure(&trial::<WithVersionless>("lock_many_clients_reliable", 1));
    assert!(msg.contains("two clients acquired lock"), "{msg}");
}

// ---------------------------------------------------------------------------------------------
// A clerk that returns ErrVersion for a resent put (it never says ErrMaybe).

struct NoMaybeClerk {
    clnt: Clnt,
    server: String,
}

impl kvapi::Clerk for NoMaybeClerk {
    async fn get(&self, key: &str) -> Result<Got, KvError> {
        let args = GetArgs { key: key.into() };
        loop {
            if let Ok(r) = self
                .clnt
                .call::<_, GetReply>(&self.server, "KVServer.Get", &args)
                .await
            {
                return r;
            }
            runtime::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn put(&self, key: &str, value: &str, version: Version) -> Result<(), KvError> {
        let args = PutArgs {
            key: key.into(),
            value: value.into(),
            version,
        };
        loop {
            if let Ok(r) = self
                .clnt
                .call::<_, PutReply>(&self.server, "KVServer.Put", &args)
                .await
            {
                return r;
            }
            runtime::sleep(Duration::from_millis(100)).await;
        }
    }
}

struct NoMaybe;
impl Kvsrv for NoMaybe {
    type Clerk = NoMaybeClerk;
    fn start_server() -> Vec<Service> {
        kvsrv::Lab2::start_server()
    }
    fn make_clerk(clnt: Clnt, server: &str) -> NoMaybeClerk {
        NoMaybeClerk {
            clnt,
            server: server.into(),
        }
    }
    fn make_lock<C: kvapi::Clerk>(ck: C, name: &str) -> impl kvapi::Lock {
        kvsrv::Lock::new(ck, name)
    }
}

struct WithNoMaybe;
impl harness::Submission for WithNoMaybe {
    type Raft = raft::Raft;
    type Kvsrv = NoMaybe;
    type Rsm = kvraft::rsm::RsmServer<raft::Raft>;
    type Kvraft = kvraft::Lab4<raft::Raft>;
}

#[test]
fn a_clerk_that_never_says_err_maybe_fails_only_the_unreliable_test() {
    for seed in 1..=3 {
        let msg = failure(&trial::<WithNoMaybe>("unreliable_net", seed));
        assert_eq!(msg, "Clerk.Put never returned ErrMaybe");
        // On a reliable network nothing is resent: those graders cannot see it.
        assert_passes(&trial::<WithNoMaybe>("reliable_put", seed));
        assert_passes(&trial::<WithNoMaybe>("put_concurrent_reliable", seed));
    }
}

// ---------------------------------------------------------------------------------------------
// A lock that takes a free lock with a put and trusts it whatever the answer.

struct TrustingLock<C> {
    ck: C,
    key: String,
    id: String,
}

impl<C: kvapi::Clerk> kvapi::Lock for TrustingLock<C> {
    async fn acquire(&self) {
        loop {
            match self.ck.get(&self.key).await {
                Ok(g) if !g.value.is_empty() => runtime::sleep(Duration::from_millis(10)).await,
                Ok(g) => {
                    let _ = self.ck.put(&self.key, &self.id, g.version).await;
                    return;
                }
                Err(_) => {
                    let _ = self.ck.put(&self.key, &self.id, 0).await;
                    return;
                }
            }
        }
    }

    async fn release(&self) {
        if let Ok(g) = self.ck.get(&self.key).await {
            let _ = self.ck.put(&self.key, "", g.version).await;
        }
    }
}

struct Trusting;
impl Kvsrv for Trusting {
    type Clerk = kvsrv::Clerk;
    fn start_server() -> Vec<Service> {
        kvsrv::Lab2::start_server()
    }
    fn make_clerk(clnt: Clnt, server: &str) -> kvsrv::Clerk {
        kvsrv::Clerk::new(clnt, server)
    }
    fn make_lock<C: kvapi::Clerk>(ck: C, name: &str) -> impl kvapi::Lock {
        TrustingLock {
            ck,
            key: name.into(),
            id: harness::kv::kvtest::rand_value(8),
        }
    }
}

struct WithTrusting;
impl harness::Submission for WithTrusting {
    type Raft = raft::Raft;
    type Kvsrv = Trusting;
    type Rsm = kvraft::rsm::RsmServer<raft::Raft>;
    type Kvraft = kvraft::Lab4<raft::Raft>;
}

#[test]
fn a_lock_two_clients_can_hold_fails_with_many_clients() {
    // Two holders show as one finding the other's number in "l0", or as a put to "l0" that
    // the other's put made stale.
    for seed in 1..=3 {
        let msg = failure(&trial::<WithTrusting>("lock_many_clients_reliable", seed));
        assert!(
            msg.contains(": two clients acquired lock ") || msg.contains(": put failed ErrVersion"),
            "{msg}"
        );
    }
    // One client alone cannot race itself; the server's graders do not use the lock.
    assert_passes(&trial::<WithTrusting>("lock_one_client_reliable", 1));
    assert_passes(&trial::<WithTrusting>("reliable_put", 1));
}

// ---------------------------------------------------------------------------------------------
// The linearizability glue.

#[test]
fn a_history_that_is_not_linearizable_names_the_operation_that_cannot_be_placed() {
    let report = run_test("not_linearizable", &TrialSettings::sim(1), || async {
        let h = History::new();
        let ms = Duration::from_millis(1);
        let call = History::call_time();
        runtime::sleep(ms).await;
        h.record_put(0, "k", "a", 0, call, &Ok(()));
        runtime::sleep(ms).await;
        // Called after the put returned, and yet it sees nothing.
        let call = History::call_time();
        runtime::sleep(ms).await;
        let stale: Result<Got, KvError> = Err(KvError::ErrNoKey);
        h.record_get(1, "k", call, &stale);
        h.check(harness::kv::CHECK_TIME)?;
        Ok(harness::tester::Passed::default())
    });
    let msg = failure(&report);
    assert!(msg.starts_with("history is not linearizable\n"), "{msg}");
    assert!(msg.contains("get('k') -> ('', 0, ErrNoKey)"), "{msg}");
}

#[test]
fn an_undecided_check_passes_with_the_originals_info_line_as_a_warning() {
    let report = run_test("unknown", &TrialSettings::sim(1), || async {
        let mut ts = KvsrvTester::<kvsrv::Lab2>::new(true);
        ts.begin("racing");
        let keys = vec!["k".to_string()];
        let maker = &ts;
        harness::kv::kvtest::spawn_clients_and_wait(maker, 5, Duration::from_millis(200), |me, ck, done| {
            let keys = keys.clone();
            async move { harness::kv::kvtest::one_client_put(me, &ck, &keys, false, &done).await }
        })
        .await?;
        // A budget of one step decides nothing.
        ts.check_porcupine(Duration::from_nanos(1))?;
        Ok(ts.end())
    });
    let passed = report.outcome.expect("an unknown verdict passes");
    assert_eq!(passed.warnings, vec![harness::kv::UNKNOWN_LINE.to_string()]);
}

#[test]
fn a_server_that_ignores_versions_fails_the_racing_clients() {
    for seed in 1..=3 {
        let msg = failure(&trial::<WithVersionless>("put_concurrent_reliable", seed));
        // Every put answers OK and the version counts them, so only the checker sees it: a put
        // at version 0 that answered OK after another had made version 1.
        assert!(msg.starts_with("history is not linearizable\n"), "{msg}");
        assert!(
            msg.contains("cannot take effect there before it returns:\n    put('k', "),
            "{msg}"
        );
    }
}

/// The failing seed's page draws the checked history of the racing clients: the check that
/// failed, per key, with the put that could not be placed marked (issue 20 §3 on a Lab 2 grader).
#[test]
fn the_racing_clients_failure_page_draws_the_history_that_is_not_linearizable() {
    let g = graders::by_name("put_concurrent_reliable").expect("a Lab 2 grader");
    let report = run_submission_trial::<WithVersionless>(g, &TrialSettings::sim(1).with_timeline());
    let msg = failure(&report);
    assert!(msg.starts_with("history is not linearizable\n"), "{msg}");
    let timeline = harness::timeline::timeline(&report);
    let history = timeline
        .history
        .as_ref()
        .expect("the failing trial's timeline has the checked history");
    let json = serde_json::to_string(history).expect("the history is page data");
    assert!(
        json.contains("\"stuck\":{"),
        "the unplaceable put is marked: {json:.400}"
    );
    let page = harness::timeline::page(&report);
    assert!(
        page.contains("history of client calls: NOT LINEARIZABLE"),
        "{page:.300}"
    );
}
