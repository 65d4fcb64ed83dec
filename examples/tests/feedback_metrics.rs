//! Feedback a candidate can trust: metrics measured from a text-mode interview, exported by
//! `preppal export --format json`, and model notes whose quotes are checked against the
//! transcript.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use clap::Parser;
use common::{api, fixture, sign_in, spawn_with_simulator, InterviewCli};
use preppal_examples::cli::{hold_interview, InterviewArgs};
use preppal_examples::server::{spawn, ServeArgs};
use preppal_gemini::simulator::{Simulator, SimulatorConfig, FABRICATED_QUOTE};
use serde_json::Value;

/// Terms: Rust, Go, Kubernetes, PostgreSQL, Kafka.
const JOB: &str = "Backend engineer. You will build services in Rust and Go on Kubernetes, \
    with PostgreSQL and Kafka.\n";

/// Three answers with known fillers: "um"; filler "like" and "you know"; "uh" (and the
/// verb "like", which is not a filler). They mention Rust, Kafka and PostgreSQL.
const ANSWERS: [&str; 3] = [
    "Um, I have built backend services in Rust for five years.",
    "It was, like, a hard outage, you know, with Kafka.",
    "I like PostgreSQL because uh the planner is good.",
];

fn interview_args(server: &str, dir: &Path) -> InterviewArgs {
    let job = dir.join("job.txt");
    std::fs::write(&job, JOB).unwrap();
    let answers = dir.join("answers.txt");
    std::fs::write(&answers, ANSWERS.join("\n")).unwrap();
    let resume = fixture("interviews/backend-engineer.resume.txt");
    InterviewCli::parse_from([
        "interview".to_owned(),
        "--server".into(),
        server.into(),
        "--job".into(),
        job.display().to_string(),
        "--resume".into(),
        resume.display().to_string(),
        "--answers".into(),
        answers.display().to_string(),
        "--speed".into(),
        "0".into(),
        "--json".into(),
    ])
    .args
}

fn export_json(data_dir: &Path, interview_id: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_preppal"))
        .arg("export")
        .arg(interview_id)
        .args(["--format", "json", "--data-dir"])
        .arg(data_dir)
        .env_remove("PREPPAL_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_reports_the_known_fillers_and_job_terms_of_a_text_interview() {
    let data = tempfile::tempdir().unwrap();
    let args = ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data.path().to_path_buf());
    let server = spawn(&args).await.unwrap();
    let report = hold_interview(&interview_args(&server.url(), data.path()))
        .await
        .unwrap();
    assert_eq!(report.status, "COMPLETED", "{report:?}");
    server.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let v = export_json(data.path(), &report.interview_id);
    let m = &v["metrics"];
    assert_eq!(m["answer_count"], 3, "{m}");
    assert_eq!(m["words"], 30);
    assert_eq!(m["filler_words"], 4);
    assert_eq!(
        m["fillers"],
        serde_json::json!({ "um": 1, "like": 1, "you know": 1, "uh": 1 })
    );
    assert_eq!(
        m["job_terms"]["covered"],
        serde_json::json!(["Rust", "PostgreSQL", "Kafka"])
    );
    assert_eq!(
        m["job_terms"]["missing"],
        serde_json::json!(["Go", "Kubernetes"])
    );
    let per_answer: Vec<(u64, u64)> = m["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["words"].as_u64().unwrap(),
                a["filler_words"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(per_answer, [(11, 1), (10, 2), (9, 1)]);
    assert_eq!(
        m["answers"][2]["job_terms"],
        serde_json::json!(["PostgreSQL"])
    );
    // Typed answers carry no audio: pauses are unknown, not zero; typed answers have no
    // speaking time, so no rate either.
    assert!(m["pauses_over_1s"].is_null());
    assert!(m["answers"][0]["pauses_over_1s"].is_null());
    assert!(m["words_per_minute"].is_null());
    assert_eq!(m["bands"]["words_per_minute"]["low"], 130.0);

    // Without GEMINI_API_KEY: the metrics and a deterministic summary, labelled as such;
    // no model wrote notes or scores, so none are shown as evidence.
    let f = &v["feedback"];
    assert_eq!(f["source"], "deterministic");
    assert!(
        f["summary"].as_str().unwrap().contains("no AI model"),
        "{f}"
    );
    assert_eq!(f["dropped_notes"], 0);
    assert_eq!(f["notes"], serde_json::json!([]));
    assert!(f["scores"].is_null(), "{f}");
    // The original keys are still there.
    for key in ["interview_id", "status", "transcript", "feedback"] {
        assert!(v.get(key).is_some(), "{key}");
    }
    assert_eq!(
        serde_json::to_value(&report).unwrap()["metrics"],
        v["metrics"],
        "`preppal interview --json` and `preppal export` agree"
    );

    let md = preppal_examples::cli::export_report(&args.database_url(), &report.interview_id)
        .await
        .unwrap()
        .to_markdown();
    assert!(md.contains("## Metrics"), "{md}");
    assert!(
        md.contains("| Words per minute | n/a | 130–160 words/min |"),
        "{md}"
    );
    assert!(md.contains("did not mention: Go, Kubernetes."), "{md}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_with_a_fabricated_quote_is_dropped_and_counted() {
    let sim = Simulator::start(SimulatorConfig::default().with_fabricated_quote(true))
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut args = ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data.path().to_path_buf());
    args.gemini.url = Some(sim.url());
    args.gemini.api_key = Some("test-key".to_owned());
    args.gemini.rest_url = Some(sim.rest_url());
    let server = spawn(&args).await.unwrap();
    let report = hold_interview(&interview_args(&server.url(), data.path()))
        .await
        .unwrap();
    assert_eq!(report.status, "COMPLETED", "{report:?}");
    server.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let store = preppal_store::open(&args.database_url()).await.unwrap();
    let stored = store
        .get_feedback(&report.interview_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.dropped_notes, 1);
    assert_eq!(stored.notes.len(), 3);
    assert!(stored.notes.iter().all(|n| n.quote != FABRICATED_QUOTE));
    assert!(stored.metrics.is_some());
    let f = report.feedback.as_ref().unwrap();
    assert_eq!(f.dropped_notes, 1);
    assert!(!report.to_markdown().contains(FABRICATED_QUOTE));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_follows_metrics_and_scores_across_interviews() {
    // The simulator's generateContent writes scored feedback, reached without a key
    // through PREPPAL_GEMINI_REST_URL.
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = spawn_with_simulator(&sim, data.path()).await;
    let first = hold_interview(&interview_args(&server.url(), data.path()))
        .await
        .unwrap();
    let second = hold_interview(&interview_args(&server.url(), data.path()))
        .await
        .unwrap();

    // The command-line client signs in as this dev user by default.
    let http = reqwest::Client::new();
    let token = sign_in(&server.url(), "candidate@example.com").await;
    let (_, progress) = api(
        &server.url(),
        &token,
        "interview.getProgress",
        serde_json::json!({}),
    )
    .await;
    let points = progress["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "{progress}");
    // Oldest first.
    assert_eq!(points[0]["interview_id"], first.interview_id.as_str());
    assert_eq!(points[1]["interview_id"], second.interview_id.as_str());
    for p in points {
        assert_eq!(p["metrics"]["job_terms_covered"], 3, "{p}");
        assert_eq!(p["metrics"]["job_terms_total"], 5, "{p}");
        assert_eq!(p["metrics"]["interruptions"], 0, "{p}");
        // Typed answers have no speaking time: no words per minute, not a made-up zero.
        assert!(p["metrics"]["words_per_minute"].is_null(), "{p}");
        assert!(
            p["scores"]["content"]
                .as_u64()
                .is_some_and(|v| (1..=5).contains(&v)),
            "{p}"
        );
    }
    let t = &progress["trend"];
    assert_eq!(t["metrics.interruptions"]["points"], 2, "{t}");
    assert_eq!(t["metrics.interruptions"]["change"], 0.0, "{t}");
    assert!(
        t.get("metrics.words_per_minute").is_none(),
        "no trend without values: {t}"
    );
    assert_eq!(t["scores.content"]["points"], 2, "{t}");

    // Another user sees no progress of this one.
    let other = sign_in(&server.url(), "someone.else@example.com").await;
    let theirs: Value = http
        .post(format!("{}/api/interview.getProgress", server.url()))
        .bearer_auth(other)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["points"], serde_json::json!([]));
    server.stop();
    sim.shutdown().await;
}
