//! The fake's HTTP side (actix-web): Intuit's authorization page, token and revoke endpoints,
//! the Accounting API subset, and the `/_fake` control surface. Handlers are thin: the work is
//! in [`auth`](super::auth), [`company`](super::company), [`query`](super::query) and
//! [`webhook`](super::webhook), over the shared [`State`].

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use actix_web::dev::{Server, Service};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::json;

use super::auth::OAuthError;
use super::company::{CdcRow, CompanyError, QueryAnswer, Rows};
use super::query::{self, Entity};
use super::{State, clock};

/// The scope every authorization must include.
pub const ACCOUNTING_SCOPE: &str = "com.intuit.quickbooks.accounting";
/// How far back CDC looks.
const CDC_WINDOW_MS: i64 = 30 * 86_400_000;

type Params = web::Query<HashMap<String, String>>;

/// Builds the server on a bound listener; the caller runs it inside an actix System.
pub(crate) fn build(listener: TcpListener, state: Arc<State>) -> std::io::Result<Server> {
    let data = web::Data::from(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap_fn(|req, srv| {
                let xml = wants_xml(req.request());
                let call = srv.call(req);
                async move {
                    let res = call.await?;
                    let mut res = if xml { as_xml(res).await } else { res };
                    // Intuit's transaction id, on every answer.
                    let tid = uuid::Uuid::new_v4().to_string();
                    if let Ok(value) = HeaderValue::from_str(&tid) {
                        res.headers_mut().insert(HeaderName::from_static("intuit_tid"), value);
                    }
                    Ok(res)
                }
            })
            .route("/connect/oauth2", web::get().to(authorize))
            .route("/connect/oauth2/consent", web::post().to(consent))
            .route("/oauth2/v1/tokens/bearer", web::post().to(token))
            .route("/v2/oauth2/tokens/revoke", web::post().to(revoke))
            .service(
                web::scope("/v3/company/{realm}")
                    .route("/query", web::get().to(query_get))
                    .route("/query", web::post().to(query_post))
                    .route("/cdc", web::get().to(cdc))
                    .route("/companyinfo/{id}", web::get().to(company_info))
                    .route("/customer/{id}", web::get().to(read_customer))
                    .route("/employee/{id}", web::get().to(read_employee))
                    .default_service(web::to(api_unknown)),
            )
            .service(control_routes())
    })
    .workers(2)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?;
    Ok(server.run())
}

// ---------------------------------------------------------------------------------------
// Helpers

/// An API request without `Accept: application/json` gets XML, as from Intuit.
fn wants_xml(req: &HttpRequest) -> bool {
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    req.path().starts_with("/v3/") && !accept.to_ascii_lowercase().contains("json")
}

/// Rewrites a JSON API answer as Intuit's XML. The gateway's 401/403 bodies stay JSON.
async fn as_xml(res: actix_web::dev::ServiceResponse) -> actix_web::dev::ServiceResponse {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json || matches!(res.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        return res;
    }
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = actix_web::body::to_bytes(body).await.unwrap_or_default();
    let xml = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(value) => super::xml::intuit_response(&value),
        Err(_) => return actix_web::dev::ServiceResponse::new(req, head.set_body(bytes).map_into_boxed_body()),
    };
    let mut res = head.set_body(xml).map_into_boxed_body();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml;charset=UTF-8"));
    actix_web::dev::ServiceResponse::new(req, res)
}

/// Percent-encodes a query-string value.
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `redirect_uri` with `params` added to its query.
fn redirect_to(redirect_uri: &str, params: &[(&str, &str)]) -> HttpResponse {
    let mut url = redirect_uri.to_string();
    for (i, (k, v)) in params.iter().enumerate() {
        let sep = if i == 0 && !redirect_uri.contains('?') { '?' } else { '&' };
        url.push_str(&format!("{sep}{k}={}", percent_encode(v)));
    }
    HttpResponse::Found().insert_header((header::LOCATION, url)).finish()
}

fn form_params(body: &[u8]) -> Option<HashMap<String, String>> {
    let text = std::str::from_utf8(body).ok()?;
    web::Query::<HashMap<String, String>>::from_query(text).ok().map(web::Query::into_inner)
}

fn content_type(req: &HttpRequest) -> String {
    req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase()
}

fn json_body(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    HttpResponse::build(status).content_type("application/json;charset=UTF-8").body(body)
}

/// An application-level fault: `{"Fault":{"Error":[...],"type":...},"time":...}`.
fn fault(state: &State, status: StatusCode, kind: &str, code: &str, message: &str, detail: &str) -> HttpResponse {
    let body = json!({
        "Fault": {"Error": [{"Message": message, "Detail": detail, "code": code, "element": ""}], "type": kind},
        "time": clock::format_time_ms(state.now_ms()),
    });
    json_body(status, body.to_string().into_bytes())
}

/// The gateway's lower-camel error envelope (401 code 3200, 403 code 3100).
fn gateway_error(state: &State, status: StatusCode, code: &str, name: &str, kind: &str, detail: &str) -> HttpResponse {
    let body = json!({
        "warnings": null, "intuitObject": null,
        "fault": {"error": [{
            "message": format!("message={name}; errorCode=00{code}; statusCode={}", status.as_u16()),
            "detail": detail, "code": code, "element": null,
        }], "type": kind},
        "report": null, "queryResponse": null, "batchItemResponse": [], "attachableResponse": [],
        "syncErrorResponse": null, "requestId": null, "time": state.now_ms(), "status": null, "cdcresponse": [],
    });
    let mut res = json_body(status, body.to_string().into_bytes());
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"Intuit\", error=\"invalid_token\""),
        );
    }
    res
}

fn oauth_error(status: StatusCode, error: &OAuthError) -> HttpResponse {
    let body = json!({"error_description": error.description, "error": error.code});
    HttpResponse::build(status)
        .content_type("application/json;charset=UTF-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body.to_string())
}

fn invalid_client() -> HttpResponse {
    HttpResponse::Unauthorized()
        .content_type("application/json;charset=UTF-8")
        .insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"Intuit\""))
        .body(json!({"error": "invalid_client"}).to_string())
}

fn page(status: StatusCode, title: &str, body_html: &str) -> HttpResponse {
    HttpResponse::build(status).content_type("text/html; charset=utf-8").body(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>body{{font-family:sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}}\
         form.inline{{display:inline}}label{{display:block;margin:.4rem 0}}td,th{{padding:.15rem .5rem;text-align:left}}\
         .note{{color:#555}}</style></head><body>{body_html}</body></html>",
        html_escape(title)
    ))
}

// ---------------------------------------------------------------------------------------
// OAuth 2.0

/// `GET /connect/oauth2` (guide §1.2). A bad client id or redirect URI gets an error page (there
/// is nowhere safe to redirect); other mistakes are redirected back with an OAuth `error`.
async fn authorize(state: web::Data<State>, params: Params) -> HttpResponse {
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    if let Err(html) = check_client_and_redirect(&state, get("client_id"), get("redirect_uri")) {
        return page(StatusCode::BAD_REQUEST, "Authorization error", &html);
    }
    let (redirect_uri, app_state) = (get("redirect_uri"), get("state"));
    if get("response_type") != "code" {
        return redirect_to(redirect_uri, &[("error", "unsupported_response_type"), ("state", app_state)]);
    }
    if !get("scope").split(' ').any(|s| s == ACCOUNTING_SCOPE) {
        return redirect_to(redirect_uri, &[("error", "invalid_scope"), ("state", app_state)]);
    }
    if app_state.is_empty() {
        return redirect_to(redirect_uri, &[("error", "invalid_request")]);
    }
    if state.config.auto_consent {
        return grant_code(&state, redirect_uri, app_state);
    }
    let hidden =
        |name: &str, value: &str| format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", html_escape(value));
    let fields = [
        hidden("client_id", get("client_id")),
        hidden("redirect_uri", redirect_uri),
        hidden("state", app_state),
        hidden("scope", get("scope")),
    ]
    .concat();
    let html = format!(
        "<h1>Connect to QuickBooks</h1><p>An app wants to read and write the accounting data of \
         <strong>{company}</strong> (company {realm}).</p><p class=\"note\">This is qbsync's local \
         fake of Intuit's consent page. It will send you back to {target}.</p>\
         <form method=\"post\" action=\"/connect/oauth2/consent\">{fields}\
         <button name=\"decision\" value=\"connect\" id=\"connect\">Connect</button> \
         <button name=\"decision\" value=\"cancel\" id=\"cancel\">Cancel</button></form>",
        company = html_escape(&state.company_name()),
        realm = html_escape(&state.config.realm_id),
        target = html_escape(redirect_uri),
    );
    page(StatusCode::OK, "Connect to QuickBooks", &html)
}

fn check_client_and_redirect(state: &State, client_id: &str, redirect_uri: &str) -> Result<(), String> {
    if client_id != state.config.client_id {
        return Err("<h1>invalid_client</h1><p>The client_id is not known.</p>".to_string());
    }
    if !(redirect_uri.starts_with("http://") || redirect_uri.starts_with("https://")) {
        return Err("<h1>invalid_request</h1><p>The redirect_uri is missing or not an http(s) URL.</p>".to_string());
    }
    Ok(())
}

fn grant_code(state: &State, redirect_uri: &str, app_state: &str) -> HttpResponse {
    let code = state.auth.lock().expect("auth lock").issue_code(redirect_uri, state.now_ms());
    redirect_to(redirect_uri, &[("code", &code), ("state", app_state), ("realmId", &state.config.realm_id)])
}

/// `POST /connect/oauth2/consent`: the Connect or Cancel button of the consent page.
async fn consent(state: web::Data<State>, body: web::Bytes) -> HttpResponse {
    let params = form_params(&body).unwrap_or_default();
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    if let Err(html) = check_client_and_redirect(&state, get("client_id"), get("redirect_uri")) {
        return page(StatusCode::BAD_REQUEST, "Authorization error", &html);
    }
    if get("decision") == "connect" {
        grant_code(&state, get("redirect_uri"), get("state"))
    } else {
        redirect_to(get("redirect_uri"), &[("error", "access_denied"), ("state", get("state"))])
    }
}

/// The client's credentials: HTTP Basic (what Intuit's clients send) or, as Intuit's discovery
/// document also allows, `client_id`/`client_secret` in the form.
fn client_authenticated(state: &State, req: &HttpRequest, form: &HashMap<String, String>) -> bool {
    use base64::Engine;
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let (id, secret) = match &basic {
        Some(pair) => match pair.split_once(':') {
            Some((id, secret)) => (id.to_string(), secret.to_string()),
            None => return false,
        },
        None => match (form.get("client_id"), form.get("client_secret")) {
            (Some(id), Some(secret)) => (id.clone(), secret.clone()),
            _ => return false,
        },
    };
    id == state.config.client_id && secret == state.config.client_secret
}

/// `POST /oauth2/v1/tokens/bearer` (guide §1.3).
async fn token(state: web::Data<State>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let form =
        if content_type(&req).starts_with("application/x-www-form-urlencoded") { form_params(&body) } else { None };
    let Some(form) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            &OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"),
        );
    };
    if !client_authenticated(&state, &req, &form) {
        return invalid_client();
    }
    let get = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let now = state.now_ms();
    let result = match get("grant_type") {
        Some("authorization_code") => match (get("code"), get("redirect_uri")) {
            (Some(code), Some(redirect_uri)) => {
                let result = state.auth.lock().expect("auth lock").exchange_code(code, redirect_uri, now);
                if result.is_ok() {
                    state.counters.code_exchanges.fetch_add(1, Ordering::Relaxed);
                }
                result
            }
            _ => Err(OAuthError::invalid_request("code and redirect_uri are required")),
        },
        Some("refresh_token") => match get("refresh_token") {
            Some(refresh_token) => {
                let result = state.auth.lock().expect("auth lock").refresh(refresh_token, now);
                let counter = if result.is_ok() { &state.counters.refreshes } else { &state.counters.failed_refreshes };
                counter.fetch_add(1, Ordering::Relaxed);
                result
            }
            None => Err(OAuthError::invalid_request("refresh_token is required")),
        },
        Some(_) => {
            Err(OAuthError { code: "unsupported_grant_type", description: "unsupported grant_type".to_string() })
        }
        None => Err(OAuthError::invalid_request("grant_type is required")),
    };
    match result {
        Ok(tokens) => HttpResponse::Ok()
            .content_type("application/json;charset=UTF-8")
            .insert_header((header::CACHE_CONTROL, "no-cache, no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .body(
                json!({
                    "token_type": "bearer",
                    "expires_in": tokens.expires_in_secs,
                    "refresh_token": tokens.refresh_token,
                    "x_refresh_token_expires_in": super::auth::REFRESH_TOKEN_TTL_SECS,
                    "access_token": tokens.access_token,
                })
                .to_string(),
            ),
        Err(error) => oauth_error(StatusCode::BAD_REQUEST, &error),
    }
}

/// `POST /v2/oauth2/tokens/revoke` (guide §1.5): `{"token": ...}` as JSON or a form.
async fn revoke(state: web::Data<State>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let form = form_params(&body).unwrap_or_default();
    if !client_authenticated(&state, &req, &form) {
        return invalid_client();
    }
    let token = if content_type(&req).contains("json") {
        serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("token").and_then(|t| t.as_str()).map(str::to_string))
    } else {
        form.get("token").cloned()
    };
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return oauth_error(StatusCode::BAD_REQUEST, &OAuthError::invalid_request("token is required"));
    };
    state.auth.lock().expect("auth lock").revoke(&token);
    state.counters.revocations.fetch_add(1, Ordering::Relaxed);
    HttpResponse::Ok().finish()
}

// ---------------------------------------------------------------------------------------
// Accounting API

/// Held while an API request is answered: counts requests in flight.
struct InFlight<'a>(&'a State);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn throttled(state: &State) -> HttpResponse {
    state.counters.throttled.fetch_add(1, Ordering::Relaxed);
    let body = json!({
        "Fault": {"Error": [{
            "Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
            "Detail": "The request limit was reached.", "code": "3001",
        }], "type": "SERVICE"},
        "time": clock::format_time_ms(state.now_ms()),
    });
    json_body(StatusCode::TOO_MANY_REQUESTS, body.to_string().into_bytes())
}

/// What every API request goes through, in the order a gateway would: throttling (injected, in
/// flight, per minute), the optional latency, the bearer token, the realm, injected failures.
async fn gate<'a>(state: &'a State, req: &HttpRequest) -> Result<InFlight<'a>, HttpResponse> {
    state.counters.api_requests.fetch_add(1, Ordering::Relaxed);
    let in_flight = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let guard = InFlight(state);
    state.counters.max_in_flight.fetch_max(u64::from(in_flight), Ordering::Relaxed);
    if take_one(&state.throttle_next) || in_flight > state.config.concurrency_limit {
        return Err(throttled(state));
    }
    {
        let now = state.now_ms();
        let mut window = state.minute_window.lock().expect("window lock");
        while window.front().is_some_and(|&t| t <= now - 60_000) {
            window.pop_front();
        }
        if window.len() >= state.config.minute_limit as usize {
            drop(window);
            return Err(throttled(state));
        }
        window.push_back(now);
    }
    if !state.config.api_latency.is_zero() {
        actix_web::rt::time::sleep(state.config.api_latency).await;
    }
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    if let Err(rejection) = state.auth.lock().expect("auth lock").check_access(bearer, state.now_ms()) {
        let detail = rejection.detail();
        return Err(gateway_error(
            state,
            StatusCode::UNAUTHORIZED,
            "3200",
            "AuthenticationFailed",
            "AUTHENTICATION",
            detail,
        ));
    }
    let realm = req.match_info().get("realm").unwrap_or_default();
    if realm != state.config.realm_id {
        return Err(gateway_error(
            state,
            StatusCode::FORBIDDEN,
            "3100",
            "AuthorizationFailed",
            "SERVICE",
            "The token is not authorized for this company (realm)",
        ));
    }
    if take_one(&state.fail_next) {
        state.counters.failed.fetch_add(1, Ordering::Relaxed);
        return Err(fault(
            state,
            StatusCode::INTERNAL_SERVER_ERROR,
            "SystemFault",
            "10000",
            "An application error has occurred while processing your request",
            "System Failure Error: the fake was told to fail this request",
        ));
    }
    Ok(guard)
}

/// Decrements a counter that is above zero; says whether it did.
fn take_one(counter: &std::sync::atomic::AtomicUsize) -> bool {
    counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
}

/// `{"QueryResponse": {...}, "time": ...}` from a query answer.
struct QueryEnvelope<'a> {
    answer: QueryAnswer<'a>,
    time: String,
}

struct QueryResponseJson<'b, 'a>(&'b QueryAnswer<'a>);

impl Serialize for QueryResponseJson<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        match self.0 {
            QueryAnswer::Count(n) => map.serialize_entry("totalCount", n)?,
            QueryAnswer::Page { rows, start_position } => {
                let n = match rows {
                    Rows::Customers(r) => r.len(),
                    Rows::Employees(r) => r.len(),
                };
                // Past the end Intuit answers an empty QueryResponse.
                if n > 0 {
                    match rows {
                        Rows::Customers(r) => map.serialize_entry("Customer", r)?,
                        Rows::Employees(r) => map.serialize_entry("Employee", r)?,
                    }
                    map.serialize_entry("startPosition", start_position)?;
                    map.serialize_entry("maxResults", &n)?;
                }
            }
        }
        map.end()
    }
}

impl Serialize for QueryEnvelope<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("QueryResponse", &QueryResponseJson(&self.answer))?;
        map.serialize_entry("time", &self.time)?;
        map.end()
    }
}

fn run_query(state: &State, text: &str) -> HttpResponse {
    state.counters.queries.fetch_add(1, Ordering::Relaxed);
    let parsed = match query::parse(text) {
        Ok(q) => q,
        Err(err) => {
            return fault(
                state,
                StatusCode::BAD_REQUEST,
                "ValidationFault",
                "4000",
                "Error parsing query",
                &err.to_string(),
            );
        }
    };
    let body = {
        let company = state.company.lock().expect("company lock");
        let ctx = company.render_ctx();
        let envelope =
            QueryEnvelope { answer: company.query(&parsed, &ctx), time: clock::format_time_ms(state.now_ms()) };
        serde_json::to_vec(&envelope).expect("plain data serializes")
    };
    json_body(StatusCode::OK, body)
}

/// `GET /v3/company/{realm}/query?query=...&minorversion=...`.
async fn query_get(state: web::Data<State>, req: HttpRequest, params: Params) -> HttpResponse {
    let _guard = match gate(&state, &req).await {
        Ok(g) => g,
        Err(res) => return res,
    };
    match params.get("query") {
        Some(text) => run_query(&state, text),
        None => fault(
            &state,
            StatusCode::BAD_REQUEST,
            "ValidationFault",
            "4000",
            "Error parsing query",
            "QueryParserError: no query",
        ),
    }
}

/// `POST /v3/company/{realm}/query` with the statement as an `application/text` body.
async fn query_post(state: web::Data<State>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let _guard = match gate(&state, &req).await {
        Ok(g) => g,
        Err(res) => return res,
    };
    match std::str::from_utf8(&body) {
        Ok(text) if !text.trim().is_empty() => run_query(&state, text),
        _ => fault(
            &state,
            StatusCode::BAD_REQUEST,
            "ValidationFault",
            "4000",
            "Error parsing query",
            "QueryParserError: no query",
        ),
    }
}

struct CdcEnvelope<'a> {
    entities: Vec<(Entity, Vec<CdcRow<'a>>)>,
    time: String,
}

struct CdcQueryResponse<'b, 'a>(&'b (Entity, Vec<CdcRow<'a>>));

impl Serialize for CdcQueryResponse<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (entity, rows) = self.0;
        let mut map = s.serialize_map(None)?;
        if !rows.is_empty() {
            map.serialize_entry(entity.name(), rows)?;
            map.serialize_entry("startPosition", &1)?;
            map.serialize_entry("maxResults", &rows.len())?;
        }
        map.end()
    }
}

impl Serialize for CdcEnvelope<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let responses: Vec<CdcQueryResponse> = self.entities.iter().map(CdcQueryResponse).collect();
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("CDCResponse", &[json_query_responses(&responses)])?;
        map.serialize_entry("time", &self.time)?;
        map.end()
    }
}

fn json_query_responses<'c, 'b, 'a>(responses: &'c [CdcQueryResponse<'b, 'a>]) -> impl Serialize + 'c {
    struct Wrapper<'c, 'b, 'a>(&'c [CdcQueryResponse<'b, 'a>]);
    impl Serialize for Wrapper<'_, '_, '_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(1))?;
            map.serialize_entry("QueryResponse", self.0)?;
            map.end()
        }
    }
    Wrapper(responses)
}

/// `GET /v3/company/{realm}/cdc?entities=Customer,Employee&changedSince=...` (guide §2.3).
/// One QueryResponse per entity, keyed by its name, in the reverse of the requested order (so a
/// client matching them by position is caught); at most `cdc_max_objects` rows in all.
async fn cdc(state: web::Data<State>, req: HttpRequest, params: Params) -> HttpResponse {
    let _guard = match gate(&state, &req).await {
        Ok(g) => g,
        Err(res) => return res,
    };
    state.counters.cdc_requests.fetch_add(1, Ordering::Relaxed);
    let bad = |detail: &str| fault(&state, StatusCode::BAD_REQUEST, "ValidationFault", "4001", "Invalid query", detail);
    let mut entities = Vec::new();
    for name in params.get("entities").map(String::as_str).unwrap_or_default().split(',') {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        match Entity::parse(name) {
            Some(e) if !entities.contains(&e) => entities.push(e),
            Some(_) => {}
            None => return bad(&format!("the fake's CDC serves Customer and Employee only, not {name:?}")),
        }
    }
    if entities.is_empty() {
        return bad("entities is required");
    }
    let Some(since_text) = params.get("changedSince") else {
        return bad("changedSince is required");
    };
    let Some(since) = clock::parse_time(since_text) else {
        return bad(&format!("changedSince is not a date or date-time: {since_text:?}"));
    };
    let now = state.now_ms();
    if since < now - CDC_WINDOW_MS {
        return bad(&format!(
            "Operation cdc with changedSince date {since_text} which is older than fixed days is not supported."
        ));
    }
    let body = {
        let company = state.company.lock().expect("company lock");
        let ctx = company.render_ctx();
        let mut changes = company.changes(&entities, since, state.config.cdc_max_objects, &ctx);
        let ordered = entities.iter().rev().map(|e| (*e, changes.by_entity.remove(e).unwrap_or_default())).collect();
        serde_json::to_vec(&CdcEnvelope { entities: ordered, time: clock::format_time_ms(now) })
            .expect("plain data serializes")
    };
    json_body(StatusCode::OK, body)
}

/// `GET /v3/company/{realm}/companyinfo/{realm}`.
async fn company_info(state: web::Data<State>, req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    let _guard = match gate(&state, &req).await {
        Ok(g) => g,
        Err(res) => return res,
    };
    let (realm, id) = path.into_inner();
    if id != realm && id != "1" {
        return object_not_found(&state);
    }
    let (name, created) = {
        let company = state.company.lock().expect("company lock");
        (state.company_name_of(&company), company.created_ms)
    };
    let addr = json!({"Id": "1", "Line1": "2700 Coast Ave", "City": "Mountain View",
        "CountrySubDivisionCode": "CA", "PostalCode": "94043"});
    let body = json!({
        "CompanyInfo": {
            "CompanyName": name, "LegalName": name,
            "CompanyAddr": addr, "CustomerCommunicationAddr": addr, "LegalAddr": addr,
            "PrimaryPhone": {"FreeFormNumber": "(650) 555-0100"},
            "CompanyStartDate": clock::format_time(created)[..10],
            "FiscalYearStartMonth": "January", "Country": "US",
            "Email": {"Address": "office@example.com"}, "WebAddr": {},
            "SupportedLanguages": "en",
            "NameValue": [
                {"Name": "NeoEnabled", "Value": "true"},
                {"Name": "IndustryType", "Value": "Janitorial Services"},
                {"Name": "SubscriptionStatus", "Value": "PAID"},
                {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
            ],
            "domain": "QBO", "sparse": false, "Id": "1", "SyncToken": "3",
            "MetaData": {"CreateTime": clock::format_time(created), "LastUpdatedTime": clock::format_time(created)},
        },
        "time": clock::format_time_ms(state.now_ms()),
    });
    json_body(StatusCode::OK, body.to_string().into_bytes())
}

fn object_not_found(state: &State) -> HttpResponse {
    fault(
        state,
        StatusCode::BAD_REQUEST,
        "ValidationFault",
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.",
    )
}

/// `GET /v3/company/{realm}/customer/{id}`: `{"Customer": {...}, "time": ...}`.
async fn read_customer(state: web::Data<State>, req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    let _guard = match gate(&state, &req).await {
        Ok(g) => g,
        Err(res) => return res,
    };
    let body = {
        let company = state.company.lock().expect("company lock");
        let Some(c) = path.1.parse().ok().and_then(|id| company.customer(id)) else {
            return object_not_found(&state);
        };
        let ctx = company.render_ctx();
        let time = clock::format_time_ms(state.now_ms());
        serde_json::to_vec(&json_pair("Customer", &company.customer_json(c, &ctx), &time)).expect("serializes")
    };
    json_body(StatusCode::OK, body)
}

/// `GET /v3/company/{realm}/employee/{id}`: `{"Employee": {...}, "time": ...}`.
async fn read_employee(state: web::Data<State>, req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    let _guard = match gate(&state, &req).await {
        Ok(g) => g,
        Err(res) => return res,
    };
    let body = {
        let company = state.company.lock().expect("company lock");
        let Some(e) = path.1.parse().ok().and_then(|id| company.employee(id)) else {
            return object_not_found(&state);
        };
        let time = clock::format_time_ms(state.now_ms());
        serde_json::to_vec(&json_pair("Employee", &company.employee_json(e), &time)).expect("serializes")
    };
    json_body(StatusCode::OK, body)
}

fn json_pair<'a, T: Serialize>(key: &'a str, value: &'a T, time: &'a str) -> impl Serialize + 'a {
    struct Pair<'a, T>(&'a str, &'a T, &'a str);
    impl<T: Serialize> Serialize for Pair<'_, T> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(2))?;
            map.serialize_entry(self.0, self.1)?;
            map.serialize_entry("time", self.2)?;
            map.end()
        }
    }
    Pair(key, value, time)
}

/// Any other `/v3/company/{realm}/...` path.
async fn api_unknown(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    let _guard = match gate(&state, &req).await {
        Ok(g) => g,
        Err(res) => return res,
    };
    fault(
        &state,
        StatusCode::BAD_REQUEST,
        "ValidationFault",
        "4001",
        "Unsupported operation",
        &format!(
            "The fake serves query, cdc, companyinfo, customer and employee reads, not {} {}",
            req.method(),
            req.path()
        ),
    )
}

// ---------------------------------------------------------------------------------------
// The control surface: /_fake

fn control_routes() -> actix_web::Scope {
    web::scope("/_fake")
        .route("", web::get().to(control_page))
        .route("/", web::get().to(control_page))
        .route("/stats", web::get().to(control_stats))
        .route("/customers", web::get().to(control_list_customers))
        .route("/customers", web::post().to(control_add_customer))
        .route("/customers/{id}/{action}", web::post().to(control_customer_action))
        .route("/employees", web::get().to(control_list_employees))
        .route("/employees", web::post().to(control_add_employee))
        .route("/employees/{id}/{action}", web::post().to(control_employee_action))
        .route("/expire-tokens", web::post().to(control_expire_tokens))
        .route("/revoke-grant", web::post().to(control_revoke_grant))
        .route("/throttle", web::post().to(control_throttle))
        .route("/fail", web::post().to(control_fail))
}

/// A control request's fields, from a JSON object or an HTML form.
struct ControlInput {
    fields: HashMap<String, String>,
    from_form: bool,
}

impl ControlInput {
    fn read(req: &HttpRequest, body: &[u8]) -> ControlInput {
        if content_type(req).contains("json") {
            let fields = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body)
                .map(|m| {
                    m.into_iter()
                        .filter_map(|(k, v)| match v {
                            serde_json::Value::String(s) => Some((k, s)),
                            serde_json::Value::Number(n) => Some((k, n.to_string())),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            ControlInput { fields, from_form: false }
        } else {
            // Only the page's own forms are sent back to the page; other callers get JSON.
            let from_form = content_type(req).starts_with("application/x-www-form-urlencoded");
            ControlInput { fields: form_params(body).unwrap_or_default(), from_form }
        }
    }
    fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(|s| s.trim()).filter(|s| !s.is_empty())
    }
    /// JSON for API callers; back to the page, with a message, for the form.
    fn answer(&self, result: Result<serde_json::Value, (StatusCode, String, String)>) -> HttpResponse {
        match (result, self.from_form) {
            (Ok(value), false) => HttpResponse::Ok().json(value),
            (Err((status, code, message)), false) => {
                HttpResponse::build(status).json(json!({"error": {"code": code, "message": message}}))
            }
            (Ok(value), true) => see_page(&format!("Done: {value}")),
            (Err((_, _, message)), true) => see_page(&format!("Refused: {message}")),
        }
    }
}

fn see_page(message: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/_fake?msg={}", percent_encode(message))))
        .finish()
}

fn company_error(err: CompanyError) -> (StatusCode, String, String) {
    let status =
        if matches!(err, CompanyError::NotFound(..)) { StatusCode::NOT_FOUND } else { StatusCode::BAD_REQUEST };
    (status, err.code().to_string(), err.to_string())
}

fn bad_input(message: &str) -> (StatusCode, String, String) {
    (StatusCode::BAD_REQUEST, "bad_request".to_string(), message.to_string())
}

fn parse_id(text: &str) -> Result<u64, (StatusCode, String, String)> {
    text.parse().map_err(|_| bad_input(&format!("not an Id: {text:?}")))
}

async fn control_add_customer(state: web::Data<State>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let input = ControlInput::read(&req, &body);
    let result = (|| {
        let name = input.get("display_name").ok_or_else(|| bad_input("display_name is required"))?;
        let parent = input.get("parent_id").map(parse_id).transpose()?;
        let id = state.add_customer(name, parent).map_err(company_error)?;
        Ok(json!({"Id": id.to_string()}))
    })();
    input.answer(result)
}

async fn control_customer_action(
    state: web::Data<State>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let input = ControlInput::read(&req, &body);
    let (id, action) = path.into_inner();
    let result = (|| {
        let id = parse_id(&id)?;
        let changed = match action.as_str() {
            "rename" => {
                let name = input.get("display_name").ok_or_else(|| bad_input("display_name is required"))?;
                state.rename_customer(id, name)
            }
            "deactivate" => state.set_customer_active(id, false),
            "activate" => state.set_customer_active(id, true),
            "delete" => state.delete_customer(id),
            other => {
                return Err(bad_input(&format!("unknown action {other:?}: rename, deactivate, activate or delete")));
            }
        }
        .map_err(company_error)?;
        Ok(json!({"changed": changed.iter().map(u64::to_string).collect::<Vec<_>>()}))
    })();
    input.answer(result)
}

async fn control_add_employee(state: web::Data<State>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let input = ControlInput::read(&req, &body);
    let result = (|| {
        let name = input.get("display_name").ok_or_else(|| bad_input("display_name is required"))?;
        let id = state.add_employee(name).map_err(company_error)?;
        Ok(json!({"Id": id.to_string()}))
    })();
    input.answer(result)
}

async fn control_employee_action(
    state: web::Data<State>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let input = ControlInput::read(&req, &body);
    let (id, action) = path.into_inner();
    let result = (|| {
        let id = parse_id(&id)?;
        let changed = match action.as_str() {
            "deactivate" => state.set_employee_active(id, false),
            "activate" => state.set_employee_active(id, true),
            "delete" => state.delete_employee(id).map(|()| true),
            other => return Err(bad_input(&format!("unknown action {other:?}: deactivate, activate or delete"))),
        }
        .map_err(company_error)?;
        Ok(json!({"changed": if changed { vec![id.to_string()] } else { vec![] }}))
    })();
    input.answer(result)
}

async fn control_expire_tokens(state: web::Data<State>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    state.expire_access_tokens();
    ControlInput::read(&req, &body).answer(Ok(json!({"expired": true})))
}

async fn control_revoke_grant(state: web::Data<State>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    state.auth.lock().expect("auth lock").revoke_all();
    ControlInput::read(&req, &body).answer(Ok(json!({"revoked": true})))
}

fn control_count(req: &HttpRequest, body: &[u8], counter: &std::sync::atomic::AtomicUsize, key: &str) -> HttpResponse {
    let input = ControlInput::read(req, body);
    let result = match input.get("n").map(str::parse::<usize>) {
        Some(Ok(n)) => {
            counter.store(n, Ordering::SeqCst);
            Ok(json!({ key: n }))
        }
        _ => Err(bad_input("n (a count) is required")),
    };
    input.answer(result)
}

async fn control_throttle(state: web::Data<State>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    control_count(&req, &body, &state.throttle_next, "throttle_next")
}

async fn control_fail(state: web::Data<State>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    control_count(&req, &body, &state.fail_next, "fail_next")
}

async fn control_stats(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok().json(state.stats())
}

async fn control_list_customers(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok().json(state.customers())
}

async fn control_list_employees(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok().json(state.employees())
}

/// `GET /_fake`: a page of forms for a person trying the flow by hand.
async fn control_page(state: web::Data<State>, params: Params) -> HttpResponse {
    let message = params.get("msg").map(|m| format!("<p><strong>{}</strong></p>", html_escape(m))).unwrap_or_default();
    let (customers, employees, recent) = {
        let company = state.company.lock().expect("company lock");
        let mut recent: Vec<(i64, String)> = company
            .customer_ids()
            .filter_map(|id| company.customer(id))
            .map(|c| {
                let name = company.fully_qualified_name(c.id).unwrap_or_default();
                let active = if c.active { "" } else { " (inactive)" };
                (c.updated_ms, format!("<tr><td>{}</td><td>{}{active}</td></tr>", c.id, html_escape(&name)))
            })
            .collect();
        recent.sort_by_key(|r| std::cmp::Reverse(r.0));
        let rows: String = recent.into_iter().take(15).map(|(_, row)| row).collect();
        (company.customer_count(), company.employee_count(), rows)
    };
    let stats = serde_json::to_string_pretty(&state.stats()).unwrap_or_default();
    let webhook = match &state.config.webhook_url {
        Some(url) => format!("Each change is also POSTed, signed, to <code>{}</code>.", html_escape(url)),
        None => "No webhook URL is set (start with --webhook-url to have changes POSTed).".to_string(),
    };
    let form = |action: &str, fields: &str, button: &str| {
        format!("<form method=\"post\" action=\"/_fake/{action}\">{fields}<button>{button}</button></form>")
    };
    let text = |name: &str, label: &str| format!("<label>{label} <input name=\"{name}\"></label>");
    let rename = format!(
        "<form method=\"post\" onsubmit=\"this.action='/_fake/customers/'+encodeURIComponent(this.id_.value)+'/rename'\">\
         <label>Id <input name=\"id_\"></label>{}<button>Rename</button></form>",
        text("display_name", "New name")
    );
    let html = format!(
        "<h1>Fake QuickBooks Online: {company}</h1>{message}\
         <p>Realm {realm}: {customers} customers, {employees} employees. {webhook}</p>\
         <h2>Customers</h2>{add_customer}{rename}{customer_action}\
         <h2>Employees</h2>{add_employee}{employee_action}\
         <h2>Tokens and faults</h2>{expire}{revoke}{throttle}{fail}\
         <h2>Recently changed customers</h2><table><tr><th>Id</th><th>Full name</th></tr>{recent}</table>\
         <h2>Counters</h2><pre>{stats}</pre>",
        company = html_escape(&state.company_name()),
        realm = html_escape(&state.config.realm_id),
        add_customer = form(
            "customers",
            &[text("display_name", "Name"), text("parent_id", "Parent Id (for a job)")].concat(),
            "Add customer"
        ),
        customer_action = action_form("customers", &["deactivate", "activate", "delete"]),
        add_employee = form("employees", &text("display_name", "Name"), "Add employee"),
        employee_action = action_form("employees", &["deactivate", "activate", "delete"]),
        expire = form("expire-tokens", "", "Expire every access token"),
        revoke = form("revoke-grant", "", "Disconnect the app (revoke the grant)"),
        throttle = form("throttle", &text("n", "Requests"), "Answer the next requests 429"),
        fail = form("fail", &text("n", "Requests"), "Answer the next requests 500"),
        stats = html_escape(&stats),
    );
    page(StatusCode::OK, "Fake QuickBooks Online", &html)
}

fn action_form(list: &str, actions: &[&str]) -> String {
    let buttons: String = actions
        .iter()
        .map(|a| format!("<button onclick=\"this.form.action='/_fake/{list}/'+encodeURIComponent(this.form.id_.value)+'/{a}'\">{a}</button> "))
        .collect();
    format!("<form method=\"post\"><label>Id <input name=\"id_\"></label>{buttons}</form>")
}
