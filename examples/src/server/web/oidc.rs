//! Google sign-in: OpenID Connect's authorization code flow with `state`, `nonce` and PKCE
//! (S256), when `GOOGLE_CLIENT_ID` and `GOOGLE_CLIENT_SECRET` are set.
//!
//! ```text
//! browser ── GET /api/auth/google/start ──► 303 to the provider's authorization_endpoint
//!            (sets the preppal_oidc cookie: state, nonce, PKCE verifier, redirect URI, signed, 10 min)
//! provider ─ 302 to /api/auth/google/callback?code=…&state=… ─► the server checks state
//!            against the cookie, POSTs the code and the verifier to the token_endpoint,
//!            verifies the ID token (RS256 signature by a key of jwks_uri, iss, aud, azp,
//!            exp, iat, nonce, email_verified), signs the user in with the same session
//!            cookie as dev sign-in, and sends the browser to `/` (or to
//!            `/?signin_error=CODE` with no session when anything is refused).
//! ```
//!
//! The provider's endpoints come from its discovery document
//! (`{issuer}/.well-known/openid-configuration`, OpenID Connect Discovery 1.0 §4), with the
//! issuer `https://accounts.google.com` unless `GOOGLE_ISSUER_URL` says otherwise (a test
//! runs its own provider on loopback). The checks follow OpenID Connect Core 1.0 §3.1.3.7
//! (ID token validation) and RFC 7636 (PKCE). Google's ID tokens carry `iss` either as
//! `https://accounts.google.com` or `accounts.google.com`; both are accepted for Google's
//! issuer, only the discovered issuer otherwise.
//!
//! These two routes ([`super::google_sign_in`]) are browser navigations (redirects), not
//! JSON procedures, so they are not in the OpenAPI document; `POST /api/auth/methods` is.

use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::RwLock;

use super::origin::is_https;
use crate::server::common::tokens;

/// Google's issuer, the default of `GOOGLE_ISSUER_URL`.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
/// Name of the cookie that carries one sign-in attempt's state, nonce and PKCE verifier.
pub const FLOW_COOKIE: &str = "preppal_oidc";
/// Path of the callback, appended to the request's origin for the redirect URI.
pub const CALLBACK_PATH: &str = "/api/auth/google/callback";
/// How long a sign-in attempt may take, from start to callback, in seconds.
pub const FLOW_TTL_SECS: u64 = 600;
/// How long the provider's signing keys are kept before they are fetched again.
pub const JWKS_TTL: Duration = Duration::from_secs(3600);
/// Timeout of each request to the provider.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// Clock skew tolerated on the ID token's `exp` and `iat`, in seconds.
pub const ID_TOKEN_LEEWAY_SECS: u64 = 60;
/// `aud` of the flow cookie's token (never accepted as a session).
pub(super) const AUDIENCE_FLOW: &str = "preppal-oidc-flow";

/// Options of Google sign-in (part of `preppal serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct GoogleArgs {
    /// OAuth client id of Google sign-in; with the secret, the page offers "Sign in with Google".
    #[arg(long, env = "GOOGLE_CLIENT_ID")]
    pub google_client_id: Option<String>,
    /// OAuth client secret of Google sign-in.
    #[arg(long, env = "GOOGLE_CLIENT_SECRET", hide_env_values = true)]
    pub google_client_secret: Option<String>,
    /// OpenID Connect issuer whose discovery document gives the endpoints.
    #[arg(long, env = "GOOGLE_ISSUER_URL", default_value = GOOGLE_ISSUER)]
    pub google_issuer_url: String,
    /// The redirect URI registered with the provider (default: the server's public origin
    /// (`--public-url`) + `/api/auth/google/callback`; without a public origin, the
    /// request's allowlisted Host and X-Forwarded-Proto).
    #[arg(long, env = "GOOGLE_REDIRECT_URL")]
    pub google_redirect_url: Option<String>,
}

impl Default for GoogleArgs {
    fn default() -> Self {
        Self {
            google_client_id: None,
            google_client_secret: None,
            google_issuer_url: GOOGLE_ISSUER.to_owned(),
            google_redirect_url: None,
        }
    }
}

/// Why a Google sign-in was refused. The page is told the [`code`](Self::code); the log
/// gets the whole reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignInError {
    /// The provider answered the authorization request with an error (for example the
    /// person declined); its `error` value.
    #[error("the provider refused: {0}")]
    Provider(String),
    /// No valid flow cookie: the attempt expired, was started in another browser, or the
    /// cookie was altered. Start again.
    #[error("no sign-in attempt in progress in this browser")]
    NoAttempt,
    /// The callback's `state` is not the one this browser was sent with (a forged or
    /// replayed callback).
    #[error("state does not match")]
    StateMismatch,
    /// The callback has no `code`.
    #[error("no authorization code")]
    NoCode,
    /// The provider could not be reached or answered something unusable (discovery,
    /// keys or token endpoint). Retry later.
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
    /// The token endpoint refused the code (expired, used twice, wrong verifier).
    #[error("the code was refused: {0}")]
    CodeRefused(String),
    /// The ID token's signature is not by one of the provider's keys, or it uses another
    /// algorithm than RS256.
    #[error("ID token signature refused: {0}")]
    BadSignature(String),
    /// The ID token names another issuer.
    #[error("ID token from another issuer")]
    WrongIssuer,
    /// The ID token is for another client (`aud`, or `azp` with several audiences).
    #[error("ID token for another client")]
    WrongAudience,
    /// The ID token has expired, or was issued in the future.
    #[error("ID token expired or not yet valid")]
    Expired,
    /// The ID token's `nonce` is not this attempt's (a replayed token).
    #[error("nonce does not match")]
    NonceMismatch,
    /// The account has no email address the provider has verified.
    #[error("the account's email is missing or not verified")]
    EmailNotVerified,
    /// The ID token is malformed or lacks a required claim.
    #[error("malformed ID token: {0}")]
    Malformed(String),
    /// The user could not be stored.
    #[error("the user could not be saved")]
    Store,
    /// The email belongs to an account of another sign-in identity (dev sign-in, or
    /// another Google account): accounts are never merged by email alone.
    #[error("the email belongs to an account that signs in another way")]
    AccountExists,
}

impl SignInError {
    /// A stable code for the page (`/?signin_error=CODE`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Provider(_) => "provider_refused",
            Self::NoAttempt => "no_attempt",
            Self::StateMismatch => "state_mismatch",
            Self::NoCode => "no_code",
            Self::Unavailable(_) => "provider_unavailable",
            Self::CodeRefused(_) => "code_refused",
            Self::BadSignature(_) => "bad_signature",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::Expired => "expired",
            Self::NonceMismatch => "nonce_mismatch",
            Self::EmailNotVerified => "email_not_verified",
            Self::Malformed(_) => "malformed_token",
            Self::Store => "unavailable",
            Self::AccountExists => "account_exists",
        }
    }
}

/// The provider's discovery document, the fields used (OpenID Connect Discovery 1.0 §3).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Discovery {
    issuer: String,
    pub(super) authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// Claims of the flow cookie's token (HS256 with the server's JWT key).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct FlowClaims {
    pub(super) sub: String,
    pub(super) aud: String,
    pub(super) iss: String,
    pub(super) iat: u64,
    pub(super) exp: u64,
    pub(super) state: String,
    pub(super) nonce: String,
    pub(super) verifier: String,
    pub(super) redirect_uri: String,
}

/// Claims of the ID token that are read (OpenID Connect Core 1.0 §2, §5.1).
#[derive(Debug, Deserialize)]
struct IdClaims {
    iss: String,
    /// The provider's stable id of the account (Core §2): with the provider, the identity.
    #[serde(default)]
    sub: String,
    /// A string, or an array of strings (Core §2).
    #[serde(default)]
    aud: serde_json::Value,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    iat: Option<u64>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    #[serde(default)]
    name: Option<String>,
}

/// Query of the callback (RFC 6749 §4.1.2 and §4.1.2.1).
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    /// The authorization code.
    #[serde(default)]
    pub code: Option<String>,
    /// The state sent with the authorization request.
    #[serde(default)]
    pub state: Option<String>,
    /// The provider's error, when the request was refused.
    #[serde(default)]
    pub error: Option<String>,
}

/// The OAuth client secret; its `Debug` prints nothing of it.
struct ClientSecret(String);

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

/// Google sign-in, configured: the client, the provider's cached discovery document and
/// signing keys.
#[derive(Debug)]
pub struct GoogleSignIn {
    pub(super) client_id: String,
    client_secret: ClientSecret,
    issuer: String,
    redirect_url: Option<String>,
    http: reqwest::Client,
    discovery: RwLock<Option<Discovery>>,
    jwks: RwLock<Option<(JwkSet, Instant)>>,
}

impl GoogleSignIn {
    /// Google sign-in for `args`, or `None` when the client id or secret is unset. Its
    /// redirect URI is `args.google_redirect_url`, else `public_url` (the server's origin as
    /// browsers reach it, `--public-url`) + [`CALLBACK_PATH`], else built per request.
    ///
    /// # Errors
    /// An empty client id or secret, or an HTTP client that cannot be built.
    pub fn from_args(args: &GoogleArgs, public_url: Option<&str>) -> anyhow::Result<Option<Self>> {
        let (Some(id), Some(secret)) = (&args.google_client_id, &args.google_client_secret) else {
            if args.google_client_id.is_some() || args.google_client_secret.is_some() {
                tracing::warn!(
                    "Google sign-in is off: set both GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET"
                );
            }
            return Ok(None);
        };
        anyhow::ensure!(
            !id.trim().is_empty() && !secret.is_empty(),
            "GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET must not be empty"
        );
        let http = reqwest::Client::builder()
            .timeout(PROVIDER_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Some(Self {
            client_id: id.trim().to_owned(),
            client_secret: ClientSecret(secret.clone()),
            issuer: args.google_issuer_url.trim_end_matches('/').to_owned(),
            redirect_url: args.google_redirect_url.clone().or_else(|| {
                public_url.map(|u| format!("{}{CALLBACK_PATH}", u.trim_end_matches('/')))
            }),
            http,
            discovery: RwLock::new(None),
            jwks: RwLock::new(None),
        }))
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub(super) async fn discovery(&self) -> Result<Discovery, SignInError> {
        if let Some(d) = self.discovery.read().await.as_ref() {
            return Ok(d.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let d: Discovery = self.get_json(&url).await?;
        // Discovery §4.3: the document's issuer must be the one it was fetched for.
        if d.issuer.trim_end_matches('/') != self.issuer {
            return Err(SignInError::Unavailable(format!(
                "the discovery document names issuer {:?}",
                d.issuer
            )));
        }
        *self.discovery.write().await = Some(d.clone());
        Ok(d)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, SignInError> {
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| SignInError::Unavailable(format!("{url}: {e}")))?;
        if !resp.status().is_success() {
            return Err(SignInError::Unavailable(format!(
                "{url}: HTTP {}",
                resp.status()
            )));
        }
        resp.json()
            .await
            .map_err(|e| SignInError::Unavailable(format!("{url}: {e}")))
    }

    /// The key with id `kid` (or the only key when the token names none), fetching the key
    /// set again when it is older than [`JWKS_TTL`] or does not have that key.
    async fn key(&self, jwks_uri: &str, kid: Option<&str>) -> Result<DecodingKey, SignInError> {
        let pick = |set: &JwkSet| match kid {
            Some(k) => set.find(k).cloned(),
            None if set.keys.len() == 1 => set.keys.first().cloned(),
            None => None,
        };
        if let Some((set, at)) = self.jwks.read().await.as_ref() {
            if at.elapsed() < JWKS_TTL {
                if let Some(jwk) = pick(set) {
                    return DecodingKey::from_jwk(&jwk)
                        .map_err(|e| SignInError::BadSignature(e.to_string()));
                }
            }
        }
        let set: JwkSet = self.get_json(jwks_uri).await?;
        let jwk = pick(&set);
        *self.jwks.write().await = Some((set, Instant::now()));
        let jwk = jwk.ok_or_else(|| {
            SignInError::BadSignature(format!("no key {kid:?} in the provider's key set"))
        })?;
        DecodingKey::from_jwk(&jwk).map_err(|e| SignInError::BadSignature(e.to_string()))
    }

    pub(super) fn redirect_uri(&self, headers: &HeaderMap) -> String {
        if let Some(u) = &self.redirect_url {
            return u.clone();
        }
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1:3000");
        let scheme = if is_https(headers) { "https" } else { "http" };
        format!("{scheme}://{host}{CALLBACK_PATH}")
    }

    /// Exchanges `code` and checks the ID token against this attempt; returns the verified
    /// email and display name.
    pub(super) async fn finish(
        &self,
        flow: &FlowClaims,
        code: &str,
    ) -> Result<(String, String, String), SignInError> {
        let d = self.discovery().await?;
        let resp = self
            .http
            .post(&d.token_endpoint)
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", flow.redirect_uri.as_str()),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.0.as_str()),
                ("code_verifier", flow.verifier.as_str()),
            ])
            .send()
            .await
            .map_err(|e| SignInError::Unavailable(format!("token endpoint: {e}")))?;
        let status = resp.status();
        let body: serde_json::Value = resp
            .json()
            .await
            .map_err(|e| SignInError::Unavailable(format!("token endpoint: {e}")))?;
        if status.is_client_error() {
            return Err(SignInError::CodeRefused(
                body["error"].as_str().unwrap_or("refused").to_owned(),
            ));
        }
        if !status.is_success() {
            return Err(SignInError::Unavailable(format!(
                "token endpoint: HTTP {status}"
            )));
        }
        let id_token = body["id_token"]
            .as_str()
            .ok_or_else(|| SignInError::Malformed("no id_token in the token response".into()))?;
        self.verify_id_token(&d, id_token, &flow.nonce).await
    }

    async fn verify_id_token(
        &self,
        d: &Discovery,
        id_token: &str,
        nonce: &str,
    ) -> Result<(String, String, String), SignInError> {
        let header = decode_header(id_token).map_err(|e| SignInError::Malformed(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(SignInError::BadSignature(format!(
                "algorithm {:?} is not RS256",
                header.alg
            )));
        }
        let key = self.key(&d.jwks_uri, header.kid.as_deref()).await?;
        let mut v = Validation::new(Algorithm::RS256);
        v.leeway = ID_TOKEN_LEEWAY_SECS;
        v.set_audience(&[&self.client_id]);
        let mut issuers = vec![d.issuer.clone()];
        if self.issuer == GOOGLE_ISSUER {
            issuers.push("accounts.google.com".to_owned());
        }
        v.set_issuer(&issuers);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = decode::<IdClaims>(id_token, &key, &v).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::InvalidSignature | K::InvalidAlgorithm | K::InvalidRsaKey(_) => {
                    SignInError::BadSignature(e.to_string())
                }
                K::InvalidIssuer => SignInError::WrongIssuer,
                K::InvalidAudience => SignInError::WrongAudience,
                K::ExpiredSignature | K::ImmatureSignature => SignInError::Expired,
                _ => SignInError::Malformed(e.to_string()),
            }
        })?;
        let c = data.claims;
        tracing::debug!(iss = %c.iss, "ID token signature and registered claims verified");
        // Core §3.1.3.7 (4, 5): several audiences need azp, and azp must be this client.
        let many = c.aud.as_array().is_some_and(|a| a.len() > 1);
        if (many || c.azp.is_some()) && c.azp.as_deref() != Some(self.client_id.as_str()) {
            return Err(SignInError::WrongAudience);
        }
        if c.iat
            .is_some_and(|iat| iat > tokens::now_secs() + ID_TOKEN_LEEWAY_SECS)
        {
            return Err(SignInError::Expired);
        }
        // Core §3.1.3.7 (11): the nonce must be this attempt's.
        let same_nonce = c
            .nonce
            .as_deref()
            .is_some_and(|n| bool::from(n.as_bytes().ct_eq(nonce.as_bytes())));
        if !same_nonce {
            return Err(SignInError::NonceMismatch);
        }
        let verified = match &c.email_verified {
            Some(serde_json::Value::Bool(b)) => *b,
            // Some Google tokens carried it as a string.
            Some(serde_json::Value::String(s)) => s == "true",
            _ => false,
        };
        let email = c
            .email
            .map(|e| e.trim().to_lowercase())
            .filter(|e| verified && e.contains('@') && e.len() <= 254)
            .ok_or(SignInError::EmailNotVerified)?;
        let name = c
            .name
            .map(|n| n.trim().chars().take(200).collect::<String>())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
        if c.sub.is_empty() || c.sub.len() > 255 {
            return Err(SignInError::Malformed("sub is empty or too long".into()));
        }
        Ok((c.sub, email, name))
    }
}

/// The PKCE S256 challenge of `verifier` (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}
