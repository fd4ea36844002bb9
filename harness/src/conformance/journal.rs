//! The journal of a conformance run: every message between the peer under test and the
//! tester's scripted peers, with its run time and decoded contents, what the tester did (crash,
//! restart), and what the peer applied. Graders wait on it ("the next `RequestVote` the peer
//! sends") and print it when a rule breaks.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::channel::oneshot;
use labrpc::runtime;
use parking_lot::Mutex;

use crate::monitor::Monitor;
use raftapi::{
    AppendEntriesArgs, AppendEntriesReply, ApplyMsg, InstallSnapshotArgs, InstallSnapshotReply,
    LogEntry, RequestVoteArgs, RequestVoteReply,
};

/// Lines of the exchange shown in a failure (after runs of repeated lines are folded).
const TRANSCRIPT_LINES: usize = 48;
/// A block of lines repeated at least this often in a row is shown once with a count.
const FOLD_AT: usize = 3;

/// One RPC message: a request or a reply, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A candidate asks for a vote.
    RequestVote(RequestVoteArgs),
    /// A voter answers.
    RequestVoteReply(RequestVoteReply),
    /// A leader sends entries or a heartbeat.
    AppendEntries(AppendEntriesArgs),
    /// A follower answers.
    AppendEntriesReply(AppendEntriesReply),
    /// A leader sends its snapshot.
    InstallSnapshot(InstallSnapshotArgs),
    /// A follower answers it.
    InstallSnapshotReply(InstallSnapshotReply),
}

impl Message {
    /// The term the message carries.
    pub fn term(&self) -> u64 {
        match self {
            Message::RequestVote(a) => a.term.0,
            Message::RequestVoteReply(r) => r.term.0,
            Message::AppendEntries(a) => a.term.0,
            Message::AppendEntriesReply(r) => r.term.0,
            Message::InstallSnapshot(a) => a.term.0,
            Message::InstallSnapshotReply(r) => r.term.0,
        }
    }

    /// Whether it is a request (not a reply).
    pub fn is_request(&self) -> bool {
        matches!(
            self,
            Message::RequestVote(_) | Message::AppendEntries(_) | Message::InstallSnapshot(_)
        )
    }
}

/// `[1:T2 2:T2 3:T3]`: each entry's index and term (commands left out).
fn entries_text(prev_index: u64, entries: &[LogEntry]) -> String {
    let shown: Vec<String> = entries
        .iter()
        .enumerate()
        .map(|(k, e)| format!("{}:T{}", prev_index + 1 + k as u64, e.term))
        .collect();
    format!("[{}]", shown.join(" "))
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::RequestVote(a) => write!(
                f,
                "RequestVote term={} candidate_id={} last_log_index={} last_log_term={}",
                a.term, a.candidate_id, a.last_log_index, a.last_log_term
            ),
            Message::RequestVoteReply(r) => write!(
                f,
                "RequestVote reply term={} vote_granted={}",
                r.term, r.vote_granted
            ),
            Message::AppendEntries(a) => write!(
                f,
                "AppendEntries term={} leader_id={} prev_log_index={} prev_log_term={} \
                 entries={} leader_commit={}",
                a.term,
                a.leader_id,
                a.prev_log_index,
                a.prev_log_term,
                entries_text(a.prev_log_index, &a.entries),
                a.leader_commit
            ),
            Message::AppendEntriesReply(r) => {
                write!(
                    f,
                    "AppendEntries reply term={} success={}",
                    r.term, r.success
                )?;
                if !r.success {
                    write!(
                        f,
                        " conflict_term={:?} conflict_index={}",
                        r.conflict_term.map(|t| t.0),
                        r.conflict_index
                    )?;
                }
                Ok(())
            }
            Message::InstallSnapshot(a) => write!(
                f,
                "InstallSnapshot term={} leader_id={} last_included_index={} \
                 last_included_term={} data={} bytes",
                a.term,
                a.leader_id,
                a.last_included_index,
                a.last_included_term,
                a.data.len()
            ),
            Message::InstallSnapshotReply(r) => write!(f, "InstallSnapshot reply term={}", r.term),
        }
    }
}

/// Something that happened in a conformance run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A message from peer `from` to peer `to` (one of them is the peer under test).
    Message {
        /// The sender.
        from: usize,
        /// The receiver.
        to: usize,
        /// What was sent.
        message: Message,
    },
    /// A call got no reply.
    NoReply {
        /// The caller.
        from: usize,
        /// The peer called.
        to: usize,
        /// `"RequestVote"` or `"AppendEntries"`.
        method: &'static str,
        /// Why, as the network said.
        error: String,
    },
    /// The peer under test applied a message (sent it on its apply channel).
    Applied {
        /// The peer.
        peer: usize,
        /// What it applied.
        msg: ApplyMsg,
    },
    /// Something the tester did (start, crash, restart, a change of script).
    Tester(String),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Message { from, to, message } => write!(f, "S{from} -> S{to}  {message}"),
            Event::NoReply {
                from,
                to,
                method,
                error,
            } => write!(f, "S{from} -> S{to}  {method}: no reply ({error})"),
            Event::Applied { peer, msg } => match msg {
                ApplyMsg::Command { index, term, .. } => {
                    write!(
                        f,
                        "S{peer} applied the command at index {index} (term {term})"
                    )
                }
                ApplyMsg::Snapshot { index, term, .. } => {
                    write!(
                        f,
                        "S{peer} applied a snapshot through index {index} (term {term})"
                    )
                }
            },
            Event::Tester(what) => write!(f, "tester: {what}"),
        }
    }
}

/// An event and when it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Run time (virtual in sim mode), as in the log.
    pub at: Duration,
    /// What happened.
    pub event: Event,
}

impl Record {
    /// The message, if the event is one sent by `peer`.
    pub fn sent_by(&self, peer: usize) -> Option<(usize, &Message)> {
        match &self.event {
            Event::Message { from, to, message } if *from == peer => Some((*to, message)),
            _ => None,
        }
    }
}

#[derive(Default)]
struct Inner {
    records: Vec<Record>,
    /// Woken (and removed) at every new record.
    waiters: Vec<oneshot::Sender<()>>,
    /// The safety monitor of the run, whose first violation the transcript shows.
    monitor: Option<Arc<Monitor>>,
}

/// The journal: records in the order they happened. Cheap to clone; clones share it.
#[derive(Clone, Default)]
pub struct Journal {
    inner: Arc<Mutex<Inner>>,
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal").field("len", &self.len()).finish()
    }
}

impl Journal {
    /// An empty journal.
    pub fn new() -> Journal {
        Journal::default()
    }

    /// Records `event` now, logs it (target `tester`), and wakes whoever waits for events.
    pub fn record(&self, event: Event) {
        let at = runtime::now().since_start();
        match &event {
            Event::Message { from, message, .. } => tracing::debug!(
                target: "tester",
                peer = *from as u64,
                term = message.term(),
                topic = "script",
                "{event}"
            ),
            Event::NoReply { from, .. } => tracing::debug!(
                target: "tester",
                peer = *from as u64,
                topic = "script",
                "{event}"
            ),
            Event::Applied { peer, .. } => tracing::debug!(
                target: "tester",
                peer = *peer as u64,
                topic = "script",
                "{event}"
            ),
            Event::Tester(_) => tracing::info!(target: "tester", topic = "test", "{event}"),
        }
        let waiters = {
            let mut inner = self.inner.lock();
            inner.records.push(Record { at, event });
            std::mem::take(&mut inner.waiters)
        };
        for w in waiters {
            let _ = w.send(());
        }
    }

    /// Shows `monitor`'s first violation, if it finds one, at the end of every
    /// [`transcript`](Self::transcript): a failure of the scenario's own checks then also says
    /// what the safety monitor saw.
    pub fn watched_by(&self, monitor: Arc<Monitor>) {
        self.inner.lock().monitor = Some(monitor);
    }

    /// Records what the tester did.
    pub fn note(&self, what: impl Into<String>) {
        self.record(Event::Tester(what.into()));
    }

    /// How many records there are: a mark to search from later.
    pub fn len(&self) -> usize {
        self.inner.lock().records.len()
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the records from index `from` on.
    pub fn records_since(&self, from: usize) -> Vec<Record> {
        let inner = self.inner.lock();
        inner.records.get(from..).unwrap_or_default().to_vec()
    }

    /// The first record at index `from` or later for which `f` says `Some`, with its index.
    pub fn find<T>(
        &self,
        from: usize,
        mut f: impl FnMut(&Record) -> Option<T>,
    ) -> Option<(usize, T)> {
        let inner = self.inner.lock();
        let records = inner.records.get(from..)?;
        records
            .iter()
            .enumerate()
            .find_map(|(k, r)| f(r).map(|t| (from + k, t)))
    }

    /// Waits until a record at index `from` or later makes `f` say `Some` (returning it with
    /// its index), or until `limit` has passed (`None`). Wakes on new records, never polls.
    pub async fn wait_for<T>(
        &self,
        from: usize,
        limit: Duration,
        mut f: impl FnMut(&Record) -> Option<T>,
    ) -> Option<(usize, T)> {
        let deadline = runtime::now() + limit;
        let mut scanned = from;
        loop {
            let woken = {
                let mut inner = self.inner.lock();
                let len = inner.records.len();
                if let Some(found) = inner
                    .records
                    .get(scanned..)
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                    .find_map(|(k, r)| f(r).map(|t| (scanned + k, t)))
                {
                    return Some(found);
                }
                scanned = len.max(scanned);
                let (tx, rx) = oneshot::channel();
                inner.waiters.push(tx);
                rx
            };
            let now = runtime::now();
            if now >= deadline {
                return None;
            }
            if runtime::timeout(deadline.duration_since(now), woken)
                .await
                .is_err()
            {
                // One last look: a record may have come at the deadline itself.
                return self.find(scanned, f);
            }
        }
    }

    /// The exchange so far, one line per event with its run time, runs of repeated lines (a
    /// stream of heartbeats) folded into one, and only the last lines if there are many; then
    /// the safety monitor's first violation, if the journal is [watched](Self::watched_by) and
    /// there is one.
    pub fn transcript(&self) -> String {
        let mut out = self.exchange();
        let monitor = self.inner.lock().monitor.clone();
        if let Some(v) = monitor.and_then(|m| m.violation()) {
            out.push_str("the safety monitor saw:\n");
            for line in v.to_string().lines() {
                out.push_str("  ");
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// The exchange so far, as [`transcript`](Self::transcript) shows it, without the
    /// monitor's violation.
    pub fn exchange(&self) -> String {
        let records = self.records_since(0);
        let lines: Vec<(Duration, String)> = records
            .iter()
            .map(|r| (r.at, r.event.to_string()))
            .collect();
        let folded = fold(&lines);
        let skip = folded.len().saturating_sub(TRANSCRIPT_LINES);
        let mut out = String::new();
        if skip > 0 {
            out.push_str(&format!(
                "  ... {skip} earlier lines left out (the trial's log has them all)\n"
            ));
        }
        for line in &folded[skip..] {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

fn secs(d: Duration) -> String {
    format!("{:>8.3}s", d.as_secs_f64())
}

/// Folds runs of a repeated block of one or two lines into one entry with a count.
fn fold(lines: &[(Duration, String)]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let mut folded = false;
        for period in [2, 1] {
            if i + period > lines.len() {
                continue;
            }
            let same = |k: usize| {
                (0..period).all(|p| {
                    lines
                        .get(k + p)
                        .is_some_and(|(_, text)| *text == lines[i + p].1)
                })
            };
            let mut reps = 1;
            while same(i + reps * period) {
                reps += 1;
            }
            if reps >= FOLD_AT {
                let last = i + reps * period - 1;
                let block: Vec<&str> = (0..period).map(|p| lines[i + p].1.as_str()).collect();
                out.push(format!(
                    "  {} to {}  {reps} times: {}",
                    secs(lines[i].0),
                    secs(lines[last].0).trim_start(),
                    block.join("  /  ")
                ));
                i = last + 1;
                folded = true;
                break;
            }
        }
        if !folded {
            out.push(format!("  {}  {}", secs(lines[i].0), lines[i].1));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64, text: &str) -> (Duration, String) {
        (Duration::from_millis(ms), text.to_string())
    }

    #[test]
    fn repeated_pairs_fold_into_one_line() {
        let mut lines = vec![at(0, "start")];
        for k in 0..5 {
            lines.push(at(100 * k, "hb"));
            lines.push(at(100 * k, "ok"));
        }
        lines.push(at(900, "vote"));
        let out = fold(&lines);
        assert_eq!(out.len(), 3, "{out:#?}");
        assert!(out[1].contains("5 times: hb  /  ok"), "{}", out[1]);
        assert!(out[2].ends_with("vote"));
    }

    #[test]
    fn short_runs_stay_as_they_are() {
        let lines = vec![at(0, "a"), at(1, "a"), at(2, "b")];
        assert_eq!(fold(&lines).len(), 3);
    }

    #[test]
    fn waiting_wakes_on_a_new_record_and_gives_up_at_the_limit() {
        let outcome = runtime::run(runtime::RunConfig::sim(3), || async {
            let journal = Journal::new();
            let writer = journal.clone();
            drop(runtime::spawn(async move {
                runtime::sleep(Duration::from_millis(300)).await;
                writer.note("late");
            }));
            let found = journal
                .wait_for(0, Duration::from_secs(1), |r| {
                    matches!(r.event, Event::Tester(_)).then_some(r.at)
                })
                .await;
            let none = journal
                .wait_for(1, Duration::from_millis(200), |_| Some(()))
                .await;
            (found, none, runtime::now().since_start())
        })
        .expect("the run finishes");
        let (found, none, end) = outcome.value;
        assert_eq!(found, Some((0, Duration::from_millis(300))));
        assert_eq!(none, None);
        assert_eq!(end, Duration::from_millis(500));
    }
}
