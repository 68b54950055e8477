//! The Thrum data contract.
//!
//! * [`sql`]: the v13 and v5 DDL and each v5→v13 migration step, as `.sql` files;
//! * [`catalogue`]: one table catalogue (columns, types, nullability, keys) that
//!   drives DDL checks, Arrow schemas and row diffs;
//! * [`events`]: the event envelope and payload types;
//! * [`ids`], [`time`], [`gojson`]: identifier, timestamp and JSON-line encodings
//!   exactly as the daemon writes them.
//!
//! Nothing here performs I/O.
//!
//! # Surface
//!
//! Every module is public: each is one family of format facts, and its items
//! are named to be read with the module (`sql::V13`, `catalogue::EVENTS`,
//! `ids::shard_name`, `time::date`, `gojson::to_string`, `events::types`).
//! Flattened to the root they would collide (`sql::V5` and
//! [`LEGACY_SCHEMA_VERSION`], `catalogue::SCHEMA_VERSION` and
//! [`SCHEMA_VERSION`]) or lose what they refer to.

#![deny(missing_docs)]

pub mod catalogue;
pub mod events;
pub mod gojson;
pub mod ids;
pub mod sql;
pub mod time;

/// The schema version a fresh fixture carries.
pub const SCHEMA_VERSION: i64 = 13;
/// The schema version the legacy layout (`messages.jsonl`, `threads`) has.
pub const LEGACY_SCHEMA_VERSION: i64 = 5;
