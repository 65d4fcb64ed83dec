//! The web tier's protobuf worker API: `POST /api/worker` with
//! `Authorization: Bearer <PREPPAL_WORKER_SECRET>` and a `WorkerApiRequest` body.
//!
//! The worker tier never opens the database: everything it persists goes through here.
//! Every request is idempotent, so a worker may retry any of them.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use preppal_core::codec;
use preppal_core::proto::{
    self, worker_api_request::Request, worker_api_response::Response as Reply,
};
use preppal_core::{Feedback, InterviewStatus, TranscriptEntry};
use preppal_store::{move_status, EndRecord, ErrorKind, InterviewStore, StoreError};

use super::auth::bearer;
use super::state::AppState;
use crate::server::common::secrets;
pub use crate::server::worker::web_client::WorkerApiError;

impl WorkerApiError {
    fn new(code: u16, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    fn lease(e: preppal_store::StoreError) -> Self {
        if matches!(e, preppal_store::StoreError::LeaseHeld) {
            Self::new(409, "another worker holds the interview's lease")
        } else {
            Self::store(e)
        }
    }

    fn store(e: preppal_store::StoreError) -> Self {
        match e.kind() {
            ErrorKind::NotFound => Self::new(404, "interview not found"),
            ErrorKind::Conflict => Self::new(409, "conflicts with the interview's current state"),
            ErrorKind::Unavailable => Self::new(503, "store unavailable"),
            // Retrying cannot help (a NUL character, an out-of-range number): a 4xx, which
            // the worker never retries, not a 500, which it retries for a minute.
            ErrorKind::InvalidInput => {
                tracing::warn!(error = %e, "worker API input the store cannot keep");
                Self::new(400, "input the store cannot keep")
            }
            _ => {
                tracing::error!(error = %e, "store error in worker API");
                Self::new(500, "internal error")
            }
        }
    }
}

/// Runs one decoded worker API request against the store.
///
/// # Errors
/// [`WorkerApiError`] with 404 for an unknown interview, 409 for a backward status move or
/// a lost race, 400 for undecodable values, 503 when the store is unreachable.
pub async fn handle(store: &dyn InterviewStore, req: Request) -> Result<Reply, WorkerApiError> {
    match req {
        Request::GetContext(r) => {
            let i = store
                .get_interview_unscoped(&r.interview_id)
                .await
                .map_err(WorkerApiError::store)?;
            let transcript = store
                .get_transcript(&r.interview_id)
                .await
                .map_err(WorkerApiError::store)?;
            let handle = store
                .get_resumption_handle(&r.interview_id)
                .await
                .map_err(WorkerApiError::store)?;
            Ok(Reply::GetContext(proto::GetContextResponse {
                interview_id: i.id,
                user_id: i.user_id,
                job_description: i.job_description_snapshot,
                resume: i.resume_snapshot,
                persona: i.persona,
                duration_ms: i.duration_ms,
                status: proto::InterviewStatus::from(i.status) as i32,
                transcript: transcript
                    .iter()
                    .map(proto::TranscriptEntry::from)
                    .collect(),
                started_at_ms: i
                    .started_at_ms
                    .and_then(|t| u64::try_from(t).ok())
                    .unwrap_or(0),
                resumption_handle: handle.unwrap_or_default(),
                plan_json: i
                    .plan
                    .as_ref()
                    .and_then(|p| serde_json::to_string(p).ok())
                    .unwrap_or_default(),
            }))
        }
        Request::UpdateStatus(r) => {
            let to = InterviewStatus::from_proto_i32(r.status)
                .map_err(|e| WorkerApiError::new(400, e.to_string()))?;
            let end = EndRecord {
                ended_reason: r.ended_reason,
                error_message: r.error_message,
                error_kind: r.error_kind,
            };
            // The one mapping the embedding API uses too (`preppal_store::persist`).
            let to = move_status(store, &r.interview_id, to, &end)
                .await
                .map_err(|e| match e {
                    StoreError::IllegalTransition(e) => WorkerApiError::new(409, e.to_string()),
                    e => WorkerApiError::store(e),
                })?;
            Ok(Reply::UpdateStatus(proto::UpdateStatusResponse {
                status: proto::InterviewStatus::from(to) as i32,
            }))
        }
        Request::SubmitTranscript(r) => {
            let entries = r
                .entries
                .into_iter()
                .map(TranscriptEntry::try_from)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| WorkerApiError::new(400, e.to_string()))?;
            let stored = store
                .append_transcript(&r.interview_id, &entries)
                .await
                .map_err(WorkerApiError::store)?;
            Ok(Reply::SubmitTranscript(proto::SubmitTranscriptResponse {
                stored,
            }))
        }
        Request::SubmitFeedback(r) => {
            let f = r
                .feedback
                .ok_or_else(|| WorkerApiError::new(400, "feedback is missing"))?;
            store
                .put_feedback(&r.interview_id, &Feedback::from(f))
                .await
                .map_err(WorkerApiError::store)?;
            Ok(Reply::SubmitFeedback(proto::SubmitFeedbackResponse {}))
        }
        Request::ClaimLease(r) => {
            let lease = store
                .claim_lease(&r.interview_id, &r.worker_id, r.ttl_ms, now_ms())
                .await
                .map_err(WorkerApiError::lease)?;
            Ok(lease_reply(&lease))
        }
        Request::RenewLease(r) => {
            let lease = store
                .renew_lease(&r.interview_id, &r.worker_id, r.ttl_ms, now_ms())
                .await
                .map_err(WorkerApiError::lease)?;
            Ok(lease_reply(&lease))
        }
        Request::ReleaseLease(r) => {
            store
                .release_lease(&r.interview_id, &r.worker_id)
                .await
                .map_err(WorkerApiError::lease)?;
            Ok(Reply::Lease(proto::LeaseResponse {
                interview_id: r.interview_id,
                worker_id: r.worker_id,
                expires_at_ms: 0,
            }))
        }
        Request::SaveResumptionHandle(r) => {
            let handle = (!r.handle.is_empty()).then_some(r.handle.as_str());
            store
                .set_resumption_handle(&r.interview_id, handle)
                .await
                .map_err(WorkerApiError::store)?;
            Ok(Reply::SaveResumptionHandle(
                proto::SaveResumptionHandleResponse {},
            ))
        }
    }
}

/// Now, in ms since the Unix epoch: the one clock every lease is kept on.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn lease_reply(lease: &preppal_store::Lease) -> Reply {
    Reply::Lease(proto::LeaseResponse {
        interview_id: lease.interview_id.clone(),
        worker_id: lease.worker_id.clone(),
        expires_at_ms: u64::try_from(lease.expires_at_ms).unwrap_or(0),
    })
}

fn reply(status: StatusCode, body: Reply) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/x-protobuf")],
        codec::encode_worker_response(body),
    )
        .into_response()
}

fn error_reply(e: WorkerApiError) -> Response {
    let status = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    reply(
        status,
        Reply::Error(proto::ErrorResponse {
            code: i32::from(e.code),
            message: e.message,
            kind: 0,
        }),
    )
}

/// `POST /api/worker`. The shared secret is checked before the body is read: a request
/// without it is refused having read nothing but its head, and only then is the body read,
/// up to [`codec::MAX_WORKER_MESSAGE_BYTES`] (413 beyond).
pub async fn post_worker(
    State(state): State<Arc<AppState>>,
    req: axum::extract::Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let authorized = bearer(&parts.headers)
        .is_some_and(|t| secrets::matches(&state.worker_secret, t.as_bytes()));
    if !authorized {
        tracing::info!("worker API request refused: bad or missing shared secret");
        return error_reply(WorkerApiError::new(401, "unauthorized"));
    }
    let body: Bytes = match axum::body::to_bytes(body, codec::MAX_WORKER_MESSAGE_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return error_reply(WorkerApiError::new(
                413,
                format!(
                    "the body is larger than {} bytes or was cut short",
                    codec::MAX_WORKER_MESSAGE_BYTES
                ),
            ))
        }
    };
    let req = match codec::decode_worker_request(body) {
        Ok(r) => r,
        Err(e @ codec::DecodeError::TooLarge { .. }) => {
            return error_reply(WorkerApiError::new(413, e.to_string()))
        }
        Err(e) => return error_reply(WorkerApiError::new(400, e.to_string())),
    };
    match handle(state.store.as_ref(), req).await {
        Ok(r) => {
            if let Some(pool) = &state.workers {
                pool.observe(&r);
            }
            reply(StatusCode::OK, r)
        }
        Err(e) => error_reply(e),
    }
}
