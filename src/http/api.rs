//! The JSON API (`/api/v1`): read routes for connections, runs and staged QuickBooks records.
//! Every query is scoped to the caller's organization; another organization's ids answer 404.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ApiError, AppState};
use crate::secrets;
use crate::store::catalog::{self, Connection};
use crate::store::runs;
use crate::store::staging::{self, CustomerRow, EmployeeRow, RecordFilter};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

/// The organization a request acts for, from its bearer token.
pub struct Caller {
    pub organization_id: Uuid,
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
            let token = header
                .as_deref()
                .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or(ApiError::Unauthorized)?;
            let organization_id = catalog::organization_for_token(&state.db, &secrets::sha256_hex(token))
                .await?
                .ok_or(ApiError::Unauthorized)?;
            Ok(Caller { organization_id })
        })
    }
}

/// Unknown `/api/v1` routes.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound)
}

fn limit(raw: Option<i64>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::BadRequest(format!("limit must be between 1 and {MAX_LIMIT}, not {n}"))),
    }
}

/// An opaque keyset cursor: a sort key and a row id.
fn encode_cursor(key: &str, id: Uuid) -> String {
    hex::encode(format!("{key}\u{1f}{id}"))
}

fn decode_cursor(cursor: &str) -> Result<(String, Uuid), ApiError> {
    let bad = || ApiError::BadRequest("invalid cursor: pass the `next` value of the previous page".into());
    let bytes = hex::decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (key, id) = text.rsplit_once('\u{1f}').ok_or_else(bad)?;
    Ok((key.to_string(), Uuid::parse_str(id).map_err(|_| bad())?))
}

fn connection_json(conn: &Connection) -> Value {
    json!({
        "id": conn.connection_id,
        "org_id": conn.organization_id,
        "name": conn.name,
        "username": conn.username,
        "owner_id": conn.owner_id,
        "file_id": conn.file_id,
        "enabled": conn.enabled,
        "company_file": conn.company_file,
        "run_every_minutes": conn.run_every_minutes,
        "quickbooks": {
            "product": conn.qb_product,
            "version": conn.qb_version,
            "country": conn.qb_country,
            "company_name": conn.qb_company_name,
            "file_path": conn.qb_file_path,
            "qbxml_version": conn.qbxml_version,
            "seen_at": conn.qb_seen_at,
        },
        "created_at": conn.created_at,
    })
}

/// `GET /api/v1/connections`
pub async fn list_connections(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let connections = catalog::list_connections(&state.db, caller.organization_id).await?;
    let mut items = Vec::with_capacity(connections.len());
    for conn in &connections {
        let mut value = connection_json(conn);
        let last = runs::list_runs(&state.db, conn.connection_id, 1, None).await?;
        value["last_run"] = last.first().map(run_json).unwrap_or(Value::Null);
        items.push(value);
    }
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next": null })))
}

/// `GET /api/v1/connections/{id}`
pub async fn get_connection(caller: Caller, path: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let conn = catalog::get_connection(&state.db, Some(caller.organization_id), parse_id(&path)?).await?;
    let mut value = connection_json(&conn);
    let (customers, employees) = staging::staged_counts(&state.db, conn.connection_id).await?;
    value["staged"] = json!({ "customers": customers, "employees": employees });
    let last = runs::list_runs(&state.db, conn.connection_id, 1, None).await?;
    value["last_run"] = last.first().map(run_json).unwrap_or(Value::Null);
    Ok(HttpResponse::Ok().json(value))
}

/// `GET /api/v1/connections/{id}/qwc`: the Web Connector file, as a download.
pub async fn connection_qwc(caller: Caller, path: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let conn = catalog::get_connection(&state.db, Some(caller.organization_id), parse_id(&path)?).await?;
    let body = render_qwc(&state, &conn)?;
    let filename: String = conn
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .collect();
    Ok(HttpResponse::Ok()
        .content_type("application/xml; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"qbsync-{filename}.qwc\"")))
        .body(body))
}

/// The `.qwc` of a connection, or 422 when the public URL would be refused by the Web Connector.
pub fn render_qwc(state: &AppState, conn: &Connection) -> Result<String, ApiError> {
    let description = format!("Keeps {} customers and employees in step with QuickBooks", state.settings.app_name);
    let app_name = format!("{} ({})", state.settings.app_name, conn.name);
    crate::qwc::render(&crate::qwc::QwcFields {
        app_name: &app_name,
        app_description: &description,
        public_url: &state.settings.public_url,
        username: &conn.username,
        owner_id: &conn.owner_id,
        file_id: &conn.file_id,
        run_every_minutes: conn.run_every_minutes,
    })
    .map_err(|e| ApiError::Unprocessable(e.to_string()))
}

fn run_json(run: &runs::Run) -> Value {
    json!({
        "id": run.run_id,
        "connection_id": run.connection_id,
        "state": run.state,
        "outcome": run.outcome,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "last_call_at": run.last_call_at,
        "step": run.step,
        "percent": run.percent,
        "qbxml_version": run.qbxml_version,
        "requests": run.request_count,
        "counts": {
            "customers": run.customers_staged,
            "employees": run.employees_staged,
            "customers_deleted": run.customers_deleted,
            "employees_deleted": run.employees_deleted,
            "warnings": run.warning_count,
            "errors": run.error_count,
        },
        "last_error": run.last_error,
        "summary": run.summary,
    })
}

#[derive(Deserialize)]
pub struct RunsQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

/// `GET /api/v1/connections/{id}/runs`: newest first, each with its warnings and errors.
pub async fn connection_runs(
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<RunsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let conn = catalog::get_connection(&state.db, Some(caller.organization_id), parse_id(&path)?).await?;
    let limit = limit(query.limit)?;
    let before = match &query.cursor {
        Some(cursor) => {
            let (key, id) = decode_cursor(cursor)?;
            let at = DateTime::parse_from_rfc3339(&key)
                .map_err(|_| ApiError::BadRequest("invalid cursor: pass the `next` value of the previous page".into()))?
                .with_timezone(&Utc);
            Some((at, id))
        }
        None => None,
    };
    let page = runs::list_runs(&state.db, conn.connection_id, limit + 1, before).await?;
    let has_more = page.len() as i64 > limit;
    let mut items = Vec::new();
    for run in page.iter().take(limit as usize) {
        let mut value = run_json(run);
        let events = runs::run_events(&state.db, run.run_id).await?;
        value["events"] = events
            .iter()
            .map(|e| json!({ "at": e.at, "level": e.level, "code": e.code, "message": e.message, "explanation": e.explanation }))
            .collect();
        value["errors"] = events
            .iter()
            .filter(|e| e.level == "error")
            .map(|e| json!({ "code": e.code, "message": e.message, "explanation": e.explanation }))
            .collect();
        items.push(value);
    }
    let next = if has_more {
        page.get(limit as usize - 1).map(|r| encode_cursor(&r.started_at.to_rfc3339(), r.run_id))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next": next })))
}

#[derive(Deserialize)]
pub struct RecordQuery {
    q: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
    connection: Option<String>,
    linked: Option<String>,
    status: Option<String>,
}

fn record_filter(query: &RecordQuery) -> Result<RecordFilter, ApiError> {
    let connection_id = match &query.connection {
        Some(raw) => Some(
            Uuid::parse_str(raw).map_err(|_| ApiError::BadRequest(format!("connection must be a connection id, not {raw:?}")))?,
        ),
        None => None,
    };
    let linked = match query.linked.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => return Err(ApiError::BadRequest(format!("linked must be true or false, not {other:?}"))),
    };
    let status = match query.status.as_deref() {
        None => None,
        Some(s @ ("active" | "inactive" | "deleted")) => Some(s.to_string()),
        Some(other) => {
            return Err(ApiError::BadRequest(format!("status must be active, inactive or deleted, not {other:?}")));
        }
    };
    Ok(RecordFilter {
        connection_id,
        status,
        linked,
        q: query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_string),
        after: query.cursor.as_deref().map(decode_cursor).transpose()?,
        limit: limit(query.limit)? + 1,
    })
}

fn address_json(parts: [&Option<String>; 10]) -> Value {
    let [line1, line2, line3, line4, line5, city, state, postal_code, country, note] = parts;
    json!({
        "line1": line1, "line2": line2, "line3": line3, "line4": line4, "line5": line5,
        "city": city, "state": state, "postal_code": postal_code, "country": country, "note": note,
    })
}

fn record_status(is_active: bool, deleted: bool) -> &'static str {
    if deleted {
        "deleted"
    } else if is_active {
        "active"
    } else {
        "inactive"
    }
}

pub fn customer_json(c: &CustomerRow) -> Value {
    json!({
        "id": c.qb_customer_id,
        "connection_id": c.connection_id,
        "list_id": c.list_id,
        "name": c.name,
        "full_name": c.full_name,
        "parent_list_id": c.parent_list_id,
        "parent_full_name": c.parent_full_name,
        "sublevel": c.sublevel,
        "company_name": c.company_name,
        "salutation": c.salutation,
        "first_name": c.first_name,
        "middle_name": c.middle_name,
        "last_name": c.last_name,
        "job_title": c.job_title,
        "bill_address": address_json([&c.bill_addr1, &c.bill_addr2, &c.bill_addr3, &c.bill_addr4, &c.bill_addr5,
            &c.bill_city, &c.bill_state, &c.bill_postal_code, &c.bill_country, &c.bill_note]),
        "ship_address": address_json([&c.ship_addr1, &c.ship_addr2, &c.ship_addr3, &c.ship_addr4, &c.ship_addr5,
            &c.ship_city, &c.ship_state, &c.ship_postal_code, &c.ship_country, &c.ship_note]),
        "phone": c.phone,
        "alt_phone": c.alt_phone,
        "fax": c.fax,
        "email": c.email,
        "contact": c.contact,
        "notes": c.notes,
        "job_status": c.job_status,
        "is_active": c.is_active,
        "status": record_status(c.is_active, c.deleted_at.is_some()),
        "deleted_at": c.deleted_at,
        "edit_sequence": c.edit_sequence,
        "time_created": c.time_created,
        "time_modified": c.time_modified,
        "seen_at": c.seen_at,
        "link": c.link_location_id.map(|id| json!({ "id": id, "name": c.link_location_name })),
    })
}

pub fn employee_json(e: &EmployeeRow) -> Value {
    json!({
        "id": e.qb_employee_id,
        "connection_id": e.connection_id,
        "list_id": e.list_id,
        "name": e.name,
        "salutation": e.salutation,
        "first_name": e.first_name,
        "middle_name": e.middle_name,
        "last_name": e.last_name,
        "job_title": e.job_title,
        "address": address_json([&e.addr1, &e.addr2, &e.addr3, &e.addr4, &e.addr5,
            &e.city, &e.state, &e.postal_code, &e.country, &e.address_note]),
        "phone": e.phone,
        "mobile": e.mobile,
        "alt_phone": e.alt_phone,
        "fax": e.fax,
        "email": e.email,
        "employee_type": e.employee_type,
        "hired_date": e.hired_date,
        "released_date": e.released_date,
        "notes": e.notes,
        "is_active": e.is_active,
        "status": record_status(e.is_active, e.deleted_at.is_some()),
        "deleted_at": e.deleted_at,
        "edit_sequence": e.edit_sequence,
        "time_created": e.time_created,
        "time_modified": e.time_modified,
        "seen_at": e.seen_at,
        "link": e.link_staff_id.map(|id| json!({ "id": id, "name": e.link_staff_name })),
    })
}

/// `GET /api/v1/qb/customers`
pub async fn list_customers(caller: Caller, query: web::Query<RecordQuery>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let filter = record_filter(&query)?;
    let wanted = (filter.limit - 1) as usize;
    let rows = staging::list_customers(&state.db, caller.organization_id, &filter).await?;
    let next = if rows.len() > wanted { rows.get(wanted - 1).map(|r| encode_cursor(&r.full_name, r.qb_customer_id)) } else { None };
    let items: Vec<Value> = rows.iter().take(wanted).map(customer_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next": next })))
}

/// `GET /api/v1/qb/employees`
pub async fn list_employees(caller: Caller, query: web::Query<RecordQuery>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let filter = record_filter(&query)?;
    let wanted = (filter.limit - 1) as usize;
    let rows = staging::list_employees(&state.db, caller.organization_id, &filter).await?;
    let next = if rows.len() > wanted { rows.get(wanted - 1).map(|r| encode_cursor(&r.name, r.qb_employee_id)) } else { None };
    let items: Vec<Value> = rows.iter().take(wanted).map(employee_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next": next })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::new_v4();
        let cursor = encode_cursor("Abercrombie, Kristy:Family Room", id);
        assert_eq!(decode_cursor(&cursor).unwrap(), ("Abercrombie, Kristy:Family Room".to_string(), id));
        assert!(decode_cursor("zz").is_err());
        assert!(decode_cursor(&hex::encode("no separator")).is_err());
    }
}
