//! A small log-replicating Raft peer with switchable defects, to prove that the part-B and
//! part-C graders fail the mistakes students make. It uses nothing of the `raft` crate but the
//! API the tester gives every peer (persister, apply channel), so the harness's tests compile
//! whatever `raft` a submission brings.
//!
//! With no defect switched on it is a correct Raft for parts A–C (election restriction, fast
//! back-up with conflict hints, commit only of the leader's own term, persistence before
//! replies, an applier that never holds the lock while it sends), and the graders pass it; that
//! control test shows the failures come from the defects.
//!
//! Its `snapshot()` takes the lock, as a peer's would, but keeps the whole log (the toy never
//! trims), which is how the part-D graders see a peer that never compacts; two defects are the
//! part-D deadlock in the forms students write it.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures::StreamExt;
use harness::Peer;
use labrpc::runtime::{self, Instant};
use labrpc::{ClientEnd, Service};
use parking_lot::{Condvar, Mutex};
use raft::{ApplyMsg, ApplySender, Persister};
use serde::{Deserialize, Serialize};

/// Which mistakes a [`LogPeer`] makes.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogDefects {
    /// A leader commits any entry stored on a majority, whatever its term: the situation of
    /// Figure 8, where such an entry can still be overwritten.
    pub commit_old_terms: bool,
    /// Saves its term and vote but not its log.
    pub forget_log: bool,
    /// Hands each newly committed entry to its own task to send on the apply channel (a
    /// goroutine per apply), so entries committed together arrive in any order.
    pub apply_out_of_order: bool,
    /// On a rejected `AppendEntries`, steps `next_index` back by one and waits for the next
    /// heartbeat, instead of skipping the conflicting term at once.
    pub slow_backup: bool,
    /// Sends on the apply channel while holding its lock, blocking the thread until the
    /// service takes the message (`futures::executor::block_on` under the guard, the form the
    /// bug takes when the compiler forbids holding the guard across `.await`): the lock is held
    /// across every send of a batch, as Go's `mu.Lock(); for ... { applyCh <- msg }` holds it.
    pub apply_under_lock: bool,
    /// Holds a hand-made lock across the sends of a batch: marks itself busy applying (a flag
    /// under its lock), sends the batch with `.await`, then clears the flag, and `snapshot()`
    /// waits on a condition variable until the peer is not busy. The lock held across the send
    /// in a form that compiles.
    pub apply_behind_flag: bool,
}

/// A correct peer.
pub const CORRECT: LogDefects = LogDefects {
    commit_old_terms: false,
    forget_log: false,
    apply_out_of_order: false,
    slow_backup: false,
    apply_under_lock: false,
    apply_behind_flag: false,
};

/// How often a leader sends heartbeats (the most the lab allows: ten per second).
const HEARTBEAT: Duration = Duration::from_millis(100);
/// The most entries one `AppendEntries` carries; a follower further behind gets the rest in
/// the next ones, sent as soon as it acknowledges.
const MAX_BATCH: usize = 64;
/// Election timeouts are drawn from this range (ms).
const ELECTION_MS: (u64, u64) = (300, 600);

/// Names a set of defects at the type level (the tester builds peers with `P::make`).
pub trait LogFlavour: Send + Sync + 'static {
    /// The defects.
    const DEFECTS: LogDefects;
}

macro_rules! log_flavour {
    ($(#[$doc:meta])* $name:ident, $defects:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl LogFlavour for $name {
            const DEFECTS: LogDefects = $defects;
        }
    };
}

log_flavour!(
    /// No defects.
    Sound,
    CORRECT
);
log_flavour!(
    /// Commits old-term entries by counting replicas.
    CommitsOldTerms,
    LogDefects {
        commit_old_terms: true,
        ..CORRECT
    }
);
log_flavour!(
    /// Does not persist its log.
    ForgetsLog,
    LogDefects {
        forget_log: true,
        ..CORRECT
    }
);
log_flavour!(
    /// Applies entries committed together in any order.
    AppliesOutOfOrder,
    LogDefects {
        apply_out_of_order: true,
        ..CORRECT
    }
);
log_flavour!(
    /// Backs up one entry per heartbeat.
    BacksUpSlowly,
    LogDefects {
        slow_backup: true,
        ..CORRECT
    }
);
log_flavour!(
    /// Holds its lock while it sends on the apply channel (`block_on` under the guard).
    AppliesUnderLock,
    LogDefects {
        apply_under_lock: true,
        ..CORRECT
    }
);
log_flavour!(
    /// Holds a hand-made lock (a busy flag and a condition variable) across its sends.
    AppliesBehindFlag,
    LogDefects {
        apply_behind_flag: true,
        ..CORRECT
    }
);

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    term: u64,
    command: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct VoteArgs {
    term: u64,
    candidate: usize,
    last_index: u64,
    last_term: u64,
}
#[derive(Serialize, Deserialize)]
struct VoteReply {
    term: u64,
    granted: bool,
}
#[derive(Serialize, Deserialize)]
struct AppendArgs {
    term: u64,
    leader: usize,
    prev_index: u64,
    prev_term: u64,
    entries: Vec<Entry>,
    leader_commit: u64,
}
#[derive(Serialize, Deserialize)]
struct AppendReply {
    term: u64,
    success: bool,
    /// The follower's term at `prev_index`, or `None` when its log is shorter.
    conflict_term: Option<u64>,
    /// The first index of `conflict_term`, or the follower's log length.
    conflict_index: u64,
}

/// The log with its saved form kept alongside: it is saved on every change, and re-encoding
/// thousands of entries each time (as the churn tests reach) would make the toy slow in debug
/// builds.
struct Log {
    entries: Vec<Entry>,
    /// The entries encoded one after another (see [`encode_durable`]).
    encoded: Vec<u8>,
    /// Where each entry starts in `encoded`.
    offsets: Vec<usize>,
}

impl Log {
    fn new(entries: Vec<Entry>) -> Log {
        let mut log = Log {
            entries: Vec::new(),
            encoded: Vec::new(),
            offsets: Vec::new(),
        };
        for e in entries {
            log.push(e);
        }
        log
    }

    fn push(&mut self, e: Entry) {
        self.offsets.push(self.encoded.len());
        self.encoded.extend_from_slice(&e.term.to_le_bytes());
        self.encoded
            .extend_from_slice(&(e.command.len() as u64).to_le_bytes());
        self.encoded.extend_from_slice(&e.command);
        self.entries.push(e);
    }

    fn truncate(&mut self, len: usize) {
        if len < self.entries.len() {
            self.encoded.truncate(self.offsets[len]);
            self.offsets.truncate(len);
            self.entries.truncate(len);
        }
    }

    /// The encoding of the first `len` entries.
    fn encoded_prefix(&self, len: usize) -> &[u8] {
        match self.offsets.get(len) {
            Some(&end) => &self.encoded[..end],
            None => &self.encoded,
        }
    }
}

impl std::ops::Deref for Log {
    type Target = [Entry];
    fn deref(&self) -> &[Entry] {
        &self.entries
    }
}

/// What survives a crash: term, vote (`u64::MAX` for none), entry count, then per entry its
/// term, its command's length and the command, all integers little-endian.
fn encode_durable(term: u64, voted_for: Option<usize>, count: usize, entries: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + entries.len());
    out.extend_from_slice(&term.to_le_bytes());
    out.extend_from_slice(&voted_for.map_or(u64::MAX, |v| v as u64).to_le_bytes());
    out.extend_from_slice(&(count as u64).to_le_bytes());
    out.extend_from_slice(entries);
    out
}

/// The inverse of [`encode_durable`]; `None` for bytes it did not write.
fn decode_durable(bytes: &[u8]) -> Option<(u64, Option<usize>, Vec<Entry>)> {
    fn word(rest: &mut &[u8]) -> Option<u64> {
        let (w, tail) = rest.split_first_chunk::<8>()?;
        *rest = tail;
        Some(u64::from_le_bytes(*w))
    }
    let mut rest = bytes;
    let term = word(&mut rest)?;
    let voted_for = match word(&mut rest)? {
        u64::MAX => None,
        v => Some(v as usize),
    };
    let len = word(&mut rest)?;
    let mut log = Vec::new();
    for _ in 0..len {
        let entry_term = word(&mut rest)?;
        let n = word(&mut rest)? as usize;
        if rest.len() < n {
            return None;
        }
        let (command, tail) = rest.split_at(n);
        rest = tail;
        log.push(Entry {
            term: entry_term,
            command: command.to_vec(),
        });
    }
    (rest.is_empty() && !log.is_empty()).then_some((term, voted_for, log))
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
    /// `log[0]` is a placeholder of term 0, so the first real entry is index 1.
    log: Log,
    role: Role,
    votes: usize,
    last_heard: Instant,
    timeout: Duration,
    commit: u64,
    applied: u64,
    next: Vec<u64>,
    matched: Vec<u64>,
    /// Wakes the leader's replicator of the current term.
    kick: Option<UnboundedSender<()>>,
    /// Sending a batch on the apply channel ([`LogDefects::apply_behind_flag`]).
    applying: bool,
    dead: bool,
}

impl State {
    fn last_index(&self) -> u64 {
        self.log.len() as u64 - 1
    }
    fn last_term(&self) -> u64 {
        self.log.last().map_or(0, |e| e.term)
    }
}

struct Inner {
    me: usize,
    peers: Vec<ClientEnd>,
    defects: LogDefects,
    persister: Persister,
    apply_tx: ApplySender,
    apply_wake: UnboundedSender<()>,
    state: Mutex<State>,
    /// Notified when `applying` is cleared.
    applied_batch: Condvar,
}

/// The log-replicating toy peer, with the defects of `F`.
pub struct LogPeer<F: LogFlavour> {
    inner: Arc<Inner>,
    _flavour: PhantomData<F>,
}

fn draw_timeout() -> Duration {
    Duration::from_millis(runtime::random_range(ELECTION_MS.0..ELECTION_MS.1 + 1))
}

impl Inner {
    fn persist(&self, st: &State) {
        let count = if self.defects.forget_log {
            1
        } else {
            st.log.len()
        };
        let bytes = encode_durable(st.term, st.voted_for, count, st.log.encoded_prefix(count));
        self.persister.save(bytes, None);
    }

    fn reset_timer(&self, st: &mut State) {
        st.last_heard = runtime::now();
        st.timeout = draw_timeout();
    }

    /// Adopts a higher term as a follower. Returns whether it did.
    fn see_term(&self, st: &mut State, term: u64) -> bool {
        if term <= st.term {
            return false;
        }
        st.term = term;
        st.voted_for = None;
        st.role = Role::Follower;
        st.kick = None;
        self.persist(st);
        true
    }

    fn request_vote(&self, args: VoteArgs) -> VoteReply {
        let mut st = self.state.lock();
        self.see_term(&mut st, args.term);
        let up_to_date = (args.last_term, args.last_index) >= (st.last_term(), st.last_index());
        let free = st.voted_for.is_none() || st.voted_for == Some(args.candidate);
        let granted = args.term == st.term && free && up_to_date;
        if granted {
            st.voted_for = Some(args.candidate);
            self.persist(&st);
            self.reset_timer(&mut st);
        }
        VoteReply {
            term: st.term,
            granted,
        }
    }

    fn append_entries(&self, args: AppendArgs) -> AppendReply {
        let mut st = self.state.lock();
        let reject = |st: &State, conflict_term, conflict_index| AppendReply {
            term: st.term,
            success: false,
            conflict_term,
            conflict_index,
        };
        if args.term < st.term {
            return reject(&st, None, 0);
        }
        self.see_term(&mut st, args.term);
        st.role = Role::Follower;
        self.reset_timer(&mut st);

        if args.prev_index > st.last_index() {
            return reject(&st, None, st.log.len() as u64);
        }
        let here = st.log[args.prev_index as usize].term;
        if here != args.prev_term {
            let first = st
                .log
                .iter()
                .position(|e| e.term == here)
                .unwrap_or(args.prev_index as usize) as u64;
            return reject(&st, Some(here), first);
        }
        let mut changed = false;
        for (k, entry) in args.entries.iter().enumerate() {
            let index = args.prev_index as usize + 1 + k;
            match st.log.get(index) {
                Some(e) if e.term == entry.term => {}
                Some(_) => {
                    st.log.truncate(index);
                    st.log.push(entry.clone());
                    changed = true;
                }
                None => {
                    st.log.push(entry.clone());
                    changed = true;
                }
            }
        }
        if changed {
            self.persist(&st);
        }
        let last_new = args.prev_index + args.entries.len() as u64;
        let commit = args.leader_commit.min(last_new);
        if commit > st.commit {
            st.commit = commit;
            let _ = self.apply_wake.unbounded_send(());
        }
        AppendReply {
            term: st.term,
            success: true,
            conflict_term: None,
            conflict_index: 0,
        }
    }

    async fn ticker(self: Arc<Self>) {
        loop {
            let wait = {
                let st = self.state.lock();
                if st.dead {
                    return;
                }
                if st.role == Role::Leader {
                    HEARTBEAT
                } else {
                    st.timeout.saturating_sub(st.last_heard.elapsed())
                }
            };
            runtime::sleep(wait.max(Duration::from_millis(1))).await;
            let election = {
                let mut st = self.state.lock();
                if st.dead {
                    return;
                }
                if st.role != Role::Leader && st.last_heard.elapsed() >= st.timeout {
                    st.term += 1;
                    st.role = Role::Candidate;
                    st.voted_for = Some(self.me);
                    st.votes = 1;
                    self.persist(&st);
                    self.reset_timer(&mut st);
                    Some((st.term, st.last_index(), st.last_term()))
                } else {
                    None
                }
            };
            if let Some((term, last_index, last_term)) = election {
                for (i, end) in self.peers.iter().enumerate() {
                    if i != self.me {
                        let args = VoteArgs {
                            term,
                            candidate: self.me,
                            last_index,
                            last_term,
                        };
                        let me = self.clone();
                        let end = end.clone();
                        drop(runtime::spawn(async move { me.ask_vote(end, args).await }));
                    }
                }
            }
        }
    }

    async fn ask_vote(self: Arc<Self>, end: ClientEnd, args: VoteArgs) {
        let term = args.term;
        let Ok(reply) = end.call::<_, VoteReply>("Raft.RequestVote", &args).await else {
            return;
        };
        let mut st = self.state.lock();
        if self.see_term(&mut st, reply.term) || st.role != Role::Candidate || st.term != term {
            return;
        }
        if reply.granted {
            st.votes += 1;
            if st.votes * 2 > self.peers.len() {
                st.role = Role::Leader;
                let next = st.log.len() as u64;
                st.next = vec![next; self.peers.len()];
                st.matched = vec![0; self.peers.len()];
                let (kick, kicked) = unbounded();
                st.kick = Some(kick);
                drop(st);
                let me = self.clone();
                drop(runtime::spawn(async move { me.lead(term, kicked).await }));
            }
        }
    }

    /// The replicator of one term: a round now, then one per heartbeat or whenever kicked.
    async fn lead(self: Arc<Self>, term: u64, mut kicked: UnboundedReceiver<()>) {
        loop {
            for j in 0..self.peers.len() {
                if j != self.me && !self.clone().send_append(term, j) {
                    return;
                }
            }
            if let Ok(None) = runtime::timeout(HEARTBEAT, kicked.next()).await {
                return;
            }
            while kicked.try_recv().is_ok() {}
        }
    }

    /// Sends peer `j` what it lacks, in a task of its own; false once no longer leader of
    /// `term`.
    fn send_append(self: Arc<Self>, term: u64, j: usize) -> bool {
        let args = {
            let st = self.state.lock();
            if st.dead || st.role != Role::Leader || st.term != term {
                return false;
            }
            let next = st.next[j].clamp(1, st.log.len() as u64);
            let prev = next - 1;
            AppendArgs {
                term,
                leader: self.me,
                prev_index: prev,
                prev_term: st.log[prev as usize].term,
                entries: st.log[next as usize..]
                    .iter()
                    .take(MAX_BATCH)
                    .cloned()
                    .collect(),
                leader_commit: st.commit,
            }
        };
        let end = self.peers[j].clone();
        drop(runtime::spawn(async move {
            let prev = args.prev_index;
            let sent = args.entries.len() as u64;
            let Ok(reply) = end
                .call::<_, AppendReply>("Raft.AppendEntries", &args)
                .await
            else {
                return;
            };
            self.on_append_reply(term, j, prev, sent, reply);
        }));
        true
    }

    fn on_append_reply(self: Arc<Self>, term: u64, j: usize, prev: u64, sent: u64, r: AppendReply) {
        let mut st = self.state.lock();
        if self.see_term(&mut st, r.term) || st.role != Role::Leader || st.term != term {
            return;
        }
        if r.success {
            st.matched[j] = st.matched[j].max(prev + sent);
            st.next[j] = st.next[j].max(st.matched[j] + 1);
            self.advance_commit(&mut st);
            let more = sent as usize == MAX_BATCH && st.next[j] <= st.last_index();
            drop(st);
            if more {
                self.send_append(term, j);
            }
            return;
        }
        if st.next[j] != prev + 1 {
            // A reply to an older request: the leader already moved on.
            return;
        }
        if self.defects.slow_backup {
            st.next[j] = prev.max(1);
            return;
        }
        let next = match r.conflict_term {
            None => r.conflict_index,
            Some(ct) => match st.log.iter().rposition(|e| e.term == ct) {
                Some(last) => last as u64 + 1,
                None => r.conflict_index,
            },
        };
        st.next[j] = next.clamp(1, prev.max(1));
        drop(st);
        self.send_append(term, j);
    }

    fn advance_commit(&self, st: &mut State) {
        let majority = self.peers.len() / 2 + 1;
        for n in (st.commit + 1..=st.last_index()).rev() {
            if st.log[n as usize].term != st.term && !self.defects.commit_old_terms {
                // Only the leader's own entries are committed by counting replicas (§5.4.2).
                break;
            }
            let replicas = 1
                + (0..self.peers.len())
                    .filter(|&j| j != self.me && st.matched[j] >= n)
                    .count();
            if replicas >= majority {
                st.commit = n;
                let _ = self.apply_wake.unbounded_send(());
                return;
            }
        }
    }

    async fn applier(self: Arc<Self>, mut wake: UnboundedReceiver<()>) {
        loop {
            if self.defects.apply_under_lock {
                let mut st = self.state.lock();
                while st.applied < st.commit && !st.dead {
                    st.applied += 1;
                    let index = st.applied;
                    let msg = ApplyMsg::Command {
                        index,
                        term: st.log[index as usize].term,
                        command: st.log[index as usize].command.clone(),
                    };
                    // The bug: blocks the thread, lock held, until the service takes it.
                    let _ = futures::executor::block_on(self.apply_tx.send(msg));
                }
            }
            let batch: Vec<ApplyMsg> = {
                let mut st = self.state.lock();
                if st.dead {
                    return;
                }
                let from = st.applied + 1;
                st.applied = st.commit;
                // The bug: busy (the hand-made lock taken) until the whole batch is sent.
                st.applying = self.defects.apply_behind_flag && from <= st.commit;
                (from..=st.commit)
                    .map(|index| ApplyMsg::Command {
                        index,
                        term: st.log[index as usize].term,
                        command: st.log[index as usize].command.clone(),
                    })
                    .collect()
            };
            if batch.is_empty() {
                if wake.next().await.is_none() {
                    return;
                }
                continue;
            }
            for msg in batch {
                if self.defects.apply_out_of_order {
                    let tx = self.apply_tx.clone();
                    drop(runtime::spawn(async move {
                        let _ = tx.send(msg).await;
                    }));
                } else if self.apply_tx.send(msg).await.is_err() {
                    return;
                }
            }
            if self.defects.apply_behind_flag {
                self.state.lock().applying = false;
                self.applied_batch.notify_all();
            }
        }
    }
}

impl<F: LogFlavour> Peer for LogPeer<F> {
    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: ApplySender) -> Self {
        let saved = persister.read_raft_state();
        let (term, voted_for, log) = if saved.is_empty() {
            let placeholder = Entry {
                term: 0,
                command: Vec::new(),
            };
            (0, None, vec![placeholder])
        } else {
            decode_durable(&saved).expect("the toy reads what it saved")
        };
        let (apply_wake, woken) = unbounded();
        let n = peers.len();
        let inner = Arc::new(Inner {
            me,
            peers,
            defects: F::DEFECTS,
            persister,
            apply_tx,
            apply_wake,
            state: Mutex::new(State {
                term,
                voted_for,
                log: Log::new(log),
                role: Role::Follower,
                votes: 0,
                last_heard: runtime::now(),
                timeout: draw_timeout(),
                commit: 0,
                applied: 0,
                next: vec![1; n],
                matched: vec![0; n],
                kick: None,
                applying: false,
                dead: false,
            }),
            applied_batch: Condvar::new(),
        });
        drop(runtime::spawn(inner.clone().ticker()));
        drop(runtime::spawn(inner.clone().applier(woken)));
        LogPeer {
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
        svc.handle("AppendEntries", move |a: AppendArgs| {
            inner.append_entries(a)
        })
        .expect("a new method");
        svc
    }

    fn start(&self, command: Vec<u8>) -> Option<(u64, u64)> {
        let mut st = self.inner.state.lock();
        if st.dead || st.role != Role::Leader {
            return None;
        }
        let term = st.term;
        st.log.push(Entry { term, command });
        self.inner.persist(&st);
        if let Some(kick) = &st.kick {
            let _ = kick.unbounded_send(());
        }
        Some((st.last_index(), term))
    }

    fn snapshot(&self, _index: u64, _snapshot: Vec<u8>) {
        // A peer trims its log under its lock; this toy keeps it all (see the module docs).
        let mut st = self.inner.state.lock();
        while st.applying {
            // The hand-made lock: wait until the batch is sent, which needs the service,
            // which is here.
            self.inner.applied_batch.wait(&mut st);
        }
    }
}
