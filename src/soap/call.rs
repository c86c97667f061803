//! The Web Connector operations as typed values: [`Call`] (what QBWC asked) and [`Reply`]
//! (what we answer), plus the table of operation and parameter names they are read from.
//!
//! Names follow the QBWC WSDL exactly (protocol guide §1.2); they are case-sensitive.

/// One Web Connector request, decoded from the SOAP envelope.
///
/// Missing and empty parameters are both read as `""`.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    /// `serverVersion()`: the parameterless form QBWC 2.x sends first.
    ServerVersion,
    /// `getServerVersion(ticket)`: the form documented in the 2022 programmer's guide.
    GetServerVersion {
        /// `ticket`.
        ticket: String,
    },
    /// `clientVersion(strVersion)`: QBWC announces its own version.
    ClientVersion {
        /// `strVersion`, e.g. `2.3.0.215`.
        version: String,
    },
    /// `authenticate(strUserName, strPassword)`.
    Authenticate {
        /// `strUserName`, the `<UserName>` of the .qwc file.
        username: String,
        /// `strPassword`, as typed into QBWC.
        password: String,
    },
    /// `sendRequestXML(...)`: QBWC asks for the next qbXML request.
    SendRequestXml {
        /// `ticket`.
        ticket: String,
        /// `strHCPResponse`, unescaped: the Host/Company/Preferences qbXML response on the
        /// first call of a session, `""` afterwards.
        hcp_response: String,
        /// `strCompanyFileName`, the path of the open company file.
        company_file_name: String,
        /// `qbXMLCountry`, e.g. `US`.
        country: String,
        /// `qbXMLMajorVers`; `None` when missing or not an integer.
        major_version: Option<i32>,
        /// `qbXMLMinorVers`; `None` when missing or not an integer.
        minor_version: Option<i32>,
    },
    /// `receiveResponseXML(ticket, response, hresult, message)`.
    ///
    /// The `response` text is not stored here: [`super::read_call`] streams it to a callback.
    ReceiveResponseXml {
        /// `ticket`.
        ticket: String,
        /// `hresult`: `""` on success, else hex text such as `0x80040400`.
        hresult: String,
        /// `message`: `""` on success, else the request processor's error text.
        message: String,
    },
    /// `connectionError(ticket, hresult, message)`: QBWC could not reach QuickBooks.
    ConnectionError {
        /// `ticket`.
        ticket: String,
        /// `hresult`, e.g. `0x80040408`.
        hresult: String,
        /// `message`.
        message: String,
    },
    /// `getLastError(ticket)`.
    GetLastError {
        /// `ticket`.
        ticket: String,
    },
    /// `closeConnection(ticket)`: end of the session.
    CloseConnection {
        /// `ticket`.
        ticket: String,
    },
    /// `getInteractiveURL(wcTicket, sessionID)`.
    GetInteractiveUrl {
        /// `wcTicket`.
        ticket: String,
        /// `sessionID`.
        session_id: String,
    },
    /// `interactiveDone(wcTicket)`.
    InteractiveDone {
        /// `wcTicket`.
        ticket: String,
    },
    /// `interactiveRejected(wcTicket, reason)`.
    InteractiveRejected {
        /// `wcTicket`.
        ticket: String,
        /// `reason`.
        reason: String,
    },
}

impl Call {
    /// The WSDL operation name, e.g. `sendRequestXML`.
    pub fn method(&self) -> &'static str {
        self.kind().name()
    }

    /// The session ticket (`ticket` or `wcTicket`) when the call carries a non-empty one.
    pub fn ticket(&self) -> Option<&str> {
        let ticket = match self {
            Call::ServerVersion | Call::ClientVersion { .. } | Call::Authenticate { .. } => {
                return None;
            }
            Call::GetServerVersion { ticket }
            | Call::SendRequestXml { ticket, .. }
            | Call::ReceiveResponseXml { ticket, .. }
            | Call::ConnectionError { ticket, .. }
            | Call::GetLastError { ticket }
            | Call::CloseConnection { ticket }
            | Call::GetInteractiveUrl { ticket, .. }
            | Call::InteractiveDone { ticket }
            | Call::InteractiveRejected { ticket, .. } => ticket,
        };
        Some(ticket.as_str()).filter(|t| !t.is_empty())
    }

    fn kind(&self) -> Method {
        match self {
            Call::ServerVersion => Method::ServerVersion,
            Call::GetServerVersion { .. } => Method::GetServerVersion,
            Call::ClientVersion { .. } => Method::ClientVersion,
            Call::Authenticate { .. } => Method::Authenticate,
            Call::SendRequestXml { .. } => Method::SendRequestXml,
            Call::ReceiveResponseXml { .. } => Method::ReceiveResponseXml,
            Call::ConnectionError { .. } => Method::ConnectionError,
            Call::GetLastError { .. } => Method::GetLastError,
            Call::CloseConnection { .. } => Method::CloseConnection,
            Call::GetInteractiveUrl { .. } => Method::GetInteractiveUrl,
            Call::InteractiveDone { .. } => Method::InteractiveDone,
            Call::InteractiveRejected { .. } => Method::InteractiveRejected,
        }
    }
}

/// Our answer to a [`Call`]; each variant renders as `<{method}Response>/<{method}Result>`.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `serverVersionResult`: any version string.
    ServerVersion(String),
    /// `getServerVersionResult`.
    GetServerVersion(String),
    /// `clientVersionResult`: `""`, `W:..`, `E:..` or `O:..`.
    ClientVersion(String),
    /// `authenticateResult`: `[ticket, "" | "none" | "nvu" | "busy" | path, (postpone), (min interval)]`.
    /// Rendered with at least two `<string>` items.
    Authenticate(Vec<String>),
    /// `sendRequestXMLResult`: a qbXML request document, `""` or `NoOp`.
    SendRequestXml(String),
    /// `receiveResponseXMLResult`: percent done (0..=100) or a negative error code.
    ReceiveResponseXml(i32),
    /// `connectionErrorResult`: `done` or a company file path to retry with.
    ConnectionError(String),
    /// `getLastErrorResult`.
    GetLastError(String),
    /// `closeConnectionResult`: shown in QBWC's Status column.
    CloseConnection(String),
    /// `getInteractiveURLResult`.
    GetInteractiveUrl(String),
    /// `interactiveDoneResult`.
    InteractiveDone(String),
    /// `interactiveRejectedResult`.
    InteractiveRejected(String),
}

impl Reply {
    /// The WSDL operation name this reply answers, e.g. `authenticate`.
    pub fn method(&self) -> &'static str {
        let kind = match self {
            Reply::ServerVersion(_) => Method::ServerVersion,
            Reply::GetServerVersion(_) => Method::GetServerVersion,
            Reply::ClientVersion(_) => Method::ClientVersion,
            Reply::Authenticate(_) => Method::Authenticate,
            Reply::SendRequestXml(_) => Method::SendRequestXml,
            Reply::ReceiveResponseXml(_) => Method::ReceiveResponseXml,
            Reply::ConnectionError(_) => Method::ConnectionError,
            Reply::GetLastError(_) => Method::GetLastError,
            Reply::CloseConnection(_) => Method::CloseConnection,
            Reply::GetInteractiveUrl(_) => Method::GetInteractiveUrl,
            Reply::InteractiveDone(_) => Method::InteractiveDone,
            Reply::InteractiveRejected(_) => Method::InteractiveRejected,
        };
        kind.name()
    }
}

/// The operations, as a closed set used while parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Method {
    ServerVersion,
    GetServerVersion,
    ClientVersion,
    Authenticate,
    SendRequestXml,
    ReceiveResponseXml,
    ConnectionError,
    GetLastError,
    CloseConnection,
    GetInteractiveUrl,
    InteractiveDone,
    InteractiveRejected,
}

/// The longest parameter list (sendRequestXML).
pub(super) const MAX_PARAMS: usize = 6;

impl Method {
    /// Every operation, in WSDL order.
    pub(super) const ALL: [Method; 12] = [
        Method::ServerVersion,
        Method::GetServerVersion,
        Method::ClientVersion,
        Method::Authenticate,
        Method::SendRequestXml,
        Method::ReceiveResponseXml,
        Method::ConnectionError,
        Method::GetLastError,
        Method::CloseConnection,
        Method::GetInteractiveUrl,
        Method::InteractiveDone,
        Method::InteractiveRejected,
    ];

    /// The WSDL operation (and request element) name.
    pub(super) fn name(self) -> &'static str {
        match self {
            Method::ServerVersion => "serverVersion",
            Method::GetServerVersion => "getServerVersion",
            Method::ClientVersion => "clientVersion",
            Method::Authenticate => "authenticate",
            Method::SendRequestXml => "sendRequestXML",
            Method::ReceiveResponseXml => "receiveResponseXML",
            Method::ConnectionError => "connectionError",
            Method::GetLastError => "getLastError",
            Method::CloseConnection => "closeConnection",
            Method::GetInteractiveUrl => "getInteractiveURL",
            Method::InteractiveDone => "interactiveDone",
            Method::InteractiveRejected => "interactiveRejected",
        }
    }

    /// Looks an operation up by its exact (case-sensitive) name.
    pub(super) fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The parameter element names, in WSDL order.
    pub(super) fn params(self) -> &'static [&'static str] {
        match self {
            Method::ServerVersion => &[],
            Method::GetServerVersion | Method::GetLastError | Method::CloseConnection => &["ticket"],
            Method::ClientVersion => &["strVersion"],
            Method::Authenticate => &["strUserName", "strPassword"],
            Method::SendRequestXml => {
                &["ticket", "strHCPResponse", "strCompanyFileName", "qbXMLCountry", "qbXMLMajorVers", "qbXMLMinorVers"]
            }
            Method::ReceiveResponseXml => &["ticket", "response", "hresult", "message"],
            Method::ConnectionError => &["ticket", "hresult", "message"],
            Method::GetInteractiveUrl => &["wcTicket", "sessionID"],
            Method::InteractiveDone => &["wcTicket"],
            Method::InteractiveRejected => &["wcTicket", "reason"],
        }
    }

    /// Builds the call from the parameter values, given in [`Method::params`] order
    /// (`response` of receiveResponseXML is not among the values that are used).
    pub(super) fn build(self, values: [String; MAX_PARAMS]) -> Call {
        let [a, b, c, d, e, f] = values;
        match self {
            Method::ServerVersion => Call::ServerVersion,
            Method::GetServerVersion => Call::GetServerVersion { ticket: a },
            Method::ClientVersion => Call::ClientVersion { version: a },
            Method::Authenticate => Call::Authenticate { username: a, password: b },
            Method::SendRequestXml => Call::SendRequestXml {
                ticket: a,
                hcp_response: b,
                company_file_name: c,
                country: d,
                major_version: parse_int(&e),
                minor_version: parse_int(&f),
            },
            Method::ReceiveResponseXml => Call::ReceiveResponseXml { ticket: a, hresult: c, message: d },
            Method::ConnectionError => Call::ConnectionError { ticket: a, hresult: b, message: c },
            Method::GetLastError => Call::GetLastError { ticket: a },
            Method::CloseConnection => Call::CloseConnection { ticket: a },
            Method::GetInteractiveUrl => Call::GetInteractiveUrl { ticket: a, session_id: b },
            Method::InteractiveDone => Call::InteractiveDone { ticket: a },
            Method::InteractiveRejected => Call::InteractiveRejected { ticket: a, reason: b },
        }
    }
}

/// Reads an `xs:int` (surrounding XML whitespace allowed); anything else is `None`.
fn parse_int(text: &str) -> Option<i32> {
    text.trim_matches([' ', '\t', '\r', '\n']).parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_round_trip_and_are_case_sensitive() {
        for m in Method::ALL {
            assert_eq!(Method::from_name(m.name()), Some(m));
            assert!(m.params().len() <= MAX_PARAMS);
        }
        assert_eq!(Method::from_name("Authenticate"), None);
        assert_eq!(Method::from_name("sendRequestXml"), None);
    }

    #[test]
    fn call_method_and_ticket() {
        let call =
            Method::GetInteractiveUrl.build(["t1".into(), "s".into(), "".into(), "".into(), "".into(), "".into()]);
        assert_eq!(call.method(), "getInteractiveURL");
        assert_eq!(call.ticket(), Some("t1"));
        assert_eq!(Call::ServerVersion.ticket(), None);
        assert_eq!(Call::GetLastError { ticket: String::new() }.ticket(), None);
        assert_eq!(Reply::ReceiveResponseXml(5).method(), "receiveResponseXML");
    }

    #[test]
    fn versions_that_are_not_integers_are_none() {
        assert_eq!(parse_int(" 13\n"), Some(13));
        assert_eq!(parse_int("+2"), Some(2));
        assert_eq!(parse_int("-1"), Some(-1));
        assert_eq!(parse_int("13.0"), None);
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("99999999999"), None);
    }
}
