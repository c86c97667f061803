//! Recovery from database faults: a pool connection whose transaction broke is not reused,
//! `/healthz` says when the database cannot be written or its file was removed or replaced, and
//! `serve` refuses to start on a database it cannot use instead of making a new, empty one.

use std::time::Duration;

use qbsync::config::Settings;
use qbsync::startup::Application;
use qbsync::store::{Db, DbOptions, Tx};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_whose_transaction_broke_does_not_poison_the_pool() {
    // Arrange: one pooled connection, so a poisoned one would be handed out again.
    let dir = tempfile::tempdir().unwrap();
    let url = test_database_url(dir.path()).await;
    let db =
        Db::connect(&url, &DbOptions { max_connections: 1, acquire_timeout: Duration::from_secs(5) }).await.unwrap();
    db.migrate().await.unwrap();

    // Act: the database ends the transaction behind the driver's back (as SQLite does when a
    // write fails on a full disk), so COMMIT and the ROLLBACK after it both fail.
    let mut tx = db.begin().await.unwrap();
    match &mut tx {
        Tx::Sqlite(tx) => sqlx::query("ROLLBACK").execute(&mut **tx).await.map(drop),
        Tx::Postgres(tx) => sqlx::query("ROLLBACK").execute(&mut **tx).await.map(drop),
    }
    .unwrap();
    let _ = tx.commit().await;

    // Assert: the next transactions work.
    for _ in 0..3 {
        db.check_writable().await.expect("a fresh connection, not the broken one");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_unavailable_while_the_database_cannot_be_written_and_recovers_by_itself() {
    // Arrange: short waits for locks, so a write that cannot happen fails fast.
    let app = spawn_app_with(|settings| settings.db.acquire_timeout = Duration::from_secs(1)).await;
    assert_eq!(app.get_json_as("/healthz", None).await.0, 200);

    // Act: another client holds the write lock (as a stuck writer or a full disk would stop
    // every write).
    let blocker = Db::connect(&app.database_url, &DbOptions::default()).await.unwrap();
    let mut held = blocker.begin().await.unwrap();
    if let Tx::Postgres(tx) = &mut held {
        sqlx::query("LOCK TABLE health_probe IN EXCLUSIVE MODE").execute(&mut **tx).await.unwrap();
    }
    let (status, body) = app.get_json_as("/healthz", None).await;

    // Assert
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    held.rollback().await.unwrap();
    assert_eq!(app.get_json_as("/healthz", None).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_unavailable_when_the_sqlite_file_is_removed_or_replaced() {
    let app = spawn_app().await;
    let Some(path) = sqlite_path(&app.database_url) else {
        return; // PostgreSQL: there is no file to lose.
    };
    assert_eq!(app.get_json_as("/healthz", None).await.0, 200);

    // Replaced: another file now stands at the path.
    let aside = path.with_extension("aside");
    std::fs::rename(&path, &aside).unwrap();
    std::fs::copy(&aside, &path).unwrap();
    assert_eq!(app.get_json_as("/healthz", None).await.0, 503);

    // Removed.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(app.get_json_as("/healthz", None).await.0, 503);
}

fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    (!url.starts_with("postgres")).then(|| std::path::PathBuf::from(url.trim_start_matches("sqlite:")))
}

async fn start(database_url: &str) -> anyhow::Result<Application> {
    Application::build(Settings {
        listen: "127.0.0.1:0".into(),
        database_url: database_url.into(),
        workers: 1,
        ..Settings::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_removed_database_instead_of_starting_anew() {
    // Arrange: a database that was used (it has a WAL beside it), then removed.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qbsync.db");
    let url = path.display().to_string();
    drop(start(&url).await.expect("a new database is made where none ever was"));
    std::fs::write(dir.path().join("qbsync.db-wal"), b"").unwrap();
    std::fs::remove_file(&path).unwrap();

    // Act
    let refused = start(&url).await.err().expect("a removed database is not replaced by an empty one");

    // Assert: the reason says what happened and what to do, and no new database was made.
    let reason = format!("{refused:#}");
    assert!(reason.contains("was removed or moved") && reason.contains("qbsync.db-wal"), "{reason}");
    assert!(!path.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_database_it_cannot_open_and_leaves_nothing_behind() {
    // Arrange: something that exists at the path but is no database file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qbsync.db");
    std::fs::create_dir(&path).unwrap();

    // Act
    let refused = start(&path.display().to_string()).await.err().expect("an unusable database is an error");

    // Assert
    let reason = format!("{refused:#}");
    assert!(reason.contains("cannot be opened for reading and writing"), "{reason}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("qbsync.db")], "nothing but what was there");
}
