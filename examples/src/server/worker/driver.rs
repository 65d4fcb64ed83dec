//! The driver: one task per live interview, moving bytes and time around a pure
//! [`InterviewSession`] (the Durable Object of the design).
//!
//! ```text
//! browser ClientLink::poll_io (reads, and writes the queue) → codec::decode_client
//!         → rate limits → session.handle_client
//!         (socket dropped, not reading, or silent → session.handle_client_detached: the
//!         interview waits for the reconnect grace period; a socket handed over by the
//!         registry → session.handle_client_attached, which replays the transcript)
//! model   ModelLink::next: connecting (a task; ModelStatus to the candidate), then the
//!         live stream (sends the outbox, yields events) → session.handle_model
//!         (a ResilientSession: goAway, retryable closes and stalls move it to a new
//!         connection while the candidate's socket stays open)
//! timer   DeadlineTimer at poll_timeout     → session.handle_timeout
//! drain   shutdown signal                   → session.handle_shutdown
//! then flush: poll_to_model → model outbox, poll_to_client → client queue,
//!             poll_persist → persister queue, poll_event → logs
//! ```
//!
//! Nothing is awaited outside the `select!` (steps named after quinn's `drive_*`): every
//! write goes into a bounded queue that a select branch drains, so a peer that stops
//! reading cannot stop the others. A candidate whose queue overflows or whose writes stall
//! for [`client_link::CLIENT_WRITE_TIMEOUT`] is taken as gone (the reconnect grace period
//! applies); a model whose writes stall for [`model_link::MODEL_WRITE_TIMEOUT`] ends the
//! interview with that reason. The model is connected in a task of its own, so its setup
//! and retries never hold the interview: the candidate is told at once (`ModelStatus`), the
//! session's setup deadline and a shutdown still end it.
//!
//! An interview that was already IN_PROGRESS when its driver starts (the process restarted,
//! or the driver ended with its client gone and the grace period was not over in the
//! store's eyes) is resumed from the stored transcript: the model is seeded with it
//! ([`super::ModelConnector::connect_seeded`]) and the client gets `SessionResumed`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{Message, WebSocket};
use preppal_core::codec::{self, DecodeError};
use preppal_core::proto::{
    self, model_status::State as ModelState, server_to_client_message::Message as ToClient,
    GetContextResponse,
};
use preppal_core::{
    EndReason, InterviewSession, InterviewStatus, ModelCommand, ModelEvent, PersistAction,
    SessionConfig, SessionEvent, TranscriptEntry,
};
use preppal_gemini::timer::DeadlineTimer;
use tokio::sync::{mpsc, watch};

use super::client_link::{self, close, error_message, ClientIo, ClientLink};
pub use super::client_link::{refuse, FINAL_WRITE_TIMEOUT};
use super::lease::{self, LeaseKeeper};
use super::log_throttle::LogThrottle;
use super::model_link::{self, ModelIo, ModelLink, ModelStep};
use super::{persist, DriverLink, WorkerTier};
use crate::server::common::limits::{AudioRate, FrameVerdict, TextRate};
use crate::server::common::metrics::{self, Direction, ErrorKind};

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

/// Refused client messages are logged at most once per this period, with a count of the
/// ones not logged since (every refusal is counted in the metrics).
pub const REFUSAL_LOG_PERIOD: Duration = Duration::from_secs(10);

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
    let mut driver = Driver::new(tier, ctx, first, link, lease);
    driver.drive().await;
    // Boxed: the end runs once, and inline its future (a second `Driver`, the persister
    // wait, the closing handshake) would be held by the task for the whole interview.
    Box::pin(driver.finish()).await;
}

/// What woke the driver's loop.
enum Wake {
    Client(ClientIo),
    Attach(Option<Box<WebSocket>>),
    Model(ModelStep),
    Stop(bool),
    Ping,
    Timer,
    LeaseLost,
    Nothing,
}

/// One interview's driver: the session, the two peers and the queues between them.
struct Driver {
    tier: Arc<WorkerTier>,
    ctx: GetContextResponse,
    interview_id: String,
    session: InterviewSession,
    client: Option<ClientLink>,
    model: ModelLink,
    attach: mpsc::Receiver<Box<WebSocket>>,
    connected: Arc<AtomicBool>,
    shutdown: watch::Receiver<bool>,
    draining: bool,
    persister: Option<tokio::task::JoinHandle<Option<persist::Finished>>>,
    persist_tx: mpsc::Sender<PersistAction>,
    /// Actions the persister's queue had no room for yet, in order. Bounded by what the
    /// session produces: one action per turn end or checkpoint, under the transcript's
    /// size limit.
    persist_backlog: VecDeque<PersistAction>,
    lease: Option<LeaseKeeper>,
    lease_lost: bool,
    audio_rate: AudioRate,
    text_rate: TextRate,
    refusal_log: LogThrottle,
    model_frame_log: LogThrottle,
    setup_at: Instant,
    first_audio_seen: bool,
    /// The arrival of the frame being relayed, for the relay latency.
    arrived: Option<(Direction, Instant)>,
}

impl Driver {
    fn new(
        tier: Arc<WorkerTier>,
        ctx: GetContextResponse,
        first: Option<WebSocket>,
        link: DriverLink,
        lease: Option<LeaseKeeper>,
    ) -> Self {
        let interview_id = ctx.interview_id.clone();
        let stored: Vec<TranscriptEntry> = ctx
            .transcript
            .iter()
            .cloned()
            .filter_map(|e| TranscriptEntry::try_from(e).ok())
            .collect();
        let in_progress =
            InterviewStatus::from_proto_i32(ctx.status) == Ok(InterviewStatus::InProgress);
        let resumed = in_progress || !stored.is_empty();
        let args = tier.limits.args();
        let config = SessionConfig::for_interview_length_ms(ctx.duration_ms)
            .with_client_silence_limit(CLIENT_SILENCE_LIMIT)
            .with_reconnect_grace(tier.reconnect_grace)
            .with_max_turn_text_bytes(args.max_turn_text_bytes)
            .with_max_transcript_bytes(args.max_transcript_bytes)
            .with_trailing_silence(tier.models.trailing_silence());
        let now = Instant::now();
        let mut session = if resumed {
            tracing::info!(interview = %interview_id, entries = stored.len(), started_at_ms = ctx.started_at_ms, "resuming an interview in progress from the store");
            InterviewSession::resume_stored(
                interview_id.clone(),
                config,
                stored.clone(),
                ctx.started_at_ms,
                now_ms(),
                now,
            )
        } else {
            InterviewSession::new(interview_id.clone(), config, now)
        };
        let DriverLink {
            attach,
            connected,
            shutdown,
        } = link;
        let client = first.map(ClientLink::new);
        if client.is_some() {
            connected.store(true, Ordering::SeqCst);
            if resumed {
                session.handle_client_attached(now).ok();
            }
        }
        let (persist_tx, persist_rx) = mpsc::channel(persist::PERSIST_QUEUE);
        let persister = tokio::spawn(persist::run(
            tier.web_tier.clone(),
            tier.feedbacker.clone(),
            ctx.clone(),
            stored,
            persist_rx,
        ));
        Self {
            audio_rate: AudioRate::new(&tier.limits, now),
            text_rate: TextRate::new(&tier.limits, now),
            tier,
            ctx,
            interview_id,
            session,
            client,
            model: ModelLink::Idle,
            attach,
            connected,
            shutdown,
            draining: false,
            persister: Some(persister),
            persist_tx,
            persist_backlog: VecDeque::new(),
            lease,
            lease_lost: false,
            refusal_log: LogThrottle::default(),
            model_frame_log: LogThrottle::default(),
            setup_at: now,
            first_audio_seen: false,
            arrived: None,
        }
    }

    /// The interview's loop: flush the session's outputs into the queues, then wait in one
    /// `select!` for whichever comes first.
    async fn drive(&mut self) {
        // One timer entry for the session's deadlines, moved only when one comes earlier.
        let mut timer = DeadlineTimer::new();
        let mut ping = tokio::time::interval(CLIENT_PING_INTERVAL);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut shutdown = self.shutdown.clone();
        // Polled once for the first change only, so made once, not on every turn.
        let stop = async move { shutdown.changed().await.is_ok() && *shutdown.borrow() };
        let mut stop = std::pin::pin!(stop);
        loop {
            self.drive_model_connect();
            self.drive_outputs();
            if self.session.is_ended() {
                break;
            }
            timer.set(
                self.session
                    .poll_timeout()
                    .map(tokio::time::Instant::from_std),
            );
            let wake = tokio::select! {
                // While the model connects the candidate's messages wait in the socket
                // (typed answers before the interview starts would be dropped); writes go on.
                io = client_link::next_io(&mut self.client, !self.model.is_connecting()) => Wake::Client(io),
                sock = self.attach.recv() => Wake::Attach(sock),
                step = self.model.next() => Wake::Model(step),
                permit = self.persist_tx.reserve(), if !self.persist_backlog.is_empty() => {
                    match (permit, self.persist_backlog.pop_front()) {
                        (Ok(p), Some(action)) => p.send(action),
                        (Err(_), _) => {
                            metrics::error(ErrorKind::persist);
                            tracing::error!(interview = %self.interview_id, "persister stopped early");
                            self.persist_backlog.clear();
                        }
                        (Ok(_), None) => {}
                    }
                    Wake::Nothing
                }
                stopping = &mut stop, if !self.draining => Wake::Stop(stopping),
                _ = ping.tick(), if self.client.is_some() => Wake::Ping,
                () = timer.wait() => Wake::Timer,
                () = lease::lost(&mut self.lease) => Wake::LeaseLost,
            };
            match wake {
                Wake::Client(io) => self.on_client_io(io),
                Wake::Attach(Some(sock)) => self.on_attach(*sock),
                Wake::Attach(None) | Wake::Nothing => {}
                Wake::Model(step) => self.on_model_step(step),
                Wake::Stop(stopping) => {
                    self.draining = true;
                    if stopping {
                        tracing::info!(interview = %self.interview_id, "server shutting down: finishing the interview");
                        self.session.handle_shutdown(Instant::now());
                    }
                }
                Wake::Ping => self.on_ping(),
                Wake::Timer => self.session.handle_timeout(Instant::now()),
                Wake::LeaseLost => {
                    // Another worker runs the interview now: stop relaying, finalize nothing.
                    self.lease_lost = true;
                    break;
                }
            }
        }
    }

    /// Starts the model connection when the session wants it
    /// ([`InterviewSession::wants_model`]: once a candidate is there), seeded as the session
    /// says, and tells the candidate.
    fn drive_model_connect(&mut self) {
        if !self.session.wants_model() {
            return;
        }
        self.session.handle_model_connecting(Instant::now());
        let seeded = self.session.model_seed().map(<[TranscriptEntry]>::to_vec);
        self.model = ModelLink::start(&self.tier.models, &self.ctx, seeded);
        self.tell_model_status(
            ModelState::Connecting,
            1,
            "The interviewer is connecting…".to_owned(),
        );
    }

    /// Moves every output of the session into its queue, in the documented order.
    fn drive_outputs(&mut self) {
        self.model.set_quiet(self.session.is_quiet());
        while let Some(cmd) = self.session.poll_to_model() {
            let audio = matches!(cmd, ModelCommand::Audio(_));
            if self.model.send(cmd) {
                if audio {
                    metrics::frame_to_model();
                }
            } else if audio && self.model.is_live() {
                metrics::error(ErrorKind::model_queue_full);
            }
        }
        let mut overflow = None;
        while let Some(msg) = self.session.poll_to_client() {
            let Some(link) = self.client.as_mut() else {
                break;
            };
            if matches!(msg.message, Some(ToClient::AudioResponse(_))) {
                metrics::frame_to_client();
            }
            if let Err(e) = link.enqueue(Message::Binary(codec::encode_server(&msg))) {
                overflow = Some(e);
                break;
            }
        }
        if let Some(e) = overflow {
            metrics::error(ErrorKind::client_write_stalled);
            tracing::warn!(interview = %self.interview_id, error = %e, "candidate not reading");
            self.detach("not reading (queue full)");
        }
        if let Some((direction, at)) = self.arrived.take() {
            metrics::relay_latency(direction, at.elapsed());
        }
        while let Some(action) = self.session.poll_persist() {
            if let PersistAction::ResumptionHandle(handle) = &action {
                // Kept with the lease, which the next worker reads on a takeover.
                if let Some(k) = &self.lease {
                    k.save_handle(handle);
                }
                continue;
            }
            if !self.persist_backlog.is_empty() {
                self.persist_backlog.push_back(action);
                continue;
            }
            match self.persist_tx.try_send(action) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(action)) => {
                    self.persist_backlog.push_back(action)
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    metrics::error(ErrorKind::persist);
                    tracing::error!(interview = %self.interview_id, "persister stopped early");
                }
            }
        }
        while let Some(event) = self.session.poll_event() {
            if let SessionEvent::ClientSilent { .. } = event {
                // The session took the candidate as gone: drop the socket.
                if let Some(link) = self.client.take() {
                    tokio::spawn(close(link.into_inner(), 1001, "no answer to pings"));
                }
                self.connected.store(false, Ordering::SeqCst);
                tracing::info!(interview = %self.interview_id, "candidate silent past the limit; waiting for a reconnect");
            }
            log_event(&self.interview_id, &event);
        }
    }

    fn on_client_io(&mut self, io: ClientIo) {
        let now = Instant::now();
        match io {
            ClientIo::Received(Some(Ok(msg))) => {
                self.session.handle_client_heard(now);
                self.on_client_message(msg, now);
            }
            ClientIo::Received(Some(Err(_)) | None) => self.detach("connection lost"),
            ClientIo::WriteFailed => self.detach("send failed"),
        }
    }

    fn on_client_message(&mut self, msg: Message, now: Instant) {
        match msg {
            Message::Binary(b) => match codec::decode_client(b) {
                Ok(m @ codec::ClientMessage::Audio(_)) => match self.audio_rate.frame(now) {
                    FrameVerdict::Accept => {
                        self.arrived = Some((Direction::client_to_model, now));
                        self.session.handle_client(m, now).ok();
                    }
                    FrameVerdict::DropAndTell(e) => {
                        metrics::error(ErrorKind::audio_rate_limited);
                        tracing::warn!(interview = %self.interview_id, error = %e, "audio frames dropped");
                        self.send_error(429, &e.to_string());
                    }
                    FrameVerdict::Drop => {}
                },
                Ok(m @ codec::ClientMessage::Text(_)) => match self.text_rate.message(now) {
                    FrameVerdict::Accept => {
                        if let Err(e) = self.session.handle_client(m, now) {
                            tracing::info!(interview = %self.interview_id, error = %e, "typed answer refused");
                        }
                    }
                    FrameVerdict::DropAndTell(e) => {
                        metrics::error(ErrorKind::text_rate_limited);
                        tracing::warn!(interview = %self.interview_id, error = %e, dropped = self.text_rate.dropped(), "typed answers dropped");
                        self.send_error(429, &e.to_string());
                    }
                    FrameVerdict::Drop => metrics::error(ErrorKind::text_rate_limited),
                },
                Ok(m) => {
                    self.session.handle_client(m, now).ok();
                }
                Err(e) => self.reject(&e, now),
            },
            Message::Text(_) => self.reject(
                &DecodeError::Malformed("text frame; protobuf binary frames expected".into()),
                now,
            ),
            Message::Ping(_) | Message::Pong(_) => {}
            Message::Close(_) => self.detach("closed by the client"),
        }
    }

    fn on_attach(&mut self, sock: WebSocket) {
        let now = Instant::now();
        if self.client.is_some() {
            // Two connections raced for one interview: the first one stays.
            tokio::spawn(refuse(
                sock,
                409,
                "the interview is already connected",
                1008,
            ));
        } else if self.session.handle_client_attached(now).is_ok() {
            tracing::info!(interview = %self.interview_id, "client reattached");
            self.client = Some(ClientLink::new(sock));
            self.connected.store(true, Ordering::SeqCst);
            self.audio_rate = AudioRate::new(&self.tier.limits, now);
            self.text_rate = TextRate::new(&self.tier.limits, now);
            if self.model.is_connecting() {
                self.tell_model_status(
                    ModelState::Connecting,
                    1,
                    "The interviewer is connecting…".to_owned(),
                );
            }
        } else {
            tokio::spawn(refuse(sock, 409, "the interview has ended", 1008));
        }
    }

    fn on_model_step(&mut self, step: ModelStep) {
        let now = Instant::now();
        match step {
            ModelStep::Retrying(r) => {
                tracing::info!(interview = %self.interview_id, attempt = r.attempt, error = %r.error, delay_ms = r.delay.as_millis() as u64, "model connection failed; trying again");
                let message = format!(
                    "The interviewer could not be reached yet; trying again (attempt {}).",
                    r.attempt
                );
                self.tell_model_status(ModelState::Retrying, r.attempt, message);
            }
            ModelStep::Connected(Ok(())) => {
                self.tell_model_status(
                    ModelState::Connected,
                    0,
                    "The interviewer is ready.".to_owned(),
                );
                // The connection's own `SetupComplete`, its first event, starts the session.
            }
            ModelStep::Connected(Err((code, reason))) => {
                metrics::error(ErrorKind::model_connect);
                tracing::error!(interview = %self.interview_id, code, error = %reason, "model connection failed");
                self.session
                    .handle_model(ModelEvent::Closed { code, reason }, now)
                    .ok();
            }
            ModelStep::Io(ModelIo::Event(ev)) => self.on_model_event(ev, now),
            ModelStep::Io(ModelIo::SendFailed(e)) => {
                metrics::error(ErrorKind::model_send);
                tracing::warn!(interview = %self.interview_id, error = %e, "model send failed");
            }
            ModelStep::Io(ModelIo::WriteTimedOut) => {
                metrics::error(ErrorKind::model_write_timeout);
                let reason = format!(
                    "the interviewer's connection stopped taking data for {} s",
                    model_link::MODEL_WRITE_TIMEOUT.as_secs()
                );
                tracing::error!(interview = %self.interview_id, %reason, "model write timed out");
                self.model.stop();
                self.session
                    .handle_model(
                        ModelEvent::Closed {
                            code: model_link::WRITE_TIMEOUT_CLOSE_CODE,
                            reason,
                        },
                        now,
                    )
                    .ok();
            }
        }
    }

    fn on_model_event(
        &mut self,
        ev: Option<Result<ModelEvent, preppal_gemini::LiveError>>,
        now: Instant,
    ) {
        match ev {
            Some(Ok(ev)) => {
                match &ev {
                    ModelEvent::Closed { .. } => self.model.stop(),
                    ModelEvent::Audio(_) => {
                        self.arrived = Some((Direction::model_to_client, now));
                        if !self.first_audio_seen {
                            self.first_audio_seen = true;
                            metrics::first_model_audio(now - self.setup_at);
                        }
                    }
                    ModelEvent::Reconnecting { reason } => {
                        metrics::reconnect();
                        tracing::info!(interview = %self.interview_id, %reason, "moving to a new model connection");
                    }
                    ModelEvent::Resumed { with_handle } => {
                        tracing::info!(interview = %self.interview_id, with_handle, "model connection resumed");
                    }
                    _ => {}
                }
                let reconnecting = matches!(ev, ModelEvent::Reconnecting { .. });
                self.session.handle_model(ev, now).ok();
                if reconnecting {
                    self.model.set_history(self.session.conversation_so_far());
                }
            }
            Some(Err(e)) => {
                // A malformed server frame: the connection goes on.
                metrics::error(ErrorKind::model_frame_refused);
                if let Some(skipped) = self.model_frame_log.hit(now, REFUSAL_LOG_PERIOD) {
                    tracing::warn!(interview = %self.interview_id, error = %e, not_logged_since = skipped, "model frame refused");
                }
            }
            None => {
                self.model.stop();
                self.session
                    .handle_model(
                        ModelEvent::Closed {
                            code: 1006,
                            reason: "model stream ended".into(),
                        },
                        now,
                    )
                    .ok();
            }
        }
    }

    /// The ping tick: a candidate whose writes made no progress for
    /// [`client_link::CLIENT_WRITE_TIMEOUT`] is taken as gone; otherwise it is pinged (its
    /// silence is the session's timer, [`SessionConfig::client_silence_limit`]).
    fn on_ping(&mut self) {
        let now = Instant::now();
        let Some(link) = self.client.as_mut() else {
            return;
        };
        if link.write_timed_out(now) {
            metrics::error(ErrorKind::client_write_stalled);
            tracing::warn!(interview = %self.interview_id, queued = link.queued_bytes(), "candidate not reading: writes stalled");
            self.detach("not reading (write timed out)");
        } else if link.enqueue(Message::Ping(Default::default())).is_err() {
            self.detach("not reading (queue full)");
        }
    }

    /// Queues an `ErrorResponse` for the candidate, if connected.
    fn send_error(&mut self, code: i32, message: &str) {
        if let Some(link) = self.client.as_mut() {
            if link.enqueue(error_message(code, message)).is_err() {
                self.detach("not reading (queue full)");
            }
        }
    }

    /// Queues a `ModelStatus` for the candidate, if connected.
    fn tell_model_status(&mut self, state: ModelState, attempt: u32, message: String) {
        let msg = proto::ServerToClientMessage {
            message: Some(ToClient::ModelStatus(proto::ModelStatus {
                state: state as i32,
                attempt,
                message,
            })),
        };
        if let Some(link) = self.client.as_mut() {
            if link
                .enqueue(Message::Binary(codec::encode_server(&msg)))
                .is_err()
            {
                self.detach("not reading (queue full)");
            }
        }
    }

    /// A client message was refused: the candidate gets a typed error; the log gets the
    /// first of a run and then one line per [`REFUSAL_LOG_PERIOD`].
    fn reject(&mut self, e: &DecodeError, now: Instant) {
        metrics::error(ErrorKind::client_message_refused);
        if let Some(skipped) = self.refusal_log.hit(now, REFUSAL_LOG_PERIOD) {
            tracing::info!(interview = %self.interview_id, error = %e, not_logged_since = skipped, "client message refused");
        }
        let code = match e {
            DecodeError::TooLarge { .. } | DecodeError::TextTooLong(_) => 413,
            _ => 400,
        };
        self.send_error(code, &e.to_string());
    }

    /// The candidate's socket is gone: forget it (dropping it closes the connection) and
    /// let the session wait for a reconnect.
    fn detach(&mut self, why: &str) {
        self.client = None;
        self.connected.store(false, Ordering::SeqCst);
        if !self.session.is_ended() {
            tracing::info!(interview = %self.interview_id, why, "candidate connection dropped; waiting for a reconnect");
        }
        self.session.handle_client_detached(Instant::now());
    }

    /// After the loop: refuse late sockets, close the model, hand the rest to the
    /// persister and wait for it, release the lease, close the candidate's socket. Every
    /// write here is bounded in time.
    async fn finish(mut self) {
        // No more reconnects: sockets handed over from now on are refused by the handler.
        self.attach.close();
        while let Ok(sock) = self.attach.try_recv() {
            tokio::spawn(refuse(*sock, 409, "the interview has ended", 1008));
        }
        // The final `Close` for the model; what the session said last (`SessionEnded`) goes
        // to the candidate now, not after the persister (which may be retrying a web tier
        // that is down).
        self.drive_outputs();
        if let Some(link) = self.client.as_mut() {
            if !link.flush_queue(FINAL_WRITE_TIMEOUT).await {
                tracing::debug!(interview = %self.interview_id, queued = link.queued_bytes(), "last messages not all sent");
            }
        }
        self.model.finish(FINAL_WRITE_TIMEOUT).await;
        let interview_id = self.interview_id.clone();
        let backlog = std::mem::take(&mut self.persist_backlog);
        let persist_tx = self.persist_tx.clone();
        let persister = self.persister.take();
        let (lease, lease_lost) = (self.lease.take(), self.lease_lost);
        let client = self.client.take();
        let end_reason = self.session.end_reason().cloned();
        let connected = Arc::clone(&self.connected);
        drop(self);
        let wait = Duration::from_secs(FINISH_WAIT_SECS);
        let persisted = tokio::time::timeout(wait, async move {
            for action in backlog {
                if persist_tx.send(action).await.is_err() {
                    break;
                }
            }
            drop(persist_tx);
            match persister {
                Some(p) => p.await.ok().flatten(),
                None => None,
            }
        });
        match Box::pin(persisted).await {
            Ok(Some(f)) => tracing::debug!(interview = %interview_id, ?f, "persisted"),
            Ok(None) => {
                tracing::error!(interview = %interview_id, "persister ended without finishing")
            }
            Err(_) => {
                tracing::error!(interview = %interview_id, "persister did not finish in time")
            }
        }
        if let Some(k) = lease {
            Box::pin(k.release()).await;
        }
        if let Some(link) = client {
            let sock = link.into_inner();
            if lease_lost {
                close(sock, 1012, "the interview moved to another worker").await;
            } else if end_reason == Some(EndReason::ServerShutdown) {
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
}

fn log_event(interview_id: &str, event: &SessionEvent) {
    match event {
        SessionEvent::Ended { reason, status } => {
            tracing::info!(interview = %interview_id, reason = reason.as_str(), %status, "interview ended");
        }
        other => tracing::debug!(interview = %interview_id, event = ?other, "session event"),
    }
}
