//! The graders: every lab test, by name and part, runnable over any [`Peer`] type.

mod part_a;

use std::future::Future;
use std::pin::Pin;

use crate::peer::Peer;
use crate::tester::{Stats, TestFailure};

/// A grader's body, boxed so the registry can hold every grader in one list.
pub type GraderFuture = Pin<Box<dyn Future<Output = Result<Stats, TestFailure>>>>;

/// Which test a grader runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Body {
    InitialElection,
    ReElection,
    ManyElections,
    HeartbeatStability,
}

/// One grader: a lab test with its name, part and title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Grader {
    /// The name used on the command line and in reports, e.g. `initial_election`.
    pub name: &'static str,
    /// The lab part, e.g. `"A"`.
    pub part: &'static str,
    /// The title printed at the start of the test, as in the Go tester.
    pub title: &'static str,
    /// What the grader checks, in one sentence.
    pub description: &'static str,
    body: Body,
}

const ALL: &[Grader] = &[
    Grader {
        name: "initial_election",
        part: "A",
        title: "Test (3A): initial election",
        description: "3 peers elect one leader, agree on its term, and keep it with no failures",
        body: Body::InitialElection,
    },
    Grader {
        name: "re_election",
        part: "A",
        title: "Test (3A): election after network failure",
        description: "a new leader after the old one is cut off; no leader without a majority; \
                      stale leaders step down when the network heals",
        body: Body::ReElection,
    },
    Grader {
        name: "many_elections",
        part: "A",
        title: "Test (3A): multiple elections",
        description: "7 peers keep electing one leader while 3 random peers are cut off, 9 times",
        body: Body::ManyElections,
    },
    Grader {
        name: "heartbeat_stability",
        part: "A",
        title: "Test (3A): heartbeat-only stability",
        description: "with no failures, term and leader hold for 10 s and each follower gets at \
                      most 10 RPCs per second (3 and 5 peers)",
        body: Body::HeartbeatStability,
    },
];

/// Every grader, in the order the lab runs them.
pub fn all() -> &'static [Grader] {
    ALL
}

/// The graders a selector names: a part (`A`, `3A`, `2A`), a grader's name, or `all`.
/// Returns an error listing what exists when nothing matches.
pub fn select(selector: &str) -> Result<Vec<Grader>, String> {
    let s = selector.trim();
    let part = s
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .to_ascii_uppercase();
    let found: Vec<Grader> = ALL
        .iter()
        .filter(|g| s.eq_ignore_ascii_case("all") || g.name == s || g.part == part)
        .copied()
        .collect();
    if found.is_empty() {
        let names: Vec<&str> = ALL.iter().map(|g| g.name).collect();
        Err(format!(
            "no grader or part called {selector:?}; parts: A (or 3A); graders: {}",
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
    /// The grader's test as a future for peer type `P`, to run inside a lab runtime.
    pub fn body<P: Peer>(&self) -> GraderFuture {
        let title = self.title;
        match self.body {
            Body::InitialElection => Box::pin(part_a::initial_election::<P>(title)),
            Body::ReElection => Box::pin(part_a::re_election::<P>(title)),
            Body::ManyElections => Box::pin(part_a::many_elections::<P>(title)),
            Body::HeartbeatStability => Box::pin(part_a::heartbeat_stability::<P>(title)),
        }
    }
}
