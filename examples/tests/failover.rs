//! Faults of the two-tier deployment, with real processes on loopback: `preppal web` on a
//! fresh PostgreSQL database, two `preppal worker`s, the Gemini Live simulator as the model
//! (in this process, reached by the workers through `PREPPAL_GEMINI_URL`), and a client
//! speaking the interview protocol.
//!
//! - A worker is killed (SIGKILL) mid-interview: the client asks the web tier for a new
//!   token, is sent to the other worker, which waits for the dead worker's lease to lapse,
//!   resumes the model's session with the stored handle and sends `SessionResumed`.
//! - The web tier is killed and restarted mid-interview: the worker's calls retry until it
//!   is back and nothing is lost.
//!
//! Each ends COMPLETED with every transcript entry stored once, in order, and equal to what
//! the simulator said (its script) and heard (the answers). Recovery times are printed, not
//! asserted. Needs the PostgreSQL server at `PREPPAL_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test makes its own database and
//! drops it after.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixture, free_port};
use futures::{SinkExt, StreamExt};
use preppal_core::codec::{self, ClientMessage};
use preppal_core::proto::server_to_client_message::Message as ServerMessage;
use preppal_core::{Speaker, TranscriptEntry};
use preppal_gemini::simulator::{
    InterviewScript, Simulator, SimulatorConfig, SimulatorHandle, SpeechMode,
};
use preppal_store::testing::PgTestDatabase;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const QUESTIONS: usize = 4;
const ANSWERS: [&str; QUESTIONS] = [
    "I rewrote the tracking fan-out service in Rust.",
    "We measured first, then rewrote the hot path.",
    "Bounded queues and backpressure, end to end.",
    "I want to own the realtime platform's reliability.",
];
const LEASE_TTL_MS: u64 = 3_000;

/// A `preppal` process, killed when dropped; its log is printed if the test fails.
struct Proc {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill(); // SIGKILL
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("---- {} log ----\n{log}", self.name);
        }
    }
}

/// The deployment: addresses, secrets and the processes.
struct Cluster {
    dir: tempfile::TempDir,
    db: PgTestDatabase,
    web_port: u16,
    worker_ports: [u16; 2],
    jwt_secret: String,
    worker_secret: String,
    sim: SimulatorHandle,
    web: Option<Proc>,
    workers: Vec<Proc>,
    starts: usize,
}

impl Cluster {
    async fn start() -> Self {
        Self::start_with(simulator_config()).await
    }

    async fn start_with(config: SimulatorConfig) -> Self {
        let sim = Simulator::start(config).await.unwrap();
        let mut c = Self {
            dir: tempfile::tempdir().unwrap(),
            db: PgTestDatabase::create()
                .await
                .expect("a PostgreSQL server for the test database"),
            web_port: free_port(),
            worker_ports: [free_port(), free_port()],
            jwt_secret: uuid::Uuid::new_v4().simple().to_string().repeat(2),
            worker_secret: uuid::Uuid::new_v4().simple().to_string().repeat(2),
            sim,
            web: None,
            workers: Vec::new(),
            starts: 0,
        };
        c.start_web().await;
        for i in 0..2 {
            let port = c.worker_ports[i];
            let args = vec![
                "worker".to_owned(),
                "--addr".to_owned(),
                format!("127.0.0.1:{port}"),
                "--web-url".to_owned(),
                c.web_url(),
                "--lease-ttl-ms".to_owned(),
                LEASE_TTL_MS.to_string(),
            ];
            let p = c.spawn(&format!("worker{i}"), &args);
            c.workers.push(p);
            wait_healthy(&format!("http://127.0.0.1:{port}")).await;
        }
        c
    }

    fn web_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.web_port)
    }

    fn worker_url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.worker_ports[i])
    }

    fn spawn(&mut self, name: &str, args: &[String]) -> Proc {
        self.starts += 1;
        let log = self.dir.path().join(format!("{name}-{}.log", self.starts));
        let child = Command::new(env!("CARGO_BIN_EXE_preppal"))
            .args(args)
            .env("PREPPAL_JWT_SECRET", &self.jwt_secret)
            .env("PREPPAL_WORKER_SECRET", &self.worker_secret)
            .env("PREPPAL_GEMINI_URL", self.sim.url())
            .env_remove("GEMINI_API_KEY")
            .env_remove("PREPPAL_GEMINI_REST_URL")
            .env_remove("PREPPAL_DATABASE_URL")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Proc {
            name: name.to_owned(),
            child: Some(child),
            log,
        }
    }

    async fn start_web(&mut self) {
        let args = vec![
            "web".to_owned(),
            "--addr".to_owned(),
            format!("127.0.0.1:{}", self.web_port),
            "--database-url".to_owned(),
            self.db.url(),
            "--worker".to_owned(),
            self.worker_url(0),
            "--worker".to_owned(),
            self.worker_url(1),
        ];
        let p = self.spawn("web", &args);
        self.web = Some(p);
        wait_healthy(&self.web_url()).await;
    }

    /// Kills the worker at `url` with SIGKILL.
    fn kill_worker(&mut self, url: &str) {
        let i = (0..2)
            .find(|i| self.worker_url(*i) == url)
            .expect("a worker");
        self.workers[i].kill();
    }
}

fn simulator_config() -> SimulatorConfig {
    SimulatorConfig::default()
        .with_voice(SpeechMode::Silence)
        .with_questions(QUESTIONS)
        .with_hold_turn_for_playback(false)
}

async fn wait_healthy(url: &str) {
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if http
            .get(format!("{url}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not start");
}

/// A candidate: the JSON API client and what the interview socket showed.
struct Candidate {
    http: reqwest::Client,
    web: String,
    session: String,
    interview_id: String,
    /// Final entries shown, in order: (speaker, text).
    shown: Vec<(Speaker, String)>,
    answered: usize,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The interviewer finished a turn after `answered` answers (the pause asked for).
    Paused,
    /// The interview ended.
    Ended,
    /// The socket dropped before the end.
    Dropped,
}

impl Candidate {
    async fn create(web: &str) -> Self {
        let http = reqwest::Client::new();
        let signed: Value = http
            .post(format!("{web}/api/auth/dev"))
            .json(&json!({ "email": "ada@example.com" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = signed["session_token"].as_str().unwrap().to_owned();
        let mut c = Self {
            http,
            web: web.to_owned(),
            session,
            interview_id: String::new(),
            shown: Vec::new(),
            answered: 0,
        };
        let created = c
            .call(
                "interview.createSession",
                json!({
                    "idempotency_key": uuid::Uuid::new_v4().to_string(),
                    "job_description": std::fs::read_to_string(fixture("interviews/backend-engineer.jd.txt")).unwrap(),
                    "resume": std::fs::read_to_string(fixture("interviews/backend-engineer.resume.txt")).unwrap(),
                    "duration_minutes": 10,
                }),
            )
            .await;
        c.interview_id = created["id"].as_str().unwrap().to_owned();
        c
    }

    async fn call(&self, procedure: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/api/{procedure}", self.web))
            .bearer_auth(&self.session)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{procedure}: {}", r.status());
        r.json().await.unwrap()
    }

    /// A token from `procedure`; returns the worker named and its socket.
    async fn connect(&self, procedure: &str) -> (String, Socket) {
        let token = self
            .call(procedure, json!({ "interview_id": self.interview_id }))
            .await;
        let worker = token["worker_url"].as_str().unwrap().to_owned();
        let ws_url = token["ws_url"].as_str().unwrap();
        assert!(
            ws_url.starts_with(&worker.replacen("http://", "ws://", 1)),
            "{token}"
        );
        let (socket, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
        (worker, socket)
    }

    async fn send(ws: &mut Socket, msg: &ClientMessage) {
        let _ = ws.send(Message::Binary(codec::encode_client(msg))).await;
    }

    /// Gives the next answer, or ends the interview when none is left.
    async fn answer(&mut self, ws: &mut Socket) {
        match ANSWERS.get(self.answered) {
            Some(a) => {
                Self::send(ws, &ClientMessage::Text((*a).to_owned())).await;
                self.answered += 1;
            }
            None => Self::send(ws, &ClientMessage::End).await,
        }
    }

    /// Plays the candidate until the interview ends, the socket drops, or the interviewer
    /// finishes a turn after `pause_after` answers. `resumed` gets the time `SessionResumed`
    /// arrived.
    async fn converse(
        &mut self,
        ws: &mut Socket,
        pause_after: Option<usize>,
        resumed: &mut Option<Instant>,
    ) -> Outcome {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(60), ws.next())
                .await
                .expect("the interview goes on");
            let bytes = match frame {
                Some(Ok(Message::Binary(b))) => b,
                Some(Ok(Message::Close(_)) | Err(_)) | None => return Outcome::Dropped,
                Some(Ok(_)) => continue,
            };
            match codec::decode_server(bytes).unwrap() {
                ServerMessage::SessionResumed(r) => {
                    *resumed = Some(Instant::now());
                    let stored: Vec<(Speaker, String)> = r
                        .transcript
                        .into_iter()
                        .map(|e| {
                            let e = TranscriptEntry::try_from(e).unwrap();
                            (e.speaker, e.text)
                        })
                        .collect();
                    // The transcript kept is exactly what this client was shown.
                    assert_eq!(stored, self.shown);
                    if self.shown.last().is_some_and(|(s, _)| *s == Speaker::Ai) {
                        self.answer(ws).await;
                    }
                }
                ServerMessage::TranscriptUpdate(u) if u.is_final => {
                    let speaker = if u.speaker == "AI" {
                        Speaker::Ai
                    } else {
                        Speaker::User
                    };
                    self.shown.push((speaker, u.text));
                    if speaker == Speaker::Ai && u.turn_complete {
                        if pause_after == Some(self.answered) {
                            return Outcome::Paused;
                        }
                        self.answer(ws).await;
                    }
                }
                ServerMessage::SessionEnded(_) => return Outcome::Ended,
                ServerMessage::ErrorResponse(e) => panic!("error from the worker: {e:?}"),
                _ => {}
            }
        }
    }

    async fn stored(&self) -> Vec<TranscriptEntry> {
        let t = self
            .call(
                "interview.getTranscript",
                json!({ "interview_id": self.interview_id }),
            )
            .await;
        serde_json::from_value(t["entries"].clone()).unwrap()
    }

    /// Waits until the store holds every entry shown; returns how long that took.
    async fn wait_stored(&self) -> Duration {
        let t0 = Instant::now();
        for _ in 0..600 {
            if self.stored().await.len() >= self.shown.len() {
                return t0.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the store never caught up with the client");
    }

    async fn wait_terminal(&self) -> String {
        for _ in 0..600 {
            let i = self
                .call(
                    "interview.getById",
                    json!({ "interview_id": self.interview_id }),
                )
                .await;
            let status = i["status"].as_str().unwrap().to_owned();
            if status == "COMPLETED" || status == "ERROR" {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the interview never ended");
    }
}

/// The stored transcript is what the simulator said (its script for this interview, in
/// order) and heard (each answer once, in order), numbered 0.. with no gap or repeat.
async fn check_transcript(candidate: &Candidate, sim: &SimulatorHandle) {
    let stored = candidate.stored().await;
    let seqs: Vec<u32> = stored.iter().map(|e| e.sequence).collect();
    let expected_seqs: Vec<u32> = (0..u32::try_from(stored.len()).unwrap()).collect();
    assert_eq!(seqs, expected_seqs, "{stored:#?}");

    let recorded = sim.recorded();
    let instruction = recorded
        .iter()
        .flatten()
        .find_map(|m| m.pointer("/setup/systemInstruction/parts/0/text"))
        .and_then(Value::as_str)
        .expect("a setup");
    let script = InterviewScript::with_question_count(instruction, QUESTIONS);
    let mut said: Vec<String> = script.lines.clone();
    said.push(script.closing.clone());
    let mut expected = Vec::new();
    for (i, line) in said.iter().enumerate() {
        expected.push((Speaker::Ai, line.trim().to_owned()));
        if let Some(a) = ANSWERS.get(i) {
            expected.push((Speaker::User, (*a).to_owned()));
        }
    }
    let got: Vec<(Speaker, String)> = stored
        .iter()
        .map(|e| (e.speaker, e.text.trim().to_owned()))
        .collect();
    assert_eq!(got, expected);
    for w in stored.windows(2) {
        assert!(w[0].start_ms <= w[1].start_ms, "{stored:#?}");
    }

    let heard: Vec<&str> = recorded
        .iter()
        .flatten()
        .filter_map(|m| m.pointer("/realtimeInput/text").and_then(Value::as_str))
        .collect();
    assert_eq!(heard, ANSWERS);
}

/// Kills the worker of an interview after its third question was asked and stored, and
/// plays the candidate through the failover to the end. Returns (time from the kill to the
/// drop the client saw, time from the kill to `SessionResumed`).
async fn kill_and_fail_over(cluster: &mut Cluster) -> (Candidate, Duration, Duration) {
    let mut candidate = Candidate::create(&cluster.web_url()).await;
    let (first, mut ws) = candidate.connect("interview.generateWorkerToken").await;
    let mut resumed = None;
    let outcome = candidate.converse(&mut ws, Some(2), &mut resumed).await;
    assert_eq!(outcome, Outcome::Paused);
    candidate.wait_stored().await;

    // The third question was asked and stored; its worker dies.
    let killed_at = Instant::now();
    cluster.kill_worker(&first);
    let outcome = candidate.converse(&mut ws, None, &mut resumed).await;
    assert_eq!(outcome, Outcome::Dropped);
    let dropped_at = Instant::now();
    let (second, mut ws) = candidate.connect("interview.generateWsToken").await;
    assert_ne!(second, first, "sent to the live worker");
    let outcome = candidate.converse(&mut ws, None, &mut resumed).await;
    assert_eq!(outcome, Outcome::Ended);
    let resumed_at = resumed.expect("SessionResumed after the failover");
    assert_eq!(candidate.wait_terminal().await, "COMPLETED");
    check_transcript(&candidate, &cluster.sim).await;
    (candidate, dropped_at - killed_at, resumed_at - killed_at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_fails_over_to_the_other_with_nothing_lost() {
    let mut cluster = Cluster::start().await;
    let (_, dropped, resumed) = kill_and_fail_over(&mut cluster).await;

    // The new worker resumed the model's session with the stored handle.
    let recorded = cluster.sim.recorded();
    let last_setup = recorded
        .iter()
        .filter_map(|c| c.first())
        .rfind(|m| m.get("setup").is_some())
        .unwrap();
    let handle = &last_setup["setup"]["sessionResumption"]["handle"];
    assert!(handle.as_str().is_some_and(|h| !h.is_empty()), "{handle}");

    eprintln!(
        "failover: worker kill -9 -> client saw the drop after {dropped:?}, SessionResumed from the other worker {resumed:?} after the kill (lease TTL {LEASE_TTL_MS} ms)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_resumption_handle_the_new_worker_gives_the_model_the_history() {
    let mut cluster = Cluster::start_with(simulator_config().with_resumption(false)).await;
    let (_, dropped, resumed) = kill_and_fail_over(&mut cluster).await;
    // The takeover's model session started afresh and was given the conversation kept.
    let recorded = cluster.sim.recorded();
    let takeover = recorded
        .iter()
        .rfind(|c| c.first().is_some_and(|m| m.get("setup").is_some()))
        .unwrap();
    let history = takeover
        .iter()
        .find_map(|m| m.pointer("/clientContent/turns"))
        .and_then(Value::as_array)
        .expect("a clientContent history");
    assert_eq!(
        history.len(),
        5,
        "three questions and two answers: {history:?}"
    );
    eprintln!(
        "failover without a handle: client saw the drop after {dropped:?}, SessionResumed {resumed:?} after the kill"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_tier_restart_mid_interview_loses_nothing() {
    let mut cluster = Cluster::start().await;
    let mut candidate = Candidate::create(&cluster.web_url()).await;
    let (_, mut ws) = candidate.connect("interview.generateWorkerToken").await;
    let mut resumed = None;
    let outcome = candidate.converse(&mut ws, Some(1), &mut resumed).await;
    assert_eq!(outcome, Outcome::Paused);
    candidate.wait_stored().await;

    // The web tier dies; the candidate answers the rest while it is down.
    cluster.web.as_mut().unwrap().kill();
    let down_at = Instant::now();
    candidate.answer(&mut ws).await;
    let outcome = candidate.converse(&mut ws, None, &mut resumed).await;
    assert_eq!(outcome, Outcome::Ended, "the worker carried on alone");
    assert!(resumed.is_none());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let down_for = down_at.elapsed();
    cluster.start_web().await;
    let caught_up = candidate.wait_stored().await;
    let t0 = Instant::now();
    assert_eq!(candidate.wait_terminal().await, "COMPLETED");
    let completed_after = caught_up + t0.elapsed();
    check_transcript(&candidate, &cluster.sim).await;
    eprintln!(
        "web-tier restart: down {down_for:?}; after it was back, the store held every entry shown in {caught_up:?} and the interview was COMPLETED in {completed_after:?}"
    );
}

#[test]
fn web_and_worker_refuse_to_start_without_the_shared_secrets() {
    let runs: [&[&str]; 2] = [
        &[
            "web",
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            "sqlite::memory:",
            "--worker",
            "http://127.0.0.1:9",
        ],
        &[
            "worker",
            "--addr",
            "127.0.0.1:0",
            "--web-url",
            "http://127.0.0.1:9",
        ],
    ];
    for args in runs {
        let out = Command::new(env!("CARGO_BIN_EXE_preppal"))
            .args(args)
            .env_remove("PREPPAL_JWT_SECRET")
            .env_remove("PREPPAL_WORKER_SECRET")
            .env_remove("PREPPAL_DATABASE_URL")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("PREPPAL_JWT_SECRET is not set"), "{stderr}");
    }
}
