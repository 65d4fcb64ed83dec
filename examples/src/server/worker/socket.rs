//! The candidate's WebSocket as the driver core sees it ([`WsClient`]: a stream of
//! [`ClientFrame`]s and a sink of binary frames), with the worker's keepalive: a WebSocket
//! ping every [`CLIENT_PING_INTERVAL`], written between the driver's frames. Also the
//! bounded writes outside an interview: a refusal, the last close.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bytes::Bytes;
use futures::{Sink, Stream};
use preppal_core::codec;
use preppal_core::proto::{self, server_to_client_message::Message as ToClient};
use preppal_gemini::driver::{ClientFrame, FINAL_WRITE_TIMEOUT};

/// How often the worker pings the candidate's socket (WebSocket ping frames); the pongs
/// keep the session's client-silence timer from firing.
pub const CLIENT_PING_INTERVAL: Duration = Duration::from_secs(5);

/// An upgraded candidate socket, pinged every [`CLIENT_PING_INTERVAL`] while the driver
/// polls it (reading, or flushing while the model connects).
#[derive(Debug)]
pub struct WsClient {
    ws: WebSocket,
    ping: tokio::time::Interval,
    /// A ping is due and not yet taken by the socket.
    ping_owed: bool,
    /// A ping went into the socket and is not flushed yet.
    ping_unflushed: bool,
}

impl WsClient {
    /// Wraps an upgraded socket; the first ping goes out at once.
    ///
    /// # Panics
    /// Outside a tokio runtime with its time driver (as `tokio::time::interval`).
    pub fn new(ws: WebSocket) -> Self {
        let mut ping = tokio::time::interval(CLIENT_PING_INTERVAL);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            ws,
            ping,
            ping_owed: false,
            ping_unflushed: false,
        }
    }

    /// Gives the socket back (to close it).
    pub fn into_inner(self) -> WebSocket {
        self.ws
    }

    /// Writes a due ping when the socket has room; `Err` when the socket failed.
    fn poll_ping(&mut self, cx: &mut Context<'_>) -> Result<(), axum::Error> {
        if self.ping.poll_tick(cx).is_ready() {
            self.ping_owed = true;
        }
        let mut ws = Pin::new(&mut self.ws);
        if self.ping_owed {
            if let Poll::Ready(ready) = ws.as_mut().poll_ready(cx) {
                ready?;
                ws.as_mut().start_send(Message::Ping(Bytes::new()))?;
                self.ping_owed = false;
                self.ping_unflushed = true;
            }
        }
        if self.ping_unflushed {
            if let Poll::Ready(flushed) = ws.poll_flush(cx) {
                flushed?;
                self.ping_unflushed = false;
            }
        }
        Ok(())
    }
}

impl Stream for WsClient {
    type Item = ClientFrame;

    /// The next frame; a close frame, a failure or the socket's end is the end of the
    /// stream.
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ClientFrame>> {
        let this = &mut *self;
        if this.poll_ping(cx).is_err() {
            return Poll::Ready(None);
        }
        Pin::new(&mut this.ws).poll_next(cx).map(|m| match m {
            Some(Ok(Message::Binary(b))) => Some(ClientFrame::Binary(b)),
            Some(Ok(Message::Text(_))) => Some(ClientFrame::Text),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Some(ClientFrame::Control),
            Some(Ok(Message::Close(_)) | Err(_)) | None => None,
        })
    }
}

impl Sink<Bytes> for WsClient {
    type Error = axum::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.ws).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, frame: Bytes) -> Result<(), Self::Error> {
        Pin::new(&mut self.ws).start_send(Message::Binary(frame))
    }

    /// Flushes, writing a due ping first: the driver polls this while it holds the
    /// candidate's frames back (the model is connecting), so the pings go on then too.
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = &mut *self;
        this.poll_ping(cx)?;
        Pin::new(&mut this.ws).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.ws).poll_close(cx)
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
