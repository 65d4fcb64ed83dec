//! Hostile input against the web tier (issue: hostile input cannot take the server down
//! or cross accounts), one test per attack: dev sign-in through a proxy, DNS rebinding (a
//! foreign `Host`), dev and Google accounts merged by email, sign-out that does not end
//! the session, another user's live interview revealed by `interview.delete`, a library
//! without a quota, token URLs built from `Host`, the worker API reading the body before
//! the secret, slow request heads and unbounded connections.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use futures::StreamExt as _;
use preppal_examples::server::common::http::HttpArgs;
use preppal_examples::server::web::quota::QuotaArgs;
use preppal_examples::server::{build, spawn, ServeArgs, Server};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

fn args(data: PathBuf) -> ServeArgs {
    ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data)
}

async fn server_with(f: impl FnOnce(&mut ServeArgs)) -> (Server, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut a = args(data.path().into());
    f(&mut a);
    (build(&a).await.unwrap(), data)
}

/// POSTs `body` to `path` with `headers`; the status and the JSON reply.
async fn post_with(
    s: &Server,
    path: &str,
    headers: &[(&str, &str)],
    token: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req = req.header(header::HOST, "127.0.0.1:3000");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let resp = s
        .router
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn post(s: &Server, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    post_with(s, path, &[], token, body).await
}

async fn sign_in(s: &Server, email: &str) -> String {
    let (st, v) = post(s, "/api/auth/dev", None, json!({ "email": email })).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v["session_token"].as_str().unwrap().to_owned()
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn dev_sign_in_through_a_proxy_is_refused() {
    let (s, _d) = server_with(|_| {}).await;
    for (h, v) in [
        ("x-forwarded-for", "203.0.113.7"),
        ("forwarded", "for=203.0.113.7;proto=https"),
        ("x-forwarded-host", "interviews.example.com"),
        ("x-forwarded-proto", "https"),
        ("x-real-ip", "203.0.113.7"),
    ] {
        let (st, body) = post_with(
            &s,
            "/api/auth/dev",
            &[(h, v)],
            None,
            json!({ "email": "victim@example.com" }),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{h}: {body}");
        assert_eq!(code(&body), "DEV_SIGN_IN_REFUSED", "{h}");
        assert!(body.get("session_token").is_none());
    }
    // Straight from the machine it works.
    sign_in(&s, "victim@example.com").await;
}

#[tokio::test]
async fn a_foreign_host_is_misdirected_on_every_route() {
    let (s, _d) = server_with(|_| {}).await;
    // DNS rebinding: a name the attacker controls, resolving to 127.0.0.1.
    for host in ["rebind.attacker.example:3000", "127.0.0.1.nip.io:3000"] {
        let (st, v) = post_with(
            &s,
            "/api/auth/dev",
            &[("host", host)],
            None,
            json!({ "email": "a@example.com" }),
        )
        .await;
        assert_eq!(st, StatusCode::MISDIRECTED_REQUEST, "{host}: {v}");
        assert_eq!(code(&v), "MISDIRECTED_REQUEST");
        let page = s
            .router
            .clone()
            .oneshot(
                Request::get("/")
                    .header(header::HOST, host)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(
            page.status(),
            StatusCode::MISDIRECTED_REQUEST,
            "{host}: page"
        );
    }
    // Loopback names with any port, and the configured public origin, are this server.
    for host in ["localhost:3000", "127.0.0.1:8080", "[::1]:3000"] {
        let (st, v) = post_with(&s, "/api/auth/methods", &[("host", host)], None, json!({})).await;
        assert_eq!(st, StatusCode::OK, "{host}: {v}");
    }
    let (p, _d2) =
        server_with(|a| a.public_url = Some("https://interviews.example.com".into())).await;
    let (st, _) = post_with(
        &p,
        "/api/auth/methods",
        &[("host", "interviews.example.com")],
        None,
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = post_with(
        &p,
        "/api/auth/methods",
        &[("host", "other.example.com")],
        None,
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::MISDIRECTED_REQUEST);
}

#[tokio::test]
async fn dev_sign_in_never_takes_over_a_google_account() {
    let (s, _d) = server_with(|_| {}).await;
    let google = s
        .state
        .store
        .sign_in_user("google", "108234", "ceo@example.com", "The CEO")
        .await
        .unwrap();
    let (st, v) = post(
        &s,
        "/api/auth/dev",
        None,
        json!({ "email": "ceo@example.com" }),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert_eq!(code(&v), "ACCOUNT_EXISTS");
    assert!(v.get("session_token").is_none());
    // The Google account is untouched.
    assert_eq!(
        s.state.store.get_user(&google.id).await.unwrap().name,
        "The CEO"
    );
}

#[tokio::test]
async fn sign_out_revokes_the_session() {
    let (s, _d) = server_with(|_| {}).await;
    let t = sign_in(&s, "leaving@example.com").await;
    let (st, _) = post(&s, "/api/user.getProfile", Some(&t), json!({})).await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = post(&s, "/api/auth/signout", Some(&t), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // The same token (a copied cookie) is refused from now on.
    let (st, v) = post(&s, "/api/user.getProfile", Some(&t), json!({})).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    let (st, _) = post(&s, "/api/interview.getHistory", Some(&t), json!({})).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // Signing in again gives a session that works.
    let t2 = sign_in(&s, "leaving@example.com").await;
    let (st, _) = post(&s, "/api/user.getProfile", Some(&t2), json!({})).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_another_users_live_interview_is_404() {
    let data = tempfile::tempdir().unwrap();
    let mut a = args(data.path().into());
    a.reconnect_grace_secs = 30;
    let r = spawn(&a).await.unwrap();
    let http = reqwest::Client::new();
    let call = |path: &str, token: Option<&str>, body: Value| {
        let mut req = http.post(format!("{}{path}", r.url())).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let resp = req.send().await.unwrap();
            (
                resp.status().as_u16(),
                resp.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (_, v) = call(
        "/api/auth/dev",
        None,
        json!({ "email": "owner@example.com" }),
    )
    .await;
    let owner = v["session_token"].as_str().unwrap().to_owned();
    let (_, v) = call(
        "/api/auth/dev",
        None,
        json!({ "email": "other@example.com" }),
    )
    .await;
    let other = v["session_token"].as_str().unwrap().to_owned();
    let (_, v) = call(
        "/api/interview.createSession",
        Some(&owner),
        json!({ "idempotency_key": "live", "job_description": "Rust backend engineer", "resume": "Rust." }),
    )
    .await;
    let id = v["id"].as_str().unwrap().to_owned();
    let (_, v) = call(
        "/api/interview.generateWsToken",
        Some(&owner),
        json!({ "interview_id": id }),
    )
    .await;
    let (mut ws, _) = tokio_tungstenite::connect_async(v["ws_url"].as_str().unwrap())
        .await
        .unwrap();
    // Wait until the interview is live (its first server message).
    let _ = tokio::time::timeout(Duration::from_secs(20), ws.next()).await;
    assert!(r.state.worker.is_live(&id));
    let (st, v) = call(
        "/api/interview.delete",
        Some(&other),
        json!({ "interview_id": id }),
    )
    .await;
    assert_eq!(st, 404, "another user's live interview: {v}");
    assert_eq!(code(&v), "NOT_FOUND");
    // The owner still hears that it is live.
    let (st, _) = call(
        "/api/interview.delete",
        Some(&owner),
        json!({ "interview_id": id }),
    )
    .await;
    assert_eq!(st, 409);
    let _ = ws.close(None).await;
    r.stop();
}

#[tokio::test]
async fn the_library_has_a_count_and_size_quota() {
    let (s, _d) = server_with(|a| {
        a.quota = QuotaArgs {
            max_library_documents: 3,
            max_library_bytes: 2_000,
        }
    })
    .await;
    let t = sign_in(&s, "hoarder@example.com").await;
    let doc = |n: usize| json!({ "title": format!("Doc {n}"), "content": "x".repeat(400) });
    let mut ids = Vec::new();
    for (i, proc_) in ["jobDescription", "resume", "resume"].iter().enumerate() {
        let (st, v) = post(&s, &format!("/api/{proc_}.create"), Some(&t), doc(i)).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    // A fourth document, in either library, is over the count.
    for proc_ in ["jobDescription", "resume"] {
        let (st, v) = post(&s, &format!("/api/{proc_}.create"), Some(&t), doc(9)).await;
        assert_eq!(st, StatusCode::CONFLICT, "{v}");
        assert_eq!(code(&v), "QUOTA_EXCEEDED");
    }
    // Growing a document past the byte quota is refused too; shrinking is fine.
    let big = json!({ "id": ids[1], "title": "Doc", "content": "y".repeat(1_500) });
    let (st, v) = post(&s, "/api/resume.update", Some(&t), big).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::CONFLICT, "QUOTA_EXCEEDED"),
        "{v}"
    );
    let small = json!({ "id": ids[1], "title": "Doc", "content": "short" });
    let (st, v) = post(&s, "/api/resume.update", Some(&t), small).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // Deleting makes room; another user has their own quota.
    let (st, _) = post(&s, "/api/resume.delete", Some(&t), json!({ "id": ids[2] })).await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = post(&s, "/api/resume.create", Some(&t), doc(4)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let u = sign_in(&s, "neighbour@example.com").await;
    let (st, _) = post(&s, "/api/resume.create", Some(&u), doc(0)).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn token_urls_come_from_the_configured_origin_not_the_host_header() {
    let (s, _d) =
        server_with(|a| a.public_url = Some("https://interviews.example.com".into())).await;
    let t = sign_in(&s, "urls@example.com").await;
    let (_, v) = post(
        &s,
        "/api/interview.createSession",
        Some(&t),
        json!({ "idempotency_key": "u", "job_description": "Rust backend engineer", "resume": "Rust." }),
    )
    .await;
    let id = v["id"].as_str().unwrap();
    // An allowed but different Host (loopback) must not leak into the URLs.
    let (st, v) = post_with(
        &s,
        "/api/interview.generateWsToken",
        &[("host", "localhost:4444"), ("x-forwarded-proto", "http")],
        Some(&t),
        json!({ "interview_id": id }),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let ws_url = v["ws_url"].as_str().unwrap();
    assert!(
        ws_url.starts_with(&format!(
            "wss://interviews.example.com/interview/{id}?token="
        )),
        "{ws_url}"
    );
    assert_eq!(v["worker_url"], "https://interviews.example.com");
}

#[tokio::test]
async fn the_worker_api_refuses_a_bad_secret_before_reading_the_body() {
    let (s, _d) = server_with(|_| {}).await;
    // A body that never ends: a server that reads it before checking the secret never
    // answers.
    let chunk = futures::stream::once(async {
        Ok::<_, std::io::Error>(bytes::Bytes::from(vec![0u8; 64 * 1024]))
    });
    let endless = chunk.chain(futures::stream::pending());
    let req = Request::post("/api/worker")
        .header(
            header::AUTHORIZATION,
            "Bearer not-the-secret-not-the-secret-not-it",
        )
        .header(header::CONTENT_TYPE, "application/x-protobuf")
        .body(Body::from_stream(endless))
        .unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(30), s.router.clone().oneshot(req))
        .await
        .expect("the worker API waited for the body before checking the secret")
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_head_is_cut_off_and_connections_are_capped() {
    let data = tempfile::tempdir().unwrap();
    let mut a = args(data.path().into());
    a.http = HttpArgs {
        header_read_timeout_secs: 1,
        max_connections: 2,
    };
    let r = spawn(&a).await.unwrap();
    // Slowloris: half a request head, then nothing. The server closes the connection.
    let mut slow = tokio::net::TcpStream::connect(r.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => return 0,
                Ok(n) if String::from_utf8_lossy(&buf[..n]).contains("408") => return n,
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("a connection with a half-sent head was held open");
    let _ = n;

    // Two connections are open (the cap); a third is not served until one closes.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = tokio::net::TcpStream::connect(r.addr).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        let n = c.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        held.push(c); // kept alive
    }
    let mut third = tokio::net::TcpStream::connect(r.addr).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(early.is_err(), "a third connection was served over the cap");
    drop(held.pop());
    let n = tokio::time::timeout(Duration::from_secs(30), third.read(&mut buf))
        .await
        .expect("the third connection was never served")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    r.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_interviews_are_capped_per_process() {
    let data = tempfile::tempdir().unwrap();
    let mut a = args(data.path().into());
    a.limits.max_live_interviews = 1;
    let r = spawn(&a).await.unwrap();
    let mut urls = Vec::new();
    for who in ["first@example.com", "second@example.com"] {
        let t = common::sign_in(&r.url(), who).await;
        let (_, v) = common::api(
            &r.url(),
            &t,
            "interview.createSession",
            json!({ "idempotency_key": "cap", "job_description": "Rust backend engineer", "resume": "Rust." }),
        )
        .await;
        let id = v["id"].as_str().unwrap().to_owned();
        let (_, v) = common::api(
            &r.url(),
            &t,
            "interview.generateWsToken",
            json!({ "interview_id": id }),
        )
        .await;
        urls.push(v["ws_url"].as_str().unwrap().to_owned());
    }
    let (mut first, _) = tokio_tungstenite::connect_async(&urls[0]).await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(20), first.next()).await;
    // Another user, under their own per-user limit, is refused: the process is full.
    match tokio_tungstenite::connect_async(&urls[1]).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 503);
            let body =
                String::from_utf8_lossy(resp.body().as_deref().unwrap_or_default()).into_owned();
            assert!(body.contains("limit of 1 live interviews"), "{body}");
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a second live interview was accepted over the cap"),
    }
    let _ = first.close(None).await;
    r.stop();
}
