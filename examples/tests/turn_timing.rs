//! Turns timed as the candidate hears them: `preppal interview --audio … --speed 1`
//! against a `preppal serve` process (the built-in simulator sends its audio faster than
//! real time). The stored interviewer entries last as long as their audio, the talk-time
//! ratio is plausible, and the median response latency is the gap the client left after
//! each question's audio ended (the client's own measure, printed in its JSON report).

#![allow(clippy::unwrap_used)] // test fixtures and our own server are trusted input

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixture, free_port};
use serde_json::Value;

/// A `preppal serve` process on a free loopback port, killed when dropped; its log is
/// printed when the test fails.
struct Server {
    child: std::process::Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn start(data: &Path) -> Self {
        let port = free_port();
        let log = data.join("server.log");
        let child = Command::new(env!("CARGO_BIN_EXE_preppal"))
            .args([
                "serve",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(data)
            .env("RUST_LOG", "info")
            .env_remove("GEMINI_API_KEY")
            .env_remove("PREPPAL_GEMINI_URL")
            .env_remove("PREPPAL_GEMINI_REST_URL")
            .env_remove("PREPPAL_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let until = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port, log }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- server log ---\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

fn median(mut v: Vec<i64>) -> i64 {
    v.sort_unstable();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

#[test]
fn a_real_time_audio_interview_is_timed_as_the_candidate_heard_it() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let out = Command::new(env!("CARGO_BIN_EXE_preppal"))
        .arg("interview")
        .args(["--server", &format!("http://127.0.0.1:{}", server.port)])
        .arg("--job")
        .arg(fixture("interviews/backend-engineer.jd.txt"))
        .arg("--resume")
        .arg(fixture("interviews/backend-engineer.resume.txt"))
        .arg("--audio")
        .arg(fixture("audio/intro.wav"))
        .arg("--audio")
        .arg(fixture("audio/conflict.wav"))
        .args(["--speed", "1", "--answer-gap-ms", "900", "--json"])
        .args(["--timeout-secs", "240"])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "preppal interview failed");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "COMPLETED", "{report}");

    let transcript = report["transcript"].as_array().unwrap();
    let timing = report["answer_timing"].as_array().unwrap();
    assert_eq!(timing.len(), 2, "{report}");
    let users: Vec<usize> = transcript
        .iter()
        .enumerate()
        .filter(|(_, e)| e["speaker"] == "USER")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(users.len(), 2, "{transcript:?}");

    // 1. Each question's stored entry lasts as long as the audio the client received for
    //    it (within 5 %), not the few ms its audio took to arrive.
    for (t, &u) in timing.iter().zip(&users) {
        let q = &transcript[u - 1];
        assert_eq!(q["speaker"], "AI");
        let stored = q["end_ms"].as_i64().unwrap() - q["start_ms"].as_i64().unwrap();
        let audio = t["question_audio_ms"].as_i64().unwrap();
        assert!(audio > 1_000, "a question of {audio} ms of audio");
        let off = (stored - audio).abs() as f64 / audio as f64;
        eprintln!(
            "question: stored {stored} ms, audio {audio} ms ({:.1} % off)",
            off * 100.0
        );
        assert!(off <= 0.05, "stored {stored} ms for {audio} ms of audio");
    }

    // 2. The talk-time ratio is what a listener would measure.
    let m = &report["metrics"];
    let ratio = m["talk_time_ratio"].as_f64().unwrap();
    eprintln!("talk-time ratio {ratio}");
    assert!((0.2..=0.8).contains(&ratio), "talk-time ratio {ratio}");

    // 3. The median response latency is the gap the client left after each question.
    let gaps: Vec<i64> = timing
        .iter()
        .map(|t| t["gap_ms"].as_i64().unwrap())
        .collect();
    let latency = m["response_latency_ms"].as_i64().unwrap();
    let gap = median(gaps.clone());
    eprintln!("gaps {gaps:?} ms, median {gap} ms; stored median latency {latency} ms");
    assert!(
        (latency - gap).abs() <= 300,
        "median latency {latency} ms against a median gap of {gap} ms"
    );
}
