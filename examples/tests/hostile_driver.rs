//! Hostile clients and a model that will not connect, against the `preppal serve` binary
//! (SQLite on disk) with the Gemini Live simulator in this process: a client that floods
//! typed answers and never reads cannot wedge its interview or a drain; typed answers are
//! rate limited with one 429 per run of drops; while the model's setup is retried or stalls,
//! the candidate is told, the setup deadline ends the interview and a shutdown drains it.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{free_port, Api, ServeProcess as Server};
use futures::{SinkExt as _, StreamExt as _};
use preppal_core::codec::{decode_server, encode_client, ClientMessage};
use preppal_core::proto::model_status::State as ModelState;
use preppal_core::proto::server_to_client_message::Message as ToClient;
use preppal_gemini::simulator::{Simulator, SimulatorConfig, SimulatorHandle, SpeechMode};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Longest wait for any one thing the server should do.
const WAIT: Duration = Duration::from_secs(60);

/// The drain timeout given to the server.
const DRAIN_SECS: u64 = 20;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

impl Server {
    /// `preppal serve` on a free port with the model at `model_url`, a 1 s reconnect grace
    /// and a [`DRAIN_SECS`] drain timeout.
    async fn start(data: &Path, model_url: &str) -> Self {
        Self::spawn(free_port(), data, model_url, 1, DRAIN_SECS, &[], WAIT).await
    }

    /// Sends SIGTERM and waits for the exit; how long it took.
    async fn terminate(&mut self) -> Duration {
        let sent = Instant::now();
        self.signal("-TERM");
        self.wait_exit().await;
        sent.elapsed()
    }
}

impl Api {
    async fn create(&self) -> String {
        self.create_interview(
            "Backend engineer: Rust, PostgreSQL.",
            "Five years of Rust services.",
        )
        .await
    }

    async fn ws_url(&self, id: &str) -> String {
        let (s, v) = self
            .call("interview.generateWsToken", json!({ "interview_id": id }))
            .await;
        assert_eq!(s, 200, "{v}");
        v["ws_url"].as_str().unwrap().to_owned()
    }

    async fn interview(&self, id: &str) -> Value {
        self.call("interview.getById", json!({ "interview_id": id }))
            .await
            .1
    }

    async fn wait_finished(&self, id: &str) -> Value {
        let until = Instant::now() + WAIT;
        loop {
            let i = self.interview(id).await;
            if matches!(i["status"].as_str(), Some("COMPLETED" | "ERROR")) {
                return i;
            }
            assert!(Instant::now() < until, "not finished: {i}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn transcript(&self, id: &str) -> Vec<Value> {
        let (_, v) = self
            .call("interview.getTranscript", json!({ "interview_id": id }))
            .await;
        v["entries"].as_array().cloned().unwrap_or_default()
    }
}

async fn simulator() -> SimulatorHandle {
    Simulator::start(
        SimulatorConfig::default()
            .with_voice(SpeechMode::Silence)
            .with_questions(40)
            .with_hold_turn_for_playback(false),
    )
    .await
    .unwrap()
}

/// A WebSocket client whose socket has a 4 KiB receive buffer, so the server's writes
/// back up as soon as it stops reading.
async fn tiny_buffer_client(url: &str) -> Ws {
    let addr = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(tcp))
        .await
        .unwrap();
    ws
}

/// Floods typed answers of 4 KiB for `seconds` (or until the server drops the socket),
/// never reading; returns how many were written.
async fn flood(ws: &mut Ws, seconds: u64) -> usize {
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut sent = 0;
    while Instant::now() < until {
        let text = format!("answer {sent}: {}", "y".repeat(4096));
        let frame = encode_client(&ClientMessage::Text(text));
        match tokio::time::timeout(Duration::from_secs(2), ws.send(Message::Binary(frame))).await {
            Ok(Ok(())) => sent += 1,
            Ok(Err(_)) => break,
            Err(_) => {}
        }
    }
    sent
}

/// `preppal serve` with the model at `model_url`, `email` signed in and an interview
/// created; the interview's socket, opened.
async fn open_interview(data: &Path, model_url: &str, email: &str) -> (Server, Api, String, Ws) {
    let server = Server::start(data, model_url).await;
    let api = Api::sign_in(&server.base(), email).await;
    let id = api.create().await;
    let (ws, _) = tokio_tungstenite::connect_async(api.ws_url(&id).await)
        .await
        .unwrap();
    (server, api, id, ws)
}

/// Sends SIGTERM and checks the drain logged that every live interview was finished and
/// saved.
async fn drain(server: &mut Server) {
    let took = server.terminate().await;
    eprintln!("exited {took:?} after SIGTERM");
    assert!(
        server
            .log_text()
            .contains("every live interview was finished and saved"),
        "{}",
        server.log_text()
    );
}

/// Interview `id` as `email` reads it from a new server over the same `data`.
async fn after_restart(data: &Path, model_url: &str, email: &str, id: &str) -> Value {
    let server = Server::start(data, model_url).await;
    let api = Api::sign_in(&server.base(), email).await;
    api.interview(id).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_floods_and_never_reads_cannot_wedge_its_interview() {
    let sim = simulator().await;
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &sim.url()).await;
    let api = Api::sign_in(&server.base(), "flood@example.com").await;
    let id = api.create().await;
    let mut ws = tiny_buffer_client(&api.ws_url(&id).await).await;
    let sent = flood(&mut ws, 25).await;
    eprintln!("typed answers written by the flooding client: {sent}");
    // The server took the client as gone (queue full or writes stalled), waited the 1 s
    // grace, and finished the interview with what was said.
    let i = api.wait_finished(&id).await;
    assert_eq!(i["status"], "COMPLETED", "{i}");
    let entries = api.transcript(&id).await;
    assert!(!entries.is_empty());
    let sizes: Vec<usize> = entries
        .iter()
        .map(|e| e["text"].as_str().unwrap_or_default().len())
        .collect();
    let largest = sizes.iter().copied().max().unwrap_or(0);
    let total: usize = sizes.iter().sum();
    eprintln!(
        "stored: {} entries, {total} bytes, largest {largest} bytes",
        entries.len()
    );
    assert!(
        largest <= 16 * 1024,
        "one turn is at most 16 KiB: {largest}"
    );
    // At most the burst of 10 and one a second for the flood's 25 s, plus the last.
    let typed: usize = entries
        .iter()
        .filter(|e| e["speaker"] == "USER")
        .map(|e| {
            e["text"]
                .as_str()
                .unwrap_or_default()
                .matches("answer ")
                .count()
        })
        .sum();
    assert!(typed <= 10 + 27, "rate limited: {typed} answers stored");
    drop(ws);
    // Nothing holds it: it can be deleted.
    let (s, v) = api
        .call("interview.delete", json!({ "interview_id": id }))
        .await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_a_flooded_interview_in_time() {
    let sim = simulator().await;
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::start(data.path(), &sim.url()).await;
    let api = Api::sign_in(&server.base(), "drain@example.com").await;
    let id = api.create().await;
    let mut ws = tiny_buffer_client(&api.ws_url(&id).await).await;
    flood(&mut ws, 4).await;
    // The client holds its socket open and still does not read. The drain logs that every
    // interview was finished and saved only when none was left at its timeout.
    drain(&mut server).await;
    drop(ws);
    let i = after_restart(data.path(), &sim.url(), "drain@example.com", &id).await;
    assert_eq!(i["status"], "COMPLETED", "{i}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_answers_past_the_burst_get_one_429() {
    let sim = simulator().await;
    let data = tempfile::tempdir().unwrap();
    let (_server, api, id, mut ws) =
        open_interview(data.path(), &sim.url(), "typist@example.com").await;
    // Wait for the interview to start: typed answers before it are dropped anyway.
    wait_for(&mut ws, |m| matches!(m, ToClient::SessionStarted(_))).await;
    for n in 0..30 {
        let frame = encode_client(&ClientMessage::Text(format!("answer {n}")));
        ws.send(Message::Binary(frame)).await.unwrap();
    }
    let mut rate_errors = Vec::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(3);
    while let Ok(Some(Ok(m))) = tokio::time::timeout_at(until, ws.next()).await {
        if let Message::Binary(b) = m {
            if let Ok(ToClient::ErrorResponse(e)) = decode_server(b) {
                rate_errors.push(e);
            }
        }
    }
    assert_eq!(rate_errors.len(), 1, "{rate_errors:?}");
    assert_eq!(rate_errors[0].code, 429);
    // The simulator may have closed its script already; either way the interview ends.
    let _ = ws
        .send(Message::Binary(encode_client(&ClientMessage::End)))
        .await;
    api.wait_finished(&id).await;
    let typed: usize = api
        .transcript(&id)
        .await
        .iter()
        .filter(|e| e["speaker"] == "USER")
        .map(|e| {
            e["text"]
                .as_str()
                .unwrap_or_default()
                .matches("answer ")
                .count()
        })
        .sum();
    assert!(
        (1..=10).contains(&typed),
        "at most the burst of 10 was kept, the rest dropped: {typed}"
    );
}

/// Reads server messages until one matches; all the messages read, in order.
async fn wait_for(ws: &mut Ws, want: impl Fn(&ToClient) -> bool) -> Vec<ToClient> {
    let until = tokio::time::Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        let m = tokio::time::timeout_at(until, ws.next())
            .await
            .unwrap_or_else(|_| panic!("timed out; seen {seen:?}"));
        let Some(Ok(Message::Binary(b))) = m else {
            assert!(m.is_some(), "socket closed; seen {seen:?}");
            continue;
        };
        if let Ok(msg) = decode_server(b) {
            let done = want(&msg);
            seen.push(msg);
            if done {
                return seen;
            }
        }
    }
}

fn statuses(seen: &[ToClient]) -> Vec<(ModelState, u32)> {
    seen.iter()
        .filter_map(|m| match m {
            ToClient::ModelStatus(s) => Some((s.state(), s.attempt)),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_candidate_is_told_while_the_model_setup_is_retried() {
    let sim = Simulator::start(
        SimulatorConfig::default()
            .with_voice(SpeechMode::Silence)
            .with_refused_upgrades([503, 503]),
    )
    .await
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let (server, _api, _id, mut ws) =
        open_interview(data.path(), &sim.url(), "retry@example.com").await;
    let seen = wait_for(&mut ws, |m| matches!(m, ToClient::SessionStarted(_))).await;
    assert_eq!(
        statuses(&seen),
        [
            (ModelState::Connecting, 1),
            (ModelState::Retrying, 2),
            (ModelState::Retrying, 3),
            (ModelState::Connected, 0),
        ],
        "{seen:?}"
    );
    drop(server);
}

/// A "model" that accepts TCP connections and never answers (the upgrade stalls).
async fn silent_model() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    (url, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_never_completes_setup_meets_the_setup_deadline() {
    let (url, _model) = silent_model().await;
    let data = tempfile::tempdir().unwrap();
    let (server, api, id, mut ws) = open_interview(data.path(), &url, "stall@example.com").await;
    let first = wait_for(&mut ws, |_| true).await;
    assert_eq!(
        statuses(&first),
        [(ModelState::Connecting, 1)],
        "told at once"
    );
    let seen = wait_for(&mut ws, |m| matches!(m, ToClient::SessionEnded(_))).await;
    assert!(
        !seen
            .iter()
            .any(|m| matches!(m, ToClient::SessionStarted(_))),
        "{seen:?}"
    );
    let i = api.wait_finished(&id).await;
    assert_eq!(i["status"], "ERROR", "{i}");
    assert!(
        server.log_text().contains("\"setup_timeout\""),
        "{}",
        server.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_an_interview_whose_model_is_still_connecting() {
    let (url, _model) = silent_model().await;
    let data = tempfile::tempdir().unwrap();
    let (mut server, _api, id, mut ws) =
        open_interview(data.path(), &url, "connecting@example.com").await;
    let first = wait_for(&mut ws, |_| true).await;
    assert_eq!(statuses(&first), [(ModelState::Connecting, 1)]);
    drain(&mut server).await;
    let i = after_restart(data.path(), &url, "connecting@example.com", &id).await;
    assert_eq!(i["status"], "ERROR", "never left PENDING: {i}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_a_typed_answer_loses_nothing() {
    let sim = simulator().await;
    let data = tempfile::tempdir().unwrap();
    let (_server, api, id, mut ws) =
        open_interview(data.path(), &sim.url(), "nul@example.com").await;
    wait_for(&mut ws, |m| matches!(m, ToClient::SessionStarted(_))).await;
    let frame = encode_client(&ClientMessage::Text("I led\0 the migration.".into()));
    ws.send(Message::Binary(frame)).await.unwrap();
    // The interviewer's reply shows the answer's turn is over.
    wait_for(
        &mut ws,
        |m| matches!(m, ToClient::TranscriptUpdate(t) if t.speaker == "USER" && t.is_final),
    )
    .await;
    let _ = ws
        .send(Message::Binary(encode_client(&ClientMessage::End)))
        .await;
    let i = api.wait_finished(&id).await;
    assert_eq!(i["status"], "COMPLETED", "{i}");
    let entries = api.transcript(&id).await;
    assert!(
        entries
            .iter()
            .any(|e| e["speaker"] == "USER" && e["text"] == "I led\u{FFFD} the migration."),
        "{entries:?}"
    );
}
