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

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt as _, StreamExt as _};
use preppal_core::codec::{decode_server, encode_client, ClientMessage, MAX_TEXT_INPUT_BYTES};
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
use super::report::InterviewReport;
use super::InterviewArgs;

/// Longest wait for `SessionStarted` and for each interviewer turn.
const TURN_WAIT: Duration = Duration::from_secs(60);
/// Longest wait for `SessionEnded` after `EndRequest`.
const END_WAIT: Duration = Duration::from_secs(30);
/// Interval between `interview.getById` polls.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How long to keep asking for feedback that is not there yet once the interview ended.
const FEEDBACK_GRACE: Duration = Duration::from_secs(5);
/// Silence sent after each audio answer, in ms, so voice activity detection sees its end.
const SILENCE_TAIL_MS: usize = 1_500;
/// Time limit of one HTTP call.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Interviewer audio (`AudioResponse`) is PCM16LE at 24 000 Hz: 48 bytes per ms.
const AI_AUDIO_BYTES_PER_MS: usize = 48;

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
    let job_description = read_text(&args.job, "job description")?;
    let resume = read_text(&args.resume, "resume")?;
    let answers = load_answers(args).await?;
    info!(answers = answers.len(), "answers loaded");

    let mut api = ApiClient::new(&args.server)?;
    api.sign_in(&args.email).await?;
    let created = api.create_session(&job_description, &resume, args).await?;
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

    let mut live = LiveSocket::connect(&token.ws_url).await?;
    let conversation = converse(&mut live, &answers, args, deadline).await;
    if conversation.is_err() {
        // Best effort: tell the worker we are leaving before the error is reported.
        let _ = live.send(ClientMessage::End).await;
    }
    live.close().await;
    conversation?;

    let status = poll_until_terminal(&api, &interview_id, deadline).await?;
    fetch_report(&api, &interview_id, status, deadline).await
}

/// The live part: answers in turn, then the end of the interview.
async fn converse(
    live: &mut LiveSocket,
    answers: &[Answer],
    args: &InterviewArgs,
    deadline: Instant,
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
                live.send(ClientMessage::Text(text.clone())).await?;
            }
        }
    }
    if live.wait_turn(within(TURN_WAIT)).await? == Turn::Over {
        return Ok(());
    }
    info!("answers exhausted; ending the interview");
    live.send(ClientMessage::End).await?;
    live.wait_ended(within(END_WAIT)).await
}

/// Polls `interview.getById` every 500 ms until the status is COMPLETED or ERROR.
async fn poll_until_terminal(
    api: &ApiClient,
    interview_id: &str,
    deadline: Instant,
) -> anyhow::Result<InterviewStatus> {
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
            return Ok(interview.status);
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
    let feedback = loop {
        let reply: ApiFeedback = api
            .call("interview.getFeedback", &InterviewIdBody { interview_id })
            .await?;
        if reply.feedback.is_some()
            || status == InterviewStatus::Error
            || Instant::now() + POLL_INTERVAL > grace_end
        {
            break reply.feedback;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    };
    Ok(InterviewReport::new(
        interview_id,
        status,
        &transcript.entries,
        feedback.as_ref(),
    ))
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
}

#[derive(Serialize)]
struct InterviewIdBody<'a> {
    interview_id: &'a str,
}

#[derive(Deserialize)]
struct ApiInterview {
    id: String,
    status: InterviewStatus,
}

#[derive(Deserialize)]
struct WorkerToken {
    ws_url: String,
}

#[derive(Deserialize)]
struct ApiTranscript {
    entries: Vec<TranscriptEntry>,
}

#[derive(Deserialize)]
struct ApiFeedback {
    feedback: Option<Feedback>,
}

/// A client of the server's JSON API, signed in after [`ApiClient::sign_in`].
struct ApiClient {
    http: reqwest::Client,
    base: String,
    session_token: Option<String>,
}

impl ApiClient {
    fn new(server: &str) -> anyhow::Result<Self> {
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
    async fn sign_in(&mut self, email: &str) -> Result<(), ApiError> {
        let name = email.split('@').next().unwrap_or(email);
        let session: DevSession = self.post("auth/dev", &DevSignIn { email, name }).await?;
        info!(email, "signed in");
        self.session_token = Some(session.session_token);
        Ok(())
    }

    /// `interview.createSession` with a fresh idempotency key, retried once with the same
    /// key after a network error (the server then returns the interview it created).
    async fn create_session(
        &self,
        job_description: &str,
        resume: &str,
        args: &InterviewArgs,
    ) -> Result<ApiInterview, ApiError> {
        let idempotency_key = uuid::Uuid::new_v4().to_string();
        let body = CreateSession {
            job_description,
            resume,
            persona: &args.persona,
            duration_minutes: args.duration_minutes,
            idempotency_key: &idempotency_key,
        };
        match self.call("interview.createSession", &body).await {
            Err(ApiError::Network { source, .. }) => {
                warn!(error = %source, %idempotency_key, "createSession got no answer; retrying once with the same idempotency key");
                self.call("interview.createSession", &body).await
            }
            other => other,
        }
    }

    async fn call<B: Serialize, R: DeserializeOwned>(
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
}

/// What the reader task passes on to the conversation.
#[derive(Debug)]
enum LiveEvent {
    Started,
    TurnComplete,
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
}

impl LiveSocket {
    async fn connect(ws_url: &str) -> Result<Self, LiveError> {
        let (socket, _) = tokio_tungstenite::connect_async(ws_url)
            .await
            .map_err(LiveError::Connect)?;
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
        })
    }

    fn over(&self) -> bool {
        self.ended.is_some() || self.closed
    }

    fn note(&mut self, event: Option<LiveEvent>) {
        match event {
            Some(LiveEvent::Started) => self.started = true,
            Some(LiveEvent::TurnComplete) => self.turns_pending += 1,
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
                return Ok(Turn::Complete);
            }
            if self.over() {
                return Ok(Turn::Over);
            }
            self.next_before(limit, "the interviewer's turn").await?;
        }
    }

    async fn wait_ended(&mut self, limit: Instant) -> anyhow::Result<()> {
        while !self.over() {
            self.next_before(limit, "the end of the interview").await?;
        }
        if self.ended.is_none() {
            warn!("the socket closed without SessionEnded");
        }
        Ok(())
    }

    async fn send(&mut self, msg: ClientMessage) -> Result<(), LiveError> {
        self.sink
            .send(Message::Binary(encode_client(&msg)))
            .await
            .map_err(LiveError::Send)
    }

    /// Streams `samples` then 1.5 s of silence as `AudioChunk` frames of `frame_ms`,
    /// paced so frame `n` leaves at `start + (samples before n) / 16 000 Hz / speed`
    /// (`speed` 0: no pacing). Stops early, without error, if the interview ends.
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
            if self.over() {
                info!(
                    frames_sent,
                    "the interview ended while answering; stopping the answer"
                );
                return Ok(());
            }
            sent_samples += frame.len() / 2;
            self.send(ClientMessage::Audio(frame)).await?;
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

/// Reads the server's messages: logs them, tracks interviewer audio queued for playback
/// (dropped on `Interrupted`), and passes start, turn ends and the end on.
async fn read_socket(mut stream: SplitStream<Socket>, tx: mpsc::Sender<LiveEvent>) {
    let mut queued_audio_bytes = 0usize;
    while let Some(frame) = stream.next().await {
        let event = match frame {
            Ok(Message::Binary(buf)) => match decode_server(buf) {
                Ok(msg) => on_server_message(msg, &mut queued_audio_bytes),
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

fn on_server_message(msg: ServerMessage, queued_audio_bytes: &mut usize) -> Option<LiveEvent> {
    match msg {
        ServerMessage::SessionStarted(s) => {
            info!(
                interview_id = %s.interview_id,
                max_duration_ms = s.max_duration_ms,
                "interview started"
            );
            Some(LiveEvent::Started)
        }
        ServerMessage::SessionResumed(s) => {
            info!(
                interview_id = %s.interview_id,
                elapsed_ms = s.elapsed_ms,
                entries = s.transcript.len(),
                "interview resumed"
            );
            Some(LiveEvent::Started)
        }
        ServerMessage::AudioResponse(a) => {
            // This client does not play audio; it keeps the books a player would.
            *queued_audio_bytes += a.audio_content.len();
            None
        }
        ServerMessage::Interrupted(_) => {
            info!(
                dropped_ms = *queued_audio_bytes / AI_AUDIO_BYTES_PER_MS,
                "interviewer interrupted; playback flushed"
            );
            *queued_audio_bytes = 0;
            None
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
                    audio_ms = *queued_audio_bytes / AI_AUDIO_BYTES_PER_MS,
                    "interviewer waits for an answer"
                );
                *queued_audio_bytes = 0;
                Some(LiveEvent::TurnComplete)
            } else {
                None
            }
        }
        ServerMessage::ErrorResponse(e) => {
            warn!(code = e.code, message = %e.message, "the server reported an error");
            None
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
        let mut queued = 0;
        let fragment = ServerMessage::TranscriptUpdate(proto::TranscriptUpdate {
            speaker: "AI".into(),
            text: "Tell me".into(),
            ..Default::default()
        });
        assert!(on_server_message(fragment, &mut queued).is_none());
        let audio = ServerMessage::AudioResponse(proto::AudioResponse {
            audio_content: bytes::Bytes::from(vec![0u8; 4_800]),
        });
        assert!(on_server_message(audio, &mut queued).is_none());
        assert_eq!(queued, 4_800);
        assert!(on_server_message(
            ServerMessage::Interrupted(proto::Interrupted {}),
            &mut queued
        )
        .is_none());
        assert_eq!(queued, 0);
        let done = ServerMessage::TranscriptUpdate(proto::TranscriptUpdate {
            speaker: "AI".into(),
            text: "Tell me about yourself.".into(),
            is_final: true,
            turn_complete: true,
            start_ms: 0,
        });
        assert!(matches!(
            on_server_message(done, &mut queued),
            Some(LiveEvent::TurnComplete)
        ));
        let user_final = ServerMessage::TranscriptUpdate(proto::TranscriptUpdate {
            speaker: "USER".into(),
            text: "Hi".into(),
            is_final: true,
            turn_complete: true,
            start_ms: 0,
        });
        assert!(on_server_message(user_final, &mut queued).is_none());
        let ended = ServerMessage::SessionEnded(proto::SessionEnded {
            reason: EndedReason::ModelEnded as i32,
        });
        assert!(matches!(
            on_server_message(ended, &mut queued),
            Some(LiveEvent::Ended(r)) if r == "MODEL_ENDED"
        ));
    }
}
