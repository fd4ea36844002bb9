//! Log events: every event of this crate goes to target `"raft"` with the fields `peer` (u64),
//! `term` (u64) and `topic` (one of [`Topic`]), so a formatter can lay a run out as one column
//! per peer and filter by topic.
//!
//! Levels: state changes (candidate, leader, follower, votes, rejections) at `info` or `debug`;
//! per-heartbeat chatter at `debug` or `trace`; programming errors at `error`.

/// What an event is about; the `topic` field of every event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Topic {
    /// The election timer: timeouts, and the peer being killed.
    Timer,
    /// Votes asked for, granted and denied.
    Vote,
    /// Winning and losing leadership.
    Leader,
    /// Terms: seeing a higher term and stepping down.
    Term,
    /// `AppendEntries` (heartbeats) sent, received and rejected.
    Append,
    /// Commands accepted by the leader, commit index moves, and commands applied.
    Apply,
    /// Saving and restoring the persistent state.
    Persist,
    /// Failures that mean a bug (a misspelt RPC name, state that does not decode).
    Error,
}

impl Topic {
    /// The topic as it appears in the `topic` field.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Topic::Timer => "timer",
            Topic::Vote => "vote",
            Topic::Leader => "leader",
            Topic::Term => "term",
            Topic::Append => "append",
            Topic::Apply => "apply",
            Topic::Persist => "persist",
            Topic::Error => "error",
        }
    }
}

/// Emits a `tracing` event on target `"raft"` with the `peer`, `term` and `topic` fields.
///
/// `raft_event!(info, me, term, Vote, "granted vote to {} for term {}", c, t)`: the level is a
/// `tracing` macro name, `me` a [`PeerId`](crate::PeerId), `term` a [`Term`](crate::Term) and
/// the topic a [`Topic`] variant.
macro_rules! raft_event {
    ($level:ident, $peer:expr, $term:expr, $topic:ident, $($message:tt)+) => {
        ::tracing::$level!(
            target: "raft",
            peer = u64::from($peer),
            term = u64::from($term),
            topic = $crate::logging::Topic::$topic.as_str(),
            $($message)+
        )
    };
}

pub(crate) use raft_event;

#[cfg(test)]
mod tests {
    use super::Topic;

    #[test]
    fn topics_are_the_documented_words() {
        let all = [
            Topic::Timer,
            Topic::Vote,
            Topic::Leader,
            Topic::Term,
            Topic::Append,
            Topic::Apply,
            Topic::Persist,
            Topic::Error,
        ];
        let words: Vec<_> = all.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            words,
            ["timer", "vote", "leader", "term", "append", "apply", "persist", "error"]
        );
    }
}
