//! The driver: one task per live interview, moving bytes and time around a pure
//! [`InterviewSession`] (the Durable Object of the design).
//!
//! ```text
//! browser ws.recv() → codec::decode_client → session.handle_client
//!         (socket dropped → session.handle_client_detached: the interview waits for the
//!         reconnect grace period; a socket handed over by the registry →
//!         session.handle_client_attached, which replays the transcript)
//! model   live.next_event()                → session.handle_model
//!         (a ResilientSession: goAway, retryable closes and stalls move it to a new
//!         connection while the candidate's socket stays open)
//! timer   sleep_until(poll_timeout)        → session.handle_timeout
//! drain   shutdown signal                  → session.handle_shutdown
//! then drain: poll_to_model → live.send, poll_to_client → ws.send,
//!             poll_persist → persister queue, poll_event → logs
//! ```
//!
//! An interview that was already IN_PROGRESS when its driver starts (the process restarted,
//! or the driver ended with its client gone and the grace period was not over in the
//! store's eyes) is resumed from the stored transcript: the model is seeded with it
//! ([`super::ModelConnector::connect_seeded`]) and the client gets `SessionResumed`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::SinkExt as _;
use preppal_core::codec::{self, DecodeError};
use preppal_core::proto::{
    self, server_to_client_message::Message as ToClient, GetContextResponse,
};
use preppal_core::{
    EndReason, InterviewSession, InterviewStatus, ModelCommand, ModelEvent, SessionConfig,
    SessionEvent, TranscriptEntry,
};
use preppal_gemini::timer::DeadlineTimer;
use preppal_gemini::ResilientSession;
use tokio::sync::mpsc;

use super::{lease, persist, DriverLink, WorkerTier};
use crate::server::limits::{AudioRate, FrameVerdict};
use crate::server::metrics::{self, Direction, ErrorKind};

/// How long the driver waits for the persister to store the end, in seconds.
const FINISH_WAIT_SECS: u64 = 120;

/// How often the driver pings the candidate's socket (WebSocket ping frames).
pub const CLIENT_PING_INTERVAL: Duration = Duration::from_secs(5);

/// A candidate socket from which nothing (no message, no pong) has arrived for this long is
/// taken as dropped (a vanished peer), and the reconnect grace period starts.
pub const CLIENT_SILENCE_LIMIT: Duration = Duration::from_secs(15);

/// WebSocket close code sent to the candidate when the server shuts down (1012, "service
/// restart", RFC 6455 registry).
pub const CLOSE_SERVER_SHUTDOWN: u16 = 1012;

async fn send_error(ws: &mut WebSocket, code: i32, message: &str) {
    let msg = proto::ServerToClientMessage {
        message: Some(ToClient::ErrorResponse(proto::ErrorResponse {
            code,
            message: message.to_owned(),
            kind: 0,
        })),
    };
    let _ = ws.send(Message::Binary(codec::encode_server(&msg))).await;
}

async fn close(mut ws: WebSocket, code: u16, reason: &str) {
    let _ = ws
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}

/// Sends an `ErrorResponse` with `code` and `message`, then closes with `close_code`.
pub async fn refuse(mut ws: WebSocket, code: i32, message: &str, close_code: u16) {
    send_error(&mut ws, code, message).await;
    close(ws, close_code, message).await;
}

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
    let _live = metrics::LiveInterview::start();
    let interview_id = ctx.interview_id.clone();
    let DriverLink {
        mut attach,
        connected,
        mut shutdown,
    } = link;
    // With several workers, run only while holding the interview's lease; a takeover
    // waits for the dead owner's lease to lapse, then reads the context again (the
    // transcript and the resumption handle stored until then).
    let mut lease = None;
    let mut ctx = ctx;
    if let Some(cfg) = &tier.lease {
        // Rare, large futures are boxed so that the driver's own state, which lives as long
        // as the interview, stays small (see `benches/README.md`, memory per interview).
        match Box::pin(lease::acquire(&tier.backend, cfg, &interview_id)).await {
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
        match Box::pin(tier.backend.get_context(&interview_id)).await {
            Ok(c) => ctx = c,
            Err(e) => {
                tracing::warn!(interview = %interview_id, error = %e, "context not refreshed after the lease")
            }
        }
    }
    let stored: Vec<TranscriptEntry> = ctx
        .transcript
        .iter()
        .cloned()
        .filter_map(|e| TranscriptEntry::try_from(e).ok())
        .collect();
    let in_progress =
        InterviewStatus::from_proto_i32(ctx.status) == Ok(InterviewStatus::InProgress);
    let resumed = in_progress || !stored.is_empty();

    let config = SessionConfig::new(Duration::from_millis(ctx.duration_ms.max(60_000)))
        .with_reconnect_grace(tier.reconnect_grace);
    let now = Instant::now();
    let mut session = if resumed {
        let wall = if ctx.started_at_ms > 0 {
            now_ms().saturating_sub(ctx.started_at_ms)
        } else {
            0
        };
        let spoken = stored.iter().map(|e| e.end_ms).max().unwrap_or(0);
        let elapsed = Duration::from_millis(wall.max(spoken));
        tracing::info!(interview = %interview_id, entries = stored.len(), elapsed_ms = elapsed.as_millis() as u64, "resuming an interview in progress from the store");
        InterviewSession::resume(interview_id.clone(), config, stored.clone(), elapsed, now)
    } else {
        InterviewSession::new(interview_id.clone(), config, now)
    };
    let mut ws = first;
    if ws.is_some() {
        connected.store(true, Ordering::SeqCst);
        if resumed {
            session.handle_client_attached(now).ok();
        }
    }
    let (persist_tx, persist_rx) = mpsc::channel(persist::PERSIST_QUEUE);
    let persister = tokio::spawn(persist::run(
        tier.backend.clone(),
        tier.feedbacker.clone(),
        ctx.clone(),
        stored.clone(),
        persist_rx,
    ));

    let mut live: Option<ResilientSession> = None;
    let mut model_tried = false;
    let mut draining = false;
    let mut last_heard = Instant::now();
    // One timer entry for the session's deadlines, moved only when one comes earlier.
    let mut timer = DeadlineTimer::new();
    // Polled once for the first change only, so made once, not on every turn of the loop.
    let stop = async { shutdown.changed().await.is_ok() && *shutdown.borrow() };
    let mut stop = std::pin::pin!(stop);
    let mut ping = tokio::time::interval(CLIENT_PING_INTERVAL);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut audio_rate = AudioRate::new(&tier.limits, Instant::now());
    let setup_at = Instant::now();
    let mut first_audio_seen = false;
    // The arrival of the frame being relayed, for the relay latency.
    let mut arrived: Option<(Direction, Instant)> = None;
    let mut lease_lost = false;
    loop {
        // The model is connected once a candidate is there (an interview picked up with
        // nobody connected waits for one, or for its grace period to pass).
        if !model_tried && session.is_client_attached() && !session.is_ended() {
            model_tried = true;
            let connecting = if resumed {
                Box::pin(
                    tier.models
                        .connect_seeded(&ctx, session.transcript().entries()),
                )
                .await
            } else {
                Box::pin(tier.models.connect(&ctx)).await
            };
            match connecting {
                Ok(l) => {
                    session
                        .handle_model(ModelEvent::SetupComplete, Instant::now())
                        .ok();
                    live = Some(l);
                }
                Err(e) => {
                    metrics::error(ErrorKind::model_connect);
                    tracing::error!(interview = %interview_id, error = %e, "model connection failed");
                    let (code, reason) = e.close_parts();
                    session
                        .handle_model(ModelEvent::Closed { code, reason }, Instant::now())
                        .ok();
                }
            }
        }
        // Drain every output, in the documented order.
        while let Some(cmd) = session.poll_to_model() {
            if let Some(l) = live.as_mut() {
                let closing = cmd == ModelCommand::Close;
                if matches!(cmd, ModelCommand::Audio(_)) {
                    metrics::frame_to_model();
                }
                if let Err(e) = l.send(cmd).await {
                    metrics::error(ErrorKind::model_send);
                    tracing::warn!(interview = %interview_id, error = %e, "model send failed");
                }
                if closing {
                    live = None;
                }
            }
        }
        // Every message of one step (a model chunk gives its audio and a transcript update)
        // is written with one flush: one socket write instead of one per message.
        let mut fed = false;
        let mut failed = false;
        while let Some(msg) = session.poll_to_client() {
            let Some(sock) = ws.as_mut() else { break };
            if matches!(msg.message, Some(ToClient::AudioResponse(_))) {
                metrics::frame_to_client();
            }
            fed = true;
            if sock
                .feed(Message::Binary(codec::encode_server(&msg)))
                .await
                .is_err()
            {
                failed = true;
                break;
            }
        }
        if fed && !failed {
            if let Some(sock) = ws.as_mut() {
                failed = sock.flush().await.is_err();
            }
        }
        if failed {
            detach(
                &mut ws,
                &mut session,
                &connected,
                &interview_id,
                "send failed",
            )
            .await;
        }
        if let Some((direction, at)) = arrived.take() {
            metrics::relay_latency(direction, at.elapsed());
        }
        while let Some(action) = session.poll_persist() {
            if persist_tx.send(action).await.is_err() {
                metrics::error(ErrorKind::persist);
                tracing::error!(interview = %interview_id, "persister stopped early");
            }
        }
        while let Some(event) = session.poll_event() {
            log_event(&interview_id, &event);
        }
        if session.is_ended() {
            break;
        }

        timer.set(session.poll_timeout().map(tokio::time::Instant::from_std));
        tokio::select! {
            msg = next_client_message(&mut ws) => {
                let now = Instant::now();
                last_heard = now;
                match msg {
                    Some(Ok(Message::Binary(b))) => match codec::decode_client(b) {
                        Ok(m @ codec::ClientMessage::Audio(_)) => match audio_rate.frame(now) {
                            FrameVerdict::Accept => {
                                arrived = Some((Direction::client_to_model, now));
                                session.handle_client(m, now).ok();
                            }
                            FrameVerdict::DropAndTell(e) => {
                                metrics::error(ErrorKind::audio_rate_limited);
                                tracing::warn!(interview = %interview_id, error = %e, "audio frames dropped");
                                if let Some(sock) = ws.as_mut() {
                                    send_error(sock, 429, &e.to_string()).await;
                                }
                            }
                            FrameVerdict::Drop => {}
                        },
                        Ok(m) => { session.handle_client(m, now).ok(); }
                        Err(e) => if let Some(sock) = ws.as_mut() { reject(sock, &interview_id, &e).await },
                    },
                    Some(Ok(Message::Text(_))) => if let Some(sock) = ws.as_mut() {
                        reject(sock, &interview_id, &DecodeError::Malformed("text frame; protobuf binary frames expected".into())).await;
                    },
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) => {
                        detach(&mut ws, &mut session, &connected, &interview_id, "closed by the client").await;
                    }
                    None | Some(Err(_)) => {
                        detach(&mut ws, &mut session, &connected, &interview_id, "connection lost").await;
                    }
                }
            }
            sock = attach.recv() => {
                let Some(sock) = sock else { continue };
                let now = Instant::now();
                if ws.is_some() {
                    // Two connections raced for one interview: the first one stays.
                    Box::pin(refuse(*sock, 409, "the interview is already connected", 1008)).await;
                } else if session.handle_client_attached(now).is_ok() {
                    tracing::info!(interview = %interview_id, "client reattached");
                    ws = Some(*sock);
                    connected.store(true, Ordering::SeqCst);
                    last_heard = now;
                    audio_rate = AudioRate::new(&tier.limits, now);
                } else {
                    Box::pin(refuse(*sock, 409, "the interview has ended", 1008)).await;
                }
            }
            ev = next_model_event(&mut live) => {
                let now = Instant::now();
                match ev {
                    Some(Ok(ev)) => {
                        match &ev {
                            ModelEvent::Closed { .. } => live = None,
                            ModelEvent::Audio(_) => {
                                arrived = Some((Direction::model_to_client, now));
                                if !first_audio_seen {
                                    first_audio_seen = true;
                                    metrics::first_model_audio(now - setup_at);
                                }
                            }
                            ModelEvent::Reconnecting { reason } => {
                                metrics::reconnect();
                                tracing::info!(interview = %interview_id, %reason, "moving to a new model connection");
                            }
                            ModelEvent::Resumed { with_handle } => {
                                tracing::info!(interview = %interview_id, with_handle, "model connection resumed");
                            }
                            ModelEvent::ResumptionUpdate { handle, resumable: true } => {
                                if let Some(k) = &lease {
                                    k.save_handle(handle);
                                }
                            }
                            _ => {}
                        }
                        session.handle_model(ev, now).ok();
                    }
                    Some(Err(e)) => {
                        // A malformed server frame: the connection goes on.
                        metrics::error(ErrorKind::model_frame_refused);
                        tracing::warn!(interview = %interview_id, error = %e, "model frame refused");
                    }
                    None => {
                        live = None;
                        session.handle_model(ModelEvent::Closed { code: 1006, reason: "model stream ended".into() }, now).ok();
                    }
                }
            }
            stopping = &mut stop, if !draining => {
                draining = true;
                if stopping {
                    tracing::info!(interview = %interview_id, "server shutting down: finishing the interview");
                    session.handle_shutdown(Instant::now());
                }
            }
            _ = ping.tick(), if ws.is_some() => {
                if last_heard.elapsed() > CLIENT_SILENCE_LIMIT {
                    if let Some(sock) = ws.take() {
                        close(sock, 1001, "no answer to pings").await;
                    }
                    detach(&mut ws, &mut session, &connected, &interview_id, "silent past the limit").await;
                } else if let Some(sock) = ws.as_mut() {
                    if sock.send(Message::Ping(Default::default())).await.is_err() {
                        detach(&mut ws, &mut session, &connected, &interview_id, "ping failed").await;
                    }
                }
            }
            () = timer.wait() => session.handle_timeout(Instant::now()),
            () = lease::lost(&mut lease) => {
                // Another worker runs the interview now: stop relaying, finalize nothing.
                lease_lost = true;
                break;
            }
        }
    }
    // No more reconnects: sockets handed over from now on are refused by the handler.
    attach.close();
    while let Ok(sock) = attach.try_recv() {
        Box::pin(refuse(*sock, 409, "the interview has ended", 1008)).await;
    }
    drop(persist_tx);
    match Box::pin(tokio::time::timeout(
        Duration::from_secs(FINISH_WAIT_SECS),
        persister,
    ))
    .await
    {
        Ok(Ok(Some(f))) => tracing::debug!(interview = %interview_id, ?f, "persisted"),
        Ok(_) => tracing::error!(interview = %interview_id, "persister ended without finishing"),
        Err(_) => tracing::error!(interview = %interview_id, "persister did not finish in time"),
    }
    if let Some(k) = lease {
        Box::pin(k.release()).await;
    }
    if let Some(sock) = ws.take() {
        if lease_lost {
            close(sock, 1012, "the interview moved to another worker").await;
        } else if session.end_reason() == Some(&EndReason::ServerShutdown) {
            close(
                sock,
                CLOSE_SERVER_SHUTDOWN,
                "the server is shutting down; the interview was saved",
            )
            .await;
        } else {
            close(sock, 1000, "interview ended").await;
        }
    }
    connected.store(false, Ordering::SeqCst);
}

/// The candidate's socket is gone: forget it and let the session wait for a reconnect.
async fn detach(
    ws: &mut Option<WebSocket>,
    session: &mut InterviewSession,
    connected: &std::sync::atomic::AtomicBool,
    interview_id: &str,
    why: &str,
) {
    *ws = None;
    connected.store(false, Ordering::SeqCst);
    if !session.is_ended() {
        tracing::info!(interview = %interview_id, why, "candidate connection dropped; waiting for a reconnect");
    }
    session.handle_client_detached(Instant::now());
}

async fn next_client_message(ws: &mut Option<WebSocket>) -> Option<Result<Message, axum::Error>> {
    match ws {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

async fn next_model_event(
    live: &mut Option<ResilientSession>,
) -> Option<Result<ModelEvent, preppal_gemini::LiveError>> {
    match live {
        Some(l) => l.next_event().await,
        None => std::future::pending().await,
    }
}

async fn reject(ws: &mut WebSocket, interview_id: &str, e: &DecodeError) {
    metrics::error(ErrorKind::client_message_refused);
    tracing::info!(interview = %interview_id, error = %e, "client message refused");
    let code = match e {
        DecodeError::TooLarge { .. } | DecodeError::TextTooLong(_) => 413,
        _ => 400,
    };
    send_error(ws, code, &e.to_string()).await;
}

fn log_event(interview_id: &str, event: &SessionEvent) {
    match event {
        SessionEvent::Ended { reason, status } => {
            tracing::info!(interview = %interview_id, reason = reason.as_str(), %status, "interview ended");
        }
        other => tracing::debug!(interview = %interview_id, event = ?other, "session event"),
    }
}
