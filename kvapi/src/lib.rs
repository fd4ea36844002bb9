//! `kvapi`: what the key/value labs give you, and the contract between your service and the
//! tester (Go `kvsrv1/rpc`, `kvtest1.IKVClerk` and `tester1.Clnt`).
//!
//! | item | what it is | Go |
//! |---|---|---|
//! | [`GetArgs`], [`PutArgs`], [`GetReply`], [`PutReply`], [`Version`] | the RPC messages | `rpc.GetArgs`, ..., `rpc.Tversion` |
//! | [`KvError`] | the errors a server or clerk answers with | `rpc.Err` |
//! | [`Clnt`] | the tester's client, which clerks send their RPCs through | `tester.Clnt` |
//! | [`Clerk`], [`Lock`] | the calls the tester makes on a clerk and on a lock | `kvtest.IKVClerk`, `lock.Lock` |
//! | [`Kvsrv`] | how the tester starts Lab 2's server and makes its clerks and locks | `StartKVServer`, `MakeClerk`, `MakeLock` |
//! | [`Kvraft`], [`KvServer`] | how the tester starts Lab 4's servers (each a Raft peer with the service) and makes clerks | `kvraft1.StartKVServer`, `MakeClerk` |
//!
//! The service and the tester both depend on this crate and on nothing of each other, so a
//! submission's `kvsrv` can replace the reference one under the same graders.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod clnt;
mod kvraft;
mod lab;
mod rpc;

pub use clnt::{CallFailed, Clnt};
pub use kvraft::{KvServer, Kvraft};
pub use lab::{Clerk, Kvsrv, Lock};
pub use rpc::{GetArgs, GetReply, Got, KvError, PutArgs, PutReply, Version};
