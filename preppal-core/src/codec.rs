//! Encoding and decoding at the edge: protobuf bytes in, typed values out.
//!
//! Every decoder checks size first, then structure, and returns a [`DecodeError`] that says
//! which; nothing here panics on any input.

use bytes::Bytes;
use prost::Message;

use crate::proto::{self, client_to_server_message, ClientToServerMessage, ServerToClientMessage};

/// Largest browser message accepted, in bytes (64 KiB: 2 s of 16 kHz PCM16LE audio).
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 64 * 1024;
/// Largest worker API body accepted, in bytes (4 MiB: a long transcript in one batch).
pub const MAX_WORKER_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// Largest typed answer accepted, in bytes.
pub const MAX_TEXT_INPUT_BYTES: usize = 8 * 1024;

/// Why bytes could not be turned into a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The message is larger than the limit for its channel.
    #[error("message of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Size of the message, in bytes.
        len: usize,
        /// The limit, in bytes.
        max: usize,
    },
    /// The bytes are not a valid protobuf encoding of the expected message.
    #[error("malformed protobuf: {0}")]
    Malformed(String),
    /// The message decoded but carries none of the cases its `oneof` defines
    /// (empty, or a case from a newer or different schema).
    #[error("message carries no known case")]
    Empty,
    /// PCM16LE audio must hold whole samples: an even number of bytes.
    #[error("audio of {0} bytes is not whole 16-bit samples")]
    OddAudioLength(usize),
    /// A typed answer was longer than [`MAX_TEXT_INPUT_BYTES`].
    #[error("text input of {0} bytes is too long")]
    TextTooLong(usize),
}

impl From<prost::DecodeError> for DecodeError {
    fn from(e: prost::DecodeError) -> Self {
        Self::Malformed(e.to_string())
    }
}

/// A validated message from the candidate's client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientMessage {
    /// Candidate audio: PCM16LE, mono, 16 000 Hz, an even number of bytes.
    Audio(Bytes),
    /// A typed answer.
    Text(String),
    /// The candidate ends the interview.
    End,
    /// What the client played of the interviewer's current turn (`PlaybackReport`).
    Playback(PlaybackReport),
}

/// What the client's player did with the interviewer's current turn: `played_ms` ms of
/// its 24 000 Hz audio were played, then playback drained or (`cut_by_barge_in`) was cut
/// because the candidate spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlaybackReport {
    /// Milliseconds of the turn's audio played.
    pub played_ms: u32,
    /// Playback was cut by the candidate's barge-in.
    pub cut_by_barge_in: bool,
}

impl PlaybackReport {
    /// A report of `played_ms` ms played, cut by a barge-in when `cut_by_barge_in`.
    pub fn new(played_ms: u32, cut_by_barge_in: bool) -> Self {
        Self {
            played_ms,
            cut_by_barge_in,
        }
    }
}

/// Decodes one browser WebSocket frame.
///
/// # Errors
/// [`DecodeError::TooLarge`] above [`MAX_CLIENT_MESSAGE_BYTES`], [`DecodeError::Malformed`]
/// for bad protobuf, [`DecodeError::Empty`] when no case is set,
/// [`DecodeError::OddAudioLength`] and [`DecodeError::TextTooLong`] for bad payloads.
/// A typed answer's NUL characters are replaced by U+FFFD
/// ([`crate::session::text_limits::store_safe`]), so that every store can keep it.
pub fn decode_client(buf: Bytes) -> Result<ClientMessage, DecodeError> {
    check_len(buf.len(), MAX_CLIENT_MESSAGE_BYTES)?;
    let msg = ClientToServerMessage::decode(buf)?;
    match msg.message.ok_or(DecodeError::Empty)? {
        client_to_server_message::Message::AudioChunk(a) => {
            if a.audio_content.len() % 2 != 0 {
                return Err(DecodeError::OddAudioLength(a.audio_content.len()));
            }
            Ok(ClientMessage::Audio(a.audio_content))
        }
        client_to_server_message::Message::TextInput(t) => {
            if t.text.len() > MAX_TEXT_INPUT_BYTES {
                return Err(DecodeError::TextTooLong(t.text.len()));
            }
            // NUL is the one character no store keeps (PostgreSQL refuses it in text):
            // replaced here, at the edge, so the answer is never lost when it is stored.
            Ok(ClientMessage::Text(
                crate::session::text_limits::store_safe(t.text),
            ))
        }
        client_to_server_message::Message::EndRequest(_) => Ok(ClientMessage::End),
        client_to_server_message::Message::PlaybackReport(r) => Ok(ClientMessage::Playback(
            PlaybackReport::new(r.played_ms, r.cut_by_barge_in),
        )),
    }
}

/// Encodes a client message (what a client sends; used by the command-line client and tests).
pub fn encode_client(msg: &ClientMessage) -> Bytes {
    use client_to_server_message::Message as M;
    let message = match msg {
        ClientMessage::Audio(a) => M::AudioChunk(proto::AudioChunk {
            audio_content: a.clone(),
        }),
        ClientMessage::Text(t) => M::TextInput(proto::TextInput { text: t.clone() }),
        ClientMessage::End => M::EndRequest(proto::EndRequest {}),
        ClientMessage::Playback(r) => M::PlaybackReport(proto::PlaybackReport {
            played_ms: r.played_ms,
            cut_by_barge_in: r.cut_by_barge_in,
        }),
    };
    ClientToServerMessage {
        message: Some(message),
    }
    .encode_to_vec()
    .into()
}

/// Encodes a message for the candidate's client.
pub fn encode_server(msg: &ServerToClientMessage) -> Bytes {
    msg.encode_to_vec().into()
}

/// Decodes a message from the worker (what a client receives).
///
/// # Errors
/// [`DecodeError::Malformed`] for bad protobuf, [`DecodeError::Empty`] when no case is set.
pub fn decode_server(buf: Bytes) -> Result<proto::server_to_client_message::Message, DecodeError> {
    ServerToClientMessage::decode(buf)?
        .message
        .ok_or(DecodeError::Empty)
}

/// Decodes a worker API request body.
///
/// # Errors
/// [`DecodeError::TooLarge`] above [`MAX_WORKER_MESSAGE_BYTES`], [`DecodeError::Malformed`],
/// [`DecodeError::Empty`].
pub fn decode_worker_request(
    buf: Bytes,
) -> Result<proto::worker_api_request::Request, DecodeError> {
    check_len(buf.len(), MAX_WORKER_MESSAGE_BYTES)?;
    proto::WorkerApiRequest::decode(buf)?
        .request
        .ok_or(DecodeError::Empty)
}

/// Decodes a worker API response body.
///
/// # Errors
/// As [`decode_worker_request`].
pub fn decode_worker_response(
    buf: Bytes,
) -> Result<proto::worker_api_response::Response, DecodeError> {
    check_len(buf.len(), MAX_WORKER_MESSAGE_BYTES)?;
    proto::WorkerApiResponse::decode(buf)?
        .response
        .ok_or(DecodeError::Empty)
}

/// Encodes a worker API request.
pub fn encode_worker_request(req: proto::worker_api_request::Request) -> Bytes {
    proto::WorkerApiRequest { request: Some(req) }
        .encode_to_vec()
        .into()
}

/// Encodes a worker API response.
pub fn encode_worker_response(resp: proto::worker_api_response::Response) -> Bytes {
    proto::WorkerApiResponse {
        response: Some(resp),
    }
    .encode_to_vec()
    .into()
}

fn check_len(len: usize, max: usize) -> Result<(), DecodeError> {
    if len > max {
        Err(DecodeError::TooLarge { len, max })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_round_trip() {
        for m in [
            ClientMessage::Audio(Bytes::from_static(&[1, 0, 2, 0])),
            ClientMessage::Text("I led the migration.".into()),
            ClientMessage::End,
            ClientMessage::Playback(PlaybackReport::new(11_700, true)),
        ] {
            assert_eq!(decode_client(encode_client(&m)), Ok(m));
        }
    }

    #[test]
    fn bad_client_input_is_typed() {
        assert!(matches!(
            decode_client(Bytes::from_static(&[0xff, 0xff, 0xff])),
            Err(DecodeError::Malformed(_))
        ));
        assert_eq!(decode_client(Bytes::new()), Err(DecodeError::Empty));
        assert_eq!(
            decode_client(encode_client(&ClientMessage::Audio(Bytes::from_static(&[
                1, 2, 3
            ])))),
            Err(DecodeError::OddAudioLength(3))
        );
        let big = Bytes::from(vec![0u8; MAX_CLIENT_MESSAGE_BYTES + 1]);
        assert_eq!(
            decode_client(big),
            Err(DecodeError::TooLarge {
                len: MAX_CLIENT_MESSAGE_BYTES + 1,
                max: MAX_CLIENT_MESSAGE_BYTES
            })
        );
        let long = ClientMessage::Text("x".repeat(MAX_TEXT_INPUT_BYTES + 1));
        assert_eq!(
            decode_client(encode_client(&long)),
            Err(DecodeError::TextTooLong(MAX_TEXT_INPUT_BYTES + 1))
        );
        // A server message sent the wrong way decodes to an unknown field set: no case.
        let wrong_dir = encode_server(&ServerToClientMessage {
            message: Some(proto::server_to_client_message::Message::Interrupted(
                proto::Interrupted {},
            )),
        });
        assert_eq!(decode_client(wrong_dir), Err(DecodeError::Empty));
    }

    #[test]
    fn nul_in_a_typed_answer_is_replaced_at_decode_time() {
        let m = ClientMessage::Text("I led\0 it".into());
        assert_eq!(
            decode_client(encode_client(&m)),
            Ok(ClientMessage::Text("I led\u{FFFD} it".into()))
        );
    }

    #[test]
    fn worker_messages_round_trip() {
        let req = proto::worker_api_request::Request::GetContext(proto::GetContextRequest {
            interview_id: "abc".into(),
        });
        assert_eq!(
            decode_worker_request(encode_worker_request(req.clone())),
            Ok(req)
        );
        assert_eq!(decode_worker_request(Bytes::new()), Err(DecodeError::Empty));
    }
}
