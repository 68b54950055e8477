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
