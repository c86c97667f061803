//! Escaping of text and attribute values written into outbound qbXML requests.
//!
//! Only ASCII goes over the wire: markup characters become entity references, every non-ASCII
//! character becomes a decimal character reference (`&#233;`), and control characters, which
//! XML (or QuickBooks) cannot carry, are dropped.

use std::fmt::Write;

/// Where an escaped value goes; attribute values need quotes and whitespace protected too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Context {
    /// Element content.
    Text,
    /// A double-quoted attribute value.
    Attribute,
}

/// True for characters stripped from outbound text: C0 controls other than tab, LF and CR,
/// DEL, the C1 controls, and the two non-characters U+FFFE and U+FFFF.
fn is_stripped(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
        || ('\u{7F}'..='\u{9F}').contains(&c)
        || c == '\u{FFFE}'
        || c == '\u{FFFF}'
}

/// Appends `value` to `out`, escaped for `context`.
pub(crate) fn push_escaped(out: &mut String, value: &str, context: Context) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if context == Context::Attribute => out.push_str("&quot;"),
            '\'' if context == Context::Attribute => out.push_str("&apos;"),
            // Attribute-value normalization would turn these into spaces, and a bare CR in
            // text would be folded into LF: keep them as character references.
            '\t' | '\n' if context == Context::Attribute => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            '\r' => out.push_str("&#13;"),
            c if is_stripped(c) => {}
            c if c.is_ascii() => out.push(c),
            c => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
        }
    }
}

/// `value` escaped for `context`, as a new string.
pub(crate) fn escaped(value: &str, context: Context) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    push_escaped(&mut out, value, context);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(escaped("a&b<c>d\"e'f", Context::Text), "a&amp;b&lt;c&gt;d\"e'f");
        assert_eq!(escaped("a&b<c>d\"e'f", Context::Attribute), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
    }

    #[test]
    fn non_ascii_becomes_numeric_references() {
        assert_eq!(escaped("Jean-Sébastien ☃ 😀", Context::Text), "Jean-S&#233;bastien &#9731; &#128512;");
    }

    #[test]
    fn control_characters_are_stripped_and_whitespace_kept() {
        assert_eq!(escaped("a\u{0}b\u{1b}c\u{7f}d\u{85}e\u{FFFF}", Context::Text), "abcde");
        assert_eq!(escaped("l1\nl2\tx\r\n", Context::Text), "l1\nl2\tx&#13;\n");
        assert_eq!(escaped("l1\nl2\tx\r", Context::Attribute), "l1&#10;l2&#9;x&#13;");
    }

    #[test]
    fn output_is_ascii() {
        let out = escaped("ÀÉÎõü — “quotes” ß", Context::Attribute);
        assert!(out.is_ascii(), "{out}");
    }
}
