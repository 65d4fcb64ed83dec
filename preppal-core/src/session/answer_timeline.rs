//! The candidate's answers on their own audio timeline.
//!
//! A spoken answer starts with its first speech frame (anchored at that frame's arrival,
//! less the frame's own duration: a microphone sends a frame once it has recorded it) and
//! lasts as many samples (at the input rate, 16 000 Hz by default) as were received up to
//! the end of its last speech frame. Trailing silence, the time the model took to
//! transcribe, and frames that arrived in a burst (a client streaming faster than real
//! time) do not stretch it.

/// Sample count of the candidate's open answer, from its first speech frame.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct AnswerTimeline {
    /// When the answer's first speech started, in ms since the interview started.
    anchor_ms: Option<u64>,
    /// Samples received since the anchor.
    samples: u64,
    /// Samples up to the end of the last speech frame.
    speech_end_samples: u64,
}

impl AnswerTimeline {
    /// A frame of `samples` samples arrived at `at_ms`; `speech` when it is above the
    /// speech threshold. Frames before the answer's first speech are not counted.
    pub(super) fn frame(&mut self, at_ms: u64, samples: u64, speech: bool, rate_hz: u64) {
        if self.anchor_ms.is_none() {
            if !speech {
                return;
            }
            let frame_ms = samples * 1_000 / rate_hz.max(1);
            self.anchor_ms = Some(at_ms.saturating_sub(frame_ms));
        }
        self.samples += samples;
        if speech {
            self.speech_end_samples = self.samples;
        }
    }

    /// The answer's `(start, end)` in ms since the interview started, or `None` when it had
    /// no speech frame; starts a new answer.
    pub(super) fn take_span(&mut self, rate_hz: u64) -> Option<(u64, u64)> {
        let t = std::mem::take(self);
        let start = t.anchor_ms?;
        Some((start, start + t.speech_end_samples * 1_000 / rate_hz.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_lasts_its_samples_not_its_arrival() {
        let mut t = AnswerTimeline::default();
        // Silence before the answer is not counted.
        t.frame(500, 640, false, 16_000);
        // 3 s of speech (75 frames of 40 ms) and 1 s of silence, all arriving within 10 ms.
        for i in 0..75 {
            t.frame(10_040 + i / 10, 640, true, 16_000);
        }
        for _ in 0..25 {
            t.frame(10_050, 640, false, 16_000);
        }
        assert_eq!(t.take_span(16_000), Some((10_000, 13_000)));
        assert_eq!(t.take_span(16_000), None);
    }
}
