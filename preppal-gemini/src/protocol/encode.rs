//! Client messages out: `setup`, `clientContent`, `realtimeInput` and `toolResponse`, as
//! compact JSON strings for Text frames (§3).

use base64::Engine as _;
use preppal_core::{FunctionResponse, ModelCommand};
use serde_json::{json, Value};

use super::{BEGIN_PROMPT, INPUT_AUDIO_MIME};
use crate::config::{model_resource_name, LiveConfig};

/// The `setup` message, the first and only first message of a connection (§3.1), as compact JSON.
///
/// Shape: `{"setup": {"model", "generationConfig": {"responseModalities": ["AUDIO"],
/// "speechConfig"?, "enableAffectiveDialog"?}, "systemInstruction": {"parts": [{"text"}]},
/// "inputAudioTranscription"?: {}, "outputAudioTranscription"?: {}, "sessionResumption"?,
/// "contextWindowCompression"?, "realtimeInputConfig"?: {"automaticActivityDetection"?:
/// {"disabled", "startOfSpeechSensitivity"?, "endOfSpeechSensitivity"?, "prefixPaddingMs"?,
/// "silenceDurationMs"?}, "activityHandling"?}, "proactivity"?: {"proactiveAudio": true}}}`.
/// `speechConfig` and `enableAffectiveDialog` go inside `generationConfig`; the
/// transcription configs, `realtimeInputConfig` and `proactivity` are direct children of
/// `setup` (placement verified from the Python SDK's converters, §3.1). Optional parts are
/// only sent when set, and only where the model's entry in [`crate::models::LIVE_MODELS`]
/// takes them: no `enableAffectiveDialog` / `proactivity` unless the model has them as a
/// v1alpha opt-in, `generationConfig.thinkingConfig.thinkingLevel` only on models that
/// take a level (always on those that require one, default `low`), and
/// `historyConfig.initialHistoryInClientContent: true` on models that take `clientContent`
/// only as initial history (3.1).
pub fn setup_message(config: &LiveConfig) -> String {
    let mut generation_config = json!({ "responseModalities": ["AUDIO"] });
    if let Some(voice) = &config.voice {
        generation_config["speechConfig"] =
            json!({ "voiceConfig": { "prebuiltVoiceConfig": { "voiceName": voice } } });
    }
    let mut setup = json!({
        "model": model_resource_name(&config.model),
        "generationConfig": generation_config,
        "systemInstruction": { "parts": [ { "text": config.system_instruction } ] },
    });
    if config.input_transcription {
        setup["inputAudioTranscription"] = json!({});
    }
    if config.output_transcription {
        setup["outputAudioTranscription"] = json!({});
    }
    if let Some(handle) = &config.resumption_handle {
        setup["sessionResumption"] = json!({ "handle": handle });
    } else if config.session_resumption {
        setup["sessionResumption"] = json!({});
    }
    if config.context_window_compression {
        setup["contextWindowCompression"] = json!({ "slidingWindow": {} });
    }
    let mut realtime_input = serde_json::Map::new();
    if let Some(aad) = &config.automatic_activity_detection {
        let mut a = json!({ "disabled": aad.disabled });
        if let Some(s) = aad.start_of_speech_sensitivity {
            a["startOfSpeechSensitivity"] = json!(s.as_wire());
        }
        if let Some(s) = aad.end_of_speech_sensitivity {
            a["endOfSpeechSensitivity"] = json!(s.as_wire());
        }
        if let Some(ms) = aad.prefix_padding_ms {
            a["prefixPaddingMs"] = json!(ms);
        }
        if let Some(ms) = aad.silence_duration_ms {
            a["silenceDurationMs"] = json!(ms);
        }
        realtime_input.insert("automaticActivityDetection".to_owned(), a);
    }
    if let Some(handling) = config.activity_handling {
        realtime_input.insert("activityHandling".to_owned(), json!(handling.as_wire()));
    }
    if !realtime_input.is_empty() {
        setup["realtimeInputConfig"] = Value::Object(realtime_input);
    }
    // What the model accepts comes from its entry in the model table; a model the table
    // does not know gets what the configuration asks for.
    let entry = crate::models::live_model(&config.model);
    let opt_in = |feature: Option<crate::models::Feature>| {
        feature.is_none_or(|f| f == crate::models::Feature::V1alphaOptIn)
    };
    if config.affective_dialog && opt_in(entry.map(|m| m.affective_dialog)) {
        setup["generationConfig"]["enableAffectiveDialog"] = json!(true);
    }
    if config.proactive_audio && opt_in(entry.map(|m| m.proactive_audio)) {
        setup["proactivity"] = json!({ "proactiveAudio": true });
    }
    let level = match entry.map(|m| m.thinking) {
        Some(crate::models::Thinking::Rejected | crate::models::Thinking::BudgetOnly) => None,
        Some(crate::models::Thinking::LevelOrBudgetRequired) => Some(
            config
                .thinking_level
                .unwrap_or(crate::config::ThinkingLevel::Low),
        ),
        _ => config.thinking_level,
    };
    if let Some(level) = level {
        setup["generationConfig"]["thinkingConfig"] = json!({ "thinkingLevel": level.as_wire() });
    }
    if entry.is_some_and(|m| m.client_content == crate::models::ClientContent::InitialHistoryOnly) {
        setup["historyConfig"] = json!({ "initialHistoryInClientContent": true });
    }
    json!({ "setup": setup }).to_string()
}

/// A `clientContent` message that seeds a new connection with an earlier conversation:
/// one turn per `(speaker, text)`, role `"model"` for [`preppal_core::Speaker::Ai`] and
/// `"user"` for [`preppal_core::Speaker::User`], in order, with `turnComplete` as given
/// (`false`: the server waits for more input before answering; §3.3). Turns with empty
/// text are left out.
///
/// ```
/// use preppal_core::Speaker;
/// let m = preppal_gemini::protocol::history_message(&[(Speaker::Ai, "Hi, why Rust?".into())], false);
/// assert!(m.contains(r#""role":"model""#) && m.contains(r#""turnComplete":false"#));
/// ```
pub fn history_message(turns: &[(preppal_core::Speaker, String)], turn_complete: bool) -> String {
    let turns: Vec<Value> = turns
        .iter()
        .filter(|(_, text)| !text.trim().is_empty())
        .map(|(speaker, text)| {
            let role = match speaker {
                preppal_core::Speaker::Ai => "model",
                preppal_core::Speaker::User => "user",
            };
            json!({ "role": role, "parts": [ { "text": text } ] })
        })
        .collect();
    json!({ "clientContent": { "turns": turns, "turnComplete": turn_complete } }).to_string()
}

/// A `toolResponse` message answering function calls (§3.4): one `functionResponses`
/// entry per response, in order, each with its call's `id` and `name`.
///
/// ```
/// use preppal_core::{FunctionCall, FunctionResponse};
/// let call = FunctionCall::new("fc_1", "f", serde_json::Value::Null);
/// let m = preppal_gemini::protocol::tool_response_message(&[FunctionResponse::to(&call, serde_json::json!({"result": "ok"}))]);
/// assert_eq!(m, r#"{"toolResponse":{"functionResponses":[{"id":"fc_1","name":"f","response":{"result":"ok"}}]}}"#);
/// ```
pub fn tool_response_message(responses: &[FunctionResponse]) -> String {
    let responses: Vec<Value> = responses
        .iter()
        .map(|r| json!({ "id": r.id, "name": r.name, "response": r.response }))
        .collect();
    json!({ "toolResponse": { "functionResponses": responses } }).to_string()
}

/// A `clientContent` message with one user turn and `turnComplete: true` (§3.3).
fn user_turn(text: &str) -> String {
    json!({
        "clientContent": {
            "turns": [ { "role": "user", "parts": [ { "text": text } ] } ],
            "turnComplete": true
        }
    })
    .to_string()
}

/// The wire message for `cmd`, as compact JSON for a Text frame; `None` for
/// [`ModelCommand::Close`], which is a WebSocket close frame, not a message.
///
/// - `Audio(pcm)` → `{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=16000","data":<base64>}}}`
///   (`pcm` is PCM16LE mono 16 000 Hz; §3.2). The deprecated `mediaChunks` is never used:
///   the server closes with 1007 on it.
/// - `Text(s)` → `{"realtimeInput":{"text":s}}`.
/// - `Begin` → a `clientContent` user turn with [`BEGIN_PROMPT`] and `turnComplete: true`.
/// - `Instruct(s)` → a `clientContent` user turn with `s` and `turnComplete: true`.
/// - `ActivityStart` / `ActivityEnd` → `{"realtimeInput":{"activityStart":{}}}` /
///   `{"realtimeInput":{"activityEnd":{}}}` (manual activity signals, §3.2).
/// - `ToolResponse(r)` → `{"toolResponse":{"functionResponses":[{"id","name","response"}]}}` (§3.4).
pub fn encode_command(cmd: &ModelCommand) -> Option<String> {
    match cmd {
        ModelCommand::Audio(pcm) => Some(realtime_audio_message(pcm)),
        ModelCommand::Text(text) => Some(json!({ "realtimeInput": { "text": text } }).to_string()),
        ModelCommand::Begin => Some(user_turn(BEGIN_PROMPT)),
        ModelCommand::Instruct(text) => Some(user_turn(text)),
        ModelCommand::ToolResponse(responses) => Some(tool_response_message(responses)),
        ModelCommand::ActivityStart => {
            Some(json!({ "realtimeInput": { "activityStart": {} } }).to_string())
        }
        ModelCommand::ActivityEnd => {
            Some(json!({ "realtimeInput": { "activityEnd": {} } }).to_string())
        }
        // `ModelCommand` is non-exhaustive: anything newer has no wire form in this build.
        _ => None,
    }
}

/// `{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=16000","data":<base64>}}}`, written
/// into one string of exactly its length (one allocation per frame; the frame goes out as
/// this string's bytes without a copy).
fn realtime_audio_message(pcm: &[u8]) -> String {
    const HEAD: &str = r#"{"realtimeInput":{"audio":{"mimeType":""#;
    const DATA: &str = r#"","data":""#;
    const TAIL: &str = r#""}}}"#;
    let data_len = base64::encoded_len(pcm.len(), true).unwrap_or(0);
    let mut out = String::with_capacity(
        HEAD.len() + INPUT_AUDIO_MIME.len() + DATA.len() + data_len + TAIL.len(),
    );
    out.push_str(HEAD);
    out.push_str(INPUT_AUDIO_MIME);
    out.push_str(DATA);
    base64::engine::general_purpose::STANDARD.encode_string(pcm, &mut out);
    out.push_str(TAIL);
    out
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn setup_has_fields_in_their_places() {
        let config = LiveConfig::new("k", "Be an interviewer.").with_voice("Kore");
        let v: Value = serde_json::from_str(&setup_message(&config)).unwrap();
        let setup = &v["setup"];
        assert_eq!(v.as_object().unwrap().len(), 1);
        assert_eq!(setup["model"], "models/gemini-3.8-live");
        // gemini-3.8-live rejects thinkingConfig: never sent.
        assert!(setup["generationConfig"].get("thinkingConfig").is_none());
        assert_eq!(
            setup["generationConfig"]["responseModalities"],
            json!(["AUDIO"])
        );
        assert_eq!(
            setup["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]
                ["voiceName"],
            "Kore"
        );
        assert_eq!(
            setup["systemInstruction"]["parts"][0]["text"],
            "Be an interviewer."
        );
        assert_eq!(setup["inputAudioTranscription"], json!({}));
        assert_eq!(setup["outputAudioTranscription"], json!({}));
        assert!(setup.get("speechConfig").is_none());
        assert!(!setup_message(&config).contains("\"k\""));

        let plain = LiveConfig::new("k", "s").with_output_transcription(false);
        let v: Value = serde_json::from_str(&setup_message(&plain)).unwrap();
        assert!(v["setup"]["generationConfig"].get("speechConfig").is_none());
        assert!(v["setup"].get("outputAudioTranscription").is_none());
    }

    #[test]
    fn thinking_and_history_follow_the_model_table() {
        use crate::config::ThinkingLevel;
        let setup = |config: LiveConfig| -> Value {
            serde_json::from_str::<Value>(&setup_message(&config)).unwrap()["setup"].clone()
        };
        let extended =
            setup(LiveConfig::new("k", "s").with_model("gemini-3.8-live-extended-thinking"));
        assert_eq!(
            extended["generationConfig"]["thinkingConfig"],
            json!({"thinkingLevel": "low"})
        );
        let three_one = setup(
            LiveConfig::new("k", "s")
                .with_model("gemini-3.1-flash-live-preview")
                .with_thinking_level(ThinkingLevel::Minimal),
        );
        assert_eq!(
            three_one["generationConfig"]["thinkingConfig"],
            json!({"thinkingLevel": "minimal"})
        );
        assert_eq!(
            three_one["historyConfig"],
            json!({"initialHistoryInClientContent": true})
        );
        let budget_model = setup(
            LiveConfig::new("k", "s")
                .with_model("gemini-2.5-flash-native-audio-latest")
                .with_thinking_level(ThinkingLevel::High),
        );
        assert!(budget_model["generationConfig"]
            .get("thinkingConfig")
            .is_none());
    }

    #[test]
    fn activity_detection_and_handling_in_realtime_input_config() {
        use crate::config::{
            ActivityHandling, AutomaticActivityDetection, EndSensitivity, StartSensitivity,
        };
        let plain: Value =
            serde_json::from_str(&setup_message(&LiveConfig::new("k", "s"))).unwrap();
        // The default tolerates 1–3 s pauses inside an answer (§10.2).
        assert_eq!(
            plain["setup"]["realtimeInputConfig"],
            json!({ "automaticActivityDetection": {
                "disabled": false,
                "endOfSpeechSensitivity": "END_SENSITIVITY_LOW",
                "silenceDurationMs": 3000
            } })
        );
        assert!(plain["setup"].get("proactivity").is_none());
        let config = LiveConfig::new("k", "s")
            .with_automatic_activity_detection(
                AutomaticActivityDetection::default()
                    .with_start_of_speech_sensitivity(StartSensitivity::Low)
                    .with_end_of_speech_sensitivity(EndSensitivity::High)
                    .with_prefix_padding_ms(300)
                    .with_silence_duration_ms(800),
            )
            .with_activity_handling(ActivityHandling::NoInterruption)
            .with_affective_dialog(true)
            .with_proactive_audio(true);
        // On gemini-3.8-live proactive audio is always on and affective dialog is not
        // taken: neither is sent.
        let current: Value = serde_json::from_str(&setup_message(&config)).unwrap();
        assert!(current["setup"].get("proactivity").is_none());
        assert!(current["setup"]["generationConfig"]
            .get("enableAffectiveDialog")
            .is_none());
        let config = config.with_model("gemini-2.5-flash-native-audio-preview-12-2025");
        let v: Value = serde_json::from_str(&setup_message(&config)).unwrap();
        assert_eq!(
            v["setup"]["realtimeInputConfig"],
            json!({
                "automaticActivityDetection": {
                    "disabled": false,
                    "startOfSpeechSensitivity": "START_SENSITIVITY_LOW",
                    "endOfSpeechSensitivity": "END_SENSITIVITY_HIGH",
                    "prefixPaddingMs": 300,
                    "silenceDurationMs": 800
                },
                "activityHandling": "NO_INTERRUPTION"
            })
        );
        assert_eq!(
            v["setup"]["generationConfig"]["enableAffectiveDialog"],
            true
        );
        assert_eq!(v["setup"]["proactivity"], json!({"proactiveAudio": true}));
        let manual: Value = serde_json::from_str(&setup_message(
            &LiveConfig::new("k", "s").with_manual_activity(),
        ))
        .unwrap();
        assert_eq!(
            manual["setup"]["realtimeInputConfig"],
            json!({"automaticActivityDetection": {"disabled": true}})
        );
        assert_eq!(
            encode_command(&ModelCommand::ActivityStart).unwrap(),
            r#"{"realtimeInput":{"activityStart":{}}}"#
        );
        assert_eq!(
            encode_command(&ModelCommand::ActivityEnd).unwrap(),
            r#"{"realtimeInput":{"activityEnd":{}}}"#
        );
    }

    #[test]
    fn commands_encode_to_camel_case_messages() {
        let audio =
            encode_command(&ModelCommand::Audio(Bytes::from_static(&[1, 0, 255, 127]))).unwrap();
        let v: Value = serde_json::from_str(&audio).unwrap();
        assert_eq!(
            v["realtimeInput"]["audio"]["mimeType"],
            "audio/pcm;rate=16000"
        );
        assert_eq!(v["realtimeInput"]["audio"]["data"], "AQD/fw==");
        assert!(!audio.contains("mediaChunks"));

        let text: Value =
            serde_json::from_str(&encode_command(&ModelCommand::Text("hi".into())).unwrap())
                .unwrap();
        assert_eq!(text, json!({"realtimeInput": {"text": "hi"}}));

        let begin: Value =
            serde_json::from_str(&encode_command(&ModelCommand::Begin).unwrap()).unwrap();
        assert_eq!(begin["clientContent"]["turnComplete"], true);
        assert_eq!(begin["clientContent"]["turns"][0]["role"], "user");
        assert_eq!(
            begin["clientContent"]["turns"][0]["parts"][0]["text"],
            BEGIN_PROMPT
        );

        let wrap: Value = serde_json::from_str(
            &encode_command(&ModelCommand::Instruct("wrap up".into())).unwrap(),
        )
        .unwrap();
        assert_eq!(
            wrap["clientContent"]["turns"][0]["parts"][0]["text"],
            "wrap up"
        );
        assert_eq!(encode_command(&ModelCommand::Close), None);
    }
}
