//! Size limits on the text of an interview: one turn's text and the whole transcript.
//!
//! Typed answers join the candidate's open turn (a flood of small messages would otherwise
//! build one entry of megabytes), and model transcription grows without bound on a
//! misbehaving model; both are capped here, where the transcript is built.
//!
//! - A typed answer that would take its turn past [`SessionConfig::max_turn_text_bytes`],
//!   or the transcript past [`SessionConfig::max_transcript_bytes`], is refused whole:
//!   the candidate gets an `ErrorResponse` with code 413 and the text is neither shown,
//!   stored nor sent to the model ([`SessionError::TextLimit`](super::SessionError::TextLimit)).
//! - A model transcription fragment over either limit is left out of the transcript (the
//!   audio still plays); [`InterviewSession::dropped_text_bytes`] counts it.
//!
//! Sizes are bytes of UTF-8 text, as stored.

use crate::proto;
use crate::transcript::Speaker;

use super::{to_client, InterviewSession, SessionConfig, ToClient};

/// Default of [`SessionConfig::max_turn_text_bytes`]: 16 KiB.
pub const DEFAULT_MAX_TURN_TEXT_BYTES: usize = 16 * 1024;

/// Default of [`SessionConfig::max_transcript_bytes`]: 1 MiB.
pub const DEFAULT_MAX_TRANSCRIPT_BYTES: usize = 1024 * 1024;

/// HTTP-style code of the `ErrorResponse` a refused typed answer gets (413, content too large).
pub const TEXT_LIMIT_CODE: i32 = 413;

/// Text that would break a size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextLimit {
    /// The turn's text would exceed its limit.
    #[error("this answer would exceed {max} bytes, the limit for one turn; wait for the interviewer's reply and go on")]
    Turn {
        /// The limit, in bytes.
        max: usize,
    },
    /// The interview's whole transcript would exceed its limit.
    #[error("the interview's transcript has reached its limit of {max} bytes; nothing more can be added")]
    Transcript {
        /// The limit, in bytes.
        max: usize,
    },
}

impl SessionConfig {
    /// Sets [`SessionConfig::max_turn_text_bytes`] (bytes).
    pub fn with_max_turn_text_bytes(mut self, bytes: usize) -> Self {
        self.max_turn_text_bytes = bytes;
        self
    }

    /// Sets [`SessionConfig::max_transcript_bytes`] (bytes).
    pub fn with_max_transcript_bytes(mut self, bytes: usize) -> Self {
        self.max_transcript_bytes = bytes;
        self
    }
}

impl InterviewSession {
    /// Bytes of model transcription left out of the transcript because a size limit was
    /// reached.
    pub fn dropped_text_bytes(&self) -> u64 {
        self.text_limits.dropped_bytes
    }

    /// Bytes of text in the transcript now (finished entries and open turns).
    pub fn transcript_bytes(&self) -> usize {
        self.text_limits.total
    }

    /// Checks that `len` more bytes fit in `speaker`'s open turn and in the transcript, and
    /// counts them when they do.
    pub(super) fn admit_text(&mut self, speaker: Speaker, len: usize) -> Result<(), TextLimit> {
        let turn = self.transcript.open_text(speaker).map_or(0, str::len);
        if turn.saturating_add(len) > self.config.max_turn_text_bytes {
            return Err(TextLimit::Turn {
                max: self.config.max_turn_text_bytes,
            });
        }
        let total = self.text_limits.total.saturating_add(len);
        if total > self.config.max_transcript_bytes {
            return Err(TextLimit::Transcript {
                max: self.config.max_transcript_bytes,
            });
        }
        self.text_limits.total = total;
        Ok(())
    }

    /// A typed answer was refused: the candidate is told why (413).
    pub(super) fn refuse_text(&mut self, limit: TextLimit) {
        self.to_client
            .push_back(to_client(ToClient::ErrorResponse(proto::ErrorResponse {
                code: TEXT_LIMIT_CODE,
                message: limit.to_string(),
                kind: 0,
            })));
    }

    /// A model fragment of `len` bytes was left out of the transcript.
    pub(super) fn drop_model_text(&mut self, len: usize) {
        self.text_limits.dropped_bytes += len as u64;
    }
}

/// The running count behind the limits.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TextCount {
    /// Bytes of text in the transcript.
    pub(super) total: usize,
    /// Bytes of model text left out.
    pub(super) dropped_bytes: u64,
}

/// Text the store can hold: every NUL character (which PostgreSQL refuses in text, and so
/// every store) replaced by U+FFFD REPLACEMENT CHARACTER. Allocates only when there is one.
pub fn store_safe(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::codec::ClientMessage;
    use crate::model::ModelEvent;
    use crate::session::{PersistAction, SessionError};

    fn started(config: SessionConfig) -> (InterviewSession, Instant) {
        let now = Instant::now();
        let mut s = InterviewSession::new("iv", config, now);
        s.handle_model(ModelEvent::SetupComplete, now).unwrap();
        while s.poll_to_client().is_some() {}
        (s, now)
    }

    fn errors(s: &mut InterviewSession) -> Vec<proto::ErrorResponse> {
        std::iter::from_fn(|| s.poll_to_client())
            .filter_map(|m| match m.message {
                Some(ToClient::ErrorResponse(e)) => Some(e),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn typed_answers_cannot_grow_one_turn_past_its_limit() {
        let (mut s, now) = started(SessionConfig::new(Duration::from_secs(600)));
        let chunk = "x".repeat(6 * 1024);
        assert!(s
            .handle_client(ClientMessage::Text(chunk.clone()), now)
            .is_ok());
        assert!(s
            .handle_client(ClientMessage::Text(chunk.clone()), now)
            .is_ok());
        assert!(errors(&mut s).is_empty());
        // A third 6 KiB answer would make the open turn 18 KiB (and a space).
        assert_eq!(
            s.handle_client(ClientMessage::Text(chunk.clone()), now),
            Err(SessionError::TextLimit(TextLimit::Turn {
                max: DEFAULT_MAX_TURN_TEXT_BYTES
            }))
        );
        let e = errors(&mut s);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].code, 413);
        // The refused answer reached neither the model nor the transcript.
        let texts = std::iter::from_fn(|| s.poll_to_model())
            .filter(|c| matches!(c, crate::ModelCommand::Text(_)))
            .count();
        assert_eq!(texts, 2);
        let open = s.transcript().open_text(Speaker::User).unwrap();
        assert!(open.len() <= DEFAULT_MAX_TURN_TEXT_BYTES, "{}", open.len());
        // After the interviewer's reply a new turn starts with room again.
        s.handle_model(ModelEvent::OutputTranscription("Go on.".into()), now)
            .unwrap();
        s.handle_model(ModelEvent::TurnComplete, now).unwrap();
        assert!(s.handle_client(ClientMessage::Text(chunk), now).is_ok());
    }

    #[test]
    fn the_whole_transcript_has_a_limit_for_typed_and_model_text() {
        let config = SessionConfig::new(Duration::from_secs(600))
            .with_max_turn_text_bytes(100)
            .with_max_transcript_bytes(250);
        let (mut s, now) = started(config);
        for _ in 0..3 {
            s.handle_model(ModelEvent::OutputTranscription("q".repeat(40)), now)
                .unwrap();
            s.handle_model(ModelEvent::TurnComplete, now).unwrap();
            s.handle_client(ClientMessage::Text("a".repeat(40)), now)
                .unwrap();
        }
        assert_eq!(s.transcript_bytes(), 240);
        assert_eq!(
            s.handle_client(ClientMessage::Text("b".repeat(40)), now),
            Err(SessionError::TextLimit(TextLimit::Transcript { max: 250 }))
        );
        // Model text past the limit is left out and counted; the interview goes on.
        s.handle_model(ModelEvent::OutputTranscription("q".repeat(40)), now)
            .unwrap();
        assert_eq!(s.dropped_text_bytes(), 40);
        assert!(!s.is_ended());
        s.handle_client(ClientMessage::End, now).unwrap();
        let stored: usize = std::iter::from_fn(|| s.poll_persist())
            .filter_map(|a| match a {
                PersistAction::Transcript(b) => Some(b.iter().map(|e| e.text.len()).sum::<usize>()),
                _ => None,
            })
            .sum::<usize>();
        assert!(stored <= 250, "{stored}");
    }

    #[test]
    fn nul_in_model_text_is_replaced_and_the_entry_kept() {
        let (mut s, now) = started(SessionConfig::new(Duration::from_secs(600)));
        s.handle_model(ModelEvent::OutputTranscription("Tell\0 me".into()), now)
            .unwrap();
        s.handle_model(ModelEvent::TurnComplete, now).unwrap();
        s.handle_model(ModelEvent::InputTranscription("I\0did".into()), now)
            .unwrap();
        s.handle_client(ClientMessage::End, now).unwrap();
        let entries = s.transcript().entries();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].text, "Tell\u{FFFD} me");
        assert_eq!(entries[1].text, "I\u{FFFD}did");
        assert!(entries.iter().all(|e| !e.text.contains('\0')));
    }

    #[test]
    fn store_safe_replaces_only_nul() {
        assert_eq!(store_safe("a\0b\0".into()), "a\u{FFFD}b\u{FFFD}");
        assert_eq!(store_safe("tab\tok é".into()), "tab\tok é");
    }
}
