//! The simulator's answer to the per-competency part of a feedback request
//! ([`crate::feedback_plan`]): one score per competency named in the schema's `enum`,
//! with a quote taken from the transcript in the request. No language model: the answer
//! chosen is the first that mentions one of the competency's key terms (from the plan in
//! the prompt), else the longest; the quote is its first words; the score counts the
//! STAR parts the answer has ([`preppal_core::plan::star_check`]), 1 to 4.

use preppal_core::plan::star_check;
use serde_json::{json, Value};

use crate::feedback_plan::{PLAN_BEGIN, PLAN_END};

/// Adds `competencyScores` to `document` when `request`'s `responseSchema` asks for it;
/// `answers` are the transcript's `(question, answer)` pairs, `quote_words` the quote's
/// length in words.
pub(super) fn add_competency_scores(
    document: &mut Value,
    request: &Value,
    prompt: &str,
    answers: &[(String, String)],
    quote_words: usize,
) {
    let Some(names) = request
        .pointer(
            "/generationConfig/responseSchema/properties/competencyScores/items/properties/competency/enum",
        )
        .and_then(Value::as_array)
    else {
        return;
    };
    let plan: Vec<Value> = prompt
        .rsplit_once(PLAN_BEGIN)
        .and_then(|(_, t)| t.split_once(PLAN_END))
        .and_then(|(json, _)| serde_json::from_str(json.trim()).ok())
        .unwrap_or_default();
    let terms = |name: &str| -> Vec<String> {
        plan.iter()
            .find(|c| c.get("competency").and_then(Value::as_str) == Some(name))
            .and_then(|c| c.get("key_terms"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let longest = answers
        .iter()
        .max_by_key(|(_, a)| a.split_whitespace().count());
    let scores: Vec<Value> = names
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|name| {
            let terms = terms(name);
            let (_, answer) = answers
                .iter()
                .find(|(_, a)| {
                    terms
                        .iter()
                        .any(|t| preppal_core::metrics::terms::mentions(a, t))
                })
                .or(longest)?;
            let star = star_check(answer);
            let parts = [star.situation, star.task, star.action, star.result]
                .iter()
                .filter(|p| **p)
                .count();
            let quote = answer
                .split_whitespace()
                .take(quote_words)
                .collect::<Vec<_>>()
                .join(" ");
            Some(json!({
                "competency": name,
                "score": parts.clamp(1, 4),
                "reason": format!(
                    "STAR parts present: {} (simulator: structure only, not content).",
                    star.letters()
                ),
                "quotes": [quote],
            }))
        })
        .collect();
    if let Value::Object(doc) = document {
        doc.insert("competencyScores".to_owned(), Value::Array(scores));
    }
}
