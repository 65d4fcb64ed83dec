//! The load generator: one cheap client per interview, either against Preppal (dev sign-in,
//! the JSON API, the interview WebSocket) or against the floor relay (length-prefixed TCP).
//!
//! Each client streams candidate audio at real-time pace in frames of `frame_ms` (a
//! template frame with its [`UpStamp`] rewritten, no per-frame encoding), and reads the
//! model's chunks, keeping the latencies their [`DownStamp`]s carry.

use std::time::Duration;

use anyhow::{bail, Context as _};
use bytes::Bytes;
use futures::{SinkExt as _, StreamExt as _};
use preppal_core::codec::{decode_server, encode_client, ClientMessage};
use preppal_core::proto::server_to_client_message::Message as ServerMessage;
use tokio::io::BufReader;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

use super::floor::{read_frame, write_frame, READ_BUFFER_BYTES};
use super::peer::{now_ns, DownStamp, UpStamp};
use crate::client::{open_socket, ApiClient, PlanChoice, Socket};

/// Candidate audio: PCM16LE at 16 000 Hz mono, 32 bytes per ms.
pub const INPUT_BYTES_PER_MS: usize = 32;

/// Where a client connects.
#[derive(Debug, Clone)]
pub enum Target {
    /// A Preppal server's base URL (`http://127.0.0.1:PORT`).
    Preppal(String),
    /// The floor relay's address.
    Floor(std::net::SocketAddr),
}

/// When to stream: every client starts at `start` plus its own offset within one frame and
/// stops sending at `end`; samples of chunks sent before `warm_ns` are not kept.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// First frame of client 0.
    pub start: Instant,
    /// No frame is sent at or after this.
    pub end: Instant,
    /// Wall-clock ns before which latency samples are warm-up.
    pub warm_ns: u64,
}

/// What one client saw.
#[derive(Debug, Default)]
pub struct ClientStats {
    /// Candidate frames sent.
    pub frames_up: u64,
    /// Model audio chunks received.
    pub chunks_down: u64,
    /// Transcript updates received.
    pub transcript_updates: u64,
    /// Largest lateness of a frame against its schedule, ms.
    pub max_send_lateness_ms: f64,
    /// One-way latencies of candidate frames to the model peer, µs.
    pub up_us: Vec<u32>,
    /// One-way latencies of model chunks to the client, µs.
    pub down_us: Vec<u32>,
    /// Errors: failed setup, refused frames, `ErrorResponse`s, broken connections.
    pub errors: Vec<String>,
}

impl ClientStats {
    /// Whether this client kept real-time pace: every frame left within 100 ms of its
    /// schedule, and the model audio received lags the audio sent by at most 300 ms.
    pub fn kept_realtime(&self, frame_ms: u32) -> bool {
        let sent_ms = self.frames_up * u64::from(frame_ms);
        let received_ms = self.chunks_down * 100;
        self.errors.is_empty() && self.max_send_lateness_ms <= 100.0 && received_ms + 300 >= sent_ms
    }
}

fn frame_template(frame_ms: u32, preppal: bool) -> (Vec<u8>, usize) {
    let audio_len = frame_ms as usize * INPUT_BYTES_PER_MS;
    if preppal {
        let t = encode_client(&ClientMessage::Audio(Bytes::from(vec![0u8; audio_len])));
        let offset = t.len() - audio_len;
        (t.to_vec(), offset)
    } else {
        (vec![0u8; audio_len], 0)
    }
}

/// Runs client `index` of `count`: connects (signalling `ready` when it can stream), waits
/// for the schedule, streams, then reads until 1 s after the end.
pub async fn run(
    index: usize,
    count: usize,
    target: Target,
    frame_ms: u32,
    setup_slots: std::sync::Arc<tokio::sync::Semaphore>,
    ready: tokio::sync::mpsc::Sender<bool>,
    mut schedule: watch::Receiver<Option<Schedule>>,
) -> ClientStats {
    let mut stats = ClientStats::default();
    let connected = {
        let _slot = setup_slots.acquire().await;
        match &target {
            Target::Preppal(base) => connect_preppal(base, index)
                .await
                .map(|ws| Conn::Ws(Box::new(ws))),
            Target::Floor(addr) => TcpStream::connect(addr)
                .await
                .context("cannot reach the floor relay")
                .map(Conn::Tcp),
        }
    };
    let _ = ready.send(connected.is_ok()).await;
    let conn = match connected {
        Ok(c) => c,
        Err(e) => {
            stats.errors.push(format!("setup: {e:#}"));
            return stats;
        }
    };
    let sched = loop {
        if let Some(s) = *schedule.borrow_and_update() {
            break s;
        }
        if schedule.changed().await.is_err() {
            return stats;
        }
    };
    let frame = Duration::from_millis(u64::from(frame_ms));
    let offset = frame.mul_f64(index as f64 / count.max(1) as f64);
    let start = sched.start + offset;
    let (template, audio_at) = frame_template(frame_ms, matches!(conn, Conn::Ws(_)));
    let stop_reading = sched.end + Duration::from_secs(1);

    match conn {
        Conn::Ws(ws) => {
            let (sink, mut stream) = (*ws).split();
            let warm_ns = sched.warm_ns;
            let reader = tokio::spawn(async move {
                let mut s = ClientStats::default();
                while let Ok(Some(msg)) = tokio::time::timeout_at(stop_reading, stream.next()).await
                {
                    match msg {
                        Ok(Message::Binary(b)) => match decode_server(b) {
                            Ok(ServerMessage::AudioResponse(a)) => {
                                s.chunks_down += 1;
                                note_chunk(&mut s, &a.audio_content, warm_ns);
                            }
                            Ok(ServerMessage::TranscriptUpdate(_)) => s.transcript_updates += 1,
                            Ok(ServerMessage::ErrorResponse(e)) => {
                                s.errors
                                    .push(format!("server error {}: {}", e.code, e.message));
                            }
                            Ok(ServerMessage::SessionEnded(e)) => {
                                s.errors.push(format!("interview ended early: {e:?}"));
                                break;
                            }
                            Ok(_) => {}
                            Err(e) => s.errors.push(format!("undecodable frame: {e}")),
                        },
                        Ok(Message::Close(_)) => break,
                        Ok(_) => {}
                        Err(e) => {
                            s.errors.push(format!("socket: {e}"));
                            break;
                        }
                    }
                }
                (s, stream)
            });
            let mut writer = Writer::Ws(sink);
            let sent =
                stream_frames(start, sched.end, frame, &template, audio_at, &mut writer).await;
            merge_send(&mut stats, sent);
            let Writer::Ws(sink) = writer else {
                return stats;
            };
            if let Ok((s, stream)) = reader.await {
                merge_read(&mut stats, s);
                if let Ok(mut ws) = sink.reunite(stream) {
                    let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
                }
            }
        }
        Conn::Tcp(tcp) => {
            let _ = tcp.set_nodelay(true);
            let (r, w) = tcp.into_split();
            let warm_ns = sched.warm_ns;
            let reader = tokio::spawn(async move {
                let mut s = ClientStats::default();
                let mut r = BufReader::with_capacity(READ_BUFFER_BYTES, r);
                let mut buf = Vec::new();
                while let Ok(Ok(true)) =
                    tokio::time::timeout_at(stop_reading, read_frame(&mut r, &mut buf)).await
                {
                    s.chunks_down += 1;
                    note_chunk(&mut s, &buf, warm_ns);
                }
                s
            });
            let mut writer = Writer::Tcp(w, Vec::new());
            let sent =
                stream_frames(start, sched.end, frame, &template, audio_at, &mut writer).await;
            merge_send(&mut stats, sent);
            if let Ok(s) = reader.await {
                merge_read(&mut stats, s);
            }
        }
    }
    stats
}

enum Conn {
    Ws(Box<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>>),
    Tcp(TcpStream),
}

fn note_chunk(s: &mut ClientStats, audio: &[u8], warm_ns: u64) {
    let now = now_ns();
    if let Some(stamp) = DownStamp::read(audio) {
        if stamp.sent_ns >= warm_ns {
            let us = now.saturating_sub(stamp.sent_ns) / 1_000;
            s.down_us.push(u32::try_from(us).unwrap_or(u32::MAX));
            s.up_us.extend_from_slice(&stamp.up_latencies_us);
        }
    }
}

type WsSink = futures::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
    Message,
>;

enum Writer {
    Ws(WsSink),
    Tcp(tokio::net::tcp::OwnedWriteHalf, Vec<u8>),
}

impl Writer {
    async fn send(&mut self, frame: Vec<u8>) -> Result<(), String> {
        match self {
            Writer::Ws(sink) => sink
                .send(Message::Binary(Bytes::from(frame)))
                .await
                .map_err(|e| e.to_string()),
            Writer::Tcp(w, out) => write_frame(w, &frame, out).await.map_err(|e| e.to_string()),
        }
    }
}

struct Sent {
    frames: u64,
    max_lateness_ms: f64,
    error: Option<String>,
}

async fn stream_frames(
    start: Instant,
    end: Instant,
    frame: Duration,
    template: &[u8],
    audio_at: usize,
    writer: &mut Writer,
) -> Sent {
    let mut ticker = tokio::time::interval_at(start, frame);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut sent = Sent {
        frames: 0,
        max_lateness_ms: 0.0,
        error: None,
    };
    loop {
        let due = ticker.tick().await;
        if due >= end {
            break;
        }
        let late = Instant::now().saturating_duration_since(due);
        sent.max_lateness_ms = sent.max_lateness_ms.max(late.as_secs_f64() * 1_000.0);
        let mut f = template.to_vec();
        UpStamp { sent_ns: now_ns() }.write(&mut f[audio_at..]);
        if let Err(e) = writer.send(f).await {
            sent.error = Some(format!("send: {e}"));
            break;
        }
        sent.frames += 1;
    }
    sent
}

fn merge_send(stats: &mut ClientStats, sent: Sent) {
    stats.frames_up = sent.frames;
    stats.max_send_lateness_ms = sent.max_lateness_ms;
    stats.errors.extend(sent.error);
}

fn merge_read(stats: &mut ClientStats, s: ClientStats) {
    stats.chunks_down = s.chunks_down;
    stats.transcript_updates = s.transcript_updates;
    stats.up_us = s.up_us;
    stats.down_us = s.down_us;
    stats.errors.extend(s.errors);
}

/// Signs in as `load-<index>@example.com` (one user per interview, so the per-user limits do
/// not apply across interviews), creates a 60-minute interview, opens its socket and waits
/// for `SessionStarted`.
async fn connect_preppal(base: &str, index: usize) -> anyhow::Result<Socket> {
    let mut api = ApiClient::new(base)?;
    api.sign_in(&format!("load-{index}@example.com")).await?;
    let created = api
        .create_session(
            "Backend engineer: Rust, PostgreSQL, WebSockets, on-call.",
            "Five years of Rust services, PostgreSQL tuning and incident response.",
            "a friendly senior engineer",
            60,
            PlanChoice::default(),
        )
        .await?;
    let token = api.worker_token(&created.id).await?;
    let (mut ws, _) = open_socket(&token.ws_url)
        .await
        .context("cannot open the interview socket")?;
    let limit = Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout_at(limit, ws.next()).await {
            Err(_) => bail!("no SessionStarted within 60 s"),
            Ok(None) | Ok(Some(Ok(Message::Close(_)))) => bail!("socket closed before the start"),
            Ok(Some(Err(e))) => bail!("socket: {e}"),
            Ok(Some(Ok(Message::Binary(b)))) => match decode_server(b) {
                Ok(ServerMessage::SessionStarted(_)) => return Ok(ws),
                Ok(ServerMessage::ErrorResponse(e)) => {
                    bail!("server error {}: {}", e.code, e.message)
                }
                _ => {}
            },
            Ok(Some(Ok(_))) => {}
        }
    }
}
