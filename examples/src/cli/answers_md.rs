//! The answer-by-answer section of a report's markdown. User and model text is escaped
//! ([`escape`]) so it renders as text.

use std::fmt::Write as _;

use preppal_core::feedback::{human_duration, QuestionCoaching};

use super::markdown::escape;

/// Writes `## Answer by answer`: each question, the answer (or "spoken, not transcribed"),
/// its length and how long after the question it began, and the note with its quote.
/// Writes nothing without questions.
pub(crate) fn questions_markdown(md: &mut String, questions: &[QuestionCoaching]) {
    if questions.is_empty() {
        return;
    }
    md.push_str("## Answer by answer\n\n");
    for (i, q) in questions.iter().enumerate() {
        let question = if q.question.is_empty() {
            "(no question before this answer)".to_owned()
        } else {
            escape(&q.question)
        };
        let _ = writeln!(md, "### {}. {}\n", i + 1, question);
        if let Some(heard) = &q.question_heard {
            let _ = writeln!(
                md,
                "_You spoke over this question; you heard: \"{}\"_\n",
                escape(heard.trim())
            );
        }
        if q.answer_transcribed {
            let _ = writeln!(md, "> {}\n", escape(&q.answer));
        } else {
            md.push_str("_Spoken, not transcribed._\n\n");
        }
        let mut facts = Vec::new();
        if q.answer_duration_ms > 0 {
            facts.push(format!("lasted {}", human_duration(q.answer_duration_ms)));
        }
        if let Some(l) = q.response_latency_ms {
            facts.push(format!(
                "began {} after the question ended",
                human_duration(l)
            ));
        }
        if !facts.is_empty() {
            let _ = writeln!(md, "Your answer {}.\n", facts.join(" and "));
        }
        if let Some(note) = q.note.as_deref().map(escape) {
            match q.quote.as_deref().map(escape) {
                Some(quote) => {
                    let _ = writeln!(md, "Note: {note} (you said: \"{quote}\")\n");
                }
                None => {
                    let _ = writeln!(md, "Note: {note}\n");
                }
            }
        }
    }
}
