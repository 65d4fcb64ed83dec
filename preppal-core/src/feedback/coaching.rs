//! Coaching shown to the candidate: the job's heading, each question with its answer, and
//! strengths and areas to improve read from measured evidence, in human units.
//!
//! Everything here is deterministic and addressed to the candidate: no counters, no
//! settings, nothing about how the server is configured.

use serde::{Deserialize, Serialize};

use super::{normalise, QuestionNote};
use crate::metrics::{InterviewMetrics, NO_TRANSCRIPTION};
use crate::transcript::InterviewerCut;
use crate::transcript::{Speaker, TranscriptEntry};

/// A duration in human units: `"4.5 s"` under a minute, `"1 min 20 s"` above.
pub fn human_duration(ms: u64) -> String {
    if ms < 60_000 {
        let tenths = (ms + 50) / 100;
        if tenths % 10 == 0 {
            format!("{} s", tenths / 10)
        } else {
            format!("{}.{} s", tenths / 10, tenths % 10)
        }
    } else {
        let s = (ms + 500) / 1_000;
        match s % 60 {
            0 => format!("{} min", s / 60),
            r => format!("{} min {r} s", s / 60),
        }
    }
}

/// The job an interview was for, read from its job description: the title is the first
/// non-empty line; the company is the second line up to its first comma or parenthesis
/// when that line is short (under 80 characters, as in a posting's heading), else empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JobHeading {
    /// The job title (may be empty).
    pub title: String,
    /// The company (may be empty).
    pub company: String,
}

/// Reads the [`JobHeading`] of `job_description`.
pub fn job_heading(job_description: &str) -> JobHeading {
    let mut lines = job_description
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let cap = |s: &str| s.chars().take(120).collect::<String>();
    let title = lines.next().map(cap).unwrap_or_default();
    let company = lines
        .next()
        .filter(|l| l.chars().count() < 80)
        .map(|l| {
            let end = l.find([',', '(', '|']).unwrap_or(l.len());
            l[..end].trim().to_owned()
        })
        .unwrap_or_default();
    JobHeading { title, company }
}

/// One question of the interview with the candidate's answer, for the results page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QuestionCoaching {
    /// The interviewer's turn before the answer (trimmed).
    pub question: String,
    /// The answer's text; empty when it was spoken and not transcribed.
    pub answer: String,
    /// Whether the answer has words (typed, or spoken and transcribed). `false`: spoken,
    /// not transcribed.
    pub answer_transcribed: bool,
    /// How long the answer lasted, in ms (0 for a typed answer).
    pub answer_duration_ms: u64,
    /// From the end of the question's audio to the start of the answer, in ms.
    pub response_latency_ms: Option<u64>,
    /// The model's note on this answer, when there is one.
    pub note: Option<String>,
    /// The note's quote, found in this answer's words.
    pub quote: Option<String>,
    /// When the candidate cut the question short by speaking: the part of it heard
    /// before the cut (`null` when it played to its end).
    #[serde(default)]
    pub question_heard: Option<String>,
}

/// Each answer with its question (the interviewer's entry just before it), in order, with
/// the note whose quote is in the answer (or, failing that, whose question is the
/// question). `notes` should have been checked with [`super::verify_quotes`]; `cuts` are
/// the interviewer turns cut by a barge-in (`InterviewMetrics::interviewer_cuts`).
pub fn questions(
    entries: &[TranscriptEntry],
    notes: &[QuestionNote],
    cuts: &[InterviewerCut],
) -> Vec<QuestionCoaching> {
    let mut sorted: Vec<&TranscriptEntry> = entries.iter().collect();
    sorted.sort_by_key(|e| e.sequence);
    let mut out = Vec::new();
    let mut question: Option<&TranscriptEntry> = None;
    for e in sorted {
        if e.speaker == Speaker::Ai {
            question = Some(e);
            continue;
        }
        let q_text = question
            .map(|q| q.text.trim().to_owned())
            .unwrap_or_default();
        let answer = normalise(&e.text);
        let note = notes
            .iter()
            .find(|n| {
                let quote = normalise(n.quote.trim_matches(['"', '\u{201c}', '\u{201d}']));
                !quote.is_empty() && answer.contains(&quote)
            })
            .or_else(|| {
                let q = normalise(&q_text);
                notes.iter().find(|n| {
                    let nq = normalise(&n.question);
                    !nq.is_empty() && !q.is_empty() && (q.contains(&nq) || nq.contains(&q))
                })
            });
        out.push(QuestionCoaching {
            question: q_text,
            answer: e.text.trim().to_owned(),
            answer_transcribed: !e.text.trim().is_empty(),
            answer_duration_ms: e.end_ms.saturating_sub(e.start_ms),
            response_latency_ms: question.map(|q| e.start_ms.saturating_sub(q.end_ms)),
            note: note.map(|n| n.note.clone()),
            quote: note.map(|n| n.quote.clone()),
            question_heard: question.and_then(|q| {
                cuts.iter()
                    .find(|c| c.sequence == q.sequence)
                    .map(|c| c.heard_text.clone())
            }),
        });
        question = None;
    }
    out
}

fn shorten(text: &str, max_chars: usize) -> String {
    let t = text.trim();
    if t.chars().count() <= max_chars {
        t.to_owned()
    } else {
        let cut: String = t.chars().take(max_chars).collect();
        format!("{}…", cut.trim_end())
    }
}

/// Strengths and areas to improve read from measured evidence (answer lengths, response
/// latency, pace, fillers, job terms) against the reference bands, in human units.
/// Returns `(strengths, areas_to_improve)`.
pub(super) fn evidence(metrics: &InterviewMetrics) -> (Vec<String>, Vec<String>) {
    let (mut strengths, mut areas) = (Vec::new(), Vec::new());
    let band = |name: &str| metrics.bands.get(name);
    let transcribed = !metrics.unavailable.values().any(|r| r == NO_TRANSCRIPTION);

    // Answer lengths: the typical one against one to two minutes, and one far longer.
    let mut spoken: Vec<(u64, &str)> = metrics
        .answers
        .iter()
        .filter(|a| a.speaking_time_ms > 0)
        .map(|a| (a.speaking_time_ms, a.question.as_str()))
        .collect();
    spoken.sort_by_key(|(ms, _)| *ms);
    if let (Some(&(typical, _)), Some(b)) = (
        spoken.get(spoken.len() / 2),
        band("answer_speaking_time_ms"),
    ) {
        let typical_h = human_duration(typical);
        if b.contains(typical as f64) {
            strengths.push(format!(
                "Your answers typically lasted {typical_h}, inside the usual one to two minutes: time enough for situation, task, action and result."
            ));
        } else if b.low.is_some_and(|l| (typical as f64) < l) {
            areas.push(format!(
                "Your answers typically lasted {typical_h}; one to two minutes leaves time for situation, task, action and result."
            ));
        } else {
            areas.push(format!(
                "Your answers typically lasted {typical_h}; past two minutes, listeners can lose the thread. Lead with the result, then the detail."
            ));
        }
        if spoken.len() >= 3 {
            let (longest, question) = spoken[spoken.len() - 1];
            if longest >= 60_000 && longest > 2 * typical {
                areas.push(format!(
                    "Your answer to \"{}\" ran {}, more than twice your typical answer: a shorter version would keep its point clear.",
                    shorten(question, 80),
                    human_duration(longest)
                ));
            }
        }
    }

    if let (Some(latency), Some(b)) = (metrics.response_latency_ms, band("response_latency_ms")) {
        let h = human_duration(latency);
        if b.contains(latency as f64) {
            strengths.push(format!(
                "You usually began answering {h} after the question ended: a natural pause to think."
            ));
        } else if b.high.is_some_and(|hi| latency as f64 > hi) {
            areas.push(format!(
                "You usually began answering {h} after the question ended; a short phrase such as \"Let me think about that\" fills a longer pause."
            ));
        }
    }

    if transcribed {
        if let (Some(wpm), Some(b)) = (metrics.words_per_minute, band("words_per_minute")) {
            let range = format!(
                "{}–{}",
                b.low.unwrap_or_default(),
                b.high.unwrap_or_default()
            );
            if b.contains(wpm) {
                strengths.push(format!(
                    "Your pace was {wpm:.0} words per minute, inside the usual {range}."
                ));
            } else {
                areas.push(format!(
                    "Your pace was {wpm:.0} words per minute; {range} is usual (guidance, not a rule)."
                ));
            }
        }
        if let (Some(fpm), Some(b)) = (
            metrics.filler_words_per_minute,
            band("filler_words_per_minute"),
        ) {
            if !b.contains(fpm) {
                let top = metrics
                    .fillers
                    .iter()
                    .max_by_key(|(_, n)| **n)
                    .map(|(f, _)| format!(", most often \"{f}\""))
                    .unwrap_or_default();
                areas.push(format!(
                    "You used {fpm:.1} filler words per minute{top}; fewer than {} per minute is rarely noticed.",
                    b.high.unwrap_or_default()
                ));
            }
        }
        let terms = &metrics.job_terms;
        let all = terms.covered.len() + terms.missing.len();
        if !terms.covered.is_empty() {
            strengths.push(format!(
                "You mentioned {} of {all} key term(s) from the job description: {}.",
                terms.covered.len(),
                terms.covered.join(", ")
            ));
        }
        if !terms.missing.is_empty() {
            areas.push(format!(
                "Key terms from the job description you did not mention: {}.",
                terms.missing.join(", ")
            ));
        }
    }
    (strengths, areas)
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
    fn durations_read_in_human_units() {
        assert_eq!(human_duration(4_460), "4.5 s");
        assert_eq!(human_duration(12_000), "12 s");
        assert_eq!(human_duration(80_000), "1 min 20 s");
        assert_eq!(human_duration(120_000), "2 min");
    }

    #[test]
    fn the_job_heading_is_the_first_lines() {
        let h = job_heading(
            "\nSenior Backend Engineer, Realtime Platform\nNorthwind Logistics (fictional company), Remote\n\nAbout the team…",
        );
        assert_eq!(h.title, "Senior Backend Engineer, Realtime Platform");
        assert_eq!(h.company, "Northwind Logistics");
        assert_eq!(job_heading(""), JobHeading::default());
    }

    #[test]
    fn each_answer_comes_with_its_question_timing_and_note() {
        let t = [
            entry(0, Speaker::Ai, "Tell me about an outage.", 0, 3_000),
            entry(1, Speaker::User, "We lost Kafka at 3 AM.", 3_800, 9_000),
            entry(2, Speaker::Ai, "What did you learn?", 9_500, 11_000),
            entry(3, Speaker::User, "", 12_000, 20_000),
        ];
        let notes = [QuestionNote::new(
            "q",
            "lost kafka",
            "Concrete and specific.",
        )];
        let cut = serde_json::from_value::<InterviewerCut>(serde_json::json!({
            "sequence": 2, "played_ms": 900, "heard_text": "What did"
        }))
        .unwrap();
        let q = questions(&t, &notes, &[cut]);
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].question, "Tell me about an outage.");
        assert_eq!(q[0].response_latency_ms, Some(800));
        assert_eq!(q[0].answer_duration_ms, 5_200);
        assert_eq!(q[0].note.as_deref(), Some("Concrete and specific."));
        assert_eq!(q[0].quote.as_deref(), Some("lost kafka"));
        assert!(!q[1].answer_transcribed && q[1].answer.is_empty());
        assert_eq!(q[1].note, None);
        assert_eq!(q[0].question_heard, None);
        assert_eq!(q[1].question_heard.as_deref(), Some("What did"));
    }

    #[test]
    fn untranscribed_answers_are_coached_on_timing_only_and_nobody_is_blamed() {
        let t = [
            entry(0, Speaker::Ai, "Tell me about yourself.", 0, 3_000),
            entry(1, Speaker::User, "", 3_900, 78_900),
            entry(2, Speaker::Ai, "Why this role?", 80_000, 82_000),
            entry(3, Speaker::User, "", 83_000, 98_000),
            entry(4, Speaker::Ai, "A conflict?", 99_000, 100_000),
            entry(5, Speaker::User, "", 101_000, 113_000),
        ];
        let m = metrics::compute(&t, "Rust, Kafka.", &[]);
        let (strengths, areas) = evidence(&m);
        let all = strengths.iter().chain(&areas).cloned().collect::<Vec<_>>();
        assert!(
            all.iter().any(|s| s.contains("typically lasted 15 s")),
            "{all:?}"
        );
        assert!(all.iter().any(|s| s.contains("ran 1 min 15 s")), "{all:?}");
        assert!(all.iter().any(|s| s.contains("natural pause")), "{all:?}");
        for s in &all {
            for banned in [
                "microphone",
                "GEMINI",
                "time(s)",
                "words per minute",
                "Key terms",
            ] {
                assert!(!s.contains(banned), "{s}");
            }
        }
    }
}
