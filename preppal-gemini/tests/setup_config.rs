//! Conformance of the typed `setup` configuration against the simulator, over real
//! WebSockets on loopback: automatic activity detection and activity handling on the wire,
//! manual activity signals (`activityStart` / `activityEnd`), the credential forms of API
//! keys and ephemeral tokens (minted over the simulator's REST side), and combinations
//! refused before dialing.

#![allow(clippy::unwrap_used)]
#![cfg(feature = "simulator")]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{fast_silent, JD, LIMIT, RESUME};
use preppal_core::{ModelCommand, ModelEvent};
use preppal_gemini::config::{
    ActivityHandling, AutomaticActivityDetection, ConfigError, CredentialPlacement, EndSensitivity,
    StartSensitivity,
};
use preppal_gemini::simulator::{
    CredentialForm, InterviewScript, Simulator, SimulatorConfig, SimulatorHandle, SpeechMode,
    INVALID_ARGUMENT,
};
use preppal_gemini::{
    create_ephemeral_token, interviewer_instruction, EphemeralTokenRequest, LiveConfig,
    LiveConnection, LiveError, TokenError,
};
use serde_json::json;

const INTRO_WAV: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/audio/intro.wav"
));
fn instruction() -> String {
    interviewer_instruction("", JD, RESUME)
}

fn config(sim: &SimulatorHandle) -> LiveConfig {
    LiveConfig::new("test-key", instruction()).with_endpoint(sim.url())
}

/// The next event other than `Usage`.
async fn next(live: &mut LiveConnection) -> ModelEvent {
    loop {
        let e = tokio::time::timeout(LIMIT, live.next_event())
            .await
            .expect("event in time")
            .expect("an event")
            .expect("not an error");
        if !matches!(e, ModelEvent::Usage(_)) {
            return e;
        }
    }
}

/// The transcription of the next model turn, and whether it was interrupted.
async fn read_turn(live: &mut LiveConnection) -> (String, bool) {
    let mut text = String::new();
    let mut interrupted = false;
    loop {
        match next(live).await {
            ModelEvent::OutputTranscription(t) => text.push_str(&t),
            ModelEvent::Interrupted => interrupted = true,
            ModelEvent::TurnComplete => return (text, interrupted),
            ModelEvent::Closed { code, reason } => panic!("closed {code} {reason}"),
            _ => {}
        }
    }
}

fn intro_pcm() -> Vec<u8> {
    let reader = hound::WavReader::new(std::io::Cursor::new(INTRO_WAV)).unwrap();
    reader
        .into_samples::<i16>()
        .flat_map(|s| s.unwrap().to_le_bytes())
        .collect()
}

async fn send_audio(live: &mut LiveConnection, pcm: &[u8]) {
    for chunk in pcm.chunks(3_200) {
        live.send(ModelCommand::Audio(Bytes::copy_from_slice(chunk)))
            .await
            .unwrap();
    }
}

fn realtime_inputs(sim: &SimulatorHandle, key: &str) -> usize {
    sim.recorded()[0]
        .iter()
        .filter(|m| m.get("realtimeInput").and_then(|r| r.get(key)).is_some())
        .count()
}

#[tokio::test]
async fn activity_detection_and_handling_are_sent_in_realtime_input_config() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    let cfg = config(&sim)
        .with_automatic_activity_detection(
            AutomaticActivityDetection::default()
                .with_start_of_speech_sensitivity(StartSensitivity::Low)
                .with_end_of_speech_sensitivity(EndSensitivity::Low)
                .with_prefix_padding_ms(300)
                .with_silence_duration_ms(500),
        )
        .with_activity_handling(ActivityHandling::StartOfActivityInterrupts);
    let mut live = LiveConnection::connect(&cfg).await.unwrap();
    assert_eq!(next(&mut live).await, ModelEvent::SetupComplete);
    let setup = sim.recorded()[0][0]["setup"].clone();
    assert_eq!(
        setup["realtimeInputConfig"],
        json!({
            "automaticActivityDetection": {
                "disabled": false,
                "startOfSpeechSensitivity": "START_SENSITIVITY_LOW",
                "endOfSpeechSensitivity": "END_SENSITIVITY_LOW",
                "prefixPaddingMs": 300,
                "silenceDurationMs": 500
            },
            "activityHandling": "START_OF_ACTIVITY_INTERRUPTS"
        })
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn manual_activity_turns_end_at_activity_end_not_on_silence() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    let script = InterviewScript::from_instruction(&instruction(), 5);
    let mut live = LiveConnection::connect(&config(&sim).with_manual_activity())
        .await
        .unwrap();
    assert_eq!(next(&mut live).await, ModelEvent::SetupComplete);
    assert_eq!(
        sim.recorded()[0][0]["setup"]["realtimeInputConfig"],
        json!({"automaticActivityDetection": {"disabled": true}})
    );
    live.send(ModelCommand::Begin).await.unwrap();
    assert_eq!(read_turn(&mut live).await.0, script.lines[0]);

    // Speech and 1.5 s of silence would end the turn under automatic detection; here only
    // activityEnd does.
    live.send(ModelCommand::ActivityStart).await.unwrap();
    let mut pcm = intro_pcm();
    pcm.extend(std::iter::repeat_n(0u8, 1_500 * 32));
    send_audio(&mut live, &pcm).await;
    live.send(ModelCommand::ActivityEnd).await.unwrap();
    assert_eq!(read_turn(&mut live).await, (script.lines[1].clone(), false));
    live.send(ModelCommand::Close).await.unwrap();
    loop {
        match next(&mut live).await {
            ModelEvent::Closed { code, .. } => {
                assert_eq!(code, 1000);
                break;
            }
            ModelEvent::OutputTranscription(t) => panic!("a second answer was heard: {t:?}"),
            ModelEvent::Interrupted => panic!("the silence started a turn"),
            _ => {}
        }
    }
    assert_eq!(realtime_inputs(&sim, "activityStart"), 1);
    assert_eq!(realtime_inputs(&sim, "activityEnd"), 1);
    let recorded = &sim.recorded()[0];
    let start = recorded
        .iter()
        .position(|m| m.pointer("/realtimeInput/activityStart").is_some())
        .unwrap();
    let end = recorded
        .iter()
        .position(|m| m.pointer("/realtimeInput/activityEnd").is_some())
        .unwrap();
    let audio: Vec<usize> = recorded
        .iter()
        .enumerate()
        .filter(|(_, m)| m.pointer("/realtimeInput/audio").is_some())
        .map(|(i, _)| i)
        .collect();
    assert!(audio.iter().all(|&i| start < i && i < end));
    sim.shutdown().await;
}

#[tokio::test]
async fn activity_signals_need_manual_activity() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    let mut live = LiveConnection::connect(&config(&sim)).await.unwrap();
    assert_eq!(next(&mut live).await, ModelEvent::SetupComplete);
    // The client refuses them and sends nothing ...
    assert!(matches!(
        live.send(ModelCommand::ActivityStart).await,
        Err(LiveError::CommandNotAllowed(_))
    ));
    assert_eq!(sim.recorded()[0].len(), 1, "only the setup");
    // ... and the simulator, like the service, rejects them.
    live.send_message(r#"{"realtimeInput":{"activityEnd":{}}}"#.into())
        .await
        .unwrap();
    assert_eq!(
        next(&mut live).await,
        ModelEvent::Closed {
            code: 1007,
            reason: INVALID_ARGUMENT.into()
        }
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn no_interruption_lets_the_line_finish_over_candidate_speech() {
    let sim = Simulator::start(
        SimulatorConfig::default()
            .with_voice(SpeechMode::Silence)
            .with_realtime(true),
    )
    .await
    .unwrap();
    let script = InterviewScript::from_instruction(&instruction(), 5);
    let cfg = config(&sim).with_activity_handling(ActivityHandling::NoInterruption);
    let mut live = LiveConnection::connect(&cfg).await.unwrap();
    assert_eq!(next(&mut live).await, ModelEvent::SetupComplete);
    assert_eq!(
        sim.recorded()[0][0]["setup"]["realtimeInputConfig"]["activityHandling"],
        "NO_INTERRUPTION"
    );
    live.send(ModelCommand::Begin).await.unwrap();
    // Wait for the line to start, then talk over it.
    loop {
        if let ModelEvent::Audio(_) = next(&mut live).await {
            break;
        }
    }
    send_audio(&mut live, &intro_pcm()[..3 * 32_000]).await;
    let (rest, interrupted) = read_turn(&mut live).await;
    assert!(!interrupted, "NO_INTERRUPTION: the line is not cut");
    assert!(script.lines[0].ends_with(&rest), "{rest:?}");
    drop(live);
    sim.shutdown().await;
}

#[tokio::test]
async fn ephemeral_token_is_minted_over_rest_and_sent_one_way_only() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    let request = EphemeralTokenRequest::default()
        .with_uses(1)
        .with_locked_setup(
            LiveConfig::new("", "").with_model("gemini-2.5-flash-native-audio-latest"),
        );
    let token = create_ephemeral_token(Some(&sim.rest_url()), "backend-key", &request)
        .await
        .unwrap();
    assert!(token.name.starts_with("auth_tokens/"), "{token:?}");
    assert!(!format!("{token:?}").contains(&token.name));
    let body = &sim.token_requests()[0];
    assert_eq!(body["uses"], 1);
    assert!(body["expireTime"].as_str().unwrap().ends_with('Z'));
    assert!(body["newSessionExpireTime"].is_string());
    assert_eq!(
        body["bidiGenerateContentSetup"]["model"],
        "models/gemini-2.5-flash-native-audio-latest"
    );

    // Header form (the default): Authorization: Token, on the constrained path.
    let cfg = LiveConfig::with_ephemeral_token(token.name.clone(), instruction())
        .with_endpoint(sim.token_url());
    let mut live = LiveConnection::connect(&cfg).await.unwrap();
    assert_eq!(next(&mut live).await, ModelEvent::SetupComplete);
    drop(live);
    let upgrade = sim.upgrades().last().cloned().unwrap();
    assert!(upgrade
        .path
        .ends_with(".v1alpha.GenerativeService.BidiGenerateContentConstrained"));
    assert_eq!(upgrade.credentials, [CredentialForm::TokenHeader]);
    assert_eq!(upgrade.token.as_deref(), Some(token.name.as_str()));
    // One use only: the second session is refused.
    assert!(matches!(
        LiveConnection::connect(&cfg).await,
        Err(LiveError::UpgradeRefused { status: 401 })
    ));

    // Query form: ?access_token=, form-encoded.
    let token = create_ephemeral_token(Some(&sim.rest_url()), "backend-key", &request)
        .await
        .unwrap();
    let cfg = LiveConfig::with_ephemeral_token(token.name.clone(), instruction())
        .with_endpoint(sim.token_url())
        .with_credential_placement(CredentialPlacement::Query);
    let mut live = LiveConnection::connect(&cfg).await.unwrap();
    assert_eq!(next(&mut live).await, ModelEvent::SetupComplete);
    let upgrade = sim.upgrades().last().cloned().unwrap();
    assert_eq!(upgrade.credentials, [CredentialForm::TokenQuery]);
    assert_eq!(upgrade.token.as_deref(), Some(token.name.as_str()));
    sim.shutdown().await;
}

#[tokio::test]
async fn api_key_forms_and_token_errors() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    drop(LiveConnection::connect(&config(&sim)).await.unwrap());
    drop(
        LiveConnection::connect(
            &config(&sim).with_credential_placement(CredentialPlacement::Query),
        )
        .await
        .unwrap(),
    );
    let forms: Vec<Vec<CredentialForm>> =
        sim.upgrades().into_iter().map(|u| u.credentials).collect();
    assert_eq!(
        forms,
        [
            vec![CredentialForm::ApiKeyHeader],
            vec![CredentialForm::ApiKeyQuery]
        ]
    );
    // Minting without a key: the REST side refuses it with 401, reported with its message.
    let err = create_ephemeral_token(Some(&sim.rest_url()), "", &Default::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TokenError::Status { status: 401, message } if message.contains("unregistered")),
        "{err:?}"
    );
    // Requests the service refuses are refused before sending.
    let too_long =
        EphemeralTokenRequest::default().with_expire_after(Duration::from_secs(21 * 3600));
    assert!(matches!(
        create_ephemeral_token(Some(&sim.rest_url()), "k", &too_long).await,
        Err(TokenError::InvalidRequest(_))
    ));
    assert_eq!(sim.token_requests().len(), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn refused_combinations_never_dial() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    type Expected = fn(&ConfigError) -> bool;
    let cases: Vec<(LiveConfig, Expected)> = vec![
        (config(&sim).with_model("gemini-2.0-flash-live-001"), |e| {
            matches!(e, ConfigError::RetiredModel { .. })
        }),
        (
            config(&sim)
                .with_model("gemini-2.5-flash-native-audio-preview-12-2025")
                .with_affective_dialog(true),
            |e| matches!(e, ConfigError::NeedsV1alpha { .. }),
        ),
        (config(&sim).with_affective_dialog(true), |e| {
            matches!(e, ConfigError::UnsupportedOnModel { .. })
        }),
        (config(&sim).with_model("gemini-3.8-flash"), |e| {
            matches!(e, ConfigError::NotALiveModel { .. })
        }),
        (
            LiveConfig::new("auth_tokens/x", "s").with_endpoint(sim.url()),
            |e| matches!(e, ConfigError::TokenNeedsConstrainedEndpoint { .. }),
        ),
        (
            LiveConfig::new("plain-key", "s").with_endpoint(sim.token_url()),
            |e| matches!(e, ConfigError::KeyOnConstrainedEndpoint),
        ),
    ];
    for (cfg, expected) in cases {
        match LiveConnection::connect(&cfg).await {
            Err(LiveError::Config(e)) => {
                assert!(expected(&e), "{e:?}");
                assert!(!LiveError::Config(e).is_retryable());
            }
            other => panic!("expected a config error, got {other:?}"),
        }
    }
    assert!(sim.upgrades().is_empty(), "{:?}", sim.upgrades());
    sim.shutdown().await;
}
