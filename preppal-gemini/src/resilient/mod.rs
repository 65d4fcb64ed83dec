//! A Live session that outlives its WebSocket connection.
//!
//! A Gemini Live connection lasts about 10 minutes, is announced to end by `goAway`, and may
//! drop with a retryable close (1011, 1006) at any time (gemini-live-protocol notes §4.3,
//! §6.1, §6.2). [`ResilientSession`] wraps [`LiveSession`] and moves the interview to a new
//! connection when that happens:
//!
//! - it asks for `sessionResumption` and keeps the last handle that came with
//!   `resumable: true` (§4.4);
//! - on `goAway` it starts a timer from `timeLeft` and switches at the first quiet moment (no
//!   generation in flight, and no candidate answer under way: candidate audio sent since the
//!   model's last turn counts as one until the model answers, because audio sent after the
//!   last resumption handle is not part of the resumed session), or when the timer fires,
//!   whichever comes first, even if the server has gone silent;
//! - on a retryable close it reconnects with the handle, with capped exponential backoff
//!   (`backon`), after closing the old socket (a resume was refused while the old socket was
//!   still open, §4.4);
//! - with no handle it seeds the new connection from the local transcript (a
//!   `clientContent` history, [`crate::protocol::history_message`]) instead of starting the
//!   interview again;
//! - commands sent during the switch are buffered (audio bounded by
//!   [`ReconnectPolicy::max_buffered_audio_bytes`], oldest dropped first) and sent after the
//!   new `setupComplete`;
//! - a watchdog notices a silent stall (socket open, a reply owed or a generation under way,
//!   and no model output for [`ReconnectPolicy::stall_timeout`]) and switches too; a new
//!   connection that stalls again before saying anything is re-prompted
//!   ([`preppal_core::session::REPROMPT_INSTRUCTION`]) instead of being replaced again;
//! - a `goAway` switch waits (within the time `goAway` leaves) for a resumable handle that
//!   covers the model's last completed turn, so the resumed model does not say it again;
//!   when the deadline comes first it resumes with the handle it has and drops the model's
//!   first turn on the new connection if it only repeats the last one;
//! - candidate input (audio, typed answers) sent after the last resumable handle is kept
//!   (bounded as the switch buffer) and sent again on the connection that resumes from that
//!   handle: the resumed session has not seen it.
//!
//! It yields the same [`ModelEvent`]s as [`LiveSession`], plus [`ModelEvent::Reconnecting`]
//! and [`ModelEvent::Resumed`] around a switch. [`ModelEvent::Closed`] comes only when the
//! model is gone for good: a close that is not retryable (1000, 1007, 1008, quota), or
//! retries exhausted.

use std::collections::VecDeque;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable as _};
use preppal_core::{ModelCommand, ModelEvent, Speaker, TranscriptEntry};
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};

use crate::client::{LiveSession, ABNORMAL_CLOSURE};
use crate::config::LiveConfig;
use crate::error::{is_retryable_close, LiveError};
use crate::protocol::{encode_command, history_message};
use crate::timer::DeadlineTimer;
use preppal_core::session::REPROMPT_INSTRUCTION;

/// How a [`ResilientSession`] reconnects. Start from `Default` and use the `with_*` setters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    /// First backoff delay between connection attempts. Default 200 ms.
    pub min_delay: Duration,
    /// Largest backoff delay (the cap of the exponential). Default 5 s.
    pub max_delay: Duration,
    /// Connection attempts per switch after the first one fails. Default 6.
    pub max_retries: usize,
    /// No model output for this long while a reply is owed or a generation is under way
    /// counts as a stall. Default 15 s.
    pub stall_timeout: Duration,
    /// After `goAway`, switch no later than this long before `timeLeft` runs out (capped at
    /// half of `timeLeft`). Default 5 s.
    pub go_away_margin: Duration,
    /// Candidate audio kept during a switch, in bytes of PCM16LE at 16 000 Hz (32 000 bytes
    /// per second). Default 320 000 (10 s); older audio is dropped first.
    pub max_buffered_audio_bytes: usize,
    /// Other commands (text, instructions) kept during a switch. Default 64; older ones are
    /// dropped first.
    pub max_buffered_commands: usize,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retries: 6,
            stall_timeout: Duration::from_secs(15),
            go_away_margin: Duration::from_secs(5),
            max_buffered_audio_bytes: 320_000,
            max_buffered_commands: 64,
        }
    }
}

impl ReconnectPolicy {
    /// Sets [`ReconnectPolicy::min_delay`] and [`ReconnectPolicy::max_delay`].
    pub fn with_backoff(mut self, min_delay: Duration, max_delay: Duration) -> Self {
        self.min_delay = min_delay;
        self.max_delay = max_delay.max(min_delay);
        self
    }
    /// Sets [`ReconnectPolicy::max_retries`].
    pub fn with_max_retries(mut self, max_retries: usize) -> Self {
        self.max_retries = max_retries;
        self
    }
    /// Sets [`ReconnectPolicy::stall_timeout`].
    pub fn with_stall_timeout(mut self, stall_timeout: Duration) -> Self {
        self.stall_timeout = stall_timeout;
        self
    }
    /// Sets [`ReconnectPolicy::go_away_margin`].
    pub fn with_go_away_margin(mut self, margin: Duration) -> Self {
        self.go_away_margin = margin;
        self
    }
    /// Sets [`ReconnectPolicy::max_buffered_audio_bytes`].
    pub fn with_max_buffered_audio_bytes(mut self, bytes: usize) -> Self {
        self.max_buffered_audio_bytes = bytes;
        self
    }

    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
            .with_jitter()
    }
}

/// Connects with backoff: retryable failures ([`LiveError::is_retryable`]) are tried again
/// per `policy`.
async fn connect_with_backoff(
    config: &LiveConfig,
    policy: &ReconnectPolicy,
) -> Result<LiveSession, LiveError> {
    connect_with_backoff_observed(config, policy, &mut |_: &LiveError, _: Duration| {}).await
}

/// As [`connect_with_backoff`], calling `on_retry` with the failure and the delay before
/// each further attempt.
async fn connect_with_backoff_observed(
    config: &LiveConfig,
    policy: &ReconnectPolicy,
    on_retry: &mut (dyn FnMut(&LiveError, Duration) + Send),
) -> Result<LiveSession, LiveError> {
    (|| async { LiveSession::connect(config).await })
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
/// `LiveSession` would make that future (and each interview's task) 1.5 KB larger.
type Switch = JoinHandle<Result<Box<LiveSession>, LiveError>>;

/// A Gemini Live session that survives `goAway`, retryable closes and stalls by moving to a
/// new connection. See the module docs.
///
/// Like [`LiveSession`]: [`ResilientSession::send`] sends commands,
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
    policy: ReconnectPolicy,
    live: Option<LiveSession>,
    switch: Option<Switch>,
    /// The next event of the installed connection is its `setupComplete`: report `Resumed`.
    resumed_with_handle: Option<bool>,
    pending: VecDeque<ModelEvent>,
    error: Option<LiveError>,
    buffer: VecDeque<ModelCommand>,
    buffered_audio_bytes: usize,
    dropped_buffered_audio_bytes: u64,
    handle: Option<String>,
    history: Vec<(Speaker, String)>,
    ai_text: String,
    user_text: String,
    ai_turn_open: bool,
    generating: bool,
    /// Candidate audio went out since the model's last turn and the model has not answered
    /// yet: the candidate may be mid-answer, which a switch would cut.
    candidate_turn_open: bool,
    /// The last resumable handle came after the model's last output: it covers the last
    /// completed model turn.
    handle_fresh: bool,
    /// Candidate input sent since the last resumable handle (and typed answers, `Begin` and
    /// instructions the model has not begun answering), to send again on a connection
    /// resumed from it; bounded like the switch buffer.
    since_handle: VecDeque<ModelCommand>,
    since_handle_audio_bytes: usize,
    /// After a switch with a handle older than the last completed model turn: that turn's
    /// text, whose repetition on the new connection is dropped.
    repeat_of: Option<String>,
    /// Events of the new connection's first turn, held while it could be the repetition.
    held: Vec<ModelEvent>,
    held_text: String,
    /// A switch happened and the new connection has said nothing since.
    silent_since_switch: bool,
    /// The new connection stalled too: re-prompt it instead of switching again.
    reprompt_due: bool,
    begun: bool,
    awaiting_reply_since: Option<Instant>,
    /// A reply was owed when the last switch started: the stall watchdog waits for it again.
    owed_reply: bool,
    last_model_output: Instant,
    migrate_wanted: bool,
    migrate_at: Option<Instant>,
    closing: bool,
    ended: bool,
    switches: u32,
    /// The stall watchdog and the goAway deadline ([`ResilientSession::next_timer`]), one
    /// timer entry for the session's life.
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
        let live = connect_with_backoff_observed(&config, &policy, on_retry).await?;
        Ok(Self {
            config,
            policy,
            live: Some(live),
            switch: None,
            resumed_with_handle: None,
            pending: VecDeque::new(),
            error: None,
            buffer: VecDeque::new(),
            buffered_audio_bytes: 0,
            dropped_buffered_audio_bytes: 0,
            handle: None,
            history: Vec::new(),
            ai_text: String::new(),
            user_text: String::new(),
            ai_turn_open: false,
            generating: false,
            candidate_turn_open: false,
            handle_fresh: false,
            since_handle: VecDeque::new(),
            since_handle_audio_bytes: 0,
            repeat_of: None,
            held: Vec::new(),
            held_text: String::new(),
            silent_since_switch: false,
            reprompt_due: false,
            begun: false,
            awaiting_reply_since: None,
            owed_reply: false,
            last_model_output: Instant::now(),
            migrate_wanted: false,
            migrate_at: None,
            closing: false,
            ended: false,
            switches: 0,
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
        session.set_history(entries);
        if session.history.is_empty() {
            return Ok(session);
        }
        session.begun = true;
        let reply_now = session
            .history
            .last()
            .is_some_and(|(speaker, _)| *speaker == Speaker::User);
        let seed = history_message(&session.history, reply_now);
        if let Some(live) = session.live.as_mut() {
            live.send_message(seed).await?;
        }
        if reply_now {
            session.awaiting_reply_since = Some(Instant::now());
        }
        Ok(session)
    }

    /// The last session resumption handle that came with `resumable: true`, if any.
    pub fn resumption_handle(&self) -> Option<&str> {
        self.handle.as_deref()
    }

    /// How many times the session moved to a new connection.
    pub fn switches(&self) -> u32 {
        self.switches
    }

    /// Bytes of candidate audio dropped because the switch buffer was full.
    pub fn dropped_buffered_audio_bytes(&self) -> u64 {
        self.dropped_buffered_audio_bytes
    }

    /// Whether a switch to a new connection is under way (commands are being buffered).
    pub fn is_switching(&self) -> bool {
        self.switch.is_some()
    }

    /// Replaces the local transcript used to seed a new connection when no resumption handle
    /// was received. The session also keeps one itself from the transcriptions and typed
    /// answers it sees; call this when the caller's transcript is the better record.
    pub fn set_history(&mut self, entries: &[TranscriptEntry]) {
        self.history = entries
            .iter()
            .map(|e| (e.speaker, e.text.clone()))
            .collect();
        self.ai_text.clear();
        self.user_text.clear();
    }

    /// The local transcript as it would seed a new connection: `(speaker, text)` per turn.
    pub fn history(&self) -> &[(Speaker, String)] {
        &self.history
    }

    /// Sends one command, or buffers it while a switch is under way.
    ///
    /// A command whose write fails is buffered too: the connection's close follows on
    /// [`ResilientSession::next_event`], which switches and then sends the buffer.
    /// [`ModelCommand::Close`] closes for good: the next events end with
    /// [`ModelEvent::Closed`]. Not cancel-safe (as [`LiveSession::send`]).
    ///
    /// # Errors
    /// [`LiveError::InvalidConfig`] after the session ended for good (the command is dropped).
    pub async fn send(&mut self, cmd: ModelCommand) -> Result<(), LiveError> {
        if self.ended {
            return Err(LiveError::InvalidConfig(
                "the model session has ended".to_owned(),
            ));
        }
        match &cmd {
            ModelCommand::Close => {
                self.closing = true;
                if let Some(switch) = self.switch.take() {
                    switch.abort();
                    self.finish(1000, String::new());
                    return Ok(());
                }
                if let Some(live) = self.live.as_mut() {
                    if let Err(e) = live.send(ModelCommand::Close).await {
                        tracing::debug!(error = %e, "closing the model connection failed");
                        self.live = None;
                        self.finish(1000, String::new());
                    }
                }
                return Ok(());
            }
            ModelCommand::Begin => {
                self.begun = true;
                self.awaiting_reply_since = Some(Instant::now());
            }
            ModelCommand::Text(text) => {
                self.flush_ai_text();
                self.flush_user_text();
                self.history.push((Speaker::User, text.clone()));
                self.awaiting_reply_since = Some(Instant::now());
            }
            ModelCommand::Instruct(_) => self.awaiting_reply_since = Some(Instant::now()),
            ModelCommand::Audio(_) if !self.ai_turn_open => self.candidate_turn_open = true,
            _ => {}
        }
        match self.live.as_mut() {
            Some(live) if self.switch.is_none() && !live.is_ended() => {
                if let Err(e) = live.send(cmd.clone()).await {
                    tracing::warn!(error = %e, "model send failed; keeping the command for the next connection");
                    self.buffer_command(cmd);
                } else {
                    self.remember_input(cmd);
                }
            }
            _ => self.buffer_command(cmd),
        }
        Ok(())
    }

    /// Keeps candidate input sent since the last resumable handle (bounded: oldest audio,
    /// then oldest other input, dropped first), to send again on a connection resumed from
    /// that handle.
    fn remember_input(&mut self, cmd: ModelCommand) {
        match &cmd {
            ModelCommand::Audio(audio) => self.since_handle_audio_bytes += audio.len(),
            ModelCommand::Text(_) | ModelCommand::Begin | ModelCommand::Instruct(_) => {}
            _ => return,
        }
        self.since_handle.push_back(cmd);
        while self.since_handle_audio_bytes > self.policy.max_buffered_audio_bytes {
            let Some(pos) = self
                .since_handle
                .iter()
                .position(|c| matches!(c, ModelCommand::Audio(_)))
            else {
                break;
            };
            if let Some(ModelCommand::Audio(old)) = self.since_handle.remove(pos) {
                self.since_handle_audio_bytes -= old.len();
            }
        }
        while self
            .since_handle
            .iter()
            .filter(|c| !matches!(c, ModelCommand::Audio(_)))
            .count()
            > self.policy.max_buffered_commands
        {
            if let Some(pos) = self
                .since_handle
                .iter()
                .position(|c| !matches!(c, ModelCommand::Audio(_)))
            {
                self.since_handle.remove(pos);
            }
        }
    }

    fn buffer_command(&mut self, cmd: ModelCommand) {
        if let ModelCommand::Audio(audio) = &cmd {
            self.buffered_audio_bytes += audio.len();
        }
        self.buffer.push_back(cmd);
        let audio_count = |b: &VecDeque<ModelCommand>| {
            b.iter()
                .filter(|c| matches!(c, ModelCommand::Audio(_)))
                .count()
        };
        while self.buffered_audio_bytes > self.policy.max_buffered_audio_bytes {
            let Some(pos) = self
                .buffer
                .iter()
                .position(|c| matches!(c, ModelCommand::Audio(_)))
            else {
                break;
            };
            if let Some(ModelCommand::Audio(old)) = self.buffer.remove(pos) {
                self.buffered_audio_bytes -= old.len();
                self.dropped_buffered_audio_bytes += old.len() as u64;
            }
        }
        while self.buffer.len() - audio_count(&self.buffer) > self.policy.max_buffered_commands {
            if let Some(pos) = self
                .buffer
                .iter()
                .position(|c| !matches!(c, ModelCommand::Audio(_)))
            {
                self.buffer.remove(pos);
            }
        }
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
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if self.ended {
                return None;
            }
            if self.reprompt_due && self.switch.is_none() {
                self.reprompt_due = false;
                if let Some(live) = self.live.as_mut() {
                    let reprompt = ModelCommand::Instruct(REPROMPT_INSTRUCTION.to_owned());
                    if let Err(e) = live.send(reprompt).await {
                        tracing::warn!(error = %e, "re-prompting the model failed");
                    }
                }
                continue;
            }
            if self.migrate_wanted
                && !self.generating
                && !self.candidate_turn_open
                && (self.handle_fresh || self.handle.is_none())
                && self.switch.is_none()
                && !self.closing
            {
                self.start_switch("goAway".to_owned());
                continue;
            }
            let deadline = self.next_timer();
            self.timer.set(deadline);
            tokio::select! {
                event = next_live(&mut self.live) => self.on_live(event),
                joined = join_switch(&mut self.switch) => {
                    self.switch = None;
                    match joined {
                        // Boxed: a switch is rare, and its future is 3.5 KB.
                        Ok(Ok(live)) => Box::pin(self.install(*live)).await,
                        Ok(Err(e)) => {
                            tracing::error!(error = %e, "Gemini Live could not be reconnected");
                            let (code, reason) = e.close_parts();
                            self.finish(code, reason);
                        }
                        Err(e) => self.finish(1011, format!("reconnection task failed: {e}")),
                    }
                }
                () = self.timer.wait() => self.on_timer(),
            }
        }
    }

    fn next_timer(&self) -> Option<Instant> {
        if self.live.is_none() || self.switch.is_some() || self.closing {
            return None;
        }
        let stall = if self.generating {
            Some(self.last_model_output + self.policy.stall_timeout)
        } else {
            self.awaiting_reply_since
                .map(|since| since + self.policy.stall_timeout)
        };
        [stall, self.migrate_at].into_iter().flatten().min()
    }

    fn on_timer(&mut self) {
        let now = Instant::now();
        if self.migrate_at.is_some_and(|at| at <= now) {
            tracing::info!("goAway deadline near; moving to a new connection mid-generation");
            self.start_switch("goAway deadline".to_owned());
        } else if self.next_timer().is_some_and(|at| at <= now) {
            if self.silent_since_switch {
                // A fresh connection that says nothing is not helped by another one: ask
                // the model to go on instead (once per switch).
                tracing::warn!("no model output on the new connection; re-prompting");
                self.silent_since_switch = false;
                self.reprompt_due = true;
                self.awaiting_reply_since = Some(now);
                self.last_model_output = now;
            } else {
                tracing::warn!("no model output; the connection looks stalled");
                self.start_switch("stall".to_owned());
            }
        }
    }

    fn on_live(&mut self, event: Option<Result<ModelEvent, LiveError>>) {
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
            None => {
                self.live = None;
                self.on_closed(ABNORMAL_CLOSURE, "connection ended".to_owned());
                return;
            }
        };
        let now = Instant::now();
        match &event {
            ModelEvent::SetupComplete => {
                if let Some(with_handle) = self.resumed_with_handle.take() {
                    self.pending.push_back(ModelEvent::Resumed { with_handle });
                    return;
                }
            }
            ModelEvent::Audio(_) | ModelEvent::Text(_) | ModelEvent::OutputTranscription(_) => {
                if !self.ai_turn_open {
                    self.flush_user_text();
                }
                self.ai_turn_open = true;
                self.generating = true;
                self.candidate_turn_open = false;
                self.awaiting_reply_since = None;
                self.last_model_output = now;
                self.handle_fresh = false;
                self.silent_since_switch = false;
                // The model is answering: the turns asked of it were heard.
                self.since_handle
                    .retain(|c| matches!(c, ModelCommand::Audio(_)));
                if let ModelEvent::OutputTranscription(t) = &event {
                    self.ai_text.push_str(t);
                }
            }
            ModelEvent::InputTranscription(t) => self.user_text.push_str(t),
            ModelEvent::GenerationComplete => {
                self.generating = false;
                self.last_model_output = now;
            }
            ModelEvent::Interrupted => {
                self.generating = false;
                self.flush_ai_text();
            }
            ModelEvent::TurnComplete => {
                self.generating = false;
                self.ai_turn_open = false;
                self.awaiting_reply_since = None;
                self.flush_ai_text();
            }
            ModelEvent::ResumptionUpdate { handle, resumable }
                if *resumable && !handle.is_empty() =>
            {
                self.handle = Some(handle.clone());
                self.handle_fresh = !self.generating;
                // The handle covers the audio streamed so far. A typed answer or a request
                // the model has not begun answering may have crossed it on the wire: it is
                // kept until the model answers.
                self.since_handle
                    .retain(|c| !matches!(c, ModelCommand::Audio(_)));
                self.since_handle_audio_bytes = 0;
            }
            ModelEvent::GoAway { time_left_ms } => {
                let left = Duration::from_millis(*time_left_ms);
                let margin = self.policy.go_away_margin.min(left / 2);
                self.migrate_wanted = true;
                self.migrate_at = Some(now + (left - margin));
            }
            ModelEvent::Closed { code, reason } => {
                let (code, reason) = (*code, reason.clone());
                self.live = None;
                self.on_closed(code, reason);
                return;
            }
            _ => {}
        }
        if self.repeat_of.is_some() {
            self.hold_repeat(event);
            return;
        }
        self.pending.push_back(event);
    }

    /// After a switch with a handle older than the last completed model turn, the new
    /// connection's first turn is held while its transcription could be that turn said
    /// again: dropped whole if it is, passed on as soon as it is not.
    fn hold_repeat(&mut self, event: ModelEvent) {
        let Some(repeat) = self.repeat_of.clone() else {
            self.pending.push_back(event);
            return;
        };
        match &event {
            ModelEvent::OutputTranscription(t) => {
                self.held_text.push_str(t);
                self.held.push(event);
                if !repeat.trim().starts_with(self.held_text.trim()) {
                    self.release_held();
                }
            }
            ModelEvent::Audio(_)
            | ModelEvent::Text(_)
            | ModelEvent::GenerationComplete
            | ModelEvent::Usage(_)
            | ModelEvent::TurnCompleteReason { .. } => self.held.push(event),
            ModelEvent::TurnComplete if self.held_text.trim() == repeat.trim() => {
                tracing::info!("the resumed model repeated its last turn; dropped");
                self.held.clear();
                self.held_text.clear();
                self.repeat_of = None;
            }
            ModelEvent::TurnComplete | ModelEvent::Interrupted => {
                self.held.push(event);
                self.release_held();
            }
            _ => self.pending.push_back(event),
        }
    }

    fn release_held(&mut self) {
        self.repeat_of = None;
        self.held_text.clear();
        self.pending.extend(self.held.drain(..));
    }

    fn on_closed(&mut self, code: u16, reason: String) {
        if self.closing || !is_retryable_close(code, &reason) {
            self.finish(code, reason);
        } else {
            tracing::warn!(code, %reason, "Gemini Live closed a connection; resuming");
            self.start_switch(format!("closed {code}: {reason}"));
        }
    }

    fn finish(&mut self, code: u16, reason: String) {
        if !self.ended {
            self.pending.push_back(ModelEvent::Closed { code, reason });
            self.ended = true;
        }
    }

    fn flush_ai_text(&mut self) {
        if !self.ai_text.is_empty() {
            self.history
                .push((Speaker::Ai, std::mem::take(&mut self.ai_text)));
        }
    }

    fn flush_user_text(&mut self) {
        if !self.user_text.is_empty() {
            self.history
                .push((Speaker::User, std::mem::take(&mut self.user_text)));
        }
    }

    /// Ends what the old connection left open and starts the switch task: close the old
    /// socket, connect (with the handle, or seeded from the local transcript), with backoff.
    fn start_switch(&mut self, reason: String) {
        let cut = self.generating;
        if cut {
            // The cut line is not part of the conversation: the new connection says it again.
            self.pending.push_back(ModelEvent::Interrupted);
            self.ai_text.clear();
        }
        if self.ai_turn_open {
            self.pending.push_back(ModelEvent::TurnComplete);
        }
        self.flush_ai_text();
        // A handle older than the last completed model turn: the resumed model will say
        // that turn again; drop it when it does.
        let stale = self.handle.is_some() && !self.handle_fresh && !cut;
        self.repeat_of = stale
            .then(|| {
                self.history
                    .iter()
                    .rev()
                    .find(|(speaker, _)| *speaker == Speaker::Ai)
                    .map(|(_, text)| text.clone())
            })
            .flatten();
        self.held.clear();
        self.held_text.clear();
        self.silent_since_switch = true;
        self.generating = false;
        self.ai_turn_open = false;
        self.candidate_turn_open = false;
        self.migrate_wanted = false;
        self.migrate_at = None;
        let owed_reply = self.awaiting_reply_since.take().is_some() || cut;
        self.owed_reply = owed_reply;
        self.pending.push_back(ModelEvent::Reconnecting { reason });
        let old = self.live.take();
        let config = self
            .config
            .clone()
            .with_resumption_handle(self.handle.clone());
        let policy = self.policy.clone();
        let with_handle = self.handle.is_some();
        self.resumed_with_handle = Some(with_handle);
        // Input sent after the handle is not part of the session it resumes: send it again,
        // before what was buffered since. Without a handle the history seeds the session.
        let replay = std::mem::take(&mut self.since_handle);
        self.since_handle_audio_bytes = 0;
        if with_handle {
            for cmd in replay.into_iter().rev() {
                if let ModelCommand::Audio(audio) = &cmd {
                    self.buffered_audio_bytes += audio.len();
                }
                self.buffer.push_front(cmd);
            }
        }
        // Without a handle the new connection knows nothing: give it the conversation so
        // far, and let it answer at once if the candidate spoke last or a reply was owed.
        let seed = if with_handle {
            None
        } else if self.history.is_empty() {
            self.begun
                .then(|| encode_command(&ModelCommand::Begin).unwrap_or_default())
        } else {
            let reply_now = owed_reply
                || self
                    .history
                    .last()
                    .is_some_and(|(speaker, _)| *speaker == Speaker::User);
            Some(history_message(&self.history, reply_now))
        };
        self.switches += 1;
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
            let mut live = connect_with_backoff(&config, &policy).await?;
            if let Some(seed) = seed {
                live.send_message(seed).await?;
            }
            Ok(Box::new(live))
        }));
    }

    /// Installs a new connection and sends what was buffered during the switch.
    async fn install(&mut self, mut live: LiveSession) {
        self.last_model_output = Instant::now();
        if std::mem::take(&mut self.owed_reply) {
            self.awaiting_reply_since = Some(Instant::now());
        }
        while let Some(cmd) = self.buffer.front().cloned() {
            let len = match &cmd {
                ModelCommand::Audio(audio) => audio.len(),
                _ => 0,
            };
            if let Err(e) = live.send(cmd.clone()).await {
                tracing::warn!(error = %e, "sending buffered input to the new connection failed");
                break;
            }
            self.remember_input(cmd);
            self.buffer.pop_front();
            self.buffered_audio_bytes = self.buffered_audio_bytes.saturating_sub(len);
        }
        self.live = Some(live);
    }
}

impl Drop for ResilientSession {
    fn drop(&mut self) {
        if let Some(switch) = self.switch.take() {
            switch.abort();
        }
    }
}

async fn next_live(live: &mut Option<LiveSession>) -> Option<Result<ModelEvent, LiveError>> {
    match live {
        Some(l) => l.next_event().await,
        None => std::future::pending().await,
    }
}

async fn join_switch(
    switch: &mut Option<Switch>,
) -> Result<Result<Box<LiveSession>, LiveError>, tokio::task::JoinError> {
    match switch {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}
