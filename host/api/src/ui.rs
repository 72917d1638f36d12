//! The operator's console: one page (`/admin/ui`) with its script and style, built into
//! the binary (no CDN, no build step). The files hold no data and need no token: the page
//! asks for the admin token once, keeps it in the tab's `sessionStorage` (never a URL or
//! a cookie) and sends it as a bearer token to the admin API it calls. Served on the admin
//! listener only, with a Content-Security-Policy that allows nothing but this origin.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

const INDEX: &str = include_str!("../ui/index.html");
const SCRIPT: &str = include_str!("../ui/app.js");
const STYLE: &str = include_str!("../ui/app.css");

/// No inline script, nothing from elsewhere, not framed, not sniffed, not cached.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        body,
    )
        .into_response()
}

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/admin/ui",
            get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/admin/ui/",
            get(|| async { Redirect::permanent("/admin/ui") }),
        )
        .route(
            "/admin/ui/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/admin/ui/app.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
}
