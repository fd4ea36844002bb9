//! Persistent state: "Updated on stable storage before responding to RPCs" — the log, the
//! term and the vote, checked by crashing the peer right after each answer.

use super::follower::{expect_holds, store};
use super::rules;
use super::script::Scripted;
use super::votes::{expect_one_vote_without_crash, expect_term_restored};
use super::{draw, expect_applies, peers, Book};
use crate::tester::{Stats, TestFailure};
use raftapi::Peer;

/// Restarts the peer under test and checks it came back in `term`; `before` says what it had
/// answered just before the crash.
fn restart_in<P: Peer>(s: &mut Scripted<P>, term: u64, before: &str) -> Result<(), TestFailure> {
    s.restart()?;
    expect_term_restored(s, term, before)
}

/// Checks after a restart that the peer applies exactly `book`'s entries `1..=last` once
/// leader `from` of `term` says they are committed: the commands survived too.
async fn expect_log_applied<P: Peer>(
    s: &Scripted<P>,
    from: usize,
    term: u64,
    book: &Book,
    when: &str,
) -> Result<(), TestFailure> {
    let last = book.last();
    let mark = s.mark();
    let reply = s
        .send_entries(from, term, last, book.term(last), Vec::new(), last)
        .await?;
    if !reply.success {
        return Err(rules::PERSISTENT_STATE.broken(
            s.me(),
            format!(
                "{when}, it refused S{from}'s heartbeat after index {last} (term {}), the last \
                 entry it had acknowledged before the crash",
                book.term(last)
            ),
            s.journal(),
        ));
    }
    expect_applies(
        s,
        mark,
        &book.applies(1, last),
        &rules::PERSISTENT_STATE,
        format_args!(
            "{when}, once S{from} committed through index {last} (log[] is persistent state: the \
             commands must survive as acknowledged)"
        ),
    )
    .await
}

/// The log, the term and the vote survive a crash right after every answer that depended on
/// them: entries appended, a vote granted, entries replaced at a conflict, a term adopted
/// from a denied vote, entries appended again.
pub(crate) async fn log_persisted<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let mut s = Scripted::<P>::new(peers())?;
    s.begin(title);

    // Entries appended.
    let l1 = s.pick_other(&[]);
    let t1 = draw(1, 3);
    let k1 = draw(2, 5);
    let mut book = Book::default();
    book.extend(k1, t1, "p");
    store(&s, l1, t1, &book, (1, k1), 0, &rules::APPEND_NEW_ENTRIES).await?;
    restart_in(
        &mut s,
        t1,
        &format!("acknowledged entries 1..={k1} from S{l1}"),
    )?;
    expect_holds(
        &s,
        l1,
        t1,
        k1,
        t1,
        true,
        &rules::PERSISTENT_STATE,
        format_args!(
            "before the crash it had acknowledged entries 1..={k1} of term {t1} (log[] was not \
             on stable storage when it answered)"
        ),
    )
    .await?;
    // (Nothing is committed until the end: a later leader replaces some of these entries.)

    // A vote granted. One vote per term first, with no crash and in a term of its own, so that
    // a peer that grants every candidate is told that, not that it forgot its vote.
    let t_once = t1 + draw(1, 2);
    let first = s.pick_other(&[]);
    let second = s.pick_other(&[first]);
    expect_one_vote_without_crash(&s, (first, second), t_once, (k1, t1)).await?;
    let c = s.pick_other(&[]);
    let t2 = t_once + 1;
    let reply = s.ask_vote(c, t2, k1, t1).await?;
    if !reply.vote_granted {
        return Err(rules::VOTE_GRANT.broken(
            s.me(),
            format!(
                "it denied S{c} its vote in term {t2}, the first request of that term, from a \
                 candidate whose log (last index {k1}, term {t1}) is as up-to-date as its own"
            ),
            s.journal(),
        ));
    }
    restart_in(&mut s, t2, &format!("granted S{c} its vote"))?;
    let d = s.pick_other(&[c]);
    let reply = s.ask_vote(d, t2, k1, t1).await?;
    if reply.vote_granted {
        return Err(rules::PERSISTENT_STATE.broken(
            s.me(),
            format!(
                "it granted S{d} its vote in term {t2}; before the crash it had voted for S{c} \
                 in that term (votedFor was not on stable storage when it answered)"
            ),
            s.journal(),
        ));
    }

    // Entries replaced at a conflict.
    let l3 = s.pick_other(&[]);
    let t3 = t2 + 1;
    let from = draw(2, k1);
    let end = draw(from, k1);
    book.truncate(from - 1);
    book.extend(end - from + 1, t3, "q");
    s.note(format!(
        "S{l3}, leader of term {t3}, sends entries {from}..={end} of its term: they conflict \
         from index {from} on"
    ));
    store(
        &s,
        l3,
        t3,
        &book,
        (from, end),
        0,
        &rules::APPEND_NEW_ENTRIES,
    )
    .await?;
    restart_in(
        &mut s,
        t3,
        &format!("acknowledged S{l3}'s entries {from}..={end}"),
    )?;
    expect_holds(
        &s,
        l3,
        t3,
        end,
        t3,
        true,
        &rules::PERSISTENT_STATE,
        format_args!(
            "before the crash it had replaced its entries from index {from} on with entries \
             {from}..={end} of term {t3} and acknowledged them (the new log was not on stable \
             storage when it answered)"
        ),
    )
    .await?;
    expect_holds(
        &s,
        l3,
        t3,
        k1,
        t1,
        false,
        &rules::PERSISTENT_STATE,
        format_args!(
            "before the crash it had deleted its entries of term {t1} from index {from} on (they \
             conflicted with S{l3}'s), and acknowledged that"
        ),
    )
    .await?;

    // A term adopted from a vote it denied (the candidate's log is behind).
    let e = s.pick_other(&[]);
    let t4 = t3 + draw(1, 2);
    let reply = s.ask_vote(e, t4, 1, t1).await?;
    if reply.vote_granted {
        return Err(rules::UP_TO_DATE.broken(
            s.me(),
            format!(
                "it granted S{e} its vote in term {t4}, although the candidate's log (last index \
                 1, term {t1}) is behind its own (last index {end}, term {t3})"
            ),
            s.journal(),
        ));
    }
    restart_in(
        &mut s,
        t4,
        &format!("denied S{e} its vote, answering in term {t4}"),
    )?;

    // Entries appended again; then the whole log, as acknowledged, is what it applies.
    let l5 = s.pick_other(&[]);
    let more = draw(1, 3);
    book.extend(more, t4, "r");
    store(
        &s,
        l5,
        t4,
        &book,
        (end + 1, book.last()),
        0,
        &rules::APPEND_NEW_ENTRIES,
    )
    .await?;
    restart_in(
        &mut s,
        t4,
        &format!("acknowledged S{l5}'s entries {}..={}", end + 1, book.last()),
    )?;
    expect_log_applied(&s, l5, t4, &book, "after its last crash").await?;
    s.finish()
}
