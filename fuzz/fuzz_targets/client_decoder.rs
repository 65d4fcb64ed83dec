//! The browser message decoder: any bytes give a message or a typed error, never a panic,
//! and every accepted message keeps the codec's promises and survives a round trip.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use preppal_core::codec::{self, ClientMessage, MAX_CLIENT_MESSAGE_BYTES, MAX_TEXT_INPUT_BYTES};

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = codec::decode_client(Bytes::copy_from_slice(data)) else {
        return;
    };
    assert!(data.len() <= MAX_CLIENT_MESSAGE_BYTES);
    match &msg {
        ClientMessage::Audio(a) => assert_eq!(a.len() % 2, 0, "whole PCM16LE samples"),
        ClientMessage::Text(t) => assert!(t.len() <= MAX_TEXT_INPUT_BYTES),
        _ => {}
    }
    assert_eq!(codec::decode_client(codec::encode_client(&msg)), Ok(msg));
});
