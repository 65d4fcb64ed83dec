//! Fault kind 2, through the server: a candidate transcription that arrives after the
//! interviewer's reply began completes the spoken answer it transcribes, in the stored
//! transcript and in the feedback made from it (`preppal serve` + `preppal interview
//! --audio`, the simulator sending the late `inputTranscription` on cue).

#![allow(clippy::unwrap_used)]

mod common;

use common::{fixture, interview_args, spawn_with_simulator};
use preppal_examples::cli::hold_interview;
use preppal_gemini::simulator::{Fault, FaultTrigger, Simulator, SimulatorConfig, SpeechMode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kind2_late_transcription_is_stored_under_the_answer_it_transcribes() {
    let answer = ["I led the", " migration of our tracking service."];
    let sim = Simulator::start(
        SimulatorConfig::default()
            .with_voice(SpeechMode::Silence)
            .with_fault(
                FaultTrigger::DuringLine(1),
                Fault::InputTranscription {
                    text: answer[0].into(),
                },
            )
            .with_fault(
                FaultTrigger::DuringLine(1),
                Fault::InputTranscription {
                    text: answer[1].into(),
                },
            ),
    )
    .await
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = spawn_with_simulator(&sim, data.path()).await;
    let args = interview_args(
        &format!("http://{}", server.addr),
        &[
            "--audio",
            &fixture("audio/intro.wav").display().to_string(),
            "--speed",
            "0",
            "--frame-ms",
            "100",
            "--json",
        ],
    );
    let report = hold_interview(&args).await.unwrap();
    server.stop();
    sim.shutdown().await;

    assert_eq!(report.status, "COMPLETED", "{report:?}");
    let t = &report.transcript;
    let speakers: Vec<&str> = t.iter().map(|e| e.speaker.as_str()).collect();
    assert_eq!(speakers, ["AI", "USER", "AI"], "{t:?}");
    assert_eq!(t[1].text, answer.concat(), "{t:?}");
    // The feedback was made from the amended answer: every quote is found in it.
    let feedback = report.feedback.as_ref().expect("feedback");
    assert_eq!(feedback.dropped_notes, 0, "{feedback:?}");
    for note in &feedback.notes {
        assert!(t[1].text.contains(note.quote.trim()), "{note:?}");
    }
}
