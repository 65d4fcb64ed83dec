//! The JSON API client: `POST {server}/api/<procedure>` with a JSON body, signed in with
//! the dev session token as `Authorization: Bearer …`.

use std::time::Duration;

use anyhow::Context as _;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::{debug, warn};

use crate::api::auth::{DevSession, DevSignIn};
use crate::api::errors::ErrorBody;
use crate::api::feedback::FeedbackReply;
use crate::api::interview::{CreateSession, InterviewId, InterviewView, Transcript, WorkerToken};
use preppal_store::Interview;

/// Time limit of one HTTP call.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call to the server's JSON API failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request did not get an answer (connection refused, reset, timed out).
    /// `interview.createSession` is retried once with the same idempotency key.
    #[error("{procedure}: no answer from the server")]
    Network {
        /// The procedure called, e.g. `interview.getById`.
        procedure: String,
        /// What went wrong.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with a non-2xx status and its `{"error": {code, message}}`.
    #[error("{procedure}: the server refused with HTTP {status} {code}: {message}")]
    Rejected {
        /// The procedure called.
        procedure: String,
        /// The HTTP status.
        status: u16,
        /// The error code (the reason phrase when the body is not an [`ErrorBody`]).
        code: String,
        /// The error message (the start of the body when it is not an [`ErrorBody`]).
        message: String,
    },
    /// The server answered 2xx with a body that is not the expected JSON.
    #[error("{procedure}: unexpected reply: {message}")]
    InvalidReply {
        /// The procedure called.
        procedure: String,
        /// Why the body could not be read.
        message: String,
    },
}

/// The interview plan's choices a client asks `interview.createSession` for (`None`: the
/// server's default).
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanChoice<'a> {
    /// `behavioral`, `technical`, `system_design` or `mixed`.
    pub round_type: Option<&'a str>,
    /// `junior`, `mid`, `senior` or `staff`.
    pub difficulty: Option<&'a str>,
}

/// A client of the server's JSON API, signed in after [`ApiClient::sign_in`] (the
/// command-line client and the load generator of `preppal loadtest`).
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    session_token: Option<String>,
}

impl ApiClient {
    /// A client of the server at base URL `server`, calls limited to 30 s each.
    ///
    /// # Errors
    /// The HTTP client cannot be built (no TLS backend).
    pub fn new(server: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            http,
            base: server.trim_end_matches('/').to_owned(),
            session_token: None,
        })
    }

    /// `POST /api/auth/dev` as `email`; the user's name is the part before `@`.
    ///
    /// # Errors
    /// As [`ApiClient::call`].
    pub async fn sign_in(&mut self, email: &str) -> Result<(), ApiError> {
        let name = email.split('@').next().unwrap_or(email);
        let input = DevSignIn {
            email: email.to_owned(),
            name: Some(name.to_owned()),
        };
        let session: DevSession = self.call("auth/dev", &input).await?;
        self.session_token = Some(session.session_token);
        Ok(())
    }

    /// `interview.createSession` with a fresh idempotency key, retried once with the same
    /// key after a network error (the server then returns the interview it created).
    ///
    /// # Errors
    /// As [`ApiClient::call`].
    pub async fn create_session(
        &self,
        job_description: &str,
        resume: &str,
        persona: &str,
        duration_minutes: u32,
        plan: PlanChoice<'_>,
    ) -> Result<Interview, ApiError> {
        let idempotency_key = uuid::Uuid::new_v4().to_string();
        let body = CreateSession {
            idempotency_key: idempotency_key.clone(),
            job_description: Some(job_description.to_owned()),
            resume: Some(resume.to_owned()),
            persona: Some(persona.to_owned()),
            duration_minutes: Some(duration_minutes),
            round_type: plan.round_type.map(str::to_owned),
            difficulty: plan.difficulty.map(str::to_owned),
            ..CreateSession::default()
        };
        let reply: crate::api::interview::InterviewReply = match self
            .call("interview.createSession", &body)
            .await
        {
            Err(ApiError::Network { source, .. }) => {
                warn!(error = %source, %idempotency_key, "createSession got no answer; retrying once with the same idempotency key");
                self.call("interview.createSession", &body).await
            }
            other => other,
        }?;
        Ok(reply.0)
    }

    /// `interview.generateWorkerToken`: a 5-minute token for the interview's socket.
    ///
    /// # Errors
    /// As [`ApiClient::call`].
    pub async fn worker_token(&self, interview_id: &str) -> Result<WorkerToken, ApiError> {
        self.call(
            "interview.generateWorkerToken",
            &InterviewId::new(interview_id),
        )
        .await
    }

    /// `interview.generateWsToken`: a 1-hour token for the interview's socket.
    ///
    /// # Errors
    /// As [`ApiClient::call`].
    pub async fn ws_token(&self, interview_id: &str) -> Result<WorkerToken, ApiError> {
        self.call("interview.generateWsToken", &InterviewId::new(interview_id))
            .await
    }

    /// `interview.getById`.
    ///
    /// # Errors
    /// As [`ApiClient::call`].
    pub async fn interview(&self, interview_id: &str) -> Result<InterviewView, ApiError> {
        self.call("interview.getById", &InterviewId::new(interview_id))
            .await
    }

    /// `interview.getTranscript`.
    ///
    /// # Errors
    /// As [`ApiClient::call`].
    pub async fn transcript(&self, interview_id: &str) -> Result<Transcript, ApiError> {
        self.call("interview.getTranscript", &InterviewId::new(interview_id))
            .await
    }

    /// `interview.getFeedback`.
    ///
    /// # Errors
    /// As [`ApiClient::call`].
    pub async fn feedback(&self, interview_id: &str) -> Result<FeedbackReply, ApiError> {
        self.call("interview.getFeedback", &InterviewId::new(interview_id))
            .await
    }

    /// Calls the JSON procedure `procedure` (`POST /api/{procedure}`) with `body`, signed
    /// in when [`ApiClient::sign_in`] succeeded.
    ///
    /// # Errors
    /// [`ApiError::Network`] without an answer, [`ApiError::Rejected`] for a non-2xx
    /// status, [`ApiError::InvalidReply`] for a reply that is not the expected JSON.
    pub async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        procedure: &str,
        body: &B,
    ) -> Result<R, ApiError> {
        let procedure = procedure.to_owned();
        let mut request = self
            .http
            .post(format!("{}/api/{procedure}", self.base))
            .json(body);
        if let Some(token) = &self.session_token {
            request = request.bearer_auth(token);
        }
        debug!(%procedure, "calling");
        let response = request.send().await.map_err(|source| ApiError::Network {
            procedure: procedure.clone(),
            source,
        })?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|source| ApiError::Network {
            procedure: procedure.clone(),
            source,
        })?;
        if !status.is_success() {
            let (code, message) = match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(e) => (e.error.code, e.error.message),
                Err(_) => (
                    status.canonical_reason().unwrap_or("error").to_owned(),
                    String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
                ),
            };
            return Err(ApiError::Rejected {
                procedure,
                status: status.as_u16(),
                code,
                message,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| ApiError::InvalidReply {
            procedure,
            message: e.to_string(),
        })
    }
}
