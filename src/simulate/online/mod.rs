//! A local fake of Intuit's QuickBooks Online OAuth 2.0 endpoints and Accounting API, serving a
//! company made from a [`Dataset`], for tests and for `qbsync simulate-online`. No test reaches
//! Intuit: point the product's `QBSYNC_QBO_*_URL` settings at [`FakeIntuit`] instead.
//!
//! It behaves like Intuit where a client can get it wrong (see `shared/guide/qbo-api.md`):
//! the consent redirect with `code`, `state` and `realmId`; single-use codes bound to their
//! redirect URI; HTTP Basic client credentials; refresh-token rotation, stricter than Intuit (the
//! previous refresh token dies at once instead of after 24 hours); 401 with the gateway's
//! lower-camel body (code 3200) for a missing, expired or revoked access token; 403 (3100) for
//! another realm; `invalid_grant` once the user disconnects the app; 429 over 10 requests in
//! flight or 500 a minute; paging of the query language subset (1-based, 1000 at most, active
//! only by default, not in Id order unless asked); CDC with `Deleted` stubs, the 30-day window
//! and the object cap; `time` and `intuit_tid` on every answer; times in the company's offset
//! (US Pacific, with daylight saving). Faults on request: [`FakeIntuit::throttle_next`],
//! [`FakeIntuit::fail_next`], [`FakeIntuit::expire_access_tokens`], [`FakeIntuit::revoke_grant`].
//!
//! * [`clock`]: times as QuickBooks Online writes them.
//! * [`company`]: the company, its changes and its JSON.
//! * [`query`]: the query-language subset parser.
//! * [`auth`]: codes, grants and tokens.
//! * [`webhook`]: change notifications (legacy and CloudEvents) and their signature.
//! * [`xml`]: the XML form of an answer, for a request without `Accept: application/json`.
//! * [`server`]: the actix-web handlers, including the `/_fake` control surface.
//!
//! The fake runs its own actix System on its own thread, so it works from a `#[tokio::test]`,
//! a plain thread or the command line alike.

pub mod auth;
pub mod clock;
pub mod company;
pub mod query;
pub mod server;
pub mod webhook;
pub mod xml;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;

use self::auth::AuthState;
use self::company::{Company, CompanyError};
pub use self::query::Entity;
pub use self::webhook::{WebhookChange, WebhookFormat};
use crate::simulate::Dataset;

/// How the fake behaves. [`Default`] gives Intuit's numbers.
#[derive(Clone, Debug)]
pub struct FakeIntuitConfig {
    /// The app's client id, checked on the authorization page and the token endpoint.
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: String,
    /// The company's realm id, e.g. `9341453081237412`.
    pub realm_id: String,
    /// The company's name in CompanyInfo; empty means the Dataset's own name.
    pub company_name: String,
    /// Verifier token used to sign webhooks (`None`: webhooks are delivered unsigned and
    /// [`FakeIntuit::sign`] signs with an empty key).
    pub webhook_token: Option<String>,
    /// Lifetime of an access token (Intuit: one hour).
    pub access_token_ttl: Duration,
    /// `true`: the authorization GET redirects at once. `false`: a consent page with Connect and
    /// Cancel buttons.
    pub auto_consent: bool,
    /// API requests per minute per realm (Intuit: 500).
    pub minute_limit: u32,
    /// API requests in flight per realm (Intuit: 10).
    pub concurrency_limit: u32,
    /// Most objects one CDC answer holds (Intuit: 1000).
    pub cdc_max_objects: usize,
    /// Added to every API request before it is answered (zero by default), so requests overlap
    /// and the concurrency limit can be met.
    pub api_latency: Duration,
    /// Where to POST a signed webhook for every change (none by default).
    pub webhook_url: Option<String>,
    /// The body format of delivered webhooks.
    pub webhook_format: WebhookFormat,
}

impl Default for FakeIntuitConfig {
    fn default() -> Self {
        FakeIntuitConfig {
            client_id: "ABfakeClientId0qbsync".to_string(),
            client_secret: "fakeClientSecret0qbsync".to_string(),
            realm_id: "9341453081237412".to_string(),
            company_name: String::new(),
            webhook_token: Some("fake-verifier-token-0qbsync".to_string()),
            access_token_ttl: Duration::from_secs(3600),
            auto_consent: true,
            minute_limit: 500,
            concurrency_limit: 10,
            cdc_max_objects: 1000,
            api_latency: Duration::ZERO,
            webhook_url: None,
            webhook_format: WebhookFormat::CloudEvents,
        }
    }
}

/// Counters of what the fake was asked, for assertions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FakeIntuitStats {
    /// Successful authorization-code exchanges.
    pub code_exchanges: u64,
    /// Successful refreshes.
    pub refreshes: u64,
    /// Refreshes answered `invalid_grant`.
    pub failed_refreshes: u64,
    /// Revoke requests accepted.
    pub revocations: u64,
    /// Every request to `/v3/company/...`, answered or refused.
    pub api_requests: u64,
    /// Query requests that got past the gate (parsed or not).
    pub queries: u64,
    /// CDC requests that got past the gate.
    pub cdc_requests: u64,
    /// API requests answered 429.
    pub throttled: u64,
    /// API requests answered 500 by [`FakeIntuit::fail_next`].
    pub failed: u64,
    /// Most API requests seen in flight at once.
    pub max_in_flight: u64,
    /// Webhooks delivered with a 2xx answer.
    pub webhooks_delivered: u64,
    /// Webhooks whose delivery failed.
    pub webhooks_failed: u64,
}

#[derive(Default)]
struct Counters {
    code_exchanges: AtomicU64,
    refreshes: AtomicU64,
    failed_refreshes: AtomicU64,
    revocations: AtomicU64,
    api_requests: AtomicU64,
    queries: AtomicU64,
    cdc_requests: AtomicU64,
    throttled: AtomicU64,
    failed: AtomicU64,
    max_in_flight: AtomicU64,
    webhooks_delivered: AtomicU64,
    webhooks_failed: AtomicU64,
}

/// Everything the handlers share.
pub(crate) struct State {
    config: FakeIntuitConfig,
    company: Mutex<Company>,
    auth: Mutex<AuthState>,
    /// Added to the system clock: [`FakeIntuit::advance_clock`].
    clock_offset_ms: AtomicI64,
    throttle_next: AtomicUsize,
    fail_next: AtomicUsize,
    in_flight: AtomicU32,
    /// Times of the API requests let through in the last minute.
    minute_window: Mutex<VecDeque<i64>>,
    counters: Arc<Counters>,
}

impl State {
    fn now_ms(&self) -> i64 {
        clock::system_now_ms() + self.clock_offset_ms.load(Ordering::SeqCst)
    }

    fn company_name(&self) -> String {
        let company = self.company.lock().expect("company lock");
        self.company_name_of(&company)
    }

    fn company_name_of(&self, company: &Company) -> String {
        if self.config.company_name.is_empty() { company.name.clone() } else { self.config.company_name.clone() }
    }

    fn stats(&self) -> FakeIntuitStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
        FakeIntuitStats {
            code_exchanges: get(&c.code_exchanges),
            refreshes: get(&c.refreshes),
            failed_refreshes: get(&c.failed_refreshes),
            revocations: get(&c.revocations),
            api_requests: get(&c.api_requests),
            queries: get(&c.queries),
            cdc_requests: get(&c.cdc_requests),
            throttled: get(&c.throttled),
            failed: get(&c.failed),
            max_in_flight: get(&c.max_in_flight),
            webhooks_delivered: get(&c.webhooks_delivered),
            webhooks_failed: get(&c.webhooks_failed),
        }
    }

    fn customers(&self) -> Vec<serde_json::Value> {
        let company = self.company.lock().expect("company lock");
        let ctx = company.render_ctx();
        company
            .customer_ids()
            .filter_map(|id| company.customer(id))
            .map(|c| serde_json::to_value(company.customer_json(c, &ctx)).expect("plain data"))
            .collect()
    }

    fn employees(&self) -> Vec<serde_json::Value> {
        let company = self.company.lock().expect("company lock");
        let query = query::parse("SELECT * FROM Employee WHERE Active IN (true,false) ORDERBY Id MAXRESULTS 1000")
            .expect("a fixed statement");
        let mut out = Vec::new();
        let mut start = 1;
        loop {
            let q = query::Query { start_position: start, ..query.clone() };
            let ctx = company.render_ctx();
            let company::QueryAnswer::Page { rows: company::Rows::Employees(rows), .. } = company.query(&q, &ctx)
            else {
                break;
            };
            let n = rows.len();
            out.extend(rows.into_iter().map(|e| serde_json::to_value(e).expect("plain data")));
            if n < q.max_results {
                break;
            }
            start += n;
        }
        out
    }

    fn expire_access_tokens(&self) {
        self.auth.lock().expect("auth lock").expire_all_access(self.now_ms());
    }

    fn add_customer(&self, display_name: &str, parent: Option<u64>) -> Result<u64, CompanyError> {
        let id = self.company.lock().expect("company lock").add_customer(display_name, parent, self.now_ms())?;
        self.announce(&[WebhookChange::new("Customer", id.to_string(), "Create")]);
        Ok(id)
    }

    fn rename_customer(&self, id: u64, display_name: &str) -> Result<Vec<u64>, CompanyError> {
        let changed = self.company.lock().expect("company lock").rename_customer(id, display_name, self.now_ms())?;
        self.announce_all("Customer", &changed, "Update");
        Ok(changed)
    }

    fn set_customer_active(&self, id: u64, active: bool) -> Result<Vec<u64>, CompanyError> {
        let changed = self.company.lock().expect("company lock").set_customer_active(id, active, self.now_ms())?;
        self.announce_all("Customer", &changed, "Update");
        Ok(changed)
    }

    fn delete_customer(&self, id: u64) -> Result<Vec<u64>, CompanyError> {
        let gone = self.company.lock().expect("company lock").delete_customer(id, self.now_ms())?;
        self.announce_all("Customer", &gone, "Delete");
        Ok(gone)
    }

    fn add_employee(&self, display_name: &str) -> Result<u64, CompanyError> {
        let id = self.company.lock().expect("company lock").add_employee(display_name, self.now_ms())?;
        self.announce(&[WebhookChange::new("Employee", id.to_string(), "Create")]);
        Ok(id)
    }

    fn set_employee_active(&self, id: u64, active: bool) -> Result<bool, CompanyError> {
        let changed = self.company.lock().expect("company lock").set_employee_active(id, active, self.now_ms())?;
        if changed {
            self.announce(&[WebhookChange::new("Employee", id.to_string(), "Update")]);
        }
        Ok(changed)
    }

    fn delete_employee(&self, id: u64) -> Result<(), CompanyError> {
        self.company.lock().expect("company lock").delete_employee(id, self.now_ms())?;
        self.announce(&[WebhookChange::new("Employee", id.to_string(), "Delete")]);
        Ok(())
    }

    fn announce_all(&self, entity: &str, ids: &[u64], operation: &str) {
        let changes: Vec<WebhookChange> =
            ids.iter().map(|id| WebhookChange::new(entity, id.to_string(), operation)).collect();
        self.announce(&changes);
    }

    fn webhook_body(&self, format: WebhookFormat, changes: &[WebhookChange]) -> Vec<u8> {
        match format {
            WebhookFormat::CloudEvents => webhook::cloudevents_body(&self.config.realm_id, changes, self.now_ms()),
            WebhookFormat::Legacy => webhook::legacy_body(&self.config.realm_id, changes, self.now_ms()),
        }
    }

    fn sign(&self, body: &[u8]) -> String {
        webhook::sign(self.config.webhook_token.as_deref().unwrap_or_default(), body)
    }

    /// Delivers a webhook for the changes when a URL is configured, on a thread of its own (as
    /// Intuit does, later and independently of the change).
    fn announce(&self, changes: &[WebhookChange]) {
        let Some(url) = self.config.webhook_url.clone() else {
            return;
        };
        if changes.is_empty() {
            return;
        }
        let format = self.config.webhook_format;
        let body = self.webhook_body(format, changes);
        let signature = self.config.webhook_token.as_ref().map(|_| self.sign(&body));
        let counters = Arc::clone(&self.counters);
        let spawned = std::thread::Builder::new().name("fake-intuit-webhook".into()).spawn(move || {
            let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).redirects(0).build();
            let mut request = agent.post(&url).set("Content-Type", format.content_type());
            if let Some(signature) = &signature {
                request = request.set("intuit-signature", signature);
            }
            match request.send_bytes(&body) {
                Ok(_) => counters.webhooks_delivered.fetch_add(1, Ordering::SeqCst),
                Err(err) => {
                    tracing::warn!(%url, error = %err, "the fake's webhook delivery failed");
                    counters.webhooks_failed.fetch_add(1, Ordering::SeqCst)
                }
            };
        });
        if spawned.is_err() {
            self.counters.webhooks_failed.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Stops the server when the last [`FakeIntuit`] handle goes.
struct Running {
    state: Arc<State>,
    base_url: String,
    server: actix_web::dev::ServerHandle,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Running {
    fn stop(&self) {
        let thread = self.thread.lock().expect("thread lock").take();
        if let Some(thread) = thread {
            // The stop command is sent when `stop` is called; the returned future only waits.
            drop(self.server.stop(false));
            let _ = thread.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running fake of Intuit. Cheap to clone; the server stops with the last clone, or at
/// [`FakeIntuit::stop`].
///
/// The change methods (`add_customer` and the rest) are test helpers: they panic, with Intuit's
/// reason, on an unknown Id or a name another customer or employee already has. The `/_fake`
/// control surface answers the same mistakes with a 4xx instead.
#[derive(Clone)]
pub struct FakeIntuit {
    running: Arc<Running>,
}

impl std::fmt::Debug for FakeIntuit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeIntuit").field("base_url", &self.running.base_url).finish_non_exhaustive()
    }
}

fn expect_ok<T>(result: Result<T, CompanyError>, what: &str) -> T {
    result.unwrap_or_else(|err| panic!("FakeIntuit::{what}: {err} (Intuit code {})", err.code()))
}

fn parse_id(id: &str) -> u64 {
    id.parse().unwrap_or_else(|_| panic!("FakeIntuit: {id:?} is not an Id"))
}

impl FakeIntuit {
    /// Serves on `listen` (e.g. `127.0.0.1:0`) on its own thread with its own actix System.
    pub fn start(listen: &str, config: FakeIntuitConfig, data: Dataset) -> std::io::Result<FakeIntuit> {
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let host = if addr.ip().is_unspecified() { "127.0.0.1".to_string() } else { addr.ip().to_string() };
        let host = if addr.is_ipv6() && !addr.ip().is_unspecified() { format!("[{host}]") } else { host };
        let base_url = format!("http://{host}:{}", addr.port());
        let company = Company::from_dataset(&data, &data.company_name);
        let state = Arc::new(State {
            auth: Mutex::new(AuthState::new(config.access_token_ttl.as_millis() as i64)),
            config,
            company: Mutex::new(company),
            clock_offset_ms: AtomicI64::new(0),
            throttle_next: AtomicUsize::new(0),
            fail_next: AtomicUsize::new(0),
            in_flight: AtomicU32::new(0),
            minute_window: Mutex::new(VecDeque::new()),
            counters: Arc::new(Counters::default()),
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let server_state = Arc::clone(&state);
        let thread = std::thread::Builder::new().name("fake-intuit".into()).spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                match server::build(listener, server_state) {
                    Ok(server) => {
                        let _ = tx.send(Ok(server.handle()));
                        if let Err(err) = server.await {
                            tracing::warn!(error = %err, "the fake Intuit server stopped with an error");
                        }
                    }
                    Err(err) => {
                        let _ = tx.send(Err(err));
                    }
                }
            });
        })?;
        let server = match rx.recv() {
            Ok(result) => result?,
            Err(_) => return Err(std::io::Error::other("the fake Intuit server thread ended before serving")),
        };
        Ok(FakeIntuit { running: Arc::new(Running { state, base_url, server, thread: Mutex::new(Some(thread)) }) })
    }

    /// Stops serving (also done when the last handle is dropped).
    pub fn stop(&self) {
        self.running.stop();
    }

    fn state(&self) -> &State {
        &self.running.state
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.running.base_url.clone()
    }

    /// The authorization (consent) endpoint: `{base}/connect/oauth2`.
    pub fn auth_url(&self) -> String {
        format!("{}/connect/oauth2", self.running.base_url)
    }

    /// The token endpoint: `{base}/oauth2/v1/tokens/bearer`.
    pub fn token_url(&self) -> String {
        format!("{}/oauth2/v1/tokens/bearer", self.running.base_url)
    }

    /// The revoke endpoint: `{base}/v2/oauth2/tokens/revoke`.
    pub fn revoke_url(&self) -> String {
        format!("{}/v2/oauth2/tokens/revoke", self.running.base_url)
    }

    /// The API base: `{base}`; paths are `/v3/company/{realmId}/...`.
    pub fn api_url(&self) -> String {
        self.running.base_url.clone()
    }

    /// The company's realm id.
    pub fn realm_id(&self) -> String {
        self.state().config.realm_id.clone()
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &FakeIntuitConfig {
        &self.state().config
    }

    /// Every customer (inactive ones too), in Id order, exactly as a full query returns it.
    pub fn customers(&self) -> Vec<serde_json::Value> {
        self.state().customers()
    }

    /// Every employee (inactive ones too), in Id order, exactly as a full query returns it.
    pub fn employees(&self) -> Vec<serde_json::Value> {
        self.state().employees()
    }

    /// Adds a customer, or a job of `parent_id`; returns its Id.
    pub fn add_customer(&self, display_name: &str, parent_id: Option<&str>) -> String {
        let parent = parent_id.map(parse_id);
        expect_ok(self.state().add_customer(display_name, parent), "add_customer").to_string()
    }

    /// Renames a customer; its jobs' FullyQualifiedName follows and they are updated too.
    pub fn rename_customer(&self, id: &str, display_name: &str) {
        expect_ok(self.state().rename_customer(parse_id(id), display_name), "rename_customer");
    }

    /// Makes a customer active or inactive (inactive: its jobs too).
    pub fn set_customer_active(&self, id: &str, active: bool) {
        expect_ok(self.state().set_customer_active(parse_id(id), active), "set_customer_active");
    }

    /// Deletes a customer and its jobs: gone from queries, `Deleted` in CDC (like a merge).
    pub fn delete_customer(&self, id: &str) {
        expect_ok(self.state().delete_customer(parse_id(id)), "delete_customer");
    }

    /// Adds an employee; returns its Id.
    pub fn add_employee(&self, display_name: &str) -> String {
        expect_ok(self.state().add_employee(display_name), "add_employee").to_string()
    }

    /// Makes an employee active or inactive.
    pub fn set_employee_active(&self, id: &str, active: bool) {
        expect_ok(self.state().set_employee_active(parse_id(id), active), "set_employee_active");
    }

    /// Deletes an employee: gone from queries, `Deleted` in CDC.
    pub fn delete_employee(&self, id: &str) {
        expect_ok(self.state().delete_employee(parse_id(id)), "delete_employee");
    }

    /// Every access token issued so far answers 401 (code 3200) from now on; refresh tokens
    /// still work.
    pub fn expire_access_tokens(&self) {
        self.state().expire_access_tokens();
    }

    /// The user disconnected the app in QuickBooks: refreshing answers `invalid_grant`, the API
    /// 401. A new authorization starts a new grant.
    pub fn revoke_grant(&self) {
        self.state().auth.lock().expect("auth lock").revoke_all();
    }

    /// The next `n` API requests answer 429 (replaces any count left).
    pub fn throttle_next(&self, n: usize) {
        self.state().throttle_next.store(n, Ordering::SeqCst);
    }

    /// The next `n` API requests (that pass throttling and authentication) answer 500 with a
    /// SystemFault body (replaces any count left).
    pub fn fail_next(&self, n: usize) {
        self.state().fail_next.store(n, Ordering::SeqCst);
    }

    /// Moves the fake's clock forward (token and code expiry, timestamps of changes, the CDC
    /// window), without waiting.
    pub fn advance_clock(&self, by: Duration) {
        self.state().clock_offset_ms.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }

    /// What the fake was asked so far.
    pub fn stats(&self) -> FakeIntuitStats {
        self.state().stats()
    }

    /// A legacy webhook body for the changes, as Intuit sends it.
    pub fn webhook_legacy(&self, changes: &[WebhookChange]) -> Vec<u8> {
        self.state().webhook_body(WebhookFormat::Legacy, changes)
    }

    /// A CloudEvents webhook body for the changes, as Intuit sends it.
    pub fn webhook_cloudevents(&self, changes: &[WebhookChange]) -> Vec<u8> {
        self.state().webhook_body(WebhookFormat::CloudEvents, changes)
    }

    /// The `intuit-signature` of a body: base64(HMAC-SHA256(webhook_token, body)).
    pub fn sign(&self, body: &[u8]) -> String {
        self.state().sign(body)
    }
}
