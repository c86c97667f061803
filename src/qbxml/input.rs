//! A hardened pull reader over quick-xml, shared by the response and HCP parsers.
//!
//! It turns quick-xml's token stream into element starts and ends and enforces the safety rules
//! every inbound qbXML document must follow: no `<!DOCTYPE` (so no entity declarations), nesting
//! at most [`MAX_DEPTH`] levels, only the five predefined entities plus character references,
//! valid UTF-8, one root element, nothing but whitespace, comments and processing instructions
//! outside it, and a complete document. Each token (tag, text run, comment) is limited to
//! [`MAX_TOKEN_BYTES`], so memory stays flat whatever the input size.
//!
//! The input is read into a window of a few tens of kilobytes, and one quick-xml reader per
//! window parses its tokens in place, borrowing from it (no copy per token; `self_cell` keeps
//! the window and its reader together). The window is only ever parsed up to just after its
//! last `>`: every token ends at a `>` or before a `<`, so a cut there never
//! splits a character, a reference or a CR LF pair. A token that does contain a `>` (in an
//! attribute value, a comment, or text) and runs past the cut is read again once more input is
//! in the window.
//!
//! Text is only kept when the caller asks for it with [`XmlInput::capture_text`]; the text of
//! every other element is checked and dropped token by token, so values the caller does not want
//! (SSN, bank data...) never leave quick-xml's scratch buffer.

use std::borrow::Cow;
use std::io::BufRead;

use quick_xml::errors::Error as XmlError;
use quick_xml::events::{BytesStart, Event};
use smol_str::SmolStr;

use super::error::ParseError;

/// Deepest element nesting accepted (the root element is level 1).
pub(crate) const MAX_DEPTH: usize = 64;
/// Longest text value kept for one field, in bytes.
pub(crate) const MAX_TEXT_BYTES: usize = 8 * 1024;
/// Largest single token (tag with its attributes, text run, comment) read from the input.
pub(crate) const MAX_TOKEN_BYTES: u64 = 1024 * 1024;
/// One structural step through the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    /// An element opened (a self-closing element gives `Start` then `End`). Names are kept
    /// inline, without an allocation, up to 23 bytes (nearly all qbXML names).
    Start(SmolStr),
    /// An element closed.
    End(SmolStr),
    /// The document ended, complete and well-formed.
    Eof,
}

/// Text gathered for one element by [`XmlInput::capture_text`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CapturedText {
    /// The text, exactly as the document holds it once references are resolved and CR LF read
    /// as LF: nothing is trimmed.
    pub(crate) text: String,
    /// True when text was dropped because the value was too long.
    pub(crate) overflowed: bool,
}

impl CapturedText {
    /// The value, or `Err(TooLong)` when longer than the limit. Whitespace is kept as it is
    /// (an empty element gives an empty string); control characters that XML 1.0 does not
    /// allow are removed.
    pub(crate) fn into_value(self) -> Result<String, TooLong> {
        if self.overflowed || self.text.len() > MAX_TEXT_BYTES {
            return Err(TooLong);
        }
        // Almost every value is clean: then the captured string is handed on as it is. Forbidden
        // characters are controls (one byte below 0x20) or U+FFFE/U+FFFF (lead byte 0xEF).
        let suspicious = self.text.bytes().any(|b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0xEF);
        if !suspicious || !self.text.chars().any(is_forbidden_control) {
            return Ok(self.text);
        }
        Ok(self.text.chars().filter(|c| !is_forbidden_control(*c)).collect())
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

/// How much input the window gathers before parsing (it grows past this only for a longer token).
const WINDOW_BYTES: usize = 32 * 1024;

/// The UTF-8 byte order mark, which quick-xml drops at the start of what it reads.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Input bytes read and not yet dropped; `data[start..limit]` is what the window's reader parses.
struct WindowBytes {
    data: Vec<u8>,
    start: usize,
    limit: usize,
}

type SliceReader<'a> = quick_xml::Reader<&'a [u8]>;

self_cell::self_cell!(
    /// The window's bytes and one quick-xml reader over their parsable part, which borrows them:
    /// tokens are read in place, and the reader lives until the window is refilled.
    struct Window {
        owner: WindowBytes,
        #[covariant]
        dependent: SliceReader,
    }
);

impl Window {
    fn over(bytes: WindowBytes, config: &quick_xml::reader::Config) -> Window {
        Window::new(bytes, |bytes| {
            let mut reader = quick_xml::Reader::from_reader(&bytes.data[bytes.start..bytes.limit]);
            *reader.config_mut() = config.clone();
            reader
        })
    }
}

/// What reading one token from the window gave.
enum Step {
    /// An element start or end, or nothing the caller sees (text, comment...).
    Token(Result<Option<Node>, ParseError>),
    /// Everything up to the parse limit has been read.
    Exhausted,
    /// The token runs past the parse limit: it is read again once more input is in.
    Incomplete,
    Failed(ParseError),
}

/// The hardened pull reader. See the module documentation for the rules it enforces.
pub(crate) struct XmlInput<R: BufRead> {
    input: R,
    /// The input has ended; everything of it is in the window.
    input_done: bool,
    window: Option<Window>,
    /// Where the next token starts in the window's data.
    pos: usize,
    /// The window's reader started at a byte order mark (which quick-xml skipped, uncounted).
    skipped_bom: usize,
    /// That byte order mark was not at the start of the document: it is the character U+FEFF.
    bom_is_text: bool,
    /// How many bytes of the document came before the window's data (for error positions).
    dropped: u64,
    /// quick-xml's settings, given to the reader of each window.
    config: quick_xml::reader::Config,
    state: State,
    /// Set after the first error; every later call repeats it.
    failed: Option<ParseError>,
}

/// What the reader knows of the document so far.
struct State {
    /// Names of the open elements, innermost last (at most `MAX_DEPTH` entries).
    open: Vec<SmolStr>,
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
    /// Where the token being handled starts, counted from the start of the document.
    position: u64,
}

impl<R: BufRead> XmlInput<R> {
    /// Wraps `input`. `attrs_depth` selects the depth (root = 1) whose attributes are kept.
    pub(crate) fn new(input: R, attrs_depth: Option<usize>) -> Self {
        let mut reader = quick_xml::Reader::from_reader(&b""[..]);
        let config = reader.config_mut();
        // A window's reader knows nothing of the elements opened in earlier windows: end tags
        // are checked against `open` here instead.
        config.check_end_names = false;
        config.allow_unmatched_ends = true;
        config.check_comments = true;
        config.expand_empty_elements = false;
        config.allow_dangling_amp = false;
        config.trim_text(false);
        let config = reader.config().clone();
        let empty = WindowBytes { data: Vec::with_capacity(WINDOW_BYTES * 2), start: 0, limit: 0 };
        Self {
            input,
            input_done: false,
            window: Some(Window::over(empty, &config)),
            pos: 0,
            skipped_bom: 0,
            bom_is_text: false,
            dropped: 0,
            config,
            state: State {
                open: Vec::new(),
                pending_end: false,
                root_seen: false,
                root_closed: false,
                attrs_depth,
                attrs: Vec::new(),
                capturing: false,
                captured: CapturedText::default(),
                scratch: String::new(),
                position: 0,
            },
            failed: None,
        }
    }

    /// Current nesting depth: 0 outside the root, 1 inside the root element, and so on.
    pub(crate) fn depth(&self) -> usize {
        self.state.open.len()
    }

    /// The attributes of the last `Start`, if it opened at the depth chosen in [`Self::new`].
    pub(crate) fn attrs(&self) -> &[(String, String)] {
        &self.state.attrs
    }

    /// Start keeping the text of the element that was just opened, until its next child or end.
    pub(crate) fn capture_text(&mut self) {
        self.state.capturing = true;
        self.state.captured = CapturedText::default();
    }

    /// The text gathered since [`Self::capture_text`].
    pub(crate) fn take_text(&mut self) -> CapturedText {
        self.state.capturing = false;
        std::mem::take(&mut self.state.captured)
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
        if std::mem::take(&mut self.state.pending_end) {
            return Ok(self.state.close());
        }
        loop {
            if self.pos >= self.limit() && !self.more()? {
                self.state.position = self.position();
                return self.state.end_of_document();
            }
            let Some(window) = self.window.as_mut() else {
                return Err(ParseError::Io("the XML reader lost its input window".into()));
            };
            let state = &mut self.state;
            let input_done = self.input_done;
            let base = self.dropped + window.borrow_owner().start as u64 + self.skipped_bom as u64;
            let bom_is_text = &mut self.bom_is_text;
            // Tokens the caller does not see (the line breaks between elements, most of all)
            // are read on without leaving the window's reader.
            let (step, read_to) = window.with_dependent_mut(|_, reader| {
                loop {
                    let before = reader.buffer_position();
                    state.position = base + before;
                    let step = match reader.read_event() {
                        // All of the slice was read (or it held only a byte order mark).
                        Ok(Event::Eof) => Step::Exhausted,
                        Ok(event) => {
                            if reader.buffer_position() - before > MAX_TOKEN_BYTES {
                                Step::Failed(ParseError::TokenTooLarge { limit: MAX_TOKEN_BYTES })
                            } else {
                                match state.handle(event, std::mem::take(bom_is_text)) {
                                    Ok(None) => continue,
                                    node => Step::Token(node),
                                }
                            }
                        }
                        Err(XmlError::Syntax(_)) if !input_done => Step::Incomplete,
                        Err(error) => Step::Failed(map_xml_error(error, base + reader.error_position())),
                    };
                    let read_to = match step {
                        Step::Incomplete => before,
                        _ => reader.buffer_position(),
                    };
                    break (step, read_to);
                }
            });
            // A token that stopped the reader before it read anything starts the window again,
            // byte order mark included.
            let skipped = if read_to == 0 { 0 } else { self.skipped_bom };
            self.pos = window.borrow_owner().start + skipped + read_to as usize;
            match step {
                Step::Token(node) => {
                    if let Some(node) = node? {
                        return Ok(node);
                    }
                }
                Step::Exhausted => self.pos = self.limit(),
                Step::Incomplete => {
                    if (self.limit() - self.pos) as u64 > MAX_TOKEN_BYTES {
                        return Err(ParseError::TokenTooLarge { limit: MAX_TOKEN_BYTES });
                    }
                    self.more()?;
                }
                Step::Failed(error) => return Err(error),
            }
        }
    }

    /// How far the window's data may be parsed now.
    fn limit(&self) -> usize {
        self.window.as_ref().map_or(0, |window| window.borrow_owner().limit)
    }

    /// Where the next token starts, counted from the start of the document.
    fn position(&self) -> u64 {
        self.dropped + self.pos as u64
    }

    /// Reads more input into the window and moves the parse limit to just after its last `>`
    /// (to its end once the input is over), then starts a reader at the next token. False when
    /// there is no more input at all.
    fn more(&mut self) -> Result<bool, ParseError> {
        let Some(window) = self.window.take() else {
            return Err(ParseError::Io("the XML reader lost its input window".into()));
        };
        let mut bytes = window.into_owner();
        let result = self.refill(&mut bytes);
        // The reader starts where parsing stopped. quick-xml skips a byte order mark there
        // without counting it; only the one at the start of the document is one: anywhere else
        // it is the character U+FEFF, given back to the text.
        bytes.start = self.pos.min(bytes.limit);
        self.skipped_bom = if bytes.data[bytes.start..bytes.limit].starts_with(BOM) { BOM.len() } else { 0 };
        self.bom_is_text = self.skipped_bom > 0 && self.position() > 0;
        self.window = Some(Window::over(bytes, &self.config));
        result
    }

    fn refill(&mut self, bytes: &mut WindowBytes) -> Result<bool, ParseError> {
        if self.input_done {
            bytes.limit = bytes.data.len();
            return Ok(self.pos < bytes.limit);
        }
        if self.pos > 0 {
            bytes.data.drain(..self.pos);
            // The parse limit moves with the data: should reading fail below, the window must
            // still describe its own bytes.
            bytes.limit = bytes.limit.saturating_sub(self.pos);
            self.dropped += self.pos as u64;
            self.pos = 0;
        }
        let start = bytes.data.len();
        loop {
            let available = self.input.fill_buf().map_err(|error| ParseError::Io(error.to_string()))?;
            if available.is_empty() {
                self.input_done = true;
                bytes.limit = bytes.data.len();
                return Ok(self.pos < bytes.limit);
            }
            let taken = available.len().min(WINDOW_BYTES);
            bytes.data.extend_from_slice(&available[..taken]);
            self.input.consume(taken);
            if bytes.data.len() - start < WINDOW_BYTES / 2 {
                continue;
            }
            if let Some(last) = memchr::memrchr(b'>', &bytes.data[start..]) {
                bytes.limit = start + last + 1;
                return Ok(true);
            }
            if bytes.data.len() as u64 > MAX_TOKEN_BYTES {
                return Err(ParseError::TokenTooLarge { limit: MAX_TOKEN_BYTES });
            }
        }
    }
}

impl State {
    /// Once all input has been read: the document must be complete.
    fn end_of_document(&self) -> Result<Node, ParseError> {
        if let Some(open) = self.open.last() {
            return Err(ParseError::Truncated { open_element: open.to_string() });
        }
        if !self.root_seen {
            return Err(self.structure("the document has no root element"));
        }
        Ok(Node::Eof)
    }

    /// Handles one token; `Ok(None)` when it produced no element start or end. `bom`: a byte
    /// order mark quick-xml skipped just before it is the character U+FEFF.
    fn handle(&mut self, event: Event<'_>, bom: bool) -> Result<Option<Node>, ParseError> {
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
            Event::End(end) => {
                let name = end.name();
                match self.open.last() {
                    Some(open) if open.as_str() == name.as_ref() => Ok(Some(self.close())),
                    Some(open) => Err(ParseError::Xml {
                        position: self.position,
                        message: format!("</{}> closes <{open}>", shorten(name.as_ref())),
                    }),
                    None => Err(self.structure("an end tag outside the root element")),
                }
            }
            // Text inside the root that nobody captures (the line breaks between elements) is
            // already checked by quick-xml and needs no decoding.
            Event::Text(_) if !self.capturing && !self.open.is_empty() && !bom => Ok(None),
            Event::Text(text) => {
                // Line ends need normalizing only where there is a CR (never in a response
                // that came through the SOAP envelope, which normalized them already).
                let content =
                    if text.as_bytes().contains(&b'\r') { text.xml10_content() } else { Cow::Borrowed(&*text) };
                if self.open.is_empty() {
                    if bom || !content.chars().all(is_xml_whitespace) {
                        return Err(self.structure("text outside the root element"));
                    }
                } else if self.capturing {
                    if bom {
                        push_captured(&mut self.captured, "\u{FEFF}");
                    }
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
            Event::Comment(_) | Event::PI(_) | Event::Eof => Ok(None),
        }
    }

    fn open_element(&mut self, start: &BytesStart<'_>) -> Result<SmolStr, ParseError> {
        if self.open.is_empty() {
            if self.root_closed {
                return Err(self.structure("more than one root element"));
            }
            self.root_seen = true;
        }
        if self.open.len() >= MAX_DEPTH {
            return Err(ParseError::TooDeep { limit: MAX_DEPTH });
        }
        let name = SmolStr::new(start.name().as_ref());
        let keep = self.attrs_depth == Some(self.open.len() + 1);
        self.attrs.clear();
        // Most qbXML elements have no attributes at all: nothing to check then.
        let attributes = if start.attributes_raw().is_empty() { None } else { Some(start.attributes()) };
        for attribute in attributes.into_iter().flatten() {
            let attribute = attribute.map_err(|error| ParseError::Xml {
                position: self.position,
                message: format!("bad attribute in <{name}>: {error}"),
            })?;
            self.scratch.clear();
            decode_attribute(&attribute.value, &mut self.scratch, self.position)?;
            if keep {
                self.attrs.push((attribute.key.as_ref().to_owned(), self.scratch.clone()));
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
        ParseError::Structure(format!("{message} (near byte {})", self.position))
    }
}

fn map_xml_error(error: XmlError, position: u64) -> ParseError {
    match error {
        XmlError::Io(io_error) => ParseError::Io(io_error.to_string()),
        XmlError::Encoding(_) => ParseError::InvalidUtf8 { position },
        other => ParseError::Xml { position, message: other.to_string() },
    }
}

/// Appends `piece` to the captured text, bounding the size.
fn push_captured(captured: &mut CapturedText, piece: &str) {
    if piece.is_empty() || captured.overflowed {
        return;
    }
    if captured.text.len() + piece.len() > MAX_TEXT_BYTES {
        captured.overflowed = true;
        captured.text = String::new();
    } else if captured.text.is_empty() {
        // Nearly every value is one piece: allocated once, at its size.
        captured.text = String::from(piece);
    } else {
        captured.text.push_str(piece);
    }
}

/// Resolves the body of `&...;` (without `&` and `;`) by the shared XML rules: a predefined
/// entity or a character reference. Anything else is refused.
pub(crate) fn resolve_reference<'a>(name: &str, utf8: &'a mut [u8; 4]) -> Result<&'a str, ParseError> {
    use crate::xml::ReferenceError;
    match crate::xml::resolve_reference(name) {
        Ok(c) => Ok(c.encode_utf8(utf8)),
        Err(ReferenceError::UnknownEntity) => Err(ParseError::UnknownEntity(shorten(name))),
        Err(ReferenceError::InvalidCharRef) => Err(ParseError::InvalidCharRef(shorten(name))),
    }
}

fn shorten(name: &str) -> String {
    name.chars().take(40).collect()
}

/// Decodes a raw attribute value into `out`: references resolved, and tab, CR and LF turned
/// into spaces as XML attribute-value normalization requires.
/// `position` is only used in error messages.
fn decode_attribute(raw: &str, out: &mut String, position: u64) -> Result<(), ParseError> {
    if raw.contains('<') {
        return Err(ParseError::Xml { position, message: "'<' in an attribute value".into() });
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
    out.extend(text.chars().map(|c| if matches!(c, '\t' | '\n' | '\r') { ' ' } else { c }));
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
        let mut input =
            XmlInput::new("<a>\n  x &amp; y&#233;&#xE9;&lt;&gt;&quot;&apos;<![CDATA[<z>]]>\n</a>".as_bytes(), None);
        assert_eq!(input.next().unwrap(), Node::Start("a".into()));
        input.capture_text();
        assert_eq!(input.next().unwrap(), Node::End("a".into()));
        let value = input.take_text().into_value().unwrap();
        assert_eq!(value, "\n  x & yéé<>\"'<z>\n");
    }

    #[test]
    fn crlf_inside_text_is_normalized_to_lf() {
        let mut input = XmlInput::new("<a>one\r\ntwo</a>".as_bytes(), None);
        input.next().unwrap();
        input.capture_text();
        input.next().unwrap();
        assert_eq!(input.take_text().into_value().unwrap(), "one\ntwo");
    }

    #[test]
    fn attributes_are_decoded_only_at_the_chosen_depth() {
        let mut input = XmlInput::new("<a x=\"1\"><b y=\"&quot;q&quot; &#233;\tz\"/></a>".as_bytes(), Some(2));
        input.next().unwrap();
        assert!(input.attrs().is_empty());
        input.next().unwrap();
        assert_eq!(input.attrs(), &[("y".to_owned(), "\"q\" é z".to_owned())]);
    }

    #[test]
    fn malformed_attribute_values_are_refused() {
        assert!(matches!(walk("<a b=\"x < y\"/>"), Err(ParseError::Xml { .. })));
        assert!(matches!(walk("<a b=\"x & y\"/>"), Err(ParseError::Xml { .. })));
        assert!(matches!(walk("<a b=\"1\" b=\"2\"/>"), Err(ParseError::Xml { .. })));
    }

    #[test]
    fn unknown_entities_are_refused_in_text_and_attributes() {
        assert_eq!(walk("<a>&nbsp;</a>"), Err(ParseError::UnknownEntity("nbsp".into())));
        assert_eq!(walk("<a b=\"&foo;\"/>"), Err(ParseError::UnknownEntity("foo".into())));
    }

    #[test]
    fn invalid_character_references_are_refused() {
        for bad in ["&#0;", "&#1;", "&#xD800;", "&#x110000;", "&#xZZ;", "&#;", "&#99999999999;"] {
            let xml = format!("<a>{bad}</a>");
            assert!(matches!(walk(&xml), Err(ParseError::InvalidCharRef(_))), "{bad}");
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
        let deep = format!("{}{}", "<a>".repeat(MAX_DEPTH + 1), "</a>".repeat(MAX_DEPTH + 1));
        assert_eq!(walk(&deep), Err(ParseError::TooDeep { limit: MAX_DEPTH }));
    }

    #[test]
    fn truncated_documents_are_refused() {
        assert_eq!(walk("<a><b>text"), Err(ParseError::Truncated { open_element: "b".into() }));
        assert!(matches!(walk("<a><b attr=\"x"), Err(ParseError::Xml { .. })));
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
        assert!(matches!(walk("<a><b></a></b>"), Err(ParseError::Xml { .. })));
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
        assert!(matches!(result, Err(ParseError::InvalidUtf8 { .. })), "{result:?}");
    }

    #[test]
    fn errors_repeat_on_later_calls() {
        let mut input = XmlInput::new("<a>&bad;</a>".as_bytes(), None);
        input.next().unwrap();
        let first = input.next().unwrap_err();
        assert_eq!(input.next().unwrap_err(), first);
    }

    #[test]
    fn tokens_holding_a_gt_sign_are_read_whole_across_window_cuts() {
        // Each record holds `>` in an attribute, in text, in a comment and in CDATA, a byte order
        // mark character and a CR LF; a varying filler moves every token across the places where
        // the window is cut. Input arrives in odd-sized pieces.
        let mut xml = String::from("\u{FEFF}<r>");
        let count = 3000;
        for i in 0..count {
            let filler = "f".repeat(i % 97);
            xml.push_str(&format!(
                "<e a=\"x > {i}\">{filler}t > u&amp;\u{FEFF}v\r\nw<!-- c > d --><![CDATA[p > q]]></e>\n"
            ));
        }
        xml.push_str("</r>");
        for capacity in [7, 1000, 40_000] {
            let mut input = XmlInput::new(std::io::BufReader::with_capacity(capacity, xml.as_bytes()), Some(2));
            assert_eq!(input.next().unwrap(), Node::Start("r".into()));
            for i in 0..count {
                assert_eq!(input.next().unwrap(), Node::Start("e".into()), "record {i}");
                assert_eq!(input.attrs(), &[("a".to_owned(), format!("x > {i}"))]);
                input.capture_text();
                assert_eq!(input.next().unwrap(), Node::End("e".into()));
                let expected = format!("{}t > u&\u{FEFF}v\nwp > q", "f".repeat(i % 97));
                assert_eq!(input.take_text().into_value().unwrap(), expected, "record {i}");
            }
            assert_eq!(input.next().unwrap(), Node::End("r".into()));
            assert_eq!(input.next().unwrap(), Node::Eof);
        }
        // A byte order mark anywhere but at the very start is text, and outside the root it is
        // refused, wherever the window is cut.
        let late_bom = format!("<r>{}</r>\n\u{FEFF}", "<e>x</e>".repeat(10_000));
        let mut input = XmlInput::new(late_bom.as_bytes(), None);
        let result = loop {
            match input.next() {
                Ok(Node::Eof) => break Ok(()),
                Ok(_) => {}
                Err(error) => break Err(error),
            }
        };
        assert!(matches!(result, Err(ParseError::Structure(_))), "{result:?}");
    }

    #[test]
    fn oversized_tokens_are_refused() {
        let xml = format!("<a>{}</a>", "x".repeat(MAX_TOKEN_BYTES as usize + 10));
        assert_eq!(walk(&xml), Err(ParseError::TokenTooLarge { limit: MAX_TOKEN_BYTES }));
    }

    #[test]
    fn long_captured_values_are_reported_not_kept() {
        // The limit counts every byte of the value, surrounding whitespace included.
        let exact = format!("<a>\n {}\n</a>", "y".repeat(MAX_TEXT_BYTES - 3));
        let mut input = XmlInput::new(exact.as_bytes(), None);
        input.next().unwrap();
        input.capture_text();
        input.next().unwrap();
        assert_eq!(input.take_text().into_value().unwrap().len(), MAX_TEXT_BYTES);

        let over = format!("<a>\n {}\n</a>", "y".repeat(MAX_TEXT_BYTES - 2));
        let mut input = XmlInput::new(over.as_bytes(), None);
        input.next().unwrap();
        input.capture_text();
        input.next().unwrap();
        assert_eq!(input.take_text().into_value(), Err(TooLong));

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
    fn whitespace_is_kept_exactly_and_forbidden_control_characters_are_dropped() {
        let mut input = XmlInput::new("<r><a> \n\t </a><b>x\u{1}y</b><c/><d>\r\n\t x \r</d></r>".as_bytes(), None);
        input.next().unwrap();
        input.next().unwrap();
        input.capture_text();
        input.next().unwrap();
        assert_eq!(input.take_text().into_value().unwrap(), " \n\t ");
        input.next().unwrap();
        input.capture_text();
        input.next().unwrap();
        assert_eq!(input.take_text().into_value().unwrap(), "xy");
        input.next().unwrap();
        input.capture_text();
        input.next().unwrap();
        assert_eq!(input.take_text().into_value().unwrap(), "");
        input.next().unwrap();
        input.capture_text();
        input.next().unwrap();
        // XML reads CR LF and a lone CR as LF.
        assert_eq!(input.take_text().into_value().unwrap(), "\n\t x \n");
    }

    /// Input that breaks off with an error after `good` bytes, as a body cut mid-upload does.
    struct Broken<'a> {
        good: &'a [u8],
    }

    impl std::io::Read for Broken<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.good.is_empty() {
                return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the body was cut"));
            }
            let n = out.len().min(self.good.len()).min(5000);
            out[..n].copy_from_slice(&self.good[..n]);
            self.good = &self.good[n..];
            Ok(n)
        }
    }

    #[test]
    fn input_that_breaks_off_is_an_error_wherever_it_breaks() {
        let xml = format!("<r>{}</r>", "<e a=\"1\">text &amp; more</e>\n".repeat(5000));
        for cut in [10, 1000, 16_383, 16_384, 40_000, 70_001, xml.len() - 3] {
            let reader = std::io::BufReader::with_capacity(4096, Broken { good: &xml.as_bytes()[..cut] });
            let mut input = XmlInput::new(reader, None);
            let result = loop {
                match input.next() {
                    Ok(Node::Eof) => break Ok(()),
                    Ok(_) => {}
                    Err(error) => break Err(error),
                }
            };
            assert!(matches!(result, Err(ParseError::Io(_))), "cut at {cut}: {result:?}");
        }
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
