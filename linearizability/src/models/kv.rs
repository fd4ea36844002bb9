//! The key/value store of the 6.824 / 6.5840 labs of 2020–2024: `Get`, `Put`, `Append`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::Model;

/// One key's value as a model state: shared text with its hash kept beside it, so that the
/// checker clones, hashes and (usually) compares it in constant time, and an append hashes
/// only the appended text.
#[derive(Clone)]
pub struct KvValue {
    text: Arc<str>,
    hash: u64,
}

/// The rolling hash's base: `hash(s + c) = hash(s) * BASE + c + 1`, so an append continues
/// the hash of the value it appends to. (Equal hashes are always confirmed by comparing the
/// text, so a collision costs time, never an answer.)
const BASE: u64 = 0x0000_0100_0000_01b3;

fn roll(mut hash: u64, text: &str) -> u64 {
    for &byte in text.as_bytes() {
        hash = hash.wrapping_mul(BASE).wrapping_add(u64::from(byte) + 1);
    }
    hash
}

thread_local! {
    /// Where appends are put together before their one allocation.
    static SCRATCH: RefCell<String> = const { RefCell::new(String::new()) };
}

impl KvValue {
    /// A value holding `text`.
    pub fn new(text: &str) -> Self {
        KvValue {
            hash: roll(0, text),
            text: Arc::from(text),
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// This value with `more` appended.
    pub fn appended(&self, more: &str) -> Self {
        let text = SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            scratch.clear();
            scratch.push_str(&self.text);
            scratch.push_str(more);
            Arc::from(scratch.as_str())
        });
        KvValue {
            text,
            hash: roll(self.hash, more),
        }
    }
}

impl Default for KvValue {
    fn default() -> Self {
        KvValue::new("")
    }
}

impl PartialEq for KvValue {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && (Arc::ptr_eq(&self.text, &other.text) || self.text == other.text)
    }
}

impl Eq for KvValue {}

impl Hash for KvValue {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash ^ (self.text.len() as u64).rotate_left(32));
    }
}

impl fmt::Debug for KvValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text, f)
    }
}

impl fmt::Display for KvValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A call to the 2020–2024 key/value service.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KvInput {
    /// `Get(key)`: returns the key's value, `""` for a missing key.
    Get {
        /// The key.
        key: String,
    },
    /// `Put(key, value)`: replaces the key's value.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// `Append(key, value)`: appends to the key's value (a missing key counts as `""`).
    Append {
        /// The key.
        key: String,
        /// What to append.
        value: String,
    },
    /// The 2024 key/value server lab's `Append`, which returns the value before it.
    AppendReturningOld {
        /// The key.
        key: String,
        /// What to append.
        value: String,
    },
}

impl KvInput {
    /// `Get(key)`.
    pub fn get(key: impl Into<String>) -> Self {
        KvInput::Get { key: key.into() }
    }

    /// `Put(key, value)`.
    pub fn put(key: impl Into<String>, value: impl Into<String>) -> Self {
        KvInput::Put {
            key: key.into(),
            value: value.into(),
        }
    }

    /// `Append(key, value)`.
    pub fn append(key: impl Into<String>, value: impl Into<String>) -> Self {
        KvInput::Append {
            key: key.into(),
            value: value.into(),
        }
    }

    /// The key the call touches.
    pub fn key(&self) -> &str {
        match self {
            KvInput::Get { key }
            | KvInput::Put { key, .. }
            | KvInput::Append { key, .. }
            | KvInput::AppendReturningOld { key, .. } => key,
        }
    }
}

/// What a call to the 2020–2024 key/value service returned: the value for a `Get` (and for
/// 2024's `AppendReturningOld`, the value before it); nothing for `Put` and `Append`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KvOutput {
    /// The value returned (`""` when the call returns none).
    pub value: String,
}

impl KvOutput {
    /// An output carrying `value`.
    pub fn value(value: impl Into<String>) -> Self {
        KvOutput {
            value: value.into(),
        }
    }
}

/// The lab's key/value model of 2020–2024 (`models/kv.go`): one state per key, initially
/// `""`; a `Get` must return the current value; `Put` replaces it; `Append` appends (and in
/// 2024's key/value server lab, may return the value before it). Partitioned by key.
///
/// ```
/// use linearizability::models::{KvInput, KvModel, KvOutput};
/// use linearizability::{Checker, Operation, Verdict};
///
/// let history = vec![
///     // A get of a key nobody wrote returns "".
///     Operation::new(0, KvInput::get("a"), 0, KvOutput::value(""), 5),
///     Operation::new(0, KvInput::append("a", "x"), 6, KvOutput::default(), 9),
///     Operation::new(1, KvInput::append("a", "y"), 7, KvOutput::default(), 12),
///     // Both appends overlap this get: it may see either order, but not "yx" before "x".
///     Operation::new(2, KvInput::get("a"), 8, KvOutput::value("yx"), 13),
/// ];
/// assert_eq!(Checker::new(&KvModel).check(&history)?.verdict(), Verdict::Linearizable);
/// # Ok::<(), linearizability::HistoryError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct KvModel;

impl Model for KvModel {
    type State = KvValue;
    type Input = KvInput;
    type Output = KvOutput;

    fn init(&self) -> KvValue {
        KvValue::default()
    }

    #[inline]
    fn step(&self, state: &KvValue, input: &KvInput, output: &KvOutput) -> Option<KvValue> {
        match input {
            KvInput::Get { .. } => (output.value == state.as_str()).then(|| state.clone()),
            KvInput::Put { value, .. } => Some(KvValue::new(value)),
            KvInput::Append { value, .. } => Some(state.appended(value)),
            KvInput::AppendReturningOld { value, .. } => {
                (output.value == state.as_str()).then(|| state.appended(value))
            }
        }
    }

    fn step_unknown(&self, state: &KvValue, input: &KvInput) -> Option<KvValue> {
        match input {
            KvInput::Get { .. } => Some(state.clone()),
            KvInput::Put { value, .. } => Some(KvValue::new(value)),
            KvInput::Append { value, .. } | KvInput::AppendReturningOld { value, .. } => {
                Some(state.appended(value))
            }
        }
    }

    fn partition_key<'a>(&self, input: &'a KvInput) -> Cow<'a, str> {
        Cow::Borrowed(input.key())
    }

    fn is_read_only(&self, input: &KvInput, _output: Option<&KvOutput>) -> bool {
        matches!(input, KvInput::Get { .. })
    }

    fn describe_operation(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        let out = |o: Option<&KvOutput>| match o {
            Some(o) => format!("'{}'", o.value),
            None => "?".to_string(),
        };
        match input {
            KvInput::Get { key } => format!("get('{key}') -> {}", out(output)),
            KvInput::Put { key, value } => format!("put('{key}', '{value}')"),
            KvInput::Append { key, value } => format!("append('{key}', '{value}')"),
            KvInput::AppendReturningOld { key, value } => {
                format!("append('{key}', '{value}') -> {}", out(output))
            }
        }
    }

    fn describe_state(&self, state: &KvValue) -> String {
        format!("'{state}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::hash_one;

    #[test]
    fn values_equal_by_text_whatever_their_history() {
        let a = KvValue::new("xy");
        let b = KvValue::new("x").appended("y");
        assert_eq!(a, b);
        assert_eq!(hash_one(&a), hash_one(&b));
        assert_ne!(a, KvValue::new("yx"));
    }

    #[test]
    fn a_get_must_return_the_current_value() {
        let s = KvValue::new("ab");
        assert!(KvModel
            .step(&s, &KvInput::get("k"), &KvOutput::value("ab"))
            .is_some());
        assert!(KvModel
            .step(&s, &KvInput::get("k"), &KvOutput::value("a"))
            .is_none());
    }

    #[test]
    fn append_returning_old_checks_the_old_value_and_appends() {
        let s = KvValue::new("a");
        let input = KvInput::AppendReturningOld {
            key: "k".into(),
            value: "b".into(),
        };
        assert_eq!(
            KvModel.step(&s, &input, &KvOutput::value("a")),
            Some(KvValue::new("ab"))
        );
        assert_eq!(KvModel.step(&s, &input, &KvOutput::value("")), None);
    }

    #[test]
    fn descriptions_read_like_the_labs() {
        assert_eq!(
            KvModel.describe_operation(&KvInput::get("k"), Some(&KvOutput::value("v"))),
            "get('k') -> 'v'"
        );
        assert_eq!(
            KvModel.describe_operation(&KvInput::put("k", "v"), None),
            "put('k', 'v')"
        );
        assert_eq!(KvModel.describe_state(&KvValue::new("")), "''");
    }
}
