//! The web tier's view of its workers (`preppal web --worker URL...`): which worker a
//! client is sent to.
//!
//! An interview goes to the worker holding its lease while that lease is live and the
//! worker answers `GET /healthz`; otherwise to the next worker, round robin, that answers
//! its health check (a dead worker's clients go to a live one, which takes the lease over
//! once it lapses). The leases are learned from the worker API's lease replies, which all
//! pass through this process; after a restart of the web tier they are known again at
//! the next renewal (a third of the lease's time to live).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use preppal_core::proto::{worker_api_response::Response as Reply, LeaseResponse};

/// How long a worker's health check may take before it counts as dead.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);

/// No configured worker answered its health check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no worker is available ({0} configured, none answered GET /healthz)")]
pub struct NoLiveWorker(pub usize);

/// The workers of `preppal web`, and the leases it has seen.
#[derive(Debug)]
pub struct WorkerPool {
    urls: Vec<String>,
    next: AtomicUsize,
    leases: Mutex<HashMap<String, (String, u64)>>,
    http: reqwest::Client,
}

impl WorkerPool {
    /// A pool of the workers at `urls` (`http://` or `https://` base URLs; the same strings
    /// the workers use as their ids). Trailing slashes are ignored.
    pub fn new(urls: impl IntoIterator<Item = String>) -> Self {
        Self {
            urls: urls
                .into_iter()
                .map(|u| u.trim_end_matches('/').to_owned())
                .collect(),
            next: AtomicUsize::new(0),
            leases: Mutex::new(HashMap::new()),
            http: reqwest::Client::builder()
                .timeout(HEALTH_TIMEOUT)
                .build()
                .unwrap_or_default(),
        }
    }

    /// The configured workers' base URLs.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// Learns from a worker API reply: a lease reply names the interview's holder and
    /// when its lease lapses (`expires_at_ms == 0`: released).
    pub fn observe(&self, reply: &Reply) {
        let Reply::Lease(LeaseResponse {
            interview_id,
            worker_id,
            expires_at_ms,
        }) = reply
        else {
            return;
        };
        if let Ok(mut leases) = self.leases.lock() {
            if *expires_at_ms == 0 {
                if leases
                    .get(interview_id)
                    .is_some_and(|(w, _)| w == worker_id)
                {
                    leases.remove(interview_id);
                }
            } else {
                leases.insert(
                    interview_id.clone(),
                    (worker_id.trim_end_matches('/').to_owned(), *expires_at_ms),
                );
            }
        }
    }

    /// The worker holding a live lease on `interview_id`, as far as this process has seen.
    pub fn holder(&self, interview_id: &str) -> Option<String> {
        let now = now_ms();
        let leases = self.leases.lock().ok()?;
        leases
            .get(interview_id)
            .filter(|(_, expires)| now < *expires)
            .map(|(w, _)| w.clone())
    }

    /// Whether the worker at `url` answers `GET {url}/healthz` with a success within
    /// [`HEALTH_TIMEOUT`].
    pub async fn is_healthy(&self, url: &str) -> bool {
        self.http
            .get(format!("{url}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    /// The worker a client of `interview_id` should connect to: the lease holder if its
    /// lease is live and it is healthy, else the next healthy worker, round robin.
    ///
    /// # Errors
    /// [`NoLiveWorker`] when no worker answers its health check.
    pub async fn choose(&self, interview_id: &str) -> Result<String, NoLiveWorker> {
        if let Some(holder) = self.holder(interview_id) {
            if self.is_healthy(&holder).await {
                return Ok(holder);
            }
            tracing::warn!(interview = %interview_id, worker = %holder, "the interview's worker does not answer; sending the client to another");
        }
        let n = self.urls.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            let url = &self.urls[(start + i) % n];
            if self.is_healthy(url).await {
                return Ok(url.clone());
            }
            tracing::warn!(worker = %url, "worker health check failed; skipping it");
        }
        Err(NoLiveWorker(n))
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(id: &str, worker: &str, expires_at_ms: u64) -> Reply {
        Reply::Lease(LeaseResponse {
            interview_id: id.into(),
            worker_id: worker.into(),
            expires_at_ms,
        })
    }

    #[test]
    fn leases_seen_name_the_holder_until_they_lapse_or_are_released() {
        let pool = WorkerPool::new(["http://a/".to_owned(), "http://b".to_owned()]);
        assert_eq!(pool.urls(), ["http://a", "http://b"]);
        assert_eq!(pool.holder("iv"), None);
        pool.observe(&lease("iv", "http://a/", now_ms() + 60_000));
        assert_eq!(pool.holder("iv").as_deref(), Some("http://a"));
        // Another worker's release leaves the holder alone; the holder's own clears it.
        pool.observe(&lease("iv", "http://b", 0));
        assert_eq!(pool.holder("iv").as_deref(), Some("http://a"));
        pool.observe(&lease("iv", "http://a", 0));
        assert_eq!(pool.holder("iv"), None);
        // A lapsed lease names no one.
        pool.observe(&lease("iv", "http://b", now_ms() - 1));
        assert_eq!(pool.holder("iv"), None);
    }

    #[tokio::test]
    async fn a_dead_worker_is_skipped_and_none_alive_is_an_error() {
        // Port of a listener that was closed: nothing answers there.
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let pool = WorkerPool::new([dead.clone()]);
        pool.observe(&lease("iv", &dead, now_ms() + 60_000));
        assert_eq!(pool.choose("iv").await, Err(NoLiveWorker(1)));
    }
}
