//! Criterion benchmarks of the Preppal hot path; see `benches/README.md`.
//!
//! This library holds the inputs the benches share: speech-like audio, the Gemini
//! `serverContent` message that carries it, and a session ready to relay.

use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use preppal_core::{InterviewSession, ModelEvent, SessionConfig};

/// PCM16LE mono speech-like audio (a sine of amplitude 6 000): `ms` milliseconds at
/// `rate_hz`, so `ms * rate_hz / 1000` samples and twice as many bytes.
pub fn audio(ms: usize, rate_hz: usize) -> Bytes {
    let samples = ms * rate_hz / 1000;
    let mut v = Vec::with_capacity(samples * 2);
    for i in 0..samples {
        let s = ((i as f64 * 0.07).sin() * 6_000.0) as i16;
        v.extend_from_slice(&s.to_le_bytes());
    }
    Bytes::from(v)
}

/// A Gemini `serverContent` message with `ms` milliseconds of 24 000 Hz audio as base64
/// `inlineData`, and with `transcription` an `outputTranscription` fragment. `pretty`
/// lays it out as the real service sends it (indented); otherwise compact.
///
/// # Panics
/// Never in practice: serializing a `serde_json::Value` to a vector cannot fail.
pub fn server_content(ms: usize, transcription: bool, pretty: bool) -> Vec<u8> {
    let data = base64::engine::general_purpose::STANDARD.encode(audio(ms, 24_000));
    let mut sc = serde_json::json!({
        "modelTurn": { "parts": [ { "inlineData": { "mimeType": "audio/pcm;rate=24000", "data": data } } ] }
    });
    if transcription {
        sc["outputTranscription"] = serde_json::json!({ "text": " tell me about a ti" });
    }
    let message = serde_json::json!({ "serverContent": sc });
    let bytes = if pretty {
        serde_json::to_vec_pretty(&message)
    } else {
        serde_json::to_vec(&message)
    };
    bytes.unwrap_or_default()
}

/// A session of an hour-long interview past the model's `setupComplete`, with its opening
/// outputs drained: the state in which it relays audio. Returns it and its start time.
///
/// # Panics
/// If the session refuses `setupComplete` (a bug in the session).
pub fn started_session(id: &str) -> (InterviewSession, Instant) {
    let start = Instant::now();
    let mut s = InterviewSession::new(id, SessionConfig::new(Duration::from_secs(3_600)), start);
    s.handle_model(ModelEvent::SetupComplete, start)
        .expect("a new session accepts setupComplete");
    drain(&mut s);
    (s, start)
}

/// Takes every pending output of `s` (to the model, to the client, to persist, events).
pub fn drain(s: &mut InterviewSession) {
    while s.poll_to_model().is_some()
        || s.poll_to_client().is_some()
        || s.poll_persist().is_some()
        || s.poll_event().is_some()
    {}
}
