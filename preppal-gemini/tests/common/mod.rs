//! What the Gemini Live integration tests share: the fixture job and resume, the
//! interviewer instruction, simulator and Live settings, and readers of the model events.
//!
//! Each test binary compiles this module and uses a part of it, hence `dead_code`.

#![allow(dead_code)]
#![allow(clippy::expect_used)]

use std::time::Duration;

use preppal_core::ModelEvent;
use preppal_gemini::simulator::{InterviewScript, SimulatorConfig, SimulatorHandle, SpeechMode};
use preppal_gemini::{interviewer_instruction, LiveConfig, ReconnectPolicy, ResilientSession};
use serde_json::Value;

/// The fixture job description.
pub(crate) const JD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/interviews/backend-engineer.jd.txt"
));

/// The fixture resume.
pub(crate) const RESUME: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/interviews/backend-engineer.resume.txt"
));

/// Questions in the simulated interview.
pub(crate) const QUESTIONS: usize = 4;

/// Generous bound so a broken path fails the test instead of hanging it.
pub(crate) const LIMIT: Duration = Duration::from_secs(60);

/// The interviewer instruction for the fixture job and resume.
pub(crate) fn instruction() -> String {
    interviewer_instruction("a calm engineering manager", JD, RESUME)
}

/// The simulator's script for [`instruction`] and [`QUESTIONS`] questions.
pub(crate) fn script() -> InterviewScript {
    InterviewScript::from_instruction(&instruction(), QUESTIONS)
}

/// A silent simulator that does not wait for playback.
pub(crate) fn fast_silent() -> SimulatorConfig {
    SimulatorConfig::default()
        .with_voice(SpeechMode::Silence)
        .with_hold_turn_for_playback(false)
}

/// [`fast_silent`] settings with [`QUESTIONS`] questions.
pub(crate) fn sim_config() -> SimulatorConfig {
    fast_silent().with_questions(QUESTIONS)
}

/// The Live configuration for the simulator `sim` with [`instruction`].
pub(crate) fn config(sim: &SimulatorHandle) -> LiveConfig {
    LiveConfig::new("test-key", instruction()).with_endpoint(sim.url())
}

/// Short backoffs, 4 retries and a 300 ms goAway margin.
pub(crate) fn fast_policy() -> ReconnectPolicy {
    ReconnectPolicy::default()
        .with_backoff(Duration::from_millis(20), Duration::from_millis(200))
        .with_max_retries(4)
        .with_go_away_margin(Duration::from_millis(300))
}

/// The next event other than `Usage` (conformance of usage events is in `events.rs`).
pub(crate) async fn next_resilient(live: &mut ResilientSession) -> Option<ModelEvent> {
    loop {
        let event = tokio::time::timeout(LIMIT, live.next_event())
            .await
            .expect("event in time")
            .map(|e| e.expect("not an error"));
        if !matches!(event, Some(ModelEvent::Usage(_))) {
            return event;
        }
    }
}

/// The output transcription in `events`, joined.
pub(crate) fn transcript_of(events: &[ModelEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            ModelEvent::OutputTranscription(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// The `setup` message of one recorded connection.
pub(crate) fn setup_of(connection: &[Value]) -> &Value {
    &connection[0]["setup"]
}
