//! Voice activity detection on the audio's own timeline.
//!
//! Time is counted in samples, never on the wall clock, so audio sent faster than real
//! time is judged exactly as audio sent in real time.

/// A window is speech when its RMS is above this level: −40 dBFS (0 dBFS is a full-scale
/// square wave of amplitude 32 768), i.e. an RMS of about 328.
pub const SPEECH_THRESHOLD_DBFS: f64 = -40.0;

/// Length of one analysis window: 20 ms (320 samples at 16 000 Hz).
pub const WINDOW_MS: u64 = 20;

/// Speech needed before a candidate turn counts as started: 200 ms.
pub const MIN_SPEECH_MS: u64 = 200;

/// Non-speech after speech that ends a candidate turn unless the setup says otherwise: 800 ms
/// (the server's internal default of `silenceDurationMs`, §3.1).
pub const DEFAULT_SILENCE_DURATION_MS: u64 = 800;

/// What a push of audio changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VadEvent {
    /// The candidate has spoken for [`MIN_SPEECH_MS`]: a turn has started (barge-in point).
    SpeechStarted,
    /// The candidate's turn ended after the configured silence.
    TurnEnded,
}

/// Voice activity detector over PCM16LE mono audio.
#[derive(Debug, Clone)]
pub struct Vad {
    sample_rate_hz: u32,
    window: Vec<i16>,
    silence_duration_ms: u64,
    speech_ms: u64,
    silence_ms: u64,
    started: bool,
    threshold_rms: f64,
}

impl Vad {
    /// A detector for audio at `sample_rate_hz` (16 000 Hz for Gemini Live input) that ends a
    /// turn after `silence_duration_ms` of non-speech.
    pub fn new(sample_rate_hz: u32, silence_duration_ms: u64) -> Self {
        let sample_rate_hz = sample_rate_hz.max(50);
        Self {
            sample_rate_hz,
            window: Vec::with_capacity(Self::window_len(sample_rate_hz)),
            silence_duration_ms,
            speech_ms: 0,
            silence_ms: 0,
            started: false,
            threshold_rms: 32_768.0 * 10f64.powf(SPEECH_THRESHOLD_DBFS / 20.0),
        }
    }

    fn window_len(sample_rate_hz: u32) -> usize {
        (u64::from(sample_rate_hz) * WINDOW_MS / 1000) as usize
    }

    /// The sample rate this detector expects, in Hz.
    pub fn sample_rate_hz(&self) -> u32 {
        self.sample_rate_hz
    }

    /// Whether a candidate turn has started and not yet ended.
    pub fn in_turn(&self) -> bool {
        self.started
    }

    /// Feeds PCM16LE bytes (a trailing odd byte is ignored) and returns what happened, in order.
    pub fn push_pcm16le(&mut self, pcm: &[u8]) -> Vec<VadEvent> {
        let mut events = Vec::new();
        let len = Self::window_len(self.sample_rate_hz);
        for pair in pcm.chunks_exact(2) {
            self.window.push(i16::from_le_bytes([pair[0], pair[1]]));
            if self.window.len() == len {
                if let Some(e) = self.close_window() {
                    events.push(e);
                }
                self.window.clear();
            }
        }
        events
    }

    fn close_window(&mut self) -> Option<VadEvent> {
        let n = self.window.len().max(1) as f64;
        let energy: f64 = self
            .window
            .iter()
            .map(|&s| f64::from(s) * f64::from(s))
            .sum();
        let speech = (energy / n).sqrt() > self.threshold_rms;
        if speech {
            self.speech_ms += WINDOW_MS;
            self.silence_ms = 0;
            if !self.started && self.speech_ms >= MIN_SPEECH_MS {
                self.started = true;
                return Some(VadEvent::SpeechStarted);
            }
        } else if self.speech_ms > 0 {
            self.silence_ms += WINDOW_MS;
            if self.silence_ms >= self.silence_duration_ms {
                let ended = self.started;
                self.reset();
                if ended {
                    return Some(VadEvent::TurnEnded);
                }
            }
        }
        None
    }

    /// `audioStreamEnd`: ends a started turn at once (returns `Some(TurnEnded)`), and forgets
    /// any speech too short to count.
    pub fn stream_end(&mut self) -> Option<VadEvent> {
        let ended = self.started;
        self.reset();
        self.window.clear();
        ended.then_some(VadEvent::TurnEnded)
    }

    fn reset(&mut self) {
        self.speech_ms = 0;
        self.silence_ms = 0;
        self.started = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(ms: u64, amplitude: i16) -> Vec<u8> {
        (0..ms * 16)
            .flat_map(|i| {
                let s = if i % 2 == 0 { amplitude } else { -amplitude };
                s.to_le_bytes()
            })
            .collect()
    }

    #[test]
    fn speech_then_silence_ends_one_turn() {
        let mut v = Vad::new(16_000, 800);
        assert_eq!(
            v.push_pcm16le(&tone(300, 3_000)),
            vec![VadEvent::SpeechStarted]
        );
        assert!(v.in_turn());
        assert_eq!(v.push_pcm16le(&tone(780, 0)), vec![]);
        assert_eq!(v.push_pcm16le(&tone(20, 0)), vec![VadEvent::TurnEnded]);
        assert!(!v.in_turn());
        assert_eq!(v.push_pcm16le(&tone(2_000, 0)), vec![]);
    }

    #[test]
    fn short_blips_and_quiet_noise_are_not_turns() {
        let mut v = Vad::new(16_000, 800);
        assert_eq!(v.push_pcm16le(&tone(100, 3_000)), vec![]);
        assert_eq!(v.push_pcm16le(&tone(1_000, 0)), vec![]);
        // -50 dBFS noise stays below the threshold.
        assert_eq!(v.push_pcm16le(&tone(2_000, 100)), vec![]);
        assert!(!v.in_turn());
    }

    #[test]
    fn pauses_shorter_than_the_silence_keep_the_turn() {
        let mut v = Vad::new(16_000, 800);
        let mut audio = tone(500, 3_000);
        audio.extend(tone(500, 0));
        audio.extend(tone(500, 3_000));
        audio.extend(tone(800, 0));
        assert_eq!(
            v.push_pcm16le(&audio),
            vec![VadEvent::SpeechStarted, VadEvent::TurnEnded]
        );
    }

    #[test]
    fn split_windows_and_stream_end() {
        let mut v = Vad::new(16_000, 800);
        let audio = tone(400, 3_000);
        let mut events = Vec::new();
        for piece in audio.chunks(333) {
            events.extend(v.push_pcm16le(piece));
        }
        assert_eq!(events, vec![VadEvent::SpeechStarted]);
        assert_eq!(v.stream_end(), Some(VadEvent::TurnEnded));
        assert_eq!(v.stream_end(), None);
    }
}
