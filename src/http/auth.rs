//! Who is calling: an admin's browser session (cookie + CSRF header on writes) or an API bearer
//! token. Also the sign-in, sign-out and first-run setup endpoints.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{ApiError, AppState};
use crate::secrets;
use crate::signin::{Realm, Verdict};
use crate::store::{StoreError, admins, audit, catalog};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "qbsync_session";
/// Header that must carry the session's CSRF token on every write made with the cookie.
pub const CSRF_HEADER: &str = "X-CSRF-Token";
/// Every response that carries a secret (a password, a token, a session's CSRF token) says so:
/// no cache, shared or private, may keep it.
pub const NO_STORE: (actix_web::http::header::HeaderName, &str) = (actix_web::http::header::CACHE_CONTROL, "no-store");
/// How long a browser session lasts.
const SESSION_HOURS: i64 = 12;

/// The organization a request acts for.
pub struct Caller {
    pub organization_id: Uuid,
    /// The signed-in admin, when the caller is a browser session.
    pub session: Option<admins::SessionInfo>,
    /// The API token's id, when the caller is a token.
    pub token_id: Option<Uuid>,
}

impl Caller {
    /// Who the audit log says made a change.
    pub fn actor(&self) -> audit::Actor {
        match (&self.session, self.token_id) {
            (Some(session), _) => audit::Actor::Admin { admin_id: session.admin_id, email: session.email.clone() },
            (None, Some(api_token_id)) => audit::Actor::Token { api_token_id },
            // Every caller is one of the two; a nil token id would still say "API token".
            (None, None) => audit::Actor::Token { api_token_id: Uuid::nil() },
        }
    }
}

/// Compares two secrets in time that depends only on their lengths.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The live session of a request's cookie, if any.
pub async fn session_of(req: &HttpRequest, state: &AppState) -> Result<Option<admins::SessionInfo>, ApiError> {
    match req.cookie(SESSION_COOKIE) {
        Some(cookie) if !cookie.value().is_empty() => {
            Ok(admins::session(&state.db, &secrets::sha256_hex(cookie.value())).await?)
        }
        _ => Ok(None),
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
            let caller = identify(&req, &state).await?;
            state
                .api_limits
                .admit(caller.organization_id, std::time::Instant::now())
                .map_err(ApiError::TooManyRequests)?;
            Ok(caller)
        })
    }
}

/// Who calls: a bearer token's organization, or a signed-in admin's session (with the CSRF
/// header on writes).
async fn identify(req: &HttpRequest, state: &AppState) -> Result<Caller, ApiError> {
    let bearer = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .map(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")).unwrap_or(""));
    if let Some(token) = bearer {
        let token = token.trim();
        if token.is_empty() {
            return Err(ApiError::Unauthorized);
        }
        let (organization_id, token_id) = catalog::organization_for_token(&state.db, &secrets::sha256_hex(token))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        return Ok(Caller { organization_id, session: None, token_id: Some(token_id) });
    }
    let session = session_of(req, state).await?.ok_or(ApiError::Unauthorized)?;
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !same_secret(sent, &session.csrf_token) {
            return Err(ApiError::Forbidden(format!(
                "missing or wrong {CSRF_HEADER} header: reload the page and try again"
            )));
        }
    }
    Ok(Caller { organization_id: session.organization_id, session: Some(session), token_id: None })
}

fn session_json(session: &admins::SessionInfo) -> serde_json::Value {
    json!({
        "admin": { "id": session.admin_id, "email": session.email },
        "org": { "id": session.organization_id, "name": session.organization_name },
        "csrf_token": session.csrf_token,
    })
}

/// Starts a session for an admin: stores it and answers with its cookie and CSRF token.
async fn open_session(state: &AppState, admin: &catalog::Admin) -> Result<HttpResponse, ApiError> {
    let cookie_value = secrets::new_ticket();
    let csrf = secrets::new_ticket();
    admins::create_session(
        &state.db,
        admin,
        &secrets::sha256_hex(&cookie_value),
        &csrf,
        chrono::Duration::hours(SESSION_HOURS),
    )
    .await?;
    let session = admins::session(&state.db, &secrets::sha256_hex(&cookie_value))
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a new session could not be read back")))?;
    let cookie = Cookie::build(SESSION_COOKIE, cookie_value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.public_url.starts_with("https://"))
        .max_age(CookieDuration::hours(SESSION_HOURS))
        .finish();
    Ok(HttpResponse::Ok().cookie(cookie).insert_header(NO_STORE).json(session_json(&session)))
}

#[derive(Deserialize)]
pub struct LoginBody {
    email: String,
    password: String,
}

/// `POST /admin/login`: throttled per account and per client address (see `signin`); a locked
/// account answers like a wrong password, and a sign-in that cannot get its password checked in
/// time answers 503.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let email = body.email.trim().to_lowercase();
    let admin = admins::admin_by_email(&state.db, &email).await?;
    let phc = admin.as_ref().map(|a| a.password_hash.clone());
    let client = super::client_ip(&req, &state.settings);
    let verdict = state.service.sign_in().attempt(Realm::Admin, &email, client, body.password.clone(), phc).await?;
    match (admin, verdict) {
        (Some(admin), Verdict::Granted) => open_session(&state, &admin).await,
        (_, Verdict::Busy) => {
            Err(ApiError::Unavailable("too many sign-ins at once; try again in a few seconds".into()))
        }
        _ => Err(ApiError::Unauthenticated("wrong email or password".into())),
    }
}

/// `POST /admin/logout`
pub async fn logout(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        if let Some(session) = admins::session(&state.db, &secrets::sha256_hex(cookie.value())).await? {
            let sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
            if !same_secret(sent, &session.csrf_token) {
                return Err(ApiError::Forbidden(format!("missing or wrong {CSRF_HEADER} header")));
            }
        }
        admins::delete_session(&state.db, &secrets::sha256_hex(cookie.value())).await?;
    }
    let mut expired = Cookie::build(SESSION_COOKIE, "").path("/").http_only(true).same_site(SameSite::Strict).finish();
    expired.make_removal();
    Ok(HttpResponse::NoContent().cookie(expired).finish())
}

/// `GET /api/v1/session`
pub async fn current_session(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match caller.session {
        Some(session) => {
            let mut value = session_json(&session);
            // What the page offers: online connections only when the server can make them.
            value["quickbooks_online"] = serde_json::json!({ "enabled": state.online.enabled() });
            Ok(HttpResponse::Ok().insert_header(NO_STORE).json(value))
        }
        None => {
            Err(ApiError::Unauthenticated("this route describes a browser session; bearer tokens have none".into()))
        }
    }
}

#[derive(Deserialize)]
pub struct SetupBody {
    token: String,
    org_name: String,
    email: String,
    password: String,
}

/// Minimum length of an admin's password.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// `POST /admin/setup`: the one-time link that creates the first organization and admin.
pub async fn setup(state: web::Data<AppState>, body: web::Json<SetupBody>) -> Result<HttpResponse, ApiError> {
    let org_name = body.org_name.trim();
    let email = body.email.trim().to_lowercase();
    if org_name.is_empty() || org_name.chars().count() > 200 {
        return Err(ApiError::Unprocessable("the organization name must have 1 to 200 characters".into()));
    }
    if !email.contains('@') || email.len() > 254 {
        return Err(ApiError::Unprocessable(format!("{email:?} is not an email address")));
    }
    if body.password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::Unprocessable(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let token_hash = secrets::sha256_hex(body.token.trim());
    let invalid = || {
        ApiError::Forbidden(
            "this setup link is not valid any more: it was used or has expired, or an admin already exists; \
             sign in instead, or restart the server for a new link"
                .into(),
        )
    };
    // The token is checked before the costly hash, and the hash waits its turn with the password
    // checks: a stream of made-up tokens costs no argon2 work.
    if !admins::setup_token_is_valid(&state.db, &token_hash).await? {
        return Err(invalid());
    }
    let password = body.password.clone();
    let phc = state
        .service
        .sign_in()
        .gate()
        .run(move || secrets::hash_password(&password))
        .await
        .map_err(|busy| ApiError::Unavailable(busy.to_string()))?;
    match admins::complete_setup(&state.db, &token_hash, org_name, &email, &phc).await {
        Ok((_, admin)) => open_session(&state, &admin).await,
        Err(StoreError::NotFound) => Err(invalid()),
        Err(other) => Err(other.into()),
    }
}

/// The one-time setup link, when the database has no admin yet. A link stays valid for
/// `setup_link_ttl` (24 hours by default); until it expires or is used, every start of a server
/// on the database offers the same link rather than adding another, so a link printed before a
/// restart keeps working. Its token is therefore kept in the database beside its hash until it
/// is used (see SECURITY.md).
pub async fn offer_setup_link(state: &AppState) -> anyhow::Result<Option<String>> {
    if catalog::count_admins(&state.db).await? > 0 {
        return Ok(None);
    }
    let token = match admins::live_setup_link(&state.db).await? {
        Some(token) => token,
        None => {
            let token = secrets::new_ticket();
            let expires_at = crate::store::now() + state.settings.setup_link_ttl;
            admins::create_setup_token(&state.db, &secrets::sha256_hex(&token), &token, expires_at).await?;
            token
        }
    };
    Ok(Some(format!("{}/admin/setup?token={token}", crate::qwc::base_url(&state.settings.public_url))))
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", "a"));
    }
}
