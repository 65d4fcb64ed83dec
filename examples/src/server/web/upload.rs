//! `POST /api/document.extractText`: the upload handler in front of the PDF text
//! extraction of [`super::document`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::auth::CurrentUser;
use super::document::MAX_PDF_BYTES;
use super::error::ApiError;
use super::state::AppState;
use crate::api::errors::ErrorBody;
use crate::api::library::{ExtractedText, FileBody};

/// `POST /api/document.extractText`: the text of the PDF in the body, as
/// `{"text": "...", "pages": n}`. Signed-in users only.
///
/// # Errors
/// 401 without a session, 413 for a body over [`MAX_PDF_BYTES`], and the
/// [`ExtractError`](super::document::ExtractError)s: 400 `EMPTY_FILE`, 415 `NOT_A_PDF`,
/// 422 `PDF_ENCRYPTED`, `PDF_NO_TEXT`, `PDF_TOO_MUCH_TEXT`, `PDF_UNREADABLE`,
/// `PDF_TOO_COMPLEX`, 429 `EXTRACTION_BUSY`, 503 `PDF_READER_MISSING`.
#[utoipa::path(
    post,
    path = "/api/document.extractText",
    summary = "The text of a PDF (the body is the file, at most 4 MiB)",
    request_body(content(
        (FileBody = "application/pdf"),
        (FileBody = "application/octet-stream"),
    )),
    responses(
        (status = 200, description = "The text and the page count", body = ExtractedText),
        (status = 400, description = "An empty file (EMPTY_FILE) or an unreadable body", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Cross-site request refused", body = String, content_type = "text/plain"),
        (status = 413, description = "The file is larger than 4 MiB", body = ErrorBody),
        (status = 415, description = "Not a PDF (NOT_A_PDF)", body = ErrorBody),
        (status = 422, description = "A PDF whose text cannot be had: PDF_ENCRYPTED, PDF_NO_TEXT, PDF_TOO_MUCH_TEXT, PDF_UNREADABLE or PDF_TOO_COMPLEX", body = ErrorBody),
        (status = 429, description = "As many PDFs as allowed are being read, this user's or the server's (EXTRACTION_BUSY)", body = ErrorBody),
        (status = 503, description = "The server has no PDF reader (PDF_READER_MISSING: install poppler-utils)", body = ErrorBody),
    ),
    security(("session" = []))
)]
pub async fn extract_text(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ExtractedText>, ApiError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!("the file is larger than {MAX_PDF_BYTES} bytes"))
        } else {
            ApiError::BadRequest("unreadable request body".into())
        }
    })?;
    let size = bytes.len();
    match state.documents.extract(&user.id, bytes).await {
        Ok(pdf) => Ok(Json(ExtractedText {
            text: pdf.text,
            pages: pdf.pages,
        })),
        Err(e) => {
            tracing::info!(error = %e, bytes = size, "PDF text extraction refused");
            Err(ApiError::Document(e))
        }
    }
}
