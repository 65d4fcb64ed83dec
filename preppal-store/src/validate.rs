//! The input rules every backend applies before it writes, in one place: NUL characters,
//! numbers that must fit an `i64` column, the interview lifecycle, lease expiry and the
//! rule by which a transcript entry appended again amends the stored one.
//!
//! The memory, SQLite and PostgreSQL backends call these functions, so that one input is
//! accepted or refused (with the same [`StoreError::InvalidInput`] message) everywhere.

use preppal_core::{InterviewStatus, TranscriptEntry};

use crate::error::StoreError;
use crate::model::NewInterview;

/// The message for text with a NUL character (PostgreSQL cannot keep one, so no backend does).
pub(crate) const NUL: &str = "text contains a NUL character";

/// Rejects text that no backend can keep: PostgreSQL refuses NUL characters, so every
/// backend does, to keep one behaviour.
///
/// # Errors
/// `InvalidInput(what)` when `s` contains a NUL character.
pub(crate) fn check_text(s: &str, what: &'static str) -> Result<(), StoreError> {
    if s.contains('\0') {
        Err(StoreError::InvalidInput(what))
    } else {
        Ok(())
    }
}

/// [`check_text`] with the general [`NUL`] message, for each of `texts`.
///
/// # Errors
/// `InvalidInput` for the first text with a NUL character.
pub(crate) fn texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> Result<(), StoreError> {
    texts.into_iter().try_for_each(|t| check_text(t, NUL))
}

/// `v` as an `i64` column value, or `InvalidInput(what)`.
///
/// # Errors
/// `InvalidInput(what)` when `v > i64::MAX`.
pub(crate) fn to_i64(v: u64, what: &'static str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::InvalidInput(what))
}

/// Validates every text and number of a [`NewInterview`].
///
/// # Errors
/// `InvalidInput` for NUL characters or `duration_ms > i64::MAX`.
pub(crate) fn new_interview(new: &NewInterview) -> Result<(), StoreError> {
    texts([
        new.user_id.as_str(),
        &new.idempotency_key,
        &new.persona,
        &new.job_description_text,
        &new.resume_text,
    ])?;
    texts(
        [&new.job_description_id, &new.resume_id]
            .into_iter()
            .flatten()
            .map(String::as_str),
    )?;
    to_i64(new.duration_ms, "duration_ms is larger than i64::MAX")?;
    Ok(())
}

/// Checks a status move before any backend looks at the stored status: the lifecycle
/// must allow `expected -> to`, and the texts must be storable. Returns whether the move
/// changes the status (`false` for the idempotent retry `expected == to`).
///
/// # Errors
/// `Conflict` ([`StoreError::IllegalTransition`]) for a move the lifecycle forbids;
/// `InvalidInput` for NUL characters.
pub(crate) fn status_update(
    expected: InterviewStatus,
    to: InterviewStatus,
    ended_reason: Option<&str>,
    error_message: Option<&str>,
) -> Result<bool, StoreError> {
    let moves = expected.check_transition(to)?;
    texts([ended_reason, error_message].into_iter().flatten())?;
    Ok(moves)
}

/// Validates a transcript batch: texts (and heard texts) without NUL, times that fit `i64`.
///
/// # Errors
/// `InvalidInput` for the first entry that breaks a rule.
pub(crate) fn transcript(entries: &[TranscriptEntry]) -> Result<(), StoreError> {
    for e in entries {
        check_text(&e.text, "transcript text contains a NUL character")?;
        if let Some(heard) = &e.heard_text {
            check_text(heard, "transcript heard_text contains a NUL character")?;
        }
        to_i64(e.start_ms, "transcript start_ms is larger than i64::MAX")?;
        to_i64(e.end_ms, "transcript end_ms is larger than i64::MAX")?;
    }
    Ok(())
}

/// The heard text a backend stores for `e`: only an interrupted turn has one.
pub(crate) fn stored_heard_text(e: &TranscriptEntry) -> Option<&str> {
    e.heard_text.as_deref().filter(|_| e.interrupted)
}

/// Whether `new` amends the stored entry `old` of the same sequence: same speaker, `old`'s
/// text a prefix of `new`'s, and something new: more text, another end (a provisional open
/// turn that then finished, or an interviewer turn whose end moved to where the client
/// reported its playback stopped), or a barge-in `old` does not note yet. The SQL backends
/// apply the same rule in their upsert.
pub(crate) fn amends(old: &TranscriptEntry, new: &TranscriptEntry) -> bool {
    let barge_in = new.interrupted
        && (!old.interrupted || old.heard_text.as_deref() != stored_heard_text(new));
    old.speaker == new.speaker
        && new.text.starts_with(old.text.as_str())
        && (new.text.chars().count() > old.text.chars().count()
            || new.end_ms != old.end_ms
            || barge_in)
}

/// Applies `new` to the stored `old` when it [`amends`] it: the text and end are replaced;
/// a barge-in, once noted, stays (a later entry without one keeps the stored heard text).
/// Returns whether `old` changed.
pub(crate) fn amend(old: &mut TranscriptEntry, new: &TranscriptEntry) -> bool {
    if !amends(old, new) {
        return false;
    }
    old.text.clone_from(&new.text);
    old.end_ms = new.end_ms;
    if new.interrupted {
        old.interrupted = true;
        old.heard_text = stored_heard_text(new).map(str::to_owned);
    }
    true
}

/// The feedback as the JSON document every backend stores, refusing NUL characters
/// anywhere in it (keys included).
///
/// # Errors
/// `InvalidInput` for a NUL character; `Other` ([`StoreError::Corrupt`]) when the feedback
/// does not serialise.
pub(crate) fn feedback_document(f: &preppal_core::Feedback) -> Result<String, StoreError> {
    fn has_nul(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(a) => a.iter().any(has_nul),
            serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }
    let value =
        serde_json::to_value(f).map_err(|e| StoreError::Corrupt(format!("feedback: {e}")))?;
    if has_nul(&value) {
        return Err(StoreError::InvalidInput(
            "feedback contains a NUL character",
        ));
    }
    Ok(value.to_string())
}

/// `now_ms + ttl_ms`, checked, after checking the worker id.
///
/// # Errors
/// `InvalidInput` for NUL characters in `worker_id` or `ttl_ms > i64::MAX`.
pub(crate) fn lease_expiry(worker_id: &str, ttl_ms: u64, now_ms: i64) -> Result<i64, StoreError> {
    check_text(worker_id, NUL)?;
    let ttl = to_i64(ttl_ms, "lease ttl_ms is larger than i64::MAX")?;
    Ok(now_ms.saturating_add(ttl))
}

#[cfg(test)]
mod tests {
    use preppal_core::Speaker;

    use super::*;

    fn ai(text: &str, end_ms: u64) -> TranscriptEntry {
        TranscriptEntry {
            sequence: 3,
            speaker: Speaker::Ai,
            text: text.to_owned(),
            start_ms: 0,
            end_ms,
            interrupted: false,
            heard_text: None,
        }
    }

    #[test]
    fn a_barge_in_amends_an_entry_with_the_same_text_and_end() {
        let mut stored = ai("Tell me about a time", 900);
        let mut cut = ai("Tell me about a time", 900);
        cut.interrupted = true;
        cut.heard_text = Some("Tell me".into());
        assert!(amend(&mut stored, &cut));
        assert!(stored.interrupted);
        assert_eq!(stored.heard_text.as_deref(), Some("Tell me"));
        // The same barge-in again changes nothing; a later entry without one keeps it.
        assert!(!amend(&mut stored, &cut));
        assert!(amend(&mut stored, &ai("Tell me about a time you", 1200)));
        assert!(stored.interrupted);
        assert_eq!(stored.heard_text.as_deref(), Some("Tell me"));
    }

    #[test]
    fn heard_text_is_only_kept_for_an_interrupted_turn() {
        let mut e = ai("Hello", 10);
        e.heard_text = Some("He".into());
        assert_eq!(stored_heard_text(&e), None);
        e.interrupted = true;
        assert_eq!(stored_heard_text(&e), Some("He"));
        e.heard_text = Some("H\0".into());
        assert!(transcript(&[e]).is_err());
    }

    #[test]
    fn status_update_checks_the_lifecycle_before_the_texts() {
        use InterviewStatus::*;
        assert!(matches!(
            status_update(Completed, Pending, None, None),
            Err(StoreError::IllegalTransition(_))
        ));
        assert!(matches!(
            status_update(Pending, InProgress, Some("a\0"), None),
            Err(StoreError::InvalidInput(_))
        ));
        assert_eq!(
            status_update(Pending, Pending, None, None).ok(),
            Some(false)
        );
        assert_eq!(
            status_update(Pending, InProgress, None, None).ok(),
            Some(true)
        );
    }
}
