//! The worker tier: the interview WebSocket `/interview/{interviewId}?token=JWT`, served by
//! one driver task per live interview, talking to the model (Gemini Live or the simulator)
//! and persisting through the web tier's worker API.

pub mod backend;
pub mod driver;
pub mod persist;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use preppal_core::codec::MAX_CLIENT_MESSAGE_BYTES;
use preppal_core::proto::GetContextResponse;
use preppal_core::{AnswerAudio, Feedback, TranscriptEntry};
use preppal_gemini::{
    timed_interviewer_instruction, FeedbackClient, LiveConfig, LiveError, ReconnectPolicy,
    ResilientSession,
};
use serde::Deserialize;

use super::limits::Limits;
use super::tokens::TokenKeys;
use backend::{Backend, BackendError};

/// Where the model lives: the Gemini Live endpoint (or anything that speaks its protocol,
/// such as the simulator) and the key to present.
#[derive(Clone)]
pub struct ModelConnector {
    /// `wss://` or `ws://` URL of the Live endpoint.
    pub endpoint: String,
    /// API key sent as `x-goog-api-key`.
    pub api_key: String,
    /// Model name; `None` for the client's default.
    pub model: Option<String>,
}

impl std::fmt::Debug for ModelConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelConnector")
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl ModelConnector {
    /// Connects for one interview: `setup` with the interviewer's system instruction (and
    /// `sessionResumption`; `contextWindowCompression` when the interview may last longer than
    /// 15 minutes), then waits for `setupComplete`. The session it returns moves to a new
    /// connection on `goAway`, retryable closes and stalls, so the interview outlives any
    /// one connection.
    ///
    /// # Errors
    /// [`LiveError`] from the client when the first connection cannot be made.
    pub async fn connect(&self, ctx: &GetContextResponse) -> Result<ResilientSession, LiveError> {
        let length = std::time::Duration::from_millis(ctx.duration_ms);
        let instruction =
            timed_interviewer_instruction(&ctx.persona, &ctx.job_description, &ctx.resume, length);
        let mut config = LiveConfig::new(self.api_key.clone(), instruction)
            .with_endpoint(self.endpoint.clone())
            .with_interview_length(length);
        if let Some(m) = &self.model {
            config = config.with_model(m.clone());
        }
        ResilientSession::connect(config, ReconnectPolicy::default()).await
    }
}

/// Writes feedback in two layers: the metrics measured from the transcript, its timing and
/// audio ([`preppal_core::metrics::compute`]), always; and notes and scores from the
/// `generateContent` client when one is configured (the Gemini API, or the simulator's REST
/// side offline), whose quotes the client checks against the transcript. Without a client,
/// or when the call fails, the deterministic summary, labelled as such.
#[derive(Debug, Clone)]
pub struct Feedbacker(pub Option<Arc<FeedbackClient>>);

impl Feedbacker {
    /// Feedback on `entries` of the interview `ctx`, with `audio` the session's tally of
    /// the spoken answers (empty in text mode).
    pub async fn feedback(
        &self,
        ctx: &GetContextResponse,
        entries: &[TranscriptEntry],
        audio: &[AnswerAudio],
    ) -> Feedback {
        let metrics = preppal_core::metrics::compute(entries, &ctx.job_description, audio);
        if let Some(client) = &self.0 {
            match client
                .generate(&ctx.persona, &ctx.job_description, &ctx.resume, entries)
                .await
            {
                Ok(f) => return f.with_metrics(metrics),
                Err(e) => {
                    tracing::warn!(error = %e, "model feedback failed; using the automatic summary")
                }
            }
        }
        persist::fallback(entries, metrics)
    }
}

/// Shared state of the worker tier.
#[derive(Debug)]
pub struct WorkerTier {
    /// The web tier's worker API.
    pub backend: Backend,
    /// The model endpoint.
    pub models: ModelConnector,
    /// Feedback writer.
    pub feedbacker: Feedbacker,
    /// Token checking.
    pub keys: TokenKeys,
    /// Abuse limits (live interviews per user, audio frame rate).
    pub limits: Arc<Limits>,
    live: Mutex<HashSet<String>>,
}

impl WorkerTier {
    /// A worker tier with no live interviews.
    pub fn new(
        backend: Backend,
        models: ModelConnector,
        feedbacker: Feedbacker,
        keys: TokenKeys,
    ) -> Self {
        Self {
            backend,
            models,
            feedbacker,
            keys,
            limits: Arc::new(Limits::default()),
            live: Mutex::new(HashSet::new()),
        }
    }

    /// The same tier under `limits` (by default [`Limits::default`]).
    pub fn with_limits(mut self, limits: Arc<Limits>) -> Self {
        self.limits = limits;
        self
    }

    /// Whether this process runs a driver for `interview_id`.
    pub fn is_live(&self, interview_id: &str) -> bool {
        self.live
            .lock()
            .map(|s| s.contains(interview_id))
            .unwrap_or(false)
    }

    /// How many interviews are live in this process.
    pub fn live_count(&self) -> usize {
        self.live.lock().map(|s| s.len()).unwrap_or(0)
    }

    fn claim(self: &Arc<Self>, interview_id: &str) -> Option<LiveGuard> {
        let mut set = self.live.lock().ok()?;
        set.insert(interview_id.to_owned()).then(|| LiveGuard {
            tier: Arc::clone(self),
            interview_id: interview_id.to_owned(),
        })
    }
}

/// Removes the interview from the registry when its driver ends.
struct LiveGuard {
    tier: Arc<WorkerTier>,
    interview_id: String,
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        if let Ok(mut set) = self.tier.live.lock() {
            set.remove(&self.interview_id);
        }
    }
}

/// Query of the interview WebSocket.
#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    /// The JWT from `generateWorkerToken` or `generateWsToken`.
    #[serde(default)]
    pub token: String,
}

/// `GET /interview/{interviewId}?token=JWT`: checks the token, then asks the web tier for
/// the interview and refuses before the upgrade when it does not exist or belongs to someone
/// else (404, "not found"), has ended (409), or when the user already holds the most live
/// interviews allowed (429); then upgrades and runs the interview's driver. A refused token
/// gets 401 with no detail; every refusal's reason is logged.
pub async fn interview_socket(
    State(tier): State<Arc<WorkerTier>>,
    Path(interview_id): Path<String>,
    Query(q): Query<TokenQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let claims = match tier.keys.verify_interview(&q.token, &interview_id) {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(interview = %interview_id, reason = %e, "interview token refused");
            return (StatusCode::UNAUTHORIZED, "unauthorized").into_response();
        }
    };
    let ctx = match tier.backend.get_context(&interview_id).await {
        Ok(c) => c,
        Err(BackendError::Refused(e)) if e.code == 404 => {
            tracing::info!(interview = %interview_id, "interview socket refused: no such interview");
            return (StatusCode::NOT_FOUND, "not found").into_response();
        }
        Err(e) => {
            tracing::error!(interview = %interview_id, error = %e, "context unavailable");
            return (StatusCode::SERVICE_UNAVAILABLE, "unavailable; try again").into_response();
        }
    };
    if ctx.user_id != claims.sub {
        tracing::warn!(interview = %interview_id, user = %claims.sub, "interview socket refused: the interview belongs to another user");
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    if preppal_core::InterviewStatus::from_proto_i32(ctx.status).is_ok_and(|s| s.is_terminal()) {
        tracing::info!(interview = %interview_id, status = ctx.status, "interview socket refused: the interview has ended");
        return (StatusCode::CONFLICT, "the interview has ended").into_response();
    }
    let slot = match tier.limits.claim_live(&claims.sub) {
        Ok(s) => s,
        Err(e) => return (StatusCode::TOO_MANY_REQUESTS, e.to_string()).into_response(),
    };
    let Some(guard) = tier.claim(&interview_id) else {
        return (StatusCode::CONFLICT, "the interview is already connected").into_response();
    };
    // The transport admits twice the codec's limit, so a message a little too large gets a
    // typed 413 from the codec and the connection goes on; far larger ones close it.
    ws.max_message_size(2 * MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(2 * MAX_CLIENT_MESSAGE_BYTES)
        .on_upgrade(move |socket| async move {
            driver::run(socket, interview_id, claims.sub, Arc::clone(&guard.tier)).await;
            drop(guard);
            drop(slot);
        })
}

/// The worker tier's routes.
pub fn router(tier: Arc<WorkerTier>) -> Router {
    Router::new()
        .route("/interview/{interview_id}", get(interview_socket))
        .with_state(tier)
}
