//! The persister: where a peer keeps the state that must survive a crash. The tester owns it,
//! hands a peer one, and after a crash gives the restarted peer a copy.

use std::sync::Arc;

use parking_lot::Mutex;

#[derive(Clone, Debug, Default)]
struct Stored {
    raft_state: Vec<u8>,
    snapshot: Vec<u8>,
}

/// Stable storage for one peer: Raft's persistent state and the service's snapshot, saved
/// together.
///
/// Cloning gives another handle to the **same** storage (as the Go tester shares a
/// `*Persister`); [`copy`](Persister::copy) gives an independent one.
///
/// ```
/// use raftapi::Persister;
///
/// let p = Persister::new();
/// p.save(b"term=3".to_vec(), Some(b"snap".to_vec()));
/// let crash_copy = p.copy();
/// p.save(b"term=4".to_vec(), None); // None keeps the snapshot
/// assert_eq!(p.read_snapshot(), b"snap");
/// assert_eq!(crash_copy.read_raft_state(), b"term=3");
/// ```
#[derive(Clone, Default)]
pub struct Persister {
    stored: Arc<Mutex<Stored>>,
}

impl std::fmt::Debug for Persister {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stored = self.stored.lock();
        f.debug_struct("Persister")
            .field("raft_state_size", &stored.raft_state.len())
            .field("snapshot_size", &stored.snapshot.len())
            .finish()
    }
}

impl Persister {
    /// An empty persister (a peer that has never run).
    pub fn new() -> Persister {
        Persister::default()
    }

    /// A new, independent persister holding the same bytes: later saves to either one do not
    /// show in the other. The tester takes one when it crashes a peer.
    pub fn copy(&self) -> Persister {
        let stored = self.stored.lock().clone();
        Persister {
            stored: Arc::new(Mutex::new(stored)),
        }
    }

    /// Saves Raft's state and, unless `snapshot` is `None`, the snapshot, in one step.
    /// `None` keeps the snapshot saved before.
    pub fn save(&self, raft_state: Vec<u8>, snapshot: Option<Vec<u8>>) {
        let mut stored = self.stored.lock();
        stored.raft_state = raft_state;
        if let Some(snapshot) = snapshot {
            stored.snapshot = snapshot;
        }
    }

    /// The saved Raft state (empty if none was saved).
    pub fn read_raft_state(&self) -> Vec<u8> {
        self.stored.lock().raft_state.clone()
    }

    /// The saved snapshot (empty if none was saved).
    pub fn read_snapshot(&self) -> Vec<u8> {
        self.stored.lock().snapshot.clone()
    }

    /// The size in bytes of the saved Raft state.
    pub fn raft_state_size(&self) -> usize {
        self.stored.lock().raft_state.len()
    }

    /// The size in bytes of the saved snapshot.
    pub fn snapshot_size(&self) -> usize {
        self.stored.lock().snapshot.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_persister_is_empty() {
        let p = Persister::new();
        assert!(p.read_raft_state().is_empty());
        assert!(p.read_snapshot().is_empty());
        assert_eq!((p.raft_state_size(), p.snapshot_size()), (0, 0));
    }

    #[test]
    fn clones_share_storage() {
        let p = Persister::new();
        let handle = p.clone();
        handle.save(vec![1, 2, 3], None);
        assert_eq!(p.read_raft_state(), vec![1, 2, 3]);
    }

    #[test]
    fn copies_are_independent_both_ways() {
        let p = Persister::new();
        p.save(vec![1], Some(vec![9, 9]));
        let c = p.copy();
        assert_eq!(
            (c.read_raft_state(), c.read_snapshot()),
            (vec![1], vec![9, 9])
        );
        p.save(vec![2], Some(vec![8]));
        assert_eq!(
            (c.read_raft_state(), c.read_snapshot()),
            (vec![1], vec![9, 9])
        );
        c.save(vec![3, 3, 3], None);
        assert_eq!(p.read_raft_state(), vec![2]);
        assert_eq!(c.raft_state_size(), 3);
    }

    #[test]
    fn saving_without_a_snapshot_keeps_the_old_one() {
        let p = Persister::new();
        p.save(vec![1], Some(vec![7]));
        p.save(vec![2], None);
        assert_eq!(p.read_snapshot(), vec![7]);
        assert_eq!(p.snapshot_size(), 1);
        p.save(vec![3], Some(Vec::new()));
        assert!(p.read_snapshot().is_empty());
    }
}
