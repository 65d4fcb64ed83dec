//! `preppal loadtest`: many live interviews at once on loopback, measured against the floor.
//!
//! A run has two phases, one after the other, measured the same way:
//!
//! 1. **Preppal.** A model peer (`preppal loadtest-peer`: a lean Gemini Live peer,
//!    [`peer`]) and a server (`preppal serve` on a fresh
//!    SQLite database, `PREPPAL_GEMINI_URL` at the peer) start as child processes, unless
//!    `--server` names a running server. This process opens N interviews like the
//!    command-line client does (dev sign-in, `interview.createSession`,
//!    `interview.generateWorkerToken`, the interview WebSocket, `SessionStarted`), then
//!    streams candidate audio at real-time pace in `--frame-ms` frames on all of them while
//!    the peer answers every 100 ms of audio with a 100 ms chunk of 24 kHz audio and a
//!    transcript fragment.
//! 2. **The floor.** The same frames at the same rates through `preppal loadtest-relay`, a
//!    plain TCP relay that only copies length-prefixed frames and does the base64 both ways
//!    ([`floor`]), to a peer that answers the same way.
//!
//! For each phase it reports the relay process's CPU (`utime` + `stime` from
//! `/proc/<pid>/stat`) per interview-second over the steady part of the run (after a warm-up
//! of a fifth of it, 0.5 to 3 s), its resident memory increase (`VmRSS`) per interview,
//! the one-way latencies of candidate frames to the peer and of model chunks to the client
//! (from timestamps inside the audio, [`peer`]), frames per
//! second, errors, and whether every interview kept real-time pace
//! ([`client::ClientStats::kept_realtime`]). The load generator runs in this process, the
//! server, the relay and the peers each in their own.

pub mod client;
pub mod floor;
pub mod part;
pub mod peer;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::procstat::{self, CpuTime};
use client::{ClientStats, Schedule, Target};
use part::{Part, TempDir};

/// Arguments of `preppal loadtest`.
#[derive(clap::Args, Debug, Clone)]
pub struct LoadtestArgs {
    /// Live interviews to hold at once.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub sessions: u32,

    /// How long to stream, in seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(2..=3_600))]
    pub seconds: u64,

    /// Candidate audio frame length, in ms (16 000 Hz PCM16LE: 32 bytes per ms). The
    /// browser and the command-line client send 40 ms frames.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(10..=200))]
    pub frame_ms: u32,

    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Target a running server at this base URL instead of starting one. Its interviewer
    /// must be a load peer (`preppal loadtest-peer`, via `PREPPAL_GEMINI_URL`); its CPU and
    /// memory are measured only with `--server-pid`.
    #[arg(long)]
    pub server: Option<String>,

    /// The process id of the `--server`, for its CPU and memory figures.
    #[arg(long, requires = "server")]
    pub server_pid: Option<u32>,

    /// Skip the floor phase.
    #[arg(long)]
    pub no_floor: bool,

    /// Interviews being set up at once.
    #[arg(long, default_value_t = 32)]
    pub setup_concurrency: u32,
}

/// Arguments of `preppal loadtest-peer` (a part of `preppal loadtest`).
#[derive(clap::Args, Debug, Clone)]
pub struct PeerArgs {
    /// Serve the floor's length-prefixed TCP instead of the Gemini Live protocol.
    #[arg(long)]
    pub floor: bool,
}

/// Arguments of `preppal loadtest-relay` (a part of `preppal loadtest`).
#[derive(clap::Args, Debug, Clone)]
pub struct RelayArgs {
    /// The floor peer's address.
    #[arg(long)]
    pub peer: std::net::SocketAddr,
}

/// `preppal loadtest-peer`: prints `listening <url or address>` and serves until killed.
///
/// # Errors
/// The listener cannot be bound.
pub async fn run_peer(args: PeerArgs) -> anyhow::Result<()> {
    use std::io::Write as _;
    if args.floor {
        let (listener, addr) = floor::bind_loopback().await?;
        println!("listening {addr}");
        std::io::stdout().flush()?;
        floor::run_peer(listener).await;
    } else {
        let peer = peer::LoadPeer::start().await?;
        println!("listening {}", peer.url());
        std::io::stdout().flush()?;
        std::future::pending::<()>().await;
    }
    Ok(())
}

/// `preppal loadtest-relay`: prints `listening <address>` and relays until killed.
///
/// # Errors
/// The listener cannot be bound.
pub async fn run_relay(args: RelayArgs) -> anyhow::Result<()> {
    use std::io::Write as _;
    let (listener, addr) = floor::bind_loopback().await?;
    println!("listening {addr}");
    std::io::stdout().flush()?;
    floor::run_relay(listener, args.peer).await;
    Ok(())
}

/// What one phase measured.
#[derive(Debug, Default)]
pub struct PhaseReport {
    /// Interviews that were set up and streamed.
    pub sessions_streaming: u64,
    /// Interviews that kept real-time pace.
    pub sessions_kept_realtime: u64,
    /// Relay CPU over the measured window, when its process is known.
    pub cpu: Option<CpuTime>,
    /// Length of the measured window, s.
    pub window_s: f64,
    /// Relay resident memory before the interviews and at the end of the window, bytes.
    pub rss: Option<(u64, u64)>,
    /// Candidate frames sent, model chunks received, transcript updates received.
    pub frames_up: u64,
    /// Model chunks received.
    pub chunks_down: u64,
    /// Transcript updates received.
    pub transcript_updates: u64,
    /// Sorted latencies, µs.
    pub up_us: Vec<u32>,
    /// Sorted latencies, µs.
    pub down_us: Vec<u32>,
    /// Every error, in client order.
    pub errors: Vec<String>,
    /// Largest send lateness of any client, ms.
    pub max_send_lateness_ms: f64,
}

impl PhaseReport {
    /// CPU ms per interview-second: window CPU / (interviews × window seconds).
    pub fn cpu_ms_per_interview_second(&self, sessions: u32) -> Option<f64> {
        self.cpu
            .map(|c| c.total_ms() / (f64::from(sessions) * self.window_s))
    }

    /// Resident memory increase per interview, bytes.
    pub fn rss_bytes_per_interview(&self, sessions: u32) -> Option<f64> {
        self.rss
            .map(|(before, after)| (after as f64 - before as f64) / f64::from(sessions))
    }

    fn to_json(&self, args: &LoadtestArgs) -> Value {
        let mut all: Vec<u32> = self.up_us.iter().chain(&self.down_us).copied().collect();
        all.sort_unstable();
        let n = f64::from(args.sessions);
        json!({
            "kept_realtime": self.sessions_kept_realtime == u64::from(args.sessions),
            "sessions_kept_realtime": self.sessions_kept_realtime,
            "cpu_ms_per_interview_second": self.cpu_ms_per_interview_second(args.sessions),
            "cpu_user_ms": self.cpu.map(|c| c.user_ms),
            "cpu_system_ms": self.cpu.map(|c| c.system_ms),
            "window_seconds": self.window_s,
            "rss_bytes_per_interview": self.rss_bytes_per_interview(args.sessions),
            "rss_bytes_before": self.rss.map(|r| r.0),
            "rss_bytes_after": self.rss.map(|r| r.1),
            "latency_ms": {
                "p50": percentile_ms(&all, 0.50),
                "p99": percentile_ms(&all, 0.99),
                "max": percentile_ms(&all, 1.0),
                "up": latency_json(&self.up_us),
                "down": latency_json(&self.down_us),
            },
            "frames_per_second": {
                "up": self.frames_up as f64 / args.seconds as f64,
                "down": self.chunks_down as f64 / args.seconds as f64,
                "up_per_interview": self.frames_up as f64 / args.seconds as f64 / n,
                "down_per_interview": self.chunks_down as f64 / args.seconds as f64 / n,
            },
            "frames_up": self.frames_up,
            "frames_down": self.chunks_down,
            "transcript_updates": self.transcript_updates,
            "max_send_lateness_ms": self.max_send_lateness_ms,
            "errors": self.errors.len(),
            "error_samples": self.errors.iter().take(5).collect::<Vec<_>>(),
        })
    }
}

fn latency_json(sorted: &[u32]) -> Value {
    json!({
        "samples": sorted.len(),
        "p50": percentile_ms(sorted, 0.50),
        "p99": percentile_ms(sorted, 0.99),
        "max": percentile_ms(sorted, 1.0),
    })
}

/// The `q` quantile (nearest rank) of `sorted` µs, in ms; `None` when empty.
pub fn percentile_ms(sorted: &[u32], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(f64::from(sorted[rank - 1]) / 1_000.0)
}

/// `preppal loadtest`: runs both phases and prints the report (one JSON object with
/// `--json`, a table otherwise).
///
/// # Errors
/// A part that cannot start, or a server that cannot be reached.
pub async fn run_loadtest(args: LoadtestArgs) -> anyhow::Result<()> {
    let report = loadtest(&args).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&args, &report);
    }
    Ok(())
}

/// Runs the load test of `args` and returns the JSON report (see the module docs). The
/// top-level fields are Preppal's; `floor` holds the floor phase's, and
/// `floor_cpu_ms_per_interview_second`, `floor_rss_bytes_per_interview` and
/// `cpu_ratio_to_floor` compare them.
///
/// # Errors
/// As [`run_loadtest`].
pub async fn loadtest(args: &LoadtestArgs) -> anyhow::Result<Value> {
    let ticks = procstat::clock_ticks_per_second();
    let preppal = {
        let mut parts = Vec::new();
        let (base, pid, _dir) = match &args.server {
            Some(url) => (url.trim_end_matches('/').to_owned(), args.server_pid, None),
            None => {
                let peer = Part::start(&["loadtest-peer"], &[], &[], false).await?;
                let dir = TempDir::new()?;
                let data_dir = dir.path().to_string_lossy().into_owned();
                let server = Part::start(
                    &["serve", "--addr", "127.0.0.1:0", "--data-dir", &data_dir],
                    &[
                        ("PREPPAL_GEMINI_URL", peer.announced.as_str()),
                        ("RUST_LOG", "info,preppal_examples::server::worker=warn"),
                    ],
                    &[
                        "GEMINI_API_KEY",
                        "PREPPAL_GEMINI_REST_URL",
                        "PREPPAL_DATABASE_URL",
                        "PREPPAL_DATA_DIR",
                        "PREPPAL_JWT_SECRET",
                        "PREPPAL_WORKER_SECRET",
                    ],
                    true,
                )
                .await
                .context("the server did not start")?;
                let base = format!("http://{}", server.announced);
                let pid = server.pid;
                parts.push(peer);
                parts.push(server);
                (base, Some(pid), Some(dir))
            }
        };
        let report = phase(args, Target::Preppal(base), pid, ticks).await;
        for p in parts {
            p.stop().await;
        }
        report?
    };
    let floor = if args.no_floor {
        None
    } else {
        let peer = Part::start(&["loadtest-peer", "--floor"], &[], &[], false).await?;
        let relay = Part::start(
            &["loadtest-relay", "--peer", &peer.announced],
            &[],
            &[],
            false,
        )
        .await?;
        let addr = relay.announced.parse().context("relay address")?;
        let report = phase(args, Target::Floor(addr), Some(relay.pid), ticks).await;
        relay.stop().await;
        peer.stop().await;
        Some(report?)
    };

    let mut out = json!({
        "sessions": args.sessions,
        "seconds": args.seconds,
        "frame_ms": args.frame_ms,
    });
    let ours = preppal.to_json(args);
    merge(&mut out, ours);
    let cpu = preppal.cpu_ms_per_interview_second(args.sessions);
    let floor_cpu = floor
        .as_ref()
        .and_then(|f| f.cpu_ms_per_interview_second(args.sessions));
    out["floor_cpu_ms_per_interview_second"] = json!(floor_cpu);
    out["floor_rss_bytes_per_interview"] = json!(floor
        .as_ref()
        .and_then(|f| f.rss_bytes_per_interview(args.sessions)));
    out["cpu_ratio_to_floor"] = json!(match (cpu, floor_cpu) {
        (Some(c), Some(f)) if f > 0.0 => Some(c / f),
        _ => None,
    });
    out["floor"] = floor.map_or(Value::Null, |f| f.to_json(args));
    Ok(out)
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), from) {
        a.extend(b);
    }
}

async fn phase(
    args: &LoadtestArgs,
    target: Target,
    pid: Option<u32>,
    ticks: f64,
) -> anyhow::Result<PhaseReport> {
    let n = args.sessions as usize;
    let rss_before = pid.map(procstat::rss_bytes).transpose()?;
    let (schedule_tx, schedule_rx) = tokio::sync::watch::channel(None);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(n);
    let slots = Arc::new(tokio::sync::Semaphore::new(
        args.setup_concurrency.max(1) as usize
    ));
    let clients: Vec<_> = (0..n)
        .map(|i| {
            tokio::spawn(client::run(
                i,
                n,
                target.clone(),
                args.frame_ms,
                Arc::clone(&slots),
                ready_tx.clone(),
                schedule_rx.clone(),
            ))
        })
        .collect();
    drop(ready_tx);
    let mut answered = 0;
    while answered < n && ready_rx.recv().await.is_some() {
        answered += 1;
    }
    let seconds = Duration::from_secs(args.seconds);
    let warm = seconds
        .mul_f64(0.2)
        .clamp(Duration::from_millis(500), Duration::from_secs(3));
    let start = Instant::now() + Duration::from_millis(500);
    let end = start + seconds;
    let warm_ns = peer::now_ns() + (Duration::from_millis(500) + warm).as_nanos() as u64;
    let _ = schedule_tx.send(Some(Schedule {
        start,
        end,
        warm_ns,
    }));
    tokio::time::sleep_until(start + warm).await;
    let cpu_start = pid.map(|p| procstat::cpu_time(p, ticks)).transpose()?;
    let window_start = Instant::now();
    tokio::time::sleep_until(end).await;
    let cpu_end = pid.map(|p| procstat::cpu_time(p, ticks)).transpose()?;
    let window_s = window_start.elapsed().as_secs_f64();
    let rss_after = pid.map(procstat::rss_bytes).transpose()?;

    let mut report = PhaseReport {
        window_s,
        cpu: cpu_start.zip(cpu_end).map(|(a, b)| b.since(a)),
        rss: rss_before.zip(rss_after),
        ..PhaseReport::default()
    };
    for c in clients {
        let stats: ClientStats = c.await.unwrap_or_else(|e| ClientStats {
            errors: vec![format!("client task: {e}")],
            ..ClientStats::default()
        });
        if stats.frames_up > 0 {
            report.sessions_streaming += 1;
        }
        if stats.kept_realtime(args.frame_ms) {
            report.sessions_kept_realtime += 1;
        }
        report.frames_up += stats.frames_up;
        report.chunks_down += stats.chunks_down;
        report.transcript_updates += stats.transcript_updates;
        report.max_send_lateness_ms = report.max_send_lateness_ms.max(stats.max_send_lateness_ms);
        report.up_us.extend(stats.up_us);
        report.down_us.extend(stats.down_us);
        report.errors.extend(stats.errors);
    }
    report.up_us.sort_unstable();
    report.down_us.sort_unstable();
    Ok(report)
}

fn print_table(args: &LoadtestArgs, r: &Value) {
    let f = |v: &Value| v.as_f64().map_or("n/a".to_owned(), |x| format!("{x:.3}"));
    println!(
        "{} interviews, {} s, {} ms frames",
        args.sessions, args.seconds, args.frame_ms
    );
    println!("{:<36} {:>12} {:>12}", "", "preppal", "floor");
    let floor = &r["floor"];
    for (label, key) in [
        ("kept real-time pace", "kept_realtime"),
        ("CPU ms per interview-second", "cpu_ms_per_interview_second"),
        ("RSS bytes per interview", "rss_bytes_per_interview"),
        ("errors", "errors"),
    ] {
        let show = |v: &Value| match v {
            Value::Bool(b) => b.to_string(),
            other => f(other),
        };
        println!(
            "{label:<36} {:>12} {:>12}",
            show(&r[key]),
            show(&floor[key])
        );
    }
    for q in ["p50", "p99", "max"] {
        println!(
            "{:<36} {:>12} {:>12}",
            format!("latency {q}, ms"),
            f(&r["latency_ms"][q]),
            f(&floor["latency_ms"][q])
        );
    }
    for d in ["up", "down"] {
        println!(
            "{:<36} {:>12} {:>12}",
            format!("frames per second {d}"),
            f(&r["frames_per_second"][d]),
            f(&floor["frames_per_second"][d])
        );
    }
    println!("CPU ratio to the floor: {}", f(&r["cpu_ratio_to_floor"]));
}
