//! Contract cases: the job description and resume libraries, their usage, and the snapshots interviews keep.

use super::*;

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
