//! `kvsrv`: Lab 2, a key/value server on one machine, reached over an unreliable network.
//!
//! - [`rules`]: what a get and a put do to a key, as pure functions (the version check).
//! - [`KvServer`]: the server, a map from key to (value, version) behind one lock. It keeps
//!   nothing per client: a resent put is safe because it is conditional on the version.
//! - [`Clerk`]: resends until it gets an answer, and says [`ErrMaybe`](kvapi::KvError::ErrMaybe)
//!   when a resent put is refused, because the first try may have been executed.
//! - [`Lock`]: a lock kept in one key, correct with a clerk that may answer `ErrMaybe`.
//! - [`Lab2`]: how the tester starts the server and makes clerks and locks ([`kvapi::Kvsrv`]).
//!
//! ```
//! use kvapi::{Clnt, Clerk as _, Got, KvError, Kvsrv as _};
//! use labrpc::runtime::{self, RunConfig};
//! use labrpc::{Network, Server};
//!
//! let out = runtime::run(RunConfig::sim(1), || async {
//!     let net = Network::new();
//!     let server = Server::new();
//!     for service in kvsrv::Lab2::start_server() {
//!         server.add_service(service).expect("one KVServer service");
//!     }
//!     net.add_server("server-0-0", server);
//!     let ck = kvsrv::Lab2::make_clerk(Clnt::new(&net, "client-0"), "server-0-0");
//!     assert_eq!(ck.put("k", "a", 0).await, Ok(()));
//!     assert_eq!(ck.put("k", "b", 0).await, Err(KvError::ErrVersion));
//!     ck.get("k").await
//! })
//! .expect("the run finishes");
//! assert_eq!(out.value, Ok(Got { value: "a".into(), version: 1 }));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod clerk;
mod lock;
pub mod rules;
mod server;

pub use clerk::{Clerk, RETRY_PAUSE};
pub use lock::Lock;
pub use server::{KvServer, SERVICE};

/// Lab 2 as the tester drives it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lab2;

impl kvapi::Kvsrv for Lab2 {
    type Clerk = Clerk;

    fn start_server() -> Vec<labrpc::Service> {
        vec![KvServer::new().service()]
    }

    fn make_clerk(clnt: kvapi::Clnt, server: &str) -> Clerk {
        Clerk::new(clnt, server)
    }

    fn make_lock<C: kvapi::Clerk>(ck: C, name: &str) -> impl kvapi::Lock {
        Lock::new(ck, name)
    }
}
