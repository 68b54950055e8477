//! Proves a Thrum fixture consistent, independently of the generator.
//!
//! The surface is [`verify_path`] / [`verify_tree`] (`verify replay`: the
//! event logs replayed into a fresh v13 database and compared with the
//! fixture's), [`migrate_path`] (`verify migrate`: the v5 → v13 migration
//! and its proof), and the [`Report`] they return: its [`Finding`]s, each
//! with a stable [`Kind`] and a [`Severity`]. Input that cannot be verified
//! at all is an [`InputError`]; its [`InputError::exit_code`] is the
//! binary's exit code.
//!
//! How it works, module by module (the modules are internal; those the
//! binary and the tests reach are public but hidden from the documentation):
//!
//! * `jsonl` + `stream`: the event logs, read as streams merged in replay
//!   order, in memory that does not grow with the events (`index` records,
//!   `lines` read one at a time) — the only reading path;
//! * `replay`: the projection, applied to a fresh v13 database (an
//!   implementation independent of the generator), with `gojson`, the
//!   verifier's own Go-JSON encoder;
//! * `compare`: row-by-row, column-by-column diff of every projected table;
//! * `checks`: what replay cannot derive (event lines, the `events` sync
//!   log, local tables, identities, layout, schema, integrity); `manifest`:
//!   manifests and `SHA256SUMS`; `parquet`: the Parquet snapshots;
//! * `migrate`: the v5 → v13 migration and its proof;
//! * `untrusted`: the one way an input database is opened (its objects
//!   checked, read-only, defensive, its work and SQLite's heap bounded);
//! * `report`: the verdict as text or JSON.
//!
//! [`cleanup`] makes every temporary disappear on drop, on SIGINT/SIGTERM/SIGHUP,
//! and (for runs that were killed) at the start of the next run; [`extract`]
//! is the shared safe extractor of `.tar.zst` / `.tar.gz` archives.
//!
//! Exit codes of the binary: 0 consistent, 1 inconsistent, 2 unusable input.

#![deny(missing_docs)]

#[doc(hidden)]
pub mod bench;
#[doc(hidden)]
pub mod checks;
pub use thrum_io::cleanup;
#[doc(hidden)]
pub mod compare;
#[doc(hidden)]
pub mod crash;
#[doc(hidden)]
pub mod dbfile;
pub mod error;
pub mod findings;
mod gojson;
mod index;
#[doc(hidden)]
pub mod input;
#[doc(hidden)]
pub mod jsonl;
mod lines;
#[doc(hidden)]
pub mod manifest;
#[doc(hidden)]
pub mod mesh;
#[doc(hidden)]
pub mod migrate;
#[doc(hidden)]
pub mod parquet;
pub mod progress;
#[doc(hidden)]
pub mod rebuild;
#[doc(hidden)]
pub mod replay;
pub mod report;
#[doc(hidden)]
pub mod rowdiff;
mod schema;
#[doc(hidden)]
pub mod stream;
pub mod untrusted;
#[doc(hidden)]
pub mod util;
#[doc(hidden)]
pub mod value;
pub mod verify;

pub use thrum_io::extract;

pub use checks::Mode;
pub use error::{ExtractError, InputError};
pub use findings::{Finding, Kind, Severity};
pub use mesh::{verify_mesh, MeshOptions};
pub use migrate::{migrate_path, MigrateOptions};
pub use report::Report;
pub use verify::{verify_path, verify_path_kept, verify_tree, Options};
