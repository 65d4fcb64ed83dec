//! The whole Preppal system as one package: the web tier, the worker tier, the pages and
//! the `preppal` command-line client.
//!
//! Run with `cargo run --release -p preppal-examples -- serve`.

pub mod api;
pub mod cli;
pub mod client;
pub mod loadtest;
pub mod procstat;
pub mod server;
