//! Inputs from the candidate's client: decoded messages, and the client going away,
//! coming back or going for good.

use std::time::Instant;

use bytes::Bytes;

use super::{
    to_client, EndReason, InterviewSession, SessionError, SessionEvent, State, TextLimit, Timer,
    ToClient,
};
use crate::codec::ClientMessage;
use crate::metrics::{AnswerAudio, PAUSE_THRESHOLD_MS};
use crate::model::ModelCommand;
use crate::proto;
use crate::transcript::Speaker;

/// Counts silent runs in the candidate's open turn on the audio's own sample timeline.
/// Plain counters: no allocation per frame.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct AnswerTally {
    samples: u64,
    silent_run: u64,
    speech_seen: bool,
    pauses: u32,
    longest_pause: u64,
    pub(super) barged_in: bool,
}

impl AnswerTally {
    pub(super) fn speech(&mut self, samples: u64, pause_samples: u64) {
        if self.speech_seen && self.silent_run > pause_samples {
            self.pauses += 1;
            self.longest_pause = self.longest_pause.max(self.silent_run);
        }
        self.silent_run = 0;
        self.speech_seen = true;
        self.samples += samples;
    }

    pub(super) fn silence(&mut self, samples: u64) {
        if self.speech_seen {
            self.silent_run += samples;
        }
        self.samples += samples;
    }
}

/// Typed answers kept from before the interview started (see
/// [`InterviewSession::handle_client`]); more are refused like an oversized turn.
pub const EARLY_TEXTS: usize = 4;

impl InterviewSession {
    /// A decoded message from the candidate's client.
    ///
    /// Audio is forwarded to the model and, when its RMS is above
    /// [`SessionConfig::speech_rms_threshold`](super::SessionConfig::speech_rms_threshold), marks the candidate as speaking. Text is a
    /// typed answer: shown in the transcript and sent to the model; one typed before the
    /// model is ready is kept (up to [`EARLY_TEXTS`], each within the turn's size limit)
    /// and taken when the interview starts, so nothing typed is lost. `End` ends the
    /// interview ([`EndReason::UserEnded`]). Audio before the model is ready is dropped.
    ///
    /// # Errors
    /// [`SessionError::Ended`] after the interview ended.
    pub fn handle_client(&mut self, msg: ClientMessage, now: Instant) -> Result<(), SessionError> {
        self.check_live()?;
        let started = matches!(self.state, State::InProgress { .. });
        match msg {
            ClientMessage::End => self.end(EndReason::UserEnded, now),
            ClientMessage::Audio(audio) if started => {
                let samples = audio.len() as u64 / 2;
                let speech = pcm16_rms(&audio) > f64::from(self.config.speech_rms_threshold);
                self.turns.candidate_audio(&self.config, samples, speech);
                if self.transcript.is_open(Speaker::User) || speech {
                    self.trailing.candidate_audio(&self.config, now);
                }
                self.answer_timeline.frame(
                    self.elapsed_ms(now),
                    samples,
                    speech,
                    u64::from(self.config.input_sample_rate_hz),
                );
                if speech {
                    if !self.transcript.is_open(Speaker::User) {
                        self.candidate_turn_started(now, false);
                    }
                    self.turns.candidate_speech(&self.config, now);
                    let at = self.elapsed_ms(now);
                    self.transcript.mark_activity(Speaker::User, at);
                    let pause_samples =
                        u64::from(self.config.input_sample_rate_hz) * PAUSE_THRESHOLD_MS / 1000;
                    self.answer_tally.speech(samples, pause_samples);
                } else if self.transcript.is_open(Speaker::User) {
                    self.answer_tally.silence(samples);
                }
                self.to_model.push_back(ModelCommand::Audio(audio));
            }
            ClientMessage::Playback(report) if started => self.handle_playback_report(report),
            ClientMessage::Text(text) if !started => {
                let text = text.trim();
                if !text.is_empty() {
                    if self.early_texts.len() >= EARLY_TEXTS
                        || text.len() > self.config.max_turn_text_bytes
                    {
                        let limit = TextLimit::Turn {
                            max: self.config.max_turn_text_bytes,
                        };
                        self.refuse_text(limit);
                        return Err(limit.into());
                    }
                    self.early_texts.push(text.to_owned());
                }
            }
            ClientMessage::Text(text) if started => {
                let text = text.trim();
                if !text.is_empty() {
                    let at = self.elapsed_ms(now);
                    // A typed answer starts the candidate's turn: what the model said
                    // before it is a finished turn.
                    self.candidate_turn_started(now, true);
                    self.finish_turn(Speaker::Ai, false);
                    // What the model says next answers it.
                    self.turns.cut_over();
                    self.turns.close_amendable();
                    // Typed answers are whole messages, not fragments: keep them apart.
                    let sep = match self.transcript.open_text(Speaker::User) {
                        Some(t) if !t.is_empty() && !t.ends_with(char::is_whitespace) => " ",
                        _ => "",
                    };
                    let fragment = format!("{sep}{text}");
                    if let Err(limit) = self.admit_text(Speaker::User, fragment.len()) {
                        self.refuse_text(limit);
                        return Err(limit.into());
                    }
                    self.transcript.append(Speaker::User, &fragment, at);
                    self.push_transcript_update(Speaker::User, fragment, false, false);
                    self.to_model.push_back(ModelCommand::Text(text.to_owned()));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The candidate's client went away for good. Ends the interview with
    /// [`EndReason::ClientGone`]; does nothing after the end.
    pub fn handle_client_gone(&mut self, now: Instant) {
        if !self.is_ended() {
            self.end(EndReason::ClientGone, now);
        }
    }

    /// The candidate's client connection dropped (closed, failed or went silent) but may
    /// come back. The interview and the model go on (the model may finish its turn; no
    /// candidate audio arrives meanwhile); messages for the client are dropped; the open
    /// turns are offered for storage at once; and the interview ends with
    /// [`EndReason::ClientGone`] when [`SessionConfig::reconnect_grace`](super::SessionConfig::reconnect_grace) passes with no
    /// [`InterviewSession::handle_client_attached`] (at once when the grace is zero).
    /// Does nothing after the end or when no client is attached.
    pub fn handle_client_detached(&mut self, now: Instant) {
        if self.is_ended() || !self.client_attached {
            return;
        }
        if self.config.reconnect_grace.is_zero() {
            self.end(EndReason::ClientGone, now);
            return;
        }
        self.client_attached = false;
        self.to_client.clear();
        self.timers[Timer::Grace as usize] = Some(now + self.config.reconnect_grace);
        self.events.push_back(SessionEvent::ClientDetached);
        self.checkpoint(now);
    }

    /// A client (re)connected to the interview: the grace timer stops and the client is
    /// sent a `SessionResumed` with every finished entry, the open turns (which later
    /// `TranscriptUpdate` fragments extend), the time limit and the time spent. Before the
    /// model is ready the client gets nothing yet: `SessionStarted` (or `SessionResumed`
    /// for a resumed interview) follows the model's `setupComplete`.
    ///
    /// # Errors
    /// [`SessionError::Ended`] after the interview ended; the caller closes the connection.
    pub fn handle_client_attached(&mut self, now: Instant) -> Result<(), SessionError> {
        self.check_live()?;
        self.client_attached = true;
        self.timers[Timer::Grace as usize] = None;
        self.to_client.clear();
        self.arm_client_silence(now);
        if matches!(self.state, State::InProgress { .. }) {
            self.push_session_resumed(now);
        }
        self.events.push_back(SessionEvent::ClientAttached);
        Ok(())
    }

    /// The server is shutting down: ends the interview with
    /// [`EndReason::ServerShutdown`], keeping what was said (COMPLETED when anything
    /// was). Does nothing after the end.
    pub fn handle_shutdown(&mut self, now: Instant) {
        if !self.is_ended() {
            self.end(EndReason::ServerShutdown, now);
        }
    }

    pub(super) fn push_session_resumed(&mut self, now: Instant) {
        let transcript = self
            .transcript
            .entries()
            .iter()
            .map(proto::TranscriptEntry::from)
            .collect();
        let open_turns = self
            .transcript
            .open_entries()
            .iter()
            .map(proto::TranscriptEntry::from)
            .collect();
        let elapsed_ms = self.elapsed_ms(now);
        self.to_client
            .push_back(to_client(ToClient::SessionResumed(proto::SessionResumed {
                interview_id: self.interview_id.clone(),
                max_duration_ms: self.max_duration_ms(),
                elapsed_ms,
                transcript,
                open_turns,
            })));
    }

    /// Keeps the open turn's audio tally (when it had audio) as the answer `sequence`'s.
    pub(super) fn close_answer_tally(&mut self, sequence: u32) {
        let t = std::mem::take(&mut self.answer_tally);
        if t.samples == 0 {
            return;
        }
        let rate = u64::from(self.config.input_sample_rate_hz.max(1));
        self.answer_audio.push(
            AnswerAudio::new(
                sequence,
                t.samples * 1000 / rate,
                t.pauses,
                t.longest_pause * 1000 / rate,
            )
            .with_barged_in(t.barged_in),
        );
    }
}

/// Root-mean-square amplitude of PCM16LE audio, 0.0 for empty input.
pub fn pcm16_rms(audio: &Bytes) -> f64 {
    let n = audio.len() / 2;
    if n == 0 {
        return 0.0;
    }
    let sum: f64 = audio
        .chunks_exact(2)
        .map(|b| {
            let s = f64::from(i16::from_le_bytes([b[0], b[1]]));
            s * s
        })
        .sum();
    (sum / n as f64).sqrt()
}
