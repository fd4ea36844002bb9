//! Structured records of a run's `tracing` events: the time, target, level and every field of
//! each event, kept as values rather than printed text, so the timeline reads a peer's term or
//! an RPC's times without parsing a log line.
//!
//! [`Capture::with_records`](crate::logs::Capture::with_records) installs a [`RecordLayer`]
//! next to the text log; [`Capture::take_records`](crate::logs::Capture::take_records) hands
//! the records over.

use std::fmt::Write as _;
use std::sync::Arc;

use parking_lot::Mutex;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// A field's value, as the event recorded it.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// An unsigned integer (peers, terms, indexes, times).
    U64(u64),
    /// A signed integer.
    I64(i64),
    /// A flag.
    Bool(bool),
    /// A floating-point number.
    F64(f64),
    /// Text, or anything recorded through `Debug`.
    Str(String),
}

impl FieldValue {
    /// The value as an unsigned integer, when it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            FieldValue::U64(v) => Some(*v),
            FieldValue::I64(v) => u64::try_from(*v).ok(),
            _ => None,
        }
    }

    /// The value as a flag.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            FieldValue::Bool(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as text (numbers and flags printed).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            FieldValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl std::fmt::Display for FieldValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldValue::U64(v) => write!(f, "{v}"),
            FieldValue::I64(v) => write!(f, "{v}"),
            FieldValue::Bool(v) => write!(f, "{v}"),
            FieldValue::F64(v) => write!(f, "{v}"),
            FieldValue::Str(v) => f.write_str(v),
        }
    }
}

/// One `tracing` event of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Run time in microseconds (virtual in sim mode).
    pub micros: u64,
    /// The event's target: `"raft"`, `"tester"`, [`super::probe::TARGET`], ...
    pub target: &'static str,
    /// The event's level.
    pub level: Level,
    /// The `message` field (empty when there is none).
    pub message: String,
    /// Every other field, in the order the event recorded them.
    pub fields: Vec<(&'static str, FieldValue)>,
}

impl Record {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The field called `name` as an unsigned integer.
    pub fn u64(&self, name: &str) -> Option<u64> {
        self.field(name).and_then(FieldValue::as_u64)
    }

    /// The field called `name` as text.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.field(name).and_then(FieldValue::as_str)
    }

    /// The `peer` field.
    pub fn peer(&self) -> Option<u64> {
        self.u64("peer")
    }

    /// The `term` field.
    pub fn term(&self) -> Option<u64> {
        self.u64("term")
    }

    /// The `topic` field, or the level's name for an event without one (as the text log
    /// shows it).
    pub fn topic(&self) -> String {
        match self.str("topic") {
            Some(t) => t.to_string(),
            None => match self.level {
                Level::ERROR => "error".into(),
                Level::WARN => "warn".into(),
                _ => "info".into(),
            },
        }
    }

    /// The event as one line of the text log ([`crate::logs::format_line`]): the message
    /// followed by the fields other than `peer`, `term` and `topic` as `name=value`.
    pub fn line(&self) -> String {
        let mut message = self.message.clone();
        for (name, value) in &self.fields {
            if !matches!(*name, "peer" | "term" | "topic") {
                let _ = write!(message, " {name}={value}");
            }
        }
        crate::logs::format_line(
            self.micros,
            &self.topic(),
            self.peer(),
            self.term(),
            &message,
        )
    }
}

/// Collects an event's fields.
struct Collect {
    message: String,
    fields: Vec<(&'static str, FieldValue)>,
}

impl Collect {
    fn put(&mut self, field: &Field, value: FieldValue) {
        self.fields.push((field.name(), value));
    }
}

impl Visit for Collect {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, FieldValue::U64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, FieldValue::I64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, FieldValue::Bool(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, FieldValue::F64(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.put(field, FieldValue::Str(value.to_string()));
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            let text = format!("{value:?}");
            // A `&str` recorded through `Debug` keeps its quotes; the text log drops them.
            let text = match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                Some(inner) => inner.to_string(),
                None => text,
            };
            self.put(field, FieldValue::Str(text));
        }
    }
}

/// The most records a [`RecordLayer`] keeps (the first ones): far more than any trial's
/// debug log and RPCs, and a bound on what a stuck run that goes on logging can take.
pub const MAX_RECORDS: usize = 1_000_000;

/// A `tracing` layer that keeps every event it sees as a [`Record`] in a shared list, up to
/// [`MAX_RECORDS`].
pub struct RecordLayer {
    records: Arc<Mutex<Vec<Record>>>,
}

impl RecordLayer {
    /// A layer appending to `records`.
    pub fn new(records: Arc<Mutex<Vec<Record>>>) -> Self {
        RecordLayer { records }
    }
}

impl<S: Subscriber> Layer<S> for RecordLayer {
    fn on_event(&self, event: &Event<'_>, _cx: Context<'_, S>) {
        if self.records.lock().len() >= MAX_RECORDS {
            return;
        }
        let mut collect = Collect {
            message: String::new(),
            fields: Vec::new(),
        };
        event.record(&mut collect);
        let micros = if labrpc::runtime::in_runtime() {
            labrpc::runtime::now().since_start().as_micros() as u64
        } else {
            0
        };
        let meta = event.metadata();
        self.records.lock().push(Record {
            micros,
            target: meta.target(),
            level: *meta.level(),
            message: collect.message,
            fields: collect.fields,
        });
    }
}
