//! The web tier: the JSON API and its types, sign-in, OpenAPI, pages, documents and the
//! worker API.

pub mod api;
pub mod auth;
pub mod coaching;
pub mod document;
pub mod error;
pub mod google_sign_in;
pub mod in_process;
pub mod input;
pub mod library;
pub mod oidc;
pub mod openapi;
pub mod origin;
pub mod pages;
pub mod quota;
pub mod upload;
pub mod worker_api;
pub mod worker_pool;
