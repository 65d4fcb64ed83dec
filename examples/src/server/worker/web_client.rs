//! How the worker tier reaches the web tier: the protobuf worker API, over HTTP between
//! processes ([`HttpWebTier`]) or in-process when both tiers share one (`preppal serve`,
//! [`crate::server::web::in_process::InProcessWebTier`]).
//!
//! Calls are retried with capped exponential backoff when the failure is transient
//! (network, 5xx) for up to about a minute ([`RETRY_WINDOW`]), long enough for the web
//! tier or its database to restart; every request is idempotent, so a retry never
//! duplicates anything.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use backon::{ExponentialBuilder, Retryable};
use preppal_core::codec;
use preppal_core::proto::{
    self, worker_api_request::Request, worker_api_response::Response as Reply,
};
use preppal_core::{Feedback, InterviewStatus, TranscriptEntry};

use crate::server::common::secrets::Secret;

/// How long a call keeps retrying transient failures, at most (plus the last attempt's
/// own HTTP timeout): about a minute, so a web-tier or PostgreSQL restart mid-interview
/// loses nothing.
pub const RETRY_WINDOW: Duration = Duration::from_secs(60);

/// A worker API failure: an HTTP status and a message (no database details).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerApiError {
    /// HTTP status semantics: 400, 401, 404, 409, 413, 500, 503.
    pub code: u16,
    /// What went wrong.
    pub message: String,
}

/// Why a worker API call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebTierError {
    /// The web tier answered with an error.
    #[error("web tier refused the call ({}): {}", .0.code, .0.message)]
    Refused(WorkerApiError),
    /// The web tier could not be reached.
    #[error("web tier unreachable: {0}")]
    Unreachable(String),
    /// The reply could not be decoded or was of the wrong kind.
    #[error("unexpected reply from the web tier: {0}")]
    BadReply(String),
}

impl WebTierError {
    /// Whether retrying may help: network failures and 5xx replies.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable(_) => true,
            Self::Refused(e) => e.code >= 500,
            Self::BadReply(_) => false,
        }
    }
}

/// One worker API round trip.
#[async_trait]
pub trait WebTierTransport: Send + Sync + fmt::Debug + 'static {
    /// Sends `req` and returns the reply.
    ///
    /// # Errors
    /// [`WebTierError`] by cause.
    async fn call(&self, req: Request) -> Result<Reply, WebTierError>;
}

/// The web tier at `{web_url}/api/worker`, with the shared secret as a bearer token.
#[derive(Debug, Clone)]
pub struct HttpWebTier {
    client: reqwest::Client,
    endpoint: String,
    secret: Secret,
}

impl HttpWebTier {
    /// A client of the web tier at `web_url` (for example `http://127.0.0.1:3000`).
    pub fn new(web_url: &str, secret: Secret) -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .unwrap_or_default(),
            endpoint: format!("{}/api/worker", web_url.trim_end_matches('/')),
            secret,
        }
    }
}

#[async_trait]
impl WebTierTransport for HttpWebTier {
    async fn call(&self, req: Request) -> Result<Reply, WebTierError> {
        let body = codec::encode_worker_request(req);
        let resp = self
            .client
            .post(&self.endpoint)
            .bearer_auth(String::from_utf8_lossy(self.secret.expose()))
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .await
            .map_err(|e| WebTierError::Unreachable(e.to_string()))?;
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| WebTierError::Unreachable(e.to_string()))?;
        match codec::decode_worker_response(bytes) {
            Ok(Reply::Error(e)) => Err(WebTierError::Refused(WorkerApiError {
                code: u16::try_from(e.code).unwrap_or(500),
                message: e.message,
            })),
            Ok(r) => Ok(r),
            Err(e) => Err(WebTierError::BadReply(e.to_string())),
        }
    }
}

/// Typed, retried calls on top of a [`WebTierTransport`].
#[derive(Debug, Clone)]
pub struct WebTierClient(pub Arc<dyn WebTierTransport>);

impl WebTierClient {
    async fn call(&self, req: Request) -> Result<Reply, WebTierError> {
        // 0.1 s doubling to 5 s, then every 5 s: about 60 s in all.
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(5))
            .without_max_times()
            .with_total_delay(Some(RETRY_WINDOW))
            .with_jitter();
        (|| {
            let req = req.clone();
            async move { self.0.call(req).await }
        })
        .retry(backoff)
        .when(WebTierError::is_transient)
        .notify(|e, after| tracing::warn!(error = %e, ?after, "worker API call failed; retrying"))
        .await
    }

    /// `getContext`.
    ///
    /// # Errors
    /// [`WebTierError`] after retries.
    pub async fn get_context(
        &self,
        interview_id: &str,
    ) -> Result<proto::GetContextResponse, WebTierError> {
        match self
            .call(Request::GetContext(proto::GetContextRequest {
                interview_id: interview_id.to_owned(),
            }))
            .await?
        {
            Reply::GetContext(c) => Ok(c),
            other => Err(WebTierError::BadReply(format!("{other:?}"))),
        }
    }

    /// `updateStatus`; `error_kind` is why the model failed (`ModelErrorKind::as_str`), or
    /// empty.
    ///
    /// # Errors
    /// [`WebTierError`] after retries.
    pub async fn update_status(
        &self,
        interview_id: &str,
        status: InterviewStatus,
        ended_reason: &str,
        error_message: &str,
        error_kind: &str,
    ) -> Result<(), WebTierError> {
        self.call(Request::UpdateStatus(proto::UpdateStatusRequest {
            interview_id: interview_id.to_owned(),
            status: proto::InterviewStatus::from(status) as i32,
            ended_reason: ended_reason.to_owned(),
            error_message: error_message.to_owned(),
            error_kind: error_kind.to_owned(),
        }))
        .await
        .map(drop)
    }

    /// `submitTranscript`; returns how many entries were newly stored.
    ///
    /// # Errors
    /// [`WebTierError`] after retries.
    pub async fn submit_transcript(
        &self,
        interview_id: &str,
        entries: &[TranscriptEntry],
    ) -> Result<u32, WebTierError> {
        match self
            .call(Request::SubmitTranscript(proto::SubmitTranscriptRequest {
                interview_id: interview_id.to_owned(),
                entries: entries.iter().map(Into::into).collect(),
            }))
            .await?
        {
            Reply::SubmitTranscript(r) => Ok(r.stored),
            other => Err(WebTierError::BadReply(format!("{other:?}"))),
        }
    }

    /// `submitFeedback`.
    ///
    /// # Errors
    /// [`WebTierError`] after retries.
    pub async fn submit_feedback(
        &self,
        interview_id: &str,
        feedback: &Feedback,
    ) -> Result<(), WebTierError> {
        self.call(Request::SubmitFeedback(proto::SubmitFeedbackRequest {
            interview_id: interview_id.to_owned(),
            feedback: Some(feedback.into()),
        }))
        .await
        .map(drop)
    }

    /// `claimLease`: takes interview `interview_id`'s lease for `worker_id` for `ttl_ms`;
    /// returns when it lapses (Unix ms, the web tier's clock).
    ///
    /// # Errors
    /// [`WebTierError::Refused`] with 409 when another worker holds a live lease (not
    /// retried here: the caller decides how long to wait); other [`WebTierError`]s after
    /// retries.
    pub async fn claim_lease(
        &self,
        interview_id: &str,
        worker_id: &str,
        ttl_ms: u64,
    ) -> Result<u64, WebTierError> {
        self.lease(Request::ClaimLease(lease_request(
            interview_id,
            worker_id,
            ttl_ms,
        )))
        .await
    }

    /// `renewLease`: extends `worker_id`'s lease; returns when it now lapses (Unix ms).
    ///
    /// # Errors
    /// [`WebTierError::Refused`] with 409 when `worker_id` no longer holds the lease;
    /// other [`WebTierError`]s after retries.
    pub async fn renew_lease(
        &self,
        interview_id: &str,
        worker_id: &str,
        ttl_ms: u64,
    ) -> Result<u64, WebTierError> {
        self.lease(Request::RenewLease(lease_request(
            interview_id,
            worker_id,
            ttl_ms,
        )))
        .await
    }

    /// `releaseLease`: gives up `worker_id`'s lease (a no-op when there is none).
    ///
    /// # Errors
    /// [`WebTierError::Refused`] with 409 when another worker holds it; other
    /// [`WebTierError`]s after retries.
    pub async fn release_lease(
        &self,
        interview_id: &str,
        worker_id: &str,
    ) -> Result<(), WebTierError> {
        self.lease(Request::ReleaseLease(lease_request(
            interview_id,
            worker_id,
            0,
        )))
        .await
        .map(drop)
    }

    async fn lease(&self, req: Request) -> Result<u64, WebTierError> {
        match self.call(req).await? {
            Reply::Lease(l) => Ok(l.expires_at_ms),
            other => Err(WebTierError::BadReply(format!("{other:?}"))),
        }
    }

    /// `saveResumptionHandle`: keeps `handle` (the latest resumable Gemini Live session
    /// handle) for a worker that takes the interview over; `""` clears it.
    ///
    /// # Errors
    /// [`WebTierError`] after retries.
    pub async fn save_resumption_handle(
        &self,
        interview_id: &str,
        handle: &str,
    ) -> Result<(), WebTierError> {
        match self
            .call(Request::SaveResumptionHandle(
                proto::SaveResumptionHandleRequest {
                    interview_id: interview_id.to_owned(),
                    handle: handle.to_owned(),
                },
            ))
            .await?
        {
            Reply::SaveResumptionHandle(_) => Ok(()),
            other => Err(WebTierError::BadReply(format!("{other:?}"))),
        }
    }
}

fn lease_request(interview_id: &str, worker_id: &str, ttl_ms: u64) -> proto::LeaseRequest {
    proto::LeaseRequest {
        interview_id: interview_id.to_owned(),
        worker_id: worker_id.to_owned(),
        ttl_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_network_failures_and_5xx_are_transient() {
        let refused = |code| {
            WebTierError::Refused(WorkerApiError {
                code,
                message: String::new(),
            })
        };
        for code in [400, 401, 404, 409, 413, 429] {
            assert!(!refused(code).is_transient(), "{code}");
        }
        for code in [500, 502, 503] {
            assert!(refused(code).is_transient(), "{code}");
        }
        assert!(WebTierError::Unreachable("reset".into()).is_transient());
    }
}
