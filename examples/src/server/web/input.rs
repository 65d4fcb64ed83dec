//! The JSON API's body extractor ([`Input`]) and its size limit.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Largest JSON API request body, in bytes (256 KiB: two 64 KiB documents and then some).
pub const MAX_JSON_BODY_BYTES: usize = 256 * 1024;

/// A JSON body that fails with the API's own error shape (an empty body reads as `{}`).
#[derive(Debug)]
pub struct Input<T>(pub T);

impl<S, T> FromRequest<S> for Input<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(format!(
                    "request body exceeds {MAX_JSON_BODY_BYTES} bytes"
                ))
            } else {
                ApiError::BadRequest("unreadable request body".into())
            }
        })?;
        let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
            Bytes::from_static(b"{}")
        } else {
            bytes
        };
        serde_json::from_slice(&bytes)
            .map(Input)
            .map_err(|e| ApiError::BadRequest(format!("invalid input: {e}")))
    }
}
