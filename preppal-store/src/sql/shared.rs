//! The body of the SQL backends' [`crate::InterviewStore`] implementation, generic over
//! the sqlx database: the statements, the transactions and the logic around them are the
//! same for SQLite and PostgreSQL; what differs comes in a [`Dialect`].

use preppal_core::{Feedback, InterviewStatus, TranscriptEntry};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use crate::error::{is_unique_violation, missing_parent, StoreError};
use crate::model::{
    self, HistoryCursor, Interview, Lease, LibraryItem, LibraryKind, NewInterview, Page,
    PageRequest, User,
};
use crate::sql::{InterviewRow, LeaseRow, TranscriptRow, UserRow};
use crate::validate;

/// What differs between the SQL backends, as SQL text.
#[derive(Debug)]
pub(crate) struct Dialect {
    /// The statement that starts a write transaction.
    pub(crate) begin: &'static str,
    /// Stores the feedback document `$2` of interview `$1` at time `$3` (upsert).
    pub(crate) put_feedback: &'static str,
    /// Reads the feedback document of interview `$1` as text (one nullable column), or
    /// no row when the interview does not exist.
    pub(crate) get_feedback: &'static str,
}

/// The multi-row transcript INSERT for `rows` entries (8 parameters each, `$1`..), with
/// the amend clause [`crate::sql::TRANSCRIPT_AMEND`].
/// `Ok` when a statement changed a row, else [`StoreError::NotFound`] of `what`.
fn changed_any(rows: u64, what: &'static str) -> Result<(), StoreError> {
    if rows == 0 {
        return Err(StoreError::not_found(what));
    }
    Ok(())
}

fn transcript_insert_sql(rows: usize) -> String {
    use std::fmt::Write as _;

    let mut sql = String::from(
        "INSERT INTO transcript_entries \
         (interview_id, sequence, speaker, text, start_ms, end_ms, interrupted, heard_text) VALUES ",
    );
    for r in 0..rows {
        let n = r * 8;
        if r > 0 {
            sql.push_str(", ");
        }
        let _ = write!(
            sql,
            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5,
            n + 6,
            n + 7,
            n + 8
        );
    }
    sql.push_str(crate::sql::TRANSCRIPT_AMEND);
    sql
}

/// How many rows a statement wrote (sqlx has no trait for it).
pub(crate) trait RowsAffected {
    /// Rows inserted, updated or deleted.
    fn rows_affected(&self) -> u64;
}

#[cfg(feature = "sqlite")]
impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::sqlite::SqliteQueryResult::rows_affected(self)
    }
}

#[cfg(feature = "postgres")]
impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::postgres::PgQueryResult::rows_affected(self)
    }
}

/// A store's pool and dialect: every call of the contract, for any sqlx database that
/// binds and decodes the column types the schema uses.
#[derive(Debug)]
pub(crate) struct Shared<'a, DB: Database> {
    pub(crate) pool: &'a Pool<DB>,
    pub(crate) dialect: &'static Dialect,
}

impl<DB> Shared<'_, DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<String>: Encode<'q, DB> + Decode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Decode<'q, DB>,
    DB::QueryResult: RowsAffected,
    usize: ColumnIndex<DB::Row>,
    for<'r> UserRow: FromRow<'r, DB::Row>,
    for<'r> InterviewRow: FromRow<'r, DB::Row>,
    for<'r> TranscriptRow: FromRow<'r, DB::Row>,
    for<'r> LeaseRow: FromRow<'r, DB::Row>,
    for<'r> LibraryItem: FromRow<'r, DB::Row>,
{
    pub(crate) async fn interview_by_key(
        &self,
        user_id: &str,
        key: &str,
    ) -> Result<Option<Interview>, StoreError> {
        sqlx::query_as::<_, InterviewRow>(concat!(
            "SELECT ",
            interview_columns!(),
            " FROM interviews WHERE user_id = $1 AND idempotency_key = $2"
        ))
        .bind(user_id)
        .bind(key)
        .fetch_optional(self.pool)
        .await?
        .map(crate::sql::interview)
        .transpose()
    }

    pub(crate) async fn require_interview(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query_scalar::<_, String>("SELECT id FROM interviews WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool)
            .await?
            .map(|_| ())
            .ok_or(StoreError::not_found("interview"))
    }

    pub(crate) async fn upsert_user(&self, email: &str, name: &str) -> Result<User, StoreError> {
        validate::texts([email, name])?;
        let row = sqlx::query_as::<_, UserRow>(
            "INSERT INTO users (id, email, name, created_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (email) DO UPDATE SET name = excluded.name \
             RETURNING id, email, name, created_at_ms",
        )
        .bind(model::new_id())
        .bind(email)
        .bind(name)
        .bind(model::now_ms())
        .fetch_one(self.pool)
        .await?;
        Ok(row.into())
    }

    pub(crate) async fn get_user(&self, user_id: &str) -> Result<User, StoreError> {
        sqlx::query_as::<_, UserRow>(
            "SELECT id, email, name, created_at_ms FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.pool)
        .await?
        .map(User::from)
        .ok_or(StoreError::not_found("user"))
    }

    pub(crate) async fn sign_in_user(
        &self,
        provider: &str,
        subject: &str,
        email: &str,
        name: &str,
    ) -> Result<User, StoreError> {
        validate::texts([provider, subject, email, name])?;
        // Create the account for this identity, or claim one stored before
        // identities were recorded; then the account must be this identity's.
        sqlx::query(
            "INSERT INTO users (id, email, name, created_at_ms, auth_provider, auth_subject) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (email) DO NOTHING",
        )
        .bind(model::new_id())
        .bind(email)
        .bind(name)
        .bind(model::now_ms())
        .bind(provider)
        .bind(subject)
        .execute(self.pool)
        .await?;
        sqlx::query(
            "UPDATE users SET auth_provider = $2, auth_subject = $3 \
             WHERE email = $1 AND auth_provider IS NULL",
        )
        .bind(email)
        .bind(provider)
        .bind(subject)
        .execute(self.pool)
        .await?;
        let row = sqlx::query_as::<_, UserRow>(
            "UPDATE users SET name = $4 \
             WHERE email = $1 AND auth_provider = $2 AND auth_subject = $3 \
             RETURNING id, email, name, created_at_ms",
        )
        .bind(email)
        .bind(provider)
        .bind(subject)
        .bind(name)
        .fetch_optional(self.pool)
        .await?;
        row.map(User::from).ok_or(StoreError::IdentityConflict)
    }

    pub(crate) async fn session_version(&self, user_id: &str) -> Result<u64, StoreError> {
        let v: Option<i64> = sqlx::query_scalar("SELECT session_version FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(self.pool)
            .await?;
        v.map(|v| u64::try_from(v).unwrap_or(0))
            .ok_or(StoreError::not_found("user"))
    }

    pub(crate) async fn revoke_sessions(&self, user_id: &str) -> Result<u64, StoreError> {
        let v: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET session_version = session_version + 1 WHERE id = $1 \
             RETURNING session_version",
        )
        .bind(user_id)
        .fetch_optional(self.pool)
        .await?;
        v.map(|v| u64::try_from(v).unwrap_or(0))
            .ok_or(StoreError::not_found("user"))
    }

    pub(crate) async fn create_library_item(
        &self,
        lib: LibraryKind,
        user_id: &str,
        title: &str,
        content: &str,
    ) -> Result<LibraryItem, StoreError> {
        validate::texts([user_id, title, content])?;
        let now = model::now_ms();
        let item = LibraryItem {
            id: model::new_id(),
            user_id: user_id.to_owned(),
            title: title.to_owned(),
            content: content.to_owned(),
            created_at_ms: now,
            updated_at_ms: now,
        };
        sqlx::query(library_sql!(
            lib,
            "INSERT INTO ",
            " (id, user_id, title, content, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(&item.id)
        .bind(&item.user_id)
        .bind(&item.title)
        .bind(&item.content)
        .bind(item.created_at_ms)
        .bind(item.updated_at_ms)
        .execute(self.pool)
        .await
        .map_err(|e| missing_parent(e, "user"))?;
        Ok(item)
    }

    pub(crate) async fn list_library_items(
        &self,
        lib: LibraryKind,
        user_id: &str,
    ) -> Result<Vec<LibraryItem>, StoreError> {
        Ok(sqlx::query_as::<_, LibraryItem>(library_sql!(
            lib,
            concat!("SELECT ", library_columns!(), " FROM "),
            " WHERE user_id = $1 ORDER BY created_at_ms DESC, id DESC"
        ))
        .bind(user_id)
        .fetch_all(self.pool)
        .await?)
    }

    pub(crate) async fn get_library_item(
        &self,
        lib: LibraryKind,
        user_id: &str,
        id: &str,
    ) -> Result<LibraryItem, StoreError> {
        sqlx::query_as::<_, LibraryItem>(library_sql!(
            lib,
            concat!("SELECT ", library_columns!(), " FROM "),
            " WHERE id = $1 AND user_id = $2"
        ))
        .bind(id)
        .bind(user_id)
        .fetch_optional(self.pool)
        .await?
        .ok_or(StoreError::not_found(lib.what()))
    }

    pub(crate) async fn update_library_item(
        &self,
        lib: LibraryKind,
        user_id: &str,
        id: &str,
        title: &str,
        content: &str,
    ) -> Result<LibraryItem, StoreError> {
        validate::texts([title, content])?;
        sqlx::query_as::<_, LibraryItem>(library_sql!(
            lib,
            "UPDATE ",
            concat!(
                " SET title = $3, content = $4, updated_at_ms = $5 WHERE id = $1 AND user_id = $2 RETURNING ",
                library_columns!()
            )
        ))
        .bind(id)
        .bind(user_id)
        .bind(title)
        .bind(content)
        .bind(model::now_ms())
        .fetch_optional(self.pool)
        .await?
        .ok_or(StoreError::not_found(lib.what()))
    }

    pub(crate) async fn delete_library_item(
        &self,
        lib: LibraryKind,
        user_id: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(library_sql!(
            lib,
            "DELETE FROM ",
            " WHERE id = $1 AND user_id = $2"
        ))
        .bind(id)
        .bind(user_id)
        .execute(self.pool)
        .await?;
        changed_any(done.rows_affected(), lib.what())
    }

    pub(crate) async fn library_usage(
        &self,
        user_id: &str,
    ) -> Result<crate::LibraryUsage, StoreError> {
        let (documents, bytes): (i64, i64) = sqlx::query_as(
            "SELECT \
               (SELECT COUNT(*) FROM job_descriptions WHERE user_id = $1) \
               + (SELECT COUNT(*) FROM resumes WHERE user_id = $1), \
               COALESCE((SELECT SUM(octet_length(title) + octet_length(content)) \
                         FROM job_descriptions WHERE user_id = $1), 0) \
               + COALESCE((SELECT SUM(octet_length(title) + octet_length(content)) \
                           FROM resumes WHERE user_id = $1), 0)",
        )
        .bind(user_id)
        .fetch_one(self.pool)
        .await?;
        Ok(crate::LibraryUsage {
            documents: u64::try_from(documents).unwrap_or(0),
            bytes: u64::try_from(bytes).unwrap_or(0),
        })
    }

    pub(crate) async fn create_interview(
        &self,
        new: NewInterview,
    ) -> Result<Interview, StoreError> {
        validate::new_interview(&new)?;
        if let Some(existing) = self
            .interview_by_key(&new.user_id, &new.idempotency_key)
            .await?
        {
            return existing.idempotent_answer(&new);
        }
        self.get_user(&new.user_id).await?;
        if let Some(jd) = &new.job_description_id {
            self.get_library_item(LibraryKind::JobDescription, &new.user_id, jd)
                .await?;
        }
        if let Some(r) = &new.resume_id {
            self.get_library_item(LibraryKind::Resume, &new.user_id, r)
                .await?;
        }
        let interview = Interview::from_new(model::new_id(), &new, model::now_ms());
        let plan_json = match &interview.plan {
            Some(plan) => Some(
                serde_json::to_string(plan)
                    .map_err(|_| StoreError::InvalidInput("the plan is not serialisable"))?,
            ),
            None => None,
        };
        let inserted = sqlx::query(concat!(
            "INSERT INTO interviews (",
            interview_columns!(),
            ") VALUES ($1, $2, $3, 'PENDING', $4, $5, $6, $7, $8, $9, $10, NULL, NULL, NULL, NULL, NULL, $11)"
        ))
        .bind(&interview.id)
        .bind(&interview.user_id)
        .bind(&interview.idempotency_key)
        .bind(&interview.persona)
        .bind(validate::to_i64(interview.duration_ms, "duration_ms is larger than i64::MAX")?)
        .bind(&interview.job_description_id)
        .bind(&interview.resume_id)
        .bind(&interview.job_description_snapshot)
        .bind(&interview.resume_snapshot)
        .bind(interview.created_at_ms)
        .bind(plan_json)
        .execute(self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(interview),
            // Another create with the same key won the race: answer as a retry.
            Err(e) if is_unique_violation(&e) => {
                match self
                    .interview_by_key(&new.user_id, &new.idempotency_key)
                    .await?
                {
                    Some(existing) => existing.idempotent_answer(&new),
                    None => Err(StoreError::from(e)),
                }
            }
            Err(e) => Err(missing_parent(e, "user")),
        }
    }

    pub(crate) async fn get_interview(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<Interview, StoreError> {
        sqlx::query_as::<_, InterviewRow>(concat!(
            "SELECT ",
            interview_columns!(),
            " FROM interviews WHERE id = $1 AND user_id = $2"
        ))
        .bind(id)
        .bind(user_id)
        .fetch_optional(self.pool)
        .await?
        .map(crate::sql::interview)
        .transpose()?
        .ok_or(StoreError::not_found("interview"))
    }

    pub(crate) async fn get_interview_unscoped(&self, id: &str) -> Result<Interview, StoreError> {
        sqlx::query_as::<_, InterviewRow>(concat!(
            "SELECT ",
            interview_columns!(),
            " FROM interviews WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool)
        .await?
        .map(crate::sql::interview)
        .transpose()?
        .ok_or(StoreError::not_found("interview"))
    }

    pub(crate) async fn list_interviews(
        &self,
        user_id: &str,
        page: PageRequest,
    ) -> Result<Page<Interview>, StoreError> {
        let limit = page.clamped_limit();
        let cursor = HistoryCursor::decode(page.cursor.as_deref())?;
        let rows = sqlx::query_as::<_, InterviewRow>(concat!(
            "SELECT ",
            interview_columns!(),
            " FROM interviews WHERE user_id = $1 AND (created_at_ms, id) < ($2, $3) \
             ORDER BY created_at_ms DESC, id DESC LIMIT $4"
        ))
        .bind(user_id)
        .bind(cursor.created_at_ms)
        .bind(&cursor.id)
        .bind(i64::from(limit) + 1)
        .fetch_all(self.pool)
        .await?;
        let items = rows
            .into_iter()
            .map(crate::sql::interview)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(model::into_page(items, limit))
    }

    pub(crate) async fn current_interview(
        &self,
        user_id: &str,
    ) -> Result<Option<Interview>, StoreError> {
        sqlx::query_as::<_, InterviewRow>(concat!(
            "SELECT ",
            interview_columns!(),
            " FROM interviews WHERE user_id = $1 AND status IN ('PENDING', 'IN_PROGRESS') \
             ORDER BY created_at_ms DESC, id DESC LIMIT 1"
        ))
        .bind(user_id)
        .fetch_optional(self.pool)
        .await?
        .map(crate::sql::interview)
        .transpose()
    }

    pub(crate) async fn interviews_in_progress(&self) -> Result<Vec<Interview>, StoreError> {
        sqlx::query_as::<_, InterviewRow>(concat!(
            "SELECT ",
            interview_columns!(),
            " FROM interviews WHERE status = 'IN_PROGRESS' ORDER BY created_at_ms, id"
        ))
        .fetch_all(self.pool)
        .await?
        .into_iter()
        .map(crate::sql::interview)
        .collect()
    }

    pub(crate) async fn delete_interview(&self, user_id: &str, id: &str) -> Result<(), StoreError> {
        // Transcript entries, feedback and the lease go with it (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM interviews WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(self.pool)
            .await?;
        changed_any(done.rows_affected(), "interview")
    }

    pub(crate) async fn update_status(
        &self,
        id: &str,
        expected: InterviewStatus,
        to: InterviewStatus,
        ended_reason: Option<&str>,
        error_message: Option<&str>,
    ) -> Result<Interview, StoreError> {
        let moves = validate::status_update(expected, to, ended_reason, error_message)?;
        let stale = |actual: InterviewStatus| StoreError::StaleStatus { expected, actual };
        if !moves {
            let current = self.get_interview_unscoped(id).await?;
            return if current.status == expected {
                Ok(current)
            } else {
                Err(stale(current.status))
            };
        }
        let now = model::now_ms();
        let started = (to == InterviewStatus::InProgress).then_some(now);
        let ended = to.is_terminal().then_some(now);
        let row = sqlx::query_as::<_, InterviewRow>(concat!(
            "UPDATE interviews SET status = $3, started_at_ms = COALESCE($4, started_at_ms), \
             ended_at_ms = COALESCE($5, ended_at_ms), ended_reason = COALESCE($6, ended_reason), \
             error_message = COALESCE($7, error_message) WHERE id = $1 AND status = $2 RETURNING ",
            interview_columns!()
        ))
        .bind(id)
        .bind(expected.as_str())
        .bind(to.as_str())
        .bind(started)
        .bind(ended)
        .bind(ended_reason)
        .bind(error_message)
        .fetch_optional(self.pool)
        .await?;
        match row {
            Some(row) => crate::sql::interview(row),
            None => Err(stale(self.get_interview_unscoped(id).await?.status)),
        }
    }

    pub(crate) async fn append_transcript(
        &self,
        id: &str,
        entries: &[TranscriptEntry],
    ) -> Result<u32, StoreError> {
        validate::transcript(entries)?;
        let mut tx = self.pool.begin_with(self.dialect.begin).await?;
        let exists = sqlx::query_scalar::<_, String>("SELECT id FROM interviews WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::not_found("interview"));
        }
        // Ascending sequence order, so that concurrent overlapping batches take their
        // row locks in one order (no deadlock on PostgreSQL). The sort is stable: of
        // two entries with one sequence, the first sent is inserted first and kept.
        let mut sorted: Vec<&TranscriptEntry> = entries.iter().collect();
        sorted.sort_by_key(|e| e.sequence);
        // One row per sequence per statement (an upsert may not touch a row twice):
        // of two entries with one sequence in a batch, the first sent is the one.
        sorted.dedup_by_key(|e| e.sequence);
        let mut stored: u64 = 0;
        for chunk in sorted.chunks(crate::sql::TRANSCRIPT_ROWS_PER_INSERT) {
            let sql = transcript_insert_sql(chunk.len());
            let mut insert = sqlx::query(&sql);
            for e in chunk {
                // validate::transcript made sure the times fit.
                insert = insert
                    .bind(id)
                    .bind(i64::from(e.sequence))
                    .bind(e.speaker.as_str())
                    .bind(e.text.as_str())
                    .bind(i64::try_from(e.start_ms).unwrap_or(i64::MAX))
                    .bind(i64::try_from(e.end_ms).unwrap_or(i64::MAX))
                    .bind(e.interrupted)
                    .bind(validate::stored_heard_text(e));
            }
            let done = insert
                .execute(&mut *tx)
                .await
                .map_err(|e| missing_parent(e, "interview"))?;
            stored = stored.saturating_add(done.rows_affected());
        }
        tx.commit().await?;
        Ok(u32::try_from(stored).unwrap_or(u32::MAX))
    }

    pub(crate) async fn get_transcript(
        &self,
        id: &str,
    ) -> Result<Vec<TranscriptEntry>, StoreError> {
        self.require_interview(id).await?;
        let rows = sqlx::query_as::<_, TranscriptRow>(
            "SELECT sequence, speaker, text, start_ms, end_ms, interrupted, heard_text FROM transcript_entries \
             WHERE interview_id = $1 ORDER BY sequence",
        )
        .bind(id)
        .fetch_all(self.pool)
        .await?;
        rows.into_iter().map(TranscriptEntry::try_from).collect()
    }

    pub(crate) async fn put_feedback(
        &self,
        id: &str,
        feedback: &Feedback,
    ) -> Result<(), StoreError> {
        let doc = validate::feedback_document(feedback)?;
        sqlx::query(self.dialect.put_feedback)
            .bind(id)
            .bind(doc)
            .bind(model::now_ms())
            .execute(self.pool)
            .await
            .map_err(|e| missing_parent(e, "interview"))?;
        Ok(())
    }

    pub(crate) async fn get_feedback(&self, id: &str) -> Result<Option<Feedback>, StoreError> {
        let row = sqlx::query_as::<_, (Option<String>,)>(self.dialect.get_feedback)
            .bind(id)
            .fetch_optional(self.pool)
            .await?
            .ok_or(StoreError::not_found("interview"))?;
        row.0.as_deref().map(model::parse_feedback).transpose()
    }

    pub(crate) async fn set_resumption_handle(
        &self,
        id: &str,
        handle: Option<&str>,
    ) -> Result<(), StoreError> {
        validate::texts(handle)?;
        let done = sqlx::query("UPDATE interviews SET resumption_handle = $2 WHERE id = $1")
            .bind(id)
            .bind(handle)
            .execute(self.pool)
            .await?;
        changed_any(done.rows_affected(), "interview")
    }

    pub(crate) async fn set_error_kind(
        &self,
        id: &str,
        error_kind: &str,
    ) -> Result<(), StoreError> {
        validate::texts([error_kind])?;
        let done = sqlx::query("UPDATE interviews SET error_kind = $2 WHERE id = $1")
            .bind(id)
            .bind(error_kind)
            .execute(self.pool)
            .await?;
        changed_any(done.rows_affected(), "interview")
    }

    pub(crate) async fn get_resumption_handle(
        &self,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query_as::<_, (Option<String>,)>(
            "SELECT resumption_handle FROM interviews WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool)
        .await?
        .ok_or(StoreError::not_found("interview"))?;
        Ok(row.0)
    }

    pub(crate) async fn claim_lease(
        &self,
        id: &str,
        worker_id: &str,
        ttl_ms: u64,
        now_ms: i64,
    ) -> Result<Lease, StoreError> {
        let expires_at_ms = validate::lease_expiry(worker_id, ttl_ms, now_ms)?;
        // One statement: insert, or take over a lease that is ours or has expired.
        let row = sqlx::query_as::<_, LeaseRow>(
            "INSERT INTO leases (interview_id, worker_id, expires_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (interview_id) DO UPDATE \
             SET worker_id = excluded.worker_id, expires_at_ms = excluded.expires_at_ms \
             WHERE leases.worker_id = excluded.worker_id OR leases.expires_at_ms <= $4 \
             RETURNING interview_id, worker_id, expires_at_ms",
        )
        .bind(id)
        .bind(worker_id)
        .bind(expires_at_ms)
        .bind(now_ms)
        .fetch_optional(self.pool)
        .await
        .map_err(|e| missing_parent(e, "interview"))?;
        row.map(Lease::from).ok_or(StoreError::LeaseHeld)
    }

    pub(crate) async fn renew_lease(
        &self,
        id: &str,
        worker_id: &str,
        ttl_ms: u64,
        now_ms: i64,
    ) -> Result<Lease, StoreError> {
        let expires_at_ms = validate::lease_expiry(worker_id, ttl_ms, now_ms)?;
        let row = sqlx::query_as::<_, LeaseRow>(
            "UPDATE leases SET expires_at_ms = $3 WHERE interview_id = $1 AND worker_id = $2 \
             RETURNING interview_id, worker_id, expires_at_ms",
        )
        .bind(id)
        .bind(worker_id)
        .bind(expires_at_ms)
        .fetch_optional(self.pool)
        .await?;
        match row {
            Some(row) => Ok(row.into()),
            None => {
                self.require_interview(id).await?;
                Err(StoreError::LeaseHeld)
            }
        }
    }

    pub(crate) async fn release_lease(&self, id: &str, worker_id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM leases WHERE interview_id = $1 AND worker_id = $2")
            .bind(id)
            .bind(worker_id)
            .execute(self.pool)
            .await?;
        if done.rows_affected() > 0 {
            return Ok(());
        }
        let holder = sqlx::query_as::<_, (Option<String>,)>(
            "SELECT l.worker_id FROM interviews i LEFT JOIN leases l ON l.interview_id = i.id \
             WHERE i.id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool)
        .await?
        .ok_or(StoreError::not_found("interview"))?;
        match holder.0 {
            None => Ok(()),
            Some(_) => Err(StoreError::LeaseHeld),
        }
    }
}
