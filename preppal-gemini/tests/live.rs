//! Conformance of `LiveConnection` against the simulator (and a few hand-written servers),
//! over real WebSockets on loopback.

// Tests may unwrap, in shared test functions as well as in `#[test]` ones.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "simulator")]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{config, fast_silent, instruction, LIMIT};
use futures::{SinkExt as _, StreamExt as _};
use preppal_core::{ModelCommand, ModelEvent};
use preppal_gemini::simulator::{
    InterviewScript, Simulator, SimulatorConfig, SimulatorHandle, SpeechMode,
};
use preppal_gemini::{is_retryable_close, LiveConfig, LiveConnection, LiveError};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

const INTRO_WAV: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/audio/intro.wav"
));

/// The next event other than `Usage` (token counts ride on many messages; the usage
/// conformance tests are in `events.rs`).
async fn next(live: &mut LiveConnection) -> ModelEvent {
    loop {
        let event = tokio::time::timeout(LIMIT, live.next_event())
            .await
            .expect("event in time")
            .expect("an event")
            .expect("not an error");
        if !matches!(event, ModelEvent::Usage(_)) {
            return event;
        }
    }
}

/// One model turn: the joined transcription, audio bytes, and whether it was interrupted.
#[derive(Debug, Default)]
struct Turn {
    text: String,
    audio_bytes: usize,
    generation_complete: bool,
    interrupted: bool,
}

async fn read_turn(live: &mut LiveConnection) -> Turn {
    let mut turn = Turn::default();
    loop {
        match next(live).await {
            ModelEvent::OutputTranscription(t) => turn.text.push_str(&t),
            ModelEvent::Audio(a) => {
                assert!(!turn.generation_complete, "audio after generationComplete");
                turn.audio_bytes += a.len();
            }
            ModelEvent::GenerationComplete => turn.generation_complete = true,
            ModelEvent::Interrupted => turn.interrupted = true,
            ModelEvent::TurnComplete => return turn,
            ModelEvent::InputTranscription(t) => {
                panic!("the simulator invented candidate words: {t:?}")
            }
            other => panic!("unexpected event inside a turn: {other:?}"),
        }
    }
}

/// The intro answer as 16 kHz mono PCM16LE.
fn intro_pcm() -> Vec<u8> {
    let reader = hound::WavReader::new(std::io::Cursor::new(INTRO_WAV)).unwrap();
    let spec = reader.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (1, 16_000, 16)
    );
    reader
        .into_samples::<i16>()
        .flat_map(|s| s.unwrap().to_le_bytes())
        .collect()
}

async fn send_audio(live: &mut LiveConnection, pcm: &[u8]) {
    // 100 ms chunks (3 200 bytes), sent as fast as possible.
    for chunk in pcm.chunks(3_200) {
        live.send(ModelCommand::Audio(Bytes::copy_from_slice(chunk)))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn setup_is_the_first_message_with_the_expected_fields() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    let mut live = LiveConnection::connect(&config(&sim).with_voice("Kore"))
        .await
        .unwrap();
    assert_eq!(next(&mut live).await, ModelEvent::SetupComplete);

    let recorded = sim.recorded();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        recorded[0].len(),
        1,
        "only setup before setupComplete: {:?}",
        recorded[0]
    );
    let msg = &recorded[0][0];
    assert_eq!(msg.as_object().unwrap().len(), 1);
    let setup = &msg["setup"];
    assert_eq!(setup["model"], "models/gemini-3.8-live");
    assert_eq!(
        setup["generationConfig"]["responseModalities"],
        json!(["AUDIO"])
    );
    assert_eq!(
        setup["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]
            ["voiceName"],
        "Kore"
    );
    assert_eq!(
        setup["systemInstruction"]["parts"][0]["text"],
        instruction()
    );
    assert_eq!(setup["inputAudioTranscription"], json!({}));
    assert_eq!(setup["outputAudioTranscription"], json!({}));
    assert!(
        !msg.to_string().contains("test-key"),
        "the key never travels in a message"
    );

    live.send(ModelCommand::Close).await.unwrap();
    assert_eq!(
        next(&mut live).await,
        ModelEvent::Closed {
            code: 1000,
            reason: String::new()
        }
    );
    assert!(live.next_event().await.is_none());
    assert!(live.next_event().await.is_none(), "fused");
    assert_eq!(sim.connections(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn full_interview_in_text_mode() {
    for questions in [4, 5, 6] {
        let sim = Simulator::start(fast_silent().with_questions(questions))
            .await
            .unwrap();
        let script = InterviewScript::from_instruction(&instruction(), questions);
        assert_eq!(script.lines.len(), questions);
        let mut live = LiveConnection::connect(&config(&sim)).await.unwrap();
        assert_eq!(next(&mut live).await, ModelEvent::SetupComplete);
        live.send(ModelCommand::Begin).await.unwrap();
        for (i, line) in script.lines.iter().enumerate() {
            let turn = read_turn(&mut live).await;
            assert_eq!(&turn.text, line, "question {i}");
            assert!(turn.generation_complete && !turn.interrupted);
            // Silence at 2.5 words/s, 24 kHz PCM16.
            let words = line.split_whitespace().count() as f64;
            assert_eq!(
                turn.audio_bytes,
                ((words / 2.5) * 24_000.0) as usize * 2,
                "question {i}"
            );
            live.send(ModelCommand::Text(format!("Answer number {i}.")))
                .await
                .unwrap();
        }
        let closing = read_turn(&mut live).await;
        assert_eq!(closing.text, script.closing);
        assert!(closing
            .text
            .starts_with("Thank you, that was my last question"));
        assert_eq!(
            next(&mut live).await,
            ModelEvent::Closed {
                code: 1000,
                reason: String::new()
            }
        );
        assert!(live.next_event().await.is_none());
        assert!(live
            .last_usage()
            .and_then(|u| u.total_token_count)
            .is_some());

        let recorded = &sim.recorded()[0];
        assert_eq!(
            recorded.len(),
            2 + questions,
            "setup, kickoff and one text answer per question"
        );
        assert_eq!(recorded[1]["clientContent"]["turnComplete"], true);
        assert_eq!(
            recorded[2],
            json!({"realtimeInput": {"text": "Answer number 0."}})
        );
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn next_event_is_cancel_safe_inside_select() {
    let sim = Simulator::start(fast_silent().with_questions(4))
        .await
        .unwrap();
    let script = InterviewScript::from_instruction(&instruction(), 4);
    let mut live = LiveConnection::connect(&config(&sim)).await.unwrap();
    live.send(ModelCommand::Begin).await.unwrap();
    let mut text = String::new();
    let mut turns = 0;
    let mut cancelled = 0u32;
    loop {
        // A timer that often wins the race drops the `next_event` future mid-flight.
        let event = tokio::select! {
            event = live.next_event() => event,
            () = tokio::time::sleep(Duration::from_micros(50)) => { cancelled += 1; continue; }
        };
        match event.expect("an event").expect("no error") {
            ModelEvent::OutputTranscription(t) => text.push_str(&t),
            ModelEvent::TurnComplete => {
                assert_eq!(text, script.lines[turns]);
                text.clear();
                turns += 1;
                if turns == script.lines.len() {
                    break;
                }
                live.send(ModelCommand::Text("Yes.".into())).await.unwrap();
            }
            _ => {}
        }
        assert!(cancelled < 10_000_000);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn audio_answer_gets_exactly_one_next_question() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    let script = InterviewScript::from_instruction(&instruction(), 5);
    let mut live = LiveConnection::connect(&config(&sim)).await.unwrap();
    assert_eq!(next(&mut live).await, ModelEvent::SetupComplete);
    live.send(ModelCommand::Begin).await.unwrap();
    assert_eq!(read_turn(&mut live).await.text, script.lines[0]);

    let mut pcm = intro_pcm();
    pcm.extend(std::iter::repeat_n(0u8, 4 * 32_000)); // 4 s of silence at 16 kHz: past the interview default of 3 s
    send_audio(&mut live, &pcm).await;
    live.send(ModelCommand::Close).await.unwrap();

    let mut turns = Vec::new();
    let mut current = String::new();
    loop {
        match next(&mut live).await {
            ModelEvent::OutputTranscription(t) => current.push_str(&t),
            ModelEvent::TurnComplete => turns.push(std::mem::take(&mut current)),
            ModelEvent::Closed { code, .. } => {
                assert_eq!(code, 1000);
                break;
            }
            ModelEvent::InputTranscription(t) => panic!("no recognition, no words: {t:?}"),
            _ => {}
        }
    }
    assert_eq!(
        turns,
        vec![script.lines[1].clone()],
        "one answer, one next question"
    );

    let recorded = &sim.recorded()[0];
    let audio: Vec<&Value> = recorded
        .iter()
        .filter(|m| m["realtimeInput"]["audio"].is_object())
        .collect();
    assert_eq!(audio.len(), pcm.len().div_ceil(3_200));
    assert!(audio
        .iter()
        .all(|m| m["realtimeInput"]["audio"]["mimeType"] == "audio/pcm;rate=16000"));
    assert!(recorded
        .iter()
        .all(|m| !m.to_string().contains("mediaChunks")));
    sim.shutdown().await;
}

#[tokio::test]
async fn barge_in_interrupts_the_line() {
    let sim = Simulator::start(
        SimulatorConfig::default()
            .with_voice(SpeechMode::Silence)
            .with_realtime(true),
    )
    .await
    .unwrap();
    let script = InterviewScript::from_instruction(&instruction(), 5);
    let mut live = LiveConnection::connect(&config(&sim)).await.unwrap();
    assert_eq!(next(&mut live).await, ModelEvent::SetupComplete);
    live.send(ModelCommand::Begin).await.unwrap();
    let mut audio_bytes = 0;
    let mut transcript = String::new();
    loop {
        match next(&mut live).await {
            ModelEvent::OutputTranscription(t) => transcript.push_str(&t),
            ModelEvent::Audio(a) => {
                audio_bytes += a.len();
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // The candidate starts talking over the greeting.
    let speech = intro_pcm();
    send_audio(&mut live, &speech[..3 * 32_000]).await;
    loop {
        match next(&mut live).await {
            ModelEvent::Audio(a) => audio_bytes += a.len(),
            ModelEvent::OutputTranscription(t) => transcript.push_str(&t),
            ModelEvent::GenerationComplete => {
                panic!("an interrupted turn has no generationComplete")
            }
            ModelEvent::Interrupted => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(next(&mut live).await, ModelEvent::TurnComplete);
    let words = script.lines[0].split_whitespace().count() as f64;
    let full = ((words / 2.5) * 24_000.0) as usize * 2;
    assert!(
        audio_bytes < full,
        "the rest of the line was dropped: {audio_bytes} of {full}"
    );
    assert!(script.lines[0].starts_with(&transcript));
    assert!(transcript.len() < script.lines[0].len());

    // The candidate finishes; the interviewer moves on to the next question.
    send_audio(&mut live, &vec![0u8; 4 * 32_000]).await;
    let first_fragment = loop {
        match next(&mut live).await {
            ModelEvent::OutputTranscription(t) => break t,
            ModelEvent::Audio(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(
        script.lines[1].starts_with(&first_fragment),
        "{first_fragment:?}"
    );
    drop(live);
    sim.shutdown().await;
}

#[tokio::test]
async fn espeak_voice_is_real_speech_at_24_khz() {
    if !preppal_gemini::simulator::espeak_available() {
        eprintln!("espeak-ng is not installed; skipping the espeak voice check");
        return;
    }
    let sim = Simulator::start(fast_silent().with_voice(SpeechMode::Espeak))
        .await
        .unwrap();
    let mut live = LiveConnection::connect(&config(&sim)).await.unwrap();
    live.send(ModelCommand::Begin).await.unwrap();
    let mut pcm = Vec::new();
    loop {
        match next(&mut live).await {
            ModelEvent::Audio(a) => pcm.extend_from_slice(&a),
            ModelEvent::TurnComplete => break,
            _ => {}
        }
    }
    let samples: Vec<i16> = pcm
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    let seconds = samples.len() as f64 / 24_000.0;
    assert!((3.0..40.0).contains(&seconds), "{seconds} s");
    let rms =
        (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt();
    assert!(rms > 300.0, "speech, not silence: rms {rms}");
    sim.shutdown().await;
}

#[tokio::test]
async fn wrap_up_instruction_closes_the_interview() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    let script = InterviewScript::from_instruction(&instruction(), 5);
    let mut live = LiveConnection::connect(&config(&sim)).await.unwrap();
    live.send(ModelCommand::Begin).await.unwrap();
    assert_eq!(next(&mut live).await, ModelEvent::SetupComplete);
    assert_eq!(read_turn(&mut live).await.text, script.lines[0]);
    live.send(ModelCommand::Instruct(
        preppal_core::session::WRAP_UP_INSTRUCTION.into(),
    ))
    .await
    .unwrap();
    assert_eq!(read_turn(&mut live).await.text, script.closing);
    assert!(matches!(
        next(&mut live).await,
        ModelEvent::Closed { code: 1000, .. }
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn missing_api_key_is_refused_with_401() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    let err = LiveConnection::connect(&LiveConfig::new("", "s").with_endpoint(sim.url()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LiveError::UpgradeRefused { status: 401 }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    let wrong_path = sim.url().replace("BidiGenerateContent", "Nothing");
    let err = LiveConnection::connect(&LiveConfig::new("k", "s").with_endpoint(wrong_path))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LiveError::UpgradeRefused { status: 404 }),
        "{err:?}"
    );
    assert_eq!(sim.connections(), 0);
    sim.shutdown().await;
}

/// A raw client that speaks to the simulator directly (for messages `LiveConnection` never sends).
async fn raw_client(
    sim: &SimulatorHandle,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut request = format!("{}?key=raw", sim.url())
        .into_client_request()
        .unwrap();
    request.headers_mut().remove("x-goog-api-key");
    let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws
}

async fn expect_close(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> CloseFrame {
    loop {
        match tokio::time::timeout(LIMIT, ws.next()).await.unwrap() {
            Some(Ok(Message::Close(Some(frame)))) => return frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn setup_complete_is_a_pretty_printed_binary_frame_and_media_chunks_get_1007() {
    let sim = Simulator::start(fast_silent()).await.unwrap();
    let mut ws = raw_client(&sim).await;
    let setup = preppal_gemini::setup_message(&LiveConfig::new("k", instruction()));
    ws.send(Message::Text(setup.into())).await.unwrap();
    match ws.next().await.unwrap().unwrap() {
        Message::Binary(data) => {
            let text = std::str::from_utf8(&data).unwrap();
            assert!(text.starts_with("{\n  \"setupComplete\": {}"), "{text:?}");
        }
        other => panic!("setupComplete should be Binary, got {other:?}"),
    }
    let chunk = json!({"realtimeInput": {"mediaChunks": [{"mimeType": "audio/pcm;rate=16000", "data": "AAA="}]}});
    ws.send(Message::Text(chunk.to_string().into()))
        .await
        .unwrap();
    let frame = expect_close(&mut ws).await;
    assert_eq!(u16::from(frame.code), 1007);
    assert_eq!(
        frame.reason.as_str(),
        "realtime_input.media_chunks is deprecated. Use audio, video, or text instead."
    );
    assert_eq!(sim.recorded()[0][1], chunk);

    // Anything but setup first is refused the same way.
    let mut ws = raw_client(&sim).await;
    ws.send(Message::Text(
        json!({"realtimeInput": {"text": "hi"}}).to_string().into(),
    ))
    .await
    .unwrap();
    let frame = expect_close(&mut ws).await;
    assert_eq!(u16::from(frame.code), 1007);
    assert_eq!(
        frame.reason.as_str(),
        "Request contains an invalid argument."
    );
    assert_eq!(sim.connections(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn go_away_and_server_close_are_reported() {
    let sim = Simulator::start(
        fast_silent()
            .with_go_away_after(Duration::from_millis(50))
            .with_close_after(Duration::from_millis(300), 1011, "Internal error occurred."),
    )
    .await
    .unwrap();
    let mut live = LiveConnection::connect(&config(&sim)).await.unwrap();
    assert_eq!(next(&mut live).await, ModelEvent::SetupComplete);
    assert_eq!(
        next(&mut live).await,
        ModelEvent::GoAway {
            time_left_ms: 50_000
        }
    );
    let closed = next(&mut live).await;
    assert_eq!(
        closed,
        ModelEvent::Closed {
            code: 1011,
            reason: "Internal error occurred.".into()
        }
    );
    assert!(is_retryable_close(1011, "Internal error occurred."));
    assert!(live.next_event().await.is_none());
    sim.shutdown().await;
}

/// A hand-written server: runs `script` on the accepted WebSocket.
async fn custom_server<F, Fut>(script: F) -> String
where
    F: FnOnce(tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let ws = tokio_tungstenite::accept_async(stream).await.unwrap();
        script(ws).await;
    });
    format!(
        "ws://{addr}/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
    )
}

#[tokio::test]
async fn nothing_is_sent_before_setup_complete_and_text_frames_are_accepted() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let url = custom_server(|mut ws| async move {
        let first = ws.next().await.unwrap().unwrap();
        let first: Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
        assert!(first.get("setup").is_some());
        // An early message before setupComplete, and a pause: the client must stay quiet.
        ws.send(Message::Text(
            r#"{"usageMetadata": {"totalTokenCount": "7"}}"#.into(),
        ))
        .await
        .unwrap();
        let early = tokio::time::timeout(Duration::from_millis(300), ws.next()).await;
        let quiet = early.is_err();
        // setupComplete as a compact Text frame, with content in the same message.
        ws.send(Message::Text(
            r#"{"setupComplete":{},"serverContent":{"outputTranscription":{"text":"Hi"}}}"#.into(),
        ))
        .await
        .unwrap();
        let after = ws.next().await.unwrap().unwrap();
        tx.send((quiet, after.into_text().unwrap().to_string()))
            .unwrap();
        ws.close(Some(CloseFrame {
            code: CloseCode::Away,
            reason: "bye".into(),
        }))
        .await
        .unwrap();
        while ws.next().await.is_some() {}
    })
    .await;
    let mut live = LiveConnection::connect(&LiveConfig::new("k", "s").with_endpoint(url))
        .await
        .unwrap();
    assert_eq!(next(&mut live).await, ModelEvent::SetupComplete);
    assert_eq!(
        next(&mut live).await,
        ModelEvent::OutputTranscription("Hi".into())
    );
    assert_eq!(live.last_usage().and_then(|u| u.total_token_count), Some(7));
    live.send(ModelCommand::Text("after".into())).await.unwrap();
    let (quiet, after) = rx.await.unwrap();
    assert!(quiet, "the client sent something before setupComplete");
    assert_eq!(
        serde_json::from_str::<Value>(&after).unwrap(),
        json!({"realtimeInput": {"text": "after"}})
    );
    assert_eq!(
        next(&mut live).await,
        ModelEvent::Closed {
            code: 1001,
            reason: "bye".into()
        }
    );
    assert!(live.next_event().await.is_none());
}

#[tokio::test]
async fn setup_timeout_and_close_during_setup() {
    let url = custom_server(|mut ws| async move {
        let _setup = ws.next().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let config = LiveConfig::new("k", "s")
        .with_endpoint(url)
        .with_setup_timeout(Duration::from_millis(200));
    let err = LiveConnection::connect(&config).await.unwrap_err();
    assert!(matches!(err, LiveError::SetupTimeout), "{err:?}");
    assert!(err.is_retryable());

    let url = custom_server(|mut ws| async move {
        let _setup = ws.next().await;
        ws.close(Some(CloseFrame {
            code: CloseCode::Invalid,
            reason: "Request contains an invalid argument.".into(),
        }))
        .await
        .unwrap();
        while ws.next().await.is_some() {}
    })
    .await;
    let err = LiveConnection::connect(&LiveConfig::new("k", "s").with_endpoint(url))
        .await
        .unwrap_err();
    match &err {
        LiveError::ClosedDuringSetup { code, reason } => {
            assert_eq!(*code, 1007);
            assert_eq!(reason, "Request contains an invalid argument.");
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn dropped_socket_is_closed_1006() {
    let url = custom_server(|mut ws| async move {
        let _setup = ws.next().await;
        ws.send(Message::Binary(
            b"{\n  \"setupComplete\": {}\n}\n".to_vec().into(),
        ))
        .await
        .unwrap();
        // Drop the TCP connection without a close frame.
        drop(ws);
    })
    .await;
    let mut live = LiveConnection::connect(&LiveConfig::new("k", "s").with_endpoint(url))
        .await
        .unwrap();
    assert_eq!(next(&mut live).await, ModelEvent::SetupComplete);
    assert_eq!(
        next(&mut live).await,
        ModelEvent::Closed {
            code: 1006,
            reason: String::new()
        }
    );
    assert!(live.next_event().await.is_none());
}

#[tokio::test]
async fn malformed_frame_is_an_error_and_the_session_goes_on() {
    let url = custom_server(|mut ws| async move {
        let _setup = ws.next().await;
        ws.send(Message::Binary(br#"{"setupComplete": {}}"#.to_vec().into()))
            .await
            .unwrap();
        ws.send(Message::Text("not json".into())).await.unwrap();
        ws.send(Message::Text(
            r#"{"serverContent": {"turnComplete": true}}"#.into(),
        ))
        .await
        .unwrap();
        ws.close(None).await.unwrap();
        while ws.next().await.is_some() {}
    })
    .await;
    let mut live = LiveConnection::connect(&LiveConfig::new("k", "s").with_endpoint(url))
        .await
        .unwrap();
    assert_eq!(next(&mut live).await, ModelEvent::SetupComplete);
    let err = live.next_event().await.unwrap().unwrap_err();
    assert!(matches!(err, LiveError::Protocol(_)), "{err:?}");
    assert_eq!(next(&mut live).await, ModelEvent::TurnComplete);
    assert_eq!(
        next(&mut live).await,
        ModelEvent::Closed {
            code: 1005,
            reason: String::new()
        }
    );
}

#[tokio::test]
async fn wss_endpoint_fails_cleanly_on_a_non_tls_peer() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        use tokio::io::AsyncWriteExt as _;
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
    });
    let config = LiveConfig::new("k", "s")
        .with_endpoint(format!("wss://{addr}/ws/BidiGenerateContent"))
        .with_setup_timeout(Duration::from_secs(5));
    let err = LiveConnection::connect(&config).await.unwrap_err();
    assert!(matches!(err, LiveError::WebSocket(_)), "{err:?}");

    let bad = LiveConfig::new("k", "s").with_endpoint("not a url");
    let err = LiveConnection::connect(&bad).await.unwrap_err();
    assert!(matches!(err, LiveError::InvalidConfig(_)), "{err:?}");
    let bad_key = LiveConfig::new("line\nbreak", "s").with_endpoint("ws://127.0.0.1:9/x");
    let err = LiveConnection::connect(&bad_key).await.unwrap_err();
    assert!(matches!(err, LiveError::InvalidConfig(_)), "{err:?}");
}
