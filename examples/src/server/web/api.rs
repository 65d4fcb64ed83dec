//! The JSON API, with the design's procedure names: `POST /api/<router>.<procedure>`, a
//! JSON body in, JSON out, snake_case fields. Every procedure takes the signed-in user and
//! only ever touches that user's data; another user's interview is "not found".

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use preppal_core::claims::{WORKER_TOKEN_TTL_SECS, WS_TOKEN_TTL_SECS};
use preppal_core::plan::{Difficulty, InterviewPlan, RoundType};
use preppal_core::InterviewStatus;
use preppal_store::{InterviewStoreExt, NewInterview, PageRequest};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::CurrentUser;
use super::error::ApiError;
use super::input::Input;
pub use super::library::{Library, MAX_DOCUMENT_BYTES};
use super::state::AppState;

/// Longest persona accepted, in bytes.
pub const MAX_PERSONA_BYTES: usize = 1024;
/// Persona used when none is given.
pub const DEFAULT_PERSONA: &str = "a friendly senior engineer";
/// Interview lengths accepted, in minutes.
pub const DURATION_RANGE_MINUTES: std::ops::RangeInclusive<u32> = 1..=120;
/// Soft limits per answer accepted, in seconds (0 also: no limit).
pub const ANSWER_TIME_LIMIT_RANGE_SECS: std::ops::RangeInclusive<u32> = 30..=900;

type ApiResult = Result<Json<Value>, ApiError>;

fn store_err(what: &'static str) -> impl Fn(preppal_store::StoreError) -> ApiError {
    move |e| ApiError::from_store(e, what)
}

/// Input naming one interview.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct InterviewId {
    /// The interview id.
    pub interview_id: String,
}

/// Input of `interview.createSession`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateSession {
    /// Retrying with the same key returns the same interview.
    pub idempotency_key: String,
    /// Job description text (or give `job_description_id`).
    #[serde(default)]
    pub job_description: Option<String>,
    /// A job description from the user's library.
    #[serde(default)]
    pub job_description_id: Option<String>,
    /// Resume text (or give `resume_id`).
    #[serde(default)]
    pub resume: Option<String>,
    /// A resume from the user's library.
    #[serde(default)]
    pub resume_id: Option<String>,
    /// The interviewer persona; default [`DEFAULT_PERSONA`].
    #[serde(default)]
    pub persona: Option<String>,
    /// Time limit in minutes, default 30.
    #[serde(default)]
    pub duration_minutes: Option<u32>,
    /// `behavioral`, `technical`, `system_design` or `mixed` (default); anything else is
    /// 400 `INVALID_ROUND_TYPE`.
    #[serde(default)]
    pub round_type: Option<String>,
    /// `junior`, `mid` (default), `senior` or `staff`; anything else is 400
    /// `INVALID_DIFFICULTY`.
    #[serde(default)]
    pub difficulty: Option<String>,
    /// An optional soft limit per answer, seconds ([`ANSWER_TIME_LIMIT_RANGE_SECS`]; absent
    /// or 0: none). The interviewer is told to move on once an answer passes it.
    #[serde(default)]
    pub answer_time_limit_secs: Option<u32>,
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

/// `interview.createSession`: creates a PENDING interview, idempotent by key. At most
/// [`crate::server::common::limits::LimitArgs::max_creations_per_minute`] calls a minute per user (429).
pub async fn create_session(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Input(input): Input<CreateSession>,
) -> ApiResult {
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
        (None, None) => return Err(ApiError::BadRequest("a job description is required".into())),
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
    Ok(Json(json!(interview)))
}

async fn token_for(
    state: &AppState,
    user: &CurrentUser,
    interview_id: &str,
    ttl: u64,
) -> ApiResult {
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
    Ok(Json(json!({
        "token": token,
        "expires_at": expires_at,
        "ws_url": ws_url,
        "worker_url": worker_url,
    })))
}

/// `http(s)://host` as `ws(s)://host`.
fn to_ws(url: &str) -> String {
    url.replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1)
}

/// `interview.generateWorkerToken`: a 5-minute token for the interview's WebSocket.
pub async fn generate_worker_token(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Input(input): Input<InterviewId>,
) -> ApiResult {
    token_for(&state, &user, &input.interview_id, WORKER_TOKEN_TTL_SECS).await
}

/// `interview.generateWsToken`: a 1-hour token for the interview's WebSocket.
pub async fn generate_ws_token(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Input(input): Input<InterviewId>,
) -> ApiResult {
    token_for(&state, &user, &input.interview_id, WS_TOKEN_TTL_SECS).await
}

/// `interview.getById`.
pub async fn get_by_id(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Input(input): Input<InterviewId>,
) -> ApiResult {
    let i = own_interview(&state, &user, &input.interview_id).await?;
    Ok(Json(super::coaching::with_job(&state, &i, json!(i))))
}

/// Input of `interview.getHistory`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct HistoryInput {
    /// Page size, 1 to 100 (default 20).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

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

/// `interview.getHistory`: the user's interviews, newest first, by cursor.
pub async fn get_history(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Input(input): Input<HistoryInput>,
) -> ApiResult {
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
    Ok(Json(
        json!({ "items": page.items, "next_cursor": page.next_cursor }),
    ))
}

/// Input of `interview.getProgress`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ProgressInput {
    /// How many of the newest interviews to look at, 1 to 100 (default 20).
    #[serde(default)]
    pub limit: Option<u32>,
}

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

/// `interview.getProgress`: the user's completed interviews with feedback, oldest first,
/// each with its delivery metrics, job-term coverage and scores, plus the trend of each
/// metric and score (first, last, change) over the interviews that have it, the `groups`
/// by job and mode, and the `competencies` of the interview plans with their scores and
/// trend.
pub async fn get_progress(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Input(input): Input<ProgressInput>,
) -> ApiResult {
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
        let m = f.metrics.as_ref().map(|m| json!(m)).unwrap_or(Value::Null);
        let mut metrics = serde_json::Map::new();
        for (key, _) in PROGRESS_METRICS {
            metrics.insert(key.to_owned(), m.get(key).cloned().unwrap_or(Value::Null));
        }
        let covered = m["job_terms"]["covered"].as_array().map_or(0, Vec::len);
        let missing = m["job_terms"]["missing"].as_array().map_or(0, Vec::len);
        metrics.insert("job_terms_covered".into(), json!(covered));
        metrics.insert("job_terms_total".into(), json!(covered + missing));
        let scores = f.scores.as_ref().map(|s| {
            json!({ "content": s.content.value, "structure": s.structure.value, "clarity": s.clarity.value })
        });
        points.push(json!({
            "interview_id": i.id,
            "created_at_ms": i.created_at_ms,
            "source": f.source,
            "metrics": metrics,
            "scores": scores,
        }));
        kept.push((i, f));
    }
    let progress_points = kept
        .iter()
        .map(|(interview, feedback)| super::coaching::ProgressPoint {
            interview,
            feedback,
        })
        .collect::<Vec<_>>();
    let groups = super::coaching::progress_groups(&progress_points);
    let competencies = super::coaching::progress_competencies(&progress_points);
    let mut trend = serde_json::Map::new();
    let series = PROGRESS_METRICS
        .iter()
        .map(|(k, better)| (format!("metrics.{k}"), *better))
        .chain(["content", "structure", "clarity"].map(|k| (format!("scores.{k}"), 1)));
    for (path, better) in series {
        let (group, key) = path.split_once('.').unwrap_or_default();
        let values: Vec<f64> = points
            .iter()
            .filter_map(|p| p[group][key].as_f64())
            .collect();
        if let (Some(first), Some(last)) = (values.first(), values.last()) {
            trend.insert(
                path.clone(),
                json!({ "first": first, "last": last, "change": last - first, "points": values.len(), "better": better }),
            );
        }
    }
    Ok(Json(
        json!({ "points": points, "trend": trend, "groups": groups, "competencies": competencies }),
    ))
}

/// `interview.getCurrent`: the newest PENDING or IN_PROGRESS interview, or null.
pub async fn get_current(State(state): State<Arc<AppState>>, user: CurrentUser) -> ApiResult {
    let i = state
        .store
        .current_interview(&user.id)
        .await
        .map_err(store_err("interview"))?;
    Ok(Json(json!({ "interview": i })))
}

/// `interview.getFeedback`: `{"feedback": null | {...}}`.
pub async fn get_feedback(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Input(input): Input<InterviewId>,
) -> ApiResult {
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
    Ok(Json(json!({
        "feedback": f,
        "questions": super::coaching::feedback_questions(&entries, f.as_ref()),
        "job_title": heading.title,
        "company": heading.company,
        "plan": i.plan,
        "competency_scores": assessment.as_ref().map(|a| &a.competency_scores),
        "star_checks": assessment.as_ref().map(|a| &a.star_checks),
        "plan_coverage": assessment.as_ref().map(|a| &a.coverage),
        "dropped_scores": assessment.as_ref().map(|a| a.dropped_scores),
        "needs_model": assessment.as_ref().map(|a| &a.needs_model),
    })))
}

/// `interview.getTranscript`: `{"entries": [...]}` in order.
pub async fn get_transcript(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Input(input): Input<InterviewId>,
) -> ApiResult {
    let i = own_interview(&state, &user, &input.interview_id).await?;
    let entries = state
        .store
        .get_transcript(&i.id)
        .await
        .map_err(store_err("transcript"))?;
    Ok(Json(json!({ "entries": entries })))
}

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

/// `interview.delete`: removes the interview with its transcript and feedback. Another
/// user's interview is 404, live or not; the caller's own live one is 409.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Input(input): Input<InterviewId>,
) -> ApiResult {
    own_interview(&state, &user, &input.interview_id).await?;
    let leased = state
        .workers
        .as_ref()
        .is_some_and(|pool| pool.holder(&input.interview_id).is_some());
    if leased || state.worker.is_live(&input.interview_id) {
        return Err(ApiError::Conflict(
            "the interview is live; end it first".into(),
        ));
    }
    state
        .store
        .delete_interview(&user.id, &input.interview_id)
        .await
        .map_err(store_err("interview"))?;
    Ok(Json(json!({ "deleted": true })))
}

/// Input of `interview.updateStatus`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateStatus {
    /// The interview id.
    pub interview_id: String,
    /// The status to move to.
    #[schema(value_type = String, example = "ERROR")]
    pub status: InterviewStatus,
}

/// `interview.updateStatus` (user side): moves the user's interview forward. The only
/// move a user may make by hand is to ERROR (abandon); the worker drives the rest.
pub async fn update_status(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Input(input): Input<UpdateStatus>,
) -> ApiResult {
    let i = own_interview(&state, &user, &input.interview_id).await?;
    if input.status != InterviewStatus::Error {
        return Err(ApiError::BadRequest(
            "users may only abandon an interview (status ERROR)".into(),
        ));
    }
    if i.status == input.status {
        return Ok(Json(json!(i)));
    }
    i.status
        .check_transition(input.status)
        .map_err(|e| ApiError::Conflict(e.to_string()))?;
    let updated = state
        .store
        .update_status(&i.id, i.status, input.status, Some("abandoned"), None)
        .await
        .map_err(store_err("interview"))?;
    Ok(Json(json!(updated)))
}

/// `user.getProfile`.
pub async fn get_profile(State(state): State<Arc<AppState>>, user: CurrentUser) -> ApiResult {
    let u = state
        .store
        .get_user(&user.id)
        .await
        .map_err(store_err("user"))?;
    let mut v = json!(u);
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "interviewer".into(),
            super::coaching::interviewer_info(&state),
        );
    }
    Ok(Json(v))
}

/// Input of `*.create` and `*.update` in the library.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DocumentInput {
    /// The document id (update only).
    #[serde(default)]
    pub id: Option<String>,
    /// A short title.
    pub title: String,
    /// The text.
    pub content: String,
}

/// Input naming one library document.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DocumentId {
    /// The document id.
    pub id: String,
}

fn check_title(title: &str) -> Result<(), ApiError> {
    if title.trim().is_empty() || title.len() > 200 {
        return Err(ApiError::BadRequest("title must be 1 to 200 bytes".into()));
    }
    Ok(())
}

/// `jobDescription.list` / `resume.list`.
pub async fn library_list(state: Arc<AppState>, user: CurrentUser, lib: Library) -> ApiResult {
    let items = state
        .store
        .list_library_items(lib, &user.id)
        .await
        .map_err(store_err(lib.what()))?;
    Ok(Json(json!({ "items": items })))
}

/// `jobDescription.create` / `resume.create` / `*.update`, within the user's library
/// quota (409 `QUOTA_EXCEEDED`, see [`super::quota`]).
pub async fn library_save(
    state: Arc<AppState>,
    user: CurrentUser,
    lib: Library,
    input: DocumentInput,
) -> ApiResult {
    check_title(&input.title)?;
    check_document("content", &input.content)?;
    let s = state.store.as_ref();
    let title = input.title.trim();
    let new_bytes = i64::try_from(title.len() + input.content.len()).unwrap_or(i64::MAX);
    let (added_documents, added_bytes) = match &input.id {
        None => (1, new_bytes),
        Some(id) => {
            let old = s
                .get_library_item(lib, &user.id, id)
                .await
                .map_err(store_err(lib.what()))?;
            (0, new_bytes - byte_len(&old.title, &old.content))
        }
    };
    let write = async {
        let item = match input.id {
            None => {
                s.create_library_item(lib, &user.id, title, &input.content)
                    .await
            }
            Some(id) => {
                s.update_library_item(lib, &user.id, &id, title, &input.content)
                    .await
            }
        };
        Ok(json!(item.map_err(store_err(lib.what()))?))
    };
    let v = state
        .library_quota
        .write(s, &user.id, added_documents, added_bytes, write)
        .await?;
    Ok(Json(v))
}

fn byte_len(title: &str, content: &str) -> i64 {
    i64::try_from(title.len() + content.len()).unwrap_or(i64::MAX)
}

/// `jobDescription.delete` / `resume.delete`.
pub async fn library_delete(
    state: Arc<AppState>,
    user: CurrentUser,
    lib: Library,
    id: String,
) -> ApiResult {
    state
        .store
        .delete_library_item(lib, &user.id, &id)
        .await
        .map_err(store_err(lib.what()))?;
    Ok(Json(json!({ "deleted": true })))
}
