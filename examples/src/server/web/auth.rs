//! Sign-in: dev credentials (when enabled), the methods on offer (Google sign-in is in
//! [`super::oidc`]), and the session that follows.
//!
//! A session is an HS256 JWT (see [`crate::server::common::tokens`]) carried in the `preppal_session`
//! cookie (HttpOnly, SameSite=Lax, Secure behind https) or as `Authorization: Bearer`.

use std::sync::Arc;

pub use crate::api::auth::DevSignIn;
use crate::api::auth::{DevSession, SignInMethods, SignedOut};
use crate::api::errors::{ErrorBody, NoInput};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::Json;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use super::error::ApiError;
use super::input::Input;
use super::origin::is_https;
use super::state::AppState;
use crate::server::common::tokens::SESSION_TTL_SECS;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "preppal_session";

/// The signed-in user, extracted from the session cookie or bearer token.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The user's id.
    pub id: String,
}

impl FromRequestParts<Arc<AppState>> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        current_user(&parts.headers, state).await
    }
}

/// The signed-in user of a request with `headers`: a valid session token (bearer or
/// cookie) of a user that still exists, issued at the user's current session version.
///
/// # Errors
/// [`ApiError::Unauthorized`] otherwise (the log says why).
pub async fn current_user(headers: &HeaderMap, state: &AppState) -> Result<CurrentUser, ApiError> {
    let token = bearer(headers)
        .or_else(|| {
            CookieJar::from_headers(headers)
                .get(SESSION_COOKIE)
                .map(|c| c.value().to_owned())
        })
        .ok_or(ApiError::Unauthorized)?;
    let claims = state.keys.verify_session_claims(&token).map_err(|e| {
        tracing::info!(reason = %e, "session token refused");
        ApiError::Unauthorized
    })?;
    // The user must still exist, and the session must not have been signed out.
    let current = state
        .store
        .session_version(&claims.sub)
        .await
        .map_err(|_| ApiError::Unauthorized)?;
    if claims.ver < current {
        tracing::info!("session token refused: signed out");
        return Err(ApiError::Unauthorized);
    }
    Ok(CurrentUser { id: claims.sub })
}

/// The token of an `Authorization: Bearer` header.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
}

/// `POST /api/auth/dev`: signs in with dev credentials (no password), when enabled.
/// Replies `{"user": {...}, "session_token": "..."}` and sets the session cookie.
///
/// Refused with 403 `DEV_SIGN_IN_REFUSED` when the request came through a proxy (it
/// carries a forwarding header: see [`super::origin::FORWARDING_HEADERS`]), and with 409
/// `ACCOUNT_EXISTS` when the email belongs to an account that signs in with Google (dev
/// and Google accounts are never merged by email).
#[utoipa::path(
    post,
    path = "/api/auth/dev",
    summary = "Sign in with dev credentials (when enabled)",
    request_body(content = DevSignIn, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in; sets the session cookie", body = DevSession),
        (status = 400, description = "Malformed input", body = ErrorBody),
        (status = 403, description = "Cross-site request refused, or a request through a proxy (DEV_SIGN_IN_REFUSED)", body = ErrorBody),
        (status = 404, description = "Dev sign-in is off", body = ErrorBody),
        (status = 409, description = "The email belongs to an account that signs in with Google (ACCOUNT_EXISTS)", body = ErrorBody),
    )
)]
pub async fn dev_sign_in(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    jar: CookieJar,
    Input(input): Input<DevSignIn>,
) -> Result<(CookieJar, Json<DevSession>), ApiError> {
    if !state.dev_auth {
        return Err(ApiError::NotFound("sign-in method"));
    }
    if super::origin::is_forwarded(&headers) {
        tracing::warn!("dev sign-in refused: the request came through a proxy");
        return Err(ApiError::DevSignInRefused);
    }
    let email = input.email.trim().to_lowercase();
    if email.len() > 254 || !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        return Err(ApiError::BadRequest(
            "a valid email address is required".into(),
        ));
    }
    let name = input
        .name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
    if name.len() > 200 {
        return Err(ApiError::BadRequest("name is too long".into()));
    }
    let user = state
        .store
        .sign_in_user("dev", &email, &email, &name)
        .await
        .map_err(|e| match e {
            preppal_store::StoreError::IdentityConflict => ApiError::AccountExists,
            e => ApiError::from_store(e, "user"),
        })?;
    let ver = state
        .store
        .session_version(&user.id)
        .await
        .map_err(|e| ApiError::from_store(e, "user"))?;
    let token = state.keys.sign_session_at(&user.id, ver);
    Ok((
        jar.add(session_cookie(token.clone(), &headers)),
        Json(DevSession {
            user,
            session_token: token,
        }),
    ))
}

/// The session cookie carrying `token`: HttpOnly, SameSite=Lax, Secure behind https, for
/// the whole site, as long as the session lasts.
pub fn session_cookie(token: String, headers: &HeaderMap) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(is_https(headers))
        .path("/")
        .max_age(time_secs(SESSION_TTL_SECS))
        .build()
}

/// `POST /api/auth/methods`: which sign-in methods this server offers, for the sign-in
/// page: `{"dev": bool, "google": bool, "signed_in": bool}`. Needs no session; `signed_in`
/// says whether the request carries a valid one, so the page can check quietly (no 401).
#[utoipa::path(
    post,
    path = "/api/auth/methods",
    summary = "The sign-in methods on offer, and whether the request is signed in",
    request_body(content = NoInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The methods", body = SignInMethods),
        (status = 403, description = "Cross-site request refused", body = String, content_type = "text/plain"),
    )
)]
pub async fn sign_in_methods(
    State(state): State<Arc<AppState>>,
    user: Result<CurrentUser, ApiError>,
) -> Json<SignInMethods> {
    Json(SignInMethods {
        dev: state.dev_auth,
        google: state.google.is_some(),
        signed_in: user.is_ok(),
    })
}

/// `POST /api/auth/signout`: ends every session of the signed-in user (its session
/// version is incremented, so the old cookie and bearer tokens get 401 from now on) and
/// clears the session cookie. Without a valid session it only clears the cookie.
///
/// # Errors
/// 503 when the store cannot record the sign-out (the sessions would stay valid).
#[utoipa::path(
    post,
    path = "/api/auth/signout",
    summary = "End every session of the signed-in user (older tokens get 401) and clear the session cookie",
    request_body(content = NoInput, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed out; the session cookie is cleared", body = SignedOut),
        (status = 403, description = "Cross-site request refused", body = String, content_type = "text/plain"),
        (status = 503, description = "The sign-out could not be recorded", body = ErrorBody),
    ),
    security(("session" = []))
)]
pub async fn sign_out(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Result<(CookieJar, Json<SignedOut>), ApiError> {
    if let Ok(user) = current_user(&headers, &state).await {
        state
            .store
            .revoke_sessions(&user.id)
            .await
            .map_err(|e| ApiError::from_store(e, "user"))?;
    }
    Ok((
        jar.remove(Cookie::build(SESSION_COOKIE).path("/")),
        Json(SignedOut { ok: true }),
    ))
}

fn time_secs(s: u64) -> time::Duration {
    time::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX))
}
