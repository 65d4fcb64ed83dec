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

// ---- the cases ----

/// The interview plan is stored with the interview as a snapshot and read back whole (by
/// id and in the history); a retry with another plan conflicts; an interview made without
/// one reads `None`.
pub async fn plan_snapshot_round_trips(store: &dyn InterviewStore) {
    use preppal_core::plan::{Difficulty, InterviewPlan, RoundType};
    let alice = user(store, "alice@example.com").await;
    let base = new_interview(&alice.id, "plan-1");
    let plan = InterviewPlan::derive(
        &base.job_description_text,
        &base.resume_text,
        RoundType::SystemDesign,
        Difficulty::Staff,
        base.duration_ms,
    )
    .with_answer_time_limit(Some(90));
    let new = NewInterview {
        plan: Some(plan.clone()),
        ..base.clone()
    };
    let created = store.create_interview(new.clone()).await.expect("create");
    assert_eq!(created.plan.as_ref(), Some(&plan));
    let read = store
        .get_interview(&alice.id, &created.id)
        .await
        .expect("get_interview");
    assert_eq!(
        read.plan.as_ref(),
        Some(&plan),
        "the plan snapshot reads back whole"
    );
    let history = all_history(store, &alice.id).await;
    assert_eq!(history[0].plan.as_ref(), Some(&plan));
    let again = store.create_interview(new.clone()).await.expect("retry");
    assert_eq!(again.id, created.id);
    let other_plan = InterviewPlan::derive(
        &base.job_description_text,
        &base.resume_text,
        RoundType::Behavioral,
        Difficulty::Junior,
        base.duration_ms,
    );
    let conflict = store
        .create_interview(NewInterview {
            plan: Some(other_plan),
            ..base.clone()
        })
        .await;
    assert!(
        matches!(conflict, Err(StoreError::IdempotencyConflict)),
        "{conflict:?}"
    );
    let without = store
        .create_interview(new_interview(&alice.id, "plan-2"))
        .await
        .expect("create without a plan");
    let without = store
        .get_interview(&alice.id, &without.id)
        .await
        .expect("get_interview");
    assert_eq!(without.plan, None);
}

/// A create repeated with the same key and inputs returns the stored interview; keys are
/// per user.
pub async fn idempotent_create_returns_same(store: &dyn InterviewStore) {
    let alice = user(store, "alice@example.com").await;
    let new = new_interview(&alice.id, "start-1");
    let first = store
        .create_interview(new.clone())
        .await
        .expect("first create");
    assert_eq!(first.status, InterviewStatus::Pending);
    assert_eq!(first.user_id, alice.id);
    assert_eq!(first.idempotency_key, "start-1");
    assert_eq!(first.persona, new.persona);
    assert_eq!(first.duration_ms, new.duration_ms);
    assert_eq!(first.job_description_snapshot, new.job_description_text);
    assert_eq!(first.resume_snapshot, new.resume_text);
    assert_eq!((first.started_at_ms, first.ended_at_ms), (None, None));
    assert_eq!(
        (
            first.ended_reason.as_deref(),
            first.error_message.as_deref()
        ),
        (None, None)
    );
    let parsed = uuid::Uuid::parse_str(&first.id).expect("interview id is a UUID");
    assert_eq!(parsed.get_version_num(), 4, "interview id is a UUID v4");

    let again = store
        .create_interview(new.clone())
        .await
        .expect("retried create");
    assert_eq!(again, first, "a retry returns the interview already made");
    assert_eq!(
        store
            .get_interview(&alice.id, &first.id)
            .await
            .expect("get"),
        first
    );

    let other_key = interview(store, &alice.id, "start-2").await;
    assert_ne!(
        other_key.id, first.id,
        "another key makes another interview"
    );

    let bob = user(store, "bob@example.com").await;
    let bobs = interview(store, &bob.id, "start-1").await;
    assert_ne!(bobs.id, first.id, "idempotency keys are per user");
    assert_eq!(all_history(store, &alice.id).await.len(), 2);
    assert_eq!(all_history(store, &bob.id).await.len(), 1);
}

/// The same key with any input changed is a conflict and stores nothing.
pub async fn idempotent_create_conflicts_on_different_inputs(store: &dyn InterviewStore) {
    let alice = user(store, "alice@example.com").await;
    let jd = store
        .create_job_description(&alice.id, "Backend", "Rust backend role")
        .await
        .expect("create jd");
    let resume = store
        .create_resume(&alice.id, "CV", "Rust, Go")
        .await
        .expect("create resume");
    let base = new_interview(&alice.id, "start-1");
    let original = store.create_interview(base.clone()).await.expect("create");

    let variants: Vec<(&str, NewInterview)> = vec![
        (
            "persona",
            NewInterview {
                persona: "A terse CTO".into(),
                ..base.clone()
            },
        ),
        (
            "duration",
            NewInterview {
                duration_ms: base.duration_ms + 1,
                ..base.clone()
            },
        ),
        (
            "job description text",
            NewInterview {
                job_description_text: "Frontend role".into(),
                ..base.clone()
            },
        ),
        (
            "resume text",
            NewInterview {
                resume_text: "Another CV".into(),
                ..base.clone()
            },
        ),
        (
            "job description id",
            NewInterview {
                job_description_id: Some(jd.id.clone()),
                ..base.clone()
            },
        ),
        (
            "resume id",
            NewInterview {
                resume_id: Some(resume.id.clone()),
                ..base.clone()
            },
        ),
    ];
    for (what, variant) in variants {
        let e = assert_kind(
            store.create_interview(variant).await,
            ErrorKind::Conflict,
            what,
        );
        assert!(
            matches!(e, StoreError::IdempotencyConflict),
            "{what}: {e:?}"
        );
    }
    let history = all_history(store, &alice.id).await;
    assert_eq!(history.len(), 1, "conflicting creates store nothing");
    assert_eq!(history[0], original);
    assert_eq!(
        store
            .create_interview(base)
            .await
            .expect("the original inputs still work"),
        original
    );
}

/// Fifty concurrent creates with one key make exactly one interview, and all of them get it.
pub async fn fifty_concurrent_creates_make_one_row(store: Arc<dyn InterviewStore>) {
    let alice = user(&*store, "alice@example.com").await;
    let new = new_interview(&alice.id, "double-click");
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = Arc::clone(&store);
            let new = new.clone();
            tokio::spawn(async move { store.create_interview(new).await })
        })
        .collect();
    let mut ids = HashSet::new();
    for t in tasks {
        let interview = t
            .await
            .expect("task")
            .expect("every concurrent create succeeds");
        ids.insert(interview.id);
    }
    assert_eq!(
        ids.len(),
        1,
        "all creates return the same interview: {ids:?}"
    );
    let history = all_history(&*store, &alice.id).await;
    assert_eq!(history.len(), 1, "exactly one row");
    assert!(ids.contains(&history[0].id));

    // A concurrent wave with other inputs under the same key only conflicts.
    let tasks: Vec<_> = (0..10u64)
        .map(|i| {
            let store = Arc::clone(&store);
            let new = NewInterview {
                duration_ms: 1_000 + i,
                ..new.clone()
            };
            tokio::spawn(async move { store.create_interview(new).await })
        })
        .collect();
    for t in tasks {
        assert_kind(
            t.await.expect("task"),
            ErrorKind::Conflict,
            "different inputs",
        );
    }
    assert_eq!(all_history(&*store, &alice.id).await.len(), 1);
}

/// Status moves follow PENDING → IN_PROGRESS → COMPLETED | ERROR and stamp their times.
pub async fn status_moves_forward_only(store: &dyn InterviewStore) {
    let alice = user(store, "alice@example.com").await;
    let i = interview(store, &alice.id, "k1").await;
    use InterviewStatus::*;

    let started = store
        .update_status(&i.id, Pending, InProgress, None, None)
        .await
        .expect("PENDING -> IN_PROGRESS");
    assert_eq!(started.status, InProgress);
    let started_at = started
        .started_at_ms
        .expect("started_at_ms set on IN_PROGRESS");
    assert!(started_at >= i.created_at_ms);
    assert_eq!(started.ended_at_ms, None);

    let retried = store
        .update_status(&i.id, InProgress, InProgress, None, None)
        .await
        .expect("a retried move to the same status is accepted");
    assert_eq!(retried, started, "and changes nothing");

    for (from, to) in [
        (InProgress, Pending),
        (Completed, InProgress),
        (Pending, Completed),
    ] {
        let e = assert_kind(
            store.update_status(&i.id, from, to, None, None).await,
            ErrorKind::Conflict,
            "illegal move",
        );
        assert!(
            matches!(e, StoreError::IllegalTransition(_)),
            "{from} -> {to}: {e:?}"
        );
    }
    assert_eq!(
        store
            .get_interview_unscoped(&i.id)
            .await
            .expect("get")
            .status,
        InProgress
    );

    let done = store
        .update_status(&i.id, InProgress, Completed, Some("user_ended"), None)
        .await
        .expect("IN_PROGRESS -> COMPLETED");
    assert_eq!(done.status, Completed);
    assert_eq!(
        done.started_at_ms,
        Some(started_at),
        "started_at_ms is kept"
    );
    let ended_at = done.ended_at_ms.expect("ended_at_ms set on COMPLETED");
    assert!(ended_at >= started_at);
    assert_eq!(done.ended_reason.as_deref(), Some("user_ended"));
    assert_eq!(done.error_message, None);
    for to in [Error, InProgress, Pending] {
        assert_kind(
            store.update_status(&i.id, Completed, to, None, None).await,
            ErrorKind::Conflict,
            "out of a terminal status",
        );
    }
    assert_eq!(
        store.get_interview(&alice.id, &i.id).await.expect("get"),
        done
    );

    let j = interview(store, &alice.id, "k2").await;
    let failed = store
        .update_status(
            &j.id,
            Pending,
            Error,
            Some("error"),
            Some("the model could not be reached"),
        )
        .await
        .expect("PENDING -> ERROR");
    assert_eq!(failed.status, Error);
    assert_eq!(failed.started_at_ms, None, "never started");
    assert!(failed.ended_at_ms.is_some());
    assert_eq!(
        failed.error_message.as_deref(),
        Some("the model could not be reached")
    );
}

/// A writer that read an old status cannot overwrite a newer one; of racing writers, one wins.
pub async fn stale_status_writer_conflicts(store: Arc<dyn InterviewStore>) {
    use InterviewStatus::*;
    let alice = user(&*store, "alice@example.com").await;
    let i = interview(&*store, &alice.id, "k1").await;
    store
        .update_status(&i.id, Pending, InProgress, None, None)
        .await
        .expect("start");
    store
        .update_status(&i.id, InProgress, Completed, Some("user_ended"), None)
        .await
        .expect("complete");

    let e = assert_kind(
        store
            .update_status(
                &i.id,
                InProgress,
                Error,
                Some("error"),
                Some("late failure"),
            )
            .await,
        ErrorKind::Conflict,
        "stale writer",
    );
    assert!(
        matches!(
            e,
            StoreError::StaleStatus {
                expected: InProgress,
                actual: Completed
            }
        ),
        "{e:?}"
    );
    let e = assert_kind(
        store
            .update_status(&i.id, Pending, InProgress, None, None)
            .await,
        ErrorKind::Conflict,
        "stale start",
    );
    assert!(
        matches!(
            e,
            StoreError::StaleStatus {
                actual: Completed,
                ..
            }
        ),
        "{e:?}"
    );
    let kept = store.get_interview_unscoped(&i.id).await.expect("get");
    assert_eq!(kept.status, Completed);
    assert_eq!(kept.ended_reason.as_deref(), Some("user_ended"));
    assert_eq!(kept.error_message, None, "the stale writer wrote nothing");

    // Ten writers race to end one interview: exactly one wins.
    let j = interview(&*store, &alice.id, "k2").await;
    store
        .update_status(&j.id, Pending, InProgress, None, None)
        .await
        .expect("start");
    let tasks: Vec<_> = (0..10)
        .map(|n| {
            let store = Arc::clone(&store);
            let id = j.id.clone();
            let to = if n % 2 == 0 { Completed } else { Error };
            tokio::spawn(async move {
                let reason = format!("writer-{n}");
                store
                    .update_status(&id, InProgress, to, Some(&reason), None)
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.expect("task") {
            Ok(won) => winners.push(won),
            Err(e) => assert_eq!(e.kind(), ErrorKind::Conflict, "losers conflict: {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer wins");
    assert_eq!(
        store.get_interview_unscoped(&j.id).await.expect("get"),
        winners[0],
        "the stored interview is the winner's"
    );
}

/// Appends are idempotent by sequence, keep the first text, and read back in order.
pub async fn transcript_append_is_idempotent_and_ordered(store: &dyn InterviewStore) {
    let alice = user(store, "alice@example.com").await;
    let i = interview(store, &alice.id, "k1").await;
    assert!(store.get_transcript(&i.id).await.expect("empty").is_empty());

    let first = vec![
        entry(2, Speaker::Ai, "And why Rust?"),
        entry(0, Speaker::Ai, "Tell me about yourself."),
        entry(
            1,
            Speaker::User,
            "I build backends — «fast» ones, with 'quotes' and \"more\".",
        ),
    ];
    assert_eq!(
        store
            .append_transcript(&i.id, &first)
            .await
            .expect("append"),
        3
    );
    assert_eq!(
        store.append_transcript(&i.id, &first).await.expect("retry"),
        0,
        "a retried batch stores nothing"
    );
    assert_eq!(
        store
            .append_transcript(&i.id, &[])
            .await
            .expect("empty batch"),
        0
    );

    let overlapping = vec![
        entry(1, Speaker::User, "A different text for an old sequence"),
        entry(3, Speaker::User, "Memory safety without a GC."),
        entry(4, Speaker::Ai, "Thanks."),
    ];
    assert_eq!(
        store
            .append_transcript(&i.id, &overlapping)
            .await
            .expect("append"),
        2
    );
    let dup_in_batch = vec![
        entry(5, Speaker::User, "first"),
        entry(5, Speaker::User, "second"),
    ];
    assert_eq!(
        store
            .append_transcript(&i.id, &dup_in_batch)
            .await
            .expect("append"),
        1
    );

    let got = store.get_transcript(&i.id).await.expect("get");
    let mut expected = vec![
        first[1].clone(),
        first[2].clone(),
        first[0].clone(),
        overlapping[1].clone(),
    ];
    expected.push(overlapping[2].clone());
    expected.push(dup_in_batch[0].clone());
    assert_eq!(got, expected, "ordered by sequence, first text kept");

    // A provisional open turn is extended by the finished entry, never shortened or
    // taken over by another speaker.
    let provisional = entry(6, Speaker::Ai, "Tell me about a ti");
    assert_eq!(
        store
            .append_transcript(&i.id, std::slice::from_ref(&provisional))
            .await
            .expect("provisional"),
        1
    );
    let mut finished = entry(6, Speaker::Ai, "Tell me about a time you failed.");
    finished.end_ms = provisional.end_ms + 2_000;
    let other_speaker = entry(6, Speaker::User, "Tell me about a time you failed. More");
    for (batch, n) in [
        (vec![finished.clone()], 1),
        (vec![provisional.clone()], 0),
        (vec![other_speaker], 0),
        (vec![finished.clone()], 0),
    ] {
        assert_eq!(
            store
                .append_transcript(&i.id, &batch)
                .await
                .expect("extend"),
            n
        );
    }
    let got = store.get_transcript(&i.id).await.expect("get");
    assert_eq!(got.len(), 7);
    assert_eq!(
        got[6], finished,
        "the finished text replaced the provisional one"
    );
    let mut wiped = entry(6, Speaker::Ai, "");
    wiped.end_ms = 0;
    store
        .append_transcript(&i.id, &[wiped])
        .await
        .expect("shorter");
    assert_eq!(store.get_transcript(&i.id).await.expect("get")[6], finished);
    // The same text with another end: the turn's end corrected (where the client's
    // playback really stopped), stored in place.
    let mut corrected = finished.clone();
    corrected.end_ms = finished.end_ms - 500;
    assert_eq!(
        store
            .append_transcript(&i.id, std::slice::from_ref(&corrected))
            .await
            .expect("corrected end"),
        1
    );
    assert_eq!(
        store.get_transcript(&i.id).await.expect("get")[6],
        corrected
    );

    // A batch larger than any single SQL statement takes.
    let big: Vec<_> = (7..1_507)
        .map(|s| {
            entry(
                s,
                if s % 2 == 0 {
                    Speaker::Ai
                } else {
                    Speaker::User
                },
                &format!("turn {s}"),
            )
        })
        .collect();
    assert_eq!(
        store
            .append_transcript(&i.id, &big)
            .await
            .expect("big batch"),
        1_500
    );
    let got = store.get_transcript(&i.id).await.expect("get");
    assert_eq!(got.len(), 1_507);
    assert!(
        got.windows(2).all(|w| w[0].sequence + 1 == w[1].sequence),
        "contiguous and ordered"
    );
    assert_eq!(got[1_506], big[1_499]);

    let other = interview(store, &alice.id, "k2").await;
    assert!(
        store
            .get_transcript(&other.id)
            .await
            .expect("get")
            .is_empty(),
        "transcripts are per interview"
    );
}

/// Another user's interviews and library items are invisible and untouchable.
pub async fn ownership_is_enforced_on_reads_and_deletes(store: &dyn InterviewStore) {
    let alice = user(store, "alice@example.com").await;
    let bob = user(store, "bob@example.com").await;
    let jd = store
        .create_job_description(&alice.id, "Backend", "Rust")
        .await
        .expect("jd");
    let resume = store
        .create_resume(&alice.id, "CV", "Ten years")
        .await
        .expect("resume");
    let i = interview(store, &alice.id, "k1").await;

    assert_kind(
        store.get_interview(&bob.id, &i.id).await,
        ErrorKind::NotFound,
        "bob reads alice's interview",
    );
    assert_kind(
        store.delete_interview(&bob.id, &i.id).await,
        ErrorKind::NotFound,
        "bob deletes alice's interview",
    );
    assert!(all_history(store, &bob.id).await.is_empty());
    assert_eq!(
        store.current_interview(&bob.id).await.expect("current"),
        None
    );
    assert_eq!(
        store
            .get_interview(&alice.id, &i.id)
            .await
            .expect("still there"),
        i
    );
    assert_eq!(
        store.get_interview_unscoped(&i.id).await.expect("unscoped"),
        i
    );

    assert_kind(
        store.get_job_description(&bob.id, &jd.id).await,
        ErrorKind::NotFound,
        "bob reads jd",
    );
    assert_kind(
        store
            .update_job_description(&bob.id, &jd.id, "Mine", "now")
            .await,
        ErrorKind::NotFound,
        "bob updates jd",
    );
    assert_kind(
        store.delete_job_description(&bob.id, &jd.id).await,
        ErrorKind::NotFound,
        "bob deletes jd",
    );
    assert_kind(
        store.get_resume(&bob.id, &resume.id).await,
        ErrorKind::NotFound,
        "bob reads resume",
    );
    assert_kind(
        store
            .update_resume(&bob.id, &resume.id, "Mine", "now")
            .await,
        ErrorKind::NotFound,
        "bob updates resume",
    );
    assert_kind(
        store.delete_resume(&bob.id, &resume.id).await,
        ErrorKind::NotFound,
        "bob deletes resume",
    );
    assert_eq!(
        store
            .get_job_description(&alice.id, &jd.id)
            .await
            .expect("jd kept"),
        jd
    );
    assert_eq!(
        store
            .get_resume(&alice.id, &resume.id)
            .await
            .expect("resume kept"),
        resume
    );
    assert!(store
        .list_job_descriptions(&bob.id)
        .await
        .expect("list")
        .is_empty());
    assert!(store.list_resumes(&bob.id).await.expect("list").is_empty());

    let with_alices_jd = NewInterview {
        job_description_id: Some(jd.id.clone()),
        ..new_interview(&bob.id, "k1")
    };
    assert_kind(
        store.create_interview(with_alices_jd).await,
        ErrorKind::NotFound,
        "bob uses alice's jd",
    );
    let with_alices_resume = NewInterview {
        resume_id: Some(resume.id.clone()),
        ..new_interview(&bob.id, "k1")
    };
    assert_kind(
        store.create_interview(with_alices_resume).await,
        ErrorKind::NotFound,
        "bob uses alice's resume",
    );
    assert!(all_history(store, &bob.id).await.is_empty());
}

/// Deleting an interview removes it with its transcript, feedback, handle and lease, and
/// frees its idempotency key.
pub async fn delete_removes_transcript_and_feedback(store: &dyn InterviewStore) {
    let alice = user(store, "alice@example.com").await;
    let i = interview(store, &alice.id, "k1").await;
    let keep = interview(store, &alice.id, "k2").await;
    for id in [&i.id, &keep.id] {
        store
            .append_transcript(
                id,
                &[
                    entry(0, Speaker::Ai, "Hello"),
                    entry(1, Speaker::User, "Hi"),
                ],
            )
            .await
            .expect("append");
        store
            .put_feedback(
                id,
                &Feedback::new(
                    "Good",
                    vec!["Clear".into()],
                    vec![],
                    FeedbackSource::Deterministic,
                ),
            )
            .await
            .expect("feedback");
        store
            .set_resumption_handle(id, Some("handle"))
            .await
            .expect("handle");
        store
            .claim_lease(id, "worker-a", 30_000, 1_000)
            .await
            .expect("lease");
    }

    store
        .delete_interview(&alice.id, &i.id)
        .await
        .expect("delete");
    assert_kind(
        store.get_interview(&alice.id, &i.id).await,
        ErrorKind::NotFound,
        "get after delete",
    );
    assert_kind(
        store.get_interview_unscoped(&i.id).await,
        ErrorKind::NotFound,
        "unscoped after delete",
    );
    assert_kind(
        store.get_transcript(&i.id).await,
        ErrorKind::NotFound,
        "transcript after delete",
    );
    assert_kind(
        store.get_feedback(&i.id).await,
        ErrorKind::NotFound,
        "feedback after delete",
    );
    assert_kind(
        store.get_resumption_handle(&i.id).await,
        ErrorKind::NotFound,
        "handle after delete",
    );
    assert_kind(
        store.claim_lease(&i.id, "worker-b", 1, 1).await,
        ErrorKind::NotFound,
        "lease after delete",
    );
    assert_kind(
        store
            .append_transcript(&i.id, &[entry(2, Speaker::Ai, "late")])
            .await,
        ErrorKind::NotFound,
        "append after delete",
    );
    assert_kind(
        store.delete_interview(&alice.id, &i.id).await,
        ErrorKind::NotFound,
        "second delete",
    );
    let history = all_history(store, &alice.id).await;
    assert_eq!(
        history.iter().map(|x| &x.id).collect::<Vec<_>>(),
        vec![&keep.id]
    );

    // The other interview kept everything.
    assert_eq!(store.get_transcript(&keep.id).await.expect("kept").len(), 2);
    assert!(store.get_feedback(&keep.id).await.expect("kept").is_some());
    assert_eq!(
        store
            .get_resumption_handle(&keep.id)
            .await
            .expect("kept")
            .as_deref(),
        Some("handle")
    );
    assert_kind(
        store.claim_lease(&keep.id, "worker-b", 1, 2).await,
        ErrorKind::Conflict,
        "lease kept",
    );

    // The key is free again, and the new interview starts empty.
    let again = interview(store, &alice.id, "k1").await;
    assert_ne!(again.id, i.id);
    assert!(store
        .get_transcript(&again.id)
        .await
        .expect("empty")
        .is_empty());
    assert_eq!(store.get_feedback(&again.id).await.expect("none"), None);
    assert_eq!(
        store.get_resumption_handle(&again.id).await.expect("none"),
        None
    );
}

/// History is newest first, paged by an opaque cursor that is stable under new inserts.
pub async fn history_paginates_newest_first(store: &dyn InterviewStore) {
    let alice = user(store, "alice@example.com").await;
    let bob = user(store, "bob@example.com").await;
    let mut created = Vec::new();
    for n in 0..23 {
        created.push(interview(store, &alice.id, &format!("k{n}")).await.id);
        if n % 8 == 0 {
            interview(store, &bob.id, &format!("k{n}")).await;
        }
        next_millisecond().await;
    }
    let newest_first: Vec<_> = created.iter().rev().cloned().collect();

    let page1 = store
        .list_interviews(&alice.id, PageRequest::first(10))
        .await
        .expect("page 1");
    assert_eq!(page1.items.len(), 10);
    let cursor1 = page1.next_cursor.clone().expect("more pages");

    // Created after page 1 was read: newer than everything, so not on later pages.
    let newer = interview(store, &alice.id, "late").await;

    let page2 = store
        .list_interviews(
            &alice.id,
            PageRequest {
                limit: 10,
                cursor: Some(cursor1),
            },
        )
        .await
        .expect("page 2");
    assert_eq!(page2.items.len(), 10);
    let page3 = store
        .list_interviews(
            &alice.id,
            PageRequest {
                limit: 10,
                cursor: Some(page2.next_cursor.clone().expect("a third page")),
            },
        )
        .await
        .expect("page 3");
    assert_eq!(page3.items.len(), 3);
    assert_eq!(page3.next_cursor, None, "no cursor after the last page");
    let paged: Vec<_> = [page1.items, page2.items, page3.items]
        .into_iter()
        .flatten()
        .map(|i| i.id)
        .collect();
    assert_eq!(paged, newest_first, "every interview once, newest first");

    let all = store
        .list_interviews(&alice.id, PageRequest::first(1_000))
        .await
        .expect("clamped to 100");
    assert_eq!(all.items.len(), 24);
    assert_eq!(all.items[0].id, newer.id);
    assert_eq!(all.next_cursor, None);
    assert!(
        all.items.iter().all(|i| i.user_id == alice.id),
        "only alice's interviews"
    );
    let one = store
        .list_interviews(&alice.id, PageRequest::first(0))
        .await
        .expect("clamped to 1");
    assert_eq!(one.items.len(), 1);
    assert!(one.next_cursor.is_some());

    for bad in ["not-a-cursor", "", "h1zz"] {
        assert_kind(
            store
                .list_interviews(
                    &alice.id,
                    PageRequest {
                        limit: 10,
                        cursor: Some(bad.to_owned()),
                    },
                )
                .await,
            ErrorKind::InvalidInput,
            "malformed cursor",
        );
    }
    assert_eq!(all_history(store, &bob.id).await.len(), 3);
}

/// Job descriptions and resumes: create, list newest first, get, update, delete, per user.
pub async fn library_crud_is_per_user(store: &dyn InterviewStore) {
    let alice = user(store, "alice@example.com").await;
    let bob = user(store, "bob@example.com").await;

    let jd1 = store
        .create_job_description(&alice.id, "Backend", "Rust and PostgreSQL")
        .await
        .expect("jd1");
    next_millisecond().await;
    let jd2 = store
        .create_job_description(
            &alice.id,
            "Robert'); DROP TABLE job_descriptions;--",
            "O'Brien \"quoted\" ✓",
        )
        .await
        .expect("jd2");
    assert_eq!(
        (jd1.user_id.as_str(), jd1.created_at_ms),
        (alice.id.as_str(), jd1.updated_at_ms)
    );
    assert_eq!(
        store.list_job_descriptions(&alice.id).await.expect("list"),
        vec![jd2.clone(), jd1.clone()],
        "newest first, text kept exactly"
    );
    assert_eq!(
        store
            .get_job_description(&alice.id, &jd1.id)
            .await
            .expect("get"),
        jd1
    );

    next_millisecond().await;
    let updated = store
        .update_job_description(
            &alice.id,
            &jd1.id,
            "Backend (senior)",
            "Rust, PostgreSQL, Kafka",
        )
        .await
        .expect("update");
    assert_eq!(
        (updated.id.as_str(), updated.created_at_ms),
        (jd1.id.as_str(), jd1.created_at_ms)
    );
    assert_eq!(
        (updated.title.as_str(), updated.content.as_str()),
        ("Backend (senior)", "Rust, PostgreSQL, Kafka")
    );
    assert!(updated.updated_at_ms > jd1.updated_at_ms);
    assert_eq!(
        store
            .get_job_description(&alice.id, &jd1.id)
            .await
            .expect("get"),
        updated
    );

    store
        .delete_job_description(&alice.id, &jd2.id)
        .await
        .expect("delete");
    assert_kind(
        store.get_job_description(&alice.id, &jd2.id).await,
        ErrorKind::NotFound,
        "deleted jd",
    );
    assert_kind(
        store.delete_job_description(&alice.id, &jd2.id).await,
        ErrorKind::NotFound,
        "second delete",
    );
    assert_eq!(
        store.list_job_descriptions(&alice.id).await.expect("list"),
        vec![updated]
    );

    let r1 = store
        .create_resume(&alice.id, "CV 2024", "Ten years")
        .await
        .expect("r1");
    next_millisecond().await;
    let r2 = store
        .create_resume(&alice.id, "CV 2025", "Eleven years")
        .await
        .expect("r2");
    assert_eq!(
        store.list_resumes(&alice.id).await.expect("list"),
        vec![r2.clone(), r1.clone()]
    );
    let r1b = store
        .update_resume(&alice.id, &r1.id, "CV 2024 (short)", "Ten")
        .await
        .expect("update");
    assert_eq!(store.get_resume(&alice.id, &r1.id).await.expect("get"), r1b);
    store
        .delete_resume(&alice.id, &r2.id)
        .await
        .expect("delete");
    assert_eq!(
        store.list_resumes(&alice.id).await.expect("list"),
        vec![r1b]
    );

    let bobs = store
        .create_resume(&bob.id, "Bob's CV", "Five years")
        .await
        .expect("bob");
    assert_eq!(store.list_resumes(&bob.id).await.expect("list"), vec![bobs]);
    assert!(store
        .list_job_descriptions(&bob.id)
        .await
        .expect("list")
        .is_empty());

    assert_kind(
        store.create_job_description(MISSING_ID, "x", "y").await,
        ErrorKind::NotFound,
        "jd for an unknown user",
    );
    assert_kind(
        store.create_resume(MISSING_ID, "x", "y").await,
        ErrorKind::NotFound,
        "resume for an unknown user",
    );
    assert_kind(
        store.update_resume(&alice.id, MISSING_ID, "x", "y").await,
        ErrorKind::NotFound,
        "update of an unknown resume",
    );
}

/// An interview keeps the texts it was created with, whatever happens to the library.
pub async fn snapshots_survive_library_edits(store: &dyn InterviewStore) {
    let alice = user(store, "alice@example.com").await;
    let jd = store
        .create_job_description(&alice.id, "Backend", "Original job text")
        .await
        .expect("jd");
    let resume = store
        .create_resume(&alice.id, "CV", "Original resume text")
        .await
        .expect("resume");
    let new = NewInterview {
        job_description_id: Some(jd.id.clone()),
        resume_id: Some(resume.id.clone()),
        job_description_text: jd.content.clone(),
        resume_text: resume.content.clone(),
        ..new_interview(&alice.id, "k1")
    };
    let i = store.create_interview(new.clone()).await.expect("create");
    assert_eq!(i.job_description_id.as_deref(), Some(jd.id.as_str()));
    assert_eq!(i.resume_id.as_deref(), Some(resume.id.as_str()));

    store
        .update_job_description(&alice.id, &jd.id, "Backend v2", "Edited job text")
        .await
        .expect("edit jd");
    store
        .delete_resume(&alice.id, &resume.id)
        .await
        .expect("delete resume");

    let kept = store.get_interview(&alice.id, &i.id).await.expect("get");
    assert_eq!(kept, i, "snapshots and ids are unchanged");
    assert_eq!(kept.job_description_snapshot, "Original job text");
    assert_eq!(kept.resume_snapshot, "Original resume text");
    assert_eq!(
        store
            .create_interview(new)
            .await
            .expect("retry after the edits"),
        i,
        "a retry still finds the interview"
    );
    assert_kind(
        store
            .create_interview(NewInterview {
                resume_id: Some(resume.id.clone()),
                ..new_interview(&alice.id, "k2")
            })
            .await,
        ErrorKind::NotFound,
        "a deleted resume cannot start a new interview",
    );
}

/// One worker holds the lease until it lapses; then another may take it.
pub async fn lease_excludes_second_worker_until_expiry(store: &dyn InterviewStore) {
    let alice = user(store, "alice@example.com").await;
    let i = interview(store, &alice.id, "k1").await;
    let t0: i64 = 1_700_000_000_000;
    let ttl: u64 = 30_000;

    let a = store
        .claim_lease(&i.id, "worker-a", ttl, t0)
        .await
        .expect("a claims");
    assert_eq!(
        (
            a.interview_id.as_str(),
            a.worker_id.as_str(),
            a.expires_at_ms
        ),
        (i.id.as_str(), "worker-a", t0 + 30_000)
    );
    let e = assert_kind(
        store.claim_lease(&i.id, "worker-b", ttl, t0 + 1).await,
        ErrorKind::Conflict,
        "b claims a live lease",
    );
    assert!(matches!(e, StoreError::LeaseHeld), "{e:?}");
    let a = store
        .claim_lease(&i.id, "worker-a", ttl, t0 + 10)
        .await
        .expect("a re-claims");
    assert_eq!(a.expires_at_ms, t0 + 10 + 30_000, "re-claiming extends");
    let a = store
        .renew_lease(&i.id, "worker-a", ttl, t0 + 20_000)
        .await
        .expect("a renews");
    assert_eq!(a.expires_at_ms, t0 + 50_000);
    assert_kind(
        store.renew_lease(&i.id, "worker-b", ttl, t0 + 20_000).await,
        ErrorKind::Conflict,
        "b renews a's lease",
    );
    assert_kind(
        store.release_lease(&i.id, "worker-b").await,
        ErrorKind::Conflict,
        "b releases a's lease",
    );
    assert_kind(
        store.claim_lease(&i.id, "worker-b", ttl, t0 + 49_999).await,
        ErrorKind::Conflict,
        "b claims 1 ms before expiry",
    );

    let b = store
        .claim_lease(&i.id, "worker-b", ttl, t0 + 50_000)
        .await
        .expect("b claims at expiry");
    assert_eq!(
        (b.worker_id.as_str(), b.expires_at_ms),
        ("worker-b", t0 + 80_000)
    );
    assert_kind(
        store.renew_lease(&i.id, "worker-a", ttl, t0 + 50_001).await,
        ErrorKind::Conflict,
        "a lost its lease",
    );
    assert_kind(
        store.release_lease(&i.id, "worker-a").await,
        ErrorKind::Conflict,
        "a cannot release b's lease",
    );
    assert_kind(
        store.claim_lease(&i.id, "worker-a", ttl, t0 + 50_001).await,
        ErrorKind::Conflict,
        "a cannot take it back",
    );

    // An expired lease that nobody took over is still its holder's to renew.
    let b = store
        .renew_lease(&i.id, "worker-b", ttl, t0 + 500_000)
        .await
        .expect("late renew");
    assert_eq!(b.expires_at_ms, t0 + 530_000);

    store
        .release_lease(&i.id, "worker-b")
        .await
        .expect("b releases");
    store
        .release_lease(&i.id, "worker-b")
        .await
        .expect("releasing twice is a no-op");
    assert_kind(
        store
            .renew_lease(&i.id, "worker-b", ttl, t0 + 500_001)
            .await,
        ErrorKind::Conflict,
        "renew after release",
    );
    let a = store
        .claim_lease(&i.id, "worker-a", ttl, t0 + 500_001)
        .await
        .expect("a claims a released lease");
    assert_eq!(a.worker_id, "worker-a");

    let other = interview(store, &alice.id, "k2").await;
    store
        .claim_lease(&other.id, "worker-b", ttl, t0 + 500_001)
        .await
        .expect("leases are per interview");
}

/// Of many workers claiming one lease at once, exactly one gets it.
pub async fn concurrent_lease_claims_have_one_winner(store: Arc<dyn InterviewStore>) {
    let alice = user(&*store, "alice@example.com").await;
    let i = interview(&*store, &alice.id, "k1").await;
    let now = 1_700_000_000_000;
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let store = Arc::clone(&store);
            let id = i.id.clone();
            tokio::spawn(async move {
                store
                    .claim_lease(&id, &format!("worker-{n}"), 30_000, now)
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.expect("task") {
            Ok(lease) => winners.push(lease),
            Err(e) => assert_eq!(e.kind(), ErrorKind::Conflict, "{e:?}"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one worker holds the lease: {winners:?}"
    );
    let holder = &winners[0].worker_id;
    store
        .renew_lease(&i.id, holder, 30_000, now + 1)
        .await
        .expect("the winner holds it");
}

/// Feedback is stored as a whole and replaced as a whole.
pub async fn feedback_round_trips(store: &dyn InterviewStore) {
    let alice = user(store, "alice@example.com").await;
    let i = interview(store, &alice.id, "k1").await;
    assert_eq!(store.get_feedback(&i.id).await.expect("none yet"), None);

    let first = Feedback::new(
        "Automatic summary: you answered 3 times.",
        vec!["You answered every question.".into()],
        vec!["Speak up: one answer had no words.".into()],
        FeedbackSource::Deterministic,
    );
    store.put_feedback(&i.id, &first).await.expect("put");
    assert_eq!(store.get_feedback(&i.id).await.expect("get"), Some(first));

    let second = Feedback::new(
        "Clear answers — «ownership» explained well; \"quotes\" and \\ kept.",
        vec![],
        vec![
            "Give numbers".into(),
            "Shorter intros".into(),
            String::new(),
        ],
        FeedbackSource::Gemini,
    );
    store.put_feedback(&i.id, &second).await.expect("replace");
    assert_eq!(store.get_feedback(&i.id).await.expect("get"), Some(second));

    let other = interview(store, &alice.id, "k2").await;
    assert_eq!(
        store.get_feedback(&other.id).await.expect("per interview"),
        None
    );
}

/// The Gemini Live resumption handle is stored, replaced and cleared.
pub async fn resumption_handle_round_trips(store: &dyn InterviewStore) {
    let alice = user(store, "alice@example.com").await;
    let i = interview(store, &alice.id, "k1").await;
    assert_eq!(
        store.get_resumption_handle(&i.id).await.expect("none yet"),
        None
    );
    store
        .set_resumption_handle(&i.id, Some("Cg0KC2hhbmRsZS0wMDE="))
        .await
        .expect("set");
    assert_eq!(
        store
            .get_resumption_handle(&i.id)
            .await
            .expect("get")
            .as_deref(),
        Some("Cg0KC2hhbmRsZS0wMDE=")
    );
    store
        .set_resumption_handle(&i.id, Some("handle-2"))
        .await
        .expect("replace");
    assert_eq!(
        store
            .get_resumption_handle(&i.id)
            .await
            .expect("get")
            .as_deref(),
        Some("handle-2")
    );
    store
        .set_resumption_handle(&i.id, None)
        .await
        .expect("clear");
    assert_eq!(store.get_resumption_handle(&i.id).await.expect("get"), None);
    assert_eq!(
        store.get_interview(&alice.id, &i.id).await.expect("get"),
        i,
        "the handle is not part of the interview record"
    );
}

/// Why the model failed is stored on the interview next to its `error_message`, read
/// back with it, replaced when written again, and refused for unknown interviews and NUL.
pub async fn error_kind_is_stored_on_the_interview(store: &dyn InterviewStore) {
    let alice = user(store, "alice@example.com").await;
    let i = interview(store, &alice.id, "k1").await;
    assert_eq!(i.error_kind, None, "none on a new interview");
    let failed = store
        .update_status(
            &i.id,
            InterviewStatus::Pending,
            InterviewStatus::Error,
            Some("model_closed"),
            Some("The interviewer is over its usage limit right now."),
        )
        .await
        .expect("to ERROR");
    assert_eq!(failed.error_kind, None);
    store.set_error_kind(&i.id, "quota").await.expect("set");
    store.set_error_kind(&i.id, "quota").await.expect("again");
    let read = store.get_interview(&alice.id, &i.id).await.expect("get");
    assert_eq!(read.error_kind.as_deref(), Some("quota"));
    assert_eq!(
        read.error_message.as_deref(),
        Some("The interviewer is over its usage limit right now.")
    );
    let listed = store
        .list_interviews(&alice.id, PageRequest::first(10))
        .await
        .expect("history");
    assert_eq!(listed.items[0].error_kind.as_deref(), Some("quota"));
    store
        .set_error_kind(&i.id, "service")
        .await
        .expect("replace");
    assert_eq!(
        store
            .get_interview(&alice.id, &i.id)
            .await
            .expect("get")
            .error_kind
            .as_deref(),
        Some("service")
    );
    assert!(matches!(
        store.set_error_kind(&i.id, "bad\0kind").await,
        Err(e) if e.kind() == ErrorKind::InvalidInput
    ));
    assert!(matches!(
        store.set_error_kind(MISSING_ID, "quota").await,
        Err(e) if e.kind() == ErrorKind::NotFound
    ));
}

/// Error messages name the failure, never SQL, tables or database internals; hostile ids
/// and texts are plain data.
pub async fn errors_do_not_leak_sql(store: &dyn InterviewStore) {
    let alice = user(store, "alice@example.com").await;
    let i = interview(store, &alice.id, "k1").await;
    let hostile = "x' OR '1'='1'; DROP TABLE interviews; --";
    let mut errors: Vec<StoreError> = Vec::new();

    errors.push(assert_kind(
        store.get_interview(&alice.id, hostile).await,
        ErrorKind::NotFound,
        "hostile id",
    ));
    errors.push(assert_kind(
        store.get_interview_unscoped(hostile).await,
        ErrorKind::NotFound,
        "hostile id",
    ));
    errors.push(assert_kind(
        store.delete_interview(hostile, &i.id).await,
        ErrorKind::NotFound,
        "hostile user",
    ));
    errors.push(assert_kind(
        store.get_user(hostile).await,
        ErrorKind::NotFound,
        "hostile user",
    ));
    errors.push(assert_kind(
        store
            .create_interview(NewInterview {
                persona: "other".into(),
                ..new_interview(&alice.id, "k1")
            })
            .await,
        ErrorKind::Conflict,
        "idempotency conflict",
    ));
    errors.push(assert_kind(
        store
            .update_status(
                &i.id,
                InterviewStatus::InProgress,
                InterviewStatus::Completed,
                None,
                None,
            )
            .await,
        ErrorKind::Conflict,
        "stale status",
    ));
    errors.push(assert_kind(
        store
            .update_status(
                &i.id,
                InterviewStatus::Completed,
                InterviewStatus::Pending,
                None,
                None,
            )
            .await,
        ErrorKind::Conflict,
        "illegal move",
    ));
    store
        .claim_lease(&i.id, "worker-a", 10_000, 0)
        .await
        .expect("claim");
    errors.push(assert_kind(
        store.claim_lease(&i.id, "worker-b", 10_000, 1).await,
        ErrorKind::Conflict,
        "lease held",
    ));
    errors.push(assert_kind(
        store
            .list_interviews(
                &alice.id,
                PageRequest {
                    limit: 5,
                    cursor: Some(hostile.into()),
                },
            )
            .await,
        ErrorKind::InvalidInput,
        "hostile cursor",
    ));
    errors.push(assert_kind(
        store.create_resume(&alice.id, "nul\0title", "x").await,
        ErrorKind::InvalidInput,
        "NUL text",
    ));
    errors.push(assert_kind(
        store
            .append_transcript(hostile, &[entry(0, Speaker::Ai, "x")])
            .await,
        ErrorKind::NotFound,
        "hostile interview id",
    ));

    const LEAKS: &[&str] = &[
        "select",
        "insert",
        "update ",
        "delete",
        " from ",
        "where",
        "sqlite",
        "postgres",
        "sqlx",
        "constraint",
        "violat",
        "relation",
        "table",
        "column",
        "syntax",
        "duplicate key",
        "interviews",
        "leases",
        "drop",
    ];
    for e in &errors {
        let message = e.to_string().to_lowercase();
        for word in LEAKS {
            assert!(
                !message.contains(word),
                "error message {message:?} leaks {word:?}"
            );
        }
    }

    // The hostile strings were data: nothing was dropped or matched.
    assert_eq!(
        store
            .get_interview(&alice.id, &i.id)
            .await
            .expect("still there"),
        i
    );
    let r = store
        .create_resume(&alice.id, hostile, hostile)
        .await
        .expect("hostile text is stored as is");
    assert_eq!(
        store
            .get_resume(&alice.id, &r.id)
            .await
            .expect("get")
            .content,
        hostile
    );
}

/// A sign-in identity (provider + subject) owns its account: the same identity finds it
/// again, another identity with the same email is refused, and an account stored by
/// `upsert_user` is claimed by its first identity.
pub async fn identities_never_merge_by_email(store: &dyn InterviewStore) {
    let a = store
        .sign_in_user("google", "sub-1", "lin@example.com", "Lin")
        .await
        .expect("google sign-in");
    let again = store
        .sign_in_user("google", "sub-1", "lin@example.com", "Lin B")
        .await
        .expect("same identity");
    assert_eq!(again.id, a.id);
    assert_eq!(again.name, "Lin B");
    for (provider, subject) in [("dev", "lin@example.com"), ("google", "sub-2")] {
        let e = store
            .sign_in_user(provider, subject, "lin@example.com", "Mallory")
            .await
            .expect_err("another identity with the same email");
        assert!(matches!(e, StoreError::IdentityConflict), "{e:?}");
        assert_eq!(e.kind(), crate::ErrorKind::Conflict);
    }
    assert_eq!(store.get_user(&a.id).await.expect("user").name, "Lin B");
    let legacy = store
        .upsert_user("old@example.com", "Old")
        .await
        .expect("upsert");
    let claimed = store
        .sign_in_user("dev", "old@example.com", "old@example.com", "Old")
        .await
        .expect("claim");
    assert_eq!(claimed.id, legacy.id);
    let e = store
        .sign_in_user("google", "sub-9", "old@example.com", "Old")
        .await
        .expect_err("claimed by dev");
    assert!(matches!(e, StoreError::IdentityConflict), "{e:?}");
    let nul = store
        .sign_in_user("dev", "x", "nul\0@example.com", "x")
        .await;
    assert!(matches!(nul, Err(StoreError::InvalidInput(_))), "{nul:?}");
}

/// Library usage counts both libraries of the user (documents and UTF-8 bytes of titles
/// and contents) and no one else's, and follows updates and deletes.
pub async fn library_usage_counts_documents_and_bytes(store: &dyn InterviewStore) {
    let a = store
        .sign_in_user("dev", "use-a@example.com", "use-a@example.com", "A")
        .await
        .expect("a");
    let b = store
        .sign_in_user("dev", "use-b@example.com", "use-b@example.com", "B")
        .await
        .expect("b");
    let zero = crate::LibraryUsage::default();
    assert_eq!(store.library_usage(&a.id).await.expect("usage"), zero);
    let jd = store
        .create_job_description(&a.id, "Role", "Rust, café")
        .await
        .expect("jd");
    store
        .create_resume(&a.id, "CV", "twelve bytes")
        .await
        .expect("resume");
    store
        .create_resume(&b.id, "Other", "not counted for a")
        .await
        .expect("other");
    // "Rust, café" is 11 bytes in UTF-8 (10 characters).
    let usage = store.library_usage(&a.id).await.expect("usage");
    assert_eq!(usage.documents, 2);
    assert_eq!(usage.bytes, 4 + 11 + 2 + 12);
    store
        .update_job_description(&a.id, &jd.id, "Role", "x")
        .await
        .expect("update");
    assert_eq!(
        store.library_usage(&a.id).await.expect("usage").bytes,
        4 + 1 + 2 + 12
    );
    store
        .delete_job_description(&a.id, &jd.id)
        .await
        .expect("delete");
    let usage = store.library_usage(&a.id).await.expect("usage");
    assert_eq!((usage.documents, usage.bytes), (1, 14));
    assert_eq!(
        store.library_usage("no-such-user").await.expect("usage"),
        zero
    );
}

/// Session versions start at 0 and each revocation increments them, per user.
pub async fn sign_out_revokes_sessions(store: &dyn InterviewStore) {
    let a = store
        .sign_in_user("dev", "a@example.com", "a@example.com", "A")
        .await
        .expect("a");
    let b = store
        .sign_in_user("dev", "b@example.com", "b@example.com", "B")
        .await
        .expect("b");
    assert_eq!(store.session_version(&a.id).await.expect("v"), 0);
    assert_eq!(store.revoke_sessions(&a.id).await.expect("revoke"), 1);
    assert_eq!(store.revoke_sessions(&a.id).await.expect("revoke"), 2);
    assert_eq!(store.session_version(&a.id).await.expect("v"), 2);
    assert_eq!(store.session_version(&b.id).await.expect("v"), 0);
    let missing = store.session_version("no-such-user").await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
    let missing = store.revoke_sessions("no-such-user").await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
}

/// Users are found by email; signing in again updates the name.
pub async fn upsert_user_finds_by_email(store: &dyn InterviewStore) {
    let first = store
        .upsert_user("ada@example.com", "Ada")
        .await
        .expect("create");
    assert_eq!(
        (first.email.as_str(), first.name.as_str()),
        ("ada@example.com", "Ada")
    );
    let again = store
        .upsert_user("ada@example.com", "Ada Lovelace")
        .await
        .expect("update");
    assert_eq!(again.id, first.id);
    assert_eq!(again.created_at_ms, first.created_at_ms);
    assert_eq!(again.name, "Ada Lovelace");
    assert_eq!(store.get_user(&first.id).await.expect("get"), again);
    let other = store
        .upsert_user("grace@example.com", "Grace")
        .await
        .expect("another");
    assert_ne!(other.id, first.id);
    assert_kind(
        store.get_user(MISSING_ID).await,
        ErrorKind::NotFound,
        "unknown user",
    );
    assert_kind(
        store
            .create_interview(new_interview(MISSING_ID, "k1"))
            .await,
        ErrorKind::NotFound,
        "interview for an unknown user",
    );
}

/// The current interview is the newest PENDING or IN_PROGRESS one.
pub async fn current_interview_is_newest_live(store: &dyn InterviewStore) {
    use InterviewStatus::*;
    let alice = user(store, "alice@example.com").await;
    assert_eq!(
        store.current_interview(&alice.id).await.expect("none"),
        None
    );
    let older = interview(store, &alice.id, "k1").await;
    assert_eq!(
        store.current_interview(&alice.id).await.expect("one"),
        Some(older.clone())
    );
    next_millisecond().await;
    let newer = interview(store, &alice.id, "k2").await;
    assert_eq!(
        store.current_interview(&alice.id).await.expect("newest"),
        Some(newer.clone())
    );

    store
        .update_status(
            &newer.id,
            Pending,
            Error,
            Some("error"),
            Some("no microphone"),
        )
        .await
        .expect("fail newer");
    assert_eq!(
        store
            .current_interview(&alice.id)
            .await
            .expect("older again")
            .map(|i| i.id),
        Some(older.id.clone())
    );
    let live = store
        .update_status(&older.id, Pending, InProgress, None, None)
        .await
        .expect("start older");
    assert_eq!(
        store
            .current_interview(&alice.id)
            .await
            .expect("in progress"),
        Some(live.clone())
    );
    assert_eq!(
        store.interviews_in_progress().await.expect("in progress"),
        vec![live],
        "only IN_PROGRESS interviews are listed for recovery"
    );
    store
        .update_status(&older.id, InProgress, Completed, Some("user_ended"), None)
        .await
        .expect("complete");
    assert_eq!(
        store.current_interview(&alice.id).await.expect("none left"),
        None
    );
    assert!(store
        .interviews_in_progress()
        .await
        .expect("none in progress")
        .is_empty());
}

/// Input no backend can keep is rejected the same way everywhere, storing nothing.
pub async fn invalid_input_is_rejected(store: &dyn InterviewStore) {
    let nul = "a\0b";
    assert_kind(
        store.upsert_user(nul, "x").await,
        ErrorKind::InvalidInput,
        "NUL email",
    );
    assert_kind(
        store.upsert_user("x@example.com", nul).await,
        ErrorKind::InvalidInput,
        "NUL name",
    );
    let alice = user(store, "alice@example.com").await;
    assert_kind(
        store.create_job_description(&alice.id, nul, "x").await,
        ErrorKind::InvalidInput,
        "NUL title",
    );
    let i = interview(store, &alice.id, "k1").await;
    assert_kind(
        store
            .create_interview(NewInterview {
                persona: nul.into(),
                ..new_interview(&alice.id, "k2")
            })
            .await,
        ErrorKind::InvalidInput,
        "NUL persona",
    );
    assert_kind(
        store
            .create_interview(NewInterview {
                duration_ms: u64::MAX,
                ..new_interview(&alice.id, "k3")
            })
            .await,
        ErrorKind::InvalidInput,
        "duration beyond i64",
    );
    let batch = vec![
        entry(0, Speaker::Ai, "fine"),
        TranscriptEntry {
            end_ms: u64::MAX,
            interrupted: false,
            heard_text: None,
            ..entry(1, Speaker::User, "time beyond i64")
        },
    ];
    assert_kind(
        store.append_transcript(&i.id, &batch).await,
        ErrorKind::InvalidInput,
        "time beyond i64",
    );
    assert_kind(
        store
            .append_transcript(&i.id, &[entry(0, Speaker::Ai, nul)])
            .await,
        ErrorKind::InvalidInput,
        "NUL transcript text",
    );
    assert!(
        store.get_transcript(&i.id).await.expect("get").is_empty(),
        "a rejected batch stores nothing"
    );
    assert_kind(
        store
            .put_feedback(
                &i.id,
                &Feedback::new("ok", vec![nul.into()], vec![], FeedbackSource::Gemini),
            )
            .await,
        ErrorKind::InvalidInput,
        "NUL in feedback",
    );
    assert_eq!(store.get_feedback(&i.id).await.expect("get"), None);
    assert_kind(
        store.set_resumption_handle(&i.id, Some(nul)).await,
        ErrorKind::InvalidInput,
        "NUL handle",
    );
    assert_kind(
        store.claim_lease(&i.id, nul, 1, 0).await,
        ErrorKind::InvalidInput,
        "NUL worker",
    );
    assert_kind(
        store.claim_lease(&i.id, "w", u64::MAX, 0).await,
        ErrorKind::InvalidInput,
        "ttl beyond i64",
    );
    assert_kind(
        store
            .update_status(
                &i.id,
                InterviewStatus::Pending,
                InterviewStatus::Error,
                Some(nul),
                None,
            )
            .await,
        ErrorKind::InvalidInput,
        "NUL reason",
    );
    assert_eq!(
        store
            .get_interview(&alice.id, &i.id)
            .await
            .expect("unchanged"),
        i,
        "rejected calls change nothing"
    );
    assert_eq!(all_history(store, &alice.id).await.len(), 1);
}

/// Calls on an interview id that does not exist are NotFound, never a silent success.
pub async fn unknown_ids_are_not_found(store: &dyn InterviewStore) {
    use InterviewStatus::*;
    let alice = user(store, "alice@example.com").await;
    let id = MISSING_ID;
    assert_kind(
        store.get_interview(&alice.id, id).await,
        ErrorKind::NotFound,
        "get_interview",
    );
    assert_kind(
        store.get_interview_unscoped(id).await,
        ErrorKind::NotFound,
        "get_interview_unscoped",
    );
    assert_kind(
        store.delete_interview(&alice.id, id).await,
        ErrorKind::NotFound,
        "delete_interview",
    );
    assert_kind(
        store
            .update_status(id, Pending, InProgress, None, None)
            .await,
        ErrorKind::NotFound,
        "update_status",
    );
    assert_kind(
        store.update_status(id, Pending, Pending, None, None).await,
        ErrorKind::NotFound,
        "update_status retry",
    );
    assert_kind(
        store
            .append_transcript(id, &[entry(0, Speaker::Ai, "x")])
            .await,
        ErrorKind::NotFound,
        "append",
    );
    assert_kind(
        store.append_transcript(id, &[]).await,
        ErrorKind::NotFound,
        "empty append",
    );
    assert_kind(
        store.get_transcript(id).await,
        ErrorKind::NotFound,
        "get_transcript",
    );
    let f = Feedback::new("x", vec![], vec![], FeedbackSource::Deterministic);
    assert_kind(
        store.put_feedback(id, &f).await,
        ErrorKind::NotFound,
        "put_feedback",
    );
    assert_kind(
        store.get_feedback(id).await,
        ErrorKind::NotFound,
        "get_feedback",
    );
    assert_kind(
        store.set_resumption_handle(id, Some("h")).await,
        ErrorKind::NotFound,
        "set handle",
    );
    assert_kind(
        store.set_resumption_handle(id, None).await,
        ErrorKind::NotFound,
        "clear handle",
    );
    assert_kind(
        store.get_resumption_handle(id).await,
        ErrorKind::NotFound,
        "get handle",
    );
    assert_kind(
        store.claim_lease(id, "w", 1, 0).await,
        ErrorKind::NotFound,
        "claim_lease",
    );
    assert_kind(
        store.renew_lease(id, "w", 1, 0).await,
        ErrorKind::NotFound,
        "renew_lease",
    );
    assert_kind(
        store.release_lease(id, "w").await,
        ErrorKind::NotFound,
        "release_lease",
    );
    assert_kind(
        store.get_job_description(&alice.id, id).await,
        ErrorKind::NotFound,
        "get jd",
    );
    assert_kind(
        store.delete_resume(&alice.id, id).await,
        ErrorKind::NotFound,
        "delete resume",
    );
}

/// Overlapping batches appended concurrently store each sequence once, and the counts
/// returned add up to the entries stored.
pub async fn concurrent_transcript_appends_store_each_entry_once(store: Arc<dyn InterviewStore>) {
    let alice = user(&*store, "alice@example.com").await;
    let i = interview(&*store, &alice.id, "k1").await;
    let all: Vec<TranscriptEntry> = (0..40)
        .map(|s| {
            entry(
                s,
                if s % 2 == 0 {
                    Speaker::Ai
                } else {
                    Speaker::User
                },
                &format!("turn {s}"),
            )
        })
        .collect();
    let tasks: Vec<_> = (0..8usize)
        .map(|n| {
            let store = Arc::clone(&store);
            let id = i.id.clone();
            let mut batches: Vec<Vec<TranscriptEntry>> =
                all.chunks(10).map(<[_]>::to_vec).collect();
            batches.rotate_left(n % 4);
            if n % 2 == 1 {
                for b in &mut batches {
                    b.reverse();
                }
            }
            tokio::spawn(async move {
                let mut stored = 0u32;
                for b in batches {
                    stored += store.append_transcript(&id, &b).await.expect("append");
                }
                stored
            })
        })
        .collect();
    let mut total = 0u32;
    for t in tasks {
        total += t.await.expect("task");
    }
    assert_eq!(total, 40, "each entry counted once across all writers");
    assert_eq!(store.get_transcript(&i.id).await.expect("get"), all);
}

// ---- fixtures that own a database ----

/// A SQLite database in a fresh file under the system temp directory, removed (with its
/// WAL files) on drop.
#[cfg(feature = "sqlite")]
#[derive(Debug)]
pub struct SqliteTestFile {
    store: crate::SqliteStore,
    path: std::path::PathBuf,
}

#[cfg(feature = "sqlite")]
impl SqliteTestFile {
    /// Creates `preppal_test_<uuid>.db` in the temp directory and opens a store on it.
    ///
    /// # Errors
    /// Those of [`crate::SqliteStore::open`].
    pub async fn create() -> Result<Self, StoreError> {
        let path =
            std::env::temp_dir().join(format!("preppal_test_{}.db", uuid::Uuid::new_v4().simple()));
        let store = crate::SqliteStore::open(&path.to_string_lossy()).await?;
        Ok(Self { store, path })
    }

    /// The store on the file.
    pub fn sqlite(&self) -> &crate::SqliteStore {
        &self.store
    }

    /// The database file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

#[cfg(feature = "sqlite")]
impl StoreFixture for SqliteTestFile {
    fn store(&self) -> Arc<dyn InterviewStore> {
        Arc::new(self.store.clone())
    }
}

#[cfg(feature = "sqlite")]
impl Drop for SqliteTestFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            // Missing files are fine: WAL files only exist while connections are open.
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A PostgreSQL database `preppal_test_<uuid>` of its own, dropped (`WITH (FORCE)`) when
/// this value is dropped.
///
/// The server is the one at `PREPPAL_TEST_POSTGRES_URL`, by default
/// `postgres://postgres@127.0.0.1:5432/postgres`; its user must be allowed to create
/// databases.
#[cfg(feature = "postgres")]
#[derive(Debug)]
pub struct PgTestDatabase {
    store: crate::PgStore,
    admin_url: String,
    name: String,
}

#[cfg(feature = "postgres")]
impl PgTestDatabase {
    /// The environment variable naming the server.
    pub const URL_VAR: &'static str = "PREPPAL_TEST_POSTGRES_URL";
    /// The server used when [`PgTestDatabase::URL_VAR`] is not set.
    pub const DEFAULT_URL: &'static str = "postgres://postgres@127.0.0.1:5432/postgres";

    /// The admin URL from the environment, or the default.
    pub fn server_url() -> String {
        std::env::var(Self::URL_VAR).unwrap_or_else(|_| Self::DEFAULT_URL.to_owned())
    }

    /// Creates a fresh database on [`PgTestDatabase::server_url`] and connects a store to
    /// it (applying the migrations).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Unavailable`] when the server cannot be reached; the errors of
    /// `CREATE DATABASE` and [`crate::PgStore::connect`] otherwise.
    pub async fn create() -> Result<Self, StoreError> {
        use sqlx::Connection;

        let admin_url = Self::server_url();
        let name = format!("preppal_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
        // `name` is made here from a UUID: safe to splice.
        let sql = format!("CREATE DATABASE \"{name}\"");
        sqlx::query(&sql).execute(&mut admin).await?;
        let _ = admin.close().await;
        let guard_url = admin_url.clone();
        match crate::PgStore::connect(&database_url(&admin_url, &name)).await {
            Ok(store) => Ok(Self {
                store,
                admin_url,
                name,
            }),
            Err(e) => {
                drop_database(guard_url, name);
                Err(e)
            }
        }
    }

    /// The store on the database.
    pub fn pg(&self) -> &crate::PgStore {
        &self.store
    }

    /// The database name, `preppal_test_<uuid>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of the database, for other processes or stores to connect to: the server
    /// URL with its database path replaced (query string kept).
    pub fn url(&self) -> String {
        database_url(&self.admin_url, &self.name)
    }
}

#[cfg(feature = "postgres")]
impl StoreFixture for PgTestDatabase {
    fn store(&self) -> Arc<dyn InterviewStore> {
        Arc::new(self.store.clone())
    }
}

#[cfg(feature = "postgres")]
impl Drop for PgTestDatabase {
    fn drop(&mut self) {
        drop_database(self.admin_url.clone(), std::mem::take(&mut self.name));
    }
}

/// `url` with its database path replaced by `name` (query string kept).
#[cfg(feature = "postgres")]
fn database_url(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// Drops database `name` on its own thread and runtime (this may run inside another
/// runtime, during a drop), waiting for it to finish.
#[cfg(feature = "postgres")]
fn drop_database(admin_url: String, name: String) {
    if name.is_empty() {
        return;
    }
    let worker = std::thread::spawn(move || {
        use sqlx::Connection;
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        let result: Result<(), sqlx::Error> = runtime.block_on(async {
            let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            sqlx::query(&sql).execute(&mut admin).await?;
            admin.close().await
        });
        if let Err(e) = result {
            eprintln!("could not drop test database {name}: {e}");
        }
    });
    let _ = worker.join();
}

#[cfg(all(test, feature = "postgres"))]
mod tests {
    #[test]
    fn database_url_replaces_the_path() {
        use super::database_url;
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            database_url("postgres://u:p@h/db?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(
            database_url("postgresql://h:5432", "t3"),
            "postgresql://h:5432/t3"
        );
    }
}
