//! The error returned when a qbXML document (a query response or the strHCPResponse) cannot be read.
//!
//! A `ParseError` means the whole document is unusable: it is not well-formed, it breaks one of the
//! safety limits, or it does not have the shape of a qbXML response. Problems with a single record
//! are not errors: they become [`crate::qbxml::Item::Skipped`] so the rest of the page still syncs.

/// Why a qbXML document was rejected. Messages are lower case, without a trailing period.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The XML itself is malformed (reported by the XML tokenizer), e.g. a mismatched end tag.
    #[error("malformed xml at byte {position}: {message}")]
    Xml {
        /// Byte offset in the input where the problem was detected.
        position: u64,
        /// The tokenizer's description of the problem.
        message: String,
    },
    /// The input contains bytes that are not valid UTF-8.
    #[error("invalid utf-8 in the document near byte {position}")]
    InvalidUtf8 {
        /// Byte offset in the input near the invalid sequence.
        position: u64,
    },
    /// The document has a `<!DOCTYPE ...>`; qbXML never has one, and refusing it also refuses
    /// every entity declaration (no entity expansion attacks).
    #[error("document type declarations (<!DOCTYPE>) are not accepted in qbXML")]
    Doctype,
    /// Elements are nested deeper than the limit.
    #[error("elements are nested more than {limit} levels deep")]
    TooDeep {
        /// The nesting limit that was exceeded.
        limit: usize,
    },
    /// An entity reference other than the five predefined ones (`lt gt amp quot apos`).
    #[error("unknown entity reference &{0};")]
    UnknownEntity(String),
    /// A character reference (`&#...;`) that is not a number or names a character XML forbids.
    #[error("invalid character reference &{0};")]
    InvalidCharRef(String),
    /// One tag, text run or comment is larger than the per-token limit (keeps memory bounded).
    #[error("a single tag or text run is larger than {limit} bytes")]
    TokenTooLarge {
        /// The per-token limit in bytes.
        limit: u64,
    },
    /// The input ended while elements were still open.
    #[error("document is truncated: it ends inside <{open_element}>")]
    Truncated {
        /// The innermost element that was still open.
        open_element: String,
    },
    /// Reading the underlying input failed.
    #[error("i/o error while reading the document: {0}")]
    Io(String),
    /// A response element (`...Rs`) has no integer `statusCode` attribute.
    #[error("<{element}> has {} statusCode attribute", describe_status_value(.value))]
    StatusCode {
        /// The response element, e.g. `CustomerQueryRs`.
        element: String,
        /// The attribute text when present but not an integer; `None` when missing.
        value: Option<String>,
    },
    /// The document is well-formed XML but not shaped like the expected qbXML document.
    #[error("unexpected document structure: {0}")]
    Structure(String),
}

fn describe_status_value(value: &Option<String>) -> String {
    match value {
        None => "no".to_owned(),
        Some(text) => format!("a non-integer ({text:?})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lower_case_without_trailing_period() {
        let errors = [
            ParseError::Xml { position: 3, message: "expected `</a>`".into() },
            ParseError::InvalidUtf8 { position: 9 },
            ParseError::Doctype,
            ParseError::TooDeep { limit: 64 },
            ParseError::UnknownEntity("nbsp".into()),
            ParseError::InvalidCharRef("#xZZ".into()),
            ParseError::TokenTooLarge { limit: 10 },
            ParseError::Truncated { open_element: "CustomerRet".into() },
            ParseError::Io("broken pipe".into()),
            ParseError::StatusCode { element: "CustomerQueryRs".into(), value: None },
            ParseError::StatusCode { element: "CustomerQueryRs".into(), value: Some("abc".into()) },
            ParseError::Structure("root element is <foo>, expected <QBXML>".into()),
        ];
        for error in errors {
            let message = error.to_string();
            assert!(!message.chars().next().unwrap().is_uppercase(), "{message}");
            assert!(!message.ends_with('.'), "{message}");
        }
        assert_eq!(
            ParseError::StatusCode { element: "CustomerQueryRs".into(), value: None }.to_string(),
            "<CustomerQueryRs> has no statusCode attribute"
        );
        assert_eq!(
            ParseError::StatusCode { element: "X".into(), value: Some("abc".into()) }.to_string(),
            "<X> has a non-integer (\"abc\") statusCode attribute"
        );
    }
}
