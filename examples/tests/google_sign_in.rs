//! Google sign-in (OpenID Connect) end to end against a fake provider on loopback: an axum
//! app serving discovery, the key set, the authorization redirect and the token endpoint,
//! signing ID tokens with RS256 and the TEST-ONLY keys of `tests/fixtures/oidc/`. The
//! provider checks the client's side too (client secret, redirect URI, PKCE S256), so a
//! server that skipped any of it fails the happy path. Then one refusal per rule: bad
//! state, no attempt cookie, wrong nonce, wrong audience, expired token, wrong signature,
//! wrong issuer, unverified email.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use common::oidc_fixture;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use preppal_examples::server::common::tokens::now_secs;
use preppal_examples::server::web::oidc::{pkce_challenge, GoogleArgs};
use preppal_examples::server::{spawn, Running, ServeArgs};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

const CLIENT_ID: &str = "preppal-test-client.apps.example";
const CLIENT_SECRET: &str = "test-only-client-secret";

/// What the fake provider puts in (or does to) the next ID token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Good,
    WrongNonce,
    WrongAudience,
    Expired,
    WrongSignature,
    WrongIssuer,
    UnverifiedEmail,
}

struct Pending {
    challenge: String,
    nonce: String,
    redirect_uri: String,
}

struct Provider {
    url: String,
    mode: Mode,
    codes: HashMap<String, Pending>,
    key: EncodingKey,
    other_key: EncodingKey,
    /// Token requests whose PKCE verifier matched the challenge.
    pkce_ok: usize,
}

type Shared = Arc<Mutex<Provider>>;

async fn discovery(State(p): State<Shared>) -> Json<Value> {
    let url = p.lock().unwrap().url.clone();
    Json(json!({
        "issuer": url,
        "authorization_endpoint": format!("{url}/authorize"),
        "token_endpoint": format!("{url}/token"),
        "jwks_uri": format!("{url}/jwks"),
        "response_types_supported": ["code"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks() -> Json<Value> {
    Json(serde_json::from_slice(&oidc_fixture("jwks.json")).unwrap())
}

async fn authorize(
    State(p): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["scope"].split(' ').any(|s| s == "openid"));
    assert!(q["state"].len() >= 32 && q["nonce"].len() >= 32);
    let code = format!("code-{}", uuid::Uuid::new_v4());
    p.lock().unwrap().codes.insert(
        code.clone(),
        Pending {
            challenge: q["code_challenge"].clone(),
            nonce: q["nonce"].clone(),
            redirect_uri: q["redirect_uri"].clone(),
        },
    );
    let mut to = reqwest::Url::parse(&q["redirect_uri"]).unwrap();
    to.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &q["state"]);
    Redirect::to(to.as_str())
}

async fn token(
    State(p): State<Shared>,
    Form(f): Form<HashMap<String, String>>,
) -> impl IntoResponse {
    let mut p = p.lock().unwrap();
    let refuse = |why: &str| (StatusCode::BAD_REQUEST, Json(json!({ "error": why })));
    if f.get("grant_type").map(String::as_str) != Some("authorization_code")
        || f.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || f.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return refuse("invalid_client");
    }
    // A code is good once.
    let Some(pending) = f.get("code").and_then(|c| p.codes.remove(c)) else {
        return refuse("invalid_grant");
    };
    if f.get("redirect_uri") != Some(&pending.redirect_uri) {
        return refuse("invalid_grant");
    }
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    if !(43..=128).contains(&verifier.len()) || pkce_challenge(&verifier) != pending.challenge {
        return refuse("invalid_grant");
    }
    p.pkce_ok += 1;
    let now = now_secs();
    let mut claims = json!({
        "iss": p.url,
        "aud": CLIENT_ID,
        "azp": CLIENT_ID,
        "sub": "110169484474386276334",
        "email": "Grace.Hopper@Example.com",
        "email_verified": true,
        "name": "Grace Hopper",
        "nonce": pending.nonce,
        "iat": now,
        "exp": now + 3600,
    });
    match p.mode {
        Mode::Good | Mode::WrongSignature => {}
        Mode::WrongNonce => claims["nonce"] = json!("a-nonce-from-another-attempt"),
        Mode::WrongAudience => {
            claims["aud"] = json!("someone-else.apps.example");
            claims["azp"] = json!("someone-else.apps.example");
        }
        Mode::Expired => {
            claims["iat"] = json!(now - 7200);
            claims["exp"] = json!(now - 3600);
        }
        Mode::WrongIssuer => claims["iss"] = json!("https://issuer.invalid"),
        Mode::UnverifiedEmail => claims["email_verified"] = json!(false),
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-key-1".into());
    let key = if p.mode == Mode::WrongSignature {
        &p.other_key
    } else {
        &p.key
    };
    let id_token = encode(&header, &claims, key).unwrap();
    (
        StatusCode::OK,
        Json(
            json!({ "access_token": "at", "token_type": "Bearer", "expires_in": 3599, "id_token": id_token }),
        ),
    )
}

async fn start_provider() -> Shared {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let p = Arc::new(Mutex::new(Provider {
        url,
        mode: Mode::Good,
        codes: HashMap::new(),
        key: EncodingKey::from_rsa_pem(&oidc_fixture("provider.key.pem")).unwrap(),
        other_key: EncodingKey::from_rsa_pem(&oidc_fixture("other.key.pem")).unwrap(),
        pkce_ok: 0,
    }));
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .with_state(Arc::clone(&p));
    tokio::spawn(async move { axum::serve(listener, app).await });
    p
}

struct Setup {
    server: Running,
    provider: Shared,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

async fn setup() -> Setup {
    setup_with(None).await
}

/// As [`setup`], with the server's `--public-url` set to `public_url`.
async fn setup_with(public_url: Option<&str>) -> Setup {
    let provider = start_provider().await;
    let data = tempfile::tempdir().unwrap();
    let mut args = ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data.path().into());
    args.public_url = public_url.map(str::to_owned);
    args.google = GoogleArgs {
        google_client_id: Some(CLIENT_ID.into()),
        google_client_secret: Some(CLIENT_SECRET.into()),
        google_issuer_url: provider.lock().unwrap().url.clone(),
        google_redirect_url: None,
    };
    let server = spawn(&args).await.unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Setup {
        server,
        provider,
        http,
        _data: data,
    }
}

/// The `name=value` of cookie `name` among the response's Set-Cookie headers, with the
/// whole header.
fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<(String, String)> {
    resp.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            let pair = v.split(';').next().unwrap().to_owned();
            (pair, v.to_owned())
        })
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

/// The `redirect_uri` the start redirect sends to the provider.
fn redirect_uri_of(start: &reqwest::Response) -> String {
    let to = reqwest::Url::parse(&location(start)).unwrap();
    to.query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .unwrap()
        .1
        .into_owned()
}

/// A change made to the callback URL before the browser follows it.
type Tamper = Box<dyn Fn(String) -> String>;

/// The outcome of one attempt: the callback's redirect and the session cookie, if any.
struct Outcome {
    redirect: String,
    session: Option<(String, String)>,
}

/// Runs one sign-in through the browser's steps; `tamper` may change the callback URL.
async fn attempt(
    s: &Setup,
    mode: Mode,
    tamper: impl Fn(String) -> String,
    send_cookie: bool,
) -> Outcome {
    s.provider.lock().unwrap().mode = mode;
    let start = s
        .http
        .get(format!("{}/api/auth/google/start", s.server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let (flow, whole) = set_cookie(&start, "preppal_oidc").expect("flow cookie");
    assert!(
        whole.contains("HttpOnly") && whole.contains("SameSite=Lax"),
        "{whole}"
    );
    let to_provider = location(&start);
    assert!(
        to_provider.starts_with(&s.provider.lock().unwrap().url),
        "{to_provider}"
    );
    let back = s.http.get(&to_provider).send().await.unwrap();
    assert!(back.status().is_redirection());
    let callback = tamper(location(&back));
    assert!(callback.starts_with(&format!("{}/api/auth/google/callback?", s.server.url())));
    let mut req = s.http.get(&callback);
    if send_cookie {
        req = req.header(header::COOKIE, flow);
    }
    let done = req.send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    // The attempt cookie is cleared whatever the outcome, so a callback cannot be replayed.
    if send_cookie {
        let (_, cleared) = set_cookie(&done, "preppal_oidc").expect("flow cookie cleared");
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
    }
    Outcome {
        redirect: location(&done),
        session: set_cookie(&done, "preppal_session"),
    }
}

async fn profile(s: &Setup, session: &str) -> (StatusCode, Value) {
    let resp = s
        .http
        .post(format!("{}/api/user.getProfile", s.server.url()))
        .header(header::COOKIE, session)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_whole_flow_signs_in_with_the_same_session_cookie_as_dev_sign_in() {
    let s = setup().await;
    let methods: Value = s
        .http
        .post(format!("{}/api/auth/methods", s.server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        methods,
        json!({ "dev": true, "google": true, "signed_in": false })
    );

    let out = attempt(&s, Mode::Good, |u| u, true).await;
    assert_eq!(out.redirect, "/");
    let (pair, whole) = out.session.expect("session cookie");
    assert!(
        whole.contains("HttpOnly") && whole.contains("SameSite=Lax") && whole.contains("Path=/"),
        "{whole}"
    );
    assert!(!whole.contains("Secure"), "plain http: {whole}");
    // The page checks the session quietly: auth/methods says it is signed in.
    let methods: Value = s
        .http
        .post(format!("{}/api/auth/methods", s.server.url()))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(methods["signed_in"], true);
    assert_eq!(s.provider.lock().unwrap().pkce_ok, 1);
    let (st, user) = profile(&s, &pair).await;
    assert_eq!(st, StatusCode::OK, "{user}");
    assert_eq!(user["email"], "grace.hopper@example.com");
    assert_eq!(user["name"], "Grace Hopper");

    // Dev sign-in with the same email does not get into the Google account: identities
    // (provider + subject) are never merged by email alone.
    let dev = s
        .http
        .post(format!("{}/api/auth/dev", s.server.url()))
        .json(&json!({ "email": "grace.hopper@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(dev.status().as_u16(), 409);
    let dev: Value = dev.json().await.unwrap();
    assert_eq!(dev["error"]["code"], "ACCOUNT_EXISTS");
    assert!(dev.get("session_token").is_none());
    s.server.stop();
}

#[tokio::test]
async fn behind_https_the_cookies_are_secure_and_the_redirect_uri_https() {
    let s = setup().await;
    let start = s
        .http
        .get(format!("{}/api/auth/google/start", s.server.url()))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let (_, whole) = set_cookie(&start, "preppal_oidc").unwrap();
    assert!(whole.contains("Secure"), "{whole}");
    let redirect_uri = redirect_uri_of(&start);
    assert!(redirect_uri.starts_with("https://"), "{redirect_uri}");
    assert!(redirect_uri.ends_with("/api/auth/google/callback"));
    s.server.stop();
}

#[tokio::test]
async fn every_broken_rule_is_refused_without_a_session() {
    let s = setup().await;
    let cases: Vec<(&str, Mode, Tamper, bool, &str)> = vec![
        (
            "bad state",
            Mode::Good,
            Box::new(|u: String| {
                let (base, _) = u.split_once("&state=").unwrap();
                format!("{base}&state=forged-state-value")
            }),
            true,
            "state_mismatch",
        ),
        (
            "no attempt cookie",
            Mode::Good,
            Box::new(|u| u),
            false,
            "no_attempt",
        ),
        (
            "wrong nonce",
            Mode::WrongNonce,
            Box::new(|u| u),
            true,
            "nonce_mismatch",
        ),
        (
            "wrong audience",
            Mode::WrongAudience,
            Box::new(|u| u),
            true,
            "wrong_audience",
        ),
        (
            "expired token",
            Mode::Expired,
            Box::new(|u| u),
            true,
            "expired",
        ),
        (
            "wrong signature",
            Mode::WrongSignature,
            Box::new(|u| u),
            true,
            "bad_signature",
        ),
        (
            "wrong issuer",
            Mode::WrongIssuer,
            Box::new(|u| u),
            true,
            "wrong_issuer",
        ),
        (
            "unverified email",
            Mode::UnverifiedEmail,
            Box::new(|u| u),
            true,
            "email_not_verified",
        ),
    ];
    for (what, mode, tamper, cookie, code) in cases {
        let out = attempt(&s, mode, tamper, cookie).await;
        assert_eq!(out.redirect, format!("/?signin_error={code}"), "{what}");
        assert!(out.session.is_none(), "{what}: a session was set");
    }
    // The provider's own refusal comes back as such.
    let resp = s
        .http
        .get(format!(
            "{}/api/auth/google/callback?error=access_denied&state=x",
            s.server.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&resp), "/?signin_error=provider_refused");
    // And nothing of all that signed anyone in.
    assert!(set_cookie(&resp, "preppal_session").is_none());
    s.server.stop();
}

#[tokio::test]
async fn without_client_id_and_secret_google_sign_in_is_off() {
    let data = tempfile::tempdir().unwrap();
    let args = ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data.path().into());
    let server = spawn(&args).await.unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let methods: Value = http
        .post(format!("{}/api/auth/methods", server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        methods,
        json!({ "dev": true, "google": false, "signed_in": false })
    );
    let start = http
        .get(format!("{}/api/auth/google/start", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::NOT_FOUND);
    server.stop();
}

#[tokio::test]
async fn the_redirect_uri_comes_from_the_public_url_not_the_host() {
    let s = setup_with(Some("https://interviews.example")).await;
    // Reached by a loopback name (allowed beside the public origin), over plain HTTP.
    let start = s
        .http
        .get(format!("{}/api/auth/google/start", s.server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        redirect_uri_of(&start),
        "https://interviews.example/api/auth/google/callback"
    );
    s.server.stop();
}
