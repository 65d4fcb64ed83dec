//! Fault kind 5, through the server: a model failure becomes a typed reason that is
//! stored on the interview (`error_message` and `error_kind`) and shown by `preppal
//! interview`'s report. Each case refuses or closes the simulator's connection the way
//! the service does (gemini-live-protocol notes §1.2, §6.2).

#![allow(clippy::unwrap_used)]

mod common;

use common::interview_args;
use preppal_core::ModelErrorKind;
use preppal_examples::cli::hold_interview;
use preppal_examples::cli::report::InterviewReport;
use preppal_examples::server::{spawn, ServeArgs};
use preppal_gemini::simulator::{Fault, FaultTrigger, Simulator, SimulatorConfig, SpeechMode};

/// Holds a typed interview against `preppal serve` whose model is a simulator started
/// with `sim`; returns the report.
async fn interview_with(sim: SimulatorConfig) -> InterviewReport {
    let sim = Simulator::start(sim.with_voice(SpeechMode::Silence))
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut args = ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data.path().to_path_buf());
    args.gemini.url = Some(sim.url());
    let server = spawn(&args).await.unwrap();
    let answers = data.path().join("answers.txt");
    std::fs::write(&answers, "I rewrote the fan-out service in Rust.").unwrap();
    let args = interview_args(
        &format!("http://{}", server.addr),
        &["--answers", &answers.display().to_string(), "--json"],
    );
    let report = hold_interview(&args).await.unwrap();
    server.stop();
    sim.shutdown().await;
    report
}

fn check(report: &InterviewReport, kind: ModelErrorKind, detail: &str) {
    assert_eq!(report.status, "ERROR", "{report:?}");
    let error = report.error.as_ref().expect("the report says why");
    assert_eq!(error.kind.as_deref(), Some(kind.as_str()), "{error:?}");
    assert!(error.message.starts_with(kind.sentence()), "{error:?}");
    assert!(error.message.contains(detail), "{error:?}");
    assert!(report.to_markdown().contains(&format!(
        "Error ({}): {}",
        kind.as_str(),
        kind.sentence()
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kind5_http_429_on_the_upgrade_is_stored_as_quota() {
    let report = interview_with(SimulatorConfig::default().with_refused_upgrades([429])).await;
    check(&report, ModelErrorKind::Quota, "HTTP 429");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kind5_close_1007_api_key_expired_is_stored_as_authentication() {
    let reason = "API key expired. Please renew the API key.";
    let report = interview_with(SimulatorConfig::default().with_fault(
        FaultTrigger::AfterSetup,
        Fault::Close {
            code: 1007,
            reason: reason.into(),
        },
    ))
    .await;
    check(&report, ModelErrorKind::Authentication, reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kind5_close_1011_resource_exhausted_is_stored_as_quota() {
    let reason = "generic::resource_exhausted: RESOURCE_EXHAUSTED: Maximum concurrent se";
    let report = interview_with(SimulatorConfig::default().with_fault(
        FaultTrigger::AfterSetup,
        Fault::Close {
            code: 1011,
            reason: reason.into(),
        },
    ))
    .await;
    check(&report, ModelErrorKind::Quota, "1011");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kind5_close_1008_is_stored_as_policy() {
    let reason = "Operation is not implemented, or supported, or enabled.";
    let report = interview_with(SimulatorConfig::default().with_fault(
        FaultTrigger::AfterSetup,
        Fault::Close {
            code: 1008,
            reason: reason.into(),
        },
    ))
    .await;
    check(&report, ModelErrorKind::Policy, reason);
}
