//! The candidate's socket as the driver holds it: reads and writes polled together, from one
//! future that is safe to drop at any point, so a candidate that stops reading can never
//! block the driver.
//!
//! Messages for the candidate wait in a queue bounded in bytes ([`CLIENT_QUEUE_BYTES`]);
//! [`ClientLink::poll_io`] moves them into the socket as far as it takes them (one flush for
//! all that went in), then reads. When the queue would overflow, or a write has made no
//! progress for [`CLIENT_WRITE_TIMEOUT`], the candidate counts as gone: the driver drops the
//! socket and the reconnect grace period starts.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{Sink, Stream};
use preppal_core::codec;
use preppal_core::proto::{self, server_to_client_message::Message as ToClient};

/// Most bytes of messages waiting for the candidate's socket: 1 MiB, about 20 s of the
/// interviewer's 24 kHz PCM16LE audio (48 000 bytes a second). A client that reads keeps it
/// near empty; past it the client is taken as gone.
pub const CLIENT_QUEUE_BYTES: usize = 1024 * 1024;

/// How long a write to the candidate's socket may make no progress before the candidate is
/// taken as gone: 10 s. Checked on the driver's ping tick
/// ([`super::driver::CLIENT_PING_INTERVAL`]), so it fires 10 to 15 s after the last progress.
pub const CLIENT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait for a write outside an interview (a refusal, the last close frame, the
/// model's close): 2 s, so that a peer that does not read cannot hold a driver or a drain.
pub const FINAL_WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// The queue is full: the candidate does not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the candidate's socket has {queued} bytes waiting; it does not read")]
pub struct Overflow {
    /// Bytes waiting, in the queue.
    pub queued: usize,
}

/// What [`ClientLink::poll_io`] found.
#[derive(Debug)]
pub enum ClientIo {
    /// A message arrived (or the socket failed or closed: `None` / `Some(Err)`).
    Received(Option<Result<Message, axum::Error>>),
    /// A write failed: the socket is gone.
    WriteFailed,
}

/// The candidate's socket and its outgoing queue.
#[derive(Debug)]
pub struct ClientLink {
    ws: WebSocket,
    out: VecDeque<Message>,
    out_bytes: usize,
    unflushed: bool,
    blocked_since: Option<Instant>,
}

fn len(m: &Message) -> usize {
    match m {
        Message::Binary(b) => b.len(),
        Message::Text(t) => t.len(),
        Message::Ping(b) | Message::Pong(b) => b.len(),
        Message::Close(_) => 2,
    }
}

impl ClientLink {
    /// Wraps an upgraded socket.
    pub fn new(ws: WebSocket) -> Self {
        Self {
            ws,
            out: VecDeque::new(),
            out_bytes: 0,
            unflushed: false,
            blocked_since: None,
        }
    }

    /// Queues `msg` for the socket; written by the next [`ClientLink::poll_io`].
    ///
    /// # Errors
    /// [`Overflow`] when the queue holds [`CLIENT_QUEUE_BYTES`] already; `msg` is dropped.
    pub fn enqueue(&mut self, msg: Message) -> Result<(), Overflow> {
        let n = len(&msg);
        if self.out_bytes + n > CLIENT_QUEUE_BYTES && !self.out.is_empty() {
            return Err(Overflow {
                queued: self.out_bytes,
            });
        }
        self.out_bytes += n;
        self.out.push_back(msg);
        Ok(())
    }

    /// Bytes waiting in the queue.
    pub fn queued_bytes(&self) -> usize {
        self.out_bytes
    }

    /// Whether a write has made no progress for longer than [`CLIENT_WRITE_TIMEOUT`].
    pub fn write_timed_out(&self, now: Instant) -> bool {
        self.blocked_since
            .is_some_and(|at| now.saturating_duration_since(at) > CLIENT_WRITE_TIMEOUT)
    }

    /// Writes what the socket takes, then reads (when `read`). Safe to drop at any point
    /// (nothing is held across a `Pending`): polled inside the driver's `select!` on every
    /// turn.
    pub fn poll_io(&mut self, cx: &mut Context<'_>, read: bool) -> Poll<ClientIo> {
        if let Poll::Ready(Err(())) = self.poll_write(cx) {
            return Poll::Ready(ClientIo::WriteFailed);
        }
        if !read {
            return Poll::Pending;
        }
        Pin::new(&mut self.ws).poll_next(cx).map(ClientIo::Received)
    }

    /// Writes what the socket takes: ready when the queue is empty and flushed, `Err` when
    /// the socket failed.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        if !self.out.is_empty() || self.unflushed {
            let mut progressed = false;
            while let Some(front) = self.out.front() {
                match Pin::new(&mut self.ws).poll_ready(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(_)) => return Poll::Ready(Err(())),
                    Poll::Pending => break,
                }
                let n = len(front);
                let Some(msg) = self.out.pop_front() else {
                    break;
                };
                self.out_bytes -= n;
                if Pin::new(&mut self.ws).start_send(msg).is_err() {
                    return Poll::Ready(Err(()));
                }
                self.unflushed = true;
                progressed = true;
            }
            if self.unflushed {
                match Pin::new(&mut self.ws).poll_flush(cx) {
                    Poll::Ready(Ok(())) => {
                        self.unflushed = false;
                        progressed = true;
                    }
                    Poll::Ready(Err(_)) => return Poll::Ready(Err(())),
                    Poll::Pending => {}
                }
            }
            if self.out.is_empty() && !self.unflushed {
                self.blocked_since = None;
            } else if progressed || self.blocked_since.is_none() {
                self.blocked_since = Some(Instant::now());
            }
        }
        if self.out.is_empty() && !self.unflushed {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    /// Writes the whole queue (the last messages of an interview), for at most `wait`;
    /// whether it all went out.
    pub async fn flush_queue(&mut self, wait: Duration) -> bool {
        matches!(
            tokio::time::timeout(wait, std::future::poll_fn(|cx| self.poll_write(cx))).await,
            Ok(Ok(()))
        )
    }

    /// Gives the socket back (to close it).
    pub fn into_inner(self) -> WebSocket {
        self.ws
    }
}

/// [`ClientLink::poll_io`] on the link, if any; never ready without one. With `read`
/// false only the queue is written: the candidate's messages wait in the socket.
pub async fn next_io(link: &mut Option<ClientLink>, read: bool) -> ClientIo {
    match link {
        Some(l) => std::future::poll_fn(|cx| l.poll_io(cx, read)).await,
        None => std::future::pending().await,
    }
}

pub(super) fn error_message(code: i32, message: &str) -> Message {
    Message::Binary(codec::encode_server(&proto::ServerToClientMessage {
        message: Some(ToClient::ErrorResponse(proto::ErrorResponse {
            code,
            message: message.to_owned(),
            kind: 0,
        })),
    }))
}

/// Sends an `ErrorResponse` with `code` and `message`, then closes with `close_code`; gives
/// up after [`FINAL_WRITE_TIMEOUT`].
pub async fn refuse(mut ws: WebSocket, code: i32, message: &str, close_code: u16) {
    let _ = tokio::time::timeout(FINAL_WRITE_TIMEOUT, async {
        let _ = ws.send(error_message(code, message)).await;
        let _ = ws
            .send(Message::Close(Some(CloseFrame {
                code: close_code,
                reason: message.into(),
            })))
            .await;
    })
    .await;
}

/// Closes `ws` with `code` and `reason` and waits for the client's close frame (the
/// closing handshake), reading what it sent meanwhile: a socket closed with unread data
/// is reset, and a reset can discard the last messages before the client reads them.
/// Gives up after [`FINAL_WRITE_TIMEOUT`].
pub(super) async fn close(mut ws: WebSocket, code: u16, reason: &str) {
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    let _ = tokio::time::timeout(FINAL_WRITE_TIMEOUT, async {
        if ws.send(frame).await.is_err() {
            return;
        }
        while let Some(Ok(m)) = ws.recv().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}
