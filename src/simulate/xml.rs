//! A tiny XML tree and escaping helpers shared by the simulator's SOAP and qbXML code.
//!
//! The simulator deliberately does not reuse qbsync's own SOAP/qbXML modules: it is the
//! peer that checks them. Documents here are small (one SOAP envelope, one qbXML request),
//! so a namespace-aware tree built from quick-xml events is the simplest faithful reader.

use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

/// One element: namespace URI (if bound), local name, attributes, child elements and the
/// concatenation of its direct text (character data, entity and character references, CDATA).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Element {
    /// Namespace URI the element's prefix (or the default namespace) resolves to.
    pub ns: Option<String>,
    /// Local name (prefix removed).
    pub name: String,
    /// Attributes as written (qualified names), namespace declarations left out.
    pub attrs: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// Direct text content, references resolved.
    pub text: String,
}

impl Element {
    /// First child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// All children with this local name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Attribute value by (qualified) name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Text of the first child with this local name.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }
}

/// A parsed document: its root element and the processing instructions seen before the root.
#[derive(Clone, Debug, Default)]
pub struct Document {
    /// The single root element.
    pub root: Element,
    /// Processing instructions in the prolog as (target, content) pairs, e.g. ("qbxml", " version=\"13.0\"").
    pub prolog_pis: Vec<(String, String)>,
}

impl Document {
    /// Content of the first prolog processing instruction with this target.
    pub fn pi(&self, target: &str) -> Option<&str> {
        self.prolog_pis.iter().find(|(t, _)| t == target).map(|(_, c)| c.as_str())
    }
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct XmlError(pub String);

fn ns_of(res: ResolveResult<'_>) -> Result<Option<String>, XmlError> {
    match res {
        ResolveResult::Bound(ns) => Ok(Some(ns.as_ref().to_string())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(p) => Err(XmlError(format!("undeclared namespace prefix `{p}`"))),
    }
}

fn element_from(ns: Option<String>, start: &BytesStart<'_>) -> Result<Element, XmlError> {
    let name = start.local_name().as_ref().to_string();
    let mut attrs = Vec::new();
    for a in start.attributes() {
        let a = a.map_err(|e| XmlError(format!("bad attribute in <{name}>: {e}")))?;
        let key = a.key.as_ref().to_string();
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| XmlError(format!("bad attribute value in <{name}>: {e}")))?;
        attrs.push((key, value.into_owned()));
    }
    Ok(Element { ns, name, attrs, children: Vec::new(), text: String::new() })
}

/// Parses a whole document into a tree. Fails on anything that is not well-formed XML
/// (unclosed or mismatched tags, several roots, text outside the root, unknown entities).
pub fn parse(xml: &str) -> Result<Document, XmlError> {
    let mut reader = NsReader::from_str(xml);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut pis = Vec::new();
    loop {
        let (res, event) = reader.read_resolved_event().map_err(|e| XmlError(e.to_string()))?;
        match event {
            Event::Start(s) => {
                let ns = ns_of(res)?;
                if root.is_some() {
                    return Err(XmlError("more than one root element".into()));
                }
                stack.push(element_from(ns, &s)?);
            }
            Event::Empty(s) => {
                let ns = ns_of(res)?;
                let el = element_from(ns, &s)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None if root.is_none() => root = Some(el),
                    None => return Err(XmlError("more than one root element".into())),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| XmlError("unexpected end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let text = t.xml10_content();
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(XmlError("text outside the root element".into())),
                }
            }
            Event::CData(c) => match stack.last_mut() {
                Some(el) => el.text.push_str(&c.xml10_content()),
                None => return Err(XmlError("CDATA outside the root element".into())),
            },
            Event::GeneralRef(r) => {
                let resolved: String = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => return Err(XmlError(format!("bad character reference &{};", &*r))),
                    }
                } else {
                    match resolve_predefined_entity(&r) {
                        Some(s) => s.to_string(),
                        None => return Err(XmlError(format!("unknown entity &{};", &*r))),
                    }
                };
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&resolved),
                    None => return Err(XmlError("reference outside the root element".into())),
                }
            }
            Event::PI(pi) => {
                if stack.is_empty() && root.is_none() {
                    pis.push((pi.target().to_string(), pi.content().to_string()));
                }
            }
            Event::Decl(_) | Event::Comment(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError(format!("unexpected end of document inside <{}>", stack[stack.len() - 1].name)));
    }
    let root = root.ok_or_else(|| XmlError("no root element".into()))?;
    Ok(Document { root, prolog_pis: pis })
}

/// Reads `name="value"` (or single quotes) out of a processing instruction's content.
pub fn pi_attr(content: &str, name: &str) -> Option<String> {
    let mut rest = content;
    while let Some(pos) = rest.find(name) {
        let before_ok = pos == 0 || rest[..pos].ends_with(char::is_whitespace);
        let after = rest[pos + name.len()..].trim_start();
        if before_ok && let Some(after_eq) = after.strip_prefix('=') {
            let after_eq = after_eq.trim_start();
            let quote = after_eq.chars().next()?;
            if quote == '"' || quote == '\'' {
                let body = &after_eq[1..];
                let end = body.find(quote)?;
                return Some(body[..end].to_string());
            }
            return None;
        }
        rest = &rest[pos + name.len()..];
    }
    None
}

/// [`escape_qbxml_into`] a new string.
#[cfg(test)]
pub fn escape_qbxml(s: &str, char_refs: bool) -> String {
    let mut out = String::with_capacity(s.len());
    escape_qbxml_into(&mut out, s, char_refs);
    out
}

/// Escapes text for a qbXML document the way QuickBooks writes it, appending to `out`: the five
/// predefined entities, and (when `char_refs`) every non-ASCII character as a decimal reference
/// `&#233;`. Characters XML cannot hold are dropped.
pub fn escape_qbxml_into(out: &mut String, s: &str, char_refs: bool) {
    escape_into(out, s, true, char_refs);
}

/// [`escape_soap_text_into`] a new string.
#[cfg(test)]
pub fn escape_soap_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    escape_soap_text_into(&mut out, s);
    out
}

/// Escapes a string value for SOAP element content the way the .NET XmlWriter does, appending
/// to `out`: `&`, `<`, `>` only. Characters XML cannot hold are dropped.
pub fn escape_soap_text_into(out: &mut String, s: &str) {
    escape_into(out, s, false, false);
}

/// Whether a byte may need escaping: markup, quotes, controls, and any byte of a non-ASCII
/// character. The rest of a text is copied in runs.
const SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = b < 0x20 || b >= 0x80 || matches!(b as u8, b'&' | b'<' | b'>' | b'"' | b'\'');
        b += 1;
    }
    table
};

/// Appends `s` with markup characters escaped (quotes too when `quotes`), non-ASCII characters
/// as decimal references when `char_refs`, and characters XML cannot hold dropped. Runs of plain
/// bytes are copied whole: the simulator escapes whole qbXML documents this way.
fn escape_into(out: &mut String, s: &str, quotes: bool, char_refs: bool) {
    if !quotes && !char_refs {
        escape_markup_into(out, s);
        return;
    }
    let bytes = s.as_bytes();
    let mut plain = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !SPECIAL[usize::from(b)] {
            i += 1;
            continue;
        }
        let width = if b >= 0x80 { s[i..].chars().next().map_or(1, char::len_utf8) } else { 1 };
        let replacement: Option<&str> = match b {
            b'&' => Some("&amp;"),
            b'<' => Some("&lt;"),
            b'>' => Some("&gt;"),
            b'"' if quotes => Some("&quot;"),
            b'\'' if quotes => Some("&apos;"),
            b'\t' | b'\n' | b'\r' => None,
            b if b < 0x20 => Some(""),
            _ => None,
        };
        let reference = b >= 0x80 && char_refs;
        if replacement.is_some() || reference {
            out.push_str(&s[plain..i]);
            match replacement {
                Some(text) => out.push_str(text),
                None => {
                    let c = s[i..].chars().next().unwrap_or_default();
                    out.push_str("&#");
                    out.push_str(&u32::from(c).to_string());
                    out.push(';');
                }
            }
            plain = i + width;
        }
        i += width;
    }
    out.push_str(&s[plain..]);
}

/// Bytes [`escape_markup_into`] replaces: markup, and the controls XML cannot hold.
const MARKUP: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b < 0x20 && !matches!(b as u8, b'\t' | b'\n' | b'\r')) || matches!(b as u8, b'&' | b'<' | b'>');
        b += 1;
    }
    table
};

/// [`escape_into`] without quotes or character references (a whole qbXML document into a SOAP
/// envelope, where markup comes every few bytes): one pass over the bytes, runs copied whole.
fn escape_markup_into(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut escaped = std::mem::take(out).into_bytes();
    escaped.reserve(bytes.len() + bytes.len() / 4);
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !MARKUP[usize::from(b)] {
            continue;
        }
        let replacement: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            // Characters XML cannot hold are dropped.
            _ => b"",
        };
        escaped.extend_from_slice(&bytes[plain..i]);
        escaped.extend_from_slice(replacement);
        plain = i + 1;
    }
    escaped.extend_from_slice(&bytes[plain..]);
    // Only ASCII bytes were added or dropped, between whole characters: still UTF-8.
    *out = String::from_utf8(escaped).unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_namespaces_refs_and_pis() {
        let doc = parse(
            "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?>\n<a:R xmlns:a=\"urn:x\" k=\"1 &amp; 2\"><B>Caf&#233; &amp; &lt;x&gt;</B><C/><![CDATA[<raw>]]></a:R>",
        )
        .unwrap();
        assert_eq!(doc.root.ns.as_deref(), Some("urn:x"));
        assert_eq!(doc.root.name, "R");
        assert_eq!(doc.root.attr("k"), Some("1 & 2"));
        assert_eq!(doc.root.child_text("B"), Some("Café & <x>"));
        assert!(doc.root.child("C").is_some());
        assert_eq!(doc.root.text, "<raw>");
        assert_eq!(pi_attr(doc.pi("qbxml").unwrap(), "version").as_deref(), Some("13.0"));
    }

    #[test]
    fn rejects_broken_documents() {
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a>").is_err());
        assert!(parse("<a/><b/>").is_err());
        assert!(parse("<a>&nbsp;</a>").is_err());
        assert!(parse("").is_err());
        assert!(parse("<a xmlns:p=\"u\"><q:b/></a>").is_err());
    }

    #[test]
    fn escaping_round_trips() {
        let s = "Zoë's \"Best\" <Café> & Łódź\u{1}";
        let esc = escape_qbxml(s, true);
        assert!(esc.is_ascii());
        let doc = parse(&format!("<x>{esc}</x>")).unwrap();
        assert_eq!(doc.root.text, "Zoë's \"Best\" <Café> & Łódź");
        let doc = parse(&format!("<x>{}</x>", escape_soap_text(s))).unwrap();
        assert_eq!(doc.root.text, "Zoë's \"Best\" <Café> & Łódź");
        assert_eq!(escape_soap_text("a<b>&c\u{1}é'\""), "a&lt;b&gt;&amp;cé'\"");
        assert_eq!(escape_qbxml("é'\"\t\u{1f}x", true), "&#233;&apos;&quot;\tx");
        assert_eq!(escape_qbxml("é", false), "é");
        assert_eq!(
            escape_soap_text("<A x=\"1\">Smith &amp; Sons\r\n\té>'\u{0}\u{b}</A>"),
            "&lt;A x=\"1\"&gt;Smith &amp;amp; Sons\r\n\té&gt;'&lt;/A&gt;"
        );
        assert_eq!(escape_soap_text("no markup"), "no markup");
        assert_eq!(escape_soap_text("&"), "&amp;");
    }
}
