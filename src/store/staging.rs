//! Staged QuickBooks customers and employees: batch upserts, deletion marking and the reads the
//! API serves. Staging never edits or deletes a location, a staff member or a link.

use std::collections::HashMap;

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

/// Of a batch of (ListID, EditSequence), the rows already staged, not deleted, with that very
/// EditSequence, by ListID: their primary keys. QuickBooks changes a record's EditSequence on
/// every edit (that is what it is for), so those rows already hold what the batch would write.
async fn unchanged(tx: &mut Tx, connection_id: Uuid, list: List, batch: &[(&str, Option<&str>)]) -> Result<HashMap<String, Uuid>> {
    if batch.iter().all(|(_, sequence)| sequence.is_none()) {
        return Ok(HashMap::new());
    }
    let (table, id) = table(list);
    let stored: Vec<(Uuid, String, Option<String>)> = match tx {
        Tx::Sqlite(tx) => {
            let mut qb = sqlx::QueryBuilder::new(format!(
                "SELECT {id}, list_id, edit_sequence FROM {table} WHERE deleted_at IS NULL AND connection_id = "
            ));
            qb.push_bind(connection_id).push(" AND list_id IN (");
            let mut ids = qb.separated(", ");
            for (list_id, _) in batch {
                ids.push_bind(*list_id);
            }
            qb.push(")");
            qb.build_query_as().fetch_all(&mut **tx).await?
        }
        Tx::Postgres(tx) => {
            // One lookup of the whole (connection, ListID) key per ListID. Written as `IN (...)`,
            // PostgreSQL plans a scan of all the connection's rows whenever its statistics
            // predate the rows (as during a first sync), which is quadratic over a sync; the
            // `OFFSET 0` keeps the subquery a separate, per-ListID unique-index lookup.
            let sql = format!(
                "SELECT c.{id}, k.list_id, c.edit_sequence FROM unnest(CAST($2 AS TEXT[])) AS k(list_id) \
                 CROSS JOIN LATERAL (SELECT {id}, edit_sequence FROM {table} t WHERE t.connection_id = $1 \
                 AND t.list_id = k.list_id AND t.deleted_at IS NULL OFFSET 0) c"
            );
            let list_ids: Vec<&str> = batch.iter().map(|(list_id, _)| *list_id).collect();
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(connection_id).bind(list_ids).fetch_all(&mut **tx).await?
        }
    };
    let wanted: HashMap<&str, Option<&str>> = batch.iter().copied().collect();
    Ok(stored
        .into_iter()
        .filter(|(_, list_id, sequence)| {
            sequence.is_some() && wanted.get(list_id.as_str()).copied().flatten() == sequence.as_deref()
        })
        .map(|(row_id, list_id, _)| (list_id, row_id))
        .collect())
}

/// Marks rows as seen by this run without rewriting their data.
async fn mark_seen(tx: &mut Tx, ctx: &StageContext, list: List, row_ids: Vec<Uuid>) -> Result<()> {
    if row_ids.is_empty() {
        return Ok(());
    }
    let (table, id) = table(list);
    match tx {
        Tx::Sqlite(tx) => {
            let mut qb = sqlx::QueryBuilder::new(format!("UPDATE {table} SET seen_at = "));
            qb.push_bind(ctx.at).push(", seen_run_id = ").push_bind(ctx.run_id).push(format!(" WHERE {id} IN ("));
            let mut ids = qb.separated(", ");
            for row_id in row_ids {
                ids.push_bind(row_id);
            }
            qb.push(")");
            qb.build().execute(&mut **tx).await?;
        }
        Tx::Postgres(tx) => {
            let sql = format!("UPDATE {table} SET seen_at = $1, seen_run_id = $2 WHERE {id} = ANY($3)");
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ctx.at).bind(ctx.run_id).bind(row_ids).execute(&mut **tx).await?;
        }
    }
    Ok(())
}

/// Of a batch (no ListID twice), marks the records QuickBooks has not edited since they were
/// staged as seen by this run, and hands back the others (new or edited) to be written whole.
async fn skip_unchanged<T>(
    tx: &mut Tx,
    ctx: &StageContext,
    list: List,
    batch: Vec<T>,
    key: impl Fn(&T) -> (&str, Option<&str>),
) -> Result<Vec<T>> {
    let keys: Vec<(&str, Option<&str>)> = batch.iter().map(&key).collect();
    let unchanged = unchanged(tx, ctx.connection_id, list, &keys).await?;
    let (same, changed): (Vec<T>, Vec<T>) = batch.into_iter().partition(|record| unchanged.contains_key(key(record).0));
    mark_seen(tx, ctx, list, same.iter().map(|record| unchanged[key(record).0]).collect()).await?;
    Ok(changed)
}

/// Stages a batch of customers (no ListID twice): rows QuickBooks has not edited since they were
/// staged are only marked as seen; new and edited ones are written whole.
pub async fn stage_customers(tx: &mut Tx, ctx: &StageContext, batch: Vec<Customer>) -> Result<()> {
    let changed = skip_unchanged(tx, ctx, List::Customers, batch, |c| (c.list_id.as_str(), c.edit_sequence.as_deref())).await?;
    upsert_customers(tx, ctx, changed).await
}

/// Stages a batch of employees, as [`stage_customers`] does customers.
pub async fn stage_employees(tx: &mut Tx, ctx: &StageContext, batch: Vec<Employee>) -> Result<()> {
    let changed = skip_unchanged(tx, ctx, List::Employees, batch, |e| (e.list_id.as_str(), e.edit_sequence.as_deref())).await?;
    upsert_employees(tx, ctx, changed).await
}

/// Inserts or updates a batch of customers in one statement. New rows get time-ordered (v7)
/// ids, so a large first sync appends to the primary-key index instead of scattering over it. The batch must not hold the same
/// ListID twice (PostgreSQL refuses to touch a row twice in one statement).
async fn upsert_customers(tx: &mut Tx, ctx: &StageContext, batch: Vec<Customer>) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    on_tx!(tx, conn => {
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO qb_customer (qb_customer_id, connection_id, organization_id, list_id, time_created, \
             time_modified, edit_sequence, name, full_name, is_active, parent_list_id, parent_full_name, sublevel, \
             company_name, salutation, first_name, middle_name, last_name, job_title, \
             bill_addr1, bill_addr2, bill_addr3, bill_addr4, bill_addr5, bill_city, bill_state, bill_postal_code, \
             bill_country, bill_note, ship_addr1, ship_addr2, ship_addr3, ship_addr4, ship_addr5, ship_city, \
             ship_state, ship_postal_code, ship_country, ship_note, phone, alt_phone, fax, email, contact, notes, \
             job_status, seen_at, seen_run_id, deleted_at, created_at) ",
        );
        qb.push_values(batch, |mut row, c| {
            row.push_bind(Uuid::now_v7())
                .push_bind(ctx.connection_id)
                .push_bind(ctx.organization_id)
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
                .push_bind(c.job_status)
                .push_bind(ctx.at)
                .push_bind(ctx.run_id)
                .push_bind(None::<DateTime<Utc>>)
                .push_bind(ctx.at);
        });
        qb.push(
            " ON CONFLICT (connection_id, list_id) DO UPDATE SET time_created = excluded.time_created, \
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
             job_status = excluded.job_status, seen_at = excluded.seen_at, seen_run_id = excluded.seen_run_id, \
             deleted_at = NULL",
        );
        qb.build().execute(&mut *conn).await?;
    });
    Ok(())
}

/// Inserts or updates a batch of employees in one statement (no ListID twice in a batch).
async fn upsert_employees(tx: &mut Tx, ctx: &StageContext, batch: Vec<Employee>) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    on_tx!(tx, conn => {
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO qb_employee (qb_employee_id, connection_id, organization_id, list_id, time_created, \
             time_modified, edit_sequence, name, is_active, salutation, first_name, middle_name, last_name, job_title, \
             addr1, addr2, addr3, addr4, addr5, city, state, postal_code, country, address_note, phone, mobile, \
             alt_phone, fax, email, employee_type, hired_date, released_date, notes, seen_at, seen_run_id, \
             deleted_at, created_at) ",
        );
        qb.push_values(batch, |mut row, e| {
            let a = e.address;
            row.push_bind(Uuid::now_v7())
                .push_bind(ctx.connection_id)
                .push_bind(ctx.organization_id)
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
                .push_bind(e.notes)
                .push_bind(ctx.at)
                .push_bind(ctx.run_id)
                .push_bind(None::<DateTime<Utc>>)
                .push_bind(ctx.at);
        });
        qb.push(
            " ON CONFLICT (connection_id, list_id) DO UPDATE SET time_created = excluded.time_created, \
             time_modified = excluded.time_modified, edit_sequence = excluded.edit_sequence, name = excluded.name, \
             is_active = excluded.is_active, salutation = excluded.salutation, first_name = excluded.first_name, \
             middle_name = excluded.middle_name, last_name = excluded.last_name, job_title = excluded.job_title, \
             addr1 = excluded.addr1, addr2 = excluded.addr2, addr3 = excluded.addr3, addr4 = excluded.addr4, \
             addr5 = excluded.addr5, city = excluded.city, state = excluded.state, postal_code = excluded.postal_code, \
             country = excluded.country, address_note = excluded.address_note, phone = excluded.phone, \
             mobile = excluded.mobile, alt_phone = excluded.alt_phone, fax = excluded.fax, email = excluded.email, \
             employee_type = excluded.employee_type, hired_date = excluded.hired_date, \
             released_date = excluded.released_date, notes = excluded.notes, seen_at = excluded.seen_at, \
             seen_run_id = excluded.seen_run_id, deleted_at = NULL",
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

/// After a complete list was staged by `ctx.run_id`, marks every record of the connection that
/// the list no longer contains as deleted. Returns how many were newly marked.
pub async fn mark_missing_deleted(tx: &mut Tx, ctx: &StageContext, list: List) -> Result<u64> {
    let affected = on_tx!(tx, conn => {
        let sql = match list {
            List::Customers => {
                "UPDATE qb_customer SET deleted_at = $3 WHERE connection_id = $1 AND deleted_at IS NULL \
                 AND (seen_run_id IS NULL OR seen_run_id <> $2)"
            }
            List::Employees => {
                "UPDATE qb_employee SET deleted_at = $3 WHERE connection_id = $1 AND deleted_at IS NULL \
                 AND (seen_run_id IS NULL OR seen_run_id <> $2)"
            }
        };
        sqlx::query(sql)
            .bind(ctx.connection_id)
            .bind(ctx.run_id)
            .bind(ctx.at)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    Ok(affected)
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
    pub seen_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub link_location_id: Option<Uuid>,
    pub link_location_name: Option<String>,
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
    pub seen_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub link_staff_id: Option<Uuid>,
    pub link_staff_name: Option<String>,
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
        "SELECT c.*, l.location_id AS link_location_id, l.name AS link_location_name{CUSTOMER_FROM}{CUSTOMER_FILTER} \
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
        "SELECT e.*, s.staff_id AS link_staff_id, s.name AS link_staff_name{EMPLOYEE_FROM}{EMPLOYEE_FILTER} \
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
