//! Starting the app and talking to it.

use std::time::Duration;

use actix_web::dev::ServerHandle;
use qbsync::config::Settings;
use qbsync::secrets;
use qbsync::simulate::{self, Dataset, FakeQuickBooks, Faults, SimOptions, SimReport};
use qbsync::startup::Application;
use qbsync::store::{Db, DbOptions, catalog};
use serde_json::Value;
use uuid::Uuid;

/// A running server with one organization, one connection and one API token.
pub struct TestApp {
    pub base: String,
    pub database_url: String,
    pub db: Db,
    pub org_id: Uuid,
    pub token: String,
    pub conn: TestConnection,
    handle: ServerHandle,
    _dir: tempfile::TempDir,
}

#[derive(Clone, Debug)]
pub struct TestConnection {
    pub id: Uuid,
    pub username: String,
    pub password: String,
}

/// The database a test runs on: a fresh SQLite file, or a fresh PostgreSQL database when
/// `QBSYNC_TEST_POSTGRES_URL` names a server (`.ci/run` sets it for the PostgreSQL pass).
pub async fn test_database_url(dir: &std::path::Path) -> String {
    match std::env::var("QBSYNC_TEST_POSTGRES_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            use sqlx::Executor;
            let name = format!("t_{}", Uuid::new_v4().simple());
            let mut admin =
                <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url).await.expect("connect to PostgreSQL");
            admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create test database");
            let (base, _) = admin_url.rsplit_once('/').expect("the PostgreSQL URL ends with /DATABASE");
            format!("{base}/{name}")
        }
        _ => dir.join("qbsync-test.db").display().to_string(),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings {
        listen: "127.0.0.1:0".into(),
        database_url: test_database_url(dir.path()).await,
        workers: 2,
        db: DbOptions { max_connections: 5, acquire_timeout: Duration::from_secs(30) },
        ..Settings::default()
    };
    configure(&mut settings);
    let database_url = settings.database_url.clone();
    let app = Application::build(settings).await.expect("application starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    let db = app.db().clone();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());

    let org = catalog::create_organization(&db, "Sparkle Cleaning Co").await.unwrap();
    let conn = add_connection(&db, org.organization_id, "Main office").await;
    let token = add_token(&db, org.organization_id).await;
    TestApp { base, database_url, db, org_id: org.organization_id, token, conn, handle, _dir: dir }
}

pub async fn add_connection(db: &Db, organization_id: Uuid, name: &str) -> TestConnection {
    let password = secrets::new_password();
    let username = format!("qb-{}", Uuid::new_v4().simple());
    let conn = catalog::create_connection(
        db,
        catalog::NewConnection {
            organization_id,
            name,
            username: &username,
            password_hash: &secrets::hash_generated_secret(&password),
            company_file: "",
            run_every_minutes: 30,
            kind: catalog::ConnectionKind::Desktop,
        },
    )
    .await
    .unwrap();
    TestConnection { id: conn.connection_id, username, password }
}

pub async fn add_token(db: &Db, organization_id: Uuid) -> String {
    let token = secrets::new_api_token();
    catalog::create_api_token(db, organization_id, &secrets::sha256_hex(&token)).await.unwrap();
    token
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop the server without waiting for it: the test's runtime is about to end.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let handle = self.handle.clone();
            drop(runtime.spawn(async move { handle.stop(false).await }));
        }
    }
}

impl TestApp {
    pub fn sim_options(&self) -> SimOptions {
        SimOptions {
            url: format!("{}/qbwc", self.base),
            username: self.conn.username.clone(),
            password: self.conn.password.clone(),
            ..SimOptions::default()
        }
    }

    /// Runs one simulated Web Connector session against this server.
    pub async fn simulate(&self, quickbooks: FakeQuickBooks) -> (SimReport, FakeQuickBooks) {
        self.simulate_with(self.sim_options(), quickbooks).await
    }

    pub async fn simulate_with(
        &self,
        options: SimOptions,
        mut quickbooks: FakeQuickBooks,
    ) -> (SimReport, FakeQuickBooks) {
        tokio::task::spawn_blocking(move || {
            let report = simulate::run(&options, &mut quickbooks).expect("the simulated session runs");
            (report, quickbooks)
        })
        .await
        .unwrap()
    }

    /// One session over freshly generated data.
    pub async fn sync_company(&self, seed: u64, customers: usize, employees: usize) -> SimReport {
        let qb = FakeQuickBooks::new(Dataset::generate(seed, customers, employees), Faults::default());
        self.simulate(qb).await.0
    }

    /// POSTs a raw SOAP envelope; returns the status, the content type and the body.
    pub async fn soap(&self, action: &str, body: impl Into<Vec<u8>>) -> (u16, String, String) {
        self.soap_sent(action, body, false).await
    }

    /// Like [`Self::soap`], but the body goes chunked, without a Content-Length: the server
    /// then streams it through its parser thread whatever its size.
    pub async fn soap_chunked(&self, action: &str, body: impl Into<Vec<u8>>) -> (u16, String, String) {
        self.soap_sent(action, body, true).await
    }

    async fn soap_sent(&self, action: &str, body: impl Into<Vec<u8>>, chunked: bool) -> (u16, String, String) {
        let url = format!("{}/qbwc", self.base);
        let action = action.to_string();
        let body: Vec<u8> = body.into();
        tokio::task::spawn_blocking(move || {
            let mut req = ureq::post(&url).set("Content-Type", "text/xml; charset=utf-8");
            if !action.is_empty() {
                req = req.set("SOAPAction", &format!("\"http://developer.intuit.com/{action}\""));
            }
            let sent = if chunked { req.send(&body[..]) } else { req.send_bytes(&body) };
            let res = match sent {
                Ok(res) => res,
                Err(ureq::Error::Status(_, res)) => res,
                Err(err) => panic!("request failed: {err}"),
            };
            let status = res.status();
            let content_type = res.header("Content-Type").unwrap_or_default().to_string();
            (status, content_type, res.into_string().unwrap())
        })
        .await
        .unwrap()
    }

    /// GET with the organization's API token; returns status and JSON.
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        self.get_json_as(path, Some(&self.token)).await
    }

    pub async fn get_json_as(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let (status, _, body) = self.get_as(path, token).await;
        (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
    }

    pub async fn get_as(&self, path: &str, token: Option<&str>) -> (u16, String, String) {
        let url = format!("{}{}", self.base, path);
        let token = token.map(str::to_string);
        tokio::task::spawn_blocking(move || {
            let mut req = ureq::get(&url);
            if let Some(token) = token {
                req = req.set("Authorization", &format!("Bearer {token}"));
            }
            let res = match req.call() {
                Ok(res) => res,
                Err(ureq::Error::Status(_, res)) => res,
                Err(err) => panic!("request failed: {err}"),
            };
            let status = res.status();
            let content_type = res.header("Content-Type").unwrap_or_default().to_string();
            (status, content_type, res.into_string().unwrap())
        })
        .await
        .unwrap()
    }

    /// Every staged customer of the organization (follows the cursor).
    pub async fn all_customers(&self, query: &str) -> Vec<Value> {
        self.all_pages("/api/v1/qb/customers", query).await
    }

    pub async fn all_employees(&self, query: &str) -> Vec<Value> {
        self.all_pages("/api/v1/qb/employees", query).await
    }

    async fn all_pages(&self, path: &str, query: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{path}?limit=500");
            if !query.is_empty() {
                url.push('&');
                url.push_str(query);
            }
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let (status, page) = self.get_json(&url).await;
            assert_eq!(status, 200, "{page}");
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => return items,
            }
        }
    }

    /// Asks for a full run next time (as `PATCH ... {"full_refresh_next_run": true}` does).
    pub async fn request_full_refresh(&self) {
        let changes =
            qbsync::store::catalog::ConnectionChanges { full_refresh_next_run: Some(true), ..Default::default() };
        qbsync::store::catalog::update_connection(&self.db, self.org_id, self.conn.id, &changes).await.unwrap();
    }

    /// The connection's runs, newest first.
    pub async fn runs(&self) -> Vec<Value> {
        let (status, body) = self.get_json(&format!("/api/v1/connections/{}/runs", self.conn.id)).await;
        assert_eq!(status, 200, "{body}");
        body["items"].as_array().unwrap().clone()
    }
}

/// A SOAP 1.1 request envelope for a QBWC method, as the Web Connector writes it.
pub fn envelope(method: &str, params: &[(&str, &str)]) -> String {
    let mut inner = String::new();
    for (name, value) in params {
        let escaped = quick_xml::escape::escape(*value);
        inner.push_str(&format!("<{name}>{escaped}</{name}>"));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">\
         <soap:Body><{method} xmlns=\"http://developer.intuit.com/\">{inner}</{method}></soap:Body></soap:Envelope>"
    )
}

/// The text of the first element with this local name in an XML document.
pub fn element_text(xml: &str, local_name: &str) -> Option<String> {
    let open_plain = format!("<{local_name}>");
    let start = xml.find(&open_plain).map(|i| i + open_plain.len()).or_else(|| {
        let needle = format!(":{local_name}>");
        xml.find(&needle).map(|i| i + needle.len())
    })?;
    let rest = &xml[start..];
    let end = rest.find("</")?;
    Some(quick_xml::escape::unescape(&rest[..end]).ok()?.into_owned())
}

/// Every `<string>` of an authenticate answer.
pub fn auth_strings(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    loop {
        let (open, close) = ("<string>", "</string>");
        let empty = rest.find("<string />").or_else(|| rest.find("<string/>"));
        let full = rest.find(open);
        match (full, empty) {
            (Some(f), e) if e.is_none_or(|e| f < e) => {
                let after = &rest[f + open.len()..];
                let end = after.find(close).unwrap();
                out.push(quick_xml::escape::unescape(&after[..end]).unwrap().into_owned());
                rest = &after[end + close.len()..];
            }
            (_, Some(e)) => {
                out.push(String::new());
                rest = &rest[e + 8..];
            }
            _ => return out,
        }
    }
}

/// Logs in over SOAP and returns the ticket.
pub async fn authenticate(app: &TestApp) -> String {
    let (status, _, body) = app
        .soap(
            "authenticate",
            envelope("authenticate", &[("strUserName", &app.conn.username), ("strPassword", &app.conn.password)]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let strings = auth_strings(&body);
    assert_eq!(strings.len(), 2, "{body}");
    assert_eq!(strings[1], "");
    strings[0].clone()
}

/// A sendRequestXML for `ticket` as the Web Connector sends its first one (no HCP response, the
/// open company file, qbXML 13.0 in the US): status, content type and body.
pub async fn send_request_xml(app: &TestApp, ticket: &str) -> (u16, String, String) {
    app.soap(
        "sendRequestXML",
        envelope(
            "sendRequestXML",
            &[
                ("ticket", ticket),
                ("strHCPResponse", ""),
                ("strCompanyFileName", ""),
                ("qbXMLCountry", "US"),
                ("qbXMLMajorVers", "13"),
                ("qbXMLMinorVers", "0"),
            ],
        ),
    )
    .await
}

/// How a JSON API request authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Bearer(String),
    /// The session cookie's value, and the CSRF token to send (if any).
    Session {
        cookie: String,
        csrf: Option<String>,
    },
}

/// An API answer: status, JSON body (or the text as a JSON string), and headers.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub json: Value,
    pub headers: Vec<(String, String)>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl TestApp {
    pub fn bearer(&self) -> Auth {
        Auth::Bearer(self.token.clone())
    }

    /// Any request with a JSON body (or raw text when `raw` is given).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>, auth: &Auth) -> Answer {
        self.call_raw(method, path, body.map(|b| b.to_string()), auth).await
    }

    pub async fn call_raw(&self, method: &str, path: &str, body: Option<String>, auth: &Auth) -> Answer {
        let url = format!("{}{}", self.base, path);
        let (method, auth) = (method.to_string(), auth.clone());
        tokio::task::spawn_blocking(move || {
            let agent = ureq::AgentBuilder::new().redirects(0).build();
            let mut req = agent.request(&method, &url);
            match &auth {
                Auth::None => {}
                Auth::Bearer(token) => req = req.set("Authorization", &format!("Bearer {token}")),
                Auth::Session { cookie, csrf } => {
                    req = req.set("Cookie", &format!("qbsync_session={cookie}"));
                    if let Some(csrf) = csrf {
                        req = req.set("X-CSRF-Token", csrf);
                    }
                }
            }
            let result = match body {
                Some(body) => req.set("Content-Type", "application/json").send_string(&body),
                None => req.call(),
            };
            let res = match result {
                Ok(res) => res,
                Err(ureq::Error::Status(_, res)) => res,
                Err(err) => panic!("request failed: {err}"),
            };
            let status = res.status();
            let headers = res
                .headers_names()
                .into_iter()
                .flat_map(|name| res.all(&name).into_iter().map(|v| (name.clone(), v.to_string())).collect::<Vec<_>>())
                .collect();
            let text = res.into_string().unwrap_or_default();
            let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
            Answer { status, json, headers }
        })
        .await
        .unwrap()
    }

    /// Creates an admin in the app's organization and signs in through `POST /admin/login`.
    pub async fn sign_in(&self) -> Auth {
        let email = format!("admin-{}@sparkle.example", Uuid::new_v4().simple());
        let password = "correct horse battery staple";
        catalog::create_admin(&self.db, self.org_id, &email, &secrets::hash_password(password)).await.unwrap();
        let answer = self
            .call(
                "POST",
                "/admin/login",
                Some(serde_json::json!({ "email": email, "password": password })),
                &Auth::None,
            )
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.json);
        session_from(&answer)
    }
}

/// The session a login or setup answer opened.
pub fn session_from(answer: &Answer) -> Auth {
    let cookie = answer
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, v)| v.strip_prefix("qbsync_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("a session cookie");
    Auth::Session { cookie, csrf: answer.json["csrf_token"].as_str().map(str::to_string) }
}

/// Another server process's worth of application on the same database; returns its base URL.
pub async fn spawn_second_server(app: &TestApp, configure: impl FnOnce(&mut Settings)) -> (String, ServerHandle) {
    let mut settings = Settings {
        listen: "127.0.0.1:0".into(),
        database_url: app.database_url.clone(),
        workers: 2,
        db: DbOptions { max_connections: 5, acquire_timeout: Duration::from_secs(30) },
        ..Settings::default()
    };
    configure(&mut settings);
    let second = Application::build(settings).await.expect("second server starts");
    let base = format!("http://127.0.0.1:{}", second.port());
    let handle = second.handle();
    tokio::spawn(second.run_until_stopped());
    (base, handle)
}

/// How many rows a table holds (for internal bookkeeping that the API does not show).
pub async fn count_rows(db: &Db, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    match db {
        Db::Sqlite(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await.unwrap(),
    }
}
