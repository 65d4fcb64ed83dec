//! The interviewer's turns on the candidate's playback clock.
//!
//! The model sends its audio faster than real time (Gemini Live and the simulator both
//! do), so the arrival of a turn's last chunk says little about when the candidate heard
//! its end. The session therefore keeps a model of the client's player: each chunk of
//! PCM16LE 24 000 Hz audio (samples = bytes / 2) starts playing when it arrives or when
//! the audio before it has played, whichever is later, and plays for its duration. The
//! interviewer's entry runs from the start of its first chunk to the end of its last
//! (the *cursor*), or to where a barge-in cut it: the moment the model reported
//! `interrupted` (the client flushes its player then), or the position the client reports
//! in a `PlaybackReport`, which wins when present.
//!
//! Each transcription fragment is noted with the turn's audio position at its arrival
//! (`TranscriptUpdate.audio_offset_ms`), so a client can reveal captions as the audio
//! plays, and the session knows which part of the text was heard before a cut.
//!
//! A cut interviewer entry is stored with `interrupted: true` and `heard_text` (the part of
//! its text heard). When the cut is known only after the entry was stored (the candidate
//! spoke while a finished turn was still playing, or the client's `PlaybackReport` came),
//! the entry is offered for storage again under its sequence: an idempotent upsert.

use std::time::Instant;

use super::{InterviewSession, PersistAction};
use crate::codec::PlaybackReport;
use crate::transcript::{InterviewerCut, Speaker};

/// Sample rate of the interviewer's audio, in Hz (Gemini Live's output: PCM16LE 24 kHz).
pub(super) const OUTPUT_SAMPLE_RATE_HZ: u64 = 24_000;

/// Duration of `bytes` of PCM16LE audio at `rate_hz`, in µs.
pub(super) fn pcm16_duration_us(bytes: usize, rate_hz: u64) -> u64 {
    (bytes as u64 / 2).saturating_mul(1_000_000) / rate_hz.max(1)
}

/// The client's player, as the session models it. Times in µs since the interview started.
#[derive(Debug, Clone, Default)]
pub(super) struct PlaybackClock {
    /// When the player will have played everything it was sent.
    cursor_us: u64,
    /// The interviewer turn whose audio is arriving.
    turn: Option<TurnAudio>,
    /// The last finished interviewer turn that had audio, for a late `PlaybackReport`.
    last: Option<FinishedTurn>,
    /// Fragments of the open turn that arrived before its first audio (at position 0):
    /// they join the turn when its audio starts.
    early: Vec<(u32, usize)>,
}

#[derive(Debug, Clone, Default)]
struct TurnAudio {
    /// When its first chunk started playing.
    start_us: u64,
    /// Audio received, in µs of 24 kHz samples.
    audio_us: u64,
    /// `(audio position in ms when the fragment arrived, length of the turn's text in bytes
    /// after it)`, in arrival order.
    fragments: Vec<(u32, usize)>,
    /// Where a barge-in cut playback, in µs since the interview started.
    cut_at_us: Option<u64>,
}

#[derive(Debug, Clone)]
struct FinishedTurn {
    sequence: u32,
    start_us: u64,
    audio_us: u64,
    /// Where its playback ends on the clock (drained, or cut).
    end_us: u64,
    /// As [`TurnAudio::fragments`].
    fragments: Vec<(u32, usize)>,
}

/// Bytes of text whose fragments arrived at or before `played_ms` of the audio.
fn heard(fragments: &[(u32, usize)], played_ms: u64) -> usize {
    fragments
        .iter()
        .take_while(|(offset, _)| u64::from(*offset) <= played_ms)
        .map(|(_, len)| *len)
        .last()
        .unwrap_or(0)
}

/// The first `bytes` bytes of `text` (all of it when `bytes` is not a char boundary
/// inside it), as an owned string.
fn heard_prefix(text: &str, bytes: usize) -> String {
    text.get(..bytes).unwrap_or(text).to_owned()
}

/// The candidate started a turn while a finished interviewer turn was still playing:
/// its playback stopped there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LateCut {
    /// The interviewer entry.
    pub sequence: u32,
    /// Its new end, in ms since the interview started.
    pub end_ms: u64,
    /// Its audio played, in ms.
    pub played_ms: u64,
    /// Bytes of its text heard (see [`TurnPlayback::heard_bytes`]).
    pub heard_bytes: usize,
}

/// Where the client's `PlaybackReport` says a finished interviewer turn stopped playing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ReportedEnd {
    /// The interviewer entry.
    pub sequence: u32,
    /// Its new end, in ms since the interview started.
    pub end_ms: u64,
    /// Its audio played, in ms.
    pub played_ms: u64,
    /// Bytes of its text heard when playback stopped before its audio had played (a cut);
    /// `None` when it played whole.
    pub heard_bytes: Option<usize>,
}

/// How an interviewer turn sounded to the candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TurnPlayback {
    /// Start of playback, in ms since the interview started.
    pub start_ms: u64,
    /// End of playback (drained or cut), in ms since the interview started.
    pub end_ms: u64,
    /// Whether a barge-in cut it before its audio had played.
    pub cut: bool,
    /// Bytes of the turn's text whose fragments arrived at or before the cut position
    /// (the whole text when not cut).
    pub heard_bytes: Option<usize>,
}

impl PlaybackClock {
    /// A chunk of `bytes` bytes of interviewer audio arrived at `at_us`; returns when it
    /// plays, `(start, end)` in ms since the interview started.
    pub(super) fn audio(&mut self, at_us: u64, bytes: usize) -> (u64, u64) {
        let start = at_us.max(self.cursor_us);
        let d = pcm16_duration_us(bytes, OUTPUT_SAMPLE_RATE_HZ);
        let early = &mut self.early;
        let turn = self.turn.get_or_insert_with(|| TurnAudio {
            start_us: start,
            fragments: std::mem::take(early),
            ..TurnAudio::default()
        });
        turn.audio_us += d;
        self.cursor_us = start + d;
        (start / 1_000, self.cursor_us / 1_000)
    }

    /// The open turn's audio received so far, in ms (0 when none).
    pub(super) fn offset_ms(&self) -> u32 {
        self.turn
            .as_ref()
            .map_or(0, |t| u32::try_from(t.audio_us / 1_000).unwrap_or(u32::MAX))
    }

    /// Notes a transcription fragment of the open turn, after which the turn's text is
    /// `text_len` bytes long; returns its audio position in ms.
    pub(super) fn fragment(&mut self, text_len: usize) -> u32 {
        let offset = self.offset_ms();
        match self.turn.as_mut() {
            Some(t) => t.fragments.push((offset, text_len)),
            None => self.early.push((offset, text_len)),
        }
        offset
    }

    /// The candidate barged in at `at_us`: the client flushes its player, so playback of
    /// the open turn stops there (or where it had drained, if earlier).
    pub(super) fn cut(&mut self, at_us: u64) {
        let end = at_us.min(self.cursor_us);
        if let Some(t) = self.turn.as_mut() {
            let end = end.max(t.start_us);
            t.cut_at_us.get_or_insert(end);
            self.cursor_us = end;
        }
    }

    /// The interviewer's turn ended as entry `sequence`; returns how it played, or `None`
    /// when it had no audio.
    pub(super) fn finish(&mut self, sequence: u32) -> Option<TurnPlayback> {
        self.early.clear();
        let t = self.turn.take()?;
        let drained = t.start_us + t.audio_us;
        let end_us = t.cut_at_us.map_or(self.cursor_us.max(drained), |c| c);
        let cut = end_us < drained && t.cut_at_us.is_some();
        let heard_bytes = cut.then(|| heard(&t.fragments, (end_us - t.start_us) / 1_000));
        self.last = Some(FinishedTurn {
            sequence,
            start_us: t.start_us,
            audio_us: t.audio_us,
            end_us,
            fragments: t.fragments,
        });
        Some(TurnPlayback {
            start_ms: t.start_us / 1_000,
            end_ms: end_us / 1_000,
            cut,
            heard_bytes,
        })
    }

    /// The candidate started a turn at `at_us` (speech, or a typed answer, `typed`): a
    /// client stops the interviewer's audio when the candidate barges in, so playback
    /// still due stops there. A typed answer cuts the open turn (it ends it); speech over
    /// an open turn is left to the model's `interrupted`. Returns the [`LateCut`] of the
    /// last finished turn when its playback had not ended (each turn is cut once; a later
    /// `PlaybackReport` may still correct it).
    pub(super) fn candidate_started(&mut self, at_us: u64, typed: bool) -> Option<LateCut> {
        if self.cursor_us <= at_us {
            return None;
        }
        if self.turn.is_some() {
            if typed {
                self.cut(at_us);
            }
            return None;
        }
        self.cursor_us = at_us;
        let last = self.last.as_mut().filter(|l| l.end_us > at_us)?;
        let end_us = at_us.max(last.start_us);
        last.end_us = end_us;
        let played_ms = (end_us - last.start_us) / 1_000;
        Some(LateCut {
            sequence: last.sequence,
            end_ms: end_us / 1_000,
            played_ms,
            heard_bytes: heard(&last.fragments, played_ms),
        })
    }

    /// Applies the client's report on the current turn: the open one, or else the last
    /// finished one. Returns the [`ReportedEnd`] when a finished entry must end elsewhere.
    /// A finished turn takes one report: later ones are ignored, so a client cannot make
    /// the session store an entry again and again.
    pub(super) fn report(&mut self, r: PlaybackReport) -> Option<ReportedEnd> {
        let played_us = u64::from(r.played_ms) * 1_000;
        if let Some(t) = self.turn.as_mut() {
            if r.cut_by_barge_in || played_us < t.audio_us {
                let end = t.start_us + played_us.min(t.audio_us);
                t.cut_at_us = Some(end);
                self.cursor_us = end;
            }
            return None;
        }
        let last = self.last.take()?;
        if !r.cut_by_barge_in && played_us >= last.audio_us {
            // Drained: the modelled end stands (it includes any gap in delivery).
            return None;
        }
        let end = last.start_us + played_us.min(last.audio_us);
        self.cursor_us = self.cursor_us.min(end.max(last.start_us));
        let played_ms = (end - last.start_us) / 1_000;
        let cut = played_us < last.audio_us;
        Some(ReportedEnd {
            sequence: last.sequence,
            end_ms: end / 1_000,
            played_ms,
            heard_bytes: cut.then(|| heard(&last.fragments, played_ms)),
        })
    }
}

impl InterviewSession {
    /// Interviewer audio of `bytes` bytes arrived at `now`: marks the interviewer active
    /// for the time the chunk plays.
    pub(super) fn interviewer_audio(&mut self, bytes: usize, now: Instant) {
        let at_us = self.elapsed_us(now);
        let (start, end) = self.playback.audio(at_us, bytes);
        self.transcript.mark_activity(Speaker::Ai, start);
        self.transcript.mark_activity(Speaker::Ai, end);
    }

    /// The candidate barged in at `now`: playback of the interviewer's turn stops there.
    pub(super) fn interviewer_cut(&mut self, now: Instant) {
        let at_us = self.elapsed_us(now);
        self.playback.cut(at_us);
    }

    /// Before `speaker`'s open turn is finished: gives it its times on the audio clocks
    /// (the playback clock for the interviewer, the candidate's own samples for them).
    pub(super) fn apply_audio_clock(&mut self, speaker: Speaker) {
        if !self.transcript.is_open(speaker) {
            return;
        }
        match speaker {
            Speaker::Ai => {
                let sequence = self.transcript.next_sequence();
                if let Some(p) = self.playback.finish(sequence) {
                    self.transcript
                        .set_open_span(Speaker::Ai, p.start_ms, p.end_ms);
                    if p.cut {
                        let heard = p.heard_bytes.unwrap_or(0);
                        let text = self.transcript.open_text(Speaker::Ai).unwrap_or("");
                        let heard_text = heard_prefix(text, heard);
                        self.interviewer_cuts.push(InterviewerCut {
                            sequence,
                            played_ms: p.end_ms.saturating_sub(p.start_ms),
                            heard_text,
                        });
                    }
                }
            }
            Speaker::User => {
                let rate = u64::from(self.config.input_sample_rate_hz);
                if let Some((start, end)) = self.answer_timeline.take_span(rate) {
                    self.transcript.set_open_span(Speaker::User, start, end);
                }
            }
        }
    }

    /// The candidate started a turn at `now`: playback of the interviewer's audio still
    /// due stops there. A finished interviewer entry that was still playing ends there
    /// instead (stored again) and is noted as cut, with the part of its text heard.
    pub(super) fn candidate_turn_started(&mut self, now: Instant, typed: bool) {
        let at_us = self.elapsed_us(now);
        let Some(cut) = self.playback.candidate_started(at_us, typed) else {
            return;
        };
        let Some(entry) = self.transcript.set_end(cut.sequence, cut.end_ms) else {
            return;
        };
        let heard_text = heard_prefix(&entry.text, cut.heard_bytes);
        self.interviewer_cuts.push(InterviewerCut {
            sequence: cut.sequence,
            played_ms: cut.played_ms,
            heard_text: heard_text.clone(),
        });
        // The entry was stored when it finished: store it again, now noted as cut.
        if let Some(entry) = self
            .transcript
            .set_interrupted(cut.sequence, Some(heard_text))
            .cloned()
        {
            self.persist
                .push_back(PersistAction::Transcript(vec![entry]));
        }
    }

    /// The client's `PlaybackReport`: where its playback of the interviewer's current turn
    /// really stopped. A finished entry that ended elsewhere is corrected and stored again,
    /// noted as cut (with the part of its text heard by then) when its audio had not all
    /// played, and as whole otherwise; its [`InterviewerCut`] follows.
    pub(super) fn handle_playback_report(&mut self, r: PlaybackReport) {
        let Some(reported) = self.playback.report(r) else {
            return;
        };
        let sequence = reported.sequence;
        let Some(entry) = self.transcript.set_end(sequence, reported.end_ms) else {
            return;
        };
        let played_ms = entry.end_ms - entry.start_ms;
        let heard_text = reported
            .heard_bytes
            .map(|bytes| heard_prefix(&entry.text, bytes));
        let known = self
            .interviewer_cuts
            .iter()
            .position(|c| c.sequence == sequence);
        match (known, &heard_text) {
            (Some(i), Some(heard)) => {
                let cut = &mut self.interviewer_cuts[i];
                cut.played_ms = played_ms;
                cut.heard_text.clone_from(heard);
            }
            (Some(i), None) => {
                self.interviewer_cuts.remove(i);
            }
            (None, Some(heard)) => self.interviewer_cuts.push(InterviewerCut {
                sequence,
                played_ms,
                heard_text: heard.clone(),
            }),
            (None, None) => {}
        }
        if let Some(entry) = self
            .transcript
            .set_interrupted(sequence, heard_text)
            .cloned()
        {
            self.persist
                .push_back(PersistAction::Transcript(vec![entry]));
        }
    }

    fn elapsed_us(&self, now: Instant) -> u64 {
        match self.state {
            super::State::InProgress { started_at } => {
                u64::try_from(now.saturating_duration_since(started_at).as_micros())
                    .unwrap_or(u64::MAX)
            }
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1 s of 24 kHz PCM16LE.
    const SECOND: usize = 48_000;

    #[test]
    fn audio_faster_than_real_time_plays_back_to_back() {
        let mut c = PlaybackClock::default();
        // 3 s of audio arrives within 30 ms.
        assert_eq!(c.audio(1_000_000, SECOND), (1_000, 2_000));
        assert_eq!(c.audio(1_010_000, SECOND), (2_000, 3_000));
        assert_eq!(c.audio(1_030_000, SECOND), (3_000, 4_000));
        let p = c.finish(0).unwrap();
        assert_eq!((p.start_ms, p.end_ms, p.cut), (1_000, 4_000, false));
        // The next turn starts when it arrives, after the player ran dry.
        assert_eq!(c.audio(9_000_000, SECOND / 2), (9_000, 9_500));
    }

    #[test]
    fn a_barge_in_cuts_where_it_happened_and_keeps_the_heard_text() {
        let mut c = PlaybackClock::default();
        c.audio(0, SECOND);
        assert_eq!(c.fragment(10), 1_000);
        c.audio(10_000, SECOND);
        assert_eq!(c.fragment(25), 2_000);
        c.audio(20_000, SECOND);
        c.fragment(40);
        c.cut(1_500_000);
        let p = c.finish(3).unwrap();
        assert_eq!((p.start_ms, p.end_ms, p.cut), (0, 1_500, true));
        assert_eq!(p.heard_bytes, Some(10));
    }

    #[test]
    fn the_client_report_wins_for_open_and_finished_turns() {
        let mut c = PlaybackClock::default();
        c.audio(0, 2 * SECOND);
        c.report(PlaybackReport::new(700, true));
        let p = c.finish(0).unwrap();
        assert_eq!((p.end_ms, p.cut), (700, true));

        c.audio(5_000_000, 2 * SECOND);
        c.finish(2).unwrap();
        let reported = c.report(PlaybackReport::new(1_200, true)).unwrap();
        assert_eq!((reported.sequence, reported.end_ms), (2, 6_200));
        assert_eq!((reported.played_ms, reported.heard_bytes), (1_200, Some(0)));
        // One report per finished turn.
        assert_eq!(c.report(PlaybackReport::new(900, true)), None);
        c.audio(9_000_000, 2 * SECOND);
        c.finish(4).unwrap();
        assert_eq!(c.report(PlaybackReport::new(2_000, false)), None);
    }
}
