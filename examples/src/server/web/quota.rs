//! The library quota: how many job descriptions and resumes one user may keep, and how
//! many bytes they may hold together, checked before each `*.create` and `*.update`
//! (409 `QUOTA_EXCEEDED`). Library writes of one process are serialized through the
//! quota, so concurrent creates cannot pass it together.

use preppal_store::InterviewStore;

use super::error::ApiError;

/// Default of `--max-library-documents`.
pub const DEFAULT_MAX_LIBRARY_DOCUMENTS: u64 = 200;
/// Default of `--max-library-bytes` (8 MiB).
pub const DEFAULT_MAX_LIBRARY_BYTES: u64 = 8 * 1024 * 1024;

/// Options of the library quota (`preppal serve` and `preppal web`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct QuotaArgs {
    /// Job descriptions and resumes one user may keep, together.
    #[arg(long, env = "PREPPAL_MAX_LIBRARY_DOCUMENTS", default_value_t = DEFAULT_MAX_LIBRARY_DOCUMENTS)]
    pub max_library_documents: u64,
    /// Bytes (titles and contents, UTF-8) one user's library may hold.
    #[arg(long, env = "PREPPAL_MAX_LIBRARY_BYTES", default_value_t = DEFAULT_MAX_LIBRARY_BYTES)]
    pub max_library_bytes: u64,
}

impl Default for QuotaArgs {
    fn default() -> Self {
        Self {
            max_library_documents: DEFAULT_MAX_LIBRARY_DOCUMENTS,
            max_library_bytes: DEFAULT_MAX_LIBRARY_BYTES,
        }
    }
}

/// The library quota in force, with the lock that serializes library writes.
#[derive(Debug, Default)]
pub struct LibraryQuota {
    args: QuotaArgs,
    writes: tokio::sync::Mutex<()>,
}

impl LibraryQuota {
    /// The quota of `args`.
    pub fn new(args: QuotaArgs) -> Self {
        Self {
            args,
            writes: tokio::sync::Mutex::new(()),
        }
    }

    /// Runs `write` (one library create or update) if the user's library stays within the
    /// quota with it: `added_documents` new documents (1 for a create, 0 for an update)
    /// and `added_bytes` more bytes (negative when an update shrinks a document).
    ///
    /// # Errors
    /// [`ApiError::QuotaExceeded`] when the quota would be exceeded (nothing is written);
    /// the store's errors; `write`'s.
    pub async fn write<T, F>(
        &self,
        store: &dyn InterviewStore,
        user_id: &str,
        added_documents: u64,
        added_bytes: i64,
        write: F,
    ) -> Result<T, ApiError>
    where
        F: std::future::Future<Output = Result<T, ApiError>>,
    {
        let _one_at_a_time = self.writes.lock().await;
        let usage = store
            .library_usage(user_id)
            .await
            .map_err(|e| ApiError::from_store(e, "library"))?;
        if usage.documents + added_documents > self.args.max_library_documents {
            return Err(ApiError::QuotaExceeded(format!(
                "the library holds its maximum of {} documents; delete some first",
                self.args.max_library_documents
            )));
        }
        let bytes = i128::from(usage.bytes) + i128::from(added_bytes);
        if added_bytes > 0 && bytes > i128::from(self.args.max_library_bytes) {
            return Err(ApiError::QuotaExceeded(format!(
                "the library holds its maximum of {} bytes; delete some first",
                self.args.max_library_bytes
            )));
        }
        write.await
    }
}
