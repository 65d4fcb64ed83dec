//! What passes between an interview and its model (the Gemini Live API), in the core's
//! own terms. `preppal-gemini` turns these into wire messages and back; the session never
//! sees JSON.

use bytes::Bytes;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Something the model did, decoded from a Gemini Live server message.
///
/// Names follow the Gemini Live protocol (`setupComplete`, `serverContent.turnComplete`,
/// `interrupted`, `goAway`, ...). One server message may produce several events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelEvent {
    /// `setupComplete`: the model accepted the setup and is ready.
    SetupComplete,
    /// Model speech: PCM16LE, mono, 24 000 Hz (`inlineData` of a `modelTurn` part).
    Audio(Bytes),
    /// A text part of a `modelTurn` (not a transcription).
    Text(String),
    /// `inputTranscription.text`: a fragment of what the candidate said.
    InputTranscription(String),
    /// `outputTranscription.text`: a fragment of what the model said.
    OutputTranscription(String),
    /// `generationComplete`: the model has produced its whole turn (it may still be playing).
    GenerationComplete,
    /// `turnComplete`: the model's turn is over; it waits for the candidate.
    TurnComplete,
    /// `serverContent.turnCompleteReason` and `waitingForInput`: why the model ended the
    /// turn whose [`ModelEvent::TurnComplete`] follows at once (same server message). Only
    /// sent when the server gave a reason or `waitingForInput` (newer models,
    /// gemini-live-protocol notes §4.1, from the Python SDK's types and wire tests).
    TurnCompleteReason {
        /// `turnCompleteReason` ([`TurnCompleteReason::Unspecified`] when only
        /// `waitingForInput` was sent).
        reason: TurnCompleteReason,
        /// `waitingForInput`: the model waits for the candidate before it goes on.
        waiting_for_input: bool,
    },
    /// `toolCall.functionCalls`: the model asks the client to run functions and answer
    /// with a `toolResponse` matching each `id`. Until it is answered, candidate audio must
    /// not be streamed: the server closes with 1008 (gemini-live-protocol notes §3.4, §4.2).
    ToolCall(Vec<FunctionCall>),
    /// `toolCallCancellation.ids`: earlier [`ModelEvent::ToolCall`]s that need no answer any
    /// more (the candidate interrupted the turn that made them, §4.2).
    ToolCallCancellation(Vec<String>),
    /// `usageMetadata`: token counts, sent periodically on any message (§4.5). It comes
    /// before the other events of its message.
    Usage(UsageMetadata),
    /// `interrupted`: the candidate barged in and the model's turn was cut.
    Interrupted,
    /// `goAway`: the server will close this connection in `time_left_ms` ms.
    GoAway {
        /// `timeLeft`, in ms.
        time_left_ms: u64,
    },
    /// `sessionResumptionUpdate`: a new session resumption handle. `resumable` is `false`
    /// (and `handle` usually empty) while the model is generating; only a handle that came
    /// with `resumable: true` can resume the session (gemini-live-protocol notes §4.4).
    ResumptionUpdate {
        /// `newHandle`, as sent (may be empty).
        handle: String,
        /// `resumable`.
        resumable: bool,
    },
    /// The connection to the model is being replaced (after `goAway`, a retryable close or a
    /// stall). Not the end: the interview goes on, and candidate input is buffered until
    /// [`ModelEvent::Resumed`].
    Reconnecting {
        /// Why: `"goAway"`, `"stall"`, or the close code and reason that ended the old connection.
        reason: String,
    },
    /// A new connection to the model is ready after [`ModelEvent::Reconnecting`].
    Resumed {
        /// `true` when the session was resumed with a resumption handle; `false` when the new
        /// connection was seeded from the transcript the caller handed over instead.
        with_handle: bool,
    },
    /// The model is gone for good: the connection closed and will not be resumed.
    Closed {
        /// The WebSocket close code (1000 normal, 1011 server error, ...); 1006 when the
        /// connection dropped without a close frame.
        code: u16,
        /// The close reason as sent (at most 123 bytes by RFC 6455).
        reason: String,
    },
}

/// Something the interview asks of the model.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelCommand {
    /// Ask the interviewer to begin: greet the candidate and ask the first question.
    Begin,
    /// Candidate speech for `realtimeInput.audio`: PCM16LE, mono, 16 000 Hz.
    Audio(Bytes),
    /// A typed answer for `realtimeInput.text`.
    Text(String),
    /// An instruction from the interview itself (for example "time is nearly up, wrap up"),
    /// sent as a `clientContent` user turn; never shown as the candidate's words.
    Instruct(String),
    /// Close the model connection: the interview is over.
    Close,
    /// `realtimeInput.activityStart`: the candidate started speaking. Only with automatic
    /// activity detection disabled (manual activity signals, gemini-live-protocol notes §3.2).
    ActivityStart,
    /// `realtimeInput.activityEnd`: the candidate stopped speaking; the model answers. Only
    /// with automatic activity detection disabled (§3.2).
    ActivityEnd,
    /// Answers to a [`ModelEvent::ToolCall`], sent as `toolResponse.functionResponses`
    /// (§3.4); each `id` must match a call's.
    ToolResponse(Vec<FunctionResponse>),
}

/// Why the model ended a turn: `serverContent.turnCompleteReason` (gemini-live-protocol
/// notes §4.1; the enum values are from the Python SDK's `TurnCompleteReason`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TurnCompleteReason {
    /// `TURN_COMPLETE_REASON_UNSPECIFIED`, or no reason sent.
    Unspecified,
    /// `NEED_MORE_INPUT`: the model waits for more input before it answers.
    NeedMoreInput,
    /// `MALFORMED_FUNCTION_CALL`: the model produced a function call it could not send.
    MalformedFunctionCall,
    /// `RESPONSE_REJECTED`: the model's response was rejected.
    ResponseRejected,
    /// `PROHIBITED_INPUT_CONTENT`: the input was refused by safety filters.
    ProhibitedInputContent,
    /// `GENERATED_AUDIO_SAFETY`: the generated audio was stopped by safety filters.
    GeneratedAudioSafety,
    /// Any other value, as sent.
    Other(String),
}

impl TurnCompleteReason {
    /// The reason for a wire value such as `"NEED_MORE_INPUT"`; unknown values are kept as
    /// [`TurnCompleteReason::Other`].
    ///
    /// ```
    /// use preppal_core::model::TurnCompleteReason;
    /// assert_eq!(TurnCompleteReason::from_wire("NEED_MORE_INPUT"), TurnCompleteReason::NeedMoreInput);
    /// assert_eq!(TurnCompleteReason::from_wire("NEW_ONE").as_wire(), "NEW_ONE");
    /// ```
    pub fn from_wire(value: &str) -> Self {
        match value {
            "" | "TURN_COMPLETE_REASON_UNSPECIFIED" => Self::Unspecified,
            "NEED_MORE_INPUT" => Self::NeedMoreInput,
            "MALFORMED_FUNCTION_CALL" => Self::MalformedFunctionCall,
            "RESPONSE_REJECTED" => Self::ResponseRejected,
            "PROHIBITED_INPUT_CONTENT" => Self::ProhibitedInputContent,
            "GENERATED_AUDIO_SAFETY" => Self::GeneratedAudioSafety,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire value (`"NEED_MORE_INPUT"`, ...).
    pub fn as_wire(&self) -> &str {
        match self {
            Self::Unspecified => "TURN_COMPLETE_REASON_UNSPECIFIED",
            Self::NeedMoreInput => "NEED_MORE_INPUT",
            Self::MalformedFunctionCall => "MALFORMED_FUNCTION_CALL",
            Self::ResponseRejected => "RESPONSE_REJECTED",
            Self::ProhibitedInputContent => "PROHIBITED_INPUT_CONTENT",
            Self::GeneratedAudioSafety => "GENERATED_AUDIO_SAFETY",
            Self::Other(s) => s,
        }
    }
}

/// One function call of a `toolCall` (§4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FunctionCall {
    /// `id`: to be echoed in the matching [`FunctionResponse`]; may be empty.
    pub id: String,
    /// `name`: the declared function's name.
    pub name: String,
    /// `args`: the arguments as a JSON object (`null` when absent).
    pub args: Value,
}

impl FunctionCall {
    /// A call of `name` with `id` and `args`.
    pub fn new(id: impl Into<String>, name: impl Into<String>, args: Value) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            args,
        }
    }
}

/// One answer of a `toolResponse` (§3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FunctionResponse {
    /// `id` of the [`FunctionCall`] answered.
    pub id: String,
    /// `name` of the function.
    pub name: String,
    /// `response`: a JSON object, such as `{"result": ...}` or `{"error": "..."}`.
    pub response: Value,
}

impl FunctionResponse {
    /// The answer to `call` with `response`.
    pub fn to(call: &FunctionCall, response: Value) -> Self {
        Self {
            id: call.id.clone(),
            name: call.name.clone(),
            response,
        }
    }
}

/// Token counts of one modality in `usageMetadata`'s `*TokensDetails` lists (§4.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ModalityTokenCount {
    /// `modality`: `TEXT`, `IMAGE`, `VIDEO`, `AUDIO` or `DOCUMENT`.
    #[serde(default)]
    pub modality: String,
    /// `tokenCount`.
    #[serde(default, deserialize_with = "int64")]
    pub token_count: Option<u64>,
}

/// Token counts of a server message's `usageMetadata` (gemini-live-protocol notes §4.5).
/// Counters are `None` when absent; int64 counters sent as JSON strings are read as numbers
/// (proto3 JSON, §2). Deserializes from the wire's lowerCamelCase or snake_case keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UsageMetadata {
    /// `promptTokenCount`.
    #[serde(default, alias = "prompt_token_count", deserialize_with = "int64")]
    pub prompt_token_count: Option<u64>,
    /// `cachedContentTokenCount`.
    #[serde(
        default,
        alias = "cached_content_token_count",
        deserialize_with = "int64"
    )]
    pub cached_content_token_count: Option<u64>,
    /// `responseTokenCount` (Gemini API) or `candidatesTokenCount` (Vertex).
    #[serde(
        default,
        alias = "candidatesTokenCount",
        alias = "response_token_count",
        deserialize_with = "int64"
    )]
    pub response_token_count: Option<u64>,
    /// `toolUsePromptTokenCount`.
    #[serde(
        default,
        alias = "tool_use_prompt_token_count",
        deserialize_with = "int64"
    )]
    pub tool_use_prompt_token_count: Option<u64>,
    /// `thoughtsTokenCount`.
    #[serde(default, alias = "thoughts_token_count", deserialize_with = "int64")]
    pub thoughts_token_count: Option<u64>,
    /// `totalTokenCount`.
    #[serde(default, alias = "total_token_count", deserialize_with = "int64")]
    pub total_token_count: Option<u64>,
    /// `promptTokensDetails`: prompt tokens per modality.
    #[serde(default, alias = "prompt_tokens_details")]
    pub prompt_tokens_details: Vec<ModalityTokenCount>,
    /// `responseTokensDetails` (or Vertex's `candidatesTokensDetails`): response tokens per
    /// modality.
    #[serde(
        default,
        alias = "candidatesTokensDetails",
        alias = "response_tokens_details"
    )]
    pub response_tokens_details: Vec<ModalityTokenCount>,
}

/// Reads an int64 counter sent as a JSON number or a JSON string (proto3 JSON, §2).
fn int64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrString {
        Num(u64),
        Str(String),
    }
    match Option::<NumOrString>::deserialize(d)? {
        None => Ok(None),
        Some(NumOrString::Num(n)) => Ok(Some(n)),
        Some(NumOrString::Str(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("invalid int64 counter {s:?}"))),
    }
}
