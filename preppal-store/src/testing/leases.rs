//! Contract cases: the worker lease on a live interview.

use super::*;

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
