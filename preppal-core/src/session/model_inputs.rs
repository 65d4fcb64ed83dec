//! Inputs from the model: audio, transcription, turn boundaries, `goAway`, tool calls and
//! the close of its connection.

use std::time::Instant;

use super::{
    text_limits, to_client, EndReason, InterviewSession, SessionError, SessionEvent, State,
    ToClient,
};
use crate::model::{FunctionResponse, ModelCommand, ModelEvent};
use crate::proto;
use crate::transcript::Speaker;

impl InterviewSession {
    /// An event from the model.
    ///
    /// # Errors
    /// [`SessionError::Ended`] after the interview ended (late model output is normal
    /// then and can be ignored).
    pub fn handle_model(&mut self, event: ModelEvent, now: Instant) -> Result<(), SessionError> {
        self.check_live()?;
        if let ModelEvent::Closed { code, reason } = event {
            self.end(EndReason::ModelClosed { code, reason }, now);
            return Ok(());
        }
        if matches!(self.state, State::Pending) {
            if event == ModelEvent::SetupComplete {
                self.start(now);
            }
            return Ok(());
        }
        let at = self.elapsed_ms(now);
        match event {
            ModelEvent::Audio(audio) => {
                if self.turns.dropping() {
                    self.dropped_audio_bytes += audio.len() as u64;
                } else {
                    self.turns.model_output();
                    self.trailing.stop();
                    self.model_output_started();
                    self.interviewer_audio(audio.len(), now);
                    self.to_client.push_back(to_client(ToClient::AudioResponse(
                        proto::AudioResponse {
                            audio_content: audio,
                        },
                    )));
                }
            }
            ModelEvent::OutputTranscription(fragment) if !self.turns.dropping() => {
                self.turns.model_output();
                self.model_output_started();
                let fragment = text_limits::store_safe(fragment);
                self.transcript.mark_activity(Speaker::Ai, at);
                let so_far = self.transcript.open_text(Speaker::Ai).unwrap_or_default();
                let text = self.turns.output_text(so_far, &fragment);
                if !text.is_empty() {
                    if self.admit_text(Speaker::Ai, text.len()).is_err() {
                        self.drop_model_text(text.len());
                        return Ok(());
                    }
                    self.transcript.append(Speaker::Ai, &text, at);
                    let len = self.transcript.open_text(Speaker::Ai).map_or(0, str::len);
                    self.playback.fragment(len);
                    self.push_transcript_update(Speaker::Ai, text, false, false);
                }
            }
            ModelEvent::InputTranscription(fragment) => {
                let fragment = text_limits::store_safe(fragment);
                if self.admit_text(Speaker::User, fragment.len()).is_err() {
                    self.drop_model_text(fragment.len());
                    return Ok(());
                }
                self.candidate_transcription(fragment, at);
            }
            ModelEvent::Interrupted => {
                if self.transcript.is_open(Speaker::User) {
                    self.answer_tally.barged_in = true;
                }
                self.interviewer_cut(now);
                self.finish_model_turn(false);
                self.turns.close_amendable();
                self.turns.interrupted();
                self.turns.turn_boundary(&self.config, now, true);
                self.to_client
                    .push_back(to_client(ToClient::Interrupted(proto::Interrupted {})));
                self.events.push_back(SessionEvent::Interrupted);
            }
            ModelEvent::TurnComplete => {
                self.turns.cut_over();
                self.turns.close_amendable();
                self.finish_model_turn(true);
                self.turns.turn_boundary(&self.config, now, false);
            }
            ModelEvent::ResumptionUpdate { handle, resumable } => {
                self.resumption_update(&handle, resumable);
            }
            ModelEvent::GoAway { time_left_ms } => {
                self.events.push_back(SessionEvent::GoAway { time_left_ms });
            }
            // The interview declares no functions, so any call is refused at once: the
            // server expects an answer before more candidate audio (§3.4).
            ModelEvent::ToolCall(calls) => {
                let responses = calls
                    .iter()
                    .map(|call| {
                        FunctionResponse::to(
                            call,
                            serde_json::json!({ "error": format!("no function named {:?}", call.name) }),
                        )
                    })
                    .collect();
                self.to_model
                    .push_back(ModelCommand::ToolResponse(responses));
            }
            // SetupComplete again (a resumed connection), text parts, generationComplete,
            // a turn's reason, tool call cancellations, usage and transcription of an
            // interrupted turn change nothing here.
            _ => {}
        }
        Ok(())
    }

    /// Model output arrived. If it starts a new model turn, the candidate's turn (if any)
    /// is over. Output that continues a model turn the candidate is talking over does not
    /// end the candidate's turn: that would cut one answer into a turn per audio frame.
    pub(super) fn model_output_started(&mut self) {
        if self.transcript.is_open(Speaker::User) && !self.transcript.is_open(Speaker::Ai) {
            self.finish_turn(Speaker::User, false);
        }
    }
}
