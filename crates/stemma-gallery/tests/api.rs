//! The HTTP API through the router (tower `oneshot`): security checks, paging, thumbnails and writes, over a
//! catalog of a temporary copy of `examples/library`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use stemma_catalog::{scan, Catalog, ScanOptions};
use stemma_gallery::{router, Access, AppState};
use tower::ServiceExt;

const HOST: &str = "127.0.0.1:4000";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    state: Arc<AppState>,
    root: std::path::PathBuf,
}

fn fixture(write: bool, token: Option<&str>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("library");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/library");
    copy_dir(&examples, &root);
    let mut cat = Catalog::init(&root).unwrap();
    scan(&mut cat, &root, &ScanOptions::default()).unwrap();
    let addr: SocketAddr = HOST.parse().unwrap();
    let access = Access::for_addr(addr, token.map(str::to_string));
    Fixture {
        state: Arc::new(AppState::new(cat, write, access)),
        root,
        _dir: dir,
    }
}

async fn send(f: &Fixture, req: Request<Body>) -> Response<Body> {
    router(Arc::clone(&f.state)).oneshot(req).await.unwrap()
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, HOST)
        .body(Body::empty())
        .unwrap()
}

fn post(uri: &str, origin: Option<&str>, body: &str) -> Request<Body> {
    let mut b = Request::post(uri)
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(o) = origin {
        b = b.header(header::ORIGIN, o);
    }
    b.body(Body::from(body.to_string())).unwrap()
}

async fn body_bytes(r: Response<Body>) -> Vec<u8> {
    r.into_body().collect().await.unwrap().to_bytes().to_vec()
}

async fn json(r: Response<Body>) -> Value {
    serde_json::from_slice(&body_bytes(r).await).unwrap()
}

#[tokio::test]
async fn foreign_host_is_refused_and_own_hosts_answer() {
    let f = fixture(false, None);
    for host in [
        "evil.example",
        "evil.example:4000",
        "127.0.0.1:4001",
        "localhost",
    ] {
        let req = Request::get("/api/info")
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap();
        let r = send(&f, req).await;
        assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST, "host {host}");
        assert!(r.headers().contains_key(header::CONTENT_SECURITY_POLICY));
    }
    let no_host = Request::get("/api/info").body(Body::empty()).unwrap();
    assert_eq!(
        send(&f, no_host).await.status(),
        StatusCode::MISDIRECTED_REQUEST
    );
    for host in [HOST, "localhost:4000", "[::1]:4000"] {
        let req = Request::get("/api/info")
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(&f, req).await.status(), StatusCode::OK, "host {host}");
    }
}

#[tokio::test]
async fn every_answer_carries_the_strict_policy() {
    let f = fixture(false, None);
    for uri in ["/", "/app.js", "/api/info", "/api/images", "/nope"] {
        let r = send(&f, get(uri)).await;
        let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        for part in [
            "default-src 'self'",
            "script-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{uri}: {csp}");
        }
        assert_eq!(
            r.headers()[header::X_CONTENT_TYPE_OPTIONS],
            "nosniff",
            "{uri}"
        );
    }
    let html = String::from_utf8(body_bytes(send(&f, get("/")).await).await).unwrap();
    assert!(
        !html.contains("<script>") && html.contains("<script type=\"module\" src=\"/app.js\">")
    );
}

#[tokio::test]
async fn writes_need_write_mode_and_the_own_origin() {
    let ro = fixture(false, None);
    let own = Some("http://127.0.0.1:4000");
    let r = send(&ro, post("/api/images/1/tags", own, r#"{"add":["keep"]}"#)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(json(r).await["error"].as_str().unwrap().contains("--write"));
    let r = send(&ro, post("/api/images/1/rating", own, r#"{"rating":4}"#)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let rw = fixture(true, None);
    for origin in [
        Some("http://evil.example"),
        Some("http://127.0.0.1:4000.evil.example"),
        Some("null"),
        None,
    ] {
        let r = send(
            &rw,
            post("/api/images/1/tags", origin, r#"{"add":["keep"]}"#),
        )
        .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "origin {origin:?}");
    }
    let cat = Catalog::find(&rw.root).unwrap();
    assert!(
        stemma_catalog::find::tags_of(&cat, 1).unwrap().is_empty(),
        "refused writes wrote nothing"
    );

    let r = send(&rw, post("/api/images/1/tags", own, r#"{"add":["Keep"]}"#)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["tags"], serde_json::json!(["keep"]));
    let r = send(
        &rw,
        post(
            "/api/images/1/rating",
            Some("http://localhost:4000"),
            r#"{"rating":4}"#,
        ),
    )
    .await;
    // Same origin means the very host the request went to: another name of the same server is another origin.
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = send(&rw, post("/api/images/1/rating", own, r#"{"rating":4}"#)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let hits = stemma_catalog::find::find(&cat, Some("tag:keep rating:4"), None).unwrap();
    assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![1]);
    let r = send(&rw, post("/api/images/1/rating", own, r#"{"rating":9}"#)).await;
    assert!(r.status().is_client_error() || r.status().is_server_error());
    assert_eq!(stemma_catalog::tags::rating_of(&cat, 1).unwrap(), Some(4));
}

#[tokio::test]
async fn paths_from_the_request_never_reach_the_disk() {
    let f = fixture(false, None);
    let secret = f.root.join("a1111").join("00012-1234567890.png");
    let secret = secret.to_string_lossy().replace('/', "%2F");
    for uri in [
        "/../Cargo.toml".to_string(),
        "/..%2F..%2FCargo.toml".to_string(),
        "/app.js/../../Cargo.toml".to_string(),
        "//etc/passwd".to_string(),
        "/etc/passwd".to_string(),
        "/api/images/..%2F..%2Fetc%2Fpasswd/file".to_string(),
        "/api/images/%2Fetc%2Fpasswd/file".to_string(),
        format!("/api/images/{secret}/file"),
        "/api/thumbs/..%2Fcatalog.db".to_string(),
        "/api/thumbs/-1".to_string(),
        "/api/images/999999/file".to_string(),
        "/.stemma/catalog.db".to_string(),
    ] {
        let r = send(&f, get(&uri)).await;
        assert!(r.status().is_client_error(), "{uri}: {}", r.status());
        let body = body_bytes(r).await;
        assert!(
            !body.starts_with(b"\x89PNG") && !body.starts_with(b"SQLite"),
            "{uri} served a file"
        );
        assert!(!String::from_utf8_lossy(&body).contains("root:"), "{uri}");
    }
    let r = send(&f, get("/api/images/1/file")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body_bytes(r).await.starts_with(b"\x89PNG"));
}

#[tokio::test]
async fn a_script_in_a_prompt_stays_data() {
    let f = fixture(false, None);
    let evil = "</script><script>alert(1)</script><img src=x onerror=alert(2)>";
    {
        let cat = f.state.catalog.lock().unwrap();
        cat.conn
            .execute("UPDATE images SET prompt = ?1 WHERE id = 6", [evil])
            .unwrap();
    }
    let r = send(&f, get("/api/images/6")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let d = json(r).await;
    assert_eq!(
        d["prompt"], evil,
        "the prompt arrives as JSON text, unchanged"
    );
    // The page's scripts put library text in with textContent only: no innerHTML with data anywhere.
    for asset in ["/app.js", "/grid.js", "/views.js", "/lineage.js"] {
        let js = String::from_utf8(body_bytes(send(&f, get(asset)).await).await).unwrap();
        assert!(
            !js.contains("innerHTML")
                && !js.contains("insertAdjacentHTML")
                && !js.contains("eval("),
            "{asset}"
        );
    }
}

#[tokio::test]
async fn a_token_is_required_when_one_is_set() {
    let f = fixture(false, Some("s3cret"));
    assert_eq!(
        send(&f, get("/api/info")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&f, get("/api/info?token=wrong")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let r = send(&f, get("/?token=s3cret")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap().to_string();
    let req = Request::get("/api/info")
        .header(header::HOST, HOST)
        .header(header::COOKIE, pair)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&f, req).await.status(), StatusCode::OK);
    let req = Request::get("/api/info")
        .header(header::HOST, HOST)
        .header("x-stemma-token", "s3cret")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&f, req).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn pages_chain_by_key_and_stacks_collapse() {
    let f = fixture(false, None);
    let all = json(send(&f, get("/api/images?limit=2000")).await).await;
    let total = all["total"].as_i64().unwrap();
    assert_eq!(total as usize, all["tiles"].as_array().unwrap().len());
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = json(send(&f, get(&format!("/api/images?limit=3&after={after}"))).await).await;
        for t in page["tiles"].as_array().unwrap() {
            seen.push(t["id"].as_i64().unwrap());
        }
        match page["next"].as_i64() {
            Some(n) => after = n,
            None => break,
        }
    }
    let want: Vec<i64> = all["tiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(seen, want);
    // The two A1111 images share prompt and settings but the seed: one tile with a count of 2. (The Disco run's
    // frames, whose settings give each frame the run's prompt and its own seed, make a stack of their own.)
    let stacked = json(send(&f, get("/api/images?stacks=true")).await).await;
    let stacked_total = stacked["total"].as_i64().unwrap();
    let counts: i64 = stacked["tiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["count"].as_i64().unwrap_or(1))
        .sum();
    assert_eq!(counts, total, "every image is in exactly one tile");
    assert!(stacked_total < total, "{stacked_total} of {total}");
    let stack = stacked["tiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["count"] == 2)
        .unwrap();
    let members = json(send(&f, get(&format!("/api/images/{}/stack", stack["id"]))).await).await;
    assert_eq!(members["tiles"].as_array().unwrap().len(), 2);
    let r = send(&f, get("/api/images?q=steps%3A%3E%3E")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(json(r).await["error"].as_str().unwrap().contains("column"));
}

#[tokio::test]
async fn thumbnails_are_made_once_and_cached_immutably() {
    let f = fixture(false, None);
    let r = send(&f, get("/api/thumbs/1")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let etag = r.headers()[header::ETAG].to_str().unwrap().to_string();
    let png = body_bytes(r).await;
    assert!(png.starts_with(b"\x89PNG"));
    let cached: Vec<_> = std::fs::read_dir(f.root.join(".stemma/thumbs"))
        .unwrap()
        .collect();
    assert_eq!(cached.len(), 1, "one cache file, no temporary left");
    let req = Request::get("/api/thumbs/1")
        .header(header::HOST, HOST)
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&f, req).await.status(), StatusCode::NOT_MODIFIED);
    // A broken file gives a clear error, not a panic. (A frame other than image 1, whose thumbnail is cached now:
    // ids follow the order the parallel scan stored the files in.)
    let (broken, id) = ["LighthouseRun(0)_0000.png", "LighthouseRun(0)_0001.png"]
        .iter()
        .map(|name| {
            let path = f.root.join("disco").join(name);
            let cat = f.state.catalog.lock().unwrap();
            let id = stemma_catalog::find::image_of_path(&cat, &path).unwrap();
            (path, id)
        })
        .find(|(_, id)| *id != 1)
        .unwrap();
    std::fs::write(&broken, b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let r = send(&f, get(&format!("/api/thumbs/{id}"))).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(json(r).await["error"]
        .as_str()
        .unwrap()
        .contains(broken.file_name().unwrap().to_str().unwrap()));
}

#[tokio::test]
async fn image_detail_has_the_recipe_and_sequences_their_gaps() {
    let f = fixture(false, None);
    let id = json(send(&f, get("/api/images?q=generator%3Aa1111")).await).await["tiles"][0]["id"]
        .clone();
    let d = json(send(&f, get(&format!("/api/images/{id}"))).await).await;
    assert!(d["prompt"].as_str().unwrap().contains("lighthouse"));
    assert!(d["infotext"].as_str().unwrap().contains("Steps: 28"));
    let s = json(send(&f, get("/api/sequences")).await).await;
    let disco = &s["sequences"][0];
    assert_eq!(disco["key"], "disco:LighthouseRun(0)");
    assert_eq!(disco["gaps"], serde_json::json!([3]));
    let kinds: Vec<&str> = disco["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["frame", "frame", "frame", "gap", "frame", "frame"]);
    // The ComfyUI example carries its graph: the page offers it for copying, as the file has it.
    let id =
        json(send(&f, get("/api/images?q=path%3Acomfyui")).await).await["tiles"][0]["id"].clone();
    let d = json(send(&f, get(&format!("/api/images/{id}"))).await).await;
    let graph: Value = serde_json::from_str(d["comfy_prompt"].as_str().unwrap()).unwrap();
    assert!(graph.is_object());
    let info = json(send(&f, get("/api/info")).await).await;
    assert!(info["fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "tag"));
}

#[tokio::test]
async fn bound_to_every_interface_the_token_guards_any_host() {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::init(dir.path()).unwrap();
    let addr: SocketAddr = "0.0.0.0:4000".parse().unwrap();
    let state = Arc::new(AppState::new(
        cat,
        true,
        Access::for_addr(addr, Some("t0k".into())),
    ));
    let call = |host: &str, token: Option<&str>, origin: Option<&str>| {
        let mut b = Request::post("/api/images/1/rating")
            .header(header::HOST, host)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            b = b.header("x-stemma-token", t);
        }
        if let Some(o) = origin {
            b = b.header(header::ORIGIN, o);
        }
        b.body(Body::from(r#"{"rating":1}"#)).unwrap()
    };
    let status = |req: Request<Body>| {
        let state = Arc::clone(&state);
        async move { router(state).oneshot(req).await.unwrap().status() }
    };
    let lan = "192.168.1.5:4000";
    assert_eq!(
        status(call(lan, None, Some("http://192.168.1.5:4000"))).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(call(lan, Some("t0k"), Some("http://evil.example"))).await,
        StatusCode::FORBIDDEN
    );
    // Past every guard: the image does not exist in this empty catalog.
    assert_eq!(
        status(call(lan, Some("t0k"), Some("http://192.168.1.5:4000"))).await,
        StatusCode::NOT_FOUND
    );
}
