//! The event trace of a run: a running hash of every scheduling and network event, and
//! optionally the events themselves, so two runs of one seed can be compared.

use std::time::Duration;

/// One traced event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    /// Position in the run, from 0.
    pub seq: u64,
    /// Run time (virtual in sim mode) when it happened.
    pub at: Duration,
    /// What happened: `"poll"`, `"timer"`, `"spawn"`, `"kill"`, or a network event such as
    /// `"rpc.deliver"`.
    pub kind: &'static str,
    /// First detail (for a poll, the task id; for RPC events, the end id).
    pub a: u64,
    /// Second detail (for a poll, the node; for RPC events, a hash of the method name).
    pub b: u64,
}

impl std::fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "event #{} at {:.6}s: {} ({}, {})",
            self.seq,
            self.at.as_secs_f64(),
            self.kind,
            self.a,
            self.b
        )
    }
}

/// The trace of a finished run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceSummary {
    /// A hash of the whole sequence of events. Equal hashes mean equal runs.
    pub hash: u64,
    /// How many events were traced.
    pub events: u64,
    /// Every event, when the run was configured with `record_trace`.
    pub log: Option<Vec<TraceEvent>>,
}

/// Accumulates a run's trace.
pub(crate) struct Trace {
    hash: u64,
    events: u64,
    log: Option<Vec<TraceEvent>>,
    /// The kinds met so far with their [`hash_str`], found by address: a run has a dozen
    /// kinds and millions of events, and hashing the kind's text was a tenth of the cost of
    /// recording one.
    kinds: Vec<(usize, usize, u64)>,
}

/// Kinds remembered by a trace; past that many (not in this crate), a kind is hashed each time.
const MAX_KINDS: usize = 32;

const SEED: u64 = 0xcbf2_9ce4_8422_2325;
const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

/// Mixes `v` into `h`: one multiply and rotate per word, stable across platforms and builds.
pub(crate) fn mix(h: u64, v: u64) -> u64 {
    (h ^ v).wrapping_mul(MULTIPLIER).rotate_left(29)
}

/// A stable hash of a string (used for method names and event kinds in the trace).
pub fn hash_str(s: &str) -> u64 {
    s.as_bytes()
        .chunks(8)
        .fold(mix(SEED, s.len() as u64), |h, chunk| {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            mix(h, u64::from_le_bytes(word))
        })
}

impl Trace {
    pub(crate) fn new(record: bool) -> Self {
        Trace {
            hash: SEED,
            events: 0,
            log: record.then(Vec::new),
            kinds: Vec::new(),
        }
    }

    /// `hash_str(kind)`, remembered by the text's address (the same value either way).
    fn kind_hash(&mut self, kind: &'static str) -> u64 {
        let key = (kind.as_ptr() as usize, kind.len());
        if let Some(&(_, _, h)) = self.kinds.iter().find(|&&(p, l, _)| (p, l) == key) {
            return h;
        }
        let h = hash_str(kind);
        if self.kinds.len() < MAX_KINDS {
            self.kinds.push((key.0, key.1, h));
        }
        h
    }

    pub(crate) fn record(&mut self, at: Duration, kind: &'static str, a: u64, b: u64) {
        let mut h = mix(self.hash, at.as_nanos() as u64);
        h = mix(h, self.kind_hash(kind));
        h = mix(h, a);
        self.hash = mix(h, b);
        if let Some(log) = &mut self.log {
            log.push(TraceEvent {
                seq: self.events,
                at,
                kind,
                a,
                b,
            });
        }
        self.events += 1;
    }

    pub(crate) fn summary(&mut self) -> TraceSummary {
        TraceSummary {
            hash: self.hash,
            events: self.events,
            log: self.log.take(),
        }
    }
}
