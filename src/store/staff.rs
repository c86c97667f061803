//! Staff members of the field-service application and their links to QuickBooks employees.
//! A link is `staff.qb_employee_id`; its UNIQUE constraint keeps it one-to-one.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Action, Actor, NewEvent};
use super::locations::tidy;
use super::locations::{Created, ListFilter};
use super::staging;
use super::{
    Db, Param, Result, StoreError, Tx, links, now, on_db, on_tx, page_and_count, search_clause, search_params,
};
use crate::record::Employee;

/// The editable fields of a staff member.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StaffFields {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl StaffFields {
    /// What `?q=` searches: name, e-mail and phone (see `matching::search`).
    pub fn search_text(&self) -> String {
        crate::matching::search::search_text([Some(self.name.as_str()), self.email.as_deref(), self.phone.as_deref()])
    }
}

/// A staff member with its link, as the API shows it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct StaffRow {
    pub staff_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub qb_employee_id: Option<Uuid>,
    pub link_connection_id: Option<Uuid>,
    pub link_list_id: Option<String>,
    pub link_name: Option<String>,
    /// As for a location's link (`LocationRow`).
    pub link_watch: Option<String>,
    pub link_is_active: Option<bool>,
    pub link_deleted: Option<bool>,
    pub link_changed: Option<bool>,
}

impl StaffRow {
    pub fn fields(&self) -> StaffFields {
        StaffFields { name: self.name.clone(), email: self.email.clone(), phone: self.phone.clone() }
    }
}

const SELECT: &str = "SELECT s.staff_id, s.name, s.email, s.phone, s.created_at, s.updated_at, s.qb_employee_id, \
    e.connection_id AS link_connection_id, e.list_id AS link_list_id, e.name AS link_name, \
    e.watch AS link_watch, e.is_active AS link_is_active, (e.deleted_at IS NOT NULL) AS link_deleted, \
    (s.qb_reviewed <> e.watch OR s.qb_reviewed_deleted <> (e.deleted_at IS NOT NULL)) AS link_changed \
    FROM staff s LEFT JOIN qb_employee e ON e.qb_employee_id = s.qb_employee_id";

/// Shared WHERE clause of the list and its count (over `staff s` joined to its employee `e`):
/// $1 organization, $2 linked, then the query's words ($3..$8, see [`search_clause`]); the
/// cursor's parameters follow ([`CURSOR`]).
fn filter_sql() -> String {
    format!(
        " WHERE s.organization_id = $1 \
         AND (CAST($2 AS BOOLEAN) IS NULL OR CAST($2 AS BOOLEAN) = (s.qb_employee_id IS NOT NULL)){}",
        // A linked staff member is found by its employee's words too (the Linked panel's search).
        search_clause("(s.search || ' ' || COALESCE(e.search, ''))", 3)
    )
}

/// The first parameter after the list's filter.
const CURSOR: usize = 3 + crate::matching::search::MAX_QUERY_WORDS;

/// One page of an organization's staff, and on the first page how many match in all.
pub async fn list_staff(db: &Db, organization_id: Uuid, filter: &ListFilter) -> Result<(Vec<StaffRow>, Option<i64>)> {
    let filter_sql = filter_sql();
    let (key, id, limit) = (CURSOR, CURSOR + 1, CURSOR + 2);
    let page_sql = format!(
        "{SELECT}{filter_sql} AND (s.name, s.staff_id) > (CAST(${key} AS TEXT), ${id}) \
         ORDER BY s.name, s.staff_id LIMIT ${limit}"
    );
    let count_sql = format!(
        "SELECT COUNT(*) FROM staff s LEFT JOIN qb_employee e ON e.qb_employee_id = s.qb_employee_id{filter_sql}"
    );
    let mut params = vec![Param::Id(Some(organization_id)), Param::Flag(filter.linked)];
    params.extend(search_params(filter.q.as_deref()));
    page_and_count(db, page_sql, count_sql, &params, &filter.after, filter.limit).await
}

pub async fn get_staff(db: &Db, organization_id: Uuid, staff_id: Uuid) -> Result<StaffRow> {
    let sql = format!("{SELECT} WHERE s.organization_id = $1 AND s.staff_id = $2");
    on_db!(db, pool => {
        sqlx::query_as::<_, StaffRow>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(organization_id)
            .bind(staff_id)
            .fetch_optional(pool)
            .await?
    })
    .ok_or(StoreError::NotFound)
}

async fn insert(
    tx: &mut Tx,
    organization_id: Uuid,
    fields: &StaffFields,
    qb_employee_id: Option<Uuid>,
) -> Result<Uuid> {
    let id = Uuid::new_v4();
    let at = now();
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO staff (staff_id, organization_id, name, email, phone, qb_employee_id, created_at, updated_at, search) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)",
        )
        .bind(id)
        .bind(organization_id)
        .bind(&fields.name)
        .bind(&fields.email)
        .bind(&fields.phone)
        .bind(qb_employee_id)
        .bind(at)
        .bind(fields.search_text())
        .execute(&mut *conn)
        .await?;
    });
    Ok(id)
}

pub async fn create_staff(db: &Db, organization_id: Uuid, fields: &StaffFields) -> Result<Uuid> {
    let mut tx = db.begin().await?;
    let id = insert(&mut tx, organization_id, fields, None).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn update_staff(db: &Db, organization_id: Uuid, staff_id: Uuid, fields: &StaffFields) -> Result<()> {
    let mut tx = db.begin().await?;
    let outcome = update_in(&mut tx, organization_id, staff_id, fields).await;
    tx.finish(outcome).await
}

/// [`update_staff`] inside a transaction.
pub(crate) async fn update_in(tx: &mut Tx, organization_id: Uuid, staff_id: Uuid, fields: &StaffFields) -> Result<()> {
    let done = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE staff SET name = $3, email = $4, phone = $5, updated_at = $6, search = $7 \
             WHERE organization_id = $1 AND staff_id = $2",
        )
        .bind(organization_id)
        .bind(staff_id)
        .bind(&fields.name)
        .bind(&fields.email)
        .bind(&fields.phone)
        .bind(now())
        .bind(fields.search_text())
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// A staff member of the organization, read inside `tx`.
pub(crate) async fn staff_in(tx: &mut Tx, organization_id: Uuid, staff_id: Uuid) -> Result<StaffRow> {
    let sql = format!("{SELECT} WHERE s.organization_id = $1 AND s.staff_id = $2");
    on_tx!(tx, conn => {
        sqlx::query_as::<_, StaffRow>(sqlx::AssertSqlSafe(sql))
            .bind(organization_id)
            .bind(staff_id)
            .fetch_optional(&mut *conn)
            .await?
    })
    .ok_or(StoreError::NotFound)
}

pub async fn delete_staff(db: &Db, organization_id: Uuid, staff_id: Uuid) -> Result<()> {
    let done = on_db!(db, pool => {
        sqlx::query("DELETE FROM staff WHERE organization_id = $1 AND staff_id = $2")
            .bind(organization_id)
            .bind(staff_id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Links a staff member to a QuickBooks employee; see [`links::link`] for the rules. Returns
/// the audit event's id.
pub async fn link_staff(
    db: &Db,
    organization_id: Uuid,
    actor: &Actor,
    staff_id: Uuid,
    qb_employee_id: Uuid,
) -> Result<Uuid> {
    links::link(db, &links::STAFF, organization_id, actor, staff_id, qb_employee_id).await
}

/// Disconnects a staff member from its employee; see [`links::unlink`].
pub async fn unlink_staff(db: &Db, organization_id: Uuid, actor: &Actor, staff_id: Uuid) -> Result<Option<Uuid>> {
    links::unlink(db, &links::STAFF, organization_id, actor, staff_id).await
}

pub(crate) fn staff_from_employee(e: &Employee) -> StaffFields {
    let d = &e.details;
    let full = match (tidy(&d.first_name), tidy(&d.last_name)) {
        (Some(first), Some(last)) => format!("{first} {last}"),
        _ => e.name.trim().to_owned(),
    };
    StaffFields { name: full, email: tidy(&d.email), phone: tidy(&d.mobile).or_else(|| tidy(&d.phone)) }
}

/// The staff member an employee is linked to, if any.
async fn staff_of_employee(db: &Db, organization_id: Uuid, qb_employee_id: Uuid) -> Result<Option<Uuid>> {
    Ok(on_db!(db, pool => {
        sqlx::query_scalar("SELECT staff_id FROM staff WHERE organization_id = $1 AND qb_employee_id = $2")
            .bind(organization_id)
            .bind(qb_employee_id)
            .fetch_optional(pool)
            .await?
    }))
}

/// Creates a staff member from a staged employee (name, email, phone: the mobile, else the main
/// phone) and links it, in one transaction with its audit event. Idempotent like
/// `locations::create_from_customer`: an employee already linked answers its staff member.
pub async fn create_from_employee(
    db: &Db,
    organization_id: Uuid,
    actor: &Actor,
    qb_employee_id: Uuid,
) -> Result<Created> {
    if let Some(id) = staff_of_employee(db, organization_id, qb_employee_id).await? {
        return Ok(Created { id, event: None });
    }
    let mut tx = db.begin().await?;
    let outcome: Result<Created> = async {
        let source = staging::employee_in(&mut tx, organization_id, qb_employee_id).await?;
        let fields = staff_from_employee(&source);
        let id = insert(&mut tx, organization_id, &fields, Some(qb_employee_id)).await?;
        links::mark_reviewed(&mut tx, &links::STAFF, organization_id, id).await?;
        let event = NewEvent {
            action: Action::Create,
            subject_kind: links::STAFF.subject_kind,
            subject_id: id,
            subject_name: &fields.name,
            qb_id: Some(qb_employee_id),
            qb_name: Some(&source.name),
            before: json!({ "link": null }),
            after: json!({ "link": { "id": qb_employee_id, "name": source.name },
                "record": { "name": fields.name, "email": fields.email, "phone": fields.phone } }),
            undoes: None,
        };
        let event = audit::record(&mut tx, organization_id, actor, event).await?;
        Ok(Created { id, event: Some(event) })
    }
    .await;
    match tx.finish(outcome).await {
        Err(StoreError::Conflict(_)) => match staff_of_employee(db, organization_id, qb_employee_id).await? {
            Some(id) => Ok(Created { id, event: None }),
            None => Err(StoreError::Conflict("the QuickBooks employee is already linked to a staff member".into())),
        },
        other => other,
    }
}

/// Recomputes every staff member's search text (see `store::derived`); how many were read.
pub(crate) async fn rederive(db: &Db) -> Result<u64> {
    let sql = format!("{SELECT} WHERE s.staff_id > $1 ORDER BY s.staff_id LIMIT $2");
    let read = async |after: Uuid| -> Result<Vec<StaffRow>> {
        Ok(on_db!(db, pool => {
            sqlx::query_as::<_, StaffRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(after)
                .bind(super::derived::BATCH)
                .fetch_all(pool)
                .await?
        }))
    };
    let write = async |rows: Vec<StaffRow>| -> Result<()> {
        let mut tx = db.begin().await?;
        let outcome: Result<()> = async {
            for row in &rows {
                on_tx!(&mut tx, conn => {
                    sqlx::query("UPDATE staff SET search = $2 WHERE staff_id = $1 AND search <> $2")
                        .bind(row.staff_id)
                        .bind(row.fields().search_text())
                        .execute(&mut *conn)
                        .await?;
                });
            }
            Ok(())
        }
        .await;
        tx.finish(outcome).await
    };
    super::derived::in_batches(read, |row: &StaffRow| row.staff_id, write).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_take_the_employees_name_email_and_best_phone() {
        let e = Employee {
            name: "Teske, Daric".into(),
            details: crate::record::EmployeeDetails {
                first_name: Some("Daric ".into()),
                last_name: Some("Teske".into()),
                email: Some("tesked@example.com".into()),
                phone: Some("555-0100".into()),
                mobile: Some("  ".into()),
                ..Default::default()
            },
            ..Employee::default()
        };
        assert_eq!(
            staff_from_employee(&e),
            StaffFields {
                name: "Daric Teske".into(),
                email: Some("tesked@example.com".into()),
                phone: Some("555-0100".into())
            }
        );
    }
}
