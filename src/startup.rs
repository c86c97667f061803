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
        let state = AppState::new(db, settings, service);
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
