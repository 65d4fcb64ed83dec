//! Where the server is reached: the configured public origin, the `Host` allowlist every
//! route is behind, and the forwarding headers that dev sign-in refuses.
//!
//! A loopback-bound server is still reachable from elsewhere through a reverse proxy on
//! the same host, and from a web page through DNS rebinding (a name the attacker controls
//! resolving to 127.0.0.1). So the request, not the bind address, decides: a `Host` that
//! is neither the configured public origin (`--public-url`, `PREPPAL_PUBLIC_URL`, default
//! `http://{addr}`) nor a loopback name (`localhost`, `127.0.0.1`, `[::1]`, any port) is
//! refused with 421 `MISDIRECTED_REQUEST` (RFC 9110 §15.5.20), and URLs handed to clients
//! (`ws_url`, `worker_url`) are built from the configured origin, never from `Host`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Request headers set by reverse proxies (RFC 7239 `Forwarded` and the de-facto
/// `X-Forwarded-*` / `X-Real-IP`): a request carrying any of them did not come straight
/// from the machine's loopback.
pub const FORWARDING_HEADERS: [&str; 6] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-real-ip",
];

/// Whether `headers` carry any of the [`FORWARDING_HEADERS`].
pub fn is_forwarded(headers: &HeaderMap) -> bool {
    FORWARDING_HEADERS.iter().any(|h| headers.contains_key(*h))
}

/// Why a public URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OriginError {
    /// Not `http://host[:port]` or `https://host[:port]` (a path is allowed and ignored).
    #[error("the public URL must be http://host[:port] or https://host[:port], not {0:?}")]
    Malformed(String),
}

/// The hosts a request may name: the public origin's and the loopback names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAllowlist {
    /// The public origin, `http(s)://host[:port]`, without a trailing slash.
    origin: String,
    /// The public origin's host (lowercase) and port (the scheme's default when absent).
    host: String,
    port: u16,
}

impl HostAllowlist {
    /// The allowlist of `public_url` (for example `https://interviews.example.com`).
    ///
    /// # Errors
    /// [`OriginError::Malformed`] when it is not an http(s) URL with a host.
    pub fn new(public_url: &str) -> Result<Self, OriginError> {
        let bad = || OriginError::Malformed(public_url.to_owned());
        let (scheme, rest) = public_url.split_once("://").ok_or_else(bad)?;
        let default_port = match scheme.to_ascii_lowercase().as_str() {
            "http" => 80,
            "https" => 443,
            _ => return Err(bad()),
        };
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() || authority.contains('@') {
            return Err(bad());
        }
        let (host, port) = split_host(authority).ok_or_else(bad)?;
        Ok(Self {
            origin: format!("{}://{}", scheme.to_ascii_lowercase(), authority),
            host,
            port: port.unwrap_or(default_port),
        })
    }

    /// The public origin, `http(s)://host[:port]`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The public origin as a WebSocket base, `ws(s)://host[:port]`.
    pub fn ws_origin(&self) -> String {
        self.origin
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1)
    }

    /// Whether the `Host` header value `host` names this server.
    pub fn allows(&self, host: &str) -> bool {
        let Some((name, port)) = split_host(host) else {
            return false;
        };
        if matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]") {
            return true;
        }
        name == self.host
            && port.unwrap_or(if self.origin.starts_with("https") {
                443
            } else {
                80
            }) == self.port
    }
}

/// `host[:port]` of an authority, the host lowercased; `None` when the port is not a
/// number.
fn split_host(authority: &str) -> Option<(String, Option<u16>)> {
    let authority = authority.trim();
    let (host, port) = if let Some(end) = authority
        .strip_prefix('[')
        .and_then(|_| authority.find(']'))
    {
        let (h, rest) = authority.split_at(end + 1);
        (h, rest.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse().ok()?),
        None => None,
    };
    Some((host.to_ascii_lowercase(), port))
}

/// Paths served whatever the `Host`: they take no cookie, so a rebound name gains
/// nothing there, and workers and scrapers reach them by internal names (the worker API
/// checks its shared secret, the others expose nothing personal).
pub const ANY_HOST_PATHS: [&str; 3] = ["/api/worker", "/healthz", "/metrics"];

/// Middleware: refuses a request whose `Host` is not in the allowlist with 421
/// `MISDIRECTED_REQUEST`, except on [`ANY_HOST_PATHS`]. A request without `Host`
/// (HTTP/1.0, in-process calls) passes: browsers always send one, so DNS rebinding cannot
/// omit it.
pub async fn check_host(
    State(allow): State<Arc<HostAllowlist>>,
    req: Request,
    next: Next,
) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .map(|h| h.to_str().unwrap_or("\u{0}"));
    if let Some(h) = host {
        if !allow.allows(h) && !ANY_HOST_PATHS.contains(&req.uri().path()) {
            tracing::info!(host = %h.escape_debug(), "request for another host refused (misdirected)");
            let body = serde_json::json!({ "error": {
                "code": "MISDIRECTED_REQUEST",
                "message": format!("this server answers for {} and loopback names only", allow.origin()),
            }});
            return (StatusCode::MISDIRECTED_REQUEST, Json(body)).into_response();
        }
    }
    next.run(req).await
}

/// Whether the request came through https (a proxy's `X-Forwarded-Proto: https`).
pub fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p == "https")
}

/// Refuses cross-site state-changing requests: a POST whose `Origin` names another host
/// than the one it was sent to.
pub async fn same_origin(req: Request, next: Next) -> Response {
    if req.method() == axum::http::Method::POST {
        let origin_host = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .map(|o| o.split("://").nth(1).unwrap_or(o).to_owned());
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned);
        if let (Some(o), Some(h)) = (origin_host, host) {
            if o != h {
                tracing::info!(origin = %o, host = %h, "cross-site request refused");
                return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
            }
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_origin_and_loopback_names_are_allowed() {
        let a = HostAllowlist::new("https://interviews.example.com/").unwrap();
        assert_eq!(a.origin(), "https://interviews.example.com");
        assert_eq!(a.ws_origin(), "wss://interviews.example.com");
        for ok in [
            "interviews.example.com",
            "Interviews.Example.com:443",
            "localhost:3000",
            "127.0.0.1",
            "[::1]:8080",
        ] {
            assert!(a.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "interviews.example.com:80",
            "interviews.example.com.evil.example",
            "127.0.0.1.nip.io:3000",
            "localhost:x",
            "",
        ] {
            assert!(!a.allows(bad), "{bad}");
        }
        let b = HostAllowlist::new("http://127.0.0.1:3000").unwrap();
        assert!(b.allows("127.0.0.1:3000"));
        assert!(HostAllowlist::new("ftp://x").is_err());
        assert!(HostAllowlist::new("http://").is_err());
        assert!(HostAllowlist::new("http://u@host").is_err());
    }

    #[test]
    fn forwarding_headers_are_seen() {
        let mut h = HeaderMap::new();
        assert!(!is_forwarded(&h));
        h.insert("x-real-ip", "203.0.113.9".parse().unwrap());
        assert!(is_forwarded(&h));
    }
}
