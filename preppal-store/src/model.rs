//! The records a store keeps, as plain structs.
//!
//! Times are Unix milliseconds (`i64`, UTC) taken by the store when it writes; durations
//! are milliseconds. Ids are UUID v4 strings made by the store. Field names serialise in
//! snake_case, exactly as written here.

use preppal_core::{InterviewPlan, InterviewStatus};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// A person who takes interviews, found by email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// UUID v4.
    pub id: String,
    /// The sign-in email, unique among users (compared exactly as given).
    pub email: String,
    /// The display name; updated on every sign-in.
    pub name: String,
    /// When the user was first stored, Unix ms.
    pub created_at_ms: i64,
}

/// A job description in a user's library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDescription {
    /// UUID v4.
    pub id: String,
    /// The owner.
    pub user_id: String,
    /// A short name for the library list.
    pub title: String,
    /// The full text.
    pub content: String,
    /// When it was created, Unix ms.
    pub created_at_ms: i64,
    /// When it was last changed, Unix ms.
    pub updated_at_ms: i64,
}

/// How much a user's library holds: job descriptions and resumes together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryUsage {
    /// Job descriptions plus resumes.
    pub documents: u64,
    /// Bytes of their titles and contents (UTF-8).
    pub bytes: u64,
}

/// A resume in a user's library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// UUID v4.
    pub id: String,
    /// The owner.
    pub user_id: String,
    /// A short name for the library list.
    pub title: String,
    /// The full text.
    pub content: String,
    /// When it was created, Unix ms.
    pub created_at_ms: i64,
    /// When it was last changed, Unix ms.
    pub updated_at_ms: i64,
}

/// What a caller gives to create an interview.
///
/// The texts are the job description and resume as they are now; the store keeps them as
/// the interview's snapshots, so later library edits do not change past interviews.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInterview {
    /// The owner; must be a stored user.
    pub user_id: String,
    /// Chosen by the client per "Start interview" click; a retried create with the same key
    /// and the same inputs returns the interview already made.
    pub idempotency_key: String,
    /// The interviewer persona (system instruction) for the model.
    pub persona: String,
    /// The planned length of the interview, ms (at most `i64::MAX`).
    pub duration_ms: u64,
    /// The library job description the text came from, if any; must belong to the user.
    pub job_description_id: Option<String>,
    /// The library resume the text came from, if any; must belong to the user.
    pub resume_id: Option<String>,
    /// The job description text to snapshot.
    pub job_description_text: String,
    /// The resume text to snapshot.
    pub resume_text: String,
    /// The interview plan to snapshot with it (`None`: the interview has none, as those
    /// made before plans existed).
    #[serde(default)]
    pub plan: Option<InterviewPlan>,
}

impl NewInterview {
    /// An interview of `user_id` over pasted texts (no library records), lasting
    /// `duration_ms`, with the default persona (empty) and a fresh UUID v4 idempotency key:
    /// what an app that does not retry creations needs.
    ///
    /// ```
    /// let a = preppal_store::NewInterview::from_texts("u1", "Rust engineer", "Jo", 600_000);
    /// let b = preppal_store::NewInterview::from_texts("u1", "Rust engineer", "Jo", 600_000);
    /// assert_ne!(a.idempotency_key, b.idempotency_key);
    /// assert_eq!(a.duration_ms, 600_000);
    /// ```
    pub fn from_texts(
        user_id: impl Into<String>,
        job_description_text: impl Into<String>,
        resume_text: impl Into<String>,
        duration_ms: u64,
    ) -> Self {
        Self {
            user_id: user_id.into(),
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            persona: String::new(),
            duration_ms,
            job_description_id: None,
            resume_id: None,
            job_description_text: job_description_text.into(),
            resume_text: resume_text.into(),
            plan: None,
        }
    }
}

/// One interview, as stored.
///
/// Only stores build it (`#[non_exhaustive]`); read its fields freely.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Interview {
    /// UUID v4.
    pub id: String,
    /// The owner.
    pub user_id: String,
    /// The key it was created with.
    pub idempotency_key: String,
    /// Where it is in its lifecycle.
    pub status: InterviewStatus,
    /// The interviewer persona.
    pub persona: String,
    /// The planned length, ms.
    pub duration_ms: u64,
    /// The library job description it was made from (may since have been deleted).
    pub job_description_id: Option<String>,
    /// The library resume it was made from (may since have been deleted).
    pub resume_id: Option<String>,
    /// The job description text at creation.
    pub job_description_snapshot: String,
    /// The resume text at creation.
    pub resume_snapshot: String,
    /// When it was created, Unix ms.
    pub created_at_ms: i64,
    /// When it entered IN_PROGRESS, Unix ms.
    pub started_at_ms: Option<i64>,
    /// When it entered COMPLETED or ERROR, Unix ms.
    pub ended_at_ms: Option<i64>,
    /// Why it ended, in the caller's words (for example `"user_ended"`, `"timeout"`).
    pub ended_reason: Option<String>,
    /// What went wrong, for an interview in ERROR.
    pub error_message: Option<String>,
    /// Why the model failed, for an interview that ended in ERROR because of it:
    /// `preppal_core::ModelErrorKind::as_str` (`"quota"`, `"authentication"`, ...).
    #[serde(default)]
    pub error_kind: Option<String>,
    /// The interview plan at creation (`None` for interviews made without one).
    #[serde(default)]
    pub plan: Option<InterviewPlan>,
}

/// A history entry: the whole interview (it is small; transcripts are kept apart).
pub type InterviewSummary = Interview;

/// Which page of a list to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// How many items at most; clamped to `1..=100`.
    pub limit: u32,
    /// The `next_cursor` of the previous page, or `None` for the first page.
    pub cursor: Option<String>,
}

impl PageRequest {
    /// The largest page a store returns.
    pub const MAX_LIMIT: u32 = 100;

    /// The first page with `limit` items at most.
    pub fn first(limit: u32) -> Self {
        Self {
            limit,
            cursor: None,
        }
    }

    /// The limit clamped to `1..=100`.
    pub fn clamped_limit(&self) -> u32 {
        self.limit.clamp(1, Self::MAX_LIMIT)
    }
}

impl Default for PageRequest {
    /// The first page of 20.
    fn default() -> Self {
        Self::first(20)
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// Pass this as [`PageRequest::cursor`] for the next page; `None` on the last page.
    /// Its content is opaque and may change between versions.
    pub next_cursor: Option<String>,
}

/// The claim of one worker on a live interview, until `expires_at_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The interview.
    pub interview_id: String,
    /// The worker that holds it.
    pub worker_id: String,
    /// When it lapses, Unix ms, on the clock of the callers' `now_ms`. The lease is held
    /// while `now_ms < expires_at_ms`.
    pub expires_at_ms: i64,
}

// ---- crate-internal pieces shared by the backends ----

/// A document in one of a user's libraries: the common shape of [`JobDescription`] and
/// [`Resume`], which convert from it. Serialises with the same field names as they do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(feature = "sqlite", feature = "postgres"), derive(sqlx::FromRow))]
pub struct LibraryItem {
    /// UUID v4.
    pub id: String,
    /// The owner.
    pub user_id: String,
    /// A short name for the library list.
    pub title: String,
    /// The full text.
    pub content: String,
    /// When it was created, Unix ms.
    pub created_at_ms: i64,
    /// When it was last changed, Unix ms.
    pub updated_at_ms: i64,
}

impl From<LibraryItem> for JobDescription {
    fn from(i: LibraryItem) -> Self {
        Self {
            id: i.id,
            user_id: i.user_id,
            title: i.title,
            content: i.content,
            created_at_ms: i.created_at_ms,
            updated_at_ms: i.updated_at_ms,
        }
    }
}

impl From<LibraryItem> for Resume {
    fn from(i: LibraryItem) -> Self {
        Self {
            id: i.id,
            user_id: i.user_id,
            title: i.title,
            content: i.content,
            created_at_ms: i.created_at_ms,
            updated_at_ms: i.updated_at_ms,
        }
    }
}

/// Which of a user's libraries a library call is about.
///
/// Serialised as the JSON API's procedure prefix: `"jobDescription"` or `"resume"`. Each
/// kind is kept in its own table (`job_descriptions`, `resumes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum LibraryKind {
    /// Job descriptions.
    JobDescription,
    /// Resumes.
    Resume,
}

impl LibraryKind {
    /// Every kind, job descriptions first.
    pub const ALL: [Self; 2] = [Self::JobDescription, Self::Resume];

    /// What one item is called in messages and in [`StoreError::NotFound`]:
    /// `"job description"` or `"resume"`.
    pub fn what(self) -> &'static str {
        match self {
            Self::JobDescription => "job description",
            Self::Resume => "resume",
        }
    }

    /// The JSON API's procedure prefix, as serialised: `"jobDescription"` or `"resume"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::JobDescription => "jobDescription",
            Self::Resume => "resume",
        }
    }
}

impl Interview {
    /// A new PENDING interview made from `new`.
    pub(crate) fn from_new(id: String, new: &NewInterview, created_at_ms: i64) -> Self {
        Self {
            id,
            user_id: new.user_id.clone(),
            idempotency_key: new.idempotency_key.clone(),
            status: InterviewStatus::Pending,
            persona: new.persona.clone(),
            duration_ms: new.duration_ms,
            job_description_id: new.job_description_id.clone(),
            resume_id: new.resume_id.clone(),
            job_description_snapshot: new.job_description_text.clone(),
            resume_snapshot: new.resume_text.clone(),
            created_at_ms,
            started_at_ms: None,
            ended_at_ms: None,
            ended_reason: None,
            error_message: None,
            error_kind: None,
            plan: new.plan.clone(),
        }
    }

    /// Whether `new` asks for this very interview (same key and same inputs).
    pub(crate) fn was_made_from(&self, new: &NewInterview) -> bool {
        self.user_id == new.user_id
            && self.idempotency_key == new.idempotency_key
            && self.persona == new.persona
            && self.duration_ms == new.duration_ms
            && self.job_description_id == new.job_description_id
            && self.resume_id == new.resume_id
            && self.job_description_snapshot == new.job_description_text
            && self.resume_snapshot == new.resume_text
            && self.plan == new.plan
    }

    /// The answer to a create that found `self` under the same idempotency key.
    pub(crate) fn idempotent_answer(self, new: &NewInterview) -> Result<Self, StoreError> {
        if self.was_made_from(new) {
            Ok(self)
        } else {
            Err(StoreError::IdempotencyConflict)
        }
    }
}

/// The current time, Unix ms.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A fresh UUID v4 string.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Reads a feedback JSON document back.
pub(crate) fn parse_feedback(doc: &str) -> Result<preppal_core::Feedback, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("feedback document: {e}")))
}

/// The position of an interview in history order, carried in a page cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HistoryCursor {
    pub(crate) created_at_ms: i64,
    pub(crate) id: String,
}

impl HistoryCursor {
    /// Before every interview: the start of the newest-first history.
    pub(crate) fn start() -> Self {
        Self {
            created_at_ms: i64::MAX,
            id: String::new(),
        }
    }

    pub(crate) fn after(i: &Interview) -> Self {
        Self {
            created_at_ms: i.created_at_ms,
            id: i.id.clone(),
        }
    }

    /// Whether `i` comes after this position in newest-first order.
    pub(crate) fn precedes(&self, i: &Interview) -> bool {
        (i.created_at_ms, i.id.as_str()) < (self.created_at_ms, self.id.as_str())
    }

    /// The opaque text form: `h1` then hex of `"{created_at_ms}.{id}"`.
    pub(crate) fn encode(&self) -> String {
        let raw = format!("{}.{}", self.created_at_ms, self.id);
        let mut out = String::with_capacity(2 + raw.len() * 2);
        out.push_str("h1");
        for b in raw.bytes() {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        out
    }

    /// Reads [`HistoryCursor::encode`]'s form; `None` means "first page".
    pub(crate) fn decode(cursor: Option<&str>) -> Result<Self, StoreError> {
        const BAD: StoreError = StoreError::InvalidInput("malformed page cursor");
        let Some(text) = cursor else {
            return Ok(Self::start());
        };
        let hex = text.strip_prefix("h1").ok_or(BAD)?.as_bytes();
        if hex.len() % 2 != 0 || hex.len() > 512 {
            return Err(BAD);
        }
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let bytes = hex
            .chunks_exact(2)
            .map(|p| Some((nibble(p[0])? << 4) | nibble(p[1])?))
            .collect::<Option<Vec<u8>>>()
            .ok_or(BAD)?;
        let raw = String::from_utf8(bytes).map_err(|_| BAD)?;
        let (ms, id) = raw.split_once('.').ok_or(BAD)?;
        let created_at_ms = ms.parse().map_err(|_| BAD)?;
        if id.contains('\0') {
            return Err(BAD);
        }
        Ok(Self {
            created_at_ms,
            id: id.to_owned(),
        })
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Builds a page from up to `limit + 1` items read in order: the extra item only says that
/// another page exists.
pub(crate) fn into_page(mut items: Vec<Interview>, limit: u32) -> Page<Interview> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|i| HistoryCursor::after(i).encode())
    } else {
        None
    };
    Page { items, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = HistoryCursor {
            created_at_ms: 1_700_000_000_123,
            id: "0b6c2a43-1f7e-4d43-9d7a-2a7f4f0d7c11".into(),
        };
        assert_eq!(HistoryCursor::decode(Some(&c.encode())).unwrap(), c);
        assert_eq!(HistoryCursor::decode(None).unwrap(), HistoryCursor::start());
        for bad in ["", "h1", "h1zz", "h1abc", "x1616263", "h1313233"] {
            let e = HistoryCursor::decode(Some(bad));
            assert!(
                matches!(e, Err(StoreError::InvalidInput(_))),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn page_limits_clamp() {
        assert_eq!(PageRequest::first(0).clamped_limit(), 1);
        assert_eq!(PageRequest::first(1000).clamped_limit(), 100);
        assert_eq!(PageRequest::first(7).clamped_limit(), 7);
    }

    #[test]
    fn library_kinds_serialise_as_the_procedure_prefix() {
        for kind in LibraryKind::ALL {
            let json = serde_json::to_string(&kind).expect("serialise");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            let back: LibraryKind = serde_json::from_str(&json).expect("parse");
            assert_eq!(back, kind);
        }
        assert_eq!(LibraryKind::JobDescription.as_str(), "jobDescription");
        assert_eq!(LibraryKind::Resume.what(), "resume");
    }

    #[test]
    fn a_library_item_serialises_like_a_job_description() {
        let item = LibraryItem {
            id: "d1".into(),
            user_id: "u1".into(),
            title: "Backend".into(),
            content: "Rust".into(),
            created_at_ms: 1,
            updated_at_ms: 2,
        };
        let as_item = serde_json::to_value(&item).expect("item");
        let as_jd = serde_json::to_value(JobDescription::from(item.clone())).expect("jd");
        let as_resume = serde_json::to_value(Resume::from(item)).expect("resume");
        assert_eq!(as_item, as_jd);
        assert_eq!(as_item, as_resume);
    }
}
