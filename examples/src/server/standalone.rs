//! The two tiers as separate processes: `preppal web` and `preppal worker`.
//!
//! - `preppal web --addr ADDR --database-url URL --worker URL...`: sign-in, the JSON API,
//!   the pages and the protobuf worker API (`POST /api/worker`); it owns the store and runs
//!   no interviews. Its token replies (`interview.generateWorkerToken`,
//!   `interview.generateWsToken`) name the worker to connect to ([`super::web::worker_pool`]).
//! - `preppal worker --addr ADDR --web-url URL`: the interview WebSocket and `GET /healthz`.
//!   It never opens the database: it reaches the web tier only through the worker API, with
//!   the shared secret, and holds a lease on each interview it runs
//!   ([`super::worker::lease`]), so a worker that dies is replaced by another.
//!
//! Both refuse to start without `PREPPAL_JWT_SECRET` and `PREPPAL_WORKER_SECRET`, which
//! must be the same for every process: unlike `preppal serve`, they have no data directory
//! to keep generated ones in that the other processes could read.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use preppal_store::InterviewStore;

use super::args::GeminiArgs;
use super::common::secrets::Secret;
use super::common::tokens::TokenKeys;
use super::common::{http, limits};
use super::startup::{
    bind, feedbacker, interviewer, redact_url, serve_until_drained, shutdown_signal,
};
use super::web::in_process::InProcessWebTier;
use super::web::router::app;
use super::web::state::AppState;
use super::web::worker_pool::WorkerPool;
use super::web::{document, oidc, origin, quota};
use super::worker::lease::{LeaseConfig, DEFAULT_LEASE_TTL_MS};
use super::worker::web_client::{HttpWebTier, WebTierClient};
use super::worker::{self, Feedbacker, ModelConnector, WorkerTier};

/// Options of `preppal web`.
#[derive(Debug, Clone, clap::Args)]
pub struct WebArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Database URL (`postgres://...`, or `sqlite://...` for a single machine).
    #[arg(long, env = "PREPPAL_DATABASE_URL")]
    pub database_url: String,
    /// Base URL of a worker (`preppal worker`), as clients reach it; repeat for several.
    #[arg(long = "worker", required = true, value_name = "URL")]
    pub workers: Vec<String>,
    /// Enable dev-credentials sign-in (on by default when listening on loopback).
    #[arg(long, conflicts_with = "no_dev_auth")]
    pub dev_auth: bool,
    /// Disable dev-credentials sign-in.
    #[arg(long)]
    pub no_dev_auth: bool,
    /// This server's origin as browsers reach it (`http(s)://host[:port]`); default
    /// `http://{addr}`. Requests naming another `Host` (loopback names aside) get 421.
    #[arg(long, env = "PREPPAL_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Abuse limits (see [`limits`]).
    #[command(flatten)]
    pub limits: limits::LimitArgs,
    /// The library quota (see [`quota`]).
    #[command(flatten)]
    pub quota: quota::QuotaArgs,
    /// HTTP server limits (see [`http`]).
    #[command(flatten)]
    pub http: http::HttpArgs,
    /// Google sign-in (OpenID Connect), on when its client id and secret are set.
    #[command(flatten)]
    pub google: oidc::GoogleArgs,
}

/// Options of `preppal worker`.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3001")]
    pub addr: SocketAddr,
    /// Base URL of the web tier (`preppal web`), e.g. `http://127.0.0.1:3000`.
    #[arg(long, env = "PREPPAL_WEB_URL")]
    pub web_url: String,
    /// This worker's base URL as clients and the web tier reach it, and its id in the
    /// interviews' leases; default `http://{addr}`. It must match one `--worker` of the web tier.
    #[arg(long, env = "PREPPAL_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// How long an interview's lease lasts without renewal, in ms (renewed every third):
    /// how soon another worker may take over the interviews of a worker that died.
    #[arg(long, env = "PREPPAL_LEASE_TTL_MS", default_value_t = DEFAULT_LEASE_TTL_MS)]
    pub lease_ttl_ms: u64,
    /// The interviewer and the feedback model (see [`GeminiArgs`]).
    #[command(flatten)]
    pub gemini: GeminiArgs,
    /// Abuse limits (see [`limits`]; the per-user live limit counts this worker's interviews).
    #[command(flatten)]
    pub limits: limits::LimitArgs,
    /// HTTP server limits (see [`http`]).
    #[command(flatten)]
    pub http: http::HttpArgs,
    /// Seconds an interview waits for its candidate to reconnect after the connection
    /// dropped, before it is finished with what was said (0 finishes it at once).
    #[arg(long, env = "PREPPAL_RECONNECT_GRACE_SECS", default_value_t = 60)]
    pub reconnect_grace_secs: u64,
    /// Seconds the worker gives live interviews to be finished and saved on SIGTERM or ctrl-c.
    #[arg(long, env = "PREPPAL_DRAIN_TIMEOUT_SECS", default_value_t = 60)]
    pub drain_timeout_secs: u64,
}

/// Reads a secret that every process must share from `env_var`.
///
/// # Errors
/// When it is unset or shorter than [`super::common::secrets::MIN_SECRET_BYTES`].
pub fn shared_secret(env_var: &str) -> anyhow::Result<Secret> {
    let value = std::env::var(env_var).map_err(|_| {
        anyhow::anyhow!(
            "{env_var} is not set: `preppal web` and `preppal worker` need the same value in every process (for example `openssl rand -hex 32`)"
        )
    })?;
    Secret::new(value).map_err(|e| anyhow::anyhow!("{env_var}: {e}"))
}

/// `preppal web`: runs until Ctrl-C or SIGTERM.
///
/// # Errors
/// A missing secret, a store that cannot be opened, or an address that cannot be bound.
pub async fn web(args: WebArgs) -> anyhow::Result<()> {
    let jwt_secret = shared_secret("PREPPAL_JWT_SECRET")?;
    let worker_secret = shared_secret("PREPPAL_WORKER_SECRET")?;
    let store = preppal_store::open(&args.database_url).await?;
    let keys = TokenKeys::new(&jwt_secret);
    let limits = Arc::new(limits::Limits::new(args.limits));
    let pool = Arc::new(WorkerPool::new(args.workers.clone()));
    let dev_auth = if args.no_dev_auth {
        false
    } else {
        args.dev_auth || args.addr.ip().is_loopback()
    };
    let (listener, addr) = bind(args.addr).await?;
    let hosts = Arc::new(origin::HostAllowlist::new(
        &args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}")),
    )?);
    let state = Arc::new(AppState {
        hosts: Arc::clone(&hosts),
        library_quota: quota::LibraryQuota::new(args.quota),
        store: Arc::clone(&store),
        keys: keys.clone(),
        worker_secret,
        dev_auth,
        // This process runs no interviews: its own worker tier stays idle and unrouted.
        worker: Arc::new(idle_worker_tier(store, keys)),
        worker_public_url: None,
        limits,
        documents: document::Extractor::default(),
        google: oidc::GoogleSignIn::from_args(&args.google, args.public_url.as_deref())?
            .map(Arc::new),
        workers: Some(Arc::clone(&pool)),
    });
    tracing::info!(
        %addr,
        database = %redact_url(&args.database_url),
        workers = ?pool.urls(),
        dev_auth,
        "Preppal web tier is listening: open http://{addr}/"
    );
    let router = app(state).layer(axum::middleware::from_fn_with_state(
        hosts,
        origin::check_host,
    ));
    http::serve(listener, router, args.http, shutdown_signal()).await?;
    Ok(())
}

fn idle_worker_tier(store: Arc<dyn InterviewStore>, keys: TokenKeys) -> WorkerTier {
    WorkerTier::new(
        WebTierClient(Arc::new(InProcessWebTier::new(store))),
        ModelConnector {
            endpoint: String::new(),
            api_key: String::new(),
            model: None,
        },
        Feedbacker(None),
        keys,
    )
}

/// `preppal worker`: runs until Ctrl-C or SIGTERM.
///
/// # Errors
/// A missing secret, a simulator that cannot start, or an address that cannot be bound.
pub async fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    let jwt_secret = shared_secret("PREPPAL_JWT_SECRET")?;
    let worker_secret = shared_secret("PREPPAL_WORKER_SECRET")?;
    anyhow::ensure!(
        args.lease_ttl_ms >= 300,
        "--lease-ttl-ms must be at least 300"
    );
    let (listener, addr) = bind(args.addr).await?;
    let worker_id = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_owned();
    let (models, _simulator) = interviewer(&args.gemini).await?;
    let feedbacker = feedbacker(&args.gemini);
    let web_tier = WebTierClient(Arc::new(HttpWebTier::new(&args.web_url, worker_secret)));
    let tier = Arc::new(
        WorkerTier::new(web_tier, models, feedbacker, TokenKeys::new(&jwt_secret))
            .with_limits(Arc::new(limits::Limits::new(args.limits)))
            .with_reconnect_grace(Duration::from_secs(args.reconnect_grace_secs))
            .with_lease(LeaseConfig {
                worker_id: worker_id.clone(),
                ttl: Duration::from_millis(args.lease_ttl_ms),
            }),
    );
    tracing::info!(%addr, %worker_id, web = %args.web_url, lease_ttl_ms = args.lease_ttl_ms, "Preppal worker is listening");
    let router = worker::standalone_router(Arc::clone(&tier));
    serve_until_drained(
        listener,
        router,
        args.http,
        tier,
        Duration::from_secs(args.drain_timeout_secs),
    )
    .await
}
