//! Conformance: Figure 2 of the Raft paper, rule by rule, with the tester playing every peer
//! but one.
//!
//! The original graders run a cluster of the student's peers and wait for a wrong outcome, and
//! many real bugs never produce one in their scenarios: a vote that is not persisted (no
//! candidate happens to ask twice in a term), a leader that ignores a higher term in a reply
//! (another path tells it soon after), a follower whose timer a denied vote resets. Here the
//! tester talks to **one peer under test** and plays the others itself ([`script::Scripted`]):
//! it answers the peer's RPCs as a script says and sends it requests of its own making, so it
//! can provoke exactly the situation in which a rule matters, in a few virtual seconds, and
//! check the peer's answer, its state (`get_state`) and the messages it sends next.
//!
//! Each grader is named after the rule it checks; a failure names the rule in the paper's
//! words ([`rules`]), says what the peer did, and shows the exchange ([`journal`]) with run
//! times. Like every grader it runs in a trial, so a seed replays it.
//!
//! | grader | rule |
//! |---|---|
//! | `fig2_older_term` | RequestVote and AppendEntries receivers: reply false if term < currentTerm |
//! | `fig2_vote_once_per_term` | one vote per term: deny a second candidate, grant the same one again, a candidate has voted for itself |
//! | `fig2_vote_up_to_date` | the election restriction (§5.4.1); part B, as in the lab's handout |
//! | `fig2_term_from_request` | a request of a higher term makes a follower, candidate or leader adopt it and follow |
//! | `fig2_term_from_reply` | so does a reply: a candidate's, a leader's |
//! | `fig2_timer_heartbeats` | heartbeats every 150 ms keep a follower from starting elections |
//! | `fig2_timer_expiry` | without them it starts one soon enough ([`ELECTION_START_BOUND`]), and a candidate starts another |
//! | `fig2_timer_votes` | granting a vote resets the timer; denying one, or an older term's request, does not |
//! | `fig2_append_conflict` | B: the consistency check; truncation only at a real conflict (a delayed, older `AppendEntries` truncates nothing) |
//! | `fig2_append_commit` | B: the follower's commitIndex = min(leaderCommit, index of last new entry), seen in what it applies |
//! | `fig2_old_term_commit` | B: Figure 8, no commit of an older term's entry by counting replicas; commit with one of its own |
//! | `fig2_stale_reply` | B: replies to requests of an earlier term do not move the leader's matchIndex or commit index |
//! | `fig2_fast_backup` | B: a diverging follower's log is brought in line with the leader's in about one refusal per conflicting term (`BACKUP_SLACK` in `leader.rs`) |
//! | `fig2_vote_persisted` | C: the term and the vote survive a crash once the peer has answered (a vote granted in a term adopted earlier, with no change of term, too); one vote per term is checked first, without a crash |
//! | `fig2_log_persisted` | C: log, term and vote survive a crash right after every answer |
//! | `fig2_install_snapshot` | D: InstallSnapshot keeps matching entries, discards a conflicting log, ignores an older snapshot (its age checked first, §7); the apply order around it |
//! | `fig2_send_snapshot` | D: a leader restarted since its service's snapshot sends a follower that needs a discarded entry that snapshot (the service's bytes), then the entries after it |
//!
//! For the leader's side the scripted peers keep [`model::ModelFollower`] logs: they answer
//! as a correct follower does, with the conflict hints of the `raft` crate's reply type, take
//! snapshots, and can hold a reply until the tester lets it go ([`script::Gate`]).
//!
//! Where two rules could explain what a peer did, a scenario checks the more specific one
//! first: one vote per term with no crash before the vote's persistence, Figure 8 before stale
//! replies, a late snapshot's age before the `AppendEntries` after it, a deposed leader still
//! heartbeating in its old term before what it does in its next.
//!
//! The safety monitor ([`crate::monitor`]) watches the peer under test in every scenario, but
//! does not end it: a scenario's own check names the rule of Figure 2 first, and the monitor's
//! first violation is shown after it ([`journal::Journal::transcript`]); a scenario that passes
//! its checks fails on a violation ([`script::Scripted::finish`]). The tester's scripted
//! requests are not checked: they follow a script, not Raft's rules.

pub(crate) mod follower;
pub mod journal;
pub(crate) mod leader;
pub mod model;
pub(crate) mod persist;
pub mod rules;
pub mod script;
pub(crate) mod snapshots;
pub(crate) mod terms;
pub(crate) mod timer;
pub(crate) mod votes;

use std::time::Duration;

use labrpc::runtime;
use raftapi::{ApplyMsg, LogEntry, Term};

use crate::tester::TestFailure;
use raftapi::Peer;
use rules::Rule;
use script::Scripted;

/// How often a scripted leader sends heartbeats: the interval of the reference and of the
/// handout's skeleton (`HEARTBEAT_INTERVAL` in `raft/src/timing.rs`, with an election timeout
/// of 500–1000 ms), under the lab's limit of ten per second.
pub const HEARTBEAT_EVERY: Duration = Duration::from_millis(150);

/// How long heartbeats (or granted votes) must keep a follower from starting an election.
pub const QUIET_PERIOD: Duration = Duration::from_secs(5);

/// The shortest time the original's `checkOneLeader` waits for a leader before it fails: ten
/// rounds of at least 450 ms (see [`crate::tester::TesterHandle::check_one_leader`]).
pub const LEADER_CHECK_WINDOW: Duration = Duration::from_millis(10 * 450);

/// How many election rounds must fit in [`LEADER_CHECK_WINDOW`]: the handout warns that
/// "elections (which may need several rounds)" must still finish within five seconds; a first
/// round split, a second one split, a third one won.
pub const ELECTION_ROUNDS: u32 = 3;

/// The longest a follower may go without a heartbeat or a granted vote before it starts an
/// election, and a candidate before it starts the next one: [`LEADER_CHECK_WINDOW`] /
/// [`ELECTION_ROUNDS`] = 1.5 s. A peer slower than this can fail the original's "a new leader
/// within five seconds" after two split votes. (The reference and the skeleton draw their
/// timeout from 500–1000 ms.)
pub const ELECTION_START_BOUND: Duration =
    Duration::from_millis(LEADER_CHECK_WINDOW.as_millis() as u64 / ELECTION_ROUNDS as u64);

/// Messages the peer under test sent up to this long after a change of its state are taken as
/// already on their way, in sim mode (where they all arrive in the same virtual instant).
pub const IN_FLIGHT_GRACE_SIM: Duration = Duration::from_millis(20);

/// The same in real time, where threads on a busy machine can hold a message back for a
/// while. (A peer that goes on leading sends again every heartbeat interval, so a longer
/// grace only delays the verdict.)
pub const IN_FLIGHT_GRACE_REAL: Duration = Duration::from_millis(250);

/// [`IN_FLIGHT_GRACE_SIM`] or [`IN_FLIGHT_GRACE_REAL`], for the executor running now.
pub(crate) fn in_flight_grace() -> Duration {
    match runtime::executor() {
        runtime::Executor::Sim => IN_FLIGHT_GRACE_SIM,
        runtime::Executor::Real => IN_FLIGHT_GRACE_REAL,
    }
}

/// How long the tester watches a peer that should have stopped leading for messages of its
/// old term: several heartbeat intervals of any peer that heartbeats at most ten times a second.
pub const STEP_DOWN_WATCH: Duration = Duration::from_secs(1);

/// How long a new leader may take to send its first `AppendEntries`.
pub const FIRST_HEARTBEAT_WITHIN: Duration = Duration::from_secs(1);

/// The number of peers of a scenario, drawn from the seed: 3 or 5.
pub(crate) fn peers() -> usize {
    if runtime::random_range(0..2) == 0 {
        3
    } else {
        5
    }
}

/// A number in `lo..=hi` drawn from the seed.
pub(crate) fn draw(lo: u64, hi: u64) -> u64 {
    runtime::random_range(lo..hi + 1)
}

/// Checks `(term, is_leader)` of the peer under test; on a difference, `rule` is broken and
/// `context` says after what.
pub(crate) fn expect_state<P: Peer>(
    s: &Scripted<P>,
    term: u64,
    leader: bool,
    rule: &Rule,
    context: impl std::fmt::Display,
) -> Result<(), TestFailure> {
    let Some((t, l)) = s.state() else {
        return Err(TestFailure::new(format!(
            "S{} is not running (the tester's bug)",
            s.me()
        )));
    };
    if (t, l) == (term, leader) {
        return Ok(());
    }
    let role = |l: bool| if l { "leader" } else { "not leader" };
    Err(rule.broken(
        s.me(),
        format!(
            "{context}, get_state() says term {t}, {}; expected term {term}, {}",
            role(l),
            role(leader)
        ),
        s.journal(),
    ))
}

/// Checks the term of a reply of the peer under test: a reply carries its currentTerm, which
/// after a request of term `sent` is `max(sent, its term before)` = `expected`.
pub(crate) fn expect_reply_term<P: Peer>(
    s: &Scripted<P>,
    rule: &Rule,
    got: u64,
    expected: u64,
    what: impl std::fmt::Display,
) -> Result<(), TestFailure> {
    if got == expected {
        return Ok(());
    }
    Err(rule.broken(
        s.me(),
        format!("{what} carries term {got}; its currentTerm then was {expected}"),
        s.journal(),
    ))
}

/// Makes the peer under test a follower of `leader` in `term` (higher than its own) with one
/// heartbeat, and checks that it accepted it.
pub(crate) async fn follow<P: Peer>(
    s: &Scripted<P>,
    leader: usize,
    term: u64,
) -> Result<(), TestFailure> {
    let before = s.state().map_or(0, |(t, _)| t);
    let reply = s.heartbeat(leader, term).await?;
    if reply.term.0 != term {
        return Err(rules::HIGHER_TERM.broken(
            s.me(),
            format!(
                "in term {before}, it answered a heartbeat of term {term} from S{leader} with \
                 term {}",
                reply.term
            ),
            s.journal(),
        ));
    }
    if !reply.success {
        return Err(rules::APPEND_CONSISTENCY.broken(
            s.me(),
            format!(
                "it refused a heartbeat after index 0 from S{leader}, leader of term {term} \
                 (its own term was {before}); every log holds index 0"
            ),
            s.journal(),
        ));
    }
    expect_state(
        s,
        term,
        false,
        &rules::HIGHER_TERM,
        format_args!("after a heartbeat of term {term} from S{leader}"),
    )
}

/// Asks for the vote of the peer under test as candidate `from` in `term` with an empty log
/// (last entry index 0, term 0) and checks that the answer is `granted`, else `rule` is broken
/// and `why` says why the answer should have been `granted`. Returns the reply.
pub(crate) async fn expect_vote<P: Peer>(
    s: &Scripted<P>,
    from: usize,
    term: u64,
    granted: bool,
    rule: &Rule,
    why: impl std::fmt::Display,
) -> Result<raftapi::RequestVoteReply, TestFailure> {
    let reply = s.ask_vote(from, term, 0, 0).await?;
    if reply.vote_granted != granted {
        let did = if reply.vote_granted {
            "granted"
        } else {
            "denied"
        };
        return Err(rule.broken(
            s.me(),
            format!("it {did} S{from}'s vote request for term {term}: {why}"),
            s.journal(),
        ));
    }
    Ok(reply)
}

/// How long a peer may take to apply what it has learnt is committed: a peer whose applier
/// polls (every 10 ms, as the handout suggests) is well within it.
pub const APPLY_WITHIN: Duration = Duration::from_secs(1);

/// How long the tester waits, once what should be applied is applied, for anything applied
/// that should not be, in sim mode.
pub const APPLY_GRACE_SIM: Duration = Duration::from_millis(100);

/// The same in real time.
pub const APPLY_GRACE_REAL: Duration = Duration::from_millis(300);

/// [`APPLY_GRACE_SIM`] or [`APPLY_GRACE_REAL`], for the executor running now.
pub(crate) fn apply_grace() -> Duration {
    match runtime::executor() {
        runtime::Executor::Sim => APPLY_GRACE_SIM,
        runtime::Executor::Real => APPLY_GRACE_REAL,
    }
}

/// The log of a leader the tester plays: entries with distinct commands, index 1 first.
#[derive(Clone, Debug, Default)]
pub(crate) struct Book {
    entries: Vec<LogEntry>,
}

impl Book {
    /// Appends an entry of `term` with command `{tag}{index}`.
    pub(crate) fn push(&mut self, term: u64, tag: &str) {
        let index = self.entries.len() + 1;
        self.entries.push(LogEntry {
            term: Term(term),
            command: format!("{tag}{index}").into_bytes(),
            ..Default::default()
        });
    }

    /// Appends `count` entries of `term`.
    pub(crate) fn extend(&mut self, count: u64, term: u64, tag: &str) {
        for _ in 0..count {
            self.push(term, tag);
        }
    }

    /// The index of the last entry.
    pub(crate) fn last(&self) -> u64 {
        self.entries.len() as u64
    }

    /// The term at `index` (0 at index 0).
    pub(crate) fn term(&self, index: u64) -> u64 {
        match index {
            0 => 0,
            i => self.entries[i as usize - 1].term.0,
        }
    }

    /// The entries at indices `from..=to`.
    pub(crate) fn slice(&self, from: u64, to: u64) -> Vec<LogEntry> {
        self.entries[from as usize - 1..to as usize].to_vec()
    }

    /// The command at `index` (1 or more).
    pub(crate) fn command(&self, index: u64) -> Vec<u8> {
        self.entries[index as usize - 1].command.clone()
    }

    /// Keeps the entries through `index`.
    pub(crate) fn truncate(&mut self, index: u64) {
        self.entries.truncate(index as usize);
    }

    /// What a peer applies for indices `from..=to` of this log.
    pub(crate) fn applies(&self, from: u64, to: u64) -> Vec<ApplyMsg> {
        (from..=to)
            .map(|i| ApplyMsg::Command {
                index: i,
                term: self.term(i),
                command: self.entries[i as usize - 1].command.clone(),
            })
            .collect()
    }
}

/// `[1:T2 "a1", snapshot through 5 (T2)]`: what was applied, briefly.
pub(crate) fn applies_text(msgs: &[ApplyMsg]) -> String {
    let shown: Vec<String> = msgs
        .iter()
        .map(|m| match m {
            ApplyMsg::Command {
                index,
                term,
                command,
            } => format!("{index}:T{term} {:?}", String::from_utf8_lossy(command)),
            ApplyMsg::Snapshot { index, term, .. } => {
                format!("snapshot through {index} (T{term})")
            }
        })
        .collect();
    format!("[{}]", shown.join(", "))
}

/// Checks that the peer under test applies, after journal mark `mark`, exactly `want` (an
/// empty `want`: nothing): it waits up to [`APPLY_WITHIN`] for the last of them, then
/// [`apply_grace`] for anything more. `rule` and `why` say why `want` is right.
pub(crate) async fn expect_applies<P: Peer>(
    s: &Scripted<P>,
    mark: usize,
    want: &[ApplyMsg],
    rule: &Rule,
    why: impl std::fmt::Display,
) -> Result<(), TestFailure> {
    if let Some(last) = want.last() {
        let count = want.len();
        let mut seen = 0;
        let _ = s
            .next_applied(mark, APPLY_WITHIN, |m| {
                seen += 1;
                (seen >= count || m == last).then_some(())
            })
            .await;
    }
    runtime::sleep(apply_grace()).await;
    let got = s.applied_since(mark);
    if got == want {
        return Ok(());
    }
    Err(rule.broken(
        s.me(),
        format!(
            "{why}, it applied {} (expected {})",
            applies_text(&got),
            applies_text(want)
        ),
        s.journal(),
    ))
}

/// Sends the peer under test a heartbeat from leader `from` of `term` after `prev` (of
/// `prev_term`) with commit index `commit`; returns whether it accepted it.
pub(crate) async fn probe<P: Peer>(
    s: &Scripted<P>,
    from: usize,
    term: u64,
    prev: u64,
    prev_term: u64,
    commit: u64,
) -> Result<bool, TestFailure> {
    let reply = s
        .send_entries(from, term, prev, prev_term, Vec::new(), commit)
        .await?;
    Ok(reply.success)
}
