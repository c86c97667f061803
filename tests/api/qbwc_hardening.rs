//! A hosted deployment's defences around the Web Connector endpoint: runs left behind by a
//! crashed Web Connector, slow uploads, and caps on uploads in progress.

use std::time::Duration;

use crate::helpers::*;

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
    let (_, _, text) = app
        .soap(
            "sendRequestXML",
            envelope(
                "sendRequestXML",
                &[
                    ("ticket", &first),
                    ("strHCPResponse", ""),
                    ("strCompanyFileName", ""),
                    ("qbXMLCountry", "US"),
                    ("qbXMLMajorVers", "13"),
                    ("qbXMLMinorVers", "0"),
                ],
            ),
        )
        .await;
    assert_eq!(element_text(&text, "sendRequestXMLResult").unwrap_or_default(), "", "{text}");
}
