//! The two ways a partition's operations meet the model: one key's operations against the
//! model's own state ([`PartStepper`]), or, when partitioning is off, every key's operations
//! against the product of the keys' states ([`WholeStepper`]).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use crate::hash::{hash_one, mix, op_word, BuildPassThrough};
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

/// The state of every key at once: a number standing for one combination of the keys'
/// states. Combinations are shared (hash-consed) by the stepper that made them, so equal
/// states have equal numbers, and a state costs the search's cache 16 bytes, whatever the
/// keys' states hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WholeState {
    id: u32,
    hash: u64,
}

/// Key `k`'s share of the whole state's hash (the hash is the sum of the shares).
#[inline]
fn share(k: usize, hash: u64) -> u64 {
    mix(hash ^ op_word(k as u32))
}

/// Every distinct key state and every distinct combination the search has reached, each
/// numbered once.
struct Interner<S> {
    /// The key states, their hashes, and chains of those with the same hash.
    values: Vec<(S, u64, u32)>,
    value_heads: HashMap<u64, u32, BuildPassThrough>,
    /// The combinations: `keys` value numbers each, and chains by hash.
    products: Vec<u32>,
    product_chain: Vec<u32>,
    product_heads: HashMap<u64, u32, BuildPassThrough>,
}

const NONE: u32 = u32::MAX;

impl<S: Eq> Interner<S> {
    /// The number of key state `value` (with hash `hash`).
    fn value(&mut self, value: S, hash: u64) -> u32 {
        let index = self.values.len() as u32;
        let head = self.value_heads.entry(hash).or_insert(NONE);
        let mut at = *head;
        while at != NONE {
            let (known, known_hash, next) = &self.values[at as usize];
            if *known_hash == hash && *known == value {
                return at;
            }
            at = *next;
        }
        self.values.push((value, hash, *head));
        *head = index;
        index
    }

    /// The number of the combination `parts` (value numbers, one per key) with hash `hash`.
    fn product(&mut self, parts: &[u32], hash: u64) -> u32 {
        let keys = parts.len().max(1);
        let index = (self.products.len() / keys) as u32;
        let head = self.product_heads.entry(hash).or_insert(NONE);
        let mut at = *head;
        while at != NONE {
            let i = at as usize;
            if self.products[i * keys..(i + 1) * keys] == *parts {
                return at;
            }
            at = self.product_chain[i];
        }
        self.products.extend_from_slice(parts);
        self.product_chain.push(*head);
        *head = index;
        index
    }
}

/// All operations (history indices in `ops`) against the product of every key's state.
pub(crate) struct WholeStepper<'a, M: Model> {
    model: &'a M,
    history: &'a [Operation<M::Input, M::Output>],
    ops: &'a [usize],
    /// The keys, sorted; `key_of[i]` is the index of operation `ops[i]`'s key.
    keys: Vec<String>,
    key_of: Vec<u32>,
    /// The states reached so far (the search runs one walk at a time, on one thread).
    interner: RefCell<Interner<M::State>>,
    /// Scratch for the combination a step builds.
    scratch: RefCell<Vec<u32>>,
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
        let keys: Vec<String> = sorted.into_iter().map(str::to_string).collect();
        WholeStepper {
            model,
            history,
            ops,
            scratch: RefCell::new(vec![0; keys.len()]),
            keys,
            key_of,
            interner: RefCell::new(Interner {
                values: Vec::new(),
                value_heads: HashMap::default(),
                products: Vec::new(),
                product_chain: Vec::new(),
                product_heads: HashMap::default(),
            }),
        }
    }
}

impl<M: Model> Stepper for WholeStepper<'_, M> {
    type State = WholeState;

    fn init(&self) -> WholeState {
        let init = self.model.init();
        let h = hash_one(&init);
        let mut interner = self.interner.borrow_mut();
        let v = interner.value(init, h);
        let parts = vec![v; self.keys.len()];
        let hash = (0..self.keys.len()).fold(0u64, |acc, k| acc.wrapping_add(share(k, h)));
        WholeState {
            id: interner.product(&parts, hash),
            hash,
        }
    }

    #[inline]
    fn step(&self, state: &WholeState, op: u32) -> Option<WholeState> {
        let k = self.key_of[op as usize] as usize;
        let keys = self.keys.len();
        let mut interner = self.interner.borrow_mut();
        let at = state.id as usize * keys;
        let old_value = interner.products[at + k];
        let (old, old_hash, _) = &interner.values[old_value as usize];
        let old_hash = *old_hash;
        let new = step_op(self.model, old, &self.history[self.ops[op as usize]])?;
        if new == *old {
            return Some(*state);
        }
        let new_hash = hash_one(&new);
        let new_value = interner.value(new, new_hash);
        let mut parts = self.scratch.borrow_mut();
        parts.copy_from_slice(&interner.products[at..at + keys]);
        parts[k] = new_value;
        let hash = state
            .hash
            .wrapping_sub(share(k, old_hash))
            .wrapping_add(share(k, new_hash));
        Some(WholeState {
            id: interner.product(&parts, hash),
            hash,
        })
    }

    #[inline]
    fn hash(&self, state: &WholeState) -> u64 {
        state.hash
    }

    fn state_bytes(&self, _state: &WholeState) -> usize {
        // The number, and (at most) a new combination of key state numbers.
        std::mem::size_of::<WholeState>() + 4 * self.keys.len() + 16
    }

    fn read_only(&self, op: u32) -> bool {
        // Read-only on its key leaves every other key alone too.
        let op = &self.history[self.ops[op as usize]];
        self.model.is_read_only(&op.input, op.output())
    }
}

impl<M: Model> Describe for WholeStepper<'_, M> {
    fn describe_state(&self, state: &WholeState) -> String {
        let interner = self.interner.borrow();
        let at = state.id as usize * self.keys.len();
        let parts: Vec<String> = self
            .keys
            .iter()
            .enumerate()
            .map(|(k, key)| {
                let value = interner.products[at + k] as usize;
                format!(
                    "{key:?}: {}",
                    self.model.describe_state(&interner.values[value].0)
                )
            })
            .collect();
        format!("{{{}}}", parts.join(", "))
    }
}
