//! Change review: linked QuickBooks records that changed since they were linked or last
//! reviewed (`store::changes`), applying chosen fields of them or dismissing them.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::input::Body;
use super::{parse_id, with_event};
use crate::http::auth::Caller;
use crate::http::{ApiError, AppState};
use crate::store::changes::{self, Review};
use crate::store::links;

fn review_json(r: &Review) -> Value {
    let (id_key, qb_key) = if r.kind.table == links::LOCATION.table {
        ("location_id", "customer_id")
    } else {
        ("staff_id", "employee_id")
    };
    json!({
        "id": r.id,
        id_key: r.id,
        "name": r.name,
        qb_key: r.qb_id,
        "quickbooks_name": r.qb_name,
        "connection_id": r.connection_id,
        "status": r.status,
        "changes": changes::changes_json(&r.changes),
        "fields": r.fields.iter().map(|f| json!({
            "field": f.field,
            "current": f.ours,
            "quickbooks": f.quickbooks,
            "differs": f.ours != f.quickbooks,
        })).collect::<Vec<_>>(),
    })
}

#[derive(Deserialize)]
pub struct ChangesQuery {
    kind: Option<String>,
}

/// `GET /api/v1/changes?kind=locations|staff`: the pairs whose QuickBooks record changed, with
/// the counts of both kinds.
pub async fn list(
    caller: Caller,
    query: web::Query<ChangesQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let kind = match query.kind.as_deref() {
        Some("locations") => &links::LOCATION,
        Some("staff") => &links::STAFF,
        Some(other) => return Err(ApiError::BadRequest(format!("kind must be locations or staff, not {other:?}"))),
        None => return Err(ApiError::BadRequest("kind is required: locations or staff".into())),
    };
    let items = changes::list(&state.db, caller.organization_id, kind).await?;
    let (locations, staff) = changes::counts(&state.db, caller.organization_id).await?;
    Ok(HttpResponse::Ok().json(json!({
        "items": items.iter().map(review_json).collect::<Vec<_>>(),
        "counts": { "locations": locations, "staff": staff },
    })))
}

/// `POST /api/v1/changes/{id}/apply` with `{"fields": [...]}`: copies those fields from the
/// QuickBooks record onto the location (staff member) `{id}`, and marks its changes reviewed.
pub async fn apply(
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let body = Body::parse(body.into_inner(), &["fields"])?;
    let kind = changes::subject_kind(&state.db, caller.organization_id, id).await?;
    let allowed = changes::applicable_fields(kind);
    let fields: Vec<String> = match body.get("fields") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|item| match item.as_str() {
                Some(f) if allowed.contains(&f) => Ok(f.to_string()),
                _ => {
                    Err(ApiError::Unprocessable(format!("fields must name some of {}, not {item}", allowed.join(", "))))
                }
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(ApiError::Unprocessable(format!(
                "fields is required: a non-empty list of {} (to apply nothing, dismiss)",
                allowed.join(", ")
            )));
        }
    };
    let done = changes::apply(&state.db, caller.organization_id, &caller.actor(), id, &fields).await?;
    answer(&state, caller.organization_id, id, done).await
}

/// `POST /api/v1/changes/{id}/dismiss`: marks the changes of `{id}`'s QuickBooks record reviewed
/// and leaves the location (staff member) as it is.
pub async fn dismiss(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let done = changes::dismiss(&state.db, caller.organization_id, &caller.actor(), id).await?;
    answer(&state, caller.organization_id, id, done).await
}

/// The location (staff member) as it is now, naming the audit event.
async fn answer(
    state: &AppState,
    organization_id: uuid::Uuid,
    id: uuid::Uuid,
    done: changes::Reviewed,
) -> Result<HttpResponse, ApiError> {
    let json = if done.kind.table == links::LOCATION.table {
        super::locations::location_json(&crate::store::locations::get_location(&state.db, organization_id, id).await?)
    } else {
        super::staff::staff_json(&crate::store::staff::get_staff(&state.db, organization_id, id).await?)
    };
    Ok(with_event(HttpResponse::Ok(), Some(done.event)).json(json))
}
