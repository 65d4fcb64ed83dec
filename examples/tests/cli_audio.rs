//! The command-line client's audio conversion and report shapes.

#![allow(clippy::unwrap_used)] // test fixtures are trusted input

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use preppal_core::{Feedback, FeedbackSource, InterviewStatus, Speaker, TranscriptEntry};
use preppal_examples::cli::audio::{frames, load_wav_16k_mono, AudioError};
use preppal_examples::cli::report::InterviewReport;

/// The repository's fixtures: `fixtures/audio` at the workspace root.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/audio")
        .join(name)
}

fn rms(samples: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, n) = samples
        .into_iter()
        .fold((0.0, 0usize), |(s, n), x| (s + x * x, n + 1));
    (sum / n.max(1) as f64).sqrt()
}

/// RMS of a file's samples, all channels, on a full scale of 1.0.
fn file_rms(path: &Path) -> f64 {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    match spec.sample_format {
        hound::SampleFormat::Float => rms(r.samples::<f32>().map(|s| f64::from(s.unwrap()))),
        hound::SampleFormat::Int => {
            let scale = f64::from(1u32 << (spec.bits_per_sample - 1));
            rms(r.samples::<i32>().map(|s| f64::from(s.unwrap()) / scale))
        }
    }
}

fn i16_rms(samples: &[i16]) -> f64 {
    rms(samples.iter().map(|&s| f64::from(s) / 32_768.0))
}

/// Power of `freq_hz` in `samples` (Goertzel), normalised so a full-scale sine gives ~0.25.
fn goertzel(samples: &[i16], rate_hz: f64, freq_hz: f64) -> f64 {
    let w = 2.0 * PI * freq_hz / rate_hz;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) / 32_768.0 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let n = samples.len() as f64;
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n)
}

fn write_tone(
    dir: &Path,
    name: &str,
    spec: hound::WavSpec,
    freq_hz: f64,
    amplitude: f64,
    seconds: f64,
) -> PathBuf {
    let path = dir.join(name);
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    let n = (f64::from(spec.sample_rate) * seconds) as usize;
    for i in 0..n {
        let v = amplitude * (2.0 * PI * freq_hz * i as f64 / f64::from(spec.sample_rate)).sin();
        for ch in 0..spec.channels {
            // Only the first channel carries the tone; the others are silent.
            let v = if ch == 0 { v } else { 0.0 };
            match (spec.sample_format, spec.bits_per_sample) {
                (hound::SampleFormat::Float, _) => w.write_sample(v as f32).unwrap(),
                (hound::SampleFormat::Int, 8) => w.write_sample((v * 127.0).round() as i8).unwrap(),
                (hound::SampleFormat::Int, 16) => {
                    w.write_sample((v * 32_767.0).round() as i16).unwrap()
                }
                (hound::SampleFormat::Int, bits) => w
                    .write_sample((v * ((1i64 << (bits - 1)) - 1) as f64).round() as i32)
                    .unwrap(),
            }
        }
    }
    w.finalize().unwrap();
    path
}

fn spec(channels: u16, sample_rate: u32, bits: u16, format: hound::SampleFormat) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: bits,
        sample_format: format,
    }
}

#[test]
fn fixtures_load_as_16k_mono_with_their_duration_and_level() {
    // (file, channels, rate in Hz, nominal length in s) from the fixtures' README.
    for (name, channels, rate, seconds) in [
        ("intro.wav", 1, 16_000, 16.8),
        ("conflict.wav", 2, 48_000, 16.1),
        ("incident.wav", 1, 44_100, 15.6),
        ("question.wav", 1, 8_000, 5.1),
    ] {
        let path = fixture(name);
        let header = hound::WavReader::open(&path).unwrap();
        assert_eq!(
            (header.spec().channels, header.spec().sample_rate),
            (channels, rate),
            "{name}"
        );
        let file_frames = header.duration() as f64;
        drop(header);

        let samples = load_wav_16k_mono(&path).unwrap();
        let got_s = samples.len() as f64 / 16_000.0;
        let want_s = file_frames / f64::from(rate);
        assert!(
            (got_s - want_s).abs() <= 1.0 / 16_000.0,
            "{name}: {got_s} s vs header {want_s} s"
        );
        assert!(
            (got_s - seconds).abs() / seconds < 0.01,
            "{name}: {got_s} s vs nominal {seconds} s"
        );

        // Speech lies below 8 kHz, so conversion keeps its level; a mono file's level is
        // the same after downmixing, a stereo file's at most the same.
        let level_in = file_rms(&path);
        let level_out = i16_rms(&samples);
        assert!(
            level_out > 0.01,
            "{name}: output is nearly silent ({level_out})"
        );
        let ratio_db = 20.0 * (level_out / level_in).log10();
        if channels == 1 {
            assert!(
                ratio_db.abs() < 1.0,
                "{name}: level changed by {ratio_db:.2} dB"
            );
        } else {
            assert!(
                ratio_db < 0.5 && ratio_db > -6.5,
                "{name}: level changed by {ratio_db:.2} dB"
            );
        }
    }
}

#[test]
fn sixteen_khz_mono_pcm16_is_returned_unchanged() {
    let path = fixture("intro.wav");
    let raw: Vec<i16> = hound::WavReader::open(&path)
        .unwrap()
        .samples::<i16>()
        .map(Result::unwrap)
        .collect();
    assert_eq!(load_wav_16k_mono(&path).unwrap(), raw);
}

#[test]
fn a_1_khz_tone_at_48_khz_keeps_its_frequency_and_level() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tone(
        dir.path(),
        "tone.wav",
        spec(1, 48_000, 16, hound::SampleFormat::Int),
        1_000.0,
        0.5,
        2.0,
    );
    let out = load_wav_16k_mono(&path).unwrap();
    assert_eq!(out.len(), 32_000);
    // Skip the edges, where the filter sees the start and end of the tone.
    let mid = &out[1_600..out.len() - 1_600];
    let crossings = mid.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    let seconds = mid.len() as f64 / 16_000.0;
    let freq = crossings as f64 / 2.0 / seconds;
    assert!((freq - 1_000.0).abs() < 5.0, "zero crossings say {freq} Hz");
    let at_1k = goertzel(mid, 16_000.0, 1_000.0);
    let at_2k = goertzel(mid, 16_000.0, 2_000.0);
    let at_3k = goertzel(mid, 16_000.0, 3_000.0);
    assert!(
        at_1k > 1_000.0 * at_2k.max(at_3k),
        "1 kHz {at_1k}, 2 kHz {at_2k}, 3 kHz {at_3k}"
    );
    let level = i16_rms(mid);
    let want = 0.5 / 2f64.sqrt();
    assert!((level / want - 1.0).abs() < 0.02, "RMS {level} vs {want}");
}

#[test]
fn a_12_khz_tone_at_48_khz_is_removed_by_the_anti_aliasing_filter() {
    // 12 kHz is above the 8 kHz Nyquist frequency of 16 kHz audio: without a low-pass it
    // would alias to 4 kHz at full level.
    let dir = tempfile::tempdir().unwrap();
    let amplitude = 0.5;
    let path = write_tone(
        dir.path(),
        "high.wav",
        spec(1, 48_000, 16, hound::SampleFormat::Int),
        12_000.0,
        amplitude,
        2.0,
    );
    let out = load_wav_16k_mono(&path).unwrap();
    assert_eq!(out.len(), 32_000);
    let mid = &out[1_600..out.len() - 1_600];
    let attenuation_db = 20.0 * (i16_rms(mid) / (amplitude / 2f64.sqrt())).log10();
    assert!(
        attenuation_db <= -40.0,
        "12 kHz only attenuated by {attenuation_db:.1} dB"
    );
}

#[test]
fn other_encodings_and_channel_counts_convert() {
    let dir = tempfile::tempdir().unwrap();
    for (name, spec) in [
        ("u8.wav", spec(1, 22_050, 8, hound::SampleFormat::Int)),
        ("s24.wav", spec(1, 32_000, 24, hound::SampleFormat::Int)),
        ("s32.wav", spec(1, 16_000, 32, hound::SampleFormat::Int)),
        (
            "f32_stereo.wav",
            spec(2, 44_100, 32, hound::SampleFormat::Float),
        ),
        (
            "s16_quad.wav",
            spec(4, 24_000, 16, hound::SampleFormat::Int),
        ),
    ] {
        let path = write_tone(dir.path(), name, spec, 440.0, 0.8, 1.0);
        let out = load_wav_16k_mono(&path).unwrap();
        assert_eq!(out.len(), 16_000, "{name}");
        let mid = &out[1_600..14_400];
        // Only one channel carries the tone, so the mono mix has 1/channels of its level.
        let want = 0.8 / 2f64.sqrt() / f64::from(spec.channels);
        let level = i16_rms(mid);
        assert!(
            (level / want - 1.0).abs() < 0.05,
            "{name}: RMS {level} vs {want}"
        );
        let at_440 = goertzel(mid, 16_000.0, 440.0);
        let at_880 = goertzel(mid, 16_000.0, 880.0);
        assert!(
            at_440 > 100.0 * at_880,
            "{name}: 440 Hz {at_440}, 880 Hz {at_880}"
        );
    }
}

#[test]
fn unreadable_files_give_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        load_wav_16k_mono(dir.path().join("missing.wav")),
        Err(AudioError::Open { .. })
    ));
    let junk = dir.path().join("junk.wav");
    std::fs::write(&junk, b"RIFF\x10\0\0\0WAVEnot really a wav file").unwrap();
    assert!(matches!(
        load_wav_16k_mono(&junk),
        Err(AudioError::Decode { .. })
    ));
    let text = dir.path().join("answers.txt");
    std::fs::write(&text, "I led the migration.\n").unwrap();
    let err = load_wav_16k_mono(&text).unwrap_err();
    assert!(matches!(err, AudioError::Decode { .. }));
    assert!(err.to_string().contains("answers.txt"), "{err}");
}

#[test]
fn frames_are_whole_pcm16le_samples_of_the_asked_length() {
    let samples: Vec<i16> = (0..1_000).map(|i| (i * 31 - 15_000) as i16).collect();
    let out: Vec<bytes::Bytes> = frames(&samples, 40).collect();
    // 40 ms at 16 kHz = 640 samples = 1 280 bytes; 1 000 samples leave 360 (720 bytes).
    assert_eq!(
        out.iter().map(|f| f.len()).collect::<Vec<_>>(),
        [1_280, 720]
    );
    let decoded: Vec<i16> = out
        .iter()
        .flat_map(|f| {
            f.chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(decoded, samples);

    let out: Vec<_> = frames(&samples[..320], 10).collect();
    assert_eq!(out.iter().map(|f| f.len()).collect::<Vec<_>>(), [320, 320]);
    assert_eq!(frames(&[], 40).count(), 0);
    assert_eq!(
        frames(&samples, 200).map(|f| f.len()).collect::<Vec<_>>(),
        [2_000]
    );
}

fn sample_report() -> InterviewReport {
    let entries = [
        TranscriptEntry {
            sequence: 1,
            speaker: Speaker::User,
            text: "I build backends in Rust.".into(),
            start_ms: 12_300,
            end_ms: 15_000,
            interrupted: false,
            heard_text: None,
        },
        TranscriptEntry {
            sequence: 0,
            speaker: Speaker::Ai,
            text: "Tell me about yourself.".into(),
            start_ms: 5_000,
            end_ms: 7_000,
            interrupted: false,
            heard_text: None,
        },
        TranscriptEntry {
            sequence: 2,
            speaker: Speaker::User,
            text: String::new(),
            start_ms: 65_000,
            end_ms: 66_000,
            interrupted: false,
            heard_text: None,
        },
    ];
    let feedback = Feedback::new(
        "Automatic summary: two answers.",
        vec!["You answered every question.".into()],
        vec!["Speak up.".into()],
        FeedbackSource::Deterministic,
    );
    InterviewReport::new(
        "iv-1",
        InterviewStatus::Completed,
        &entries,
        Some(&feedback),
    )
}

#[test]
fn report_json_has_exactly_the_promised_shape_and_round_trips() {
    let report = sample_report();
    let json = report.to_json().unwrap();
    assert!(!json.contains('\n'), "one line: {json}");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    // The promised keys, plus `metrics`, the job and the answer-by-answer view (added;
    // never renamed). `answer_timing` is only printed by `preppal interview`.
    assert_eq!(
        keys(&value),
        [
            "company",
            "feedback",
            "interview_id",
            "job_title",
            "metrics",
            "questions",
            "status",
            "transcript"
        ]
    );
    assert_eq!(value["questions"].as_array().unwrap().len(), 2);
    assert_eq!(value["interview_id"], "iv-1");
    assert_eq!(value["status"], "COMPLETED");
    let transcript = value["transcript"].as_array().unwrap();
    assert_eq!(transcript.len(), 3);
    for e in transcript {
        assert_eq!(keys(e), ["end_ms", "speaker", "start_ms", "text"]);
    }
    // In sequence order, speakers in the design's names.
    assert_eq!(transcript[0]["speaker"], "AI");
    assert_eq!(transcript[0]["start_ms"], 5_000);
    assert_eq!(transcript[1]["speaker"], "USER");
    assert_eq!(
        keys(&value["feedback"]),
        [
            "areas_to_improve",
            "dropped_notes",
            "notes",
            "scores",
            "source",
            "strengths",
            "summary"
        ]
    );
    assert_eq!(value["feedback"]["source"], "deterministic");
    assert_eq!(
        value["feedback"]["strengths"][0],
        "You answered every question."
    );

    let back: InterviewReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);

    let mut none = report;
    none.feedback = None;
    let value: serde_json::Value = serde_json::from_str(&none.to_json().unwrap()).unwrap();
    assert!(value["feedback"].is_null());
    assert_eq!(keys(&value).len(), 8);
}

#[test]
fn markdown_shows_speakers_times_and_labelled_feedback() {
    let md = sample_report().to_markdown();
    assert!(md.contains("iv-1"), "{md}");
    assert!(md.contains("COMPLETED"), "{md}");
    let interviewer = md
        .find("**Interviewer** (0:05): Tell me about yourself.")
        .unwrap();
    let candidate = md
        .find("**Candidate** (0:12): I build backends in Rust.")
        .unwrap();
    assert!(interviewer < candidate, "{md}");
    assert!(
        md.contains("**Candidate** (1:05): _(no words transcribed)_"),
        "{md}"
    );
    assert!(md.contains("Automatic feedback"), "{md}");
    assert!(md.contains("Automatic summary: two answers."), "{md}");
    assert!(
        md.contains("### Strengths\n\n- You answered every question."),
        "{md}"
    );
    assert!(md.contains("### Areas to improve\n\n- Speak up."), "{md}");

    let mut gemini = sample_report();
    if let Some(f) = gemini.feedback.as_mut() {
        f.source = "gemini".into();
    }
    let md = gemini.to_markdown();
    assert!(!md.contains("Automatic feedback"), "{md}");
    assert!(md.contains("Gemini"), "{md}");

    let mut empty = sample_report();
    empty.feedback = None;
    empty.transcript.clear();
    let md = empty.to_markdown();
    assert!(md.contains("No feedback"), "{md}");
    assert!(md.contains("No transcript"), "{md}");
}

// ---------------------------------------------------------------------------------------
// `run_interview` against a scripted server that records what the client did.
// ---------------------------------------------------------------------------------------

mod scripted {
    use std::sync::{Arc, Mutex};

    use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::{any, post};
    use axum::{Json, Router};
    use preppal_core::codec::{decode_client, encode_server, ClientMessage};
    use preppal_core::proto::{self, server_to_client_message::Message as M};
    use serde_json::{json, Value};

    /// What the client did, as the server saw it.
    #[derive(Debug, Default)]
    pub(crate) struct Recorded {
        pub(crate) procedures: Vec<String>,
        pub(crate) unauthorized: Vec<String>,
        pub(crate) create_bodies: Vec<Value>,
        /// Sizes in bytes of all audio frames, in order.
        pub(crate) audio_frames: Vec<usize>,
        /// Audio answers heard (each ended by 3.2 s of silence: the interview default ends a turn after 3 s).
        pub(crate) audio_answers: usize,
        pub(crate) text_answers: Vec<String>,
        pub(crate) end_requests: usize,
        pub(crate) polls: usize,
    }

    #[derive(Clone)]
    pub(crate) struct Script {
        /// Answers after which the interviewer ends the interview itself.
        pub(crate) questions: usize,
        pub(crate) final_status: &'static str,
        /// Drop the connection on the first `createSession`, after reading its body.
        pub(crate) drop_first_create: bool,
        pub(crate) recorded: Arc<Mutex<Recorded>>,
        pub(crate) ws_base: String,
    }

    pub(crate) fn app(script: Script) -> Router {
        Router::new()
            .route("/api/{procedure}", post(api))
            .route(
                "/api/auth/dev",
                post(|s: State<Script>, h: HeaderMap, b: Json<Value>| {
                    api(s, Path("auth.dev".into()), h, b)
                }),
            )
            .route("/interview/{id}", any(socket))
            .with_state(script)
    }

    async fn api(
        State(s): State<Script>,
        Path(procedure): Path<String>,
        headers: HeaderMap,
        Json(body): Json<Value>,
    ) -> Response {
        let mut rec = s.recorded.lock().unwrap();
        rec.procedures.push(procedure.clone());
        if procedure == "auth.dev" {
            assert_eq!(body["email"], "ada@example.com");
            return Json(json!({
                "user": {"id": "u1", "email": "ada@example.com", "name": "ada", "created_at_ms": 1},
                "session_token": "tok-1"
            }))
            .into_response();
        }
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer tok-1") {
            rec.unauthorized.push(procedure);
            let body = json!({"error": {"code": "UNAUTHORIZED", "message": "sign in"}});
            return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
        }
        // The interview record as the server sends it, with `getById`'s job fields.
        let interview = |status: &str| {
            json!({
                "id": "iv-1", "user_id": "u1", "idempotency_key": "k", "status": status,
                "persona": "p", "duration_ms": 600_000, "job_description_id": null,
                "resume_id": null, "job_description_snapshot": "Engineer",
                "resume_snapshot": "Ada", "created_at_ms": 1, "started_at_ms": null,
                "ended_at_ms": null, "ended_reason": null, "error_message": null,
                "error_kind": null, "plan": null, "job_title": "Engineer", "company": "",
                "interviewer_kind": "offline_demo"
            })
        };
        match procedure.as_str() {
            "interview.createSession" => {
                rec.create_bodies.push(body);
                if s.drop_first_create && rec.create_bodies.len() == 1 {
                    drop(rec);
                    // A panicking handler makes the server close the connection unanswered.
                    panic!("dropping the first createSession on purpose");
                }
                Json(interview("PENDING")).into_response()
            }
            "interview.generateWorkerToken" => Json(json!({
                "token": "t", "expires_at": 0,
                "ws_url": format!("{}/interview/iv-1?token=t", s.ws_base),
                "worker_url": s.ws_base.replacen("ws://", "http://", 1)
            }))
            .into_response(),
            "interview.getById" => {
                rec.polls += 1;
                // The first poll still sees the interview being finalized.
                let status = if rec.polls == 1 { "IN_PROGRESS" } else { s.final_status };
                Json(interview(status)).into_response()
            }
            "interview.getTranscript" => Json(json!({"entries": [
                {"sequence": 0, "speaker": "AI", "text": "Tell me about yourself.", "start_ms": 0, "end_ms": 900},
                {"sequence": 1, "speaker": "USER", "text": "I ask questions.", "start_ms": 1000, "end_ms": 6000}
            ]}))
            .into_response(),
            "interview.getFeedback" => Json(json!({"feedback": {
                "summary": "Automatic summary.", "strengths": ["Clear"],
                "areas_to_improve": ["Depth"], "source": "deterministic"
            }}))
            .into_response(),
            _ => (
                StatusCode::NOT_FOUND,
                Json(json!({"error": {"code": "NOT_FOUND", "message": "no such procedure"}})),
            )
                .into_response(),
        }
    }

    async fn socket(State(s): State<Script>, ws: WebSocketUpgrade) -> Response {
        ws.on_upgrade(move |socket| converse(s, socket))
    }

    async fn send(socket: &mut WebSocket, m: M) {
        let buf = encode_server(&proto::ServerToClientMessage { message: Some(m) });
        socket.send(Message::Binary(buf)).await.unwrap();
    }

    async fn ask(socket: &mut WebSocket, n: usize) {
        let text = format!("Question {n}?");
        send(
            socket,
            M::AudioResponse(proto::AudioResponse {
                audio_content: vec![0u8; 4_800].into(),
            }),
        )
        .await;
        let fragment = proto::TranscriptUpdate {
            speaker: "AI".into(),
            text: text.clone(),
            ..Default::default()
        };
        send(socket, M::TranscriptUpdate(fragment)).await;
        let done = proto::TranscriptUpdate {
            speaker: "AI".into(),
            text,
            is_final: true,
            turn_complete: true,
            ..Default::default()
        };
        send(socket, M::TranscriptUpdate(done)).await;
    }

    async fn end(socket: &mut WebSocket, reason: proto::session_ended::Reason) {
        send(
            socket,
            M::SessionEnded(proto::SessionEnded {
                reason: reason as i32,
            }),
        )
        .await;
        let _ = socket.send(Message::Close(None)).await;
    }

    /// Asks a question, then another after each answer (audio ends after 3.2 s of
    /// silence, text at once), until `questions` answers came in or the client ends.
    async fn converse(s: Script, mut socket: WebSocket) {
        let started = proto::SessionStarted {
            interview_id: "iv-1".into(),
            max_duration_ms: 600_000,
        };
        send(&mut socket, M::SessionStarted(started)).await;
        ask(&mut socket, 1).await;
        let (mut answers, mut zeros) = (0, 0usize);
        while let Some(Ok(msg)) = socket.recv().await {
            let Message::Binary(buf) = msg else { continue };
            let answered = match decode_client(buf).unwrap() {
                ClientMessage::Audio(a) => {
                    s.recorded.lock().unwrap().audio_frames.push(a.len());
                    let samples: Vec<i16> = a
                        .chunks_exact(2)
                        .map(|b| i16::from_le_bytes([b[0], b[1]]))
                        .collect();
                    let trailing = samples.iter().rev().take_while(|&&x| x == 0).count();
                    zeros = if trailing == samples.len() {
                        zeros + trailing
                    } else {
                        trailing
                    };
                    if zeros >= 51_200 {
                        s.recorded.lock().unwrap().audio_answers += 1;
                        zeros = 0;
                        true
                    } else {
                        false
                    }
                }
                ClientMessage::Text(t) => {
                    s.recorded.lock().unwrap().text_answers.push(t);
                    true
                }
                ClientMessage::End => {
                    s.recorded.lock().unwrap().end_requests += 1;
                    end(&mut socket, proto::session_ended::Reason::UserEnded).await;
                    return;
                }
                _ => false,
            };
            if answered {
                answers += 1;
                if answers >= s.questions {
                    end(&mut socket, proto::session_ended::Reason::ModelEnded).await;
                    return;
                }
                ask(&mut socket, answers + 1).await;
            }
        }
    }
}

async fn run_scripted(
    questions: usize,
    final_status: &'static str,
    drop_first_create: bool,
) -> (anyhow::Result<()>, scripted::Recorded) {
    use std::sync::{Arc, Mutex};

    use clap::Parser;
    use preppal_examples::cli::{run_interview, InterviewArgs};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let recorded = Arc::new(Mutex::new(scripted::Recorded::default()));
    let script = scripted::Script {
        questions,
        final_status,
        drop_first_create,
        recorded: Arc::clone(&recorded),
        ws_base: format!("ws://{addr}"),
    };
    let server = tokio::spawn(async move { axum::serve(listener, scripted::app(script)).await });

    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("job.txt");
    let resume = dir.path().join("resume.txt");
    let answers = dir.path().join("answers.txt");
    std::fs::write(&job, "Backend engineer, Rust.").unwrap();
    std::fs::write(&resume, "Seven years of backends.").unwrap();
    std::fs::write(
        &answers,
        "First typed answer.\n\n   \n  Second typed answer.  \n",
    )
    .unwrap();

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: InterviewArgs,
    }
    let server_url = format!("http://{addr}/");
    let question = fixture("question.wav");
    let argv = [
        "preppal",
        "--server",
        &server_url,
        "--job",
        job.to_str().unwrap(),
        "--resume",
        resume.to_str().unwrap(),
        "--audio",
        question.to_str().unwrap(),
        "--answers",
        answers.to_str().unwrap(),
        "--speed",
        "0",
        "--frame-ms",
        "100",
        "--email",
        "ada@example.com",
        "--persona",
        "a terse staff engineer",
        "--duration-minutes",
        "15",
        "--json",
        "--timeout-secs",
        "60",
    ];
    let args = Wrap::try_parse_from(argv).unwrap().args;
    let result = run_interview(args).await;
    server.abort();
    let recorded = std::mem::take(&mut *recorded.lock().unwrap());
    (result, recorded)
}

#[tokio::test]
async fn an_interview_runs_answers_in_order_then_ends_and_reports() {
    let (result, rec) = run_scripted(10, "COMPLETED", true).await;
    result.unwrap();
    assert!(
        rec.unauthorized.is_empty(),
        "calls without the session token: {:?}",
        rec.unauthorized
    );
    assert_eq!(
        rec.procedures[..4],
        [
            "auth.dev",
            "interview.createSession",
            "interview.createSession",
            "interview.generateWorkerToken"
        ]
    );
    assert!(rec
        .procedures
        .contains(&"interview.getTranscript".to_owned()));
    assert!(rec.procedures.contains(&"interview.getFeedback".to_owned()));
    assert!(rec.polls >= 2, "polled {} times", rec.polls);

    // The first createSession got no answer and was retried once with the same key.
    assert_eq!(rec.create_bodies.len(), 2);
    assert_eq!(rec.create_bodies[0], rec.create_bodies[1]);
    let create = &rec.create_bodies[0];
    assert_eq!(create["job_description"], "Backend engineer, Rust.");
    assert_eq!(create["resume"], "Seven years of backends.");
    assert_eq!(create["persona"], "a terse staff engineer");
    assert_eq!(create["duration_minutes"], 15);
    let key = create["idempotency_key"].as_str().unwrap();
    assert_eq!(
        (key.len(), key.as_bytes()[14]),
        (36, b'4'),
        "not a UUID v4: {key}"
    );

    // The WAV answer first: question.wav is 81 074 samples at 16 kHz, sent in 100 ms
    // frames (1 600 samples, 3 200 bytes), then 3.5 s of silence (35 frames).
    assert_eq!(rec.audio_answers, 1);
    let frames = &rec.audio_frames;
    assert_eq!(frames.len(), 51 + 35);
    assert_eq!(frames[50], (81_074 - 50 * 1_600) * 2);
    assert!(
        frames
            .iter()
            .enumerate()
            .all(|(i, &n)| i == 50 || n == 3_200),
        "{frames:?}"
    );
    // Then the non-empty lines, trimmed; then the end.
    assert_eq!(
        rec.text_answers,
        ["First typed answer.", "Second typed answer."]
    );
    assert_eq!(rec.end_requests, 1);
}

#[tokio::test]
async fn an_interview_ended_early_by_the_server_skips_answers_and_fails_on_error() {
    let (result, rec) = run_scripted(1, "ERROR", false).await;
    let err = result.unwrap_err();
    assert!(err.to_string().contains("ERROR"), "{err}");
    assert_eq!(rec.audio_answers, 1);
    assert!(rec.text_answers.is_empty(), "{:?}", rec.text_answers);
    assert_eq!(rec.end_requests, 0);
    assert!(rec
        .procedures
        .contains(&"interview.getTranscript".to_owned()));
}
