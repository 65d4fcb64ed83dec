//! # preppal-store
//!
//! Where Preppal keeps users, their job description and resume libraries, interviews,
//! transcripts, feedback, Gemini Live resumption handles and the leases that name the one
//! worker driving a live interview.
//!
//! The contract is the [`InterviewStore`] trait. Three backends implement it with the same
//! behaviour, proven by one public contract suite ([`testing`], feature `testing`) that runs
//! against each:
//!
//! | Backend | Type | For |
//! |---|---|---|
//! | memory | [`MemoryStore`] | tests, demos; nothing survives the process |
//! | SQLite | `SqliteStore` | one server process with a local file (the default) |
//! | PostgreSQL | `PgStore` | several server processes sharing one database |
//!
//! [`open`] picks a backend from a URL. The SQL backends apply their embedded schema
//! migrations (`migrations/sqlite`, `migrations/postgres`) when opened.
//!
//! ```no_run
//! # async fn demo() -> Result<(), preppal_store::StoreError> {
//! use preppal_store::{NewInterview, PageRequest};
//!
//! let store = preppal_store::open("sqlite:preppal.db").await?;
//! let user = store.upsert_user("ada@example.com", "Ada").await?;
//! let interview = store
//!     .create_interview(NewInterview {
//!         user_id: user.id.clone(),
//!         idempotency_key: "click-1".into(),
//!         persona: "A friendly staff engineer".into(),
//!         duration_ms: 15 * 60 * 1000,
//!         job_description_id: None,
//!         resume_id: None,
//!         job_description_text: "Backend engineer, Rust".into(),
//!         resume_text: "Ten years of systems work".into(),
//!         plan: None,
//!     })
//!     .await?;
//! let history = store.list_interviews(&user.id, PageRequest::first(20)).await?;
//! assert_eq!(history.items[0].id, interview.id);
//! # Ok(()) }
//! ```
//!
//! ## Semantics in brief
//!
//! - Reads and deletes that take a `user_id` only see that user's records; another user's
//!   id is [`ErrorKind::NotFound`].
//! - Interview creation is idempotent by `(user_id, idempotency_key)`; the job description
//!   and resume texts are snapshotted.
//! - Status updates are compare-and-set along PENDING → IN_PROGRESS → COMPLETED | ERROR;
//!   a stale writer gets [`ErrorKind::Conflict`].
//! - The two libraries (job descriptions and resumes) share one set of calls that take a
//!   [`LibraryKind`]; [`InterviewStoreExt`] keeps the calls by name
//!   (`create_job_description`, `list_resumes`, …) for every store.
//! - Transcript appends are idempotent by `(interview, sequence)`; an entry appended again
//!   may extend the stored one or note a barge-in (`interrupted`, `heard_text`).
//! - Every backend checks input by the same rules (NUL characters, numbers that must fit
//!   `i64`, the status lifecycle) before it writes.
//! - Errors carry an [`ErrorKind`] and never show SQL to callers.
//!
//! ## Feature flags
//!
//! | Name | Description | Default |
//! |---|---|---|
//! | `sqlite` | `SqliteStore` and `sqlite:` URLs in [`open`] | yes |
//! | `postgres` | `PgStore` and `postgres://` URLs in [`open`] | no |
//! | `testing` | the public contract suite ([`testing`]) and the [`contract_suite!`] macro | no |

#![warn(missing_docs)]

#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[macro_use]
mod sql;

pub mod error;
pub mod memory;
pub mod model;
pub mod persist;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod validate;

use std::sync::Arc;

pub use error::{ErrorKind, StoreError};
pub use memory::MemoryStore;
pub use model::{
    Interview, InterviewSummary, JobDescription, Lease, LibraryItem, LibraryKind, LibraryUsage,
    NewInterview, Page, PageRequest, Resume, User,
};
pub use persist::{apply_persist_action, move_status, persist_to, EndRecord};
#[cfg(feature = "postgres")]
pub use postgres::PgStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use store::{InterviewStore, InterviewStoreExt};

/// Opens a store from a URL:
///
/// - `memory:` → a fresh [`MemoryStore`];
/// - `sqlite:…` → `SqliteStore::open` (feature `sqlite`), e.g. `sqlite:preppal.db`,
///   `sqlite::memory:`;
/// - `postgres://…` or `postgresql://…` → `PgStore::connect` (feature `postgres`).
///
/// # Errors
/// [`StoreError::UnsupportedUrl`] for another scheme or a backend whose feature is off;
/// otherwise the errors of the backend's constructor.
pub async fn open(url: &str) -> Result<Arc<dyn InterviewStore>, StoreError> {
    let scheme = url.split_once(':').map_or(url, |(s, _)| s);
    match scheme {
        "memory" => Ok(Arc::new(MemoryStore::new())),
        #[cfg(feature = "sqlite")]
        "sqlite" => Ok(Arc::new(SqliteStore::open(url).await?)),
        #[cfg(feature = "postgres")]
        "postgres" | "postgresql" => Ok(Arc::new(PgStore::connect(url).await?)),
        other => Err(StoreError::UnsupportedUrl {
            scheme: other.chars().take(32).collect(),
        }),
    }
}

/// The examples of the crate's README.md, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
