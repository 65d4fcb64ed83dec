//! The model-turn rules the session alone applies, for the fault kinds seen on the real
//! service (gemini-live-protocol notes §4.1, §10.2):
//!
//! - **The cut generation.** After `interrupted`, the audio and transcription still
//!   arriving belong to the generation that was cut and are dropped, but only until that
//!   generation is over: at `turnComplete`, or once the candidate's audio shows the
//!   barge-in is over ([`SessionConfig::cut_generation_silence`] of silence on the audio's
//!   own timeline), or once the session asks for a new turn (a typed answer, an
//!   instruction). A new model turn is heard whether or not `turnComplete` came first.
//! - **Late candidate transcription.** Input transcription has no ordering guarantee: a
//!   fragment that arrives after the candidate's turn ended (the interviewer's reply began)
//!   and before that reply is complete still belongs to that candidate entry. The entry is
//!   amended under its own sequence: stored again (the store extends it in place) and sent
//!   as a `TranscriptUpdate` carrying its `sequence`.
//! - **"[Silence]" replies.** A model turn whose only text is `[Silence]` (2.5 native
//!   audio, §10.2) is not shown and not stored.
//! - **No-output watchdog.** After `interrupted`, and after a `turnComplete` with nothing
//!   said, the model may say nothing at all (§10.2). When no model output comes within
//!   [`SessionConfig::no_output_timeout`] of the candidate's last speech, the model is
//!   re-prompted once ([`REPROMPT_INSTRUCTION`]); when that brings nothing either, the
//!   candidate is told.

use std::time::{Duration, Instant};

use super::SessionConfig;
use crate::model::ModelCommand;
use crate::proto::{self, server_to_client_message::Message as ToClient};
use crate::transcript::Speaker;
use crate::SessionEvent;

/// Instruction sent to the model when it has said nothing for
/// [`SessionConfig::no_output_timeout`] after an interruption or an empty turn.
pub const REPROMPT_INSTRUCTION: &str = "Please continue the interview: respond briefly to \
     what the candidate just said, then ask your next question.";

/// What a silence-only reply says (2.5 native audio, gemini-live-protocol notes §10.2).
pub const SILENCE_REPLY: &str = "[Silence]";

/// What the watchdog wants done when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Watchdog {
    /// Send [`REPROMPT_INSTRUCTION`].
    Reprompt,
    /// The re-prompt brought nothing: tell the candidate.
    TellCandidate,
}

/// The state behind the rules of the [module docs](self).
#[derive(Debug, Clone, Default)]
pub(super) struct ModelTurnRules {
    /// `Some` between `interrupted` and the end of the cut generation: samples of candidate
    /// silence since the last speech frame.
    cut_silence_samples: Option<u64>,
    /// The candidate entry a late transcription fragment amends.
    amendable: Option<u32>,
    /// Output transcription of the open model turn held back while it could still be
    /// [`SILENCE_REPLY`].
    held_text: String,
    /// Whether the open model turn said anything (audio or text).
    turn_had_output: bool,
    /// When the no-output watchdog fires.
    deadline: Option<Instant>,
    /// Whether the model was already re-prompted since its last output.
    reprompted: bool,
}

impl ModelTurnRules {
    // ---- the cut generation --------------------------------------------------------

    /// `interrupted`: drop model output until the cut generation is over.
    pub(super) fn interrupted(&mut self) {
        self.cut_silence_samples = Some(0);
    }

    /// Whether model output is being dropped (it belongs to the cut generation).
    pub(super) fn dropping(&self) -> bool {
        self.cut_silence_samples.is_some()
    }

    /// The cut generation is over (`turnComplete`, or the session asked for a new turn).
    pub(super) fn cut_over(&mut self) {
        self.cut_silence_samples = None;
    }

    /// A candidate audio frame of `samples` samples, speech or not. Enough silence after
    /// the barge-in ends the cut generation: its late output would have come by now, and
    /// what follows answers the candidate.
    pub(super) fn candidate_audio(&mut self, config: &SessionConfig, samples: u64, speech: bool) {
        if let Some(silent) = self.cut_silence_samples.as_mut() {
            *silent = if speech { 0 } else { *silent + samples };
            let enough = u64::from(config.input_sample_rate_hz)
                * u64::try_from(config.cut_generation_silence.as_millis()).unwrap_or(u64::MAX)
                / 1000;
            if *silent >= enough {
                self.cut_silence_samples = None;
            }
        }
    }

    // ---- late candidate transcription ----------------------------------------------

    /// The candidate's entry `sequence` ended: late fragments amend it.
    pub(super) fn candidate_entry_ended(&mut self, sequence: u32) {
        self.amendable = Some(sequence);
    }

    /// The entry a late candidate fragment belongs to, if one is still amendable.
    pub(super) fn amendable(&self) -> Option<u32> {
        self.amendable
    }

    /// The interviewer's reply is complete: candidate transcription from now on starts a
    /// new turn.
    pub(super) fn close_amendable(&mut self) {
        self.amendable = None;
    }

    // ---- "[Silence]" replies ---------------------------------------------------------

    /// An output transcription fragment of the open model turn. Returns the text to show
    /// and keep now (empty while it could still be [`SILENCE_REPLY`]).
    pub(super) fn output_text(&mut self, turn_text_so_far: &str, fragment: &str) -> String {
        if turn_text_so_far.is_empty() {
            self.held_text.push_str(fragment);
            if SILENCE_REPLY.starts_with(self.held_text.trim()) {
                return String::new();
            }
            return std::mem::take(&mut self.held_text);
        }
        fragment.to_owned()
    }

    /// The open model turn ends: whether it said only [`SILENCE_REPLY`] (then it is
    /// dropped), and otherwise the held text still to keep.
    pub(super) fn model_turn_ends(&mut self) -> (bool, String) {
        let held = std::mem::take(&mut self.held_text);
        if held.trim() == SILENCE_REPLY {
            (true, String::new())
        } else {
            (false, held)
        }
    }

    // ---- the no-output watchdog ------------------------------------------------------

    /// Model output: the model is talking; the watchdog stands down.
    pub(super) fn model_output(&mut self) {
        self.turn_had_output = true;
        self.deadline = None;
        self.reprompted = false;
    }

    /// `interrupted`, or a `turnComplete` (`said_something` tells whether the turn had
    /// output): arms the watchdog when the model may owe a turn.
    pub(super) fn turn_boundary(
        &mut self,
        config: &SessionConfig,
        now: Instant,
        interrupted: bool,
    ) {
        let said_something = std::mem::take(&mut self.turn_had_output);
        if (interrupted || !said_something) && !config.no_output_timeout.is_zero() {
            self.deadline = Some(now + config.no_output_timeout);
        } else if !interrupted {
            self.deadline = None;
        }
    }

    /// Candidate speech: the model waits for the candidate to finish; the watchdog counts
    /// from the candidate's last speech.
    pub(super) fn candidate_speech(&mut self, config: &SessionConfig, now: Instant) {
        if self.deadline.is_some() {
            self.deadline = Some(now + config.no_output_timeout);
        }
    }

    /// When the watchdog fires, if armed.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The watchdog is due at `now`: what to do. Re-arms it once for the re-prompt.
    pub(super) fn fire(&mut self, config: &SessionConfig, now: Instant) -> Option<Watchdog> {
        if self.deadline.is_none_or(|at| at > now) {
            return None;
        }
        if self.reprompted {
            self.deadline = None;
            Some(Watchdog::TellCandidate)
        } else {
            self.reprompted = true;
            self.deadline = Some(now + config.no_output_timeout);
            Some(Watchdog::Reprompt)
        }
    }

    /// The turn that ends said nothing worth keeping (only [`SILENCE_REPLY`]).
    pub(super) fn forget_output(&mut self) {
        self.turn_had_output = false;
    }

    /// The interview ended: nothing more to watch.
    pub(super) fn stop(&mut self) {
        self.deadline = None;
    }
}

/// Default [`SessionConfig::cut_generation_silence`]: 300 ms.
pub(super) const DEFAULT_CUT_GENERATION_SILENCE: Duration = Duration::from_millis(300);

/// Default [`SessionConfig::no_output_timeout`]: 8 s.
pub(super) const DEFAULT_NO_OUTPUT_TIMEOUT: Duration = Duration::from_secs(8);

impl super::InterviewSession {
    /// Ends the open model turn: a turn that said only [`SILENCE_REPLY`] is dropped (not
    /// shown, not stored, and counts as saying nothing); otherwise the held text is kept
    /// and the turn finished as [`super::InterviewSession`] always did.
    pub(super) fn finish_model_turn(&mut self, turn_complete: bool) {
        let (silence_only, held) = self.turns.model_turn_ends();
        let text_so_far = self.transcript.open_text(Speaker::Ai).unwrap_or_default();
        if silence_only && text_so_far.is_empty() {
            self.transcript.discard_open(Speaker::Ai);
            self.turns.forget_output();
            return;
        }
        if !held.is_empty() {
            let at = self.transcript.open_end_ms(Speaker::Ai).unwrap_or_default();
            self.transcript.append(Speaker::Ai, &held, at);
        }
        self.finish_turn(Speaker::Ai, turn_complete);
    }

    /// A candidate transcription fragment arriving at `at` ms: it completes the candidate
    /// entry still amendable (its transcription arrived after the interviewer's reply
    /// began), else extends the candidate's open turn.
    pub(super) fn candidate_transcription(&mut self, fragment: String, at: u64) {
        match self.turns.amendable() {
            Some(sequence) if !self.transcript.is_open(Speaker::User) => {
                self.amend_candidate_entry(sequence, fragment);
            }
            _ => {
                self.transcript.append(Speaker::User, &fragment, at);
                self.push_transcript_update(Speaker::User, fragment, false, false);
            }
        }
    }

    /// A late candidate transcription fragment: appended to the finished entry `sequence`,
    /// which is stored again under its sequence (the store extends it in place) and sent to
    /// the client as a `TranscriptUpdate` carrying that sequence.
    pub(super) fn amend_candidate_entry(&mut self, sequence: u32, fragment: String) {
        let Some(entry) = self.transcript.amend(sequence, &fragment).cloned() else {
            return;
        };
        self.to_client
            .push_back(super::to_client(ToClient::TranscriptUpdate(
                proto::TranscriptUpdate {
                    speaker: Speaker::User.as_str().to_owned(),
                    text: fragment,
                    is_final: false,
                    turn_complete: false,
                    start_ms: entry.start_ms,
                    sequence,
                    audio_offset_ms: 0,
                },
            )));
        self.push_entry(entry);
    }

    /// Fires the no-output watchdog when it is due: re-prompts the model once, then tells
    /// the candidate.
    pub(super) fn no_output_watchdog(&mut self, now: Instant) {
        match self.turns.fire(&self.config, now) {
            Some(Watchdog::Reprompt) => {
                self.turns.cut_over();
                self.to_model
                    .push_back(ModelCommand::Instruct(REPROMPT_INSTRUCTION.to_owned()));
                self.events.push_back(SessionEvent::Reprompted);
            }
            Some(Watchdog::TellCandidate) => {
                self.to_client
                    .push_back(super::to_client(ToClient::ErrorResponse(
                        proto::ErrorResponse {
                            code: 504,
                            message: NOT_ANSWERING.to_owned(),
                            kind: proto::ErrorKind::Service as i32,
                        },
                    )));
            }
            None => {}
        }
    }
}

/// What the candidate is told when the model said nothing even after a re-prompt.
pub const NOT_ANSWERING: &str = "The interviewer is not answering. You can keep talking, \
     type an answer, or end the interview.";
