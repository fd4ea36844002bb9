//! Small hand-made histories, one per edge a checker can get wrong.

use std::time::Duration;

use linearizability::models::{
    CasRegisterModel, KvErr, KvInput, KvModel, KvOutput, RegisterInput, RegisterOutput,
    VersionedKvInput, VersionedKvModel, VersionedKvOutput,
};
use linearizability::{
    operations_from_events, Checker, Event, HistoryError, Limit, Model, Operation, Verdict,
};

type KvOp = Operation<KvInput, KvOutput>;

fn put(client: usize, key: &str, value: &str, call: u64, ret: u64) -> KvOp {
    Operation::new(
        client,
        KvInput::put(key, value),
        call,
        KvOutput::default(),
        ret,
    )
}

fn append(client: usize, key: &str, value: &str, call: u64, ret: u64) -> KvOp {
    Operation::new(
        client,
        KvInput::append(key, value),
        call,
        KvOutput::default(),
        ret,
    )
}

fn get(client: usize, key: &str, seen: &str, call: u64, ret: u64) -> KvOp {
    Operation::new(client, KvInput::get(key), call, KvOutput::value(seen), ret)
}

fn verdict<M>(model: &M, history: &[Operation<M::Input, M::Output>]) -> Verdict
where
    M: Model + Sync,
    M::Input: Sync,
    M::Output: Sync,
    M::State: Send,
{
    let one = Checker::new(model)
        .threads(1)
        .check(history)
        .expect("a well-formed history")
        .verdict();
    let two = Checker::new(model)
        .threads(2)
        .check(history)
        .expect("a well-formed history")
        .verdict();
    assert_eq!(one, two, "the threads change nothing");
    one
}

#[test]
fn an_empty_history_is_linearizable_with_nothing_to_report() {
    let result = Checker::new(&KvModel).check(&[]).expect("empty is fine");
    assert_eq!(result.verdict(), Verdict::Linearizable);
    assert!(result.partitions().is_empty());
    let report = result.report();
    assert_eq!(report.steps, 0);
    assert!(report.to_string().starts_with("linearizable"));
}

#[test]
fn a_call_at_the_time_of_a_return_overlaps_it() {
    // The get is called exactly when the put returns: it may still take effect first.
    let touching = [put(0, "k", "a", 0, 5), get(1, "k", "", 5, 10)];
    assert_eq!(verdict(&KvModel, &touching), Verdict::Linearizable);
    // One tick later it cannot.
    let after = [put(0, "k", "a", 0, 5), get(1, "k", "", 6, 10)];
    assert_eq!(verdict(&KvModel, &after), Verdict::NotLinearizable);
    // Zero-length operations at one instant overlap each other, in either order.
    let instant = [
        put(0, "k", "a", 3, 3),
        get(1, "k", "", 3, 3),
        get(2, "k", "a", 3, 3),
    ];
    assert_eq!(verdict(&KvModel, &instant), Verdict::Linearizable);
}

#[test]
fn a_get_of_a_missing_key_returns_the_empty_string() {
    assert_eq!(
        verdict(&KvModel, &[get(0, "nobody", "", 0, 1)]),
        Verdict::Linearizable
    );
    assert_eq!(
        verdict(&KvModel, &[get(0, "nobody", "x", 0, 1)]),
        Verdict::NotLinearizable
    );
    // Append to a missing key appends to "".
    let history = [append(0, "k", "x", 0, 1), get(0, "k", "x", 2, 3)];
    assert_eq!(verdict(&KvModel, &history), Verdict::Linearizable);
}

#[test]
fn an_unknown_outcome_may_have_happened() {
    // The put timed out, but a later get saw its value.
    let history = [
        Operation::unknown(0, KvInput::put("k", "a"), 0),
        get(1, "k", "a", 10, 20),
    ];
    assert_eq!(verdict(&KvModel, &history), Verdict::Linearizable);
}

#[test]
fn an_unknown_outcome_may_never_have_happened() {
    let history = [
        Operation::unknown(0, KvInput::put("k", "a"), 0),
        get(1, "k", "", 10, 20),
        get(1, "k", "", 30, 40),
    ];
    assert_eq!(verdict(&KvModel, &history), Verdict::Linearizable);
}

#[test]
fn an_unknown_outcome_happens_once_and_not_before_its_call() {
    // Seen, then unseen: it cannot be undone.
    let undone = [
        Operation::unknown(0, KvInput::put("k", "a"), 0),
        get(1, "k", "a", 10, 20),
        get(1, "k", "", 30, 40),
    ];
    assert_eq!(verdict(&KvModel, &undone), Verdict::NotLinearizable);
    // Seen before it was called.
    let early = [
        get(1, "k", "a", 0, 5),
        Operation::unknown(0, KvInput::put("k", "a"), 10),
    ];
    assert_eq!(verdict(&KvModel, &early), Verdict::NotLinearizable);
    // An append takes effect at most once.
    let twice = [
        Operation::unknown(0, KvInput::append("k", "x"), 0),
        get(1, "k", "xx", 10, 20),
    ];
    assert_eq!(verdict(&KvModel, &twice), Verdict::NotLinearizable);
}

#[test]
fn a_cas_register_with_timed_out_writes() {
    use RegisterInput::*;
    use RegisterOutput as Out;
    let history = [
        Operation::new(0, Write(1), 0, Out::Ok, 10),
        Operation::unknown(1, Cas { from: 1, to: 2 }, 5),
        // A failed cas from 1 says the value was no longer 1: the unknown cas happened first.
        Operation::new(2, Cas { from: 1, to: 3 }, 20, Out::Failed, 30),
        Operation::new(3, Read, 40, Out::Value(Some(2)), 50),
    ];
    assert_eq!(verdict(&CasRegisterModel, &history), Verdict::Linearizable);
    let impossible = [
        Operation::new(0, Write(1), 0, Out::Ok, 10),
        Operation::new(2, Cas { from: 1, to: 3 }, 20, Out::Failed, 30),
        Operation::new(3, Read, 40, Out::Value(Some(1)), 50),
    ];
    assert_eq!(
        verdict(&CasRegisterModel, &impossible),
        Verdict::NotLinearizable
    );
}

#[test]
fn err_maybe_fits_a_put_that_happened_and_one_that_did_not() {
    use VersionedKvInput as In;
    use VersionedKvOutput as Out;
    let happened = [
        Operation::new(0, In::put("k", "a", 0), 0, Out::put(KvErr::ErrMaybe), 10),
        Operation::new(1, In::get("k"), 20, Out::got("a", 1, KvErr::Ok), 30),
    ];
    assert_eq!(verdict(&VersionedKvModel, &happened), Verdict::Linearizable);
    // Here it cannot have: the other put at version 0 succeeded, and the get sees it.
    let did_not = [
        Operation::new(0, In::put("k", "a", 0), 0, Out::put(KvErr::Ok), 10),
        Operation::new(1, In::put("k", "b", 0), 5, Out::put(KvErr::ErrMaybe), 15),
        Operation::new(2, In::get("k"), 20, Out::got("a", 1, KvErr::Ok), 30),
    ];
    assert_eq!(verdict(&VersionedKvModel, &did_not), Verdict::Linearizable);
    // A put at the key's version takes effect: ErrMaybe does not excuse it from that.
    let lost = [
        Operation::new(0, In::put("k", "a", 0), 0, Out::put(KvErr::ErrMaybe), 10),
        Operation::new(1, In::get("k"), 20, Out::got("", 0, KvErr::ErrNoKey), 30),
    ];
    assert_eq!(verdict(&VersionedKvModel, &lost), Verdict::NotLinearizable);
    // ErrVersion is a promise that it did not.
    let broken = [
        Operation::new(0, In::put("k", "a", 0), 0, Out::put(KvErr::ErrVersion), 10),
        Operation::new(1, In::get("k"), 20, Out::got("a", 1, KvErr::Ok), 30),
    ];
    assert_eq!(
        verdict(&VersionedKvModel, &broken),
        Verdict::NotLinearizable
    );
}

#[test]
fn a_violation_is_reported_with_its_partition_prefix_and_stuck_operation() {
    let history = [
        put(0, "a", "1", 0, 10),
        get(1, "a", "1", 20, 30),
        put(0, "b", "x", 0, 10),
        append(1, "b", "y", 15, 25),
        get(2, "b", "x", 30, 40), // the append returned before this get was called
    ];
    let result = Checker::new(&KvModel)
        .all_partitions(true)
        .check(&history)
        .expect("well formed");
    assert_eq!(result.verdict(), Verdict::NotLinearizable);
    let report = result.report();
    assert_eq!(report.partitions.len(), 2);
    let a = &report.partitions[0];
    assert_eq!((a.key.as_str(), a.verdict), ("a", Verdict::Linearizable));
    let b = report.violation().expect("b is not linearizable");
    assert_eq!(b.key, "b");
    let order: Vec<usize> = b.linearization.iter().map(|l| l.index).collect();
    assert_eq!(order, vec![2, 3]);
    assert_eq!(b.linearization[1].state_before, "'x'");
    assert_eq!(b.linearization[1].state_after, "'xy'");
    let stuck = b.stuck.as_ref().expect("the get could not be placed");
    assert_eq!((stuck.index, stuck.deadline), (4, 40));
    assert_eq!(stuck.state, "'xy'");
    assert_eq!(stuck.candidates, vec![4]);
    let text = report.to_string();
    assert!(text.contains("partition \"b\""), "{text}");
    assert!(
        text.contains("get('b') -> 'x' (client 2, called at 30, returned at 40)"),
        "{text}"
    );
}

#[test]
fn without_all_partitions_the_check_stops_at_the_first_violation() {
    let mut history = vec![
        get(0, "a", "zzz", 0, 1), // not linearizable, found in two steps
        get(0, "b", "", 0, 1),    // linearizable in one
    ];
    // Not linearizable too, but it takes longer to prove.
    history.extend(hard("c", 4));
    let result = Checker::new(&KvModel).check(&history).expect("well formed");
    assert_eq!(result.verdict(), Verdict::NotLinearizable);
    assert_eq!(result.violation().map(|p| p.key.as_str()), Some("a"));
    // The partitions decided in fewer steps than the violation are kept; "c" is not.
    let keys: Vec<&str> = result.partitions().iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, vec!["a", "b"]);

    let all = Checker::new(&KvModel)
        .all_partitions(true)
        .check(&history)
        .expect("well formed");
    let verdicts: Vec<Verdict> = all.partitions().iter().map(|p| p.verdict).collect();
    assert_eq!(
        verdicts,
        vec![
            Verdict::NotLinearizable,
            Verdict::Linearizable,
            Verdict::NotLinearizable
        ]
    );
}

/// `n` appends by different clients, all overlapping, then a get that sees none of them in
/// the order it claims: not linearizable, and proving it means trying about every order.
fn hard(key: &str, n: usize) -> Vec<KvOp> {
    let mut history: Vec<KvOp> = (0..n)
        .map(|i| append(i, key, &format!("<{i}>"), 0, 100))
        .collect();
    history.push(get(n, key, "not any order", 200, 300));
    history
}

#[test]
fn a_time_limit_stops_every_partition_and_answers_unknown() {
    let history: Vec<KvOp> = ["a", "b", "c"].iter().flat_map(|k| hard(k, 24)).collect();
    for threads in [1, 2] {
        let result = Checker::new(&KvModel)
            .threads(threads)
            .time_limit(Duration::from_millis(100))
            .check(&history)
            .expect("well formed");
        // Without the limit this takes longer than anyone waits (24! orders per key).
        assert_eq!(result.verdict(), Verdict::Unknown);
        assert_eq!(result.limit(), Some(Limit::Time));
        assert_eq!(result.partitions().len(), 3);
        assert!(result
            .partitions()
            .iter()
            .all(|p| p.verdict == Verdict::Unknown && p.limit == Some(Limit::Time)));
        let report = result.report();
        assert!(report
            .to_string()
            .starts_with("unknown: the time limit ran out"));
    }
}

#[test]
fn a_step_budget_answers_unknown_after_exactly_that_many_steps() {
    let history: Vec<KvOp> = ["a", "b"].iter().flat_map(|k| hard(k, 20)).collect();
    let result = Checker::new(&KvModel)
        .step_budget(10_000)
        .check(&history)
        .expect("well formed");
    assert_eq!(result.verdict(), Verdict::Unknown);
    assert_eq!(result.limit(), Some(Limit::Steps));
    for p in result.partitions() {
        assert_eq!((p.verdict, p.steps), (Verdict::Unknown, 10_000));
    }
    // A budget the search fits in gives the real answer.
    let small = hard("a", 4);
    let result = Checker::new(&KvModel)
        .step_budget(100_000)
        .check(&small)
        .expect("well formed");
    assert_eq!(result.verdict(), Verdict::NotLinearizable);
}

#[test]
fn a_memory_limit_answers_unknown() {
    let history = hard("a", 20);
    let result = Checker::new(&KvModel)
        .memory_limit(1 << 16)
        .check(&history)
        .expect("well formed");
    assert_eq!(result.verdict(), Verdict::Unknown);
    assert_eq!(result.limit(), Some(Limit::Memory));
}

#[test]
fn a_violation_in_one_partition_is_found_while_another_is_hopeless() {
    // Key "a" alone would take forever; key "z" is plainly wrong. Both thread counts find
    // the violation (the searches take turns), without a time limit.
    let mut history = hard("a", 30);
    history.push(get(0, "z", "never written", 0, 1));
    for threads in [1, 2] {
        let result = Checker::new(&KvModel)
            .threads(threads)
            .check(&history)
            .expect("well formed");
        assert_eq!(result.verdict(), Verdict::NotLinearizable);
        assert_eq!(result.violation().map(|p| p.key.as_str()), Some("z"));
    }
}

#[test]
fn a_return_before_its_call_is_an_error_that_says_so() {
    let err = Checker::new(&KvModel)
        .check(&[put(3, "k", "v", 10, 5)])
        .expect_err("malformed");
    assert!(matches!(
        err,
        HistoryError::ReturnBeforeCall {
            index: 0,
            client: 3,
            ..
        }
    ));
    assert!(err.to_string().contains("before its call"));
}

#[test]
fn events_become_operations_and_unreturned_calls_unknown_outcomes() {
    let events = vec![
        Event::Call {
            client: 0,
            id: 1,
            input: KvInput::put("k", "a"),
        },
        Event::Call {
            client: 1,
            id: 2,
            input: KvInput::get("k"),
        },
        Event::Return {
            client: 1,
            id: 2,
            output: KvOutput::value("a"),
        },
        Event::Return {
            client: 0,
            id: 1,
            output: KvOutput::default(),
        },
        Event::Call {
            client: 2,
            id: 3,
            input: KvInput::append("k", "b"),
        },
    ];
    let history = operations_from_events(events).expect("well formed");
    assert_eq!(history.len(), 3);
    assert_eq!((history[0].call, history[0].ret()), (0, Some(3)));
    assert_eq!(history[2].ret(), None);
    assert_eq!(verdict(&KvModel, &history), Verdict::Linearizable);

    let stray = vec![Event::<KvInput, KvOutput>::Return {
        client: 0,
        id: 9,
        output: KvOutput::default(),
    }];
    assert!(matches!(
        operations_from_events(stray),
        Err(HistoryError::ReturnWithoutCall { id: 9, position: 0 })
    ));
    let twice = vec![
        Event::<KvInput, KvOutput>::Call {
            client: 0,
            id: 1,
            input: KvInput::get("k"),
        },
        Event::Call {
            client: 1,
            id: 1,
            input: KvInput::get("k"),
        },
    ];
    assert!(matches!(
        operations_from_events(twice),
        Err(HistoryError::DuplicateCall {
            id: 1,
            first: 0,
            second: 1
        })
    ));
}
