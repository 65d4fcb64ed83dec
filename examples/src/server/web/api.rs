//! The JSON API, with the design's procedure names: `POST /api/<router>.<procedure>`, a
//! JSON body in, JSON out, snake_case fields. Every procedure takes the signed-in user and
//! only ever touches that user's data; another user's interview is "not found" (every
//! procedure on one interview loads it through `own_interview`).
//!
//! Each handler takes and returns the typed request and reply of [`crate::api`] and
//! declares its path for the OpenAPI document ([`super::openapi`]) with `utoipa::path`.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use preppal_core::claims::{WORKER_TOKEN_TTL_SECS, WS_TOKEN_TTL_SECS};
use preppal_core::plan::{Difficulty, InterviewPlan, RoundType};
use preppal_core::InterviewStatus;
use preppal_store::{InterviewStoreExt, NewInterview, PageRequest};
use serde_json::Value;

use crate::api::auth::Profile;
use crate::api::errors::ErrorBody;
pub use crate::api::errors::NoInput;
pub use crate::api::feedback::FeedbackReply;
pub use crate::api::interview::{
    CreateSession, CurrentInterview, HistoryInput, HistoryPage, InterviewId, InterviewReply,
    InterviewView, Transcript, UpdateStatus, WorkerToken,
};
pub use crate::api::library::{Deleted, DocumentId, DocumentInput, MAX_DOCUMENT_BYTES};
pub use crate::api::progress::{
    Progress, ProgressInput, ProgressMetrics, ProgressPoint, ProgressScores, Trend,
};

use super::auth::CurrentUser;
use super::error::ApiError;
use super::input::Input;
use super::state::AppState;

/// Declares a JSON procedure on the function that follows: `POST $path` taking `$input`,
/// replying 200 with `$reply`, and the refusals every procedure may make (400, 401, 403
/// cross-site in plain text, 404, 409, 413, 429) with the [`ErrorBody`] shape.
macro_rules! procedure {
    ($path:literal, $input:ty, $reply:ty, $summary:literal, $item:item) => {
        #[utoipa::path(
            post,
            path = $path,
            summary = $summary,
            request_body(content = $input, content_type = "application/json"),
            responses(
                (status = 200, description = "Success", body = $reply),
                (status = 400, description = "Malformed input or a broken rule", body = ErrorBody),
                (status = 401, description = "Sign in first", body = ErrorBody),
                (status = 403, description = "Cross-site request refused", body = String, content_type = "text/plain"),
                (status = 404, description = "Not found (or another user's)", body = ErrorBody),
                (status = 409, description = "Conflicts with the current state", body = ErrorBody),
                (status = 413, description = "Request body too large", body = ErrorBody),
                (status = 429, description = "Too many requests", body = ErrorBody),
            ),
            security(("session" = []))
        )]
        $item
    };
}

/// As `procedure!` for the token procedures: the reply is a [`WorkerToken`]; 409 when the
/// interview has ended, 503 when no worker is available.
macro_rules! token_procedure {
    ($path:literal, $summary:literal, $item:item) => {
        #[utoipa::path(
            post,
            path = $path,
            summary = $summary,
            request_body(content = InterviewId, content_type = "application/json"),
            responses(
                (status = 200, description = "Success", body = WorkerToken),
                (status = 400, description = "Malformed input or a broken rule", body = ErrorBody),
                (status = 401, description = "Sign in first", body = ErrorBody),
                (status = 403, description = "Cross-site request refused", body = String, content_type = "text/plain"),
                (status = 404, description = "Not found (or another user's)", body = ErrorBody),
                (status = 409, description = "The interview has ended", body = ErrorBody),
                (status = 429, description = "Too many requests", body = ErrorBody),
                (status = 503, description = "No worker answers its health check", body = ErrorBody),
            ),
            security(("session" = []))
        )]
        $item
    };
}

/// Longest persona accepted, in bytes.
pub const MAX_PERSONA_BYTES: usize = 1024;
/// Persona used when none is given.
pub const DEFAULT_PERSONA: &str = "a friendly senior engineer";
/// Interview lengths accepted, in minutes.
pub const DURATION_RANGE_MINUTES: std::ops::RangeInclusive<u32> = 1..=120;
/// Soft limits per answer accepted, in seconds (0 also: no limit).
pub const ANSWER_TIME_LIMIT_RANGE_SECS: std::ops::RangeInclusive<u32> = 30..=900;

pub mod library;

/// What a procedure returns: its typed reply as JSON, or a refusal.
type ApiResult<T> = Result<Json<T>, ApiError>;

fn store_err(what: &'static str) -> impl Fn(preppal_store::StoreError) -> ApiError {
    move |e| ApiError::from_store(e, what)
}

fn check_document(what: &str, text: &str) -> Result<(), ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::BadRequest(format!("{what} is empty")));
    }
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(ApiError::BadRequest(format!(
            "{what} is longer than {MAX_DOCUMENT_BYTES} bytes"
        )));
    }
    Ok(())
}

procedure!(
    "/api/interview.createSession",
    CreateSession,
    InterviewReply,
    "Create a PENDING interview (idempotent by key)",
    /// `interview.createSession`: creates a PENDING interview, idempotent by key. At most
    /// [`crate::server::common::limits::LimitArgs::max_creations_per_minute`] calls a minute per user (429).
    pub async fn create_session(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
        Input(input): Input<CreateSession>,
    ) -> ApiResult<InterviewReply> {
        state
            .limits
            .check_creation(&user.id, std::time::Instant::now())
            .map_err(|e| ApiError::RateLimited(e.to_string()))?;
        let key = input.idempotency_key.trim();
        if key.is_empty() || key.len() > 128 {
            return Err(ApiError::BadRequest(
                "idempotency_key must be 1 to 128 bytes".into(),
            ));
        }
        let job = match (&input.job_description_id, input.job_description) {
            (Some(id), _) => {
                state
                    .store
                    .get_job_description(&user.id, id)
                    .await
                    .map_err(store_err("job description"))?
                    .content
            }
            (None, Some(text)) => text,
            (None, None) => {
                return Err(ApiError::BadRequest("a job description is required".into()))
            }
        };
        let resume = match (&input.resume_id, input.resume) {
            (Some(id), _) => {
                state
                    .store
                    .get_resume(&user.id, id)
                    .await
                    .map_err(store_err("resume"))?
                    .content
            }
            (None, Some(text)) => text,
            (None, None) => return Err(ApiError::BadRequest("a resume is required".into())),
        };
        check_document("job description", &job)?;
        check_document("resume", &resume)?;
        let persona = input
            .persona
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| DEFAULT_PERSONA.to_owned());
        if persona.len() > MAX_PERSONA_BYTES {
            return Err(ApiError::BadRequest("persona is too long".into()));
        }
        let minutes = input.duration_minutes.unwrap_or(30);
        if !DURATION_RANGE_MINUTES.contains(&minutes) {
            return Err(ApiError::BadRequest(format!(
                "duration_minutes must be within {DURATION_RANGE_MINUTES:?}"
            )));
        }
        let round_type: RoundType = match input.round_type.as_deref() {
            None | Some("") => RoundType::default(),
            Some(r) => r.parse()?,
        };
        let difficulty: Difficulty = match input.difficulty.as_deref() {
            None | Some("") => Difficulty::default(),
            Some(d) => d.parse()?,
        };
        let answer_limit = input.answer_time_limit_secs.filter(|s| *s > 0);
        if let Some(secs) = answer_limit {
            if !ANSWER_TIME_LIMIT_RANGE_SECS.contains(&secs) {
                return Err(ApiError::BadRequest(format!(
                    "answer_time_limit_secs must be 0 or within {ANSWER_TIME_LIMIT_RANGE_SECS:?}"
                )));
            }
        }
        let duration_ms = u64::from(minutes) * 60_000;
        let plan = InterviewPlan::derive(&job, &resume, round_type, difficulty, duration_ms)
            .with_answer_time_limit(answer_limit);
        let interview = state
            .store
            .create_interview(NewInterview {
                plan: Some(plan),
                user_id: user.id,
                idempotency_key: key.to_owned(),
                persona,
                duration_ms,
                job_description_id: input.job_description_id,
                resume_id: input.resume_id,
                job_description_text: job,
                resume_text: resume,
            })
            .await
            .map_err(|e| match e.kind() {
                preppal_store::ErrorKind::Conflict => ApiError::Conflict(
                    "idempotency_key was already used for an interview with other inputs".into(),
                ),
                _ => ApiError::from_store(e, "interview"),
            })?;
        Ok(Json(InterviewReply(interview)))
    }
);

async fn token_for(
    state: &AppState,
    user: &CurrentUser,
    interview_id: &str,
    ttl: u64,
) -> ApiResult<WorkerToken> {
    let interview = own_interview(state, user, interview_id).await?;
    if interview.status.is_terminal() {
        return Err(ApiError::Conflict(format!(
            "the interview is {}; it cannot be joined",
            interview.status
        )));
    }
    let ws_base = match &state.workers {
        Some(pool) => to_ws(&pool.choose(interview_id).await.map_err(|e| {
            tracing::error!(interview = %interview_id, error = %e, "no worker for the interview");
            ApiError::Unavailable
        })?),
        None => state.worker_ws_base(),
    };
    let worker_url = ws_base
        .replacen("wss://", "https://", 1)
        .replacen("ws://", "http://", 1);
    let (token, expires_at) = state.keys.sign_interview(&user.id, interview_id, ttl);
    let ws_url = format!("{ws_base}/interview/{interview_id}?token={token}");
    Ok(Json(WorkerToken {
        token,
        expires_at,
        ws_url,
        worker_url,
    }))
}

/// `http(s)://host` as `ws(s)://host`.
fn to_ws(url: &str) -> String {
    url.replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1)
}

token_procedure!(
    "/api/interview.generateWorkerToken",
    "A 5-minute token for the interview WebSocket, and the worker to connect to",
    /// `interview.generateWorkerToken`: a 5-minute token for the interview's WebSocket.
    pub async fn generate_worker_token(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
        Input(input): Input<InterviewId>,
    ) -> ApiResult<WorkerToken> {
        token_for(&state, &user, &input.interview_id, WORKER_TOKEN_TTL_SECS).await
    }
);

token_procedure!(
    "/api/interview.generateWsToken",
    "A 1-hour token for the interview WebSocket, and the worker to connect to",
    /// `interview.generateWsToken`: a 1-hour token for the interview's WebSocket.
    pub async fn generate_ws_token(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
        Input(input): Input<InterviewId>,
    ) -> ApiResult<WorkerToken> {
        token_for(&state, &user, &input.interview_id, WS_TOKEN_TTL_SECS).await
    }
);

procedure!(
    "/api/interview.getById",
    InterviewId,
    InterviewView,
    "One interview, with its job title, company and interviewer kind",
    /// `interview.getById`.
    pub async fn get_by_id(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
        Input(input): Input<InterviewId>,
    ) -> ApiResult<InterviewView> {
        let i = own_interview(&state, &user, &input.interview_id).await?;
        Ok(Json(super::coaching::with_job(&state, i)))
    }
);

/// The `limit` of a paged procedure (`interview.getHistory`, `interview.getProgress`):
/// 1 to 100, 20 when absent.
///
/// # Errors
/// [`ApiError::BadRequest`] outside 1 to 100.
fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(20);
    if (1..=100).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::BadRequest("limit must be 1 to 100".into()))
    }
}

procedure!(
    "/api/interview.getHistory",
    HistoryInput,
    HistoryPage,
    "The user's interviews, newest first",
    /// `interview.getHistory`: the user's interviews, newest first, by cursor.
    pub async fn get_history(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
        Input(input): Input<HistoryInput>,
    ) -> ApiResult<HistoryPage> {
        let limit = page_limit(input.limit)?;
        let page = state
            .store
            .list_interviews(
                &user.id,
                PageRequest {
                    limit,
                    cursor: input.cursor.filter(|c| !c.is_empty()),
                },
            )
            .await
            .map_err(|e| match e.kind() {
                preppal_store::ErrorKind::NotFound => ApiError::BadRequest("invalid cursor".into()),
                _ => ApiError::from_store(e, "history"),
            })?;
        Ok(Json(HistoryPage {
            items: page.items,
            next_cursor: page.next_cursor,
        }))
    }
);

/// Delivery metrics followed across interviews by `interview.getProgress`, with the
/// direction that reads as progress: `1` higher is better, `-1` lower is better, `0` the
/// reference band decides.
pub const PROGRESS_METRICS: [(&str, i8); 7] = [
    ("words_per_minute", 0),
    ("filler_words_per_minute", -1),
    ("talk_time_ratio", 0),
    ("response_latency_ms", -1),
    ("longest_answer_ms", 0),
    ("pauses_over_1s", -1),
    ("interruptions", -1),
];

/// The [`ProgressMetrics`] of one feedback's metrics (`Null` when it has none).
fn progress_metrics(m: &Value) -> ProgressMetrics {
    let number = |key: &str| match m.get(key) {
        Some(Value::Number(n)) => Some(n.clone()),
        _ => None,
    };
    let covered = m["job_terms"]["covered"].as_array().map_or(0, Vec::len);
    let missing = m["job_terms"]["missing"].as_array().map_or(0, Vec::len);
    ProgressMetrics {
        words_per_minute: number("words_per_minute"),
        filler_words_per_minute: number("filler_words_per_minute"),
        talk_time_ratio: number("talk_time_ratio"),
        response_latency_ms: number("response_latency_ms"),
        longest_answer_ms: number("longest_answer_ms"),
        pauses_over_1s: number("pauses_over_1s"),
        interruptions: number("interruptions"),
        job_terms_covered: covered,
        job_terms_total: covered + missing,
    }
}

/// Each series of [`PROGRESS_METRICS`] and scores measured in at least one of `points`:
/// its first and last value, keyed `metrics.<name>` and `scores.<name>`.
fn progress_trend(points: &[ProgressPoint]) -> std::collections::BTreeMap<String, Trend> {
    let values: Vec<Value> = points
        .iter()
        .map(|p| serde_json::to_value(p).unwrap_or(Value::Null))
        .collect();
    let series = PROGRESS_METRICS
        .iter()
        .map(|(k, better)| (format!("metrics.{k}"), *better))
        .chain(["content", "structure", "clarity"].map(|k| (format!("scores.{k}"), 1)));
    let mut trend = std::collections::BTreeMap::new();
    for (path, better) in series {
        let (group, key) = path.split_once('.').unwrap_or_default();
        let measured: Vec<f64> = values
            .iter()
            .filter_map(|p| p[group][key].as_f64())
            .collect();
        if let (Some(&first), Some(&last)) = (measured.first(), measured.last()) {
            let t = Trend {
                first,
                last,
                change: last - first,
                points: measured.len(),
                better,
            };
            trend.insert(path, t);
        }
    }
    trend
}

procedure!(
    "/api/interview.getProgress",
    ProgressInput,
    Progress,
    "Delivery metrics and scores across the user's completed interviews, with their trend; groups by job and mode; competencies: each plan competency's scores (1-4, null where not scored), latest score and trend (improving, declining, steady, unknown) per job, mode and round type",
    /// `interview.getProgress`: the user's completed interviews with feedback, oldest
    /// first, each with its delivery metrics, job-term coverage and scores, plus the trend
    /// of each metric and score (first, last, change) over the interviews that have it, the
    /// `groups` by job and mode, and the `competencies` of the interview plans with their
    /// scores and trend.
    pub async fn get_progress(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
        Input(input): Input<ProgressInput>,
    ) -> ApiResult<Progress> {
        let limit = page_limit(input.limit)?;
        let page = state
            .store
            .list_interviews(
                &user.id,
                PageRequest {
                    limit,
                    cursor: None,
                },
            )
            .await
            .map_err(store_err("history"))?;
        let mut points = Vec::new();
        let mut kept = Vec::new();
        for i in page.items.iter().rev() {
            if i.status != InterviewStatus::Completed {
                continue;
            }
            let Some(f) = state
                .store
                .get_feedback(&i.id)
                .await
                .map_err(store_err("feedback"))?
            else {
                continue;
            };
            let m = f
                .metrics
                .as_ref()
                .and_then(|m| serde_json::to_value(m).ok())
                .unwrap_or(Value::Null);
            points.push(ProgressPoint {
                interview_id: i.id.clone(),
                created_at_ms: i.created_at_ms,
                source: f.source,
                metrics: progress_metrics(&m),
                scores: f.scores.as_ref().map(|s| ProgressScores {
                    content: s.content.value,
                    structure: s.structure.value,
                    clarity: s.clarity.value,
                }),
            });
            kept.push((i, f));
        }
        let progress_points = kept
            .iter()
            .map(|(interview, feedback)| super::coaching::ProgressPoint {
                interview,
                feedback,
            })
            .collect::<Vec<_>>();
        let trend = progress_trend(&points);
        Ok(Json(Progress {
            points,
            trend,
            groups: super::coaching::progress_groups(&progress_points),
            competencies: super::coaching::progress_competencies(&progress_points),
        }))
    }
);

procedure!(
    "/api/interview.getCurrent",
    NoInput,
    CurrentInterview,
    "The newest PENDING or IN_PROGRESS interview, or null",
    /// `interview.getCurrent`: the newest PENDING or IN_PROGRESS interview, or null.
    pub async fn get_current(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
    ) -> ApiResult<CurrentInterview> {
        let interview = state
            .store
            .current_interview(&user.id)
            .await
            .map_err(store_err("interview"))?;
        Ok(Json(CurrentInterview { interview }))
    }
);

procedure!(
    "/api/interview.getFeedback",
    InterviewId,
    FeedbackReply,
    "An interview's feedback (or null), its plan, competency_scores, star_checks and plan_coverage",
    /// `interview.getFeedback`: `{"feedback": null | {...}, ...}`.
    pub async fn get_feedback(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
        Input(input): Input<InterviewId>,
    ) -> ApiResult<FeedbackReply> {
        let i = own_interview(&state, &user, &input.interview_id).await?;
        let f = state
            .store
            .get_feedback(&i.id)
            .await
            .map_err(store_err("feedback"))?;
        let entries = state
            .store
            .get_transcript(&i.id)
            .await
            .map_err(store_err("transcript"))?;
        let heading = preppal_core::feedback::job_heading(&i.job_description_snapshot);
        let assessment = f.as_ref().and_then(|f| f.plan_assessment.clone());
        Ok(Json(FeedbackReply {
            questions: super::coaching::feedback_questions(&entries, f.as_ref()),
            feedback: f,
            job_title: heading.title,
            company: heading.company,
            plan: i.plan,
            competency_scores: assessment.as_ref().map(|a| a.competency_scores.clone()),
            star_checks: assessment.as_ref().map(|a| a.star_checks.clone()),
            plan_coverage: assessment.as_ref().map(|a| a.coverage.clone()),
            dropped_scores: assessment.as_ref().map(|a| a.dropped_scores),
            needs_model: assessment.map(|a| a.needs_model),
        }))
    }
);

procedure!(
    "/api/interview.getTranscript",
    InterviewId,
    Transcript,
    "An interview's transcript entries",
    /// `interview.getTranscript`: `{"entries": [...]}` in order.
    pub async fn get_transcript(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
        Input(input): Input<InterviewId>,
    ) -> ApiResult<Transcript> {
        let i = own_interview(&state, &user, &input.interview_id).await?;
        let entries = state
            .store
            .get_transcript(&i.id)
            .await
            .map_err(store_err("transcript"))?;
        Ok(Json(Transcript { entries }))
    }
);

/// The caller's own interview `interview_id`: every procedure on one interview loads it
/// through here first, so anyone else's is 404 whatever its state, before any state check.
///
/// # Errors
/// [`ApiError::NotFound`] when it does not exist or belongs to another user; the store's
/// other errors.
async fn own_interview(
    state: &AppState,
    user: &CurrentUser,
    interview_id: &str,
) -> Result<preppal_store::Interview, ApiError> {
    state
        .store
        .get_interview(&user.id, interview_id)
        .await
        .map_err(store_err("interview"))
}

procedure!(
    "/api/interview.delete",
    InterviewId,
    Deleted,
    "Delete an interview",
    /// `interview.delete`: removes the interview with its transcript and feedback. Another
    /// user's interview is 404, live or not; the caller's own live one is 409.
    pub async fn delete(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
        Input(input): Input<InterviewId>,
    ) -> ApiResult<Deleted> {
        let i = own_interview(&state, &user, &input.interview_id).await?;
        let leased = state
            .workers
            .as_ref()
            .is_some_and(|pool| pool.holder(&i.id).is_some());
        if leased || state.worker.is_live(&i.id) {
            return Err(ApiError::Conflict(
                "the interview is live; end it first".into(),
            ));
        }
        state
            .store
            .delete_interview(&user.id, &i.id)
            .await
            .map_err(store_err("interview"))?;
        Ok(Json(Deleted { deleted: true }))
    }
);

procedure!(
    "/api/interview.updateStatus",
    UpdateStatus,
    InterviewReply,
    "Abandon an interview (status ERROR)",
    /// `interview.updateStatus` (user side): moves the user's interview forward. The only
    /// move a user may make by hand is to ERROR (abandon); the worker drives the rest.
    pub async fn update_status(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
        Input(input): Input<UpdateStatus>,
    ) -> ApiResult<InterviewReply> {
        let i = own_interview(&state, &user, &input.interview_id).await?;
        if input.status != InterviewStatus::Error {
            return Err(ApiError::BadRequest(
                "users may only abandon an interview (status ERROR)".into(),
            ));
        }
        if i.status == input.status {
            return Ok(Json(InterviewReply(i)));
        }
        i.status
            .check_transition(input.status)
            .map_err(|e| ApiError::Conflict(e.to_string()))?;
        let updated = state
            .store
            .update_status(&i.id, i.status, input.status, Some("abandoned"), None)
            .await
            .map_err(store_err("interview"))?;
        Ok(Json(InterviewReply(updated)))
    }
);

procedure!(
    "/api/user.getProfile",
    NoInput,
    Profile,
    "The signed-in user, and who plays the interviewer",
    /// `user.getProfile`.
    pub async fn get_profile(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
    ) -> ApiResult<Profile> {
        let u = state
            .store
            .get_user(&user.id)
            .await
            .map_err(store_err("user"))?;
        Ok(Json(Profile {
            user: u,
            interviewer: super::coaching::interviewer_info(&state),
        }))
    }
);
