//! The `AppendEntries` receiver with entries: the consistency check, truncation only at a real
//! conflict, and the follower's commit index.

use super::rules::{self, Rule};
use super::script::Scripted;
use super::{draw, expect_applies, expect_reply_term, peers, probe, Book};
use crate::tester::{Stats, TestFailure};
use raftapi::Peer;

/// Sends entries `from..=to` of `book` after `from - 1` as leader `leader` of `term` with
/// commit index `commit`; the peer must accept them (`rule` says why) and answer in `term`.
pub(crate) async fn store<P: Peer>(
    s: &Scripted<P>,
    leader: usize,
    term: u64,
    book: &Book,
    (from, to): (u64, u64),
    commit: u64,
    rule: &Rule,
) -> Result<(), TestFailure> {
    let prev = from - 1;
    let reply = s
        .send_entries(
            leader,
            term,
            prev,
            book.term(prev),
            book.slice(from, to),
            commit,
        )
        .await?;
    if !reply.success {
        return Err(rule.broken(
            s.me(),
            format!(
                "it refused entries {from}..={to} after index {prev} (term {}) from S{leader}, \
                 leader of term {term}, though its log holds that entry",
                book.term(prev)
            ),
            s.journal(),
        ));
    }
    expect_reply_term(
        s,
        &rules::APPEND_REPLY_TERM,
        reply.term.0,
        term,
        format_args!("its reply to S{leader}'s AppendEntries of term {term}"),
    )
}

/// Probes whether the log of the peer under test holds index `prev` of term `prev_term`:
/// `holds` says what it must answer, `rule` and `why` why.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn expect_holds<P: Peer>(
    s: &Scripted<P>,
    leader: usize,
    term: u64,
    prev: u64,
    prev_term: u64,
    holds: bool,
    rule: &Rule,
    why: impl std::fmt::Display,
) -> Result<(), TestFailure> {
    if probe(s, leader, term, prev, prev_term, 0).await? == holds {
        return Ok(());
    }
    let did = if holds { "refused" } else { "accepted" };
    Err(rule.broken(
        s.me(),
        format!(
            "{why}, it {did} S{leader}'s heartbeat after index {prev} (term {prev_term}) in term \
             {term}"
        ),
        s.journal(),
    ))
}

/// The consistency check refuses a log position the peer does not hold; a delayed, older
/// `AppendEntries` whose entries it already holds truncates nothing; a real conflict deletes
/// the conflicting entry and all that follow; and what it then applies is the leader's log.
pub(crate) async fn conflict<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let mut s = Scripted::<P>::new(peers())?;
    s.begin(title);
    let leader = s.pick_other(&[]);
    let term = draw(2, 6);
    // k entries of nondecreasing terms, the last of `term`.
    let k = draw(4, 8);
    let mut terms: Vec<u64> = (1..k).map(|_| draw(1, term)).collect();
    terms.sort_unstable();
    terms.push(term);
    let mut book = Book::default();
    for t in &terms {
        book.push(*t, "a");
    }
    store(
        &s,
        leader,
        term,
        &book,
        (1, k),
        0,
        &rules::APPEND_NEW_ENTRIES,
    )
    .await?;

    // The consistency check: past its end, and a wrong term at an index it holds.
    let past = k + draw(1, 3);
    expect_holds(
        &s,
        leader,
        term,
        past,
        term,
        false,
        &rules::APPEND_CONSISTENCY,
        format_args!("its log ends at index {k}"),
    )
    .await?;
    let i = draw(1, k);
    let held = book.term(i);
    // A heartbeat after an entry it holds: nothing follows it in the request, so nothing of
    // the log goes.
    expect_holds(
        &s,
        leader,
        term,
        i,
        held,
        true,
        &rules::APPEND_CONSISTENCY,
        format_args!("its entry at index {i} is of term {held}"),
    )
    .await?;
    expect_holds(
        &s,
        leader,
        term,
        k,
        term,
        true,
        &rules::APPEND_CONFLICT,
        format_args!(
            "after a heartbeat after index {i}, which conflicts with nothing, its log must \
             still end with entry {k} (term {term})"
        ),
    )
    .await?;

    // A delayed AppendEntries of the same leader, with a prefix of what it sent since.
    let j = draw(1, k - 1);
    let p = draw(0, j - 1);
    s.note(format!(
        "a delayed AppendEntries arrives: entries {}..={j}, which S{} already holds",
        p + 1,
        s.me()
    ));
    store(
        &s,
        leader,
        term,
        &book,
        (p + 1, j),
        0,
        &rules::APPEND_NEW_ENTRIES,
    )
    .await?;
    expect_holds(
        &s,
        leader,
        term,
        k,
        term,
        true,
        &rules::APPEND_CONFLICT,
        format_args!(
            "a delayed AppendEntries with entries {}..={j}, each already in its log with the \
             same term, conflicts with nothing, so entries {}..={k} must stay; yet afterwards",
            p + 1,
            j + 1
        ),
    )
    .await?;

    // A real conflict: a leader of a later term whose entries from index c on differ.
    let leader2 = s.pick_other(&[]);
    let term2 = term + draw(1, 3);
    let c = draw(2, k);
    let end = draw(c, k);
    book.truncate(c - 1);
    book.extend(end - c + 1, term2, "b");
    s.note(format!(
        "S{leader2}, leader of term {term2}, sends entries {c}..={end} of its term: they \
         conflict from index {c} on"
    ));
    store(
        &s,
        leader2,
        term2,
        &book,
        (c, end),
        0,
        &rules::APPEND_NEW_ENTRIES,
    )
    .await?;
    expect_holds(
        &s,
        leader2,
        term2,
        k,
        term,
        false,
        &rules::APPEND_CONFLICT,
        format_args!(
            "entries {c}..={end} of term {term2} replaced those of its log from index {c} on, \
             and everything after them must go"
        ),
    )
    .await?;
    expect_holds(
        &s,
        leader2,
        term2,
        end,
        term2,
        true,
        &rules::APPEND_CONFLICT,
        format_args!("it acknowledged entries {c}..={end} of term {term2}"),
    )
    .await?;

    // What it applies is the new leader's log.
    let mark = s.mark();
    let reply = s
        .send_entries(leader2, term2, end, term2, Vec::new(), end)
        .await?;
    if !reply.success {
        return Err(rules::APPEND_CONSISTENCY.broken(
            s.me(),
            format!("it refused a heartbeat after its last entry {end} (term {term2})"),
            s.journal(),
        ));
    }
    expect_applies(
        &s,
        mark,
        &book.applies(1, end),
        &rules::APPEND_CONFLICT,
        format_args!(
            "once S{leader2} committed through index {end} (its log: {} entries before index \
             {c} as sent in term {term}, then its own)",
            c - 1
        ),
    )
    .await?;

    // Last (a peer may drop the entry that does not match, and what follows): a wrong term
    // at an index it holds.
    let i = draw(1, end);
    let held = book.term(i);
    let wrong = if held > 1 { held - 1 } else { held + 1 };
    expect_holds(
        &s,
        leader2,
        term2,
        i,
        wrong,
        false,
        &rules::APPEND_CONSISTENCY,
        format_args!("its entry at index {i} is of term {held}, not {wrong}"),
    )
    .await?;
    s.finish()
}

/// The follower's commit index is `min(leaderCommit, index of last new entry)`: it applies
/// no further than the leader's commit index, and no further than what the request it
/// accepted vouches for, even when its log goes on (with entries the leader does not have).
pub(crate) async fn commit<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let mut s = Scripted::<P>::new(peers())?;
    s.begin(title);
    let l1 = s.pick_other(&[]);
    let t1 = draw(1, 3);
    let k = draw(4, 8);
    let j = draw(2, k - 1);
    let c0 = draw(1, j - 1);
    let mut book = Book::default();
    book.extend(k, t1, "a");

    // All k entries, with the leader's commit index c0 below them.
    let mark = s.mark();
    store(&s, l1, t1, &book, (1, k), c0, &rules::APPEND_NEW_ENTRIES).await?;
    expect_applies(
        &s,
        mark,
        &book.applies(1, c0),
        &rules::APPEND_COMMIT,
        format_args!(
            "after S{l1} sent entries 1..={k} with leaderCommit {c0}, commitIndex is \
             min({c0}, {k}) = {c0}"
        ),
    )
    .await?;

    // A new leader whose log agrees only through j: its heartbeat after index j carries its
    // commit index, which covers its own entries after j, not those the peer holds there.
    let l2 = s.pick_other(&[l1]);
    let t2 = t1 + draw(1, 3);
    let k2 = k + draw(0, 2);
    let mut book2 = book.clone();
    book2.truncate(j);
    book2.extend(k2 - j, t2, "b");
    s.note(format!(
        "S{l2}, leader of term {t2}, has committed through index {k2}; its log agrees with \
         S{}'s through index {j} only",
        s.me()
    ));
    let mark = s.mark();
    let reply = s.send_entries(l2, t2, j, t1, Vec::new(), k2).await?;
    if !reply.success {
        return Err(rules::APPEND_CONSISTENCY.broken(
            s.me(),
            format!(
                "it refused S{l2}'s heartbeat after index {j} (term {t1}), an entry its log \
                 holds"
            ),
            s.journal(),
        ));
    }
    expect_applies(
        &s,
        mark,
        &book.applies(c0 + 1, j),
        &rules::APPEND_COMMIT,
        format_args!(
            "after S{l2}'s heartbeat after index {j} with leaderCommit {k2}, commitIndex is \
             min({k2}, {j}) = {j}: the request vouches for nothing past index {j}"
        ),
    )
    .await?;

    // The new leader's entries after j, a part of them: commit through the last new one.
    let m = draw(j + 1, k2);
    let mark = s.mark();
    store(
        &s,
        l2,
        t2,
        &book2,
        (j + 1, m),
        k2,
        &rules::APPEND_NEW_ENTRIES,
    )
    .await?;
    expect_applies(
        &s,
        mark,
        &book2.applies(j + 1, m),
        &rules::APPEND_COMMIT,
        format_args!(
            "after S{l2} sent entries {}..={m} of term {t2} with leaderCommit {k2}, \
             commitIndex is min({k2}, {m}) = {m}",
            j + 1
        ),
    )
    .await?;
    s.finish()
}
