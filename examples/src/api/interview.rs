//! `interview.*` procedures on the interview itself: create, tokens, read, list, delete,
//! abandon, transcript.

use preppal_core::{InterviewStatus, TranscriptEntry};
use preppal_store::Interview;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::records::{InterviewRecord, TranscriptEntryRecord};

/// Input naming one interview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InterviewId {
    /// The interview id.
    pub interview_id: String,
}

impl InterviewId {
    /// The input naming interview `id`.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            interview_id: id.into(),
        }
    }
}

/// Input of `interview.createSession`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreateSession {
    /// Retrying with the same key returns the same interview.
    pub idempotency_key: String,
    /// Job description text (or give `job_description_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_description: Option<String>,
    /// A job description from the user's library.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_description_id: Option<String>,
    /// Resume text (or give `resume_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
    /// A resume from the user's library.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_id: Option<String>,
    /// The interviewer persona; default `"a friendly senior engineer"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona: Option<String>,
    /// Time limit in minutes, 1 to 120, default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_minutes: Option<u32>,
    /// `behavioral`, `technical`, `system_design` or `mixed` (default); anything else is
    /// 400 `INVALID_ROUND_TYPE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_type: Option<String>,
    /// `junior`, `mid` (default), `senior` or `staff`; anything else is 400
    /// `INVALID_DIFFICULTY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<String>,
    /// An optional soft limit per answer, seconds (30 to 900; absent or 0: none). The
    /// interviewer is told to move on once an answer passes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_time_limit_secs: Option<u32>,
}

/// Reply of `interview.createSession` and `interview.updateStatus`: the interview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = InterviewRecord)]
pub struct InterviewReply(pub Interview);

/// Reply of `interview.generateWorkerToken` and `interview.generateWsToken`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WorkerToken {
    /// The JWT for the interview WebSocket.
    pub token: String,
    /// When the token expires, in seconds since the Unix epoch.
    pub expires_at: u64,
    /// The interview WebSocket to connect to, token included
    /// (`{ws base of worker_url}/interview/{interview_id}?token=...`).
    pub ws_url: String,
    /// Base URL (`http://` or `https://`) of the worker chosen for the interview: the one
    /// holding its lease while that lease is live and the worker healthy, else a live worker.
    /// With one process (`preppal serve`), the server itself.
    pub worker_url: String,
}

/// Reply of `interview.getById`: the interview's fields, with the job it was for and who
/// plays the interviewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InterviewView {
    /// The interview (its fields sit at the top level).
    #[serde(flatten)]
    #[schema(value_type = InterviewRecord)]
    pub interview: Interview,
    /// The job title, from the job description's first line (may be empty).
    pub job_title: String,
    /// The company, from the job description's second line (may be empty).
    pub company: String,
    /// `"offline_demo"` or `"gemini"`: who plays the interviewer on this server.
    pub interviewer_kind: String,
}

/// Input of `interview.getHistory`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HistoryInput {
    /// Page size, 1 to 100 (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Reply of `interview.getHistory`: one page of the user's interviews, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HistoryPage {
    /// The interviews of this page.
    #[schema(value_type = Vec<InterviewRecord>)]
    pub items: Vec<Interview>,
    /// The `cursor` of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Reply of `interview.getCurrent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CurrentInterview {
    /// The newest PENDING or IN_PROGRESS interview, or `null`.
    #[schema(value_type = Option<InterviewRecord>)]
    pub interview: Option<Interview>,
}

/// Reply of `interview.getTranscript`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Transcript {
    /// The transcript entries in order.
    #[schema(value_type = Vec<TranscriptEntryRecord>)]
    pub entries: Vec<TranscriptEntry>,
}

/// Input of `interview.updateStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UpdateStatus {
    /// The interview id.
    pub interview_id: String,
    /// The status to move to (users may only move to `ERROR`: abandon).
    #[schema(value_type = String, example = "ERROR")]
    pub status: InterviewStatus,
}
