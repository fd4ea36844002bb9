//! A compact Raft peer for the conformance graders' own tests: election, heartbeats, log
//! replication with fast back-up, commitment, an applier, persistence (parts A-C) and
//! snapshots (part D: `snapshot` trims the log, a leader sends its snapshot to a follower that
//! needs what it discarded, a follower installs one), speaking the `raft` crate's message types (which a submission keeps) but nothing
//! else of it. Each [`Bugs`] switch is a mistake students make; with none switched on it is a
//! correct peer, and every conformance grader passes it (the control that shows each failure
//! comes from its bug).

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures::StreamExt;
use harness::Peer;
use labrpc::runtime::{self, Instant};
use labrpc::{ClientEnd, Service};
use parking_lot::Mutex;
use raft::{
    AppendEntriesArgs, AppendEntriesReply, ApplyMsg, ApplySender, InstallSnapshotArgs,
    InstallSnapshotReply, LogEntry, PeerId, Persister, RequestVoteArgs, RequestVoteReply, Term,
};
use serde::{Deserialize, Serialize};

/// The mistakes a [`FigPeer`] makes.
#[derive(Clone, Copy, Debug)]
pub struct Bugs {
    /// Election timeout range (ms).
    pub election_ms: (u64, u64),
    /// `RequestVote`: no check of an older term (grants if it has not voted).
    pub grants_older_term: bool,
    /// `AppendEntries`: no check of an older term (accepts a deposed leader).
    pub accepts_older_append: bool,
    /// Grants every candidate of the term, not only the first.
    pub double_vote: bool,
    /// Grants only when it has not voted (`votedFor == null`), not to the same candidate again.
    pub no_regrant: bool,
    /// Grants without comparing logs (no election restriction).
    pub ignores_log_in_votes: bool,
    /// Does not save the state after granting a vote.
    pub vote_not_persisted: bool,
    /// On a request of a higher term, adopts the term but keeps its role.
    pub keeps_role_on_higher_term: bool,
    /// Counts every granted vote reply, whatever its role and term now.
    pub counts_stale_votes: bool,
    /// A candidate ignores the term in vote replies.
    pub candidate_ignores_reply_term: bool,
    /// A leader ignores the term in `AppendEntries` replies.
    pub leader_ignores_reply_term: bool,
    /// A heartbeat does not reset the election timer.
    pub no_reset_on_heartbeat: bool,
    /// Granting a vote does not reset the election timer.
    pub no_reset_on_grant: bool,
    /// Every `RequestVote`, granted or not, resets the election timer.
    pub reset_on_any_vote_request: bool,
    /// An `AppendEntries` of an older term resets the election timer (before the term check).
    pub reset_on_older_append: bool,
    /// A candidate whose election went nowhere never starts another.
    pub candidate_never_retries: bool,
    /// `AppendEntries` replaces everything after `prev_log_index` with the request's entries
    /// (`log = log[..=prev] + entries`), conflict or not.
    pub truncate_always: bool,
    /// A follower sets `commitIndex = min(leaderCommit, its last log index)`, not the index
    /// of the last entry the request vouches for.
    pub commit_to_log_end: bool,
    /// A leader commits any entry stored on a majority, whatever its term (Figure 8).
    pub commit_old_terms: bool,
    /// A leader acts on an `AppendEntries` reply whenever it leads, whatever term it sent the
    /// request in.
    pub stale_replies: bool,
    /// On a refusal, a leader steps `nextIndex` back by one and waits for the next heartbeat.
    pub slow_backup: bool,
    /// Saves its term and vote but not its log.
    pub forget_log: bool,
    /// Saves its state in the `RequestVote` handler only when the request changed its term:
    /// a vote granted in a term it had adopted before (from a request it denied) is not saved.
    pub vote_saved_only_with_term: bool,
    /// A part-A peer and nothing more: no log (`AppendEntries` of its term or a later one
    /// succeeds, whatever it carries), `start` returns `None`, nothing is saved, no
    /// `InstallSnapshot`.
    pub election_only: bool,
    /// `InstallSnapshot`: installs an older snapshot too (one that covers nothing beyond the
    /// commit index), setting the commit index and lastApplied back to its index (and
    /// discarding the log when the snapshot ends before it).
    pub older_snapshot_rolls_back: bool,
    /// A leader's replication ticker goes on after the leader is deposed, heartbeating in its
    /// old term until it leads again.
    pub deposed_keeps_heartbeating: bool,
    /// On a refusal, a leader steps `nextIndex` back by one entry and retries at once (one round
    /// trip per entry, but no wait for the next heartbeat).
    pub backup_one_entry_at_once: bool,
    /// Saves lastApplied (and takes it as its commit index at a restart), so a restarted peer
    /// goes on applying after what it applied before the crash instead of applying its log
    /// again: the original's tester accepts it, this one does not (see the README).
    pub resumes_after_restart: bool,
    /// The `AppendEntries` consistency check looks only at the log's length, not at the term
    /// of the entry at `prevLogIndex`.
    pub length_only_consistency: bool,
    /// A follower saves its state only when `AppendEntries` made its log longer (not when it
    /// replaced entries).
    pub persist_only_growth: bool,
}

/// No bugs.
pub const NONE: Bugs = Bugs {
    election_ms: (500, 1000),
    grants_older_term: false,
    accepts_older_append: false,
    double_vote: false,
    no_regrant: false,
    ignores_log_in_votes: false,
    vote_not_persisted: false,
    keeps_role_on_higher_term: false,
    counts_stale_votes: false,
    candidate_ignores_reply_term: false,
    leader_ignores_reply_term: false,
    no_reset_on_heartbeat: false,
    no_reset_on_grant: false,
    reset_on_any_vote_request: false,
    reset_on_older_append: false,
    candidate_never_retries: false,
    truncate_always: false,
    commit_to_log_end: false,
    commit_old_terms: false,
    stale_replies: false,
    slow_backup: false,
    forget_log: false,
    persist_only_growth: false,
    vote_saved_only_with_term: false,
    election_only: false,
    older_snapshot_rolls_back: false,
    deposed_keeps_heartbeating: false,
    backup_one_entry_at_once: false,
    resumes_after_restart: false,
    length_only_consistency: false,
};

/// How often a leader sends heartbeats.
const HEARTBEAT: Duration = Duration::from_millis(150);
/// How often the election ticker looks at the timer.
const TICK: Duration = Duration::from_millis(10);

/// Names a set of bugs at the type level (the tester builds peers with `P::make`).
pub trait BugSet: Send + Sync + 'static {
    /// The bugs.
    const BUGS: Bugs;
}

macro_rules! bug_set {
    ($name:ident, $($field:ident: $value:expr),* $(,)?) => {
        /// A [`Bugs`] set for [`FigPeer`].
        pub struct $name;
        impl BugSet for $name {
            const BUGS: Bugs = Bugs { $($field: $value,)* ..NONE };
        }
    };
}

bug_set!(NoBugs,);
bug_set!(GrantsOlderTerm, grants_older_term: true);
bug_set!(AcceptsOlderAppend, accepts_older_append: true);
bug_set!(DoubleVote, double_vote: true);
bug_set!(NoRegrant, no_regrant: true);
bug_set!(IgnoresLogInVotes, ignores_log_in_votes: true);
bug_set!(VoteNotPersisted, vote_not_persisted: true);
bug_set!(KeepsRoleOnHigherTerm, keeps_role_on_higher_term: true);
bug_set!(CountsStaleVotes, counts_stale_votes: true);
bug_set!(CandidateIgnoresReplyTerm, candidate_ignores_reply_term: true);
bug_set!(LeaderIgnoresReplyTerm, leader_ignores_reply_term: true);
bug_set!(NoResetOnHeartbeat, no_reset_on_heartbeat: true);
bug_set!(NoResetOnGrant, no_reset_on_grant: true);
bug_set!(ResetOnAnyVoteRequest, reset_on_any_vote_request: true);
bug_set!(ResetOnOlderAppend, reset_on_older_append: true);
bug_set!(CandidateNeverRetries, candidate_never_retries: true);
bug_set!(SlowTimer, election_ms: (2000, 4000));
bug_set!(TruncatesAlways, truncate_always: true);
bug_set!(CommitsToLogEnd, commit_to_log_end: true);
bug_set!(CommitsOldTerms, commit_old_terms: true);
bug_set!(ActsOnStaleReplies, stale_replies: true);
bug_set!(BacksUpSlowly, slow_backup: true);
bug_set!(ForgetsLog, forget_log: true);
bug_set!(PersistsOnlyGrowth, persist_only_growth: true);
bug_set!(VoteSavedOnlyWithTerm, vote_saved_only_with_term: true);
bug_set!(ElectionOnly, election_only: true);
bug_set!(OlderSnapshotRollsBack, older_snapshot_rolls_back: true);
bug_set!(DeposedKeepsHeartbeating, deposed_keeps_heartbeating: true);
bug_set!(BacksUpOneEntryAtOnce, backup_one_entry_at_once: true);
bug_set!(ResumesAfterRestart, resumes_after_restart: true);
bug_set!(LengthOnlyConsistency, length_only_consistency: true);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Follower,
    Candidate,
    Leader,
}

/// What the peer saves (the snapshot goes beside it).
#[derive(Serialize, Deserialize, Default)]
struct Saved {
    term: u64,
    voted_for: Option<usize>,
    log: Vec<LogEntry>,
    base: u64,
    /// lastApplied, saved only with [`Bugs::resumes_after_restart`].
    applied: u64,
}

struct State {
    term: u64,
    voted_for: Option<usize>,
    /// `log[0]` is the entry at index `base`: a dummy entry of term 0 at index 0, or the last
    /// entry a snapshot covers (its term, no command).
    log: Vec<LogEntry>,
    base: u64,
    /// The snapshot through `base` (empty without one).
    snapshot: Vec<u8>,
    /// A snapshot installed and not yet handed to the service.
    snapshot_due: bool,
    role: Role,
    votes: usize,
    reset_at: Instant,
    timeout: Duration,
    commit: u64,
    applied: u64,
    /// A leader's `nextIndex[]` and `matchIndex[]`.
    next: Vec<u64>,
    matched: Vec<u64>,
    dead: bool,
}

impl State {
    /// The term and index of the last entry.
    fn last(&self) -> (u64, u64) {
        (self.log[self.log.len() - 1].term.0, self.last_index())
    }

    fn last_index(&self) -> u64 {
        self.base + self.log.len() as u64 - 1
    }

    /// Where index `i` (from `base` on) is in `log`.
    fn pos(&self, i: u64) -> usize {
        (i - self.base) as usize
    }

    /// The term of the entry at `i`, if the log holds it (the snapshot's last entry included).
    fn term_at(&self, i: u64) -> Option<Term> {
        (self.base..=self.last_index())
            .contains(&i)
            .then(|| self.log[self.pos(i)].term)
    }
}

struct Inner {
    me: usize,
    peers: Vec<ClientEnd>,
    persister: Persister,
    bugs: Bugs,
    apply_tx: ApplySender,
    apply_wake: UnboundedSender<()>,
    state: Mutex<State>,
}

/// The peer, with the bugs of `B`.
pub struct FigPeer<B: BugSet> {
    inner: Arc<Inner>,
    _bugs: PhantomData<B>,
}

impl Inner {
    fn reset_timer(&self, st: &mut State) {
        st.reset_at = runtime::now();
        let (lo, hi) = self.bugs.election_ms;
        st.timeout = Duration::from_millis(runtime::random_range(lo..hi));
    }

    fn persist(&self, st: &State) {
        if self.bugs.election_only {
            return;
        }
        let saved = Saved {
            term: st.term,
            voted_for: st.voted_for,
            log: if self.bugs.forget_log {
                Vec::new()
            } else {
                st.log.clone()
            },
            base: st.base,
            applied: if self.bugs.resumes_after_restart {
                st.applied
            } else {
                0
            },
        };
        if let Ok(bytes) = labrpc::codec::encode(&saved) {
            self.persister.save(bytes, Some(st.snapshot.clone()));
        }
    }

    /// Moves to the higher `term` with no vote, as a follower (unless a bug keeps the role).
    fn adopt(&self, st: &mut State, term: u64) {
        st.term = term;
        st.voted_for = None;
        if !self.bugs.keeps_role_on_higher_term {
            st.role = Role::Follower;
        }
        self.persist(st);
    }

    fn request_vote(&self, a: RequestVoteArgs) -> RequestVoteReply {
        let mut st = self.state.lock();
        if self.bugs.reset_on_any_vote_request {
            self.reset_timer(&mut st);
        }
        let deny = |st: &State| RequestVoteReply {
            term: Term(st.term),
            vote_granted: false,
        };
        if a.term.0 < st.term && !self.bugs.grants_older_term {
            return deny(&st);
        }
        let adopted = a.term.0 > st.term;
        if adopted {
            self.adopt(&mut st, a.term.0);
        }
        let c = a.candidate_id.0;
        let free = match st.voted_for {
            None => true,
            Some(v) if v == c => !self.bugs.no_regrant,
            Some(_) => self.bugs.double_vote,
        };
        let up_to_date =
            self.bugs.ignores_log_in_votes || (a.last_log_term.0, a.last_log_index) >= st.last();
        if !(free && up_to_date) {
            return deny(&st);
        }
        st.voted_for = Some(c);
        let save = if self.bugs.vote_saved_only_with_term {
            adopted
        } else {
            !self.bugs.vote_not_persisted
        };
        if save {
            self.persist(&st);
        }
        if !self.bugs.no_reset_on_grant {
            self.reset_timer(&mut st);
        }
        RequestVoteReply {
            term: Term(st.term),
            vote_granted: true,
        }
    }

    fn append_entries(&self, a: AppendEntriesArgs) -> AppendEntriesReply {
        let mut st = self.state.lock();
        let reply = |st: &State, success: bool, conflict_term: Option<u64>, conflict_index| {
            AppendEntriesReply {
                term: Term(st.term),
                success,
                conflict_term: conflict_term.map(Term),
                conflict_index,
            }
        };
        if a.term.0 < st.term {
            if self.bugs.reset_on_older_append {
                self.reset_timer(&mut st);
            }
            if !self.bugs.accepts_older_append {
                return reply(&st, false, None, 0);
            }
        }
        if a.term.0 > st.term {
            self.adopt(&mut st, a.term.0);
        }
        if st.role == Role::Candidate && a.term.0 == st.term {
            st.role = Role::Follower;
        }
        if !self.bugs.no_reset_on_heartbeat {
            self.reset_timer(&mut st);
        }
        if self.bugs.election_only {
            // No log: every heartbeat of its leader is a success.
            return reply(&st, true, None, 0);
        }
        // Entries the snapshot covers are committed, so they match: start after it.
        let skip = st.base.saturating_sub(a.prev_log_index) as usize;
        let prev = a.prev_log_index.max(st.base);
        let entries = a.entries.get(skip..).unwrap_or(&[]);
        if prev > st.last_index() {
            let len = st.last_index() + 1;
            return reply(&st, false, None, len);
        }
        if skip == 0
            && st.term_at(prev) != Some(a.prev_log_term)
            && !self.bugs.length_only_consistency
        {
            let here = st.log[st.pos(prev)].term;
            let first = st
                .log
                .iter()
                .position(|e| e.term == here)
                .map_or(prev, |p| st.base + p as u64);
            return reply(&st, false, Some(here.0), first.max(1));
        }
        let before = st.log.len();
        let mut changed = false;
        if self.bugs.truncate_always {
            let keep = st.pos(prev) + 1;
            st.log.truncate(keep);
            st.log.extend(entries.iter().cloned());
            changed = true;
        } else {
            for (k, e) in entries.iter().enumerate() {
                let i = st.pos(prev) + 1 + k;
                if i < st.log.len() && st.log[i].term == e.term {
                    continue;
                }
                st.log.truncate(i);
                st.log.push(e.clone());
                changed = true;
            }
        }
        let grew = st.log.len() > before;
        if changed && (grew || !self.bugs.persist_only_growth) {
            self.persist(&st);
        }
        let last_new = if self.bugs.commit_to_log_end {
            st.last_index()
        } else {
            a.prev_log_index + a.entries.len() as u64
        };
        let commit = a.leader_commit.min(last_new);
        if commit > st.commit {
            st.commit = commit;
            let _ = self.apply_wake.unbounded_send(());
        }
        reply(&st, true, None, 0)
    }

    /// Figure 13's receiver, as the lab sends it (the whole snapshot at once): an older term
    /// is refused; a snapshot that covers nothing beyond the commit index is older than what
    /// the service has and changes nothing; otherwise the entries after it stay when the log
    /// holds its last entry, else the whole log goes, and the service gets the snapshot next.
    fn install_snapshot(&self, a: InstallSnapshotArgs) -> InstallSnapshotReply {
        let mut st = self.state.lock();
        let reply = |st: &State| InstallSnapshotReply {
            term: Term(st.term),
        };
        if a.term.0 < st.term {
            return reply(&st);
        }
        if a.term.0 > st.term {
            self.adopt(&mut st, a.term.0);
        }
        if st.role == Role::Candidate {
            st.role = Role::Follower;
        }
        self.reset_timer(&mut st);
        let index = a.last_included_index;
        let rolls_back = self.bugs.older_snapshot_rolls_back;
        if index <= st.commit && !rolls_back {
            return reply(&st);
        }
        if st.term_at(index) == Some(a.last_included_term) {
            let pos = st.pos(index);
            st.log.drain(..pos);
            st.log[0].command = Vec::new();
        } else {
            st.log = vec![LogEntry {
                term: a.last_included_term,
                command: Vec::new(),
            }];
        }
        st.base = index;
        st.snapshot = a.data;
        st.commit = if rolls_back {
            index
        } else {
            st.commit.max(index)
        };
        st.snapshot_due = true;
        self.persist(&st);
        let _ = self.apply_wake.unbounded_send(());
        reply(&st)
    }

    async fn ticker(self: Arc<Self>) {
        loop {
            runtime::sleep(TICK).await;
            let mut st = self.state.lock();
            if st.dead {
                return;
            }
            let expired = st.reset_at.elapsed() >= st.timeout;
            let start = match st.role {
                Role::Leader => false,
                Role::Follower => expired,
                Role::Candidate => expired && !self.bugs.candidate_never_retries,
            };
            if !start {
                continue;
            }
            st.term += 1;
            st.role = Role::Candidate;
            st.voted_for = Some(self.me);
            st.votes = 1;
            self.persist(&st);
            self.reset_timer(&mut st);
            let (last_log_term, last_log_index) = st.last();
            let args = RequestVoteArgs {
                term: Term(st.term),
                candidate_id: PeerId(self.me),
                last_log_index,
                last_log_term: Term(last_log_term),
            };
            drop(st);
            for (i, end) in self.peers.iter().enumerate() {
                if i != self.me {
                    let (me, end, args) = (self.clone(), end.clone(), args.clone());
                    drop(runtime::spawn(async move { me.ask_vote(end, args).await }));
                }
            }
        }
    }

    async fn ask_vote(self: Arc<Self>, end: ClientEnd, args: RequestVoteArgs) {
        let Ok(reply) = end
            .call::<_, RequestVoteReply>("Raft.RequestVote", &args)
            .await
        else {
            return;
        };
        let mut st = self.state.lock();
        if st.dead {
            return;
        }
        if reply.term.0 > st.term && !self.bugs.candidate_ignores_reply_term {
            self.adopt(&mut st, reply.term.0);
            return;
        }
        let in_context = st.role == Role::Candidate && st.term == args.term.0;
        if !reply.vote_granted || !(in_context || self.bugs.counts_stale_votes) {
            return;
        }
        st.votes += 1;
        if st.votes * 2 > self.peers.len() && st.role != Role::Leader {
            st.role = Role::Leader;
            let len = st.last_index() + 1;
            st.next = vec![len; self.peers.len()];
            st.matched = vec![0; self.peers.len()];
            let term = st.term;
            drop(st);
            let me = self.clone();
            drop(runtime::spawn(async move { me.lead(term).await }));
        }
    }

    async fn lead(self: Arc<Self>, term: u64) {
        while self.clone().round(term) {
            runtime::sleep(HEARTBEAT).await;
        }
    }

    /// Sends every follower what it lacks from its `nextIndex` on; false once no longer leader
    /// of `term`.
    fn round(self: Arc<Self>, term: u64) -> bool {
        let st = self.state.lock();
        let deposed = st.role != Role::Leader || st.term != term;
        if st.dead || (deposed && !self.bugs.deposed_keeps_heartbeating) {
            return false;
        }
        if deposed && st.role == Role::Leader {
            // It leads again, in a later term: that term's ticker takes over.
            return false;
        }
        for (j, end) in self.peers.iter().enumerate() {
            if j == self.me {
                continue;
            }
            if st.next[j] <= st.base {
                // The follower needs an entry the snapshot covers: the snapshot, whole.
                let args = InstallSnapshotArgs {
                    term: Term(term),
                    leader_id: PeerId(self.me),
                    last_included_index: st.base,
                    last_included_term: st.log[0].term,
                    data: st.snapshot.clone(),
                };
                let (me, end) = (self.clone(), end.clone());
                drop(runtime::spawn(async move {
                    if let Ok(reply) = end
                        .call::<_, InstallSnapshotReply>("Raft.InstallSnapshot", &args)
                        .await
                    {
                        me.on_snapshot_reply(j, &args, reply);
                    }
                }));
                continue;
            }
            let next = st.next[j].min(st.last_index() + 1);
            let args = AppendEntriesArgs {
                term: Term(term),
                leader_id: PeerId(self.me),
                prev_log_index: next - 1,
                prev_log_term: st.log[st.pos(next - 1)].term,
                entries: st.log[st.pos(next)..].to_vec(),
                leader_commit: st.commit,
            };
            let (me, end) = (self.clone(), end.clone());
            drop(runtime::spawn(async move {
                if let Ok(reply) = end
                    .call::<_, AppendEntriesReply>("Raft.AppendEntries", &args)
                    .await
                {
                    me.on_append_reply(j, &args, reply);
                }
            }));
        }
        true
    }

    fn on_snapshot_reply(
        self: Arc<Self>,
        j: usize,
        args: &InstallSnapshotArgs,
        reply: InstallSnapshotReply,
    ) {
        let mut st = self.state.lock();
        if st.dead {
            return;
        }
        if reply.term.0 > st.term {
            self.adopt(&mut st, reply.term.0);
            return;
        }
        if st.role != Role::Leader || st.term != args.term.0 {
            return;
        }
        let index = args.last_included_index;
        st.matched[j] = st.matched[j].max(index);
        st.next[j] = st.next[j].max(index + 1);
        self.advance_commit(&mut st);
        let term = st.term;
        drop(st);
        self.round(term);
    }

    fn on_append_reply(
        self: Arc<Self>,
        j: usize,
        args: &AppendEntriesArgs,
        reply: AppendEntriesReply,
    ) {
        let mut st = self.state.lock();
        if st.dead {
            return;
        }
        if reply.term.0 > st.term {
            if !self.bugs.leader_ignores_reply_term {
                self.adopt(&mut st, reply.term.0);
            }
            return;
        }
        let in_context =
            st.role == Role::Leader && (st.term == args.term.0 || self.bugs.stale_replies);
        if !in_context {
            return;
        }
        let prev = args.prev_log_index;
        if reply.success {
            let through = prev + args.entries.len() as u64;
            st.matched[j] = st.matched[j].max(through);
            st.next[j] = st.next[j].max(st.matched[j] + 1);
            self.advance_commit(&mut st);
            return;
        }
        if st.next[j] != prev + 1 {
            // A reply to an older request: the leader already moved on.
            return;
        }
        let next = if self.bugs.slow_backup || self.bugs.backup_one_entry_at_once {
            prev
        } else {
            match reply.conflict_term {
                None => reply.conflict_index,
                Some(ct) => match st.log.iter().rposition(|e| e.term == ct) {
                    Some(last) => st.base + last as u64 + 1,
                    None => reply.conflict_index,
                },
            }
        };
        // Below the snapshot's last entry, the next round sends the snapshot.
        st.next[j] = next.clamp(1, prev.max(1));
        if !self.bugs.slow_backup {
            let term = st.term;
            drop(st);
            // Retry at once (the slow one waits for the next heartbeat).
            self.round(term);
        }
    }

    fn advance_commit(&self, st: &mut State) {
        let majority = self.peers.len() / 2 + 1;
        for n in (st.commit + 1..=st.last_index()).rev() {
            if st.log[st.pos(n)].term.0 != st.term && !self.bugs.commit_old_terms {
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
            let batch: Vec<ApplyMsg> = {
                let mut st = self.state.lock();
                if st.dead {
                    return;
                }
                let mut batch = Vec::new();
                if st.snapshot_due {
                    // The snapshot first, then what follows it.
                    st.snapshot_due = false;
                    st.applied = st.base;
                    batch.push(ApplyMsg::Snapshot {
                        index: st.base,
                        term: st.log[0].term.0,
                        data: st.snapshot.clone(),
                    });
                }
                let from = st.applied + 1;
                let to = st.commit.min(st.last_index());
                st.applied = st.applied.max(to);
                batch.extend((from..=to).map(|index| ApplyMsg::Command {
                    index,
                    term: st.log[st.pos(index)].term.0,
                    command: st.log[st.pos(index)].command.clone(),
                }));
                if self.bugs.resumes_after_restart && !batch.is_empty() {
                    self.persist(&st);
                }
                batch
            };
            if batch.is_empty() {
                if wake.next().await.is_none() {
                    return;
                }
                continue;
            }
            for msg in batch {
                if self.apply_tx.send(msg).await.is_err() {
                    return;
                }
            }
        }
    }
}

impl<B: BugSet> Peer for FigPeer<B> {
    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: ApplySender) -> Self {
        let bugs = B::BUGS;
        let saved: Saved = labrpc::codec::decode(&persister.read_raft_state()).unwrap_or_default();
        let snapshot = persister.read_snapshot();
        let log = if saved.log.is_empty() {
            vec![LogEntry {
                term: Term(0),
                command: Vec::new(),
            }]
        } else {
            saved.log
        };
        let (apply_wake, woken) = unbounded();
        let n = peers.len();
        let inner = Arc::new(Inner {
            me,
            peers,
            persister,
            bugs,
            apply_tx,
            apply_wake,
            state: Mutex::new(State {
                term: saved.term,
                voted_for: saved.voted_for,
                log,
                base: saved.base,
                snapshot,
                snapshot_due: false,
                role: Role::Follower,
                votes: 0,
                reset_at: runtime::now(),
                timeout: Duration::ZERO,
                // The service restores the snapshot itself: applying goes on after it.
                commit: saved.base.max(saved.applied),
                applied: saved.base.max(saved.applied),
                next: vec![1; n],
                matched: vec![0; n],
                dead: false,
            }),
        });
        {
            let mut st = inner.state.lock();
            inner.reset_timer(&mut st);
        }
        drop(runtime::spawn(inner.clone().ticker()));
        drop(runtime::spawn(inner.clone().applier(woken)));
        FigPeer {
            inner,
            _bugs: PhantomData,
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
        if !self.inner.bugs.election_only {
            let inner = self.inner.clone();
            svc.handle("InstallSnapshot", move |a: InstallSnapshotArgs| {
                inner.install_snapshot(a)
            })
            .expect("a new method");
        }
        svc
    }

    fn start(&self, command: Vec<u8>) -> Option<(u64, u64)> {
        let (index, term) = {
            let mut st = self.inner.state.lock();
            if st.dead || st.role != Role::Leader || self.inner.bugs.election_only {
                return None;
            }
            let term = st.term;
            st.log.push(LogEntry {
                term: Term(term),
                command,
            });
            self.inner.persist(&st);
            (st.last_index(), term)
        };
        self.inner.clone().round(term);
        Some((index, term))
    }

    /// Discards the log through `index` (committed) and saves `snapshot` with the state.
    fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        let mut st = self.inner.state.lock();
        if self.inner.bugs.election_only || index <= st.base || index > st.commit {
            return;
        }
        let pos = st.pos(index);
        st.log.drain(..pos);
        st.log[0].command = Vec::new();
        st.base = index;
        st.snapshot = snapshot;
        self.inner.persist(&st);
    }
}
