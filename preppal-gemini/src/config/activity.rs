//! Voice activity settings of the `realtimeInputConfig` (§3.1): automatic activity
//! detection, its sensitivities, and what the server does when the candidate speaks.

/// `startOfSpeechSensitivity` of automatic activity detection (§3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartSensitivity {
    /// `START_SENSITIVITY_HIGH`: speech is detected more often (the server's default).
    High,
    /// `START_SENSITIVITY_LOW`: speech is detected less often.
    Low,
}

impl StartSensitivity {
    /// The wire value.
    pub fn as_wire(self) -> &'static str {
        match self {
            Self::High => "START_SENSITIVITY_HIGH",
            Self::Low => "START_SENSITIVITY_LOW",
        }
    }
}

/// `endOfSpeechSensitivity` of automatic activity detection (§3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndSensitivity {
    /// `END_SENSITIVITY_HIGH`: speech ends sooner (the server's default).
    High,
    /// `END_SENSITIVITY_LOW`: speech ends later.
    Low,
}

impl EndSensitivity {
    /// The wire value.
    pub fn as_wire(self) -> &'static str {
        match self {
            Self::High => "END_SENSITIVITY_HIGH",
            Self::Low => "END_SENSITIVITY_LOW",
        }
    }
}

/// `activityHandling`: what candidate activity does to a model turn under way (§3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ActivityHandling {
    /// `START_OF_ACTIVITY_INTERRUPTS`: the candidate barges in (the server's default).
    StartOfActivityInterrupts,
    /// `NO_INTERRUPTION`: the model finishes its turn whatever the candidate does.
    NoInterruption,
}

impl ActivityHandling {
    /// The wire value.
    pub fn as_wire(self) -> &'static str {
        match self {
            Self::StartOfActivityInterrupts => "START_OF_ACTIVITY_INTERRUPTS",
            Self::NoInterruption => "NO_INTERRUPTION",
        }
    }
}

/// `realtimeInputConfig.automaticActivityDetection` (gemini-live-protocol notes §3.1): the
/// server's voice activity detection, or (with `disabled`) manual activity signals, where
/// the client marks each candidate turn with `activityStart` / `activityEnd`
/// ([`preppal_core::ModelCommand::ActivityStart`], [`preppal_core::ModelCommand::ActivityEnd`]).
///
/// Unset fields are not sent (the server's defaults apply). Recommended
/// `silence_duration_ms` is 500–800 ms; 100–200 ms fragments turns (§3.1).
///
/// ```
/// use preppal_gemini::config::{AutomaticActivityDetection, EndSensitivity};
/// let aad = AutomaticActivityDetection::default()
///     .with_end_of_speech_sensitivity(EndSensitivity::Low)
///     .with_silence_duration_ms(800);
/// assert!(!aad.disabled);
/// assert!(AutomaticActivityDetection::manual().disabled);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AutomaticActivityDetection {
    /// `disabled`: `true` turns the server's detection off; the client then sends
    /// `activityStart` / `activityEnd` around each candidate turn.
    pub disabled: bool,
    /// `startOfSpeechSensitivity`.
    pub start_of_speech_sensitivity: Option<StartSensitivity>,
    /// `endOfSpeechSensitivity`.
    pub end_of_speech_sensitivity: Option<EndSensitivity>,
    /// `prefixPaddingMs`: speech needed before a start of speech is committed, in ms.
    pub prefix_padding_ms: Option<u32>,
    /// `silenceDurationMs`: silence that ends a candidate turn, in ms.
    pub silence_duration_ms: Option<u32>,
}

/// Silence that ends a candidate's turn under [`AutomaticActivityDetection::interview`]:
/// 3 000 ms, longer than the 1–3 s pauses of a spoken interview answer (gemini-live-protocol
/// notes §10.2: a 1 s pause ended the turn with the server's defaults).
pub const INTERVIEW_SILENCE_DURATION_MS: u32 = 3_000;

impl AutomaticActivityDetection {
    /// The interview's turn taking, [`LiveConfig::new`](super::LiveConfig::new)'s default: automatic detection on,
    /// `endOfSpeechSensitivity` LOW and `silenceDurationMs`
    /// [`INTERVIEW_SILENCE_DURATION_MS`], so that a candidate who pauses 1–3 s to think is
    /// not cut off (§10.2). The client's audio must then carry that much trailing silence
    /// (or keep streaming) for a turn to end.
    ///
    /// ```
    /// use preppal_gemini::config::{AutomaticActivityDetection, EndSensitivity};
    /// let aad = AutomaticActivityDetection::interview();
    /// assert_eq!(aad.silence_duration_ms, Some(3_000));
    /// assert_eq!(aad.end_of_speech_sensitivity, Some(EndSensitivity::Low));
    /// ```
    pub fn interview() -> Self {
        Self::default()
            .with_end_of_speech_sensitivity(EndSensitivity::Low)
            .with_silence_duration_ms(INTERVIEW_SILENCE_DURATION_MS)
    }

    /// Manual activity signals: detection `disabled`.
    pub fn manual() -> Self {
        Self {
            disabled: true,
            ..Self::default()
        }
    }
    /// Sets [`AutomaticActivityDetection::start_of_speech_sensitivity`].
    pub fn with_start_of_speech_sensitivity(mut self, s: StartSensitivity) -> Self {
        self.start_of_speech_sensitivity = Some(s);
        self
    }
    /// Sets [`AutomaticActivityDetection::end_of_speech_sensitivity`].
    pub fn with_end_of_speech_sensitivity(mut self, s: EndSensitivity) -> Self {
        self.end_of_speech_sensitivity = Some(s);
        self
    }
    /// Sets [`AutomaticActivityDetection::prefix_padding_ms`].
    pub fn with_prefix_padding_ms(mut self, ms: u32) -> Self {
        self.prefix_padding_ms = Some(ms);
        self
    }
    /// Sets [`AutomaticActivityDetection::silence_duration_ms`].
    pub fn with_silence_duration_ms(mut self, ms: u32) -> Self {
        self.silence_duration_ms = Some(ms);
        self
    }
}
