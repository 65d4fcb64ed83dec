//! The HTTP server loop of `serve`, `web` and `worker`: hyper's HTTP/1.1 and HTTP/2 (with
//! upgrades, for the interview WebSocket) with two limits that `axum::serve` does not set:
//!
//! - a header-read timeout ([`HttpArgs::header_read_timeout_secs`]): a connection that
//!   has not sent a whole request head in time is closed (hyper's
//!   `http1::Builder::header_read_timeout`, on the tokio timer), so slow-header clients
//!   cannot hold connections open;
//! - a connection cap ([`HttpArgs::max_connections`]): accepting waits while that many
//!   connections are open (a semaphore permit per connection, given back when it closes,
//!   WebSocket upgrades included), so file descriptors stay bounded; the kernel's backlog
//!   holds the rest.
//!
//! Every accepted socket gets `TCP_NODELAY` (an interview's frames are small and
//! latency-bound; with Nagle's algorithm a frame written while an earlier one is
//! unacknowledged waits for the peer's ACK, which Linux may delay by up to 40 ms).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// An accepted socket holding its connection permit for as long as it lives (through a
/// WebSocket upgrade too).
struct Counted {
    tcp: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
}

/// Default of `--header-read-timeout-secs`.
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;
/// Default of `--max-connections`.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 4_096;

/// Options of the HTTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct HttpArgs {
    /// Seconds a connection has to send a whole request head before it is closed.
    #[arg(long, env = "PREPPAL_HEADER_READ_TIMEOUT_SECS", default_value_t = DEFAULT_HEADER_READ_TIMEOUT_SECS)]
    pub header_read_timeout_secs: u64,
    /// Connections open at once (WebSockets included); more wait to be accepted.
    #[arg(long, env = "PREPPAL_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: u32,
}

impl Default for HttpArgs {
    fn default() -> Self {
        Self {
            header_read_timeout_secs: DEFAULT_HEADER_READ_TIMEOUT_SECS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and
/// waits for the open HTTP connections to finish their requests (upgraded WebSockets are
/// the worker tier's to end).
///
/// # Errors
/// None so far (accept errors are logged and retried); the `Result` leaves room.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    args: HttpArgs,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(
        usize::try_from(args.max_connections.max(1)).unwrap_or(usize::MAX),
    ));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(args.header_read_timeout_secs.max(1)));
    builder
        .http2()
        .timer(TokioTimer::new())
        .enable_connect_protocol();
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let tcp = tokio::select! {
            r = listener.accept() => match r {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, then retry.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set on an accepted connection");
        }
        let service = TowerToHyperService::new(router.clone());
        let io = Counted {
            tcp,
            _permit: permit,
        };
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::trace!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
