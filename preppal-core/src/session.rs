//! [`InterviewSession`]: one live interview as a state machine with no I/O.
//!
//! # Calling contract
//!
//! Methods come in four kinds (after quinn-proto's `Connection`): constructors, getters
//! (`&self`: [`status`](InterviewSession::status), [`transcript`](InterviewSession::transcript),
//! [`end_reason`](InterviewSession::end_reason), ...), `handle_*` inputs and `poll_*`
//! outputs. One owner calls them all from one task; nothing in here blocks or reads a clock.
//!
//! Constructors:
//!
//! - [`new`](InterviewSession::new): a fresh interview, PENDING; the setup deadline starts.
//! - [`resume`](InterviewSession::resume): an interview rebuilt from its stored entries
//!   after a restart, PENDING with no client attached.
//!
//! Inputs, each called when its event happens, with the `now` it happened at:
//!
//! - [`handle_client`](InterviewSession::handle_client): every decoded message from the
//!   candidate's client (audio frame, typed answer, `PlaybackReport`, `EndRequest`).
//! - [`handle_model`](InterviewSession::handle_model): every event from the model
//!   (`setupComplete`, audio, transcription, `interrupted`, `turnComplete`, `goAway`, tool
//!   calls, and `Closed` when its connection closed).
//! - [`handle_timeout`](InterviewSession::handle_timeout): when the instant last returned
//!   by [`poll_timeout`](InterviewSession::poll_timeout) has passed. Calling it early is
//!   harmless.
//! - [`handle_client_detached`](InterviewSession::handle_client_detached): the client's
//!   connection dropped but may come back (the reconnect grace starts).
//! - [`handle_client_attached`](InterviewSession::handle_client_attached): a client
//!   (re)connected; it is sent the transcript so far.
//! - [`handle_client_gone`](InterviewSession::handle_client_gone): the client went away
//!   for good; the interview ends at once.
//! - [`handle_shutdown`](InterviewSession::handle_shutdown): the server is stopping; the
//!   interview ends keeping what was said.
//!
//! Timers, all behind the single [`poll_timeout`](InterviewSession::poll_timeout) and fired
//! by [`handle_timeout`](InterviewSession::handle_timeout): the setup deadline
//! ([`SessionConfig::setup_timeout`]), the wrap-up prompt
//! ([`SessionConfig::wrap_up_before`]), the time limit ([`SessionConfig::max_duration`]),
//! the reconnect grace ([`SessionConfig::reconnect_grace`]), the open-turn checkpoint
//! ([`SessionConfig::checkpoint_interval`]), the no-output watchdog
//! ([`SessionConfig::no_output_timeout`]) and the trailing silence owed to the model
//! ([`SessionConfig::trailing_silence`]).
//!
//! Outputs, drained until each returns `None` after every constructor and `handle_*` call,
//! in this order:
//!
//! 1. [`poll_to_model`](InterviewSession::poll_to_model): commands for the model
//!    (greeting, audio, text, instructions, tool responses, close).
//! 2. [`poll_to_client`](InterviewSession::poll_to_client): messages for the candidate's
//!    client (always `None` while no client is attached).
//! 3. [`poll_persist`](InterviewSession::poll_persist): storage actions, applied in order;
//!    [`PersistAction::Finish`] is always last.
//! 4. [`poll_event`](InterviewSession::poll_event): events for logs and metrics.
//! 5. [`poll_timeout`](InterviewSession::poll_timeout): when to call `handle_timeout`
//!    next; the caller sleeps until then or until the next input.
//!
//! `now` is an [`Instant`] supplied by the caller and must never go backwards. The session
//! reads no clock, so tests drive it with a fake one.
//!
//! The code is split by concept: `client_inputs.rs` and `model_inputs.rs` (the `handle_*`
//! for each peer), `timers.rs` (the timers and the start), `outputs.rs` (the output types
//! and `poll_*`), `finish.rs` (finishing turns and the interview), `config.rs`, and the
//! rules in `playback.rs`, `model_turns.rs`, `text_limits.rs`, `trailing_silence.rs`.
//!
//! # Lifecycle
//!
//! ```text
//!  new() ── PENDING ── model SetupComplete ──► IN_PROGRESS ── end ──► COMPLETED (something was said)
//!              │                                    │         └────► ERROR (nothing was said)
//!              └── setup timeout, model closed, end ─────────────────► ERROR
//! ```
//!
//! An interview ends exactly once, for one [`EndReason`]: the candidate ends it, the time
//! limit passes, the model closes, the setup deadline passes, the candidate's client
//! goes away and does not come back within the grace period, or the server shuts down. After that every `handle_*` call returns [`SessionError::Ended`] and does nothing.
//!
//! # Reconnects
//!
//! A dropped client connection ([`InterviewSession::handle_client_detached`]) does not end
//! the interview: it waits [`SessionConfig::reconnect_grace`] for the client to come back
//! ([`InterviewSession::handle_client_attached`]), which then gets a `SessionResumed` with
//! the transcript so far. [`InterviewSession::resume`] rebuilds an interview from its stored
//! entries (after a restart). Open turns are offered for storage every
//! [`SessionConfig::checkpoint_interval`] ([`PersistAction::OpenTurns`]).
//!
//! # Turns
//!
//! Model transcription fragments are joined exactly as sent. The interviewer's turn ends
//! on `turnComplete` or `interrupted`; the candidate's turn ends on the first model output
//! after it. A candidate turn with audio but no transcription keeps its timing and an
//! empty text. After `interrupted` the client is told to flush its player, and model
//! audio and transcription are dropped until the cut generation is over (not longer: a
//! new model turn is always heard); a late candidate transcription fragment amends the
//! candidate entry it belongs to; "\[Silence\]"-only replies are dropped; a no-output
//! watchdog re-prompts a model that says nothing (see `model_turns.rs`).
//!
//! # Answer audio
//!
//! While a candidate turn is open, each audio frame is counted as speech or silence (the
//! same RMS test that opens the turn) on the audio's own sample timeline, with plain
//! counters. Silent runs over 1 s between speech frames are the answer's pauses. When the
//! turn ends, its tally is kept as a [`crate::metrics::AnswerAudio`]
//! ([`InterviewSession::answer_audio`]) and, at the end, sent in
//! [`PersistAction::AnswerAudio`] for the delivery metrics.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::metrics::AnswerAudio;
use crate::model::ModelCommand;
use crate::proto::{server_to_client_message::Message as ToClient, ServerToClientMessage};
use crate::status::InterviewStatus;
use crate::transcript::{Transcript, TranscriptEntry};

mod client_inputs;
mod config;
mod failure;
mod finish;
mod model_inputs;
mod model_turns;
mod outputs;
mod quiet;
mod timers;
mod trailing_silence;

use client_inputs::AnswerTally;
pub use client_inputs::{pcm16_rms, EARLY_TEXTS};
pub use config::SessionConfig;
pub use failure::ModelErrorKind;
use model_turns::ModelTurnRules;
pub use model_turns::{NOT_ANSWERING, REPROMPT_INSTRUCTION, SILENCE_REPLY};
pub use outputs::{EndReason, PersistAction, SessionError, SessionEvent};
use timers::Timer;
pub use timers::WRAP_UP_INSTRUCTION;
use trailing_silence::TrailingSilence;
pub use trailing_silence::TRAILING_FRAME;

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Pending,
    InProgress {
        started_at: Instant,
    },
    Ended {
        status: InterviewStatus,
        reason: EndReason,
    },
}

/// One live interview. See the [module docs](self) for the calling contract.
#[derive(Debug)]
pub struct InterviewSession {
    interview_id: String,
    config: SessionConfig,
    state: State,
    timers: [Option<Instant>; 5],
    transcript: Transcript,
    /// Whether a client is attached: messages for the client are dropped while none is.
    client_attached: bool,
    /// For an interview resumed from stored entries: the time already spent in it.
    resumed_elapsed: Option<Duration>,
    /// Typed answers that came before the interview started, taken at the start
    /// (at most [`EARLY_TEXTS`]).
    early_texts: Vec<String>,
    /// The open turns as last offered for storage.
    last_checkpoint: Vec<TranscriptEntry>,
    /// The cut generation, late transcription, "[Silence]" and watchdog rules.
    turns: ModelTurnRules,
    /// Silence owed to the model after the candidate's audio stream stopped.
    trailing: TrailingSilence,
    /// Bytes of model audio dropped because the turn was interrupted.
    dropped_audio_bytes: u64,
    to_model: VecDeque<ModelCommand>,
    to_client: VecDeque<ServerToClientMessage>,
    persist: VecDeque<PersistAction>,
    events: VecDeque<SessionEvent>,
    /// The audio tally of the candidate's open turn.
    answer_tally: AnswerTally,
    /// Tallies of finished answers that had audio.
    answer_audio: Vec<AnswerAudio>,
    /// The client's player, modelled: interviewer turns timed as they play.
    playback: playback::PlaybackClock,
    /// The candidate's open answer on its own sample timeline.
    answer_timeline: answer_timeline::AnswerTimeline,
    /// Interviewer turns cut by a barge-in, with what was heard of them.
    interviewer_cuts: Vec<InterviewerCut>,
    /// Bytes of text counted against the size limits.
    text_limits: text_limits::TextCount,
    /// Model connection, client silence and resumption handle state (`driver_inputs.rs`).
    inputs: driver_inputs::DriverInputs,
}

impl InterviewSession {
    /// A new PENDING interview. The caller connects the model and reports
    /// [`ModelEvent::SetupComplete`](crate::model::ModelEvent::SetupComplete) when it is ready; the setup deadline starts now.
    pub fn new(interview_id: impl Into<String>, config: SessionConfig, now: Instant) -> Self {
        let mut timers = [None; 5];
        timers[Timer::Setup as usize] = Some(now + config.setup_timeout);
        Self {
            interview_id: interview_id.into(),
            config,
            state: State::Pending,
            timers,
            transcript: Transcript::new(),
            client_attached: true,
            resumed_elapsed: None,
            early_texts: Vec::new(),
            last_checkpoint: Vec::new(),
            turns: ModelTurnRules::default(),
            trailing: TrailingSilence::default(),
            dropped_audio_bytes: 0,
            to_model: VecDeque::new(),
            to_client: VecDeque::new(),
            persist: VecDeque::new(),
            events: VecDeque::new(),
            answer_tally: AnswerTally::default(),
            answer_audio: Vec::new(),
            playback: playback::PlaybackClock::default(),
            answer_timeline: answer_timeline::AnswerTimeline::default(),
            interviewer_cuts: Vec::new(),
            text_limits: text_limits::TextCount::default(),
            inputs: driver_inputs::DriverInputs::default(),
        }
    }

    /// An interview that was already IN_PROGRESS, resumed from its stored `entries` after
    /// `elapsed` of it had passed (for example after the server restarted). It is PENDING
    /// with no client attached, waiting [`SessionConfig::reconnect_grace`] for one (then it
    /// ends with [`EndReason::ClientGone`], COMPLETED with the stored entries). The caller
    /// attaches the client ([`InterviewSession::handle_client_attached`]), connects the model
    /// seeded with `entries`, and reports [`ModelEvent::SetupComplete`](crate::model::ModelEvent::SetupComplete). Then the interview
    /// goes on: no greeting is asked for, the client gets a `SessionResumed`, new entries
    /// are numbered after the stored ones, and the time limit counts `elapsed` as spent.
    /// An interview resumed with entries ends COMPLETED even if the model never comes back.
    pub fn resume(
        interview_id: impl Into<String>,
        config: SessionConfig,
        entries: Vec<TranscriptEntry>,
        elapsed: Duration,
        now: Instant,
    ) -> Self {
        let mut s = Self::new(interview_id, config, now);
        s.timers = [None; 5];
        s.timers[Timer::Grace as usize] = Some(now + s.config.reconnect_grace);
        s.text_limits.total = entries.iter().map(|e| e.text.len()).sum();
        s.transcript = Transcript::with_entries(entries);
        s.resumed_elapsed = Some(elapsed);
        s.client_attached = false;
        s
    }

    // ---- getters -------------------------------------------------------------------

    /// Whether the candidate's client is attached (see
    /// [`InterviewSession::handle_client_detached`]).
    pub fn is_client_attached(&self) -> bool {
        self.client_attached
    }

    /// The interview id given to [`InterviewSession::new`].
    pub fn interview_id(&self) -> &str {
        &self.interview_id
    }

    /// The lifecycle status: PENDING, IN_PROGRESS, then COMPLETED or ERROR.
    pub fn status(&self) -> InterviewStatus {
        match &self.state {
            State::Pending => InterviewStatus::Pending,
            State::InProgress { .. } => InterviewStatus::InProgress,
            State::Ended { status, .. } => *status,
        }
    }

    /// Whether the interview has ended.
    pub fn is_ended(&self) -> bool {
        matches!(self.state, State::Ended { .. })
    }

    /// Why the interview ended, once it has.
    pub fn end_reason(&self) -> Option<&EndReason> {
        match &self.state {
            State::Ended { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// The transcript so far: finished entries plus any open turns.
    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// What was measured on the audio of each finished spoken answer (answers without
    /// audio, such as typed ones, have no tally), in the order the answers ended.
    pub fn answer_audio(&self) -> &[AnswerAudio] {
        &self.answer_audio
    }

    /// Interviewer turns the candidate cut short by speaking, in order, with how much of
    /// each played and the part of its text heard before the cut.
    pub fn interviewer_cuts(&self) -> &[InterviewerCut] {
        &self.interviewer_cuts
    }

    /// Bytes of model audio dropped because they belonged to an interrupted turn.
    pub fn dropped_audio_bytes(&self) -> u64 {
        self.dropped_audio_bytes
    }

    /// Milliseconds since the interview started (0 before it starts).
    pub fn elapsed_ms(&self, now: Instant) -> u64 {
        match self.state {
            State::InProgress { started_at } => {
                u64::try_from(now.saturating_duration_since(started_at).as_millis())
                    .unwrap_or(u64::MAX)
            }
            _ => 0,
        }
    }

    fn check_live(&self) -> Result<(), SessionError> {
        if self.is_ended() {
            Err(SessionError::Ended)
        } else {
            Ok(())
        }
    }
}

fn to_client(message: ToClient) -> ServerToClientMessage {
    ServerToClientMessage {
        message: Some(message),
    }
}

mod answer_timeline;
mod driver_inputs;
#[cfg(test)]
mod driver_inputs_tests;
mod playback;
pub use crate::transcript::InterviewerCut;
pub use driver_inputs::MIN_INTERVIEW_LENGTH;

#[cfg(test)]
mod clock_tests;
#[cfg(test)]
mod tests;

pub mod text_limits;
pub use text_limits::TextLimit;
