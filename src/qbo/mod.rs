//! QuickBooks Online: connecting a company with OAuth 2.0, keeping its tokens fresh, and pulling
//! its customers and employees into the same staging tables the Web Connector fills.
//!
//! - `json`, `webhook`: Intuit's JSON and notifications, read into qbsync's values. Pure.
//! - `oauth`: the consent URL and the token endpoint; `transport`: the HTTP calls (blocking
//!   `ureq` on the blocking pool).
//! - `tokens`: a connection's access token, refreshed under a lease held in the database, so
//!   that of any number of processes exactly one refreshes.
//! - `pull`: one pull (a run like a Web Connector run): full pages or Change Data Capture.
//! - `limits`: Intuit's per-company request limits, per process.
//!
//! Every piece of state lives in the database (states, tokens, queued pulls, runs): any process
//! may take the callback, refresh a token or run a queued pull.

pub mod json;
mod limits;
pub mod oauth;
mod pull;
pub mod tokens;
pub mod transport;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use uuid::Uuid;

use crate::secrets;
use crate::store::catalog::{Connection, ConnectionKind, OnlineStatus};
use crate::store::runs::{self, Outcome, Run, RunState, Trigger};
use crate::store::{Db, StoreError, online};
use crate::vault::Vault;

pub use pull::Lists;

/// Intuit's endpoints, used unless replaced.
pub const INTUIT_AUTH_URL: &str = "https://appcenter.intuit.com/connect/oauth2";
pub const INTUIT_TOKEN_URL: &str = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer";
pub const INTUIT_REVOKE_URL: &str = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke";
pub const INTUIT_API_PRODUCTION: &str = "https://quickbooks.api.intuit.com";
pub const INTUIT_API_SANDBOX: &str = "https://sandbox-quickbooks.api.intuit.com";

/// How long an OAuth state may wait for its callback.
const STATE_LIFETIME: chrono::Duration = chrono::Duration::minutes(10);

/// Intuit's two environments: they differ in API host and in the app's keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Environment {
    #[default]
    Production,
    Sandbox,
}

impl std::str::FromStr for Environment {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "production" => Ok(Environment::Production),
            "sandbox" => Ok(Environment::Sandbox),
            other => Err(format!("QuickBooks Online environment must be production or sandbox, not {other:?}")),
        }
    }
}

/// QuickBooks Online settings (`QBSYNC_QBO_*`).
#[derive(Clone, Debug)]
pub struct QboSettings {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub environment: Environment,
    pub webhook_token: Option<String>,
    pub auth_url: Option<String>,
    pub token_url: Option<String>,
    pub revoke_url: Option<String>,
    pub api_url: Option<String>,
    /// The Accounting API's `minorversion`, fixed.
    pub minor_version: u32,
    /// Records per query page (Intuit's most: 1,000).
    pub page_size: u64,
    /// Wait after a 429 that says nothing of when to come back (Intuit: a minute).
    pub throttle_wait: Duration,
    /// First wait after a server error; it doubles each time.
    pub retry_wait: Duration,
    /// Tries of one request before its pull fails.
    pub attempts: u32,
    /// How often each process looks for pulls queued by webhooks (a webhook to this process
    /// starts at once).
    pub poll_interval: Duration,
    /// Objects in one Change Data Capture answer beyond which it is taken as cut short.
    pub cdc_max_objects: usize,
    /// Intuit's limits per company: requests a minute and at once (kept per process).
    pub requests_per_minute: u32,
    pub max_in_flight: u32,
}

impl Default for QboSettings {
    fn default() -> Self {
        QboSettings {
            client_id: None,
            client_secret: None,
            environment: Environment::Production,
            webhook_token: None,
            auth_url: None,
            token_url: None,
            revoke_url: None,
            api_url: None,
            minor_version: 75,
            page_size: 1000,
            throttle_wait: Duration::from_secs(60),
            retry_wait: Duration::from_secs(2),
            attempts: 5,
            poll_interval: Duration::from_secs(5),
            cdc_max_objects: 1000,
            requests_per_minute: 500,
            max_in_flight: 10,
        }
    }
}

impl QboSettings {
    pub fn api_url(&self) -> String {
        let url = self.api_url.clone().unwrap_or_else(|| match self.environment {
            Environment::Production => INTUIT_API_PRODUCTION.into(),
            Environment::Sandbox => INTUIT_API_SANDBOX.into(),
        });
        url.trim_end_matches('/').to_string()
    }
}

/// Why an online-connection action could not be done; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum OnlineError {
    #[error(
        "QuickBooks Online is not enabled on this server: set QBSYNC_QBO_CLIENT_ID and QBSYNC_QBO_CLIENT_SECRET \
         (see the README's QuickBooks Online section)"
    )]
    Disabled,
    #[error("this is a QuickBooks Desktop connection: its lists arrive when the Web Connector runs")]
    Desktop,
    #[error("this connection is not connected to QuickBooks Online yet: connect it first")]
    NotConnected,
    #[error("QuickBooks Online no longer accepts this connection's authorization: reconnect it")]
    NeedsReconnect,
    #[error("a run of this connection is in progress; try again when it has ended")]
    Busy,
    #[error("{0}")]
    Callback(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The QuickBooks Online side of the server. Cheap to clone.
#[derive(Clone)]
pub struct Online {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    settings: QboSettings,
    /// Present when QuickBooks Online is enabled (a client id and secret, and a key).
    oauth: Option<oauth::Client>,
    vault: Option<Vault>,
    /// The Accounting API: Intuit ends a request after 120 s, so wait a little longer.
    transport: transport::Transport,
    /// The token endpoints: answers well within a refresh lease (`tokens::LEASE`), so a lease
    /// never runs out while its holder still waits for Intuit.
    oauth_transport: transport::Transport,
    limits: limits::Limits,
    stale_run: Duration,
    /// Wakes this process's worker when a pull was queued here.
    wake: tokio::sync::Notify,
    /// Names this process as a refresh-lease holder.
    process: String,
}

impl Online {
    /// `public_url` makes the redirect URI (`{public_url}/qbo/callback`); `stale_run` is how long
    /// a pull may go without a sign of life before it counts as dead.
    pub fn new(db: Db, settings: QboSettings, vault: Option<Vault>, public_url: &str, stale_run: Duration) -> Online {
        let oauth = match (&settings.client_id, &settings.client_secret, &vault) {
            (Some(id), Some(secret), Some(_)) if !id.is_empty() && !secret.is_empty() => Some(oauth::Client {
                client_id: id.clone(),
                client_secret: secret.clone(),
                auth_url: settings.auth_url.clone().unwrap_or_else(|| INTUIT_AUTH_URL.into()),
                token_url: settings.token_url.clone().unwrap_or_else(|| INTUIT_TOKEN_URL.into()),
                revoke_url: settings.revoke_url.clone().unwrap_or_else(|| INTUIT_REVOKE_URL.into()),
                redirect_uri: format!("{}/qbo/callback", public_url.trim_end_matches('/')),
            }),
            _ => None,
        };
        let limits = limits::Limits::new(settings.requests_per_minute, settings.max_in_flight);
        Online {
            inner: Arc::new(Inner {
                db,
                transport: transport::Transport::new(Duration::from_secs(15), Duration::from_secs(150)),
                oauth_transport: transport::Transport::new(Duration::from_secs(10), Duration::from_secs(25)),
                limits,
                oauth,
                vault,
                settings,
                stale_run,
                wake: tokio::sync::Notify::new(),
                process: format!("{}-{}", std::process::id(), Uuid::new_v4().simple()),
            }),
        }
    }

    /// Whether online connections can be made and used.
    pub fn enabled(&self) -> bool {
        self.inner.oauth.is_some()
    }

    fn oauth(&self) -> Result<&oauth::Client, OnlineError> {
        self.inner.oauth.as_ref().ok_or(OnlineError::Disabled)
    }

    fn vault(&self) -> Result<&Vault, OnlineError> {
        self.inner.vault.as_ref().ok_or(OnlineError::Disabled)
    }

    /// A consent URL for a connection: a new random state, single use, for ten minutes, bound
    /// to the organization, the connection and who asked (`admin:<id>` or `api-token`), and,
    /// given `browser` (a random value the asking browser keeps in a cookie), to that browser:
    /// the callback then completes only in it, so a consent link sent to someone else's browser
    /// cannot tie their QuickBooks company to this organization.
    pub async fn authorize_url(
        &self,
        conn: &Connection,
        requested_by: &str,
        browser: Option<&str>,
    ) -> Result<String, OnlineError> {
        let oauth = self.oauth()?;
        if conn.kind != ConnectionKind::Online {
            return Err(OnlineError::Desktop);
        }
        let state = secrets::new_ticket();
        let record = online::AuthState {
            organization_id: conn.organization_id,
            connection_id: conn.connection_id,
            requested_by: requested_by.to_string(),
            browser_hash: browser.map(secrets::sha256_hex),
        };
        online::add_auth_state(&self.inner.db, &secrets::sha256_hex(&state), &record, Utc::now() + STATE_LIFETIME)
            .await?;
        Ok(oauth.authorize_url(&state))
    }

    /// The end of an authorization (`/qbo/callback`): checks and uses the state, exchanges the
    /// code, reads the company's name, stores the realm and sealed tokens. Answers the
    /// connection's id (known once the state is), and the outcome.
    pub async fn finish_authorization(
        &self,
        state: Option<&str>,
        code: Option<&str>,
        realm_id: Option<&str>,
        error: Option<&str>,
        browser: Option<&str>,
    ) -> (Option<Uuid>, Result<(), OnlineError>) {
        let oauth = match self.oauth() {
            Ok(oauth) => oauth,
            Err(err) => return (None, Err(err)),
        };
        let Some(state) = state.filter(|s| !s.is_empty() && s.len() <= 200) else {
            return (None, Err(OnlineError::Callback("the answer from QuickBooks Online carried no state".into())));
        };
        let found = match online::use_auth_state(&self.inner.db, &secrets::sha256_hex(state)).await {
            Ok(found) => found,
            Err(err) => return (None, Err(err.into())),
        };
        let Some(found) = found else {
            return (
                None,
                Err(OnlineError::Callback(
                    "this QuickBooks Online authorization has expired or was already used: start it again from the \
                     connection"
                        .into(),
                )),
            );
        };
        let connection_id = Some(found.connection_id);
        if let Some(expected) = &found.browser_hash
            && browser.map(secrets::sha256_hex).as_ref() != Some(expected)
        {
            tracing::warn!(connection = %found.connection_id, "authorization completed in another browser: refused");
            return (
                connection_id,
                Err(OnlineError::Callback(
                    "this authorization was started in another browser (or its cookie is gone): start it again from \
                     the connection, in the browser that will grant access"
                        .into(),
                )),
            );
        }
        if let Some(error) = error {
            let message = if error == "access_denied" {
                "access to QuickBooks Online was not granted, so nothing changed; connect again to grant it".to_string()
            } else {
                format!("QuickBooks Online did not authorize the connection ({error}); nothing changed")
            };
            return (connection_id, Err(OnlineError::Callback(message)));
        }
        let (Some(code), Some(realm_id)) = (code.filter(|c| !c.is_empty()), realm_id.filter(|r| !r.is_empty())) else {
            return (
                connection_id,
                Err(OnlineError::Callback(
                    "the answer from QuickBooks Online lacked the code or the company id".into(),
                )),
            );
        };
        // Intuit's company ids are digits; anything else did not come from Intuit.
        if realm_id.len() > 32 || !realm_id.bytes().all(|b| b.is_ascii_digit()) {
            return (connection_id, Err(OnlineError::Callback("the company id in the answer is not Intuit's".into())));
        }
        let result = async {
            let tokens = oauth.exchange_code(&self.inner.oauth_transport, code).await.map_err(|err| {
                tracing::warn!(connection = %found.connection_id, error = %err, "code exchange failed");
                OnlineError::Callback(format!("QuickBooks Online did not complete the connection: {err}"))
            })?;
            let sealed = self.seal(found.connection_id, &tokens)?;
            let company = self.company_name(realm_id, &tokens.access_token).await;
            let stored = online::connect(&self.inner.db, found.connection_id, realm_id, company.as_deref(), &sealed).await;
            if let Err(err) = stored {
                // Not kept (e.g. another company than the connection's): give the grant back.
                if let Err(revoke) = oauth.revoke(&self.inner.oauth_transport, &tokens.refresh_token).await {
                    tracing::warn!(connection = %found.connection_id, error = %revoke, "revoking an unused grant failed");
                }
                return Err(err.into());
            }
            tracing::info!(connection = %found.connection_id, realm = realm_id, by = %found.requested_by, "QuickBooks Online connected");
            Ok(())
        }
        .await;
        (connection_id, result)
    }

    fn seal(&self, connection_id: Uuid, tokens: &oauth::Tokens) -> Result<online::SealedTokens, OnlineError> {
        tokens::seal(self.vault()?, connection_id, tokens)
    }

    /// The company's name, for display; None when Intuit does not say.
    async fn company_name(&self, realm_id: &str, access_token: &str) -> Option<String> {
        let url = format!(
            "{}/v3/company/{realm_id}/companyinfo/{realm_id}?minorversion={}",
            self.inner.settings.api_url(),
            self.inner.settings.minor_version
        );
        let request = api_request(url, access_token);
        match self.inner.transport.send_async(request).await {
            Ok(answer) if answer.is_success() => json::company_name(&answer.body).ok().flatten(),
            Ok(answer) => {
                tracing::warn!(status = answer.status, intuit_tid = ?answer.intuit_tid, "CompanyInfo refused");
                None
            }
            Err(err) => {
                tracing::warn!(error = %err, "CompanyInfo unreachable");
                None
            }
        }
    }

    /// Disconnect: revokes the grant at Intuit and forgets the tokens, whatever Intuit says.
    /// Staged records and links stay. Answers whether Intuit confirmed the revocation.
    pub async fn disconnect(&self, conn: &Connection) -> Result<bool, OnlineError> {
        if conn.kind != ConnectionKind::Online {
            return Err(OnlineError::Desktop);
        }
        let mut revoked = false;
        if let (Ok(oauth), Some(row)) = (self.oauth(), online::token_row(&self.inner.db, conn.connection_id).await?) {
            let token = self.vault()?.open(&row.refresh_token, &tokens::context("refresh", conn.connection_id));
            match token {
                Ok(token) => match oauth.revoke(&self.inner.oauth_transport, &token).await {
                    Ok(()) => revoked = true,
                    Err(err) => tracing::warn!(connection = %conn.connection_id, error = %err, "revocation failed"),
                },
                Err(err) => tracing::warn!(connection = %conn.connection_id, error = %err, "token unreadable"),
            }
        }
        online::drop_tokens(&self.inner.db, conn.connection_id, OnlineStatus::Pending).await?;
        Ok(revoked)
    }

    /// Starts a pull now (202 for the API): a run in the history, executed in the background.
    pub async fn start_pull(&self, conn: &Connection, lists: Lists, trigger: Trigger) -> Result<Run, OnlineError> {
        self.check_pullable(conn)?;
        let run = self.begin_run(conn, trigger).await?;
        let online = self.clone();
        let conn = conn.clone();
        let started = run.clone();
        tokio::spawn(async move { online.execute(started, conn, lists).await });
        Ok(run)
    }

    fn check_pullable(&self, conn: &Connection) -> Result<(), OnlineError> {
        if conn.kind == ConnectionKind::Desktop {
            return Err(OnlineError::Desktop);
        }
        self.oauth()?;
        match conn.online_status {
            Some(OnlineStatus::Connected) => Ok(()),
            Some(OnlineStatus::NeedsReconnect) => Err(OnlineError::NeedsReconnect),
            _ => Err(OnlineError::NotConnected),
        }
    }

    /// A new live run for the connection, after ending one whose process stopped giving signs
    /// of life. A live run that is alive makes the connection busy.
    async fn begin_run(&self, conn: &Connection, trigger: Trigger) -> Result<Run, OnlineError> {
        let db = &self.inner.db;
        let key = format!("pull:{}", Uuid::new_v4());
        for _ in 0..2 {
            match runs::start_run_by(db, conn.connection_id, &key, trigger, crate::store::now()).await {
                Ok(run) => return Ok(run),
                Err(StoreError::Conflict(_)) => {
                    if !self.end_if_stale(conn.connection_id).await? {
                        return Err(OnlineError::Busy);
                    }
                }
                Err(err) => return Err(err.into()),
            }
        }
        Err(OnlineError::Busy)
    }

    /// Ends the connection's live pull if it has been silent longer than the stale-run limit
    /// (its process died). Answers whether it did.
    async fn end_if_stale(&self, connection_id: Uuid) -> Result<bool, StoreError> {
        let Some(mut run) = runs::live_run_for_connection(&self.inner.db, connection_id).await? else {
            return Ok(true);
        };
        let silent = (crate::store::now() - run.last_call_at).to_std().unwrap_or_default();
        if silent < self.inner.stale_run || !run.ticket_hash.starts_with("pull:") {
            return Ok(false);
        }
        let at = crate::store::now();
        run.state = RunState::Ended;
        run.outcome = Some(Outcome::Failed);
        run.ended_at = Some(at);
        run.last_call_at = at;
        let message = format!(
            "the pull stopped giving signs of life for {} s (its server process ended); it was marked failed",
            silent.as_secs()
        );
        run.last_error = Some(message.clone());
        run.summary = Some(message.clone());
        let mut tx = self.inner.db.begin().await?;
        let saved = runs::save_run(&mut tx, &mut run).await;
        let result = match saved {
            Ok(true) => runs::add_event(&mut tx, run.run_id, runs::EventLevel::Error, None, &message, None).await,
            Ok(false) => Ok(()),
            Err(err) => Err(err),
        };
        tx.finish(result).await?;
        tracing::warn!(run = %run.run_id, connection = %connection_id, "stale pull ended");
        Ok(true)
    }

    /// Queues pulls for the connections of the realms Intuit notified changes for, and wakes
    /// this process's worker. Answers how many pulls were queued.
    pub async fn queue_from_notices(&self, notices: &[webhook::Notice]) -> Result<usize, StoreError> {
        let mut queued = 0;
        for (realm_id, lists) in webhook::lists_by_realm(notices) {
            for conn in online::connections_for_realm(&self.inner.db, &realm_id).await? {
                if conn.online_status != Some(OnlineStatus::Connected) {
                    continue;
                }
                online::queue_pull(
                    &self.inner.db,
                    conn.connection_id,
                    lists.contains("customers"),
                    lists.contains("employees"),
                    Trigger::Webhook,
                )
                .await?;
                queued += 1;
            }
        }
        if queued > 0 {
            self.inner.wake.notify_one();
        }
        Ok(queued)
    }

    /// The background worker of this process: ends pulls whose process died and starts queued
    /// pulls (from any process's webhooks). Runs until the runtime stops.
    pub fn spawn_worker(&self) -> tokio::task::JoinHandle<()> {
        let online = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(err) = online.start_queued().await {
                    tracing::warn!(error = %err, "starting queued QuickBooks Online pulls failed");
                }
                let _ = tokio::time::timeout(online.inner.settings.poll_interval, online.inner.wake.notified()).await;
            }
        })
    }

    async fn start_queued(&self) -> Result<(), StoreError> {
        if !self.enabled() {
            return Ok(());
        }
        let db = &self.inner.db;
        // Pulls whose process died end as failed once they go stale, whoever notices first.
        let stale = chrono::Duration::from_std(self.inner.stale_run).unwrap_or(chrono::Duration::seconds(120));
        for run in runs::silent_pulls(db, crate::store::now() - stale).await? {
            self.end_if_stale(run.connection_id).await?;
        }
        for request in online::queued_pulls(db, 50).await? {
            let conn = match crate::store::catalog::get_connection(db, None, request.connection_id).await {
                Ok(conn) => conn,
                Err(StoreError::NotFound) => continue,
                Err(err) => return Err(err),
            };
            if self.check_pullable(&conn).is_err() {
                online::claim_pull(db, &request).await?;
                continue;
            }
            // Leave it queued while the connection is busy; it starts when the run has ended.
            if runs::live_run_for_connection(db, conn.connection_id).await?.is_some()
                && !self.end_if_stale(conn.connection_id).await?
            {
                continue;
            }
            if !online::claim_pull(db, &request).await? {
                continue;
            }
            let lists = Lists { customers: request.customers, employees: request.employees };
            match self.start_pull(&conn, lists, request.trigger).await {
                Ok(run) => tracing::info!(run = %run.run_id, connection = %conn.connection_id, "queued pull started"),
                Err(OnlineError::Busy) => {
                    online::queue_pull(db, conn.connection_id, lists.customers, lists.employees, request.trigger)
                        .await?
                }
                Err(err) => tracing::warn!(connection = %conn.connection_id, error = %err, "queued pull not started"),
            }
        }
        Ok(())
    }
}

/// A GET of the Accounting API with a bearer token, asking for JSON.
fn api_request(url: String, access_token: &str) -> transport::OwnedRequest {
    transport::OwnedRequest {
        method: "GET",
        url,
        headers: vec![("Authorization", format!("Bearer {access_token}")), ("Accept", "application/json".into())],
        form: None,
        json: None,
    }
}
