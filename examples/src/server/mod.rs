//! The web tier and the worker tier of the design, in one process or two.
//!
//! - Web tier ([`app`]): sign-in, the JSON API with the design's procedure names
//!   (`POST /api/<router>.<procedure>`), the protobuf worker API (`POST /api/worker`), and
//!   the pages. It is the only owner of the store.
//! - Worker tier ([`worker`]): the interview WebSocket, one driver task per live interview.
//!
//! [`serve`] runs both in one process, with the worker reaching the web tier in-process
//! through the same worker API handler; [`split::web`] and [`split::worker`] run them as
//! separate processes (`preppal web`, `preppal worker`) that talk only through the
//! worker API.

pub mod args;
mod banner;
pub mod common;
pub mod router;
pub mod serve;
pub mod standalone;
pub mod state;
pub mod web;
pub mod worker;

pub use args::{GeminiArgs, ServeArgs};
pub use router::app;
pub use serve::{build, recover_interviews, redact_url, serve, spawn, Running, Server};
pub use state::AppState;
