//! The thread-local context: which runtime and which node the running code belongs to.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use super::monitor::Monitor;
use super::real::RealCore;
use super::sim::SimCore;
use super::NodeId;

/// A handle on the executor that runs the current code.
#[derive(Clone)]
pub(crate) enum Handle {
    Sim(Arc<SimCore>),
    Real(Arc<RealCore>),
}

impl Handle {
    pub(crate) fn spawn(&self, node: NodeId, fut: BoxFuture<'static, ()>) {
        match self {
            Handle::Sim(c) => c.spawn(node, fut),
            Handle::Real(c) => c.spawn(node, fut),
        }
    }
    pub(crate) fn new_node(&self) -> NodeId {
        match self {
            Handle::Sim(c) => c.new_node(),
            Handle::Real(c) => c.new_node(),
        }
    }
    pub(crate) fn kill_node(&self, node: NodeId) {
        match self {
            Handle::Sim(c) => c.kill_node(node),
            Handle::Real(c) => c.kill_node(node),
        }
    }
    pub(crate) fn is_killed(&self, node: NodeId) -> bool {
        match self {
            Handle::Sim(c) => c.is_killed(node),
            Handle::Real(c) => c.is_killed(node),
        }
    }
    pub(crate) fn random_range(&self, range: Range<u64>) -> u64 {
        match self {
            Handle::Sim(c) => c.random_range(range),
            Handle::Real(c) => c.random_range(range),
        }
    }
    pub(crate) fn random_u64(&self) -> u64 {
        match self {
            Handle::Sim(c) => c.random_u64(),
            Handle::Real(c) => c.random_u64(),
        }
    }
    /// Time since the run started (virtual in sim mode).
    pub(crate) fn elapsed(&self) -> Duration {
        match self {
            Handle::Sim(c) => c.now(),
            Handle::Real(c) => c.now(),
        }
    }
    /// What the run shares with its watchdog (node labels among it).
    pub(crate) fn monitor(&self) -> &Monitor {
        match self {
            Handle::Sim(c) => &c.monitor,
            Handle::Real(c) => &c.monitor,
        }
    }
    /// The same, shared (for a guard that outlives the call).
    pub(crate) fn monitor_arc(&self) -> Arc<Monitor> {
        match self {
            Handle::Sim(c) => c.monitor.clone(),
            Handle::Real(c) => c.monitor.clone(),
        }
    }
    pub(crate) fn trace(&self, kind: &'static str, a: u64, b: u64) {
        match self {
            Handle::Sim(c) => c.trace(kind, a, b),
            Handle::Real(c) => c.trace(kind, a, b),
        }
    }
}

/// What the running code belongs to.
#[derive(Clone)]
pub(crate) struct Context {
    pub(crate) handle: Handle,
    pub(crate) node: NodeId,
    /// The watchdog slot of the thread, while it polls a task (see `monitor`): `None` outside
    /// a poll (while a run builds its test, or shuts down).
    pub(crate) slot: Option<usize>,
}

thread_local! {
    static CONTEXT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

const OUTSIDE: &str = "labrpc: this needs the lab runtime, but the calling thread is not inside \
one; run the code inside labrpc::runtime::run(...)";

/// Runs `f` with the current context, panicking with a clear message outside a runtime.
pub(crate) fn with_context<R>(f: impl FnOnce(&Context) -> R) -> R {
    try_with_context(f).expect(OUTSIDE)
}

/// Runs `f` with the current context, or returns `None` outside a runtime.
pub(crate) fn try_with_context<R>(f: impl FnOnce(&Context) -> R) -> Option<R> {
    CONTEXT.with(|c| c.borrow().as_ref().map(f))
}

/// Restores the previous context when dropped.
pub(crate) struct ContextGuard {
    previous: Option<Context>,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CONTEXT.with(|c| *c.borrow_mut() = previous);
    }
}

/// Makes `handle` and `node` the current context until the guard drops; `slot` is the
/// watchdog slot of the polling thread, when this is a poll.
pub(crate) fn enter(handle: Handle, node: NodeId, slot: Option<usize>) -> ContextGuard {
    let previous = CONTEXT.with(|c| c.borrow_mut().replace(Context { handle, node, slot }));
    ContextGuard { previous }
}

/// Switches the current node, keeping the runtime (and the poll).
pub(crate) fn enter_node(node: NodeId) -> ContextGuard {
    let (handle, slot) = with_context(|cx| (cx.handle.clone(), cx.slot));
    enter(handle, node, slot)
}
