//! The HTTP shell: routes, shared state and JSON errors. Handlers stay thin: they parse the
//! request, call `sync`/`store`, and render.

pub mod admin;
pub mod api;
pub mod auth;
mod client_ip;
/// Per-organization request budgets of the JSON API.
pub mod limits;
pub mod pages;
pub mod qbo;
pub mod qbwc;
pub mod uploads;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, HttpServer, ResponseError, web};
use serde_json::json;

pub use self::client_ip::client_ip;
use crate::config::Settings;
use crate::qbo::Online;
use crate::store::{Db, StoreError};
use crate::sync::Service;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub service: Service,
    pub settings: Arc<Settings>,
    /// The SQLite file the server opened, watched by `/healthz` (None on PostgreSQL).
    pub database_file: Option<crate::store::DatabaseFile>,
    /// Each organization's JSON API request budget.
    pub api_limits: Arc<limits::ApiLimits>,
    /// QuickBooks Online (disabled unless `startup` enables it).
    pub online: Online,
}

impl AppState {
    /// The state of a server over `db` (open and migrated) with `settings`.
    pub fn new(db: Db, settings: Settings, service: Service) -> AppState {
        AppState {
            database_file: db.database_file(),
            api_limits: Arc::new(limits::ApiLimits::new(settings.api_requests_per_minute)),
            online: Online::new(db.clone(), settings.qbo.clone(), None, &settings.public_url, stale_run(&settings)),
            db,
            service,
            settings: Arc::new(settings),
        }
    }
}

/// How long a run may go without a sign of life before it counts as dead.
pub fn stale_run(settings: &Settings) -> std::time::Duration {
    settings.sync.stale_run.to_std().unwrap_or(std::time::Duration::from_secs(120))
}

/// Errors of the JSON API, rendered as `{"error": {"code", "message"}}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required: sign in, or send Authorization: Bearer <token>")]
    Unauthorized,
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unprocessable(String),
    /// The organization's request budget is spent for now.
    #[error("too many requests: try again in {} s", .0.as_secs())]
    TooManyRequests(std::time::Duration),
    /// The server is too busy to answer now; the client may retry after a few seconds.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized | ApiError::Unauthenticated(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::TooManyRequests(_) => "too_many_requests",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!("internal error: {cause:#}");
        }
        let mut res = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Unauthorized) {
            res.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let ApiError::TooManyRequests(wait) = self {
            res.insert_header(("Retry-After", wait.as_secs().max(1).to_string()));
        }
        if matches!(self, ApiError::Unavailable(_)) {
            res.insert_header(("Retry-After", "5"));
        }
        res.json(json!({ "error": { "code": self.code(), "message": self.to_string() } }))
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict(message) => ApiError::Conflict(message),
            other => ApiError::Internal(other.into()),
        }
    }
}

/// JSON bodies and query strings that do not parse answer a JSON 400, not actix's text.
fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(1024 * 1024)
        .error_handler(|err, _| ApiError::BadRequest(format!("invalid JSON body: {err}")).into())
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _| ApiError::BadRequest(format!("invalid query string: {err}")).into())
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into())
}

/// The route table.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(json_config())
        .app_data(query_config())
        .app_data(path_config())
        .service(web::resource("/qbwc").route(web::post().to(qbwc::post)).route(web::get().to(qbwc::wsdl)))
        .route("/healthz", web::get().to(pages::healthz))
        .route("/metrics", web::get().to(pages::metrics))
        .route("/support", web::get().to(pages::support))
        .route("/", web::get().to(pages::root))
        .route("/admin", web::get().to(admin::app))
        .route("/admin/", web::get().to(admin::app))
        .route("/admin/login", web::get().to(admin::login_page))
        .route("/admin/login", web::post().to(auth::login))
        .route("/admin/logout", web::post().to(auth::logout))
        .route("/admin/setup", web::get().to(admin::setup_page))
        .route("/admin/setup", web::post().to(auth::setup))
        .route("/admin/static/{name}", web::get().to(admin::static_file))
        .route("/qbo/callback", web::get().to(qbo::callback))
        .route("/qbo/webhooks", web::post().to(qbo::webhooks))
        .route("/api/openapi.json", web::get().to(api::openapi::document))
        .service(
            web::scope("/api/v1")
                .route("/session", web::get().to(auth::current_session))
                .route("/connections", web::get().to(api::connections::list_connections))
                .route("/connections", web::post().to(api::connections::create))
                .route("/connections/{id}", web::get().to(api::connections::get_connection))
                .route("/connections/{id}", web::patch().to(api::connections::update))
                .route("/connections/{id}", web::delete().to(api::connections::delete))
                .route("/connections/{id}/password", web::post().to(api::connections::rotate_password))
                .route("/connections/{id}/qwc", web::get().to(api::connections::connection_qwc))
                .route("/connections/{id}/runs", web::get().to(api::connections::connection_runs))
                .route("/connections/{id}/pull", web::post().to(api::connections::pull))
                .route("/connections/{id}/authorize", web::post().to(api::connections::authorize))
                .route("/connections/{id}/disconnect", web::post().to(api::connections::disconnect))
                .route("/connections/{id}/runs/{run_id}/changes", web::get().to(api::connections::run_changes))
                .route("/locations", web::get().to(api::locations::list))
                .route("/locations", web::post().to(api::locations::create))
                .route("/locations/{id}", web::get().to(api::locations::get))
                .route("/locations/{id}", web::patch().to(api::locations::update))
                .route("/locations/{id}", web::delete().to(api::locations::delete))
                .route("/locations/{id}/link", web::put().to(api::locations::link))
                .route("/locations/{id}/link", web::delete().to(api::locations::unlink))
                .route("/staff", web::get().to(api::staff::list))
                .route("/staff", web::post().to(api::staff::create))
                .route("/staff/{id}", web::get().to(api::staff::get))
                .route("/staff/{id}", web::patch().to(api::staff::update))
                .route("/staff/{id}", web::delete().to(api::staff::delete))
                .route("/staff/{id}/link", web::put().to(api::staff::link))
                .route("/staff/{id}/link", web::delete().to(api::staff::unlink))
                .route("/qb/customers", web::get().to(api::records::list_customers))
                .route("/qb/customers/{id}/location", web::post().to(api::records::create_location_from_customer))
                .route("/qb/employees", web::get().to(api::records::list_employees))
                .route("/qb/employees/{id}/staff", web::post().to(api::records::create_staff_from_employee))
                .route("/suggestions", web::get().to(api::suggestions::list))
                .route("/suggestions/accept", web::post().to(api::suggestions::accept))
                .route("/changes", web::get().to(api::changes::list))
                .route("/changes/{id}/apply", web::post().to(api::changes::apply))
                .route("/changes/{id}/dismiss", web::post().to(api::changes::dismiss))
                .route("/audit", web::get().to(api::audit::list))
                .route("/audit/undo", web::post().to(api::audit::undo))
                .default_service(web::to(api::not_found)),
        );
}

/// Starts the HTTP server on an already bound listener.
pub fn serve(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let workers = state.settings.workers;
    // One set of upload caps for all workers.
    let uploads =
        web::Data::new(uploads::Uploads::new(state.settings.max_uploads_per_address, state.settings.max_uploads));
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new().wrap(admin::security_headers()).app_data(data.clone()).app_data(uploads.clone()).configure(routes)
    })
    .listen(listener)?
    .shutdown_timeout(5);
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.run())
}
