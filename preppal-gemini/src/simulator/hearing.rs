//! The simulator's ears: with a list of candidate transcripts (one per spoken candidate
//! turn, in order, [`super::SimulatorConfig::with_candidate_transcripts`]) it sends
//! `inputTranscription` fragments word by word while the candidate's audio of that turn
//! arrives, as the real service does (gemini-live-protocol notes §4.1: input transcription
//! comes as fragments, in no fixed order with the model's output).
//!
//! A turn starts when the simulator's voice activity detection hears speech (or at
//! `activityStart`) and ends with it (or at `activityEnd`). While it lasts, one more word
//! is due for every [`WORD_MS`] of audio heard; the words still owed when the turn ends
//! are sent before the reply starts, except the last
//! [`super::SimulatorConfig::late_transcription_words`], which arrive after the reply's
//! first audio message (the late transcription of the fault tests).

use std::sync::Arc;

/// Audio per transcribed word, in ms of candidate speech: about 180 words a minute.
pub const WORD_MS: u64 = 330;

/// The words of the candidate's spoken turns, handed out as the audio arrives.
#[derive(Debug, Clone)]
pub(super) struct Hearing {
    transcripts: Arc<[String]>,
    late_words: usize,
    /// The next transcript to use (spoken turns heard so far).
    pub(super) turn: usize,
    /// The words of the turn being heard, and how many were sent.
    current: Option<(Vec<String>, usize)>,
    speech_ms: u64,
}

impl Hearing {
    pub(super) fn new(transcripts: Arc<[String]>, late_words: usize) -> Self {
        Self {
            transcripts,
            late_words,
            turn: 0,
            current: None,
            speech_ms: 0,
        }
    }

    /// A spoken turn starts: its words are the next transcript (none when the list is
    /// used up or empty).
    pub(super) fn start_turn(&mut self) {
        if self.current.is_some() {
            return;
        }
        let words = self
            .transcripts
            .get(self.turn)
            .map(|t| t.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        self.turn += 1;
        self.speech_ms = 0;
        self.current = Some((words, 0));
    }

    /// `ms` more of the turn's audio arrived: the fragments now due, in order.
    pub(super) fn heard(&mut self, ms: u64) -> Vec<String> {
        let Some((words, sent)) = self.current.as_mut() else {
            return Vec::new();
        };
        self.speech_ms += ms;
        let keep_back = self.late_words.min(words.len());
        let due = ((1 + self.speech_ms / WORD_MS) as usize).min(words.len() - keep_back);
        let out = fragments(words, *sent, due);
        *sent = (*sent).max(due);
        out
    }

    /// The turn ended: `(now, late)`, the fragments still owed before the reply and those
    /// to send after the reply started.
    pub(super) fn end_turn(&mut self) -> (Vec<String>, Vec<String>) {
        let Some((words, sent)) = self.current.take() else {
            return (Vec::new(), Vec::new());
        };
        let late_from = words.len() - self.late_words.min(words.len());
        let now = fragments(&words, sent, late_from);
        let late = fragments(&words, sent.max(late_from), words.len());
        (now, late)
    }
}

/// Words `from..to` as fragments: each but the turn's first word with a leading space, so
/// that concatenating every fragment of a turn gives its words separated by spaces.
fn fragments(words: &[String], from: usize, to: usize) -> Vec<String> {
    (from..to)
        .filter_map(|i| {
            let word = words.get(i)?;
            Some(if i == 0 {
                word.clone()
            } else {
                format!(" {word}")
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hearing(late: usize) -> Hearing {
        Hearing::new(
            vec!["one two three four five".to_owned(), "six".to_owned()].into(),
            late,
        )
    }

    #[test]
    fn words_follow_the_audio_and_the_rest_comes_at_the_end() {
        let mut h = hearing(0);
        assert!(h.heard(1_000).is_empty(), "no turn, no words");
        h.start_turn();
        assert_eq!(h.heard(100), vec!["one"]);
        assert_eq!(h.heard(WORD_MS), vec![" two"]);
        assert!(h.heard(10).is_empty());
        let (now, late) = h.end_turn();
        assert_eq!(now, vec![" three", " four", " five"]);
        assert!(late.is_empty());
        h.start_turn();
        assert_eq!(h.end_turn().0, vec!["six"]);
        h.start_turn();
        assert_eq!(h.end_turn(), (Vec::new(), Vec::new()), "list used up");
    }

    #[test]
    fn late_words_are_held_back_until_after_the_reply() {
        let mut h = hearing(2);
        h.start_turn();
        let early = h.heard(10 * WORD_MS);
        assert_eq!(early, vec!["one", " two", " three"]);
        let (now, late) = h.end_turn();
        assert!(now.is_empty());
        assert_eq!(late, vec![" four", " five"]);
        let all: String = early.into_iter().chain(late).collect();
        assert_eq!(all, "one two three four five");
    }
}
