//! `preppal interview`: one whole mock interview against a running server.
//!
//! The flow, against the server's JSON API (`POST {server}/api/<router>.<procedure>`) and
//! the worker's interview socket:
//!
//! 1. `POST /api/auth/dev` signs in as a development user; the `session_token` goes in
//!    `Authorization: Bearer …` on every later call.
//! 2. `interview.createSession` with a fresh UUID v4 idempotency key (retried once with the
//!    same key after a network error), then `interview.generateWorkerToken` for the
//!    socket URL.
//! 3. On the socket (binary protobuf frames, `proto/interview.proto`): wait for
//!    `SessionStarted`; then, for each answer, wait for the interviewer's
//!    `TranscriptUpdate{turn_complete: true}` and answer with a WAV file (16 000 Hz mono
//!    PCM16LE `AudioChunk` frames at real-time pace divided by `--speed`, then 1.5 s of
//!    silence so the interviewer's voice activity detection hears the answer end) or a
//!    typed line (`TextInput`).
//! 4. After the last answer: wait for the interviewer's next turn, send `EndRequest`, wait
//!    for `SessionEnded`, close the socket.
//! 5. Poll `interview.getById` every 500 ms until COMPLETED or ERROR, fetch the transcript
//!    and feedback and print the report.
//!
//! A socket that drops before `SessionEnded` (the connection failed, or the server
//! restarted) is opened again: a fresh token from `interview.generateWsToken`, then the
//! socket, retried with capped exponential backoff (`backon`) for up to 90 s. The server
//! answers with `SessionResumed` (the transcript so far) and the run goes on where it
//! stopped: an audio answer from the frame that could not be sent, a wait for the
//! interviewer from what the replay says (its last turn finished: answer now).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use backon::{ExponentialBuilder, Retryable as _};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt as _, StreamExt as _};
use preppal_core::codec::{
    decode_server, encode_client, ClientMessage, PlaybackReport, MAX_TEXT_INPUT_BYTES,
};
use preppal_core::proto::server_to_client_message::Message as ServerMessage;
use preppal_core::proto::session_ended::Reason as EndedReason;
use preppal_core::{Feedback, InterviewStatus, TranscriptEntry};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout_at, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tracing::{debug, info, warn};

use super::audio::{self, SAMPLES_PER_MS, SAMPLE_RATE_HZ};
use super::player::{Played, Player};
use super::report::{AnswerTiming, InterviewReport, ReportError};
use super::InterviewArgs;

/// Longest wait for `SessionStarted` and for each interviewer turn.
const TURN_WAIT: Duration = Duration::from_secs(60);
/// Longest wait for `SessionEnded` after `EndRequest`.
const END_WAIT: Duration = Duration::from_secs(30);
/// Interval between `interview.getById` polls.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How long to keep asking for feedback that is not there yet once the interview ended.
const FEEDBACK_GRACE: Duration = Duration::from_secs(5);
/// Silence sent after each audio answer, in ms, so voice activity detection sees its end:
/// longer than the interview's 3 s end-of-turn silence
/// (`preppal_gemini::config::INTERVIEW_SILENCE_DURATION_MS`), which lets candidates pause
/// to think.
const SILENCE_TAIL_MS: usize = 3_500;
/// Time limit of one HTTP call.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a dropped interview socket is tried again before the run fails.
const RECONNECT_WINDOW: Duration = Duration::from_secs(90);

/// Runs one mock interview as described by `args` and prints its report on stdout:
/// one JSON [`InterviewReport`] with `--json`, markdown otherwise. Progress is logged with
/// `tracing`. See [`hold_interview`] for the flow and its bounds.
///
/// # Errors
/// Everything [`hold_interview`] fails on, and an interview that ends in ERROR (its report
/// is printed first).
pub async fn run_interview(args: InterviewArgs) -> anyhow::Result<()> {
    let report = hold_interview(&args).await?;
    if args.json {
        println!("{}", report.to_json()?);
    } else {
        println!("{}", report.to_markdown());
    }
    if report.status == InterviewStatus::Error.as_str() {
        bail!("interview {} ended in ERROR", report.interview_id);
    }
    Ok(())
}

/// Runs one mock interview as described by `args` and returns its report, whatever the
/// interview's final status (COMPLETED or ERROR); prints nothing.
///
/// The whole run is bounded by `--timeout-secs`; each wait for the interviewer (its
/// start, each turn) by 60 s and the wait for `SessionEnded` by 30 s. If the server ends
/// the interview before the answers run out, the remaining answers are skipped and the
/// run finishes as usual.
///
/// # Errors
/// Unreadable job, resume, answers or WAV files; a refused or failed API call; a socket
/// that cannot be opened or closes before the interview starts; any wait that times out.
pub async fn hold_interview(args: &InterviewArgs) -> anyhow::Result<InterviewReport> {
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    match timeout_at(deadline, interview(args, deadline)).await {
        Ok(result) => result,
        Err(_) => bail!(
            "the interview did not finish within --timeout-secs {}",
            args.timeout_secs
        ),
    }
}

async fn interview(args: &InterviewArgs, deadline: Instant) -> anyhow::Result<InterviewReport> {
    let job_description = match &args.job {
        Some(path) => read_text(path, "job description")?,
        None => {
            info!("no --job: the bundled sample job description (senior backend engineer)");
            super::SAMPLE_JOB_DESCRIPTION.to_owned()
        }
    };
    let resume = match &args.resume {
        Some(path) => read_text(path, "resume")?,
        None => {
            info!("no --resume: the bundled sample resume (backend engineer)");
            super::SAMPLE_RESUME.to_owned()
        }
    };
    let answers = load_answers(args).await?;
    info!(answers = answers.len(), "answers loaded");

    let mut api = ApiClient::new(&args.server)?;
    api.sign_in(&args.email).await?;
    info!(email = %args.email, "signed in");
    let created = api
        .create_session(
            &job_description,
            &resume,
            &args.persona,
            args.duration_minutes,
            PlanChoice {
                round_type: args.round_type.as_deref(),
                difficulty: args.difficulty.as_deref(),
            },
        )
        .await?;
    let interview_id = created.id;
    info!(%interview_id, status = %created.status, "interview created");
    let token: WorkerToken = api
        .call(
            "interview.generateWorkerToken",
            &InterviewIdBody {
                interview_id: &interview_id,
            },
        )
        .await?;

    if let Some(worker) = &token.worker_url {
        info!(%worker, "connecting to the worker named by the web tier");
    }
    let mut live = LiveSocket::connect(&token.ws_url).await?;
    live.rejoin = Some(Rejoin {
        api: api.clone(),
        interview_id: interview_id.clone(),
    });
    let mut timing = Vec::new();
    let conversation = converse(&mut live, &answers, args, deadline, &mut timing).await;
    if conversation.is_err() {
        // Best effort: tell the worker we are leaving before the error is reported.
        let _ = live.send(ClientMessage::End).await;
    }
    live.close().await;
    conversation?;

    let ended = poll_until_terminal(&api, &interview_id, deadline).await?;
    let mut report = fetch_report(&api, &interview_id, ended.status, deadline)
        .await?
        .with_job(&job_description);
    report.answer_timing = timing;
    if ended.status == InterviewStatus::Error {
        report.error = Some(ReportError {
            kind: ended.error_kind,
            message: ended.error_message.unwrap_or_default(),
        });
    }
    Ok(report)
}

/// At `--speed` above 0, waits (as a listener would) until the interviewer's turn has
/// played on this client's clock and then `--answer-gap-ms`; tells the worker what was
/// played; returns the timing of the answer about to be sent. At `--speed 0` answers at
/// once.
async fn listen_then_answer(
    live: &mut LiveSocket,
    args: &InterviewArgs,
    answer: usize,
) -> Option<AnswerTiming> {
    let played = live.last_played.take()?;
    if args.speed > 0.0 {
        let at = played.ends_at + Duration::from_millis(args.answer_gap_ms);
        while !live.over() && Instant::now() < at {
            tokio::select! {
                () = sleep_until(at) => break,
                event = live.events.recv() => live.note(event),
            }
        }
    }
    live.pending_report = Some(PlaybackReport::new(played.audio_ms, false));
    let now = Instant::now();
    let gap_ms = if now >= played.ends_at {
        i64::try_from(now.duration_since(played.ends_at).as_millis()).unwrap_or(i64::MAX)
    } else {
        -i64::try_from(played.ends_at.duration_since(now).as_millis()).unwrap_or(i64::MAX)
    };
    Some(AnswerTiming {
        answer: u32::try_from(answer).unwrap_or(u32::MAX),
        question_audio_ms: played.audio_ms,
        gap_ms,
    })
}

/// The live part: answers in turn, then the end of the interview.
async fn converse(
    live: &mut LiveSocket,
    answers: &[Answer],
    args: &InterviewArgs,
    deadline: Instant,
    timing: &mut Vec<AnswerTiming>,
) -> anyhow::Result<()> {
    let within = |limit: Duration| (Instant::now() + limit).min(deadline);
    if !live.wait_started(within(TURN_WAIT)).await? {
        if live.ended.is_none() {
            bail!("the server closed the interview socket before the interview started");
        }
        return Ok(());
    }
    for (i, answer) in answers.iter().enumerate() {
        match live.wait_turn(within(TURN_WAIT)).await? {
            Turn::Complete => {}
            Turn::Over => {
                info!(
                    answered = i,
                    skipped = answers.len() - i,
                    "the interview ended before all answers were given"
                );
                return Ok(());
            }
        }
        live.turns_pending = 0;
        timing.extend(listen_then_answer(live, args, i + 1).await);
        match answer {
            Answer::Audio { path, samples } => {
                info!(
                    answer = i + 1,
                    file = %path.display(),
                    seconds = samples.len() as f64 / f64::from(SAMPLE_RATE_HZ),
                    "answering with audio"
                );
                live.send_audio(samples, args.frame_ms, args.speed).await?;
            }
            Answer::Text(text) => {
                info!(answer = i + 1, text = %text, "answering with text");
                live.typed_answer = Some(text.clone());
                live.send_surviving(ClientMessage::Text(text.clone()))
                    .await?;
            }
        }
    }
    if live.wait_turn(within(TURN_WAIT)).await? == Turn::Over {
        return Ok(());
    }
    // The closing turn is heard out too before hanging up.
    let _ = listen_then_answer(live, args, answers.len() + 1).await;
    info!("answers exhausted; ending the interview");
    live.send_surviving(ClientMessage::End).await?;
    live.wait_ended(within(END_WAIT)).await
}

/// Polls `interview.getById` every 500 ms until the status is COMPLETED or ERROR; returns
/// the interview as it ended.
async fn poll_until_terminal(
    api: &ApiClient,
    interview_id: &str,
    deadline: Instant,
) -> anyhow::Result<ApiInterview> {
    let mut last = None;
    loop {
        let interview: ApiInterview = api
            .call("interview.getById", &InterviewIdBody { interview_id })
            .await?;
        if last != Some(interview.status) {
            info!(status = %interview.status, "interview status");
            last = Some(interview.status);
        }
        if interview.status.is_terminal() {
            return Ok(interview);
        }
        if Instant::now() + POLL_INTERVAL > deadline {
            bail!(
                "interview {interview_id} was still {} when the time limit ran out",
                interview.status
            );
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Fetches the transcript and feedback of a finished interview. Feedback may be written a
/// moment after the status moves, so a missing one is asked for again for up to 5 s.
async fn fetch_report(
    api: &ApiClient,
    interview_id: &str,
    status: InterviewStatus,
    deadline: Instant,
) -> anyhow::Result<InterviewReport> {
    let transcript: ApiTranscript = api
        .call("interview.getTranscript", &InterviewIdBody { interview_id })
        .await?;
    let grace_end = (Instant::now() + FEEDBACK_GRACE).min(deadline);
    let (feedback, plan) = loop {
        let reply: ApiFeedback = api
            .call("interview.getFeedback", &InterviewIdBody { interview_id })
            .await?;
        if reply.feedback.is_some()
            || status == InterviewStatus::Error
            || Instant::now() + POLL_INTERVAL > grace_end
        {
            break (reply.feedback, reply.plan);
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    };
    Ok(
        InterviewReport::new(interview_id, status, &transcript.entries, feedback.as_ref())
            .with_plan(plan),
    )
}

fn read_text(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))
}

/// One answer: a recorded WAV file (already 16 000 Hz mono) or a typed line.
#[derive(Debug)]
enum Answer {
    Audio { path: PathBuf, samples: Vec<i16> },
    Text(String),
}

/// Loads every answer before anything is sent, so a bad file fails the run early:
/// the `--audio` files in order, then the non-empty lines of `--answers`.
async fn load_answers(args: &InterviewArgs) -> anyhow::Result<Vec<Answer>> {
    let mut answers = Vec::new();
    for path in &args.audio {
        let p = path.clone();
        let samples = tokio::task::spawn_blocking(move || audio::load_wav_16k_mono(&p))
            .await
            .context("the audio loading task failed")??;
        answers.push(Answer::Audio {
            path: path.clone(),
            samples,
        });
    }
    if let Some(path) = &args.answers {
        for (n, line) in read_text(path, "answers")?.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if line.len() > MAX_TEXT_INPUT_BYTES {
                bail!(
                    "{} line {}: an answer of {} bytes is longer than the {MAX_TEXT_INPUT_BYTES} bytes the server accepts",
                    path.display(),
                    n + 1,
                    line.len()
                );
            }
            answers.push(Answer::Text(line.to_owned()));
        }
    }
    Ok(answers)
}

// ---------------------------------------------------------------------------------------
// JSON API
// ---------------------------------------------------------------------------------------

/// Why a call to the server's JSON API failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ApiError {
    /// The request did not get an answer (connection refused, reset, timed out).
    /// `interview.createSession` is retried once with the same idempotency key.
    #[error("{procedure}: no answer from the server")]
    Network {
        procedure: String,
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with a non-2xx status and its `{"error": {code, message}}`.
    #[error("{procedure}: the server refused with HTTP {status} {code}: {message}")]
    Rejected {
        procedure: String,
        status: u16,
        code: String,
        message: String,
    },
    /// The server answered 2xx with a body that is not the expected JSON.
    #[error("{procedure}: unexpected reply: {message}")]
    InvalidReply { procedure: String, message: String },
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

#[derive(Serialize)]
struct DevSignIn<'a> {
    email: &'a str,
    name: &'a str,
}

#[derive(Deserialize)]
struct DevSession {
    session_token: String,
}

#[derive(Serialize)]
struct CreateSession<'a> {
    job_description: &'a str,
    resume: &'a str,
    persona: &'a str,
    duration_minutes: u32,
    idempotency_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    round_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    difficulty: Option<&'a str>,
}

/// The interview plan's choices a client asks `interview.createSession` for (`None`: the
/// server's default).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PlanChoice<'a> {
    /// `behavioral`, `technical`, `system_design` or `mixed`.
    pub round_type: Option<&'a str>,
    /// `junior`, `mid`, `senior` or `staff`.
    pub difficulty: Option<&'a str>,
}

/// The body of the procedures that take an interview id.
#[derive(Serialize)]
pub(crate) struct InterviewIdBody<'a> {
    /// The interview.
    pub interview_id: &'a str,
}

/// The part of `interview.createSession`'s reply the clients use.
#[derive(Deserialize)]
pub(crate) struct ApiInterview {
    /// The interview id.
    pub id: String,
    /// Its status (PENDING when new).
    pub status: InterviewStatus,
    /// What went wrong, for an interview in ERROR.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Why the model failed, for an interview in ERROR because of it.
    #[serde(default)]
    pub error_kind: Option<String>,
}

/// The reply of `interview.generateWorkerToken`.
#[derive(Deserialize)]
pub(crate) struct WorkerToken {
    /// The interview WebSocket of the worker chosen by the web tier, token included.
    pub ws_url: String,
    /// That worker's base URL (absent from servers that predate it).
    #[serde(default)]
    pub worker_url: Option<String>,
}

#[derive(Deserialize)]
struct ApiTranscript {
    entries: Vec<TranscriptEntry>,
}

#[derive(Deserialize)]
struct ApiFeedback {
    feedback: Option<Feedback>,
    #[serde(default)]
    plan: Option<preppal_core::InterviewPlan>,
}

/// A client of the server's JSON API, signed in after [`ApiClient::sign_in`] (the
/// command-line client and the load generator of `preppal loadtest`).
#[derive(Clone)]
pub(crate) struct ApiClient {
    http: reqwest::Client,
    base: String,
    session_token: Option<String>,
}

impl ApiClient {
    /// A client of the server at base URL `server`, calls limited to 30 s each.
    ///
    /// # Errors
    /// The HTTP client cannot be built (no TLS backend).
    pub(crate) fn new(server: &str) -> anyhow::Result<Self> {
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
    pub(crate) async fn sign_in(&mut self, email: &str) -> Result<(), ApiError> {
        let name = email.split('@').next().unwrap_or(email);
        let session: DevSession = self.post("auth/dev", &DevSignIn { email, name }).await?;
        self.session_token = Some(session.session_token);
        Ok(())
    }

    /// `interview.createSession` with a fresh idempotency key, retried once with the same
    /// key after a network error (the server then returns the interview it created).
    ///
    /// # Errors
    /// As [`ApiClient::call`].
    pub(crate) async fn create_session(
        &self,
        job_description: &str,
        resume: &str,
        persona: &str,
        duration_minutes: u32,
        plan: PlanChoice<'_>,
    ) -> Result<ApiInterview, ApiError> {
        let idempotency_key = uuid::Uuid::new_v4().to_string();
        let body = CreateSession {
            job_description,
            resume,
            persona,
            duration_minutes,
            idempotency_key: &idempotency_key,
            round_type: plan.round_type,
            difficulty: plan.difficulty,
        };
        match self.call("interview.createSession", &body).await {
            Err(ApiError::Network { source, .. }) => {
                warn!(error = %source, %idempotency_key, "createSession got no answer; retrying once with the same idempotency key");
                self.call("interview.createSession", &body).await
            }
            other => other,
        }
    }

    /// Calls the JSON procedure `procedure` (`POST /api/{procedure}`) with `body`, signed
    /// in when [`ApiClient::sign_in`] succeeded.
    ///
    /// # Errors
    /// [`ApiError::Network`] without an answer, [`ApiError::Rejected`] for a non-2xx
    /// status, [`ApiError::InvalidReply`] for a reply that is not the expected JSON.
    pub(crate) async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        procedure: &str,
        body: &B,
    ) -> Result<R, ApiError> {
        self.post(procedure, body).await
    }

    async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R, ApiError> {
        let procedure = path.to_owned();
        let mut request = self
            .http
            .post(format!("{}/api/{path}", self.base))
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

// ---------------------------------------------------------------------------------------
// Interview socket
// ---------------------------------------------------------------------------------------

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why the interview socket failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum LiveError {
    /// The socket could not be opened (bad URL, refused, token rejected).
    #[error("cannot open the interview socket")]
    Connect(#[source] tokio_tungstenite::tungstenite::Error),
    /// A message could not be sent (the server closed the socket).
    #[error("cannot send on the interview socket")]
    Send(#[source] tokio_tungstenite::tungstenite::Error),
    /// The server did not do what was waited for in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// A dropped socket could not be opened again within the reconnect window.
    #[error("the interview socket dropped and could not be reopened: {0}")]
    Reconnect(String),
}

/// What is needed to open the interview socket again after it dropped.
struct Rejoin {
    api: ApiClient,
    interview_id: String,
}

/// Why one attempt to reopen the interview socket failed.
#[derive(Debug, thiserror::Error)]
enum RejoinError {
    /// The token call failed.
    #[error(transparent)]
    Api(ApiError),
    /// The socket could not be opened.
    #[error("cannot open the interview socket: {0}")]
    Socket(#[source] tokio_tungstenite::tungstenite::Error),
}

impl RejoinError {
    /// Whether another attempt may succeed: the server is restarting or draining (no
    /// answer, 5xx), or still holds the old connection (409 on the socket); not a refused
    /// sign-in or a missing interview.
    fn is_retryable(&self) -> bool {
        use tokio_tungstenite::tungstenite::Error as WsError;
        match self {
            Self::Api(ApiError::Network { .. }) => true,
            Self::Api(ApiError::Rejected { status, .. }) => *status >= 500 || *status == 429,
            Self::Api(ApiError::InvalidReply { .. }) => false,
            Self::Socket(WsError::Http(r)) => {
                let s = r.status().as_u16();
                s == 409 || s == 429 || s >= 500
            }
            Self::Socket(_) => true,
        }
    }

    /// Whether the interview is over (its token is refused with 409: it ended).
    fn interview_over(&self) -> bool {
        matches!(self, Self::Api(ApiError::Rejected { status: 409, .. }))
    }
}

/// What the reader task passes on to the conversation.
#[derive(Debug)]
enum LiveEvent {
    Started,
    /// `SessionResumed`: `awaiting_answer` when the interviewer's last turn finished and
    /// nothing is under way (the candidate's turn).
    Resumed {
        awaiting_answer: bool,
        /// The text of the candidate's last turn in the replay (finished or open).
        last_answer: Option<String>,
    },
    /// The interviewer's turn is complete; how its audio played (`None`: it had none).
    TurnComplete(Option<Played>),
    /// `Interrupted`: the player was flushed after this many ms of the turn's audio.
    Interrupted(Option<u32>),
    Ended(String),
    Closed,
}

/// How a wait for the interviewer's turn ended.
#[derive(Debug, PartialEq, Eq)]
enum Turn {
    /// The interviewer finished a turn and waits for the candidate.
    Complete,
    /// The interview is over (`SessionEnded` or the socket closed).
    Over,
}

/// The interview socket: a sink for our messages, a reader task for the server's.
struct LiveSocket {
    sink: SplitSink<Socket, Message>,
    events: mpsc::Receiver<LiveEvent>,
    reader: tokio::task::JoinHandle<()>,
    started: bool,
    /// Interviewer turns completed and not yet answered.
    turns_pending: usize,
    ended: Option<String>,
    closed: bool,
    /// Set after a reconnect: what the replay said about the interviewer's turn.
    resumed: Option<bool>,
    /// The candidate's last turn in the last replay.
    replayed_answer: Option<String>,
    /// The last typed answer sent, until the interviewer's next turn ends.
    typed_answer: Option<String>,
    /// How the interviewer's last complete turn played, until it is answered.
    last_played: Option<Played>,
    /// A `PlaybackReport` to send before the next message.
    pending_report: Option<PlaybackReport>,
    /// How to reopen the socket after a drop; `None` never reopens.
    rejoin: Option<Rejoin>,
}

/// Opens the interview WebSocket with `TCP_NODELAY` (the `true`): candidate audio goes in
/// 40 ms frames, and with Nagle's algorithm a frame written while the previous one is
/// unacknowledged would wait for the server's delayed ACK (up to 40 ms on Linux).
pub(crate) async fn open_socket(
    ws_url: &str,
) -> Result<
    (
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        tokio_tungstenite::tungstenite::handshake::client::Response,
    ),
    tokio_tungstenite::tungstenite::Error,
> {
    tokio_tungstenite::connect_async_tls_with_config(ws_url, None, true, None).await
}

impl LiveSocket {
    async fn connect(ws_url: &str) -> Result<Self, LiveError> {
        let (socket, _) = open_socket(ws_url).await.map_err(LiveError::Connect)?;
        info!("interview socket open");
        let (sink, stream) = socket.split();
        let (tx, events) = mpsc::channel(64);
        let reader = tokio::spawn(read_socket(stream, tx));
        Ok(Self {
            sink,
            events,
            reader,
            started: false,
            turns_pending: 0,
            ended: None,
            closed: false,
            resumed: None,
            replayed_answer: None,
            typed_answer: None,
            last_played: None,
            pending_report: None,
            rejoin: None,
        })
    }

    fn over(&self) -> bool {
        self.ended.is_some() || self.closed
    }

    /// Whether the socket dropped before the interview ended, and may be reopened.
    fn dropped(&self) -> bool {
        self.closed && self.ended.is_none() && self.rejoin.is_some()
    }

    /// Reopens a dropped socket (see the module docs) and waits for `SessionResumed`.
    /// Returns whether the interviewer waits for an answer, or `None` when the interview
    /// ended meanwhile (then [`LiveSocket::over`] holds).
    async fn reconnect(&mut self) -> Result<Option<bool>, LiveError> {
        let Some(rejoin) = &self.rejoin else {
            return Ok(None);
        };
        let dropped_at = Instant::now();
        warn!("the interview socket dropped; reconnecting");
        let body = InterviewIdBody {
            interview_id: &rejoin.interview_id,
        };
        let attempt = || async {
            let token: WorkerToken = rejoin
                .api
                .call("interview.generateWsToken", &body)
                .await
                .map_err(RejoinError::Api)?;
            open_socket(&token.ws_url)
                .await
                .map(|(socket, _)| socket)
                .map_err(RejoinError::Socket)
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(200))
            .with_max_delay(Duration::from_secs(2))
            .with_max_times(usize::MAX);
        let opened = tokio::time::timeout(
            RECONNECT_WINDOW,
            attempt
                .retry(backoff)
                .when(RejoinError::is_retryable)
                .notify(|e, delay| debug!(error = %e, ?delay, "reconnect attempt failed")),
        )
        .await;
        let socket = match opened {
            Ok(Ok(socket)) => socket,
            Ok(Err(e)) if e.interview_over() => {
                info!("the interview ended while the socket was down");
                self.ended = Some("ended while disconnected".to_owned());
                return Ok(None);
            }
            Ok(Err(e)) => return Err(LiveError::Reconnect(e.to_string())),
            Err(_) => return Err(LiveError::Reconnect("no answer within 90 s".to_owned())),
        };
        self.reader.abort();
        let (sink, stream) = socket.split();
        let (tx, events) = mpsc::channel(64);
        self.reader = tokio::spawn(read_socket(stream, tx));
        self.sink = sink;
        self.events = events;
        self.closed = false;
        self.resumed = None;
        let limit = Instant::now() + TURN_WAIT;
        while self.resumed.is_none() && !self.over() {
            self.next_before(limit, "the replay of the interview")
                .await?;
        }
        let Some(awaiting_answer) = self.resumed else {
            return if self.dropped() {
                Box::pin(self.reconnect()).await
            } else {
                Ok(None)
            };
        };
        info!(
            recovery_ms = dropped_at.elapsed().as_millis() as u64,
            awaiting_answer, "interview socket reopened; the interview goes on"
        );
        Ok(Some(awaiting_answer))
    }

    /// Sends `msg`; when the socket has dropped, reopens it and sends again.
    async fn send_surviving(&mut self, msg: ClientMessage) -> Result<(), LiveError> {
        loop {
            match self.send(msg.clone()).await {
                Ok(()) => return Ok(()),
                Err(e) if self.rejoin.is_none() => return Err(e),
                Err(e) => {
                    debug!(error = %e, "send failed; reopening the socket");
                    self.closed = true;
                    if self.reconnect().await?.is_none() {
                        return Ok(());
                    }
                }
            }
        }
    }

    fn note(&mut self, event: Option<LiveEvent>) {
        match event {
            Some(LiveEvent::Started) => self.started = true,
            Some(LiveEvent::Resumed {
                awaiting_answer,
                last_answer,
            }) => {
                self.started = true;
                self.resumed = Some(awaiting_answer);
                self.replayed_answer = last_answer;
            }
            Some(LiveEvent::TurnComplete(played)) => {
                self.turns_pending += 1;
                self.last_played = played;
            }
            Some(LiveEvent::Interrupted(played_ms)) => {
                self.pending_report = played_ms.map(|ms| PlaybackReport::new(ms, true));
            }
            Some(LiveEvent::Ended(reason)) => self.ended = Some(reason),
            Some(LiveEvent::Closed) | None => self.closed = true,
        }
    }

    /// Takes the next event, or fails with [`LiveError::Timeout`] at `limit`.
    async fn next_before(&mut self, limit: Instant, what: &'static str) -> Result<(), LiveError> {
        let event = timeout_at(limit, self.events.recv())
            .await
            .map_err(|_| LiveError::Timeout(what))?;
        self.note(event);
        Ok(())
    }

    /// `true` once `SessionStarted` arrived; `false` if the interview ended first.
    async fn wait_started(&mut self, limit: Instant) -> Result<bool, LiveError> {
        loop {
            if self.started {
                return Ok(true);
            }
            if self.over() {
                return Ok(false);
            }
            self.next_before(limit, "the interview to start").await?;
        }
    }

    async fn wait_turn(&mut self, limit: Instant) -> Result<Turn, LiveError> {
        loop {
            if self.turns_pending > 0 {
                self.turns_pending -= 1;
                self.typed_answer = None;
                return Ok(Turn::Complete);
            }
            if self.dropped() {
                // The interviewer's turn may have finished while the socket was down.
                if let Some(awaiting) = self.reconnect().await? {
                    self.turns_pending = usize::from(awaiting);
                    // A typed answer lost with the socket (not in the replay) is sent again.
                    if let Some(text) = self.typed_answer.clone() {
                        if self.replayed_answer.as_deref().map(str::trim) != Some(text.trim()) {
                            info!(text = %text, "the answer was lost with the socket; sending it again");
                            self.send_surviving(ClientMessage::Text(text)).await?;
                            self.turns_pending = 0;
                        }
                    }
                }
                continue;
            }
            if self.over() {
                return Ok(Turn::Over);
            }
            self.next_before(limit, "the interviewer's turn").await?;
        }
    }

    async fn wait_ended(&mut self, limit: Instant) -> anyhow::Result<()> {
        loop {
            if self.dropped() {
                if self.reconnect().await?.is_some() {
                    // The end request may have been lost with the socket.
                    self.send(ClientMessage::End).await?;
                }
                continue;
            }
            if self.over() {
                break;
            }
            self.next_before(limit, "the end of the interview").await?;
        }
        if self.ended.is_none() {
            warn!("the socket closed without SessionEnded");
        }
        Ok(())
    }

    async fn send(&mut self, msg: ClientMessage) -> Result<(), LiveError> {
        if let Some(report) = self.pending_report.take() {
            self.sink
                .send(Message::Binary(encode_client(&ClientMessage::Playback(
                    report,
                ))))
                .await
                .map_err(LiveError::Send)?;
        }
        self.sink
            .send(Message::Binary(encode_client(&msg)))
            .await
            .map_err(LiveError::Send)
    }

    /// Streams `samples` then 3.5 s of silence as `AudioChunk` frames of `frame_ms`,
    /// paced so frame `n` leaves at `start + (samples before n) / 16 000 Hz / speed`
    /// (`speed` 0: no pacing). Stops early, without error, if the interview ends. When the
    /// socket drops, it is reopened and the answer goes on from the frame not yet sent.
    async fn send_audio(
        &mut self,
        samples: &[i16],
        frame_ms: u32,
        speed: f64,
    ) -> Result<(), LiveError> {
        let silence = vec![0i16; SILENCE_TAIL_MS * SAMPLES_PER_MS];
        let start = Instant::now();
        let mut sent_samples = 0usize;
        let mut frames_sent = 0usize;
        for frame in audio::frames(samples, frame_ms).chain(audio::frames(&silence, frame_ms)) {
            if speed > 0.0 {
                let at = start
                    + Duration::from_secs_f64(
                        sent_samples as f64 / f64::from(SAMPLE_RATE_HZ) / speed,
                    );
                while !self.over() {
                    tokio::select! {
                        () = sleep_until(at) => break,
                        event = self.events.recv() => self.note(event),
                    }
                }
            } else {
                while let Ok(event) = self.events.try_recv() {
                    self.note(Some(event));
                }
            }
            if self.dropped() {
                self.reconnect().await?;
            }
            if self.over() {
                info!(
                    frames_sent,
                    "the interview ended while answering; stopping the answer"
                );
                return Ok(());
            }
            sent_samples += frame.len() / 2;
            self.send_surviving(ClientMessage::Audio(frame)).await?;
            frames_sent += 1;
        }
        debug!(frames_sent, "answer sent");
        Ok(())
    }

    /// Closes the socket (best effort) and stops the reader task.
    async fn close(mut self) {
        if let Err(e) = self.sink.close().await {
            debug!(error = %e, "closing the interview socket");
        }
        match tokio::time::timeout(Duration::from_secs(5), &mut self.reader).await {
            Ok(_) => {}
            Err(_) => self.reader.abort(),
        }
        info!("interview socket closed");
    }
}

/// Reads the server's messages: logs them, plays the interviewer's audio on the
/// [`Player`] model (flushed on `Interrupted`), and passes start, turn ends and the end on.
async fn read_socket(mut stream: SplitStream<Socket>, tx: mpsc::Sender<LiveEvent>) {
    let mut player = Player::default();
    while let Some(frame) = stream.next().await {
        let event = match frame {
            Ok(Message::Binary(buf)) => match decode_server(buf) {
                Ok(msg) => on_server_message(msg, &mut player, Instant::now()),
                Err(e) => {
                    warn!(error = %e, "undecodable message from the server");
                    None
                }
            },
            Ok(Message::Close(frame)) => {
                debug!(?frame, "the server closed the socket");
                break;
            }
            Ok(Message::Text(t)) => {
                warn!(text = %t.as_str(), "unexpected text frame from the server");
                None
            }
            Ok(_) => None,
            Err(e) => {
                warn!(error = %e, "interview socket failed");
                break;
            }
        };
        if let Some(event) = event {
            if tx.send(event).await.is_err() {
                return;
            }
        }
    }
    let _ = tx.send(LiveEvent::Closed).await;
}

fn on_server_message(msg: ServerMessage, player: &mut Player, now: Instant) -> Option<LiveEvent> {
    match msg {
        ServerMessage::SessionStarted(s) => {
            info!(
                interview_id = %s.interview_id,
                max_duration_ms = s.max_duration_ms,
                "interview started"
            );
            Some(LiveEvent::Started)
        }
        ServerMessage::ModelStatus(m) => {
            info!(attempt = m.attempt, "{}", m.message);
            None
        }
        ServerMessage::AudioResponse(a) => {
            // This client does not play audio; it keeps the books a player would.
            player.audio(now, a.audio_content.len());
            None
        }
        ServerMessage::Interrupted(_) => {
            let played_ms = player.cut(now);
            info!(?played_ms, "interviewer interrupted; playback flushed");
            Some(LiveEvent::Interrupted(played_ms))
        }
        ServerMessage::TranscriptUpdate(t) => {
            let is_ai = t.speaker == "AI";
            if !t.is_final {
                debug!(speaker = %t.speaker, fragment = %t.text, "transcript fragment");
                return None;
            }
            let who = if is_ai { "interviewer" } else { "candidate" };
            let text = if t.text.is_empty() {
                "(no words transcribed)"
            } else {
                t.text.as_str()
            };
            info!(speaker = who, text, "turn");
            if is_ai && t.turn_complete {
                info!(
                    audio_ms = player.turn_audio_ms(),
                    "interviewer waits for an answer"
                );
                Some(LiveEvent::TurnComplete(player.turn_complete()))
            } else {
                None
            }
        }
        ServerMessage::ErrorResponse(e) => {
            let kind = preppal_core::proto::ErrorKind::try_from(e.kind)
                .map(|k| k.as_str_name())
                .unwrap_or("ERROR_KIND_UNSPECIFIED");
            warn!(code = e.code, kind, message = %e.message, "the server reported an error");
            None
        }
        ServerMessage::SessionResumed(r) => {
            let last_ai = r
                .transcript
                .last()
                .is_some_and(|e| e.speaker == preppal_core::proto::Speaker::Ai as i32);
            let awaiting_answer = r.open_turns.is_empty() && last_ai;
            let user = preppal_core::proto::Speaker::User as i32;
            let last_answer = r
                .transcript
                .iter()
                .chain(&r.open_turns)
                .filter(|e| e.speaker == user)
                .max_by_key(|e| e.sequence)
                .map(|e| e.text.clone());
            info!(
                interview_id = %r.interview_id,
                entries = r.transcript.len(),
                elapsed_ms = r.elapsed_ms,
                awaiting_answer,
                "interview resumed"
            );
            player.reset();
            Some(LiveEvent::Resumed {
                awaiting_answer,
                last_answer,
            })
        }
        ServerMessage::SessionEnded(e) => {
            let reason = EndedReason::try_from(e.reason)
                .map(|r| r.as_str_name().to_owned())
                .unwrap_or_else(|_| format!("reason {}", e.reason));
            info!(%reason, "interview ended");
            Some(LiveEvent::Ended(reason))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use preppal_core::proto;

    #[test]
    fn turn_complete_and_end_are_passed_on() {
        let mut player = Player::default();
        let t0 = Instant::now();
        let fragment = ServerMessage::TranscriptUpdate(proto::TranscriptUpdate {
            speaker: "AI".into(),
            text: "Tell me".into(),
            ..Default::default()
        });
        assert!(on_server_message(fragment, &mut player, t0).is_none());
        let audio = || {
            ServerMessage::AudioResponse(proto::AudioResponse {
                audio_content: bytes::Bytes::from(vec![0u8; 4_800]),
            })
        };
        assert!(on_server_message(audio(), &mut player, t0).is_none());
        assert_eq!(player.turn_audio_ms(), 100);
        // Interrupted 40 ms into the 100 ms of audio: 40 ms played.
        assert!(matches!(
            on_server_message(
                ServerMessage::Interrupted(proto::Interrupted {}),
                &mut player,
                t0 + Duration::from_millis(40)
            ),
            Some(LiveEvent::Interrupted(Some(40)))
        ));
        assert_eq!(player.turn_audio_ms(), 0);
        let t1 = t0 + Duration::from_secs(1);
        assert!(on_server_message(audio(), &mut player, t1).is_none());
        let done = ServerMessage::TranscriptUpdate(proto::TranscriptUpdate {
            speaker: "AI".into(),
            text: "Tell me about yourself.".into(),
            is_final: true,
            turn_complete: true,
            ..Default::default()
        });
        assert!(matches!(
            on_server_message(done, &mut player, t1),
            Some(LiveEvent::TurnComplete(Some(Played { audio_ms: 100, ends_at })))
                if ends_at == t1 + Duration::from_millis(100)
        ));
        let user_final = ServerMessage::TranscriptUpdate(proto::TranscriptUpdate {
            speaker: "USER".into(),
            text: "Hi".into(),
            is_final: true,
            turn_complete: true,
            ..Default::default()
        });
        assert!(on_server_message(user_final, &mut player, t1).is_none());
        let ended = ServerMessage::SessionEnded(proto::SessionEnded {
            reason: EndedReason::ModelEnded as i32,
        });
        assert!(matches!(
            on_server_message(ended, &mut player, t1),
            Some(LiveEvent::Ended(r)) if r == "MODEL_ENDED"
        ));
    }
}
