//! Text the application derives from a row and stores beside it, because SQL cannot compute it
//! alike on both databases: the search text of staged records, locations and staff
//! (`matching::search`), and the watched fields of staged records (`review::Watched`).
//!
//! Rows written since keep it up to date themselves. Rows written before its form last changed
//! (before the migration that added it, or an older form) get it anew at start, when
//! `derived_text.version` is behind [`VERSION`]: every row is read and rewritten in batches, one
//! transaction each. The work is the same whichever process does it, so processes starting
//! together only repeat each other. Links made before change review began start reviewed: their
//! record as it is now is what they are compared with later.

use super::{Db, Result, on_db, on_tx};

/// The form of the derived text this build writes. Raise it whenever `matching::search` or
/// `review::Watched` change what they make.
pub const VERSION: i64 = 1;

/// Rows read and rewritten per transaction.
pub(crate) const BATCH: i64 = 500;

/// Reads a table's rows [`BATCH`] at a time in order of their id (`read(after)` answers the
/// rows after that id) and hands each batch to `write`; answers how many rows were read. The
/// keyset loop of every table's rederivation.
pub(crate) async fn in_batches<R>(
    mut read: impl AsyncFnMut(uuid::Uuid) -> Result<Vec<R>>,
    id_of: impl Fn(&R) -> uuid::Uuid,
    mut write: impl AsyncFnMut(Vec<R>) -> Result<()>,
) -> Result<u64> {
    let mut after = uuid::Uuid::nil();
    let mut n = 0;
    loop {
        let rows = read(after).await?;
        let Some(last) = rows.last() else { return Ok(n) };
        after = id_of(last);
        n += rows.len() as u64;
        let full = rows.len() as i64 == BATCH;
        write(rows).await?;
        if !full {
            return Ok(n);
        }
    }
}

/// Brings every row's derived text to [`VERSION`] when the database's is older.
#[tracing::instrument(skip_all)]
pub async fn refresh(db: &Db) -> Result<()> {
    let version: i64 = on_db!(db, pool => {
        sqlx::query_scalar("SELECT CAST(version AS BIGINT) FROM derived_text WHERE derived_text_id = 1")
            .fetch_optional(pool)
            .await?
            .unwrap_or(0)
    });
    if version >= VERSION {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let customers = super::staging::rederive_customers(db).await?;
    let employees = super::staging::rederive_employees(db).await?;
    let locations = super::locations::rederive(db).await?;
    let staff = super::staff::rederive(db).await?;
    let mut tx = db.begin().await?;
    let outcome = async {
        for kind in [&super::links::LOCATION, &super::links::STAFF] {
            let condition = format!("qb_reviewed IS NULL AND {} IS NOT NULL", kind.link_column);
            super::links::mark_reviewed_where(&mut tx, kind, &condition).await?;
        }
        on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE derived_text SET version = $1 WHERE derived_text_id = 1 AND version < $1")
                .bind(VERSION as i32)
                .execute(&mut *conn)
                .await?;
        });
        Ok(())
    }
    .await;
    tx.finish(outcome).await?;
    tracing::info!(
        customers,
        employees,
        locations,
        staff,
        millis = started.elapsed().as_millis() as u64,
        "derived text brought up to date"
    );
    Ok(())
}
