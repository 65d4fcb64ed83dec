//! Interview feedback and the deterministic summary used when no model is available.
//!
//! Feedback has two layers: [`InterviewMetrics`] measured from the transcript, its timing
//! and audio, and notes and scores written by a model. Every quote a model offers as
//! evidence is checked against the candidate's own words with [`verify_quotes`]; a note
//! whose quote is not found is dropped and counted in [`Feedback::dropped_notes`].

use serde::{Deserialize, Serialize};

mod coaching;
pub use coaching::{human_duration, job_heading, questions, JobHeading, QuestionCoaching};

use crate::metrics::InterviewMetrics;
use crate::plan::PlanAssessment;
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
    /// Written by the offline Gemini simulator (a scripted stand-in for the model, built
    /// from the transcript), not by a language model.
    Simulator,
}

impl FeedbackSource {
    /// `"gemini"`, `"deterministic"` or `"simulator"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gemini => "gemini",
            Self::Deterministic => "deterministic",
            Self::Simulator => "simulator",
        }
    }

    /// Parses [`FeedbackSource::as_str`]; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "gemini" => Some(Self::Gemini),
            "deterministic" => Some(Self::Deterministic),
            "simulator" => Some(Self::Simulator),
            _ => None,
        }
    }
}

/// A note on one answer, backed by a short quote of what the candidate said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QuestionNote {
    /// The question the note is about (as the model gave it).
    pub question: String,
    /// A short quote from the candidate's answer; checked by [`verify_quotes`].
    pub quote: String,
    /// The note itself.
    pub note: String,
}

impl QuestionNote {
    /// A note with the given parts.
    pub fn new(
        question: impl Into<String>,
        quote: impl Into<String>,
        note: impl Into<String>,
    ) -> Self {
        Self {
            question: question.into(),
            quote: quote.into(),
            note: note.into(),
        }
    }
}

/// A score from 1 (weak) to 5 (strong) with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Score {
    /// 1..=5.
    pub value: u8,
    /// Why this score, in a sentence.
    pub reason: String,
}

impl Score {
    /// A score, or `None` when `value` is outside 1..=5.
    pub fn new(value: u8, reason: impl Into<String>) -> Option<Self> {
        (1..=5).contains(&value).then(|| Self {
            value,
            reason: reason.into(),
        })
    }
}

/// Scores on the content, the structure (STAR for behavioural questions) and the clarity
/// of the answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Scores {
    /// Substance: relevant, specific, correct.
    pub content: Score,
    /// Shape: situation, task, action, result for behavioural questions; a clear line of
    /// reasoning otherwise.
    pub structure: Score,
    /// How easy the answers are to follow.
    pub clarity: Score,
}

impl Scores {
    /// The three scores.
    pub fn new(content: Score, structure: Score, clarity: Score) -> Self {
        Self {
            content,
            structure,
            clarity,
        }
    }
}

/// Feedback on one interview: a summary, strengths and areas to improve, where it came
/// from, and (newer documents) the measured metrics, per-question notes with quotes,
/// scores, and how many notes were dropped because their quote was not in the transcript.
///
/// Marked `#[non_exhaustive]`; build it with [`Feedback::new`] and the `with_*` setters,
/// and keep it as a JSON document if you store it. The newer fields are
/// `#[serde(default)]`, so documents written before them still read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Delivery metrics measured from the transcript, timing and audio.
    #[serde(default)]
    pub metrics: Option<InterviewMetrics>,
    /// Per-question notes, each with a quote found in the candidate's answers.
    #[serde(default)]
    pub notes: Vec<QuestionNote>,
    /// Scores on content, structure and clarity, when a model gave them.
    #[serde(default)]
    pub scores: Option<Scores>,
    /// Notes dropped because their quote is not in the candidate's answers.
    #[serde(default)]
    pub dropped_notes: u32,
    /// Against the interview plan, when the interview has one: scores per competency with
    /// verified quotes, STAR checks, coverage ([`crate::plan::assess`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_assessment: Option<PlanAssessment>,
}

/// The parts of [`Feedback`] carried in the protobuf `details_json` field.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Details {
    metrics: Option<InterviewMetrics>,
    notes: Vec<QuestionNote>,
    scores: Option<Scores>,
    dropped_notes: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan_assessment: Option<PlanAssessment>,
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
            metrics: None,
            notes: Vec::new(),
            scores: None,
            dropped_notes: 0,
            plan_assessment: None,
        }
    }

    /// Sets [`Feedback::plan_assessment`].
    pub fn with_plan_assessment(mut self, assessment: Option<PlanAssessment>) -> Self {
        self.plan_assessment = assessment;
        self
    }

    /// Sets [`Feedback::metrics`].
    pub fn with_metrics(mut self, metrics: InterviewMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Sets [`Feedback::notes`] (check them with [`verify_quotes`] before showing them).
    pub fn with_notes(mut self, notes: Vec<QuestionNote>) -> Self {
        self.notes = notes;
        self
    }

    /// Sets [`Feedback::scores`].
    pub fn with_scores(mut self, scores: Option<Scores>) -> Self {
        self.scores = scores;
        self
    }
}

/// Lower case with every run of whitespace made one space, trimmed.
fn normalise(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Keeps only the notes whose quote appears in one of the candidate's (`USER`) entries,
/// comparing with whitespace runs collapsed and case ignored (quotation marks around the
/// whole quote are ignored too). Dropped notes are added to [`Feedback::dropped_notes`];
/// an empty quote is dropped. Returns how many this call dropped.
pub fn verify_quotes(feedback: &mut Feedback, entries: &[TranscriptEntry]) -> u32 {
    let answers: Vec<String> = entries
        .iter()
        .filter(|e| e.speaker == Speaker::User)
        .map(|e| normalise(&e.text))
        .collect();
    let before = feedback.notes.len();
    feedback.notes.retain(|n| {
        let quote = normalise(
            n.quote
                .trim()
                .trim_matches(['"', '\'', '\u{201c}', '\u{201d}', '\u{2018}', '\u{2019}']),
        );
        !quote.is_empty() && answers.iter().any(|a| a.contains(&quote))
    });
    let dropped = u32::try_from(before - feedback.notes.len()).unwrap_or(u32::MAX);
    feedback.dropped_notes = feedback.dropped_notes.saturating_add(dropped);
    dropped
}

impl From<&Feedback> for proto::Feedback {
    fn from(f: &Feedback) -> Self {
        Self {
            summary: f.summary.clone(),
            strengths: f.strengths.clone(),
            areas_to_improve: f.areas_to_improve.clone(),
            source: f.source.as_str().to_owned(),
            details_json: if f.metrics.is_none()
                && f.notes.is_empty()
                && f.scores.is_none()
                && f.dropped_notes == 0
                && f.plan_assessment.is_none()
            {
                String::new()
            } else {
                serde_json::to_string(&Details {
                    metrics: f.metrics.clone(),
                    notes: f.notes.clone(),
                    scores: f.scores.clone(),
                    dropped_notes: f.dropped_notes,
                    plan_assessment: f.plan_assessment.clone(),
                })
                .unwrap_or_default()
            },
        }
    }
}

impl From<proto::Feedback> for Feedback {
    /// An unknown `source` string is read as [`FeedbackSource::Deterministic`]: it was not
    /// written by the model as far as this build knows. A `details_json` that does not
    /// parse is read as empty (no metrics, notes or scores).
    fn from(f: proto::Feedback) -> Self {
        let details: Details = if f.details_json.is_empty() {
            Details::default()
        } else {
            serde_json::from_str(&f.details_json).unwrap_or_default()
        };
        Self {
            summary: f.summary,
            strengths: f.strengths,
            areas_to_improve: f.areas_to_improve,
            source: FeedbackSource::parse(&f.source).unwrap_or(FeedbackSource::Deterministic),
            metrics: details.metrics,
            notes: details.notes,
            scores: details.scores,
            dropped_notes: details.dropped_notes,
            plan_assessment: details.plan_assessment,
        }
    }
}

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Feedback computed from the transcript alone, with no model: how many questions and
/// answers, and the speaking time, in human units. Labelled
/// [`FeedbackSource::Deterministic`], and its summary says plainly it was produced without
/// an AI model. It never blames the candidate's equipment for answers that were not
/// transcribed (the interviewer may not transcribe at all) and holds nothing addressed to
/// an operator.
///
/// Speaking time of a turn is `end_ms - start_ms`. The same transcript always gives the
/// same feedback.
pub fn deterministic_feedback(entries: &[TranscriptEntry]) -> Feedback {
    let (mut ai_turns, mut user_turns, mut user_ms, mut user_words, mut silent) =
        (0u32, 0u32, 0u64, 0usize, 0u32);
    for e in entries {
        match e.speaker {
            Speaker::Ai => ai_turns += 1,
            Speaker::User => {
                user_turns += 1;
                user_ms += e.end_ms.saturating_sub(e.start_ms);
                let w = words(&e.text);
                user_words += w;
                if w == 0 {
                    silent += 1;
                }
            }
        }
    }
    let mut summary = format!(
        "Automatic summary, produced without an AI model (no AI model read your answers): \
         it measures how you spoke, not what you said. The interviewer took {ai_turns} turn(s) \
         and you gave {user_turns} answer(s), speaking for {} in total",
        human_duration(user_ms)
    );
    if user_words > 0 {
        summary.push_str(&format!(", with {user_words} transcribed word(s)."));
    } else {
        summary.push('.');
    }
    if silent > 0 && user_words == 0 {
        summary.push_str(
            " Your spoken answers were not transcribed, so pace, filler words and key terms \
             are not available; the timing of each answer is.",
        );
    } else if silent > 0 {
        summary.push_str(&format!(
            " {silent} spoken answer(s) were not transcribed; they count for timing only."
        ));
    }
    let mut areas = Vec::new();
    if user_turns == 0 {
        areas.push(
            "No answers were recorded; try the interview again and answer each question."
                .to_owned(),
        );
    }
    Feedback::new(summary, Vec::new(), areas, FeedbackSource::Deterministic)
}

/// [`deterministic_feedback`] with the interview's metrics attached and read back as
/// strengths and areas to improve from measured evidence against the reference bands (as
/// guidance): typical answer length and an answer far longer than the rest, response
/// latency, pace and filler rate (only when the answers were transcribed), and the
/// job-description terms mentioned and not mentioned. Still labelled
/// [`FeedbackSource::Deterministic`].
pub fn deterministic_feedback_with_metrics(
    entries: &[TranscriptEntry],
    metrics: InterviewMetrics,
) -> Feedback {
    let mut f = deterministic_feedback(entries);
    let (strengths, areas) = coaching::evidence(&metrics);
    f.strengths.extend(strengths);
    f.areas_to_improve.extend(areas);
    f.with_metrics(metrics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics;

    fn entry(seq: u32, speaker: Speaker, text: &str, start: u64, end: u64) -> TranscriptEntry {
        TranscriptEntry {
            sequence: seq,
            speaker,
            text: text.into(),
            start_ms: start,
            end_ms: end,
            interrupted: false,
            heard_text: None,
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
        assert!(f.summary.contains("without an AI model"), "{}", f.summary);
        assert!(f.summary.contains("took 2 turn(s)"), "{}", f.summary);
        assert!(f.summary.contains("gave 2 answer(s)"), "{}", f.summary);
        assert!(f.summary.contains("4.5 s"), "{}", f.summary);
        assert!(f.summary.contains("5 transcribed word(s)"), "{}", f.summary);
        assert!(f
            .summary
            .contains("1 spoken answer(s) were not transcribed"));
        // Nothing blames the microphone or speaks to an operator; counts are no strengths.
        let all = [f.summary.clone()]
            .into_iter()
            .chain(f.strengths.clone())
            .chain(f.areas_to_improve.clone())
            .collect::<Vec<_>>();
        for s in &all {
            for banned in ["microphone", "GEMINI_API_KEY", "time(s)"] {
                assert!(!s.contains(banned), "{s}");
            }
        }
        assert!(f.strengths.is_empty());
        assert_eq!(f, deterministic_feedback(&t));
    }

    #[test]
    fn empty_transcript_says_nothing_was_recorded() {
        let f = deterministic_feedback(&[]);
        assert!(f.strengths.is_empty());
        assert!(f.areas_to_improve[0].contains("No answers"));
    }

    fn answers() -> Vec<TranscriptEntry> {
        vec![
            entry(0, Speaker::Ai, "Tell me about an outage.", 0, 2_000),
            entry(
                1,
                Speaker::User,
                "We lost the  Kafka cluster\nat 3 AM and I led the rollback fast.",
                3_000,
                9_000,
            ),
            entry(2, Speaker::Ai, "What did you learn?", 10_000, 11_000),
        ]
    }

    #[test]
    fn quotes_are_checked_against_the_candidates_words() {
        let mut f = Feedback::new("s", vec![], vec![], FeedbackSource::Gemini).with_notes(vec![
            // Whitespace and case differ: still found.
            QuestionNote::new("q1", "lost the kafka CLUSTER at 3 am", "Concrete."),
            QuestionNote::new("q1", "\u{201c}I led the rollback\u{201d}", "Ownership."),
            // Said by the interviewer, not the candidate.
            QuestionNote::new("q2", "What did you learn?", "x"),
            // Never said.
            QuestionNote::new("q2", "I wrote the postmortem", "x"),
            QuestionNote::new("q2", "  ", "x"),
        ]);
        assert_eq!(verify_quotes(&mut f, &answers()), 3);
        assert_eq!(f.dropped_notes, 3);
        assert_eq!(
            f.notes.iter().map(|n| n.note.as_str()).collect::<Vec<_>>(),
            ["Concrete.", "Ownership."]
        );
        assert_eq!(verify_quotes(&mut f, &answers()), 0);
        assert_eq!(f.dropped_notes, 3);
    }

    #[test]
    fn scores_are_one_to_five() {
        assert!(Score::new(0, "x").is_none());
        assert!(Score::new(6, "x").is_none());
        assert_eq!(Score::new(5, "x").map(|s| s.value), Some(5));
    }

    #[test]
    fn older_documents_still_read_and_new_parts_round_trip_through_proto() {
        let old = r#"{"summary":"s","strengths":[],"areas_to_improve":[],"source":"gemini"}"#;
        let f: Feedback = serde_json::from_str(old).unwrap();
        assert_eq!(
            (f.metrics.as_ref(), f.notes.len(), f.dropped_notes),
            (None, 0, 0)
        );
        assert!(proto::Feedback::from(&f).details_json.is_empty());

        let metrics = metrics::compute(&answers(), "We run Kafka and Redis.", &[]);
        let mut f = deterministic_feedback_with_metrics(&answers(), metrics)
            .with_notes(vec![QuestionNote::new("q", "lost the kafka cluster", "n")])
            .with_scores(Some(Scores::new(
                Score::new(4, "specific").unwrap(),
                Score::new(3, "no result").unwrap(),
                Score::new(5, "clear").unwrap(),
            )));
        f.dropped_notes = 2;
        let back = Feedback::from(proto::Feedback::from(&f));
        assert_eq!(back, f);
        assert_eq!(
            FeedbackSource::parse("simulator"),
            Some(FeedbackSource::Simulator)
        );
    }

    #[test]
    fn deterministic_feedback_reads_the_metrics() {
        let metrics = metrics::compute(&answers(), "We run Kafka and Redis.", &[]);
        let f = deterministic_feedback_with_metrics(&answers(), metrics);
        assert_eq!(f.source, FeedbackSource::Deterministic);
        assert!(f.summary.contains("no AI model"));
        assert!(f
            .strengths
            .iter()
            .any(|s| s.contains("1 of 2 key term(s)") && s.contains("Kafka")));
        assert!(f
            .areas_to_improve
            .iter()
            .any(|s| s.ends_with("mention: Redis.")));
        // 14 words in 6 s = 140 words per minute: inside the band.
        assert!(f
            .strengths
            .iter()
            .any(|s| s.contains("140 words per minute")));
        assert_eq!(f.metrics.as_ref().map(|m| m.words), Some(14));
    }
}
