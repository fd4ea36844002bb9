//! Ending a trial at the first violation, even while its test body sleeps.
//!
//! [`monitored`] wraps a grader's body. While the body runs, every [`Monitor`](super::Monitor)
//! a tester makes finds the trial's [`TrialWatch`] (through a thread-local set around each poll
//! of the body, which both executors poll on the run's own thread) and reports its first
//! violation to it; the watch wakes the body's task, and the wrapper ends the trial with the
//! violation at once instead of polling the body again.

use std::cell::RefCell;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use super::violation::Violation;
use crate::graders::GraderFuture;
use crate::tester::TestFailure;

/// One trial's monitoring: whether it is on, and its first violation.
#[derive(Debug)]
pub(crate) struct TrialWatch {
    enabled: bool,
    first: Mutex<Option<Violation>>,
    waker: Mutex<Option<Waker>>,
}

impl TrialWatch {
    /// Whether the trial runs with the monitor.
    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// Records `violation` unless there was one already, and wakes the test body.
    pub(crate) fn report(&self, violation: &Violation) {
        {
            let mut first = self.first.lock();
            if first.is_some() {
                return;
            }
            *first = Some(violation.clone());
        }
        if let Some(waker) = self.waker.lock().take() {
            waker.wake();
        }
    }

    fn failure(&self) -> Option<TestFailure> {
        self.first.lock().clone().map(TestFailure::from)
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<TrialWatch>>> = const { RefCell::new(None) };
}

/// The watch of the trial whose body is being polled on this thread, if any.
pub(crate) fn current() -> Option<Arc<TrialWatch>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Restores the previous watch when a poll ends, even by a panic.
struct Entered(Option<Arc<TrialWatch>>);

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// Runs `body` as a monitored trial (or, with `enabled` false, with every monitor off): the
/// first violation any of its testers' monitors finds ends it with that violation as its
/// failure, the moment it is found.
pub fn monitored(mut body: GraderFuture, enabled: bool) -> GraderFuture {
    let watch = Arc::new(TrialWatch {
        enabled,
        first: Mutex::new(None),
        waker: Mutex::new(None),
    });
    Box::pin(futures::future::poll_fn(move |cx: &mut Context<'_>| {
        if let Some(failure) = watch.failure() {
            return Poll::Ready(Err(failure));
        }
        *watch.waker.lock() = Some(cx.waker().clone());
        let polled = {
            let _entered = Entered(CURRENT.with(|c| c.replace(Some(watch.clone()))));
            body.as_mut().poll(cx)
        };
        // A violation found during this very poll is the earlier, truer cause of any failure.
        match watch.failure() {
            Some(failure) => Poll::Ready(Err(failure)),
            None => polled,
        }
    }))
}
