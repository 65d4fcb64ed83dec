//! Server frames in: one UTF-8 JSON message to its [`ModelEvent`] values (§2, §4).

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::{DecodeError, DecodeSliceError, Engine as _};
use bytes::Bytes;
use preppal_core::{FunctionCall, ModelEvent, TurnCompleteReason, UsageMetadata};
use serde_json::Value;

use super::wire::WireServerMessage;
use crate::error::ProtocolError;

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
    match decode_exact(&STANDARD_ANY_PAD, data) {
        Ok(bytes) => Ok(bytes),
        Err(_) if data.bytes().any(|b| b == b'-' || b == b'_') => {
            decode_exact(&URL_SAFE_ANY_PAD, data).map_err(ProtocolError::Base64)
        }
        Err(e) => Err(ProtocolError::Base64(e)),
    }
}

/// Decodes `data` into a buffer of exactly its decoded length, so that the audio becomes
/// [`Bytes`] without another allocation (a buffer with spare room would need one).
fn decode_exact(engine: &GeneralPurpose, data: &str) -> Result<Vec<u8>, DecodeError> {
    let mut out = vec![0; exact_decoded_len(data)];
    match engine.decode_slice(data, &mut out) {
        Ok(written) => {
            out.truncate(written);
            Ok(out)
        }
        Err(DecodeSliceError::DecodeError(e)) => Err(e),
        // Not valid base64 (its length is impossible): the engine says what is wrong.
        Err(DecodeSliceError::OutputSliceTooSmall) => engine.decode(data),
    }
}

/// Bytes that valid base64 `data` decodes to: 3 per 4 characters, less the padding.
fn exact_decoded_len(data: &str) -> usize {
    let b = data.as_bytes();
    let padding = b.iter().rev().take(2).take_while(|&&c| c == b'=').count();
    let chars = b.len() - padding;
    chars / 4 * 3 + [0, 0, 1, 2][chars % 4]
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

/// Whether `mimeType` names PCM audio (`audio/pcm...`, any case); no `mimeType` counts.
/// Compared in place: no lowercased copy per frame.
fn is_pcm_audio(mime: Option<&str>) -> bool {
    const PCM: &str = "audio/pcm";
    mime.is_none_or(|m| {
        m.trim_start()
            .get(..PCM.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(PCM))
    })
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
    parse_server_text(text)
}

/// [`parse_server_frame`] for a payload already known to be UTF-8: a WebSocket Text frame,
/// which the WebSocket layer has validated, is not checked a second time.
///
/// # Errors
/// As [`parse_server_frame`], except [`ProtocolError::NotUtf8`].
pub fn parse_server_text(text: &str) -> Result<ServerFrame, ProtocolError> {
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
            for part in parts.in_order() {
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
    use preppal_core::{FunctionResponse, ModelCommand};
    use serde_json::json;

    use super::super::encode_command;
    use super::*;

    fn parse(s: &str) -> Vec<ModelEvent> {
        parse_server_message(s.as_bytes()).unwrap()
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
    fn decoded_audio_fills_its_buffer_exactly() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        for len in 0..40usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            for text in [STANDARD.encode(&bytes), URL_SAFE_NO_PAD.encode(&bytes)] {
                let decoded = decode_base64(&text).unwrap();
                assert_eq!(decoded, bytes, "{text}");
                assert_eq!(decoded.capacity(), decoded.len(), "{text}");
            }
        }
        // Impossible lengths and stray padding are still errors.
        for bad in ["A", "AQIDB", "AQ===", "=AQI"] {
            assert!(
                matches!(decode_base64(bad), Err(ProtocolError::Base64(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn pcm_mime_types_match_in_any_case_without_copying() {
        for yes in [
            None,
            Some("audio/pcm"),
            Some(" AUDIO/PCM;rate=24000"),
            Some("Audio/Pcm "),
        ] {
            assert!(is_pcm_audio(yes), "{yes:?}");
        }
        for no in [
            Some("audio/pc"),
            Some("audio/wav"),
            Some(""),
            Some("éaudio/pcm"),
        ] {
            assert!(!is_pcm_audio(no), "{no:?}");
        }
    }

    #[test]
    fn a_text_frame_parses_as_its_bytes_do() {
        let msg = r#"{"serverContent": {"outputTranscription": {"text": "Héllo"},
            "modelTurn": {"parts": [{"inlineData": {"data": "AQI="}}, {"text": "a"},
            {"inlineData": {"data": "AwQ="}}]}, "turnComplete": true}}"#;
        let text = parse_server_text(msg).unwrap();
        assert_eq!(text, parse_server_frame(msg.as_bytes()).unwrap());
        assert_eq!(
            text.events,
            vec![
                ModelEvent::OutputTranscription("Héllo".into()),
                ModelEvent::Audio(Bytes::from_static(&[1, 2])),
                ModelEvent::Text("a".into()),
                ModelEvent::Audio(Bytes::from_static(&[3, 4])),
                ModelEvent::TurnComplete,
            ]
        );
        for empty in [r#"{"parts": []}"#, r#"{"parts": null}"#, "{}"] {
            let msg = format!(r#"{{"serverContent": {{"modelTurn": {empty}}}}}"#);
            assert_eq!(parse_server_text(&msg).unwrap().events, vec![]);
        }
        assert!(matches!(
            parse_server_text(r#"{"serverContent": {"modelTurn": {"parts": {}}}}"#),
            Err(ProtocolError::Json(_))
        ));
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
