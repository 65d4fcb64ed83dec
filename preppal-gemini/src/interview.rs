//! One live interview: a pure [`InterviewSession`] wired to a [`ResilientSession`], so an
//! app only moves the candidate's frames and stores what the session asks to store.
//!
//! ```text
//! candidate frame → LiveInterview::handle_client ─┐
//! (socket gone)   → LiveInterview::handle_client_gone
//! LiveInterview::tick: model event or timer ──────┤→ InterviewSession → model commands sent
//!                                                 └→ poll_to_client / poll_persist
//! ```

use std::collections::VecDeque;
use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Sink, SinkExt as _, Stream};
use preppal_core::codec::ClientMessage;
use preppal_core::proto::ServerToClientMessage;
use preppal_core::{InterviewSession, ModelCommand, PersistAction, SessionConfig, SessionEvent};

use crate::config::LiveConfig;
use crate::driver::{ClientLoss, Duplex, InterviewDriver, FINAL_WRITE_TIMEOUT};
use crate::error::LiveError;
use crate::resilient::{ReconnectPolicy, ResilientSession};

/// A live interview: an [`InterviewSession`] driven by a [`ResilientSession`].
///
/// Either hand it the candidate's frames with [`LiveInterview::run`], or drive it step by
/// step from one task: pass candidate messages to [`LiveInterview::handle_client`], poll
/// [`LiveInterview::tick`] (cancel-safe, so it can sit in `tokio::select!` next to the
/// candidate's socket), and after each call drain [`LiveInterview::poll_to_client`] and
/// [`LiveInterview::poll_persist`] until [`LiveInterview::is_ended`].
#[derive(Debug)]
pub struct LiveInterview {
    session: InterviewSession,
    live: Option<ResilientSession>,
    to_model: VecDeque<ModelCommand>,
}

impl LiveInterview {
    /// Connects to the model (`config`, turned into a resumable session with `policy`; with
    /// `contextWindowCompression` when `session_config.max_duration` exceeds 15 min) and
    /// starts the interview `interview_id`.
    ///
    /// # Errors
    /// The [`LiveError`] of the first connection.
    pub async fn start(
        interview_id: impl Into<String>,
        session_config: SessionConfig,
        config: LiveConfig,
        policy: ReconnectPolicy,
    ) -> Result<Self, LiveError> {
        let config = config.with_interview_length(session_config.max_duration);
        let live = ResilientSession::connect(config, policy).await?;
        let mut session = InterviewSession::new(interview_id, session_config, Instant::now());
        // Connected up front: the session does not ask for the model again.
        session.handle_model_connecting(Instant::now());
        Ok(Self {
            session,
            live: Some(live),
            to_model: VecDeque::new(),
        })
    }

    /// Runs the whole interview over the candidate's binary frames, then returns the
    /// session (its transcript, status and end reason).
    ///
    /// - `from_client` yields the payload of each binary frame the candidate sends (a
    ///   protobuf `ClientToServerMessage`, `proto/interview.proto`); its end means the
    ///   candidate is gone. A frame that does not decode is skipped, and the candidate is
    ///   sent an `ErrorResponse` (413 when too large, 400 otherwise).
    /// - `to_client` takes each `ServerToClientMessage` the session produces, encoded, to
    ///   be sent as one binary frame. A send that fails, a backlog past
    ///   [`crate::driver::CLIENT_QUEUE_BYTES`] or a send with no progress for
    ///   [`crate::driver::CLIENT_WRITE_TIMEOUT`] means the candidate is gone.
    /// - `persist` is called for each storage action, in order, one at a time (for example
    ///   `preppal_store::persist_to(&store, &id)`), off the relay's path; a failed action is
    ///   logged and the interview goes on. After the end the driver waits up to
    ///   [`crate::driver::PERSIST_WAIT`] for storage to take what is left.
    ///
    /// It returns once the interview has ended, the last messages were sent to a client that
    /// is still there (for at most [`crate::driver::FINAL_WRITE_TIMEOUT`]) and storage took
    /// every action (for at most [`crate::driver::PERSIST_WAIT`]).
    /// The loop is the one [`InterviewDriver`] (the server's worker runs the same steps)
    /// with [`ClientLoss::EndInterview`].
    pub async fn run<R, W, P, F, E>(
        mut self,
        from_client: R,
        to_client: W,
        persist: P,
    ) -> InterviewSession
    where
        R: Stream<Item = Bytes>,
        W: Sink<Bytes>,
        P: FnMut(PersistAction) -> F,
        F: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let mut session = self.session;
        // Commands not yet sent when a step-by-step caller switched to `run`.
        if let Some(live) = self.live.as_mut() {
            for cmd in self.to_model.drain(..) {
                if let Err(e) = live.send(cmd).await {
                    tracing::debug!(error = %e, "model command dropped");
                }
            }
        }
        let Some(live) = self.live else {
            session
                .handle_model(
                    preppal_core::ModelEvent::Closed {
                        code: 1006,
                        reason: "model stream ended".into(),
                    },
                    Instant::now(),
                )
                .ok();
            return session;
        };
        let outcome = InterviewDriver::new(session, live)
            .with_client_loss(ClientLoss::EndInterview)
            .with_client(Duplex::new(from_client, to_client))
            .run(persist)
            .await;
        if let Some(mut client) = outcome.client {
            let _ = tokio::time::timeout(FINAL_WRITE_TIMEOUT, client.close()).await;
        }
        outcome.session
    }

    /// The session, to read its transcript and status.
    pub fn session(&self) -> &InterviewSession {
        &self.session
    }

    /// Whether the interview has ended (drain the outputs once more after it has).
    pub fn is_ended(&self) -> bool {
        self.session.is_ended()
    }

    /// A decoded message from the candidate; commands it causes are sent to the model.
    /// Messages after the end are ignored.
    pub async fn handle_client(&mut self, msg: ClientMessage) {
        let _ = self.session.handle_client(msg, Instant::now());
        self.send_to_model().await;
    }

    /// The candidate's socket closed or failed: the interview ends.
    pub async fn handle_client_gone(&mut self) {
        self.session.handle_client_gone(Instant::now());
        self.send_to_model().await;
    }

    /// Waits for the next model event or session timer and feeds it to the session, then
    /// sends the model commands that follow. Cancel-safe while waiting; commands not yet
    /// sent when cancelled are sent on the next call. After the end it waits forever.
    pub async fn tick(&mut self) {
        self.send_to_model().await;
        if self.session.is_ended() {
            return std::future::pending().await;
        }
        let timer = self
            .session
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            event = next_event(&mut self.live) => match event {
                Some(Ok(event)) => {
                    let reconnecting = matches!(event, preppal_core::ModelEvent::Reconnecting { .. });
                    let _ = self.session.handle_model(event, Instant::now());
                    if let (true, Some(live)) = (reconnecting, self.live.as_mut()) {
                        live.set_history(&self.session.conversation_so_far());
                    }
                }
                Some(Err(e)) => tracing::warn!(error = %e, "model frame refused"),
                None => self.live = None,
            },
            () = tokio::time::sleep_until(timer.into()) => self.session.handle_timeout(Instant::now()),
        }
        self.send_to_model().await;
    }

    /// The next message for the candidate's client.
    pub fn poll_to_client(&mut self) -> Option<ServerToClientMessage> {
        self.session.poll_to_client()
    }

    /// The next storage action, in order.
    pub fn poll_persist(&mut self) -> Option<PersistAction> {
        self.session.poll_persist()
    }

    /// The next event for logs and metrics.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.session.poll_event()
    }

    async fn send_to_model(&mut self) {
        while let Some(cmd) = self.session.poll_to_model() {
            self.to_model.push_back(cmd);
        }
        if let Some(live) = self.live.as_mut() {
            live.set_quiet(self.session.is_quiet());
        }
        while let Some(cmd) = self.to_model.front().cloned() {
            let Some(live) = self.live.as_mut() else {
                self.to_model.clear();
                return;
            };
            if let Err(e) = live.send(cmd).await {
                tracing::debug!(error = %e, "model command dropped");
            }
            self.to_model.pop_front();
        }
    }
}

async fn next_event(
    live: &mut Option<ResilientSession>,
) -> Option<Result<preppal_core::ModelEvent, LiveError>> {
    match live {
        Some(l) => l.next_event().await,
        None => std::future::pending().await,
    }
}
