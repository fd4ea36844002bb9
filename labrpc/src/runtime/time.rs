//! Time: the run's clock, sleeping and time-outs (virtual in sim mode, wall-clock in real mode).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::context::{with_context, Handle};

/// A point in a run's time: the time since the run started (virtual in sim mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(Duration);

impl Instant {
    /// The start of the run.
    pub const START: Instant = Instant(Duration::ZERO);

    /// Time since the start of the run.
    pub fn since_start(self) -> Duration {
        self.0
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// Time since `self`.
    ///
    /// # Panics
    /// Panics when called outside a lab runtime.
    pub fn elapsed(self) -> Duration {
        now().duration_since(self)
    }
}

impl std::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0 + rhs)
    }
}

impl std::ops::Sub for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.duration_since(rhs)
    }
}

impl std::fmt::Display for Instant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.3}s", self.0.as_secs_f64())
    }
}

/// The run's current time.
///
/// # Panics
/// Panics when called outside a lab runtime.
pub fn now() -> Instant {
    with_context(|cx| Instant(cx.handle.elapsed()))
}

impl Handle {
    fn register_timer(&self, deadline: Duration, waker: &Waker) -> u64 {
        match self {
            Handle::Sim(c) => c.register_timer(deadline, waker.clone()),
            Handle::Real(c) => c.register_timer(deadline, waker.clone()),
        }
    }
    fn update_timer(&self, id: u64, waker: &Waker) {
        match self {
            Handle::Sim(c) => c.update_timer(id, waker),
            Handle::Real(c) => c.update_timer(id, waker),
        }
    }
    fn cancel_timer(&self, id: u64) {
        match self {
            Handle::Sim(c) => c.cancel_timer(id),
            Handle::Real(c) => c.cancel_timer(id),
        }
    }
}

/// A future that finishes at a deadline. Made by [`sleep`].
#[must_use = "a Sleep does nothing unless awaited"]
pub struct Sleep {
    handle: Handle,
    deadline: Duration,
    timer: Option<u64>,
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// Waits for `duration` of run time.
///
/// # Panics
/// Panics when called outside a lab runtime.
pub fn sleep(duration: Duration) -> Sleep {
    with_context(|cx| Sleep {
        deadline: cx.handle.elapsed() + duration,
        handle: cx.handle.clone(),
        timer: None,
    })
}

impl Sleep {
    /// When this sleep ends.
    pub fn deadline(&self) -> Instant {
        Instant(self.deadline)
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.handle.elapsed() >= self.deadline {
            if let Some(id) = self.timer.take() {
                self.handle.cancel_timer(id);
            }
            return Poll::Ready(());
        }
        match self.timer {
            Some(id) => self.handle.update_timer(id, cx.waker()),
            None => {
                let id = self.handle.register_timer(self.deadline, cx.waker());
                self.timer = Some(id);
            }
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(id) = self.timer.take() {
            self.handle.cancel_timer(id);
        }
    }
}

/// The error of a [`timeout`] whose time ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("timed out after {0:?}")]
pub struct Elapsed(pub Duration);

/// A future with a time limit. Made by [`timeout`].
#[must_use = "a Timeout does nothing unless awaited"]
pub struct Timeout<F> {
    inner: Pin<Box<F>>,
    sleep: Sleep,
    limit: Duration,
}

/// Runs `future` for at most `limit` of run time.
///
/// ```
/// use std::time::Duration;
/// use labrpc::runtime::{self, RunConfig};
///
/// let outcome = runtime::run(RunConfig::sim(3), || async {
///     runtime::timeout(Duration::from_millis(10), runtime::sleep(Duration::from_secs(1))).await
/// })
/// .expect("the run finishes");
/// assert!(outcome.value.is_err());
/// ```
///
/// # Panics
/// Panics when called outside a lab runtime.
pub fn timeout<F: Future>(limit: Duration, future: F) -> Timeout<F> {
    Timeout {
        inner: Box::pin(future),
        sleep: sleep(limit),
        limit,
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(v) = self.inner.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        let limit = self.limit;
        match Pin::new(&mut self.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(limit))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A [`Timeout`] of a future that is `Unpin` (such as `&mut JoinHandle`): nothing is boxed,
/// for the network's wait on a handler, which runs once per call. Polls exactly as
/// [`Timeout`] does: the future first, then the sleep.
pub(crate) struct TimeoutUnpin<F> {
    inner: F,
    sleep: Sleep,
    limit: Duration,
}

/// [`timeout`] for an `Unpin` future.
pub(crate) fn timeout_unpin<F: Future + Unpin>(limit: Duration, future: F) -> TimeoutUnpin<F> {
    TimeoutUnpin {
        inner: future,
        sleep: sleep(limit),
        limit,
    }
}

impl<F: Future + Unpin> Future for TimeoutUnpin<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(v) = Pin::new(&mut self.inner).poll(cx) {
            return Poll::Ready(Ok(v));
        }
        let limit = self.limit;
        match Pin::new(&mut self.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(limit))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Lets other tasks run before this one goes on.
pub async fn yield_now() {
    struct YieldNow(bool);
    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    YieldNow(false).await
}
