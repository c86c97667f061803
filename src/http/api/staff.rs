//! Staff members: list, read, create, change, delete, link and disconnect.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::input::{Body, set};
use super::{decode_cursor, limit, page, parse_id, parse_linked};
use crate::http::auth::Caller;
use crate::http::{ApiError, AppState};
use crate::review::Watched;
use crate::store::locations::ListFilter;
use crate::store::staff::{self, StaffFields, StaffRow};

const FIELDS: &[&str] = &["name", "email", "phone"];

pub fn staff_json(s: &StaffRow) -> Value {
    let watched = Watched::parse(s.link_watch.as_deref().unwrap_or_default());
    json!({
        "id": s.staff_id,
        "name": s.name,
        "email": s.email,
        "phone": s.phone,
        "link": s.qb_employee_id.map(|id| json!({
            "employee_id": id,
            "connection_id": s.link_connection_id,
            "list_id": s.link_list_id,
            "name": s.link_name,
            "status": super::link_status(s.link_is_active, s.link_deleted),
            "changed": s.link_changed.unwrap_or(false),
            // The phone a "+" copies: the mobile, else the main phone.
            "email": watched.as_ref().and_then(|w| w.email.clone()),
            "phone": watched.as_ref().and_then(|w| w.mobile.clone().or_else(|| w.phone.clone())),
        })),
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    })
}

fn apply(body: &Body, fields: &mut StaffFields, creating: bool) -> Result<(), ApiError> {
    if creating || body.has("name") {
        fields.name = body.required_text("name", 200)?;
    }
    set(&mut fields.email, body.optional_email("email")?);
    set(&mut fields.phone, body.optional_text("phone", 40)?);
    Ok(())
}

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    linked: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// `GET /api/v1/staff`
pub async fn list(
    caller: Caller,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let wanted = limit(query.limit)?;
    let filter = ListFilter {
        q: query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_string),
        linked: parse_linked(query.linked.as_deref())?,
        after: query.cursor.as_deref().map(decode_cursor).transpose()?,
        limit: wanted + 1,
    };
    let (rows, total) = staff::list_staff(&state.db, caller.organization_id, &filter).await?;
    Ok(page(rows, wanted as usize, |r| (&r.name, r.staff_id), |r| staff_json(&r), total))
}

/// `POST /api/v1/staff`
pub async fn create(
    caller: Caller,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = Body::parse(body.into_inner(), FIELDS)?;
    let mut fields = StaffFields::default();
    apply(&body, &mut fields, true)?;
    let id = staff::create_staff(&state.db, caller.organization_id, &fields).await?;
    let row = staff::get_staff(&state.db, caller.organization_id, id).await?;
    Ok(HttpResponse::Created().json(staff_json(&row)))
}

/// `GET /api/v1/staff/{id}`
pub async fn get(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let row = staff::get_staff(&state.db, caller.organization_id, parse_id(&path)?).await?;
    Ok(HttpResponse::Ok().json(staff_json(&row)))
}

/// `PATCH /api/v1/staff/{id}`
pub async fn update(
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let body = Body::parse(body.into_inner(), FIELDS)?;
    let row = staff::get_staff(&state.db, caller.organization_id, id).await?;
    let mut fields = StaffFields { name: row.name.clone(), email: row.email.clone(), phone: row.phone.clone() };
    apply(&body, &mut fields, false)?;
    staff::update_staff(&state.db, caller.organization_id, id, &fields).await?;
    let row = staff::get_staff(&state.db, caller.organization_id, id).await?;
    Ok(HttpResponse::Ok().json(staff_json(&row)))
}

/// `DELETE /api/v1/staff/{id}`
pub async fn delete(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    staff::delete_staff(&state.db, caller.organization_id, parse_id(&path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /api/v1/staff/{id}/link` with `{"employee_id"}`: 409 when either side is linked.
pub async fn link(
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let body = Body::parse(body.into_inner(), &["employee_id"])?;
    let employee_id = body.required_id("employee_id")?;
    let event = staff::link_staff(&state.db, caller.organization_id, &caller.actor(), id, employee_id).await?;
    let row = staff::get_staff(&state.db, caller.organization_id, id).await?;
    Ok(super::with_event(HttpResponse::Ok(), Some(event)).json(staff_json(&row)))
}

/// `DELETE /api/v1/staff/{id}/link`
pub async fn unlink(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let event = staff::unlink_staff(&state.db, caller.organization_id, &caller.actor(), id).await?;
    let row = staff::get_staff(&state.db, caller.organization_id, id).await?;
    Ok(super::with_event(HttpResponse::Ok(), event).json(staff_json(&row)))
}
