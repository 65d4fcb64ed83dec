//! Contract cases: what a store refuses and how: ownership, unknown ids, invalid input, errors without SQL.

use super::*;

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
