//! What the SQLite and PostgreSQL backends share: row shapes and their conversions
//! (`rows`), and the body of the [`crate::InterviewStore`] implementation, generic over
//! the sqlx database (`shared`).
//!
//! Both databases accept the same SQL there: `$n` placeholders (sqlx binds `$n` by number
//! on SQLite too), `INSERT .. ON CONFLICT .. DO UPDATE .. WHERE`, `RETURNING` and row-value
//! comparison. The few differences (how a write transaction starts, how the feedback JSON
//! column is written and read) are the arguments of [`sql_store!`], which implements the
//! trait for a backend by handing each call to `shared::Shared`.

#[macro_use]
mod rows;

pub(crate) mod shared;

pub(crate) use rows::{
    interview, InterviewRow, LeaseRow, TranscriptRow, UserRow, TRANSCRIPT_AMEND,
    TRANSCRIPT_ROWS_PER_INSERT,
};

/// Implements [`crate::InterviewStore`] for `$store`, a struct with a `pool: sqlx::Pool<$db>`,
/// by [`shared::Shared`]; the arguments are what differs between the databases:
///
/// - `begin`: the statement that starts a write transaction;
/// - `json_in`: the SQL expression for the feedback document parameter `$2`;
/// - `json_out`: the SQL expression that reads `f.document` back as text.
macro_rules! sql_store {
    ($store:ident, $db:ty, begin: $begin:literal, json_in: $json_in:literal, json_out: $json_out:literal) => {
        use preppal_core::{Feedback, InterviewStatus, TranscriptEntry};

        use $crate::error::StoreError;
        use $crate::model::{
            Interview, Lease, LibraryItem, LibraryKind, NewInterview, Page, PageRequest, User,
        };
        use $crate::sql::shared::{Dialect, Shared};
        use $crate::store::InterviewStore;

        const DIALECT: Dialect = Dialect {
            begin: $begin,
            put_feedback: concat!(
                "INSERT INTO feedback (interview_id, document, updated_at_ms) VALUES ($1, ",
                $json_in,
                ", $3) ON CONFLICT (interview_id) DO UPDATE \
                 SET document = excluded.document, updated_at_ms = excluded.updated_at_ms"
            ),
            get_feedback: concat!(
                "SELECT ",
                $json_out,
                " FROM interviews i LEFT JOIN feedback f ON f.interview_id = i.id WHERE i.id = $1"
            ),
        };

        impl $store {
            fn shared(&self) -> Shared<'_, $db> {
                Shared {
                    pool: &self.pool,
                    dialect: &DIALECT,
                }
            }
        }

        #[async_trait::async_trait]
        impl InterviewStore for $store {
            async fn upsert_user(&self, email: &str, name: &str) -> Result<User, StoreError> {
                self.shared().upsert_user(email, name).await
            }

            async fn get_user(&self, user_id: &str) -> Result<User, StoreError> {
                self.shared().get_user(user_id).await
            }

            async fn sign_in_user(
                &self,
                provider: &str,
                subject: &str,
                email: &str,
                name: &str,
            ) -> Result<User, StoreError> {
                self.shared()
                    .sign_in_user(provider, subject, email, name)
                    .await
            }

            async fn session_version(&self, user_id: &str) -> Result<u64, StoreError> {
                self.shared().session_version(user_id).await
            }

            async fn revoke_sessions(&self, user_id: &str) -> Result<u64, StoreError> {
                self.shared().revoke_sessions(user_id).await
            }

            async fn create_library_item(
                &self,
                lib: LibraryKind,
                user_id: &str,
                title: &str,
                content: &str,
            ) -> Result<LibraryItem, StoreError> {
                self.shared()
                    .create_library_item(lib, user_id, title, content)
                    .await
            }

            async fn list_library_items(
                &self,
                lib: LibraryKind,
                user_id: &str,
            ) -> Result<Vec<LibraryItem>, StoreError> {
                self.shared().list_library_items(lib, user_id).await
            }

            async fn get_library_item(
                &self,
                lib: LibraryKind,
                user_id: &str,
                id: &str,
            ) -> Result<LibraryItem, StoreError> {
                self.shared().get_library_item(lib, user_id, id).await
            }

            async fn update_library_item(
                &self,
                lib: LibraryKind,
                user_id: &str,
                id: &str,
                title: &str,
                content: &str,
            ) -> Result<LibraryItem, StoreError> {
                self.shared()
                    .update_library_item(lib, user_id, id, title, content)
                    .await
            }

            async fn delete_library_item(
                &self,
                lib: LibraryKind,
                user_id: &str,
                id: &str,
            ) -> Result<(), StoreError> {
                self.shared().delete_library_item(lib, user_id, id).await
            }

            async fn library_usage(
                &self,
                user_id: &str,
            ) -> Result<crate::LibraryUsage, StoreError> {
                self.shared().library_usage(user_id).await
            }

            async fn create_interview(&self, new: NewInterview) -> Result<Interview, StoreError> {
                self.shared().create_interview(new).await
            }

            async fn get_interview(
                &self,
                user_id: &str,
                id: &str,
            ) -> Result<Interview, StoreError> {
                self.shared().get_interview(user_id, id).await
            }

            async fn get_interview_unscoped(&self, id: &str) -> Result<Interview, StoreError> {
                self.shared().get_interview_unscoped(id).await
            }

            async fn list_interviews(
                &self,
                user_id: &str,
                page: PageRequest,
            ) -> Result<Page<Interview>, StoreError> {
                self.shared().list_interviews(user_id, page).await
            }

            async fn current_interview(
                &self,
                user_id: &str,
            ) -> Result<Option<Interview>, StoreError> {
                self.shared().current_interview(user_id).await
            }

            async fn interviews_in_progress(&self) -> Result<Vec<Interview>, StoreError> {
                self.shared().interviews_in_progress().await
            }

            async fn delete_interview(&self, user_id: &str, id: &str) -> Result<(), StoreError> {
                self.shared().delete_interview(user_id, id).await
            }

            async fn update_status(
                &self,
                id: &str,
                expected: InterviewStatus,
                to: InterviewStatus,
                ended_reason: Option<&str>,
                error_message: Option<&str>,
            ) -> Result<Interview, StoreError> {
                self.shared()
                    .update_status(id, expected, to, ended_reason, error_message)
                    .await
            }

            async fn append_transcript(
                &self,
                id: &str,
                entries: &[TranscriptEntry],
            ) -> Result<u32, StoreError> {
                self.shared().append_transcript(id, entries).await
            }

            async fn get_transcript(&self, id: &str) -> Result<Vec<TranscriptEntry>, StoreError> {
                self.shared().get_transcript(id).await
            }

            async fn put_feedback(&self, id: &str, feedback: &Feedback) -> Result<(), StoreError> {
                self.shared().put_feedback(id, feedback).await
            }

            async fn get_feedback(&self, id: &str) -> Result<Option<Feedback>, StoreError> {
                self.shared().get_feedback(id).await
            }

            async fn set_resumption_handle(
                &self,
                id: &str,
                handle: Option<&str>,
            ) -> Result<(), StoreError> {
                self.shared().set_resumption_handle(id, handle).await
            }

            async fn set_error_kind(&self, id: &str, error_kind: &str) -> Result<(), StoreError> {
                self.shared().set_error_kind(id, error_kind).await
            }

            async fn get_resumption_handle(&self, id: &str) -> Result<Option<String>, StoreError> {
                self.shared().get_resumption_handle(id).await
            }

            async fn claim_lease(
                &self,
                id: &str,
                worker_id: &str,
                ttl_ms: u64,
                now_ms: i64,
            ) -> Result<Lease, StoreError> {
                self.shared()
                    .claim_lease(id, worker_id, ttl_ms, now_ms)
                    .await
            }

            async fn renew_lease(
                &self,
                id: &str,
                worker_id: &str,
                ttl_ms: u64,
                now_ms: i64,
            ) -> Result<Lease, StoreError> {
                self.shared()
                    .renew_lease(id, worker_id, ttl_ms, now_ms)
                    .await
            }

            async fn release_lease(&self, id: &str, worker_id: &str) -> Result<(), StoreError> {
                self.shared().release_lease(id, worker_id).await
            }
        }
    };
}
