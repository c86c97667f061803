//! The admin page: HTML shells and static assets embedded in the binary (`src/admin/static/`),
//! served with a Content-Security-Policy that allows no inline script.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::AppState;
use super::auth::session_of;

#[derive(rust_embed::RustEmbed)]
#[folder = "src/admin/static/"]
struct Assets;

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

fn asset(name: &str) -> HttpResponse {
    match Assets::get(name) {
        Some(file) => HttpResponse::Ok()
            .content_type(content_type(name))
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(file.data.into_owned()),
        None => HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("not found"),
    }
}

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, to)).finish()
}

/// `GET /admin`: the signed-in application, or the sign-in page.
pub async fn app(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match session_of(&req, &state).await {
        Ok(Some(_)) => asset("app.html"),
        _ => redirect("/admin/login"),
    }
}

/// `GET /admin/login`
pub async fn login_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match session_of(&req, &state).await {
        Ok(Some(_)) => redirect("/admin"),
        _ => asset("login.html"),
    }
}

/// `GET /admin/setup?token=...`: the page checks nothing itself; `POST /admin/setup` does.
pub async fn setup_page() -> HttpResponse {
    asset("setup.html")
}

/// `GET /admin/static/{name}`
pub async fn static_file(path: web::Path<String>) -> HttpResponse {
    let name = path.into_inner();
    if name.contains("..") || name.contains('/') || name.ends_with(".html") {
        return HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("not found");
    }
    asset(&name)
}

/// Headers every response carries.
pub fn security_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ))
        .add(("X-Frame-Options", "DENY"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
}
