//! Histories: what the clients did and saw, as [`Operation`]s (a call and its return, with
//! times) or as a sequence of call and return [`Event`]s (only their order matters).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// What became of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome<O> {
    /// The call returned `output` at time `at`: the operation took effect at one instant
    /// between its call and `at`.
    Returned {
        /// What the call returned.
        output: O,
        /// When it returned, on the same clock as the call.
        at: u64,
    },
    /// Nobody saw the outcome (the call timed out, the client crashed, the test ended first;
    /// Jepsen's `:info`): the operation took effect at one instant after its call, or never.
    Unknown,
}

/// One call of one client: its input, when it was called, and what it returned when.
///
/// Times are any clock that only moves forward, the same for every client; the key/value
/// graders record nanoseconds of (virtual) run time. A call and a return at the same time
/// count as overlapping, so an operation that returned at `t` may take effect after one
/// called at `t`.
///
/// ```
/// use linearizability::Operation;
///
/// // Client 1 put "x" between t = 10 and t = 25.
/// let op: Operation<&str, ()> = Operation::new(1, "put x", 10, (), 25);
/// assert_eq!(op.ret(), Some(25));
/// // Client 2's put timed out: it may or may not have happened.
/// let lost: Operation<&str, ()> = Operation::unknown(2, "put y", 12);
/// assert_eq!(lost.output(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation<I, O> {
    /// Who called: rows of a picture, and names in messages. Any number; the checker itself
    /// does not use it (one client may even have overlapping calls).
    pub client: usize,
    /// What was asked.
    pub input: I,
    /// When it was called.
    pub call: u64,
    /// What came back, and when.
    pub outcome: Outcome<O>,
}

impl<I, O> Operation<I, O> {
    /// A call at `call` that returned `output` at `ret`.
    pub fn new(client: usize, input: I, call: u64, output: O, ret: u64) -> Self {
        Operation {
            client,
            input,
            call,
            outcome: Outcome::Returned { output, at: ret },
        }
    }

    /// A call at `call` whose outcome nobody saw: it took effect at some time after `call`,
    /// or never.
    pub fn unknown(client: usize, input: I, call: u64) -> Self {
        Operation {
            client,
            input,
            call,
            outcome: Outcome::Unknown,
        }
    }

    /// What the call returned, if anyone saw it.
    pub fn output(&self) -> Option<&O> {
        match &self.outcome {
            Outcome::Returned { output, .. } => Some(output),
            Outcome::Unknown => None,
        }
    }

    /// When the call returned, if anyone saw it.
    pub fn ret(&self) -> Option<u64> {
        match self.outcome {
            Outcome::Returned { at, .. } => Some(at),
            Outcome::Unknown => None,
        }
    }
}

/// One event of a history given as a sequence: a call or a return, matched by `id`.
///
/// Only the order of the events matters: event `k` happens at time `k`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event<I, O> {
    /// A client called.
    Call {
        /// Who called.
        client: usize,
        /// Names the call, so that its return can say which call it ends.
        id: u64,
        /// What was asked.
        input: I,
    },
    /// A call returned.
    Return {
        /// Who called.
        client: usize,
        /// The `id` of the call this return ends.
        id: u64,
        /// What came back.
        output: O,
    },
}

/// A history that cannot be checked, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// An operation returned before it was called.
    #[error(
        "operation {index} (client {client}) returned at {ret}, before its call at {call}: \
         calls and returns must be read from one clock that only moves forward"
    )]
    ReturnBeforeCall {
        /// Its position in the history.
        index: usize,
        /// Its client.
        client: usize,
        /// Its call time.
        call: u64,
        /// Its return time.
        ret: u64,
    },
    /// Too many operations for one check.
    #[error(
        "the history has {count} operations; one check takes at most {max}: \
         check it in parts (per key, per time window)"
    )]
    TooLong {
        /// How many operations the history has.
        count: usize,
        /// The most a check takes.
        max: usize,
    },
    /// Two calls in an event history have the same id.
    #[error(
        "events {first} and {second} are both calls with id {id}: \
         each call needs an id of its own (ids may be reused only after the return)"
    )]
    DuplicateCall {
        /// The id.
        id: u64,
        /// Position of the first call.
        first: usize,
        /// Position of the second call.
        second: usize,
    },
    /// A return in an event history matches no open call.
    #[error(
        "event {position} returns call {id}, but no call with that id is open \
         (never called, or already returned)"
    )]
    ReturnWithoutCall {
        /// The id.
        id: u64,
        /// Position of the return.
        position: usize,
    },
    /// A return in an event history is by another client than its call.
    #[error(
        "event {position} returns call {id} of client {caller} as client {client}: \
         a call returns to the client that made it"
    )]
    ReturnByOtherClient {
        /// The id.
        id: u64,
        /// Position of the return.
        position: usize,
        /// The client that called.
        caller: usize,
        /// The client the return names.
        client: usize,
    },
}

/// The most operations one check takes (entry numbers are kept in 30 bits).
pub const MAX_OPERATIONS: usize = (1 << 29) - 2;

/// Turns a sequence of call and return events into operations, in the order of their calls.
/// Event `k` happens at time `k`. A call that never returns is an operation whose outcome is
/// unknown (it may have taken effect at any time after its call, or never).
///
/// ```
/// use linearizability::{operations_from_events, Event};
///
/// let events = vec![
///     Event::Call { client: 0, id: 7, input: "w1" },
///     Event::Call { client: 1, id: 8, input: "r" },
///     Event::Return { client: 0, id: 7, output: "ok" },
/// ];
/// let ops = operations_from_events(events)?;
/// assert_eq!((ops[0].call, ops[0].ret()), (0, Some(2)));
/// assert_eq!(ops[1].ret(), None); // never returned
/// # Ok::<(), linearizability::HistoryError>(())
/// ```
pub fn operations_from_events<I, O>(
    events: Vec<Event<I, O>>,
) -> Result<Vec<Operation<I, O>>, HistoryError> {
    let mut ops: Vec<Operation<I, O>> = Vec::new();
    // id -> (index in ops, position of the call)
    let mut open: HashMap<u64, (usize, usize)> = HashMap::new();
    for (position, event) in events.into_iter().enumerate() {
        let time = position as u64;
        match event {
            Event::Call { client, id, input } => {
                if let Some(&(_, first)) = open.get(&id) {
                    return Err(HistoryError::DuplicateCall {
                        id,
                        first,
                        second: position,
                    });
                }
                open.insert(id, (ops.len(), position));
                ops.push(Operation::unknown(client, input, time));
            }
            Event::Return { client, id, output } => {
                let Some((index, _)) = open.remove(&id) else {
                    return Err(HistoryError::ReturnWithoutCall { id, position });
                };
                let op = &mut ops[index];
                if op.client != client {
                    return Err(HistoryError::ReturnByOtherClient {
                        id,
                        position,
                        caller: op.client,
                        client,
                    });
                }
                op.outcome = Outcome::Returned { output, at: time };
            }
        }
    }
    Ok(ops)
}

/// Checks what the checker needs of a history: returns after calls, and a size it can number.
pub(crate) fn validate<I, O>(history: &[Operation<I, O>]) -> Result<(), HistoryError> {
    if history.len() > MAX_OPERATIONS {
        return Err(HistoryError::TooLong {
            count: history.len(),
            max: MAX_OPERATIONS,
        });
    }
    for (index, op) in history.iter().enumerate() {
        if let Some(ret) = op.ret() {
            if ret < op.call {
                return Err(HistoryError::ReturnBeforeCall {
                    index,
                    client: op.client,
                    call: op.call,
                    ret,
                });
            }
        }
    }
    Ok(())
}
