//! Applying an interview session's storage actions to a store: the glue every app that
//! drives a `preppal_core::InterviewSession` needs between `poll_persist` and its
//! [`InterviewStore`].

use std::future::Future;
use std::pin::Pin;

use preppal_core::{InterviewStatus, PersistAction};

use crate::error::StoreError;
use crate::store::InterviewStore;

/// Applies one [`PersistAction`] of interview `id` to `store`:
///
/// - `Status(s)` → [`InterviewStore::update_status`] from PENDING to `s`;
/// - `Transcript(batch)` → [`InterviewStore::append_transcript`] (idempotent by sequence);
/// - `AnswerAudio(_)` → nothing (it feeds the delivery metrics, which are computed, not stored);
/// - `Finish { status, reason }` → [`InterviewStore::update_status`] from the stored
///   status to `status`, with `reason.as_str()` as `ended_reason` (and, for ERROR, as
///   `error_message`). Feedback for a COMPLETED interview is the caller's to write
///   ([`InterviewStore::put_feedback`]) before or after.
///
/// Applying the same action twice is harmless (the store's updates are idempotent).
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
            store
                .update_status(id, InterviewStatus::Pending, *to, None, None)
                .await?;
        }
        PersistAction::Transcript(batch) => {
            store.append_transcript(id, batch).await?;
        }
        PersistAction::Finish { status, reason } => {
            let from = store.get_interview_unscoped(id).await?.status;
            let message = (*status == InterviewStatus::Error).then(|| reason.as_str());
            store
                .update_status(id, from, *status, Some(reason.as_str()), message)
                .await?;
        }
        // Answer audio feeds the metrics; anything newer has nothing to store here.
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
