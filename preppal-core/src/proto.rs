//! Protobuf messages generated from `proto/interview.proto` by prost.
//!
//! `bytes` fields are [`bytes::Bytes`], so audio moves through the relay without copies.
//! Decode and encode through [`crate::codec`], which adds size limits and typed errors.

#![allow(missing_docs, clippy::all, unreachable_pub)]

include!(concat!(env!("OUT_DIR"), "/preppal.v1.rs"));
