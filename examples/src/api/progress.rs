//! `interview.getProgress`: delivery metrics and scores across the user's completed
//! interviews.

use std::collections::BTreeMap;

use preppal_core::plan::CompetencyProgress;
use preppal_core::FeedbackSource;
use serde::{Deserialize, Serialize};
use serde_json::Number;
use utoipa::ToSchema;

/// Input of `interview.getProgress`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProgressInput {
    /// How many of the newest interviews to look at, 1 to 100 (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Reply of `interview.getProgress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Progress {
    /// The completed interviews with feedback, oldest first.
    pub points: Vec<ProgressPoint>,
    /// Per series (`"metrics.<name>"`, `"scores.<content|structure|clarity>"`) measured in
    /// at least one point: its first and last value and the change.
    pub trend: BTreeMap<String, Trend>,
    /// The points grouped by job title and mode, each metric in human units with its
    /// direction.
    pub groups: Vec<ProgressGroup>,
    /// Each plan competency's scores across the interviews of a job, mode and round type.
    pub competencies: Vec<CompetencyTrend>,
}

/// One completed interview in [`Progress::points`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProgressPoint {
    /// The interview.
    pub interview_id: String,
    /// When it was created, Unix ms.
    pub created_at_ms: i64,
    /// Who wrote its feedback: `"gemini"`, `"simulator"` or `"deterministic"`.
    #[schema(value_type = String)]
    pub source: FeedbackSource,
    /// Its delivery metrics (`null` where not measured).
    pub metrics: ProgressMetrics,
    /// Its scores, `null` when no model gave them.
    pub scores: Option<ProgressScores>,
}

/// The delivery metrics of a [`ProgressPoint`], as the feedback's metrics hold them (see
/// `preppal_core::metrics` for units); `null` where not measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProgressMetrics {
    /// Words a minute of the candidate's speaking time.
    #[schema(value_type = Option<f64>)]
    pub words_per_minute: Option<Number>,
    /// Filler words a minute.
    #[schema(value_type = Option<f64>)]
    pub filler_words_per_minute: Option<Number>,
    /// The candidate's share of the speaking time, 0 to 1.
    #[schema(value_type = Option<f64>)]
    pub talk_time_ratio: Option<Number>,
    /// Median time from a question's end to the answer's start, ms.
    #[schema(value_type = Option<f64>)]
    pub response_latency_ms: Option<Number>,
    /// The longest answer, ms.
    #[schema(value_type = Option<f64>)]
    pub longest_answer_ms: Option<Number>,
    /// Pauses over 1 s within answers.
    #[schema(value_type = Option<f64>)]
    pub pauses_over_1s: Option<Number>,
    /// Times the candidate cut the interviewer short.
    #[schema(value_type = Option<f64>)]
    pub interruptions: Option<Number>,
    /// Job-description terms the answers used.
    pub job_terms_covered: usize,
    /// Job-description terms looked for.
    pub job_terms_total: usize,
}

/// The scores of a [`ProgressPoint`], 1 to 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProgressScores {
    /// Content.
    pub content: u8,
    /// Structure.
    pub structure: u8,
    /// Clarity.
    pub clarity: u8,
}

/// One series of [`Progress::trend`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Trend {
    /// The first value measured.
    pub first: f64,
    /// The last value measured.
    pub last: f64,
    /// `last - first`.
    pub change: f64,
    /// How many points have the series.
    pub points: usize,
    /// Which way reads as progress: `1` higher is better, `-1` lower is better, `0` the
    /// reference band decides.
    pub better: i8,
}

/// One group of [`Progress::groups`]: the interviews of one job title and mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProgressGroup {
    /// The job title (may be empty).
    pub job: String,
    /// `"voice"` when any answer was spoken, else `"text"`.
    pub mode: String,
    /// Its interviews, oldest first.
    pub interviews: Vec<GroupInterview>,
    /// Each followed metric across them.
    pub metrics: Vec<GroupMetric>,
}

/// One interview of a [`ProgressGroup`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GroupInterview {
    /// The interview.
    pub interview_id: String,
    /// When it was created, Unix ms.
    pub created_at_ms: i64,
    /// Who wrote its feedback.
    #[schema(value_type = String)]
    pub source: FeedbackSource,
}

/// One metric of a [`ProgressGroup`], in human units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GroupMetric {
    /// `words_per_minute`, `filler_words_per_minute`, `response_latency`, `talk_time`,
    /// `longest_answer` or `pauses_over_1s`.
    pub name: String,
    /// `words/min`, `fillers/min`, `s`, `%` or `pauses`.
    pub unit: String,
    /// The value in each interview of the group (`null` where not measured).
    pub values: Vec<Option<f64>>,
    /// The reference band in the same unit, `null` when the metric has none.
    pub band: Option<Band>,
    /// `within_band`, `better`, `worse` or `unknown`.
    pub direction: String,
}

/// A reference band: either end may be open (`null`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Band {
    /// The low end.
    pub low: Option<f64>,
    /// The high end.
    pub high: Option<f64>,
}

/// One entry of [`Progress::competencies`]: a plan competency across the interviews of a
/// job, mode and round type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CompetencyTrend {
    /// The job (as in the groups).
    pub job: String,
    /// `"voice"` or `"text"`.
    pub mode: String,
    /// `behavioral`, `technical`, `system_design` or `mixed`.
    pub round_type: String,
    /// The competency's stable id.
    pub competency_id: String,
    /// Its name.
    pub name: String,
    /// The interviews, oldest first.
    pub interview_ids: Vec<String>,
    /// The score (1 to 4) in each of them, `null` where not scored.
    pub scores: Vec<Option<u8>>,
    /// The latest score given, if any.
    pub latest: Option<u8>,
    /// `improving`, `declining`, `steady` or `unknown`.
    pub trend: String,
}

impl From<&CompetencyProgress> for CompetencyTrend {
    fn from(c: &CompetencyProgress) -> Self {
        let trend = serde_json::to_value(c.trend)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "unknown".to_owned());
        Self {
            job: c.job.clone(),
            mode: c.mode.clone(),
            round_type: c.round_type.as_str().to_owned(),
            competency_id: c.competency_id.clone(),
            name: c.name.clone(),
            interview_ids: c.interview_ids.clone(),
            scores: c.scores.clone(),
            latest: c.latest,
            trend,
        }
    }
}
