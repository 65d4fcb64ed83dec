//! Generates the protobuf types from `proto/interview.proto` with prost.
//!
//! protox parses the schema in pure Rust, so the build needs no `protoc` binary.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    // The schema lives at the workspace root; a copy inside the crate is used when the
    // crate is built on its own (for example from a packaged `.crate`).
    let mut proto_dir = manifest.join("../proto");
    if !proto_dir.join("interview.proto").exists() {
        proto_dir = manifest.join("proto");
    }
    let file = proto_dir.join("interview.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    let fds = protox::compile([&file], [&proto_dir])?;
    prost_build::Config::new().bytes(["."]).compile_fds(fds)?;
    Ok(())
}
