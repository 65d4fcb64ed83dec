//! `preppal serve` with its built-in simulator as the model, through the binaries: the
//! strict simulator refuses what the real service refuses, and with
//! `--simulator-transcripts` it hears the candidate, so a spoken interview stores the
//! candidate's words under the questions they answer and the metrics count them.

#![allow(clippy::unwrap_used)] // test fixtures are trusted input

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{fixture, free_port};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

/// The words of intro.wav, conflict.wav and incident.wav, one turn per line.
fn answers_file() -> PathBuf {
    fixture("audio/answers.txt")
}

fn answers() -> Vec<String> {
    std::fs::read_to_string(answers_file())
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

struct Server {
    child: std::process::Child,
    port: u16,
    /// The built-in simulator's Live endpoint, from the log.
    simulator_url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `preppal serve` offline, with `extra` arguments; waits for it to listen and reads the
/// simulator's endpoint from its log.
fn serve(data: &Path, extra: &[&str]) -> Server {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_preppal"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data)
        .args(extra)
        .env_remove("GEMINI_API_KEY")
        .env_remove("PREPPAL_GEMINI_URL")
        .env_remove("PREPPAL_GEMINI_REST_URL")
        .env_remove("PREPPAL_DATABASE_URL")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take();
    // Killed and waited for on drop, whatever happens next.
    let mut server = Server {
        child,
        port,
        simulator_url: String::new(),
    };
    let stderr = stderr.unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("ws://") {
                let url: String = line[at..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '\u{1b}')
                    .collect();
                let _ = tx.send(url);
            }
        }
    });
    server.simulator_url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the simulator's endpoint in the log");
    for _ in 0..400 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server did not start");
}

#[tokio::test]
async fn serve_with_the_simulator_refuses_a_setup_with_an_unknown_field_with_1007() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), &[]);
    let mut request = server.simulator_url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-goog-api-key", "k".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let setup = json!({ "setup": {
        "model": "models/gemini-3.8-live",
        "generationConfig": { "responseModalities": ["AUDIO"] },
        "outputAudioTranscripton": {}
    } });
    ws.send(Message::Text(setup.to_string().into()))
        .await
        .unwrap();
    let close = match tokio::time::timeout(Duration::from_secs(30), ws.next())
        .await
        .unwrap()
    {
        Some(Ok(Message::Close(frame))) => frame.unwrap(),
        other => panic!("expected a close frame, got {other:?}"),
    };
    assert_eq!(u16::from(close.code), 1007);
    assert_eq!(
        close.reason.as_str(),
        "Request contains an invalid argument."
    );
}

#[test]
fn an_audio_interview_with_simulator_transcripts_stores_the_words_under_their_questions() {
    let data = tempfile::tempdir().unwrap();
    let transcripts = answers_file().display().to_string();
    let server = serve(data.path(), &["--simulator-transcripts", &transcripts]);
    let out = Command::new(env!("CARGO_BIN_EXE_preppal"))
        .args([
            "interview",
            "--server",
            &format!("http://127.0.0.1:{}", server.port),
            "--job",
        ])
        .arg(fixture("interviews/backend-engineer.jd.txt"))
        .arg("--resume")
        .arg(fixture("interviews/backend-engineer.resume.txt"))
        .arg("--audio")
        .arg(fixture("audio/intro.wav"))
        .arg("--audio")
        .arg(fixture("audio/conflict.wav"))
        .args(["--speed", "0", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "COMPLETED", "{report}");
    let transcript = report["transcript"].as_array().unwrap();
    let answers = answers();
    // Each answer's words sit right after the question they answer: the n-th interviewer
    // turn is followed by the n-th answer.
    let mut asked = 0;
    let mut answered = Vec::new();
    for (i, entry) in transcript.iter().enumerate() {
        match entry["speaker"].as_str().unwrap() {
            "AI" => asked += 1,
            _ => {
                assert_eq!(transcript[i - 1]["speaker"], "AI", "{transcript:?}");
                assert_eq!(
                    asked,
                    answered.len() + 1,
                    "answer {i} under question {asked}"
                );
                answered.push(entry["text"].as_str().unwrap().to_owned());
            }
        }
    }
    assert_eq!(answered, answers[..2], "{transcript:?}");

    // The metrics count the heard words, answer by answer.
    let metrics = &report["metrics"];
    let words = |s: &str| s.split_whitespace().count() as u64;
    let per_answer: Vec<u64> = metrics["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["words"].as_u64().unwrap())
        .collect();
    assert_eq!(
        per_answer,
        [words(&answers[0]), words(&answers[1])],
        "{metrics}"
    );
    assert_eq!(
        metrics["words"].as_u64().unwrap(),
        words(&answers[0]) + words(&answers[1])
    );
    assert!(
        metrics["words_per_minute"].as_f64().unwrap() > 0.0,
        "{metrics}"
    );
    // conflict.wav's "Um, ... I, uh, proposed" are counted as fillers.
    assert!(metrics["fillers"]["um"].as_u64().unwrap() >= 1, "{metrics}");
    assert!(metrics["fillers"]["uh"].as_u64().unwrap() >= 1, "{metrics}");
}
