//! Property tests: histories recorded from a real sequential object are always linearizable,
//! and on small histories the checker agrees with a brute-force search over every order,
//! also after one output is corrupted.

mod brute;

use std::collections::BTreeMap;

use brute::brute_force;
use linearizability::models::{
    CasRegisterModel, KvErr, KvInput, KvModel, KvOutput, RegisterInput, RegisterOutput,
    VersionedKvInput, VersionedKvModel, VersionedKvOutput,
};
use linearizability::{Checker, Model, Operation, Outcome, Verdict};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Checks with one thread and with two (the answer must not depend on it).
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
        .expect("well formed");
    let two = Checker::new(model)
        .threads(2)
        .check(history)
        .expect("well formed");
    assert_eq!(one.verdict(), two.verdict());
    // A violation's report names an operation the model rejects after the longest prefix,
    // together with every other operation that could have gone there.
    if one.verdict() == Verdict::NotLinearizable {
        let report = one.report();
        let p = report.violation().expect("a violating partition");
        let stuck = p.stuck.as_ref().expect("a stuck operation");
        let placed: Vec<usize> = p.linearization.iter().map(|l| l.index).collect();
        let could: Vec<usize> = p
            .operations
            .iter()
            .map(|o| o.index)
            .filter(|i| !placed.contains(i) && history[*i].call <= stuck.deadline)
            .filter(|i| {
                history[*i].ret().is_some() || !model.is_read_only(&history[*i].input, None)
            })
            .collect();
        assert_eq!(stuck.candidates, could);
    }
    one.verdict()
}

// ---------------------------------------------------------------------------------------
// Real sequential objects, called by clients whose calls overlap at random.

/// An operation to run against the object, and how its call is timed around the instant it
/// takes effect.
#[derive(Debug, Clone)]
struct Planned<I> {
    input: I,
    /// When it takes effect (distinct for every operation).
    point: u64,
    /// How long before its point it was called, and after it returned.
    before: u64,
    after: u64,
    /// The client never heard back: with `applied`, whether it took effect all the same.
    lost: bool,
    applied: bool,
}

/// Runs the plan on a sequential object (`apply` gives an operation's output and changes
/// the object) in the order of the points, and records what clients would have seen.
fn record<I: Clone, O, S>(
    plan: &[Planned<I>],
    mut object: S,
    apply: impl Fn(&mut S, &I) -> O,
) -> Vec<Operation<I, O>> {
    let mut order: Vec<usize> = (0..plan.len()).collect();
    order.sort_by_key(|&i| plan[i].point);
    let mut outputs: Vec<Option<O>> = (0..plan.len()).map(|_| None).collect();
    for i in order {
        if !plan[i].lost || plan[i].applied {
            outputs[i] = Some(apply(&mut object, &plan[i].input));
        }
    }
    plan.iter()
        .zip(outputs)
        .enumerate()
        .map(|(client, (p, output))| {
            let call = p.point - p.before;
            match output {
                Some(output) if !p.lost => {
                    Operation::new(client, p.input.clone(), call, output, p.point + p.after)
                }
                _ => Operation::unknown(client, p.input.clone(), call),
            }
        })
        .collect()
}

/// A plan of up to `n` operations drawn by `input`, with random overlaps.
fn plan<I: std::fmt::Debug + Clone>(
    input: impl Strategy<Value = I>,
    n: usize,
) -> impl Strategy<Value = Vec<Planned<I>>> {
    proptest::collection::vec((input, 0u64..30, 0u64..30, 0u8..10, any::<bool>()), 0..n)
        .prop_perturb(|ops, mut rng| {
            // Distinct points, well apart, in a random order.
            let mut points: Vec<u64> = (0..ops.len() as u64).map(|i| 100 + i * 10).collect();
            for i in (1..points.len()).rev() {
                let j = rng.random_range(0..=i);
                points.swap(i, j);
            }
            ops.into_iter()
                .zip(points)
                .map(|((input, before, after, lost, applied), point)| Planned {
                    input,
                    point,
                    before,
                    after,
                    lost: lost == 0,
                    applied,
                })
                .collect()
        })
}

fn kv_input() -> impl Strategy<Value = KvInput> {
    let key = prop_oneof![Just("a"), Just("b"), Just("c")];
    let value = prop_oneof![Just("x"), Just("y"), Just("zz")];
    prop_oneof![
        key.clone().prop_map(KvInput::get),
        (key.clone(), value.clone()).prop_map(|(k, v)| KvInput::put(k, v)),
        (key, value).prop_map(|(k, v)| KvInput::append(k, v)),
    ]
}

fn run_kv(map: &mut BTreeMap<String, String>, input: &KvInput) -> KvOutput {
    match input {
        KvInput::Get { key } => KvOutput::value(map.get(key).cloned().unwrap_or_default()),
        KvInput::Put { key, value } => {
            map.insert(key.clone(), value.clone());
            KvOutput::default()
        }
        KvInput::Append { key, value } | KvInput::AppendReturningOld { key, value } => {
            let old = map.entry(key.clone()).or_default();
            let before = old.clone();
            old.push_str(value);
            KvOutput::value(before)
        }
    }
}

fn register_input() -> impl Strategy<Value = RegisterInput> {
    prop_oneof![
        Just(RegisterInput::Read),
        (0i64..3).prop_map(RegisterInput::Write),
        (0i64..3, 0i64..3).prop_map(|(from, to)| RegisterInput::Cas { from, to }),
    ]
}

fn run_register(value: &mut Option<i64>, input: &RegisterInput) -> RegisterOutput {
    match *input {
        RegisterInput::Read => RegisterOutput::Value(*value),
        RegisterInput::Write(v) => {
            *value = Some(v);
            RegisterOutput::Ok
        }
        RegisterInput::Cas { from, to } if *value == Some(from) => {
            *value = Some(to);
            RegisterOutput::Ok
        }
        RegisterInput::Cas { .. } => RegisterOutput::Failed,
    }
}

fn versioned_input() -> impl Strategy<Value = VersionedKvInput> {
    let key = prop_oneof![Just("a"), Just("b")];
    prop_oneof![
        key.clone().prop_map(VersionedKvInput::get),
        (key, prop_oneof![Just("x"), Just("y")], 0u64..3)
            .prop_map(|(k, v, version)| VersionedKvInput::put(k, v, version)),
    ]
}

fn run_versioned(
    map: &mut BTreeMap<String, (String, u64)>,
    input: &VersionedKvInput,
) -> VersionedKvOutput {
    match input {
        VersionedKvInput::Get { key } => match map.get(key) {
            Some((value, version)) => VersionedKvOutput::got(value.clone(), *version, KvErr::Ok),
            None => VersionedKvOutput::got("", 0, KvErr::ErrNoKey),
        },
        VersionedKvInput::Put {
            key,
            value,
            version,
        } => {
            let current = map.get(key).map_or(0, |(_, v)| *v);
            if current == *version {
                map.insert(key.clone(), (value.clone(), version + 1));
                VersionedKvOutput::put(KvErr::Ok)
            } else {
                VersionedKvOutput::put(KvErr::ErrVersion)
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_recorded_key_value_history_is_linearizable(p in plan(kv_input(), 60)) {
        let history = record(&p, BTreeMap::new(), run_kv);
        prop_assert_eq!(verdict(&KvModel, &history), Verdict::Linearizable);
        let whole = Checker::new(&KvModel).partition(false).step_budget(2_000_000);
        let v = whole.check(&history).expect("well formed").verdict();
        prop_assert!(v != Verdict::NotLinearizable);
    }

    #[test]
    fn a_recorded_register_history_is_linearizable(p in plan(register_input(), 40)) {
        let history = record(&p, None, run_register);
        prop_assert_eq!(verdict(&CasRegisterModel, &history), Verdict::Linearizable);
    }

    #[test]
    fn a_recorded_versioned_history_is_linearizable(p in plan(versioned_input(), 40)) {
        let history = record(&p, BTreeMap::new(), run_versioned);
        prop_assert_eq!(verdict(&VersionedKvModel, &history), Verdict::Linearizable);
    }
}

// ---------------------------------------------------------------------------------------
// Small histories against brute force: recorded ones with one output corrupted, and random
// ones (random outputs, mostly not linearizable).

/// Replaces the output of the `which`-th operation that has one (if any) by `corrupt(it)`.
fn corrupt_one<I, O>(history: &mut [Operation<I, O>], which: usize, corrupt: impl Fn(&I, &O) -> O) {
    let returned: Vec<usize> = (0..history.len())
        .filter(|&i| history[i].ret().is_some())
        .collect();
    if returned.is_empty() {
        return;
    }
    let i = returned[which % returned.len()];
    if let Outcome::Returned { output, .. } = &mut history[i].outcome {
        *output = corrupt(&history[i].input, output);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn a_corrupted_kv_history_is_rejected_exactly_when_brute_force_says(
        p in plan(kv_input(), 8),
        which in 0usize..8,
        value in prop_oneof![Just(""), Just("x"), Just("zzx"), Just("xy")],
    ) {
        let mut history = record(&p, BTreeMap::new(), run_kv);
        corrupt_one(&mut history, which, |input, output| match input {
            KvInput::Get { .. } if output.value != value => KvOutput::value(value),
            KvInput::Get { .. } => KvOutput::value(format!("{value}!")),
            _ => output.clone(),
        });
        let expected = brute_force(&KvModel, &history);
        let got = verdict(&KvModel, &history);
        prop_assert_eq!(got == Verdict::Linearizable, expected, "{:?}", history);
    }

    #[test]
    fn a_corrupted_register_history_is_rejected_exactly_when_brute_force_says(
        p in plan(register_input(), 8),
        which in 0usize..8,
        value in proptest::option::of(0i64..3),
    ) {
        let mut history = record(&p, None, run_register);
        corrupt_one(&mut history, which, |_, output| match output {
            RegisterOutput::Value(v) if *v != value => RegisterOutput::Value(value),
            RegisterOutput::Value(v) => RegisterOutput::Value(Some(v.unwrap_or(0) + 1)),
            RegisterOutput::Ok => RegisterOutput::Failed,
            RegisterOutput::Failed => RegisterOutput::Ok,
        });
        let expected = brute_force(&CasRegisterModel, &history);
        let got = verdict(&CasRegisterModel, &history);
        prop_assert_eq!(got == Verdict::Linearizable, expected, "{:?}", history);
    }

    #[test]
    fn a_corrupted_versioned_history_is_rejected_exactly_when_brute_force_says(
        p in plan(versioned_input(), 8),
        which in 0usize..8,
        err in prop_oneof![Just(KvErr::Ok), Just(KvErr::ErrVersion), Just(KvErr::ErrMaybe)],
    ) {
        let mut history = record(&p, BTreeMap::new(), run_versioned);
        corrupt_one(&mut history, which, |input, output| match input {
            VersionedKvInput::Get { .. } => {
                VersionedKvOutput::got(format!("{}y", output.value), output.version, output.err)
            }
            VersionedKvInput::Put { .. } => VersionedKvOutput::put(err),
        });
        let expected = brute_force(&VersionedKvModel, &history);
        let got = verdict(&VersionedKvModel, &history);
        prop_assert_eq!(got == Verdict::Linearizable, expected, "{:?}", history);
    }

    #[test]
    fn random_register_histories_agree_with_brute_force(
        ops in proptest::collection::vec(
            (register_input(), proptest::option::of(0i64..3), any::<bool>(), 0u64..20, 0u64..8, 0u8..6),
            0..7,
        )
    ) {
        let history: Vec<_> = ops
            .into_iter()
            .enumerate()
            .map(|(client, (input, read, ok, call, len, kind))| {
                let output = match input {
                    RegisterInput::Read => RegisterOutput::Value(read),
                    RegisterInput::Write(_) => RegisterOutput::Ok,
                    RegisterInput::Cas { .. } if ok => RegisterOutput::Ok,
                    RegisterInput::Cas { .. } => RegisterOutput::Failed,
                };
                if kind == 0 {
                    Operation::unknown(client, input, call)
                } else {
                    Operation::new(client, input, call, output, call + len)
                }
            })
            .collect();
        let expected = brute_force(&CasRegisterModel, &history);
        let got = verdict(&CasRegisterModel, &history);
        prop_assert_eq!(got == Verdict::Linearizable, expected, "{:?}", history);
    }
}

/// Long recorded histories from seeded clients: overlapping appends and gets on two keys,
/// now and then a call whose outcome was lost (and that may or may not have happened).
#[test]
fn long_recorded_append_histories_are_linearizable() {
    for seed in 0..20u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let plan: Vec<Planned<KvInput>> = (0..300u64)
            .map(|i| {
                let key = ["a", "b"][rng.random_range(0..2)];
                let input = if rng.random_range(0..3) == 0 {
                    KvInput::get(key)
                } else {
                    KvInput::append(key, format!("<{i}>"))
                };
                Planned {
                    input,
                    point: 1000 + i * 10,
                    before: rng.random_range(0..20),
                    after: rng.random_range(0..20),
                    lost: rng.random_range(0..100) == 0,
                    applied: rng.random_range(0..2) == 0,
                }
            })
            .collect();
        let history = record(&plan, BTreeMap::new(), run_kv);
        let result = Checker::new(&KvModel)
            .step_budget(20_000_000)
            .check(&history)
            .expect("well formed");
        assert_eq!(result.verdict(), Verdict::Linearizable, "seed {seed}");
    }
}
