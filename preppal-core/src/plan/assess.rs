//! Feedback against the plan: each competency scored on the 1–4 [rubric](mod@super::rubric)
//! with the candidate's quotes as evidence (checked against the transcript), the STAR
//! check of each behavioural answer, and the plan's coverage by key terms.
//!
//! A model writes [`CompetencyScore`]s; [`verify_competency_scores`] keeps only the quotes
//! found in the candidate's answers and drops (and counts) a score left with none. What
//! needs no model, [`assess_without_model`] measures: the STAR checks and the coverage.

use serde::{Deserialize, Serialize};

use super::{star_check, InterviewPlan, RoundType, StarCheck};
use crate::metrics::terms::mentions;
use crate::transcript::{Speaker, TranscriptEntry};

/// One competency's score with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CompetencyScore {
    /// The competency's id in the plan ([`super::Competency::id`]).
    pub competency_id: String,
    /// Its name.
    pub name: String,
    /// 1..=4 on the round type's rubric.
    pub score: u8,
    /// Why, in a sentence.
    pub reason: String,
    /// The candidate's words that justify it, each found in the transcript.
    pub quotes: Vec<String>,
}

impl CompetencyScore {
    /// A score, or `None` when `score` is outside 1..=4.
    pub fn new(
        competency_id: impl Into<String>,
        name: impl Into<String>,
        score: u8,
        reason: impl Into<String>,
        quotes: Vec<String>,
    ) -> Option<Self> {
        (1..=4).contains(&score).then(|| Self {
            competency_id: competency_id.into(),
            name: name.into(),
            score,
            reason: reason.into(),
            quotes,
        })
    }
}

/// The STAR check of one behavioural answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AnswerStar {
    /// The transcript sequence of the answer.
    pub sequence: u32,
    /// The interviewer's line before it (the question).
    pub question: String,
    /// The check.
    pub star: StarCheck,
    /// Share of "I" among "I" and "we", percent ([`StarCheck::i_share_percent`]).
    pub i_share_percent: Option<u32>,
}

/// Whether the answers mention a competency's key terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CompetencyCoverage {
    /// The competency's id.
    pub competency_id: String,
    /// Its name.
    pub name: String,
    /// Key terms the answers mention, in the plan's order.
    pub terms_mentioned: Vec<String>,
    /// At least one mentioned.
    pub covered: bool,
}

/// Everything feedback says about the plan.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct PlanAssessment {
    /// Scores per competency (from a model, quotes verified); empty without a model.
    pub competency_scores: Vec<CompetencyScore>,
    /// Scores dropped because none of their quotes is in the transcript.
    pub dropped_scores: u32,
    /// The STAR check of each behavioural answer.
    pub star_checks: Vec<AnswerStar>,
    /// The plan's coverage by key terms.
    pub coverage: Vec<CompetencyCoverage>,
    /// What could not be judged without a model (empty when a model scored).
    pub needs_model: Vec<String>,
}

fn normalise(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Keeps in each score only the quotes found in a candidate (`USER`) entry (whitespace
/// runs collapsed, case and surrounding quotation marks ignored, as
/// [`crate::feedback::verify_quotes`] does), and drops the scores left with no quote or
/// naming no competency of `plan`. Returns the kept scores (in plan order) and how many
/// were dropped.
pub fn verify_competency_scores(
    scores: Vec<CompetencyScore>,
    plan: &InterviewPlan,
    entries: &[TranscriptEntry],
) -> (Vec<CompetencyScore>, u32) {
    let answers: Vec<String> = entries
        .iter()
        .filter(|e| e.speaker == Speaker::User)
        .map(|e| normalise(&e.text))
        .collect();
    let found = |q: &str| {
        let q = normalise(
            q.trim()
                .trim_matches(['"', '\'', '\u{201c}', '\u{201d}', '\u{2018}', '\u{2019}']),
        );
        !q.is_empty() && answers.iter().any(|a| a.contains(&q))
    };
    let mut dropped = 0u32;
    let mut kept: Vec<CompetencyScore> = Vec::new();
    for mut s in scores {
        let in_plan = plan
            .competencies
            .iter()
            .find(|c| c.id == s.competency_id || c.name.eq_ignore_ascii_case(&s.name));
        s.quotes.retain(|q| found(q));
        match in_plan {
            Some(c) if !s.quotes.is_empty() && !kept.iter().any(|k| k.competency_id == c.id) => {
                s.competency_id = c.id.clone();
                s.name = c.name.clone();
                kept.push(s);
            }
            _ => dropped = dropped.saturating_add(1),
        }
    }
    kept.sort_by_key(|s| {
        plan.competencies
            .iter()
            .position(|c| c.id == s.competency_id)
    });
    (kept, dropped)
}

/// The STAR checks of the behavioural answers: every non-empty answer in a behavioural
/// round; in a mixed round, the answers to questions that ask for a story (`tell me
/// about`, `a time`, `situation`, `your resume says`); none in technical and system
/// design rounds.
pub fn star_checks(plan: &InterviewPlan, entries: &[TranscriptEntry]) -> Vec<AnswerStar> {
    let story = |q: &str| {
        let q = q.to_lowercase();
        [
            "tell me about",
            "a time",
            "situation",
            "your resume says",
            "as a story",
        ]
        .iter()
        .any(|c| q.contains(c))
    };
    let mut out = Vec::new();
    let mut question = String::new();
    for e in entries {
        match e.speaker {
            Speaker::Ai => question = e.text.trim().to_owned(),
            Speaker::User if !e.text.trim().is_empty() => {
                let behavioural = match plan.round_type {
                    RoundType::Behavioral => true,
                    RoundType::Mixed => story(&question),
                    RoundType::Technical | RoundType::SystemDesign => false,
                };
                if behavioural {
                    let star = star_check(&e.text);
                    out.push(AnswerStar {
                        sequence: e.sequence,
                        question: question.clone(),
                        i_share_percent: star.i_share_percent(),
                        star,
                    });
                }
            }
            Speaker::User => {}
        }
    }
    out
}

/// The plan's coverage by key terms in the candidate's answers.
pub fn coverage(plan: &InterviewPlan, entries: &[TranscriptEntry]) -> Vec<CompetencyCoverage> {
    let answers: Vec<&str> = entries
        .iter()
        .filter(|e| e.speaker == Speaker::User)
        .map(|e| e.text.as_str())
        .collect();
    plan.competencies
        .iter()
        .map(|c| {
            let terms_mentioned: Vec<String> = c
                .key_terms
                .iter()
                .filter(|t| answers.iter().any(|a| mentions(a, t)))
                .cloned()
                .collect();
            CompetencyCoverage {
                competency_id: c.id.clone(),
                name: c.name.clone(),
                covered: !terms_mentioned.is_empty(),
                terms_mentioned,
            }
        })
        .collect()
}

/// What can be measured without a model: the STAR checks and the coverage, with
/// [`PlanAssessment::needs_model`] saying what was left out.
pub fn assess_without_model(plan: &InterviewPlan, entries: &[TranscriptEntry]) -> PlanAssessment {
    PlanAssessment {
        competency_scores: Vec::new(),
        dropped_scores: 0,
        star_checks: star_checks(plan, entries),
        coverage: coverage(plan, entries),
        needs_model: vec![
            "Scores per competency on the 1–4 rubric, each with quoted evidence, need an AI \
             model, which this interview did not have."
                .to_owned(),
            "Coverage here is by key terms only: whether an answer shows the competency needs \
             a model."
                .to_owned(),
        ],
    }
}

/// [`assess_without_model`] with a model's scores, verified
/// ([`verify_competency_scores`]); `needs_model` is then empty.
pub fn assess_with_scores(
    plan: &InterviewPlan,
    entries: &[TranscriptEntry],
    scores: Vec<CompetencyScore>,
) -> PlanAssessment {
    let (competency_scores, dropped_scores) = verify_competency_scores(scores, plan, entries);
    PlanAssessment {
        competency_scores,
        dropped_scores,
        needs_model: Vec::new(),
        ..assess_without_model(plan, entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Difficulty, InterviewPlan};

    const JD: &str = include_str!("../../../fixtures/interviews/backend-engineer.jd.txt");
    const CV: &str = include_str!("../../../fixtures/interviews/backend-engineer.resume.txt");

    fn entry(sequence: u32, speaker: Speaker, text: &str) -> TranscriptEntry {
        TranscriptEntry {
            sequence,
            speaker,
            text: text.to_owned(),
            start_ms: u64::from(sequence) * 1000,
            end_ms: u64::from(sequence) * 1000 + 900,
            interrupted: false,
            heard_text: None,
        }
    }

    fn transcript() -> Vec<TranscriptEntry> {
        vec![
            entry(0, Speaker::Ai, "Tell me about a time you improved reliability."),
            entry(1, Speaker::User, "Last year at Parcelwise our webhooks were duplicated. My task was to stop it. I introduced idempotency keys, and duplicates dropped by 97%."),
            entry(2, Speaker::Ai, "How would you design the PostgreSQL schema?"),
            entry(3, Speaker::User, "We would partition the PostgreSQL tables by day."),
        ]
    }

    #[test]
    fn scores_keep_found_quotes_and_drop_the_unfounded() {
        let plan = InterviewPlan::derive(JD, CV, RoundType::Technical, Difficulty::Mid, 1_800_000);
        let ids: Vec<&str> = plan.competencies.iter().map(|c| c.id.as_str()).collect();
        let scores = vec![
            CompetencyScore::new(
                ids[0],
                "x",
                3,
                "Measured result.",
                vec![
                    "I introduced idempotency keys".into(),
                    "an invented sentence".into(),
                ],
            )
            .unwrap(),
            CompetencyScore::new(ids[1], "y", 2, "Vague.", vec!["never said this".into()]).unwrap(),
            CompetencyScore::new(
                "not_in_plan",
                "z",
                4,
                "?",
                vec!["partition the PostgreSQL".into()],
            )
            .unwrap(),
        ];
        let (kept, dropped) = verify_competency_scores(scores, &plan, &transcript());
        assert_eq!(dropped, 2);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].quotes, ["I introduced idempotency keys"]);
        assert_eq!(kept[0].name, plan.competencies[0].name, "named by the plan");
        assert!(CompetencyScore::new("a", "b", 5, "", vec![]).is_none());
    }

    #[test]
    fn star_checks_follow_the_round_type() {
        let behavioral =
            InterviewPlan::derive(JD, CV, RoundType::Behavioral, Difficulty::Mid, 1_800_000);
        let checks = star_checks(&behavioral, &transcript());
        assert_eq!(checks.len(), 2);
        assert_eq!(checks[0].star.letters(), "STAR");
        assert_eq!(
            checks[0].question,
            "Tell me about a time you improved reliability."
        );
        let mixed = InterviewPlan::derive(JD, CV, RoundType::Mixed, Difficulty::Mid, 1_800_000);
        assert_eq!(
            star_checks(&mixed, &transcript()).len(),
            1,
            "only the story question"
        );
        let technical =
            InterviewPlan::derive(JD, CV, RoundType::Technical, Difficulty::Mid, 1_800_000);
        assert!(star_checks(&technical, &transcript()).is_empty());
    }

    #[test]
    fn without_a_model_coverage_and_star_are_measured_and_the_rest_is_named() {
        let plan = InterviewPlan::derive(JD, CV, RoundType::Technical, Difficulty::Mid, 1_800_000);
        let a = assess_without_model(&plan, &transcript());
        assert!(a.competency_scores.is_empty());
        assert_eq!(a.coverage.len(), plan.competencies.len());
        let db = a
            .coverage
            .iter()
            .find(|c| c.competency_id == "databases")
            .unwrap();
        assert!(
            db.covered && db.terms_mentioned.contains(&"PostgreSQL".to_owned()),
            "{db:?}"
        );
        assert!(a.needs_model.iter().any(|n| n.contains("model")));
        let json = serde_json::to_value(&a).unwrap();
        assert!(json["star_checks"].is_array() && json["competency_scores"].is_array());
    }
}
