//! The async Live connection: a thin layer over [`crate::protocol`] and tokio-tungstenite.

use std::collections::VecDeque;

use futures::{SinkExt as _, StreamExt as _};
use http::HeaderValue;
use preppal_core::{ModelCommand, ModelEvent};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::config::{CredentialPlacement, LiveConfig};
use crate::error::LiveError;
use crate::protocol::{
    encode_command, parse_server_frame, parse_server_text, setup_message, UsageMetadata,
};

pub use crate::error::ABNORMAL_CLOSURE;

/// Largest server message accepted: 16 MiB. Audio chunks are a few KiB each (§5).
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// Bytes tungstenite reads from the socket at a time on a Live connection: 4 KiB.
///
/// tungstenite zero-fills this much before every read and reserves room for a whole frame
/// on top of what it already holds, and its buffer grows by doubling. With 8 KiB reads the
/// buffer of a connection receiving 100 ms chunks (about 6.5 kB of JSON each) settled at
/// 32 KiB (measured with valgrind's massif); 4 KiB reads here and on the candidate's socket
/// took 19 KiB off the resident memory per interview at 200 interviews, for the same CPU
/// (`benches/README.md`).
pub const READ_BUFFER_BYTES: usize = 4 << 10;

/// The WebSocket settings of a Live connection: messages and frames of at most
/// [`MAX_MESSAGE_BYTES`], [`READ_BUFFER_BYTES`] reads, an 8 KiB write buffer and at most
/// 1 MiB of queued writes, so a stalled peer cannot make the process buffer without bound.
pub fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
        // Small buffers: a thousand interviews do not hold tungstenite's default 128 KiB
        // read and write buffers each.
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(8 << 10)
        .max_write_buffer_size(1 << 20)
}

/// One open Gemini Live connection, past `setupComplete`.
///
/// Made by [`LiveConnection::connect`] (real endpoint or simulator URL) or
/// [`LiveConnection::from_stream`] (any already-upgraded WebSocket). Commands go out with
/// [`LiveConnection::send`]; events come in with [`LiveConnection::next_event`]. The first event is
/// always [`ModelEvent::SetupComplete`], and the last is always exactly one
/// [`ModelEvent::Closed`]; after it, `next_event` returns `None` forever.
///
/// Pings are answered by tungstenite; this type never sends pings (the server's pongs were
/// measured at 8–30 s, §6.1).
#[derive(Debug)]
pub struct LiveConnection<S = MaybeTlsStream<TcpStream>> {
    ws: WebSocketStream<S>,
    pending: VecDeque<ModelEvent>,
    usage: Option<UsageMetadata>,
    /// The `Closed` event has been queued; the socket is not read again.
    ended: bool,
    /// Ids of `toolCall`s not yet answered nor cancelled: candidate audio is held back
    /// meanwhile (the server closes with 1008 otherwise, §3.4).
    pending_tool_calls: Vec<String>,
    gated_audio_bytes: u64,
    /// Automatic activity detection is disabled: `activityStart` / `activityEnd` allowed.
    manual_activity: bool,
}

impl LiveConnection {
    /// Checks `config` ([`LiveConfig::validate`]), opens a connection to `config.endpoint`,
    /// sends `setup` and waits for `setupComplete`.
    ///
    /// The credential goes where [`LiveConfig::credential_placement`] says
    /// ([`upgrade_request`]): by default the `x-goog-api-key` header (an API key) or
    /// `Authorization: Token` (an ephemeral token), never in the URL (§1.2). The upgrade and
    /// the setup share one deadline of `config.setup_timeout`.
    ///
    /// # Errors
    /// - [`LiveError::Config`] for a combination the service refuses, before dialing;
    /// - [`LiveError::InvalidConfig`] for an endpoint URL that cannot be parsed (an empty key
    ///   sends no credential, and the server refuses it);
    /// - [`LiveError::UpgradeRefused`] with the HTTP status when the server refuses the
    ///   upgrade (401/403 bad key, 429 quota, ...);
    /// - [`LiveError::SetupTimeout`], [`LiveError::ClosedDuringSetup`],
    ///   [`LiveError::Protocol`] and [`LiveError::WebSocket`] as in [`LiveConnection::from_stream`].
    pub async fn connect(config: &LiveConfig) -> Result<Self, LiveError> {
        config.validate()?;
        let deadline = Instant::now() + config.setup_timeout;
        let request = upgrade_request(config)?;
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(websocket_config()),
            true,
            None,
        );
        let (ws, _response) = match timeout_at(deadline, connecting).await {
            Err(_) => return Err(LiveError::SetupTimeout),
            Ok(Err(tungstenite::Error::Http(response))) => {
                return Err(LiveError::UpgradeRefused {
                    status: response.status().as_u16(),
                })
            }
            Ok(Err(e)) => return Err(LiveError::WebSocket(e)),
            Ok(Ok(pair)) => pair,
        };
        Self::setup(ws, config, deadline).await
    }
}

/// The WebSocket upgrade request for `config`: its endpoint, with the credential placed as
/// [`LiveConfig::credential_placement`] says (gemini-live-protocol notes §1.2):
///
/// | credential | `Header` (default) | `Query` |
/// |---|---|---|
/// | API key | `x-goog-api-key: KEY` | `?key=KEY` |
/// | ephemeral token (`auth_tokens/...`) | `Authorization: Token auth_tokens/...` | `?access_token=auth_tokens/...` |
///
/// One form only, never both. An empty credential is not sent. Header values are marked
/// sensitive; query values are form-encoded (with `reqwest::Url`).
///
/// # Errors
/// [`LiveError::InvalidConfig`] when the endpoint is not a WebSocket URL or the credential
/// is not a valid header value.
pub fn upgrade_request(
    config: &LiveConfig,
) -> Result<tungstenite::handshake::client::Request, LiveError> {
    let token = config.is_ephemeral_token();
    let mut endpoint = config.endpoint.clone();
    if !config.api_key.is_empty() && config.credential_placement == CredentialPlacement::Query {
        let name = if token { "access_token" } else { "key" };
        let mut url = reqwest::Url::parse(&endpoint)
            .map_err(|e| LiveError::InvalidConfig(format!("endpoint: {e}")))?;
        url.query_pairs_mut().append_pair(name, &config.api_key);
        endpoint = url.into();
    }
    let mut request = endpoint
        .as_str()
        .into_client_request()
        .map_err(|e| LiveError::InvalidConfig(format!("endpoint: {e}")))?;
    if !config.api_key.is_empty() && config.credential_placement == CredentialPlacement::Header {
        let (name, value) = if token {
            ("authorization", format!("Token {}", config.api_key))
        } else {
            ("x-goog-api-key", config.api_key.clone())
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            LiveError::InvalidConfig("the API key is not a valid header value".to_owned())
        })?;
        value.set_sensitive(true);
        request.headers_mut().insert(name, value);
    }
    Ok(request)
}

impl<S> LiveConnection<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Runs the setup on an already-upgraded WebSocket: sends `setup` as a Text frame and
    /// waits for `setupComplete` (in a Text or Binary frame), sending nothing else before it
    /// (§2: "Clients should wait for a BidiGenerateContentSetupComplete message before
    /// sending any additional messages"). Other server messages that arrive first are kept
    /// and delivered after [`ModelEvent::SetupComplete`].
    ///
    /// # Errors
    /// - [`LiveError::SetupTimeout`] when no `setupComplete` comes within `config.setup_timeout`;
    /// - [`LiveError::ClosedDuringSetup`] with the close code and reason (1006 when the socket
    ///   dropped without a close frame);
    /// - [`LiveError::Protocol`] for a malformed server frame;
    /// - [`LiveError::WebSocket`] when sending or receiving fails.
    pub async fn from_stream(
        ws: WebSocketStream<S>,
        config: &LiveConfig,
    ) -> Result<Self, LiveError> {
        let deadline = Instant::now() + config.setup_timeout;
        Self::setup(ws, config, deadline).await
    }

    async fn setup(
        mut ws: WebSocketStream<S>,
        config: &LiveConfig,
        deadline: Instant,
    ) -> Result<Self, LiveError> {
        let setup = setup_message(config);
        match timeout_at(deadline, ws.send(Message::Text(setup.into()))).await {
            Err(_) => return Err(LiveError::SetupTimeout),
            Ok(Err(e)) => return Err(LiveError::WebSocket(e)),
            Ok(Ok(())) => {}
        }
        let mut early = VecDeque::new();
        let mut usage = None;
        loop {
            let next = match timeout_at(deadline, ws.next()).await {
                Err(_) => return Err(LiveError::SetupTimeout),
                Ok(next) => next,
            };
            let parsed = match next {
                None => {
                    return Err(LiveError::ClosedDuringSetup {
                        code: ABNORMAL_CLOSURE,
                        reason: String::new(),
                    })
                }
                Some(Err(e)) => {
                    return Err(match e {
                        tungstenite::Error::ConnectionClosed
                        | tungstenite::Error::Protocol(
                            tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
                        ) => LiveError::ClosedDuringSetup {
                            code: ABNORMAL_CLOSURE,
                            reason: String::new(),
                        },
                        e => LiveError::WebSocket(e),
                    })
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = close_parts(frame.as_ref());
                    tracing::warn!(code, %reason, "Gemini Live closed the connection during setup");
                    return Err(LiveError::ClosedDuringSetup { code, reason });
                }
                // A Text frame was checked as UTF-8 by the WebSocket layer: not again.
                Some(Ok(Message::Text(text))) => parse_server_text(text.as_str()),
                Some(Ok(Message::Binary(data))) => parse_server_frame(&data),
                Some(Ok(_)) => continue,
            };
            let frame = parsed?;
            if frame.usage.is_some() {
                usage = frame.usage;
            }
            let mut events = frame.events.into_iter();
            let mut done = false;
            for event in events.by_ref() {
                if event == ModelEvent::SetupComplete {
                    done = true;
                    break;
                }
                early.push_back(event);
            }
            if done {
                let mut pending = VecDeque::with_capacity(early.len() + 4);
                pending.push_back(ModelEvent::SetupComplete);
                pending.extend(early);
                pending.extend(events);
                let mut session = Self {
                    ws,
                    pending: VecDeque::with_capacity(pending.len()),
                    usage,
                    ended: false,
                    pending_tool_calls: Vec::new(),
                    gated_audio_bytes: 0,
                    manual_activity: config.manual_activity(),
                };
                session.queue(pending);
                return Ok(session);
            }
        }
    }

    /// Sends one command.
    ///
    /// Audio, text, `Begin`, `Instruct` and `ToolResponse` become one Text frame each (see
    /// [`crate::protocol::encode_command`]). While a [`ModelEvent::ToolCall`] is neither
    /// answered by a [`ModelCommand::ToolResponse`] with its id nor cancelled by
    /// [`ModelEvent::ToolCallCancellation`], [`ModelCommand::Audio`] is dropped (and counted
    /// in [`LiveConnection::gated_audio_bytes`]) instead of sent: the server closes with 1008
    /// on audio during a pending tool call (gemini-live-protocol notes §3.4, §8b item 4).
    ///
    /// [`ModelCommand::Close`] sends a close frame with code 1000, after which
    /// [`LiveConnection::next_event`] yields the server's [`ModelEvent::Closed`]; closing twice,
    /// or after the server closed, is not an error. Not cancel-safe: a cancelled send may
    /// have written part of a frame.
    ///
    /// # Errors
    /// - [`LiveError::CommandNotAllowed`] for [`ModelCommand::ActivityStart`] /
    ///   [`ModelCommand::ActivityEnd`] unless the config disabled automatic activity
    ///   detection ([`LiveConfig::with_manual_activity`]); nothing is sent;
    /// - [`LiveError::WebSocket`] when the frame cannot be written, including after close.
    pub async fn send(&mut self, cmd: ModelCommand) -> Result<(), LiveError> {
        match &cmd {
            ModelCommand::Audio(pcm) if !self.pending_tool_calls.is_empty() => {
                self.gated_audio_bytes += pcm.len() as u64;
                return Ok(());
            }
            ModelCommand::ToolResponse(responses) => self
                .pending_tool_calls
                .retain(|id| !responses.iter().any(|r| &r.id == id)),
            ModelCommand::ActivityStart | ModelCommand::ActivityEnd if !self.manual_activity => {
                return Err(LiveError::CommandNotAllowed(
                    "activityStart/activityEnd need automatic activity detection disabled",
                ));
            }
            _ => {}
        }
        match encode_command(&cmd) {
            Some(text) => self
                .ws
                .send(Message::Text(text.into()))
                .await
                .map_err(LiveError::WebSocket),
            None => {
                let frame = CloseFrame {
                    code: CloseCode::Normal,
                    reason: "".into(),
                };
                match self.ws.close(Some(frame)).await {
                    Ok(())
                    | Err(
                        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed,
                    ) => Ok(()),
                    Err(e) => Err(LiveError::WebSocket(e)),
                }
            }
        }
    }

    /// Sends one already-encoded client message (compact JSON) as a Text frame, for
    /// messages that have no [`ModelCommand`], such as
    /// [`crate::protocol::history_message`].
    ///
    /// # Errors
    /// [`LiveError::WebSocket`] when the frame cannot be written.
    pub async fn send_message(&mut self, json: String) -> Result<(), LiveError> {
        self.ws
            .send(Message::Text(json.into()))
            .await
            .map_err(LiveError::WebSocket)
    }

    /// The next event from the model, or `None` once the connection has ended.
    ///
    /// Cancel-safe: it may be polled inside `tokio::select!` and dropped without losing
    /// events (parsed events wait in a queue; the socket read itself is cancel-safe).
    ///
    /// - A close frame gives [`ModelEvent::Closed`] with its code and reason (1005 when the
    ///   frame had no code); a socket that dropped without one gives code 1006 and an empty
    ///   reason. Then `None` forever.
    /// - A malformed frame gives `Some(Err(LiveError::Protocol(..)))`; the connection goes on.
    /// - A WebSocket failure gives `Some(Err(LiveError::WebSocket(..)))`, then `Closed` with
    ///   code 1006, then `None`.
    /// - Barge-in: events are delivered as sent, late audio of a cut generation included;
    ///   `preppal_core::InterviewSession` decides what of it the candidate hears (§4.1).
    pub async fn next_event(&mut self) -> Option<Result<ModelEvent, LiveError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if self.ended {
                return None;
            }
            let parsed = match self.ws.next().await {
                None => {
                    self.end(ABNORMAL_CLOSURE, String::new());
                    continue;
                }
                Some(Err(e)) => {
                    self.end(ABNORMAL_CLOSURE, String::new());
                    match e {
                        tungstenite::Error::ConnectionClosed
                        | tungstenite::Error::AlreadyClosed
                        | tungstenite::Error::Protocol(
                            tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
                        ) => continue,
                        e => return Some(Err(LiveError::WebSocket(e))),
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = close_parts(frame.as_ref());
                    self.end(code, reason);
                    // Best effort: flush tungstenite's queued close reply. The event is
                    // already queued, so cancelling here loses nothing.
                    let _ = self.ws.flush().await;
                    continue;
                }
                // A Text frame was checked as UTF-8 by the WebSocket layer: not again.
                Some(Ok(Message::Text(text))) => parse_server_text(text.as_str()),
                Some(Ok(Message::Binary(data))) => parse_server_frame(&data),
                Some(Ok(_)) => continue,
            };
            match parsed {
                Ok(frame) => {
                    if frame.usage.is_some() {
                        self.usage = frame.usage;
                    }
                    self.queue(frame.events);
                }
                Err(e) => return Some(Err(LiveError::Protocol(e))),
            }
        }
    }

    /// Queues parsed events, keeping count of the tool calls awaiting an answer. A plain
    /// transport: turn boundaries and barge-in are the interview session's to decide.
    fn queue(&mut self, events: impl IntoIterator<Item = ModelEvent>) {
        for event in events {
            match &event {
                ModelEvent::ToolCall(calls) => self
                    .pending_tool_calls
                    .extend(calls.iter().map(|c| c.id.clone())),
                ModelEvent::ToolCallCancellation(ids) => {
                    self.pending_tool_calls.retain(|id| !ids.contains(id));
                }
                _ => {}
            }
            self.pending.push_back(event);
        }
    }

    /// Bytes of candidate audio held back because a tool call was pending (see
    /// [`LiveConnection::send`]).
    pub fn gated_audio_bytes(&self) -> u64 {
        self.gated_audio_bytes
    }

    /// Whether a `toolCall` is waiting for its `toolResponse` (candidate audio is held back).
    pub fn tool_call_pending(&self) -> bool {
        !self.pending_tool_calls.is_empty()
    }

    fn end(&mut self, code: u16, reason: String) {
        if code != 1000 {
            tracing::warn!(code, %reason, "Gemini Live connection closed");
        }
        self.pending.push_back(ModelEvent::Closed { code, reason });
        self.ended = true;
    }

    /// The most recent `usageMetadata` the server sent, if any (§4.5).
    pub fn last_usage(&self) -> Option<&UsageMetadata> {
        self.usage.as_ref()
    }

    /// Whether the connection has ended (its [`ModelEvent::Closed`] is queued or was delivered).
    pub fn is_ended(&self) -> bool {
        self.ended
    }
}

/// The code and reason of a close frame; 1005 ("no status received") for a frame without one.
fn close_parts(frame: Option<&CloseFrame>) -> (u16, String) {
    match frame {
        Some(f) => (u16::from(f.code), f.reason.as_str().to_owned()),
        None => (1005, String::new()),
    }
}
