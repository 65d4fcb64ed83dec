//! What a model connection layer asks of the interview: whether it is at a quiet moment,
//! and the conversation so far to seed a new model connection with.

use crate::transcript::{Speaker, TranscriptEntry};

use super::InterviewSession;

impl InterviewSession {
    /// Whether the interview is at a quiet moment: no interviewer turn open (from the
    /// model's first output of a turn to its `turnComplete` or `interrupted`) and no
    /// candidate answer under way (from the candidate's first speech or typed answer to
    /// the model's first output after it).
    ///
    /// A model connection may be replaced at such a moment without cutting either side
    /// short (a `goAway` switch waits for one). Read it after each `handle_*` call.
    pub fn is_quiet(&self) -> bool {
        !self.transcript.is_open(Speaker::Ai) && !self.transcript.is_open(Speaker::User)
    }

    /// The conversation so far: every finished entry in order, then the open turns as
    /// provisional entries (earliest start first), for seeding a new model connection that
    /// has no resumption handle (a typed answer the model has not begun answering is an
    /// open candidate turn, and belongs in the seed).
    pub fn conversation_so_far(&self) -> Vec<TranscriptEntry> {
        let mut entries = self.transcript.entries().to_vec();
        entries.extend(self.transcript.open_entries());
        entries
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use bytes::Bytes;

    use crate::codec::ClientMessage;
    use crate::model::ModelEvent;
    use crate::session::{InterviewSession, SessionConfig};
    use crate::transcript::Speaker;

    /// 20 ms of 16 kHz PCM16LE: a square wave at `amplitude`.
    fn frame(amplitude: i16) -> Bytes {
        (0..320)
            .flat_map(|i| if i % 2 == 0 { amplitude } else { -amplitude }.to_le_bytes())
            .collect::<Vec<u8>>()
            .into()
    }

    fn started() -> (InterviewSession, Instant) {
        let now = Instant::now();
        let mut s = InterviewSession::new("iv", SessionConfig::new(Duration::from_secs(600)), now);
        s.handle_model(ModelEvent::SetupComplete, now).unwrap();
        (s, now)
    }

    #[test]
    fn quiet_between_turns_not_while_either_side_speaks() {
        let (mut s, t) = started();
        assert!(s.is_quiet(), "nobody has spoken");
        s.handle_model(ModelEvent::OutputTranscription("Hello.".into()), t)
            .unwrap();
        assert!(!s.is_quiet(), "the interviewer's turn is open");
        s.handle_model(ModelEvent::GenerationComplete, t).unwrap();
        assert!(!s.is_quiet(), "open until turnComplete");
        s.handle_model(ModelEvent::TurnComplete, t).unwrap();
        assert!(s.is_quiet());
        // Silence from the candidate's microphone is no answer.
        s.handle_client(ClientMessage::Audio(frame(0)), t).unwrap();
        assert!(s.is_quiet(), "silent audio starts no answer");
        let t = t + Duration::from_millis(20);
        s.handle_client(ClientMessage::Audio(frame(8_000)), t)
            .unwrap();
        assert!(!s.is_quiet(), "the candidate is answering");
        // Still the candidate's turn through its pauses, until the model answers and ends.
        s.handle_client(ClientMessage::Audio(frame(0)), t).unwrap();
        assert!(!s.is_quiet());
        s.handle_model(ModelEvent::OutputTranscription("Thanks.".into()), t)
            .unwrap();
        assert!(!s.is_quiet(), "the reply is under way");
        s.handle_model(ModelEvent::TurnComplete, t).unwrap();
        assert!(s.is_quiet());
    }

    #[test]
    fn a_typed_answer_is_under_way_until_the_model_answers_and_is_in_the_conversation() {
        let (mut s, t) = started();
        s.handle_model(ModelEvent::OutputTranscription("Why Rust?".into()), t)
            .unwrap();
        s.handle_model(ModelEvent::TurnComplete, t).unwrap();
        s.handle_client(ClientMessage::Text("Safety.".into()), t)
            .unwrap();
        assert!(!s.is_quiet());
        let so_far: Vec<(Speaker, String)> = s
            .conversation_so_far()
            .into_iter()
            .map(|e| (e.speaker, e.text))
            .collect();
        assert_eq!(
            so_far,
            [
                (Speaker::Ai, "Why Rust?".to_owned()),
                (Speaker::User, "Safety.".to_owned())
            ]
        );
        assert_eq!(
            s.transcript().entries().len(),
            1,
            "the answer is still open"
        );
    }

    #[test]
    fn an_interrupted_turn_ends_the_interviewers_turn() {
        let (mut s, t) = started();
        s.handle_model(ModelEvent::OutputTranscription("Tell me".into()), t)
            .unwrap();
        s.handle_model(ModelEvent::Interrupted, t).unwrap();
        assert!(s.is_quiet());
        let so_far = s.conversation_so_far();
        assert_eq!(so_far.len(), 1);
        assert_eq!(so_far[0].text, "Tell me");
    }
}
