//! The worker API decoder: any bytes give a request or a typed error, never a panic; an
//! accepted request survives a round trip, and the typed conversions it feeds (statuses,
//! transcript entries) refuse unknown enum values instead of panicking.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use preppal_core::codec;
use preppal_core::proto::worker_api_request::Request;
use preppal_core::{InterviewStatus, TranscriptEntry};

fuzz_target!(|data: &[u8]| {
    let Ok(req) = codec::decode_worker_request(Bytes::copy_from_slice(data)) else {
        return;
    };
    assert_eq!(
        codec::decode_worker_request(codec::encode_worker_request(req.clone())),
        Ok(req.clone())
    );
    match req {
        Request::UpdateStatus(r) => {
            let _ = InterviewStatus::from_proto_i32(r.status);
        }
        Request::SubmitTranscript(r) => {
            for e in r.entries {
                let _ = TranscriptEntry::try_from(e);
            }
        }
        _ => {}
    }
    let _ = codec::decode_worker_response(Bytes::copy_from_slice(data));
});
