//! Why a request envelope was refused, and which SOAP 1.1 fault code answers it.
//!
//! Every variant except [`EnvelopeError::Io`] describes something the sender got wrong.
//! Messages are lower case without a trailing period; they end up in a `faultstring`,
//! so they never quote more than a short name from the input.

/// A request envelope that could not be turned into a [`super::Call`].
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The body is not well-formed XML (syntax error, mismatched tags, undeclared prefix,
    /// content after the envelope, ...).
    #[error("request is not well-formed XML: {0}")]
    NotXml(String),
    /// The body is not valid UTF-8 (QBWC always sends UTF-8).
    #[error("request is not valid UTF-8")]
    InvalidUtf8,
    /// A `<!DOCTYPE>` declaration was found; it is refused outright, which also rules out
    /// entity declarations and entity-expansion attacks.
    #[error("DOCTYPE declarations are not accepted")]
    Doctype,
    /// Elements are nested deeper than [`super::Limits::max_depth`].
    #[error("elements are nested too deeply")]
    TooDeep,
    /// The root is an `Envelope` outside the SOAP 1.1 namespace (typically SOAP 1.2).
    #[error("only SOAP 1.1 envelopes are accepted (namespace {})", super::SOAP11_NS)]
    VersionMismatch,
    /// The root element is not a SOAP `Envelope`.
    #[error("root element is not a SOAP envelope")]
    NotAnEnvelope,
    /// The envelope has no SOAP `Body`.
    #[error("SOAP envelope has no Body")]
    NoBody,
    /// The SOAP `Body` holds no method element.
    #[error("SOAP Body holds no method element")]
    EmptyBody,
    /// The method element names no Web Connector operation we know (names are case-sensitive).
    #[error("unknown method `{0}`")]
    UnknownMethod(String),
    /// The method element is not in the `http://developer.intuit.com/` namespace.
    #[error("method element must be in namespace {}, found `{found}`", super::QBWC_NS)]
    WrongNamespace {
        /// The namespace the method element was in (empty when it had none).
        found: String,
    },
    /// A parameter is longer than its limit (see [`super::Limits`]).
    #[error("parameter `{0}` is too large")]
    ParameterTooLarge(&'static str),
    /// A parameter holds a child element where text was expected.
    #[error("parameter `{0}` must hold text, not elements")]
    ElementInParameter(&'static str),
    /// An entity reference other than the five predefined ones (`&lt;` ...).
    #[error("unknown entity `&{0};`")]
    UnknownEntity(String),
    /// A malformed or out-of-range character reference such as `&#xZZ;` or `&#0;`.
    #[error("invalid character reference `&{0};`")]
    InvalidCharRef(String),
    /// The document ends before the envelope is closed.
    #[error("request ends before the envelope is complete")]
    Truncated,
    /// Reading the request body failed (not the sender's XML).
    #[error("could not read the request: {0}")]
    Io(#[source] std::io::Error),
}

/// The `faultcode` of a SOAP 1.1 Fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultCode {
    /// `soap:VersionMismatch`: the envelope is not SOAP 1.1.
    VersionMismatch,
    /// `soap:Client`: the request was wrong and must not be resent unchanged.
    Client,
    /// `soap:Server`: we failed; the same request may succeed later.
    Server,
}

impl FaultCode {
    /// The qualified name written into `faultcode`, e.g. `soap:Client`.
    pub fn qualified_name(self) -> &'static str {
        match self {
            FaultCode::VersionMismatch => "soap:VersionMismatch",
            FaultCode::Client => "soap:Client",
            FaultCode::Server => "soap:Server",
        }
    }
}

impl EnvelopeError {
    /// The fault code that answers this error: `VersionMismatch` for a non-1.1 envelope,
    /// `Server` when the body could not be read, `Client` for everything else.
    pub fn fault_code(&self) -> FaultCode {
        match self {
            EnvelopeError::VersionMismatch => FaultCode::VersionMismatch,
            EnvelopeError::Io(_) => FaultCode::Server,
            _ => FaultCode::Client,
        }
    }

    /// Maps a quick-xml reader error onto our variants.
    pub(super) fn from_xml(err: quick_xml::Error) -> Self {
        use quick_xml::errors::{IllFormedError, SyntaxError};
        match err {
            quick_xml::Error::Encoding(_) => EnvelopeError::InvalidUtf8,
            quick_xml::Error::Io(io) => EnvelopeError::Io(std::io::Error::new(io.kind(), io.to_string())),
            quick_xml::Error::Syntax(
                SyntaxError::UnclosedPI
                | SyntaxError::UnclosedXmlDecl
                | SyntaxError::UnclosedComment
                | SyntaxError::UnclosedDoctype
                | SyntaxError::UnclosedCData
                | SyntaxError::UnclosedTag
                | SyntaxError::UnclosedSingleQuotedAttributeValue
                | SyntaxError::UnclosedDoubleQuotedAttributeValue,
            ) => EnvelopeError::Truncated,
            quick_xml::Error::IllFormed(IllFormedError::MissingEndTag(_)) => EnvelopeError::Truncated,
            other => EnvelopeError::NotXml(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_version_mismatch_and_io_leave_the_client_code() {
        assert_eq!(EnvelopeError::VersionMismatch.fault_code(), FaultCode::VersionMismatch);
        assert_eq!(EnvelopeError::Io(std::io::Error::other("reset")).fault_code(), FaultCode::Server);
        for err in [
            EnvelopeError::NotXml("x".into()),
            EnvelopeError::InvalidUtf8,
            EnvelopeError::Doctype,
            EnvelopeError::TooDeep,
            EnvelopeError::NotAnEnvelope,
            EnvelopeError::NoBody,
            EnvelopeError::EmptyBody,
            EnvelopeError::UnknownMethod("Authenticate".into()),
            EnvelopeError::WrongNamespace { found: String::new() },
            EnvelopeError::ParameterTooLarge("ticket"),
            EnvelopeError::UnknownEntity("nbsp".into()),
            EnvelopeError::Truncated,
        ] {
            assert_eq!(err.fault_code(), FaultCode::Client, "{err}");
        }
    }

    #[test]
    fn messages_are_lower_case_without_a_trailing_period() {
        let msg = EnvelopeError::WrongNamespace { found: "urn:x".into() }.to_string();
        assert_eq!(msg, "method element must be in namespace http://developer.intuit.com/, found `urn:x`");
        assert!(!EnvelopeError::NoBody.to_string().ends_with('.'));
    }
}
