//! The session's audio clocks, end to end with a fake clock: interviewer turns timed as
//! they play, answers on their own samples, captions positioned on the audio, barge-ins.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::codec::ClientMessage;
use crate::codec::PlaybackReport;
use crate::model::ModelEvent;
use crate::proto;
use crate::proto::server_to_client_message::Message as M;
use crate::transcript::Speaker;

/// `ms` of 24 kHz PCM16LE interviewer audio (silence: its content does not matter).
fn model_audio(ms: usize) -> Bytes {
    Bytes::from(vec![0u8; ms * 48])
}

/// `ms` of loud 16 kHz candidate audio.
fn speech(ms: usize) -> Bytes {
    let v: Vec<u8> = (0..ms * 16)
        .flat_map(|i| if (i / 8) % 2 == 0 { 8_000i16 } else { -8_000 }.to_le_bytes())
        .collect();
    Bytes::from(v)
}

struct Run {
    t0: Instant,
    s: InterviewSession,
    updates: Vec<proto::TranscriptUpdate>,
    stored: Vec<TranscriptEntry>,
    /// Every entry offered for storage, in order (amends included).
    persisted: Vec<TranscriptEntry>,
    cuts: Vec<InterviewerCut>,
}

impl Run {
    fn new() -> Self {
        let t0 = Instant::now();
        let config =
            SessionConfig::new(Duration::from_secs(600)).with_checkpoint_interval(Duration::ZERO);
        let mut s = InterviewSession::new("iv", config, t0);
        s.handle_model(ModelEvent::SetupComplete, t0).unwrap();
        Self {
            t0,
            s,
            updates: vec![],
            stored: vec![],
            persisted: vec![],
            cuts: vec![],
        }
    }

    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    fn model(&mut self, ms: u64, e: ModelEvent) {
        let now = self.at(ms);
        self.s.handle_model(e, now).unwrap();
        self.drain();
    }

    fn client(&mut self, ms: u64, m: ClientMessage) {
        let now = self.at(ms);
        self.s.handle_client(m, now).unwrap();
        self.drain();
    }

    fn drain(&mut self) {
        while self.s.poll_to_model().is_some() {}
        while let Some(m) = self.s.poll_to_client() {
            if let Some(M::TranscriptUpdate(u)) = m.message {
                self.updates.push(u);
            }
        }
        while let Some(p) = self.s.poll_persist() {
            match p {
                PersistAction::Transcript(b) => {
                    for e in b {
                        self.persisted.push(e.clone());
                        self.stored.retain(|x| x.sequence != e.sequence);
                        self.stored.push(e);
                    }
                }
                PersistAction::InterviewerCuts(c) => self.cuts = c,
                _ => {}
            }
        }
        while self.s.poll_event().is_some() {}
    }

    /// 3 s of interviewer audio in 100 ms chunks, all sent between `ms` and `ms + 60`, a
    /// caption fragment with every tenth chunk, then `turnComplete`.
    fn question(&mut self, ms: u64) {
        for i in 0..30u64 {
            if i % 10 == 0 {
                self.model(
                    ms + 2 * i,
                    ModelEvent::OutputTranscription(format!("part{i} ")),
                );
            }
            self.model(ms + 2 * i, ModelEvent::Audio(model_audio(100)));
        }
        self.model(ms + 61, ModelEvent::TurnComplete);
    }

    /// `ms_long` of speech in 40 ms frames arriving in real time from `from` (the first
    /// frame arrives at `from + 40`), then 1 s of silence.
    fn answer(&mut self, from: u64, ms_long: u64) -> u64 {
        let mut t = from;
        for _ in 0..ms_long / 40 {
            t += 40;
            self.client(t, ClientMessage::Audio(speech(40)));
        }
        for _ in 0..25 {
            t += 40;
            self.client(t, ClientMessage::Audio(Bytes::from(vec![0u8; 1_280])));
        }
        t
    }
}

#[test]
fn an_interviewer_turn_lasts_as_long_as_its_audio_plays() {
    let mut r = Run::new();
    r.question(200);
    let q = r.stored[0].clone();
    assert_eq!((q.start_ms, q.end_ms), (200, 3_200));
    // The candidate waits 800 ms after the audio ended, then answers for 2 s.
    let end = r.answer(4_000, 2_000);
    r.question(end + 300);
    let a = r
        .stored
        .iter()
        .find(|e| e.speaker == Speaker::User)
        .unwrap();
    assert_eq!((a.start_ms, a.end_ms), (4_000, 6_000));
    let m = crate::metrics::compute(&r.stored, "", &[]);
    assert_eq!(m.response_latency_ms, Some(800));
    assert_eq!(m.interviewer_time_ms, 6_000);
    assert_eq!(m.talk_time_ratio, Some(0.25));
    assert_eq!(m.interruptions, 0);
}

#[test]
fn captions_carry_their_position_in_the_audio() {
    let mut r = Run::new();
    r.question(0);
    let offsets: Vec<u32> = r
        .updates
        .iter()
        .filter(|u| u.speaker == "AI" && !u.is_final)
        .map(|u| u.audio_offset_ms)
        .collect();
    assert_eq!(offsets, [0, 1_000, 2_000]);
}

#[test]
fn a_barge_in_cuts_the_turn_where_the_candidate_spoke() {
    let mut r = Run::new();
    for i in 0..30u64 {
        if i % 10 == 0 {
            r.model(i, ModelEvent::OutputTranscription(format!("part{i} ")));
        }
        r.model(i, ModelEvent::Audio(model_audio(100)));
    }
    // The candidate talks over it at 1.2 s; the model reports `interrupted` at 1.5 s.
    r.answer(1_200, 400);
    r.model(1_500, ModelEvent::Interrupted);
    let q = r.stored[0].clone();
    assert_eq!((q.start_ms, q.end_ms), (0, 1_500));
    assert_eq!(q.text, "part0 part10 part20 ");
    let cuts = r.s.interviewer_cuts();
    assert_eq!(cuts.len(), 1);
    assert_eq!(cuts[0].played_ms, 1_500);
    assert_eq!(cuts[0].heard_text, "part0 part10 ");
    // The client reports it stopped at 1.3 s: the entry is corrected and stored again.
    r.client(
        1_600,
        ClientMessage::Playback(PlaybackReport::new(1_300, true)),
    );
    let q = r.stored.iter().find(|e| e.sequence == 0).unwrap();
    assert_eq!(q.end_ms, 1_300);
    assert_eq!(r.s.transcript().entries()[0].end_ms, 1_300);
    assert_eq!(r.s.interviewer_cuts()[0].played_ms, 1_300);
    // At the end they are offered for storage with the feedback.
    r.client(2_000, ClientMessage::End);
    assert_eq!(r.cuts, r.s.interviewer_cuts());
    assert_eq!(r.cuts[0].heard_text, "part0 part10 ");
}

#[test]
fn answering_before_the_audio_has_played_cuts_it_there() {
    let mut r = Run::new();
    // 3 s of audio arrives at once and the turn completes (no hold for playback).
    for i in 0..30u64 {
        if i % 10 == 0 {
            r.model(0, ModelEvent::OutputTranscription(format!("part{i} ")));
        }
        r.model(0, ModelEvent::Audio(model_audio(100)));
    }
    r.model(1, ModelEvent::TurnComplete);
    assert_eq!(r.stored[0].end_ms, 3_000);
    // A typed answer 1.2 s in: the candidate stopped listening there.
    r.client(
        1_200,
        ClientMessage::Text("I lead the platform team.".into()),
    );
    let q = r.stored.iter().find(|e| e.sequence == 0).unwrap();
    assert_eq!((q.start_ms, q.end_ms), (0, 1_200));
    assert_eq!(r.s.interviewer_cuts()[0].heard_text, "part0 part10 ");
    // The next question plays from its arrival, not after the cut audio: entries stay in
    // order of their start.
    r.model(1_500, ModelEvent::Audio(model_audio(1_000)));
    r.model(1_500, ModelEvent::TurnComplete);
    r.client(3_000, ClientMessage::Text("Go on.".into()));
    r.model(3_100, ModelEvent::TurnComplete);
    let mut starts: Vec<(u32, u64)> = r.stored.iter().map(|e| (e.sequence, e.start_ms)).collect();
    starts.sort_unstable();
    assert!(starts.windows(2).all(|w| w[0].1 <= w[1].1), "{starts:?}");
    assert_eq!(starts[2], (2, 1_500));
}

/// The stored entry `sequence`, as last offered for storage.
fn stored(r: &Run, sequence: u32) -> &TranscriptEntry {
    r.stored.iter().find(|e| e.sequence == sequence).unwrap()
}

#[test]
fn the_stored_entry_notes_a_barge_in_and_what_was_heard() {
    let mut r = Run::new();
    for i in 0..30u64 {
        if i % 10 == 0 {
            r.model(i, ModelEvent::OutputTranscription(format!("part{i} ")));
        }
        r.model(i, ModelEvent::Audio(model_audio(100)));
    }
    let end = r.answer(1_200, 400);
    r.model(1_500, ModelEvent::Interrupted);
    let q = stored(&r, 0);
    assert_eq!(q.speaker, Speaker::Ai);
    assert!(q.interrupted);
    assert_eq!(q.heard_text.as_deref(), Some("part0 part10 "));
    // The held entry is the same as the one stored.
    assert_eq!(&r.s.transcript().entries()[0], q);
    // The client says it stopped earlier, before the second caption: the entry is stored
    // again with the shorter heard text, and the cut follows.
    r.client(end, ClientMessage::Playback(PlaybackReport::new(900, true)));
    let q = stored(&r, 0);
    assert_eq!((q.end_ms, q.interrupted), (900, true));
    assert_eq!(q.heard_text.as_deref(), Some("part0 "));
    assert_eq!(r.s.interviewer_cuts()[0].heard_text, "part0 ");
    // The candidate's answer is never noted as cut.
    r.client(end + 100, ClientMessage::End);
    let a = r
        .stored
        .iter()
        .find(|e| e.speaker == Speaker::User)
        .unwrap();
    assert_eq!((a.interrupted, a.heard_text.as_deref()), (false, None));
}

#[test]
fn an_uncut_turn_is_stored_as_played_whole() {
    let mut r = Run::new();
    r.question(200);
    let end = r.answer(4_000, 1_000);
    r.question(end + 300);
    r.client(end + 4_000, ClientMessage::End);
    let ai: Vec<&TranscriptEntry> = r
        .stored
        .iter()
        .filter(|e| e.speaker == Speaker::Ai)
        .collect();
    assert_eq!(ai.len(), 2);
    for e in ai {
        assert!(!e.interrupted, "{e:?}");
        assert_eq!(e.heard_text, None);
    }
    assert!(r.persisted.iter().all(|e| !e.interrupted));
    assert!(r.cuts.is_empty());
}

#[test]
fn speaking_over_a_finished_turn_amends_its_stored_entry() {
    let mut r = Run::new();
    // 3 s of audio arrives at once and the turn completes: stored, not cut.
    for i in 0..30u64 {
        if i % 10 == 0 {
            r.model(0, ModelEvent::OutputTranscription(format!("part{i} ")));
        }
        r.model(0, ModelEvent::Audio(model_audio(100)));
    }
    r.model(1, ModelEvent::TurnComplete);
    assert_eq!(r.persisted.len(), 1);
    assert!(!r.persisted[0].interrupted);
    // The candidate speaks 1.2 s in, while it still plays: the same sequence is offered
    // again (an idempotent upsert), now cut with the heard prefix.
    r.answer(1_160, 200);
    let amends: Vec<&TranscriptEntry> = r.persisted.iter().filter(|e| e.sequence == 0).collect();
    assert_eq!(amends.len(), 2);
    let q = amends[1];
    assert_eq!((q.end_ms, q.interrupted), (1_200, true));
    assert_eq!(q.heard_text.as_deref(), Some("part0 part10 "));
    assert_eq!(q.text, "part0 part10 part20 ");
}

#[test]
fn a_client_report_of_a_short_playback_marks_a_finished_turn_cut() {
    let mut r = Run::new();
    r.question(0);
    assert!(!stored(&r, 0).interrupted);
    // The client stopped the audio 800 ms in (the model never said `interrupted`).
    r.client(100, ClientMessage::Playback(PlaybackReport::new(800, true)));
    let q = stored(&r, 0);
    assert_eq!((q.end_ms, q.interrupted), (800, true));
    assert_eq!(q.heard_text.as_deref(), Some("part0 "));
    let cuts = r.s.interviewer_cuts();
    assert_eq!(
        (cuts.len(), cuts[0].sequence, cuts[0].played_ms),
        (1, 0, 800)
    );
}
