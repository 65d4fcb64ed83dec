//! The [`InterviewStore`] contract.

use preppal_core::{Feedback, InterviewStatus, TranscriptEntry};

use crate::error::StoreError;
use crate::model::{
    Interview, JobDescription, Lease, LibraryItem, LibraryKind, LibraryUsage, NewInterview, Page,
    PageRequest, Resume, User,
};

/// Where Preppal keeps users, their libraries, interviews, transcripts, feedback and the
/// leases of live interviews.
///
/// Every backend ([`crate::MemoryStore`], `SqliteStore`, `PgStore`) behaves the same way;
/// the public contract suite (`testing` feature) proves it. Calls are safe to make
/// concurrently from many tasks and, for the SQL backends, from many processes.
///
/// Conventions:
/// - Calls that take a `user_id` are scoped to that user: another user's record is
///   [`StoreError::NotFound`], exactly as if it did not exist.
/// - Calls on an interview by id alone (`*_unscoped`, status, transcript, feedback,
///   resumption handle, lease) are for the worker, which is trusted by the caller.
/// - Text may not contain NUL characters ([`crate::ErrorKind::InvalidInput`]).
/// - Times the store records come from the system clock, Unix ms; lease calls take the
///   caller's `now_ms` instead so that all workers judge expiry on the same terms.
///
/// # Errors
/// Every method returns [`StoreError`]; its [`StoreError::kind`] is one of
/// [`crate::ErrorKind`]. Besides the errors listed per method, any call may fail with
/// [`crate::ErrorKind::Unavailable`] (database unreachable or busy) or
/// [`crate::ErrorKind::Other`].
#[async_trait::async_trait]
pub trait InterviewStore: Send + Sync + std::fmt::Debug + 'static {
    // ---- users ----

    /// Finds the user with `email` (compared exactly) and sets its name to `name`, or
    /// creates the user.
    ///
    /// # Errors
    /// `InvalidInput` for NUL characters.
    async fn upsert_user(&self, email: &str, name: &str) -> Result<User, StoreError>;

    /// The user with `user_id`.
    ///
    /// # Errors
    /// `NotFound` when there is none.
    async fn get_user(&self, user_id: &str) -> Result<User, StoreError>;

    /// Signs in the identity `provider` + `subject` (for example `"dev"` + the email, or
    /// `"google"` + the ID token's `sub`) with `email`: creates the user, or finds the
    /// user with `email` when that account is this identity's (or was stored before
    /// identities were recorded, by [`InterviewStore::upsert_user`], and is claimed now),
    /// and sets its name to `name`. Accounts are never merged by email alone.
    ///
    /// # Errors
    /// `IdentityConflict` when the account with `email` belongs to another identity;
    /// `InvalidInput` for NUL characters.
    async fn sign_in_user(
        &self,
        provider: &str,
        subject: &str,
        email: &str,
        name: &str,
    ) -> Result<User, StoreError>;

    /// The user's session version: session tokens carry the version they were issued at,
    /// and one older than this is revoked (new users start at 0).
    ///
    /// # Errors
    /// `NotFound` when there is no such user.
    async fn session_version(&self, user_id: &str) -> Result<u64, StoreError>;

    /// Revokes every session of the user issued so far (sign-out): increments its session
    /// version and returns the new one.
    ///
    /// # Errors
    /// `NotFound` when there is no such user.
    async fn revoke_sessions(&self, user_id: &str) -> Result<u64, StoreError>;

    // ---- libraries (job descriptions, resumes) ----

    /// Stores a new document of `kind` for `user_id`.
    ///
    /// # Errors
    /// `NotFound` when the user does not exist; `InvalidInput` for NUL characters.
    async fn create_library_item(
        &self,
        kind: LibraryKind,
        user_id: &str,
        title: &str,
        content: &str,
    ) -> Result<LibraryItem, StoreError>;

    /// The user's documents of `kind`, newest first (by creation time, then id). An
    /// unknown user has none.
    ///
    /// # Errors
    /// Only the general ones.
    async fn list_library_items(
        &self,
        kind: LibraryKind,
        user_id: &str,
    ) -> Result<Vec<LibraryItem>, StoreError>;

    /// The user's document `id` of `kind`.
    ///
    /// # Errors
    /// `NotFound` (naming [`LibraryKind::what`]) when it does not exist, is of another
    /// kind or belongs to another user.
    async fn get_library_item(
        &self,
        kind: LibraryKind,
        user_id: &str,
        id: &str,
    ) -> Result<LibraryItem, StoreError>;

    /// Replaces the title and content of the user's document `id` of `kind`; returns it as
    /// stored, with a new `updated_at_ms`. Interviews made from it keep their snapshots.
    ///
    /// # Errors
    /// `NotFound` as for [`InterviewStore::get_library_item`]; `InvalidInput` for NUL
    /// characters.
    async fn update_library_item(
        &self,
        kind: LibraryKind,
        user_id: &str,
        id: &str,
        title: &str,
        content: &str,
    ) -> Result<LibraryItem, StoreError>;

    /// Deletes the user's document `id` of `kind`. Interviews made from it keep their
    /// snapshots and the id.
    ///
    /// # Errors
    /// `NotFound` as for [`InterviewStore::get_library_item`].
    async fn delete_library_item(
        &self,
        kind: LibraryKind,
        user_id: &str,
        id: &str,
    ) -> Result<(), StoreError>;

    /// How many job descriptions and resumes `user_id` has, and their bytes (titles and
    /// contents), for the library quota. An unknown user has none.
    ///
    /// # Errors
    /// The database's.
    async fn library_usage(&self, user_id: &str) -> Result<LibraryUsage, StoreError>;

    // ---- interviews ----

    /// Creates a PENDING interview, idempotently by `(user_id, idempotency_key)`.
    ///
    /// The same key with the same inputs returns the interview already stored (also when
    /// many creates race: exactly one row is made). The texts become the interview's
    /// snapshots.
    ///
    /// # Errors
    /// - `Conflict` ([`StoreError::IdempotencyConflict`]) when the key was used with other
    ///   inputs (persona, duration, texts or library ids);
    /// - `NotFound` when the user does not exist, or a given library id does not exist or
    ///   belongs to another user;
    /// - `InvalidInput` for NUL characters or `duration_ms > i64::MAX`.
    async fn create_interview(&self, new: NewInterview) -> Result<Interview, StoreError>;

    /// The user's interview `id`.
    ///
    /// # Errors
    /// `NotFound` when it does not exist or belongs to another user.
    async fn get_interview(&self, user_id: &str, id: &str) -> Result<Interview, StoreError>;

    /// The interview `id`, whoever owns it (for the worker API).
    ///
    /// # Errors
    /// `NotFound` when it does not exist.
    async fn get_interview_unscoped(&self, id: &str) -> Result<Interview, StoreError>;

    /// One page of the user's interviews, newest first by `(created_at_ms, id)`.
    ///
    /// # Errors
    /// `InvalidInput` for a cursor this store did not make.
    async fn list_interviews(
        &self,
        user_id: &str,
        page: PageRequest,
    ) -> Result<Page<Interview>, StoreError>;

    /// The user's newest interview that is PENDING or IN_PROGRESS, if any.
    ///
    /// # Errors
    /// Only the general ones.
    async fn current_interview(&self, user_id: &str) -> Result<Option<Interview>, StoreError>;

    /// Every interview (of any user) that is IN_PROGRESS, oldest first by
    /// `(created_at_ms, id)`: after a restart, those are the interviews no process runs,
    /// to be finished or resumed.
    ///
    /// # Errors
    /// Only the general ones.
    async fn interviews_in_progress(&self) -> Result<Vec<Interview>, StoreError>;

    /// Deletes the user's interview `id` with its transcript, feedback, resumption handle
    /// and lease.
    ///
    /// # Errors
    /// `NotFound` when it does not exist or belongs to another user.
    async fn delete_interview(&self, user_id: &str, id: &str) -> Result<(), StoreError>;

    /// Moves interview `id` from `expected` to `to` (compare-and-set) and returns it.
    ///
    /// Entering IN_PROGRESS sets `started_at_ms`; entering COMPLETED or ERROR sets
    /// `ended_at_ms`. `ended_reason` and `error_message` are stored when given (a `None`
    /// keeps what is stored). `expected == to` is an idempotent retry: it returns the
    /// interview unchanged when its status is `expected`.
    ///
    /// # Errors
    /// - `Conflict` ([`StoreError::IllegalTransition`]) when the lifecycle forbids
    ///   `expected -> to` (see [`InterviewStatus::check_transition`]);
    /// - `Conflict` ([`StoreError::StaleStatus`]) when the stored status is not `expected`:
    ///   a stale writer never overwrites;
    /// - `NotFound` when the interview does not exist;
    /// - `InvalidInput` for NUL characters.
    async fn update_status(
        &self,
        id: &str,
        expected: InterviewStatus,
        to: InterviewStatus,
        ended_reason: Option<&str>,
        error_message: Option<&str>,
    ) -> Result<Interview, StoreError>;

    // ---- transcript ----

    /// Appends transcript entries; returns how many were newly stored or extended.
    ///
    /// Idempotent by `(interview, sequence)`: an entry whose sequence is already stored is
    /// skipped and the first text stored for a sequence is kept, with one exception: an
    /// entry of the same speaker whose text starts with the stored text and goes further
    /// (more text, or a later `end_ms`) extends it. That is how a provisional open turn,
    /// stored during a long turn, becomes the finished entry without a duplicate; an older
    /// provisional text never overwrites a longer one. An entry appended again with a
    /// barge-in (`interrupted`, with its `heard_text`) the stored one does not note yet
    /// amends it too, and a barge-in once stored stays. `heard_text` is kept only for an
    /// interrupted entry. Of two entries with one sequence in a batch, the first is the one
    /// considered. The batch is stored atomically.
    ///
    /// # Errors
    /// `NotFound` when the interview does not exist; `InvalidInput` for NUL characters or
    /// times above `i64::MAX`.
    async fn append_transcript(
        &self,
        id: &str,
        entries: &[TranscriptEntry],
    ) -> Result<u32, StoreError>;

    /// The interview's transcript, ordered by sequence.
    ///
    /// # Errors
    /// `NotFound` when the interview does not exist.
    async fn get_transcript(&self, id: &str) -> Result<Vec<TranscriptEntry>, StoreError>;

    // ---- feedback ----

    /// Stores (or replaces) the interview's feedback, as one JSON document.
    ///
    /// # Errors
    /// `NotFound` when the interview does not exist; `InvalidInput` for NUL characters.
    async fn put_feedback(&self, id: &str, feedback: &Feedback) -> Result<(), StoreError>;

    /// The interview's feedback, or `None` before any was stored.
    ///
    /// # Errors
    /// `NotFound` when the interview does not exist; `Other` ([`StoreError::Corrupt`])
    /// when the stored document cannot be read by this build.
    async fn get_feedback(&self, id: &str) -> Result<Option<Feedback>, StoreError>;

    /// Stores why the model failed (`preppal_core::ModelErrorKind::as_str`: `"quota"`,
    /// `"authentication"`, `"policy"`, `"invalid_request"`, `"service"`, `"network"`,
    /// `"timeout"`) as the interview's `error_kind`, next to its `error_message`.
    /// Idempotent: writing it again replaces it.
    ///
    /// # Errors
    /// `NotFound` when the interview does not exist; `InvalidInput` for NUL characters.
    async fn set_error_kind(&self, id: &str, error_kind: &str) -> Result<(), StoreError>;

    // ---- Gemini Live session resumption ----

    /// Stores the latest Gemini Live `sessionResumptionUpdate.newHandle` for the interview
    /// (`None` clears it), so that another worker can resume the model session.
    ///
    /// # Errors
    /// `NotFound` when the interview does not exist; `InvalidInput` for NUL characters.
    async fn set_resumption_handle(&self, id: &str, handle: Option<&str>)
        -> Result<(), StoreError>;

    /// The stored resumption handle, if any.
    ///
    /// # Errors
    /// `NotFound` when the interview does not exist.
    async fn get_resumption_handle(&self, id: &str) -> Result<Option<String>, StoreError>;

    // ---- worker lease ----

    /// Claims the lease on interview `id` for `worker_id` until `now_ms + ttl_ms`.
    ///
    /// Succeeds when there is no lease, when the lease expired (`expires_at_ms <= now_ms`),
    /// or when `worker_id` already holds it (then it is extended).
    ///
    /// # Errors
    /// `Conflict` ([`StoreError::LeaseHeld`]) when another worker holds a lease that has not
    /// expired; `NotFound` when the interview does not exist; `InvalidInput` for a `ttl_ms`
    /// above `i64::MAX` or NUL characters.
    async fn claim_lease(
        &self,
        id: &str,
        worker_id: &str,
        ttl_ms: u64,
        now_ms: i64,
    ) -> Result<Lease, StoreError>;

    /// Extends `worker_id`'s lease on interview `id` to `now_ms + ttl_ms`.
    ///
    /// A lease that expired but was not claimed by another worker is still this worker's
    /// and is renewed.
    ///
    /// # Errors
    /// `Conflict` ([`StoreError::LeaseHeld`]) when `worker_id` does not hold the lease
    /// (another worker claimed it, or it was released); `NotFound` when the interview does
    /// not exist; `InvalidInput` as for [`InterviewStore::claim_lease`].
    async fn renew_lease(
        &self,
        id: &str,
        worker_id: &str,
        ttl_ms: u64,
        now_ms: i64,
    ) -> Result<Lease, StoreError>;

    /// Releases `worker_id`'s lease on interview `id`. Releasing when there is no lease is
    /// a no-op.
    ///
    /// # Errors
    /// `Conflict` ([`StoreError::LeaseHeld`]) when another worker holds the lease (it is
    /// left alone); `NotFound` when the interview does not exist.
    async fn release_lease(&self, id: &str, worker_id: &str) -> Result<(), StoreError>;
}

/// The job description and resume calls by name, for callers of the library written
/// before [`LibraryKind`]: each calls the [`InterviewStore`] method of the same verb with
/// its kind, and has its errors. Implemented for every store (`dyn InterviewStore`
/// included); bring it into scope with `use preppal_store::InterviewStoreExt`.
#[async_trait::async_trait]
pub trait InterviewStoreExt: InterviewStore {
    /// [`InterviewStore::create_library_item`] of a job description.
    ///
    /// # Errors
    /// As the kind method's.
    async fn create_job_description(
        &self,
        user_id: &str,
        title: &str,
        content: &str,
    ) -> Result<JobDescription, StoreError> {
        self.create_library_item(LibraryKind::JobDescription, user_id, title, content)
            .await
            .map(Into::into)
    }

    /// [`InterviewStore::list_library_items`] of job descriptions.
    ///
    /// # Errors
    /// As the kind method's.
    async fn list_job_descriptions(
        &self,
        user_id: &str,
    ) -> Result<Vec<JobDescription>, StoreError> {
        let items = self
            .list_library_items(LibraryKind::JobDescription, user_id)
            .await?;
        Ok(items.into_iter().map(Into::into).collect())
    }

    /// [`InterviewStore::get_library_item`] of a job description.
    ///
    /// # Errors
    /// As the kind method's.
    async fn get_job_description(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<JobDescription, StoreError> {
        self.get_library_item(LibraryKind::JobDescription, user_id, id)
            .await
            .map(Into::into)
    }

    /// [`InterviewStore::update_library_item`] of a job description.
    ///
    /// # Errors
    /// As the kind method's.
    async fn update_job_description(
        &self,
        user_id: &str,
        id: &str,
        title: &str,
        content: &str,
    ) -> Result<JobDescription, StoreError> {
        self.update_library_item(LibraryKind::JobDescription, user_id, id, title, content)
            .await
            .map(Into::into)
    }

    /// [`InterviewStore::delete_library_item`] of a job description.
    ///
    /// # Errors
    /// As the kind method's.
    async fn delete_job_description(&self, user_id: &str, id: &str) -> Result<(), StoreError> {
        self.delete_library_item(LibraryKind::JobDescription, user_id, id)
            .await
    }

    /// [`InterviewStore::create_library_item`] of a resume.
    ///
    /// # Errors
    /// As the kind method's.
    async fn create_resume(
        &self,
        user_id: &str,
        title: &str,
        content: &str,
    ) -> Result<Resume, StoreError> {
        self.create_library_item(LibraryKind::Resume, user_id, title, content)
            .await
            .map(Into::into)
    }

    /// [`InterviewStore::list_library_items`] of resumes.
    ///
    /// # Errors
    /// As the kind method's.
    async fn list_resumes(&self, user_id: &str) -> Result<Vec<Resume>, StoreError> {
        let items = self
            .list_library_items(LibraryKind::Resume, user_id)
            .await?;
        Ok(items.into_iter().map(Into::into).collect())
    }

    /// [`InterviewStore::get_library_item`] of a resume.
    ///
    /// # Errors
    /// As the kind method's.
    async fn get_resume(&self, user_id: &str, id: &str) -> Result<Resume, StoreError> {
        self.get_library_item(LibraryKind::Resume, user_id, id)
            .await
            .map(Into::into)
    }

    /// [`InterviewStore::update_library_item`] of a resume.
    ///
    /// # Errors
    /// As the kind method's.
    async fn update_resume(
        &self,
        user_id: &str,
        id: &str,
        title: &str,
        content: &str,
    ) -> Result<Resume, StoreError> {
        self.update_library_item(LibraryKind::Resume, user_id, id, title, content)
            .await
            .map(Into::into)
    }

    /// [`InterviewStore::delete_library_item`] of a resume.
    ///
    /// # Errors
    /// As the kind method's.
    async fn delete_resume(&self, user_id: &str, id: &str) -> Result<(), StoreError> {
        self.delete_library_item(LibraryKind::Resume, user_id, id)
            .await
    }
}

impl<S: InterviewStore + ?Sized> InterviewStoreExt for S {}
