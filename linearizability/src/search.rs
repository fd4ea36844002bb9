//! The search for one partition: Wing and Gong's backtracking over the operations that may take
//! effect next, with Lowe's cache of (set of linearized operations, state) pairs already seen.
//!
//! The history becomes a list of call and return entries sorted by time (a call before a
//! return at the same time, so touching intervals overlap). Walking the list from its head, a
//! call whose operation the model accepts in the current state, leading to a pair not seen
//! before, is *lifted*: its call and return entries leave the list, the operation joins the
//! linearization, and the walk restarts at the head. Reaching a return entry means that
//! operation should already have taken effect: the last lifted operation goes back into the
//! list and the walk goes on after its call. The history is linearizable when every operation
//! with a known outcome is lifted, and not linearizable when there is nothing left to undo.
//!
//! An operation whose outcome is unknown has no return entry: it may be lifted anywhere after
//! its call, and need not be lifted at all. One that is also read-only is left out: it could
//! only ever be dropped. Where the others are tried matters a great deal, and no one place
//! is best: in call order (porcupine's), an operation that timed out and never took effect
//! is tried first at every step, and every place it could go is explored before the search
//! finds it need not go anywhere; tried after the candidates of known outcome (a second pass
//! over the candidates), one that did take effect early is found late. So a partition with
//! such operations gets two walks, one of each order, which take turns; both are complete,
//! and the first to finish answers (see [`Search`]).
//!
//! One pruning goes beyond porcupine's search, and is sound (it never changes an answer):
//! **read-only operations first.** A read-only operation (see
//! [`Model::is_read_only`](crate::Model::is_read_only)) that is possible now may as well take
//! effect now: any linearization from here can be reordered to start with it, since it was
//! called before every pending return (it is a candidate) and changes no state the others
//! see. So when it leads nowhere, neither does the configuration before it, and the search
//! backs out of that one too instead of trying its other candidates. (An operation that
//! merely leaves *this* state unchanged does not qualify: later, in another state, it might
//! change it.)

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::mem;

use crate::hash::{op_word, BuildPassThrough};

/// What the search needs of a model: the state after operation `op` (numbered within the
/// partition), and a hash of a state.
pub(crate) trait Stepper {
    /// A state of the object.
    type State: Clone + Eq;
    /// The state before any operation.
    fn init(&self) -> Self::State;
    /// The state after operation `op` took effect in `state`, or `None` if it cannot.
    fn step(&self, state: &Self::State, op: u32) -> Option<Self::State>;
    /// A hash of `state`, equal for equal states.
    fn hash(&self, state: &Self::State) -> u64;
    /// Whether operation `op` leaves every state in which it is possible unchanged (see
    /// [`Model::is_read_only`](crate::Model::is_read_only)).
    fn read_only(&self, op: u32) -> bool;
    /// About how many bytes the cache spends keeping `state`.
    fn state_bytes(&self, state: &Self::State) -> usize;
}

/// When one operation of a partition was called, and returned (`None`: unknown outcome).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Interval {
    pub call: u64,
    pub ret: Option<u64>,
}

/// Why a search stopped before it had an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Halt {
    /// It took its whole step budget.
    Budget,
    /// The time limit passed.
    Time,
    /// Another partition's result made this one's unnecessary.
    Cancelled,
    /// Its cache reached the memory limit.
    Memory,
}

/// How a search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Linearizable,
    NotLinearizable,
    Halted(Halt),
}

/// The answer of one search.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub end: End,
    /// Search steps taken (one per entry visited).
    pub steps: u64,
    /// The whole linearization when linearizable, otherwise the longest linearizable prefix
    /// found (the first one found of that length), as partition-local operation numbers.
    pub longest: Vec<u32>,
}

/// How often (in steps) the search asks whether it should stop: every 1024 steps, a few
/// microseconds of work even with expensive models.
const POLL_MASK: u64 = 1023;

/// Entry numbering: 0 is the head sentinel, entries are 1..=m, m + 1 is the tail sentinel.
const HEAD: u32 = 0;
const NONE: u32 = u32::MAX;
/// Marks a frame whose operation is read-only.
const READ_ONLY: u32 = 1 << 31;
/// Marks a frame lifted in the second pass over the candidates (unknown outcomes).
const SECOND_PASS: u32 = 1 << 30;
/// The entry number in a frame's flagged word (entry numbers stay below the flags).
const ENTRY_MASK: u32 = SECOND_PASS - 1;

/// The sorted call/return entries, threaded on a doubly linked list that the search edits in
/// place (removal and restoring in reverse order, as in dancing links).
struct Entries {
    nodes: Vec<Node>,
    /// For each operation, its return entry (`NONE` for an unknown outcome).
    ret_entry: Vec<u32>,
}

/// One entry of the list: its neighbours, and `op << 1 | 1` for a return entry, `op << 1`
/// for a call (the sentinels' tag is odd: they read as returns of no operation).
#[derive(Clone, Copy)]
struct Node {
    next: u32,
    prev: u32,
    tag: u32,
}

impl Entries {
    /// The entries of the operations for which `keep` holds.
    fn new(intervals: &[Interval], keep: impl Fn(u32) -> bool) -> Self {
        // (time, 0 = call / 1 = return, op): calls before returns at equal times.
        let mut order: Vec<(u64, u8, u32)> = Vec::with_capacity(intervals.len() * 2);
        for (op, iv) in intervals.iter().enumerate() {
            let op = op as u32;
            if !keep(op) {
                continue;
            }
            order.push((iv.call, 0, op));
            if let Some(ret) = iv.ret {
                order.push((ret, 1, op));
            }
        }
        order.sort_unstable();
        let tail = order.len() as u32 + 1;
        let mut nodes = Vec::with_capacity(order.len() + 2);
        let mut ret_entry = vec![NONE; intervals.len()];
        nodes.push(Node {
            next: 1,
            prev: HEAD,
            tag: NONE,
        });
        for (i, &(_, kind, op)) in order.iter().enumerate() {
            let e = i as u32 + 1;
            nodes.push(Node {
                next: e + 1,
                prev: e - 1,
                tag: op << 1 | u32::from(kind),
            });
            if kind == 1 {
                ret_entry[op as usize] = e;
            }
        }
        nodes.push(Node {
            next: tail,
            prev: tail - 1,
            tag: NONE,
        });
        Entries { nodes, ret_entry }
    }

    /// The entry after `e`.
    #[inline]
    fn next(&self, e: u32) -> u32 {
        self.nodes[e as usize].next
    }

    /// Entry `e`'s tag.
    #[inline]
    fn tag(&self, e: u32) -> u32 {
        self.nodes[e as usize].tag
    }

    /// The tail sentinel: reads as a return, so visiting it backtracks.
    #[inline]
    fn tail(&self) -> u32 {
        (self.nodes.len() - 1) as u32
    }

    #[inline]
    fn unlink(&mut self, e: u32) {
        let Node { next, prev, .. } = self.nodes[e as usize];
        self.nodes[prev as usize].next = next;
        self.nodes[next as usize].prev = prev;
    }

    #[inline]
    fn relink(&mut self, e: u32) {
        let Node { next, prev, .. } = self.nodes[e as usize];
        self.nodes[prev as usize].next = e;
        self.nodes[next as usize].prev = e;
    }

    /// Takes a call entry and its operation's return entry out of the list.
    #[inline]
    fn lift(&mut self, call: u32, op: u32) {
        self.unlink(call);
        let ret = self.ret_entry[op as usize];
        if ret != NONE {
            self.unlink(ret);
        }
    }

    /// Puts back what `lift` took out (the most recent lift first).
    #[inline]
    fn unlift(&mut self, call: u32, op: u32) {
        let ret = self.ret_entry[op as usize];
        if ret != NONE {
            self.relink(ret);
        }
        self.relink(call);
    }
}

/// The configurations already reached: (operations placed, state), shared by the walks of a
/// partition. Chained on a hash of both; the bit sets live in one flat array, `words` words
/// each. A configuration is *owned* by the walks that have it on their current path (being
/// explored); one that no walk owns has been explored without success, by one walk or the
/// other (the configurations, and whether one can be finished, are the same whatever the
/// order of the walk that reached them).
struct Cache<S> {
    words: usize,
    heads: HashMap<u64, u32, BuildPassThrough>,
    /// Per configuration: the next one in its chain, its owners (one bit per walk), its state.
    entries: Vec<(u32, u8, S)>,
    bits: Vec<u64>,
    /// About how much memory it takes.
    bytes: usize,
}

/// What one configuration costs the cache besides its bit set and state: its slot in the
/// hash table (key, index and control byte, at the table's load) and its chain link.
const ENTRY_OVERHEAD: usize = 32;

/// What [`Cache::enter`] found.
enum Entered {
    /// The configuration is new, or being explored by another walk: explore it (this walk
    /// now owns entry `index` too).
    Explore(u32),
    /// Explored before without success: skip it.
    Dead,
}

impl<S: Clone + Eq> Cache<S> {
    /// An empty cache with room for `room` configurations before it grows.
    fn new(words: usize, room: usize) -> Self {
        Cache {
            words,
            heads: HashMap::with_capacity_and_hasher(room, BuildPassThrough::default()),
            entries: Vec::with_capacity(room),
            bits: Vec::with_capacity(room * words),
            bytes: 0,
        }
    }

    /// Walk `walk` (a bit) reaches the configuration: adds it, or joins another walk still
    /// exploring it, unless it is dead. `bytes` is what keeping the state costs.
    #[inline]
    fn enter(&mut self, key: u64, bits: &[u64], state: &S, bytes: usize, walk: u8) -> Entered {
        let index = self.entries.len() as u32;
        let next = match self.heads.entry(key) {
            Entry::Occupied(mut head) => {
                let mut at = *head.get();
                while at != NONE {
                    let i = at as usize;
                    let theirs = &self.bits[i * self.words..(i + 1) * self.words];
                    let entry = &mut self.entries[i];
                    if same_words(theirs, bits) && entry.2 == *state {
                        if entry.1 == 0 {
                            return Entered::Dead;
                        }
                        entry.1 |= walk;
                        return Entered::Explore(at);
                    }
                    at = entry.0;
                }
                head.insert(index)
            }
            Entry::Vacant(slot) => {
                slot.insert(index);
                NONE
            }
        };
        self.entries.push((next, walk, state.clone()));
        self.bits.extend_from_slice(bits);
        self.bytes += ENTRY_OVERHEAD + self.words * 8 + bytes;
        Entered::Explore(index)
    }

    /// Walk `walk` has explored entry `index` without success.
    #[inline]
    fn leave(&mut self, index: u32, walk: u8) {
        self.entries[index as usize].1 &= !walk;
    }
}

/// Word-by-word equality (bit sets are a few words: cheaper than a call to `memcmp`).
#[inline]
fn same_words(a: &[u64], b: &[u64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// The longest linearizable prefix seen so far, kept up to date cheaply: `agree` is how many
/// leading operations the current path shares with `best`.
struct Longest {
    best: Vec<u32>,
    agree: usize,
}

impl Longest {
    #[inline]
    fn pushed(&mut self, path: &[u32]) {
        let depth = path.len();
        if self.agree + 1 == depth && self.best.get(depth - 1) == path.last() {
            self.agree = depth;
        }
        if depth > self.best.len() {
            self.best.truncate(self.agree);
            self.best.extend_from_slice(&path[self.agree..]);
            self.agree = depth;
        }
    }

    #[inline]
    fn popped(&mut self, depth: usize) {
        self.agree = self.agree.min(depth);
    }
}

/// Where a [`Search`] stands after [`Search::run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// It has its answer (kept in the search).
    Done,
    /// It reached the step count it was given and can go on later.
    Paused,
}

/// What every walk of a partition shares besides the cache: the stepper, the operations'
/// intervals, which of them are read-only, and the memory limit.
struct Part<'a, T> {
    stepper: &'a T,
    intervals: &'a [Interval],
    read_only: &'a [bool],
    memory_limit: usize,
}

/// One depth-first walk over the configurations, resumable: it runs until a given step count,
/// and goes on from there when asked again.
struct Walk<S> {
    /// Whether candidates of unknown outcome are tried after those of known outcome (a
    /// second pass over the candidates), or in call order with the others.
    unknowns_last: bool,
    list: Entries,
    bits: Vec<u64>,
    bits_hash: u64,
    /// This walk's bit in the cache's owner marks.
    mark: u8,
    state: S,
    /// The linearization so far: each lifted call entry (flagged when its operation is
    /// read-only, and when it was lifted in the second pass), the state before it, and the
    /// cache entry of the configuration it led to.
    frames: Vec<(u32, S, u32)>,
    /// The same operations, in order.
    path: Vec<u32>,
    longest: Longest,
    /// Operations with a known outcome not yet lifted.
    unplaced: usize,
    steps: u64,
    /// Where the walk over the list stands, and in which pass.
    entry: u32,
    unknowns: bool,
    end: Option<End>,
}

impl<S: Clone + Eq> Walk<S> {
    fn new(list: Entries, state: S, unplaced: usize, words: usize, unknowns_last: bool) -> Self {
        let entry = list.next(HEAD);
        Walk {
            unknowns_last,
            list,
            bits: vec![0; words],
            bits_hash: 0,
            mark: if unknowns_last { 2 } else { 1 },
            state,
            frames: Vec::with_capacity(unplaced + 1),
            path: Vec::with_capacity(unplaced + 1),
            longest: Longest {
                best: Vec::with_capacity(unplaced + 1),
                agree: 0,
            },
            unplaced,
            steps: 0,
            entry,
            unknowns: false,
            // Nothing has to take effect (operations with unknown outcomes need not).
            end: (unplaced == 0).then_some(End::Linearizable),
        }
    }

    /// Walks until there is an answer or `until` steps have been taken. `poll` is asked
    /// every 1024 steps whether to stop for good.
    fn run<T: Stepper<State = S>>(
        &mut self,
        part: &Part<'_, T>,
        cache: &mut Cache<S>,
        until: u64,
        poll: &mut dyn FnMut() -> Option<Halt>,
    ) -> Progress {
        if self.end.is_some() {
            return Progress::Done;
        }
        let mut entry = self.entry;
        let mut unknowns = self.unknowns;
        let end = loop {
            if self.steps >= until {
                self.entry = entry;
                self.unknowns = unknowns;
                return Progress::Paused;
            }
            self.steps += 1;
            if self.steps & POLL_MASK == 0 {
                if let Some(halt) = poll() {
                    break End::Halted(halt);
                }
            }
            let tag = self.list.tag(entry);
            if tag & 1 == 0 {
                // A call: try to let its operation take effect now (in the first pass only
                // those of known outcome, in the second the others).
                let op = tag >> 1;
                if self.unknowns_last && part.intervals[op as usize].ret.is_some() == unknowns {
                    entry = self.list.next(entry);
                    continue;
                }
                if let Some(next_state) = part.stepper.step(&self.state, op) {
                    let read_only = part.read_only[op as usize];
                    let word = op_word(op);
                    let (w, b) = ((op / 64) as usize, op % 64);
                    self.bits[w] |= 1 << b;
                    let key = (self.bits_hash ^ word) ^ part.stepper.hash(&next_state);
                    let bytes = part.stepper.state_bytes(&next_state);
                    if let Entered::Explore(config) =
                        cache.enter(key, &self.bits, &next_state, bytes, self.mark)
                    {
                        if cache.bytes > part.memory_limit {
                            self.bits[w] &= !(1 << b);
                            break End::Halted(Halt::Memory);
                        }
                        self.bits_hash ^= word;
                        let previous = mem::replace(&mut self.state, next_state);
                        let mut flags = if read_only { READ_ONLY } else { 0 };
                        if unknowns {
                            flags |= SECOND_PASS;
                        }
                        self.frames.push((entry | flags, previous, config));
                        self.path.push(op);
                        self.longest.pushed(&self.path);
                        self.list.lift(entry, op);
                        if part.intervals[op as usize].ret.is_some() {
                            self.unplaced -= 1;
                            if self.unplaced == 0 {
                                break End::Linearizable;
                            }
                        }
                        entry = self.list.next(HEAD);
                        unknowns = false;
                        continue;
                    }
                    self.bits[w] &= !(1 << b);
                    if read_only {
                        // Explored before, without success: so is this configuration (see
                        // the module's notes). Back out of it.
                        entry = self.list.tail();
                        unknowns = true;
                        continue;
                    }
                }
                entry = self.list.next(entry);
            } else if !unknowns && self.unknowns_last {
                // The end of the first pass: now the candidates of unknown outcome.
                entry = self.list.next(HEAD);
                unknowns = true;
            } else {
                // A return (or the tail) in the last pass: an operation that should have
                // taken effect by now has not. Undo the last choice, and try what comes after
                // it in its pass.
                let Some((flagged, previous, config)) = self.frames.pop() else {
                    break End::NotLinearizable;
                };
                cache.leave(config, self.mark);
                let call = flagged & ENTRY_MASK;
                let op = self.list.tag(call) >> 1;
                self.state = previous;
                self.bits[(op / 64) as usize] &= !(1 << (op % 64));
                self.bits_hash ^= op_word(op);
                self.path.pop();
                self.longest.popped(self.path.len());
                self.list.unlift(call, op);
                if part.intervals[op as usize].ret.is_some() {
                    self.unplaced += 1;
                }
                if flagged & READ_ONLY != 0 {
                    // A read-only operation led nowhere: so does the configuration before
                    // it (see the module's notes). Back out of that one too.
                    entry = self.list.tail();
                    unknowns = true;
                } else {
                    entry = self.list.next(call);
                    unknowns = flagged & SECOND_PASS != 0;
                }
            }
        };
        self.entry = entry;
        self.unknowns = unknowns;
        self.end = Some(end);
        Progress::Done
    }
}

/// Steps one walk takes before the other gets its turn.
const QUANTUM: u64 = 256;

/// The search for a linearization of one partition's operations, resumable: it runs until a
/// given step count, and goes on from there when asked again.
///
/// When some operations have unknown outcomes, two walks take turns: one tries every
/// candidate in call order (as porcupine does), the other tries those of unknown outcome
/// only after the others. Neither order is best for every history (an operation that timed
/// out but took effect early favours the first, one that never took effect the second), and
/// both are complete, so the first to finish answers: the search costs at most twice the
/// better order, and less, since they share one cache (what one walk has explored without
/// success, the other skips).
pub(crate) struct Search<T: Stepper> {
    stepper: T,
    intervals: Vec<Interval>,
    /// Per operation: whether it is read-only.
    read_only: Vec<bool>,
    /// The most bytes the cache may take.
    memory_limit: usize,
    walks: Vec<Walk<T::State>>,
    cache: Cache<T::State>,
    /// The walk that answered.
    winner: Option<usize>,
    end: Option<End>,
}

impl<T: Stepper> Search<T> {
    /// A search over `intervals` (operation `i` of the partition is `intervals[i]`).
    pub fn new(stepper: T, intervals: Vec<Interval>, memory_limit: usize) -> Self {
        let n = intervals.len() as u32;
        let unplaced = intervals.iter().filter(|iv| iv.ret.is_some()).count();
        let read_only: Vec<bool> = (0..n).map(|op| stepper.read_only(op)).collect();
        // An unknown outcome that changes nothing could only ever be dropped: leave it out.
        let listed = |op: u32| intervals[op as usize].ret.is_some() || !read_only[op as usize];
        let list = Entries::new(&intervals, listed);
        let has_unknowns = (0..n).any(|op| listed(op) && intervals[op as usize].ret.is_none());
        let words = intervals.len().div_ceil(64);
        let mut walks = vec![Walk::new(list, stepper.init(), unplaced, words, false)];
        if has_unknowns {
            let list = Entries::new(&intervals, listed);
            walks.push(Walk::new(list, stepper.init(), unplaced, words, true));
        }
        let end = walks[0].end;
        Search {
            memory_limit,
            // Room for a walk that never backtracks: one configuration per operation.
            cache: Cache::new(words, unplaced + 1),
            stepper,
            intervals,
            read_only,
            walks,
            winner: end.map(|_| 0),
            end,
        }
    }

    /// Steps taken so far (by all walks).
    pub fn steps(&self) -> u64 {
        self.walks.iter().map(|w| w.steps).sum()
    }

    /// The answer, once there is one.
    pub fn end(&self) -> Option<End> {
        self.end
    }

    /// Stops the search for good (a limit ran out).
    pub fn halt(&mut self, halt: Halt) {
        if self.end.is_none() {
            self.end = Some(End::Halted(halt));
        }
    }

    /// What was found: the answer (if any), the steps, and the whole linearization (of the
    /// walk that found it) or the longest linearizable prefix any walk reached (the first
    /// walk's on a tie). After a longest prefix of a history that is not linearizable, the
    /// model rejects every candidate: one it accepted would lead to a configuration deeper
    /// than any reached, which some walk would have entered.
    pub fn found(self) -> Found {
        let steps = self.steps();
        let end = self.end.unwrap_or(End::Halted(Halt::Cancelled));
        let mut walks = self.walks;
        let index = match self.winner {
            Some(i) if end == End::Linearizable => i,
            _ => (0..walks.len())
                .max_by_key(|&i| (walks[i].longest.best.len(), std::cmp::Reverse(i)))
                .unwrap_or(0),
        };
        let walk = walks.swap_remove(index);
        let longest = if end == End::Linearizable {
            walk.path
        } else {
            walk.longest.best
        };
        Found {
            end,
            steps,
            longest,
        }
    }

    /// Searches until there is an answer or `until` steps have been taken in all (the walks
    /// take turns of [`QUANTUM`] steps, the one behind first). `poll` is asked every 1024
    /// steps of a walk whether to stop for good.
    pub fn run(&mut self, until: u64, poll: &mut dyn FnMut() -> Option<Halt>) -> Progress {
        let part = Part {
            stepper: &self.stepper,
            intervals: &self.intervals,
            read_only: &self.read_only,
            memory_limit: self.memory_limit,
        };
        loop {
            if self.end.is_some() {
                return Progress::Done;
            }
            let total: u64 = self.walks.iter().map(|w| w.steps).sum();
            if total >= until {
                return Progress::Paused;
            }
            let Some(i) = (0..self.walks.len()).min_by_key(|&i| self.walks[i].steps) else {
                return Progress::Done;
            };
            let walk = &mut self.walks[i];
            let cap = walk.steps + QUANTUM.min(until - total);
            if walk.run(&part, &mut self.cache, cap, poll) == Progress::Done {
                self.end = walk.end;
                self.winner = Some(i);
            }
        }
    }
}

/// Searches one partition to the end, or to `budget` steps.
#[cfg(test)]
fn search<T: Stepper>(
    stepper: T,
    intervals: &[Interval],
    budget: u64,
    poll: &mut dyn FnMut() -> Option<Halt>,
) -> Found {
    let mut search = Search::new(stepper, intervals.to_vec(), usize::MAX);
    if search.run(budget, poll) == Progress::Paused {
        search.halt(Halt::Budget);
    }
    search.found()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A register of small integers: op i writes `writes[i]` (Some) or reads `reads[i]`.
    struct Reg {
        ops: Vec<(bool, i32)>, // (is_write, value)
    }

    impl Stepper for Reg {
        type State = i32;
        fn init(&self) -> i32 {
            0
        }
        fn step(&self, s: &i32, op: u32) -> Option<i32> {
            let (write, v) = self.ops[op as usize];
            if write {
                Some(v)
            } else {
                (v == *s).then_some(*s)
            }
        }
        fn hash(&self, s: &i32) -> u64 {
            *s as u64
        }
        fn read_only(&self, op: u32) -> bool {
            !self.ops[op as usize].0
        }
        fn state_bytes(&self, _: &i32) -> usize {
            4
        }
    }

    fn never() -> impl FnMut() -> Option<Halt> {
        || None
    }

    fn iv(call: u64, ret: u64) -> Interval {
        Interval {
            call,
            ret: Some(ret),
        }
    }

    #[test]
    fn a_read_overlapping_a_write_may_see_it_or_not() {
        let reg = Reg {
            ops: vec![(true, 1), (false, 1), (false, 0)],
        };
        let found = search(
            Reg {
                ops: reg.ops.clone(),
            },
            &[iv(0, 10), iv(1, 5), iv(6, 9)],
            u64::MAX,
            &mut never(),
        );
        // Read 1 before read 0, both inside the write: not linearizable (the write cannot be
        // undone).
        assert_eq!(found.end, End::NotLinearizable);
        let found = search(
            Reg {
                ops: reg.ops.clone(),
            },
            &[iv(0, 10), iv(6, 9), iv(1, 5)],
            u64::MAX,
            &mut never(),
        );
        // Read 0 (1..5) then read 1 (6..9): the write took effect between them.
        assert_eq!(found.end, End::Linearizable);
        assert_eq!(found.longest, vec![2, 0, 1]);
    }

    #[test]
    fn the_longest_prefix_is_kept_when_the_search_fails() {
        // write 1 [0,1], read 1 [2,3], read 0 [4,5]: the third read cannot be placed.
        let reg = Reg {
            ops: vec![(true, 1), (false, 1), (false, 0)],
        };
        let found = search(
            Reg {
                ops: reg.ops.clone(),
            },
            &[iv(0, 1), iv(2, 3), iv(4, 5)],
            u64::MAX,
            &mut never(),
        );
        assert_eq!(found.end, End::NotLinearizable);
        assert_eq!(found.longest, vec![0, 1]);
    }

    #[test]
    fn the_budget_stops_the_search_after_exactly_that_many_steps() {
        let reg = Reg {
            ops: vec![(true, 1), (false, 1), (false, 0)],
        };
        let found = search(
            Reg {
                ops: reg.ops.clone(),
            },
            &[iv(0, 1), iv(2, 3), iv(4, 5)],
            3,
            &mut never(),
        );
        assert_eq!(found.end, End::Halted(Halt::Budget));
        assert_eq!(found.steps, 3);
    }
}
