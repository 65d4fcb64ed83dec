//! Text from uploaded documents: `POST /api/document.extractText` ([`super::upload`])
//! reads a PDF resume or job description and answers its text, for the library page to
//! put in its text box.
//!
//! The body is the file itself (`Content-Type: application/pdf` or
//! `application/octet-stream`), at most [`MAX_PDF_BYTES`]; the reply is
//! `{"text": "...", "pages": n}`.
//!
//! PDF parsers meet hostile input: a form XObject that draws itself, a page tree with a
//! cycle, a compression bomb, one stream referenced thousands of times. Inside the server
//! a stack overflow aborts the process and blocking work cannot be cancelled, so the text
//! comes from poppler's `pdftotext` (Debian package `poppler-utils`) in a child process,
//! started through util-linux's `prlimit` (address space [`CHILD_ADDRESS_SPACE_BYTES`],
//! CPU time [`CHILD_CPU_SECS`], stack [`CHILD_STACK_BYTES`], no core files, no files
//! written) and coreutils' `nice`, with the PDF on its stdin and the text on its stdout:
//!
//! - the child is killed when the request's time ([`EXTRACTION_TIMEOUT`]) is up, and when
//!   the request is dropped (`kill_on_drop`), and always waited for, so nothing keeps
//!   running after the reply;
//! - at most [`MAX_RAW_TEXT_BYTES`] + 1 bytes of its stdout are read; one byte more and it
//!   is killed and the reply is `PDF_TOO_MUCH_TEXT`, so the text limit stops the work;
//! - at most [`MAX_CONCURRENT_EXTRACTIONS`] run at once per process and
//!   [`MAX_EXTRACTIONS_PER_USER`] per user; more is a 429 `EXTRACTION_BUSY` at once, not a
//!   queue.
//!
//! Whatever goes wrong with the file is a typed 4xx ([`ExtractError`]), never a 5xx; a
//! server without `pdftotext` answers 503 `PDF_READER_MISSING`, naming the package.

use std::collections::HashMap;
use std::ffi::OsString;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::api::library::MAX_DOCUMENT_BYTES;

/// Largest PDF accepted, in bytes (4 MiB, the library page's own file limit).
pub const MAX_PDF_BYTES: usize = 4 * 1024 * 1024;
/// Extractions running at once per process; one more is refused with 429.
pub const MAX_CONCURRENT_EXTRACTIONS: usize = 2;
/// Extractions one user may run at once; one more is refused with 429.
pub const MAX_EXTRACTIONS_PER_USER: usize = 1;
/// The request's time: the child is killed when it has not finished by then.
pub const EXTRACTION_TIMEOUT: Duration = Duration::from_secs(20);
/// Address space of the extractor process (`RLIMIT_AS`), in bytes (512 MiB).
pub const CHILD_ADDRESS_SPACE_BYTES: u64 = 512 * 1024 * 1024;
/// CPU time of the extractor process (`RLIMIT_CPU`), in seconds.
pub const CHILD_CPU_SECS: u64 = 10;
/// Stack of the extractor process (`RLIMIT_STACK`), in bytes (8 MiB).
pub const CHILD_STACK_BYTES: u64 = 8 * 1024 * 1024;
/// Most bytes of the extractor's raw output read (twice the library's text limit: the raw
/// text carries layout blank lines and spaces that `tidy` removes); one more and the
/// child is killed.
pub const MAX_RAW_TEXT_BYTES: usize = 2 * MAX_DOCUMENT_BYTES;
/// Most bytes of the extractor's stderr kept (the rest is read and dropped).
const MAX_STDERR_BYTES: usize = 8 * 1024;
/// The text extractor, looked up on `PATH` (Debian package `poppler-utils`).
pub const PDFTOTEXT: &str = "pdftotext";

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
    /// The PDF is damaged or uses something the reader does not support (the reader's
    /// reason, for the log and the person).
    #[error("the PDF could not be read: {0}")]
    Unreadable(String),
    /// Reading the PDF took longer than [`EXTRACTION_TIMEOUT`], more CPU time than
    /// [`CHILD_CPU_SECS`] or more memory than [`CHILD_ADDRESS_SPACE_BYTES`]: the reader
    /// was stopped.
    #[error("the PDF is too complex to read: {0}; paste the text instead")]
    TooComplex(String),
    /// As many extractions as allowed are running (this user's or the server's): retry in
    /// a moment.
    #[error("too many PDFs are being read at once; retry in a moment")]
    Busy,
    /// The server cannot run its PDF reader (`pdftotext` of the Debian package
    /// `poppler-utils`, or `prlimit` / `nice`, is not installed).
    #[error(
        "this server cannot read PDFs: install poppler-utils (pdftotext); paste the text instead"
    )]
    ReaderMissing,
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
            Self::TooComplex(_) => (StatusCode::UNPROCESSABLE_ENTITY, "PDF_TOO_COMPLEX"),
            Self::Busy => (StatusCode::TOO_MANY_REQUESTS, "EXTRACTION_BUSY"),
            Self::ReaderMissing => (StatusCode::SERVICE_UNAVAILABLE, "PDF_READER_MISSING"),
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

/// Refuses what is not a PDF before any process is started.
///
/// # Errors
/// [`ExtractError::Empty`] or [`ExtractError::NotPdf`].
pub fn check_pdf_header(bytes: &[u8]) -> Result<(), ExtractError> {
    if bytes.is_empty() {
        return Err(ExtractError::Empty);
    }
    let head = &bytes[..bytes.len().min(1024)];
    if !head.windows(PDF_MAGIC.len()).any(|w| w == PDF_MAGIC) {
        return Err(ExtractError::NotPdf);
    }
    Ok(())
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

/// What the child process left: its status (`None` when it was killed by us), up to
/// [`MAX_RAW_TEXT_BYTES`] + 1 bytes of stdout and the start of its stderr.
struct ChildOutput {
    status: Option<ExitStatus>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    over_limit: bool,
}

/// Runs PDF text extraction out of process, bounded per process and per user.
#[derive(Debug, Clone)]
pub struct Extractor {
    permits: Arc<Semaphore>,
    per_user: Arc<Mutex<HashMap<String, usize>>>,
    program: OsString,
    timeout: Duration,
}

impl Default for Extractor {
    fn default() -> Self {
        Self {
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_EXTRACTIONS)),
            per_user: Arc::new(Mutex::new(HashMap::new())),
            program: OsString::from(PDFTOTEXT),
            timeout: EXTRACTION_TIMEOUT,
        }
    }
}

/// One user's running extraction; gives the user's slot back when dropped.
struct UserSlot {
    per_user: Arc<Mutex<HashMap<String, usize>>>,
    user: String,
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        let mut map = self.per_user.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.user);
            }
        }
    }
}

impl Extractor {
    /// An extractor running `program` (a `pdftotext` command line: `program -enc UTF-8 - -`)
    /// instead of the `pdftotext` on `PATH`, with `timeout` as the request's time.
    pub fn with_program(program: impl Into<OsString>, timeout: Duration) -> Self {
        Self {
            program: program.into(),
            timeout,
            ..Self::default()
        }
    }

    fn user_slot(&self, user: &str) -> Result<UserSlot, ExtractError> {
        let mut map = self.per_user.lock().unwrap_or_else(PoisonError::into_inner);
        let n = map.entry(user.to_owned()).or_insert(0);
        if *n >= MAX_EXTRACTIONS_PER_USER {
            return Err(ExtractError::Busy);
        }
        *n += 1;
        Ok(UserSlot {
            per_user: Arc::clone(&self.per_user),
            user: user.to_owned(),
        })
    }

    /// Extracts the text of `bytes` for `user` in a child process (see the module
    /// documentation for its limits). Returns within [`EXTRACTION_TIMEOUT`] plus the time
    /// to reap the killed child; no child outlives the call, or the call's future when it
    /// is dropped.
    ///
    /// # Errors
    /// [`ExtractError::Empty`] and [`ExtractError::NotPdf`] before anything runs;
    /// [`ExtractError::Busy`] when this user's or the process's slots are taken;
    /// [`ExtractError::ReaderMissing`] without `pdftotext`; otherwise what the reader made
    /// of the file: [`ExtractError::Encrypted`], [`ExtractError::NoText`],
    /// [`ExtractError::TooMuchText`], [`ExtractError::TooComplex`],
    /// [`ExtractError::Unreadable`].
    pub async fn extract(&self, user: &str, bytes: Bytes) -> Result<PdfText, ExtractError> {
        check_pdf_header(&bytes)?;
        let _user_slot = self.user_slot(user)?;
        let _permit: OwnedSemaphorePermit = Arc::clone(&self.permits)
            .try_acquire_owned()
            .map_err(|_| ExtractError::Busy)?;
        let out = self.run(bytes).await?;
        interpret(out)
    }

    /// Starts the child, feeds it `bytes`, reads its output within the limits, and always
    /// waits for it (killing it first when it overran).
    async fn run(&self, bytes: Bytes) -> Result<ChildOutput, ExtractError> {
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--as={CHILD_ADDRESS_SPACE_BYTES}"))
            .arg(format!("--cpu={CHILD_CPU_SECS}"))
            .arg(format!("--stack={CHILD_STACK_BYTES}"))
            .arg("--core=0")
            .arg("--fsize=0")
            .arg("--")
            .arg("nice")
            .arg("-n")
            .arg("10")
            .arg(&self.program)
            .args(["-enc", "UTF-8", "-", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| {
            tracing::error!(error = %e, "the PDF reader cannot be started (is util-linux's prlimit installed?)");
            ExtractError::ReaderMissing
        })?;
        let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill().await;
            return Err(ExtractError::Unreadable("the reader has no pipes".into()));
        };
        // stdin and stderr on their own tasks (both end when the child does); stdout here.
        let feed = tokio::spawn(async move {
            // The child may stop reading early (a damaged file): its status says why.
            let _ = stdin.write_all(&bytes).await;
        });
        let read_err = tokio::spawn(async move {
            let mut kept = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                match stderr.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let room = MAX_STDERR_BYTES.saturating_sub(kept.len());
                        kept.extend_from_slice(&chunk[..n.min(room)]);
                    }
                }
            }
            kept
        });
        let limit = u64::try_from(MAX_RAW_TEXT_BYTES + 1).unwrap_or(u64::MAX);
        let finished = tokio::time::timeout(self.timeout, async {
            let mut text = Vec::new();
            let _ = (&mut stdout).take(limit).read_to_end(&mut text).await;
            if text.len() > MAX_RAW_TEXT_BYTES {
                // Stop at the text limit: the rest is not waited for.
                return (None, text);
            }
            (child.wait().await.ok(), text)
        })
        .await;
        let out = match finished {
            Ok((Some(status), stdout)) => {
                let stderr = read_err.await.unwrap_or_default();
                ChildOutput {
                    status: Some(status),
                    stdout,
                    stderr,
                    over_limit: false,
                }
            }
            Ok((None, stdout)) => {
                let _ = child.kill().await;
                let over_limit = stdout.len() > MAX_RAW_TEXT_BYTES;
                ChildOutput {
                    status: None,
                    stdout: Vec::new(),
                    stderr: read_err.await.unwrap_or_default(),
                    over_limit,
                }
            }
            Err(_) => {
                let _ = child.kill().await;
                feed.abort();
                read_err.abort();
                return Err(ExtractError::TooComplex(format!(
                    "reading took longer than {} s",
                    self.timeout.as_secs()
                )));
            }
        };
        feed.abort();
        Ok(out)
    }
}

/// Turns the child's exit and output into the reply.
fn interpret(out: ChildOutput) -> Result<PdfText, ExtractError> {
    if out.over_limit {
        return Err(ExtractError::TooMuchText);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let Some(status) = out.status else {
        return Err(ExtractError::Unreadable("the reader did not finish".into()));
    };
    if let Some(code) = status.code() {
        // 126/127: `nice` or `prlimit` could not run the program (not installed).
        if code == 126 || code == 127 {
            tracing::error!(%stderr, "pdftotext is not installed (Debian package poppler-utils)");
            return Err(ExtractError::ReaderMissing);
        }
        if stderr.contains("Incorrect password") {
            return Err(ExtractError::Encrypted);
        }
        if code != 0 {
            let reason = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("the reader failed")
                .chars()
                .take(200)
                .collect::<String>();
            // Out of memory under RLIMIT_AS ends in an error exit of the reader.
            if reason.contains("memory") || reason.contains("alloc") {
                return Err(ExtractError::TooComplex("it needs too much memory".into()));
            }
            return Err(ExtractError::Unreadable(reason));
        }
    } else {
        // Killed by a signal: SIGXCPU / SIGKILL at the CPU limit, SIGSEGV on a stack
        // overflow, SIGABRT when an allocation failed under the address-space limit.
        return Err(ExtractError::TooComplex(
            "the reader ran out of time, memory or stack".into(),
        ));
    }
    let raw = String::from_utf8_lossy(&out.stdout);
    // pdftotext ends every page with a form feed.
    let pages = raw.matches('\u{c}').count();
    if pages == 0 {
        return Err(ExtractError::Unreadable("the PDF has no pages".into()));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_collapses_blank_lines_and_trims() {
        assert_eq!(tidy("\n\n  a  \n\n\n\nb\u{0}c\n \n"), "  a\n\nbc");
        assert_eq!(tidy(" \n\t\n"), "");
    }

    #[test]
    fn refuses_what_is_not_a_pdf_before_reading() {
        assert_eq!(check_pdf_header(b""), Err(ExtractError::Empty));
        assert_eq!(check_pdf_header(b"hello"), Err(ExtractError::NotPdf));
        assert_eq!(check_pdf_header(b"%PDF-1.4\n garbage"), Ok(()));
    }

    #[tokio::test]
    async fn garbage_after_the_header_is_unreadable() {
        let r = Extractor::default()
            .extract("u", Bytes::from_static(b"%PDF-1.4\n garbage"))
            .await;
        assert!(matches!(r, Err(ExtractError::Unreadable(_))), "{r:?}");
    }

    #[tokio::test]
    async fn a_missing_reader_is_reader_missing() {
        let r = Extractor::with_program("/nonexistent/pdftotext", EXTRACTION_TIMEOUT)
            .extract("u", Bytes::from_static(b"%PDF-1.4\n"))
            .await;
        assert_eq!(r, Err(ExtractError::ReaderMissing));
        assert_eq!(
            ExtractError::ReaderMissing.status_and_code().0,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn one_extraction_per_user_at_a_time() {
        let x = Extractor::default();
        let a = x.user_slot("a").unwrap();
        assert_eq!(x.user_slot("a").err(), Some(ExtractError::Busy));
        let _b = x.user_slot("b").unwrap();
        drop(a);
        assert!(x.user_slot("a").is_ok());
    }
}
