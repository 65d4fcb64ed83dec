//! The running simulator: shared state, [`Simulator::start`], [`SimulatorHandle`] and the
//! accept loop.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::timeout;

use super::connection::serve;
use super::{rest, InterviewScript, SimulatorConfig, SIMULATOR_PATH, SIMULATOR_TOKEN_PATH};

/// Where a resumable session was when a resumption handle was sent: what that handle
/// resumes. Each handle keeps its own snapshot, as the service's do: resuming from an
/// older handle restores the session as it was then, not as it went on after (gemini-live-
/// protocol notes §4.4: a handle covers what was streamed before it).
#[derive(Debug, Clone)]
pub(super) struct SavedSession {
    pub(super) script: InterviewScript,
    pub(super) asked: usize,
    pub(super) started: bool,
    pub(super) finishing: bool,
    /// The line being generated when the state was saved: (index, text, closing).
    pub(super) owed: Option<(usize, String, bool)>,
    pub(super) prompt_tokens: u64,
    /// Spoken candidate turns heard (the next candidate transcript to use).
    pub(super) heard: usize,
}

/// Resumption handles kept per session; older ones resume no more (a client resumes from
/// its latest).
pub(super) const HANDLES_KEPT: usize = 16;

#[derive(Debug, Default)]
pub(super) struct Shared {
    pub(super) recorded: Mutex<Vec<Vec<Value>>>,
    pub(super) connections: AtomicUsize,
    pub(super) upgrades: AtomicUsize,
    /// Closes the simulator started: (connection, code, reason).
    pub(super) closes: Mutex<Vec<(usize, u16, String)>>,
    pub(super) next_session: AtomicU64,
    /// Resumption handle → its session id and snapshot.
    pub(super) handles: Mutex<HashMap<String, (u64, SavedSession)>>,
    /// Session id → its handles, oldest first (at most [`HANDLES_KEPT`]).
    pub(super) session_handles: Mutex<HashMap<u64, VecDeque<String>>>,
    /// Ephemeral tokens minted by the REST side: name → new sessions left.
    pub(super) tokens: Mutex<HashMap<String, u64>>,
    /// The bodies of the `auth_tokens` requests, in order.
    pub(super) token_requests: Mutex<Vec<Value>>,
    /// Every upgrade request's path and credential form, in order.
    pub(super) upgrades_seen: Mutex<Vec<UpgradeRecord>>,
    pub(super) next_token: AtomicU64,
}

/// How an upgrade request carried its credential (gemini-live-protocol notes §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialForm {
    /// `x-goog-api-key` header.
    ApiKeyHeader,
    /// `?key=` query parameter.
    ApiKeyQuery,
    /// `Authorization: Token auth_tokens/...` header.
    TokenHeader,
    /// `?access_token=auth_tokens/...` query parameter.
    TokenQuery,
    /// No credential.
    None,
}

/// One WebSocket upgrade request the simulator saw ([`SimulatorHandle::upgrades`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpgradeRecord {
    /// The request path, without the query.
    pub path: String,
    /// The credential forms present, in the order header key, query key, header token,
    /// query token (more than one means the client sent the credential twice).
    pub credentials: Vec<CredentialForm>,
    /// The credential value, when it was an ephemeral token (`auth_tokens/...`).
    pub token: Option<String>,
    /// An ephemeral token (`auth_tokens/...`) was sent as an API key (`x-goog-api-key` or
    /// `?key=`), which the service refuses.
    pub key_is_token: bool,
}

impl Shared {
    /// Mints an ephemeral token good for `uses` new sessions.
    pub(super) fn mint_token(&self, uses: u64) -> String {
        let name = format!(
            "auth_tokens/sim-{}",
            self.next_token.fetch_add(1, Ordering::SeqCst) + 1
        );
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.clone(), uses);
        name
    }

    /// Uses `token` for one new session; `false` when it is unknown or used up.
    pub(super) fn use_token(&self, token: &str) -> bool {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        match tokens.get_mut(token) {
            Some(left) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        }
    }
}

impl Shared {
    pub(super) fn new_connection(&self) -> usize {
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        recorded.push(Vec::new());
        self.connections.fetch_add(1, Ordering::SeqCst);
        recorded.len() - 1
    }

    /// Registers `handle` of `session` with the session's `state` at that moment.
    pub(super) fn register_handle(&self, handle: String, session: u64, state: SavedSession) {
        let mut handles = self.handles.lock().unwrap_or_else(PoisonError::into_inner);
        let mut per_session = self
            .session_handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let kept = per_session.entry(session).or_default();
        kept.push_back(handle.clone());
        while kept.len() > HANDLES_KEPT {
            if let Some(old) = kept.pop_front() {
                handles.remove(&old);
            }
        }
        handles.insert(handle, (session, state));
    }

    /// The session and snapshot `handle` resumes, if it is known.
    pub(super) fn resume(&self, handle: &str) -> Option<(u64, SavedSession)> {
        self.handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(handle)
            .cloned()
    }

    pub(super) fn record(&self, connection: usize, message: Value) {
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(list) = recorded.get_mut(connection) {
            list.push(message);
        }
    }
}

/// The Gemini Live simulator. See the module docs for what it does.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Binds `config.addr` and serves connections on a background task until
    /// [`SimulatorHandle::shutdown`] or the handle is dropped.
    ///
    /// # Errors
    /// The bind error, for example when the address is in use.
    pub async fn start(config: SimulatorConfig) -> std::io::Result<SimulatorHandle> {
        let listener = TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let config = Arc::new(config);
        // The REST side (`generateContent`) listens on a second port of the same address.
        let (rest_addr, rest_task) = rest::start(
            addr.ip(),
            Arc::clone(&config),
            Arc::clone(&shared),
            shutdown_rx.clone(),
        )
        .await?;
        let live = accept_loop(listener, Arc::clone(&shared), config, shutdown_rx);
        let task = tokio::spawn(async move {
            live.await;
            let _ = rest_task.await;
        });
        Ok(SimulatorHandle {
            addr,
            rest_addr,
            shared,
            shutdown_tx,
            task: Some(task),
        })
    }
}

/// A running [`Simulator`]. Dropping it stops the simulator too.
#[derive(Debug)]
pub struct SimulatorHandle {
    addr: SocketAddr,
    rest_addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown_tx: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl SimulatorHandle {
    /// The address the simulator listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint URL: `ws://127.0.0.1:PORT/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent`.
    pub fn url(&self) -> String {
        format!("ws://{}{SIMULATOR_PATH}", self.addr)
    }

    /// The base URL of the REST side, for [`crate::FeedbackClient::new`]:
    /// `http://127.0.0.1:PORT` (it serves `POST /v1beta/models/{model}:generateContent`).
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.rest_addr)
    }

    /// Every client message of every connection, in order: one list per accepted WebSocket
    /// connection, in the order the connections were accepted. A message that is not JSON is
    /// recorded as a JSON string of its text.
    pub fn recorded(&self) -> Vec<Vec<Value>> {
        self.shared
            .recorded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every WebSocket upgrade request, accepted or refused, in order: its path and the
    /// credential forms it carried.
    pub fn upgrades(&self) -> Vec<UpgradeRecord> {
        self.shared
            .upgrades_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The JSON bodies of the `POST /v1alpha/auth_tokens` requests, in order.
    pub fn token_requests(&self) -> Vec<Value> {
        self.shared
            .token_requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The ephemeral-token endpoint URL: `ws://127.0.0.1:PORT/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained`.
    pub fn token_url(&self) -> String {
        format!("ws://{}{SIMULATOR_TOKEN_PATH}", self.addr)
    }

    /// How many WebSocket connections were accepted (refused upgrades do not count).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Every close the simulator itself started, as `(connection, code, reason)`, in order
    /// (connections are numbered from 0 in accept order). Closes started by the client are
    /// not listed.
    pub fn server_closes(&self) -> Vec<(usize, u16, String)> {
        self.shared
            .closes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops accepting, closes open connections with 1001 "Simulator shutting down", and
    /// waits (at most about 2 s) for them to finish.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown_tx.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimulatorHandle {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
    }
}

pub(super) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    config: Arc<SimulatorConfig>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve(stream, Arc::clone(&shared), Arc::clone(&config), shutdown.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "simulator accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let drain = async { while connections.join_next().await.is_some() {} };
    if timeout(Duration::from_secs(2), drain).await.is_err() {
        connections.abort_all();
    }
}
