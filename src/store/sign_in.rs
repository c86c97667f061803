//! Failed sign-ins per account and per client address (`sign_in_failure`). The counting rules
//! are `signin`'s; this module only keeps the counters, atomically, so that every server process
//! on the database sees the same ones.

use chrono::{DateTime, Utc};

use super::{Db, Result, on_db};

/// A counter after a failure was added to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failures {
    /// Failures in the current window, this one included.
    pub count: i64,
    /// Until when the subject is locked out, if it is (or was) locked.
    pub locked_until: Option<DateTime<Utc>>,
}

/// Whether `(kind, subject)` is locked out at `now`.
pub async fn is_locked(db: &Db, kind: &str, subject: &str, now: DateTime<Utc>) -> Result<bool> {
    Ok(on_db!(db, pool => {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM sign_in_failure WHERE kind = $1 AND subject = $2 AND locked_until > $3",
        )
        .bind(kind)
        .bind(subject)
        .bind(now)
        .fetch_one(pool)
        .await?
    }) > 0)
}

/// Adds one failure to `(kind, subject)` in one statement. A window that started at or before
/// `window_cutoff` (now minus the window's length) starts again with this failure. When the
/// count reaches `max_failures` and no lock is running, the subject is locked until `lock_until`.
pub async fn add_failure(
    db: &Db,
    kind: &str,
    subject: &str,
    now: DateTime<Utc>,
    window_cutoff: DateTime<Utc>,
    max_failures: i64,
    lock_until: DateTime<Utc>,
) -> Result<Failures> {
    // SET expressions see the row's old values, so the new count is spelt out twice.
    let (count, locked_until) = on_db!(db, pool => {
        sqlx::query_as::<_, (i64, Option<DateTime<Utc>>)>(
            "INSERT INTO sign_in_failure (kind, subject, failures, window_start, locked_until) \
             VALUES ($1, $2, 1, $3, CASE WHEN 1 >= $5 THEN $6 ELSE NULL END) \
             ON CONFLICT (kind, subject) DO UPDATE SET \
               failures = CASE WHEN sign_in_failure.window_start <= $4 THEN 1 ELSE sign_in_failure.failures + 1 END, \
               window_start = CASE WHEN sign_in_failure.window_start <= $4 THEN $3 ELSE sign_in_failure.window_start END, \
               locked_until = CASE \
                 WHEN (CASE WHEN sign_in_failure.window_start <= $4 THEN 1 ELSE sign_in_failure.failures + 1 END) >= $5 \
                   AND (sign_in_failure.locked_until IS NULL OR sign_in_failure.locked_until <= $3) THEN $6 \
                 ELSE sign_in_failure.locked_until END \
             RETURNING failures, locked_until",
        )
        .bind(kind)
        .bind(subject)
        .bind(now)
        .bind(window_cutoff)
        .bind(max_failures)
        .bind(lock_until)
        .fetch_one(pool)
        .await?
    });
    Ok(Failures { count, locked_until })
}

/// Forgets the failures of `(kind, subject)`, and every counter whose window and lock are over.
pub async fn clear(db: &Db, kind: &str, subject: &str, now: DateTime<Utc>, window_cutoff: DateTime<Utc>) -> Result<()> {
    on_db!(db, pool => {
        sqlx::query(
            "DELETE FROM sign_in_failure WHERE (kind = $1 AND subject = $2) \
             OR (window_start <= $4 AND (locked_until IS NULL OR locked_until <= $3))",
        )
        .bind(kind)
        .bind(subject)
        .bind(now)
        .bind(window_cutoff)
        .execute(pool)
        .await?;
    });
    Ok(())
}
