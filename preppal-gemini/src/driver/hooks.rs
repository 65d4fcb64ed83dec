//! What a host adds around the driver: admission of the candidate's messages (rate limits),
//! notes for logs and metrics, outside signals (shutdown, a lost lease), and what becomes of
//! a client connection the driver lets go. The driver decides nothing here; the session
//! decides, the hooks only watch and gate.

use std::time::{Duration, Instant};

use preppal_core::codec::{ClientMessage, DecodeError};
use preppal_core::SessionEvent;

use super::model_link::Retry;
use crate::error::LiveError;

/// Whether a candidate message goes on to the session ([`DriverHooks::admit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Admission {
    /// The session gets it.
    Accept,
    /// Dropped without a word (the candidate was told already, for example at the start of
    /// a flood).
    Drop,
    /// Dropped, and the candidate is sent an `ErrorResponse` with this code (HTTP-like:
    /// 429 for a flood) and message.
    Refuse {
        /// The `ErrorResponse` code.
        code: i32,
        /// The `ErrorResponse` message, shown to the candidate.
        message: String,
    },
}

/// Which way a relayed frame went, for [`DriverNote::Relayed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayDirection {
    /// Candidate audio, on its way to the model.
    ClientToModel,
    /// Interviewer audio, on its way to the candidate.
    ModelToClient,
}

/// Why the driver counts the candidate's client as lost ([`DriverNote::ClientLost`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientLost {
    /// Its stream ended (closed by the client, or failed).
    Closed,
    /// A write to it failed.
    SendFailed,
    /// Its outgoing queue passed [`super::CLIENT_QUEUE_BYTES`]: it does not read.
    QueueFull,
    /// A write made no progress for the client write timeout
    /// ([`super::CLIENT_WRITE_TIMEOUT`] by default): it does not read.
    WriteStalled,
    /// Nothing came from it for the session's client-silence limit
    /// ([`preppal_core::SessionConfig::client_silence_limit`]).
    Silent,
}

impl ClientLost {
    /// A short phrase for logs: "connection lost", "send failed", …
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "connection lost",
            Self::SendFailed => "send failed",
            Self::QueueFull => "not reading (queue full)",
            Self::WriteStalled => "not reading (write timed out)",
            Self::Silent => "silent past the limit",
        }
    }
}

/// Why the driver lets a client connection go without running the interview on it
/// ([`DriverHooks::dismiss`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dismissal {
    /// A rejoin while a client is attached: the first one stays.
    AlreadyConnected,
    /// A rejoin after the interview ended (or while it ends).
    InterviewEnded,
    /// The attached client, which the session took as gone: nothing came from it for the
    /// client-silence limit.
    Silent,
}

/// A signal from outside the interview, from the stream given to
/// [`super::InterviewDriver::with_signals`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signal {
    /// The host shuts down: the session ends the interview with what was kept
    /// ([`preppal_core::InterviewSession::handle_shutdown`]).
    Shutdown,
    /// Another owner runs the interview now (a lost lease): the driver stops relaying and
    /// ends without finishing the interview; what was queued for storage is still handed on.
    Abandon,
}

/// Something the driver did or saw, for logs and metrics ([`DriverHooks::note`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum DriverNote<'a> {
    /// A candidate audio frame was queued for the model.
    FrameToModel,
    /// A candidate audio frame was dropped: the model's outbox holds
    /// [`super::MODEL_QUEUE`] commands.
    ModelQueueFull,
    /// An interviewer audio frame was queued for the candidate.
    FrameToClient,
    /// A frame was relayed: `latency` from its arrival to its hand-over to the other side's
    /// queue.
    Relayed {
        /// Which way.
        direction: RelayDirection,
        /// Arrival to hand-over.
        latency: Duration,
    },
    /// The model's first audio of the interview arrived, `after` the driver started.
    FirstModelAudio {
        /// Since the driver started.
        after: Duration,
    },
    /// A candidate frame did not decode (or was not binary); the candidate was sent an
    /// `ErrorResponse` (413 for a too-large message, 400 otherwise).
    ClientRefused(&'a DecodeError),
    /// A candidate message was refused by [`DriverHooks::admit`] with this code.
    ClientThrottled {
        /// The `ErrorResponse` code sent.
        code: i32,
    },
    /// A client connection was attached (a rejoin; the first client is noted too).
    ClientAttached,
    /// The client counts as lost; the [`super::ClientLoss`] policy applies.
    ClientLost {
        /// Why.
        why: ClientLost,
        /// Bytes that were waiting for it, not sent.
        queued_bytes: usize,
    },
    /// The driver started connecting the model (the session asked for it).
    ModelConnecting,
    /// The model's first connection failed and is tried again.
    ModelRetrying(&'a Retry),
    /// The model's first connection was made.
    ModelConnected,
    /// The model's first connection failed for good; the session was told (`Closed` with
    /// this code and reason).
    ModelConnectFailed {
        /// The close code the failure maps to ([`LiveError::close_parts`]).
        code: u16,
        /// The reason.
        reason: &'a str,
    },
    /// A command could not be sent to the model (the connection goes on).
    ModelSendFailed(&'a LiveError),
    /// A write to the model made no progress for [`super::MODEL_WRITE_TIMEOUT`]: the
    /// connection was given up and the session told (`Closed`,
    /// [`super::WRITE_TIMEOUT_CLOSE_CODE`]).
    ModelWriteTimedOut,
    /// A model frame did not parse (the connection goes on).
    ModelFrameRefused(&'a LiveError),
    /// The model connection moves to a new one (`goAway`, a retryable close, a stall).
    Reconnecting {
        /// Why.
        reason: &'a str,
    },
    /// The model connection was replaced.
    Resumed {
        /// Whether the new connection resumed with a `sessionResumption` handle.
        with_handle: bool,
    },
    /// A storage action failed (the interview goes on).
    PersistFailed(&'a str),
    /// Storage did not take what was left within the driver's persist wait.
    PersistTimedOut {
        /// Actions not handed on.
        left: usize,
    },
    /// [`Signal::Shutdown`] arrived: the interview is being finished.
    Shutdown,
    /// An event of the session ([`preppal_core::InterviewSession::poll_event`]).
    Session(&'a SessionEvent),
}

/// A host's additions around [`super::InterviewDriver`]: every method has a default, so a
/// host overrides only what it needs. `C` is the client connection type.
pub trait DriverHooks<C> {
    /// Whether `msg`, a decoded candidate message arriving at `now`, goes on to the
    /// session. The default accepts everything.
    fn admit(&mut self, msg: &ClientMessage, now: Instant) -> Admission {
        let _ = (msg, now);
        Admission::Accept
    }

    /// Something the driver did or saw, as it happened (a hook that needs the time reads
    /// the clock: most notes, one per relayed frame, need none). The default logs it with
    /// `tracing` (debug for the ordinary, warn for failures).
    fn note(&mut self, note: DriverNote<'_>) {
        log_note(&note);
    }

    /// A client connection the driver lets go. The default drops it, which closes it
    /// without a word; a host may send the candidate a reason first.
    fn dismiss(&mut self, client: C, why: Dismissal) {
        let _ = why;
        drop(client);
    }
}

/// The default hooks: accept everything, log notes with `tracing`, drop dismissed clients.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingHooks;

impl<C> DriverHooks<C> for TracingHooks {}

/// How [`TracingHooks`] logs a note.
pub fn log_note(note: &DriverNote<'_>) {
    match note {
        DriverNote::FrameToModel | DriverNote::FrameToClient | DriverNote::Relayed { .. } => {}
        DriverNote::ModelSendFailed(e) | DriverNote::ModelFrameRefused(e) => {
            tracing::warn!(error = %e, "model frame not relayed");
        }
        DriverNote::PersistFailed(e) => tracing::warn!(error = %e, "storage action failed"),
        DriverNote::ModelConnectFailed { code, reason } => {
            tracing::warn!(code, reason, "model connection failed");
        }
        DriverNote::ModelWriteTimedOut | DriverNote::PersistTimedOut { .. } => {
            tracing::warn!(?note, "driver gave up waiting");
        }
        other => tracing::debug!(note = ?other, "driver"),
    }
}
