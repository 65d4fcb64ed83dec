//! The JSON API described as OpenAPI 3.1, served at `GET /api/openapi.json`.
//!
//! Every procedure is `POST /api/<router>.<procedure>` with a JSON body; errors have the
//! shape of [`ErrorBody`]. The paths are those declared on the handlers themselves
//! ([`super::api`], [`super::api::library`], [`super::auth`], [`super::document`]) with
//! their request and reply types from [`crate::api`]. The protobuf worker API
//! (`POST /api/worker`) is not part of it.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub use crate::api::errors::{ErrorBody, ErrorDetail, NoInput};
pub use crate::api::interview::WorkerToken;
use crate::api::records::{
    FeedbackRecord, InterviewRecord, LibraryDocumentRecord, TranscriptEntryRecord, UserRecord,
};

use super::api::{self, library};
use super::{auth, upload};

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
        auth::dev_sign_in, auth::sign_out, auth::sign_in_methods, api::get_profile,
        api::create_session, api::generate_worker_token, api::generate_ws_token,
        api::get_history, api::get_progress, api::get_by_id, api::get_current,
        api::get_feedback, api::get_transcript, api::delete, api::update_status,
        library::job_description_list, library::job_description_create,
        library::job_description_update, library::job_description_delete,
        library::resume_list, library::resume_create, library::resume_update,
        library::resume_delete, upload::extract_text
    ),
    components(schemas(
        ErrorBody, ErrorDetail, NoInput, WorkerToken, UserRecord, InterviewRecord,
        LibraryDocumentRecord, TranscriptEntryRecord, FeedbackRecord
    )),
    modifiers(&Security)
)]
#[derive(Debug)]
pub struct ApiDoc;

/// `GET /api/openapi.json`.
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
