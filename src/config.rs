//! Settings of `qbsync serve`, from flags or environment variables (see `cli`).

use std::time::Duration;

use crate::store::DbOptions;
use crate::sync::SyncSettings;

/// Everything the server needs to start.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Address to listen on, e.g. `127.0.0.1:8080` (port 0 picks a free one).
    pub listen: String,
    /// `sqlite:` path / plain file path, or `postgres://...`.
    pub database_url: String,
    /// The address the Web Connector and browsers use to reach this server.
    pub public_url: String,
    /// Largest SOAP request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Name of the application in the Web Connector and QuickBooks.
    pub app_name: String,
    /// Default Web Connector schedule of new connections, in minutes.
    pub run_every_minutes: i64,
    /// Number of HTTP worker threads (0: one per CPU).
    pub workers: usize,
    /// JSON API requests a minute each organization may make (0: no limit).
    pub api_requests_per_minute: u32,
    pub db: DbOptions,
    pub sync: SyncSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            database_url: "qbsync.db".into(),
            public_url: "http://localhost:8080".into(),
            max_body_bytes: 128 * 1024 * 1024,
            app_name: "qbsync".into(),
            run_every_minutes: 60,
            workers: 0,
            api_requests_per_minute: 1200,
            db: DbOptions { max_connections: 10, acquire_timeout: Duration::from_secs(30) },
            sync: SyncSettings::default(),
        }
    }
}
