//! `POST /api/document.extractText`: the upload handler in front of the PDF text
//! extraction of [`super::document`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::auth::CurrentUser;
use super::document::MAX_PDF_BYTES;
use super::error::ApiError;
use super::state::AppState;

/// `POST /api/document.extractText`: the text of the PDF in the body, as
/// `{"text": "...", "pages": n}`. Signed-in users only.
///
/// # Errors
/// 401 without a session, 413 for a body over [`MAX_PDF_BYTES`], and the
/// [`ExtractError`](super::document::ExtractError)s: 400 `EMPTY_FILE`, 415 `NOT_A_PDF`, 422 `PDF_ENCRYPTED`,
/// `PDF_NO_TEXT`, `PDF_TOO_MUCH_TEXT`, `PDF_UNREADABLE`, `PDF_TOO_COMPLEX`, 429
/// `EXTRACTION_BUSY`, 503 `PDF_READER_MISSING`.
pub async fn extract_text(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!("the file is larger than {MAX_PDF_BYTES} bytes"))
        } else {
            ApiError::BadRequest("unreadable request body".into())
        }
    })?;
    let size = bytes.len();
    match state.documents.extract(&user.id, bytes).await {
        Ok(pdf) => Ok(Json(json!({ "text": pdf.text, "pages": pdf.pages }))),
        Err(e) => {
            tracing::info!(error = %e, bytes = size, "PDF text extraction refused");
            Err(ApiError::Document(e))
        }
    }
}
