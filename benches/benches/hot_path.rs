//! The relay's hot path, one audio frame at a time, on realistic inputs.
//!
//! Run with `cargo bench -p preppal-benches --bench hot_path`.

// Benchmarks feed known-good inputs; a failure to decode them is a bug worth a panic.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use preppal_benches::{audio, server_content, started_session};
use preppal_core::codec::{self, ClientMessage};
use preppal_core::proto::{self, server_to_client_message::Message as ToClient};
use preppal_core::{ModelCommand, ModelEvent};

fn browser_frames(c: &mut Criterion) {
    let mut g = c.benchmark_group("browser_frame_decode");
    for ms in [20, 40, 100] {
        let frame = codec::encode_client(&ClientMessage::Audio(audio(ms, 16_000)));
        g.throughput(Throughput::Bytes(frame.len() as u64));
        g.bench_with_input(
            BenchmarkId::from_parameter(format!("{ms}ms")),
            &frame,
            |b, f| b.iter(|| codec::decode_client(black_box(f.clone())).unwrap()),
        );
    }
    g.finish();

    let msg = proto::ServerToClientMessage {
        message: Some(ToClient::AudioResponse(proto::AudioResponse {
            audio_content: audio(100, 24_000),
        })),
    };
    c.bench_function("browser_frame_encode/100ms_24k", |b| {
        b.iter(|| codec::encode_server(black_box(&msg)))
    });
}

fn gemini_frames(c: &mut Criterion) {
    let mut g = c.benchmark_group("gemini_realtime_input_encode");
    for ms in [20, 40, 100] {
        let cmd = ModelCommand::Audio(audio(ms, 16_000));
        g.bench_with_input(
            BenchmarkId::from_parameter(format!("{ms}ms")),
            &cmd,
            |b, cmd| b.iter(|| preppal_gemini::encode_command(black_box(cmd))),
        );
    }
    g.finish();

    let mut g = c.benchmark_group("gemini_server_content_parse");
    for (name, transcription) in [
        ("100ms_audio", false),
        ("100ms_audio_with_transcription", true),
    ] {
        let frame = server_content(100, transcription, false);
        g.throughput(Throughput::Bytes(frame.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &frame, |b, f| {
            b.iter(|| preppal_gemini::parse_server_message(black_box(f)).unwrap())
        });
        // The same frame as a WebSocket Text frame, whose UTF-8 is already checked.
        let text = String::from_utf8(frame).unwrap();
        g.bench_with_input(
            BenchmarkId::from_parameter(format!("{name}_text_frame")),
            &text,
            |b, t| b.iter(|| preppal_gemini::protocol::parse_server_text(black_box(t)).unwrap()),
        );
    }
    g.finish();
}

fn session(c: &mut Criterion) {
    let (mut s, start) = started_session("bench");
    let up = audio(40, 16_000);
    let down = audio(100, 24_000);
    let mut now = start;
    c.bench_function("session_step/client_audio_40ms", |b| {
        b.iter(|| {
            now += Duration::from_millis(40);
            s.handle_client(ClientMessage::Audio(up.clone()), now)
                .unwrap();
            black_box(s.poll_to_model());
        })
    });
    c.bench_function("session_step/model_audio_100ms", |b| {
        b.iter(|| {
            now += Duration::from_millis(100);
            s.handle_model(ModelEvent::Audio(down.clone()), now)
                .unwrap();
            black_box(s.poll_to_client());
        })
    });
    c.bench_function("transcript_fragment_merge", |b| {
        b.iter(|| {
            let mut t = preppal_core::Transcript::new();
            for (i, f) in ["Tell", " me ab", "out a ti", "me you disag", "reed."]
                .iter()
                .enumerate()
            {
                t.append(preppal_core::Speaker::Ai, f, i as u64);
            }
            black_box(t.finalize(preppal_core::Speaker::Ai).map(|e| e.text.len()))
        })
    });
}

criterion_group!(benches, browser_frames, gemini_frames, session);
criterion_main!(benches);
