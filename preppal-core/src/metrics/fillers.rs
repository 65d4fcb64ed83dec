//! Filler words: the documented list per language and the rules that find them.
//!
//! English list ([`ENGLISH_FILLER_WORDS`], [`ENGLISH_FILLER_PHRASES`]):
//!
//! - hesitation sounds, always counted: `um`, `umm`, `uh`, `uhh`, `uhm`, `er`, `erm`, `ah`,
//!   `hmm`, `mm`;
//! - the phrases `you know` and `I mean`, counted when set off: at the start of the answer,
//!   or with punctuation (`,` `;` `:` `.` `!` `?` `-` `—` `–` `…`) right before the first
//!   word or right after the last (`"It was, you know, hard"`, `"I mean, yes"`), and never
//!   when punctuation splits the two words;
//! - `like`, counted only in a filler position: set off by punctuation on both sides, a
//!   comma, dash or ellipsis (`,` `-` `—` `–` `…`, or `.` before it) (`"it was, like,
//!   fast"`, `"... like, fast"`), or right next to another filler
//!   (`"um like"`, `"like, you know,"`). `"I like Rust"`, `"things like Kafka"` and
//!   `"looks like it"` do not count.
//!
//! Words are matched without regard to case; apostrophes belong to words, and other
//! punctuation separates them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A language whose filler words are known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FillerLanguage {
    /// English (see the [module docs](self) for the list and rules).
    #[default]
    English,
}

impl FillerLanguage {
    /// The BCP 47 tag: `"en"`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::English => "en",
        }
    }
}

/// English hesitation sounds, always counted as fillers.
pub const ENGLISH_FILLER_WORDS: &[&str] = &[
    "um", "umm", "uh", "uhh", "uhm", "er", "erm", "ah", "hmm", "mm",
];

/// English two-word filler phrases, counted when set off (see the [module docs](self)).
pub const ENGLISH_FILLER_PHRASES: &[[&str; 2]] = &[["you", "know"], ["i", "mean"]];

/// One word of an answer with the punctuation around it.
#[derive(Debug, Clone)]
struct Token {
    word: String,
    /// Any punctuation (or the start of the text) right before the word.
    boundary_before: bool,
    /// Soft punctuation (comma, dash, ellipsis, or a dot) right before the word.
    soft_before: bool,
    /// Any punctuation (or the end of the text) right after the word.
    boundary_after: bool,
    /// Soft punctuation right after the word.
    soft_after: bool,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '\'' || c == '\u{2019}'
}

fn is_soft(c: char) -> bool {
    matches!(c, ',' | '-' | '\u{2014}' | '\u{2013}' | '\u{2026}')
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens: Vec<Token> = Vec::new();
    let mut word = String::new();
    // Punctuation seen since the last word: (any, soft). Start of text counts as `any`.
    let mut pending = (true, false);
    let flush = |word: &mut String, pending: &mut (bool, bool), tokens: &mut Vec<Token>| {
        if !word.is_empty() {
            tokens.push(Token {
                word: std::mem::take(word).to_lowercase().replace('\u{2019}', "'"),
                boundary_before: pending.0,
                soft_before: pending.1,
                boundary_after: false,
                soft_after: false,
            });
            *pending = (false, false);
        }
    };
    for c in text.chars() {
        if is_word_char(c) {
            word.push(c);
            continue;
        }
        flush(&mut word, &mut pending, &mut tokens);
        if !c.is_whitespace() {
            pending.0 = true;
            pending.1 |= is_soft(c) || c == '.';
            if let Some(last) = tokens.last_mut() {
                last.boundary_after = true;
                last.soft_after |= is_soft(c);
            }
        }
    }
    flush(&mut word, &mut pending, &mut tokens);
    if let Some(last) = tokens.last_mut() {
        last.boundary_after = true;
    }
    tokens
}

/// Filler words found in one text: the total and a count per filler (lower case, phrases
/// with one space).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FillerCount {
    /// How many fillers in all.
    pub total: u32,
    /// How many of each.
    pub by_filler: BTreeMap<String, u32>,
}

impl FillerCount {
    fn add(&mut self, filler: &str) {
        self.total += 1;
        *self.by_filler.entry(filler.to_owned()).or_default() += 1;
    }

    /// Adds the counts of `other` to these.
    pub fn merge(&mut self, other: &Self) {
        self.total += other.total;
        for (k, v) in &other.by_filler {
            *self.by_filler.entry(k.clone()).or_default() += v;
        }
    }
}

/// Counts the filler words of `text` in `language`, by the rules in the [module docs](self).
pub fn count_fillers(text: &str, language: FillerLanguage) -> FillerCount {
    match language {
        FillerLanguage::English => count_english(text),
    }
}

fn count_english(text: &str) -> FillerCount {
    let tokens = tokenize(text);
    let n = tokens.len();
    // Which tokens are fillers other than `like`, and by what name.
    let mut filler_at: Vec<Option<String>> = vec![None; n];
    let mut i = 0;
    while i < n {
        let t = &tokens[i];
        if ENGLISH_FILLER_WORDS.contains(&t.word.as_str()) {
            filler_at[i] = Some(t.word.clone());
            i += 1;
            continue;
        }
        if i + 1 < n {
            let u = &tokens[i + 1];
            let phrase = ENGLISH_FILLER_PHRASES
                .iter()
                .find(|p| p[0] == t.word && p[1] == u.word);
            if let Some(p) = phrase {
                if !t.boundary_after && (t.boundary_before || u.boundary_after) {
                    let name = format!("{} {}", p[0], p[1]);
                    filler_at[i] = Some(name.clone());
                    filler_at[i + 1] = Some(name);
                    i += 2;
                    continue;
                }
            }
        }
        i += 1;
    }
    let mut count = FillerCount::default();
    let mut i = 0;
    while i < n {
        if let Some(name) = &filler_at[i] {
            count.add(name);
            // A phrase covers two tokens.
            i += if name.contains(' ') { 2 } else { 1 };
            continue;
        }
        if tokens[i].word == "like" {
            let t = &tokens[i];
            let set_off = t.soft_before && t.soft_after;
            let next_to_filler =
                (i > 0 && filler_at[i - 1].is_some()) || (i + 1 < n && filler_at[i + 1].is_some());
            if set_off || next_to_filler {
                count.add("like");
            }
        }
        i += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(text: &str) -> u32 {
        count_fillers(text, FillerLanguage::English).total
    }

    #[test]
    fn hesitation_sounds_always_count() {
        assert_eq!(total("Um, I think uh we shipped it. Hmm."), 3);
        assert_eq!(total("UMM erm"), 2);
        assert_eq!(total("umbrella uhura"), 0);
    }

    #[test]
    fn like_counts_only_in_filler_positions() {
        assert_eq!(total("I like Rust and I would like to use it."), 0);
        assert_eq!(total("Things like Kafka look like queues."), 0);
        assert_eq!(total("It was, like, really fast."), 1);
        assert_eq!(total("It was um like really fast."), 2);
        assert_eq!(total("We had, like, you know, problems."), 2);
    }

    #[test]
    fn phrases_count_when_set_off() {
        assert_eq!(total("You know, it was hard."), 1);
        assert_eq!(total("It was, you know, hard."), 1);
        assert_eq!(total("Do you know Kafka?"), 0);
        assert_eq!(total("I mean, the queue was full."), 1);
        assert_eq!(total("What I mean is simple."), 0);
        // Punctuation between the two words breaks the phrase.
        assert_eq!(total("Thank you. Know this."), 0);
    }

    #[test]
    fn counts_by_filler() {
        let c = count_fillers("Um, um, you know, uh.", FillerLanguage::English);
        assert_eq!(c.total, 4);
        assert_eq!(c.by_filler.get("um"), Some(&2));
        assert_eq!(c.by_filler.get("you know"), Some(&1));
        assert_eq!(c.by_filler.get("uh"), Some(&1));
    }
}
