//! The JSON API. Every handler runs its catalog work on the blocking pool; files and thumbnails are found by
//! catalog id only.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use stemma_catalog::{gallery, prompts, tags, Catalog};

use crate::error::{Error, Result};
use crate::{detail, sequences, thumbs, AppState};

/// Most tiles in one page.
pub const MAX_PAGE: usize = 2000;

/// Run catalog work on the blocking pool.
pub async fn with_catalog<T, F>(state: &Arc<AppState>, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Catalog) -> Result<T> + Send + 'static,
{
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || {
        let mut cat = state
            .catalog
            .lock()
            .map_err(|_| Error::Worker("catalog lock poisoned".into()))?;
        work(&mut cat)
    })
    .await
    .map_err(|e| Error::Worker(e.to_string()))?
}

pub async fn info(State(state): State<Arc<AppState>>) -> Result<Json<Value>> {
    let write = state.write;
    let version = state.version();
    Ok(Json(json!({
        "write": write,
        "version": version,
        "fields": gallery::field_names(),
        "fork": false,
    })))
}

pub async fn version(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({ "version": state.version() }))
}

#[derive(Deserialize)]
pub struct PageQuery {
    q: Option<String>,
    #[serde(default)]
    after: i64,
    limit: Option<usize>,
    #[serde(default)]
    stacks: bool,
}

pub async fn images(
    State(state): State<Arc<AppState>>,
    Query(p): Query<PageQuery>,
) -> Result<Json<Value>> {
    let limit = p.limit.unwrap_or(500).clamp(1, MAX_PAGE);
    with_catalog(&state, move |cat| {
        let q = p.q.as_deref();
        let tiles = gallery::page(cat, q, p.after, limit, p.stacks)?;
        let next = (tiles.len() == limit)
            .then(|| tiles.last().map(|t| t.id))
            .flatten();
        let total = (p.after == 0)
            .then(|| gallery::count(cat, q, p.stacks))
            .transpose()?;
        Ok(Json(
            json!({ "tiles": tiles, "next": next, "total": total }),
        ))
    })
    .await
}

pub async fn image(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
) -> Result<Json<detail::Detail>> {
    with_catalog(&state, move |cat| Ok(Json(detail::detail(cat, id)?))).await
}

pub async fn stack(State(state): State<Arc<AppState>>, Path(id): Path<i64>) -> Result<Json<Value>> {
    with_catalog(&state, move |cat| {
        Ok(Json(json!({ "tiles": gallery::stack_members(cat, id)? })))
    })
    .await
}

/// The catalogued path of an image that exists now, and its content id.
fn file_of(cat: &Catalog, id: i64) -> Result<(std::path::PathBuf, String)> {
    let h = stemma_catalog::find::hit(cat, id)?;
    h.paths
        .iter()
        .map(|p| cat.path_of(p))
        .find(|p| p.is_file())
        .map(|p| (p, h.content_id.clone()))
        .ok_or_else(|| Error::NotFound(format!("image {id}: no file on disk")))
}

fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub async fn file(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response> {
    let (path, content_id) = with_catalog(&state, move |cat| file_of(cat, id)).await?;
    let etag = format!("\"{}\"", content_id.replace('"', ""));
    if etag_matches(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let bytes = tokio::fs::read(&path).await.map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let kind = match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") | Some("apng") => "image/png",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        _ => "application/octet-stream",
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, "private, no-cache".into()),
        ],
        bytes,
    )
        .into_response())
}

pub async fn thumb(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response> {
    let (path, content_id) = with_catalog(&state, move |cat| file_of(cat, id)).await?;
    let etag = format!("\"t-{}\"", content_id.replace('"', ""));
    if etag_matches(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let cached = thumbs::cache_path(&state.thumbs_dir, &content_id).ok_or_else(|| {
        Error::BadRequest(format!("image {id}: content id {content_id} is not hex"))
    })?;
    let _permit = state
        .thumb_slots
        .acquire()
        .await
        .map_err(|e| Error::Worker(e.to_string()))?;
    let bytes = tokio::task::spawn_blocking(move || thumbs::thumbnail(&path, &cached))
        .await
        .map_err(|e| Error::Worker(e.to_string()))??;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png".to_string()),
            (header::CACHE_CONTROL, IMMUTABLE.to_string()),
            (header::ETAG, etag),
        ],
        bytes,
    )
        .into_response())
}

pub async fn sequence_list(State(state): State<Arc<AppState>>) -> Result<Json<Value>> {
    with_catalog(&state, move |cat| {
        Ok(Json(json!({ "sequences": sequences::sequences(cat)? })))
    })
    .await
}

/// Most groups of each kind on the prompts page.
const MAX_GROUPS: usize = 500;

pub async fn prompt_groups(State(state): State<Arc<AppState>>) -> Result<Json<Value>> {
    with_catalog(&state, move |cat| {
        let mut unique = prompts::unique(cat)?;
        unique.truncate(MAX_GROUPS);
        let mut variations = prompts::variations(cat, 3)?;
        variations.truncate(MAX_GROUPS);
        let mut templates = prompts::templates(cat, 3)?;
        templates.truncate(MAX_GROUPS);
        Ok(Json(
            json!({ "prompts": unique, "variations": variations, "templates": templates }),
        ))
    })
    .await
}

#[derive(Deserialize)]
pub struct TagBody {
    #[serde(default)]
    add: Vec<String>,
    #[serde(default)]
    remove: Vec<String>,
}

pub async fn tag(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    Json(body): Json<TagBody>,
) -> Result<Json<Value>> {
    if !state.write {
        return Err(Error::ReadOnly);
    }
    let out = with_catalog(&state, move |cat| {
        stemma_catalog::find::hit(cat, id)?;
        Ok(tags::tag(cat, id, &body.add, &body.remove)?)
    })
    .await?;
    state.bump();
    Ok(Json(json!({ "tags": out })))
}

#[derive(Deserialize)]
pub struct RateBody {
    rating: u8,
}

pub async fn rate(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    Json(body): Json<RateBody>,
) -> Result<Json<Value>> {
    if !state.write {
        return Err(Error::ReadOnly);
    }
    with_catalog(&state, move |cat| {
        stemma_catalog::find::hit(cat, id)?;
        Ok(tags::rate(cat, id, body.rating)?)
    })
    .await?;
    state.bump();
    Ok(Json(json!({ "rating": body.rating })))
}
