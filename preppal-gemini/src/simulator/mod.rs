//! A Gemini Live simulator: a WebSocket server on loopback that speaks the wire protocol
//! of the gemini-live-protocol notes and plays a scripted interviewer.
//!
//! Per connection it:
//! - refuses the upgrade with HTTP 404 unless the path ends with `BidiGenerateContent` or
//!   `BidiGenerateContentConstrained`, and with HTTP 401 unless an `x-goog-api-key` header,
//!   an `Authorization: Token` header or a `key` / `access_token` query parameter is
//!   present; the constrained path takes only an ephemeral token minted by the REST side's
//!   `POST /v1alpha/auth_tokens`, sent one way only, with a use left (§1.2, §1.3). Every
//!   upgrade's path and credential form is recorded ([`SimulatorHandle::upgrades`]);
//!   An ephemeral token on the v1beta path or sent as an API key (`x-goog-api-key`,
//!   `?key=`) is refused (401 / 400 [`KEY_NOT_VALID`]), and so is the constrained path on
//!   v1beta (404);
//! - requires `setup` as the first message (else close 1007 "Request contains an invalid
//!   argument."), and is strict about it, as the real service is: unknown or misplaced
//!   fields (the JSON is walked against a schema of the known fields at each level,
//!   camelCase or snake_case), invalid enum values, a model name without `models/`,
//!   modalities the model does not answer with, and fields the model's entry in
//!   [`crate::models::LIVE_MODELS`] rejects (`thinkingConfig` on `gemini-3.8-live`, affective
//!   dialog or proactive audio where not taken or on v1beta, ...) are closed with 1007
//!   [`INVALID_ARGUMENT`]; an unknown, shut-down or non-Live model with 1008
//!   ([`model_not_found_reason`]). Otherwise it answers `{"setupComplete": {}}`
//!   pretty-printed in a **Binary** frame, as the real server does (§2);
//! - waits for a kickoff (`clientContent` with `turnComplete`, `realtimeInput.text`, or a
//!   first spoken candidate turn), then speaks the greeting and first question of an
//!   [`InterviewScript`] drawn from the setup's system instruction; after each candidate
//!   turn it speaks the next question, and after the last answer the closing line, then
//!   closes with code 1000. A later `clientContent` turn that asks to wrap up ("wrap up",
//!   "time is nearly up", ...) goes straight to the closing line; any other later
//!   `clientContent` turn counts as a candidate turn. `clientContent` and
//!   `realtimeInput.text` interrupt a line that is still playing, as on the real service
//!   (§3.3);
//! - speaks a line as `serverContent` messages of 100 ms of 24 kHz PCM16LE audio each
//!   (4 800 bytes, base64 `inlineData`), some with an `outputTranscription` fragment (only
//!   when the setup asked for `outputAudioTranscription`; `inputTranscription` likewise), then
//!   `generationComplete`, then `turnComplete` with a `usageMetadata` (§4.1);
//! - ends candidate turns with a [`Vad`] on the audio's own sample timeline (800 ms of
//!   non-speech after at least 200 ms of speech, or `silenceDurationMs` from the setup), on
//!   `audioStreamEnd`, or with one `realtimeInput.text`; it does no speech recognition: with
//!   [`SimulatorConfig::with_candidate_transcripts`] it sends the next given transcript as
//!   `inputTranscription` fragments, word by word as the turn's audio arrives ([`hearing`]),
//!   and without it none; with
//!   `realtimeInputConfig.automaticActivityDetection.disabled` its VAD is off and a turn
//!   is what lies between the client's `activityStart` and `activityEnd` (activity signals
//!   without it are closed with 1007, §3.2); with `activityHandling: NO_INTERRUPTION`
//!   candidate activity never cuts a line;
//! - on candidate speech while the line is still "playing" (from the start of the turn
//!   until the audio's duration has passed on the wall clock) sends `interrupted`, drops the
//!   rest of the line, then `turnComplete` (barge-in, §4.1);
//! - closes with 1007 "realtime_input.media_chunks is deprecated. Use audio, video, or text
//!   instead." on `mediaChunks` (§3.2), and 1007 on anything malformed;
//! - records every client message as JSON ([`SimulatorHandle::recorded`]);
//! - sends `toolCall`, `toolCallCancellation` and `turnComplete` with a
//!   `turnCompleteReason` on cue ([`Fault`]); while a tool call is unanswered, candidate
//!   audio is closed with 1008 [`OPERATION_ABORTED`] (§3.4);
//! - when the setup asks for `sessionResumption`, sends `sessionResumptionUpdate` handles
//!   (`resumable: false` with an empty handle while a line is being generated, a new
//!   `resumable: true` handle after `setupComplete`, `generationComplete` and
//!   `turnComplete`), and on a setup with `sessionResumption.handle` continues that
//!   session's script where it was (a line cut while being generated is said again; an
//!   unknown handle is closed with 1007, §4.4); a `clientContent` history with `model`
//!   turns counts those turns as lines already said;
//! - plays the faults of [`SimulatorConfig::faults`] ([`Fault`], [`FaultTrigger`]),
//!   refuses upgrades with [`SimulatorConfig::refuse_upgrades`], frames JSON as
//!   [`SimulatorConfig::binary_frames`] and [`SimulatorConfig::pretty_json`] say, and sends
//!   `goAway` every [`SimulatorConfig::go_away_every`] with a close 1011
//!   [`DEADLINE_EXPIRED`] [`SimulatorConfig::go_away_close_after`] later.

mod config;
mod connection;
mod faults;
mod feedback_plan;
mod handle;
pub mod hearing;
mod planned;
mod rest;
mod rest_schema;
mod script;
mod setup_check;
mod shared;
mod speech;
mod upgrade;
mod vad;

pub use faults::{Fault, FaultTrigger, ScriptedFault, DEADLINE_EXPIRED, OPERATION_ABORTED};
pub use planned::{planned_questions, Manner, PlannedFollowUp};
pub use rest::{FeedbackBehaviour, FABRICATED_QUOTE, QUOTE_WORDS};
pub use script::{
    transcription_fragments, InterviewScript, MAX_QUESTIONS, MAX_TIMED_QUESTIONS, MIN_QUESTIONS,
    QUESTIONS_PER_MINUTE,
};
pub use speech::{
    espeak, espeak_available, resample, silence_for, speak, SpeechMode, OUTPUT_SAMPLE_RATE_HZ,
    SILENT_WORDS_PER_SECOND,
};
pub use vad::{
    Vad, VadEvent, DEFAULT_SILENCE_DURATION_MS, MIN_SPEECH_MS, SPEECH_THRESHOLD_DBFS, WINDOW_MS,
};

pub use config::SimulatorConfig;
pub use handle::{Simulator, SimulatorHandle};
pub use rest_schema::conforms as conforms_to_schema;
pub use setup_check::model_not_found_reason;
pub use shared::{CredentialForm, UpgradeRecord};
pub use upgrade::KEY_NOT_VALID;

/// The path of the simulated endpoint (the real `v1beta` path, §1.1).
pub const SIMULATOR_PATH: &str =
    "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent";

/// The path of the simulated ephemeral-token endpoint (the real `v1alpha` constrained
/// path, §1.1).
pub const SIMULATOR_TOKEN_PATH: &str =
    "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained";

/// Close reason for a malformed or out-of-order message (as observed, §6.2).
pub const INVALID_ARGUMENT: &str = "Request contains an invalid argument.";

/// Close reason for `realtimeInput.mediaChunks` (as observed, §3.2).
pub const MEDIA_CHUNKS_DEPRECATED: &str =
    "realtime_input.media_chunks is deprecated. Use audio, video, or text instead.";

/// Audio per `serverContent` message: 100 ms at 24 000 Hz PCM16LE = 4 800 bytes.
pub const CHUNK_BYTES: usize = 4_800;
