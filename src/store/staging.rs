//! Staged QuickBooks customers and employees: batch upserts, deletion marking and the reads the
//! API serves. Staging never edits or deletes a location, a staff member or a link.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Db, Param, Result, Tx, on_db, on_tx, page_and_count};
use crate::qbxml::{Customer, Employee};

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

/// Stages a batch of customers (no ListID twice): new and edited ones are written whole; rows
/// QuickBooks has not edited since they were staged are left as they are.
pub async fn stage_customers(tx: &mut Tx, ctx: &StageContext, batch: Vec<Customer>) -> Result<()> {
    let changed =
        to_write(tx, ctx, List::Customers, batch, |c| (c.list_id.as_str(), c.edit_sequence.as_deref())).await?;
    upsert_customers(tx, ctx, changed).await
}

/// Stages a batch of employees, as [`stage_customers`] does customers.
pub async fn stage_employees(tx: &mut Tx, ctx: &StageContext, batch: Vec<Employee>) -> Result<()> {
    let changed =
        to_write(tx, ctx, List::Employees, batch, |e| (e.list_id.as_str(), e.edit_sequence.as_deref())).await?;
    upsert_employees(tx, ctx, changed).await
}

/// Inserts or updates a batch of customers in one statement (see [`upsert_head`]). New rows get
/// time-ordered (v7) ids, so a large first sync appends to the primary-key index instead of
/// scattering over it. The batch must not hold the same ListID twice (PostgreSQL refuses to
/// touch a row twice in one statement).
async fn upsert_customers(tx: &mut Tx, ctx: &StageContext, batch: Vec<Customer>) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    on_tx!(tx, conn => {
        let mut qb = sqlx::QueryBuilder::new(upsert_head(
            "qb_customer",
            &[
                "qb_customer_id", "list_id", "time_created", "time_modified", "edit_sequence", "name", "full_name",
                "is_active", "parent_list_id", "parent_full_name", "sublevel", "company_name", "salutation",
                "first_name", "middle_name", "last_name", "job_title", "bill_addr1", "bill_addr2", "bill_addr3",
                "bill_addr4", "bill_addr5", "bill_city", "bill_state", "bill_postal_code", "bill_country", "bill_note",
                "ship_addr1", "ship_addr2", "ship_addr3", "ship_addr4", "ship_addr5", "ship_city", "ship_state",
                "ship_postal_code", "ship_country", "ship_note", "phone", "alt_phone", "fax", "email", "contact",
                "notes", "job_status",
            ],
        ));
        qb.push_bind(ctx.connection_id).push(", ").push_bind(ctx.organization_id).push(", ");
        qb.push_bind(ctx.at).push(", ").push_bind(ctx.at).push(" FROM (");
        qb.push_values(batch, |mut row, c| {
            row.push_bind(Uuid::now_v7())
                .push_bind(c.list_id)
                .push_bind(c.time_created)
                .push_bind(c.time_modified)
                .push_bind(c.edit_sequence)
                .push_bind(c.name)
                .push_bind(c.full_name)
                .push_bind(c.is_active)
                .push_bind(c.parent_list_id)
                .push_bind(c.parent_full_name)
                .push_bind(i64::from(c.sublevel))
                .push_bind(c.company_name)
                .push_bind(c.salutation)
                .push_bind(c.first_name)
                .push_bind(c.middle_name)
                .push_bind(c.last_name)
                .push_bind(c.job_title);
            for a in [c.bill_address, c.ship_address] {
                row.push_bind(a.addr1)
                    .push_bind(a.addr2)
                    .push_bind(a.addr3)
                    .push_bind(a.addr4)
                    .push_bind(a.addr5)
                    .push_bind(a.city)
                    .push_bind(a.state)
                    .push_bind(a.postal_code)
                    .push_bind(a.country)
                    .push_bind(a.note);
            }
            row.push_bind(c.phone)
                .push_bind(c.alt_phone)
                .push_bind(c.fax)
                .push_bind(c.email)
                .push_bind(c.contact)
                .push_bind(c.notes)
                .push_bind(c.job_status);
        });
        qb.push(
            ") AS v WHERE true ON CONFLICT (connection_id, list_id) DO UPDATE SET time_created = excluded.time_created, \
             time_modified = excluded.time_modified, edit_sequence = excluded.edit_sequence, name = excluded.name, \
             full_name = excluded.full_name, is_active = excluded.is_active, parent_list_id = excluded.parent_list_id, \
             parent_full_name = excluded.parent_full_name, sublevel = excluded.sublevel, \
             company_name = excluded.company_name, salutation = excluded.salutation, first_name = excluded.first_name, \
             middle_name = excluded.middle_name, last_name = excluded.last_name, job_title = excluded.job_title, \
             bill_addr1 = excluded.bill_addr1, bill_addr2 = excluded.bill_addr2, bill_addr3 = excluded.bill_addr3, \
             bill_addr4 = excluded.bill_addr4, bill_addr5 = excluded.bill_addr5, bill_city = excluded.bill_city, \
             bill_state = excluded.bill_state, bill_postal_code = excluded.bill_postal_code, \
             bill_country = excluded.bill_country, bill_note = excluded.bill_note, ship_addr1 = excluded.ship_addr1, \
             ship_addr2 = excluded.ship_addr2, ship_addr3 = excluded.ship_addr3, ship_addr4 = excluded.ship_addr4, \
             ship_addr5 = excluded.ship_addr5, ship_city = excluded.ship_city, ship_state = excluded.ship_state, \
             ship_postal_code = excluded.ship_postal_code, ship_country = excluded.ship_country, \
             ship_note = excluded.ship_note, phone = excluded.phone, alt_phone = excluded.alt_phone, \
             fax = excluded.fax, email = excluded.email, contact = excluded.contact, notes = excluded.notes, \
             job_status = excluded.job_status, seen_at = excluded.seen_at, deleted_at = NULL",
        );
        qb.build().execute(&mut *conn).await?;
    });
    Ok(())
}

/// The start of an upsert into `table` whose rows bring their own `columns` (the new row's id
/// first) as `VALUES` rows, which both databases name `column1`, `column2`...: the columns every
/// row of a batch shares (connection, organization, seen_at, created_at) are bound once for the
/// whole statement instead of once per row. The caller binds those four, then the rows, then
/// closes `) AS v WHERE true ON CONFLICT ...` (SQLite needs the WHERE to read ON CONFLICT as
/// the upsert's).
fn upsert_head(table: &str, columns: &[&str]) -> String {
    let mut sql = format!(
        "INSERT INTO {table} ({}, connection_id, organization_id, seen_at, created_at) SELECT ",
        columns.join(", ")
    );
    for i in 1..=columns.len() {
        sql.push_str(&format!("v.column{i}, "));
    }
    sql
}

/// Inserts or updates a batch of employees in one statement, as [`upsert_customers`] does
/// customers (no ListID twice in a batch).
async fn upsert_employees(tx: &mut Tx, ctx: &StageContext, batch: Vec<Employee>) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    on_tx!(tx, conn => {
        let mut qb = sqlx::QueryBuilder::new(upsert_head(
            "qb_employee",
            &[
                "qb_employee_id", "list_id", "time_created", "time_modified", "edit_sequence", "name", "is_active",
                "salutation", "first_name", "middle_name", "last_name", "job_title", "addr1", "addr2", "addr3",
                "addr4", "addr5", "city", "state", "postal_code", "country", "address_note", "phone", "mobile",
                "alt_phone", "fax", "email", "employee_type", "hired_date", "released_date", "notes",
            ],
        ));
        qb.push_bind(ctx.connection_id).push(", ").push_bind(ctx.organization_id).push(", ");
        qb.push_bind(ctx.at).push(", ").push_bind(ctx.at).push(" FROM (");
        qb.push_values(batch, |mut row, e| {
            let a = e.address;
            row.push_bind(Uuid::now_v7())
                .push_bind(e.list_id)
                .push_bind(e.time_created)
                .push_bind(e.time_modified)
                .push_bind(e.edit_sequence)
                .push_bind(e.name)
                .push_bind(e.is_active)
                .push_bind(e.salutation)
                .push_bind(e.first_name)
                .push_bind(e.middle_name)
                .push_bind(e.last_name)
                .push_bind(e.job_title)
                .push_bind(a.addr1)
                .push_bind(a.addr2)
                .push_bind(a.addr3)
                .push_bind(a.addr4)
                .push_bind(a.addr5)
                .push_bind(a.city)
                .push_bind(a.state)
                .push_bind(a.postal_code)
                .push_bind(a.country)
                .push_bind(a.note)
                .push_bind(e.phone)
                .push_bind(e.mobile)
                .push_bind(e.alt_phone)
                .push_bind(e.fax)
                .push_bind(e.email)
                .push_bind(e.employee_type)
                .push_bind(e.hired_date)
                .push_bind(e.released_date)
                .push_bind(e.notes);
        });
        qb.push(
            ") AS v WHERE true ON CONFLICT (connection_id, list_id) DO UPDATE SET time_created = excluded.time_created, \
             time_modified = excluded.time_modified, edit_sequence = excluded.edit_sequence, name = excluded.name, \
             is_active = excluded.is_active, salutation = excluded.salutation, first_name = excluded.first_name, \
             middle_name = excluded.middle_name, last_name = excluded.last_name, job_title = excluded.job_title, \
             addr1 = excluded.addr1, addr2 = excluded.addr2, addr3 = excluded.addr3, addr4 = excluded.addr4, \
             addr5 = excluded.addr5, city = excluded.city, state = excluded.state, postal_code = excluded.postal_code, \
             country = excluded.country, address_note = excluded.address_note, phone = excluded.phone, \
             mobile = excluded.mobile, alt_phone = excluded.alt_phone, fax = excluded.fax, email = excluded.email, \
             employee_type = excluded.employee_type, hired_date = excluded.hired_date, \
             released_date = excluded.released_date, notes = excluded.notes, seen_at = excluded.seen_at, \
             deleted_at = NULL",
        );
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
    /// The list's name in `list_seen.list`.
    fn name(self) -> &'static str {
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

/// After a complete list was staged by `ctx.run_id`, marks every record of the connection that
/// the list no longer contains as deleted, remembers when the list was complete, and forgets
/// what the run saw of it. Returns how many records were newly marked.
///
/// A record marked deleted was last seen in the previous complete list (it was not deleted
/// then), unless it was written later: its `seen_at` becomes the later of the two.
pub async fn mark_missing_deleted(tx: &mut Tx, ctx: &StageContext, list: List) -> Result<u64> {
    let (table, _) = table(list);
    let listed_at = list.listed_at_column();
    let previous_sql = format!("SELECT {listed_at} FROM connection WHERE connection_id = $1");
    let record_sql = format!("UPDATE connection SET {listed_at} = $2 WHERE connection_id = $1");
    const FORGET_SQL: &str = "DELETE FROM list_seen WHERE run_id = $1 AND list = $2";
    let previous: Option<DateTime<Utc>> = on_tx!(tx, conn => {
        sqlx::query_scalar(sqlx::AssertSqlSafe(previous_sql)).bind(ctx.connection_id).fetch_one(&mut *conn).await?
    });
    let sweep = match tx {
        // Times are stored as RFC 3339 text in UTC with the same offset, which sorts as time does.
        Tx::Sqlite(_) => format!(
            "UPDATE {table} SET deleted_at = $3, seen_at = COALESCE(MAX(seen_at, $4), seen_at) \
             WHERE connection_id = $1 AND deleted_at IS NULL AND list_id NOT IN \
             (SELECT j.value FROM list_seen s, json_each(s.list_ids) AS j WHERE s.run_id = $2 AND s.list = $5)"
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
                  WHERE s.run_id = $2 AND s.list = $5 AND u.list_id = t.list_id)"
            )
        }
    };
    let affected = on_tx!(tx, conn => {
        let affected = sqlx::query(sqlx::AssertSqlSafe(sweep))
            .bind(ctx.connection_id)
            .bind(ctx.run_id)
            .bind(ctx.at)
            .bind(previous)
            .bind(list.name())
            .execute(&mut *conn)
            .await?
            .rows_affected();
        sqlx::query(sqlx::AssertSqlSafe(record_sql)).bind(ctx.connection_id).bind(ctx.at).execute(&mut *conn).await?;
        sqlx::query(FORGET_SQL).bind(ctx.run_id).bind(list.name()).execute(&mut *conn).await?;
        affected
    });
    Ok(affected)
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

/// A staged customer as the API shows it, with the location it is linked to.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CustomerRow {
    pub qb_customer_id: Uuid,
    pub connection_id: Uuid,
    pub list_id: String,
    pub time_created: Option<String>,
    pub time_modified: Option<String>,
    pub edit_sequence: Option<String>,
    pub name: String,
    pub full_name: String,
    pub is_active: bool,
    pub parent_list_id: Option<String>,
    pub parent_full_name: Option<String>,
    pub sublevel: i64,
    pub company_name: Option<String>,
    pub salutation: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub job_title: Option<String>,
    pub bill_addr1: Option<String>,
    pub bill_addr2: Option<String>,
    pub bill_addr3: Option<String>,
    pub bill_addr4: Option<String>,
    pub bill_addr5: Option<String>,
    pub bill_city: Option<String>,
    pub bill_state: Option<String>,
    pub bill_postal_code: Option<String>,
    pub bill_country: Option<String>,
    pub bill_note: Option<String>,
    pub ship_addr1: Option<String>,
    pub ship_addr2: Option<String>,
    pub ship_addr3: Option<String>,
    pub ship_addr4: Option<String>,
    pub ship_addr5: Option<String>,
    pub ship_city: Option<String>,
    pub ship_state: Option<String>,
    pub ship_postal_code: Option<String>,
    pub ship_country: Option<String>,
    pub ship_note: Option<String>,
    pub phone: Option<String>,
    pub alt_phone: Option<String>,
    pub fax: Option<String>,
    pub email: Option<String>,
    pub contact: Option<String>,
    pub notes: Option<String>,
    pub job_status: Option<String>,
    /// When qbsync last wrote the record (see [`CustomerRow::last_seen`]).
    pub seen_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// When the connection's customer list was last complete.
    pub listed_at: Option<DateTime<Utc>>,
    pub link_location_id: Option<Uuid>,
    pub link_location_name: Option<String>,
}

impl CustomerRow {
    /// When QuickBooks last listed this customer.
    pub fn last_seen(&self) -> DateTime<Utc> {
        last_seen(self.seen_at, self.deleted_at.is_some(), self.listed_at)
    }
}

/// A staged employee as the API shows it, with the staff member it is linked to.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EmployeeRow {
    pub qb_employee_id: Uuid,
    pub connection_id: Uuid,
    pub list_id: String,
    pub time_created: Option<String>,
    pub time_modified: Option<String>,
    pub edit_sequence: Option<String>,
    pub name: String,
    pub is_active: bool,
    pub salutation: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub job_title: Option<String>,
    pub addr1: Option<String>,
    pub addr2: Option<String>,
    pub addr3: Option<String>,
    pub addr4: Option<String>,
    pub addr5: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub address_note: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub alt_phone: Option<String>,
    pub fax: Option<String>,
    pub email: Option<String>,
    pub employee_type: Option<String>,
    pub hired_date: Option<String>,
    pub released_date: Option<String>,
    pub notes: Option<String>,
    /// When qbsync last wrote the record (see [`EmployeeRow::last_seen`]).
    pub seen_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// When the connection's employee list was last complete.
    pub listed_at: Option<DateTime<Utc>>,
    pub link_staff_id: Option<Uuid>,
    pub link_staff_name: Option<String>,
}

impl EmployeeRow {
    /// When QuickBooks last listed this employee.
    pub fn last_seen(&self) -> DateTime<Utc> {
        last_seen(self.seen_at, self.deleted_at.is_some(), self.listed_at)
    }
}

/// Filters and keyset paging for the staged-record lists.
#[derive(Clone, Debug, Default)]
pub struct RecordFilter {
    pub connection_id: Option<Uuid>,
    /// `active`, `inactive` or `deleted`.
    pub status: Option<String>,
    pub linked: Option<bool>,
    /// Free text; matched case-insensitively against names, company and email.
    pub q: Option<String>,
    /// Resume after this (sort name, id).
    pub after: Option<(String, Uuid)>,
    pub limit: i64,
}

/// `%text%` for LIKE, with the wildcard characters of the text escaped by `\`.
pub fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// Shared WHERE clause of the customer list and its count: $1 organization, $2 connection,
/// $3 status, $4 linked, $5 pattern.
const CUSTOMER_FILTER: &str = " WHERE c.organization_id = $1 \
    AND ($2 IS NULL OR c.connection_id = $2) \
    AND (CAST($3 AS TEXT) IS NULL \
         OR (CAST($3 AS TEXT) = 'active' AND c.is_active AND c.deleted_at IS NULL) \
         OR (CAST($3 AS TEXT) = 'inactive' AND NOT c.is_active AND c.deleted_at IS NULL) \
         OR (CAST($3 AS TEXT) = 'deleted' AND c.deleted_at IS NOT NULL)) \
    AND (CAST($4 AS BOOLEAN) IS NULL OR CAST($4 AS BOOLEAN) = (l.location_id IS NOT NULL)) \
    AND (CAST($5 AS TEXT) IS NULL OR LOWER(c.full_name) LIKE CAST($5 AS TEXT) ESCAPE '\\' \
         OR LOWER(COALESCE(c.company_name, '')) LIKE CAST($5 AS TEXT) ESCAPE '\\' \
         OR LOWER(COALESCE(c.email, '')) LIKE CAST($5 AS TEXT) ESCAPE '\\' \
         OR LOWER(COALESCE(c.ship_city, c.bill_city, '')) LIKE CAST($5 AS TEXT) ESCAPE '\\')";

const CUSTOMER_FROM: &str = " FROM qb_customer c LEFT JOIN location l ON l.qb_customer_id = c.qb_customer_id";

/// One page of an organization's staged customers, and how many match in all.
pub async fn list_customers(db: &Db, organization_id: Uuid, filter: &RecordFilter) -> Result<(Vec<CustomerRow>, i64)> {
    let page_sql = format!(
        "SELECT c.*, (SELECT k.customers_listed_at FROM connection k WHERE k.connection_id = c.connection_id) AS listed_at, \
         l.location_id AS link_location_id, l.name AS link_location_name{CUSTOMER_FROM}{CUSTOMER_FILTER} \
         AND (CAST($6 AS TEXT) IS NULL OR c.full_name > CAST($6 AS TEXT) \
              OR (c.full_name = CAST($6 AS TEXT) AND c.qb_customer_id > $7)) \
         ORDER BY c.full_name, c.qb_customer_id LIMIT $8"
    );
    let count_sql = format!("SELECT COUNT(*){CUSTOMER_FROM}{CUSTOMER_FILTER}");
    page_and_count(db, page_sql, count_sql, &record_params(organization_id, filter), &filter.after, filter.limit).await
}

/// Shared WHERE clause of the employee list and its count (parameters as for customers).
const EMPLOYEE_FILTER: &str = " WHERE e.organization_id = $1 \
    AND ($2 IS NULL OR e.connection_id = $2) \
    AND (CAST($3 AS TEXT) IS NULL \
         OR (CAST($3 AS TEXT) = 'active' AND e.is_active AND e.deleted_at IS NULL) \
         OR (CAST($3 AS TEXT) = 'inactive' AND NOT e.is_active AND e.deleted_at IS NULL) \
         OR (CAST($3 AS TEXT) = 'deleted' AND e.deleted_at IS NOT NULL)) \
    AND (CAST($4 AS BOOLEAN) IS NULL OR CAST($4 AS BOOLEAN) = (s.staff_id IS NOT NULL)) \
    AND (CAST($5 AS TEXT) IS NULL OR LOWER(e.name) LIKE CAST($5 AS TEXT) ESCAPE '\\' \
         OR LOWER(COALESCE(e.email, '')) LIKE CAST($5 AS TEXT) ESCAPE '\\' \
         OR LOWER(COALESCE(e.job_title, '')) LIKE CAST($5 AS TEXT) ESCAPE '\\')";

const EMPLOYEE_FROM: &str = " FROM qb_employee e LEFT JOIN staff s ON s.qb_employee_id = e.qb_employee_id";

/// One page of an organization's staged employees, and how many match in all.
pub async fn list_employees(db: &Db, organization_id: Uuid, filter: &RecordFilter) -> Result<(Vec<EmployeeRow>, i64)> {
    let page_sql = format!(
        "SELECT e.*, (SELECT k.employees_listed_at FROM connection k WHERE k.connection_id = e.connection_id) AS listed_at, \
         s.staff_id AS link_staff_id, s.name AS link_staff_name{EMPLOYEE_FROM}{EMPLOYEE_FILTER} \
         AND (CAST($6 AS TEXT) IS NULL OR e.name > CAST($6 AS TEXT) \
              OR (e.name = CAST($6 AS TEXT) AND e.qb_employee_id > $7)) \
         ORDER BY e.name, e.qb_employee_id LIMIT $8"
    );
    let count_sql = format!("SELECT COUNT(*){EMPLOYEE_FROM}{EMPLOYEE_FILTER}");
    page_and_count(db, page_sql, count_sql, &record_params(organization_id, filter), &filter.after, filter.limit).await
}

/// The filter parameters of both staged lists, in their WHERE clauses' order.
fn record_params(organization_id: Uuid, filter: &RecordFilter) -> [Param; 5] {
    [
        Param::Id(Some(organization_id)),
        Param::Id(filter.connection_id),
        Param::Text(filter.status.clone()),
        Param::Flag(filter.linked),
        Param::Text(filter.q.as_deref().map(like_pattern)),
    ]
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

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_pattern_escapes_wildcards_and_lowercases() {
        assert_eq!(like_pattern("Ab%c_d\\"), "%ab\\%c\\_d\\\\%");
    }
}
