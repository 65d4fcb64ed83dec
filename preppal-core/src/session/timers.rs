//! The session's timers: setup deadline, wrap-up prompt, time limit, reconnect grace and
//! open-turn checkpoint, and the start of the interview that arms them.

use std::time::Instant;

use super::{to_client, EndReason, InterviewSession, PersistAction, SessionEvent, State, ToClient};
use crate::codec::ClientMessage;
use crate::model::ModelCommand;
use crate::proto;
use crate::status::InterviewStatus;

/// Instruction sent to the model when the time limit is near.
pub const WRAP_UP_INSTRUCTION: &str = "Time is nearly up. Thank the candidate warmly and close \
     the interview in one or two sentences; do not ask another question.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    Setup = 0,
    WrapUp = 1,
    MaxDuration = 2,
    Grace = 3,
    Checkpoint = 4,
}

impl Timer {
    pub(super) const ALL: [Self; 5] = [
        Self::Setup,
        Self::WrapUp,
        Self::MaxDuration,
        Self::Grace,
        Self::Checkpoint,
    ];
}

impl InterviewSession {
    /// Fires every timer that is due at `now`: the setup deadline (ends the interview with
    /// [`EndReason::SetupTimeout`]), the wrap-up prompt, and the time limit
    /// ([`EndReason::TimeLimit`]), the end of the reconnect grace period
    /// ([`EndReason::ClientGone`]) and the open-turn checkpoint
    /// ([`PersistAction::OpenTurns`]). Calling it early does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in Timer::ALL {
            let slot = &mut self.timers[timer as usize];
            if slot.is_some_and(|at| at <= now) {
                *slot = None;
                match timer {
                    Timer::Setup => self.end(EndReason::SetupTimeout, now),
                    Timer::WrapUp => {
                        self.turns.cut_over();
                        self.to_model
                            .push_back(ModelCommand::Instruct(WRAP_UP_INSTRUCTION.to_owned()));
                        self.events.push_back(SessionEvent::WrapUp);
                    }
                    Timer::MaxDuration => self.end(EndReason::TimeLimit, now),
                    Timer::Grace => self.end(EndReason::ClientGone, now),
                    Timer::Checkpoint => self.checkpoint(now),
                }
            }
        }
        if !self.is_ended() {
            self.fire_client_silence(now);
            self.no_output_watchdog(now);
            if let Some(silence) = self.trailing.fire(&self.config, now) {
                self.to_model.push_back(silence);
            }
        }
    }

    pub(super) fn start(&mut self, now: Instant) {
        let arrived = now;
        let resumed = self.resumed_elapsed.take();
        let started_at = resumed.and_then(|e| now.checked_sub(e)).unwrap_or(now);
        self.state = State::InProgress { started_at };
        self.arm_client_silence(now);
        let now = started_at;
        self.timers[Timer::Setup as usize] = None;
        self.timers[Timer::MaxDuration as usize] = Some(now + self.config.max_duration);
        if !self.config.wrap_up_before.is_zero()
            && self.config.wrap_up_before < self.config.max_duration
        {
            self.timers[Timer::WrapUp as usize] =
                Some(now + (self.config.max_duration - self.config.wrap_up_before));
        }
        if !self.config.checkpoint_interval.is_zero() {
            self.timers[Timer::Checkpoint as usize] = Some(now + self.config.checkpoint_interval);
        }
        self.persist
            .push_back(PersistAction::Status(InterviewStatus::InProgress));
        if resumed.is_some() {
            // The model was seeded with the conversation so far: no greeting.
            let at = started_at + resumed.unwrap_or_default();
            self.push_session_resumed(at);
        } else {
            self.to_model.push_back(ModelCommand::Begin);
            self.to_client
                .push_back(to_client(ToClient::SessionStarted(proto::SessionStarted {
                    interview_id: self.interview_id.clone(),
                    max_duration_ms: self.max_duration_ms(),
                })));
        }
        self.events.push_back(SessionEvent::Started);
        // What the candidate typed before the start is their first answer.
        for text in std::mem::take(&mut self.early_texts) {
            let _ = self.handle_client(ClientMessage::Text(text), arrived);
        }
    }

    pub(super) fn max_duration_ms(&self) -> u64 {
        u64::try_from(self.config.max_duration.as_millis()).unwrap_or(u64::MAX)
    }

    /// Offers the open turns for storage when they changed since the last offer, and
    /// re-arms the checkpoint timer.
    pub(super) fn checkpoint(&mut self, now: Instant) {
        if !matches!(self.state, State::InProgress { .. }) {
            return;
        }
        if !self.config.checkpoint_interval.is_zero() {
            self.timers[Timer::Checkpoint as usize] = Some(now + self.config.checkpoint_interval);
        }
        let open = self.transcript.open_entries();
        if !open.is_empty() && open != self.last_checkpoint {
            self.persist
                .push_back(PersistAction::OpenTurns(open.clone()));
        }
        self.last_checkpoint = open;
    }
}
