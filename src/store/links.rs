//! The one-to-one link between one of the organization's records (a location, a staff member)
//! and a staged QuickBooks record (a customer, an employee). The link is a UNIQUE nullable column
//! on the organization's record, so the database itself keeps it one-to-one. Every change of a
//! link is recorded in the audit log in its own transaction (`store::audit`), and can be undone.

use serde_json::{Value, json};
use uuid::Uuid;

use super::audit::{self, Action, Actor, NewEvent};
use super::{Db, Result, StoreError, Tx, now, on_tx};

/// Which tables and columns a kind of link uses, and how its conflicts read.
#[derive(Debug)]
pub struct LinkKind {
    /// The organization's table and key: `location` / `location_id`.
    pub table: &'static str,
    pub id_column: &'static str,
    /// The link column, which is also the QuickBooks table's key: `qb_customer_id`.
    pub link_column: &'static str,
    /// The QuickBooks table: `qb_customer`, and the column naming its records in the log.
    pub qb_table: &'static str,
    pub qb_name_column: &'static str,
    /// The subject kind in the audit log: `location` or `staff`.
    pub subject_kind: &'static str,
    /// Messages for a 409: this side already linked, the QuickBooks side already linked.
    pub already_linked: &'static str,
    pub qb_already_linked: &'static str,
}

pub const LOCATION: LinkKind = LinkKind {
    table: "location",
    id_column: "location_id",
    link_column: "qb_customer_id",
    qb_table: "qb_customer",
    qb_name_column: "full_name",
    subject_kind: "location",
    already_linked: "the location is already linked",
    qb_already_linked: "the QuickBooks customer is already linked to another location",
};

pub const STAFF: LinkKind = LinkKind {
    table: "staff",
    id_column: "staff_id",
    link_column: "qb_employee_id",
    qb_table: "qb_employee",
    qb_name_column: "name",
    subject_kind: "staff",
    already_linked: "the staff member is already linked",
    qb_already_linked: "the QuickBooks employee is already linked to another staff member",
};

impl LinkKind {
    pub fn of_subject(subject_kind: &str) -> Option<&'static LinkKind> {
        [&LOCATION, &STAFF].into_iter().find(|k| k.subject_kind == subject_kind)
    }
}

/// The UPDATE that marks the linked QuickBooks record of each of the kind's records matching
/// `condition` (SQL over the kind's table, never input) as reviewed as it is now: its watched
/// fields and deletion become the ones later changes are measured from (`store::changes`).
fn reviewed_sql(kind: &LinkKind, condition: &str) -> String {
    format!(
        "UPDATE {table} SET qb_reviewed = (SELECT q.watch FROM {qb_table} q WHERE q.{link} = {table}.{link}), \
         qb_reviewed_deleted = COALESCE((SELECT q.deleted_at IS NOT NULL FROM {qb_table} q \
         WHERE q.{link} = {table}.{link}), FALSE) WHERE {condition}",
        table = kind.table,
        qb_table = kind.qb_table,
        link = kind.link_column,
    )
}

/// Marks the links of every record matching `condition` as reviewed (see [`reviewed_sql`]).
pub(crate) async fn mark_reviewed_where(tx: &mut Tx, kind: &LinkKind, condition: &str) -> Result<()> {
    let sql = reviewed_sql(kind, condition);
    on_tx!(tx, conn => {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *conn).await?;
    });
    Ok(())
}

/// Marks one record's link as reviewed as its QuickBooks record is now (see [`reviewed_sql`]).
pub(crate) async fn mark_reviewed(tx: &mut Tx, kind: &LinkKind, organization_id: Uuid, id: Uuid) -> Result<()> {
    let sql = reviewed_sql(kind, &format!("{} = $1 AND organization_id = $2", kind.id_column));
    on_tx!(tx, conn => {
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(organization_id).execute(&mut *conn).await?;
    });
    Ok(())
}

/// A link as the audit log shows it.
fn link_json(qb_id: Option<Uuid>, qb_name: Option<&str>) -> Value {
    match qb_id {
        Some(id) => json!({ "link": { "id": id, "name": qb_name } }),
        None => json!({ "link": null }),
    }
}

/// Links an unlinked record to an unlinked QuickBooks record of the same organization, in one
/// transaction with its audit event (whose id it returns). [`StoreError::NotFound`] when either
/// is not the organization's, [`StoreError::Conflict`] when either is already linked; nothing
/// changes then.
pub async fn link(
    db: &Db,
    kind: &LinkKind,
    organization_id: Uuid,
    actor: &Actor,
    id: Uuid,
    qb_id: Uuid,
) -> Result<Uuid> {
    let mut tx = db.begin().await?;
    let outcome = link_in(&mut tx, kind, organization_id, actor, (id, qb_id), Action::Link, None).await;
    tx.finish(outcome).await
}

/// Links every pair, all or nothing, each recorded as an accepted suggestion; the events' ids.
pub async fn link_pairs(
    db: &Db,
    kind: &LinkKind,
    organization_id: Uuid,
    actor: &Actor,
    pairs: &[(Uuid, Uuid)],
) -> Result<Vec<Uuid>> {
    let mut tx = db.begin().await?;
    let outcome: Result<Vec<Uuid>> = async {
        let mut events = Vec::with_capacity(pairs.len());
        for &pair in pairs {
            events.push(link_in(&mut tx, kind, organization_id, actor, pair, Action::Accept, None).await?);
        }
        Ok(events)
    }
    .await;
    tx.finish(outcome).await
}

/// [`link`] inside a transaction, recorded as `action`.
pub(crate) async fn link_in(
    tx: &mut Tx,
    kind: &LinkKind,
    organization_id: Uuid,
    actor: &Actor,
    (id, qb_id): (Uuid, Uuid),
    action: Action,
    undoes: Option<Uuid>,
) -> Result<Uuid> {
    // Table and column names are the constants above, never input.
    let qb_name_sql = format!(
        "SELECT {} FROM {} WHERE {} = $1 AND organization_id = $2",
        kind.qb_name_column, kind.qb_table, kind.link_column
    );
    let update = format!(
        "UPDATE {} SET {link} = $3, updated_at = $4 WHERE {} = $1 AND organization_id = $2 AND {link} IS NULL",
        kind.table,
        kind.id_column,
        link = kind.link_column
    );
    let name_sql = format!("SELECT name FROM {} WHERE {} = $1 AND organization_id = $2", kind.table, kind.id_column);
    let qb_name: Option<String> = on_tx!(tx, conn => {
        sqlx::query_scalar(sqlx::AssertSqlSafe(qb_name_sql)).bind(qb_id).bind(organization_id).fetch_optional(&mut *conn).await?
    });
    let qb_name = qb_name.ok_or(StoreError::NotFound)?;
    let updated = on_tx!(tx, conn => {
        sqlx::query(sqlx::AssertSqlSafe(update))
            .bind(id)
            .bind(organization_id)
            .bind(qb_id)
            .bind(now())
            .execute(&mut *conn)
            .await
            .map(|done| done.rows_affected())
    });
    match updated {
        Ok(1) => {}
        Ok(_) => {
            let found: Option<String> = on_tx!(tx, conn => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(name_sql.clone()))
                    .bind(id)
                    .bind(organization_id)
                    .fetch_optional(&mut *conn)
                    .await?
            });
            return Err(match found {
                None => StoreError::NotFound,
                Some(_) => StoreError::Conflict(kind.already_linked.into()),
            });
        }
        Err(err) => {
            return Err(match StoreError::from(err) {
                StoreError::Conflict(_) => StoreError::Conflict(kind.qb_already_linked.into()),
                other => other,
            });
        }
    }
    mark_reviewed(tx, kind, organization_id, id).await?;
    let name: String = on_tx!(tx, conn => {
        sqlx::query_scalar(sqlx::AssertSqlSafe(name_sql)).bind(id).bind(organization_id).fetch_one(&mut *conn).await?
    });
    let event = NewEvent {
        action,
        subject_kind: kind.subject_kind,
        subject_id: id,
        subject_name: &name,
        qb_id: Some(qb_id),
        qb_name: Some(&qb_name),
        before: link_json(None, None),
        after: link_json(Some(qb_id), Some(&qb_name)),
        undoes,
    };
    audit::record(tx, organization_id, actor, event).await
}

/// Disconnects a record from its QuickBooks record, with its audit event; disconnecting an
/// unlinked one is a no-op (and records nothing: None). [`StoreError::NotFound`] when the record
/// is not the organization's.
pub async fn unlink(db: &Db, kind: &LinkKind, organization_id: Uuid, actor: &Actor, id: Uuid) -> Result<Option<Uuid>> {
    let mut tx = db.begin().await?;
    let outcome = unlink_in(&mut tx, kind, organization_id, actor, id, Action::Unlink, None).await;
    tx.finish(outcome).await
}

/// The name of a record and its link (the QuickBooks id and name), read inside `tx`.
async fn current(
    tx: &mut Tx,
    kind: &LinkKind,
    organization_id: Uuid,
    id: Uuid,
) -> Result<(String, Option<Uuid>, Option<String>)> {
    let sql = format!(
        "SELECT s.name, s.{link}, q.{qb_name} FROM {table} s LEFT JOIN {qb_table} q ON q.{link} = s.{link} \
         WHERE s.{id_column} = $1 AND s.organization_id = $2",
        link = kind.link_column,
        qb_name = kind.qb_name_column,
        table = kind.table,
        qb_table = kind.qb_table,
        id_column = kind.id_column
    );
    on_tx!(tx, conn => {
        sqlx::query_as::<_, (String, Option<Uuid>, Option<String>)>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(organization_id)
            .fetch_optional(&mut *conn)
            .await?
    })
    .ok_or(StoreError::NotFound)
}

/// [`unlink`] inside a transaction, recorded as `action`. With `undoes`, the record must still be
/// linked to the event's QuickBooks record (a conflict otherwise: the link changed since).
async fn unlink_in(
    tx: &mut Tx,
    kind: &LinkKind,
    organization_id: Uuid,
    actor: &Actor,
    id: Uuid,
    action: Action,
    undoes: Option<(Uuid, Option<Uuid>)>,
) -> Result<Option<Uuid>> {
    let (name, linked, qb_name) = current(tx, kind, organization_id, id).await?;
    if let Some((_, expected)) = undoes
        && (linked.is_none() || linked != expected)
    {
        return Err(StoreError::Conflict(format!("\"{name}\" is no longer linked as it was: nothing was undone")));
    }
    let Some(qb_id) = linked else { return Ok(None) };
    let sql = format!(
        "UPDATE {} SET {} = NULL, qb_reviewed = NULL, updated_at = $3 WHERE organization_id = $1 AND {} = $2",
        kind.table, kind.link_column, kind.id_column
    );
    on_tx!(tx, conn => {
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(organization_id).bind(id).bind(now()).execute(&mut *conn).await?;
    });
    let event = NewEvent {
        action,
        subject_kind: kind.subject_kind,
        subject_id: id,
        subject_name: &name,
        qb_id: Some(qb_id),
        qb_name: qb_name.as_deref(),
        before: link_json(Some(qb_id), qb_name.as_deref()),
        after: link_json(None, None),
        undoes: undoes.map(|(event, _)| event),
    };
    Ok(Some(audit::record(tx, organization_id, actor, event).await?))
}

/// Reverses earlier events (newest first), all or nothing, each recorded as an undo: a link or
/// an accepted suggestion is unlinked, an unlink linked again, and a record made by "+" is
/// deleted (when it has not been changed since). [`StoreError::Conflict`] when anything moved on
/// since (the link changed, the record was edited, the event was already undone) or an event is
/// itself an undo; [`StoreError::NotFound`] for an event not of the organization. Returns the
/// undo events' ids.
pub async fn undo(db: &Db, organization_id: Uuid, actor: &Actor, event_ids: &[Uuid]) -> Result<Vec<Uuid>> {
    let mut tx = db.begin().await?;
    let outcome: Result<Vec<Uuid>> = async {
        let mut events = Vec::with_capacity(event_ids.len());
        for &id in event_ids {
            events.push(audit::event_in(&mut tx, organization_id, id).await?);
        }
        events.sort_by_key(|e| std::cmp::Reverse((e.at, e.audit_event_id)));
        let mut undone = Vec::with_capacity(events.len());
        for event in events {
            if event.undone_by.is_some() {
                return Err(StoreError::Conflict("that change was already undone".into()));
            }
            let kind = LinkKind::of_subject(&event.subject_kind)
                .ok_or_else(|| StoreError::Conflict("that change cannot be undone".into()))?;
            let id = event.audit_event_id;
            let undo_id = match event.action() {
                Some(Action::Link | Action::Accept) => unlink_in(
                    &mut tx,
                    kind,
                    organization_id,
                    actor,
                    event.subject_id,
                    Action::Undo,
                    Some((id, event.qb_id)),
                )
                .await?
                .ok_or_else(|| StoreError::Conflict("nothing to undo".into()))?,
                Some(Action::Unlink) => {
                    let qb_id = event.qb_id.ok_or_else(|| StoreError::Conflict("nothing to undo".into()))?;
                    link_in(&mut tx, kind, organization_id, actor, (event.subject_id, qb_id), Action::Undo, Some(id))
                        .await
                        .map_err(|err| match err {
                            StoreError::NotFound => StoreError::Conflict(format!(
                                "\"{}\" or its QuickBooks record no longer exists: nothing was undone",
                                event.subject_name
                            )),
                            other => other,
                        })?
                }
                Some(Action::Create) => delete_created(&mut tx, kind, organization_id, actor, &event).await?,
                Some(Action::Undo) | None => {
                    return Err(StoreError::Conflict("an undo cannot be undone; link or unlink again instead".into()));
                }
                Some(Action::Apply | Action::Dismiss) => {
                    return Err(StoreError::Conflict(
                        "a reviewed change cannot be undone; edit the record instead".into(),
                    ));
                }
            };
            audit::mark_undone(&mut tx, id, undo_id).await?;
            undone.push(undo_id);
        }
        Ok(undone)
    }
    .await;
    tx.finish(outcome).await
}

/// Undoes a "+": deletes the record it made, if it is still linked as made and unchanged.
async fn delete_created(
    tx: &mut Tx,
    kind: &LinkKind,
    organization_id: Uuid,
    actor: &Actor,
    event: &audit::EventRow,
) -> Result<Uuid> {
    let sql = format!(
        "DELETE FROM {} WHERE {} = $1 AND organization_id = $2 AND {} = $3 AND updated_at = created_at",
        kind.table, kind.id_column, kind.link_column
    );
    let done = on_tx!(tx, conn => {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(event.subject_id)
            .bind(organization_id)
            .bind(event.qb_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    if done != 1 {
        return Err(StoreError::Conflict(format!(
            "\"{}\" was changed or unlinked since it was made: it was kept",
            event.subject_name
        )));
    }
    let new_event = NewEvent {
        action: Action::Undo,
        subject_kind: kind.subject_kind,
        subject_id: event.subject_id,
        subject_name: &event.subject_name,
        qb_id: event.qb_id,
        qb_name: event.qb_name.as_deref(),
        before: audit::EventRow::json(&event.after),
        after: json!({ "deleted": true }),
        undoes: Some(event.audit_event_id),
    };
    audit::record(tx, organization_id, actor, new_event).await
}
