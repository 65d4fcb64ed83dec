//! What the worker adds around the driver core ([`preppal_gemini::InterviewDriver`]): the
//! per-candidate rate limits, the metrics and logs of each note, the registry's
//! "connected" flag, and the reasons a dismissed socket is given.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use preppal_core::codec::ClientMessage;
use preppal_core::SessionEvent;
use preppal_gemini::driver::{
    Admission, ClientLost, Dismissal, DriverHooks, DriverNote, RelayDirection,
};

use super::log_throttle::LogThrottle;
use super::socket::{close, refuse, WsClient};
use crate::server::common::limits::{AudioRate, FrameVerdict, Limits, TextRate};
use crate::server::common::metrics::{self, Direction, ErrorKind};

/// Refused client messages are logged at most once per this period, with a count of the
/// ones not logged since (every refusal is counted in the metrics).
pub const REFUSAL_LOG_PERIOD: Duration = Duration::from_secs(10);

/// The worker's hooks for one interview.
#[derive(Debug)]
pub struct WorkerHooks {
    interview_id: String,
    limits: Arc<Limits>,
    audio_rate: AudioRate,
    text_rate: TextRate,
    refusal_log: LogThrottle,
    model_frame_log: LogThrottle,
    /// Set while a client is attached; the socket handler refuses a second client then.
    connected: Arc<AtomicBool>,
    /// When the interview ended, for the worker's wait for the persister.
    ended: Arc<OnceLock<Instant>>,
    /// The next attached client is a reconnect: a client was attached before, or the
    /// interview was picked up with nobody connected.
    attached_before: bool,
}

impl WorkerHooks {
    /// Hooks for `interview_id` under `limits`, keeping `connected` up to date;
    /// `first_client` when the driver starts with the candidate's socket (the first attach
    /// is not a reconnect).
    pub fn new(
        interview_id: String,
        limits: Arc<Limits>,
        connected: Arc<AtomicBool>,
        first_client: bool,
    ) -> Self {
        Self::with_end_mark(
            interview_id,
            limits,
            connected,
            first_client,
            Arc::default(),
        )
    }

    /// As [`WorkerHooks::new`], setting `ended` to the time the interview ends.
    pub fn with_end_mark(
        interview_id: String,
        limits: Arc<Limits>,
        connected: Arc<AtomicBool>,
        first_client: bool,
        ended: Arc<OnceLock<Instant>>,
    ) -> Self {
        let now = Instant::now();
        Self {
            audio_rate: AudioRate::new(&limits, now),
            text_rate: TextRate::new(&limits, now),
            interview_id,
            limits,
            refusal_log: LogThrottle::default(),
            model_frame_log: LogThrottle::default(),
            connected,
            ended,
            attached_before: !first_client,
        }
    }
}

impl DriverHooks<WsClient> for WorkerHooks {
    fn admit(&mut self, msg: &ClientMessage, now: Instant) -> Admission {
        let id = &self.interview_id;
        match msg {
            ClientMessage::Audio(_) => match self.audio_rate.frame(now) {
                FrameVerdict::Accept => Admission::Accept,
                FrameVerdict::DropAndTell(e) => {
                    metrics::error(ErrorKind::audio_rate_limited);
                    tracing::warn!(interview = %id, error = %e, "audio frames dropped");
                    Admission::Refuse {
                        code: 429,
                        message: e.to_string(),
                    }
                }
                FrameVerdict::Drop => Admission::Drop,
            },
            ClientMessage::Text(_) => match self.text_rate.message(now) {
                FrameVerdict::Accept => Admission::Accept,
                FrameVerdict::DropAndTell(e) => {
                    metrics::error(ErrorKind::text_rate_limited);
                    tracing::warn!(interview = %id, error = %e, dropped = self.text_rate.dropped(), "typed answers dropped");
                    Admission::Refuse {
                        code: 429,
                        message: e.to_string(),
                    }
                }
                FrameVerdict::Drop => {
                    metrics::error(ErrorKind::text_rate_limited);
                    Admission::Drop
                }
            },
            _ => Admission::Accept,
        }
    }

    fn note(&mut self, note: DriverNote<'_>) {
        let id = &self.interview_id;
        match note {
            DriverNote::FrameToModel => metrics::frame_to_model(),
            DriverNote::ModelQueueFull => metrics::error(ErrorKind::model_queue_full),
            DriverNote::FrameToClient => metrics::frame_to_client(),
            DriverNote::Relayed { direction, latency } => {
                let direction = match direction {
                    RelayDirection::ClientToModel => Direction::client_to_model,
                    RelayDirection::ModelToClient => Direction::model_to_client,
                };
                metrics::relay_latency(direction, latency);
            }
            DriverNote::FirstModelAudio { after } => metrics::first_model_audio(after),
            DriverNote::ClientRefused(e) => {
                metrics::error(ErrorKind::client_message_refused);
                if let Some(skipped) = self.refusal_log.hit(Instant::now(), REFUSAL_LOG_PERIOD) {
                    tracing::info!(interview = %id, error = %e, not_logged_since = skipped, "client message refused");
                }
            }
            DriverNote::ClientAttached => {
                if std::mem::replace(&mut self.attached_before, true) {
                    tracing::info!(interview = %id, "client reattached");
                } else {
                    tracing::debug!(interview = %id, "client attached");
                }
                self.connected.store(true, Ordering::SeqCst);
                // A new connection starts with fresh limits.
                let now = Instant::now();
                self.audio_rate = AudioRate::new(&self.limits, now);
                self.text_rate = TextRate::new(&self.limits, now);
            }
            DriverNote::ClientLost { why, queued_bytes } => {
                self.connected.store(false, Ordering::SeqCst);
                match why {
                    ClientLost::QueueFull | ClientLost::WriteStalled => {
                        metrics::error(ErrorKind::client_write_stalled);
                        tracing::warn!(interview = %id, queued = queued_bytes, why = why.as_str(), "candidate not reading: writes stalled");
                    }
                    // Logged when the socket is let go (`dismiss`).
                    ClientLost::Silent => return,
                    _ => {}
                }
                tracing::info!(interview = %id, why = why.as_str(), "candidate connection dropped; waiting for a reconnect");
            }
            DriverNote::ModelRetrying(r) => {
                tracing::info!(interview = %id, attempt = r.attempt, error = %r.error, delay_ms = r.delay.as_millis() as u64, "model connection failed; trying again");
            }
            DriverNote::ModelConnectFailed { code, reason } => {
                metrics::error(ErrorKind::model_connect);
                tracing::error!(interview = %id, code, error = %reason, "model connection failed");
            }
            DriverNote::ModelSendFailed(e) => {
                metrics::error(ErrorKind::model_send);
                tracing::warn!(interview = %id, error = %e, "model send failed");
            }
            DriverNote::ModelWriteTimedOut => {
                metrics::error(ErrorKind::model_write_timeout);
                tracing::error!(interview = %id, "model write timed out: the connection stopped taking data");
            }
            DriverNote::ModelFrameRefused(e) => {
                // A malformed server frame: the connection goes on.
                metrics::error(ErrorKind::model_frame_refused);
                if let Some(skipped) = self.model_frame_log.hit(Instant::now(), REFUSAL_LOG_PERIOD)
                {
                    tracing::warn!(interview = %id, error = %e, not_logged_since = skipped, "model frame refused");
                }
            }
            DriverNote::Reconnecting { reason } => {
                metrics::reconnect();
                tracing::info!(interview = %id, %reason, "moving to a new model connection");
            }
            DriverNote::Resumed { with_handle } => {
                tracing::info!(interview = %id, with_handle, "model connection resumed");
            }
            DriverNote::PersistFailed(e) => {
                metrics::error(ErrorKind::persist);
                tracing::error!(interview = %id, error = %e, "storage action not handed to the persister");
            }
            DriverNote::PersistTimedOut { left } => {
                tracing::error!(interview = %id, left, "persister did not take the last actions in time");
            }
            DriverNote::Shutdown => {
                tracing::info!(interview = %id, "server shutting down: finishing the interview");
            }
            DriverNote::Session(event) => {
                if matches!(event, SessionEvent::Ended { .. }) {
                    let _ = self.ended.set(Instant::now());
                }
                log_event(id, event);
            }
            _ => {}
        }
    }

    fn dismiss(&mut self, client: WsClient, why: Dismissal) {
        let ws = client.into_inner();
        match why {
            Dismissal::AlreadyConnected => {
                tokio::spawn(refuse(ws, 409, "the interview is already connected", 1008));
            }
            Dismissal::Silent => {
                tracing::info!(interview = %self.interview_id, "candidate silent past the limit; waiting for a reconnect");
                tokio::spawn(close(ws, 1001, "no answer to pings"));
            }
            _ => {
                tokio::spawn(refuse(ws, 409, "the interview has ended", 1008));
            }
        }
    }
}

fn log_event(interview_id: &str, event: &SessionEvent) {
    match event {
        SessionEvent::Ended { reason, status } => {
            tracing::info!(interview = %interview_id, reason = reason.as_str(), %status, "interview ended");
        }
        other => tracing::debug!(interview = %interview_id, event = ?other, "session event"),
    }
}
