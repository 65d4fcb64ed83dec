//! A first run explains itself: `preppal serve` prints the URL to open and, with no
//! `GEMINI_API_KEY`, that the interviewer is the offline demo and how to get the real one;
//! `preppal interview` without `--job` / `--resume` uses the bundled sample job
//! description and resume, from any working directory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::fixture;
use preppal_examples::server::{spawn, ServeArgs};
use serde_json::Value;

/// How long a step may take before the test gives up (a hang guard, not an assertion on
/// speed).
const WAIT: Duration = Duration::from_secs(120);

/// `preppal` with no Gemini configuration from the environment of the test run.
fn preppal() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_preppal"));
    for var in [
        "GEMINI_API_KEY",
        "PREPPAL_GEMINI_URL",
        "PREPPAL_GEMINI_REST_URL",
        "PREPPAL_DATABASE_URL",
        "PREPPAL_DATA_DIR",
        "PREPPAL_SERVER",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Kills the child when the test ends, pass or fail.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_prints_the_url_to_open_and_the_offline_interviewer() {
    let data = tempfile::tempdir().unwrap();
    let mut child = preppal()
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        // The banner does not depend on the log level.
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _child = Killed(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx.recv_timeout(WAIT).expect("serve printed a line");
    let second = rx.recv_timeout(WAIT).expect("serve printed a second line");

    let url = first
        .strip_prefix("Preppal is running: open ")
        .unwrap_or_else(|| panic!("the first line names the URL: {first:?}"));
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
        "{url}"
    );
    assert!(
        !url.ends_with(":0/"),
        "the URL has the port actually bound: {url}"
    );
    assert!(second.contains("offline demo"), "{second}");
    assert!(second.contains("does not understand"), "{second}");
    assert!(second.contains("GEMINI_API_KEY"), "{second}");

    // The URL printed is the one that answers.
    let client = reqwest::Client::builder().timeout(WAIT).build().unwrap();
    let health = client.get(format!("{url}healthz")).send().await.unwrap();
    assert!(health.status().is_success(), "{}", health.status());
    let page = client.get(url).send().await.unwrap();
    assert!(page.status().is_success(), "{}", page.status());
    assert!(page.text().await.unwrap().contains("<html"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interview_without_job_or_resume_uses_the_bundled_samples() {
    let data = tempfile::tempdir().unwrap();
    let args = ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data.path().to_path_buf());
    let server = spawn(&args).await.unwrap();

    // Run from a directory that holds none of the repository's files.
    let elsewhere = tempfile::tempdir().unwrap();
    let answers = elsewhere.path().join("answers.txt");
    std::fs::write(
        &answers,
        "I rewrote the tracking fan-out service in Rust.\n",
    )
    .unwrap();
    let mut cmd = preppal();
    cmd.current_dir(elsewhere.path())
        .args([
            "interview",
            "--server",
            &server.url(),
            "--answers",
            "answers.txt",
        ])
        .args(["--json", "--speed", "0", "--timeout-secs", "300"])
        .env("RUST_LOG", "warn");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "preppal interview failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "COMPLETED", "{report}");
    let id = report["interview_id"].as_str().unwrap();

    let stored = server.state.store.get_interview_unscoped(id).await.unwrap();
    let job = std::fs::read_to_string(fixture("interviews/backend-engineer.jd.txt")).unwrap();
    let resume =
        std::fs::read_to_string(fixture("interviews/backend-engineer.resume.txt")).unwrap();
    assert_eq!(stored.job_description_snapshot, job);
    assert_eq!(stored.resume_snapshot, resume);
    server.stop();
}
