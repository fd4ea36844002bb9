//! The per-peer column view of a run's log: one column per peer, the tester's own events
//! spanning the width, a colour per topic, and topic filters.
//!
//! The input is the line format of [`crate::logs`]; the view is a pure function from the log's
//! text to the text to print, so it works the same on a fresh replay, a saved failure bundle or
//! a pipe.
//!
//! - Lines of a peer (`S0`, `S1`, ...) go to that peer's column, wrapped to its width, as
//!   `TOPIC T<term> message`.
//! - Lines without a peer (topic `TEST` from the tester, or anything else that names no peer)
//!   span every column.
//! - Lines that do not parse (a panic, test-framework output) are printed as they are, between
//!   two rules, so they stand out.
//! - Leading lines that start with `#` (the header of a failure bundle) are printed as they are,
//!   before the view.
//!
//! Filters name topics case-insensitively. A filter word also matches a topic it is a prefix of
//! (at least three letters, so `LEAD` matches `LEADER`), and the short topic names of the Go
//! labs' `dslogs` are understood (`TIMR` is `TIMER`, `APND` is `APPEND`). `TEST` lines are kept
//! by `only` filters (they say where the test is), but `hide` can remove them.
//!
//! ```
//! use harness::logview::{render, ViewOptions};
//!
//! let log = "  0.000000 TEST   -   -    begin: initial election\n\
//!            \x20 0.120000 VOTE   S1  T1   asking for votes\n\
//!            \x20 0.121000 VOTE   S0  T1   granted vote to S1\n";
//! let view = render(log, &ViewOptions { width: 60, ..ViewOptions::default() });
//! assert!(view.contains("S0"));
//! assert!(view.contains("begin: initial election"));
//! // S1's line sits in the second column, to the right of S0's.
//! let row = view.lines().find(|l| l.contains("asking for votes")).unwrap();
//! assert!(row.find("VOTE").unwrap() > 20);
//! ```

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::logs::LogLine;

/// The width used when none is given and `COLUMNS` is not set.
pub const DEFAULT_WIDTH: usize = 160;

/// The narrowest view drawn; narrower requests are widened to this.
const MIN_WIDTH: usize = 40;

/// The narrowest a peer's column may be; more columns than fit are drawn this wide anyway.
const MIN_COLUMN: usize = 12;

/// The short topic names of the Go labs' `dslogs`, and the topic each one means here.
const ALIASES: &[(&str, &str)] = &[
    ("TIMR", "TIMER"),
    ("APND", "APPEND"),
    ("LEAD", "LEADER"),
    ("PERS", "PERSIST"),
    ("ERRO", "ERROR"),
    ("CMIT", "APPLY"),
];

/// How to draw the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewOptions {
    /// How many peer columns; `None` for one per peer seen in the log.
    pub columns: Option<usize>,
    /// The total width in characters.
    pub width: usize,
    /// ANSI colours, one per topic.
    pub color: bool,
    /// Show only these topics (empty: every topic).
    pub only: Vec<String>,
    /// Hide these topics.
    pub hide: Vec<String>,
    /// Show each line's run time in a gutter on the left.
    pub show_time: bool,
}

impl Default for ViewOptions {
    fn default() -> Self {
        ViewOptions {
            columns: None,
            width: DEFAULT_WIDTH,
            color: false,
            only: Vec::new(),
            hide: Vec::new(),
            show_time: true,
        }
    }
}

/// Whether the filter `word` names `topic` (see the module docs).
pub fn topic_matches(word: &str, topic: &str) -> bool {
    let word = word.trim().to_ascii_uppercase();
    let topic = topic.to_ascii_uppercase();
    if word.is_empty() {
        return false;
    }
    if word == topic || (word.len() >= 3 && topic.starts_with(&word)) {
        return true;
    }
    ALIASES
        .iter()
        .any(|(short, long)| *short == word && *long == topic)
}

/// Splits a comma-separated list of topics (`"VOTE,LEAD"`) into words.
pub fn parse_topic_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(|w| w.trim().to_ascii_uppercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Whether a line with `topic` is shown under `options`' filters.
fn shown(topic: &str, options: &ViewOptions) -> bool {
    if options.hide.iter().any(|w| topic_matches(w, topic)) {
        return false;
    }
    options.only.is_empty()
        || topic.eq_ignore_ascii_case("TEST")
        || options.only.iter().any(|w| topic_matches(w, topic))
}

/// The ANSI 256-colour number of a topic.
fn topic_colour(topic: &str) -> u8 {
    match topic {
        "TEST" => 15,
        "TIMER" | "TIMR" => 244,
        "VOTE" => 44,
        "LEADER" | "LEAD" => 208,
        "TERM" => 141,
        "APPEND" | "APND" => 33,
        "APPLY" | "CMIT" => 35,
        "PERSIST" | "PERS" => 178,
        "ERROR" | "ERRO" => 196,
        "WARN" => 214,
        "INFO" => 250,
        other => {
            // Any other topic still gets a stable colour of its own.
            const PALETTE: [u8; 8] = [75, 114, 176, 180, 110, 150, 217, 103];
            let h = other.bytes().fold(0usize, |h, b| {
                h.wrapping_mul(31).wrapping_add(usize::from(b))
            });
            PALETTE[h % PALETTE.len()]
        }
    }
}

/// Wraps `text` into pieces of at most `width` characters, breaking at spaces where it can.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut rows = Vec::new();
    let mut row = String::new();
    let mut row_len = 0;
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        // A word longer than a whole row is cut into row-sized pieces.
        while word.len() > width {
            if row_len > 0 {
                rows.push(std::mem::take(&mut row));
                row_len = 0;
            }
            rows.push(word.drain(..width).collect());
        }
        let need = if row_len == 0 {
            word.len()
        } else {
            row_len + 1 + word.len()
        };
        if need > width && row_len > 0 {
            rows.push(std::mem::take(&mut row));
            row_len = 0;
        }
        if row_len > 0 {
            row.push(' ');
            row_len += 1;
        }
        row.extend(word.iter());
        row_len += word.len();
    }
    if row_len > 0 || rows.is_empty() {
        rows.push(row);
    }
    rows
}

/// Accumulates the output.
struct Out<'a> {
    text: String,
    options: &'a ViewOptions,
    gutter: usize,
    column: usize,
    columns: usize,
    in_raw_block: bool,
}

impl Out<'_> {
    fn paint(&self, text: &str, topic: &str, bold: bool) -> String {
        if self.options.color && !text.is_empty() {
            let weight = if bold { "1;" } else { "" };
            format!("\x1b[{weight}38;5;{}m{text}\x1b[0m", topic_colour(topic))
        } else {
            text.to_string()
        }
    }

    fn rule(&mut self) {
        let ch = if self.options.color { '─' } else { '-' };
        let rule = ch.to_string().repeat(self.options.width);
        self.text.push_str(&rule);
        self.text.push('\n');
    }

    fn time(&self, micros: u64) -> String {
        if self.gutter == 0 {
            return String::new();
        }
        let t = format!(
            "{:>4}.{:03}",
            micros / 1_000_000,
            (micros % 1_000_000) / 1000
        );
        format!("{t:>width$} ", width = self.gutter - 1)
    }

    fn end_raw_block(&mut self) {
        if self.in_raw_block {
            self.rule();
            self.in_raw_block = false;
        }
    }

    fn raw(&mut self, line: &str) {
        if !self.in_raw_block {
            self.rule();
            self.in_raw_block = true;
        }
        self.text.push_str(line);
        self.text.push('\n');
    }

    /// A line in one peer's column.
    fn cell(&mut self, micros: u64, col: usize, topic: &str, text: &str) {
        self.end_raw_block();
        let width = self.column.saturating_sub(1).max(1);
        let indent = self.gutter + col * self.column;
        for (k, piece) in wrap(text, width).iter().enumerate() {
            let lead = if k == 0 {
                self.time(micros)
            } else {
                " ".repeat(self.gutter)
            };
            let pad = " ".repeat(indent - lead.chars().count());
            let painted = self.paint(piece, topic, false);
            let _ = writeln!(self.text, "{lead}{pad}{painted}");
        }
    }

    /// A line spanning every column.
    fn span(&mut self, micros: u64, topic: &str, text: &str, bold: bool) {
        self.end_raw_block();
        let width = (self.column * self.columns).saturating_sub(1).max(1);
        for (k, piece) in wrap(text, width).iter().enumerate() {
            let lead = if k == 0 {
                self.time(micros)
            } else {
                " ".repeat(self.gutter)
            };
            let painted = self.paint(piece, topic, bold);
            let _ = writeln!(self.text, "{lead}{painted}");
        }
    }
}

/// Draws `log` (the text of a run's log, or of a failure bundle) as one column per peer.
pub fn render(log: &str, options: &ViewOptions) -> String {
    let mut lines = log.lines().peekable();

    // A bundle's header goes first, as it is.
    let mut header = String::new();
    while let Some(line) = lines.next_if(|l| l.starts_with('#')) {
        header.push_str(line);
        header.push('\n');
    }
    let rest: Vec<(&str, Option<LogLine>)> = lines.map(|l| (l, LogLine::parse(l))).collect();

    let seen_topics: BTreeSet<String> = rest
        .iter()
        .filter_map(|(_, p)| p.as_ref().map(|p| p.topic.clone()))
        .collect();
    let peers_seen = rest
        .iter()
        .filter_map(|(_, p)| p.as_ref().and_then(|p| p.peer))
        .max()
        .map_or(1, |max| max as usize + 1);
    let columns = options.columns.unwrap_or(peers_seen).max(1);
    let width = options.width.max(MIN_WIDTH);
    let gutter = if options.show_time { 10 } else { 0 };
    let column = ((width - gutter) / columns).max(MIN_COLUMN);

    let mut out = Out {
        text: header,
        options,
        gutter,
        column,
        columns,
        in_raw_block: false,
    };

    // Column titles.
    let mut titles = " ".repeat(gutter);
    if gutter > 0 {
        titles.replace_range(
            ..gutter,
            &format!("{:>width$} ", "time", width = gutter - 1),
        );
    }
    for c in 0..columns {
        let _ = write!(titles, "{:<width$}", format!("S{c}"), width = column);
    }
    out.text.push_str(titles.trim_end());
    out.text.push('\n');
    out.rule();

    for (raw, parsed) in &rest {
        let Some(line) = parsed else {
            if !raw.trim().is_empty() {
                out.raw(raw);
            }
            continue;
        };
        if !shown(&line.topic, options) {
            continue;
        }
        let term = line.term.map(|t| format!(" T{t}")).unwrap_or_default();
        match line.peer {
            Some(p) if (p as usize) < columns => {
                let text = format!("{}{term} {}", line.topic, line.message);
                out.cell(line.micros, p as usize, &line.topic, &text);
            }
            Some(p) => {
                // A peer beyond the columns asked for spans the width, named.
                let text = format!("S{p} {}{term} {}", line.topic, line.message);
                out.span(line.micros, &line.topic, &text, false);
            }
            None if line.topic == "TEST" => {
                let text = format!("== {} ==", line.message);
                out.span(line.micros, &line.topic, &text, true);
            }
            None => {
                let text = format!("{}{term} {}", line.topic, line.message);
                out.span(line.micros, &line.topic, &text, false);
            }
        }
    }
    out.end_raw_block();

    // Say so when a filter names no topic of this log: a typo would otherwise hide everything.
    let unmatched: Vec<&String> = options
        .only
        .iter()
        .chain(&options.hide)
        .filter(|w| !seen_topics.iter().any(|t| topic_matches(w, t)))
        .collect();
    if !unmatched.is_empty() && !seen_topics.is_empty() {
        let words: Vec<&str> = unmatched.iter().map(|w| w.as_str()).collect();
        let topics: Vec<&str> = seen_topics.iter().map(String::as_str).collect();
        let _ = writeln!(
            out.text,
            "note: no line of this log has topic {}; its topics are {}",
            words.join(", "),
            topics.join(", ")
        );
    }
    out.text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap("", 4), vec![""]);
    }

    #[test]
    fn filters_understand_prefixes_and_dslogs_names() {
        assert!(topic_matches("lead", "LEADER"));
        assert!(topic_matches("TIMR", "TIMER"));
        assert!(topic_matches("APND", "APPEND"));
        assert!(!topic_matches("AP", "APPEND"));
        assert!(!topic_matches("VOTE", "TERM"));
    }
}
