//! The JSON API (`/api/v1`). Every handler takes a [`Caller`](super::auth::Caller), and every
//! query is scoped to the caller's organization: another organization's ids answer 404.

pub mod audit;
pub mod changes;
pub mod connections;
pub mod input;
pub mod locations;
pub mod openapi;
pub mod records;
pub mod staff;
pub mod suggestions;

use actix_web::HttpResponse;
use serde_json::json;
use uuid::Uuid;

use super::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// The header naming the audit event of a change, for undoing it (`POST /api/v1/audit/undo`).
pub const AUDIT_EVENT_HEADER: &str = "X-Audit-Event";

/// A response that names the audit event of its change, if it made one.
pub fn with_event(mut res: actix_web::HttpResponseBuilder, event: Option<Uuid>) -> actix_web::HttpResponseBuilder {
    if let Some(event) = event {
        res.insert_header((AUDIT_EVENT_HEADER, event.to_string()));
    }
    res
}

/// Unknown `/api/v1` routes.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

pub fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound)
}

pub fn limit(raw: Option<i64>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::BadRequest(format!("limit must be between 1 and {MAX_LIMIT}, not {n}"))),
    }
}

/// An opaque keyset cursor: a sort key and a row id.
pub fn encode_cursor(key: &str, id: Uuid) -> String {
    hex::encode(format!("{key}\u{1f}{id}"))
}

pub fn decode_cursor(cursor: &str) -> Result<(String, Uuid), ApiError> {
    let bad = || ApiError::BadRequest("invalid cursor: pass the `next` value of the previous page".into());
    let bytes = hex::decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (key, id) = text.rsplit_once('\u{1f}').ok_or_else(bad)?;
    Ok((key.to_string(), Uuid::parse_str(id).map_err(|_| bad())?))
}

/// A list page from `rows`, fetched with one row more than `wanted` to learn whether more follow:
/// the first `wanted` as items (each made by `item`), the cursor after the last of them (its sort
/// key and id, from `cursor_of`) when more follow, and (on a list's first page) how many match in
/// all.
pub fn page<T, U: serde::Serialize>(
    mut rows: Vec<T>,
    wanted: usize,
    cursor_of: impl Fn(&T) -> (&str, Uuid),
    item: impl FnMut(T) -> U,
    total: Option<i64>,
) -> HttpResponse {
    let next = if rows.len() > wanted {
        rows.truncate(wanted);
        rows.last().map(|row| {
            let (key, id) = cursor_of(row);
            encode_cursor(key, id)
        })
    } else {
        None
    };
    let items: Vec<U> = rows.into_iter().map(item).collect();
    let mut body = json!({ "items": items, "next": next });
    if let Some(total) = total {
        body["total"] = json!(total);
    }
    HttpResponse::Ok().json(body)
}

/// Parses `?linked=true|false`.
pub fn parse_linked(raw: Option<&str>) -> Result<Option<bool>, ApiError> {
    match raw {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(ApiError::BadRequest(format!("linked must be true or false, not {other:?}"))),
    }
}

/// A link's QuickBooks record status (`active`, `inactive`, `deleted`) from the joined row.
fn link_status(is_active: Option<bool>, deleted: Option<bool>) -> Option<&'static str> {
    Some(crate::record::RecordStatus::of(is_active?, deleted.unwrap_or(false)).as_str())
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
