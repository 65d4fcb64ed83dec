//! What the integration tests share: fixture paths, a free port, the `preppal interview`
//! command line and the JSON API as one signed-in user.
//!
//! Each test binary compiles this module and uses a part of it, hence `dead_code`.

#![allow(dead_code)]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use preppal_examples::cli::InterviewArgs;
use preppal_examples::server::{spawn, Running, ServeArgs};
use preppal_gemini::simulator::SimulatorHandle;
use serde_json::{json, Value};
use tokio::net::TcpStream;

/// A path under the top-level `fixtures/` directory.
pub(crate) fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(rel)
}

/// The bytes of a file under `examples/tests/fixtures/`; panics naming the path when
/// it cannot be read.
pub(crate) fn test_fixture(rel: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The bytes of a PDF under `examples/tests/fixtures/pdf/`.
pub(crate) fn pdf_fixture(name: &str) -> Vec<u8> {
    test_fixture(&format!("pdf/{name}"))
}

/// The bytes of a file under `examples/tests/fixtures/oidc/`.
pub(crate) fn oidc_fixture(name: &str) -> Vec<u8> {
    test_fixture(&format!("oidc/{name}"))
}

/// A loopback TCP port that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `preppal interview` command line, parsed on its own.
#[derive(Parser)]
pub(crate) struct InterviewCli {
    #[command(flatten)]
    pub(crate) args: InterviewArgs,
}

/// `preppal interview` against `server` (an `http://` URL) with the backend-engineer job
/// description and resume from the fixtures, then the `extra` arguments.
pub(crate) fn interview_args(server: &str, extra: &[&str]) -> InterviewArgs {
    let job = fixture("interviews/backend-engineer.jd.txt");
    let resume = fixture("interviews/backend-engineer.resume.txt");
    let mut argv: Vec<String> = vec![
        "interview".into(),
        "--server".into(),
        server.into(),
        "--job".into(),
        job.display().to_string(),
        "--resume".into(),
        resume.display().to_string(),
    ];
    argv.extend(extra.iter().map(|s| (*s).to_owned()));
    InterviewCli::parse_from(argv).args
}

/// Signs in through `POST {server}/api/auth/dev` with `body` (at least `email`); the
/// session token.
pub(crate) async fn sign_in_as(server: &str, body: Value) -> String {
    let v: Value = reqwest::Client::new()
        .post(format!("{server}/api/auth/dev"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["session_token"].as_str().unwrap().to_owned()
}

/// Signs in as `email`; the session token.
pub(crate) async fn sign_in(server: &str, email: &str) -> String {
    sign_in_as(server, json!({ "email": email })).await
}

/// `POST {server}/api/{procedure}` with `token` as the bearer; the status and the JSON
/// reply (`Null` when it is not JSON).
pub(crate) async fn api(server: &str, token: &str, procedure: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{server}/api/{procedure}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The server in this process, offline on a free loopback port with its data in `data`,
/// with the simulator `sim` as its Gemini Live model and its REST endpoint (feedback).
pub(crate) async fn spawn_with_simulator(sim: &SimulatorHandle, data: &Path) -> Running {
    let mut args = ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data.to_path_buf());
    args.gemini.url = Some(sim.url());
    args.gemini.rest_url = Some(sim.rest_url());
    spawn(&args).await.unwrap()
}

/// The JSON API of a server at `base` as one signed-in user.
pub(crate) struct Api {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) token: String,
}

impl Api {
    /// Signs in as `email` through `POST /api/auth/dev`.
    pub(crate) async fn sign_in(base: &str, email: &str) -> Self {
        // No pooled connections: each call opens its own, so a frozen one never stalls it.
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let v: Value = http
            .post(format!("{base}/api/auth/dev"))
            .json(&json!({ "email": email }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Self {
            http,
            base: base.to_owned(),
            token: v["session_token"].as_str().unwrap().to_owned(),
        }
    }

    /// `POST /api/{procedure}`; the status and the JSON reply (`Null` when unreachable).
    pub(crate) async fn call(&self, procedure: &str, body: Value) -> (u16, Value) {
        match self
            .http
            .post(format!("{}/api/{procedure}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
        {
            Ok(r) => (r.status().as_u16(), r.json().await.unwrap_or(Value::Null)),
            Err(_) => (0, Value::Null),
        }
    }

    /// Creates a 10-minute interview for `job_description` and `resume`; its id.
    pub(crate) async fn create_interview(&self, job_description: &str, resume: &str) -> String {
        let (s, v) = self
            .call(
                "interview.createSession",
                json!({ "idempotency_key": uuid::Uuid::new_v4().to_string(),
                        "job_description": job_description,
                        "resume": resume,
                        "duration_minutes": 10 }),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }
}

/// A `preppal serve` process (SQLite under its data directory), killed when dropped. Its
/// log goes to `server-N.log` in the data directory and is printed when a test fails.
pub(crate) struct ServeProcess {
    pub(crate) child: Child,
    pub(crate) port: u16,
    pub(crate) log: PathBuf,
    /// Longest wait for it to listen, and later to exit.
    wait: Duration,
}

impl ServeProcess {
    /// Starts `preppal serve` on `127.0.0.1:{port}` with its data in `data`, the Gemini
    /// Live model at `model_url`, `--reconnect-grace-secs {grace_secs}`,
    /// `--drain-timeout-secs {drain_secs}` and then the `extra` arguments; waits up to
    /// `wait` for it to listen. `PREPPAL_SERVER_BIN` runs another build (an older one, to
    /// see the tests fail); by default the one built with the tests.
    pub(crate) async fn spawn(
        port: u16,
        data: &Path,
        model_url: &str,
        grace_secs: u64,
        drain_secs: u64,
        extra: &[&str],
        wait: Duration,
    ) -> Self {
        let n = std::fs::read_dir(data).map(|d| d.count()).unwrap_or(0);
        let log = data.join(format!("server-{n}.log"));
        let bin = std::env::var_os("PREPPAL_SERVER_BIN").map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_preppal")),
            PathBuf::from,
        );
        let child = Command::new(bin)
            .args([
                "serve",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(data)
            .args(["--reconnect-grace-secs", &grace_secs.to_string()])
            .args(["--drain-timeout-secs", &drain_secs.to_string()])
            .args(extra)
            .env("PREPPAL_GEMINI_URL", model_url)
            .env("RUST_LOG", "info")
            .env_remove("GEMINI_API_KEY")
            .env_remove("PREPPAL_DATABASE_URL")
            .env_remove("PREPPAL_GEMINI_REST_URL")
            .env_remove("PREPPAL_RECONNECT_GRACE_SECS")
            .env_remove("PREPPAL_TEXT_MESSAGES_PER_SECOND")
            .env_remove("PREPPAL_TEXT_MESSAGE_BURST")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let server = Self {
            child,
            port,
            log,
            wait,
        };
        let until = Instant::now() + wait;
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < until, "the server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    /// `http://127.0.0.1:{port}`.
    pub(crate) fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the server has logged so far.
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends the signal `sig` (as `kill` spells it, e.g. `-TERM`).
    pub(crate) fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }

    /// Waits for the process to exit; its exit status.
    pub(crate) async fn wait_exit(&mut self) -> ExitStatus {
        let until = Instant::now() + self.wait;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < until, "the server did not exit");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- {} ---\n{}", self.log.display(), self.log_text());
        }
    }
}
