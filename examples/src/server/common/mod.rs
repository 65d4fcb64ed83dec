//! What both tiers use: tokens, secrets, abuse limits, metrics and the HTTP server.

pub mod http;
pub mod limits;
pub mod metrics;
pub mod secrets;
pub mod tokens;
