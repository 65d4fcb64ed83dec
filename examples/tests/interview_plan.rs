//! Interviews designed like a hiring team's, against `preppal serve` (offline): the plan
//! is stored and returned, the system instruction carries it, the offline interviewer's
//! questions follow the round type, and answers without a result get a follow-up.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{api, fixture, interview_args, sign_in_as, spawn_with_simulator};
use preppal_examples::cli::report::InterviewReport;
use preppal_examples::cli::{hold_interview, InterviewArgs};
use preppal_examples::server::{spawn, ServeArgs};
use preppal_gemini::simulator::{Simulator, SimulatorConfig};
use serde_json::{json, Value};

/// Answers with no result in them (no outcome, no numbers).
const NO_RESULT: [&str; 3] = [
    "I worked on the tracking service.",
    "I looked at the queues.",
    "I talked to the team about it.",
];

fn args(server: &str, dir: &Path, answers: &[&str], extra: &[&str]) -> InterviewArgs {
    let file = dir.join(format!("answers-{}.txt", extra.join("-")));
    std::fs::write(&file, answers.join("\n")).unwrap();
    let file = file.display().to_string();
    let argv = [&["--answers", &file, "--speed", "0", "--json"], extra].concat();
    interview_args(server, &argv)
}

fn ai_lines(report: &InterviewReport) -> Vec<&str> {
    report
        .transcript
        .iter()
        .filter(|e| e.speaker == "AI")
        .map(|e| e.text.as_str())
        .collect()
}

/// Signs in as the command-line client's dev user; the session token.
async fn sign_in(server: &str) -> String {
    sign_in_as(
        server,
        json!({"email": "candidate@example.com", "name": "candidate"}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_types_ask_different_questions_and_answers_without_results_get_a_follow_up() {
    let data = tempfile::tempdir().unwrap();
    let serve = ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data.path().to_path_buf());
    let server = spawn(&serve).await.unwrap();
    let url = server.url();

    let design = hold_interview(&args(
        &url,
        data.path(),
        &NO_RESULT[..1],
        &["--round-type", "system_design"],
    ))
    .await
    .unwrap();
    let behavioral = hold_interview(&args(
        &url,
        data.path(),
        &NO_RESULT,
        &["--round-type", "behavioral"],
    ))
    .await
    .unwrap();
    assert_eq!(design.status, "COMPLETED", "{design:?}");
    assert_eq!(behavioral.status, "COMPLETED", "{behavioral:?}");
    let d = ai_lines(&design);
    let b = ai_lines(&behavioral);
    assert!(d[0].contains("mid-level system design"), "{}", d[0]);
    assert!(d[0].contains("Let's design something"), "{}", d[0]);
    assert!(b[0].contains("mid-level behavioral"), "{}", b[0]);
    assert!(b[0].contains("what did you do yourself"), "{}", b[0]);
    assert_ne!(d[0], b[0]);

    // Each answer lacks a result: the interviewer asks for it (twice at most per
    // question), then moves on.
    assert!(b.len() >= 3, "{b:?}");
    assert!(b[1].to_lowercase().contains("result"), "{}", b[1]);
    assert!(b[2].to_lowercase().contains("what changed"), "{}", b[2]);

    // The plan is stored with the interview and returned.
    let token = sign_in(&url).await;
    let (status, got) = api(
        &url,
        &token,
        "interview.getById",
        json!({"interview_id": behavioral.interview_id}),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["plan"]["round_type"], "behavioral", "{got}");
    assert_eq!(got["plan"]["difficulty"], "mid");
    assert!(got["plan"]["competencies"].as_array().unwrap().len() >= 2);

    // Without a model: STAR checks per behavioural answer and the plan's coverage; the
    // scores are said to need a model.
    let (status, f) = api(
        &url,
        &token,
        "interview.getFeedback",
        json!({"interview_id": behavioral.interview_id}),
    )
    .await;
    assert_eq!(status, 200, "{f}");
    assert_eq!(f["plan"]["round_type"], "behavioral");
    assert_eq!(f["competency_scores"], json!([]));
    let stars = f["star_checks"].as_array().unwrap();
    assert_eq!(stars.len(), NO_RESULT.len(), "{f}");
    assert!(stars.iter().all(|s| s["star"]["result"] == false), "{f}");
    assert!(f["plan_coverage"].as_array().unwrap().len() >= 2);
    assert!(f["needs_model"][0].as_str().unwrap().contains("model"));
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_feedback_scores_each_competency_with_quotes_from_the_transcript() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = spawn_with_simulator(&sim, data.path()).await;
    let answers = [
        "Last year at Parcelwise our webhook deliveries were duplicated, and my task was to stop it. I introduced idempotency keys and an outbox table, and as a result duplicates dropped by 97%.",
        "I rewrote the fan-out service in Rust and p99 latency fell from 480 ms to 35 ms.",
    ];
    let report = hold_interview(&args(
        &server.url(),
        data.path(),
        &answers,
        &["--round-type", "behavioral"],
    ))
    .await
    .unwrap();
    assert_eq!(report.status, "COMPLETED", "{report:?}");
    let token = sign_in(&server.url()).await;
    let (status, f) = api(
        &server.url(),
        &token,
        "interview.getFeedback",
        json!({"interview_id": report.interview_id}),
    )
    .await;
    assert_eq!(status, 200, "{f}");
    let plan = f["plan"]["competencies"].as_array().unwrap();
    let scores = f["competency_scores"].as_array().unwrap();
    assert_eq!(scores.len(), plan.len(), "one score per competency: {f}");
    for s in scores {
        let q = s["quotes"][0].as_str().unwrap();
        assert!(
            answers.iter().any(|a| a.contains(q)),
            "{q} is not in the transcript"
        );
        assert!((1..=4).contains(&s["score"].as_u64().unwrap()));
    }
    assert_eq!(f["dropped_scores"], 0);
    let stars = f["star_checks"].as_array().unwrap();
    assert_eq!(stars.len(), 2, "{f}");
    assert_eq!(stars[0]["star"]["result"], true);
    assert_eq!(f["feedback"]["source"], "simulator");
    server.stop();

    // The exports carry the plan and the scores.
    let export = |format: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_preppal"))
            .arg("export")
            .arg(&report.interview_id)
            .args(["--format", format, "--data-dir"])
            .arg(data.path())
            .env_remove("PREPPAL_DATABASE_URL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let json: Value = serde_json::from_str(&export("json")).unwrap();
    assert_eq!(json["plan"]["round_type"], "behavioral");
    assert_eq!(
        json["plan_assessment"]["competency_scores"],
        f["competency_scores"]
    );
    assert_eq!(
        report
            .plan_assessment
            .as_ref()
            .map(|a| a.competency_scores.len()),
        Some(scores.len())
    );
    let md = export("markdown");
    assert!(
        md.contains("## Interview plan") && md.contains("## Competencies"),
        "{md}"
    );
    assert!(
        md.contains("## STAR checks") && md.contains("STAR ("),
        "{md}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_session_takes_round_type_and_difficulty_and_refuses_unknown_ones() {
    let data = tempfile::tempdir().unwrap();
    let serve = ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data.path().to_path_buf());
    let server = spawn(&serve).await.unwrap();
    let url = server.url();
    let token = sign_in(&url).await;
    let jd = std::fs::read_to_string(fixture("interviews/product-manager.jd.txt")).unwrap();
    let cv = std::fs::read_to_string(fixture("interviews/product-manager.resume.txt")).unwrap();
    let body = |key: &str, extra: Value| {
        let mut b = json!({"idempotency_key": key, "job_description": jd, "resume": cv, "duration_minutes": 30});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    let (status, default) = api(
        &url,
        &token,
        "interview.createSession",
        body("k1", json!({})),
    )
    .await;
    assert_eq!(status, 200, "{default}");
    assert_eq!(default["plan"]["round_type"], "mixed");
    assert_eq!(default["plan"]["difficulty"], "mid");
    assert_eq!(default["plan"]["main_questions"], 6);
    let (status, staff) = api(
        &url,
        &token,
        "interview.createSession",
        body("k2", json!({"round_type": "behavioral", "difficulty": "staff", "answer_time_limit_secs": 120})),
    )
    .await;
    assert_eq!(status, 200, "{staff}");
    assert_eq!(staff["plan"]["difficulty"], "staff");
    assert_eq!(staff["plan"]["answer_time_limit_secs"], 120);
    let last = staff["plan"]["competencies"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["id"], "influence");
    let why: Vec<&str> = staff["plan"]["competencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["why"].as_str())
        .collect();
    assert!(
        why.iter()
            .any(|w| w.contains("Strong written and verbal communication")),
        "{why:?}"
    );

    let (status, err) = api(
        &url,
        &token,
        "interview.createSession",
        body("k3", json!({"round_type": "coding"})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["code"], "INVALID_ROUND_TYPE", "{err}");
    let (status, err) = api(
        &url,
        &token,
        "interview.createSession",
        body("k4", json!({"difficulty": "hard"})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["code"], "INVALID_DIFFICULTY", "{err}");
    let (status, _) = api(
        &url,
        &token,
        "interview.createSession",
        body("k5", json!({"answer_time_limit_secs": 5})),
    )
    .await;
    assert_eq!(status, 400);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_instruction_carries_the_plan() {
    let sim = Simulator::start(SimulatorConfig::default().with_follow_ups(true))
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut serve = ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data.path().to_path_buf());
    serve.gemini.url = Some(sim.url());
    let server = spawn(&serve).await.unwrap();
    let report = hold_interview(&args(
        &server.url(),
        data.path(),
        &NO_RESULT[..1],
        &["--round-type", "technical", "--difficulty", "senior"],
    ))
    .await
    .unwrap();
    assert_eq!(report.status, "COMPLETED", "{report:?}");
    let instruction = sim
        .recorded()
        .iter()
        .flatten()
        .find_map(|m| {
            m.pointer("/setup/systemInstruction/parts/0/text")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .expect("a setup");
    let plan = preppal_gemini::plan_instruction::plan_in_instruction(&instruction)
        .expect("a plan in the instruction");
    assert_eq!(plan.round_type.as_str(), "technical");
    assert_eq!(plan.difficulty.as_str(), "senior");
    for c in &plan.competencies {
        assert!(
            instruction.contains(&format!(". {} (", c.name)),
            "{} missing:\n{instruction}",
            c.name
        );
    }
    for rule in &plan.follow_up.rules {
        assert!(instruction.contains(rule.as_str()), "{rule} missing");
    }
    assert!(instruction.contains("If an answer has no result or outcome, ask what the result was."));
    assert!(instruction.contains("technical round at senior level"));
    // The simulator heard the typed answer and answered it with a follow-up for the result.
    let lines = ai_lines(&report);
    assert!(lines[1].to_lowercase().contains("result"), "{lines:?}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_follows_each_competency_across_interviews_of_the_same_job() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = spawn_with_simulator(&sim, data.path()).await;
    let rounds = [
        [
            "I helped with the webhook duplicates at Parcelwise.",
            "We rewrote the fan-out service.",
        ],
        [
            "Last year at Parcelwise our webhook deliveries were duplicated, and my task was to stop it. I introduced idempotency keys and an outbox table, and as a result duplicates dropped by 97%.",
            "I rewrote the fan-out service in Rust and p99 latency fell from 480 ms to 35 ms.",
        ],
    ];
    let mut ids = Vec::new();
    for answers in &rounds {
        let report = hold_interview(&args(
            &server.url(),
            data.path(),
            answers,
            &["--round-type", "behavioral"],
        ))
        .await
        .unwrap();
        assert_eq!(report.status, "COMPLETED", "{report:?}");
        ids.push(report.interview_id);
    }
    let token = sign_in(&server.url()).await;
    let (status, progress) = api(&server.url(), &token, "interview.getProgress", json!({})).await;
    assert_eq!(status, 200, "{progress}");
    // The existing fields stay.
    assert!(progress["groups"].is_array() && progress["points"].is_array());
    let competencies = progress["competencies"].as_array().unwrap();
    assert!(!competencies.is_empty(), "{progress}");
    // Every competency the latest feedback scored has a series of two scores, one per
    // interview, oldest first, with the latest score and a trend that follows them.
    let (_, latest) = api(
        &server.url(),
        &token,
        "interview.getFeedback",
        json!({"interview_id": ids[1]}),
    )
    .await;
    let scored = latest["competency_scores"].as_array().unwrap();
    assert!(!scored.is_empty(), "{latest}");
    for s in scored {
        let c = competencies
            .iter()
            .find(|c| c["competency_id"] == s["competency_id"])
            .unwrap_or_else(|| panic!("{s} missing from {progress}"));
        assert_eq!(c["round_type"], "behavioral");
        assert_eq!(c["mode"], "text");
        assert!(c["job"].as_str().unwrap().contains("Backend"), "{c}");
        assert_eq!(c["interview_ids"], json!(ids), "{c}");
        let scores = c["scores"].as_array().unwrap();
        assert_eq!(scores.len(), 2, "{c}");
        assert_eq!(scores[1], s["score"], "{c}");
        assert_eq!(c["latest"], s["score"]);
        let expected = match (scores[0].as_u64(), scores[1].as_u64()) {
            (Some(a), Some(b)) if b > a => "improving",
            (Some(a), Some(b)) if b < a => "declining",
            (Some(_), Some(_)) => "steady",
            _ => "unknown",
        };
        assert_eq!(c["trend"], expected, "{c}");
    }
    assert!(
        competencies.iter().any(|c| c["scores"]
            .as_array()
            .is_some_and(|s| s.iter().all(Value::is_u64))),
        "some competency is scored in both interviews: {progress}"
    );
    server.stop();
}
