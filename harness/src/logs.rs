//! Logs a person can read: every `tracing` event of a run becomes one line with the run time,
//! the topic, the peer and its term, captured per run.
//!
//! The line format (one event per line, fields separated by spaces):
//!
//! ```text
//!   1.234567 VOTE   S2 T3 granted vote to S1 for term 3
//!   1.500000 TEST   -  -  disconnect(1)
//! ```
//!
//! Raft's events carry the fields `peer`, `term` and `topic`; the tester's events carry the
//! topic `test` and span the whole width in the per-peer view.

use std::fmt::Write as _;
use std::sync::Arc;

use parking_lot::Mutex;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use crate::timeline::probe;
use crate::timeline::record::{Record, RecordLayer};

/// One parsed log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Run time in microseconds.
    pub micros: u64,
    /// The topic, upper case (`VOTE`, `LEAD`, `TEST`, ...).
    pub topic: String,
    /// The peer, if the event named one.
    pub peer: Option<u64>,
    /// The peer's term, if the event named one.
    pub term: Option<u64>,
    /// The rest of the line.
    pub message: String,
}

impl LogLine {
    /// Parses a line in the format above; `None` for anything else (test output, panics).
    pub fn parse(line: &str) -> Option<LogLine> {
        let mut parts = line.split_whitespace();
        let time = parts.next()?;
        let (secs, frac) = time.split_once('.')?;
        if frac.len() != 6 {
            return None;
        }
        let micros = secs.parse::<u64>().ok()? * 1_000_000 + frac.parse::<u64>().ok()?;
        let topic = parts.next()?.to_string();
        if topic.is_empty()
            || !topic
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return None;
        }
        let peer = parse_tag(parts.next()?, 'S')?;
        let term = parse_tag(parts.next()?, 'T')?;
        // The message is everything after the fourth field, with its own spacing kept.
        let mut rest = line.trim_start();
        for _ in 0..4 {
            rest = rest.trim_start();
            rest = rest.find(char::is_whitespace).map_or("", |i| &rest[i..]);
        }
        Some(LogLine {
            micros,
            topic,
            peer,
            term,
            message: rest.trim().to_string(),
        })
    }
}

/// Parses `S2` / `T3` / `-`: `Some(None)` for `-`, `None` when malformed.
fn parse_tag(field: &str, tag: char) -> Option<Option<u64>> {
    if field == "-" {
        return Some(None);
    }
    field.strip_prefix(tag)?.parse().ok().map(Some)
}

/// Formats one line (see the module docs).
pub fn format_line(
    micros: u64,
    topic: &str,
    peer: Option<u64>,
    term: Option<u64>,
    message: &str,
) -> String {
    let mut line = String::with_capacity(24 + message.len());
    write_line(&mut line, micros, topic, peer, term, &[message]);
    line
}

/// Appends one line (without its newline) to `out`, with `message` made of `parts`: what
/// [`format_line`] returns, without its allocations (the capture writes every event this way).
fn write_line(
    out: &mut String,
    micros: u64,
    topic: &str,
    peer: Option<u64>,
    term: Option<u64>,
    parts: &[&str],
) {
    /// Runs `write`, then pads what it wrote with spaces to `width` (the fields are ASCII).
    fn padded(out: &mut String, width: usize, write: impl FnOnce(&mut String)) {
        let start = out.len();
        write(out);
        for _ in out.len() - start..width {
            out.push(' ');
        }
    }
    let tag = |out: &mut String, letter: char, n: Option<u64>| match n {
        Some(n) => {
            let _ = write!(out, "{letter}{n}");
        }
        None => out.push('-'),
    };
    let _ = write!(out, "{:>3}.{:06} ", micros / 1_000_000, micros % 1_000_000);
    padded(out, 6, |out| {
        out.extend(topic.chars().map(|c| c.to_ascii_uppercase()));
    });
    out.push(' ');
    padded(out, 3, |out| tag(out, 'S', peer));
    out.push(' ');
    padded(out, 4, |out| tag(out, 'T', term));
    out.push(' ');
    for part in parts {
        out.push_str(part);
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    topic: Option<String>,
    peer: Option<u64>,
    term: Option<u64>,
    extra: String,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "peer" => self.peer = Some(value),
            "term" => self.term = Some(value),
            name => {
                let _ = write!(self.extra, " {name}={value}");
            }
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        match (field.name(), u64::try_from(value)) {
            ("peer", Ok(v)) => self.peer = Some(v),
            ("term", Ok(v)) => self.term = Some(v),
            (name, _) => {
                let _ = write!(self.extra, " {name}={value}");
            }
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "topic" => self.topic = Some(value.to_string()),
            "message" => self.message = value.to_string(),
            name => {
                let _ = write!(self.extra, " {name}={value}");
            }
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "topic" => self.topic = Some(format!("{value:?}").trim_matches('"').to_string()),
            name => {
                let _ = write!(self.extra, " {name}={value:?}");
            }
        }
    }
}

/// The lines of a capture, and how many of the oldest were let go to respect its limit.
#[derive(Default)]
struct Lines {
    text: String,
    /// Keep at most about this many bytes (the newest lines); `None` keeps everything.
    limit: Option<usize>,
    dropped: u64,
}

impl Lines {
    /// Appends a line that `write` writes (without its newline).
    fn push_with(&mut self, write: impl FnOnce(&mut String)) {
        write(&mut self.text);
        self.text.push('\n');
        if let Some(limit) = self.limit {
            // Trim only once the text is twice the limit, so each byte is moved about once.
            if self.text.len() > 2 * limit.max(1) {
                let cut = self.text.len() - limit;
                let cut = self.text[cut..]
                    .find('\n')
                    .map_or(self.text.len(), |i| cut + i + 1);
                self.dropped += self.text[..cut].matches('\n').count() as u64;
                self.text.drain(..cut);
            }
        }
    }

    fn take(&mut self) -> String {
        let text = std::mem::take(&mut self.text);
        match std::mem::take(&mut self.dropped) {
            0 => text,
            n => format!(
                "[the {n} earliest log lines were left out: the capture keeps the last {} bytes]\n{text}",
                self.limit.unwrap_or(0)
            ),
        }
    }
}

/// A `tracing` layer that formats every event as a line into a shared buffer.
struct CaptureLayer {
    buffer: Arc<Mutex<Lines>>,
    echo: bool,
}

impl<S: Subscriber> Layer<S> for CaptureLayer {
    fn on_event(&self, event: &Event<'_>, _cx: Context<'_, S>) {
        // The timeline's facts are for the page, not for people reading the log.
        if event.metadata().target() == probe::TARGET {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let micros = if labrpc::runtime::in_runtime() {
            labrpc::runtime::now().since_start().as_micros() as u64
        } else {
            0
        };
        let topic = fields
            .topic
            .as_deref()
            .unwrap_or(match *event.metadata().level() {
                tracing::Level::ERROR => "error",
                tracing::Level::WARN => "warn",
                _ => "info",
            });
        let parts = [fields.message.as_str(), fields.extra.as_str()];
        if self.echo {
            let mut line = String::new();
            write_line(&mut line, micros, topic, fields.peer, fields.term, &parts);
            line.push('\n');
            // Straight to the process's stderr, which `cargo test` does not capture: the log of
            // a passing test shows too, as it happens.
            let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
        }
        self.buffer
            .lock()
            .push_with(|out| write_line(out, micros, topic, fields.peer, fields.term, &parts));
    }
}

/// Captures the log of one run: install [`Capture::dispatch`] on the run's threads (through
/// `RunConfig::dispatch`), then read the lines with [`Capture::take`].
///
/// ```
/// use harness::logs::Capture;
///
/// let capture = Capture::new("info").expect("a valid filter");
/// tracing::dispatcher::with_default(&capture.dispatch(), || {
///     tracing::info!(target: "raft", peer = 2u64, term = 3u64, topic = "vote", "granted vote to S1");
/// });
/// let log = capture.take();
/// assert!(log.contains("VOTE"));
/// assert!(log.contains("S2"));
/// assert!(log.contains("T3"));
/// ```
#[derive(Clone)]
pub struct Capture {
    buffer: Arc<Mutex<Lines>>,
    records: Option<Arc<Mutex<Vec<Record>>>>,
    dispatch: tracing::Dispatch,
}

impl Capture {
    /// A capture keeping events that pass `filter`: a level (`debug`), targets with levels
    /// (`raft=trace,tester=info`), or both (`info,raft=trace`), as [`parse_filter`] reads it.
    pub fn new(filter: &str) -> Result<Capture, String> {
        Capture::build(filter, false, false)
    }

    /// Like [`Capture::new`], and also prints each line to the process's stderr as it happens
    /// (not through `eprintln!`, so `cargo test` shows it without `--nocapture`).
    pub fn echoing(filter: &str) -> Result<Capture, String> {
        Capture::build(filter, true, false)
    }

    /// Like [`Capture::new`] (echoing when `echo`), and also keeps every event as a structured
    /// [`Record`] for the [timeline](crate::timeline), with the timeline's own facts (target
    /// [`probe::TARGET`]) whatever the filter; read them with [`Capture::take_records`].
    pub fn with_records(filter: &str, echo: bool) -> Result<Capture, String> {
        Capture::build(filter, echo, true)
    }

    /// Keeps only about the last `bytes` of the log (whole lines), and says at the top of
    /// [`take`](Self::take)'s text how many earlier lines were left out. For logs that must
    /// never grow without bound: every trial of a long run, or a stuck run's thread that goes on
    /// logging after the run was abandoned.
    ///
    /// ```
    /// use harness::logs::Capture;
    ///
    /// let capture = Capture::new("info").expect("a valid filter").bounded(200);
    /// tracing::dispatcher::with_default(&capture.dispatch(), || {
    ///     for i in 0..100 {
    ///         tracing::info!(target: "tester", topic = "test", "line {i}");
    ///     }
    /// });
    /// let log = capture.take();
    /// assert!(log.contains("line 99") && !log.contains("line 0\n"));
    /// assert!(log.starts_with("[the "), "{log}");
    /// ```
    pub fn bounded(self, bytes: usize) -> Capture {
        self.buffer.lock().limit = Some(bytes);
        self
    }

    fn build(filter: &str, echo: bool, records: bool) -> Result<Capture, String> {
        keep_captures_complete();
        let text_filter = parse_filter(filter)?;
        let buffer = Arc::new(Mutex::new(Lines::default()));
        let kept = records.then(|| Arc::new(Mutex::new(Vec::new())));
        let record_layer = match &kept {
            Some(list) => {
                let with_facts = if filter.trim().is_empty() {
                    format!("{}=trace", probe::TARGET)
                } else {
                    format!("{filter},{}=trace", probe::TARGET)
                };
                let record_filter = parse_filter(&with_facts)?;
                Some(RecordLayer::new(list.clone()).with_filter(record_filter))
            }
            None => None,
        };
        let subscriber = tracing_subscriber::registry()
            .with(
                CaptureLayer {
                    buffer: buffer.clone(),
                    echo,
                }
                .with_filter(text_filter),
            )
            .with(record_layer);
        Ok(Capture {
            buffer,
            records: kept,
            dispatch: tracing::Dispatch::new(subscriber),
        })
    }

    /// The dispatcher to install on the run's threads.
    pub fn dispatch(&self) -> tracing::Dispatch {
        self.dispatch.clone()
    }

    /// Takes the lines captured so far.
    pub fn take(&self) -> String {
        self.buffer.lock().take()
    }

    /// Takes the records kept so far (none unless made by [`Capture::with_records`]).
    pub fn take_records(&self) -> Vec<Record> {
        self.records
            .as_ref()
            .map(|r| std::mem::take(&mut *r.lock()))
            .unwrap_or_default()
    }
}

/// Reads a log filter: a comma-separated list of `LEVEL` (the default for every target),
/// `TARGET=LEVEL` and `TARGET` (everything of that target) items, levels being `error`, `warn`,
/// `info`, `debug`, `trace` or `off`. The targets of the lab are `raft` (the peer), `tester`
/// (the tester's own events) and `labrpc`.
///
/// ```
/// use harness::logs::parse_filter;
///
/// assert!(parse_filter("debug").is_ok());
/// assert!(parse_filter("info,raft=trace").is_ok());
/// let e = parse_filter("raft=loud").expect_err("not a level");
/// assert!(e.contains("raft=loud"), "{e}");
/// assert!(parse_filter("[[").is_err());
/// ```
///
/// # Errors
/// A filter that does not parse, with what was wrong and the expected form.
pub fn parse_filter(filter: &str) -> Result<Targets, String> {
    const LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace", "off"];
    let bad = |why: String| {
        format!(
            "bad log filter {filter:?}: {why} (expected a level such as `debug`, or \
             `target=level` items such as `info,raft=trace`; levels: {})",
            LEVELS.join(", ")
        )
    };
    let is_level = |w: &str| LEVELS.contains(&w.trim().to_ascii_lowercase().as_str());
    let is_target = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ':')
    };
    for item in filter.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let ok = match item.split_once('=') {
            Some((target, level)) => is_target(target.trim()) && is_level(level),
            None => is_level(item) || is_target(item),
        };
        if !ok {
            return Err(bad(format!(
                "{item:?} is neither a level nor `target=level`"
            )));
        }
    }
    filter
        .trim()
        .parse::<Targets>()
        .map_err(|e| bad(e.to_string()))
}

/// Makes every capture see every event, whichever thread first meets an event's call site.
///
/// `tracing` caches per call site whether anyone wants its events. While a single dispatcher is
/// registered, a call site first met on a thread without a capture (a trial running without a
/// log) is cached as unwanted, and a capture alive on another thread then misses its events. A
/// second dispatcher that lives as long as the process, and wants nothing, makes `tracing` ask
/// every registered dispatcher instead. Later calls do nothing.
pub fn keep_captures_complete() {
    static ANCHOR: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
    ANCHOR.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
}
