//! Web Connector runs: the per-ticket state every call reads and writes, and its event log.
//!
//! A run row is only ever changed by [`save_run`], a compare-and-set on its `seq` column inside the
//! caller's transaction, so two calls for one ticket can never both apply their changes.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Db, Result, Tx, now, on_db, on_tx};

/// One Web Connector session and where it stands.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Run {
    pub run_id: Uuid,
    pub connection_id: Uuid,
    pub ticket_hash: String,
    pub state: String,
    pub outcome: Option<String>,
    pub step: String,
    pub awaiting: Option<String>,
    pub iterator_id: Option<String>,
    pub iterator_remaining: Option<i64>,
    pub iterator_restarts: i64,
    pub qbxml_version: Option<String>,
    pub request_count: i64,
    pub customers_staged: i64,
    pub employees_staged: i64,
    pub customers_deleted: i64,
    pub employees_deleted: i64,
    pub customers_complete: bool,
    pub employees_complete: bool,
    pub warning_count: i64,
    pub error_count: i64,
    pub percent: i64,
    pub last_error: Option<String>,
    pub summary: Option<String>,
    pub seq: i64,
    pub started_at: DateTime<Utc>,
    pub last_call_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// A warning or error recorded during a run.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct RunEvent {
    pub run_event_id: Uuid,
    pub run_id: Uuid,
    pub at: DateTime<Utc>,
    pub level: String,
    pub code: Option<String>,
    pub message: String,
    pub explanation: Option<String>,
}

/// A new live run for a connection. Fails with [`StoreError::Conflict`] when the connection
/// already has a live run (the unique partial index `run_one_live_per_connection`).
pub async fn start_run(db: &Db, connection_id: Uuid, ticket_hash: &str, at: DateTime<Utc>) -> Result<Run> {
    let run = Run {
        run_id: Uuid::new_v4(),
        connection_id,
        ticket_hash: ticket_hash.to_string(),
        state: "live".into(),
        outcome: None,
        step: "start".into(),
        awaiting: None,
        iterator_id: None,
        iterator_remaining: None,
        iterator_restarts: 0,
        qbxml_version: None,
        request_count: 0,
        customers_staged: 0,
        employees_staged: 0,
        customers_deleted: 0,
        employees_deleted: 0,
        customers_complete: true,
        employees_complete: true,
        warning_count: 0,
        error_count: 0,
        percent: 0,
        last_error: None,
        summary: None,
        seq: 0,
        started_at: at,
        last_call_at: at,
        ended_at: None,
    };
    on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO run (run_id, connection_id, ticket_hash, state, step, started_at, last_call_at) \
             VALUES ($1, $2, $3, 'live', 'start', $4, $4)",
        )
        .bind(run.run_id)
        .bind(connection_id)
        .bind(ticket_hash)
        .bind(at)
        .execute(pool)
        .await?;
    });
    Ok(run)
}

pub async fn live_run_for_connection(db: &Db, connection_id: Uuid) -> Result<Option<Run>> {
    Ok(on_db!(db, pool => {
        sqlx::query_as::<_, Run>("SELECT * FROM run WHERE connection_id = $1 AND state = 'live'")
            .bind(connection_id)
            .fetch_optional(pool)
            .await?
    }))
}

/// How many runs are live in the whole database.
pub async fn count_live_runs(db: &Db) -> Result<i64> {
    Ok(on_db!(db, pool => {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM run WHERE state = 'live'").fetch_one(pool).await?
    }))
}

pub async fn run_by_ticket(db: &Db, ticket_hash: &str) -> Result<Option<Run>> {
    Ok(on_db!(db, pool => {
        sqlx::query_as::<_, Run>("SELECT * FROM run WHERE ticket_hash = $1")
            .bind(ticket_hash)
            .fetch_optional(pool)
            .await?
    }))
}

const SAVE_RUN: &str = "UPDATE run SET state = $3, outcome = $4, step = $5, awaiting = $6, iterator_id = $7, \
     iterator_remaining = $8, iterator_restarts = $9, qbxml_version = $10, request_count = $11, \
     customers_staged = $12, employees_staged = $13, customers_deleted = $14, employees_deleted = $15, \
     customers_complete = $16, employees_complete = $17, warning_count = $18, error_count = $19, \
     percent = $20, last_error = $21, summary = $22, last_call_at = $23, ended_at = $24, seq = seq + 1 \
     WHERE run_id = $1 AND seq = $2";

/// The compare-and-set UPDATE of `run`, with its parameters bound, for either database.
macro_rules! save_run_query {
    ($run:expr) => {
        sqlx::query(SAVE_RUN)
            .bind($run.run_id)
            .bind($run.seq)
            .bind(&$run.state)
            .bind(&$run.outcome)
            .bind(&$run.step)
            .bind(&$run.awaiting)
            .bind(&$run.iterator_id)
            .bind($run.iterator_remaining)
            .bind($run.iterator_restarts)
            .bind(&$run.qbxml_version)
            .bind($run.request_count)
            .bind($run.customers_staged)
            .bind($run.employees_staged)
            .bind($run.customers_deleted)
            .bind($run.employees_deleted)
            .bind($run.customers_complete)
            .bind($run.employees_complete)
            .bind($run.warning_count)
            .bind($run.error_count)
            .bind($run.percent)
            .bind(&$run.last_error)
            .bind(&$run.summary)
            .bind($run.last_call_at)
            .bind($run.ended_at)
    };
}

/// Writes `run` if nobody changed it since it was read (its `seq` is still `run.seq`), and bumps
/// `seq`. Returns false, writing nothing, when another call got there first.
pub async fn save_run(tx: &mut Tx, run: &mut Run) -> Result<bool> {
    let done = on_tx!(tx, conn => save_run_query!(run).execute(&mut *conn).await?.rows_affected());
    if done == 1 {
        run.seq += 1;
    }
    Ok(done == 1)
}

/// [`save_run`] on its own, outside any transaction: the compare-and-set is one statement.
pub async fn save_run_alone(db: &Db, run: &mut Run) -> Result<bool> {
    let done = on_db!(db, pool => save_run_query!(run).execute(pool).await?.rows_affected());
    if done == 1 {
        run.seq += 1;
    }
    Ok(done == 1)
}

/// Appends a warning or error to a run's log.
pub async fn add_event(
    tx: &mut Tx,
    run_id: Uuid,
    level: &str,
    code: Option<&str>,
    message: &str,
    explanation: Option<&str>,
) -> Result<()> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO run_event (run_event_id, run_id, at, level, code, message, explanation) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uuid::new_v4())
        .bind(run_id)
        .bind(now())
        .bind(level)
        .bind(code)
        .bind(message)
        .bind(explanation)
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}

/// A connection's runs, newest first, starting after the run `before` (a keyset cursor).
pub async fn list_runs(
    db: &Db,
    connection_id: Uuid,
    limit: i64,
    before: Option<(DateTime<Utc>, Uuid)>,
) -> Result<Vec<Run>> {
    let (before_at, before_id) = match before {
        Some((at, id)) => (Some(at), Some(id)),
        None => (None, None),
    };
    Ok(on_db!(db, pool => {
        sqlx::query_as::<_, Run>(
            "SELECT * FROM run WHERE connection_id = $1 \
             AND ($2 IS NULL OR started_at < $2 OR (started_at = $2 AND run_id < $3)) \
             ORDER BY started_at DESC, run_id DESC LIMIT $4",
        )
        .bind(connection_id)
        .bind(before_at)
        .bind(before_id)
        .bind(limit)
        .fetch_all(pool)
        .await?
    }))
}

/// The events of one run, oldest first.
pub async fn run_events(db: &Db, run_id: Uuid) -> Result<Vec<RunEvent>> {
    Ok(on_db!(db, pool => {
        sqlx::query_as::<_, RunEvent>("SELECT * FROM run_event WHERE run_id = $1 ORDER BY at, run_event_id")
            .bind(run_id)
            .fetch_all(pool)
            .await?
    }))
}
