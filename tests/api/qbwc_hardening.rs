//! A hosted deployment's defences around the Web Connector endpoint: runs left behind by a
//! crashed Web Connector, slow uploads, and caps on uploads in progress.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use qbsync::simulate::{Dataset, FakeQuickBooks, Faults};
use qbsync::store::catalog;
use serde_json::json;

use crate::helpers::*;

/// Opens a raw connection and sends the headers of a receiveResponseXML POST declaring
/// `content_length` bytes, then `first_part` of its body, and leaves the rest unsent (a client
/// that paused, or trickles).
fn start_upload(app: &TestApp, content_length: usize, first_part: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(app.base.trim_start_matches("http://")).expect("connect");
    let headers = format!(
        "POST /qbwc HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml; charset=utf-8\r\n\
         SOAPAction: \"http://developer.intuit.com/receiveResponseXML\"\r\nContent-Length: {content_length}\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(headers.as_bytes()).unwrap();
    stream.write_all(first_part).unwrap();
    stream.flush().unwrap();
    stream
}

/// Whatever the server has answered on `stream` within `wait` (until it closes the
/// connection or the SOAP envelope is complete).
fn read_answer(stream: &mut TcpStream, wait: Duration) -> String {
    let deadline = Instant::now() + wait;
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    while Instant::now() < deadline && !String::from_utf8_lossy(&answer).contains("Envelope>") {
        stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(err) if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// Authenticates and asks for the first request: the ticket and the qbXML request (customers).
async fn ticket_awaiting_customers(app: &TestApp) -> (String, String) {
    let ticket = authenticate(app).await;
    let (_, _, body) = send_request_xml(app, &ticket).await;
    let request = element_text(&body, "sendRequestXMLResult").expect("a request");
    assert!(request.contains("cust-1"), "{request}");
    (ticket, request)
}

/// authenticate with the app's connection; the second string of the answer ("" with a ticket,
/// or `busy`, `nvu`, `none`) and the ticket.
async fn authenticate_answer(app: &TestApp) -> (String, String) {
    let body = envelope("authenticate", &[("strUserName", &app.conn.username), ("strPassword", &app.conn.password)]);
    let (status, _, text) = app.soap("authenticate", body).await;
    assert_eq!(status, 200, "{text}");
    let strings = auth_strings(&text);
    (strings[1].clone(), strings[0].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_run_is_taken_over_by_a_new_authenticate_and_a_fresh_one_still_answers_busy() {
    let app = spawn_app_with(|s| s.sync.stale_run = chrono::Duration::seconds(2)).await;
    let first = authenticate(&app).await;
    // A run that called a moment ago is really in progress.
    assert_eq!(authenticate_answer(&app).await.0, "busy");

    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Several Web Connectors at once (or one retrying): only one takes the silent run over.
    let mut answers = Vec::new();
    for (status, ticket) in futures_util::future::join_all((0..4).map(|_| authenticate_answer(&app))).await {
        answers.push(status.clone());
        if status.is_empty() {
            assert_ne!(ticket, first);
        }
    }
    assert_eq!(answers.iter().filter(|a| a.is_empty()).count(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|a| *a == "busy").count(), 3, "{answers:?}");

    let runs = app.runs().await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    let (new, old) = (&runs[0], &runs[1]);
    assert_eq!(new["state"], "live", "{new}");
    assert_eq!(old["state"], "ended", "{old}");
    assert_eq!(old["outcome"], "expired", "{old}");
    let events = old["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["message"].as_str().unwrap().contains("taken over")), "{events:?}");
    // The old ticket is no longer served.
    let (_, _, text) = send_request_xml(&app, &first).await;
    assert_eq!(element_text(&text, "sendRequestXMLResult").unwrap_or_default(), "", "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_upload_blocks_no_other_organization_and_is_refused_after_the_body_timeout() {
    let app = spawn_app_with(|s| s.body_timeout = Duration::from_secs(8)).await;
    let other_org = catalog::create_organization(&app.db, "Other tenant").await.unwrap();
    let other = add_connection(&app.db, other_org.organization_id, "Other office").await;
    let (ticket, request) = ticket_awaiting_customers(&app).await;
    let response = FakeQuickBooks::new(Dataset::generate(7, 450, 0), Faults::default()).process(&request).unwrap();
    let call = envelope(
        "receiveResponseXML",
        &[("ticket", &ticket), ("response", &response), ("hresult", ""), ("message", "")],
    );
    // Three quarters of the body (over 300 customers, more than one staging batch), then a pause.
    let mut upload = start_upload(&app, call.len(), &call.as_bytes()[..call.len() * 3 / 4]);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Another organization's Web Connector signs in (a run row is written) and an API client
    // writes, while the upload is paused.
    let started = Instant::now();
    let body = envelope("authenticate", &[("strUserName", &other.username), ("strPassword", &other.password)]);
    let (status, _, text) = app.soap("authenticate", body).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(auth_strings(&text)[1], "", "{text}");
    let created = app.call("POST", "/api/v1/locations", Some(json!({ "name": "Depot" })), &app.bearer()).await;
    assert_eq!(created.status, 201, "{:?}", created.json);
    assert!(started.elapsed() < Duration::from_secs(4), "the other calls took {:?}", started.elapsed());
    upload.set_nonblocking(true).unwrap();
    let mut probe = [0u8; 1];
    assert!(
        matches!(upload.read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the paused upload is still waiting for its body"
    );
    upload.set_nonblocking(false).unwrap();

    // The body timeout refuses the paused upload: a Client fault, nothing staged.
    let answer = tokio::task::spawn_blocking(move || read_answer(&mut upload, Duration::from_secs(30))).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
    assert!(answer.contains("Client") && answer.contains("stopped arriving"), "{answer}");
    assert!(app.all_customers("").await.is_empty());

    // The run is as it was: the Web Connector's next try of the same response is staged.
    let (status, _, text) = app.soap("receiveResponseXML", call).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(element_text(&text, "receiveResponseXMLResult").as_deref(), Some("90"), "{text}");
    assert_eq!(app.all_customers("").await.len(), 450);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_over_the_per_address_cap_are_refused_with_retry_after_until_one_ends() {
    let app = spawn_app_with(|s| s.max_uploads_per_address = 2).await;
    let mut paused: Vec<TcpStream> = (0..2).map(|_| start_upload(&app, 100_000, b"<?xml version=")).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut third = start_upload(&app, 100_000, b"<?xml version=");
    let answer = tokio::task::spawn_blocking(move || read_answer(&mut third, Duration::from_secs(10))).await.unwrap();

    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after: 30"), "{answer}");
    assert!(answer.contains("too many uploads from this address"), "{answer}");
    // Small calls take no place: the Web Connector and an admin can still sign in.
    authenticate(&app).await;
    app.sign_in().await;
    // Once an upload ends (its client went away), another is accepted.
    drop(paused.remove(0));
    let server_version = envelope("serverVersion", &[]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // Sent chunked, without a length: it takes a place like a large body.
        let (status, _, text) = app.soap_chunked("serverVersion", server_version.clone()).await;
        if status == 200 {
            assert!(text.contains("qbsync"), "{text}");
            break;
        }
        assert_eq!(status, 503, "{text}");
        assert!(Instant::now() < deadline, "the ended upload's place was never given back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_session_with_pages_spooled_to_files_stages_everything() {
    // Pages of 500 customers are far over the 16 KiB kept in memory.
    let app = spawn_app().await;

    let report = app.sync_company(11, 1_200, 30).await;

    assert!(report.soap_faults.is_empty(), "{:?}", report.soap_faults);
    assert_eq!(report.progress.last(), Some(&100), "{:?}", report.progress);
    assert_eq!(app.all_customers("").await.len(), 1_200);
    assert_eq!(app.all_employees("").await.len(), 30);
    assert_eq!(app.runs().await[0]["outcome"], "success");
}
