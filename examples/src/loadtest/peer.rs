//! The load peer (`preppal loadtest-peer`): a lean model peer that speaks the Gemini Live
//! wire protocol, for load tests of a relay. It sits beside the floor's peer ([`super::floor`])
//! and answers the same way, so the two phases of a load test differ only in the relay.
//!
//! Per connection it answers `setup` with `setupComplete`, then, for every 100 ms of
//! candidate audio it receives (3 200 bytes of 16 000 Hz PCM16LE in `realtimeInput.audio`),
//! sends one `serverContent` with 100 ms of 24 000 Hz PCM16LE audio (4 800 bytes, base64
//! `inlineData`) and an `outputTranscription` fragment; after every
//! [`TURN_CHUNKS`] chunks, `generationComplete` and `turnComplete` (a 10 s model turn). Its
//! pace is the candidate's: real time when the candidate streams at real time. It does no
//! speech synthesis, no voice activity detection and records nothing; `clientContent` is
//! read and ignored. Its frames are pretty-printed JSON in Binary WebSocket frames, as the
//! real service sends them. It checks neither the upgrade path nor the credential.
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
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use base64::Engine as _;
use futures::{SinkExt as _, StreamExt as _};
use preppal_gemini::client::websocket_config;
use preppal_gemini::protocol::OUTPUT_AUDIO_MIME;
use serde::Deserialize;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// One model audio chunk: 100 ms of 24 000 Hz PCM16LE = 4 800 bytes.
pub const CHUNK_BYTES: usize = 4_800;

/// The path of the peer's URL: the real `v1beta` Live path (any path is served).
pub const PEER_PATH: &str =
    "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent";

/// How long a WebSocket upgrade may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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

/// A running load peer on loopback. Dropping it stops accepting connections.
#[derive(Debug)]
pub struct LoadPeer {
    addr: SocketAddr,
    connections: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl LoadPeer {
    /// Binds `127.0.0.1:0` (a port the OS picks) and serves connections on a background
    /// task until the peer is dropped.
    ///
    /// # Errors
    /// The bind error.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("cannot bind 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let connections = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&connections)));
        Ok(Self {
            addr,
            connections,
            task,
        })
    }

    /// The address the peer listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The Live endpoint URL: `ws://127.0.0.1:PORT` then [`PEER_PATH`].
    pub fn url(&self) -> String {
        format!("ws://{}{PEER_PATH}", self.addr)
    }

    /// WebSocket connections upgraded so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for LoadPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accepts connections until the listener fails; each is upgraded (within
/// [`HANDSHAKE_TIMEOUT`]) and served on its own task.
async fn accept_loop(listener: TcpListener, connections: Arc<AtomicU64>) {
    while let Ok((stream, _)) = listener.accept().await {
        let connections = Arc::clone(&connections);
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let handshake =
                tokio_tungstenite::accept_async_with_config(stream, Some(websocket_config()));
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                Ok(Ok(ws)) => {
                    connections.fetch_add(1, Ordering::SeqCst);
                    serve(ws).await;
                }
                Ok(Err(e)) => tracing::debug!(error = %e, "load peer upgrade failed"),
                Err(_) => tracing::debug!("load peer upgrade timed out"),
            }
        });
    }
}

/// A server message as the real service frames it: pretty-printed JSON in a Binary frame.
fn server_frame(value: &Value) -> Message {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    Message::Binary(text.into_bytes().into())
}

/// Serves one upgraded connection until either side closes.
async fn serve(mut ws: WebSocketStream<TcpStream>) {
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
            let frame = server_frame(&serde_json::json!({ "setupComplete": {} }));
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
            if ws.send(server_frame(&value)).await.is_err() {
                return;
            }
            if (index + 1) % TURN_CHUNKS == 0 {
                let done = serde_json::json!({ "serverContent": { "generationComplete": true } });
                let turn = serde_json::json!({ "serverContent": { "turnComplete": true } });
                if ws.send(server_frame(&done)).await.is_err()
                    || ws.send(server_frame(&turn)).await.is_err()
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

    #[test]
    fn chunk_is_the_simulators_100_ms_chunk() {
        assert_eq!(CHUNK_BYTES, preppal_gemini::simulator::CHUNK_BYTES);
        assert_eq!(CHUNK_BYTES, 24_000 * 2 / 10);
        assert_eq!(INPUT_BYTES_PER_CHUNK, 16_000 * 2 / 10);
    }

    /// Reads the next server message as JSON (Binary, pretty-printed), skipping pings.
    async fn next_json(
        ws: &mut WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
    ) -> Value {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), ws.next())
                .await
                .expect("the peer answers within 5 s")
                .expect("the connection stays open")
                .expect("a WebSocket message");
            match message {
                Message::Binary(b) => {
                    assert!(b.contains(&b'\n'), "pretty-printed JSON");
                    return serde_json::from_slice(&b).expect("JSON");
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a Binary frame, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn peer_answers_setup_then_100_ms_of_audio_with_a_stamped_chunk() {
        let peer = LoadPeer::start().await.unwrap();
        assert!(peer.url().ends_with(PEER_PATH), "{}", peer.url());
        let (mut ws, _) = tokio_tungstenite::connect_async(peer.url()).await.unwrap();
        ws.send(Message::text(r#"{"setup":{"model":"models/any"}}"#))
            .await
            .unwrap();
        assert_eq!(
            next_json(&mut ws).await,
            serde_json::json!({ "setupComplete": {} })
        );
        assert_eq!(peer.connections(), 1);

        // Two 50 ms frames: the second completes 100 ms and is answered with one chunk.
        let sent_ns = now_ns();
        let mut frame = vec![0u8; INPUT_BYTES_PER_CHUNK / 2];
        UpStamp { sent_ns }.write(&mut frame);
        let audio = base64::engine::general_purpose::STANDARD.encode(&frame);
        for _ in 0..2 {
            let message = serde_json::json!({ "realtimeInput": { "audio": {
                "mimeType": "audio/pcm;rate=16000", "data": audio } } });
            ws.send(Message::text(message.to_string())).await.unwrap();
        }
        let content = next_json(&mut ws).await;
        let part = &content["serverContent"]["modelTurn"]["parts"][0]["inlineData"];
        assert_eq!(part["mimeType"], OUTPUT_AUDIO_MIME);
        let chunk = base64::engine::general_purpose::STANDARD
            .decode(part["data"].as_str().unwrap())
            .unwrap();
        assert_eq!(chunk.len(), CHUNK_BYTES);
        let stamp = DownStamp::read(&chunk).unwrap();
        assert!(stamp.sent_ns >= sent_ns, "{} < {sent_ns}", stamp.sent_ns);
        assert_eq!(
            stamp.up_latencies_us.len(),
            2,
            "one latency per frame received"
        );
        assert_eq!(
            content["serverContent"]["outputTranscription"]["text"],
            "word "
        );
    }
}
