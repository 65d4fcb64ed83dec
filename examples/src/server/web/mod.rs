//! The web tier: its routes ([`router`]) and shared state ([`state`]), the JSON API and its
//! types, sign-in (dev and Google), OpenAPI, pages, documents, the worker API and the
//! registry of standalone workers ([`worker_pool`]).

pub mod api;
pub mod auth;
pub mod coaching;
pub mod document;
pub mod error;
pub mod google_sign_in;
pub mod in_process;
pub mod input;
pub mod oidc;
pub mod openapi;
pub mod origin;
pub mod pages;
pub mod quota;
pub mod router;
pub mod state;
pub mod upload;
pub mod worker_api;
pub mod worker_pool;
