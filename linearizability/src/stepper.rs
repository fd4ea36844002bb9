//! The two ways a partition's operations meet the model: one key's operations against the
//! model's own state ([`PartStepper`]), or, when partitioning is off, every key's operations
//! against the product of the keys' states ([`WholeStepper`]).

use std::borrow::Cow;
use std::sync::Arc;

use crate::hash::{hash_one, mix, op_word};
use crate::history::{Operation, Outcome};
use crate::model::Model;
use crate::search::Stepper;

/// What the report needs besides stepping: states in words.
pub(crate) trait Describe: Stepper {
    fn describe_state(&self, state: &Self::State) -> String;
}

/// One partition's operations (history indices in `ops`) against the model.
pub(crate) struct PartStepper<'a, M: Model> {
    pub model: &'a M,
    pub history: &'a [Operation<M::Input, M::Output>],
    pub ops: &'a [usize],
}

#[inline]
fn step_op<M: Model>(
    model: &M,
    state: &M::State,
    op: &Operation<M::Input, M::Output>,
) -> Option<M::State> {
    match &op.outcome {
        Outcome::Returned { output, .. } => model.step(state, &op.input, output),
        Outcome::Unknown => model.step_unknown(state, &op.input),
    }
}

impl<M: Model> Stepper for PartStepper<'_, M> {
    type State = M::State;

    fn init(&self) -> M::State {
        self.model.init()
    }

    #[inline]
    fn step(&self, state: &M::State, op: u32) -> Option<M::State> {
        step_op(self.model, state, &self.history[self.ops[op as usize]])
    }

    #[inline]
    fn hash(&self, state: &M::State) -> u64 {
        hash_one(state)
    }

    fn state_bytes(&self, _state: &M::State) -> usize {
        std::mem::size_of::<M::State>()
    }

    fn read_only(&self, op: u32) -> bool {
        let op = &self.history[self.ops[op as usize]];
        self.model.is_read_only(&op.input, op.output())
    }
}

impl<M: Model> Describe for PartStepper<'_, M> {
    fn describe_state(&self, state: &M::State) -> String {
        self.model.describe_state(state)
    }
}

/// The state of every key at once, with each key's hash kept beside it so that a step
/// rehashes only the key it changed.
#[derive(Debug)]
pub(crate) struct WholeState<S> {
    parts: Arc<[(S, u64)]>,
    hash: u64,
}

impl<S> Clone for WholeState<S> {
    fn clone(&self) -> Self {
        WholeState {
            parts: Arc::clone(&self.parts),
            hash: self.hash,
        }
    }
}

impl<S: Eq> PartialEq for WholeState<S> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && (Arc::ptr_eq(&self.parts, &other.parts)
                || self
                    .parts
                    .iter()
                    .zip(other.parts.iter())
                    .all(|(a, b)| a.1 == b.1 && a.0 == b.0))
    }
}

impl<S: Eq> Eq for WholeState<S> {}

/// Key `k`'s share of the whole state's hash (the hash is the sum of the shares).
#[inline]
fn share(k: usize, hash: u64) -> u64 {
    mix(hash ^ op_word(k as u32))
}

/// All operations (history indices in `ops`) against the product of every key's state.
pub(crate) struct WholeStepper<'a, M: Model> {
    pub model: &'a M,
    pub history: &'a [Operation<M::Input, M::Output>],
    pub ops: &'a [usize],
    /// The keys, sorted; `key_of[i]` is the index of operation `ops[i]`'s key.
    pub keys: Vec<String>,
    pub key_of: Vec<u32>,
}

impl<'a, M: Model> WholeStepper<'a, M> {
    /// The stepper for `ops` (history indices), numbering the keys in sorted order.
    pub fn new(
        model: &'a M,
        history: &'a [Operation<M::Input, M::Output>],
        ops: &'a [usize],
    ) -> Self {
        let names: Vec<Cow<'a, str>> = ops
            .iter()
            .map(|&i| model.partition_key(&history[i].input))
            .collect();
        let mut sorted: Vec<&str> = names.iter().map(|n| n.as_ref()).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let key_of = names
            .iter()
            .map(|name| sorted.binary_search(&name.as_ref()).unwrap_or(0) as u32)
            .collect();
        let keys = sorted.into_iter().map(str::to_string).collect();
        WholeStepper {
            model,
            history,
            ops,
            keys,
            key_of,
        }
    }
}

impl<M: Model> Stepper for WholeStepper<'_, M> {
    type State = WholeState<M::State>;

    fn init(&self) -> Self::State {
        let init = self.model.init();
        let h = hash_one(&init);
        let parts: Vec<(M::State, u64)> = (0..self.keys.len()).map(|_| (init.clone(), h)).collect();
        let hash = (0..self.keys.len()).fold(0u64, |acc, k| acc.wrapping_add(share(k, h)));
        WholeState {
            parts: parts.into(),
            hash,
        }
    }

    #[inline]
    fn step(&self, state: &Self::State, op: u32) -> Option<Self::State> {
        let k = self.key_of[op as usize] as usize;
        let (old, old_hash) = &state.parts[k];
        let new = step_op(self.model, old, &self.history[self.ops[op as usize]])?;
        if new == *old {
            return Some(state.clone());
        }
        let new_hash = hash_one(&new);
        let mut new = Some((new, new_hash));
        // One allocation: the slice is built in place from an iterator of known length.
        let parts: Arc<[(M::State, u64)]> = state
            .parts
            .iter()
            .enumerate()
            .map(|(i, part)| match new.take() {
                Some(replacement) if i == k => replacement,
                other => {
                    new = other;
                    part.clone()
                }
            })
            .collect();
        let hash = state
            .hash
            .wrapping_sub(share(k, *old_hash))
            .wrapping_add(share(k, new_hash));
        Some(WholeState { parts, hash })
    }

    #[inline]
    fn hash(&self, state: &Self::State) -> u64 {
        state.hash
    }

    fn state_bytes(&self, state: &Self::State) -> usize {
        // The handle, and the slice it shares with at most a few others.
        std::mem::size_of::<Self::State>()
            + 16
            + state.parts.len() * std::mem::size_of::<(M::State, u64)>()
    }

    fn read_only(&self, op: u32) -> bool {
        // Read-only on its key leaves every other key alone too.
        let op = &self.history[self.ops[op as usize]];
        self.model.is_read_only(&op.input, op.output())
    }
}

impl<M: Model> Describe for WholeStepper<'_, M> {
    fn describe_state(&self, state: &Self::State) -> String {
        let parts: Vec<String> = self
            .keys
            .iter()
            .zip(state.parts.iter())
            .map(|(key, (s, _))| format!("{key:?}: {}", self.model.describe_state(s)))
            .collect();
        format!("{{{}}}", parts.join(", "))
    }
}
