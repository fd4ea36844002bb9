//! The page: one HTML file with the timeline's data as JSON, its style and its script inline.
//! Nothing is fetched: it opens from a file on a machine with no network.
//!
//! The data is compact (arrays rather than objects, strings listed once), so a trial with tens
//! of thousands of RPCs stays a few megabytes. The script (`page.js`) draws on a canvas; a
//! first small script (`guard.js`) catches every script error into the page's `#errors`
//! element, and after drawing the page writes what it drew into `#selfcheck` (the browser test
//! reads both).

use std::collections::BTreeMap;

use serde::Serialize;

use super::history::{Clock, History};
use super::model::*;

const CSS: &str = include_str!("page.css");
const GUARD_JS: &str = include_str!("guard.js");
const PAGE_JS: &str = include_str!("page.js");

/// The version of the page's data format.
pub const FORMAT: u32 = 1;

/// Escapes text for HTML: the same escaping as the JUnit report's
/// ([`xml_escape`](crate::escape::xml_escape)), which HTML5 reads as well, control
/// characters such as ANSI colour codes dropped.
pub fn escape(text: &str) -> String {
    crate::escape::xml_escape(text)
}

/// JSON safe inside a `<script>` element: no `<`, `>` or `&` can end it early.
fn script_json(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Strings listed once, referred to by position.
#[derive(Default)]
struct Table {
    names: Vec<String>,
    index: BTreeMap<String, usize>,
}

impl Table {
    fn id(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), self.names.len() - 1);
        self.names.len() - 1
    }
}

#[derive(Serialize)]
struct Meta<'a> {
    format: u32,
    grader: &'a str,
    title: &'a str,
    seed: u64,
    executor: &'a str,
    replay: &'a str,
    end: u64,
    peers: usize,
    roles: &'a str,
    harness: &'a str,
}

#[derive(Serialize)]
struct ClusterJson {
    at: u64,
    peers: usize,
}

#[derive(Serialize)]
struct FailureJson<'a> {
    at: u64,
    message: &'a str,
    source: &'a str,
    peers: Vec<usize>,
    terms: Vec<u64>,
    spans: &'a [usize],
    events: &'a [usize],
    /// `[at, [peers], text]`.
    evidence: Vec<(u64, Vec<usize>, &'a str)>,
    /// Positions in the page's `rpcs`.
    rpcs: Vec<usize>,
}

#[derive(Serialize)]
struct PageData<'a> {
    meta: Meta<'a>,
    clusters: Vec<ClusterJson>,
    /// `[peer, from, to, term, role, guessed (0/1)]`; role 0 follower, 1 candidate, 2 leader,
    /// 3 down.
    spans: Vec<(usize, u64, u64, u64, u8, u8)>,
    /// `[peer, from, to]`.
    cuts: Vec<(usize, u64, u64)>,
    /// `[at, peer, term, leader (0/1)]`.
    samples: Vec<(u64, usize, u64, u8)>,
    /// `[at, peer, index]`.
    applies: Vec<(u64, usize, u64)>,
    topics: Vec<String>,
    kinds: Vec<String>,
    /// `[at, peer (-1 for the tester), topic, kind]`, with `lines` alongside.
    events: Vec<(u64, i64, usize, usize)>,
    lines: Vec<&'a str>,
    methods: Vec<String>,
    outcomes: Vec<String>,
    /// Per outcome: whether the RPC was lost (its arrow ends in a cross).
    #[serde(rename = "outcomeLost")]
    outcome_lost: Vec<bool>,
    /// `[from, to, method, sent, delivered (-1: never), done, outcome]`, by send time.
    rpcs: Vec<(usize, usize, usize, u64, i64, u64, usize)>,
    /// A summary per RPC, alongside `rpcs`; empty when no RPC has one.
    #[serde(rename = "rpcDetails")]
    rpc_details: Vec<&'a str>,
    failure: Option<FailureJson<'a>>,
    notes: &'a [String],
    history: Option<HistoryJson<'a>>,
}

/// A checked history, times in the page's microseconds.
#[derive(Serialize)]
struct HistoryJson<'a> {
    /// `run` (run time) or `order` (event `k` at `k` ms; the axis counts events).
    axis: &'static str,
    verdict: String,
    explanation: &'a str,
    /// State descriptions, listed once.
    states: Vec<String>,
    parts: Vec<HistoryPartJson<'a>>,
}

#[derive(Serialize)]
struct HistoryPartJson<'a> {
    key: &'a str,
    /// `null`: not checked (the check stopped at a violation in another key).
    verdict: Option<String>,
    /// `[client, call, return (-1: unknown outcome), index in the history]`.
    ops: Vec<(usize, f64, f64, usize)>,
    /// The operations' descriptions, alongside `ops`.
    descs: Vec<&'a str>,
    /// The linearization (or longest linearizable prefix), in order: `[op (position in
    /// ops), point, state before, state after (positions in states)]`.
    lin: Vec<(usize, f64, usize, usize)>,
    stuck: Option<StuckJson<'a>>,
}

#[derive(Serialize)]
struct StuckJson<'a> {
    /// Position in the partition's `ops`.
    op: usize,
    deadline: f64,
    state: &'a str,
    /// Positions in `ops`.
    candidates: Vec<usize>,
}

fn history_json(h: &History) -> HistoryJson<'_> {
    let mut states = Table::default();
    let verdict = |v: linearizability::Verdict| v.to_string();
    let parts = h
        .partitions
        .iter()
        .map(|p| {
            let position: BTreeMap<usize, usize> = p
                .operations
                .iter()
                .enumerate()
                .map(|(i, op)| (op.index, i))
                .collect();
            let pos = |index: usize| position.get(&index).copied().unwrap_or(usize::MAX);
            HistoryPartJson {
                key: &p.key,
                verdict: p.verdict.map(verdict),
                ops: p
                    .operations
                    .iter()
                    .map(|op| {
                        (
                            op.client,
                            h.page_micros(op.call),
                            op.ret.map_or(-1.0, |r| h.page_micros(r)),
                            op.index,
                        )
                    })
                    .collect(),
                descs: p
                    .operations
                    .iter()
                    .map(|op| op.description.as_str())
                    .collect(),
                lin: p
                    .linearization
                    .iter()
                    .filter(|l| position.contains_key(&l.index))
                    .map(|l| {
                        (
                            pos(l.index),
                            h.page_micros(l.at),
                            states.id(&l.state_before),
                            states.id(&l.state_after),
                        )
                    })
                    .collect(),
                stuck: p
                    .stuck
                    .as_ref()
                    .filter(|s| position.contains_key(&s.index))
                    .map(|s| StuckJson {
                        op: pos(s.index),
                        deadline: h.page_micros(s.deadline),
                        state: &s.state,
                        candidates: s
                            .candidates
                            .iter()
                            .filter(|&&c| position.contains_key(&c))
                            .map(|&c| pos(c))
                            .collect(),
                    }),
            }
        })
        .collect();
    HistoryJson {
        axis: match h.clock {
            Clock::RunNanos => "run",
            Clock::Order => "order",
        },
        verdict: h.verdict.to_string(),
        explanation: &h.explanation,
        states: states.names,
        parts,
    }
}

fn role_code(state: PeerState) -> (u64, u8) {
    match state {
        PeerState::Up { term, role } => (
            term,
            match role {
                Role::Follower => 0,
                Role::Candidate => 1,
                Role::Leader => 2,
            },
        ),
        PeerState::Down => (0, 3),
    }
}

/// The page's data as JSON (the `#timeline-data` element's text, before escaping).
pub fn data_json(t: &Timeline) -> String {
    let mut topics = Table::default();
    let mut kinds = Table::default();
    let mut methods = Table::default();
    let mut outcomes = Table::default();
    let mut outcome_lost = Vec::new();
    let events = t
        .events
        .iter()
        .map(|e| {
            (
                e.at,
                e.peer.map_or(-1, |p| p as i64),
                topics.id(&e.topic),
                kinds.id(e.kind.as_str()),
            )
        })
        .collect();
    let mut positions: Vec<usize> = (0..t.rpcs.len()).collect();
    positions.sort_by_key(|&i| t.rpcs[i].sent);
    let order: Vec<&RpcRecord> = positions.iter().map(|&i| &t.rpcs[i]).collect();
    // Where each RPC of the timeline lands in the page's list.
    let mut page_position = vec![0; t.rpcs.len()];
    for (new, &old) in positions.iter().enumerate() {
        page_position[old] = new;
    }
    let rpcs = order
        .iter()
        .map(|r| {
            (
                r.from,
                r.to,
                methods.id(&r.method),
                r.sent,
                r.delivered.map_or(-1, |d| d as i64),
                r.done,
                {
                    let id = outcomes.id(r.outcome.as_str());
                    if id == outcome_lost.len() {
                        outcome_lost.push(r.outcome.is_lost());
                    }
                    id
                },
            )
        })
        .collect();
    let rpc_details = if order.iter().any(|r| !r.detail.is_empty()) {
        order.iter().map(|r| r.detail.as_str()).collect()
    } else {
        Vec::new()
    };
    let data = PageData {
        meta: Meta {
            format: FORMAT,
            grader: &t.grader,
            title: &t.title,
            seed: t.seed,
            executor: &t.executor,
            replay: &t.replay,
            end: t.end,
            peers: t.peers,
            roles: match t.roles {
                RoleSource::Log => "log",
                RoleSource::Inferred => "inferred",
                RoleSource::Sampled => "sampled",
            },
            harness: env!("CARGO_PKG_VERSION"),
        },
        clusters: t
            .clusters
            .iter()
            .map(|c| ClusterJson {
                at: c.at,
                peers: c.peers,
            })
            .collect(),
        spans: t
            .spans
            .iter()
            .map(|s| {
                let (term, role) = role_code(s.state);
                (s.peer, s.from, s.to, term, role, u8::from(s.guessed))
            })
            .collect(),
        cuts: t.cuts.iter().map(|c| (c.peer, c.from, c.to)).collect(),
        samples: t
            .samples
            .iter()
            .map(|s| (s.at, s.peer, s.term, u8::from(s.leader)))
            .collect(),
        applies: t.applies.iter().map(|a| (a.at, a.peer, a.index)).collect(),
        events,
        lines: t.events.iter().map(|e| e.line.as_str()).collect(),
        topics: topics.names,
        kinds: kinds.names,
        methods: methods.names,
        outcomes: outcomes.names,
        outcome_lost,
        rpcs,
        rpc_details,
        failure: t.failure.as_ref().map(|f| FailureJson {
            at: f.at,
            message: &f.message,
            source: f.source.as_str(),
            peers: f.peers.iter().copied().collect(),
            terms: f.terms.iter().copied().collect(),
            spans: &f.spans,
            events: &f.events,
            evidence: f
                .evidence
                .iter()
                .map(|e| (e.at, e.peers.clone(), e.text.as_str()))
                .collect(),
            rpcs: f.rpcs.iter().map(|&i| page_position[i]).collect(),
        }),
        notes: &t.notes,
        history: t.history.as_ref().map(history_json),
    };
    serde_json::to_string(&data).unwrap_or_else(|e| {
        // Only a non-string map key can fail, and the data has none; say so on the page.
        format!(
            "{{\"error\": {}}}",
            serde_json::Value::String(e.to_string())
        )
    })
}

/// The header's lines about a checked history: its verdict and, unless it is linearizable,
/// the checker's explanation.
fn history_header(h: &History) -> String {
    let class = match h.verdict {
        linearizability::Verdict::Linearizable => "passed",
        linearizability::Verdict::NotLinearizable => "failed",
        linearizability::Verdict::Unknown => "unknown",
    };
    let clients = h.clients().len();
    let keys = h.partitions.len();
    let summary = format!(
        "{} operations by {clients} client{} on {keys} key{}{}",
        h.operations(),
        if clients == 1 { "" } else { "s" },
        if keys == 1 { "" } else { "s" },
        match h.clock {
            Clock::RunNanos => "; times in nanoseconds of run time",
            Clock::Order => "; times are positions in the file's sequence of calls and returns",
        }
    );
    let explanation = if h.verdict == linearizability::Verdict::Linearizable {
        String::new()
    } else {
        format!(
            "<pre class=\"explanation\">{}</pre>",
            escape(&h.explanation)
        )
    };
    format!(
        "<div class=\"result history {class}\" id=\"history-verdict\">history of client calls: {} <span class=\"message\">({})</span></div>{explanation}",
        escape(&h.verdict.to_string()).to_uppercase(),
        escape(&summary),
    )
}

/// The whole page.
pub fn render(t: &Timeline) -> String {
    let json = script_json(&data_json(t));
    let result = match (&t.failure, t.is_history_only()) {
        (Some(f), _) => format!(
            "<div class=\"result failed\">FAILED at {:.6}s ({}): <span class=\"message\">{}</span></div>",
            f.at as f64 / 1e6,
            escape(f.source.as_str()),
            escape(&f.message)
        ),
        (None, true) => String::new(),
        (None, false) => "<div class=\"result passed\">PASSED</div>".to_string(),
    };
    let result = match &t.history {
        Some(h) => result + &history_header(h),
        None => result,
    };
    let notes = if t.notes.is_empty() {
        String::new()
    } else {
        let items: Vec<String> = t
            .notes
            .iter()
            .map(|n| format!("<li>{}</li>", escape(n)))
            .collect();
        format!("<ul class=\"notes\">{}</ul>", items.join(""))
    };
    let (page_title, meta_line) = if t.is_history_only() {
        let verdict = t
            .history
            .as_ref()
            .map_or(String::new(), |h| h.verdict.to_string());
        (
            format!("{}: {verdict}", t.title),
            "<div class=\"meta\">a checked history of client calls, drawn on its own: one row per client and key, each operation a bar from its call to its return</div>".to_string(),
        )
    } else {
        (
            format!(
                "{} seed {}: {}",
                t.grader,
                t.seed,
                if t.failure.is_some() { "failed" } else { "passed" }
            ),
            format!(
                "<div class=\"meta\">grader <code>{grader}</code> · seed <code>{seed}</code> · {executor} mode · {peers} peers · {events} log lines · {rpc_count} RPCs · run time {end:.3}s · replay: <code>{replay}</code></div>",
                grader = escape(&t.grader),
                seed = t.seed,
                executor = escape(&t.executor),
                peers = t.peers,
                events = t.events.len(),
                rpc_count = t.rpcs.len(),
                end = t.end as f64 / 1e6,
                replay = escape(&t.replay),
            ),
        )
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="harness {version}">
<title>{page_title}</title>
<style>
{CSS}</style>
</head>
<body>
<pre id="errors" data-count="0" hidden></pre>
<script>
{GUARD_JS}</script>
<header>
<h1>{title}</h1>
{meta_line}
{result}
{notes}
</header>
<div id="controls">
<div class="group"><button id="fit" title="the whole run (0)">whole run</button><button id="to-failure" title="zoom to the failure (f)">failure</button><button id="zoom-in" title="zoom in (+)">+</button><button id="zoom-out" title="zoom out (-)">−</button></div>
<div class="group" id="methods"><span class="label">RPCs:</span></div>
<div class="legend"><span><span class="swatch" style="background:#c9dcf2"></span> follower</span><span><span class="swatch" style="background:#f6c35f"></span> candidate</span><span><span class="swatch" style="background:#4fae5a"></span> leader</span><span><span class="swatch" style="background:#3a3f4b"></span> down</span><span><span class="swatch" style="background:repeating-linear-gradient(45deg,#d1242f 0 2px,transparent 2px 4px)"></span> disconnected</span><span>◇ get_state (◆ leader)</span><span style="color:#0b8f8f">▁▂ apply index</span><span style="color:#d1242f">— slow (&gt;100 ms)</span><span>✕ lost</span></div>
<div id="hidden-peers"></div>
<div class="group" id="history-controls" hidden><span class="label">history, key:</span><select id="history-key"></select><button id="to-stuck" title="zoom to the operation that could not be placed (s)">unplaceable op</button><span class="legend"><span><span class="swatch" style="background:#cfe8d4;border:1px solid #3d8f4a"></span> took effect (●: when)</span><span><span class="swatch" style="background:#e4e7ee;border:1px solid #9aa4b5"></span> after the prefix</span><span><span class="swatch" style="background:#f8d0d3;border:2px solid #d1242f"></span> could not be placed</span><span><span class="swatch" style="border:1px dashed #d4760a"></span> could not go first either</span><span>┄ outcome unknown</span></span></div>
</div>
<div id="status">drawing…</div>
<div id="view"><canvas id="canvas"></canvas><div id="failure-marker" hidden><span>failure</span></div></div>
<div id="tooltip" hidden></div>
<pre id="selfcheck"></pre>
<pre id="selftest"></pre>
<script type="application/json" id="timeline-data">{json}</script>
<script>
{PAGE_JS}</script>
</body>
</html>
"#,
        version = env!("CARGO_PKG_VERSION"),
        page_title = escape(&page_title),
        title = escape(&t.title),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_close_its_script_element() {
        let json = script_json(r#"{"line":"</script><script>alert(1)</script> & <!--"}"#);
        assert!(!json.contains('<'));
        assert!(!json.contains('>'));
        let back: serde_json::Value = serde_json::from_str(&json).expect("still JSON");
        assert_eq!(back["line"], "</script><script>alert(1)</script> & <!--");
    }

    #[test]
    fn a_history_alone_says_so_and_a_trial_with_one_keeps_its_grader_line() {
        use linearizability::models::{KvInput, KvModel, KvOutput};
        use linearizability::{Checker, Operation};

        let ops = vec![
            Operation::new(0, KvInput::put("k", "<a>"), 0, KvOutput::default(), 10),
            Operation::new(1, KvInput::get("k"), 20, KvOutput::value(""), 30),
        ];
        let result = Checker::new(&KvModel).check(&ops).expect("well formed");
        let history = History::from_check(&result, Clock::RunNanos);
        let mut t = Timeline::of_history("two calls", history);
        let page = render(&t);
        assert!(page.contains("a checked history of client calls, drawn on its own"));
        assert!(page.contains("history of client calls: NOT LINEARIZABLE"));
        assert!(!page.contains("PASSED") && !page.contains("grader <code>"));
        assert!(
            !page.contains("put('k', '<a>')"),
            "descriptions are escaped"
        );
        // A trial without Raft lanes (a service on its own) keeps its grader, seed and replay.
        t.grader = "kv_basic".into();
        let page = render(&t);
        assert!(page.contains("grader <code>kv_basic</code>"));
        assert!(page.contains("PASSED"));
    }

    #[test]
    fn html_escapes_markup() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
