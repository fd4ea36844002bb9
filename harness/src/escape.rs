//! Escaping text for the XML and HTML the harness writes (the JUnit report, the timeline page).

/// Escapes text for XML content and attribute values, dropping the characters XML 1.0 cannot
/// hold at all (control characters such as ANSI escapes).
///
/// ```
/// use harness::escape::xml_escape;
///
/// assert_eq!(xml_escape("a<b & \"c\" 'd'>\u{1b}[0m"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;[0m");
/// ```
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}
