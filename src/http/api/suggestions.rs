//! Suggested pairs of unlinked records (`matching` over `store::suggestions`), and accepting them.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::input::Body;
use crate::http::auth::Caller;
use crate::http::{ApiError, AppState};
use crate::matching::{self, DEFAULT_THRESHOLD, Index, Score};
use crate::store::links;
use crate::store::suggestions::{self, Side};

/// Most pairs one accept takes.
const MAX_PAIRS: usize = 5000;
/// Candidates of one record shown by default, and the lowest score they may have.
const RECORD_LIMIT: usize = 5;
const RECORD_MIN_SCORE: f64 = 0.4;

/// The names one kind of suggestion uses in JSON.
struct Names {
    local_id: &'static str,
    remote_id: &'static str,
    local_name: &'static str,
    remote_name: &'static str,
}

const LOCATIONS: Names = Names {
    local_id: "location_id",
    remote_id: "customer_id",
    local_name: "location_name",
    remote_name: "customer_name",
};
const STAFF: Names =
    Names { local_id: "staff_id", remote_id: "employee_id", local_name: "staff_name", remote_name: "employee_name" };

/// The JSON names and link kind of `?kind=` / `"kind"`; the bool says staff.
fn names_of(kind: Option<&str>) -> Result<(&'static Names, &'static links::LinkKind, bool), ApiError> {
    match kind {
        Some("locations") => Ok((&LOCATIONS, &links::LOCATION, false)),
        Some("staff") => Ok((&STAFF, &links::STAFF, true)),
        Some(other) => Err(ApiError::BadRequest(format!("kind must be locations or staff, not {other:?}"))),
        None => Err(ApiError::BadRequest("kind is required: locations or staff".into())),
    }
}

#[derive(Deserialize)]
pub struct SuggestionQuery {
    kind: Option<String>,
    location_id: Option<String>,
    customer_id: Option<String>,
    staff_id: Option<String>,
    employee_id: Option<String>,
    min_score: Option<f64>,
    limit: Option<i64>,
}

fn query_id(key: &str, raw: &Option<String>) -> Result<Option<Uuid>, ApiError> {
    raw.as_deref()
        .map(|text| {
            Uuid::parse_str(text).map_err(|_| ApiError::BadRequest(format!("{key} must be an id, not {text:?}")))
        })
        .transpose()
}

fn item(names: &Names, local: &Side, i: usize, remote: &Side, j: usize, score: &Score) -> Value {
    json!({
        names.local_id: local.ids[i],
        names.remote_id: remote.ids[j],
        "score": (score.value * 1000.0).round() / 1000.0,
        "reasons": score.reasons(),
        names.local_name: local.names[i],
        names.remote_name: remote.names[j],
        "connection_id": remote.connection_ids[j],
    })
}

/// `GET /api/v1/suggestions?kind=locations|staff`: likely pairs of unlinked records, best first,
/// each record in one pair at most (`?min_score=`, default [`DEFAULT_THRESHOLD`]). With one
/// record's id (`?location_id=`, `?customer_id=`, `?staff_id=`, `?employee_id=`): that record's
/// best candidates on the other side instead (`?limit=`, default 5; `?min_score=` default 0.4).
pub async fn list(
    caller: Caller,
    query: web::Query<SuggestionQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (names, _, is_staff) = names_of(query.kind.as_deref())?;
    let (local_key, remote_key, local_raw, remote_raw) = if is_staff {
        ("staff_id", "employee_id", &query.staff_id, &query.employee_id)
    } else {
        ("location_id", "customer_id", &query.location_id, &query.customer_id)
    };
    let wrong_kind =
        if is_staff { [&query.location_id, &query.customer_id] } else { [&query.staff_id, &query.employee_id] };
    if wrong_kind.iter().any(|raw| raw.is_some()) {
        return Err(ApiError::BadRequest(format!(
            "with kind {}, give {local_key} or {remote_key}",
            if is_staff { "staff" } else { "locations" }
        )));
    }
    let local_id = query_id(local_key, local_raw)?;
    let remote_id = query_id(remote_key, remote_raw)?;
    if local_id.is_some() && remote_id.is_some() {
        return Err(ApiError::BadRequest(format!("give {local_key} or {remote_key}, not both")));
    }
    if let Some(min) = query.min_score
        && !(0.0..=1.0).contains(&min)
    {
        return Err(ApiError::BadRequest(format!("min_score must be from 0 to 1, not {min}")));
    }
    let limit = match query.limit {
        None => None,
        Some(n) if (1..=super::MAX_LIMIT).contains(&n) => Some(n as usize),
        Some(n) => {
            return Err(ApiError::BadRequest(format!("limit must be between 1 and {}, not {n}", super::MAX_LIMIT)));
        }
    };
    let org = caller.organization_id;
    let (local, remote) = if is_staff {
        (suggestions::unlinked_staff(&state.db, org).await?, suggestions::unlinked_employees(&state.db, org).await?)
    } else {
        (suggestions::unlinked_locations(&state.db, org).await?, suggestions::unlinked_customers(&state.db, org).await?)
    };
    let min_score = query.min_score;
    // Scoring thousands of records is CPU work: off the async workers.
    let items = web::block(move || -> Vec<Value> {
        if let Some(id) = local_id {
            let Some(i) = local.position(id) else { return Vec::new() };
            let index = Index::new(&remote.profiles);
            let found = index.candidates(
                &local.profiles[i],
                min_score.unwrap_or(RECORD_MIN_SCORE),
                limit.unwrap_or(RECORD_LIMIT),
            );
            found.iter().map(|(j, score)| item(names, &local, i, &remote, *j, score)).collect()
        } else if let Some(id) = remote_id {
            let Some(j) = remote.position(id) else { return Vec::new() };
            let index = Index::new(&local.profiles);
            let found = index.candidates(
                &remote.profiles[j],
                min_score.unwrap_or(RECORD_MIN_SCORE),
                limit.unwrap_or(RECORD_LIMIT),
            );
            found.iter().map(|(i, score)| item(names, &local, *i, &remote, j, score)).collect()
        } else {
            let found = matching::suggest(&local.profiles, &remote.profiles, min_score.unwrap_or(DEFAULT_THRESHOLD));
            let shown = found.iter().take(limit.unwrap_or(usize::MAX));
            shown.map(|s| item(names, &local, s.left, &remote, s.right, &s.score)).collect()
        }
    })
    .await
    .map_err(|err| ApiError::Internal(anyhow::anyhow!("suggestions: {err}")))?;
    Ok(HttpResponse::Ok().json(json!({ "items": items, "threshold": DEFAULT_THRESHOLD })))
}

/// `POST /api/v1/suggestions/accept` with `{"kind", "pairs": [{"location_id", "customer_id"}...]}`:
/// links every pair in one transaction; 409 and nothing changed if any record is already linked.
pub async fn accept(
    caller: Caller,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = Body::parse(body.into_inner(), &["kind", "pairs"])?;
    let kind = body.required_text("kind", 20)?;
    let (names, link_kind, _) = names_of(Some(&kind)).map_err(|err| ApiError::Unprocessable(err.to_string()))?;
    let pairs_json = match body.value("pairs") {
        Some(Value::Array(pairs)) if !pairs.is_empty() && pairs.len() <= MAX_PAIRS => pairs.clone(),
        Some(Value::Array(_)) => {
            return Err(ApiError::Unprocessable(format!("pairs must hold from 1 to {MAX_PAIRS} pairs")));
        }
        _ => return Err(ApiError::Unprocessable("pairs must be a list of pairs".into())),
    };
    let mut pairs = Vec::with_capacity(pairs_json.len());
    for pair in pairs_json {
        let known =
            [names.local_id, names.remote_id, "score", "reasons", names.local_name, names.remote_name, "connection_id"];
        let pair = Body::parse(pair, &known)?;
        pairs.push((pair.required_id(names.local_id)?, pair.required_id(names.remote_id)?));
    }
    let events = links::link_pairs(&state.db, link_kind, caller.organization_id, &caller.actor(), &pairs).await?;
    Ok(HttpResponse::Ok().json(json!({ "linked": events.len(), "events": events })))
}
