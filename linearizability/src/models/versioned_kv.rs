//! The key/value store of the 6.5840 labs from 2025 on: `Get` returns a value and a version,
//! `Put` installs a value only at the version the client names.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::kv::KvValue;
use crate::model::Model;

/// The error a 2025+ clerk call returns (`rpc.Err`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KvErr {
    /// `OK`.
    #[default]
    Ok,
    /// `ErrNoKey`: a `Get` of a missing key (or a `Put` at a version other than 0 to one).
    ErrNoKey,
    /// `ErrVersion`: the `Put`'s version was not the key's.
    ErrVersion,
    /// `ErrMaybe`: a resent `Put` got `ErrVersion`, so the first attempt may have executed.
    ErrMaybe,
}

impl fmt::Display for KvErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KvErr::Ok => "OK",
            KvErr::ErrNoKey => "ErrNoKey",
            KvErr::ErrVersion => "ErrVersion",
            KvErr::ErrMaybe => "ErrMaybe",
        })
    }
}

/// A call to the 2025+ key/value service.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VersionedKvInput {
    /// `Get(key)`: the value and its version.
    Get {
        /// The key.
        key: String,
    },
    /// `Put(key, value, version)`: installs `value` if the key's version is `version`
    /// (then the version goes up by one).
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
        /// The version the client read.
        version: u64,
    },
}

impl VersionedKvInput {
    /// `Get(key)`.
    pub fn get(key: impl Into<String>) -> Self {
        VersionedKvInput::Get { key: key.into() }
    }

    /// `Put(key, value, version)`.
    pub fn put(key: impl Into<String>, value: impl Into<String>, version: u64) -> Self {
        VersionedKvInput::Put {
            key: key.into(),
            value: value.into(),
            version,
        }
    }

    /// The key the call touches.
    pub fn key(&self) -> &str {
        match self {
            VersionedKvInput::Get { key } | VersionedKvInput::Put { key, .. } => key,
        }
    }
}

/// What a call to the 2025+ key/value service returned (a `Put` returns only `err`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VersionedKvOutput {
    /// The value a `Get` returned.
    pub value: String,
    /// The version a `Get` returned.
    pub version: u64,
    /// The error.
    pub err: KvErr,
}

impl VersionedKvOutput {
    /// A `Get`'s output.
    pub fn got(value: impl Into<String>, version: u64, err: KvErr) -> Self {
        VersionedKvOutput {
            value: value.into(),
            version,
            err,
        }
    }

    /// A `Put`'s output.
    pub fn put(err: KvErr) -> Self {
        VersionedKvOutput {
            err,
            ..VersionedKvOutput::default()
        }
    }
}

/// One key's value and version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct VersionedValue {
    /// The value (`""` for a missing key).
    pub value: KvValue,
    /// The version (0 for a missing key).
    pub version: u64,
}

/// The lab's key/value model from 2025 on (`models1/kv.go`), with its exact rules:
///
/// - each key starts as `("", 0)`;
/// - a `Get` is possible when it returned the current value; its version and error are not
///   checked (as in the lab's model);
/// - a `Put` at the key's version installs the value and adds one to the version, and must
///   have returned `OK` or `ErrMaybe`; at any other version it changes nothing and must have
///   returned `ErrVersion` or `ErrMaybe`. So `ErrMaybe` fits both "it happened" and "it did
///   not".
///
/// Partitioned by key.
///
/// ```
/// use linearizability::models::{KvErr, VersionedKvInput as In, VersionedKvModel, VersionedKvOutput as Out};
/// use linearizability::{Checker, Operation, Verdict};
///
/// let history = vec![
///     Operation::new(0, In::put("k", "a", 0), 0, Out::put(KvErr::Ok), 10),
///     // Resent after a lost reply: the first attempt did install "b".
///     Operation::new(1, In::put("k", "b", 1), 11, Out::put(KvErr::ErrMaybe), 20),
///     Operation::new(0, In::get("k"), 21, Out::got("b", 2, KvErr::Ok), 30),
/// ];
/// assert_eq!(Checker::new(&VersionedKvModel).check(&history)?.verdict(), Verdict::Linearizable);
/// # Ok::<(), linearizability::HistoryError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct VersionedKvModel;

impl Model for VersionedKvModel {
    type State = VersionedValue;
    type Input = VersionedKvInput;
    type Output = VersionedKvOutput;

    fn init(&self) -> VersionedValue {
        VersionedValue::default()
    }

    fn step(
        &self,
        state: &VersionedValue,
        input: &VersionedKvInput,
        output: &VersionedKvOutput,
    ) -> Option<VersionedValue> {
        match input {
            VersionedKvInput::Get { .. } => {
                (output.value == state.value.as_str()).then(|| state.clone())
            }
            VersionedKvInput::Put { value, version, .. } => {
                if *version == state.version {
                    matches!(output.err, KvErr::Ok | KvErr::ErrMaybe).then(|| VersionedValue {
                        value: KvValue::new(value),
                        version: state.version + 1,
                    })
                } else {
                    matches!(output.err, KvErr::ErrVersion | KvErr::ErrMaybe).then(|| state.clone())
                }
            }
        }
    }

    fn step_unknown(
        &self,
        state: &VersionedValue,
        input: &VersionedKvInput,
    ) -> Option<VersionedValue> {
        match input {
            VersionedKvInput::Put { value, version, .. } if *version == state.version => {
                Some(VersionedValue {
                    value: KvValue::new(value),
                    version: state.version + 1,
                })
            }
            _ => Some(state.clone()),
        }
    }

    fn partition_key<'a>(&self, input: &'a VersionedKvInput) -> Cow<'a, str> {
        Cow::Borrowed(input.key())
    }

    fn is_read_only(&self, input: &VersionedKvInput, output: Option<&VersionedKvOutput>) -> bool {
        // A put that answered ErrVersion is only possible where it changes nothing.
        match input {
            VersionedKvInput::Get { .. } => true,
            VersionedKvInput::Put { .. } => output.is_some_and(|o| o.err == KvErr::ErrVersion),
        }
    }

    fn describe_operation(
        &self,
        input: &VersionedKvInput,
        output: Option<&VersionedKvOutput>,
    ) -> String {
        match (input, output) {
            (VersionedKvInput::Get { key }, Some(o)) => {
                format!("get('{key}') -> ('{}', {}, {})", o.value, o.version, o.err)
            }
            (VersionedKvInput::Get { key }, None) => format!("get('{key}') -> ?"),
            (
                VersionedKvInput::Put {
                    key,
                    value,
                    version,
                },
                o,
            ) => {
                let err = o.map_or("?".to_string(), |o| o.err.to_string());
                format!("put('{key}', '{value}', {version}) -> {err}")
            }
        }
    }

    fn describe_state(&self, state: &VersionedValue) -> String {
        format!("('{}', {})", state.value, state.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(value: &str, version: u64) -> VersionedValue {
        VersionedValue {
            value: KvValue::new(value),
            version,
        }
    }

    #[test]
    fn a_put_at_the_current_version_installs_and_bumps_it() {
        let next = VersionedKvModel.step(
            &at("a", 1),
            &VersionedKvInput::put("k", "b", 1),
            &VersionedKvOutput::put(KvErr::Ok),
        );
        assert_eq!(next, Some(at("b", 2)));
    }

    #[test]
    fn a_put_at_another_version_must_say_err_version() {
        let m = VersionedKvModel;
        let put = VersionedKvInput::put("k", "b", 0);
        assert_eq!(
            m.step(
                &at("a", 1),
                &put,
                &VersionedKvOutput::put(KvErr::ErrVersion)
            ),
            Some(at("a", 1))
        );
        assert_eq!(
            m.step(&at("a", 1), &put, &VersionedKvOutput::put(KvErr::Ok)),
            None
        );
    }

    #[test]
    fn err_maybe_fits_both_outcomes() {
        let m = VersionedKvModel;
        let put = VersionedKvInput::put("k", "b", 1);
        let maybe = VersionedKvOutput::put(KvErr::ErrMaybe);
        assert_eq!(m.step(&at("a", 1), &put, &maybe), Some(at("b", 2)));
        assert_eq!(m.step(&at("a", 2), &put, &maybe), Some(at("a", 2)));
    }

    #[test]
    fn a_get_is_checked_on_its_value_only_as_in_the_lab() {
        let m = VersionedKvModel;
        let get = VersionedKvInput::get("k");
        let missing = VersionedKvOutput::got("", 0, KvErr::ErrNoKey);
        assert!(m.step(&at("", 0), &get, &missing).is_some());
        assert!(m
            .step(
                &at("a", 1),
                &get,
                &VersionedKvOutput::got("a", 7, KvErr::Ok)
            )
            .is_some());
        assert!(m.step(&at("a", 1), &get, &missing).is_none());
    }
}
