//! Join handles: waiting for a spawned task's output.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::channel::oneshot;
use futures::future::BoxFuture;
use futures::FutureExt;

/// Why a spawned task produced no output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// The task was dropped before it finished: its node was killed or the run ended.
    #[error("the task was dropped before it finished (its node was killed, or the run ended)")]
    Killed,
}

/// Waits for a spawned task. Dropping the handle detaches the task; it keeps running.
#[must_use = "dropping a JoinHandle detaches the task; await it to get its output"]
pub struct JoinHandle<T> {
    rx: oneshot::Receiver<T>,
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle").finish_non_exhaustive()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.map_err(|_| JoinError::Killed))
    }
}

/// Wraps `future`, boxed, so that its output goes to the returned handle.
pub(crate) fn wrap<F>(future: F) -> (BoxFuture<'static, ()>, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let task = Box::pin(future.map(move |out| {
        let _ = tx.send(out);
    }));
    (task, JoinHandle { rx })
}
