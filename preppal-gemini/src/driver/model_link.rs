//! The model's connection as the driver holds it: made in a task of its own (setup and its
//! retries never block the interview) or handed over live, then driven as one stream that
//! sends queued commands and yields the model's events, polled inside the driver's
//! `select!`.
//!
//! ```text
//! Idle ──start──► Connecting (task; Retry notes)  ──ok──► Live (stream) ──► Gone
//!                              └──────────── failed / aborted ─────────────────►┘
//! ```
//!
//! Commands for the model wait in an [`Outbox`] bounded to [`MODEL_QUEUE`] commands
//! (candidate audio past it is dropped and noted). The stream sends them in order; a send
//! that makes no progress for [`MODEL_WRITE_TIMEOUT`] ends the connection
//! ([`ModelIo::WriteTimedOut`]): the model stopped reading, and the interview ends with that
//! reason rather than wait on it.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use futures::{Stream, StreamExt as _};
use preppal_core::{ModelCommand, ModelEvent, TranscriptEntry};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::LiveError;
use crate::resilient::ResilientSession;

/// Called before each retry of a first connection, with the failure and the backoff delay.
pub type RetryNote = Box<dyn FnMut(&LiveError, Duration) + Send>;

/// A model connection being made: the future [`ConnectModel::connect`] returns.
pub type Connecting = Pin<Box<dyn Future<Output = Result<ResilientSession, LiveError>> + Send>>;

/// How the driver connects the model when the session asks for it
/// ([`preppal_core::InterviewSession::wants_model`]): the host knows the endpoint, the key,
/// the interviewer's instruction and any stored resumption handle.
pub trait ConnectModel: Send + Sync {
    /// Connects the model for this interview: fresh when `seed` is `None` (the model greets
    /// the candidate), or for an interview under way, seeded with `seed`, the stored
    /// transcript ([`preppal_core::InterviewSession::model_seed`]). `on_retry` is called
    /// before each retry. Runs in a task of its own.
    ///
    /// # Errors
    /// The [`LiveError`] of the last attempt, when no connection could be made.
    fn connect(&self, seed: Option<Vec<TranscriptEntry>>, on_retry: RetryNote) -> Connecting;
}

/// Most commands waiting for the model's socket: 256 (about 5 s of 20 ms audio frames).
/// Past it, candidate audio is dropped; other commands (typed answers, which are rate
/// limited, and instructions) are kept up to [`MODEL_QUEUE`] + 64.
pub const MODEL_QUEUE: usize = 256;

/// How long one write to the model's socket may take before the connection is given up:
/// 10 s.
pub const MODEL_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The close code the session is given when the model stopped reading (1011, internal
/// error, as the service uses for its own failures).
pub const WRITE_TIMEOUT_CLOSE_CODE: u16 = 1011;

/// Commands on their way to the model, shared by the driver and the connection's stream.
///
/// The length is mirrored in an atomic so that the stream's checks on every poll ("is a
/// command waiting?") take no lock: per relayed frame one lock to queue it and one to take it.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    queue: Mutex<VecDeque<ModelCommand>>,
    len: AtomicUsize,
    /// The interview is not at a quiet moment (`InterviewSession::is_quiet`), for the
    /// connection's `ResilientSession::set_quiet`.
    busy: AtomicBool,
    /// A transcript handed over on `Reconnecting`, for `ResilientSession::set_history`.
    history: Mutex<Option<Vec<TranscriptEntry>>>,
    history_waiting: AtomicBool,
}

impl Outbox {
    /// Queues `cmd`; `false` when it was dropped because the queue is full.
    pub(crate) fn push(&self, cmd: ModelCommand) -> bool {
        let Ok(mut q) = self.queue.lock() else {
            return false;
        };
        let limit = if matches!(cmd, ModelCommand::Audio(_)) {
            MODEL_QUEUE
        } else {
            MODEL_QUEUE + 64
        };
        if q.len() >= limit {
            return false;
        }
        q.push_back(cmd);
        self.len.store(q.len(), Ordering::Release);
        true
    }

    fn pop(&self) -> Option<ModelCommand> {
        if self.is_empty() {
            return None;
        }
        let mut q = self.queue.lock().ok()?;
        let cmd = q.pop_front();
        self.len.store(q.len(), Ordering::Release);
        cmd
    }

    fn is_empty(&self) -> bool {
        self.len.load(Ordering::Acquire) == 0
    }

    /// Whether the connection has something to take from the driver besides commands: a
    /// quiet state other than `quiet`, or a handed transcript.
    fn news_for(&self, quiet: bool) -> bool {
        self.busy.load(Ordering::Acquire) == quiet || self.history_waiting.load(Ordering::Acquire)
    }

    /// Gives `live` the driver's quiet state and handed transcript; the quiet state now.
    fn hand_over(&self, live: &mut ResilientSession) -> bool {
        let quiet = !self.busy.load(Ordering::Acquire);
        live.set_quiet(quiet);
        if self.history_waiting.swap(false, Ordering::AcqRel) {
            if let Some(entries) = self.history.lock().ok().and_then(|mut h| h.take()) {
                live.set_history(&entries);
            }
        }
        quiet
    }
}

/// What the live connection's stream yields.
#[derive(Debug)]
pub(crate) enum ModelIo {
    /// The model's next event, as [`ResilientSession::next_event`] gives it.
    Event(Option<Result<ModelEvent, LiveError>>),
    /// A command could not be sent (logged; the session goes on, as before).
    SendFailed(LiveError),
    /// A write made no progress for [`MODEL_WRITE_TIMEOUT`]: the connection is given up.
    WriteTimedOut,
}

/// A retry of the model's first connection.
#[derive(Debug, Clone)]
pub struct Retry {
    /// The attempt about to be made: 2 for the first retry.
    pub attempt: u32,
    /// Why the last one failed.
    pub error: String,
    /// The backoff before it.
    pub delay: Duration,
}

/// What [`ModelLink::next`] found.
#[derive(Debug)]
pub(crate) enum ModelStep {
    /// The first connection is being tried again.
    Retrying(Retry),
    /// The first connection was made (the link is now live) or failed for good, with the
    /// close code and reason the failure maps to (`LiveError::close_parts`).
    Connected(Result<(), (u16, String)>),
    /// From the live connection.
    Io(ModelIo),
}

type LiveStream = Pin<Box<dyn Stream<Item = ModelIo> + Send>>;

/// The model's connection in one of its stages.
#[derive(Default)]
pub(crate) enum ModelLink {
    /// Not tried yet.
    #[default]
    Idle,
    /// Being made.
    Connecting {
        /// The task making it.
        task: JoinHandle<Result<ResilientSession, LiveError>>,
        /// Its retry notes.
        retries: mpsc::Receiver<Retry>,
    },
    /// Connected.
    Live {
        /// The connection's stream.
        stream: LiveStream,
        /// Its commands.
        outbox: Arc<Outbox>,
    },
    /// Closed, failed or given up.
    Gone,
}

impl std::fmt::Debug for ModelLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Idle => "Idle",
            Self::Connecting { .. } => "Connecting",
            Self::Live { .. } => "Live",
            Self::Gone => "Gone",
        })
    }
}

impl ModelLink {
    /// Starts connecting in a task of its own, through `connector`: seeded with `seed`
    /// when given (an interview under way), fresh otherwise.
    pub(crate) fn start(connector: &dyn ConnectModel, seed: Option<Vec<TranscriptEntry>>) -> Self {
        let (tx, retries) = mpsc::channel(8);
        let mut attempt = 1u32;
        let on_retry: RetryNote = Box::new(move |e: &LiveError, delay: Duration| {
            attempt += 1;
            let _ = tx.try_send(Retry {
                attempt,
                error: e.to_string(),
                delay,
            });
        });
        let task = tokio::spawn(connector.connect(seed, on_retry));
        Self::Connecting { task, retries }
    }

    /// A link over a connection made already.
    pub(crate) fn live(live: ResilientSession) -> Self {
        let outbox = Arc::new(Outbox::default());
        let stream = live_stream(live, Arc::clone(&outbox));
        Self::Live { stream, outbox }
    }

    /// Whether a connection is being made.
    pub(crate) fn is_connecting(&self) -> bool {
        matches!(self, Self::Connecting { .. })
    }

    /// Whether the connection is live.
    pub(crate) fn is_live(&self) -> bool {
        matches!(self, Self::Live { .. })
    }

    /// Queues `cmd` for a live connection; `false` when it was dropped (no live connection,
    /// or the queue is full).
    pub(crate) fn send(&self, cmd: ModelCommand) -> bool {
        match self {
            Self::Live { outbox, .. } => outbox.push(cmd),
            _ => false,
        }
    }

    /// Tells a live connection whether the interview is at a quiet moment
    /// (`InterviewSession::is_quiet`; a `goAway` switch waits for one).
    pub(crate) fn set_quiet(&self, quiet: bool) {
        if let Self::Live { outbox, .. } = self {
            outbox.busy.store(!quiet, Ordering::Release);
        }
    }

    /// Hands a live connection the interview's transcript on `Reconnecting`
    /// (`ResilientSession::set_history`: the seed of a new connection without a handle).
    pub(crate) fn set_history(&self, entries: Vec<TranscriptEntry>) {
        if let Self::Live { outbox, .. } = self {
            if let Ok(mut h) = outbox.history.lock() {
                *h = Some(entries);
                outbox.history_waiting.store(true, Ordering::Release);
            }
        }
    }

    /// Stops whatever is under way: the connecting task is aborted, a live connection
    /// dropped (its socket closed).
    pub(crate) fn stop(&mut self) {
        if let Self::Connecting { task, .. } = self {
            task.abort();
        }
        *self = Self::Gone;
    }

    /// The next step; cancel-safe (polled inside `select!`), never ready when idle or gone.
    pub(crate) async fn next(&mut self) -> ModelStep {
        match self {
            Self::Connecting { task, retries } => {
                tokio::select! {
                    Some(r) = retries.recv() => ModelStep::Retrying(r),
                    joined = task => {
                        match joined {
                            Ok(Ok(live)) => {
                                *self = Self::live(live);
                                ModelStep::Connected(Ok(()))
                            }
                            Ok(Err(e)) => {
                                *self = Self::Gone;
                                ModelStep::Connected(Err(e.close_parts()))
                            }
                            Err(e) => {
                                *self = Self::Gone;
                                ModelStep::Connected(Err((1011, format!("the connecting task failed: {e}"))))
                            }
                        }
                    }
                }
            }
            Self::Live { stream, .. } => match stream.next().await {
                Some(io) => io,
                None => {
                    *self = Self::Gone;
                    ModelIo::Event(None)
                }
            }
            .into(),
            Self::Idle | Self::Gone => std::future::pending().await,
        }
    }

    /// After the interview: lets the live connection send what is queued (the final
    /// `Close`) and see the model's close, for at most `wait`.
    pub(crate) async fn finish(&mut self, wait: Duration) {
        if let Self::Live { stream, .. } = self {
            let _ = tokio::time::timeout(wait, async {
                while let Some(io) = stream.next().await {
                    if matches!(
                        io,
                        ModelIo::Event(None | Some(Ok(ModelEvent::Closed { .. })))
                            | ModelIo::WriteTimedOut
                    ) {
                        break;
                    }
                }
            })
            .await;
        }
        self.stop();
    }
}

impl From<ModelIo> for ModelStep {
    fn from(io: ModelIo) -> Self {
        Self::Io(io)
    }
}

/// The live connection as one stream: each item is the next event, after every queued
/// command has been sent. Made once per connection (two allocations: the session and the
/// stream); per command and event it allocates nothing. The session is boxed on its own so
/// that each item moves a pointer between the stream's state and its next future, not the
/// whole session (the connection with its buffers, the config, the history).
fn live_stream(live: ResilientSession, outbox: Arc<Outbox>) -> LiveStream {
    Box::pin(futures::stream::unfold(
        (Box::new(live), outbox, false),
        |(mut live, outbox, done)| async move {
            if done {
                return None;
            }
            loop {
                let quiet = outbox.hand_over(&mut live);
                while let Some(cmd) = outbox.pop() {
                    let failed = {
                        let mut send = std::pin::pin!(live.send(cmd));
                        // Polled once first: a socket with room takes the frame at once, and
                        // only a write that waits costs a timer.
                        let sent = match futures::poll!(send.as_mut()) {
                            Poll::Ready(r) => Some(r),
                            Poll::Pending => {
                                tokio::time::timeout(MODEL_WRITE_TIMEOUT, send).await.ok()
                            }
                        };
                        match sent {
                            Some(Ok(())) => None,
                            Some(Err(e)) => Some(ModelIo::SendFailed(e)),
                            None => Some(ModelIo::WriteTimedOut),
                        }
                    };
                    if let Some(io) = failed {
                        let done = matches!(io, ModelIo::WriteTimedOut);
                        return Some((io, (live, outbox, done)));
                    }
                }
                // Wait for the model, unless a command comes first (the driver polls this
                // stream again on every turn of its loop, after queueing).
                let event = {
                    let mut next = std::pin::pin!(live.next_event());
                    std::future::poll_fn(|cx| {
                        if !outbox.is_empty() || outbox.news_for(quiet) {
                            return Poll::Ready(None);
                        }
                        next.as_mut().poll(cx).map(Some)
                    })
                    .await
                };
                if let Some(event) = event {
                    let done = event.is_none();
                    return Some((ModelIo::Event(event), (live, outbox, done)));
                }
            }
        },
    ))
}
