//! Signing and checking the JWTs: session tokens (who is signed in) and interview tokens
//! (admission to one interview's WebSocket).
//!
//! HS256 only: verification pins the algorithm, so `none` and algorithm confusion are
//! refused (RFC 8725 §3.1); `exp`, `iat`, `aud` and `iss` are checked with 30 s of leeway.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use preppal_core::claims::{InterviewClaims, AUDIENCE_WORKER, ISSUER};
use serde::{Deserialize, Serialize};

use super::secrets::Secret;

/// `aud` of session tokens.
pub const AUDIENCE_SESSION: &str = "preppal-session";
/// Lifetime of a session, in seconds (30 days).
pub const SESSION_TTL_SECS: u64 = 30 * 24 * 3600;
/// Clock skew tolerated on `exp` and `iat`, in seconds.
pub const LEEWAY_SECS: u64 = 30;

/// Claims of a session token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionClaims {
    /// The user id.
    pub sub: String,
    /// [`AUDIENCE_SESSION`].
    pub aud: String,
    /// [`ISSUER`].
    pub iss: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expires at, Unix seconds.
    pub exp: u64,
    /// The user's session version when it was issued (see
    /// `preppal_store::InterviewStore::session_version`); tokens from before versions
    /// existed read as 0.
    #[serde(default)]
    pub ver: u64,
}

/// Why a token was refused. Logged; callers only learn that it was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Bad signature, algorithm, audience, issuer, expiry or shape.
    #[error("invalid token: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    /// Issued in the future.
    #[error("token issued in the future")]
    IssuedInFuture,
    /// The token's claims do not fit the request.
    #[error("token claims refused: {0}")]
    Claims(#[from] preppal_core::claims::ClaimsError),
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Signs and checks tokens with one HS256 secret.
#[derive(Clone)]
pub struct TokenKeys {
    enc: EncodingKey,
    dec: DecodingKey,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(<redacted>)")
    }
}

impl TokenKeys {
    /// Keys from the JWT secret.
    pub fn new(secret: &Secret) -> Self {
        Self {
            enc: EncodingKey::from_secret(secret.expose()),
            dec: DecodingKey::from_secret(secret.expose()),
        }
    }

    fn validation(aud: &str) -> Validation {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_audience(&[aud]);
        v.set_issuer(&[ISSUER]);
        v.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub"]);
        v.leeway = LEEWAY_SECS;
        v
    }

    fn sign<C: Serialize>(&self, claims: &C) -> String {
        // Encoding HS256 with a valid key only fails on serialization of our own structs.
        encode(&Header::new(Algorithm::HS256), claims, &self.enc).unwrap_or_default()
    }

    /// Signs `claims`, short-lived state the server hands the browser to keep (for example
    /// one sign-in attempt). They must carry `sub`, `aud` (one not used by other tokens),
    /// `iss` = [`ISSUER`], `iat` and `exp`; check them with [`Self::verify_claims`].
    pub fn sign_claims<C: Serialize>(&self, claims: &C) -> String {
        self.sign(claims)
    }

    /// Checks a token of [`Self::sign_claims`] with audience `aud` and returns its claims.
    ///
    /// # Errors
    /// [`TokenError`] saying why it was refused.
    pub fn verify_claims<C: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        aud: &str,
    ) -> Result<C, TokenError> {
        Ok(decode::<C>(token, &self.dec, &Self::validation(aud))?.claims)
    }

    /// A session token for `user_id` at session version 0.
    pub fn sign_session(&self, user_id: &str) -> String {
        self.sign_session_at(user_id, 0)
    }

    /// A session token for `user_id` at session version `ver` (the user's current one:
    /// sign-out increments it, which revokes every token issued before).
    pub fn sign_session_at(&self, user_id: &str, ver: u64) -> String {
        let now = now_secs();
        self.sign(&SessionClaims {
            sub: user_id.to_owned(),
            aud: AUDIENCE_SESSION.to_owned(),
            iss: ISSUER.to_owned(),
            iat: now,
            exp: now + SESSION_TTL_SECS,
            ver,
        })
    }

    /// Checks a session token and returns its user id.
    ///
    /// # Errors
    /// [`TokenError`] saying why it was refused.
    pub fn verify_session(&self, token: &str) -> Result<String, TokenError> {
        Ok(self.verify_session_claims(token)?.sub)
    }

    /// Checks a session token and returns its claims (the user id and session version).
    ///
    /// # Errors
    /// [`TokenError`] saying why it was refused.
    pub fn verify_session_claims(&self, token: &str) -> Result<SessionClaims, TokenError> {
        let data = decode::<SessionClaims>(token, &self.dec, &Self::validation(AUDIENCE_SESSION))?;
        check_iat(data.claims.iat)?;
        Ok(data.claims)
    }

    /// An interview token valid `ttl_secs` (see [`preppal_core::claims`] for the lifetimes).
    pub fn sign_interview(
        &self,
        user_id: &str,
        interview_id: &str,
        ttl_secs: u64,
    ) -> (String, u64) {
        let claims = InterviewClaims::new(user_id, interview_id, now_secs(), ttl_secs);
        (self.sign(&claims), claims.exp)
    }

    /// Checks an interview token against the interview id of the request path.
    ///
    /// # Errors
    /// [`TokenError`] saying why it was refused.
    pub fn verify_interview(
        &self,
        token: &str,
        path_interview_id: &str,
    ) -> Result<InterviewClaims, TokenError> {
        let data = decode::<InterviewClaims>(token, &self.dec, &Self::validation(AUDIENCE_WORKER))?;
        check_iat(data.claims.iat)?;
        data.claims.check_interview(path_interview_id)?;
        Ok(data.claims)
    }
}

fn check_iat(iat: u64) -> Result<(), TokenError> {
    if iat > now_secs() + LEEWAY_SECS {
        Err(TokenError::IssuedInFuture)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn keys() -> TokenKeys {
        TokenKeys::new(&Secret::new("k".repeat(40)).unwrap())
    }

    #[test]
    fn interview_tokens_check_path_audience_and_signature() {
        let k = keys();
        let (t, _) = k.sign_interview("u1", "i1", 300);
        assert_eq!(k.verify_interview(&t, "i1").unwrap().sub, "u1");
        assert!(matches!(
            k.verify_interview(&t, "i2"),
            Err(TokenError::Claims(_))
        ));
        // A session token is not an interview token (audience).
        assert!(k.verify_interview(&k.sign_session("u1"), "i1").is_err());
        let other = TokenKeys::new(&Secret::new("x".repeat(40)).unwrap());
        assert!(other.verify_interview(&t, "i1").is_err());
    }

    #[test]
    fn expired_and_alg_none_tokens_are_refused() {
        let k = keys();
        let mut c = InterviewClaims::new("u1", "i1", now_secs() - 1_000, 300);
        let t = k.sign(&c);
        assert!(k.verify_interview(&t, "i1").is_err(), "expired");
        c.exp = now_secs() + 300;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let none = format!(
            "{}.{}.",
            b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
            b64.encode(serde_json::to_vec(&c).unwrap())
        );
        assert!(k.verify_interview(&none, "i1").is_err(), "alg none");
    }
}
