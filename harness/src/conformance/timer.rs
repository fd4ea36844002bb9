//! The election timer: "If election timeout elapses without receiving AppendEntries RPC from
//! current leader or granting vote to candidate: convert to candidate", and for candidates, "If
//! election timeout elapses: start new election".
//!
//! The timeout itself is the peer's choice; the graders only use two bounds. From below: a
//! follower that hears a valid heartbeat every [`HEARTBEAT_EVERY`] never times out (so the
//! timeout is above the heartbeat interval). From above: a follower left alone starts an
//! election within [`ELECTION_START_BOUND`] (1.5 s), and so does a candidate whose election went
//! nowhere; that is the most that still lets three election rounds fit in the shortest window
//! the original's `checkOneLeader` allows, 10 × 450 ms.
//!
//! A granted vote resets the timer and a denied one does not; neither do requests of an older
//! term. The scenario that tells them apart: right after a reset (a granted vote), the tester
//! sends only requests that must not reset the timer, every [`HEARTBEAT_EVERY`], faster than any
//! timeout that survives heartbeats. A correct peer starts an election within the bound anyway;
//! one that resets its timer on them never does.

use std::time::Duration;

use labrpc::runtime;

use super::rules::{self, Rule};
use super::script::Scripted;
use super::{
    draw, expect_reply_term, expect_state, expect_vote, follow, in_flight_grace, peers,
    ELECTION_START_BOUND, HEARTBEAT_EVERY, QUIET_PERIOD,
};
use crate::tester::{Stats, TestFailure};
use raftapi::Peer;

/// Fails if the peer under test has started an election since journal mark `mark`: `why` says
/// why it should not have.
fn expect_no_election<P: Peer>(
    s: &Scripted<P>,
    mark: usize,
    rule: &Rule,
    why: impl FnOnce() -> String,
) -> Result<(), TestFailure> {
    let me = s.me();
    let found = s.journal().find(mark, |r| match r.sent_by(me) {
        Some((_, super::journal::Message::RequestVote(a))) => Some((r.at, a.term.0)),
        _ => None,
    });
    match found {
        None => Ok(()),
        Some((_, (at, term))) => Err(rule.broken(
            me,
            format!(
                "it started an election (RequestVote of term {term}) at {:.3}s, {}",
                at.as_secs_f64(),
                why()
            ),
            s.journal(),
        )),
    }
}

/// Like [`expect_no_election`], but first gives the peer's messages already on their way
/// a moment ([`in_flight_grace`]) to arrive: used when an odd reply may come from an election the peer
/// started in the same instant, whose requests the journal does not show yet.
async fn expect_no_election_in_flight<P: Peer>(
    s: &Scripted<P>,
    mark: usize,
    rule: &Rule,
    why: impl FnOnce() -> String,
) -> Result<(), TestFailure> {
    let _ = s.next_election(mark, in_flight_grace()).await;
    expect_no_election(s, mark, rule, why)
}

/// Sleeps until run time `at` (no wait if it has passed).
async fn sleep_until(at: Duration) {
    let now = runtime::now().since_start();
    if at > now {
        runtime::sleep(at - now).await;
    }
}

/// A follower that receives a valid heartbeat from the leader of its term every 150 ms starts
/// no election for 5 s.
pub(crate) async fn heartbeats<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let mut s = Scripted::<P>::new(peers())?;
    s.begin(title);
    let leader = s.pick_other(&[]);
    let term = draw(1, 5);
    let mark = s.mark();
    follow(&s, leader, term).await?;
    s.note(format!(
        "S{leader}, leader of term {term}, sends a heartbeat every {HEARTBEAT_EVERY:?} for \
         {QUIET_PERIOD:?}"
    ));
    let start = runtime::now().since_start();
    let mut last = start;
    let mut beats = 1u32;
    let why = |last: Duration| {
        format!(
            "although S{leader}, leader of term {term}, sent it a heartbeat every \
             {HEARTBEAT_EVERY:?} (the last before it at {:.3}s)",
            last.as_secs_f64()
        )
    };
    while last < start + QUIET_PERIOD {
        sleep_until(start + beats * HEARTBEAT_EVERY).await;
        let reply = s.heartbeat(leader, term).await?;
        // An election started before this heartbeat also explains an odd reply: report it first.
        if !reply.success || reply.term.0 != term {
            expect_no_election_in_flight(&s, mark, &rules::FOLLOWER_TIMEOUT, || why(last)).await?;
        }
        expect_no_election(&s, mark, &rules::FOLLOWER_TIMEOUT, || why(last))?;
        if !reply.success {
            return Err(rules::APPEND_CONSISTENCY.broken(
                s.me(),
                format!(
                    "it refused a heartbeat after index 0 from S{leader}, leader of its term \
                     {term}; every log holds index 0"
                ),
                s.journal(),
            ));
        }
        expect_reply_term(
            &s,
            &rules::APPEND_REPLY_TERM,
            reply.term.0,
            term,
            format_args!("its reply to S{leader}'s heartbeat of term {term}"),
        )?;
        last = runtime::now().since_start();
        beats += 1;
    }
    expect_state(
        &s,
        term,
        false,
        &rules::FOLLOWER_TIMEOUT,
        format_args!("after {QUIET_PERIOD:?} of heartbeats from S{leader}, leader of term {term}"),
    )?;
    s.finish()
}

/// A follower whose leader falls silent starts an election within [`ELECTION_START_BOUND`]:
/// in the next term, voting for itself, asking every other peer; a candidate that gets no
/// votes starts the next one within the bound too.
pub(crate) async fn expiry<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let mut s = Scripted::<P>::new(peers())?;
    s.begin(title);
    let me = s.me();
    let leader = s.pick_other(&[]);
    let term = draw(1, 5);
    follow(&s, leader, term).await?;
    // A few more heartbeats, then silence.
    for _ in 0..draw(2, 9) {
        runtime::sleep(HEARTBEAT_EVERY).await;
        s.heartbeat(leader, term).await?;
    }
    s.note(format!("S{leader} stops sending heartbeats"));
    let since = runtime::now().since_start();
    let mut mark = s.mark();
    let mut prev = term;
    let mut rule = &rules::FOLLOWER_TIMEOUT;
    let mut after = format!(
        "the last heartbeat from S{leader}, leader of term {term}, at {:.3}s",
        since.as_secs_f64()
    );
    for round in 0..3 {
        let Some((i, at, args)) = s.next_election(mark, ELECTION_START_BOUND).await else {
            return Err(rule.broken(
                me,
                format!(
                    "it started no election within {ELECTION_START_BOUND:?} of {after} (a new \
                     leader is due within five seconds, and an election may need several \
                     rounds)"
                ),
                s.journal(),
            ));
        };
        let t = args.term.0;
        if t != prev + 1 || args.candidate_id.0 != me {
            return Err(rules::START_ELECTION.broken(
                me,
                format!(
                    "after {after}, it asked for votes in term {t} as candidate {}; expected \
                     term {} and itself, S{me}",
                    args.candidate_id,
                    prev + 1
                ),
                s.journal(),
            ));
        }
        // It asks every other peer (before its next election, at the latest).
        let missing = s.asked_everyone(i, t, ELECTION_START_BOUND).await;
        if !missing.is_empty() {
            let missing: Vec<String> = missing.iter().map(|j| format!("S{j}")).collect();
            return Err(rules::START_ELECTION.broken(
                me,
                format!(
                    "in its election of term {t} it never asked {}",
                    missing.join(", ")
                ),
                s.journal(),
            ));
        }
        s.note(format!("election {} of S{me}: term {t}", round + 1));
        mark = i + 1;
        prev = t;
        rule = &rules::CANDIDATE_TIMEOUT;
        after = format!(
            "its election of term {t} at {:.3}s, in which every other peer denied its vote",
            at.as_secs_f64()
        );
    }
    s.finish()
}

/// Sends `probe` every [`HEARTBEAT_EVERY`] from the reset at run time `reset` on, until the peer
/// under test starts an election (it must, within [`ELECTION_START_BOUND`] of the reset); `what`
/// names the requests, which must not reset its timer. Returns the new election's term.
async fn must_time_out<P: Peer, F, Fut>(
    s: &Scripted<P>,
    reset: Duration,
    reset_what: &str,
    what: &str,
    mut probe: F,
) -> Result<u64, TestFailure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), TestFailure>>,
{
    let mark = s.mark();
    let deadline = reset + ELECTION_START_BOUND;
    let mut sent = 0u32;
    loop {
        let now = runtime::now().since_start();
        let wait = (reset + (sent + 1) * HEARTBEAT_EVERY).min(deadline);
        if let Some((_, _, args)) = s.next_election(mark, wait.saturating_sub(now)).await {
            return Ok(args.term.0);
        }
        if runtime::now().since_start() >= deadline {
            return Err(rules::FOLLOWER_TIMEOUT.broken(
                s.me(),
                format!(
                    "it started no election within {ELECTION_START_BOUND:?} of {reset_what} at \
                     {:.3}s; meanwhile it received {sent} {what}, one every {HEARTBEAT_EVERY:?}, \
                     which must not reset its election timer",
                    reset.as_secs_f64()
                ),
                s.journal(),
            ));
        }
        probe().await?;
        sent += 1;
    }
}

/// Asks for a vote of term `own + 1` (the first of that term, from a candidate as up-to-date),
/// which the peer must grant; returns that term, the candidate and when its timer restarted.
async fn grant_fresh_vote<P: Peer>(
    s: &Scripted<P>,
    own: u64,
) -> Result<(u64, usize, Duration), TestFailure> {
    let fresh = own + 1;
    let c = s.pick_other(&[]);
    expect_vote(
        s,
        c,
        fresh,
        true,
        &rules::VOTE_GRANT,
        format_args!("it was the first request of term {fresh}, from a candidate as up-to-date"),
    )
    .await?;
    Ok((fresh, c, runtime::now().since_start()))
}

/// A granted vote resets the election timer; a denied vote, and a request of an older term,
/// do not.
pub(crate) async fn votes<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let mut scripted = Scripted::<P>::new(peers())?;
    scripted.begin(title);
    let s = &scripted;
    let me = s.me();
    let mut term = draw(1, 4);

    // Granted votes, one every 150 ms for 5 s, each the first of a new term: no election.
    s.note(format!(
        "a vote request it must grant every {HEARTBEAT_EVERY:?} for {QUIET_PERIOD:?}, each of \
         a new term"
    ));
    let mark = s.mark();
    let start = runtime::now().since_start();
    let mut k = 0u32;
    let mut last: Option<(usize, u64, Duration)> = None;
    while runtime::now().since_start() < start + QUIET_PERIOD {
        sleep_until(start + k * HEARTBEAT_EVERY).await;
        let c = s.pick_other(&[]);
        let reply = s.ask_vote(c, term, 0, 0).await?;
        // An election started before this request also explains a denial: report it first.
        let why = || match last {
            Some((c, t, at)) => format!(
                "although it had granted its vote to S{c} for term {t} at {:.3}s, and one \
                 every {HEARTBEAT_EVERY:?} before: granting a vote resets the election timer",
                at.as_secs_f64()
            ),
            None => "before the tester's first vote request".to_string(),
        };
        if !reply.vote_granted {
            expect_no_election_in_flight(s, mark, &rules::FOLLOWER_TIMEOUT, why).await?;
        }
        expect_no_election(s, mark, &rules::FOLLOWER_TIMEOUT, why)?;
        if !reply.vote_granted {
            return Err(rules::VOTE_GRANT.broken(
                me,
                format!(
                    "it denied S{c}'s vote request for term {term}: it was the first request \
                     of term {term}, from a candidate as up-to-date"
                ),
                s.journal(),
            ));
        }
        last = Some((c, term, runtime::now().since_start()));
        term += 1;
        k += 1;
    }

    // A granted vote, then denied ones: the same term, another candidate.
    let a = s.pick_other(&[]);
    let b = s.pick_other(&[a]);
    let voted = term;
    expect_vote(
        s,
        a,
        voted,
        true,
        &rules::VOTE_GRANT,
        format_args!("it was the first request of term {voted}, from a candidate as up-to-date"),
    )
    .await?;
    let reset = runtime::now().since_start();
    s.note(format!(
        "vote requests it must deny (S{b}, term {voted}) every {HEARTBEAT_EVERY:?}: its timer \
         must run out"
    ));
    let own = must_time_out(
        s,
        reset,
        &format!("granting its vote to S{a} for term {voted}"),
        &format!("vote requests from S{b} for the same term, all denied"),
        move || async move {
            expect_vote(
                s,
                b,
                voted,
                false,
                &rules::VOTE_GRANT,
                format_args!("it had voted for S{a} in term {voted}"),
            )
            .await
            .map(|_| ())
        },
    )
    .await?;

    // A granted vote, then vote requests of an older term.
    let (fresh, c, reset) = grant_fresh_vote(s, own).await?;
    let stale_from = s.pick_other(&[c]);
    s.note(format!(
        "vote requests of older term {} every {HEARTBEAT_EVERY:?}: its timer must run out",
        fresh - 1
    ));
    let own = must_time_out(
        s,
        reset,
        &format!("granting its vote to S{c} for term {fresh}"),
        &format!(
            "vote requests from S{stale_from} of older term {}",
            fresh - 1
        ),
        move || async move {
            expect_vote(
                s,
                stale_from,
                fresh - 1,
                false,
                &rules::VOTE_OLDER_TERM,
                format_args!("its own term was {fresh}"),
            )
            .await
            .map(|_| ())
        },
    )
    .await?;

    // A granted vote, then AppendEntries of an older term.
    let (fresh, c, reset) = grant_fresh_vote(s, own).await?;
    let old_leader = s.pick_other(&[c]);
    s.note(format!(
        "AppendEntries of older term {} every {HEARTBEAT_EVERY:?}: its timer must run out",
        fresh - 1
    ));
    must_time_out(
        s,
        reset,
        &format!("granting its vote to S{c} for term {fresh}"),
        &format!(
            "heartbeats from S{old_leader} of older term {} (not the current leader)",
            fresh - 1
        ),
        move || async move {
            let reply = s.heartbeat(old_leader, fresh - 1).await?;
            if reply.success {
                return Err(rules::APPEND_OLDER_TERM.broken(
                    me,
                    format!(
                        "in term {fresh}, it accepted AppendEntries of older term {} from \
                         S{old_leader}",
                        fresh - 1
                    ),
                    s.journal(),
                ));
            }
            Ok(())
        },
    )
    .await?;
    s.finish()
}
