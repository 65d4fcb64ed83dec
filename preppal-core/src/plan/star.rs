//! The STAR check of a behavioural answer, measured from its text without a model.
//!
//! STAR is the shape interviewers look for in a behavioural answer: the **S**ituation (a
//! concrete time and place), the **T**ask (what had to be achieved, the candidate's part),
//! the **A**ction (what the candidate personally did) and the **R**esult (what came of it,
//! ideally measured). [`star_check`] looks for English cues of each part (the lists below,
//! matched as whole words or phrases, ignoring case):
//!
//! - situation: a time or place marker (`when`, `last year`, `at my previous job`, a year
//!   such as `2021`, `there was`, `we had`, `during`, `once`);
//! - task: a goal or responsibility (`my task`, `I was asked`, `I needed to`, `the goal`,
//!   `responsible for`, `we had to`, `the problem was`);
//! - action: `I` followed (within two words) by a past-tense verb: a word ending in `-ed`
//!   or an irregular past form (`built`, `wrote`, `led`, `ran`, ...);
//! - result: an outcome word (`result`, `outcome`, `so that`, `in the end`, `which meant`)
//!   or a change verb (`reduced`, `increased`, `fell`, `dropped`, `cut`, `saved`,
//!   `improved`, ...) or a measured change (a number with `%`, `ms`, `x`, `times`).
//!
//! It also counts first-person singular words (`I`, `me`, `my`, `mine`, `myself`) against
//! plural ones (`we`, `us`, `our`, `ours`, `ourselves`): an answer told only as "we" hides
//! the candidate's part. These are cues, not understanding: the check says what an answer
//! *seems* to lack, which is what an interviewer's follow-up then asks for.

use serde::{Deserialize, Serialize};

/// Which STAR parts an answer has, and how it balances "I" and "we".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StarCheck {
    /// A concrete situation is stated.
    pub situation: bool,
    /// A task or goal is stated.
    pub task: bool,
    /// The candidate's own action is stated ("I" with a past-tense verb).
    pub action: bool,
    /// A result or outcome is stated.
    pub result: bool,
    /// The answer contains a number (digits).
    pub numbers: bool,
    /// First-person singular words (`I`, `me`, `my`, `mine`, `myself`).
    pub i_count: u32,
    /// First-person plural words (`we`, `us`, `our`, `ours`, `ourselves`).
    pub we_count: u32,
    /// Words in the answer.
    pub words: usize,
}

impl StarCheck {
    /// Share of "I" among "I" and "we" words, percent (0–100, rounded down); `None` when
    /// the answer has neither.
    pub fn i_share_percent(&self) -> Option<u32> {
        let total = self.i_count + self.we_count;
        (total > 0).then(|| self.i_count * 100 / total)
    }

    /// The parts present, as letters in STAR order, `-` for a missing part (`"S-AR"`).
    pub fn letters(&self) -> String {
        [
            (self.situation, 'S'),
            (self.task, 'T'),
            (self.action, 'A'),
            (self.result, 'R'),
        ]
        .iter()
        .map(|(p, c)| if *p { *c } else { '-' })
        .collect()
    }

    /// The names of the missing parts, in STAR order (`["task", "result"]`).
    pub fn missing(&self) -> Vec<&'static str> {
        [
            (self.situation, "situation"),
            (self.task, "task"),
            (self.action, "action"),
            (self.result, "result"),
        ]
        .into_iter()
        .filter(|(p, _)| !p)
        .map(|(_, n)| n)
        .collect()
    }
}

#[rustfmt::skip]
const SITUATION: &[&str] = &[
    "when", "last year", "last month", "last quarter", "at my previous", "at my last",
    "in my previous", "in my last", "at my current", "in my current", "there was", "there were",
    "we had", "during", "once", "a few years ago", "years ago", "back in", "at the time",
    "the situation", "one day", "one time", "in my role", "while working",
];
#[rustfmt::skip]
const TASK: &[&str] = &[
    "my task", "the task", "i was asked", "i was tasked", "i needed to", "i had to",
    "we needed to", "we had to", "the goal", "my goal", "our goal", "responsible for",
    "my job was", "my role was", "the problem was", "the challenge was", "the aim",
    "i was in charge", "i owned", "needed to",
];
#[rustfmt::skip]
const RESULT: &[&str] = &[
    "result", "results", "resulted", "as a result", "outcome", "so that", "in the end",
    "which meant", "that meant", "ended up", "reduced", "increased", "decreased", "improved",
    "fell", "dropped", "rose", "grew", "cut", "cutting", "saved", "raising", "halved",
    "doubled", "shipped", "launched", "promoted", "fixed", "solved", "succeeded", "success",
    "eliminated", "shrank", "went from", "down from", "up from", "no longer",
];
#[rustfmt::skip]
const IRREGULAR_PAST: &[&str] = &[
    "built", "wrote", "led", "ran", "made", "took", "set", "chose", "brought", "drove", "spoke",
    "found", "got", "went", "began", "did", "put", "sent", "spent", "taught", "thought", "told",
    "kept", "left", "met", "paid", "read", "sat", "split", "stood", "won", "held", "gave",
    "rewrote", "overcame", "undertook", "rebuilt", "sought", "caught", "fought", "dug", "shut",
    "cut",
];
#[rustfmt::skip]
const NOT_ACTIONS: &[&str] = &[
    "need", "used", "supposed", "based", "interested", "excited",
];
#[rustfmt::skip]
const SINGULAR: &[&str] = &[
    "i", "me", "my", "mine", "myself", "i'm", "i've", "i'd", "i'll",
];
#[rustfmt::skip]
const PLURAL: &[&str] = &[
    "we", "us", "our", "ours", "ourselves", "we're", "we've", "we'd",
];

/// The lower-case words of `text`, apostrophes kept inside words (`i'm`).
fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace(['\u{2019}', '\u{2018}'], "'")
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '%' || c == '-'))
        .map(|w| w.trim_matches(['\'', '-']))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether the word sequence `phrase` (space-separated) occurs in `ws`.
fn has_phrase(ws: &[String], phrase: &str) -> bool {
    let p: Vec<&str> = phrase.split(' ').collect();
    ws.windows(p.len())
        .any(|w| w.iter().zip(&p).all(|(a, b)| a == b))
}

fn any_phrase(ws: &[String], list: &[&str]) -> bool {
    list.iter().any(|p| has_phrase(ws, p))
}

fn is_past_tense(w: &str) -> bool {
    (w.len() > 4 && w.ends_with("ed") && !NOT_ACTIONS.contains(&w)) || IRREGULAR_PAST.contains(&w)
}

fn is_year(w: &str) -> bool {
    w.len() == 4
        && w.chars().all(|c| c.is_ascii_digit())
        && (w.starts_with("19") || w.starts_with("20"))
}

/// A measured change: a number followed by (or ending in) a unit of change.
fn measured(ws: &[String]) -> bool {
    ws.iter().enumerate().any(|(i, w)| {
        let starts_digit = w.chars().next().is_some_and(|c| c.is_ascii_digit());
        if !starts_digit || is_year(w) {
            return false;
        }
        if w.ends_with('%') || w.ends_with("ms") || w.ends_with('x') {
            return true;
        }
        ws.get(i + 1).is_some_and(|n| {
            matches!(
                n.as_str(),
                "%" | "percent"
                    | "ms"
                    | "milliseconds"
                    | "seconds"
                    | "minutes"
                    | "hours"
                    | "days"
                    | "times"
                    | "x"
                    | "instances"
                    | "users"
                    | "customers"
                    | "members"
            )
        })
    })
}

/// The STAR check of one answer, by the rules in the [module docs](self).
pub fn star_check(answer: &str) -> StarCheck {
    let ws = words(answer);
    let action = ws
        .iter()
        .enumerate()
        .any(|(i, w)| w == "i" && ws[i + 1..].iter().take(2).any(|n| is_past_tense(n)));
    let count = |list: &[&str]| {
        u32::try_from(ws.iter().filter(|w| list.contains(&w.as_str())).count()).unwrap_or(u32::MAX)
    };
    StarCheck {
        situation: any_phrase(&ws, SITUATION) || ws.iter().any(|w| is_year(w)),
        task: any_phrase(&ws, TASK),
        action,
        result: any_phrase(&ws, RESULT) || measured(&ws),
        numbers: answer.chars().any(|c| c.is_ascii_digit()),
        i_count: count(SINGULAR),
        we_count: count(PLURAL),
        words: ws.len(),
    }
}
