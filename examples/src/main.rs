//! `preppal`: the Preppal server and its command-line client.
//!
//! Run with `cargo run --release -p preppal-examples -- serve`, then open
//! <http://127.0.0.1:3000/> or run `preppal interview`.

use clap::{Parser, Subcommand};
use preppal_examples::{cli, loadtest, server};
use tracing_subscriber::EnvFilter;

/// Live, voice-first AI mock interviews.
#[derive(Debug, Parser)]
#[command(name = "preppal", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web tier and the worker tier in one process.
    Serve(server::ServeArgs),
    /// Run the web tier alone (pages, JSON API, worker API), sending clients to `--worker`s.
    Web(server::standalone::WebArgs),
    /// Run one worker alone (interview WebSockets), reaching the web tier at `--web-url`.
    Worker(server::standalone::WorkerArgs),
    /// Hold a whole interview against a server from the command line.
    Interview(cli::InterviewArgs),
    /// Print one stored interview (transcript and feedback) as JSON or Markdown.
    Export(cli::ExportArgs),
    /// Hold many live interviews at once on loopback and measure the server against a
    /// plain relay (the floor): CPU, memory, latency, real-time pace.
    Loadtest(loadtest::LoadtestArgs),
    /// A part of `loadtest`: the model peer (a lean Gemini Live peer, or the floor's peer).
    #[command(hide = true)]
    LoadtestPeer(loadtest::PeerArgs),
    /// A part of `loadtest`: the floor relay.
    #[command(hide = true)]
    LoadtestRelay(loadtest::RelayArgs),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("preppal: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => server::serve(args).await,
            Command::Web(args) => server::standalone::web(args).await,
            Command::Worker(args) => server::standalone::worker(args).await,
            Command::Interview(args) => cli::run_interview(args).await,
            Command::Export(args) => cli::run_export(args).await,
            Command::Loadtest(args) => loadtest::run_loadtest(args).await,
            Command::LoadtestPeer(args) => loadtest::run_peer(args).await,
            Command::LoadtestRelay(args) => loadtest::run_relay(args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("preppal: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
