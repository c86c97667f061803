//! The QuickBooks Web Connector's SOAP 1.1 wire format: request envelopes in, typed
//! [`Call`]s out; [`Reply`]s and faults in, response envelopes out.
//!
//! This module is pure: no IO beyond the [`std::io::BufRead`] it is handed, no clock, nothing
//! from the rest of the crate. It never looks inside qbXML: `strHCPResponse` and `response`
//! are passed on as unescaped text, and qbXML requests are escaped as opaque strings.
//!
//! Reading order: `call.rs` (the operations), `envelope.rs` (the streaming request reader),
//! `render.rs` (response and fault envelopes), `error.rs` (what is refused and its fault code).
//! The WSDL describing the same contract is `wsdl/QBWebConnectorSvc.wsdl`.

mod call;
mod envelope;
mod error;
mod render;

pub use call::{Call, Reply};
pub use envelope::{Limits, parse_call, read_call};
pub use error::{EnvelopeError, FaultCode};
pub use render::{render_fault, render_reply};

use call::Method;

/// Target namespace of the Web Connector service, trailing slash included.
pub const QBWC_NS: &str = "http://developer.intuit.com/";

/// Namespace of SOAP 1.1 envelopes; anything else is answered with `VersionMismatch`.
pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// The operation named by a `SOAPAction` header value such as
/// `"http://developer.intuit.com/authenticate"` (quotes and surrounding spaces optional),
/// or `None` when it names no operation we know.
///
/// Dispatch is on the Body's method element; this is for a cross-check or a fallback.
pub fn method_from_soap_action(header: &str) -> Option<&'static str> {
    let value = header.trim();
    let value = value.strip_prefix('"').and_then(|inner| inner.strip_suffix('"')).unwrap_or(value).trim();
    let name = value.strip_prefix(QBWC_NS)?;
    Method::from_name(name).map(Method::name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soap_action_with_or_without_quotes() {
        assert_eq!(method_from_soap_action("\"http://developer.intuit.com/authenticate\""), Some("authenticate"));
        assert_eq!(method_from_soap_action("http://developer.intuit.com/sendRequestXML"), Some("sendRequestXML"));
        assert_eq!(
            method_from_soap_action("  \"http://developer.intuit.com/getInteractiveURL\" "),
            Some("getInteractiveURL")
        );
        assert_eq!(method_from_soap_action(" http://developer.intuit.com/serverVersion\t"), Some("serverVersion"));
    }

    #[test]
    fn soap_action_for_unknown_operations_is_none() {
        for header in [
            "",
            "\"\"",
            "\"",
            "\"http://developer.intuit.com/Authenticate\"",
            "\"http://developer.intuit.com/\"",
            "\"http://developer.intuit.com/authenticate",
            "http://developer.intuit.comauthenticate",
            "urn:authenticate",
            "\"http://example.com/authenticate\"",
        ] {
            assert_eq!(method_from_soap_action(header), None, "{header:?}");
        }
    }
}
