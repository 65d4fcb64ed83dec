//! What the worker asks of the models: the Live interviewer ([`ModelConnector`]) and the
//! feedback writer ([`Feedbacker`]).

use std::sync::Arc;
use std::time::Duration;

use preppal_core::feedback::deterministic_feedback_with_metrics;
use preppal_core::proto::GetContextResponse;
use preppal_core::{AnswerAudio, Feedback, TranscriptEntry};
use preppal_gemini::driver::{ConnectModel, Connecting, RetryNote};
use preppal_gemini::{
    timed_interviewer_instruction, FeedbackClient, LiveConfig, LiveError, ReconnectPolicy,
    ResilientSession,
};

/// Where the model lives: the Gemini Live endpoint (or anything that speaks its protocol,
/// such as the simulator) and the key to present.
#[derive(Clone)]
pub struct ModelConnector {
    /// `wss://` or `ws://` URL of the Live endpoint.
    pub endpoint: String,
    /// API key sent as `x-goog-api-key`.
    pub api_key: String,
    /// Model name; `None` for the client's default.
    pub model: Option<String>,
}

impl std::fmt::Debug for ModelConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelConnector")
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// One interview's model, as the driver core connects it ([`ConnectModel`]): the worker's
/// [`ModelConnector`] with the interview's context (instruction, length, stored
/// resumption handle).
#[derive(Debug)]
pub struct InterviewModel {
    models: ModelConnector,
    ctx: GetContextResponse,
}

impl InterviewModel {
    /// The model of the interview `ctx`, reached through `models`.
    pub fn new(models: ModelConnector, ctx: GetContextResponse) -> Self {
        Self { models, ctx }
    }
}

impl ConnectModel for InterviewModel {
    fn connect(&self, seed: Option<Vec<TranscriptEntry>>, mut on_retry: RetryNote) -> Connecting {
        let models = self.models.clone();
        let ctx = self.ctx.clone();
        Box::pin(async move {
            match seed {
                Some(entries) => {
                    models
                        .connect_seeded_observed(&ctx, &entries, &mut *on_retry)
                        .await
                }
                None => models.connect_observed(&ctx, &mut *on_retry).await,
            }
        })
    }
}

impl ModelConnector {
    /// How much silence the interview streams to the model when the candidate's audio stops
    /// in the middle of a turn ([`preppal_core::SessionConfig::trailing_silence`]): for a
    /// model the table marks [`preppal_gemini::models::LiveModel::needs_trailing_silence`]
    /// (it ignores `audioStreamEnd`; gemini-live-protocol notes §10.2), the interview's
    /// end-of-speech silence ([`preppal_gemini::config::INTERVIEW_SILENCE_DURATION_MS`])
    /// and 1 s more, so its activity detection ends the turn; zero for other models.
    pub fn trailing_silence(&self) -> Duration {
        let name = self
            .model
            .as_deref()
            .unwrap_or(preppal_gemini::models::DEFAULT_LIVE_MODEL);
        match preppal_gemini::models::live_model(name) {
            Some(m) if m.needs_trailing_silence => Duration::from_millis(
                u64::from(preppal_gemini::config::INTERVIEW_SILENCE_DURATION_MS) + 1_000,
            ),
            _ => Duration::ZERO,
        }
    }

    /// Connects for one new interview: `setup` with the interviewer's system instruction (and
    /// `sessionResumption`; `contextWindowCompression` when the interview may last longer than
    /// 15 minutes), then waits for `setupComplete`. The session it returns moves to a new
    /// connection on `goAway`, retryable closes and stalls, so the interview outlives any
    /// one connection.
    ///
    /// # Errors
    /// [`LiveError`] from the client when the first connection cannot be made.
    pub async fn connect(&self, ctx: &GetContextResponse) -> Result<ResilientSession, LiveError> {
        self.connect_observed(ctx, &mut |_: &LiveError, _| {}).await
    }

    /// As [`ModelConnector::connect`], calling `on_retry` with the failure and the backoff
    /// delay before each retry.
    ///
    /// # Errors
    /// As [`ModelConnector::connect`].
    pub async fn connect_observed(
        &self,
        ctx: &GetContextResponse,
        on_retry: &mut (dyn FnMut(&LiveError, Duration) + Send),
    ) -> Result<ResilientSession, LiveError> {
        ResilientSession::connect_observed(self.config(ctx), ReconnectPolicy::default(), on_retry)
            .await
    }

    /// Connects for an interview already under way (taken over from a worker that died, or
    /// picked up after a restart): with the stored resumption handle when there is one, so
    /// the model's own session goes on; when there is none or it is refused (the handle
    /// expired), a new session seeded with `entries` (the stored transcript) instead of
    /// greeting the candidate again.
    ///
    /// # Errors
    /// As [`ModelConnector::connect`].
    pub async fn connect_seeded(
        &self,
        ctx: &GetContextResponse,
        entries: &[TranscriptEntry],
    ) -> Result<ResilientSession, LiveError> {
        self.connect_seeded_observed(ctx, entries, &mut |_: &LiveError, _| {})
            .await
    }

    /// As [`ModelConnector::connect_seeded`], calling `on_retry` with the failure and the
    /// backoff delay before each retry.
    ///
    /// # Errors
    /// As [`ModelConnector::connect`].
    pub async fn connect_seeded_observed(
        &self,
        ctx: &GetContextResponse,
        entries: &[TranscriptEntry],
        on_retry: &mut (dyn FnMut(&LiveError, Duration) + Send),
    ) -> Result<ResilientSession, LiveError> {
        if !ctx.resumption_handle.is_empty() {
            let config = self
                .config(ctx)
                .with_resumption_handle(Some(ctx.resumption_handle.clone()));
            match ResilientSession::connect_observed(config, ReconnectPolicy::default(), on_retry)
                .await
            {
                Ok(live) => return Ok(live),
                Err(e) => {
                    tracing::warn!(interview = %ctx.interview_id, error = %e, "resuming the model session with the stored handle failed; connecting afresh");
                }
            }
        }
        ResilientSession::connect_seeded_observed(
            self.config(ctx),
            ReconnectPolicy::default(),
            entries,
            on_retry,
        )
        .await
    }

    fn config(&self, ctx: &GetContextResponse) -> LiveConfig {
        let length = std::time::Duration::from_millis(ctx.duration_ms);
        let plan = plan_of(ctx);
        let instruction = match &plan {
            Some(plan) => preppal_gemini::planned_interviewer_instruction(
                &ctx.persona,
                &ctx.job_description,
                &ctx.resume,
                length,
                plan,
            ),
            None => timed_interviewer_instruction(
                &ctx.persona,
                &ctx.job_description,
                &ctx.resume,
                length,
            ),
        };
        let mut config = LiveConfig::new(self.api_key.clone(), instruction)
            .with_endpoint(self.endpoint.clone())
            .with_interview_length(length);
        if let Some(m) = &self.model {
            config = config.with_model(m.clone());
        }
        config
    }
}

/// Writes feedback in two layers: the metrics measured from the transcript, its timing and
/// audio ([`preppal_core::metrics::compute`]), always; and notes and scores from the
/// `generateContent` client when one is configured (the Gemini API, or the simulator's REST
/// side offline), whose quotes the client checks against the transcript. Without a client,
/// or when the call fails, the deterministic summary, labelled as such.
#[derive(Debug, Clone)]
pub struct Feedbacker(pub Option<Arc<FeedbackClient>>);

impl Feedbacker {
    /// Feedback on `entries` of the interview `ctx`, with `audio` the session's tally of
    /// the spoken answers (empty in text mode).
    pub async fn feedback(
        &self,
        ctx: &GetContextResponse,
        entries: &[TranscriptEntry],
        audio: &[AnswerAudio],
    ) -> Feedback {
        let metrics = preppal_core::metrics::compute(entries, &ctx.job_description, audio);
        let plan = plan_of(ctx);
        if let Some(client) = &self.0 {
            match client
                .generate_planned(
                    &ctx.persona,
                    &ctx.job_description,
                    &ctx.resume,
                    entries,
                    plan.as_ref(),
                )
                .await
            {
                Ok(f) => return f.with_metrics(metrics),
                Err(e) => {
                    tracing::warn!(error = %e, "model feedback failed; using the automatic summary")
                }
            }
        }
        deterministic_feedback_with_metrics(entries, metrics).with_plan_assessment(
            plan.map(|p| preppal_core::plan::assess::assess_without_model(&p, entries)),
        )
    }
}

/// The interview plan of `ctx` (its `plan_json` snapshot); `None` when it has none or it
/// does not parse (logged): the interview then runs and is scored without a plan.
fn plan_of(ctx: &GetContextResponse) -> Option<preppal_core::InterviewPlan> {
    if ctx.plan_json.is_empty() {
        return None;
    }
    serde_json::from_str(&ctx.plan_json)
        .map_err(|e| {
            tracing::warn!(interview = %ctx.interview_id, error = %e, "stored plan unreadable; going on without it");
        })
        .ok()
}
