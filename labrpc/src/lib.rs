//! `labrpc`: the lab runtime and the simulated RPC network of the Raft labs.
//!
//! Two halves:
//!
//! - [`runtime`]: tasks, time and randomness behind one API with two executors. The **sim**
//!   executor runs a whole test on one thread with a virtual clock and a seeded generator, so a
//!   seed replays a run event for event; the **real** executor uses worker threads and the wall
//!   clock.
//! - the network ([`Network`], [`ClientEnd`], [`Server`], [`Service`]): RPCs routed by
//!   `"Service.Method"` strings, with the original lab's faults (drops, delays, long delays,
//!   reordering, disconnection, deleted servers) and counters, and typed errors that say what
//!   to fix.
//!
//! # A service, a call and a sim run
//!
//! ```
//! use std::time::Duration;
//! use labrpc::runtime::{self, RunConfig};
//! use labrpc::{Network, RpcError, Server, Service};
//!
//! let outcome = runtime::run(RunConfig::sim(2026), || async {
//!     let net = Network::new();
//!     let mut kv = Service::new("KV").expect("a good name");
//!     kv.handle("Get", |key: String| format!("value-of-{key}")).expect("a new method");
//!     let server = Server::new();
//!     server.add_service(kv).expect("a new service");
//!     net.add_server("kv", server);
//!
//!     let end = net.make_end("c1").expect("a new end");
//!     net.connect("c1", "kv").expect("the end exists");
//!     net.enable("c1", true).expect("the end exists");
//!
//!     let reply: String = end.call("KV.Get", &"x".to_string()).await.expect("delivered");
//!     assert_eq!(reply, "value-of-x");
//!
//!     // A misspelt method is a typed error that lists what exists.
//!     let err = end.call::<_, String>("KV.Gte", &"x".to_string()).await.unwrap_err();
//!     assert!(matches!(err, RpcError::UnknownMethod { .. }));
//!     assert!(err.to_string().contains("KV.Get"));
//!
//!     // Ten seconds of virtual time cost nothing.
//!     runtime::sleep(Duration::from_secs(10)).await;
//!     net.total_count()
//! })
//! .expect("the run finishes");
//! assert_eq!(outcome.value, 2);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod codec;
mod error;
pub mod faults;
mod network;
pub mod observe;
pub mod runtime;
mod server;

pub use error::{NetworkError, RpcError};
pub use network::{ClientEnd, Network};
pub use server::{Server, Service};
