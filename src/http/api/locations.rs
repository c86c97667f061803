//! Locations: list, read, create, change, delete, link and disconnect.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::input::{Body, set};
use super::{decode_cursor, limit, page, parse_id, parse_linked};
use crate::http::auth::Caller;
use crate::http::{ApiError, AppState};
use crate::review::Watched;
use crate::store::locations::{self, ListFilter, LocationFields, LocationRow};

const FIELDS: &[&str] = &["name", "description", "address", "phone", "email"];
const ADDRESS_FIELDS: &[&str] =
    &["line1", "line2", "line3", "line4", "line5", "city", "state", "postal_code", "country"];

pub fn location_json(l: &LocationRow) -> Value {
    let address = json!({
        "line1": l.line1, "line2": l.line2, "line3": l.line3, "line4": l.line4, "line5": l.line5,
        "city": l.city, "state": l.state, "postal_code": l.postal_code, "country": l.country,
    });
    json!({
        "id": l.location_id,
        "name": l.name,
        "description": l.description,
        "address": address,
        "phone": l.phone,
        "email": l.email,
        "link": l.qb_customer_id.map(|id| json!({
            "customer_id": id,
            "connection_id": l.link_connection_id,
            "list_id": l.link_list_id,
            "full_name": l.link_full_name,
            "status": super::link_status(l.link_is_active, l.link_deleted),
            "changed": l.link_changed.unwrap_or(false),
            "address": Watched::parse(l.link_watch.as_deref().unwrap_or_default()).map(|w| w.address),
        })),
        "created_at": l.created_at,
        "updated_at": l.updated_at,
    })
}

/// Applies a body's fields onto `fields`; `creating` requires a name.
fn apply(body: &Body, fields: &mut LocationFields, creating: bool) -> Result<(), ApiError> {
    if creating || body.has("name") {
        fields.name = body.required_text("name", 200)?;
    }
    if let Some(description) = body.optional_text("description", 2000)? {
        fields.description = description.unwrap_or_default();
    }
    set(&mut fields.phone, body.optional_text("phone", 40)?);
    set(&mut fields.email, body.optional_email("email")?);
    if body.has("address") {
        match body.object("address", ADDRESS_FIELDS)? {
            Some(address) => {
                set(&mut fields.line1, address.optional_text("line1", 200)?);
                set(&mut fields.line2, address.optional_text("line2", 200)?);
                set(&mut fields.line3, address.optional_text("line3", 200)?);
                set(&mut fields.line4, address.optional_text("line4", 200)?);
                set(&mut fields.line5, address.optional_text("line5", 200)?);
                set(&mut fields.city, address.optional_text("city", 100)?);
                set(&mut fields.state, address.optional_text("state", 100)?);
                set(&mut fields.postal_code, address.optional_text("postal_code", 30)?);
                set(&mut fields.country, address.optional_text("country", 100)?);
            }
            None => {
                let name = std::mem::take(&mut fields.name);
                let description = std::mem::take(&mut fields.description);
                let (phone, email) = (fields.phone.take(), fields.email.take());
                *fields = LocationFields { name, description, phone, email, ..LocationFields::default() };
            }
        }
    }
    Ok(())
}

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    linked: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// `GET /api/v1/locations`
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
    let (rows, total) = locations::list_locations(&state.db, caller.organization_id, &filter).await?;
    Ok(page(rows, wanted as usize, |r| (&r.name, r.location_id), |r| location_json(&r), total))
}

/// `POST /api/v1/locations`
pub async fn create(
    caller: Caller,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = Body::parse(body.into_inner(), FIELDS)?;
    let mut fields = LocationFields::default();
    apply(&body, &mut fields, true)?;
    let id = locations::create_location(&state.db, caller.organization_id, &fields).await?;
    let row = locations::get_location(&state.db, caller.organization_id, id).await?;
    Ok(HttpResponse::Created().json(location_json(&row)))
}

/// `GET /api/v1/locations/{id}`
pub async fn get(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let row = locations::get_location(&state.db, caller.organization_id, parse_id(&path)?).await?;
    Ok(HttpResponse::Ok().json(location_json(&row)))
}

/// `PATCH /api/v1/locations/{id}`
pub async fn update(
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let body = Body::parse(body.into_inner(), FIELDS)?;
    let row = locations::get_location(&state.db, caller.organization_id, id).await?;
    let mut fields = row.fields();
    apply(&body, &mut fields, false)?;
    locations::update_location(&state.db, caller.organization_id, id, &fields).await?;
    let row = locations::get_location(&state.db, caller.organization_id, id).await?;
    Ok(HttpResponse::Ok().json(location_json(&row)))
}

/// `DELETE /api/v1/locations/{id}`
pub async fn delete(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    locations::delete_location(&state.db, caller.organization_id, parse_id(&path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /api/v1/locations/{id}/link` with `{"customer_id"}`: 409 when either side is linked.
pub async fn link(
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let body = Body::parse(body.into_inner(), &["customer_id"])?;
    let customer_id = body.required_id("customer_id")?;
    let event = locations::link_location(&state.db, caller.organization_id, &caller.actor(), id, customer_id).await?;
    let row = locations::get_location(&state.db, caller.organization_id, id).await?;
    Ok(super::with_event(HttpResponse::Ok(), Some(event)).json(location_json(&row)))
}

/// `DELETE /api/v1/locations/{id}/link`
pub async fn unlink(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let event = locations::unlink_location(&state.db, caller.organization_id, &caller.actor(), id).await?;
    let row = locations::get_location(&state.db, caller.organization_id, id).await?;
    Ok(super::with_event(HttpResponse::Ok(), event).json(location_json(&row)))
}
