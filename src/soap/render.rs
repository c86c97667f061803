//! Rendering of SOAP 1.1 response and fault envelopes (protocol guide §1.5, §4.1).
//!
//! Output is one line, UTF-8 without BOM, in the ASP.NET shape QBWC expects: the method
//! response element declares `xmlns="http://developer.intuit.com/"` so that it and every
//! child (`...Result`, `string`) are in the intuit namespace.

use super::call::Reply;
use super::error::FaultCode;

/// Declaration, envelope and body start; the prefixes and namespaces are those of .NET services.
const ENVELOPE_START: &str = concat!(
    r#"<?xml version="1.0" encoding="utf-8"?>"#,
    r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/""#,
    r#" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#,
    r#" xmlns:xsd="http://www.w3.org/2001/XMLSchema">"#,
    "<soap:Body>",
);
const ENVELOPE_END: &str = "</soap:Body></soap:Envelope>";

/// Renders the complete response envelope for `reply`.
///
/// Strings are escaped as element text (a qbXML document becomes `&lt;?xml ...`), carriage
/// returns are kept as `&#13;`, and characters XML 1.0 cannot carry (control characters other
/// than tab, CR and LF, U+FFFE, U+FFFF) are dropped. An authenticate reply always has at least
/// two `<string>` items, padded with empty ones, since QBWC indexes the second unconditionally.
pub fn render_reply(reply: &Reply) -> String {
    let method = reply.method();
    let payload_len = match reply {
        Reply::Authenticate(items) => items.iter().map(|s| s.len() + 17).sum(),
        Reply::ReceiveResponseXml(_) => 11,
        Reply::ServerVersion(s)
        | Reply::GetServerVersion(s)
        | Reply::ClientVersion(s)
        | Reply::SendRequestXml(s)
        | Reply::ConnectionError(s)
        | Reply::GetLastError(s)
        | Reply::CloseConnection(s)
        | Reply::GetInteractiveUrl(s)
        | Reply::InteractiveDone(s)
        | Reply::InteractiveRejected(s) => s.len() + s.len() / 8,
    };
    let mut out =
        String::with_capacity(ENVELOPE_START.len() + ENVELOPE_END.len() + 4 * method.len() + 80 + payload_len);
    out.push_str(ENVELOPE_START);
    out.push('<');
    out.push_str(method);
    out.push_str(r#"Response xmlns="http://developer.intuit.com/"><"#);
    out.push_str(method);
    out.push_str("Result>");
    match reply {
        Reply::Authenticate(items) => {
            for item in items {
                out.push_str("<string>");
                push_text(&mut out, item);
                out.push_str("</string>");
            }
            for _ in items.len()..2 {
                out.push_str("<string></string>");
            }
        }
        Reply::ReceiveResponseXml(progress) => out.push_str(&progress.to_string()),
        Reply::ServerVersion(s)
        | Reply::GetServerVersion(s)
        | Reply::ClientVersion(s)
        | Reply::SendRequestXml(s)
        | Reply::ConnectionError(s)
        | Reply::GetLastError(s)
        | Reply::CloseConnection(s)
        | Reply::GetInteractiveUrl(s)
        | Reply::InteractiveDone(s)
        | Reply::InteractiveRejected(s) => push_text(&mut out, s),
    }
    out.push_str("</");
    out.push_str(method);
    out.push_str("Result></");
    out.push_str(method);
    out.push_str("Response>");
    out.push_str(ENVELOPE_END);
    out
}

/// Renders a SOAP 1.1 Fault envelope; `message` becomes the escaped `faultstring`.
pub fn render_fault(code: FaultCode, message: &str) -> String {
    let mut out = String::with_capacity(ENVELOPE_START.len() + ENVELOPE_END.len() + 100 + message.len());
    out.push_str(ENVELOPE_START);
    out.push_str("<soap:Fault><faultcode>");
    out.push_str(code.qualified_name());
    out.push_str("</faultcode><faultstring>");
    push_text(&mut out, message);
    out.push_str("</faultstring></soap:Fault>");
    out.push_str(ENVELOPE_END);
    out
}

/// Appends `text` escaped for element content.
fn push_text(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // A raw CR would be read back as LF by any XML parser.
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(ch),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => {}
            _ => out.push(ch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{QBWC_NS, SOAP11_NS};
    use super::*;
    use quick_xml::NsReader;
    use quick_xml::events::Event;
    use quick_xml::name::ResolveResult;

    /// An element as read back: namespace, local name, text, child elements.
    #[derive(Debug, Default)]
    struct Node {
        ns: String,
        name: String,
        text: String,
        children: Vec<Node>,
    }

    impl Node {
        fn child(&self, name: &str) -> &Node {
            let found = self.children.iter().find(|c| c.name == name);
            found.unwrap_or_else(|| panic!("no <{name}> under <{}>", self.name))
        }
    }

    /// A small reader, independent of the one under test, for checking rendered envelopes.
    fn read_tree(xml: &str) -> Node {
        let mut reader = NsReader::from_str(xml);
        let mut stack = vec![Node::default()];
        loop {
            let (resolved, event) = reader.read_resolved_event().expect("well-formed XML");
            let ns = match resolved {
                ResolveResult::Bound(ns) => ns.as_ref().to_owned(),
                _ => String::new(),
            };
            match event {
                Event::Start(e) => stack.push(Node { ns, name: e.local_name().as_ref().to_owned(), ..Node::default() }),
                Event::Empty(e) => {
                    let node = Node { ns, name: e.local_name().as_ref().to_owned(), ..Node::default() };
                    stack.last_mut().unwrap().children.push(node);
                }
                Event::End(_) => {
                    let node = stack.pop().unwrap();
                    stack.last_mut().unwrap().children.push(node);
                }
                Event::Text(t) => stack.last_mut().unwrap().text.push_str(&t.xml10_content()),
                Event::CData(t) => stack.last_mut().unwrap().text.push_str(&t.xml10_content()),
                Event::GeneralRef(r) => {
                    let ch = match r.resolve_char_ref().unwrap() {
                        Some(ch) => ch,
                        None => match &*r {
                            "lt" => '<',
                            "gt" => '>',
                            "amp" => '&',
                            "quot" => '"',
                            "apos" => '\'',
                            other => panic!("unknown entity {other}"),
                        },
                    };
                    stack.last_mut().unwrap().text.push(ch);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(stack.len(), 1, "unclosed elements");
        let mut document = stack.pop().unwrap();
        assert_eq!(document.children.len(), 1, "one root element");
        document.children.pop().unwrap()
    }

    /// Checks the envelope around a reply and returns its `{method}Result` element.
    fn result_of(xml: &str, method: &str) -> Node {
        assert!(xml.starts_with(r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope "#), "{xml}");
        let mut envelope = read_tree(xml);
        assert_eq!((envelope.ns.as_str(), envelope.name.as_str()), (SOAP11_NS, "Envelope"));
        assert_eq!(envelope.children.len(), 1);
        let mut body = envelope.children.remove(0);
        assert_eq!((body.ns.as_str(), body.name.as_str()), (SOAP11_NS, "Body"));
        assert_eq!(body.children.len(), 1);
        let mut response = body.children.remove(0);
        assert_eq!(response.ns, QBWC_NS);
        assert_eq!(response.name, format!("{method}Response"));
        assert_eq!(response.children.len(), 1);
        let result = response.children.remove(0);
        assert_eq!(result.ns, QBWC_NS);
        assert_eq!(result.name, format!("{method}Result"));
        result
    }

    const TRICKY: &str = "a < b && c > d \"q\" 'a'\ttab\nline\r\nend é 😀";

    #[test]
    fn every_string_reply_round_trips_in_the_intuit_namespace() {
        type MakeReply = fn(String) -> Reply;
        let cases: [(MakeReply, &str); 10] = [
            (Reply::ServerVersion, "serverVersion"),
            (Reply::GetServerVersion, "getServerVersion"),
            (Reply::ClientVersion, "clientVersion"),
            (Reply::SendRequestXml, "sendRequestXML"),
            (Reply::ConnectionError, "connectionError"),
            (Reply::GetLastError, "getLastError"),
            (Reply::CloseConnection, "closeConnection"),
            (Reply::GetInteractiveUrl, "getInteractiveURL"),
            (Reply::InteractiveDone, "interactiveDone"),
            (Reply::InteractiveRejected, "interactiveRejected"),
        ];
        for (make, method) in cases {
            let xml = render_reply(&make(TRICKY.to_owned()));
            assert!(xml.contains("a &lt; b &amp;&amp; c &gt; d"), "{xml}");
            assert!(xml.contains("line&#13;\nend"), "{xml}");
            assert_eq!(result_of(&xml, method).text, TRICKY);
            let empty = render_reply(&make(String::new()));
            assert!(empty.contains(&format!("<{method}Result></{method}Result>")), "{empty}");
            assert_eq!(result_of(&empty, method).text, "");
        }
    }

    #[test]
    fn a_qbxml_request_is_escaped_once_and_round_trips() {
        let qbxml = concat!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<?qbxml version=\"13.0\"?>\r\n",
            "<QBXML><QBXMLMsgsRq onError=\"stopOnError\"><CustomerQueryRq requestID=\"1\" iterator=\"Start\">",
            "<MaxReturned>100</MaxReturned><NameFilter><MatchCriterion>Contains</MatchCriterion>",
            "<Name>Smith &amp; Sons &lt;West&gt;</Name></NameFilter>",
            "</CustomerQueryRq></QBXMLMsgsRq></QBXML>",
        );
        let xml = render_reply(&Reply::SendRequestXml(qbxml.to_owned()));
        assert!(
            xml.contains("<sendRequestXMLResult>&lt;?xml version=\"1.0\" encoding=\"utf-8\"?&gt;&#13;\n&lt;?qbxml"),
            "{xml}"
        );
        assert!(xml.contains("Smith &amp;amp; Sons &amp;lt;West&amp;gt;"), "{xml}");
        assert_eq!(result_of(&xml, "sendRequestXML").text, qbxml);
    }

    #[test]
    fn authenticate_renders_exactly() {
        let two = render_reply(&Reply::Authenticate(vec!["5f1c2a9e".into(), String::new()]));
        assert_eq!(
            two,
            concat!(
                r#"<?xml version="1.0" encoding="utf-8"?>"#,
                r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">"#,
                r#"<soap:Body><authenticateResponse xmlns="http://developer.intuit.com/"><authenticateResult>"#,
                "<string>5f1c2a9e</string><string></string>",
                "</authenticateResult></authenticateResponse></soap:Body></soap:Envelope>",
            )
        );
        let four = render_reply(&Reply::Authenticate(vec!["t".into(), "none".into(), String::new(), "300".into()]));
        assert_eq!(
            four,
            concat!(
                r#"<?xml version="1.0" encoding="utf-8"?>"#,
                r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">"#,
                r#"<soap:Body><authenticateResponse xmlns="http://developer.intuit.com/"><authenticateResult>"#,
                "<string>t</string><string>none</string><string></string><string>300</string>",
                "</authenticateResult></authenticateResponse></soap:Body></soap:Envelope>",
            )
        );
        let result = result_of(&four, "authenticate");
        let items: Vec<(&str, &str, &str)> =
            result.children.iter().map(|c| (c.ns.as_str(), c.name.as_str(), c.text.as_str())).collect();
        assert_eq!(
            items,
            [
                (QBWC_NS, "string", "t"),
                (QBWC_NS, "string", "none"),
                (QBWC_NS, "string", ""),
                (QBWC_NS, "string", "300")
            ]
        );
    }

    #[test]
    fn authenticate_always_has_two_strings_and_escapes_paths() {
        let xml = render_reply(&Reply::Authenticate(vec![]));
        assert!(xml.contains("<authenticateResult><string></string><string></string></authenticateResult>"), "{xml}");
        let path = r"C:\Company Files\Smith & Sons.qbw";
        let xml = render_reply(&Reply::Authenticate(vec!["t".into(), path.into()]));
        assert!(xml.contains(r"<string>C:\Company Files\Smith &amp; Sons.qbw</string>"), "{xml}");
        assert_eq!(result_of(&xml, "authenticate").children[1].text, path);
    }

    #[test]
    fn receive_response_xml_renders_exactly() {
        let head = concat!(
            r#"<?xml version="1.0" encoding="utf-8"?>"#,
            r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">"#,
            r#"<soap:Body><receiveResponseXMLResponse xmlns="http://developer.intuit.com/"><receiveResponseXMLResult>"#,
        );
        let tail = "</receiveResponseXMLResult></receiveResponseXMLResponse></soap:Body></soap:Envelope>";
        assert_eq!(render_reply(&Reply::ReceiveResponseXml(-1)), format!("{head}-1{tail}"));
        assert_eq!(render_reply(&Reply::ReceiveResponseXml(100)), format!("{head}100{tail}"));
        assert_eq!(result_of(&render_reply(&Reply::ReceiveResponseXml(33)), "receiveResponseXML").text, "33");
    }

    #[test]
    fn control_characters_are_dropped() {
        let xml = render_reply(&Reply::GetLastError("a\u{0}b\u{1b}c\u{ffff}d\u{7f}".into()));
        assert_eq!(result_of(&xml, "getLastError").text, "abcd\u{7f}");
    }

    #[test]
    fn the_test_reader_agrees_with_real_replies() {
        let real = include_str!("../../qbxml-fixtures/soap/authenticate.response.xml");
        let body = read_tree(real).children.remove(0);
        let result = &body.children[0].children[0];
        assert_eq!(result.name, "authenticateResult");
        let items: Vec<&str> = result.children.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(items, ["ea0bf596246b623664adb465cc8662a2", ""]);

        let real = include_str!("../../qbxml-fixtures/soap/sendRequestXML.response.customer-add.xml");
        let body = read_tree(real).children.remove(0);
        let text = &body.children[0].children[0].text;
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n\t\t\t<?qbxml version=\"5.0\"?>\r\n"));
        // Rendering the same document again gives it back unchanged, CRs included.
        let ours = render_reply(&Reply::SendRequestXml(text.clone()));
        assert_eq!(&result_of(&ours, "sendRequestXML").text, text);
    }

    #[test]
    fn faults_carry_the_code_and_the_escaped_message() {
        for (code, qname) in [
            (FaultCode::VersionMismatch, "soap:VersionMismatch"),
            (FaultCode::Client, "soap:Client"),
            (FaultCode::Server, "soap:Server"),
        ] {
            let xml = render_fault(code, "unknown method `<x&y>`");
            assert!(xml.contains(&format!("<faultcode>{qname}</faultcode>")), "{xml}");
            assert!(xml.contains("<faultstring>unknown method `&lt;x&amp;y&gt;`</faultstring>"), "{xml}");
            let envelope = read_tree(&xml);
            let fault = &envelope.child("Body").children[0];
            assert_eq!((fault.ns.as_str(), fault.name.as_str()), (SOAP11_NS, "Fault"));
            // SOAP 1.1 fault children are unqualified.
            assert_eq!(fault.child("faultcode").ns, "");
            assert_eq!(fault.child("faultstring").text, "unknown method `<x&y>`");
        }
    }
}
