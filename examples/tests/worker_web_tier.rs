//! The worker's client of the web tier against the web tier of the same process
//! (`InProcessWebTier` over a memory store): leases (a takeover waits for the owner's
//! lease to lapse, a lease that never lapses is refused, a lease taken by another worker is
//! lost) and a refused entry is tried once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use preppal_core::proto::{worker_api_request::Request, worker_api_response::Response as Reply};
use preppal_core::{Speaker, TranscriptEntry};
use preppal_examples::server::web::in_process::InProcessWebTier;
use preppal_examples::server::worker::lease::{acquire, LeaseConfig, LeaseError};
use preppal_examples::server::worker::web_client::{
    WebTierClient, WebTierError, WebTierTransport, RETRY_WINDOW,
};
use preppal_store::{InterviewStore, MemoryStore, NewInterview};

async fn interview() -> (Arc<dyn InterviewStore>, WebTierClient, String) {
    let store: Arc<dyn InterviewStore> = Arc::new(MemoryStore::new());
    let user = store.upsert_user("ada@example.com", "ada").await.unwrap();
    let i = store
        .create_interview(NewInterview {
            user_id: user.id,
            idempotency_key: "k".into(),
            persona: "p".into(),
            duration_ms: 600_000,
            job_description_id: None,
            resume_id: None,
            job_description_text: "jd".into(),
            resume_text: "cv".into(),
            plan: None,
        })
        .await
        .unwrap();
    let web_tier = WebTierClient(Arc::new(InProcessWebTier::new(Arc::clone(&store))));
    (store, web_tier, i.id)
}

fn config(worker_id: &str, ttl_ms: u64) -> LeaseConfig {
    LeaseConfig {
        worker_id: worker_id.into(),
        ttl: Duration::from_millis(ttl_ms),
    }
}

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_takeover_waits_for_the_owners_lease_to_lapse() {
    let (store, web_tier, id) = interview().await;
    // A dead owner: its lease was claimed and is never renewed.
    store.claim_lease(&id, "dead", 600, now_ms()).await.unwrap();
    let t0 = std::time::Instant::now();
    let keeper = acquire(&web_tier, &config("live", 600), &id).await.unwrap();
    assert!(
        t0.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t0.elapsed()
    );
    // Held by the new owner now: the dead one cannot renew it.
    assert!(store.renew_lease(&id, "dead", 600, now_ms()).await.is_err());
    keeper.release().await;
    // Released: anyone may claim it at once.
    store
        .claim_lease(&id, "third", 600, now_ms())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_lease_that_never_lapses_is_refused_after_the_wait() {
    let (store, web_tier, id) = interview().await;
    store
        .claim_lease(&id, "owner", 10_000, now_ms())
        .await
        .unwrap();
    let renewing = tokio::spawn({
        let store = Arc::clone(&store);
        let id = id.clone();
        async move {
            loop {
                store
                    .claim_lease(&id, "owner", 10_000, now_ms())
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    let e = acquire(&web_tier, &config("other", 300), &id)
        .await
        .unwrap_err();
    assert!(matches!(e, LeaseError::Held(_)), "{e}");
    renewing.abort();
}

#[tokio::test]
async fn a_lease_taken_by_another_worker_is_lost_and_handles_are_saved() {
    let (store, web_tier, id) = interview().await;
    let mut keeper = acquire(&web_tier, &config("first", 300), &id)
        .await
        .unwrap();
    keeper.save_handle("h-1");
    keeper.save_handle("h-2");
    // Renewals keep it: nothing is lost for several lifetimes.
    let held = tokio::time::timeout(Duration::from_millis(900), keeper.lost()).await;
    assert!(held.is_err(), "lost while renewing");
    assert_eq!(
        store.get_resumption_handle(&id).await.unwrap().as_deref(),
        Some("h-2")
    );
    // Another worker claims it on a clock past its expiry: the next renewal is refused.
    store
        .claim_lease(&id, "second", 60_000, now_ms() + 10_000)
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), keeper.lost())
        .await
        .expect("the lease is lost");
    keeper.release().await;
    // Releasing a lost lease leaves the new holder alone.
    assert!(store
        .renew_lease(&id, "second", 60_000, now_ms())
        .await
        .is_ok());
}

/// Counts calls and answers each with the inner transport.
#[derive(Debug)]
struct Counting<B>(B, AtomicUsize);

#[async_trait]
impl<B: WebTierTransport> WebTierTransport for Counting<B> {
    async fn call(&self, req: Request) -> Result<Reply, WebTierError> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.call(req).await
    }
}

#[tokio::test]
async fn an_entry_the_store_refuses_is_a_4xx_tried_once() {
    let store: Arc<dyn InterviewStore> = Arc::new(MemoryStore::new());
    let counting = Arc::new(Counting(InProcessWebTier::new(store), AtomicUsize::new(0)));
    let web_tier = WebTierClient(counting.clone());
    let entry = TranscriptEntry {
        sequence: 0,
        speaker: Speaker::User,
        text: "nul\0inside".into(),
        start_ms: 0,
        end_ms: 1,
        interrupted: false,
        heard_text: None,
    };
    let started = std::time::Instant::now();
    match web_tier.submit_transcript("any", &[entry]).await {
        Err(WebTierError::Refused(e)) => assert_eq!(e.code, 400, "{e:?}"),
        other => panic!("expected a 400, got {other:?}"),
    }
    assert_eq!(
        counting.1.load(Ordering::SeqCst),
        1,
        "a 4xx is never retried"
    );
    assert!(started.elapsed() < RETRY_WINDOW);
}
