//! The worker tier: the interview WebSocket `/interview/{interviewId}?token=JWT`, served by
//! one driver task per live interview, talking to the model (Gemini Live or the simulator)
//! and persisting through the web tier's worker API.
//!
//! # Reconnects and shutdown
//!
//! A driver outlives its candidate's connection: when the socket drops (closed, failed,
//! or silent past [`driver::CLIENT_SILENCE_LIMIT`] while pinged), the interview and the
//! model session go on for the reconnect grace period ([`WorkerTier::with_reconnect_grace`]).
//! The handoff registry maps each live interview to its driver; a connection for an
//! interview whose driver has no client is handed to that driver, which sends it the
//! transcript so far (`SessionResumed`). A second connection while the first is alive gets
//! 409: a half-dead first connection (a vanished peer) counts as alive until the driver's
//! pings go unanswered for [`driver::CLIENT_SILENCE_LIMIT`], after which the client's retry
//! is accepted. On [`WorkerTier::drain`] (SIGTERM, ctrl-c) every driver finishes its
//! interview with what was kept and closes the candidate's socket with 1012.

pub mod driver;
pub mod hooks;
pub mod lease;
pub mod log_throttle;
pub mod model;
pub mod persist;
pub mod socket;
pub mod web_client;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use preppal_core::codec::MAX_CLIENT_MESSAGE_BYTES;
use preppal_gemini::driver::{rejoin_channel, Rejoin, Rejoins};
use serde::Deserialize;
use tokio::sync::watch;

use super::common::limits::Limits;
use super::common::tokens::TokenKeys;
use lease::LeaseConfig;
pub use model::{Feedbacker, InterviewModel, ModelConnector};
use socket::WsClient;
use web_client::{WebTierClient, WebTierError};

/// Shared state of the worker tier.
#[derive(Debug)]
pub struct WorkerTier {
    /// The web tier's worker API.
    pub web_tier: WebTierClient,
    /// The model endpoint.
    pub models: ModelConnector,
    /// Feedback writer.
    pub feedbacker: Feedbacker,
    /// Token checking.
    pub keys: TokenKeys,
    /// Abuse limits (live interviews per user, audio frame rate).
    pub limits: Arc<Limits>,
    /// This worker's id and lease lifetime when interviews are leased (`preppal worker`);
    /// `None` in `preppal serve`, where one process owns every interview.
    pub lease: Option<LeaseConfig>,
    /// How long a driver keeps an interview after its candidate's socket dropped.
    pub reconnect_grace: Duration,
    live: Mutex<HashMap<String, Handoff>>,
    shutdown: watch::Sender<bool>,
}

/// The registry's entry for one live interview: how to reach its driver.
#[derive(Debug, Clone)]
struct Handoff {
    /// Sockets for the driver to attach.
    attach: Rejoin<WsClient>,
    /// Whether the driver has a client attached now.
    connected: Arc<AtomicBool>,
}

/// What a driver gets from the registry when it is started: the sockets handed to it
/// and the flag it keeps up to date.
#[derive(Debug)]
pub struct DriverLink {
    /// Reconnecting clients' sockets, handed over by [`interview_socket`].
    pub rejoins: Rejoins<WsClient>,
    /// Set while a client is attached; [`interview_socket`] refuses a second client then.
    pub connected: Arc<AtomicBool>,
    /// Changes to `true` when the server drains.
    pub shutdown: watch::Receiver<bool>,
}

impl WorkerTier {
    /// A worker tier with no live interviews.
    pub fn new(
        web_tier: WebTierClient,
        models: ModelConnector,
        feedbacker: Feedbacker,
        keys: TokenKeys,
    ) -> Self {
        Self {
            web_tier,
            models,
            feedbacker,
            keys,
            limits: Arc::new(Limits::default()),
            lease: None,
            reconnect_grace: DEFAULT_RECONNECT_GRACE,
            live: Mutex::new(HashMap::new()),
            shutdown: watch::channel(false).0,
        }
    }

    /// The same tier keeping interviews `grace` after their candidate's socket dropped
    /// (by default [`DEFAULT_RECONNECT_GRACE`]; zero ends them at once).
    pub fn with_reconnect_grace(mut self, grace: Duration) -> Self {
        self.reconnect_grace = grace;
        self
    }

    /// Whether the tier is draining: no new interview is accepted.
    pub fn is_draining(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Drains the tier: refuses new interviews and reconnects, asks every driver to finish
    /// its interview with what was kept (COMPLETED with feedback when anything was said),
    /// and waits until every driver has ended or `timeout` has passed. Returns how many
    /// interviews were still live at the timeout (0 when all finished).
    pub async fn drain(&self, timeout: Duration) -> usize {
        self.shutdown.send_replace(true);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let live = self.live_count();
            if live == 0 || tokio::time::Instant::now() >= deadline {
                return live;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The same tier under `limits` (by default [`Limits::default`]).
    pub fn with_limits(mut self, limits: Arc<Limits>) -> Self {
        self.limits = limits;
        self
    }

    /// The same tier holding a lease on each interview it runs, under `config`.
    pub fn with_lease(mut self, config: LeaseConfig) -> Self {
        self.lease = Some(config);
        self
    }

    /// Whether this process runs a driver for `interview_id`.
    pub fn is_live(&self, interview_id: &str) -> bool {
        self.live
            .lock()
            .map(|s| s.contains_key(interview_id))
            .unwrap_or(false)
    }

    fn handoff(&self, interview_id: &str) -> Option<Handoff> {
        self.live.lock().ok()?.get(interview_id).cloned()
    }

    /// How many interviews are live in this process.
    pub fn live_count(&self) -> usize {
        self.live.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// Picks up the interview `interview_id`, left IN_PROGRESS with no live driver (as after
    /// a crash or a drain timeout), with no client connected: its driver waits the
    /// reconnect grace period for the candidate (who then continues where the stored
    /// transcript stops, the model seeded from it), then finishes it COMPLETED with what
    /// was stored and feedback on it. Returns whether a driver was started: not when one
    /// already runs, the interview is not IN_PROGRESS, or it cannot be loaded (logged).
    pub async fn adopt(self: &Arc<Self>, interview_id: &str) -> bool {
        if self.is_live(interview_id) {
            return false;
        }
        let ctx = match self.web_tier.get_context(interview_id).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(interview = %interview_id, error = %e, "interview to recover could not be loaded");
                return false;
            }
        };
        if preppal_core::InterviewStatus::from_proto_i32(ctx.status)
            != Ok(preppal_core::InterviewStatus::InProgress)
        {
            return false;
        }
        let Some((guard, link)) = self.claim(interview_id) else {
            return false;
        };
        tracing::info!(interview = %interview_id, entries = ctx.transcript.len(), "interview in progress with no live owner: waiting for its candidate");
        tokio::spawn(async move {
            driver::run(Arc::clone(&guard.tier), ctx, None, link).await;
            drop(guard);
        });
        true
    }

    /// Registers a driver for `interview_id`, or `None` when one already runs.
    fn claim(self: &Arc<Self>, interview_id: &str) -> Option<(LiveGuard, DriverLink)> {
        let mut map = self.live.lock().ok()?;
        if map.contains_key(interview_id) {
            return None;
        }
        let (tx, rx) = rejoin_channel();
        let connected = Arc::new(AtomicBool::new(false));
        map.insert(
            interview_id.to_owned(),
            Handoff {
                attach: tx,
                connected: Arc::clone(&connected),
            },
        );
        Some((
            LiveGuard {
                tier: Arc::clone(self),
                interview_id: interview_id.to_owned(),
            },
            DriverLink {
                rejoins: rx,
                connected,
                shutdown: self.shutdown.subscribe(),
            },
        ))
    }
}

/// Removes the interview from the registry when its driver ends.
struct LiveGuard {
    tier: Arc<WorkerTier>,
    interview_id: String,
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        if let Ok(mut map) = self.tier.live.lock() {
            map.remove(&self.interview_id);
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

/// How long an interview waits for its candidate to reconnect by default: 60 s.
pub const DEFAULT_RECONNECT_GRACE: Duration = Duration::from_secs(60);

/// `GET /interview/{interviewId}?token=JWT`: checks the token, then asks the web tier for
/// the interview and refuses before the upgrade when the server is draining (503), the
/// interview does not exist or belongs to someone else (404, "not found"), has ended
/// (409), already has a connected client (409), or when the user already holds the most
/// live interviews allowed (429). When a driver runs the interview with no client (the
/// candidate's socket dropped), the new socket is handed to it; otherwise it upgrades and
/// starts the interview's driver (which resumes from the stored transcript when the
/// interview was already IN_PROGRESS, as after a restart). A refused token gets 401 with
/// no detail; every refusal's reason is logged.
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
    if tier.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down; try again shortly",
        )
            .into_response();
    }
    let ctx = match tier.web_tier.get_context(&interview_id).await {
        Ok(c) => c,
        Err(WebTierError::Refused(e)) if e.code == 404 => {
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
    // The transport admits twice the codec's limit, so a message a little too large gets a
    // typed 413 from the codec and the connection goes on; far larger ones close it.
    // Small socket buffers (4 KiB reads, an 8 KiB write buffer): live interviews do not
    // hold tungstenite's default 128 KiB read and write buffers each, and a 40 ms frame
    // (1.3 kB) arrives in one read.
    let ws = ws
        .max_message_size(2 * MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(2 * MAX_CLIENT_MESSAGE_BYTES)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(8 * 1024);
    if let Some(handoff) = tier.handoff(&interview_id) {
        if handoff.connected.load(Ordering::SeqCst) {
            tracing::info!(interview = %interview_id, "interview socket refused: a client is connected");
            return (StatusCode::CONFLICT, "the interview is already connected").into_response();
        }
        tracing::info!(interview = %interview_id, "client reconnecting to its running interview");
        return ws.on_upgrade(move |socket| async move {
            if let Err(client) = handoff.attach.attach(WsClient::new(socket)) {
                let why = if handoff.attach.is_closed() {
                    "the interview has ended"
                } else {
                    // Other connections wait for the driver already.
                    "the interview is already connected"
                };
                socket::refuse(client.into_inner(), 409, why, 1008).await;
            }
        });
    }
    let slot = match tier.limits.claim_live(&claims.sub) {
        Ok(s) => s,
        Err(e @ super::common::limits::LimitError::ServerFull { .. }) => {
            return (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response()
        }
        Err(e) => return (StatusCode::TOO_MANY_REQUESTS, e.to_string()).into_response(),
    };
    let Some((guard, link)) = tier.claim(&interview_id) else {
        return (StatusCode::CONFLICT, "the interview is already connected").into_response();
    };
    ws.on_upgrade(move |socket| async move {
        driver::run(Arc::clone(&guard.tier), ctx, Some(socket), link).await;
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

/// The routes of a worker in a process of its own (`preppal worker`): the interview
/// WebSocket and `GET /healthz` (`{"ok": true, "worker_id", "live_interviews"}`), which the
/// web tier probes before sending a client here.
pub fn standalone_router(tier: Arc<WorkerTier>) -> Router {
    Router::new()
        .route("/interview/{interview_id}", get(interview_socket))
        .route("/healthz", get(worker_healthz))
        .with_state(tier)
}

async fn worker_healthz(State(tier): State<Arc<WorkerTier>>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "ok": true,
        "worker_id": tier.lease.as_ref().map(|l| l.worker_id.clone()),
        "live_interviews": tier.live_count(),
    }))
}
