//! The handout's data: its manifest (`harness/handout/MANIFEST`) and its templates.
//!
//! A template is a file written as it is, but for blocks between marker lines, in whatever
//! comment syntax the file uses (`// @part B`, `# @part B`, `<!-- @part B -->`):
//!
//! - `@part X` ... `@end`: kept only when part `X` is handed out (`@part B,C`: either);
//! - `@if PATH` ... `@end`: kept only when the kit holds `PATH` (a feature that may not have
//!   landed yet);
//!
//! and `{{PARTS}}`, which becomes the parts handed out (`A, B and C`). Marker lines are dropped.

use std::path::Path;

/// A manifest or template that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct TemplateError {
    /// The file.
    pub file: String,
    /// The line (1-based).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// What a manifest line writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The kit's file or folder as it is (`optional`: skipped when the kit lacks it), with a
    /// template appended to a file (`tail`).
    Copy {
        /// Whether the kit may lack it.
        optional: bool,
        /// A template appended to the copied file.
        tail: Option<String>,
    },
    /// A file of the reference `raft/src`, as it is.
    Given,
    /// A template of `harness/handout/`, rendered.
    Skeleton,
    /// A grader test file of the kit, rendered as a template (its `@part` blocks).
    Grader,
    /// A file of the kit rendered as a template (its `@part` blocks), or the template of the
    /// same path under `harness/handout` when there is one; it replaces what an earlier line
    /// wrote at that path.
    Render,
}

/// One line of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What it writes.
    pub kind: Kind,
    /// The part it belongs to, or `None` for every handout.
    pub part: Option<String>,
    /// The path, in the kit and in the handout.
    pub path: String,
    /// Its line in the manifest.
    pub line: usize,
}

/// Reads the manifest's lines (see `harness/handout/MANIFEST` for the format).
pub fn parse_manifest(text: &str, file: &str) -> Result<Vec<Entry>, TemplateError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() || raw.trim_start().starts_with('#') {
            continue;
        }
        let bad = |message: String| TemplateError {
            file: file.to_string(),
            line,
            message,
        };
        let words: Vec<&str> = raw.split_whitespace().collect();
        let (kind, part, path) = match words.as_slice() {
            [kind, part, path] | [kind, part, path, "+", _] => (*kind, *part, *path),
            _ => {
                return Err(bad(format!(
                    "expected `KIND PART PATH [+ TAIL]`, got {:?}",
                    raw.trim()
                )))
            }
        };
        let tail = match words.as_slice() {
            [_, _, _, "+", tail] => Some((*tail).to_string()),
            _ => None,
        };
        let kind = match (kind, &tail) {
            ("copy", _) => Kind::Copy {
                optional: false,
                tail,
            },
            ("copy?", _) => Kind::Copy {
                optional: true,
                tail,
            },
            ("given", None) => Kind::Given,
            ("skeleton", None) => Kind::Skeleton,
            ("grader", None) => Kind::Grader,
            ("render", None) => Kind::Render,
            (other, _) => {
                return Err(bad(format!(
                    "unknown kind {other:?} (or a `+ TAIL` on it): expected copy, copy?, given, skeleton, grader or render"
                )))
            }
        };
        if path.starts_with('/') || path.split('/').any(|c| c == "..") {
            return Err(bad(format!(
                "{path:?} must be a relative path inside the kit"
            )));
        }
        let part = match part {
            "-" => None,
            p => Some(p.to_ascii_uppercase()),
        };
        out.push(Entry {
            kind,
            part,
            path: path.to_string(),
            line,
        });
    }
    Ok(out)
}

/// The directive of a marker line: the line without its comment syntax, when it starts with `@`.
fn directive(line: &str) -> Option<&str> {
    let mut s = line.trim();
    for open in ["<!--", "//", "#"] {
        if let Some(rest) = s.strip_prefix(open) {
            s = rest.trim();
            break;
        }
    }
    let s = s.strip_suffix("-->").unwrap_or(s).trim();
    s.starts_with('@').then_some(s)
}

/// `A`, `A and B`, `A, B and C`.
pub fn list_parts(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Renders `template` (named `file` in errors) for the handed-out `parts`; `kit` answers
/// `@if PATH`.
pub fn render(
    template: &str,
    file: &str,
    parts: &[String],
    kit: &Path,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    // The open block: its line, and whether it is kept.
    let mut open: Option<(usize, bool)> = None;
    for (i, line) in template.lines().enumerate() {
        let bad = |message: String| TemplateError {
            file: file.to_string(),
            line: i + 1,
            message,
        };
        if let Some(d) = directive(line) {
            if let Some(which) = d.strip_prefix("@part ") {
                if let Some((at, _)) = open {
                    return Err(bad(format!(
                        "a block inside the block of line {at}: blocks do not nest"
                    )));
                }
                let keep = which
                    .split(',')
                    .map(|p| p.trim().to_ascii_uppercase())
                    .any(|p| parts.contains(&p));
                open = Some((i + 1, keep));
                continue;
            }
            if let Some(path) = d.strip_prefix("@if ") {
                if let Some((at, _)) = open {
                    return Err(bad(format!(
                        "a block inside the block of line {at}: blocks do not nest"
                    )));
                }
                open = Some((i + 1, kit.join(path.trim()).exists()));
                continue;
            }
            if d == "@end" {
                if open.take().is_none() {
                    return Err(bad("@end without a block".into()));
                }
                continue;
            }
            return Err(bad(format!(
                "unknown directive {d:?}: expected @part X, @if PATH or @end"
            )));
        }
        if !matches!(open, Some((_, false))) {
            out.push_str(&line.replace("{{PARTS}}", &list_parts(parts)));
            out.push('\n');
        }
    }
    if let Some((at, _)) = open {
        return Err(TemplateError {
            file: file.to_string(),
            line: at,
            message: "this block has no @end".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn blocks_follow_the_parts_and_the_kit() {
        let t = "a {{PARTS}}\n// @part B\nb\n// @end\n# @part c, D\ncd\n# @end\n<!-- @if Cargo.toml -->\nkit\n<!-- @end -->\n<!-- @if nowhere/at/all -->\nnot\n<!-- @end -->\nz\n";
        let kit = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(
            render(t, "t", &parts(&["A"]), kit).expect("renders"),
            "a A\nkit\nz\n"
        );
        assert_eq!(
            render(t, "t", &parts(&["A", "B", "C"]), kit).expect("renders"),
            "a A, B and C\nb\ncd\nkit\nz\n"
        );
    }

    #[test]
    fn broken_templates_are_named() {
        let kit = Path::new(".");
        let e = render("x\n// @part B\n", "t.rs", &[], kit).expect_err("no end");
        assert_eq!((e.line, e.message.contains("no @end")), (2, true));
        let e = render("// @end\n", "t.rs", &[], kit).expect_err("stray end");
        assert!(e.to_string().starts_with("t.rs:1:"), "{e}");
        let e = render("// @part A\n// @part B\n", "t.rs", &[], kit).expect_err("nested");
        assert!(e.message.contains("do not nest"), "{e}");
        let e = render("// @whatever\n", "t.rs", &[], kit).expect_err("unknown");
        assert!(e.message.contains("unknown directive"), "{e}");
    }

    #[test]
    fn manifests_parse_and_mistakes_are_named() {
        let m = parse_manifest(
            "# c\ncopy - labrpc\ncopy? - clippy.toml\ncopy - harness/Cargo.toml + tail\ngiven - raft/src/ids.rs\nskeleton b raft/src/applier.rs\ngrader A harness/tests/part_a.rs\n",
            "M",
        )
        .expect("parses");
        assert_eq!(m.len(), 6);
        assert_eq!(
            m[2].kind,
            Kind::Copy {
                optional: false,
                tail: Some("tail".into())
            }
        );
        assert_eq!(m[4].part.as_deref(), Some("B"));
        for bad in ["copy labrpc", "steal - x", "given - ../x", "given - x + y"] {
            let e = parse_manifest(bad, "M").expect_err(bad);
            assert!(e.to_string().starts_with("M:1:"), "{e}");
        }
    }
}
