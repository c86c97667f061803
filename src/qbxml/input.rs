//! A hardened pull reader over quick-xml, shared by the response and HCP parsers.
//!
//! It turns quick-xml's token stream into element starts and ends and enforces the safety rules
//! every inbound qbXML document must follow: no `<!DOCTYPE` (so no entity declarations), nesting
//! at most [`MAX_DEPTH`] levels, only the five predefined entities plus character references,
//! valid UTF-8, one root element, nothing but whitespace, comments and processing instructions
//! outside it, and a complete document. Each token (tag, text run, comment) is limited to
//! [`MAX_TOKEN_BYTES`], so memory stays flat whatever the input size.
//!
//! Text is only kept when the caller asks for it with [`XmlInput::capture_text`]; the text of
//! every other element is checked and dropped token by token, so values the caller does not want
//! (SSN, bank data...) never leave quick-xml's scratch buffer.

use std::io::{self, BufRead, Read};

use quick_xml::events::{BytesStart, Event};

use super::error::ParseError;

/// Deepest element nesting accepted (the root element is level 1).
pub(crate) const MAX_DEPTH: usize = 64;
/// Longest text value kept for one field, in bytes, after trimming surrounding whitespace.
pub(crate) const MAX_TEXT_BYTES: usize = 8 * 1024;
/// Largest single token (tag with its attributes, text run, comment) read from the input.
pub(crate) const MAX_TOKEN_BYTES: u64 = 1024 * 1024;
/// Captured text may hold this much trailing whitespace beyond `MAX_TEXT_BYTES` before the
/// value is judged too long (pretty-printed documents end values with a newline and indent).
const CAPTURE_SLACK_BYTES: usize = 1024;

/// One structural step through the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    /// An element opened (a self-closing element gives `Start` then `End`).
    Start(String),
    /// An element closed.
    End(String),
    /// The document ended, complete and well-formed.
    Eof,
}

/// Text gathered for one element by [`XmlInput::capture_text`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CapturedText {
    /// The text with leading whitespace removed (trailing whitespace still present).
    pub(crate) text: String,
    /// True when non-whitespace text was dropped because the value was too long.
    pub(crate) overflowed: bool,
}

impl CapturedText {
    /// The value with surrounding XML whitespace removed; `Err(())` when longer than the limit.
    /// Control characters that XML 1.0 does not allow are removed. Whitespace-only gives `None`.
    pub(crate) fn into_value(self) -> Result<Option<String>, TooLong> {
        let trimmed = self.text.trim_matches(is_xml_whitespace);
        if self.overflowed || trimmed.len() > MAX_TEXT_BYTES {
            return Err(TooLong);
        }
        if trimmed.is_empty() {
            return Ok(None);
        }
        // Almost every value is clean: then the captured string is reused as it is.
        if !trimmed.chars().any(is_forbidden_control) {
            let start = self.text.len() - self.text.trim_start_matches(is_xml_whitespace).len();
            let end = self.text.trim_end_matches(is_xml_whitespace).len();
            let mut text = self.text;
            text.truncate(end);
            text.drain(..start);
            return Ok(Some(text));
        }
        let cleaned: String = trimmed
            .chars()
            .filter(|c| !is_forbidden_control(*c))
            .collect();
        Ok(Some(cleaned))
    }
}

/// Marker: a captured value was longer than [`MAX_TEXT_BYTES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TooLong;

pub(crate) fn is_xml_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Characters below U+0020 other than tab, LF and CR are not allowed in XML 1.0 documents.
fn is_forbidden_control(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}'
}

/// A `BufRead` adapter that counts the bytes consumed since the last reset and refuses to hand
/// out more once a single token has grown past `MAX_TOKEN_BYTES`.
struct TokenLimit<R> {
    inner: R,
    used: u64,
    exceeded: bool,
}

impl<R: BufRead> Read for TokenLimit<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for TokenLimit<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.used > MAX_TOKEN_BYTES {
            self.exceeded = true;
            return Err(io::Error::other("token too large"));
        }
        // Never hand out more than the rest of the allowance plus one byte, so the limit holds
        // even when the inner reader has the whole document buffered.
        let allowance = usize::try_from(MAX_TOKEN_BYTES + 1 - self.used).unwrap_or(usize::MAX);
        let available = self.inner.fill_buf()?;
        Ok(&available[..available.len().min(allowance)])
    }

    fn consume(&mut self, amount: usize) {
        self.used += amount as u64;
        self.inner.consume(amount);
    }
}

/// The hardened pull reader. See the module documentation for the rules it enforces.
pub(crate) struct XmlInput<R: BufRead> {
    reader: quick_xml::Reader<TokenLimit<R>>,
    buf: Vec<u8>,
    /// Names of the open elements, innermost last (at most `MAX_DEPTH` entries).
    open: Vec<String>,
    /// The last `Start` was a self-closing element: its `End` is reported before reading further.
    pending_end: bool,
    root_seen: bool,
    root_closed: bool,
    /// Attributes of the last `Start` are decoded and kept when it opened at this depth.
    attrs_depth: Option<usize>,
    attrs: Vec<(String, String)>,
    capturing: bool,
    captured: CapturedText,
    /// Scratch space for decoding attribute values that are checked and then dropped.
    scratch: String,
    /// Set after the first error; every later call repeats it.
    failed: Option<ParseError>,
}

impl<R: BufRead> XmlInput<R> {
    /// Wraps `input`. `attrs_depth` selects the depth (root = 1) whose attributes are kept.
    pub(crate) fn new(input: R, attrs_depth: Option<usize>) -> Self {
        let mut reader = quick_xml::Reader::from_reader(TokenLimit {
            inner: input,
            used: 0,
            exceeded: false,
        });
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.expand_empty_elements = false;
        config.allow_dangling_amp = false;
        config.allow_unmatched_ends = false;
        config.trim_text(false);
        Self {
            reader,
            buf: Vec::with_capacity(4096),
            open: Vec::new(),
            pending_end: false,
            root_seen: false,
            root_closed: false,
            attrs_depth,
            attrs: Vec::new(),
            capturing: false,
            captured: CapturedText::default(),
            scratch: String::new(),
            failed: None,
        }
    }

    /// Current nesting depth: 0 outside the root, 1 inside the root element, and so on.
    pub(crate) fn depth(&self) -> usize {
        self.open.len()
    }

    /// The attributes of the last `Start`, if it opened at the depth chosen in [`Self::new`].
    pub(crate) fn attrs(&self) -> &[(String, String)] {
        &self.attrs
    }

    /// Start keeping the text of the element that was just opened, until its next child or end.
    pub(crate) fn capture_text(&mut self) {
        self.capturing = true;
        self.captured = CapturedText::default();
    }

    /// The text gathered since [`Self::capture_text`].
    pub(crate) fn take_text(&mut self) -> CapturedText {
        self.capturing = false;
        std::mem::take(&mut self.captured)
    }

    /// Reads past the rest of the element that was just opened (its children included).
    pub(crate) fn skip_element(&mut self) -> Result<(), ParseError> {
        let target = self.depth().saturating_sub(1);
        loop {
            match self.next()? {
                Node::End(_) if self.depth() == target => return Ok(()),
                Node::Eof => {
                    return Err(ParseError::Structure("unexpected end of document".into()));
                }
                _ => {}
            }
        }
    }

    /// The next element start or end, or `Eof` once the complete document has been read.
    pub(crate) fn next(&mut self) -> Result<Node, ParseError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let result = self.next_inner();
        if let Err(error) = &result {
            self.failed = Some(error.clone());
        }
        result
    }

    fn next_inner(&mut self) -> Result<Node, ParseError> {
        if std::mem::take(&mut self.pending_end) {
            return Ok(self.close());
        }
        // The event borrows the buffer, so it is moved out of `self` while a token is handled.
        let mut buf = std::mem::take(&mut self.buf);
        let result = loop {
            buf.clear();
            match self.step(&mut buf) {
                Ok(None) => continue,
                Ok(Some(node)) => break Ok(node),
                Err(error) => break Err(error),
            }
        };
        self.buf = buf;
        result
    }

    /// Reads one token; `Ok(None)` when it produced no element start or end.
    fn step(&mut self, buf: &mut Vec<u8>) -> Result<Option<Node>, ParseError> {
        self.reader.get_mut().used = 0;
        let event = match self.reader.read_event_into(buf) {
            Ok(event) => event,
            Err(error) => {
                let position = self.reader.error_position();
                let exceeded = self.reader.get_ref().exceeded;
                return Err(map_xml_error(error, position, exceeded));
            }
        };
        match event {
            Event::Start(start) => {
                let name = self.open_element(&start)?;
                Ok(Some(Node::Start(name)))
            }
            Event::Empty(start) => {
                let name = self.open_element(&start)?;
                self.pending_end = true;
                Ok(Some(Node::Start(name)))
            }
            // quick-xml has already checked that the name matches the open element.
            Event::End(_) => Ok(Some(self.close())),
            Event::Text(text) => {
                let content = text.xml10_content();
                if self.open.is_empty() {
                    if !content.chars().all(is_xml_whitespace) {
                        return Err(self.structure("text outside the root element"));
                    }
                } else if self.capturing {
                    push_captured(&mut self.captured, &content);
                }
                Ok(None)
            }
            Event::CData(cdata) => {
                if self.open.is_empty() {
                    return Err(self.structure("CDATA outside the root element"));
                }
                if self.capturing {
                    let content = cdata.xml10_content();
                    push_captured(&mut self.captured, &content);
                }
                Ok(None)
            }
            Event::GeneralRef(reference) => {
                if self.open.is_empty() {
                    return Err(self.structure("entity reference outside the root element"));
                }
                let mut utf8 = [0u8; 4];
                let resolved = resolve_reference(&reference, &mut utf8)?;
                if self.capturing {
                    push_captured(&mut self.captured, resolved);
                }
                Ok(None)
            }
            Event::DocType(_) => Err(ParseError::Doctype),
            Event::Decl(_) => {
                if self.root_seen {
                    return Err(self.structure("XML declaration after the root element"));
                }
                Ok(None)
            }
            Event::Comment(_) | Event::PI(_) => Ok(None),
            Event::Eof => {
                if let Some(open) = self.open.last() {
                    return Err(ParseError::Truncated {
                        open_element: open.clone(),
                    });
                }
                if !self.root_seen {
                    return Err(self.structure("the document has no root element"));
                }
                Ok(Some(Node::Eof))
            }
        }
    }

    fn open_element(&mut self, start: &BytesStart<'_>) -> Result<String, ParseError> {
        if self.open.is_empty() {
            if self.root_closed {
                return Err(self.structure("more than one root element"));
            }
            self.root_seen = true;
        }
        if self.open.len() >= MAX_DEPTH {
            return Err(ParseError::TooDeep { limit: MAX_DEPTH });
        }
        let name = start.name().as_ref().to_owned();
        let keep = self.attrs_depth == Some(self.open.len() + 1);
        self.attrs.clear();
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|error| ParseError::Xml {
                position: self.reader.buffer_position(),
                message: format!("bad attribute in <{name}>: {error}"),
            })?;
            self.scratch.clear();
            decode_attribute(
                &attribute.value,
                &mut self.scratch,
                self.reader.buffer_position(),
            )?;
            if keep {
                self.attrs
                    .push((attribute.key.as_ref().to_owned(), self.scratch.clone()));
            }
        }
        self.capturing = false;
        self.open.push(name.clone());
        Ok(name)
    }

    /// Closes the innermost open element, handing back its name.
    fn close(&mut self) -> Node {
        self.capturing = false;
        let name = self.open.pop().unwrap_or_default();
        if self.open.is_empty() {
            self.root_closed = true;
        }
        Node::End(name)
    }

    fn structure(&self, message: &str) -> ParseError {
        ParseError::Structure(format!(
            "{message} (near byte {})",
            self.reader.buffer_position()
        ))
    }
}

fn map_xml_error(error: quick_xml::Error, position: u64, exceeded: bool) -> ParseError {
    match error {
        quick_xml::Error::Io(_) if exceeded => ParseError::TokenTooLarge {
            limit: MAX_TOKEN_BYTES,
        },
        quick_xml::Error::Io(io_error) => ParseError::Io(io_error.to_string()),
        quick_xml::Error::Encoding(_) => ParseError::InvalidUtf8 { position },
        other => ParseError::Xml {
            position,
            message: other.to_string(),
        },
    }
}

/// Appends `piece` to the captured text, dropping leading whitespace and bounding the size.
fn push_captured(captured: &mut CapturedText, piece: &str) {
    let piece = if captured.text.is_empty() {
        piece.trim_start_matches(is_xml_whitespace)
    } else {
        piece
    };
    if piece.is_empty() || captured.overflowed {
        return;
    }
    if captured.text.len() + piece.len() <= MAX_TEXT_BYTES + CAPTURE_SLACK_BYTES {
        captured.text.push_str(piece);
    } else if !piece.chars().all(is_xml_whitespace) {
        captured.overflowed = true;
        captured.text.clear();
    }
}

/// Resolves the body of `&...;` (without `&` and `;`): a predefined entity or a character
/// reference. Anything else is refused.
pub(crate) fn resolve_reference<'a>(
    name: &'a str,
    utf8: &'a mut [u8; 4],
) -> Result<&'a str, ParseError> {
    match name {
        "lt" => return Ok("<"),
        "gt" => return Ok(">"),
        "amp" => return Ok("&"),
        "quot" => return Ok("\""),
        "apos" => return Ok("'"),
        _ => {}
    }
    let Some(number) = name.strip_prefix('#') else {
        return Err(ParseError::UnknownEntity(shorten(name)));
    };
    let code = match number.strip_prefix('x') {
        Some(hex)
            if !hex.is_empty() && hex.len() <= 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            u32::from_str_radix(hex, 16).ok()
        }
        None if !number.is_empty()
            && number.len() <= 10
            && number.bytes().all(|b| b.is_ascii_digit()) =>
        {
            number.parse::<u32>().ok()
        }
        _ => None,
    };
    match code.and_then(char::from_u32) {
        Some(c) if is_xml_char(c) => Ok(c.encode_utf8(utf8)),
        _ => Err(ParseError::InvalidCharRef(shorten(name))),
    }
}

/// The XML 1.0 `Char` production (Rust `char` already excludes surrogates).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

fn shorten(name: &str) -> String {
    name.chars().take(40).collect()
}

/// Decodes a raw attribute value into `out`: references resolved, and tab, CR and LF turned
/// into spaces as XML attribute-value normalization requires.
/// `position` is only used in error messages.
fn decode_attribute(raw: &str, out: &mut String, position: u64) -> Result<(), ParseError> {
    if raw.contains('<') {
        return Err(ParseError::Xml {
            position,
            message: "'<' in an attribute value".into(),
        });
    }
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        push_normalized(out, &rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(semi) = after.find(';') else {
            return Err(ParseError::Xml {
                position,
                message: "an attribute value has '&' without a closing ';'".into(),
            });
        };
        let mut utf8 = [0u8; 4];
        out.push_str(resolve_reference(&after[..semi], &mut utf8)?);
        rest = &after[semi + 1..];
    }
    push_normalized(out, rest);
    Ok(())
}

fn push_normalized(out: &mut String, text: &str) {
    let text = text.replace("\r\n", " ");
    out.extend(text.chars().map(|c| {
        if matches!(c, '\t' | '\n' | '\r') {
            ' '
        } else {
            c
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(xml: &str) -> Result<Vec<Node>, ParseError> {
        let mut input = XmlInput::new(xml.as_bytes(), None);
        let mut nodes = Vec::new();
        loop {
            let node = input.next()?;
            let done = node == Node::Eof;
            nodes.push(node);
            if done {
                return Ok(nodes);
            }
        }
    }

    #[test]
    fn self_closing_elements_give_start_then_end() {
        let nodes = walk("<a><b/></a>").unwrap();
        assert_eq!(
            nodes,
            vec![
                Node::Start("a".into()),
                Node::Start("b".into()),
                Node::End("b".into()),
                Node::End("a".into()),
                Node::Eof
            ]
        );
    }

    #[test]
    fn bom_whitespace_comments_and_processing_instructions_are_accepted_around_the_root() {
        let xml = "\u{FEFF}\n  <?xml version=\"1.0\" ?>\n<!-- hi --><?qbxml version=\"13.0\"?><a/>\n<!-- bye -->\n";
        assert_eq!(walk(xml).unwrap().len(), 3);
    }

    #[test]
    fn text_and_references_are_joined_and_resolved_when_captured() {
        let mut input = XmlInput::new(
            "<a>\n  x &amp; y&#233;&#xE9;&lt;&gt;&quot;&apos;<![CDATA[<z>]]>\n</a>".as_bytes(),
            None,
        );
        assert_eq!(input.next().unwrap(), Node::Start("a".into()));
        input.capture_text();
        assert_eq!(input.next().unwrap(), Node::End("a".into()));
        let value = input.take_text().into_value().unwrap();
        assert_eq!(value.as_deref(), Some("x & yéé<>\"'<z>"));
    }

    #[test]
    fn crlf_inside_text_is_normalized_to_lf() {
        let mut input = XmlInput::new("<a>one\r\ntwo</a>".as_bytes(), None);
        input.next().unwrap();
        input.capture_text();
        input.next().unwrap();
        assert_eq!(
            input.take_text().into_value().unwrap().as_deref(),
            Some("one\ntwo")
        );
    }

    #[test]
    fn attributes_are_decoded_only_at_the_chosen_depth() {
        let mut input = XmlInput::new(
            "<a x=\"1\"><b y=\"&quot;q&quot; &#233;\tz\"/></a>".as_bytes(),
            Some(2),
        );
        input.next().unwrap();
        assert!(input.attrs().is_empty());
        input.next().unwrap();
        assert_eq!(input.attrs(), &[("y".to_owned(), "\"q\" é z".to_owned())]);
    }

    #[test]
    fn malformed_attribute_values_are_refused() {
        assert!(matches!(
            walk("<a b=\"x < y\"/>"),
            Err(ParseError::Xml { .. })
        ));
        assert!(matches!(
            walk("<a b=\"x & y\"/>"),
            Err(ParseError::Xml { .. })
        ));
        assert!(matches!(
            walk("<a b=\"1\" b=\"2\"/>"),
            Err(ParseError::Xml { .. })
        ));
    }

    #[test]
    fn unknown_entities_are_refused_in_text_and_attributes() {
        assert_eq!(
            walk("<a>&nbsp;</a>"),
            Err(ParseError::UnknownEntity("nbsp".into()))
        );
        assert_eq!(
            walk("<a b=\"&foo;\"/>"),
            Err(ParseError::UnknownEntity("foo".into()))
        );
    }

    #[test]
    fn invalid_character_references_are_refused() {
        for bad in [
            "&#0;",
            "&#1;",
            "&#xD800;",
            "&#x110000;",
            "&#xZZ;",
            "&#;",
            "&#99999999999;",
        ] {
            let xml = format!("<a>{bad}</a>");
            assert!(
                matches!(walk(&xml), Err(ParseError::InvalidCharRef(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn doctype_is_refused() {
        let xml = "<!DOCTYPE a [<!ENTITY e \"boom\">]><a>&e;</a>";
        assert_eq!(walk(xml), Err(ParseError::Doctype));
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(walk(&ok).is_ok());
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(walk(&deep), Err(ParseError::TooDeep { limit: MAX_DEPTH }));
    }

    #[test]
    fn truncated_documents_are_refused() {
        assert_eq!(
            walk("<a><b>text"),
            Err(ParseError::Truncated {
                open_element: "b".into()
            })
        );
        assert!(matches!(
            walk("<a><b attr=\"x"),
            Err(ParseError::Xml { .. })
        ));
        assert!(matches!(walk(""), Err(ParseError::Structure(_))));
    }

    #[test]
    fn content_outside_the_root_is_refused() {
        assert!(matches!(walk("<a/><b/>"), Err(ParseError::Structure(_))));
        assert!(matches!(walk("<a/>junk"), Err(ParseError::Structure(_))));
        assert!(matches!(walk("junk<a/>"), Err(ParseError::Structure(_))));
        assert!(matches!(walk("<a/>&amp;"), Err(ParseError::Structure(_))));
    }

    #[test]
    fn mismatched_end_tags_are_refused() {
        assert!(matches!(
            walk("<a><b></a></b>"),
            Err(ParseError::Xml { .. })
        ));
    }

    #[test]
    fn invalid_utf8_is_refused() {
        let bytes: &[u8] = b"<a>caf\xE9</a>";
        let mut input = XmlInput::new(bytes, None);
        input.next().unwrap();
        let mut result = input.next();
        while let Ok(node) = &result {
            if *node == Node::Eof {
                break;
            }
            result = input.next();
        }
        assert!(
            matches!(result, Err(ParseError::InvalidUtf8 { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn errors_repeat_on_later_calls() {
        let mut input = XmlInput::new("<a>&bad;</a>".as_bytes(), None);
        input.next().unwrap();
        let first = input.next().unwrap_err();
        assert_eq!(input.next().unwrap_err(), first);
    }

    #[test]
    fn oversized_tokens_are_refused() {
        let xml = format!("<a>{}</a>", "x".repeat(MAX_TOKEN_BYTES as usize + 10));
        assert_eq!(
            walk(&xml),
            Err(ParseError::TokenTooLarge {
                limit: MAX_TOKEN_BYTES
            })
        );
    }

    #[test]
    fn long_captured_values_are_reported_not_kept() {
        let exact = format!("<a>\n  {}\n  </a>", "y".repeat(MAX_TEXT_BYTES));
        let mut input = XmlInput::new(exact.as_bytes(), None);
        input.next().unwrap();
        input.capture_text();
        input.next().unwrap();
        assert_eq!(
            input.take_text().into_value().unwrap().map(|v| v.len()),
            Some(MAX_TEXT_BYTES)
        );

        let long = format!("<a>{}&amp;</a>", "y".repeat(MAX_TEXT_BYTES));
        let mut input = XmlInput::new(long.as_bytes(), None);
        input.next().unwrap();
        input.capture_text();
        input.next().unwrap();
        assert_eq!(input.take_text().into_value(), Err(TooLong));

        let very_long = format!("<a>{}</a>", "y".repeat(MAX_TEXT_BYTES * 3));
        let mut input = XmlInput::new(very_long.as_bytes(), None);
        input.next().unwrap();
        input.capture_text();
        input.next().unwrap();
        let captured = input.take_text();
        assert!(captured.overflowed && captured.text.is_empty());
    }

    #[test]
    fn whitespace_only_and_control_characters() {
        let mut input = XmlInput::new("<r><a> \n\t </a><b>x\u{1}y</b></r>".as_bytes(), None);
        input.next().unwrap();
        input.next().unwrap();
        input.capture_text();
        input.next().unwrap();
        assert_eq!(input.take_text().into_value().unwrap(), None);
        input.next().unwrap();
        input.capture_text();
        input.next().unwrap();
        assert_eq!(
            input.take_text().into_value().unwrap().as_deref(),
            Some("xy")
        );
    }

    #[test]
    fn skip_element_consumes_the_subtree() {
        let mut input = XmlInput::new("<r><s><t>x</t><t/></s><u/></r>".as_bytes(), None);
        input.next().unwrap();
        assert_eq!(input.next().unwrap(), Node::Start("s".into()));
        input.skip_element().unwrap();
        assert_eq!(input.next().unwrap(), Node::Start("u".into()));
    }
}
