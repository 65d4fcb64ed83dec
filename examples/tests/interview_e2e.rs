//! One whole mock interview, end to end, on real input: the fixture job description,
//! resume and spoken answers, the server with the Gemini Live simulator, real WebSockets
//! over loopback, SQLite on disk.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{fixture, free_port};
use preppal_examples::cli::report::InterviewReport;
use preppal_examples::cli::{hold_interview, InterviewArgs};
use preppal_examples::server::{spawn, ServeArgs};

/// `preppal interview --json` against `server` with the fixture job and resume and `extra`.
fn interview_args(server: &str, extra: &[&str]) -> InterviewArgs {
    common::interview_args(server, &[&["--json"], extra].concat())
}

/// Checks the shape every finished interview must have: AI first, turns in order,
/// the candidate's answers between the interviewer's questions.
fn assert_conversation(report: &InterviewReport, answers: usize) {
    assert_eq!(report.status, "COMPLETED", "{report:?}");
    let t = &report.transcript;
    assert!(t.len() >= 2 * answers, "transcript too short: {t:?}");
    assert_eq!(t[0].speaker, "AI");
    assert!(!t[0].text.trim().is_empty(), "the greeting has words");
    let users: Vec<_> = t.iter().filter(|e| e.speaker == "USER").collect();
    assert_eq!(users.len(), answers, "{t:?}");
    for w in t.windows(2) {
        assert!(
            w[0].start_ms <= w[1].start_ms,
            "entries out of order: {t:?}"
        );
    }
    // Every answer follows an interviewer turn.
    for (i, e) in t.iter().enumerate() {
        if e.speaker == "USER" {
            assert_eq!(t[i - 1].speaker, "AI", "{t:?}");
        }
    }
    let f = report.feedback.as_ref().expect("feedback is kept");
    assert!(!f.summary.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voice_interview_runs_in_process_and_survives_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let mut args = ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data.path().to_path_buf());
    // The simulator hears the fixtures' words (`--simulator-transcripts`).
    let answers_txt = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/audio/answers.txt");
    args.gemini.simulator_transcripts = Some(answers_txt.clone());
    let server = spawn(&args).await.unwrap();
    let audio =
        ["intro.wav", "conflict.wav", "incident.wav"].map(|f| fixture(&format!("audio/{f}")));
    let mut extra = vec!["--speed", "0"];
    let audio_strs: Vec<String> = audio.iter().map(|p| p.display().to_string()).collect();
    for a in &audio_strs {
        extra.push("--audio");
        extra.push(a);
    }
    let report = hold_interview(&interview_args(&server.url(), &extra))
        .await
        .unwrap();
    assert_conversation(&report, 3);
    // The simulator was told what each WAV says: each answer has its words.
    let heard: Vec<&str> = report
        .transcript
        .iter()
        .filter(|e| e.speaker == "USER")
        .map(|e| e.text.as_str())
        .collect();
    let said = std::fs::read_to_string(&answers_txt).unwrap();
    assert_eq!(heard, said.lines().collect::<Vec<_>>());
    // Offline, the simulator's generateContent writes the feedback, labelled as such.
    // Without GEMINI_API_KEY the feedback is the automatic summary, labelled as such.
    assert_eq!(report.feedback.as_ref().unwrap().source, "deterministic");
    server.stop();

    // Stopped and started again on the same data directory: the same interview is there.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let store = preppal_store::open(&args.database_url()).await.unwrap();
    let stored = store
        .get_interview_unscoped(&report.interview_id)
        .await
        .unwrap();
    assert_eq!(stored.status.as_str(), "COMPLETED");
    let transcript = store.get_transcript(&report.interview_id).await.unwrap();
    assert_eq!(transcript.len(), report.transcript.len());
    for (a, b) in transcript.iter().zip(&report.transcript) {
        assert_eq!(
            (a.speaker.as_str(), a.text.as_str(), a.start_ms),
            (b.speaker.as_str(), b.text.as_str(), b.start_ms)
        );
    }
    let feedback = store
        .get_feedback(&report.interview_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(feedback.summary, report.feedback.as_ref().unwrap().summary);
    // Voice answers passed through the worker: pauses are measured from their audio
    // (a count, possibly 0), not left unknown as in text mode.
    let metrics = feedback.metrics.as_ref().expect("metrics are kept");
    assert!(metrics.pauses_over_1s.is_some(), "{metrics:?}");
    assert!(metrics.answers.iter().all(|a| a.pauses_over_1s.is_some()));
    drop(store);
    let again = spawn(&args).await.unwrap();
    let report2 = hold_interview(&interview_args(
        &again.url(),
        &["--answers", &fixture_answers_file(data.path())],
    ))
    .await
    .unwrap();
    assert_ne!(report2.interview_id, report.interview_id);
    again.stop();
}

fn fixture_answers_file(dir: &Path) -> String {
    let p = dir.join("answers.txt");
    std::fs::write(
        &p,
        "I rewrote the tracking fan-out service in Rust.\n\nWe measured first, then rewrote it.\n",
    )
    .unwrap();
    p.display().to_string()
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(bin: &str, port: u16, data: &Path) -> Child {
    let child = Child(
        Command::new(bin)
            .args([
                "serve",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(data)
            .env_remove("GEMINI_API_KEY")
            .env_remove("PREPPAL_GEMINI_URL")
            .env_remove("PREPPAL_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server did not start");
}

#[test]
fn text_interview_through_the_binaries_then_export() {
    let bin = env!("CARGO_BIN_EXE_preppal");
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = start_server(bin, port, data.path());
    let answers = data.path().join("answers.txt");
    std::fs::write(
        &answers,
        "I led the migration of our billing service to Rust.\nWe cut p99 latency from 480 ms to 35 ms.\n",
    )
    .unwrap();
    let out = Command::new(bin)
        .args([
            "interview",
            "--server",
            &format!("http://127.0.0.1:{port}"),
            "--job",
        ])
        .arg(fixture("interviews/backend-engineer.jd.txt"))
        .arg("--resume")
        .arg(fixture("interviews/backend-engineer.resume.txt"))
        .arg("--answers")
        .arg(&answers)
        .args(["--speed", "0", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: InterviewReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_conversation(&report, 2);
    let users: Vec<_> = report
        .transcript
        .iter()
        .filter(|e| e.speaker == "USER")
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(
        users,
        [
            "I led the migration of our billing service to Rust.",
            "We cut p99 latency from 480 ms to 35 ms."
        ]
    );
    drop(server);

    // Export reads the store directly, with the server stopped.
    let export = |format: &str| {
        let out = Command::new(bin)
            .arg("export")
            .arg(&report.interview_id)
            .args(["--format", format, "--data-dir"])
            .arg(data.path())
            .env_remove("PREPPAL_DATABASE_URL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let exported: InterviewReport = serde_json::from_str(&export("json")).unwrap();
    // The same report, less what only the live client measured (its own playback clock).
    let mut live = report.clone();
    assert_eq!(live.answer_timing.len(), 2, "{live:?}");
    live.answer_timing.clear();
    assert_eq!(
        serde_json::to_value(&exported).unwrap(),
        serde_json::to_value(&live).unwrap()
    );
    let md = export("markdown");
    assert!(
        md.contains("We cut p99 latency from 480 ms to 35 ms."),
        "{md}"
    );

    let out = Command::new(bin)
        .arg("export")
        .arg("no-such-interview")
        .args(["--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!out.status.success(), "an unknown interview is an error");
}
