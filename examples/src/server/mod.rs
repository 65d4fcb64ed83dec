//! The web tier and the worker tier of the design, in one process or two.
//!
//! - Web tier ([`web`], routed by [`app`]): sign-in, the JSON API with the design's
//!   procedure names (`POST /api/<router>.<procedure>`), the protobuf worker API
//!   (`POST /api/worker`), and the pages. It is the only owner of the store.
//! - Worker tier ([`worker`]): the interview WebSocket, one driver task per live interview,
//!   reaching the web tier through its client ([`worker::web_client::WebTierClient`]).
//! - [`common`]: what both use (tokens, secrets, abuse limits, metrics, the HTTP server).
//!
//! [`serve()`] runs both in one process, with the worker reaching the web tier in-process
//! through the same worker API handler ([`web::in_process`]); [`standalone::web`] and
//! [`standalone::worker`] run them as separate processes (`preppal web`, `preppal worker`)
//! that talk only through the worker API. Options are in [`args`], building and running in
//! [`startup`].
//!
//! Imports go one way: [`common`] ← [`worker`] ← [`web`] ← [`args`], [`startup`],
//! [`standalone`]; nothing here imports the command-line client or the load test.

pub mod args;
mod banner;
pub mod common;
pub mod standalone;
pub mod startup;
pub mod web;
pub mod worker;

pub use args::{GeminiArgs, ServeArgs};
pub use startup::{build, recover_interviews, redact_url, serve, spawn, Running, Server};
pub use web::router::app;
pub use web::state::AppState;
