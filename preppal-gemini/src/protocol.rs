//! The Gemini Live wire protocol, with no I/O: client messages out as JSON strings, server
//! frames in as [`ModelEvent`] values.
//!
//! Facts come from the gemini-live-protocol notes (section numbers in the docs below):
//! every message is one JSON object; client messages are sent as Text frames in
//! lowerCamelCase; server frames arrive as Text or Binary frames of UTF-8 JSON, often
//! pretty-printed; all fields are optional and unknown ones are ignored (§2).

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use bytes::Bytes;
pub use preppal_core::UsageMetadata;
use preppal_core::{FunctionCall, FunctionResponse, ModelCommand, ModelEvent, TurnCompleteReason};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::{model_resource_name, LiveConfig};
use crate::error::ProtocolError;

/// MIME type of candidate audio sent in `realtimeInput.audio`: PCM16LE, mono, 16 000 Hz (§3.2, §5).
pub const INPUT_AUDIO_MIME: &str = "audio/pcm;rate=16000";

/// MIME type of model audio in `inlineData`: PCM16LE, mono, 24 000 Hz (§5).
pub const OUTPUT_AUDIO_MIME: &str = "audio/pcm;rate=24000";

/// The user turn sent for [`ModelCommand::Begin`].
pub const BEGIN_PROMPT: &str = "The candidate has joined. Please start the interview now: greet \
     the candidate briefly and ask your first question.";

const INDIFFERENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_ANY_PAD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, INDIFFERENT);
const URL_SAFE_ANY_PAD: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, INDIFFERENT);

/// Decodes proto3-JSON `bytes`: standard base64 with or without padding, or URL-safe
/// base64 with or without padding (§2, from the proto3 JSON mapping).
///
/// # Errors
/// [`ProtocolError::Base64`] when the text is neither.
pub fn decode_base64(data: &str) -> Result<Vec<u8>, ProtocolError> {
    // The standard alphabet first, without scanning the text beforehand (a 100 ms chunk is
    // 6.4 kB of it); only a text that the standard alphabet refuses and that holds a URL-safe
    // character is tried again as URL-safe.
    match STANDARD_ANY_PAD.decode(data) {
        Ok(bytes) => Ok(bytes),
        Err(_) if data.bytes().any(|b| b == b'-' || b == b'_') => {
            URL_SAFE_ANY_PAD.decode(data).map_err(ProtocolError::Base64)
        }
        Err(e) => Err(ProtocolError::Base64(e)),
    }
}

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

/// One server message, decoded: its events in order and its `usageMetadata`, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerFrame {
    /// The events, in the order described at [`parse_server_message`].
    pub events: Vec<ModelEvent>,
    /// `usageMetadata`, which may ride on any message (§2, §4.5).
    pub usage: Option<UsageMetadata>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireServerMessage<'a> {
    #[serde(default, alias = "setup_complete")]
    setup_complete: Option<serde::de::IgnoredAny>,
    #[serde(default, alias = "server_content")]
    #[serde(borrow)]
    server_content: Option<WireServerContent<'a>>,
    #[serde(default, alias = "go_away")]
    go_away: Option<WireGoAway>,
    #[serde(default, alias = "usage_metadata")]
    usage_metadata: Option<UsageMetadata>,
    #[serde(default, alias = "session_resumption_update")]
    session_resumption_update: Option<WireResumptionUpdate>,
    #[serde(default, alias = "tool_call")]
    tool_call: Option<WireToolCall>,
    #[serde(default, alias = "tool_call_cancellation")]
    tool_call_cancellation: Option<WireToolCallCancellation>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireToolCall {
    #[serde(default, alias = "function_calls")]
    function_calls: Option<Vec<WireFunctionCall>>,
}

#[derive(Deserialize, Default)]
struct WireFunctionCall {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    args: Option<Value>,
}

#[derive(Deserialize, Default)]
struct WireToolCallCancellation {
    #[serde(default)]
    ids: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireResumptionUpdate {
    #[serde(default, alias = "new_handle")]
    new_handle: Option<String>,
    #[serde(default)]
    resumable: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireServerContent<'a> {
    #[serde(default, borrow, alias = "model_turn")]
    model_turn: Option<WireContent<'a>>,
    #[serde(default, alias = "input_transcription")]
    input_transcription: Option<WireTranscription>,
    #[serde(default, alias = "output_transcription")]
    output_transcription: Option<WireTranscription>,
    #[serde(default, alias = "generation_complete")]
    generation_complete: Option<bool>,
    #[serde(default, alias = "turn_complete")]
    turn_complete: Option<bool>,
    #[serde(default)]
    interrupted: Option<bool>,
    #[serde(default, alias = "turn_complete_reason")]
    turn_complete_reason: Option<String>,
    #[serde(default, alias = "waiting_for_input")]
    waiting_for_input: Option<bool>,
}

#[derive(Deserialize, Default)]
struct WireContent<'a> {
    #[serde(default, borrow)]
    parts: Option<Vec<WirePart<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WirePart<'a> {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    thought: Option<bool>,
    #[serde(default, borrow, alias = "inline_data")]
    inline_data: Option<WireBlob<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
/// The audio's base64 text is borrowed from the frame, not copied, unless it holds JSON
/// escapes (the allocation bench counts this).
struct WireBlob<'a> {
    #[serde(default, borrow, alias = "mime_type")]
    mime_type: Option<BorrowedStr<'a>>,
    #[serde(default, borrow)]
    data: Option<BorrowedStr<'a>>,
}

/// A string borrowed from the frame when it has no escapes. A newtype because serde borrows
/// a `Cow<str>` field only when the field's type is exactly `Cow<str>`, not `Option<Cow<str>>`.
#[derive(Deserialize)]
struct BorrowedStr<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);

#[derive(Deserialize, Default)]
struct WireTranscription {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireGoAway {
    #[serde(default, alias = "time_left")]
    time_left: Option<Value>,
}

/// Parses a `google.protobuf.Duration` in its JSON form (`"50s"`, `"1.5s"`, `"0.000001s"`)
/// into whole ms, rounding down; a negative duration is 0 ms. A bare JSON number is read as
/// seconds (lenient).
///
/// # Errors
/// [`ProtocolError::Duration`] for anything else.
pub fn parse_duration_ms(value: &Value) -> Result<u64, ProtocolError> {
    let bad = || ProtocolError::Duration(value.to_string());
    let text = match value {
        Value::String(s) => s.trim().strip_suffix('s').ok_or_else(bad)?.to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return Err(bad()),
    };
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(frac) || frac.len() > 9 {
        return Err(bad());
    }
    let secs: u64 = whole.parse().map_err(|_| bad())?;
    let frac_ms: u64 = if frac.is_empty() {
        0
    } else {
        let padded = format!("{frac:0<3}");
        padded[..3].parse().map_err(|_| bad())?
    };
    if negative {
        return Ok(0);
    }
    secs.checked_mul(1000)
        .and_then(|ms| ms.checked_add(frac_ms))
        .ok_or_else(bad)
}

fn is_pcm_audio(mime: Option<&str>) -> bool {
    mime.is_none_or(|m| m.trim().to_ascii_lowercase().starts_with("audio/pcm"))
}

/// Parses one server frame (the payload of a Text or Binary frame) into its events.
///
/// Same as [`parse_server_frame`], the events only (`usageMetadata` is among them as
/// [`ModelEvent::Usage`]).
///
/// # Errors
/// As [`parse_server_frame`].
pub fn parse_server_message(frame: &[u8]) -> Result<Vec<ModelEvent>, ProtocolError> {
    parse_server_frame(frame).map(|f| f.events)
}

/// Parses one server frame (the payload of a Text or Binary frame) into its events and usage.
///
/// The payload is UTF-8 JSON, pretty-printed or compact; unknown fields are ignored and
/// every field is optional (§2), so `{}` gives no events. Event order within one message:
///
/// 1. `setupComplete` → [`ModelEvent::SetupComplete`], then `usageMetadata` →
///    [`ModelEvent::Usage`] (first, so a turn's usage is known by its `TurnComplete`);
/// 2. from `serverContent`: `inputTranscription` → [`ModelEvent::InputTranscription`],
///    `outputTranscription` → [`ModelEvent::OutputTranscription`], then `interrupted` →
///    [`ModelEvent::Interrupted`], then every part of `modelTurn.parts` in order
///    (`inlineData` PCM audio → [`ModelEvent::Audio`] with the base64 decoded, non-thought
///    `text` → [`ModelEvent::Text`]), `generationComplete` → [`ModelEvent::GenerationComplete`],
///    `turnComplete` → [`ModelEvent::TurnComplete`], preceded by
///    [`ModelEvent::TurnCompleteReason`] when `turnCompleteReason` or `waitingForInput` came
///    with it;
/// 3. `toolCall` → [`ModelEvent::ToolCall`] (every `functionCalls` entry; `args` `null`
///    when absent), `toolCallCancellation` → [`ModelEvent::ToolCallCancellation`] (§4.2);
/// 4. `sessionResumptionUpdate` → [`ModelEvent::ResumptionUpdate`] (§4.4);
/// 5. `goAway` → [`ModelEvent::GoAway`] with `timeLeft` (a Duration string) in ms.
///
/// When `interrupted` is true, the message's `modelTurn` parts belong to the generation
/// that was cut (§4.1, §8b item 5): [`ModelEvent::Interrupted`] comes before them, so the
/// one place that decides turns (`preppal_core::InterviewSession`) drops them with the rest
/// of the cut generation; its transcriptions come before `Interrupted`, as part of the cut
/// turn. The parser decides nothing.
/// Several parts in one message are all read (3.1 models send several, §4.1).
///
/// # Errors
/// - [`ProtocolError::NotUtf8`] when the payload is not UTF-8;
/// - [`ProtocolError::Json`] when it is not JSON, not an object, or a known field has the
///   wrong type (such as a counter that is not an integer);
/// - [`ProtocolError::Base64`] when audio data is not base64;
/// - [`ProtocolError::Duration`] when `goAway.timeLeft` is not a Duration string.
pub fn parse_server_frame(frame: &[u8]) -> Result<ServerFrame, ProtocolError> {
    let text = std::str::from_utf8(frame).map_err(ProtocolError::NotUtf8)?;
    let msg: WireServerMessage = serde_json::from_str(text).map_err(ProtocolError::Json)?;
    let mut events = Vec::new();
    if msg.setup_complete.is_some() {
        events.push(ModelEvent::SetupComplete);
    }
    if let Some(usage) = &msg.usage_metadata {
        events.push(ModelEvent::Usage(usage.clone()));
    }
    if let Some(content) = msg.server_content {
        let interrupted = content.interrupted == Some(true);
        if let Some(t) = content.input_transcription.and_then(|t| t.text) {
            events.push(ModelEvent::InputTranscription(t));
        }
        if let Some(t) = content.output_transcription.and_then(|t| t.text) {
            events.push(ModelEvent::OutputTranscription(t));
        }
        if interrupted {
            events.push(ModelEvent::Interrupted);
        }
        {
            let parts = content.model_turn.and_then(|c| c.parts).unwrap_or_default();
            for part in parts {
                if let Some(blob) = part.inline_data {
                    if is_pcm_audio(blob.mime_type.as_ref().map(|m| m.0.as_ref())) {
                        if let Some(data) = blob.data {
                            events.push(ModelEvent::Audio(Bytes::from(decode_base64(&data.0)?)));
                        }
                    }
                } else if let Some(text) = part.text {
                    if part.thought != Some(true) {
                        events.push(ModelEvent::Text(text));
                    }
                }
            }
        }
        if content.generation_complete == Some(true) {
            events.push(ModelEvent::GenerationComplete);
        }
        if content.turn_complete == Some(true) {
            let waiting_for_input = content.waiting_for_input == Some(true);
            if content.turn_complete_reason.is_some() || waiting_for_input {
                events.push(ModelEvent::TurnCompleteReason {
                    reason: TurnCompleteReason::from_wire(
                        content.turn_complete_reason.as_deref().unwrap_or_default(),
                    ),
                    waiting_for_input,
                });
            }
            events.push(ModelEvent::TurnComplete);
        }
    }
    if let Some(call) = msg.tool_call {
        let calls = call
            .function_calls
            .unwrap_or_default()
            .into_iter()
            .map(|c| {
                FunctionCall::new(
                    c.id.unwrap_or_default(),
                    c.name.unwrap_or_default(),
                    c.args.unwrap_or(Value::Null),
                )
            })
            .collect();
        events.push(ModelEvent::ToolCall(calls));
    }
    if let Some(cancellation) = msg.tool_call_cancellation {
        events.push(ModelEvent::ToolCallCancellation(
            cancellation.ids.unwrap_or_default(),
        ));
    }
    if let Some(update) = msg.session_resumption_update {
        events.push(ModelEvent::ResumptionUpdate {
            handle: update.new_handle.unwrap_or_default(),
            resumable: update.resumable == Some(true),
        });
    }
    if let Some(go_away) = msg.go_away {
        let time_left_ms = match go_away.time_left {
            Some(v) => parse_duration_ms(&v)?,
            None => 0,
        };
        events.push(ModelEvent::GoAway { time_left_ms });
    }
    Ok(ServerFrame {
        events,
        usage: msg.usage_metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Vec<ModelEvent> {
        parse_server_message(s.as_bytes()).unwrap()
    }

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

    #[test]
    fn time_left_durations() {
        let ms = |s: &str| parse_duration_ms(&Value::String(s.into()));
        assert_eq!(ms("50s").unwrap(), 50_000);
        assert_eq!(ms("1.5s").unwrap(), 1_500);
        assert_eq!(ms("0.000001s").unwrap(), 0);
        assert_eq!(ms("3.000000001s").unwrap(), 3_000);
        assert_eq!(ms("-1s").unwrap(), 0);
        for bad in [
            "50",
            "s",
            "1.5ms",
            "abc s",
            "1.2.3s",
            ".5s",
            "1.0000000001s",
        ] {
            assert!(ms(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse(r#"{"goAway": {"timeLeft": "50s"}}"#),
            vec![ModelEvent::GoAway {
                time_left_ms: 50_000
            }]
        );
        assert!(parse_server_message(br#"{"goAway": {"timeLeft": "soon"}}"#).is_err());
    }

    #[test]
    fn setup_complete_pretty_printed() {
        assert_eq!(
            parse("{\n  \"setupComplete\": {}\n}\n"),
            vec![ModelEvent::SetupComplete]
        );
    }

    #[test]
    fn several_parts_in_one_message_in_order() {
        let msg = r#"{"serverContent": {
            "outputTranscription": {"text": " Hel"},
            "inputTranscription": {"text": "I think"},
            "modelTurn": {"parts": [
                {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AQI="}},
                {"text": "thinking", "thought": true},
                {"text": "visible"},
                {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AwQ="}}
            ]},
            "generationComplete": true,
            "turnComplete": true}}"#;
        assert_eq!(
            parse(msg),
            vec![
                ModelEvent::InputTranscription("I think".into()),
                ModelEvent::OutputTranscription(" Hel".into()),
                ModelEvent::Audio(Bytes::from_static(&[1, 2])),
                ModelEvent::Text("visible".into()),
                ModelEvent::Audio(Bytes::from_static(&[3, 4])),
                ModelEvent::GenerationComplete,
                ModelEvent::TurnComplete,
            ]
        );
    }

    #[test]
    fn interrupted_comes_before_the_cut_audio() {
        let msg = r#"{"serverContent": {"interrupted": true, "outputTranscription": {"text": "Wh"},
            "modelTurn": {"parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AQI="}}]},
            "turnComplete": true}}"#;
        assert_eq!(
            parse(msg),
            vec![
                ModelEvent::OutputTranscription("Wh".into()),
                ModelEvent::Interrupted,
                ModelEvent::Audio(Bytes::from_static(&[1, 2])),
                ModelEvent::TurnComplete
            ]
        );
    }

    #[test]
    fn usage_metadata_alongside_server_content_with_string_counters() {
        let msg = r#"{"serverContent": {"turnComplete": true},
            "usageMetadata": {"promptTokenCount": "1200", "responseTokenCount": 85, "totalTokenCount": "1285",
              "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": 900}]}}"#;
        let frame = parse_server_frame(msg.as_bytes()).unwrap();
        let usage = frame.usage.unwrap();
        assert_eq!(
            frame.events,
            vec![ModelEvent::Usage(usage.clone()), ModelEvent::TurnComplete]
        );
        assert_eq!(usage.prompt_tokens_details.len(), 1);
        assert_eq!(usage.prompt_tokens_details[0].modality, "AUDIO");
        assert_eq!(usage.prompt_tokens_details[0].token_count, Some(900));
        assert_eq!(usage.prompt_token_count, Some(1200));
        assert_eq!(usage.response_token_count, Some(85));
        assert_eq!(usage.total_token_count, Some(1285));
        assert_eq!(usage.thoughts_token_count, None);
        let bad = r#"{"usageMetadata": {"totalTokenCount": "many"}}"#;
        assert!(matches!(
            parse_server_message(bad.as_bytes()),
            Err(ProtocolError::Json(_))
        ));
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let msg = r#"{"sessionResumptionUpdate": {"newHandle": "Cj", "resumable": true},
            "voiceActivity": {"x": 1},
            "serverContent": {"turnComplete": true, "turnCompleteReason": "NEED_MORE_INPUT",
              "waitingForInput": true, "groundingMetadata": {}, "interactionStatus": "IDLE"}}"#;
        assert_eq!(
            parse(msg),
            vec![
                ModelEvent::TurnCompleteReason {
                    reason: TurnCompleteReason::NeedMoreInput,
                    waiting_for_input: true
                },
                ModelEvent::TurnComplete,
                ModelEvent::ResumptionUpdate {
                    handle: "Cj".into(),
                    resumable: true
                }
            ]
        );
        assert_eq!(
            parse(r#"{"sessionResumptionUpdate": {"resumable": false}}"#),
            vec![ModelEvent::ResumptionUpdate {
                handle: String::new(),
                resumable: false
            }]
        );
        assert_eq!(parse("{}"), vec![]);
        assert_eq!(
            parse(r#"{"toolCall": {"functionCalls": []}}"#),
            vec![ModelEvent::ToolCall(vec![])]
        );
    }

    #[test]
    fn tool_calls_cancellations_and_turn_reasons() {
        let msg = r#"{"toolCall": {"functionCalls": [
            {"id": "fc_1", "name": "record_score", "args": {"score": 4}},
            {"name": "no_id"}]}}"#;
        assert_eq!(
            parse(msg),
            vec![ModelEvent::ToolCall(vec![
                FunctionCall::new("fc_1", "record_score", json!({"score": 4})),
                FunctionCall::new("", "no_id", Value::Null),
            ])]
        );
        assert_eq!(
            parse(r#"{"tool_call_cancellation": {"ids": ["fc_1", "fc_2"]}}"#),
            vec![ModelEvent::ToolCallCancellation(vec![
                "fc_1".into(),
                "fc_2".into()
            ])]
        );
        assert_eq!(
            parse(
                r#"{"serverContent": {"turnComplete": true, "turnCompleteReason": "SOMETHING_NEW"}}"#
            ),
            vec![
                ModelEvent::TurnCompleteReason {
                    reason: TurnCompleteReason::Other("SOMETHING_NEW".into()),
                    waiting_for_input: false
                },
                ModelEvent::TurnComplete
            ]
        );
        // A reason without turnComplete is not a turn end.
        assert_eq!(
            parse(r#"{"serverContent": {"turnCompleteReason": "NEED_MORE_INPUT"}}"#),
            vec![]
        );
        let response = encode_command(&ModelCommand::ToolResponse(vec![FunctionResponse::to(
            &FunctionCall::new("fc_1", "record_score", Value::Null),
            json!({"error": "no"}),
        )]))
        .unwrap();
        let v: Value = serde_json::from_str(&response).unwrap();
        assert_eq!(
            v,
            json!({"toolResponse": {"functionResponses": [
                {"id": "fc_1", "name": "record_score", "response": {"error": "no"}}]}})
        );
    }

    #[test]
    fn url_safe_and_unpadded_base64() {
        // bytes fb ff fe: standard "+//+", URL-safe "-__-"
        let url =
            r#"{"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": "-__-"}}]}}}"#;
        assert_eq!(
            parse(url),
            vec![ModelEvent::Audio(Bytes::from_static(&[0xfb, 0xff, 0xfe]))]
        );
        let unpadded =
            r#"{"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": "AQI"}}]}}}"#;
        assert_eq!(
            parse(unpadded),
            vec![ModelEvent::Audio(Bytes::from_static(&[1, 2]))]
        );
        assert_eq!(decode_base64("AQI=").unwrap(), vec![1, 2]);
        assert!(matches!(decode_base64("!!"), Err(ProtocolError::Base64(_))));
        // One text mixing both alphabets is neither.
        assert!(matches!(
            decode_base64("+/-_"),
            Err(ProtocolError::Base64(_))
        ));
        // A JSON escape inside the text cannot be borrowed from the frame; it still decodes.
        let escaped = r#"{"serverContent": {"modelTurn": {"parts": [{"inlineData": {"mimeType": "audio\/pcm;rate=24000", "data": "AQ\u0049="}}]}}}"#;
        assert_eq!(
            parse(escaped),
            vec![ModelEvent::Audio(Bytes::from_static(&[1, 2]))]
        );
    }

    #[test]
    fn non_audio_inline_data_is_skipped() {
        let msg = r#"{"serverContent": {"modelTurn": {"parts": [{"inlineData": {"mimeType": "image/png", "data": "AQI="}}]}}}"#;
        assert_eq!(parse(msg), vec![]);
    }

    #[test]
    fn malformed_frames_are_errors() {
        assert!(matches!(
            parse_server_message(&[0xff, 0xfe]),
            Err(ProtocolError::NotUtf8(_))
        ));
        assert!(matches!(
            parse_server_message(b"not json"),
            Err(ProtocolError::Json(_))
        ));
        assert!(matches!(
            parse_server_message(b"[1,2]"),
            Err(ProtocolError::Json(_))
        ));
        assert!(matches!(
            parse_server_message(br#"{"serverContent": {"turnComplete": "yes"}}"#),
            Err(ProtocolError::Json(_))
        ));
    }
}
