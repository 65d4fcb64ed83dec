//! The per-interview driver: one task that moves bytes and time between the candidate's
//! client (any [`Stream`] of [`ClientFrame`]s that is also a [`Sink`] of binary frames),
//! the model (a [`ResilientSession`]) and an [`InterviewSession`], which makes every
//! decision. The embedding API ([`crate::LiveInterview::run`]) and the bundled server's
//! worker both run on it; the server adds its registry, lease, pings, rate limits and
//! metrics through [`DriverHooks`], [`Signal`]s and its own client connection type.
//!
//! ```text
//! loop:
//!   drive_model_connect  session.wants_model → connect in a task (ModelStatus to the client)
//!   drive_outputs        poll_to_model  → model outbox (bounded, MODEL_QUEUE commands)
//!                        poll_to_client → client queue (bounded, CLIENT_QUEUE_BYTES)
//!                        poll_persist   → storage backlog (one action in flight, in order)
//!                        poll_event     → hooks (ClientSilent: the client is let go)
//!   (ended or abandoned? → finish)
//!   select!
//!     client io   → drive_client   (writes the queue; reads: handle_client_heard, decode,
//!                                   admit, handle_client; end → drive_client_lost)
//!     rejoin      → drive_rejoin   (handle_client_attached: a new client connection)
//!     model step  → drive_model    (connecting, retries; events → handle_model; the
//!                                   reconnect machine's inputs)
//!     stored      → the next storage action
//!     signal      → drive_signal   (Shutdown → handle_shutdown; Abandon → stop)
//!     deadline    → drive_timers   (a stalled client write; handle_timeout)
//! finish: refuse late rejoins, last outputs, flush the client (FINAL_WRITE_TIMEOUT), let
//!         the model take its Close, hand on what storage still waits for (persist wait)
//! ```
//!
//! Nothing is awaited outside the `select!`: every write goes into a bounded queue that a
//! branch drains, so a peer that stops reading cannot stop the others. A client whose queue
//! overflows or whose writes make no progress for the write timeout counts as lost (its
//! [`ClientLoss`] policy applies); a model whose writes stall for [`MODEL_WRITE_TIMEOUT`]
//! ends the interview with that reason. A model connected through a [`ConnectModel`] is
//! connected in a task of its own, so its setup and retries never hold the interview: the
//! candidate is told at once (`ModelStatus`), and the session's setup deadline and a
//! shutdown still end it. While the model connects, the candidate's frames wait in the
//! connection (typed answers sent before the start are kept by the session).
//!
//! Per relayed frame the driver allocates nothing of its own: a client frame is decoded in
//! place (`codec::decode_client` takes the `Bytes`), a model event moves into the session,
//! an outgoing message is encoded once into the frame the client's queue takes.

mod client_link;
mod hooks;
mod model_link;
mod model_steps;
mod rejoin;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Sink, Stream, StreamExt as _};
use preppal_core::codec::{self, DecodeError};
use preppal_core::proto::{
    self, model_status::State as ModelState, server_to_client_message::Message as ToClient,
};
use preppal_core::{InterviewSession, ModelCommand, PersistAction, SessionEvent};
use tokio::sync::mpsc;

use crate::resilient::ResilientSession;
use crate::timer::DeadlineTimer;
use client_link::{next_io, ClientIo, ClientLink};
pub use client_link::{
    ClientFrame, Duplex, CLIENT_QUEUE_BYTES, CLIENT_WRITE_TIMEOUT, FINAL_WRITE_TIMEOUT,
};
pub use hooks::{
    log_note, Admission, ClientLost, Dismissal, DriverHooks, DriverNote, RelayDirection, Signal,
    TracingHooks,
};
pub use model_link::{
    ConnectModel, Connecting, Retry, RetryNote, MODEL_QUEUE, MODEL_WRITE_TIMEOUT,
    WRITE_TIMEOUT_CLOSE_CODE,
};
use model_link::{ModelLink, ModelStep};
use rejoin::next_rejoin;
pub use rejoin::{rejoin_channel, Rejoin, Rejoins, REJOIN_QUEUE};

/// How long the driver waits, after the end, for storage to take what is left: 120 s
/// ([`InterviewDriver::with_persist_wait`]).
pub const PERSIST_WAIT: Duration = Duration::from_secs(120);

/// What the driver does when the candidate's client is lost (its stream ended, a write
/// failed, or it stopped reading).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientLoss {
    /// The interview ends ([`preppal_core::EndReason::ClientGone`]): the embedding default.
    #[default]
    EndInterview,
    /// The interview waits [`preppal_core::SessionConfig::reconnect_grace`] for a new
    /// client connection ([`Rejoin::attach`]); it ends when none comes in time.
    AwaitRejoin,
}

/// What a finished driver hands back ([`InterviewDriver::run`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct DriverOutcome<C> {
    /// The session: its transcript, status and end reason.
    pub session: InterviewSession,
    /// The client connection still attached, its last messages flushed (for at most
    /// [`FINAL_WRITE_TIMEOUT`]), for the caller to close.
    pub client: Option<C>,
    /// Whether the driver stopped on [`Signal::Abandon`] (the interview is not finished).
    pub abandoned: bool,
}

type Signals = Pin<Box<dyn Stream<Item = Signal> + Send>>;

/// What woke the driver's loop.
enum Wake<C, E> {
    Client(ClientIo),
    Rejoin(Option<Box<C>>),
    Model(ModelStep),
    Stored(Result<(), E>),
    Signal(Option<Signal>),
    Deadline,
}

/// One live interview's driver. See the [module docs](self).
pub struct InterviewDriver<C, H = TracingHooks> {
    session: InterviewSession,
    model: ModelLink,
    connector: Option<Arc<dyn ConnectModel>>,
    client: Option<ClientLink<C>>,
    loss: ClientLoss,
    rejoins: Option<mpsc::Receiver<Box<C>>>,
    signals: Option<Signals>,
    hooks: H,
    client_write_timeout: Duration,
    persist_wait: Duration,
    started: Instant,
    first_audio_seen: bool,
    abandoned: bool,
    /// The arrival of the frame being relayed, for [`DriverNote::Relayed`].
    arrived: Option<(RelayDirection, Instant)>,
}

impl<C, H> std::fmt::Debug for InterviewDriver<C, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InterviewDriver")
            .field("interview_id", &self.session.interview_id())
            .field("model", &self.model)
            .field("client", &self.client.is_some())
            .field("loss", &self.loss)
            .finish_non_exhaustive()
    }
}

impl<C> InterviewDriver<C, TracingHooks> {
    /// A driver for `session` with the model connection `live` (connected already), no
    /// client yet, the [`ClientLoss::EndInterview`] policy and [`TracingHooks`].
    pub fn new(mut session: InterviewSession, live: ResilientSession) -> Self {
        // Connected up front: the session does not ask for the model.
        session.handle_model_connecting(Instant::now());
        Self::with_model(session, ModelLink::live(live), None)
    }

    /// A driver for `session` that connects the model through `connector` when the session
    /// asks for it ([`InterviewSession::wants_model`]: once a client is attached), seeded
    /// as the session says ([`InterviewSession::model_seed`]); the client is told
    /// (`ModelStatus`: connecting, retrying, connected).
    pub fn connecting(session: InterviewSession, connector: Arc<dyn ConnectModel>) -> Self {
        Self::with_model(session, ModelLink::Idle, Some(connector))
    }

    fn with_model(
        session: InterviewSession,
        model: ModelLink,
        connector: Option<Arc<dyn ConnectModel>>,
    ) -> Self {
        Self {
            session,
            model,
            connector,
            client: None,
            loss: ClientLoss::EndInterview,
            rejoins: None,
            signals: None,
            hooks: TracingHooks,
            client_write_timeout: CLIENT_WRITE_TIMEOUT,
            persist_wait: PERSIST_WAIT,
            started: Instant::now(),
            first_audio_seen: false,
            abandoned: false,
            arrived: None,
        }
    }
}

impl<C, H> InterviewDriver<C, H>
where
    C: Stream<Item = ClientFrame> + Sink<Bytes> + Unpin,
    H: DriverHooks<C>,
{
    /// The same driver with `hooks` (admission, notes, dismissals).
    pub fn with_hooks<H2: DriverHooks<C>>(self, hooks: H2) -> InterviewDriver<C, H2> {
        InterviewDriver {
            session: self.session,
            model: self.model,
            connector: self.connector,
            client: self.client,
            loss: self.loss,
            rejoins: self.rejoins,
            signals: self.signals,
            hooks,
            client_write_timeout: self.client_write_timeout,
            persist_wait: self.persist_wait,
            started: self.started,
            first_audio_seen: self.first_audio_seen,
            abandoned: self.abandoned,
            arrived: self.arrived,
        }
    }

    /// Sets what a lost client means.
    #[must_use]
    pub fn with_client_loss(mut self, loss: ClientLoss) -> Self {
        self.loss = loss;
        self
    }

    /// How long one write to the client may make no progress before the client counts as
    /// lost; default [`CLIENT_WRITE_TIMEOUT`].
    #[must_use]
    pub fn with_client_write_timeout(mut self, timeout: Duration) -> Self {
        self.client_write_timeout = timeout;
        self
    }

    /// How long the driver waits after the end for storage to take what is left; default
    /// [`PERSIST_WAIT`].
    #[must_use]
    pub fn with_persist_wait(mut self, wait: Duration) -> Self {
        self.persist_wait = wait;
        self
    }

    /// Signals from outside ([`Signal::Shutdown`], [`Signal::Abandon`]); the stream's end
    /// means no more.
    #[must_use]
    pub fn with_signals(mut self, signals: impl Stream<Item = Signal> + Send + 'static) -> Self {
        self.signals = Some(Box::pin(signals));
        self
    }

    /// Sets the candidate's client connection: it yields each frame the client sends (a
    /// binary frame is a protobuf `ClientToServerMessage`) and takes each encoded
    /// `ServerToClientMessage` as one binary frame. For two separate halves, see
    /// [`Duplex`]. While the model connects the driver reads nothing (the frames wait in
    /// the connection) and polls the connection's `poll_flush` instead, so a connection
    /// with writes of its own (a keepalive ping) can make them.
    #[must_use]
    pub fn with_client(mut self, client: C) -> Self {
        self.client = Some(ClientLink::new(client));
        self
    }

    /// A handle that attaches new client connections while the driver runs
    /// ([`REJOIN_QUEUE`] may wait at a time). Calling it again replaces the earlier handles.
    pub fn rejoin(&mut self) -> Rejoin<C> {
        let (tx, rx) = rejoin_channel();
        self.rejoins = Some(rx.rx);
        tx
    }

    /// Takes new client connections from `rejoins` while the driver runs (see
    /// [`rejoin_channel`]).
    #[must_use]
    pub fn with_rejoins(mut self, rejoins: Rejoins<C>) -> Self {
        self.rejoins = Some(rejoins.rx);
        self
    }

    /// The session, to read its transcript and status.
    pub fn session(&self) -> &InterviewSession {
        &self.session
    }

    /// Runs the interview to its end. `persist` is called for each storage action, in order
    /// (for example `preppal_store::persist_to(&store, &id)`), one at a time and off the
    /// relay's path: the next is started when the one before has finished. A failed action
    /// is noted ([`DriverNote::PersistFailed`]) and the interview goes on. After the end
    /// the driver waits (up to its persist wait) for what storage has not taken yet.
    ///
    /// The client still attached comes back in the outcome, for the caller to close.
    pub async fn run<P, F, E>(mut self, mut persist: P) -> DriverOutcome<C>
    where
        P: FnMut(PersistAction) -> F,
        F: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        // One timer entry for the session's deadlines and a stalled write, moved only when
        // one comes earlier.
        let mut timer = DeadlineTimer::new();
        let mut storing: Option<Pin<Box<F>>> = None;
        // Bounded by what the session produces: one action per status change, turn end or
        // checkpoint, under its transcript size limit.
        let mut backlog: VecDeque<PersistAction> = VecDeque::new();
        let now = Instant::now();
        if self.client.is_some() {
            if !self.session.is_client_attached() {
                // An interview resumed from storage, with its client at hand.
                let _ = self.session.handle_client_attached(now);
            }
            self.hooks.note(DriverNote::ClientAttached);
        }
        loop {
            self.drive_model_connect();
            self.drive_outputs(&mut backlog);
            if storing.is_none() {
                storing = backlog.pop_front().map(|a| Box::pin(persist(a)));
            }
            if self.session.is_ended() || self.abandoned {
                break;
            }
            timer.set(self.next_deadline().map(tokio::time::Instant::from_std));
            let wake = tokio::select! {
                io = next_io(&mut self.client, !self.model.is_connecting()) => Wake::Client(io),
                joined = next_rejoin(&mut self.rejoins) => Wake::Rejoin(joined),
                step = self.model.next() => Wake::Model(step),
                stored = next_stored(&mut storing) => Wake::Stored(stored),
                signal = next_signal(&mut self.signals) => Wake::Signal(signal),
                () = timer.wait() => Wake::Deadline,
            };
            match wake {
                Wake::Client(io) => self.drive_client(io),
                Wake::Rejoin(joined) => self.drive_rejoin(joined),
                Wake::Model(step) => self.drive_model(step),
                Wake::Stored(Err(e)) => {
                    self.hooks.note(DriverNote::PersistFailed(&e.to_string()));
                }
                Wake::Stored(Ok(())) => {}
                Wake::Signal(signal) => self.drive_signal(signal),
                Wake::Deadline => self.drive_timers(Instant::now()),
            }
        }
        // Boxed: the end runs once, and inline its future would be held by the task for the
        // whole interview.
        Box::pin(self.finish(persist, storing, backlog)).await
    }

    /// The earliest of the session's next deadline and the client's stalled-write deadline.
    fn next_deadline(&self) -> Option<Instant> {
        let stall = self
            .client
            .as_ref()
            .and_then(|c| c.stall_deadline(self.client_write_timeout));
        match (self.session.poll_timeout(), stall) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Starts the model connection when the session wants it, seeded as the session says,
    /// and tells the candidate.
    fn drive_model_connect(&mut self) {
        let Some(connector) = self.connector.as_ref() else {
            return;
        };
        if !self.session.wants_model() {
            return;
        }
        let now = Instant::now();
        self.session.handle_model_connecting(now);
        let seed = self.session.model_seed().map(<[_]>::to_vec);
        self.model = ModelLink::start(connector.as_ref(), seed);
        self.hooks.note(DriverNote::ModelConnecting);
        self.tell_model_status(
            ModelState::Connecting,
            1,
            "The interviewer is connecting…".to_owned(),
        );
    }

    /// What the client's connection did: a frame, its end, or a failed write.
    fn drive_client(&mut self, io: ClientIo) {
        let now = Instant::now();
        match io {
            ClientIo::Received(Some(frame)) => {
                self.session.handle_client_heard(now);
                match frame {
                    ClientFrame::Binary(b) => match codec::decode_client(b) {
                        Ok(msg) => self.drive_client_message(msg, now),
                        Err(e) => self.refuse_frame(&e),
                    },
                    ClientFrame::Text => self.refuse_frame(&DecodeError::Malformed(
                        "text frame; protobuf binary frames expected".into(),
                    )),
                    ClientFrame::Control => {}
                }
            }
            ClientIo::Received(None) => self.drive_client_lost(ClientLost::Closed, now),
            ClientIo::WriteFailed => self.drive_client_lost(ClientLost::SendFailed, now),
        }
    }

    /// A decoded candidate message: admitted by the hooks, then the session's.
    fn drive_client_message(&mut self, msg: codec::ClientMessage, now: Instant) {
        match self.hooks.admit(&msg, now) {
            Admission::Accept => {
                if matches!(msg, codec::ClientMessage::Audio(_)) {
                    self.arrived = Some((RelayDirection::ClientToModel, now));
                }
                if let Err(e) = self.session.handle_client(msg, now) {
                    tracing::debug!(error = %e, "candidate message refused");
                }
            }
            Admission::Drop => {}
            Admission::Refuse { code, message } => {
                self.hooks.note(DriverNote::ClientThrottled { code });
                self.send_error(code, &message);
            }
        }
    }

    /// A frame that did not decode: the candidate gets a typed error.
    fn refuse_frame(&mut self, e: &DecodeError) {
        self.hooks.note(DriverNote::ClientRefused(e));
        let code = match e {
            DecodeError::TooLarge { .. } | DecodeError::TextTooLong(_) => 413,
            _ => 400,
        };
        self.send_error(code, &e.to_string());
    }

    /// The client is lost: dropped (which closes it), and the policy says whether the
    /// interview ends or waits.
    fn drive_client_lost(&mut self, why: ClientLost, now: Instant) {
        let queued_bytes = self.client.take().map_or(0, |c| c.queued_bytes());
        self.hooks
            .note(DriverNote::ClientLost { why, queued_bytes });
        match self.loss {
            ClientLoss::EndInterview => self.session.handle_client_gone(now),
            ClientLoss::AwaitRejoin => self.session.handle_client_detached(now),
        }
    }

    /// A new client connection: attached unless one is attached already or the interview
    /// ended (then it is dismissed).
    fn drive_rejoin(&mut self, joined: Option<Box<C>>) {
        let Some(client) = joined else {
            self.rejoins = None;
            return;
        };
        let now = Instant::now();
        if self.client.is_some() {
            // Two connections raced for one interview: the first one stays.
            self.hooks.dismiss(*client, Dismissal::AlreadyConnected);
        } else if self.session.handle_client_attached(now).is_ok() {
            self.client = Some(ClientLink::new(*client));
            self.hooks.note(DriverNote::ClientAttached);
            if self.model.is_connecting() {
                self.tell_model_status(
                    ModelState::Connecting,
                    1,
                    "The interviewer is connecting…".to_owned(),
                );
            }
        } else {
            self.hooks.dismiss(*client, Dismissal::InterviewEnded);
        }
    }

    /// A signal from outside.
    fn drive_signal(&mut self, signal: Option<Signal>) {
        let now = Instant::now();
        match signal {
            None => self.signals = None,
            Some(Signal::Shutdown) => {
                self.hooks.note(DriverNote::Shutdown);
                self.session.handle_shutdown(now);
            }
            Some(Signal::Abandon) => self.abandoned = true,
        }
    }

    /// A deadline passed: a client write that made no progress for the write timeout
    /// loses the client; the session's timers run.
    fn drive_timers(&mut self, now: Instant) {
        let stalled = self
            .client
            .as_ref()
            .and_then(|c| c.stall_deadline(self.client_write_timeout))
            .is_some_and(|at| at <= now);
        if stalled {
            self.drive_client_lost(ClientLost::WriteStalled, now);
        }
        self.session.handle_timeout(now);
    }

    /// Hands on every output of the session, in the documented order: model commands,
    /// client frames, storage actions, events.
    fn drive_outputs(&mut self, backlog: &mut VecDeque<PersistAction>) {
        // Whether a goAway switch may happen now is the session's call.
        self.model.set_quiet(self.session.is_quiet());
        while let Some(cmd) = self.session.poll_to_model() {
            let audio = matches!(cmd, ModelCommand::Audio(_));
            if self.model.send(cmd) {
                if audio {
                    self.hooks.note(DriverNote::FrameToModel);
                }
            } else if audio && self.model.is_live() {
                self.hooks.note(DriverNote::ModelQueueFull);
            }
        }
        let mut overflow = false;
        while let Some(msg) = self.session.poll_to_client() {
            let Some(link) = self.client.as_mut() else {
                continue;
            };
            let audio = matches!(msg.message, Some(ToClient::AudioResponse(_)));
            if link.enqueue(codec::encode_server(&msg)).is_err() {
                overflow = true;
                break;
            }
            if audio {
                self.hooks.note(DriverNote::FrameToClient);
            }
        }
        if overflow {
            self.drive_client_lost(ClientLost::QueueFull, Instant::now());
        }
        if let Some((direction, at)) = self.arrived.take() {
            let latency = at.elapsed();
            self.hooks.note(DriverNote::Relayed { direction, latency });
        }
        while let Some(action) = self.session.poll_persist() {
            backlog.push_back(action);
        }
        while let Some(event) = self.session.poll_event() {
            if let SessionEvent::ClientSilent { .. } = event {
                // The session took the client as gone (and waits or ends as its policy
                // says): let the connection go.
                if let Some(link) = self.client.take() {
                    let queued_bytes = link.queued_bytes();
                    let why = ClientLost::Silent;
                    self.hooks
                        .note(DriverNote::ClientLost { why, queued_bytes });
                    self.hooks.dismiss(link.into_inner(), Dismissal::Silent);
                }
            }
            self.hooks.note(DriverNote::Session(&event));
        }
    }

    /// Queues a `ModelStatus` for the candidate, if connected.
    fn tell_model_status(&mut self, state: ModelState, attempt: u32, message: String) {
        self.send(proto::ServerToClientMessage {
            message: Some(ToClient::ModelStatus(proto::ModelStatus {
                state: state as i32,
                attempt,
                message,
            })),
        });
    }

    /// Queues an `ErrorResponse` for the candidate, if connected.
    fn send_error(&mut self, code: i32, message: &str) {
        self.send(proto::ServerToClientMessage {
            message: Some(ToClient::ErrorResponse(proto::ErrorResponse {
                code,
                message: message.to_owned(),
                kind: 0,
            })),
        });
    }

    /// Queues a message the driver itself sends the candidate, if connected.
    fn send(&mut self, msg: proto::ServerToClientMessage) {
        let Some(link) = self.client.as_mut() else {
            return;
        };
        if link.enqueue(codec::encode_server(&msg)).is_err() {
            self.drive_client_lost(ClientLost::QueueFull, Instant::now());
        }
    }

    /// After the loop: dismiss late rejoins, hand on the last outputs (the model's final
    /// `Close`, the candidate's `SessionEnded`), flush the client, let the model take its
    /// close, and wait (up to the persist wait) for storage. Every write is bounded in time.
    async fn finish<P, F, E>(
        mut self,
        mut persist: P,
        storing: Option<Pin<Box<F>>>,
        mut backlog: VecDeque<PersistAction>,
    ) -> DriverOutcome<C>
    where
        P: FnMut(PersistAction) -> F,
        F: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        if let Some(mut rx) = self.rejoins.take() {
            rx.close();
            while let Ok(client) = rx.try_recv() {
                self.hooks.dismiss(*client, Dismissal::InterviewEnded);
            }
        }
        self.drive_outputs(&mut backlog);
        if let Some(link) = self.client.as_mut() {
            if !link.flush_queue(FINAL_WRITE_TIMEOUT).await {
                tracing::debug!(queued = link.queued_bytes(), "last messages not all sent");
            }
        }
        self.model.finish(FINAL_WRITE_TIMEOUT).await;
        let hooks = &mut self.hooks;
        let mut left = backlog.len() + usize::from(storing.is_some());
        let drained = tokio::time::timeout(self.persist_wait, async {
            if let Some(f) = storing {
                if let Err(e) = f.await {
                    hooks.note(DriverNote::PersistFailed(&e.to_string()));
                }
                left -= 1;
            }
            for action in backlog {
                if let Err(e) = persist(action).await {
                    hooks.note(DriverNote::PersistFailed(&e.to_string()));
                }
                left -= 1;
            }
        })
        .await;
        if drained.is_err() {
            self.hooks.note(DriverNote::PersistTimedOut { left });
        }
        DriverOutcome {
            session: self.session,
            client: self.client.map(ClientLink::into_inner),
            abandoned: self.abandoned,
        }
    }
}

/// The storage action in flight, once it finishes (then none is in flight); never ready
/// without one. Cancel-safe: the action's future lives in `storing`.
async fn next_stored<F, E>(storing: &mut Option<Pin<Box<F>>>) -> Result<(), E>
where
    F: Future<Output = Result<(), E>>,
{
    let result = match storing.as_mut() {
        Some(f) => f.as_mut().await,
        None => std::future::pending().await,
    };
    *storing = None;
    result
}

async fn next_signal(signals: &mut Option<Signals>) -> Option<Signal> {
    match signals {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

#[cfg(all(test, feature = "simulator"))]
mod hosted_tests;
#[cfg(all(test, feature = "simulator"))]
mod tests;
