//! The error shape of the JSON API.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The error shape of the JSON API: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code and message of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code: `UNAUTHORIZED`, `NOT_FOUND`, `BAD_REQUEST`, `CONFLICT`,
    /// `PAYLOAD_TOO_LARGE`, `TOO_MANY_REQUESTS`, `UNAVAILABLE`, `INTERNAL`,
    /// `QUOTA_EXCEEDED` (library quota) or `MISDIRECTED_REQUEST` (a `Host` this server
    /// does not answer for); for `auth/dev` also `DEV_SIGN_IN_REFUSED` and
    /// `ACCOUNT_EXISTS`; for `document.extractText` also `EMPTY_FILE`, `NOT_A_PDF`,
    /// `PDF_ENCRYPTED`, `PDF_NO_TEXT`, `PDF_TOO_MUCH_TEXT`, `PDF_UNREADABLE`,
    /// `PDF_TOO_COMPLEX`, `EXTRACTION_BUSY` and `PDF_READER_MISSING`.
    pub code: String,
    /// A message for people.
    pub message: String,
}

impl ErrorBody {
    /// The body of a refusal with `code` and `message`.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
            },
        }
    }
}

/// An empty JSON object `{}`, for procedures that take no input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NoInput {}
