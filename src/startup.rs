//! Builds the application from settings: opens and migrates the database, binds the listener,
//! starts the HTTP server. Tests use the same path with port 0.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use anyhow::Context;

use crate::config::Settings;
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::signin::SignInGuard;
use crate::store::{self, Db};
use crate::sync::Service;
use crate::vault::Vault;

/// The key that seals QuickBooks Online tokens: `QBSYNC_SECRET_KEY`, or with SQLite a key file
/// beside the database (made on first use, mode 0600). None while QuickBooks Online is off and
/// no key exists.
fn secret_key(settings: &Settings, db: &Db) -> anyhow::Result<Option<Vault>> {
    if let Some(key) = &settings.secret_key {
        return Ok(Some(Vault::from_base64(key).context("QBSYNC_SECRET_KEY")?));
    }
    let wanted = settings.qbo.client_id.is_some();
    match db.database_file() {
        Some(file) => {
            let mut name = file.path().as_os_str().to_owned();
            name.push(".secret-key");
            let path = std::path::PathBuf::from(name);
            if !wanted && !path.exists() {
                return Ok(None);
            }
            let (vault, created) = Vault::load_or_create(&path)?;
            if created {
                tracing::warn!(
                    "generated the key that seals QuickBooks Online tokens into {} (mode 0600): back it up with the \
                     database, or set QBSYNC_SECRET_KEY",
                    path.display()
                );
            }
            Ok(Some(vault))
        }
        None if wanted => anyhow::bail!(
            "QuickBooks Online is enabled (QBSYNC_QBO_CLIENT_ID) but QBSYNC_SECRET_KEY is not set: with PostgreSQL \
             the key that seals its tokens must be given (32 bytes in base64, e.g. `openssl rand -base64 32`)"
        ),
        None => Ok(None),
    }
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

impl Application {
    /// Opens the database, applies migrations and binds `settings.listen`.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let db = Db::connect(&settings.database_url, &settings.db)
            .await
            .with_context(|| format!("opening the database {}", store::redact_url(&settings.database_url)))?;
        db.migrate().await.context("applying database migrations")?;
        Self::build_with_db(settings, db).await
    }

    /// Like [`Application::build`] on an already open and migrated database.
    pub async fn build_with_db(settings: Settings, db: Db) -> anyhow::Result<Application> {
        if let Err(err) = crate::qwc::check_public_url(&settings.public_url) {
            tracing::warn!("{err}");
        }
        let listener =
            TcpListener::bind(&settings.listen).with_context(|| format!("listening on {}", settings.listen))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let metrics = Arc::new(Metrics::default());
        let sign_in = Arc::new(SignInGuard::new(db.clone(), settings.sign_in.clone(), metrics.clone()));
        let service = Service::with_metrics(db.clone(), settings.sync.clone(), metrics).with_sign_in(sign_in);
        let vault = secret_key(&settings, &db)?;
        let stale_run = http::stale_run(&settings);
        let online = crate::qbo::Online::new(db.clone(), settings.qbo.clone(), vault, &settings.public_url, stale_run);
        if settings.qbo.client_id.is_some() && !online.enabled() {
            tracing::warn!(
                "QBSYNC_QBO_CLIENT_ID is set but QBSYNC_QBO_CLIENT_SECRET is not: QuickBooks Online stays off"
            );
        }
        if online.enabled() {
            online.spawn_worker();
        }
        let mut state = AppState::new(db, settings, service);
        state.online = online;
        let server = http::serve(listener, state.clone())?;
        Ok(Application { port, server, state })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> &Db {
        &self.state.db
    }

    /// On a database without any admin: a one-time link that creates the first organization
    /// and admin. A restart while the link is valid prints the same link again; an expired one
    /// is replaced.
    pub async fn setup_link(&self) -> anyhow::Result<Option<String>> {
        crate::http::auth::offer_setup_link(&self.state).await
    }

    /// A handle that can stop the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped (Ctrl-C, SIGTERM or the handle).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.state.db.close().await;
        result
    }
}
