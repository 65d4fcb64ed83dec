//! While hostile PDFs are uploaded in a loop for 60 s, an honest interview on the same
//! `preppal serve` process completes with its full transcript, every upload gets a typed
//! 4xx (never a 5xx, never a dropped connection), the server's peak resident memory
//! (VmHWM) stays under 1 GiB, and no PDF reader is left running afterwards.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use common::{free_port, pdf_fixture, sign_in, InterviewCli};
use preppal_examples::cli::hold_interview;
use preppal_gemini::simulator::{Simulator, SimulatorConfig, SpeechMode};

const LOOP: Duration = Duration::from_secs(60);
const MEMORY_BOUND_KIB: u64 = 1024 * 1024;

/// A `/proc/{pid}/status` field in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Live (not zombie) children of `pid` named like the PDF reader or its wrappers.
fn reader_children(pid: u32) -> Vec<String> {
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
        if field("PPid:") == pid.to_string()
            && ["pdftotext", "prlimit", "nice"].contains(&name.as_str())
            && !field("State:").starts_with('Z')
        {
            found.push(format!("{} {name}", field("Pid:")));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_interview_completes_while_hostile_pdfs_are_uploaded_for_a_minute() {
    let sim = Simulator::start(
        SimulatorConfig::default()
            .with_voice(SpeechMode::Silence)
            .with_hold_turn_for_playback(false),
    )
    .await
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let log = data.path().join("server.log");
    let mut server = Command::new(env!("CARGO_BIN_EXE_preppal"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data.path())
        .env("PREPPAL_GEMINI_URL", sim.url())
        .env("RUST_LOG", "info")
        .env_remove("GEMINI_API_KEY")
        .env_remove("PREPPAL_DATABASE_URL")
        .env_remove("PREPPAL_GEMINI_REST_URL")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = server.id();
    let base = format!("http://127.0.0.1:{port}");
    let until = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < until, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Three attackers (three accounts), each uploading the hostile shapes in turn.
    let hostile: Arc<Vec<Vec<u8>>> = Arc::new(
        [
            "hostile-flate-bomb.pdf",
            "hostile-self-xobject.pdf",
            "hostile-page-cycle.pdf",
            "hostile-huge-text.pdf",
        ]
        .map(pdf_fixture)
        .to_vec(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut attackers = Vec::new();
    for n in 0..3 {
        let (hostile, stop, base) = (Arc::clone(&hostile), Arc::clone(&stop), base.clone());
        attackers.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap();
            let token = sign_in(&base, &format!("attacker{n}@example.com")).await;
            let mut statuses = Vec::new();
            let mut i = n;
            while !stop.load(Ordering::Relaxed) {
                let r = http
                    .post(format!("{base}/api/document.extractText"))
                    .bearer_auth(&token)
                    .header("content-type", "application/pdf")
                    .body(hostile[i % hostile.len()].clone())
                    .send()
                    .await;
                let status = match r {
                    Ok(r) => r.status().as_u16(),
                    Err(e) => panic!("upload failed: {e}"),
                };
                statuses.push(status);
                i += 1;
            }
            statuses
        }));
    }

    // The honest candidate, typing three answers.
    let answers = [
        "I rewrote the tracking fan-out service in Rust.",
        "We measured first, then rewrote the hot path.",
        "I ran the incident review and wrote the runbook.",
    ];
    let dir = data.path();
    std::fs::write(dir.join("answers.txt"), answers.join("\n")).unwrap();
    std::fs::write(
        dir.join("job.txt"),
        "Senior backend engineer: Rust, PostgreSQL, on-call, incident reviews.",
    )
    .unwrap();
    std::fs::write(
        dir.join("resume.txt"),
        "Five years of Rust services; led the tracking fan-out rewrite.",
    )
    .unwrap();
    let path = |f: &str| dir.join(f).display().to_string();
    let args = InterviewCli::parse_from([
        "interview",
        "--server",
        &base,
        "--job",
        &path("job.txt"),
        "--resume",
        &path("resume.txt"),
        "--answers",
        &path("answers.txt"),
        "--email",
        "honest@example.com",
        "--timeout-secs",
        "120",
    ])
    .args;
    let report = hold_interview(&args).await.unwrap();
    assert_eq!(report.status, "COMPLETED");
    let said: Vec<&str> = report
        .transcript
        .iter()
        .filter(|e| e.speaker == "USER")
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(said, answers, "every answer stored, in order");
    eprintln!(
        "honest interview completed after {} ms of hostile uploads",
        started.elapsed().as_millis()
    );

    let mut peak_rss = 0;
    while started.elapsed() < LOOP {
        peak_rss = peak_rss.max(status_kib(pid, "VmRSS:"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for a in attackers {
        all.extend(a.await.unwrap());
    }
    let hwm = status_kib(pid, "VmHWM:");
    let count = |c: u16| all.iter().filter(|s| **s == c).count();
    eprintln!(
        "{} uploads: {} x 422, {} x 429; server VmHWM {} KiB, sampled VmRSS peak {} KiB",
        all.len(),
        count(422),
        count(429),
        hwm,
        peak_rss
    );
    assert!(
        all.iter().all(|s| *s == 422 || *s == 429),
        "only typed 4xx: {all:?}"
    );
    assert!(count(422) >= 4, "the uploads were read: {all:?}");
    assert!(hwm > 0 && hwm < MEMORY_BOUND_KIB, "VmHWM {hwm} KiB");
    // Every request has been answered: no reader is left.
    let until = Instant::now() + Duration::from_secs(10);
    while !reader_children(pid).is_empty() {
        assert!(
            Instant::now() < until,
            "readers left running: {:?}",
            reader_children(pid)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = server.kill();
    let _ = server.wait();
}
