//! Typed errors of the sink and of the checker.

use std::path::PathBuf;

/// Everything that can go wrong writing or checking Parquet snapshots.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parquet {}: {source}", path.display())]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("arrow ({table}): {source}")]
    Arrow {
        table: &'static str,
        #[source]
        source: arrow_schema::ArrowError,
    },
    #[error("sqlite {}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// A Parquet dataset that cannot be read as the mapping describes.
    #[error("dataset {}: {problem}", path.display())]
    Dataset { path: PathBuf, problem: String },
    #[error("invalid options: {0}")]
    Options(String),
    #[error("output directory {} already exists and is not empty", .0.display())]
    NotEmpty(PathBuf),
    #[error("unknown table {0:?} (not in the v13 catalogue)")]
    UnknownTable(String),
    #[error("table {table}: row has {got} cells, the table has {want} columns")]
    Arity { table: &'static str, got: usize, want: usize },
    /// A cell the documented type mapping cannot represent losslessly.
    #[error("{table}.{column} (row {key}): {problem}")]
    Value { table: &'static str, column: &'static str, key: String, problem: String },
    /// Rows must arrive strictly increasing by primary key.
    #[error("{table}: rows out of primary-key order: {key} arrived after {prev}")]
    Unsorted { table: &'static str, key: String, prev: String },
    /// Rows of a day-partitioned table must arrive in non-decreasing day order.
    #[error("{table}: row {key} belongs to day {day}, but day {current} was already written (rows must arrive in time order)")]
    PartitionOrder { table: &'static str, key: String, day: String, current: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An I/O result turned into [`Error::Io`] with the operation and path.
pub(crate) trait IoContext<T> {
    fn io(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn io(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io { op, path: path.into(), source })
    }
}

/// A Parquet result turned into [`Error::Parquet`] with the file's path.
pub(crate) trait PqContext<T> {
    fn pq(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> PqContext<T> for parquet::errors::Result<T> {
    fn pq(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Parquet { path: path.into(), source })
    }
}
