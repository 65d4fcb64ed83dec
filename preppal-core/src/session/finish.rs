//! Finishing turns into transcript entries, and finishing the interview.

use std::time::Instant;

use super::{to_client, EndReason, InterviewSession, PersistAction, SessionEvent, State, ToClient};
use crate::model::ModelCommand;
use crate::proto;
use crate::status::InterviewStatus;
use crate::transcript::{Speaker, TranscriptEntry};

impl InterviewSession {
    pub(super) fn finish_turn(&mut self, speaker: Speaker, turn_complete: bool) {
        self.apply_audio_clock(speaker);
        let Some(mut entry) = self.transcript.finalize(speaker).cloned() else {
            return;
        };
        if speaker == Speaker::Ai {
            // A barge-in cut it (noted by `apply_audio_clock` just now): the stored entry
            // says so, with what was heard.
            let cut = self
                .interviewer_cuts
                .iter()
                .rev()
                .find(|c| c.sequence == entry.sequence);
            if let Some(cut) = cut {
                let heard = Some(cut.heard_text.clone());
                if let Some(e) = self.transcript.set_interrupted(entry.sequence, heard) {
                    entry = e.clone();
                }
            }
        }
        if speaker == Speaker::User {
            self.close_answer_tally(entry.sequence);
            self.turns.candidate_entry_ended(entry.sequence);
        }
        self.to_client
            .push_back(to_client(ToClient::TranscriptUpdate(
                proto::TranscriptUpdate {
                    speaker: speaker.as_str().to_owned(),
                    text: entry.text.clone(),
                    is_final: true,
                    turn_complete,
                    start_ms: entry.start_ms,
                    sequence: 0,
                    audio_offset_ms: 0,
                },
            )));
        self.events.push_back(SessionEvent::TurnEnded {
            speaker,
            sequence: entry.sequence,
        });
        self.push_entry(entry);
    }

    pub(super) fn push_entry(&mut self, entry: TranscriptEntry) {
        if let Some(PersistAction::Transcript(batch)) = self.persist.back_mut() {
            batch.push(entry);
        } else {
            self.persist
                .push_back(PersistAction::Transcript(vec![entry]));
        }
    }

    pub(super) fn push_transcript_update(
        &mut self,
        speaker: Speaker,
        text: String,
        is_final: bool,
        turn_complete: bool,
    ) {
        let start_ms = self.transcript.open_start_ms(speaker).unwrap_or_default();
        let audio_offset_ms = match speaker {
            Speaker::Ai => self.playback.offset_ms(),
            Speaker::User => 0,
        };
        self.to_client
            .push_back(to_client(ToClient::TranscriptUpdate(
                proto::TranscriptUpdate {
                    speaker: speaker.as_str().to_owned(),
                    text,
                    is_final,
                    turn_complete,
                    start_ms,
                    sequence: 0,
                    audio_offset_ms,
                },
            )));
    }

    pub(super) fn end(&mut self, reason: EndReason, _now: Instant) {
        let was_started = matches!(self.state, State::InProgress { .. });
        let mut speakers = [Speaker::Ai, Speaker::User];
        speakers.sort_by_key(|s| self.transcript.open_start_ms(*s).unwrap_or(u64::MAX));
        for s in speakers {
            self.finish_turn(s, false);
        }
        let resumed = self.resumed_elapsed.is_some();
        let status = if (was_started || resumed) && !self.transcript.entries().is_empty() {
            InterviewStatus::Completed
        } else {
            InterviewStatus::Error
        };
        self.timers = [None; 5];
        self.turns.stop();
        self.trailing.stop();
        self.to_model.push_back(ModelCommand::Close);
        if let Some(kind) = reason.error_kind() {
            self.to_client
                .push_back(to_client(ToClient::ErrorResponse(proto::ErrorResponse {
                    code: 502,
                    message: kind.sentence().to_owned(),
                    kind: kind.to_proto() as i32,
                })));
        }
        self.to_client
            .push_back(to_client(ToClient::SessionEnded(proto::SessionEnded {
                reason: reason.to_proto() as i32,
            })));
        if !self.answer_audio.is_empty() {
            self.persist
                .push_back(PersistAction::AnswerAudio(self.answer_audio.clone()));
        }
        if !self.interviewer_cuts.is_empty() {
            self.persist.push_back(PersistAction::InterviewerCuts(
                self.interviewer_cuts.clone(),
            ));
        }
        self.persist.push_back(PersistAction::Finish {
            status,
            reason: reason.clone(),
        });
        self.events.push_back(SessionEvent::Ended {
            reason: reason.clone(),
            status,
        });
        self.state = State::Ended { status, reason };
    }
}
