//! Who may talk to the gallery: the Host header must name the server (DNS rebinding), every non-GET request must
//! come from the gallery's own origin (CSRF), and a server bound beyond loopback asks for its token. Every answer
//! carries a strict Content-Security-Policy.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// The Content-Security-Policy of every answer: only the gallery's own scripts, styles and images.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; \
                       object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The cookie that carries the token once the page was opened with `?token=`.
pub const TOKEN_COOKIE: &str = "stemma_token";
/// The header scripts may send the token in instead.
pub const TOKEN_HEADER: &str = "x-stemma-token";

/// Who the server answers to.
#[derive(Debug, Clone)]
pub struct Access {
    /// `host:port` values accepted in the Host header (and, as `http://…`, in Origin).
    pub hosts: Vec<String>,
    /// Required when bound beyond loopback.
    pub token: Option<String>,
    /// Bound to every interface (`0.0.0.0`, `::`) with a token: the names clients use are not known, so any Host
    /// is accepted and the token (which a rebinding page cannot know) guards the server.
    pub any_host: bool,
}

impl Access {
    /// The hosts of a server listening on `addr`: the address itself, plus the loopback names when it is loopback
    /// or unspecified.
    pub fn for_addr(addr: std::net::SocketAddr, token: Option<String>) -> Access {
        let port = addr.port();
        let mut hosts = vec![match addr.ip() {
            std::net::IpAddr::V6(ip) => format!("[{ip}]:{port}"),
            std::net::IpAddr::V4(ip) => format!("{ip}:{port}"),
        }];
        if addr.ip().is_loopback() || addr.ip().is_unspecified() {
            for h in ["localhost", "127.0.0.1", "[::1]"] {
                let h = format!("{h}:{port}");
                if !hosts.contains(&h) {
                    hosts.push(h);
                }
            }
        }
        let any_host = addr.ip().is_unspecified() && token.is_some();
        Access {
            hosts,
            token,
            any_host,
        }
    }

    fn host_ok(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|h| self.any_host || self.hosts.iter().any(|a| a.eq_ignore_ascii_case(h)))
    }

    /// Same origin: the Origin header names the (already checked) host the request was sent to.
    fn origin_ok(&self, headers: &HeaderMap) -> bool {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        headers
            .get(header::ORIGIN)
            .and_then(|h| h.to_str().ok())
            .and_then(|o| o.strip_prefix("http://"))
            .is_some_and(|o| host.is_some_and(|h| h.eq_ignore_ascii_case(o)))
    }

    fn token_ok(&self, headers: &HeaderMap, query: Option<&str>) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let header_token = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok());
        let cookie_token = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().strip_prefix(TOKEN_COOKIE)?.strip_prefix('='))
            .next();
        let query_token = query_token(query);
        let found = [header_token, cookie_token, query_token.as_deref()]
            .into_iter()
            .flatten()
            .any(|t| constant_time_eq(t.as_bytes(), token.as_bytes()));
        found
    }
}

fn query_token(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .map(str::to_string)
}

/// Comparing tokens in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn refuse(status: StatusCode, why: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": why }))).into_response()
}

/// The middleware: check Host, Origin and token, then add the security headers.
pub async fn guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let access = &state.access;
    let headers = req.headers();
    let mut response = if !access.host_ok(headers) {
        refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "foreign Host header refused",
        )
    } else if req.method() != Method::GET
        && req.method() != Method::HEAD
        && !access.origin_ok(headers)
    {
        refuse(StatusCode::FORBIDDEN, "cross-origin request refused")
    } else if !access.token_ok(headers, req.uri().query()) {
        refuse(
            StatusCode::UNAUTHORIZED,
            "token required: open the URL the server printed",
        )
    } else {
        let set_cookie = access
            .token
            .as_ref()
            .filter(|_| query_token(req.uri().query()).is_some())
            .map(|t| format!("{TOKEN_COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict"));
        let mut r = next.run(req).await;
        if let Some(c) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
            r.headers_mut().insert(header::SET_COOKIE, c);
        }
        r
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// A random token (128 bits from the operating system's generator).
pub fn new_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
