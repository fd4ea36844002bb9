//! The leader's side of replication: it commits an entry of an older term only by committing
//! one of its own (Figure 8), it acts on a reply only while it leads the term it sent the
//! request in, and it backs up over a diverging follower one term at a time.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use labrpc::runtime;

use super::journal::{Event, Message};
use super::model::{model_appends, ModelFollower};
use super::rules::{self, Rule};
use super::script::{success_reply, Answer, Gate, Scripted};
use super::terms::make_leader;
use super::{draw, expect_applies, expect_state, peers, Book, FIRST_HEARTBEAT_WITHIN};
use crate::tester::{Stats, TestFailure};
use raftapi::Peer;

/// How long the tester watches a leader for a commit it must not make: several heartbeat
/// intervals of any peer that heartbeats at least every 250 ms.
pub const NO_COMMIT_WATCH: Duration = Duration::from_secs(1);

/// How long a leader may take to bring a diverging follower's log in line with its own.
pub const BACKUP_WITHIN: Duration = Duration::from_secs(3);

/// Refused `AppendEntries` a leader may spend on a diverging follower beyond one per term with
/// conflicting entries in the follower's log: one for its own conflicting term, one for a
/// follower log too short, and one spare (a no-op entry of its new term, say).
pub const BACKUP_SLACK: u64 = 3;

/// Sends the peer under test entries `1..=book.last()` as leader `from` of `term` (commit
/// index 0); it must store them.
async fn give_log<P: Peer>(
    s: &Scripted<P>,
    from: usize,
    term: u64,
    book: &Book,
) -> Result<(), TestFailure> {
    let last = book.last();
    let reply = s
        .send_entries(from, term, 0, 0, book.slice(1, last), 0)
        .await?;
    if reply.success {
        return Ok(());
    }
    Err(rules::APPEND_NEW_ENTRIES.broken(
        s.me(),
        format!(
            "it refused entries 1..={last} after index 0 from S{from}, leader of term {term}; \
             every log holds index 0"
        ),
        s.journal(),
    ))
}

/// Asks the leader under test to start `command`; it must take it at `index` in `term`.
fn start_on<P: Peer>(
    s: &Scripted<P>,
    command: Vec<u8>,
    index: u64,
    term: u64,
) -> Result<(), TestFailure> {
    let got = s.peer().and_then(|p| p.start(command));
    if got == Some((index, term)) {
        return Ok(());
    }
    Err(TestFailure::new(format!(
        "S{} is the leader of term {term} with {} entries, and start() returned {got:?}, not \
         Some(({index}, {term}))\nthe exchange:\n{}",
        s.me(),
        index - 1,
        s.journal().transcript()
    )))
}

/// Waits until the leader under test has sent each of `to` an `AppendEntries` of `term` that
/// reaches index `through` (journal mark `mark` on); `what` names it for the failure.
async fn expect_sent_through<P: Peer>(
    s: &Scripted<P>,
    mark: usize,
    to: &[usize],
    term: u64,
    through: u64,
    what: &str,
) -> Result<(), TestFailure> {
    let me = s.me();
    let mut reached: BTreeSet<usize> = BTreeSet::new();
    let done = s
        .journal()
        .wait_for(mark, FIRST_HEARTBEAT_WITHIN, |r| {
            if let Some((j, Message::AppendEntries(a))) = r.sent_by(me) {
                if a.term.0 == term && a.prev_log_index + a.entries.len() as u64 >= through {
                    reached.insert(j);
                }
            }
            to.iter().all(|j| reached.contains(j)).then_some(())
        })
        .await;
    if done.is_some() {
        return Ok(());
    }
    let missing: Vec<String> = to
        .iter()
        .filter(|j| !reached.contains(j))
        .map(|j| format!("S{j}"))
        .collect();
    Err(rules::LEADER_HEARTBEAT.broken(
        me,
        format!(
            "as leader of term {term} it sent {} no AppendEntries {what} within \
             {FIRST_HEARTBEAT_WITHIN:?}",
            missing.join(", ")
        ),
        s.journal(),
    ))
}

/// Watches the leader under test for [`NO_COMMIT_WATCH`] from journal mark `mark`: it must
/// apply nothing and send no `AppendEntries` with a commit index of `floor` or more.
async fn expect_no_commit<P: Peer>(
    s: &Scripted<P>,
    mark: usize,
    floor: u64,
    rule: &Rule,
    why: impl std::fmt::Display,
) -> Result<(), TestFailure> {
    let me = s.me();
    let found = s
        .journal()
        .wait_for(mark, NO_COMMIT_WATCH, |r| match &r.event {
            Event::Message {
                from,
                to,
                message: Message::AppendEntries(a),
            } if *from == me && a.leader_commit >= floor => Some(format!(
                "it sent S{to} AppendEntries with leader_commit={}",
                a.leader_commit
            )),
            Event::Applied { peer, msg } if *peer == me => {
                Some(format!("it applied index {}", msg.index()))
            }
            _ => None,
        })
        .await;
    match found {
        None => Ok(()),
        Some((_, did)) => Err(rule.broken(me, format!("{why}; yet {did}"), s.journal())),
    }
}

/// The scripted peers in an order drawn from the seed.
fn shuffled<P: Peer>(s: &Scripted<P>) -> Vec<usize> {
    let mut others = s.others();
    for i in (1..others.len()).rev() {
        let j = runtime::random_range(0..i as u64 + 1) as usize;
        others.swap(i, j);
    }
    others
}

fn names(ids: &[usize]) -> String {
    ids.iter()
        .map(|j| format!("S{j}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Figure 8: a new leader whose log ends with entries of an older term, held by just a
/// majority, must not commit them by counting replicas; once an entry of its own term is on a
/// majority, it commits that one and, with it, all before.
pub(crate) async fn old_term_commit<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let mut s = Scripted::<P>::new(peers())?;
    s.begin(title);
    let l0 = s.pick_other(&[]);
    let t0 = draw(1, 3);
    let k = draw(1, 4);
    let mut book = Book::default();
    book.extend(k, t0, "old");
    give_log(&s, l0, t0, &book).await?;

    // Just enough followers for a majority hold the same entries; the others never answer.
    let order = shuffled(&s);
    let (holders, silent) = order.split_at(s.n() / 2);
    let models: Vec<Arc<Mutex<ModelFollower>>> = holders
        .iter()
        .map(|_| Arc::new(Mutex::new(ModelFollower::new(&vec![t0; k as usize]))))
        .collect();
    for (j, m) in holders.iter().zip(&models) {
        s.set_appends(*j, model_appends(m));
    }
    for j in silent {
        s.set_appends(*j, Arc::new(|_| Answer::Never));
    }
    s.note(format!(
        "scripts: {} hold entries 1..={k} of term {t0} and answer AppendEntries as followers \
         do; {} never answer",
        names(holders),
        if silent.is_empty() {
            "no one else".to_string()
        } else {
            names(silent)
        }
    ));
    let mark = s.mark();
    let term = make_leader(&s).await?;
    expect_sent_through(&s, mark, holders, term, k, "after its last entry").await?;
    // The requests are recorded as they arrive, their answers (the models') right after.
    let acked = |m: &Arc<Mutex<ModelFollower>>| {
        m.lock()
            .probes()
            .iter()
            .any(|p| p.term == term && p.success && p.prev_log_index + p.entries >= k)
    };
    let all_acked = s
        .journal()
        .wait_for(mark, FIRST_HEARTBEAT_WITHIN, |_| {
            models.iter().all(acked).then_some(())
        })
        .await;
    if all_acked.is_none() {
        return Err(TestFailure::new(format!(
            "the scripted followers {} did not all acknowledge index {k} in term {term} (the \
             tester's bug)\nthe exchange:\n{}",
            names(holders),
            s.journal().transcript()
        )));
    }
    let mark = s.mark();
    expect_no_commit(
        &s,
        mark,
        1,
        &rules::OLD_TERM_COMMIT,
        format_args!(
            "as leader of term {term}, its log ended with entries 1..={k} of term {t0}, and \
             {} acknowledged them (a majority with itself), but it had no entry of its own term",
            names(holders)
        ),
    )
    .await?;

    // An entry of its own term, acknowledged by the same majority, commits everything.
    book.push(term, "new");
    let mark = s.mark();
    start_on(&s, book.command(k + 1), k + 1, term)?;
    expect_applies(
        &s,
        mark,
        &book.applies(1, k + 1),
        &rules::LEADER_COMMIT,
        format_args!(
            "once {} acknowledged entry {} of its term {term}, a majority held it",
            names(holders),
            k + 1
        ),
    )
    .await?;
    s.finish()
}

/// A leader acts on a reply only while it leads the term it sent the request in: successes
/// to its `AppendEntries` of an earlier term, delivered once it leads again with a different
/// log, must not move its commit index.
pub(crate) async fn stale_reply<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let mut s = Scripted::<P>::new(peers())?;
    s.begin(title);
    let me = s.me();
    let l0 = s.pick_other(&[]);
    let t0 = draw(1, 2);
    let m = draw(2, 5);
    let mut first = Book::default();
    first.extend(m, t0, "x");
    give_log(&s, l0, t0, &first).await?;

    // Term t1: every follower acknowledges, but its replies are held.
    let gate1 = Gate::new();
    let held = gate1.clone();
    s.set_all_appends(Arc::new(move |args| {
        Answer::After(held.clone(), success_reply(args.term.0))
    }));
    s.note("scripts: every peer acknowledges AppendEntries, but its replies are held");
    let mark = s.mark();
    let t1 = make_leader(&s).await?;
    let others = s.others();
    expect_sent_through(&s, mark, &others, t1, 0, "").await?;

    // Deposed by a leader of a later term whose log differs from index 1 on.
    let l2 = s.pick_other(&[]);
    let t2 = t1 + draw(1, 2);
    let mut book = Book::default();
    book.push(t2, "y");
    s.note(format!(
        "S{l2}, leader of term {t2}, replaces S{me}'s log with one entry of its term"
    ));
    let reply = s.send_entries(l2, t2, 0, 0, book.slice(1, 1), 0).await?;
    if !reply.success {
        return Err(rules::APPEND_CONFLICT.broken(
            me,
            format!("it refused S{l2}'s entry 1 (term {t2}) after index 0 in term {t2}"),
            s.journal(),
        ));
    }
    expect_state(
        &s,
        t2,
        false,
        &rules::HIGHER_TERM,
        format_args!("after S{l2}'s AppendEntries of term {t2}"),
    )?;

    // The followers hold that entry too; they acknowledge it at once, and anything after it
    // only when the tester lets them.
    let gate3 = Gate::new();
    for j in s.others() {
        let model = Arc::new(Mutex::new(ModelFollower::new(&[t2])));
        let held = gate3.clone();
        s.set_appends(
            j,
            Arc::new(move |args| {
                let reply = model.lock().answer(args);
                if reply.success && args.prev_log_index + args.entries.len() as u64 > 1 {
                    Answer::After(held.clone(), reply)
                } else {
                    Answer::Now(reply)
                }
            }),
        );
    }
    s.note(format!(
        "scripts: every peer holds entry 1 of term {t2} and acknowledges AppendEntries through \
         it at once, through later entries only when the tester lets it"
    ));
    let elected = s.mark();
    let t3 = make_leader(&s).await?;
    book.push(t3, "z");
    let mark = s.mark();
    start_on(&s, book.command(2), 2, t3)?;
    expect_sent_through(&s, mark, &others, t3, 2, "with entry 2").await?;
    // Figure 8's rule first: so far the followers have acknowledged only entry 1, of term
    // {t2}, in this term; a leader that commits it is told that, not that it acted on a stale
    // reply below.
    expect_no_commit(
        &s,
        elected,
        1,
        &rules::OLD_TERM_COMMIT,
        format_args!(
            "as leader of term {t3}, its followers had acknowledged only entry 1, of term {t2} \
             (entry 2, of its own term, not yet)"
        ),
    )
    .await?;

    let mark = s.mark();
    s.note(format!(
        "the held replies to AppendEntries of term {t1} go out: each says success, through \
         index {m}"
    ));
    gate1.open();
    expect_no_commit(
        &s,
        mark,
        1,
        &rules::LEADER_STATE_OF_TERM,
        format_args!(
            "as leader of term {t3}, it received replies to its AppendEntries of term {t1} \
             (when its log was {m} entries of term {t0}); in term {t3} no follower had \
             acknowledged entry 2"
        ),
    )
    .await?;

    let mark = s.mark();
    s.note(format!(
        "the followers' acknowledgements of entry 2 in term {t3} go out"
    ));
    gate3.open();
    expect_applies(
        &s,
        mark,
        &book.applies(1, 2),
        &rules::LEADER_COMMIT,
        format_args!("once every follower acknowledged entry 2 of its term {t3}"),
    )
    .await?;
    s.finish()
}

/// One diverging follower of the fast back-up scenario.
struct Diverging {
    id: usize,
    /// How many terms its conflicting entries span.
    terms: u64,
    /// How many conflicting entries it holds.
    entries: u64,
    model: Arc<Mutex<ModelFollower>>,
}

impl Diverging {
    /// The positions (`prev_log_index`) refused in `term`, and whether the follower's log now
    /// holds every entry of the leader's log `leader` (the terms of its entries, index 1 first):
    /// a success alone is not a match, since a heartbeat after index 0 succeeds on any log.
    fn backup(&self, term: u64, leader: &[u64]) -> (Vec<u64>, bool) {
        let model = self.model.lock();
        let refused: BTreeSet<u64> = model
            .probes()
            .iter()
            .filter(|p| p.term == term && !p.success)
            .map(|p| p.prev_log_index)
            .collect();
        let matched = model.holds(leader);
        (refused.into_iter().rev().collect(), matched)
    }
}

/// Fast back-up: every follower's log diverges from the new leader's after a common prefix,
/// over 15-40 entries of one to three terms the leader does not have (and the leader's, over
/// 15-40 entries of one term the follower does not have); with the conflict hints
/// the leader must match each in about one refused `AppendEntries` per conflicting term,
/// not one per entry (at most the follower's conflicting terms + [`BACKUP_SLACK`]).
pub(crate) async fn fast_backup<P: Peer>(title: &'static str) -> Result<Stats, TestFailure> {
    let mut s = Scripted::<P>::new(peers())?;
    s.begin(title);
    let me = s.me();
    let p = draw(1, 4);
    let t1 = draw(1, 2);
    let lt = t1 + 4 + draw(0, 2);
    let mut book = Book::default();
    book.extend(p, t1, "c");
    // The leader's own conflicting entries are many too: it probes from its end, so a leader
    // that backs up one entry at a time needs one round trip for each.
    book.extend(draw(15, 40), lt, "l");
    let l0 = s.pick_other(&[]);
    give_log(&s, l0, lt, &book).await?;

    let mut followers = Vec::new();
    for j in s.others() {
        let terms = draw(1, 3);
        let entries = draw(15, 40);
        let mut log = vec![t1; p as usize];
        for e in 0..entries {
            // Runs of nearly equal length, terms t1 + 1 ..= t1 + terms.
            log.push(t1 + 1 + e * terms / entries);
        }
        let model = Arc::new(Mutex::new(ModelFollower::new(&log)));
        s.set_appends(j, model_appends(&model));
        s.note(format!(
            "scripts: S{j} holds entries 1..={p} of term {t1}, then {entries} entries of terms \
             {}..={} (S{me} has {} entries of term {lt} there)",
            t1 + 1,
            t1 + terms,
            book.last() - p
        ));
        followers.push(Diverging {
            id: j,
            terms,
            entries,
            model,
        });
    }
    let leader_log: Vec<u64> = (1..=book.last()).map(|i| book.term(i)).collect();
    let mark = s.mark();
    let term = make_leader(&s).await?;
    let over = |f: &Diverging| {
        let (refused, matched) = f.backup(term, &leader_log);
        matched || refused.len() as u64 > f.terms + BACKUP_SLACK
    };
    let _ = s
        .journal()
        .wait_for(mark, BACKUP_WITHIN, |_| {
            followers.iter().all(&over).then_some(())
        })
        .await;
    for f in &followers {
        let (refused, matched) = f.backup(term, &leader_log);
        let bound = f.terms + BACKUP_SLACK;
        let shown: Vec<String> = refused.iter().map(|i| i.to_string()).collect();
        let why = format!(
            "S{}'s log diverged from its own after index {p} over {} entries of {} term(s)",
            f.id, f.entries, f.terms
        );
        if refused.len() as u64 > bound {
            return Err(rules::FAST_BACKUP.broken(
                me,
                format!(
                    "{why}; as leader of term {term} it had {} AppendEntries refused (after \
                     indices {}) and had not matched it yet: more than {bound} (one per \
                     conflicting term, with {BACKUP_SLACK} to spare)",
                    refused.len(),
                    shown.join(", ")
                ),
                s.journal(),
            ));
        }
        if !matched {
            let has = f.model.lock().terms().len();
            return Err(rules::FAST_BACKUP.broken(
                me,
                format!(
                    "{why}; as leader of term {term} it had not brought S{}'s log in line with \
                     its own ({} entries; S{} holds {has}, not all of them the leader's) within \
                     {BACKUP_WITHIN:?} ({} refused, after indices {})",
                    f.id,
                    book.last(),
                    f.id,
                    refused.len(),
                    shown.join(", ")
                ),
                s.journal(),
            ));
        }
    }
    s.finish()
}
