//! [`Signal`]: how one task tells the peer's long-running tasks that there is work, without
//! polling. The replication ticker waits on one ("there are new entries or a new commit index to
//! send"), the applier on another ("`commit_index` moved"), and every task on the peer's stop
//! signal (notified by `kill()`).
//!
//! A signal counts notifications. A waiter first reads the count, then looks at the state under
//! the lock, and only then waits for the count to move past what it read: a notification sent
//! between the look and the wait is never lost, and many notifications while the waiter is busy
//! wake it once. It works with any executor (it only stores and wakes [`Waker`]s), so the sim
//! executor replays it deterministically.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

/// A broadcast notification with a generation count (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct Signal {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// How many times [`Signal::notify`] was called.
    generation: u64,
    /// The key the next registered waiter gets.
    next_key: u64,
    /// The wakers of the waiters that are waiting now, by key (a `BTreeMap`, so the order in
    /// which waiters are woken never depends on hashing).
    waiters: BTreeMap<u64, Waker>,
}

impl Signal {
    /// A signal that was never notified.
    pub(crate) fn new() -> Signal {
        Signal::default()
    }

    /// The number of notifications so far. Read it **before** looking at the state the signal
    /// is about, then pass it to [`changed_since`](Signal::changed_since).
    pub(crate) fn generation(&self) -> u64 {
        self.inner.lock().generation
    }

    /// Wakes every task waiting on this signal, and every later
    /// [`changed_since`](Signal::changed_since) of an older generation.
    pub(crate) fn notify(&self) {
        let waiters = {
            let mut inner = self.inner.lock();
            inner.generation += 1;
            std::mem::take(&mut inner.waiters)
        };
        // Woken outside the lock: a waker may poll (and so lock) at once on some executors.
        for waker in waiters.into_values() {
            waker.wake();
        }
    }

    /// Completes once the signal was notified after `seen` was read from
    /// [`generation`](Signal::generation) (at once if it already was).
    pub(crate) fn changed_since(&self, seen: u64) -> Changed<'_> {
        Changed {
            signal: self,
            seen,
            key: None,
        }
    }
}

/// The future of [`Signal::changed_since`]. Dropping it unregisters its waker.
#[must_use = "a Changed does nothing unless awaited"]
pub(crate) struct Changed<'a> {
    signal: &'a Signal,
    seen: u64,
    key: Option<u64>,
}

impl Future for Changed<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut inner = self.signal.inner.lock();
        if inner.generation != self.seen {
            if let Some(key) = self.key {
                inner.waiters.remove(&key);
            }
            drop(inner);
            self.key = None;
            return Poll::Ready(());
        }
        let key = match self.key {
            Some(key) => key,
            None => {
                let key = inner.next_key;
                inner.next_key += 1;
                key
            }
        };
        match inner.waiters.get_mut(&key) {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            Some(waker) => waker.clone_from(cx.waker()),
            None => {
                inner.waiters.insert(key, cx.waker().clone());
            }
        }
        drop(inner);
        self.key = Some(key);
        Poll::Pending
    }
}

impl Drop for Changed<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.signal.inner.lock().waiters.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;

    #[test]
    fn a_notification_before_the_wait_is_not_lost() {
        let signal = Signal::new();
        let seen = signal.generation();
        signal.notify();
        assert_eq!(signal.changed_since(seen).now_or_never(), Some(()));
    }

    #[test]
    fn waiting_without_a_notification_stays_pending_and_then_wakes() {
        let signal = Signal::new();
        let seen = signal.generation();
        let mut wait = Box::pin(signal.changed_since(seen));
        assert!(wait.as_mut().now_or_never().is_none());
        assert_eq!(
            signal.inner.lock().waiters.len(),
            1,
            "the waiter registered"
        );
        signal.notify();
        assert_eq!(wait.now_or_never(), Some(()));
    }

    #[test]
    fn many_notifications_wake_a_busy_waiter_once_and_all_waiters_wake() {
        let signal = Signal::new();
        let seen = signal.generation();
        let mut a = Box::pin(signal.changed_since(seen));
        let mut b = Box::pin(signal.changed_since(seen));
        assert!(a.as_mut().now_or_never().is_none());
        assert!(b.as_mut().now_or_never().is_none());
        signal.notify();
        signal.notify();
        assert_eq!(a.now_or_never(), Some(()));
        assert_eq!(b.now_or_never(), Some(()));
        assert_eq!(signal.generation(), seen + 2);
    }

    #[test]
    fn a_dropped_waiter_leaves_no_waker_behind() {
        let signal = Signal::new();
        for _ in 0..10 {
            let mut wait = Box::pin(signal.changed_since(signal.generation()));
            assert!(wait.as_mut().now_or_never().is_none());
        }
        assert!(
            signal.inner.lock().waiters.is_empty(),
            "a ticker that times out every round must not grow the waiter list"
        );
    }
}
