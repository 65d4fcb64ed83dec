//! One simulated Live connection: setup, the scripted interviewer, barge-in, resumption
//! and faults.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::hearing::Hearing;
use super::setup_check::{check_setup, transcriptions};
use super::shared::{SavedSession, Shared};
use super::upgrade::{check_upgrade, refuse, upgrade_record};

mod follow_ups;
mod input;
mod speaking;
use super::{
    speech, transcription_fragments, Fault, FaultTrigger, InterviewScript, ScriptedFault,
    SimulatorConfig, Vad, CHUNK_BYTES, DEADLINE_EXPIRED, DEFAULT_SILENCE_DURATION_MS,
    INVALID_ARGUMENT,
};
use crate::client::websocket_config;

pub(super) async fn serve(
    stream: TcpStream,
    shared: Arc<Shared>,
    config: Arc<SimulatorConfig>,
    shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let attempt = shared.upgrades.fetch_add(1, Ordering::SeqCst);
    let refused = config.refuse_upgrades.get(attempt).copied();
    let upgrade_path = Arc::new(std::sync::Mutex::new(String::new()));
    // The signature is tungstenite's handshake `Callback`; its error type is not ours to box.
    #[allow(clippy::result_large_err)]
    let callback = {
        let shared = Arc::clone(&shared);
        let upgrade_path = Arc::clone(&upgrade_path);
        move |request: &Request, response: Response| {
            let record = upgrade_record(request);
            record
                .path
                .clone_into(&mut upgrade_path.lock().unwrap_or_else(PoisonError::into_inner));
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
    let v1alpha = upgrade_path
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .contains(".v1alpha.");
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
    let config_transcripts = Arc::clone(&config.candidate_transcripts);
    let config_late_words = config.late_transcription_words;
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
        v1alpha,
        input_transcription: false,
        output_transcription: false,
        hearing: Hearing::new(Arc::clone(&config_transcripts), config_late_words),
    };
    let _ = connection.run(shutdown).await;
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
    /// Follow-ups asked on the current question (`follow_ups.rs`).
    probes: u8,
    /// The upgrade came on the `v1alpha` surface.
    v1alpha: bool,
    /// The setup asked for `inputAudioTranscription` / `outputAudioTranscription`.
    input_transcription: bool,
    output_transcription: bool,
    /// The candidate transcripts, handed out as spoken turns arrive.
    hearing: Hearing,
}

/// The server's JSON: pretty-printed in Binary frames as the real server sends it (§2), or
/// as `config` says.
pub(super) fn server_frame(value: &Value, config: &SimulatorConfig) -> Message {
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

    /// Where this connection's session is now, for the handle about to be sent.
    fn snapshot(&self) -> SavedSession {
        let owed = self
            .speaking
            .as_ref()
            .filter(|s| !s.generation_complete_sent)
            .map(|s| (s.line, s.text.clone(), s.closing));
        SavedSession {
            script: self.script.clone(),
            asked: self.asked,
            started: self.started,
            finishing: self.finishing,
            owed,
            prompt_tokens: self.prompt_tokens,
            heard: self.hearing.turn,
        }
    }

    /// Sends a `sessionResumptionUpdate`, when the setup asked for them: a new handle with
    /// `resumable: true`, or an empty one with `resumable: false` (§4.4).
    async fn send_resumption_update(&mut self, resumable: bool) -> Step {
        let Some(session) = self.session else {
            return Ok(());
        };
        let handle = if resumable {
            self.handle_seq += 1;
            let handle = format!("sim-{session}-{}-{}", self.index, self.handle_seq);
            self.shared
                .register_handle(handle.clone(), session, self.snapshot());
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
            Fault::InterruptWithoutTurnComplete { late_audio } => {
                let Some(s) = self.speaking.take() else {
                    return Ok(());
                };
                self.send(&json!({ "serverContent": { "interrupted": true } }))
                    .await?;
                let late = s
                    .queue
                    .into_iter()
                    .find_map(|(_, m)| m.pointer("/serverContent/modelTurn").cloned());
                if let Some(turn) = late.filter(|_| late_audio) {
                    self.send(&json!({ "serverContent": { "modelTurn": turn } }))
                        .await?;
                }
                Ok(())
            }
            Fault::GoAway { time_left } => {
                self.send(&json!({ "goAway": { "timeLeft": duration_string(time_left) } }))
                    .await?;
                let at = Instant::now() + time_left;
                if self.close_at.is_none_or(|t| t > at) {
                    self.close_at = Some(at);
                    self.close_with = Some((1011, DEADLINE_EXPIRED.to_owned()));
                }
                Ok(())
            }
            Fault::InputTranscription { text } => {
                self.send(&json!({ "serverContent": { "inputTranscription": { "text": text } } }))
                    .await
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
            Some(Ok(Message::Close(_))) => {
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
        if let Err(refusal) = check_setup(setup, self.v1alpha) {
            tracing::info!(why = %refusal.why, code = refusal.code, "simulator refused a setup");
            return self.close(refusal.code, &refusal.reason).await;
        }
        (self.input_transcription, self.output_transcription) = transcriptions(setup);
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
                    self.hearing.turn = saved.heard;
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
