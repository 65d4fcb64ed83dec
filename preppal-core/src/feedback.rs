//! Interview feedback and the deterministic summary used when no model is available.

use serde::{Deserialize, Serialize};

use crate::proto;
use crate::transcript::{Speaker, TranscriptEntry};

/// Where a piece of feedback came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FeedbackSource {
    /// Written by the Gemini API from the transcript.
    Gemini,
    /// Computed from the transcript by [`deterministic_feedback`], without a model.
    Deterministic,
}

impl FeedbackSource {
    /// `"gemini"` or `"deterministic"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gemini => "gemini",
            Self::Deterministic => "deterministic",
        }
    }

    /// Parses [`FeedbackSource::as_str`]; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "gemini" => Some(Self::Gemini),
            "deterministic" => Some(Self::Deterministic),
            _ => None,
        }
    }
}

/// Feedback on one interview, as the design keeps it: a summary, strengths and areas
/// to improve, plus where it came from.
///
/// Marked `#[non_exhaustive]` because it will grow (scores, per-question notes); build it
/// with [`Feedback::new`] and keep it as a JSON document if you store it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Feedback {
    /// A few sentences on the whole interview.
    pub summary: String,
    /// What went well.
    pub strengths: Vec<String>,
    /// What to work on.
    pub areas_to_improve: Vec<String>,
    /// Who wrote it.
    pub source: FeedbackSource,
}

impl Feedback {
    /// Feedback with the given parts.
    pub fn new(
        summary: impl Into<String>,
        strengths: Vec<String>,
        areas_to_improve: Vec<String>,
        source: FeedbackSource,
    ) -> Self {
        Self {
            summary: summary.into(),
            strengths,
            areas_to_improve,
            source,
        }
    }
}

impl From<&Feedback> for proto::Feedback {
    fn from(f: &Feedback) -> Self {
        Self {
            summary: f.summary.clone(),
            strengths: f.strengths.clone(),
            areas_to_improve: f.areas_to_improve.clone(),
            source: f.source.as_str().to_owned(),
        }
    }
}

impl From<proto::Feedback> for Feedback {
    /// An unknown `source` string is read as [`FeedbackSource::Deterministic`]: it was not
    /// written by the model as far as this build knows.
    fn from(f: proto::Feedback) -> Self {
        Self {
            summary: f.summary,
            strengths: f.strengths,
            areas_to_improve: f.areas_to_improve,
            source: FeedbackSource::parse(&f.source).unwrap_or(FeedbackSource::Deterministic),
        }
    }
}

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Feedback computed from the transcript alone, with no model: turn counts, speaking
/// time and words. Labelled [`FeedbackSource::Deterministic`], and its summary says so.
///
/// Speaking time of a turn is `end_ms - start_ms`. The same transcript always gives the
/// same feedback.
pub fn deterministic_feedback(entries: &[TranscriptEntry]) -> Feedback {
    let (mut ai_turns, mut user_turns, mut user_ms, mut user_words, mut silent) =
        (0u32, 0u32, 0u64, 0usize, 0u32);
    let mut longest = 0u64;
    for e in entries {
        match e.speaker {
            Speaker::Ai => ai_turns += 1,
            Speaker::User => {
                user_turns += 1;
                let ms = e.end_ms.saturating_sub(e.start_ms);
                user_ms += ms;
                longest = longest.max(ms);
                let w = words(&e.text);
                user_words += w;
                if w == 0 {
                    silent += 1;
                }
            }
        }
    }
    let summary = format!(
        "Automatic summary (no AI model was used): the interviewer spoke {ai_turns} turn(s) and you \
         answered {user_turns} time(s), speaking for {:.1} s in total with {user_words} transcribed word(s).",
        user_ms as f64 / 1000.0
    );
    let mut strengths = Vec::new();
    let mut areas = Vec::new();
    if user_turns > 0 && user_turns >= ai_turns.saturating_sub(1) {
        strengths.push(format!(
            "You answered {user_turns} of the interviewer's turns."
        ));
    }
    if longest > 0 {
        strengths.push(format!(
            "Your longest answer lasted {:.1} s.",
            longest as f64 / 1000.0
        ));
    }
    if user_turns == 0 {
        areas.push(
            "No answers were recorded; try the interview again and answer each question."
                .to_owned(),
        );
    }
    if silent > 0 {
        areas.push(format!(
            "{silent} answer(s) had no transcribed words; check your microphone level."
        ));
    }
    if areas.is_empty() {
        areas.push("Set GEMINI_API_KEY for feedback on the content of your answers.".to_owned());
    }
    Feedback::new(summary, strengths, areas, FeedbackSource::Deterministic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u32, speaker: Speaker, text: &str, start: u64, end: u64) -> TranscriptEntry {
        TranscriptEntry {
            sequence: seq,
            speaker,
            text: text.into(),
            start_ms: start,
            end_ms: end,
        }
    }

    #[test]
    fn counts_turns_time_and_words() {
        let t = [
            entry(0, Speaker::Ai, "Tell me about yourself.", 0, 2_000),
            entry(1, Speaker::User, "I build backends in Rust.", 3_000, 6_500),
            entry(2, Speaker::Ai, "Why Rust?", 7_000, 8_000),
            entry(3, Speaker::User, "", 9_000, 10_000),
        ];
        let f = deterministic_feedback(&t);
        assert_eq!(f.source, FeedbackSource::Deterministic);
        assert!(f.summary.contains("spoke 2 turn(s)"), "{}", f.summary);
        assert!(f.summary.contains("answered 2 time(s)"), "{}", f.summary);
        assert!(f.summary.contains("4.5 s"), "{}", f.summary);
        assert!(f.summary.contains("5 transcribed word(s)"), "{}", f.summary);
        assert!(f
            .areas_to_improve
            .iter()
            .any(|a| a.starts_with("1 answer(s)")));
        assert_eq!(f, deterministic_feedback(&t));
    }

    #[test]
    fn empty_transcript_says_nothing_was_recorded() {
        let f = deterministic_feedback(&[]);
        assert!(f.strengths.is_empty());
        assert!(f.areas_to_improve[0].contains("No answers"));
    }
}
