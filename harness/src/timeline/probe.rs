//! The tester's facts for the timeline: structured `tracing` events on target [`TARGET`] that
//! say what the tester did to the cluster (a new cluster, connect, disconnect, crash, start),
//! what each peer told it (`get_state` at every check) and what each peer applied.
//!
//! These events never reach the text log (people read the tester's own lines there); a
//! [`Capture::with_records`](crate::logs::Capture::with_records) keeps them whatever its filter.
//! They cost one disabled `tracing` call each when nobody records.

/// The target of the timeline's facts.
pub const TARGET: &str = "timeline";

/// What a fact says: the `fact` field of a [`TARGET`] event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    /// A tester with `peers` peers starts (a grader may run several clusters in turn).
    Cluster,
    /// The tester connected a peer.
    Connect,
    /// The tester disconnected a peer.
    Disconnect,
    /// The tester crashed a peer.
    Crash,
    /// The tester started (or restarted) a peer.
    Start,
    /// A peer answered `get_state` with `term` and `leader`.
    State,
    /// A peer applied the command at `index`.
    Applied,
    /// The tester shut its cluster down.
    Cleanup,
}

impl Fact {
    /// The fact's name in the `fact` field.
    pub const fn as_str(self) -> &'static str {
        match self {
            Fact::Cluster => "cluster",
            Fact::Connect => "connect",
            Fact::Disconnect => "disconnect",
            Fact::Crash => "crash",
            Fact::Start => "start",
            Fact::State => "state",
            Fact::Applied => "applied",
            Fact::Cleanup => "cleanup",
        }
    }

    /// The fact named `name`.
    pub fn parse(name: &str) -> Option<Fact> {
        [
            Fact::Cluster,
            Fact::Connect,
            Fact::Disconnect,
            Fact::Crash,
            Fact::Start,
            Fact::State,
            Fact::Applied,
            Fact::Cleanup,
        ]
        .into_iter()
        .find(|f| f.as_str() == name)
    }
}

/// A tester of `peers` peers starts.
pub fn cluster(peers: usize) {
    tracing::debug!(target: TARGET, fact = Fact::Cluster.as_str(), peers = peers as u64);
}

/// Something the tester did to peer `peer`: [`Fact::Connect`], [`Fact::Disconnect`],
/// [`Fact::Crash`] or [`Fact::Start`].
pub fn peer_event(fact: Fact, peer: usize) {
    tracing::debug!(target: TARGET, fact = fact.as_str(), peer = peer as u64);
}

/// Peer `peer` answered `get_state` with `(term, leader)`.
pub fn state(peer: usize, term: u64, leader: bool) {
    tracing::debug!(target: TARGET, fact = Fact::State.as_str(), peer = peer as u64, term, leader);
}

/// Peer `peer` applied the command at `index`.
pub fn applied(peer: usize, index: u64) {
    tracing::debug!(target: TARGET, fact = Fact::Applied.as_str(), peer = peer as u64, index);
}

/// The tester shut its cluster down.
pub fn cleanup() {
    tracing::debug!(target: TARGET, fact = Fact::Cleanup.as_str());
}
