//! testgen's integration tests, one module per concern, in one test binary
//! (one link instead of eleven). Run one module with
//! `cargo test --release -p testgen --test it <module>::`.

mod bench;
mod common;
mod compression;
mod contents;
mod contract;
mod corrupt;
mod crash;
mod crash_states;
mod destination;
mod determinism;
mod help;
mod lake;
mod merge;
mod mesh;
mod mounts;
mod properties;
mod resilience;
mod run;
mod shard_env;
mod shards;
mod summary;
mod volumes;
