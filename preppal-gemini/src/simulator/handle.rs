//! The running simulator: shared state, [`Simulator::start`], [`SimulatorHandle`] and the
//! accept loop.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::timeout;

use super::connection::serve;
use super::shared::{Shared, UpgradeRecord};
use super::{rest, SimulatorConfig, SIMULATOR_PATH, SIMULATOR_TOKEN_PATH};

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
