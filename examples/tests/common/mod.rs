//! What the integration tests share: fixture paths, a free port, the `preppal interview`
//! command line and the JSON API as one signed-in user.
//!
//! Each test binary compiles this module and uses a part of it, hence `dead_code`.

#![allow(dead_code)]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use preppal_examples::cli::InterviewArgs;
use serde_json::{json, Value};

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
