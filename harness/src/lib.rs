//! `harness`: the Raft lab's tester, its graders, and the tools around them.
//!
//! - [`tester`]: what Go's `config.go` does (connect, disconnect, crash, restart, the checks).
//! - [`graders`]: every lab test by name and part, generic over the [`Peer`] it drives.
//! - [`submission`]: the peer and services a submission gives, for graders of every lab.
//! - [`kv`]: the key/value labs' clerks, recorded histories and test library.
//! - [`conformance`]: Figure 2 rule by rule, with the tester playing every peer but one.
//! - [`trial`]: one grader, one seed, one executor, with its figures and log.
//! - [`testing`]: running graders from `cargo test` (`LAB_SEED`, `LAB_RUNTIME`, ...).
//! - [`logs`]: logs a person can read, one line per event with time, topic, peer and term.
//! - [`timeline`]: the failure timeline, one self-contained HTML page per trial.
//! - [`monitor`]: the safety monitor, which checks Raft's rules at every message and apply.
//! - [`group`], [`rsm_tester`]: Lab 4's group of servers and the 4A tester, which plays the
//!   service above a submission's rsm; [`Submission`] says what a submission gives.
//!
//! ```
//! use harness::graders;
//! use harness::trial::{run_trial, TrialSettings};
//!
//! let grader = graders::by_name("initial_election").expect("a part-A grader");
//! let report = run_trial::<raft::Raft>(grader, &TrialSettings::sim(1));
//! assert!(report.passed(), "{:?}", report.outcome);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Messages are built with their fields and then `..Default::default()`, so that a field added to
// `raftapi`'s messages (which a submission may do) needs no change in the tester.
#![allow(clippy::needless_update)]

pub mod conformance;
pub mod escape;
pub mod graders;
pub mod group;
pub mod kv;
pub mod kv_tester;
pub mod logs;
pub mod logview;
pub mod monitor;
pub mod rsm_tester;
pub mod submission;
pub mod tester;
pub mod testing;
pub mod timeline;
pub mod trial;

pub use raftapi::Peer;
pub use submission::Submission;
