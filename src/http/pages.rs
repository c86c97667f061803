//! Small pages: health, the Web Connector's support page, the root redirect.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::AppState;

/// `GET /healthz`: 200 when the database can be written, 503 otherwise: while it does not answer,
/// cannot be written (a full disk; this recovers by itself once it can), or when its SQLite file
/// was removed or replaced under the server.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let problem = match state.database_file.as_ref().and_then(|file| file.problem()) {
        Some(problem) => Some(problem),
        None => state.db.check_writable().await.err().map(|err| format!("the database cannot be written: {err}")),
    };
    match problem {
        None => HttpResponse::Ok().json(json!({ "status": "ok", "database": state.db.kind() })),
        Some(problem) => {
            tracing::error!("health check failed: {problem}");
            HttpResponse::ServiceUnavailable().json(json!({
                "status": "unavailable",
                "database": state.db.kind(),
                "error": "the database cannot be used; the server's log says why"
            }))
        }
    }
}

/// `GET /support`: the AppSupport page the Web Connector checks when the .qwc is added.
pub async fn support(state: web::Data<AppState>) -> HttpResponse {
    let name = quick_xml::escape::escape(state.settings.app_name.as_str()).into_owned();
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{name} support</title></head>\
         <body><h1>{name}</h1><p>This server keeps QuickBooks customers and employees in step with your \
         locations and staff through the QuickBooks Web Connector.</p><p>If the Web Connector reports an error, \
         open the connection's page in the admin area to see each run and what went wrong, or ask the person \
         who runs this server.</p></body></html>"
    ))
}

/// `GET /`: the admin page lives at `/admin`.
pub async fn root() -> HttpResponse {
    HttpResponse::Found().insert_header(("Location", "/admin")).finish()
}

/// `GET /metrics`: this process's counters and the database's live runs, Prometheus text format.
/// With a metrics token set, only `Authorization: Bearer <token>` may read it (401 otherwise).
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(expected) = &state.settings.metrics_token {
        let sent = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or_default();
        if !super::auth::same_secret(sent, expected) {
            return HttpResponse::Unauthorized()
                .insert_header(("WWW-Authenticate", "Bearer realm=\"metrics\""))
                .content_type("text/plain; charset=utf-8")
                .body("metrics need Authorization: Bearer <QBSYNC_METRICS_TOKEN>\n");
        }
    }
    let live = crate::store::runs::count_live_runs(&state.db).await.unwrap_or(-1);
    let up = i64::from(state.db.ping().await.is_ok());
    let gate = state.service.sign_in().gate();
    let body = state.service.metrics().render(&[
        ("qbsync_runs_live", "Web Connector runs in progress (whole database; -1 when it does not answer)", live),
        ("qbsync_database_up", "1 when the database answers", up),
        ("qbsync_password_checks_limit", "Password checks (argon2) allowed to run at once", gate.limit() as i64),
        ("qbsync_password_checks_peak", "Most password checks that ran at once in this process", gate.peak() as i64),
    ]);
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(body)
}
