//! The data the candidate's pages are built from: who the interviewer is
//! (`user.getProfile`), the job (`interview.getById`), the answer-by-answer feedback with
//! honest metrics (`interview.getFeedback`) and progress grouped by job and mode
//! (`interview.getProgress`). Interviews are written straight to the server's store, so
//! their timing is exactly known.

#![allow(clippy::unwrap_used)] // test input is our own

use std::time::Duration;

use preppal_core::feedback::deterministic_feedback_with_metrics;
use preppal_core::{metrics, InterviewStatus, Speaker, TranscriptEntry};
use preppal_examples::server::{spawn, ServeArgs};
use preppal_store::NewInterview;
use serde_json::{json, Value};

const JOB_A: &str = "Senior Backend Engineer\nNorthwind Logistics (fictional), Remote\n\nWe build services in Rust on Kafka.";
const JOB_B: &str =
    "Product Manager, Payments\nHarbor Savings, Toronto\n\nYou own the payments experience.";

fn e(sequence: u32, speaker: Speaker, text: &str, start_ms: u64, end_ms: u64) -> TranscriptEntry {
    TranscriptEntry {
        sequence,
        speaker,
        text: text.into(),
        start_ms,
        end_ms,
        interrupted: false,
        heard_text: None,
    }
}

/// Two questions and two answers; the answers spoken (`words` or untranscribed) or typed.
fn conversation(latency_ms: u64, words: Option<&str>, typed: bool) -> Vec<TranscriptEntry> {
    let answer_ms = if typed { 0 } else { 40_000 };
    let text = words.unwrap_or("");
    let a1 = 3_000 + latency_ms;
    let q2 = a1 + answer_ms + 1_000;
    let a2 = q2 + 3_000 + latency_ms;
    vec![
        e(0, Speaker::Ai, "Tell me about yourself.", 0, 3_000),
        e(1, Speaker::User, text, a1, a1 + answer_ms),
        e(2, Speaker::Ai, "Tell me about an outage.", q2, q2 + 3_000),
        e(3, Speaker::User, text, a2, a2 + answer_ms),
    ]
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(&self, procedure: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/api/{procedure}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{procedure}: {}", r.status());
        r.json().await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_get_the_interviewer_the_job_each_answer_and_progress_by_job_and_mode() {
    let data = tempfile::tempdir().unwrap();
    let args = ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data.path().to_path_buf());
    let server = spawn(&args).await.unwrap();
    let http = reqwest::Client::new();
    let v: Value = http
        .post(format!("{}/api/auth/dev", server.url()))
        .json(&json!({ "email": "ada@example.com" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api = Api {
        http,
        base: server.url(),
        token: v["session_token"].as_str().unwrap().to_owned(),
    };

    // The lobby: the offline demo, which does not transcribe the candidate.
    let profile = api.call("user.getProfile", json!({})).await;
    assert_eq!(
        profile["interviewer"],
        json!({ "kind": "offline_demo", "transcribes_candidate": false })
    );
    let user_id = profile["id"].as_str().unwrap().to_owned();

    let store = preppal_store::open(&args.database_url()).await.unwrap();
    let mut ids = Vec::new();
    for (job, entries) in [
        // Job A by voice, not transcribed: slow to answer, then at a usual pace.
        (JOB_A, conversation(5_000, None, false)),
        (JOB_A, conversation(1_000, None, false)),
        // Job A typed, and job B by voice with words.
        (
            JOB_A,
            conversation(0, Some("I led the Kafka migration."), true),
        ),
        (
            JOB_B,
            conversation(800, Some("I shipped instant transfers for members."), false),
        ),
    ] {
        let i = store
            .create_interview(NewInterview::from_texts(&user_id, job, "Resume.", 600_000))
            .await
            .unwrap();
        store
            .update_status(
                &i.id,
                InterviewStatus::Pending,
                InterviewStatus::InProgress,
                None,
                None,
            )
            .await
            .unwrap();
        store.append_transcript(&i.id, &entries).await.unwrap();
        let f = deterministic_feedback_with_metrics(&entries, metrics::compute(&entries, job, &[]));
        store.put_feedback(&i.id, &f).await.unwrap();
        store
            .update_status(
                &i.id,
                InterviewStatus::InProgress,
                InterviewStatus::Completed,
                Some("user_ended"),
                None,
            )
            .await
            .unwrap();
        ids.push(i.id);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The results page names the job and the interviewer.
    let one = api
        .call("interview.getById", json!({ "interview_id": ids[0] }))
        .await;
    assert_eq!(one["job_title"], "Senior Backend Engineer");
    assert_eq!(one["company"], "Northwind Logistics");
    assert_eq!(one["interviewer_kind"], "offline_demo");
    assert_eq!(one["status"], "COMPLETED", "existing fields stay");

    // Answer by answer, with honest metrics and candidate-facing text.
    let fb = api
        .call("interview.getFeedback", json!({ "interview_id": ids[0] }))
        .await;
    assert_eq!(fb["job_title"], "Senior Backend Engineer");
    let q = fb["questions"].as_array().unwrap();
    assert_eq!(q.len(), 2, "{fb}");
    assert_eq!(q[1]["question"], "Tell me about an outage.");
    assert_eq!(q[1]["answer"], "");
    assert_eq!(q[1]["answer_transcribed"], false);
    assert_eq!(q[1]["answer_duration_ms"], 40_000);
    assert_eq!(q[1]["response_latency_ms"], 5_000);
    let f = &fb["feedback"];
    assert_eq!(
        f["metrics"]["unavailable"]["filler_words"],
        "no transcription"
    );
    assert!(f["metrics"]["words_per_minute"].is_null());
    let text = f.to_string();
    for banned in ["microphone", "GEMINI_API_KEY", "time(s)"] {
        assert!(!text.contains(banned), "{banned} in {f}");
    }
    assert!(f["summary"]
        .as_str()
        .unwrap()
        .contains("without an AI model"));
    assert!(
        f["areas_to_improve"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str().unwrap().contains("5 s after the question ended")),
        "{f}"
    );

    // Progress: by job and mode, oldest first, in human units with a direction.
    let p = api.call("interview.getProgress", json!({})).await;
    assert!(
        p["points"].is_array() && p["trend"].is_object(),
        "existing fields stay"
    );
    let groups = p["groups"].as_array().unwrap();
    let keys: Vec<(String, String, usize)> = groups
        .iter()
        .map(|g| {
            (
                g["job"].as_str().unwrap().to_owned(),
                g["mode"].as_str().unwrap().to_owned(),
                g["interviews"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("Senior Backend Engineer".to_owned(), "voice".to_owned(), 2),
            ("Senior Backend Engineer".to_owned(), "text".to_owned(), 1),
            (
                "Product Manager, Payments".to_owned(),
                "voice".to_owned(),
                1
            ),
        ]
    );
    let voice_a = &groups[0];
    assert_eq!(voice_a["interviews"][0]["interview_id"], ids[0].as_str());
    let metric = |name: &str| {
        voice_a["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap()
            .clone()
    };
    let latency = metric("response_latency");
    assert_eq!(latency["unit"], "s");
    assert_eq!(latency["values"], json!([5.0, 1.0]));
    assert_eq!(latency["direction"], "within_band");
    let wpm = metric("words_per_minute");
    assert_eq!(wpm["values"], json!([null, null]), "not available, not 0");
    assert_eq!(wpm["direction"], "unknown");
    let talk = metric("talk_time");
    assert_eq!(talk["unit"], "%");
    server.stop();
}
