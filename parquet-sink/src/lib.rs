//! Parquet snapshots of a Thrum fixture: one dataset per v13 table, written
//! row by row from the same cells the SQLite sink receives.
//!
//! * [`mapping`]: the catalogue → Arrow type mapping ([`arrow_schema`]), its
//!   exceptions and its exact inverse;
//! * [`ParquetSink`]: streams rows into `<dir>/<table>/part-00000.parquet`,
//!   and `messages`/`events` into Hive day partitions
//!   `<dir>/<table>/date=YYYY-MM-DD/part-00000.parquet`;
//! * [`check`]: compares a dataset directory with a SQLite database, value
//!   for value.
//!
//! Output bytes depend only on the rows pushed: writer settings are fixed and
//! no wall-clock value is written.

pub mod check;
pub mod error;
pub mod mapping;
pub mod sink;
mod time_fmt;

pub use error::{Error, Result};
pub use mapping::arrow_schema;
pub use sink::{ParquetOptions, ParquetSink, WrittenFile};
