//! Web Connector runs: the per-ticket state every call reads and writes, and its event log.
//!
//! A run row is only ever changed by [`save_run`], a compare-and-set on its `seq` column inside the
//! caller's transaction, so two calls for one ticket can never both apply their changes.
//!
//! A run's state, step, outcome and event levels are enums stored as the text the schema
//! documents (`live`, `customers`, `connection_error`, ...). They live here, beside the row, so
//! the store can read and write them; `sync` re-exports them and its planner computes them.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Db, Result, Tx, now, on_db, on_tx};
use crate::secrets::Ticket;

/// A stored text that is not one of an enum's values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a run {what}; expected one of: {}", .expected.join(", "))]
pub struct UnknownText {
    pub what: &'static str,
    pub text: String,
    pub expected: &'static [&'static str],
}

/// An enum kept as one of a fixed set of texts: `as_str`, `FromStr`/`TryFrom<&str>`, `Display`,
/// `Serialize` as that text, and sqlx `Type`/`Encode`/`Decode` on any database that stores
/// `str`, so one definition binds and decodes on SQLite and PostgreSQL alike.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident ($what:literal) { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stored (and JSON) text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::store::runs::UnknownText;

            fn from_str(text: &str) -> std::result::Result<Self, $crate::store::runs::UnknownText> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::store::runs::UnknownText {
                        what: $what,
                        text: text.to_string(),
                        expected: &[$($text),+],
                    }),
                }
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $crate::store::runs::UnknownText;

            fn try_from(text: &str) -> std::result::Result<Self, $crate::store::runs::UnknownText> {
                text.parse()
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as sqlx::Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            &'static str: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&'static str as sqlx::Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(value: <DB as sqlx::Database>::ValueRef<'r>) -> std::result::Result<Self, sqlx::error::BoxDynError> {
                Ok(<&'r str as sqlx::Decode<'r, DB>>::decode(value)?.parse::<$name>()?)
            }
        }
    };
}
pub(crate) use text_enum;

text_enum! {
    /// Whether a run still takes calls (`run.state`).
    RunState("state") {
        Live = "live",
        Ended = "ended",
    }
}

text_enum! {
    /// Where a run stands (`run.step`), in the order a run goes through them.
    Step("step") {
        /// Authenticated; the first sendRequestXML has not come yet.
        Start = "start",
        /// Asking for the customers QuickBooks deleted since the watermark (incremental runs).
        CustomersDeleted = "customers_deleted",
        /// Paging through the customer list.
        Customers = "customers",
        /// Asking for the employees QuickBooks deleted since the watermark (incremental runs).
        EmployeesDeleted = "employees_deleted",
        /// Asking for the employee list.
        Employees = "employees",
        /// Nothing left to ask.
        Done = "done",
    }
}

text_enum! {
    /// Whether a run reads every record (`full`) or what changed since the last run
    /// (`incremental`) (`run.mode`).
    RunMode("mode") {
        /// Every record of every list; what a complete list lacks is marked deleted.
        Full = "full",
        /// At least one list is read from its watermark (FromModifiedDate, ListDeletedQueryRq).
        Incremental = "incremental",
    }
}

text_enum! {
    /// What a run did to one staged record (`run_change.change`).
    Change("change") {
        /// Not staged before (or staged as deleted).
        New = "new",
        /// Edited in QuickBooks (or its full name followed a renamed or moved parent).
        Changed = "changed",
        /// Made inactive.
        Deactivated = "deactivated",
        /// Made active again.
        Reactivated = "reactivated",
        /// Deleted in QuickBooks (or no longer in a complete list).
        Deleted = "deleted",
    }
}

text_enum! {
    /// How an ended run went (`run.outcome`).
    Outcome("outcome") {
        /// Every list read, no warning.
        Success = "success",
        /// Every list read, with warnings.
        Warnings = "warnings",
        /// Every step done, some with errors, something staged.
        Errors = "errors",
        /// Stopped before the end, or nothing staged despite errors.
        Failed = "failed",
        /// The Web Connector stopped calling for longer than the ticket lifetime.
        Expired = "expired",
        /// The Web Connector could not open QuickBooks (connectionError).
        ConnectionError = "connection_error",
    }
}

text_enum! {
    /// What started a run (`run.trigger`).
    Trigger("trigger") {
        /// The Web Connector's schedule, or its "Update Selected".
        WebConnector = "web_connector",
        /// Get Locations / Get Staff on the page, or the API's pull.
        Button = "button",
        /// A change notification from Intuit.
        Webhook = "webhook",
    }
}

text_enum! {
    /// The level of a run event (`run_event.level`).
    EventLevel("event level") {
        Warning = "warning",
        Error = "error",
    }
}

/// One Web Connector session and where it stands.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Run {
    pub run_id: Uuid,
    pub connection_id: Uuid,
    pub ticket_hash: String,
    pub state: RunState,
    pub outcome: Option<Outcome>,
    pub step: Step,
    pub mode: RunMode,
    /// FromModifiedDate of an incremental list (QuickBooks' local time); `None`: read in full.
    pub customers_since: Option<String>,
    pub employees_since: Option<String>,
    /// The newest TimeModified / TimeDeleted read of each list in this run.
    pub customers_high_water: Option<String>,
    pub employees_high_water: Option<String>,
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
    /// Null for runs recorded before triggers were.
    pub trigger: Option<Trigger>,
}

/// A warning or error recorded during a run.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct RunEvent {
    pub run_event_id: Uuid,
    pub run_id: Uuid,
    pub at: DateTime<Utc>,
    pub level: EventLevel,
    pub code: Option<String>,
    pub message: String,
    pub explanation: Option<String>,
}

/// A new live run for a connection. Fails with [`StoreError::Conflict`] when the connection
/// already has a live run (the unique partial index `run_one_live_per_connection`).
pub async fn start_run(db: &Db, connection_id: Uuid, ticket: &Ticket, at: DateTime<Utc>) -> Result<Run> {
    start_run_by(db, connection_id, ticket.hash(), Trigger::WebConnector, at).await
}

/// [`start_run`] for any trigger. A pull from QuickBooks Online has no ticket: `key` is any
/// unique text (the run's own id).
pub async fn start_run_by(db: &Db, connection_id: Uuid, key: &str, trigger: Trigger, at: DateTime<Utc>) -> Result<Run> {
    let run = Run {
        run_id: Uuid::new_v4(),
        connection_id,
        ticket_hash: key.to_string(),
        state: RunState::Live,
        outcome: None,
        step: Step::Start,
        mode: RunMode::Full,
        customers_since: None,
        employees_since: None,
        customers_high_water: None,
        employees_high_water: None,
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
        trigger: Some(trigger),
    };
    on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO run (run_id, connection_id, ticket_hash, state, step, started_at, last_call_at, trigger) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
        )
        .bind(run.run_id)
        .bind(connection_id)
        .bind(&run.ticket_hash)
        .bind(run.state)
        .bind(run.step)
        .bind(at)
        .bind(trigger)
        .execute(pool)
        .await?;
    });
    Ok(run)
}

/// How long one run recording a refused Web Connector sign-in stands for every refusal of its
/// connection (see [`record_failed_authentication`]).
pub const AUTH_FAILURE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// Records a Web Connector sign-in that a connection refused as a run that failed at
/// authenticate: ended at once, outcome `failed`, step `start`, `message` as its last error and
/// as an error event, so the connection's history shows the attempt. Never the password. At most
/// one such run per connection within [`AUTH_FAILURE_WINDOW`]: a guesser repeating wrong passwords
/// does not fill the history. Returns whether a run was recorded.
pub async fn record_failed_authentication(
    db: &Db,
    connection_id: Uuid,
    at: DateTime<Utc>,
    message: &str,
    explanation: &str,
) -> Result<bool> {
    let run_id = Uuid::new_v4();
    let mut tx = db.begin().await?;
    let outcome: Result<bool> = async {
        let inserted = on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO run (run_id, connection_id, ticket_hash, state, outcome, step, started_at, last_call_at, \
                 ended_at, error_count, last_error, summary, trigger) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $7, $7, 1, $8, $9, $10 \
                 WHERE NOT EXISTS (SELECT 1 FROM run WHERE connection_id = $2 AND ticket_hash LIKE 'auth:%' \
                 AND started_at > $11)",
            )
            .bind(run_id)
            .bind(connection_id)
            .bind(format!("auth:{run_id}"))
            .bind(RunState::Ended)
            .bind(Outcome::Failed)
            .bind(Step::Start)
            .bind(at)
            .bind(message)
            .bind("Failed at authenticate: the sign-in was refused.")
            .bind(Trigger::WebConnector)
            .bind(at - AUTH_FAILURE_WINDOW)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        if inserted == 1 {
            add_event(&mut tx, run_id, EventLevel::Error, Some("authenticate"), message, Some(explanation)).await?;
        }
        Ok(inserted == 1)
    }
    .await;
    tx.finish(outcome).await
}

pub async fn live_run_for_connection(db: &Db, connection_id: Uuid) -> Result<Option<Run>> {
    Ok(on_db!(db, pool => {
        // `'live'` is written out (it is `RunState::Live`): a bound parameter would keep the
        // planner from using the partial index `run_one_live_per_connection`.
        sqlx::query_as::<_, Run>("SELECT * FROM run WHERE connection_id = $1 AND state = 'live'")
            .bind(connection_id)
            .fetch_optional(pool)
            .await?
    }))
}

/// The live QuickBooks Online pulls (their key starts `pull:`) silent since before `cutoff`.
pub async fn silent_pulls(db: &Db, cutoff: DateTime<Utc>) -> Result<Vec<Run>> {
    Ok(on_db!(db, pool => {
        // `'live'` written out for the partial index, as in `live_run_for_connection`.
        sqlx::query_as::<_, Run>(
            "SELECT * FROM run WHERE state = 'live' AND last_call_at < $1 AND ticket_hash LIKE 'pull:%' LIMIT 100",
        )
        .bind(cutoff)
        .fetch_all(pool)
        .await?
    }))
}

/// How many runs are live in the whole database.
pub async fn count_live_runs(db: &Db) -> Result<i64> {
    Ok(on_db!(db, pool => {
        // `'live'` written out for the partial index, as in `live_run_for_connection`.
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM run WHERE state = 'live'").fetch_one(pool).await?
    }))
}

/// The run a ticket opened, looked up by the ticket's hash.
pub async fn run_by_ticket(db: &Db, ticket: &Ticket) -> Result<Option<Run>> {
    Ok(on_db!(db, pool => {
        sqlx::query_as::<_, Run>("SELECT * FROM run WHERE ticket_hash = $1")
            .bind(ticket.hash())
            .fetch_optional(pool)
            .await?
    }))
}

const SAVE_RUN: &str = "UPDATE run SET state = $3, outcome = $4, step = $5, awaiting = $6, iterator_id = $7, \
     iterator_remaining = $8, iterator_restarts = $9, qbxml_version = $10, request_count = $11, \
     customers_staged = $12, employees_staged = $13, customers_deleted = $14, employees_deleted = $15, \
     customers_complete = $16, employees_complete = $17, warning_count = $18, error_count = $19, \
     percent = $20, last_error = $21, summary = $22, last_call_at = $23, ended_at = $24, mode = $25, \
     customers_since = $26, employees_since = $27, customers_high_water = $28, employees_high_water = $29, seq = seq + 1 \
     WHERE run_id = $1 AND seq = $2";

/// The compare-and-set UPDATE of `run`, with its parameters bound, for either database.
macro_rules! save_run_query {
    ($run:expr) => {
        sqlx::query(SAVE_RUN)
            .bind($run.run_id)
            .bind($run.seq)
            .bind($run.state)
            .bind($run.outcome)
            .bind($run.step)
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
            .bind($run.mode)
            .bind(&$run.customers_since)
            .bind(&$run.employees_since)
            .bind(&$run.customers_high_water)
            .bind(&$run.employees_high_water)
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

/// A run of a connection, by id.
pub async fn get_run(db: &Db, connection_id: Uuid, run_id: Uuid) -> Result<Run> {
    on_db!(db, pool => {
        sqlx::query_as::<_, Run>("SELECT * FROM run WHERE run_id = $1 AND connection_id = $2")
            .bind(run_id)
            .bind(connection_id)
            .fetch_optional(pool)
            .await?
    })
    .ok_or(super::StoreError::NotFound)
}

/// Appends a warning or error to a run's log.
pub async fn add_event(
    tx: &mut Tx,
    run_id: Uuid,
    level: EventLevel,
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

/// One record a run changed: what happened to it, its ListID and its (full) name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct RunChange {
    pub list: String,
    pub change: Change,
    pub list_id: String,
    pub name: String,
}

/// Records what a run changed in one list, inside the staging transaction.
pub async fn add_changes(tx: &mut Tx, run_id: Uuid, list: &str, changes: &[(Change, String, String)]) -> Result<()> {
    // A few hundred rows at a time keeps every statement well under SQLite's parameter limit.
    for chunk in changes.chunks(500) {
        on_tx!(tx, conn => {
            let mut qb = sqlx::QueryBuilder::new("INSERT INTO run_change (run_id, list, change, list_id, name) ");
            qb.push_values(chunk, |mut row, (change, list_id, name)| {
                row.push_bind(run_id).push_bind(list).push_bind(*change).push_bind(list_id).push_bind(name);
            });
            qb.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

/// How many records of each list each run changed, by kind of change:
/// `(run_id, list, change, count)` rows for the given runs.
pub async fn change_counts(db: &Db, run_ids: &[Uuid]) -> Result<Vec<(Uuid, String, Change, i64)>> {
    if run_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(on_db!(db, pool => {
        let mut qb = sqlx::QueryBuilder::new("SELECT run_id, list, change, COUNT(*) FROM run_change WHERE run_id IN (");
        let mut ids = qb.separated(", ");
        for id in run_ids {
            ids.push_bind(*id);
        }
        qb.push(") GROUP BY run_id, list, change");
        qb.build_query_as::<(Uuid, String, Change, i64)>().fetch_all(pool).await?
    }))
}

/// The records a run changed, by list, kind of change and name, after the `(list, change, name,
/// list_id)` cursor `after`, optionally of one list and one kind of change.
pub async fn run_changes(
    db: &Db,
    run_id: Uuid,
    list: Option<&str>,
    change: Option<Change>,
    after: Option<(String, String, String, String)>,
    limit: i64,
) -> Result<Vec<RunChange>> {
    let (a_list, a_change, a_name, a_id) = match after {
        Some((l, c, n, i)) => (Some(l), Some(c), Some(n), Some(i)),
        None => (None, None, None, None),
    };
    Ok(on_db!(db, pool => {
        sqlx::query_as::<_, RunChange>(
            "SELECT list, change, list_id, name FROM run_change WHERE run_id = $1 \
             AND (CAST($2 AS TEXT) IS NULL OR list = $2) AND (CAST($3 AS TEXT) IS NULL OR change = $3) \
             AND (CAST($4 AS TEXT) IS NULL OR (list, change, name, list_id) > (CAST($4 AS TEXT), CAST($5 AS TEXT), CAST($6 AS TEXT), CAST($7 AS TEXT))) \
             ORDER BY list, change, name, list_id LIMIT $8",
        )
        .bind(run_id)
        .bind(list)
        .bind(change)
        .bind(a_list)
        .bind(a_change)
        .bind(a_name)
        .bind(a_id)
        .bind(limit)
        .fetch_all(pool)
        .await?
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DbOptions;

    #[test]
    fn the_enums_are_stored_as_the_texts_the_schema_documents() {
        let texts = |all: &[&'static str]| all.join(" ");
        assert_eq!(texts(&RunState::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>()), "live ended");
        assert_eq!(
            texts(&Step::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>()),
            "start customers_deleted customers employees_deleted employees done"
        );
        assert_eq!(texts(&RunMode::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>()), "full incremental");
        assert_eq!(
            texts(&Change::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>()),
            "new changed deactivated reactivated deleted"
        );
        assert_eq!(
            texts(&Outcome::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>()),
            "success warnings errors failed expired connection_error"
        );
        assert_eq!(texts(&EventLevel::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>()), "warning error");
        for step in Step::ALL {
            assert_eq!(step.as_str().parse::<Step>(), Ok(*step));
            assert_eq!(serde_json::to_value(step).unwrap(), serde_json::json!(step.as_str()));
        }
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::try_from(outcome.as_str()), Ok(*outcome));
        }
    }

    #[test]
    fn an_unknown_text_is_an_error_that_names_the_expected_ones() {
        let err = "Live".parse::<RunState>().unwrap_err();
        assert_eq!(err.to_string(), "\"Live\" is not a run state; expected one of: live, ended");
    }

    #[tokio::test]
    async fn rows_written_with_the_plain_texts_read_back_as_enums() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite:{}", dir.path().join("runs.db").display()), &DbOptions::default())
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let org = crate::store::catalog::create_organization(&db, "Runs").await.unwrap();
        let conn = crate::store::catalog::create_connection(
            &db,
            crate::store::catalog::NewConnection {
                organization_id: org.organization_id,
                name: "Office",
                username: "office",
                password_hash: "not a hash",
                company_file: "",
                run_every_minutes: 60,
                kind: crate::store::catalog::ConnectionKind::Desktop,
            },
        )
        .await
        .unwrap();
        let ticket = Ticket::generate();
        let started = start_run(&db, conn.connection_id, &ticket, now()).await.unwrap();
        assert_eq!(run_by_ticket(&db, &ticket).await.unwrap().unwrap().step, Step::Start);
        assert_eq!(live_run_for_connection(&db, conn.connection_id).await.unwrap().unwrap().run_id, started.run_id);

        // As a database written before the enums holds them.
        on_db!(&db, pool => {
            sqlx::query(
                "UPDATE run SET state = 'ended', outcome = 'connection_error', step = 'done' WHERE run_id = $1",
            )
            .bind(started.run_id)
            .execute(pool)
            .await
            .unwrap();
        });
        let mut tx = db.begin().await.unwrap();
        add_event(&mut tx, started.run_id, EventLevel::Warning, None, "a warning", None).await.unwrap();
        tx.commit().await.unwrap();

        let run = run_by_ticket(&db, &ticket).await.unwrap().unwrap();
        assert_eq!((run.state, run.outcome, run.step), (RunState::Ended, Some(Outcome::ConnectionError), Step::Done));
        assert_eq!(run_events(&db, started.run_id).await.unwrap()[0].level, EventLevel::Warning);
        assert_eq!(count_live_runs(&db).await.unwrap(), 0);
    }
}
