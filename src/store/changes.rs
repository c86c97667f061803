//! Change review: linked QuickBooks records that changed in a way that matters (`review::Watched`:
//! name, address, phones, e-mail, active; and deletion) since they were linked or last reviewed.
//! A link keeps the record's watched fields as they were then (`qb_reviewed`,
//! `qb_reviewed_deleted`); while the record's differ, the pair is "changed in QuickBooks". The
//! admin applies chosen fields to the location (staff member) or dismisses the changes; either
//! marks the link reviewed as the record is now, with its audit event, in one transaction.

use serde_json::{Value, json};
use uuid::Uuid;

use super::audit::{self, Action, Actor, NewEvent};
use super::links::{self, LinkKind};
use super::locations::{self, LocationFields};
use super::staff::{self, StaffFields};
use super::{Db, Result, StoreError, Tx, on_db, on_tx, staging};
use crate::record::RecordStatus;
use crate::review::{self, FieldChange, Watched};

/// Most pairs one review list holds (the counts say how many there are in all).
pub const MAX_LISTED: i64 = 500;

/// The fields a location can take from its customer, and a staff member from its employee.
pub const LOCATION_FIELDS: &[&str] = &["name", "address", "phone", "email"];
pub const STAFF_FIELDS: &[&str] = &["name", "email", "phone"];

/// One field as the location (staff member) has it and as QuickBooks would give it.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDiff {
    pub field: &'static str,
    pub ours: Value,
    pub quickbooks: Value,
}

/// A linked pair whose QuickBooks record changed since it was linked or last reviewed.
#[derive(Clone, Debug)]
pub struct Review {
    pub kind: &'static LinkKind,
    /// The location's (staff member's) id and name.
    pub id: Uuid,
    pub name: String,
    /// The QuickBooks record's id, name and connection.
    pub qb_id: Uuid,
    pub qb_name: String,
    pub connection_id: Option<Uuid>,
    pub status: RecordStatus,
    /// What changed in QuickBooks, field by field, with the values before and after.
    pub changes: Vec<FieldChange>,
    /// The fields the location (staff member) can take, as it has them and as QuickBooks has them
    /// now; those that differ are the ones worth applying.
    pub fields: Vec<FieldDiff>,
}

/// The SQL condition of a changed link, on the kind's table aliased `s` joined to its QuickBooks
/// table aliased `q`.
const CHANGED: &str = "(s.qb_reviewed <> q.watch OR s.qb_reviewed_deleted <> (q.deleted_at IS NOT NULL))";

fn from_join(kind: &LinkKind) -> String {
    format!(
        " FROM {table} s JOIN {qb_table} q ON q.{link} = s.{link} WHERE s.organization_id = $1 AND {CHANGED}",
        table = kind.table,
        qb_table = kind.qb_table,
        link = kind.link_column,
    )
}

/// How many locations and staff members have changes to review.
pub async fn counts(db: &Db, organization_id: Uuid) -> Result<(i64, i64)> {
    let locations = format!("SELECT COUNT(*){}", from_join(&links::LOCATION));
    let staff = format!("SELECT COUNT(*){}", from_join(&links::STAFF));
    Ok(on_db!(db, pool => {
        let l: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(locations)).bind(organization_id).fetch_one(pool).await?;
        let s: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(staff)).bind(organization_id).fetch_one(pool).await?;
        (l, s)
    }))
}

/// The kind's pairs with changes to review (at most [`MAX_LISTED`]), by the location's (staff
/// member's) name.
pub async fn list(db: &Db, organization_id: Uuid, kind: &'static LinkKind) -> Result<Vec<Review>> {
    let sql = format!("SELECT s.{id}{} ORDER BY s.name, s.{id} LIMIT $2", from_join(kind), id = kind.id_column);
    let ids: Vec<Uuid> = on_db!(db, pool => {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(organization_id).bind(MAX_LISTED).fetch_all(pool).await?
    });
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // One transaction reads every pair as it is at one moment.
    let mut tx = db.begin().await?;
    let outcome: Result<Vec<Review>> = async {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(found) = review_in(&mut tx, kind, organization_id, id).await? {
                out.push(found.review);
            }
        }
        Ok(out)
    }
    .await;
    tx.finish(outcome).await
}

/// One pair's review, with what applying needs.
struct Found {
    review: Review,
    /// The record as it is, and what it would be with every field taken from QuickBooks.
    ours: Subject,
    theirs: Subject,
}

enum Subject {
    Location(Box<LocationFields>),
    Staff(StaffFields),
}

/// The record's review when it is linked and its QuickBooks record changed; None otherwise.
async fn review_in(tx: &mut Tx, kind: &'static LinkKind, organization_id: Uuid, id: Uuid) -> Result<Option<Found>> {
    let reviewed_sql = format!(
        "SELECT qb_reviewed, qb_reviewed_deleted FROM {} WHERE {} = $1 AND organization_id = $2",
        kind.table, kind.id_column
    );
    let (reviewed, reviewed_deleted): (Option<String>, bool) = on_tx!(tx, conn => {
        sqlx::query_as(sqlx::AssertSqlSafe(reviewed_sql))
            .bind(id)
            .bind(organization_id)
            .fetch_optional(&mut *conn)
            .await?
    })
    .ok_or(StoreError::NotFound)?;
    let before = reviewed.as_deref().and_then(Watched::parse);
    let (name, qb_id, qb_name, connection_id, deleted, now, ours, theirs) = if kind.table == links::LOCATION.table {
        let row = locations::location_in(tx, organization_id, id).await?;
        let Some(qb_id) = row.qb_customer_id else { return Ok(None) };
        let customer = staging::customer_in(tx, organization_id, qb_id).await?;
        let theirs = locations::location_from_customer(&customer);
        (
            row.name.clone(),
            qb_id,
            customer.full_name.clone(),
            row.link_connection_id,
            row.link_deleted.unwrap_or(false),
            Watched::of_customer(&customer),
            Subject::Location(Box::new(row.fields())),
            Subject::Location(Box::new(theirs)),
        )
    } else {
        let row = staff::staff_in(tx, organization_id, id).await?;
        let Some(qb_id) = row.qb_employee_id else { return Ok(None) };
        let employee = staging::employee_in(tx, organization_id, qb_id).await?;
        let theirs = staff::staff_from_employee(&employee);
        (
            row.name.clone(),
            qb_id,
            employee.name.clone(),
            row.link_connection_id,
            row.link_deleted.unwrap_or(false),
            Watched::of_employee(&employee),
            Subject::Staff(row.fields()),
            Subject::Staff(theirs),
        )
    };
    let Some(before) = before else { return Ok(None) };
    let changes = review::changes(&before, reviewed_deleted, &now, deleted);
    if changes.is_empty() {
        return Ok(None);
    }
    let fields = field_diffs(&ours, &theirs);
    let review = Review {
        kind,
        id,
        name,
        qb_id,
        qb_name,
        connection_id,
        status: RecordStatus::of(now.active, deleted),
        changes,
        fields,
    };
    Ok(Some(Found { review, ours, theirs }))
}

fn location_field(f: &LocationFields, field: &str) -> Value {
    match field {
        "name" => json!(f.name),
        "address" => json!({
            "line1": f.line1, "line2": f.line2, "line3": f.line3, "line4": f.line4, "line5": f.line5,
            "city": f.city, "state": f.state, "postal_code": f.postal_code, "country": f.country,
        }),
        "phone" => json!(f.phone),
        "email" => json!(f.email),
        _ => Value::Null,
    }
}

fn staff_field(f: &StaffFields, field: &str) -> Value {
    match field {
        "name" => json!(f.name),
        "phone" => json!(f.phone),
        "email" => json!(f.email),
        _ => Value::Null,
    }
}

fn field_diffs(ours: &Subject, theirs: &Subject) -> Vec<FieldDiff> {
    match (ours, theirs) {
        (Subject::Location(a), Subject::Location(b)) => LOCATION_FIELDS
            .iter()
            .map(|&field| FieldDiff { field, ours: location_field(a, field), quickbooks: location_field(b, field) })
            .collect(),
        (Subject::Staff(a), Subject::Staff(b)) => STAFF_FIELDS
            .iter()
            .map(|&field| FieldDiff { field, ours: staff_field(a, field), quickbooks: staff_field(b, field) })
            .collect(),
        _ => Vec::new(),
    }
}

/// Which kind of record an id is (a location or a staff member of the organization).
async fn kind_of(tx: &mut Tx, organization_id: Uuid, id: Uuid) -> Result<&'static LinkKind> {
    for kind in [&links::LOCATION, &links::STAFF] {
        let sql = format!("SELECT 1 FROM {} WHERE {} = $1 AND organization_id = $2", kind.table, kind.id_column);
        let found: Option<i32> = on_tx!(tx, conn => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(id).bind(organization_id).fetch_optional(&mut *conn).await?
        });
        if found.is_some() {
            return Ok(kind);
        }
    }
    Err(StoreError::NotFound)
}

/// What applying or dismissing did: the kind of record and the audit event.
#[derive(Clone, Copy, Debug)]
pub struct Reviewed {
    pub kind: &'static LinkKind,
    pub event: Uuid,
}

/// Copies the chosen fields (of [`LOCATION_FIELDS`] or [`STAFF_FIELDS`]) from the QuickBooks
/// record onto the location (staff member) and marks its changes reviewed, with an `apply` audit
/// event, in one transaction. [`StoreError::Conflict`] when there is nothing to review (already
/// applied or dismissed, or unlinked since).
pub async fn apply(db: &Db, organization_id: Uuid, actor: &Actor, id: Uuid, fields: &[String]) -> Result<Reviewed> {
    let mut tx = db.begin().await?;
    let outcome = async {
        let kind = kind_of(&mut tx, organization_id, id).await?;
        let found = pending(&mut tx, kind, organization_id, id).await?;
        let allowed = applicable_fields(kind);
        if let Some(bad) = fields.iter().find(|f| !allowed.contains(&f.as_str())) {
            return Err(StoreError::Conflict(format!(
                "{bad:?} cannot be applied; choose among {}",
                allowed.join(", ")
            )));
        }
        let chosen = |field: &str| fields.iter().any(|f| f == field);
        let (mut before, mut after) = (serde_json::Map::new(), serde_json::Map::new());
        for diff in found.review.fields.iter().filter(|d| chosen(d.field)) {
            before.insert(diff.field.into(), diff.ours.clone());
            after.insert(diff.field.into(), diff.quickbooks.clone());
        }
        match (&found.ours, &found.theirs) {
            (Subject::Location(ours), Subject::Location(theirs)) => {
                let mut next = LocationFields::clone(ours);
                if chosen("name") {
                    next.name = theirs.name.clone();
                }
                if chosen("address") {
                    next = LocationFields {
                        name: next.name,
                        description: next.description,
                        phone: next.phone,
                        email: next.email,
                        ..LocationFields::clone(theirs)
                    };
                }
                if chosen("phone") {
                    next.phone = theirs.phone.clone();
                }
                if chosen("email") {
                    next.email = theirs.email.clone();
                }
                locations::update_in(&mut tx, organization_id, id, &next).await?;
            }
            (Subject::Staff(ours), Subject::Staff(theirs)) => {
                let mut next = ours.clone();
                if chosen("name") {
                    next.name = theirs.name.clone();
                }
                if chosen("email") {
                    next.email = theirs.email.clone();
                }
                if chosen("phone") {
                    next.phone = theirs.phone.clone();
                }
                staff::update_in(&mut tx, organization_id, id, &next).await?;
            }
            _ => return Err(StoreError::NotFound),
        }
        links::mark_reviewed(&mut tx, kind, organization_id, id).await?;
        let name_after = after.get("name").and_then(Value::as_str).map(str::to_owned);
        let event = NewEvent {
            action: Action::Apply,
            subject_kind: kind.subject_kind,
            subject_id: id,
            subject_name: name_after.as_deref().unwrap_or(&found.review.name),
            qb_id: Some(found.review.qb_id),
            qb_name: Some(&found.review.qb_name),
            before: json!({ "fields": Value::Object(before) }),
            after: json!({ "fields": Value::Object(after), "changes": changes_json(&found.review.changes) }),
            undoes: None,
        };
        let event = audit::record(&mut tx, organization_id, actor, event).await?;
        Ok(Reviewed { kind, event })
    }
    .await;
    tx.finish(outcome).await
}

/// Marks a pair's changes reviewed without changing the location (staff member), with a
/// `dismiss` audit event. [`StoreError::Conflict`] when there is nothing to review.
pub async fn dismiss(db: &Db, organization_id: Uuid, actor: &Actor, id: Uuid) -> Result<Reviewed> {
    let mut tx = db.begin().await?;
    let outcome = async {
        let kind = kind_of(&mut tx, organization_id, id).await?;
        let found = pending(&mut tx, kind, organization_id, id).await?;
        links::mark_reviewed(&mut tx, kind, organization_id, id).await?;
        let event = NewEvent {
            action: Action::Dismiss,
            subject_kind: kind.subject_kind,
            subject_id: id,
            subject_name: &found.review.name,
            qb_id: Some(found.review.qb_id),
            qb_name: Some(&found.review.qb_name),
            before: json!({}),
            after: json!({ "changes": changes_json(&found.review.changes) }),
            undoes: None,
        };
        let event = audit::record(&mut tx, organization_id, actor, event).await?;
        Ok(Reviewed { kind, event })
    }
    .await;
    tx.finish(outcome).await
}

async fn pending(tx: &mut Tx, kind: &'static LinkKind, organization_id: Uuid, id: Uuid) -> Result<Found> {
    review_in(tx, kind, organization_id, id)
        .await?
        .ok_or_else(|| StoreError::Conflict("no QuickBooks change of this record is waiting for review".into()))
}

/// Changes as JSON: `[{field, before, after}]`.
pub fn changes_json(changes: &[FieldChange]) -> Value {
    serde_json::to_value(changes).unwrap_or(Value::Null)
}

/// Whether an id is one of the organization's locations or staff members, and which.
pub async fn subject_kind(db: &Db, organization_id: Uuid, id: Uuid) -> Result<&'static LinkKind> {
    for kind in [&links::LOCATION, &links::STAFF] {
        let sql = format!("SELECT 1 FROM {} WHERE {} = $1 AND organization_id = $2", kind.table, kind.id_column);
        let found: Option<i32> = on_db!(db, pool => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(id).bind(organization_id).fetch_optional(pool).await?
        });
        if found.is_some() {
            return Ok(kind);
        }
    }
    Err(StoreError::NotFound)
}

/// The fields a kind of record can take from its QuickBooks record.
pub fn applicable_fields(kind: &LinkKind) -> &'static [&'static str] {
    if kind.table == links::LOCATION.table { LOCATION_FIELDS } else { STAFF_FIELDS }
}
