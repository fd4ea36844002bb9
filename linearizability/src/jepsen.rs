//! Reading histories recorded by Jepsen-style testers, in two formats:
//!
//! - **EDN lines**, one event a line:
//!   `{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}`;
//! - **Jepsen logs** (as in its etcd test), one event a line:
//!   `INFO  jepsen.util - 3 :invoke :cas [3 0]`, the fields separated by tabs or spaces
//!   (other lines are skipped).
//!
//! An event's `:type` is `:invoke` (a call), `:ok` (it returned), `:fail` (it did not take
//! effect) or `:info` (nobody knows: it may take effect at any time after its call, or never).
//! A call that never completes is taken as `:info`. Event `k` (counting only events) happens
//! at time `k`; the process is the client.
//!
//! Two readings of `:fail` follow what the data means: a failed compare-and-set *returned*
//! "the value was not `from`" (an output the model checks), while any other failed operation
//! did not happen and is left out of the history.
//!
//! ```
//! use linearizability::jepsen;
//! use linearizability::models::CasRegisterModel;
//! use linearizability::{Checker, Verdict};
//!
//! let log = "INFO  jepsen.util - 0\t:invoke\t:write\t3\n\
//!            INFO  jepsen.util - 0\t:ok\t:write\t3\n\
//!            INFO  jepsen.util - 1\t:invoke\t:cas\t[3 4]\n\
//!            INFO  jepsen.util - 2\t:invoke\t:read\tnil\n\
//!            INFO  jepsen.util - 2\t:ok\t:read\t4\n\
//!            INFO  jepsen.util - 1\t:info\t:cas\t:timed-out\n";
//! let history = jepsen::register_history(log, true)?;
//! assert_eq!(history.len(), 3);
//! let result = Checker::new(&CasRegisterModel).check(&history).expect("a good history");
//! assert_eq!(result.verdict(), Verdict::Linearizable); // the cas that timed out did happen
//! # Ok::<(), jepsen::ParseError>(())
//! ```

use std::collections::HashMap;

use crate::history::{Operation, Outcome};
use crate::models::{KvInput, KvOutput, RegisterInput, RegisterOutput};

/// A history file that cannot be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// The line (from 1; 0 for the file as a whole).
    pub line: usize,
    /// What is wrong, and what was expected.
    pub message: String,
}

fn error(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: message.into(),
    }
}

/// The two formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One EDN map a line.
    Edn,
    /// Jepsen's log lines (`INFO  jepsen.util - PROCESS :TYPE :F VALUE`).
    Log,
}

/// The format of `text`, from its first line that is not blank.
pub fn detect(text: &str) -> Option<Format> {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    if first.starts_with('{') {
        Some(Format::Edn)
    } else if first.contains("jepsen.util") || text.contains("jepsen.util - ") {
        Some(Format::Log)
    } else {
        None
    }
}

/// An EDN value, as far as histories need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `nil`.
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
    /// A keyword, without its colon.
    Keyword(String),
    /// A symbol.
    Symbol(String),
    /// A vector or list.
    Vector(Vec<Value>),
    /// A map, in the order written.
    Map(Vec<(Value, Value)>),
}

impl Value {
    fn describe(&self) -> String {
        match self {
            Value::Nil => "nil".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Str(s) => format!("{s:?}"),
            Value::Keyword(k) => format!(":{k}"),
            Value::Symbol(s) => s.clone(),
            Value::Vector(v) => format!(
                "[{}]",
                v.iter().map(Value::describe).collect::<Vec<_>>().join(" ")
            ),
            Value::Map(_) => "{...}".into(),
        }
    }
}

/// Reads one EDN value from `text` (the whole of it, bar whitespace).
pub fn parse_edn(text: &str) -> Result<Value, String> {
    let mut reader = Reader {
        chars: text.chars().collect(),
        at: 0,
    };
    let value = reader.value()?;
    reader.skip_space();
    if reader.at < reader.chars.len() {
        return Err(format!(
            "unexpected {:?} after the value",
            reader.chars[reader.at..].iter().collect::<String>()
        ));
    }
    Ok(value)
}

struct Reader {
    chars: Vec<char>,
    at: usize,
}

impl Reader {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == ',' {
                self.at += 1;
            } else {
                break;
            }
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        self.skip_space();
        let Some(c) = self.peek() else {
            return Err("a value is missing".into());
        };
        match c {
            '{' => {
                self.at += 1;
                let items = self.until('}')?;
                if items.len() % 2 != 0 {
                    return Err("a map needs an even number of forms".into());
                }
                let mut pairs = Vec::new();
                let mut items = items.into_iter();
                while let (Some(k), Some(v)) = (items.next(), items.next()) {
                    pairs.push((k, v));
                }
                Ok(Value::Map(pairs))
            }
            '[' => {
                self.at += 1;
                Ok(Value::Vector(self.until(']')?))
            }
            '(' => {
                self.at += 1;
                Ok(Value::Vector(self.until(')')?))
            }
            '"' => {
                self.at += 1;
                let mut s = String::new();
                loop {
                    let Some(c) = self.peek() else {
                        return Err("a string is not closed".into());
                    };
                    self.at += 1;
                    match c {
                        '"' => return Ok(Value::Str(s)),
                        '\\' => {
                            let Some(e) = self.peek() else {
                                return Err("a string ends in a backslash".into());
                            };
                            self.at += 1;
                            s.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                other => other,
                            });
                        }
                        c => s.push(c),
                    }
                }
            }
            ':' => {
                self.at += 1;
                Ok(Value::Keyword(self.token()))
            }
            _ => {
                let token = self.token();
                if token.is_empty() {
                    return Err(format!("unexpected {c:?}"));
                }
                Ok(match token.as_str() {
                    "nil" => Value::Nil,
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    t => match t.parse::<i64>() {
                        Ok(i) => Value::Int(i),
                        Err(_) if t.starts_with(|c: char| c.is_ascii_digit() || c == '-') => {
                            return Err(format!("{t:?} is not an integer this reader knows"))
                        }
                        Err(_) => Value::Symbol(t.to_string()),
                    },
                })
            }
        }
    }

    fn token(&mut self) -> String {
        let start = self.at;
        while let Some(c) = self.peek() {
            if c.is_whitespace() || ",{}[]()\"".contains(c) {
                break;
            }
            self.at += 1;
        }
        self.chars[start..self.at].iter().collect()
    }

    fn until(&mut self, close: char) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                None => return Err(format!("{close:?} is missing")),
                Some(c) if c == close => {
                    self.at += 1;
                    return Ok(items);
                }
                Some(_) => items.push(self.value()?),
            }
        }
    }
}

/// What an event says became of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// `:invoke`: the call.
    Invoke,
    /// `:ok`: it returned.
    Ok,
    /// `:fail`: it did not take effect.
    Fail,
    /// `:info`: unknown.
    Info,
}

/// One event line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The line it came from (from 1).
    pub line: usize,
    /// The process (client).
    pub process: usize,
    /// Call or completion.
    pub kind: EventType,
    /// The function, without its colon (`get`, `cas`, ...).
    pub f: String,
    /// The key, for keyed histories.
    pub key: Option<Value>,
    /// The value.
    pub value: Value,
}

/// Reads the event lines of `text`, in either format.
pub fn read_records(text: &str) -> Result<Vec<Record>, ParseError> {
    match detect(text) {
        None if text.trim().is_empty() => Ok(Vec::new()),
        None => Err(error(
            0,
            "neither EDN lines ({:process 0, :type :invoke, ...}) nor Jepsen log lines \
             (INFO  jepsen.util - 0\t:invoke\t:read\tnil)",
        )),
        Some(Format::Edn) => read_edn(text),
        Some(Format::Log) => read_log(text),
    }
}

fn event_type(line: usize, keyword: &str) -> Result<EventType, ParseError> {
    Ok(match keyword {
        "invoke" => EventType::Invoke,
        "ok" => EventType::Ok,
        "fail" => EventType::Fail,
        "info" => EventType::Info,
        other => {
            return Err(error(
                line,
                format!(":type is :{other}; expected :invoke, :ok, :fail or :info"),
            ))
        }
    })
}

fn process_of(line: usize, value: &Value) -> Result<usize, ParseError> {
    match value {
        Value::Int(p) if *p >= 0 => Ok(*p as usize),
        other => Err(error(
            line,
            format!(
                ":process is {}; expected a number (a nemesis event is not a client's)",
                other.describe()
            ),
        )),
    }
}

fn read_edn(text: &str) -> Result<Vec<Record>, ParseError> {
    let mut records = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let Value::Map(pairs) = parse_edn(raw).map_err(|e| error(line, e))? else {
            return Err(error(
                line,
                "expected a map {:process ..., :type ..., :f ...}",
            ));
        };
        let field = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == Value::Keyword(name.to_string()))
                .map(|(_, v)| v.clone())
        };
        let missing = |name: &str| error(line, format!("the map has no :{name}"));
        let process = process_of(line, &field("process").ok_or_else(|| missing("process"))?)?;
        let kind = match field("type").ok_or_else(|| missing("type"))? {
            Value::Keyword(k) => event_type(line, &k)?,
            other => return Err(error(line, format!(":type is {}", other.describe()))),
        };
        let f = match field("f").ok_or_else(|| missing("f"))? {
            Value::Keyword(k) => k,
            other => return Err(error(line, format!(":f is {}", other.describe()))),
        };
        records.push(Record {
            line,
            process,
            kind,
            f,
            key: field("key"),
            value: field("value").unwrap_or(Value::Nil),
        });
    }
    Ok(records)
}

fn read_log(text: &str) -> Result<Vec<Record>, ParseError> {
    let mut records = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let Some(at) = raw.find("jepsen.util - ") else {
            continue;
        };
        let rest = &raw[at + "jepsen.util - ".len()..];
        let mut fields = rest.split_whitespace();
        let (Some(process), Some(kind)) = (fields.next(), fields.next()) else {
            continue;
        };
        // Other jepsen.util lines (not PROCESS :TYPE ...) are not events.
        let (Ok(process), Some(kind)) = (process.parse::<usize>(), kind.strip_prefix(':')) else {
            continue;
        };
        let kind = event_type(line, kind)?;
        let Some(f) = fields.next().and_then(|f| f.strip_prefix(':')) else {
            return Err(error(line, "the function (:read, :write, ...) is missing"));
        };
        let value_text = fields.collect::<Vec<_>>().join(" ");
        let value = if value_text.is_empty() {
            Value::Nil
        } else {
            parse_edn(&value_text).map_err(|e| error(line, e))?
        };
        records.push(Record {
            line,
            process,
            kind,
            f: f.to_string(),
            key: None,
            value,
        });
    }
    Ok(records)
}

/// A call with its completion, before the model's types are given to it.
struct Pending {
    invoke: Record,
    time: u64,
    completion: Option<(Record, u64)>,
}

/// Pairs each process's calls with their completions.
fn pair(records: Vec<Record>) -> Result<Vec<Pending>, ParseError> {
    let mut ops: Vec<Pending> = Vec::new();
    let mut open: HashMap<usize, usize> = HashMap::new();
    for (time, record) in records.into_iter().enumerate() {
        let time = time as u64;
        if record.kind == EventType::Invoke {
            if let Some(&k) = open.get(&record.process) {
                return Err(error(
                    record.line,
                    format!(
                        "process {} calls again before its call on line {} completed",
                        record.process, ops[k].invoke.line
                    ),
                ));
            }
            open.insert(record.process, ops.len());
            ops.push(Pending {
                invoke: record,
                time,
                completion: None,
            });
        } else {
            let Some(k) = open.remove(&record.process) else {
                return Err(error(
                    record.line,
                    format!("process {} completes a call it never made", record.process),
                ));
            };
            if ops[k].invoke.f != record.f {
                return Err(error(
                    record.line,
                    format!(
                        "process {} completes :{} but called :{} on line {}",
                        record.process, record.f, ops[k].invoke.f, ops[k].invoke.line
                    ),
                ));
            }
            ops[k].completion = Some((record, time));
        }
    }
    Ok(ops)
}

/// The outcome of a call: returned (with the completion), unknown, or left out (failed).
enum Fate<'a> {
    Returned(&'a Record, u64),
    Unknown,
    Dropped,
}

fn fate(op: &Pending) -> Fate<'_> {
    match &op.completion {
        Some((r, t)) if r.kind == EventType::Ok => Fate::Returned(r, *t),
        Some((r, t)) if r.kind == EventType::Fail && r.f == "cas" => Fate::Returned(r, *t),
        Some((r, _)) if r.kind == EventType::Fail => Fate::Dropped,
        _ => Fate::Unknown,
    }
}

/// A key/value history (`:get`, `:put`, `:append` with a string `:key`) for
/// [`KvModel`](crate::models::KvModel). A get's `:ok` value is what it returned (`nil`
/// reads as `""`).
pub fn kv_history(text: &str) -> Result<Vec<Operation<KvInput, KvOutput>>, ParseError> {
    let mut history = Vec::new();
    for op in pair(read_records(text)?)? {
        let r = &op.invoke;
        let key = match &r.key {
            Some(Value::Str(k)) => k.clone(),
            Some(Value::Int(k)) => k.to_string(),
            Some(Value::Keyword(k)) => k.clone(),
            _ => {
                return Err(error(
                    r.line,
                    "a key/value operation needs a :key (a string or a number)",
                ))
            }
        };
        let text_value = |v: &Value, line: usize| match v {
            Value::Str(s) => Ok(s.clone()),
            Value::Int(i) => Ok(i.to_string()),
            Value::Nil => Ok(String::new()),
            other => Err(error(
                line,
                format!("expected a string value, found {}", other.describe()),
            )),
        };
        let input = match r.f.as_str() {
            "get" | "read" => KvInput::get(key),
            "put" | "write" => KvInput::put(key, text_value(&r.value, r.line)?),
            "append" => KvInput::append(key, text_value(&r.value, r.line)?),
            other => {
                return Err(error(
                    r.line,
                    format!(":f is :{other}; the kv model knows :get, :put and :append"),
                ))
            }
        };
        let outcome = match fate(&op) {
            Fate::Dropped => continue,
            Fate::Unknown => Outcome::Unknown,
            Fate::Returned(done, at) => {
                let output = match input {
                    KvInput::Get { .. } => KvOutput::value(text_value(&done.value, done.line)?),
                    _ => KvOutput::default(),
                };
                Outcome::Returned { output, at }
            }
        };
        history.push(Operation {
            client: r.process,
            input,
            call: op.time,
            outcome,
        });
    }
    Ok(history)
}

/// A register history (`:read`, `:write`, and with `cas`, `:cas [from to]`) for
/// [`RegisterModel`](crate::models::RegisterModel) or
/// [`CasRegisterModel`](crate::models::CasRegisterModel). A read's `:ok` value is what it
/// returned (`nil`: never written).
pub fn register_history(
    text: &str,
    cas: bool,
) -> Result<Vec<Operation<RegisterInput, RegisterOutput>>, ParseError> {
    let mut history = Vec::new();
    for op in pair(read_records(text)?)? {
        let r = &op.invoke;
        if let Some(key) = &r.key {
            return Err(error(
                r.line,
                format!(
                    "the register models check one register, but this operation has :key {}",
                    key.describe()
                ),
            ));
        }
        let int = |v: &Value, line: usize| match v {
            Value::Int(i) => Ok(*i),
            other => Err(error(
                line,
                format!("expected an integer, found {}", other.describe()),
            )),
        };
        let input = match (r.f.as_str(), &r.value) {
            ("read", _) => RegisterInput::Read,
            ("write", v) => RegisterInput::Write(int(v, r.line)?),
            ("cas", Value::Vector(pair)) if cas && pair.len() == 2 => RegisterInput::Cas {
                from: int(&pair[0], r.line)?,
                to: int(&pair[1], r.line)?,
            },
            ("cas", other) if cas => {
                return Err(error(
                    r.line,
                    format!("a :cas takes [from to], found {}", other.describe()),
                ))
            }
            ("cas", _) => {
                return Err(error(
                    r.line,
                    "the register model has no :cas; use the cas-register model",
                ))
            }
            (other, _) => {
                return Err(error(
                    r.line,
                    format!(":f is :{other}; the register models know :read, :write and :cas"),
                ))
            }
        };
        let outcome = match fate(&op) {
            Fate::Dropped => continue,
            Fate::Unknown => Outcome::Unknown,
            Fate::Returned(done, at) => {
                let output = match input {
                    RegisterInput::Read => RegisterOutput::Value(match &done.value {
                        Value::Nil => None,
                        v => Some(int(v, done.line)?),
                    }),
                    RegisterInput::Cas { .. } if done.kind == EventType::Fail => {
                        RegisterOutput::Failed
                    }
                    _ => RegisterOutput::Ok,
                };
                Outcome::Returned { output, at }
            }
        };
        history.push(Operation {
            client: r.process,
            input,
            call: op.time,
            outcome,
        });
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edn_maps_read_with_commas_strings_and_nil() {
        let v = parse_edn(r#"{:process 0, :type :ok, :f :get, :key "a b", :value "x \"y\""}"#)
            .expect("valid EDN");
        let Value::Map(pairs) = v else {
            panic!("a map")
        };
        assert_eq!(pairs[3].1, Value::Str("a b".into()));
        assert_eq!(pairs[4].1, Value::Str("x \"y\"".into()));
        assert_eq!(
            parse_edn("[3 0]"),
            Ok(Value::Vector(vec![Value::Int(3), Value::Int(0)]))
        );
        assert_eq!(parse_edn("nil"), Ok(Value::Nil));
    }

    #[test]
    fn a_completion_without_a_call_is_an_error_with_its_line() {
        let text = "{:process 0, :type :ok, :f :get, :key \"a\", :value \"\"}\n";
        let err = kv_history(text).expect_err("no call");
        assert_eq!(err.line, 1);
        assert!(err.message.contains("never made"), "{err}");
    }

    #[test]
    fn a_failed_write_is_left_out_and_a_failed_cas_is_kept() {
        let log = "INFO  jepsen.util - 0\t:invoke\t:write\t1\n\
                   INFO  jepsen.util - 0\t:fail\t:write\t1\n\
                   INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]\n\
                   INFO  jepsen.util - 1\t:fail\t:cas\t[1 2]\n";
        let h = register_history(log, true).expect("valid log");
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].output(), Some(&RegisterOutput::Failed));
    }

    #[test]
    fn the_plain_register_refuses_cas_with_a_hint() {
        let log = "INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]\n";
        let err = register_history(log, false).expect_err("no cas");
        assert!(err.message.contains("cas-register"), "{err}");
    }

    #[test]
    fn garbage_is_refused_not_guessed() {
        assert!(read_records("hello\n").is_err());
        assert_eq!(read_records("\n\n").map(|r| r.len()), Ok(0));
    }
}
