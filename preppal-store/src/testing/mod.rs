//! The public contract suite of [`InterviewStore`] (feature `testing`).
//!
//! Each `pub async fn` here is one named case. It takes a fresh, empty store, exercises one
//! part of the contract and panics (with a message) when the store breaks it. Cases that
//! need concurrency take an `Arc<dyn InterviewStore>` and spawn tokio tasks; the others take
//! `&dyn InterviewStore`.
//!
//! [`contract_suite!`](crate::contract_suite) expands to one `#[tokio::test]` per case,
//! named after the case, given an expression that evaluates to a future of a fresh
//! [`StoreFixture`]:
//!
//! ```ignore
//! // tests/my_backend.rs (needs tokio with the "macros" and "rt-multi-thread" features)
//! use std::sync::Arc;
//! use preppal_store::{InterviewStore, MemoryStore};
//!
//! preppal_store::contract_suite!(async { Arc::new(MemoryStore::new()) as Arc<dyn InterviewStore> });
//! ```
//!
//! Fixtures that own a database ([`SqliteTestFile`], [`PgTestDatabase`]) remove it when
//! dropped, after the case.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use preppal_core::{Feedback, FeedbackSource, InterviewStatus, Speaker, TranscriptEntry};

use crate::error::{ErrorKind, StoreError};
use crate::model::{Interview, NewInterview, PageRequest, User};
use crate::store::{InterviewStore, InterviewStoreExt};
use crate::MemoryStore;

/// Something that owns a fresh store for one case and cleans up when dropped.
pub trait StoreFixture: Send {
    /// A handle on the store.
    fn store(&self) -> Arc<dyn InterviewStore>;
}

impl StoreFixture for Arc<dyn InterviewStore> {
    fn store(&self) -> Arc<dyn InterviewStore> {
        Arc::clone(self)
    }
}

impl StoreFixture for MemoryStore {
    fn store(&self) -> Arc<dyn InterviewStore> {
        Arc::new(self.clone())
    }
}

/// Expands to one `#[tokio::test]` per contract case, each named after the case.
///
/// `$make` is an expression evaluating to a future whose output implements
/// [`StoreFixture`](crate::testing::StoreFixture); it is evaluated afresh for every case.
/// The calling crate needs `tokio` with the `macros` and `rt-multi-thread` features. Tests
/// run on a two-thread runtime so that the concurrency cases race for real.
#[macro_export]
macro_rules! contract_suite {
    ($make:expr) => {
        $crate::contract_suite!(@cases ($make)
            shared: [
                idempotent_create_returns_same,
                idempotent_create_conflicts_on_different_inputs,
                status_moves_forward_only,
                transcript_append_is_idempotent_and_ordered,
                ownership_is_enforced_on_reads_and_deletes,
                delete_removes_transcript_and_feedback,
                history_paginates_newest_first,
                library_crud_is_per_user,
                snapshots_survive_library_edits,
                lease_excludes_second_worker_until_expiry,
                feedback_round_trips,
                resumption_handle_round_trips,
                error_kind_is_stored_on_the_interview,
                errors_do_not_leak_sql,
                upsert_user_finds_by_email,
                identities_never_merge_by_email,
                sign_out_revokes_sessions,
                library_usage_counts_documents_and_bytes,
                current_interview_is_newest_live,
                invalid_input_is_rejected,
                unknown_ids_are_not_found,
                plan_snapshot_round_trips,
                interrupted_entry_round_trips_with_heard_text,
                barge_in_amends_a_stored_entry,
            ]
            owned: [
                fifty_concurrent_creates_make_one_row,
                stale_status_writer_conflicts,
                concurrent_lease_claims_have_one_winner,
                concurrent_transcript_appends_store_each_entry_once,
            ]
        );
    };
    (@cases ($make:expr) shared: [$($shared:ident),* $(,)?] owned: [$($owned:ident),* $(,)?]) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $shared() {
                let fixture = $make.await;
                let store = $crate::testing::StoreFixture::store(&fixture);
                $crate::testing::$shared(&*store).await;
                drop(store);
                drop(fixture);
            }
        )*
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $owned() {
                let fixture = $make.await;
                let store = $crate::testing::StoreFixture::store(&fixture);
                $crate::testing::$owned(store).await;
                drop(fixture);
            }
        )*
    };
}

/// The names of every case, in the order [`contract_suite!`](crate::contract_suite)
/// declares them.
pub const CASES: &[&str] = &[
    "idempotent_create_returns_same",
    "idempotent_create_conflicts_on_different_inputs",
    "status_moves_forward_only",
    "transcript_append_is_idempotent_and_ordered",
    "ownership_is_enforced_on_reads_and_deletes",
    "delete_removes_transcript_and_feedback",
    "history_paginates_newest_first",
    "library_crud_is_per_user",
    "snapshots_survive_library_edits",
    "lease_excludes_second_worker_until_expiry",
    "feedback_round_trips",
    "resumption_handle_round_trips",
    "error_kind_is_stored_on_the_interview",
    "errors_do_not_leak_sql",
    "upsert_user_finds_by_email",
    "identities_never_merge_by_email",
    "sign_out_revokes_sessions",
    "library_usage_counts_documents_and_bytes",
    "current_interview_is_newest_live",
    "invalid_input_is_rejected",
    "unknown_ids_are_not_found",
    "plan_snapshot_round_trips",
    "interrupted_entry_round_trips_with_heard_text",
    "barge_in_amends_a_stored_entry",
    "fifty_concurrent_creates_make_one_row",
    "stale_status_writer_conflicts",
    "concurrent_lease_claims_have_one_winner",
    "concurrent_transcript_appends_store_each_entry_once",
];

// ---- small tools for the cases ----

/// A well-formed id that no store has made.
const MISSING_ID: &str = "00000000-0000-4000-8000-000000000000";

async fn user(store: &dyn InterviewStore, email: &str) -> User {
    store
        .upsert_user(email, "Test User")
        .await
        .expect("upsert_user")
}

fn new_interview(user_id: &str, key: &str) -> NewInterview {
    NewInterview {
        user_id: user_id.to_owned(),
        idempotency_key: key.to_owned(),
        persona: "A precise staff engineer who asks follow-up questions".to_owned(),
        duration_ms: 15 * 60 * 1000,
        job_description_id: None,
        resume_id: None,
        job_description_text: "Backend engineer: Rust, PostgreSQL, distributed systems".to_owned(),
        resume_text: "Eight years building payment systems".to_owned(),
        plan: None,
    }
}

async fn interview(store: &dyn InterviewStore, user_id: &str, key: &str) -> Interview {
    store
        .create_interview(new_interview(user_id, key))
        .await
        .expect("create_interview")
}

fn entry(sequence: u32, speaker: Speaker, text: &str) -> TranscriptEntry {
    let start_ms = u64::from(sequence) * 1_000;
    TranscriptEntry {
        sequence,
        speaker,
        text: text.to_owned(),
        start_ms,
        end_ms: start_ms + 800,
        interrupted: false,
        heard_text: None,
    }
}

#[track_caller]
fn assert_kind<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    kind: ErrorKind,
    what: &str,
) -> StoreError {
    match result {
        Ok(v) => panic!("{what}: expected {kind:?}, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{what}: wrong kind for error {e:?}");
            e
        }
    }
}

/// Sleeps long enough for the store's millisecond clock to move on, so that records made
/// before and after have different creation times.
async fn next_millisecond() {
    tokio::time::sleep(Duration::from_millis(2)).await;
}

async fn all_history(store: &dyn InterviewStore, user_id: &str) -> Vec<Interview> {
    store
        .list_interviews(user_id, PageRequest::first(100))
        .await
        .expect("list_interviews")
        .items
}

// ---- the cases, by topic ----

mod errors;
mod feedback;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod fixtures;
mod interviews;
mod leases;
mod library;
mod lifecycle;
mod transcript;
mod users;

pub use errors::{
    errors_do_not_leak_sql, invalid_input_is_rejected, ownership_is_enforced_on_reads_and_deletes,
    unknown_ids_are_not_found,
};
pub use feedback::{feedback_round_trips, resumption_handle_round_trips};
#[cfg(feature = "postgres")]
pub use fixtures::PgTestDatabase;
#[cfg(feature = "sqlite")]
pub use fixtures::SqliteTestFile;
pub use interviews::{
    current_interview_is_newest_live, delete_removes_transcript_and_feedback,
    fifty_concurrent_creates_make_one_row, history_paginates_newest_first,
    idempotent_create_conflicts_on_different_inputs, idempotent_create_returns_same,
    plan_snapshot_round_trips,
};
pub use leases::{
    concurrent_lease_claims_have_one_winner, lease_excludes_second_worker_until_expiry,
};
pub use library::{
    library_crud_is_per_user, library_usage_counts_documents_and_bytes,
    snapshots_survive_library_edits,
};
pub use lifecycle::{
    error_kind_is_stored_on_the_interview, stale_status_writer_conflicts, status_moves_forward_only,
};
pub use transcript::{
    barge_in_amends_a_stored_entry, concurrent_transcript_appends_store_each_entry_once,
    interrupted_entry_round_trips_with_heard_text, transcript_append_is_idempotent_and_ordered,
};
pub use users::{
    identities_never_merge_by_email, sign_out_revokes_sessions, upsert_user_finds_by_email,
};
