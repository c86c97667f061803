//! Plain-language meaning of qbXML `statusCode` values and of the request-processor HRESULTs
//! QBWC reports, for logs, the run history and `getLastError`.
//!
//! The wording is qbsync's own, based on Intuit's status-code ranges and the codes seen from real
//! QuickBooks installations; each HRESULT explanation says what the user can do about it.

/// How a `statusCode` should be treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// 0: the request succeeded.
    Ok,
    /// 1: a query matched nothing; success with zero records.
    NoMatch,
    /// 2-499: informational; the data is there.
    Info,
    /// 500-999: data returned, but possibly not all that was asked for.
    Warning,
    /// 1000 and above (and anything negative): the request failed.
    Error,
}

/// Classifies a qbXML `statusCode` by Intuit's ranges.
pub fn classify_status(code: i32) -> Severity {
    match code {
        0 => Severity::Ok,
        1 => Severity::NoMatch,
        2..=499 => Severity::Info,
        500..=999 => Severity::Warning,
        _ => Severity::Error,
    }
}

/// A short explanation of a known qbXML `statusCode`, or `None` for codes qbsync has no text for
/// (the response's own `statusMessage` then says it best).
pub fn explain_status(code: i32) -> Option<&'static str> {
    Some(match code {
        0 => "the request was processed successfully",
        1 => "the query matched no records in QuickBooks; this is not an error",
        500 => "QuickBooks completed the query only in part: some of the requested records were not found",
        501 => "a record cannot be represented in the qbXML version used for this request",
        510 => "QuickBooks could not return one of the records",
        530 => "a field in the request is not supported by this QuickBooks edition and was ignored",
        531 => "a value in the request is not supported by this QuickBooks edition and was ignored",
        550 => "the record was saved, but its notes could not be saved",
        560 => "the request used a field QuickBooks marks as deprecated",
        570 => "the record could not be linked to a closed transaction",
        600 => "QuickBooks has no stored result to recover for this message set",
        1000 => "QuickBooks hit an internal error while processing the request; the next sync will retry it",
        1010 => "QuickBooks was not available to process the request; the next sync will retry it",
        1030 => "this QuickBooks edition or version does not support the request",
        1060 => "the request ID is invalid (QuickBooks accepts at most 50 characters)",
        3000 => "the request refers to an object ID that is not valid",
        3010 => "the request contains an invalid true/false value",
        3020 => "the request contains an invalid date or time",
        3030 => "the request contains a date range whose start is after its end",
        3031 => "the request contains a name range whose start is after its end",
        3100 => "the name is already used by another record",
        3120 => "a record named in the request no longer exists in QuickBooks (it was probably deleted)",
        3140 => "the request refers to another record that does not exist in QuickBooks",
        3150 => "a required element is missing from the request",
        3170 | 3175 | 3176 => "the record is in use or locked by another user or window; the next sync will retry it",
        3180 => "QuickBooks could not save the record",
        3200 => "the record was changed in QuickBooks since it was last read (edit sequence out of date)",
        3210 => "a field in the request has an invalid value",
        3220 => "the QuickBooks user qbsync runs as is not allowed to make this request",
        3231 => "the request was not processed because an earlier request in the same message failed",
        3250 => "the feature this request needs is not turned on in this company file",
        3260 => "the QuickBooks user qbsync runs as lacks permission for this data",
        3261 => {
            "qbsync has not been granted access to personal data (such as SSNs) in this company file; \
             qbsync does not need it, so leave personal fields out of the request"
        }
        3262 => "the application has not been granted the access rights this request needs",
        3391 => {
            "the query iterator is no longer valid (it expired or belongs to an earlier session); \
             start the query again from the first page"
        }
        _ => return None,
    })
}

/// Explains a request-processor HRESULT as QBWC reports it. Accepts `0x80040400`, `0X80040400`,
/// `80040400` (eight hex digits), and signed decimal such as `-2147220480`. The explanation ends
/// with what the user should do.
pub fn explain_hresult(hresult: &str) -> Option<&'static str> {
    let code = parse_hresult(hresult)?;
    Some(match code {
        0x8004_0400 => {
            "QuickBooks could not parse the request qbsync sent. This is a qbsync problem: \
             please report it with the Web Connector log (QWCLog.txt)"
        }
        0x8004_0401 => {
            "QuickBooks could not be accessed. Make sure QuickBooks is installed and can start, then run the sync again"
        }
        0x8004_0402 => {
            "QuickBooks reported an unexpected error. Restart QuickBooks and run the sync again; \
             if it persists, check qbsdklog.txt"
        }
        0x8004_0403 => {
            "QuickBooks could not open the company file. Check that the file exists at the same path \
             and is not damaged, then run the sync again"
        }
        0x8004_0406 => {
            "the company file name is invalid or the file is damaged. Open the file in QuickBooks to check it, then run the sync again"
        }
        0x8004_0408 => {
            "QuickBooks could not be started, or the application is not authorized. Open QuickBooks and the \
             company file yourself and run the sync again"
        }
        0x8004_040A => {
            "a different company file is open in QuickBooks. Close it or open the company file this \
             connection belongs to, then run the sync again"
        }
        0x8004_0410 => {
            "the company file is open in a mode that conflicts with the request (single-user or multi-user). \
             Switch the mode in QuickBooks or close other users' sessions, then run the sync again"
        }
        0x8004_0414 => {
            "a dialog box is open in QuickBooks. Close every open QuickBooks window or prompt, then run the sync again"
        }
        0x8004_0416 => {
            "QuickBooks is not running and no company file was given. Open QuickBooks and the company file, then run the sync again"
        }
        0x8004_0417 => {
            "QuickBooks is running but no company file is open. Open the company file, then run the sync again"
        }
        0x8004_0418 => {
            "this application has never been allowed to access this company file. Log in to QuickBooks as \
             the Admin user in single-user mode, open the file and run the Web Connector update once to approve it"
        }
        0x8004_041A => {
            "the application does not have permission to access this company file. As the QuickBooks Admin, \
             allow it under Edit > Preferences > Integrated Applications"
        }
        0x8004_041B => {
            "the company file is locked or its connection is in use. Wait for other users or applications to finish, then run the sync again"
        }
        0x8004_041C => "QuickBooks reported an internal error. Restart QuickBooks and run the sync again",
        0x8004_041D => {
            "the application is not allowed to log in automatically. As the QuickBooks Admin, allow it to \
             access the file even when QuickBooks is not running (Integrated Applications preferences)"
        }
        0x8004_041E => {
            "the application's certificate has expired. Update the Web Connector and qbsync, then approve the application again"
        }
        0x8004_041F => {
            "this QuickBooks edition does not support integrated applications. Use QuickBooks Pro, Premier or Enterprise"
        }
        0x8004_0420 => {
            "a QuickBooks user refused this application's access. Run the update again and accept the \
             access prompt, logged in as the QuickBooks Admin"
        }
        0x8004_0422 => {
            "the application needs the company file in single-user mode while another application is using it. \
             Close the other application, then run the sync again"
        }
        0x8004_0423 => {
            "this QuickBooks does not support the qbXML version requested. Update QuickBooks or report the problem to qbsync's administrators"
        }
        0x8004_0424 => "QuickBooks had not finished starting. Wait a moment and run the sync again",
        0x8004_0427 => "this copy of QuickBooks is not registered. Register QuickBooks, then run the sync again",
        0x8004_042A => {
            "remote access to QuickBooks is not allowed. Run the Web Connector on the computer where QuickBooks runs"
        }
        0x8004_042C => {
            "the application's certificate has been revoked. Update the Web Connector and qbsync, then approve the application again"
        }
        _ => return None,
    })
}

/// Parses the HRESULT spellings QBWC and its logs use into the 32-bit value.
fn parse_hresult(text: &str) -> Option<u32> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return parse_hex(hex);
    }
    if text.len() == 8 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return parse_hex(text);
    }
    if text.starts_with('-') {
        return text.parse::<i32>().ok().map(|signed| signed as u32);
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<u32>().ok();
    }
    None
}

fn parse_hex(hex: &str) -> Option<u32> {
    if hex.is_empty() || hex.len() > 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_ranges() {
        assert_eq!(classify_status(0), Severity::Ok);
        assert_eq!(classify_status(1), Severity::NoMatch);
        assert_eq!(classify_status(2), Severity::Info);
        assert_eq!(classify_status(499), Severity::Info);
        assert_eq!(classify_status(500), Severity::Warning);
        assert_eq!(classify_status(999), Severity::Warning);
        assert_eq!(classify_status(1000), Severity::Error);
        assert_eq!(classify_status(3391), Severity::Error);
        assert_eq!(classify_status(-1), Severity::Error);
    }

    #[test]
    fn known_statuses_are_explained() {
        assert!(explain_status(3391).unwrap().contains("iterator"));
        assert!(explain_status(3261).unwrap().contains("personal data"));
        assert!(explain_status(1000).unwrap().contains("internal error"));
        assert!(explain_status(3120).unwrap().contains("no longer exists"));
        assert!(explain_status(3231).unwrap().contains("earlier request"));
        assert!(explain_status(500).is_some() && explain_status(1).is_some());
        assert_eq!(explain_status(4242), None);
        for code in [0, 1, 500, 1000, 3120, 3231, 3261, 3391] {
            let text = explain_status(code).unwrap();
            assert!(!text.ends_with('.'), "{code}");
        }
    }

    #[test]
    fn hresult_spellings_are_all_understood() {
        let expected = explain_hresult("0x80040400").unwrap();
        for spelling in ["0X80040400", "80040400", "-2147220480", " 0x80040400 ", "2147746816"] {
            assert_eq!(explain_hresult(spelling), Some(expected), "{spelling}");
        }
        assert!(expected.contains("report"));
    }

    #[test]
    fn hresult_explanations_say_what_to_do() {
        assert!(explain_hresult("0x80040418").unwrap().contains("Admin"));
        assert!(explain_hresult("0x8004040A").unwrap().contains("different company file"));
        assert!(explain_hresult("0x8004041d").unwrap().contains("log in automatically"));
        assert!(explain_hresult("0x80040414").unwrap().contains("Close"));
        assert_eq!(explain_hresult("-2147220458"), explain_hresult("0x80040416"));
    }

    #[test]
    fn unknown_or_malformed_hresults() {
        for text in ["", "0x", "0x123456789", "zz", "0x80049999", "-", "-99999999999", "8004040"] {
            assert_eq!(explain_hresult(text), None, "{text:?}");
        }
    }
}
