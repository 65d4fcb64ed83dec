//! The interview report printed by `preppal interview` and `preppal export`.
//!
//! Both commands print the same [`InterviewReport`]: as one JSON object on stdout (a shape
//! scripts rely on, see [`InterviewReport`]) or as markdown for people
//! ([`InterviewReport::to_markdown`]).

use std::fmt::Write as _;

use super::markdown::escape;
use preppal_core::feedback::{human_duration, job_heading, questions, QuestionCoaching};
use preppal_core::metrics::{self, InterviewMetrics};
use preppal_core::{
    Feedback, FeedbackSource, InterviewStatus, QuestionNote, Scores, TranscriptEntry,
};
use serde::{Deserialize, Serialize};

/// A finished (or failed) interview: its status, transcript, metrics and feedback.
///
/// The JSON shape is a promise to scripts: keys are added, never renamed or removed.
///
/// ```json
/// {
///   "interview_id": "…",
///   "status": "COMPLETED",
///   "transcript": [{ "speaker": "AI", "text": "…", "start_ms": 0 }],
///   "metrics": { "words": 42, "filler_words": 3, "fillers": { "um": 2, "like": 1 },
///                "words_per_minute": 140.0, "pauses_over_1s": null,
///                "job_terms": { "covered": ["Rust"], "missing": ["Kafka"] },
///                "answers": [{ "sequence": 1, "words": 20, "filler_words": 1, … }],
///                "bands": { "words_per_minute": { "unit": "words/min", "low": 130.0, "high": 160.0, "guidance": "…" } }, … },
///   "feedback": { "summary": "…", "strengths": ["…"], "areas_to_improve": ["…"], "source": "deterministic",
///                 "notes": [{ "question": "…", "quote": "…", "note": "…" }],
///                 "scores": { "content": { "value": 4, "reason": "…" }, "structure": …, "clarity": … },
///                 "dropped_notes": 0 }
/// }
/// ```
///
/// `status` is the design's `PENDING`, `IN_PROGRESS`, `COMPLETED` or `ERROR`; `feedback`
/// is `null` when none was kept; `metrics` (see [`preppal_core::metrics`] for every unit
/// and definition) is `null` when none was kept or computed. `feedback.source` is
/// `"gemini"`, `"simulator"` (the offline simulator's scripted feedback) or
/// `"deterministic"` (computed without a model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterviewReport {
    /// The interview's id.
    pub interview_id: String,
    /// The interview's status name, e.g. `"COMPLETED"`.
    pub status: String,
    /// The transcript entries in order.
    pub transcript: Vec<ReportEntry>,
    /// The feedback, if any was kept.
    pub feedback: Option<ReportFeedback>,
    /// Delivery metrics: those kept with the feedback, or computed from the transcript.
    #[serde(default)]
    pub metrics: Option<InterviewMetrics>,
    /// Why an interview in ERROR failed, as stored; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ReportError>,
    /// `preppal interview` only (absent from exports): for each answer, how long the
    /// question's audio was and the gap the client left between the end of its playback
    /// (on the client's own clock) and the start of the answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answer_timing: Vec<AnswerTiming>,
    /// The job title, from the job description's first line (may be empty).
    #[serde(default)]
    pub job_title: String,
    /// The company, from the job description's second line (may be empty).
    #[serde(default)]
    pub company: String,
    /// Answer by answer: each question with the answer (empty and
    /// `answer_transcribed: false` when spoken and not transcribed), its duration and
    /// response latency in ms, and the note with its verified quote when there is one.
    #[serde(default)]
    pub questions: Vec<QuestionCoaching>,
    /// The interview plan (absent for interviews made without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<preppal_core::InterviewPlan>,
    /// The feedback against the plan: scores per competency with quotes, STAR checks,
    /// coverage (absent without a plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_assessment: Option<preppal_core::plan::PlanAssessment>,
}

/// How the command-line client answered one question, on its own clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerTiming {
    /// The answer's number, from 1.
    pub answer: u32,
    /// The interviewer audio of the question, in ms.
    pub question_audio_ms: u32,
    /// From the end of the question's playback to the start of the answer, in ms;
    /// negative when the answer started before the playback ended (`--speed 0`).
    pub gap_ms: i64,
}

/// Why an interview ended in ERROR, in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportError {
    /// Why the model failed: `"quota"`, `"authentication"`, `"policy"`,
    /// `"invalid_request"`, `"service"`, `"network"`, `"timeout"`; `null` when it was not
    /// the model.
    pub kind: Option<String>,
    /// What went wrong, as stored.
    pub message: String,
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
    /// When it ended, in ms since the interview started: for the interviewer, when its
    /// audio finished playing (or was cut); for the candidate, the end of their speech.
    #[serde(default)]
    pub end_ms: u64,
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
    /// Who wrote it: `"gemini"`, `"simulator"` or `"deterministic"` (computed from the
    /// transcript without a model).
    pub source: String,
    /// Per-question notes, each quoting the candidate's answer (quotes checked against the
    /// transcript).
    #[serde(default)]
    pub notes: Vec<QuestionNote>,
    /// Scores 1–5 on content, structure and clarity, when a model gave them.
    #[serde(default)]
    pub scores: Option<Scores>,
    /// Notes dropped because their quote is not in the transcript.
    #[serde(default)]
    pub dropped_notes: u32,
}

impl From<&TranscriptEntry> for ReportEntry {
    fn from(e: &TranscriptEntry) -> Self {
        Self {
            speaker: e.speaker.as_str().to_owned(),
            text: e.text.clone(),
            start_ms: e.start_ms,
            end_ms: e.end_ms,
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
            notes: f.notes.clone(),
            scores: f.scores.clone(),
            dropped_notes: f.dropped_notes,
        }
    }
}

impl InterviewReport {
    /// A report from the core's types. Entries are put in `sequence` order; the metrics
    /// are those kept with `feedback` (see [`InterviewReport::compute_missing_metrics`]
    /// for interviews whose feedback has none).
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
            metrics: feedback.and_then(|f| f.metrics.clone()),
            error: None,
            answer_timing: Vec::new(),
            job_title: String::new(),
            company: String::new(),
            questions: questions(
                entries,
                feedback.map(|f| f.notes.as_slice()).unwrap_or_default(),
                feedback
                    .and_then(|f| f.metrics.as_ref())
                    .map(|m| m.interviewer_cuts.as_slice())
                    .unwrap_or_default(),
            ),
            plan: None,
            plan_assessment: feedback.and_then(|f| f.plan_assessment.clone()),
        }
    }

    /// Sets [`InterviewReport::job_title`] and [`InterviewReport::company`] from the
    /// interview's job description.
    pub fn with_job(mut self, job_description: &str) -> Self {
        let h = job_heading(job_description);
        self.job_title = h.title;
        self.company = h.company;
        self
    }

    /// Sets [`InterviewReport::plan`].
    pub fn with_plan(mut self, plan: Option<preppal_core::InterviewPlan>) -> Self {
        self.plan = plan;
        self
    }

    /// Computes the metrics from `entries` and `job_description` when none were kept (for
    /// example feedback stored before metrics existed). No audio is at hand here, so the
    /// pause metrics are `null`.
    pub fn compute_missing_metrics(&mut self, entries: &[TranscriptEntry], job_description: &str) {
        if self.metrics.is_none() && !entries.is_empty() {
            self.metrics = Some(metrics::compute(entries, job_description, &[]));
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
    /// then the metrics with their reference bands (as guidance), then the feedback with its
    /// summary, strengths, areas to improve, scores and quoted notes. Feedback computed
    /// without a model (`source` `"deterministic"`) is labelled as automatic, and the
    /// simulator's as simulated.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(md, "# Interview {}\n", self.interview_id);
        let _ = writeln!(md, "Status: **{}**\n", self.status);
        if let Some(e) = &self.error {
            match &e.kind {
                Some(kind) => {
                    let _ = writeln!(md, "Error ({kind}): {}\n", e.message);
                }
                None => {
                    let _ = writeln!(md, "Error: {}\n", e.message);
                }
            }
        }
        if !self.job_title.is_empty() {
            let at = if self.company.is_empty() {
                String::new()
            } else {
                format!(" at {}", escape(&self.company))
            };
            let _ = writeln!(md, "Job: **{}**{at}\n", escape(&self.job_title));
        }
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
                "_(no words transcribed)_".to_owned()
            } else {
                escape(&e.text)
            };
            let _ = writeln!(md, "**{who}** ({}): {text}\n", clock(e.start_ms));
        }
        if let Some(m) = &self.metrics {
            metrics_markdown(&mut md, m);
        }
        super::answers_md::questions_markdown(&mut md, &self.questions);
        super::report_plan::plan_markdown(
            &mut md,
            self.plan.as_ref(),
            self.plan_assessment.as_ref(),
        );
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
                    Some(FeedbackSource::Simulator) => {
                        "Simulated feedback from the offline simulator, not from an AI model."
                            .to_owned()
                    }
                    _ => format!("Source: {}.", escape(&f.source)),
                };
                let _ = writeln!(md, "_{label}_\n");
                let _ = writeln!(md, "{}\n", escape(&f.summary));
                for (title, items) in [
                    ("Strengths", &f.strengths),
                    ("Areas to improve", &f.areas_to_improve),
                ] {
                    let _ = writeln!(md, "### {title}\n");
                    if items.is_empty() {
                        md.push_str("- _none noted_\n");
                    }
                    for item in items {
                        let _ = writeln!(md, "- {}", escape(item));
                    }
                    md.push('\n');
                }
                if let Some(s) = &f.scores {
                    md.push_str("### Scores\n\n");
                    for (name, score) in [
                        ("Content", &s.content),
                        ("Structure", &s.structure),
                        ("Clarity", &s.clarity),
                    ] {
                        let _ = writeln!(
                            md,
                            "- {name}: **{}/5**. {}",
                            score.value,
                            escape(&score.reason)
                        );
                    }
                    md.push('\n');
                }
                if !f.notes.is_empty() {
                    md.push_str("### Notes on your answers\n\n");
                    for n in &f.notes {
                        let _ = writeln!(
                            md,
                            "- _{}_\n  > {}\n\n  {}",
                            escape(&n.question),
                            escape(&n.quote),
                            escape(&n.note)
                        );
                    }
                    md.push('\n');
                }
                if f.dropped_notes > 0 {
                    let _ = writeln!(
                        md,
                        "_{} note(s) were left out because their quote is not in the transcript._\n",
                        f.dropped_notes
                    );
                }
            }
        }
        while md.ends_with("\n\n") {
            md.pop();
        }
        md
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>, unit: &str) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format!("{v}{unit}"))
}

fn band_text(m: &InterviewMetrics, name: &str) -> String {
    m.bands.get(name).map_or_else(String::new, |b| {
        if b.unit == "ms" {
            let h = |v: Option<f64>| v.map(|v| human_duration(v as u64));
            return match (h(b.low), h(b.high)) {
                (Some(l), Some(h)) => format!("{l} to {h}"),
                (None, Some(h)) => format!("≤ {h}"),
                (Some(l), None) => format!("≥ {l}"),
                (None, None) => String::new(),
            };
        }
        let range = match (b.low, b.high) {
            (Some(l), Some(h)) => format!("{l}–{h}"),
            (None, Some(h)) => format!("≤ {h}"),
            (Some(l), None) => format!("≥ {l}"),
            (None, None) => String::new(),
        };
        format!("{range} {}", b.unit)
    })
}

/// The metrics section: a table of each metric with its usual range, the job terms, and
/// one row per answer.
fn metrics_markdown(md: &mut String, m: &InterviewMetrics) {
    md.push_str("## Metrics\n\n");
    md.push_str(
        "_Measured from the transcript and its timing. The usual ranges are guidance, not verdicts._\n\n",
    );
    md.push_str("| Metric | Value | Usual range |\n|---|---|---|\n");
    let rows = [
        ("Words", m.words.to_string(), String::new()),
        (
            "Speaking time",
            format!("{:.1} s", m.speaking_time_ms as f64 / 1000.0),
            String::new(),
        ),
        (
            "Words per minute",
            opt(m.words_per_minute, ""),
            band_text(m, "words_per_minute"),
        ),
        ("Filler words", m.filler_words.to_string(), String::new()),
        (
            "Filler words per minute",
            opt(m.filler_words_per_minute, ""),
            band_text(m, "filler_words_per_minute"),
        ),
        (
            "Pauses over 1 s",
            opt(m.pauses_over_1s, ""),
            band_text(m, "pauses_over_1s"),
        ),
        (
            "Response latency (median)",
            opt(m.response_latency_ms.map(human_duration), ""),
            band_text(m, "response_latency_ms"),
        ),
        (
            "Talk-time ratio",
            opt(m.talk_time_ratio, ""),
            band_text(m, "talk_time_ratio"),
        ),
        (
            "Longest answer",
            format!("{:.1} s", m.longest_answer_ms as f64 / 1000.0),
            band_text(m, "answer_speaking_time_ms"),
        ),
        ("Interruptions", m.interruptions.to_string(), String::new()),
    ];
    for (name, value, band) in rows {
        // A metric that needs words reads as unavailable, not as 0, without transcription.
        let field = match name {
            "Words" => "words",
            "Words per minute" => "words_per_minute",
            "Filler words" => "filler_words",
            "Filler words per minute" => "filler_words_per_minute",
            _ => "",
        };
        let value = match m.unavailable.get(field) {
            Some(why) => format!("not available: {why}"),
            None => value,
        };
        let _ = writeln!(md, "| {name} | {value} | {band} |");
    }
    md.push('\n');
    if !m.fillers.is_empty() {
        let list: Vec<String> = m
            .fillers
            .iter()
            .map(|(k, v)| format!("\"{k}\" × {v}"))
            .collect();
        let _ = writeln!(md, "Fillers: {}.\n", list.join(", "));
    }
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.iter().map(|t| escape(t)).collect::<Vec<_>>().join(", ")
        }
    };
    let _ = writeln!(
        md,
        "Job-description terms you mentioned: {}.\n",
        list(&m.job_terms.covered)
    );
    let _ = writeln!(
        md,
        "Job-description terms you did not mention: {}.\n",
        list(&m.job_terms.missing)
    );
    if !m.answers.is_empty() {
        md.push_str("| Answer at | Words | Words/min | Fillers | Pauses > 1 s | Latency |\n|---|---|---|---|---|---|\n");
        for a in &m.answers {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                clock(a.start_ms),
                a.words,
                opt(a.words_per_minute, ""),
                a.filler_words,
                opt(a.pauses_over_1s, ""),
                opt(a.response_latency_ms.map(human_duration), ""),
            );
        }
        md.push('\n');
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
    use super::*;
    use preppal_core::{Score, Speaker};

    #[test]
    fn markdown_shows_metrics_with_bands_scores_and_quoted_notes() {
        let entries = [
            TranscriptEntry {
                sequence: 0,
                speaker: Speaker::Ai,
                text: "Why Rust?".into(),
                start_ms: 0,
                end_ms: 1_000,
                interrupted: false,
                heard_text: None,
            },
            TranscriptEntry {
                sequence: 1,
                speaker: Speaker::User,
                text: "Um, Rust gives memory safety without a collector.".into(),
                start_ms: 2_000,
                end_ms: 5_000,
                interrupted: false,
                heard_text: None,
            },
        ];
        let mut feedback = Feedback::new("Good.", vec![], vec![], FeedbackSource::Simulator)
            .with_metrics(metrics::compute(&entries, "We use Rust and Kafka.", &[]))
            .with_notes(vec![QuestionNote::new(
                "Why Rust?",
                "memory safety without a collector",
                "Specific.",
            )])
            .with_scores(Some(Scores::new(
                Score::new(4, "specific").unwrap(),
                Score::new(3, "short").unwrap(),
                Score::new(5, "clear").unwrap(),
            )));
        feedback.dropped_notes = 1;
        let report =
            InterviewReport::new("iv", InterviewStatus::Completed, &entries, Some(&feedback));
        let md = report.to_markdown();
        assert!(md.contains("## Metrics"), "{md}");
        assert!(md.contains("guidance, not verdicts"), "{md}");
        // 8 words in 3 s.
        assert!(
            md.contains("| Words per minute | 160 | 130–160 words/min |"),
            "{md}"
        );
        assert!(md.contains("| Pauses over 1 s | n/a |"), "{md}");
        assert!(md.contains("\"um\" × 1"), "{md}");
        assert!(md.contains("you mentioned: Rust."), "{md}");
        assert!(md.contains("did not mention: Kafka."), "{md}");
        assert!(md.contains("- Content: **4/5**. specific"), "{md}");
        assert!(md.contains("> memory safety without a collector"), "{md}");
        assert!(md.contains("1 note(s) were left out"), "{md}");
        assert!(md.contains("Simulated feedback"), "{md}");
        let v: serde_json::Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
        assert_eq!(v["metrics"]["filler_words"], 1);
        assert_eq!(v["feedback"]["dropped_notes"], 1);
    }

    #[test]
    fn markdown_escapes_user_and_model_text() {
        let entries = [
            TranscriptEntry {
                sequence: 0,
                speaker: Speaker::Ai,
                text: "Tell me <b>more</b>".into(),
                start_ms: 0,
                end_ms: 1_000,
                interrupted: false,
                heard_text: None,
            },
            TranscriptEntry {
                sequence: 1,
                speaker: Speaker::User,
                text: "<script>alert(1)</script>\n# You are hired\n[prize](javascript:alert(1))"
                    .into(),
                start_ms: 2_000,
                end_ms: 5_000,
                interrupted: false,
                heard_text: None,
            },
        ];
        let feedback = Feedback::new(
            "## Verdict: hire\n<img src=x onerror=alert(1)>",
            vec!["# strong".into()],
            vec![],
            FeedbackSource::Gemini,
        )
        .with_notes(vec![QuestionNote::new(
            "[q](javascript:x)",
            "<script>",
            "| a | b |",
        )]);
        let md = InterviewReport::new("iv", InterviewStatus::Completed, &entries, Some(&feedback))
            .to_markdown();
        // Every `<`, `[` and `(` of the texts is escaped: no HTML, no links.
        let bare = |c: char| {
            md.char_indices()
                .filter(|(i, ch)| *ch == c && (*i == 0 || md.as_bytes()[i - 1] != b'\\'))
                .count()
        };
        assert_eq!(bare('<'), 0, "{md}");
        assert_eq!(bare('['), 0, "{md}");
        assert!(!md.contains("](javascript:"), "{md}");
        // The only headings are the export's own.
        let headings: Vec<&str> = md
            .lines()
            .filter(|l| l.trim_start().starts_with('#') || l.trim_start().starts_with("- #"))
            .collect();
        assert!(
            headings.iter().all(|h| [
                "# Interview iv",
                "## Transcript",
                "## Feedback",
                "### Strengths",
                "### Areas to improve",
                "### Notes on your answers",
                "## Answer by answer",
            ]
            .contains(h)
                // The answer-by-answer section numbers its own headings.
                || h.strip_prefix("### ").is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))),
            "{headings:?}"
        );
        assert!(md.contains("\\<script\\>alert\\(1\\)"), "{md}");
    }

    #[test]
    fn clock_formats_minutes_and_hours() {
        assert_eq!(clock(5_400), "0:05");
        assert_eq!(clock(65_000), "1:05");
        assert_eq!(clock(3_723_000), "1:02:03");
    }
}
