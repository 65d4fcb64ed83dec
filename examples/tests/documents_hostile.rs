//! Hostile PDFs against `POST /api/document.extractText`: each shape of
//! `tests/fixtures/pdf/make_pdfs.py` (a form that draws itself, a page-tree cycle, a
//! compression bomb, huge text) and one built here (one stream referenced 400 000 times)
//! gets a typed 4xx within the request's time, and no reader process is left running.
//! One test, run in order, so that the process's children are this test's alone (a
//! request dropped by its client kills its reader too).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use common::pdf_fixture;
use preppal_examples::server::web::document::EXTRACTION_TIMEOUT;
use preppal_examples::server::{build, ServeArgs, Server};
use serde_json::{json, Value};
use tower::ServiceExt;

/// A PDF whose one page's `/Contents` names the same text stream `refs` times (about 6
/// bytes a reference): a reader that does not stop at the text limit builds `refs` times
/// the stream's text.
pub fn one_stream_many_refs(refs: usize) -> Vec<u8> {
    let text = "BT /F1 9 Tf 10 TL 20 780 Td (One stream, referenced again and again.) Tj T* ET";
    let mut contents = String::with_capacity(refs * 6);
    for _ in 0..refs {
        contents.push_str("5 0 R ");
    }
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents [{contents}] >>"),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// Pids of this process's children that are the PDF reader or its wrappers.
fn reader_children() -> Vec<String> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let status = std::fs::read_to_string(e.path().join("status")).unwrap_or_default();
        let field = |k: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        let name = field("Name:");
        if field("PPid:") == me && ["pdftotext", "prlimit", "nice"].contains(&name.as_str()) {
            found.push(format!("{} {name} ({})", field("Pid:"), field("State:")));
        }
    }
    found
}

async fn sign_in(s: &Server) -> String {
    let req = Request::post("/api/auth/dev")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({ "email": "hostile@example.com" }).to_string(),
        ))
        .unwrap();
    let resp = s.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value =
        serde_json::from_slice(&to_bytes(resp.into_body(), 1 << 20).await.unwrap()).unwrap();
    v["session_token"].as_str().unwrap().to_owned()
}

async fn extract(s: &Server, token: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let req = Request::post("/api/document.extractText")
        .header(header::CONTENT_TYPE, "application/pdf")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body))
        .unwrap();
    let resp = s.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_pdf_gets_a_typed_4xx_in_time_and_leaves_nothing_running() {
    let data = tempfile::tempdir().unwrap();
    let args = ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data.path().into());
    let s = build(&args).await.unwrap();
    let token = sign_in(&s).await;
    let many_refs = one_stream_many_refs(400_000);
    assert!(many_refs.len() > 2_000_000 && many_refs.len() < 4 * 1024 * 1024);
    let cases: [(&str, Vec<u8>, &[&str]); 5] = [
        // poppler stops the recursion; what is left is a page without text.
        (
            "self-referencing form XObject",
            pdf_fixture("hostile-self-xobject.pdf"),
            &["PDF_NO_TEXT", "PDF_TOO_COMPLEX"],
        ),
        (
            "page that is its own parent",
            pdf_fixture("hostile-page-cycle.pdf"),
            &["PDF_UNREADABLE", "PDF_TOO_COMPLEX"],
        ),
        (
            "compression bomb (2.4 GB)",
            pdf_fixture("hostile-flate-bomb.pdf"),
            &["PDF_TOO_COMPLEX", "PDF_NO_TEXT"],
        ),
        (
            "huge text",
            pdf_fixture("hostile-huge-text.pdf"),
            &["PDF_TOO_MUCH_TEXT"],
        ),
        (
            "one stream referenced 400 000 times",
            many_refs,
            &["PDF_TOO_MUCH_TEXT", "PDF_TOO_COMPLEX"],
        ),
    ];
    for (what, body, codes) in cases {
        let t = Instant::now();
        let (st, v) = extract(&s, &token, body).await;
        let took = t.elapsed();
        eprintln!(
            "{what}: {st} {} in {} ms",
            v["error"]["code"],
            took.as_millis()
        );
        assert!(st.is_client_error(), "{what}: {st} {v}");
        let code = v["error"]["code"].as_str().unwrap_or_default();
        assert!(
            codes.contains(&code),
            "{what}: {code} not in {codes:?}: {v}"
        );
        // Within the request's time (plus the time to reap the killed reader).
        assert!(
            took < EXTRACTION_TIMEOUT + Duration::from_secs(5),
            "{what}: {took:?}"
        );
        assert_eq!(
            reader_children(),
            Vec::<String>::new(),
            "{what}: a reader is still running"
        );
    }
    // And the server still reads an honest PDF afterwards.
    let (st, v) = extract(&s, &token, pdf_fixture("resume.pdf")).await;
    assert_eq!(st, StatusCode::OK, "{v}");

    // A dropped request kills its reader: the client gives up after 1 s, the request's
    // future is dropped with the reader running, and kill_on_drop sends SIGKILL at once
    // (tokio reaps it soon after).
    let bomb = pdf_fixture("hostile-flate-bomb.pdf");
    let r = tokio::time::timeout(Duration::from_secs(1), extract(&s, &token, bomb)).await;
    assert!(r.is_err(), "the bomb was read within 1 s: {r:?}");
    let until = Instant::now() + Duration::from_secs(10);
    while !reader_children().iter().all(|c| c.contains("(Z")) {
        assert!(
            Instant::now() < until,
            "still running: {:?}",
            reader_children()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
