//! Parquet snapshots of a Thrum fixture: one dataset per v13 table, written
//! row by row from the same cells the SQLite sink receives.
//!
//! * [`mapping`]: the catalogue → Arrow type mapping ([`arrow_schema()`]), its
//!   exceptions and its exact inverse;
//! * [`ParquetSink`]: streams rows into `<dir>/<table>/part-NNNNN.parquet`
//!   ([`part_file_name`], part 0 unless [`ParquetOptions`] says otherwise),
//!   and `messages`/`events` into Hive day partitions
//!   `<dir>/<table>/date=YYYY-MM-DD/part-NNNNN.parquet`;
//! * [`delta`]: the version-0 Delta Lake log of each dataset, with the
//!   statistics of every file;
//! * [`check`]: compares a dataset directory with a SQLite database, value
//!   for value.
//!
//! Output bytes depend only on the rows pushed: writer settings are fixed and
//! no wall-clock value is written. Every fallible call returns [`Error`].
//!
//! # Surface
//!
//! The sink, its options and output, and the errors are re-exported here;
//! their modules are private. Two modules stay public as namespaces:
//! [`mapping`] is the documented type mapping itself (its table of types,
//! `mapping::keys` of the metadata it writes, `mapping::exceptions`), and
//! [`check`] is the other direction of the crate, with its own report
//! types (`check::check`, `check::Report`, `check::DiffKind`); their names
//! are read with the module.

#![deny(missing_docs)]

pub mod check;
pub mod delta;
mod error;
pub mod mapping;
mod sink;
mod time_fmt;

pub use error::{Error, Result};
pub use mapping::arrow_schema;
pub use sink::{part_file_name, ParquetOptions, ParquetSink, WrittenFile};
