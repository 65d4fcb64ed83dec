//! What the client sends after `setup`: `realtimeInput` (audio, with the simulator's
//! voice activity detection and its [`super::Hearing`]; text; activity signals),
//! `clientContent` and `toolResponse`.

use serde_json::{json, Value};

use super::{field, is_wrap_up, mime_rate, top_key, Connection, Message, Step};
use crate::protocol::decode_base64;
use crate::simulator::{
    Vad, VadEvent, INVALID_ARGUMENT, MEDIA_CHUNKS_DEPRECATED, OPERATION_ABORTED,
};

impl Connection {
    pub(super) async fn on_message(
        &mut self,
        message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Step {
        let Some(value) = self.read_json(message).await? else {
            return Ok(());
        };
        if self.silent {
            return Ok(());
        }
        match top_key(&value) {
            Some("realtimeInput" | "realtime_input") => {
                let input = value
                    .as_object()
                    .and_then(|o| o.values().next())
                    .cloned()
                    .unwrap_or(Value::Null);
                self.on_realtime_input(&input).await
            }
            Some("clientContent" | "client_content") => {
                let content = value
                    .as_object()
                    .and_then(|o| o.values().next())
                    .cloned()
                    .unwrap_or(Value::Null);
                self.on_client_content(&content).await
            }
            Some("toolResponse" | "tool_response") => {
                let answered: Vec<&str> = value
                    .as_object()
                    .and_then(|o| o.values().next())
                    .and_then(|r| field(r, "functionResponses", "function_responses"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.get("id").and_then(Value::as_str))
                    .collect();
                self.pending_tool_calls
                    .retain(|id| !answered.contains(&id.as_str()));
                Ok(())
            }
            // `setup` again, several top-level keys, or an unknown message.
            _ => self.close(1007, INVALID_ARGUMENT).await,
        }
    }

    pub(super) async fn on_realtime_input(&mut self, input: &Value) -> Step {
        if field(input, "mediaChunks", "media_chunks").is_some() {
            return self.close(1007, MEDIA_CHUNKS_DEPRECATED).await;
        }
        if input.get("audio").is_some() && !self.pending_tool_calls.is_empty() {
            return self.close(1008, OPERATION_ABORTED).await;
        }
        if let Some(audio) = input.get("audio") {
            let data = audio.get("data").and_then(Value::as_str).unwrap_or("");
            let Ok(pcm) = decode_base64(data) else {
                return self.close(1007, INVALID_ARGUMENT).await;
            };
            let rate = mime_rate(field(audio, "mimeType", "mime_type").and_then(Value::as_str));
            if rate != self.vad.sample_rate_hz() {
                self.vad = Vad::new(rate, self.silence_duration_ms);
            }
            // About 25 tokens per second of audio (§4.5).
            self.prompt_tokens += (pcm.len() as u64 / 2) * 25 / u64::from(rate);
            // With manual activity the client's signals, not the audio, mark the turns.
            let events = if self.manual_activity {
                Vec::new()
            } else {
                self.vad.push_pcm16le(&pcm)
            };
            for event in events {
                match event {
                    VadEvent::SpeechStarted => {
                        self.hearing.start_turn();
                        if self.speaking.is_some() && !self.no_interruption {
                            self.barge_in().await?;
                        }
                    }
                    VadEvent::TurnEnded => self.spoken_turn_ended().await?,
                }
            }
            if self.manual_activity && self.in_activity {
                self.hearing.start_turn();
            }
            let ms = (pcm.len() as u64 / 2) * 1_000 / u64::from(rate);
            for fragment in self.hearing.heard(ms) {
                self.send_input_transcription(fragment).await?;
            }
        }
        let activity_start = field(input, "activityStart", "activity_start").is_some();
        let activity_end = field(input, "activityEnd", "activity_end").is_some();
        if (activity_start || activity_end) && !self.manual_activity {
            // Activity signals only with automatic activity detection disabled (§3.2).
            return self.close(1007, INVALID_ARGUMENT).await;
        }
        if activity_start {
            self.in_activity = true;
            self.hearing.start_turn();
            if self.speaking.is_some() && !self.no_interruption {
                self.barge_in().await?;
            }
        }
        if activity_end && std::mem::take(&mut self.in_activity) {
            self.spoken_turn_ended().await?;
        }
        if let Some(text) = input.get("text").and_then(Value::as_str) {
            self.prompt_tokens += (text.len() / 4) as u64;
            if self.speaking.is_some() {
                self.barge_in().await?;
            }
            self.typed_answer_ended(text).await?;
        }
        if field(input, "audioStreamEnd", "audio_stream_end").and_then(Value::as_bool) == Some(true)
            && !self.manual_activity
            && self.vad.stream_end() == Some(VadEvent::TurnEnded)
        {
            self.spoken_turn_ended().await?;
        }
        Ok(())
    }

    /// Sends one `inputTranscription` fragment, when the setup asked for them.
    pub(super) async fn send_input_transcription(&mut self, text: String) -> Step {
        if !self.input_transcription {
            return Ok(());
        }
        self.send(&json!({ "serverContent": { "inputTranscription": { "text": text } } }))
            .await
    }

    /// A spoken candidate turn ended: the transcript words still owed, the reply, and the
    /// late words after the reply's first audio message ([`Hearing::end_turn`]).
    pub(super) async fn spoken_turn_ended(&mut self) -> Step {
        let (now, late) = self.hearing.end_turn();
        for fragment in now {
            self.send_input_transcription(fragment).await?;
        }
        self.candidate_turn_ended().await?;
        if late.is_empty() || !self.input_transcription {
            return Ok(());
        }
        let messages = late
            .into_iter()
            .map(|text| json!({ "serverContent": { "inputTranscription": { "text": text } } }));
        match self.speaking.as_mut() {
            Some(s) => {
                let at = s.queue.front().map(|(at, _)| *at).unwrap_or_default();
                let first = s.queue.len().min(1);
                for (i, message) in messages.enumerate() {
                    s.queue.insert(first + i, (at, message));
                }
            }
            None => {
                for message in messages {
                    self.send(&message).await?;
                }
            }
        }
        Ok(())
    }

    pub(super) async fn on_client_content(&mut self, content: &Value) -> Step {
        let turn_complete =
            field(content, "turnComplete", "turn_complete").and_then(Value::as_bool) == Some(true);
        // A seeded history: the interviewer's earlier lines count as asked.
        let model_turns = content
            .get("turns")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|t| t.get("role").and_then(Value::as_str) == Some("model"))
            .count();
        let user_turns = content
            .get("turns")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|t| t.get("role").and_then(Value::as_str) == Some("user"))
            .count();
        if model_turns > 0 {
            // A seeded conversation: the candidate's turns in it were heard already.
            self.hearing.turn = self.hearing.turn.max(user_turns);
            self.started = true;
            self.asked = self.asked.max(model_turns.min(self.script.lines.len()));
        }
        if !turn_complete {
            return Ok(());
        }
        let text: String = content
            .get("turns")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("parts").and_then(Value::as_array))
            .flatten()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n");
        self.prompt_tokens += (text.len() / 4) as u64;
        // clientContent interrupts any current generation (§3.3).
        if self.speaking.is_some() {
            self.barge_in().await?;
        }
        if self.started && is_wrap_up(&text) {
            if !self.finishing {
                self.finishing = true;
                let closing = self.script.closing.clone();
                self.speak_line(self.script.lines.len(), closing, true)
                    .await?;
            }
            return Ok(());
        }
        self.candidate_turn_ended().await
    }
}
