//! Proves a Thrum fixture consistent, independently of the generator.
//!
//! The surface is [`verify_path`] / [`verify_path_kept`] (`verify replay`: the
//! event logs replayed into a fresh v13 database and compared with the
//! fixture's), [`migrate_path`] (`verify migrate`: the v5 → v13 migration
//! and its proof), [`verify_mesh`] (`verify mesh`: the daemons of a mesh
//! across each other), [`parquet`] (`verify parquet`: the Parquet snapshots
//! against the database), and the [`Report`] they return: its [`Finding`]s,
//! each with a stable [`Kind`] and a [`Severity`]. Input that cannot be
//! verified at all is an [`InputError`]; its [`InputError::exit_code`] is the
//! binary's exit code. The rest of the surface is what the binary runs
//! around them: [`resolve`] (a directory `testgen --out` wrote → its
//! archive), [`extract_to`] (`verify extract`), [`bench()`] (`verify bench`),
//! [`collect_stale_temporaries`] and [`enable_progress`].
//!
//! How it works, module by module (every module is private; `internals`,
//! hidden from the documentation, names the single steps verify's tests,
//! fuzz targets and reference reader call, and is no stable interface):
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
//! * `mesh`: the cross-daemon checks of a mesh;
//! * `untrusted`: the one way an input database is opened (its objects
//!   checked, read-only, defensive, its work and SQLite's heap bounded);
//! * `report`: the verdict as text or JSON.
//!
//! Temporaries disappear on drop, on SIGINT/SIGTERM/SIGHUP and (for runs
//! that were killed) at the start of the next run (`thrum_io::cleanup`);
//! archives are extracted by `thrum_io::extract`, the shared safe extractor
//! of `.tar.zst` / `.tar.gz` archives, within the given [`Limits`].
//!
//! Exit codes of the binary: 0 consistent, 1 inconsistent, 2 unusable input.

#![deny(missing_docs)]

mod bench;
mod canonical;
mod checks;
mod compare;
mod crash;
mod dbfile;
mod error;
mod findings;
mod gojson;
mod index;
mod input;
mod jsonl;
mod lines;
mod manifest;
mod mesh;
mod migrate;
pub mod parquet;
mod progress;
mod rebuild;
mod replay;
mod report;
mod rowdiff;
mod schema;
mod stream;
mod untrusted;
mod util;
mod value;
mod verify;

use thrum_io::{cleanup, extract};

pub use bench::{run as bench, Bench};
pub use checks::Mode;
pub use compare::TableStats;
pub use error::{ExtractError, InputError};
pub use findings::{Finding, Findings, Kind, Severity, LIST_CEILING};
pub use input::{collect_stale_temporaries, extract_to, resolve, Generation, Tree};
pub use mesh::{verify_mesh, MeshOptions};
pub use migrate::{migrate_path, MigrateOptions};
pub use progress::enable as enable_progress;
pub use report::{escape, Report, Verdict, EXIT_CONSISTENT, EXIT_INCONSISTENT, EXIT_UNUSABLE};
pub use thrum_io::extract::Limits;
pub use verify::{verify_path, verify_path_kept, verify_replay, Options, SnapshotsOutcome};

/// The internal steps verify's own tests, its fuzz targets and the tests'
/// in-memory reference reader call one by one: each named here, none a
/// stable interface.
#[doc(hidden)]
pub mod internals {
    pub use crate::canonical::plainly_canonical;
    pub use crate::checks::{
        allowed_shards, check_db, check_event_log, check_identities, check_layout, check_local,
        check_origin_daemon, duplicate_id, first_difference, line_checks, shard_mismatch,
        shards_missing, SLOT_ENVELOPE, SLOT_REST,
    };
    pub use crate::compare::compare_projected;
    pub use crate::crash::classify as classify_crash;
    pub use crate::dbfile::{
        check as check_wal, check_wal_mode, inspect_wal, inspect_wal_bytes, parse_header,
        truncation, WalStatus,
    };
    pub use crate::gojson::canonical_object;
    pub use crate::input::{open, unpack};
    pub use crate::jsonl::{
        decode_event, decode_line, event_files, read_regular, split_lines, EventFile, RawLine,
        Source, MAX_LINE_BYTES,
    };
    pub use crate::manifest::check as check_manifest;
    pub use crate::mesh::read_spec;
    pub use crate::migrate::{check_preserved, digest, migrate_db, migrate_jsonl};
    pub use crate::rebuild::report as rebuild_finding;
    pub use crate::replay::{
        apply, fresh_v13, fresh_v13_for_replay, without_threads, Replay, Replayer,
    };
    pub use crate::stream::{replay_order, run as stream, Stop, Streamed};
    pub use crate::util::{count_lines, walk_files};
    pub use crate::value::{plain, Val};
    pub use crate::verify::{copy_regular, rebuild_order_differs, FixtureDb};
}
