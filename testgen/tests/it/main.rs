//! testgen's integration tests, one module per concern, in one test binary
//! (one link instead of nine). Run one module with
//! `cargo test --release -p testgen --test it <module>::`.

mod common;
mod contents;
mod corrupt;
mod crash;
mod destination;
mod determinism;
mod mounts;
mod properties;
mod shards;
mod volumes;
