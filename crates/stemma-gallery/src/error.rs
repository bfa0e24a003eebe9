//! The gallery's one error type, and how each kind answers over HTTP.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Everything that can go wrong while serving the gallery.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Catalog(#[from] stemma_catalog::Error),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot make a thumbnail: {reason}")]
    Thumbnail { path: String, reason: String },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("read-only gallery: start it with `stemma serve --write` to tag and rate")]
    ReadOnly,
    #[error("the server's worker stopped: {0}")]
    Worker(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    fn status(&self) -> StatusCode {
        match self {
            Error::Catalog(stemma_catalog::Error::Query { .. }) | Error::BadRequest(_) => {
                StatusCode::BAD_REQUEST
            }
            Error::Catalog(stemma_catalog::Error::NotInCatalog(_))
            | Error::Catalog(stemma_catalog::Error::Db(rusqlite::Error::QueryReturnedNoRows))
            | Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::ReadOnly => StatusCode::FORBIDDEN,
            Error::Thumbnail { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.to_string() });
        (self.status(), axum::Json(body)).into_response()
    }
}
