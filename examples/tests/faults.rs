//! Faults a live interview must survive, each on real processes over loopback: the
//! `preppal serve` binary (SQLite on disk), the Gemini Live simulator (in this process, so
//! it outlives the server), and a raw WebSocket client (tokio-tungstenite) speaking the
//! interview protocol. For every fault the stored transcript is compared with what the
//! client was shown and the simulator heard: in order, nothing lost, nothing twice. The
//! time each fault takes to recover from is printed (never asserted). The command-line
//! client's own reconnect is checked through a loopback TCP proxy that cuts every
//! connection (a network drop).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{free_port, interview_args, Api, ServeProcess as Server};
use futures::{SinkExt as _, StreamExt as _};
use preppal_core::codec::{decode_server, encode_client, ClientMessage};
use preppal_core::proto::server_to_client_message::Message as ToClient;
use preppal_core::proto::{self, session_ended::Reason};
use preppal_examples::cli::hold_interview;
use preppal_gemini::simulator::{Simulator, SimulatorConfig, SimulatorHandle, SpeechMode};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const ANSWERS: [&str; 2] = [
    "I rewrote the tracking fan-out service in Rust.",
    "We measured first, then rewrote the hot path.",
];

/// Longest wait for any one thing the server should do.
const WAIT: Duration = Duration::from_secs(30);

async fn simulator() -> SimulatorHandle {
    Simulator::start(
        SimulatorConfig::default()
            .with_voice(SpeechMode::Silence)
            .with_hold_turn_for_playback(false),
    )
    .await
    .unwrap()
}

impl Server {
    /// `preppal serve` with the simulator `sim` as its model and a 20 s drain timeout.
    async fn start(port: u16, data: &Path, sim: &SimulatorHandle, grace_secs: u64) -> Self {
        Self::start_with(port, data, sim, grace_secs, &[]).await
    }

    /// As [`Server::start`], with more command-line arguments.
    async fn start_with(
        port: u16,
        data: &Path,
        sim: &SimulatorHandle,
        grace_secs: u64,
        extra: &[&str],
    ) -> Self {
        Self::spawn(port, data, &sim.url(), grace_secs, 20, extra, WAIT).await
    }
}

impl Api {
    async fn create(&self) -> String {
        self.create_interview(
            "Senior backend engineer: Rust, PostgreSQL, on-call.",
            "Five years of Rust services; led the tracking fan-out rewrite.",
        )
        .await
    }

    async fn ws_url(&self, id: &str, procedure: &str) -> String {
        let (s, v) = self.call(procedure, json!({ "interview_id": id })).await;
        assert_eq!(s, 200, "{procedure}: {v}");
        v["ws_url"].as_str().unwrap().to_owned()
    }

    /// Opens the interview socket again with a fresh `generateWsToken` token, retrying
    /// while the server is down or still holds the old connection.
    async fn reconnect(&self, id: &str) -> Client {
        let until = Instant::now() + WAIT;
        loop {
            let (s, v) = self
                .call("interview.generateWsToken", json!({ "interview_id": id }))
                .await;
            if s == 200 {
                if let Ok((ws, _)) =
                    tokio_tungstenite::connect_async(v["ws_url"].as_str().unwrap()).await
                {
                    return Client::new(ws);
                }
            }
            assert!(Instant::now() < until, "no reconnect: {s} {v}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn interview(&self, id: &str) -> Value {
        self.call("interview.getById", json!({ "interview_id": id }))
            .await
            .1
    }

    /// Polls until the interview is COMPLETED or ERROR; returns it.
    async fn wait_finished(&self, id: &str) -> Value {
        let until = Instant::now() + WAIT * 2;
        loop {
            let i = self.interview(id).await;
            if matches!(i["status"].as_str(), Some("COMPLETED" | "ERROR")) {
                return i;
            }
            assert!(Instant::now() < until, "not finished: {i}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn transcript(&self, id: &str) -> Vec<(String, String)> {
        let (_, v) = self
            .call("interview.getTranscript", json!({ "interview_id": id }))
            .await;
        let entries = v["entries"].as_array().unwrap();
        for (n, e) in entries.iter().enumerate() {
            assert_eq!(
                e["sequence"].as_u64(),
                Some(n as u64),
                "sequences 0.. with no gap: {v}"
            );
        }
        entries
            .iter()
            .map(|e| {
                (
                    e["speaker"].as_str().unwrap().to_owned(),
                    e["text"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Waits until the store holds `n` entries (a turn is stored just after it is shown).
    async fn wait_stored(&self, id: &str, n: usize) {
        let until = Instant::now() + WAIT;
        while self.transcript(id).await.len() < n {
            assert!(Instant::now() < until, "entries not stored");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn feedback(&self, id: &str) -> Value {
        self.call("interview.getFeedback", json!({ "interview_id": id }))
            .await
            .1["feedback"]
            .clone()
    }
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A raw interview client: keeps every finished turn it was shown, in order.
struct Client {
    ws: Socket,
    shown: Vec<(String, String)>,
}

impl Client {
    fn new(ws: Socket) -> Self {
        Self {
            ws,
            shown: Vec::new(),
        }
    }

    async fn connect(url: &str) -> Self {
        Self::new(tokio_tungstenite::connect_async(url).await.unwrap().0)
    }

    /// The next server message; `None` when the socket closed (with its close code).
    async fn next(&mut self) -> Result<ToClient, Option<CloseCode>> {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("the server said nothing for 30 s");
            match frame {
                Some(Ok(Message::Binary(b))) => {
                    let m = decode_server(b).unwrap();
                    if let ToClient::TranscriptUpdate(u) = &m {
                        if u.is_final {
                            self.shown.push((u.speaker.clone(), u.text.clone()));
                        }
                    }
                    return Ok(m);
                }
                Some(Ok(Message::Close(f))) => return Err(f.map(|f| f.code)),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Err(None),
            }
        }
    }

    async fn wait_started(&mut self) {
        loop {
            if let ToClient::SessionStarted(_) = self.next().await.unwrap() {
                return;
            }
        }
    }

    /// Until the interviewer finished a turn.
    async fn wait_ai_turn(&mut self) {
        loop {
            if let ToClient::TranscriptUpdate(u) = self.next().await.unwrap() {
                if u.speaker == "AI" && u.is_final && u.turn_complete {
                    return;
                }
            }
        }
    }

    async fn send(&mut self, m: ClientMessage) {
        self.ws
            .send(Message::Binary(encode_client(&m)))
            .await
            .unwrap();
    }

    /// Until `SessionResumed`; checks that its transcript starts with what this client
    /// was shown before the drop, then takes it as the transcript shown.
    async fn wait_resumed(&mut self, shown_before: &[(String, String)]) -> proto::SessionResumed {
        let r = loop {
            if let ToClient::SessionResumed(r) = self.next().await.unwrap() {
                break r;
            }
        };
        let replay: Vec<(String, String)> = r
            .transcript
            .iter()
            .map(|e| {
                let s = if e.speaker == proto::Speaker::Ai as i32 {
                    "AI"
                } else {
                    "USER"
                };
                (s.to_owned(), e.text.clone())
            })
            .collect();
        assert!(
            replay.len() >= shown_before.len() && replay[..shown_before.len()] == *shown_before,
            "the replay starts with what was shown: {replay:?} vs {shown_before:?}"
        );
        for (n, e) in r.transcript.iter().enumerate() {
            assert_eq!(e.sequence as usize, n);
        }
        self.shown = replay;
        r
    }

    /// Sends `EndRequest` and waits for `SessionEnded`.
    async fn end(&mut self) {
        self.send(ClientMessage::End).await;
        loop {
            if let ToClient::SessionEnded(_) = self.next().await.unwrap() {
                return;
            }
        }
    }
}

/// Every typed answer the simulator heard (`realtimeInput.text`), over all connections.
fn heard_answers(sim: &SimulatorHandle) -> Vec<String> {
    sim.recorded()
        .iter()
        .flatten()
        .filter_map(|m| m.pointer("/realtimeInput/text").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

fn user_texts(t: &[(String, String)]) -> Vec<&str> {
    t.iter()
        .filter(|(s, _)| s == "USER")
        .map(|(_, t)| t.as_str())
        .collect()
}

/// Starts an interview and holds it to the interviewer's second question: greeting and
/// first question, the first answer, the second question.
async fn first_exchange(api: &Api) -> (String, Client) {
    let id = api.create().await;
    let mut c = Client::connect(&api.ws_url(&id, "interview.generateWorkerToken").await).await;
    c.wait_started().await;
    c.wait_ai_turn().await;
    c.send(ClientMessage::Text(ANSWERS[0].into())).await;
    c.wait_ai_turn().await;
    (id, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_client_reconnects_to_the_same_interview_and_model_session() {
    let sim = simulator().await;
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(free_port(), data.path(), &sim, 30).await;
    let api = Api::sign_in(&server.base(), "drop@example.com").await;
    let (id, c) = first_exchange(&api).await;
    let shown = c.shown.clone();
    let models = sim.connections();

    // The socket vanishes (dropped without a close frame).
    let dropped = Instant::now();
    drop(c);
    let mut c = api.reconnect(&id).await;
    let resumed = c.wait_resumed(&shown).await;
    eprintln!(
        "fault client drop + reconnect: conversation going on after {} ms",
        dropped.elapsed().as_millis()
    );
    assert_eq!(resumed.interview_id, id);
    assert!(resumed.elapsed_ms > 0 && resumed.max_duration_ms == 600_000);

    c.send(ClientMessage::Text(ANSWERS[1].into())).await;
    c.wait_ai_turn().await;
    c.end().await;
    let i = api.wait_finished(&id).await;
    assert_eq!(i["status"], "COMPLETED", "{i}");
    assert_eq!(i["ended_reason"], "user_ended");
    let stored = api.transcript(&id).await;
    assert_eq!(stored, c.shown, "stored = shown, in order");
    assert_eq!(user_texts(&stored), ANSWERS);
    assert_eq!(
        heard_answers(&sim),
        ANSWERS,
        "the model heard each answer once"
    );
    assert_eq!(sim.connections(), models, "the same model session went on");
    assert!(api.feedback(&id).await.is_object());

    // A second socket while the first is connected is refused.
    let id2 = api.create().await;
    let mut c1 = Client::connect(&api.ws_url(&id2, "interview.generateWorkerToken").await).await;
    c1.wait_started().await;
    let second =
        tokio_tungstenite::connect_async(api.ws_url(&id2, "interview.generateWsToken").await).await;
    match second {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 409),
        other => panic!(
            "a second connection was not refused: {:?}",
            other.map(|_| ())
        ),
    }
    c1.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_come_back_is_finished_completed_after_the_grace_period() {
    let sim = simulator().await;
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(free_port(), data.path(), &sim, 2).await;
    let api = Api::sign_in(&server.base(), "gone@example.com").await;
    let (id, c) = first_exchange(&api).await;
    let shown = c.shown.clone();

    let dropped = Instant::now();
    drop(c);
    let i = api.wait_finished(&id).await;
    eprintln!(
        "fault client gone (grace 2 s): COMPLETED after {} ms",
        dropped.elapsed().as_millis()
    );
    assert_eq!(i["status"], "COMPLETED", "{i}");
    assert_eq!(i["ended_reason"], "client_gone");
    assert_eq!(api.transcript(&id).await, shown);
    assert_eq!(heard_answers(&sim), ANSWERS[..1]);
    assert!(
        api.feedback(&id).await.is_object(),
        "feedback on what was kept"
    );

    // Too late: the token is refused, the interview has ended.
    let (s, _) = api
        .call("interview.generateWsToken", json!({ "interview_id": id }))
        .await;
    assert_eq!(s, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_interview_saves_it_completed_with_feedback() {
    let sim = simulator().await;
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::start(free_port(), data.path(), &sim, 30).await;
    let api = Api::sign_in(&server.base(), "drain@example.com").await;
    let (id, mut c) = first_exchange(&api).await;

    let signalled = Instant::now();
    server.signal("-TERM");
    let mut reason = None;
    let close = loop {
        match c.next().await {
            Ok(ToClient::SessionEnded(e)) => reason = Some(e.reason),
            Ok(_) => {}
            Err(code) => break code,
        }
    };
    let told = signalled.elapsed();
    let status = server.wait_exit().await;
    eprintln!(
        "fault SIGTERM: candidate told after {} ms, process exited after {} ms",
        told.as_millis(),
        signalled.elapsed().as_millis()
    );
    assert!(status.success(), "{status:?}");
    assert_eq!(reason, Some(Reason::ServerShutdown as i32));
    assert_eq!(close, Some(CloseCode::Restart), "closed with 1012");

    let store = preppal_store::open(&format!(
        "sqlite://{}",
        data.path().join("preppal.db").display()
    ))
    .await
    .unwrap();
    let i = store.get_interview_unscoped(&id).await.unwrap();
    assert_eq!(i.status.as_str(), "COMPLETED");
    assert_eq!(i.ended_reason.as_deref(), Some("server_shutdown"));
    let stored: Vec<(String, String)> = store
        .get_transcript(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.speaker.as_str().to_owned(), e.text))
        .collect();
    assert_eq!(stored, c.shown);
    assert_eq!(user_texts(&stored), ANSWERS[..1]);
    assert!(store.get_feedback(&id).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_a_returning_candidate_resumes_and_the_other_is_finished() {
    let sim = simulator().await;
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = Server::start(port, data.path(), &sim, 4).await;
    let back = Api::sign_in(&server.base(), "back@example.com").await;
    let away = Api::sign_in(&server.base(), "away@example.com").await;
    let (back_id, back_c) = first_exchange(&back).await;
    let (away_id, away_c) = first_exchange(&away).await;
    // Each turn is stored just after it is shown.
    back.wait_stored(&back_id, back_c.shown.len()).await;
    away.wait_stored(&away_id, away_c.shown.len()).await;
    let back_shown = back_c.shown.clone();
    let away_shown = away_c.shown.clone();
    let models = sim.connections();

    let killed = Instant::now();
    server.child.kill().unwrap();
    server.wait_exit().await;
    drop((back_c, away_c));
    let _server = Server::start(port, data.path(), &sim, 4).await;

    let mut c = back.reconnect(&back_id).await;
    c.wait_resumed(&back_shown).await;
    eprintln!(
        "fault kill -9 + restart: returning candidate's conversation going on after {} ms",
        killed.elapsed().as_millis()
    );
    assert_eq!(c.shown, back_shown, "nothing was lost");
    assert!(sim.connections() > models, "a new model session");
    // The new model session was seeded with the stored conversation.
    let seeded = |sim: &SimulatorHandle| {
        sim.recorded()[models..]
            .iter()
            .flatten()
            .any(|m| m.pointer("/clientContent/turns").is_some())
    };
    let until = Instant::now() + WAIT;
    while !seeded(&sim) {
        assert!(
            Instant::now() < until,
            "the model was seeded with the stored transcript"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    c.send(ClientMessage::Text(ANSWERS[1].into())).await;
    c.wait_ai_turn().await;
    c.end().await;
    let i = back.wait_finished(&back_id).await;
    assert_eq!(i["status"], "COMPLETED", "{i}");
    let stored = back.transcript(&back_id).await;
    assert_eq!(stored, c.shown);
    assert_eq!(user_texts(&stored), ANSWERS);

    let i = away.wait_finished(&away_id).await;
    eprintln!(
        "fault kill -9 + restart: absent candidate's interview COMPLETED after {} ms",
        killed.elapsed().as_millis()
    );
    assert_eq!(i["status"], "COMPLETED", "{i}");
    assert_eq!(i["ended_reason"], "client_gone");
    assert_eq!(away.transcript(&away_id).await, away_shown);
    assert!(away.feedback(&away_id).await.is_object());
}

/// A loopback TCP proxy to `127.0.0.1:port` that can cut every connection through it, or
/// freeze them (open, forwarding nothing: a peer that vanished without a word).
struct Proxy {
    port: u16,
    cut: watch::Sender<u64>,
    freeze: watch::Sender<u64>,
}

impl Proxy {
    async fn start(to: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (cut, cuts) = watch::channel(0u64);
        let (freeze, freezes) = watch::channel(0u64);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut cuts = cuts.clone();
                cuts.borrow_and_update();
                let mut freezes = freezes.clone();
                freezes.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", to)).await else {
                        return;
                    };
                    let frozen = tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => false,
                        _ = cuts.changed() => false,
                        _ = freezes.changed() => true,
                    };
                    if frozen {
                        // Both ends stay open and hear nothing, until the next cut.
                        let _ = cuts.changed().await;
                    }
                });
            }
        });
        Self { port, cut, freeze }
    }

    /// Freezes every connection open now.
    fn freeze(&self) {
        self.freeze.send_modify(|n| *n += 1);
    }

    /// Drops every connection open now (both ends see the connection fail).
    fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_client_reconnects_after_a_network_drop_and_finishes() {
    let sim = simulator().await;
    let data = tempfile::tempdir().unwrap();
    // The proxy stands in front of the server, so it is the server's public origin: the
    // token replies' ws_url point at it.
    let port = free_port();
    let proxy = Proxy::start(port).await;
    let public_url = format!("http://127.0.0.1:{}", proxy.port);
    let server =
        Server::start_with(port, data.path(), &sim, 30, &["--public-url", &public_url]).await;
    let answers = [
        ANSWERS[0],
        ANSWERS[1],
        "I ran the incident review and wrote the runbook.",
    ];
    let file = data.path().join("answers.txt");
    std::fs::write(&file, answers.join("\n")).unwrap();
    let email = "cli-drop@example.com";
    let args = interview_args(
        &format!("http://127.0.0.1:{}", proxy.port),
        &[
            "--answers",
            &file.display().to_string(),
            "--email",
            email,
            "--timeout-secs",
            "120",
        ],
    );
    let cli = tokio::spawn(async move { hold_interview(&args).await });

    // Once the first answer and the next question are stored, the network drops.
    let api = Api::sign_in(&server.base(), email).await;
    let until = Instant::now() + WAIT;
    let id = loop {
        let (_, v) = api.call("interview.getCurrent", json!({})).await;
        if let Some(id) = v["interview"]["id"].as_str() {
            if api.transcript(id).await.len() >= 3 {
                break id.to_owned();
            }
        }
        assert!(Instant::now() < until, "the interview did not get going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let answered = user_texts(&api.transcript(&id).await).len();
    let cut = Instant::now();
    proxy.cut();
    while user_texts(&api.transcript(&id).await).len() <= answered {
        assert!(cut.elapsed() < WAIT, "the conversation did not go on");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!(
        "fault network drop under the command-line client: next answer stored {} ms after the cut",
        cut.elapsed().as_millis()
    );

    let report = cli.await.unwrap().unwrap();
    assert_eq!(report.interview_id, id);
    assert_eq!(report.status, "COMPLETED");
    let stored = api.transcript(&id).await;
    let reported: Vec<(String, String)> = report
        .transcript
        .iter()
        .map(|e| (e.speaker.clone(), e.text.clone()))
        .collect();
    assert_eq!(reported, stored);
    assert_eq!(user_texts(&stored), answers, "every answer once, in order");
    assert_eq!(
        heard_answers(&sim),
        answers,
        "the model heard every answer once"
    );
    assert!(report.feedback.is_some());
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(
        log.contains("client reattached"),
        "the client came back on a new socket"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_peer_is_noticed_by_its_unanswered_pings_and_the_client_gets_back_in() {
    let sim = simulator().await;
    let data = tempfile::tempdir().unwrap();
    // The proxy is the server's public origin, so the interview's socket goes through it.
    let port = free_port();
    let proxy = Proxy::start(port).await;
    let public_url = format!("http://127.0.0.1:{}", proxy.port);
    let _server =
        Server::start_with(port, data.path(), &sim, 60, &["--public-url", &public_url]).await;
    let api = Api::sign_in(
        &format!("http://127.0.0.1:{}", proxy.port),
        "vanish@example.com",
    )
    .await;
    let (id, c) = first_exchange(&api).await;
    let shown = c.shown.clone();

    // The client's connection goes silent (no close, no reset); its retries are refused
    // with 409 until the server's pings have gone unanswered long enough.
    let frozen = Instant::now();
    proxy.freeze();
    let mut c2 = api.reconnect(&id).await;
    c2.wait_resumed(&shown).await;
    eprintln!(
        "fault vanished peer (no FIN): conversation going on after {} ms",
        frozen.elapsed().as_millis()
    );
    c2.send(ClientMessage::Text(ANSWERS[1].into())).await;
    c2.wait_ai_turn().await;
    c2.end().await;
    assert_eq!(api.wait_finished(&id).await["status"], "COMPLETED");
    assert_eq!(api.transcript(&id).await, c2.shown);
    assert_eq!(heard_answers(&sim), ANSWERS);
    proxy.cut();
    drop(c);
}
