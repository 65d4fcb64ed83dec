//! `POST /api/document.extractText`: the text of an uploaded PDF, and a typed 4xx for
//! everything else. In process on the router, with the PDFs of `tests/fixtures/pdf/`
//! (made by `make_pdfs.py` there).

#![allow(clippy::unwrap_used)]

mod common;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use common::pdf_fixture;
use preppal_examples::server::web::document::MAX_PDF_BYTES;
use preppal_examples::server::{build, ServeArgs, Server};
use serde_json::{json, Value};
use tower::ServiceExt;

async fn server() -> (Server, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let args = ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data.path().into());
    (build(&args).await.unwrap(), data)
}

async fn sign_in(s: &Server) -> String {
    let req = Request::post("/api/auth/dev")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({ "email": "pdf@example.com" }).to_string(),
        ))
        .unwrap();
    let resp = s.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value =
        serde_json::from_slice(&to_bytes(resp.into_body(), 1 << 20).await.unwrap()).unwrap();
    v["session_token"].as_str().unwrap().to_owned()
}

/// POSTs `body` as `content_type` to the procedure; returns the status and the JSON reply.
async fn extract(
    s: &Server,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = Request::post("/api/document.extractText")
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::CONTENT_TYPE, content_type);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let resp = s
        .router
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_pdf_resume_comes_back_as_its_text() {
    let (s, _d) = server().await;
    let t = sign_in(&s).await;
    let (st, v) = extract(&s, Some(&t), "application/pdf", pdf_fixture("resume.pdf")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["pages"], 1);
    let text = v["text"].as_str().unwrap();
    // Every line of the page, in order, and nothing but whitespace between them.
    let expected = [
        "Riley Quinn (fictional candidate)",
        "Backend engineer, Porto, Portugal",
        "Summary",
        "Backend engineer with six years of Rust and Go services.",
        "Senior Engineer, Harbourline (2021 - present)",
        "Cut p99 latency of the quote service from 310 ms to 42 ms with tokio and axum.",
        "Rust, Go, PostgreSQL, Kafka, Kubernetes, OpenTelemetry.",
    ];
    let mut at = 0;
    for line in expected {
        let found = text[at..]
            .find(line)
            .unwrap_or_else(|| panic!("{line:?} missing after byte {at} of {text:?}"));
        at += found + line.len();
    }
    assert_eq!(text, text.trim());
    // The same bytes as application/octet-stream read the same.
    let (st, v2) = extract(
        &s,
        Some(&t),
        "application/octet-stream",
        pdf_fixture("resume.pdf"),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v2, v);
}

#[tokio::test]
async fn what_is_not_a_pdf_is_415_and_an_empty_file_400() {
    let (s, _d) = server().await;
    let t = sign_in(&s).await;
    let (st, v) = extract(
        &s,
        Some(&t),
        "application/pdf",
        b"Jordan Avery\nBackend engineer".to_vec(),
    )
    .await;
    assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    assert_eq!(code(&v), "NOT_A_PDF");
    // A PNG's signature is not a PDF either.
    let (st, v) = extract(
        &s,
        Some(&t),
        "application/pdf",
        b"\x89PNG\r\n\x1a\n".to_vec(),
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "NOT_A_PDF")
    );
    let (st, v) = extract(&s, Some(&t), "application/pdf", Vec::new()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(code(&v), "EMPTY_FILE");
}

#[tokio::test]
async fn a_file_over_the_limit_is_413() {
    let (s, _d) = server().await;
    let t = sign_in(&s).await;
    let mut big = pdf_fixture("resume.pdf");
    big.resize(MAX_PDF_BYTES + 1, b' ');
    let (st, v) = extract(&s, Some(&t), "application/pdf", big).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(code(&v), "PAYLOAD_TOO_LARGE");
    // Exactly at the limit the body is taken and read (whatever the parser makes of 4 MiB
    // of trailing spaces).
    let mut edge = pdf_fixture("resume.pdf");
    edge.resize(MAX_PDF_BYTES, b' ');
    let (st, v) = extract(&s, Some(&t), "application/pdf", edge).await;
    assert_ne!(st, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(
        st == StatusCode::OK || code(&v).starts_with("PDF_"),
        "{st} {v}"
    );
}

#[tokio::test]
async fn a_password_protected_pdf_is_422_pdf_encrypted() {
    let (s, _d) = server().await;
    let t = sign_in(&s).await;
    let (st, v) = extract(
        &s,
        Some(&t),
        "application/pdf",
        pdf_fixture("encrypted.pdf"),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(code(&v), "PDF_ENCRYPTED");
    assert!(v["error"]["message"].as_str().unwrap().contains("password"));
}

#[tokio::test]
async fn a_pdf_without_text_is_422_pdf_no_text() {
    let (s, _d) = server().await;
    let t = sign_in(&s).await;
    let (st, v) = extract(&s, Some(&t), "application/pdf", pdf_fixture("no-text.pdf")).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(code(&v), "PDF_NO_TEXT");
}

#[tokio::test]
async fn damaged_pdfs_are_refused_with_a_4xx_never_a_5xx() {
    let (s, _d) = server().await;
    let t = sign_in(&s).await;
    let good = pdf_fixture("resume.pdf");
    let mut cases: Vec<Vec<u8>> = Vec::new();
    // Cut short at many points.
    for cut in (8..good.len()).step_by(53) {
        cases.push(good[..cut].to_vec());
    }
    // A byte changed at many points (a deterministic walk, no randomness).
    for (i, at) in (9..good.len()).step_by(41).enumerate() {
        let mut b = good.clone();
        b[at] = b"0(<[/)>]9 \n%"[i % 12];
        cases.push(b);
    }
    // Streams and objects that lie about themselves.
    cases.push(b"%PDF-1.4\n1 0 obj << /Length 999999 >> stream\nabc\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF".to_vec());
    cases.push(
        b"%PDF-1.7\nxref\n0 1\n0000000000 65535 f \ntrailer << /Size 1 >>\nstartxref\n9\n%%EOF"
            .to_vec(),
    );
    let mut read = 0;
    for (i, body) in cases.into_iter().enumerate() {
        let (st, v) = extract(&s, Some(&t), "application/pdf", body).await;
        if st == StatusCode::OK {
            read += 1;
            continue;
        }
        assert!(st.is_client_error(), "case {i}: {st} {v}");
        assert!(
            code(&v).starts_with("PDF_") || code(&v) == "NOT_A_PDF",
            "case {i}: {v}"
        );
    }
    // Some damage is survivable (a changed letter in the text); most is not.
    assert!(read > 0, "no damaged case was readable at all");
}

#[tokio::test]
async fn extraction_needs_a_session() {
    let (s, _d) = server().await;
    let (st, v) = extract(&s, None, "application/pdf", pdf_fixture("resume.pdf")).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
}
