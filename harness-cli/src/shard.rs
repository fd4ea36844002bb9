//! Shards: a deterministic split of a run's (grader × seed) space, so that many machines (a CI
//! matrix, Kubernetes indexed jobs, GNU parallel over ssh) can each run a part and
//! [`merge`](super::merge) can put the parts together again.
//!
//! The trials of a run, `runs` seeds from `seed_start` for each of `G` graders, are put in one
//! list, seed by seed, and within a seed the graders in the lab's order:
//!
//! ```text
//! position:   0        1        ...  G-1        G          ...
//! trial:      (g0, s)  (g1, s)  ...  (gG-1, s)  (g0, s+1)  ...
//! ```
//!
//! Shard `K/N` (1-based, `1 <= K <= N`) takes the `K`-th of `N` contiguous slices of that list,
//! as equal as they can be (their lengths differ by at most one). So every shard gets about the
//! same number of trials of every grader, and a shard reads as a seed range: with four graders
//! and 1000 seeds, shard 2/4 runs seeds 251..=500 of every grader. The split depends only on the
//! number of graders, `seed_start`, `runs` and `K/N`: every machine that is given the same
//! command computes the same slices, with no coordinator.
//!
//! ```
//! use harness_cli::shard::Shard;
//!
//! let shard: Shard = "2/4".parse().unwrap();
//! // 4 graders × 10 seeds = 40 trials; shard 2 of 4 takes positions 10..20.
//! assert_eq!(shard.positions(40), 10..20);
//! let trials = shard.trials(4, 1, 10);
//! assert_eq!(trials.first(), Some(&(2, 3))); // grader index 2, seed 3
//! assert_eq!(trials.len(), 10);
//! assert_eq!(Shard::WHOLE.trials(4, 1, 10).len(), 40);
//! ```

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

/// One part of a run: the `index`-th of `count` slices (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shard {
    index: u64,
    count: u64,
}

/// A `--shard` value that is not `K/N` with `1 <= K <= N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--shard {given:?}: {why}; write it as K/N with 1 <= K <= N, e.g. --shard 2/4 for the second of four machines")]
pub struct ShardError {
    /// What was given.
    pub given: String,
    /// What is wrong with it.
    pub why: &'static str,
}

impl Shard {
    /// The whole run: shard 1 of 1.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Shard `index` of `count` (1-based), or `None` unless `1 <= index <= count`.
    pub fn new(index: u64, count: u64) -> Option<Shard> {
        (index >= 1 && index <= count).then_some(Shard { index, count })
    }

    /// The 1-based index `K` of `K/N`.
    pub fn index(self) -> u64 {
        self.index
    }

    /// The number of shards `N` of `K/N`.
    pub fn count(self) -> u64 {
        self.count
    }

    /// Whether this is the whole run (`1/1`).
    pub fn is_whole(self) -> bool {
        self.count == 1
    }

    /// The positions this shard takes out of `total` trials: the `K`-th of `N` contiguous
    /// slices, the first `total % N` of them one longer than the rest.
    pub fn positions(self, total: u64) -> Range<u64> {
        let (n, k) = (self.count, self.index - 1);
        let (base, extra) = (total / n, total % n);
        let start = k * base + k.min(extra);
        let len = base + u64::from(k < extra);
        start..start + len
    }

    /// The (grader index, seed) pairs of this shard of a run of `graders` graders over `runs`
    /// seeds from `seed_start`, in the list's order (seed by seed).
    pub fn trials(self, graders: usize, seed_start: u64, runs: u64) -> Vec<(usize, u64)> {
        if graders == 0 {
            return Vec::new();
        }
        let g = graders as u64;
        self.positions(g.saturating_mul(runs))
            .map(|p| ((p % g) as usize, seed_start + p / g))
            .collect()
    }

    /// The seeds this shard runs of the grader with index `grader`: always consecutive (the
    /// shard's positions are, and a grader recurs every `graders` positions). Computed, not
    /// listed, so a run of a million seeds costs nothing to plan.
    pub fn seeds(self, graders: usize, seed_start: u64, runs: u64, grader: usize) -> Range<u64> {
        let g = graders as u64;
        let i = grader as u64;
        if i >= g {
            return seed_start..seed_start;
        }
        let Range { start, end } = self.positions(g.saturating_mul(runs));
        // The first and last positions of the grader within start..end.
        let first = start + (i + g - start % g) % g;
        if first >= end {
            return seed_start..seed_start;
        }
        let last = end - 1 - (end - 1 + g - i) % g;
        seed_start + first / g..seed_start + last / g + 1
    }

    /// How many trials of each of `graders` graders this shard runs.
    pub fn planned(self, graders: usize, seed_start: u64, runs: u64) -> Vec<u64> {
        (0..graders)
            .map(|i| {
                let r = self.seeds(graders, seed_start, runs, i);
                r.end - r.start
            })
            .collect()
    }

    /// Whether the trial of grader `grader` (its index) on `seed` belongs to this shard.
    pub fn contains(
        self,
        graders: usize,
        seed_start: u64,
        runs: u64,
        grader: usize,
        seed: u64,
    ) -> bool {
        if grader >= graders || seed < seed_start || seed - seed_start >= runs {
            return false;
        }
        let position = (seed - seed_start) * graders as u64 + grader as u64;
        self.positions((graders as u64).saturating_mul(runs))
            .contains(&position)
    }
}

impl Default for Shard {
    fn default() -> Self {
        Shard::WHOLE
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let bad = |why| ShardError {
            given: s.to_string(),
            why,
        };
        let (k, n) = s.trim().split_once('/').ok_or_else(|| bad("no `/`"))?;
        let k: u64 = k
            .trim()
            .parse()
            .map_err(|_| bad("K is not a whole number"))?;
        let n: u64 = n
            .trim()
            .parse()
            .map_err(|_| bad("N is not a whole number"))?;
        if n == 0 {
            return Err(bad("N is 0"));
        }
        Shard::new(k, n).ok_or_else(|| bad("K is not between 1 and N"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_print() {
        assert_eq!("3/8".parse::<Shard>(), Ok(Shard { index: 3, count: 8 }));
        assert_eq!(" 1 / 1 ".parse::<Shard>(), Ok(Shard::WHOLE));
        assert_eq!(
            Shard::new(3, 8).map(|s| s.to_string()).as_deref(),
            Some("3/8")
        );
        for bad in ["0/4", "5/4", "1/0", "2", "a/4", "2/b", "-1/4", ""] {
            let e = bad.parse::<Shard>().expect_err(bad);
            assert!(e.to_string().contains("K/N"), "{e}");
        }
    }

    #[test]
    fn the_shards_of_a_run_cover_it_once_and_evenly() {
        for graders in 1..5usize {
            for runs in 0..13u64 {
                for n in 1..9u64 {
                    let whole = Shard::WHOLE.trials(graders, 7, runs);
                    let mut joined = Vec::new();
                    let mut lens = Vec::new();
                    for k in 1..=n {
                        let shard = Shard::new(k, n).expect("valid");
                        let part = shard.trials(graders, 7, runs);
                        for &(g, s) in &part {
                            assert!(shard.contains(graders, 7, runs, g, s));
                        }
                        assert_eq!(
                            shard.planned(graders, 7, runs).iter().sum::<u64>(),
                            part.len() as u64
                        );
                        for grader in 0..graders {
                            let listed: Vec<u64> = part
                                .iter()
                                .filter(|(g, _)| *g == grader)
                                .map(|&(_, s)| s)
                                .collect();
                            let computed: Vec<u64> =
                                shard.seeds(graders, 7, runs, grader).collect();
                            assert_eq!(listed, computed, "{shard} grader {grader}");
                        }
                        lens.push(part.len());
                        joined.extend(part);
                    }
                    assert_eq!(joined, whole, "{graders} graders, {runs} runs, {n} shards");
                    let (min, max) = (lens.iter().min(), lens.iter().max());
                    assert!(max.zip(min).is_some_and(|(a, b)| a - b <= 1), "{lens:?}");
                }
            }
        }
    }

    #[test]
    fn a_shard_reads_as_a_seed_range() {
        let shard = Shard::new(2, 4).expect("valid");
        let trials = shard.trials(4, 1, 1000);
        assert_eq!(trials.first(), Some(&(0, 251)));
        assert_eq!(trials.last(), Some(&(3, 500)));
        assert_eq!(shard.planned(4, 1, 1000), vec![250; 4]);
        assert!(!shard.contains(4, 1, 1000, 0, 250));
        assert!(!shard.contains(4, 1, 1000, 4, 300), "no such grader");
        assert!(!shard.contains(4, 1, 1000, 0, 1001), "no such seed");
    }
}
