//! The Gemini Live server message parser: any frame gives events or a typed error, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use preppal_gemini::protocol;

fuzz_target!(|data: &[u8]| {
    let _ = protocol::parse_server_message(data);
    let frame = protocol::parse_server_frame(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = protocol::decode_base64(s);
        // A Text frame (UTF-8 already checked) parses exactly as its bytes do.
        let text = protocol::parse_server_text(s);
        assert_eq!(text.as_ref().ok(), frame.as_ref().ok());
        assert_eq!(text.is_err(), frame.is_err());
    }
});
