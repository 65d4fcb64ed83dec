//! Delivery metrics of an interview, computed from the transcript, its timing and (where
//! the candidate's audio passed through the session) the audio itself.
//!
//! Everything here is deterministic: the same transcript, job description and audio tally
//! always give the same [`InterviewMetrics`]. Metrics are measurements, not verdicts: each
//! comes with a [`ReferenceBand`] that says what is usual, as guidance.
//!
//! # Definitions
//!
//! An *answer* is a candidate (`USER`) transcript entry; its *question* is the text of the
//! interviewer (`AI`) entry just before it.
//!
//! | Metric | Unit | How it is computed |
//! |---|---|---|
//! | `speaking_time_ms` | ms | `end_ms - start_ms` of each answer, summed. A typed answer is one message, so it has 0 ms. |
//! | `words` | words | whitespace-separated tokens with a letter or digit in the answers' text |
//! | `words_per_minute` | words/min | words ÷ speaking time, over the *timed* answers (transcribed text and speaking time > 0); `null` when there are none |
//! | `filler_words` | fillers | the [`fillers`] rules over every answer |
//! | `filler_words_per_minute` | fillers/min | fillers ÷ speaking time, over the timed answers; `null` when there are none |
//! | `pauses_over_1s` | pauses | runs of non-speech audio longer than 1 000 ms between two speech frames of one answer, measured on the audio's own sample timeline; `null` when no answer had audio (text mode) |
//! | `response_latency_ms` | ms | the **median** over answers of `answer.start_ms - question.end_ms` (0 when the answer started before the question ended); `null` without answers that follow a question. The interviewer's `end_ms` is when its audio finished playing for the candidate (the session's playback clock), and an answer starts with its first speech on its own audio timeline, so this is the gap a listener hears. |
//! | `talk_time_ratio` | 0..=1 | candidate speaking time ÷ (candidate + interviewer speaking time); `null` when both are 0 |
//! | `longest_answer_ms` | ms | the longest answer's speaking time |
//! | `interruptions` | answers | answers that started more than [`OVERLAP_TOLERANCE_MS`] before the interviewer's turn ended (its audio finished playing), or during which the model reported `interrupted` (barge-in) |
//! | `job_terms` | terms | [`terms::job_terms`] of the job description (its heading left out), split into those some answer [`terms::mentions`] and those none does |

pub mod fillers;
pub mod terms;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::transcript::{Speaker, TranscriptEntry};
pub use fillers::{count_fillers, FillerCount, FillerLanguage};
pub use terms::{extract_terms, job_terms, mentions};

/// An answer that starts less than this before the interviewer's turn ended (in ms) is not
/// counted as an interruption: the playback clock is a model, off by network and player
/// latency of a few tens of ms.
pub const OVERLAP_TOLERANCE_MS: u64 = 300;

/// A silent run must be longer than this to count as a pause, in ms.
pub const PAUSE_THRESHOLD_MS: u64 = 1_000;

/// What the session measured on one answer's audio.
///
/// Pauses are runs of frames at or below the session's speech threshold
/// (`SessionConfig::speech_rms_threshold`) longer than [`PAUSE_THRESHOLD_MS`], between two
/// speech frames of the answer, timed by sample count at the input sample rate (not by the
/// wall clock). Silence after the last speech frame is the end of the answer, not a pause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AnswerAudio {
    /// The `sequence` of the answer's transcript entry.
    pub sequence: u32,
    /// Audio received during the answer, in ms of samples.
    pub audio_ms: u64,
    /// Silent runs over 1 s between speech, in pauses.
    pub pauses_over_1s: u32,
    /// The longest such run, in ms (0 without pauses).
    pub longest_pause_ms: u64,
    /// The model reported `interrupted` while the answer was open (the candidate barged in).
    pub barged_in: bool,
}

impl AnswerAudio {
    /// A tally for the answer with entry `sequence`.
    pub fn new(sequence: u32, audio_ms: u64, pauses_over_1s: u32, longest_pause_ms: u64) -> Self {
        Self {
            sequence,
            audio_ms,
            pauses_over_1s,
            longest_pause_ms,
            barged_in: false,
        }
    }

    /// Sets [`AnswerAudio::barged_in`].
    pub fn with_barged_in(mut self, barged_in: bool) -> Self {
        self.barged_in = barged_in;
        self
    }
}

/// The key terms of the job description, split by whether the candidate mentioned them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct JobTerms {
    /// Terms some answer mentions, in job-description order.
    pub covered: Vec<String>,
    /// Terms no answer mentions, in job-description order.
    pub missing: Vec<String>,
}

/// A usual range for a metric, shown as guidance, never as a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReferenceBand {
    /// The metric's unit (`"words/min"`, `"ms"`, ...).
    pub unit: String,
    /// The low end of the usual range, when it has one.
    pub low: Option<f64>,
    /// The high end of the usual range, when it has one.
    pub high: Option<f64>,
    /// What the range means, in a sentence.
    pub guidance: String,
}

impl ReferenceBand {
    fn new(unit: &str, low: Option<f64>, high: Option<f64>, guidance: &str) -> Self {
        Self {
            unit: unit.to_owned(),
            low,
            high,
            guidance: guidance.to_owned(),
        }
    }

    /// Whether `value` lies inside the band (bounds included; a missing bound is open).
    pub fn contains(&self, value: f64) -> bool {
        self.low.is_none_or(|l| value >= l) && self.high.is_none_or(|h| value <= h)
    }
}

/// The reference bands, by metric name (the field names of [`InterviewMetrics`] and
/// [`AnswerMetrics`]). Common guidance for spoken interview answers, not norms:
///
/// - `words_per_minute`: 130–160 words/min, a pace most listeners follow easily;
/// - `filler_words_per_minute`: at most 3 fillers/min, rarely noticed;
/// - `response_latency_ms`: 500–3 000 ms, a short think before answering;
/// - `talk_time_ratio`: 0.5–0.7, the candidate talks most of the time;
/// - `answer_speaking_time_ms`: 60 000–120 000 ms per answer (1–2 min, time enough for a
///   STAR story);
/// - `pauses_over_1s`: at most 3 per answer; a pause to think is fine.
pub fn reference_bands() -> BTreeMap<String, ReferenceBand> {
    [
        (
            "words_per_minute",
            ReferenceBand::new(
                "words/min",
                Some(130.0),
                Some(160.0),
                "A pace most listeners follow easily; faster can sound rushed, slower can lose attention.",
            ),
        ),
        (
            "filler_words_per_minute",
            ReferenceBand::new(
                "fillers/min",
                None,
                Some(3.0),
                "A few fillers go unnoticed; many can distract from what you say.",
            ),
        ),
        (
            "response_latency_ms",
            ReferenceBand::new(
                "ms",
                Some(500.0),
                Some(3_000.0),
                "A short pause to think before answering is normal.",
            ),
        ),
        (
            "talk_time_ratio",
            ReferenceBand::new(
                "ratio",
                Some(0.5),
                Some(0.7),
                "In a mock interview the candidate usually talks most of the time.",
            ),
        ),
        (
            "answer_speaking_time_ms",
            ReferenceBand::new(
                "ms",
                Some(60_000.0),
                Some(120_000.0),
                "One to two minutes per answer leaves time for situation, task, action and result.",
            ),
        ),
        (
            "pauses_over_1s",
            ReferenceBand::new(
                "pauses per answer",
                None,
                Some(3.0),
                "Pausing to think is fine; long silences in every answer can read as hesitation.",
            ),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Metrics of one answer. See the [module docs](self) for units and definitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AnswerMetrics {
    /// The answer's transcript entry `sequence`.
    pub sequence: u32,
    /// The interviewer's turn before the answer (trimmed), empty when there was none.
    pub question: String,
    /// When the answer started, in ms since the interview started.
    pub start_ms: u64,
    /// Speaking time, in ms.
    pub speaking_time_ms: u64,
    /// Words.
    pub words: u32,
    /// Words per minute; `null` for an untimed or untranscribed answer.
    pub words_per_minute: Option<f64>,
    /// Filler words.
    pub filler_words: u32,
    /// Filler words per minute; `null` for an untimed or untranscribed answer.
    pub filler_words_per_minute: Option<f64>,
    /// Pauses over 1 s; `null` when no audio of this answer passed through.
    pub pauses_over_1s: Option<u32>,
    /// The longest pause, in ms; `null` when no audio of this answer passed through.
    pub longest_pause_ms: Option<u64>,
    /// From the end of the question to the start of the answer, in ms; `null` without a question.
    pub response_latency_ms: Option<u64>,
    /// Whether the answer interrupted the interviewer.
    pub interrupted: bool,
    /// Job-description terms this answer mentions.
    pub job_terms: Vec<String>,
}

/// Metrics of a whole interview. See the [module docs](self) for units and definitions.
///
/// Serialised with snake_case field names; `null` marks a metric that cannot be measured
/// from what was kept (never a made-up zero).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InterviewMetrics {
    /// The language of the filler list used.
    pub language: FillerLanguage,
    /// Candidate answers.
    pub answer_count: u32,
    /// Candidate speaking time, in ms.
    pub speaking_time_ms: u64,
    /// Interviewer speaking time, in ms.
    pub interviewer_time_ms: u64,
    /// Words in the answers.
    pub words: u32,
    /// Words per minute over the timed answers.
    pub words_per_minute: Option<f64>,
    /// Filler words in the answers.
    pub filler_words: u32,
    /// Filler words by filler (lower case).
    pub fillers: BTreeMap<String, u32>,
    /// Filler words per minute over the timed answers.
    pub filler_words_per_minute: Option<f64>,
    /// Pauses over 1 s in the answers; `null` when no audio passed through.
    pub pauses_over_1s: Option<u32>,
    /// Median response latency, in ms.
    pub response_latency_ms: Option<u64>,
    /// Candidate share of the speaking time, 0..=1.
    pub talk_time_ratio: Option<f64>,
    /// The longest answer, in ms.
    pub longest_answer_ms: u64,
    /// Answers that interrupted the interviewer.
    pub interruptions: u32,
    /// Job-description terms covered and missing.
    pub job_terms: JobTerms,
    /// Per-answer metrics, in transcript order.
    pub answers: Vec<AnswerMetrics>,
    /// Reference bands by metric name (see [`reference_bands`]).
    pub bands: BTreeMap<String, ReferenceBand>,
    /// Metrics that could not be measured, by field name, with the reason: with spoken
    /// answers and not one transcribed word, `words`, `words_per_minute`, `filler_words`,
    /// `filler_words_per_minute` and `job_terms` are [`NO_TRANSCRIPTION`] (their `0` or
    /// empty values mean "not counted", never "none said"). Empty when all were measured.
    #[serde(default)]
    pub unavailable: BTreeMap<String, String>,
    /// The interviewer turns the candidate cut short by speaking (barge-in): the entry's
    /// `sequence`, how much of its audio played (`played_ms`, ms) and the part of its text
    /// heard before the cut (`heard_text`). Empty when none was cut, or when not measured
    /// (filled by the caller from the session, see `PersistAction::InterviewerCuts`).
    #[serde(default)]
    pub interviewer_cuts: Vec<crate::transcript::InterviewerCut>,
}

/// The reason in [`InterviewMetrics::unavailable`] for metrics that need the answers'
/// words when the spoken answers were not transcribed.
pub const NO_TRANSCRIPTION: &str = "no transcription";

/// The metrics that need the answers' words.
pub const WORD_METRICS: [&str; 5] = [
    "words",
    "words_per_minute",
    "filler_words",
    "filler_words_per_minute",
    "job_terms",
];

fn word_count(text: &str) -> u32 {
    let n = text
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn per_minute(count: u32, ms: u64) -> Option<f64> {
    (ms > 0).then(|| round2(f64::from(count) * 60_000.0 / ms as f64))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn median(mut values: Vec<u64>) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2
    })
}

/// Computes the metrics of an interview (English fillers).
///
/// `entries` is the transcript (any order; sorted by `sequence` here), `job_description`
/// the text the key terms are drawn from, and `audio` the session's tally per answer
/// (empty in text mode, which makes the pause metrics `null`).
pub fn compute(
    entries: &[TranscriptEntry],
    job_description: &str,
    audio: &[AnswerAudio],
) -> InterviewMetrics {
    compute_in(entries, job_description, audio, FillerLanguage::English)
}

/// [`compute`] with the filler list of `language`.
pub fn compute_in(
    entries: &[TranscriptEntry],
    job_description: &str,
    audio: &[AnswerAudio],
    language: FillerLanguage,
) -> InterviewMetrics {
    let mut sorted: Vec<&TranscriptEntry> = entries.iter().collect();
    sorted.sort_by_key(|e| e.sequence);
    let terms = terms::job_terms(job_description);

    let mut answers = Vec::new();
    let mut fillers_all = FillerCount::default();
    let (mut speaking_ms, mut interviewer_ms, mut words) = (0u64, 0u64, 0u32);
    let (mut timed_ms, mut timed_words, mut timed_fillers) = (0u64, 0u32, 0u32);
    let mut pauses: Option<u32> = None;
    let mut latencies = Vec::new();
    let (mut longest, mut interruptions) = (0u64, 0u32);
    let mut covered = vec![false; terms.len()];
    let mut previous_ai: Option<&TranscriptEntry> = None;

    for e in sorted {
        let span = e.end_ms.saturating_sub(e.start_ms);
        if e.speaker == Speaker::Ai {
            interviewer_ms += span;
            previous_ai = Some(e);
            continue;
        }
        let w = word_count(&e.text);
        let f = count_fillers(&e.text, language);
        let timed = span > 0 && w > 0;
        let tally = audio.iter().find(|a| a.sequence == e.sequence);
        let overlap = previous_ai.is_some_and(|q| e.start_ms + OVERLAP_TOLERANCE_MS < q.end_ms);
        let interrupted = overlap || tally.is_some_and(|a| a.barged_in);
        let latency = previous_ai.map(|q| e.start_ms.saturating_sub(q.end_ms));
        let mentioned: Vec<String> = terms
            .iter()
            .enumerate()
            .filter(|(_, t)| mentions(&e.text, t))
            .map(|(i, t)| {
                covered[i] = true;
                t.clone()
            })
            .collect();

        speaking_ms += span;
        words += w;
        fillers_all.merge(&f);
        if timed {
            timed_ms += span;
            timed_words += w;
            timed_fillers += f.total;
        }
        if let Some(a) = tally {
            *pauses.get_or_insert(0) += a.pauses_over_1s;
        }
        latencies.extend(latency);
        longest = longest.max(span);
        interruptions += u32::from(interrupted);
        answers.push(AnswerMetrics {
            sequence: e.sequence,
            question: previous_ai
                .map(|q| q.text.trim().to_owned())
                .unwrap_or_default(),
            start_ms: e.start_ms,
            speaking_time_ms: span,
            words: w,
            words_per_minute: if timed { per_minute(w, span) } else { None },
            filler_words: f.total,
            filler_words_per_minute: if timed {
                per_minute(f.total, span)
            } else {
                None
            },
            pauses_over_1s: tally.map(|a| a.pauses_over_1s),
            longest_pause_ms: tally.map(|a| a.longest_pause_ms),
            response_latency_ms: latency,
            interrupted,
            job_terms: mentioned,
        });
        // The next answer without a question in between follows no question.
        previous_ai = None;
    }

    let total_ms = speaking_ms + interviewer_ms;
    let spoken = answers.iter().any(|a| a.speaking_time_ms > 0);
    let unavailable = if spoken && words == 0 {
        WORD_METRICS
            .iter()
            .map(|k| ((*k).to_owned(), NO_TRANSCRIPTION.to_owned()))
            .collect()
    } else {
        BTreeMap::new()
    };
    let (yes, no): (Vec<_>, Vec<_>) = terms.into_iter().zip(covered).partition(|(_, c)| *c);
    InterviewMetrics {
        language,
        answer_count: u32::try_from(answers.len()).unwrap_or(u32::MAX),
        speaking_time_ms: speaking_ms,
        interviewer_time_ms: interviewer_ms,
        words,
        words_per_minute: per_minute(timed_words, timed_ms),
        filler_words: fillers_all.total,
        fillers: fillers_all.by_filler,
        filler_words_per_minute: per_minute(timed_fillers, timed_ms),
        pauses_over_1s: pauses,
        response_latency_ms: median(latencies),
        talk_time_ratio: (total_ms > 0).then(|| round2(speaking_ms as f64 / total_ms as f64)),
        longest_answer_ms: longest,
        interruptions,
        job_terms: JobTerms {
            covered: yes.into_iter().map(|(t, _)| t).collect(),
            missing: no.into_iter().map(|(t, _)| t).collect(),
        },
        answers,
        bands: reference_bands(),
        unavailable,
        interviewer_cuts: Vec::new(),
    }
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
            interrupted: false,
            heard_text: None,
        }
    }

    const JD: &str = "Backend engineer. You will build services in Rust and Go on Kubernetes, \
        with PostgreSQL and Kafka.";

    /// Two spoken answers with known words, fillers, timing and terms.
    fn fixture() -> Vec<TranscriptEntry> {
        vec![
            entry(0, Speaker::Ai, "Tell me about yourself.", 0, 4_000),
            // 12 words, 3 fillers (um, like, you know), 6 s: 120 wpm, 30 fillers/min.
            entry(
                1,
                Speaker::User,
                "Um, I build backend services in Rust, like, you know, on Kubernetes.",
                5_000,
                11_000,
            ),
            entry(2, Speaker::Ai, "Why Postgres?", 12_000, 14_000),
            // 10 words, 1 filler (uh); "like" is a verb. 5 s: 120 wpm. Started early.
            entry(
                3,
                Speaker::User,
                "I like PostgreSQL because uh the planner is very good",
                13_500,
                18_500,
            ),
        ]
    }

    #[test]
    fn counts_words_fillers_and_terms_of_a_fixture() {
        let m = compute(&fixture(), JD, &[]);
        assert_eq!(m.answer_count, 2);
        assert_eq!(m.words, 22);
        assert_eq!(m.filler_words, 4);
        assert_eq!(m.fillers.get("um"), Some(&1));
        assert_eq!(m.fillers.get("like"), Some(&1));
        assert_eq!(m.fillers.get("you know"), Some(&1));
        assert_eq!(m.fillers.get("uh"), Some(&1));
        assert_eq!(m.speaking_time_ms, 11_000);
        assert_eq!(m.words_per_minute, Some(120.0));
        assert_eq!(m.filler_words_per_minute, Some(21.82));
        assert_eq!(m.longest_answer_ms, 6_000);
        assert_eq!(m.interviewer_time_ms, 6_000);
        assert_eq!(m.talk_time_ratio, Some(0.65));
        // Latencies 1 000 and 0 (the second answer started before the question ended).
        assert_eq!(m.response_latency_ms, Some(500));
        assert_eq!(m.interruptions, 1);
        assert_eq!(m.job_terms.covered, ["Rust", "Kubernetes", "PostgreSQL"]);
        assert_eq!(m.job_terms.missing, ["Go", "Kafka"]);
        assert_eq!(m.answers[0].words_per_minute, Some(120.0));
        assert_eq!(m.answers[0].filler_words, 3);
        assert_eq!(m.answers[1].filler_words, 1);
        assert!(m.answers[1].interrupted);
        assert_eq!(m.answers[1].question, "Why Postgres?");
        assert_eq!(m.answers[1].job_terms, ["PostgreSQL"]);
        // Text mode: no audio, so pauses are unknown rather than zero.
        assert_eq!(m.pauses_over_1s, None);
        assert_eq!(m.answers[0].pauses_over_1s, None);
        assert!(m.bands["words_per_minute"].contains(145.0));
        assert!(!m.bands["words_per_minute"].contains(170.0));
        assert_eq!(m, compute(&fixture(), JD, &[]));
    }

    #[test]
    fn pauses_come_from_the_audio_tally() {
        let audio = [AnswerAudio::new(1, 6_000, 2, 1_800)];
        let m = compute(&fixture(), JD, &audio);
        assert_eq!(m.pauses_over_1s, Some(2));
        assert_eq!(m.answers[0].pauses_over_1s, Some(2));
        assert_eq!(m.answers[0].longest_pause_ms, Some(1_800));
        assert_eq!(m.answers[1].pauses_over_1s, None);
    }

    #[test]
    fn typed_and_untranscribed_answers_have_no_rates() {
        let t = [
            entry(0, Speaker::Ai, "Hello?", 0, 1_000),
            entry(1, Speaker::User, "Typed answer here", 2_000, 2_000),
            entry(2, Speaker::Ai, "Next?", 3_000, 4_000),
            entry(3, Speaker::User, "", 5_000, 9_000),
        ];
        let m = compute(&t, "", &[]);
        // One answer was typed: words were counted, so nothing is unavailable.
        assert!(m.unavailable.is_empty());
        assert_eq!(m.words, 3);
        assert_eq!(m.words_per_minute, None);
        assert_eq!(m.answers[0].words_per_minute, None);
        assert_eq!(m.answers[1].words_per_minute, None);
        assert!(m.job_terms.covered.is_empty() && m.job_terms.missing.is_empty());
    }

    #[test]
    fn spoken_answers_without_words_make_word_metrics_unavailable() {
        let t = [
            entry(0, Speaker::Ai, "Tell me about yourself.", 0, 3_000),
            entry(1, Speaker::User, "", 4_000, 20_000),
        ];
        let m = compute(&t, "Rust and Kafka.", &[]);
        assert_eq!(m.unavailable.len(), WORD_METRICS.len());
        assert_eq!(m.unavailable["filler_words"], NO_TRANSCRIPTION);
        assert_eq!(m.words_per_minute, None);
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["unavailable"]["job_terms"], "no transcription");
        // The speaking time is still measured.
        assert_eq!(m.speaking_time_ms, 16_000);
    }

    #[test]
    fn serialises_snake_case_with_nulls() {
        let v = serde_json::to_value(compute(&fixture(), JD, &[])).unwrap();
        assert_eq!(v["filler_words"], 4);
        assert!(v["pauses_over_1s"].is_null());
        assert_eq!(v["job_terms"]["missing"][0], "Go");
        assert_eq!(v["answers"][0]["words"], 12);
        assert_eq!(v["bands"]["words_per_minute"]["low"], 130.0);
        assert_eq!(v["language"], "english");
    }
}
