//! Interviews that outlive a connection with `ResilientSession`: goAway, retryable and
//! final closes, stalls, seeding from the caller's transcript, the switch buffer. Every
//! test asserts on what the simulator recorded on the wire and on the events the client
//! yielded.

#![allow(clippy::unwrap_used)]
#![cfg(feature = "simulator")]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{
    config, fast_policy, next_resilient, script, setup_of, sim_config, transcript_of, LIMIT,
    QUESTIONS,
};
use preppal_core::codec::ClientMessage;
use preppal_core::proto::server_to_client_message::Message as M;
use preppal_core::{ModelCommand, ModelEvent, SessionConfig, Speaker, TranscriptEntry};
use preppal_gemini::simulator::{Fault, FaultTrigger, ScriptedFault, Simulator};
use preppal_gemini::{LiveInterview, ResilientSession};
use serde_json::Value;

/// What a text-mode interview through a `ResilientSession` looked like.
#[derive(Debug, Default)]
struct Run {
    /// Model turns completed without interruption, as transcribed.
    lines: Vec<String>,
    /// Partial turns cut by an interruption or a switch.
    cut: Vec<String>,
    reconnecting: Vec<String>,
    resumed: Vec<bool>,
    closed: Option<(u16, String)>,
    /// Handles the client saw with `resumable: true`, in order.
    handles: Vec<String>,
}

/// A finished transcript entry, as the caller's interview would keep it.
fn entry(entries: &[TranscriptEntry], speaker: Speaker, text: String) -> TranscriptEntry {
    TranscriptEntry {
        sequence: u32::try_from(entries.len()).unwrap(),
        speaker,
        text,
        start_ms: 0,
        end_ms: 0,
        interrupted: false,
        heard_text: None,
    }
}

/// Answers each question with a line of text and reads until `Closed`. It keeps the
/// transcript as the caller's interview would (each model turn, cut ones too, and each
/// answer) and hands it over on `Reconnecting`, as the session's calling contract asks.
async fn text_interview(live: &mut ResilientSession, answers: &[&str]) -> Run {
    let mut run = Run::default();
    let mut entries: Vec<TranscriptEntry> = Vec::new();
    let mut text = String::new();
    let mut interrupted = false;
    let mut answered = 0;
    live.send(ModelCommand::Begin).await.unwrap();
    while let Some(event) = next_resilient(live).await {
        match event {
            ModelEvent::OutputTranscription(t) => text.push_str(&t),
            ModelEvent::Interrupted => interrupted = true,
            ModelEvent::TurnComplete => {
                let line = std::mem::take(&mut text);
                entries.push(entry(&entries, Speaker::Ai, line.clone()));
                if std::mem::take(&mut interrupted) {
                    run.cut.push(line);
                } else {
                    run.lines.push(line);
                    if let Some(answer) = answers.get(answered) {
                        answered += 1;
                        entries.push(entry(&entries, Speaker::User, (*answer).to_owned()));
                        live.send(ModelCommand::Text((*answer).to_owned()))
                            .await
                            .unwrap();
                    }
                }
            }
            ModelEvent::Reconnecting { reason } => {
                live.set_history(&entries);
                run.reconnecting.push(reason);
            }
            ModelEvent::Resumed { with_handle } => run.resumed.push(with_handle),
            ModelEvent::ResumptionUpdate { handle, resumable } if resumable => {
                run.handles.push(handle)
            }
            ModelEvent::Closed { code, reason } => run.closed = Some((code, reason)),
            _ => {}
        }
    }
    run
}

fn expected_lines() -> Vec<String> {
    let s = script();
    let mut lines = s.lines.clone();
    lines.push(s.closing.clone());
    lines
}

const ANSWERS: [&str; QUESTIONS] = [
    "I rewrote the fan-out service in Rust.",
    "We measured first, then rewrote it.",
    "Backpressure with bounded queues.",
    "I led the incident review.",
];

#[tokio::test]
async fn go_away_moves_to_a_new_connection_at_a_quiet_moment_with_the_handle() {
    let sim = Simulator::start(
        sim_config()
            .with_hold_turn_for_playback(true)
            .with_go_away_every(Duration::from_millis(700))
            .with_go_away_close_after(Duration::from_millis(600)),
    )
    .await
    .unwrap();
    let mut live = ResilientSession::connect(config(&sim), fast_policy())
        .await
        .unwrap();
    let run = text_interview(&mut live, &ANSWERS).await;
    assert_eq!(run.lines, expected_lines(), "{run:?}");
    assert!(run.cut.is_empty(), "{run:?}");
    assert_eq!(run.closed, Some((1000, String::new())));
    assert!(!run.reconnecting.is_empty(), "{run:?}");
    assert!(run.resumed.iter().all(|h| *h), "{run:?}");
    assert_eq!(run.reconnecting.len(), run.resumed.len());
    // The server never had to close a connection for its deadline: every switch came first,
    // so no 1011 reached the client and every later connection resumed with a handle the
    // client had seen as resumable.
    let recorded = sim.recorded();
    assert_eq!(recorded.len(), 1 + run.resumed.len());
    assert_eq!(
        sim.server_closes(),
        [(recorded.len() - 1, 1000, String::new())],
        "only the normal close at the end"
    );
    for connection in &recorded[1..] {
        let handle = setup_of(connection)["sessionResumption"]["handle"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(run.handles.contains(&handle), "{handle}");
    }
    // Each answer was sent exactly once, in order, across all connections.
    let texts: Vec<&str> = recorded
        .iter()
        .flatten()
        .filter_map(|m| m.pointer("/realtimeInput/text").and_then(Value::as_str))
        .collect();
    assert_eq!(texts, ANSWERS);
}

#[tokio::test]
async fn retryable_close_mid_line_resumes_and_the_line_is_said_again() {
    let sim = Simulator::start(sim_config().with_fault(
        FaultTrigger::DuringLine(2),
        Fault::Close {
            code: 1011,
            reason: "Internal error occurred.".into(),
        },
    ))
    .await
    .unwrap();
    let mut live = ResilientSession::connect(config(&sim), fast_policy())
        .await
        .unwrap();
    let run = text_interview(&mut live, &ANSWERS).await;
    assert_eq!(run.lines, expected_lines(), "{run:?}");
    assert_eq!(run.cut.len(), 1, "{run:?}");
    assert!(expected_lines()[2].starts_with(&run.cut[0]));
    assert_eq!(run.reconnecting, ["closed 1011: Internal error occurred."]);
    assert_eq!(run.resumed, [true]);
    assert_eq!(run.closed, Some((1000, String::new())));
    assert_eq!(sim.connections(), 2);
}

#[tokio::test]
async fn non_retryable_close_ends_the_session_without_reconnecting() {
    let sim = Simulator::start(
        sim_config().with_scripted_fault(
            ScriptedFault::new(
                FaultTrigger::DuringLine(1),
                Fault::Close {
                    code: 1007,
                    reason: "Request contains an invalid argument.".into(),
                },
            )
            .on_every_connection(),
        ),
    )
    .await
    .unwrap();
    let mut live = ResilientSession::connect(config(&sim), fast_policy())
        .await
        .unwrap();
    let run = text_interview(&mut live, &ANSWERS).await;
    assert_eq!(
        run.closed,
        Some((1007, "Request contains an invalid argument.".into()))
    );
    assert!(run.reconnecting.is_empty());
    assert_eq!(sim.connections(), 1);
}

#[tokio::test]
async fn silent_stall_is_noticed_and_resumed() {
    let sim = Simulator::start(sim_config().with_fault(FaultTrigger::DuringLine(1), Fault::Stall))
        .await
        .unwrap();
    let policy = fast_policy().with_stall_timeout(Duration::from_millis(400));
    let mut live = ResilientSession::connect(config(&sim), policy)
        .await
        .unwrap();
    let run = text_interview(&mut live, &ANSWERS).await;
    assert_eq!(run.lines, expected_lines(), "{run:?}");
    assert_eq!(run.reconnecting, ["stall"]);
    assert_eq!(run.resumed, [true]);
    assert_eq!(sim.connections(), 2);
}

#[tokio::test]
async fn go_away_then_silence_is_left_before_the_deadline() {
    let sim = Simulator::start(sim_config().with_fault(
        FaultTrigger::DuringLine(1),
        Fault::GoAwayThenSilence {
            time_left: Duration::from_millis(800),
        },
    ))
    .await
    .unwrap();
    let mut live = ResilientSession::connect(config(&sim), fast_policy())
        .await
        .unwrap();
    let run = text_interview(&mut live, &ANSWERS).await;
    assert_eq!(run.lines, expected_lines(), "{run:?}");
    // The line was mid-generation when the server went silent: the timer moved on anyway.
    assert_eq!(run.reconnecting, ["goAway deadline"]);
    assert_eq!(run.resumed, [true]);
}

#[tokio::test]
async fn without_a_handle_the_new_connection_is_seeded_from_the_transcript() {
    let sim = Simulator::start(sim_config().with_resumption(false).with_fault(
        FaultTrigger::DuringLine(1),
        Fault::Close {
            code: 1011,
            reason: "Internal error occurred.".into(),
        },
    ))
    .await
    .unwrap();
    let mut live = ResilientSession::connect(config(&sim), fast_policy())
        .await
        .unwrap();
    let run = text_interview(&mut live, &ANSWERS).await;
    assert_eq!(run.lines, expected_lines(), "{run:?}");
    assert_eq!(run.resumed, [false]);
    let recorded = sim.recorded();
    let second = &recorded[1];
    assert!(setup_of(second)["sessionResumption"]
        .get("handle")
        .is_none());
    // The history, not a new greeting: the greeting as a model turn, the answer as a user
    // turn, and turnComplete because the candidate spoke last.
    let history = &second[1]["clientContent"];
    assert_eq!(history["turns"][0]["role"], "model");
    assert_eq!(history["turns"][0]["parts"][0]["text"], script().lines[0]);
    assert_eq!(history["turns"][1]["role"], "user");
    assert_eq!(history["turns"][1]["parts"][0]["text"], ANSWERS[0]);
    assert_eq!(history["turnComplete"], true);
    assert!(!second
        .iter()
        .any(|m| m.to_string().contains("The candidate has joined")));
}

/// Ticks `interview` until the interviewer finishes a turn (`turnComplete`); its text.
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
async fn a_live_interview_seeds_a_connection_without_a_handle_from_its_own_transcript() {
    let sim = Simulator::start(sim_config().with_resumption(false).with_fault(
        FaultTrigger::DuringLine(1),
        Fault::Close {
            code: 1011,
            reason: "Internal error occurred.".into(),
        },
    ))
    .await
    .unwrap();
    let mut interview = LiveInterview::start(
        "iv-seed",
        SessionConfig::new(Duration::from_secs(600)),
        config(&sim),
        fast_policy(),
    )
    .await
    .unwrap();
    let lines = script().lines;
    assert_eq!(interviewer_turn(&mut interview).await, lines[0]);
    interview
        .handle_client(ClientMessage::Text(ANSWERS[0].to_owned()))
        .await;
    // Line 1 is cut by the close; the new connection, seeded from the interview's own
    // transcript, says it whole.
    assert_eq!(interviewer_turn(&mut interview).await, lines[1]);
    let recorded = sim.recorded();
    assert_eq!(recorded.len(), 2);
    let history = recorded[1]
        .iter()
        .find_map(|m| m.get("clientContent"))
        .expect("a clientContent history");
    let turns: Vec<(&str, &str)> = history["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["role"].as_str().unwrap(),
                t["parts"][0]["text"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        turns,
        [("model", lines[0].as_str()), ("user", ANSWERS[0])],
        "the finished turns, not the cut line"
    );
    assert_eq!(history["turnComplete"], true);
    let entries = interview.session().transcript().entries();
    assert_eq!(
        entries.last().map(|e| e.text.as_str()),
        Some(lines[1].as_str())
    );
    interview.handle_client(ClientMessage::End).await;
    assert!(interview.is_ended());
}

#[tokio::test]
async fn audio_during_a_switch_is_buffered_bounded_and_sent_after_setup_complete() {
    let sim = Simulator::start(sim_config().with_fault(
        FaultTrigger::AfterSetup,
        Fault::Close {
            code: 1011,
            reason: "Internal error occurred.".into(),
        },
    ))
    .await
    .unwrap();
    let policy = fast_policy().with_max_buffered_audio_bytes(3 * 3_200);
    let mut live = ResilientSession::connect(config(&sim), policy)
        .await
        .unwrap();
    assert_eq!(
        next_resilient(&mut live).await,
        Some(ModelEvent::SetupComplete)
    );
    loop {
        match next_resilient(&mut live).await.unwrap() {
            ModelEvent::Reconnecting { .. } => break,
            ModelEvent::ResumptionUpdate { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(live.is_switching());
    // Five 100 ms chunks of 16 kHz PCM16LE (3 200 bytes each), each marked by its first byte.
    for i in 0..5u8 {
        live.send(ModelCommand::Audio(Bytes::from(vec![i; 3_200])))
            .await
            .unwrap();
    }
    assert_eq!(live.dropped_buffered_audio_bytes(), 2 * 3_200);
    assert_eq!(
        next_resilient(&mut live).await,
        Some(ModelEvent::Resumed { with_handle: true })
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let recorded = sim.recorded();
    let second = &recorded[1];
    assert!(second[0].get("setup").is_some());
    let firsts: Vec<u8> = second[1..]
        .iter()
        .filter_map(|m| {
            m.pointer("/realtimeInput/audio/data")
                .and_then(Value::as_str)
        })
        .map(|d| preppal_gemini::protocol::decode_base64(d).unwrap()[0])
        .collect();
    assert_eq!(firsts, [2, 3, 4], "the newest audio, in order");
}

/// 16 kHz mono PCM16LE speech: the intro answer fixture.
fn intro_pcm() -> Vec<u8> {
    let wav = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/audio/intro.wav"
    ));
    let reader = hound::WavReader::new(std::io::Cursor::new(&wav[..])).unwrap();
    reader
        .into_samples::<i16>()
        .flat_map(|s| s.unwrap().to_le_bytes())
        .collect()
}

#[tokio::test]
async fn go_away_during_a_spoken_answer_waits_for_the_reply_before_switching() {
    // goAway 3 s after each connection opens, 50 s of time left: plenty to finish the
    // answer. Audio sent after the last resumption handle is not part of a resumed
    // session, so switching mid-answer would lose the answer.
    let sim = Simulator::start(sim_config().with_go_away_after(Duration::from_secs(3)))
        .await
        .unwrap();
    let mut live = ResilientSession::connect(config(&sim), fast_policy())
        .await
        .unwrap();
    live.send(ModelCommand::Begin).await.unwrap();
    let mut seen = Vec::new();
    while !seen.contains(&ModelEvent::TurnComplete) {
        seen.push(next_resilient(&mut live).await.unwrap());
    }
    // The candidate starts answering; goAway arrives mid-answer.
    let pcm = intro_pcm();
    let (first, rest) = pcm.split_at(pcm.len() / 2 / 3_200 * 3_200);
    // The caller's interview is not quiet while the candidate answers and the
    // interviewer's reply runs (what `InterviewSession::is_quiet` would say).
    live.set_quiet(false);
    for chunk in first.chunks(3_200) {
        live.send(ModelCommand::Audio(Bytes::copy_from_slice(chunk)))
            .await
            .unwrap();
    }
    loop {
        match next_resilient(&mut live).await.unwrap() {
            ModelEvent::GoAway { .. } => break,
            ModelEvent::Reconnecting { reason } => panic!("switched before goAway: {reason}"),
            _ => {}
        }
    }
    // The answer goes on and ends; the next question follows on the same connection, and
    // only then does the session move.
    let mut tail = rest.to_vec();
    tail.extend(std::iter::repeat_n(0u8, 4 * 32_000)); // 4 s of silence: past the 3 s default
    for chunk in tail.chunks(3_200) {
        live.send(ModelCommand::Audio(Bytes::copy_from_slice(chunk)))
            .await
            .unwrap();
    }
    let mut after = Vec::new();
    loop {
        let e = next_resilient(&mut live).await.unwrap();
        if e == ModelEvent::TurnComplete {
            live.set_quiet(true);
        }
        let done = matches!(e, ModelEvent::Resumed { .. });
        after.push(e);
        if done {
            break;
        }
    }
    let reconnecting = after
        .iter()
        .position(|e| matches!(e, ModelEvent::Reconnecting { .. }))
        .unwrap();
    let generation_complete = after
        .iter()
        .position(|e| *e == ModelEvent::GenerationComplete)
        .expect("the reply was generated before the switch");
    assert!(generation_complete < reconnecting, "{after:?}");
    assert_eq!(transcript_of(&after[..reconnecting]), script().lines[1]);
    assert!(!after.contains(&ModelEvent::Interrupted), "{after:?}");
    assert_eq!(
        after[reconnecting + 1],
        ModelEvent::Resumed { with_handle: true }
    );
    // Every chunk of the answer reached the first connection.
    let recorded = sim.recorded();
    let audio = recorded[0]
        .iter()
        .filter(|m| m.pointer("/realtimeInput/audio").is_some())
        .count();
    assert_eq!(
        audio,
        first.len().div_ceil(3_200) + tail.len().div_ceil(3_200)
    );
    sim.shutdown().await;
}
