//! The interview report printed by `preppal interview` and `preppal export`.
//!
//! Both commands print the same [`InterviewReport`]: as one JSON object on stdout (a shape
//! scripts rely on, see [`InterviewReport`]) or as markdown for people
//! ([`InterviewReport::to_markdown`]).

use std::fmt::Write as _;

use preppal_core::{Feedback, FeedbackSource, InterviewStatus, TranscriptEntry};
use serde::{Deserialize, Serialize};

/// A finished (or failed) interview: its status, transcript and feedback.
///
/// The JSON shape is a promise to scripts and does not change:
///
/// ```json
/// {
///   "interview_id": "…",
///   "status": "COMPLETED",
///   "transcript": [{ "speaker": "AI", "text": "…", "start_ms": 0 }],
///   "feedback": { "summary": "…", "strengths": ["…"], "areas_to_improve": ["…"], "source": "deterministic" }
/// }
/// ```
///
/// `status` is the design's `PENDING`, `IN_PROGRESS`, `COMPLETED` or `ERROR`; `feedback`
/// is `null` when none was kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterviewReport {
    /// The interview's id.
    pub interview_id: String,
    /// The interview's status name, e.g. `"COMPLETED"`.
    pub status: String,
    /// The transcript entries in order.
    pub transcript: Vec<ReportEntry>,
    /// The feedback, if any was kept.
    pub feedback: Option<ReportFeedback>,
}

/// One turn of the transcript in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportEntry {
    /// `"AI"` (the interviewer) or `"USER"` (the candidate).
    pub speaker: String,
    /// What was said (empty when a candidate turn had audio but no transcription).
    pub text: String,
    /// When the turn started, in ms since the interview started.
    pub start_ms: u64,
}

/// Feedback in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFeedback {
    /// A few sentences on the whole interview.
    pub summary: String,
    /// What went well.
    pub strengths: Vec<String>,
    /// What to work on.
    pub areas_to_improve: Vec<String>,
    /// Who wrote it: `"gemini"` or `"deterministic"` (computed from the transcript without
    /// a model).
    pub source: String,
}

impl From<&TranscriptEntry> for ReportEntry {
    fn from(e: &TranscriptEntry) -> Self {
        Self {
            speaker: e.speaker.as_str().to_owned(),
            text: e.text.clone(),
            start_ms: e.start_ms,
        }
    }
}

impl From<&Feedback> for ReportFeedback {
    fn from(f: &Feedback) -> Self {
        Self {
            summary: f.summary.clone(),
            strengths: f.strengths.clone(),
            areas_to_improve: f.areas_to_improve.clone(),
            source: f.source.as_str().to_owned(),
        }
    }
}

impl InterviewReport {
    /// A report from the core's types. Entries are put in `sequence` order.
    pub fn new(
        interview_id: impl Into<String>,
        status: InterviewStatus,
        entries: &[TranscriptEntry],
        feedback: Option<&Feedback>,
    ) -> Self {
        let mut sorted: Vec<&TranscriptEntry> = entries.iter().collect();
        sorted.sort_by_key(|e| e.sequence);
        Self {
            interview_id: interview_id.into(),
            status: status.as_str().to_owned(),
            transcript: sorted.into_iter().map(ReportEntry::from).collect(),
            feedback: feedback.map(ReportFeedback::from),
        }
    }

    /// The report as one line of JSON (no trailing newline).
    ///
    /// # Errors
    /// Never in practice: every field is a string, a number or a list of them.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// The report as readable markdown: a heading with the interview id and status, the
    /// transcript as `**Interviewer** (m:ss): …` and `**Candidate** (m:ss): …` paragraphs,
    /// then the feedback with its summary, strengths and areas to improve. Feedback computed
    /// without a model (`source` `"deterministic"`) is labelled as automatic.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(md, "# Interview {}\n", self.interview_id);
        let _ = writeln!(md, "Status: **{}**\n", self.status);
        md.push_str("## Transcript\n\n");
        if self.transcript.is_empty() {
            md.push_str("_No transcript was kept._\n\n");
        }
        for e in &self.transcript {
            let who = match e.speaker.as_str() {
                "AI" => "Interviewer",
                "USER" => "Candidate",
                other => other,
            };
            let text = if e.text.trim().is_empty() {
                "_(no words transcribed)_"
            } else {
                e.text.trim()
            };
            let _ = writeln!(md, "**{who}** ({}): {text}\n", clock(e.start_ms));
        }
        md.push_str("## Feedback\n\n");
        match &self.feedback {
            None => md.push_str("_No feedback was kept for this interview._\n"),
            Some(f) => {
                let label = match FeedbackSource::parse(&f.source) {
                    Some(FeedbackSource::Gemini) => {
                        "Written by Gemini from the transcript.".to_owned()
                    }
                    Some(FeedbackSource::Deterministic) => {
                        "Automatic feedback, computed from the transcript without an AI model."
                            .to_owned()
                    }
                    _ => format!("Source: {}.", f.source),
                };
                let _ = writeln!(md, "_{label}_\n");
                let _ = writeln!(md, "{}\n", f.summary.trim());
                for (title, items) in [
                    ("Strengths", &f.strengths),
                    ("Areas to improve", &f.areas_to_improve),
                ] {
                    let _ = writeln!(md, "### {title}\n");
                    if items.is_empty() {
                        md.push_str("- _none noted_\n");
                    }
                    for item in items {
                        let _ = writeln!(md, "- {}", item.trim());
                    }
                    md.push('\n');
                }
            }
        }
        while md.ends_with("\n\n") {
            md.pop();
        }
        md
    }
}

/// `m:ss`, or `h:mm:ss` from one hour on, for a time in ms.
fn clock(ms: u64) -> String {
    let secs = ms / 1000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::clock;

    #[test]
    fn clock_formats_minutes_and_hours() {
        assert_eq!(clock(5_400), "0:05");
        assert_eq!(clock(65_000), "1:05");
        assert_eq!(clock(3_723_000), "1:02:03");
    }
}
