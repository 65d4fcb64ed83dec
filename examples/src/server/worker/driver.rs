//! The worker's driver: the driver core ([`preppal_gemini::InterviewDriver`]) around a
//! pure [`InterviewSession`] (the Durable Object of the design), wrapped with what only the
//! server has.
//!
//! ```text
//! run:  lease (with several workers) → context → session (new, or resumed from the store)
//!       → InterviewDriver::connecting(session, InterviewModel)
//!           client    WsClient: the candidate's socket, pinged every CLIENT_PING_INTERVAL
//!           loss      ClientLoss::AwaitRejoin (the reconnect grace period)
//!           rejoins   sockets the registry hands over (interview_socket)
//!           hooks     WorkerHooks: rate limits, metrics, logs, the "connected" flag
//!           signals   server shutdown → Signal::Shutdown; lease lost → Signal::Abandon
//!           persist   ResumptionHandle → the lease's handle; the rest → the persister task
//!       → wait for the persister (FINISH_WAIT_SECS), release the lease, close the socket
//!         (1000; 1012 on shutdown or when another worker took over)
//! ```
//!
//! Every decision about the interview is the session's; every byte and timer is the driver
//! core's. This file only wires the server's parts in.
//!
//! An interview that was already IN_PROGRESS when its driver starts (the process restarted,
//! or the driver ended with its client gone and the grace period was not over in the
//! store's eyes) is resumed from the stored transcript: the model is seeded with it
//! ([`super::ModelConnector::connect_seeded`]) and the client gets `SessionResumed`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::ws::WebSocket;
use futures::StreamExt as _;
use preppal_core::proto::GetContextResponse;
use preppal_core::{
    EndReason, InterviewSession, InterviewStatus, PersistAction, SessionConfig, TranscriptEntry,
};
use preppal_gemini::driver::{ClientLoss, InterviewDriver, Signal};

use super::hooks::WorkerHooks;
use super::lease::{self, LeaseKeeper};
use super::model::InterviewModel;
use super::socket::{close, WsClient};
pub use super::socket::{refuse, CLIENT_PING_INTERVAL};
use super::{persist, DriverLink, WorkerTier};
use crate::server::common::metrics;

/// How long the driver waits for the persister to store the end, in seconds.
const FINISH_WAIT_SECS: u64 = 120;

/// A candidate socket from which nothing (no message, no pong) has arrived for this long is
/// taken as dropped (a vanished peer), and the reconnect grace period starts.
pub const CLIENT_SILENCE_LIMIT: Duration = Duration::from_secs(15);

/// WebSocket close code sent to the candidate when the server shuts down (1012, "service
/// restart", RFC 6455 registry).
pub const CLOSE_SERVER_SHUTDOWN: u16 = 1012;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Runs the interview of `ctx` until it ends: with `first` as the candidate's socket (none
/// for an interview picked up with nobody connected), taking reconnecting sockets from
/// `link`.
pub async fn run(
    tier: Arc<WorkerTier>,
    ctx: GetContextResponse,
    first: Option<WebSocket>,
    link: DriverLink,
) {
    let _live = metrics::LiveInterviewGauge::start();
    let interview_id = ctx.interview_id.clone();
    // With several workers, run only while holding the interview's lease; a takeover
    // waits for the dead owner's lease to lapse, then reads the context again (the
    // transcript and the resumption handle stored until then).
    let mut lease = None;
    let mut ctx = ctx;
    if let Some(cfg) = &tier.lease {
        // Rare, large futures are boxed so that the driver's own state, which lives as long
        // as the interview, stays small (see `benches/README.md`, memory per interview).
        match Box::pin(lease::acquire(&tier.web_tier, cfg, &interview_id)).await {
            Ok(k) => lease = Some(k),
            Err(e) => {
                tracing::warn!(interview = %interview_id, error = %e, "interview lease not taken");
                if let Some(sock) = first {
                    Box::pin(refuse(
                        sock,
                        503,
                        "the interview is held elsewhere; try again",
                        1013,
                    ))
                    .await;
                }
                return;
            }
        }
        match Box::pin(tier.web_tier.get_context(&interview_id)).await {
            Ok(c) => ctx = c,
            Err(e) => {
                tracing::warn!(interview = %interview_id, error = %e, "context not refreshed after the lease")
            }
        }
    }
    drive(tier, ctx, first, link, lease).await;
}

/// The session for `ctx`: new, or resumed from the stored transcript when the interview
/// was IN_PROGRESS (or has entries); with the entries stored so far.
fn session_for(
    tier: &WorkerTier,
    ctx: &GetContextResponse,
) -> (InterviewSession, Vec<TranscriptEntry>) {
    let interview_id = ctx.interview_id.clone();
    let stored: Vec<TranscriptEntry> = ctx
        .transcript
        .iter()
        .cloned()
        .filter_map(|e| TranscriptEntry::try_from(e).ok())
        .collect();
    let in_progress =
        InterviewStatus::from_proto_i32(ctx.status) == Ok(InterviewStatus::InProgress);
    let args = tier.limits.args();
    let config = SessionConfig::for_interview_length_ms(ctx.duration_ms)
        .with_client_silence_limit(CLIENT_SILENCE_LIMIT)
        .with_reconnect_grace(tier.reconnect_grace)
        .with_max_turn_text_bytes(args.max_turn_text_bytes)
        .with_max_transcript_bytes(args.max_transcript_bytes)
        .with_trailing_silence(tier.models.trailing_silence());
    let now = Instant::now();
    let session = if in_progress || !stored.is_empty() {
        tracing::info!(interview = %interview_id, entries = stored.len(), started_at_ms = ctx.started_at_ms, "resuming an interview in progress from the store");
        InterviewSession::resume_stored(
            interview_id,
            config,
            stored.clone(),
            ctx.started_at_ms,
            now_ms(),
            now,
        )
    } else {
        InterviewSession::new(interview_id, config, now)
    };
    (session, stored)
}

/// Runs the driver core with the worker's parts, then the worker's end: the persister's
/// last writes, the lease, the candidate's close.
async fn drive(
    tier: Arc<WorkerTier>,
    ctx: GetContextResponse,
    first: Option<WebSocket>,
    link: DriverLink,
    lease: Option<LeaseKeeper>,
) {
    let interview_id = ctx.interview_id.clone();
    let (session, stored) = session_for(&tier, &ctx);
    let DriverLink {
        rejoins,
        connected,
        shutdown,
    } = link;
    let (persist_tx, persist_rx) = tokio::sync::mpsc::channel(persist::PERSIST_QUEUE);
    let persister = tokio::spawn(persist::run(
        tier.web_tier.clone(),
        tier.feedbacker.clone(),
        ctx.clone(),
        stored,
        persist_rx,
    ));
    // The persister's wait after the end shares one budget with the driver's own wait for
    // storage: both count from the end of the interview.
    let ended = Arc::new(OnceLock::new());
    let hooks = WorkerHooks::with_end_mark(
        interview_id.clone(),
        Arc::clone(&tier.limits),
        Arc::clone(&connected),
        first.is_some(),
        Arc::clone(&ended),
    );
    let model = Arc::new(InterviewModel::new(tier.models.clone(), ctx));
    let mut driver = InterviewDriver::connecting(session, model)
        .with_hooks(hooks)
        .with_client_loss(ClientLoss::AwaitRejoin)
        .with_rejoins(rejoins)
        .with_signals(signals(shutdown, lease.as_ref()))
        .with_persist_wait(Duration::from_secs(FINISH_WAIT_SECS));
    if let Some(ws) = first {
        connected.store(true, Ordering::SeqCst);
        driver = driver.with_client(WsClient::new(ws));
    }
    // Resumption handles are kept with the lease, which the next worker reads on a
    // takeover; every other action goes, in order, to the persister.
    let handles = lease.as_ref().map(LeaseKeeper::handle_saver);
    let outcome = driver
        .run(move |action| {
            let tx = persist_tx.clone();
            let handles = handles.clone();
            async move {
                if let PersistAction::ResumptionHandle(handle) = &action {
                    if let Some(h) = handles {
                        h.save(handle);
                    }
                    return Ok(());
                }
                tx.send(action)
                    .await
                    .map_err(|_| "the persister stopped early")
            }
        })
        .await;
    // Boxed: the end runs once; inline, its future would be held by the task for the whole
    // interview.
    let since_end = ended.get().map_or(Duration::ZERO, Instant::elapsed);
    let wait = Duration::from_secs(FINISH_WAIT_SECS).saturating_sub(since_end);
    Box::pin(finish(
        interview_id,
        persister,
        wait,
        lease,
        outcome,
        connected,
    ))
    .await;
}

/// After the driver: wait for the persister (for at most `wait`), release the lease, close the candidate's
/// socket with the code that says why. Every wait is bounded in time.
async fn finish(
    interview_id: String,
    persister: tokio::task::JoinHandle<Option<persist::Finished>>,
    wait: Duration,
    lease: Option<LeaseKeeper>,
    outcome: preppal_gemini::DriverOutcome<WsClient>,
    connected: Arc<std::sync::atomic::AtomicBool>,
) {
    match tokio::time::timeout(wait, persister).await {
        Ok(Ok(Some(f))) => tracing::debug!(interview = %interview_id, ?f, "persisted"),
        Ok(_) => tracing::error!(interview = %interview_id, "persister ended without finishing"),
        Err(_) => {
            tracing::error!(interview = %interview_id, "persister did not finish in time")
        }
    }
    if let Some(k) = lease {
        k.release().await;
    }
    if let Some(client) = outcome.client {
        let ws = client.into_inner();
        if outcome.abandoned {
            close(ws, 1012, "the interview moved to another worker").await;
        } else if outcome.session.end_reason() == Some(&EndReason::ServerShutdown) {
            close(
                ws,
                CLOSE_SERVER_SHUTDOWN,
                "the server is shutting down; the interview was saved",
            )
            .await;
        } else {
            close(ws, 1000, "interview ended").await;
        }
    }
    connected.store(false, Ordering::SeqCst);
}

/// The driver's outside signals: the server's shutdown, and (with several workers) the
/// loss of the interview's lease to another worker.
fn signals(
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    lease: Option<&LeaseKeeper>,
) -> impl futures::Stream<Item = Signal> + Send + 'static {
    let stop =
        futures::stream::once(
            async move { shutdown.changed().await.is_ok() && *shutdown.borrow() },
        )
        .filter_map(|stopping| std::future::ready(stopping.then_some(Signal::Shutdown)));
    let lost = lease.map(LeaseKeeper::lost_signal);
    let lost = futures::stream::once(async move {
        match lost {
            Some(lost) => lost.await,
            None => std::future::pending().await,
        }
    })
    .map(|()| Signal::Abandon);
    futures::stream::select(stop, lost)
}
