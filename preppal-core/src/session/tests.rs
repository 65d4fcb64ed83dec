//! Session tests with a fake clock: whole event sequences, as rustls checks its transcripts.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::codec::ClientMessage;
use crate::model::{FunctionResponse, ModelCommand, ModelEvent};
use crate::proto;
use crate::proto::server_to_client_message::Message as M;
use crate::transcript::Speaker;

/// A fake clock and a session, with every output drained into logs.
struct Harness {
    now: Instant,
    session: InterviewSession,
    to_model: Vec<ModelCommand>,
    to_client: Vec<M>,
    persist: Vec<PersistAction>,
    events: Vec<SessionEvent>,
}

impl Harness {
    /// A session with no open-turn checkpoints, so `step` jumps between the lifecycle timers.
    fn new(max: Duration) -> Self {
        Self::with_config(SessionConfig::new(max).with_checkpoint_interval(Duration::ZERO))
    }

    fn with_config(config: SessionConfig) -> Self {
        let now = Instant::now();
        Self::from_session(InterviewSession::new("iv-1", config, now), now)
    }

    fn from_session(session: InterviewSession, now: Instant) -> Self {
        Self {
            now,
            session,
            to_model: vec![],
            to_client: vec![],
            persist: vec![],
            events: vec![],
        }
    }

    fn started(max: Duration) -> Self {
        let mut h = Self::new(max);
        h.model(ModelEvent::SetupComplete).unwrap();
        h
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    /// Jumps the clock to the next timer, like quinn's `Pair::step`.
    fn step(&mut self) -> bool {
        match self.session.poll_timeout() {
            Some(t) => {
                self.now = self.now.max(t);
                self.session.handle_timeout(self.now);
                self.drain();
                true
            }
            None => false,
        }
    }

    fn client(&mut self, m: ClientMessage) -> Result<(), SessionError> {
        let r = self.session.handle_client(m, self.now);
        self.drain();
        r
    }

    fn model(&mut self, e: ModelEvent) -> Result<(), SessionError> {
        let r = self.session.handle_model(e, self.now);
        self.drain();
        r
    }

    fn drain(&mut self) {
        while let Some(c) = self.session.poll_to_model() {
            self.to_model.push(c);
        }
        while let Some(m) = self.session.poll_to_client() {
            self.to_client
                .push(m.message.expect("session sends a case"));
        }
        while let Some(p) = self.session.poll_persist() {
            self.persist.push(p);
        }
        while let Some(e) = self.session.poll_event() {
            self.events.push(e);
        }
    }

    fn event_names(&self) -> Vec<&'static str> {
        self.events
            .iter()
            .map(|e| match e {
                SessionEvent::Started => "Started",
                SessionEvent::TurnEnded {
                    speaker: Speaker::Ai,
                    ..
                } => "AiTurnEnded",
                SessionEvent::TurnEnded {
                    speaker: Speaker::User,
                    ..
                } => "UserTurnEnded",
                SessionEvent::Interrupted => "Interrupted",
                SessionEvent::WrapUp => "WrapUp",
                SessionEvent::Reprompted => "Reprompted",
                SessionEvent::GoAway { .. } => "GoAway",
                SessionEvent::ClientSilent { .. } => "ClientSilent",
                SessionEvent::ClientDetached => "ClientDetached",
                SessionEvent::ClientAttached => "ClientAttached",
                SessionEvent::Ended { .. } => "Ended",
            })
            .collect()
    }

    fn stored_entries(&self) -> Vec<TranscriptEntry> {
        self.persist
            .iter()
            .filter_map(|p| match p {
                PersistAction::Transcript(b) => Some(b.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

fn speech(ms: usize) -> Bytes {
    // A loud square wave: 16 samples per ms at 16 kHz.
    let samples = ms * 16;
    let mut v = Vec::with_capacity(samples * 2);
    for i in 0..samples {
        let s: i16 = if (i / 8) % 2 == 0 { 8_000 } else { -8_000 };
        v.extend_from_slice(&s.to_le_bytes());
    }
    Bytes::from(v)
}

fn silence(ms: usize) -> Bytes {
    Bytes::from(vec![0u8; ms * 32])
}

const MIN: Duration = Duration::from_secs(60);

#[test]
fn a_whole_interview_in_order() {
    let mut h = Harness::new(10 * MIN);
    assert_eq!(h.session.status(), InterviewStatus::Pending);
    h.model(ModelEvent::SetupComplete).unwrap();
    assert_eq!(h.session.status(), InterviewStatus::InProgress);
    assert_eq!(h.to_model, vec![ModelCommand::Begin]);

    h.advance(Duration::from_millis(200));
    for f in ["Hel", "lo! Tell me ab", "out yourself."] {
        h.model(ModelEvent::OutputTranscription(f.into())).unwrap();
        h.model(ModelEvent::Audio(Bytes::from_static(&[0, 1, 2, 3])))
            .unwrap();
        h.advance(Duration::from_millis(100));
    }
    h.model(ModelEvent::GenerationComplete).unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();

    h.advance(Duration::from_secs(1));
    h.client(ClientMessage::Audio(speech(40))).unwrap();
    h.advance(Duration::from_secs(3));
    h.client(ClientMessage::Audio(speech(40))).unwrap();
    h.client(ClientMessage::Audio(silence(40))).unwrap();
    h.advance(Duration::from_secs(1));
    h.model(ModelEvent::OutputTranscription("Thanks.".into()))
        .unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    h.client(ClientMessage::End).unwrap();

    assert_eq!(
        h.event_names(),
        [
            "Started",
            "AiTurnEnded",
            "UserTurnEnded",
            "AiTurnEnded",
            "Ended"
        ]
    );
    let entries = h.stored_entries();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].text, "Hello! Tell me about yourself.");
    assert_eq!(entries[0].start_ms, 200);
    // The candidate spoke without transcription: timing kept, no words invented. The
    // answer is timed on its own audio: two 40 ms speech frames, the first anchored at its
    // arrival less its length; the 3 s between the frames carried no audio.
    assert_eq!(entries[1].speaker, Speaker::User);
    assert_eq!(entries[1].text, "");
    assert_eq!((entries[1].start_ms, entries[1].end_ms), (1_460, 1_540));
    assert_eq!(entries[2].text, "Thanks.");
    assert_eq!(
        entries.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    // Status first, Finish last.
    assert_eq!(
        h.persist[0],
        PersistAction::Status(InterviewStatus::InProgress)
    );
    assert_eq!(
        h.persist.last(),
        Some(&PersistAction::Finish {
            status: InterviewStatus::Completed,
            reason: EndReason::UserEnded
        })
    );
    assert_eq!(h.session.status(), InterviewStatus::Completed);
    assert_eq!(h.to_model.last(), Some(&ModelCommand::Close));
    assert!(
        matches!(h.to_client.last(), Some(M::SessionEnded(e)) if e.reason == proto::session_ended::Reason::UserEnded as i32)
    );
    // The client saw the AI turn's completion exactly twice (two questions).
    let completes = h
        .to_client
        .iter()
        .filter(|m| matches!(m, M::TranscriptUpdate(u) if u.turn_complete))
        .count();
    assert_eq!(completes, 2);
}

#[test]
fn text_answers_are_sent_and_kept() {
    let mut h = Harness::started(10 * MIN);
    h.model(ModelEvent::OutputTranscription("Why Rust?".into()))
        .unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    h.client(ClientMessage::Text("  Safety and speed.  ".into()))
        .unwrap();
    h.client(ClientMessage::Text("Also tooling.".into()))
        .unwrap();
    h.client(ClientMessage::Text("   ".into())).unwrap();
    assert_eq!(
        &h.to_model[1..],
        [
            ModelCommand::Text("Safety and speed.".into()),
            ModelCommand::Text("Also tooling.".into())
        ]
    );
    h.model(ModelEvent::OutputTranscription("Good.".into()))
        .unwrap();
    let e = h.stored_entries();
    assert_eq!(e[1].text, "Safety and speed. Also tooling.");
}

#[test]
fn barge_in_drops_late_audio_and_flushes_the_client() {
    let mut h = Harness::started(10 * MIN);
    h.model(ModelEvent::OutputTranscription(
        "Tell me about a time".into(),
    ))
    .unwrap();
    h.model(ModelEvent::Audio(Bytes::from_static(&[1, 2])))
        .unwrap();
    h.model(ModelEvent::Interrupted).unwrap();
    // Late audio and transcription of the cut generation.
    h.model(ModelEvent::Audio(Bytes::from_static(&[3, 4, 5, 6])))
        .unwrap();
    h.model(ModelEvent::OutputTranscription(" when".into()))
        .unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    // The next turn plays again.
    h.model(ModelEvent::Audio(Bytes::from_static(&[7, 8])))
        .unwrap();

    let audio: Vec<_> = h
        .to_client
        .iter()
        .filter_map(|m| match m {
            M::AudioResponse(a) => Some(a.audio_content.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        audio,
        [Bytes::from_static(&[1, 2]), Bytes::from_static(&[7, 8])]
    );
    assert_eq!(h.session.dropped_audio_bytes(), 4);
    let flush_at = h
        .to_client
        .iter()
        .position(|m| matches!(m, M::Interrupted(_)));
    assert!(flush_at.is_some());
    assert_eq!(h.stored_entries()[0].text, "Tell me about a time");
    assert_eq!(h.event_names(), ["Started", "AiTurnEnded", "Interrupted"]);
    // An interrupted turn does not tell the client it is the candidate's turn.
    assert!(!h
        .to_client
        .iter()
        .any(|m| matches!(m, M::TranscriptUpdate(u) if u.turn_complete)));
}

#[test]
fn model_that_disappears_mid_interview_completes_with_what_was_said() {
    let mut h = Harness::started(10 * MIN);
    h.model(ModelEvent::OutputTranscription("First question?".into()))
        .unwrap();
    h.advance(Duration::from_secs(2));
    h.client(ClientMessage::Text("An answer".into())).unwrap();
    h.model(ModelEvent::OutputTranscription("Second q".into()))
        .unwrap();
    h.model(ModelEvent::Closed {
        code: 1011,
        reason: "Internal error occurred.".into(),
    })
    .unwrap();
    assert_eq!(h.session.status(), InterviewStatus::Completed);
    // Open turns were flushed, in order of their start, before Finish.
    let e = h.stored_entries();
    assert_eq!(
        e.iter()
            .map(|e| (e.speaker, e.text.as_str()))
            .collect::<Vec<_>>(),
        [
            (Speaker::Ai, "First question?"),
            (Speaker::User, "An answer"),
            (Speaker::Ai, "Second q")
        ]
    );
    let reason = EndReason::ModelClosed {
        code: 1011,
        reason: "Internal error occurred.".into(),
    };
    assert_eq!(
        h.persist.last(),
        Some(&PersistAction::Finish {
            status: InterviewStatus::Completed,
            reason: reason.clone()
        })
    );
    assert!(
        matches!(h.to_client.last(), Some(M::SessionEnded(e)) if e.reason == proto::session_ended::Reason::Error as i32)
    );
    // Sticky end: later input is refused and changes nothing.
    assert_eq!(h.model(ModelEvent::TurnComplete), Err(SessionError::Ended));
    assert_eq!(h.client(ClientMessage::End), Err(SessionError::Ended));
    h.session.handle_client_gone(h.now);
    h.drain();
    assert_eq!(h.event_names().iter().filter(|n| **n == "Ended").count(), 1);
    assert_eq!(h.session.end_reason(), Some(&reason));
}

#[test]
fn setup_timeout_ends_in_error_without_starting() {
    let mut h = Harness::new(10 * MIN);
    h.client(ClientMessage::Audio(speech(40))).unwrap();
    assert!(h.to_model.is_empty(), "audio before start is not forwarded");
    assert!(h.step());
    assert_eq!(h.session.status(), InterviewStatus::Error);
    assert_eq!(h.session.end_reason(), Some(&EndReason::SetupTimeout));
    assert_eq!(h.event_names(), ["Ended"]);
    assert!(!h
        .persist
        .iter()
        .any(|p| matches!(p, PersistAction::Status(_))));
    assert_eq!(h.session.poll_timeout(), None);
    // A setupComplete that arrives too late does not revive it.
    assert_eq!(h.model(ModelEvent::SetupComplete), Err(SessionError::Ended));
}

#[test]
fn time_limit_wraps_up_then_ends() {
    let mut h = Harness::started(10 * MIN);
    h.model(ModelEvent::OutputTranscription("Hi".into()))
        .unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    // Early timeouts do nothing.
    h.session.handle_timeout(h.now + Duration::from_secs(1));
    h.drain();
    assert!(h.step());
    assert_eq!(h.event_names().last(), Some(&"WrapUp"));
    assert!(
        matches!(h.to_model.last(), Some(ModelCommand::Instruct(s)) if s == WRAP_UP_INSTRUCTION)
    );
    assert!(!h.session.is_ended());
    assert!(h.step());
    assert_eq!(h.session.end_reason(), Some(&EndReason::TimeLimit));
    assert_eq!(h.session.status(), InterviewStatus::Completed);
    assert!(!h.step(), "no timer after the end");
}

#[test]
fn ending_before_anything_was_said_is_an_error() {
    let mut h = Harness::started(10 * MIN);
    h.client(ClientMessage::End).unwrap();
    assert_eq!(h.session.status(), InterviewStatus::Error);
    let mut p = Harness::new(10 * MIN);
    p.client(ClientMessage::End).unwrap();
    assert_eq!(p.session.status(), InterviewStatus::Error);
}

#[test]
fn illegal_transitions_are_refused_by_the_lifecycle() {
    // The session only ever asks the store for forward moves; check them against the rules.
    let mut h = Harness::started(10 * MIN);
    h.model(ModelEvent::OutputTranscription("Hi".into()))
        .unwrap();
    h.client(ClientMessage::End).unwrap();
    let mut status = InterviewStatus::Pending;
    for p in &h.persist {
        let to = match p {
            PersistAction::Status(s) => *s,
            PersistAction::Finish { status, .. } => *status,
            PersistAction::Transcript(_)
            | PersistAction::OpenTurns(_)
            | PersistAction::AnswerAudio(_)
            | PersistAction::InterviewerCuts(_)
            | PersistAction::ResumptionHandle(_) => continue,
        };
        assert_eq!(status.check_transition(to), Ok(true));
        status = to;
    }
    assert_eq!(status, InterviewStatus::Completed);
    assert!(status
        .check_transition(InterviewStatus::InProgress)
        .is_err());
}

#[test]
fn quiet_audio_is_not_speech() {
    let mut h = Harness::started(10 * MIN);
    h.client(ClientMessage::Audio(silence(100))).unwrap();
    assert!(!h.session.transcript().is_open(Speaker::User));
    h.client(ClientMessage::Audio(speech(20))).unwrap();
    assert!(h.session.transcript().is_open(Speaker::User));
    assert_eq!(pcm16_rms(&Bytes::new()), 0.0);
}

#[test]
fn talking_over_the_model_is_one_candidate_turn() {
    let mut h = Harness::started(10 * MIN);
    h.model(ModelEvent::OutputTranscription("Tell me".into()))
        .unwrap();
    for _ in 0..20 {
        h.advance(Duration::from_millis(40));
        h.client(ClientMessage::Audio(speech(40))).unwrap();
        h.model(ModelEvent::Audio(Bytes::from_static(&[0, 0])))
            .unwrap();
    }
    h.model(ModelEvent::TurnComplete).unwrap();
    assert_eq!(
        h.stored_entries().len(),
        1,
        "only the model's turn has ended"
    );
    h.advance(Duration::from_millis(500));
    h.model(ModelEvent::OutputTranscription("Go on.".into()))
        .unwrap();
    let e = h.stored_entries();
    assert_eq!(e.len(), 2);
    assert_eq!(e[1].speaker, Speaker::User);
    // 20 frames of 40 ms, the first arriving at 40 ms: 0..800 ms on the answer's audio.
    assert_eq!((e[1].start_ms, e[1].end_ms), (0, 800));
}

#[test]
fn pauses_within_an_answer_are_tallied_on_the_sample_timeline() {
    let mut h = Harness::started(10 * MIN);
    h.model(ModelEvent::OutputTranscription("Question?".into()))
        .unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    // Silence before the answer starts is not part of it.
    h.client(ClientMessage::Audio(silence(3_000))).unwrap();
    // speech 500 ms, silence 1 200 ms (a pause), speech, silence 900 ms (not a pause),
    // speech, silence 1 500 ms (a pause), speech, then trailing silence (the end).
    for (talk, quiet) in [(500, 1_200), (400, 900), (300, 1_500), (200, 2_000)] {
        h.client(ClientMessage::Audio(speech(talk))).unwrap();
        for _ in 0..quiet / 100 {
            h.client(ClientMessage::Audio(silence(100))).unwrap();
        }
    }
    // The wall clock does not matter: no time passed at all.
    h.model(ModelEvent::OutputTranscription("Thanks.".into()))
        .unwrap();
    let tally = h.session.answer_audio().to_vec();
    assert_eq!(tally.len(), 1);
    assert_eq!(tally[0].sequence, 1);
    assert_eq!(tally[0].pauses_over_1s, 2);
    assert_eq!(tally[0].longest_pause_ms, 1_500);
    assert_eq!(tally[0].audio_ms, 7_000);
    assert!(!tally[0].barged_in);
    // A typed answer has no tally.
    h.client(ClientMessage::Text("typed".into())).unwrap();
    h.client(ClientMessage::End).unwrap();
    assert_eq!(h.session.answer_audio().len(), 1);
    let n = h.persist.len();
    assert_eq!(h.persist[n - 2], PersistAction::AnswerAudio(tally));
    assert!(matches!(h.persist[n - 1], PersistAction::Finish { .. }));
}

fn entry(sequence: u32, speaker: Speaker, text: &str, start_ms: u64) -> TranscriptEntry {
    TranscriptEntry {
        sequence,
        speaker,
        text: text.into(),
        start_ms,
        end_ms: start_ms + 1_000,
        interrupted: false,
        heard_text: None,
    }
}

#[test]
fn a_dropped_client_is_waited_for_and_gets_the_transcript_when_it_comes_back() {
    let mut h = Harness::started(10 * MIN);
    h.model(ModelEvent::OutputTranscription(
        "Tell me about yourself.".into(),
    ))
    .unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    h.advance(Duration::from_secs(2));
    h.client(ClientMessage::Text("I build backends".into()))
        .unwrap();
    h.session.handle_client_detached(h.now);
    h.drain();
    assert!(!h.session.is_ended() && !h.session.is_client_attached());
    assert_eq!(h.event_names().last(), Some(&"ClientDetached"));
    // The open answer is offered for storage at once, numbered as it will be.
    assert_eq!(
        h.persist.last(),
        Some(&PersistAction::OpenTurns(vec![TranscriptEntry {
            sequence: 1,
            speaker: Speaker::User,
            text: "I build backends".into(),
            start_ms: 2_000,
            end_ms: 2_000,
            interrupted: false,
            heard_text: None,
        }]))
    );
    // The model goes on; nothing reaches the absent client.
    let shown = h.to_client.len();
    h.advance(Duration::from_secs(1));
    h.model(ModelEvent::OutputTranscription("Thanks. Why".into()))
        .unwrap();
    assert_eq!(h.to_client.len(), shown);
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now - Duration::from_secs(1) + Duration::from_secs(60))
    );

    h.advance(Duration::from_secs(5));
    h.session.handle_client_attached(h.now).unwrap();
    h.drain();
    let Some(M::SessionResumed(r)) = h.to_client.last() else {
        panic!("no SessionResumed: {:?}", h.to_client.last())
    };
    assert_eq!(r.elapsed_ms, 8_000);
    assert_eq!(r.max_duration_ms, 600_000);
    let finished: Vec<_> = r
        .transcript
        .iter()
        .map(|e| (e.sequence, e.text.as_str()))
        .collect();
    assert_eq!(
        finished,
        [(0, "Tell me about yourself."), (1, "I build backends")]
    );
    let open: Vec<_> = r
        .open_turns
        .iter()
        .map(|e| (e.sequence, e.text.as_str()))
        .collect();
    assert_eq!(open, [(2, "Thanks. Why")]);
    // The rest of the turn reaches the client; the grace timer is gone.
    h.model(ModelEvent::OutputTranscription(" Rust?".into()))
        .unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    assert!(
        matches!(h.to_client.last(), Some(M::TranscriptUpdate(u)) if u.text == "Thanks. Why Rust?" && u.is_final)
    );
    assert!(h.session.poll_timeout().unwrap() > h.now + 5 * MIN);
    assert_eq!(
        h.event_names()
            .iter()
            .filter(|n| **n == "ClientAttached")
            .count(),
        1
    );
}

#[test]
fn the_grace_period_passing_ends_the_interview_with_what_was_said() {
    let config = SessionConfig::new(10 * MIN)
        .with_checkpoint_interval(Duration::ZERO)
        .with_reconnect_grace(Duration::from_secs(3));
    let mut h = Harness::with_config(config.clone());
    h.model(ModelEvent::SetupComplete).unwrap();
    h.model(ModelEvent::OutputTranscription("Hello.".into()))
        .unwrap();
    h.session.handle_client_detached(h.now);
    h.drain();
    assert!(h.step());
    assert_eq!(h.session.end_reason(), Some(&EndReason::ClientGone));
    assert_eq!(h.session.status(), InterviewStatus::Completed);
    assert_eq!(
        h.stored_entries().len(),
        1,
        "the open turn was finished and stored"
    );
    assert_eq!(
        h.session.handle_client_attached(h.now),
        Err(SessionError::Ended)
    );

    // Zero grace: the drop ends it at once (ERROR when nothing was said).
    let mut h = Harness::with_config(config.with_reconnect_grace(Duration::ZERO));
    h.model(ModelEvent::SetupComplete).unwrap();
    h.session.handle_client_detached(h.now);
    h.drain();
    assert_eq!(h.session.end_reason(), Some(&EndReason::ClientGone));
    assert_eq!(h.session.status(), InterviewStatus::Error);
}

#[test]
fn a_long_turn_is_offered_for_storage_every_interval_and_then_finished_under_its_sequence() {
    let mut h = Harness::with_config(SessionConfig::new(10 * MIN));
    h.model(ModelEvent::SetupComplete).unwrap();
    h.model(ModelEvent::OutputTranscription("Tell me".into()))
        .unwrap();
    assert!(h.step(), "the checkpoint timer is armed");
    let open = |h: &Harness| -> Vec<TranscriptEntry> {
        h.persist
            .iter()
            .filter_map(|p| match p {
                PersistAction::OpenTurns(o) => Some(o.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    };
    assert_eq!(open(&h).len(), 1);
    assert!(h.step());
    assert_eq!(
        open(&h).len(),
        1,
        "unchanged open turns are not offered again"
    );
    h.model(ModelEvent::OutputTranscription(" about yourself.".into()))
        .unwrap();
    assert!(h.step());
    let offered = open(&h);
    assert_eq!(offered.len(), 2);
    assert_eq!(offered[1].text, "Tell me about yourself.");
    h.model(ModelEvent::TurnComplete).unwrap();
    let stored = h.stored_entries();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].sequence, offered[0].sequence);
    assert!(
        stored[0].text.starts_with(&offered[0].text),
        "the finished entry extends the offered one"
    );
}

#[test]
fn a_resumed_interview_goes_on_after_its_stored_entries_without_a_new_greeting() {
    let now = Instant::now();
    let stored = vec![
        entry(0, Speaker::Ai, "Tell me about yourself.", 0),
        entry(1, Speaker::User, "I build backends.", 4_000),
    ];
    let session = InterviewSession::resume(
        "iv-1",
        SessionConfig::new(10 * MIN).with_checkpoint_interval(Duration::ZERO),
        stored.clone(),
        Duration::from_secs(30),
        now,
    );
    let mut h = Harness::from_session(session, now);
    assert!(!h.session.is_client_attached());
    h.session.handle_client_attached(h.now).unwrap();
    h.drain();
    assert!(h.to_client.is_empty(), "nothing before the model is ready");
    h.model(ModelEvent::SetupComplete).unwrap();
    assert!(
        !h.to_model.contains(&ModelCommand::Begin),
        "no second greeting"
    );
    assert!(!h
        .to_client
        .iter()
        .any(|m| matches!(m, M::SessionStarted(_))));
    let Some(M::SessionResumed(r)) = h.to_client.last() else {
        panic!("no SessionResumed")
    };
    assert_eq!((r.elapsed_ms, r.transcript.len()), (30_000, 2));
    h.model(ModelEvent::OutputTranscription("Why Rust?".into()))
        .unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    let e = &h.stored_entries()[0];
    assert_eq!((e.sequence, e.start_ms), (2, 30_000));
    // The time limit counts the 30 s already spent.
    assert_eq!(
        h.session.poll_timeout(),
        Some(now + 10 * MIN - Duration::from_secs(30) - Duration::from_secs(60))
    );

    // Nobody comes back: the stored entries are finished COMPLETED.
    let session = InterviewSession::resume(
        "iv-2",
        SessionConfig::new(10 * MIN).with_reconnect_grace(Duration::from_secs(5)),
        stored,
        Duration::from_secs(30),
        now,
    );
    let mut h = Harness::from_session(session, now);
    assert!(h.step());
    assert_eq!(h.session.end_reason(), Some(&EndReason::ClientGone));
    assert_eq!(h.session.status(), InterviewStatus::Completed);
}

#[test]
fn shutdown_ends_completed_with_what_was_said() {
    let mut h = Harness::started(10 * MIN);
    h.model(ModelEvent::OutputTranscription("Tell me".into()))
        .unwrap();
    h.session.handle_shutdown(h.now);
    h.drain();
    assert_eq!(h.session.end_reason(), Some(&EndReason::ServerShutdown));
    assert_eq!(h.session.status(), InterviewStatus::Completed);
    assert_eq!(EndReason::ServerShutdown.as_str(), "server_shutdown");
    assert!(
        matches!(h.to_client.last(), Some(M::SessionEnded(e)) if e.reason == proto::session_ended::Reason::ServerShutdown as i32)
    );
    assert_eq!(h.stored_entries().len(), 1);
}

#[test]
fn a_tool_call_is_refused_at_once_and_the_other_new_events_change_nothing() {
    use crate::model::{FunctionCall, TurnCompleteReason, UsageMetadata};
    let mut h = Harness::started(10 * MIN);
    h.to_model.clear();
    let call = FunctionCall::new("fc_1", "record_score", serde_json::json!({"score": 4}));
    h.model(ModelEvent::ToolCall(vec![call.clone()])).unwrap();
    assert_eq!(
        h.to_model,
        vec![ModelCommand::ToolResponse(vec![FunctionResponse::to(
            &call,
            serde_json::json!({"error": "no function named \"record_score\""})
        )])]
    );
    h.to_model.clear();
    let before = h.stored_entries();
    h.model(ModelEvent::OutputTranscription("Why Rust?".into()))
        .unwrap();
    h.model(ModelEvent::Usage(UsageMetadata::default()))
        .unwrap();
    h.model(ModelEvent::ToolCallCancellation(vec!["fc_1".into()]))
        .unwrap();
    h.model(ModelEvent::TurnCompleteReason {
        reason: TurnCompleteReason::NeedMoreInput,
        waiting_for_input: true,
    })
    .unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    assert!(h.to_model.is_empty(), "{:?}", h.to_model);
    let after = h.stored_entries();
    assert_eq!(after.len(), before.len() + 1, "{after:?}");
    assert_eq!(after.last().unwrap().text, "Why Rust?");
}

mod early_texts;
mod faults;
