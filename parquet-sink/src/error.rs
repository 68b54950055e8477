//! Typed errors of the sink and of the checker.

use std::path::PathBuf;

/// Everything that can go wrong writing or checking Parquet snapshots.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file-system operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done (`create directory`, `rename`, …).
        op: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The Parquet library failed to write or read a file.
    #[error("parquet {}: {source}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The Parquet error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Arrow refused a batch of a table.
    #[error("arrow ({table}): {source}")]
    Arrow {
        /// The table.
        table: &'static str,
        /// The Arrow error.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// The SQLite database could not be read.
    #[error("sqlite {}: {source}", path.display())]
    Sqlite {
        /// The database.
        path: PathBuf,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A Parquet dataset that cannot be read as the mapping describes.
    #[error("dataset {}: {problem}", path.display())]
    Dataset {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// [`crate::ParquetOptions`] that cannot be used.
    #[error("invalid options: {0}")]
    Options(String),
    /// The sink's directory already holds something.
    #[error("output directory {} already exists and is not empty", .0.display())]
    NotEmpty(PathBuf),
    /// The SQLite database was refused before any query (a view, a virtual
    /// table, a trigger, a generated column), took more work than its size
    /// explains, or could not be opened ([`thrum_io::untrusted`]).
    #[error(transparent)]
    Untrusted(#[from] thrum_io::untrusted::UntrustedError),
    /// A row pushed for a table the catalogue does not have.
    #[error("unknown table {0:?} (not in the v13 catalogue)")]
    UnknownTable(String),
    /// A row with the wrong number of cells.
    #[error("table {table}: row has {got} cells, the table has {want} columns")]
    Arity {
        /// The table.
        table: &'static str,
        /// Cells in the row.
        got: usize,
        /// Columns of the table.
        want: usize,
    },
    /// A cell the documented type mapping cannot represent losslessly.
    #[error("{table}.{column} (row {key}): {problem}")]
    Value {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// The row's primary key (`col=value, …`).
        key: String,
        /// What the mapping cannot represent.
        problem: String,
    },
    /// Rows must arrive strictly increasing by primary key.
    #[error("{table}: rows out of primary-key order: {key} arrived after {prev}")]
    Unsorted {
        /// The table.
        table: &'static str,
        /// Key of the row that arrived.
        key: String,
        /// Key of the row before it.
        prev: String,
    },
    /// Rows of a day-partitioned table must arrive in non-decreasing day order.
    #[error(
        "{table}: row {key} belongs to day {day}, but day {current} was already written (rows \
        must arrive in time order)"
    )]
    PartitionOrder {
        /// The table.
        table: &'static str,
        /// Key of the row that arrived.
        key: String,
        /// The row's day (`YYYY-MM-DD`).
        day: String,
        /// The day being written.
        current: String,
    },
}

/// A result whose error is [`Error`].
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
