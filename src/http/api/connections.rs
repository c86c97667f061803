//! Connections: list, read, create, change, delete, rotate the Web Connector password, the
//! `.qwc` download and the run history.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{decode_cursor, encode_cursor, limit, parse_id};
use crate::http::auth::{Caller, NO_STORE};
use crate::http::{ApiError, AppState};
use crate::qbo::{Lists, OnlineError};
use crate::store::catalog::{self, Connection, ConnectionKind};
use crate::store::{runs, staging};

pub fn connection_json(conn: &Connection) -> Value {
    let desktop = conn.kind == ConnectionKind::Desktop;
    let now = crate::store::now();
    let list = |listed_at: &Option<DateTime<Utc>>, watermark: &Option<String>| json!({ "updated_at": listed_at, "watermark": watermark });
    json!({
        "id": conn.connection_id,
        "org_id": conn.organization_id,
        "name": conn.name,
        "kind": conn.kind,
        "realm_id": conn.realm_id,
        "company_name": conn.qb_company_name,
        "status": conn.online_status,
        "username": desktop.then_some(&conn.username),
        "owner_id": desktop.then_some(&conn.owner_id),
        "file_id": desktop.then_some(&conn.file_id),
        "enabled": conn.enabled,
        "company_file": conn.company_file,
        "run_every_minutes": conn.run_every_minutes,
        "full_refresh_every_days": conn.full_refresh_every_days,
        "full_refresh_next_run": conn.full_refresh_requested_at.is_some(),
        "next_full_refresh_at": conn.next_full_refresh(now),
        "last_full_run_at": conn.last_full_run_at,
        "lists": {
            "customers": list(&conn.customers_listed_at, &conn.customers_watermark),
            "employees": list(&conn.employees_listed_at, &conn.employees_watermark),
        },
        "incremental_refused": conn.incremental_refused_by.as_ref().map(|by| json!({
            "quickbooks": by,
            "reason": conn.incremental_refused_reason,
        })),
        "quickbooks": {
            "product": conn.qb_product,
            "version": conn.qb_version,
            "country": conn.qb_country,
            "company_name": conn.qb_company_name,
            "file_path": conn.qb_file_path,
            "qbxml_version": conn.qbxml_version,
            "seen_at": conn.qb_seen_at,
        },
        // When each list was last brought up to date (read whole).
        "created_at": conn.created_at,
    })
}

/// `GET /api/v1/connections`
pub async fn list_connections(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let connections = catalog::list_connections(&state.db, caller.organization_id).await?;
    let mut items = Vec::with_capacity(connections.len());
    for conn in &connections {
        let mut value = connection_json(conn);
        value["last_run"] = last_run_json(&state, conn.connection_id).await?;
        items.push(value);
    }
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next": null })))
}

/// `GET /api/v1/connections/{id}`
pub async fn get_connection(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let conn = catalog::get_connection(&state.db, Some(caller.organization_id), parse_id(&path)?).await?;
    Ok(HttpResponse::Ok().json(detail_json(&state, &conn).await?))
}

/// A connection with its staged counts and last run.
async fn detail_json(state: &AppState, conn: &Connection) -> Result<Value, ApiError> {
    let mut value = connection_json(conn);
    let (customers, employees) = staging::staged_counts(&state.db, conn.connection_id).await?;
    value["staged"] = json!({ "customers": customers, "employees": employees });
    value["last_run"] = last_run_json(state, conn.connection_id).await?;
    Ok(value)
}

/// `GET /api/v1/connections/{id}/qwc`: the Web Connector file, as a download.
pub async fn connection_qwc(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let conn = catalog::get_connection(&state.db, Some(caller.organization_id), parse_id(&path)?).await?;
    desktop_only(&conn)?;
    let body = render_qwc(&state, &conn)?;
    let filename: String =
        conn.name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    Ok(HttpResponse::Ok()
        .content_type("application/xml; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"qbsync-{filename}.qwc\"")))
        .body(body))
}

/// The Web Connector's things (`.qwc`, password) exist for Desktop connections only.
fn desktop_only(conn: &Connection) -> Result<(), ApiError> {
    match conn.kind {
        ConnectionKind::Desktop => Ok(()),
        ConnectionKind::Online => Err(ApiError::Unprocessable(
            "this is a QuickBooks Online connection: it has no Web Connector file or password".into(),
        )),
    }
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

/// A run's changes by list and kind, every count present (zero when nothing of the kind).
fn changes_json(run_id: uuid::Uuid, counts: &[(uuid::Uuid, String, runs::Change, i64)]) -> Value {
    let mut lists = serde_json::Map::new();
    for list in ["customers", "employees"] {
        let mut kinds = serde_json::Map::new();
        for change in runs::Change::ALL {
            let n: i64 = counts
                .iter()
                .filter(|(id, l, c, _)| *id == run_id && l == list && c == change)
                .map(|(_, _, _, n)| n)
                .sum();
            kinds.insert(change.as_str().to_string(), json!(n));
        }
        lists.insert(list.to_string(), Value::Object(kinds));
    }
    Value::Object(lists)
}

/// Runs as the API shows them, with what each changed.
async fn runs_json(state: &AppState, runs: &[runs::Run]) -> Result<Vec<Value>, ApiError> {
    let ids: Vec<uuid::Uuid> = runs.iter().map(|r| r.run_id).collect();
    let counts = runs::change_counts(&state.db, &ids).await?;
    Ok(runs
        .iter()
        .map(|run| {
            let mut value = run_json(run);
            value["changes"] = changes_json(run.run_id, &counts);
            value
        })
        .collect())
}

/// The connection's last run, or null.
async fn last_run_json(state: &AppState, connection_id: uuid::Uuid) -> Result<Value, ApiError> {
    let last = runs::list_runs(&state.db, connection_id, 1, None).await?;
    Ok(runs_json(state, &last).await?.into_iter().next().unwrap_or(Value::Null))
}

pub fn run_json(run: &runs::Run) -> Value {
    json!({
        "mode": run.mode,
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
        "trigger": run.trigger,
    })
}

impl From<OnlineError> for ApiError {
    fn from(err: OnlineError) -> Self {
        match err {
            OnlineError::Disabled | OnlineError::Desktop => ApiError::Unprocessable(err.to_string()),
            OnlineError::NotConnected | OnlineError::NeedsReconnect | OnlineError::Busy => {
                ApiError::Conflict(err.to_string())
            }
            OnlineError::Callback(message) => ApiError::BadRequest(message),
            OnlineError::Store(err) => err.into(),
        }
    }
}

/// Who asks, as an OAuth state records it.
fn requested_by(caller: &Caller) -> String {
    match &caller.session {
        Some(session) => format!("admin:{}", session.admin_id),
        None => "api-token".into(),
    }
}

/// `POST /api/v1/connections/{id}/pull`: starts a pull of an online connection's lists and
/// answers 202 with the run.
pub async fn pull(
    caller: Caller,
    path: web::Path<String>,
    body: Option<web::Json<Value>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    use super::input::Body;
    let conn = catalog::get_connection(&state.db, Some(caller.organization_id), parse_id(&path)?).await?;
    let body = Body::parse(body.map(|b| b.into_inner()).unwrap_or_else(|| json!({})), &["lists"])?;
    let lists = match body.get("lists") {
        None | Some(Value::Null) => Lists { customers: true, employees: true },
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut lists = Lists { customers: false, employees: false };
            for item in items {
                match item.as_str() {
                    Some("customers") => lists.customers = true,
                    Some("employees") => lists.employees = true,
                    _ => {
                        return Err(ApiError::Unprocessable(format!(
                            "lists: each must be \"customers\" or \"employees\", not {item}"
                        )));
                    }
                }
            }
            lists
        }
        Some(_) => {
            return Err(ApiError::Unprocessable(
                "lists must be a non-empty array of \"customers\" and \"employees\"".into(),
            ));
        }
    };
    let run = state.online.start_pull(&conn, lists, runs::Trigger::Button).await?;
    let value = runs_json(&state, std::slice::from_ref(&run)).await?.into_iter().next().unwrap_or(Value::Null);
    Ok(HttpResponse::Accepted().json(value))
}

/// A consent URL for the caller; from the admin page, bound to its browser by a cookie (set on
/// `response`). An API token's URL is for the token holder's own browser.
async fn consent_url(
    caller: &Caller,
    state: &AppState,
    conn: &Connection,
    response: &mut actix_web::HttpResponseBuilder,
) -> Result<String, ApiError> {
    let binding = caller.session.as_ref().map(|_| crate::http::qbo::browser_binding(state));
    let url =
        state.online.authorize_url(conn, &requested_by(caller), binding.as_ref().map(|(v, _)| v.as_str())).await?;
    if let Some((_, cookie)) = binding {
        response.cookie(cookie);
    }
    Ok(url)
}

/// `POST /api/v1/connections/{id}/authorize`: a new consent URL for an online connection
/// (to connect it, or reconnect it after Intuit refused its authorization).
pub async fn authorize(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let conn = catalog::get_connection(&state.db, Some(caller.organization_id), parse_id(&path)?).await?;
    let mut response = HttpResponse::Ok();
    let url = consent_url(&caller, &state, &conn, &mut response).await?;
    Ok(response.insert_header(NO_STORE).json(json!({ "authorize_url": url })))
}

/// `POST /api/v1/connections/{id}/disconnect`: revokes the online connection's authorization
/// at Intuit and forgets its tokens; staged records and links stay.
pub async fn disconnect(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let conn = catalog::get_connection(&state.db, Some(caller.organization_id), parse_id(&path)?).await?;
    let revoked = state.online.disconnect(&conn).await?;
    let conn = catalog::get_connection(&state.db, Some(caller.organization_id), conn.connection_id).await?;
    let mut value = detail_json(&state, &conn).await?;
    value["revoked"] = json!(revoked);
    Ok(HttpResponse::Ok().json(value))
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
    let page_runs: Vec<runs::Run> = page.iter().take(limit as usize).cloned().collect();
    let mut items = Vec::new();
    for (run, mut value) in page_runs.iter().zip(runs_json(&state, &page_runs).await?) {
        let events = runs::run_events(&state.db, run.run_id).await?;
        value["events"] = events
            .iter()
            .map(|e| json!({ "at": e.at, "level": e.level, "code": e.code, "message": e.message, "explanation": e.explanation }))
            .collect();
        value["errors"] = events
            .iter()
            .filter(|e| e.level == runs::EventLevel::Error)
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
pub struct ChangesQuery {
    list: Option<String>,
    change: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// `GET /api/v1/connections/{id}/runs/{run_id}/changes`: the records a run changed, by list, kind
/// of change and name; `?list=customers|employees`, `?change=new|changed|deactivated|reactivated|deleted`.
pub async fn run_changes(
    caller: Caller,
    path: web::Path<(String, String)>,
    query: web::Query<ChangesQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (connection_id, run_id) = path.into_inner();
    let conn = catalog::get_connection(&state.db, Some(caller.organization_id), parse_id(&connection_id)?).await?;
    let run = runs::get_run(&state.db, conn.connection_id, parse_id(&run_id)?).await?;
    let list = match query.list.as_deref() {
        None => None,
        Some(list @ ("customers" | "employees")) => Some(list),
        Some(_) => return Err(ApiError::BadRequest("list: use customers or employees".into())),
    };
    let change = match query.change.as_deref() {
        None => None,
        Some(text) => Some(text.parse::<runs::Change>().map_err(|err| ApiError::BadRequest(format!("change: {err}")))?),
    };
    let limit = limit(query.limit)?;
    let bad_cursor = || ApiError::BadRequest("invalid cursor: pass the `next` value of the previous page".into());
    let after = match &query.cursor {
        Some(cursor) => {
            let bytes = hex::decode(cursor).map_err(|_| bad_cursor())?;
            let parts: (String, String, String, String) = serde_json::from_slice(&bytes).map_err(|_| bad_cursor())?;
            Some(parts)
        }
        None => None,
    };
    let mut rows = runs::run_changes(&state.db, run.run_id, list, change, after, limit + 1).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| {
            hex::encode(serde_json::to_vec(&(&r.list, r.change.as_str(), &r.name, &r.list_id)).unwrap_or_default())
        })
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(json!({ "items": rows, "next": next })))
}

/// A fresh Web Connector password and its hash (computed off the async workers, waiting its
/// turn with the password checks).
async fn new_web_connector_password(state: &AppState) -> Result<(String, String), ApiError> {
    let password = crate::secrets::new_password();
    let secret = password.clone();
    let hash = state
        .service
        .sign_in()
        .gate()
        .run(move || crate::secrets::hash_generated_secret(&secret))
        .await
        .map_err(|busy| ApiError::Unavailable(busy.to_string()))?;
    Ok((password, hash))
}

const CREATE_FIELDS: &[&str] = &["name", "kind", "company_file", "run_every_minutes", "username"];
const CHANGE_FIELDS: &[&str] =
    &["name", "enabled", "company_file", "run_every_minutes", "full_refresh_every_days", "full_refresh_next_run"];

/// `POST /api/v1/connections`: answers the connection with its Web Connector password, once.
///
/// The Web Connector user name is always made here: the requested `username` (or one derived
/// from the organization and connection names) with a random suffix. User names are unique
/// across organizations, and this way a create never reveals that another organization uses a
/// name: the only 409 is for a connection name already used in the caller's own organization.
pub async fn create(
    caller: Caller,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    use super::input::Body;
    let body = Body::parse(body.into_inner(), CREATE_FIELDS)?;
    let name = body.required_text("name", 100)?;
    let kind = match body.optional_text("kind", 20)?.flatten().as_deref() {
        None | Some("desktop") => ConnectionKind::Desktop,
        Some("online") => ConnectionKind::Online,
        Some(other) => {
            return Err(ApiError::Unprocessable(format!("kind must be \"desktop\" or \"online\", not {other:?}")));
        }
    };
    if kind == ConnectionKind::Online {
        return create_online(caller, &state, &name).await;
    }
    let company_file = body.optional_text("company_file", 1000)?.flatten().unwrap_or_default();
    let minutes = body.optional_int("run_every_minutes", 1..=1440)?.unwrap_or(state.settings.run_every_minutes);
    let base = match body.optional_text("username", 100)?.flatten() {
        Some(requested) => catalog::requested_username(&requested).ok_or_else(|| {
            ApiError::Unprocessable(format!(
                "username: use 1 to {} letters, digits, '.', '_' or '-' (a random suffix is added)",
                catalog::USERNAME_BASE_CHARS
            ))
        })?,
        None => {
            let org = catalog::find_organization(&state.db, &caller.organization_id.to_string()).await?;
            catalog::default_username(&org.name, &name)
        }
    };
    let name_taken = || async {
        Ok::<_, ApiError>(
            catalog::list_connections(&state.db, caller.organization_id).await?.iter().any(|c| c.name == name),
        )
    };
    if name_taken().await? {
        return Err(ApiError::Conflict(format!("a connection named {name:?} already exists")));
    }
    let (password, hash) = new_web_connector_password(&state).await?;
    let mut attempt = 0;
    let conn = loop {
        let username = catalog::unique_username(&base);
        let result = catalog::create_connection(
            &state.db,
            catalog::NewConnection {
                organization_id: caller.organization_id,
                name: &name,
                username: &username,
                password_hash: &hash,
                company_file: &company_file,
                run_every_minutes: minutes,
                kind: crate::store::catalog::ConnectionKind::Desktop,
            },
        )
        .await;
        match result {
            Err(crate::store::StoreError::Conflict(_)) if name_taken().await? => {
                return Err(ApiError::Conflict(format!("a connection named {name:?} already exists")));
            }
            // A suffix drawn twice: 40 random bits make this all but impossible; draw again.
            Err(crate::store::StoreError::Conflict(_)) if attempt < 3 => attempt += 1,
            other => break other?,
        }
    };
    let mut value = connection_json(&conn);
    value["password"] = json!(password);
    value["last_run"] = Value::Null;
    Ok(HttpResponse::Created().insert_header(NO_STORE).json(value))
}

/// An online connection: no Web Connector account (its user name is never shown and no
/// password opens it), and the consent URL that connects it.
async fn create_online(caller: Caller, state: &AppState, name: &str) -> Result<HttpResponse, ApiError> {
    if !state.online.enabled() {
        return Err(OnlineError::Disabled.into());
    }
    if catalog::list_connections(&state.db, caller.organization_id).await?.iter().any(|c| c.name == name) {
        return Err(ApiError::Conflict(format!("a connection named {name:?} already exists")));
    }
    let conn = catalog::create_connection(
        &state.db,
        catalog::NewConnection {
            organization_id: caller.organization_id,
            name,
            username: &format!("qbo-{}", uuid::Uuid::new_v4().simple()),
            // Not a PHC string: no password ever matches it.
            password_hash: "!online",
            company_file: "",
            run_every_minutes: state.settings.run_every_minutes,
            kind: ConnectionKind::Online,
        },
    )
    .await?;
    let mut response = HttpResponse::Created();
    let url = consent_url(&caller, state, &conn, &mut response).await?;
    let mut value = connection_json(&conn);
    value["authorize_url"] = json!(url);
    value["last_run"] = Value::Null;
    Ok(response.insert_header(NO_STORE).json(value))
}

/// `PATCH /api/v1/connections/{id}`
pub async fn update(
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    use super::input::Body;
    let id = parse_id(&path)?;
    let body = Body::parse(body.into_inner(), CHANGE_FIELDS)?;
    let changes = catalog::ConnectionChanges {
        name: if body.has("name") { Some(body.required_text("name", 100)?) } else { None },
        enabled: body.optional_bool("enabled")?,
        company_file: body.optional_text("company_file", 1000)?.map(Option::unwrap_or_default),
        run_every_minutes: body.optional_int("run_every_minutes", 1..=1440)?,
        full_refresh_every_days: body.optional_int("full_refresh_every_days", 1..=90)?,
        full_refresh_next_run: body.optional_bool("full_refresh_next_run")?,
    };
    catalog::update_connection(&state.db, caller.organization_id, id, &changes).await?;
    get_connection(caller, path, state).await
}

/// `DELETE /api/v1/connections/{id}`: with its runs and staged records; linked locations and
/// staff stay, unlinked.
pub async fn delete(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let conn = catalog::get_connection(&state.db, Some(caller.organization_id), parse_id(&path)?).await?;
    if conn.kind == ConnectionKind::Online {
        // Give the authorization back to Intuit before forgetting it.
        state.online.disconnect(&conn).await?;
    }
    catalog::delete_connection(&state.db, caller.organization_id, conn.connection_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/connections/{id}/password`: a new Web Connector password, shown once.
pub async fn rotate_password(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    desktop_only(&catalog::get_connection(&state.db, Some(caller.organization_id), id).await?)?;
    let (password, hash) = new_web_connector_password(&state).await?;
    catalog::set_connection_password(&state.db, caller.organization_id, id, &hash).await?;
    Ok(HttpResponse::Ok().insert_header(NO_STORE).json(json!({ "password": password })))
}
