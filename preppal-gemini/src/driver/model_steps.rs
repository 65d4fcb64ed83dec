//! The driver's model steps: the connection's progress (connecting, retries) and its
//! events, handed to the session.

use std::time::Instant;

use bytes::Bytes;
use futures::{Sink, Stream};
use preppal_core::proto::model_status::State as ModelState;
use preppal_core::ModelEvent;

use super::model_link::{ModelIo, ModelStep};
use super::{
    ClientFrame, DriverHooks, DriverNote, InterviewDriver, RelayDirection, MODEL_WRITE_TIMEOUT,
    WRITE_TIMEOUT_CLOSE_CODE,
};
use crate::error::LiveError;

impl<C, H> InterviewDriver<C, H>
where
    C: Stream<Item = ClientFrame> + Sink<Bytes> + Unpin,
    H: DriverHooks<C>,
{
    /// A step of the model's connection: connecting, retries, then its events.
    pub(super) fn drive_model(&mut self, step: ModelStep) {
        let now = Instant::now();
        match step {
            ModelStep::Retrying(r) => {
                self.hooks.note(DriverNote::ModelRetrying(&r));
                let message = format!(
                    "The interviewer could not be reached yet; trying again (attempt {}).",
                    r.attempt
                );
                self.tell_model_status(ModelState::Retrying, r.attempt, message);
            }
            ModelStep::Connected(Ok(())) => {
                self.hooks.note(DriverNote::ModelConnected);
                self.tell_model_status(
                    ModelState::Connected,
                    0,
                    "The interviewer is ready.".to_owned(),
                );
                // The connection's own `SetupComplete`, its first event, starts the session.
            }
            ModelStep::Connected(Err((code, reason))) => {
                self.hooks.note(DriverNote::ModelConnectFailed {
                    code,
                    reason: &reason,
                });
                let _ = self
                    .session
                    .handle_model(ModelEvent::Closed { code, reason }, now);
            }
            ModelStep::Io(ModelIo::Event(event)) => self.drive_model_event(event, now),
            ModelStep::Io(ModelIo::SendFailed(e)) => {
                self.hooks.note(DriverNote::ModelSendFailed(&e));
            }
            ModelStep::Io(ModelIo::WriteTimedOut) => {
                self.hooks.note(DriverNote::ModelWriteTimedOut);
                let reason = format!(
                    "the interviewer's connection stopped taking data for {} s",
                    MODEL_WRITE_TIMEOUT.as_secs()
                );
                self.model.stop();
                let _ = self.session.handle_model(
                    ModelEvent::Closed {
                        code: WRITE_TIMEOUT_CLOSE_CODE,
                        reason,
                    },
                    now,
                );
            }
        }
    }

    /// A model event. The one place the model connection is told what the session knows.
    fn drive_model_event(&mut self, event: Option<Result<ModelEvent, LiveError>>, now: Instant) {
        match event {
            Some(Ok(event)) => {
                match &event {
                    ModelEvent::Closed { .. } => self.model.stop(),
                    ModelEvent::Audio(_) => {
                        self.arrived = Some((RelayDirection::ModelToClient, now));
                        if !self.first_audio_seen {
                            self.first_audio_seen = true;
                            let after = now.saturating_duration_since(self.started);
                            self.hooks.note(DriverNote::FirstModelAudio { after });
                        }
                    }
                    ModelEvent::Reconnecting { reason } => {
                        self.hooks.note(DriverNote::Reconnecting { reason });
                    }
                    ModelEvent::Resumed { with_handle } => {
                        let with_handle = *with_handle;
                        self.hooks.note(DriverNote::Resumed { with_handle });
                    }
                    _ => {}
                }
                // The reconnect machine keeps no transcript: on `Reconnecting` it is handed
                // the session's conversation so far, to seed a connection without a
                // resumption handle (`ResilientSession::set_history`).
                let reconnecting = matches!(event, ModelEvent::Reconnecting { .. });
                let _ = self.session.handle_model(event, now);
                if reconnecting {
                    self.model.set_history(self.session.conversation_so_far());
                }
            }
            Some(Err(e)) => self.hooks.note(DriverNote::ModelFrameRefused(&e)),
            None => {
                self.model.stop();
                let closed = ModelEvent::Closed {
                    code: 1006,
                    reason: "model stream ended".into(),
                };
                let _ = self.session.handle_model(closed, now);
            }
        }
    }
}
