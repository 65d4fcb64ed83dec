//! Row shapes of the SQL backends, their conversions into the store's records, the
//! column lists the statements share, and the transcript upsert clause.

use preppal_core::{InterviewStatus, Speaker, TranscriptEntry};

use crate::error::StoreError;
use crate::model::{Interview, Lease, User};

/// The columns of `interviews` that make an [`Interview`], in [`InterviewRow`] order.
macro_rules! interview_columns {
    () => {
        "id, user_id, idempotency_key, status, persona, duration_ms, job_description_id, resume_id, \
         job_description_snapshot, resume_snapshot, created_at_ms, started_at_ms, ended_at_ms, \
         ended_reason, error_message, error_kind, plan_json"
    };
}

/// The columns of a library table, in [`crate::model::LibraryItem`] order.
macro_rules! library_columns {
    () => {
        "id, user_id, title, content, created_at_ms, updated_at_ms"
    };
}

/// A static SQL string for either library table: `$before` + table name + `$after`.
macro_rules! library_sql {
    ($lib:expr, $before:expr, $after:expr) => {
        match $lib {
            $crate::model::LibraryKind::JobDescription => {
                concat!($before, "job_descriptions", $after)
            }
            $crate::model::LibraryKind::Resume => concat!($before, "resumes", $after),
        }
    };
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    email: String,
    name: String,
    created_at_ms: i64,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        Self {
            id: r.id,
            email: r.email,
            name: r.name,
            created_at_ms: r.created_at_ms,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct InterviewRow {
    id: String,
    user_id: String,
    idempotency_key: String,
    status: String,
    persona: String,
    duration_ms: i64,
    job_description_id: Option<String>,
    resume_id: Option<String>,
    job_description_snapshot: String,
    resume_snapshot: String,
    created_at_ms: i64,
    started_at_ms: Option<i64>,
    ended_at_ms: Option<i64>,
    ended_reason: Option<String>,
    error_message: Option<String>,
    error_kind: Option<String>,
    plan_json: Option<String>,
}

impl TryFrom<InterviewRow> for Interview {
    type Error = StoreError;

    fn try_from(r: InterviewRow) -> Result<Self, StoreError> {
        let status: InterviewStatus = r
            .status
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("interview {}: {e}", r.id)))?;
        let duration_ms = u64::try_from(r.duration_ms).map_err(|_| {
            StoreError::Corrupt(format!("interview {}: negative duration_ms", r.id))
        })?;
        let plan =
            match r.plan_json.as_deref() {
                None => None,
                Some(json) => Some(serde_json::from_str(json).map_err(|e| {
                    StoreError::Corrupt(format!("interview {}: plan_json: {e}", r.id))
                })?),
            };
        Ok(Self {
            plan,
            id: r.id,
            user_id: r.user_id,
            idempotency_key: r.idempotency_key,
            status,
            persona: r.persona,
            duration_ms,
            job_description_id: r.job_description_id,
            resume_id: r.resume_id,
            job_description_snapshot: r.job_description_snapshot,
            resume_snapshot: r.resume_snapshot,
            created_at_ms: r.created_at_ms,
            started_at_ms: r.started_at_ms,
            ended_at_ms: r.ended_at_ms,
            ended_reason: r.ended_reason,
            error_message: r.error_message,
            error_kind: r.error_kind,
        })
    }
}

/// Converts a row read with [`interview_columns!`].
pub(crate) fn interview(row: InterviewRow) -> Result<Interview, StoreError> {
    Interview::try_from(row)
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TranscriptRow {
    sequence: i64,
    speaker: String,
    text: String,
    start_ms: i64,
    end_ms: i64,
    interrupted: bool,
    heard_text: Option<String>,
}

impl TryFrom<TranscriptRow> for TranscriptEntry {
    type Error = StoreError;

    fn try_from(r: TranscriptRow) -> Result<Self, StoreError> {
        let bad =
            |what: &str| StoreError::Corrupt(format!("transcript entry {}: {what}", r.sequence));
        Ok(Self {
            sequence: u32::try_from(r.sequence).map_err(|_| bad("sequence out of range"))?,
            speaker: r
                .speaker
                .parse::<Speaker>()
                .map_err(|e| bad(&e.to_string()))?,
            start_ms: u64::try_from(r.start_ms).map_err(|_| bad("negative start_ms"))?,
            end_ms: u64::try_from(r.end_ms).map_err(|_| bad("negative end_ms"))?,
            text: r.text,
            heard_text: r.heard_text.filter(|_| r.interrupted),
            interrupted: r.interrupted,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LeaseRow {
    interview_id: String,
    worker_id: String,
    expires_at_ms: i64,
}

impl From<LeaseRow> for Lease {
    fn from(r: LeaseRow) -> Self {
        Self {
            interview_id: r.interview_id,
            worker_id: r.worker_id,
            expires_at_ms: r.expires_at_ms,
        }
    }
}

/// The conflict clause of the transcript INSERT: [`crate::validate::amends`] in SQL.
///
/// A stored entry is only ever amended: same speaker, its text a prefix of the new one, and
/// something new: more text (a provisional open turn that then finished), another end (an
/// interviewer turn whose end moved to where the client's playback stopped) or a barge-in
/// the stored entry does not note yet. Anything else keeps the first text. A barge-in, once
/// noted, stays.
pub(crate) const TRANSCRIPT_AMEND: &str = " ON CONFLICT (interview_id, sequence) DO UPDATE SET \
     text = excluded.text, end_ms = excluded.end_ms, \
     interrupted = (transcript_entries.interrupted OR excluded.interrupted), \
     heard_text = CASE WHEN excluded.interrupted THEN excluded.heard_text \
                  ELSE transcript_entries.heard_text END \
     WHERE transcript_entries.speaker = excluded.speaker \
     AND substr(excluded.text, 1, length(transcript_entries.text)) = transcript_entries.text \
     AND (length(excluded.text) > length(transcript_entries.text) \
          OR excluded.end_ms <> transcript_entries.end_ms \
          OR (excluded.interrupted AND (NOT transcript_entries.interrupted \
              OR transcript_entries.heard_text IS DISTINCT FROM excluded.heard_text)))";

/// Transcript rows per multi-row INSERT: 8 parameters each, well below SQLite's 32766
/// and PostgreSQL's 65535 bound parameters per statement.
pub(crate) const TRANSCRIPT_ROWS_PER_INSERT: usize = 1000;
