//! Interviews that outlive their Gemini Live connections, through the server, with the
//! command-line client holding a whole text interview over one WebSocket:
//!
//! - an external simulator sends `goAway` every 3 s and closes with 1011 2 s later;
//! - the simulator stalls mid-line (socket open, no output): the stall watchdog moves to a
//!   new connection, resumed with the session's handle, and the candidate's socket stays
//!   open throughout. The recovery time is printed, not asserted.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{free_port, interview_args};
use preppal_examples::cli::hold_interview;
use preppal_examples::cli::report::InterviewReport;
use preppal_examples::server::{spawn, ServeArgs};
use preppal_gemini::simulator::{
    Fault, FaultTrigger, Simulator, SimulatorConfig, SimulatorHandle, SpeechMode, DEADLINE_EXPIRED,
};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};

const ANSWERS: [&str; 5] = [
    "I rewrote the tracking fan-out service in Rust.",
    "We measured first, then rewrote the hot path.",
    "Bounded queues and backpressure, end to end.",
    "I ran the incident review and wrote the runbook.",
    "I want to own the realtime platform's reliability.",
];

/// A loopback TCP proxy to `127.0.0.1:port` that counts the interview WebSockets opened
/// through it (HTTP requests for `/interview/...`).
struct CountingProxy {
    port: u16,
    sockets: Arc<AtomicUsize>,
}

impl CountingProxy {
    async fn start(to: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sockets = Arc::new(AtomicUsize::new(0));
        let counted = sockets.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let counted = counted.clone();
                tokio::spawn(async move {
                    let mut head = [0u8; 32];
                    let wanted = b"GET /interview/".len();
                    let mut n = 0;
                    for _ in 0..100 {
                        n = inbound.peek(&mut head).await.unwrap_or(0);
                        if n == 0 || n >= wanted {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    if head[..n].starts_with(b"GET /interview/") {
                        counted.fetch_add(1, Ordering::SeqCst);
                    }
                    let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", to)).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
            }
        });
        Self { port, sockets }
    }
}

/// Holds a text interview with the command-line client against `preppal serve` (through a
/// [`CountingProxy`]) whose model is `sim`; returns the report and how many interview
/// WebSockets the client opened.
async fn hold_through_server(sim: &SimulatorHandle) -> (InterviewReport, usize) {
    let data = tempfile::tempdir().unwrap();
    // The proxy is the server's public origin, so the token replies' ws_url point at it.
    let port = free_port();
    let proxy = CountingProxy::start(port).await;
    let mut args = ServeArgs::offline(
        format!("127.0.0.1:{port}").parse().unwrap(),
        data.path().to_path_buf(),
    );
    args.gemini.url = Some(sim.url());
    args.public_url = Some(format!("http://127.0.0.1:{}", proxy.port));
    let server = spawn(&args).await.unwrap();

    let answers = data.path().join("answers.txt");
    std::fs::write(&answers, ANSWERS.join("\n")).unwrap();
    let args = interview_args(
        &format!("http://127.0.0.1:{}", proxy.port),
        &["--answers", &answers.display().to_string(), "--json"],
    );
    let report = hold_interview(&args).await.unwrap();
    server.stop();
    (report, proxy.sockets.load(Ordering::SeqCst))
}

/// The report is COMPLETED with the interviewer and the candidate taking turns, every
/// answer once and in order, no line asked twice; the simulator heard each answer once,
/// in order, and every connection after the first resumed with a handle.
fn check_report(report: &InterviewReport, sim: &SimulatorHandle) {
    assert_eq!(report.status, "COMPLETED", "{report:?}");
    let t = &report.transcript;
    let users: Vec<&str> = t
        .iter()
        .filter(|e| e.speaker == "USER")
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(users, ANSWERS, "{t:?}");
    assert_eq!(t.len(), 2 * ANSWERS.len() + 1, "{t:?}");
    for (i, e) in t.iter().enumerate() {
        assert_eq!(e.speaker, if i % 2 == 0 { "AI" } else { "USER" }, "{t:?}");
        assert!(!e.text.trim().is_empty(), "{t:?}");
    }
    let questions: HashSet<&str> = t
        .iter()
        .filter(|e| e.speaker == "AI")
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(
        questions.len(),
        ANSWERS.len() + 1,
        "no repeated line: {t:?}"
    );
    for w in t.windows(2) {
        assert!(w[0].start_ms <= w[1].start_ms, "{t:?}");
    }

    // A socket that closed before its first message (a dial abandoned mid-switch) carries
    // no setup; the connections that spoke after the first must all have resumed.
    let recorded: Vec<_> = sim
        .recorded()
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect();
    assert!(recorded.len() >= 2, "{} connections", recorded.len());
    for connection in &recorded[1..] {
        let handle = &connection[0]["setup"]["sessionResumption"]["handle"];
        assert!(handle.as_str().is_some_and(|h| !h.is_empty()), "{handle}");
    }
    // Each answer reached the model in order. One sent after the last resumption handle
    // that covers it is sent again, first thing, on the connection resumed from that
    // handle (the resumed session never heard it): a repeat is only ever that.
    let texts = |c: &Vec<Value>| -> Vec<String> {
        c.iter()
            .filter_map(|m| m.pointer("/realtimeInput/text").and_then(Value::as_str))
            .map(str::to_owned)
            .collect()
    };
    let mut sent: Vec<String> = Vec::new();
    for connection in &recorded {
        for (i, text) in texts(connection).into_iter().enumerate() {
            if sent.last() == Some(&text) {
                assert_eq!(i, 0, "{text:?} repeated mid-connection");
                continue;
            }
            sent.push(text);
        }
    }
    assert_eq!(sent, ANSWERS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interview_survives_go_away_every_3_s_and_close_1011_2_s_later() {
    let sim = Simulator::start(
        SimulatorConfig::default()
            .with_voice(SpeechMode::Silence)
            .with_go_away_every(Duration::from_secs(3))
            .with_go_away_close_after(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let (report, sockets) = hold_through_server(&sim).await;
    check_report(&report, &sim);
    assert_eq!(
        sockets, 1,
        "the candidate's socket carried the whole interview"
    );
    // The simulator never had to close a connection for its deadline.
    let closes = sim.server_closes();
    assert!(
        !closes.iter().any(|(_, _, r)| r == DEADLINE_EXPIRED),
        "{closes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_model_connection_is_replaced_and_the_interview_completes() {
    // The first connection goes silent, socket open, right after the first audio of the
    // third question (after the second answer). Turns are not held for playback, so the
    // stall timeout is most of the test's time.
    let sim = Simulator::start(
        SimulatorConfig::default()
            .with_voice(SpeechMode::Silence)
            .with_hold_turn_for_playback(false)
            .with_fault(FaultTrigger::DuringLine(2), Fault::Stall),
    )
    .await
    .unwrap();
    let heard = |sim: &SimulatorHandle| {
        sim.recorded()
            .iter()
            .flatten()
            .filter(|m| m.pointer("/realtimeInput/text").is_some())
            .count()
    };
    // Times the stall from the outside: it begins when the second answer reaches the model
    // (the stalled line is generated right after it) and ends when the watchdog's new
    // connection is accepted.
    let watch = async {
        let mut stalled_at = None;
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(180) {
            if stalled_at.is_none() && heard(&sim) >= 2 {
                stalled_at = Some(Instant::now());
            }
            if let Some(at) = stalled_at {
                if sim.connections() >= 2 {
                    return Some(at.elapsed());
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    };
    let t0 = Instant::now();
    let ((report, sockets), switched_after) = tokio::join!(hold_through_server(&sim), watch);
    let total = t0.elapsed();

    // The line cut by the stall was shown as far as it had come (the candidate heard that
    // much), and the resumed session said it again in full, right after: the cut part is
    // kept as its own entry, a strict prefix of the line that follows it.
    let mut report = report;
    let t = &report.transcript;
    let cuts: Vec<usize> = (1..t.len())
        .filter(|&i| t[i - 1].speaker == "AI" && t[i].speaker == "AI")
        .map(|i| i - 1)
        .collect();
    assert_eq!(cuts.len(), 1, "one cut line: {t:?}");
    let (cut, again) = (&t[cuts[0]], &t[cuts[0] + 1]);
    assert!(
        again.text.starts_with(cut.text.trim()) && cut.text.trim().len() < again.text.len(),
        "{cut:?} then {again:?}"
    );
    report.transcript.remove(cuts[0]);
    check_report(&report, &sim);
    assert_eq!(
        sockets, 1,
        "the candidate's socket stayed open through the stall"
    );
    // The stalled connection was left by the client: the simulator never closed it.
    assert!(sim.connections() >= 2, "{}", sim.connections());
    let closes = sim.server_closes();
    assert!(!closes.iter().any(|(c, _, _)| *c == 0), "{closes:?}");
    let switched_after = switched_after.expect("a new connection after the stall");
    eprintln!(
        "model stall: the watchdog's new connection was accepted {switched_after:?} after the stall began (stall timeout 15 s); the whole interview took {total:?}"
    );
}
