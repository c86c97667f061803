//! Streaming reader for SOAP 1.1 request envelopes (protocol guide §1.1, §1.5, §4.4).
//!
//! The reader walks quick-xml events once, front to back, and never holds more than one
//! event's text: the `response` parameter of receiveResponseXML (a whole qbXML document,
//! easily tens of megabytes) is handed to a callback as a [`BufRead`] that unescapes it
//! piece by piece while the caller consumes it. Escaped text, the form QBWC sends, is split
//! at every reference (`&lt;` ...), so pieces stay small; a CDATA section is a single event
//! and is therefore held whole (quick-xml's buffer plus one copy) while it is served.
//!
//! What it refuses, and why:
//! - `<!DOCTYPE` anywhere (no DTD means no entity declarations, so no entity expansion);
//! - entity references other than the five predefined ones, malformed character references;
//! - invalid UTF-8, text or markup outside the envelope other than whitespace and comments;
//! - nesting deeper than [`Limits::max_depth`] and parameters larger than their limit;
//! - documents that end early.
//!
//! It is lenient where real clients differ: any envelope prefix, a default-namespace or
//! prefixed method element, `xsi:type` and other attributes, unknown child elements, and
//! parameter elements without any namespace (seen in RPC-style clients that prefix only the
//! method element) besides those in the intuit namespace.

use std::io::{self, BufRead, Read};

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{NamespaceResolver, ResolveResult};

use super::call::{Call, MAX_PARAMS, Method};
use super::error::EnvelopeError;
use super::{QBWC_NS, SOAP11_NS};
use crate::xml::ReferenceError;

/// Size and depth bounds applied while reading a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Deepest element nesting accepted (the envelope itself is depth 1). Default 32.
    pub max_depth: usize,
    /// Largest unescaped size, in bytes, of any parameter except `response` and
    /// `strHCPResponse`. Default 1 MiB.
    pub max_param_bytes: usize,
    /// Largest unescaped size, in bytes, of `strHCPResponse`. Default 4 MiB.
    pub max_hcp_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_depth: 32, max_param_bytes: 1 << 20, max_hcp_bytes: 4 << 20 }
    }
}

/// Reads one SOAP 1.1 request envelope from `input` as a stream and decodes the call.
///
/// When the `response` parameter of receiveResponseXML holds any text, `on_response` is
/// called once with the ticket read so far (`None` if no non-empty `ticket` came before
/// `response`) and a reader yielding the unescaped text: character and predefined entity
/// references resolved, CDATA sections passed through as they are, line ends normalised
/// as XML requires. The callback may read all, part or none of it; the rest is skipped
/// afterwards and parsing continues. If the text turns out to be malformed, the reader
/// returns an `InvalidData` error and `read_call` returns the precise [`EnvelopeError`]:
/// whatever the callback saw must then be discarded.
pub fn read_call<R: BufRead>(
    input: R,
    limits: &Limits,
    on_response: &mut dyn FnMut(Option<&str>, &mut dyn BufRead),
) -> Result<Call, EnvelopeError> {
    let mut parser = Parser::new(input, limits);
    let call = read_envelope(&mut parser, limits, on_response)?;
    read_epilog(&mut parser)?;
    Ok(call)
}

/// Like [`read_call`] on an in-memory body, collecting the `response` text (if any) into a
/// `String`. Meant for tests and small bodies; the server streams with [`read_call`].
pub fn parse_call(bytes: &[u8], limits: &Limits) -> Result<(Call, Option<String>), EnvelopeError> {
    let mut response: Option<Vec<u8>> = None;
    let call = read_call(bytes, limits, &mut |_ticket, reader| {
        let mut text = Vec::new();
        // A read error here is reported, precisely, by `read_call` itself.
        let _ = reader.read_to_end(&mut text);
        response = Some(text);
    })?;
    let response = response.map(|bytes| match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    });
    Ok((call, response))
}

/// The namespace an element name resolved to.
#[derive(Debug, PartialEq)]
enum Ns {
    Soap11,
    Qbwc,
    /// No namespace at all (no prefix and no default namespace in scope).
    None,
    Other(String),
}

impl Ns {
    fn into_uri(self) -> String {
        match self {
            Ns::Soap11 => SOAP11_NS.to_owned(),
            Ns::Qbwc => QBWC_NS.to_owned(),
            Ns::None => String::new(),
            Ns::Other(uri) => uri,
        }
    }
}

/// One step of the document, with its data left in [`Parser::name`] / [`Parser::text`].
#[derive(Debug, PartialEq)]
enum Ev {
    /// An element opens; its local name is in `name`. `empty` for `<x/>`, which has no `End`.
    Start { ns: Ns, empty: bool },
    /// The innermost open element closes.
    End,
    /// Character data, unescaped, in `text`. `plain` when it came from literal text
    /// (not from CDATA or a reference).
    Text { plain: bool },
    /// A comment or the XML declaration.
    Comment,
    /// A processing instruction.
    Pi,
    /// End of input, with every element closed.
    Eof,
}

/// quick-xml's namespace-aware reader plus the depth bound and reusable buffers.
struct Parser<R> {
    reader: NsReader<R>,
    /// Raw bytes of the current event, reused from event to event.
    buf: Vec<u8>,
    /// Local name of the last `Start`.
    name: String,
    /// Unescaped content of the last `Text`.
    text: String,
    depth: usize,
    max_depth: usize,
    seen_first_event: bool,
}

impl<R: BufRead> Parser<R> {
    fn new(input: R, limits: &Limits) -> Self {
        Parser {
            reader: NsReader::from_reader(input),
            buf: Vec::new(),
            name: String::new(),
            text: String::new(),
            depth: 0,
            max_depth: limits.max_depth,
            seen_first_event: false,
        }
    }

    /// Reads the next event, enforcing the rules that hold everywhere in the document.
    fn next(&mut self) -> Result<Ev, EnvelopeError> {
        self.buf.clear();
        let first = !self.seen_first_event;
        self.seen_first_event = true;
        let event = self.reader.read_event_into(&mut self.buf).map_err(EnvelopeError::from_xml)?;
        match event {
            Event::Start(start) => {
                if self.depth >= self.max_depth {
                    return Err(EnvelopeError::TooDeep);
                }
                self.depth += 1;
                let ns = open_element(self.reader.resolver(), &start, &mut self.name)?;
                Ok(Ev::Start { ns, empty: false })
            }
            Event::Empty(start) => {
                if self.depth >= self.max_depth {
                    return Err(EnvelopeError::TooDeep);
                }
                let ns = open_element(self.reader.resolver(), &start, &mut self.name)?;
                Ok(Ev::Start { ns, empty: true })
            }
            Event::End(_) => {
                self.depth = self.depth.saturating_sub(1);
                Ok(Ev::End)
            }
            Event::Text(text) => {
                self.text.clear();
                self.text.push_str(&text.xml10_content());
                Ok(Ev::Text { plain: true })
            }
            Event::CData(cdata) => {
                self.text.clear();
                self.text.push_str(&cdata.xml10_content());
                Ok(Ev::Text { plain: false })
            }
            Event::GeneralRef(reference) => {
                self.text.clear();
                self.text.push(resolve_reference(&reference)?);
                Ok(Ev::Text { plain: false })
            }
            Event::Comment(_) => Ok(Ev::Comment),
            Event::Decl(decl) => {
                if !first {
                    return Err(EnvelopeError::NotXml("XML declaration is not at the start".into()));
                }
                if decl.version().is_err() {
                    return Err(EnvelopeError::NotXml("malformed XML declaration".into()));
                }
                match decl.encoding() {
                    None => {}
                    Some(Ok(label)) if is_utf8_label(&label) => {}
                    Some(Ok(label)) => {
                        return Err(EnvelopeError::NotXml(format!("unsupported encoding `{}`", shorten(&label))));
                    }
                    Some(Err(_)) => {
                        return Err(EnvelopeError::NotXml("malformed XML declaration".into()));
                    }
                }
                Ok(Ev::Comment)
            }
            Event::PI(_) => Ok(Ev::Pi),
            Event::DocType(_) => Err(EnvelopeError::Doctype),
            Event::Eof if self.depth > 0 => Err(EnvelopeError::Truncated),
            Event::Eof => Ok(Ev::Eof),
        }
    }

    /// Skips the rest of an element whose `Start` was just read.
    fn skip_element(&mut self, empty: bool) -> Result<(), EnvelopeError> {
        if empty {
            return Ok(());
        }
        let mut level = 0usize;
        loop {
            match self.next()? {
                Ev::Start { empty: false, .. } => level += 1,
                Ev::End if level == 0 => return Ok(()),
                Ev::End => level -= 1,
                Ev::Eof => return Err(EnvelopeError::Truncated),
                _ => {}
            }
        }
    }

    /// Collects the text of a parameter element whose `Start` was just read.
    fn read_text(&mut self, empty: bool, param: &'static str, limit: usize) -> Result<String, EnvelopeError> {
        let mut value = String::new();
        if empty {
            return Ok(value);
        }
        loop {
            match self.next()? {
                Ev::Text { .. } => {
                    if value.len().saturating_add(self.text.len()) > limit {
                        return Err(EnvelopeError::ParameterTooLarge(param));
                    }
                    value.push_str(&self.text);
                }
                Ev::Start { .. } => return Err(EnvelopeError::ElementInParameter(param)),
                Ev::End => return Ok(value),
                Ev::Eof => return Err(EnvelopeError::Truncated),
                Ev::Comment | Ev::Pi => {}
            }
        }
    }
}

/// Records the local name of an element and resolves its namespace.
fn open_element(resolver: &NamespaceResolver, start: &BytesStart, name: &mut String) -> Result<Ns, EnvelopeError> {
    let (resolved, local) = resolver.resolve_element(start.name());
    name.clear();
    name.push_str(local.as_ref());
    Ok(match resolved {
        ResolveResult::Bound(ns) if ns.as_ref() == SOAP11_NS => Ns::Soap11,
        ResolveResult::Bound(ns) if ns.as_ref() == QBWC_NS => Ns::Qbwc,
        ResolveResult::Bound(ns) => Ns::Other(shorten(ns.as_ref())),
        ResolveResult::Unbound => Ns::None,
        ResolveResult::Unknown(prefix) => {
            return Err(EnvelopeError::NotXml(format!("undeclared namespace prefix `{}`", shorten(&prefix))));
        }
    })
}

/// Resolves the body of `&...;` (without `&` and `;`) by the shared XML rules: the five
/// predefined entities and character references only.
fn resolve_reference(body: &str) -> Result<char, EnvelopeError> {
    crate::xml::resolve_reference(body).map_err(|err| match err {
        ReferenceError::UnknownEntity => EnvelopeError::UnknownEntity(shorten(body)),
        ReferenceError::InvalidCharRef => EnvelopeError::InvalidCharRef(shorten(body)),
    })
}

fn is_utf8_label(label: &str) -> bool {
    ["utf-8", "utf8", "us-ascii", "ascii"].iter().any(|ok| label.eq_ignore_ascii_case(ok))
}

fn is_xml_whitespace(text: &str) -> bool {
    text.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Keeps names quoted in error messages short (they come from the sender).
fn shorten(text: &str) -> String {
    const MAX_CHARS: usize = 80;
    match text.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Everything up to and including the envelope's end tag.
fn read_envelope<R: BufRead>(
    parser: &mut Parser<R>,
    limits: &Limits,
    on_response: &mut dyn FnMut(Option<&str>, &mut dyn BufRead),
) -> Result<Call, EnvelopeError> {
    let (ns, empty) = loop {
        match parser.next()? {
            Ev::Start { ns, empty } => break (ns, empty),
            Ev::Comment | Ev::Pi => {}
            Ev::Text { plain: true } if is_xml_whitespace(&parser.text) => {}
            Ev::Text { .. } => {
                return Err(EnvelopeError::NotXml("text before the root element".into()));
            }
            Ev::End => {
                return Err(EnvelopeError::NotXml("end tag before the root element".into()));
            }
            Ev::Eof => return Err(EnvelopeError::NotXml("no root element".into())),
        }
    };
    if parser.name != "Envelope" {
        return Err(EnvelopeError::NotAnEnvelope);
    }
    if ns != Ns::Soap11 {
        return Err(EnvelopeError::VersionMismatch);
    }
    if empty {
        return Err(EnvelopeError::NoBody);
    }
    let mut call = None;
    loop {
        match parser.next()? {
            Ev::Start { ns: Ns::Soap11, empty } if call.is_none() && parser.name == "Body" => {
                call = Some(read_body(parser, empty, limits, on_response)?);
            }
            // The Header, and anything else a SOAP 1.1 envelope may carry, is not for us.
            Ev::Start { empty, .. } => parser.skip_element(empty)?,
            Ev::End => break,
            Ev::Eof => return Err(EnvelopeError::Truncated),
            Ev::Text { .. } | Ev::Comment | Ev::Pi => {}
        }
    }
    call.ok_or(EnvelopeError::NoBody)
}

/// The Body, from just after its start tag to its end tag.
fn read_body<R: BufRead>(
    parser: &mut Parser<R>,
    empty: bool,
    limits: &Limits,
    on_response: &mut dyn FnMut(Option<&str>, &mut dyn BufRead),
) -> Result<Call, EnvelopeError> {
    if empty {
        return Err(EnvelopeError::EmptyBody);
    }
    let call = loop {
        match parser.next()? {
            Ev::Start { ns: Ns::Qbwc, empty } => {
                let method = Method::from_name(&parser.name)
                    .ok_or_else(|| EnvelopeError::UnknownMethod(shorten(&parser.name)))?;
                break read_method(parser, method, empty, limits, on_response)?;
            }
            Ev::Start { ns, .. } => {
                return Err(EnvelopeError::WrongNamespace { found: ns.into_uri() });
            }
            Ev::End => return Err(EnvelopeError::EmptyBody),
            Ev::Eof => return Err(EnvelopeError::Truncated),
            Ev::Text { .. } | Ev::Comment | Ev::Pi => {}
        }
    };
    loop {
        match parser.next()? {
            Ev::Start { empty, .. } => parser.skip_element(empty)?,
            Ev::End => return Ok(call),
            Ev::Eof => return Err(EnvelopeError::Truncated),
            Ev::Text { .. } | Ev::Comment | Ev::Pi => {}
        }
    }
}

/// The method element's parameters, from just after its start tag to its end tag.
fn read_method<R: BufRead>(
    parser: &mut Parser<R>,
    method: Method,
    empty: bool,
    limits: &Limits,
    on_response: &mut dyn FnMut(Option<&str>, &mut dyn BufRead),
) -> Result<Call, EnvelopeError> {
    let names = method.params();
    let mut values: [String; MAX_PARAMS] = Default::default();
    let mut seen = [false; MAX_PARAMS];
    if !empty {
        loop {
            match parser.next()? {
                Ev::Start { ns, empty } => {
                    let known = match ns {
                        Ns::Qbwc | Ns::None => names.iter().position(|name| *name == parser.name),
                        Ns::Soap11 | Ns::Other(_) => None,
                    };
                    match known {
                        // A repeated parameter is ignored: the first one wins.
                        Some(index) if !seen[index] => {
                            seen[index] = true;
                            let name = names[index];
                            if method == Method::ReceiveResponseXml && name == "response" {
                                let ticket = Some(values[0].as_str()).filter(|t| !t.is_empty());
                                stream_response(parser, empty, ticket, on_response)?;
                            } else {
                                let limit = if name == "strHCPResponse" {
                                    limits.max_hcp_bytes
                                } else {
                                    limits.max_param_bytes
                                };
                                values[index] = parser.read_text(empty, name, limit)?;
                            }
                        }
                        _ => parser.skip_element(empty)?,
                    }
                }
                Ev::End => break,
                Ev::Eof => return Err(EnvelopeError::Truncated),
                Ev::Text { .. } | Ev::Comment | Ev::Pi => {}
            }
        }
    }
    Ok(method.build(values))
}

/// Hands a non-empty `response` to the callback, then skips whatever it left unread.
fn stream_response<R: BufRead>(
    parser: &mut Parser<R>,
    empty: bool,
    ticket: Option<&str>,
    on_response: &mut dyn FnMut(Option<&str>, &mut dyn BufRead),
) -> Result<(), EnvelopeError> {
    if empty {
        return Ok(());
    }
    let mut reader = ResponseReader {
        parser,
        chunk: Vec::new(),
        pos: 0,
        done: false,
        failed: None,
        at_markup: false,
        reference: None,
        utf8_carry: Vec::new(),
        after_cr: false,
    };
    // Read the first chunk first, so an empty `response` never reaches the callback. An error
    // there reaches both the callback (on its first read) and the caller.
    if let Err(err) = reader.refill() {
        reader.failed = Some(err);
    } else if reader.done && reader.chunk.is_empty() {
        return Ok(());
    }
    on_response(ticket, &mut reader);
    if let Some(err) = reader.failed.take() {
        return Err(err);
    }
    reader.drain()
}

/// How much unescaped text [`ResponseReader`] gathers before handing it on.
const RESPONSE_CHUNK: usize = 16 * 1024;

/// The longest entity or character reference accepted (`&#x10FFFF;` has 8 characters inside).
const MAX_REFERENCE: usize = 16;

/// The text of `response`, unescaped straight from the input bytes and handed on in chunks of
/// about [`RESPONSE_CHUNK`] bytes.
///
/// QBWC escapes the whole qbXML document, so its text is mostly tiny pieces between `&lt;` and
/// `&gt;`. Rather than take one parser event per piece, the reader scans the bytes itself (for `&`
/// and `<` only), resolves the five predefined entities and character references, checks UTF-8,
/// and normalizes line ends as XML requires. At a `<` it hands back to the parser for the markup:
/// the end of `response`, a CDATA section (passed through raw), a comment.
///
/// Invariant: unless `done`, `chunk[pos..]` is the unread rest of the current chunk.
struct ResponseReader<'p, R> {
    parser: &'p mut Parser<R>,
    /// Unescaped text, valid UTF-8.
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
    /// The first error met; every later read fails too.
    failed: Option<EnvelopeError>,
    /// The input is at a `<` that the parser must read.
    at_markup: bool,
    /// Inside `&...;`: the bytes after `&` seen so far.
    reference: Option<Vec<u8>>,
    /// The start of a UTF-8 sequence cut by the end of the input buffer.
    utf8_carry: Vec<u8>,
    /// The last text byte was a CR (already written as LF): a following LF is dropped.
    after_cr: bool,
}

impl<R: BufRead> ResponseReader<'_, R> {
    /// Gathers the next chunk once the current one is used up.
    fn refill(&mut self) -> Result<(), EnvelopeError> {
        if self.done || self.pos < self.chunk.len() {
            return Ok(());
        }
        self.chunk.clear();
        self.pos = 0;
        while !self.done && self.chunk.len() < RESPONSE_CHUNK {
            if self.at_markup {
                self.at_markup = false;
                self.markup()?;
            } else {
                self.scan()?;
            }
        }
        Ok(())
    }

    /// Lets the parser read the markup at the input's `<`.
    fn markup(&mut self) -> Result<(), EnvelopeError> {
        if !self.utf8_carry.is_empty() {
            return Err(EnvelopeError::InvalidUtf8);
        }
        match self.parser.next()? {
            Ev::Text { .. } => {
                self.chunk.extend_from_slice(self.parser.text.as_bytes());
                self.after_cr = false;
            }
            Ev::End => self.done = true,
            Ev::Start { .. } => return Err(EnvelopeError::ElementInParameter("response")),
            Ev::Eof => return Err(EnvelopeError::Truncated),
            Ev::Comment | Ev::Pi => {}
        }
        Ok(())
    }

    /// Consumes text bytes from the input up to the next `<`, or the end of the input's buffer,
    /// unescaping references on the way.
    fn scan(&mut self) -> Result<(), EnvelopeError> {
        let input = self.parser.reader.get_mut();
        let available = input.fill_buf().map_err(EnvelopeError::Io)?;
        if available.is_empty() {
            return Err(EnvelopeError::Truncated);
        }
        if let Some(reference) = self.reference.as_mut() {
            let Some(end) = memchr::memchr(b';', available) else {
                if reference.len() + available.len() > MAX_REFERENCE {
                    return Err(EnvelopeError::UnknownEntity(String::from_utf8_lossy(reference).into_owned()));
                }
                reference.extend_from_slice(available);
                let used = available.len();
                input.consume(used);
                return Ok(());
            };
            reference.extend_from_slice(&available[..end]);
            input.consume(end + 1);
            let reference = self.reference.take().unwrap_or_default();
            let body = std::str::from_utf8(&reference).map_err(|_| EnvelopeError::InvalidUtf8)?;
            push_char(&mut self.chunk, resolve_reference(body)?);
            self.after_cr = false;
            return Ok(());
        }
        if !self.utf8_carry.is_empty() {
            // Complete the character cut by the end of the previous buffer.
            let full = utf8_sequence_len(self.utf8_carry[0]);
            let take = full.saturating_sub(self.utf8_carry.len()).min(available.len());
            self.utf8_carry.extend_from_slice(&available[..take]);
            input.consume(take);
            if self.utf8_carry.len() < full {
                return Ok(());
            }
            std::str::from_utf8(&self.utf8_carry).map_err(|_| EnvelopeError::InvalidUtf8)?;
            self.chunk.extend_from_slice(&self.utf8_carry);
            self.utf8_carry.clear();
            self.after_cr = false;
            return Ok(());
        }
        // The text up to the next `<`, checked for UTF-8 in one go (references are ASCII, so this
        // is the same as checking every piece between them). A character cut by the end of the
        // buffer waits in `utf8_carry`.
        let markup = memchr::memchr(b'<', available);
        let region = &available[..markup.unwrap_or(available.len())];
        let valid = match std::str::from_utf8(region) {
            Ok(_) => region.len(),
            Err(err) if err.error_len().is_none() && markup.is_none() => err.valid_up_to(),
            Err(_) => return Err(EnvelopeError::InvalidUtf8),
        };
        let text = &region[..valid];
        let has_cr = memchr::memchr(b'\r', text).is_some();
        let mut at = 0;
        let cut_reference = loop {
            let rest = &text[at..];
            // References come every few bytes (QBWC escapes every `<` and `>`): a plain search
            // beats memchr's setup on such short runs.
            let Some(amp) = rest.iter().position(|&b| b == b'&') else {
                push_run(&mut self.chunk, &mut self.after_cr, rest, has_cr);
                break None;
            };
            if has_cr || self.after_cr {
                push_run(&mut self.chunk, &mut self.after_cr, &rest[..amp], has_cr);
            } else {
                self.chunk.extend_from_slice(&rest[..amp]);
            }
            let body = &rest[amp + 1..];
            self.after_cr = false;
            // `&lt;` and `&gt;` come around every tag: checked in place first (see
            // `predefined_entity_prefix` for what that saves).
            if let Some((byte, len)) = crate::xml::predefined_entity_prefix(body) {
                self.chunk.push(byte);
                at += amp + 1 + len;
                continue;
            }
            // A reference is a few bytes long: a plain search again.
            match body.iter().take(MAX_REFERENCE + 1).position(|&b| b == b';') {
                Some(end) => {
                    // `text` is valid UTF-8 and `&`, `;` are ASCII, so this cannot fail.
                    let name = std::str::from_utf8(&body[..end]).map_err(|_| EnvelopeError::InvalidUtf8)?;
                    push_char(&mut self.chunk, resolve_reference(name)?);
                    at += amp + 1 + end + 1;
                }
                None if body.len() > MAX_REFERENCE || markup.is_some() => {
                    let shown = &body[..body.len().min(MAX_REFERENCE)];
                    return Err(EnvelopeError::UnknownEntity(String::from_utf8_lossy(shown).into_owned()));
                }
                // A reference holds ASCII only: a character cut after its start is an error.
                None if valid < region.len() => return Err(EnvelopeError::InvalidUtf8),
                // The reference goes on in the next buffer.
                None => break Some(body.to_vec()),
            }
        };
        match markup {
            Some(used) => {
                input.consume(used);
                self.at_markup = true;
            }
            None => {
                if cut_reference.is_none() {
                    self.utf8_carry.extend_from_slice(&region[valid..]);
                }
                self.reference = cut_reference;
                let used = available.len();
                input.consume(used);
            }
        }
        Ok(())
    }

    /// Skips the unread rest, still checking it.
    fn drain(&mut self) -> Result<(), EnvelopeError> {
        loop {
            self.pos = self.chunk.len();
            if self.done {
                return Ok(());
            }
            self.refill()?;
        }
    }
}

/// Appends a run of checked text, writing CR LF and a lone CR as LF.
fn push_run(chunk: &mut Vec<u8>, after_cr: &mut bool, run: &[u8], has_cr: bool) {
    let Some((&first, _)) = run.split_first() else {
        return;
    };
    let run = if *after_cr && first == b'\n' { &run[1..] } else { run };
    *after_cr = false;
    if !has_cr {
        chunk.extend_from_slice(run);
        return;
    }
    let mut pieces = run.split(|&b| b == b'\r').peekable();
    let mut follows_cr = false;
    while let Some(piece) = pieces.next() {
        let piece = if follows_cr { piece.strip_prefix(b"\n").unwrap_or(piece) } else { piece };
        chunk.extend_from_slice(piece);
        follows_cr = pieces.peek().is_some();
        if follows_cr {
            chunk.push(b'\n');
        }
    }
    *after_cr = run.last() == Some(&b'\r');
}

/// Appends one character as UTF-8.
fn push_char(out: &mut Vec<u8>, c: char) {
    let mut utf8 = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
}

/// How long the UTF-8 sequence starting with `lead` is (1 for a byte that cannot start one, so
/// the check that follows refuses it).
fn utf8_sequence_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

fn to_io_error(err: &EnvelopeError) -> io::Error {
    let kind = match err {
        EnvelopeError::Io(inner) => inner.kind(),
        _ => io::ErrorKind::InvalidData,
    };
    io::Error::new(kind, err.to_string())
}

impl<R: BufRead> BufRead for ResponseReader<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if let Some(err) = &self.failed {
            return Err(to_io_error(err));
        }
        if let Err(err) = self.refill() {
            let io_err = to_io_error(&err);
            self.failed = Some(err);
            return Err(io_err);
        }
        if self.pos >= self.chunk.len() {
            return Ok(&[]);
        }
        Ok(&self.chunk[self.pos..])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = self.pos.saturating_add(amount).min(self.chunk.len());
    }
}

impl<R: BufRead> Read for ResponseReader<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// After the envelope: only whitespace and comments.
fn read_epilog<R: BufRead>(parser: &mut Parser<R>) -> Result<(), EnvelopeError> {
    loop {
        match parser.next()? {
            Ev::Eof => return Ok(()),
            Ev::Comment => {}
            Ev::Text { plain: true } if is_xml_whitespace(&parser.text) => {}
            _ => return Err(EnvelopeError::NotXml("content after the envelope".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    const TICKET: &str = "ea0bf596246b623664adb465cc8662a2";
    const CDATA_TICKET: &str = "0b7c5e2a-9d41-4c1e-8f36-2a5d7e9b1c04";

    fn parse(xml: &str) -> Result<(Call, Option<String>), EnvelopeError> {
        parse_call(xml.as_bytes(), &Limits::default())
    }

    fn parse_ok(xml: &str) -> (Call, Option<String>) {
        parse(xml).unwrap_or_else(|err| panic!("{err}: {xml}"))
    }

    /// A typical QBWC envelope around `body` (the content of soap:Body).
    fn envelope(body: &str) -> String {
        format!(
            concat!(
                r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/""#,
                r#" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">"#,
                "<soap:Body>{}</soap:Body></soap:Envelope>"
            ),
            body
        )
    }

    fn authenticate(params: &str) -> String {
        envelope(&format!(r#"<authenticate xmlns="http://developer.intuit.com/">{params}</authenticate>"#))
    }

    #[test]
    fn real_requests_parse_to_the_expected_calls() {
        let cases = [
            (include_str!("../../qbxml-fixtures/soap/serverVersion.request.xml"), Call::ServerVersion),
            (
                include_str!("../../qbxml-fixtures/soap/clientVersion.request.xml"),
                Call::ClientVersion { version: "2.0.0.116".into() },
            ),
            (
                include_str!("../../qbxml-fixtures/soap/authenticate.request.xml"),
                Call::Authenticate { username: "api".into(), password: "password".into() },
            ),
            (
                include_str!("../../qbxml-fixtures/soap/sendRequestXML.request.subsequent-call.xml"),
                Call::SendRequestXml {
                    ticket: TICKET.into(),
                    hcp_response: String::new(),
                    company_file_name: r"C:\KPALMER\QBW\Test Company.QBW".into(),
                    country: "US".into(),
                    major_version: Some(5),
                    minor_version: Some(0),
                },
            ),
            (
                include_str!("../../qbxml-fixtures/soap/receiveResponseXML.request.customer-add-rs.xml"),
                Call::ReceiveResponseXml { ticket: TICKET.into(), hresult: String::new(), message: String::new() },
            ),
            (
                include_str!("../../qbxml-fixtures/soap/receiveResponseXML.request.status1-and-3140.xml"),
                Call::ReceiveResponseXml {
                    ticket: "354f40b4-b661-4472-a13f-8abf13a743c3".into(),
                    hresult: String::new(),
                    message: String::new(),
                },
            ),
            (
                include_str!("../../qbxml-fixtures/soap/getLastError.request.xml"),
                Call::GetLastError { ticket: TICKET.into() },
            ),
            (
                include_str!("../../qbxml-fixtures/soap/closeConnection.request.xml"),
                Call::CloseConnection { ticket: TICKET.into() },
            ),
        ];
        for (xml, expected) in cases {
            assert_eq!(parse_ok(xml).0, expected);
        }
    }

    #[test]
    fn first_send_request_xml_carries_the_unescaped_hcp_response() {
        let xml = include_str!("../../qbxml-fixtures/soap/sendRequestXML.request.first-call-with-strHCPResponse.xml");
        let (call, response) = parse_ok(xml);
        assert_eq!(response, None);
        let Call::SendRequestXml { ticket, hcp_response, company_file_name, country, major_version, minor_version } =
            call
        else {
            panic!("not sendRequestXML: {call:?}");
        };
        assert_eq!(ticket, TICKET);
        assert_eq!(company_file_name, r"C:\KPALMER\QBW\Test Company.QBW");
        assert_eq!(country, "US");
        assert_eq!((major_version, minor_version), (Some(5), Some(0)));
        assert_eq!(hcp_response.len(), 4172);
        assert!(hcp_response.starts_with(
            "<?xml version=\"1.0\" ?>\n<QBXML>\n<QBXMLMsgsRs>\n<HostQueryRs requestID=\"0\" statusCode=\"0\""
        ));
        assert!(hcp_response.contains("<ProductName>QuickBooks Pro 2006</ProductName>"));
        assert!(hcp_response.contains("<DataExtValue>{ee032e95-47f7-2564-096f-2d4545fcb021}</DataExtValue>"));
        assert!(hcp_response.contains("<IsPersonalDataAccessAllowed>false</IsPersonalDataAccessAllowed>"));
        assert!(hcp_response.ends_with("</PreferencesQueryRs>\n</QBXMLMsgsRs>\n</QBXML>\n"));
        assert!(!hcp_response.contains("&lt;") && !hcp_response.contains("&gt;"));
    }

    /// Runs `read_call` collecting the response and the ticket the callback was given.
    fn stream(xml: &str) -> (Call, Vec<(Option<String>, String)>) {
        let mut seen = Vec::new();
        let call = read_call(xml.as_bytes(), &Limits::default(), &mut |ticket, reader| {
            let mut text = String::new();
            reader.read_to_string(&mut text).expect("valid response text");
            seen.push((ticket.map(str::to_owned), text));
        })
        .unwrap_or_else(|err| panic!("{err}"));
        (call, seen)
    }

    #[test]
    fn receive_response_xml_streams_the_unescaped_document() {
        let (_, seen) =
            stream(include_str!("../../qbxml-fixtures/soap/receiveResponseXML.request.customer-add-rs.xml"));
        assert_eq!(seen.len(), 1);
        let (ticket, text) = &seen[0];
        assert_eq!(ticket.as_deref(), Some(TICKET));
        assert_eq!(text.len(), 1070);
        assert_eq!(&text[..60], "<?xml version=\"1.0\" ?>\n<QBXML>\n<QBXMLMsgsRs>\n<CustomerAddRs ");
        assert_eq!(&text[text.len() - 60..], "us>\n</CustomerRet>\n</CustomerAddRs>\n</QBXMLMsgsRs>\n</QBXML>\n");
        assert!(text.contains("<CustomerAddRs requestID=\"Q3VzdG9tZXJBZGR8MTU=\" statusCode=\"0\""));

        let (_, seen) =
            stream(include_str!("../../qbxml-fixtures/soap/receiveResponseXML.request.status1-and-3140.xml"));
        let (ticket, text) = &seen[0];
        assert_eq!(ticket.as_deref(), Some("354f40b4-b661-4472-a13f-8abf13a743c3"));
        assert_eq!(text.len(), 2644);
        assert_eq!(&text[..60], "<?xml version=\"1.0\" ?>\n<QBXML>\n<QBXMLMsgsRs>\n<ItemInventoryQ");
        assert_eq!(&text[text.len() - 60..], "ord does not exist in the list.\" />\n</QBXMLMsgsRs>\n</QBXML>\n");
        // `&amp;quot;` in the SOAP text is `&quot;` in the qbXML document.
        assert!(text.contains("QuickBooks Customer &quot;nononononoImNotThereAlrightDylan&quot; in the SalesOrder"));
    }

    #[test]
    fn cdata_response_passes_through_raw() {
        let (call, seen) =
            stream(include_str!("../../qbxml-fixtures/soap/receiveResponseXML.request.cdata-response.xml"));
        assert_eq!(
            call,
            Call::ReceiveResponseXml { ticket: CDATA_TICKET.into(), hresult: String::new(), message: String::new() }
        );
        let (ticket, text) = &seen[0];
        assert_eq!(ticket.as_deref(), Some(CDATA_TICKET));
        assert_eq!(text.len(), 292);
        assert!(text.starts_with("<?xml version=\"1.0\" ?>\n<QBXML>\n"));
        assert!(text.contains("<Name>Smith &amp; Sons &lt;West&gt;</Name>"));
        assert!(text.ends_with("</QBXMLMsgsRs>\n</QBXML>\n"));
    }

    #[test]
    fn response_split_across_many_references_is_joined() {
        let (_, seen) =
            stream(include_str!("../../qbxml-fixtures/soap/receiveResponseXML.request.entity-split-response.xml"));
        let expected = concat!(
            "<?xml version=\"1.0\" ?>\r\n<QBXML><QBXMLMsgsRs>",
            "<CustomerQueryRs requestID=\"1\" statusCode=\"0\" statusSeverity=\"Info\" statusMessage=\"Status OK\">",
            "<CustomerRet><Name>Café Zoë &amp; Søn's \"Best\" 😀</Name>\n</CustomerRet>",
            "</CustomerQueryRs></QBXMLMsgsRs></QBXML>",
        );
        assert_eq!(seen[0].1, expected);
    }

    #[test]
    fn empty_response_never_reaches_the_callback() {
        let xml = include_str!("../../qbxml-fixtures/soap/receiveResponseXML.request.hresult-error.xml");
        let (call, seen) = stream(xml);
        assert!(seen.is_empty());
        assert_eq!(
            call,
            Call::ReceiveResponseXml {
                ticket: CDATA_TICKET.into(),
                hresult: "0x80040400".into(),
                message: "QuickBooks found an error when parsing the provided XML text stream.".into(),
            }
        );
        for response in
            ["", "<response></response>", "<response><!-- nothing --></response>", "<response><![CDATA[]]></response>"]
        {
            let xml = envelope(&format!(
                r#"<receiveResponseXML xmlns="http://developer.intuit.com/"><ticket>t</ticket>{response}<hresult>h</hresult></receiveResponseXML>"#
            ));
            let (call, seen) = stream(&xml);
            assert!(seen.is_empty(), "{response}");
            assert_eq!(
                call,
                Call::ReceiveResponseXml { ticket: "t".into(), hresult: "h".into(), message: String::new() }
            );
        }
    }

    #[test]
    fn callback_may_read_part_or_none_of_the_response() {
        let xml = envelope(concat!(
            r#"<receiveResponseXML xmlns="http://developer.intuit.com/"><response>&lt;QBXML&gt;"#,
            r#"<![CDATA[<a/>]]>&amp;&#233;<!-- c -->tail</response><ticket>late</ticket>"#,
            "<hresult /><message>m</message></receiveResponseXML>",
        ));
        let expected = Call::ReceiveResponseXml { ticket: "late".into(), hresult: String::new(), message: "m".into() };
        for wanted in [0usize, 1, 3, 8, 12, 100] {
            let mut calls = 0;
            let mut got = Vec::new();
            let call = read_call(xml.as_bytes(), &Limits::default(), &mut |ticket, reader| {
                calls += 1;
                assert_eq!(ticket, None, "the ticket came after the response");
                let mut byte = [0u8; 1];
                while got.len() < wanted && reader.read(&mut byte).unwrap() == 1 {
                    got.push(byte[0]);
                }
            })
            .unwrap();
            assert_eq!(calls, 1);
            assert_eq!(call, expected);
            let full = "<QBXML><a/>&étail".as_bytes();
            assert_eq!(got, &full[..wanted.min(full.len())]);
        }
    }

    #[test]
    fn errors_inside_the_response_reach_the_callback_and_the_caller() {
        let xml = envelope(
            r#"<receiveResponseXML xmlns="http://developer.intuit.com/"><response>&lt;QBXML&gt;&nbsp;</response></receiveResponseXML>"#,
        );
        let mut reader_error = None;
        let result = read_call(xml.as_bytes(), &Limits::default(), &mut |_, reader| {
            let mut text = String::new();
            reader_error = reader.read_to_string(&mut text).err().map(|e| e.kind());
        });
        assert_eq!(reader_error, Some(io::ErrorKind::InvalidData));
        assert!(matches!(result, Err(EnvelopeError::UnknownEntity(name)) if name == "nbsp"));
        // The same error when the callback stops before reaching it.
        let result = read_call(xml.as_bytes(), &Limits::default(), &mut |_, _| {});
        assert!(matches!(result, Err(EnvelopeError::UnknownEntity(_))));
        let xml = envelope(
            r#"<receiveResponseXML xmlns="http://developer.intuit.com/"><response>x<b>y</b></response></receiveResponseXML>"#,
        );
        assert!(matches!(parse(&xml), Err(EnvelopeError::ElementInParameter("response"))));
    }

    #[test]
    fn the_response_text_does_not_depend_on_where_the_input_is_cut() {
        // Line ends, references, multi-byte characters and a CDATA section, read through input
        // buffers of every size from 1 byte up, so each one is cut at every possible place.
        let xml = envelope(
            "<receiveResponseXML xmlns=\"http://developer.intuit.com/\"><response>\
             &lt;a&gt;x\r\ny\rz\r&#13;\r\n&#10;Caf\u{e9} \u{1d11e}&amp;amp;&#233;&#x1F600;&quot;&apos;&lt;/a&gt;\
             <![CDATA[<b>\r\n</b>]]>&lt;c/&gt;\r</response></receiveResponseXML>",
        );
        let expected = "<a>x\ny\nz\n\r\n\nCaf\u{e9} \u{1d11e}&amp;\u{e9}\u{1f600}\"'</a><b>\n</b><c/>\n";
        for capacity in 1..=64 {
            let input = io::BufReader::with_capacity(capacity, xml.as_bytes());
            let mut text = String::new();
            read_call(input, &Limits::default(), &mut |_, reader| {
                reader.read_to_string(&mut text).unwrap();
            })
            .unwrap_or_else(|err| panic!("buffers of {capacity} bytes: {err}"));
            assert_eq!(text, expected, "buffers of {capacity} bytes");
        }
        // A character cut by a reference or by markup, and a reference cut by markup, are
        // refused however the input is buffered.
        let bad: [&[u8]; 4] = [b"\xC3&amp;", b"\xC3<![CDATA[x]]>", b"&lt<![CDATA[x]]>", b"&#x41<![CDATA[;]]>"];
        for bad in bad {
            let mut xml = envelope(
                "<receiveResponseXML xmlns=\"http://developer.intuit.com/\"><response>ab@</response></receiveResponseXML>",
            )
            .into_bytes();
            let at = xml.iter().position(|&b| b == b'@').unwrap();
            xml.splice(at..at + 1, bad.iter().copied());
            for capacity in 1..=24 {
                let input = io::BufReader::with_capacity(capacity, xml.as_slice());
                let result = read_call(input, &Limits::default(), &mut |_, _| {});
                assert!(result.is_err(), "{bad:?} with buffers of {capacity} bytes");
            }
        }
    }

    /// Serves segments (each repeated some number of times) `chunk` bytes at a time,
    /// generating the body on the fly, and counts what it handed out.
    struct LazyBody {
        segments: Vec<(Vec<u8>, usize)>,
        segment: usize,
        round: usize,
        pos: usize,
        chunk: usize,
        served: Rc<Cell<u64>>,
    }

    impl BufRead for LazyBody {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            while self.segment < self.segments.len() {
                let (bytes, rounds) = &self.segments[self.segment];
                if self.pos < bytes.len() {
                    let end = (self.pos + self.chunk).min(bytes.len());
                    return Ok(&bytes[self.pos..end]);
                }
                self.pos = 0;
                self.round += 1;
                if self.round >= *rounds {
                    self.round = 0;
                    self.segment += 1;
                }
            }
            Ok(&[])
        }

        fn consume(&mut self, amount: usize) {
            self.pos += amount;
            self.served.set(self.served.get() + amount as u64);
        }
    }

    impl Read for LazyBody {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let available = self.fill_buf()?;
            let n = available.len().min(out.len());
            out[..n].copy_from_slice(&available[..n]);
            self.consume(n);
            Ok(n)
        }
    }

    #[test]
    fn a_20_mb_response_is_streamed_not_collected() {
        let notes = "Weekly cleaning, side entrance code 4411, keys with the front desk. ".repeat(12);
        let escaped = format!(
            "&lt;CustomerRet&gt;&lt;Name&gt;Caf&#233; &amp;amp; Co&lt;/Name&gt;&lt;Notes&gt;{notes}&lt;/Notes&gt;&lt;/CustomerRet&gt;\n"
        );
        let plain = format!("<CustomerRet><Name>Café &amp; Co</Name><Notes>{notes}</Notes></CustomerRet>\n");
        let rounds = (20usize << 20) / plain.len();
        let head = "&lt;?xml version=&quot;1.0&quot; ?&gt;&#13;&#10;&lt;QBXML&gt;&lt;QBXMLMsgsRs&gt;";
        let tail = "&lt;/QBXMLMsgsRs&gt;&lt;/QBXML&gt;";
        let before = envelope(&format!(
            r#"<receiveResponseXML xmlns="http://developer.intuit.com/"><ticket>t-big</ticket><response>{head}"#
        ));
        let before = before[..before.find("</soap:Body>").unwrap()].to_owned();
        let after = format!(
            "{tail}</response><hresult /><message>done</message></receiveResponseXML></soap:Body></soap:Envelope>"
        );
        let served = Rc::new(Cell::new(0u64));
        let body = LazyBody {
            segments: vec![(before.into_bytes(), 1), (escaped.into_bytes(), rounds), (after.into_bytes(), 1)],
            segment: 0,
            round: 0,
            pos: 0,
            chunk: 7,
            served: Rc::clone(&served),
        };

        let mut total = 0u64;
        let mut served_at_first_byte = None;
        let mut start = Vec::new();
        let call = read_call(body, &Limits::default(), &mut |ticket, reader| {
            assert_eq!(ticket, Some("t-big"));
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = reader.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                served_at_first_byte.get_or_insert(served.get());
                if start.len() < 128 {
                    start.extend_from_slice(&buf[..n.min(128 - start.len())]);
                }
                total += n as u64;
            }
        })
        .unwrap();

        assert_eq!(
            call,
            Call::ReceiveResponseXml { ticket: "t-big".into(), hresult: String::new(), message: "done".into() }
        );
        let expected = "<?xml version=\"1.0\" ?>\r\n<QBXML><QBXMLMsgsRs>".len()
            + rounds * plain.len()
            + "</QBXMLMsgsRs></QBXML>".len();
        assert_eq!(total, expected as u64);
        assert!(total > 19 << 20);
        assert!(
            start.starts_with(
                b"<?xml version=\"1.0\" ?>\r\n<QBXML><QBXMLMsgsRs><CustomerRet><Name>Caf\xc3\xa9 &amp; Co"
            )
        );
        // The first bytes reached the callback while almost all of the body was still unread.
        assert!(served_at_first_byte.unwrap() < 64 * 1024, "{served_at_first_byte:?}");
    }

    #[test]
    fn prefixed_method_with_unqualified_parameters() {
        let xml = include_str!("../../qbxml-fixtures/soap/prefixed-method.authenticate.request.xml");
        let expected = Call::Authenticate { username: "acme-sync".into(), password: "s3cret & more".into() };
        assert_eq!(parse_ok(xml).0, expected);
        let xml = envelope(concat!(
            r#"<q1:authenticate xmlns:q1="http://developer.intuit.com/">"#,
            "<q1:strUserName>acme-sync</q1:strUserName><q1:strPassword>s3cret &amp; more</q1:strPassword>",
            "</q1:authenticate>"
        ));
        assert_eq!(parse_ok(&xml).0, expected);
    }

    #[test]
    fn other_envelope_prefixes_headers_and_comments_are_accepted() {
        let xml = concat!(
            "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- captured -->\n",
            r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="http://developer.intuit.com/">"#,
            r#"<SOAP-ENV:Header><ns1:Auth SOAP-ENV:mustUnderstand="0"><ns1:ticket>not-this-one</ns1:ticket></ns1:Auth></SOAP-ENV:Header>"#,
            "\n  <SOAP-ENV:Body>\n    <?trace on?><ns1:closeConnection>\n      <ns1:ticket>abc</ns1:ticket>\n    </ns1:closeConnection>\n  </SOAP-ENV:Body>\n",
            "</SOAP-ENV:Envelope>\n<!-- trailing comment -->\n\n",
        );
        assert_eq!(parse_ok(xml).0, Call::CloseConnection { ticket: "abc".into() });
    }

    #[test]
    fn missing_unknown_foreign_and_repeated_parameters() {
        // Missing parameters are empty; bad integers are None.
        let xml = envelope(
            r#"<sendRequestXML xmlns="http://developer.intuit.com/"><qbXMLMajorVers>thirteen</qbXMLMajorVers></sendRequestXML>"#,
        );
        let expected = Call::SendRequestXml {
            ticket: String::new(),
            hcp_response: String::new(),
            company_file_name: String::new(),
            country: String::new(),
            major_version: None,
            minor_version: None,
        };
        assert_eq!(parse_ok(&xml).0, expected);
        // Unknown children (with content), parameters in another namespace, wrong case and
        // repeats are ignored; the first occurrence wins.
        let xml = authenticate(concat!(
            "<extra><nested>x</nested></extra>",
            r#"<strUserName xmlns="urn:other">evil</strUserName>"#,
            "<StrUserName>Evil</StrUserName>",
            "<strUserName>  spaced user  </strUserName>",
            "<strUserName>second</strUserName>",
            "<strPassword xsi:nil=\"true\" />",
        ));
        let expected = Call::Authenticate { username: "  spaced user  ".into(), password: String::new() };
        assert_eq!(parse_ok(&xml).0, expected);
        // Every operation, including the interactive ones.
        let cases = [
            (
                r#"<serverVersion xmlns="http://developer.intuit.com/"><strVersion>x</strVersion></serverVersion>"#,
                Call::ServerVersion,
            ),
            (
                r#"<getServerVersion xmlns="http://developer.intuit.com/"><ticket>t</ticket></getServerVersion>"#,
                Call::GetServerVersion { ticket: "t".into() },
            ),
            (
                r#"<connectionError xmlns="http://developer.intuit.com/"><ticket>t</ticket><hresult>0x80040408</hresult><message>Could not start QuickBooks.</message></connectionError>"#,
                Call::ConnectionError {
                    ticket: "t".into(),
                    hresult: "0x80040408".into(),
                    message: "Could not start QuickBooks.".into(),
                },
            ),
            (
                r#"<getInteractiveURL xmlns="http://developer.intuit.com/"><wcTicket>t</wcTicket><sessionID>s</sessionID></getInteractiveURL>"#,
                Call::GetInteractiveUrl { ticket: "t".into(), session_id: "s".into() },
            ),
            (
                r#"<interactiveDone xmlns="http://developer.intuit.com/"><wcTicket>t</wcTicket></interactiveDone>"#,
                Call::InteractiveDone { ticket: "t".into() },
            ),
            (
                r#"<interactiveRejected xmlns="http://developer.intuit.com/"><wcTicket>t</wcTicket><reason>timeout</reason></interactiveRejected>"#,
                Call::InteractiveRejected { ticket: "t".into(), reason: "timeout".into() },
            ),
            (r#"<getLastError xmlns="http://developer.intuit.com/"/>"#, Call::GetLastError { ticket: String::new() }),
        ];
        for (body, expected) in cases {
            assert_eq!(parse_ok(&envelope(body)).0, expected);
        }
    }

    #[test]
    fn line_ends_are_normalised_but_cr_references_survive() {
        let xml = authenticate("<strUserName>a\r\nb\rc&#13;d</strUserName>");
        assert_eq!(parse_ok(&xml).0, Call::Authenticate { username: "a\nb\nc\rd".into(), password: String::new() });
    }

    #[test]
    fn soap_1_2_is_a_version_mismatch() {
        let err = parse(include_str!("../../qbxml-fixtures/soap/soap12.authenticate.request.xml")).unwrap_err();
        assert!(matches!(err, EnvelopeError::VersionMismatch), "{err}");
        assert_eq!(err.fault_code(), super::super::FaultCode::VersionMismatch);
        let err = parse("<Envelope><Body/></Envelope>").unwrap_err();
        assert!(matches!(err, EnvelopeError::VersionMismatch), "{err}");
    }

    #[test]
    fn method_in_the_wrong_namespace_is_refused() {
        let err =
            parse(include_str!("../../qbxml-fixtures/soap/wrong-namespace.authenticate.request.xml")).unwrap_err();
        assert!(
            matches!(&err, EnvelopeError::WrongNamespace { found } if found == "http://developer.intuit.com"),
            "{err}"
        );
        let err = parse(&envelope("<authenticate><strUserName>a</strUserName></authenticate>")).unwrap_err();
        assert!(matches!(&err, EnvelopeError::WrongNamespace { found } if found.is_empty()), "{err}");
    }

    #[test]
    fn unknown_methods_are_refused() {
        let err = parse(&envelope(r#"<Authenticate xmlns="http://developer.intuit.com/"/>"#)).unwrap_err();
        assert!(matches!(&err, EnvelopeError::UnknownMethod(name) if name == "Authenticate"), "{err}");
        // A response envelope is not a request.
        let err = parse(include_str!("../../qbxml-fixtures/soap/authenticate.response.xml")).unwrap_err();
        assert!(matches!(&err, EnvelopeError::UnknownMethod(name) if name == "authenticateResponse"), "{err}");
    }

    #[test]
    fn doctype_and_entities_are_refused() {
        let err =
            parse(include_str!("../../qbxml-fixtures/soap/doctype-entity-bomb.authenticate.request.xml")).unwrap_err();
        assert!(matches!(err, EnvelopeError::Doctype), "{err}");
        let inside = authenticate("<!DOCTYPE x><strUserName>a</strUserName>");
        assert!(matches!(parse(&inside), Err(EnvelopeError::Doctype)));
        let err = parse(&authenticate("<strUserName>&nbsp;</strUserName>")).unwrap_err();
        assert!(matches!(&err, EnvelopeError::UnknownEntity(name) if name == "nbsp"), "{err}");
        for bad in ["&#0;", "&#xD800;", "&#x110000;", "&#xZZ;", "&#;"] {
            let err = parse(&authenticate(&format!("<strUserName>{bad}</strUserName>"))).unwrap_err();
            assert!(matches!(err, EnvelopeError::InvalidCharRef(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn bodies_that_are_not_xml_are_refused() {
        for body in ["", "   \n", "{\"strUserName\": \"api\"}", "hello", "<", "<a", "</a>", "<?xml version=\"1.0\"?>"] {
            let err = parse(body).unwrap_err();
            assert!(matches!(err, EnvelopeError::NotXml(_) | EnvelopeError::Truncated), "{body:?}: {err}");
            assert_eq!(err.fault_code(), super::super::FaultCode::Client);
        }
        for body in ["<html><body>Hello</body></html>", "<a></b>"] {
            let err = parse(body).unwrap_err();
            assert!(matches!(err, EnvelopeError::NotAnEnvelope), "{err}");
        }
        let latin1 = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>".to_owned() + &authenticate("")[38..];
        assert!(matches!(parse(&latin1), Err(EnvelopeError::NotXml(_))));
        let undeclared = envelope("<q1:authenticate/>");
        assert!(matches!(parse(&undeclared), Err(EnvelopeError::NotXml(_))));
    }

    #[test]
    fn invalid_utf8_is_refused() {
        let mut bytes = authenticate("<strUserName>Caf</strUserName>").into_bytes();
        let at = bytes.windows(3).position(|w| w == b"Caf").unwrap() + 3;
        bytes.insert(at, 0xe9); // Latin-1 "é"
        let err = parse_call(&bytes, &Limits::default()).unwrap_err();
        assert!(matches!(err, EnvelopeError::InvalidUtf8), "{err}");
        let utf16: Vec<u8> = "<a/>".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(parse_call(&[[0xff, 0xfe].as_slice(), &utf16].concat(), &Limits::default()).is_err());
    }

    #[test]
    fn envelopes_without_a_method_are_refused() {
        let open = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">"#;
        for body in ["<soap:Body/>", "<soap:Body> </soap:Body>", "<soap:Body><!-- none --></soap:Body>"] {
            let err = parse(&format!("{open}{body}</soap:Envelope>")).unwrap_err();
            assert!(matches!(err, EnvelopeError::EmptyBody), "{body}: {err}");
        }
        for rest in
            ["</soap:Envelope>", "<soap:Header/></soap:Envelope>", "<Body><getLastError/></Body></soap:Envelope>"]
        {
            let err = parse(&format!("{open}{rest}")).unwrap_err();
            assert!(matches!(err, EnvelopeError::NoBody), "{rest}: {err}");
        }
        let err = parse(r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>"#).unwrap_err();
        assert!(matches!(err, EnvelopeError::NoBody), "{err}");
    }

    #[test]
    fn anything_after_the_envelope_is_refused() {
        let good = authenticate("");
        for trailing in ["<x/>", "text", "<?pi?>", "&amp;", "<![CDATA[x]]>"] {
            let err = parse(&format!("{good}{trailing}")).unwrap_err();
            assert!(matches!(err, EnvelopeError::NotXml(_)), "{trailing}: {err}");
        }
        assert!(parse(&format!("{good} \r\n<!-- ok -->\n")).is_ok());
    }

    #[test]
    fn truncated_documents_are_refused() {
        let good = authenticate("<strUserName>a</strUserName>");
        let cut = &good[..good.len() - "</soap:Envelope>".len()];
        assert!(matches!(parse(cut), Err(EnvelopeError::Truncated)));
        let cut = &good[..good.find("</strUserName>").unwrap()];
        assert!(matches!(parse(cut), Err(EnvelopeError::Truncated)));
    }

    #[test]
    fn depth_and_size_limits_hold() {
        let deep = authenticate(&format!("<x>{}{}</x>", "<y>".repeat(40), "</y>".repeat(40)));
        assert!(matches!(parse(&deep), Err(EnvelopeError::TooDeep)));
        let limits = Limits { max_depth: 3, ..Limits::default() };
        let shallow = envelope(r#"<serverVersion xmlns="http://developer.intuit.com/"/>"#);
        assert!(parse_call(shallow.as_bytes(), &limits).is_ok());
        assert!(matches!(parse_call(authenticate("<a/>").as_bytes(), &limits), Err(EnvelopeError::TooDeep)));

        let limits = Limits { max_param_bytes: 10, max_hcp_bytes: 20, ..Limits::default() };
        let send = |ticket: &str, hcp: &str| {
            envelope(&format!(
                r#"<sendRequestXML xmlns="http://developer.intuit.com/"><ticket>{ticket}</ticket><strHCPResponse>{hcp}</strHCPResponse></sendRequestXML>"#
            ))
        };
        assert!(parse_call(send("0123456789", "&lt;01234567890123456789"[..23].as_ref()).as_bytes(), &limits).is_ok());
        let err = parse_call(send("0123456789a", "").as_bytes(), &limits).unwrap_err();
        assert!(matches!(err, EnvelopeError::ParameterTooLarge("ticket")), "{err}");
        let err = parse_call(send("t", &"&lt;".repeat(21)).as_bytes(), &limits).unwrap_err();
        assert!(matches!(err, EnvelopeError::ParameterTooLarge("strHCPResponse")), "{err}");
        // `response` has no size limit: it is streamed.
        let big = envelope(&format!(
            r#"<receiveResponseXML xmlns="http://developer.intuit.com/"><response>{}</response></receiveResponseXML>"#,
            "x".repeat(100)
        ));
        assert_eq!(parse_call(big.as_bytes(), &limits).unwrap().1.unwrap().len(), 100);
        let nested = authenticate("<strUserName>a<b/></strUserName>");
        assert!(matches!(parse(&nested), Err(EnvelopeError::ElementInParameter("strUserName"))));
    }

    /// A tiny deterministic generator for the mutation test.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Runs `read_call` reading a little of any response, so the reader path is exercised too.
    fn try_read(bytes: &[u8]) -> Result<Call, EnvelopeError> {
        let mut calls = 0;
        let result = read_call(bytes, &Limits::default(), &mut |_, reader| {
            calls += 1;
            let mut buf = [0u8; 5];
            let _ = reader.read(&mut buf);
        });
        assert!(calls <= 1);
        result
    }

    #[test]
    fn no_input_makes_it_panic() {
        let fixtures: [&str; 5] = [
            include_str!("../../qbxml-fixtures/soap/sendRequestXML.request.first-call-with-strHCPResponse.xml"),
            include_str!("../../qbxml-fixtures/soap/receiveResponseXML.request.status1-and-3140.xml"),
            include_str!("../../qbxml-fixtures/soap/receiveResponseXML.request.entity-split-response.xml"),
            include_str!("../../qbxml-fixtures/soap/receiveResponseXML.request.cdata-response.xml"),
            include_str!("../../qbxml-fixtures/soap/prefixed-method.authenticate.request.xml"),
        ];
        // Every strict prefix of a complete envelope is refused.
        for xml in &fixtures[..3] {
            let bytes = xml.trim_end().as_bytes();
            assert!(try_read(bytes).is_ok());
            for len in 0..bytes.len() {
                assert!(try_read(&bytes[..len]).is_err(), "prefix of {len} bytes accepted");
            }
        }
        // Random byte mutations: any outcome but a panic.
        let alphabet = b"<>&;#/!?[]-=\"' \nx:axmlnsCDATA\xff\xc3\x80";
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut outcomes = [0usize; 2];
        for round in 0..4000 {
            let mut bytes = fixtures[round % fixtures.len()].as_bytes().to_vec();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len());
                match rng.below(3) {
                    0 => bytes[at] = alphabet[rng.below(alphabet.len())],
                    1 => bytes.insert(at, alphabet[rng.below(alphabet.len())]),
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
            outcomes[try_read(&bytes).is_ok() as usize] += 1;
        }
        assert!(outcomes[0] > 0 && outcomes[1] > 0, "{outcomes:?}");
    }
}
