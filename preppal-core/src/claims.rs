//! The claims of the short-lived tokens that let a client join an interview.
//!
//! The web tier signs them (HS256) and the worker tier checks them; this module holds the
//! shared shape and the checks that need no cryptography. Lifetimes follow the design:
//! worker tokens 5 minutes, WebSocket tokens 1 hour.

use serde::{Deserialize, Serialize};

/// `iss` of every Preppal token.
pub const ISSUER: &str = "preppal";
/// `aud` of tokens that open the interview WebSocket on a worker.
pub const AUDIENCE_WORKER: &str = "preppal-worker";
/// Lifetime of a token from `generateWorkerToken`, in seconds (the design's 5 minutes).
pub const WORKER_TOKEN_TTL_SECS: u64 = 5 * 60;
/// Lifetime of a token from `generateWsToken`, in seconds (the design's 1 hour).
pub const WS_TOKEN_TTL_SECS: u64 = 60 * 60;

/// Claims of a token that admits one user to one interview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterviewClaims {
    /// The user id.
    pub sub: String,
    /// The interview the token admits to.
    pub interview_id: String,
    /// Audience: [`AUDIENCE_WORKER`].
    pub aud: String,
    /// Issuer: [`ISSUER`].
    pub iss: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: u64,
}

/// Why a token's claims do not admit the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// The token names another interview than the one in the request path.
    #[error("token is for another interview")]
    WrongInterview,
    /// The token has no subject or no interview.
    #[error("token lacks a subject or an interview id")]
    Incomplete,
}

impl InterviewClaims {
    /// Claims for `user_id` on `interview_id`, issued at `now_secs` (Unix seconds), valid for
    /// `ttl_secs` seconds.
    pub fn new(user_id: &str, interview_id: &str, now_secs: u64, ttl_secs: u64) -> Self {
        Self {
            sub: user_id.to_owned(),
            interview_id: interview_id.to_owned(),
            aud: AUDIENCE_WORKER.to_owned(),
            iss: ISSUER.to_owned(),
            iat: now_secs,
            exp: now_secs.saturating_add(ttl_secs),
        }
    }

    /// Checks that the claims are complete and name `path_interview_id`.
    ///
    /// Signature, `exp`, `iat`, `aud` and `iss` are checked by the JWT library that decoded
    /// the claims; this checks what only Preppal knows.
    ///
    /// # Errors
    /// [`ClaimsError::Incomplete`] or [`ClaimsError::WrongInterview`].
    pub fn check_interview(&self, path_interview_id: &str) -> Result<(), ClaimsError> {
        if self.sub.is_empty() || self.interview_id.is_empty() {
            return Err(ClaimsError::Incomplete);
        }
        if self.interview_id != path_interview_id {
            return Err(ClaimsError::WrongInterview);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_the_path_interview() {
        let c = InterviewClaims::new("u1", "i1", 1_000, WORKER_TOKEN_TTL_SECS);
        assert_eq!(c.exp, 1_300);
        assert_eq!(c.check_interview("i1"), Ok(()));
        assert_eq!(c.check_interview("i2"), Err(ClaimsError::WrongInterview));
        let empty = InterviewClaims::new("", "i1", 0, 1);
        assert_eq!(empty.check_interview("i1"), Err(ClaimsError::Incomplete));
    }
}
