//! Contract cases: the interview lifecycle: compare-and-set status moves, and why the model failed.

use super::*;

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
