//! The candidate's client as the driver holds it: reads and writes polled together from one
//! future that is safe to drop at any point, so a client that stops reading never blocks
//! the driver.
//!
//! Frames for the client wait in a queue bounded in bytes ([`CLIENT_QUEUE_BYTES`]);
//! [`ClientLink::poll_io`] moves them into the connection as far as it takes them (one flush
//! for all that went in), then reads. When the queue would overflow, or a write has made no
//! progress for the driver's write timeout ([`CLIENT_WRITE_TIMEOUT`] by default), the client
//! counts as lost.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Sink, Stream};

/// Most bytes of frames waiting for the client: 1 MiB, about 20 s of the interviewer's
/// 24 kHz PCM16LE audio (48 000 bytes a second). A client that reads keeps it near empty;
/// past it the client counts as lost.
pub const CLIENT_QUEUE_BYTES: usize = 1024 * 1024;

/// How long a write to the client may make no progress before the client counts as lost
/// (its [`super::ClientLoss`] policy applies): 10 s by default
/// ([`super::InterviewDriver::with_client_write_timeout`]).
pub const CLIENT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait for a write after the interview (the last messages to the client, the
/// model's final `Close`): 2 s, so that a peer that does not read cannot hold the end.
pub const FINAL_WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// One frame from the candidate's client, as the driver's client stream yields it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientFrame {
    /// A binary frame: a protobuf `ClientToServerMessage` (`proto/interview.proto`).
    Binary(Bytes),
    /// A data frame that is not binary (a WebSocket text frame): refused with a typed
    /// error, the connection goes on.
    Text,
    /// A control frame (a WebSocket ping or pong): proof of life, nothing to decode.
    Control,
}

impl From<Bytes> for ClientFrame {
    fn from(b: Bytes) -> Self {
        Self::Binary(b)
    }
}

/// A client connection made of two halves: `from` (frames in, each item anything that
/// becomes a [`ClientFrame`], such as `Bytes`) and `to` (a sink for the encoded frames the
/// client is sent). Closing it closes `to`.
pub struct Duplex<R, W> {
    from: Pin<Box<R>>,
    to: Pin<Box<W>>,
}

impl<R, W> std::fmt::Debug for Duplex<R, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Duplex")
    }
}

impl<R, W> Duplex<R, W> {
    /// Joins `from` and `to` into one connection.
    pub fn new(from: R, to: W) -> Self {
        Self {
            from: Box::pin(from),
            to: Box::pin(to),
        }
    }
}

impl<R, W> Stream for Duplex<R, W>
where
    R: Stream,
    R::Item: Into<ClientFrame>,
{
    type Item = ClientFrame;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ClientFrame>> {
        self.from.as_mut().poll_next(cx).map(|f| f.map(Into::into))
    }
}

impl<R, W: Sink<Bytes>> Sink<Bytes> for Duplex<R, W> {
    type Error = W::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), W::Error>> {
        self.to.as_mut().poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Bytes) -> Result<(), W::Error> {
        self.to.as_mut().start_send(item)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), W::Error>> {
        self.to.as_mut().poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), W::Error>> {
        self.to.as_mut().poll_close(cx)
    }
}

/// The queue is full: the client does not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overflow;

/// What [`ClientLink::poll_io`] found.
#[derive(Debug)]
pub(crate) enum ClientIo {
    /// A frame arrived, or the stream ended (`None`).
    Received(Option<ClientFrame>),
    /// A write failed: the connection is gone.
    WriteFailed,
}

/// The client connection and its outgoing queue.
#[derive(Debug)]
pub(crate) struct ClientLink<C> {
    conn: C,
    out: VecDeque<Bytes>,
    out_bytes: usize,
    unflushed: bool,
    /// The last progress of a write that has not finished (none while the queue is empty).
    blocked_since: Option<Instant>,
}

impl<C> ClientLink<C>
where
    C: Stream<Item = ClientFrame> + Sink<Bytes> + Unpin,
{
    pub(crate) fn new(conn: C) -> Self {
        Self {
            conn,
            out: VecDeque::new(),
            out_bytes: 0,
            unflushed: false,
            blocked_since: None,
        }
    }

    /// Queues `frame`; written by the next [`ClientLink::poll_io`].
    ///
    /// # Errors
    /// [`Overflow`] when the queue holds [`CLIENT_QUEUE_BYTES`] already; `frame` is dropped.
    pub(crate) fn enqueue(&mut self, frame: Bytes) -> Result<(), Overflow> {
        let n = frame.len();
        if self.out_bytes + n > CLIENT_QUEUE_BYTES && !self.out.is_empty() {
            return Err(Overflow);
        }
        self.out_bytes += n;
        self.out.push_back(frame);
        Ok(())
    }

    /// Bytes waiting in the queue.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.out_bytes
    }

    /// When the write under way counts as stalled, with `timeout`: `None` while nothing
    /// waits.
    pub(crate) fn stall_deadline(&self, timeout: Duration) -> Option<Instant> {
        self.blocked_since.map(|at| at + timeout)
    }

    /// Writes what the connection takes, then reads (when `read`). Safe to drop at any
    /// point (nothing is held across a `Pending`): polled inside the driver's `select!` on
    /// every turn.
    pub(crate) fn poll_io(&mut self, cx: &mut Context<'_>, read: bool) -> Poll<ClientIo> {
        if let Poll::Ready(Err(())) = self.poll_write(cx) {
            return Poll::Ready(ClientIo::WriteFailed);
        }
        if !read {
            // Reads are held back, but the connection may have writes of its own to make
            // (a keepalive ping): its flush is polled.
            if let Poll::Ready(Err(_)) = Pin::new(&mut self.conn).poll_flush(cx) {
                return Poll::Ready(ClientIo::WriteFailed);
            }
            return Poll::Pending;
        }
        Pin::new(&mut self.conn)
            .poll_next(cx)
            .map(ClientIo::Received)
    }

    /// Writes what the connection takes: ready when the queue is empty and flushed, `Err`
    /// when the connection failed.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        if !self.out.is_empty() || self.unflushed {
            let mut progressed = false;
            while !self.out.is_empty() {
                match Pin::new(&mut self.conn).poll_ready(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(_)) => return Poll::Ready(Err(())),
                    Poll::Pending => break,
                }
                let Some(frame) = self.out.pop_front() else {
                    break;
                };
                self.out_bytes -= frame.len();
                if Pin::new(&mut self.conn).start_send(frame).is_err() {
                    return Poll::Ready(Err(()));
                }
                self.unflushed = true;
                progressed = true;
            }
            if self.unflushed {
                match Pin::new(&mut self.conn).poll_flush(cx) {
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
                if self.blocked_since.is_none() {
                    // The write just started waiting: the driver's loop turns once more, so
                    // that its timer is armed for the write timeout (rare: a client that
                    // reads never gets here).
                    cx.waker().wake_by_ref();
                }
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
    pub(crate) async fn flush_queue(&mut self, wait: Duration) -> bool {
        matches!(
            tokio::time::timeout(wait, std::future::poll_fn(|cx| self.poll_write(cx))).await,
            Ok(Ok(()))
        )
    }

    /// Gives the connection back.
    pub(crate) fn into_inner(self) -> C {
        self.conn
    }
}

/// [`ClientLink::poll_io`] on the link, if any; never ready without one. With `read`
/// false only the queue is written: the client's frames wait in the connection.
pub(crate) async fn next_io<C>(link: &mut Option<ClientLink<C>>, read: bool) -> ClientIo
where
    C: Stream<Item = ClientFrame> + Sink<Bytes> + Unpin,
{
    match link {
        Some(l) => std::future::poll_fn(|cx| l.poll_io(cx, read)).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    /// A connection whose sink never has room and whose stream never yields.
    struct Stuck;

    impl Stream for Stuck {
        type Item = ClientFrame;
        fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<ClientFrame>> {
            Poll::Pending
        }
    }

    impl Sink<Bytes> for Stuck {
        type Error = ();
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Pending
        }
        fn start_send(self: Pin<&mut Self>, _: Bytes) -> Result<(), ()> {
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_write_that_starts_waiting_arms_the_write_timeout_once() {
        let wakes = Arc::new(Wakes::default());
        let waker = std::task::Waker::from(Arc::clone(&wakes));
        let mut cx = Context::from_waker(&waker);
        let mut link = ClientLink::new(Stuck);
        let timeout = Duration::from_secs(10);
        assert_eq!(link.stall_deadline(timeout), None, "nothing waits yet");
        link.enqueue(Bytes::from_static(b"frame")).unwrap();
        assert!(link.poll_io(&mut cx, true).is_pending());
        let deadline = link.stall_deadline(timeout).expect("a stall deadline");
        assert!(deadline > Instant::now() + Duration::from_secs(9));
        assert_eq!(
            wakes.0.load(Ordering::SeqCst),
            1,
            "the loop turns to arm it"
        );
        // Still stuck: no progress, no new deadline, no more wakes (no busy loop).
        assert!(link.poll_io(&mut cx, true).is_pending());
        assert_eq!(link.stall_deadline(timeout), Some(deadline));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_queue_refuses_past_its_bound_but_always_takes_one_frame() {
        let mut link = ClientLink::new(Stuck);
        let big = Bytes::from(vec![0u8; CLIENT_QUEUE_BYTES + 1]);
        link.enqueue(big).unwrap();
        assert_eq!(link.enqueue(Bytes::from_static(b"x")), Err(Overflow));
        assert_eq!(link.queued_bytes(), CLIENT_QUEUE_BYTES + 1);
    }
}
