//! The receivers' term check and the `RequestVote` receiver: older terms, one vote per term,
//! votes that survive a crash, and the election restriction.

use labrpc::runtime;
use raftapi::{LogEntry, Term};

use super::rules::{self, Rule};
use super::script::Scripted;
use super::ELECTION_START_BOUND;
use super::{draw, expect_reply_term, expect_state, expect_vote, follow, peers};
use crate::tester::{Stats, TestFailure};
use raftapi::Peer;

/// Waits for the peer under test to start an election (journal mark `mark` on) and returns its
/// term; a follower that does not within [`ELECTION_START_BOUND`] breaks its timer rule.
async fn own_election<P: Peer>(
    s: &Scripted<P>,
    mark: usize,
    since: &str,
) -> Result<u64, TestFailure> {
    match s.next_election(mark, ELECTION_START_BOUND).await {
        Some((_, _, args)) => Ok(args.term.0),
        None => Err(rules::FOLLOWER_TIMEOUT.broken(
            s.me(),
            format!("it started no election within {ELECTION_START_BOUND:?} of {since}"),
            s.journal(),
        )),
    }
}

/// "Reply false if term < currentTerm", for `RequestVote` and for `AppendEntries`; the replies
/// carry the receiver's term, and its state does not change.
pub(crate) async fn older_term<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let mut s = Scripted::<P>::new(peers())?;
    s.begin(title);
    let me = s.me();
    let leader = s.pick_other(&[]);
    let candidate = s.pick_other(&[leader]);
    let term = draw(3, 8);
    follow(&s, leader, term).await?;

    // A candidate of an older term, whose log (empty) would otherwise do.
    let stale = draw(1, term - 1);
    let reply = s.ask_vote(candidate, stale, 0, 0).await?;
    if reply.vote_granted {
        return Err(rules::VOTE_OLDER_TERM.broken(
            me,
            format!("in term {term}, it granted S{candidate} its vote for older term {stale}"),
            s.journal(),
        ));
    }
    expect_reply_term(
        &s,
        &rules::VOTE_REPLY_TERM,
        reply.term.0,
        term,
        format_args!("its reply to S{candidate}'s RequestVote of older term {stale}"),
    )?;
    expect_state(
        &s,
        term,
        false,
        &rules::VOTE_OLDER_TERM,
        format_args!("after a RequestVote of older term {stale}"),
    )?;

    // A leader of an older term.
    let old_leader = s.pick_other(&[leader]);
    let stale = draw(1, term - 1);
    let reply = s.heartbeat(old_leader, stale).await?;
    if reply.success {
        return Err(rules::APPEND_OLDER_TERM.broken(
            me,
            format!(
                "in term {term}, it accepted AppendEntries of older term {stale} from \
                 S{old_leader}"
            ),
            s.journal(),
        ));
    }
    expect_reply_term(
        &s,
        &rules::APPEND_REPLY_TERM,
        reply.term.0,
        term,
        format_args!("its reply to S{old_leader}'s AppendEntries of older term {stale}"),
    )?;
    expect_state(
        &s,
        term,
        false,
        &rules::APPEND_OLDER_TERM,
        format_args!("after AppendEntries of older term {stale} from S{old_leader}"),
    )?;
    s.finish()
}

/// One vote per term: the first candidate of a term gets it, a second one does not, the same
/// one asking again does, and a candidate has already voted for itself.
pub(crate) async fn once_per_term<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let mut s = Scripted::<P>::new(peers())?;
    s.begin(title);
    let me = s.me();
    let a = s.pick_other(&[]);
    let b = s.pick_other(&[a]);
    let term = draw(1, 6);

    let reply = expect_vote(
        &s,
        a,
        term,
        true,
        &rules::VOTE_GRANT,
        format_args!(
            "it was the first request of term {term} (votedFor is null), and the candidate's \
             log (last index 0) is as up-to-date as its own empty log"
        ),
    )
    .await?;
    expect_reply_term(
        &s,
        &rules::VOTE_REPLY_TERM,
        reply.term.0,
        term,
        format_args!("its reply to S{a}'s RequestVote of term {term}"),
    )?;
    expect_vote(
        &s,
        b,
        term,
        false,
        &rules::VOTE_GRANT,
        format_args!("it had already voted for S{a} in term {term} (votedFor is S{a})"),
    )
    .await?;
    expect_vote(
        &s,
        a,
        term,
        true,
        &rules::VOTE_GRANT,
        format_args!(
            "it had voted for S{a} in term {term} (votedFor is candidateId); a candidate whose \
             reply was lost asks again"
        ),
    )
    .await?;

    // Left alone, it starts an election, voting for itself: no one else gets its vote in that
    // term. (The scripted peers deny it theirs.)
    let mark = s.mark();
    let own = own_election(&s, mark, &format!("granting its vote to S{a}")).await?;
    if own != term + 1 {
        return Err(rules::START_ELECTION.broken(
            me,
            format!(
                "its election after term {term} is for term {own}, not {}",
                term + 1
            ),
            s.journal(),
        ));
    }
    let c = s.pick_other(&[]);
    let reply = expect_vote(
        &s,
        c,
        own,
        false,
        &rules::START_ELECTION,
        format_args!("it is a candidate in term {own}, so it has voted for itself in that term"),
    )
    .await?;
    expect_reply_term(
        &s,
        &rules::VOTE_REPLY_TERM,
        reply.term.0,
        own,
        format_args!("its reply to S{c}'s RequestVote of term {own}"),
    )?;
    s.finish()
}

/// Checks, right after a restart, that the peer under test came back in `term`.
pub(crate) fn expect_term_restored<P: Peer>(
    s: &Scripted<P>,
    term: u64,
    before: &str,
) -> Result<(), TestFailure> {
    match s.state() {
        Some((t, _)) if t == term => Ok(()),
        Some((t, _)) => Err(rules::PERSISTENT_STATE.broken(
            s.me(),
            format!(
                "after a crash and restart it is in term {t}; before the crash it had {before} \
                 in term {term} (currentTerm was not on stable storage)"
            ),
            s.journal(),
        )),
        None => Err(TestFailure::new(format!(
            "S{} did not restart (the tester's bug)",
            s.me()
        ))),
    }
}

/// Checks one vote per term with no crash involved, before a check that a vote survives a
/// crash: candidate `a` asks for the vote of `term` and gets it, then `b` asks in the same term
/// and does not. A peer that grants every candidate is told so here ("If votedFor is null or
/// candidateId"), not later that it forgot its vote across the crash. Both candidates' logs end
/// at `last` = (index, term), as up-to-date as the peer's.
pub(crate) async fn expect_one_vote_without_crash<P: Peer>(
    s: &Scripted<P>,
    (a, b): (usize, usize),
    term: u64,
    last: (u64, u64),
) -> Result<(), TestFailure> {
    let (last_index, last_term) = last;
    let reply = s.ask_vote(a, term, last_index, last_term).await?;
    if !reply.vote_granted {
        return Err(rules::VOTE_GRANT.broken(
            s.me(),
            format!(
                "it denied S{a}'s vote request for term {term}: it was the first request of that \
                 term, from a candidate whose log (last index {last_index}, term {last_term}) is \
                 as up-to-date as its own"
            ),
            s.journal(),
        ));
    }
    let reply = s.ask_vote(b, term, last_index, last_term).await?;
    if reply.vote_granted {
        return Err(rules::VOTE_GRANT.broken(
            s.me(),
            format!(
                "it granted S{b}'s vote request for term {term}, though it had voted for S{a} in \
                 that term a moment before, with no crash between (votedFor was S{a}, neither \
                 null nor S{b})"
            ),
            s.journal(),
        ));
    }
    Ok(())
}

/// The vote survives a crash: after granting one (or voting for itself and saying so), a
/// restarted peer denies a second candidate of that term and still grants the first; and so
/// does a peer that granted its vote in a term it had adopted earlier, from a request it
/// denied (no term changes at that grant, and the vote must be saved all the same). One vote
/// per term is checked first, with no crash, so that a peer that grants every candidate is told
/// that rather than that it forgot its vote.
pub(crate) async fn persisted<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let mut s = Scripted::<P>::new(peers())?;
    s.begin(title);
    let first = s.pick_other(&[]);
    let second = s.pick_other(&[first]);
    let t0 = draw(1, 4);
    expect_one_vote_without_crash(&s, (first, second), t0, (0, 0)).await?;

    let a = s.pick_other(&[]);
    let b = s.pick_other(&[a]);
    let term = t0 + draw(1, 3);
    expect_vote(
        &s,
        a,
        term,
        true,
        &rules::VOTE_GRANT,
        format_args!("it was the first request of term {term}, from a candidate as up-to-date"),
    )
    .await?;
    // Crash right after the answer: what it said must be on stable storage.
    s.restart()?;
    expect_term_restored(&s, term, &format!("granted S{a} its vote"))?;
    expect_vote(
        &s,
        b,
        term,
        false,
        &rules::PERSISTENT_STATE,
        format_args!(
            "before the crash it had answered S{a} with its vote in term {term} (votedFor was \
             not on stable storage when it answered)"
        ),
    )
    .await?;
    expect_vote(
        &s,
        a,
        term,
        true,
        &rules::PERSISTENT_STATE,
        format_args!(
            "before the crash it had voted for S{a} in term {term}: it must remember for whom, \
             and S{a} may ask again"
        ),
    )
    .await?;

    // Its vote for itself, once it has answered someone in that term, survives too.
    let mark = s.mark();
    let own = own_election(&s, mark, "its restart and the vote it granted").await?;
    let c = s.pick_other(&[]);
    expect_vote(
        &s,
        c,
        own,
        false,
        &rules::START_ELECTION,
        format_args!("it is a candidate in term {own}, so it has voted for itself in that term"),
    )
    .await?;
    s.restart()?;
    expect_term_restored(&s, own, &format!("answered S{c} as a candidate"))?;
    expect_vote(
        &s,
        c,
        own,
        false,
        &rules::PERSISTENT_STATE,
        format_args!(
            "before the crash it had voted for itself in term {own} and had denied S{c} in \
             that term"
        ),
    )
    .await?;

    vote_in_an_adopted_term(&mut s, own).await?;
    s.finish()
}

/// A vote granted in a term the peer had adopted earlier, from a `RequestVote` it denied, then
/// a crash: the grant changes no term, and a peer that saves only when its term changes loses
/// that vote and can vote twice. The peer (in term `now`) first gets a log, so that a
/// candidate whose log is behind is denied.
async fn vote_in_an_adopted_term<P: Peer>(
    s: &mut Scripted<P>,
    now: u64,
) -> Result<(), TestFailure> {
    let me = s.me();
    let leader = s.pick_other(&[]);
    // It may have started an election since its restart.
    let t1 = s.state().map_or(now, |(t, _)| t.max(now)) + 1;
    let k = draw(2, 4);
    let entries: Vec<LogEntry> = (1..=k)
        .map(|i| LogEntry {
            term: Term(t1),
            command: format!("v{i}").into_bytes(),
            ..Default::default()
        })
        .collect();
    let reply = s.send_entries(leader, t1, 0, 0, entries, 0).await?;
    if !reply.success {
        return Err(rules::APPEND_NEW_ENTRIES.broken(
            me,
            format!(
                "it refused {k} entries after index 0 from S{leader}, leader of term {t1}; \
                 every log holds index 0"
            ),
            s.journal(),
        ));
    }

    // A candidate whose log is behind: denied, but its term is adopted.
    let behind = s.pick_other(&[]);
    let t2 = t1 + draw(1, 2);
    let reply = s.ask_vote(behind, t2, k - 1, t1).await?;
    if reply.vote_granted {
        return Err(rules::UP_TO_DATE.broken(
            me,
            format!(
                "it granted S{behind} its vote in term {t2}, although the candidate's log (last \
                 index {}, term {t1}) is shorter than its own (last index {k}, term {t1})",
                k - 1
            ),
            s.journal(),
        ));
    }
    expect_reply_term(
        s,
        &rules::VOTE_REPLY_TERM,
        reply.term.0,
        t2,
        format_args!("its reply to S{behind}'s RequestVote of term {t2}"),
    )?;

    // A second candidate of that term, as up-to-date: granted, with no change of term.
    let g = s.pick_other(&[behind]);
    let reply = s.ask_vote(g, t2, k, t1).await?;
    if !reply.vote_granted {
        return Err(rules::VOTE_GRANT.broken(
            me,
            format!(
                "it denied S{g}'s vote request for term {t2}: it had voted for no one in that \
                 term (it denied S{behind}), and S{g}'s log (last index {k}, term {t1}) is as \
                 up-to-date as its own"
            ),
            s.journal(),
        ));
    }
    s.restart()?;
    expect_term_restored(
        s,
        t2,
        &format!("denied S{behind} and then granted S{g} its vote"),
    )?;
    let h = s.pick_other(&[g]);
    let reply = s.ask_vote(h, t2, k, t1).await?;
    if reply.vote_granted {
        return Err(rules::PERSISTENT_STATE.broken(
            me,
            format!(
                "it granted S{h} its vote in term {t2}; before the crash it had voted for S{g} \
                 in that term, a term it had adopted earlier from S{behind}'s request, which it \
                 denied (votedFor was not on stable storage when it answered S{g}: a vote given \
                 with no change of term must be saved before the reply too)"
            ),
            s.journal(),
        ));
    }
    let reply = s.ask_vote(g, t2, k, t1).await?;
    if !reply.vote_granted {
        return Err(rules::PERSISTENT_STATE.broken(
            me,
            format!(
                "it denied S{g}'s request for term {t2} again; before the crash it had voted for \
                 S{g} in that term: it must remember for whom, and S{g} may ask again"
            ),
            s.journal(),
        ));
    }
    Ok(())
}

/// One probe of the election restriction: a candidate's last entry and the expected answer.
struct Probe {
    last_index: u64,
    last_term: u64,
    grant: bool,
    why: &'static str,
}

/// The election restriction (§5.4.1): given a log through a leader's `AppendEntries`, the peer
/// denies candidates whose log is behind and grants those at least as up-to-date, each probe
/// in a fresh term so that only the logs decide.
pub(crate) async fn up_to_date<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let mut s = Scripted::<P>::new(peers())?;
    s.begin(title);
    let me = s.me();
    let leader = s.pick_other(&[]);
    let term = draw(3, 7);
    // k entries of nondecreasing terms, the last of `term`.
    let k = draw(2, 5);
    let mut terms: Vec<u64> = (1..k).map(|_| draw(1, term)).collect();
    terms.sort_unstable();
    terms.push(term);
    let entries: Vec<LogEntry> = terms
        .iter()
        .enumerate()
        .map(|(i, &t)| LogEntry {
            term: Term(t),
            command: format!("cmd{}", i + 1).into_bytes(),
            ..Default::default()
        })
        .collect();
    let reply = s.send_entries(leader, term, 0, 0, entries, 0).await?;
    if !reply.success {
        return Err(rules::APPEND_NEW_ENTRIES.broken(
            me,
            format!(
                "it refused {k} entries after index 0 from S{leader}, leader of term {term}; \
                 every log holds index 0"
            ),
            s.journal(),
        ));
    }
    expect_reply_term(
        &s,
        &rules::APPEND_REPLY_TERM,
        reply.term.0,
        term,
        format_args!("its reply to S{leader}'s AppendEntries of term {term}"),
    )?;

    let mut probes = vec![
        Probe {
            last_index: k - 1,
            last_term: term,
            grant: false,
            why: "the same last term, and a shorter log",
        },
        Probe {
            last_index: k + 2,
            last_term: term - 1,
            grant: false,
            why: "a longer log, but an earlier last term",
        },
        Probe {
            last_index: 1,
            last_term: term + 1,
            grant: true,
            why: "a later last term, though a shorter log",
        },
        Probe {
            last_index: k,
            last_term: term,
            grant: true,
            why: "the same last entry",
        },
        Probe {
            last_index: k + 1,
            last_term: term,
            grant: true,
            why: "the same last term, and a longer log",
        },
    ];
    // The order of the probes, from the seed.
    for i in (1..probes.len()).rev() {
        let j = runtime::random_range(0..i as u64 + 1) as usize;
        probes.swap(i, j);
    }
    let mut probe_term = term;
    for p in probes {
        probe_term += 1;
        let c = s.pick_other(&[]);
        let reply = s.ask_vote(c, probe_term, p.last_index, p.last_term).await?;
        if reply.vote_granted != p.grant {
            let rule: &Rule = &rules::UP_TO_DATE;
            let what = if reply.vote_granted {
                format!(
                    "it granted S{c} its vote in term {probe_term}, although the candidate's \
                     log (last index {}, last term {}) is behind its own (last index {k}, last \
                     term {term}): {}",
                    p.last_index, p.last_term, p.why
                )
            } else {
                format!(
                    "it denied S{c} its vote in term {probe_term} (the first request of that \
                     term), although the candidate's log (last index {}, last term {}) is at \
                     least as up-to-date as its own (last index {k}, last term {term}): {}",
                    p.last_index, p.last_term, p.why
                )
            };
            return Err(rule.broken(me, what, s.journal()));
        }
        expect_reply_term(
            &s,
            &rules::VOTE_REPLY_TERM,
            reply.term.0,
            probe_term,
            format_args!("its reply to S{c}'s RequestVote of term {probe_term}"),
        )?;
    }
    s.finish()
}
