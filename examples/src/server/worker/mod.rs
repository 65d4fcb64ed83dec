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
use preppal_core::{Feedback, TranscriptEntry};
use preppal_gemini::{interviewer_instruction, FeedbackClient, LiveConfig, LiveError, LiveSession};
use serde::Deserialize;

use super::tokens::TokenKeys;
use backend::Backend;

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
    /// Connects for one interview: `setup` with the interviewer's system instruction, then
    /// waits for `setupComplete`.
    ///
    /// # Errors
    /// [`LiveError`] from the client.
    pub async fn connect(&self, ctx: &GetContextResponse) -> Result<LiveSession, LiveError> {
        let instruction = interviewer_instruction(&ctx.persona, &ctx.job_description, &ctx.resume);
        let mut config =
            LiveConfig::new(self.api_key.clone(), instruction).with_endpoint(self.endpoint.clone());
        if let Some(m) = &self.model {
            config = config.with_model(m.clone());
        }
        LiveSession::connect(&config).await
    }
}

/// Writes feedback: through the Gemini API when a key is configured, otherwise (or when
/// that call fails) the deterministic summary, labelled as such.
#[derive(Debug, Clone)]
pub struct Feedbacker(pub Option<Arc<FeedbackClient>>);

impl Feedbacker {
    /// Feedback on `entries` of the interview `ctx`.
    pub async fn feedback(
        &self,
        ctx: &GetContextResponse,
        entries: &[TranscriptEntry],
    ) -> Feedback {
        if let Some(client) = &self.0 {
            match client
                .generate(&ctx.persona, &ctx.job_description, &ctx.resume, entries)
                .await
            {
                Ok(f) => return f,
                Err(e) => {
                    tracing::warn!(error = %e, "model feedback failed; using the automatic summary")
                }
            }
        }
        persist::fallback(entries)
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
            live: Mutex::new(HashSet::new()),
        }
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

/// `GET /interview/{interviewId}?token=JWT`: checks the token, then upgrades and runs
/// the interview's driver. A refused token gets 401 with no detail (the reason is logged).
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
    let Some(guard) = tier.claim(&interview_id) else {
        return (StatusCode::CONFLICT, "the interview is already connected").into_response();
    };
    ws.max_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(MAX_CLIENT_MESSAGE_BYTES)
        .on_upgrade(move |socket| async move {
            driver::run(socket, interview_id, claims.sub, Arc::clone(&guard.tier)).await;
            drop(guard);
        })
}

/// The worker tier's routes.
pub fn router(tier: Arc<WorkerTier>) -> Router {
    Router::new()
        .route("/interview/{interview_id}", get(interview_socket))
        .with_state(tier)
}
