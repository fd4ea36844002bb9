//! The 4B graders must fail a key/value server that answers gets from its own state instead of
//! through the log: a server cut off in a minority does not know what the majority committed,
//! so its reads may be stale, and it answers while the minority must make no progress.
//!
//! (A server that reads locally only while it believes it leads is caught the same way on most
//! seeds; on an unreliable network the old leader in the minority sometimes steps down first,
//! when its one follower there misses its heartbeats and starts an election, and then the
//! minority answers nothing.)

use std::sync::Arc;

use harness::graders;
use harness::trial::{run_submission_trial, TrialSettings};
use kvapi::{Clnt, GetArgs, GetReply, KvError, PutArgs, PutReply};
use labrpc::{ClientEnd, Service};
use parking_lot::Mutex;
use raftapi::rsm::{Rsm, StateMachine};
use raftapi::Persister;

use kvraft::rsm::RsmServer;
use kvraft::store::{Reply, Request, Store};

const SEEDS: std::ops::Range<u64> = 1..4;

/// The reference store, shared with the server's handlers so that they can read it directly.
struct SharedStore(Arc<Mutex<Store>>);

impl StateMachine for SharedStore {
    fn do_op(&mut self, request: &[u8]) -> Vec<u8> {
        self.0.lock().do_op(request)
    }
    fn snapshot(&mut self) -> Vec<u8> {
        self.0.lock().snapshot()
    }
    fn restore(&mut self, snapshot: &[u8]) {
        self.0.lock().restore(snapshot)
    }
}

/// A server whose puts go through the log but which answers gets from its own store.
struct LocalReads {
    rsm: Arc<RsmServer<raft::Raft>>,
    store: Arc<Mutex<Store>>,
}

impl kvapi::KvServer for LocalReads {
    type Raft = raft::Raft;

    fn services(&self) -> Vec<Service> {
        let mut kv = Service::new("KVServer").expect("a good name");
        let store = self.store.clone();
        kv.handle("Get", move |args: GetArgs| -> GetReply {
            // The bug: no trip through the log.
            match store.lock().execute(Request::Get(args)) {
                Reply::Get(reply) => reply,
                Reply::Put(_) => Err(KvError::ErrWrongLeader),
            }
        })
        .expect("Get once");
        let rsm = self.rsm.clone();
        kv.handle_async("Put", move |args: PutArgs| {
            let rsm = rsm.clone();
            async move {
                let bytes = labrpc::codec::encode(&Request::Put(args)).expect("encodes");
                let reply: PutReply = match rsm.submit(bytes).await {
                    Ok(bytes) => match labrpc::codec::decode(&bytes) {
                        Ok(Reply::Put(reply)) => reply,
                        _ => Err(KvError::ErrWrongLeader),
                    },
                    Err(_) => Err(KvError::ErrWrongLeader),
                };
                reply
            }
        })
        .expect("Put once");
        vec![kv, self.rsm.raft().service()]
    }

    fn raft(&self) -> &raft::Raft {
        self.rsm.raft()
    }

    fn kill(&self) {
        self.rsm.kill();
    }
}

/// Lab 4 with [`LocalReads`] servers and the reference clerk.
struct LocalReadsLab;

impl kvapi::Kvraft for LocalReadsLab {
    type Raft = raft::Raft;
    type Server = LocalReads;
    type Clerk = kvraft::clerk::Clerk;

    fn start_server(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        max_raft_state: Option<usize>,
    ) -> LocalReads {
        let store = Arc::new(Mutex::new(Store::default()));
        let sm = Box::new(SharedStore(store.clone()));
        let rsm = RsmServer::make(peers, me, persister, max_raft_state, sm);
        LocalReads {
            rsm: Arc::new(rsm),
            store,
        }
    }

    fn make_clerk(clnt: Clnt, servers: &[String]) -> kvraft::clerk::Clerk {
        kvraft::clerk::Clerk::new(clnt, servers)
    }
}

/// The reference submission with [`LocalReadsLab`] for its key/value service.
struct Broken;

impl harness::Submission for Broken {
    type Raft = raft::Raft;
    type Kvsrv = kvsrv::Lab2;
    type Rsm = RsmServer<raft::Raft>;
    type Kvraft = LocalReadsLab;
}

fn outcomes(grader: &str) -> Vec<Option<String>> {
    let g = graders::by_name(grader).expect("a known grader");
    SEEDS
        .map(
            |seed| match run_submission_trial::<Broken>(g, &TrialSettings::sim(seed)).outcome {
                Ok(_) => None,
                Err(e) => Some(e.to_string()),
            },
        )
        .collect()
}

#[test]
fn a_get_answered_from_local_state_in_a_minority_fails_one_partition() {
    for (seed, outcome) in SEEDS.zip(outcomes("kv_one_partition")) {
        let msg = outcome.unwrap_or_else(|| panic!("passed on seed {seed}"));
        assert!(
            msg.contains("Get in minority completed"),
            "seed {seed}: {msg}"
        );
    }
}
