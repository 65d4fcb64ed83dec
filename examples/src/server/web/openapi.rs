//! The JSON API described as OpenAPI 3.1, served at `GET /api/openapi.json`.
//!
//! Every procedure is `POST /api/<router>.<procedure>` with a JSON body; errors have the
//! shape of [`ErrorBody`]. The protobuf worker API (`POST /api/worker`) is not part of it.
//! The functions below only carry the description of each route for the generator; the
//! handlers are in [`super::api`] and [`super::auth`].

#![allow(dead_code)]

use axum::Json;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::api::{
    CreateSession, DocumentId, DocumentInput, HistoryInput, InterviewId, ProgressInput,
    UpdateStatus,
};
use super::auth::DevSignIn;

/// The error shape of the JSON API: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code and message of an [`ErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
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

/// An empty JSON object, for procedures that take no input.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoInput {}

/// Declares one procedure: its path, input schema and summary; every procedure may answer
/// 200 (a JSON value), 400, 401, 403 (cross-site, plain text), 404, 409, 413 and 429.
macro_rules! procedure {
    ($name:ident, $path:literal, $input:ty, $summary:literal) => {
        #[utoipa::path(
            post,
            path = $path,
            summary = $summary,
            request_body(content = $input, content_type = "application/json"),
            responses(
                (status = 200, description = "Success", body = serde_json::Value),
                (status = 400, description = "Malformed input or a broken rule", body = ErrorBody),
                (status = 401, description = "Sign in first", body = ErrorBody),
                (status = 403, description = "Cross-site request refused", body = String, content_type = "text/plain"),
                (status = 404, description = "Not found (or another user's)", body = ErrorBody),
                (status = 409, description = "Conflicts with the current state", body = ErrorBody),
                (status = 413, description = "Request body too large", body = ErrorBody),
                (status = 429, description = "Too many requests", body = ErrorBody),
            ),
            security(("session" = []))
        )]
        fn $name() {}
    };
}

/// The reply of `interview.generateWorkerToken` and `interview.generateWsToken`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerToken {
    /// The JWT for the interview WebSocket.
    pub token: String,
    /// When the token expires, in seconds since the Unix epoch.
    pub expires_at: u64,
    /// The interview WebSocket to connect to, token included
    /// (`{ws base of worker_url}/interview/{interview_id}?token=...`).
    pub ws_url: String,
    /// Base URL (`http://` or `https://`) of the worker chosen for the interview: the one
    /// holding its lease while that lease is live and the worker healthy, else a live worker.
    /// With one process (`preppal serve`), the server itself.
    pub worker_url: String,
}

/// Declares a token procedure: its 200 reply is a [`WorkerToken`]; it answers 503 when no
/// worker is available.
macro_rules! token_procedure {
    ($name:ident, $path:literal, $summary:literal) => {
        #[utoipa::path(
            post,
            path = $path,
            summary = $summary,
            request_body(content = InterviewId, content_type = "application/json"),
            responses(
                (status = 200, description = "Success", body = WorkerToken),
                (status = 400, description = "Malformed input or a broken rule", body = ErrorBody),
                (status = 401, description = "Sign in first", body = ErrorBody),
                (status = 403, description = "Cross-site request refused", body = String, content_type = "text/plain"),
                (status = 404, description = "Not found (or another user's)", body = ErrorBody),
                (status = 409, description = "The interview has ended", body = ErrorBody),
                (status = 429, description = "Too many requests", body = ErrorBody),
                (status = 503, description = "No worker answers its health check", body = ErrorBody),
            ),
            security(("session" = []))
        )]
        fn $name() {}
    };
}

procedure!(
    get_profile,
    "/api/user.getProfile",
    NoInput,
    "The signed-in user"
);
procedure!(
    create_session,
    "/api/interview.createSession",
    CreateSession,
    "Create a PENDING interview (idempotent by key)"
);
token_procedure!(
    generate_worker_token,
    "/api/interview.generateWorkerToken",
    "A 5-minute token for the interview WebSocket, and the worker to connect to"
);
token_procedure!(
    generate_ws_token,
    "/api/interview.generateWsToken",
    "A 1-hour token for the interview WebSocket, and the worker to connect to"
);
procedure!(
    get_progress,
    "/api/interview.getProgress",
    ProgressInput,
    "Delivery metrics and scores across the user's completed interviews, with their trend; groups by job and mode; competencies: each plan competency's scores (1-4, null where not scored), latest score and trend (improving, declining, steady, unknown) per job, mode and round type"
);
procedure!(
    get_history,
    "/api/interview.getHistory",
    HistoryInput,
    "The user's interviews, newest first"
);
procedure!(
    get_by_id,
    "/api/interview.getById",
    InterviewId,
    "One interview"
);
procedure!(
    get_current,
    "/api/interview.getCurrent",
    NoInput,
    "The newest PENDING or IN_PROGRESS interview, or null"
);
procedure!(
    get_feedback,
    "/api/interview.getFeedback",
    InterviewId,
    "An interview's feedback (or null), its plan, competency_scores, star_checks and plan_coverage"
);
procedure!(
    get_transcript,
    "/api/interview.getTranscript",
    InterviewId,
    "An interview's transcript entries"
);
procedure!(
    delete,
    "/api/interview.delete",
    InterviewId,
    "Delete an interview"
);
procedure!(
    update_status,
    "/api/interview.updateStatus",
    UpdateStatus,
    "Abandon an interview (status ERROR)"
);
procedure!(
    jd_list,
    "/api/jobDescription.list",
    NoInput,
    "The user's job descriptions"
);
procedure!(
    jd_create,
    "/api/jobDescription.create",
    DocumentInput,
    "Save a job description"
);
procedure!(
    jd_update,
    "/api/jobDescription.update",
    DocumentInput,
    "Update a job description"
);
procedure!(
    jd_delete,
    "/api/jobDescription.delete",
    DocumentId,
    "Delete a job description"
);
procedure!(
    resume_list,
    "/api/resume.list",
    NoInput,
    "The user's resumes"
);
procedure!(
    resume_create,
    "/api/resume.create",
    DocumentInput,
    "Save a resume"
);
procedure!(
    resume_update,
    "/api/resume.update",
    DocumentInput,
    "Update a resume"
);
procedure!(
    resume_delete,
    "/api/resume.delete",
    DocumentId,
    "Delete a resume"
);
procedure!(
    sign_out,
    "/api/auth/signout",
    NoInput,
    "End every session of the signed-in user (older tokens get 401) and clear the session cookie"
);

#[utoipa::path(
    post,
    path = "/api/auth/dev",
    summary = "Sign in with dev credentials (when enabled)",
    request_body(content = DevSignIn, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in; sets the session cookie", body = serde_json::Value),
        (status = 400, description = "Malformed input", body = ErrorBody),
        (status = 403, description = "Cross-site request refused, or a request through a proxy (DEV_SIGN_IN_REFUSED)", body = ErrorBody),
        (status = 404, description = "Dev sign-in is off", body = ErrorBody),
        (status = 409, description = "The email belongs to an account that signs in with Google (ACCOUNT_EXISTS)", body = ErrorBody),
    )
)]
fn dev_sign_in() {}

#[utoipa::path(
    post,
    path = "/api/auth/methods",
    summary = "The sign-in methods on offer, and whether the request is signed in: {\"dev\": bool, \"google\": bool, \"signed_in\": bool}",
    request_body(content = NoInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The methods", body = serde_json::Value),
        (status = 403, description = "Cross-site request refused", body = String, content_type = "text/plain"),
    )
)]
fn sign_in_methods() {}

/// A file's bytes, the whole request body (`application/pdf` or `application/octet-stream`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBody(Vec<u8>);

#[utoipa::path(
    post,
    path = "/api/document.extractText",
    summary = "The text of a PDF (the body is the file, at most 4 MiB): {\"text\", \"pages\"}",
    request_body(content(
        (FileBody = "application/pdf"),
        (FileBody = "application/octet-stream"),
    )),
    responses(
        (status = 200, description = "The text and the page count", body = serde_json::Value),
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
fn extract_text() {}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The session token of /api/auth/dev (or the preppal_session cookie)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document of the JSON API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Preppal JSON API", description = "Live mock interviews: sign-in, interviews, transcripts, feedback and the document library."),
    paths(
        dev_sign_in, sign_out, sign_in_methods, get_profile, create_session, generate_worker_token,
        generate_ws_token, get_history, get_progress, get_by_id, get_current, get_feedback, get_transcript,
        delete, update_status, jd_list, jd_create, jd_update, jd_delete, resume_list,
        resume_create, resume_update, resume_delete, extract_text
    ),
    components(schemas(ErrorBody, ErrorDetail, NoInput, WorkerToken)),
    modifiers(&Security)
)]
#[derive(Debug)]
pub struct ApiDoc;

/// `GET /api/openapi.json`.
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
