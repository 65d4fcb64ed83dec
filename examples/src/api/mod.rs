//! The JSON API's request and reply types, shared by the server's handlers
//! (`crate::server::api`), its OpenAPI document (`GET /api/openapi.json`) and the API
//! client of the command-line client and the load generator ([`crate::client`]).
//!
//! Every procedure is `POST /api/<router>.<procedure>` with a JSON body (snake_case
//! fields) and a JSON reply; a refusal is an [`errors::ErrorBody`]. Each type serialises
//! to exactly the JSON the procedure sends or takes: `Option` fields are `null` in replies
//! unless their docs say "absent when none". The records the store and the core keep
//! (interview, user, library document, transcript entry, feedback) go out as those crates
//! serialise them; [`records`] describes their fields for the OpenAPI document.

pub mod auth;
pub mod errors;
pub mod feedback;
pub mod interview;
pub mod library;
pub mod progress;
pub mod records;
