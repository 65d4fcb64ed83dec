//! Conformance against the simulator's scripted faults: what a plain `LiveConnection` sees
//! of each, and how a `ResilientSession` connects through refused upgrades and slow pongs.
//! Every test asserts on what the simulator recorded on the wire and on the events the
//! client yielded.

#![allow(clippy::unwrap_used)]
#![cfg(feature = "simulator")]

mod common;

use std::time::Duration;

use common::{
    config, fast_policy, next_resilient, script, setup_of, sim_config, transcript_of, LIMIT,
};
use futures::{SinkExt as _, StreamExt as _};
use preppal_core::{InterviewSession, ModelCommand, ModelEvent, SessionConfig};
use preppal_gemini::simulator::{Fault, FaultTrigger, Simulator, DEADLINE_EXPIRED};
use preppal_gemini::{LiveConnection, LiveError, ResilientSession};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

/// The next event other than `Usage` (conformance of usage events is in `events.rs`).
async fn next_live(live: &mut LiveConnection) -> Option<ModelEvent> {
    loop {
        let event = tokio::time::timeout(LIMIT, live.next_event())
            .await
            .expect("event in time")
            .map(|e| e.expect("not an error"));
        if !matches!(event, Some(ModelEvent::Usage(_))) {
            return event;
        }
    }
}

/// Events up to and including the next `TurnComplete` (or the end).
async fn until_turn_complete(live: &mut LiveConnection) -> Vec<ModelEvent> {
    let mut out = Vec::new();
    while let Some(e) = next_live(live).await {
        let done = e == ModelEvent::TurnComplete || matches!(e, ModelEvent::Closed { .. });
        out.push(e);
        if done {
            break;
        }
    }
    out
}

#[tokio::test]
async fn setup_asks_for_resumption_and_compression_for_long_interviews() {
    let sim = Simulator::start(sim_config()).await.unwrap();
    let cfg = config(&sim)
        .with_session_resumption(true)
        .with_interview_length(Duration::from_secs(30 * 60));
    let mut live = LiveConnection::connect(&cfg).await.unwrap();
    assert_eq!(next_live(&mut live).await, Some(ModelEvent::SetupComplete));
    // A handle right after setupComplete, resumable.
    match next_live(&mut live).await {
        Some(ModelEvent::ResumptionUpdate { handle, resumable }) => {
            assert!(resumable && !handle.is_empty(), "{handle:?}");
        }
        other => panic!("expected a resumption update, got {other:?}"),
    }
    let short = config(&sim).with_interview_length(Duration::from_secs(10 * 60));
    drop(LiveConnection::connect(&short).await.unwrap());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let recorded = sim.recorded();
    let setup = setup_of(&recorded[0]);
    assert_eq!(setup["sessionResumption"], json!({}));
    assert_eq!(
        setup["contextWindowCompression"],
        json!({"slidingWindow": {}})
    );
    let setup = setup_of(&recorded[1]);
    assert!(setup.get("sessionResumption").is_none(), "{setup}");
    assert!(setup.get("contextWindowCompression").is_none(), "{setup}");
}

#[tokio::test]
async fn resumption_updates_are_not_resumable_during_generation() {
    let sim = Simulator::start(sim_config()).await.unwrap();
    let mut live = LiveConnection::connect(&config(&sim).with_session_resumption(true))
        .await
        .unwrap();
    live.send(ModelCommand::Begin).await.unwrap();
    let events = until_turn_complete(&mut live).await;
    let first_output = events
        .iter()
        .position(|e| matches!(e, ModelEvent::Audio(_) | ModelEvent::OutputTranscription(_)))
        .unwrap();
    let generation_complete = events
        .iter()
        .position(|e| *e == ModelEvent::GenerationComplete)
        .unwrap();
    let updates: Vec<(usize, &String, bool)> = events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            ModelEvent::ResumptionUpdate { handle, resumable } => Some((i, handle, *resumable)),
            _ => None,
        })
        .collect();
    // Not resumable, with an empty handle, before the generation's first output ...
    let (at, handle, resumable) = updates
        .iter()
        .rev()
        .find(|(i, _, _)| *i < first_output)
        .copied()
        .unwrap();
    assert!(!resumable && handle.is_empty(), "{updates:?}");
    // ... and no resumable handle while the generation runs ...
    assert!(updates
        .iter()
        .filter(|(i, _, _)| *i > at && *i < generation_complete)
        .all(|(_, _, r)| !r));
    // ... then a fresh resumable handle once it is complete.
    assert!(updates
        .iter()
        .any(|(i, h, r)| *i > generation_complete && *r && !h.is_empty()));
}

#[tokio::test]
async fn text_frames_and_compact_json_are_read_like_binary_pretty_ones() {
    let sim = Simulator::start(
        sim_config()
            .with_binary_frames(false)
            .with_pretty_json(false),
    )
    .await
    .unwrap();
    // On the wire: a compact Text frame.
    let mut request = sim.url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-goog-api-key", "k".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::Text(
        json!({"setup": {"model": "models/gemini-3.8-live"}})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    match ws.next().await.unwrap().unwrap() {
        Message::Text(t) => assert_eq!(t.as_str(), r#"{"setupComplete":{}}"#),
        other => panic!("expected a Text frame, got {other:?}"),
    }
    drop(ws);
    // The client reads the whole greeting from such frames.
    let mut live = LiveConnection::connect(&config(&sim)).await.unwrap();
    assert_eq!(next_live(&mut live).await, Some(ModelEvent::SetupComplete));
    live.send(ModelCommand::Begin).await.unwrap();
    let events = until_turn_complete(&mut live).await;
    assert_eq!(transcript_of(&events), script().lines[0]);
}

#[tokio::test]
async fn fragments_split_inside_words_are_joined_exactly_as_sent() {
    let sim = Simulator::start(sim_config()).await.unwrap();
    let mut live = LiveConnection::connect(&config(&sim)).await.unwrap();
    live.send(ModelCommand::Begin).await.unwrap();
    let events = until_turn_complete(&mut live).await;
    let fragments: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            ModelEvent::OutputTranscription(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert!(fragments.len() > 3);
    // Some fragment ends inside a word: a letter on both sides of the cut.
    let mut joined = String::new();
    let mut cut_inside_a_word = false;
    for f in &fragments {
        if let (Some(a), Some(b)) = (joined.chars().last(), f.chars().next()) {
            cut_inside_a_word |= a.is_alphabetic() && b.is_alphabetic();
        }
        joined.push_str(f);
    }
    assert!(cut_inside_a_word, "{fragments:?}");
    assert_eq!(joined, script().lines[0]);
}

/// Plays line 0 cut by the scripted `Interrupt` through the transport, and the events it
/// yields through an `InterviewSession` (the one place that decides what the candidate
/// hears): the events and the bytes of model audio the session dropped.
async fn interrupted_line(audio_in_same_message: bool, late_audio: bool) -> (Vec<ModelEvent>, u64) {
    let sim = Simulator::start(sim_config().with_fault(
        FaultTrigger::DuringLine(0),
        Fault::Interrupt {
            audio_in_same_message,
            late_audio,
        },
    ))
    .await
    .unwrap();
    let mut live = LiveConnection::connect(&config(&sim)).await.unwrap();
    live.send(ModelCommand::Begin).await.unwrap();
    let events = until_turn_complete(&mut live).await;
    let now = std::time::Instant::now();
    let mut session =
        InterviewSession::new("iv", SessionConfig::new(Duration::from_secs(600)), now);
    session
        .handle_model(ModelEvent::SetupComplete, now)
        .unwrap();
    for event in &events {
        session.handle_model(event.clone(), now).unwrap();
    }
    (events, session.dropped_audio_bytes())
}

#[tokio::test]
async fn interrupted_comes_before_the_cut_audio_and_the_session_drops_it() {
    let (events, dropped) = interrupted_line(true, true).await;
    let cut = events
        .iter()
        .position(|e| *e == ModelEvent::Interrupted)
        .unwrap();
    assert!(
        events[..cut]
            .iter()
            .any(|e| matches!(e, ModelEvent::Audio(_))),
        "the line had started"
    );
    // The transport delivers the cut generation's audio as sent, after `Interrupted`:
    // the same-message part and the late message.
    let after: Vec<_> = events[cut..]
        .iter()
        .filter(|e| matches!(e, ModelEvent::Audio(_)))
        .collect();
    assert_eq!(after.len(), 2);
    assert!(!events.contains(&ModelEvent::GenerationComplete));
    assert_eq!(events.last(), Some(&ModelEvent::TurnComplete));
    // The session dropped both.
    assert_eq!(dropped, 2 * 4_800);
}

#[tokio::test]
async fn interrupted_without_audio() {
    let (events, dropped) = interrupted_line(false, false).await;
    let cut = events
        .iter()
        .position(|e| *e == ModelEvent::Interrupted)
        .unwrap();
    assert!(
        events[cut..] == [ModelEvent::Interrupted, ModelEvent::TurnComplete],
        "{} events after interrupted",
        events.len() - cut
    );
    assert_eq!(dropped, 0);
}

#[tokio::test]
async fn usage_only_message_gives_a_usage_event_and_nothing_else() {
    let sim = Simulator::start(sim_config().with_fault(FaultTrigger::AfterSetup, Fault::UsageOnly))
        .await
        .unwrap();
    let mut live = LiveConnection::connect(&config(&sim)).await.unwrap();
    assert_eq!(next_live(&mut live).await, Some(ModelEvent::SetupComplete));
    // The usage message gives one Usage event and nothing more.
    let event = tokio::time::timeout(LIMIT, live.next_event())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(event, ModelEvent::Usage(_)), "{event:?}");
    // Nothing else to yield: the read times out (next_event is cancel-safe).
    assert!(
        tokio::time::timeout(Duration::from_millis(300), live.next_event())
            .await
            .is_err()
    );
    let usage = live.last_usage().expect("usage kept");
    assert_eq!(event, ModelEvent::Usage(usage.clone()));
    assert_eq!(usage.response_token_count, Some(0));
    assert!(usage.prompt_token_count.unwrap() > 0);
}

#[tokio::test]
async fn go_away_then_silence_then_close_1011() {
    let sim = Simulator::start(sim_config().with_fault(
        FaultTrigger::AfterSetup,
        Fault::GoAwayThenSilence {
            time_left: Duration::from_millis(500),
        },
    ))
    .await
    .unwrap();
    let mut live = LiveConnection::connect(&config(&sim)).await.unwrap();
    assert_eq!(next_live(&mut live).await, Some(ModelEvent::SetupComplete));
    assert_eq!(
        next_live(&mut live).await,
        Some(ModelEvent::GoAway { time_left_ms: 500 })
    );
    live.send(ModelCommand::Begin).await.unwrap();
    // Silence: the Begin is recorded but not answered; then the deadline close.
    assert_eq!(
        next_live(&mut live).await,
        Some(ModelEvent::Closed {
            code: 1011,
            reason: DEADLINE_EXPIRED.to_owned()
        })
    );
    assert_eq!(next_live(&mut live).await, None);
    assert_eq!(sim.recorded()[0].len(), 2, "setup and the unanswered Begin");
}

#[tokio::test]
async fn close_with_any_code_mid_line() {
    let sim = Simulator::start(sim_config().with_fault(
        FaultTrigger::DuringLine(0),
        Fault::Close {
            code: 1008,
            reason: "Operation is not implemented, or supported, or enabled.".into(),
        },
    ))
    .await
    .unwrap();
    let mut live = LiveConnection::connect(&config(&sim)).await.unwrap();
    live.send(ModelCommand::Begin).await.unwrap();
    let events = until_turn_complete(&mut live).await;
    assert_eq!(
        events.last(),
        Some(&ModelEvent::Closed {
            code: 1008,
            reason: "Operation is not implemented, or supported, or enabled.".into()
        })
    );
    assert!(events.iter().any(|e| matches!(e, ModelEvent::Audio(_))));
}

#[tokio::test]
async fn http_429_on_upgrade_is_reported_and_never_retried() {
    let sim = Simulator::start(sim_config().with_refused_upgrades([429, 429]))
        .await
        .unwrap();
    match LiveConnection::connect(&config(&sim)).await {
        Err(e @ LiveError::UpgradeRefused { status: 429 }) => assert!(!e.is_retryable()),
        other => panic!("expected 429, got {other:?}"),
    }
    match ResilientSession::connect(config(&sim), fast_policy()).await {
        Err(LiveError::UpgradeRefused { status: 429 }) => {}
        other => panic!("expected 429, got {other:?}"),
    }
    assert_eq!(sim.connections(), 0);
    // A third attempt would be accepted: the resilient connect did not try again.
    assert!(LiveConnection::connect(&config(&sim)).await.is_ok());
}

#[tokio::test]
async fn http_503_on_upgrade_is_retried_with_backoff() {
    let sim = Simulator::start(sim_config().with_refused_upgrades([503, 503]))
        .await
        .unwrap();
    let mut live = ResilientSession::connect(config(&sim), fast_policy())
        .await
        .unwrap();
    assert_eq!(
        next_resilient(&mut live).await,
        Some(ModelEvent::SetupComplete)
    );
    assert_eq!(sim.connections(), 1);
}

#[tokio::test]
async fn slow_pongs_do_not_break_the_connection() {
    let sim = Simulator::start(sim_config().with_fault(
        FaultTrigger::AfterSetup,
        Fault::SlowPongs(Duration::from_millis(1_500)),
    ))
    .await
    .unwrap();
    let mut live = ResilientSession::connect(config(&sim), fast_policy())
        .await
        .unwrap();
    live.send(ModelCommand::Begin).await.unwrap();
    let mut text = String::new();
    loop {
        match next_resilient(&mut live).await.unwrap() {
            ModelEvent::OutputTranscription(t) => text.push_str(&t),
            ModelEvent::TurnComplete => break,
            e @ (ModelEvent::Reconnecting { .. } | ModelEvent::Closed { .. }) => {
                panic!("unexpected {e:?}")
            }
            _ => {}
        }
    }
    assert_eq!(text, script().lines[0]);
    assert_eq!(sim.connections(), 1);
    // The client never pings (server pongs are slow, §6.1): nothing but data was recorded.
    assert!(sim.recorded()[0].iter().all(Value::is_object));
}
