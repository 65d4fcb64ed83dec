//! The web tier and the worker tier of the design, in one process or two.
//!
//! - Web tier ([`app`]): sign-in, the JSON API with the design's procedure names
//!   (`POST /api/<router>.<procedure>`), the protobuf worker API (`POST /api/worker`), and
//!   the pages. It is the only owner of the store.
//! - Worker tier ([`worker`]): the interview WebSocket, one driver task per live interview.
//!
//! [`serve`] runs both in one process, with the worker reaching the web tier in-process
//! through the same worker API handler; [`split::web`] and [`split::worker`] run them as
//! separate processes (`preppal web`, `preppal worker`) that talk only through the
//! worker API.

pub mod api;
pub mod auth;
mod banner;
pub mod coaching;
pub mod document;
pub mod error;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod oidc;
pub mod openapi;
pub mod origin;
pub mod pages;
pub mod quota;
pub mod secrets;
pub mod split;
pub mod tokens;
pub mod worker;
pub mod worker_api;
pub mod workers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use preppal_core::codec::MAX_WORKER_MESSAGE_BYTES;
use preppal_core::FeedbackSource;
use preppal_gemini::simulator::{Simulator, SimulatorConfig, SimulatorHandle};
use preppal_gemini::FeedbackClient;
use preppal_store::InterviewStore;
use serde::de::DeserializeOwned;

use api::library;
use error::ApiError;
use secrets::Secret;
use tokens::TokenKeys;
use worker::backend::{Backend, LocalBackend};
use worker::{Feedbacker, ModelConnector, WorkerTier};

/// Largest JSON API request body, in bytes (256 KiB: two 64 KiB documents and then some).
pub const MAX_JSON_BODY_BYTES: usize = 256 * 1024;

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

    fn dev_auth_enabled(&self) -> bool {
        if self.no_dev_auth {
            false
        } else {
            self.dev_auth || self.addr.ip().is_loopback()
        }
    }
}

/// Shared state of the web tier.
#[derive(Debug)]
pub struct AppState {
    /// The store (the web tier is its only owner).
    pub store: Arc<dyn InterviewStore>,
    /// JWT keys.
    pub keys: TokenKeys,
    /// The worker API's shared secret.
    pub worker_secret: Secret,
    /// Whether dev-credentials sign-in is on.
    pub dev_auth: bool,
    /// The worker tier of this process.
    pub worker: Arc<WorkerTier>,
    /// Public base URL of the worker tier, when it is elsewhere.
    pub worker_public_url: Option<String>,
    /// This server's public origin and the `Host` names it answers for.
    pub hosts: Arc<origin::HostAllowlist>,
    /// The library quota.
    pub library_quota: quota::LibraryQuota,
    /// Abuse limits, shared with the worker tier of this process.
    pub limits: Arc<limits::Limits>,
    /// Text extraction from uploaded PDFs (bounded concurrency).
    pub documents: document::Extractor,
    /// Google sign-in, when configured.
    pub google: Option<Arc<oidc::GoogleSignIn>>,
    /// The workers of `preppal web --worker URL...`, whose token replies name one of them;
    /// `None` when the worker tier runs in this process (`preppal serve`).
    pub workers: Option<Arc<workers::WorkerPool>>,
}

impl AppState {
    /// The `ws://` or `wss://` base of the interview WebSocket: the worker tier's public
    /// URL, or this server's configured public origin (never the request's `Host`).
    pub fn worker_ws_base(&self) -> String {
        if let Some(u) = &self.worker_public_url {
            return u
                .replacen("https://", "wss://", 1)
                .replacen("http://", "ws://", 1)
                .trim_end_matches('/')
                .to_owned();
        }
        self.hosts.ws_origin()
    }
}

/// A JSON body that fails with the API's own error shape (an empty body reads as `{}`).
#[derive(Debug)]
pub struct Input<T>(pub T);

impl<S, T> FromRequest<S> for Input<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(format!(
                    "request body exceeds {MAX_JSON_BODY_BYTES} bytes"
                ))
            } else {
                ApiError::BadRequest("unreadable request body".into())
            }
        })?;
        let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
            Bytes::from_static(b"{}")
        } else {
            bytes
        };
        serde_json::from_slice(&bytes)
            .map(Input)
            .map_err(|e| ApiError::BadRequest(format!("invalid input: {e}")))
    }
}

/// Refuses cross-site state-changing requests: a POST whose `Origin` names another host
/// than the one it was sent to.
async fn same_origin(req: Request, next: Next) -> Response {
    if req.method() == axum::http::Method::POST {
        let origin_host = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .map(|o| o.split("://").nth(1).unwrap_or(o).to_owned());
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned);
        if let (Some(o), Some(h)) = (origin_host, host) {
            if o != h {
                tracing::info!(origin = %o, host = %h, "cross-site request refused");
                return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
            }
        }
    }
    next.run(req).await
}

async fn healthz(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "ok": true, "live_interviews": state.worker.live_count() }))
}

/// The web tier's routes: pages, JSON API and worker API.
pub fn app(state: Arc<AppState>) -> Router {
    let json_api = Router::new()
        .route("/api/auth/dev", post(auth::dev_sign_in))
        .route("/api/auth/signout", post(auth::sign_out))
        .route("/api/auth/methods", post(auth::sign_in_methods))
        .route("/api/user.getProfile", post(api::get_profile))
        .route("/api/interview.createSession", post(api::create_session))
        .route(
            "/api/interview.generateWorkerToken",
            post(api::generate_worker_token),
        )
        .route(
            "/api/interview.generateWsToken",
            post(api::generate_ws_token),
        )
        .route("/api/interview.getHistory", post(api::get_history))
        .route("/api/interview.getById", post(api::get_by_id))
        .route("/api/interview.getCurrent", post(api::get_current))
        .route("/api/interview.getProgress", post(api::get_progress))
        .route("/api/interview.getFeedback", post(api::get_feedback))
        .route("/api/interview.getTranscript", post(api::get_transcript))
        .route("/api/interview.delete", post(api::delete))
        .route("/api/interview.updateStatus", post(api::update_status));
    let json_api = json_api
        .route(
            "/api/jobDescription.list",
            post(library::job_description_list),
        )
        .route(
            "/api/jobDescription.create",
            post(library::job_description_create),
        )
        .route(
            "/api/jobDescription.update",
            post(library::job_description_update),
        )
        .route(
            "/api/jobDescription.delete",
            post(library::job_description_delete),
        )
        .route("/api/resume.list", post(library::resume_list))
        .route("/api/resume.create", post(library::resume_create))
        .route("/api/resume.update", post(library::resume_update))
        .route("/api/resume.delete", post(library::resume_delete))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY_BYTES))
        .layer(middleware::from_fn(same_origin));
    // Uploads: the file itself is the body, so the limit is the file's.
    let uploads = Router::new()
        .route("/api/document.extractText", post(document::extract_text))
        .layer(DefaultBodyLimit::max(document::MAX_PDF_BYTES))
        .layer(middleware::from_fn(same_origin));
    let worker_api = Router::new()
        .route("/api/worker", post(worker_api::post_worker))
        .layer(DefaultBodyLimit::max(MAX_WORKER_MESSAGE_BYTES));
    Router::new()
        .merge(json_api)
        .merge(uploads)
        .merge(worker_api)
        .merge(pages::router())
        .route("/api/auth/google/start", get(oidc::google_start))
        .route("/api/auth/google/callback", get(oidc::google_callback))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::metrics_handler))
        .route("/api/openapi.json", get(openapi::openapi_json))
        .with_state(state)
}

/// A built server: its router, state, and the simulator when it plays the interviewer.
#[derive(Debug)]
pub struct Server {
    /// Web and worker routes together.
    pub router: Router,
    /// The web tier's state.
    pub state: Arc<AppState>,
    /// The in-process Gemini Live simulator, when no real endpoint is configured.
    pub simulator: Option<SimulatorHandle>,
}

/// Builds the whole system of `args`: opens the store (migrations applied), loads the
/// secrets, picks the model endpoint (Gemini, an override URL, or the simulator).
///
/// # Errors
/// A store that cannot be opened, a bad secret, or a simulator that cannot bind.
pub async fn build(args: &ServeArgs) -> anyhow::Result<Server> {
    std::fs::create_dir_all(&args.data_dir)?;
    let store = preppal_store::open(&args.database_url()).await?;
    let jwt_secret = secrets::load_or_create("PREPPAL_JWT_SECRET", &args.data_dir, "jwt_secret")?;
    let worker_secret =
        secrets::load_or_create("PREPPAL_WORKER_SECRET", &args.data_dir, "worker_secret")?;
    let keys = TokenKeys::new(&jwt_secret);

    let (models, simulator) = interviewer(&args.gemini).await?;
    let feedbacker = feedbacker(&args.gemini);
    let limits = Arc::new(limits::Limits::new(args.limits));
    let google = oidc::GoogleSignIn::from_args(&args.google)?.map(Arc::new);
    if let Some(g) = &google {
        tracing::info!(issuer = %g.issuer(), "sign-in: Google (OpenID Connect) is on");
    }
    let worker = Arc::new(
        WorkerTier::new(
            Backend(Arc::new(LocalBackend::new(Arc::clone(&store)))),
            models,
            feedbacker,
            keys.clone(),
        )
        .with_limits(Arc::clone(&limits))
        .with_reconnect_grace(std::time::Duration::from_secs(args.reconnect_grace_secs)),
    );
    let hosts = Arc::new(origin::HostAllowlist::new(&args.public_url())?);
    let state = Arc::new(AppState {
        store,
        keys,
        worker_secret,
        dev_auth: args.dev_auth_enabled(),
        worker: Arc::clone(&worker),
        worker_public_url: None,
        hosts: Arc::clone(&hosts),
        library_quota: quota::LibraryQuota::new(args.quota),
        limits,
        documents: document::Extractor::default(),
        google,
        workers: None,
    });
    let router = app(Arc::clone(&state))
        .merge(worker::router(worker))
        .layer(middleware::from_fn_with_state(hosts, origin::check_host));
    Ok(Server {
        router,
        state,
        simulator,
    })
}

/// Picks the interviewer: the Live endpoint override (`PREPPAL_GEMINI_URL`), the Gemini
/// Live API (`GEMINI_API_KEY`), or, with neither, a simulator started in this process.
///
/// # Errors
/// A simulator that cannot bind.
pub(crate) async fn interviewer(
    gemini: &GeminiArgs,
) -> anyhow::Result<(ModelConnector, Option<SimulatorHandle>)> {
    let connector = |endpoint: String, api_key: String| ModelConnector {
        endpoint,
        api_key,
        model: gemini.model.clone(),
    };
    Ok(match (&gemini.url, &gemini.api_key) {
        (Some(url), key) => {
            tracing::info!(endpoint = %url, "interviewer: Live endpoint override (PREPPAL_GEMINI_URL)");
            let key = key.clone().unwrap_or_else(|| "unused".to_owned());
            (connector(url.clone(), key), None)
        }
        (None, Some(key)) => {
            let url = preppal_gemini::config::DEFAULT_ENDPOINT.to_owned();
            tracing::info!("interviewer: the Gemini Live API (GEMINI_API_KEY is set)");
            (connector(url, key.clone()), None)
        }
        (None, None) => {
            let mut config = SimulatorConfig::default().with_follow_ups(true);
            if let Some(path) = &gemini.simulator_transcripts {
                let transcripts = read_transcripts(path)?;
                tracing::info!(file = %path.display(), turns = transcripts.len(), "interviewer: the simulator transcribes the candidate from --simulator-transcripts");
                config = config.with_candidate_transcripts(transcripts);
            }
            let sim = Simulator::start(config).await?;
            tracing::info!(endpoint = %sim.url(), "interviewer: built-in Gemini Live simulator (offline mode: GEMINI_API_KEY is not set)");
            (connector(sim.url(), "offline".to_owned()), Some(sim))
        }
    })
}

/// The candidate transcripts of `--simulator-transcripts`: one spoken turn per non-empty
/// line, trimmed.
///
/// # Errors
/// The file cannot be read.
fn read_transcripts(path: &std::path::Path) -> anyhow::Result<Vec<String>> {
    use anyhow::Context as _;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading --simulator-transcripts {}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Picks the feedback writer: Gemini's `generateContent` with `GEMINI_API_KEY`, the one
/// at `PREPPAL_GEMINI_REST_URL` without a key (labelled as the simulator's), or the
/// automatic summary.
pub(crate) fn feedbacker(gemini: &GeminiArgs) -> Feedbacker {
    match (&gemini.api_key, &gemini.rest_url) {
        (Some(key), rest) => Feedbacker(Some(Arc::new(FeedbackClient::new(
            key.clone(),
            rest.as_deref(),
        )))),
        // No key but an explicit generateContent endpoint (for example a simulator's):
        // written by whoever serves it, labelled as the simulator's.
        (None, Some(rest)) => {
            tracing::info!(endpoint = %rest, "feedback: metrics plus generateContent at PREPPAL_GEMINI_REST_URL (no GEMINI_API_KEY)");
            Feedbacker(Some(Arc::new(
                FeedbackClient::new("unused", Some(rest)).with_source(FeedbackSource::Simulator),
            )))
        }
        (None, None) => {
            tracing::info!("feedback: metrics and an automatic summary from the transcript, labelled as such (no GEMINI_API_KEY)");
            Feedbacker(None)
        }
    }
}

/// Picks up every interview the store holds IN_PROGRESS that no driver of this process runs
/// (left by a crash or a drain timeout; see [`WorkerTier::adopt`]). Returns how many.
///
/// # Errors
/// The store's, when the interviews cannot be listed.
pub async fn recover_interviews(state: &AppState) -> anyhow::Result<usize> {
    let mut adopted = 0;
    for i in state.store.interviews_in_progress().await? {
        if state.worker.adopt(&i.id).await {
            adopted += 1;
        }
    }
    if adopted > 0 {
        tracing::info!(adopted, "interviews in progress recovered");
    }
    Ok(adopted)
}

/// A server listening on a socket, running in a background task.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The server's state.
    pub state: Arc<AppState>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _simulator: Option<SimulatorHandle>,
}

impl Running {
    /// `http://{addr}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server.
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Builds and starts the server of `args` in a background task (port 0 picks a free port).
///
/// # Errors
/// As [`build`], or when the address cannot be bound.
pub async fn spawn(args: &ServeArgs) -> anyhow::Result<Running> {
    // Bound first, so that the default public origin names the port actually bound.
    let (listener, addr) = bind(args.addr).await?;
    let args = &ServeArgs {
        addr,
        ..args.clone()
    };
    let server = build(args).await?;
    let router = server.router;
    recover_interviews(&server.state).await?;
    let http_args = args.http;
    let task = tokio::spawn(async move {
        http::serve(listener, router, http_args, std::future::pending()).await
    });
    Ok(Running {
        addr,
        state: server.state,
        task,
        _simulator: server.simulator,
    })
}

/// `preppal serve`: picks up the interviews a previous run left IN_PROGRESS
/// ([`recover_interviews`]), then runs until Ctrl-C or SIGTERM, which drains: no new
/// connections, every live interview finished and saved ([`WorkerTier::drain`]), bounded
/// by `--drain-timeout-secs`.
///
/// # Errors
/// As [`build`], or when the address cannot be bound.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Bound first, so that the default public origin names the port actually bound.
    let (listener, addr) = bind(args.addr).await?;
    let args = ServeArgs { addr, ..args };
    let server = build(&args).await?;
    tracing::info!(
        %addr,
        database = %redact_url(&args.database_url()),
        dev_auth = server.state.dev_auth,
        public_url = %server.state.hosts.origin(),
        "Preppal is listening: open http://{addr}/"
    );
    if server.state.dev_auth {
        tracing::info!("dev sign-in is on (any email, no password; refused through a proxy): --no-dev-auth turns it off");
    }
    let _simulator = server.simulator;
    recover_interviews(&server.state).await?;
    // On stdout, whatever RUST_LOG says: what a first run needs to know.
    banner::print_serve_banner(addr, &args.gemini);
    let drain_timeout = std::time::Duration::from_secs(args.drain_timeout_secs);
    serve_until_drained(
        listener,
        server.router,
        args.http,
        Arc::clone(&server.state.worker),
        drain_timeout,
    )
    .await
}

/// Binds `addr` (port 0 picks a free port) for serving with [`http::serve`], returning
/// the listener and the address it got.
///
/// # Errors
/// The bind error.
pub(crate) async fn bind(
    addr: SocketAddr,
) -> std::io::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// Serves `router` on `listener` until Ctrl-C or SIGTERM, then drains `worker`: no new
/// connections, every live interview finished and saved (its candidate's socket closed with
/// 1012), bounded by `drain_timeout`.
///
/// # Errors
/// When the listener fails.
pub(crate) async fn serve_until_drained(
    listener: tokio::net::TcpListener,
    router: Router,
    http_args: http::HttpArgs,
    worker: Arc<WorkerTier>,
    drain_timeout: std::time::Duration,
) -> anyhow::Result<()> {
    let (drained_tx, drained_rx) = tokio::sync::oneshot::channel();
    let drain = async move {
        shutdown_signal().await;
        tokio::spawn(async move {
            let left = worker.drain(drain_timeout).await;
            let _ = drained_tx.send(left);
        });
    };
    http::serve(listener, router, http_args, drain).await?;
    match tokio::time::timeout(drain_timeout, drained_rx).await {
        Ok(Ok(0)) => tracing::info!("every live interview was finished and saved"),
        Ok(Ok(left)) => {
            tracing::warn!(
                left,
                "drain timeout: interviews still live were left IN_PROGRESS"
            )
        }
        _ => tracing::warn!("drain did not finish in time"),
    }
    Ok(())
}

/// A database URL with any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact_url("sqlite://data/p.db"), "sqlite://data/p.db");
    }
}
