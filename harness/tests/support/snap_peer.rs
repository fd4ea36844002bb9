//! Part-D defects, as a wrapper around a peer that does snapshots: the wrapper stands between
//! the peer and the tester (its apply channel, its persister, its `snapshot` call) and makes one
//! of the mistakes students make there. It uses only the API every peer gives the tester
//! ([`Peer`]), so it wraps any submission's `raft`; the tests wrap `raft::Raft`, and a control
//! test shows the wrapper without a defect passes, so the failures come from the defects.
//!
//! A peer that never trims its log needs no wrapper: the log toy of `log_peer.rs` ignores
//! `snapshot` and is used as is.

use std::marker::PhantomData;
use std::sync::Arc;

use futures::lock::Mutex as AsyncMutex;
use harness::Peer;
use labrpc::runtime;
use labrpc::{ClientEnd, Service};
use raft::{ApplyMsg, ApplySender, Persister};

/// Which mistake a [`SnapPeer`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapDefect {
    /// None: passes everything through.
    None,
    /// Holds its lock (an async mutex, so the guard may cross the `.await`) while it sends on
    /// the apply channel, and `snapshot()` takes the same lock, blocking: the Go lab's
    /// classic deadlock with the service's snapshot call.
    ApplyUnderLock,
    /// After handing the service an installed snapshot, sends again the last command it sent
    /// before it, which the snapshot already covers.
    ReapplyCoveredCommand,
    /// After a restart, saves its state with an empty snapshot (as a peer that did not read
    /// the saved snapshot back and always saves the one it holds in memory).
    ForgetSnapshotOnRestart,
    /// Hands the service an installed snapshot again and again (an applier whose "is there a
    /// snapshot to deliver" never turns false): every send completes at once, so it runs
    /// without end while virtual time stands still.
    RepeatSnapshot,
    /// After a restart, holds its log's base but not its snapshot's bytes (it restored its
    /// state and never read the snapshot back), while the persister keeps the snapshot: as
    /// leader it sends followers an empty `InstallSnapshot`.
    ForgetSnapshotBytesOnRestart,
}

/// Names a defect at the type level (the tester builds peers with `P::make`).
pub trait SnapFlavour: Send + Sync + 'static {
    /// The defect.
    const DEFECT: SnapDefect;
}

macro_rules! snap_flavour {
    ($(#[$doc:meta])* $name:ident, $defect:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl SnapFlavour for $name {
            const DEFECT: SnapDefect = $defect;
        }
    };
}

snap_flavour!(
    /// No defect.
    Faithful,
    SnapDefect::None
);
snap_flavour!(
    /// [`SnapDefect::ApplyUnderLock`].
    AppliesUnderLock,
    SnapDefect::ApplyUnderLock
);
snap_flavour!(
    /// [`SnapDefect::ReapplyCoveredCommand`].
    ReappliesCoveredCommand,
    SnapDefect::ReapplyCoveredCommand
);
snap_flavour!(
    /// [`SnapDefect::ForgetSnapshotOnRestart`].
    ForgetsSnapshotOnRestart,
    SnapDefect::ForgetSnapshotOnRestart
);
snap_flavour!(
    /// [`SnapDefect::RepeatSnapshot`].
    RepeatsSnapshot,
    SnapDefect::RepeatSnapshot
);

snap_flavour!(
    /// [`SnapDefect::ForgetSnapshotBytesOnRestart`].
    ForgetsSnapshotBytesOnRestart,
    SnapDefect::ForgetSnapshotBytesOnRestart
);

/// `P` with the defect of `F`.
pub struct SnapPeer<P: Peer, F: SnapFlavour> {
    inner: P,
    /// The wrapper's lock: held by the forwarder while it sends (with
    /// [`SnapDefect::ApplyUnderLock`]) and taken by `snapshot()`.
    lock: Arc<AsyncMutex<()>>,
    _flavour: PhantomData<F>,
}

/// Passes what `inner` applies to the service, with the defect.
async fn forward(
    defect: SnapDefect,
    lock: Arc<AsyncMutex<()>>,
    mut from_inner: raft::ApplyReceiver,
    to_service: ApplySender,
) {
    let mut last_command: Option<ApplyMsg> = None;
    while let Some(msg) = from_inner.recv().await {
        let is_snapshot = matches!(msg, ApplyMsg::Snapshot { .. });
        if matches!(msg, ApplyMsg::Command { .. }) {
            last_command = Some(msg.clone());
        }
        if is_snapshot && defect == SnapDefect::RepeatSnapshot {
            while to_service.send(msg.clone()).await.is_ok() {}
            return;
        }
        let sent = if defect == SnapDefect::ApplyUnderLock {
            let _guard = lock.lock().await;
            to_service.send(msg).await
        } else {
            to_service.send(msg).await
        };
        if sent.is_err() {
            return;
        }
        if is_snapshot && defect == SnapDefect::ReapplyCoveredCommand {
            if let Some(stale) = last_command.take() {
                if to_service.send(stale).await.is_err() {
                    return;
                }
            }
        }
    }
}

impl<P: Peer, F: SnapFlavour> Peer for SnapPeer<P, F> {
    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: ApplySender) -> Self {
        let (inner_tx, inner_rx) = raft::apply_channel();
        let saved_snapshot = persister.read_snapshot();
        let restarted_with_snapshot = !saved_snapshot.is_empty();
        let hide = F::DEFECT == SnapDefect::ForgetSnapshotBytesOnRestart && restarted_with_snapshot;
        if hide {
            // `P` reads an empty snapshot beside its state (`make` reads the persister before it
            // returns); the persister gets the snapshot back at once, so what is saved is whole.
            persister.save(persister.read_raft_state(), Some(Vec::new()));
        }
        let inner = P::make(peers, me, persister.clone(), inner_tx);
        if hide && persister.read_snapshot().is_empty() {
            persister.save(persister.read_raft_state(), Some(saved_snapshot));
        }
        if F::DEFECT == SnapDefect::ForgetSnapshotOnRestart && restarted_with_snapshot {
            persister.save(persister.read_raft_state(), Some(Vec::new()));
        }
        let lock = Arc::new(AsyncMutex::new(()));
        // On the peer's node (the tester calls make inside it): it dies with the peer.
        drop(runtime::spawn(forward(
            F::DEFECT,
            lock.clone(),
            inner_rx,
            apply_tx,
        )));
        SnapPeer {
            inner,
            lock,
            _flavour: PhantomData,
        }
    }

    fn get_state(&self) -> (u64, bool) {
        self.inner.get_state()
    }

    fn kill(&self) {
        self.inner.kill()
    }

    fn service(&self) -> Service {
        self.inner.service()
    }

    fn start(&self, command: Vec<u8>) -> Option<(u64, u64)> {
        self.inner.start(command)
    }

    fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        if F::DEFECT == SnapDefect::ApplyUnderLock {
            // A blocking lock, as Go's mu.Lock(): it waits for the forwarder's send to finish,
            // which waits for the service, which is here.
            let _guard = futures::executor::block_on(self.lock.lock());
            self.inner.snapshot(index, snapshot);
        } else {
            self.inner.snapshot(index, snapshot);
        }
    }
}
