//! Sequences of session operations: client frames, model frames, timeouts and a vanished
//! client, in any order, drive the interview session without a panic, and an ended session
//! stays ended.
//!
//! The input is read as operations: one byte picks the operation, one byte gives the length
//! of its payload, then the payload.
#![no_main]

use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use preppal_core::codec;
use preppal_core::{InterviewSession, ModelEvent, SessionConfig};
use preppal_gemini::protocol;

fn drain(s: &mut InterviewSession) {
    while s.poll_to_model().is_some() {}
    while s.poll_to_client().is_some() {}
    while s.poll_persist().is_some() {}
    while s.poll_event().is_some() {}
}

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut now = t0;
    let config = SessionConfig::new(Duration::from_secs(120));
    let mut s = InterviewSession::new("fuzz", config, now);
    let mut rest = data;
    while let [op, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(n);
        rest = next;
        let was_ended = s.is_ended();
        match op % 6 {
            0 => {
                if let Ok(m) = codec::decode_client(Bytes::copy_from_slice(payload)) {
                    let r = s.handle_client(m, now);
                    assert!(
                        !(was_ended && r.is_ok()),
                        "an ended session took client input"
                    );
                }
            }
            1 => {
                if let Ok(events) = protocol::parse_server_message(payload) {
                    for e in events {
                        let _ = s.handle_model(e, now);
                    }
                }
            }
            2 => {
                now += Duration::from_millis(u64::from(*len) * 250);
                s.handle_timeout(now);
            }
            3 => s.handle_client_gone(now),
            4 => {
                let _ = s.handle_model(ModelEvent::SetupComplete, now);
            }
            _ => {
                if let Some(d) = s.poll_timeout() {
                    now = now.max(d);
                    s.handle_timeout(now);
                }
            }
        }
        drain(&mut s);
        if was_ended {
            assert!(s.is_ended(), "an ended session came back to life");
        }
    }
});
