//! The reconnect machine driven with a fake clock: `Instant` values built by the test, no
//! sockets, no runtime.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use preppal_core::session::REPROMPT_INSTRUCTION;
use preppal_core::{ModelCommand, ModelEvent, Speaker, TranscriptEntry};
use serde_json::Value;

use super::{Action, Reconnect, Route};
use crate::resilient::policy::ReconnectPolicy;

const STALL: Duration = Duration::from_secs(15);

struct Harness {
    m: Reconnect,
    start: Instant,
}

impl Harness {
    fn new() -> Self {
        Self::with_policy(ReconnectPolicy::default())
    }

    fn with_policy(policy: ReconnectPolicy) -> Self {
        let start = Instant::now();
        Self {
            m: Reconnect::new(policy, start),
            start,
        }
    }

    fn at(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    fn event(&mut self, ms: u64, event: ModelEvent) {
        let now = self.at(ms);
        self.m.handle_event(event, now);
    }

    /// Sends `cmd` as the shell does on a connection whose writes succeed.
    fn send(&mut self, ms: u64, cmd: ModelCommand) -> Route {
        let route = self.m.route_command(&cmd, self.at(ms));
        match route {
            Route::Send => self.m.sent(cmd),
            Route::Buffer => self.m.buffer(cmd),
            _ => {}
        }
        route
    }

    fn events(&mut self) -> Vec<ModelEvent> {
        std::iter::from_fn(|| self.m.poll_event()).collect()
    }

    fn actions(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.m.poll_action()).collect()
    }

    /// Every buffered command the shell would write to the installed connection.
    fn flushed(&mut self) -> Vec<ModelCommand> {
        let mut out = Vec::new();
        while let Some(cmd) = self.m.front_buffered().cloned() {
            out.push(cmd);
            self.m.buffered_sent();
        }
        out
    }

    /// A model line on the connection: transcription, generationComplete, a fresh
    /// resumable handle when `handle` is given, turnComplete.
    fn line(&mut self, ms: u64, text: &str, handle: Option<&str>) {
        self.event(ms, ModelEvent::Audio(Bytes::from_static(&[0; 4])));
        self.event(ms, ModelEvent::OutputTranscription(text.to_owned()));
        self.event(ms + 10, ModelEvent::GenerationComplete);
        if let Some(h) = handle {
            self.event(ms + 20, resumable(h));
        }
        self.event(ms + 30, ModelEvent::TurnComplete);
    }
}

fn resumable(handle: &str) -> ModelEvent {
    ModelEvent::ResumptionUpdate {
        handle: handle.to_owned(),
        resumable: true,
    }
}

fn switch_to(handle: Option<&str>) -> Action {
    Action::Switch {
        handle: handle.map(str::to_owned),
    }
}

fn entry(sequence: u32, speaker: Speaker, text: &str) -> TranscriptEntry {
    TranscriptEntry {
        sequence,
        speaker,
        text: text.to_owned(),
        start_ms: 0,
        end_ms: 0,
        interrupted: false,
        heard_text: None,
    }
}

fn reconnecting(events: &[ModelEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match e {
            ModelEvent::Reconnecting { reason } => Some(reason.as_str()),
            _ => None,
        })
        .collect()
}

fn seed_of(actions: &[Action]) -> Value {
    let seed = actions
        .iter()
        .find_map(|a| match a {
            Action::SendMessage(m) => Some(m.clone()),
            _ => None,
        })
        .expect("a seed");
    serde_json::from_str(&seed).unwrap()
}

#[test]
fn go_away_waits_for_a_quiet_moment_then_switches_with_the_handle() {
    let mut h = Harness::new();
    h.event(0, ModelEvent::SetupComplete);
    assert_eq!(h.send(5, ModelCommand::Begin), Route::Send);
    h.line(100, "Tell me about yourself.", Some("h1"));
    h.events();
    // The candidate is answering when goAway comes.
    h.m.set_quiet(false);
    h.event(
        1_000,
        ModelEvent::GoAway {
            time_left_ms: 30_000,
        },
    );
    assert_eq!(
        h.events(),
        [ModelEvent::GoAway {
            time_left_ms: 30_000
        }]
    );
    assert!(h.actions().is_empty(), "no switch mid-answer");
    assert!(!h.m.is_switching());
    // The deadline is goAway's timeLeft less the 5 s margin.
    assert_eq!(h.m.poll_timeout(), Some(h.at(26_000)));
    // The reply is under way: still no switch, even once the caller is quiet.
    h.event(2_000, ModelEvent::OutputTranscription("Thanks.".into()));
    h.m.set_quiet(true);
    h.events();
    assert!(h.actions().is_empty(), "no switch mid-generation");
    h.event(2_100, ModelEvent::GenerationComplete);
    h.events();
    assert!(h.actions().is_empty(), "the handle is older than the reply");
    h.event(2_200, resumable("h2"));
    h.event(2_300, ModelEvent::TurnComplete);
    h.events();
    assert_eq!(h.actions(), [switch_to(Some("h2"))]);
    assert_eq!(reconnecting(&h.events()), ["goAway"]);
    assert!(h.m.is_switching());
    assert_eq!(h.m.switches(), 1);
    assert_eq!(h.m.poll_timeout(), None, "no watchdog during a switch");
}

#[test]
fn go_away_deadline_forces_the_switch_mid_generation() {
    let mut h = Harness::new();
    h.event(0, ModelEvent::SetupComplete);
    h.send(5, ModelCommand::Begin);
    h.event(100, resumable("h1"));
    h.event(200, ModelEvent::OutputTranscription("Hello and".into()));
    h.event(
        300,
        ModelEvent::GoAway {
            time_left_ms: 4_000,
        },
    );
    h.events();
    assert!(h.actions().is_empty());
    // 4 s left, margin capped at half of it: the deadline is at 300 + 2 000 ms.
    let deadline = h.m.poll_timeout().unwrap();
    assert_eq!(deadline, h.at(2_300));
    h.m.handle_timeout(h.at(2_299));
    assert!(h.events().is_empty(), "not due yet");
    h.m.handle_timeout(deadline);
    assert_eq!(
        h.events(),
        [
            ModelEvent::Interrupted,
            ModelEvent::TurnComplete,
            ModelEvent::Reconnecting {
                reason: "goAway deadline".into()
            }
        ]
    );
    assert_eq!(h.actions(), [switch_to(Some("h1"))]);
}

#[test]
fn a_retryable_close_switches_and_buffers_until_the_new_connection_opens() {
    let mut h = Harness::new();
    h.event(0, ModelEvent::SetupComplete);
    h.send(5, ModelCommand::Begin);
    h.line(100, "Hello.", Some("h1"));
    h.events();
    h.event(
        500,
        ModelEvent::Closed {
            code: 1011,
            reason: "Internal error occurred.".into(),
        },
    );
    assert_eq!(
        reconnecting(&h.events()),
        ["closed 1011: Internal error occurred."]
    );
    assert_eq!(h.actions(), [switch_to(Some("h1"))]);
    assert_eq!(
        h.send(600, ModelCommand::Text("An answer.".into())),
        Route::Buffer
    );
    assert!(h.m.front_buffered().is_none(), "held until installed");
    h.m.installed(h.at(700));
    assert!(h.actions().is_empty(), "no seed with a handle");
    assert_eq!(h.flushed(), [ModelCommand::Text("An answer.".into())]);
    h.event(710, ModelEvent::SetupComplete);
    assert_eq!(h.events(), [ModelEvent::Resumed { with_handle: true }]);
    assert!(!h.m.is_ended());
}

#[test]
fn a_close_that_is_not_retryable_ends_the_session() {
    let mut h = Harness::new();
    h.event(0, ModelEvent::SetupComplete);
    h.events();
    let closed = ModelEvent::Closed {
        code: 1007,
        reason: "Request contains an invalid argument.".into(),
    };
    h.event(100, closed.clone());
    assert_eq!(h.events(), [closed]);
    assert!(h.actions().is_empty());
    assert!(h.m.is_ended());
    assert_eq!(h.send(200, ModelCommand::Begin), Route::Ended);
    assert_eq!(h.m.switches(), 0);
}

#[test]
fn close_during_a_switch_aborts_it_and_ends_once() {
    let mut h = Harness::new();
    h.event(0, ModelEvent::SetupComplete);
    h.event(
        100,
        ModelEvent::Closed {
            code: 1011,
            reason: String::new(),
        },
    );
    h.events();
    h.actions();
    assert_eq!(h.send(200, ModelCommand::Close), Route::AbortSwitch);
    assert_eq!(
        h.events(),
        [ModelEvent::Closed {
            code: 1000,
            reason: String::new()
        }]
    );
    assert!(h.m.is_ended() && !h.m.is_switching());
}

#[test]
fn a_stall_switches_and_a_silent_new_connection_is_reprompted() {
    let mut h = Harness::new();
    h.event(0, ModelEvent::SetupComplete);
    h.send(10, ModelCommand::Begin);
    // A reply is owed since Begin: the watchdog runs from there.
    assert_eq!(h.m.poll_timeout(), Some(h.at(10) + STALL));
    h.event(500, ModelEvent::OutputTranscription("Hel".into()));
    // A generation under way: from its last output.
    assert_eq!(h.m.poll_timeout(), Some(h.at(500) + STALL));
    h.events();
    h.m.handle_timeout(h.at(500) + STALL);
    assert_eq!(reconnecting(&h.events()), ["stall"]);
    assert_eq!(h.actions(), [switch_to(None)]);
    h.m.installed(h.at(16_000));
    // The cut generation owed a reply: the watchdog waits for it on the new connection.
    assert_eq!(h.m.poll_timeout(), Some(h.at(16_000) + STALL));
    h.actions();
    h.m.handle_timeout(h.at(16_000) + STALL);
    assert!(h.events().is_empty(), "no second switch");
    assert_eq!(
        h.actions(),
        [Action::Send(ModelCommand::Instruct(
            REPROMPT_INSTRUCTION.to_owned()
        ))]
    );
    assert_eq!(h.m.switches(), 1);
    // Re-prompted once: a further stall switches.
    let next = h.m.poll_timeout().unwrap();
    h.m.handle_timeout(next);
    assert_eq!(reconnecting(&h.events()), ["stall"]);
    assert_eq!(h.m.switches(), 2);
}

#[test]
fn without_a_handle_the_seed_is_the_handed_transcript_not_the_model_events() {
    let mut h = Harness::new();
    h.event(0, ModelEvent::SetupComplete);
    h.send(5, ModelCommand::Begin);
    // What the model said on the wire differs from the caller's transcript: the seed must
    // follow the transcript.
    h.line(100, "wire words", None);
    h.send(1_000, ModelCommand::Text("typed on the wire".into()));
    h.event(1_500, ModelEvent::OutputTranscription("Cut li".into()));
    h.event(
        1_600,
        ModelEvent::Closed {
            code: 1011,
            reason: String::new(),
        },
    );
    let events = h.events();
    assert_eq!(
        &events[events.len() - 3..events.len() - 1],
        [ModelEvent::Interrupted, ModelEvent::TurnComplete]
    );
    assert_eq!(h.actions(), [switch_to(None)]);
    // The caller's transcript after it handled the cut: the cut line is its last entry.
    h.m.set_history(&[
        entry(0, Speaker::Ai, "Welcome, tell me about yourself."),
        entry(1, Speaker::User, "I build payment systems."),
        entry(2, Speaker::Ai, "Cut li"),
    ]);
    h.send(1_700, ModelCommand::Audio(Bytes::from_static(&[1; 8])));
    h.m.installed(h.at(2_000));
    let actions = h.actions();
    let seed = seed_of(&actions);
    let turns = seed["clientContent"]["turns"].as_array().unwrap();
    let texts: Vec<(&str, &str)> = turns
        .iter()
        .map(|t| {
            (
                t["role"].as_str().unwrap(),
                t["parts"][0]["text"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        texts,
        [
            ("model", "Welcome, tell me about yourself."),
            ("user", "I build payment systems.")
        ],
        "the handed transcript, without the line the switch cut"
    );
    assert_eq!(seed["clientContent"]["turnComplete"], true);
    assert!(!seed.to_string().contains("wire words"));
    // Then what was buffered during the switch (not input from before it).
    assert_eq!(
        h.flushed(),
        [ModelCommand::Audio(Bytes::from_static(&[1; 8]))]
    );
    h.event(2_100, ModelEvent::SetupComplete);
    assert_eq!(h.events(), [ModelEvent::Resumed { with_handle: false }]);
}

#[test]
fn without_a_handle_or_a_transcript_a_begun_interview_begins_again() {
    let mut h = Harness::new();
    h.event(0, ModelEvent::SetupComplete);
    h.send(5, ModelCommand::Begin);
    h.event(
        100,
        ModelEvent::Closed {
            code: 1011,
            reason: String::new(),
        },
    );
    h.events();
    h.actions();
    h.m.installed(h.at(200));
    let begin = crate::protocol::encode_command(&ModelCommand::Begin).unwrap();
    assert_eq!(
        seed_of(&h.actions()),
        serde_json::from_str::<Value>(&begin).unwrap()
    );
}

#[test]
fn a_stale_handle_resume_drops_a_repeat_of_the_last_interviewer_entry() {
    let mut h = Harness::new();
    h.event(0, ModelEvent::SetupComplete);
    h.send(5, ModelCommand::Begin);
    h.event(50, resumable("h0"));
    // The line completes, but no handle comes after it.
    h.line(100, "What did you build?", None);
    h.event(
        400,
        ModelEvent::GoAway {
            time_left_ms: 2_000,
        },
    );
    h.events();
    assert!(
        h.actions().is_empty(),
        "waits for a handle covering the line"
    );
    h.m.handle_timeout(h.m.poll_timeout().unwrap());
    assert_eq!(h.actions(), [switch_to(Some("h0"))]);
    h.events();
    h.m.set_history(&[entry(0, Speaker::Ai, "What did you build?")]);
    h.m.installed(h.at(2_000));
    h.event(2_010, ModelEvent::SetupComplete);
    assert_eq!(h.events(), [ModelEvent::Resumed { with_handle: true }]);
    // The resumed model says the line again, in fragments: dropped whole.
    h.event(2_100, ModelEvent::Audio(Bytes::from_static(&[0; 4])));
    h.event(2_100, ModelEvent::OutputTranscription("What did ".into()));
    h.event(2_150, ModelEvent::OutputTranscription("you build?".into()));
    h.event(2_200, ModelEvent::GenerationComplete);
    h.event(2_300, ModelEvent::TurnComplete);
    assert!(h.events().is_empty(), "the repeat was dropped");
    // The next turn passes.
    h.event(3_000, ModelEvent::OutputTranscription("And then?".into()));
    assert_eq!(
        h.events(),
        [ModelEvent::OutputTranscription("And then?".into())]
    );
}

#[test]
fn a_first_turn_that_is_not_a_repeat_is_passed_on_whole() {
    let mut h = Harness::new();
    h.event(0, ModelEvent::SetupComplete);
    h.event(50, resumable("h0"));
    h.line(100, "What did you build?", None);
    h.event(
        400,
        ModelEvent::Closed {
            code: 1011,
            reason: String::new(),
        },
    );
    h.events();
    h.actions();
    h.m.set_history(&[entry(0, Speaker::Ai, "What did you build?")]);
    h.m.installed(h.at(1_000));
    h.event(1_100, ModelEvent::OutputTranscription("What did ".into()));
    assert!(h.events().is_empty(), "held while it could be the repeat");
    h.event(1_150, ModelEvent::OutputTranscription("it cost?".into()));
    assert_eq!(
        h.events(),
        [
            ModelEvent::OutputTranscription("What did ".into()),
            ModelEvent::OutputTranscription("it cost?".into())
        ]
    );
}

#[test]
fn buffered_audio_is_bounded_oldest_dropped_first() {
    let policy = ReconnectPolicy::default().with_max_buffered_audio_bytes(3 * 100);
    let mut h = Harness::with_policy(policy);
    h.event(0, ModelEvent::SetupComplete);
    h.event(
        10,
        ModelEvent::Closed {
            code: 1011,
            reason: String::new(),
        },
    );
    h.events();
    h.actions();
    for i in 0..5u8 {
        assert_eq!(
            h.send(20, ModelCommand::Audio(Bytes::from(vec![i; 100]))),
            Route::Buffer
        );
    }
    assert_eq!(h.m.dropped_buffered_audio_bytes(), 200);
    h.m.installed(h.at(100));
    let firsts: Vec<u8> = h
        .flushed()
        .iter()
        .map(|c| match c {
            ModelCommand::Audio(a) => a[0],
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(firsts, [2, 3, 4]);
}

#[test]
fn input_since_the_handle_is_replayed_bounded_on_the_resumed_connection() {
    let policy = ReconnectPolicy::default().with_max_buffered_audio_bytes(2 * 100);
    let mut h = Harness::with_policy(policy);
    h.event(0, ModelEvent::SetupComplete);
    h.line(10, "Question?", Some("h1"));
    h.send(100, ModelCommand::Audio(Bytes::from(vec![0; 100])));
    h.event(150, resumable("h2"));
    // After h2: three chunks (the bound keeps two) and a typed answer.
    for i in 1..4u8 {
        h.send(200, ModelCommand::Audio(Bytes::from(vec![i; 100])));
    }
    h.send(300, ModelCommand::Text("typed".into()));
    h.event(
        400,
        ModelEvent::Closed {
            code: 1011,
            reason: String::new(),
        },
    );
    h.events();
    assert_eq!(h.actions(), [switch_to(Some("h2"))]);
    h.send(500, ModelCommand::Audio(Bytes::from(vec![9; 100])));
    h.m.installed(h.at(600));
    let replay: Vec<String> = h
        .flushed()
        .iter()
        .map(|c| match c {
            ModelCommand::Audio(a) => format!("audio {}", a[0]),
            ModelCommand::Text(t) => t.clone(),
            other => format!("{other:?}"),
        })
        .collect();
    // The replay goes first; the chunk sent during the switch then pushes the oldest
    // replayed chunk out of the switch buffer's own bound.
    assert_eq!(replay, ["audio 3", "typed", "audio 9"]);
    assert_eq!(h.m.dropped_buffered_audio_bytes(), 100);
}

/// What the installed connection is sent, as text: typed answers and `Begin` by name.
fn replayed(h: &mut Harness) -> Vec<String> {
    h.flushed()
        .iter()
        .map(|c| match c {
            ModelCommand::Audio(_) => "audio".to_owned(),
            ModelCommand::Text(t) => t.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn a_typed_answer_the_model_began_answering_is_replayed_until_a_later_handle_covers_it() {
    let mut h = Harness::new();
    h.event(0, ModelEvent::SetupComplete);
    h.line(10, "Question?", Some("h1"));
    h.send(100, ModelCommand::Text("my answer".into()));
    // The model begins its reply to the answer, then the connection drops mid-line: h1
    // came before the answer, so the session it resumes never heard it.
    h.event(200, ModelEvent::OutputTranscription("Thank".into()));
    h.event(
        300,
        ModelEvent::Closed {
            code: 1011,
            reason: String::new(),
        },
    );
    h.events();
    assert_eq!(h.actions(), [switch_to(Some("h1"))]);
    h.m.installed(h.at(400));
    assert_eq!(replayed(&mut h), ["my answer"]);

    // On the new connection the reply is said whole and a handle after it covers the
    // answer: a later switch replays nothing of it.
    h.line(500, "Thank you. Next?", Some("h2"));
    h.event(
        700,
        ModelEvent::Closed {
            code: 1011,
            reason: String::new(),
        },
    );
    h.events();
    assert_eq!(h.actions(), [switch_to(Some("h2"))]);
    h.m.installed(h.at(800));
    assert!(replayed(&mut h).is_empty());
}
