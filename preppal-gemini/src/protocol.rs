//! The Gemini Live wire protocol, with no I/O: client messages out as JSON strings, server
//! frames in as [`ModelEvent`](preppal_core::ModelEvent) values.
//!
//! Facts come from the gemini-live-protocol notes (section numbers in the docs below):
//! every message is one JSON object; client messages are sent as Text frames in
//! lowerCamelCase; server frames arrive as Text or Binary frames of UTF-8 JSON, often
//! pretty-printed; all fields are optional and unknown ones are ignored (§2).
//!
//! By concept: `encode.rs` writes the client messages, `parse.rs` reads the server frames
//! into events, `wire.rs` holds the serde shapes of the server messages.

mod encode;
mod parse;
mod wire;

pub use encode::{encode_command, history_message, setup_message, tool_response_message};
pub use parse::{
    decode_base64, parse_duration_ms, parse_server_frame, parse_server_message, parse_server_text,
    ServerFrame,
};
pub use preppal_core::UsageMetadata;

/// MIME type of candidate audio sent in `realtimeInput.audio`: PCM16LE, mono, 16 000 Hz (§3.2, §5).
pub const INPUT_AUDIO_MIME: &str = "audio/pcm;rate=16000";

/// MIME type of model audio in `inlineData`: PCM16LE, mono, 24 000 Hz (§5).
pub const OUTPUT_AUDIO_MIME: &str = "audio/pcm;rate=24000";

/// The user turn sent for [`ModelCommand::Begin`](preppal_core::ModelCommand::Begin).
pub const BEGIN_PROMPT: &str = "The candidate has joined. Please start the interview now: greet \
     the candidate briefly and ask your first question.";
