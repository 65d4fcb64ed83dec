//! What the task driving an interview asks the session instead of deciding itself: when to
//! connect the model and what to seed it with, when a silent client counts as gone, how
//! much of a stored interview has already passed, and when a resumption handle is worth
//! keeping. Each is an input, a timer or an output of [`InterviewSession`], so the fake
//! clock of the unit tests covers it.
//!
//! ```text
//! driver                                 session
//! wants_model()? ── yes ──► connect ──► handle_model_connecting(now)
//!                           (model_seed(): the stored entries, for a resumed interview)
//! any frame from the client (message, pong) ──► handle_client_heard(now)
//! poll_timeout() includes the client-silence deadline; at it handle_timeout(now) emits
//!   SessionEvent::ClientSilent then ClientDetached: the driver drops the socket
//! model ResumptionUpdate { resumable: true } ──► PersistAction::ResumptionHandle (when new)
//! ```

use std::time::{Duration, Instant};

use super::{InterviewSession, PersistAction, SessionConfig, SessionEvent, State};
use crate::transcript::TranscriptEntry;

/// The shortest time limit an interview is given ([`SessionConfig::for_interview_length_ms`]):
/// 60 s. A stored length under it (zero, or a typo) would end the interview before the
/// greeting is over.
pub const MIN_INTERVIEW_LENGTH: Duration = Duration::from_secs(60);

/// The driver's share of the session's state: whether the model was asked for, the
/// client-silence deadline and the last resumption handle offered for storage.
#[derive(Debug, Clone, Default)]
pub(super) struct DriverInputs {
    /// Set by [`InterviewSession::handle_model_connecting`].
    model_asked: bool,
    /// When the attached client counts as gone unless something is heard from it first.
    silence_deadline: Option<Instant>,
    /// The last handle offered in [`PersistAction::ResumptionHandle`].
    saved_handle: Option<String>,
}

impl SessionConfig {
    /// Settings for an interview whose stored length is `length_ms` milliseconds, raised to
    /// [`MIN_INTERVIEW_LENGTH`] when shorter; the defaults for the rest (see
    /// [`SessionConfig::new`]).
    pub fn for_interview_length_ms(length_ms: u64) -> Self {
        Self::new(Duration::from_millis(length_ms).max(MIN_INTERVIEW_LENGTH))
    }

    /// Sets [`SessionConfig::client_silence_limit`] (zero turns the check off).
    pub fn with_client_silence_limit(mut self, d: Duration) -> Self {
        self.client_silence_limit = d;
        self
    }
}

/// The time already spent in a stored interview, in ms: the wall time since it started
/// (`started_at_unix_ms`, 0 when unknown) or, when longer (a clock that went back, no start
/// stored), the end of the latest stored entry.
fn stored_elapsed_ms(
    entries: &[TranscriptEntry],
    started_at_unix_ms: u64,
    now_unix_ms: u64,
) -> u64 {
    let wall = if started_at_unix_ms > 0 {
        now_unix_ms.saturating_sub(started_at_unix_ms)
    } else {
        0
    };
    let spoken = entries.iter().map(|e| e.end_ms).max().unwrap_or(0);
    wall.max(spoken)
}

impl InterviewSession {
    /// An interview that was IN_PROGRESS in the store, resumed from its stored `entries`
    /// ([`InterviewSession::resume`]). The time already spent is the wall time since its
    /// stored start (`started_at_unix_ms`, ms since the Unix epoch, 0 when not stored) up to
    /// `now_unix_ms`, or the end of the latest stored entry when that is later: the time
    /// limit counts it as spent.
    pub fn resume_stored(
        interview_id: impl Into<String>,
        config: SessionConfig,
        entries: Vec<TranscriptEntry>,
        started_at_unix_ms: u64,
        now_unix_ms: u64,
        now: Instant,
    ) -> Self {
        let elapsed = stored_elapsed_ms(&entries, started_at_unix_ms, now_unix_ms);
        Self::resume(
            interview_id,
            config,
            entries,
            Duration::from_millis(elapsed),
            now,
        )
    }

    /// Whether the driver should start connecting the model now: a client is attached (an
    /// interview picked up with nobody connected waits for one, or for its grace period to
    /// pass), the model is not ready yet, the interview has not ended, and no connection
    /// was asked for ([`InterviewSession::handle_model_connecting`]).
    #[must_use]
    pub fn wants_model(&self) -> bool {
        !self.inputs.model_asked && self.client_attached && matches!(self.state, State::Pending)
    }

    /// What to seed a new model connection with: the stored entries of a resumed interview
    /// ([`InterviewSession::resume`]); `None` for a new one (the model greets the
    /// candidate).
    #[must_use]
    pub fn model_seed(&self) -> Option<&[TranscriptEntry]> {
        self.resumed_elapsed
            .is_some()
            .then(|| self.transcript.entries())
    }

    /// The driver started connecting the model (after [`InterviewSession::wants_model`]):
    /// it is not asked for again. The setup deadline keeps running; the model's
    /// `SetupComplete` (from the connection's own event stream) starts the interview.
    pub fn handle_model_connecting(&mut self, _now: Instant) {
        self.inputs.model_asked = true;
    }

    /// Something arrived from the candidate's client at `now` (a message or a pong): the
    /// client-silence deadline moves to `now` + [`SessionConfig::client_silence_limit`].
    /// Does nothing when no client is attached or the interview has ended.
    pub fn handle_client_heard(&mut self, now: Instant) {
        if self.client_attached && !self.is_ended() {
            self.arm_client_silence(now);
        }
    }

    /// (Re)starts the client-silence deadline at `now` (off when the limit is zero).
    pub(super) fn arm_client_silence(&mut self, now: Instant) {
        let limit = self.config.client_silence_limit;
        self.inputs.silence_deadline = (!limit.is_zero()).then(|| now + limit);
    }

    /// The client-silence deadline, when it counts: an attached client of an interview in
    /// progress (before the model is ready the driver does not read the client, so its
    /// silence is not the candidate's).
    pub(super) fn client_silence_deadline(&self) -> Option<Instant> {
        if !self.client_attached || !matches!(self.state, State::InProgress { .. }) {
            return None;
        }
        self.inputs.silence_deadline
    }

    /// Fires the client-silence deadline when due at `now`: [`SessionEvent::ClientSilent`],
    /// then the client is detached ([`InterviewSession::handle_client_detached`]).
    pub(super) fn fire_client_silence(&mut self, now: Instant) {
        let Some(at) = self.client_silence_deadline() else {
            return;
        };
        if at > now {
            return;
        }
        self.inputs.silence_deadline = None;
        let silent_ms = self.config.client_silence_limit.as_millis();
        self.events.push_back(SessionEvent::ClientSilent {
            silent_ms: u64::try_from(silent_ms).unwrap_or(u64::MAX),
        });
        self.handle_client_detached(now);
    }

    /// A `sessionResumptionUpdate`: a resumable, non-empty handle that differs from the
    /// last one offered is offered for storage ([`PersistAction::ResumptionHandle`]).
    pub(super) fn resumption_update(&mut self, handle: &str, resumable: bool) {
        if !resumable || handle.is_empty() || self.inputs.saved_handle.as_deref() == Some(handle) {
            return;
        }
        self.inputs.saved_handle = Some(handle.to_owned());
        self.persist
            .push_back(PersistAction::ResumptionHandle(handle.to_owned()));
    }
}
