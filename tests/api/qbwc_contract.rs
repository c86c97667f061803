//! The SOAP contract, call by call, with hand-written envelopes like the Web Connector's.

use crate::helpers::*;

fn result(body: &str, method: &str) -> String {
    element_text(body, &format!("{method}Result")).unwrap_or_default()
}

fn is_fault(status: u16, content_type: &str, body: &str) -> bool {
    status == 500 && content_type.starts_with("text/xml") && body.contains("Fault>") && body.contains("<faultstring>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_and_client_versions_answer_as_the_contract_says() {
    let app = spawn_app_with(|s| s.sync.recommended_qbwc_version = Some("2.3.0.0".into())).await;
    let (status, content_type, body) = app.soap("serverVersion", envelope("serverVersion", &[])).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/xml"), "{content_type}");
    assert!(result(&body, "serverVersion").starts_with("qbsync "), "{body}");
    assert!(!body.starts_with('\u{feff}'), "no byte order mark");

    let (_, _, body) = app.soap("getServerVersion", envelope("getServerVersion", &[("ticket", "")])).await;
    assert!(result(&body, "getServerVersion").starts_with("qbsync "));

    let (_, _, body) = app.soap("clientVersion", envelope("clientVersion", &[("strVersion", "2.3.0.215")])).await;
    assert_eq!(result(&body, "clientVersion"), "");
    let (_, _, body) = app.soap("clientVersion", envelope("clientVersion", &[("strVersion", "2.2.0.71")])).await;
    assert!(result(&body, "clientVersion").starts_with("W:"), "{body}");
    let (_, _, body) = app.soap("clientVersion", envelope("clientVersion", &[("strVersion", "2.0.0.116")])).await;
    let answer = result(&body, "clientVersion");
    assert!(answer.starts_with("E:") && answer.contains("2.1.0.30"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_web_connector_request_is_understood() {
    let app = spawn_app().await;
    let (status, _, body) =
        app.soap("serverVersion", include_str!("../../qbxml-fixtures/soap/serverVersion.request.xml")).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) =
        app.soap("clientVersion", include_str!("../../qbxml-fixtures/soap/clientVersion.request.xml")).await;
    assert_eq!(status, 200);
    // QBWC 2.0.0.116 is older than the default minimum.
    assert!(result(&body, "clientVersion").starts_with("E:"));
    let (status, _, body) =
        app.soap("authenticate", include_str!("../../qbxml-fixtures/soap/authenticate.request.xml")).await;
    assert_eq!(status, 200);
    assert_eq!(auth_strings(&body), vec!["".to_string(), "nvu".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_answer_nvu_and_a_disabled_connection_answers_none() {
    let app = spawn_app().await;
    let (_, _, body) = app
        .soap(
            "authenticate",
            envelope("authenticate", &[("strUserName", &app.conn.username), ("strPassword", "wrong")]),
        )
        .await;
    assert_eq!(auth_strings(&body), vec!["", "nvu"]);
    let (_, _, body) = app
        .soap(
            "authenticate",
            envelope("authenticate", &[("strUserName", "nobody"), ("strPassword", &app.conn.password)]),
        )
        .await;
    assert_eq!(auth_strings(&body), vec!["", "nvu"]);
    let (_, _, body) = app.soap("authenticate", envelope("authenticate", &[])).await;
    assert_eq!(auth_strings(&body), vec!["", "nvu"]);

    qbsync::store::catalog::set_connection_enabled(&app.db, app.conn.id, false).await.unwrap();
    let (_, _, body) = app
        .soap(
            "authenticate",
            envelope("authenticate", &[("strUserName", &app.conn.username), ("strPassword", &app.conn.password)]),
        )
        .await;
    assert_eq!(auth_strings(&body), vec!["", "none"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_is_long_random_and_names_the_configured_company_file() {
    let app = spawn_app().await;
    let ticket = authenticate(&app).await;
    assert!(ticket.len() >= 32 && ticket.chars().all(|c| c.is_ascii_hexdigit()), "{ticket}");

    let other = add_connection(&app.db, app.org_id, "Second file").await;
    qbsync::store::catalog::set_company_file(&app.db, other.id, r"C:\Company Files\Sparkle & Co.qbw").await.unwrap();
    let (_, _, body) = app
        .soap(
            "authenticate",
            envelope("authenticate", &[("strUserName", &other.username), ("strPassword", &other.password)]),
        )
        .await;
    let strings = auth_strings(&body);
    assert_eq!(strings[1], r"C:\Company Files\Sparkle & Co.qbw");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tickets_never_fault() {
    let app = spawn_app().await;
    let ticket = "0123456789abcdef0123456789abcdef";
    let (status, _, body) = send_request_xml(&app, ticket).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(result(&body, "sendRequestXML"), "");

    let response = "<?xml version=\"1.0\" ?><QBXML><QBXMLMsgsRs><CustomerQueryRs requestID=\"cust-1\" statusCode=\"1\" statusSeverity=\"Info\" statusMessage=\"none\"/></QBXMLMsgsRs></QBXML>";
    let (status, _, body) = app
        .soap(
            "receiveResponseXML",
            envelope(
                "receiveResponseXML",
                &[("ticket", ticket), ("response", response), ("hresult", ""), ("message", "")],
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(result(&body, "receiveResponseXML").parse::<i32>().unwrap() < 0);

    let (status, _, body) = app.soap("getLastError", envelope("getLastError", &[("ticket", ticket)])).await;
    assert_eq!(status, 200);
    assert!(result(&body, "getLastError").contains("does not know this Web Connector session"), "{body}");

    let (status, _, body) = app
        .soap(
            "connectionError",
            envelope("connectionError", &[("ticket", ticket), ("hresult", "0x80040408"), ("message", "x")]),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(result(&body, "connectionError"), "done");

    let (status, _, body) = app.soap("closeConnection", envelope("closeConnection", &[("ticket", ticket)])).await;
    assert_eq!(status, 200);
    assert!(!result(&body, "closeConnection").is_empty());
    assert!(app.all_customers("").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_ticket_expires_and_the_next_run_can_start() {
    let app = spawn_app_with(|s| s.sync.ticket_ttl = chrono::Duration::milliseconds(300)).await;
    let ticket = authenticate(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let (status, _, body) = send_request_xml(&app, &ticket).await;
    assert_eq!(status, 200);
    assert_eq!(result(&body, "sendRequestXML"), "");
    let (_, _, body) = app.soap("getLastError", envelope("getLastError", &[("ticket", &ticket)])).await;
    assert!(result(&body, "getLastError").contains("stopped calling"), "{body}");
    let runs = app.runs().await;
    assert_eq!(runs[0]["outcome"], "expired");
    // A fresh authenticate is not refused as busy.
    let _ = authenticate(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactive_mode_methods_answer_as_a_service_without_it() {
    let app = spawn_app().await;
    let (status, _, body) =
        app.soap("getInteractiveURL", envelope("getInteractiveURL", &[("wcTicket", "x"), ("sessionID", "y")])).await;
    assert_eq!(status, 200);
    assert_eq!(result(&body, "getInteractiveURL"), "");
    let (_, _, body) = app.soap("interactiveDone", envelope("interactiveDone", &[("wcTicket", "x")])).await;
    assert_eq!(result(&body, "interactiveDone"), "Done");
    let (status, _, _) =
        app.soap("interactiveRejected", envelope("interactiveRejected", &[("wcTicket", "x"), ("reason", "no")])).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wsdl_is_served_with_our_address() {
    let app = spawn_app_with(|s| s.public_url = "https://sync.example.com/".into()).await;
    for path in ["/qbwc", "/qbwc?wsdl", "/qbwc?WSDL"] {
        let (status, content_type, body) = app.get_as(path, None).await;
        assert_eq!(status, 200);
        assert!(content_type.starts_with("text/xml"));
        assert!(body.contains("targetNamespace=\"http://developer.intuit.com/\""));
        assert!(body.contains("https://sync.example.com/qbwc"), "the address is the public URL");
        for op in [
            "serverVersion",
            "clientVersion",
            "authenticate",
            "sendRequestXML",
            "receiveResponseXML",
            "connectionError",
            "getLastError",
            "closeConnection",
        ] {
            assert!(body.contains(&format!("soapAction=\"http://developer.intuit.com/{op}\"")), "{op}");
        }
    }
    let (status, _, _) = app.get_as("/support", None).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_envelopes_get_soap_faults() {
    let app = spawn_app().await;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not xml", b"hello, world".to_vec(), ""),
        ("empty body", Vec::new(), ""),
        (
            "invalid utf-8",
            {
                let mut body = envelope("authenticate", &[("strUserName", "a"), ("strPassword", "b")]).into_bytes();
                let at = body.len() / 2;
                body.splice(at..at, [0xff, 0xfe, 0xc3]);
                body
            },
            "",
        ),
        (
            "soap 1.2",
            envelope("serverVersion", &[])
                .replace("http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope")
                .into_bytes(),
            "VersionMismatch",
        ),
        (
            "wrong method namespace",
            envelope("serverVersion", &[]).replace("http://developer.intuit.com/", "http://example.com/").into_bytes(),
            "",
        ),
        ("unknown method", envelope("dropTables", &[]).into_bytes(), ""),
        (
            "doctype",
            format!(
                "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]>{}",
                &envelope("serverVersion", &[])[38..]
            )
            .into_bytes(),
            "",
        ),
        (
            "no body",
            b"<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"></soap:Envelope>".to_vec(),
            "",
        ),
        ("truncated", envelope("authenticate", &[("strUserName", "a")]).as_bytes()[..120].to_vec(), ""),
    ];
    // Small bodies are parsed whole on arrival, chunked ones as they stream in: both refuse.
    for (name, body, code) in cases {
        for chunked in [false, true] {
            let (status, content_type, text) =
                if chunked { app.soap_chunked("", body.clone()).await } else { app.soap("", body.clone()).await };
            assert!(
                is_fault(status, &content_type, &text),
                "{name} (chunked: {chunked}): {status} {content_type} {text}"
            );
            if !code.is_empty() {
                assert!(text.contains(code), "{name}: {text}");
            }
        }
    }
    // And both answer a good call.
    for chunked in [false, true] {
        let body = envelope("serverVersion", &[]);
        let (status, _, text) = if chunked { app.soap_chunked("", body).await } else { app.soap("", body).await };
        assert_eq!(status, 200, "{text}");
        assert!(text.contains("serverVersionResult"), "{text}");
    }
    // A SOAP 1.2 content type is refused the same way.
    let url = format!("{}/qbwc", app.base);
    let (status, text) = tokio::task::spawn_blocking(move || {
        match ureq::post(&url).set("Content-Type", "application/soap+xml; charset=utf-8").send_string("<x/>") {
            Ok(res) => (res.status(), res.into_string().unwrap()),
            Err(ureq::Error::Status(code, res)) => (code, res.into_string().unwrap()),
            Err(e) => panic!("{e}"),
        }
    })
    .await
    .unwrap();
    assert_eq!(status, 500);
    assert!(text.contains("VersionMismatch"), "{text}");
    // An unknown SOAPAction is refused.
    let (status, _, text) = app.soap("dropTables", envelope("serverVersion", &[])).await;
    assert_eq!(status, 500, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_soap_action_header_is_accepted_with_or_without_quotes() {
    let app = spawn_app().await;
    let url = format!("{}/qbwc", app.base);
    let body = envelope("serverVersion", &[]);
    let (status, text) = tokio::task::spawn_blocking(move || {
        let res = ureq::post(&url)
            .set("Content-Type", "text/xml; charset=utf-8")
            .set("SOAPAction", "http://developer.intuit.com/serverVersion")
            .send_string(&body)
            .unwrap();
        (res.status(), res.into_string().unwrap())
    })
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert!(text.contains("serverVersionResult"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_refused_and_nothing_is_staged() {
    let app = spawn_app_with(|s| s.max_body_bytes = 64 * 1024).await;
    let ticket = authenticate(&app).await;
    let big = "x".repeat(100 * 1024);
    let (status, _, body) = app
        .soap(
            "receiveResponseXML",
            envelope(
                "receiveResponseXML",
                &[("ticket", &ticket), ("response", &big), ("hresult", ""), ("message", "")],
            ),
        )
        .await;
    assert_eq!(status, 500);
    assert!(body.contains("limit"), "{body}");
}

/// Drives the first request of a run by hand and answers it twice, as a retrying Web Connector
/// would: the second answer must not be applied again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_response_is_applied_once() {
    let app = spawn_app().await;
    let ticket = authenticate(&app).await;
    let (_, _, body) = app
        .soap(
            "sendRequestXML",
            envelope(
                "sendRequestXML",
                &[
                    ("ticket", &ticket),
                    ("strHCPResponse", ""),
                    ("strCompanyFileName", "C:\\a.qbw"),
                    ("qbXMLCountry", "US"),
                    ("qbXMLMajorVers", "13"),
                    ("qbXMLMinorVers", "0"),
                ],
            ),
        )
        .await;
    let request = result(&body, "sendRequestXML");
    assert!(request.contains("<CustomerQueryRq requestID=\"cust-1\" iterator=\"Start\">"), "{request}");
    assert!(request.contains("<?qbxml version=\"13.0\"?>"));

    // The same sendRequestXML again (a retry) hands out the same request.
    let (_, _, again) = send_request_xml(&app, &ticket).await;
    assert_eq!(result(&again, "sendRequestXML"), request);

    let response = "<?xml version=\"1.0\" ?>\n<QBXML>\n<QBXMLMsgsRs>\n<CustomerQueryRs requestID=\"cust-1\" statusCode=\"0\" statusSeverity=\"Info\" statusMessage=\"Status OK\" iteratorRemainingCount=\"0\" iteratorID=\"{abc}\">\n\
        <CustomerRet><ListID>80000001-1</ListID><TimeCreated>2024-01-02T03:04:05-05:00</TimeCreated><TimeModified>2024-01-02T03:04:05-05:00</TimeModified><EditSequence>1</EditSequence><Name>A &amp; B</Name><FullName>A &amp; B</FullName><IsActive>true</IsActive><Sublevel>0</Sublevel></CustomerRet>\n\
        <CustomerRet><ListID>80000002-1</ListID><TimeCreated>2024-01-02T03:04:05-05:00</TimeCreated><TimeModified>2024-01-02T03:04:05-05:00</TimeModified><EditSequence>1</EditSequence><Name>Caf&#233;</Name><FullName>Caf&#233;</FullName><IsActive>false</IsActive><Sublevel>0</Sublevel></CustomerRet>\n\
        </CustomerQueryRs>\n</QBXMLMsgsRs>\n</QBXML>\n";
    let call = envelope(
        "receiveResponseXML",
        &[("ticket", &ticket), ("response", response), ("hresult", ""), ("message", "")],
    );
    let (_, _, first) = app.soap("receiveResponseXML", call.clone()).await;
    let (_, _, second) = app.soap("receiveResponseXML", call).await;
    assert_eq!(result(&first, "receiveResponseXML"), "90");
    assert_eq!(result(&second, "receiveResponseXML"), "90");
    let runs = app.runs().await;
    assert_eq!(runs[0]["counts"]["customers"], 2, "{}", runs[0]);
    let staged = app.all_customers("").await;
    let names: Vec<_> = staged.iter().map(|c| c["full_name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["A & B", "Café"]);
}

/// Values are staged and shown exactly as QuickBooks sent them: surrounding spaces and tabs,
/// indented and trailing lines kept, CR LF read as LF, references resolved, nothing trimmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_values_are_staged_and_shown_exactly_as_quickbooks_sent_them() {
    // Arrange
    let app = spawn_app().await;
    let ticket = authenticate(&app).await;
    send_request_xml(&app, &ticket).await;
    let record = "<CustomerRet><ListID>80000001-1</ListID><EditSequence> 7 </EditSequence>\
        <Name>  Lead &amp; Trail\t </Name><FullName>Parent :  Lead &amp; Trail\t </FullName>\
        <ParentRef><ListID>80000000-1</ListID><FullName>Parent </FullName></ParentRef><Sublevel>1</Sublevel>\
        <CompanyName>\tTabbed Co </CompanyName>\
        <BillAddress><Addr1> 12 Elm St  </Addr1><City>Caf&#233; &#x263A; &lt;x&gt;</City></BillAddress>\
        <Phone></Phone><Contact>\r\n  Mr  Smith \r\n</Contact>\
        <Notes>  Line one\r\n    indented line\r\n\r\n</Notes></CustomerRet>";
    let response = format!(
        "<?xml version=\"1.0\" ?><QBXML><QBXMLMsgsRs><CustomerQueryRs requestID=\"cust-1\" statusCode=\"0\" \
         statusSeverity=\"Info\" statusMessage=\"Status OK\" iteratorRemainingCount=\"0\" iteratorID=\"{{i}}\">\
         {record}</CustomerQueryRs></QBXMLMsgsRs></QBXML>"
    );

    // Act
    let (_, _, body) = app
        .soap(
            "receiveResponseXML",
            envelope(
                "receiveResponseXML",
                &[("ticket", &ticket), ("response", &response), ("hresult", ""), ("message", "")],
            ),
        )
        .await;

    // Assert
    assert_eq!(result(&body, "receiveResponseXML"), "90", "{body}");
    let staged = app.all_customers("").await;
    assert_eq!(staged.len(), 1, "{staged:?}");
    let c = &staged[0];
    assert_eq!(c["edit_sequence"], " 7 ");
    assert_eq!(c["name"], "  Lead & Trail\t ");
    assert_eq!(c["full_name"], "Parent :  Lead & Trail\t ");
    assert_eq!(c["parent_full_name"], "Parent ");
    assert_eq!(c["company_name"], "\tTabbed Co ");
    assert_eq!(c["bill_address"]["line1"], " 12 Elm St  ");
    assert_eq!(c["bill_address"]["city"], "Café ☺ <x>");
    assert_eq!(c["phone"], "");
    assert_eq!(c["fax"], serde_json::Value::Null);
    assert_eq!(c["contact"], "\n  Mr  Smith \n");
    assert_eq!(c["notes"], "  Line one\n    indented line\n\n");
    // Search finds the value whatever its case and surrounding whitespace.
    assert_eq!(app.all_customers("q=lead%20%26%20trail").await.len(), 1);
    assert_eq!(app.all_customers("q=12%20ELM").await.len(), 1);
    assert_eq!(app.all_customers("q=lead%20and%20trail").await.len(), 0);
}

/// A response with two unusable records among good ones stages the good ones and records one
/// warning per bad record; the run goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_are_skipped_with_a_warning_and_the_rest_is_staged() {
    let app = spawn_app().await;
    let ticket = authenticate(&app).await;
    send_request_xml(&app, &ticket).await;
    let good = |n: u32| {
        format!(
            "<CustomerRet><ListID>8000{n:04}-1</ListID><EditSequence>1</EditSequence><Name>Good {n}</Name><FullName>Good {n}</FullName><IsActive>true</IsActive><Sublevel>0</Sublevel></CustomerRet>"
        )
    };
    let no_list_id =
        "<CustomerRet><EditSequence>1</EditSequence><Name>No id</Name><FullName>No id</FullName></CustomerRet>";
    let bad_date = "<CustomerRet><ListID>8000BAD1-1</ListID><TimeModified>yesterday</TimeModified><Name>Bad date</Name><FullName>Bad date</FullName></CustomerRet>";
    let response = format!(
        "<?xml version=\"1.0\" ?><QBXML><QBXMLMsgsRs><CustomerQueryRs requestID=\"cust-1\" statusCode=\"0\" statusSeverity=\"Info\" statusMessage=\"Status OK\" iteratorRemainingCount=\"0\" iteratorID=\"{{i}}\">{}{no_list_id}{}{bad_date}{}</CustomerQueryRs></QBXMLMsgsRs></QBXML>",
        good(1),
        good(2),
        good(3)
    );
    let (_, _, body) = app
        .soap(
            "receiveResponseXML",
            envelope(
                "receiveResponseXML",
                &[("ticket", &ticket), ("response", &response), ("hresult", ""), ("message", "")],
            ),
        )
        .await;
    assert_eq!(result(&body, "receiveResponseXML"), "90");
    let staged = app.all_customers("").await;
    let names: Vec<_> = staged.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Good 1", "Good 2", "Good 3"]);
    let runs = app.runs().await;
    let skipped: Vec<_> = runs[0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["message"].as_str().unwrap().starts_with("skipped a QuickBooks record"))
        .collect();
    assert_eq!(skipped.len(), 2, "{}", runs[0]["events"]);
    assert!(skipped.iter().any(|e| e["message"].as_str().unwrap().contains("8000BAD1-1")));
    assert_eq!(runs[0]["counts"]["customers"], 3);
}

/// The .NET client behind the Web Connector sends `Expect: 100-continue` and waits for the
/// interim answer before the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_100_continue_is_answered_before_the_body() {
    use std::io::{Read, Write};
    let app = spawn_app().await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let body = envelope("serverVersion", &[]);
    let text = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        write!(
            stream,
            "POST /qbwc HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml; charset=utf-8\r\n\
             SOAPAction: \"http://developer.intuit.com/serverVersion\"\r\n\
             User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; MS Web Services Client Protocol 4.0.30319.42000)\r\n\
             Expect: 100-continue\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        let mut interim = [0u8; 25];
        stream.read_exact(&mut interim).unwrap();
        assert!(
            String::from_utf8_lossy(&interim).starts_with("HTTP/1.1 100 Continue"),
            "{}",
            String::from_utf8_lossy(&interim)
        );
        stream.write_all(body.as_bytes()).unwrap();
        let mut rest = String::new();
        stream.read_to_string(&mut rest).unwrap();
        rest
    })
    .await
    .unwrap();
    assert!(text.contains("HTTP/1.1 200 OK"), "{text}");
    assert!(text.contains("<serverVersionResult>qbsync "), "{text}");
}
