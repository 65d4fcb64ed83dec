//! `GET /api/openapi.json` describes every JSON procedure's reply with its fields, and the
//! replies the server sends match those descriptions: each key is described, each
//! required field is there, each value has the described type, all the way down to where
//! the description stops (the records' free-form parts).

#![allow(clippy::unwrap_used)] // test input is our own

use preppal_core::feedback::deterministic_feedback_with_metrics;
use preppal_core::plan::{Difficulty, InterviewPlan, RoundType};
use preppal_core::{metrics, InterviewStatus, Speaker, TranscriptEntry};
use preppal_examples::server::{spawn, ServeArgs};
use preppal_store::NewInterview;
use serde_json::{json, Value};

const JOB: &str = "Senior Backend Engineer\nNorthwind Logistics (fictional), Remote\n\nWe build services in Rust on Kafka.";

/// The schema `schema` points at (`$ref` followed).
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            let target = &doc["components"]["schemas"][name];
            assert!(target.is_object(), "{r} is not in the components");
            resolve(doc, target)
        }
        None => schema,
    }
}

/// The properties and required fields of an object schema, `allOf` parts merged.
fn object_fields(doc: &Value, schema: &Value) -> (serde_json::Map<String, Value>, Vec<String>) {
    let schema = resolve(doc, schema);
    let mut properties = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut required: Vec<String> = schema["required"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        let (p, r) = object_fields(doc, part);
        properties.extend(p);
        required.extend(r);
    }
    (properties, required)
}

/// Whether the schema declares some fields (directly, by `$ref` or through `allOf`).
fn has_fields(doc: &Value, schema: &Value) -> bool {
    !object_fields(doc, schema).0.is_empty()
}

/// The JSON type names a schema allows (`type` as a string or a list; none: any).
fn types(schema: &Value) -> Vec<&str> {
    match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks `value` against `schema`; `at` names the place for the failure message.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(doc, schema);
    if let Some(branches) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        let fits = branches.iter().any(|b| {
            let b = resolve(doc, b);
            if value.is_null() {
                return types(b).contains(&"null");
            }
            !types(b).contains(&"null") || types(b).len() > 1
        });
        assert!(fits, "{at}: {value} fits none of {schema}");
        if !value.is_null() {
            let b = branches
                .iter()
                .find(|b| types(resolve(doc, b)) != ["null"])
                .unwrap();
            check(doc, b, value, at);
        }
        return;
    }
    let allowed = types(schema);
    if !allowed.is_empty() {
        let t = type_of(value);
        let ok = allowed.contains(&t) || (t == "integer" && allowed.contains(&"number"));
        assert!(ok, "{at}: {value} is {t}, described as {allowed:?}");
    }
    match value {
        Value::Object(o) => {
            let (properties, required) = object_fields(doc, schema);
            for r in &required {
                assert!(
                    o.contains_key(r),
                    "{at}: required {r} is missing from {value}"
                );
            }
            if !properties.is_empty() {
                for (k, v) in o {
                    let p = properties
                        .get(k)
                        .unwrap_or_else(|| panic!("{at}: {k} is not described"));
                    check(doc, p, v, &format!("{at}.{k}"));
                }
            } else if let Some(extra) = schema.get("additionalProperties") {
                for (k, v) in o {
                    check(doc, extra, v, &format!("{at}[{k}]"));
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for (n, v) in items.iter().enumerate() {
                    check(doc, item, v, &format!("{at}[{n}]"));
                }
            }
        }
        _ => {}
    }
}

/// The schema of the 200 reply of `POST path`.
fn reply_schema<'a>(doc: &'a Value, path: &str) -> &'a Value {
    let s =
        &doc["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["schema"];
    assert!(s.is_object(), "{path} has no 200 reply schema");
    s
}

fn e(sequence: u32, speaker: Speaker, text: &str, start_ms: u64, end_ms: u64) -> TranscriptEntry {
    TranscriptEntry {
        sequence,
        speaker,
        text: text.into(),
        start_ms,
        end_ms,
        interrupted: sequence == 2,
        heard_text: (sequence == 2).then(|| "Tell me".to_owned()),
    }
}

#[test]
fn every_reply_is_described_with_its_fields() {
    let doc = api_doc();
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 24);
    for (path, item) in paths {
        let ok = &item["post"]["responses"]["200"];
        let schema = &ok["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "{path}: no JSON schema for 200: {ok}");
        assert!(
            has_fields(&doc, schema),
            "{path}: the 200 reply has no fields: {schema}"
        );
        assert!(
            item["post"]["responses"]["400"].is_object()
                || path == "/api/auth/methods"
                || path == "/api/auth/signout",
            "{path}: refusals are described"
        );
    }
    let token = resolve(
        &doc,
        reply_schema(&doc, "/api/interview.generateWorkerToken"),
    );
    for field in ["token", "expires_at", "ws_url", "worker_url"] {
        assert!(token["properties"][field].is_object(), "{field}: {token}");
    }
}

fn api_doc() -> Value {
    serde_json::to_value(
        <preppal_examples::server::web::openapi::ApiDoc as utoipa::OpenApi>::openapi(),
    )
    .unwrap()
}

#[test]
fn the_check_refuses_what_is_not_described() {
    let doc = api_doc();
    let token = reply_schema(&doc, "/api/interview.generateWorkerToken");
    let good =
        json!({ "token": "t", "expires_at": 1, "ws_url": "ws://h/i", "worker_url": "http://h" });
    check(&doc, token, &good, "good");
    let mut extra = good.clone();
    extra["surprise"] = json!(1);
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("ws_url");
    let mut mistyped = good.clone();
    mistyped["expires_at"] = json!("soon");
    for bad in [extra, missing, mistyped] {
        let refused = std::panic::catch_unwind(|| check(&doc, token, &bad, "bad")).is_err();
        assert!(refused, "{bad} passed");
    }
    let current = reply_schema(&doc, "/api/interview.getCurrent");
    check(&doc, current, &json!({ "interview": null }), "null");
    let wrong = json!({ "interview": { "id": 1 } });
    assert!(std::panic::catch_unwind(|| check(&doc, current, &wrong, "wrong")).is_err());
}

/// A client that checks every reply against the document.
struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    doc: Value,
}

impl Api {
    async fn call(&self, procedure: &str, body: Value) -> Value {
        let mut r = self
            .http
            .post(format!("{}/api/{procedure}", self.base))
            .json(&body);
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        let r = r.send().await.unwrap();
        assert!(r.status().is_success(), "{procedure}: {}", r.status());
        let v: Value = r.json().await.unwrap();
        let path = format!("/api/{procedure}");
        check(&self.doc, reply_schema(&self.doc, &path), &v, procedure);
        v
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replies_match_their_descriptions() {
    let data = tempfile::tempdir().unwrap();
    let args = ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data.path().to_path_buf());
    let server = spawn(&args).await.unwrap();
    let http = reqwest::Client::new();
    let doc: Value = http
        .get(format!("{}/api/openapi.json", server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut api = Api {
        http,
        base: server.url(),
        token: None,
        doc,
    };
    let methods = api.call("auth/methods", json!({})).await;
    assert_eq!(methods["signed_in"], false);
    let session = api
        .call("auth/dev", json!({ "email": "ada@example.com" }))
        .await;
    api.token = Some(session["session_token"].as_str().unwrap().to_owned());
    let profile = api.call("user.getProfile", json!({})).await;
    let user_id = profile["id"].as_str().unwrap().to_owned();

    // Nothing yet: the empty and null replies.
    let current = api.call("interview.getCurrent", json!({})).await;
    assert!(current["interview"].is_null());
    let history = api.call("interview.getHistory", json!({})).await;
    assert!(history["next_cursor"].is_null());
    api.call("interview.getProgress", json!({})).await;

    // The library.
    let jd = api
        .call(
            "jobDescription.create",
            json!({ "title": "Backend", "content": JOB }),
        )
        .await;
    let jd_id = jd["id"].as_str().unwrap();
    api.call(
        "jobDescription.update",
        json!({ "id": jd_id, "title": "Backend 2", "content": JOB }),
    )
    .await;
    let cv = api
        .call(
            "resume.create",
            json!({ "title": "Me", "content": "Five years of Rust." }),
        )
        .await;
    let cv_id = cv["id"].as_str().unwrap();
    api.call(
        "resume.update",
        json!({ "id": cv_id, "title": "Me 2", "content": "Six years of Rust." }),
    )
    .await;
    assert_eq!(
        api.call("jobDescription.list", json!({})).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        api.call("resume.list", json!({})).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A live interview: created from the library, its token, then abandoned.
    let created = api
        .call(
            "interview.createSession",
            json!({ "idempotency_key": "k1", "job_description_id": jd_id, "resume_id": cv_id }),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["status"], "PENDING");
    assert!(api.call("interview.getCurrent", json!({})).await["interview"].is_object());
    for procedure in ["interview.generateWorkerToken", "interview.generateWsToken"] {
        let t = api.call(procedure, json!({ "interview_id": id })).await;
        assert!(t["ws_url"].as_str().unwrap().contains(id));
    }
    let empty = api
        .call("interview.getFeedback", json!({ "interview_id": id }))
        .await;
    assert!(empty["feedback"].is_null() && empty["competency_scores"].is_null());
    let abandoned = api
        .call(
            "interview.updateStatus",
            json!({ "interview_id": id, "status": "ERROR" }),
        )
        .await;
    assert_eq!(abandoned["status"], "ERROR");

    // A finished interview with a plan, a transcript with a barge-in, and feedback.
    let store = preppal_store::open(&args.database_url()).await.unwrap();
    let mut new = NewInterview::from_texts(&user_id, JOB, "Resume.", 600_000);
    new.plan = Some(InterviewPlan::derive(
        JOB,
        "Resume.",
        RoundType::Technical,
        Difficulty::Mid,
        600_000,
    ));
    let done = store.create_interview(new).await.unwrap();
    store
        .update_status(
            &done.id,
            InterviewStatus::Pending,
            InterviewStatus::InProgress,
            None,
            None,
        )
        .await
        .unwrap();
    let entries = vec![
        e(0, Speaker::Ai, "Tell me about yourself.", 0, 3_000),
        e(
            1,
            Speaker::User,
            "I build Rust services on Kafka.",
            4_000,
            20_000,
        ),
        e(2, Speaker::Ai, "Tell me about an outage.", 21_000, 22_000),
        e(
            3,
            Speaker::User,
            "We lost a broker and I led the recovery.",
            22_500,
            40_000,
        ),
    ];
    store.append_transcript(&done.id, &entries).await.unwrap();
    let f = deterministic_feedback_with_metrics(&entries, metrics::compute(&entries, JOB, &[]));
    store.put_feedback(&done.id, &f).await.unwrap();
    store
        .update_status(
            &done.id,
            InterviewStatus::InProgress,
            InterviewStatus::Completed,
            Some("user_ended"),
            None,
        )
        .await
        .unwrap();
    let one = api
        .call("interview.getById", json!({ "interview_id": done.id }))
        .await;
    assert_eq!(one["job_title"], "Senior Backend Engineer");
    assert!(one["plan"].is_object());
    let transcript = api
        .call(
            "interview.getTranscript",
            json!({ "interview_id": done.id }),
        )
        .await;
    assert_eq!(transcript["entries"].as_array().unwrap().len(), 4);
    let feedback = api
        .call("interview.getFeedback", json!({ "interview_id": done.id }))
        .await;
    assert!(feedback["feedback"]["summary"].is_string(), "{feedback}");
    let progress = api.call("interview.getProgress", json!({})).await;
    assert_eq!(
        progress["points"].as_array().unwrap().len(),
        1,
        "{progress}"
    );
    assert!(!progress["groups"].as_array().unwrap().is_empty());
    let history = api
        .call("interview.getHistory", json!({ "limit": 1 }))
        .await;
    assert!(history["next_cursor"].is_string(), "{history}");

    // Deletions, then sign-out.
    api.call("interview.delete", json!({ "interview_id": done.id }))
        .await;
    api.call("jobDescription.delete", json!({ "id": jd_id }))
        .await;
    api.call("resume.delete", json!({ "id": cv_id })).await;
    api.call("auth/signout", json!({})).await;
}
