//! The scripted peers: one peer under test on a network whose other peers the tester plays.
//!
//! [`Scripted`] starts the peer under test the way the tester does (`P::make` inside its own
//! node, its service on a server of that node, a persister the tester keeps) and registers, for
//! every other peer id, a server owned by the tester whose `"Raft"` service records each request
//! it receives and answers as that peer's script says ([`VoteScript`], [`AppendScript`]). The
//! tester also sends the peer under test requests of its own making, as if from any other peer,
//! with any term, log position, entries and commit index. Everything goes into a [`Journal`].
//!
//! The network is reliable: in sim mode every message arrives in the same virtual instant it
//! is sent, so a scenario is exact, and a seed replays it.
//!
//! ```
//! use std::time::Duration;
//! use harness::conformance::script::{grant_votes, Scripted};
//! use labrpc::runtime::{self, RunConfig};
//!
//! let outcome = runtime::run(RunConfig::sim(1), || async {
//!     // S0 under test; the tester plays S1 and S2.
//!     let s = Scripted::<raft::Raft>::with_tested(3, 0).expect("S0 starts");
//!     // S1 asks for S0's vote in term 5: S0 adopts the term and grants it.
//!     let reply = s.ask_vote(1, 5, 0, 0).await.expect("S0 answers");
//!     let after_vote = s.state();
//!     // Let S0 win its next election, and wait for its first heartbeat.
//!     s.set_all_votes(grant_votes());
//!     let mark = s.mark();
//!     let (_, _, heartbeat) = s.next_append(mark, Duration::from_secs(3)).await.expect("it leads");
//!     (reply.vote_granted, after_vote, heartbeat.term.0, s.state())
//! })
//! .expect("the run finishes");
//! assert_eq!(outcome.value, (true, Some((5, false)), 6, Some((6, true))));
//! ```

use std::sync::Arc;
use std::time::Duration;

use futures::channel::oneshot;
use futures::future::{FutureExt, Shared};
use labrpc::runtime::{self, Instant, NodeId};
use labrpc::{ClientEnd, Network, RpcError, Server, Service};
use parking_lot::Mutex;
use raftapi::{
    AppendEntriesArgs, AppendEntriesReply, ApplyMsg, InstallSnapshotArgs, InstallSnapshotReply,
    LogEntry, PeerId, Persister, RequestVoteArgs, RequestVoteReply, Term,
};

use super::journal::{Event, Journal, Message};
use crate::monitor::Monitor;
use crate::tester::{server_name, Stats, TestFailure};
use raftapi::Peer;

/// How a scripted peer answers a request.
pub enum Answer<R> {
    /// Reply at once.
    Now(R),
    /// Reply once the gate opens (the request waits, as if the reply were slow).
    After(Gate, R),
    /// Never reply (the caller waits until it gives up or the run ends).
    Never,
}

/// How a scripted peer answers the `RequestVote`s of the peer under test.
pub type VoteScript = Arc<dyn Fn(&RequestVoteArgs) -> Answer<RequestVoteReply> + Send + Sync>;

/// How a scripted peer answers the `AppendEntries` of the peer under test.
pub type AppendScript = Arc<dyn Fn(&AppendEntriesArgs) -> Answer<AppendEntriesReply> + Send + Sync>;

/// How a scripted peer answers the `InstallSnapshot`s of the peer under test.
pub type SnapshotScript =
    Arc<dyn Fn(&InstallSnapshotArgs) -> Answer<InstallSnapshotReply> + Send + Sync>;

/// Deny every vote, replying in the candidate's term (a peer that already voted).
pub fn deny_votes() -> VoteScript {
    Arc::new(|args| {
        Answer::Now(RequestVoteReply {
            term: args.term,
            vote_granted: false,
            ..Default::default()
        })
    })
}

/// Grant every vote, replying in the candidate's term.
pub fn grant_votes() -> VoteScript {
    Arc::new(|args| {
        Answer::Now(RequestVoteReply {
            term: args.term,
            vote_granted: true,
            ..Default::default()
        })
    })
}

/// Take every snapshot, replying in the leader's term.
pub fn accept_snapshots() -> SnapshotScript {
    Arc::new(|args| {
        Answer::Now(InstallSnapshotReply {
            term: args.term,
            ..Default::default()
        })
    })
}

/// Accept every `AppendEntries`, replying in the leader's term.
pub fn accept_appends() -> AppendScript {
    Arc::new(|args| Answer::Now(success_reply(args.term.0)))
}

/// A successful `AppendEntries` reply in `term`.
pub fn success_reply(term: u64) -> AppendEntriesReply {
    AppendEntriesReply {
        term: Term(term),
        success: true,
        conflict_term: None,
        conflict_index: 0,
        ..Default::default()
    }
}

/// A gate that held answers wait on until the tester opens it. Cheap to clone.
#[derive(Clone)]
pub struct Gate {
    opener: Arc<Mutex<Option<oneshot::Sender<()>>>>,
    opened: Shared<oneshot::Receiver<()>>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("open", &self.opener.lock().is_none())
            .finish()
    }
}

impl Default for Gate {
    fn default() -> Self {
        Gate::new()
    }
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Gate {
        let (tx, rx) = oneshot::channel();
        Gate {
            opener: Arc::new(Mutex::new(Some(tx))),
            opened: rx.shared(),
        }
    }

    /// Opens the gate: every answer waiting on it goes out.
    pub fn open(&self) {
        if let Some(tx) = self.opener.lock().take() {
            let _ = tx.send(());
        }
    }

    /// Waits until the gate is open.
    pub async fn wait(&self) {
        // Either the gate was opened or every opener is gone: both mean go.
        let _ = self.opened.clone().await;
    }
}

/// Snapshots by their bytes, with the index each is through.
type KnownSnapshots = Vec<(Vec<u8>, u64)>;

/// The scripts of every scripted peer, indexed by peer id.
struct Scripts {
    votes: Vec<VoteScript>,
    appends: Vec<AppendScript>,
    snapshots: Vec<SnapshotScript>,
}

/// One peer under test among peers played by the tester. See the module documentation.
pub struct Scripted<P: Peer> {
    net: Network,
    n: usize,
    me: usize,
    peer: Option<Arc<P>>,
    node: NodeId,
    saved: Persister,
    generation: u64,
    /// The names of the peer's ends to every peer (its own included).
    ends: Vec<String>,
    /// The tester's end, per scripted peer j, to the peer under test (`None` at `me`).
    to_me: Vec<Option<(String, ClientEnd)>>,
    journal: Journal,
    scripts: Arc<Mutex<Scripts>>,
    /// The safety monitor, on the peer under test only (the tester's own requests follow a
    /// script). It does not end the trial: the scenario's own checks name the rule of Figure 2
    /// first, and [`finish`](Self::finish) fails a scenario that passed them but broke a rule
    /// of the monitor's.
    monitor: Arc<Monitor>,
    /// Every snapshot the tester made or sent, by its bytes: what a restarted peer's service
    /// holds when the peer's persister holds those bytes.
    snapshots: Mutex<KnownSnapshots>,
    t0: Instant,
    rpcs0: u64,
    bytes0: u64,
}

impl<P: Peer> Scripted<P> {
    /// `n` peers, of which the one under test is drawn from the seed; the others deny every
    /// vote and accept every `AppendEntries` until told otherwise. Starts the peer under test.
    ///
    /// # Errors
    /// When the peer's service cannot be registered (see [`start`](Self::start)).
    pub fn new(n: usize) -> Result<Self, TestFailure> {
        let me = runtime::random_range(0..n as u64) as usize;
        Self::with_tested(n, me)
    }

    /// `n` peers with peer `me` under test.
    ///
    /// # Errors
    /// When the peer's service cannot be registered (see [`start`](Self::start)).
    ///
    /// # Panics
    /// Panics when `me >= n` or `n < 2`.
    pub fn with_tested(n: usize, me: usize) -> Result<Self, TestFailure> {
        assert!(
            n >= 2 && me < n,
            "Scripted: peer {me} of {n} cannot be tested"
        );
        let net = Network::new();
        net.set_reliable(true);
        net.set_long_delays(false);
        let monitor = Monitor::observe_deferred(&net, n);
        let journal = Journal::new();
        journal.watched_by(monitor.clone());
        let scripts = Arc::new(Mutex::new(Scripts {
            votes: vec![deny_votes(); n],
            appends: vec![accept_appends(); n],
            snapshots: vec![accept_snapshots(); n],
        }));
        let mut to_me = Vec::with_capacity(n);
        for j in 0..n {
            if j == me {
                to_me.push(None);
                continue;
            }
            let server = Server::on_node(NodeId::ROOT);
            server
                .add_service(scripted_service(j, me, &journal, &scripts))
                .map_err(|e| TestFailure::new(format!("scripted peer S{j}: {e}")))?;
            net.add_server(server_name(j), server);
            let name = format!("tester-as-{j}-to-{me}");
            let end = net
                .make_end(name.clone())
                .map_err(|e| TestFailure::new(format!("tester end {name}: {e}")))?;
            net.connect(&name, server_name(me))
                .map_err(|e| TestFailure::new(format!("tester end {name}: {e}")))?;
            monitor.tester_end(&end, j, me);
            to_me.push(Some((name, end)));
        }
        let mut s = Scripted {
            net,
            n,
            me,
            peer: None,
            node: NodeId::ROOT,
            saved: Persister::new(),
            generation: 0,
            ends: Vec::new(),
            to_me,
            journal,
            scripts,
            monitor,
            snapshots: Mutex::new(Vec::new()),
            t0: runtime::now(),
            rpcs0: 0,
            bytes0: 0,
        };
        s.start()?;
        Ok(s)
    }

    /// The id of the peer under test.
    pub fn me(&self) -> usize {
        self.me
    }

    /// The number of peers, the one under test included.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The ids of the peers the tester plays.
    pub fn others(&self) -> Vec<usize> {
        (0..self.n).filter(|&j| j != self.me).collect()
    }

    /// A scripted peer drawn from the seed, other than those in `not`.
    ///
    /// # Panics
    /// Panics when `not` leaves no scripted peer.
    pub fn pick_other(&self, not: &[usize]) -> usize {
        let choice: Vec<usize> = self
            .others()
            .into_iter()
            .filter(|j| !not.contains(j))
            .collect();
        assert!(!choice.is_empty(), "no scripted peer left to pick");
        choice[runtime::random_range(0..choice.len() as u64) as usize]
    }

    /// The journal of the run.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// A mark in the journal: search from here for what happens next.
    pub fn mark(&self) -> usize {
        self.journal.len()
    }

    /// The network (for its counters).
    pub fn net(&self) -> &Network {
        &self.net
    }

    /// The persister of the peer under test (the one it writes to now).
    pub fn persister(&self) -> &Persister {
        &self.saved
    }

    /// Records a tester action in the journal and the log.
    pub fn note(&self, what: impl Into<String>) {
        self.journal.note(what);
    }

    /// Starts a test: logs its title, records the counters.
    pub fn begin(&mut self, title: &str) {
        self.note(format!(
            "begin: {title} (S{} under test; S{} played by the tester)",
            self.me,
            self.others()
                .iter()
                .map(|j| j.to_string())
                .collect::<Vec<_>>()
                .join(", S")
        ));
        self.t0 = runtime::now();
        self.rpcs0 = self.net.total_count();
        self.bytes0 = self.net.total_bytes();
    }

    /// The figures since [`begin`](Self::begin).
    pub fn stats(&self) -> Stats {
        Stats {
            elapsed: self.t0.elapsed(),
            peers: self.n,
            rpcs: self.net.total_count() - self.rpcs0,
            bytes: self.net.total_bytes() - self.bytes0,
            commands: 0,
        }
    }

    /// `(term, is_leader)` of the peer under test, or `None` while it is crashed.
    pub fn state(&self) -> Option<(u64, bool)> {
        self.peer.as_ref().map(|p| p.get_state())
    }

    /// The peer under test, while it runs (to call `start` on it, say).
    pub fn peer(&self) -> Option<&Arc<P>> {
        self.peer.as_ref()
    }

    /// Sets how scripted peer `j` answers `RequestVote`.
    pub fn set_votes(&self, j: usize, script: VoteScript) {
        self.scripts.lock().votes[j] = script;
    }

    /// Sets how every scripted peer answers `RequestVote`.
    pub fn set_all_votes(&self, script: VoteScript) {
        let mut scripts = self.scripts.lock();
        for j in self.others() {
            scripts.votes[j] = script.clone();
        }
    }

    /// Sets how scripted peer `j` answers `AppendEntries`.
    pub fn set_appends(&self, j: usize, script: AppendScript) {
        self.scripts.lock().appends[j] = script;
    }

    /// Sets how every scripted peer answers `AppendEntries`.
    pub fn set_all_appends(&self, script: AppendScript) {
        let mut scripts = self.scripts.lock();
        for j in self.others() {
            scripts.appends[j] = script.clone();
        }
    }

    /// Sets how scripted peer `j` answers `InstallSnapshot`.
    pub fn set_snapshots(&self, j: usize, script: SnapshotScript) {
        self.scripts.lock().snapshots[j] = script;
    }

    /// The service of the peer under test makes a snapshot of its state through `index` (Go
    /// `Snapshot`, as the tester's applier calls it): calls the peer's `snapshot(index, data)`,
    /// and remembers `data` as the snapshot through `index` (for the monitor, and for a
    /// restart from it).
    pub fn service_snapshot(&self, index: u64, data: Vec<u8>) {
        self.note(format!(
            "the service of S{} snapshots through index {index} ({} bytes)",
            self.me,
            data.len()
        ));
        self.remember_snapshot(index, &data);
        if let Some(peer) = &self.peer {
            peer.snapshot(index, data);
        }
    }

    fn remember_snapshot(&self, index: u64, data: &[u8]) {
        self.monitor.snapshot_made(index, data);
        let mut known = self.snapshots.lock();
        if !known.iter().any(|(d, _)| d == data) {
            known.push((data.to_vec(), index));
        }
    }

    /// Ends a scenario whose checks all passed: its figures, or the first violation of the
    /// safety monitor's rules, with the exchange.
    ///
    /// # Errors
    /// When the monitor saw the peer under test break one of its rules.
    pub fn finish(&self) -> Result<Stats, TestFailure> {
        match self.monitor.violation() {
            None => Ok(self.stats()),
            Some(v) => Err(TestFailure {
                message: format!(
                    "{v}\nthe exchange (run time; S{} is the peer under test, the others are \
                     played by the tester):\n{}",
                    self.me,
                    self.journal.exchange()
                ),
                at: v.at,
            }),
        }
    }

    /// Starts the peer under test (Go `start1`): fresh ends, a copy of its persisted state, a
    /// new node, an applier that records what it applies, and its server. Crashes it first if
    /// it runs. It is connected at once.
    ///
    /// # Errors
    /// When the peer's service cannot be registered on its server.
    pub fn start(&mut self) -> Result<(), TestFailure> {
        if self.peer.is_some() {
            self.crash();
        }
        let me = self.me;
        self.note(format!("start S{me}"));
        self.generation += 1;
        let mut ends = Vec::with_capacity(self.n);
        let mut names = Vec::with_capacity(self.n);
        for j in 0..self.n {
            let name = format!("end-{me}-to-{j}-gen{}", self.generation);
            let end = self
                .net
                .make_end(name.clone())
                .map_err(|e| TestFailure::new(format!("end {name}: {e}")))?;
            self.net
                .connect(&name, server_name(j))
                .map_err(|e| TestFailure::new(format!("end {name}: {e}")))?;
            ends.push(end);
            names.push(name);
        }
        self.ends = names;
        let persister = self.saved.copy();
        self.saved = persister.clone();
        // The service restores the saved snapshot (Go start1): applying goes on after it.
        let saved_snapshot = persister.read_snapshot();
        let restored = self
            .snapshots
            .lock()
            .iter()
            .find(|(d, _)| *d == saved_snapshot)
            .map_or(0, |&(_, index)| index);
        let node = runtime::new_node();
        self.node = node;
        let life = self.monitor.peer_started(me, node, &ends, restored);
        let (tx, mut rx) = raftapi::apply_channel();
        let peer = runtime::enter_node(node, || P::make(ends, me, persister, tx));
        let server = Server::on_node(node);
        let registered = server.add_service(peer.service());
        self.net.add_server(server_name(me), server);
        self.peer = Some(Arc::new(peer));
        let journal = self.journal.clone();
        let monitor = self.monitor.clone();
        // The applier belongs to the tester: it ends when the peer's sender is dropped.
        drop(runtime::spawn_on(NodeId::ROOT, async move {
            while let Some(msg) = rx.recv().await {
                monitor.applied(me, life, &msg);
                journal.record(Event::Applied { peer: me, msg });
            }
        }));
        self.connect();
        registered.map_err(|e| {
            TestFailure::new(format!(
                "S{me}: its service cannot be registered on its server: {e}"
            ))
        })
    }

    /// Crashes the peer under test (Go `crash1`): disconnects it, deletes its server so calls
    /// in flight fail, keeps a copy of its persisted state, kills it and every task of its node.
    pub fn crash(&mut self) {
        let me = self.me;
        self.note(format!("crash S{me}"));
        self.monitor.peer_crashed(me);
        self.disconnect();
        self.net.delete_server(&server_name(me));
        // The old instance keeps writing to the old persister; the saved one is a copy.
        self.saved = self.saved.copy();
        if let Some(peer) = self.peer.take() {
            peer.kill();
        }
        runtime::kill_node(self.node);
    }

    /// Restarts the peer under test from what it persisted: [`crash`](Self::crash), then
    /// [`start`](Self::start).
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn restart(&mut self) -> Result<(), TestFailure> {
        self.crash();
        self.start()
    }

    /// Enables the ends between the peer under test and every scripted peer.
    pub fn connect(&self) {
        self.set_links(true);
    }

    /// Disables the ends between the peer under test and every scripted peer.
    pub fn disconnect(&self) {
        self.set_links(false);
    }

    fn set_links(&self, on: bool) {
        // The ends exist (made in `start` and `with_tested`) and are never deleted.
        for name in &self.ends {
            let _ = self.net.enable(name, on);
        }
        for (name, _) in self.to_me.iter().flatten() {
            let _ = self.net.enable(name, on);
        }
    }

    fn end_from(&self, from: usize) -> &ClientEnd {
        match &self.to_me[from] {
            Some((_, end)) => end,
            None => panic!("S{from} is the peer under test; the tester cannot send as it"),
        }
    }

    async fn call<A, R>(
        &self,
        from: usize,
        method: &'static str,
        args: A,
        request: fn(A) -> Message,
        reply: fn(R) -> Message,
    ) -> Result<R, TestFailure>
    where
        A: serde::Serialize + Clone,
        R: serde::de::DeserializeOwned + Clone + Send + 'static,
    {
        let me = self.me;
        let end = self.end_from(from);
        self.journal.record(Event::Message {
            from,
            to: me,
            message: request(args.clone()),
        });
        match end.call::<A, R>(&format!("Raft.{method}"), &args).await {
            Ok(r) => {
                self.journal.record(Event::Message {
                    from: me,
                    to: from,
                    message: reply(r.clone()),
                });
                Ok(r)
            }
            Err(e) => {
                self.journal.record(Event::NoReply {
                    from,
                    to: me,
                    method,
                    error: e.to_string(),
                });
                Err(no_reply(me, from, method, &e, &self.journal))
            }
        }
    }

    /// Sends `args` to the peer under test as `RequestVote` from scripted peer `from`, and
    /// returns the reply.
    ///
    /// # Errors
    /// When no reply comes: on this reliable network, the peer's handler is missing, refused
    /// the arguments or panicked, or the peer is crashed.
    pub async fn request_vote(
        &self,
        from: usize,
        args: RequestVoteArgs,
    ) -> Result<RequestVoteReply, TestFailure> {
        self.call(
            from,
            "RequestVote",
            args,
            Message::RequestVote,
            Message::RequestVoteReply,
        )
        .await
    }

    /// Sends `args` to the peer under test as `AppendEntries` from scripted peer `from`, and
    /// returns the reply.
    ///
    /// # Errors
    /// As [`request_vote`](Self::request_vote).
    pub async fn append_entries(
        &self,
        from: usize,
        args: AppendEntriesArgs,
    ) -> Result<AppendEntriesReply, TestFailure> {
        self.call(
            from,
            "AppendEntries",
            args,
            Message::AppendEntries,
            Message::AppendEntriesReply,
        )
        .await
    }

    /// Asks the peer under test for its vote as candidate `from` in `term`, with a log whose
    /// last entry has `last_log_index` and `last_log_term`.
    ///
    /// # Errors
    /// As [`request_vote`](Self::request_vote).
    pub async fn ask_vote(
        &self,
        from: usize,
        term: u64,
        last_log_index: u64,
        last_log_term: u64,
    ) -> Result<RequestVoteReply, TestFailure> {
        let args = RequestVoteArgs {
            term: Term(term),
            candidate_id: PeerId(from),
            last_log_index,
            last_log_term: Term(last_log_term),
            ..Default::default()
        };
        self.request_vote(from, args).await
    }

    /// Sends the peer under test a heartbeat from leader `from` of `term`: no entries, after
    /// index 0, with commit index 0 (valid for any log).
    ///
    /// # Errors
    /// As [`request_vote`](Self::request_vote).
    pub async fn heartbeat(
        &self,
        from: usize,
        term: u64,
    ) -> Result<AppendEntriesReply, TestFailure> {
        self.send_entries(from, term, 0, 0, Vec::new(), 0).await
    }

    /// Sends the peer under test `AppendEntries` from leader `from` of `term` with `entries`
    /// after `prev_log_index` (of `prev_log_term`) and commit index `leader_commit`.
    ///
    /// # Errors
    /// As [`request_vote`](Self::request_vote).
    pub async fn send_entries(
        &self,
        from: usize,
        term: u64,
        prev_log_index: u64,
        prev_log_term: u64,
        entries: Vec<LogEntry>,
        leader_commit: u64,
    ) -> Result<AppendEntriesReply, TestFailure> {
        let args = AppendEntriesArgs {
            term: Term(term),
            leader_id: PeerId(from),
            prev_log_index,
            prev_log_term: Term(prev_log_term),
            entries,
            leader_commit,
            ..Default::default()
        };
        self.append_entries(from, args).await
    }

    /// Sends `args` to the peer under test as `InstallSnapshot` from scripted peer `from`, and
    /// returns the reply.
    ///
    /// # Errors
    /// As [`request_vote`](Self::request_vote).
    pub async fn install_snapshot(
        &self,
        from: usize,
        args: InstallSnapshotArgs,
    ) -> Result<InstallSnapshotReply, TestFailure> {
        // A snapshot the tester plays the service of: the peer may send it on as leader.
        self.remember_snapshot(args.last_included_index, &args.data);
        self.call(
            from,
            "InstallSnapshot",
            args,
            Message::InstallSnapshot,
            Message::InstallSnapshotReply,
        )
        .await
    }

    /// What the peer under test applied after journal mark `from`, in order.
    pub fn applied_since(&self, from: usize) -> Vec<ApplyMsg> {
        let me = self.me;
        self.journal
            .records_since(from)
            .into_iter()
            .filter_map(|r| match r.event {
                Event::Applied { peer, msg } if peer == me => Some(msg),
                _ => None,
            })
            .collect()
    }

    /// Waits up to `limit` until the peer under test has applied, after journal mark `from`, a
    /// message that `f` picks; returns its journal index and what `f` returned.
    pub async fn next_applied<T>(
        &self,
        from: usize,
        limit: Duration,
        mut f: impl FnMut(&ApplyMsg) -> Option<T>,
    ) -> Option<(usize, T)> {
        let me = self.me;
        self.journal
            .wait_for(from, limit, |r| match &r.event {
                Event::Applied { peer, msg } if *peer == me => f(msg),
                _ => None,
            })
            .await
    }

    /// Waits up to `limit` for the next message the peer under test sends (after journal mark
    /// `from`) that `f` picks; returns the journal index, the run time and what `f` returned.
    pub async fn next_sent<T>(
        &self,
        from: usize,
        limit: Duration,
        mut f: impl FnMut(usize, &Message) -> Option<T>,
    ) -> Option<(usize, Duration, T)> {
        let me = self.me;
        self.journal
            .wait_for(from, limit, |r| {
                let (to, m) = r.sent_by(me)?;
                f(to, m).map(|t| (r.at, t))
            })
            .await
            .map(|(i, (at, t))| (i, at, t))
    }

    /// The highest term of the messages the peer under test sent before journal mark `upto`
    /// that `pick` picks (0 if none).
    fn highest_sent(&self, upto: usize, pick: impl Fn(&Message) -> bool) -> u64 {
        let me = self.me;
        self.journal
            .records_since(0)
            .iter()
            .take(upto)
            .filter_map(|r| r.sent_by(me))
            .filter(|(_, m)| pick(m))
            .map(|(_, m)| m.term())
            .max()
            .unwrap_or(0)
    }

    /// Waits up to `limit` for the peer under test to start an election after journal mark
    /// `from`: the first `RequestVote` it sends of a term above that of every `RequestVote` it
    /// sent before the mark. (The requests of one election reach the scripted peers one by
    /// one, possibly on both sides of a mark.)
    pub async fn next_election(
        &self,
        from: usize,
        limit: Duration,
    ) -> Option<(usize, Duration, RequestVoteArgs)> {
        let floor = self.highest_sent(from, |m| matches!(m, Message::RequestVote(_)));
        self.next_sent(from, limit, |_, m| match m {
            Message::RequestVote(a) if a.term.0 > floor => Some(a.clone()),
            _ => None,
        })
        .await
    }

    /// Waits up to `limit` until every scripted peer has received the peer's `RequestVote` of
    /// `term` (searching from journal mark `from`); returns the peers still not asked.
    pub async fn asked_everyone(&self, from: usize, term: u64, limit: Duration) -> Vec<usize> {
        let me = self.me;
        let mut asked = vec![false; self.n];
        asked[me] = true;
        let done = self
            .journal
            .wait_for(from, limit, |r| {
                if let Some((to, Message::RequestVote(a))) = r.sent_by(me) {
                    if a.term.0 == term {
                        asked[to] = true;
                    }
                }
                asked.iter().all(|&x| x).then_some(())
            })
            .await;
        if done.is_some() {
            return Vec::new();
        }
        // `wait_for` saw every record; ask again from the start to list the missing peers.
        let mut missing = Vec::new();
        for j in self.others() {
            let found = self.journal.find(from, |r| match r.sent_by(me) {
                Some((to, Message::RequestVote(a))) if to == j && a.term.0 == term => Some(()),
                _ => None,
            });
            if found.is_none() {
                missing.push(j);
            }
        }
        missing
    }

    /// Waits up to `limit` for the next `AppendEntries` the peer under test sends after journal
    /// mark `from`.
    pub async fn next_append(
        &self,
        from: usize,
        limit: Duration,
    ) -> Option<(usize, Duration, AppendEntriesArgs)> {
        self.next_sent(from, limit, |_, m| match m {
            Message::AppendEntries(a) => Some(a.clone()),
            _ => None,
        })
        .await
    }

    /// Ends the run: kills the peer under test and closes the network.
    pub fn cleanup(&mut self) {
        if let Some(peer) = self.peer.take() {
            peer.kill();
        }
        runtime::kill_node(self.node);
        self.net.cleanup();
    }
}

impl<P: Peer> Drop for Scripted<P> {
    fn drop(&mut self) {
        // Never panics: outside a runtime (the run already ended) there is nothing to kill.
        if runtime::in_runtime() {
            self.cleanup();
        }
    }
}

/// The failure of a call to the peer under test that got no reply.
fn no_reply(
    me: usize,
    from: usize,
    method: &str,
    err: &RpcError,
    journal: &Journal,
) -> TestFailure {
    TestFailure::new(format!(
        "S{me} gave no reply to S{from}'s {method} on a reliable network: {err}\n\
         the exchange (run time; S{me} is the peer under test, the others are played by the \
         tester):\n{}",
        journal.transcript()
    ))
}

/// The `"Raft"` service of scripted peer `j`: records each request from the peer under test
/// (`me`) and answers as `j`'s script says, recording the answer when it goes out.
fn scripted_service(
    j: usize,
    me: usize,
    journal: &Journal,
    scripts: &Arc<Mutex<Scripts>>,
) -> Service {
    // The names are constants, so registering cannot fail.
    let mut svc = Service::new("Raft").expect("\"Raft\" is a valid service name");
    let (jr, sc) = (journal.clone(), scripts.clone());
    svc.handle_async("RequestVote", move |args: RequestVoteArgs| {
        jr.record(Event::Message {
            from: me,
            to: j,
            message: Message::RequestVote(args.clone()),
        });
        let script = sc.lock().votes[j].clone();
        answer(jr.clone(), me, j, script(&args), Message::RequestVoteReply)
    })
    .expect("RequestVote is a new method");
    let (jr, sc) = (journal.clone(), scripts.clone());
    svc.handle_async("AppendEntries", move |args: AppendEntriesArgs| {
        jr.record(Event::Message {
            from: me,
            to: j,
            message: Message::AppendEntries(args.clone()),
        });
        let script = sc.lock().appends[j].clone();
        answer(
            jr.clone(),
            me,
            j,
            script(&args),
            Message::AppendEntriesReply,
        )
    })
    .expect("AppendEntries is a new method");
    let (jr, sc) = (journal.clone(), scripts.clone());
    svc.handle_async("InstallSnapshot", move |args: InstallSnapshotArgs| {
        jr.record(Event::Message {
            from: me,
            to: j,
            message: Message::InstallSnapshot(args.clone()),
        });
        let script = sc.lock().snapshots[j].clone();
        answer(
            jr.clone(),
            me,
            j,
            script(&args),
            Message::InstallSnapshotReply,
        )
    })
    .expect("InstallSnapshot is a new method");
    svc
}

/// Gives `answer` (recording it as it goes out) from scripted peer `j` to `me`.
async fn answer<R: Clone>(
    journal: Journal,
    me: usize,
    j: usize,
    answer: Answer<R>,
    as_message: fn(R) -> Message,
) -> R {
    let reply = match answer {
        Answer::Now(r) => r,
        Answer::After(gate, r) => {
            gate.wait().await;
            r
        }
        Answer::Never => std::future::pending().await,
    };
    journal.record(Event::Message {
        from: j,
        to: me,
        message: as_message(reply.clone()),
    });
    reply
}
