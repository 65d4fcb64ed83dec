//! Key terms of a job description and whether an answer mentions them.
//!
//! [`extract_terms`] picks the named things of a job description: technologies, products,
//! standards and proper names. Per line (a bullet marker `-` `*` `•` is skipped):
//!
//! 1. words are split at whitespace and stripped of surrounding punctuation, keeping what
//!    sits inside a word (`HTTP/2`, `C++`, `C#`, `Node.js`);
//! 2. a word is *technical* when it has an upper-case letter after its first character
//!    (`PostgreSQL`, `MQTT`), or mixes letters with digits or with `+ # / .` (`HTTP/2`, `C++`);
//! 3. consecutive capitalised words with no punctuation between them form one term
//!    (`Protocol Buffers`), split at common function words (`The`, `And`, `We`, ...);
//! 4. a single capitalised word that opens a sentence (`Design, build ...`) is dropped
//!    unless it is technical; phrases of two words or more are kept wherever they are;
//! 5. a few generic words (`Remote`, `EU`, ...) are dropped; terms are kept once (ignoring
//!    case) in order of first appearance, at most [`MAX_TERMS`].
//!
//! Lower-case vocabulary (`backpressure`, `idempotent`) is not extracted: it cannot be told
//! apart from ordinary words without a model.
//!
//! [`mentions`] matches a term in a text as a whole-word sequence, ignoring case and
//! punctuation (`"HTTP/2"` matches `"http 2"`), except that terms of at most two characters
//! (`Go`) must match in case, so the verb "go" is not taken for the language.

/// The most terms [`extract_terms`] returns.
pub const MAX_TERMS: usize = 30;

/// Capitalised function words that never start or join a term.
const FUNCTION_WORDS: &[&str] = &[
    "a", "an", "and", "or", "the", "of", "in", "on", "at", "to", "for", "with", "by", "from", "as",
    "is", "are", "be", "we", "you", "our", "your", "i", "it", "this", "that", "these", "those",
    "what", "how", "why", "who", "when", "where", "if", "but", "not", "no", "yes",
];

/// Generic capitalised words that are not key terms of a job.
const GENERIC_WORDS: &[&str] = &[
    "remote", "hybrid", "onsite", "eu", "us", "uk", "ok", "etc", "e.g", "i.e", "inc", "ltd",
];

#[derive(Debug)]
struct Word {
    text: String,
    sentence_start: bool,
    /// Punctuation separates this word from the one before.
    split_before: bool,
}

fn is_capitalised(w: &str) -> bool {
    w.chars().next().is_some_and(char::is_uppercase)
}

fn is_technical(w: &str) -> bool {
    let has_letter = w.chars().any(char::is_alphabetic);
    let inner_upper = w.chars().skip(1).any(char::is_uppercase);
    let has_digit = w.chars().any(|c| c.is_ascii_digit());
    let has_symbol = w.chars().any(|c| matches!(c, '+' | '#' | '/' | '.'));
    has_letter && (inner_upper || has_digit || has_symbol)
}

fn words_of_line(line: &str) -> Vec<Word> {
    let line = line.trim_start();
    let line = line
        .strip_prefix(['-', '*', '\u{2022}'])
        .unwrap_or(line)
        .trim_start();
    let mut out = Vec::new();
    let mut sentence_start = true;
    let mut split_before = true;
    for raw in line.split_whitespace() {
        let lead_end = raw
            .char_indices()
            .find(|(_, c)| c.is_alphanumeric())
            .map_or(raw.len(), |(i, _)| i);
        let core_and_tail = &raw[lead_end..];
        let core = core_and_tail
            .trim_end_matches(|c: char| !(c.is_alphanumeric() || c == '+' || c == '#'));
        let tail = &core_and_tail[core.len()..];
        if core.is_empty() {
            split_before = true;
            if raw.contains(['.', '!', '?']) {
                sentence_start = true;
            }
            continue;
        }
        out.push(Word {
            text: core.to_owned(),
            sentence_start,
            split_before: split_before || lead_end > 0,
        });
        sentence_start = tail.contains(['.', '!', '?']);
        split_before = !tail.is_empty();
    }
    out
}

fn lower_in(w: &str, list: &[&str]) -> bool {
    list.contains(&w.to_lowercase().as_str())
}

/// The key terms of `job_description`, by the rules in the [module docs](self).
pub fn extract_terms(job_description: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    let mut push = |phrase: &[&Word]| {
        if phrase.is_empty() {
            return;
        }
        let text = phrase
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        if phrase.len() == 1 {
            let w = phrase[0];
            if w.sentence_start && !is_technical(&w.text) {
                return;
            }
            if lower_in(&w.text, GENERIC_WORDS) {
                return;
            }
        }
        if !terms.iter().any(|t| t.eq_ignore_ascii_case(&text)) && terms.len() < MAX_TERMS {
            terms.push(text);
        }
    };
    for line in job_description.lines() {
        let words = words_of_line(line);
        let mut phrase: Vec<&Word> = Vec::new();
        for w in &words {
            let candidate = (is_capitalised(&w.text) || is_technical(&w.text))
                && !lower_in(&w.text, FUNCTION_WORDS)
                && w.text.chars().any(char::is_alphabetic);
            if !candidate || w.split_before {
                push(&phrase);
                phrase.clear();
            }
            if candidate {
                phrase.push(w);
            }
        }
        push(&phrase);
    }
    terms
}

/// The key terms of `job_description` without those of its heading: the job title and the
/// company line, the first two non-empty lines (as [`crate::feedback::job_heading`] reads
/// them) when each looks like a heading (under 80 characters, not ending a sentence) and
/// more lines follow. The heading names the job; a candidate is not expected to say it, so
/// it is not a term their answers should mention. Terms of the heading that the body names
/// again are kept.
pub fn job_terms(job_description: &str) -> Vec<String> {
    let mut heading = 0;
    let mut body_start = 0;
    for (offset, line) in line_offsets(job_description) {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let ends_sentence = trimmed.ends_with(['.', '!', '?', ':']);
        let more_follows = !job_description[offset + line.len()..].trim().is_empty();
        if trimmed.chars().count() >= 80 || ends_sentence || !more_follows {
            break;
        }
        heading += 1;
        body_start = offset + line.len();
        if heading == 2 {
            break;
        }
    }
    extract_terms(&job_description[body_start..])
}

/// Each line of `text` with the byte offset it starts at (line endings excluded).
fn line_offsets(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0, |offset, raw| {
        let start = *offset;
        *offset += raw.len();
        Some((start, raw.trim_end_matches(['\n', '\r'])))
    })
}

/// `text` with every character that is not a letter, a digit, `+` or `#` turned into a
/// space, whitespace collapsed, and one space at each end.
fn normalise(text: &str, lowercase: bool) -> String {
    let mut out = String::from(" ");
    for c in text.chars() {
        if c.is_alphanumeric() || c == '+' || c == '#' {
            if lowercase {
                out.extend(c.to_lowercase());
            } else {
                out.push(c);
            }
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

/// Whether `text` mentions `term`, by the rules in the [module docs](self).
pub fn mentions(text: &str, term: &str) -> bool {
    let case_sensitive = term.chars().count() <= 2;
    let needle = normalise(term, !case_sensitive);
    if needle.trim().is_empty() {
        return false;
    }
    normalise(text, !case_sensitive).contains(&needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JD: &str = "Senior Backend Engineer, Realtime Platform\n\
        Northwind Logistics (fictional company), Remote within EU time zones\n\
        \n\
        What you will do\n\
        - Design, build and operate low-latency services in Rust and Go that ingest telemetry over MQTT and fan it out over WebSockets.\n\
        - Improve our PostgreSQL and Redis data models for hot paths.\n\
        - Partner with engineers on API contracts (Protocol Buffers and JSON).\n\
        - Deep understanding of networking (TCP, HTTP/2, WebSockets).\n\
        - Nice to have: Kafka or NATS, C++ and Node.js.";

    #[test]
    fn extracts_named_technologies_and_phrases() {
        assert_eq!(
            extract_terms(JD),
            [
                "Senior Backend Engineer",
                "Realtime Platform",
                "Northwind Logistics",
                "Rust",
                "Go",
                "MQTT",
                "WebSockets",
                "PostgreSQL",
                "Redis",
                "API",
                "Protocol Buffers",
                "JSON",
                "TCP",
                "HTTP/2",
                "Kafka",
                "NATS",
                "C++",
                "Node.js",
            ]
        );
    }

    #[test]
    fn job_terms_leave_out_the_heading_unless_the_body_names_it() {
        let terms = job_terms(JD);
        assert_eq!(terms[..4], ["Rust", "Go", "MQTT", "WebSockets"]);
        assert!(!terms
            .iter()
            .any(|t| t.contains("Northwind") || t.contains("Senior")));
        let named_again = "Rust Engineer\nAcme\n\nWe write Rust and meet the Acme team.";
        assert_eq!(job_terms(named_again), ["Rust", "Acme"]);
        // A long second line is prose, not a company line: its terms count.
        let prose = format!("Engineer\n{} on Kafka.", "We run many services ".repeat(4));
        assert_eq!(job_terms(&prose), ["Kafka"]);
        // A description of one sentence has no heading.
        assert_eq!(job_terms("We run Kafka and Redis."), ["Kafka", "Redis"]);
        assert_eq!(job_terms("We use Rust and Kafka"), ["Rust", "Kafka"]);
        assert!(job_terms("").is_empty());
    }

    #[test]
    fn mentions_ignore_case_and_punctuation_but_not_for_short_terms() {
        assert!(mentions("we used postgresql, mostly", "PostgreSQL"));
        assert!(mentions("over http/2.", "HTTP/2"));
        assert!(mentions("I wrote it in Go.", "Go"));
        assert!(!mentions("let's go", "Go"));
        assert!(!mentions("rusty tools", "Rust"));
        assert!(mentions("some c++ code", "C++"));
        assert!(mentions("protocol   buffers", "Protocol Buffers"));
    }
}
