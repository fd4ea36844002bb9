//! The apply channel: how Raft hands committed commands (and, in part D, snapshots) to the
//! service above it.
//!
//! Like the original's unbuffered Go channel, a send completes only once the receiver has taken
//! the message. A peer that holds its lock while it sends therefore holds it until the service
//! (the tester's applier) gets round to reading, which is what exposes the deadlock of part D: the
//! service calls back into Raft (`snapshot`) before it reads the next message.

use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
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
        /// The command passed to [`Peer::start`](crate::Peer::start).
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

impl ApplyMsg {
    /// The log index the message is about (the command's, or the snapshot's last).
    pub fn index(&self) -> u64 {
        match self {
            ApplyMsg::Command { index, .. } | ApplyMsg::Snapshot { index, .. } => *index,
        }
    }
}

/// The receiver of the apply channel is gone (the service stopped reading), so the message was
/// not delivered. A peer that sees this has been shut down and should stop applying.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the apply channel is closed: the service no longer reads it")]
pub struct ApplyClosed;

/// A message in flight with the way to tell its sender it was taken.
type Envelope = (ApplyMsg, oneshot::Sender<()>);

/// The sending half of the apply channel, given to [`Peer::make`](crate::Peer::make). Cheap to
/// clone; every clone sends on the same channel.
#[derive(Clone, Debug)]
pub struct ApplySender {
    tx: mpsc::Sender<Envelope>,
}

impl ApplySender {
    /// Sends `msg` and waits until the receiver has taken it (not merely queued it), as a send
    /// on an unbuffered Go channel does. Never hold the peer's lock across this `.await`.
    ///
    /// # Errors
    /// [`ApplyClosed`] when the receiver was dropped before taking the message.
    pub async fn send(&self, msg: ApplyMsg) -> Result<(), ApplyClosed> {
        let (taken_tx, taken_rx) = oneshot::channel();
        let mut tx = self.tx.clone();
        tx.send((msg, taken_tx)).await.map_err(|_| ApplyClosed)?;
        taken_rx.await.map_err(|_| ApplyClosed)
    }
}

/// The receiving half of the apply channel, kept by the service (or the tester).
#[derive(Debug)]
pub struct ApplyReceiver {
    rx: mpsc::Receiver<Envelope>,
}

impl ApplyReceiver {
    /// Takes the next message, waiting for one; `None` once every sender is gone. Taking it is
    /// what lets the sender's [`ApplySender::send`] complete.
    pub async fn recv(&mut self) -> Option<ApplyMsg> {
        let (msg, taken) = self.rx.next().await?;
        // The sender may have given up waiting (its task was dropped); the message still counts.
        let _ = taken.send(());
        Some(msg)
    }

    /// Takes a message if one is waiting, without waiting for one.
    pub fn try_recv(&mut self) -> Option<ApplyMsg> {
        let (msg, taken) = self.rx.try_recv().ok()?;
        let _ = taken.send(());
        Some(msg)
    }
}

/// A new apply channel with no buffer: [`ApplySender::send`] completes when
/// [`ApplyReceiver::recv`] takes the message.
///
/// ```
/// use futures::executor::block_on;
/// use futures::future::join;
/// use raftapi::{apply_channel, ApplyMsg};
///
/// let (tx, mut rx) = apply_channel();
/// let msg = ApplyMsg::Command { index: 1, term: 1, command: b"x".to_vec() };
/// let (sent, got) = block_on(join(tx.send(msg.clone()), rx.recv()));
/// assert_eq!(sent, Ok(()));
/// assert_eq!(got, Some(msg));
/// ```
pub fn apply_channel() -> (ApplySender, ApplyReceiver) {
    let (tx, rx) = mpsc::channel(0);
    (ApplySender { tx }, ApplyReceiver { rx })
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;
    use futures::FutureExt;

    use super::*;

    fn command(index: u64) -> ApplyMsg {
        ApplyMsg::Command {
            index,
            term: 1,
            command: vec![index as u8],
        }
    }

    #[test]
    fn a_send_completes_only_once_the_receiver_takes_the_message() {
        let (tx, mut rx) = apply_channel();
        let mut send = Box::pin(tx.send(command(1)));
        assert!(
            send.as_mut().now_or_never().is_none(),
            "queued but not taken: the send must still wait"
        );
        assert_eq!(rx.try_recv(), Some(command(1)));
        assert_eq!(block_on(send), Ok(()));
        assert_eq!(rx.try_recv(), None);
    }

    #[test]
    fn a_dropped_receiver_fails_the_send() {
        let (tx, rx) = apply_channel();
        drop(rx);
        assert_eq!(block_on(tx.send(command(1))), Err(ApplyClosed));
    }

    #[test]
    fn the_receiver_ends_when_every_sender_is_gone() {
        let (tx, mut rx) = apply_channel();
        drop(tx);
        assert_eq!(block_on(rx.recv()), None);
    }

    #[test]
    fn messages_arrive_in_the_order_sent() {
        let (tx, mut rx) = apply_channel();
        let sends = async {
            for i in 1..=3 {
                tx.send(command(i)).await.expect("the receiver is alive");
            }
        };
        let recvs = async {
            let mut got = Vec::new();
            for _ in 1..=3 {
                got.extend(rx.recv().await.map(|m| m.index()));
            }
            got
        };
        let ((), got) = block_on(futures::future::join(sends, recvs));
        assert_eq!(got, vec![1, 2, 3]);
    }
}
