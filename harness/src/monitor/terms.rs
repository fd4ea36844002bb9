//! Rule 3, Terms Only Move Forward: once a peer has sent a term, or received it in a request it
//! handled or a reply delivered to it, it sends nothing with a lower term.
//!
//! A message built under the lock just before the term moved may still leave a moment later, so
//! a lower term is allowed for a short window after the peer learned the newer one (see
//! [`TERM_WINDOW_SIM`](super::TERM_WINDOW_SIM) and [`TERM_WINDOW_REAL`](super::TERM_WINDOW_REAL)).
//! A reply is the exception: it is built after its request was read, so it never carries a term
//! below its request's.
//!
//! Across a restart, the terms a peer had *sent* still count, with no window (it must have saved
//! its term before sending it); terms it had only received do not (it may have crashed before
//! saving them).

use std::fmt;
use std::time::Duration;

use super::violation::{time, Rule, Violation};

/// How a peer came to know a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// It sent a request (`method` is `RequestVote` or `AppendEntries`) to `peer`.
    Sent {
        /// The method.
        method: &'static str,
        /// The receiver.
        peer: usize,
    },
    /// It replied to `peer`'s request.
    Replied {
        /// The method.
        method: &'static str,
        /// The caller.
        peer: usize,
    },
    /// Its handler read `peer`'s request.
    Received {
        /// The method.
        method: &'static str,
        /// The caller.
        peer: usize,
    },
    /// `peer`'s reply was delivered to it.
    GotReply {
        /// The method.
        method: &'static str,
        /// The replier.
        peer: usize,
    },
}

impl Source {
    fn is_send(self) -> bool {
        matches!(self, Source::Sent { .. } | Source::Replied { .. })
    }
}

/// A term as one peer learned it.
#[derive(Debug, Clone, Copy)]
struct Learned {
    peer: usize,
    term: u64,
    at: Duration,
    how: Source,
}

impl fmt::Display for Learned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (me, t) = (self.peer, self.term);
        match self.how {
            Source::Sent { method, peer } => {
                write!(f, "S{me} sent {method} of term {t} to S{peer}")
            }
            Source::Replied { method, peer } => {
                write!(f, "S{me} replied with term {t} to S{peer}'s {method}")
            }
            Source::Received { method, peer } => {
                write!(f, "S{me} handled S{peer}'s {method} of term {t}")
            }
            Source::GotReply { method, peer } => {
                write!(
                    f,
                    "S{me} got S{peer}'s reply to its {method}, with term {t}"
                )
            }
        }
    }
}

/// What one peer knows of terms.
#[derive(Debug, Default, Clone)]
struct PeerTerms {
    /// The highest term an earlier life sent, and when this life began: binding at once.
    carried: Option<(Learned, Duration)>,
    /// This life's term increases (sent or received), in the order seen.
    history: Vec<Learned>,
    /// The highest term any life sent.
    sent_max: Option<Learned>,
}

/// The terms every peer has seen.
#[derive(Debug)]
pub(crate) struct TermsMoveForward {
    window: Duration,
    peers: Vec<PeerTerms>,
    worst_lag: Duration,
}

impl TermsMoveForward {
    /// `n` peers, with `window` of grace for a message built just before the term moved.
    pub(crate) fn new(n: usize, window: Duration) -> Self {
        TermsMoveForward {
            window,
            peers: vec![PeerTerms::default(); n],
            worst_lag: Duration::ZERO,
        }
    }

    /// The longest a peer went on sending a lower term, within the window (for measuring it).
    pub(crate) fn worst_lag(&self) -> Duration {
        self.worst_lag
    }

    /// `peer` sent `term` at `at`; `request_term` is the term of the request a reply answers.
    pub(crate) fn sent(
        &mut self,
        at: Duration,
        peer: usize,
        term: u64,
        how: Source,
        request_term: Option<u64>,
    ) -> Result<(), Violation> {
        let sent = Learned {
            peer,
            term,
            at,
            how,
        };
        let window = self.window;
        let p = &mut self.peers[peer];
        if let Some((carried, life_began)) = p.carried.filter(|(c, _)| c.term > term) {
            return Err(Violation::new(
                Rule::TermsMoveForward,
                at,
                format!(
                    "S{peer} went back from term {} to term {term} across a restart",
                    carried.term
                ),
            )
            .event(carried.at, carried)
            .event(
                life_began,
                format_args!("S{peer} was restarted by the tester"),
            )
            .event(at, sent)
            .note(format!(
                "a peer must save its term with the persister before it sends it, and restore \
                 it when it restarts; S{peer} came back knowing an older term"
            )));
        }
        if let (
            Some(request),
            Source::Replied {
                method,
                peer: caller,
            },
        ) = (request_term, how)
        {
            if term < request {
                return Err(Violation::new(
                    Rule::TermsMoveForward,
                    at,
                    format!(
                        "S{peer} replied with term {term} to S{caller}'s {method} of term \
                         {request}"
                    ),
                )
                .event(
                    at,
                    format_args!("S{peer} handled S{caller}'s {method} of term {request}"),
                )
                .event(at, sent)
                .note(format!(
                    "a request of a newer term moves the receiver to that term before it \
                     replies, so the reply carries at least term {request}"
                )));
            }
        }
        // The first time this life learned a term above `term`.
        let newer = p
            .history
            .iter()
            .rev()
            .take_while(|l| l.term > term)
            .min_by_key(|l| l.at)
            .copied();
        if let Some(newer) = newer {
            let lag = at.saturating_sub(newer.at);
            if lag > window {
                return Err(Violation::new(
                    Rule::TermsMoveForward,
                    at,
                    format!(
                        "S{peer} sent term {term} {} after it had seen term {}",
                        time(lag),
                        newer.term
                    ),
                )
                .event(newer.at, newer)
                .event(at, sent)
                .note(format!(
                    "a message built just before the term moved may leave up to {} later; \
                     after that, a peer that still talks in its old term has not moved to the \
                     newer one",
                    time(window)
                )));
            }
            self.worst_lag = self.worst_lag.max(lag);
        }
        self.record(sent);
        Ok(())
    }

    /// `peer` received `term` at `at` (a request it handled, or a reply delivered to it).
    pub(crate) fn received(&mut self, at: Duration, peer: usize, term: u64, how: Source) {
        self.record(Learned {
            peer,
            term,
            at,
            how,
        });
    }

    fn record(&mut self, learned: Learned) {
        let p = &mut self.peers[learned.peer];
        if learned.how.is_send() && p.sent_max.is_none_or(|s| s.term < learned.term) {
            p.sent_max = Some(learned);
        }
        if p.history.last().is_none_or(|l| l.term < learned.term) {
            p.history.push(learned);
        }
    }

    /// `peer` was restarted at `at`: what it had only received is forgotten.
    pub(crate) fn restarted(&mut self, at: Duration, peer: usize) {
        let p = &mut self.peers[peer];
        p.carried = p.sent_max.map(|s| (s, at));
        p.history.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    const HEARTBEAT: Source = Source::Sent {
        method: "AppendEntries",
        peer: 1,
    };
    const VOTE_FROM_2: Source = Source::Received {
        method: "RequestVote",
        peer: 2,
    };

    fn rule() -> TermsMoveForward {
        TermsMoveForward::new(3, ms(50))
    }

    #[test]
    fn a_peer_may_send_its_terms_in_order_and_repeat_them() {
        let mut r = rule();
        for (at, term) in [(0, 1), (10, 1), (20, 2), (30, 2), (40, 5)] {
            r.sent(ms(at), 0, term, HEARTBEAT, None)
                .expect("no step back");
        }
    }

    #[test]
    fn a_message_built_just_before_the_term_moved_may_leave_within_the_window() {
        let mut r = rule();
        r.sent(ms(100), 0, 3, HEARTBEAT, None)
            .expect("the leader's heartbeat");
        r.received(ms(200), 0, 4, VOTE_FROM_2);
        r.sent(ms(250), 0, 3, HEARTBEAT, None)
            .expect("50 ms after: still within the window");
        assert_eq!(r.worst_lag(), ms(50));
    }

    #[test]
    fn a_peer_that_keeps_talking_in_its_old_term_fails() {
        let mut r = rule();
        r.sent(ms(100), 0, 3, HEARTBEAT, None)
            .expect("the leader's heartbeat");
        r.received(ms(200), 0, 4, VOTE_FROM_2);
        let v = r
            .sent(ms(350), 0, 3, HEARTBEAT, None)
            .expect_err("150 ms after the term moved");
        assert_eq!(v.rule, Rule::TermsMoveForward);
        assert_eq!(v.summary, "S0 sent term 3 0.150s after it had seen term 4");
        assert_eq!(
            v.evidence[..2],
            [
                "0.200s: S0 handled S2's RequestVote of term 4",
                "0.350s: S0 sent AppendEntries of term 3 to S1"
            ]
        );
    }

    #[test]
    fn a_term_learned_from_a_reply_counts_too() {
        let mut r = rule();
        r.received(
            ms(10),
            1,
            6,
            Source::GotReply {
                method: "AppendEntries",
                peer: 2,
            },
        );
        let v = r
            .sent(ms(500), 1, 5, HEARTBEAT, None)
            .expect_err("it had seen term 6");
        assert!(v.evidence[0].contains("S1 got S2's reply to its AppendEntries, with term 6"));
    }

    #[test]
    fn a_reply_never_carries_a_term_below_its_request() {
        let mut r = rule();
        let reply = Source::Replied {
            method: "RequestVote",
            peer: 2,
        };
        r.received(ms(10), 0, 4, VOTE_FROM_2);
        let v = r
            .sent(ms(10), 0, 3, reply, Some(4))
            .expect_err("a reply in the old term");
        assert_eq!(
            v.summary,
            "S0 replied with term 3 to S2's RequestVote of term 4"
        );
        r.sent(ms(20), 1, 5, reply, Some(4))
            .expect("a newer term than the request's is fine");
    }

    #[test]
    fn sent_terms_survive_a_restart_and_received_ones_do_not() {
        let mut r = rule();
        r.sent(ms(100), 2, 7, HEARTBEAT, None).expect("sent term 7");
        r.received(ms(200), 2, 9, VOTE_FROM_2);
        r.restarted(ms(1000), 2);
        r.sent(ms(1001), 2, 7, HEARTBEAT, None)
            .expect("term 9 was only received, so it may be forgotten");
        r.restarted(ms(2000), 2);
        let v = r
            .sent(ms(2001), 2, 6, HEARTBEAT, None)
            .expect_err("term 7 was sent before the crash");
        assert_eq!(
            v.summary,
            "S2 went back from term 7 to term 6 across a restart"
        );
        assert_eq!(v.evidence[1], "2.000s: S2 was restarted by the tester");
    }
}
