//! A client of a Preppal server, shared by the command-line client (`preppal interview`)
//! and the load generator (`preppal loadtest`): the JSON API ([`api::ApiClient`], with the
//! request and reply types of [`crate::api`]) and the interview WebSocket
//! ([`socket::open_socket`]).

pub mod api;
pub mod socket;

pub use api::{ApiClient, ApiError, PlanChoice};
pub use socket::{open_socket, Socket};
