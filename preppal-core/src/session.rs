//! [`InterviewSession`]: one live interview as a state machine with no I/O.
//!
//! # Calling contract
//!
//! Methods come in four kinds (after quinn-proto's `Connection`):
//!
//! - getters (`&self`): [`status`](InterviewSession::status), [`transcript`](InterviewSession::transcript),
//!   [`end_reason`](InterviewSession::end_reason), ...
//! - `handle_*`: inputs. [`handle_client`](InterviewSession::handle_client) for decoded
//!   browser messages, [`handle_model`](InterviewSession::handle_model) for model events,
//!   [`handle_timeout`](InterviewSession::handle_timeout) when [`poll_timeout`](InterviewSession::poll_timeout)
//!   has passed, [`handle_client_gone`](InterviewSession::handle_client_gone) when the
//!   browser's socket closed.
//! - `poll_*`: outputs, pulled until they return `None` after every `handle_*` call, in
//!   this order: [`poll_to_model`](InterviewSession::poll_to_model),
//!   [`poll_to_client`](InterviewSession::poll_to_client),
//!   [`poll_persist`](InterviewSession::poll_persist), [`poll_event`](InterviewSession::poll_event);
//!   then sleep until [`poll_timeout`](InterviewSession::poll_timeout).
//!
//! `now` is an [`Instant`] supplied by the caller and must never go backwards. The session
//! reads no clock, so tests drive it with a fake one.
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
//! candidate entry it belongs to; "[Silence]"-only replies are dropped; a no-output
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

use bytes::Bytes;

use crate::codec::ClientMessage;
use crate::metrics::{AnswerAudio, PAUSE_THRESHOLD_MS};
use crate::model::{FunctionResponse, ModelCommand, ModelEvent};
use crate::proto::{self, server_to_client_message::Message as ToClient, ServerToClientMessage};
use crate::status::InterviewStatus;
use crate::transcript::{Speaker, Transcript, TranscriptEntry};

mod failure;
mod model_turns;
mod trailing_silence;

pub use failure::ModelErrorKind;
use model_turns::ModelTurnRules;
pub use model_turns::{NOT_ANSWERING, REPROMPT_INSTRUCTION, SILENCE_REPLY};
use trailing_silence::TrailingSilence;
pub use trailing_silence::TRAILING_FRAME;

/// Instruction sent to the model when the time limit is near.
pub const WRAP_UP_INSTRUCTION: &str = "Time is nearly up. Thank the candidate warmly and close \
     the interview in one or two sentences; do not ask another question.";

/// Settings of one interview.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// The interview's time limit, counted from the model's `setupComplete`.
    pub max_duration: Duration,
    /// How long before the time limit the model is asked to wrap up. Zero disables it.
    pub wrap_up_before: Duration,
    /// How long to wait for the model's `setupComplete` before giving up.
    pub setup_timeout: Duration,
    /// Root-mean-square amplitude (of PCM16 samples, 0..=32767) above which a candidate
    /// audio frame counts as speech. The default, 500, is about -36 dBFS.
    pub speech_rms_threshold: u16,
    /// Sample rate of the candidate's PCM16LE audio, in Hz; default 16 000 (what the
    /// browser sends and Gemini Live takes as input). Pauses are timed on this timeline.
    pub input_sample_rate_hz: u32,
    /// How long the interview waits for the candidate's client to come back after its
    /// connection dropped ([`InterviewSession::handle_client_detached`]) before it ends with
    /// [`EndReason::ClientGone`]. Zero ends it at once. Default 60 s.
    pub reconnect_grace: Duration,
    /// While a turn is open, its text so far is offered for storage at most this often
    /// ([`PersistAction::OpenTurns`]), so a long turn is never only in memory. Default 5 s;
    /// zero disables it.
    pub checkpoint_interval: Duration,
    /// After `interrupted`, this much candidate silence (on the audio's own timeline) ends
    /// the cut generation: model output after it is a new turn, even without a
    /// `turnComplete` first. Default 300 ms.
    pub cut_generation_silence: Duration,
    /// After `interrupted` or a `turnComplete` with nothing said, no model output for this
    /// long after the candidate's last speech re-prompts the model (once; then the
    /// candidate is told). Default 8 s; zero disables it (gemini-live-protocol notes §10.2).
    pub no_output_timeout: Duration,
    /// When the candidate's audio stream stops mid-turn, keep streaming this much silence
    /// to the model (in [`TRAILING_FRAME`] frames) instead of leaving it without trailing
    /// audio: for models that ignore `audioStreamEnd` and need it to end the turn
    /// (gemini-live-protocol notes §10.2; the model table says which). Default zero: off.
    pub trailing_silence: Duration,
    /// Largest text of one turn, in bytes of UTF-8; default 16 KiB
    /// ([`text_limits::DEFAULT_MAX_TURN_TEXT_BYTES`]). See [`text_limits`].
    pub max_turn_text_bytes: usize,
    /// Largest text of the whole transcript, in bytes of UTF-8; default 1 MiB
    /// ([`text_limits::DEFAULT_MAX_TRANSCRIPT_BYTES`]). See [`text_limits`].
    pub max_transcript_bytes: usize,
    /// An attached client of an interview in progress from which nothing (no message, no
    /// pong) was heard for this long is taken as gone ([`SessionEvent::ClientSilent`], then
    /// detached: the reconnect grace period starts). See
    /// [`InterviewSession::handle_client_heard`]. Default zero: off.
    pub client_silence_limit: Duration,
}

impl SessionConfig {
    /// Settings with the given time limit and the defaults for the rest: wrap-up 60 s
    /// before the end (or a tenth of the limit when that is shorter), setup timeout 15 s.
    pub fn new(max_duration: Duration) -> Self {
        Self {
            max_duration,
            wrap_up_before: Duration::from_secs(60).min(max_duration / 10),
            setup_timeout: Duration::from_secs(15),
            speech_rms_threshold: 500,
            input_sample_rate_hz: 16_000,
            reconnect_grace: Duration::from_secs(60),
            checkpoint_interval: Duration::from_secs(5),
            cut_generation_silence: model_turns::DEFAULT_CUT_GENERATION_SILENCE,
            no_output_timeout: model_turns::DEFAULT_NO_OUTPUT_TIMEOUT,
            trailing_silence: Duration::ZERO,
            max_turn_text_bytes: text_limits::DEFAULT_MAX_TURN_TEXT_BYTES,
            max_transcript_bytes: text_limits::DEFAULT_MAX_TRANSCRIPT_BYTES,
            client_silence_limit: Duration::ZERO,
        }
    }

    /// Sets [`SessionConfig::trailing_silence`] (zero turns it off).
    pub fn with_trailing_silence(mut self, d: Duration) -> Self {
        self.trailing_silence = d;
        self
    }

    /// Sets [`SessionConfig::cut_generation_silence`].
    pub fn with_cut_generation_silence(mut self, d: Duration) -> Self {
        self.cut_generation_silence = d;
        self
    }

    /// Sets [`SessionConfig::no_output_timeout`] (zero disables the watchdog).
    pub fn with_no_output_timeout(mut self, d: Duration) -> Self {
        self.no_output_timeout = d;
        self
    }

    /// Sets [`SessionConfig::reconnect_grace`].
    pub fn with_reconnect_grace(mut self, d: Duration) -> Self {
        self.reconnect_grace = d;
        self
    }

    /// Sets [`SessionConfig::checkpoint_interval`].
    pub fn with_checkpoint_interval(mut self, d: Duration) -> Self {
        self.checkpoint_interval = d;
        self
    }

    /// Sets [`SessionConfig::wrap_up_before`].
    pub fn with_wrap_up_before(mut self, d: Duration) -> Self {
        self.wrap_up_before = d;
        self
    }

    /// Sets [`SessionConfig::input_sample_rate_hz`] (Hz).
    pub fn with_input_sample_rate_hz(mut self, hz: u32) -> Self {
        self.input_sample_rate_hz = hz;
        self
    }

    /// Sets [`SessionConfig::setup_timeout`].
    pub fn with_setup_timeout(mut self, d: Duration) -> Self {
        self.setup_timeout = d;
        self
    }
}

/// Why an interview ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// The candidate sent `EndRequest`.
    UserEnded,
    /// The time limit passed.
    TimeLimit,
    /// The model closed the conversation (its close code and reason).
    ModelClosed {
        /// WebSocket close code.
        code: u16,
        /// Close reason as sent.
        reason: String,
    },
    /// The model did not complete its setup in time.
    SetupTimeout,
    /// The candidate's client went away (and did not come back within the grace period).
    ClientGone,
    /// The server shut down and finished the interview with what was kept.
    ServerShutdown,
}

impl EndReason {
    /// A stable machine name: `user_ended`, `time_limit`, `model_closed`, `setup_timeout`,
    /// `client_gone`, `server_shutdown`. Stored as the interview's `ended_reason`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::UserEnded => "user_ended",
            Self::TimeLimit => "time_limit",
            Self::ModelClosed { .. } => "model_closed",
            Self::SetupTimeout => "setup_timeout",
            Self::ClientGone => "client_gone",
            Self::ServerShutdown => "server_shutdown",
        }
    }

    /// Why the model failed, when it did: the kind of a [`EndReason::ModelClosed`] that
    /// was not a normal close ([`ModelErrorKind::from_close`]), or
    /// [`ModelErrorKind::Timeout`] for [`EndReason::SetupTimeout`]. Stored as the
    /// interview's `error_kind` and sent to the candidate in `ErrorResponse.kind`.
    pub fn error_kind(&self) -> Option<ModelErrorKind> {
        match self {
            Self::ModelClosed { code, reason } => ModelErrorKind::from_close(*code, reason),
            Self::SetupTimeout => Some(ModelErrorKind::Timeout),
            _ => None,
        }
    }

    /// The reason as the browser protocol's `SessionEnded.Reason`.
    pub fn to_proto(&self) -> proto::session_ended::Reason {
        use proto::session_ended::Reason;
        match self {
            Self::UserEnded | Self::ClientGone => Reason::UserEnded,
            Self::TimeLimit => Reason::Timeout,
            Self::ModelClosed { code: 1000, .. } => Reason::ModelEnded,
            Self::ModelClosed { .. } | Self::SetupTimeout => Reason::Error,
            Self::ServerShutdown => Reason::ServerShutdown,
        }
    }
}

/// Something worth logging or counting that happened in the session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The model is ready; the interview is IN_PROGRESS.
    Started,
    /// A transcript entry was finished.
    TurnEnded {
        /// Who spoke.
        speaker: Speaker,
        /// The entry's sequence number.
        sequence: u32,
    },
    /// The candidate barged in and the model's turn was cut.
    Interrupted,
    /// The model was asked to wrap up because the time limit is near.
    WrapUp,
    /// The model said nothing after an interruption or an empty turn and was re-prompted
    /// ([`REPROMPT_INSTRUCTION`]).
    Reprompted,
    /// The model announced it will close the connection in `time_left_ms` ms (`goAway`).
    GoAway {
        /// `timeLeft` in ms.
        time_left_ms: u64,
    },
    /// Nothing was heard from the attached client for
    /// [`SessionConfig::client_silence_limit`]: it is taken as gone (a `ClientDetached`
    /// follows). The driver drops the client's connection.
    ClientSilent {
        /// The limit that passed, in ms.
        silent_ms: u64,
    },
    /// The candidate's client went away; the interview waits for it for the grace period.
    ClientDetached,
    /// The candidate's client came back (or came for the first time to a resumed
    /// interview) and was sent the transcript so far.
    ClientAttached,
    /// The interview ended. Emitted exactly once.
    Ended {
        /// Why.
        reason: EndReason,
        /// The final status: COMPLETED when anything was said, ERROR otherwise.
        status: InterviewStatus,
    },
}

/// Something to write to the store (directly, or through the worker API).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PersistAction {
    /// Move the interview to `status` (only ever IN_PROGRESS; the end is [`PersistAction::Finish`]).
    Status(InterviewStatus),
    /// Append these finished entries (idempotent by sequence number).
    Transcript(Vec<TranscriptEntry>),
    /// The turns still open, as provisional entries numbered as they will be when they
    /// finish (see [`crate::Transcript::open_entries`]). Stored so that a long turn
    /// survives a crash; the finished entry under the same sequence later replaces it (its
    /// text extends the provisional one). Not part of the interview's record until then.
    OpenTurns(Vec<TranscriptEntry>),
    /// What was measured on the audio of each spoken answer, for the delivery metrics
    /// (`metrics::compute`). Sent once, just before [`PersistAction::Finish`], and only
    /// when some answer had audio.
    AnswerAudio(Vec<AnswerAudio>),
    /// The interviewer turns the candidate cut short by speaking, with how much of each
    /// played and what part of its text was heard (see [`InterviewerCut`]), for the
    /// feedback's metrics. Sent once, just before [`PersistAction::Finish`], and only when
    /// some turn was cut.
    InterviewerCuts(Vec<InterviewerCut>),
    /// A new session resumption handle of the model's connection (`sessionResumptionUpdate`,
    /// resumable), to keep with the interview so that another process can resume the
    /// model's conversation. Offered only when it changed.
    ResumptionHandle(String),
    /// The interview is over: the caller writes feedback (for COMPLETED) from
    /// [`InterviewSession::transcript`], then moves the interview to `status` with `reason`.
    /// Always the last action, after every transcript entry.
    Finish {
        /// COMPLETED or ERROR.
        status: InterviewStatus,
        /// Why the interview ended.
        reason: EndReason,
    },
}

/// A call the session refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The interview has already ended; the input was ignored. Not a fault of the peer
    /// as such: late messages after the end are normal and can be dropped.
    #[error("the interview has ended")]
    Ended,
    /// A typed answer was refused because it would break a size limit; the candidate was
    /// sent an `ErrorResponse` (413) saying which.
    #[error(transparent)]
    TextLimit(#[from] TextLimit),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    Setup = 0,
    WrapUp = 1,
    MaxDuration = 2,
    Grace = 3,
    Checkpoint = 4,
}

impl Timer {
    const ALL: [Self; 5] = [
        Self::Setup,
        Self::WrapUp,
        Self::MaxDuration,
        Self::Grace,
        Self::Checkpoint,
    ];
}

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

/// Counts silent runs in the candidate's open turn on the audio's own sample timeline.
/// Plain counters: no allocation per frame.
#[derive(Debug, Clone, Copy, Default)]
struct AnswerTally {
    samples: u64,
    silent_run: u64,
    speech_seen: bool,
    pauses: u32,
    longest_pause: u64,
    barged_in: bool,
}

impl AnswerTally {
    fn speech(&mut self, samples: u64, pause_samples: u64) {
        if self.speech_seen && self.silent_run > pause_samples {
            self.pauses += 1;
            self.longest_pause = self.longest_pause.max(self.silent_run);
        }
        self.silent_run = 0;
        self.speech_seen = true;
        self.samples += samples;
    }

    fn silence(&mut self, samples: u64) {
        if self.speech_seen {
            self.silent_run += samples;
        }
        self.samples += samples;
    }
}

impl InterviewSession {
    /// A new PENDING interview. The caller connects the model and reports
    /// [`ModelEvent::SetupComplete`] when it is ready; the setup deadline starts now.
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
    /// seeded with `entries`, and reports [`ModelEvent::SetupComplete`]. Then the interview
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

    // ---- inputs --------------------------------------------------------------------

    /// A decoded message from the candidate's client.
    ///
    /// Audio is forwarded to the model and, when its RMS is above
    /// [`SessionConfig::speech_rms_threshold`], marks the candidate as speaking. Text is a
    /// typed answer: shown in the transcript and sent to the model. `End` ends the
    /// interview ([`EndReason::UserEnded`]). Audio and text before the model is ready are
    /// dropped.
    ///
    /// # Errors
    /// [`SessionError::Ended`] after the interview ended.
    pub fn handle_client(&mut self, msg: ClientMessage, now: Instant) -> Result<(), SessionError> {
        self.check_live()?;
        let started = matches!(self.state, State::InProgress { .. });
        match msg {
            ClientMessage::End => self.end(EndReason::UserEnded, now),
            ClientMessage::Audio(audio) if started => {
                let samples = audio.len() as u64 / 2;
                let speech = pcm16_rms(&audio) > f64::from(self.config.speech_rms_threshold);
                self.turns.candidate_audio(&self.config, samples, speech);
                if self.transcript.is_open(Speaker::User) || speech {
                    self.trailing.candidate_audio(&self.config, now);
                }
                self.answer_timeline.frame(
                    self.elapsed_ms(now),
                    samples,
                    speech,
                    u64::from(self.config.input_sample_rate_hz),
                );
                if speech {
                    if !self.transcript.is_open(Speaker::User) {
                        self.candidate_turn_started(now, false);
                    }
                    self.turns.candidate_speech(&self.config, now);
                    let at = self.elapsed_ms(now);
                    self.transcript.mark_activity(Speaker::User, at);
                    let pause_samples =
                        u64::from(self.config.input_sample_rate_hz) * PAUSE_THRESHOLD_MS / 1000;
                    self.answer_tally.speech(samples, pause_samples);
                } else if self.transcript.is_open(Speaker::User) {
                    self.answer_tally.silence(samples);
                }
                self.to_model.push_back(ModelCommand::Audio(audio));
            }
            ClientMessage::Playback(report) if started => self.handle_playback_report(report),
            ClientMessage::Text(text) if started => {
                let text = text.trim();
                if !text.is_empty() {
                    let at = self.elapsed_ms(now);
                    // A typed answer starts the candidate's turn: what the model said
                    // before it is a finished turn.
                    self.candidate_turn_started(now, true);
                    self.finish_turn(Speaker::Ai, false);
                    // What the model says next answers it.
                    self.turns.cut_over();
                    self.turns.close_amendable();
                    // Typed answers are whole messages, not fragments: keep them apart.
                    let sep = match self.transcript.open_text(Speaker::User) {
                        Some(t) if !t.is_empty() && !t.ends_with(char::is_whitespace) => " ",
                        _ => "",
                    };
                    let fragment = format!("{sep}{text}");
                    if let Err(limit) = self.admit_text(Speaker::User, fragment.len()) {
                        self.refuse_text(limit);
                        return Err(limit.into());
                    }
                    self.transcript.append(Speaker::User, &fragment, at);
                    self.push_transcript_update(Speaker::User, fragment, false, false);
                    self.to_model.push_back(ModelCommand::Text(text.to_owned()));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// An event from the model.
    ///
    /// # Errors
    /// [`SessionError::Ended`] after the interview ended (late model output is normal
    /// then and can be ignored).
    pub fn handle_model(&mut self, event: ModelEvent, now: Instant) -> Result<(), SessionError> {
        self.check_live()?;
        if let ModelEvent::Closed { code, reason } = event {
            self.end(EndReason::ModelClosed { code, reason }, now);
            return Ok(());
        }
        if matches!(self.state, State::Pending) {
            if event == ModelEvent::SetupComplete {
                self.start(now);
            }
            return Ok(());
        }
        let at = self.elapsed_ms(now);
        match event {
            ModelEvent::Audio(audio) => {
                if self.turns.dropping() {
                    self.dropped_audio_bytes += audio.len() as u64;
                } else {
                    self.turns.model_output();
                    self.trailing.stop();
                    self.model_output_started();
                    self.interviewer_audio(audio.len(), now);
                    self.to_client.push_back(to_client(ToClient::AudioResponse(
                        proto::AudioResponse {
                            audio_content: audio,
                        },
                    )));
                }
            }
            ModelEvent::OutputTranscription(fragment) if !self.turns.dropping() => {
                self.turns.model_output();
                self.model_output_started();
                let fragment = text_limits::store_safe(fragment);
                self.transcript.mark_activity(Speaker::Ai, at);
                let so_far = self.transcript.open_text(Speaker::Ai).unwrap_or_default();
                let text = self.turns.output_text(so_far, &fragment);
                if !text.is_empty() {
                    if self.admit_text(Speaker::Ai, text.len()).is_err() {
                        self.drop_model_text(text.len());
                        return Ok(());
                    }
                    self.transcript.append(Speaker::Ai, &text, at);
                    let len = self.transcript.open_text(Speaker::Ai).map_or(0, str::len);
                    self.playback.fragment(len);
                    self.push_transcript_update(Speaker::Ai, text, false, false);
                }
            }
            ModelEvent::InputTranscription(fragment) => {
                let fragment = text_limits::store_safe(fragment);
                if self.admit_text(Speaker::User, fragment.len()).is_err() {
                    self.drop_model_text(fragment.len());
                    return Ok(());
                }
                self.candidate_transcription(fragment, at);
            }
            ModelEvent::Interrupted => {
                if self.transcript.is_open(Speaker::User) {
                    self.answer_tally.barged_in = true;
                }
                self.interviewer_cut(now);
                self.finish_model_turn(false);
                self.turns.close_amendable();
                self.turns.interrupted();
                self.turns.turn_boundary(&self.config, now, true);
                self.to_client
                    .push_back(to_client(ToClient::Interrupted(proto::Interrupted {})));
                self.events.push_back(SessionEvent::Interrupted);
            }
            ModelEvent::TurnComplete => {
                self.turns.cut_over();
                self.turns.close_amendable();
                self.finish_model_turn(true);
                self.turns.turn_boundary(&self.config, now, false);
            }
            ModelEvent::GoAway { time_left_ms } => {
                self.events.push_back(SessionEvent::GoAway { time_left_ms });
            }
            ModelEvent::ResumptionUpdate { handle, resumable } => {
                self.resumption_update(&handle, resumable);
            }
            // The interview declares no functions, so any call is refused at once: the
            // server expects an answer before more candidate audio (§3.4).
            ModelEvent::ToolCall(calls) => {
                let responses = calls
                    .iter()
                    .map(|call| {
                        FunctionResponse::to(
                            call,
                            serde_json::json!({ "error": format!("no function named {:?}", call.name) }),
                        )
                    })
                    .collect();
                self.to_model
                    .push_back(ModelCommand::ToolResponse(responses));
            }
            // SetupComplete again (a resumed connection), text parts, generationComplete,
            // a turn's reason, tool call cancellations, usage and transcription of an
            // interrupted turn change nothing here.
            _ => {}
        }
        Ok(())
    }

    /// Fires every timer that is due at `now`: the setup deadline (ends the interview with
    /// [`EndReason::SetupTimeout`]), the wrap-up prompt, and the time limit
    /// ([`EndReason::TimeLimit`]), the end of the reconnect grace period
    /// ([`EndReason::ClientGone`]) and the open-turn checkpoint
    /// ([`PersistAction::OpenTurns`]). Calling it early does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in Timer::ALL {
            let slot = &mut self.timers[timer as usize];
            if slot.is_some_and(|at| at <= now) {
                *slot = None;
                match timer {
                    Timer::Setup => self.end(EndReason::SetupTimeout, now),
                    Timer::WrapUp => {
                        self.turns.cut_over();
                        self.to_model
                            .push_back(ModelCommand::Instruct(WRAP_UP_INSTRUCTION.to_owned()));
                        self.events.push_back(SessionEvent::WrapUp);
                    }
                    Timer::MaxDuration => self.end(EndReason::TimeLimit, now),
                    Timer::Grace => self.end(EndReason::ClientGone, now),
                    Timer::Checkpoint => self.checkpoint(now),
                }
            }
        }
        if !self.is_ended() {
            self.fire_client_silence(now);
            self.no_output_watchdog(now);
            if let Some(silence) = self.trailing.fire(&self.config, now) {
                self.to_model.push_back(silence);
            }
        }
    }

    /// The candidate's client went away for good. Ends the interview with
    /// [`EndReason::ClientGone`]; does nothing after the end.
    pub fn handle_client_gone(&mut self, now: Instant) {
        if !self.is_ended() {
            self.end(EndReason::ClientGone, now);
        }
    }

    /// The candidate's client connection dropped (closed, failed or went silent) but may
    /// come back. The interview and the model go on (the model may finish its turn; no
    /// candidate audio arrives meanwhile); messages for the client are dropped; the open
    /// turns are offered for storage at once; and the interview ends with
    /// [`EndReason::ClientGone`] when [`SessionConfig::reconnect_grace`] passes with no
    /// [`InterviewSession::handle_client_attached`] (at once when the grace is zero).
    /// Does nothing after the end or when no client is attached.
    pub fn handle_client_detached(&mut self, now: Instant) {
        if self.is_ended() || !self.client_attached {
            return;
        }
        if self.config.reconnect_grace.is_zero() {
            self.end(EndReason::ClientGone, now);
            return;
        }
        self.client_attached = false;
        self.to_client.clear();
        self.timers[Timer::Grace as usize] = Some(now + self.config.reconnect_grace);
        self.events.push_back(SessionEvent::ClientDetached);
        self.checkpoint(now);
    }

    /// A client (re)connected to the interview: the grace timer stops and the client is
    /// sent a `SessionResumed` with every finished entry, the open turns (which later
    /// `TranscriptUpdate` fragments extend), the time limit and the time spent. Before the
    /// model is ready the client gets nothing yet: `SessionStarted` (or `SessionResumed`
    /// for a resumed interview) follows the model's `setupComplete`.
    ///
    /// # Errors
    /// [`SessionError::Ended`] after the interview ended; the caller closes the connection.
    pub fn handle_client_attached(&mut self, now: Instant) -> Result<(), SessionError> {
        self.check_live()?;
        self.client_attached = true;
        self.timers[Timer::Grace as usize] = None;
        self.to_client.clear();
        self.arm_client_silence(now);
        if matches!(self.state, State::InProgress { .. }) {
            self.push_session_resumed(now);
        }
        self.events.push_back(SessionEvent::ClientAttached);
        Ok(())
    }

    /// The server is shutting down: ends the interview with
    /// [`EndReason::ServerShutdown`], keeping what was said (COMPLETED when anything
    /// was). Does nothing after the end.
    pub fn handle_shutdown(&mut self, now: Instant) {
        if !self.is_ended() {
            self.end(EndReason::ServerShutdown, now);
        }
    }

    // ---- outputs -------------------------------------------------------------------

    /// The next command for the model. Poll after every `handle_*` call.
    #[must_use]
    pub fn poll_to_model(&mut self) -> Option<ModelCommand> {
        self.to_model.pop_front()
    }

    /// The next message for the candidate's client. Poll after every `handle_*` call.
    /// Always `None` while no client is attached (those messages are dropped: the client
    /// gets the transcript so far when it attaches).
    #[must_use]
    pub fn poll_to_client(&mut self) -> Option<ServerToClientMessage> {
        if !self.client_attached {
            self.to_client.clear();
            return None;
        }
        self.to_client.pop_front()
    }

    /// The next storage action, in the order they must be applied. Consecutive transcript
    /// appends are merged into one batch. Poll after every `handle_*` call.
    #[must_use]
    pub fn poll_persist(&mut self) -> Option<PersistAction> {
        self.persist.pop_front()
    }

    /// The next event for logs and metrics. Poll after every `handle_*` call.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// When [`InterviewSession::handle_timeout`] must next be called; `None` when no timer is armed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ended = self.is_ended();
        let watchdog = self.turns.deadline().filter(|_| !ended);
        let trailing = self.trailing.deadline().filter(|_| !ended);
        self.timers
            .iter()
            .flatten()
            .copied()
            .chain(watchdog)
            .chain(trailing)
            .chain(self.client_silence_deadline())
            .min()
    }

    // ---- internals -----------------------------------------------------------------

    fn check_live(&self) -> Result<(), SessionError> {
        if self.is_ended() {
            Err(SessionError::Ended)
        } else {
            Ok(())
        }
    }

    fn start(&mut self, now: Instant) {
        let resumed = self.resumed_elapsed.take();
        let started_at = resumed.and_then(|e| now.checked_sub(e)).unwrap_or(now);
        self.state = State::InProgress { started_at };
        self.arm_client_silence(now);
        let now = started_at;
        self.timers[Timer::Setup as usize] = None;
        self.timers[Timer::MaxDuration as usize] = Some(now + self.config.max_duration);
        if !self.config.wrap_up_before.is_zero()
            && self.config.wrap_up_before < self.config.max_duration
        {
            self.timers[Timer::WrapUp as usize] =
                Some(now + (self.config.max_duration - self.config.wrap_up_before));
        }
        if !self.config.checkpoint_interval.is_zero() {
            self.timers[Timer::Checkpoint as usize] = Some(now + self.config.checkpoint_interval);
        }
        self.persist
            .push_back(PersistAction::Status(InterviewStatus::InProgress));
        if resumed.is_some() {
            // The model was seeded with the conversation so far: no greeting.
            let at = started_at + resumed.unwrap_or_default();
            self.push_session_resumed(at);
        } else {
            self.to_model.push_back(ModelCommand::Begin);
            self.to_client
                .push_back(to_client(ToClient::SessionStarted(proto::SessionStarted {
                    interview_id: self.interview_id.clone(),
                    max_duration_ms: self.max_duration_ms(),
                })));
        }
        self.events.push_back(SessionEvent::Started);
    }

    fn max_duration_ms(&self) -> u64 {
        u64::try_from(self.config.max_duration.as_millis()).unwrap_or(u64::MAX)
    }

    fn push_session_resumed(&mut self, now: Instant) {
        let transcript = self
            .transcript
            .entries()
            .iter()
            .map(proto::TranscriptEntry::from)
            .collect();
        let open_turns = self
            .transcript
            .open_entries()
            .iter()
            .map(proto::TranscriptEntry::from)
            .collect();
        let elapsed_ms = self.elapsed_ms(now);
        self.to_client
            .push_back(to_client(ToClient::SessionResumed(proto::SessionResumed {
                interview_id: self.interview_id.clone(),
                max_duration_ms: self.max_duration_ms(),
                elapsed_ms,
                transcript,
                open_turns,
            })));
    }

    /// Offers the open turns for storage when they changed since the last offer, and
    /// re-arms the checkpoint timer.
    fn checkpoint(&mut self, now: Instant) {
        if !matches!(self.state, State::InProgress { .. }) {
            return;
        }
        if !self.config.checkpoint_interval.is_zero() {
            self.timers[Timer::Checkpoint as usize] = Some(now + self.config.checkpoint_interval);
        }
        let open = self.transcript.open_entries();
        if !open.is_empty() && open != self.last_checkpoint {
            self.persist
                .push_back(PersistAction::OpenTurns(open.clone()));
        }
        self.last_checkpoint = open;
    }

    /// Model output arrived. If it starts a new model turn, the candidate's turn (if any)
    /// is over. Output that continues a model turn the candidate is talking over does not
    /// end the candidate's turn: that would cut one answer into a turn per audio frame.
    fn model_output_started(&mut self) {
        if self.transcript.is_open(Speaker::User) && !self.transcript.is_open(Speaker::Ai) {
            self.finish_turn(Speaker::User, false);
        }
    }

    fn finish_turn(&mut self, speaker: Speaker, turn_complete: bool) {
        self.apply_audio_clock(speaker);
        let Some(entry) = self.transcript.finalize(speaker).cloned() else {
            return;
        };
        if speaker == Speaker::User {
            self.close_answer_tally(entry.sequence);
            self.turns.candidate_entry_ended(entry.sequence);
        }
        self.to_client
            .push_back(to_client(ToClient::TranscriptUpdate(
                proto::TranscriptUpdate {
                    speaker: speaker.as_str().to_owned(),
                    text: entry.text.clone(),
                    is_final: true,
                    turn_complete,
                    start_ms: entry.start_ms,
                    sequence: 0,
                    audio_offset_ms: 0,
                },
            )));
        self.events.push_back(SessionEvent::TurnEnded {
            speaker,
            sequence: entry.sequence,
        });
        self.push_entry(entry);
    }

    /// Keeps the open turn's audio tally (when it had audio) as the answer `sequence`'s.
    fn close_answer_tally(&mut self, sequence: u32) {
        let t = std::mem::take(&mut self.answer_tally);
        if t.samples == 0 {
            return;
        }
        let rate = u64::from(self.config.input_sample_rate_hz.max(1));
        self.answer_audio.push(
            AnswerAudio::new(
                sequence,
                t.samples * 1000 / rate,
                t.pauses,
                t.longest_pause * 1000 / rate,
            )
            .with_barged_in(t.barged_in),
        );
    }

    fn push_entry(&mut self, entry: TranscriptEntry) {
        if let Some(PersistAction::Transcript(batch)) = self.persist.back_mut() {
            batch.push(entry);
        } else {
            self.persist
                .push_back(PersistAction::Transcript(vec![entry]));
        }
    }

    fn push_transcript_update(
        &mut self,
        speaker: Speaker,
        text: String,
        is_final: bool,
        turn_complete: bool,
    ) {
        let start_ms = self.transcript.open_start_ms(speaker).unwrap_or_default();
        let audio_offset_ms = match speaker {
            Speaker::Ai => self.playback.offset_ms(),
            Speaker::User => 0,
        };
        self.to_client
            .push_back(to_client(ToClient::TranscriptUpdate(
                proto::TranscriptUpdate {
                    speaker: speaker.as_str().to_owned(),
                    text,
                    is_final,
                    turn_complete,
                    start_ms,
                    sequence: 0,
                    audio_offset_ms,
                },
            )));
    }

    fn end(&mut self, reason: EndReason, _now: Instant) {
        let was_started = matches!(self.state, State::InProgress { .. });
        let mut speakers = [Speaker::Ai, Speaker::User];
        speakers.sort_by_key(|s| self.transcript.open_start_ms(*s).unwrap_or(u64::MAX));
        for s in speakers {
            self.finish_turn(s, false);
        }
        let resumed = self.resumed_elapsed.is_some();
        let status = if (was_started || resumed) && !self.transcript.entries().is_empty() {
            InterviewStatus::Completed
        } else {
            InterviewStatus::Error
        };
        self.timers = [None; 5];
        self.turns.stop();
        self.trailing.stop();
        self.to_model.push_back(ModelCommand::Close);
        if let Some(kind) = reason.error_kind() {
            self.to_client
                .push_back(to_client(ToClient::ErrorResponse(proto::ErrorResponse {
                    code: 502,
                    message: kind.sentence().to_owned(),
                    kind: kind.to_proto() as i32,
                })));
        }
        self.to_client
            .push_back(to_client(ToClient::SessionEnded(proto::SessionEnded {
                reason: reason.to_proto() as i32,
            })));
        if !self.answer_audio.is_empty() {
            self.persist
                .push_back(PersistAction::AnswerAudio(self.answer_audio.clone()));
        }
        if !self.interviewer_cuts.is_empty() {
            self.persist.push_back(PersistAction::InterviewerCuts(
                self.interviewer_cuts.clone(),
            ));
        }
        self.persist.push_back(PersistAction::Finish {
            status,
            reason: reason.clone(),
        });
        self.events.push_back(SessionEvent::Ended {
            reason: reason.clone(),
            status,
        });
        self.state = State::Ended { status, reason };
    }
}

fn to_client(message: ToClient) -> ServerToClientMessage {
    ServerToClientMessage {
        message: Some(message),
    }
}

/// Root-mean-square amplitude of PCM16LE audio, 0.0 for empty input.
pub fn pcm16_rms(audio: &Bytes) -> f64 {
    let n = audio.len() / 2;
    if n == 0 {
        return 0.0;
    }
    let sum: f64 = audio
        .chunks_exact(2)
        .map(|b| {
            let s = f64::from(i16::from_le_bytes([b[0], b[1]]));
            s * s
        })
        .sum();
    (sum / n as f64).sqrt()
}

mod answer_timeline;
mod driver_inputs;
#[cfg(test)]
mod driver_inputs_tests;
mod playback;
pub use driver_inputs::MIN_INTERVIEW_LENGTH;
pub use playback::InterviewerCut;

#[cfg(test)]
mod clock_tests;
#[cfg(test)]
mod tests;

pub mod text_limits;
pub use text_limits::TextLimit;
