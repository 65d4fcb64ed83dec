//! The competencies a plan can hold, with their cue words, and the selection of the ones a
//! job description and resume call for (see the [plan docs](super)).

use super::{Competency, CompetencySource, Difficulty, RoundType};
use crate::metrics::terms::extract_terms;

/// One competency of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CatalogueEntry {
    /// Stable id (`"reliability"`).
    pub id: &'static str,
    /// The competency's name.
    pub name: &'static str,
    /// The round type it belongs to (never [`RoundType::Mixed`]).
    pub kind: RoundType,
    /// Cue words, lower case: a cue matches a word that starts with it (`"reliab"` matches
    /// "reliability"); a cue that starts with `=` must be the whole word (`"=go"`).
    pub cues: &'static [&'static str],
}

const fn entry(
    id: &'static str,
    name: &'static str,
    kind: RoundType,
    cues: &'static [&'static str],
) -> CatalogueEntry {
    CatalogueEntry {
        id,
        name,
        kind,
        cues,
    }
}

use RoundType::{Behavioral as B, SystemDesign as D, Technical as T};

#[rustfmt::skip]
const CATALOGUE: &[CatalogueEntry] = &[
    entry("ownership", "Ownership and impact", B, &[
        "own", "track record", "measurabl", "launched", "shipped", "delivered", "impact",
        "rewrote", "introduced", "led the",
    ]),
    entry("communication", "Communication and trade-offs", B, &[
        "explain", "communicat", "written", "verbal", "executive", "say no", "problem statement",
        "requirements", "post-incident", "template",
    ]),
    entry("collaboration", "Collaboration across teams", B, &[
        "partner", "work with", "worked with", "collaborat", "design lead", "stakeholder",
        "cross-functional", "legal", "compliance partner",
    ]),
    entry("leadership", "Leadership and mentoring", B, &[
        "mentor", "=lead", "=leads", "promoted", "coach", "hiring", "on-call lead", "ritual",
    ]),
    entry("customer_focus", "Customer focus", B, &[
        "customer", "member", "=users", "talk to", "support call", "partners",
    ]),
    entry("prioritisation", "Prioritisation and product judgement", B, &[
        "roadmap", "prioriti", "balancing", "success metric", "strategy", "end-to-end",
    ]),
    entry("performance", "Performance and efficiency", T, &[
        "latency", "low-latency", "performance", "faster", "throughput", "high-throughput",
        "p99", "optimi", "profil", "measuring",
    ]),
    entry("concurrency_networking", "Concurrency, async I/O and networking", T, &[
        "async", "concurren", "networking", "=tcp", "=http", "http/2", "websocket", "=grpc",
        "=mqtt", "tokio",
    ]),
    entry("databases", "Databases and data modelling", T, &[
        "postgres", "=sql", "redis", "schema", "database", "data model", "partitioned",
        "=etl",
    ]),
    entry("api_design", "API design and contracts", T, &[
        "=api", "contract", "protocol buffers", "=json", "=grpc", "webhook", "idempotency key",
    ]),
    entry("reliability", "Reliability and operations", T, &[
        "reliab", "on-call", "incident", "outage", "backpressure", "retries", "observab",
        "prometheus", "opentelemetry", "kubernetes", "monitor", "idempoten", "graceful",
    ]),
    entry("testing", "Testing and debugging", T, &[
        "test", "chaos", "=bug", "debug", "pairing",
    ]),
    entry("data_analysis", "Data analysis and experimentation", T, &[
        "experiment", "a/b", "funnel", "analys", "=sql", "reporting", "completion rate",
    ]),
    entry("accessibility", "Accessibility", T, &["accessib", "wcag"]),
    entry("risk_compliance", "Security, risk and compliance", T, &[
        "security", "fraud", "=risk", "regulat", "compliance", "authentication", "=legal",
    ]),
    entry("scalability", "Scalability and throughput", D, &[
        "scale", "=peak", "million", "per minute", "fan-out", "fan it out", "connections",
        "fleet", "throughput", "instances",
    ]),
    entry("distributed_design", "Distributed system design", D, &[
        "design", "architect", "pipeline", "=event", "=events", "kafka", "=nats", "=mqtt",
        "ingest", "outbox", "queue",
    ]),
    entry("failure_handling", "Failure handling and graceful degradation", D, &[
        "graceful degradation", "partial outage", "backpressure", "retries", "idempoten",
        "chaos", "zero downtime", "failover", "duplicate",
    ]),
    entry("data_consistency", "Data storage and consistency", D, &[
        "postgres", "redis", "schema", "consisten", "partition", "cache", "data model",
        "migration",
    ]),
    entry("problem_solving", "Problem solving", T, &["problem", "solve", "solving"]),
    entry("learning", "Learning and growth", B, &["learn", "curious", "feedback"]),
    entry("technical_leadership", "Technical leadership and trade-offs", B, &[
        "trade-off", "=lead", "decision", "mentor",
    ]),
    entry("influence", "Influence and organisational impact", B, &[
        "influence", "across teams", "company still", "organisation", "strategy",
    ]),
];

/// Ids given to a round type when no text names enough of its competencies.
fn defaults(kind: RoundType) -> &'static [&'static str] {
    match kind {
        RoundType::Behavioral => &["ownership", "communication"],
        RoundType::Technical => &["problem_solving", "testing"],
        RoundType::SystemDesign => &["distributed_design", "scalability"],
        RoundType::Mixed => &["ownership", "problem_solving"],
    }
}

/// The competency the difficulty adds, if any.
fn own_competency(difficulty: Difficulty) -> Option<&'static str> {
    match difficulty {
        Difficulty::Junior => Some("learning"),
        Difficulty::Mid => None,
        Difficulty::Senior => Some("technical_leadership"),
        Difficulty::Staff => Some("influence"),
    }
}

/// Ids only a difficulty or a default brings in (never selected from text alone).
const ROUND_ONLY: &[&str] = &[
    "problem_solving",
    "learning",
    "technical_leadership",
    "influence",
];

/// Every competency of the catalogue, in catalogue order.
pub fn catalogue() -> &'static [CatalogueEntry] {
    CATALOGUE
}

fn find(id: &str) -> Option<&'static CatalogueEntry> {
    CATALOGUE.iter().find(|e| e.id == id)
}

/// Whether `line` is a bare list (`"Rust, Go, Python, SQL; tokio, axum"`): five items or
/// more, at most two words each on average.
fn is_list(line: &str) -> bool {
    let items = line.split([',', ';']).count();
    items >= 5 && line.split_whitespace().count() <= items * 2
}

/// The requirements of a text: each bullet, and each sentence of a line longer than 40
/// characters; shorter lines (titles, headings) and bare lists (a skills line) are skipped.
fn requirements(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !is_list(l))
    {
        if let Some(b) = line
            .strip_prefix("- ")
            .or_else(|| line.strip_prefix("* "))
            .or_else(|| line.strip_prefix("\u{2022} "))
        {
            out.push(b.trim().to_owned());
        } else if line.chars().count() > 40 {
            out.extend(
                line.split_inclusive(". ")
                    .map(str::trim)
                    .filter(|s| s.chars().count() > 12)
                    .map(str::to_owned),
            );
        }
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '+' | '#' | '/' | '-')
}

/// The words of `text` (lower case) that `cue` matches, by the rule of
/// [`CatalogueEntry::cues`], as written in the text.
fn cue_hits(text: &str, cue: &str) -> Vec<String> {
    let (whole, cue) = match cue.strip_prefix('=') {
        Some(c) => (true, c),
        None => (false, cue),
    };
    let lower = text.to_lowercase();
    if lower.len() != text.len() {
        // Case mapping changed byte offsets: match without reporting the original spelling.
        return lower
            .match_indices(cue)
            .filter(|(i, _)| !lower[..*i].chars().next_back().is_some_and(is_word_char))
            .map(|(_, m)| m.to_owned())
            .take(1)
            .collect();
    }
    let mut out = Vec::new();
    for (i, m) in lower.match_indices(cue) {
        if lower[..i].chars().next_back().is_some_and(is_word_char) {
            continue;
        }
        let end = i + m.len();
        let word_end = lower[end..]
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '/'))
            .map_or(lower.len(), |(j, _)| end + j);
        if whole && word_end != end {
            continue;
        }
        let found = text[i..word_end].trim_end_matches(['/', '-']).to_owned();
        if !out.iter().any(|o: &String| o.eq_ignore_ascii_case(&found)) {
            out.push(found);
        }
    }
    out
}

fn hits(entry: &CatalogueEntry, text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for cue in entry.cues {
        for h in cue_hits(text, cue) {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&h)) {
                out.push(h);
            }
        }
    }
    out
}

/// A quote of at most 160 characters, cut at a word with an ellipsis.
fn quote(s: &str) -> String {
    const MAX: usize = 160;
    let s = s.trim().trim_end_matches('.');
    if s.chars().count() <= MAX {
        return s.to_owned();
    }
    let cut: String = s.chars().take(MAX).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a);
    format!("{cut}\u{2026}")
}

struct Candidate {
    entry: &'static CatalogueEntry,
    score: usize,
    jd: Option<(String, Vec<String>)>,
    resume: Option<(String, Vec<String>)>,
}

/// The strongest text for `entry` among `reqs`: most cue words, first on ties.
fn best(entry: &CatalogueEntry, reqs: &[String]) -> (usize, Option<(String, Vec<String>)>) {
    let mut count = 0;
    let mut top: Option<(String, Vec<String>)> = None;
    for r in reqs {
        let h = hits(entry, r);
        if h.is_empty() {
            continue;
        }
        count += 1;
        if top.as_ref().is_none_or(|(_, th)| h.len() > th.len()) {
            top = Some((r.clone(), h));
        }
    }
    (count, top)
}

fn key_terms(texts: &[&str], cue_words: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let named = texts.iter().flat_map(|t| extract_terms(t));
    for t in named.chain(cue_words.iter().cloned()) {
        if t.chars().count() >= 2 && !out.iter().any(|o| o.eq_ignore_ascii_case(&t)) {
            out.push(t);
        }
    }
    out.truncate(12);
    out
}

fn competency(c: &Candidate, kind_override: Option<RoundType>) -> Competency {
    let (why, source) = match (&c.jd, &c.resume) {
        (Some((j, _)), Some((r, _))) => (
            format!(
                "The job description asks: \"{}\"; the resume claims: \"{}\"",
                quote(j),
                quote(r)
            ),
            CompetencySource::Both,
        ),
        (Some((j, _)), None) => (
            format!("The job description asks: \"{}\"", quote(j)),
            CompetencySource::JobDescription,
        ),
        (None, Some((r, _))) => (
            format!("The resume claims: \"{}\"", quote(r)),
            CompetencySource::Resume,
        ),
        (None, None) => (String::new(), CompetencySource::Round),
    };
    let texts: Vec<&str> =
        c.jd.iter()
            .chain(&c.resume)
            .map(|(t, _)| t.as_str())
            .collect();
    let cue_words: Vec<String> =
        c.jd.iter()
            .chain(&c.resume)
            .flat_map(|(_, h)| h.iter().cloned())
            .collect();
    Competency {
        id: c.entry.id.to_owned(),
        name: c.entry.name.to_owned(),
        kind: kind_override.unwrap_or(c.entry.kind),
        why,
        source,
        key_terms: key_terms(&texts, &cue_words),
        questions: 0,
    }
}

/// The competencies for a plan, in interview order, uncapped except by
/// [`super::MAX_COMPETENCIES`] per kind, and the difficulty's own competency, if any.
pub(super) fn select(
    job_description: &str,
    resume: &str,
    round_type: RoundType,
    difficulty: Difficulty,
) -> (Vec<Competency>, Option<Competency>) {
    let jd_reqs = requirements(job_description);
    let cv_claims = requirements(resume);
    let mut per_kind: Vec<(RoundType, Vec<Candidate>)> = Vec::new();
    for kind in [
        RoundType::Behavioral,
        RoundType::Technical,
        RoundType::SystemDesign,
    ] {
        if !round_type.covers(kind) {
            continue;
        }
        let mut found: Vec<Candidate> = CATALOGUE
            .iter()
            .filter(|e| e.kind == kind && !ROUND_ONLY.contains(&e.id))
            .filter_map(|e| {
                let (jn, jd) = best(e, &jd_reqs);
                let (rn, resume) = best(e, &cv_claims);
                let score = 2 * jn + rn;
                (score > 0).then_some(Candidate {
                    entry: e,
                    score,
                    jd,
                    resume,
                })
            })
            .collect();
        // Strongest first; a stable sort keeps catalogue order on ties.
        found.sort_by_key(|c| std::cmp::Reverse(c.score));
        for id in defaults(kind) {
            if found.len() >= super::MIN_COMPETENCIES {
                break;
            }
            if let Some(e) = find(id) {
                if !found.iter().any(|c| c.entry.id == e.id) {
                    let (_, jd) = best(e, &jd_reqs);
                    let (_, resume) = best(e, &cv_claims);
                    found.push(Candidate {
                        entry: e,
                        score: 0,
                        jd,
                        resume,
                    });
                }
            }
        }
        found.truncate(super::MAX_COMPETENCIES);
        per_kind.push((kind, found));
    }
    // Interleave the kinds (a mixed round alternates), strongest of each first.
    let mut out = Vec::new();
    let longest = per_kind.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    for i in 0..longest {
        for (kind, list) in &per_kind {
            if let Some(c) = list.get(i) {
                let mut comp = competency(c, Some(*kind));
                if comp.source == CompetencySource::Round {
                    comp.why = format!(
                        "Every {} round covers it; neither text names it.",
                        round_type.as_str().replace('_', " ")
                    );
                }
                out.push(comp);
            }
        }
    }
    let mut own = None;
    if let Some(e) = own_competency(difficulty).and_then(find) {
        let (_, jd) = best(e, &jd_reqs);
        let (_, resume) = best(e, &cv_claims);
        let c = Candidate {
            entry: e,
            score: 0,
            jd,
            resume,
        };
        let kind = if round_type == RoundType::Mixed {
            e.kind
        } else {
            round_type
        };
        let mut comp = competency(&c, Some(kind));
        let reason = format!(
            "A {} interview expects it: {}",
            difficulty.as_str(),
            difficulty.expectations()
        );
        comp.why = if comp.why.is_empty() {
            reason
        } else {
            format!("{reason} {}", comp.why)
        };
        own = Some(comp);
    }
    (out, own)
}
