//! The Web Connector's session loop over real HTTP (ureq, one keep-alive agent):
//! serverVersion → clientVersion → authenticate → (connectionError | sendRequestXML ⇄
//! receiveResponseXML …) → getLastError when QBWC would ask → closeConnection, with
//! [`FakeQuickBooks`] answering the qbXML in between.

use std::io::Read;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::quickbooks::FakeQuickBooks;
use super::wire::{self, Param, Reply};
use super::xml::Element;

/// How long QBWC waits before asking again after a `NoOp` (it waits about 5 s; we keep tests quick).
const NOOP_PAUSE: Duration = Duration::from_millis(300);
/// How many `NoOp` rounds we follow before closing the session.
const MAX_NOOPS: u32 = 3;
/// Largest reply body we read.
const MAX_REPLY_BYTES: u64 = 256 * 1024 * 1024;

/// How to reach the server and who to be.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// SOAP endpoint, e.g. `http://127.0.0.1:8080/qbwc`; a base URL without a path gets `/qbwc` appended.
    pub url: String,
    /// Web Connector username (the `.qwc` UserName).
    pub username: String,
    /// Web Connector password.
    pub password: String,
    /// QBWC version sent to clientVersion (default `2.3.0.215`).
    pub qbwc_version: String,
    /// Company file path sent to sendRequestXML; empty means
    /// `C:\Users\Public\Documents\Intuit\QuickBooks\Company Files\<Company>.qbw` for the dataset's company.
    pub company_file: String,
    /// qbXMLCountry (default `US`).
    pub country: String,
    /// When false, any URL whose host is not loopback (127.0.0.0/8, ::1, localhost) is refused.
    pub allow_remote: bool,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Safety bound on the number of SOAP calls in one session (default 100 000).
    pub max_calls: u32,
    /// More endpoints of the same service, as behind a load balancer: the calls of the session
    /// go to `url` and these in turn (empty: every call goes to `url`).
    pub more_urls: Vec<String>,
}

impl SimOptions {
    /// Options for this endpoint and credentials, everything else default.
    pub fn new(url: &str, username: &str, password: &str) -> Self {
        SimOptions { url: url.into(), username: username.into(), password: password.into(), ..Default::default() }
    }
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            url: "http://127.0.0.1:8080/qbwc".into(),
            username: String::new(),
            password: String::new(),
            qbwc_version: "2.3.0.215".into(),
            company_file: String::new(),
            country: "US".into(),
            allow_remote: false,
            timeout: Duration::from_secs(60),
            max_calls: 100_000,
            more_urls: Vec::new(),
        }
    }
}

/// What happened during one simulated Web Connector session.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SimReport {
    /// serverVersion result.
    pub server_version: String,
    /// clientVersion result (`""`, `W:…`, `E:…`, `O:…`).
    pub client_version_answer: String,
    /// authenticate's second string: "" (open file), "none", "nvu", "busy", or a company file path.
    pub auth_status: String,
    /// True when authenticate returned a non-empty ticket.
    pub ticket_seen: bool,
    /// qbXML requests received from sendRequestXML.
    pub requests: u32,
    /// CustomerRet elements handed to the server.
    pub customers_sent: u64,
    /// EmployeeRet elements handed to the server.
    pub employees_sent: u64,
    /// Every receiveResponseXML result, in order.
    pub progress: Vec<i32>,
    /// getLastError text, when it was asked.
    pub last_error: Option<String>,
    /// closeConnection result.
    pub close_message: Option<String>,
    /// connectionError result, when QuickBooks could not be opened.
    pub connection_error_answer: Option<String>,
    /// True if any request asked for SSN (or sent no IncludeRetElement for employees).
    pub requested_ssn: bool,
    /// SOAP Faults (and HTTP 500s) received, as `method: faultstring`.
    pub soap_faults: Vec<String>,
    /// Wall time of the session.
    pub elapsed_ms: u128,
    /// Of that, time spent waiting on the server: from sending each call's request until its
    /// reply has been read (building requests and playing QuickBooks is the rest).
    pub server_wait_us: u128,
    /// Methods called, in order.
    pub calls: Vec<String>,
}

impl SimReport {
    /// A few human-readable lines for the CLI.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "server {:?}, clientVersion answer {:?}, authenticate {}{}\n",
            self.server_version,
            self.client_version_answer,
            match self.auth_status.as_str() {
                "" => "ok (open company file)".to_string(),
                other => format!("{other:?}"),
            },
            if self.ticket_seen { "" } else { " (no ticket)" }
        ));
        s.push_str(&format!(
            "{} qbXML request(s): {} customer(s) and {} employee(s) sent in {} ms over {} call(s)\n",
            self.requests,
            self.customers_sent,
            self.employees_sent,
            self.elapsed_ms,
            self.calls.len()
        ));
        if !self.progress.is_empty() {
            let p: Vec<String> = self.progress.iter().map(|v| v.to_string()).collect();
            let shown = if p.len() > 12 {
                format!("{} … {}", p[..6].join(", "), p[p.len() - 4..].join(", "))
            } else {
                p.join(", ")
            };
            s.push_str(&format!("progress: {shown}\n"));
        }
        if let Some(a) = &self.connection_error_answer {
            s.push_str(&format!("connectionError answer: {a:?}\n"));
        }
        if let Some(e) = &self.last_error {
            s.push_str(&format!("getLastError: {e:?}\n"));
        }
        for f in &self.soap_faults {
            s.push_str(&format!("SOAP fault: {f}\n"));
        }
        if self.requested_ssn {
            s.push_str("WARNING: the server asked QuickBooks for employee SSNs\n");
        }
        s.push_str(&format!(
            "closeConnection: {}\n",
            self.close_message.as_deref().map_or("(not called)".to_string(), |m| format!("{m:?}"))
        ));
        s
    }
}

/// Why a session could not be played to the end.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The URL is not a usable `http://host[:port][/path]`.
    #[error("invalid URL {0:?}: {1}")]
    InvalidUrl(String, String),
    /// The host is not loopback and remote targets were not allowed.
    #[error("refusing to talk to {0:?}: not a loopback address (use --allow-remote to allow it)")]
    RemoteRefused(String),
    /// Connection refused, timeout, reset…
    #[error("{method}: transport error: {message}")]
    Transport {
        /// The SOAP method being called.
        method: String,
        /// What went wrong.
        message: String,
    },
    /// An HTTP status other than 200 (or 500 with a fault).
    #[error("{method}: HTTP {status}: {body}")]
    Http {
        /// The SOAP method being called.
        method: String,
        /// HTTP status code.
        status: u16,
        /// Start of the body.
        body: String,
    },
    /// A reply QBWC could not use (content type, envelope, namespace, types).
    #[error("{method}: invalid reply: {reason}")]
    InvalidReply {
        /// The SOAP method being called.
        method: String,
        /// Why the reply is unusable.
        reason: String,
    },
    /// The server broke the protocol in a way QBWC cannot continue from.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// max_calls reached.
    #[error("stopped after {0} SOAP calls (max_calls)")]
    TooManyCalls(u32),
}

/// Checks and completes the endpoint URL: http only, loopback unless `allow_remote`,
/// `/qbwc` appended to a bare base URL.
pub fn endpoint_url(url: &str, allow_remote: bool) -> Result<String, SimError> {
    let bad = |why: &str| SimError::InvalidUrl(url.to_string(), why.to_string());
    let trimmed = url.trim();
    let rest = if let Some(r) = trimmed.strip_prefix("http://") {
        r
    } else if trimmed.starts_with("https://") {
        return Err(bad("https is not available in the simulator (plain HTTP only); use http://"));
    } else {
        return Err(bad("expected http://host[:port][/path]"));
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.is_empty() || authority.contains('@') {
        return Err(bad("missing or unsupported host"));
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        let close = v6.find(']').ok_or_else(|| bad("unclosed IPv6 bracket"))?;
        let after = &v6[close + 1..];
        if !after.is_empty() && after.strip_prefix(':').is_none_or(|p| p.parse::<u16>().is_err()) {
            return Err(bad("bad port"));
        }
        &v6[..close]
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => {
                p.parse::<u16>().map_err(|_| bad("bad port"))?;
                h
            }
            None => authority,
        }
    };
    if host.is_empty() {
        return Err(bad("missing host"));
    }
    let loopback = host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback && !allow_remote {
        return Err(SimError::RemoteRefused(host.to_string()));
    }
    let path = if path.is_empty() || path == "/" { "/qbwc" } else { path };
    Ok(format!("http://{authority}{path}"))
}

enum Outcome {
    Result(Option<Element>),
    Fault,
}

struct Session<'a> {
    agent: ureq::Agent,
    /// Endpoints used in turn, one call each.
    urls: Vec<String>,
    options: &'a SimOptions,
    report: SimReport,
    calls: u32,
}

fn snippet(s: &str) -> String {
    let t: String = s.chars().take(300).collect();
    t.replace(['\r', '\n'], " ")
}

impl Session<'_> {
    fn call(&mut self, method: &str, params: &[(&str, Param<'_>)]) -> Result<Outcome, SimError> {
        if self.calls >= self.options.max_calls {
            return Err(SimError::TooManyCalls(self.calls));
        }
        self.calls += 1;
        self.report.calls.push(method.to_string());
        let envelope = wire::request_envelope(method, params);
        let url = &self.urls[(self.calls as usize - 1) % self.urls.len()];
        let waiting = Instant::now();
        let sent = self
            .agent
            .post(url)
            .set("Content-Type", "text/xml; charset=utf-8")
            .set("SOAPAction", &wire::soap_action(method))
            .set("User-Agent", wire::USER_AGENT)
            .send_string(&envelope);
        let response = match sent {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => {
                return Err(SimError::Transport { method: method.into(), message: t.to_string() });
            }
        };
        let status = response.status();
        let content_type = response.header("Content-Type").unwrap_or("").to_string();
        let mut body = String::new();
        response
            .into_reader()
            .take(MAX_REPLY_BYTES)
            .read_to_string(&mut body)
            .map_err(|e| SimError::Transport { method: method.into(), message: format!("reading the reply: {e}") })?;
        self.report.server_wait_us += waiting.elapsed().as_micros();
        let is_xml = content_type.trim().to_ascii_lowercase().starts_with("text/xml");
        if status == 500 {
            let message = match wire::parse_reply(&body, method) {
                Ok(Reply::Fault { message, .. }) if is_xml => message,
                _ => format!("HTTP 500 without a SOAP Fault (Content-Type {content_type:?}): {}", snippet(&body)),
            };
            self.report.soap_faults.push(format!("{method}: {message}"));
            return Ok(Outcome::Fault);
        }
        if status != 200 {
            return Err(SimError::Http { method: method.into(), status, body: snippet(&body) });
        }
        if !is_xml {
            return Err(SimError::InvalidReply {
                method: method.into(),
                reason: format!("Client found response content type of '{content_type}', but expected 'text/xml'"),
            });
        }
        match wire::parse_reply(&body, method) {
            Ok(Reply::Fault { message, .. }) => {
                self.report.soap_faults.push(format!("{method}: {message}"));
                Ok(Outcome::Fault)
            }
            Ok(Reply::Result(r)) => Ok(Outcome::Result(r)),
            Err(reason) => Err(SimError::InvalidReply { method: method.into(), reason }),
        }
    }

    fn invalid(method: &str, reason: String) -> SimError {
        SimError::InvalidReply { method: method.into(), reason }
    }

    /// A string-result call; None when it faulted.
    fn call_text(&mut self, method: &str, params: &[(&str, Param<'_>)]) -> Result<Option<String>, SimError> {
        match self.call(method, params)? {
            Outcome::Fault => Ok(None),
            Outcome::Result(r) => wire::result_text(r.as_ref()).map(Some).map_err(|e| Self::invalid(method, e)),
        }
    }

    fn get_last_error(&mut self, ticket: &str) -> Result<Option<String>, SimError> {
        let text = self.call_text("getLastError", &[("ticket", Param::Str(ticket))])?;
        if let Some(t) = &text {
            self.report.last_error = Some(t.clone());
        }
        Ok(text)
    }

    fn close(&mut self, ticket: &str) -> Result<(), SimError> {
        if let Some(m) = self.call_text("closeConnection", &[("ticket", Param::Str(ticket))])? {
            self.report.close_message = Some(m);
        }
        Ok(())
    }

    fn drive(&mut self, qb: &mut FakeQuickBooks) -> Result<(), SimError> {
        let o = self.options;
        let Some(v) = self.call_text("serverVersion", &[])? else { return Ok(()) };
        self.report.server_version = v;

        let Some(answer) = self.call_text("clientVersion", &[("strVersion", Param::Str(&o.qbwc_version))])? else {
            return Ok(());
        };
        self.report.client_version_answer = answer.clone();
        if answer.starts_with("E:") || answer.starts_with("O:") {
            return Ok(());
        }

        let auth = match self.call(
            "authenticate",
            &[("strUserName", Param::Str(&o.username)), ("strPassword", Param::Str(&o.password))],
        )? {
            Outcome::Fault => return Ok(()),
            Outcome::Result(r) => wire::result_strings(r.as_ref()).map_err(|e| Self::invalid("authenticate", e))?,
        };
        if auth.len() < 2 {
            return Err(Self::invalid(
                "authenticate",
                format!(
                    "{} string(s) in authenticateResult; QBWC needs at least 2 (QBWC1012: index was outside the bounds of the array)",
                    auth.len()
                ),
            ));
        }
        let ticket = auth[0].clone();
        self.report.ticket_seen = !ticket.is_empty();
        self.report.auth_status = auth[1].clone();
        if matches!(auth[1].as_str(), "none" | "nvu" | "busy") {
            return Ok(());
        }
        if ticket.is_empty() {
            return Err(SimError::Protocol("authenticate let the user in but returned an empty ticket".into()));
        }
        let company_file = if !auth[1].is_empty() {
            auth[1].clone()
        } else if !o.company_file.is_empty() {
            o.company_file.clone()
        } else {
            qb.dataset().company_file_path()
        };

        if let Some((hresult, message)) = qb.faults().connection_error.clone() {
            let answer = self.call_text(
                "connectionError",
                &[
                    ("ticket", Param::Str(&ticket)),
                    ("hresult", Param::Str(&hresult)),
                    ("message", Param::Str(&message)),
                ],
            )?;
            let Some(answer) = answer else { return Ok(()) };
            self.report.connection_error_answer = Some(answer);
            return self.close(&ticket);
        }

        let (major, minor) = qb.max_qbxml_version();
        let mut first = true;
        let mut noops = 0;
        loop {
            let hcp = if first { qb.hcp_response() } else { String::new() };
            first = false;
            let Some(request) = self.call_text(
                "sendRequestXML",
                &[
                    ("ticket", Param::Str(&ticket)),
                    ("strHCPResponse", Param::Str(&hcp)),
                    ("strCompanyFileName", Param::Str(&company_file)),
                    ("qbXMLCountry", Param::Str(&o.country)),
                    ("qbXMLMajorVers", Param::Int(major as i64)),
                    ("qbXMLMinorVers", Param::Int(minor as i64)),
                ],
            )?
            else {
                return Ok(());
            };
            if request.is_empty() || request == "NoOp" {
                let Some(text) = self.get_last_error(&ticket)? else { return Ok(()) };
                if request == "NoOp" && text == "NoOp" && noops < MAX_NOOPS {
                    noops += 1;
                    std::thread::sleep(NOOP_PAUSE);
                    continue;
                }
                return self.close(&ticket);
            }
            self.report.requests += 1;
            let (response, hresult, message) = match qb.process(&request) {
                Ok(r) => (r, String::new(), String::new()),
                Err(e) => (String::new(), e.hresult, e.message),
            };
            let progress = match self.call(
                "receiveResponseXML",
                &[
                    ("ticket", Param::Str(&ticket)),
                    ("response", Param::Str(&response)),
                    ("hresult", Param::Str(&hresult)),
                    ("message", Param::Str(&message)),
                ],
            )? {
                Outcome::Fault => {
                    if self.get_last_error(&ticket)?.is_some() {
                        self.close(&ticket)?;
                    }
                    return Ok(());
                }
                Outcome::Result(r) => {
                    wire::result_int(r.as_ref()).map_err(|e| Self::invalid("receiveResponseXML", e))?
                }
            };
            self.report.progress.push(progress);
            if progress > 100 {
                return Err(SimError::Protocol(format!(
                    "receiveResponseXML returned {progress}; QBWC expects -n, 0..99 or 100"
                )));
            }
            if progress == 100 {
                return self.close(&ticket);
            }
            if progress < 0 {
                if self.get_last_error(&ticket)?.is_some() {
                    self.close(&ticket)?;
                }
                return Ok(());
            }
        }
    }
}

/// Plays one Web Connector session against the server at `options.url`, with `qb` answering
/// the qbXML requests. SOAP faults end the session the way QBWC would and are recorded in the
/// report; transport failures and replies QBWC could not read are errors.
pub fn run(options: &SimOptions, qb: &mut FakeQuickBooks) -> Result<SimReport, SimError> {
    let mut urls = vec![endpoint_url(&options.url, options.allow_remote)?];
    for more in &options.more_urls {
        urls.push(endpoint_url(more, options.allow_remote)?);
    }
    let agent = ureq::AgentBuilder::new().timeout(options.timeout).redirects(0).build();
    let started = Instant::now();
    let (c0, e0, ssn0) = (qb.customers_sent(), qb.employees_sent(), qb.ssn_requests());
    let mut session = Session { agent, urls, options, report: SimReport::default(), calls: 0 };
    let result = session.drive(qb);
    qb.end_session();
    result?;
    let mut report = session.report;
    report.customers_sent = qb.customers_sent() - c0;
    report.employees_sent = qb.employees_sent() - e0;
    report.requested_ssn = qb.ssn_requests() > ssn0;
    report.elapsed_ms = started.elapsed().as_millis();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::super::data::Dataset;
    use super::super::quickbooks::Faults;
    use super::super::wire::INTUIT_NS;
    use super::super::xml;
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    /// One HTTP request as the fake server saw it.
    #[derive(Clone, Debug)]
    struct Seen {
        request_line: String,
        headers: Vec<(String, String)>,
        body: String,
        connection: usize,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
        }
        /// The SOAP method element (checked to be the single child of soap:Body, in the intuit namespace).
        fn method(&self) -> xml::Element {
            let doc = xml::parse(&self.body).expect("request envelope is well-formed");
            assert_eq!((doc.root.name.as_str(), doc.root.ns.as_deref()), ("Envelope", Some(wire::SOAP_ENV_NS)));
            let body = doc.root.child("Body").expect("soap:Body");
            assert_eq!(body.children.len(), 1);
            let m = body.children[0].clone();
            assert_eq!(m.ns.as_deref(), Some(INTUIT_NS));
            for p in &m.children {
                assert_eq!(p.ns.as_deref(), Some(INTUIT_NS), "parameter {} qualified", p.name);
            }
            m
        }
    }

    type Handler = Box<dyn FnMut(&str, &xml::Element) -> (u16, String, String) + Send>;

    /// A tiny HTTP/1.1 server answering SOAP calls through `handler(method, method_element)`.
    fn serve(mut handler: Handler) -> (String, Arc<Mutex<Vec<Seen>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for (conn, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        break;
                    }
                    let mut headers = Vec::new();
                    loop {
                        let mut line = String::new();
                        reader.read_line(&mut line).unwrap();
                        let line = line.trim_end().to_string();
                        if line.is_empty() {
                            break;
                        }
                        let (k, v) = line.split_once(':').unwrap();
                        headers.push((k.trim().to_string(), v.trim().to_string()));
                    }
                    let len: usize = headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                        .map(|(_, v)| v.parse().unwrap())
                        .unwrap_or(0);
                    let mut body = vec![0u8; len];
                    std::io::Read::read_exact(&mut reader, &mut body).unwrap();
                    let seen = Seen {
                        request_line: request_line.trim_end().to_string(),
                        headers,
                        body: String::from_utf8(body).unwrap(),
                        connection: conn,
                    };
                    let m = seen.method();
                    log.lock().unwrap().push(seen);
                    let (status, ctype, body) = handler(&m.name, &m);
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    writer.write_all(head.as_bytes()).unwrap();
                    writer.write_all(body.as_bytes()).unwrap();
                }
            }
        });
        (url, seen)
    }

    fn ok(method: &str, inner: &str) -> (u16, String, String) {
        (
            200,
            "text/xml; charset=utf-8".into(),
            format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><{method}Response xmlns=\"http://developer.intuit.com/\">{inner}</{method}Response></soap:Body></soap:Envelope>"
            ),
        )
    }

    fn result(method: &str, value: &str) -> (u16, String, String) {
        ok(method, &format!("<{method}Result>{}</{method}Result>", xml::escape_soap_text(value)))
    }

    fn fault(msg: &str) -> (u16, String, String) {
        (
            500,
            "text/xml; charset=utf-8".into(),
            format!(
                "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>{msg}</faultstring></soap:Fault></soap:Body></soap:Envelope>"
            ),
        )
    }

    /// Answers the handshake; `rest` handles everything after authenticate.
    fn scripted(
        auth: &'static [&'static str],
        mut rest: impl FnMut(&str, &xml::Element) -> (u16, String, String) + Send + 'static,
    ) -> Handler {
        Box::new(move |m: &str, el: &xml::Element| match m {
            "serverVersion" => result(m, "fake 1.0"),
            "clientVersion" => result(m, ""),
            "authenticate" => ok(
                m,
                &format!(
                    "<authenticateResult>{}</authenticateResult>",
                    auth.iter().map(|s| format!("<string>{s}</string>")).collect::<String>()
                ),
            ),
            "closeConnection" => result(m, "OK"),
            _ => rest(m, el),
        })
    }

    fn options(url: &str) -> SimOptions {
        SimOptions { timeout: Duration::from_secs(10), ..SimOptions::new(url, "acme", "s3cret") }
    }

    /// A minimal well-behaved server: customers by iterator, then employees, then 100.
    fn pager() -> Handler {
        let mut state: (u32, Option<String>, bool) = (0, None, false); // (step, iterator, employees done)
        scripted(&["tkt-1", ""], move |m, el| match m {
            "sendRequestXML" => {
                state.0 += 1;
                let q = match (&state.1, state.2) {
                    (_, true) => "<EmployeeQueryRq requestID=\"e\"><ActiveStatus>All</ActiveStatus><IncludeRetElement>ListID</IncludeRetElement><IncludeRetElement>Name</IncludeRetElement></EmployeeQueryRq>".to_string(),
                    (None, _) => "<CustomerQueryRq requestID=\"c\" iterator=\"Start\"><MaxReturned>20</MaxReturned><ActiveStatus>All</ActiveStatus><IncludeRetElement>ListID</IncludeRetElement><IncludeRetElement>FullName</IncludeRetElement></CustomerQueryRq>".to_string(),
                    (Some(id), _) => format!("<CustomerQueryRq requestID=\"c\" iterator=\"Continue\" iteratorID=\"{id}\"><MaxReturned>20</MaxReturned><ActiveStatus>All</ActiveStatus><IncludeRetElement>ListID</IncludeRetElement><IncludeRetElement>FullName</IncludeRetElement></CustomerQueryRq>"),
                };
                result(
                    m,
                    &format!(
                        "<?xml version=\"1.0\" encoding=\"utf-8\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\">{q}</QBXMLMsgsRq></QBXML>"
                    ),
                )
            }
            "receiveResponseXML" => {
                let doc = xml::parse(el.child_text("response").unwrap()).unwrap();
                let rs = &doc.root.child("QBXMLMsgsRs").unwrap().children[0];
                if rs.name == "EmployeeQueryRs" {
                    return result(m, "100");
                }
                match rs.attr("iteratorRemainingCount") {
                    Some("0") => {
                        state.1 = None;
                        state.2 = true;
                    }
                    _ => state.1 = rs.attr("iteratorID").map(str::to_string),
                }
                result(m, &(state.0 * 10).min(99).to_string())
            }
            _ => result(m, "unexpected"),
        })
    }

    fn methods(seen: &Arc<Mutex<Vec<Seen>>>) -> Vec<String> {
        seen.lock().unwrap().iter().map(|s| s.method().name).collect()
    }

    #[test]
    fn full_session_like_qbwc() {
        let (url, seen) = serve(pager());
        let mut qb = FakeQuickBooks::new(Dataset::generate(21, 75, 9), Faults::default());
        let report = run(&options(&url), &mut qb).unwrap();
        assert_eq!(report.server_version, "fake 1.0");
        assert_eq!(report.auth_status, "");
        assert!(report.ticket_seen);
        assert_eq!(report.customers_sent, 75);
        // Time waiting on the server is measured, and is part of the session's time.
        assert!(report.server_wait_us > 0);
        assert!(report.server_wait_us <= (report.elapsed_ms + 1) * 1000, "{report:?}");
        assert_eq!(report.employees_sent, 9);
        assert_eq!(report.requests, 5, "4 customer pages + 1 employee query");
        assert_eq!(report.progress.last(), Some(&100));
        assert_eq!(report.close_message.as_deref(), Some("OK"));
        assert!(!report.requested_ssn);
        assert!(report.soap_faults.is_empty());
        assert!(qb.violations().is_empty(), "{:?}", qb.violations());
        let mut expect = vec!["serverVersion", "clientVersion", "authenticate"];
        for _ in 0..5 {
            expect.extend(["sendRequestXML", "receiveResponseXML"]);
        }
        expect.push("closeConnection");
        assert_eq!(report.calls, expect);
        assert_eq!(methods(&seen), expect);
        assert!(report.summary().contains("75 customer(s) and 9 employee(s)"));
        serde_json::to_string(&report).unwrap();

        let seen = seen.lock().unwrap();
        assert!(seen.iter().all(|s| s.connection == 0), "one keep-alive connection");
        for s in seen.iter() {
            let m = s.method().name;
            assert_eq!(s.request_line, "POST /qbwc HTTP/1.1", "base URL gets /qbwc");
            assert_eq!(s.header("Content-Type"), Some("text/xml; charset=utf-8"));
            assert_eq!(
                s.header("SOAPAction").map(str::to_string),
                Some(format!("\"http://developer.intuit.com/{m}\""))
            );
            assert!(s.header("User-Agent").unwrap().contains("MS Web Services Client Protocol"));
            assert!(s.body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><soap:Body>"));
        }
        assert!(seen[0].body.contains("<serverVersion xmlns=\"http://developer.intuit.com/\" />"));
        let cv = seen[1].method();
        assert_eq!(cv.child_text("strVersion"), Some("2.3.0.215"));
        let auth = seen[2].method();
        assert_eq!((auth.child_text("strUserName"), auth.child_text("strPassword")), (Some("acme"), Some("s3cret")));
        let sends: Vec<&Seen> = seen.iter().filter(|s| s.method().name == "sendRequestXML").collect();
        for (i, s) in sends.iter().enumerate() {
            let m = s.method();
            let names: Vec<&str> = m.children.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(
                names,
                ["ticket", "strHCPResponse", "strCompanyFileName", "qbXMLCountry", "qbXMLMajorVers", "qbXMLMinorVers"]
            );
            assert_eq!(m.child_text("ticket"), Some("tkt-1"));
            assert_eq!((m.child_text("qbXMLMajorVers"), m.child_text("qbXMLMinorVers")), (Some("13"), Some("0")));
            assert_eq!(m.child_text("qbXMLCountry"), Some("US"));
            assert!(
                m.child_text("strCompanyFileName")
                    .unwrap()
                    .starts_with(r"C:\Users\Public\Documents\Intuit\QuickBooks\Company Files\")
            );
            if i == 0 {
                let hcp = xml::parse(m.child_text("strHCPResponse").unwrap()).expect("HCP response parses");
                assert!(hcp.root.child("QBXMLMsgsRs").unwrap().child("HostQueryRs").is_some());
            } else {
                assert!(s.body.contains("<strHCPResponse />"));
            }
        }
        let recv = seen.iter().find(|s| s.method().name == "receiveResponseXML").unwrap();
        assert!(recv.body.contains("<hresult /><message />"));
        let names: Vec<String> = recv.method().children.iter().map(|c| c.name.clone()).collect();
        assert_eq!(names, ["ticket", "response", "hresult", "message"]);
    }

    #[test]
    fn negative_progress_asks_get_last_error_then_closes() {
        let handler = scripted(&["t", ""], |m, _| match m {
            "sendRequestXML" => result(
                m,
                "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\"><CustomerQueryRq requestID=\"1\"><MaxReturned>5</MaxReturned></CustomerQueryRq></QBXMLMsgsRq></QBXML>",
            ),
            "receiveResponseXML" => result(m, "-101"),
            "getLastError" => result(m, "Sync failed: boom"),
            _ => result(m, ""),
        });
        let (url, seen) = serve(handler);
        let mut qb = FakeQuickBooks::new(Dataset::generate(2, 10, 2), Faults::default());
        let report = run(&options(&format!("{url}/qbwc")), &mut qb).unwrap();
        assert_eq!(
            report.calls,
            [
                "serverVersion",
                "clientVersion",
                "authenticate",
                "sendRequestXML",
                "receiveResponseXML",
                "getLastError",
                "closeConnection"
            ]
        );
        assert_eq!(report.progress, [-101]);
        assert_eq!(report.last_error.as_deref(), Some("Sync failed: boom"));
        assert_eq!(report.customers_sent, 5);
        assert_eq!(methods(&seen).len(), 7);
    }

    #[test]
    fn request_processor_errors_go_back_as_hresult() {
        let handler = scripted(&["t", ""], |m, el| match m {
            "sendRequestXML" => result(
                m,
                "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\"><CustomerQueryRq/></QBXMLMsgsRq></QBXML>",
            ),
            "receiveResponseXML" => {
                assert_eq!(el.child_text("response"), Some(""));
                assert_eq!(el.child_text("hresult"), Some("0x80040422"));
                assert_eq!(el.child_text("message"), Some("Single-user mode required."));
                result(m, "-1")
            }
            "getLastError" => result(m, "QuickBooks was busy"),
            _ => result(m, ""),
        });
        let (url, _) = serve(handler);
        let faults = Faults {
            hresult_on_request: Some((1, "0x80040422".into(), "Single-user mode required.".into())),
            ..Default::default()
        };
        let mut qb = FakeQuickBooks::new(Dataset::generate(2, 10, 2), faults);
        let report = run(&options(&url), &mut qb).unwrap();
        assert_eq!(report.progress, [-1]);
        assert_eq!(report.customers_sent, 0);
        assert_eq!(report.close_message.as_deref(), Some("OK"));
    }

    #[test]
    fn soap_fault_on_receive_then_get_last_error_and_close() {
        let handler = scripted(&["t", ""], |m, _| match m {
            "sendRequestXML" => result(
                m,
                "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\"><EmployeeQueryRq/></QBXMLMsgsRq></QBXML>",
            ),
            "receiveResponseXML" => fault("Server was unable to process request. ---> boom"),
            "getLastError" => result(m, "internal error"),
            _ => result(m, ""),
        });
        let (url, _) = serve(handler);
        let mut qb = FakeQuickBooks::new(Dataset::generate(2, 10, 4), Faults::default());
        let report = run(&options(&url), &mut qb).unwrap();
        assert_eq!(report.soap_faults, ["receiveResponseXML: Server was unable to process request. ---> boom"]);
        assert_eq!(report.calls[report.calls.len() - 2..], ["getLastError", "closeConnection"]);
        assert!(report.requested_ssn, "an EmployeeQueryRq without IncludeRetElement gets SSNs");
        // A fault elsewhere simply ends the session.
        let (url, _) = serve(Box::new(
            |m: &str, _: &xml::Element| if m == "authenticate" { fault("nope") } else { result(m, "") },
        ));
        let report = run(&options(&url), &mut qb).unwrap();
        assert_eq!(report.calls, ["serverVersion", "clientVersion", "authenticate"]);
        assert_eq!(report.soap_faults, ["authenticate: nope"]);
    }

    #[test]
    fn handshake_outcomes() {
        // nvu: stop after authenticate, no closeConnection.
        let (url, _) = serve(scripted(&["", "nvu"], |m, _| result(m, "")));
        let mut qb = FakeQuickBooks::new(Dataset::generate(2, 3, 1), Faults::default());
        let r = run(&options(&url), &mut qb).unwrap();
        assert_eq!((r.auth_status.as_str(), r.ticket_seen, r.calls.len()), ("nvu", false, 3));
        // E: stops after clientVersion; W: carries on.
        let (url, _) = serve(Box::new(
            |m: &str, _: &xml::Element| if m == "clientVersion" { result(m, "E:too old") } else { result(m, "") },
        ));
        let r = run(&options(&url), &mut qb).unwrap();
        assert_eq!((r.client_version_answer.as_str(), r.calls.len()), ("E:too old", 2));
        // W: continues; an explicit company file path is used; "" from sendRequestXML → getLastError → close.
        let (url, seen) = serve(Box::new(|m: &str, _: &xml::Element| match m {
            "clientVersion" => result(m, "W:please upgrade"),
            "authenticate" => {
                ok(m, r"<authenticateResult><string>t</string><string>C:\Co\Acme.qbw</string></authenticateResult>")
            }
            "getLastError" => result(m, "nothing to do"),
            "closeConnection" => result(m, "Done"),
            _ => result(m, ""),
        }));
        let r = run(&options(&url), &mut qb).unwrap();
        assert_eq!(
            r.calls,
            ["serverVersion", "clientVersion", "authenticate", "sendRequestXML", "getLastError", "closeConnection"]
        );
        assert_eq!(r.auth_status, r"C:\Co\Acme.qbw");
        assert_eq!(r.last_error.as_deref(), Some("nothing to do"));
        let s = seen.lock().unwrap()[3].method();
        assert_eq!(s.child_text("strCompanyFileName"), Some(r"C:\Co\Acme.qbw"));
        // connectionError instead of sendRequestXML.
        let (url, seen) = serve(scripted(&["t", ""], |m, _| result(m, "done")));
        let mut qb = FakeQuickBooks::new(
            Dataset::generate(2, 3, 1),
            Faults {
                connection_error: Some(("0x80040408".into(), "Could not start QuickBooks.".into())),
                ..Default::default()
            },
        );
        let r = run(&options(&url), &mut qb).unwrap();
        assert_eq!(r.calls, ["serverVersion", "clientVersion", "authenticate", "connectionError", "closeConnection"]);
        assert_eq!(r.connection_error_answer.as_deref(), Some("done"));
        let ce = seen.lock().unwrap()[3].method();
        assert_eq!(
            (ce.child_text("hresult"), ce.child_text("message")),
            (Some("0x80040408"), Some("Could not start QuickBooks."))
        );
        // authenticate with a single string is what QBWC1012 is about.
        let (url, _) = serve(scripted(&["only-one"], |m, _| result(m, "")));
        assert!(matches!(run(&options(&url), &mut qb), Err(SimError::InvalidReply { .. })));
    }

    #[test]
    fn noop_is_retried_three_times() {
        let (url, _) = serve(scripted(&["t", ""], |m, _| result(m, "NoOp")));
        let mut qb = FakeQuickBooks::new(Dataset::generate(2, 3, 1), Faults::default());
        let r = run(&options(&url), &mut qb).unwrap();
        let sends = r.calls.iter().filter(|c| *c == "sendRequestXML").count();
        assert_eq!(sends, 4, "first call + 3 NoOp rounds");
        assert_eq!(r.calls.last().map(String::as_str), Some("closeConnection"));
    }

    #[test]
    fn invalid_replies_are_errors() {
        let (url, _) = serve(Box::new(|m: &str, _: &xml::Element| {
            let (s, _, b) = result(m, "1.0");
            (s, "text/html; charset=utf-8".into(), b)
        }));
        let mut qb = FakeQuickBooks::new(Dataset::generate(2, 3, 1), Faults::default());
        let e = run(&options(&url), &mut qb).unwrap_err();
        assert!(e.to_string().contains("expected 'text/xml'"), "{e}");
        let (url, _) = serve(Box::new(|_: &str, _: &xml::Element| {
            (
                200,
                "text/xml".into(),
                "<e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\"><e:Body/></e:Envelope>".into(),
            )
        }));
        let e = run(&options(&url), &mut qb).unwrap_err();
        assert!(e.to_string().contains("SOAP 1.2"), "{e}");
        let (url, _) = serve(Box::new(|m: &str, _: &xml::Element| {
            (
                200,
                "text/xml".into(),
                format!(
                    "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><{m}Response><{m}Result>x</{m}Result></{m}Response></soap:Body></soap:Envelope>"
                ),
            )
        }));
        assert!(matches!(run(&options(&url), &mut qb), Err(SimError::InvalidReply { .. })));
        let (url, _) = serve(Box::new(|_: &str, _: &xml::Element| (404, "text/plain".into(), "no".into())));
        assert!(matches!(run(&options(&url), &mut qb), Err(SimError::Http { status: 404, .. })));
        let mut o = options(&url);
        o.max_calls = 1;
        let (url, _) = serve(scripted(&["t", ""], |m, _| result(m, "")));
        o.url = url;
        assert!(matches!(run(&o, &mut qb), Err(SimError::TooManyCalls(1))));
    }

    #[test]
    fn loopback_only_unless_allowed() {
        let mut qb = FakeQuickBooks::new(Dataset::generate(2, 3, 1), Faults::default());
        for url in
            ["http://10.1.2.3:8080/qbwc", "http://example.com/qbwc", "http://192.168.0.5", "http://[2001:db8::1]:80/"]
        {
            assert!(matches!(run(&options(url), &mut qb), Err(SimError::RemoteRefused(_))), "{url}");
        }
        assert_eq!(endpoint_url("http://127.0.0.1:8080", false).unwrap(), "http://127.0.0.1:8080/qbwc");
        assert_eq!(endpoint_url("http://localhost:8080/", false).unwrap(), "http://localhost:8080/qbwc");
        assert_eq!(endpoint_url("http://127.5.6.7:9/custom/path", false).unwrap(), "http://127.5.6.7:9/custom/path");
        assert_eq!(endpoint_url("http://[::1]:8080/qbwc", false).unwrap(), "http://[::1]:8080/qbwc");
        assert_eq!(endpoint_url("http://example.com", true).unwrap(), "http://example.com/qbwc");
        for bad in
            ["ftp://127.0.0.1/", "127.0.0.1:8080", "http://", "http://127.0.0.1:notaport/", "https://localhost/qbwc"]
        {
            assert!(matches!(endpoint_url(bad, true), Err(SimError::InvalidUrl(..))), "{bad}");
        }
    }
}
