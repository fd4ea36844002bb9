//! The apply channel: how Raft hands committed commands (and, in part D, snapshots) to the
//! service above it.
//!
//! In part A nothing is ever committed, so nothing is sent yet; part B's applier sends every
//! committed entry, in index order, without holding the Raft lock while it sends.

use futures::channel::mpsc;
use serde::{Deserialize, Serialize};

/// A message from Raft to the service: one committed command, or a snapshot to install.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplyMsg {
    /// The command at `index` is committed; apply it.
    Command {
        /// The entry's log index (the first real entry is 1).
        index: u64,
        /// The term of the entry.
        term: u64,
        /// The command passed to [`Raft::start`](crate::Raft::start).
        command: Vec<u8>,
    },
    /// Install this snapshot, which covers the log through `index` (part D).
    Snapshot {
        /// The last log index the snapshot covers.
        index: u64,
        /// The term of the entry at `index`.
        term: u64,
        /// The service's snapshot bytes.
        data: Vec<u8>,
    },
}

/// The sending half of the apply channel, given to [`Raft::new`](crate::Raft::new).
pub type ApplySender = mpsc::UnboundedSender<ApplyMsg>;

/// The receiving half of the apply channel, kept by the service (or the tester).
pub type ApplyReceiver = mpsc::UnboundedReceiver<ApplyMsg>;

/// A new apply channel. Unbounded, so Raft never waits for the service to catch up.
///
/// ```
/// use raft::{apply_channel, ApplyMsg};
///
/// let (tx, mut rx) = apply_channel();
/// let msg = ApplyMsg::Command { index: 1, term: 1, command: b"x".to_vec() };
/// tx.unbounded_send(msg.clone()).expect("the receiver is alive");
/// assert_eq!(rx.try_next().expect("a message is ready"), Some(msg));
/// ```
pub fn apply_channel() -> (ApplySender, ApplyReceiver) {
    mpsc::unbounded()
}
