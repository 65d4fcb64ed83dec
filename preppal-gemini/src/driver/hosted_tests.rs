//! The driver as a host runs it (the bundled server's worker does): the model connected
//! through a [`ConnectModel`] when the session asks, hooks that gate and watch, outside
//! signals, dismissed connections, and storage that is slow. Its candidate connection and
//! simulator helpers serve the other driver tests too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::mpsc as fmpsc;
use futures::StreamExt as _;
use preppal_core::codec::{self, ClientMessage};
use preppal_core::proto::model_status::State as ModelState;
use preppal_core::proto::server_to_client_message::Message as M;
use preppal_core::{EndReason, InterviewSession, SessionConfig, Speaker, TranscriptEntry};

use super::*;
use crate::simulator::{Simulator, SimulatorConfig, SimulatorHandle, SpeechMode};
use crate::{interviewer_instruction, LiveConfig, ReconnectPolicy};

const LIMIT: Duration = Duration::from_secs(30);

pub(super) type Conn = Duplex<fmpsc::UnboundedReceiver<ClientFrame>, fmpsc::UnboundedSender<Bytes>>;

/// The candidate's ends of one client connection.
pub(super) struct Candidate {
    tx: fmpsc::UnboundedSender<ClientFrame>,
    rx: fmpsc::UnboundedReceiver<Bytes>,
}

pub(super) fn connection() -> (Candidate, Conn) {
    let (tx, from) = fmpsc::unbounded();
    let (to, rx) = fmpsc::unbounded();
    (Candidate { tx, rx }, Duplex::new(from, to))
}

impl Candidate {
    pub(super) fn send(&self, msg: &ClientMessage) {
        self.send_frame(ClientFrame::Binary(codec::encode_client(msg)));
    }

    fn send_frame(&self, frame: ClientFrame) {
        self.tx.unbounded_send(frame).unwrap();
    }

    pub(super) async fn until(&mut self, done: impl Fn(&M) -> bool) -> M {
        loop {
            let frame = tokio::time::timeout(LIMIT, self.rx.next())
                .await
                .expect("a server message in time")
                .expect("the connection is open");
            let msg = codec::decode_server(frame).unwrap();
            if done(&msg) {
                return msg;
            }
        }
    }
}

pub(super) fn greeting_done(m: &M) -> bool {
    matches!(m, M::TranscriptUpdate(u) if u.speaker == "AI" && u.turn_complete)
}

fn error_code(m: &M) -> Option<i32> {
    match m {
        M::ErrorResponse(e) => Some(e.code),
        _ => None,
    }
}

pub(super) async fn simulator() -> SimulatorHandle {
    Simulator::start(
        SimulatorConfig::default()
            .with_voice(SpeechMode::Silence)
            .with_hold_turn_for_playback(false),
    )
    .await
    .unwrap()
}

/// Connects to the simulator, recording the seed of each connection it is asked for.
struct SimConnector {
    url: String,
    seeds: Mutex<Vec<Option<usize>>>,
}

impl ConnectModel for SimConnector {
    fn connect(&self, seed: Option<Vec<TranscriptEntry>>, mut on_retry: RetryNote) -> Connecting {
        self.seeds.lock().unwrap().push(seed.as_ref().map(Vec::len));
        let instruction = interviewer_instruction("", "Rust engineer", "Jo");
        let config = LiveConfig::new("key", instruction).with_endpoint(self.url.clone());
        Box::pin(async move {
            let policy = ReconnectPolicy::default();
            match seed {
                Some(entries) => {
                    ResilientSession::connect_seeded_observed(
                        config,
                        policy,
                        &entries,
                        &mut *on_retry,
                    )
                    .await
                }
                None => ResilientSession::connect_observed(config, policy, &mut *on_retry).await,
            }
        })
    }
}

fn connector(sim: &SimulatorHandle) -> Arc<SimConnector> {
    Arc::new(SimConnector {
        url: sim.url(),
        seeds: Mutex::new(Vec::new()),
    })
}

fn config() -> SessionConfig {
    SessionConfig::new(Duration::from_secs(600)).with_reconnect_grace(Duration::from_secs(30))
}

/// Hooks that refuse typed answers past the first with a 429 and record what they see.
#[derive(Clone, Default)]
struct Recorder {
    texts: Arc<Mutex<usize>>,
    dismissed: Arc<Mutex<Vec<Dismissal>>>,
    lost: Arc<Mutex<Vec<ClientLost>>>,
}

impl DriverHooks<Conn> for Recorder {
    fn admit(&mut self, msg: &ClientMessage, _now: Instant) -> Admission {
        if !matches!(msg, ClientMessage::Text(_)) {
            return Admission::Accept;
        }
        let mut texts = self.texts.lock().unwrap();
        *texts += 1;
        if *texts > 1 {
            Admission::Refuse {
                code: 429,
                message: "one typed answer in this test".into(),
            }
        } else {
            Admission::Accept
        }
    }

    fn note(&mut self, note: DriverNote<'_>) {
        if let DriverNote::ClientLost { why, .. } = note {
            self.lost.lock().unwrap().push(why);
        }
    }

    fn dismiss(&mut self, client: Conn, why: Dismissal) {
        self.dismissed.lock().unwrap().push(why);
        drop(client);
    }
}

fn no_storage(_: PersistAction) -> std::future::Ready<Result<(), std::convert::Infallible>> {
    std::future::ready(Ok(()))
}

#[tokio::test]
async fn the_model_is_connected_when_asked_and_the_candidate_is_told() {
    let sim = simulator().await;
    let models = connector(&sim);
    let (mut c, conn) = connection();
    let session = InterviewSession::new("iv-connect", config(), Instant::now());
    let run = tokio::spawn(
        InterviewDriver::connecting(session, models.clone())
            .with_client(conn)
            .run(no_storage),
    );
    let status =
        |want: ModelState| move |m: &M| matches!(m, M::ModelStatus(s) if s.state == want as i32);
    c.until(status(ModelState::Connecting)).await;
    c.until(status(ModelState::Connected)).await;
    c.until(|m| matches!(m, M::SessionStarted(_))).await;
    c.until(greeting_done).await;
    c.send(&ClientMessage::End);
    let outcome = tokio::time::timeout(LIMIT, run).await.unwrap().unwrap();
    assert_eq!(outcome.session.end_reason(), Some(&EndReason::UserEnded));
    assert_eq!(
        *models.seeds.lock().unwrap(),
        [None],
        "one fresh connection"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_resumed_interview_waits_for_its_client_then_seeds_the_model() {
    let sim = simulator().await;
    let models = connector(&sim);
    let stored = vec![TranscriptEntry {
        sequence: 0,
        speaker: Speaker::Ai,
        text: "Tell me about a service you built.".into(),
        start_ms: 0,
        end_ms: 2_000,
        interrupted: false,
        heard_text: None,
    }];
    let session = InterviewSession::resume(
        "iv-resume",
        config(),
        stored,
        Duration::from_secs(60),
        Instant::now(),
    );
    let mut driver = InterviewDriver::connecting(session, models.clone())
        .with_client_loss(ClientLoss::AwaitRejoin);
    let rejoin = driver.rejoin();
    let run = tokio::spawn(driver.run(no_storage));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        models.seeds.lock().unwrap().is_empty(),
        "no model before a candidate is there"
    );
    let (mut c, conn) = connection();
    rejoin.attach(conn).map_err(|_| ()).unwrap();
    let resumed = c.until(|m| matches!(m, M::SessionResumed(_))).await;
    let M::SessionResumed(resumed) = resumed else {
        unreachable!()
    };
    assert_eq!(resumed.transcript.len(), 1, "the stored entry");
    assert_eq!(*models.seeds.lock().unwrap(), [Some(1)], "seeded with it");
    c.send(&ClientMessage::End);
    let outcome = tokio::time::timeout(LIMIT, run).await.unwrap().unwrap();
    assert_eq!(outcome.session.end_reason(), Some(&EndReason::UserEnded));
    sim.shutdown().await;
}

#[tokio::test]
async fn refused_frames_get_typed_errors_and_the_interview_goes_on() {
    let sim = simulator().await;
    let hooks = Recorder::default();
    let (mut c, conn) = connection();
    let session = InterviewSession::new("iv-refuse", config(), Instant::now());
    let run = tokio::spawn(
        InterviewDriver::connecting(session, connector(&sim))
            .with_hooks(hooks.clone())
            .with_client(conn)
            .run(no_storage),
    );
    c.until(greeting_done).await;
    c.send_frame(ClientFrame::Binary(Bytes::from_static(b"\xff\xff\xff")));
    assert_eq!(
        error_code(&c.until(|m| error_code(m).is_some()).await),
        Some(400)
    );
    c.send_frame(ClientFrame::Text);
    assert_eq!(
        error_code(&c.until(|m| error_code(m).is_some()).await),
        Some(400)
    );
    c.send(&ClientMessage::Text("I write Rust services.".into()));
    c.until(greeting_done).await;
    c.send(&ClientMessage::Text("And a second one.".into()));
    assert_eq!(
        error_code(&c.until(|m| error_code(m).is_some()).await),
        Some(429)
    );
    c.send(&ClientMessage::End);
    let outcome = tokio::time::timeout(LIMIT, run).await.unwrap().unwrap();
    let users: Vec<&str> = outcome
        .session
        .transcript()
        .entries()
        .iter()
        .filter(|e| e.speaker == Speaker::User)
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(
        users,
        ["I write Rust services."],
        "the refused answer is not kept"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_second_client_is_dismissed_while_the_first_is_attached() {
    let sim = simulator().await;
    let hooks = Recorder::default();
    let (mut first, conn) = connection();
    let session = InterviewSession::new("iv-race", config(), Instant::now());
    let mut driver = InterviewDriver::connecting(session, connector(&sim))
        .with_hooks(hooks.clone())
        .with_client_loss(ClientLoss::AwaitRejoin)
        .with_client(conn);
    let rejoin = driver.rejoin();
    let run = tokio::spawn(driver.run(no_storage));
    first.until(greeting_done).await;
    let (mut second, conn) = connection();
    rejoin.attach(conn).map_err(|_| ()).unwrap();
    // The dismissed connection is dropped: its stream of server frames ends.
    let ended = tokio::time::timeout(LIMIT, second.rx.next()).await.unwrap();
    assert!(
        ended.is_none(),
        "the second connection is closed unanswered"
    );
    assert_eq!(
        *hooks.dismissed.lock().unwrap(),
        [Dismissal::AlreadyConnected]
    );
    first.send(&ClientMessage::End);
    let outcome = tokio::time::timeout(LIMIT, run).await.unwrap().unwrap();
    assert_eq!(outcome.session.end_reason(), Some(&EndReason::UserEnded));
    assert!(
        outcome.client.is_some(),
        "the first client comes back to be closed"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn shutdown_ends_the_interview_and_abandon_leaves_it_unfinished() {
    let sim = simulator().await;
    for (signal, ended) in [(Signal::Shutdown, true), (Signal::Abandon, false)] {
        let (mut c, conn) = connection();
        let (signals, signal_rx) = fmpsc::unbounded();
        let stored = Arc::new(Mutex::new(Vec::new()));
        let sink = stored.clone();
        let session = InterviewSession::new("iv-signal", config(), Instant::now());
        let run = tokio::spawn(
            InterviewDriver::connecting(session, connector(&sim))
                .with_signals(signal_rx)
                .with_client(conn)
                .run(move |action| {
                    sink.lock().unwrap().push(action);
                    std::future::ready(Ok::<(), std::convert::Infallible>(()))
                }),
        );
        c.until(greeting_done).await;
        signals.unbounded_send(signal).unwrap();
        let outcome = tokio::time::timeout(LIMIT, run).await.unwrap().unwrap();
        let finished = stored
            .lock()
            .unwrap()
            .iter()
            .any(|a| matches!(a, PersistAction::Finish { .. }));
        assert_eq!(outcome.session.is_ended(), ended, "{signal:?}");
        assert_eq!(finished, ended, "{signal:?}: the end stored or not");
        assert_eq!(outcome.abandoned, !ended, "{signal:?}");
        if ended {
            assert_eq!(
                outcome.session.end_reason(),
                Some(&EndReason::ServerShutdown)
            );
        }
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn storage_takes_actions_one_at_a_time_in_order_and_holds_no_frame() {
    let sim = simulator().await;
    let (mut c, conn) = connection();
    // The first action (the status) is stored only once the test has seen the greeting:
    // a driver that waited for storage before relaying would never show it. `busy` catches
    // two actions in flight at once.
    let gate = Arc::new(tokio::sync::Notify::new());
    let log = Arc::new(Mutex::new(Vec::new()));
    let busy = Arc::new(Mutex::new(false));
    let (gate2, log2, busy2) = (gate.clone(), log.clone(), busy.clone());
    let session = InterviewSession::new("iv-slow", config(), Instant::now());
    let run = tokio::spawn(
        InterviewDriver::connecting(session, connector(&sim))
            .with_client(conn)
            .run(move |action| {
                let (gate, log, busy) = (gate2.clone(), log2.clone(), busy2.clone());
                async move {
                    assert!(!std::mem::replace(&mut *busy.lock().unwrap(), true));
                    let first = log.lock().unwrap().is_empty();
                    if first {
                        gate.notified().await;
                    } else {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    log.lock().unwrap().push(format!("{action:?}"));
                    *busy.lock().unwrap() = false;
                    Ok::<(), std::convert::Infallible>(())
                }
            }),
    );
    c.until(greeting_done).await;
    assert!(log.lock().unwrap().is_empty(), "nothing stored yet");
    gate.notify_one();
    c.send(&ClientMessage::Text("I write Rust services.".into()));
    c.until(greeting_done).await;
    c.send(&ClientMessage::End);
    c.until(|m| matches!(m, M::SessionEnded(_))).await;
    let outcome = tokio::time::timeout(LIMIT, run).await.unwrap().unwrap();
    assert!(outcome.session.is_ended());
    let log = log.lock().unwrap().clone();
    assert!(
        log.first().is_some_and(|a| a.starts_with("Status")),
        "the status first: {log:?}"
    );
    assert!(
        log.last().is_some_and(|a| a.starts_with("Finish")),
        "every action stored before the driver returned, the end last: {log:?}"
    );
    sim.shutdown().await;
}
