//! `GET /metrics`: the process's live-interview figures in the Prometheus text format
//! (OpenMetrics 1.0 text, which Prometheus scrapes), from `prometheus-client`.
//!
//! The counters live in one registry per process ([`global`]); the driver records with
//! one-line calls ([`frame_to_model`], [`frame_to_client`], [`first_model_audio`],
//! [`relay_latency`], [`reconnect`], [`error`], [`LiveInterviewGauge`]). Process CPU and
//! resident memory are read from `/proc/self` at each scrape (Linux; absent elsewhere).
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `preppal_live_interviews` | gauge | interviews with a driver running in this process |
//! | `preppal_frames_relayed_total{direction}` | counter | audio frames relayed, `client_to_model` or `model_to_client` |
//! | `preppal_first_model_audio_seconds` | histogram | from the model's `setupComplete` to its first audio, per interview |
//! | `preppal_relay_latency_seconds{direction}` | histogram | from a frame's arrival to its send on the other socket, in the driver |
//! | `preppal_model_reconnects_total` | counter | moves to a new model connection (`goAway`, retryable closes, stalls) |
//! | `preppal_errors_total{kind}` | counter | errors by kind (see [`ErrorKind`]) |
//! | `process_cpu_seconds` | gauge | user + system CPU time of this process so far, s |
//! | `process_resident_memory_bytes` | gauge | resident memory of this process, bytes |

use std::sync::atomic::AtomicU64;
use std::sync::LazyLock;
use std::time::Duration;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Which way a frame went.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Direction {
    /// Candidate audio, browser → model.
    client_to_model,
    /// Model audio, model → browser.
    model_to_client,
}

/// Kinds of errors counted in `preppal_errors_total{kind}`.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The first model connection could not be made.
    model_connect,
    /// A command could not be sent to the model.
    model_send,
    /// A model frame could not be parsed.
    model_frame_refused,
    /// A client message was refused (malformed, too large, text frame).
    client_message_refused,
    /// Candidate audio frames were dropped by the rate limit.
    audio_rate_limited,
    /// The interview's context could not be loaded.
    context_unavailable,
    /// The persister did not finish in time, or stopped early.
    persist,
    /// Typed answers were dropped by the rate limit.
    text_rate_limited,
    /// The candidate's socket stopped taking data (queue full or write timed out).
    client_write_stalled,
    /// The model's socket stopped taking data (write timed out).
    model_write_timeout,
    /// Candidate audio was dropped because the model's queue was full.
    model_queue_full,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabel {
    direction: Direction,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: ErrorKind,
}

/// The process's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    live: Gauge,
    /// The two series of `frames` and of `relay_latency`, looked up once so that the
    /// per-frame path takes no family lock and does no label hashing.
    frames_up: Counter,
    frames_down: Counter,
    first_audio: Histogram,
    latency_up: Histogram,
    latency_down: Histogram,
    reconnects: Counter,
    errors: Family<KindLabel, Counter>,
    cpu_seconds: Gauge<f64, AtomicU64>,
    rss_bytes: Gauge,
}

fn latency_histogram() -> Histogram {
    // 50 µs to about 1.6 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::default();
        let live = Gauge::default();
        let frames = Family::<DirectionLabel, Counter>::default();
        let first_audio = Histogram::new(exponential_buckets(0.05, 2.0, 10));
        let relay_latency = Family::<DirectionLabel, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let reconnects = Counter::default();
        let errors = Family::<KindLabel, Counter>::default();
        let cpu_seconds = Gauge::<f64, AtomicU64>::default();
        let rss_bytes = Gauge::default();
        registry.register(
            "preppal_live_interviews",
            "Interviews with a driver running in this process",
            live.clone(),
        );
        registry.register(
            "preppal_frames_relayed",
            "Audio frames relayed, by direction",
            frames.clone(),
        );
        registry.register(
            "preppal_first_model_audio_seconds",
            "From the model's setupComplete to its first audio, per interview",
            first_audio.clone(),
        );
        registry.register(
            "preppal_relay_latency_seconds",
            "From a frame's arrival to its send on the other socket, in the driver",
            relay_latency.clone(),
        );
        registry.register(
            "preppal_model_reconnects",
            "Moves to a new model connection",
            reconnects.clone(),
        );
        registry.register("preppal_errors", "Errors by kind", errors.clone());
        registry.register(
            "process_cpu_seconds",
            "User and system CPU time of this process so far",
            cpu_seconds.clone(),
        );
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory of this process",
            rss_bytes.clone(),
        );
        let up = DirectionLabel {
            direction: Direction::client_to_model,
        };
        let down = DirectionLabel {
            direction: Direction::model_to_client,
        };
        let frames_up = frames.get_or_create(&up).clone();
        let frames_down = frames.get_or_create(&down).clone();
        let latency_up = relay_latency.get_or_create(&up).clone();
        let latency_down = relay_latency.get_or_create(&down).clone();
        Self {
            registry,
            live,
            frames_up,
            frames_down,
            first_audio,
            latency_up,
            latency_down,
            reconnects,
            errors,
            cpu_seconds,
            rss_bytes,
        }
    }

    /// The registry in the text format, after reading the process's CPU and memory.
    pub fn encode(&self) -> String {
        let pid = std::process::id();
        if let Ok(cpu) = crate::procstat::cpu_time(pid, *TICKS) {
            self.cpu_seconds.set(cpu.total_ms() / 1_000.0);
        }
        if let Ok(rss) = crate::procstat::rss_bytes(pid) {
            self.rss_bytes.set(i64::try_from(rss).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

static TICKS: LazyLock<f64> = LazyLock::new(crate::procstat::clock_ticks_per_second);
static GLOBAL: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// This process's metrics.
pub fn global() -> &'static Metrics {
    &GLOBAL
}

/// One candidate audio frame relayed to the model.
pub fn frame_to_model() {
    GLOBAL.frames_up.inc();
}

/// One model audio chunk relayed to the client.
pub fn frame_to_client() {
    GLOBAL.frames_down.inc();
}

/// An interview's first model audio came `after` the model's `setupComplete`.
pub fn first_model_audio(after: Duration) {
    GLOBAL.first_audio.observe(after.as_secs_f64());
}

/// A frame going `direction` took `took` from its arrival to its send.
pub fn relay_latency(direction: Direction, took: Duration) {
    let series = match direction {
        Direction::client_to_model => &GLOBAL.latency_up,
        Direction::model_to_client => &GLOBAL.latency_down,
    };
    series.observe(took.as_secs_f64());
}

/// The model session moved to a new connection.
pub fn reconnect() {
    GLOBAL.reconnects.inc();
}

/// An error of `kind`.
pub fn error(kind: ErrorKind) {
    GLOBAL.errors.get_or_create(&KindLabel { kind }).inc();
}

/// Counts one live interview in `preppal_live_interviews` while it is alive.
#[derive(Debug)]
pub struct LiveInterviewGauge(());

impl LiveInterviewGauge {
    /// Counts one more live interview until the value is dropped.
    pub fn start() -> Self {
        GLOBAL.live.inc();
        Self(())
    }
}

impl Drop for LiveInterviewGauge {
    fn drop(&mut self) {
        GLOBAL.live.dec();
    }
}

/// `GET /metrics`: the text format, `Content-Type: application/openmetrics-text`.
pub async fn metrics_handler() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        global().encode(),
    )
        .into_response()
}
