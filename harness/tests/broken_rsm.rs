//! The 4A graders must fail the rsm mistakes they exist to catch, with a message, not a hang.
//!
//! [`Forgetful`] is an rsm whose submits wait only for their own entry at their index: it never
//! releases a waiter when another entry lands there, when the term moves on, or when it is shut
//! down (the lab's most common 4A bug). The graders that cannot see that pass it; the two that
//! can fail it with their messages, naming the waiting submits.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::channel::oneshot;
use harness::graders;
use harness::trial::{run_submission_trial, TrialSettings};
use labrpc::runtime;
use labrpc::ClientEnd;
use parking_lot::Mutex;
use raftapi::rsm::{Rsm, StateMachine, SubmitError};
use raftapi::{ApplyMsg, Peer, Persister};

const SEEDS: std::ops::Range<u64> = 1..4;

/// A waiting submit: its id, and where its result goes.
type Waiter = (u64, oneshot::Sender<Vec<u8>>);

/// What the submits and the apply task share.
struct Shared<P> {
    raft: P,
    me: usize,
    next: AtomicU64,
    /// Index → (the submit's id, where its result goes).
    waiting: Mutex<BTreeMap<u64, Waiter>>,
}

/// An rsm that never gives up on a submit (see the module docs).
struct Forgetful<P: Peer>(Arc<Shared<P>>);

/// The log entry: (server, id, request).
type Entry = (usize, u64, Vec<u8>);

impl<P: Peer> Rsm for Forgetful<P> {
    type Raft = P;

    fn make(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        _max_raft_state: Option<usize>,
        mut sm: Box<dyn StateMachine>,
    ) -> Self {
        let (tx, mut rx) = raftapi::apply_channel();
        let shared = Arc::new(Shared {
            raft: P::make(peers, me, persister, tx),
            me,
            next: AtomicU64::new(runtime::random_u64() >> 16),
            waiting: Mutex::new(BTreeMap::new()),
        });
        let s = shared.clone();
        let _detached = runtime::spawn(async move {
            while let Some(msg) = rx.recv().await {
                if let ApplyMsg::Command { index, command, .. } = msg {
                    let Ok((server, id, request)) = labrpc::codec::decode::<Entry>(&command) else {
                        continue;
                    };
                    let result = sm.do_op(&request);
                    let mut waiting = s.waiting.lock();
                    // The bug: a waiter for another entry at this index stays, for good.
                    if waiting
                        .get(&index)
                        .is_some_and(|(w, _)| *w == id && server == s.me)
                    {
                        if let Some((_, tx)) = waiting.remove(&index) {
                            let _ = tx.send(result);
                        }
                    }
                }
            }
        });
        Forgetful(shared)
    }

    async fn submit(&self, request: Vec<u8>) -> Result<Vec<u8>, SubmitError> {
        let id = self.0.next.fetch_add(1, Ordering::Relaxed);
        let entry: Entry = (self.0.me, id, request);
        let bytes = labrpc::codec::encode(&entry).expect("an entry encodes");
        let rx = {
            let mut waiting = self.0.waiting.lock();
            let (index, _) = self.0.raft.start(bytes).ok_or(SubmitError::NotLeader)?;
            let (tx, rx) = oneshot::channel();
            waiting.insert(index, (id, tx));
            rx
        };
        // Its sender lives in the map until its own entry is applied.
        rx.await.map_err(|_| SubmitError::Shutdown)
    }

    fn raft(&self) -> &P {
        &self.0.raft
    }

    fn kill(&self) {
        self.0.raft.kill();
    }
}

/// The reference submission with [`Forgetful`] for its rsm.
struct ForgetfulLab;

impl harness::Submission for ForgetfulLab {
    type Raft = raft::Raft;
    type Kvsrv = kvsrv::Lab2;
    type Rsm = Forgetful<raft::Raft>;
    type Kvraft = kvraft::Lab4<raft::Raft>;
}

fn outcomes(grader: &str) -> Vec<Option<String>> {
    let g = graders::by_name(grader).expect("a known grader");
    SEEDS
        .map(|seed| {
            match run_submission_trial::<ForgetfulLab>(g, &TrialSettings::sim(seed)).outcome {
                Ok(_) => None,
                Err(e) => Some(e.to_string()),
            }
        })
        .collect()
}

#[test]
fn a_forgetful_rsm_passes_the_graders_that_cannot_see_it() {
    // The original's shutdown tests cut their submits short before any waits (see
    // rsm_shutdown_waiting's docs), so they pass it too.
    for name in [
        "rsm_basic",
        "rsm_concurrent",
        "rsm_restart_replay",
        "rsm_shutdown",
        "rsm_restart_submit",
    ] {
        for (seed, outcome) in SEEDS.zip(outcomes(name)) {
            assert_eq!(outcome, None, "{name} failed seed {seed}");
        }
    }
}

#[test]
fn a_submit_kept_after_its_leader_lost_its_term_fails_leader_partition() {
    for (seed, outcome) in SEEDS.zip(outcomes("rsm_leader_partition")) {
        let msg = outcome.unwrap_or_else(|| panic!("passed on seed {seed}"));
        assert!(
            msg.contains("Submit after healing didn't return")
                && msg.contains("still wait 1s after the partition healed"),
            "seed {seed}: {msg}"
        );
    }
}

#[test]
fn a_submit_kept_after_a_shutdown_fails_shutdown_waiting() {
    for (seed, outcome) in SEEDS.zip(outcomes("rsm_shutdown_waiting")) {
        let msg = outcome.unwrap_or_else(|| panic!("passed on seed {seed}"));
        assert!(
            msg.contains("Submit didn't stop after shutdown")
                && msg.contains("still wait 1s after every server was shut down"),
            "seed {seed}: {msg}"
        );
    }
}
