//! The `InstallSnapshot` receiver (Figure 13, as the lab sends it: the whole snapshot in one
//! RPC) and the apply order around a snapshot; and the sender: a leader sends its snapshot to a
//! follower that needs what it discarded.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use raftapi::{ApplyMsg, InstallSnapshotArgs, PeerId, Term};

use super::follower::{expect_holds, store};
use super::journal::Message;
use super::model::{model_appends, model_snapshots, ModelFollower};
use super::rules::{self, Rule};
use super::script::Scripted;
use super::terms::make_leader;
use super::{applies_text, apply_grace, draw, expect_applies, peers, probe, Book, APPLY_WITHIN};
use crate::tester::{Stats, TestFailure};
use raftapi::Peer;

/// Sends the peer under test a snapshot through `index` (of `term`) from leader `from` of
/// `leader_term`; returns the `ApplyMsg` a peer that installs it applies.
async fn send_snapshot<P: Peer>(
    s: &Scripted<P>,
    from: usize,
    leader_term: u64,
    index: u64,
    term: u64,
) -> Result<ApplyMsg, TestFailure> {
    let data = format!("snapshot through {index}").into_bytes();
    let args = InstallSnapshotArgs {
        term: Term(leader_term),
        leader_id: PeerId(from),
        last_included_index: index,
        last_included_term: Term(term),
        data: data.clone(),
        ..Default::default()
    };
    s.install_snapshot(from, args).await?;
    Ok(ApplyMsg::Snapshot { index, term, data })
}

/// Checks that the peer applies exactly the snapshot `snapshot` after journal mark `mark`:
/// without it, "Reset state machine using snapshot contents" is broken; with anything else,
/// the apply order.
async fn expect_snapshot_applied<P: Peer>(
    s: &Scripted<P>,
    mark: usize,
    snapshot: &ApplyMsg,
    why: impl std::fmt::Display,
) -> Result<(), TestFailure> {
    let _ = s
        .next_applied(mark, APPLY_WITHIN, |m| (m == snapshot).then_some(()))
        .await;
    labrpc::runtime::sleep(apply_grace()).await;
    let got = s.applied_since(mark);
    if got.as_slice() == std::slice::from_ref(snapshot) {
        return Ok(());
    }
    let rule: &Rule = if got.contains(snapshot) {
        &rules::APPLY
    } else {
        &rules::SNAPSHOT_RESET
    };
    Err(rule.broken(
        s.me(),
        format!(
            "{why}, it applied {} (expected {}: the snapshot, and no command it covers)",
            applies_text(&got),
            applies_text(std::slice::from_ref(snapshot))
        ),
        s.journal(),
    ))
}

/// `InstallSnapshot`: a snapshot of a prefix it holds keeps the entries after it, is applied
/// before them and nothing it covers after it; an older snapshot changes nothing; a snapshot
/// whose last entry conflicts discards the whole log; applying goes on after the snapshot.
pub(crate) async fn install<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let mut s = Scripted::<P>::new(peers())?;
    s.begin(title);
    let l = s.pick_other(&[]);
    let t = draw(2, 4);
    let k = draw(6, 10);
    let mut terms: Vec<u64> = (1..k).map(|_| draw(1, t)).collect();
    terms.sort_unstable();
    terms.push(t);
    let mut book = Book::default();
    for term in &terms {
        book.push(*term, "s");
    }
    let c = draw(1, 2);
    let mark = s.mark();
    store(&s, l, t, &book, (1, k), c, &rules::APPEND_NEW_ENTRIES).await?;
    expect_applies(
        &s,
        mark,
        &book.applies(1, c),
        &rules::APPEND_COMMIT,
        format_args!("after S{l} sent entries 1..={k} with leaderCommit {c}"),
    )
    .await?;

    // A snapshot of a prefix of its log, beyond its commit index.
    let at = draw(c + 2, k - 1);
    let at_term = book.term(at);
    let mark = s.mark();
    s.note(format!(
        "S{l} sends a snapshot through index {at} (term {at_term}); S{} has applied through \
         {c} and holds entries through {k}",
        s.me()
    ));
    let snap = send_snapshot(&s, l, t, at, at_term).await?;
    expect_snapshot_applied(
        &s,
        mark,
        &snap,
        format_args!(
            "after S{l}'s snapshot through index {at}, beyond what it had applied (through {c})"
        ),
    )
    .await?;
    expect_holds(
        &s,
        l,
        t,
        k,
        book.term(k),
        true,
        &rules::SNAPSHOT_RETAIN,
        format_args!(
            "its log held entry {at} of term {at_term}, the snapshot's last included entry, so \
             entries {}..={k} had to stay; yet",
            at + 1
        ),
    )
    .await?;
    let mark = s.mark();
    if !probe(&s, l, t, k, book.term(k), k).await? {
        return Err(rules::SNAPSHOT_RETAIN.broken(
            s.me(),
            format!("it refused a heartbeat after index {k}, an entry it had kept"),
            s.journal(),
        ));
    }
    expect_applies(
        &s,
        mark,
        &book.applies(at + 1, k),
        &rules::APPLY,
        format_args!(
            "once S{l} committed through {k}, after the snapshot through {at}: the next \
             command to apply is {}",
            at + 1
        ),
    )
    .await?;

    // An older snapshot: it has applied everything it covers.
    let old = draw(1, k);
    let mark = s.mark();
    s.note(format!(
        "S{l} sends a snapshot through index {old}, older than what S{} has applied",
        s.me()
    ));
    send_snapshot(&s, l, t, old, book.term(old)).await?;
    // The snapshot's age first: a late snapshot changes neither the state machine nor the log,
    // and a peer that takes it as new is told so here, not by what goes wrong next.
    expect_applies(
        &s,
        mark,
        &[],
        &rules::SNAPSHOT_PREFIX,
        format_args!(
            "after a snapshot through index {old}, which it had applied long before (through \
             {k}): its state machine holds all of it already (lastApplied only moves forward), \
             yet"
        ),
    )
    .await?;
    expect_holds(
        &s,
        l,
        t,
        k,
        book.term(k),
        true,
        &rules::SNAPSHOT_PREFIX,
        format_args!(
            "a snapshot through index {old} describes a prefix of its log (entries 1..={k}), so \
             entries {}..={k} had to stay; yet",
            old + 1
        ),
    )
    .await?;
    book.extend(2, t, "s");
    store(
        &s,
        l,
        t,
        &book,
        (k + 1, k + 2),
        k + 2,
        &rules::APPEND_CONSISTENCY,
    )
    .await?;
    expect_applies(
        &s,
        mark,
        &book.applies(k + 1, k + 2),
        &rules::APPLY,
        format_args!(
            "after a snapshot through index {old}, which it had applied long before (through \
             {k}), and then entries {}..={} committed: lastApplied only moves forward",
            k + 1,
            k + 2
        ),
    )
    .await?;

    // Entries beyond the commit index, then a snapshot from a new leader whose last entry
    // conflicts with them: the whole log goes.
    let committed = k + 2;
    let u = draw(2, 4);
    book.extend(u, t, "s");
    let last = book.last();
    store(
        &s,
        l,
        t,
        &book,
        (committed + 1, last),
        committed,
        &rules::APPEND_NEW_ENTRIES,
    )
    .await?;
    let l2 = s.pick_other(&[l]);
    let t2 = t + draw(1, 2);
    let at2 = committed + draw(1, u - 1);
    let mark = s.mark();
    s.note(format!(
        "S{l2}, leader of term {t2}, sends a snapshot through index {at2} of term {t2}; S{} \
         holds that index with term {t}",
        s.me()
    ));
    let snap = send_snapshot(&s, l2, t2, at2, t2).await?;
    expect_snapshot_applied(
        &s,
        mark,
        &snap,
        format_args!(
            "after S{l2}'s snapshot through index {at2}, beyond its commit index {committed}"
        ),
    )
    .await?;
    expect_holds(
        &s,
        l2,
        t2,
        last,
        t,
        false,
        &rules::SNAPSHOT_DISCARD,
        format_args!(
            "its entry {at2} was of term {t}, not the snapshot's last included term {t2}, so \
             no entry of its log could stay (entries {}..={last} included)",
            at2 + 1
        ),
    )
    .await?;

    // Applying goes on from the entry after the snapshot.
    let mut after = Book::default();
    after.extend(at2 - 1, 0, "unused");
    after.push(t2, "snapshot");
    after.extend(2, t2, "n");
    let mark = s.mark();
    store(
        &s,
        l2,
        t2,
        &after,
        (at2 + 1, at2 + 2),
        at2 + 2,
        &rules::APPEND_CONSISTENCY,
    )
    .await?;
    expect_applies(
        &s,
        mark,
        &after.applies(at2 + 1, at2 + 2),
        &rules::APPLY,
        format_args!(
            "after the snapshot through {at2}, once S{l2} committed through {}",
            at2 + 2
        ),
    )
    .await?;
    s.finish()
}

/// How long a leader may take to bring a follower that needs a discarded entry up to date:
/// a refusal, the snapshot, the entries after it.
pub const SNAPSHOT_SENT_WITHIN: Duration = Duration::from_secs(3);

/// The leader's side of Figure 13 (as the lab sends it, the whole snapshot at once): a
/// follower that needs an entry the leader has discarded gets the leader's snapshot, which is
/// the one its service made, then the entries after it. The leader is restarted between its
/// service's snapshot and its election, so it sends the snapshot it saved with its state.
pub(crate) async fn send<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let mut s = Scripted::<P>::new(peers())?;
    s.begin(title);
    let me = s.me();
    let l = s.pick_other(&[]);
    let t = draw(1, 3);
    let k = draw(5, 9);
    let mut terms: Vec<u64> = (1..k).map(|_| draw(1, t)).collect();
    terms.sort_unstable();
    terms.push(t);
    let mut book = Book::default();
    for term in &terms {
        book.push(*term, "s");
    }
    let mark = s.mark();
    store(&s, l, t, &book, (1, k), k, &rules::APPEND_NEW_ENTRIES).await?;
    expect_applies(
        &s,
        mark,
        &book.applies(1, k),
        &rules::APPEND_COMMIT,
        format_args!("after S{l} sent entries 1..={k} with leaderCommit {k}"),
    )
    .await?;

    // Its service snapshots a prefix; then a crash: the restarted peer holds the snapshot and
    // the entries after it.
    let at = draw(2, k - 1);
    let data = format!("the service's state through index {at}").into_bytes();
    s.service_snapshot(at, data.clone());
    s.restart()?;

    // Followers that hold only a part of what the snapshot covers.
    let mut followers = Vec::new();
    for j in s.others() {
        let has = draw(0, at - 1);
        let model = Arc::new(Mutex::new(ModelFollower::new(&terms[..has as usize])));
        s.set_appends(j, model_appends(&model));
        s.set_snapshots(j, model_snapshots(&model));
        s.note(format!(
            "scripts: S{j} holds entries 1..={has} of S{me}'s log and answers AppendEntries and \
             InstallSnapshot as followers do"
        ));
        followers.push((j, has, model));
    }
    let mark = s.mark();
    let term = make_leader(&s).await?;
    let _ = s
        .journal()
        .wait_for(mark, SNAPSHOT_SENT_WITHIN, |_| {
            followers
                .iter()
                .all(|(_, _, m)| m.lock().holds(&terms))
                .then_some(())
        })
        .await;
    let why = |j: usize, has: u64| {
        format!(
            "as leader of term {term}, restarted since its service snapshotted through index \
             {at}, it had to bring S{j} (whose log ends at index {has}) up to date"
        )
    };
    for (j, has, model) in &followers {
        let sent = s.journal().find(mark, |r| match r.sent_by(me) {
            Some((to, Message::InstallSnapshot(a))) if to == *j && a.term.0 == term => {
                Some(a.clone())
            }
            _ => None,
        });
        let Some((_, snap)) = sent else {
            return Err(rules::SNAPSHOT_SEND.broken(
                me,
                format!(
                    "{}; it sent S{j} no InstallSnapshot within {SNAPSHOT_SENT_WITHIN:?}, though \
                     S{j} needs entries through {at}, which its log no longer holds",
                    why(*j, *has)
                ),
                s.journal(),
            ));
        };
        let (index, last_term) = (snap.last_included_index, snap.last_included_term.0);
        if (index, last_term) != (at, book.term(at)) {
            return Err(rules::SNAPSHOT_SEND.broken(
                me,
                format!(
                    "{}; its InstallSnapshot to S{j} was through index {index} (term \
                     {last_term}), not through {at} (term {}), the snapshot it had",
                    why(*j, *has),
                    book.term(at)
                ),
                s.journal(),
            ));
        }
        if snap.data != data {
            return Err(rules::SNAPSHOT_SEND.broken(
                me,
                format!(
                    "{}; its InstallSnapshot to S{j} through index {at} carried {} bytes, not the \
                     {} bytes its service made (a restarted peer reads its snapshot back with its \
                     state, persister.read_snapshot(), and sends that)",
                    why(*j, *has),
                    snap.data.len(),
                    data.len()
                ),
                s.journal(),
            ));
        }
        if !model.lock().holds(&terms) {
            return Err(rules::SNAPSHOT_SEND.broken(
                me,
                format!(
                    "{}; after the snapshot through {at} it had not sent S{j} entries {}..={k} \
                     within {SNAPSHOT_SENT_WITHIN:?}",
                    why(*j, *has),
                    at + 1
                ),
                s.journal(),
            ));
        }
    }
    s.finish()
}
