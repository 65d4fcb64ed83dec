//! The Google sign-in routes: `GET /api/auth/google/start` and
//! `GET /api/auth/google/callback` (the flow is described in [`super::oidc`]).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use rand::RngCore;
use subtle::ConstantTimeEq;

use super::auth::session_cookie;
use super::error::ApiError;
use super::oidc::{
    pkce_challenge, CallbackQuery, FlowClaims, SignInError, AUDIENCE_FLOW, FLOW_COOKIE,
    FLOW_TTL_SECS,
};
use super::origin::is_https;
use super::state::AppState;
use crate::server::common::tokens;

/// 32 random bytes, base64url without padding (43 characters).
fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn flow_cookie(value: String, headers: &HeaderMap, max_age_secs: i64) -> Cookie<'static> {
    Cookie::build((FLOW_COOKIE, value))
        .http_only(true)
        // Lax: the provider's redirect back is a top-level GET navigation, which carries it.
        .same_site(SameSite::Lax)
        .secure(is_https(headers))
        .path("/api/auth/google")
        .max_age(time::Duration::seconds(max_age_secs))
        .build()
}

/// `GET /api/auth/google/start`: starts a sign-in attempt and sends the browser to the
/// provider. 404 when Google sign-in is not configured, 503 when the provider's discovery
/// document cannot be had.
///
/// # Errors
/// [`ApiError::NotFound`] or [`ApiError::Unavailable`].
pub async fn google_start(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Result<(CookieJar, Redirect), ApiError> {
    let Some(g) = state.google.as_deref() else {
        return Err(ApiError::NotFound("sign-in method"));
    };
    let d = g.discovery().await.map_err(|e| {
        tracing::warn!(error = %e, "Google sign-in: discovery failed");
        ApiError::Unavailable
    })?;
    let now = tokens::now_secs();
    let flow = FlowClaims {
        sub: "google-sign-in".to_owned(),
        aud: AUDIENCE_FLOW.to_owned(),
        iss: preppal_core::claims::ISSUER.to_owned(),
        iat: now,
        exp: now + FLOW_TTL_SECS,
        state: random_token(),
        nonce: random_token(),
        verifier: random_token(),
        redirect_uri: g.redirect_uri(&headers),
    };
    let mut url = reqwest::Url::parse(&d.authorization_endpoint).map_err(|e| {
        tracing::warn!(error = %e, "Google sign-in: bad authorization_endpoint");
        ApiError::Unavailable
    })?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &g.client_id)
        .append_pair("redirect_uri", &flow.redirect_uri)
        .append_pair("scope", "openid email profile")
        .append_pair("state", &flow.state)
        .append_pair("nonce", &flow.nonce)
        .append_pair("code_challenge", &pkce_challenge(&flow.verifier))
        .append_pair("code_challenge_method", "S256");
    let token = state.keys.sign_claims(&flow);
    let max_age = i64::try_from(FLOW_TTL_SECS).unwrap_or(600);
    Ok((
        jar.add(flow_cookie(token, &headers, max_age)),
        Redirect::to(url.as_str()),
    ))
}

/// `GET /api/auth/google/callback`: finishes the attempt. Always a redirect: to `/` with
/// the session cookie set, or to `/?signin_error=CODE` (see [`SignInError::code`]) with
/// none. The flow cookie is cleared either way, so a callback cannot be replayed.
pub async fn google_callback(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    jar: CookieJar,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Response {
    let flow_token = jar.get(FLOW_COOKIE).map(|c| c.value().to_owned());
    let jar = jar.remove(Cookie::build(FLOW_COOKIE).path("/api/auth/google"));
    let q = query.map(|Query(q)| q).unwrap_or_else(|_| CallbackQuery {
        code: None,
        state: None,
        error: None,
    });
    match finish(&state, &headers, flow_token.as_deref(), q).await {
        Ok(session) => {
            tracing::info!("Google sign-in: signed in");
            (jar.add(session), Redirect::to("/")).into_response()
        }
        Err(e) => {
            tracing::info!(error = %e, code = e.code(), "Google sign-in refused");
            (jar, Redirect::to(&format!("/?signin_error={}", e.code()))).into_response()
        }
    }
}

async fn finish(
    state: &AppState,
    headers: &HeaderMap,
    flow_token: Option<&str>,
    q: CallbackQuery,
) -> Result<Cookie<'static>, SignInError> {
    let g = state.google.as_deref().ok_or(SignInError::NoAttempt)?;
    if let Some(e) = q.error {
        return Err(SignInError::Provider(e.chars().take(100).collect()));
    }
    let flow: FlowClaims = state
        .keys
        .verify_claims(flow_token.ok_or(SignInError::NoAttempt)?, AUDIENCE_FLOW)
        .map_err(|_| SignInError::NoAttempt)?;
    let same_state = q
        .state
        .as_deref()
        .is_some_and(|s| bool::from(s.as_bytes().ct_eq(flow.state.as_bytes())));
    if !same_state {
        return Err(SignInError::StateMismatch);
    }
    let code = q
        .code
        .filter(|c| !c.is_empty())
        .ok_or(SignInError::NoCode)?;
    let (subject, email, name) = g.finish(&flow, &code).await?;
    let user = state
        .store
        .sign_in_user("google", &subject, &email, &name)
        .await
        .map_err(|e| match e {
            preppal_store::StoreError::IdentityConflict => {
                tracing::info!(
                    "Google sign-in refused: the email belongs to another identity's account"
                );
                SignInError::AccountExists
            }
            e => {
                tracing::warn!(error = %e, "Google sign-in: user not saved");
                SignInError::Store
            }
        })?;
    let ver = state.store.session_version(&user.id).await.map_err(|e| {
        tracing::warn!(error = %e, "Google sign-in: session version not read");
        SignInError::Store
    })?;
    Ok(session_cookie(
        state.keys.sign_session_at(&user.id, ver),
        headers,
    ))
}
