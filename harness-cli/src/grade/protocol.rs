//! What passes between `harness grade` and a grading child, and how the parent knows that a
//! result came from the harness and not from the submission running in the same process.
//!
//! The parent writes one line to the child's standard input: a [`Hello`] holding a fresh
//! random key and the [`TrialPlan`] (the grader, its seeds and how to run them), then closes
//! it. The child reads it before any submission code runs, so the key is never on its command
//! line, in its environment or in a file. For each finished trial the child writes one
//! [frame](encode_frame) to its standard output: a marker, the HMAC-SHA256 of the result under
//! the key, and the [`TrialFrame`] as JSON, on one line. The submission shares that standard
//! output (its `println!` goes there too), so the parent reads only lines holding the marker,
//! from the marker on, and keeps a frame only when its tag is right: a submission that prints
//! a frame of its own cannot make the tag without the key, and its other output is ignored.
//! The parent alone turns frames into a report.

use std::io::Read as _;
use std::path::PathBuf;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Starts every frame on the child's standard output (a record separator, so that it is never
/// typed by accident, and a name).
pub const MARKER: &str = "\u{1e}harness-trial ";

/// The longest line the parent reads from a child; longer lines (a submission printing without
/// bound) are skipped, never kept in memory.
pub const MAX_LINE: usize = 4 << 20;

/// Bytes of a key.
pub const KEY_BYTES: usize = 32;

/// A secret key of one child's run.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; KEY_BYTES]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

/// A key could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The system's random source could not be read.
    #[error("cannot read random bytes from /dev/urandom for the grading key: {0}")]
    Random(std::io::Error),
    /// A key in hex is not 64 hex digits.
    #[error("the grading key is not {} hex digits", 2 * KEY_BYTES)]
    Hex,
}

impl Key {
    /// A fresh key from the system's random source.
    pub fn random() -> Result<Key, KeyError> {
        let mut bytes = [0u8; KEY_BYTES];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .map_err(KeyError::Random)?;
        Ok(Key(bytes))
    }

    /// The key in hex.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// A key from its hex form.
    pub fn from_hex(text: &str) -> Result<Key, KeyError> {
        unhex(text.as_bytes())
            .and_then(|bytes| <[u8; KEY_BYTES]>::try_from(bytes).ok())
            .map(Key)
            .ok_or(KeyError::Hex)
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    let pairs = text.chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return None;
    }
    pairs
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// What one child is to run: seeds of one grader, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialPlan {
    /// The grader's name.
    pub grader: String,
    /// The seeds, in the order to start them.
    pub seeds: Vec<u64>,
    /// Trials at once.
    pub jobs: usize,
    /// Real time instead of the simulation.
    pub real: bool,
    /// The runtime's watchdog, in seconds.
    pub stuck_after: f64,
    /// Whether the safety monitor watches.
    pub monitor: bool,
    /// Run each sim seed twice and compare.
    pub check_determinism: bool,
    /// Bundles for passing trials too.
    pub keep_all: bool,
    /// Where bundles go (none when `None`).
    pub bundles: Option<PathBuf>,
    /// The bundles' log filter.
    pub bundle_log: String,
    /// The most failing seeds of the grader that get a bundle and a page (the lowest seeds;
    /// the parent keeps the grader's lowest over every child).
    pub max_bundles: usize,
    /// Timeline pages next to bundles.
    pub html: bool,
    /// The only folders the child may write to (with Landlock, where the kernel has it).
    pub writable: Vec<PathBuf>,
}

/// The line the parent writes to the child's standard input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    /// The key, in hex.
    pub key: String,
    /// What to run.
    pub plan: TrialPlan,
}

/// One finished trial, as the child reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialFrame {
    /// The seed.
    pub seed: u64,
    /// `None` when it passed, else why it failed.
    pub error: Option<String>,
    /// How it ran away (`deadlocked`, `got stuck`, ...), when it was stopped from outside.
    pub runaway: Option<String>,
    /// A pass's warnings.
    pub warnings: Vec<String>,
    /// Run time (virtual in sim mode), in nanoseconds.
    pub run_time_ns: u64,
    /// Wall time, in nanoseconds.
    pub wall_ns: u64,
    /// Its bundle.
    pub bundle: Option<PathBuf>,
    /// Its timeline page.
    pub page: Option<PathBuf>,
}

/// A frame line (without its newline): the marker, the tag, the JSON.
pub fn encode_frame(key: &Key, frame: &TrialFrame) -> String {
    let json = serde_json::to_string(frame).unwrap_or_else(|_| "{}".to_string());
    let mut mac = key.mac();
    mac.update(json.as_bytes());
    let tag = hex(&mac.finalize().into_bytes());
    format!("{MARKER}{tag} {json}")
}

/// What a line of a child's output is.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// Not a frame: the submission's own output.
    Other,
    /// A frame with the right tag.
    Frame(TrialFrame),
    /// Something that looks like a frame but whose tag is wrong (or that does not parse):
    /// written by someone without the key.
    Forged,
}

/// Reads one line of a child's output (anything before the marker is the submission's and is
/// ignored: a `print!` without a newline just before a frame).
pub fn decode_line(key: &Key, line: &[u8]) -> Line {
    let marker = MARKER.as_bytes();
    let Some(at) = line.windows(marker.len()).rposition(|w| w == marker) else {
        return Line::Other;
    };
    let rest = &line[at + marker.len()..];
    let rest = rest.strip_suffix(b"\n").unwrap_or(rest);
    let Some(space) = rest.iter().position(|&b| b == b' ') else {
        return Line::Forged;
    };
    let (tag, json) = (&rest[..space], &rest[space + 1..]);
    let Some(tag) = unhex(tag) else {
        return Line::Forged;
    };
    let mut mac = key.mac();
    mac.update(json);
    // Compared in constant time.
    if mac.verify_slice(&tag).is_err() {
        return Line::Forged;
    }
    match serde_json::from_slice(json) {
        Ok(frame) => Line::Frame(frame),
        Err(_) => Line::Forged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> TrialFrame {
        TrialFrame {
            seed: 7,
            error: None,
            runaway: None,
            warnings: vec!["warning: term changed".into()],
            run_time_ns: 5,
            wall_ns: 6,
            bundle: None,
            page: None,
        }
    }

    #[test]
    fn a_frame_made_with_the_key_reads_back() {
        let key = Key::random().expect("random bytes");
        let line = encode_frame(&key, &frame());
        assert_eq!(decode_line(&key, line.as_bytes()), Line::Frame(frame()));
        // After a `print!` of the submission's without a newline, too.
        let after = format!("half a line{line}\n");
        assert_eq!(decode_line(&key, after.as_bytes()), Line::Frame(frame()));
        assert_eq!(decode_line(&key, b"hello from raft\n"), Line::Other);
        assert_eq!(Key::from_hex(&key.to_hex()).expect("hex"), key);
    }

    #[test]
    fn a_frame_without_the_key_is_forged() {
        let key = Key::random().expect("random bytes");
        let other = Key::random().expect("random bytes");
        let line = encode_frame(&other, &frame());
        assert_eq!(decode_line(&key, line.as_bytes()), Line::Forged);
        // The right tag on changed contents.
        let good = encode_frame(&key, &frame());
        let changed = good.replace("\"seed\":7", "\"seed\":8");
        assert_eq!(decode_line(&key, changed.as_bytes()), Line::Forged);
        assert_eq!(
            decode_line(&key, format!("{MARKER}nothex {{}}").as_bytes()),
            Line::Forged
        );
    }
}
