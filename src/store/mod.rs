//! Persistence: the only module that contains SQL.
//!
//! qbsync runs on an embedded SQLite file by default and on PostgreSQL when the database URL says
//! `postgres://`. Each query is written once and run on whichever pool is open: [`Db`] is an enum
//! over the two native sqlx pools, and the `on_db!`/`on_tx!` macros expand a query body for both,
//! so both are type-checked by the compiler. Placeholders are `$1, $2, ...`, which both engines
//! accept. Migrations live in `migrations/sqlite` and `migrations/postgres` and are embedded in the
//! binary.

pub mod admins;
pub mod audit;
pub mod catalog;
pub mod changes;
pub mod derived;
pub mod links;
pub mod locations;
pub mod online;
pub mod runs;
pub mod sign_in;
pub mod staff;
pub mod staging;
pub mod suggestions;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// Errors of the persistence layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist (or belongs to another organization).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule would be broken (a name already taken, a record already linked).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database URL is not one qbsync can open.
    #[error("unsupported database url: {0}")]
    BadUrl(String),
    /// Anything the database itself reported.
    #[error(transparent)]
    Database(sqlx::Error),
    /// The database cannot be used as it is; the message says why and what to do.
    #[error("{0}")]
    Unusable(String),
    /// A migration failed to apply.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_string()),
            _ => StoreError::Database(err),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Pool sizes and timeouts.
#[derive(Clone, Debug)]
pub struct DbOptions {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// How long a caller waits for a free connection before failing.
    pub acquire_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions { max_connections: 10, acquire_timeout: Duration::from_secs(30) }
    }
}

/// An open database: SQLite or PostgreSQL.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the native pool of whichever database is open.
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_db;

/// Runs `$body` with `$conn` bound to the native connection of an open transaction.
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::store::Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

/// An open transaction on either database.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Commits when `result` is Ok, rolls back when it is an error, and passes `result` on.
    pub async fn finish<T>(self, result: Result<T>) -> Result<T> {
        match result {
            Ok(value) => {
                self.commit().await?;
                Ok(value)
            }
            Err(err) => {
                let _ = self.rollback().await;
                Err(err)
            }
        }
    }

    pub async fn rollback(self) -> Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await?,
            Tx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

impl Db {
    /// Opens the database named by `url` (`sqlite:` path or `postgres://`), creating an SQLite file
    /// if it is missing. Does not migrate.
    pub async fn connect(url: &str, options: &DbOptions) -> Result<Db> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect = PgConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl(e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout)
                .after_release(|conn, _| Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) }))
                .connect_with(connect)
                .await?;
            return Ok(Db::Postgres(pool));
        }
        let connect = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl(e.to_string()))?.create_if_missing(true)
        } else if url.contains("://") {
            return Err(StoreError::BadUrl(format!(
                "{} (use a file path, sqlite:PATH or postgres://...)",
                redact_url(url)
            )));
        } else {
            SqliteConnectOptions::new().filename(url).create_if_missing(true)
        };
        if !connect.get_filename().as_os_str().is_empty() && connect.get_filename() != std::path::Path::new(":memory:")
        {
            check_sqlite_file(connect.get_filename())?;
        }
        // WAL lets readers go on while a response is being staged; NORMAL sync is durable across
        // application crashes, which is what a staging copy needs.
        let connect = connect
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // Multi-row upserts keep statement journals; in memory they cost no file writes.
            .pragma("temp_store", "memory")
            // 1 MiB of page cache per connection (SQLite's default is 2 MiB): the pool's memory
            // stays small, and staging writes mostly append anyway.
            .pragma("cache_size", "-1024")
            // Checkpoint the WAL every ~40 MB written instead of every ~4 MB: a checkpoint syncs
            // the database file inside some staging commit, and a first sync of 5,000 customers
            // otherwise waits on one or two of them (about a tenth of its time here).
            .pragma("wal_autocheckpoint", "10000")
            .busy_timeout(options.acquire_timeout);
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            // A connection whose COMMIT and then ROLLBACK failed (a full disk) comes back still
            // counting an open transaction, and every later BEGIN on it would fail: it is closed
            // instead of going back to the pool. (Same for PostgreSQL above.)
            .after_release(|conn, _| Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) }))
            .connect_with(connect)
            .await?;
        Ok(Db::Sqlite(pool))
    }

    /// Applies every pending migration of the open database's flavour, then brings the text the
    /// application derives from rows up to date (`derived`).
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        derived::refresh(self).await
    }

    /// `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Starts a transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
    /// transaction that reads before it writes would otherwise fail with SQLITE_BUSY_SNAPSHOT
    /// when another connection wrote in between, where waiting for the lock is what is wanted.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Writes one tiny row in a transaction of its own: fails while the database cannot be
    /// written (a full disk, a read-only file, a lost server). Used by `/healthz`.
    pub async fn check_writable(&self) -> Result<()> {
        let mut tx = self.begin().await?;
        if let Tx::Postgres(tx) = &mut tx {
            // A health check answers promptly: SQLite's busy timeout bounds its wait for the
            // write lock; here a lock held elsewhere must not hold the check for ever.
            sqlx::query("SET LOCAL lock_timeout = '2s'").execute(&mut **tx).await?;
        }
        let result = on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO health_probe (health_probe_id, checked_at) VALUES (1, $1) \
                 ON CONFLICT (health_probe_id) DO UPDATE SET checked_at = excluded.checked_at",
            )
            .bind(now())
            .execute(&mut *conn)
            .await
            .map(drop)
            .map_err(StoreError::from)
        });
        tx.finish(result).await
    }

    /// The SQLite file this database lives in, as it is now (None for PostgreSQL).
    pub fn database_file(&self) -> Option<DatabaseFile> {
        match self {
            Db::Sqlite(pool) => DatabaseFile::of(pool.connect_options().get_filename()),
            Db::Postgres(_) => None,
        }
    }

    /// Answers when the database does: used by `/healthz`.
    pub async fn ping(&self) -> Result<()> {
        on_db!(self, pool => { sqlx::query("SELECT 1").execute(pool).await?; });
        Ok(())
    }

    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}

/// Refuses, before SQLite touches anything, a database file that exists but cannot be read and
/// written (SQLite would leave `-wal`/`-shm` files behind that break the next start), and a file
/// that is missing while its `-wal` or `-shm` are there (the database was removed: creating a new
/// empty one would silently lose every tenant). A file that never was is created, loudly.
fn check_sqlite_file(path: &std::path::Path) -> Result<()> {
    let sidecar = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        std::path::PathBuf::from(name)
    };
    match std::fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            if let Some(left) = ["-wal", "-shm"].map(sidecar).into_iter().find(|p| p.exists()) {
                return Err(StoreError::Unusable(format!(
                    "the database file {} is missing but {} is there: the database was removed or moved. \
                     Restore it, or remove {} to start with a new, empty database",
                    path.display(),
                    left.display(),
                    left.display()
                )));
            }
            tracing::warn!(
                "NO DATABASE AT {}: creating a new, empty one. If this server had data, it was elsewhere.",
                path.display()
            );
            Ok(())
        }
        Err(err) => Err(StoreError::Unusable(format!(
            "the database file {} cannot be opened for reading and writing: {err}",
            path.display()
        ))),
    }
}

/// Which file an SQLite database was opened from, to notice when it is removed or replaced under
/// the running server (writes would then go to a file nobody will open again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseFile {
    path: std::path::PathBuf,
    identity: Option<(u64, u64)>,
}

impl DatabaseFile {
    fn of(path: &std::path::Path) -> Option<DatabaseFile> {
        if path.as_os_str().is_empty() || path == std::path::Path::new(":memory:") {
            return None;
        }
        Some(DatabaseFile { path: path.to_owned(), identity: file_identity(path) })
    }

    /// The file's path.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Why the file at the path is no longer the one the server opened, if it is not.
    pub fn problem(&self) -> Option<String> {
        match file_identity(&self.path) {
            None => Some(format!("the database file {} was removed", self.path.display())),
            now if now != self.identity => Some(format!("the database file {} was replaced", self.path.display())),
            _ => None,
        }
    }
}

/// The device and inode of a file (on Unix; elsewhere its presence only).
fn file_identity(path: &std::path::Path) -> Option<(u64, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((metadata.dev(), metadata.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        Some((0, 0))
    }
}

/// A value bound to a list query's filter.
#[derive(Clone, Debug)]
pub(crate) enum Param {
    Id(Option<uuid::Uuid>),
    Text(Option<String>),
    Flag(Option<bool>),
}

/// `AND` one LIKE test per query word (see `matching::search`) of `column`, the words being the
/// [`MAX_QUERY_WORDS`](crate::matching::search::MAX_QUERY_WORDS) parameters from `$first` on (an
/// unused one is NULL and tests nothing). Each word is matched on its own, so word order does
/// not count. A LIKE with a leading wildcard reads every row of the organization the rest of
/// the filter leaves; the keyset walk stops after a page of matches all the same.
pub(crate) fn search_clause(column: &str, first: usize) -> String {
    (first..first + crate::matching::search::MAX_QUERY_WORDS)
        .map(|n| format!(" AND (CAST(${n} AS TEXT) IS NULL OR {column} LIKE CAST(${n} AS TEXT) ESCAPE '\\')"))
        .collect()
}

/// The parameters of [`search_clause`] for a query: `%word%` patterns, then NULLs.
pub(crate) fn search_params(q: Option<&str>) -> Vec<Param> {
    let words = q.map(crate::matching::search::query_words).unwrap_or_default();
    (0..crate::matching::search::MAX_QUERY_WORDS).map(|i| Param::Text(words.get(i).map(|w| like_pattern(w)))).collect()
}

/// `%text%` for LIKE, with the wildcard characters of the text escaped by `\`.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// One page of a searchable list, for every such list, and on its first page how many rows
/// match in all.
///
/// Lists are ordered by (sort key, id) and paged by that pair: `page_sql` ends with
/// `AND (key, id) > ($k, $k+1) ORDER BY key, id LIMIT $k+2`, the three parameters after
/// `filter`'s. A row-value comparison is what lets both databases walk the (organization, key,
/// id) index from the cursor instead of scanning and sorting the organization's rows. The first
/// page starts after ("", nil): every row sorts after it. Counting every match is a scan of
/// the organization's rows, so it is done only for the first page (`after` is None), the one
/// whose count a list shows.
pub(crate) async fn page_and_count<T>(
    db: &Db,
    page_sql: String,
    count_sql: String,
    filter: &[Param],
    after: &Option<(String, uuid::Uuid)>,
    limit: i64,
) -> Result<(Vec<T>, Option<i64>)>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    let (after_key, after_id) = match after {
        Some((key, id)) => (key.clone(), *id),
        None => (String::new(), uuid::Uuid::nil()),
    };
    let first_page = after.is_none();
    Ok(on_db!(db, pool => {
        let mut page = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(page_sql));
        let mut count = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql));
        for param in filter {
            (page, count) = match param.clone() {
                Param::Id(v) => (page.bind(v), count.bind(v)),
                Param::Text(v) => (page.bind(v.clone()), count.bind(v)),
                Param::Flag(v) => (page.bind(v), count.bind(v)),
            };
        }
        let rows = page.bind(after_key).bind(after_id).bind(limit).fetch_all(pool).await?;
        let total = if first_page { Some(count.fetch_one(pool).await?) } else { None };
        (rows, total)
    }))
}

/// The current time, rounded to microseconds so that it survives both databases unchanged.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A database URL with any password replaced, for logs and error messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &userinfo[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("ab%c_d\\"), "%ab\\%c\\_d\\\\%");
    }

    #[test]
    fn a_search_clause_tests_each_word_parameter() {
        let clause = search_clause("t.search", 5);
        assert!(clause.contains("$5") && clause.contains("$10") && !clause.contains("$11"), "{clause}");
        let params = search_params(Some("Hotel  Aspen"));
        assert!(matches!(&params[0], Param::Text(Some(p)) if p == "%hotel%"));
        assert!(matches!(&params[1], Param::Text(Some(p)) if p == "%aspen%"));
        assert!(matches!(&params[2], Param::Text(None)));
    }

    #[test]
    fn redact_url_hides_the_password_only() {
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("qbsync.db"), "qbsync.db");
    }
}
