//! The driver against the simulator, with in-memory client streams: the client-loss
//! policies and a rejoin.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use bytes::Bytes;
use futures::channel::mpsc as fmpsc;
use preppal_core::codec::ClientMessage;
use preppal_core::proto::server_to_client_message::Message as M;
use preppal_core::{EndReason, InterviewSession, InterviewStatus, SessionConfig, Speaker};

use super::hosted_tests::{connection, greeting_done, simulator};
use super::*;
use crate::{interviewer_instruction, LiveConfig, ReconnectPolicy};

const LIMIT: Duration = Duration::from_secs(30);

async fn driver<C>(grace: Duration) -> (crate::simulator::SimulatorHandle, InterviewDriver<C>) {
    let sim = simulator().await;
    let instruction = interviewer_instruction("", "Rust engineer", "Jo");
    let config = LiveConfig::new("key", instruction).with_endpoint(sim.url());
    let live = ResilientSession::connect(config, ReconnectPolicy::default())
        .await
        .unwrap();
    let session = InterviewSession::new(
        "iv-driver",
        SessionConfig::new(Duration::from_secs(600)).with_reconnect_grace(grace),
        Instant::now(),
    );
    (sim, InterviewDriver::new(session, live))
}

#[tokio::test]
async fn a_lost_client_ends_the_interview_by_default() {
    let (sim, driver) = driver(Duration::from_secs(30)).await;
    let (mut c, conn) = connection();
    let run = tokio::spawn(
        driver
            .with_client(conn)
            .run(|_| async { Ok::<(), std::convert::Infallible>(()) }),
    );
    c.until(greeting_done).await;
    drop(c);
    let session = tokio::time::timeout(LIMIT, run)
        .await
        .unwrap()
        .unwrap()
        .session;
    assert_eq!(session.end_reason(), Some(&EndReason::ClientGone));
    assert_eq!(session.status(), InterviewStatus::Completed);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_rejoined_client_resumes_the_interview_and_ends_it() {
    let (sim, driver) = driver(Duration::from_secs(30)).await;
    let (mut first, conn) = connection();
    let mut driver = driver
        .with_client_loss(ClientLoss::AwaitRejoin)
        .with_client(conn);
    let rejoin = driver.rejoin();
    let stored = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = stored.clone();
    let run = tokio::spawn(driver.run(move |action| {
        sink.lock().unwrap().push(action);
        std::future::ready(Ok::<(), std::convert::Infallible>(()))
    }));
    first.until(greeting_done).await;
    drop(first);
    // The interview waits: a new connection gets the transcript so far.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!run.is_finished(), "the interview waits for a rejoin");
    let (mut second, conn) = connection();
    rejoin.attach(conn).map_err(|_| ()).unwrap();
    let resumed = second.until(|m| matches!(m, M::SessionResumed(_))).await;
    let M::SessionResumed(resumed) = resumed else {
        unreachable!()
    };
    assert_eq!(resumed.transcript.len(), 1, "the greeting");
    second.send(&ClientMessage::Text("I write Rust services.".into()));
    second.until(greeting_done).await;
    second.send(&ClientMessage::End);
    let session = tokio::time::timeout(LIMIT, run)
        .await
        .unwrap()
        .unwrap()
        .session;
    assert_eq!(session.end_reason(), Some(&EndReason::UserEnded));
    let speakers: Vec<Speaker> = session
        .transcript()
        .entries()
        .iter()
        .map(|e| e.speaker)
        .collect();
    assert_eq!(speakers, [Speaker::Ai, Speaker::User, Speaker::Ai]);
    let finished = stored
        .lock()
        .unwrap()
        .iter()
        .any(|a| matches!(a, PersistAction::Finish { .. }));
    assert!(finished, "the end was handed to storage");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_counts_as_gone() {
    let (sim, driver) = driver(Duration::from_secs(30)).await;
    // Frames in stay open; frames out go to a channel nobody reads, which takes one frame
    // and then makes no more progress.
    let (_keep_open, from) = fmpsc::unbounded::<Bytes>();
    let (to, _never_read) = fmpsc::channel::<Bytes>(0);
    let started = Instant::now();
    let run = tokio::spawn(
        driver
            .with_client_write_timeout(Duration::from_millis(300))
            .with_client(Duplex::new(from, to))
            .run(|_| async { Ok::<(), std::convert::Infallible>(()) }),
    );
    let session = tokio::time::timeout(LIMIT, run)
        .await
        .unwrap()
        .unwrap()
        .session;
    assert_eq!(session.end_reason(), Some(&EndReason::ClientGone));
    assert!(started.elapsed() < LIMIT);
    sim.shutdown().await;
}
