//! `interview.getFeedback`.

use preppal_core::feedback::QuestionCoaching;
use preppal_core::plan::{AnswerStar, CompetencyCoverage, CompetencyScore};
use preppal_core::{Feedback, InterviewPlan};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::records::FeedbackRecord;

/// Reply of `interview.getFeedback`: the feedback (or `null` while there is none), the
/// answer-by-answer view, the job, the plan and the plan's assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FeedbackReply {
    /// The feedback, `null` while none was written.
    #[schema(value_type = Option<FeedbackRecord>)]
    pub feedback: Option<Feedback>,
    /// Each question with the answer, its duration and response latency in ms, the note
    /// with its verified quote when there is one, and what was heard of a question the
    /// candidate cut short (`question_heard`).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub questions: Vec<QuestionCoaching>,
    /// The job title, from the job description's first line (may be empty).
    #[serde(default)]
    pub job_title: String,
    /// The company, from the job description's second line (may be empty).
    #[serde(default)]
    pub company: String,
    /// The interview plan, `null` for interviews made without one.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub plan: Option<InterviewPlan>,
    /// Scores 1 to 4 per plan competency with verified quotes; `null` without an
    /// assessment.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub competency_scores: Option<Vec<CompetencyScore>>,
    /// The STAR check of each answer; `null` without an assessment.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub star_checks: Option<Vec<AnswerStar>>,
    /// How far each competency was covered; `null` without an assessment.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub plan_coverage: Option<Vec<CompetencyCoverage>>,
    /// Competency scores dropped because their quotes were not in the transcript; `null`
    /// without an assessment.
    #[serde(default)]
    pub dropped_scores: Option<u32>,
    /// Competencies that need a model to be scored; `null` without an assessment.
    #[serde(default)]
    pub needs_model: Option<Vec<String>>,
}
