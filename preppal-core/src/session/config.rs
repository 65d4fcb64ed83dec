//! [`SessionConfig`]: the settings of one interview.

use std::time::Duration;

use super::{model_turns, text_limits};

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
    /// connection dropped ([`InterviewSession::handle_client_detached`](super::InterviewSession::handle_client_detached)) before it ends with
    /// [`EndReason::ClientGone`](super::EndReason::ClientGone). Zero ends it at once. Default 60 s.
    pub reconnect_grace: Duration,
    /// While a turn is open, its text so far is offered for storage at most this often
    /// ([`PersistAction::OpenTurns`](super::PersistAction::OpenTurns)), so a long turn is never only in memory. Default 5 s;
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
    /// to the model (in [`TRAILING_FRAME`](super::TRAILING_FRAME) frames) instead of leaving it without trailing
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
