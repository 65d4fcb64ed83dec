//! The Gemini models Preppal knows, as data: which Live models exist, what each accepts in
//! `setup`, and which REST models write feedback (gemini-live-protocol notes §1.4, §3.1,
//! §7 and §10).
//!
//! Model facts change every few months, so they live here, in one table, not in code
//! paths: the setup builder ([`crate::protocol::setup_message`]) never sends a field the
//! model's entry rejects, [`crate::LiveConfig::validate`] refuses shut-down and non-Live
//! models and features a model does not take, and the simulator refuses what the real
//! service refuses from the same entries.
//!
//! | Live model | status | thinking | proactive audio | affective dialog | trailing silence |
//! |---|---|---|---|---|---|
//! | `gemini-3.8-live` (default) | GA since 2026-09-15 | rejected | always on | not sent | needed |
//! | `gemini-3.8-live-extended-thinking` | GA | level or budget, one required | always on | not sent | needed |
//! | `gemini-3.1-flash-live-preview` | legacy preview | `thinkingLevel` only | no | no | no |
//! | `gemini-2.5-flash-native-audio-*` | preview, at risk | `thinkingBudget` only | v1alpha | v1alpha | no |
//! | `gemini-3.5-transcribe-live` | preview | — | no | no | — (TEXT only: no interviewer) |
//!
//! Shut down: `gemini-2.0-flash-live-001` and `gemini-live-2.5-flash-preview` (2025-12-09),
//! and the early native-audio dialog names; [`LIVE_MODELS`] lists each with its replacement.
//!
//! ```
//! use preppal_gemini::models::{live_model, Thinking};
//! let m = live_model("models/gemini-3.8-live").unwrap();
//! assert_eq!(m.thinking, Thinking::Rejected);
//! assert!(m.needs_trailing_silence);
//! assert!(live_model("gemini-2.0-flash-live-001").unwrap().is_shut_down());
//! ```

/// The Live model used unless another is set: GA since 2026-09-15 (notes §10.1).
pub const DEFAULT_LIVE_MODEL: &str = "gemini-3.8-live";

/// The REST model that writes feedback unless another is set: `gemini-3.8-flash`, which
/// replaced `gemini-3.7-flash` on 2026-10-08 (Gemini API changelog).
pub const DEFAULT_FEEDBACK_MODEL: &str = "gemini-3.8-flash";

/// Where a model is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Availability {
    /// Generally available; `since` is the date (`YYYY-MM-DD`) where the sources give it.
    Ga {
        /// The GA date, when known.
        since: Option<&'static str>,
    },
    /// A preview model that is still served.
    Preview,
    /// A preview still served, but announced as at risk or superseded: usable, not a
    /// good default (the 2.5 Live previews: two of them were shut down on 2026-11-17,
    /// which two is not confirmed, notes §10.1).
    AtRisk,
    /// Deprecated and routed to another model by the service (REST models only).
    Deprecated {
        /// The model requests are routed to.
        replacement: &'static str,
    },
    /// Shut down: requests fail.
    ShutDown {
        /// The shutdown date (`YYYY-MM-DD`), when the sources give it.
        on: Option<&'static str>,
        /// The model to use instead.
        replacement: &'static str,
    },
}

/// What a Live model accepts in `generationConfig.thinkingConfig` (notes §3.1, §10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Thinking {
    /// `thinkingConfig` is rejected: omit it (`gemini-3.8-live`).
    Rejected,
    /// `thinkingBudget` only (0 disables); 2.5 models.
    BudgetOnly,
    /// `thinkingLevel` only (`minimal|low|medium|high`, default minimal); 3.1.
    LevelOnly,
    /// Exactly one of `thinkingLevel` and `thinkingBudget` is required
    /// (`gemini-3.8-live-extended-thinking`).
    LevelOrBudgetRequired,
}

/// How a Live model takes an optional v1alpha feature (proactive audio, affective dialog).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Feature {
    /// Not supported: sending it is refused.
    Unsupported,
    /// Opt-in, on the `v1alpha` surface only.
    V1alphaOptIn,
    /// Always on: nothing to send; sending it disabled is an error (3.8 proactive audio).
    AlwaysOn,
}

/// How a Live model runs function calls (notes §3.4, §10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tools {
    /// Blocking by default; `behavior: NON_BLOCKING` opt-in (2.5).
    BlockingByDefault,
    /// Synchronous calls only (3.1).
    SynchronousOnly,
    /// NON_BLOCKING by default; BLOCKING is opt-in and cancelled by new input (3.8).
    NonBlockingByDefault,
    /// NON_BLOCKING only (3.8 extended thinking).
    NonBlockingOnly,
}

/// When a Live model takes `clientContent` (notes §3.3, §10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientContent {
    /// Throughout the session (2.5; 3.8, where the notes state no limit).
    Throughout,
    /// Only to seed the initial history, with `historyConfig.initialHistoryInClientContent`
    /// (3.1); later text goes as `realtimeInput.text`.
    InitialHistoryOnly,
}

/// A response modality (`generationConfig.responseModalities`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Modality {
    /// `AUDIO`.
    Audio,
    /// `TEXT`.
    Text,
}

impl Modality {
    /// The wire value.
    pub fn as_wire(self) -> &'static str {
        match self {
            Self::Audio => "AUDIO",
            Self::Text => "TEXT",
        }
    }
}

/// One Live model and what it accepts. See the module docs for the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveModel {
    /// The model id, without `models/`.
    pub name: &'static str,
    /// Where it is in its life.
    pub availability: Availability,
    /// What `thinkingConfig` it takes.
    pub thinking: Thinking,
    /// `proactivity.proactiveAudio`.
    pub proactive_audio: Feature,
    /// `generationConfig.enableAffectiveDialog` (3.8: the sources disagree, "removed" on
    /// the Gemini API page, so it is never sent there).
    pub affective_dialog: Feature,
    /// How it runs function calls.
    pub tools: Tools,
    /// When it takes `clientContent`.
    pub client_content: ClientContent,
    /// The response modalities it supports.
    pub modalities: &'static [Modality],
    /// Its server VAD wants trailing audio: `audioStreamEnd` does not end the turn, so the
    /// client keeps streaming silence after the candidate stops (notes §10.2, 3.8).
    pub needs_trailing_silence: bool,
    /// `turnComplete` means the model is idle; `false` where `interactionStatus` must be
    /// read instead (3.8 extended thinking, notes §10.1).
    pub turn_complete_means_idle: bool,
    /// `inputTranscription` arrives only after the utterance ends, already final (3.1).
    pub input_transcription_after_utterance: bool,
}

impl LiveModel {
    /// Whether the model was shut down.
    pub fn is_shut_down(&self) -> bool {
        matches!(self.availability, Availability::ShutDown { .. })
    }

    /// Whether the model can answer with `modality`.
    pub fn supports(&self, modality: Modality) -> bool {
        self.modalities.contains(&modality)
    }

    /// The resource name, `models/{name}`.
    pub fn resource_name(&self) -> String {
        format!("models/{}", self.name)
    }
}

const AUDIO: &[Modality] = &[Modality::Audio];

const fn native_audio_25(name: &'static str) -> LiveModel {
    LiveModel {
        name,
        availability: Availability::AtRisk,
        thinking: Thinking::BudgetOnly,
        proactive_audio: Feature::V1alphaOptIn,
        affective_dialog: Feature::V1alphaOptIn,
        tools: Tools::BlockingByDefault,
        client_content: ClientContent::Throughout,
        modalities: AUDIO,
        needs_trailing_silence: false,
        turn_complete_means_idle: true,
        input_transcription_after_utterance: false,
    }
}

const fn shut_down(name: &'static str, on: Option<&'static str>) -> LiveModel {
    LiveModel {
        availability: Availability::ShutDown {
            on,
            replacement: DEFAULT_LIVE_MODEL,
        },
        ..native_audio_25(name)
    }
}

/// Every Live model Preppal knows (notes §1.4 and §10.1). Names not listed are unknown:
/// [`crate::LiveConfig::validate`] lets them through (the table may lag the service),
/// the simulator refuses them.
pub const LIVE_MODELS: &[LiveModel] = &[
    LiveModel {
        name: "gemini-3.8-live",
        availability: Availability::Ga {
            since: Some("2026-09-15"),
        },
        thinking: Thinking::Rejected,
        proactive_audio: Feature::AlwaysOn,
        affective_dialog: Feature::Unsupported,
        tools: Tools::NonBlockingByDefault,
        client_content: ClientContent::Throughout,
        modalities: AUDIO,
        needs_trailing_silence: true,
        turn_complete_means_idle: true,
        input_transcription_after_utterance: false,
    },
    LiveModel {
        name: "gemini-3.8-live-extended-thinking",
        availability: Availability::Ga { since: None },
        thinking: Thinking::LevelOrBudgetRequired,
        proactive_audio: Feature::AlwaysOn,
        affective_dialog: Feature::Unsupported,
        tools: Tools::NonBlockingOnly,
        client_content: ClientContent::Throughout,
        modalities: AUDIO,
        needs_trailing_silence: true,
        turn_complete_means_idle: false,
        input_transcription_after_utterance: false,
    },
    LiveModel {
        name: "gemini-3.1-flash-live-preview",
        availability: Availability::Preview,
        thinking: Thinking::LevelOnly,
        proactive_audio: Feature::Unsupported,
        affective_dialog: Feature::Unsupported,
        tools: Tools::SynchronousOnly,
        client_content: ClientContent::InitialHistoryOnly,
        modalities: AUDIO,
        needs_trailing_silence: false,
        turn_complete_means_idle: true,
        input_transcription_after_utterance: true,
    },
    native_audio_25("gemini-2.5-flash-native-audio-preview-12-2025"),
    native_audio_25("gemini-2.5-flash-native-audio-preview-09-2025"),
    native_audio_25("gemini-2.5-flash-native-audio-latest"),
    // A transcription-only Live model (third-party write-ups, unverified): it cannot play
    // the interviewer.
    LiveModel {
        name: "gemini-3.5-transcribe-live",
        availability: Availability::Preview,
        thinking: Thinking::Rejected,
        proactive_audio: Feature::Unsupported,
        affective_dialog: Feature::Unsupported,
        tools: Tools::SynchronousOnly,
        client_content: ClientContent::Throughout,
        modalities: &[Modality::Text],
        needs_trailing_silence: false,
        turn_complete_means_idle: true,
        input_transcription_after_utterance: false,
    },
    shut_down("gemini-2.0-flash-live-001", Some("2025-12-09")),
    shut_down("gemini-live-2.5-flash-preview", Some("2025-12-09")),
    shut_down("gemini-2.5-flash-preview-native-audio-dialog", None),
    shut_down("gemini-2.5-flash-exp-native-audio-thinking-dialog", None),
];

/// The Live model called `model` (with or without `models/`), if the table knows it.
pub fn live_model(model: &str) -> Option<&'static LiveModel> {
    let name = model.strip_prefix("models/").unwrap_or(model);
    LIVE_MODELS.iter().find(|m| m.name == name)
}

/// One REST model for `generateContent` (feedback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RestModel {
    /// The model id, without `models/`.
    pub name: &'static str,
    /// Where it is in its life.
    pub availability: Availability,
    /// `temperature`, `topP` and `topK` are deprecated: never send them (Flash models from
    /// `gemini-3.6-flash` on, Gemini API changelog 2026-07-21).
    pub sampling_deprecated: bool,
}

/// The REST models Preppal knows for `generateContent` (notes §7, §10.1, and the Gemini
/// API changelog). The request's `store: false` is taken by every one of them (changelog
/// 2026-10-26: new paid projects store requests unless told not to).
pub const REST_MODELS: &[RestModel] = &[
    RestModel {
        name: "gemini-3.8-flash",
        availability: Availability::Ga { since: None },
        sampling_deprecated: true,
    },
    RestModel {
        name: "gemini-3.6-flash",
        availability: Availability::Ga {
            since: Some("2026-07-21"),
        },
        sampling_deprecated: true,
    },
    RestModel {
        name: "gemini-3.5-flash-lite",
        availability: Availability::Ga {
            since: Some("2026-07-21"),
        },
        sampling_deprecated: false,
    },
    RestModel {
        name: "gemini-2.5-flash",
        availability: Availability::Ga { since: None },
        sampling_deprecated: false,
    },
    RestModel {
        name: "gemini-3.7-flash",
        availability: Availability::Deprecated {
            replacement: "gemini-3.8-flash",
        },
        sampling_deprecated: true,
    },
    RestModel {
        name: "gemini-3.5-flash",
        availability: Availability::Deprecated {
            replacement: "gemini-3.6-flash",
        },
        sampling_deprecated: false,
    },
    RestModel {
        name: "gemini-2.0-flash",
        availability: Availability::ShutDown {
            on: Some("2026-06-01"),
            replacement: DEFAULT_FEEDBACK_MODEL,
        },
        sampling_deprecated: false,
    },
];

/// The REST model called `model` (with or without `models/`), if the table knows it.
pub fn rest_model(model: &str) -> Option<&'static RestModel> {
    let name = model.strip_prefix("models/").unwrap_or(model);
    REST_MODELS.iter().find(|m| m.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_bare() {
        let mut names: Vec<&str> = LIVE_MODELS.iter().map(|m| m.name).collect();
        names.extend(REST_MODELS.iter().map(|m| m.name));
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        assert!(names.iter().all(|n| !n.starts_with("models/")));
    }

    #[test]
    fn the_defaults_are_current() {
        let live = live_model(DEFAULT_LIVE_MODEL).unwrap();
        assert!(matches!(live.availability, Availability::Ga { .. }));
        assert!(live.supports(Modality::Audio));
        let rest = rest_model(DEFAULT_FEEDBACK_MODEL).unwrap();
        assert!(matches!(rest.availability, Availability::Ga { .. }));
        // Every shut-down model names a replacement that is itself served.
        for m in LIVE_MODELS {
            if let Availability::ShutDown { replacement, .. } = m.availability {
                assert!(
                    !live_model(replacement).unwrap().is_shut_down(),
                    "{}",
                    m.name
                );
            }
        }
    }
}
