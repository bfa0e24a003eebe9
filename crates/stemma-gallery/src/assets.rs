//! The web page, embedded in the binary: hand-written HTML, CSS and ES modules, served from a fixed table (a
//! request path never reaches the file system).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// (URL path, content type, bytes) of every asset.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../assets/index.html"),
    ),
    (
        "/app.css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/app.js"),
    ),
    (
        "/grid.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/grid.js"),
    ),
    (
        "/views.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/views.js"),
    ),
    (
        "/lineage.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/lineage.js"),
    ),
    (
        "/favicon.svg",
        "image/svg+xml",
        include_str!("../assets/favicon.svg"),
    ),
];

/// The asset at a path, or 404.
pub fn asset(path: &str) -> Response {
    match ASSETS.iter().find(|(p, _, _)| *p == path) {
        Some((_, kind, body)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
