//! The driver: one task per live interview, moving bytes and time around a pure
//! [`InterviewSession`] (the Durable Object of the design).
//!
//! ```text
//! browser ws.recv() → codec::decode_client → session.handle_client
//! model   live.next_event()                → session.handle_model
//!         (a ResilientSession: goAway, retryable closes and stalls move it to a new
//!         connection while the candidate's socket stays open)
//! timer   sleep_until(poll_timeout)        → session.handle_timeout
//! then drain: poll_to_model → live.send, poll_to_client → ws.send,
//!             poll_persist → persister queue, poll_event → logs
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use preppal_core::codec::{self, DecodeError};
use preppal_core::proto::{self, server_to_client_message::Message as ToClient};
use preppal_core::{ModelCommand, ModelEvent, SessionConfig, SessionEvent};
use preppal_gemini::ResilientSession;
use tokio::sync::mpsc;

use super::WorkerTier;
use super::{lease, persist};
use crate::server::limits::{AudioRate, FrameVerdict};
use crate::server::metrics::{self, Direction, ErrorKind};

/// How long the driver waits for the persister to store the end, in seconds.
const FINISH_WAIT_SECS: u64 = 120;

async fn send_error(ws: &mut WebSocket, code: i32, message: &str) {
    let msg = proto::ServerToClientMessage {
        message: Some(ToClient::ErrorResponse(proto::ErrorResponse {
            code,
            message: message.to_owned(),
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

/// Runs the interview `interview_id` for `user_id` over `ws` until it ends.
pub async fn run(mut ws: WebSocket, interview_id: String, user_id: String, tier: Arc<WorkerTier>) {
    let _live = metrics::LiveInterview::start();
    let ctx = match tier.backend.get_context(&interview_id).await {
        Ok(c) if c.user_id == user_id => c,
        Ok(_) => {
            send_error(&mut ws, 404, "interview not found").await;
            return close(ws, 1008, "not found").await;
        }
        Err(e) => {
            metrics::error(ErrorKind::context_unavailable);
            tracing::error!(interview = %interview_id, error = %e, "context unavailable");
            send_error(&mut ws, 503, "the interview could not be loaded; try again").await;
            return close(ws, 1011, "unavailable").await;
        }
    };
    let status = preppal_core::InterviewStatus::from_proto_i32(ctx.status);
    if status.is_ok_and(|s| s.is_terminal()) {
        send_error(&mut ws, 409, "the interview has already ended").await;
        return close(ws, 1008, "ended").await;
    }

    // With several workers, run only while holding the interview's lease; a takeover
    // waits for the dead owner's lease to lapse, then reads the context again.
    let mut lease = None;
    let mut ctx = ctx;
    if let Some(cfg) = &tier.lease {
        match lease::acquire(&tier.backend, cfg, &interview_id).await {
            Ok(k) => lease = Some(k),
            Err(e) => {
                tracing::warn!(interview = %interview_id, error = %e, "interview lease not taken");
                send_error(&mut ws, 503, "the interview is held elsewhere; try again").await;
                return close(ws, 1013, "try again later").await;
            }
        }
        match tier.backend.get_context(&interview_id).await {
            Ok(c) => ctx = c,
            Err(e) => {
                tracing::warn!(interview = %interview_id, error = %e, "context not refreshed after the lease")
            }
        }
    }

    let config = SessionConfig::new(Duration::from_millis(ctx.duration_ms.max(60_000)));
    let mut session = super::session_for(&ctx, config, Instant::now());
    let (persist_tx, persist_rx) = mpsc::channel(persist::PERSIST_QUEUE);
    let persister = tokio::spawn(persist::run(
        tier.backend.clone(),
        tier.feedbacker.clone(),
        ctx.clone(),
        persist_rx,
    ));

    let mut live: Option<ResilientSession> = match tier.models.connect(&ctx).await {
        Ok(l) => {
            session
                .handle_model(ModelEvent::SetupComplete, Instant::now())
                .ok();
            Some(l)
        }
        Err(e) => {
            metrics::error(ErrorKind::model_connect);
            tracing::error!(interview = %interview_id, error = %e, "model connection failed");
            session
                .handle_model(
                    ModelEvent::Closed {
                        code: 1011,
                        reason: e.to_string(),
                    },
                    Instant::now(),
                )
                .ok();
            None
        }
    };

    let setup_at = Instant::now();
    let mut first_audio_seen = false;
    // The arrival of the frame being relayed, for the relay latency.
    let mut arrived: Option<(Direction, Instant)> = None;
    let mut client_open = true;
    let mut lease_lost = false;
    let mut audio_rate = AudioRate::new(&tier.limits, Instant::now());
    loop {
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
        while let Some(msg) = session.poll_to_client() {
            if matches!(msg.message, Some(ToClient::AudioResponse(_))) {
                metrics::frame_to_client();
            }
            if client_open
                && ws
                    .send(Message::Binary(codec::encode_server(&msg)))
                    .await
                    .is_err()
            {
                client_open = false;
                session.handle_client_gone(Instant::now());
            }
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

        let deadline = session.poll_timeout();
        tokio::select! {
            msg = ws.recv(), if client_open => {
                let now = Instant::now();
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
                                send_error(&mut ws, 429, &e.to_string()).await;
                            }
                            FrameVerdict::Drop => {}
                        },
                        Ok(m) => { session.handle_client(m, now).ok(); }
                        Err(e) => reject(&mut ws, &interview_id, &e).await,
                    },
                    Some(Ok(Message::Text(_))) => {
                        reject(&mut ws, &interview_id, &DecodeError::Malformed("text frame; protobuf binary frames expected".into())).await;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        client_open = false;
                        session.handle_client_gone(now);
                    }
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
            () = sleep_until(deadline) => session.handle_timeout(Instant::now()),
            () = lease::lost(&mut lease) => {
                // Another worker runs the interview now: stop relaying, finalize nothing.
                lease_lost = true;
                break;
            }
        }
    }
    drop(persist_tx);
    match tokio::time::timeout(Duration::from_secs(FINISH_WAIT_SECS), persister).await {
        Ok(Ok(Some(f))) => tracing::debug!(interview = %interview_id, ?f, "persisted"),
        Ok(_) => tracing::error!(interview = %interview_id, "persister ended without finishing"),
        Err(_) => tracing::error!(interview = %interview_id, "persister did not finish in time"),
    }
    if let Some(k) = lease {
        k.release().await;
    }
    if client_open {
        if lease_lost {
            close(ws, 1012, "the interview moved to another worker").await;
        } else {
            close(ws, 1000, "interview ended").await;
        }
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

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
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
