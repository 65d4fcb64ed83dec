//! PostgreSQL restarts mid-interview: `preppal serve --database-url postgres://...` on a
//! fresh database holds a text interview with the command-line client, the Gemini Live
//! simulator as the model; once the store holds the first exchanges, the PostgreSQL cluster
//! is restarted (`pg_ctlcluster ... restart`). The interview goes on, ends COMPLETED, and the
//! stored transcript is what the simulator said (its script) and heard (the answers), each
//! entry once, in order. The recovery time is printed, not asserted.
//!
//! Restarts the whole PostgreSQL cluster, so this binary holds one test only. Needs the
//! command that restarts it in `PREPPAL_TEST_POSTGRES_RESTART` (`.ci/setup` sets it), or
//! root (for `pg_ctlcluster`), and the PostgreSQL server at `PREPPAL_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); the test makes its own database and drops
//! it after.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::interview_args;
use preppal_examples::cli::hold_interview;
use preppal_examples::server::{spawn, ServeArgs};
use preppal_gemini::simulator::{InterviewScript, Simulator, SimulatorConfig, SpeechMode};
use preppal_store::testing::PgTestDatabase;
use serde_json::Value;

/// The candidate answers the first question, hears the second and ends the interview (the
/// simulator's lines are held for their playback time, so each lasts some seconds).
const ANSWERS: [&str; 1] = ["I rewrote the tracking fan-out service in Rust."];

/// Runs `sql` with psql against `url`; `None` when psql fails (the server is down).
fn psql_at(url: &str, sql: &str) -> Option<String> {
    let out = Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-tA", "-c", sql])
        .output()
        .expect("psql is installed");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The test's own database ([`PgTestDatabase`], dropped when the test ends, pass or fail).
struct TestDb(PgTestDatabase);

impl TestDb {
    fn url(&self) -> String {
        self.0.url()
    }

    /// How many transcript entries are stored (over all interviews); `None` while the
    /// server is down.
    fn stored_entries(&self) -> Option<usize> {
        psql_at(&self.url(), "SELECT count(*) FROM transcript_entries").and_then(|n| n.parse().ok())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // The server may still be coming back after a failed run; the fixture drops the
        // database once this returns.
        wait_ready(Duration::from_secs(30));
    }
}

/// Polls `pg_isready` until PostgreSQL accepts connections; returns whether it did.
fn wait_ready(limit: Duration) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        let ready = Command::new("pg_isready")
            .args(["-d", &PgTestDatabase::server_url(), "-q"])
            .status()
            .is_ok_and(|s| s.success());
        if ready {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Restarts the PostgreSQL cluster the tests use and waits until it accepts connections
/// again: the command in `PREPPAL_TEST_POSTGRES_RESTART` when set (`.ci/setup` sets it for
/// the cluster it started), else the local system cluster (the first version under
/// /etc/postgresql, cluster `main`).
fn restart_postgres() {
    if let Some(command) = std::env::var("PREPPAL_TEST_POSTGRES_RESTART")
        .ok()
        .filter(|c| !c.trim().is_empty())
    {
        let out = Command::new("sh")
            .args(["-c", &command])
            .output()
            .expect("sh is installed");
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(wait_ready(Duration::from_secs(30)), "PostgreSQL came back");
        return;
    }
    let version = std::fs::read_dir("/etc/postgresql")
        .expect("PostgreSQL is installed from Debian's packages")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .min()
        .expect("a PostgreSQL version");
    let out = Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", &version, "main", "restart"])
        .output()
        .expect("pg_ctlcluster is installed");
    assert!(
        out.status.success(),
        "pg_ctlcluster restart: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(wait_ready(Duration::from_secs(30)), "PostgreSQL came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_mid_interview_loses_nothing() {
    // The simulator holds each turn for its line's playback time, so the interview lasts
    // several seconds and the restart lands in the middle of it.
    let sim = Simulator::start(SimulatorConfig::default().with_voice(SpeechMode::Silence))
        .await
        .unwrap();
    let db = TestDb(
        PgTestDatabase::create()
            .await
            .expect("a PostgreSQL server for the test database"),
    );
    let data = tempfile::tempdir().unwrap();
    let mut args = ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data.path().to_path_buf());
    args.gemini.url = Some(sim.url());
    args.database_url = Some(db.url());
    let server = spawn(&args).await.unwrap();

    let answers = data.path().join("answers.txt");
    std::fs::write(&answers, ANSWERS.join("\n")).unwrap();
    let args = interview_args(
        &server.url(),
        &["--answers", &answers.display().to_string(), "--json"],
    );
    let interview = tokio::spawn(async move { hold_interview(&args).await.unwrap() });

    // Once the first question and answer are stored, PostgreSQL restarts while the second
    // question is being spoken (its turn is held for the line's playback time, some
    // seconds, during which the open turn is stored every few seconds, with retries).
    let restart = {
        let url = db.url();
        tokio::task::spawn_blocking(move || {
            let count = || {
                psql_at(&url, "SELECT count(*) FROM transcript_entries")
                    .and_then(|n| n.parse::<usize>().ok())
            };
            let t0 = Instant::now();
            while count().unwrap_or(0) < 2 {
                assert!(t0.elapsed() < Duration::from_secs(30), "entries stored");
                std::thread::sleep(Duration::from_millis(50));
            }
            let before = count().unwrap();
            let restart_at = Instant::now();
            restart_postgres();
            let back_after = restart_at.elapsed();
            // The first row stored after the restart: the store is in use again.
            while count().unwrap_or(0) <= before {
                assert!(
                    restart_at.elapsed() < Duration::from_secs(60),
                    "nothing stored after the restart"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            (before, back_after, restart_at.elapsed())
        })
    };

    let report = interview.await.unwrap();
    let (before, back_after, writing_after) = restart.await.unwrap();
    server.stop();

    assert_eq!(report.status, "COMPLETED", "{report:?}");
    assert!(
        report.transcript.len() > before,
        "the restart came before the end: {before} entries stored then"
    );

    // What the simulator said (its script, in order) and heard (each answer), once each.
    let recorded = sim.recorded();
    let instruction = recorded
        .iter()
        .flatten()
        .find_map(|m| m.pointer("/setup/systemInstruction/parts/0/text"))
        .and_then(Value::as_str)
        .expect("a setup");
    let script =
        InterviewScript::from_instruction(instruction, SimulatorConfig::default().questions);
    // Each question and the answer to it; the line after the last answer is the last one.
    let mut expected = Vec::new();
    for (i, line) in script.lines.iter().take(ANSWERS.len() + 1).enumerate() {
        expected.push(("AI".to_owned(), line.trim().to_owned()));
        if let Some(a) = ANSWERS.get(i) {
            expected.push(("USER".to_owned(), (*a).to_owned()));
        }
    }
    let got: Vec<(String, String)> = report
        .transcript
        .iter()
        .map(|e| (e.speaker.clone(), e.text.trim().to_owned()))
        .collect();
    assert_eq!(got, expected);
    for w in report.transcript.windows(2) {
        assert!(w[0].start_ms <= w[1].start_ms, "{:?}", report.transcript);
    }
    let heard: Vec<&str> = recorded
        .iter()
        .flatten()
        .filter_map(|m| m.pointer("/realtimeInput/text").and_then(Value::as_str))
        .collect();
    assert_eq!(heard, ANSWERS);
    // The database itself holds the same entries, once each.
    assert_eq!(db.stored_entries(), Some(expected.len()));
    let sequences = psql_at(
        &db.url(),
        "SELECT string_agg(sequence::text, ',' ORDER BY sequence) FROM transcript_entries",
    )
    .unwrap();
    let want: Vec<String> = (0..expected.len()).map(|i| i.to_string()).collect();
    assert_eq!(sequences, want.join(","));

    eprintln!(
        "postgres restart: {before} entries stored before it; PostgreSQL accepted connections again {back_after:?} after the restart began, and the first new row (an open or finished turn) was stored {writing_after:?} after it began"
    );
}
