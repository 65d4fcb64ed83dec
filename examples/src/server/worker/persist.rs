//! The persister: one task per interview that carries the session's storage actions, in
//! order and off the relay's hot path, to the web tier (the worker→web transport of
//! `preppal_store::persist`, whose mapping the web tier's worker API applies), and writes
//! feedback when the interview is over.

use preppal_core::feedback::deterministic_feedback_with_metrics;
use preppal_core::metrics::InterviewMetrics;
use preppal_core::proto::GetContextResponse;
use preppal_core::{AnswerAudio, InterviewStatus, PersistAction, TranscriptEntry};
use preppal_store::EndRecord;
use tokio::sync::mpsc;

use super::model::Feedbacker;
use super::web_client::WebTierClient;

/// Capacity of the queue between the driver and its persister, in actions.
pub const PERSIST_QUEUE: usize = 256;

/// What the persister did with the end of the interview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The status written.
    pub status: InterviewStatus,
    /// Entries the persister stored over the interview.
    pub entries: usize,
}

/// Applies actions from `rx` until a `Finish` has been handled or the driver goes away.
/// `stored` are the entries already in the store (those of an interview resumed after a
/// restart): the feedback covers them and what follows. Finished entries are stored at
/// every turn end ([`PersistAction::Transcript`]); open turns as they stand every few
/// seconds ([`PersistAction::OpenTurns`]), which the finished entry later extends under the
/// same sequence, so nothing is stored twice. Returns what was finished, or `None` if the
/// driver stopped before the end.
pub async fn run(
    web_tier: WebTierClient,
    feedbacker: Feedbacker,
    ctx: GetContextResponse,
    stored: Vec<TranscriptEntry>,
    mut rx: mpsc::Receiver<PersistAction>,
) -> Option<Finished> {
    let id = ctx.interview_id.clone();
    let mut kept: Vec<TranscriptEntry> = stored;
    let mut audio: Vec<AnswerAudio> = Vec::new();
    let mut cuts = Vec::new();
    while let Some(action) = rx.recv().await {
        match action {
            PersistAction::Status(status) => {
                if let Err(e) = web_tier.update_status(&id, status, "", "", "").await {
                    tracing::error!(interview = %id, error = %e, "status update lost");
                }
            }
            PersistAction::Transcript(batch) => {
                match web_tier.submit_transcript(&id, &batch).await {
                    Ok(n) => {
                        tracing::debug!(interview = %id, stored = n, "transcript batch stored")
                    }
                    Err(e) => {
                        tracing::error!(interview = %id, error = %e, "transcript batch not stored")
                    }
                }
                // An entry stored again under its sequence (a late candidate
                // transcription amended it) replaces the one kept.
                for entry in batch {
                    match kept.iter_mut().find(|e| e.sequence == entry.sequence) {
                        Some(old) => *old = entry,
                        None => kept.push(entry),
                    }
                }
            }
            PersistAction::OpenTurns(open) => match web_tier.submit_transcript(&id, &open).await {
                Ok(n) => tracing::debug!(interview = %id, stored = n, "open turns stored"),
                Err(e) => tracing::warn!(interview = %id, error = %e, "open turns not stored"),
            },
            PersistAction::AnswerAudio(tally) => audio = tally,
            PersistAction::InterviewerCuts(c) => cuts = c,
            PersistAction::Finish { status, reason } => {
                if status == InterviewStatus::Completed {
                    let mut feedback = feedbacker.feedback(&ctx, &kept, &audio).await;
                    if let Some(m) = feedback.metrics.as_mut() {
                        m.interviewer_cuts = std::mem::take(&mut cuts);
                    }
                    if let Err(e) = web_tier.submit_feedback(&id, &feedback).await {
                        tracing::error!(interview = %id, error = %e, "feedback not stored");
                    }
                }
                // What the web tier stores with the end, as the embedding API stores it.
                let end = EndRecord::of(status, &reason);
                if let Err(e) = web_tier
                    .update_status(
                        &id,
                        status,
                        &end.ended_reason,
                        &end.error_message,
                        &end.error_kind,
                    )
                    .await
                {
                    tracing::error!(interview = %id, error = %e, "final status not stored");
                }
                tracing::info!(interview = %id, %status, reason = reason.as_str(), entries = kept.len(), "interview finished");
                return Some(Finished {
                    status,
                    entries: kept.len(),
                });
            }
            other => tracing::warn!(interview = %id, ?other, "unknown persist action ignored"),
        }
    }
    None
}

/// Feedback from the transcript and its metrics alone, when no model is configured or the
/// model failed: labelled deterministic.
pub fn fallback(kept: &[TranscriptEntry], metrics: InterviewMetrics) -> preppal_core::Feedback {
    deterministic_feedback_with_metrics(kept, metrics)
}
