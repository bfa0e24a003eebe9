//! The stemma gallery: a local web view of a library's catalog. One page app (hand-written, embedded), a JSON API
//! over `stemma-catalog`, thumbnails cached under `.stemma/thumbs/`, and the checks that keep it local (Host,
//! Origin, token, CSP). Writes (tag, rate) go through the same catalog calls as the CLI, and only with `--write`.

mod api;
mod assets;
pub mod detail;
mod error;
pub mod security;
pub mod sequences;
pub mod thumbs;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::routing::{get, post};
use axum::Router;
use stemma_catalog::Catalog;

pub use error::{Error, Result};
pub use security::Access;

/// Thumbnails made at once (each decodes one image).
pub const THUMB_WORKERS: usize = 4;
/// The largest request body accepted (tag and rate bodies are tiny).
pub const MAX_BODY: usize = 64 * 1024;

/// What every handler shares.
pub struct AppState {
    pub catalog: Mutex<Catalog>,
    pub write: bool,
    pub access: Access,
    pub thumbs_dir: PathBuf,
    /// Bumped whenever the catalog changes; the page polls it.
    version: AtomicU64,
    thumb_slots: tokio::sync::Semaphore,
}

impl AppState {
    /// The state of a gallery over an open catalog.
    pub fn new(catalog: Catalog, write: bool, access: Access) -> AppState {
        let thumbs_dir = catalog
            .path
            .parent()
            .map(|d| d.join("thumbs"))
            .unwrap_or_else(|| {
                catalog
                    .root
                    .join(stemma_catalog::catalog::CATALOG_DIR)
                    .join("thumbs")
            });
        AppState {
            catalog: Mutex::new(catalog),
            write,
            access,
            thumbs_dir,
            version: AtomicU64::new(1),
            thumb_slots: tokio::sync::Semaphore::new(THUMB_WORKERS),
        }
    }

    /// Tell the page the catalog changed (a rescan found something, or a write).
    pub fn bump(&self) {
        self.version.fetch_add(1, Ordering::Relaxed);
    }

    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Relaxed)
    }
}

async fn static_asset(req: Request) -> axum::response::Response {
    assets::asset(req.uri().path())
}

/// The gallery's routes, behind the security guard.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/info", get(api::info))
        .route("/api/version", get(api::version))
        .route("/api/images", get(api::images))
        .route("/api/images/{id}", get(api::image))
        .route("/api/images/{id}/stack", get(api::stack))
        .route("/api/images/{id}/file", get(api::file))
        .route("/api/images/{id}/tags", post(api::tag))
        .route("/api/images/{id}/rating", post(api::rate))
        .route("/api/thumbs/{id}", get(api::thumb))
        .route("/api/sequences", get(api::sequence_list))
        .route("/api/prompts", get(api::prompt_groups))
        .fallback(static_asset)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            security::guard,
        ))
        .with_state(state)
}

/// Serve on a bound listener until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<AppState>) -> std::io::Result<()> {
    axum::serve(listener, router(state)).await
}
