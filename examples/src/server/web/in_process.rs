//! The web tier as the worker tier of the same process reaches it (`preppal serve`): the
//! worker API's handler called directly, no HTTP.

use std::sync::Arc;

use async_trait::async_trait;
use preppal_core::proto::{worker_api_request::Request, worker_api_response::Response as Reply};
use preppal_store::InterviewStore;

use super::worker_api;
use crate::server::worker::web_client::{WebTierError, WebTierTransport};

/// The web tier in the same process: the same handler as `POST /api/worker`, no HTTP.
#[derive(Debug, Clone)]
pub struct InProcessWebTier {
    store: Arc<dyn InterviewStore>,
}

impl InProcessWebTier {
    /// Serves worker API calls from `store`.
    pub fn new(store: Arc<dyn InterviewStore>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl WebTierTransport for InProcessWebTier {
    async fn call(&self, req: Request) -> Result<Reply, WebTierError> {
        worker_api::handle(self.store.as_ref(), req)
            .await
            .map_err(WebTierError::Refused)
    }
}
