//! The interview plan: what one interview covers, how many main questions fit, and when the
//! interviewer probes an answer, derived without a model from the job description, the
//! resume, a [`RoundType`], a [`Difficulty`] and the interview's length.
//!
//! [`InterviewPlan::derive`] works in three steps, all deterministic:
//!
//! 1. **Competencies.** Each entry of a fixed catalogue ([`catalogue`]) names a competency
//!    a hiring team assesses (for example *Reliability and operations*), the round types it
//!    belongs to and its cue words. Every requirement of the job description (a bullet, or
//!    a sentence of a paragraph) and every claim of the resume (a bullet) that contains a cue
//!    is evidence for the competency; it counts twice for the job description. The
//!    competencies of the round type with evidence are kept, strongest first (catalogue
//!    order breaks ties), each with the requirement or claim that put it in the plan
//!    ([`Competency::why`]) and its key terms (the named terms of that text, see
//!    [`crate::metrics::terms`], and the cue words found). The difficulty adds one
//!    competency of its own (learning for `junior`, technical leadership for `senior`,
//!    organisational influence for `staff`).
//! 2. **Main questions.** One main question per [`RoundType::minutes_per_question`]
//!    (adjusted by [`Difficulty::extra_minutes_per_question`]: deeper rounds take longer per
//!    question), at least 1, at most [`MAX_MAIN_QUESTIONS`]. Competencies are capped at the
//!    number of main questions (at least [`MIN_COMPETENCIES`] when the catalogue gives
//!    them), and the main questions are dealt to them in plan order.
//! 3. **Follow-up policy.** [`FollowUpPolicy`]: probe an answer that lacks a concrete
//!    situation, the candidate's own actions or a result; ask for numbers when a claim has
//!    none; move on after [`MAX_PROBES`] probes. [`FollowUpPolicy::next_probe`] applies it to
//!    one answer with the [`star`] check.
//!
//! The plan is plain data (serde, snake_case): stored with the interview as a snapshot,
//! given to the model in its system instruction and shown to the candidate.

pub mod assess;
mod catalogue;
pub mod progress;
pub mod rubric;
pub mod star;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use assess::{AnswerStar, CompetencyCoverage, CompetencyScore, PlanAssessment};
pub use catalogue::{catalogue, CatalogueEntry};
pub use progress::{competency_progress, CompetencyProgress, PlannedInterview, ScoreTrend};
pub use rubric::{rubric, RubricLevel};
pub use star::{star_check, StarCheck};

/// Most main questions of any plan.
pub const MAX_MAIN_QUESTIONS: u32 = 24;
/// Fewest competencies of a plan whose round type has that many in the catalogue with
/// evidence (or as defaults).
pub const MIN_COMPETENCIES: usize = 2;
/// Most competencies of any plan.
pub const MAX_COMPETENCIES: usize = 6;
/// Probes per main question before the interviewer moves on: 2.
pub const MAX_PROBES: u8 = 2;
/// Fewest words of an answer that is not "short" for [`FollowUpPolicy::next_probe`]: 25.
pub const SHORT_ANSWER_WORDS: usize = 25;

/// The kind of interview round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundType {
    /// Past behaviour: situations, actions, results (the STAR shape).
    Behavioral,
    /// Technical depth in the role's skills.
    Technical,
    /// Designing a system end to end: requirements, components, scale, failure.
    SystemDesign,
    /// Behavioural and technical questions in turn (the default).
    #[default]
    Mixed,
}

/// The seniority the interview is pitched at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Difficulty {
    /// Early career: fundamentals, learning, guided problems.
    Junior,
    /// Independent contributor (the default).
    #[default]
    Mid,
    /// Leads projects: trade-offs, ambiguity, mentoring.
    Senior,
    /// Sets direction across teams: strategy, influence, organisation-wide impact.
    Staff,
}

/// A round type or difficulty name that is not one of the known values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanOptionError {
    /// Not `behavioral`, `technical`, `system_design` or `mixed`.
    #[error("unknown round type {0:?} (expected behavioral, technical, system_design or mixed)")]
    RoundType(String),
    /// Not `junior`, `mid`, `senior` or `staff`.
    #[error("unknown difficulty {0:?} (expected junior, mid, senior or staff)")]
    Difficulty(String),
}

impl RoundType {
    /// Every round type, in the order the pages offer them.
    pub const ALL: [Self; 4] = [
        Self::Behavioral,
        Self::Technical,
        Self::SystemDesign,
        Self::Mixed,
    ];

    /// `"behavioral"`, `"technical"`, `"system_design"` or `"mixed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Behavioral => "behavioral",
            Self::Technical => "technical",
            Self::SystemDesign => "system_design",
            Self::Mixed => "mixed",
        }
    }

    /// Minutes one main question takes at [`Difficulty::Mid`], follow-ups included:
    /// behavioural 5, technical 6, mixed 5, system design 15 (a design round is one or two
    /// large problems).
    pub fn minutes_per_question(self) -> u32 {
        match self {
            Self::Behavioral | Self::Mixed => 5,
            Self::Technical => 6,
            Self::SystemDesign => 15,
        }
    }

    /// Whether competencies of `kind` belong in this round.
    pub fn covers(self, kind: RoundType) -> bool {
        self == Self::Mixed || self == kind
    }
}

impl Difficulty {
    /// Every difficulty, easiest first.
    pub const ALL: [Self; 4] = [Self::Junior, Self::Mid, Self::Senior, Self::Staff];

    /// `"junior"`, `"mid"`, `"senior"` or `"staff"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Junior => "junior",
            Self::Mid => "mid",
            Self::Senior => "senior",
            Self::Staff => "staff",
        }
    }

    /// Minutes added to (or, for junior, taken from) [`RoundType::minutes_per_question`]:
    /// junior −1, mid 0, senior +1, staff +2 (senior answers are probed deeper).
    pub fn extra_minutes_per_question(self) -> i32 {
        match self {
            Self::Junior => -1,
            Self::Mid => 0,
            Self::Senior => 1,
            Self::Staff => 2,
        }
    }

    /// What the questions expect at this level, one sentence for the interviewer.
    pub fn expectations(self) -> &'static str {
        match self {
            Self::Junior => {
                "Fundamentals and learning: well-scoped problems, how the candidate learns, \
                 asks for help and checks their work; hints are fine."
            }
            Self::Mid => {
                "Independent delivery: the candidate owns features end to end, explains their \
                 choices and handles routine failures without help."
            }
            Self::Senior => {
                "Leading projects: ambiguous problems, explicit trade-offs, failure modes, \
                 measurable outcomes and raising the people around them."
            }
            Self::Staff => {
                "Setting direction across teams: strategy under uncertainty, organisation-wide \
                 impact, influence without authority and long-term consequences."
            }
        }
    }
}

impl fmt::Display for RoundType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Difficulty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RoundType {
    type Err = PlanOptionError;

    /// Parses [`RoundType::as_str`] (exact, lower case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| PlanOptionError::RoundType(s.to_owned()))
    }
}

impl FromStr for Difficulty {
    type Err = PlanOptionError;

    /// Parses [`Difficulty::as_str`] (exact, lower case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| PlanOptionError::Difficulty(s.to_owned()))
    }
}

/// Where a competency's evidence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CompetencySource {
    /// A requirement of the job description.
    JobDescription,
    /// A claim of the resume.
    Resume,
    /// Both a requirement and a claim.
    Both,
    /// The round type or difficulty (no text named it).
    Round,
}

/// One competency the interview covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Competency {
    /// Stable id of the catalogue entry (`"reliability"`), for scores across interviews.
    pub id: String,
    /// Its name (`"Reliability and operations"`).
    pub name: String,
    /// The round type it belongs to: `behavioral`, `technical` or `system_design`.
    pub kind: RoundType,
    /// Why it is in the plan: the requirement or claim that named it, quoted.
    pub why: String,
    /// Where that came from.
    pub source: CompetencySource,
    /// Terms whose mention in an answer counts as covering it (named terms of the
    /// requirement and the cue words found), at most 12.
    pub key_terms: Vec<String>,
    /// Main questions planned on it.
    pub questions: u32,
}

/// When the interviewer asks a follow-up (a probe) rather than the next main question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FollowUpPolicy {
    /// Probe an answer with no concrete situation (when, where, what was at stake).
    pub probe_missing_situation: bool,
    /// Probe an answer that does not say what the candidate personally did.
    pub probe_missing_action: bool,
    /// Probe an answer with no result or outcome.
    pub probe_missing_result: bool,
    /// Ask for numbers when a claim has none.
    pub ask_for_numbers: bool,
    /// Probes per main question before moving on ([`MAX_PROBES`]).
    pub max_probes: u8,
    /// The rules in words, in the order the interviewer applies them.
    pub rules: Vec<String>,
}

/// What a probe asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Probe {
    /// The result or outcome.
    Result,
    /// What the candidate personally did.
    Action,
    /// The concrete situation.
    Situation,
    /// Numbers for a claim.
    Numbers,
}

impl Default for FollowUpPolicy {
    fn default() -> Self {
        Self {
            probe_missing_situation: true,
            probe_missing_action: true,
            probe_missing_result: true,
            ask_for_numbers: true,
            max_probes: MAX_PROBES,
            rules: vec![
                "If an answer has no result or outcome, ask what the result was.".to_owned(),
                "If an answer does not say what the candidate personally did (\"I\", not only \
                 \"we\"), ask for their own actions."
                    .to_owned(),
                "If an answer stays general, with no concrete situation, ask for a specific time \
                 it happened."
                    .to_owned(),
                "If a claim has no numbers, ask how it was measured.".to_owned(),
                format!(
                    "After {MAX_PROBES} follow-ups on the same question, move on to the next main \
                     question."
                ),
            ],
        }
    }
}

impl FollowUpPolicy {
    /// The probe this policy asks after `answer`, when `probes_so_far` probes were already
    /// asked on the same main question; `None` to move on.
    ///
    /// The order is: result (also when the answer is shorter than [`SHORT_ANSWER_WORDS`]
    /// words and has one: a short answer is asked for its result first unless it states
    /// one), own action, situation, numbers. None after [`FollowUpPolicy::max_probes`].
    pub fn next_probe(&self, answer: &str, probes_so_far: u8) -> Option<Probe> {
        if probes_so_far >= self.max_probes {
            return None;
        }
        let s = star_check(answer);
        let short = s.words < SHORT_ANSWER_WORDS;
        if self.probe_missing_result && (!s.result || (short && probes_so_far == 0 && !s.numbers)) {
            return Some(Probe::Result);
        }
        if self.probe_missing_action && !s.action {
            return Some(Probe::Action);
        }
        if self.probe_missing_situation && !s.situation {
            return Some(Probe::Situation);
        }
        if self.ask_for_numbers && !s.numbers {
            return Some(Probe::Numbers);
        }
        None
    }
}

/// What one interview covers and how it is run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InterviewPlan {
    /// The round type.
    pub round_type: RoundType,
    /// The difficulty.
    pub difficulty: Difficulty,
    /// The interview's length, whole minutes (at least 1).
    pub length_minutes: u32,
    /// How many main questions fit the length.
    pub main_questions: u32,
    /// The competencies, in the order the interview takes them.
    pub competencies: Vec<Competency>,
    /// When to probe.
    pub follow_up: FollowUpPolicy,
    /// The difficulty's expectations, one sentence ([`Difficulty::expectations`]).
    pub expectations: String,
    /// An optional soft limit per answer, seconds: the interviewer moves on once passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_time_limit_secs: Option<u32>,
}

impl InterviewPlan {
    /// The plan for an interview of `length_ms` (ms) of `round_type` at `difficulty`, from
    /// the job description and resume texts, by the rules in the [module docs](self). No
    /// answer time limit (see [`InterviewPlan::with_answer_time_limit`]).
    pub fn derive(
        job_description: &str,
        resume: &str,
        round_type: RoundType,
        difficulty: Difficulty,
        length_ms: u64,
    ) -> Self {
        let length_minutes = u32::try_from(length_ms / 60_000).unwrap_or(u32::MAX).max(1);
        let per_question = (i64::from(round_type.minutes_per_question())
            + i64::from(difficulty.extra_minutes_per_question()))
        .max(2) as u32;
        let main_questions = (length_minutes / per_question).clamp(1, MAX_MAIN_QUESTIONS);
        let (mut competencies, own) =
            catalogue::select(job_description, resume, round_type, difficulty);
        let cap = (main_questions as usize).clamp(MIN_COMPETENCIES, MAX_COMPETENCIES);
        // The difficulty's own competency always stays, last, within the cap.
        competencies.truncate(cap.saturating_sub(usize::from(own.is_some())).max(1));
        competencies.extend(own);
        let n = competencies.len().max(1) as u32;
        for (i, c) in competencies.iter_mut().enumerate() {
            let i = i as u32;
            c.questions = main_questions / n + u32::from(i < main_questions % n);
        }
        Self {
            round_type,
            difficulty,
            length_minutes,
            main_questions,
            competencies,
            follow_up: FollowUpPolicy::default(),
            expectations: difficulty.expectations().to_owned(),
            answer_time_limit_secs: None,
        }
    }

    /// The plan with a soft limit of `secs` seconds per answer (`None` or 0: no limit).
    pub fn with_answer_time_limit(mut self, secs: Option<u32>) -> Self {
        self.answer_time_limit_secs = secs.filter(|s| *s > 0);
        self
    }

    /// Competency ids the `answers` mention, by key terms ([`crate::metrics::terms::mentions`]).
    pub fn covered_by<'a>(&'a self, answers: &[&str]) -> Vec<&'a Competency> {
        self.competencies
            .iter()
            .filter(|c| {
                c.key_terms.iter().any(|t| {
                    answers
                        .iter()
                        .any(|a| crate::metrics::terms::mentions(a, t))
                })
            })
            .collect()
    }
}
