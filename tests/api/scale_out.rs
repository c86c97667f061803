//! Several server processes on one database, concurrent runs and retried calls: the run state in
//! the database keeps every session consistent. These run on SQLite and, in CI, on PostgreSQL.

use std::collections::BTreeMap;

use qbsync::simulate::{Dataset, FakeQuickBooks, Faults};
use qbsync::store::catalog;
use serde_json::Value;

use crate::helpers::*;

/// What staging produced, without the row ids and times that differ between any two runs.
fn staged_view(items: &[Value]) -> BTreeMap<String, Value> {
    items
        .iter()
        .map(|c| {
            let mut c = c.clone();
            for volatile in ["id", "connection_id", "seen_at"] {
                c.as_object_mut().unwrap().remove(volatile);
            }
            (c["list_id"].as_str().unwrap().to_string(), c)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_taking_turns_on_every_call_stage_the_same_as_one() {
    let data = Dataset::generate(77, 1200, 15);

    // One server.
    let single = spawn_app_with(|s| s.sync.page_size = 100).await;
    let (alone, _) = single.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;

    // Two servers on one database, the Web Connector's calls alternating between them.
    let app = spawn_app_with(|s| s.sync.page_size = 100).await;
    let (second, _handle) = spawn_second_server(&app, |s| s.sync.page_size = 100).await;
    let mut options = app.sim_options();
    options.more_urls = vec![format!("{second}/qbwc")];
    let (alternating, _) = app.simulate_with(options, FakeQuickBooks::new(data, Faults::default())).await;

    assert_eq!(alternating.progress, alone.progress);
    assert_eq!(alternating.close_message, alone.close_message);
    assert!(alternating.soap_faults.is_empty());
    let calls = alternating.calls.len();
    assert!(calls > 20, "{calls} calls");
    assert_eq!(staged_view(&app.all_customers("").await), staged_view(&single.all_customers("").await));
    assert_eq!(staged_view(&app.all_employees("").await), staged_view(&single.all_employees("").await));
    let (a, b) = (app.runs().await, single.runs().await);
    assert_eq!(a[0]["counts"], b[0]["counts"]);
    assert_eq!(a[0]["outcome"], "success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_organizations_syncing_at_once_each_see_only_their_own_records() {
    // Twenty tenants, all from the test's one address: lift the per-address upload cap.
    let app = spawn_app_with(|s| {
        s.sync.page_size = 50;
        s.max_uploads_per_address = 64;
    })
    .await;
    let mut tenants = Vec::new();
    for n in 0..20u64 {
        let org = catalog::create_organization(&app.db, &format!("Tenant {n}")).await.unwrap();
        let conn = add_connection(&app.db, org.organization_id, "Office").await;
        let token = add_token(&app.db, org.organization_id).await;
        tenants.push((n, conn, token, Dataset::generate(1000 + n, 40 + n as usize * 7, 3 + n as usize % 4)));
    }
    let mut sessions = Vec::new();
    for (_, conn, _, data) in &tenants {
        let mut options = app.sim_options();
        options.username = conn.username.clone();
        options.password = conn.password.clone();
        let qb = FakeQuickBooks::new(data.clone(), Faults::default());
        sessions.push(tokio::task::spawn_blocking(move || {
            let mut qb = qb;
            qbsync::simulate::run(&options, &mut qb).expect("session runs")
        }));
    }
    for session in sessions {
        let report = session.await.unwrap();
        assert_eq!(report.progress.last(), Some(&100), "{}", report.summary());
    }
    for (n, _, token, data) in &tenants {
        let (status, page) = app.get_json_as("/api/v1/qb/customers?limit=500", Some(token)).await;
        assert_eq!(status, 200);
        let mut seen: Vec<String> =
            page["items"].as_array().unwrap().iter().map(|c| c["list_id"].as_str().unwrap().to_string()).collect();
        let mut expected: Vec<String> = data.customers.iter().map(|c| c.list_id.clone()).collect();
        seen.sort();
        expected.sort();
        assert_eq!(seen, expected, "tenant {n}");
        assert_eq!(page["total"], data.customers.len());
        let (_, staff) = app.get_json_as("/api/v1/qb/employees?limit=500", Some(token)).await;
        assert_eq!(staff["total"], data.employees.len(), "tenant {n}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_response_sent_many_times_at_once_is_applied_once() {
    // Eight uploads at once from the test's one address: lift the per-address upload cap.
    let app = spawn_app_with(|s| s.max_uploads_per_address = 64).await;
    let ticket = authenticate(&app).await;
    let (_, _, body) = send_request_xml(&app, &ticket).await;
    assert!(body.contains("cust-1"));
    let mut customers = String::new();
    for n in 0..300 {
        customers.push_str(&format!(
            "<CustomerRet><ListID>8000{n:04}-1</ListID><EditSequence>1</EditSequence><Name>Client {n}</Name><FullName>Client {n}</FullName><IsActive>true</IsActive><Sublevel>0</Sublevel></CustomerRet>"
        ));
    }
    let response = format!(
        "<?xml version=\"1.0\" ?><QBXML><QBXMLMsgsRs><CustomerQueryRs requestID=\"cust-1\" statusCode=\"0\" statusSeverity=\"Info\" statusMessage=\"Status OK\" iteratorRemainingCount=\"0\" iteratorID=\"{{x}}\">{customers}</CustomerQueryRs></QBXMLMsgsRs></QBXML>"
    );
    let call = envelope(
        "receiveResponseXML",
        &[("ticket", &ticket), ("response", &response), ("hresult", ""), ("message", "")],
    );
    let mut answers = Vec::new();
    for _ in 0..8 {
        let call = call.clone();
        let app_base = app.base.clone();
        answers.push(tokio::task::spawn_blocking(move || {
            ureq::post(&format!("{app_base}/qbwc"))
                .set("Content-Type", "text/xml; charset=utf-8")
                .send_string(&call)
                .map(|r| r.into_string().unwrap())
                .unwrap_or_else(|e| panic!("{e}"))
        }));
    }
    for answer in answers {
        let body = answer.await.unwrap();
        assert_eq!(element_text(&body, "receiveResponseXMLResult").as_deref(), Some("90"), "{body}");
    }
    let runs = app.runs().await;
    assert_eq!(runs[0]["counts"]["customers"], 300, "{}", runs[0]);
    assert_eq!(runs[0]["step"], "employees");
    assert_eq!(app.all_customers("").await.len(), 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_logins_of_one_connection_get_one_ticket() {
    let app = spawn_app().await;
    let mut logins = Vec::new();
    for _ in 0..6 {
        let (base, user, pass) = (app.base.clone(), app.conn.username.clone(), app.conn.password.clone());
        logins.push(tokio::task::spawn_blocking(move || {
            let body = envelope("authenticate", &[("strUserName", &user), ("strPassword", &pass)]);
            let text = ureq::post(&format!("{base}/qbwc"))
                .set("Content-Type", "text/xml")
                .send_string(&body)
                .unwrap()
                .into_string()
                .unwrap();
            auth_strings(&text)[1].clone()
        }));
    }
    let mut answers = Vec::new();
    for login in logins {
        answers.push(login.await.unwrap());
    }
    assert_eq!(answers.iter().filter(|a| a.is_empty()).count(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|a| *a == "busy").count(), 5, "{answers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_calls_runs_and_staged_rows() {
    let app = spawn_app().await;
    app.sync_company(4, 30, 5).await;
    let (status, content_type, text) = app.get_as("/metrics", None).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/plain"));
    assert!(text.contains("qbsync_qbwc_calls_total{method=\"authenticate\"} 1\n"), "{text}");
    assert!(text.contains("qbsync_qbwc_calls_total{method=\"receiveResponseXML\"} 2\n"), "{text}");
    assert!(text.contains("qbsync_staged_rows_total{list=\"customers\"} 30\n"), "{text}");
    assert!(text.contains("qbsync_staged_rows_total{list=\"employees\"} 5\n"), "{text}");
    assert!(text.contains("qbsync_runs_ended_total{outcome=\"success\"} 1\n"), "{text}");
    assert!(text.contains("qbsync_runs_live 0\n"));
    assert!(text.contains("qbsync_database_up 1\n"));
    app.soap("", "not xml").await;
    let (_, _, text) = app.get_as("/metrics", None).await;
    assert!(text.contains("qbsync_qbwc_errors_total{method=\"invalid\"} 1\n"), "{text}");
}
