//! A Live session that outlives its WebSocket connection.
//!
//! A Gemini Live connection lasts about 10 minutes, is announced to end by `goAway`, and may
//! drop with a retryable close (1011, 1006) at any time (gemini-live-protocol notes §4.3,
//! §6.1, §6.2). [`ResilientSession`] wraps [`LiveConnection`] and moves the interview to a new
//! connection when that happens:
//!
//! - it asks for `sessionResumption` and keeps the last handle that came with
//!   `resumable: true` (§4.4);
//! - on `goAway` it starts a timer from `timeLeft` and switches at the first quiet moment (no
//!   generation in flight on the connection, and the caller's interview quiet: no
//!   interviewer turn open and no candidate answer under way, as the caller tells it with
//!   [`ResilientSession::set_quiet`]; audio sent after the last resumption handle is not
//!   part of the resumed session), or when the timer fires, whichever comes first, even if
//!   the server has gone silent;
//! - on a retryable close it reconnects with the handle, with capped exponential backoff
//!   (`backon`), after closing the old socket (a resume was refused while the old socket was
//!   still open, §4.4);
//! - with no handle it seeds the new connection from the transcript the caller handed it
//!   ([`ResilientSession::set_history`]; a `clientContent` history,
//!   [`crate::protocol::history_message`]) instead of starting the interview again;
//! - commands sent during the switch are buffered (audio bounded by
//!   [`ReconnectPolicy::max_buffered_audio_bytes`], oldest dropped first) and sent after the
//!   new connection opens;
//! - a watchdog notices a silent stall (socket open, a reply owed or a generation under way,
//!   and no model output for [`ReconnectPolicy::stall_timeout`]) and switches too; a new
//!   connection that stalls again before saying anything is re-prompted
//!   ([`preppal_core::session::REPROMPT_INSTRUCTION`]) instead of being replaced again;
//! - a `goAway` switch waits (within the time `goAway` leaves) for a resumable handle that
//!   covers the model's last completed turn, so the resumed model does not say it again;
//!   when the deadline comes first it resumes with the handle it has and drops the model's
//!   first turn on the new connection if it only repeats the interviewer's last entry of
//!   the handed transcript;
//! - candidate input (audio, typed answers) sent after the last resumable handle is kept
//!   (bounded as the switch buffer) and sent again on the connection that resumes from that
//!   handle: the resumed session has not seen it.
//!
//! The decisions are made by a state machine with no I/O (`machine.rs`: events, commands
//! and time in, actions out); this module is its async shell. Neither keeps a transcript
//! or turn state: the caller's interview (an `InterviewSession`) owns those.
//!
//! # Calling contract
//!
//! - After handling each input (a candidate message, a model event, a timer), call
//!   [`ResilientSession::set_quiet`] with the interview's `InterviewSession::is_quiet`.
//! - On [`ModelEvent::Reconnecting`], after the interview has handled it, call
//!   [`ResilientSession::set_history`] with the conversation so far
//!   (`InterviewSession::conversation_so_far`): the new connection is seeded from it when
//!   no handle is at hand, once it is open. Without it such a connection starts from
//!   `Begin` (when the interview had begun).
//!
//! It yields the same [`ModelEvent`]s as [`LiveConnection`], plus [`ModelEvent::Reconnecting`]
//! and [`ModelEvent::Resumed`] around a switch. [`ModelEvent::Closed`] comes only when the
//! model is gone for good: a close that is not retryable (1000, 1007, 1008, quota), or
//! retries exhausted.

use std::time::Duration;

use backon::Retryable as _;
use preppal_core::{ModelCommand, ModelEvent, TranscriptEntry};
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};

use crate::client::{LiveConnection, ABNORMAL_CLOSURE};
use crate::config::LiveConfig;
use crate::error::LiveError;
use crate::timer::DeadlineTimer;

mod buffer;
mod machine;
mod policy;

use machine::{Action, Reconnect, Route};
pub use policy::ReconnectPolicy;

/// Connects with backoff: retryable failures ([`LiveError::is_retryable`]) are tried again
/// per `policy`, calling `on_retry` with the failure and the delay before each further
/// attempt.
async fn connect_with_backoff(
    config: &LiveConfig,
    policy: &ReconnectPolicy,
    on_retry: &mut (dyn FnMut(&LiveError, Duration) + Send),
) -> Result<LiveConnection, LiveError> {
    (|| async { LiveConnection::connect(config).await })
        .retry(policy.backoff())
        .when(LiveError::is_retryable)
        .notify(|e, delay| {
            tracing::warn!(error = %e, ?delay, "Gemini Live connection failed; trying again");
            on_retry(e, delay);
        })
        .await
}

/// The task making the next connection. The connection comes boxed: the result sits in the
/// caller's `next_event` future, which lives inside every driver loop, and an inline
/// `LiveConnection` would make that future (and each interview's task) 1.5 KB larger.
type Switch = JoinHandle<Result<Box<LiveConnection>, LiveError>>;

/// A Gemini Live session that survives `goAway`, retryable closes and stalls by moving to a
/// new connection. See the module docs, and its calling contract.
///
/// Like [`LiveConnection`]: [`ResilientSession::send`] sends commands,
/// [`ResilientSession::next_event`] yields events and is cancel-safe (a switch runs on its
/// own task, so polling `next_event` inside `tokio::select!` never restarts it).
///
/// Events: [`ModelEvent::SetupComplete`] once, first; then the model's events; around each
/// switch [`ModelEvent::Reconnecting`] and then [`ModelEvent::Resumed`] (a generation cut by
/// the switch ends with [`ModelEvent::Interrupted`] and an open model turn with
/// [`ModelEvent::TurnComplete`] before `Reconnecting`, so a transcript never glues two
/// connections' turns together); at most one [`ModelEvent::Closed`], last.
#[derive(Debug)]
pub struct ResilientSession {
    config: LiveConfig,
    machine: Reconnect,
    live: Option<LiveConnection>,
    switch: Option<Switch>,
    error: Option<LiveError>,
    /// The machine's next deadline (stall watchdog, `goAway`), one timer entry for the
    /// session's life.
    timer: DeadlineTimer,
}

impl ResilientSession {
    /// Opens the first connection (with backoff on retryable failures) with
    /// `sessionResumption` turned on.
    ///
    /// # Errors
    /// The last [`LiveError`] when the first connection cannot be made: at once for one that
    /// is not retryable (bad key, quota, 1007/1008), after `policy.max_retries` retries
    /// otherwise.
    pub async fn connect(config: LiveConfig, policy: ReconnectPolicy) -> Result<Self, LiveError> {
        Self::connect_observed(config, policy, &mut |_: &LiveError, _: Duration| {}).await
    }

    /// As [`ResilientSession::connect`], calling `on_retry` with the failure and the backoff
    /// delay before each retry of the first connection, so that a caller can tell its user
    /// that the model is still being connected.
    ///
    /// # Errors
    /// As [`ResilientSession::connect`].
    pub async fn connect_observed(
        config: LiveConfig,
        policy: ReconnectPolicy,
        on_retry: &mut (dyn FnMut(&LiveError, Duration) + Send),
    ) -> Result<Self, LiveError> {
        let config = config.with_session_resumption(true);
        let live = connect_with_backoff(&config, &policy, on_retry).await?;
        Ok(Self {
            config,
            machine: Reconnect::new(policy, Instant::now().into_std()),
            live: Some(live),
            switch: None,
            error: None,
            timer: DeadlineTimer::new(),
        })
    }

    /// Connects for an interview already under way when no resumption handle is at hand
    /// (for example after the server restarted): as [`ResilientSession::connect`], then the
    /// first connection is seeded with `entries` as a `clientContent` history (the same
    /// re-seed a switch without a handle uses, [`crate::protocol::history_message`]), with
    /// `turnComplete: true` when the candidate spoke last so the model answers at once.
    /// With no entries it is a plain connect and the caller sends
    /// [`ModelCommand::Begin`].
    ///
    /// # Errors
    /// As [`ResilientSession::connect`], or the [`LiveError`] of sending the history.
    pub async fn connect_seeded(
        config: LiveConfig,
        policy: ReconnectPolicy,
        entries: &[TranscriptEntry],
    ) -> Result<Self, LiveError> {
        Self::connect_seeded_observed(config, policy, entries, &mut |_: &LiveError, _| {}).await
    }

    /// As [`ResilientSession::connect_seeded`], calling `on_retry` before each retry of the
    /// first connection (see [`ResilientSession::connect_observed`]).
    ///
    /// # Errors
    /// As [`ResilientSession::connect_seeded`].
    pub async fn connect_seeded_observed(
        config: LiveConfig,
        policy: ReconnectPolicy,
        entries: &[TranscriptEntry],
        on_retry: &mut (dyn FnMut(&LiveError, Duration) + Send),
    ) -> Result<Self, LiveError> {
        let mut session = Self::connect_observed(config, policy, on_retry).await?;
        let seed = session
            .machine
            .seed_first(entries, Instant::now().into_std());
        if let (Some(seed), Some(live)) = (seed, session.live.as_mut()) {
            live.send_message(seed).await?;
        }
        Ok(session)
    }

    /// The last session resumption handle that came with `resumable: true`, if any.
    pub fn resumption_handle(&self) -> Option<&str> {
        self.machine.resumption_handle()
    }

    /// How many times the session moved to a new connection.
    pub fn switches(&self) -> u32 {
        self.machine.switches()
    }

    /// Bytes of candidate audio dropped because the switch buffer was full.
    pub fn dropped_buffered_audio_bytes(&self) -> u64 {
        self.machine.dropped_buffered_audio_bytes()
    }

    /// Whether a switch to a new connection is under way (commands are being buffered).
    pub fn is_switching(&self) -> bool {
        self.machine.is_switching()
    }

    /// Hands over the interview's transcript: the next connection made without a
    /// resumption handle is seeded with it (with `turnComplete: true` when the candidate
    /// spoke last or a reply was owed), and a connection resumed from a handle older than
    /// the interviewer's last entry drops its first turn when it only repeats that entry.
    ///
    /// Call it on [`ModelEvent::Reconnecting`], after the interview has handled that event
    /// (the entries then hold every turn of the old connection); it is used once the new
    /// connection is open and then let go. The session keeps no transcript of its own.
    pub fn set_history(&mut self, entries: &[TranscriptEntry]) {
        self.machine.set_history(entries);
    }

    /// Tells whether the interview is quiet: no interviewer turn open and no candidate
    /// answer under way (`InterviewSession::is_quiet`). A `goAway` switch waits for a quiet
    /// moment (or its deadline). Call it after handling each input; until the first call
    /// the interview counts as quiet.
    pub fn set_quiet(&mut self, quiet: bool) {
        self.machine.set_quiet(quiet);
    }

    /// Sends one command, or buffers it while a switch is under way.
    ///
    /// A command whose write fails is buffered too: the connection's close follows on
    /// [`ResilientSession::next_event`], which switches and then sends the buffer.
    /// [`ModelCommand::Close`] closes for good: the next events end with
    /// [`ModelEvent::Closed`]. Not cancel-safe (as [`LiveConnection::send`]).
    ///
    /// # Errors
    /// [`LiveError::InvalidConfig`] after the session ended for good (the command is dropped).
    pub async fn send(&mut self, cmd: ModelCommand) -> Result<(), LiveError> {
        match self.machine.route_command(&cmd, Instant::now().into_std()) {
            Route::Ended => {
                return Err(LiveError::InvalidConfig(
                    "the model session has ended".to_owned(),
                ))
            }
            Route::AbortSwitch => {
                if let Some(switch) = self.switch.take() {
                    switch.abort();
                }
            }
            Route::Close => {
                if let Some(live) = self.live.as_mut() {
                    if let Err(e) = live.send(ModelCommand::Close).await {
                        tracing::debug!(error = %e, "closing the model connection failed");
                        self.live = None;
                        self.machine.close_failed();
                    }
                }
            }
            Route::Drop => {}
            Route::Send => match self.live.as_mut() {
                Some(live) if !live.is_ended() => {
                    if let Err(e) = live.send(cmd.clone()).await {
                        tracing::warn!(error = %e, "model send failed; keeping the command for the next connection");
                        self.machine.buffer(cmd);
                    } else {
                        self.machine.sent(cmd);
                    }
                }
                _ => self.machine.buffer(cmd),
            },
            Route::Buffer => self.machine.buffer(cmd),
        }
        Ok(())
    }

    /// The next event, or `None` after [`ModelEvent::Closed`]. Cancel-safe.
    ///
    /// A protocol error in one server frame is yielded as `Some(Err(..))` and the session
    /// goes on; a WebSocket failure is not yielded (the switch that follows handles it).
    pub async fn next_event(&mut self) -> Option<Result<ModelEvent, LiveError>> {
        loop {
            if let Some(e) = self.error.take() {
                return Some(Err(e));
            }
            if let Some(event) = self.machine.poll_event() {
                return Some(Ok(event));
            }
            if self.machine.is_ended() {
                return None;
            }
            if let Some(action) = self.machine.poll_action() {
                // Boxed: actions come around a switch only, and their sends would make
                // every caller's `next_event` future larger.
                Box::pin(self.act(action)).await;
                continue;
            }
            if self.machine.front_buffered().is_some() {
                Box::pin(self.flush_buffer()).await;
                continue;
            }
            self.timer
                .set(self.machine.poll_timeout().map(Instant::from_std));
            tokio::select! {
                event = next_live(&mut self.live) => self.on_live(event),
                joined = join_switch(&mut self.switch) => {
                    self.switch = None;
                    match joined {
                        Ok(Ok(live)) => {
                            self.live = Some(*live);
                            self.machine.installed(Instant::now().into_std());
                        }
                        Ok(Err(e)) => {
                            tracing::error!(error = %e, "Gemini Live could not be reconnected");
                            let (code, reason) = e.close_parts();
                            self.machine.switch_failed(code, reason);
                        }
                        Err(e) => self
                            .machine
                            .switch_failed(1011, format!("reconnection task failed: {e}")),
                    }
                }
                () = self.timer.wait() => self.machine.handle_timeout(Instant::now().into_std()),
            }
        }
    }

    /// Carries out one action of the machine.
    async fn act(&mut self, action: Action) {
        match action {
            Action::Send(cmd) => {
                if let Some(live) = self.live.as_mut() {
                    if let Err(e) = live.send(cmd).await {
                        tracing::warn!(error = %e, "re-prompting the model failed");
                    }
                }
            }
            Action::SendMessage(seed) => {
                if let Some(live) = self.live.as_mut() {
                    if let Err(e) = live.send_message(seed).await {
                        tracing::warn!(error = %e, "seeding the new connection failed");
                    }
                }
            }
            Action::Switch { handle } => self.start_switch(handle),
        }
    }

    /// Sends what was buffered for the installed connection, oldest first, until a write
    /// fails.
    async fn flush_buffer(&mut self) {
        while let Some(cmd) = self.machine.front_buffered().cloned() {
            let Some(live) = self.live.as_mut() else {
                self.machine.buffered_failed();
                break;
            };
            if let Err(e) = live.send(cmd).await {
                tracing::warn!(error = %e, "sending buffered input to the new connection failed");
                self.machine.buffered_failed();
                break;
            }
            self.machine.buffered_sent();
        }
    }

    /// Starts the switch task: close the old socket, then connect (with `handle` when
    /// there is one), with backoff.
    fn start_switch(&mut self, handle: Option<String>) {
        let old = self.live.take();
        let config = self.config.clone().with_resumption_handle(handle);
        let policy = self.machine.policy().clone();
        self.switch = Some(tokio::spawn(async move {
            if let Some(mut old) = old {
                // Close the old socket first (§4.4), waiting briefly for the server's reply.
                if !old.is_ended() {
                    let _ = timeout(Duration::from_secs(1), async {
                        let _ = old.send(ModelCommand::Close).await;
                        while old.next_event().await.is_some() {}
                    })
                    .await;
                }
            }
            let live = connect_with_backoff(&config, &policy, &mut |_: &LiveError, _: Duration| {})
                .await?;
            Ok(Box::new(live))
        }));
    }

    fn on_live(&mut self, event: Option<Result<ModelEvent, LiveError>>) {
        let now = Instant::now().into_std();
        let event = match event {
            Some(Ok(event)) => event,
            Some(Err(e @ LiveError::Protocol(_))) => {
                self.error = Some(e);
                return;
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "Gemini Live connection failed");
                return;
            }
            None => ModelEvent::Closed {
                code: ABNORMAL_CLOSURE,
                reason: "connection ended".to_owned(),
            },
        };
        if matches!(event, ModelEvent::Closed { .. }) {
            self.live = None;
        }
        self.machine.handle_event(event, now);
    }
}

impl Drop for ResilientSession {
    fn drop(&mut self) {
        if let Some(switch) = self.switch.take() {
            switch.abort();
        }
    }
}

async fn next_live(live: &mut Option<LiveConnection>) -> Option<Result<ModelEvent, LiveError>> {
    match live {
        Some(l) => l.next_event().await,
        None => std::future::pending().await,
    }
}

async fn join_switch(
    switch: &mut Option<Switch>,
) -> Result<Result<Box<LiveConnection>, LiveError>, tokio::task::JoinError> {
    match switch {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}
