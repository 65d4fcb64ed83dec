//! A standalone Gemini Live simulator for trying the server against connection faults:
//! point `PREPPAL_GEMINI_URL` at the URL it prints.
//!
//! ```text
//! cargo run -p preppal-examples --example live_simulator -- \
//!     --addr 127.0.0.1:7070 --rest-addr 127.0.0.1:7071 --go-away-every-secs 60 --close-after-go-away-secs 50
//! ```
//!
//! It prints the Live URL (for `PREPPAL_GEMINI_URL`) and then the REST base URL (for
//! `PREPPAL_GEMINI_REST_URL`: `generateContent` and `auth_tokens`), one per line.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use preppal_gemini::simulator::{Simulator, SimulatorConfig};

/// Options of the simulator.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7070")]
    addr: SocketAddr,
    /// Address of the REST side (`generateContent`, `auth_tokens`); default: a free port
    /// on the Live address's IP.
    #[arg(long)]
    rest_addr: Option<SocketAddr>,
    /// A file of candidate transcripts, one spoken candidate turn per line: the simulator
    /// sends them as `inputTranscription` as the audio of each turn arrives.
    #[arg(long, value_name = "FILE")]
    transcripts: Option<std::path::PathBuf>,
    /// Questions the interviewer asks (4 to 6) when the system instruction states no
    /// interview length; the server's instruction states it, and the interviewer then asks
    /// questions until it is told to wrap up.
    #[arg(long, default_value_t = 5)]
    questions: usize,
    /// Send `goAway` this many seconds after each connection opens, and again as often.
    #[arg(long)]
    go_away_every_secs: Option<u64>,
    /// Close with 1011 this many seconds after each `goAway` (its `timeLeft`).
    #[arg(long)]
    close_after_go_away_secs: Option<u64>,
    /// Pace model audio at real time instead of sending it as fast as possible.
    #[arg(long)]
    realtime: bool,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let args = Args::parse();
    let mut config = SimulatorConfig::default()
        .with_addr(args.addr)
        .with_realtime(args.realtime);
    // The count applies when the instruction states no length; a stated length plans more.
    config.questions = args.questions;
    if let Some(addr) = args.rest_addr {
        config = config.with_rest_addr(addr);
    }
    if let Some(path) = &args.transcripts {
        let text = std::fs::read_to_string(path)?;
        config = config.with_candidate_transcripts(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
        );
    }
    if let Some(secs) = args.go_away_every_secs {
        config = config.with_go_away_every(Duration::from_secs(secs));
    }
    if let Some(secs) = args.close_after_go_away_secs {
        config = config.with_go_away_close_after(Duration::from_secs(secs));
    }
    let sim = Simulator::start(config).await?;
    println!("{}", sim.url());
    println!("{}", sim.rest_url());
    tokio::signal::ctrl_c().await?;
    println!("connections: {}", sim.connections());
    for (connection, code, reason) in sim.server_closes() {
        println!("server close: connection {connection} code {code} {reason:?}");
    }
    sim.shutdown().await;
    Ok(())
}
