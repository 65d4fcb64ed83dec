//! The web tier's routes ([`app`]): pages, the JSON API, uploads, the worker API, sign-in
//! with Google, health, metrics and the OpenAPI document.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::middleware;
use axum::routing::{get, post};
use axum::{Json, Router};
use preppal_core::codec::MAX_WORKER_MESSAGE_BYTES;

use super::api::{self, library};
use super::auth;
use super::input::MAX_JSON_BODY_BYTES;
use super::origin::same_origin;
use super::state::AppState;
use super::{document, google_sign_in, openapi, pages, upload, worker_api};
use crate::server::common::metrics;

async fn healthz(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "ok": true, "live_interviews": state.worker.live_count() }))
}

/// The web tier's routes: pages, JSON API and worker API.
pub fn app(state: Arc<AppState>) -> Router {
    let json_api = Router::new()
        .route("/api/auth/dev", post(auth::dev_sign_in))
        .route("/api/auth/signout", post(auth::sign_out))
        .route("/api/auth/methods", post(auth::sign_in_methods))
        .route("/api/user.getProfile", post(api::get_profile))
        .route("/api/interview.createSession", post(api::create_session))
        .route(
            "/api/interview.generateWorkerToken",
            post(api::generate_worker_token),
        )
        .route(
            "/api/interview.generateWsToken",
            post(api::generate_ws_token),
        )
        .route("/api/interview.getHistory", post(api::get_history))
        .route("/api/interview.getById", post(api::get_by_id))
        .route("/api/interview.getCurrent", post(api::get_current))
        .route("/api/interview.getProgress", post(api::get_progress))
        .route("/api/interview.getFeedback", post(api::get_feedback))
        .route("/api/interview.getTranscript", post(api::get_transcript))
        .route("/api/interview.delete", post(api::delete))
        .route("/api/interview.updateStatus", post(api::update_status));
    let json_api = json_api
        .route(
            "/api/jobDescription.list",
            post(library::job_description_list),
        )
        .route(
            "/api/jobDescription.create",
            post(library::job_description_create),
        )
        .route(
            "/api/jobDescription.update",
            post(library::job_description_update),
        )
        .route(
            "/api/jobDescription.delete",
            post(library::job_description_delete),
        )
        .route("/api/resume.list", post(library::resume_list))
        .route("/api/resume.create", post(library::resume_create))
        .route("/api/resume.update", post(library::resume_update))
        .route("/api/resume.delete", post(library::resume_delete))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY_BYTES))
        .layer(middleware::from_fn(same_origin));
    // Uploads: the file itself is the body, so the limit is the file's.
    let uploads = Router::new()
        .route("/api/document.extractText", post(upload::extract_text))
        .layer(DefaultBodyLimit::max(document::MAX_PDF_BYTES))
        .layer(middleware::from_fn(same_origin));
    let worker_api = Router::new()
        .route("/api/worker", post(worker_api::post_worker))
        .layer(DefaultBodyLimit::max(MAX_WORKER_MESSAGE_BYTES));
    Router::new()
        .merge(json_api)
        .merge(uploads)
        .merge(worker_api)
        .merge(pages::router())
        .route("/api/auth/google/start", get(google_sign_in::google_start))
        .route(
            "/api/auth/google/callback",
            get(google_sign_in::google_callback),
        )
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::metrics_handler))
        .route("/api/openapi.json", get(openapi::openapi_json))
        .with_state(state)
}
