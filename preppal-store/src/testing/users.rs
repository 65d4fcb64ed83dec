//! Contract cases: users and sign-in: accounts found by email, identities, session revocation.

use super::*;

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
