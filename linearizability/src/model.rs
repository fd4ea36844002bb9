//! Models: the sequential specification a history is checked against.
//!
//! A [`Model`] says what one operation does to the object's state, given what the call
//! returned. A [`NondeterministicModel`] may allow several next states; [`PowerSet`] turns it
//! into a [`Model`] whose state is the set of states the object may be in.

use std::borrow::Cow;
use std::fmt::Debug;
use std::hash::{Hash, Hasher};

use crate::hash::hash_one;

/// The sequential specification of an object: its initial state and what each operation does.
///
/// `step` and `step_unknown` must be pure (the same arguments always give the same answer):
/// the checker calls them in many orders and remembers what it saw.
///
/// ```
/// use linearizability::Model;
///
/// /// A counter: `Some(n)` adds n and returns nothing, `None` reads it.
/// struct Counter;
///
/// impl Model for Counter {
///     type State = i64;
///     type Input = Option<i64>;
///     type Output = Option<i64>;
///
///     fn init(&self) -> i64 {
///         0
///     }
///     fn step(&self, state: &i64, input: &Option<i64>, output: &Option<i64>) -> Option<i64> {
///         match input {
///             Some(n) => Some(state + n),
///             None => (*output == Some(*state)).then_some(*state),
///         }
///     }
///     fn step_unknown(&self, state: &i64, input: &Option<i64>) -> Option<i64> {
///         Some(state + input.unwrap_or(0))
///     }
/// }
///
/// assert_eq!(Counter.step(&1, &None, &Some(1)), Some(1));
/// assert_eq!(Counter.step(&1, &None, &Some(2)), None); // a read of 2 is wrong in state 1
/// ```
pub trait Model {
    /// The object's state. Cheap to clone and hash pays off: the checker keeps a copy of
    /// every state it reaches, and hashes each one.
    type State: Clone + Eq + Hash + Debug;
    /// What a client asks.
    type Input: Debug;
    /// What a call returns.
    type Output: Debug;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// The state after `input` took effect in `state` and returned `output`, or `None` when
    /// the object could not have returned `output` there.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: &Self::Output,
    ) -> Option<Self::State>;

    /// The state after `input` took effect in `state` when nobody saw what it returned (an
    /// operation whose outcome is unknown), or `None` when it cannot take effect there. For
    /// an object that is deterministic (the state and the input fix the output), this is
    /// `step` with the output the object would have returned.
    fn step_unknown(&self, state: &Self::State, input: &Self::Input) -> Option<Self::State>;

    /// Which independent part of the object `input` touches: operations on different parts
    /// never constrain each other (P-compositionality), so the checker checks each part on
    /// its own. For a key/value store, the key. The default, `""`, is one part for all.
    fn partition_key<'a>(&self, input: &'a Self::Input) -> Cow<'a, str> {
        let _ = input;
        Cow::Borrowed("")
    }

    /// Whether the operation (`output` is `None` for an unknown outcome) leaves the state
    /// unchanged in *every* state in which it is possible: a read, a get, a compare-and-set
    /// that failed. The checker then lets it take effect as soon as it is possible and never
    /// tries it later, which prunes most of the search on read-heavy histories. The default
    /// is `false` (always correct); answering `true` for an operation that changes some
    /// state it is possible in makes the checker wrong.
    fn is_read_only(&self, input: &Self::Input, output: Option<&Self::Output>) -> bool {
        let _ = (input, output);
        false
    }

    /// One operation in words, for messages and pictures (`output` is `None` when the
    /// outcome is unknown). The default prints the input and output with `Debug`.
    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        match output {
            Some(output) => format!("{input:?} -> {output:?}"),
            None => format!("{input:?} -> ?"),
        }
    }

    /// A state in words. The default prints it with `Debug`.
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}

/// A sequential specification that may allow several next states (or initial states): for
/// example a set whose `remove_any` may remove any element. Check it through [`PowerSet`].
pub trait NondeterministicModel {
    /// One state the object may be in.
    type State: Clone + Eq + Hash + Debug;
    /// What a client asks.
    type Input: Debug;
    /// What a call returns.
    type Output: Debug;

    /// The states the object may start in (at least one).
    fn init(&self) -> Vec<Self::State>;

    /// Every state the object may be in after `input` took effect in `state` and returned
    /// `output`; empty when it could not have returned `output` there.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: &Self::Output,
    ) -> Vec<Self::State>;

    /// Every state the object may be in after `input` took effect in `state` with an output
    /// nobody saw; empty when it cannot take effect there.
    fn step_unknown(&self, state: &Self::State, input: &Self::Input) -> Vec<Self::State>;

    /// As [`Model::partition_key`].
    fn partition_key<'a>(&self, input: &'a Self::Input) -> Cow<'a, str> {
        let _ = input;
        Cow::Borrowed("")
    }

    /// As [`Model::describe_operation`].
    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        match output {
            Some(output) => format!("{input:?} -> {output:?}"),
            None => format!("{input:?} -> ?"),
        }
    }

    /// As [`Model::describe_state`].
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}

/// A [`NondeterministicModel`] as a [`Model`] whose state is the set of states the object
/// may be in: an operation is possible when it is possible from at least one of them.
///
/// ```
/// use linearizability::{Checker, NondeterministicModel, Operation, PowerSet, Verdict};
///
/// /// A cell that a `Scramble` sets to 1 or 2, we do not know which; `Read` returns it.
/// struct Scrambled;
/// #[derive(Debug)]
/// enum Op { Scramble, Read }
///
/// impl NondeterministicModel for Scrambled {
///     type State = u8;
///     type Input = Op;
///     type Output = u8;
///     fn init(&self) -> Vec<u8> { vec![0] }
///     fn step(&self, s: &u8, input: &Op, out: &u8) -> Vec<u8> {
///         match input {
///             Op::Scramble => vec![1, 2],
///             Op::Read if out == s => vec![*s],
///             Op::Read => vec![],
///         }
///     }
///     fn step_unknown(&self, s: &u8, input: &Op) -> Vec<u8> {
///         match input { Op::Scramble => vec![1, 2], Op::Read => vec![*s] }
///     }
/// }
///
/// let model = PowerSet(Scrambled);
/// let ok = [Operation::new(0, Op::Scramble, 0, 0, 1), Operation::new(0, Op::Read, 2, 2, 3)];
/// assert_eq!(Checker::new(&model).check(&ok)?.verdict(), Verdict::Linearizable);
/// let bad = [Operation::new(0, Op::Scramble, 0, 0, 1), Operation::new(0, Op::Read, 2, 3, 3)];
/// assert_eq!(Checker::new(&model).check(&bad)?.verdict(), Verdict::NotLinearizable);
/// # Ok::<(), linearizability::HistoryError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PowerSet<M>(pub M);

impl<M: NondeterministicModel> Model for PowerSet<M> {
    type State = StateSet<M::State>;
    type Input = M::Input;
    type Output = M::Output;

    fn init(&self) -> Self::State {
        StateSet::from_states(self.0.init())
    }

    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: &Self::Output,
    ) -> Option<Self::State> {
        let next = state
            .states
            .iter()
            .flat_map(|s| self.0.step(s, input, output));
        let set = StateSet::from_states(next);
        (!set.states.is_empty()).then_some(set)
    }

    fn step_unknown(&self, state: &Self::State, input: &Self::Input) -> Option<Self::State> {
        let next = state
            .states
            .iter()
            .flat_map(|s| self.0.step_unknown(s, input));
        let set = StateSet::from_states(next);
        (!set.states.is_empty()).then_some(set)
    }

    fn partition_key<'a>(&self, input: &'a Self::Input) -> Cow<'a, str> {
        self.0.partition_key(input)
    }

    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        self.0.describe_operation(input, output)
    }

    fn describe_state(&self, state: &Self::State) -> String {
        let parts: Vec<String> = state
            .states
            .iter()
            .map(|s| self.0.describe_state(s))
            .collect();
        format!("one of {{{}}}", parts.join(", "))
    }
}

/// A set of states (the state of a [`PowerSet`] model): equal to another set with the same
/// states in any order, and hashed the same way.
#[derive(Debug, Clone)]
pub struct StateSet<S> {
    states: Vec<S>,
    hash: u64,
}

impl<S: Eq + Hash> StateSet<S> {
    /// The set of the given states (repeats count once).
    pub fn from_states(states: impl IntoIterator<Item = S>) -> Self {
        let mut unique: Vec<S> = Vec::new();
        let mut hashes: Vec<u64> = Vec::new();
        for s in states {
            let h = hash_one(&s);
            let seen = unique
                .iter()
                .zip(&hashes)
                .any(|(u, &uh)| uh == h && *u == s);
            if !seen {
                unique.push(s);
                hashes.push(h);
            }
        }
        // Order does not matter: the sum of the members' hashes.
        let hash = hashes.iter().fold(0u64, |acc, h| acc.wrapping_add(*h));
        StateSet {
            states: unique,
            hash,
        }
    }

    /// The states, in no particular order.
    pub fn states(&self) -> &[S] {
        &self.states
    }
}

impl<S: Eq> PartialEq for StateSet<S> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && self.states.len() == other.states.len()
            && self.states.iter().all(|s| other.states.contains(s))
    }
}

impl<S: Eq> Eq for StateSet<S> {}

impl<S> Hash for StateSet<S> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}
