//! The interviewer's lines: the next line after a candidate turn, its audio and
//! transcription messages, playback timing, `turnComplete`, and barge-in.

use std::collections::VecDeque;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::{speech, transcription_fragments, Connection, Speaking, Step, CHUNK_BYTES};
use crate::protocol::OUTPUT_AUDIO_MIME;
use crate::simulator::FaultTrigger;

impl Connection {
    /// A candidate turn (or the kickoff) ended: say the next line.
    pub(super) async fn candidate_turn_ended(&mut self) -> Step {
        if self.finishing {
            return Ok(());
        }
        if self.no_interruption && self.speaking.is_some() {
            self.reply_owed = true;
            return Ok(());
        }
        self.started = true;
        if let Some(line) = self.script.lines.get(self.asked).cloned() {
            self.asked += 1;
            self.speak_line(self.asked - 1, line, false).await
        } else {
            self.finishing = true;
            let closing = self.script.closing.clone();
            self.speak_line(self.script.lines.len(), closing, true)
                .await
        }
    }

    /// Prepares the messages of line `index` of the script and starts the turn.
    pub(super) async fn speak_line(&mut self, index: usize, line: String, closing: bool) -> Step {
        if self.speaking.is_some() {
            self.barge_in().await?;
        }
        self.send_resumption_update(false).await?;
        let samples = speech::speak(&line, self.config.voice).await;
        let pcm: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let chunks: Vec<&[u8]> = pcm.chunks(CHUNK_BYTES).collect();
        let fragments = transcription_fragments(&line);
        let fragment_count = fragments.len().max(1);
        let mut by_chunk: Vec<Vec<String>> = vec![Vec::new(); chunks.len().max(1)];
        for (i, fragment) in fragments.into_iter().enumerate() {
            let target = i * by_chunk.len() / fragment_count;
            if let Some(list) = by_chunk.get_mut(target) {
                list.push(fragment);
            }
        }
        let chunk_ms = Duration::from_millis(100);
        let mut queue = VecDeque::with_capacity(chunks.len() + by_chunk.len());
        for (i, fragments) in by_chunk.into_iter().enumerate() {
            let at = chunk_ms * i as u32;
            let mut fragments = fragments.into_iter();
            let mut content = serde_json::Map::new();
            if let Some(chunk) = chunks.get(i) {
                content.insert(
                    "modelTurn".to_owned(),
                    json!({ "parts": [ { "inlineData": {
                        "mimeType": OUTPUT_AUDIO_MIME,
                        "data": base64::engine::general_purpose::STANDARD.encode(chunk),
                    } } ] }),
                );
            }
            if !self.output_transcription {
                fragments.by_ref().for_each(drop);
            }
            if let Some(first) = fragments.next() {
                content.insert("outputTranscription".to_owned(), json!({ "text": first }));
            }
            queue.push_back((at, json!({ "serverContent": Value::Object(content) })));
            for extra in fragments {
                queue.push_back((
                    at,
                    json!({ "serverContent": { "outputTranscription": { "text": extra } } }),
                ));
            }
        }
        let duration = speech::duration_of(samples.len());
        let started = Instant::now();
        self.speaking = Some(Speaking {
            queue,
            line: index,
            text: line,
            faults_fired: false,
            started,
            playback_end: started + duration,
            generation_complete_sent: false,
            // About 25 tokens per second of audio (§4.5).
            response_tokens: (duration.as_millis() as u64 * 25).div_ceil(1000),
            closing,
        });
        Ok(())
    }

    pub(super) fn usage(&self, response_tokens: u64) -> Value {
        json!({
            "promptTokenCount": self.prompt_tokens,
            "responseTokenCount": response_tokens,
            "totalTokenCount": self.prompt_tokens + response_tokens,
            "responseTokensDetails": [ { "modality": "AUDIO", "tokenCount": response_tokens } ],
        })
    }

    pub(super) fn next_speaking_wake(&self) -> Option<Instant> {
        if self.silent {
            return None;
        }
        let s = self.speaking.as_ref()?;
        match s.queue.front() {
            Some((at, _)) if self.config.realtime => Some(s.started + *at),
            Some(_) => Some(Instant::now()),
            None if !s.generation_complete_sent => Some(Instant::now()),
            None if self.config.hold_turn_for_playback => Some(s.playback_end),
            None => Some(Instant::now()),
        }
    }

    /// Sends what is due of the current line: its audio messages, `generationComplete`, and
    /// `turnComplete` once playback would be over.
    pub(super) async fn pump(&mut self) -> Step {
        loop {
            let now = Instant::now();
            let realtime = self.config.realtime;
            let hold = self.config.hold_turn_for_playback;
            if self.silent {
                return Ok(());
            }
            let Some(s) = self.speaking.as_mut() else {
                return Ok(());
            };
            if let Some((at, _)) = s.queue.front() {
                if realtime && s.started + *at > now {
                    return Ok(());
                }
                if let Some((_, message)) = s.queue.pop_front() {
                    let fire = !std::mem::replace(&mut s.faults_fired, true);
                    let line = s.line;
                    self.send(&message).await?;
                    if fire {
                        self.fire(FaultTrigger::DuringLine(line)).await?;
                    }
                }
                continue;
            }
            if !s.generation_complete_sent {
                s.generation_complete_sent = true;
                self.send(&json!({ "serverContent": { "generationComplete": true } }))
                    .await?;
                self.send_resumption_update(true).await?;
                continue;
            }
            if hold && s.playback_end > now {
                return Ok(());
            }
            let (tokens, closing, line) = (s.response_tokens, s.closing, s.line);
            self.speaking = None;
            let usage = self.usage(tokens);
            let message = self.turn_complete(usage);
            self.send(&message).await?;
            if closing {
                return self.close(1000, "").await;
            }
            self.send_resumption_update(true).await?;
            self.fire(FaultTrigger::AfterLine(line)).await?;
            if std::mem::take(&mut self.reply_owed) {
                self.candidate_turn_ended().await?;
            }
        }
    }

    /// Candidate speech (or a new turn) while the line plays: `interrupted`, drop the rest,
    /// then `turnComplete` (§4.1).
    pub(super) async fn barge_in(&mut self) -> Step {
        let Some(s) = self.speaking.take() else {
            return Ok(());
        };
        let spoken = Instant::now()
            .saturating_duration_since(s.started)
            .min(s.playback_end - s.started);
        let tokens = (spoken.as_millis() as u64 * 25).div_ceil(1000);
        self.send(&json!({ "serverContent": { "interrupted": true } }))
            .await?;
        let usage = self.usage(tokens);
        let message = self.turn_complete(usage);
        self.send(&message).await?;
        if s.closing {
            return self.close(1000, "").await;
        }
        self.send_resumption_update(true).await
    }
}
