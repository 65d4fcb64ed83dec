//! The interview socket of `preppal interview`: the candidate's side of
//! `proto/interview.proto` over the worker's WebSocket, reopened after a drop (see
//! [`super::interview`] for the flow).

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable as _};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt as _, StreamExt as _};
use preppal_core::codec::{decode_server, encode_client, ClientMessage, PlaybackReport};
use preppal_core::proto::server_to_client_message::Message as ServerMessage;
use preppal_core::proto::session_ended::Reason as EndedReason;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout_at, Instant};
use tokio_tungstenite::tungstenite::Message;
use tracing::{debug, info, warn};

use super::audio::{self, SAMPLES_PER_MS, SAMPLE_RATE_HZ};
use super::player::{Played, Player};
use crate::client::{open_socket, ApiClient, ApiError, Socket};

/// Longest wait for `SessionStarted` and for each interviewer turn.
pub(super) const TURN_WAIT: Duration = Duration::from_secs(60);
/// Silence sent after each audio answer, in ms, so voice activity detection sees its end:
/// longer than the interview's 3 s end-of-turn silence
/// (`preppal_gemini::config::INTERVIEW_SILENCE_DURATION_MS`), which lets candidates pause
/// to think.
const SILENCE_TAIL_MS: usize = 3_500;
/// How long a dropped interview socket is tried again before the run fails.
const RECONNECT_WINDOW: Duration = Duration::from_secs(90);

/// Why the interview socket failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(super) enum LiveError {
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
pub(super) struct Rejoin {
    /// The signed-in API client, for a fresh token.
    pub(super) api: ApiClient,
    /// The interview.
    pub(super) interview_id: String,
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
pub(super) enum LiveEvent {
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
pub(super) enum Turn {
    /// The interviewer finished a turn and waits for the candidate.
    Complete,
    /// The interview is over (`SessionEnded` or the socket closed).
    Over,
}

/// The interview socket: a sink for our messages, a reader task for the server's.
pub(super) struct LiveSocket {
    sink: SplitSink<Socket, Message>,
    /// What the reader task passes on.
    pub(super) events: mpsc::Receiver<LiveEvent>,
    reader: tokio::task::JoinHandle<()>,
    started: bool,
    /// Interviewer turns completed and not yet answered.
    pub(super) turns_pending: usize,
    /// Why the interview ended, once `SessionEnded` arrived.
    pub(super) ended: Option<String>,
    closed: bool,
    /// Set after a reconnect: what the replay said about the interviewer's turn.
    resumed: Option<bool>,
    /// The candidate's last turn in the last replay.
    replayed_answer: Option<String>,
    /// The last typed answer sent, until the interviewer's next turn ends.
    pub(super) typed_answer: Option<String>,
    /// How the interviewer's last complete turn played, until it is answered.
    pub(super) last_played: Option<Played>,
    /// A `PlaybackReport` to send before the next message.
    pub(super) pending_report: Option<PlaybackReport>,
    /// How to reopen the socket after a drop; `None` never reopens.
    pub(super) rejoin: Option<Rejoin>,
}

impl LiveSocket {
    pub(super) async fn connect(ws_url: &str) -> Result<Self, LiveError> {
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

    pub(super) fn over(&self) -> bool {
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
        let attempt = || async {
            let token = rejoin
                .api
                .ws_token(&rejoin.interview_id)
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
    pub(super) async fn send_surviving(&mut self, msg: ClientMessage) -> Result<(), LiveError> {
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

    pub(super) fn note(&mut self, event: Option<LiveEvent>) {
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
    pub(super) async fn wait_started(&mut self, limit: Instant) -> Result<bool, LiveError> {
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

    pub(super) async fn wait_turn(&mut self, limit: Instant) -> Result<Turn, LiveError> {
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

    pub(super) async fn wait_ended(&mut self, limit: Instant) -> anyhow::Result<()> {
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

    pub(super) async fn send(&mut self, msg: ClientMessage) -> Result<(), LiveError> {
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
    pub(super) async fn send_audio(
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
    pub(super) async fn close(mut self) {
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
