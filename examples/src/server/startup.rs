//! Startup: building the whole system from its options ([`build`]), running it in one
//! process ([`serve`], [`spawn`]) and draining it on SIGTERM or ctrl-c.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::{middleware, Router};
use preppal_core::FeedbackSource;
use preppal_gemini::simulator::{Simulator, SimulatorConfig, SimulatorHandle};
use preppal_gemini::FeedbackClient;

use super::args::{GeminiArgs, ServeArgs};
use super::banner;
use super::common::tokens::TokenKeys;
use super::common::{http, limits, secrets};
use super::web::in_process::InProcessWebTier;
use super::web::router::app;
use super::web::state::AppState;
use super::web::{document, oidc, origin, quota};
use super::worker::web_client::WebTierClient;
use super::worker::{self, Feedbacker, ModelConnector, WorkerTier};

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
    let google =
        oidc::GoogleSignIn::from_args(&args.google, args.public_url.as_deref())?.map(Arc::new);
    if let Some(g) = &google {
        tracing::info!(issuer = %g.issuer(), "sign-in: Google (OpenID Connect) is on");
    }
    let worker = Arc::new(
        WorkerTier::new(
            WebTierClient(Arc::new(InProcessWebTier::new(Arc::clone(&store)))),
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

/// Resolves on ctrl-c or SIGTERM (SIGTERM on Unix only).
pub(crate) async fn shutdown_signal() {
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
