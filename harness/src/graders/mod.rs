//! The graders: every lab test, by name and part, runnable over any [`Peer`] type.

mod conformance;
mod kvsrv;
mod lab4_kv;
mod lab4_rsm;
mod part_a;
mod part_b;
mod part_c;
mod part_d;

use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;

use crate::submission::Submission;
use crate::tester::{Passed, Stats, TestFailure};
use raftapi::rsm::Rsm;
use raftapi::Peer;

/// A grader's body, boxed so the registry can hold every grader in one list. A test that ends
/// with `Ok(t.stats().into())` passes with one stats line and no warning.
pub type GraderFuture = Pin<Box<dyn Future<Output = Result<Passed, TestFailure>>>>;

/// Which test a grader runs: the part's module and its test. Each part's module lists its
/// graders (`GRADERS`) and builds their bodies (`body`), so adding a part touches this file in
/// four places: the `mod` line, a variant here, an arm in [`Grader::body`], and the list in
/// [`all`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Body {
    A(part_a::Test),
    Conformance(conformance::Test),
    B(part_b::Test),
    C(part_c::Test),
    D(part_d::Test),
    Kvsrv(kvsrv::Test),
    Lab4(Lab4Test),
}

/// A Lab 4 test, run with the submission's services (opaque: only the graders make one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Lab4Test(Lab4Inner);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Lab4Inner {
    Rsm(lab4_rsm::Test),
    Kv(lab4_kv::Test),
}

/// The body of a Lab 4 test over the submission's rsm `R` (4A, and the rsm's 4C test) or its
/// key/value service `K` (4B, 4C).
fn lab4_body<R: Rsm, K: kvapi::Kvraft>(test: Lab4Test, title: &'static str) -> GraderFuture {
    match test.0 {
        Lab4Inner::Rsm(test) => lab4_rsm::body_of::<R>(test, title),
        Lab4Inner::Kv(test) => lab4_kv::body_of::<K>(test, title),
    }
}

/// Where a grader comes from: the original lab, or this project's additions to it. A course
/// that wants to grade exactly as the original does selects the original ones only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A test of the original Go lab, step for step.
    Original,
    /// A check the original lacks (stability, conformance to a rule of Figure 2, ...).
    Beyond,
}

/// One grader: a lab test with its name, part and title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Grader {
    /// The name used on the command line and in reports, e.g. `initial_election`.
    pub name: &'static str,
    /// The lab part: `"A"` to `"D"` for Raft (3A–3D), `"kvsrv"` for Lab 2.
    pub part: &'static str,
    /// The title printed at the start of the test, as in the Go tester: `Test (3A): ...` for a
    /// test of the original lab, `Beyond (3A): ...` or `Conformance (3A): ...` for one that goes
    /// beyond it.
    pub title: &'static str,
    /// What the grader checks, in one sentence.
    pub description: &'static str,
    /// Whether the original lab has this test.
    pub origin: Origin,
    body: Body,
}

static ALL: LazyLock<Vec<Grader>> = LazyLock::new(|| {
    [
        part_a::GRADERS,
        part_b::GRADERS,
        part_c::GRADERS,
        part_d::GRADERS,
        conformance::GRADERS_A,
        conformance::GRADERS_B,
        conformance::GRADERS_C,
        conformance::GRADERS_D,
        kvsrv::GRADERS,
        lab4_rsm::GRADERS,
        lab4_kv::GRADERS,
    ]
    .concat()
});

/// The body of a test that runs one cluster, as a grader's result: its one stats line.
pub(crate) fn one_cluster(
    test: impl Future<Output = Result<Stats, TestFailure>> + 'static,
) -> GraderFuture {
    Box::pin(async move { test.await.map(Passed::from) })
}

/// Every grader, in the order the lab runs them.
pub fn all() -> &'static [Grader] {
    &ALL
}

/// The graders a selector names: a part (`A`, `3A`, `2A`; likewise `B`, `C` and `D`; Lab 2 is
/// `kvsrv`, or `lab2`; Lab 4's parts are `4A`, `4B`, `4C`, which no Raft part answers to), a
/// grader's name, or `all`.
/// Returns an error listing what exists when nothing matches.
pub fn select(selector: &str) -> Result<Vec<Grader>, String> {
    let s = selector.trim();
    let part = if s.eq_ignore_ascii_case("lab2") {
        kvsrv::PART.to_string()
    } else if s.starts_with('4') {
        // Lab 4's parts keep their number: `4A` is never Raft's part A.
        s.to_ascii_uppercase()
    } else {
        s.trim_start_matches(|c: char| c.is_ascii_digit())
            .to_ascii_uppercase()
    };
    let found: Vec<Grader> = ALL
        .iter()
        .filter(|g| {
            s.eq_ignore_ascii_case("all") || g.name == s || g.part.eq_ignore_ascii_case(&part)
        })
        .copied()
        .collect();
    if found.is_empty() {
        let names: Vec<&str> = ALL.iter().map(|g| g.name).collect();
        let mut parts: Vec<&str> = ALL.iter().map(|g| g.part).collect();
        // The conformance graders come after every part's own: sort before removing repeats.
        parts.sort_unstable();
        parts.dedup();
        Err(format!(
            "no grader or part called {selector:?}; parts: {} (or 3A, ..., lab2); graders: {}",
            parts.join(", "),
            names.join(", ")
        ))
    } else {
        Ok(found)
    }
}

/// Looks a grader up by its exact name.
pub fn by_name(name: &str) -> Option<Grader> {
    ALL.iter().find(|g| g.name == name).copied()
}

impl Grader {
    /// The grader's test as a future for peer type `P`, to run inside a lab runtime. A grader
    /// of a key/value lab needs the lab's service too: its body fails at once, saying to run it
    /// with [`submission_body`](Self::submission_body).
    pub fn body<P: Peer>(&self) -> GraderFuture {
        let title = self.title;
        match self.body {
            Body::Kvsrv(_) | Body::Lab4(_) => {
                let crate_name = if matches!(self.body, Body::Kvsrv(_)) {
                    "kvsrv"
                } else {
                    "kvraft"
                };
                let message = format!(
                    "{} grades a key/value lab's service, and this run was given only a Raft \
                     peer: run it with a harness::Submission that names the {crate_name} crate",
                    self.name
                );
                Box::pin(async move { Err(crate::tester::TestFailure::new(message)) })
            }
            Body::A(test) => part_a::body::<P>(test, title),
            Body::Conformance(test) => conformance::body::<P>(test, title),
            Body::B(test) => part_b::body::<P>(test, title),
            Body::C(test) => part_c::body::<P>(test, title),
            Body::D(test) => part_d::body::<P>(test, title),
        }
    }

    /// The grader's test as a future for submission `S`, to run inside a lab runtime: the Raft
    /// graders drive `S::Raft`, Lab 2's drive `S::Kvsrv`, Lab 4's `S::Rsm`.
    pub fn submission_body<S: Submission>(&self) -> GraderFuture {
        match self.body {
            Body::Kvsrv(test) => kvsrv::body::<S::Kvsrv>(test, self.title),
            Body::Lab4(test) => lab4_body::<S::Rsm, S::Kvraft>(test, self.title),
            _ => self.body::<S::Raft>(),
        }
    }

    /// Whether this grader drives a Raft peer (parts A to D), rather than a key/value lab's
    /// service.
    pub fn is_raft(&self) -> bool {
        !matches!(self.body, Body::Kvsrv(_) | Body::Lab4(_))
    }

    /// Whether this is a conformance grader (the tester plays every peer but the one under
    /// test, and speaks the `raft` crate's message types to it; see [`crate::conformance`]).
    pub fn is_conformance(&self) -> bool {
        matches!(self.body, Body::Conformance(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(selector: &str) -> Vec<&'static str> {
        select(selector)
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|g| g.name)
            .collect()
    }

    #[test]
    fn parts_are_selected_with_or_without_the_lab_number() {
        for part in ["B", "C", "D"] {
            let want: Vec<&str> = all()
                .iter()
                .filter(|g| g.part == part)
                .map(|g| g.name)
                .collect();
            assert!(!want.is_empty(), "part {part} has graders");
            for selector in [part.to_string(), format!("3{part}"), format!("2{part}")] {
                assert_eq!(names(&selector), want, "selector {selector}");
                assert_eq!(names(&selector.to_lowercase()), want, "selector {selector}");
            }
        }
        assert_eq!(names("all").len(), all().len());
        assert_eq!(names("figure8"), vec!["figure8"]);
        // Lab 4's parts are never read as a Raft part, nor a Raft part as Lab 4's.
        for g in select("4A").unwrap_or_else(|e| panic!("{e}")) {
            assert_eq!(g.part, "4A", "{}", g.name);
        }
        assert!(names("4C").contains(&"rsm_snapshot"));
        assert!(!names("A").contains(&"rsm_basic"));
    }

    #[test]
    fn every_original_test_of_parts_b_to_d_is_registered_once() {
        let expected = [
            ("B", "basic_agree"),
            ("B", "rpc_bytes"),
            ("B", "follower_failure"),
            ("B", "leader_failure"),
            ("B", "fail_agree"),
            ("B", "fail_no_agree"),
            ("B", "concurrent_starts"),
            ("B", "rejoin"),
            ("B", "backup"),
            ("B", "count"),
            ("C", "persist1"),
            ("C", "persist2"),
            ("C", "persist3"),
            ("C", "figure8"),
            ("C", "unreliable_agree"),
            ("C", "figure8_unreliable"),
            ("C", "reliable_churn"),
            ("C", "unreliable_churn"),
            ("D", "snapshot_basic"),
            ("D", "snapshot_install"),
            ("D", "snapshot_install_unreliable"),
            ("D", "snapshot_install_crash"),
            ("D", "snapshot_install_uncrash"),
            ("D", "snapshot_all_crash"),
            ("D", "snapshot_init"),
        ];
        for (part, name) in expected {
            let found: Vec<&Grader> = all().iter().filter(|g| g.name == name).collect();
            assert_eq!(found.len(), 1, "{name} is registered once");
            let g = found[0];
            assert_eq!(g.part, part, "{name}'s part");
            assert_eq!(g.origin, Origin::Original, "{name}'s origin");
            assert!(
                g.title.starts_with(&format!("Test (3{part}): ")),
                "{name}'s title {:?}",
                g.title
            );
        }
    }

    #[test]
    fn only_the_original_tests_have_a_title_that_reads_like_one() {
        for g in all().iter().filter(|g| g.is_raft()) {
            let original_title = g.title.starts_with(&format!("Test (3{}): ", g.part));
            assert_eq!(
                original_title,
                g.origin == Origin::Original,
                "{}: {:?} and {:?}",
                g.name,
                g.title,
                g.origin
            );
        }
        for g in all().iter().filter(|g| g.part.starts_with('4')) {
            let original_title = g.title.starts_with(&format!("Test ({}): ", g.part));
            assert_eq!(original_title, g.origin == Origin::Original, "{}", g.name);
        }
        let beyond = by_name("old_term_commit").expect("registered");
        assert_eq!(beyond.origin, Origin::Beyond);
        assert!(
            beyond.title.starts_with("Beyond (3B): "),
            "{}",
            beyond.title
        );
    }

    #[test]
    fn an_unknown_selector_lists_the_parts() {
        let err = select("nope").expect_err("no such grader");
        assert!(err.contains("A, B, C, D, kvsrv (or"), "{err}");
        assert!(err.contains("parts: 4A, "), "{err}");
    }
}
