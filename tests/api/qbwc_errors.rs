//! What QuickBooks can go wrong with, and what the run, the Web Connector and the history say.

use qbsync::simulate::{Dataset, FakeQuickBooks, Faults};

use crate::helpers::*;

fn quickbooks(customers: usize, employees: usize, faults: Faults) -> FakeQuickBooks {
    FakeQuickBooks::new(Dataset::generate(5, customers, employees), faults)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_iterator_restarts_the_customer_list_and_the_run_completes() {
    let app = spawn_app_with(|s| s.sync.page_size = 50).await;
    let faults = Faults { expire_iterator_on_page: Some(3), ..Faults::default() };
    let (report, _) = app.simulate(quickbooks(220, 4, faults)).await;
    assert_eq!(report.progress.last(), Some(&100), "{:?}", report.progress);
    assert!(report.progress.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(app.all_customers("").await.len(), 220);
    let runs = app.runs().await;
    assert_eq!(runs[0]["outcome"], "warnings", "{}", runs[0]);
    let events = runs[0]["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["code"] == "3391" && e["level"] == "warning"), "{events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warning_status_is_recorded_and_the_run_goes_on_without_deleting() {
    let app = spawn_app_with(|s| s.sync.page_size = 20).await;
    // First run: everything. Second run: one customer gone, but a page warns: no deletion sweep.
    let mut data = Dataset::generate(8, 60, 3);
    app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    data.evolve(9, 0, 0, 1);
    app.request_full_refresh().await;
    let faults = Faults { warning_on_page: Some(2), ..Faults::default() };
    let (report, _) = app.simulate(FakeQuickBooks::new(data, faults)).await;
    assert_eq!(report.progress.last(), Some(&100));
    let runs = app.runs().await;
    assert_eq!(runs[0]["outcome"], "warnings");
    assert_eq!(runs[0]["counts"]["warnings"], 1);
    assert_eq!(runs[0]["counts"]["customers_deleted"], 0, "an incomplete list must not mark deletions");
    assert!(app.all_customers("status=deleted").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_status_for_employees_is_explained_and_customers_are_kept() {
    let app = spawn_app().await;
    let faults = Faults { error_status_for_employees: Some(3261), ..Faults::default() };
    let (report, _) = app.simulate(quickbooks(12, 4, faults)).await;
    assert_eq!(report.progress.last(), Some(&100));
    assert_eq!(app.all_customers("").await.len(), 12);
    assert!(app.all_employees("").await.is_empty());
    let runs = app.runs().await;
    let run = &runs[0];
    assert_eq!(run["outcome"], "errors", "{run}");
    let error = &run["errors"][0];
    assert_eq!(error["code"], "3261");
    assert!(error["explanation"].as_str().is_some_and(|e| !e.is_empty()), "{error}");
    assert!(report.close_message.as_deref().unwrap().contains("1 error"), "{:?}", report.close_message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hresult_ends_the_run_with_an_explanation_and_stages_nothing_of_that_response() {
    let app = spawn_app_with(|s| s.sync.page_size = 10).await;
    let faults = Faults {
        hresult_on_request: Some((
            2,
            "0x80040400".into(),
            "QuickBooks found an error when parsing the provided XML text stream.".into(),
        )),
        ..Faults::default()
    };
    let (report, _) = app.simulate(quickbooks(30, 2, faults)).await;
    let last = *report.progress.last().unwrap();
    assert!(last < 0, "{:?}", report.progress);
    let last_error = report.last_error.clone().unwrap();
    assert!(last_error.contains("0x80040400"), "{last_error}");
    assert_eq!(app.all_customers("").await.len(), 10, "only the first page was staged");
    let runs = app.runs().await;
    assert_eq!(runs[0]["outcome"], "errors");
    assert_eq!(runs[0]["errors"][0]["code"], "0x80040400");
    assert!(runs[0]["errors"][0]["explanation"].is_string());

    // The interrupted run saw part of the list; the next run forgets that, and once its own
    // list is complete keeps nothing of what it saw.
    assert_eq!(count_rows(&app.db, "list_seen").await, 1);
    let (again, _) = app.simulate(quickbooks(30, 2, Faults::default())).await;
    assert_eq!(again.progress.last(), Some(&100));
    assert_eq!(count_rows(&app.db, "list_seen").await, 0);
    assert_eq!(app.all_customers("").await.len(), 30);
    assert!(app.all_customers("status=deleted").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_that_does_not_parse_answers_negative_and_stages_nothing_of_it() {
    let app = spawn_app_with(|s| s.sync.page_size = 10).await;
    let faults = Faults { malformed_response_on_request: Some(1), ..Faults::default() };
    let (report, _) = app.simulate(quickbooks(30, 2, faults)).await;
    assert!(*report.progress.last().unwrap() < 0);
    assert!(report.last_error.as_deref().unwrap().contains("could not be read"), "{:?}", report.last_error);
    assert!(app.all_customers("").await.is_empty());
    assert!(report.soap_faults.is_empty(), "a bad qbXML response is not a SOAP fault");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_error_is_recorded_with_its_explanation() {
    let app = spawn_app().await;
    let faults = Faults {
        connection_error: Some((
            "0x80040418".into(),
            "This application has not accessed this QuickBooks company data file before.".into(),
        )),
        ..Faults::default()
    };
    let (report, _) = app.simulate(quickbooks(3, 1, faults)).await;
    assert_eq!(report.connection_error_answer.as_deref(), Some("done"));
    let runs = app.runs().await;
    assert_eq!(runs[0]["outcome"], "connection_error");
    assert_eq!(runs[0]["errors"][0]["code"], "0x80040418");
    assert!(runs[0]["errors"][0]["explanation"].as_str().unwrap().to_lowercase().contains("admin"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quickbooks_too_old_for_qbxml_5_is_told_clearly() {
    let app = spawn_app().await;
    let faults = Faults { max_qbxml_version: Some((4, 1)), ..Faults::default() };
    let (report, _) = app.simulate(quickbooks(3, 1, faults)).await;
    assert_eq!(report.requests, 0);
    let message = report.last_error.unwrap();
    assert!(message.contains("4.1") && message.contains("5.0"), "{message}");
    let runs = app.runs().await;
    assert_eq!(runs[0]["outcome"], "failed");
    assert_eq!(runs[0]["last_error"], message.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_quickbooks_gets_its_own_qbxml_version() {
    let app = spawn_app().await;
    let faults = Faults { max_qbxml_version: Some((8, 0)), ..Faults::default() };
    let (report, _) = app.simulate(quickbooks(25, 3, faults)).await;
    assert_eq!(report.progress.last(), Some(&100));
    let (_, conn) = app.get_json(&format!("/api/v1/connections/{}", app.conn.id)).await;
    assert_eq!(conn["quickbooks"]["qbxml_version"], "8.0");
    assert!(conn["quickbooks"]["product"].as_str().unwrap().contains("QuickBooks"));
    assert_eq!(conn["staged"]["customers"], 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_web_connector_is_refused_by_client_version() {
    let app = spawn_app().await;
    let mut options = app.sim_options();
    options.qbwc_version = "2.0.0.116".into();
    let (report, _) = app.simulate_with(options, quickbooks(3, 1, Faults::default())).await;
    assert!(report.client_version_answer.starts_with("E:"));
    assert!(!report.ticket_seen);
    assert!(app.runs().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_deleted_after_an_unfinished_run_leaves_nothing_behind() {
    // Arrange: a run that staged one page of customers and then failed, so what it saw of the
    // customer list is still kept for a deletion sweep that never came.
    let app = spawn_app_with(|s| s.sync.page_size = 10).await;
    let faults = Faults {
        hresult_on_request: Some((2, "0x80040400".into(), "QuickBooks found an error.".into())),
        ..Faults::default()
    };
    app.simulate(quickbooks(30, 2, faults)).await;
    assert_eq!(count_rows(&app.db, "list_seen").await, 1);

    // Act
    let gone = app.call("DELETE", &format!("/api/v1/connections/{}", app.conn.id), None, &app.bearer()).await;

    // Assert
    assert_eq!(gone.status, 204);
    assert_eq!(count_rows(&app.db, "list_seen").await, 0);
    assert_eq!(count_rows(&app.db, "run").await, 0);
    assert!(app.all_customers("").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_password_is_recorded_as_a_run_that_failed_at_authenticate_without_the_password() {
    // Arrange
    let app = spawn_app().await;
    let wrong = "not-the-password-Zq7";
    let attempt = |password: &'static str| {
        let app = &app;
        async move {
            let call = envelope("authenticate", &[("strUserName", &app.conn.username), ("strPassword", password)]);
            let (status, _, body) = app.soap("authenticate", call).await;
            assert_eq!(status, 200, "{body}");
            auth_strings(&body)
        }
    };

    // Act: a wrong password, again at once, and an unknown user name.
    let first = attempt(wrong).await;
    let again = attempt(wrong).await;
    let unknown = envelope("authenticate", &[("strUserName", "nobody-here"), ("strPassword", wrong)]);
    app.soap("authenticate", unknown).await;

    // Assert: the Web Connector is told nvu; the history holds one failed run, without the password.
    assert_eq!((first[1].as_str(), again[1].as_str()), ("nvu", "nvu"));
    let runs = app.runs().await;
    assert_eq!(runs.len(), 1, "a repeated refusal within a minute is the same entry: {runs:?}");
    let run = &runs[0];
    assert_eq!(
        (run["state"].as_str(), run["outcome"].as_str(), run["step"].as_str()),
        (Some("ended"), Some("failed"), Some("start")),
        "{run}"
    );
    assert!(run["last_error"].as_str().unwrap().contains("password was refused"), "{run}");
    assert!(run["summary"].as_str().unwrap().contains("authenticate"), "{run}");
    assert!(!run.to_string().contains(wrong), "the password is never kept: {run}");
    assert_eq!(run["errors"][0]["code"], "authenticate", "{run}");

    // The right password still starts a run: a refused one leaves no live run behind.
    let ticket = authenticate(&app).await;
    assert!(!ticket.is_empty());
    assert_eq!(app.runs().await.len(), 2);
}
