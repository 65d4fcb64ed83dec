//! What `preppal interview` would have played: a model of an audio player on the client's
//! own clock.
//!
//! The command-line client plays no sound, but it keeps the books a player would. The
//! interviewer's audio (PCM16LE, 24 000 Hz, mono: 48 bytes per ms) comes faster than real
//! time; each chunk starts playing when it arrives or when the audio before it has played,
//! whichever is later. A turn's playback ends where its last chunk ends (drained) or where
//! `Interrupted` flushed the player (cut). The client waits for that end before answering
//! (as a listener would) and tells the worker what it played (`PlaybackReport`).

use tokio::time::{Duration, Instant};

/// Interviewer audio: PCM16LE at 24 000 Hz, 48 bytes per ms.
pub(crate) const AI_AUDIO_BYTES_PER_MS: usize = 48;

/// How one interviewer turn played.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Played {
    /// When its playback ended, on this process's clock.
    pub ends_at: Instant,
    /// Its audio, in ms.
    pub audio_ms: u32,
}

/// The player model. See the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct Player {
    /// When everything queued has played.
    cursor: Option<Instant>,
    /// Bytes of the current turn's audio.
    turn_bytes: usize,
    /// When the current turn started playing.
    turn_start: Option<Instant>,
}

impl Player {
    /// A chunk of `bytes` bytes of interviewer audio arrived at `now`.
    pub(crate) fn audio(&mut self, now: Instant, bytes: usize) {
        let start = self.cursor.map_or(now, |c| c.max(now));
        self.turn_start.get_or_insert(start);
        self.turn_bytes += bytes;
        let ms = bytes as f64 / AI_AUDIO_BYTES_PER_MS as f64;
        self.cursor = Some(start + Duration::from_secs_f64(ms / 1_000.0));
    }

    /// Audio of the current turn, in ms.
    pub(crate) fn turn_audio_ms(&self) -> u32 {
        u32::try_from(self.turn_bytes / AI_AUDIO_BYTES_PER_MS).unwrap_or(u32::MAX)
    }

    /// The interviewer's turn is complete: it plays to its end. Returns how, or `None` when
    /// it had no audio; the next audio is a new turn.
    pub(crate) fn turn_complete(&mut self) -> Option<Played> {
        let audio_ms = self.turn_audio_ms();
        let ends_at = self.cursor?;
        let had_audio = self.turn_start.take().is_some();
        self.turn_bytes = 0;
        had_audio.then_some(Played { ends_at, audio_ms })
    }

    /// `Interrupted` at `now`: the player is flushed. Returns the ms of the turn's audio
    /// that played, or `None` when the turn had no audio.
    pub(crate) fn cut(&mut self, now: Instant) -> Option<u32> {
        let start = self.turn_start.take()?;
        let end = self.cursor.map_or(now, |c| c.min(now));
        self.cursor = Some(end);
        let audio_ms = self.turn_audio_ms();
        self.turn_bytes = 0;
        let played =
            u32::try_from(end.saturating_duration_since(start).as_millis()).unwrap_or(u32::MAX);
        Some(played.min(audio_ms))
    }

    /// Forgets everything (a new socket after a reconnect).
    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_plays_back_to_back_then_cuts_where_interrupted() {
        let t0 = Instant::now();
        let mut p = Player::default();
        p.audio(t0, 48_000);
        p.audio(t0 + Duration::from_millis(10), 48_000);
        let played = p.turn_complete().unwrap();
        assert_eq!(played.audio_ms, 2_000);
        assert_eq!(played.ends_at, t0 + Duration::from_secs(2));
        assert_eq!(p.turn_complete(), None);

        let t1 = t0 + Duration::from_secs(5);
        p.audio(t1, 96_000);
        assert_eq!(p.cut(t1 + Duration::from_millis(700)), Some(700));
        assert_eq!(p.cut(t1 + Duration::from_millis(900)), None);
    }
}
