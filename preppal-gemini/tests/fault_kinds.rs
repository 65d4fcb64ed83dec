//! The model fault kinds, whole path: the simulator plays the fault on cue, a
//! `LiveInterview` (an `InterviewSession` over a `ResilientSession`) runs the interview,
//! and a scripted candidate talks over loopback. Each test asserts what the candidate heard
//! and saw and what was stored.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "simulator")]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{instruction, script, sim_config, LIMIT};
use futures::channel::mpsc;
use futures::StreamExt as _;
use preppal_core::codec::{self, ClientMessage};
use preppal_core::proto::server_to_client_message::Message as M;
use preppal_core::{
    InterviewSession, ModelCommand, ModelEvent, PersistAction, SessionConfig, Speaker,
    TranscriptEntry,
};
use preppal_gemini::simulator::{Fault, FaultTrigger, Simulator, SimulatorConfig, SimulatorHandle};
use preppal_gemini::{LiveConfig, LiveInterview, ReconnectPolicy, ResilientSession};
use serde_json::Value;

/// 40 ms of PCM16LE at 16 kHz: a loud square wave, or silence.
fn frame(loud: bool) -> Bytes {
    let mut v = Vec::with_capacity(1_280);
    for i in 0..640 {
        let s: i16 = match (loud, (i / 8) % 2 == 0) {
            (false, _) => 0,
            (true, true) => 8_000,
            (true, false) => -8_000,
        };
        v.extend_from_slice(&s.to_le_bytes());
    }
    Bytes::from(v)
}

/// The candidate's side: frames to send, and what the interview sent back.
struct Candidate {
    tx: mpsc::UnboundedSender<Bytes>,
    rx: mpsc::UnboundedReceiver<Bytes>,
    seen: Vec<M>,
}

impl Candidate {
    fn send(&self, msg: &ClientMessage) {
        self.tx.unbounded_send(codec::encode_client(msg)).unwrap();
    }

    /// An answer: `speech_ms` of speech, then `silence_ms` of silence, in 40 ms frames.
    fn answer(&self, speech_ms: usize, silence_ms: usize) {
        for _ in 0..speech_ms / 40 {
            self.send(&ClientMessage::Audio(frame(true)));
        }
        for _ in 0..silence_ms / 40 {
            self.send(&ClientMessage::Audio(frame(false)));
        }
    }

    /// Reads server messages until `done` holds for one; returns it.
    async fn until(&mut self, done: impl Fn(&M) -> bool) -> M {
        loop {
            let frame = tokio::time::timeout(LIMIT, self.rx.next())
                .await
                .expect("a server message in time")
                .expect("the interview is still on");
            let msg = codec::decode_server(frame).unwrap();
            self.seen.push(msg.clone());
            if done(&msg) {
                return msg;
            }
        }
    }

    /// Reads the rest, until the interview closes the stream.
    async fn drain(&mut self) {
        while let Ok(Some(frame)) = tokio::time::timeout(LIMIT, self.rx.next()).await {
            self.seen.push(codec::decode_server(frame).unwrap());
        }
    }
}

fn turn_complete(m: &M) -> bool {
    matches!(m, M::TranscriptUpdate(u) if u.turn_complete)
}

/// Runs an interview against `sim`; `candidate` plays the candidate's part and ends it.
async fn interview<F, Fut>(
    sim: SimulatorConfig,
    candidate: F,
) -> (InterviewSession, Vec<M>, Vec<PersistAction>)
where
    F: FnOnce(Candidate) -> Fut,
    Fut: std::future::Future<Output = Candidate> + Send + 'static,
{
    let sim = Simulator::start(sim).await.unwrap();
    let config = LiveConfig::new("test-key", instruction()).with_endpoint(sim.url());
    let interview = LiveInterview::start(
        "iv-faults",
        SessionConfig::new(Duration::from_secs(600)),
        config,
        ReconnectPolicy::default(),
    )
    .await
    .unwrap();
    let (tx, from_client) = mpsc::unbounded();
    let (to_client, rx) = mpsc::unbounded();
    let persisted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = persisted.clone();
    let run = tokio::spawn(interview.run(from_client, to_client, move |action| {
        sink.lock().unwrap().push(action);
        std::future::ready(Ok::<(), std::convert::Infallible>(()))
    }));
    let mut c = candidate(Candidate {
        tx,
        rx,
        seen: Vec::new(),
    })
    .await;
    c.drain().await;
    let session = tokio::time::timeout(LIMIT, run).await.unwrap().unwrap();
    sim.shutdown().await;
    let persisted = persisted.lock().unwrap().clone();
    (session, c.seen, persisted)
}

/// The stored transcript: each sequence as last written (a later write extends it).
fn stored(persisted: &[PersistAction]) -> Vec<TranscriptEntry> {
    let mut by_sequence = std::collections::BTreeMap::new();
    for p in persisted {
        if let PersistAction::Transcript(batch) = p {
            for e in batch {
                by_sequence.insert(e.sequence, e.clone());
            }
        }
    }
    by_sequence.into_values().collect()
}

#[tokio::test]
async fn kind1_interrupted_without_turn_complete_next_turn_is_heard() {
    let sim = sim_config().with_fault(
        FaultTrigger::DuringLine(0),
        Fault::InterruptWithoutTurnComplete { late_audio: true },
    );
    let (session, seen, persisted) = interview(sim, |mut c| async move {
        c.until(|m| matches!(m, M::Interrupted(_))).await;
        // The candidate's barge-in: speech, then silence until the simulator answers.
        c.answer(600, 3_400);
        c.until(turn_complete).await;
        c.send(&ClientMessage::End);
        c
    })
    .await;
    let lines = script().lines;
    let cut = seen
        .iter()
        .position(|m| matches!(m, M::Interrupted(_)))
        .unwrap();
    // Heard: the next question's audio after the cut, and its caption, as a whole turn.
    assert!(seen[cut..].iter().any(|m| matches!(m, M::AudioResponse(_))));
    assert!(seen[cut..].iter().any(|m| matches!(m,
        M::TranscriptUpdate(u) if u.is_final && u.turn_complete && u.text == lines[1])));
    // The late audio of the cut generation (one 100 ms chunk at 24 kHz) was dropped.
    assert_eq!(session.dropped_audio_bytes(), 4_800);
    // Stored: the cut greeting, the barge-in, the next question.
    let entries = stored(&persisted);
    let speakers: Vec<_> = entries.iter().map(|e| e.speaker).collect();
    assert_eq!(speakers, [Speaker::Ai, Speaker::User, Speaker::Ai]);
    assert!(lines[0].starts_with(&entries[0].text));
    assert_eq!(entries[2].text, lines[1]);
}

#[tokio::test]
async fn kind2_late_input_transcription_completes_the_answer_it_transcribes() {
    let sim = sim_config()
        .with_fault(
            FaultTrigger::DuringLine(1),
            Fault::InputTranscription {
                text: "I led the".into(),
            },
        )
        .with_fault(
            FaultTrigger::DuringLine(1),
            Fault::InputTranscription {
                text: " migration.".into(),
            },
        );
    let (session, seen, persisted) = interview(sim, |mut c| async move {
        c.until(turn_complete).await;
        c.answer(600, 3_400);
        c.until(turn_complete).await;
        c.send(&ClientMessage::End);
        c
    })
    .await;
    let lines = script().lines;
    let expected = [
        (Speaker::Ai, lines[0].as_str()),
        (Speaker::User, "I led the migration."),
        (Speaker::Ai, lines[1].as_str()),
    ];
    let in_session: Vec<_> = session
        .transcript()
        .entries()
        .iter()
        .map(|e| (e.speaker, e.text.as_str()))
        .collect();
    assert_eq!(in_session, expected);
    let entries = stored(&persisted);
    let in_store: Vec<_> = entries
        .iter()
        .map(|e| (e.speaker, e.text.as_str()))
        .collect();
    assert_eq!(in_store, expected);
    // The captions: the late fragments name the answer's entry.
    let late: String = seen
        .iter()
        .filter_map(|m| match m {
            M::TranscriptUpdate(u) if u.sequence == 1 && u.speaker == "USER" => {
                Some(u.text.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(late, "I led the migration.");
}

// ---- rotations: ResilientSession against the simulator --------------------------------

fn policy() -> ReconnectPolicy {
    ReconnectPolicy::default()
        .with_backoff(Duration::from_millis(20), Duration::from_millis(200))
        .with_max_retries(4)
        .with_go_away_margin(Duration::from_millis(300))
        .with_stall_timeout(Duration::from_secs(3))
}

/// The next event other than `Usage`.
async fn next(live: &mut ResilientSession) -> ModelEvent {
    loop {
        let event = tokio::time::timeout(LIMIT, live.next_event())
            .await
            .expect("an event in time")
            .expect("the session goes on")
            .expect("not an error");
        if !matches!(event, ModelEvent::Usage(_)) {
            return event;
        }
    }
}

/// Reads events until a `TurnComplete`; returns them and the turn's joined transcription.
async fn turn(live: &mut ResilientSession, events: &mut Vec<ModelEvent>) -> String {
    let mut text = String::new();
    loop {
        let event = next(live).await;
        if let ModelEvent::OutputTranscription(t) = &event {
            text.push_str(t);
        }
        let done = event == ModelEvent::TurnComplete;
        events.push(event);
        if done {
            return text;
        }
    }
}

fn resumed_handles(sim: &SimulatorHandle) -> Vec<String> {
    sim.recorded()
        .into_iter()
        .filter(|c| !c.is_empty())
        .skip(1)
        .map(|c| {
            c[0].pointer("/setup/sessionResumption/handle")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn kind3_go_away_resumes_with_a_handle_covering_the_last_turn_nothing_said_twice() {
    let sim = Simulator::start(sim_config().with_fault(
        FaultTrigger::DuringLine(0),
        Fault::GoAway {
            time_left: Duration::from_secs(20),
        },
    ))
    .await
    .unwrap();
    let config = LiveConfig::new("test-key", instruction()).with_endpoint(sim.url());
    let mut live = ResilientSession::connect(config, policy()).await.unwrap();
    assert_eq!(next(&mut live).await, ModelEvent::SetupComplete);
    live.send(ModelCommand::Begin).await.unwrap();
    let mut events = Vec::new();
    let first = turn(&mut live, &mut events).await;
    // The switch comes once a handle issued after the line's generation is at hand.
    loop {
        let event = next(&mut live).await;
        let resumed = matches!(event, ModelEvent::Resumed { .. });
        events.push(event);
        if resumed {
            break;
        }
    }
    live.send(ModelCommand::Text("I led the migration.".into()))
        .await
        .unwrap();
    let second = turn(&mut live, &mut events).await;
    live.send(ModelCommand::Close).await.unwrap();
    let lines = script().lines;
    assert_eq!([first.as_str(), second.as_str()], [&lines[0], &lines[1]]);
    // The handle the new connection resumed with came after the first line's output.
    let handles: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            ModelEvent::ResumptionUpdate {
                handle,
                resumable: true,
            } => Some(handle.as_str()),
            _ => None,
        })
        .collect();
    let resumed = resumed_handles(&sim);
    assert_eq!(resumed.len(), 1, "{resumed:?}");
    let used = handles.iter().position(|h| *h == resumed[0]).unwrap();
    let first_audio = events
        .iter()
        .position(|e| matches!(e, ModelEvent::Audio(_)))
        .unwrap();
    let used_at = events
        .iter()
        .position(|e| matches!(e, ModelEvent::ResumptionUpdate { handle, .. } if *handle == handles[used]))
        .unwrap();
    assert!(
        used_at > first_audio,
        "resumed from a handle older than the line"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn kind6_a_typed_answer_after_the_last_handle_is_sent_again_on_the_resumed_connection() {
    let sim = Simulator::start(sim_config().with_fault(
        FaultTrigger::AfterLine(0),
        Fault::GoAwayThenSilence {
            time_left: Duration::from_secs(5),
        },
    ))
    .await
    .unwrap();
    let config = LiveConfig::new("test-key", instruction()).with_endpoint(sim.url());
    let mut live = ResilientSession::connect(config, policy()).await.unwrap();
    assert_eq!(next(&mut live).await, ModelEvent::SetupComplete);
    live.send(ModelCommand::Begin).await.unwrap();
    let mut events = Vec::new();
    let first = turn(&mut live, &mut events).await;
    // The answer goes out on the old connection, which has gone silent after goAway.
    live.send(ModelCommand::Text("I led the migration.".into()))
        .await
        .unwrap();
    let second = turn(&mut live, &mut events).await;
    live.send(ModelCommand::Close).await.unwrap();
    let lines = script().lines;
    assert_eq!([first.as_str(), second.as_str()], [&lines[0], &lines[1]]);
    let recorded: Vec<_> = sim
        .recorded()
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(recorded.len(), 2, "one rotation, no reconnect loop");
    let texts = |c: &Vec<Value>| -> Vec<String> {
        c.iter()
            .filter_map(|m| m.pointer("/realtimeInput/text").and_then(Value::as_str))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(texts(&recorded[0]), ["I led the migration."]);
    assert_eq!(
        texts(&recorded[1]),
        ["I led the migration."],
        "sent again after the resume"
    );
    assert!(
        !recorded[1]
            .iter()
            .any(|m| m.pointer("/clientContent").is_some()),
        "answered without a re-prompt"
    );
    sim.shutdown().await;
}

/// Ticks `interview` until the interviewer finishes a turn; its text.
async fn interviewer_turn(interview: &mut LiveInterview) -> String {
    tokio::time::timeout(LIMIT, async {
        loop {
            interview.tick().await;
            while let Some(msg) = interview.poll_to_client() {
                if let Some(M::TranscriptUpdate(u)) = msg.message {
                    if u.speaker == "AI" && u.is_final && u.turn_complete {
                        return u.text;
                    }
                }
            }
        }
    })
    .await
    .expect("a turn in time")
}

#[tokio::test]
async fn kind3_go_away_mid_answer_waits_for_the_interview_to_be_quiet() {
    // goAway 3 s after the connection opens, with time to spare: the candidate is then
    // mid-answer, which the interview (not the connection) knows.
    let sim = Simulator::start(sim_config().with_go_away_after(Duration::from_secs(3)))
        .await
        .unwrap();
    let config = LiveConfig::new("test-key", instruction()).with_endpoint(sim.url());
    let mut interview = LiveInterview::start(
        "iv-quiet",
        SessionConfig::new(Duration::from_secs(600)),
        config,
        policy(),
    )
    .await
    .unwrap();
    let lines = script().lines;
    assert_eq!(interviewer_turn(&mut interview).await, lines[0]);
    // Speech in real time (40 ms frames) until goAway, and 400 ms more.
    let mut frames = 0usize;
    let mut after_go_away = None;
    let mut pace = tokio::time::interval(Duration::from_millis(40));
    tokio::time::timeout(LIMIT, async {
        while after_go_away != Some(0) {
            tokio::select! {
                _ = pace.tick() => {
                    interview.handle_client(ClientMessage::Audio(frame(true))).await;
                    frames += 1;
                    after_go_away = after_go_away.map(|n: usize| n - 1);
                }
                () = interview.tick() => {}
            }
            while interview.poll_to_client().is_some() {}
            while let Some(event) = interview.poll_event() {
                if matches!(event, preppal_core::SessionEvent::GoAway { .. }) {
                    after_go_away = Some(10);
                }
            }
        }
    })
    .await
    .expect("goAway in time");
    assert_eq!(sim.connections(), 1, "no switch mid-answer");
    // The answer ends (4 s of silence, past the simulator's 3 s); the reply follows on
    // the same connection, and only then does the interview move.
    for _ in 0..100 {
        interview
            .handle_client(ClientMessage::Audio(frame(false)))
            .await;
        frames += 1;
    }
    assert_eq!(interviewer_turn(&mut interview).await, lines[1]);
    tokio::time::timeout(LIMIT, async {
        while sim.connections() < 2 {
            tokio::select! {
                () = interview.tick() => {}
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
    })
    .await
    .expect("the switch after the reply");
    let audio = sim.recorded()[0]
        .iter()
        .filter(|m| m.pointer("/realtimeInput/audio").is_some())
        .count();
    assert_eq!(
        audio, frames,
        "the whole answer reached the first connection"
    );
    interview.handle_client(ClientMessage::End).await;
    sim.shutdown().await;
}
