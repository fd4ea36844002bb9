//! A small election-only peer with switchable defects, to prove that the graders fail the
//! mistakes students make. With no defect switched on it is a correct part-A peer, and the
//! graders pass it (that control test shows the failures come from the defects).

#![allow(dead_code)]

pub mod conformance_peers;
pub mod kv_history;
pub mod log_peer;
pub mod monitor_peers;
pub mod parts;
pub mod snap_peer;
pub mod snapshot_proxy;

use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use harness::Peer;
use labrpc::runtime::{self, Instant};
use labrpc::{ClientEnd, Service};
use parking_lot::Mutex;
use raft::{ApplySender, Persister};
use serde::{Deserialize, Serialize};

/// Which mistakes a [`ToyPeer`] makes.
#[derive(Clone, Copy, Debug)]
pub struct Defects {
    /// Heartbeat interval.
    pub heartbeat: Duration,
    /// Election timeout range (ms).
    pub election_ms: (u64, u64),
    /// A follower does not reset its election timer when a heartbeat arrives.
    pub no_timer_reset: bool,
    /// Grants every vote request of the current term, not just the first.
    pub double_vote: bool,
    /// A leader ignores higher terms and never steps down.
    pub never_step_down: bool,
    /// A candidate that has heard no vote reply [`LONE_LEADER_AFTER`] after asking declares
    /// itself leader ("nobody objected"), so a peer cut off alone leads without a majority.
    pub lone_leader: bool,
    /// Counts the peer in [`LIVE_COUNTED`] while anything holds its state.
    pub counted: bool,
    /// The ticker never awaits: it loops, watching the clock, until the peer is killed (a
    /// spin; it never gives its thread back to the executor).
    pub spin_ticker: bool,
}

/// See [`Defects::lone_leader`].
pub const LONE_LEADER_AFTER: Duration = Duration::from_millis(300);

/// The states of [`Defects::counted`] peers not yet dropped: a trial that is over must leave none.
pub static LIVE_COUNTED: AtomicUsize = AtomicUsize::new(0);

/// Held by a counted peer's state; counts it in [`LIVE_COUNTED`] until dropped.
struct LiveToken;

impl LiveToken {
    fn new() -> Self {
        LIVE_COUNTED.fetch_add(1, Ordering::SeqCst);
        LiveToken
    }
}

impl Drop for LiveToken {
    fn drop(&mut self) {
        LIVE_COUNTED.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A correct peer's settings.
pub const CORRECT: Defects = Defects {
    heartbeat: Duration::from_millis(150),
    election_ms: (500, 1000),
    no_timer_reset: false,
    double_vote: false,
    never_step_down: false,
    lone_leader: false,
    counted: false,
    spin_ticker: false,
};

/// Names a set of defects at the type level (the tester builds peers with `P::make`).
pub trait Flavour: Send + Sync + 'static {
    /// The defects.
    const DEFECTS: Defects;
}

macro_rules! flavour {
    ($name:ident, $defects:expr) => {
        pub struct $name;
        impl Flavour for $name {
            const DEFECTS: Defects = $defects;
        }
    };
}

flavour!(Correct, CORRECT);
flavour!(
    NoTimerReset,
    Defects {
        no_timer_reset: true,
        ..CORRECT
    }
);
flavour!(
    ChattyHeartbeats,
    Defects {
        heartbeat: Duration::from_millis(20),
        ..CORRECT
    }
);
// Narrow timeouts make candidates collide in one term, where double votes elect two leaders.
flavour!(
    DoubleVote,
    Defects {
        double_vote: true,
        election_ms: (300, 303),
        ..CORRECT
    }
);
flavour!(
    NeverStepDown,
    Defects {
        never_step_down: true,
        ..CORRECT
    }
);
flavour!(
    LoneLeader,
    Defects {
        lone_leader: true,
        ..CORRECT
    }
);
flavour!(
    Counted,
    Defects {
        counted: true,
        ..CORRECT
    }
);
flavour!(
    SpinningTicker,
    Defects {
        spin_ticker: true,
        ..CORRECT
    }
);

#[derive(Serialize, Deserialize)]
struct VoteArgs {
    term: u64,
    candidate: usize,
}
#[derive(Serialize, Deserialize)]
struct VoteReply {
    term: u64,
    granted: bool,
}
#[derive(Serialize, Deserialize)]
struct HeartbeatArgs {
    term: u64,
    leader: usize,
}
#[derive(Serialize, Deserialize)]
struct HeartbeatReply {
    term: u64,
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Role {
    Follower,
    Candidate,
    Leader,
}

struct State {
    term: u64,
    voted_for: Option<usize>,
    role: Role,
    votes: usize,
    /// When this candidate asked for votes, and whether any peer has answered since.
    asked_at: Instant,
    answered: bool,
    last_heard: Instant,
    timeout: Duration,
    dead: bool,
}

struct Inner {
    me: usize,
    peers: Vec<ClientEnd>,
    defects: Defects,
    state: Mutex<State>,
    _live: Option<LiveToken>,
}

/// The toy peer, with the defects of `F`.
pub struct ToyPeer<F: Flavour> {
    inner: Arc<Inner>,
    _flavour: PhantomData<F>,
}

fn draw_timeout(d: &Defects) -> Duration {
    Duration::from_millis(runtime::random_range(d.election_ms.0..d.election_ms.1 + 1))
}

impl Inner {
    fn reset_timer(&self, st: &mut State) {
        st.last_heard = runtime::now();
        st.timeout = draw_timeout(&self.defects);
    }

    /// Adopts a higher term (unless a defect keeps a leader stubborn). Returns whether it did.
    fn see_term(&self, st: &mut State, term: u64) -> bool {
        if term <= st.term || (self.defects.never_step_down && st.role == Role::Leader) {
            return false;
        }
        st.term = term;
        st.voted_for = None;
        st.role = Role::Follower;
        true
    }

    fn request_vote(self: &Arc<Self>, args: VoteArgs) -> VoteReply {
        let mut st = self.state.lock();
        self.see_term(&mut st, args.term);
        let fresh = st.voted_for.is_none() || st.voted_for == Some(args.candidate);
        let granted = args.term == st.term && (fresh || self.defects.double_vote);
        if granted {
            st.voted_for = Some(args.candidate);
            self.reset_timer(&mut st);
        }
        VoteReply {
            term: st.term,
            granted,
        }
    }

    fn heartbeat(self: &Arc<Self>, args: HeartbeatArgs) -> HeartbeatReply {
        let mut st = self.state.lock();
        if args.term < st.term {
            return HeartbeatReply { term: st.term };
        }
        self.see_term(&mut st, args.term);
        // A leader hearing a leader of its own term keeps its role: in a correct Raft that
        // cannot happen, so only a broken peer (double votes, a stubborn leader) gets here.
        if st.role == Role::Candidate {
            st.role = Role::Follower;
        }
        if st.role == Role::Follower && !self.defects.no_timer_reset {
            self.reset_timer(&mut st);
        }
        HeartbeatReply { term: st.term }
    }

    async fn ticker(self: Arc<Self>) {
        loop {
            if !self.defects.spin_ticker {
                runtime::sleep(Duration::from_millis(10)).await;
            }
            let start = {
                let mut st = self.state.lock();
                if st.dead {
                    return;
                }
                if self.defects.lone_leader
                    && st.role == Role::Candidate
                    && !st.answered
                    && st.asked_at.elapsed() >= LONE_LEADER_AFTER
                {
                    st.role = Role::Leader;
                    let term = st.term;
                    let me = self.clone();
                    drop(runtime::spawn(async move { me.lead(term).await }));
                    None
                } else if st.role != Role::Leader && st.last_heard.elapsed() >= st.timeout {
                    st.term += 1;
                    st.role = Role::Candidate;
                    st.voted_for = Some(self.me);
                    st.votes = 1;
                    st.asked_at = runtime::now();
                    st.answered = false;
                    self.reset_timer(&mut st);
                    Some(st.term)
                } else {
                    None
                }
            };
            if let Some(term) = start {
                for (i, end) in self.peers.iter().enumerate() {
                    if i != self.me {
                        let me = self.clone();
                        let end = end.clone();
                        drop(runtime::spawn(async move { me.ask_vote(end, term).await }));
                    }
                }
            }
        }
    }

    async fn ask_vote(self: Arc<Self>, end: ClientEnd, term: u64) {
        let args = VoteArgs {
            term,
            candidate: self.me,
        };
        let Ok(reply) = end.call::<_, VoteReply>("Raft.RequestVote", &args).await else {
            return;
        };
        let mut st = self.state.lock();
        if self.see_term(&mut st, reply.term) || st.role != Role::Candidate || st.term != term {
            return;
        }
        st.answered = true;
        if reply.granted {
            st.votes += 1;
            if st.votes * 2 > self.peers.len() {
                st.role = Role::Leader;
                drop(st);
                let me = self.clone();
                drop(runtime::spawn(async move { me.lead(term).await }));
            }
        }
    }

    async fn lead(self: Arc<Self>, term: u64) {
        loop {
            {
                let st = self.state.lock();
                if st.dead || st.role != Role::Leader || st.term != term {
                    return;
                }
            }
            for (i, end) in self.peers.iter().enumerate() {
                if i == self.me {
                    continue;
                }
                let me = self.clone();
                let end = end.clone();
                drop(runtime::spawn(async move {
                    let args = HeartbeatArgs {
                        term,
                        leader: me.me,
                    };
                    if let Ok(reply) = end
                        .call::<_, HeartbeatReply>("Raft.AppendEntries", &args)
                        .await
                    {
                        let mut st = me.state.lock();
                        me.see_term(&mut st, reply.term);
                    }
                }));
            }
            runtime::sleep(self.defects.heartbeat).await;
        }
    }
}

impl<F: Flavour> Peer for ToyPeer<F> {
    fn make(peers: Vec<ClientEnd>, me: usize, _persister: Persister, _apply: ApplySender) -> Self {
        let defects = F::DEFECTS;
        let inner = Arc::new(Inner {
            me,
            peers,
            defects,
            state: Mutex::new(State {
                term: 0,
                voted_for: None,
                role: Role::Follower,
                votes: 0,
                asked_at: runtime::now(),
                answered: false,
                last_heard: runtime::now(),
                timeout: draw_timeout(&defects),
                dead: false,
            }),
            _live: defects.counted.then(LiveToken::new),
        });
        let ticker = inner.clone();
        drop(runtime::spawn(ticker.ticker()));
        ToyPeer {
            inner,
            _flavour: PhantomData,
        }
    }

    fn get_state(&self) -> (u64, bool) {
        let st = self.inner.state.lock();
        (st.term, st.role == Role::Leader)
    }

    fn kill(&self) {
        self.inner.state.lock().dead = true;
    }

    fn service(&self) -> Service {
        let mut svc = Service::new("Raft").expect("\"Raft\" is a valid service name");
        let inner = self.inner.clone();
        svc.handle("RequestVote", move |a: VoteArgs| inner.request_vote(a))
            .expect("a new method");
        let inner = self.inner.clone();
        svc.handle("AppendEntries", move |a: HeartbeatArgs| inner.heartbeat(a))
            .expect("a new method");
        svc
    }

    /// An election-only peer keeps no log.
    fn start(&self, _command: Vec<u8>) -> Option<(u64, u64)> {
        None
    }

    fn snapshot(&self, _index: u64, _snapshot: Vec<u8>) {
        // This toy never runs part D.
    }
}
