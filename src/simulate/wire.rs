//! SOAP 1.1 on the wire, as the Web Connector (a .NET `SoapHttpClientProtocol` client)
//! speaks it: request envelopes out, replies (results or faults) in, with the checks the
//! .NET client applies (SOAP 1.1 envelope, elements in the `http://developer.intuit.com/`
//! namespace, well-formed XML).

use super::xml::{self, Element};

/// SOAP 1.1 envelope namespace.
pub const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.2 envelope namespace (QBWC does not speak it).
pub const SOAP12_ENV_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// The namespace of every QBWC operation, parameter and result.
pub const INTUIT_NS: &str = "http://developer.intuit.com/";
/// The User-Agent of the .NET web-services client QBWC is built on.
pub const USER_AGENT: &str = "Mozilla/4.0 (compatible; MSIE 6.0; MS Web Services Client Protocol 4.0.30319.42000)";

/// A parameter of a QBWC call.
#[derive(Clone, Copy, Debug)]
pub enum Param<'a> {
    /// An `s:string` parameter (an empty string is written as an empty element).
    Str(&'a str),
    /// An `s:int` parameter.
    Int(i64),
}

/// The `SOAPAction` header value for a method, quotes included.
pub fn soap_action(method: &str) -> String {
    format!("\"{INTUIT_NS}{method}\"")
}

/// Builds a request envelope exactly like QBWC's: XML declaration, `soap` prefix with the
/// `xsi`/`xsd` declarations, the method element with a default intuit namespace, parameters
/// in WSDL order, empty strings as `<name />`.
pub fn request_envelope(method: &str, params: &[(&str, Param<'_>)]) -> String {
    let mut out = String::with_capacity(
        400 + params.iter().map(|(_, p)| if let Param::Str(s) = p { s.len() * 5 / 4 } else { 8 }).sum::<usize>(),
    );
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    out.push_str("<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><soap:Body>");
    out.push('<');
    out.push_str(method);
    out.push_str(" xmlns=\"");
    out.push_str(INTUIT_NS);
    out.push('"');
    if params.is_empty() {
        out.push_str(" />");
    } else {
        out.push('>');
        for (name, value) in params {
            out.push('<');
            out.push_str(name);
            match value {
                Param::Str("") => out.push_str(" />"),
                Param::Str(s) => {
                    out.push('>');
                    let text_start = out.len();
                    xml::escape_soap_text_into(&mut out, s);
                    if out.len() == text_start {
                        // Nothing XML can hold: an empty element, as for an empty string.
                        out.truncate(text_start - 1);
                        out.push_str(" />");
                    } else {
                        out.push_str("</");
                        out.push_str(name);
                        out.push('>');
                    }
                }
                Param::Int(i) => {
                    out.push('>');
                    out.push_str(&i.to_string());
                    out.push_str("</");
                    out.push_str(name);
                    out.push('>');
                }
            }
        }
        out.push_str("</");
        out.push_str(method);
        out.push('>');
    }
    out.push_str("</soap:Body></soap:Envelope>");
    out
}

/// A decoded reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// A SOAP Fault.
    Fault {
        /// `faultcode` text.
        code: String,
        /// `faultstring` text.
        message: String,
    },
    /// The `<method>Result` element, or None when the server left it out (a null result).
    Result(Option<Element>),
}

/// Reads a reply envelope to `method`. Errors describe why QBWC would reject it.
pub fn parse_reply(body: &str, method: &str) -> Result<Reply, String> {
    if body.trim().is_empty() {
        return Err("the request failed with an empty response".into());
    }
    if body.starts_with('\u{feff}') {
        return Err("the reply starts with a byte-order mark".into());
    }
    let doc = xml::parse(body).map_err(|e| format!("response is not well-formed XML: {e}"))?;
    let env = &doc.root;
    if env.name != "Envelope" || env.ns.as_deref() != Some(SOAP_ENV_NS) {
        return Err(match env.ns.as_deref() {
            Some(SOAP12_ENV_NS) => "SOAP 1.2 envelope; the Web Connector speaks SOAP 1.1".to_string(),
            ns => format!("root is <{}> in namespace {:?}, expected a SOAP 1.1 Envelope", env.name, ns),
        });
    }
    let body_el = env
        .children
        .iter()
        .find(|c| c.name == "Body" && c.ns.as_deref() == Some(SOAP_ENV_NS))
        .ok_or("no soap:Body in the envelope")?;
    let first = body_el.children.first().ok_or("empty soap:Body")?;
    if first.name == "Fault" && first.ns.as_deref() == Some(SOAP_ENV_NS) {
        return Ok(Reply::Fault {
            code: first.child_text("faultcode").unwrap_or("").trim().to_string(),
            message: first.child_text("faultstring").unwrap_or("").trim().to_string(),
        });
    }
    let want = format!("{method}Response");
    if first.name != want || first.ns.as_deref() != Some(INTUIT_NS) {
        return Err(format!("expected <{want}> in namespace {INTUIT_NS}, got <{}> in {:?}", first.name, first.ns));
    }
    let result_name = format!("{method}Result");
    let mut result = None;
    for c in &first.children {
        if c.name == result_name {
            if c.ns.as_deref() != Some(INTUIT_NS) {
                return Err(format!("<{result_name}> is in namespace {:?}, expected {INTUIT_NS}", c.ns));
            }
            result = Some(c.clone());
        }
    }
    Ok(Reply::Result(result))
}

fn is_nil(el: &Element) -> bool {
    el.attrs.iter().any(|(k, v)| (k == "xsi:nil" || k.ends_with(":nil")) && v == "true")
}

/// A string result: absent, nil and empty all read as "".
pub fn result_text(result: Option<&Element>) -> Result<String, String> {
    match result {
        None => Ok(String::new()),
        Some(el) if is_nil(el) => Ok(String::new()),
        Some(el) => {
            if let Some(c) = el.children.first() {
                return Err(format!("string result <{}> contains an element <{}>", el.name, c.name));
            }
            Ok(el.text.clone())
        }
    }
}

/// An `s:int` result (required).
pub fn result_int(result: Option<&Element>) -> Result<i32, String> {
    let el = result.ok_or("missing int result")?;
    if !el.children.is_empty() {
        return Err(format!("int result <{}> contains elements", el.name));
    }
    el.text.trim().parse().map_err(|_| format!("result {:?} is not an int", el.text))
}

/// An `ArrayOfString` result: the `<string>` children, which must be in the intuit namespace.
pub fn result_strings(result: Option<&Element>) -> Result<Vec<String>, String> {
    let Some(el) = result else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for c in &el.children {
        if c.name != "string" || c.ns.as_deref() != Some(INTUIT_NS) {
            return Err(format!("array item <{}> in namespace {:?}; expected <string> in {INTUIT_NS}", c.name, c.ns));
        }
        out.push(if is_nil(c) { String::new() } else { c.text.clone() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REF: &str = "/work/shared/reference/qbxml-samples/soap";

    #[test]
    fn envelopes_match_the_captured_ones() {
        // Same bytes as the captured QBWC requests.
        let cases = [
            ("serverVersion.request.xml", request_envelope("serverVersion", &[])),
            (
                "clientVersion.request.xml",
                request_envelope("clientVersion", &[("strVersion", Param::Str("2.0.0.116"))]),
            ),
            (
                "authenticate.request.xml",
                request_envelope(
                    "authenticate",
                    &[("strUserName", Param::Str("api")), ("strPassword", Param::Str("password"))],
                ),
            ),
            (
                "sendRequestXML.request.subsequent-call.xml",
                request_envelope(
                    "sendRequestXML",
                    &[
                        ("ticket", Param::Str("ea0bf596246b623664adb465cc8662a2")),
                        ("strHCPResponse", Param::Str("")),
                        ("strCompanyFileName", Param::Str(r"C:\KPALMER\QBW\Test Company.QBW")),
                        ("qbXMLCountry", Param::Str("US")),
                        ("qbXMLMajorVers", Param::Int(5)),
                        ("qbXMLMinorVers", Param::Int(0)),
                    ],
                ),
            ),
            (
                "closeConnection.request.xml",
                request_envelope("closeConnection", &[("ticket", Param::Str("ea0bf596246b623664adb465cc8662a2"))]),
            ),
        ];
        for (file, ours) in cases {
            let Ok(theirs) = std::fs::read_to_string(format!("{REF}/{file}")) else { continue };
            assert_eq!(ours, theirs.trim_end(), "{file}");
        }
        assert_eq!(soap_action("authenticate"), "\"http://developer.intuit.com/authenticate\"");
    }

    #[test]
    fn escapes_parameters() {
        let env = request_envelope(
            "receiveResponseXML",
            &[
                ("response", Param::Str("<?xml version=\"1.0\" ?>\n<A>Smith &amp; Sons</A>")),
                ("hresult", Param::Str("")),
            ],
        );
        assert!(env.contains(
            "<response>&lt;?xml version=\"1.0\" ?&gt;\n&lt;A&gt;Smith &amp;amp; Sons&lt;/A&gt;</response><hresult />"
        ));
        let doc = xml::parse(&env).unwrap();
        let r = &doc.root.children[0].children[0];
        assert_eq!(r.ns.as_deref(), Some(INTUIT_NS));
        assert_eq!(r.child_text("response"), Some("<?xml version=\"1.0\" ?>\n<A>Smith &amp; Sons</A>"));
        // A value of nothing XML can hold is written like an empty one.
        let env =
            request_envelope("connectionError", &[("message", Param::Str("\u{1}\u{2}")), ("hresult", Param::Int(7))]);
        assert!(env.contains("<message /><hresult>7</hresult>"), "{env}");
    }

    #[test]
    fn reads_the_captured_replies() {
        for (file, method, expect) in [
            (
                "serverVersion.response.xml",
                "serverVersion",
                "PHP QuickBooks SOAP Server v1.5.0 at /~kpalmer/QuickBooks/server_api.php",
            ),
            ("clientVersion.response.xml", "clientVersion", ""),
            ("clientVersion.response.O-optional-update.mreiden-test.xml", "clientVersion", "O:2.2.0.71"),
            ("closeConnection.response.xml", "closeConnection", "Complete!"),
            ("sendRequestXML.response.empty-nothing-to-do.xml", "sendRequestXML", ""),
        ] {
            let Ok(body) = std::fs::read_to_string(format!("{REF}/{file}")) else { continue };
            let Reply::Result(r) = parse_reply(&body, method).unwrap() else { panic!("{file}") };
            assert_eq!(result_text(r.as_ref()).unwrap(), expect, "{file}");
        }
        if let Ok(body) =
            std::fs::read_to_string(format!("{REF}/authenticate.response.nvu-invalid-user.mreiden-test.xml"))
        {
            let Reply::Result(r) = parse_reply(&body, "authenticate").unwrap() else { panic!() };
            assert_eq!(result_strings(r.as_ref()).unwrap(), vec!["".to_string(), "nvu".to_string()]);
        }
        if let Ok(body) = std::fs::read_to_string(format!("{REF}/receiveResponseXML.response.xml")) {
            let Reply::Result(r) = parse_reply(&body, "receiveResponseXML").unwrap() else { panic!() };
            assert_eq!(result_int(r.as_ref()).unwrap(), 0);
        }
        if let Ok(body) = std::fs::read_to_string(format!("{REF}/sendRequestXML.response.customer-add.xml")) {
            let Reply::Result(r) = parse_reply(&body, "sendRequestXML").unwrap() else { panic!() };
            assert!(
                result_text(r.as_ref()).unwrap().contains("<CustomerAddRq requestID=\"Q3VzdG9tZXJBZGR8MTU=\" >\r\n")
            );
        }
    }

    #[test]
    fn rejects_bad_replies() {
        let ok = |inner: &str| format!("<s:Envelope xmlns:s=\"{SOAP_ENV_NS}\"><s:Body>{inner}</s:Body></s:Envelope>");
        assert!(parse_reply(&ok("<serverVersionResponse xmlns=\"http://developer.intuit.com/\"><serverVersionResult>1</serverVersionResult></serverVersionResponse>"), "serverVersion").is_ok());
        for bad in [
            String::new(),
            "<html>oops</html>".to_string(),
            ok("<serverVersionResponse><serverVersionResult>1</serverVersionResult></serverVersionResponse>"),
            ok("<clientVersionResponse xmlns=\"http://developer.intuit.com/\"/>"),
            ok(
                "<serverVersionResponse xmlns=\"http://developer.intuit.com/\"><serverVersionResult xmlns=\"urn:other\">1</serverVersionResult></serverVersionResponse>",
            ),
            format!("<s:Envelope xmlns:s=\"{SOAP12_ENV_NS}\"><s:Body/></s:Envelope>"),
            ok("<serverVersionResponse xmlns=\"http://developer.intuit.com/\">"),
        ] {
            assert!(parse_reply(&bad, "serverVersion").is_err(), "{bad}");
        }
        let fault = ok(
            "<s:Fault><faultcode>s:Server</faultcode><faultstring>Server was unable to process request.</faultstring></s:Fault>",
        );
        assert_eq!(
            parse_reply(&fault, "authenticate").unwrap(),
            Reply::Fault { code: "s:Server".into(), message: "Server was unable to process request.".into() }
        );
        let wcf = ok(
            "<authenticateResponse xmlns=\"http://developer.intuit.com/\"><authenticateResult xmlns:a=\"http://schemas.microsoft.com/2003/10/Serialization/Arrays\"><a:string>t</a:string><a:string/></authenticateResult></authenticateResponse>",
        );
        let Reply::Result(r) = parse_reply(&wcf, "authenticate").unwrap() else { panic!() };
        assert!(result_strings(r.as_ref()).is_err());
        let nil = ok(
            "<getLastErrorResponse xmlns=\"http://developer.intuit.com/\"><getLastErrorResult xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:nil=\"true\"/></getLastErrorResponse>",
        );
        let Reply::Result(r) = parse_reply(&nil, "getLastError").unwrap() else { panic!() };
        assert_eq!(result_text(r.as_ref()).unwrap(), "");
        assert!(result_int(None).is_err());
    }
}
