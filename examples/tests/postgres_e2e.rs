//! The skeleton's interview on PostgreSQL: `preppal serve --database-url postgres://...`,
//! then `preppal export --database-url ...` after the server restarts.
//!
//! Needs the PostgreSQL server at `PREPPAL_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each run makes its own database and
//! drops it after.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{fixture, free_port};
use preppal_examples::cli::report::InterviewReport;
use preppal_store::testing::PgTestDatabase;

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(bin: &str, port: u16, data: &Path, db: &str) -> Server {
    let server = Server(
        Command::new(bin)
            .args([
                "serve",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                db,
                "--data-dir",
            ])
            .arg(data)
            .env_remove("GEMINI_API_KEY")
            .env_remove("PREPPAL_GEMINI_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server did not start");
}

#[test]
fn interview_on_postgres_survives_a_restart_and_exports() {
    let bin = env!("CARGO_BIN_EXE_preppal");
    // The runtime lives as long as the database fixture (its pool belongs to it).
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime
        .block_on(PgTestDatabase::create())
        .expect("a PostgreSQL server for the test database");
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = start_server(bin, port, data.path(), &db.url());
    let answers = data.path().join("answers.txt");
    std::fs::write(
        &answers,
        "I ran the on-call rotation for two years.\nWe wrote blameless postmortems.\n",
    )
    .unwrap();
    let out = Command::new(bin)
        .args([
            "interview",
            "--server",
            &format!("http://127.0.0.1:{port}"),
            "--job",
        ])
        .arg(fixture("interviews/product-manager.jd.txt"))
        .arg("--resume")
        .arg(fixture("interviews/product-manager.resume.txt"))
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
    let mut report: InterviewReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report.status, "COMPLETED");
    let users: Vec<_> = report
        .transcript
        .iter()
        .filter(|e| e.speaker == "USER")
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(
        users,
        [
            "I ran the on-call rotation for two years.",
            "We wrote blameless postmortems."
        ]
    );
    assert!(report.feedback.is_some());

    // Restart the server on the same database; export reads the same interview.
    drop(server);
    let _again = start_server(bin, port, data.path(), &db.url());
    let out = Command::new(bin)
        .arg("export")
        .arg(&report.interview_id)
        .args(["--format", "json", "--database-url", &db.url()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported: InterviewReport = serde_json::from_slice(&out.stdout).unwrap();
    // `answer_timing` is the live client's own clock, which an export does not have.
    report.answer_timing.clear();
    assert_eq!(
        serde_json::to_value(&exported).unwrap(),
        serde_json::to_value(&report).unwrap()
    );
}
