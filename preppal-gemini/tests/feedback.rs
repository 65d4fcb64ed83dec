//! `FeedbackClient` against a tiny HTTP responder on loopback that returns canned
//! `generateContent` answers and records the requests.

// Tests may unwrap, in shared test functions as well as in `#[test]` ones.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use preppal_core::{FeedbackSource, Speaker, TranscriptEntry};
use preppal_gemini::{FeedbackClient, FeedbackError};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
struct Recorded {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Serves one canned `(status, body)` per request, in order; records each request.
async fn responder(answers: Vec<(u16, String)>) -> (String, Arc<Mutex<Vec<Recorded>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&recorded);
    let mut answers: VecDeque<(u16, String)> = answers.into();
    tokio::spawn(async move {
        while let Some((status, body)) = answers.pop_front() {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let header_end = loop {
                let n = stream.read(&mut chunk).await.unwrap();
                assert!(n > 0, "request ended early");
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
            };
            let head = String::from_utf8(buf[..header_end].to_vec()).unwrap();
            let mut lines = head.split("\r\n");
            let request_line = lines.next().unwrap().to_owned();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                .collect();
            let length: usize = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.parse().unwrap())
                .unwrap_or(0);
            while buf.len() < header_end + length {
                let n = stream.read(&mut chunk).await.unwrap();
                assert!(n > 0, "body ended early");
                buf.extend_from_slice(&chunk[..n]);
            }
            let request_body: Value =
                serde_json::from_slice(&buf[header_end..header_end + length]).unwrap();
            log.lock().unwrap().push(Recorded {
                request_line,
                headers,
                body: request_body,
            });
            let response = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(response.as_bytes()).await.unwrap();
            stream.shutdown().await.unwrap();
        }
    });
    (base, recorded)
}

fn answer(finish_reason: &str, document: &Value) -> String {
    json!({
        "candidates": [{
            "content": {"role": "model", "parts": [
                {"text": "Let me think.", "thought": true},
                {"text": document.to_string()}
            ]},
            "finishReason": finish_reason,
            "index": 0
        }],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}
    })
    .to_string()
}

fn document() -> Value {
    json!({
        "summary": "A clear, well-structured interview.",
        "strengths": ["Concrete numbers", "Calm delivery"],
        "areasToImprove": ["Say more about trade-offs"]
    })
}

fn transcript() -> Vec<TranscriptEntry> {
    vec![
        TranscriptEntry {
            sequence: 0,
            speaker: Speaker::Ai,
            text: "Tell me about yourself.".into(),
            start_ms: 0,
            end_ms: 2_000,
            interrupted: false,
            heard_text: None,
        },
        TranscriptEntry {
            sequence: 1,
            speaker: Speaker::User,
            text: "I build backends in Rust.".into(),
            start_ms: 2_500,
            end_ms: 5_000,
            interrupted: false,
            heard_text: None,
        },
    ]
}

fn client(base: &str) -> FeedbackClient {
    FeedbackClient::new("feedback-key", Some(base))
        .with_backoff(Duration::from_millis(10), Duration::from_millis(40))
}

#[tokio::test]
async fn success_parses_feedback_and_sends_schema() {
    let (base, recorded) = responder(vec![(200, answer("STOP", &document()))]).await;
    let feedback = client(&base)
        .generate(
            "a calm manager",
            "Backend engineer",
            "Jo Doe",
            &transcript(),
        )
        .await
        .unwrap();
    assert_eq!(feedback.summary, "A clear, well-structured interview.");
    assert_eq!(
        feedback.strengths,
        vec!["Concrete numbers", "Calm delivery"]
    );
    assert_eq!(feedback.areas_to_improve, vec!["Say more about trade-offs"]);
    assert_eq!(feedback.source, FeedbackSource::Gemini);

    let requests = recorded.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(
        r.request_line,
        "POST /v1beta/models/gemini-3.8-flash:generateContent HTTP/1.1"
    );
    assert_eq!(r.header("x-goog-api-key"), Some("feedback-key"));
    assert!(
        !r.request_line.contains("key="),
        "the key is never in the URL"
    );
    let config = &r.body["generationConfig"];
    // The current default model deprecated the sampling fields; nothing is stored.
    assert_eq!(r.body["store"], false);
    assert!(config.get("temperature").is_none(), "{config}");
    assert_eq!(config["responseMimeType"], "application/json");
    assert_eq!(config["responseSchema"]["type"], "OBJECT");
    assert_eq!(
        config["responseSchema"]["properties"]["summary"]["type"],
        "STRING"
    );
    assert_eq!(
        config["responseSchema"]["properties"]["strengths"]["items"]["type"],
        "STRING"
    );
    assert_eq!(
        config["responseSchema"]["properties"]["areasToImprove"]["type"],
        "ARRAY"
    );
    assert_eq!(
        config["responseSchema"]["required"],
        json!([
            "summary",
            "strengths",
            "areasToImprove",
            "questionNotes",
            "scores"
        ])
    );
    let prompt = r.body["contents"][0]["parts"][0]["text"].as_str().unwrap();
    assert!(prompt.contains("Interviewer: Tell me about yourself."));
    assert!(prompt.contains("Candidate: I build backends in Rust."));
    assert!(prompt.contains("Backend engineer") && prompt.contains("Jo Doe"));
}

#[tokio::test]
async fn finish_reason_safety_is_an_error() {
    let (base, recorded) = responder(vec![(200, answer("SAFETY", &document()))]).await;
    let err = client(&base)
        .generate("p", "jd", "cv", &transcript())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FeedbackError::FinishReason(r) if r == "SAFETY"),
        "{err:?}"
    );
    assert_eq!(recorded.lock().unwrap().len(), 1, "not retried");
}

#[tokio::test]
async fn blocked_prompt_is_an_error() {
    let body = json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}).to_string();
    let (base, _) = responder(vec![(200, body)]).await;
    let err = client(&base)
        .generate("p", "jd", "cv", &transcript())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FeedbackError::Blocked { reason } if reason == "PROHIBITED_CONTENT"),
        "{err:?}"
    );
}

#[tokio::test]
async fn unavailable_then_success_is_retried() {
    let (base, recorded) = responder(vec![
        (
            503,
            json!({"error": {"code": 503, "status": "UNAVAILABLE"}}).to_string(),
        ),
        (200, answer("STOP", &document())),
    ])
    .await;
    let feedback = client(&base)
        .generate("p", "jd", "cv", &transcript())
        .await
        .unwrap();
    assert_eq!(feedback.strengths.len(), 2);
    let requests = recorded.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].body, requests[1].body,
        "the same request is sent again"
    );
}

#[tokio::test]
async fn retries_stop_after_three_attempts_and_client_errors_are_not_retried() {
    let busy = json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}).to_string();
    let (base, recorded) =
        responder(vec![(429, busy.clone()), (500, busy.clone()), (503, busy)]).await;
    let err = client(&base)
        .generate("p", "jd", "cv", &transcript())
        .await
        .unwrap_err();
    assert!(
        matches!(err, FeedbackError::Http { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(recorded.lock().unwrap().len(), 3);

    let (base, recorded) =
        responder(vec![(400, json!({"error": {"code": 400}}).to_string())]).await;
    let err = client(&base)
        .generate("p", "jd", "cv", &transcript())
        .await
        .unwrap_err();
    assert!(
        matches!(err, FeedbackError::Http { status: 400, .. }),
        "{err:?}"
    );
    assert_eq!(recorded.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn malformed_document_is_an_error() {
    let bad = answer("STOP", &json!({"summary": "only a summary"}));
    let (base, _) = responder(vec![(200, bad)]).await;
    let err = client(&base)
        .generate("p", "jd", "cv", &transcript())
        .await
        .unwrap_err();
    assert!(matches!(err, FeedbackError::Malformed(_)), "{err:?}");
}
