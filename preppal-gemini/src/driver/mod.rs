//! The per-interview driver: one task that moves bytes and time between the candidate's
//! client (any [`Stream`] of binary frames and [`Sink`] for them), the model (a
//! [`ResilientSession`]) and an [`InterviewSession`], which makes every decision.
//!
//! ```text
//! loop:
//!   drive_outputs   session → model commands, client frames, storage actions, events
//!   (ended? → finish: close the client's sink, return the session)
//!   select!
//!     client frame  → drive_client   (handle_client_heard, decode, handle_client;
//!                                     end of stream → drive_client_lost)
//!     model event   → drive_model    (handle_model; the reconnect machine's inputs)
//!     rejoin        → drive_rejoin   (handle_client_attached: a new client stream)
//!     poll_timeout  → drive_timers   (handle_timeout)
//! ```
//!
//! What a lost client means is a parameter ([`ClientLoss`]): the interview ends (the
//! embedding default), or it waits the session's reconnect grace period
//! ([`preppal_core::SessionConfig::reconnect_grace`]) for a new client stream handed over
//! through a [`Rejoin`]. Per frame the driver allocates nothing of its own: a client frame
//! is decoded in place (`codec::decode_client` takes the `Bytes`), a model event moves
//! into the session, an outgoing message is encoded once into the frame the sink takes.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Sink, SinkExt as _, Stream, StreamExt as _};
use preppal_core::codec;
use preppal_core::{InterviewSession, ModelEvent, PersistAction, SessionEvent};
use tokio::sync::mpsc;

use crate::error::LiveError;
use crate::resilient::ResilientSession;

/// How long one write to the client may make no progress before the client counts as
/// gone (its loss policy applies), in the manner of the bundled server's worker: 10 s.
pub const CLIENT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the driver does when the candidate's client stream ends or a send to it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientLoss {
    /// The interview ends ([`preppal_core::EndReason::ClientGone`]): the embedding default.
    #[default]
    EndInterview,
    /// The interview waits [`preppal_core::SessionConfig::reconnect_grace`] for a new
    /// client stream ([`Rejoin::attach`]); it ends when none comes in time.
    AwaitRejoin,
}

/// The candidate's client as the driver holds it: its frames in, its frames out.
struct ClientEnds<R, W> {
    from: Pin<Box<R>>,
    to: Pin<Box<W>>,
}

/// Hands a new client stream to a running driver (with [`ClientLoss::AwaitRejoin`]).
#[derive(Debug)]
pub struct Rejoin<R, W> {
    tx: mpsc::Sender<(R, W)>,
}

impl<R, W> Clone for Rejoin<R, W> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
        }
    }
}

impl<R, W> Rejoin<R, W> {
    /// Attaches `from` (the client's binary frames) and `to` (a sink for the frames it is
    /// sent) to the interview. The session sends the new client a `SessionResumed`.
    ///
    /// # Errors
    /// Gives the pair back when the driver has ended (or already holds a rejoin waiting).
    pub fn attach(&self, from: R, to: W) -> Result<(), (R, W)> {
        self.tx.try_send((from, to)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(p) | mpsc::error::TrySendError::Closed(p) => p,
        })
    }
}

/// One live interview's driver. See the [module docs](self).
pub struct InterviewDriver<R, W> {
    session: InterviewSession,
    live: Option<ResilientSession>,
    client: Option<ClientEnds<R, W>>,
    loss: ClientLoss,
    rejoin: Option<mpsc::Receiver<(R, W)>>,
    client_write_timeout: Duration,
}

impl<R, W> std::fmt::Debug for InterviewDriver<R, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InterviewDriver")
            .field("interview_id", &self.session.interview_id())
            .field("model", &self.live.is_some())
            .field("client", &self.client.is_some())
            .field("loss", &self.loss)
            .finish()
    }
}

impl<R, W> InterviewDriver<R, W>
where
    R: Stream<Item = Bytes>,
    W: Sink<Bytes>,
{
    /// A driver for `session` with the model connection `live`, with no client yet and
    /// the [`ClientLoss::EndInterview`] policy.
    pub fn new(session: InterviewSession, live: ResilientSession) -> Self {
        Self {
            session,
            live: Some(live),
            client: None,
            loss: ClientLoss::EndInterview,
            rejoin: None,
            client_write_timeout: CLIENT_WRITE_TIMEOUT,
        }
    }

    /// Sets what a lost client means.
    #[must_use]
    pub fn with_client_loss(mut self, loss: ClientLoss) -> Self {
        self.loss = loss;
        self
    }

    /// How long one write to the client may make no progress before the client counts as
    /// gone; default [`CLIENT_WRITE_TIMEOUT`].
    #[must_use]
    pub fn with_client_write_timeout(mut self, timeout: Duration) -> Self {
        self.client_write_timeout = timeout;
        self
    }

    /// Sets the candidate's client: `from` yields the payload of each binary frame it sends
    /// (a protobuf `ClientToServerMessage`); `to` takes each encoded
    /// `ServerToClientMessage` as one binary frame.
    #[must_use]
    pub fn with_client(mut self, from: R, to: W) -> Self {
        self.client = Some(ClientEnds {
            from: Box::pin(from),
            to: Box::pin(to),
        });
        self
    }

    /// A handle that attaches new client streams while the driver runs (one waits at a
    /// time).
    pub fn rejoin(&mut self) -> Rejoin<R, W> {
        let (tx, rx) = mpsc::channel(1);
        self.rejoin = Some(rx);
        Rejoin { tx }
    }

    /// The session, to read its transcript and status.
    pub fn session(&self) -> &InterviewSession {
        &self.session
    }

    /// Runs the interview to its end and returns the session (its transcript, status and
    /// end reason). `persist` is awaited for each storage action, in order (for example
    /// `preppal_store::persist_to(&store, &id)`), so storage keeps pace with the
    /// interview; a failed action is logged and the interview goes on.
    pub async fn run<P, F, E>(mut self, mut persist: P) -> InterviewSession
    where
        P: FnMut(PersistAction) -> F,
        F: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        loop {
            self.drive_outputs(&mut persist).await;
            if self.session.is_ended() {
                self.finish().await;
                return self.session;
            }
            let timer = self
                .session
                .poll_timeout()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                frame = next_frame(&mut self.client) => self.drive_client(frame),
                event = next_event(&mut self.live) => self.drive_model(event),
                joined = next_rejoin(&mut self.rejoin) => self.drive_rejoin(joined),
                () = tokio::time::sleep_until(timer.into()) => self.drive_timers(Instant::now()),
            }
        }
    }

    /// A frame from the client (`None`: its stream ended).
    fn drive_client(&mut self, frame: Option<Bytes>) {
        let now = Instant::now();
        let Some(frame) = frame else {
            self.drive_client_lost(now);
            return;
        };
        self.session.handle_client_heard(now);
        match codec::decode_client(frame) {
            Ok(msg) => {
                if let Err(e) = self.session.handle_client(msg, now) {
                    tracing::debug!(error = %e, "candidate message refused");
                }
            }
            Err(e) => tracing::debug!(error = %e, "candidate frame refused"),
        }
    }

    /// The client is gone: the policy says whether the interview ends or waits.
    fn drive_client_lost(&mut self, now: Instant) {
        self.client = None;
        match self.loss {
            ClientLoss::EndInterview => self.session.handle_client_gone(now),
            ClientLoss::AwaitRejoin => self.session.handle_client_detached(now),
        }
    }

    /// A model event. The one place the model connection is told what the session knows.
    fn drive_model(&mut self, event: Option<Result<ModelEvent, LiveError>>) {
        let now = Instant::now();
        match event {
            Some(Ok(event)) => {
                // The reconnect machine keeps no transcript: on `Reconnecting` it is handed
                // the session's conversation so far, to seed a connection without a
                // resumption handle (`ResilientSession::set_history`).
                let reconnecting = matches!(event, ModelEvent::Reconnecting { .. });
                let _ = self.session.handle_model(event, now);
                if let (true, Some(live)) = (reconnecting, self.live.as_mut()) {
                    live.set_history(&self.session.conversation_so_far());
                }
            }
            Some(Err(e)) => tracing::warn!(error = %e, "model frame refused"),
            None => {
                self.live = None;
                let closed = ModelEvent::Closed {
                    code: 1006,
                    reason: "model stream ended".into(),
                };
                let _ = self.session.handle_model(closed, now);
            }
        }
    }

    /// A new client stream: attached unless one is attached already or the interview ended
    /// (then its sink is closed).
    fn drive_rejoin(&mut self, joined: Option<(R, W)>) {
        let Some((from, to)) = joined else {
            self.rejoin = None;
            return;
        };
        if self.client.is_some() || self.session.handle_client_attached(Instant::now()).is_err() {
            // Refused: dropping the pair closes the new connection.
            return;
        }
        self.client = Some(ClientEnds {
            from: Box::pin(from),
            to: Box::pin(to),
        });
    }

    /// A session timer is due.
    fn drive_timers(&mut self, now: Instant) {
        self.session.handle_timeout(now);
    }

    /// Hands on every output of the session, in the documented order: model commands,
    /// client frames, storage actions, events.
    async fn drive_outputs<P, F, E>(&mut self, persist: &mut P)
    where
        P: FnMut(PersistAction) -> F,
        F: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        if let Some(live) = self.live.as_mut() {
            // Whether a goAway switch may happen now is the session's call.
            live.set_quiet(self.session.is_quiet());
        }
        while let Some(cmd) = self.session.poll_to_model() {
            let Some(live) = self.live.as_mut() else {
                continue;
            };
            if let Err(e) = live.send(cmd).await {
                tracing::debug!(error = %e, "model command dropped");
            }
        }
        while let Some(msg) = self.session.poll_to_client() {
            let Some(client) = self.client.as_mut() else {
                continue;
            };
            // A client that stops reading must not hold the interview: a write that makes
            // no progress for the write timeout counts as the client gone.
            let sent = tokio::time::timeout(
                self.client_write_timeout,
                client.to.send(codec::encode_server(&msg)),
            )
            .await;
            if !matches!(sent, Ok(Ok(()))) {
                self.drive_client_lost(Instant::now());
            }
        }
        while let Some(action) = self.session.poll_persist() {
            if let Err(e) = persist(action).await {
                tracing::warn!(error = %e, "storage action failed");
            }
        }
        while let Some(event) = self.session.poll_event() {
            if let SessionEvent::ClientSilent { silent_ms } = event {
                // The session took the client as gone: drop its streams.
                tracing::info!(silent_ms, "candidate silent past the limit");
                self.client = None;
            }
        }
    }

    /// After the end: the client's sink is closed.
    async fn finish(&mut self) {
        if let Some(mut client) = self.client.take() {
            let _ = client.to.close().await;
        }
    }
}

async fn next_frame<R: Stream<Item = Bytes>, W>(
    client: &mut Option<ClientEnds<R, W>>,
) -> Option<Bytes> {
    match client {
        Some(c) => c.from.next().await,
        None => std::future::pending().await,
    }
}

async fn next_event(live: &mut Option<ResilientSession>) -> Option<Result<ModelEvent, LiveError>> {
    match live {
        Some(l) => l.next_event().await,
        None => std::future::pending().await,
    }
}

async fn next_rejoin<R, W>(rejoin: &mut Option<mpsc::Receiver<(R, W)>>) -> Option<(R, W)> {
    match rejoin {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(all(test, feature = "simulator"))]
mod tests;
