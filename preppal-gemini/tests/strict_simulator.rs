//! The strict simulator: one test per thing the real service refuses (gemini-live-protocol
//! notes §1.2, §1.4, §3.1, §6.2, §7, §10.1), the project's own client never tripping it,
//! transcriptions only when asked, and the simulator that hears the candidate when told
//! what was said.

// Tests may unwrap, in shared test functions as well as in `#[test]` ones.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "simulator")]

use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt as _, StreamExt as _};
use preppal_core::{ModelCommand, ModelEvent};
use preppal_gemini::models::{Availability, Modality, LIVE_MODELS};
use preppal_gemini::simulator::{
    conforms_to_schema, Simulator, SimulatorConfig, SimulatorHandle, SpeechMode, INVALID_ARGUMENT,
    KEY_NOT_VALID,
};
use preppal_gemini::{LiveConfig, LiveConnection};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

const INTRO_WAV: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/audio/intro.wav"
));
const LIMIT: Duration = Duration::from_secs(30);

fn fast_silent() -> SimulatorConfig {
    SimulatorConfig::default()
        .with_voice(SpeechMode::Silence)
        .with_hold_turn_for_playback(false)
}

fn good_setup() -> Value {
    json!({
        "model": "models/gemini-3.8-live",
        "generationConfig": { "responseModalities": ["AUDIO"] },
        "systemInstruction": { "parts": [ { "text": "You are an interviewer." } ] },
        "outputAudioTranscription": {},
    })
}

/// Opens `url` with an API key, sends `{"setup": setup}` and returns how the simulator
/// answered: `Ok(())` for `setupComplete`, `Err((code, reason))` for a close.
async fn try_setup(url: &str, setup: Value) -> Result<(), (u16, String)> {
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-goog-api-key", "k".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::Text(json!({ "setup": setup }).to_string().into()))
        .await
        .unwrap();
    loop {
        let message = tokio::time::timeout(LIMIT, ws.next())
            .await
            .expect("an answer in time");
        match message {
            Some(Ok(Message::Binary(b))) => {
                let v: Value = serde_json::from_slice(&b).unwrap();
                assert!(v.get("setupComplete").is_some(), "{v}");
                return Ok(());
            }
            Some(Ok(Message::Close(Some(frame)))) => {
                return Err((u16::from(frame.code), frame.reason.to_string()))
            }
            Some(Ok(_)) => continue,
            other => panic!("connection ended without a close frame: {other:?}"),
        }
    }
}

async fn refused(sim: &SimulatorHandle, setup: Value) -> (u16, String) {
    try_setup(&sim.url(), setup.clone())
        .await
        .expect_err(&format!("the setup should be refused: {setup}"))
}

fn invalid_argument() -> (u16, String) {
    (1007, INVALID_ARGUMENT.to_owned())
}

#[tokio::test]
async fn a_good_setup_is_accepted_in_camel_and_snake_case() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    assert_eq!(try_setup(&sim.url(), good_setup()).await, Ok(()));
    let snake = json!({
        "model": "models/gemini-3.8-live",
        "generation_config": { "response_modalities": ["AUDIO"] },
        "realtime_input_config": { "automatic_activity_detection": { "silence_duration_ms": 900 } },
    });
    assert_eq!(try_setup(&sim.url(), snake).await, Ok(()));
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unknown_setup_field_is_refused_with_1007() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    let mut setup = good_setup();
    setup["outputAudioTranscripton"] = json!({}); // misspelt
    assert_eq!(refused(&sim, setup).await, invalid_argument());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_field_at_the_wrong_level_is_refused_with_1007() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    // `responseModalities` belongs inside `generationConfig` (§3.1).
    let mut setup = good_setup();
    setup["responseModalities"] = json!(["AUDIO"]);
    assert_eq!(refused(&sim, setup).await, invalid_argument());
    // `speechConfig` is not a child of `setup` either.
    let mut setup = good_setup();
    setup["speechConfig"] = json!({ "voiceConfig": {} });
    assert_eq!(refused(&sim, setup).await, invalid_argument());
    // Unsupported in Live generationConfig (§3.1).
    let mut setup = good_setup();
    setup["generationConfig"]["responseMimeType"] = json!("application/json");
    assert_eq!(refused(&sim, setup).await, invalid_argument());
    sim.shutdown().await;
}

#[tokio::test]
async fn an_invalid_enum_value_is_refused_with_1007() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    let mut setup = good_setup();
    setup["realtimeInputConfig"] = json!({ "activityHandling": "INTERRUPT_ALWAYS" });
    assert_eq!(refused(&sim, setup).await, invalid_argument());
    let mut setup = good_setup();
    setup["generationConfig"]["responseModalities"] = json!(["SPEECH"]);
    assert_eq!(refused(&sim, setup).await, invalid_argument());
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_shut_down_and_non_live_models_are_refused_with_1008() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    for model in [
        "models/gemini-9-live",
        "models/gemini-2.0-flash-live-001",
        "models/gemini-3.8-flash",
        "models/gemini-live-2.5-flash-native-audio",
    ] {
        let mut setup = good_setup();
        setup["model"] = json!(model);
        let (code, reason) = refused(&sim, setup).await;
        assert_eq!(code, 1008, "{model}");
        assert!(
            reason.starts_with(&format!("{model} is not found for API version v1beta")),
            "{reason}"
        );
        assert!(reason.len() <= 123, "a close reason fits 123 bytes");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_model_name_without_models_prefix_is_refused_with_1007() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    let mut setup = good_setup();
    setup["model"] = json!("gemini-3.8-live");
    assert_eq!(refused(&sim, setup).await, invalid_argument());
    sim.shutdown().await;
}

#[tokio::test]
async fn fields_the_models_entry_rejects_are_refused_with_1007() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    // thinkingConfig on gemini-3.8-live (§10.1).
    let mut setup = good_setup();
    setup["generationConfig"]["thinkingConfig"] = json!({ "thinkingBudget": 0 });
    assert_eq!(refused(&sim, setup).await, invalid_argument());
    // Proactive audio is always on there: sending it disabled is an error.
    let mut setup = good_setup();
    setup["proactivity"] = json!({ "proactiveAudio": false });
    assert_eq!(refused(&sim, setup).await, invalid_argument());
    // Extended thinking: a level or a budget, not both, not neither.
    let mut setup = good_setup();
    setup["model"] = json!("models/gemini-3.8-live-extended-thinking");
    assert_eq!(refused(&sim, setup.clone()).await, invalid_argument());
    setup["generationConfig"]["thinkingConfig"] =
        json!({ "thinkingLevel": "low", "thinkingBudget": 100 });
    assert_eq!(refused(&sim, setup.clone()).await, invalid_argument());
    setup["generationConfig"]["thinkingConfig"] = json!({ "thinkingLevel": "low" });
    assert_eq!(try_setup(&sim.url(), setup).await, Ok(()));
    // thinkingBudget on 3.1, which takes a level (§3.1).
    let mut setup = good_setup();
    setup["model"] = json!("models/gemini-3.1-flash-live-preview");
    setup["generationConfig"]["thinkingConfig"] = json!({ "thinkingBudget": 0 });
    assert_eq!(refused(&sim, setup).await, invalid_argument());
    // Affective dialog: v1alpha only on 2.5 (§1.4).
    let mut setup = good_setup();
    setup["model"] = json!("models/gemini-2.5-flash-native-audio-preview-12-2025");
    setup["generationConfig"]["enableAffectiveDialog"] = json!(true);
    assert_eq!(refused(&sim, setup.clone()).await, invalid_argument());
    let v1alpha = sim.url().replace(".v1beta.", ".v1alpha.");
    assert_eq!(try_setup(&v1alpha, setup).await, Ok(()));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_modality_the_model_does_not_answer_with_is_refused_with_1007() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    let mut setup = good_setup();
    setup["generationConfig"]["responseModalities"] = json!(["TEXT"]);
    assert_eq!(refused(&sim, setup).await, invalid_argument());
    // A transcription-only model cannot speak.
    let mut setup = good_setup();
    setup["model"] = json!("models/gemini-3.5-transcribe-live");
    assert_eq!(refused(&sim, setup).await, invalid_argument());
    sim.shutdown().await;
}

async fn upgrade_status(url: &str, header: Option<(&'static str, &str)>) -> u16 {
    let mut request = url.into_client_request().unwrap();
    if let Some((name, value)) = header {
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn ephemeral_tokens_off_the_v1alpha_constrained_path_are_refused() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    let token = preppal_gemini::create_ephemeral_token(
        Some(&sim.rest_url()),
        "k",
        &preppal_gemini::EphemeralTokenRequest::default(),
    )
    .await
    .unwrap()
    .name;
    // On the plain v1beta path, as a token.
    let auth = format!("Token {token}");
    assert_eq!(
        upgrade_status(&sim.url(), Some(("authorization", &auth))).await,
        401
    );
    // As a plain API key.
    assert_eq!(
        upgrade_status(&sim.url(), Some(("x-goog-api-key", &token))).await,
        400
    );
    assert_eq!(
        upgrade_status(&format!("{}?key={token}", sim.url()), None).await,
        400
    );
    // On the constrained path, but v1beta.
    let v1beta_constrained = sim.token_url().replace(".v1alpha.", ".v1beta.");
    assert_eq!(
        upgrade_status(&v1beta_constrained, Some(("authorization", &auth))).await,
        404
    );
    // Where it belongs, it is taken.
    assert_eq!(
        upgrade_status(&sim.token_url(), Some(("authorization", &auth))).await,
        101
    );
    assert!(sim.upgrades()[1].key_is_token);
    assert!(!KEY_NOT_VALID.is_empty());
    sim.shutdown().await;
}

/// The server events of one greeting turn after `setup`, as JSON.
async fn greeting_events(sim: &SimulatorHandle, setup: Value) -> Vec<Value> {
    let mut request = sim.url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-goog-api-key", "k".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::Text(json!({ "setup": setup }).to_string().into()))
        .await
        .unwrap();
    let kickoff = json!({ "clientContent": { "turns": [ { "role": "user", "parts": [ { "text": "Begin." } ] } ], "turnComplete": true } });
    ws.send(Message::Text(kickoff.to_string().into()))
        .await
        .unwrap();
    let mut events = Vec::new();
    loop {
        let Some(Ok(Message::Binary(b))) = tokio::time::timeout(LIMIT, ws.next()).await.unwrap()
        else {
            continue;
        };
        let v: Value = serde_json::from_slice(&b).unwrap();
        let done = v.pointer("/serverContent/turnComplete").is_some();
        events.push(v);
        if done {
            return events;
        }
    }
}

#[tokio::test]
async fn transcriptions_are_sent_only_when_the_setup_asked_for_them() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    let mut setup = good_setup();
    setup
        .as_object_mut()
        .unwrap()
        .remove("outputAudioTranscription");
    let events = greeting_events(&sim, setup).await;
    assert!(events
        .iter()
        .any(|e| e.pointer("/serverContent/modelTurn").is_some()));
    assert!(
        !events
            .iter()
            .any(|e| e.pointer("/serverContent/outputTranscription").is_some()),
        "not asked for: {events:?}"
    );
    let events = greeting_events(&sim, good_setup()).await;
    assert!(events
        .iter()
        .any(|e| e.pointer("/serverContent/outputTranscription").is_some()));
    sim.shutdown().await;
}

#[tokio::test]
async fn the_projects_setup_is_accepted_for_every_served_audio_model() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    let v1alpha = sim.url().replace(".v1beta.", ".v1alpha.");
    let mut checked = 0;
    for model in LIVE_MODELS {
        if matches!(model.availability, Availability::ShutDown { .. })
            || !model.supports(Modality::Audio)
        {
            continue;
        }
        let config = LiveConfig::new("k", "You are an interviewer.")
            .with_endpoint(v1alpha.clone())
            .with_model(model.name)
            .with_voice("Kore")
            .with_session_resumption(true)
            .with_context_window_compression(true)
            .with_affective_dialog(true)
            .with_proactive_audio(true);
        // What validate refuses never dials; what it lets through must be taken.
        let config = if config.validate().is_ok() {
            config
        } else {
            config.with_affective_dialog(false)
        };
        let config = if config.validate().is_ok() {
            config
        } else {
            config.with_proactive_audio(false)
        };
        let mut live = LiveConnection::connect(&config)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", model.name));
        assert_eq!(
            live.next_event().await.unwrap().unwrap(),
            ModelEvent::SetupComplete
        );
        checked += 1;
    }
    assert!(checked >= 5, "{checked}");
    assert!(sim.server_closes().is_empty(), "{:?}", sim.server_closes());
    sim.shutdown().await;
}

fn intro_pcm() -> Vec<u8> {
    let reader = hound::WavReader::new(std::io::Cursor::new(INTRO_WAV)).unwrap();
    reader
        .into_samples::<i16>()
        .flat_map(|s| s.unwrap().to_le_bytes())
        .collect()
}

const ANSWER: &str = "I rewrote the tracking fan-out service in Rust and cut p99 latency.";

async fn next(live: &mut LiveConnection) -> ModelEvent {
    tokio::time::timeout(LIMIT, live.next_event())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
}

/// Speaks the intro fixture (and a second of silence) after the greeting; returns the
/// candidate transcription fragments and, for each, whether the reply had started.
async fn hear_one_answer(config: SimulatorConfig) -> Vec<(String, bool)> {
    let sim = Simulator::start(config).await.unwrap();
    let config = LiveConfig::new("k", "You are an interviewer.").with_endpoint(sim.url());
    let mut live = LiveConnection::connect(&config).await.unwrap();
    live.send(ModelCommand::Begin).await.unwrap();
    while next(&mut live).await != ModelEvent::TurnComplete {}
    let mut pcm = intro_pcm();
    pcm.extend(std::iter::repeat_n(0u8, 4 * 32_000));
    for chunk in pcm.chunks(3_200) {
        live.send(ModelCommand::Audio(Bytes::copy_from_slice(chunk)))
            .await
            .unwrap();
    }
    let mut heard = Vec::new();
    let mut reply_started = false;
    loop {
        match next(&mut live).await {
            ModelEvent::InputTranscription(t) => heard.push((t, reply_started)),
            ModelEvent::Audio(_) | ModelEvent::OutputTranscription(_) => reply_started = true,
            ModelEvent::TurnComplete => break,
            _ => {}
        }
    }
    sim.shutdown().await;
    heard
}

#[tokio::test]
async fn the_simulator_hears_the_given_transcript_word_by_word_before_its_reply() {
    let heard = hear_one_answer(
        fast_silent().with_candidate_transcripts(vec![ANSWER.to_owned(), "second".to_owned()]),
    )
    .await;
    let text: String = heard.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(text, ANSWER);
    assert_eq!(
        heard.len(),
        ANSWER.split_whitespace().count(),
        "one word each"
    );
    assert!(heard.iter().all(|(_, late)| !late), "{heard:?}");
}

#[tokio::test]
async fn late_transcription_words_arrive_after_the_reply_started() {
    let heard = hear_one_answer(
        fast_silent()
            .with_candidate_transcripts(vec![ANSWER.to_owned()])
            .with_late_transcription_words(3),
    )
    .await;
    let text: String = heard.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(text, ANSWER);
    let late: Vec<&str> = heard
        .iter()
        .filter(|(_, late)| *late)
        .map(|(t, _)| t.as_str())
        .collect();
    assert_eq!(late, vec![" cut", " p99", " latency."]);
}

#[tokio::test]
async fn without_transcripts_the_simulator_stays_deaf() {
    assert!(hear_one_answer(fast_silent()).await.is_empty());
}

async fn generate(sim: &SimulatorHandle, model: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/v1beta/models/{model}:generateContent",
            sim.rest_url()
        ))
        .header("x-goog-api-key", "k")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn rest_request(generation_config: Value) -> Value {
    json!({
        "contents": [ { "role": "user", "parts": [ { "text":
            "<<<TRANSCRIPT>>>\nInterviewer: Tell me about yourself.\nCandidate: I build realtime backends in Rust for a logistics firm.\n<<<END OF TRANSCRIPT>>>" } ] } ],
        "generationConfig": generation_config,
    })
}

#[tokio::test]
async fn generate_content_refuses_bad_requests() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    let schema = json!({ "type": "OBJECT", "properties": { "a": { "type": "STRING" } } });
    let json_config = json!({ "responseMimeType": "application/json", "responseSchema": schema });
    // Unknown, Live and shut-down models.
    for model in ["gemini-9-flash", "gemini-3.8-live", "gemini-2.0-flash"] {
        let (status, body) = generate(&sim, model, rest_request(json_config.clone())).await;
        assert_eq!(status, 404, "{model}: {body}");
    }
    // No contents.
    let (status, _) = generate(&sim, "gemini-3.8-flash", json!({ "contents": [] })).await;
    assert_eq!(status, 400);
    // Sampling fields on a model that deprecated them; fine on one that did not.
    let mut sampled = json_config.clone();
    sampled["temperature"] = json!(0.2);
    let (status, _) = generate(&sim, "gemini-3.8-flash", rest_request(sampled.clone())).await;
    assert_eq!(status, 400);
    let (status, _) = generate(&sim, "gemini-2.5-flash", rest_request(sampled)).await;
    assert_eq!(status, 200);
    // Malformed schemas.
    for bad in [
        json!({ "type": "OBJECT", "properties": { "a": { "type": "TEXT" } } }),
        json!({ "type": "OBJECT", "properties": {}, "required": ["a"] }),
        json!({ "type": "ARRAY" }),
        json!({ "type": "OBJECT", "additionalProperties": false }),
    ] {
        let config = json!({ "responseMimeType": "application/json", "responseSchema": bad });
        let (status, body) = generate(&sim, "gemini-3.8-flash", rest_request(config)).await;
        assert_eq!(status, 400, "{bad} {body}");
    }
    // Both schema kinds, or a schema without the JSON MIME type.
    let both = json!({ "responseMimeType": "application/json", "responseSchema": schema, "responseJsonSchema": { "type": "object" } });
    assert_eq!(
        generate(&sim, "gemini-3.8-flash", rest_request(both))
            .await
            .0,
        400
    );
    let no_mime = json!({ "responseSchema": schema });
    assert_eq!(
        generate(&sim, "gemini-3.8-flash", rest_request(no_mime))
            .await
            .0,
        400
    );
    sim.shutdown().await;
}

fn answer_document(body: &Value) -> Value {
    let text = body["candidates"][0]["content"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    serde_json::from_str(text).unwrap()
}

#[tokio::test]
async fn generate_content_answers_with_a_document_that_conforms_to_the_schema_sent() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    let schema = json!({
        "type": "OBJECT",
        "properties": {
            "overallScore": { "type": "INTEGER", "minimum": 1, "maximum": 5 },
            "recommendation": { "type": "STRING", "enum": ["hire", "no_hire", "borderline"] },
            "evidence": { "type": "ARRAY", "items": { "type": "OBJECT",
                "properties": { "question": { "type": "STRING" }, "quote": { "type": "STRING" } },
                "required": ["question", "quote"] } }
        },
        "required": ["overallScore", "recommendation", "evidence"],
        "propertyOrdering": ["overallScore", "recommendation", "evidence"]
    });
    let config = json!({ "responseMimeType": "application/json", "responseSchema": schema });
    let (status, body) = generate(&sim, "gemini-3.8-flash", rest_request(config)).await;
    assert_eq!(status, 200, "{body}");
    let doc = answer_document(&body);
    assert!(conforms_to_schema(&doc, &schema), "{doc}");
    assert_eq!(doc["recommendation"], "hire");
    assert_eq!(doc["evidence"][0]["question"], "Tell me about yourself.");
    assert_eq!(
        doc["evidence"][0]["quote"],
        "I build realtime backends in Rust for a"
    );
    // The same with a JSON Schema.
    let json_schema = json!({
        "type": "object",
        "properties": { "verdict": { "type": "string", "enum": ["yes", "no"] },
                        "tags": { "type": "array", "items": { "$ref": "#/$defs/tag" }, "minItems": 2 } },
        "required": ["verdict", "tags"],
        "$defs": { "tag": { "type": "string" } }
    });
    let config =
        json!({ "responseMimeType": "application/json", "responseJsonSchema": json_schema });
    let (status, body) = generate(&sim, "gemini-3.8-flash", rest_request(config)).await;
    assert_eq!(status, 200, "{body}");
    let doc = answer_document(&body);
    assert!(conforms_to_schema(&doc, &json_schema), "{doc}");
    assert_eq!(doc["tags"].as_array().unwrap().len(), 2);
    // snake_case names, as the Python SDK sends `property_ordering` (§2: the parser takes both).
    let snake = json!({ "response_mime_type": "application/json", "response_schema": {
        "type": "OBJECT", "properties": { "score": { "type": "INTEGER" } },
        "property_ordering": ["score"] } });
    let (status, body) = generate(&sim, "gemini-3.8-flash", rest_request(snake)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(answer_document(&body), json!({ "score": 3 }));
    sim.shutdown().await;
}
