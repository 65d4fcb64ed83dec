//! JSON API errors: a code, a message for people, and never a database detail.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use preppal_store::{ErrorKind, StoreError};

use super::document::ExtractError;

/// An error of the JSON API, rendered as `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No valid session: sign in first.
    #[error("sign in first")]
    Unauthorized,
    /// The thing does not exist, or belongs to someone else (never "forbidden").
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request is malformed or breaks a rule; the message says which.
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with the current state (idempotency key reused with other
    /// inputs, status moved by someone else).
    #[error("{0}")]
    Conflict(String),
    /// The request body is larger than the route accepts.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Too many requests; retry later.
    #[error("{0}")]
    RateLimited(String),
    /// The store is unreachable; retry later.
    #[error("service unavailable, retry later")]
    Unavailable,
    /// Something failed on our side; details are in the server log.
    #[error("internal error")]
    Internal,
    /// Dev sign-in through a proxy (a forwarding header): refused, whatever the bind.
    #[error("dev sign-in is only for requests made on this machine, not through a proxy")]
    DevSignInRefused,
    /// The email belongs to an account that signs in another way (Google or dev): the
    /// accounts are kept apart.
    #[error("this email belongs to an account that signs in another way; use that sign-in")]
    AccountExists,
    /// The user's library holds as much as allowed (count or total size).
    #[error("{0}")]
    QuotaExceeded(String),
    /// An uploaded document's text could not be extracted; the error says why (its own
    /// status and code, see [`ExtractError::status_and_code`]).
    #[error("{0}")]
    Document(#[from] ExtractError),
    /// `round_type` or `difficulty` is not one of the known values (400,
    /// `INVALID_ROUND_TYPE` / `INVALID_DIFFICULTY`).
    #[error("{0}")]
    PlanOption(#[from] preppal_core::plan::PlanOptionError),
}

impl ApiError {
    /// The HTTP status and the stable code string.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "BAD_REQUEST"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "CONFLICT"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
            Self::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS"),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE"),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL"),
            Self::Document(e) => e.status_and_code(),
            Self::DevSignInRefused => (StatusCode::FORBIDDEN, "DEV_SIGN_IN_REFUSED"),
            Self::AccountExists => (StatusCode::CONFLICT, "ACCOUNT_EXISTS"),
            Self::QuotaExceeded(_) => (StatusCode::CONFLICT, "QUOTA_EXCEEDED"),
            Self::PlanOption(preppal_core::plan::PlanOptionError::RoundType(_)) => {
                (StatusCode::BAD_REQUEST, "INVALID_ROUND_TYPE")
            }
            Self::PlanOption(_) => (StatusCode::BAD_REQUEST, "INVALID_DIFFICULTY"),
        }
    }

    /// Maps a store error by kind; the store's own message is logged, not returned.
    pub fn from_store(e: StoreError, what: &'static str) -> Self {
        match e.kind() {
            ErrorKind::NotFound => Self::NotFound(what),
            ErrorKind::Conflict => {
                Self::Conflict(format!("{what} conflicts with its current state"))
            }
            ErrorKind::InvalidInput => {
                tracing::info!(error = %e, "store refused the input");
                Self::BadRequest(format!(
                    "{what}: input that cannot be stored (malformed cursor, NUL character or out-of-range number)"
                ))
            }
            ErrorKind::Unavailable => {
                tracing::warn!(error = %e, "store unavailable");
                Self::Unavailable
            }
            _ => {
                tracing::error!(error = %e, "store error");
                Self::Internal
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let body = crate::api::errors::ErrorBody::new(code, self.to_string());
        (status, Json(body)).into_response()
    }
}
