//! Contract cases: feedback documents and Gemini Live resumption handles, kept per interview.

use super::*;

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
