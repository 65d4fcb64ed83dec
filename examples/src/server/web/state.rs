//! The web tier's shared state ([`AppState`]), handed to every handler.

use std::sync::Arc;

use preppal_store::InterviewStore;

use super::document::Extractor;
use super::oidc::GoogleSignIn;
use super::origin::HostAllowlist;
use super::quota::LibraryQuota;
use super::worker_pool::WorkerPool;
use crate::server::common::limits::Limits;
use crate::server::common::secrets::Secret;
use crate::server::common::tokens::TokenKeys;
use crate::server::worker::WorkerTier;

/// Shared state of the web tier.
#[derive(Debug)]
pub struct AppState {
    /// The store (the web tier is its only owner).
    pub store: Arc<dyn InterviewStore>,
    /// JWT keys.
    pub keys: TokenKeys,
    /// The worker API's shared secret.
    pub worker_secret: Secret,
    /// Whether dev-credentials sign-in is on.
    pub dev_auth: bool,
    /// The worker tier of this process.
    pub worker: Arc<WorkerTier>,
    /// Public base URL of the worker tier, when it is elsewhere.
    pub worker_public_url: Option<String>,
    /// This server's public origin and the `Host` names it answers for.
    pub hosts: Arc<HostAllowlist>,
    /// The library quota.
    pub library_quota: LibraryQuota,
    /// Abuse limits, shared with the worker tier of this process.
    pub limits: Arc<Limits>,
    /// Text extraction from uploaded PDFs (bounded concurrency).
    pub documents: Extractor,
    /// Google sign-in, when configured.
    pub google: Option<Arc<GoogleSignIn>>,
    /// The workers of `preppal web --worker URL...`, whose token replies name one of them;
    /// `None` when the worker tier runs in this process (`preppal serve`).
    pub workers: Option<Arc<WorkerPool>>,
}

impl AppState {
    /// The `ws://` or `wss://` base of the interview WebSocket: the worker tier's public
    /// URL, or this server's configured public origin (never the request's `Host`).
    pub fn worker_ws_base(&self) -> String {
        if let Some(u) = &self.worker_public_url {
            return u
                .replacen("https://", "wss://", 1)
                .replacen("http://", "ws://", 1)
                .trim_end_matches('/')
                .to_owned();
        }
        self.hosts.ws_origin()
    }
}
