//! A Gemini Live simulator: a WebSocket server on loopback that speaks the wire protocol
//! of the gemini-live-protocol notes and plays a scripted interviewer.
//!
//! Per connection it:
//! - refuses the upgrade with HTTP 404 unless the path ends with `BidiGenerateContent` or
//!   `BidiGenerateContentConstrained`, and with HTTP 401 unless an `x-goog-api-key` header,
//!   an `Authorization: Token` header or a `key` / `access_token` query parameter is
//!   present; the constrained path takes only an ephemeral token minted by the REST side's
//!   `POST /v1alpha/auth_tokens`, sent one way only, with a use left (§1.2, §1.3). Every
//!   upgrade's path and credential form is recorded ([`SimulatorHandle::upgrades`]);
//! - requires `setup` as the first message (else close 1007 "Request contains an invalid
//!   argument."), and answers `{"setupComplete": {}}` pretty-printed in a **Binary** frame,
//!   as the real server does (§2);
//! - waits for a kickoff (`clientContent` with `turnComplete`, `realtimeInput.text`, or a
//!   first spoken candidate turn), then speaks the greeting and first question of an
//!   [`InterviewScript`] drawn from the setup's system instruction; after each candidate
//!   turn it speaks the next question, and after the last answer the closing line, then
//!   closes with code 1000. A later `clientContent` turn that asks to wrap up ("wrap up",
//!   "time is nearly up", ...) goes straight to the closing line; any other later
//!   `clientContent` turn counts as a candidate turn. `clientContent` and
//!   `realtimeInput.text` interrupt a line that is still playing, as on the real service
//!   (§3.3);
//! - speaks a line as `serverContent` messages of 100 ms of 24 kHz PCM16LE audio each
//!   (4 800 bytes, base64 `inlineData`), some with an `outputTranscription` fragment, then
//!   `generationComplete`, then `turnComplete` with a `usageMetadata` (§4.1);
//! - ends candidate turns with a [`Vad`] on the audio's own sample timeline (800 ms of
//!   non-speech after at least 200 ms of speech, or `silenceDurationMs` from the setup), on
//!   `audioStreamEnd`, or with one `realtimeInput.text`; it does no speech recognition, so
//!   it never sends `inputTranscription` for audio; with
//!   `realtimeInputConfig.automaticActivityDetection.disabled` its VAD is off and a turn
//!   is what lies between the client's `activityStart` and `activityEnd` (activity signals
//!   without it are closed with 1007, §3.2); with `activityHandling: NO_INTERRUPTION`
//!   candidate activity never cuts a line;
//! - on candidate speech while the line is still "playing" (from the start of the turn
//!   until the audio's duration has passed on the wall clock) sends `interrupted`, drops the
//!   rest of the line, then `turnComplete` (barge-in, §4.1);
//! - closes with 1007 "realtime_input.media_chunks is deprecated. Use audio, video, or text
//!   instead." on `mediaChunks` (§3.2), and 1007 on anything malformed;
//! - records every client message as JSON ([`SimulatorHandle::recorded`]);
//! - sends `toolCall`, `toolCallCancellation` and `turnComplete` with a
//!   `turnCompleteReason` on cue ([`Fault`]); while a tool call is unanswered, candidate
//!   audio is closed with 1008 [`OPERATION_ABORTED`] (§3.4);
//! - when the setup asks for `sessionResumption`, sends `sessionResumptionUpdate` handles
//!   (`resumable: false` with an empty handle while a line is being generated, a new
//!   `resumable: true` handle after `setupComplete`, `generationComplete` and
//!   `turnComplete`), and on a setup with `sessionResumption.handle` continues that
//!   session's script where it was (a line cut while being generated is said again; an
//!   unknown handle is closed with 1007, §4.4); a `clientContent` history with `model`
//!   turns counts those turns as lines already said;
//! - plays the faults of [`SimulatorConfig::faults`] ([`Fault`], [`FaultTrigger`]),
//!   refuses upgrades with [`SimulatorConfig::refuse_upgrades`], frames JSON as
//!   [`SimulatorConfig::binary_frames`] and [`SimulatorConfig::pretty_json`] say, and sends
//!   `goAway` every [`SimulatorConfig::go_away_every`] with a close 1011
//!   [`DEADLINE_EXPIRED`] [`SimulatorConfig::go_away_close_after`] later.
//!
//! With [`SimulatorConfig::load`] it is a lean model peer for load tests instead ([`load`]):
//! one 100 ms chunk and a transcript fragment per 100 ms of candidate audio, with timestamps
//! in the audio, and none of the above.

mod faults;
mod feedback_plan;
pub mod load;
mod planned;
mod rest;
mod script;
mod speech;
mod vad;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub use faults::{Fault, FaultTrigger, ScriptedFault, DEADLINE_EXPIRED, OPERATION_ABORTED};
pub use planned::{planned_questions, Manner, PlannedFollowUp};
pub use rest::{FeedbackBehaviour, FABRICATED_QUOTE, QUOTE_WORDS};
pub use script::{
    transcription_fragments, InterviewScript, MAX_QUESTIONS, MAX_TIMED_QUESTIONS, MIN_QUESTIONS,
    QUESTIONS_PER_MINUTE,
};
pub use speech::{
    espeak, espeak_available, resample, silence_for, speak, SpeechMode, OUTPUT_SAMPLE_RATE_HZ,
    SILENT_WORDS_PER_SECOND,
};
pub use vad::{
    Vad, VadEvent, DEFAULT_SILENCE_DURATION_MS, MIN_SPEECH_MS, SPEECH_THRESHOLD_DBFS, WINDOW_MS,
};

use crate::client::websocket_config;
use crate::protocol::{decode_base64, OUTPUT_AUDIO_MIME};

/// The path of the simulated endpoint (the real `v1beta` path, §1.1).
pub const SIMULATOR_PATH: &str =
    "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent";

/// The path of the simulated ephemeral-token endpoint (the real `v1alpha` constrained
/// path, §1.1).
pub const SIMULATOR_TOKEN_PATH: &str =
    "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained";

/// Close reason for a malformed or out-of-order message (as observed, §6.2).
pub const INVALID_ARGUMENT: &str = "Request contains an invalid argument.";

/// Close reason for `realtimeInput.mediaChunks` (as observed, §3.2).
pub const MEDIA_CHUNKS_DEPRECATED: &str =
    "realtime_input.media_chunks is deprecated. Use audio, video, or text instead.";

/// Audio per `serverContent` message: 100 ms at 24 000 Hz PCM16LE = 4 800 bytes.
pub const CHUNK_BYTES: usize = 4_800;

/// Settings of a [`Simulator`]. Start from `Default` and use the `with_*` setters.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SimulatorConfig {
    /// Where to listen; default `127.0.0.1:0` (a free port on loopback).
    pub addr: SocketAddr,
    /// How many questions the interviewer asks, clamped to 4..=6; default 5. When the
    /// setup's system instruction states the interview's length
    /// ([`crate::timed_interviewer_instruction`]), the interviewer plans questions for the
    /// whole length instead ([`InterviewScript::from_instruction`]), unless
    /// `plan_by_length` is off.
    pub questions: usize,
    /// Plan the questions from the interview length the instruction states; default
    /// `true`. [`SimulatorConfig::with_questions`] turns it off, so the interviewer asks
    /// exactly that many ([`InterviewScript::with_question_count`]).
    pub plan_by_length: bool,
    /// How lines are voiced; default [`SpeechMode::Auto`].
    pub voice: SpeechMode,
    /// Pace audio at 100 ms per 100 ms chunk. Default `false`: send as fast as possible, as
    /// the real service sends faster than real time (§4.1, §5).
    pub realtime: bool,
    /// Hold `turnComplete` until the line's audio duration has passed on the wall clock, as
    /// the real server does while it assumes playback (§4.1). Default `true`. When `false`,
    /// `turnComplete` follows `generationComplete` at once and the line can no longer be
    /// interrupted after it: handy for fast tests.
    pub hold_turn_for_playback: bool,
    /// Send `{"goAway": {"timeLeft": "50s"}}` this long after the connection opens.
    pub go_away_after: Option<Duration>,
    /// Close the connection this long after it opens, with this code and reason.
    pub close_after: Option<(Duration, u16, String)>,
    /// Send server messages in Binary frames (as the real server does, §2); `false` for
    /// Text frames. Default `true`.
    pub binary_frames: bool,
    /// Pretty-print server JSON (as the real server does, §2); `false` for compact JSON.
    /// Default `true`.
    pub pretty_json: bool,
    /// Send `goAway` this long after each connection opens, and again every such interval
    /// while it stays open. Default `None`.
    pub go_away_every: Option<Duration>,
    /// With [`SimulatorConfig::go_away_every`]: `timeLeft` of each `goAway`, and close the
    /// connection with 1011 [`DEADLINE_EXPIRED`] that long after it unless the client left
    /// first (§4.3). Default `None`: `timeLeft` 50 s and no close.
    pub go_away_close_after: Option<Duration>,
    /// Faults to play, each on its trigger. Default none.
    pub faults: Vec<ScriptedFault>,
    /// Refuse the first upgrades with these HTTP statuses, one per attempt, in order (for
    /// example `[429]`: quota, §1.2); later upgrades are accepted. Default none.
    pub refuse_upgrades: Vec<u16>,
    /// Honour `setup.sessionResumption` (send handles, resume by handle). Default `true`;
    /// `false` plays a server that ignores it and never sends a handle.
    pub resumption: bool,
    /// What the REST `generateContent` endpoint ([`SimulatorHandle::rest_url`]) returns;
    /// default [`FeedbackBehaviour::FromTranscript`].
    pub feedback: FeedbackBehaviour,
    /// Load mode ([`load`]): answer every 100 ms of candidate audio with a 100 ms chunk and
    /// a transcript fragment, timestamps in the audio, no script, no speech synthesis, no
    /// voice activity detection, nothing recorded. Default `false`.
    pub load: bool,
    /// When the system instruction carries an interview plan, answer a typed answer that
    /// the plan's follow-up policy finds lacking with a follow-up instead of the next
    /// question ([`planned`]). Default `false`: the script's lines in order, whatever the
    /// answers, as tests that pin the lines need; `preppal serve` turns it on.
    pub follow_ups: bool,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            questions: 5,
            plan_by_length: true,
            voice: SpeechMode::Auto,
            realtime: false,
            hold_turn_for_playback: true,
            go_away_after: None,
            close_after: None,
            binary_frames: true,
            pretty_json: true,
            go_away_every: None,
            go_away_close_after: None,
            faults: Vec::new(),
            refuse_upgrades: Vec::new(),
            resumption: true,
            feedback: FeedbackBehaviour::default(),
            load: false,
            follow_ups: false,
        }
    }
}

impl SimulatorConfig {
    /// Sets [`SimulatorConfig::addr`].
    pub fn with_addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }
    /// Sets [`SimulatorConfig::questions`], asked whatever the interview's length
    /// ([`SimulatorConfig::plan_by_length`] off).
    pub fn with_questions(mut self, questions: usize) -> Self {
        self.questions = questions;
        self.plan_by_length = false;
        self
    }
    /// Sets [`SimulatorConfig::voice`].
    pub fn with_voice(mut self, voice: SpeechMode) -> Self {
        self.voice = voice;
        self
    }
    /// Sets [`SimulatorConfig::realtime`].
    pub fn with_realtime(mut self, realtime: bool) -> Self {
        self.realtime = realtime;
        self
    }
    /// Sets [`SimulatorConfig::hold_turn_for_playback`].
    pub fn with_hold_turn_for_playback(mut self, hold: bool) -> Self {
        self.hold_turn_for_playback = hold;
        self
    }
    /// Sets [`SimulatorConfig::go_away_after`].
    pub fn with_go_away_after(mut self, after: Duration) -> Self {
        self.go_away_after = Some(after);
        self
    }
    /// Sets [`SimulatorConfig::close_after`].
    pub fn with_close_after(
        mut self,
        after: Duration,
        code: u16,
        reason: impl Into<String>,
    ) -> Self {
        self.close_after = Some((after, code, reason.into()));
        self
    }
    /// Sets [`SimulatorConfig::binary_frames`].
    pub fn with_binary_frames(mut self, binary: bool) -> Self {
        self.binary_frames = binary;
        self
    }
    /// Sets [`SimulatorConfig::pretty_json`].
    pub fn with_pretty_json(mut self, pretty: bool) -> Self {
        self.pretty_json = pretty;
        self
    }
    /// Sets [`SimulatorConfig::go_away_every`].
    pub fn with_go_away_every(mut self, every: Duration) -> Self {
        self.go_away_every = Some(every);
        self
    }
    /// Sets [`SimulatorConfig::go_away_close_after`].
    pub fn with_go_away_close_after(mut self, after: Duration) -> Self {
        self.go_away_close_after = Some(after);
        self
    }
    /// Adds `fault` at `trigger` on the first connection (see [`ScriptedFault`] for others).
    pub fn with_fault(mut self, trigger: FaultTrigger, fault: Fault) -> Self {
        self.faults.push(ScriptedFault::new(trigger, fault));
        self
    }
    /// Adds a [`ScriptedFault`].
    pub fn with_scripted_fault(mut self, fault: ScriptedFault) -> Self {
        self.faults.push(fault);
        self
    }
    /// Sets [`SimulatorConfig::resumption`].
    pub fn with_resumption(mut self, on: bool) -> Self {
        self.resumption = on;
        self
    }
    /// Sets [`SimulatorConfig::follow_ups`].
    pub fn with_follow_ups(mut self, on: bool) -> Self {
        self.follow_ups = on;
        self
    }

    /// Sets [`SimulatorConfig::load`].
    pub fn with_load(mut self, on: bool) -> Self {
        self.load = on;
        self
    }
    /// Sets [`SimulatorConfig::refuse_upgrades`].
    pub fn with_refused_upgrades(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.refuse_upgrades = statuses.into_iter().collect();
        self
    }
}

/// Where a resumable session is: what a resumption handle resumes.
#[derive(Debug, Clone)]
struct SavedSession {
    script: InterviewScript,
    asked: usize,
    started: bool,
    finishing: bool,
    /// The line being generated when the state was saved: (index, text, closing).
    owed: Option<(usize, String, bool)>,
    prompt_tokens: u64,
    /// The connection that saved it.
    connection: usize,
}

#[derive(Debug, Default)]
struct Shared {
    recorded: Mutex<Vec<Vec<Value>>>,
    connections: AtomicUsize,
    upgrades: AtomicUsize,
    /// Closes the simulator started: (connection, code, reason).
    closes: Mutex<Vec<(usize, u16, String)>>,
    next_session: AtomicU64,
    /// Resumption handle → session id.
    handles: Mutex<HashMap<String, u64>>,
    /// Session id → where that session is.
    sessions: Mutex<HashMap<u64, SavedSession>>,
    /// Ephemeral tokens minted by the REST side: name → new sessions left.
    tokens: Mutex<HashMap<String, u64>>,
    /// The bodies of the `auth_tokens` requests, in order.
    token_requests: Mutex<Vec<Value>>,
    /// Every upgrade request's path and credential form, in order.
    upgrades_seen: Mutex<Vec<UpgradeRecord>>,
    next_token: AtomicU64,
}

/// How an upgrade request carried its credential (gemini-live-protocol notes §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialForm {
    /// `x-goog-api-key` header.
    ApiKeyHeader,
    /// `?key=` query parameter.
    ApiKeyQuery,
    /// `Authorization: Token auth_tokens/...` header.
    TokenHeader,
    /// `?access_token=auth_tokens/...` query parameter.
    TokenQuery,
    /// No credential.
    None,
}

/// One WebSocket upgrade request the simulator saw ([`SimulatorHandle::upgrades`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpgradeRecord {
    /// The request path, without the query.
    pub path: String,
    /// The credential forms present, in the order header key, query key, header token,
    /// query token (more than one means the client sent the credential twice).
    pub credentials: Vec<CredentialForm>,
    /// The credential value, when it was an ephemeral token (`auth_tokens/...`).
    pub token: Option<String>,
}

impl Shared {
    /// Mints an ephemeral token good for `uses` new sessions.
    fn mint_token(&self, uses: u64) -> String {
        let name = format!(
            "auth_tokens/sim-{}",
            self.next_token.fetch_add(1, Ordering::SeqCst) + 1
        );
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.clone(), uses);
        name
    }

    /// Uses `token` for one new session; `false` when it is unknown or used up.
    fn use_token(&self, token: &str) -> bool {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        match tokens.get_mut(token) {
            Some(left) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        }
    }
}

impl Shared {
    fn new_connection(&self) -> usize {
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        recorded.push(Vec::new());
        self.connections.fetch_add(1, Ordering::SeqCst);
        recorded.len() - 1
    }

    /// Saves where `session` is, unless a later connection of it saved first (an old
    /// connection that ends late must not roll the session back).
    fn save(&self, session: u64, state: SavedSession) {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        if sessions
            .get(&session)
            .is_none_or(|saved| saved.connection <= state.connection)
        {
            sessions.insert(session, state);
        }
    }

    fn register_handle(&self, handle: String, session: u64) {
        self.handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(handle, session);
    }

    fn resume(&self, handle: &str) -> Option<(u64, SavedSession)> {
        let session = *self
            .handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(handle)?;
        let state = self
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&session)?
            .clone();
        Some((session, state))
    }

    fn record(&self, connection: usize, message: Value) {
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(list) = recorded.get_mut(connection) {
            list.push(message);
        }
    }
}

/// The Gemini Live simulator. See the module docs for what it does.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Binds `config.addr` and serves connections on a background task until
    /// [`SimulatorHandle::shutdown`] or the handle is dropped.
    ///
    /// # Errors
    /// The bind error, for example when the address is in use.
    pub async fn start(config: SimulatorConfig) -> std::io::Result<SimulatorHandle> {
        let listener = TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let config = Arc::new(config);
        // The REST side (`generateContent`) listens on a second port of the same address.
        let (rest_addr, rest_task) = rest::start(
            addr.ip(),
            Arc::clone(&config),
            Arc::clone(&shared),
            shutdown_rx.clone(),
        )
        .await?;
        let live = accept_loop(listener, Arc::clone(&shared), config, shutdown_rx);
        let task = tokio::spawn(async move {
            live.await;
            let _ = rest_task.await;
        });
        Ok(SimulatorHandle {
            addr,
            rest_addr,
            shared,
            shutdown_tx,
            task: Some(task),
        })
    }
}

/// A running [`Simulator`]. Dropping it stops the simulator too.
#[derive(Debug)]
pub struct SimulatorHandle {
    addr: SocketAddr,
    rest_addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown_tx: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl SimulatorHandle {
    /// The address the simulator listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint URL: `ws://127.0.0.1:PORT/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent`.
    pub fn url(&self) -> String {
        format!("ws://{}{SIMULATOR_PATH}", self.addr)
    }

    /// The base URL of the REST side, for [`crate::FeedbackClient::new`]:
    /// `http://127.0.0.1:PORT` (it serves `POST /v1beta/models/{model}:generateContent`).
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.rest_addr)
    }

    /// Every client message of every connection, in order: one list per accepted WebSocket
    /// connection, in the order the connections were accepted. A message that is not JSON is
    /// recorded as a JSON string of its text.
    pub fn recorded(&self) -> Vec<Vec<Value>> {
        self.shared
            .recorded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every WebSocket upgrade request, accepted or refused, in order: its path and the
    /// credential forms it carried.
    pub fn upgrades(&self) -> Vec<UpgradeRecord> {
        self.shared
            .upgrades_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The JSON bodies of the `POST /v1alpha/auth_tokens` requests, in order.
    pub fn token_requests(&self) -> Vec<Value> {
        self.shared
            .token_requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The ephemeral-token endpoint URL: `ws://127.0.0.1:PORT/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained`.
    pub fn token_url(&self) -> String {
        format!("ws://{}{SIMULATOR_TOKEN_PATH}", self.addr)
    }

    /// How many WebSocket connections were accepted (refused upgrades do not count).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Every close the simulator itself started, as `(connection, code, reason)`, in order
    /// (connections are numbered from 0 in accept order). Closes started by the client are
    /// not listed.
    pub fn server_closes(&self) -> Vec<(usize, u16, String)> {
        self.shared
            .closes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops accepting, closes open connections with 1001 "Simulator shutting down", and
    /// waits (at most about 2 s) for them to finish.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown_tx.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimulatorHandle {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    config: Arc<SimulatorConfig>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve(stream, Arc::clone(&shared), Arc::clone(&config), shutdown.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "simulator accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let drain = async { while connections.join_next().await.is_some() {} };
    if timeout(Duration::from_secs(2), drain).await.is_err() {
        connections.abort_all();
    }
}

fn refuse(status: http::StatusCode, message: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(message.to_owned()));
    *response.status_mut() = status;
    response
}

/// What an upgrade request carries: its path and credentials (§1.2).
fn upgrade_record(request: &Request) -> UpgradeRecord {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    // The query, form-decoded by the `url` parser behind `reqwest::Url`.
    let pairs: Vec<(String, String)> = request
        .uri()
        .query()
        .and_then(|q| reqwest::Url::parse(&format!("http://simulator/?{q}")).ok())
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default();
    let query = |name: &str| {
        pairs
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let header_token =
        header("authorization").and_then(|v| v.strip_prefix("Token ").map(str::to_owned));
    let query_token = query("access_token");
    let mut credentials = Vec::new();
    if header("x-goog-api-key").is_some() {
        credentials.push(CredentialForm::ApiKeyHeader);
    }
    if query("key").is_some() {
        credentials.push(CredentialForm::ApiKeyQuery);
    }
    if header_token.is_some() {
        credentials.push(CredentialForm::TokenHeader);
    }
    if query_token.is_some() {
        credentials.push(CredentialForm::TokenQuery);
    }
    if credentials.is_empty() {
        credentials.push(CredentialForm::None);
    }
    UpgradeRecord {
        path: request.uri().path().to_owned(),
        credentials,
        token: header_token.or(query_token),
    }
}

/// The upgrade check: path and credential (§1.1, §1.2). `BidiGenerateContent` takes an API
/// key (header or query) or a token; `BidiGenerateContentConstrained` takes only an
/// ephemeral token minted by the REST side, with a use left, sent one way only.
// The signature is tungstenite's handshake `Callback`; its error type is not ours to box.
#[allow(clippy::result_large_err)]
fn check_upgrade(
    record: &UpgradeRecord,
    shared: &Shared,
    response: Response,
) -> Result<Response, ErrorResponse> {
    const UNREGISTERED: &str =
        "Method doesn't allow unregistered callers (callers without established identity).";
    if record.path.ends_with("BidiGenerateContentConstrained") {
        let token_forms = record
            .credentials
            .iter()
            .filter(|c| matches!(c, CredentialForm::TokenHeader | CredentialForm::TokenQuery))
            .count();
        return match &record.token {
            Some(token) if token_forms == 1 && shared.use_token(token) => Ok(response),
            _ => Err(refuse(http::StatusCode::UNAUTHORIZED, UNREGISTERED)),
        };
    }
    if !record.path.ends_with("BidiGenerateContent") {
        return Err(refuse(http::StatusCode::NOT_FOUND, "Not Found"));
    }
    if record.credentials.contains(&CredentialForm::None) {
        Err(refuse(http::StatusCode::UNAUTHORIZED, UNREGISTERED))
    } else {
        Ok(response)
    }
}

async fn serve(
    stream: TcpStream,
    shared: Arc<Shared>,
    config: Arc<SimulatorConfig>,
    shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let attempt = shared.upgrades.fetch_add(1, Ordering::SeqCst);
    let refused = config.refuse_upgrades.get(attempt).copied();
    // The signature is tungstenite's handshake `Callback`; its error type is not ours to box.
    #[allow(clippy::result_large_err)]
    let callback = {
        let shared = Arc::clone(&shared);
        move |request: &Request, response: Response| {
            let record = upgrade_record(request);
            shared
                .upgrades_seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(record.clone());
            match refused {
                Some(status) => Err(refuse(
                    http::StatusCode::from_u16(status)
                        .unwrap_or(http::StatusCode::TOO_MANY_REQUESTS),
                    "Resource has been exhausted (e.g. check quota).",
                )),
                None => check_upgrade(&record, &shared, response),
            }
        }
    };
    let handshake =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(websocket_config()));
    let ws = match timeout(Duration::from_secs(10), handshake).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "simulator refused or failed an upgrade");
            return;
        }
        Err(_) => {
            tracing::debug!("simulator upgrade timed out");
            return;
        }
    };
    if config.load {
        shared.connections.fetch_add(1, Ordering::SeqCst);
        return load::serve(ws, &config).await;
    }
    let index = shared.new_connection();
    let opened = Instant::now();
    let faults = config
        .faults
        .iter()
        .filter(|f| f.applies_to(index))
        .cloned()
        .collect::<Vec<_>>();
    let fault_timers = faults
        .iter()
        .filter_map(|f| match f.trigger {
            FaultTrigger::After(d) => Some((opened + d, f.fault.clone())),
            _ => None,
        })
        .collect();
    let mut connection = Connection {
        ws,
        shared,
        index,
        go_away_at: config
            .go_away_after
            .or(config.go_away_every)
            .map(|d| opened + d),
        close_at: config.close_after.as_ref().map(|(d, _, _)| opened + *d),
        close_with: None,
        faults,
        fault_timers,
        silent: false,
        session: None,
        handle_seq: 0,
        config,
        script: InterviewScript::from_instruction("", 5),
        vad: Vad::new(16_000, DEFAULT_SILENCE_DURATION_MS),
        silence_duration_ms: DEFAULT_SILENCE_DURATION_MS,
        started: false,
        asked: 0,
        finishing: false,
        speaking: None,
        prompt_tokens: 0,
        pending_tool_calls: Vec::new(),
        turn_complete_reason: None,
        manual_activity: false,
        no_interruption: false,
        in_activity: false,
        reply_owed: false,
        probes: 0,
    };
    let _ = connection.run(shutdown).await;
    connection.save_session();
}

/// The connection is over (closed, or the peer is gone).
struct Stop;

type Step = Result<(), Stop>;

struct Speaking {
    /// Messages still to send, each with its offset from the start of the line.
    queue: VecDeque<(Duration, Value)>,
    /// The line's index in the script (the closing line is `lines.len()`) and its text.
    line: usize,
    text: String,
    /// The `DuringLine` faults of this line have fired.
    faults_fired: bool,
    started: Instant,
    playback_end: Instant,
    generation_complete_sent: bool,
    response_tokens: u64,
    closing: bool,
}

struct Connection {
    ws: WebSocketStream<TcpStream>,
    shared: Arc<Shared>,
    index: usize,
    config: Arc<SimulatorConfig>,
    script: InterviewScript,
    vad: Vad,
    silence_duration_ms: u64,
    started: bool,
    asked: usize,
    finishing: bool,
    speaking: Option<Speaking>,
    prompt_tokens: u64,
    go_away_at: Option<Instant>,
    close_at: Option<Instant>,
    /// The code and reason for `close_at`, overriding `close_after`'s.
    close_with: Option<(u16, String)>,
    faults: Vec<ScriptedFault>,
    fault_timers: Vec<(Instant, Fault)>,
    /// A stall or `goAway`-then-silence: nothing more is sent until the close.
    silent: bool,
    /// The resumable session this connection serves, when the setup asked for one.
    session: Option<u64>,
    handle_seq: u64,
    /// Ids of tool calls sent and not yet answered nor cancelled.
    pending_tool_calls: Vec<String>,
    /// `turnCompleteReason` and `waitingForInput` for the next `turnComplete`.
    turn_complete_reason: Option<(String, bool)>,
    /// `automaticActivityDetection.disabled`: no VAD; turns are `activityStart` ..
    /// `activityEnd`.
    manual_activity: bool,
    /// `activityHandling: NO_INTERRUPTION`: candidate activity never cuts a line.
    no_interruption: bool,
    /// Between `activityStart` and `activityEnd` (manual activity).
    in_activity: bool,
    /// A candidate turn ended while a line played under `NO_INTERRUPTION`: the next line
    /// follows that line's `turnComplete`.
    reply_owed: bool,
    /// Follow-ups asked on the current question ([`planned`]).
    probes: u8,
}

/// The server's JSON: pretty-printed in Binary frames as the real server sends it (§2), or
/// as `config` says.
fn server_frame(value: &Value, config: &SimulatorConfig) -> Message {
    let text = if config.pretty_json {
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    } else {
        value.to_string()
    };
    if config.binary_frames {
        Message::Binary(text.into_bytes().into())
    } else {
        Message::Text(text.into())
    }
}

/// A `google.protobuf.Duration` JSON string: `"50s"`, `"2.5s"`.
fn duration_string(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}.{:03}s", d.as_secs(), d.subsec_millis())
    }
}

fn top_key(value: &Value) -> Option<&str> {
    let object = value.as_object()?;
    if object.len() != 1 {
        return None;
    }
    object.keys().next().map(String::as_str)
}

fn field<'a>(value: &'a Value, camel: &str, snake: &str) -> Option<&'a Value> {
    value.get(camel).or_else(|| value.get(snake))
}

/// The `rate=` of a MIME type such as `audio/pcm;rate=16000`; 16 000 Hz when absent.
fn mime_rate(mime: Option<&str>) -> u32 {
    mime.and_then(|m| m.split(';').find_map(|p| p.trim().strip_prefix("rate=")))
        .and_then(|r| r.trim().parse().ok())
        .filter(|&r: &u32| (8_000..=192_000).contains(&r))
        .unwrap_or(16_000)
}

fn is_wrap_up(text: &str) -> bool {
    let t = text.to_lowercase();
    [
        "wrap up",
        "wrap-up",
        "nearly up",
        "almost up",
        "close the interview",
        "end the interview",
    ]
    .iter()
    .any(|k| t.contains(k))
}

impl Connection {
    async fn run(&mut self, mut shutdown: watch::Receiver<bool>) -> Step {
        self.setup(&mut shutdown).await?;
        loop {
            self.pump().await?;
            let fault_wake = self.fault_timers.iter().map(|(at, _)| *at).min();
            let wake = [
                self.next_speaking_wake(),
                self.go_away_at,
                self.close_at,
                fault_wake,
            ]
            .into_iter()
            .flatten()
            .min();
            tokio::select! {
                biased;
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        return self.close(1001, "Simulator shutting down").await;
                    }
                }
                message = self.ws.next() => self.on_message(message).await?,
                () = sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => self.on_timers().await?,
            }
        }
    }

    fn record(&self, value: Value) {
        self.shared.record(self.index, value);
    }

    async fn send(&mut self, value: &Value) -> Step {
        let frame = server_frame(value, &self.config);
        self.ws.send(frame).await.map_err(|_| Stop)
    }

    /// Saves where this connection's resumable session is, for a later resume.
    fn save_session(&self) {
        let Some(session) = self.session else {
            return;
        };
        let owed = self
            .speaking
            .as_ref()
            .filter(|s| !s.generation_complete_sent)
            .map(|s| (s.line, s.text.clone(), s.closing));
        self.shared.save(
            session,
            SavedSession {
                script: self.script.clone(),
                asked: self.asked,
                started: self.started,
                finishing: self.finishing,
                owed,
                prompt_tokens: self.prompt_tokens,
                connection: self.index,
            },
        );
    }

    /// Sends a `sessionResumptionUpdate`, when the setup asked for them: a new handle with
    /// `resumable: true`, or an empty one with `resumable: false` (§4.4).
    async fn send_resumption_update(&mut self, resumable: bool) -> Step {
        let Some(session) = self.session else {
            return Ok(());
        };
        let handle = if resumable {
            self.handle_seq += 1;
            self.save_session();
            let handle = format!("sim-{session}-{}-{}", self.index, self.handle_seq);
            self.shared.register_handle(handle.clone(), session);
            handle
        } else {
            String::new()
        };
        self.send(
            &json!({ "sessionResumptionUpdate": { "newHandle": handle, "resumable": resumable } }),
        )
        .await
    }

    /// Plays the faults of `trigger`.
    async fn fire(&mut self, trigger: FaultTrigger) -> Step {
        let due: Vec<Fault> = self
            .faults
            .iter()
            .filter(|f| f.trigger == trigger)
            .map(|f| f.fault.clone())
            .collect();
        for fault in due {
            self.play(fault).await?;
        }
        Ok(())
    }

    async fn play(&mut self, fault: Fault) -> Step {
        match fault {
            Fault::Close { code, reason } => self.close(code, &reason).await,
            Fault::GoAwayThenSilence { time_left } => {
                self.send(&json!({ "goAway": { "timeLeft": duration_string(time_left) } }))
                    .await?;
                self.go_silent(Some(Instant::now() + time_left));
                Ok(())
            }
            Fault::Stall => {
                self.go_silent(None);
                Ok(())
            }
            Fault::Interrupt {
                audio_in_same_message,
                late_audio,
            } => {
                let Some(s) = self.speaking.take() else {
                    return Ok(());
                };
                let mut audio = s
                    .queue
                    .into_iter()
                    .filter_map(|(_, m)| m.pointer("/serverContent/modelTurn").cloned());
                let mut content = json!({ "interrupted": true });
                if audio_in_same_message {
                    if let Some(turn) = audio.next() {
                        content["modelTurn"] = turn;
                    }
                }
                self.send(&json!({ "serverContent": content })).await?;
                if late_audio {
                    if let Some(turn) = audio.next() {
                        self.send(&json!({ "serverContent": { "modelTurn": turn } }))
                            .await?;
                    }
                }
                let usage = self.usage(0);
                let message = self.turn_complete(usage);
                self.send(&message).await?;
                self.send_resumption_update(true).await?;
                if s.closing {
                    return self.close(1000, "").await;
                }
                Ok(())
            }
            Fault::UsageOnly => {
                let usage = self.usage(0);
                self.send(&json!({ "usageMetadata": usage })).await
            }
            Fault::SlowPongs(pause) => {
                tokio::time::sleep(pause).await;
                Ok(())
            }
            Fault::ToolCall { id, name, args } => {
                self.pending_tool_calls.push(id.clone());
                self.send(&json!({ "toolCall": { "functionCalls": [
                    { "id": id, "name": name, "args": args } ] } }))
                    .await
            }
            Fault::ToolCallCancellation { ids } => {
                self.pending_tool_calls.retain(|id| !ids.contains(id));
                self.send(&json!({ "toolCallCancellation": { "ids": ids } }))
                    .await
            }
            Fault::TurnCompleteReason {
                reason,
                waiting_for_input,
            } => {
                self.turn_complete_reason = Some((reason, waiting_for_input));
                Ok(())
            }
        }
    }

    /// A `turnComplete` server message with `usage`, carrying the scripted
    /// `turnCompleteReason` once if one is due.
    fn turn_complete(&mut self, usage: Value) -> Value {
        let mut content = json!({ "turnComplete": true });
        if let Some((reason, waiting)) = self.turn_complete_reason.take() {
            content["turnCompleteReason"] = Value::String(reason);
            if waiting {
                content["waitingForInput"] = Value::Bool(true);
            }
        }
        json!({ "serverContent": content, "usageMetadata": usage })
    }

    /// Sends nothing more; closes with 1011 [`DEADLINE_EXPIRED`] at `close_at`, if given.
    fn go_silent(&mut self, close_at: Option<Instant>) {
        // The line being generated stays as it was: a resume says it again.
        self.silent = true;
        self.go_away_at = None;
        self.close_at = close_at;
        self.close_with = Some((1011, DEADLINE_EXPIRED.to_owned()));
    }

    /// Sends a close frame, then reads until the peer's reply or 2 s, and stops.
    async fn close(&mut self, code: u16, reason: &str) -> Step {
        self.shared
            .closes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((self.index, code, reason.to_owned()));
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        let _ = self.ws.close(Some(frame)).await;
        let drain = async { while let Some(Ok(_)) = self.ws.next().await {} };
        let _ = timeout(Duration::from_secs(2), drain).await;
        Err(Stop)
    }

    /// Reads the next data message as JSON and records it. `Ok(None)` for control frames.
    async fn read_json(
        &mut self,
        message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Result<Option<Value>, Stop> {
        let text = match message {
            None | Some(Err(_)) => return Err(Stop),
            Some(Ok(Message::Text(text))) => text.as_str().to_owned(),
            Some(Ok(Message::Binary(data))) => match String::from_utf8(data.to_vec()) {
                Ok(text) => text,
                Err(_) => {
                    self.record(Value::String("<binary frame that is not UTF-8>".to_owned()));
                    return self.close(1007, INVALID_ARGUMENT).await.map(|()| None);
                }
            },
            // The peer's close: tungstenite queues the reply, which the next read flushes.
            // Where the session is gets saved first: the client may resume at once.
            Some(Ok(Message::Close(_))) => {
                self.save_session();
                let _ = timeout(Duration::from_secs(2), self.ws.next()).await;
                return Err(Stop);
            }
            Some(Ok(_)) => return Ok(None),
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(value) => {
                self.record(value.clone());
                Ok(Some(value))
            }
            Err(_) => {
                self.record(Value::String(text));
                self.close(1007, INVALID_ARGUMENT).await.map(|()| None)
            }
        }
    }

    async fn setup(&mut self, shutdown: &mut watch::Receiver<bool>) -> Step {
        let value = loop {
            let message = tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        return self.close(1001, "Simulator shutting down").await;
                    }
                    continue;
                }
                message = self.ws.next() => message,
            };
            if let Some(value) = self.read_json(message).await? {
                break value;
            }
        };
        let Some(setup) = value
            .get("setup")
            .filter(|_| top_key(&value) == Some("setup"))
        else {
            return self.close(1007, INVALID_ARGUMENT).await;
        };
        if !setup.get("model").is_some_and(Value::is_string) {
            return self.close(1007, INVALID_ARGUMENT).await;
        }
        let instruction: String = field(setup, "systemInstruction", "system_instruction")
            .and_then(|si| si.get("parts"))
            .and_then(Value::as_array)
            .map(|parts| {
                parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        let realtime_input_config = field(setup, "realtimeInputConfig", "realtime_input_config");
        let aad = realtime_input_config.and_then(|c| {
            field(
                c,
                "automaticActivityDetection",
                "automatic_activity_detection",
            )
        });
        self.manual_activity =
            aad.and_then(|a| a.get("disabled")).and_then(Value::as_bool) == Some(true);
        self.no_interruption = realtime_input_config
            .and_then(|c| field(c, "activityHandling", "activity_handling"))
            .and_then(Value::as_str)
            == Some("NO_INTERRUPTION");
        if let Some(ms) = aad
            .and_then(|a| field(a, "silenceDurationMs", "silence_duration_ms"))
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
        {
            self.silence_duration_ms = ms.clamp(100, 10_000);
            self.vad = Vad::new(16_000, self.silence_duration_ms);
        }
        self.prompt_tokens = (instruction.len() / 4) as u64;
        self.script = if self.config.plan_by_length {
            InterviewScript::from_instruction(&instruction, self.config.questions)
        } else {
            InterviewScript::with_question_count(&instruction, self.config.questions)
        };
        let mut owed = None;
        let resumption = field(setup, "sessionResumption", "session_resumption")
            .filter(|_| self.config.resumption);
        if let Some(resumption) = resumption {
            match resumption.get("handle").and_then(Value::as_str) {
                Some(handle) if !handle.is_empty() => {
                    let Some((session, saved)) = self.shared.resume(handle) else {
                        return self.close(1007, INVALID_ARGUMENT).await;
                    };
                    self.session = Some(session);
                    self.script = saved.script;
                    self.asked = saved.asked;
                    self.started = saved.started;
                    self.finishing = saved.finishing;
                    self.prompt_tokens = saved.prompt_tokens;
                    owed = Some(saved.owed);
                }
                _ => {
                    self.session = Some(self.shared.next_session.fetch_add(1, Ordering::SeqCst));
                }
            }
        }
        self.send(&json!({ "setupComplete": {} })).await?;
        self.send_resumption_update(true).await?;
        match owed {
            // A resumed session whose line was cut while being generated says it again.
            Some(Some((line, text, closing))) => self.speak_line(line, text, closing).await?,
            // A resumed session that had said its closing line closes as it would have.
            Some(None) if self.finishing => return self.close(1000, "").await,
            _ => {}
        }
        self.fire(FaultTrigger::AfterSetup).await
    }

    async fn on_message(
        &mut self,
        message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Step {
        let Some(value) = self.read_json(message).await? else {
            return Ok(());
        };
        if self.silent {
            return Ok(());
        }
        match top_key(&value) {
            Some("realtimeInput" | "realtime_input") => {
                let input = value
                    .as_object()
                    .and_then(|o| o.values().next())
                    .cloned()
                    .unwrap_or(Value::Null);
                self.on_realtime_input(&input).await
            }
            Some("clientContent" | "client_content") => {
                let content = value
                    .as_object()
                    .and_then(|o| o.values().next())
                    .cloned()
                    .unwrap_or(Value::Null);
                self.on_client_content(&content).await
            }
            Some("toolResponse" | "tool_response") => {
                let answered: Vec<&str> = value
                    .as_object()
                    .and_then(|o| o.values().next())
                    .and_then(|r| field(r, "functionResponses", "function_responses"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.get("id").and_then(Value::as_str))
                    .collect();
                self.pending_tool_calls
                    .retain(|id| !answered.contains(&id.as_str()));
                Ok(())
            }
            // `setup` again, several top-level keys, or an unknown message.
            _ => self.close(1007, INVALID_ARGUMENT).await,
        }
    }

    async fn on_realtime_input(&mut self, input: &Value) -> Step {
        if field(input, "mediaChunks", "media_chunks").is_some() {
            return self.close(1007, MEDIA_CHUNKS_DEPRECATED).await;
        }
        if input.get("audio").is_some() && !self.pending_tool_calls.is_empty() {
            return self.close(1008, OPERATION_ABORTED).await;
        }
        if let Some(audio) = input.get("audio") {
            let data = audio.get("data").and_then(Value::as_str).unwrap_or("");
            let Ok(pcm) = decode_base64(data) else {
                return self.close(1007, INVALID_ARGUMENT).await;
            };
            let rate = mime_rate(field(audio, "mimeType", "mime_type").and_then(Value::as_str));
            if rate != self.vad.sample_rate_hz() {
                self.vad = Vad::new(rate, self.silence_duration_ms);
            }
            // About 25 tokens per second of audio (§4.5).
            self.prompt_tokens += (pcm.len() as u64 / 2) * 25 / u64::from(rate);
            // With manual activity the client's signals, not the audio, mark the turns.
            let events = if self.manual_activity {
                Vec::new()
            } else {
                self.vad.push_pcm16le(&pcm)
            };
            for event in events {
                match event {
                    VadEvent::SpeechStarted => {
                        if self.speaking.is_some() && !self.no_interruption {
                            self.barge_in().await?;
                        }
                    }
                    VadEvent::TurnEnded => self.candidate_turn_ended().await?,
                }
            }
        }
        let activity_start = field(input, "activityStart", "activity_start").is_some();
        let activity_end = field(input, "activityEnd", "activity_end").is_some();
        if (activity_start || activity_end) && !self.manual_activity {
            // Activity signals only with automatic activity detection disabled (§3.2).
            return self.close(1007, INVALID_ARGUMENT).await;
        }
        if activity_start {
            self.in_activity = true;
            if self.speaking.is_some() && !self.no_interruption {
                self.barge_in().await?;
            }
        }
        if activity_end && std::mem::take(&mut self.in_activity) {
            self.candidate_turn_ended().await?;
        }
        if let Some(text) = input.get("text").and_then(Value::as_str) {
            self.prompt_tokens += (text.len() / 4) as u64;
            if self.speaking.is_some() {
                self.barge_in().await?;
            }
            self.typed_answer_ended(text).await?;
        }
        if field(input, "audioStreamEnd", "audio_stream_end").and_then(Value::as_bool) == Some(true)
            && !self.manual_activity
            && self.vad.stream_end() == Some(VadEvent::TurnEnded)
        {
            self.candidate_turn_ended().await?;
        }
        Ok(())
    }

    async fn on_client_content(&mut self, content: &Value) -> Step {
        let turn_complete =
            field(content, "turnComplete", "turn_complete").and_then(Value::as_bool) == Some(true);
        // A seeded history: the interviewer's earlier lines count as asked.
        let model_turns = content
            .get("turns")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|t| t.get("role").and_then(Value::as_str) == Some("model"))
            .count();
        if model_turns > 0 {
            self.started = true;
            self.asked = self.asked.max(model_turns.min(self.script.lines.len()));
        }
        if !turn_complete {
            return Ok(());
        }
        let text: String = content
            .get("turns")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("parts").and_then(Value::as_array))
            .flatten()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n");
        self.prompt_tokens += (text.len() / 4) as u64;
        // clientContent interrupts any current generation (§3.3).
        if self.speaking.is_some() {
            self.barge_in().await?;
        }
        if self.started && is_wrap_up(&text) {
            if !self.finishing {
                self.finishing = true;
                let closing = self.script.closing.clone();
                self.speak_line(self.script.lines.len(), closing, true)
                    .await?;
            }
            return Ok(());
        }
        self.candidate_turn_ended().await
    }

    /// A candidate turn (or the kickoff) ended: say the next line.
    async fn candidate_turn_ended(&mut self) -> Step {
        if self.finishing {
            return Ok(());
        }
        if self.no_interruption && self.speaking.is_some() {
            self.reply_owed = true;
            return Ok(());
        }
        self.started = true;
        if let Some(line) = self.script.lines.get(self.asked).cloned() {
            self.asked += 1;
            self.speak_line(self.asked - 1, line, false).await
        } else {
            self.finishing = true;
            let closing = self.script.closing.clone();
            self.speak_line(self.script.lines.len(), closing, true)
                .await
        }
    }

    /// Prepares the messages of line `index` of the script and starts the turn.
    async fn speak_line(&mut self, index: usize, line: String, closing: bool) -> Step {
        if self.speaking.is_some() {
            self.barge_in().await?;
        }
        self.send_resumption_update(false).await?;
        let samples = speech::speak(&line, self.config.voice).await;
        let pcm: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let chunks: Vec<&[u8]> = pcm.chunks(CHUNK_BYTES).collect();
        let fragments = transcription_fragments(&line);
        let fragment_count = fragments.len().max(1);
        let mut by_chunk: Vec<Vec<String>> = vec![Vec::new(); chunks.len().max(1)];
        for (i, fragment) in fragments.into_iter().enumerate() {
            let target = i * by_chunk.len() / fragment_count;
            if let Some(list) = by_chunk.get_mut(target) {
                list.push(fragment);
            }
        }
        let chunk_ms = Duration::from_millis(100);
        let mut queue = VecDeque::with_capacity(chunks.len() + by_chunk.len());
        for (i, fragments) in by_chunk.into_iter().enumerate() {
            let at = chunk_ms * i as u32;
            let mut fragments = fragments.into_iter();
            let mut content = serde_json::Map::new();
            if let Some(chunk) = chunks.get(i) {
                content.insert(
                    "modelTurn".to_owned(),
                    json!({ "parts": [ { "inlineData": {
                        "mimeType": OUTPUT_AUDIO_MIME,
                        "data": base64::engine::general_purpose::STANDARD.encode(chunk),
                    } } ] }),
                );
            }
            if let Some(first) = fragments.next() {
                content.insert("outputTranscription".to_owned(), json!({ "text": first }));
            }
            queue.push_back((at, json!({ "serverContent": Value::Object(content) })));
            for extra in fragments {
                queue.push_back((
                    at,
                    json!({ "serverContent": { "outputTranscription": { "text": extra } } }),
                ));
            }
        }
        let duration = speech::duration_of(samples.len());
        let started = Instant::now();
        self.speaking = Some(Speaking {
            queue,
            line: index,
            text: line,
            faults_fired: false,
            started,
            playback_end: started + duration,
            generation_complete_sent: false,
            // About 25 tokens per second of audio (§4.5).
            response_tokens: (duration.as_millis() as u64 * 25).div_ceil(1000),
            closing,
        });
        Ok(())
    }

    fn usage(&self, response_tokens: u64) -> Value {
        json!({
            "promptTokenCount": self.prompt_tokens,
            "responseTokenCount": response_tokens,
            "totalTokenCount": self.prompt_tokens + response_tokens,
            "responseTokensDetails": [ { "modality": "AUDIO", "tokenCount": response_tokens } ],
        })
    }

    fn next_speaking_wake(&self) -> Option<Instant> {
        if self.silent {
            return None;
        }
        let s = self.speaking.as_ref()?;
        match s.queue.front() {
            Some((at, _)) if self.config.realtime => Some(s.started + *at),
            Some(_) => Some(Instant::now()),
            None if !s.generation_complete_sent => Some(Instant::now()),
            None if self.config.hold_turn_for_playback => Some(s.playback_end),
            None => Some(Instant::now()),
        }
    }

    /// Sends what is due of the current line: its audio messages, `generationComplete`, and
    /// `turnComplete` once playback would be over.
    async fn pump(&mut self) -> Step {
        loop {
            let now = Instant::now();
            let realtime = self.config.realtime;
            let hold = self.config.hold_turn_for_playback;
            if self.silent {
                return Ok(());
            }
            let Some(s) = self.speaking.as_mut() else {
                return Ok(());
            };
            if let Some((at, _)) = s.queue.front() {
                if realtime && s.started + *at > now {
                    return Ok(());
                }
                if let Some((_, message)) = s.queue.pop_front() {
                    let fire = !std::mem::replace(&mut s.faults_fired, true);
                    let line = s.line;
                    self.send(&message).await?;
                    if fire {
                        self.fire(FaultTrigger::DuringLine(line)).await?;
                    }
                }
                continue;
            }
            if !s.generation_complete_sent {
                s.generation_complete_sent = true;
                self.send(&json!({ "serverContent": { "generationComplete": true } }))
                    .await?;
                self.send_resumption_update(true).await?;
                continue;
            }
            if hold && s.playback_end > now {
                return Ok(());
            }
            let (tokens, closing) = (s.response_tokens, s.closing);
            self.speaking = None;
            let usage = self.usage(tokens);
            let message = self.turn_complete(usage);
            self.send(&message).await?;
            if closing {
                return self.close(1000, "").await;
            }
            self.send_resumption_update(true).await?;
            if std::mem::take(&mut self.reply_owed) {
                self.candidate_turn_ended().await?;
            }
        }
    }

    /// Candidate speech (or a new turn) while the line plays: `interrupted`, drop the rest,
    /// then `turnComplete` (§4.1).
    async fn barge_in(&mut self) -> Step {
        let Some(s) = self.speaking.take() else {
            return Ok(());
        };
        let spoken = Instant::now()
            .saturating_duration_since(s.started)
            .min(s.playback_end - s.started);
        let tokens = (spoken.as_millis() as u64 * 25).div_ceil(1000);
        self.send(&json!({ "serverContent": { "interrupted": true } }))
            .await?;
        let usage = self.usage(tokens);
        let message = self.turn_complete(usage);
        self.send(&message).await?;
        if s.closing {
            return self.close(1000, "").await;
        }
        self.send_resumption_update(true).await
    }

    async fn on_timers(&mut self) -> Step {
        let now = Instant::now();
        if self.go_away_at.is_some_and(|t| t <= now) {
            self.go_away_at = self.config.go_away_every.map(|every| now + every);
            let time_left = self
                .config
                .go_away_close_after
                .filter(|_| self.config.go_away_every.is_some())
                .unwrap_or(Duration::from_secs(50));
            self.send(&json!({ "goAway": { "timeLeft": duration_string(time_left) } }))
                .await?;
            if self.config.go_away_every.is_some() && self.config.go_away_close_after.is_some() {
                let at = now + time_left;
                if self.close_at.is_none_or(|t| t > at) {
                    self.close_at = Some(at);
                    self.close_with = Some((1011, DEADLINE_EXPIRED.to_owned()));
                }
            }
        }
        if self.close_at.is_some_and(|t| t <= now) {
            self.close_at = None;
            let (code, reason) = self
                .close_with
                .clone()
                .or_else(|| {
                    self.config
                        .close_after
                        .as_ref()
                        .map(|(_, code, reason)| (*code, reason.clone()))
                })
                .unwrap_or((1011, "Internal error occurred.".to_owned()));
            return self.close(code, &reason).await;
        }
        let mut due = Vec::new();
        self.fault_timers.retain(|(at, fault)| {
            if *at <= now {
                due.push(fault.clone());
                false
            } else {
                true
            }
        });
        for fault in due {
            self.play(fault).await?;
        }
        Ok(())
    }
}
