//! Text from uploaded documents: `POST /api/document.extractText` reads a PDF resume or
//! job description and answers its text, for the library page to put in its text box.
//!
//! The body is the file itself (`Content-Type: application/pdf` or
//! `application/octet-stream`), at most [`MAX_PDF_BYTES`]; the reply is
//! `{"text": "...", "pages": n}`. The text comes from `pdf-extract` (on `lopdf`). PDF
//! parsers meet hostile input and `pdf-extract` panics on some of it, so each extraction
//! runs on a blocking thread inside `catch_unwind`, at most [`MAX_CONCURRENT_EXTRACTIONS`]
//! at a time and answered within [`EXTRACTION_TIMEOUT`]; whatever goes wrong is a typed 4xx
//! ([`ExtractError`]), never a 5xx.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use super::api::MAX_DOCUMENT_BYTES;
use super::auth::CurrentUser;
use super::error::ApiError;
use super::AppState;

/// Largest PDF accepted, in bytes (4 MiB, the library page's own file limit).
pub const MAX_PDF_BYTES: usize = 4 * 1024 * 1024;
/// PDFs read at once per process; more wait their turn.
pub const MAX_CONCURRENT_EXTRACTIONS: usize = 2;
/// Longest wait for one extraction (queueing included) before it is refused as unreadable.
pub const EXTRACTION_TIMEOUT: Duration = Duration::from_secs(20);

/// The magic bytes every PDF starts with (ISO 32000-1, 7.5.2 "File Header"); readers accept
/// them within the first 1024 bytes, so leading junk of that size is tolerated.
const PDF_MAGIC: &[u8] = b"%PDF-";

/// Why a document's text could not be extracted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// The body is empty: choose a file.
    #[error("the file is empty")]
    Empty,
    /// The body is not a PDF (no `%PDF-` header in its first 1024 bytes): upload a PDF, or
    /// read .txt and .md files as text.
    #[error("the file is not a PDF")]
    NotPdf,
    /// The PDF is encrypted with a password: remove the protection or paste the text.
    #[error("the PDF is protected by a password; remove the protection or paste the text")]
    Encrypted,
    /// The PDF has no text to extract (a scan, or only images): paste the text instead.
    #[error("the PDF has no text (is it a scan?); paste the text instead")]
    NoText,
    /// The text is longer than a library document may be ([`MAX_DOCUMENT_BYTES`]).
    #[error("the PDF has more than {MAX_DOCUMENT_BYTES} bytes of text")]
    TooMuchText,
    /// The PDF is damaged or uses something the reader does not support (the parser's
    /// reason, for the log and the person).
    #[error("the PDF could not be read: {0}")]
    Unreadable(String),
}

impl ExtractError {
    /// The HTTP status and the stable error code of the JSON API for this error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Empty => (StatusCode::BAD_REQUEST, "EMPTY_FILE"),
            Self::NotPdf => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "NOT_A_PDF"),
            Self::Encrypted => (StatusCode::UNPROCESSABLE_ENTITY, "PDF_ENCRYPTED"),
            Self::NoText => (StatusCode::UNPROCESSABLE_ENTITY, "PDF_NO_TEXT"),
            Self::TooMuchText => (StatusCode::UNPROCESSABLE_ENTITY, "PDF_TOO_MUCH_TEXT"),
            Self::Unreadable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "PDF_UNREADABLE"),
        }
    }
}

/// A PDF's text and page count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfText {
    /// The text, lines separated by `\n`, runs of blank lines collapsed to one, trimmed.
    pub text: String,
    /// Number of pages.
    pub pages: usize,
}

/// Extracts the text of the PDF in `bytes`, synchronously (CPU-bound: call it from a
/// blocking thread). A panic of the parser is caught and reported as
/// [`ExtractError::Unreadable`].
///
/// # Errors
/// [`ExtractError::Empty`], [`ExtractError::NotPdf`], [`ExtractError::Encrypted`] (a
/// password other than the empty one is needed), [`ExtractError::NoText`],
/// [`ExtractError::TooMuchText`] or [`ExtractError::Unreadable`].
pub fn extract_pdf_text(bytes: &[u8]) -> Result<PdfText, ExtractError> {
    if bytes.is_empty() {
        return Err(ExtractError::Empty);
    }
    let head = &bytes[..bytes.len().min(1024)];
    if !head.windows(PDF_MAGIC.len()).any(|w| w == PDF_MAGIC) {
        return Err(ExtractError::NotPdf);
    }
    match std::panic::catch_unwind(AssertUnwindSafe(|| extract_unguarded(bytes))) {
        Ok(r) => r,
        Err(panic) => {
            let reason = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "the parser failed".to_owned());
            tracing::info!(%reason, "PDF parser panicked");
            Err(ExtractError::Unreadable(format!(
                "unsupported or damaged content ({reason})"
            )))
        }
    }
}

fn extract_unguarded(bytes: &[u8]) -> Result<PdfText, ExtractError> {
    let doc =
        lopdf::Document::load_mem(bytes).map_err(|e| ExtractError::Unreadable(e.to_string()))?;
    // lopdf decrypts documents whose user password is empty as it loads them and drops the
    // trailer's /Encrypt; one still there needs a password.
    if doc.trailer.get(b"Encrypt").is_ok() || doc.is_encrypted() {
        return Err(ExtractError::Encrypted);
    }
    let pages = doc.get_pages().len();
    if pages == 0 {
        return Err(ExtractError::Unreadable("the PDF has no pages".into()));
    }
    let mut raw = String::new();
    {
        let mut out = pdf_extract::PlainTextOutput::new(&mut raw);
        pdf_extract::output_doc(&doc, &mut out)
            .map_err(|e| ExtractError::Unreadable(e.to_string()))?;
    }
    let text = tidy(&raw);
    if text.is_empty() {
        return Err(ExtractError::NoText);
    }
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(ExtractError::TooMuchText);
    }
    Ok(PdfText { text, pages })
}

/// Trailing spaces cut, control characters other than newlines dropped, runs of blank
/// lines collapsed to one, the whole trimmed.
fn tidy(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut blank_run = 0usize;
    for line in raw.lines() {
        let line: String = line
            .chars()
            .filter(|c| !c.is_control() || *c == '\t')
            .collect();
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank_run > 0 {
                out.push('\n');
            }
        }
        blank_run = 0;
        out.push_str(line);
    }
    out
}

/// Bounds concurrent extractions in a process (see [`MAX_CONCURRENT_EXTRACTIONS`]).
#[derive(Debug, Clone)]
pub struct Extractor {
    permits: Arc<Semaphore>,
}

impl Default for Extractor {
    fn default() -> Self {
        Self {
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_EXTRACTIONS)),
        }
    }
}

impl Extractor {
    /// Extracts the text of `bytes` on a blocking thread, waiting for a free slot first.
    /// The slot is held until the thread finishes, even past the timeout, so a PDF that
    /// keeps the parser busy cannot make room for more.
    ///
    /// # Errors
    /// As [`extract_pdf_text`]; a timeout is [`ExtractError::Unreadable`].
    pub async fn extract(&self, bytes: Bytes) -> Result<PdfText, ExtractError> {
        let work = async {
            let permit = Arc::clone(&self.permits)
                .acquire_owned()
                .await
                .map_err(|_| ExtractError::Unreadable("the server is shutting down".into()))?;
            tokio::task::spawn_blocking(move || {
                let r = extract_pdf_text(&bytes);
                drop(permit);
                r
            })
            .await
            .map_err(|e| ExtractError::Unreadable(format!("the reader stopped ({e})")))?
        };
        tokio::time::timeout(EXTRACTION_TIMEOUT, work)
            .await
            .unwrap_or_else(|_| {
                Err(ExtractError::Unreadable(format!(
                    "reading took longer than {} s",
                    EXTRACTION_TIMEOUT.as_secs()
                )))
            })
    }
}

/// `POST /api/document.extractText`: the text of the PDF in the body, as
/// `{"text": "...", "pages": n}`. Signed-in users only.
///
/// # Errors
/// 401 without a session, 413 for a body over [`MAX_PDF_BYTES`], and the
/// [`ExtractError`]s: 400 `EMPTY_FILE`, 415 `NOT_A_PDF`, 422 `PDF_ENCRYPTED`,
/// `PDF_NO_TEXT`, `PDF_TOO_MUCH_TEXT`, `PDF_UNREADABLE`.
pub async fn extract_text(
    State(state): State<Arc<AppState>>,
    _user: CurrentUser,
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
    match state.documents.extract(bytes).await {
        Ok(pdf) => Ok(Json(json!({ "text": pdf.text, "pages": pdf.pages }))),
        Err(e) => {
            tracing::info!(error = %e, bytes = size, "PDF text extraction refused");
            Err(ApiError::Document(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_collapses_blank_lines_and_trims() {
        assert_eq!(tidy("\n\n  a  \n\n\n\nb\u{0}c\n \n"), "  a\n\nbc");
        assert_eq!(tidy(" \n\t\n"), "");
    }

    #[test]
    fn refuses_what_is_not_a_pdf_before_parsing() {
        assert_eq!(extract_pdf_text(b""), Err(ExtractError::Empty));
        assert_eq!(extract_pdf_text(b"hello"), Err(ExtractError::NotPdf));
        assert!(matches!(
            extract_pdf_text(b"%PDF-1.4\n garbage"),
            Err(ExtractError::Unreadable(_))
        ));
    }
}
