//! Contract cases: interview creation (idempotent by key), history, the current interview and deletion.

use super::*;

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
