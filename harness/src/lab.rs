//! What a submission gives the graders: a Raft peer type, and for Lab 4 the services on it.
//!
//! The Raft graders need only the peer: any [`Peer`] type is a [`Lab`] of its own, so
//! `run_trial::<raft::Raft>` runs them. The Lab 4 graders also need the submission's rsm
//! ([`Rsm`]); [`Lab4`] names it, and its peer type is the rsm's:
//!
//! ```
//! use harness::graders;
//! use harness::trial::{run_trial, TrialSettings};
//!
//! type Reference = harness::Lab4<kvraft::rsm::RsmServer<raft::Raft>>;
//! let grader = graders::by_name("rsm_basic").expect("a 4A grader");
//! let report = run_trial::<Reference>(grader, &TrialSettings::sim(1));
//! assert!(report.passed(), "{:?}", report.outcome);
//! ```

use std::marker::PhantomData;

use raftapi::rsm::Rsm;
use raftapi::Peer;

use crate::graders::{self, GraderFuture};
use crate::tester::TestFailure;

/// A submission as the graders see it.
pub trait Lab: 'static {
    /// Its Raft peer.
    type Raft: Peer;

    /// The body of a Lab 4 grader, or `None` when the submission has no Lab 4 services.
    fn lab4_body(test: graders::Lab4Test, title: &'static str) -> Option<GraderFuture> {
        let _ = (test, title);
        None
    }
}

impl<P: Peer> Lab for P {
    type Raft = P;
}

/// A submission with Lab 4's rsm `R` on its Raft peer `R::Raft`.
pub struct Lab4<R>(PhantomData<R>);

impl<R: Rsm> Lab for Lab4<R> {
    type Raft = R::Raft;

    fn lab4_body(test: graders::Lab4Test, title: &'static str) -> Option<GraderFuture> {
        Some(graders::lab4_body::<R>(test, title))
    }
}

/// The failure of a Lab 4 grader run with a Raft peer alone.
pub(crate) fn no_services(title: &'static str) -> GraderFuture {
    Box::pin(async move {
        Err(TestFailure::new(format!(
            "{title}: this grader needs the Lab 4 services (the rsm); it was run with a Raft \
             peer alone. Run it with harness::Lab4<YourRsm>."
        )))
    })
}
