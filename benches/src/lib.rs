//! Criterion benchmarks of the Preppal hot path; see `benches/README.md`.
