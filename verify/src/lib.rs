//! Proves a Thrum fixture consistent.
//!
//! * [`extract`]: safe extraction of `.tar.zst` / `.tar.gz` archives (the
//!   shared extractor of [`thrum_io::extract`], re-exported);
//! * [`jsonl`] + [`replay`]: read the event logs and project them into a fresh
//!   v13 database (an implementation independent of the generator);
//!   [`stream`] does it in bounded memory (files merged as streams, compact
//!   [`index`] records, [`lines`] read one at a time);
//! * [`compare`]: row-by-row, column-by-column diff of every projected table;
//! * [`checks`]: what replay cannot derive (sync log, local tables,
//!   identities, layout, schema, integrity); [`manifest`]: manifests and
//!   `SHA256SUMS`;
//! * [`migrate`]: the v5 → v13 migration and its proof;
//! * [`report`]: the verdict as text or JSON, every finding with a stable
//!   [`findings::Kind`].
//!
//! [`cleanup`] makes every temporary disappear on drop, on SIGINT/SIGTERM/SIGHUP,
//! and (for runs that were killed) at the start of the next run.
//!
//! Exit codes of the binary: 0 consistent, 1 inconsistent, 2 unusable input.

pub mod bench;
pub mod checks;
pub use thrum_io::cleanup;
pub mod compare;
pub mod dbfile;
pub mod error;
pub mod findings;
pub mod gojson;
pub mod index;
pub mod input;
pub mod jsonl;
pub mod lines;
pub mod manifest;
pub mod migrate;
pub mod parquet;
pub mod rebuild;
pub mod replay;
pub mod report;
pub mod schema;
pub mod stream;
pub mod util;
pub mod value;
pub mod verify;

pub use thrum_io::extract;

pub use error::{ExtractError, InputError};
pub use findings::{Finding, Kind, Severity};
pub use report::Report;
pub use verify::{verify_path, verify_tree, Options};
