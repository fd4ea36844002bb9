//! What a submission gives the graders: its Raft peer and its key/value services.
//!
//! The Raft graders need only the peer type ([`run_trial`](crate::trial::run_trial) and
//! [`grade`](crate::testing::grade) take it alone); a grader of a key/value lab also needs the
//! lab's service, so the full set is named by one type that implements [`Submission`]:
//!
//! ```
//! struct Reference;
//! impl harness::Submission for Reference {
//!     type Raft = raft::Raft;
//!     type Kvsrv = kvsrv::Lab2;
//!     type Rsm = kvraft::rsm::RsmServer<raft::Raft>;
//!     type Kvraft = kvraft::Lab4<raft::Raft>;
//! }
//! let g = harness::graders::by_name("reliable_put").expect("a Lab 2 grader");
//! let report = harness::trial::run_submission_trial::<Reference>(g, &harness::trial::TrialSettings::sim(1));
//! assert!(report.passed(), "{:?}", report.outcome);
//! ```

use raftapi::Peer;

/// A submission's crates, as types: its Raft peer, and Lab 2's key/value service.
pub trait Submission: 'static {
    /// The Raft peer (the `raft` crate's `Raft`).
    type Raft: Peer;
    /// Lab 2's service (the `kvsrv` crate's [`kvapi::Kvsrv`] implementation).
    type Kvsrv: kvapi::Kvsrv;
    /// Lab 4's replicated state machine layer on the peer (the `kvraft` crate's rsm).
    type Rsm: raftapi::rsm::Rsm<Raft = Self::Raft>;
    /// Lab 4's key/value service on the peer (the `kvraft` crate's).
    type Kvraft: kvapi::Kvraft<Raft = Self::Raft>;
}
