//! The fields of the records the store and the core keep, as the JSON API sends them.
//!
//! The replies carry [`preppal_store::Interview`], [`preppal_store::User`],
//! [`preppal_store::JobDescription`], [`preppal_store::Resume`],
//! [`preppal_core::TranscriptEntry`] and [`preppal_core::Feedback`] exactly as those crates
//! serialise them; these types only describe them in the OpenAPI document (their field
//! lists are checked against the records' JSON by the tests below). Times are Unix ms,
//! durations ms.

use serde::Serialize;
use utoipa::ToSchema;

/// A user (`preppal_store::User`).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserRecord {
    /// UUID v4.
    pub id: String,
    /// The sign-in email.
    pub email: String,
    /// The display name.
    pub name: String,
    /// When the user was first stored, Unix ms.
    pub created_at_ms: i64,
}

/// An interview (`preppal_store::Interview`).
#[derive(Debug, Serialize, ToSchema)]
pub struct InterviewRecord {
    /// UUID v4.
    pub id: String,
    /// The owner.
    pub user_id: String,
    /// The key it was created with.
    pub idempotency_key: String,
    /// `PENDING`, `IN_PROGRESS`, `COMPLETED` or `ERROR`.
    #[schema(example = "PENDING")]
    pub status: String,
    /// The interviewer persona.
    pub persona: String,
    /// The planned length, ms.
    pub duration_ms: u64,
    /// The library job description it was made from.
    pub job_description_id: Option<String>,
    /// The library resume it was made from.
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
    /// Why it ended (for example `"user_ended"`, `"timeout"`, `"abandoned"`).
    pub ended_reason: Option<String>,
    /// What went wrong, for an interview in ERROR.
    pub error_message: Option<String>,
    /// Why the model failed (`"quota"`, `"authentication"`, ...), for an interview that
    /// ended in ERROR because of it.
    pub error_kind: Option<String>,
    /// The interview plan at creation: round type, difficulty, competencies, questions
    /// (`null` for interviews made without one).
    #[schema(value_type = Option<Object>)]
    pub plan: Option<serde_json::Value>,
}

/// A job description or a resume in the user's library (`preppal_store::JobDescription`,
/// `preppal_store::Resume`).
#[derive(Debug, Serialize, ToSchema)]
pub struct LibraryDocumentRecord {
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

/// One turn of a transcript (`preppal_core::TranscriptEntry`).
#[derive(Debug, Serialize, ToSchema)]
pub struct TranscriptEntryRecord {
    /// Position in the interview, from 0.
    pub sequence: u32,
    /// `"AI"` (the interviewer) or `"USER"` (the candidate).
    #[schema(example = "AI")]
    pub speaker: String,
    /// What was said (empty when a candidate turn had audio but no transcription).
    pub text: String,
    /// When the turn started, ms since the interview started.
    pub start_ms: u64,
    /// When the turn ended, ms since the interview started.
    pub end_ms: u64,
    /// An interviewer turn the candidate cut short by speaking.
    pub interrupted: bool,
    /// For an `interrupted` turn, the part of `text` heard before the cut; absent
    /// otherwise.
    pub heard_text: Option<String>,
}

/// Feedback on one interview (`preppal_core::Feedback`).
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackRecord {
    /// A few sentences on the whole interview.
    pub summary: String,
    /// What went well.
    pub strengths: Vec<String>,
    /// What to work on.
    pub areas_to_improve: Vec<String>,
    /// Who wrote it: `"gemini"`, `"simulator"` or `"deterministic"`.
    #[schema(example = "deterministic")]
    pub source: String,
    /// Delivery metrics (see `preppal_core::metrics` for every unit), `null` when none.
    #[schema(value_type = Option<Object>)]
    pub metrics: Option<serde_json::Value>,
    /// Per-question notes, each `{question, quote, note}`.
    #[schema(value_type = Vec<Object>)]
    pub notes: Vec<serde_json::Value>,
    /// Scores 1 to 5 on `content`, `structure` and `clarity`, each `{value, reason}`;
    /// `null` when no model gave them.
    #[schema(value_type = Option<Object>)]
    pub scores: Option<serde_json::Value>,
    /// Notes dropped because their quote is not in the transcript.
    pub dropped_notes: u32,
    /// Against the interview plan: `competency_scores`, `dropped_scores`, `star_checks`,
    /// `coverage`, `needs_model`; absent without a plan.
    #[schema(value_type = Option<Object>)]
    pub plan_assessment: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{json, Value};
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::RefOr;
    use utoipa::PartialSchema;

    use super::*;

    /// The property names of a described record.
    fn described<T: PartialSchema>() -> BTreeSet<String> {
        match T::schema() {
            RefOr::T(Schema::Object(o)) => o.properties.keys().cloned().collect(),
            _ => panic!("not an object schema"),
        }
    }

    /// The keys of `record` once read into `T` and written again as the server sends it.
    fn sent<T: serde::de::DeserializeOwned + Serialize>(record: Value) -> BTreeSet<String> {
        let typed: T = serde_json::from_value(record).expect("a valid record");
        let v = serde_json::to_value(typed).expect("serialisable");
        v.as_object().expect("an object").keys().cloned().collect()
    }

    #[test]
    fn the_described_fields_are_the_fields_sent() {
        let user = json!({ "id": "u", "email": "a@b.c", "name": "A", "created_at_ms": 1 });
        assert_eq!(sent::<preppal_store::User>(user), described::<UserRecord>());
        let interview = json!({
            "id": "i", "user_id": "u", "idempotency_key": "k", "status": "ERROR",
            "persona": "p", "duration_ms": 60000, "job_description_id": null,
            "resume_id": null, "job_description_snapshot": "j", "resume_snapshot": "r",
            "created_at_ms": 1, "started_at_ms": 2, "ended_at_ms": 3, "ended_reason": "x",
            "error_message": "m", "error_kind": "quota", "plan": null
        });
        assert_eq!(
            sent::<preppal_store::Interview>(interview),
            described::<InterviewRecord>()
        );
        let doc = json!({ "id": "d", "user_id": "u", "title": "t", "content": "c",
            "created_at_ms": 1, "updated_at_ms": 2 });
        assert_eq!(
            sent::<preppal_store::JobDescription>(doc.clone()),
            described::<LibraryDocumentRecord>()
        );
        assert_eq!(
            sent::<preppal_store::Resume>(doc),
            described::<LibraryDocumentRecord>()
        );
        let entry = json!({ "sequence": 0, "speaker": "AI", "text": "Hi", "start_ms": 0,
            "end_ms": 900, "interrupted": true, "heard_text": "H" });
        assert_eq!(
            sent::<preppal_core::TranscriptEntry>(entry),
            described::<TranscriptEntryRecord>()
        );
        let feedback = json!({ "summary": "s", "strengths": [], "areas_to_improve": [],
            "source": "deterministic", "metrics": null, "notes": [], "scores": null,
            "dropped_notes": 0, "plan_assessment": { "competency_scores": [],
            "dropped_scores": 0, "star_checks": [], "coverage": [], "needs_model": [] } });
        assert_eq!(
            sent::<preppal_core::Feedback>(feedback),
            described::<FeedbackRecord>()
        );
    }
}
