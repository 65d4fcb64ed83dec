//! Conformance of the newer server events against the simulator, over real WebSockets on
//! loopback: `turnComplete` with its reason, `toolCall` / `toolCallCancellation` (and the
//! rule that no candidate audio goes out while a call is unanswered), and `usageMetadata`.
//! Each test asserts on the events the client yielded and on what the simulator recorded.

#![allow(clippy::unwrap_used)]
#![cfg(feature = "simulator")]

use std::time::Duration;

use bytes::Bytes;
use preppal_core::{
    FunctionCall, FunctionResponse, ModelCommand, ModelEvent, TurnCompleteReason, UsageMetadata,
};
use preppal_gemini::simulator::{
    Fault, FaultTrigger, ScriptedFault, Simulator, SimulatorConfig, SimulatorHandle, SpeechMode,
};
use preppal_gemini::{interviewer_instruction, LiveConfig, LiveConnection};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(30);

fn sim_config(faults: Vec<ScriptedFault>) -> SimulatorConfig {
    let mut c = SimulatorConfig::default()
        .with_voice(SpeechMode::Silence)
        .with_hold_turn_for_playback(false);
    c.faults = faults;
    c
}

async fn connect(sim: &SimulatorHandle) -> LiveConnection {
    let config = LiveConfig::new("k", interviewer_instruction("", "Rust engineer", "Jo"))
        .with_endpoint(sim.url());
    let mut live = LiveConnection::connect(&config).await.unwrap();
    assert_eq!(next(&mut live).await, ModelEvent::SetupComplete);
    live
}

async fn next(live: &mut LiveConnection) -> ModelEvent {
    tokio::time::timeout(LIMIT, live.next_event())
        .await
        .expect("event in time")
        .expect("an event")
        .expect("not an error")
}

/// Events up to and including the first one `stop` accepts.
async fn until(live: &mut LiveConnection, stop: impl Fn(&ModelEvent) -> bool) -> Vec<ModelEvent> {
    let mut events = Vec::new();
    loop {
        let e = next(live).await;
        let done = stop(&e);
        events.push(e);
        if done {
            return events;
        }
    }
}

fn kinds(events: &[ModelEvent]) -> Vec<&'static str> {
    events
        .iter()
        .filter_map(|e| match e {
            ModelEvent::GenerationComplete => Some("generationComplete"),
            ModelEvent::TurnCompleteReason { .. } => Some("turnCompleteReason"),
            ModelEvent::TurnComplete => Some("turnComplete"),
            ModelEvent::Usage(_) => Some("usage"),
            ModelEvent::ToolCall(_) => Some("toolCall"),
            ModelEvent::ToolCallCancellation(_) => Some("toolCallCancellation"),
            _ => None,
        })
        .collect()
}

fn recorded_audio(sim: &SimulatorHandle) -> usize {
    sim.recorded()[0]
        .iter()
        .filter(|m| m.pointer("/realtimeInput/audio").is_some())
        .count()
}

const SILENCE_100_MS: [u8; 3_200] = [0; 3_200];

#[tokio::test]
async fn turn_complete_carries_its_reason_after_generation_complete() {
    let sim = Simulator::start(sim_config(vec![ScriptedFault::new(
        FaultTrigger::AfterSetup,
        Fault::TurnCompleteReason {
            reason: "NEED_MORE_INPUT".into(),
            waiting_for_input: true,
        },
    )]))
    .await
    .unwrap();
    let mut live = connect(&sim).await;
    live.send(ModelCommand::Begin).await.unwrap();
    let first = until(&mut live, |e| *e == ModelEvent::TurnComplete).await;
    // Usage rides on the turnComplete message and comes first; the reason right before
    // its turnComplete.
    assert_eq!(
        kinds(&first),
        [
            "generationComplete",
            "usage",
            "turnCompleteReason",
            "turnComplete"
        ]
    );
    assert!(first.contains(&ModelEvent::TurnCompleteReason {
        reason: TurnCompleteReason::NeedMoreInput,
        waiting_for_input: true
    }));
    // Only that turn: the next one ends without a reason.
    live.send(ModelCommand::Text("I write Rust.".into()))
        .await
        .unwrap();
    let second = until(&mut live, |e| *e == ModelEvent::TurnComplete).await;
    assert_eq!(
        kinds(&second),
        ["generationComplete", "usage", "turnComplete"]
    );
    let recorded = &sim.recorded()[0];
    assert_eq!(recorded[1]["clientContent"]["turnComplete"], true);
    assert_eq!(
        recorded[2],
        json!({"realtimeInput": {"text": "I write Rust."}})
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn tool_call_holds_audio_back_until_answered() {
    let sim = Simulator::start(sim_config(vec![ScriptedFault::new(
        FaultTrigger::AfterSetup,
        Fault::ToolCall {
            id: "fc_1".into(),
            name: "record_score".into(),
            args: json!({"score": 4}),
        },
    )]))
    .await
    .unwrap();
    let mut live = connect(&sim).await;
    let call = FunctionCall::new("fc_1", "record_score", json!({"score": 4}));
    let events = until(&mut live, |e| matches!(e, ModelEvent::ToolCall(_))).await;
    assert_eq!(
        events.last(),
        Some(&ModelEvent::ToolCall(vec![call.clone()]))
    );
    assert!(live.tool_call_pending());

    // Audio now would make the server close with 1008: it is held back.
    for _ in 0..5 {
        live.send(ModelCommand::Audio(Bytes::from_static(&SILENCE_100_MS)))
            .await
            .unwrap();
    }
    assert_eq!(live.gated_audio_bytes(), 5 * 3_200);
    live.send(ModelCommand::ToolResponse(vec![FunctionResponse::to(
        &call,
        json!({"result": "ok"}),
    )]))
    .await
    .unwrap();
    assert!(!live.tool_call_pending());
    live.send(ModelCommand::Audio(Bytes::from_static(&SILENCE_100_MS)))
        .await
        .unwrap();
    live.send(ModelCommand::Text("Done.".into())).await.unwrap();
    // The simulator answers the text: the connection is alive, not closed 1008.
    let turn = until(&mut live, |e| *e == ModelEvent::TurnComplete).await;
    assert!(
        !turn.iter().any(|e| matches!(e, ModelEvent::Closed { .. })),
        "{turn:?}"
    );
    let recorded = &sim.recorded()[0];
    let tool_response: Vec<&Value> = recorded
        .iter()
        .filter(|m| m.get("toolResponse").is_some())
        .collect();
    assert_eq!(
        tool_response,
        [&json!({"toolResponse": {"functionResponses": [
            {"id": "fc_1", "name": "record_score", "response": {"result": "ok"}}]}})]
    );
    // Only the audio sent after the answer reached the server, after the answer.
    assert_eq!(recorded_audio(&sim), 1);
    let answer_at = recorded
        .iter()
        .position(|m| m.get("toolResponse").is_some())
        .unwrap();
    let audio_at = recorded
        .iter()
        .position(|m| m.pointer("/realtimeInput/audio").is_some())
        .unwrap();
    assert!(answer_at < audio_at);
    assert!(sim.server_closes().is_empty(), "{:?}", sim.server_closes());
    sim.shutdown().await;
}

#[tokio::test]
async fn tool_call_cancellation_releases_the_audio() {
    let sim = Simulator::start(sim_config(vec![
        ScriptedFault::new(
            FaultTrigger::AfterSetup,
            Fault::ToolCall {
                id: "fc_9".into(),
                name: "lookup".into(),
                args: json!({}),
            },
        ),
        ScriptedFault::new(
            FaultTrigger::AfterSetup,
            Fault::ToolCallCancellation {
                ids: vec!["fc_9".into()],
            },
        ),
    ]))
    .await
    .unwrap();
    let mut live = connect(&sim).await;
    let events = until(&mut live, |e| {
        matches!(e, ModelEvent::ToolCallCancellation(_))
    })
    .await;
    assert_eq!(kinds(&events), ["toolCall", "toolCallCancellation"]);
    assert_eq!(
        events.last(),
        Some(&ModelEvent::ToolCallCancellation(vec!["fc_9".into()]))
    );
    assert!(!live.tool_call_pending());
    live.send(ModelCommand::Audio(Bytes::from_static(&SILENCE_100_MS)))
        .await
        .unwrap();
    live.send(ModelCommand::Begin).await.unwrap();
    until(&mut live, |e| *e == ModelEvent::TurnComplete).await;
    assert_eq!(live.gated_audio_bytes(), 0);
    assert_eq!(recorded_audio(&sim), 1);
    // No toolResponse for a cancelled call.
    assert!(!sim.recorded()[0]
        .iter()
        .any(|m| m.get("toolResponse").is_some()));
    assert!(sim.server_closes().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn audio_during_an_unanswered_tool_call_is_closed_1008_by_the_simulator() {
    // What the client's gate prevents, shown with a raw client message.
    let sim = Simulator::start(sim_config(vec![ScriptedFault::new(
        FaultTrigger::AfterSetup,
        Fault::ToolCall {
            id: "fc_2".into(),
            name: "lookup".into(),
            args: json!({}),
        },
    )]))
    .await
    .unwrap();
    let mut live = connect(&sim).await;
    until(&mut live, |e| matches!(e, ModelEvent::ToolCall(_))).await;
    let audio =
        preppal_gemini::encode_command(&ModelCommand::Audio(Bytes::from_static(&SILENCE_100_MS)))
            .unwrap();
    live.send_message(audio).await.unwrap();
    let end = until(&mut live, |e| matches!(e, ModelEvent::Closed { .. })).await;
    assert_eq!(
        end.last(),
        Some(&ModelEvent::Closed {
            code: 1008,
            reason: preppal_gemini::simulator::OPERATION_ABORTED.into()
        })
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn usage_only_messages_and_usage_on_turn_complete_are_usage_events() {
    let sim = Simulator::start(sim_config(vec![ScriptedFault::new(
        FaultTrigger::AfterSetup,
        Fault::UsageOnly,
    )]))
    .await
    .unwrap();
    let mut live = connect(&sim).await;
    let first = until(&mut live, |e| matches!(e, ModelEvent::Usage(_))).await;
    let ModelEvent::Usage(usage) = first.last().unwrap() else {
        unreachable!()
    };
    // The system instruction's tokens (a quarter of its bytes), no response yet.
    assert!(usage.prompt_token_count.is_some_and(|n| n > 0), "{usage:?}");
    assert_eq!(usage.response_token_count, Some(0));
    assert_eq!(
        usage.total_token_count, usage.prompt_token_count,
        "{usage:?}"
    );
    live.send(ModelCommand::Begin).await.unwrap();
    let turn = until(&mut live, |e| *e == ModelEvent::TurnComplete).await;
    let usages: Vec<&UsageMetadata> = turn
        .iter()
        .filter_map(|e| match e {
            ModelEvent::Usage(u) => Some(u),
            _ => None,
        })
        .collect();
    assert_eq!(usages.len(), 1, "{turn:?}");
    let turn_usage = usages[0];
    assert!(turn_usage.response_token_count.is_some_and(|n| n > 0));
    assert_eq!(turn_usage.response_tokens_details.len(), 1);
    assert_eq!(turn_usage.response_tokens_details[0].modality, "AUDIO");
    assert_eq!(live.last_usage(), Some(turn_usage));
    sim.shutdown().await;
}
