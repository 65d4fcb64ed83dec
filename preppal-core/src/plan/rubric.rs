//! The 1–4 scoring rubric, written down per round type.
//!
//! Every competency of a plan is scored on four levels. The level texts say what an answer
//! at that level shows; they are the same texts the feedback model is given, so a score
//! means the same thing whoever gives it. Level 3 is the hiring bar at the plan's
//! difficulty.

use serde::Serialize;

use super::RoundType;

/// One level of the rubric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RubricLevel {
    /// 1 (lowest) to 4.
    pub score: u8,
    /// Its short name (`"Strong"`).
    pub label: &'static str,
    /// What answers at this level show.
    pub description: &'static str,
}

const fn level(score: u8, label: &'static str, description: &'static str) -> RubricLevel {
    RubricLevel {
        score,
        label,
        description,
    }
}

const BEHAVIORAL: [RubricLevel; 4] = [
    level(1, "Not shown", "No concrete example: general statements or hypotheticals; the candidate's own part and the outcome are missing."),
    level(2, "Partly shown", "A real example, but vague: the situation or the candidate's own actions are unclear (mostly \"we\"), or there is no result."),
    level(3, "Shown", "A specific situation, the candidate's own actions and a result, told in order; trade-offs or lessons are mentioned when asked."),
    level(4, "Strong", "A specific, well-chosen example with the candidate's own decisions and their reasons, a measured result, and what they would do differently; at or above the difficulty's scope."),
];

const TECHNICAL: [RubricLevel; 4] = [
    level(1, "Not shown", "Incorrect or missing fundamentals; cannot explain how the named technology or technique works."),
    level(2, "Partly shown", "Correct at the surface: names the right tools but cannot explain why, or misses important edge cases and failure modes."),
    level(3, "Shown", "Correct and explained: reasons about trade-offs and failure modes, backs claims with real experience and numbers."),
    level(4, "Strong", "Deep and precise: compares alternatives with their costs, anticipates edge cases unprompted, and has measured results from production."),
];

const SYSTEM_DESIGN: [RubricLevel; 4] = [
    level(1, "Not shown", "No structure: jumps to components without requirements; no notion of scale, data or failure."),
    level(2, "Partly shown", "A workable design for the happy path; requirements, capacity, or failure handling are thin or missing."),
    level(3, "Shown", "Clarifies requirements, sizes the load, chooses storage and interfaces with reasons, and handles the main failures."),
    level(4, "Strong", "All of level 3 plus explicit trade-offs between designs, bottlenecks found by numbers, graceful degradation and an evolution path."),
];

const MIXED: [RubricLevel; 4] = [
    level(1, "Not shown", "Neither a concrete example nor correct technical reasoning for this competency."),
    level(2, "Partly shown", "An example or an explanation, but vague: the candidate's own part, the reasoning or the result is missing."),
    level(3, "Shown", "A concrete example with the candidate's own actions and result, and technically sound reasoning about it."),
    level(4, "Strong", "A well-chosen example with measured results, explicit trade-offs and depth beyond the question, at or above the difficulty's scope."),
];

/// The four levels for competencies of `round` ([`RoundType::Mixed`]: the generic levels).
pub fn rubric(round: RoundType) -> &'static [RubricLevel; 4] {
    match round {
        RoundType::Behavioral => &BEHAVIORAL,
        RoundType::Technical => &TECHNICAL,
        RoundType::SystemDesign => &SYSTEM_DESIGN,
        RoundType::Mixed => &MIXED,
    }
}

/// The rubric of `round` as text, one line per level (`"3 (Shown): …"`), for a prompt.
pub fn rubric_text(round: RoundType) -> String {
    rubric(round)
        .iter()
        .map(|l| format!("{} ({}): {}", l.score, l.label, l.description))
        .collect::<Vec<_>>()
        .join("\n")
}
