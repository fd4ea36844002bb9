//! Toy peers with the bugs the safety monitor exists to catch. The election bugs (rules 1–3)
//! pass every part-A grader with the monitor off and break one of Raft's rules in a way only the
//! monitor sees. The log bugs (rules 4 and 6) break a rule the part-B graders only notice later,
//! when a peer applies a wrong command; the monitor fails the trial at the message that broke
//! it. With no bug switched on, the peer is a correct Raft for parts A and B (it saves nothing,
//! so it is no part-C peer).
//!
//! They speak the `raft` crate's message types (`RequestVoteArgs`, `AppendEntriesArgs`, ...),
//! as every submission must, since the monitor reads them; nothing else of `raft` is used but
//! the apply channel the tester hands every peer.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use harness::Peer;
use labrpc::runtime::{self, Instant};
use labrpc::{ClientEnd, Service};
use parking_lot::Mutex;
use raft::{
    AppendEntriesArgs, AppendEntriesReply, ApplyMsg, ApplySender, LogEntry, PeerId, Persister,
    RequestVoteArgs, RequestVoteReply, Term,
};

/// Which bugs a [`MonitorToy`] has.
#[derive(Clone, Copy, Debug)]
pub struct Bugs {
    /// Election timeout range (ms).
    pub election_ms: (u64, u64),
    /// Rule 1 (Election Safety): a candidate counts every reply as a vote, without looking at
    /// `vote_granted`. Two candidates of one term then both win; each steps down as soon as it
    /// hears the other's heartbeat, so no sample of `get_state()` sees two leaders.
    pub counts_denials: bool,
    /// Rule 2 (One Vote Per Term): a candidate counts its own vote but does not record it in
    /// `voted_for`, so it grants a rival of its own term as well.
    pub forgets_own_vote: bool,
    /// Rule 3 (Terms Only Move Forward): the heartbeat loop runs until the peer is killed, not
    /// until it stops leading its term, so a deposed leader goes on sending its old term.
    pub endless_heartbeats: bool,
    /// Rule 3 as well: a reply is built before the request's newer term is adopted, so it
    /// carries the old term.
    pub reply_before_adopting: bool,
    /// Rule 4 (Log Matching): a leader puts a new command right after its commit index, over
    /// any entries of its own term not yet committed, so one (index, term) names two commands.
    pub start_after_commit: bool,
    /// Rule 6 (Leader Completeness): a voter grants its vote without the election restriction
    /// (whatever the candidate's log), so a peer missing committed entries can lead.
    pub no_election_restriction: bool,
}

/// A correct peer's settings.
pub const NO_BUGS: Bugs = Bugs {
    election_ms: (500, 1000),
    counts_denials: false,
    forgets_own_vote: false,
    endless_heartbeats: false,
    reply_before_adopting: false,
    start_after_commit: false,
    no_election_restriction: false,
};

/// How often a leader sends heartbeats.
const HEARTBEAT: Duration = Duration::from_millis(150);
/// How often the election ticker looks at the timer.
const TICK: Duration = Duration::from_millis(10);

/// Names a set of bugs at the type level (the tester builds peers with `P::make`).
pub trait Flavour: Send + Sync + 'static {
    /// The bugs.
    const BUGS: Bugs;
}

macro_rules! flavour {
    ($(#[$doc:meta])* $name:ident, $bugs:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl Flavour for $name {
            const BUGS: Bugs = $bugs;
        }
    };
}

flavour!(
    /// No bugs: the control.
    Sound,
    NO_BUGS
);
// Timeouts this narrow make candidates collide in one term now and then, which is where these
// two bugs show; a correct peer copes with them (split votes, then another round).
flavour!(
    /// Rule 1's bug.
    CountsDenials,
    Bugs {
        counts_denials: true,
        election_ms: (500, 530),
        ..NO_BUGS
    }
);
flavour!(
    /// Rule 2's bug.
    ForgetsOwnVote,
    Bugs {
        forgets_own_vote: true,
        election_ms: (500, 530),
        ..NO_BUGS
    }
);
flavour!(
    /// Rule 3's bug, in the sender.
    EndlessHeartbeats,
    Bugs {
        endless_heartbeats: true,
        ..NO_BUGS
    }
);
flavour!(
    /// Rule 3's bug, in the receivers.
    ReplyBeforeAdopting,
    Bugs {
        reply_before_adopting: true,
        ..NO_BUGS
    }
);
flavour!(
    /// Rule 4's bug.
    StartsAfterCommit,
    Bugs {
        start_after_commit: true,
        ..NO_BUGS
    }
);
flavour!(
    /// Rule 6's bug.
    NoElectionRestriction,
    Bugs {
        no_election_restriction: true,
        ..NO_BUGS
    }
);
flavour!(
    /// A correct peer with the narrow timeouts of the collision bugs (their control).
    SoundNarrow,
    Bugs {
        election_ms: (500, 530),
        ..NO_BUGS
    }
);

#[derive(PartialEq, Eq, Clone, Copy, Debug)]
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
    last_heard: Instant,
    timeout: Duration,
    dead: bool,
    /// The log: entry `i` (from 1) is `log[i - 1]`.
    log: Vec<LogEntry>,
    commit: u64,
    applied: u64,
    /// A leader's next index and match index per peer.
    next: Vec<u64>,
    matched: Vec<u64>,
}

impl State {
    fn last_index(&self) -> u64 {
        self.log.len() as u64
    }

    fn term_at(&self, index: u64) -> u64 {
        match index {
            0 => 0,
            i => self.log.get(i as usize - 1).map_or(0, |e| e.term.into()),
        }
    }
}

struct Inner {
    me: usize,
    peers: Vec<ClientEnd>,
    bugs: Bugs,
    state: Mutex<State>,
}

/// The toy peer, with the bugs of `F`.
pub struct MonitorToy<F: Flavour> {
    inner: Arc<Inner>,
    _flavour: PhantomData<F>,
}

fn draw_timeout(b: &Bugs) -> Duration {
    Duration::from_millis(runtime::random_range(b.election_ms.0..b.election_ms.1 + 1))
}

impl Inner {
    fn reset_timer(&self, st: &mut State) {
        st.last_heard = runtime::now();
        st.timeout = draw_timeout(&self.bugs);
    }

    /// Adopts a newer term as a follower. Returns whether it was newer.
    fn see_term(st: &mut State, term: u64) -> bool {
        if term <= st.term {
            return false;
        }
        st.term = term;
        st.voted_for = None;
        st.role = Role::Follower;
        true
    }

    fn request_vote(&self, args: RequestVoteArgs) -> RequestVoteReply {
        let mut st = self.state.lock();
        let term_before = st.term;
        let term = u64::from(args.term);
        let candidate = args.candidate_id.index();
        Inner::see_term(&mut st, term);
        let free = st.voted_for.is_none() || st.voted_for == Some(candidate);
        let (their_term, our_term) = (u64::from(args.last_log_term), st.term_at(st.last_index()));
        let up_to_date = their_term > our_term
            || (their_term == our_term && args.last_log_index >= st.last_index());
        let granted = term == st.term && free && (up_to_date || self.bugs.no_election_restriction);
        if granted {
            st.voted_for = Some(candidate);
            self.reset_timer(&mut st);
        }
        let reply_term = if self.bugs.reply_before_adopting {
            term_before
        } else {
            st.term
        };
        RequestVoteReply {
            term: Term(reply_term),
            vote_granted: granted,
        }
    }

    fn append_entries(&self, args: AppendEntriesArgs) -> AppendEntriesReply {
        let mut st = self.state.lock();
        let term_before = st.term;
        let term = u64::from(args.term);
        let current = term >= st.term;
        if current {
            Inner::see_term(&mut st, term);
            // The usual line: whoever sends a valid AppendEntries leads, so follow it (a leader
            // of the same term too, which only a broken election can produce).
            st.role = Role::Follower;
            self.reset_timer(&mut st);
        }
        let prev = args.prev_log_index;
        let success =
            current && prev <= st.last_index() && st.term_at(prev) == u64::from(args.prev_log_term);
        if success {
            for (k, entry) in args.entries.iter().enumerate() {
                let index = prev + 1 + k as u64;
                if index <= st.last_index() {
                    if st.term_at(index) == u64::from(entry.term) {
                        continue;
                    }
                    st.log.truncate(index as usize - 1);
                }
                st.log.push(entry.clone());
            }
            let last_new = prev + args.entries.len() as u64;
            if args.leader_commit > st.commit {
                st.commit = args.leader_commit.min(last_new);
            }
        }
        let reply_term = if self.bugs.reply_before_adopting {
            term_before
        } else {
            st.term
        };
        AppendEntriesReply {
            term: Term(reply_term),
            success,
            conflict_term: None,
            conflict_index: 0,
        }
    }

    async fn ticker(self: Arc<Self>) {
        loop {
            runtime::sleep(TICK).await;
            let start = {
                let mut st = self.state.lock();
                if st.dead {
                    return;
                }
                if st.role != Role::Leader && st.last_heard.elapsed() >= st.timeout {
                    st.term += 1;
                    st.role = Role::Candidate;
                    st.voted_for = if self.bugs.forgets_own_vote {
                        None
                    } else {
                        Some(self.me)
                    };
                    st.votes = 1;
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
        let args = {
            let st = self.state.lock();
            RequestVoteArgs {
                term: Term(term),
                candidate_id: PeerId(self.me),
                last_log_index: st.last_index(),
                last_log_term: Term(st.term_at(st.last_index())),
            }
        };
        let Ok(reply) = end
            .call::<_, RequestVoteReply>("Raft.RequestVote", &args)
            .await
        else {
            return;
        };
        let mut st = self.state.lock();
        if Inner::see_term(&mut st, reply.term.into())
            || st.role != Role::Candidate
            || st.term != term
        {
            return;
        }
        if reply.vote_granted || self.bugs.counts_denials {
            st.votes += 1;
            if st.votes * 2 > self.peers.len() {
                st.role = Role::Leader;
                let next = st.last_index() + 1;
                st.next = vec![next; self.peers.len()];
                st.matched = vec![0; self.peers.len()];
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
                let leads = st.role == Role::Leader && st.term == term;
                if st.dead || (!leads && !self.bugs.endless_heartbeats) {
                    return;
                }
            }
            for (i, end) in self.peers.iter().enumerate() {
                if i == self.me {
                    continue;
                }
                let args = {
                    let st = self.state.lock();
                    let next = st.next.get(i).copied().unwrap_or(1).max(1);
                    AppendEntriesArgs {
                        term: Term(term),
                        leader_id: PeerId(self.me),
                        prev_log_index: next - 1,
                        prev_log_term: Term(st.term_at(next - 1)),
                        entries: st.log.get(next as usize - 1..).unwrap_or(&[]).to_vec(),
                        leader_commit: st.commit,
                    }
                };
                let me = self.clone();
                let end = end.clone();
                drop(runtime::spawn(async move {
                    if let Ok(reply) = end
                        .call::<_, AppendEntriesReply>("Raft.AppendEntries", &args)
                        .await
                    {
                        let mut st = me.state.lock();
                        if Inner::see_term(&mut st, reply.term.into())
                            || st.role != Role::Leader
                            || st.term != term
                        {
                            return;
                        }
                        me.replied(&mut st, i, &args, reply.success);
                    }
                }));
            }
            runtime::sleep(HEARTBEAT).await;
        }
    }
}

impl Inner {
    /// A leader of `args.term` heard `to`'s answer to `args`.
    fn replied(&self, st: &mut State, to: usize, args: &AppendEntriesArgs, success: bool) {
        if !success {
            st.next[to] = st.next[to].saturating_sub(1).max(1);
            return;
        }
        let matched = args.prev_log_index + args.entries.len() as u64;
        st.matched[to] = st.matched[to].max(matched);
        st.next[to] = st.matched[to] + 1;
        // Commit the highest entry of this term stored on a majority (the leader included).
        for index in (st.commit + 1..=st.last_index()).rev() {
            let stored = 1
                + (0..self.peers.len())
                    .filter(|&j| j != self.me && st.matched[j] >= index)
                    .count();
            if st.term_at(index) == st.term && stored * 2 > self.peers.len() {
                st.commit = index;
                break;
            }
        }
    }

    /// Hands committed entries to the service, in order, never holding the lock while it waits.
    async fn applier(self: Arc<Self>, apply: ApplySender) {
        loop {
            runtime::sleep(TICK).await;
            let batch: Vec<(u64, LogEntry)> = {
                let mut st = self.state.lock();
                if st.dead {
                    return;
                }
                let from = st.applied + 1;
                st.applied = st.commit;
                (from..=st.commit)
                    .map(|i| (i, st.log[i as usize - 1].clone()))
                    .collect()
            };
            for (index, entry) in batch {
                let msg = ApplyMsg::Command {
                    index,
                    term: entry.term.into(),
                    command: entry.command,
                };
                if apply.send(msg).await.is_err() {
                    return;
                }
            }
        }
    }
}

impl<F: Flavour> Peer for MonitorToy<F> {
    fn make(peers: Vec<ClientEnd>, me: usize, _persister: Persister, apply: ApplySender) -> Self {
        let bugs = F::BUGS;
        let inner = Arc::new(Inner {
            me,
            peers,
            bugs,
            state: Mutex::new(State {
                term: 0,
                voted_for: None,
                role: Role::Follower,
                votes: 0,
                last_heard: runtime::now(),
                timeout: draw_timeout(&bugs),
                dead: false,
                log: Vec::new(),
                commit: 0,
                applied: 0,
                next: Vec::new(),
                matched: Vec::new(),
            }),
        });
        drop(runtime::spawn(inner.clone().ticker()));
        drop(runtime::spawn(inner.clone().applier(apply)));
        MonitorToy {
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
        svc.handle("RequestVote", move |a: RequestVoteArgs| {
            inner.request_vote(a)
        })
        .expect("a new method");
        let inner = self.inner.clone();
        svc.handle("AppendEntries", move |a: AppendEntriesArgs| {
            inner.append_entries(a)
        })
        .expect("a new method");
        svc
    }

    fn start(&self, command: Vec<u8>) -> Option<(u64, u64)> {
        let mut st = self.inner.state.lock();
        if st.role != Role::Leader {
            return None;
        }
        if self.inner.bugs.start_after_commit {
            let commit = st.commit as usize;
            st.log.truncate(commit);
        }
        let term = st.term;
        st.log.push(LogEntry {
            term: Term(term),
            command,
        });
        Some((st.last_index(), term))
    }

    fn snapshot(&self, _index: u64, _snapshot: Vec<u8>) {
        // This toy keeps no log, so it has nothing to trim.
    }
}
