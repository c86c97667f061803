//! XML 1.0 rules shared by `soap` and `qbxml`: which references a document may hold and what
//! they stand for, and which characters XML allows.
//!
//! Both parsers refuse `<!DOCTYPE`, so no entity can be declared: a reference is one of the five
//! predefined entities or a character reference, and anything else is refused. A character
//! reference must name an XML `Char` (no NUL or other C0 control but tab, LF and CR, no
//! surrogate, nothing past U+10FFFF, not U+FFFE or U+FFFF), with a bounded number of digits.
//! This module knows nothing of SOAP or qbXML, so either can use it without looking at the other.

/// Why a reference was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReferenceError {
    /// `&name;` where `name` is not `lt`, `gt`, `amp`, `apos` or `quot`.
    UnknownEntity,
    /// `&#...;` that is malformed, too long, or does not name an XML character.
    InvalidCharRef,
}

/// Most digits of a hexadecimal character reference (`&#x10FFFF;` needs 6; leading zeros are
/// allowed up to this).
const MAX_HEX_DIGITS: usize = 8;
/// Most digits of a decimal character reference (`&#1114111;` needs 7).
const MAX_DECIMAL_DIGITS: usize = 10;

/// The five entities XML predefines, and the characters they stand for.
const PREDEFINED: [(&[u8], u8); 5] = [(b"lt", b'<'), (b"gt", b'>'), (b"amp", b'&'), (b"quot", b'"'), (b"apos", b'\'')];

/// Resolves the body of a reference, without its `&` and `;`: `lt`, `#233`, `#xE9`.
pub(crate) fn resolve_reference(body: &str) -> Result<char, ReferenceError> {
    if let Some(&(_, byte)) = PREDEFINED.iter().find(|(name, _)| *name == body.as_bytes()) {
        return Ok(char::from(byte));
    }
    let Some(number) = body.strip_prefix('#') else {
        return Err(ReferenceError::UnknownEntity);
    };
    let (digits, radix, max_digits) = match number.strip_prefix('x') {
        Some(hex) => (hex, 16, MAX_HEX_DIGITS),
        None => (number, 10, MAX_DECIMAL_DIGITS),
    };
    // `from_str_radix` alone would also take a sign (`&#+65;`).
    if digits.is_empty() || digits.len() > max_digits || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(ReferenceError::InvalidCharRef);
    }
    u32::from_str_radix(digits, radix)
        .ok()
        .and_then(char::from_u32)
        .filter(|&c| is_xml_char(c))
        .ok_or(ReferenceError::InvalidCharRef)
}

/// A predefined entity reference at the start of `after_amp` (the bytes after a `&`): its
/// character and the length of `name;`. For the streaming unescaper, which meets `&lt;` and
/// `&gt;` around every tag of an escaped document: checking the five names in place first keeps
/// unescaping about twice as fast as finding the `;` and calling [`resolve_reference`]
/// (`cargo bench --bench parse`, "unescaping the response alone": 0.8-1.1 ms against
/// 2.0-2.7 ms for 500 customers). Anything else is left to [`resolve_reference`].
pub(crate) fn predefined_entity_prefix(after_amp: &[u8]) -> Option<(u8, usize)> {
    PREDEFINED.iter().find_map(|&(name, byte)| match after_amp.strip_prefix(name) {
        Some([b';', ..]) => Some((byte, name.len() + 1)),
        _ => None,
    })
}

/// The XML 1.0 `Char` production (Rust's `char` already excludes surrogates).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_five_predefined_entities_resolve() {
        for (body, expected) in [("lt", '<'), ("gt", '>'), ("amp", '&'), ("quot", '"'), ("apos", '\'')] {
            assert_eq!(resolve_reference(body), Ok(expected), "{body}");
        }
    }

    #[test]
    fn predefined_entities_are_found_at_the_start_of_escaped_text() {
        assert_eq!(predefined_entity_prefix(b"lt;a&gt;"), Some((b'<', 3)));
        assert_eq!(predefined_entity_prefix(b"quot;"), Some((b'"', 5)));
        assert_eq!(predefined_entity_prefix(b"apos;x"), Some((b'\'', 5)));
        for other in [&b"lt"[..], b"l;", b"amp", b"ampx;", b"#60;", b"nbsp;", b""] {
            assert_eq!(predefined_entity_prefix(other), None, "{:?}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn decimal_and_hexadecimal_character_references_resolve() {
        for (body, expected) in [
            ("#65", 'A'),
            ("#233", 'é'),
            ("#xE9", 'é'),
            ("#xe9", 'é'),
            ("#x1F600", '\u{1F600}'),
            ("#9", '\t'),
            ("#xA", '\n'),
            ("#13", '\r'),
            ("#x10FFFF", '\u{10FFFF}'),
            ("#1114111", '\u{10FFFF}'),
            ("#x00000041", 'A'),
            ("#0000000065", 'A'),
        ] {
            assert_eq!(resolve_reference(body), Ok(expected), "{body}");
        }
    }

    #[test]
    fn other_entity_names_are_unknown_entities() {
        for body in ["nbsp", "LT", "amp ", "", "x41", "copy"] {
            assert_eq!(resolve_reference(body), Err(ReferenceError::UnknownEntity), "{body:?}");
        }
    }

    #[test]
    fn malformed_out_of_range_and_non_xml_character_references_are_refused() {
        for body in [
            "#",            // empty
            "#x",           // empty
            "#xZZ",         // not hex
            "#X41",         // XML writes the x in lower case
            "#+65",         // a sign
            "#-1",          // a sign
            "# 65",         // a space
            "#6 5",         // a space
            "#0",           // NUL
            "#1",           // a C0 control
            "#x1F",         // a C0 control
            "#xD800",       // a surrogate
            "#57343",       // a surrogate (U+DFFF)
            "#xFFFE",       // not a Char
            "#65535",       // not a Char (U+FFFF)
            "#x110000",     // past Unicode
            "#1114112",     // past Unicode
            "#4294967296",  // past u32
            "#x000000041",  // overlong: nine hex digits
            "#00000000065", // overlong: eleven decimal digits
        ] {
            assert_eq!(resolve_reference(body), Err(ReferenceError::InvalidCharRef), "{body:?}");
        }
    }

    #[test]
    fn xml_chars_are_the_char_production() {
        for c in ['\t', '\n', '\r', ' ', 'a', '\u{D7FF}', '\u{E000}', '\u{FFFD}', '\u{10000}', '\u{10FFFF}'] {
            assert!(is_xml_char(c), "{c:?}");
        }
        for c in ['\0', '\u{1}', '\u{8}', '\u{B}', '\u{C}', '\u{1F}', '\u{FFFE}', '\u{FFFF}'] {
            assert!(!is_xml_char(c), "{c:?}");
        }
    }
}
