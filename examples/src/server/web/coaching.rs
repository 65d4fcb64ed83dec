//! What the JSON API adds for the candidate's pages: who the interviewer is, the job an
//! interview was for, the answer-by-answer view of the feedback, and progress grouped by
//! job and mode with each metric in human units and its direction, and each competency's
//! scores across interviews.

use std::collections::BTreeMap;

use crate::api::auth::InterviewerInfo;
use crate::api::interview::InterviewView;
use crate::api::progress::{Band, CompetencyTrend, GroupInterview, GroupMetric, ProgressGroup};
use preppal_core::feedback::QuestionCoaching;
use preppal_core::feedback::{job_heading, questions};
use preppal_core::metrics::ReferenceBand;
use preppal_core::plan::{competency_progress, PlannedInterview};
use preppal_core::{Feedback, TranscriptEntry};
use preppal_store::Interview;

use super::state::AppState;

/// `"offline_demo"` (the built-in scripted simulator, or any endpoint without
/// `GEMINI_API_KEY`) or `"gemini"` (the Gemini Live API, a key is set). Taken from this
/// process's model settings; a `preppal web` process reports its own settings, which
/// should match its workers'.
pub fn interviewer_kind(state: &AppState) -> &'static str {
    match state.worker.models.api_key.as_str() {
        "offline" | "unused" => "offline_demo",
        _ => "gemini",
    }
}

/// `user.getProfile`'s `interviewer`: `{"kind": "offline_demo" | "gemini",
/// "transcribes_candidate": bool}` (the offline demo does not transcribe the candidate).
pub fn interviewer_info(state: &AppState) -> InterviewerInfo {
    let kind = interviewer_kind(state);
    InterviewerInfo {
        kind: kind.to_owned(),
        transcribes_candidate: kind == "gemini",
    }
}

/// The interview with `job_title`, `company` (from the job description's heading; may be
/// empty) and `interviewer_kind`.
pub fn with_job(state: &AppState, interview: Interview) -> InterviewView {
    let h = job_heading(&interview.job_description_snapshot);
    InterviewView {
        interview,
        job_title: h.title,
        company: h.company,
        interviewer_kind: interviewer_kind(state).to_owned(),
    }
}

/// The answer-by-answer view: each question with the answer, its duration and response
/// latency in ms, the note with its verified quote when there is one, and what was heard
/// of a question the candidate cut short (`question_heard`).
pub fn feedback_questions(
    entries: &[TranscriptEntry],
    feedback: Option<&Feedback>,
) -> Vec<QuestionCoaching> {
    let notes = feedback.map(|f| f.notes.as_slice()).unwrap_or_default();
    let cuts = feedback
        .and_then(|f| f.metrics.as_ref())
        .map(|m| m.interviewer_cuts.as_slice())
        .unwrap_or_default();
    questions(entries, notes, cuts)
}

/// A metric followed by `interview.getProgress`'s groups: its name there, the field of
/// the metrics it is read from, the factor to human units, the unit, the band's name, and
/// whether lower is better where no band decides.
struct ProgressMetric {
    name: &'static str,
    field: &'static str,
    factor: f64,
    unit: &'static str,
    band: Option<&'static str>,
    lower_is_better: bool,
}

const GROUP_METRICS: [ProgressMetric; 6] = [
    ProgressMetric {
        name: "words_per_minute",
        field: "words_per_minute",
        factor: 1.0,
        unit: "words/min",
        band: Some("words_per_minute"),
        lower_is_better: false,
    },
    ProgressMetric {
        name: "filler_words_per_minute",
        field: "filler_words_per_minute",
        factor: 1.0,
        unit: "fillers/min",
        band: Some("filler_words_per_minute"),
        lower_is_better: true,
    },
    ProgressMetric {
        name: "response_latency",
        field: "response_latency_ms",
        factor: 0.001,
        unit: "s",
        band: Some("response_latency_ms"),
        lower_is_better: true,
    },
    ProgressMetric {
        name: "talk_time",
        field: "talk_time_ratio",
        factor: 100.0,
        unit: "%",
        band: Some("talk_time_ratio"),
        lower_is_better: false,
    },
    ProgressMetric {
        name: "longest_answer",
        field: "longest_answer_ms",
        factor: 0.001,
        unit: "s",
        band: Some("answer_speaking_time_ms"),
        lower_is_better: false,
    },
    ProgressMetric {
        name: "pauses_over_1s",
        field: "pauses_over_1s",
        factor: 1.0,
        unit: "pauses",
        band: None,
        lower_is_better: true,
    },
];

/// How far `v` lies outside `band` (0 inside).
fn distance(v: f64, band: &ReferenceBand) -> f64 {
    if let Some(l) = band.low.filter(|l| v < *l) {
        l - v
    } else if let Some(h) = band.high.filter(|h| v > *h) {
        v - h
    } else {
        0.0
    }
}

/// The direction of a series (oldest first, `None` where not measured), in the band's
/// units: `"within_band"` when the latest value is inside the band; else `"better"` or
/// `"worse"` as the latest value is nearer to or farther from the band than the first
/// (or, without a band, lower or higher when `lower_is_better`); `"unknown"` with fewer
/// than two values or no change.
pub fn direction(
    values: &[Option<f64>],
    band: Option<&ReferenceBand>,
    lower_is_better: bool,
) -> &'static str {
    let measured: Vec<f64> = values.iter().flatten().copied().collect();
    let Some(&last) = measured.last() else {
        return "unknown";
    };
    if band.is_some_and(|b| b.contains(last)) {
        return "within_band";
    }
    let first = measured[0];
    if measured.len() < 2 {
        return "unknown";
    }
    let (before, after) = match band {
        Some(b) => (distance(first, b), distance(last, b)),
        None if lower_is_better => (first, last),
        None => (-first, -last),
    };
    if after < before {
        "better"
    } else if after > before {
        "worse"
    } else {
        "unknown"
    }
}

/// One completed interview with feedback, as `interview.getProgress` reads it.
#[derive(Debug)]
pub struct ProgressPoint<'a> {
    /// The interview.
    pub interview: &'a Interview,
    /// Its feedback.
    pub feedback: &'a Feedback,
}

/// The grouping key of `interview.getProgress`'s `groups`: the job title and the mode
/// (`"voice"` when any answer was spoken, else `"text"`).
fn group_key(p: &ProgressPoint<'_>) -> (String, &'static str) {
    let job = job_heading(&p.interview.job_description_snapshot).title;
    let spoken = p
        .feedback
        .metrics
        .as_ref()
        .is_some_and(|m| m.speaking_time_ms > 0);
    (job, if spoken { "voice" } else { "text" })
}

/// `interview.getProgress`'s `competencies`: for each (job and mode as in `groups`, round
/// type, competency) of the interviews that have a plan, the scores (1..=4, `null` where
/// not scored) across those interviews oldest first, the latest score and the trend (see
/// [`preppal_core::plan::competency_progress`]).
pub fn progress_competencies(points: &[ProgressPoint<'_>]) -> Vec<CompetencyTrend> {
    let keys: Vec<(String, &'static str)> = points.iter().map(group_key).collect();
    let planned: Vec<PlannedInterview<'_>> = points
        .iter()
        .zip(&keys)
        .filter_map(|(p, (job, mode))| {
            Some(PlannedInterview {
                interview_id: &p.interview.id,
                job,
                mode,
                plan: p.interview.plan.as_ref()?,
                assessment: p.feedback.plan_assessment.as_ref(),
            })
        })
        .collect();
    competency_progress(&planned)
        .iter()
        .map(CompetencyTrend::from)
        .collect()
}

/// `interview.getProgress`'s `groups`: the interviews (oldest first) grouped by job title
/// and mode (`"voice"` when any answer was spoken, else `"text"`), each group with its
/// interviews and, per metric, its unit, the series in human units (`null` where not
/// measured) and its direction (see [`direction`]).
pub fn progress_groups(points: &[ProgressPoint<'_>]) -> Vec<ProgressGroup> {
    let mut groups: BTreeMap<(String, &'static str), Vec<&ProgressPoint<'_>>> = BTreeMap::new();
    let mut order = Vec::new();
    for p in points {
        let key = group_key(p);
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(p);
    }
    order
        .into_iter()
        .map(|key| {
            let members = &groups[&key];
            let interviews = members
                .iter()
                .map(|p| GroupInterview {
                    interview_id: p.interview.id.clone(),
                    created_at_ms: p.interview.created_at_ms,
                    source: p.feedback.source,
                })
                .collect();
            let metrics = GROUP_METRICS
                .iter()
                .map(|spec| {
                    let band: Option<ReferenceBand> = spec.band.and_then(|b| {
                        members
                            .iter()
                            .find_map(|p| p.feedback.metrics.as_ref()?.bands.get(b).cloned())
                    });
                    let values: Vec<Option<f64>> = members
                        .iter()
                        .map(|p| {
                            let m = p.feedback.metrics.as_ref()?;
                            if m.unavailable.contains_key(spec.field) {
                                return None;
                            }
                            let v = serde_json::to_value(m).ok()?;
                            v[spec.field]
                                .as_f64()
                                .map(|x| (x * spec.factor * 100.0).round() / 100.0)
                        })
                        .collect();
                    let band_h = band.as_ref().map(|b| {
                        let mut b = b.clone();
                        b.low = b.low.map(|l| l * spec.factor);
                        b.high = b.high.map(|h| h * spec.factor);
                        b
                    });
                    GroupMetric {
                        name: spec.name.to_owned(),
                        unit: spec.unit.to_owned(),
                        direction: direction(&values, band_h.as_ref(), spec.lower_is_better)
                            .to_owned(),
                        values,
                        band: band_h.as_ref().map(|b| Band {
                            low: b.low,
                            high: b.high,
                        }),
                    }
                })
                .collect();
            ProgressGroup {
                job: key.0,
                mode: key.1.to_owned(),
                interviews,
                metrics,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn band(low: Option<f64>, high: Option<f64>) -> ReferenceBand {
        serde_json::from_value(json!({ "unit": "u", "low": low, "high": high, "guidance": "" }))
            .unwrap()
    }

    #[test]
    fn directions_follow_the_band_then_the_change() {
        let b = band(Some(130.0), Some(160.0));
        assert_eq!(
            direction(&[Some(100.0), Some(145.0)], Some(&b), false),
            "within_band"
        );
        assert_eq!(
            direction(&[Some(100.0), Some(120.0)], Some(&b), false),
            "better"
        );
        assert_eq!(
            direction(&[Some(170.0), Some(190.0)], Some(&b), false),
            "worse"
        );
        assert_eq!(direction(&[Some(120.0), None], Some(&b), false), "unknown");
        assert_eq!(direction(&[], Some(&b), false), "unknown");
        assert_eq!(
            direction(&[Some(4.0), None, Some(2.0)], None, true),
            "better"
        );
        assert_eq!(direction(&[Some(2.0), Some(4.0)], None, true), "worse");
    }
}
