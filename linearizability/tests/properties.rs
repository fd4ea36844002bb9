//! Property tests: the checker against a brute-force search, and against histories made by
//! running a real sequential object.

mod brute;

use brute::brute_force;
use linearizability::models::{CasRegisterModel, RegisterInput, RegisterOutput};
use linearizability::{Checker, Operation, Verdict};
use proptest::prelude::*;

fn register_op() -> impl Strategy<Value = (RegisterInput, RegisterOutput)> {
    let value = 0i64..3;
    prop_oneof![
        proptest::option::of(value.clone())
            .prop_map(|v| (RegisterInput::Read, RegisterOutput::Value(v))),
        value
            .clone()
            .prop_map(|v| (RegisterInput::Write(v), RegisterOutput::Ok)),
        (value.clone(), value, any::<bool>()).prop_map(|(from, to, ok)| (
            RegisterInput::Cas { from, to },
            if ok {
                RegisterOutput::Ok
            } else {
                RegisterOutput::Failed
            }
        )),
    ]
}

fn history() -> impl Strategy<Value = Vec<Operation<RegisterInput, RegisterOutput>>> {
    proptest::collection::vec((register_op(), 0u64..20, 0u64..8, 0u8..6), 0..7).prop_map(|ops| {
        ops.into_iter()
            .enumerate()
            .map(|(i, ((input, output), call, len, kind))| {
                if kind == 0 {
                    Operation::unknown(i, input, call)
                } else {
                    Operation::new(i, input, call, output, call + len)
                }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]
    #[test]
    fn random_register_histories_agree_with_brute_force(h in history()) {
        let expected = brute_force(&CasRegisterModel, &h);
        let got = Checker::new(&CasRegisterModel).threads(1).check(&h).expect("valid").verdict();
        prop_assert_eq!(got == Verdict::Linearizable, expected, "{:?}", h);
    }
}
