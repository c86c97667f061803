//! The one-to-one link between one of the organization's records (a location, a staff member)
//! and a staged QuickBooks record (a customer, an employee). The link is a UNIQUE nullable column
//! on the organization's record, so the database itself keeps it one-to-one.

use uuid::Uuid;

use super::{Db, Result, StoreError, now, on_tx};

/// Which tables and columns a kind of link uses, and how its conflicts read.
pub struct LinkKind {
    /// The organization's table and key: `location` / `location_id`.
    pub table: &'static str,
    pub id_column: &'static str,
    /// The link column, which is also the QuickBooks table's key: `qb_customer_id`.
    pub link_column: &'static str,
    /// The QuickBooks table: `qb_customer`.
    pub qb_table: &'static str,
    /// Messages for a 409: this side already linked, the QuickBooks side already linked.
    pub already_linked: &'static str,
    pub qb_already_linked: &'static str,
}

pub const LOCATION: LinkKind = LinkKind {
    table: "location",
    id_column: "location_id",
    link_column: "qb_customer_id",
    qb_table: "qb_customer",
    already_linked: "the location is already linked",
    qb_already_linked: "the QuickBooks customer is already linked to another location",
};

pub const STAFF: LinkKind = LinkKind {
    table: "staff",
    id_column: "staff_id",
    link_column: "qb_employee_id",
    qb_table: "qb_employee",
    already_linked: "the staff member is already linked",
    qb_already_linked: "the QuickBooks employee is already linked to another staff member",
};

/// Links an unlinked record to an unlinked QuickBooks record of the same organization, in one
/// transaction. [`StoreError::NotFound`] when either is not the organization's,
/// [`StoreError::Conflict`] when either is already linked; nothing changes then.
pub async fn link(db: &Db, kind: &LinkKind, organization_id: Uuid, id: Uuid, qb_id: Uuid) -> Result<()> {
    // Table and column names are the constants above, never input.
    let qb_exists =
        format!("SELECT COUNT(*) FROM {} WHERE {} = $1 AND organization_id = $2", kind.qb_table, kind.link_column);
    let update = format!(
        "UPDATE {} SET {link} = $3, updated_at = $4 WHERE {} = $1 AND organization_id = $2 AND {link} IS NULL",
        kind.table,
        kind.id_column,
        link = kind.link_column
    );
    let exists = format!("SELECT COUNT(*) FROM {} WHERE {} = $1 AND organization_id = $2", kind.table, kind.id_column);
    let mut tx = db.begin().await?;
    let outcome: Result<()> = async {
        let qb_found = on_tx!(&mut tx, conn => {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(qb_exists.clone()))
                .bind(qb_id)
                .bind(organization_id)
                .fetch_one(&mut *conn)
                .await?
        });
        if qb_found == 0 {
            return Err(StoreError::NotFound);
        }
        let updated = on_tx!(&mut tx, conn => {
            sqlx::query(sqlx::AssertSqlSafe(update.clone()))
                .bind(id)
                .bind(organization_id)
                .bind(qb_id)
                .bind(now())
                .execute(&mut *conn)
                .await
                .map(|done| done.rows_affected())
        });
        match updated {
            Ok(1) => Ok(()),
            Ok(_) => {
                let found = on_tx!(&mut tx, conn => {
                    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(exists.clone()))
                        .bind(id)
                        .bind(organization_id)
                        .fetch_one(&mut *conn)
                        .await?
                });
                if found == 0 {
                    Err(StoreError::NotFound)
                } else {
                    Err(StoreError::Conflict(kind.already_linked.into()))
                }
            }
            Err(err) => match StoreError::from(err) {
                StoreError::Conflict(_) => Err(StoreError::Conflict(kind.qb_already_linked.into())),
                other => Err(other),
            },
        }
    }
    .await;
    tx.finish(outcome).await
}

/// Disconnects a record from its QuickBooks record; disconnecting an unlinked one is a no-op.
/// [`StoreError::NotFound`] when the record is not the organization's.
pub async fn unlink(db: &Db, kind: &LinkKind, organization_id: Uuid, id: Uuid) -> Result<()> {
    let sql = format!(
        "UPDATE {} SET {} = NULL, updated_at = $3 WHERE organization_id = $1 AND {} = $2",
        kind.table, kind.link_column, kind.id_column
    );
    let done = super::on_db!(db, pool => {
        sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(organization_id)
            .bind(id)
            .bind(now())
            .execute(pool)
            .await?
            .rows_affected()
    });
    if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}
