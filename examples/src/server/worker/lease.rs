//! The interview's lease: with several workers, the one worker that runs an interview holds
//! its lease in the store (through the web tier's worker API), renews it every third of its
//! time to live, and releases it at the end. A worker that takes an interview over (its
//! first owner died) waits until the dead owner's lease lapses, then claims it.
//!
//! The [`LeaseKeeper`] is one background task per interview that renews the lease and
//! saves the latest resumable Gemini Live session handle, off the relay's hot path. A
//! renewal refused with 409 (another worker claimed the interview) marks the lease lost:
//! the driver then stops relaying.

use std::sync::Arc;
use std::time::Duration;

use backon::{ConstantBuilder, Retryable};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::web_client::{WebTierClient, WebTierError};

/// Default lease time to live, in ms (10 s): a dead worker's interviews can be taken over
/// at most this long after its last renewal.
pub const DEFAULT_LEASE_TTL_MS: u64 = 10_000;

/// How often a claim refused because another worker holds the lease is tried again.
const CLAIM_RETRY_EVERY: Duration = Duration::from_millis(250);

/// Who this worker is and how long its leases last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseConfig {
    /// The worker's id in the store's leases: its public base URL (for example
    /// `http://10.0.0.5:4000`), which is how the web tier sends clients back to it.
    pub worker_id: String,
    /// The lease's time to live; renewed every third of it.
    pub ttl: Duration,
}

impl LeaseConfig {
    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX)
    }

    /// The longest a claim waits for another worker's lease to lapse: two lifetimes and
    /// 5 s, enough for a dead owner's last renewal to expire.
    pub fn max_claim_wait(&self) -> Duration {
        self.ttl * 2 + Duration::from_secs(5)
    }
}

/// Why the lease could not be taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseError {
    /// Another worker kept renewing its lease for as long as the claim waited.
    #[error("another worker holds the interview (waited {0:?})")]
    Held(Duration),
    /// The web tier could not be reached or refused for another reason.
    #[error(transparent)]
    WebTier(WebTierError),
}

fn is_held(e: &WebTierError) -> bool {
    matches!(e, WebTierError::Refused(r) if r.code == 409)
}

/// A held lease: renewed in the background until [`LeaseKeeper::release`].
#[derive(Debug)]
pub struct LeaseKeeper {
    web_tier: WebTierClient,
    interview_id: String,
    worker_id: String,
    lost: watch::Receiver<bool>,
    handle: Arc<watch::Sender<Option<String>>>,
    task: JoinHandle<()>,
}

/// Where a driver notes the latest resumption handle, saved with the lease in the
/// background ([`LeaseKeeper::handle_saver`]).
#[derive(Debug, Clone)]
pub struct HandleSaver(Arc<watch::Sender<Option<String>>>);

impl HandleSaver {
    /// As [`LeaseKeeper::save_handle`].
    pub fn save(&self, handle: &str) {
        self.0.send_replace(Some(handle.to_owned()));
    }
}

/// Claims interview `interview_id`'s lease for `config.worker_id`, waiting (up to
/// [`LeaseConfig::max_claim_wait`]) while another worker's lease is live, and starts
/// renewing it.
///
/// # Errors
/// [`LeaseError::Held`] when another worker still holds it after the wait;
/// [`LeaseError::WebTier`] when the web tier cannot be reached (after its retries) or
/// refuses for another reason (404 for an unknown interview).
pub async fn acquire(
    web_tier: &WebTierClient,
    config: &LeaseConfig,
    interview_id: &str,
) -> Result<LeaseKeeper, LeaseError> {
    let wait = config.max_claim_wait();
    let tries = usize::try_from(wait.as_millis() / CLAIM_RETRY_EVERY.as_millis()).unwrap_or(1);
    let started = std::time::Instant::now();
    let mut told = false;
    (|| web_tier.claim_lease(interview_id, &config.worker_id, config.ttl_ms()))
        .retry(
            ConstantBuilder::default()
                .with_delay(CLAIM_RETRY_EVERY)
                .with_max_times(tries),
        )
        .when(is_held)
        .notify(|_, _| {
            if !std::mem::replace(&mut told, true) {
                tracing::info!(interview = %interview_id, "another worker holds the interview; waiting for its lease to lapse");
            }
        })
        .await
        .map_err(|e| {
            if is_held(&e) {
                LeaseError::Held(started.elapsed())
            } else {
                LeaseError::WebTier(e)
            }
        })?;
    if told {
        tracing::info!(interview = %interview_id, waited_ms = started.elapsed().as_millis(), "interview taken over");
    }
    let (lost_tx, lost) = watch::channel(false);
    let (handle, handle_rx) = watch::channel(None);
    let task = tokio::spawn(keep(
        web_tier.clone(),
        config.clone(),
        interview_id.to_owned(),
        lost_tx,
        handle_rx,
    ));
    Ok(LeaseKeeper {
        web_tier: web_tier.clone(),
        interview_id: interview_id.to_owned(),
        worker_id: config.worker_id.clone(),
        lost,
        handle: Arc::new(handle),
        task,
    })
}

async fn keep(
    web_tier: WebTierClient,
    config: LeaseConfig,
    interview_id: String,
    lost: watch::Sender<bool>,
    mut handles: watch::Receiver<Option<String>>,
) {
    let every = (config.ttl / 3).max(Duration::from_millis(100));
    let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut saved: Option<String> = None;
    loop {
        tokio::select! {
            _ = renew.tick() => {
                match web_tier.renew_lease(&interview_id, &config.worker_id, config.ttl_ms()).await {
                    Ok(_) => {}
                    Err(e) if is_held(&e) => {
                        tracing::warn!(interview = %interview_id, "lease lost to another worker");
                        let _ = lost.send(true);
                        return;
                    }
                    Err(e) => tracing::warn!(interview = %interview_id, error = %e, "lease renewal failed; trying again"),
                }
            }
            changed = handles.changed() => {
                if changed.is_err() {
                    return;
                }
                let latest = handles.borrow_and_update().clone();
                if let Some(h) = latest.filter(|h| saved.as_ref() != Some(h)) {
                    match web_tier.save_resumption_handle(&interview_id, &h).await {
                        Ok(()) => saved = Some(h),
                        Err(e) => tracing::warn!(interview = %interview_id, error = %e, "resumption handle not saved"),
                    }
                }
            }
        }
    }
}

impl LeaseKeeper {
    /// Notes `handle`, the latest resumable Gemini Live session handle, to be saved in the
    /// background (only the latest is saved when they come faster than the web tier takes them).
    pub fn save_handle(&self, handle: &str) {
        self.handle.send_replace(Some(handle.to_owned()));
    }

    /// A cloneable handle for [`LeaseKeeper::save_handle`], for a task that outlives a
    /// borrow of the keeper.
    pub fn handle_saver(&self) -> HandleSaver {
        HandleSaver(Arc::clone(&self.handle))
    }

    /// A future that resolves once another worker has taken the lease (never, while it is
    /// held, or after the keeper was released).
    pub fn lost_signal(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut lost = self.lost.clone();
        async move {
            if lost.wait_for(|lost| *lost).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Resolves once another worker has taken the lease (never, while it is held).
    pub async fn lost(&mut self) {
        self.lost_signal().await;
    }

    /// Stops renewing and releases the lease (a lease already lost is left to its holder).
    pub async fn release(self) {
        self.task.abort();
        if *self.lost.borrow() {
            return;
        }
        if let Err(e) = self
            .web_tier
            .release_lease(&self.interview_id, &self.worker_id)
            .await
        {
            tracing::warn!(interview = %self.interview_id, error = %e, "lease not released; it lapses on its own");
        }
    }
}
