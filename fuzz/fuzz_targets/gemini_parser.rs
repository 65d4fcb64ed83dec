//! The Gemini Live server message parser: any frame gives events or a typed error, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use preppal_gemini::protocol;

fuzz_target!(|data: &[u8]| {
    let _ = protocol::parse_server_message(data);
    let _ = protocol::parse_server_frame(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = protocol::decode_base64(s);
    }
});
