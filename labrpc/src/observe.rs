//! Watching the network: an [`Observer`] installed on a [`Network`](crate::Network) hears of
//! every call's life, with the bytes on the wire.
//!
//! labrpc knows nothing of what the bytes mean; an observer (the Raft tester's safety monitor,
//! for one) decodes the methods it knows. A call's life is:
//!
//! 1. [`Stage::Sent`]: the caller handed the call to the network (it is counted in
//!    [`total_count`](crate::Network::total_count)), whatever becomes of it next;
//! 2. [`Stage::Handled`], at most once: the server's handler ran and produced a reply. The server
//!    acted on the request even if the reply is then dropped or its server dies;
//! 3. exactly one of [`Stage::Delivered`] (the reply reached the caller) or [`Stage::Failed`]
//!    (the caller got an error), unless the caller stopped waiting (its node was killed, or it
//!    dropped the call's future), in which case the call simply ends.
//!
//! With no observer installed the network does no extra work: no call ids are drawn and no
//! events are built.
//!
//! ```
//! use std::sync::Arc;
//! use parking_lot::Mutex;
//! use labrpc::observe::{Observer, RpcEvent, Stage};
//! use labrpc::{runtime, Network, Server, Service};
//!
//! #[derive(Default)]
//! struct Tally(Mutex<Vec<String>>);
//!
//! impl Observer for Tally {
//!     fn observe(&self, event: &RpcEvent<'_>) {
//!         let stage = match event.stage {
//!             Stage::Sent { .. } => "sent",
//!             Stage::Handled { .. } => "handled",
//!             Stage::Delivered { .. } => "delivered",
//!             Stage::Failed { .. } => "failed",
//!         };
//!         self.0.lock().push(format!("{} {stage}", event.method));
//!     }
//! }
//!
//! let tally = Arc::new(Tally::default());
//! let seen = tally.clone();
//! runtime::run(runtime::RunConfig::sim(1), move || async move {
//!     let net = Network::new();
//!     net.set_observer(seen).expect("the first observer");
//!     let mut svc = Service::new("Echo").expect("a good name");
//!     svc.handle("Double", |x: u64| x * 2).expect("a new method");
//!     let server = Server::new();
//!     server.add_service(svc).expect("a new service");
//!     net.add_server("s1", server);
//!     let end = net.make_end("c1").expect("a new end");
//!     net.connect("c1", "s1").expect("the end exists");
//!     net.enable("c1", true).expect("the end exists");
//!     end.call::<_, u64>("Echo.Double", &21u64).await.expect("a reply");
//! })
//! .expect("the run finishes");
//! assert_eq!(
//!     *tally.0.lock(),
//!     ["Echo.Double sent", "Echo.Double handled", "Echo.Double delivered"]
//! );
//! ```

use std::sync::Arc;

use crate::error::RpcError;
use crate::runtime::{self, Instant, NodeId};

/// Hears every call's life on one network. Called synchronously on the task where the event
/// happens (the caller's, or for [`Stage::Handled`] the handler's), so it must be quick and must
/// not wait; it may lock, and it may read the lab runtime's clock.
pub trait Observer: Send + Sync + 'static {
    /// One moment of one call.
    fn observe(&self, event: &RpcEvent<'_>);
}

/// One moment in the life of one call.
#[derive(Debug, Clone, Copy)]
pub struct RpcEvent<'a> {
    /// The call, numbered from 0 in the order calls are sent on this network; the same for every
    /// event of one call.
    pub call: u64,
    /// The end the call was made on ([`ClientEnd::id`](crate::ClientEnd::id)).
    pub end: u64,
    /// The method called, `"Service.Method"`.
    pub method: &'a str,
    /// When it happened (run time).
    pub at: Instant,
    /// What happened.
    pub stage: Stage<'a>,
}

/// What happened to a call.
#[derive(Debug, Clone, Copy)]
pub enum Stage<'a> {
    /// The caller handed the call to the network, with these encoded arguments.
    Sent {
        /// The encoded arguments.
        args: &'a [u8],
    },
    /// The handler, running on `node`, produced this encoded reply.
    Handled {
        /// The node of the server whose handler ran.
        node: NodeId,
        /// The encoded reply.
        reply: &'a [u8],
    },
    /// The reply reached the caller.
    Delivered {
        /// The encoded reply.
        reply: &'a [u8],
    },
    /// The caller got this error instead of a reply.
    Failed {
        /// Why the call failed.
        error: &'a RpcError,
    },
}

/// A second observer was offered to a network that already has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the network already has an observer; install one observer per network, before the first call"
)]
pub struct ObserverInstalled;

/// One observed call, from send to its end.
#[derive(Clone)]
pub(crate) struct Watch {
    observer: Arc<dyn Observer>,
    call: u64,
    end: u64,
    method: Arc<str>,
}

impl Watch {
    /// Reports that `method` was sent on `end` with `args`, and returns the call's watch.
    pub(crate) fn sent(
        observer: &Arc<dyn Observer>,
        call: u64,
        end: u64,
        method: &Arc<str>,
        args: &[u8],
    ) -> Watch {
        let watch = Watch {
            observer: observer.clone(),
            call,
            end,
            method: method.clone(),
        };
        watch.report(Stage::Sent { args });
        watch
    }

    fn report(&self, stage: Stage<'_>) {
        self.observer.observe(&RpcEvent {
            call: self.call,
            end: self.end,
            method: &self.method,
            at: runtime::now(),
            stage,
        });
    }

    /// Reports that the handler, running on `node`, produced `reply`.
    pub(crate) fn handled(&self, node: NodeId, reply: &[u8]) {
        self.report(Stage::Handled { node, reply });
    }

    /// Reports how the call ended for the caller.
    pub(crate) fn finished(&self, result: Result<&[u8], &RpcError>) {
        match result {
            Ok(reply) => self.report(Stage::Delivered { reply }),
            Err(error) => self.report(Stage::Failed { error }),
        }
    }
}
