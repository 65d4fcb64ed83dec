//! What passes between an interview and its model (the Gemini Live API), in the core's
//! own terms. `preppal-gemini` turns these into wire messages and back; the session never
//! sees JSON.

use bytes::Bytes;

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
        /// connection was seeded from the local transcript instead.
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
}
