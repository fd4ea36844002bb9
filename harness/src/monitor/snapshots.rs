//! Rule 7, Snapshot Contents: every `InstallSnapshot` a peer sends carries the snapshot a
//! service made at its last included index.
//!
//! The tester is the service: it knows every snapshot it handed a peer's `snapshot(index,
//! data)`, and every snapshot at a given index is the same state. A leader that sends anything
//! else at that index (an empty snapshot, one of another index, bytes of its own) would reset a
//! follower's state machine to a state the service never had. A follower that already holds the
//! index ignores such a snapshot, so the damage can stay hidden from every other check: a
//! restarted leader that restored its log's base but not its snapshot's bytes, say.

use std::collections::BTreeMap;
use std::time::Duration;

use raftapi::InstallSnapshotArgs;

use super::violation::{Rule, Violation};

/// The snapshots the services made, by index, and when each was first made.
#[derive(Debug, Default)]
pub(crate) struct SnapshotContents {
    made: BTreeMap<u64, Vec<(Vec<u8>, Duration)>>,
}

impl SnapshotContents {
    /// A service made snapshot `data` through `index` at `at` (or restored it).
    pub(crate) fn made(&mut self, at: Duration, index: u64, data: &[u8]) {
        let known = self.made.entry(index).or_default();
        if !known.iter().any(|(d, _)| d == data) {
            known.push((data.to_vec(), at));
        }
    }

    /// `from` sent `args` to `to` at `at`: its data must be a snapshot a service made at its
    /// last included index.
    pub(crate) fn sent(
        &self,
        at: Duration,
        from: usize,
        to: usize,
        args: &InstallSnapshotArgs,
    ) -> Result<(), Violation> {
        let index = args.last_included_index;
        let known = self.made.get(&index).map(Vec::as_slice).unwrap_or_default();
        if known.iter().any(|(d, _)| *d == args.data) {
            return Ok(());
        }
        let what = if args.data.is_empty() {
            "an empty snapshot".to_string()
        } else {
            format!("{} bytes that are not it", args.data.len())
        };
        let mut v = Violation::new(
            Rule::SnapshotContents,
            at,
            format!(
                "S{from} sent S{to} InstallSnapshot through index {index} with {what}: not the \
                 snapshot the service made at index {index}"
            ),
        );
        match known.first() {
            Some((data, made)) => {
                v = v.event(
                    *made,
                    format_args!(
                        "a service made the snapshot through index {index} ({} bytes)",
                        data.len()
                    ),
                )
            }
            None => {
                v = v.note(format!(
                    "no service made a snapshot through index {index}: a leader sends the \
                     snapshot it saved with its state (the service's, from snapshot() or from \
                     an InstallSnapshot it took), never one of its own making"
                ))
            }
        }
        v = v.event(
            at,
            format_args!(
                "S{from} sent S{to} InstallSnapshot through index {index} ({} bytes of data)",
                args.data.len()
            ),
        );
        Err(v.note(format!(
            "a restarted peer must read its snapshot back (persister.read_snapshot()) with its \
             state, and send that: S{from}'s followers would reset their service to what it \
             sent"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raftapi::{PeerId, Term};

    fn args(index: u64, data: &[u8]) -> InstallSnapshotArgs {
        InstallSnapshotArgs {
            term: Term(3),
            leader_id: PeerId(1),
            last_included_index: index,
            last_included_term: Term(2),
            data: data.to_vec(),
            ..Default::default()
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_services_snapshot_passes_and_anything_else_fails() {
        let mut r = SnapshotContents::default();
        r.made(ms(10), 9, b"state through 9");
        r.sent(ms(20), 1, 2, &args(9, b"state through 9"))
            .expect("the service's snapshot");
        let empty = r
            .sent(ms(30), 1, 2, &args(9, b""))
            .expect_err("an empty one");
        assert_eq!(empty.rule, Rule::SnapshotContents);
        assert_eq!(
            empty.summary,
            "S1 sent S2 InstallSnapshot through index 9 with an empty snapshot: not the snapshot \
             the service made at index 9"
        );
        assert!(empty.evidence[0].contains("made the snapshot through index 9 (15 bytes)"));
        let other = r
            .sent(ms(40), 1, 0, &args(19, b"state through 9"))
            .expect_err("another index's snapshot");
        assert!(other.summary.contains("15 bytes that are not it"));
    }
}
