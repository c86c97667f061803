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
    /// A SOAP request body is refused when nothing of it arrives for this long; once this long
    /// has passed since it began, it must also average `body_min_bytes_per_second`.
    pub body_timeout: Duration,
    /// Slowest average rate of a SOAP request body after the first `body_timeout` (0: none).
    pub body_min_bytes_per_second: u64,
    /// Most uploads (SOAP bodies over 16 KiB or of unknown length) received at once from one
    /// client address.
    pub max_uploads_per_address: usize,
    /// Most uploads received at once in all.
    pub max_uploads: usize,
    /// Name of the application in the Web Connector and QuickBooks.
    pub app_name: String,
    /// Default Web Connector schedule of new connections, in minutes.
    pub run_every_minutes: i64,
    /// Number of HTTP worker threads (0: one per CPU).
    pub workers: usize,
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
            body_timeout: Duration::from_secs(60),
            body_min_bytes_per_second: 1024,
            max_uploads_per_address: 4,
            max_uploads: 64,
            app_name: "qbsync".into(),
            run_every_minutes: 60,
            workers: 0,
            db: DbOptions { max_connections: 10, acquire_timeout: Duration::from_secs(30) },
            sync: SyncSettings::default(),
        }
    }
}
