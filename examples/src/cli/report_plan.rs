//! The plan's part of a report: what the interview covered and how each competency
//! scored, in Markdown.

use std::fmt::Write as _;

use preppal_core::plan::{InterviewPlan, PlanAssessment};

/// `text` on one line with Markdown's special characters escaped, so the candidate's
/// words and the job description's cannot format the report.
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
    {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '!'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Appends the `## Interview plan` section (round type, difficulty, main questions, each
/// competency with why it is in the plan) and, with an assessment, `## Competencies`
/// (scores with quotes, coverage by key terms) and `## STAR checks`.
pub(crate) fn plan_markdown(
    md: &mut String,
    plan: Option<&InterviewPlan>,
    assessment: Option<&PlanAssessment>,
) {
    let Some(plan) = plan else {
        return;
    };
    // Writing to a String cannot fail.
    let _ = writeln!(
        md,
        "## Interview plan\n\n{} round, {} level, {} main question(s) in {} min.\n",
        plan.round_type.as_str().replace('_', " "),
        plan.difficulty.as_str(),
        plan.main_questions,
        plan.length_minutes
    );
    for c in &plan.competencies {
        let _ = writeln!(md, "- **{}**: {}", inline(&c.name), inline(&c.why));
    }
    md.push('\n');
    let Some(a) = assessment else {
        return;
    };
    md.push_str("## Competencies\n\n");
    for c in &plan.competencies {
        let score = a.competency_scores.iter().find(|s| s.competency_id == c.id);
        let covered = a.coverage.iter().find(|v| v.competency_id == c.id);
        match score {
            Some(s) => {
                let _ = writeln!(
                    md,
                    "- **{}**: {}/4. {}",
                    inline(&c.name),
                    s.score,
                    inline(&s.reason)
                );
                for q in &s.quotes {
                    let _ = writeln!(md, "  > \u{201c}{}\u{201d}", inline(q));
                }
            }
            None => {
                let terms = covered
                    .map(|v| v.terms_mentioned.join(", "))
                    .filter(|t| !t.is_empty())
                    .map_or("no key term mentioned".to_owned(), |t| {
                        format!("mentioned: {t}")
                    });
                let _ = writeln!(
                    md,
                    "- **{}**: not scored ({}).",
                    inline(&c.name),
                    inline(&terms)
                );
            }
        }
    }
    if a.dropped_scores > 0 {
        let _ = writeln!(
            md,
            "\n_{} score(s) dropped: their quotes are not in the transcript._",
            a.dropped_scores
        );
    }
    for n in &a.needs_model {
        let _ = writeln!(md, "\n_{}_", inline(n));
    }
    md.push('\n');
    if !a.star_checks.is_empty() {
        md.push_str("## STAR checks\n\n");
        for s in &a.star_checks {
            let share = s
                .i_share_percent
                .map_or("no I/we".to_owned(), |p| format!("{p}% \"I\""));
            let _ = writeln!(
                md,
                "- {} ({share}), missing: {}. Question: {}",
                s.star.letters(),
                if s.star.missing().is_empty() {
                    "nothing".to_owned()
                } else {
                    s.star.missing().join(", ")
                },
                inline(&s.question)
            );
        }
        md.push('\n');
    }
}
