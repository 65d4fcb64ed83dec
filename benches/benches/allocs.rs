//! Heap allocations per relayed frame on the audio path, counted by a counting global
//! allocator (`stats_alloc`) around each stage of the hot path:
//!
//! - up: browser frame decode → `InterviewSession::handle_client` → `poll_to_model` →
//!   Gemini `realtimeInput` encode (JSON text with the base64 audio);
//! - down: Gemini `serverContent` parse with base64 decode → `handle_model` →
//!   `poll_to_client` → browser frame encode.
//!
//! Each stage runs `FRAMES` times after a warm-up (so queues have their working size) and
//! the table gives allocations and bytes per frame. Run with
//! `cargo bench -p preppal-benches --bench allocs`.

// Benchmarks feed known-good inputs; a failure to decode them is a bug worth a panic.
#![allow(clippy::unwrap_used)]

use std::alloc::System;
use std::hint::black_box;
use std::time::Duration;

use preppal_benches::{audio, server_content, started_session};
use preppal_core::codec::{self, ClientMessage};
use preppal_core::ModelEvent;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Frames measured per stage.
const FRAMES: u64 = 10_000;
/// Frames run before measuring.
const WARM_UP: u64 = 1_000;

/// Runs `step` `WARM_UP` then `FRAMES` times; returns (allocations, bytes) per frame,
/// counting reallocations as allocations.
fn per_frame(mut step: impl FnMut()) -> (f64, f64) {
    for _ in 0..WARM_UP {
        step();
    }
    let region = Region::new(GLOBAL);
    for _ in 0..FRAMES {
        step();
    }
    let stats = region.change();
    let n = FRAMES as f64;
    (
        (stats.allocations + stats.reallocations) as f64 / n,
        stats.bytes_allocated as f64 / n,
    )
}

fn main() {
    let mut rows: Vec<(String, (f64, f64))> = Vec::new();

    for ms in [20usize, 40, 100] {
        let frame = codec::encode_client(&ClientMessage::Audio(audio(ms, 16_000)));
        rows.push((
            format!("up {ms} ms: browser frame decode"),
            per_frame(|| {
                black_box(codec::decode_client(frame.clone()).unwrap());
            }),
        ));
        let (mut s, mut now) = started_session("allocs");
        rows.push((
            format!("up {ms} ms: session step (handle_client, poll_to_model)"),
            per_frame(|| {
                now += Duration::from_millis(ms as u64);
                let m = codec::decode_client(frame.clone()).unwrap();
                s.handle_client(m, now).unwrap();
                black_box(s.poll_to_model());
            }),
        ));
        let cmd = preppal_core::ModelCommand::Audio(audio(ms, 16_000));
        rows.push((
            format!("up {ms} ms: Gemini realtimeInput encode"),
            per_frame(|| {
                black_box(preppal_gemini::encode_command(&cmd));
            }),
        ));
        let (mut s, mut now) = started_session("allocs");
        rows.push((
            format!("up {ms} ms: whole path"),
            per_frame(|| {
                now += Duration::from_millis(ms as u64);
                let m = codec::decode_client(frame.clone()).unwrap();
                s.handle_client(m, now).unwrap();
                while let Some(cmd) = s.poll_to_model() {
                    black_box(preppal_gemini::encode_command(&cmd));
                }
            }),
        ));
    }

    for transcription in [false, true] {
        let label = if transcription {
            "down 100 ms + transcript fragment"
        } else {
            "down 100 ms"
        };
        let json = server_content(100, transcription, true);
        rows.push((
            format!("{label}: Gemini serverContent parse"),
            per_frame(|| {
                black_box(preppal_gemini::protocol::parse_server_frame(&json).unwrap());
            }),
        ));
        let (mut s, mut now) = started_session("allocs");
        let chunk = audio(100, 24_000);
        rows.push((
            format!("{label}: session step (handle_model, poll_to_client)"),
            per_frame(|| {
                now += Duration::from_millis(100);
                s.handle_model(ModelEvent::Audio(chunk.clone()), now)
                    .unwrap();
                black_box(s.poll_to_client());
            }),
        ));
        let msg = preppal_core::proto::ServerToClientMessage {
            message: Some(
                preppal_core::proto::server_to_client_message::Message::AudioResponse(
                    preppal_core::proto::AudioResponse {
                        audio_content: chunk.clone(),
                    },
                ),
            ),
        };
        rows.push((
            format!("{label}: browser frame encode"),
            per_frame(|| {
                black_box(codec::encode_server(&msg));
            }),
        ));
        let (mut s, mut now) = started_session("allocs");
        rows.push((
            format!("{label}: whole path"),
            per_frame(|| {
                now += Duration::from_millis(100);
                let frame = preppal_gemini::protocol::parse_server_frame(&json).unwrap();
                for ev in frame.events {
                    s.handle_model(ev, now).unwrap();
                }
                while let Some(msg) = s.poll_to_client() {
                    black_box(codec::encode_server(&msg));
                }
                while s.poll_event().is_some() {}
            }),
        ));
    }

    println!("| stage | allocations per frame | bytes allocated per frame |");
    println!("|---|---|---|");
    for (name, (allocs, bytes)) in rows {
        println!("| {name} | {allocs:.2} | {bytes:.0} |");
    }
}
