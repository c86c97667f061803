//! The HTTP shell: routes, shared state and JSON errors. Handlers stay thin: they parse the
//! request, call `sync`/`store`, and render.

pub mod api;
pub mod pages;
pub mod qbwc;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, HttpServer, ResponseError, web};
use serde_json::json;

use crate::config::Settings;
use crate::store::{Db, StoreError};
use crate::sync::Service;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub service: Service,
    pub settings: Arc<Settings>,
}

/// Errors of the JSON API, rendered as `{"error": {"code", "message"}}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required: send Authorization: Bearer <token>")]
    Unauthorized,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::NotFound => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
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
    web::QueryConfig::default().error_handler(|err, _| ApiError::BadRequest(format!("invalid query string: {err}")).into())
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into())
}

/// The route table.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(json_config())
        .app_data(query_config())
        .app_data(path_config())
        .service(
            web::resource("/qbwc")
                .route(web::post().to(qbwc::post))
                .route(web::get().to(qbwc::wsdl)),
        )
        .route("/healthz", web::get().to(pages::healthz))
        .route("/support", web::get().to(pages::support))
        .route("/", web::get().to(pages::root))
        .service(
            web::scope("/api/v1")
                .route("/connections", web::get().to(api::list_connections))
                .route("/connections/{id}", web::get().to(api::get_connection))
                .route("/connections/{id}/qwc", web::get().to(api::connection_qwc))
                .route("/connections/{id}/runs", web::get().to(api::connection_runs))
                .route("/qb/customers", web::get().to(api::list_customers))
                .route("/qb/employees", web::get().to(api::list_employees))
                .default_service(web::to(api::not_found)),
        );
}

/// Starts the HTTP server on an already bound listener.
pub fn serve(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let workers = state.settings.workers;
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || App::new().app_data(data.clone()).configure(routes))
        .listen(listener)?
        .shutdown_timeout(5);
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.run())
}
