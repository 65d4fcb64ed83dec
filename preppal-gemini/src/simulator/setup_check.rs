//! The strict simulator's check of `setup` (gemini-live-protocol notes §1.4, §3.1, §6.2,
//! §10.1): the JSON is walked against a schema of the known fields at each level, enum
//! values are checked, and the model and what the setup asks of it are checked against the
//! model's entry in [`crate::models::LIVE_MODELS`]. A setup that fails is refused with the
//! close code and reason the real service sends.

use serde_json::Value;

use crate::models::{live_model, Feature, Modality, Thinking};

use super::INVALID_ARGUMENT;

/// The shape of one JSON value in `setup`.
#[derive(Debug)]
enum Kind {
    /// An object with these fields (camelCase; snake_case is accepted too, §2).
    Object(&'static [(&'static str, Kind)]),
    /// An object whose content is not checked (tools, safety settings, parts).
    Open,
    Bool,
    /// An integer: a JSON number or a string of digits (int64 as a string, §2).
    Int,
    Number,
    String,
    /// One of these strings.
    Enum(&'static [&'static str]),
    List(&'static Kind),
}

const START_SENSITIVITY: Kind = Kind::Enum(&[
    "START_SENSITIVITY_UNSPECIFIED",
    "START_SENSITIVITY_HIGH",
    "START_SENSITIVITY_LOW",
]);
const END_SENSITIVITY: Kind = Kind::Enum(&[
    "END_SENSITIVITY_UNSPECIFIED",
    "END_SENSITIVITY_HIGH",
    "END_SENSITIVITY_LOW",
]);

const GENERATION_CONFIG: Kind = Kind::Object(&[
    ("candidateCount", Kind::Int),
    ("maxOutputTokens", Kind::Int),
    ("temperature", Kind::Number),
    ("topP", Kind::Number),
    ("topK", Kind::Int),
    ("presencePenalty", Kind::Number),
    ("frequencyPenalty", Kind::Number),
    ("seed", Kind::Int),
    (
        "responseModalities",
        Kind::List(&Kind::Enum(&[
            "MODALITY_UNSPECIFIED",
            "TEXT",
            "IMAGE",
            "AUDIO",
        ])),
    ),
    (
        "mediaResolution",
        Kind::Enum(&[
            "MEDIA_RESOLUTION_UNSPECIFIED",
            "MEDIA_RESOLUTION_LOW",
            "MEDIA_RESOLUTION_MEDIUM",
            "MEDIA_RESOLUTION_HIGH",
        ]),
    ),
    (
        "speechConfig",
        Kind::Object(&[
            (
                "voiceConfig",
                Kind::Object(&[(
                    "prebuiltVoiceConfig",
                    Kind::Object(&[("voiceName", Kind::String)]),
                )]),
            ),
            ("languageCode", Kind::String),
        ]),
    ),
    (
        "thinkingConfig",
        Kind::Object(&[
            ("thinkingBudget", Kind::Int),
            (
                "thinkingLevel",
                Kind::Enum(&[
                    "minimal", "low", "medium", "high", "MINIMAL", "LOW", "MEDIUM", "HIGH",
                ]),
            ),
            ("includeThoughts", Kind::Bool),
        ]),
    ),
    ("enableAffectiveDialog", Kind::Bool),
    ("translationConfig", Kind::Open),
]);

const SETUP: Kind = Kind::Object(&[
    ("model", Kind::String),
    ("generationConfig", GENERATION_CONFIG),
    (
        "systemInstruction",
        Kind::Object(&[("role", Kind::String), ("parts", Kind::List(&Kind::Open))]),
    ),
    ("tools", Kind::List(&Kind::Open)),
    (
        "realtimeInputConfig",
        Kind::Object(&[
            (
                "automaticActivityDetection",
                Kind::Object(&[
                    ("disabled", Kind::Bool),
                    ("startOfSpeechSensitivity", START_SENSITIVITY),
                    ("endOfSpeechSensitivity", END_SENSITIVITY),
                    ("prefixPaddingMs", Kind::Int),
                    ("silenceDurationMs", Kind::Int),
                ]),
            ),
            (
                "activityHandling",
                Kind::Enum(&[
                    "ACTIVITY_HANDLING_UNSPECIFIED",
                    "START_OF_ACTIVITY_INTERRUPTS",
                    "NO_INTERRUPTION",
                ]),
            ),
            (
                "turnCoverage",
                Kind::Enum(&[
                    "TURN_COVERAGE_UNSPECIFIED",
                    "TURN_INCLUDES_ONLY_ACTIVITY",
                    "TURN_INCLUDES_ALL_INPUT",
                    "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO",
                ]),
            ),
        ]),
    ),
    // `transparent` is Vertex-only (§3.1): not a field here.
    (
        "sessionResumption",
        Kind::Object(&[("handle", Kind::String)]),
    ),
    (
        "contextWindowCompression",
        Kind::Object(&[
            ("triggerTokens", Kind::Int),
            (
                "slidingWindow",
                Kind::Object(&[("targetTokens", Kind::Int)]),
            ),
        ]),
    ),
    // Empty objects in the v1beta proto (§3.1).
    ("inputAudioTranscription", Kind::Object(&[])),
    ("outputAudioTranscription", Kind::Object(&[])),
    (
        "proactivity",
        Kind::Object(&[("proactiveAudio", Kind::Bool)]),
    ),
    (
        "historyConfig",
        Kind::Object(&[("initialHistoryInClientContent", Kind::Bool)]),
    ),
    ("safetySettings", Kind::List(&Kind::Open)),
]);

/// `snake_case` → `camelCase` (the parser takes both, §2).
fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Where `value` does not fit `kind`: the dotted path of the first misfit.
fn misfit(value: &Value, kind: &Kind, path: &str) -> Option<String> {
    let fits = match kind {
        Kind::Object(fields) => {
            let Some(object) = value.as_object() else {
                return Some(path.to_owned());
            };
            for (key, inner) in object {
                let name = camel(key);
                let at = format!("{path}.{name}");
                match fields.iter().find(|(f, _)| *f == name) {
                    Some((_, kind)) => {
                        if let Some(bad) = misfit(inner, kind, &at) {
                            return Some(bad);
                        }
                    }
                    None => return Some(at),
                }
            }
            true
        }
        Kind::Open => value.is_object(),
        Kind::Bool => value.is_boolean(),
        Kind::Int => {
            value.is_i64()
                || value.is_u64()
                || value
                    .as_str()
                    .is_some_and(|s| s.trim_start_matches('-').parse::<u64>().is_ok())
        }
        Kind::Number => value.is_number(),
        Kind::String => value.is_string(),
        Kind::Enum(values) => value.as_str().is_some_and(|s| values.contains(&s)),
        Kind::List(inner) => {
            let Some(items) = value.as_array() else {
                return Some(path.to_owned());
            };
            for (i, item) in items.iter().enumerate() {
                if let Some(bad) = misfit(item, inner, &format!("{path}[{i}]")) {
                    return Some(bad);
                }
            }
            true
        }
    };
    (!fits).then(|| path.to_owned())
}

/// A refused setup: the close code and reason, and why (for the log and the tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    pub(super) code: u16,
    pub(super) reason: String,
    pub(super) why: String,
}

fn invalid(why: impl Into<String>) -> Refusal {
    Refusal {
        code: 1007,
        reason: INVALID_ARGUMENT.to_owned(),
        why: why.into(),
    }
}

/// The real service's close for a model it does not serve on this method: 1008 with
/// "models/X is not found for API version V, or is not supported for
/// bidiGenerateContent. Call ListModels ...", cut to the 123 bytes a close reason can
/// carry (RFC 6455; as clients log it).
pub fn model_not_found_reason(model: &str, version: &str) -> String {
    let full = format!(
        "{model} is not found for API version {version}, or is not supported for \
         bidiGenerateContent. Call ListModels to see the list of available models and their \
         supported methods."
    );
    let mut end = full.len().min(123);
    while !full.is_char_boundary(end) {
        end -= 1;
    }
    full[..end].to_owned()
}

fn field<'a>(value: &'a Value, camel: &str, snake: &str) -> Option<&'a Value> {
    value.get(camel).or_else(|| value.get(snake))
}

/// Checks `setup` (the object under the message's `setup` key) for a connection on the
/// `v1alpha` surface or not. `Ok` when the real service would take it.
pub(super) fn check_setup(setup: &Value, v1alpha: bool) -> Result<(), Refusal> {
    if let Some(path) = misfit(setup, &SETUP, "setup") {
        return Err(invalid(format!(
            "unknown or misplaced field, or bad value: {path}"
        )));
    }
    let Some(model) = setup.get("model").and_then(Value::as_str) else {
        return Err(invalid("setup.model is required"));
    };
    if !model.starts_with("models/") {
        return Err(invalid(format!("model {model:?} is not models/{{model}}")));
    }
    let version = if v1alpha { "v1alpha" } else { "v1beta" };
    let not_found = || Refusal {
        code: 1008,
        reason: model_not_found_reason(model, version),
        why: format!("{model} is not a Live model served here"),
    };
    let Some(entry) = live_model(model) else {
        // A REST model, a Vertex id or a name nobody serves.
        return Err(not_found());
    };
    if entry.is_shut_down() {
        return Err(not_found());
    }
    let generation = field(setup, "generationConfig", "generation_config");
    let modalities: Vec<&str> = generation
        .and_then(|g| field(g, "responseModalities", "response_modalities"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for m in &modalities {
        let supported = match *m {
            "AUDIO" => entry.supports(Modality::Audio),
            "TEXT" => entry.supports(Modality::Text),
            _ => false,
        };
        if !supported {
            return Err(invalid(format!("{model} does not answer with {m}")));
        }
    }
    // Thinking (§3.1, §10.1).
    let thinking = generation.and_then(|g| field(g, "thinkingConfig", "thinking_config"));
    let level = thinking.and_then(|t| field(t, "thinkingLevel", "thinking_level"));
    let budget = thinking.and_then(|t| field(t, "thinkingBudget", "thinking_budget"));
    let thinking_ok = match entry.thinking {
        Thinking::Rejected => thinking.is_none(),
        Thinking::BudgetOnly => level.is_none(),
        Thinking::LevelOnly => budget.is_none(),
        Thinking::LevelOrBudgetRequired => level.is_some() != budget.is_some(),
    };
    if !thinking_ok {
        return Err(invalid(format!(
            "thinkingConfig does not fit {model} ({:?})",
            entry.thinking
        )));
    }
    // Affective dialog and proactive audio (§1.4, §3.1, §10.1).
    let affective = generation
        .and_then(|g| field(g, "enableAffectiveDialog", "enable_affective_dialog"))
        .and_then(Value::as_bool);
    let proactive = field(setup, "proactivity", "proactivity")
        .and_then(|p| field(p, "proactiveAudio", "proactive_audio"))
        .and_then(Value::as_bool);
    for (name, asked, support) in [
        ("enableAffectiveDialog", affective, entry.affective_dialog),
        (
            "proactivity.proactiveAudio",
            proactive,
            entry.proactive_audio,
        ),
    ] {
        let Some(on) = asked else { continue };
        let ok = match support {
            Feature::Unsupported => false,
            Feature::V1alphaOptIn => v1alpha,
            Feature::AlwaysOn => on,
        };
        if !ok {
            return Err(invalid(format!("{name}={on} on {model} ({version})")));
        }
    }
    Ok(())
}

/// Whether the setup asked for `inputAudioTranscription` / `outputAudioTranscription`.
pub(super) fn transcriptions(setup: &Value) -> (bool, bool) {
    (
        field(
            setup,
            "inputAudioTranscription",
            "input_audio_transcription",
        )
        .is_some(),
        field(
            setup,
            "outputAudioTranscription",
            "output_audio_transcription",
        )
        .is_some(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok_setup() -> Value {
        json!({
            "model": "models/gemini-3.8-live",
            "generationConfig": { "responseModalities": ["AUDIO"],
                "speechConfig": { "voiceConfig": { "prebuiltVoiceConfig": { "voiceName": "Kore" } } } },
            "systemInstruction": { "parts": [ { "text": "hi" } ] },
            "input_audio_transcription": {},
            "realtimeInputConfig": { "automaticActivityDetection": { "silenceDurationMs": "800" } },
        })
    }

    #[test]
    fn the_walk_finds_the_first_misfit() {
        assert_eq!(check_setup(&ok_setup(), false), Ok(()));
        let mut s = ok_setup();
        s["generationConfig"]["responseMimeType"] = json!("application/json");
        let e = check_setup(&s, false).unwrap_err();
        assert_eq!(e.code, 1007);
        assert!(
            e.why.contains("setup.generationConfig.responseMimeType"),
            "{e:?}"
        );
        let mut s = ok_setup();
        s["realtimeInputConfig"]["automaticActivityDetection"]["endOfSpeechSensitivity"] =
            json!("END_SENSITIVITY_MEDIUM");
        assert!(check_setup(&s, false)
            .unwrap_err()
            .why
            .contains("endOfSpeechSensitivity"));
    }

    #[test]
    fn model_refusals() {
        let mut s = ok_setup();
        s["model"] = json!("models/gemini-3.8-flash");
        let e = check_setup(&s, false).unwrap_err();
        assert_eq!(e.code, 1008);
        assert!(e.reason.len() <= 123);
        assert!(e
            .reason
            .starts_with("models/gemini-3.8-flash is not found for API version v1beta"));
    }
}
