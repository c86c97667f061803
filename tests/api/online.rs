//! QuickBooks Online, end to end against the local fake of Intuit (`simulate::online`): connect
//! with OAuth 2.0, pull, refresh, rotation, `invalid_grant`, throttling, Change Data Capture,
//! webhooks, and two processes sharing one connection's tokens. Nothing here reaches Intuit.

use std::time::{Duration, Instant};

use qbsync::config::Settings;
use qbsync::qbo::{Online, QboSettings};
use qbsync::simulate::Dataset;
use qbsync::simulate::online::{FakeIntuit, FakeIntuitConfig, WebhookChange};
use qbsync::store::{Db, DbOptions};
use qbsync::vault::Vault;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Auth, TestApp, spawn_app, spawn_app_with};

/// Base64 of 32 bytes of 7: the key the test servers seal tokens with.
const SECRET_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

pub(crate) fn fake(customers: usize, employees: usize, configure: impl FnOnce(&mut FakeIntuitConfig)) -> FakeIntuit {
    let mut config = FakeIntuitConfig::default();
    configure(&mut config);
    FakeIntuit::start("127.0.0.1:0", config, Dataset::generate(11, customers, employees)).expect("the fake starts")
}

fn qbo_settings(fake: &FakeIntuit) -> QboSettings {
    QboSettings {
        client_id: Some(fake.config().client_id.clone()),
        client_secret: Some(fake.config().client_secret.clone()),
        webhook_token: fake.config().webhook_token.clone(),
        auth_url: Some(fake.auth_url()),
        token_url: Some(fake.token_url()),
        revoke_url: Some(fake.revoke_url()),
        api_url: Some(fake.api_url()),
        throttle_wait: Duration::from_millis(50),
        retry_wait: Duration::from_millis(20),
        poll_interval: Duration::from_millis(200),
        ..QboSettings::default()
    }
}

fn online_settings(fake: &FakeIntuit) -> impl FnOnce(&mut Settings) + use<> {
    let qbo = qbo_settings(fake);
    move |settings: &mut Settings| {
        settings.qbo = qbo;
        settings.secret_key = Some(SECRET_KEY.into());
    }
}

pub(crate) async fn online_app(fake: &FakeIntuit) -> TestApp {
    spawn_app_with(online_settings(fake)).await
}

/// A GET that does not follow redirects: status and Location.
async fn get_no_redirect(url: &str) -> (u16, Option<String>, String) {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        let res = match agent.get(&url).call() {
            Ok(res) => res,
            Err(ureq::Error::Status(_, res)) => res,
            Err(err) => panic!("GET {url}: {err}"),
        };
        let location = res.header("Location").map(str::to_string);
        (res.status(), location, res.into_string().unwrap_or_default())
    })
    .await
    .unwrap()
}

/// Creates an online connection and connects it through the fake's consent: answers its id.
pub(crate) async fn connect(app: &TestApp, name: &str) -> Uuid {
    let created =
        app.call("POST", "/api/v1/connections", Some(json!({ "name": name, "kind": "online" })), &app.bearer()).await;
    assert_eq!(created.status, 201, "{}", created.json);
    assert_eq!(created.json["kind"], "online");
    assert_eq!(created.json["status"], "pending");
    assert_eq!(created.json["username"], Value::Null, "an online connection has no Web Connector account");
    let id: Uuid = created.json["id"].as_str().unwrap().parse().unwrap();
    consent(app, created.json["authorize_url"].as_str().unwrap()).await;
    id
}

/// Follows a consent URL to the fake, then its redirect back to our callback.
async fn consent(app: &TestApp, authorize_url: &str) -> (u16, String) {
    assert!(authorize_url.contains("scope=com.intuit.quickbooks.accounting"), "{authorize_url}");
    assert!(authorize_url.contains("response_type=code"), "{authorize_url}");
    let (status, location, body) = get_no_redirect(authorize_url).await;
    assert_eq!(status, 302, "{body}");
    let location = location.unwrap();
    let (_, query) = location.split_once('?').expect("the redirect carries a query");
    assert!(location.starts_with("http://localhost:8080/qbo/callback?"), "{location}");
    let (status, _, body) = get_no_redirect(&format!("{}/qbo/callback?{query}", app.base)).await;
    (status, body)
}

async fn connection(app: &TestApp, id: Uuid) -> Value {
    let (status, body) = app.get_json(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Starts a pull; answers the run.
pub(crate) async fn start_pull(app: &TestApp, id: Uuid, lists: &[&str]) -> Value {
    let answer = app
        .call("POST", &format!("/api/v1/connections/{id}/pull"), Some(json!({ "lists": lists })), &app.bearer())
        .await;
    assert_eq!(answer.status, 202, "{}", answer.json);
    assert_eq!(answer.json["state"], "live");
    answer.json
}

/// Waits until a run of the connection has ended; answers it.
pub(crate) async fn wait_run(app: &TestApp, id: Uuid, run_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (status, body) = app.get_json(&format!("/api/v1/connections/{id}/runs?limit=20")).await;
        assert_eq!(status, 200, "{body}");
        if let Some(run) = body["items"].as_array().unwrap().iter().find(|r| r["id"] == run_id)
            && run["state"] == "ended"
        {
            return run.clone();
        }
        assert!(Instant::now() < deadline, "the run did not end: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn pull(app: &TestApp, id: Uuid, lists: &[&str]) -> Value {
    let run = start_pull(app, id, lists).await;
    wait_run(app, id, run["id"].as_str().unwrap()).await
}

fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(value, |v, key| v.get(key)).and_then(Value::as_str)
}

/// Every field qbsync keeps of each customer equals what the company holds.
fn assert_customers_match(staged: &[Value], company: &[Value]) {
    assert_eq!(staged.len(), company.len(), "one staged customer per QuickBooks Online customer");
    let by_id: std::collections::HashMap<&str, &Value> =
        staged.iter().map(|c| (c["list_id"].as_str().unwrap(), c)).collect();
    for c in company {
        let id = c["Id"].as_str().unwrap();
        let s = by_id.get(id).unwrap_or_else(|| panic!("customer {id} staged"));
        let same = |field: &str, expected: Option<&str>| {
            assert_eq!(s[field].as_str(), expected, "customer {id} {field}: staged {s} vs {c}");
        };
        same("name", text(c, &["DisplayName"]));
        same("full_name", text(c, &["FullyQualifiedName"]));
        same("parent_list_id", text(c, &["ParentRef", "value"]));
        same("edit_sequence", text(c, &["SyncToken"]));
        same("time_modified", text(c, &["MetaData", "LastUpdatedTime"]));
        same("time_created", text(c, &["MetaData", "CreateTime"]));
        same("company_name", text(c, &["CompanyName"]));
        same("salutation", text(c, &["Title"]));
        same("first_name", text(c, &["GivenName"]));
        same("middle_name", text(c, &["MiddleName"]));
        same("last_name", text(c, &["FamilyName"]));
        same("phone", text(c, &["PrimaryPhone", "FreeFormNumber"]));
        same("mobile", text(c, &["Mobile", "FreeFormNumber"]));
        same("alt_phone", text(c, &["AlternatePhone", "FreeFormNumber"]));
        same("fax", text(c, &["Fax", "FreeFormNumber"]));
        same("email", text(c, &["PrimaryEmailAddr", "Address"]));
        same("notes", text(c, &["Notes"]));
        assert_eq!(s["is_active"].as_bool(), Some(c["Active"].as_bool().unwrap_or(true)), "customer {id} active");
        assert_eq!(s["sublevel"].as_i64(), Some(c["Level"].as_i64().unwrap_or(0)), "customer {id} level");
        for (ours, theirs) in [("bill_address", "BillAddr"), ("ship_address", "ShipAddr")] {
            for (field, key) in [
                ("line1", "Line1"),
                ("line2", "Line2"),
                ("line3", "Line3"),
                ("line4", "Line4"),
                ("line5", "Line5"),
                ("city", "City"),
                ("state", "CountrySubDivisionCode"),
                ("postal_code", "PostalCode"),
                ("country", "Country"),
            ] {
                assert_eq!(s[ours][field].as_str(), text(c, &[theirs, key]), "customer {id} {ours}.{field}");
            }
        }
    }
}

fn assert_employees_match(staged: &[Value], company: &[Value]) {
    assert_eq!(staged.len(), company.len());
    for e in company {
        let id = e["Id"].as_str().unwrap();
        let s = staged.iter().find(|s| s["list_id"] == id).unwrap_or_else(|| panic!("employee {id} staged"));
        let same = |field: &str, expected: Option<&str>| {
            assert_eq!(s[field].as_str(), expected, "employee {id} {field}: staged {s} vs {e}");
        };
        same("name", text(e, &["DisplayName"]));
        same("edit_sequence", text(e, &["SyncToken"]));
        same("first_name", text(e, &["GivenName"]));
        same("last_name", text(e, &["FamilyName"]));
        same("phone", text(e, &["PrimaryPhone", "FreeFormNumber"]));
        same("mobile", text(e, &["Mobile", "FreeFormNumber"]));
        same("email", text(e, &["PrimaryEmailAddr", "Address"]));
        same("hired_date", text(e, &["HiredDate"]));
        same("released_date", text(e, &["ReleasedDate"]));
        assert_eq!(s["address"]["line1"].as_str(), text(e, &["PrimaryAddr", "Line1"]));
        assert_eq!(s["address"]["city"].as_str(), text(e, &["PrimaryAddr", "City"]));
        assert_eq!(s["is_active"].as_bool(), Some(e["Active"].as_bool().unwrap_or(true)), "employee {id} active");
    }
}

async fn staged_customers(app: &TestApp, id: Uuid) -> Vec<Value> {
    app.all_customers(&format!("connection={id}")).await
}

/// The raw bytes of every stored token column, and of the whole SQLite file when there is one.
async fn stored_token_bytes(app: &TestApp) -> Vec<u8> {
    let mut bytes = Vec::new();
    match &app.db {
        Db::Sqlite(pool) => {
            let rows: Vec<(Vec<u8>, Vec<u8>)> =
                sqlx::query_as("SELECT access_token, refresh_token FROM qbo_token").fetch_all(pool).await.unwrap();
            for (a, r) in rows {
                bytes.extend(a);
                bytes.extend(r);
            }
            // The WAL holds recent writes: checkpoint, then read the file.
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await.unwrap();
            bytes.extend(std::fs::read(&app.database_url).unwrap());
        }
        Db::Postgres(pool) => {
            let rows: Vec<(Vec<u8>, Vec<u8>)> =
                sqlx::query_as("SELECT access_token, refresh_token FROM qbo_token").fetch_all(pool).await.unwrap();
            for (a, r) in rows {
                bytes.extend(a);
                bytes.extend(r);
            }
            let dump: Vec<String> =
                sqlx::query_scalar("SELECT row_to_json(t)::text FROM qbo_token t").fetch_all(pool).await.unwrap();
            bytes.extend(dump.concat().into_bytes());
        }
    }
    bytes
}

/// The connection's tokens in clear (opened with the test key) and their version.
async fn tokens_of(app: &TestApp, id: Uuid) -> (String, String, i64) {
    let row = qbsync::store::online::token_row(&app.db, id).await.unwrap().expect("tokens stored");
    let vault = Vault::from_base64(SECRET_KEY).unwrap();
    let access = vault.open(&row.access_token, &qbsync::qbo::tokens::context("access", id)).unwrap();
    let refresh = vault.open(&row.refresh_token, &qbsync::qbo::tokens::context("refresh", id)).unwrap();
    (access, refresh, row.version)
}

async fn expire_stored_access_token(app: &TestApp, id: Uuid) {
    let past = chrono::Utc::now() - chrono::Duration::hours(2);
    match &app.db {
        Db::Sqlite(pool) => {
            sqlx::query("UPDATE qbo_token SET access_expires_at = $1 WHERE connection_id = $2")
                .bind(past)
                .bind(id)
                .execute(pool)
                .await
                .unwrap();
        }
        Db::Postgres(pool) => {
            sqlx::query("UPDATE qbo_token SET access_expires_at = $1 WHERE connection_id = $2")
                .bind(past)
                .bind(id)
                .execute(pool)
                .await
                .unwrap();
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_then_get_locations_and_staff_stages_every_field_of_a_2500_customer_company() {
    let fake = fake(2500, 40, |_| {});
    let app = online_app(&fake).await;
    let id = connect(&app, "Books online").await;
    let conn = connection(&app, id).await;
    assert_eq!(conn["status"], "connected");
    assert_eq!(conn["realm_id"], fake.realm_id());
    assert!(conn["company_name"].as_str().is_some_and(|n| !n.is_empty()), "{conn}");
    assert_eq!(fake.stats().code_exchanges, 1);

    let run = pull(&app, id, &["customers", "employees"]).await;
    assert_eq!(run["outcome"], "success", "{run}");
    assert_eq!(run["trigger"], "button");
    assert_eq!(run["mode"], "full");
    assert_eq!(run["percent"], 100);
    let company = fake.customers();
    assert_eq!(run["counts"]["customers"], company.len());
    assert!(company.iter().any(|c| c["Active"] == false), "the company has inactive customers");
    assert!(company.iter().any(|c| c["Level"].as_i64() >= Some(2)), "and jobs of jobs");
    assert!(company.iter().any(|c| !c["DisplayName"].as_str().unwrap().is_ascii()), "and non-ASCII names");
    assert_customers_match(&staged_customers(&app, id).await, &company);
    assert_employees_match(&app.all_employees(&format!("connection={id}")).await, &fake.employees());
    // Pages of 1,000 and a short last page, plus a count per list.
    assert!(fake.stats().queries >= 3 + 1 + 2, "{:?}", fake.stats());

    // No SSN and no birth date anywhere in the database.
    let details: Vec<String> = match &app.db {
        Db::Sqlite(pool) => sqlx::query_scalar("SELECT details FROM qb_employee").fetch_all(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar("SELECT details FROM qb_employee").fetch_all(pool).await.unwrap(),
    };
    let all = details.concat();
    assert!(!all.contains("XXX-XX") && !all.to_lowercase().contains("birth"), "{all}");
    for e in fake.employees() {
        if let Some(birth) = e["BirthDate"].as_str() {
            assert!(!all.contains(birth), "birth date {birth} stored");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_holds_no_token_in_clear() {
    let fake = fake(5, 2, |_| {});
    let app = online_app(&fake).await;
    let id = connect(&app, "Sealed").await;
    let (access, refresh, _) = tokens_of(&app, id).await;
    assert!(access.len() > 8 && refresh.len() > 8);
    let stored = stored_token_bytes(&app).await;
    assert!(!contains(&stored, &access), "the access token is in the database in clear");
    assert!(!contains(&stored, &refresh), "the refresh token is in the database in clear");
    // Another key cannot open them.
    let row = qbsync::store::online::token_row(&app.db, id).await.unwrap().unwrap();
    let other = Vault::from_base64("CAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg=").unwrap();
    assert!(other.open(&row.refresh_token, &qbsync::qbo::tokens::context("refresh", id)).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_is_refreshed_and_the_rotated_refresh_token_kept() {
    let fake = fake(30, 3, |_| {});
    let app = online_app(&fake).await;
    let id = connect(&app, "Refreshing").await;
    let (_, first_refresh, version) = tokens_of(&app, id).await;

    // Intuit stops taking the access token before qbsync expects it: a 401, one refresh, one retry.
    fake.expire_access_tokens();
    let run = pull(&app, id, &["customers"]).await;
    assert_eq!(run["outcome"], "success", "{run}");
    assert_eq!(fake.stats().refreshes, 1);
    let (_, second_refresh, second_version) = tokens_of(&app, id).await;
    assert_eq!(second_version, version + 1);
    assert_ne!(second_refresh, first_refresh, "the rotated refresh token is stored");

    // The access token's time is up by qbsync's own clock: refreshed before use, no 401 needed.
    expire_stored_access_token(&app, id).await;
    let requests = fake.stats().api_requests;
    let run = pull(&app, id, &["employees"]).await;
    assert_eq!(run["outcome"], "success", "{run}");
    assert_eq!(fake.stats().refreshes, 2);
    let (_, third_refresh, _) = tokens_of(&app, id).await;
    assert_ne!(third_refresh, second_refresh);
    // An employee pull: a count and one page, nothing refused.
    assert_eq!(fake.stats().api_requests - requests, 2, "{:?}", fake.stats());
    assert_customers_match(&staged_customers(&app, id).await, &fake.customers());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_grant_marks_the_connection_for_reconnect_and_reconnecting_resumes() {
    let fake = fake(20, 2, |_| {});
    let app = online_app(&fake).await;
    let id = connect(&app, "Revoked").await;
    pull(&app, id, &["customers"]).await;
    let staged = staged_customers(&app, id).await.len();

    // The company's admin disconnected qbsync inside QuickBooks.
    fake.revoke_grant();
    let run = pull(&app, id, &["customers"]).await;
    assert_eq!(run["outcome"], "failed", "{run}");
    let event = &run["events"][0];
    assert!(event["message"].as_str().unwrap().contains("invalid_grant"), "{run}");
    assert!(event["explanation"].as_str().unwrap().contains("Reconnect"), "{run}");
    assert_eq!(fake.stats().failed_refreshes, 1, "refused once, never retried");
    let conn = connection(&app, id).await;
    assert_eq!(conn["status"], "needs_reconnect");
    assert_eq!(qbsync::store::online::token_row(&app.db, id).await.unwrap().map(|_| ()), None);
    assert_eq!(staged_customers(&app, id).await.len(), staged, "staged records stay");

    let refused = app.call("POST", &format!("/api/v1/connections/{id}/pull"), Some(json!({})), &app.bearer()).await;
    assert_eq!(refused.status, 409, "{}", refused.json);
    assert!(refused.json["error"]["message"].as_str().unwrap().contains("reconnect"));

    // Reconnect: the same authorization again.
    let again = app.call("POST", &format!("/api/v1/connections/{id}/authorize"), None, &app.bearer()).await;
    assert_eq!(again.status, 200, "{}", again.json);
    let (status, body) = consent(&app, again.json["authorize_url"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(connection(&app, id).await["status"], "connected");
    let run = pull(&app, id, &["customers"]).await;
    assert_eq!(run["outcome"], "success", "{run}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_server_errors_are_waited_out_and_a_lasting_failure_is_explained() {
    let fake = fake(40, 2, |_| {});
    let app = online_app(&fake).await;
    let id = connect(&app, "Throttled").await;
    fake.throttle_next(2);
    fake.fail_next(2);
    let run = pull(&app, id, &["customers"]).await;
    assert_eq!(run["outcome"], "success", "{run}");
    assert_eq!(fake.stats().throttled, 2);
    assert_eq!(fake.stats().failed, 2);
    assert!(run["summary"].as_str().unwrap().contains("after waiting"), "{run}");
    assert_customers_match(&staged_customers(&app, id).await, &fake.customers());

    fake.fail_next(50);
    let run = pull(&app, id, &["customers"]).await;
    assert_eq!(run["outcome"], "failed", "{run}");
    let error = &run["errors"][0];
    // Intuit's own code for its server fault (SystemFault 10000), with the HTTP status in the message.
    assert_eq!(error["code"], "10000", "{run}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("HTTP 500") && message.contains("intuit_tid"), "{message}");
    assert!(error["explanation"].as_str().unwrap().contains("server error"));
    // Staged records are untouched by the failed pull.
    assert_customers_match(&staged_customers(&app, id).await, &fake.customers());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_pulls_read_only_the_changes_and_deletions_mark_records_deleted() {
    let fake = fake(300, 5, |_| {});
    let app = online_app(&fake).await;
    let id = connect(&app, "Changes").await;
    pull(&app, id, &["customers", "employees"]).await;
    let customers = fake.customers();
    let parent = customers.iter().find(|c| customers.iter().any(|j| j["ParentRef"]["value"] == c["Id"])).unwrap();
    let parent_id = parent["Id"].as_str().unwrap().to_string();
    let plain: Vec<String> = customers
        .iter()
        .filter(|c| c["ParentRef"].is_null() && c["Active"] != false && c["Id"] != parent_id.as_str())
        .filter(|c| !customers.iter().any(|j| j["ParentRef"]["value"] == c["Id"]))
        .map(|c| c["Id"].as_str().unwrap().to_string())
        .take(2)
        .collect();

    // Link the customer about to be deleted: the link must survive its deletion.
    let location = app.call("POST", "/api/v1/locations", Some(json!({ "name": "Doomed site" })), &app.bearer()).await;
    let staged = staged_customers(&app, id).await;
    let doomed = staged.iter().find(|c| c["list_id"] == plain[1].as_str()).unwrap();
    let link = app
        .call(
            "PUT",
            &format!("/api/v1/locations/{}/link", location.json["id"].as_str().unwrap()),
            Some(json!({ "customer_id": doomed["id"] })),
            &app.bearer(),
        )
        .await;
    assert_eq!(link.status, 200, "{}", link.json);

    let new_id = fake.add_customer("Château Élan Events Annex", None);
    fake.rename_customer(&parent_id, "Renamed Parent Co");
    fake.set_customer_active(&plain[0], false);
    fake.delete_customer(&plain[1]);
    let queries = fake.stats().queries;
    let cdc = fake.stats().cdc_requests;
    let run = pull(&app, id, &["customers"]).await;
    assert_eq!(run["outcome"], "success", "{run}");
    assert_eq!(fake.stats().cdc_requests, cdc + 1, "one Change Data Capture request");
    assert_eq!(fake.stats().queries, queries, "no query of the whole list");
    assert!(run["summary"].as_str().unwrap().contains("changed"), "{run}");
    assert_eq!(run["mode"], "incremental", "{run}");
    let changes = &run["changes"]["customers"];
    assert_eq!(changes["new"], 1, "{run}");
    assert_eq!(changes["deactivated"], 1, "{run}");
    assert_eq!(changes["deleted"], 1, "{run}");
    assert!(changes["changed"].as_i64().unwrap() >= 2, "the parent and its jobs: {run}");

    let staged = staged_customers(&app, id).await;
    let live: Vec<Value> = staged.iter().filter(|c| c["status"] != "deleted").cloned().collect();
    assert_customers_match(&live, &fake.customers());
    assert!(live.iter().any(|c| c["list_id"] == new_id.as_str() && c["name"] == "Château Élan Events Annex"));
    let jobs: Vec<&Value> = live.iter().filter(|c| c["parent_list_id"] == parent_id.as_str()).collect();
    assert!(!jobs.is_empty());
    for job in jobs {
        assert!(job["full_name"].as_str().unwrap().starts_with("Renamed Parent Co:"), "{job}");
    }
    let gone = staged.iter().find(|c| c["list_id"] == plain[1].as_str()).unwrap();
    assert_eq!(gone["status"], "deleted", "{gone}");
    assert_eq!(gone["link"]["id"], location.json["id"], "the link stays on a deleted customer");
    assert_eq!(run["counts"]["customers_deleted"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_changes_than_one_cdc_answer_holds_fall_back_to_the_whole_list() {
    let fake = fake(60, 1, |c| c.cdc_max_objects = 5);
    let app = spawn_app_with({
        let configure = online_settings(&fake);
        move |s: &mut Settings| {
            configure(s);
            s.qbo.cdc_max_objects = 5;
        }
    })
    .await;
    let id = connect(&app, "Busy company").await;
    pull(&app, id, &["customers"]).await;
    for n in 0..8 {
        fake.add_customer(&format!("New customer {n}"), None);
    }
    let queries = fake.stats().queries;
    let run = pull(&app, id, &["customers"]).await;
    assert_eq!(run["outcome"], "warnings", "{run}");
    assert!(run["events"][0]["message"].as_str().unwrap().contains("whole list"), "{run}");
    assert!(fake.stats().queries > queries, "the whole list was read");
    assert_customers_match(&staged_customers(&app, id).await, &fake.customers());
}

async fn post_webhook(app: &TestApp, body: &[u8], signature: Option<&str>, content_type: &str) -> u16 {
    let url = format!("{}/qbo/webhooks", app.base);
    let (body, signature, content_type) = (body.to_vec(), signature.map(str::to_string), content_type.to_string());
    tokio::task::spawn_blocking(move || {
        let mut req = ureq::post(&url).set("Content-Type", &content_type);
        if let Some(signature) = signature {
            req = req.set("intuit-signature", &signature);
        }
        match req.send_bytes(&body) {
            Ok(res) => res.status(),
            Err(ureq::Error::Status(status, _)) => status,
            Err(err) => panic!("{err}"),
        }
    })
    .await
    .unwrap()
}

async fn run_count(app: &TestApp, id: Uuid) -> usize {
    let (_, body) = app.get_json(&format!("/api/v1/connections/{id}/runs?limit=100")).await;
    body["items"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_webhook_leads_to_a_pull_and_a_bad_signature_to_nothing() {
    let fake = fake(25, 3, |_| {});
    let app = online_app(&fake).await;
    let id = connect(&app, "Notified").await;
    pull(&app, id, &["customers", "employees"]).await;
    let new_id = fake.add_customer("Webhook Bakery", None);
    let change = [WebhookChange { entity: "Customer".into(), id: new_id.clone(), operation: "Create".into() }];

    // Bad or missing signatures: 401, nothing queued, nothing pulled.
    let body = fake.webhook_cloudevents(&change);
    let runs = run_count(&app, id).await;
    assert_eq!(post_webhook(&app, &body, Some("AAAA"), "application/cloudevents+json").await, 401);
    assert_eq!(post_webhook(&app, &body, None, "application/json").await, 401);
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    assert_eq!(post_webhook(&app, &tampered, Some(&fake.sign(&body)), "application/json").await, 401);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(run_count(&app, id).await, runs);
    assert_eq!(crate::helpers::count_rows(&app.db, "qbo_pull_request").await, 0);

    // CloudEvents, with its own content type: 200 at once, then a pull of the customers.
    let signature = fake.sign(&body);
    assert_eq!(post_webhook(&app, &body, Some(&signature), "application/cloudevents+json").await, 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let staged = staged_customers(&app, id).await;
        if staged.iter().any(|c| c["list_id"] == new_id.as_str()) {
            break;
        }
        assert!(Instant::now() < deadline, "the webhook's pull did not stage the new customer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, body) = app.get_json(&format!("/api/v1/connections/{id}/runs?limit=1")).await;
    let run = &body["items"][0];
    assert_eq!(run["trigger"], "webhook", "{run}");
    let run = wait_run(&app, id, run["id"].as_str().unwrap()).await;
    assert_eq!(run["outcome"], "success", "{run}");

    // The legacy format too, for employees.
    let employee = fake.add_employee("Pat Legacy");
    let body = fake.webhook_legacy(&[WebhookChange {
        entity: "Employee".into(),
        id: employee.clone(),
        operation: "Create".into(),
    }]);
    assert_eq!(post_webhook(&app, &body, Some(&fake.sign(&body)), "application/json").await, 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !app.all_employees(&format!("connection={id}")).await.iter().any(|e| e["list_id"] == employee.as_str()) {
        assert!(Instant::now() < deadline, "the legacy webhook's pull did not stage the employee");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_refresh_one_connections_token_exactly_once() {
    let fake = fake(5, 1, |_| {});
    let app = online_app(&fake).await;
    let id = connect(&app, "Shared").await;
    expire_stored_access_token(&app, id).await;
    fake.expire_access_tokens();

    // Two processes' worth of Online over two separate connection pools to the one database.
    let options = DbOptions { max_connections: 3, acquire_timeout: Duration::from_secs(30) };
    let vault = || Some(Vault::from_base64(SECRET_KEY).unwrap());
    let a_db = Db::connect(&app.database_url, &options).await.unwrap();
    let b_db = Db::connect(&app.database_url, &options).await.unwrap();
    let stale = Duration::from_secs(120);
    let a = Online::new(a_db, qbo_settings(&fake), vault(), "http://localhost:8080", stale);
    let b = Online::new(b_db, qbo_settings(&fake), vault(), "http://localhost:8080", stale);
    let (x, y) = tokio::join!(a.access_token(id, None), b.access_token(id, None));
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x, y, "both use the one refreshed token");
    assert_eq!(fake.stats().refreshes, 1, "{:?}", fake.stats());
    assert_eq!(fake.stats().failed_refreshes, 0);
    let run = pull(&app, id, &["customers"]).await;
    assert_eq!(run["outcome"], "success", "the stored refresh token is the live one: {run}");
}

/// A server whose runs go stale after a second, a connected company, and a pull of it left live
/// five minutes ago by a process that died: the app, the connection and that run's id.
async fn app_with_a_dead_pull(fake: &FakeIntuit, trigger: qbsync::store::runs::Trigger) -> (TestApp, Uuid, String) {
    let app = spawn_app_with({
        let configure = online_settings(fake);
        move |s: &mut Settings| {
            configure(s);
            s.sync.stale_run = chrono::Duration::seconds(1);
        }
    })
    .await;
    let id = connect(&app, "Crashed").await;
    let key = format!("pull:{}", Uuid::new_v4());
    let five_minutes_ago = chrono::Utc::now() - chrono::Duration::minutes(5);
    let dead = qbsync::store::runs::start_run_by(&app.db, id, &key, trigger, five_minutes_ago).await.unwrap();
    (app, id, dead.run_id.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_whose_process_died_is_failed_and_the_next_one_starts() {
    let fake = fake(10, 1, |_| {});
    let (app, id, dead) = app_with_a_dead_pull(&fake, qbsync::store::runs::Trigger::Button).await;
    let run = pull(&app, id, &["customers"]).await;
    assert_eq!(run["outcome"], "success", "{run}");
    let old = wait_run(&app, id, &dead).await;
    assert_eq!(old["outcome"], "failed");
    assert!(old["last_error"].as_str().unwrap().contains("signs of life"), "{old}");
    assert_customers_match(&staged_customers(&app, id).await, &fake.customers());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_that_goes_stale_is_failed_by_the_worker_without_another_pull() {
    let fake = fake(4, 1, |_| {});
    let (app, id, dead) = app_with_a_dead_pull(&fake, qbsync::store::runs::Trigger::Webhook).await;
    let old = wait_run(&app, id, &dead).await;
    assert_eq!(old["outcome"], "failed", "{old}");
    assert_eq!(run_count(&app, id).await, 1, "no other run was started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_pull_makes_the_connection_busy() {
    let fake = fake(3000, 1, |c| c.api_latency = Duration::from_millis(150));
    let app = online_app(&fake).await;
    let id = connect(&app, "Busy").await;
    let run = start_pull(&app, id, &["customers"]).await;
    let second = app.call("POST", &format!("/api/v1/connections/{id}/pull"), Some(json!({})), &app.bearer()).await;
    assert_eq!(second.status, 409, "{}", second.json);
    assert!(second.json["error"]["message"].as_str().unwrap().contains("in progress"));
    let run = wait_run(&app, id, run["id"].as_str().unwrap()).await;
    assert_eq!(run["outcome"], "success", "{run}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_states_refusals_and_reuse_at_the_callback_change_nothing() {
    let fake = fake(3, 1, |_| {});
    let app = online_app(&fake).await;
    let created = app
        .call("POST", "/api/v1/connections", Some(json!({ "name": "Careful", "kind": "online" })), &app.bearer())
        .await;
    let id = created.json["id"].as_str().unwrap().to_string();
    let url = created.json["authorize_url"].as_str().unwrap().to_string();
    let state = url.split("state=").nth(1).unwrap().split('&').next().unwrap().to_string();

    for query in ["code=x&realmId=1", "state=not-a-state&code=x&realmId=1", "state=&code=x"] {
        let (status, _, body) = get_no_redirect(&format!("{}/qbo/callback?{query}", app.base)).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.contains("qbo_error="), "{body}");
    }
    // The admin pressed Cancel at Intuit.
    let (status, _, body) =
        get_no_redirect(&format!("{}/qbo/callback?error=access_denied&state={state}", app.base)).await;
    assert_eq!(status, 400);
    assert!(body.contains("not granted"), "{body}");
    let conn = connection(&app, id.parse().unwrap()).await;
    assert_eq!(conn["status"], "pending");
    assert_eq!(conn["realm_id"], Value::Null);
    // The state was used up by the refusal: a replay is refused too.
    let (status, _, body) =
        get_no_redirect(&format!("{}/qbo/callback?code=abc&realmId=1&state={state}", app.base)).await;
    assert_eq!(status, 400);
    assert!(body.contains("expired or was already used"), "{body}");
    assert_eq!(fake.stats().code_exchanges, 0);

    // A real consent works once; its state cannot be replayed.
    let again = app.call("POST", &format!("/api/v1/connections/{id}/authorize"), None, &app.bearer()).await;
    let (status, location, _) = get_no_redirect(again.json["authorize_url"].as_str().unwrap()).await;
    assert_eq!(status, 302);
    let query = location.unwrap().split_once('?').unwrap().1.to_string();
    let (status, _, body) = get_no_redirect(&format!("{}/qbo/callback?{query}", app.base)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("qbo=connected"), "{body}");
    let (status, _, _) = get_no_redirect(&format!("{}/qbo/callback?{query}", app.base)).await;
    assert_eq!(status, 400);
    assert_eq!(fake.stats().code_exchanges, 1);
}

/// A GET with a Cookie header, not following redirects: status and body.
async fn get_with_cookie(url: &str, cookie: &str) -> (u16, String) {
    let (url, cookie) = (url.to_string(), cookie.to_string());
    tokio::task::spawn_blocking(move || {
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        let res = match agent.get(&url).set("Cookie", &cookie).call() {
            Ok(res) => res,
            Err(ureq::Error::Status(_, res)) => res,
            Err(err) => panic!("GET {url}: {err}"),
        };
        (res.status(), res.into_string().unwrap_or_default())
    })
    .await
    .unwrap()
}

/// The browser-binding cookie an answer sets, as `name=value`, with its attributes checked.
fn browser_cookie(answer: &crate::helpers::Answer) -> String {
    let set = answer
        .headers
        .iter()
        .find(|(n, v)| n.eq_ignore_ascii_case("set-cookie") && v.starts_with("qbsync_qbo_browser="))
        .map(|(_, v)| v.clone())
        .expect("the page's authorization sets the browser cookie");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/qbo/callback"), "{set}");
    set.split(';').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorization_started_on_the_page_completes_only_in_that_browser() {
    let fake = fake(3, 1, |_| {});
    let app = online_app(&fake).await;
    let session = app.sign_in().await;
    let created =
        app.call("POST", "/api/v1/connections", Some(json!({ "name": "Bound", "kind": "online" })), &session).await;
    assert_eq!(created.status, 201, "{}", created.json);
    let id = created.json["id"].as_str().unwrap().to_string();
    browser_cookie(&created);

    // The consent link reaches another browser (one without the cookie): refused, nothing tied.
    let (status, location, _) = get_no_redirect(created.json["authorize_url"].as_str().unwrap()).await;
    assert_eq!(status, 302);
    let query = location.unwrap().split_once('?').unwrap().1.to_string();
    let (status, _, body) = get_no_redirect(&format!("{}/qbo/callback?{query}", app.base)).await;
    assert_eq!(status, 400);
    assert!(body.contains("another browser"), "{body}");
    assert_eq!(fake.stats().code_exchanges, 0);
    assert_eq!(connection(&app, id.parse().unwrap()).await["status"], "pending");

    // The admin's own browser, which holds the cookie, completes it.
    let again = app.call("POST", &format!("/api/v1/connections/{id}/authorize"), None, &session).await;
    assert_eq!(again.status, 200, "{}", again.json);
    let cookie = browser_cookie(&again);
    let (_, location, _) = get_no_redirect(again.json["authorize_url"].as_str().unwrap()).await;
    let query = location.unwrap().split_once('?').unwrap().1.to_string();
    let (status, body) = get_with_cookie(&format!("{}/qbo/callback?{query}", app.base), &cookie).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(connection(&app, id.parse().unwrap()).await["status"], "connected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_to_another_company_is_refused_and_its_grant_given_back() {
    let fake = fake(3, 1, |_| {});
    let app = online_app(&fake).await;
    let id = connect(&app, "First company").await;
    // As if the connection had been made with another company than the one now granting access.
    let sql = "UPDATE connection SET realm_id = '1111' WHERE connection_id = $1";
    match &app.db {
        Db::Sqlite(pool) => sqlx::query(sql).bind(id).execute(pool).await.map(|_| ()),
        Db::Postgres(pool) => sqlx::query(sql).bind(id).execute(pool).await.map(|_| ()),
    }
    .unwrap();
    let (_, _, version) = tokens_of(&app, id).await;
    let again = app.call("POST", &format!("/api/v1/connections/{id}/authorize"), None, &app.bearer()).await;
    let (status, body) = consent(&app, again.json["authorize_url"].as_str().unwrap()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("belongs to"), "{body}");
    assert_eq!(fake.stats().revocations, 1, "the new grant was revoked");
    assert_eq!(connection(&app, id).await["realm_id"], "1111", "nothing changed");
    assert_eq!(tokens_of(&app, id).await.2, version);
    // A callback whose company id is not Intuit's is refused before any exchange.
    let again = app.call("POST", &format!("/api/v1/connections/{id}/authorize"), None, &app.bearer()).await;
    let url = again.json["authorize_url"].as_str().unwrap();
    let state = url.split("state=").nth(1).unwrap().split('&').next().unwrap();
    let (status, _, body) =
        get_no_redirect(&format!("{}/qbo/callback?code=c&state={state}&realmId=%3Cscript%3E", app.base)).await;
    assert_eq!(status, 400);
    assert!(body.contains("not Intuit"), "{body}");
    assert!(!body.contains("<script>"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_revokes_at_intuit_and_keeps_records_and_links() {
    let fake = fake(8, 1, |_| {});
    let app = online_app(&fake).await;
    let id = connect(&app, "Leaving").await;
    pull(&app, id, &["customers"]).await;
    let staged = staged_customers(&app, id).await;
    let location = app.call("POST", "/api/v1/locations", Some(json!({ "name": "Kept site" })), &app.bearer()).await;
    let location_id = location.json["id"].as_str().unwrap().to_string();
    let linked = app
        .call(
            "PUT",
            &format!("/api/v1/locations/{location_id}/link"),
            Some(json!({ "customer_id": staged[0]["id"] })),
            &app.bearer(),
        )
        .await;
    assert_eq!(linked.status, 200);

    let answer = app.call("POST", &format!("/api/v1/connections/{id}/disconnect"), None, &app.bearer()).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["revoked"], true);
    assert_eq!(answer.json["status"], "pending");
    assert_eq!(fake.stats().revocations, 1);
    assert_eq!(qbsync::store::online::token_row(&app.db, id).await.unwrap().map(|_| ()), None);
    assert_eq!(staged_customers(&app, id).await.len(), staged.len());
    let (_, location) = app.get_json(&format!("/api/v1/locations/{location_id}")).await;
    assert_eq!(location["link"]["customer_id"], staged[0]["id"], "{location}");
    let refused = app.call("POST", &format!("/api/v1/connections/{id}/pull"), None, &app.bearer()).await;
    assert_eq!(refused.status, 409);
}

#[tokio::test]
async fn without_a_client_id_online_connections_are_refused_with_the_way_to_enable_them() {
    let app = spawn_app().await;
    let answer = app
        .call("POST", "/api/v1/connections", Some(json!({ "name": "Online", "kind": "online" })), &app.bearer())
        .await;
    assert_eq!(answer.status, 422, "{}", answer.json);
    assert!(answer.json["error"]["message"].as_str().unwrap().contains("QBSYNC_QBO_CLIENT_ID"));
    let answer =
        app.call("POST", "/api/v1/connections", Some(json!({ "name": "Odd", "kind": "cloud" })), &app.bearer()).await;
    assert_eq!(answer.status, 422);
    // Webhooks are off too.
    assert_eq!(post_webhook(&app, b"[]", Some("x"), "application/json").await, 401);
    // A Desktop connection has no pull, and the session tells the page that Online is off.
    let pull = app.call("POST", &format!("/api/v1/connections/{}/pull", app.conn.id), None, &app.bearer()).await;
    assert_eq!(pull.status, 422, "{}", pull.json);
    assert!(pull.json["error"]["message"].as_str().unwrap().contains("Web Connector"));
    let session = app.sign_in().await;
    let me = app.call("GET", "/api/v1/session", None, &session).await;
    assert_eq!(me.json["quickbooks_online"]["enabled"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_connection_has_no_web_connector_side() {
    let fake = fake(2, 1, |_| {});
    let app = online_app(&fake).await;
    let id = connect(&app, "No QWC").await;
    let qwc = app.call("GET", &format!("/api/v1/connections/{id}/qwc"), None, &app.bearer()).await;
    assert_eq!(qwc.status, 422);
    let password = app.call("POST", &format!("/api/v1/connections/{id}/password"), None, &app.bearer()).await;
    assert_eq!(password.status, 422);
    let bad_lists = app
        .call("POST", &format!("/api/v1/connections/{id}/pull"), Some(json!({ "lists": ["vendors"] })), &app.bearer())
        .await;
    assert_eq!(bad_lists.status, 422);
    let session = app.sign_in().await;
    let me = app.call("GET", "/api/v1/session", None, &session).await;
    assert_eq!(me.json["quickbooks_online"]["enabled"], true);
    let _ = Auth::None;
}
