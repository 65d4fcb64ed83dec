//! The one mapping from an interview session's storage actions to a store: every app that
//! drives a `preppal_core::InterviewSession` (the embedding API, the server's web tier
//! behind its worker API) stores what `poll_persist` gives the same way.
//!
//! ```text
//! PersistAction::Status(s)            → move_status(s)         (idempotent, forward only)
//! PersistAction::Transcript(batch)    → append_transcript      (idempotent by sequence)
//! PersistAction::OpenTurns(open)      → append_transcript      (provisional; the finished
//!                                                               entry later extends it)
//! PersistAction::ResumptionHandle(h)  → set_resumption_handle
//! PersistAction::AnswerAudio / InterviewerCuts → nothing       (feedback inputs)
//! PersistAction::Finish{status,reason}→ move_status(status, EndRecord::of(status, reason))
//! ```

use std::future::Future;
use std::pin::Pin;

use preppal_core::{EndReason, InterviewStatus, PersistAction};

use crate::error::StoreError;
use crate::store::InterviewStore;

/// What is stored about an interview's end, next to its final status: the columns
/// `ended_reason`, `error_message` and `error_kind`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndRecord {
    /// Why it ended ([`EndReason::as_str`], e.g. `"user_ended"`); empty for a move that is
    /// not an end.
    pub ended_reason: String,
    /// What went wrong, in the candidate's words then the detail; empty for COMPLETED.
    pub error_message: String,
    /// Why the model failed (`preppal_core::ModelErrorKind::as_str`, e.g. `"quota"`);
    /// empty when it did not.
    pub error_kind: String,
}

impl EndRecord {
    /// The record of an interview that ended with `status` for `reason`: COMPLETED keeps
    /// only the reason; an end caused by the model's failure says which failure (and, for
    /// a close, its code and reason); any other ERROR says it ended before anything was
    /// said.
    pub fn of(status: InterviewStatus, reason: &EndReason) -> Self {
        let ended_reason = reason.as_str().to_owned();
        if status == InterviewStatus::Completed {
            return Self {
                ended_reason,
                ..Self::default()
            };
        }
        match reason.error_kind() {
            Some(kind) => Self {
                ended_reason,
                error_message: match reason {
                    EndReason::ModelClosed { code, reason } => {
                        format!("{} (model closed {code}: {reason})", kind.sentence())
                    }
                    other => format!("{} ({})", kind.sentence(), other.as_str()),
                },
                error_kind: kind.as_str().to_owned(),
            },
            None => Self {
                error_message: format!(
                    "the interview ended before anything was said ({})",
                    reason.as_str()
                ),
                ended_reason,
                error_kind: String::new(),
            },
        }
    }
}

/// Moves interview `id` to status `to` from whatever is stored, with `end` (empty fields
/// are stored as absent). A move to the stored status stores nothing new but the error
/// kind; so a retry after a lost reply is harmless. The error kind is kept for a terminal
/// status, even when the move itself was already made. Returns the status moved to.
///
/// # Errors
/// [`StoreError::IllegalTransition`] for a move the lifecycle forbids (backwards, out of a
/// terminal status); otherwise the [`StoreError`] of the store call (`NotFound`, a
/// `Conflict` for a lost race, ...).
pub async fn move_status<S: InterviewStore + ?Sized>(
    store: &S,
    id: &str,
    to: InterviewStatus,
    end: &EndRecord,
) -> Result<InterviewStatus, StoreError> {
    let current = store.get_interview_unscoped(id).await?;
    let moved = current.status.check_transition(to)?;
    if moved {
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        store
            .update_status(
                &current.id,
                current.status,
                to,
                non_empty(&end.ended_reason).as_deref(),
                non_empty(&end.error_message).as_deref(),
            )
            .await?;
    }
    if !end.error_kind.is_empty() && to.is_terminal() {
        store.set_error_kind(&current.id, &end.error_kind).await?;
    }
    Ok(to)
}

/// Applies one [`PersistAction`] of interview `id` to `store` (see the module docs for
/// each action). Feedback for a COMPLETED interview is the caller's to write
/// ([`InterviewStore::put_feedback`]), from the transcript and the `AnswerAudio` and
/// `InterviewerCuts` actions, before or after the `Finish`.
///
/// Applying the same action twice is harmless (every step is idempotent).
///
/// # Errors
/// The [`StoreError`] of the store call (`NotFound`, `Conflict` for a transition the
/// lifecycle forbids, ...).
pub async fn apply_persist_action<S: InterviewStore + ?Sized>(
    store: &S,
    id: &str,
    action: &PersistAction,
) -> Result<(), StoreError> {
    match action {
        PersistAction::Status(to) => {
            move_status(store, id, *to, &EndRecord::default()).await?;
        }
        PersistAction::Transcript(entries) | PersistAction::OpenTurns(entries) => {
            store.append_transcript(id, entries).await?;
        }
        PersistAction::ResumptionHandle(handle) => {
            store.set_resumption_handle(id, Some(handle)).await?;
        }
        PersistAction::Finish { status, reason } => {
            move_status(store, id, *status, &EndRecord::of(*status, reason)).await?;
        }
        // Answer audio and interviewer cuts feed the feedback's metrics, which the caller
        // computes; anything newer has nothing to store here.
        _ => {}
    }
    Ok(())
}

/// A storage callback for interview `id`: each call applies one [`PersistAction`] with
/// [`apply_persist_action`]. Hand it to `preppal_gemini::LiveInterview::run`.
pub fn persist_to<'a, S: InterviewStore + Sync + ?Sized>(
    store: &'a S,
    id: &'a str,
) -> impl FnMut(PersistAction) -> Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'a>> + 'a
{
    move |action| Box::pin(async move { apply_persist_action(store, id, &action).await })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use preppal_core::{Speaker, TranscriptEntry};

    use super::*;
    use crate::{MemoryStore, NewInterview};

    async fn interview(store: &MemoryStore) -> String {
        let user = store.upsert_user("a@example.com", "A").await.unwrap().id;
        let new = NewInterview::from_texts(user, "Rust engineer", "Jo", 600_000);
        store.create_interview(new).await.unwrap().id
    }

    fn entry(sequence: u32, text: &str, end_ms: u64) -> TranscriptEntry {
        TranscriptEntry {
            sequence,
            speaker: Speaker::Ai,
            text: text.to_owned(),
            start_ms: 0,
            end_ms,
            interrupted: false,
            heard_text: None,
        }
    }

    #[tokio::test]
    async fn a_model_failure_is_stored_with_its_kind_and_sentence() {
        let store = MemoryStore::new();
        let id = interview(&store).await;
        let reason = EndReason::ModelClosed {
            code: 1011,
            reason: "internal".into(),
        };
        let kind = reason.error_kind().unwrap();
        for action in [
            PersistAction::Status(InterviewStatus::InProgress),
            PersistAction::Finish {
                status: InterviewStatus::Error,
                reason: reason.clone(),
            },
        ] {
            apply_persist_action(&store, &id, &action).await.unwrap();
            // Twice: a retry is harmless.
            apply_persist_action(&store, &id, &action).await.unwrap();
        }
        let i = store.get_interview_unscoped(&id).await.unwrap();
        assert_eq!(i.status, InterviewStatus::Error);
        assert_eq!(i.ended_reason.as_deref(), Some(reason.as_str()));
        assert_eq!(i.error_kind.as_deref(), Some(kind.as_str()));
        let message = i.error_message.unwrap();
        assert!(message.starts_with(kind.sentence()), "{message}");
        assert!(
            message.ends_with("(model closed 1011: internal)"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn an_end_before_anything_was_said_says_so() {
        let store = MemoryStore::new();
        let id = interview(&store).await;
        let finish = PersistAction::Finish {
            status: InterviewStatus::Error,
            reason: EndReason::ClientGone,
        };
        apply_persist_action(&store, &id, &finish).await.unwrap();
        let i = store.get_interview_unscoped(&id).await.unwrap();
        assert_eq!(i.ended_reason.as_deref(), Some("client_gone"));
        assert_eq!(i.error_kind, None);
        assert!(i
            .error_message
            .unwrap()
            .starts_with("the interview ended before anything was said"));
    }

    #[tokio::test]
    async fn open_turns_are_stored_and_extended_by_the_finished_entry() {
        let store = MemoryStore::new();
        let id = interview(&store).await;
        let open = PersistAction::OpenTurns(vec![entry(0, "Tell me", 900)]);
        apply_persist_action(&store, &id, &open).await.unwrap();
        assert_eq!(store.get_transcript(&id).await.unwrap()[0].text, "Tell me");
        let done = PersistAction::Transcript(vec![entry(0, "Tell me about Rust.", 2_000)]);
        apply_persist_action(&store, &id, &done).await.unwrap();
        let stored = store.get_transcript(&id).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].text, "Tell me about Rust.");
    }

    #[tokio::test]
    async fn a_resumed_interview_moves_on_and_keeps_its_handle() {
        let store = MemoryStore::new();
        let id = interview(&store).await;
        let in_progress = PersistAction::Status(InterviewStatus::InProgress);
        apply_persist_action(&store, &id, &in_progress)
            .await
            .unwrap();
        // The resumed session says IN_PROGRESS again: not a conflict.
        apply_persist_action(&store, &id, &in_progress)
            .await
            .unwrap();
        let handle = PersistAction::ResumptionHandle("h-7".into());
        apply_persist_action(&store, &id, &handle).await.unwrap();
        assert_eq!(
            store.get_resumption_handle(&id).await.unwrap().as_deref(),
            Some("h-7")
        );
        let finish = PersistAction::Finish {
            status: InterviewStatus::Completed,
            reason: EndReason::TimeLimit,
        };
        apply_persist_action(&store, &id, &finish).await.unwrap();
        let i = store.get_interview_unscoped(&id).await.unwrap();
        assert_eq!(i.status, InterviewStatus::Completed);
        assert_eq!(i.ended_reason.as_deref(), Some("time_limit"));
        assert_eq!(i.error_message, None);
        // Backwards is refused.
        let err = apply_persist_action(&store, &id, &in_progress)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::IllegalTransition(_)), "{err}");
    }
}
