//! The HTTP calls to Intuit: one blocking `ureq` agent (rustls), run on the blocking pool so no
//! async worker ever waits on Intuit. Nothing here knows OAuth or the Accounting API.

use std::io::Read;
use std::time::Duration;

/// What Intuit answered: status, body (bounded), and the headers qbsync keeps.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    /// `intuit_tid`, the transaction id Intuit's support asks for.
    pub intuit_tid: Option<String>,
    /// `Retry-After` in seconds, when sent.
    pub retry_after: Option<u64>,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Largest answer read: a 1,000-record page is a few MiB.
const MAX_BODY: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("could not reach {host}: {message}")]
pub struct TransportError {
    pub host: String,
    pub message: String,
}

/// A request to send.
pub struct Request<'a> {
    pub method: &'static str,
    pub url: &'a str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Body<'a>>,
}

pub enum Body<'a> {
    Form(Vec<(&'a str, &'a str)>),
    Json(serde_json::Value),
}

#[derive(Clone)]
pub struct Transport {
    agent: ureq::Agent,
}

impl Transport {
    /// Intuit ends a request after 120 s: wait a little longer than that for an answer.
    pub fn new(connect_timeout: Duration, read_timeout: Duration) -> Transport {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(connect_timeout)
            .timeout_read(read_timeout)
            .timeout_write(connect_timeout)
            // No redirects: an answer that redirects is an error to show, not to follow.
            .redirects(0)
            .user_agent(concat!("qbsync/", env!("CARGO_PKG_VERSION")))
            .build();
        Transport { agent }
    }

    /// Sends a request and reads the answer, whatever its status. Blocking.
    pub fn send(&self, request: Request<'_>) -> Result<Answer, TransportError> {
        let host = url_host(request.url);
        let mut call = self.agent.request(request.method, request.url);
        for (name, value) in &request.headers {
            call = call.set(name, value);
        }
        let result = match request.body {
            None => call.call(),
            Some(Body::Form(pairs)) => call.send_form(&pairs),
            Some(Body::Json(value)) => {
                call.set("Content-Type", "application/json").send_bytes(value.to_string().as_bytes())
            }
        };
        let response = match result {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(err)) => {
                return Err(TransportError { host, message: err.to_string() });
            }
        };
        let status = response.status();
        let intuit_tid = response.header("intuit_tid").map(str::to_string);
        let retry_after = response.header("Retry-After").and_then(|v| v.trim().parse().ok());
        let mut body = Vec::new();
        response
            .into_reader()
            .take(MAX_BODY)
            .read_to_end(&mut body)
            .map_err(|err| TransportError { host, message: format!("reading the answer: {err}") })?;
        Ok(Answer { status, body, intuit_tid, retry_after })
    }

    /// [`Transport::send`] on the blocking pool.
    pub async fn send_async(&self, request: OwnedRequest) -> Result<Answer, TransportError> {
        let transport = self.clone();
        let host = url_host(&request.url);
        tokio::task::spawn_blocking(move || transport.send(request.borrow()))
            .await
            .unwrap_or_else(|err| Err(TransportError { host, message: format!("the request task failed: {err}") }))
    }
}

/// A request that owns its parts, to move to the blocking pool.
pub struct OwnedRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub form: Option<Vec<(String, String)>>,
    pub json: Option<serde_json::Value>,
}

impl OwnedRequest {
    fn borrow(&self) -> Request<'_> {
        let body = match (&self.form, &self.json) {
            (Some(form), _) => Some(Body::Form(form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())),
            (None, Some(json)) => Some(Body::Json(json.clone())),
            (None, None) => None,
        };
        Request { method: self.method, url: &self.url, headers: self.headers.clone(), body }
    }
}

/// The host of a URL, for messages (never the query, which may hold secrets).
fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_host_only() {
        assert_eq!(
            url_host("https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer?x=secret"),
            "oauth.platform.intuit.com"
        );
        assert_eq!(url_host("http://127.0.0.1:9/v3"), "127.0.0.1:9");
    }

    #[test]
    fn an_unreachable_host_is_a_transport_error() {
        // Port 9 (discard) on loopback: nothing listens in the test environment.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let transport = Transport::new(Duration::from_secs(2), Duration::from_secs(2));
        let url = format!("http://127.0.0.1:{port}/x");
        let err = transport.send(Request { method: "GET", url: &url, headers: vec![], body: None }).unwrap_err();
        assert_eq!(err.host, format!("127.0.0.1:{port}"));
    }
}
