//! Terms: "If RPC request or response contains term T > currentTerm: set currentTerm = T,
//! convert to follower", for every role, from requests and from replies; and a candidate that
//! hears from the leader of its own term becomes its follower.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use labrpc::runtime;
use raftapi::{AppendEntriesReply, RequestVoteReply, Term};

use super::journal::{Event, Message};
use super::rules::{self, Rule};
use super::script::{deny_votes, grant_votes, Answer, Gate, Scripted};
use super::{
    draw, expect_state, follow, in_flight_grace, peers, ELECTION_START_BOUND,
    FIRST_HEARTBEAT_WITHIN, STEP_DOWN_WATCH,
};
use crate::tester::{Stats, TestFailure};
use raftapi::Peer;

/// A request of a higher term: a vote request or a heartbeat.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Vote,
    Append,
}

impl Kind {
    fn draw() -> Kind {
        if runtime::random_range(0..2) == 0 {
            Kind::Vote
        } else {
            Kind::Append
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Vote => "RequestVote",
            Kind::Append => "AppendEntries",
        }
    }
}

/// Sends the peer under test a `kind` request of `term` from scripted peer `from` (a candidate
/// with an empty log, or a leader's heartbeat) and checks that it adopted `term`: its reply
/// carries it and `get_state` says `(term, not leader)`. `role` is what it was before.
async fn higher_request<P: Peer>(
    s: &Scripted<P>,
    kind: Kind,
    from: usize,
    term: u64,
    role: &str,
) -> Result<(), TestFailure> {
    let got = match kind {
        Kind::Vote => s.ask_vote(from, term, 0, 0).await?.term.0,
        Kind::Append => s.heartbeat(from, term).await?.term.0,
    };
    let what = format!(
        "as {role}, it answered S{from}'s {} of higher term {term}",
        kind.name()
    );
    if got != term {
        return Err(rules::HIGHER_TERM.broken(
            s.me(),
            format!("{what} with term {got}"),
            s.journal(),
        ));
    }
    expect_state(s, term, false, &rules::HIGHER_TERM, what)
}

/// Waits for the peer under test to start an election (from journal mark `mark`), within
/// `limit`; `rule` and `since` name what should have started it.
async fn election_within<P: Peer>(
    s: &Scripted<P>,
    mark: usize,
    limit: Duration,
    rule: &Rule,
    since: impl std::fmt::Display,
) -> Result<(usize, Duration, u64), TestFailure> {
    match s.next_election(mark, limit).await {
        Some((i, at, args)) => Ok((i, at, args.term.0)),
        None => Err(rule.broken(
            s.me(),
            format!("it started no election within {limit:?} of {since}"),
            s.journal(),
        )),
    }
}

/// The next election after `mark` must be in `expected` (one past a term the peer adopted):
/// its first message after adopting a term carries it.
async fn next_election_in<P: Peer>(
    s: &Scripted<P>,
    mark: usize,
    deadline: labrpc::runtime::Instant,
    adopted: u64,
    how: impl std::fmt::Display,
) -> Result<(), TestFailure> {
    let limit = deadline.duration_since(runtime::now());
    let (_, _, term) = election_within(
        s,
        mark,
        limit,
        &rules::FOLLOWER_TIMEOUT,
        format_args!("{how}"),
    )
    .await?;
    if term != adopted + 1 {
        return Err(rules::HIGHER_TERM.broken(
            s.me(),
            format!(
                "{how}, its next election is for term {term}: after adopting term {adopted} it \
                 should be for term {}",
                adopted + 1
            ),
            s.journal(),
        ));
    }
    Ok(())
}

/// Watches the peer under test for [`STEP_DOWN_WATCH`] from `since` (journal mark `mark`):
/// past [`in_flight_grace`], it must send no `AppendEntries`, and at the end it must not claim
/// to lead. `rule` and `why` say why it should not.
async fn expect_no_leading<P: Peer>(
    s: &Scripted<P>,
    mark: usize,
    since: Duration,
    rule: &Rule,
    why: impl std::fmt::Display,
) -> Result<(), TestFailure> {
    let me = s.me();
    let grace = in_flight_grace();
    let end = since + STEP_DOWN_WATCH;
    let limit = end.saturating_sub(runtime::now().since_start());
    let late = s
        .journal()
        .wait_for(mark, limit, |r| match &r.event {
            Event::Message {
                from,
                to,
                message: Message::AppendEntries(a),
            } if *from == me && r.at > since + grace => Some((*to, a.term.0, r.at)),
            _ => None,
        })
        .await;
    if let Some((_, (to, term, at))) = late {
        return Err(rule.broken(
            me,
            format!(
                "{why}, it sent AppendEntries of term {term} to S{to} {:?} later, as if it led",
                at.saturating_sub(since)
            ),
            s.journal(),
        ));
    }
    if let Some((term, true)) = s.state() {
        return Err(rule.broken(
            me,
            format!("{why}, get_state() still says it leads term {term} {STEP_DOWN_WATCH:?} later"),
            s.journal(),
        ));
    }
    Ok(())
}

/// What the peer under test sent while [`make_leader`] waited for it to lead.
enum Leads {
    /// Its first `AppendEntries` of the term it had or a later one: it leads that term.
    Term(u64),
    /// An `AppendEntries` of a term below the one it had, sent after the grace: as a deposed
    /// leader, to this peer, at this run time.
    Stale { term: u64, to: usize, at: Duration },
}

/// Makes the peer under test (a follower or a candidate) a leader: every scripted peer grants
/// its votes until it sends its first `AppendEntries` of the term it had or a later one; then they
/// deny votes again. Returns the term it leads. An `AppendEntries` of a term below the one it
/// had (past [`in_flight_grace`]) fails: it still acts as the leader of a term it has left.
pub(crate) async fn make_leader<P: Peer>(s: &Scripted<P>) -> Result<u64, TestFailure> {
    let me = s.me();
    let had = s.state().map_or(0, |(t, _)| t);
    s.set_all_votes(grant_votes());
    s.note("scripts: every peer grants its vote");
    let mark = s.mark();
    let since = runtime::now().since_start();
    let grace = in_flight_grace();
    let first = s
        .journal()
        .wait_for(
            mark,
            ELECTION_START_BOUND + FIRST_HEARTBEAT_WITHIN,
            |r| match r.sent_by(me) {
                Some((_, Message::AppendEntries(a))) if a.term.0 >= had => {
                    Some(Leads::Term(a.term.0))
                }
                Some((to, Message::AppendEntries(a))) if a.term.0 < had && r.at > since + grace => {
                    Some(Leads::Stale {
                        term: a.term.0,
                        to,
                        at: r.at,
                    })
                }
                _ => None,
            },
        )
        .await;
    s.set_all_votes(deny_votes());
    s.note("scripts: every peer denies its vote");
    match first {
        Some((_, Leads::Term(term))) => return Ok(term),
        Some((_, Leads::Stale { term, to, at })) => {
            return Err(rules::HIGHER_TERM.broken(
                me,
                format!(
                    "in term {had}, it sent S{to} AppendEntries of its old term {term} at \
                     {:.3}s, as if it still led that term: a leader that learns a higher term \
                     converts to follower, and its replication of the old term stops",
                    at.as_secs_f64()
                ),
                s.journal(),
            ))
        }
        None => {}
    }
    let elections = s.journal().find(mark, |r| match r.sent_by(me) {
        Some((_, Message::RequestVote(a))) => Some(a.term.0),
        _ => None,
    });
    Err(match elections {
        Some((_, term)) => rules::LEADER_HEARTBEAT.broken(
            me,
            format!(
                "every other peer granted its vote (from term {term} on), and it sent no \
                 AppendEntries within {FIRST_HEARTBEAT_WITHIN:?} of winning"
            ),
            s.journal(),
        ),
        None => rules::FOLLOWER_TIMEOUT.broken(
            me,
            format!("it started no election within {ELECTION_START_BOUND:?}"),
            s.journal(),
        ),
    })
}

/// Waits until the peer's election of `term` (first seen at journal index `i`) has reached
/// every scripted peer, so that all its vote requests are under the current script.
async fn expect_asked_everyone<P: Peer>(
    s: &Scripted<P>,
    i: usize,
    term: u64,
) -> Result<(), TestFailure> {
    let missing = s.asked_everyone(i, term, ELECTION_START_BOUND).await;
    if missing.is_empty() {
        return Ok(());
    }
    let missing: Vec<String> = missing.iter().map(|j| format!("S{j}")).collect();
    Err(rules::START_ELECTION.broken(
        s.me(),
        format!(
            "in its election of term {term} it never asked {}",
            missing.join(", ")
        ),
        s.journal(),
    ))
}

/// A scripted vote that grants, but only once `gate` opens: the candidate still waits for it.
fn held_grants(gate: &Gate) -> super::script::VoteScript {
    let gate = gate.clone();
    Arc::new(move |args| {
        Answer::After(
            gate.clone(),
            RequestVoteReply {
                term: args.term,
                vote_granted: true,
                ..Default::default()
            },
        )
    })
}

/// A request of a higher term makes a follower, a candidate and a leader adopt it and become
/// followers: the reply and `get_state` show the term, the peer no longer leads (nor becomes
/// leader on votes of its old candidacy), and its next election is in the term after it. A
/// candidate that receives `AppendEntries` from the leader of its own term follows it too.
pub(crate) async fn from_request<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let mut s = Scripted::<P>::new(peers())?;
    s.begin(title);

    // A follower.
    let leader = s.pick_other(&[]);
    let t1 = draw(1, 4);
    follow(&s, leader, t1).await?;
    let (kind, from) = (Kind::draw(), s.pick_other(&[]));
    let higher = t1 + draw(1, 3);
    higher_request(&s, kind, from, higher, &format!("a follower in term {t1}")).await?;

    // A candidate that hears from the leader of its own term, its vote replies held.
    let gate = Gate::new();
    s.set_all_votes(held_grants(&gate));
    s.note("scripts: votes granted, but held until the tester lets them go");
    let mark = s.mark();
    let (i, _, c1) = election_within(
        &s,
        mark,
        ELECTION_START_BOUND,
        &rules::FOLLOWER_TIMEOUT,
        format_args!("S{from}'s {}", kind.name()),
    )
    .await?;
    expect_asked_everyone(&s, i, c1).await?;
    let l2 = s.pick_other(&[]);
    let reply = s.heartbeat(l2, c1).await?;
    if !reply.success || reply.term.0 != c1 {
        return Err(rules::CANDIDATE_HEARS_LEADER.broken(
            s.me(),
            format!(
                "as a candidate in term {c1}, it answered a heartbeat from S{l2}, leader of \
                 term {c1}, with success={} term={}",
                reply.success, reply.term
            ),
            s.journal(),
        ));
    }
    expect_state(
        &s,
        c1,
        false,
        &rules::CANDIDATE_HEARS_LEADER,
        format_args!("after a heartbeat from S{l2}, leader of its term {c1}"),
    )?;
    s.set_all_votes(deny_votes());
    let (since, mark) = (runtime::now().since_start(), s.mark());
    s.note(format!("the held votes of term {c1} go out"));
    gate.open();
    expect_no_leading(
        &s,
        mark,
        since,
        &rules::CANDIDATE_HEARS_LEADER,
        format_args!(
            "once S{l2}'s heartbeat of term {c1} made it a follower, votes granted to its \
             candidacy arrived"
        ),
    )
    .await?;

    // A candidate that receives a request of a higher term, its vote replies held.
    let gate = Gate::new();
    s.set_all_votes(held_grants(&gate));
    s.note("scripts: votes granted, but held until the tester lets them go");
    let mark = s.mark();
    // Since S{l2}'s heartbeat it may have started an election already, with votes denied;
    // either way the next one comes within the bound from now.
    let (i, _, c2) = election_within(
        &s,
        mark,
        ELECTION_START_BOUND,
        &rules::FOLLOWER_TIMEOUT,
        format_args!("S{l2}'s last heartbeat or its last election"),
    )
    .await?;
    expect_asked_everyone(&s, i, c2).await?;
    let (kind, from) = (Kind::draw(), s.pick_other(&[]));
    let higher = c2 + draw(1, 3);
    higher_request(&s, kind, from, higher, &format!("a candidate in term {c2}")).await?;
    s.set_all_votes(deny_votes());
    let (since, mark) = (runtime::now().since_start(), s.mark());
    let deadline = runtime::now() + ELECTION_START_BOUND;
    s.note(format!("the held votes of term {c2} go out"));
    gate.open();
    expect_no_leading(
        &s,
        mark,
        since,
        &rules::HIGHER_TERM,
        format_args!(
            "once S{from}'s {} of term {higher} made it a follower, votes granted to its \
             candidacy in term {c2} arrived",
            kind.name()
        ),
    )
    .await?;
    next_election_in(
        &s,
        mark,
        deadline,
        higher,
        format_args!("after S{from}'s {} of term {higher}", kind.name()),
    )
    .await?;

    // A leader.
    let c3 = make_leader(&s).await?;
    let (kind, from) = (Kind::draw(), s.pick_other(&[]));
    let higher = c3 + draw(1, 3);
    higher_request(&s, kind, from, higher, &format!("the leader of term {c3}")).await?;
    let (since, mark) = (runtime::now().since_start(), s.mark());
    let deadline = runtime::now() + ELECTION_START_BOUND;
    expect_no_leading(
        &s,
        mark,
        since,
        &rules::HIGHER_TERM,
        format_args!(
            "after S{from}'s {} of term {higher} made the leader of term {c3} a follower",
            kind.name()
        ),
    )
    .await?;
    next_election_in(
        &s,
        mark,
        deadline,
        higher,
        format_args!("after S{from}'s {} of term {higher}", kind.name()),
    )
    .await?;
    s.finish()
}

/// A reply of a higher term makes a candidate and a leader adopt it and become followers: the
/// leader stops sending `AppendEntries` of its old term, and the next election of each is in
/// the term after the one adopted.
pub(crate) async fn from_reply<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let mut s = Scripted::<P>::new(peers())?;
    s.begin(title);
    let me = s.me();

    // A candidate: one voter answers its first election with a higher term, the others deny
    // in the candidate's term. (Only the first: a later higher term would depose the leader
    // the next step makes.)
    let h = s.pick_other(&[]);
    let k = draw(2, 4);
    let first = Arc::new(Mutex::new(None::<u64>));
    s.set_votes(
        h,
        Arc::new(move |args| {
            let first = *first.lock().get_or_insert(args.term.0);
            let bump = if args.term.0 == first { k } else { 0 };
            Answer::Now(RequestVoteReply {
                term: Term(args.term.0 + bump),
                vote_granted: false,
                ..Default::default()
            })
        }),
    );
    s.note(format!(
        "scripts: S{h} answers the first election's vote request with a term {k} higher"
    ));
    let mark = s.mark();
    let (i, started, c) = election_within(
        &s,
        mark,
        ELECTION_START_BOUND,
        &rules::FOLLOWER_TIMEOUT,
        "its start",
    )
    .await?;
    let higher = c + k;
    let limit = (started + ELECTION_START_BOUND).saturating_sub(runtime::now().since_start());
    match s.next_election(i + 1, limit).await {
        None => {
            return Err(rules::CANDIDATE_TIMEOUT.broken(
                me,
                format!(
                    "its election of term {c} got no vote, and it started no other within \
                     {ELECTION_START_BOUND:?}"
                ),
                s.journal(),
            ))
        }
        Some((_, _, next)) if next.term.0 != higher + 1 => {
            return Err(rules::HIGHER_TERM.broken(
                me,
                format!(
                    "S{h} answered its RequestVote of term {c} with term {higher}, and its next \
                     election is for term {}, not {}",
                    next.term,
                    higher + 1
                ),
                s.journal(),
            ))
        }
        Some(_) => {}
    }

    // A leader: one follower answers its AppendEntries with a higher term.
    let c2 = make_leader(&s).await?;
    let h = s.pick_other(&[]);
    let higher = c2 + draw(1, 3);
    let mark = s.mark();
    s.set_appends(
        h,
        Arc::new(move |_| {
            Answer::Now(AppendEntriesReply {
                term: Term(higher),
                success: false,
                conflict_term: None,
                conflict_index: 0,
                ..Default::default()
            })
        }),
    );
    s.note(format!(
        "scripts: S{h} answers AppendEntries with term {higher}"
    ));
    let answered = s
        .journal()
        .wait_for(mark, FIRST_HEARTBEAT_WITHIN, |r| match &r.event {
            Event::Message {
                from,
                message: Message::AppendEntriesReply(reply),
                ..
            } if *from == h && reply.term.0 == higher => Some(r.at),
            _ => None,
        })
        .await;
    let Some((i, at)) = answered else {
        return Err(rules::LEADER_HEARTBEAT.broken(
            me,
            format!(
                "as leader of term {c2}, it sent S{h} no AppendEntries within \
                 {FIRST_HEARTBEAT_WITHIN:?}"
            ),
            s.journal(),
        ));
    };
    let deadline = runtime::now() + ELECTION_START_BOUND;
    expect_no_leading(
        &s,
        i + 1,
        at,
        &rules::HIGHER_TERM,
        format_args!("after S{h} answered its AppendEntries of term {c2} with term {higher}"),
    )
    .await?;
    next_election_in(
        &s,
        i + 1,
        deadline,
        higher,
        format_args!("after S{h} answered its AppendEntries with term {higher}"),
    )
    .await?;
    s.finish()
}
