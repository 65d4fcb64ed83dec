//! Command-line options of the server: `preppal serve` ([`ServeArgs`]) and the model
//! options it shares with `preppal worker` ([`GeminiArgs`]).

use std::net::SocketAddr;
use std::path::PathBuf;

use super::common::{http, limits};
use super::web::{oidc, quota};

/// Where the interviewer and the feedback come from: options of `preppal serve` and
/// `preppal worker` (the flags are `--gemini-api-key`, `--gemini-url`, `--gemini-rest-url`
/// and `--gemini-model`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GeminiArgs {
    /// Gemini API key; without it (and without PREPPAL_GEMINI_URL) the built-in simulator plays the interviewer.
    #[arg(
        long = "gemini-api-key",
        value_name = "GEMINI_API_KEY",
        env = "GEMINI_API_KEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,
    /// Live API WebSocket endpoint override (any ws:// or wss:// URL that speaks the protocol).
    #[arg(
        long = "gemini-url",
        value_name = "GEMINI_URL",
        env = "PREPPAL_GEMINI_URL"
    )]
    pub url: Option<String>,
    /// Base URL of the Gemini REST API used for feedback.
    #[arg(
        long = "gemini-rest-url",
        value_name = "GEMINI_REST_URL",
        env = "PREPPAL_GEMINI_REST_URL"
    )]
    pub rest_url: Option<String>,
    /// Live model name (default: the client's current native-audio model).
    #[arg(
        long = "gemini-model",
        value_name = "GEMINI_MODEL",
        env = "PREPPAL_GEMINI_MODEL"
    )]
    pub model: Option<String>,
    /// With the built-in simulator: a file of candidate transcripts, one spoken candidate
    /// turn per line, in order; the simulator sends them as the candidate's
    /// `inputTranscription` while each turn's audio arrives. Without it the offline
    /// interviewer transcribes nothing.
    #[arg(
        long = "simulator-transcripts",
        value_name = "FILE",
        env = "PREPPAL_SIMULATOR_TRANSCRIPTS"
    )]
    pub simulator_transcripts: Option<PathBuf>,
}

/// Options of `preppal serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Directory for the SQLite database and generated secrets.
    #[arg(long, env = "PREPPAL_DATA_DIR", default_value = "preppal-data")]
    pub data_dir: PathBuf,
    /// Database URL (`sqlite://...` or `postgres://...`); default `sqlite://{data_dir}/preppal.db`.
    #[arg(long, env = "PREPPAL_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Enable dev-credentials sign-in (on by default when listening on loopback).
    #[arg(long, conflicts_with = "no_dev_auth")]
    pub dev_auth: bool,
    /// Disable dev-credentials sign-in.
    #[arg(long)]
    pub no_dev_auth: bool,
    /// This server's origin as browsers reach it (`http(s)://host[:port]`); default
    /// `http://{addr}`. Requests naming another `Host` (loopback names aside) get 421, and
    /// token replies' `ws_url` / `worker_url` are built from it.
    #[arg(long, env = "PREPPAL_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The interviewer and the feedback model (see [`GeminiArgs`]).
    #[command(flatten)]
    pub gemini: GeminiArgs,
    /// Abuse limits (see [`limits`]).
    #[command(flatten)]
    pub limits: limits::LimitArgs,
    /// The library quota (see [`quota`]).
    #[command(flatten)]
    pub quota: quota::QuotaArgs,
    /// HTTP server limits (see [`http`]).
    #[command(flatten)]
    pub http: http::HttpArgs,
    /// Google sign-in (see [`oidc`]).
    #[command(flatten)]
    pub google: oidc::GoogleArgs,
    /// Seconds an interview waits for its candidate to reconnect after the connection
    /// dropped, before it is finished with what was said (0 finishes it at once).
    #[arg(long, env = "PREPPAL_RECONNECT_GRACE_SECS", default_value_t = 60)]
    pub reconnect_grace_secs: u64,
    /// Seconds `serve` gives live interviews to be finished and saved on SIGTERM or ctrl-c.
    #[arg(long, env = "PREPPAL_DRAIN_TIMEOUT_SECS", default_value_t = 60)]
    pub drain_timeout_secs: u64,
}

impl ServeArgs {
    /// Options for a server on `addr` keeping its data in `data_dir`, offline (simulator).
    pub fn offline(addr: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            addr,
            data_dir,
            database_url: None,
            dev_auth: true,
            no_dev_auth: false,
            public_url: None,
            gemini: GeminiArgs::default(),
            limits: limits::LimitArgs::default(),
            quota: quota::QuotaArgs::default(),
            http: http::HttpArgs::default(),
            google: oidc::GoogleArgs::default(),
            reconnect_grace_secs: 60,
            drain_timeout_secs: 60,
        }
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("preppal.db").display()))
    }

    /// The public origin in effect: `--public-url`, or `http://{addr}`.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr))
    }

    /// Whether dev-credentials sign-in is on: `--dev-auth`, or listening on loopback, and
    /// never with `--no-dev-auth`.
    pub fn dev_auth_enabled(&self) -> bool {
        if self.no_dev_auth {
            false
        } else {
            self.dev_auth || self.addr.ip().is_loopback()
        }
    }
}
