//! The simulated interviewer's lines, drawn deterministically from the job description and
//! resume found in the setup's system instruction.

use crate::config::{
    stated_length_minutes, JOB_DESCRIPTION_BEGIN, JOB_DESCRIPTION_END, RESUME_BEGIN, RESUME_END,
};

/// Fewest questions the simulated interviewer asks.
pub const MIN_QUESTIONS: usize = 4;
/// Most questions the simulated interviewer asks in an interview of unstated length.
pub const MAX_QUESTIONS: usize = 6;
/// Questions planned per minute of an interview whose length the instruction states
/// ([`crate::timed_interviewer_instruction`]): 3, one per 20 s, more than a spoken exchange
/// fits in, so the interviewer runs out of time (and is told to wrap up) before it runs out
/// of questions.
pub const QUESTIONS_PER_MINUTE: usize = 3;
/// Most questions of any script: 360 (two hours at [`QUESTIONS_PER_MINUTE`]).
pub const MAX_TIMED_QUESTIONS: usize = 360;

/// What the simulated interviewer says in one interview: `lines[0]` is the greeting with
/// the first question, `lines[1..]` the following questions (one per candidate turn), and
/// `closing` the last line after the final answer. The same system instruction and
/// question count always give the same script.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InterviewScript {
    /// The greeting plus first question, then one line per further question.
    pub lines: Vec<String>,
    /// The closing line, spoken after the last answer (or when asked to wrap up).
    pub closing: String,
    /// When the instruction carries an interview plan: its follow-up policy and the
    /// persona's manner, for follow-ups on typed answers ([`super::PlannedFollowUp`]).
    pub follow_up: Option<super::planned::PlannedFollowUp>,
}

/// The text between the `begin` and `end` marker lines, trimmed; `None` when absent.
fn block<'a>(text: &'a str, begin: &str, end: &str) -> Option<&'a str> {
    let start = text.find(begin)? + begin.len();
    let len = text[start..].find(end)?;
    Some(text[start..start + len].trim())
}

fn non_empty_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

fn bullets(text: &str) -> Vec<&str> {
    non_empty_lines(text)
        .filter_map(|l| {
            l.strip_prefix("- ")
                .or_else(|| l.strip_prefix("* "))
                .or_else(|| l.strip_prefix("• "))
        })
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Removes a trailing parenthesised remark: `"Northwind Logistics (fictional company)"` →
/// `"Northwind Logistics"`.
fn strip_paren(s: &str) -> &str {
    s.split(" (").next().unwrap_or(s).trim()
}

/// A bullet as a clause to embed mid-sentence: up to the first `;` or `:`, without the
/// final period, first letter lowercased unless the word is an acronym.
fn clause(bullet: &str) -> String {
    let cut = bullet.split([';', ':']).next().unwrap_or(bullet).trim();
    let cut = cut.trim_end_matches('.').trim();
    let mut chars = cut.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => {
            let mut out: String = first.to_lowercase().collect();
            out.push_str(&cut[first.len_utf8()..]);
            out
        }
        _ => cut.to_owned(),
    }
}

/// Whether `word` occurs in `text` as a whole word, ignoring case.
fn has_word(text: &str, word: &str) -> bool {
    let text = text.to_lowercase();
    let word = word.to_lowercase();
    if word.is_empty() {
        return false;
    }
    let is_word_char = |c: char| c.is_alphanumeric() || c == '+' || c == '#';
    text.match_indices(&word).any(|(i, m)| {
        let before = text[..i].chars().next_back();
        let after = text[i + m.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

#[derive(Debug, Default)]
struct Facts {
    title: Option<String>,
    company: Option<String>,
    first_name: Option<String>,
    employer: Option<String>,
    resume_bullet: Option<String>,
    resume_bullets: Vec<String>,
    jd_bullets: Vec<String>,
    shared_skills: Vec<String>,
}

fn facts(instruction: &str) -> Facts {
    let mut f = Facts::default();
    let jd = block(instruction, JOB_DESCRIPTION_BEGIN, JOB_DESCRIPTION_END).unwrap_or("");
    let resume = block(instruction, RESUME_BEGIN, RESUME_END).unwrap_or("");

    let mut jd_lines = non_empty_lines(jd);
    if let Some(title) = jd_lines.next() {
        // "Senior Backend Engineer, Realtime Platform" → "Senior Backend Engineer".
        let title = strip_paren(title.split(',').next().unwrap_or(title));
        f.title = Some(title.trim_end_matches('.').to_owned());
    }
    if let Some(second) = jd_lines.next() {
        let company = strip_paren(second.split(',').next().unwrap_or(second));
        if !company.is_empty()
            && company.split_whitespace().count() <= 5
            && !second.starts_with("- ")
        {
            f.company = Some(company.to_owned());
        }
    }
    f.jd_bullets = bullets(jd)
        .into_iter()
        .map(clause)
        .filter(|c| c.len() > 8)
        .collect();

    let mut resume_lines = non_empty_lines(resume);
    if let Some(name_line) = resume_lines.next() {
        let name = strip_paren(name_line);
        if let Some(first) = name.split_whitespace().next() {
            if name.split_whitespace().count() <= 4
                && first.chars().next().is_some_and(char::is_uppercase)
            {
                f.first_name = Some(first.trim_end_matches(',').to_owned());
            }
        }
    }
    // The first bullet of the resume, and the employer on the line just above its list
    // ("Staff Engineer, Parcelwise (2022 - present)").
    let all: Vec<&str> = non_empty_lines(resume).collect();
    if let Some(i) = all
        .iter()
        .position(|l| l.starts_with("- ") || l.starts_with("* "))
    {
        f.resume_bullet = Some(clause(all[i][2..].trim()));
        f.resume_bullets = bullets(resume)
            .into_iter()
            .map(clause)
            .filter(|c| c.len() > 8)
            .collect();
        if i > 0 {
            let header = strip_paren(all[i - 1]);
            if let Some((_, employer)) = header.rsplit_once(", ") {
                let employer = employer.trim();
                if !employer.is_empty() && employer.split_whitespace().count() <= 4 {
                    f.employer = Some(employer.to_owned());
                }
            }
        }
    }
    // Skills: the line after a "Skills" heading, split on commas and semicolons; keep the
    // ones the job description also names, in resume order.
    if let Some(i) = all
        .iter()
        .position(|l| l.trim_end_matches(':').eq_ignore_ascii_case("skills"))
    {
        if let Some(line) = all.get(i + 1) {
            f.shared_skills = line
                .split([',', ';'])
                .map(str::trim)
                .filter(|s| !s.is_empty() && has_word(jd, s))
                .map(str::to_owned)
                .collect();
        }
    }
    f
}

impl InterviewScript {
    /// The script for a system instruction built by [`crate::interviewer_instruction`] (or
    /// any text with the same data markers), asking `questions` questions, clamped to
    /// [`MIN_QUESTIONS`]..=[`MAX_QUESTIONS`]. Missing data gives general questions instead.
    ///
    /// When the instruction states the interview's length
    /// ([`crate::timed_interviewer_instruction`]), the script plans
    /// [`QUESTIONS_PER_MINUTE`] questions per minute instead (at least the clamped
    /// `questions`, at most [`MAX_TIMED_QUESTIONS`]): after the six opening questions come
    /// questions on the job description's other requirements, on every resume bullet, on
    /// the shared skills, general behavioural questions, and then follow-ups on those topics,
    /// each line said once. The interview then ends when the interviewer is asked to wrap up.
    pub fn from_instruction(instruction: &str, questions: usize) -> Self {
        Self::plan(instruction, questions, true)
    }

    /// The script for `instruction` asking exactly `questions` questions, clamped to
    /// [`MIN_QUESTIONS`]..=[`MAX_QUESTIONS`], whatever length the instruction states: what a
    /// simulator set up with [`crate::simulator::SimulatorConfig::with_questions`] asks.
    pub fn with_question_count(instruction: &str, questions: usize) -> Self {
        Self::plan(instruction, questions, false)
    }

    fn plan(instruction: &str, questions: usize, by_length: bool) -> Self {
        let f = facts(instruction);
        let stated = if by_length {
            stated_length_minutes(instruction)
        } else {
            None
        };
        let n = match stated {
            Some(minutes) => usize::try_from(minutes)
                .unwrap_or(usize::MAX)
                .saturating_mul(QUESTIONS_PER_MINUTE)
                .clamp(
                    questions.clamp(MIN_QUESTIONS, MAX_QUESTIONS),
                    MAX_TIMED_QUESTIONS,
                ),
            None => questions.clamp(MIN_QUESTIONS, MAX_QUESTIONS),
        };
        let role = match (&f.title, &f.company) {
            (Some(t), Some(c)) => format!("the {t} role at {c}"),
            (Some(t), None) => format!("the {t} role"),
            _ => "this role".to_owned(),
        };
        let hello = match &f.first_name {
            Some(name) => format!("Hello {name}, thanks for joining me today."),
            None => "Hello, thanks for joining me today.".to_owned(),
        };
        let mut questions: Vec<String> = Vec::with_capacity(MAX_QUESTIONS);
        questions.push(format!(
            "{hello} I'll be interviewing you for {role}. To start, could you walk me through your \
             background and what draws you to this position?"
        ));
        questions.push(match (&f.resume_bullet, &f.employer) {
            (Some(b), Some(e)) => format!(
                "Your resume says that at {e} you {b}. How did you approach that, and what was the result?"
            ),
            (Some(b), None) => format!(
                "Your resume mentions that you {b}. How did you approach that, and what was the result?"
            ),
            _ => "Tell me about the project you are proudest of. What was your part in it?".to_owned(),
        });
        questions.push(match f.jd_bullets.first() {
            Some(b) => format!(
                "A big part of this role is to {b}. What experience do you have that comes closest to that?"
            ),
            None => "What part of this role do you expect to find hardest, and why?".to_owned(),
        });
        questions.push(match f.shared_skills.as_slice() {
            [a, b, ..] => format!(
                "You list {a} and {b} among your skills, and the team uses both. Tell me about a hard problem you solved with {a}."
            ),
            [a] => format!("You list {a} among your skills. Tell me about a hard problem you solved with it."),
            [] => "Which technical skill are you strongest in, and how did you build it?".to_owned(),
        });
        questions.push(match f.jd_bullets.get(1) {
            Some(b) => {
                format!("The role also asks you to {b}. How have you handled something similar?")
            }
            None => {
                "Tell me about a time something you built failed in production. What did you do?"
                    .to_owned()
            }
        });
        questions.push(
            "Tell me about a time you disagreed with a colleague about a technical decision. How did you resolve it?"
                .to_owned(),
        );
        if n > questions.len() {
            questions.extend(further_questions(&f).take(n - questions.len()));
        }
        questions.truncate(n);
        let acknowledgements = [
            "Thank you.",
            "Great, thanks.",
            "I see, thank you.",
            "Thanks for that.",
        ];
        let mut lines: Vec<String> = questions
            .into_iter()
            .enumerate()
            .map(|(i, q)| {
                if i == 0 {
                    q
                } else {
                    format!("{} {q}", acknowledgements[(i - 1) % acknowledgements.len()])
                }
            })
            .collect();
        let mut closing = match &f.first_name {
            Some(name) => format!(
                "Thank you, that was my last question. It was a pleasure talking with you, {name}. Good luck with the rest of the process!"
            ),
            None => "Thank you, that was my last question. It was a pleasure talking with you. Good luck with the rest of the process!".to_owned(),
        };
        let follow_up = super::planned::follow_plan(instruction, &mut lines, &mut closing);
        Self {
            lines,
            closing,
            follow_up,
        }
    }

    /// How many questions the script asks (`lines.len()`).
    pub fn question_count(&self) -> usize {
        self.lines.len()
    }
}

/// Questions after the six opening ones, for a long interview: the job description's
/// further bullets, the resume's further bullets, the shared skills, general behavioural
/// questions, then follow-ups on the same topics. No two are the same.
fn further_questions(f: &Facts) -> impl Iterator<Item = String> + '_ {
    let jd = f
        .jd_bullets
        .iter()
        .skip(2)
        .filter(|b| b.split_whitespace().count() >= 3)
        .map(|b| format!("The posting also lists this: {b}. How does your experience match it?"));
    let resume = f.resume_bullets.iter().skip(1).map(|b| {
        format!("Your resume also says you {b}. What was the hardest part of that, and what did you learn?")
    });
    let skills = f.shared_skills.iter().skip(1).map(|s| {
        format!("How have you used {s} in production, and what would you do differently today?")
    });
    let general = [
        "Tell me about a time you had to learn something new quickly. How did you go about it?",
        "Describe a decision you made with incomplete information. How did it turn out?",
        "Tell me about a time you received critical feedback. What did you change?",
        "How do you decide what to test, and what not to test?",
        "Tell me about a time you had to explain a technical trade-off to someone outside engineering.",
        "What is a mistake you made that taught you something important?",
        "How do you keep a system observable once it is in production?",
        "Tell me about a time you helped a colleague grow.",
        "How do you handle a deadline that you believe cannot be met?",
        "What would you want to achieve in your first three months in this role?",
    ]
    .into_iter()
    .map(str::to_owned);
    let topics: Vec<&String> = f
        .jd_bullets
        .iter()
        .chain(&f.resume_bullets)
        .chain(&f.shared_skills)
        .collect();
    let follow_ups = [
        "Let's go deeper on one topic: when you {t}, which trade-offs did you weigh?",
        "One more on that area: when you {t}, how did you measure whether it worked?",
    ]
    .into_iter()
    .flat_map(move |template| {
        topics
            .clone()
            .into_iter()
            .map(move |t| template.replace("{t}", t))
    });
    jd.chain(resume)
        .chain(skills)
        .chain(general)
        .chain(follow_ups)
}

/// Splits `line` into transcription fragments of varying length (3 to 11 bytes, cut at
/// char boundaries), so that some fragments break inside words as the real service's do
/// (§4.1). Concatenating the fragments gives back `line` exactly.
pub fn transcription_fragments(line: &str) -> Vec<String> {
    const LENGTHS: [usize; 6] = [7, 3, 11, 5, 9, 4];
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while start < line.len() {
        let mut end = (start + LENGTHS[i % LENGTHS.len()]).min(line.len());
        while !line.is_char_boundary(end) {
            end += 1;
        }
        out.push(line[start..end].to_owned());
        start = end;
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interviewer_instruction;

    const JD: &str = "Senior Backend Engineer, Realtime Platform\nNorthwind Logistics (fictional company), Remote\n\nWhat you will do\n- Design, build and operate low-latency services in Rust and Go.\n- Own the reliability of the event pipeline: backpressure, retries.\n\nWe use Rust, PostgreSQL and Kubernetes.";
    const CV: &str = "Jordan Avery (fictional candidate)\nBackend engineer\n\nExperience\nStaff Engineer, Parcelwise (2022 - present)\n- Rewrote the fan-out service from Node.js to Rust (tokio, axum); p99 fell.\n\nSkills\nRust, Go, SQL; PostgreSQL, Redis, Kubernetes";

    #[test]
    fn questions_come_from_the_data() {
        let s = InterviewScript::from_instruction(&interviewer_instruction("p", JD, CV), 6);
        assert_eq!(s.question_count(), 6);
        assert!(s.lines[0].starts_with("Hello Jordan,"), "{}", s.lines[0]);
        assert!(
            s.lines[0].contains("Senior Backend Engineer role at Northwind Logistics"),
            "{}",
            s.lines[0]
        );
        assert!(
            s.lines[1].contains(
                "at Parcelwise you rewrote the fan-out service from Node.js to Rust (tokio, axum)."
            ),
            "{}",
            s.lines[1]
        );
        assert!(
            s.lines[2]
                .contains("to design, build and operate low-latency services in Rust and Go."),
            "{}",
            s.lines[2]
        );
        assert!(
            s.lines[3].contains("You list Rust and Go"),
            "{}",
            s.lines[3]
        );
        assert!(
            s.lines[4].contains("own the reliability of the event pipeline."),
            "{}",
            s.lines[4]
        );
        assert!(s
            .closing
            .starts_with("Thank you, that was my last question"));
        assert_eq!(
            s,
            InterviewScript::from_instruction(&interviewer_instruction("p", JD, CV), 6)
        );
    }

    #[test]
    fn count_is_clamped_and_missing_data_is_general() {
        assert_eq!(
            InterviewScript::from_instruction("", 1).question_count(),
            MIN_QUESTIONS
        );
        assert_eq!(
            InterviewScript::from_instruction("", 99).question_count(),
            MAX_QUESTIONS
        );
        let s = InterviewScript::from_instruction("no markers here", 5);
        assert!(s.lines[0].starts_with("Hello, thanks"));
        assert!(s.lines.iter().all(|l| !l.contains("{")));
    }

    #[test]
    fn a_timed_interview_plans_questions_for_its_length_without_repeats() {
        use std::time::Duration;
        let timed = |minutes: u64| {
            crate::timed_interviewer_instruction("p", JD, CV, Duration::from_secs(minutes * 60))
        };
        let five = InterviewScript::from_instruction(&timed(5), 5);
        assert_eq!(five.question_count(), 5 * QUESTIONS_PER_MINUTE);
        let unique: std::collections::HashSet<&String> = five.lines.iter().collect();
        assert_eq!(unique.len(), five.lines.len(), "{:#?}", five.lines);
        // The opening questions are those of an untimed script.
        let untimed = InterviewScript::from_instruction(&interviewer_instruction("p", JD, CV), 6);
        assert_eq!(five.lines[..6], untimed.lines[..]);
        assert!(
            five.lines[6..]
                .iter()
                .any(|l| l.contains("How have you used Go in production")),
            "{:#?}",
            five.lines
        );
        // A one-minute interview still asks the minimum; a long one is capped by its topics.
        assert_eq!(
            InterviewScript::from_instruction(&timed(1), 5).question_count(),
            5
        );
        let hour = InterviewScript::from_instruction(&timed(60), 5);
        assert!(hour.question_count() > 30, "{}", hour.question_count());
        assert!(hour.question_count() <= 60 * QUESTIONS_PER_MINUTE);
        let unique: std::collections::HashSet<&String> = hour.lines.iter().collect();
        assert_eq!(unique.len(), hour.lines.len());
    }

    #[test]
    fn fragments_rejoin_exactly() {
        let line = "Hello Zoë, thanks — let's begin.";
        let f = transcription_fragments(line);
        assert!(f.len() > 3);
        assert_eq!(f.concat(), line);
        assert!(f
            .iter()
            .any(|p| p.starts_with(|c: char| c.is_alphabetic()) && !p.starts_with(' ')));
        assert!(transcription_fragments("").is_empty());
    }
}
