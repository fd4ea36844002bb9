//! A broken rule, with its evidence: what the monitor fails a trial with.

use std::fmt;
use std::time::Duration;

/// The rules the monitor checks, named after the Raft paper (plus one for messages it cannot
/// read at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// At most one leader per term (Figure 3, §5.2).
    ElectionSafety,
    /// A peer votes for at most one candidate per term, across crashes (§5.2, Figure 2).
    OneVotePerTerm,
    /// A peer that has seen a term never sends an older one (Figure 2, rules for all servers).
    TermsMoveForward,
    /// One (index, term) names one entry (Figure 3, §5.3).
    LogMatching,
    /// No two peers apply different commands at one index; each applies in order (Figure 3,
    /// §5.4.3; Figure 2).
    StateMachineSafety,
    /// A leader holds every committed entry (Figure 3, §5.4).
    LeaderCompleteness,
    /// An `InstallSnapshot` carries the snapshot the service made at its last included index
    /// (Figure 13, §7).
    SnapshotContents,
    /// A Raft RPC that does not decode as the `raft` crate's message types.
    UnreadableMessage,
}

impl Rule {
    /// Every rule, in the order of the table in the module docs.
    pub const ALL: [Rule; 8] = [
        Rule::ElectionSafety,
        Rule::OneVotePerTerm,
        Rule::TermsMoveForward,
        Rule::LogMatching,
        Rule::StateMachineSafety,
        Rule::LeaderCompleteness,
        Rule::SnapshotContents,
        Rule::UnreadableMessage,
    ];

    /// The rule's name as failures print it.
    pub fn name(self) -> &'static str {
        match self {
            Rule::ElectionSafety => "Election Safety",
            Rule::OneVotePerTerm => "One Vote Per Term",
            Rule::TermsMoveForward => "Terms Only Move Forward",
            Rule::LogMatching => "Log Matching",
            Rule::StateMachineSafety => "State Machine Safety",
            Rule::LeaderCompleteness => "Leader Completeness",
            Rule::SnapshotContents => "Snapshot Contents",
            Rule::UnreadableMessage => "Readable Messages",
        }
    }

    /// The rule in one line, from the paper (where the paper states it).
    pub fn statement(self) -> &'static str {
        match self {
            Rule::ElectionSafety => {
                "at most one leader can be elected in a given term (Raft paper, Figure 3, §5.2)"
            }
            Rule::OneVotePerTerm => {
                "each server will vote for at most one candidate in a given term, on a \
                 first-come-first-served basis; votedFor is persistent state, saved before \
                 responding to RPCs (Raft paper, §5.2 and Figure 2)"
            }
            Rule::TermsMoveForward => {
                "if RPC request or response contains term T > currentTerm: set currentTerm = T, \
                 convert to follower; currentTerm is persistent state, saved before responding \
                 to RPCs (Raft paper, Figure 2, rules for all servers, §5.1)"
            }
            Rule::LogMatching => {
                "if two logs contain an entry with the same index and term, then the logs are \
                 identical in all entries up through the given index (Raft paper, Figure 3, \
                 §5.3)"
            }
            Rule::StateMachineSafety => {
                "if a server has applied a log entry at a given index to its state machine, no \
                 other server will ever apply a different log entry for the same index; each \
                 server applies log[lastApplied+1] next (Raft paper, Figure 3, §5.4.3, Figure 2)"
            }
            Rule::LeaderCompleteness => {
                "if a log entry is committed in a given term, then that entry will be present \
                 in the logs of the leaders for all higher-numbered terms (Raft paper, Figure \
                 3, §5.4)"
            }
            Rule::SnapshotContents => {
                "the leader sends the snapshot the service made: InstallSnapshot's data is the \
                 \"raw bytes of the snapshot\", whose state includes the last included index \
                 (Raft paper, Figure 13 and §7; the lab's Snapshot(index, snapshot))"
            }
            Rule::UnreadableMessage => {
                "the tester reads Raft's RPCs with the raft crate's message types \
                 (RequestVoteArgs, RequestVoteReply, AppendEntriesArgs, AppendEntriesReply, \
                 InstallSnapshotArgs, InstallSnapshotReply): send exactly those types, keeping \
                 their names and fields"
            }
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A broken rule: which, a one-line summary naming the peers and terms, and the events that
/// prove it, each with its run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule.
    pub rule: Rule,
    /// Run time of the event that broke it (virtual in sim mode).
    pub at: Duration,
    /// One line: the peers and terms involved, e.g. `S1 and S2 both led term 4`.
    pub summary: String,
    /// The events involved, oldest first, each one line starting with its run time.
    pub evidence: Vec<String>,
}

impl Violation {
    /// A violation of `rule` found at `at`.
    pub fn new(rule: Rule, at: Duration, summary: impl Into<String>) -> Violation {
        Violation {
            rule,
            at,
            summary: summary.into(),
            evidence: Vec::new(),
        }
    }

    /// Adds an event to the evidence.
    pub fn event(mut self, at: Duration, what: impl fmt::Display) -> Violation {
        self.evidence.push(format!("{}: {what}", time(at)));
        self
    }

    /// Adds a line of explanation (no time) to the evidence.
    pub fn note(mut self, what: impl Into<String>) -> Violation {
        self.evidence.push(what.into());
        self
    }

    /// The first line, as the tables of the grader CLI show it.
    pub fn headline(&self) -> String {
        format!("safety violation ({}): {}", self.rule, self.summary)
    }
}

/// A run time as short as it stays exact: `1.908s` (whole milliseconds, as sim times are),
/// `1.234567s` otherwise; the log prints the same instant as `1.908000`.
pub(crate) fn time(at: Duration) -> String {
    let micros = at.subsec_micros();
    if micros.is_multiple_of(1_000) {
        format!("{}.{:03}s", at.as_secs(), micros / 1_000)
    } else {
        format!("{}.{micros:06}s", at.as_secs())
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.headline())?;
        write!(f, "  rule: {}", self.rule.statement())?;
        for line in &self.evidence {
            write!(f, "\n  - {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Violation {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_violation_reads_rule_statement_and_evidence_in_order() {
        let v = Violation::new(
            Rule::ElectionSafety,
            Duration::from_millis(2500),
            "S1 and S2 both led term 4",
        )
        .event(Duration::from_millis(1200), "S1 sent AppendEntries")
        .event(Duration::from_millis(2500), "S2 sent AppendEntries");
        let text = v.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "safety violation (Election Safety): S1 and S2 both led term 4"
        );
        assert!(lines[1].contains("at most one leader can be elected in a given term"));
        assert_eq!(lines[2], "  - 1.200s: S1 sent AppendEntries");
        assert_eq!(lines[3], "  - 2.500s: S2 sent AppendEntries");
    }

    #[test]
    fn every_rule_has_a_distinct_name_and_a_statement() {
        let mut names: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Rule::ALL.len());
        assert!(Rule::ALL.iter().all(|r| r.statement().len() > 40));
    }
}
