//! QuickBooks Online's two ways in: the end of an authorization (`GET /qbo/callback`, the
//! admin's browser coming back from Intuit) and Intuit's change notifications
//! (`POST /qbo/webhooks`).

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::AppState;

/// The cookie binding an authorization to the browser of the admin who started it. `Lax` (the
/// browser comes back from Intuit's site with a top-level GET) and sent to the callback only.
pub const BROWSER_COOKIE: &str = "qbsync_qbo_browser";

/// A new binding for an authorization asked from the admin page: the value to record (hashed)
/// with the state, and the cookie that gives it to the browser.
pub fn browser_binding(state: &AppState) -> (String, Cookie<'static>) {
    let value = crate::secrets::new_ticket();
    let cookie = Cookie::build(BROWSER_COOKIE, value.clone())
        .path("/qbo/callback")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.public_url.starts_with("https://"))
        .max_age(CookieDuration::minutes(10))
        .finish();
    (value, cookie)
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    #[serde(rename = "realmId")]
    realm_id: Option<String>,
    error: Option<String>,
}

/// `GET /qbo/callback`: ends the authorization and sends the browser back to the connections
/// screen, with a message either way.
///
/// The answer is a small page that moves on by itself rather than a redirect: the session
/// cookie is `SameSite=Strict`, and a browser coming from Intuit's site would reach the admin
/// page signed out after a redirect. A navigation started by this page is same-site.
pub async fn callback(req: HttpRequest, query: web::Query<CallbackQuery>, state: web::Data<AppState>) -> HttpResponse {
    let q = query.into_inner();
    let browser = req.cookie(BROWSER_COOKIE).map(|c| c.value().to_string());
    let (connection, result) = state
        .online
        .finish_authorization(
            q.state.as_deref(),
            q.code.as_deref(),
            q.realm_id.as_deref(),
            q.error.as_deref(),
            browser.as_deref(),
        )
        .await;
    let (params, title, message) = match &result {
        Ok(()) => {
            let id = connection.map(|c| c.to_string()).unwrap_or_default();
            (
                format!("qbo=connected&connection={id}"),
                "QuickBooks Online connected",
                "The QuickBooks Online company is connected. Taking you back to qbsync…".to_string(),
            )
        }
        Err(err) => {
            tracing::warn!(connection = ?connection, error = %err, "QuickBooks Online authorization not completed");
            let message = err.to_string();
            let mut params = url::form_urlencoded::Serializer::new(String::new());
            params.append_pair("qbo_error", &message);
            if let Some(id) = connection {
                params.append_pair("connection", &id.to_string());
            }
            (params.finish(), "QuickBooks Online not connected", message)
        }
    };
    let target = format!("/admin?{params}#/connections");
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · qbsync</title>\
         <meta http-equiv=\"refresh\" content=\"0; url={target}\"><meta name=\"viewport\" content=\"width=device-width\">\
         </head><body><main><h1>{title}</h1><p>{message}</p><p><a href=\"{target}\">Continue to qbsync</a></p></main>\
         </body></html>",
        title = escape(title),
        message = escape(&message),
        target = escape(&target),
    );
    let status =
        if result.is_ok() { actix_web::http::StatusCode::OK } else { actix_web::http::StatusCode::BAD_REQUEST };
    HttpResponse::build(status).content_type("text/html; charset=utf-8").insert_header(super::auth::NO_STORE).body(page)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Largest notification read: Intuit sends up to about 1 MB.
const MAX_NOTIFICATION: usize = 4 * 1024 * 1024;

/// `POST /qbo/webhooks`: checks `intuit-signature` over the raw body before anything else (any
/// content type: CloudEvents come as `application/cloudevents+json`), answers at once, and
/// queues a pull of the changed lists for the connections of each realm named. A missing or
/// wrong signature (or no verifier token configured) is 401 and nothing happens; a body that is
/// signed but unreadable is logged and answered 200, as Intuit asks (a 400 would make it resend
/// the whole batch forever).
pub async fn webhooks(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let unauthorized = |message: &str| {
        HttpResponse::Unauthorized()
            .json(serde_json::json!({ "error": { "code": "unauthorized", "message": message } }))
    };
    let Some(token) = state.settings.qbo.webhook_token.as_deref() else {
        return unauthorized("webhooks are not enabled on this server (QBSYNC_QBO_WEBHOOK_TOKEN)");
    };
    let Some(signature) = req.headers().get("intuit-signature").and_then(|v| v.to_str().ok()) else {
        return unauthorized("the intuit-signature header is missing");
    };
    if body.len() > MAX_NOTIFICATION || !crate::qbo::webhook::verify(token, &body, signature) {
        tracing::warn!(client = ?super::client_ip(&req, &state.settings), "webhook with a bad signature");
        return unauthorized("the intuit-signature does not match the body");
    }
    match crate::qbo::webhook::notices(&body) {
        Ok(notices) => match state.online.queue_from_notices(&notices).await {
            Ok(queued) => tracing::info!(notices = notices.len(), queued, "webhook"),
            Err(err) => {
                // Intuit retries when the answer is not 200: let it, the queue could not be written.
                tracing::error!(error = %err, "queueing webhook pulls failed");
                return HttpResponse::ServiceUnavailable()
                    .json(serde_json::json!({ "error": { "code": "unavailable", "message": "try again" } }));
            }
        },
        Err(err) => tracing::warn!(error = %err, "signed webhook body not understood; ignored"),
    }
    HttpResponse::Ok().finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_are_escaped_for_html() {
        assert_eq!(super::escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
