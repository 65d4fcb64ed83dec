//! The simulator's scripted faults: what can go wrong on a Gemini Live connection, on cue.
//!
//! Each fault reproduces a behaviour of the real service from the gemini-live-protocol
//! notes (section numbers below), so a client can be tested against it on loopback.

use std::time::Duration;

use serde_json::Value;

/// The close reason the real service sends when candidate audio arrives while a tool call
/// is unanswered (as observed, gemini-live-protocol notes §3.4, §6.2).
pub const OPERATION_ABORTED: &str = "The operation was aborted.";

/// The close reason the real service sends when a connection outlives its `goAway`
/// (as observed, gemini-live-protocol notes §4.3, §6.2).
pub const DEADLINE_EXPIRED: &str = "Deadline expired before operation could complete.";

/// When a [`ScriptedFault`] fires, on each connection it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultTrigger {
    /// Right after `setupComplete` (and the first `sessionResumptionUpdate`, if any).
    AfterSetup,
    /// While line `n` of the script is being generated (0 is the greeting and first
    /// question; the closing line is `questions`), right after its first audio message.
    DuringLine(usize),
    /// This long after the WebSocket connection was accepted.
    After(Duration),
    /// Right after line `n`'s `turnComplete` and the resumable handle that follows it.
    AfterLine(usize),
}

/// Something the simulator does wrong, or the way the real service does it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Close the connection with this code and reason (any code: 1000, 1007, 1008, 1011, ...).
    Close {
        /// The close code.
        code: u16,
        /// The close reason (truncated to 123 bytes by RFC 6455).
        reason: String,
    },
    /// Send `goAway` with this `timeLeft`, then nothing at all (no answers, no audio), then
    /// close with 1011 [`DEADLINE_EXPIRED`] when the time is up (§4.3: the server may go
    /// silent after `goAway`).
    GoAwayThenSilence {
        /// `goAway.timeLeft`.
        time_left: Duration,
    },
    /// Go silent for good with the socket open: no output, no `turnComplete`, input read and
    /// recorded but not answered (the silent stall).
    Stall,
    /// Cut the line being generated as the server does on barge-in: `interrupted: true`
    /// (with the next audio chunk in the same message when `audio_in_same_message`), then,
    /// when `late_audio`, one more audio message of the cut generation, then
    /// `turnComplete` (§4.1). Only meaningful with [`FaultTrigger::DuringLine`].
    Interrupt {
        /// Carry an audio part of the cut generation in the `interrupted` message itself.
        audio_in_same_message: bool,
        /// Send an audio message of the cut generation after `interrupted`.
        late_audio: bool,
    },
    /// Cut the line being generated with `interrupted: true` and **no** `turnComplete`
    /// after it (then, when `late_audio`, one more audio message of the cut generation), as
    /// the service sometimes does (fault kind 1 of the fault suite): the next line follows
    /// when the candidate's turn ends, with no `turnComplete` in between. Only meaningful
    /// with [`FaultTrigger::DuringLine`].
    InterruptWithoutTurnComplete {
        /// Send an audio message of the cut generation after `interrupted`.
        late_audio: bool,
    },
    /// Send `{"serverContent": {"inputTranscription": {"text": ...}}}`: a transcription of
    /// the candidate's speech. With [`FaultTrigger::DuringLine`] it arrives after the
    /// interviewer's reply began, as input transcription may on the service (it has no
    /// ordering guarantee, gemini-live-protocol notes §4.1).
    InputTranscription {
        /// The fragment, exactly as sent.
        text: String,
    },
    /// Send `goAway` with this `timeLeft` and go on as usual (answers, audio, handles);
    /// the connection is closed with 1011 [`DEADLINE_EXPIRED`] if it is still open when the
    /// time is up (gemini-live-protocol notes §4.3).
    GoAway {
        /// `goAway.timeLeft`.
        time_left: Duration,
    },
    /// Send a message that carries only `usageMetadata` (as 3.1 models do, §4.1).
    UsageOnly,
    /// Stop reading the socket for this long: control frames (pongs) and client messages
    /// wait, as with the 8–30 s pongs measured on the real service (§6.1).
    SlowPongs(Duration),
    /// Send `{"toolCall": {"functionCalls": [{"id", "name", "args"}]}}` (§4.2). Until a
    /// `toolResponse` with this `id` arrives (or the call is cancelled), candidate audio is
    /// answered with close 1008 [`OPERATION_ABORTED`], as on the real service (§3.4).
    ToolCall {
        /// `id` of the call.
        id: String,
        /// `name` of the function.
        name: String,
        /// `args`, a JSON object.
        args: Value,
    },
    /// Send `{"toolCallCancellation": {"ids": [...]}}` (§4.2); the calls need no answer any
    /// more.
    ToolCallCancellation {
        /// The cancelled calls' ids.
        ids: Vec<String>,
    },
    /// The next `turnComplete` carries `turnCompleteReason` (and `waitingForInput: true`
    /// when `waiting_for_input`), as newer models send (§4.1).
    TurnCompleteReason {
        /// The wire value, such as `"NEED_MORE_INPUT"`.
        reason: String,
        /// Send `waitingForInput: true` too.
        waiting_for_input: bool,
    },
}

/// One fault of a [`crate::simulator::SimulatorConfig`]: what, when, and on which connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScriptedFault {
    /// When it fires.
    pub trigger: FaultTrigger,
    /// What happens.
    pub fault: Fault,
    /// The accepted connection it applies to, from 0 in accept order; `None` for every
    /// connection. Default `Some(0)`: the first connection only.
    pub connection: Option<usize>,
}

impl ScriptedFault {
    /// `fault` at `trigger` on the first connection.
    pub fn new(trigger: FaultTrigger, fault: Fault) -> Self {
        Self {
            trigger,
            fault,
            connection: Some(0),
        }
    }

    /// Applies the fault to connection `index` (from 0, in accept order) instead.
    pub fn on_connection(mut self, index: usize) -> Self {
        self.connection = Some(index);
        self
    }

    /// Applies the fault to every connection.
    pub fn on_every_connection(mut self) -> Self {
        self.connection = None;
        self
    }

    pub(crate) fn applies_to(&self, connection: usize) -> bool {
        self.connection.is_none_or(|c| c == connection)
    }
}
