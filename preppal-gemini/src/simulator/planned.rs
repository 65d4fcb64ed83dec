//! The simulated interviewer following an interview plan: when the system instruction
//! carries one ([`crate::plan_instruction`]), the script's first lines are the plan's main
//! questions, asked in the plan's order with wording that depends on each competency's
//! round type and the plan's difficulty; the persona's manner ([`Manner`]) changes the
//! greeting, acknowledgements, follow-ups and closing; and a typed answer
//! (`realtimeInput.text`) that the plan's [`FollowUpPolicy`] finds lacking (short, or
//! with no result, own action, situation or numbers) gets a follow-up instead of the next
//! question, at most [`FollowUpPolicy::max_probes`] times per question.

use preppal_core::plan::{Competency, Difficulty, FollowUpPolicy, InterviewPlan, Probe, RoundType};

use crate::plan_instruction::{persona_in_instruction, plan_in_instruction};

/// How the persona talks, read from its description's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Manner {
    /// Friendly, warm, kind, encouraging, supportive, patient.
    Warm,
    /// Terse, blunt, direct, strict, tough, demanding, no-nonsense.
    Terse,
    /// Anything else.
    Neutral,
}

impl Manner {
    /// The manner of a persona description: [`Manner::Terse`] if it names a terse word,
    /// else [`Manner::Warm`] if it names a warm one, else [`Manner::Neutral`].
    pub fn of(persona: &str) -> Self {
        let p = persona.to_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| p.contains(w));
        if has(&[
            "terse",
            "blunt",
            "direct",
            "strict",
            "tough",
            "demanding",
            "no-nonsense",
            "curt",
            "impatient",
            "sceptical",
            "skeptical",
        ]) {
            Self::Terse
        } else if has(&[
            "friendly",
            "warm",
            "kind",
            "encouraging",
            "supportive",
            "patient",
            "gentle",
        ]) {
            Self::Warm
        } else {
            Self::Neutral
        }
    }

    fn acknowledgements(self) -> &'static [&'static str] {
        match self {
            Self::Warm => &[
                "Thank you, that's really helpful.",
                "Great, thanks for sharing that.",
                "I appreciate the detail.",
            ],
            Self::Terse => &["Noted.", "Okay.", "Right. Next."],
            Self::Neutral => &["Thank you.", "Thanks for that.", "I see, thank you."],
        }
    }

    /// The follow-up line for `probe` in this manner; the `nth` probe on a question (1 or
    /// 2) is worded differently from the one before it.
    pub fn probe_line(self, probe: Probe, nth: u8) -> &'static str {
        if nth >= 2 {
            return match (self, probe) {
                (Self::Terse, Probe::Result) => "I still need the outcome. What changed?",
                (_, Probe::Result) => {
                    "Let me ask once more: what changed because of it, in the end?"
                }
                (Self::Terse, _) => "Be concrete. One example.",
                (_, _) => "Could you make that concrete with one specific example?",
            };
        }
        match (self, probe) {
            (Self::Warm, Probe::Result) => {
                "Thanks, that's a good start. What was the result in the end, and how did you know it worked?"
            }
            (Self::Terse, Probe::Result) => "And the result? Give me the outcome.",
            (_, Probe::Result) => "What was the result of that, and how did you measure it?",
            (Self::Warm, Probe::Action) => {
                "I'd love to hear about your own part: what did you personally do?"
            }
            (Self::Terse, Probe::Action) => "What did you do yourself? Not the team, you.",
            (_, Probe::Action) => "What did you personally do there?",
            (Self::Terse, Probe::Situation) => "Be specific. When did this happen?",
            (_, Probe::Situation) => "Can you give me a specific time that happened?",
            (Self::Terse, Probe::Numbers) => "Numbers, please. How much, how fast?",
            (_, Probe::Numbers) => "Do you have numbers for that? How did you measure it?",
            (_, _) => "Could you say more about that?",
        }
    }
}

/// What a planned script needs to ask follow-ups.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlannedFollowUp {
    /// The plan's follow-up policy.
    pub policy: FollowUpPolicy,
    /// The persona's manner.
    pub manner: Manner,
}

/// The text between `"{label}: \""` and the next `"` in a competency's reason.
fn quoted<'a>(why: &'a str, label: &str) -> Option<&'a str> {
    let start = why.find(&format!("{label}: \""))? + label.len() + 3;
    let len = why[start..].find('"')?;
    Some(why[start..start + len].trim_end_matches('\u{2026}').trim())
}

fn requirement(c: &Competency) -> Option<&str> {
    quoted(&c.why, "asks")
}

fn claim(c: &Competency) -> Option<&str> {
    quoted(&c.why, "claims")
}

fn behavioral(c: &Competency, d: Difficulty, second: bool) -> String {
    let name = c.name.to_lowercase();
    let own_claim = claim(c).filter(|_| !second || requirement(c).is_none());
    let base = if let Some(cl) = own_claim {
        format!(
            "Your resume says: \"{cl}\". Tell me about that as a story: what was the situation, what did you do yourself, and what was the result?"
        )
    } else if let Some(req) = requirement(c) {
        format!(
            "The role asks for this: \"{req}\". Tell me about a specific time you did something like it. What did you do, and what came of it?"
        )
    } else {
        format!("Tell me about a time you showed {name}. What did you do, and what was the result?")
    };
    let suffix = match d {
        Difficulty::Junior => " It can be from school, an internship or a side project.",
        Difficulty::Mid => "",
        Difficulty::Senior => " Which trade-offs did you weigh?",
        Difficulty::Staff => " How did it change things beyond your own team?",
    };
    format!("{base}{suffix}")
}

fn technical(c: &Competency, d: Difficulty, second: bool) -> String {
    let name = c.name.to_lowercase();
    let topic = if second {
        claim(c).or(requirement(c))
    } else {
        requirement(c).or(claim(c))
    };
    let Some(t) = topic else {
        return format!(
            "What is the hardest problem you have solved in {name}? What made it hard, and how did you solve it?"
        );
    };
    match d {
        Difficulty::Junior => format!(
            "Let's talk about {name}. Take this: \"{t}\". Can you explain the basics of how you would approach it?"
        ),
        Difficulty::Mid => format!(
            "On {name}: \"{t}\". How would you do that, and what would you check first if it went wrong?"
        ),
        Difficulty::Senior => format!(
            "On {name}: \"{t}\". Which designs would you compare for that, and what fails first at ten times the load?"
        ),
        Difficulty::Staff => format!(
            "On {name}: \"{t}\". How would you set the technical direction for several teams on that, and how would you know it worked?"
        ),
    }
}

fn system_design(c: &Competency, d: Difficulty, second: bool) -> String {
    let scale = match d {
        Difficulty::Junior => "a few thousand users",
        Difficulty::Mid => "a million users",
        Difficulty::Senior => "the peak load the posting describes, with partial outages",
        Difficulty::Staff => "several regions and teams, with a migration path from today's system",
    };
    let topic = if second {
        claim(c).or(requirement(c))
    } else {
        requirement(c).or(claim(c))
    };
    match topic {
        Some(t) => format!(
            "Let's design something. Take this: \"{t}\". Design it for {scale}. Start with the requirements, then walk me through the main components, the data, and how it handles failure."
        ),
        None => format!(
            "Let's design a system with a focus on {}. Design it for {scale}: requirements first, then components, data and failure handling.",
            c.name.to_lowercase()
        ),
    }
}

/// The plan's main questions, in order: each competency's questions in turn.
pub fn planned_questions(plan: &InterviewPlan) -> Vec<String> {
    let mut out = Vec::new();
    for c in &plan.competencies {
        for j in 0..c.questions {
            let second = j % 2 == 1;
            let q = match c.kind {
                RoundType::Behavioral | RoundType::Mixed => behavioral(c, plan.difficulty, second),
                RoundType::Technical => technical(c, plan.difficulty, second),
                RoundType::SystemDesign => system_design(c, plan.difficulty, second),
            };
            if !out.contains(&q) {
                out.push(q);
            }
        }
    }
    out
}

/// A script's `lines` and `closing` made to follow the plan in `instruction`, if it
/// carries one (then its follow-up policy is returned); else unchanged and `None`. The
/// first lines become the plan's main questions (as many as there are lines); the later
/// lines, if any, stay.
pub(super) fn follow_plan(
    instruction: &str,
    lines: &mut [String],
    closing: &mut String,
) -> Option<PlannedFollowUp> {
    let plan = plan_in_instruction(instruction)?;
    let manner = Manner::of(persona_in_instruction(instruction).unwrap_or(""));
    let questions = planned_questions(&plan);
    let n = lines.len().min(questions.len());
    let greeting = lines
        .first()
        .and_then(|l| l.split(" To start,").next())
        .unwrap_or("Hello, thanks for joining me today.")
        .to_owned();
    let round = plan.round_type.as_str().replace('_', " ");
    let level = plan.difficulty.as_str();
    let names: Vec<String> = plan
        .competencies
        .iter()
        .map(|c| c.name.to_lowercase())
        .collect();
    let names = names.join(", ");
    let intro = match manner {
        Manner::Warm => format!(
            "We'll have a {level}-level {round} conversation about {names}. Take your time."
        ),
        Manner::Terse => format!("{level} level, {round} round: {names}. Let's begin."),
        Manner::Neutral => format!("This is a {level}-level {round} round covering {names}."),
    };
    let acks = manner.acknowledgements();
    for (i, q) in questions.into_iter().take(n).enumerate() {
        lines[i] = if i == 0 {
            format!("{greeting} {intro} {q}")
        } else {
            format!("{} {q}", acks[(i - 1) % acks.len()])
        };
    }
    if manner == Manner::Terse {
        *closing = "That's all my questions. Thanks for your time.".to_owned();
    }
    Some(PlannedFollowUp {
        policy: plan.follow_up.clone(),
        manner,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::script::InterviewScript;

    use preppal_core::plan::{Difficulty, InterviewPlan, RoundType};

    use super::*;
    use crate::planned_interviewer_instruction;

    const JD: &str = include_str!("../../../fixtures/interviews/backend-engineer.jd.txt");
    const CV: &str = include_str!("../../../fixtures/interviews/backend-engineer.resume.txt");

    fn script(persona: &str, r: RoundType, d: Difficulty) -> InterviewScript {
        let plan = InterviewPlan::derive(JD, CV, r, d, 30 * 60_000);
        let s = planned_interviewer_instruction(persona, JD, CV, Duration::from_secs(1800), &plan);
        InterviewScript::from_instruction(&s, 5)
    }

    #[test]
    fn questions_differ_by_round_type_and_difficulty() {
        let behavioral = script("p", RoundType::Behavioral, Difficulty::Mid);
        let technical = script("p", RoundType::Technical, Difficulty::Mid);
        let design = script("p", RoundType::SystemDesign, Difficulty::Mid);
        assert!(
            behavioral.lines[0].starts_with("Hello Jordan,"),
            "{}",
            behavioral.lines[0]
        );
        assert!(
            behavioral.lines[0].contains("mid-level behavioral round"),
            "{}",
            behavioral.lines[0]
        );
        assert!(
            behavioral.lines[0].contains("what did you do yourself"),
            "{}",
            behavioral.lines[0]
        );
        assert!(
            technical.lines[0].contains("what would you check first"),
            "{}",
            technical.lines[0]
        );
        assert!(
            design.lines[0].contains("Let's design something"),
            "{}",
            design.lines[0]
        );
        assert!(design.lines[0].contains("a million users"));
        let senior = script("p", RoundType::SystemDesign, Difficulty::Senior);
        assert!(senior.lines[0].contains("peak load"), "{}", senior.lines[0]);
        assert_ne!(behavioral.lines[1], technical.lines[1]);
        // Every script still has the planned count of lines and a closing.
        assert_eq!(technical.question_count(), behavioral.question_count());
        assert!(technical.follow_up.is_some());
    }

    #[test]
    fn the_persona_changes_the_wording() {
        let warm = script(
            "a warm, encouraging mentor",
            RoundType::Technical,
            Difficulty::Mid,
        );
        let terse = script(
            "a blunt, demanding CTO",
            RoundType::Technical,
            Difficulty::Mid,
        );
        assert_ne!(warm.lines[0], terse.lines[0]);
        assert!(
            warm.lines[0].contains("Take your time"),
            "{}",
            warm.lines[0]
        );
        assert!(terse.lines[1].starts_with("Noted."), "{}", terse.lines[1]);
        assert_ne!(warm.closing, terse.closing);
        assert_eq!(Manner::of("a blunt, demanding CTO"), Manner::Terse);
        assert_ne!(
            Manner::Warm.probe_line(Probe::Result, 1),
            Manner::Terse.probe_line(Probe::Result, 1)
        );
        assert_ne!(
            Manner::Warm.probe_line(Probe::Result, 1),
            Manner::Warm.probe_line(Probe::Result, 2)
        );
    }

    #[test]
    fn an_instruction_without_a_plan_keeps_the_old_script() {
        let plain = crate::timed_interviewer_instruction("p", JD, CV, Duration::from_secs(1800));
        let s = InterviewScript::from_instruction(&plain, 5);
        assert!(s.follow_up.is_none());
        assert!(
            s.lines[0].contains("walk me through your background"),
            "{}",
            s.lines[0]
        );
    }
}
