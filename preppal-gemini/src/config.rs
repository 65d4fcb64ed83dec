//! Settings of one Gemini Live connection and the interviewer's system instruction.

use std::fmt;
use std::time::Duration;
mod activity;
mod instruction;
mod validate;

pub use activity::{
    ActivityHandling, AutomaticActivityDetection, EndSensitivity, StartSensitivity,
    INTERVIEW_SILENCE_DURATION_MS,
};
pub use instruction::{
    interviewer_instruction, stated_length_minutes, timed_interviewer_instruction,
    INTERVIEW_LENGTH_PREFIX, JOB_DESCRIPTION_BEGIN, JOB_DESCRIPTION_END, RESUME_BEGIN, RESUME_END,
};
pub use validate::ConfigError;

/// The Gemini Developer API endpoint for `BidiGenerateContent` on the stable `v1beta` surface.
///
/// Source: gemini-live-protocol notes §1.1 (API reference page and both official SDKs).
pub const DEFAULT_ENDPOINT: &str =
    "wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent";

/// The Gemini Developer API endpoint for ephemeral tokens: `BidiGenerateContentConstrained`
/// on the `v1alpha` surface (tokens are v1alpha-only).
///
/// Source: gemini-live-protocol notes §1.1 and §1.2 (docs and both official SDKs).
pub const EPHEMERAL_TOKEN_ENDPOINT: &str =
    "wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained";

/// The prefix of an ephemeral token's name: a credential starting with it is a token, not an
/// API key, as the official SDKs decide (§1.1).
pub const EPHEMERAL_TOKEN_PREFIX: &str = "auth_tokens/";

/// The Live model used unless another is set: `gemini-3.8-live`, GA since 2026-09-15
/// ([`crate::models::DEFAULT_LIVE_MODEL`] as a resource name).
///
/// Source: gemini-live-protocol notes §10.1 (models and deprecations pages). Model names
/// change often: set [`LiveConfig::model`] from configuration in production; what each
/// model accepts is in [`crate::models`].
pub const DEFAULT_MODEL: &str = "models/gemini-3.8-live";

/// How long [`crate::LiveConnection::connect`] waits for `setupComplete` unless told otherwise: 10 s.
pub const DEFAULT_SETUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Interviews longer than this need `contextWindowCompression`: without it an audio-only
/// session ends at 15 minutes (gemini-live-protocol notes §6.1).
pub const COMPRESSION_THRESHOLD: Duration = Duration::from_secs(15 * 60);

/// Settings of one Gemini Live connection.
///
/// Build it with [`LiveConfig::new`] and the `with_*` setters; the fields are public to
/// read. `Debug` never prints the API key.
///
/// ```
/// use std::time::Duration;
/// use preppal_gemini::LiveConfig;
///
/// let config = LiveConfig::new("my-key", "You are an interviewer.")
///     .with_model("gemini-2.5-flash-native-audio-latest")
///     .with_voice("Kore")
///     .with_setup_timeout(Duration::from_secs(5));
/// assert_eq!(config.model, "models/gemini-2.5-flash-native-audio-latest");
/// assert!(!format!("{config:?}").contains("my-key"));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveConfig {
    /// The WebSocket URL, without the key (default [`DEFAULT_ENDPOINT`]).
    pub endpoint: String,
    /// The API key, sent as the `x-goog-api-key` header of the upgrade request, never in the
    /// URL (gemini-live-protocol notes §1.2: what the Python SDK does since 2025-07).
    pub api_key: String,
    /// The model resource name, always starting with `models/` (default [`DEFAULT_MODEL`]).
    pub model: String,
    /// A prebuilt voice name (`Kore`, `Puck`, `Aoede`, ...); `None` lets the model choose.
    pub voice: Option<String>,
    /// The system instruction: the interviewer's role, persona and the interview's data.
    pub system_instruction: String,
    /// Ask for `inputAudioTranscription` (what the candidate said). Default `true`.
    pub input_transcription: bool,
    /// Ask for `outputAudioTranscription` (what the model said). Default `true`.
    pub output_transcription: bool,
    /// How long to wait for the WebSocket upgrade and then for `setupComplete`. Default 10 s.
    pub setup_timeout: Duration,
    /// Ask for `sessionResumptionUpdate` handles (`setup.sessionResumption`, §4.4). Default
    /// `false`; [`crate::ResilientSession`] turns it on.
    pub session_resumption: bool,
    /// Resume this session: sent as `setup.sessionResumption.handle` (implies
    /// `session_resumption`). Handles stay valid 2 h after the session ends (§4.4).
    pub resumption_handle: Option<String>,
    /// Send `contextWindowCompression: {"slidingWindow": {}}` (server defaults), which lifts
    /// the 15-minute limit of an audio session (§3.1, §6.1). Default `false`; see
    /// [`LiveConfig::with_interview_length`].
    pub context_window_compression: bool,
    /// `setup.realtimeInputConfig.automaticActivityDetection`; `None` sends nothing (the
    /// server's defaults: on, sensitivities HIGH, about 800 ms of silence ends a turn,
    /// §3.1). Default [`AutomaticActivityDetection::interview`]: pauses of 1–3 s inside an
    /// answer do not end the candidate's turn (§10.2).
    pub automatic_activity_detection: Option<AutomaticActivityDetection>,
    /// `setup.realtimeInputConfig.activityHandling`; `None` sends nothing (the server's
    /// default, [`ActivityHandling::StartOfActivityInterrupts`]).
    pub activity_handling: Option<ActivityHandling>,
    /// Where the credential goes: a header (default) or the URL's query (§1.2).
    pub credential_placement: CredentialPlacement,
    /// `setup.generationConfig.enableAffectiveDialog` (v1alpha only, not on 3.1 models,
    /// §1.4, §3.1). Default `false`.
    pub affective_dialog: bool,
    /// `setup.proactivity.proactiveAudio` (v1alpha only, not on 3.1 models, §1.4, §3.1).
    /// Default `false`. Models on which it is always on ([`crate::models::Feature::AlwaysOn`],
    /// 3.8) get nothing sent either way.
    pub proactive_audio: bool,
    /// `generationConfig.thinkingConfig.thinkingLevel`, for models that take a level
    /// ([`crate::models::Thinking::LevelOnly`], [`crate::models::Thinking::LevelOrBudgetRequired`]).
    /// Default `None`: nothing sent, except [`ThinkingLevel::Low`] where the model requires
    /// a thinking setting (3.8 extended thinking).
    pub thinking_level: Option<ThinkingLevel>,
}

/// `thinkingConfig.thinkingLevel` (gemini-live-protocol notes §3.1, §10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThinkingLevel {
    /// `minimal` (the 3.1 default).
    Minimal,
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
}

impl ThinkingLevel {
    /// The wire value.
    pub fn as_wire(self) -> &'static str {
        match self {
            Self::Minimal => "minimal",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// Where [`LiveConfig::api_key`] (an API key, or an ephemeral token when it starts with
/// [`EPHEMERAL_TOKEN_PREFIX`]) is put in the upgrade request (gemini-live-protocol notes §1.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialPlacement {
    /// A header: `x-goog-api-key: KEY` for an API key (the Python SDK since 2025-07), or
    /// `Authorization: Token auth_tokens/...` for an ephemeral token (the Python SDK). Keeps
    /// the credential out of URLs and logs.
    #[default]
    Header,
    /// The URL's query: `?key=KEY` (the docs and the JS SDK), or
    /// `?access_token=auth_tokens/...` for an ephemeral token (the JS SDK).
    Query,
}

impl LiveConfig {
    /// Settings with the given key and system instruction and the defaults for the rest.
    pub fn new(api_key: impl Into<String>, system_instruction: impl Into<String>) -> Self {
        Self {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            api_key: api_key.into(),
            model: DEFAULT_MODEL.to_owned(),
            voice: None,
            system_instruction: system_instruction.into(),
            input_transcription: true,
            output_transcription: true,
            setup_timeout: DEFAULT_SETUP_TIMEOUT,
            session_resumption: false,
            resumption_handle: None,
            context_window_compression: false,
            automatic_activity_detection: Some(AutomaticActivityDetection::interview()),
            activity_handling: None,
            credential_placement: CredentialPlacement::Header,
            affective_dialog: false,
            proactive_audio: false,
            thinking_level: None,
        }
    }

    /// Settings that connect with an ephemeral token (`auth_tokens/...`, minted with
    /// [`crate::tokens::create_ephemeral_token`]) instead of an API key, on
    /// [`EPHEMERAL_TOKEN_ENDPOINT`].
    ///
    /// ```
    /// let c = preppal_gemini::LiveConfig::with_ephemeral_token("auth_tokens/abc", "You are an interviewer.");
    /// assert!(c.endpoint.contains("v1alpha") && c.endpoint.ends_with("BidiGenerateContentConstrained"));
    /// assert!(c.is_ephemeral_token());
    /// assert!(c.validate().is_ok());
    /// ```
    pub fn with_ephemeral_token(
        token: impl Into<String>,
        system_instruction: impl Into<String>,
    ) -> Self {
        Self::new(token, system_instruction).with_endpoint(EPHEMERAL_TOKEN_ENDPOINT)
    }

    /// Whether [`LiveConfig::api_key`] is an ephemeral token (it starts with
    /// [`EPHEMERAL_TOKEN_PREFIX`], as the SDKs decide).
    pub fn is_ephemeral_token(&self) -> bool {
        self.api_key.starts_with(EPHEMERAL_TOKEN_PREFIX)
    }

    /// Sets [`LiveConfig::automatic_activity_detection`].
    pub fn with_automatic_activity_detection(mut self, aad: AutomaticActivityDetection) -> Self {
        self.automatic_activity_detection = Some(aad);
        self
    }

    /// Manual activity signals: automatic activity detection `disabled`; the client marks
    /// candidate turns with [`preppal_core::ModelCommand::ActivityStart`] and
    /// [`preppal_core::ModelCommand::ActivityEnd`].
    pub fn with_manual_activity(self) -> Self {
        self.with_automatic_activity_detection(AutomaticActivityDetection::manual())
    }

    /// Whether automatic activity detection is disabled (manual activity signals).
    pub fn manual_activity(&self) -> bool {
        self.automatic_activity_detection
            .is_some_and(|a| a.disabled)
    }

    /// Sets [`LiveConfig::activity_handling`].
    pub fn with_activity_handling(mut self, handling: ActivityHandling) -> Self {
        self.activity_handling = Some(handling);
        self
    }

    /// Sets [`LiveConfig::credential_placement`].
    pub fn with_credential_placement(mut self, placement: CredentialPlacement) -> Self {
        self.credential_placement = placement;
        self
    }

    /// Sets [`LiveConfig::affective_dialog`].
    pub fn with_affective_dialog(mut self, on: bool) -> Self {
        self.affective_dialog = on;
        self
    }

    /// Sets [`LiveConfig::proactive_audio`].
    pub fn with_proactive_audio(mut self, on: bool) -> Self {
        self.proactive_audio = on;
        self
    }

    /// Sets [`LiveConfig::thinking_level`].
    pub fn with_thinking_level(mut self, level: ThinkingLevel) -> Self {
        self.thinking_level = Some(level);
        self
    }

    /// The table entry of [`LiveConfig::model`], if [`crate::models`] knows it.
    pub fn model_entry(&self) -> Option<&'static crate::models::LiveModel> {
        crate::models::live_model(&self.model)
    }

    /// Sets [`LiveConfig::session_resumption`].
    pub fn with_session_resumption(mut self, on: bool) -> Self {
        self.session_resumption = on;
        self
    }

    /// Sets [`LiveConfig::resumption_handle`] (and turns [`LiveConfig::session_resumption`] on).
    pub fn with_resumption_handle(mut self, handle: Option<String>) -> Self {
        self.session_resumption |= handle.is_some();
        self.resumption_handle = handle;
        self
    }

    /// Sets [`LiveConfig::context_window_compression`].
    pub fn with_context_window_compression(mut self, on: bool) -> Self {
        self.context_window_compression = on;
        self
    }

    /// Turns context window compression on when an interview may last longer than
    /// [`COMPRESSION_THRESHOLD`] (15 min); leaves it as it is otherwise.
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = preppal_gemini::LiveConfig::new("k", "s").with_interview_length(Duration::from_secs(20 * 60));
    /// assert!(c.context_window_compression);
    /// ```
    pub fn with_interview_length(mut self, length: Duration) -> Self {
        if length > COMPRESSION_THRESHOLD {
            self.context_window_compression = true;
        }
        self
    }

    /// Sets [`LiveConfig::endpoint`] (for example a simulator's `ws://127.0.0.1:PORT/...` URL).
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = endpoint.into();
        self
    }

    /// Sets [`LiveConfig::model`]; `models/` is prefixed when missing.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model_resource_name(&model.into());
        self
    }

    /// Sets [`LiveConfig::voice`].
    pub fn with_voice(mut self, voice: impl Into<String>) -> Self {
        self.voice = Some(voice.into());
        self
    }

    /// Sets [`LiveConfig::system_instruction`].
    pub fn with_system_instruction(mut self, system_instruction: impl Into<String>) -> Self {
        self.system_instruction = system_instruction.into();
        self
    }

    /// Sets [`LiveConfig::input_transcription`].
    pub fn with_input_transcription(mut self, on: bool) -> Self {
        self.input_transcription = on;
        self
    }

    /// Sets [`LiveConfig::output_transcription`].
    pub fn with_output_transcription(mut self, on: bool) -> Self {
        self.output_transcription = on;
        self
    }

    /// Sets [`LiveConfig::setup_timeout`].
    pub fn with_setup_timeout(mut self, setup_timeout: Duration) -> Self {
        self.setup_timeout = setup_timeout;
        self
    }
}

impl fmt::Debug for LiveConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveConfig")
            .field("endpoint", &self.endpoint)
            .field("api_key", &"<redacted>")
            .field("model", &self.model)
            .field("voice", &self.voice)
            .field("system_instruction_bytes", &self.system_instruction.len())
            .field("input_transcription", &self.input_transcription)
            .field("output_transcription", &self.output_transcription)
            .field("setup_timeout", &self.setup_timeout)
            .field("session_resumption", &self.session_resumption)
            .field("resumption_handle", &self.resumption_handle.is_some())
            .field(
                "context_window_compression",
                &self.context_window_compression,
            )
            .field(
                "automatic_activity_detection",
                &self.automatic_activity_detection,
            )
            .field("activity_handling", &self.activity_handling)
            .field("credential_placement", &self.credential_placement)
            .field("affective_dialog", &self.affective_dialog)
            .field("proactive_audio", &self.proactive_audio)
            .field("thinking_level", &self.thinking_level)
            .finish()
    }
}

/// `model` as a resource name: `models/` is prefixed when missing (gemini-live-protocol
/// notes §1.4: the SDKs do the same).
pub fn model_resource_name(model: &str) -> String {
    if model.starts_with("models/") {
        model.to_owned()
    } else {
        format!("models/{model}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_model_prefix() {
        let c = LiveConfig::new("k", "s");
        assert_eq!(c.endpoint, DEFAULT_ENDPOINT);
        assert!(c.endpoint.contains("v1beta"));
        assert_eq!(c.model, DEFAULT_MODEL);
        assert!(c.input_transcription && c.output_transcription);
        assert_eq!(c.setup_timeout, Duration::from_secs(10));
        assert_eq!(c.clone().with_model("models/x").model, "models/x");
        assert_eq!(c.with_model("x").model, "models/x");
    }

    #[test]
    fn debug_redacts_the_key() {
        let c = LiveConfig::new("AIzaSECRET", "s");
        let d = format!("{c:?}");
        assert!(!d.contains("AIzaSECRET"), "{d}");
        assert!(d.contains("redacted"));
    }
}
