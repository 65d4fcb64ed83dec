//! The driver's inputs with a fake clock: the resume clock and the shortest length, when the
//! model is wanted, the client-silence timer, and when a resumption handle is kept.

use std::time::{Duration, Instant};

use super::*;
use crate::{ModelEvent, Speaker};

fn entry(sequence: u32, speaker: Speaker, start_ms: u64, end_ms: u64) -> TranscriptEntry {
    TranscriptEntry {
        sequence,
        speaker,
        text: format!("turn {sequence}"),
        start_ms,
        end_ms,
        interrupted: false,
        heard_text: None,
    }
}

fn events(s: &mut InterviewSession) -> Vec<SessionEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn persisted(s: &mut InterviewSession) -> Vec<PersistAction> {
    std::iter::from_fn(|| s.poll_persist()).collect()
}

/// A config with only the timers under test: no checkpoint, no wrap-up, a long setup
/// deadline.
fn quiet_config(length: Duration) -> SessionConfig {
    SessionConfig::new(length)
        .with_checkpoint_interval(Duration::ZERO)
        .with_wrap_up_before(Duration::ZERO)
        .with_setup_timeout(Duration::from_secs(45))
}

#[test]
fn stored_length_is_raised_to_the_shortest_interview() {
    assert_eq!(
        SessionConfig::for_interview_length_ms(0).max_duration,
        MIN_INTERVIEW_LENGTH
    );
    assert_eq!(
        SessionConfig::for_interview_length_ms(59_999).max_duration,
        MIN_INTERVIEW_LENGTH
    );
    assert_eq!(
        SessionConfig::for_interview_length_ms(600_000).max_duration,
        Duration::from_secs(600)
    );
}

#[test]
fn resumed_clock_counts_the_wall_time_since_the_stored_start() {
    let t0 = Instant::now();
    let entries = vec![
        entry(0, Speaker::Ai, 0, 10_000),
        entry(1, Speaker::User, 12_000, 30_000),
    ];
    // Started 100 s ago on the wall clock, 30 s of it spoken.
    let mut s = InterviewSession::resume_stored(
        "iv",
        quiet_config(Duration::from_secs(300)),
        entries,
        1_000_000,
        1_100_000,
        t0,
    );
    s.handle_client_attached(t0).unwrap();
    s.handle_model(ModelEvent::SetupComplete, t0).unwrap();
    assert_eq!(s.elapsed_ms(t0), 100_000);
    // The limit ends the interview 200 s later, not 300 s.
    let end = t0 + Duration::from_secs(200);
    assert_eq!(s.poll_timeout(), Some(end));
    s.handle_timeout(end - Duration::from_millis(1));
    assert!(!s.is_ended());
    s.handle_timeout(end);
    assert_eq!(s.end_reason(), Some(&EndReason::TimeLimit));
}

#[test]
fn resumed_clock_falls_back_on_what_was_spoken() {
    let t0 = Instant::now();
    let entries = vec![entry(0, Speaker::Ai, 0, 42_000)];
    // No stored start.
    let mut s = InterviewSession::resume_stored(
        "iv",
        quiet_config(Duration::from_secs(300)),
        entries.clone(),
        0,
        5_000_000,
        t0,
    );
    s.handle_client_attached(t0).unwrap();
    s.handle_model(ModelEvent::SetupComplete, t0).unwrap();
    assert_eq!(s.elapsed_ms(t0), 42_000);
    // A wall clock that went back (start after now) counts nothing of its own.
    let mut s = InterviewSession::resume_stored(
        "iv",
        quiet_config(Duration::from_secs(300)),
        entries,
        9_000_000,
        5_000_000,
        t0,
    );
    s.handle_client_attached(t0).unwrap();
    s.handle_model(ModelEvent::SetupComplete, t0).unwrap();
    assert_eq!(s.elapsed_ms(t0 + Duration::from_secs(1)), 43_000);
}

#[test]
fn the_model_is_wanted_once_a_client_is_there() {
    let t0 = Instant::now();
    let mut s = InterviewSession::new("iv", quiet_config(Duration::from_secs(300)), t0);
    assert!(s.wants_model());
    assert_eq!(s.model_seed(), None);
    s.handle_model_connecting(t0);
    assert!(!s.wants_model(), "asked for once");

    // A resumed interview waits for its client, and seeds the model with what was said.
    let entries = vec![entry(0, Speaker::Ai, 0, 5_000)];
    let mut r = InterviewSession::resume_stored(
        "iv",
        quiet_config(Duration::from_secs(300)),
        entries.clone(),
        0,
        0,
        t0,
    );
    assert!(!r.wants_model(), "nobody connected yet");
    r.handle_client_attached(t0).unwrap();
    assert!(r.wants_model());
    assert_eq!(r.model_seed(), Some(&entries[..]));
    // Ready without being asked (a connection made up front): not wanted any more.
    r.handle_model(ModelEvent::SetupComplete, t0).unwrap();
    assert!(!r.wants_model());

    // Ended before it was asked for: not wanted.
    let mut e = InterviewSession::new("iv", quiet_config(Duration::from_secs(300)), t0);
    e.handle_shutdown(t0);
    assert!(!e.wants_model());
}

#[test]
fn a_silent_client_is_detached_at_the_limit() {
    let t0 = Instant::now();
    let limit = Duration::from_secs(15);
    let config = quiet_config(Duration::from_secs(600)).with_client_silence_limit(limit);
    let mut s = InterviewSession::new("iv", config, t0);
    // Before the model is ready only the setup deadline counts.
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(45)));
    let started = t0 + Duration::from_secs(3);
    s.handle_model(ModelEvent::SetupComplete, started).unwrap();
    assert_eq!(s.poll_timeout(), Some(started + limit));
    let heard = started + Duration::from_secs(10);
    s.handle_client_heard(heard);
    assert_eq!(s.poll_timeout(), Some(heard + limit));
    events(&mut s);

    s.handle_timeout(heard + limit - Duration::from_millis(1));
    assert!(s.is_client_attached());
    assert!(events(&mut s).is_empty());

    s.handle_timeout(heard + limit);
    assert!(!s.is_client_attached());
    assert!(!s.is_ended(), "the grace period starts");
    assert_eq!(
        events(&mut s),
        vec![
            SessionEvent::ClientSilent { silent_ms: 15_000 },
            SessionEvent::ClientDetached
        ]
    );
    // The grace period is the next deadline, and ends the interview.
    let grace_end = heard + limit + Duration::from_secs(60);
    assert_eq!(s.poll_timeout(), Some(grace_end));
    s.handle_timeout(grace_end);
    assert_eq!(s.end_reason(), Some(&EndReason::ClientGone));
}

#[test]
fn a_reattached_client_gets_a_fresh_silence_deadline() {
    let t0 = Instant::now();
    let limit = Duration::from_secs(15);
    let config = quiet_config(Duration::from_secs(600)).with_client_silence_limit(limit);
    let mut s = InterviewSession::new("iv", config, t0);
    s.handle_model(ModelEvent::SetupComplete, t0).unwrap();
    // The socket closed: no silence deadline while nobody is attached, only the grace.
    s.handle_client_detached(t0 + Duration::from_secs(2));
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(62)));
    s.handle_client_heard(t0 + Duration::from_secs(3));
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(62)));
    let back = t0 + Duration::from_secs(20);
    s.handle_client_attached(back).unwrap();
    assert_eq!(s.poll_timeout(), Some(back + limit));
}

#[test]
fn no_silence_limit_never_detaches() {
    let t0 = Instant::now();
    let mut s = InterviewSession::new("iv", quiet_config(Duration::from_secs(600)), t0);
    s.handle_model(ModelEvent::SetupComplete, t0).unwrap();
    let limit_end = t0 + Duration::from_secs(600);
    assert_eq!(s.poll_timeout(), Some(limit_end));
    s.handle_timeout(limit_end - Duration::from_secs(1));
    assert!(s.is_client_attached());
}

#[test]
fn a_new_resumable_handle_is_offered_for_storage_once() {
    let t0 = Instant::now();
    let mut s = InterviewSession::new("iv", quiet_config(Duration::from_secs(600)), t0);
    s.handle_model(ModelEvent::SetupComplete, t0).unwrap();
    persisted(&mut s);
    let update = |handle: &str, resumable| ModelEvent::ResumptionUpdate {
        handle: handle.to_owned(),
        resumable,
    };
    s.handle_model(update("h1", true), t0).unwrap();
    assert_eq!(
        persisted(&mut s),
        vec![PersistAction::ResumptionHandle("h1".to_owned())]
    );
    s.handle_model(update("h1", true), t0).unwrap();
    s.handle_model(update("h2", false), t0).unwrap();
    s.handle_model(update("", true), t0).unwrap();
    assert!(
        persisted(&mut s).is_empty(),
        "unchanged, not resumable or empty"
    );
    s.handle_model(update("h2", true), t0).unwrap();
    assert_eq!(
        persisted(&mut s),
        vec![PersistAction::ResumptionHandle("h2".to_owned())]
    );
}
