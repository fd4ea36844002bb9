//! The small API through which the tester drives a Raft peer.
//!
//! The tester only ever uses these calls, so a grader can swap in a submission's `raft` crate,
//! and the harness's own tests can plug in deliberately broken peers.

use crate::{ApplySender, Persister};
use labrpc::{ClientEnd, Service};

/// A Raft peer as the tester sees it (Go: `Make`, `GetState`, `Kill`, `Start`, `Snapshot`,
/// and the RPC service).
pub trait Peer: Send + Sync + 'static {
    /// Creates a peer (Go `Make`): must return at once, spawning its long-running tasks with
    /// `labrpc::runtime::spawn`. The tester calls it inside `enter_node`, so the tasks belong to
    /// the peer's node and die when the tester crashes it.
    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: ApplySender) -> Self
    where
        Self: Sized;

    /// `(current term, whether this peer believes it is the leader)`.
    fn get_state(&self) -> (u64, bool);

    /// Tells the peer it is being crashed.
    fn kill(&self);

    /// The peer's RPC service, `"Raft"` with `"RequestVote"`, `"AppendEntries"` and (part D)
    /// `"InstallSnapshot"`.
    fn service(&self) -> Service;

    /// Asks the peer to agree on `command` (Go `Start`): `None` unless it believes it is the
    /// leader; otherwise the `(index, term)` the command will have if it is ever committed.
    /// Must return at once, without waiting for agreement.
    fn start(&self, command: Vec<u8>) -> Option<(u64, u64)>;

    /// The service has a snapshot of its state through `index` (Go `Snapshot`, part D): the
    /// peer may discard its log through `index`, and must save `snapshot` with its state. The
    /// tester calls it on every peer from the task that reads the peer's apply channel, after
    /// it takes the command at `index` and before it takes the next message: it must return
    /// without waiting for the apply channel.
    fn snapshot(&self, index: u64, snapshot: Vec<u8>);
}
