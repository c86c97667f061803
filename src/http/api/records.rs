//! Staged QuickBooks customers and employees.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{address_json, decode_cursor, encode_cursor, limit, page, parse_linked};
use crate::http::auth::Caller;
use crate::http::{ApiError, AppState};
use crate::store::staging::{self, CustomerRow, EmployeeRow, RecordFilter};

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
            Uuid::parse_str(raw)
                .map_err(|_| ApiError::BadRequest(format!("connection must be a connection id, not {raw:?}")))?,
        ),
        None => None,
    };
    let linked = parse_linked(query.linked.as_deref())?;
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
        "seen_at": c.last_seen(),
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
        "seen_at": e.last_seen(),
        "link": e.link_staff_id.map(|id| json!({ "id": id, "name": e.link_staff_name })),
    })
}

/// `GET /api/v1/qb/customers`
pub async fn list_customers(
    caller: Caller,
    query: web::Query<RecordQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let filter = record_filter(&query)?;
    let wanted = (filter.limit - 1) as usize;
    let (rows, total) = staging::list_customers(&state.db, caller.organization_id, &filter).await?;
    let next = if rows.len() > wanted {
        rows.get(wanted - 1).map(|r| encode_cursor(&r.full_name, r.qb_customer_id))
    } else {
        None
    };
    let items: Vec<Value> = rows.iter().take(wanted).map(customer_json).collect();
    Ok(page(items, next, Some(total)))
}

/// `GET /api/v1/qb/employees`
pub async fn list_employees(
    caller: Caller,
    query: web::Query<RecordQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let filter = record_filter(&query)?;
    let wanted = (filter.limit - 1) as usize;
    let (rows, total) = staging::list_employees(&state.db, caller.organization_id, &filter).await?;
    let next =
        if rows.len() > wanted { rows.get(wanted - 1).map(|r| encode_cursor(&r.name, r.qb_employee_id)) } else { None };
    let items: Vec<Value> = rows.iter().take(wanted).map(employee_json).collect();
    Ok(page(items, next, Some(total)))
}

/// `POST /api/v1/qb/customers/{id}/location`: a new location filled from the customer, linked.
pub async fn create_location_from_customer(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let customer_id = super::parse_id(&path)?;
    let location_id =
        crate::store::locations::create_from_customer(&state.db, caller.organization_id, customer_id).await?;
    let location = crate::store::locations::get_location(&state.db, caller.organization_id, location_id).await?;
    Ok(HttpResponse::Created().json(super::locations::location_json(&location)))
}

/// `POST /api/v1/qb/employees/{id}/staff`: a new staff member filled from the employee, linked.
pub async fn create_staff_from_employee(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let employee_id = super::parse_id(&path)?;
    let staff_id = crate::store::staff::create_from_employee(&state.db, caller.organization_id, employee_id).await?;
    let staff = crate::store::staff::get_staff(&state.db, caller.organization_id, staff_id).await?;
    Ok(HttpResponse::Created().json(super::staff::staff_json(&staff)))
}
