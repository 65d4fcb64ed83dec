//! What the session gives back: storage actions, events, the end reason, refusals, and
//! the `poll_*` methods that hand out the outputs.

use std::time::Instant;

use super::{InterviewSession, InterviewerCut, ModelErrorKind, TextLimit};
use crate::metrics::AnswerAudio;
use crate::model::ModelCommand;
use crate::proto::{self, ServerToClientMessage};
use crate::status::InterviewStatus;
use crate::transcript::{Speaker, TranscriptEntry};

/// Why an interview ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// The candidate sent `EndRequest`.
    UserEnded,
    /// The time limit passed.
    TimeLimit,
    /// The model closed the conversation (its close code and reason).
    ModelClosed {
        /// WebSocket close code.
        code: u16,
        /// Close reason as sent.
        reason: String,
    },
    /// The model did not complete its setup in time.
    SetupTimeout,
    /// The candidate's client went away (and did not come back within the grace period).
    ClientGone,
    /// The server shut down and finished the interview with what was kept.
    ServerShutdown,
}

impl EndReason {
    /// A stable machine name: `user_ended`, `time_limit`, `model_closed`, `setup_timeout`,
    /// `client_gone`, `server_shutdown`. Stored as the interview's `ended_reason`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::UserEnded => "user_ended",
            Self::TimeLimit => "time_limit",
            Self::ModelClosed { .. } => "model_closed",
            Self::SetupTimeout => "setup_timeout",
            Self::ClientGone => "client_gone",
            Self::ServerShutdown => "server_shutdown",
        }
    }

    /// Why the model failed, when it did: the kind of a [`EndReason::ModelClosed`] that
    /// was not a normal close ([`ModelErrorKind::from_close`]), or
    /// [`ModelErrorKind::Timeout`] for [`EndReason::SetupTimeout`]. Stored as the
    /// interview's `error_kind` and sent to the candidate in `ErrorResponse.kind`.
    pub fn error_kind(&self) -> Option<ModelErrorKind> {
        match self {
            Self::ModelClosed { code, reason } => ModelErrorKind::from_close(*code, reason),
            Self::SetupTimeout => Some(ModelErrorKind::Timeout),
            _ => None,
        }
    }

    /// The reason as the browser protocol's `SessionEnded.Reason`.
    pub fn to_proto(&self) -> proto::session_ended::Reason {
        use proto::session_ended::Reason;
        match self {
            Self::UserEnded | Self::ClientGone => Reason::UserEnded,
            Self::TimeLimit => Reason::Timeout,
            Self::ModelClosed { code: 1000, .. } => Reason::ModelEnded,
            Self::ModelClosed { .. } | Self::SetupTimeout => Reason::Error,
            Self::ServerShutdown => Reason::ServerShutdown,
        }
    }
}

/// Something worth logging or counting that happened in the session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The model is ready; the interview is IN_PROGRESS.
    Started,
    /// A transcript entry was finished.
    TurnEnded {
        /// Who spoke.
        speaker: Speaker,
        /// The entry's sequence number.
        sequence: u32,
    },
    /// The candidate barged in and the model's turn was cut.
    Interrupted,
    /// The model was asked to wrap up because the time limit is near.
    WrapUp,
    /// The model said nothing after an interruption or an empty turn and was re-prompted
    /// ([`REPROMPT_INSTRUCTION`](super::REPROMPT_INSTRUCTION)).
    Reprompted,
    /// The model announced it will close the connection in `time_left_ms` ms (`goAway`).
    GoAway {
        /// `timeLeft` in ms.
        time_left_ms: u64,
    },
    /// Nothing was heard from the attached client for
    /// [`SessionConfig::client_silence_limit`]: it is taken as gone (a `ClientDetached`
    /// follows). The driver drops the client's connection.
    ClientSilent {
        /// The limit that passed, in ms.
        silent_ms: u64,
    },
    /// The candidate's client went away; the interview waits for it for the grace period.
    ClientDetached,
    /// The candidate's client came back (or came for the first time to a resumed
    /// interview) and was sent the transcript so far.
    ClientAttached,
    /// The interview ended. Emitted exactly once.
    Ended {
        /// Why.
        reason: EndReason,
        /// The final status: COMPLETED when anything was said, ERROR otherwise.
        status: InterviewStatus,
    },
}

/// Something to write to the store (directly, or through the worker API).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PersistAction {
    /// Move the interview to `status` (only ever IN_PROGRESS; the end is [`PersistAction::Finish`]).
    Status(InterviewStatus),
    /// Append these finished entries (idempotent by sequence number).
    Transcript(Vec<TranscriptEntry>),
    /// The turns still open, as provisional entries numbered as they will be when they
    /// finish (see [`crate::Transcript::open_entries`]). Stored so that a long turn
    /// survives a crash; the finished entry under the same sequence later replaces it (its
    /// text extends the provisional one). Not part of the interview's record until then.
    OpenTurns(Vec<TranscriptEntry>),
    /// What was measured on the audio of each spoken answer, for the delivery metrics
    /// (`metrics::compute`). Sent once, just before [`PersistAction::Finish`], and only
    /// when some answer had audio.
    AnswerAudio(Vec<AnswerAudio>),
    /// The interviewer turns the candidate cut short by speaking, with how much of each
    /// played and what part of its text was heard (see [`InterviewerCut`]), for the
    /// feedback's metrics. Sent once, just before [`PersistAction::Finish`], and only when
    /// some turn was cut.
    InterviewerCuts(Vec<InterviewerCut>),
    /// A new session resumption handle of the model's connection (`sessionResumptionUpdate`,
    /// resumable), to keep with the interview so that another process can resume the
    /// model's conversation. Offered only when it changed.
    ResumptionHandle(String),
    /// The interview is over: the caller writes feedback (for COMPLETED) from
    /// [`InterviewSession::transcript`], then moves the interview to `status` with `reason`.
    /// Always the last action, after every transcript entry.
    Finish {
        /// COMPLETED or ERROR.
        status: InterviewStatus,
        /// Why the interview ended.
        reason: EndReason,
    },
}

/// A call the session refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The interview has already ended; the input was ignored. Not a fault of the peer
    /// as such: late messages after the end are normal and can be dropped.
    #[error("the interview has ended")]
    Ended,
    /// A typed answer was refused because it would break a size limit; the candidate was
    /// sent an `ErrorResponse` (413) saying which.
    #[error(transparent)]
    TextLimit(#[from] TextLimit),
}

impl InterviewSession {
    /// The next command for the model. Poll after every `handle_*` call.
    #[must_use]
    pub fn poll_to_model(&mut self) -> Option<ModelCommand> {
        self.to_model.pop_front()
    }

    /// The next message for the candidate's client. Poll after every `handle_*` call.
    /// Always `None` while no client is attached (those messages are dropped: the client
    /// gets the transcript so far when it attaches).
    #[must_use]
    pub fn poll_to_client(&mut self) -> Option<ServerToClientMessage> {
        if !self.client_attached {
            self.to_client.clear();
            return None;
        }
        self.to_client.pop_front()
    }

    /// The next storage action, in the order they must be applied. Consecutive transcript
    /// appends are merged into one batch. Poll after every `handle_*` call.
    #[must_use]
    pub fn poll_persist(&mut self) -> Option<PersistAction> {
        self.persist.pop_front()
    }

    /// The next event for logs and metrics. Poll after every `handle_*` call.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// When [`InterviewSession::handle_timeout`] must next be called; `None` when no timer is armed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ended = self.is_ended();
        let watchdog = self.turns.deadline().filter(|_| !ended);
        let trailing = self.trailing.deadline().filter(|_| !ended);
        self.timers
            .iter()
            .flatten()
            .copied()
            .chain(watchdog)
            .chain(trailing)
            .chain(self.client_silence_deadline())
            .min()
    }
}
