//! The browser page: one HTML document and its ES modules, embedded in the binary
//! (nothing read from disk at run time).
//!
//! | path                         | what                                                     |
//! |------------------------------|----------------------------------------------------------|
//! | `GET /`                      | `index.html`: sign-in, library, new interview, lobby, live view, results, history |
//! | `GET /assets/app.js` | the entry module: routes between the screens, the rejoin offer |
//! | `GET /assets/api.js` | the JSON API client |
//! | `GET /assets/dom.js` | DOM utilities (text only), field errors, counters |
//! | `GET /assets/format.js` | durations, dates, units, job names |
//! | `GET /assets/audio.js` | audio contexts and the input level |
//! | `GET /assets/wire.js` | interview WebSocket messages (PlaybackReport when the schemas have it) |
//! | `GET /assets/player.js` | interviewer audio playback and its stream timeline |
//! | `GET /assets/captions.js` | captions revealed as the audio plays; the candidate's live words |
//! | `GET /assets/signin.js` | sign-in screen |
//! | `GET /assets/library.js` | library screen |
//! | `GET /assets/setup.js` | new-interview screen |
//! | `GET /assets/lobby.js` | lobby screen, the offline notice |
//! | `GET /assets/live.js` | live interview screen |
//! | `GET /assets/results.js` | results screen and exports |
//! | `GET /assets/questions.js` | question-by-question results |
//! | `GET /assets/history.js` | history and progress screen |
//! | `GET /assets/chart.js` | inline SVG charts |
//! | `GET /assets/proto.js`       | the generated protobuf schemas of `proto/interview.proto` bundled with the `@bufbuild/protobuf` runtime (built by `e2e/scripts/gen-proto.mjs`; CI checks it is not stale) |
//! | `GET /assets/pcm-worklet.js` | audio worklets: capture (PCM16LE 16 000 Hz, 40 ms frames) and playback (24 000 Hz jitter buffer, flush on barge-in) |
//! | `GET /assets/resampler.js`   | the capture's band-limited resampler (windowed-sinc low-pass at 7 200 Hz), pure code |
//! | `GET /assets/plan.js`        | the interview plan on the pages: round type and difficulty, what the interview covers, competency scores and STAR checks, the per-answer countdown |
//!
//! Every response carries `Cache-Control: no-cache` (the browser revalidates, so a new
//! binary's page is picked up at once) and the Content-Security-Policy
//! [`CONTENT_SECURITY_POLICY`].

use std::sync::Arc;

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

/// The policy sent with every page and asset: scripts, workers and worklets from this
/// origin only (no inline script), API calls and the interview WebSocket (`ws:`/`wss:`,
/// since the worker tier may live on another host), `blob:` media, `data:` images, and
/// inline styles (the page keeps its CSS in a `<style>` element).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self' ws: wss:; \
     media-src 'self' blob:; img-src 'self' data:; style-src 'self' 'unsafe-inline'";

/// `Content-Type` of the HTML page.
pub const HTML_CONTENT_TYPE: &str = "text/html; charset=utf-8";
/// `Content-Type` of the ES modules (the type the HTML standard names for JavaScript).
pub const JS_CONTENT_TYPE: &str = "text/javascript";

/// One embedded file and the path it is served at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// The request path, e.g. `/assets/app.js`.
    pub path: &'static str,
    /// The `Content-Type` it is served with.
    pub content_type: &'static str,
    /// The file's text (UTF-8).
    pub body: &'static str,
}

/// Every file the page is made of: the HTML, then the ES modules.
pub const ASSETS: [Asset; 22] = [
    Asset {
        path: "/",
        content_type: HTML_CONTENT_TYPE,
        body: include_str!("../../../assets/index.html"),
    },
    Asset {
        path: "/assets/app.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/app.js"),
    },
    Asset {
        path: "/assets/api.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/api.js"),
    },
    Asset {
        path: "/assets/dom.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/dom.js"),
    },
    Asset {
        path: "/assets/format.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/format.js"),
    },
    Asset {
        path: "/assets/audio.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/audio.js"),
    },
    Asset {
        path: "/assets/wire.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/wire.js"),
    },
    Asset {
        path: "/assets/player.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/player.js"),
    },
    Asset {
        path: "/assets/captions.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/captions.js"),
    },
    Asset {
        path: "/assets/signin.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/signin.js"),
    },
    Asset {
        path: "/assets/library.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/library.js"),
    },
    Asset {
        path: "/assets/setup.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/setup.js"),
    },
    Asset {
        path: "/assets/lobby.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/lobby.js"),
    },
    Asset {
        path: "/assets/live.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/live.js"),
    },
    Asset {
        path: "/assets/results.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/results.js"),
    },
    Asset {
        path: "/assets/questions.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/questions.js"),
    },
    Asset {
        path: "/assets/history.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/history.js"),
    },
    Asset {
        path: "/assets/chart.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/chart.js"),
    },
    Asset {
        path: "/assets/proto.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/proto.js"),
    },
    Asset {
        path: "/assets/pcm-worklet.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/pcm-worklet.js"),
    },
    Asset {
        path: "/assets/resampler.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/resampler.js"),
    },
    Asset {
        path: "/assets/plan.js",
        content_type: JS_CONTENT_TYPE,
        body: include_str!("../../../assets/plan.js"),
    },
];

/// The pages' routes: `GET` (and `HEAD`) for each of [`ASSETS`]; other paths fall
/// through to the rest of the application.
pub fn router() -> Router<Arc<super::state::AppState>> {
    routes()
}

/// The routes for any router state (the pages use none).
fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    ASSETS.iter().fold(Router::new(), |router, asset| {
        let asset = *asset;
        router.route(asset.path, get(move || async move { serve(asset) }))
    })
}

fn serve(asset: Asset) -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (
                HeaderName::from_static("permissions-policy"),
                HeaderValue::from_static("microphone=(self)"),
            ),
        ],
        asset.body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    async fn get_path(path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        let res = routes::<()>()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn every_asset_is_served_with_its_type_and_headers() {
        for asset in ASSETS {
            let (status, headers, body) = get_path(asset.path).await;
            assert_eq!(status, StatusCode::OK, "{}", asset.path);
            assert_eq!(
                headers[header::CONTENT_TYPE],
                asset.content_type,
                "{}",
                asset.path
            );
            assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
            assert_eq!(
                headers[header::CONTENT_SECURITY_POLICY],
                CONTENT_SECURITY_POLICY
            );
            assert_eq!(body, asset.body);
        }
        let (_, headers, body) = get_path("/").await;
        assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert!(body.starts_with("<!doctype html>"));
    }

    #[test]
    fn the_policy_is_the_strict_one() {
        assert_eq!(
            CONTENT_SECURITY_POLICY,
            "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob:; \
             img-src 'self' data:; style-src 'self' 'unsafe-inline'"
        );
    }

    #[tokio::test]
    async fn unknown_paths_are_not_found() {
        for path in ["/assets/missing.js", "/assets/", "/index.html"] {
            let (status, _, _) = get_path(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[tokio::test]
    async fn head_is_answered_like_get() {
        let res = routes::<()>()
            .oneshot(Request::head("/assets/app.js").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CONTENT_TYPE], JS_CONTENT_TYPE);
    }

    /// Every `src="/..."`/`href="/..."` in the page and every `'/assets/...'` module path in
    /// the scripts names an asset this router serves.
    #[test]
    fn the_page_references_only_served_assets() {
        let served: Vec<&str> = ASSETS.iter().map(|a| a.path).collect();
        let mut referenced = Vec::new();
        for asset in ASSETS {
            for quote in ['"', '\''] {
                for attr in ["src=", "href=", "from ", "addModule("] {
                    let needle = format!("{attr}{quote}/");
                    let mut rest = asset.body;
                    while let Some(i) = rest.find(&needle) {
                        let start = i + needle.len() - 1;
                        let len = rest[start..].find(quote).unwrap();
                        referenced.push(rest[start..start + len].to_owned());
                        rest = &rest[start + len..];
                    }
                }
            }
        }
        for r in served.iter().filter(|p| p.starts_with("/assets/")) {
            assert!(referenced.iter().any(|x| x == r), "{r} is never loaded");
        }
        for r in &referenced {
            assert!(
                served.contains(&r.as_str()),
                "{r} is referenced but not served"
            );
        }
    }

    /// Text from users and the model goes through `textContent` only; the page has no
    /// inline script (the policy would block it).
    #[test]
    fn no_html_injection_sinks_and_no_inline_script() {
        for asset in ASSETS {
            for sink in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
            ] {
                assert!(!asset.body.contains(sink), "{} uses {sink}", asset.path);
            }
        }
        let html = ASSETS[0].body;
        assert_eq!(html.matches("<script").count(), 1);
        assert!(html.contains(r#"<script type="module" src="/assets/app.js"></script>"#));
        let inline_handler = html.split(" on").skip(1).any(|rest| {
            let name_len = rest.chars().take_while(char::is_ascii_lowercase).count();
            name_len > 0 && rest[name_len..].starts_with('=')
        });
        assert!(!inline_handler, "no inline event handlers");
    }

    /// Every form control of the page has a `<label for=...>`.
    #[test]
    fn every_control_is_labelled() {
        let html = ASSETS[0].body;
        for tag in ["<input", "<textarea", "<select"] {
            let mut rest = html;
            while let Some(i) = rest.find(tag) {
                let end = rest[i..].find('>').unwrap() + i;
                let element = &rest[i..end];
                let id_at = element
                    .find(" id=\"")
                    .unwrap_or_else(|| panic!("no id: {element}"));
                let id = &element[id_at + 5..];
                let id = &id[..id.find('"').unwrap()];
                assert!(
                    html.contains(&format!("<label for=\"{id}\"")),
                    "control {id} has no label"
                );
                rest = &rest[end..];
            }
        }
    }
}
