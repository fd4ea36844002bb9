//! Rule 5, State Machine Safety: no two applies, on any peers at any time (crashed peers
//! included), put different commands at one index; and each life of each peer applies in order,
//! with no gap and no repeat.

use std::collections::BTreeMap;
use std::time::Duration;

use super::index_map::IndexMap;
use super::violation::{Rule, Violation};

/// The first apply at an index.
#[derive(Debug, Clone)]
pub(crate) struct Applied {
    /// The command.
    pub(crate) command: Vec<u8>,
    /// The peer that applied it first.
    pub(crate) peer: usize,
    /// When.
    pub(crate) at: Duration,
    /// The highest term of any `AppendEntries` sent before this apply: the entry was committed
    /// by a leader of this term or an older one (see rule 6).
    pub(crate) committed_by: u64,
}

/// A command as failures print it: the tester's [`Command`](crate::tester::Command) when the
/// bytes are one (`103`, `"x"`), else its bytes, cut short when long.
pub(crate) fn show(command: &[u8]) -> String {
    const MOST: usize = 16;
    if let Ok(decoded) = crate::tester::Command::decode(command) {
        decoded.to_string()
    } else if command.len() <= MOST {
        format!("{command:?}")
    } else {
        format!("{:?}... ({} bytes)", &command[..MOST], command.len())
    }
}

/// Every index applied so far, and where each life of each peer is.
#[derive(Debug, Default)]
pub(crate) struct StateMachineSafety {
    applied: IndexMap<Applied>,
    /// (peer, life) → the last index it applied, and when (`None`: where it started).
    last: BTreeMap<(usize, u64), (u64, Option<Duration>)>,
    /// The lives that are restarts of their peer.
    restarts: std::collections::BTreeSet<(usize, u64)>,
}

impl StateMachineSafety {
    /// Life `life` of `peer` began (`restart`: not its first), with everything through
    /// `applied_through` already in its state machine (0, or the index of the snapshot it
    /// restored).
    ///
    /// Each life starts over: the service's state of a crashed peer is gone with it, so a
    /// restarted peer applies its log again from index 1 (or from the entry after its
    /// snapshot). The original lab's tester keeps what a peer applied before its crash and would
    /// let it go on from there; this is a deliberate difference (Figure 2: lastApplied is
    /// volatile state, "initialized to 0").
    pub(crate) fn started(&mut self, peer: usize, life: u64, applied_through: u64, restart: bool) {
        self.last.insert((peer, life), (applied_through, None));
        if restart {
            self.restarts.insert((peer, life));
        }
    }

    /// The first apply at `index`, if any.
    pub(crate) fn at(&self, index: u64) -> Option<&Applied> {
        self.applied.get(index)
    }

    /// Life `life` of `peer` applied `command` at `index`; `committed_by` is the highest term
    /// of any `AppendEntries` sent so far.
    pub(crate) fn command(
        &mut self,
        at: Duration,
        peer: usize,
        life: u64,
        index: u64,
        command: &[u8],
        committed_by: u64,
    ) -> Result<(), Violation> {
        if let Some(first) = self.applied.get(index) {
            if first.command != command {
                let who = if first.peer == peer {
                    format!("S{peer} applied two different commands at index {index}")
                } else {
                    format!(
                        "S{} and S{peer} applied different commands at index {index}",
                        first.peer
                    )
                };
                return Err(Violation::new(Rule::StateMachineSafety, at, who)
                    .event(
                        first.at,
                        format_args!(
                            "S{} applied {} at index {index}",
                            first.peer,
                            show(&first.command)
                        ),
                    )
                    .event(
                        at,
                        format_args!("S{peer} applied {} at index {index}", show(command)),
                    ));
            }
        }
        let (last, last_at) = self.last.get(&(peer, life)).copied().unwrap_or((0, None));
        if index != last + 1 {
            let what = if index > last + 1 {
                format!(
                    "S{peer} applied index {index} after index {last}, skipping {}",
                    if index == last + 2 {
                        format!("index {}", last + 1)
                    } else {
                        format!("indexes {}..={}", last + 1, index - 1)
                    }
                )
            } else {
                format!("S{peer} applied index {index} again, after index {last}")
            };
            let mut v = Violation::new(Rule::StateMachineSafety, at, what);
            v = match last_at {
                Some(t) => v.event(t, format_args!("S{peer} applied index {last}")),
                None if last == 0 && self.restarts.contains(&(peer, life)) => v.note(format!(
                    "S{peer} had applied nothing since its restart: lastApplied is volatile \
                     state (Figure 2, initialized to 0), and the service's state went with the \
                     crash, so a restarted peer applies its log again from index 1 (or from the \
                     entry after its snapshot) as it learns what is committed (the original \
                     lab's tester keeps what a peer applied before its crash and lets this pass; \
                     this one does not)"
                )),
                None if last == 0 => {
                    v.note(format!("S{peer} had applied nothing since it started"))
                }
                None => v.note(format!(
                    "S{peer} started with everything through index {last} in its state machine"
                )),
            };
            return Err(v.event(at, format_args!("S{peer} applied index {index}")));
        }
        self.last.insert((peer, life), (index, Some(at)));
        self.applied.get_or_insert_with(index, || Applied {
            command: command.to_vec(),
            peer,
            at,
            committed_by,
        });
        Ok(())
    }

    /// Life `life` of `peer` installed a snapshot through `index`: it applies `index + 1` next.
    pub(crate) fn snapshot(&mut self, at: Duration, peer: usize, life: u64, index: u64) {
        self.last.insert((peer, life), (index, Some(at)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn peers_that_apply_the_same_commands_in_order_pass() {
        let mut r = StateMachineSafety::default();
        for peer in 0..3 {
            r.started(peer, peer as u64, 0, false);
            for index in 1..=5 {
                r.command(ms(index), peer, peer as u64, index, &[index as u8], 1)
                    .expect("in order and in agreement");
            }
        }
        assert_eq!(r.at(3).expect("applied").peer, 0);
    }

    #[test]
    fn two_commands_at_one_index_fail_even_from_a_crashed_peer() {
        let mut r = StateMachineSafety::default();
        r.started(0, 1, 0, false);
        r.command(ms(10), 0, 1, 1, b"x", 1).expect("first");
        // S0's life 1 has crashed; S1 applies something else at index 1.
        r.started(1, 2, 0, false);
        let v = r
            .command(ms(20), 1, 2, 1, b"y", 1)
            .expect_err("another command at index 1");
        assert_eq!(v.rule, Rule::StateMachineSafety);
        assert_eq!(v.summary, "S0 and S1 applied different commands at index 1");
        assert_eq!(
            v.evidence,
            [
                "0.010s: S0 applied [120] at index 1",
                "0.020s: S1 applied [121] at index 1"
            ]
        );
    }

    #[test]
    fn the_testers_commands_are_shown_as_commands_and_other_bytes_as_bytes() {
        use crate::tester::Command;
        assert_eq!(show(&Command::Int(103).encode()), "103");
        assert_eq!(show(&Command::Text("x".into()).encode()), "\"x\"");
        assert_eq!(show(b"x"), "[120]");
        assert_eq!(
            show(&[0xff; 20]),
            format!("{:?}... (20 bytes)", [0xffu8; 16])
        );
    }

    #[test]
    fn a_gap_and_a_repeat_fail() {
        let mut r = StateMachineSafety::default();
        r.started(2, 7, 0, false);
        r.command(ms(1), 2, 7, 1, b"a", 1).expect("first");
        let gap = r
            .command(ms(2), 2, 7, 3, b"c", 1)
            .expect_err("index 2 skipped");
        assert_eq!(
            gap.summary,
            "S2 applied index 3 after index 1, skipping index 2"
        );

        let mut r = StateMachineSafety::default();
        r.started(2, 7, 0, false);
        r.command(ms(1), 2, 7, 1, b"a", 1).expect("first");
        let repeat = r
            .command(ms(2), 2, 7, 1, b"a", 1)
            .expect_err("index 1 twice");
        assert_eq!(repeat.summary, "S2 applied index 1 again, after index 1");
    }

    #[test]
    fn a_restarted_peer_that_goes_on_after_what_it_applied_is_told_why_not() {
        let mut r = StateMachineSafety::default();
        r.started(0, 1, 0, false);
        r.command(ms(1), 0, 1, 1, b"a", 1).expect("life 1");
        r.started(0, 2, 0, true);
        let v = r
            .command(ms(2), 0, 2, 2, b"b", 1)
            .expect_err("life 2 skips index 1");
        assert_eq!(
            v.summary,
            "S0 applied index 2 after index 0, skipping index 1"
        );
        assert!(
            v.evidence[0].contains("since its restart: lastApplied is volatile"),
            "{:?}",
            v.evidence
        );
    }

    #[test]
    fn each_life_starts_over_and_a_snapshot_moves_the_next_index() {
        let mut r = StateMachineSafety::default();
        r.started(0, 1, 0, false);
        r.command(ms(1), 0, 1, 1, b"a", 1).expect("life 1");
        r.command(ms(2), 0, 1, 2, b"b", 1).expect("life 1");
        r.started(0, 2, 0, true);
        r.command(ms(3), 0, 2, 1, b"a", 1)
            .expect("life 2 replays from 1");
        r.snapshot(ms(4), 0, 2, 9);
        r.command(ms(5), 0, 2, 10, b"j", 1)
            .expect("after the snapshot");
        r.started(0, 3, 20, true);
        let v = r
            .command(ms(6), 0, 3, 1, b"a", 1)
            .expect_err("life 3 restored a snapshot through 20");
        assert!(v.evidence[0].contains("everything through index 20"));
    }
}
