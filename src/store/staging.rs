//! Staged QuickBooks customers and employees: batch upserts, deletion marking and the reads the
//! API serves. Staging never edits or deletes a location, a staff member or a link.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::runs::Change;
use super::{Db, Param, Result, StoreError, Tx, on_db, on_tx, page_and_count};
use crate::record::{Customer, Employee, LinkedTo, RecordStatus, StagedCustomer, StagedEmployee};
use crate::review::Watched;

/// Where staged rows come from: the connection, its organization, the run and when.
#[derive(Clone, Copy, Debug)]
pub struct StageContext {
    pub connection_id: Uuid,
    pub organization_id: Uuid,
    pub run_id: Uuid,
    pub at: DateTime<Utc>,
}

/// The table of a staged list and its primary-key column.
fn table(list: List) -> (&'static str, &'static str) {
    match list {
        List::Customers => ("qb_customer", "qb_customer_id"),
        List::Employees => ("qb_employee", "qb_employee_id"),
    }
}

/// Records that this run has seen a batch of (ListID, EditSequence) of a list (one `list_seen`
/// row for the whole batch, read by the deletion sweep once the list is complete), and answers
/// the positions of the records that must be written: new ones, ones marked deleted, ones
/// without an EditSequence, and ones QuickBooks edited since they were staged (it changes a
/// record's EditSequence on every edit: that is what it is for). One statement, one round trip
/// and one row, however large the batch: the keys go in as one parameter.
async fn see_batch(tx: &mut Tx, ctx: &StageContext, list: List, batch: &[(&str, Option<&str>)]) -> Result<Vec<usize>> {
    let (table, _) = table(list);
    let positions: Vec<usize> = match tx {
        Tx::Sqlite(tx) => {
            // The seen row's ListIDs are taken out of the same JSON; a correlated lookup per key
            // uses the (connection_id, list_id) unique index.
            let sql = format!(
                "INSERT INTO list_seen (run_id, connection_id, list, list_ids) \
                 SELECT $1, $2, $3, json_group_array(k.value ->> 0) FROM json_each($4) AS k \
                 RETURNING (SELECT group_concat(k.key) FROM json_each($4) AS k WHERE k.value ->> 1 IS NULL \
                 OR (SELECT t.edit_sequence FROM {table} t WHERE t.connection_id = $2 AND t.list_id = k.value ->> 0 \
                 AND t.deleted_at IS NULL) IS NOT k.value ->> 1)"
            );
            let keys = serde_json::to_string(batch).map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
            let found: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(ctx.run_id)
                .bind(ctx.connection_id)
                .bind(list.name())
                .bind(keys)
                .fetch_one(&mut **tx)
                .await?;
            found.unwrap_or_default().split(',').filter_map(|n| n.parse().ok()).collect()
        }
        Tx::Postgres(tx) => {
            // The insert runs to completion whether or not the query reads it. A scalar subquery
            // is never turned into a join, so each key is one unique-index probe even while the
            // table's statistics predate its rows (as during a first sync, when a join would be
            // planned as a scan of all the connection's rows).
            let sql = format!(
                "WITH seen AS (INSERT INTO list_seen (run_id, connection_id, list, list_ids) VALUES ($1, $2, $3, $4)) \
                 SELECT COALESCE(array_agg(k.n - 1), CAST('{{}}' AS BIGINT[])) \
                 FROM unnest(CAST($4 AS TEXT[]), CAST($5 AS TEXT[])) WITH ORDINALITY AS k(list_id, sequence, n) \
                 WHERE k.sequence IS NULL OR (SELECT t.edit_sequence FROM {table} t WHERE t.connection_id = $2 \
                 AND t.list_id = k.list_id AND t.deleted_at IS NULL) IS DISTINCT FROM k.sequence"
            );
            let list_ids: Vec<&str> = batch.iter().map(|(list_id, _)| *list_id).collect();
            let sequences: Vec<Option<&str>> = batch.iter().map(|(_, sequence)| *sequence).collect();
            let found: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(ctx.run_id)
                .bind(ctx.connection_id)
                .bind(list.name())
                .bind(list_ids)
                .bind(sequences)
                .fetch_one(&mut **tx)
                .await?;
            found.into_iter().filter_map(|n| usize::try_from(n).ok()).collect()
        }
    };
    Ok(positions)
}

/// Of a batch (no ListID twice), records every ListID as seen by this run and hands back the
/// records that must be written (see [`see_batch`]); the others are already staged exactly as
/// they are and are not touched.
async fn to_write<T>(
    tx: &mut Tx,
    ctx: &StageContext,
    list: List,
    batch: Vec<T>,
    key: impl Fn(&T) -> (&str, Option<&str>),
) -> Result<Vec<T>> {
    if batch.is_empty() {
        return Ok(batch);
    }
    let keys: Vec<(&str, Option<&str>)> = batch.iter().map(&key).collect();
    let positions = see_batch(tx, ctx, list, &keys).await?;
    let mut write = vec![false; batch.len()];
    for position in positions {
        if let Some(flag) = write.get_mut(position) {
            *flag = true;
        }
    }
    Ok(batch.into_iter().zip(write).filter_map(|(record, write)| write.then_some(record)).collect())
}

/// What staging a batch changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Staged {
    /// Each record written, with what happened to it: its ListID and (full) name.
    pub changes: Vec<(Change, String, String)>,
    /// Customers whose full name is no longer the one staged (renamed or moved): the full
    /// names of their jobs must follow ([`follow_parents`]).
    pub renamed: Vec<String>,
}

/// Stages a batch of customers (no ListID twice): new and edited ones are written whole; rows
/// QuickBooks has not edited since they were staged are left as they are.
pub async fn stage_customers(tx: &mut Tx, ctx: &StageContext, batch: Vec<Customer>) -> Result<Staged> {
    stage(tx, ctx, batch).await
}

/// Stages a batch of employees, as [`stage_customers`] does customers.
pub async fn stage_employees(tx: &mut Tx, ctx: &StageContext, batch: Vec<Employee>) -> Result<Staged> {
    stage(tx, ctx, batch).await
}

/// How a kind of record lies in its staging table: a column for each field that reads filter,
/// sort or join on, `search` (see `Customer::search_text`), `watch` (the fields change review
/// compares, `review::Watched`), and `details`, the rest of the record as one JSON document.
trait StagedKind: Sized {
    const LIST: List;
    /// The record's text columns, in the order of [`StagingRow::text`].
    const TEXT_COLUMNS: &'static [&'static str];
    /// The column the run history names a record by.
    const NAME_COLUMN: &'static str;
    /// ListID and EditSequence.
    fn key(&self) -> (&str, Option<&str>);
    /// The name the run history shows (a customer's full name).
    fn display_name(&self) -> &str;
    fn active(&self) -> bool;
    fn into_row(self) -> serde_json::Result<StagingRow>;
}

/// The values of one staging row.
struct StagingRow {
    text: Vec<Option<String>>,
    is_active: bool,
    search: String,
    watch: String,
    details: String,
}

impl StagedKind for Customer {
    const LIST: List = List::Customers;
    const TEXT_COLUMNS: &'static [&'static str] =
        &["list_id", "edit_sequence", "time_modified", "name", "full_name", "parent_list_id"];
    const NAME_COLUMN: &'static str = "full_name";
    fn key(&self) -> (&str, Option<&str>) {
        (&self.list_id, self.edit_sequence.as_deref())
    }
    fn display_name(&self) -> &str {
        &self.full_name
    }
    fn active(&self) -> bool {
        self.is_active
    }
    fn into_row(self) -> serde_json::Result<StagingRow> {
        Ok(StagingRow {
            search: self.search_text(),
            watch: Watched::of_customer(&self).to_text(),
            details: serde_json::to_string(&self.details)?,
            is_active: self.is_active,
            text: vec![
                Some(self.list_id),
                self.edit_sequence,
                self.time_modified,
                Some(self.name),
                Some(self.full_name),
                self.parent_list_id,
            ],
        })
    }
}

impl StagedKind for Employee {
    const LIST: List = List::Employees;
    const TEXT_COLUMNS: &'static [&'static str] = &["list_id", "edit_sequence", "time_modified", "name"];
    const NAME_COLUMN: &'static str = "name";
    fn key(&self) -> (&str, Option<&str>) {
        (&self.list_id, self.edit_sequence.as_deref())
    }
    fn display_name(&self) -> &str {
        &self.name
    }
    fn active(&self) -> bool {
        self.is_active
    }
    fn into_row(self) -> serde_json::Result<StagingRow> {
        Ok(StagingRow {
            search: self.search_text(),
            watch: Watched::of_employee(&self).to_text(),
            details: serde_json::to_string(&self.details)?,
            is_active: self.is_active,
            text: vec![Some(self.list_id), self.edit_sequence, self.time_modified, Some(self.name)],
        })
    }
}

/// Writes the records of a batch that are new or edited (see [`to_write`]), and says what
/// happened to each.
async fn stage<T: StagedKind>(tx: &mut Tx, ctx: &StageContext, batch: Vec<T>) -> Result<Staged> {
    let changed = to_write(tx, ctx, T::LIST, batch, |record| record.key()).await?;
    let staged = classify(tx, ctx, &changed).await?;
    upsert(tx, ctx, changed).await?;
    Ok(staged)
}

/// How the records about to be written differ from their staged rows: new (or back from
/// deleted), deactivated, reactivated or otherwise changed; and which have a new full name.
/// Reads only the rows of the records to be written (none at all when QuickBooks changed nothing).
async fn classify<T: StagedKind>(tx: &mut Tx, ctx: &StageContext, records: &[T]) -> Result<Staged> {
    let mut staged = Staged::default();
    if records.is_empty() {
        return Ok(staged);
    }
    let (table, _) = table(T::LIST);
    let sql = format!(
        "SELECT list_id, is_active, CAST(CASE WHEN deleted_at IS NULL THEN 0 ELSE 1 END AS BIGINT), {} \
         FROM {table} WHERE connection_id = ",
        T::NAME_COLUMN
    );
    let previous: Vec<(String, bool, i64, String)> = on_tx!(tx, conn => {
        let mut qb = sqlx::QueryBuilder::new(sql);
        qb.push_bind(ctx.connection_id).push(" AND list_id IN (");
        let mut ids = qb.separated(", ");
        for record in records {
            ids.push_bind(record.key().0.to_string());
        }
        qb.push(")");
        qb.build_query_as().fetch_all(&mut *conn).await?
    });
    let previous: std::collections::HashMap<&str, (bool, bool, &str)> = previous
        .iter()
        .map(|(list_id, active, deleted, name)| (list_id.as_str(), (*active, *deleted != 0, name.as_str())))
        .collect();
    for record in records {
        let (list_id, _) = record.key();
        let change = match previous.get(list_id) {
            None | Some((_, true, _)) => Change::New,
            Some((true, false, _)) if !record.active() => Change::Deactivated,
            Some((false, false, _)) if record.active() => Change::Reactivated,
            Some(_) => Change::Changed,
        };
        if let Some((_, false, name)) = previous.get(list_id)
            && *name != record.display_name()
        {
            staged.renamed.push(list_id.to_string());
        }
        staged.changes.push((change, list_id.to_string(), record.display_name().to_string()));
    }
    Ok(staged)
}

/// Brings the full names of the jobs under `parents` (customers just renamed or moved) up to
/// date: `Parent:Job` from the parent's staged full name, at every level below, with their
/// parent's full name and sublevel. QuickBooks does not change a job's EditSequence when its
/// parent is renamed, so it may not send the job again at all. Returns the jobs changed, with
/// their new full names.
pub async fn follow_parents(tx: &mut Tx, ctx: &StageContext, parents: &[String]) -> Result<Vec<(String, String)>> {
    if parents.is_empty() {
        return Ok(Vec::new());
    }
    // Every job under the parents, with the full name its parent gives it. The depth bound only
    // guards against a cycle no QuickBooks would allow (it nests jobs at most five deep). CROSS
    // JOIN keeps SQLite's join order: from the few rows of the tree to their jobs through
    // `qb_customer_by_parent`. Left to itself, SQLite 3.51 scans every customer of the connection
    // for each row of the tree (0.6 s for 30 renamed customers among 20,000).
    const TREE: &str = "WITH RECURSIVE tree (list_id, full_name, parent_full_name, depth) AS ( \
         SELECT c.list_id, c.full_name, CAST(NULL AS TEXT), 0 FROM {roots} CROSS JOIN qb_customer c \
         WHERE c.connection_id = $1 AND c.list_id = r.value AND c.deleted_at IS NULL \
         UNION ALL \
         SELECT c.list_id, t.full_name || ':' || c.name, t.full_name, t.depth + 1 \
         FROM tree t CROSS JOIN qb_customer c \
         WHERE c.connection_id = $1 AND c.parent_list_id = t.list_id AND c.deleted_at IS NULL AND t.depth < 32) \
         SELECT t.list_id, t.full_name, t.parent_full_name FROM tree t \
         WHERE t.depth > 0 ORDER BY t.depth";
    let roots = match tx {
        Tx::Sqlite(_) => "json_each($2) AS r",
        Tx::Postgres(_) => "unnest(CAST($2 AS TEXT[])) AS r(value)",
    };
    let sql = TREE.replace("{roots}", roots);
    let jobs: Vec<(String, String, String)> = match tx {
        Tx::Sqlite(tx) => {
            let ids = serde_json::to_string(parents).map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ctx.connection_id).bind(ids).fetch_all(&mut **tx).await?
        }
        Tx::Postgres(tx) => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ctx.connection_id).bind(parents).fetch_all(&mut **tx).await?
        }
    };
    let mut changed = Vec::new();
    for (list_id, full_name, parent_full_name) in jobs {
        let row = on_tx!(tx, conn => {
            sqlx::query_as::<_, CustomerRow>(
                "SELECT c.*, NULL AS listed_at, NULL AS link_location_id, NULL AS link_location_name \
                 FROM qb_customer c WHERE c.connection_id = $1 AND c.list_id = $2",
            )
            .bind(ctx.connection_id)
            .bind(&list_id)
            .fetch_one(&mut *conn)
            .await?
        });
        let mut record = StagedCustomer::try_from(row)?.record;
        if record.full_name == full_name
            && record.details.parent_full_name.as_deref() == Some(parent_full_name.as_str())
        {
            continue;
        }
        // QuickBooks names cannot hold ':', its level separator.
        let levels = full_name.matches(':').count() as i32;
        record.full_name = full_name;
        record.details.parent_full_name = Some(parent_full_name);
        record.details.sublevel = levels;
        let details = serde_json::to_string(&record.details).map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
        on_tx!(tx, conn => {
            sqlx::query(
                "UPDATE qb_customer SET full_name = $3, details = $4, search = $5 WHERE connection_id = $1 AND list_id = $2",
            )
            .bind(ctx.connection_id)
            .bind(&list_id)
            .bind(&record.full_name)
            .bind(details)
            .bind(record.search_text())
            .execute(&mut *conn)
            .await?;
        });
        changed.push((list_id, record.full_name));
    }
    Ok(changed)
}

/// Marks records QuickBooks reported deleted (ListDeletedQueryRq) as deleted at the time it
/// gave, or `ctx.at` when it gave none. Records not staged, or already marked, are left alone.
/// Returns those newly marked, with their (full) names.
pub async fn mark_deleted(
    tx: &mut Tx,
    ctx: &StageContext,
    list: List,
    deleted: &[(String, Option<DateTime<Utc>>)],
) -> Result<Vec<(String, String)>> {
    let (table, _) = table(list);
    let name = match list {
        List::Customers => "full_name",
        List::Employees => "name",
    };
    let sql = format!(
        "UPDATE {table} SET deleted_at = $3 WHERE connection_id = $1 AND list_id = $2 AND deleted_at IS NULL \
         RETURNING list_id, {name}"
    );
    let mut marked = Vec::new();
    for (list_id, at) in deleted {
        let row: Option<(String, String)> = on_tx!(tx, conn => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(ctx.connection_id)
                .bind(list_id)
                .bind(at.unwrap_or(ctx.at))
                .fetch_optional(&mut *conn)
                .await?
        });
        marked.extend(row);
    }
    Ok(marked)
}

/// Inserts or updates a batch of records in one statement. The rows bring their own columns as
/// `VALUES` rows, which both databases name `column1`, `column2`...; the columns every row of a
/// batch shares (connection, organization, seen_at, created_at) are bound once for the whole
/// statement. New rows get time-ordered (v7) ids, so a large first sync appends to the
/// primary-key index instead of scattering over it. The batch must not hold the same ListID
/// twice (PostgreSQL refuses to touch a row twice in one statement).
async fn upsert<T: StagedKind>(tx: &mut Tx, ctx: &StageContext, batch: Vec<T>) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let (table, id_column) = table(T::LIST);
    let rows = batch
        .into_iter()
        .map(StagedKind::into_row)
        .collect::<serde_json::Result<Vec<_>>>()
        .map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
    let own: Vec<&str> = T::TEXT_COLUMNS.iter().copied().chain(["is_active", "search", "watch", "details"]).collect();
    let mut sql = format!(
        "INSERT INTO {table} ({id_column}, {}, connection_id, organization_id, seen_at, created_at) SELECT ",
        own.join(", ")
    );
    for i in 1..=own.len() + 1 {
        sql.push_str(&format!("v.column{i}, "));
    }
    let mut tail = String::from(") AS v WHERE true ON CONFLICT (connection_id, list_id) DO UPDATE SET ");
    for column in own.iter().filter(|c| **c != "list_id") {
        tail.push_str(&format!("{column} = excluded.{column}, "));
    }
    // SQLite needs the WHERE above to read ON CONFLICT as the upsert's.
    tail.push_str("seen_at = excluded.seen_at, deleted_at = NULL");
    on_tx!(tx, conn => {
        let mut qb = sqlx::QueryBuilder::new(sql);
        qb.push_bind(ctx.connection_id).push(", ").push_bind(ctx.organization_id).push(", ");
        qb.push_bind(ctx.at).push(", ").push_bind(ctx.at).push(" FROM (");
        qb.push_values(rows, |mut row, values| {
            row.push_bind(Uuid::now_v7());
            for value in values.text {
                row.push_bind(value);
            }
            row.push_bind(values.is_active).push_bind(values.search).push_bind(values.watch).push_bind(values.details);
        });
        qb.push(tail);
        qb.build().execute(&mut *conn).await?;
    });
    Ok(())
}

/// Which staged list a deletion sweep covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum List {
    Customers,
    Employees,
}

impl List {
    /// The list's name in `list_seen.list` (and in metrics).
    pub fn name(self) -> &'static str {
        match self {
            List::Customers => "customers",
            List::Employees => "employees",
        }
    }

    /// The connection's column holding when the list was last complete.
    fn listed_at_column(self) -> &'static str {
        match self {
            List::Customers => "customers_listed_at",
            List::Employees => "employees_listed_at",
        }
    }
}

/// After a complete full list was staged by `ctx.run_id`, marks every record of the connection
/// that the list no longer contains as deleted. Returns those newly marked, with their (full)
/// names. [`complete_list`] then records the list as complete.
///
/// A record marked deleted was last seen in the previous complete list (it was not deleted
/// then), unless it was written later: its `seen_at` becomes the later of the two.
pub async fn mark_missing_deleted(tx: &mut Tx, ctx: &StageContext, list: List) -> Result<Vec<(String, String)>> {
    let (table, _) = table(list);
    let listed_at = list.listed_at_column();
    let name = match list {
        List::Customers => "full_name",
        List::Employees => "name",
    };
    let previous_sql = format!("SELECT {listed_at} FROM connection WHERE connection_id = $1");
    let previous: Option<DateTime<Utc>> = on_tx!(tx, conn => {
        sqlx::query_scalar(sqlx::AssertSqlSafe(previous_sql)).bind(ctx.connection_id).fetch_one(&mut *conn).await?
    });
    let sweep = match tx {
        // Times are stored as RFC 3339 text in UTC with the same offset, which sorts as time does.
        Tx::Sqlite(_) => format!(
            "UPDATE {table} SET deleted_at = $3, seen_at = COALESCE(MAX(seen_at, $4), seen_at) \
             WHERE connection_id = $1 AND deleted_at IS NULL AND list_id NOT IN \
             (SELECT j.value FROM list_seen s, json_each(s.list_ids) AS j WHERE s.run_id = $2 AND s.list = $5) \
             RETURNING list_id, {name}"
        ),
        Tx::Postgres(tx) => {
            // The statistics of list_seen and of the unnested arrays are guesses (the rows are
            // minutes old), and a nested loop over them is quadratic: 2.5 s for 5,000 customers.
            // Without nested loops the anti-join is hashed (or merged), whatever the guesses. That
            // makes the plan's cost look huge, which would start the JIT compiler (a quarter of a
            // second for nothing): it is off too. SET LOCAL ends with this transaction, whose
            // other statements are key lookups.
            sqlx::query("SET LOCAL enable_nestloop = off").execute(&mut **tx).await?;
            sqlx::query("SET LOCAL jit = off").execute(&mut **tx).await?;
            format!(
                "UPDATE {table} t SET deleted_at = $3, seen_at = GREATEST(t.seen_at, $4) \
                 WHERE t.connection_id = $1 AND t.deleted_at IS NULL AND NOT EXISTS \
                 (SELECT 1 FROM list_seen s CROSS JOIN LATERAL unnest(s.list_ids) AS u(list_id) \
                  WHERE s.run_id = $2 AND s.list = $5 AND u.list_id = t.list_id) \
                 RETURNING t.list_id, t.{name}"
            )
        }
    };
    let marked = on_tx!(tx, conn => {
        sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sweep))
            .bind(ctx.connection_id)
            .bind(ctx.run_id)
            .bind(ctx.at)
            .bind(previous)
            .bind(list.name())
            .fetch_all(&mut *conn)
            .await?
    });
    Ok(marked)
}

/// A list was read completely by `ctx.run_id` (in full, or everything changed since the
/// watermark): remembers when it was brought up to date and its new watermark (`None` keeps the
/// old one: the run read no record of it), and forgets what the run saw of it. Call it in the
/// transaction that stages the list's last response, after any deletion sweep.
pub async fn complete_list(tx: &mut Tx, ctx: &StageContext, list: List, watermark: Option<&str>) -> Result<()> {
    let listed_at = list.listed_at_column();
    let watermark_column = match list {
        List::Customers => "customers_watermark",
        List::Employees => "employees_watermark",
    };
    let record_sql = format!(
        "UPDATE connection SET {listed_at} = $2, {watermark_column} = COALESCE($3, {watermark_column}) \
         WHERE connection_id = $1"
    );
    const FORGET_SQL: &str = "DELETE FROM list_seen WHERE run_id = $1 AND list = $2";
    on_tx!(tx, conn => {
        sqlx::query(sqlx::AssertSqlSafe(record_sql))
            .bind(ctx.connection_id)
            .bind(ctx.at)
            .bind(watermark)
            .execute(&mut *conn)
            .await?;
        sqlx::query(FORGET_SQL).bind(ctx.run_id).bind(list.name()).execute(&mut *conn).await?;
    });
    Ok(())
}

/// Forgets what the connection's runs other than `run_id` saw of its lists: those runs ended
/// before completing them.
pub async fn forget_seen(db: &Db, connection_id: Uuid, run_id: Uuid) -> Result<()> {
    on_db!(db, pool => {
        sqlx::query("DELETE FROM list_seen WHERE connection_id = $1 AND run_id <> $2")
            .bind(connection_id)
            .bind(run_id)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// When a staged record was last seen in QuickBooks: when qbsync last wrote it, or, if later and
/// the record is not deleted, when its list was last complete (every record not deleted was in it).
fn last_seen(written: DateTime<Utc>, deleted: bool, listed: Option<DateTime<Utc>>) -> DateTime<Utc> {
    match listed {
        Some(listed) if !deleted && listed > written => listed,
        _ => written,
    }
}

/// A staged customer's row, with the location it is linked to.
#[derive(Clone, Debug, sqlx::FromRow)]
struct CustomerRow {
    qb_customer_id: Uuid,
    connection_id: Uuid,
    list_id: String,
    edit_sequence: Option<String>,
    time_modified: Option<String>,
    name: String,
    full_name: String,
    parent_list_id: Option<String>,
    is_active: bool,
    details: String,
    /// The watched fields as stored (read by [`rederive_customers`]).
    watch: String,
    /// When qbsync last wrote the record (see [`last_seen`]).
    seen_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
    /// When the connection's customer list was last complete.
    listed_at: Option<DateTime<Utc>>,
    link_location_id: Option<Uuid>,
    link_location_name: Option<String>,
}

/// A details document that does not read back is a database fault, not a panic.
fn details<T: serde::de::DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|err| StoreError::Database(sqlx::Error::Decode(Box::new(err))))
}

fn linked_to(id: Option<Uuid>, name: Option<String>) -> Option<LinkedTo> {
    id.map(|id| LinkedTo { id, name: name.unwrap_or_default() })
}

impl TryFrom<CustomerRow> for StagedCustomer {
    type Error = StoreError;

    fn try_from(row: CustomerRow) -> Result<StagedCustomer> {
        let deleted = row.deleted_at.is_some();
        Ok(StagedCustomer {
            id: row.qb_customer_id,
            connection_id: row.connection_id,
            status: RecordStatus::of(row.is_active, deleted),
            seen_at: last_seen(row.seen_at, deleted, row.listed_at),
            deleted_at: row.deleted_at,
            link: linked_to(row.link_location_id, row.link_location_name),
            record: Customer {
                list_id: row.list_id,
                edit_sequence: row.edit_sequence,
                time_modified: row.time_modified,
                name: row.name,
                full_name: row.full_name,
                parent_list_id: row.parent_list_id,
                is_active: row.is_active,
                details: details(&row.details)?,
            },
        })
    }
}

/// A staged employee's row, with the staff member it is linked to.
#[derive(Clone, Debug, sqlx::FromRow)]
struct EmployeeRow {
    qb_employee_id: Uuid,
    connection_id: Uuid,
    list_id: String,
    edit_sequence: Option<String>,
    time_modified: Option<String>,
    name: String,
    is_active: bool,
    details: String,
    watch: String,
    seen_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
    listed_at: Option<DateTime<Utc>>,
    link_staff_id: Option<Uuid>,
    link_staff_name: Option<String>,
}

impl TryFrom<EmployeeRow> for StagedEmployee {
    type Error = StoreError;

    fn try_from(row: EmployeeRow) -> Result<StagedEmployee> {
        let deleted = row.deleted_at.is_some();
        Ok(StagedEmployee {
            id: row.qb_employee_id,
            connection_id: row.connection_id,
            status: RecordStatus::of(row.is_active, deleted),
            seen_at: last_seen(row.seen_at, deleted, row.listed_at),
            deleted_at: row.deleted_at,
            link: linked_to(row.link_staff_id, row.link_staff_name),
            record: Employee {
                list_id: row.list_id,
                edit_sequence: row.edit_sequence,
                time_modified: row.time_modified,
                name: row.name,
                is_active: row.is_active,
                details: details(&row.details)?,
            },
        })
    }
}

/// Filters and keyset paging for the staged-record lists.
#[derive(Clone, Debug, Default)]
pub struct RecordFilter {
    pub connection_id: Option<Uuid>,
    /// Any of active, inactive and deleted; empty: all.
    pub status: Vec<RecordStatus>,
    pub linked: Option<bool>,
    /// Free text; each of its words must be in the record's search text (see `matching::search`).
    pub q: Option<String>,
    /// Resume after this (sort name, id).
    pub after: Option<(String, Uuid)>,
    pub limit: i64,
}

/// The shared WHERE clause of a staged list and its count, on the table aliased `t` joined to
/// its link's table aliased `k` (`key`: the link's key column): $1 organization, $2 connection,
/// $3 statuses (`,active,inactive,`), $4 linked, then the query words (see
/// [`super::search_clause`]). The cursor's parameters come after them ([`RECORD_CURSOR`]).
fn record_filter_sql(t: &str, k: &str, key: &str) -> String {
    format!(
        " WHERE {t}.organization_id = $1 \
         AND ($2 IS NULL OR {t}.connection_id = $2) \
         AND (CAST($3 AS TEXT) IS NULL \
              OR (CAST($3 AS TEXT) LIKE '%,active,%' AND {t}.is_active AND {t}.deleted_at IS NULL) \
              OR (CAST($3 AS TEXT) LIKE '%,inactive,%' AND NOT {t}.is_active AND {t}.deleted_at IS NULL) \
              OR (CAST($3 AS TEXT) LIKE '%,deleted,%' AND {t}.deleted_at IS NOT NULL)) \
         AND (CAST($4 AS BOOLEAN) IS NULL OR CAST($4 AS BOOLEAN) = ({k}.{key} IS NOT NULL)){}",
        super::search_clause(&format!("{t}.search"), 5)
    )
}

/// The first parameter after a staged list's filter (the cursor's sort key).
const RECORD_CURSOR: usize = 5 + crate::matching::search::MAX_QUERY_WORDS;

const CUSTOMER_FROM: &str = " FROM qb_customer c LEFT JOIN location l ON l.qb_customer_id = c.qb_customer_id";

/// One page of an organization's staged customers, and on the first page how many match in all.
pub async fn list_customers(
    db: &Db,
    organization_id: Uuid,
    filter: &RecordFilter,
) -> Result<(Vec<StagedCustomer>, Option<i64>)> {
    let where_sql = record_filter_sql("c", "l", "location_id");
    let (key, id, limit) = (RECORD_CURSOR, RECORD_CURSOR + 1, RECORD_CURSOR + 2);
    let page_sql = format!(
        "SELECT c.*, (SELECT k.customers_listed_at FROM connection k WHERE k.connection_id = c.connection_id) AS listed_at, \
         l.location_id AS link_location_id, l.name AS link_location_name{CUSTOMER_FROM}{where_sql} \
         AND (c.full_name, c.qb_customer_id) > (CAST(${key} AS TEXT), ${id}) \
         ORDER BY c.full_name, c.qb_customer_id LIMIT ${limit}"
    );
    let count_sql = format!("SELECT COUNT(*){CUSTOMER_FROM}{where_sql}");
    let params = record_params(organization_id, filter);
    let (rows, total) =
        page_and_count::<CustomerRow>(db, page_sql, count_sql, &params, &filter.after, filter.limit).await?;
    Ok((rows.into_iter().map(StagedCustomer::try_from).collect::<Result<_>>()?, total))
}

const EMPLOYEE_FROM: &str = " FROM qb_employee e LEFT JOIN staff s ON s.qb_employee_id = e.qb_employee_id";

/// One page of an organization's staged employees, and on the first page how many match in all.
pub async fn list_employees(
    db: &Db,
    organization_id: Uuid,
    filter: &RecordFilter,
) -> Result<(Vec<StagedEmployee>, Option<i64>)> {
    let where_sql = record_filter_sql("e", "s", "staff_id");
    let (key, id, limit) = (RECORD_CURSOR, RECORD_CURSOR + 1, RECORD_CURSOR + 2);
    let page_sql = format!(
        "SELECT e.*, (SELECT k.employees_listed_at FROM connection k WHERE k.connection_id = e.connection_id) AS listed_at, \
         s.staff_id AS link_staff_id, s.name AS link_staff_name{EMPLOYEE_FROM}{where_sql} \
         AND (e.name, e.qb_employee_id) > (CAST(${key} AS TEXT), ${id}) \
         ORDER BY e.name, e.qb_employee_id LIMIT ${limit}"
    );
    let count_sql = format!("SELECT COUNT(*){EMPLOYEE_FROM}{where_sql}");
    let params = record_params(organization_id, filter);
    let (rows, total) =
        page_and_count::<EmployeeRow>(db, page_sql, count_sql, &params, &filter.after, filter.limit).await?;
    Ok((rows.into_iter().map(StagedEmployee::try_from).collect::<Result<_>>()?, total))
}

/// A staged customer of the organization, for making a location from it inside `tx`.
pub async fn customer_in(tx: &mut Tx, organization_id: Uuid, qb_customer_id: Uuid) -> Result<Customer> {
    let row = on_tx!(tx, conn => {
        sqlx::query_as::<_, CustomerRow>(
            "SELECT c.*, NULL AS listed_at, NULL AS link_location_id, NULL AS link_location_name \
             FROM qb_customer c WHERE c.qb_customer_id = $1 AND c.organization_id = $2",
        )
        .bind(qb_customer_id)
        .bind(organization_id)
        .fetch_optional(&mut *conn)
        .await?
    });
    Ok(StagedCustomer::try_from(row.ok_or(StoreError::NotFound)?)?.record)
}

/// A staged employee of the organization, for making a staff member from it inside `tx`.
pub async fn employee_in(tx: &mut Tx, organization_id: Uuid, qb_employee_id: Uuid) -> Result<Employee> {
    let row = on_tx!(tx, conn => {
        sqlx::query_as::<_, EmployeeRow>(
            "SELECT e.*, NULL AS listed_at, NULL AS link_staff_id, NULL AS link_staff_name \
             FROM qb_employee e WHERE e.qb_employee_id = $1 AND e.organization_id = $2",
        )
        .bind(qb_employee_id)
        .bind(organization_id)
        .fetch_optional(&mut *conn)
        .await?
    });
    Ok(StagedEmployee::try_from(row.ok_or(StoreError::NotFound)?)?.record)
}

/// The filter parameters of both staged lists, in their WHERE clause's order.
fn record_params(organization_id: Uuid, filter: &RecordFilter) -> Vec<Param> {
    let statuses = (!filter.status.is_empty()).then(|| {
        let names: Vec<&str> = filter.status.iter().map(|s| s.as_str()).collect();
        format!(",{},", names.join(","))
    });
    let mut params = vec![
        Param::Id(Some(organization_id)),
        Param::Id(filter.connection_id),
        Param::Text(statuses),
        Param::Flag(filter.linked),
    ];
    params.extend(super::search_params(filter.q.as_deref()));
    params
}

/// How many customers and employees of a connection are staged and not deleted.
pub async fn staged_counts(db: &Db, connection_id: Uuid) -> Result<(i64, i64)> {
    Ok(on_db!(db, pool => {
        let customers = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM qb_customer WHERE connection_id = $1 AND deleted_at IS NULL",
        )
        .bind(connection_id)
        .fetch_one(pool)
        .await?;
        let employees = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM qb_employee WHERE connection_id = $1 AND deleted_at IS NULL",
        )
        .bind(connection_id)
        .fetch_one(pool)
        .await?;
        (customers, employees)
    }))
}

/// One rewrite of a staged row's derived text: its id, the new search text and watched fields,
/// and the watched fields it held (links reviewed against those are moved on to the new form).
struct Rederived {
    id: Uuid,
    search: String,
    watch: String,
    old_watch: String,
}

/// Rewrites the derived text (search, watch) of staged rows in one transaction; see
/// `store::derived`.
async fn write_rederived(db: &Db, list: List, rows: Vec<Rederived>) -> Result<()> {
    let (table, id_column) = table(list);
    let link = match list {
        List::Customers => &super::links::LOCATION,
        List::Employees => &super::links::STAFF,
    };
    let update =
        format!("UPDATE {table} SET search = $2, watch = $3 WHERE {id_column} = $1 AND (search <> $2 OR watch <> $3)");
    // A link reviewed against the record's old form of the same fields stays reviewed.
    let reviewed =
        format!("UPDATE {} SET qb_reviewed = $2 WHERE {} = $1 AND qb_reviewed = $3", link.table, link.link_column);
    let mut tx = db.begin().await?;
    let outcome: Result<()> = async {
        for row in &rows {
            on_tx!(&mut tx, conn => {
                sqlx::query(sqlx::AssertSqlSafe(update.clone()))
                    .bind(row.id)
                    .bind(&row.search)
                    .bind(&row.watch)
                    .execute(&mut *conn)
                    .await?;
                if !row.old_watch.is_empty() && row.old_watch != row.watch {
                    sqlx::query(sqlx::AssertSqlSafe(reviewed.clone()))
                        .bind(row.id)
                        .bind(&row.watch)
                        .bind(&row.old_watch)
                        .execute(&mut *conn)
                        .await?;
                }
            });
        }
        Ok(())
    }
    .await;
    tx.finish(outcome).await
}

/// Recomputes every staged customer's search text and watched fields; how many were read.
pub(crate) async fn rederive_customers(db: &Db) -> Result<u64> {
    let read = async |after: Uuid| -> Result<Vec<CustomerRow>> {
        Ok(on_db!(db, pool => {
            sqlx::query_as::<_, CustomerRow>(
                "SELECT c.*, NULL AS listed_at, NULL AS link_location_id, NULL AS link_location_name \
                 FROM qb_customer c WHERE c.qb_customer_id > $1 ORDER BY c.qb_customer_id LIMIT $2",
            )
            .bind(after)
            .bind(super::derived::BATCH)
            .fetch_all(pool)
            .await?
        }))
    };
    let write = async |rows: Vec<CustomerRow>| -> Result<()> {
        let mut out = Vec::with_capacity(rows.len());
        for mut row in rows {
            let id = row.qb_customer_id;
            let old_watch = std::mem::take(&mut row.watch);
            let record = StagedCustomer::try_from(row)?.record;
            out.push(Rederived {
                id,
                search: record.search_text(),
                watch: Watched::of_customer(&record).to_text(),
                old_watch,
            });
        }
        write_rederived(db, List::Customers, out).await
    };
    super::derived::in_batches(read, |row: &CustomerRow| row.qb_customer_id, write).await
}

/// Recomputes every staged employee's search text and watched fields; how many were read.
pub(crate) async fn rederive_employees(db: &Db) -> Result<u64> {
    let read = async |after: Uuid| -> Result<Vec<EmployeeRow>> {
        Ok(on_db!(db, pool => {
            sqlx::query_as::<_, EmployeeRow>(
                "SELECT e.*, NULL AS listed_at, NULL AS link_staff_id, NULL AS link_staff_name \
                 FROM qb_employee e WHERE e.qb_employee_id > $1 ORDER BY e.qb_employee_id LIMIT $2",
            )
            .bind(after)
            .bind(super::derived::BATCH)
            .fetch_all(pool)
            .await?
        }))
    };
    let write = async |rows: Vec<EmployeeRow>| -> Result<()> {
        let mut out = Vec::with_capacity(rows.len());
        for mut row in rows {
            let id = row.qb_employee_id;
            let old_watch = std::mem::take(&mut row.watch);
            let record = StagedEmployee::try_from(row)?.record;
            out.push(Rederived {
                id,
                search: record.search_text(),
                watch: Watched::of_employee(&record).to_text(),
                old_watch,
            });
        }
        write_rederived(db, List::Employees, out).await
    };
    super::derived::in_batches(read, |row: &EmployeeRow| row.qb_employee_id, write).await
}
