//! A register of integers, with and without compare-and-set (Jepsen's etcd tests).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::Model;

/// A call to a register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RegisterInput {
    /// Read the value.
    Read,
    /// Write a value.
    Write(i64),
    /// Compare-and-set: if the value is `from`, make it `to`.
    Cas {
        /// The value expected.
        from: i64,
        /// The value to set.
        to: i64,
    },
}

/// What a call to a register returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RegisterOutput {
    /// A read's value (`None`: never written, Jepsen's `nil`).
    Value(Option<i64>),
    /// A write, or a compare-and-set that set.
    Ok,
    /// A compare-and-set that found another value and set nothing.
    Failed,
}

fn show(value: Option<i64>) -> String {
    value.map_or("nil".to_string(), |v| v.to_string())
}

fn describe(input: &RegisterInput, output: Option<&RegisterOutput>) -> String {
    let out = match output {
        None => "?".to_string(),
        Some(RegisterOutput::Value(v)) => show(*v),
        Some(RegisterOutput::Ok) => "ok".to_string(),
        Some(RegisterOutput::Failed) => "fail".to_string(),
    };
    match input {
        RegisterInput::Read => format!("read() -> {out}"),
        RegisterInput::Write(v) => format!("write({v}) -> {out}"),
        RegisterInput::Cas { from, to } => format!("cas({from}, {to}) -> {out}"),
    }
}

/// Reads, and compare-and-sets that failed, change no state they are possible in.
fn read_only(input: &RegisterInput, output: Option<&RegisterOutput>) -> bool {
    matches!(
        (input, output),
        (RegisterInput::Read, _) | (RegisterInput::Cas { .. }, Some(RegisterOutput::Failed))
    )
}

/// A register: reads return the last value written (`None` before any write). A history
/// with a compare-and-set is not a register's (every `Cas` is rejected): use
/// [`CasRegisterModel`].
///
/// ```
/// use linearizability::models::{RegisterInput as In, RegisterModel, RegisterOutput as Out};
/// use linearizability::{Checker, Operation, Verdict};
///
/// let history = vec![
///     Operation::new(0, In::Write(1), 0, Out::Ok, 10),
///     Operation::new(1, In::Read, 2, Out::Value(None), 4), // before the write took effect
///     Operation::new(2, In::Read, 5, Out::Value(Some(1)), 7),
/// ];
/// assert_eq!(Checker::new(&RegisterModel).check(&history)?.verdict(), Verdict::Linearizable);
/// # Ok::<(), linearizability::HistoryError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RegisterModel;

impl Model for RegisterModel {
    type State = Option<i64>;
    type Input = RegisterInput;
    type Output = RegisterOutput;

    fn init(&self) -> Option<i64> {
        None
    }

    fn step(
        &self,
        state: &Option<i64>,
        input: &RegisterInput,
        output: &RegisterOutput,
    ) -> Option<Option<i64>> {
        match (input, output) {
            (RegisterInput::Read, RegisterOutput::Value(v)) => (v == state).then_some(*state),
            (RegisterInput::Write(v), RegisterOutput::Ok) => Some(Some(*v)),
            _ => None,
        }
    }

    fn step_unknown(&self, state: &Option<i64>, input: &RegisterInput) -> Option<Option<i64>> {
        match input {
            RegisterInput::Read => Some(*state),
            RegisterInput::Write(v) => Some(Some(*v)),
            RegisterInput::Cas { .. } => None,
        }
    }

    fn is_read_only(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> bool {
        read_only(input, output)
    }

    fn describe_operation(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> String {
        describe(input, output)
    }

    fn describe_state(&self, state: &Option<i64>) -> String {
        show(*state)
    }
}

/// A compare-and-set register, as in Jepsen's etcd tests: reads return the value (`None`
/// before any write), writes set it, and a `Cas { from, to }` sets `to` and returns `Ok` when
/// the value is `from`, and otherwise changes nothing and returns `Failed`.
///
/// ```
/// use linearizability::models::{CasRegisterModel, RegisterInput as In, RegisterOutput as Out};
/// use linearizability::{Checker, Operation, Verdict};
///
/// let history = vec![
///     Operation::new(0, In::Write(1), 0, Out::Ok, 10),
///     Operation::new(1, In::Cas { from: 1, to: 2 }, 11, Out::Ok, 20),
///     // Timed out: did it set 3? The read says it did.
///     Operation::unknown(2, In::Cas { from: 2, to: 3 }, 21),
///     Operation::new(0, In::Read, 30, Out::Value(Some(3)), 40),
/// ];
/// assert_eq!(Checker::new(&CasRegisterModel).check(&history)?.verdict(), Verdict::Linearizable);
/// # Ok::<(), linearizability::HistoryError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CasRegisterModel;

impl Model for CasRegisterModel {
    type State = Option<i64>;
    type Input = RegisterInput;
    type Output = RegisterOutput;

    fn init(&self) -> Option<i64> {
        None
    }

    #[inline]
    fn step(
        &self,
        state: &Option<i64>,
        input: &RegisterInput,
        output: &RegisterOutput,
    ) -> Option<Option<i64>> {
        match (input, output) {
            (RegisterInput::Read, RegisterOutput::Value(v)) => (v == state).then_some(*state),
            (RegisterInput::Write(v), RegisterOutput::Ok) => Some(Some(*v)),
            (RegisterInput::Cas { from, to }, RegisterOutput::Ok) => {
                (*state == Some(*from)).then_some(Some(*to))
            }
            (RegisterInput::Cas { from, .. }, RegisterOutput::Failed) => {
                (*state != Some(*from)).then_some(*state)
            }
            _ => None,
        }
    }

    fn step_unknown(&self, state: &Option<i64>, input: &RegisterInput) -> Option<Option<i64>> {
        Some(match input {
            RegisterInput::Read => *state,
            RegisterInput::Write(v) => Some(*v),
            RegisterInput::Cas { from, to } if *state == Some(*from) => Some(*to),
            RegisterInput::Cas { .. } => *state,
        })
    }

    fn is_read_only(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> bool {
        read_only(input, output)
    }

    fn describe_operation(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> String {
        describe(input, output)
    }

    fn describe_state(&self, state: &Option<i64>) -> String {
        show(*state)
    }
}

impl fmt::Display for RegisterInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterInput::Read => write!(f, "read()"),
            RegisterInput::Write(v) => write!(f, "write({v})"),
            RegisterInput::Cas { from, to } => write!(f, "cas({from}, {to})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cas_sets_only_when_the_value_matches() {
        let m = CasRegisterModel;
        let cas = RegisterInput::Cas { from: 1, to: 2 };
        assert_eq!(m.step(&Some(1), &cas, &RegisterOutput::Ok), Some(Some(2)));
        assert_eq!(m.step(&Some(3), &cas, &RegisterOutput::Ok), None);
        assert_eq!(
            m.step(&Some(3), &cas, &RegisterOutput::Failed),
            Some(Some(3))
        );
        assert_eq!(m.step(&Some(1), &cas, &RegisterOutput::Failed), None);
        assert_eq!(m.step(&None, &cas, &RegisterOutput::Failed), Some(None));
    }

    #[test]
    fn a_plain_register_rejects_cas() {
        let cas = RegisterInput::Cas { from: 1, to: 2 };
        assert_eq!(
            RegisterModel.step(&Some(1), &cas, &RegisterOutput::Ok),
            None
        );
        assert_eq!(RegisterModel.step_unknown(&Some(1), &cas), None);
    }

    #[test]
    fn reads_of_nothing_are_nil() {
        assert_eq!(
            RegisterModel
                .describe_operation(&RegisterInput::Read, Some(&RegisterOutput::Value(None))),
            "read() -> nil"
        );
    }
}
