//! Staged QuickBooks customers and employees.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use uuid::Uuid;

use super::{decode_cursor, limit, page, parse_linked};
use crate::http::auth::Caller;
use crate::http::{ApiError, AppState};
use crate::record::RecordStatus;
use crate::store::staging::{self, RecordFilter};

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
    // One status, or several separated by commas (`active,inactive`: all but the deleted).
    let status = match query.status.as_deref() {
        None => Vec::new(),
        Some(raw) => raw
            .split(',')
            .map(|s| {
                RecordStatus::parse(s.trim()).ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "status must be active, inactive or deleted (or several, separated by commas), not {raw:?}"
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
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

/// `GET /api/v1/qb/customers`
pub async fn list_customers(
    caller: Caller,
    query: web::Query<RecordQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let filter = record_filter(&query)?;
    let wanted = (filter.limit - 1) as usize;
    let (rows, total) = staging::list_customers(&state.db, caller.organization_id, &filter).await?;
    Ok(page(rows, wanted, |r| (&r.record.full_name, r.id), |r| r, total))
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
    Ok(page(rows, wanted, |r| (&r.record.name, r.id), |r| r, total))
}

/// `POST /api/v1/qb/customers/{id}/location`: a new location filled from the customer, linked;
/// the customer's location when it is already linked (idempotent).
pub async fn create_location_from_customer(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let customer_id = super::parse_id(&path)?;
    let created =
        crate::store::locations::create_from_customer(&state.db, caller.organization_id, &caller.actor(), customer_id)
            .await?;
    let location = crate::store::locations::get_location(&state.db, caller.organization_id, created.id).await?;
    Ok(super::with_event(created_or_ok(&created), created.event).json(super::locations::location_json(&location)))
}

/// `POST /api/v1/qb/employees/{id}/staff`: a new staff member filled from the employee, linked;
/// the employee's staff member when it is already linked (idempotent).
pub async fn create_staff_from_employee(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let employee_id = super::parse_id(&path)?;
    let created =
        crate::store::staff::create_from_employee(&state.db, caller.organization_id, &caller.actor(), employee_id)
            .await?;
    let staff = crate::store::staff::get_staff(&state.db, caller.organization_id, created.id).await?;
    Ok(super::with_event(created_or_ok(&created), created.event).json(super::staff::staff_json(&staff)))
}

/// 201 when a "+" made the record now, 200 when the QuickBooks record was already linked (a
/// repeated "+": the answer is the record it is linked to).
fn created_or_ok(created: &crate::store::locations::Created) -> actix_web::HttpResponseBuilder {
    if created.event.is_some() { HttpResponse::Created() } else { HttpResponse::Ok() }
}
