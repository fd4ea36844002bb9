//! [`Notify`]: how one task tells others that something changed, without polling.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use super::wait::{WaitOn, Waiting};

/// A broadcast wake-up: [`notify`](Notify::notify) wakes every task waiting on it. The lab's
/// condition variable: "wake the applier" is a `Notify` the applier waits on and the code that
/// moves the commit index notifies.
///
/// A `Notify` counts its notifications. [`notified`](Notify::notified) takes the count **when it
/// is called** and returns a future that completes once the count has moved past it. So the
/// pattern below loses no wake-up: take the future, *then* look at the state under the lock,
/// and await the future only if there was nothing to do. A notification that comes between the
/// look and the await completes the future at once, and many notifications while the task is
/// busy wake it once. (Unlike a permit-based notify, nothing is stored for a waiter that did not
/// call `notified` before the notification.)
///
/// It works under both executors (it only stores and wakes [`Waker`]s, and wakes its waiters in
/// the order they began waiting, so a sim run replays it exactly), and outside a lab runtime
/// too. Each wait is recorded ([`waiting`](super::waiting)): when a run is reported stuck or
/// deadlocked, the error names the tasks still waiting on the `Notify`, by its
/// [name](Notify::named), as in `S2 on Notify "commit index moved"`.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use labrpc::runtime::{self, Notify, RunConfig};
/// use parking_lot::Mutex;
///
/// /// What a peer shares between its tasks: a commit index, and the applier's wake-up.
/// struct Peer {
///     commit_index: Mutex<u64>,
///     committed: Notify,
/// }
///
/// let outcome = runtime::run(RunConfig::sim(1), || async {
///     let peer = Arc::new(Peer {
///         commit_index: Mutex::new(0),
///         committed: Notify::named("commit index moved"),
///     });
///     // The applier: waits for commits instead of polling for them.
///     let applier = {
///         let peer = peer.clone();
///         runtime::spawn(async move {
///             let mut applied = 0;
///             while applied < 3 {
///                 // First the future (it counts from now), then the look at the state.
///                 let committed = peer.committed.notified();
///                 let commit_index = *peer.commit_index.lock();
///                 if applied < commit_index {
///                     applied = commit_index; // (hand the entries to the service here)
///                     continue;
///                 }
///                 committed.await;
///             }
///             applied
///         })
///     };
///     // Three commits, a moment apart, each followed by a wake-up.
///     for _ in 0..3 {
///         runtime::sleep(Duration::from_millis(10)).await;
///         *peer.commit_index.lock() += 1;
///         peer.committed.notify();
///     }
///     applier.await.expect("the applier finishes")
/// })
/// .expect("the run finishes");
/// assert_eq!(outcome.value, 3);
/// ```
pub struct Notify {
    name: &'static str,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// How many times [`Notify::notify`] was called.
    generation: u64,
    /// The key the next registered waiter gets.
    next_key: u64,
    /// The wakers of the waiters that are waiting now, by key: the order they began waiting
    /// (a `BTreeMap`, so the order in which waiters are woken never depends on hashing).
    waiters: BTreeMap<u64, Waker>,
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl std::fmt::Debug for Notify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.lock();
        f.debug_struct("Notify")
            .field("name", &self.name)
            .field("generation", &inner.generation)
            .field("waiting", &inner.waiters.len())
            .finish()
    }
}

impl Notify {
    /// A `Notify` that failure messages call `"unnamed"`; prefer [`Notify::named`].
    pub fn new() -> Notify {
        Notify::named("unnamed")
    }

    /// A `Notify` that failure messages name `name`: say what it announces, such as
    /// `"commit index moved"`.
    pub fn named(name: &'static str) -> Notify {
        Notify {
            name,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The name failure messages use.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Wakes every task waiting on this `Notify` now, and completes every
    /// [`notified`](Notify::notified) future taken before this call (awaited yet or not).
    pub fn notify(&self) {
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

    /// A future that completes at the first [`notify`](Notify::notify) after this call (at once
    /// if there was one by the time it is awaited). Take it *before* looking at the state it is
    /// about (see the type's documentation).
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            seen: self.inner.lock().generation,
            key: None,
            waiting: None,
        }
    }
}

/// The future of [`Notify::notified`]. Dropping it ends its wait.
#[must_use = "a Notified does nothing unless awaited"]
pub struct Notified<'a> {
    notify: &'a Notify,
    /// The generation when it was made.
    seen: u64,
    /// Its key among the waiters, once it waited.
    key: Option<u64>,
    /// Its recorded wait, while it waits.
    waiting: Option<Waiting>,
}

impl std::fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notified")
            .field("notify", &self.notify.name)
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut inner = self.notify.inner.lock();
        if inner.generation != self.seen {
            if let Some(key) = self.key {
                inner.waiters.remove(&key);
            }
            drop(inner);
            self.key = None;
            self.waiting = None;
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
        if self.waiting.is_none() {
            self.waiting = Some(Waiting::on(WaitOn::Notify(self.notify.name)));
        }
        Poll::Pending
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.notify.inner.lock().waiters.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;

    #[test]
    fn a_notification_before_the_wait_is_not_lost() {
        let notify = Notify::new();
        let wait = notify.notified();
        notify.notify();
        assert_eq!(wait.now_or_never(), Some(()));
    }

    #[test]
    fn a_notification_before_notified_is_not_for_it() {
        let notify = Notify::new();
        notify.notify();
        assert_eq!(notify.notified().now_or_never(), None);
    }

    #[test]
    fn waiting_without_a_notification_stays_pending_and_then_wakes() {
        let notify = Notify::new();
        let mut wait = Box::pin(notify.notified());
        assert!(wait.as_mut().now_or_never().is_none());
        assert_eq!(
            notify.inner.lock().waiters.len(),
            1,
            "the waiter registered"
        );
        notify.notify();
        assert_eq!(wait.now_or_never(), Some(()));
    }

    #[test]
    fn many_notifications_wake_a_busy_waiter_once_and_all_waiters_wake() {
        let notify = Notify::new();
        let mut a = Box::pin(notify.notified());
        let mut b = Box::pin(notify.notified());
        assert!(a.as_mut().now_or_never().is_none());
        assert!(b.as_mut().now_or_never().is_none());
        notify.notify();
        notify.notify();
        assert_eq!(a.now_or_never(), Some(()));
        assert_eq!(b.now_or_never(), Some(()));
        assert_eq!(notify.inner.lock().generation, 2);
    }

    #[test]
    fn a_dropped_waiter_leaves_no_waker_behind() {
        let notify = Notify::new();
        for _ in 0..10 {
            let mut wait = Box::pin(notify.notified());
            assert!(wait.as_mut().now_or_never().is_none());
        }
        assert!(
            notify.inner.lock().waiters.is_empty(),
            "a ticker that times out every round must not grow the waiter list"
        );
    }
}
