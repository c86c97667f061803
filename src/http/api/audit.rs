//! The audit log (`GET /api/v1/audit`) and undoing what it records (`POST /api/v1/audit/undo`).

use actix_web::{HttpResponse, web};
use chrono::DateTime;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::input::Body;
use super::{decode_cursor, encode_cursor, limit};
use crate::http::auth::Caller;
use crate::http::{ApiError, AppState};
use crate::store::audit::{self, AuditFilter, EventRow};
use crate::store::links;

/// Most events one undo takes (a bulk accept of suggestions is undone in one).
const MAX_UNDO: usize = 5000;

fn event_json(e: &EventRow) -> Value {
    json!({
        "id": e.audit_event_id,
        "at": e.at,
        "who": { "kind": e.actor_kind, "id": e.actor_id, "name": e.actor_name },
        "action": e.action,
        "subject": { "kind": e.subject_kind, "id": e.subject_id, "name": e.subject_name },
        "quickbooks": e.qb_id.map(|id| json!({ "id": id, "name": e.qb_name })),
        "before": EventRow::json(&e.before),
        "after": EventRow::json(&e.after),
        "undoes": e.undoes,
        "undone_by": e.undone_by,
    })
}

#[derive(Deserialize)]
pub struct AuditQuery {
    subject: Option<String>,
    since: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// `GET /api/v1/audit`: the organization's changes, newest first; `?subject=` a location's or
/// staff member's (or a QuickBooks record's) id, `?since=` an RFC 3339 time.
pub async fn list(
    caller: Caller,
    query: web::Query<AuditQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let wanted = limit(query.limit)?;
    let subject = query
        .subject
        .as_deref()
        .map(|raw| {
            Uuid::parse_str(raw).map_err(|_| ApiError::BadRequest(format!("subject must be an id, not {raw:?}")))
        })
        .transpose()?;
    let since = query
        .since
        .as_deref()
        .map(|raw| {
            DateTime::parse_from_rfc3339(raw).map(|t| t.to_utc()).map_err(|_| {
                ApiError::BadRequest(format!(
                    "since must be an RFC 3339 time such as 2024-06-01T12:00:00Z, not {raw:?}"
                ))
            })
        })
        .transpose()?;
    let after = match query.cursor.as_deref().map(decode_cursor).transpose()? {
        Some((at, id)) => Some((
            DateTime::parse_from_rfc3339(&at).map(|t| t.to_utc()).map_err(|_| {
                ApiError::BadRequest("invalid cursor: pass the `next` value of the previous page".into())
            })?,
            id,
        )),
        None => None,
    };
    let filter = AuditFilter { subject, since, after, limit: wanted + 1 };
    let mut rows = audit::list(&state.db, caller.organization_id, &filter).await?;
    let next = if rows.len() > wanted as usize {
        rows.truncate(wanted as usize);
        rows.last().map(|e| encode_cursor(&e.at.to_rfc3339(), e.audit_event_id))
    } else {
        None
    };
    let items: Vec<Value> = rows.iter().map(event_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next": next })))
}

/// `POST /api/v1/audit/undo` with `{"events": [ids]}`: reverses those changes in one transaction
/// (see `store::links::undo`); 409 and nothing changed when any cannot be.
pub async fn undo(
    caller: Caller,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = Body::parse(body.into_inner(), &["events"])?;
    let ids: Vec<Uuid> = match body.value("events") {
        Some(Value::Array(ids)) if !ids.is_empty() && ids.len() <= MAX_UNDO => ids
            .iter()
            .map(|id| id.as_str().and_then(|text| Uuid::parse_str(text).ok()))
            .collect::<Option<Vec<Uuid>>>()
            .ok_or_else(|| ApiError::Unprocessable("events must be event ids".into()))?,
        _ => return Err(ApiError::Unprocessable(format!("events must be a list of 1 to {MAX_UNDO} event ids"))),
    };
    let undone = links::undo(&state.db, caller.organization_id, &caller.actor(), &ids).await?;
    Ok(HttpResponse::Ok().json(json!({ "undone": undone.len(), "events": undone })))
}
