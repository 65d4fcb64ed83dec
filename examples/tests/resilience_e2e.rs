//! An interview that outlives its Gemini Live connections: the server talks to an external
//! simulator that sends `goAway` every 3 s and closes with 1011 2 s later, and the
//! command-line client holds a whole text interview over one WebSocket.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use preppal_examples::cli::{hold_interview, InterviewArgs};
use preppal_examples::server::{spawn, ServeArgs};
use preppal_gemini::simulator::{Simulator, SimulatorConfig, SpeechMode, DEADLINE_EXPIRED};
use serde_json::Value;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures")
        .join(rel)
}

#[derive(Parser)]
struct InterviewCli {
    #[command(flatten)]
    args: InterviewArgs,
}

const ANSWERS: [&str; 5] = [
    "I rewrote the tracking fan-out service in Rust.",
    "We measured first, then rewrote the hot path.",
    "Bounded queues and backpressure, end to end.",
    "I ran the incident review and wrote the runbook.",
    "I want to own the realtime platform's reliability.",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interview_survives_go_away_every_3_s_and_close_1011_2_s_later() {
    let sim = Simulator::start(
        SimulatorConfig::default()
            .with_voice(SpeechMode::Silence)
            .with_go_away_every(Duration::from_secs(3))
            .with_go_away_close_after(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut args = ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data.path().to_path_buf());
    args.gemini_url = Some(sim.url());
    let server = spawn(&args).await.unwrap();

    let answers = data.path().join("answers.txt");
    std::fs::write(&answers, ANSWERS.join("\n")).unwrap();
    let argv = [
        "interview",
        "--server",
        &server.url(),
        "--job",
        &fixture("interviews/backend-engineer.jd.txt")
            .display()
            .to_string(),
        "--resume",
        &fixture("interviews/backend-engineer.resume.txt")
            .display()
            .to_string(),
        "--answers",
        &answers.display().to_string(),
        "--json",
    ]
    .map(str::to_owned);
    let report = hold_interview(&InterviewCli::parse_from(argv).args)
        .await
        .unwrap();
    server.stop();

    assert_eq!(report.status, "COMPLETED", "{report:?}");
    let t = &report.transcript;
    // Every answer, in order, once: the candidate's socket carried them all.
    let users: Vec<&str> = t
        .iter()
        .filter(|e| e.speaker == "USER")
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(users, ANSWERS, "{t:?}");
    // The interviewer and the candidate take turns: greeting and question, answer, ...,
    // closing line; no question is asked twice.
    assert_eq!(t.len(), 2 * ANSWERS.len() + 1, "{t:?}");
    for (i, e) in t.iter().enumerate() {
        assert_eq!(e.speaker, if i % 2 == 0 { "AI" } else { "USER" }, "{t:?}");
        assert!(!e.text.trim().is_empty(), "{t:?}");
    }
    let questions: HashSet<&str> = t
        .iter()
        .filter(|e| e.speaker == "AI")
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(
        questions.len(),
        ANSWERS.len() + 1,
        "no repeated line: {t:?}"
    );
    for w in t.windows(2) {
        assert!(w[0].start_ms <= w[1].start_ms, "{t:?}");
    }

    // The model side moved across several connections, each later one resumed with a
    // handle, and the simulator never had to close one for its deadline.
    // A socket that closed before its first message (a dial abandoned mid-switch) carries
    // no setup; the connections that spoke must all have resumed.
    let recorded: Vec<_> = sim
        .recorded()
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect();
    assert!(recorded.len() >= 2, "{} connections", recorded.len());
    for connection in &recorded[1..] {
        let handle = &connection[0]["setup"]["sessionResumption"]["handle"];
        assert!(handle.as_str().is_some_and(|h| !h.is_empty()), "{handle}");
    }
    let closes = sim.server_closes();
    assert!(
        !closes.iter().any(|(_, _, r)| r == DEADLINE_EXPIRED),
        "{closes:?}"
    );
    // Each answer reached the model exactly once, in order.
    let sent: Vec<&str> = recorded
        .iter()
        .flatten()
        .filter_map(|m| m.pointer("/realtimeInput/text").and_then(Value::as_str))
        .collect();
    assert_eq!(sent, ANSWERS);
}
