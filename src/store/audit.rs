//! The audit log: who linked, unlinked, created from QuickBooks, accepted or undid what, when,
//! with the link (or the record) before and after. An event is written in the transaction of
//! the change it records, so the log holds exactly the changes that happened.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::{Db, Result, StoreError, Tx, now, on_db, on_tx};

/// Who made a change: a signed-in admin, or an API token.
#[derive(Clone, Debug, PartialEq)]
pub enum Actor {
    Admin { admin_id: Uuid, email: String },
    Token { api_token_id: Uuid },
}

impl Actor {
    fn kind(&self) -> &'static str {
        match self {
            Actor::Admin { .. } => "admin",
            Actor::Token { .. } => "token",
        }
    }

    fn id(&self) -> Uuid {
        match self {
            Actor::Admin { admin_id, .. } => *admin_id,
            Actor::Token { api_token_id } => *api_token_id,
        }
    }

    fn name(&self) -> &str {
        match self {
            Actor::Admin { email, .. } => email,
            Actor::Token { .. } => "API token",
        }
    }
}

/// What a change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A record linked to a QuickBooks record by hand.
    Link,
    /// A link removed.
    Unlink,
    /// A record made from a QuickBooks record, linked ("+").
    Create,
    /// A suggested pair linked.
    Accept,
    /// An earlier event reversed.
    Undo,
    /// Fields a QuickBooks record changed copied onto its location (staff member).
    Apply,
    /// A QuickBooks record's changes looked at and left as they are.
    Dismiss,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Link => "link",
            Action::Unlink => "unlink",
            Action::Create => "create",
            Action::Accept => "accept",
            Action::Undo => "undo",
            Action::Apply => "apply",
            Action::Dismiss => "dismiss",
        }
    }

    fn parse(text: &str) -> Option<Action> {
        [Action::Link, Action::Unlink, Action::Create, Action::Accept, Action::Undo, Action::Apply, Action::Dismiss]
            .into_iter()
            .find(|a| a.as_str() == text)
    }
}

/// An event to record.
pub struct NewEvent<'a> {
    pub action: Action,
    /// `location` or `staff`.
    pub subject_kind: &'static str,
    pub subject_id: Uuid,
    pub subject_name: &'a str,
    pub qb_id: Option<Uuid>,
    pub qb_name: Option<&'a str>,
    pub before: Value,
    pub after: Value,
    /// For an undo, the event it reverses.
    pub undoes: Option<Uuid>,
}

/// Writes an event inside the transaction of its change; returns its id.
pub async fn record(tx: &mut Tx, organization_id: Uuid, actor: &Actor, event: NewEvent<'_>) -> Result<Uuid> {
    let id = Uuid::now_v7();
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO audit_event (audit_event_id, organization_id, at, actor_kind, actor_id, actor_name, action, \
             subject_kind, subject_id, subject_name, qb_id, qb_name, before, after, undoes) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(id)
        .bind(organization_id)
        .bind(now())
        .bind(actor.kind())
        .bind(actor.id())
        .bind(actor.name())
        .bind(event.action.as_str())
        .bind(event.subject_kind)
        .bind(event.subject_id)
        .bind(event.subject_name)
        .bind(event.qb_id)
        .bind(event.qb_name)
        .bind(event.before.to_string())
        .bind(event.after.to_string())
        .bind(event.undoes)
        .execute(&mut *conn)
        .await?;
    });
    Ok(id)
}

/// An event as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EventRow {
    pub audit_event_id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub action: String,
    pub subject_kind: String,
    pub subject_id: Uuid,
    pub subject_name: String,
    pub qb_id: Option<Uuid>,
    pub qb_name: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub undoes: Option<Uuid>,
    pub undone_by: Option<Uuid>,
}

impl EventRow {
    pub fn action(&self) -> Option<Action> {
        Action::parse(&self.action)
    }

    /// `before` or `after` as JSON (null when absent or unreadable).
    pub fn json(text: &Option<String>) -> Value {
        text.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or(Value::Null)
    }
}

/// Filters and keyset paging of the log (newest first).
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Only events about this location or staff member (or QuickBooks record).
    pub subject: Option<Uuid>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Resume after this (time, id).
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

const COLUMNS: &str = "audit_event_id, at, actor_kind, actor_id, actor_name, action, subject_kind, subject_id, \
    subject_name, qb_id, qb_name, before, after, undoes, undone_by";

/// One page of the organization's log, newest first.
pub async fn list(db: &Db, organization_id: Uuid, filter: &AuditFilter) -> Result<Vec<EventRow>> {
    // The first page starts before a time later than any event (a four-digit year: SQLite
    // compares the times as text).
    let end_of_time = DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z").map(|t| t.to_utc()).unwrap_or_default();
    let (after_at, after_id) = filter.after.unwrap_or((end_of_time, Uuid::max()));
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_event WHERE organization_id = $1 \
         AND ($2 IS NULL OR subject_id = $2 OR qb_id = $2) \
         AND (CAST($3 AS TIMESTAMPTZ) IS NULL OR at >= $3) \
         AND (at, audit_event_id) < ($4, $5) ORDER BY at DESC, audit_event_id DESC LIMIT $6"
    );
    Ok(on_db!(db, pool => {
        sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(organization_id)
            .bind(filter.subject)
            .bind(filter.since)
            .bind(after_at)
            .bind(after_id)
            .bind(filter.limit)
            .fetch_all(pool)
            .await?
    }))
}

/// An event of the organization, read inside `tx` (for undoing it).
pub(crate) async fn event_in(tx: &mut Tx, organization_id: Uuid, id: Uuid) -> Result<EventRow> {
    let sql = format!("SELECT {COLUMNS} FROM audit_event WHERE organization_id = $1 AND audit_event_id = $2");
    on_tx!(tx, conn => {
        sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(sql))
            .bind(organization_id)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
    })
    .ok_or(StoreError::NotFound)
}

/// Marks an event as reversed by `undo_id`; a conflict when it already was (two undos at once).
pub(crate) async fn mark_undone(tx: &mut Tx, id: Uuid, undo_id: Uuid) -> Result<()> {
    let done = on_tx!(tx, conn => {
        sqlx::query("UPDATE audit_event SET undone_by = $2 WHERE audit_event_id = $1 AND undone_by IS NULL")
            .bind(id)
            .bind(undo_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    if done == 1 { Ok(()) } else { Err(StoreError::Conflict("that change was already undone".into())) }
}
