//! The simulator's REST side: `POST /v1beta/models/{model}:generateContent`, answering the
//! feedback request of [`crate::FeedbackClient`] with a deterministic feedback document
//! built from the transcript in the prompt (gemini-live-protocol notes §7).
//!
//! The prompt's transcript sits between `<<<TRANSCRIPT>>>` and `<<<END OF TRANSCRIPT>>>`,
//! one `Interviewer: ...` or `Candidate: ...` line per turn. The document has a summary that
//! says it was simulated, one strength and one area to improve, one note per transcribed
//! answer quoting the answer's first words (at most [`QUOTE_WORDS`]), and scores derived
//! from answer lengths. It is returned as the text part of `candidates[0]` with
//! `finishReason` `STOP`, as the real API does with `responseMimeType` JSON.
//!
//! [`FeedbackBehaviour::FabricatedQuote`] adds a note whose quote ([`FABRICATED_QUOTE`]) is
//! in no transcript, to exercise quote checking; [`FeedbackBehaviour::Override`] returns a
//! given document verbatim.
//!
//! Like the real endpoint it answers 401 without an `x-goog-api-key` header or `key` query
//! parameter, 404 for other paths and for a model that [`crate::models::REST_MODELS`] does
//! not list as served (a Live model, a shut-down or unknown one), and 400 for a body that is
//! not a request: no `contents`, `temperature` / `topP` / `topK` on a model that deprecated
//! them, both `responseSchema` and `responseJsonSchema`, a schema without
//! `responseMimeType: application/json`, or a schema that is not well formed (unknown
//! keywords, unknown types, `required` / `propertyOrdering` naming no property, an ARRAY
//! without `items`).
//!
//! With a schema, the answer conforms to it ([`super::conforms_to_schema`]): the document
//! above where its fields fit, generated values elsewhere (enums take their first value,
//! numbers are kept within bounds, a string property named like `quote` takes the first
//! words of an answer and one named like `question` its question, an array of objects with
//! a quote property has one element per answered question).
//!
//! It also mints ephemeral tokens: `POST /v1alpha/auth_tokens` (API key required) answers
//! `{"name": "auth_tokens/sim-N", "uses", "expireTime"?, "newSessionExpireTime"?}`, and the
//! Live side then accepts `auth_tokens/sim-N` on its constrained endpoint for `uses` new
//! sessions (default 1; gemini-live-protocol notes §1.3). Request bodies are recorded
//! ([`super::SimulatorHandle::token_requests`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::rest_schema::{conform, normalise, schema_fault, Dialect, Material};
use super::shared::Shared;
use super::SimulatorConfig;

#[derive(Clone)]
struct RestState {
    config: Arc<SimulatorConfig>,
    shared: Arc<Shared>,
}

/// The most words of an answer a simulated note quotes.
pub const QUOTE_WORDS: usize = 8;

/// The quote of the fabricated note of [`FeedbackBehaviour::FabricatedQuote`]: words no
/// candidate answer contains.
pub const FABRICATED_QUOTE: &str = "I single-handedly rewrote the whole kernel in one afternoon";

/// What the simulated `generateContent` returns.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub enum FeedbackBehaviour {
    /// The deterministic document built from the transcript.
    #[default]
    FromTranscript,
    /// That document plus one note quoting [`FABRICATED_QUOTE`].
    FabricatedQuote,
    /// This feedback document, verbatim (the JSON the model would write).
    Override(Value),
}

impl SimulatorConfig {
    /// Sets what the simulated `generateContent` returns (see [`FeedbackBehaviour`]).
    pub fn with_feedback(mut self, behaviour: FeedbackBehaviour) -> Self {
        self.feedback = behaviour;
        self
    }

    /// `true`: the feedback document also has a note whose quote is in no transcript
    /// ([`FeedbackBehaviour::FabricatedQuote`]); `false`: the plain document.
    pub fn with_fabricated_quote(self, fabricate: bool) -> Self {
        self.with_feedback(if fabricate {
            FeedbackBehaviour::FabricatedQuote
        } else {
            FeedbackBehaviour::FromTranscript
        })
    }

    /// Returns `document` verbatim from `generateContent` ([`FeedbackBehaviour::Override`]).
    pub fn with_feedback_override(self, document: Value) -> Self {
        self.with_feedback(FeedbackBehaviour::Override(document))
    }
}

/// Binds [`SimulatorConfig::rest_addr`], or `ip` on any free port, and serves the REST side until
/// `shutdown` turns `true`.
pub(super) async fn start(
    ip: std::net::IpAddr,
    config: Arc<SimulatorConfig>,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(config.rest_addr.unwrap_or(SocketAddr::new(ip, 0))).await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/v1beta/models/{model_method}", post(generate_content))
        .route("/v1alpha/auth_tokens", post(create_auth_token))
        .with_state(RestState { config, shared });
    let task = tokio::spawn(async move {
        let stop = async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::warn!(error = %e, "simulator REST listener failed");
        }
    });
    Ok((addr, task))
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({ "error": {
        "code": status.as_u16(),
        "message": message,
        "status": status.canonical_reason().unwrap_or("ERROR").to_uppercase().replace(' ', "_"),
    } });
    (status, Json(body)).into_response()
}

fn has_api_key(headers: &HeaderMap, query: Option<&str>) -> bool {
    let header_key = headers
        .get("x-goog-api-key")
        .is_some_and(|v| !v.as_bytes().is_empty());
    let query_key = query.is_some_and(|q| {
        q.split('&')
            .any(|p| p.strip_prefix("key=").is_some_and(|v| !v.is_empty()))
    });
    header_key || query_key
}

async fn create_auth_token(
    State(state): State<RestState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !has_api_key(&headers, query.as_deref()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "Method doesn't allow unregistered callers (callers without established identity).",
        );
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Invalid JSON payload received.");
    };
    if !request.is_object() {
        return error(StatusCode::BAD_REQUEST, "Invalid JSON payload received.");
    }
    state
        .shared
        .token_requests
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(request.clone());
    let uses = request.get("uses").and_then(Value::as_u64).unwrap_or(1);
    let name = state.shared.mint_token(uses);
    let mut token = json!({ "name": name, "uses": uses });
    for key in ["expireTime", "newSessionExpireTime"] {
        if let Some(v) = request.get(key) {
            token[key] = v.clone();
        }
    }
    Json(token).into_response()
}

async fn generate_content(
    State(RestState { config, .. }): State<RestState>,
    Path(model_method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(model) = model_method.strip_suffix(":generateContent") else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    if !has_api_key(&headers, query.as_deref()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "Method doesn't allow unregistered callers (callers without established identity).",
        );
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Invalid JSON payload received.");
    };
    // The model: one the table knows for generateContent, not shut down (§7, §10.1).
    let served = crate::models::rest_model(model)
        .filter(|m| !matches!(m.availability, crate::models::Availability::ShutDown { .. }));
    let Some(entry) = served else {
        return error(
            StatusCode::NOT_FOUND,
            &format!(
                "models/{model} is not found for API version v1beta, or is not supported for \
                 generateContent. Call ListModels to see the list of available models and their \
                 supported methods."
            ),
        );
    };
    let Some(prompt) = prompt_text(&request) else {
        return error(
            StatusCode::BAD_REQUEST,
            "* GenerateContentRequest.contents: contents is not specified",
        );
    };
    let schema = match check_generation_config(&request, entry) {
        Ok(schema) => schema,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let mut document = match &config.feedback {
        FeedbackBehaviour::Override(doc) => doc.clone(),
        FeedbackBehaviour::FromTranscript | FeedbackBehaviour::FabricatedQuote => {
            let hint = feedback_document(
                &prompt,
                config.feedback == FeedbackBehaviour::FabricatedQuote,
            );
            match schema {
                Some(schema) => {
                    let material = Material {
                        answers: answers(&prompt),
                        quote_words: QUOTE_WORDS,
                    };
                    conform(&schema, &schema, Some(&hint), &material, "", 0)
                }
                None => hint,
            }
        }
    };
    if !matches!(config.feedback, FeedbackBehaviour::Override(_)) {
        super::feedback_plan::add_competency_scores(
            &mut document,
            &request,
            &prompt,
            &answers(&prompt),
            QUOTE_WORDS,
        );
    }
    let text = document.to_string();
    let prompt_tokens = (prompt.len() / 4) as u64;
    let response_tokens = (text.len() / 4) as u64;
    Json(json!({
        "candidates": [ {
            "content": { "role": "model", "parts": [ { "text": text } ] },
            "finishReason": "STOP",
            "index": 0
        } ],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": response_tokens,
            "totalTokenCount": prompt_tokens + response_tokens
        },
        "modelVersion": model,
    }))
    .into_response()
}

/// Checks `generationConfig` (§7, §10.1): no sampling fields where `model` deprecated
/// them, at most one of `responseSchema` and `responseJsonSchema`, well formed, and with
/// `responseMimeType` `application/json`. Returns the schema, if any, or the error message.
fn check_generation_config(
    request: &Value,
    model: &crate::models::RestModel,
) -> Result<Option<Value>, String> {
    let Some(config) = request
        .get("generationConfig")
        .or_else(|| request.get("generation_config"))
    else {
        return Ok(None);
    };
    // The parser takes snake_case names too (gemini-live-protocol notes §2).
    let get = |camel: &str, snake: &str| config.get(camel).or_else(|| config.get(snake));
    if model.sampling_deprecated {
        if let Some(field) = [
            ("temperature", "temperature"),
            ("topP", "top_p"),
            ("topK", "top_k"),
        ]
        .into_iter()
        .find(|(camel, snake)| get(camel, snake).is_some())
        .map(|(camel, _)| camel)
        {
            return Err(format!(
                "* GenerateContentRequest.generation_config.{field}: deprecated on models/{}; \
                 remove it",
                model.name
            ));
        }
    }
    let (schema, dialect) = match (
        get("responseSchema", "response_schema"),
        get("responseJsonSchema", "response_json_schema"),
    ) {
        (Some(_), Some(_)) => {
            return Err(
                "* GenerateContentRequest.generation_config: response_schema and \
                 response_json_schema are mutually exclusive"
                    .to_owned(),
            )
        }
        (Some(s), None) => (s, Dialect::OpenApi),
        (None, Some(s)) => (s, Dialect::JsonSchema),
        (None, None) => return Ok(None),
    };
    let mime = get("responseMimeType", "response_mime_type").and_then(Value::as_str);
    if !matches!(mime, Some("application/json" | "text/x.enum")) {
        return Err(
            "* GenerateContentRequest.generation_config.response_mime_type: a response schema \
             needs application/json"
                .to_owned(),
        );
    }
    let schema = normalise(schema);
    if let Some(fault) = schema_fault(&schema, dialect, "generation_config.response_schema") {
        return Err(format!("* GenerateContentRequest.{fault}"));
    }
    Ok(Some(schema))
}

/// The text parts of every `contents[].parts[]`, joined with newlines.
fn prompt_text(request: &Value) -> Option<String> {
    let contents = request.get("contents")?.as_array()?;
    let text: Vec<&str> = contents
        .iter()
        .filter_map(|c| c.get("parts").and_then(Value::as_array))
        .flatten()
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect();
    (!text.is_empty()).then(|| text.join("\n"))
}

/// `(question, answer)` pairs of the prompt's transcript; untranscribed answers are skipped.
fn answers(prompt: &str) -> Vec<(String, String)> {
    let start = prompt
        .find("<<<TRANSCRIPT>>>")
        .map_or(0, |i| i + "<<<TRANSCRIPT>>>".len());
    let end = prompt[start..]
        .find("<<<END OF TRANSCRIPT>>>")
        .map_or(prompt.len(), |i| start + i);
    let mut question = String::new();
    let mut out = Vec::new();
    for line in prompt[start..end].lines() {
        if let Some(q) = line.strip_prefix("Interviewer: ") {
            question = q.trim().to_owned();
        } else if let Some(a) = line.strip_prefix("Candidate: ") {
            let a = a.trim();
            if !a.is_empty() && !a.starts_with("(spoke; no transcription available)") {
                out.push((question.clone(), a.to_owned()));
            }
        }
    }
    out
}

/// The deterministic feedback document for `prompt` (see the module docs).
fn feedback_document(prompt: &str, fabricate: bool) -> Value {
    let answers = answers(prompt);
    let words: Vec<usize> = answers
        .iter()
        .map(|(_, a)| a.split_whitespace().count())
        .collect();
    let total: usize = words.iter().sum();
    let mean = if words.is_empty() {
        0
    } else {
        total / words.len()
    };
    let mut notes: Vec<Value> = answers
        .iter()
        .zip(&words)
        .map(|((question, answer), n)| {
            let quote = answer
                .split_whitespace()
                .take(QUOTE_WORDS)
                .collect::<Vec<_>>()
                .join(" ");
            json!({
                "question": question,
                "quote": quote,
                "note": format!("This answer has {n} word(s); name the result you achieved."),
            })
        })
        .collect();
    if fabricate {
        notes.push(json!({
            "question": answers.first().map(|(q, _)| q.as_str()).unwrap_or(""),
            "quote": FABRICATED_QUOTE,
            "note": "An impressive claim.",
        }));
    }
    // Longer answers score higher on content, up to 5; the rest is fixed.
    let content = (1 + mean / 15).min(5);
    json!({
        "summary": format!(
            "Simulated feedback (offline simulator, no language model): {} transcribed answer(s), {total} word(s) in all.",
            answers.len()
        ),
        "strengths": ["You answered the interviewer's questions in turn."],
        "areasToImprove": ["Close each answer with the result and what you learned."],
        "questionNotes": notes,
        "scores": {
            "content": { "value": content, "reason": format!("Answers average {mean} word(s).") },
            "structure": { "value": 3, "reason": "The simulator does not judge structure; a neutral score." },
            "clarity": { "value": 3, "reason": "The simulator does not judge clarity; a neutral score." }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMPT: &str = "Interviewer persona: p\n\n<<<TRANSCRIPT>>>\n\
        Interviewer: Tell me about yourself.\n\
        Candidate: I build realtime backends in Rust for a logistics company today.\n\
        Interviewer: Why?\n\
        Candidate: (spoke; no transcription available)\n\
        <<<END OF TRANSCRIPT>>>\n\nWrite a summary";

    #[test]
    fn notes_quote_the_candidates_first_words() {
        let doc = feedback_document(PROMPT, false);
        let notes = doc["questionNotes"].as_array().unwrap();
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0]["question"], "Tell me about yourself.");
        assert_eq!(notes[0]["quote"], "I build realtime backends in Rust for a");
        let fabricated = feedback_document(PROMPT, true);
        assert_eq!(fabricated["questionNotes"][1]["quote"], FABRICATED_QUOTE);
        assert!(!PROMPT.contains(FABRICATED_QUOTE));
    }

    fn transcript() -> Vec<preppal_core::TranscriptEntry> {
        use preppal_core::{Speaker, TranscriptEntry};
        let e = |sequence, speaker, text: &str| TranscriptEntry {
            sequence,
            speaker,
            text: text.into(),
            start_ms: u64::from(sequence) * 1_000,
            end_ms: u64::from(sequence) * 1_000 + 900,
            interrupted: false,
            heard_text: None,
        };
        vec![
            e(0, Speaker::Ai, "Tell me about yourself."),
            e(1, Speaker::User, "I build realtime backends in Rust."),
            e(2, Speaker::Ai, "What was your hardest outage?"),
            e(
                3,
                Speaker::User,
                "Our   Kafka cluster lost a broker during a deploy.",
            ),
        ]
    }

    #[tokio::test]
    async fn feedback_client_keeps_verified_notes_and_drops_the_fabricated_one() {
        use crate::simulator::{Simulator, SimulatorConfig};
        use crate::FeedbackClient;
        use preppal_core::FeedbackSource;

        let sim = Simulator::start(SimulatorConfig::default().with_fabricated_quote(true))
            .await
            .unwrap();
        let client =
            FeedbackClient::new("k", Some(&sim.rest_url())).with_source(FeedbackSource::Simulator);
        let f = client
            .generate("p", "jd", "cv", &transcript())
            .await
            .unwrap();
        assert_eq!(f.source, FeedbackSource::Simulator);
        assert_eq!(f.dropped_notes, 1);
        assert_eq!(f.notes.len(), 2);
        assert!(f.notes.iter().all(|n| n.quote != FABRICATED_QUOTE));
        assert_eq!(f.notes[1].quote, "Our Kafka cluster lost a broker during a");
        assert!(f.scores.is_some());

        // Without a key the endpoint refuses, as the real one does.
        let status = reqwest::Client::new()
            .post(format!(
                "{}/v1beta/models/m:generateContent",
                sim.rest_url()
            ))
            .body("{}")
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 401);
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn plain_feedback_drops_nothing() {
        use crate::simulator::{Simulator, SimulatorConfig};
        use crate::FeedbackClient;

        let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
        let f = FeedbackClient::new("k", Some(&sim.rest_url()))
            .generate("p", "jd", "cv", &transcript())
            .await
            .unwrap();
        assert_eq!(f.dropped_notes, 0);
        assert_eq!(f.notes.len(), 2);
        sim.shutdown().await;
    }
}
