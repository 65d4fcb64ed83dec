//! The simulator's load mode ([`SimulatorConfig::load`](super::SimulatorConfig::load)): a
//! lean model peer for load tests of a relay.
//!
//! Per connection it answers `setup` with `setupComplete`, then, for every 100 ms of
//! candidate audio it receives (3 200 bytes of 16 000 Hz PCM16LE in `realtimeInput.audio`),
//! sends one `serverContent` with 100 ms of 24 000 Hz PCM16LE audio (4 800 bytes, base64
//! `inlineData`) and an `outputTranscription` fragment; after every
//! [`TURN_CHUNKS`] chunks, `generationComplete` and `turnComplete` (a 10 s model turn). Its
//! pace is the candidate's: real time when the candidate streams at real time. It does no
//! speech synthesis, no voice activity detection and records nothing; `clientContent` is
//! read and ignored.
//!
//! Both directions carry timestamps inside the audio, so a load generator can measure the
//! latency a relay adds without clocks of its own in the relay:
//! - candidate audio frames start with [`UpStamp`]: the time the frame left the load
//!   generator;
//! - model audio chunks start with [`DownStamp`]: the time the chunk left the peer, then the
//!   one-way latencies of the candidate frames received since the previous chunk.
//!
//! Times are nanoseconds since the Unix epoch ([`now_ns`]): every process of a load test runs
//! on one machine, so their wall clocks agree.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use futures::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::connection::server_frame;
use super::{SimulatorConfig, CHUNK_BYTES};
use crate::protocol::OUTPUT_AUDIO_MIME;

/// Candidate audio per model chunk: 100 ms of 16 000 Hz PCM16LE = 3 200 bytes.
pub const INPUT_BYTES_PER_CHUNK: usize = 3_200;

/// Model chunks per model turn: 100 chunks of 100 ms, a 10 s turn.
pub const TURN_CHUNKS: u64 = 100;

/// Nanoseconds since the Unix epoch on the wall clock (0 if the clock is before 1970).
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The stamp at the start of a candidate audio frame: bytes 0..8 are the time the frame
/// left the load generator, nanoseconds since the Unix epoch, little-endian u64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpStamp {
    /// When the frame was sent, ns since the Unix epoch.
    pub sent_ns: u64,
}

impl UpStamp {
    /// Stamp length, in bytes.
    pub const LEN: usize = 8;

    /// Writes the stamp over the first [`UpStamp::LEN`] bytes of `frame`.
    ///
    /// # Panics
    /// If `frame` is shorter than [`UpStamp::LEN`] bytes.
    pub fn write(self, frame: &mut [u8]) {
        frame[..Self::LEN].copy_from_slice(&self.sent_ns.to_le_bytes());
    }

    /// Reads the stamp of `frame`; `None` when it is shorter than [`UpStamp::LEN`] bytes.
    pub fn read(frame: &[u8]) -> Option<Self> {
        let bytes: [u8; 8] = frame.get(..Self::LEN)?.try_into().ok()?;
        Some(Self {
            sent_ns: u64::from_le_bytes(bytes),
        })
    }
}

/// The stamp at the start of a model audio chunk: bytes 0..8 the time the chunk left the
/// peer (ns since the Unix epoch, little-endian u64), bytes 8..10 a count `n` (little-endian
/// u16), then `n` little-endian u32: the one-way latencies, in µs, of the candidate frames
/// the peer received since its previous chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownStamp {
    /// When the chunk was sent, ns since the Unix epoch.
    pub sent_ns: u64,
    /// Latencies of the candidate frames received since the previous chunk, µs.
    pub up_latencies_us: Vec<u32>,
}

impl DownStamp {
    /// The most latencies one 4 800-byte chunk carries.
    pub const MAX_LATENCIES: usize = (CHUNK_BYTES - 10) / 4;

    /// Writes the stamp at the start of `chunk`, keeping at most as many latencies as fit
    /// (and at most [`DownStamp::MAX_LATENCIES`]); returns how many were written.
    pub fn write(sent_ns: u64, up_latencies_us: &[u32], chunk: &mut [u8]) -> usize {
        if chunk.len() < 10 {
            return 0;
        }
        let n = up_latencies_us
            .len()
            .min((chunk.len() - 10) / 4)
            .min(Self::MAX_LATENCIES);
        chunk[..8].copy_from_slice(&sent_ns.to_le_bytes());
        chunk[8..10].copy_from_slice(&(n as u16).to_le_bytes());
        for (i, l) in up_latencies_us.iter().take(n).enumerate() {
            chunk[10 + 4 * i..14 + 4 * i].copy_from_slice(&l.to_le_bytes());
        }
        n
    }

    /// Reads the stamp of `chunk`; `None` when it is too short for what it announces.
    pub fn read(chunk: &[u8]) -> Option<Self> {
        let sent_ns = u64::from_le_bytes(chunk.get(..8)?.try_into().ok()?);
        let n = usize::from(u16::from_le_bytes(chunk.get(8..10)?.try_into().ok()?));
        let body = chunk.get(10..10 + 4 * n)?;
        let up_latencies_us = body
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Some(Self {
            sent_ns,
            up_latencies_us,
        })
    }
}

/// What the peer accounts per connection: candidate audio received, latencies still to
/// report, chunks sent.
#[derive(Debug, Default)]
pub struct LoadPeerState {
    received_bytes: u64,
    chunks_sent: u64,
    pending_us: Vec<u32>,
}

impl LoadPeerState {
    /// Takes one candidate frame (`pcm`, its stamp first) received at `now_ns`; returns how
    /// many model chunks are now due (one per 100 ms of candidate audio received).
    pub fn on_candidate_audio(&mut self, pcm: &[u8], now_ns: u64) -> u64 {
        if let Some(stamp) = UpStamp::read(pcm) {
            let us = now_ns.saturating_sub(stamp.sent_ns) / 1_000;
            if self.pending_us.len() < DownStamp::MAX_LATENCIES {
                self.pending_us.push(u32::try_from(us).unwrap_or(u32::MAX));
            }
        }
        self.received_bytes += pcm.len() as u64;
        (self.received_bytes / INPUT_BYTES_PER_CHUNK as u64).saturating_sub(self.chunks_sent)
    }

    /// Fills `chunk` (4 800 bytes) with the next chunk's stamp at `now_ns` and counts it
    /// sent; returns the chunk's index from 0.
    pub fn next_chunk(&mut self, chunk: &mut [u8], now_ns: u64) -> u64 {
        chunk.fill(0);
        DownStamp::write(now_ns, &self.pending_us, chunk);
        self.pending_us.clear();
        let index = self.chunks_sent;
        self.chunks_sent += 1;
        index
    }
}

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(borrow, rename = "realtimeInput", alias = "realtime_input")]
    realtime_input: Option<RealtimeInput<'a>>,
    setup: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct RealtimeInput<'a> {
    #[serde(borrow)]
    audio: Option<Blob<'a>>,
}

#[derive(Deserialize)]
struct Blob<'a> {
    #[serde(borrow)]
    data: Cow<'a, str>,
}

/// Serves one upgraded connection in load mode until either side closes.
pub(super) async fn serve(mut ws: WebSocketStream<TcpStream>, config: &SimulatorConfig) {
    let mut state = LoadPeerState::default();
    let mut chunk = vec![0u8; CHUNK_BYTES];
    let mut set_up = false;
    while let Some(Ok(message)) = ws.next().await {
        let data = match message {
            Message::Text(t) => bytes::Bytes::from(t),
            Message::Binary(b) => b,
            Message::Close(_) => break,
            _ => continue,
        };
        let Ok(incoming) = serde_json::from_slice::<Incoming<'_>>(&data) else {
            break;
        };
        if incoming.setup.is_some() && !set_up {
            set_up = true;
            let frame = server_frame(&serde_json::json!({ "setupComplete": {} }), config);
            if ws.send(frame).await.is_err() {
                break;
            }
            continue;
        }
        let Some(audio) = incoming.realtime_input.and_then(|r| r.audio) else {
            continue;
        };
        let Ok(pcm) = base64::engine::general_purpose::STANDARD.decode(audio.data.as_bytes())
        else {
            break;
        };
        let due = state.on_candidate_audio(&pcm, now_ns());
        for _ in 0..due {
            let index = state.next_chunk(&mut chunk, now_ns());
            let value = serde_json::json!({ "serverContent": {
                "modelTurn": { "parts": [ { "inlineData": {
                    "mimeType": OUTPUT_AUDIO_MIME,
                    "data": base64::engine::general_purpose::STANDARD.encode(&chunk),
                } } ] },
                "outputTranscription": { "text": "word " },
            } });
            if ws.send(server_frame(&value, config)).await.is_err() {
                return;
            }
            if (index + 1) % TURN_CHUNKS == 0 {
                let done = serde_json::json!({ "serverContent": { "generationComplete": true } });
                let turn = serde_json::json!({ "serverContent": { "turnComplete": true } });
                if ws.send(server_frame(&done, config)).await.is_err()
                    || ws.send(server_frame(&turn, config)).await.is_err()
                {
                    return;
                }
            }
        }
    }
    let _ = ws.close(None).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_and_chunks_follow_input() {
        let mut frame = vec![0u8; 640];
        UpStamp { sent_ns: 42 }.write(&mut frame);
        assert_eq!(UpStamp::read(&frame), Some(UpStamp { sent_ns: 42 }));
        assert_eq!(UpStamp::read(&frame[..7]), None);

        let mut state = LoadPeerState::default();
        // 20 ms frames: the fifth one completes 100 ms.
        for i in 0..4 {
            assert_eq!(state.on_candidate_audio(&frame, 42 + 1_000 * (i + 1)), 0);
        }
        assert_eq!(state.on_candidate_audio(&frame, 42 + 5_000), 1);
        let mut chunk = vec![0u8; CHUNK_BYTES];
        assert_eq!(state.next_chunk(&mut chunk, 9), 0);
        let stamp = DownStamp::read(&chunk).unwrap();
        assert_eq!(stamp.sent_ns, 9);
        assert_eq!(stamp.up_latencies_us, [1, 2, 3, 4, 5]);
        assert_eq!(state.on_candidate_audio(&frame, 42), 0);
        assert!(DownStamp::read(&chunk[..9]).is_none());
    }
}
