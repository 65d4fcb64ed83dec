//! # preppal-gemini
//!
//! The Gemini side of a live mock interview: an async Gemini Live client, the
//! post-interview feedback call, and a Gemini Live simulator for tests and offline use.
//! Wire facts follow the gemini-live-protocol notes (section numbers such as §3.1 in the
//! docs refer to them).
//!
//! An interview with a plan ([`preppal_core::plan::InterviewPlan`]) gets its system
//! instruction from [`planned_interviewer_instruction`] and its feedback from
//! [`FeedbackClient::generate_planned`], which asks for a score per competency on the
//! 1–4 rubric with quotes ([`feedback_plan`]).
//!
//! ## Layering
//!
//! Like tungstenite and tokio-tungstenite:
//!
//! - [`protocol`] is synchronous and does no I/O: [`protocol::setup_message`] builds the
//!   `setup` message, [`protocol::encode_command`] turns a [`preppal_core::ModelCommand`] into a
//!   client message, and [`protocol::parse_server_message`] turns a server frame into
//!   [`preppal_core::ModelEvent`]s.
//! - [`LiveConnection`] is the thin async layer: it opens the WebSocket (API key in the
//!   `x-goog-api-key` header), sends `setup`, waits for `setupComplete`, and then moves
//!   commands out and events in. [`LiveConnection::next_event`] is cancel-safe, so a driver can
//!   poll it inside `tokio::select!`.
//! - [`ResilientSession`] wraps [`LiveConnection`] for interviews longer than a connection:
//!   it resumes with the last `resumable` handle on `goAway`, retryable closes and stalls,
//!   with backoff, buffering candidate input during the switch.
//! - [`InterviewDriver`] ([`driver`]) is the one per-interview driver: it moves bytes and
//!   time between the candidate's client, the model and a `preppal_core::InterviewSession`,
//!   which decides everything, through bounded queues with write timeouts. A host adds
//!   what it has through [`DriverHooks`] (rate limits, metrics), [`Signal`]s (shutdown, a
//!   lost lease), [`Rejoin`] (reconnecting clients) and [`ConnectModel`] (connect the model
//!   when the session asks); the bundled server's worker is such a host.
//! - [`LiveInterview`] wires a `preppal_core::InterviewSession` to a [`ResilientSession`]
//!   on that driver: an app moves the candidate's frames and stores the transcript,
//!   nothing more.
//! - [`tokens`] mints ephemeral tokens (`auth_tokens/...`) over REST, for clients that
//!   must not hold the API key; [`LiveConfig::with_ephemeral_token`] connects with one.
//! - [`timer::DeadlineTimer`] is the one reusable timer a driver loop polls in its
//!   `select!` for a deadline it recomputes on every turn ([`ResilientSession`]'s stall
//!   watchdog uses it too).
//! - [`FeedbackClient`] calls the REST `generateContent` method with a JSON schema and
//!   returns a [`preppal_core::Feedback`].
//! - [`models`] is the table of Live and REST models and what each accepts (thinking
//!   settings, proactive audio, affective dialog, tools, `clientContent`, modalities,
//!   trailing silence); the setup builder, [`LiveConfig::validate`], the feedback request
//!   and the simulator all read it. The default Live model is `gemini-3.8-live`, the
//!   default feedback model `gemini-3.8-flash`.
//! - `simulator` (feature `simulator`) serves the Live protocol on loopback with a scripted
//!   interviewer, so tests and the offline mode need no network. It is strict: it refuses
//!   what the real service refuses, with its close codes, and it hears the candidate when
//!   told what was said (`SimulatorConfig::with_candidate_transcripts`).
//!
//! ## Feature flags
//!
//! | Name | Description | Default |
//! |------|-------------|---------|
//! | `simulator` | The Gemini Live simulator (`simulator::Simulator`), its REST side served by `axum`, with espeak-ng speech via `hound` and `rubato` | no |
//!
//! The default features are the client only: [`LiveConnection`], [`ResilientSession`],
//! [`LiveInterview`], [`FeedbackClient`] and [`tokens`] need no web framework, so an
//! embedder that only talks to Gemini Live compiles none. Turn `simulator` on for tests
//! and offline use:
//!
//! ```toml
//! [dependencies]
//! preppal-gemini = { version = "0.1", features = ["simulator"] }
//! ```
//!
//! ## Example
//!
//! ```no_run
//! use preppal_core::{ModelCommand, ModelEvent};
//! use preppal_gemini::{interviewer_instruction, LiveConfig, LiveConnection};
//!
//! # async fn run() -> Result<(), preppal_gemini::LiveError> {
//! let instruction = interviewer_instruction("a friendly engineering manager", "Backend engineer...", "Jo Doe...");
//! let config = LiveConfig::new(std::env::var("GEMINI_API_KEY").unwrap_or_default(), instruction);
//! let mut live = LiveConnection::connect(&config).await?;
//! live.send(ModelCommand::Begin).await?;
//! while let Some(event) = live.next_event().await {
//!     match event? {
//!         ModelEvent::OutputTranscription(text) => print!("{text}"),
//!         ModelEvent::TurnComplete => live.send(ModelCommand::Text("I build backends in Rust.".into())).await?,
//!         ModelEvent::Closed { code, reason } => println!("closed: {code} {reason}"),
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Against the simulator, point the endpoint at it:
//!
//! ```no_run
//! # #[cfg(feature = "simulator")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use preppal_gemini::simulator::{Simulator, SimulatorConfig};
//! use preppal_gemini::{LiveConfig, LiveConnection};
//!
//! let sim = Simulator::start(SimulatorConfig::default()).await?;
//! let config = LiveConfig::new("any-key", "You are an interviewer.").with_endpoint(sim.url());
//! let live = LiveConnection::connect(&config).await?;
//! # drop(live);
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod client;
pub mod config;
pub mod driver;
pub mod error;
pub mod feedback;
pub mod feedback_plan;
pub mod interview;
pub mod models;
pub mod plan_instruction;
pub mod protocol;
pub mod resilient;
#[cfg(feature = "simulator")]
#[cfg_attr(docsrs, doc(cfg(feature = "simulator")))]
pub mod simulator;
pub mod timer;
pub mod tokens;

pub use client::LiveConnection;
/// The former name of [`LiveConnection`]: one WebSocket connection to Gemini Live, not
/// the interview's whole model session (that is [`ResilientSession`]).
#[deprecated(
    since = "0.1.0",
    note = "renamed to `LiveConnection`: it is one connection"
)]
pub type LiveSession = LiveConnection;
pub use config::ConfigError;
pub use config::{interviewer_instruction, timed_interviewer_instruction, LiveConfig};
pub use driver::{
    ClientFrame, ClientLoss, ConnectModel, DriverHooks, DriverNote, DriverOutcome, Duplex,
    InterviewDriver, Rejoin, Rejoins, Signal,
};
pub use error::{is_retryable_close, LiveError, ProtocolError};
pub use feedback::{FeedbackClient, FeedbackError};
pub use interview::LiveInterview;
pub use plan_instruction::planned_interviewer_instruction;
pub use protocol::{encode_command, parse_server_message, setup_message, UsageMetadata};
pub use resilient::{ReconnectPolicy, ResilientSession};
pub use tokens::{create_ephemeral_token, EphemeralToken, EphemeralTokenRequest, TokenError};

/// The examples of the crate's README.md, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
