//! Trailing silence: when the candidate's client stops streaming audio mid-turn (a muted
//! microphone, the end of a recorded answer), the session keeps streaming silence to the
//! model for [`SessionConfig::trailing_silence`], in 100 ms frames on the wall clock,
//! instead of leaving the model's voice activity detection without the trailing audio it
//! needs to end the turn. Some Live models ignore `audioStreamEnd` and want trailing audio
//! instead (gemini-live-protocol notes §10.2); which ones is the model table's to say, and
//! the caller sets the knob from it. Zero (the default) turns it off.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::SessionConfig;
use crate::model::ModelCommand;

/// One frame of trailing silence: 100 ms.
pub const TRAILING_FRAME: Duration = Duration::from_millis(100);

/// When to send the next frame of silence, and how much is left to send.
#[derive(Debug, Clone, Default)]
pub(super) struct TrailingSilence {
    next_at: Option<Instant>,
    left: Duration,
}

impl TrailingSilence {
    /// Candidate audio arrived at `now`: the stream is alive; silence is due one frame
    /// after it if the stream stops (and the whole [`SessionConfig::trailing_silence`] is
    /// owed again).
    pub(super) fn candidate_audio(&mut self, config: &SessionConfig, now: Instant) {
        if config.trailing_silence.is_zero() {
            return;
        }
        self.left = config.trailing_silence;
        self.next_at = Some(now + TRAILING_FRAME);
    }

    /// The model began its turn (or the interview ended): no silence is owed.
    pub(super) fn stop(&mut self) {
        self.next_at = None;
        self.left = Duration::ZERO;
    }

    /// When the next frame is due.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.next_at
    }

    /// At `now`: the frame of silence to send, if one is due.
    pub(super) fn fire(&mut self, config: &SessionConfig, now: Instant) -> Option<ModelCommand> {
        if self.next_at.is_none_or(|at| at > now) {
            return None;
        }
        let frame = TRAILING_FRAME.min(self.left);
        self.left -= frame;
        self.next_at = (!self.left.is_zero()).then(|| now + TRAILING_FRAME);
        let samples = u64::from(config.input_sample_rate_hz)
            * u64::try_from(frame.as_millis()).unwrap_or(0)
            / 1000;
        let bytes = usize::try_from(samples * 2).unwrap_or(0);
        Some(ModelCommand::Audio(Bytes::from(vec![0u8; bytes])))
    }
}
