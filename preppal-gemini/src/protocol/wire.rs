//! The server messages as they arrive (§2, §4): serde structs where every field is optional
//! and unknown ones are ignored. Only the parser reads them.

use std::fmt;
use std::marker::PhantomData;

use preppal_core::UsageMetadata;
use serde::de::{SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireServerMessage<'a> {
    #[serde(default, alias = "setup_complete")]
    pub(super) setup_complete: Option<serde::de::IgnoredAny>,
    #[serde(default, alias = "server_content")]
    #[serde(borrow)]
    pub(super) server_content: Option<WireServerContent<'a>>,
    #[serde(default, alias = "go_away")]
    pub(super) go_away: Option<WireGoAway>,
    #[serde(default, alias = "usage_metadata")]
    pub(super) usage_metadata: Option<UsageMetadata>,
    #[serde(default, alias = "session_resumption_update")]
    pub(super) session_resumption_update: Option<WireResumptionUpdate>,
    #[serde(default, alias = "tool_call")]
    pub(super) tool_call: Option<WireToolCall>,
    #[serde(default, alias = "tool_call_cancellation")]
    pub(super) tool_call_cancellation: Option<WireToolCallCancellation>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireToolCall {
    #[serde(default, alias = "function_calls")]
    pub(super) function_calls: Option<Vec<WireFunctionCall>>,
}

#[derive(Deserialize, Default)]
pub(super) struct WireFunctionCall {
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) args: Option<Value>,
}

#[derive(Deserialize, Default)]
pub(super) struct WireToolCallCancellation {
    #[serde(default)]
    pub(super) ids: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireResumptionUpdate {
    #[serde(default, alias = "new_handle")]
    pub(super) new_handle: Option<String>,
    #[serde(default)]
    pub(super) resumable: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireServerContent<'a> {
    #[serde(default, borrow, alias = "model_turn")]
    pub(super) model_turn: Option<WireContent<'a>>,
    #[serde(default, alias = "input_transcription")]
    pub(super) input_transcription: Option<WireTranscription>,
    #[serde(default, alias = "output_transcription")]
    pub(super) output_transcription: Option<WireTranscription>,
    #[serde(default, alias = "generation_complete")]
    pub(super) generation_complete: Option<bool>,
    #[serde(default, alias = "turn_complete")]
    pub(super) turn_complete: Option<bool>,
    #[serde(default)]
    pub(super) interrupted: Option<bool>,
    #[serde(default, alias = "turn_complete_reason")]
    pub(super) turn_complete_reason: Option<String>,
    #[serde(default, alias = "waiting_for_input")]
    pub(super) waiting_for_input: Option<bool>,
}

#[derive(Deserialize, Default)]
pub(super) struct WireContent<'a> {
    #[serde(default, borrow)]
    pub(super) parts: Option<WireParts<'a>>,
}

/// `modelTurn.parts`, in order. The first part (the only one of most audio frames) is kept
/// in place, so a frame with one part allocates no list; later parts go to `rest`.
#[derive(Default)]
pub(super) struct WireParts<'a> {
    first: Option<WirePart<'a>>,
    rest: Vec<WirePart<'a>>,
}

impl<'a> WireParts<'a> {
    /// The parts in the order they came.
    pub(super) fn in_order(self) -> impl Iterator<Item = WirePart<'a>> {
        self.first.into_iter().chain(self.rest)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for WireParts<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PartsVisitor<'a>(PhantomData<WireParts<'a>>);

        impl<'de: 'a, 'a> Visitor<'de> for PartsVisitor<'a> {
            type Value = WireParts<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of parts")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut parts = WireParts::default();
                while let Some(part) = seq.next_element::<WirePart<'a>>()? {
                    if parts.first.is_none() {
                        parts.first = Some(part);
                    } else {
                        parts.rest.push(part);
                    }
                }
                Ok(parts)
            }
        }

        deserializer.deserialize_seq(PartsVisitor(PhantomData))
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct WirePart<'a> {
    #[serde(default)]
    pub(super) text: Option<String>,
    #[serde(default)]
    pub(super) thought: Option<bool>,
    #[serde(default, borrow, alias = "inline_data")]
    pub(super) inline_data: Option<WireBlob<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
/// The audio's base64 text is borrowed from the frame, not copied, unless it holds JSON
/// escapes (the allocation bench counts this).
pub(super) struct WireBlob<'a> {
    #[serde(default, borrow, alias = "mime_type")]
    pub(super) mime_type: Option<BorrowedStr<'a>>,
    #[serde(default, borrow)]
    pub(super) data: Option<BorrowedStr<'a>>,
}

/// A string borrowed from the frame when it has no escapes. A newtype because serde borrows
/// a `Cow<str>` field only when the field's type is exactly `Cow<str>`, not `Option<Cow<str>>`.
#[derive(Deserialize)]
pub(super) struct BorrowedStr<'a>(#[serde(borrow)] pub(super) std::borrow::Cow<'a, str>);

#[derive(Deserialize, Default)]
pub(super) struct WireTranscription {
    #[serde(default)]
    pub(super) text: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireGoAway {
    #[serde(default, alias = "time_left")]
    pub(super) time_left: Option<Value>,
}
