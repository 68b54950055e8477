//! The Thrum fixture generation plan: pure data derived from (seed, profile),
//! with no I/O. Every sink (JSONL, SQLite, Parquet, tree, archive) consumes
//! the same [`plan::Plan`]:
//!
//! * [`timeline::Timeline`] yields every event in replay order with its
//!   `sequence`; [`render::line`] turns one into its JSONL text;
//! * [`rows`] yields every table's rows as catalogue cells in key order.
//!
//! Randomness comes from per-entity counter-based streams ([`rng`]), so
//! generation can be split and parallelised without changing a byte.

pub mod plan;
pub mod profile;
pub mod render;
pub mod rng;
pub mod rows;
pub mod text;
pub mod timeline;
pub mod v5;
pub mod vocab;

pub use plan::Plan;
pub use profile::Profile;
