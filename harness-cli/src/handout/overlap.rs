//! The check that a handout holds no solution: no run of code from a non-trivial function body
//! of the reference `raft` appears in the skeleton.
//!
//! Both sides are read as Rust tokens (comments and layout ignored, string literals whole). Each
//! function body of the reference of at least [`WINDOW`] tokens is cut into every run of
//! [`WINDOW`] consecutive tokens; the skeleton must contain none of them. A shorter body (a
//! getter, a one-line constructor) is plumbing that the skeleton may well share. This catches
//! reference code pasted into a template, in part or whole; it does not catch a solution
//! retyped with other names, which a person reviewing the templates would.

use std::collections::HashMap;

/// Tokens in a run: long enough that a shared run is no accident (the given plumbing, such as
/// the service registration, shares runs of about a dozen), short enough to catch a pasted
/// statement or two.
pub const WINDOW: usize = 30;

/// Rust source as tokens: identifiers, numbers, literals and single punctuation characters,
/// without comments or whitespace.
pub fn tokens(source: &str) -> Vec<String> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let n = chars.len();
    while i < n {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < n && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < n {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(chars.get(i + 1), Some('"') | Some('#'))
            && raw_string_end(&chars, i + 1).is_some()
        {
            let end = raw_string_end(&chars, i + 1).unwrap_or(n);
            out.push(chars[i..end].iter().collect());
            i = end;
        } else if c == '"' {
            let start = i;
            i += 1;
            while i < n && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(n);
            out.push(chars[start..i].iter().collect());
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
            let close = if chars.get(i + 1) == Some(&'\\') {
                (i + 2..n.min(i + 12)).find(|&j| chars[j] == '\'')
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(j) => {
                    out.push(chars[i..=j].iter().collect());
                    i = j + 1;
                }
                None => {
                    let start = i;
                    i += 1;
                    while i < n && (chars[i].is_alphanumeric() || chars[i] == '_') {
                        i += 1;
                    }
                    out.push(chars[start..i].iter().collect());
                }
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < n && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

/// Where the raw string starting at `at` (`"` or `#`s then `"`) ends, just past its close.
fn raw_string_end(chars: &[char], at: usize) -> Option<usize> {
    let hashes = chars[at..].iter().take_while(|&&c| c == '#').count();
    if chars.get(at + hashes) != Some(&'"') {
        return None;
    }
    let mut i = at + hashes + 1;
    while i < chars.len() {
        if chars[i] == '"'
            && chars[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == '#')
                .count()
                == hashes
        {
            return Some(i + 1 + hashes);
        }
        i += 1;
    }
    None
}

/// The bodies of the functions in `tokens`: each function's name and the tokens between its
/// body's braces.
pub fn function_bodies(tokens: &[String]) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < tokens.len() {
        if tokens[i] != "fn" {
            i += 1;
            continue;
        }
        let name = tokens[i + 1].clone();
        // The body starts at the first `{` outside parentheses and brackets; a `;` first means
        // a declaration without a body.
        let mut depth = 0i32;
        let mut j = i + 2;
        let mut open = None;
        while j < tokens.len() {
            match tokens[j].as_str() {
                "(" | "[" => depth += 1,
                ")" | "]" => depth -= 1,
                "{" if depth == 0 => {
                    open = Some(j);
                    break;
                }
                ";" if depth == 0 => break,
                _ => {}
            }
            j += 1;
        }
        let Some(open) = open else {
            i = j;
            continue;
        };
        let mut braces = 0i32;
        let mut k = open;
        while k < tokens.len() {
            match tokens[k].as_str() {
                "{" => braces += 1,
                "}" => {
                    braces -= 1;
                    if braces == 0 {
                        break;
                    }
                }
                _ => {}
            }
            k += 1;
        }
        out.push((name, tokens[open + 1..k.min(tokens.len())].to_vec()));
        // Nested functions are found too: go on inside the body.
        i = open + 1;
    }
    out
}

/// A run of reference code found in the skeleton.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    /// The reference file and function it comes from, e.g. `election.rs: start_election`.
    pub reference: String,
    /// The skeleton file it was found in.
    pub skeleton: String,
    /// The shared tokens, joined by spaces.
    pub code: String,
}

impl std::fmt::Display for Overlap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} holds code of the reference's {}: {}",
            self.skeleton, self.reference, self.code
        )
    }
}

/// The runs of reference code (`reference`: file name and source) found in the skeleton
/// (`skeleton`: file name and source), at most one per reference function.
pub fn overlaps(reference: &[(String, String)], skeleton: &[(String, String)]) -> Vec<Overlap> {
    let mut windows: HashMap<&[String], &str> = HashMap::new();
    let skeleton_tokens: Vec<(String, Vec<String>)> = skeleton
        .iter()
        .map(|(name, source)| (name.clone(), tokens(source)))
        .collect();
    for (name, toks) in &skeleton_tokens {
        for w in toks.windows(WINDOW) {
            windows.entry(w).or_insert(name.as_str());
        }
    }
    let mut found = Vec::new();
    for (file, source) in reference {
        for (function, body) in function_bodies(&tokens(source)) {
            if let Some((w, skeleton)) = body
                .windows(WINDOW)
                .find_map(|w| windows.get(w).map(|s| (w, *s)))
            {
                found.push(Overlap {
                    reference: format!("{file}: {function}"),
                    skeleton: skeleton.to_string(),
                    code: w.join(" "),
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_skip_comments_and_keep_literals_whole() {
        let t = tokens("fn a<'x>(s: &'x str) -> char { /* no /* nested */ */ let c = '}'; // {\n \"a } b\"; r#\"q\"#; c }");
        assert!(t.contains(&"'x".to_string()));
        assert!(t.contains(&"'}'".to_string()));
        assert!(t.contains(&"\"a } b\"".to_string()));
        assert!(t.contains(&"r#\"q\"#".to_string()));
        assert!(!t.iter().any(|x| x == "nested" || x == "no"));
        let bodies = function_bodies(&t);
        assert_eq!(bodies.len(), 1);
        assert_eq!(bodies[0].0, "a");
        assert_eq!(bodies[0].1.last().map(String::as_str), Some("c"));
    }

    #[test]
    fn pasted_code_is_found_and_plumbing_is_not() {
        let long_body: String = (0..40).map(|i| format!("let v{i} = {i};\n")).collect();
        let reference = vec![(
            "election.rs".to_string(),
            format!("fn start_election() {{\n{long_body}}}\nfn short() -> u8 {{ 1 }}\n"),
        )];
        // Reformatted and commented, it is still the same tokens.
        let pasted: String = long_body
            .lines()
            .skip(5)
            .take(12)
            .map(|l| format!("    {l} // mine\n"))
            .collect();
        let skeleton = vec![(
            "raft/src/election.rs".to_string(),
            format!("fn start_election() {{\n{pasted}}}\nfn short() -> u8 {{ 1 }}\n"),
        )];
        let found = overlaps(&reference, &skeleton);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].reference, "election.rs: start_election");
        assert!(found[0]
            .to_string()
            .contains("raft/src/election.rs holds code"));
        let empty = vec![(
            "raft/src/election.rs".to_string(),
            "fn start_election() {}\nfn short() -> u8 { 1 }\n".to_string(),
        )];
        assert!(overlaps(&reference, &empty).is_empty());
    }
}
